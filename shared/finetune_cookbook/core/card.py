"""What every model card shares: the training-set sentence, the metrics table, how many skipped files it names.

Each task writes its own card (`tasks/<task>/card.py`, or `text/card.py` for the text classifiers) from these parts.
"""

from __future__ import annotations

from finetune_cookbook.core.data import DataReport

SKIPPED_SHOWN = 5  # skipped files a card names; metrics.json lists them all


def trained_on(report: DataReport, unit: str) -> str:
    """How many rows the model was trained on (the train split) out of all the cleaned rows, split by split."""
    sizes = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    return f"{report.split_sizes.get('train', 0)} {unit} (the train split of {sum(report.split_sizes.values())}: {sizes})"


def metrics_table(metrics: dict[str, float], labels: list[str]) -> str:
    """Accuracy and macro-F1 on test, then each class's precision and recall, as Markdown tables."""
    lines = ["| metric | test |", "|---|---|"]
    lines += [f"| {name} | {metrics[name]:.4f} |" for name in ("accuracy", "macro_f1") if name in metrics]
    lines += ["", "| class | precision | recall |", "|---|---|---|"]
    lines += [f"| {label} | {metrics[f'precision_{label}']:.3f} | {metrics[f'recall_{label}']:.3f} |" for label in labels]
    return "\n".join(lines)
