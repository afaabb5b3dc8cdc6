"""Insurance claims of a schema no recipe was written for, generated for `make bench` (issue 36's third dataset).

10,000 claims over one year, 2.5% of them suspicious. Genuine claims follow rules across columns: the payout
requested is about 85% of the assessed damage, the repair garage lies in the policy's region, the damage is
typical of the vehicle class. A quarter of the suspicious claims ask for more than the damage, a quarter use a
garage outside the region, half claim an extreme damage for their vehicle class. Nothing is copied from a real
dataset.

    python benchmarks/data/make_generated_claims.py outputs/bench_data/generated_claims/claims.csv

The same seed gives the same file; numpy and pandas only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

TYPICAL_DAMAGE = {"compact": 1500, "family": 2500, "suv": 4000, "van": 3000, "sports": 7000}
GARAGES = {"north": ["G1", "G2"], "south": ["G3", "G4"], "east": ["G5", "G6"], "west": ["G7", "G8"]}
FAR_GARAGES = {"north": ["G5", "G7"], "south": ["G1", "G6"], "east": ["G3", "G8"], "west": ["G2", "G4"]}


def generated_claims(rows: int = 10_000, seed: int = 2026, fraud_rate: float = 0.025) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vehicle = rng.choice(list(TYPICAL_DAMAGE), rows, p=[0.3, 0.3, 0.2, 0.12, 0.08])
    damage = np.array([TYPICAL_DAMAGE[v] for v in vehicle]) * rng.lognormal(0, 0.5, rows)
    payout = damage * rng.normal(0.85, 0.05, rows)
    region = rng.choice(list(GARAGES), rows)
    garage = np.array([rng.choice(GARAGES[r]) for r in region])
    age = rng.integers(18, 85, rows)
    years_insured = np.clip(age - 18 - rng.integers(0, 20, rows), 0, None)
    witnesses = rng.poisson(0.8, rows)
    police_report = np.where(rng.random(rows) < 0.6, "yes", "no")
    day = rng.integers(0, 365, rows)
    suspicious = np.zeros(rows, bool)
    suspicious[rng.choice(rows, int(fraud_rate * rows), replace=False)] = True
    kind = rng.random(rows)
    overpaid = suspicious & (kind < 0.25)
    far_garage = suspicious & (kind >= 0.25) & (kind < 0.5)
    extreme = suspicious & (kind >= 0.5)
    payout = np.where(overpaid, damage * rng.uniform(1.4, 2.5, rows), payout)
    garage = np.where(far_garage, [rng.choice(FAR_GARAGES[r]) for r in region], garage)
    damage = np.where(extreme, damage * rng.uniform(3, 6, rows), damage)
    payout = np.where(extreme, damage * rng.normal(0.85, 0.05, rows), payout)
    return pd.DataFrame({
        "claim_no": [f"C{i:06d}" for i in range(rows)], "day_of_year": np.sort(day), "vehicle_class": vehicle,
        "assessed_damage": damage.round(2), "payout_requested": payout.round(2), "policy_region": region,
        "repair_garage": garage, "driver_age": age, "years_insured": years_insured, "witnesses": witnesses,
        "police_report": police_report, "suspicious": suspicious.astype(int),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    generated_claims(args.rows, args.seed).to_csv(args.output, index=False)


if __name__ == "__main__":
    main()
