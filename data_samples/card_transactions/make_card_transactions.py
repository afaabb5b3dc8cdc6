"""Generate synthetic bank card transactions with about 1% injected fraud (transactions.csv).

No real person, card, account or bank: every value is drawn from the distributions below. Fraud follows
four patterns that overlap with genuine behaviour on purpose (travellers abroad, big electronics purchases,
night shoppers, micro-payments, busy new accounts): unusual is not the same as fraud, labels help.

Deterministic for a given seed (numpy + pandas only). From the repository root:
    python data_samples/card_transactions/make_card_transactions.py --rows 6000 --seed 7
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

START, DAYS = pd.Timestamp("2025-01-01"), 181  # 1 January to 30 June 2025
N_ACCOUNTS = 800
FRAUD_RATE, MISSING_RATE = 0.01, 0.01  # share of fraud rows; share of empty values in two feature columns
# category: (median amount in EUR, log-sd, share of genuine rows, share of them paid online)
CATEGORIES = {
    "grocery": (35, 0.6, 0.27, 0.03), "fuel": (55, 0.35, 0.10, 0.0),
    "restaurant": (28, 0.6, 0.17, 0.10), "online_retail": (40, 0.9, 0.16, 1.0),
    "electronics": (180, 0.9, 0.04, 0.40), "travel": (250, 0.9, 0.03, 0.60),
    "pharmacy": (18, 0.6, 0.07, 0.05), "entertainment": (25, 0.7, 0.09, 0.40),
    "utilities": (80, 0.5, 0.06, 0.90), "jewelry": (300, 0.9, 0.01, 0.15),
}
CATS = list(CATEGORIES)
MED, SD, SHARE, P_ONLINE = (np.array(col, dtype=float) for col in zip(*CATEGORIES.values()))
TYPICAL = float((SHARE * MED * np.exp(SD**2 / 2)).sum())  # mean genuine amount of an average account
# country: (share of genuine purchases abroad, rough distance from a home in Germany in km)
ABROAD = {"FR": (.22, 700), "NL": (.18, 450), "AT": (.12, 550), "ES": (.15, 1700),
          "GB": (.12, 900), "US": (.12, 6500), "BR": (.05, 9800), "NG": (.04, 5100)}
AGE_BANDS = ["18 to 25", "26 to 35", "36 to 50", "51 to 65", "over 65"]
# Genuine spending follows the day, but about 4% is between midnight and 5 am: night alone is no proof.
HOUR_W = np.array([1.6, 1, .7, .5, .5, .6, 1.5, 3, 4, 5, 6, 6.5, 7, 6.5, 6, 6, 6.5, 7, 7, 6, 5, 4, 3, 2])
# fraud pattern: (share of fraud rows, mean count of declined or unseen tries added to transactions_last_24h)
PATTERNS = {"night_online_burst": (.3, 2), "foreign_swipe": (.25, 0), "new_account_burst": (.2, 4), "card_testing": (.25, 1)}


def make_accounts(rng):
    # ~8% of accounts open during the period: they give genuine new-account activity as well as bust-outs.
    new = rng.random(N_ACCOUNTS) < 0.08
    band = rng.choice(len(AGE_BANDS), N_ACCOUNTS, p=[.12, .22, .30, .23, .13])
    # Nobody holds an account for longer than their age allows: cap by age band (7 to 45 years).
    cap = np.array([7, 15, 25, 35, 45])[band] * 365 * rng.uniform(0.5, 1, N_ACCOUNTS)
    old_age = np.minimum(rng.lognormal(np.log(1500), 0.8, N_ACCOUNTS), cap).astype(int) + 30
    return pd.DataFrame({
        "account_id": [f"A{i:04d}" for i in range(1, N_ACCOUNTS + 1)],
        "open_day": np.where(new, rng.integers(0, DAYS - 30, N_ACCOUNTS), -old_age),
        "spend": rng.lognormal(0, 0.35, N_ACCOUNTS),  # spending level relative to the average customer
        "activity": rng.gamma(2.0, 0.5, N_ACCOUNTS),  # some cards are used far more than others
        "daily_tx": rng.gamma(1.5, 1.0, N_ACCOUNTS),  # card use per day, most of it outside this sample
        "age_band": np.array(AGE_BANDS)[band],
    })


def home_distance(rng, n):
    return rng.lognormal(np.log(5), 1.0, n)  # around town, now and then a trip inside Germany


def far_distance(rng, countries):
    return np.array([ABROAD.get(c, (0, 0))[1] for c in countries]) * rng.uniform(0.6, 1.4, len(countries))


def device_distance(rng):
    # Card-not-present fraud: some fraudsters' devices sit abroad, most hide behind a local proxy.
    far = far_distance(rng, [str(rng.choice(["US", "GB", "NG", "BR"]))])[0]
    return far if rng.random() < 0.4 else home_distance(rng, 1)[0]


def genuine(rng, acc, n):
    a = rng.choice(len(acc), n, p=acc.activity / acc.activity.sum())
    c = rng.choice(len(CATS), n, p=SHARE)
    first = np.maximum(acc.open_day.to_numpy()[a], 0)
    day = first + (rng.random(n) * (DAYS - first)).astype(int)
    sec = day * 86400 + rng.choice(24, n, p=HOUR_W / HOUR_W.sum()) * 3600 + rng.integers(0, 3600, n)
    amount = rng.lognormal(np.log(MED[c]), SD[c]) * acc.spend.to_numpy()[a]
    online = rng.random(n) < P_ONLINE[c]
    # App stores, subscriptions, parking: small amounts, mostly online, that look like card testing.
    micro = rng.random(n) < np.where(online, 0.04, 0.01)
    amount[micro] = rng.uniform(0.5, 3, micro.sum())
    # Holidays: half the travel bookings and 4% of other card-present purchases happen abroad.
    trip = rng.choice(list(ABROAD), n, p=[v[0] for v in ABROAD.values()])
    abroad = ~online & (rng.random(n) < np.where(np.array(CATS)[c] == "travel", 0.5, 0.04))
    country = np.where(abroad, trip, "DE")
    # Online shops abroad are common; the buyer is at home, or now and then shopping from a trip.
    foreign_shop = online & (rng.random(n) < 0.15)
    country[foreign_shop] = rng.choice(["NL", "GB", "US", "FR"], foreign_shop.sum())
    away = abroad | (online & (rng.random(n) < 0.03))
    dist = np.where(away, far_distance(rng, trip), home_distance(rng, n))
    # Magnetic-stripe swipes are still common in the Americas and Nigeria, rare in Europe.
    p_swipe = np.where(np.isin(country, ["US", "BR", "NG"]), 0.35, 0.04)
    u = rng.random(n)
    channel = np.where(u < p_swipe, "swipe", np.where(u < p_swipe + 0.36, "chip", "contactless"))
    return pd.DataFrame({"acc": a, "sec": sec, "cat": np.array(CATS)[c], "amount": amount, "country": country,
                         "channel": np.where(online, "online", channel), "dist": dist, "extra": 0, "is_fraud": 0})


def fraud_event(rng, acc, pattern):
    """One fraud episode on one account, as rows of (second, category, amount, channel, country, km)."""
    pick = lambda options, p=None: str(rng.choice(options, p=p))
    usual = lambda cat, factor: rng.lognormal(np.log(MED[CATS.index(cat)] * factor), 0.6)
    if pattern == "new_account_burst":  # bust-out: a fresh account is spent out within two weeks of opening
        a = int(rng.choice(np.flatnonzero(acc.open_day >= 0)))
        t = (acc.open_day[a] + rng.integers(0, 15)) * 86400 + rng.integers(8, 22) * 3600
    else:
        a = int(rng.choice(np.flatnonzero(acc.open_day < 0)))
        t = rng.integers(0, DAYS - 1) * 86400 + rng.integers(0, 24) * 3600
    rows, dist, extra = [], device_distance(rng), rng.poisson(PATTERNS[pattern][1])
    if pattern == "night_online_burst":  # stolen card details used online at night, several tries in a row
        t = t // 86400 * 86400 + rng.integers(0, 5) * 3600
        country = pick(["DE", "US", "GB", "NL", "NG"], [.45, .2, .15, .1, .1])
        for _ in range(rng.integers(2, 5)):
            t += rng.integers(120, 1200)
            rows.append((t, pick(["electronics", "jewelry", "online_retail"], [.5, .2, .3]),
                         TYPICAL * acc.spend[a] * rng.lognormal(np.log(4), 0.7), "online", country, dist))
    elif pattern == "foreign_swipe":  # skimmed card cloned and used in shops abroad
        country = pick(["NG", "BR", "US", "GB", "ES", "FR"], [.2, .15, .25, .1, .15, .15])
        for _ in range(rng.integers(1, 4)):
            t += rng.integers(600, 4 * 3600)
            cat = pick(["electronics", "jewelry", "fuel", "grocery", "entertainment"], [.3, .2, .15, .15, .2])
            rows.append((t, cat, usual(cat, 1.5), pick(["swipe", "chip", "contactless"], [.6, .2, .2]), country,
                         far_distance(rng, [country])[0]))
    elif pattern == "new_account_burst":  # in person or online, at home: only the account's youth stands out
        for _ in range(rng.integers(2, 5)):
            t += rng.integers(600, 3 * 3600)
            cat = pick(["electronics", "online_retail", "jewelry", "entertainment"], [.35, .3, .15, .2])
            rows.append((t, cat, usual(cat, 1.3), pick(["online", "contactless"], [.6, .4]), "DE",
                         home_distance(rng, 1)[0]))
    else:  # card_testing: tiny online charges check that the card works, then a large purchase
        country = pick(["DE", "US", "GB", "NL"], [.5, .2, .15, .15])
        for _ in range(rng.integers(1, 4)):
            t += rng.integers(60, 300)
            rows.append((t, pick(["online_retail", "entertainment"]), rng.uniform(0.5, 3), "online", country, dist))
        cat = pick(["electronics", "jewelry"])
        rows.append((t + rng.integers(300, 2400), cat, usual(cat, 1.3), "online", country, dist))
    return [dict(acc=a, sec=int(r[0]), cat=r[1], amount=float(r[2]), channel=r[3], country=r[4], dist=float(r[5]),
                 extra=extra, is_fraud=1) for r in rows]


def fraud(rng, acc, n):
    quotas = np.round(np.array([share for share, _ in PATTERNS.values()]) * n).astype(int)
    quotas[0] += n - quotas.sum()
    rows = []
    for pattern, quota in zip(PATTERNS, quotas):
        while quota > 0:  # whole episodes, the last one cut short to hit the quota
            event = fraud_event(rng, acc, pattern)[:quota]
            rows, quota = rows + event, quota - len(event)
    return pd.DataFrame(rows)


def build(rows, seed):
    rng = np.random.default_rng(seed)
    acc = make_accounts(rng)
    n_fraud = round(rows * FRAUD_RATE)
    df = pd.concat([genuine(rng, acc, rows - n_fraud), fraud(rng, acc, n_fraud)], ignore_index=True)
    # Last-24h count: the account's earlier rows in this file, plus its card use outside the sample.
    df = df.sort_values(["acc", "sec"], kind="mergesort").reset_index(drop=True)
    key = df.acc.to_numpy(np.int64) * 10**9 + df.sec.to_numpy(np.int64)
    in_file = np.arange(len(df)) - np.searchsorted(key, key - 86400, side="left")
    age = df.sec // 86400 - acc.open_day.to_numpy()[df.acc]
    # A genuine new card gets used a lot in its first two weeks too, so a busy new account is not proof.
    lam = acc.daily_tx.to_numpy()[df.acc] + 3 * (age < 14)
    # One draw per account and day, so that the count does not jump around within a burst.
    _, pair = np.unique(df.acc * DAYS + df.sec // 86400, return_inverse=True)
    last_24h = in_file + rng.poisson(pd.Series(lam).groupby(pair).first().to_numpy())[pair] + df.extra
    ts = START + pd.to_timedelta(df.sec, unit="s")
    out = pd.DataFrame({
        "timestamp": ts.dt.strftime("%Y-%m-%d %H:%M:%S"), "account_id": acc.account_id.to_numpy()[df.acc],
        "amount": df.amount.round(2), "merchant_category": df.cat, "hour": ts.dt.hour, "country": df.country,
        "channel": df.channel, "card_present": np.where(df.channel == "online", "no", "yes"),
        "account_age_days": age, "transactions_last_24h": last_24h,
        # The account's usual spend, measured with some noise; fraud does not change it.
        "avg_amount_30d": (TYPICAL * acc.spend.to_numpy()[df.acc] * rng.lognormal(0, 0.15, len(df))).round(2),
        "distance_from_home_km": df.dist.round(1), "customer_age_band": acc.age_band.to_numpy()[df.acc],
        "is_fraud": df.is_fraud, "sec": df.sec,
    })
    out = out.sort_values(["sec", "account_id"], kind="mergesort").drop(columns="sec").reset_index(drop=True)
    out.insert(0, "transaction_id", [f"T{i:06d}" for i in range(1, len(out) + 1)])
    # Leave a few values empty so that pipelines have to handle missing data.
    for col in ["avg_amount_30d", "distance_from_home_km"]:
        out.loc[rng.random(len(out)) < MISSING_RATE, col] = np.nan
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "transactions.csv")
    args = parser.parse_args()
    df = build(args.rows, args.seed)
    df.to_csv(args.output, index=False, lineterminator="\n")
    print(f"{args.output}: {len(df)} rows, {int(df.is_fraud.sum())} fraud ({df.is_fraud.mean():.2%})")


if __name__ == "__main__":
    main()
