"""Plots for rare-event detectors: precision-recall and ROC curves, score distributions, the label-budget curve."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.label_curve import curve_figure


def pr_and_roc_curves(targets, results: list[ApproachResult]):
    """Precision-recall (with the fraud rate as chance level) and ROC curves of every approach, on one split."""
    targets = np.asarray(targets)
    figure, (pr_axis, roc_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
    for result in results:
        scores = result.probabilities
        precision, recall, _ = precision_recall_curve(targets, scores)
        pr_axis.plot(recall, precision, label=f"{result.approach} (AP {result.metrics['average_precision']:.3f})")
        false_positive, true_positive, _ = roc_curve(targets, scores)
        roc_axis.plot(false_positive, true_positive, label=f"{result.approach} (AUC {result.metrics['roc_auc']:.3f})")
    pr_axis.axhline(targets.mean(), color="grey", linestyle=":", label=f"chance (fraud rate {targets.mean():.3f})")
    pr_axis.set(xlabel="recall (share of frauds found)", ylabel="precision (share of flags that are fraud)",
                title="Precision-recall", ylim=(0, 1.02))
    roc_axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc_axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    pr_axis.legend(fontsize=8)
    roc_axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


def score_distributions(targets, results: list[ApproachResult], threshold: dict[str, float] | None = None):
    """How the scores of fraud and genuine cases spread, per approach: the overlap is what no threshold fixes."""
    targets = np.asarray(targets).astype(bool)
    figure, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.2), squeeze=False)
    for axis, result in zip(axes[0], results):
        scores = np.asarray(result.probabilities)
        bins = np.linspace(scores.min(), scores.max(), 40)
        axis.hist(scores[~targets], bins=bins, density=True, alpha=0.6, label="genuine")
        axis.hist(scores[targets], bins=bins, density=True, alpha=0.6, label="fraud")
        if threshold and result.approach in threshold and np.isfinite(threshold[result.approach]):
            axis.axvline(threshold[result.approach], color="black", linestyle="--", linewidth=1, label="threshold")
        axis.set(title=result.approach, xlabel="score", yticks=[])
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def budget_table(results: list[ApproachResult], metric: str = "average_precision") -> pd.DataFrame:
    """Mean and standard deviation of `metric` per approach and label budget, over the labelled-subset seeds."""
    rows = [{"approach": r.approach, "label_budget": r.setting["label_budget"], "seed": r.seed,
             metric: r.metrics[metric]} for r in results]
    table = pd.DataFrame(rows).groupby(["label_budget", "approach"])[metric].agg(["mean", "std", "count"])
    return table.reset_index()


def label_budget_curve(results: list[ApproachResult], metric: str = "average_precision", base_rate: float | None = None):
    """Every approach's `metric` against the share of training labels it used: mean over seeds, with a band of
    one standard deviation."""
    return curve_figure(budget_table(results, metric), metric, base_rate=base_rate, chance_label="chance (fraud rate)")
