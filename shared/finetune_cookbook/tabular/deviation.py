"""A deviation loss for a few labelled anomalies among many unlabelled rows (DevNet, Pang, Shen and van den Hengel,
KDD 2019).

The classifier's score (the positive logit minus the negative one) is read as a deviation from what ordinary rows
score, in standard units of a standard-normal reference. Rows taken for ordinary are pulled to the reference's
mean; labelled anomalies are pushed at least `margin` standard units above it. The unlabelled rows train as
ordinary ones: the few anomalies among them are the contamination the loss is made to tolerate, and they are what
lets a handful of labels shape a detector of every row.
"""

from __future__ import annotations

import numpy as np
import torch

MARGIN = 5.0  # DevNet's: a labelled anomaly at least 5 standard units above the ordinary rows (a one-sided p of 3e-7)


def deviation_score(logits: torch.Tensor) -> torch.Tensor:
    """The anomaly score of a two-class head: the positive logit minus the negative one. The positive class's
    probability is its logistic, so prediction, thresholds and export read it unchanged."""
    return logits[:, 1] - logits[:, 0]


def deviation_loss(weights: torch.Tensor | None, margin: float = MARGIN):
    """A Trainer `compute_loss_func`: ordinary rows cost their distance from the reference mean (0, in units of
    the reference's standard deviation, 1), anomalies their shortfall below `margin`; `weights` per class (None:
    equal) weigh the few anomalies up as DevNet's balanced batches do."""

    def loss(outputs, labels, num_items_in_batch=None):
        deviation = deviation_score(outputs["logits"].float())
        anomalous = labels.float()
        each = (1 - anomalous) * deviation.abs() + anomalous * torch.clamp(margin - deviation, min=0)
        if weights is not None:
            each = each * weights.to(each.device)[labels]
        return each.sum() / (num_items_in_batch if num_items_in_batch is not None else labels.numel())

    return loss


def deviation_rows(targets: np.ndarray, labelled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training rows the deviation loss sees (positions in `targets`) and their targets: every unlabelled row
    once, as ordinary, and the labelled rows, with their labels, repeated until they are about half of the whole,
    as DevNet's batches are half labelled. Without the repeats a handful of labelled frauds among thousands of
    rows would hardly ever be drawn."""
    targets, labelled = np.asarray(targets), np.asarray(labelled)
    unlabelled = np.setdiff1d(np.arange(len(targets)), labelled)
    repeats = max(1, round(len(unlabelled) / max(len(labelled), 1)))
    rows = np.concatenate([unlabelled, np.tile(labelled, repeats)])
    seen = np.concatenate([np.zeros(len(unlabelled), dtype=targets.dtype), np.tile(targets[labelled], repeats)])
    return rows, seen
