"""How many labels fine-tuning saves: nested labelled subsets, the curve over label budgets, and the saving.

A label budget is a share of the training split's labels. With one seed, `nested_subset` draws each class's share
from one fixed order of that class's rows, so a larger budget keeps every row of a smaller one: the curve then
measures what more labels buy, not a new draw's luck. Validation and test never change with the budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from finetune_cookbook.core.data import LabelledData

FULL = 1.0  # the whole training split
REFERENCE = "scratch"  # the model the saving is measured against, trained on every label
CANDIDATE = "fine_tuned"


def nested_subset(label_ids, budget: float, seed: int) -> np.ndarray:
    """Sorted positions of the training rows a `budget` (a share in (0, 1]) keeps: that share of each class, at
    least one row of every class present, drawn with `seed` from an order that does not depend on the budget."""
    label_ids = np.asarray(label_ids)
    chosen = []
    for value in np.unique(label_ids):
        pool = np.flatnonzero(label_ids == value)
        count = min(len(pool), max(1, int(round(budget * len(pool)))))
        chosen.append(np.random.default_rng([seed, int(value)]).permutation(pool)[:count])
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)


def labelled_subset(data: LabelledData, budget: float, seed: int, labels=None) -> LabelledData:
    """`data` with its training split cut to the rows `nested_subset` keeps, stratified by `labels` (the training
    split's label ids by default); validation and test unchanged."""
    train = data.splits["train"]
    kept = train.iloc[nested_subset(data.label_ids("train") if labels is None else labels, budget, seed)]
    return dataclasses.replace(data, splits={**data.splits, "train": kept})


def curve_rows(results, budget: float) -> list[dict]:
    """`results` (ApproachResults trained on `budget` of the labels) as the rows `curve_table` reads."""
    return [{"approach": r.approach, "label_budget": budget, "metrics": dict(r.metrics)} for r in results]


def budget_of(record: dict) -> float | None:
    """A record's share of the training labels: its label budget, or else the share it recorded (a count per
    intent's); None for a count per intent recorded without its share, which is unknown; a record with none of
    these used every training label."""
    for field_name in ("label_budget", "label_share"):
        if record.get(field_name) is not None:
            return float(record[field_name])
    return None if record.get("examples_per_intent") is not None else FULL


def has_curve(records: list[dict]) -> bool:
    """Whether the records hold a budget below every label: a curve to read, not one point."""
    return any((budget_of(record) or FULL) < FULL for record in records)


def curve_table(records: list[dict], metric: str) -> pd.DataFrame:
    """One row per approach and budget: `mean` and `std` of `metric` over the labelled subsets, and how many."""
    rows = []
    for record in records:
        value = record.get("metrics", {}).get(metric)
        if value is None or budget_of(record) is None:
            continue
        per_seed = record.get("per_seed", {}).get(metric)
        rows.append({
            "approach": record["approach"], "label_budget": budget_of(record), "mean": float(value),
            "std": float(record.get("metrics_std", {}).get(metric, 0.0)),
            "count": len(per_seed) if per_seed else 1,
        })
    columns = ["approach", "label_budget", "mean", "std", "count"]
    return pd.DataFrame(rows, columns=columns).sort_values(["approach", "label_budget"]).reset_index(drop=True)


@dataclass
class LabelsSaved:
    """Where the fine-tuned curve reaches the reference model trained on every label."""

    metric: str
    reference: str
    reference_score: float | None  # the reference model's score with every label; None without that point
    matching_budget: float | None  # the smallest budget at which the fine-tuned model matches it; None: none does
    interpolated: bool  # found between two measured budgets, on the straight line joining them
    budgets: list[float]

    @property
    def saving(self) -> float | None:
        """How many times fewer labels the fine-tuned model needs: 100% over the matching budget."""
        return None if self.matching_budget is None else FULL / self.matching_budget

    def sentence(self) -> str:
        if self.reference_score is None:
            return f"No {self.reference} run on every label, so no saving can be read."
        if self.matching_budget is None:
            return (f"At no budget measured ({', '.join(f'{b:.0%}' for b in self.budgets)}) does the fine-tuned "
                    f"model reach {self.reference} on every label ({self.metric} {self.reference_score:.3f}).")
        how = "interpolated between the budgets around it" if self.interpolated else "measured at that budget"
        return (f"With {self.matching_budget:.0%} of the labels ({how}) the fine-tuned model reaches what "
                f"{self.reference} scores on every label ({self.metric} {self.reference_score:.3f}): "
                f"{self.saving:.1f}x fewer labels.")


def labels_saved(table: pd.DataFrame, metric: str, reference: str = REFERENCE, candidate: str = CANDIDATE) -> LabelsSaved:
    """The smallest budget at which `candidate`'s mean reaches `reference`'s mean at the full budget. Between two
    measured budgets the crossing is interpolated linearly in the budget; a curve that starts above the reference
    matches at its smallest budget (the saving is then at least what that budget shows)."""
    own = table[table["approach"] == candidate].sort_values("label_budget")
    budgets = [float(b) for b in own["label_budget"]]
    full = table[(table["approach"] == reference) & np.isclose(table["label_budget"], FULL)]
    if full.empty or own.empty:
        return LabelsSaved(metric, reference, None, None, False, budgets)
    target = float(full["mean"].iloc[0])
    scores = [float(s) for s in own["mean"]]
    if scores[0] >= target:
        return LabelsSaved(metric, reference, target, budgets[0], False, budgets)
    for (low, low_score), (high, high_score) in zip(zip(budgets, scores), zip(budgets[1:], scores[1:])):
        if high_score >= target:
            exact = np.isclose(high_score, target) or high_score == low_score
            share = high if exact else low + (target - low_score) / (high_score - low_score) * (high - low)
            return LabelsSaved(metric, reference, target, float(share), not exact, budgets)
    return LabelsSaved(metric, reference, target, None, False, budgets)


def crossings(table: pd.DataFrame, first: str, second: str, name_of=lambda budget: f"{budget:.0%} of the labels") -> list[str]:
    """Where `first`'s mean curve passes `second`'s or falls behind it, budget by budget, as sentences; `name_of`
    says a budget in words (a count of examples per class, say, where the curve is not over shares)."""
    left = table[table["approach"] == first].set_index("label_budget")["mean"]
    right = table[table["approach"] == second].set_index("label_budget")["mean"]
    shared = sorted(set(left.index) & set(right.index))
    said, ahead = [], None
    for budget in shared:
        now = left[budget] >= right[budget]
        if ahead is None:
            said.append(f"At {name_of(budget)} {first} is {'ahead of' if now else 'behind'} {second} "
                        f"({left[budget]:.3f} against {right[budget]:.3f}).")
        elif now != ahead:
            said.append(f"At {name_of(budget)} {first} {'overtakes' if now else 'falls behind'} {second} "
                        f"({left[budget]:.3f} against {right[budget]:.3f}).")
        ahead = now
    if len(said) == 1 and len(shared) > 1:
        said[0] += f" It stays {'ahead' if ahead else 'behind'} up to {name_of(shared[-1])}."
    return said


def curve_figure(table: pd.DataFrame, metric: str, title: str = "What labels buy: mean ± sd over labelled subsets",
                 base_rate: float | None = None, chance_label: str = "chance"):
    """Every approach's mean `metric` against the share of training labels, with a band of one standard deviation."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for approach, part in table.groupby("approach", sort=False):
        part = part.sort_values("label_budget")
        x, mean, spread = part["label_budget"], part["mean"], part["std"].fillna(0)
        axis.plot(x, mean, marker="o", label=approach)
        axis.fill_between(x, mean - spread, mean + spread, alpha=0.15)
    if base_rate is not None:
        axis.axhline(base_rate, color="grey", linestyle=":", label=chance_label)
    axis.set_xscale("log")
    budgets = sorted(table["label_budget"].unique())
    axis.set_xticks(budgets, [f"{b:.0%}" for b in budgets])
    axis.minorticks_off()
    axis.set(xlabel="share of training labels used", ylabel=metric.replace("_", " "), title=title)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
