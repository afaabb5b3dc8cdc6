"""Approaches side by side on one test split: results, the comparison table, and error analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .measure import Measurement
from .metrics import compute_classification_metrics


@dataclass
class ApproachResult:
    """One approach's test-split outcome and cost."""

    approach: str
    description: str
    metrics: dict[str, float]
    probabilities: np.ndarray = field(repr=False)
    train_seconds: float
    samples_per_second: float
    peak_memory_mb: float
    validation_probabilities: np.ndarray | None = field(default=None, repr=False)  # where a threshold is chosen

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


def classification_result(
    approach: str,
    description: str,
    test_label_ids: list[int],
    probabilities: np.ndarray,
    labels: list[str],
    cost: Measurement,
    samples_seen: int,
) -> ApproachResult:
    """Scores `probabilities` on the test labels and attaches what training cost."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    metrics = compute_classification_metrics(test_label_ids, probabilities.argmax(axis=1), labels)
    return ApproachResult(
        approach=approach,
        description=description,
        metrics=metrics,
        probabilities=probabilities,
        train_seconds=cost.seconds,
        samples_per_second=samples_seen / cost.seconds if cost.seconds else 0.0,
        peak_memory_mb=cost.peak_memory_mb,
    )


def comparison_table(results: list[ApproachResult], metrics: tuple[str, ...] = ("accuracy", "macro_f1")) -> pd.DataFrame:
    """Every approach on one row, with the chosen metrics and the training cost."""
    rows = [
        {
            "approach": r.approach,
            "what it is": r.description,
            **{m: round(r.metrics[m], 4) if m in r.metrics else float("nan") for m in metrics},
            "train_seconds": round(r.train_seconds, 1),
            "peak_memory_mb": round(r.peak_memory_mb),
        }
        for r in results
    ]
    return pd.DataFrame(rows).set_index("approach")


def most_confident_mistakes(
    inputs: pd.DataFrame, label_ids: list[int], probabilities: np.ndarray, labels: list[str], n: int = 10
) -> pd.DataFrame:
    """The wrong predictions the model was surest of: where labels are noisy or the model has a blind spot."""
    predicted = probabilities.argmax(axis=1)
    table = inputs.reset_index(drop=True).assign(
        true=[labels[i] for i in label_ids],
        predicted=[labels[i] for i in predicted],
        confidence=probabilities.max(axis=1).round(3),
    )
    wrong = table[np.asarray(label_ids) != predicted]
    return wrong.sort_values("confidence", ascending=False).head(n)


def pick_on_validation(runs: dict, greater_is_better: bool = True) -> str:
    """The name of the run whose best validation score is best (`runs`: name -> a fine-tune result with a
    `.trainer`); the test split plays no part in the choice."""
    best_of = max if greater_is_better else min  # `loss` as the selection metric: lower wins
    return best_of(runs, key=lambda name: runs[name].trainer.state.best_metric)
