"""Generate synthetic retail customers with hidden segments and a campaign response (customers.csv).

No real person: every value is drawn from the distributions below. Each customer belongs to one of five
latent segments that shape income, spend mix, channels, recency and, above all, the chance of responding
to the last campaign. The segment label is NOT written to the file: a notebook has to find the segments
from behaviour. A few implausible birth years and one income outlier are planted on purpose.

Deterministic for a given seed (numpy + pandas only). From the repository root:
    python data_samples/customers/make_customers.py --rows 2000 --seed 11
Add --describe to print the response rate per latent segment (the file stays the same).
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

END = pd.Timestamp("2025-06-30")  # data snapshot: nobody joins or buys after this day
TENURE_DAYS = 3 * 365  # customers joined during the three years before the snapshot
EDUCATION = ["basic", "secondary", "graduate", "master", "phd"]
MARITAL = ["single", "together", "married", "divorced", "widow"]
SPEND = ["wine", "fruit", "meat", "fish", "sweets", "gold"]
CHANNELS = ["deal", "web", "catalog", "store"]
# Segment parameters. resp: base log-odds of responding (before the individual receptiveness, recency and
# tenure effects). income: median yearly income. born: (mean, sd) of the birth year. kids: chance per child
# slot. spend: median 2-year spend at an income of 50k. mix / chan: average shares of the spend categories
# (SPEND) and of the purchase channels (CHANNELS). visits: mean web visits last month. recency / tenure:
# beta shapes of days since last purchase and of days since joining. camp: extra log-odds of accepting
# campaigns 1-5, since each past campaign was aimed at a different kind of customer.
SEGMENTS = {
    "affluent_wine_lovers": dict(
        share=.16, resp=-0.6, income=72000, born=(1963, 12), kids=.03, spend=1100,
        edu=[.01, .05, .44, .22, .28], marital=[.22, .24, .36, .12, .06],
        mix=[.55, .03, .28, .05, .03, .06], chan=[.05, .25, .30, .40], visits=3,
        recency=(1.2, 1.2), tenure=(1.3, 1), camp=[1.6, 1.2, -.3, 1.0, 2.0]),
    "young_families_on_deals": dict(
        share=.28, resp=-3.3, income=42000, born=(1984, 8), kids=.45, spend=220,
        edu=[.04, .16, .52, .16, .12], marital=[.10, .33, .48, .08, .01],
        mix=[.35, .08, .25, .10, .10, .12], chan=[.35, .35, .05, .25], visits=7,
        recency=(1, 1), tenure=(1, 1), camp=[-1.0, -.5, .8, -.8, -1.5]),
    "loyal_catalog_shoppers": dict(
        share=.17, resp=-2.1, income=58000, born=(1958, 11), kids=.05, spend=700,
        edu=[.02, .08, .48, .17, .25], marital=[.14, .22, .44, .12, .08],
        mix=[.40, .08, .25, .15, .05, .07], chan=[.06, .14, .50, .30], visits=3,
        recency=(1.3, 1.6), tenure=(2.2, 1), camp=[.2, 0, -.5, 1.0, .2]),
    "lapsed_low_spenders": dict(
        share=.24, resp=-3.2, income=38000, born=(1975, 13), kids=.30, spend=90,
        edu=[.07, .16, .50, .15, .12], marital=[.26, .25, .33, .12, .04],
        mix=[.45, .05, .25, .08, .07, .10], chan=[.20, .25, .05, .50], visits=5,
        recency=(3, 1.2), tenure=(1.5, 1), camp=[-1.0, -1.0, 0, -1.0, -1.5]),
    "gold_sweets_impulse": dict(
        share=.15, resp=-2.2, income=50000, born=(1977, 12), kids=.20, spend=450,
        edu=[.03, .12, .53, .16, .16], marital=[.28, .27, .30, .12, .03],
        mix=[.20, .06, .17, .07, .20, .30], chan=[.15, .45, .10, .30], visits=6,
        recency=(1, 1.3), tenure=(1, 1), camp=[-.3, 0, .9, -.4, -.2]),
}
CAMPAIGN_BASE = [-3.2, -5.0, -2.9, -3.0, -3.3]  # campaign 2 reached almost nobody; the others about 6-8%
MISSING_INCOME, COMPLAINT_RATE, CONTACT_COST = 0.01, 0.01, 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def pick(rng, probs, options):
    """One option per row, each row with its own probabilities (rows of `probs` sum to 1)."""
    idx = (rng.random(len(probs))[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    return np.array(options)[np.minimum(idx, len(options) - 1)]


def build(rows, seed, with_segment=False):
    rng = np.random.default_rng(seed)
    names = list(SEGMENTS)
    seg = rng.choice(len(names), rows, p=[SEGMENTS[s]["share"] for s in names])
    par = lambda key: np.array([SEGMENTS[s][key] for s in names], dtype=float)[seg]  # per-row parameter

    born = par("born")
    birth_year = np.clip(np.round(rng.normal(born[:, 0], born[:, 1])), 1940, 2005).astype(int)
    age = END.year - birth_year
    # Young children only live with parents under ~60; teenagers mostly with parents aged 35 to 57.
    kids = rng.binomial(2, np.where(age < 60, par("kids"), 0.0))
    teens = rng.binomial(2, np.where((age >= 35) & (age <= 57), 0.30, 0.03))
    # Wide income spread inside each segment, so income alone does not give the segment away.
    income = np.clip(rng.lognormal(np.log(par("income")), 0.33), 4000, 160000).round(0)

    # Total 2-year spend is set mostly by the segment, less by income, and shrinks with children at home;
    # capped because one household only eats and drinks so much.
    total = par("spend") * (income / 50000) ** 0.8 * 0.8 ** (kids + 0.5 * teens) * rng.lognormal(0, 0.45, rows)
    total = np.minimum(total, 2500)
    shares = rng.gamma(20 * par("mix"))  # Dirichlet draw around the segment's spend mix
    spend = total[:, None] * shares / shares.sum(axis=1, keepdims=True)
    spend = np.where(spend < 1, 0.0, spend).round(2)  # a category bought for under 1 counts as none

    # Purchases scale with spend; the channel split follows the segment, with individual variation.
    n_purchases = rng.poisson(2 + spend.sum(axis=1) / 60)
    chan = rng.gamma(12 * par("chan"))
    purchases = rng.multinomial(n_purchases, chan / chan.sum(axis=1, keepdims=True))
    visits = rng.poisson(par("visits") * rng.lognormal(0, 0.3, rows))

    rec = par("recency")
    recency = np.floor(100 * rng.beta(rec[:, 0], rec[:, 1])).clip(0, 99).astype(int)
    ten = par("tenure")
    days_in = np.floor(TENURE_DAYS * rng.beta(ten[:, 0], ten[:, 1])).astype(int)
    joined = (END - pd.to_timedelta(days_in, unit="D")).strftime("%Y-%m-%d")
    complained = (rng.random(rows) < COMPLAINT_RATE).astype(int)

    # One hidden receptiveness per customer drives both past acceptances and the response, so they
    # correlate; separate coin flips and campaign-specific targeting keep the link imperfect.
    receptive = rng.normal(0, 0.9, rows)
    camp = par("camp")
    accepted = (rng.random((rows, 5)) < sigmoid(np.array(CAMPAIGN_BASE) + camp + receptive[:, None])).astype(int)
    logit = par("resp") + receptive - 0.02 * (recency - 50) + 0.5 * (days_in / 365 - 1.5) - 1.0 * complained
    responded = (rng.random(rows) < sigmoid(logit)).astype(int)

    df = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(1, rows + 1)], "birth_year": birth_year,
        "education": pick(rng, par("edu"), EDUCATION),
        "marital_status": pick(rng, par("marital"), MARITAL),
        "income": income, "kids_at_home": kids, "teens_at_home": teens, "joined_on": joined,
        "days_since_last_purchase": recency,
        **{f"spend_{c}": spend[:, i] for i, c in enumerate(SPEND)},
        **{f"{c}_purchases": purchases[:, i] for i, c in enumerate(CHANNELS)},
        "web_visits_last_month": visits,
        **{f"accepted_campaign_{k + 1}": accepted[:, k] for k in range(5)},
        "complained": complained, "contact_cost": CONTACT_COST, "responded": responded,
    })
    df.loc[rng.random(rows) < MISSING_INCOME, "income"] = np.nan  # gaps a pipeline must handle
    # Deliberate outliers for the notebook's outlier handling: typos in the birth year (born before 1901,
    # so aged 124+) and one joke income. Picked among rows with an income so the outlier stays visible.
    odd = rng.choice(np.flatnonzero(df.income.notna()), 4, replace=False)
    df.loc[odd[:3], "birth_year"] = [1893, 1899, 1900]
    df.loc[odd[3], "income"] = 666666.0
    if with_segment:
        df["segment"] = np.array(names)[seg]
    return df


def describe(df):
    """Print what the file hides: response rates per latent segment (the segment column is never written)."""
    print(f"response rate: {df.responded.mean():.1%} ({df.responded.sum()} of {len(df)})")
    past = df.filter(like="accepted_campaign_").sum(axis=1)
    print(f"response rate if a past campaign was accepted: {df.responded[past > 0].mean():.1%} "
          f"(n={(past > 0).sum()}), if none: {df.responded[past == 0].mean():.1%}")
    by = df.assign(past_accepts=past).groupby("segment")
    stats = by.agg(n=("responded", "size"), response=("responded", "mean"), income=("income", "median"),
                   recency=("days_since_last_purchase", "mean"), past_accepts=("past_accepts", "mean"))
    stats.insert(1, "share", stats.n / len(df))
    print(stats.round(3).to_string())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "customers.csv")
    parser.add_argument("--describe", action="store_true", help="print response rates per latent segment")
    args = parser.parse_args()
    df = build(args.rows, args.seed, with_segment=True)
    df.drop(columns="segment").to_csv(args.output, index=False, lineterminator="\n")
    print(f"{args.output}: {len(df)} rows, response rate {df.responded.mean():.1%}")
    if args.describe:
        describe(df)


if __name__ == "__main__":
    main()
