"""One function per figure; each returns the matplotlib figure so notebooks show it and scripts save it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay


def class_balance(splits: dict[str, pd.DataFrame], labels: list[str], column: str = "label"):
    """Rows per class in each split: shows imbalance, and that stratification kept it the same everywhere."""
    counts = pd.DataFrame({name: frame[column].value_counts().reindex(labels, fill_value=0) for name, frame in splits.items()})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    counts.plot.bar(ax=ax, rot=0)
    ax.set_xlabel("class")
    ax.set_ylabel("rows")
    ax.set_title("Class balance per split")
    fig.tight_layout()
    return fig


def learning_curves(log_history: list[dict], metric: str = "macro_f1"):
    """Training and validation loss by epoch, and the validation metric that picks the best checkpoint."""
    train = [(h["epoch"], h["loss"]) for h in log_history if "loss" in h]
    evals = [(h["epoch"], h["eval_loss"], h.get(f"eval_{metric}")) for h in log_history if "eval_loss" in h]
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    if train:
        loss_ax.plot(*zip(*train), label="training loss", alpha=0.7)
    if evals:
        epochs, losses, scores = zip(*evals)
        loss_ax.plot(epochs, losses, "o-", label="validation loss")
        metric_ax.plot(epochs, scores, "o-", color="tab:green")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss")
    loss_ax.legend()
    loss_ax.set_title("Loss")
    metric_ax.set_xlabel("epoch")
    metric_ax.set_ylabel(f"validation {metric}")
    metric_ax.set_title(f"Validation {metric}")
    fig.tight_layout()
    return fig


def confusion_matrix(true_ids, predicted_ids, labels: list[str], title: str = "Confusion matrix"):
    """Row-normalised: each row shows where the examples of one true class went."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ConfusionMatrixDisplay.from_predictions(
        true_ids, predicted_ids, labels=list(range(len(labels))), display_labels=labels,
        normalize="true", values_format=".2f", cmap="Blues", colorbar=False, ax=ax,
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig


def approach_comparison(table: pd.DataFrame, metrics: tuple[str, ...] = ("accuracy", "macro_f1")):
    """Bars of each approach's test metrics, from `compare.comparison_table`."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    table[list(metrics)].plot.barh(ax=ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel("test score")
    ax.set_title("Every approach on the same test split")
    for container in ax.containers:
        ax.bar_label(container, fmt="%.3f", fontsize=8)
    fig.tight_layout()
    return fig

