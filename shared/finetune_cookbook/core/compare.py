"""Approaches side by side on one test split: results, the comparison table, and error analysis."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finetune_cookbook.core.measure import Measurement
from finetune_cookbook.core.metrics import compute_classification_metrics


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
    # What sets this run apart from others of the same approach in the benchmark, e.g. {"examples_per_intent": 10}.
    setting: dict = field(default_factory=dict)
    seed: int | None = None  # where one benchmark run repeats an approach over seeds itself (labelled subsets)
    speed: object | None = field(default=None, repr=False)  # a Trainer run's `core.training.TrainingSpeed`
    # The share of the training split's labels it learned from, where a benchmark cuts the labels other than by a
    # label budget (a count per intent), so that the saving in labels reads the same way in every domain.
    label_share: float | None = None

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


def confused_pairs(texts: list[str], label_ids, probabilities: np.ndarray, labels: list[str],
                   threshold: float = 0.0, n: int = 10) -> pd.DataFrame:
    """The intent pairs the model mixes up most (both directions together), with an example of each direction
    and what to do about it:

    - most of the pair's mistakes fall below the hand-over threshold: leave them to the fallback;
    - the mistakes go both ways and are a large share of the two intents' queries: merge the intents (or give
      them one reply), since even people would struggle to tell them apart;
    - otherwise: add training queries of the true intent that read like the other one.
    """
    true = np.asarray(label_ids)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(true != predicted)
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in wrong:
        pairs.setdefault(tuple(sorted((true[i], predicted[i]))), []).append(i)
    rows = []
    for (a, b), rows_of_pair in pairs.items():
        a_as_b = [i for i in rows_of_pair if true[i] == a]
        b_as_a = [i for i in rows_of_pair if true[i] == b]
        handed_over = float(np.mean(confidence[rows_of_pair] < threshold))
        support = int(np.sum((true == a) | (true == b)))
        if handed_over >= 0.5:
            advice = "leave to the fallback: most of these are already handed over"
        elif min(len(a_as_b), len(b_as_a)) >= len(rows_of_pair) / 3 and len(rows_of_pair) >= 0.2 * support:
            advice = "merge the intents, or give them one reply: they overlap both ways"
        else:
            source, target = (a, b) if len(a_as_b) >= len(b_as_a) else (b, a)
            advice = f"add {labels[source]} queries that read like {labels[target]}"
        rows.append({
            "intents": f"{labels[a]} / {labels[b]}", "mistakes": len(rows_of_pair),
            "first as second": len(a_as_b), "second as first": len(b_as_a),
            "share handed over": round(handed_over, 2),
            "example (first read as second)": texts[a_as_b[0]] if a_as_b else "",
            "example (second read as first)": texts[b_as_a[0]] if b_as_a else "",
            "what to do": advice,
        })
    table = pd.DataFrame(rows, columns=["intents", "mistakes", "first as second", "second as first",
                                        "share handed over", "example (first read as second)",
                                        "example (second read as first)", "what to do"])
    return table.sort_values("mistakes", ascending=False, kind="stable").head(n).reset_index(drop=True)


def comparison_markdown(results: list[ApproachResult], metrics: tuple[str, ...]) -> str:
    """`comparison_table` as a Markdown table, the best score of each metric in bold."""
    table = comparison_table(results, metrics)
    shown = [m for m in metrics if table[m].notna().any()]
    best = {m: table[m].max() for m in shown}
    header = ["approach", "what it is", *shown, "train s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for approach, row in table.iterrows():
        cells = [f"**{row[m]:.4f}**" if row[m] == best[m] else ("n/a" if pd.isna(row[m]) else f"{row[m]:.4f}")
                 for m in shown]
        lines.append(f"| {approach} | {row['what it is']} | " + " | ".join(cells) + f" | {row['train_seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def comparison_record(results: list[ApproachResult], metrics: tuple[str, ...]) -> dict:
    """What `comparison.json` holds: each approach's description, test metrics and cost."""
    return {"metrics": list(metrics), "approaches": {
        r.approach: {"description": r.description, "metrics": r.metrics, "train_seconds": r.train_seconds,
                     "peak_memory_mb": r.peak_memory_mb, **({"setting": r.setting} if r.setting else {})}
        for r in results}}
