"""A linear probe on frozen features, and copying it into a model's head: the start of LP-FT for every modality.

A new random head drags the pre-trained model off course before it has learned anything. Started as a logistic
regression fitted on the frozen features (the probe), the head and the model are then fine-tuned together (Kumar
et al., 2022, "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution").
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

PROBE_STRENGTHS = (1.0, 10.0, 100.0)  # inverse regularisation of the probe, chosen on validation


def fit_probe(train_embeddings, train_ids, validation_embeddings, validation_ids) -> tuple[LogisticRegression, float]:
    """The logistic regression on frozen embeddings whose strength scores best on validation."""
    best, best_score = None, -1.0
    for strength in PROBE_STRENGTHS:
        probe = LogisticRegression(C=strength, max_iter=3000).fit(train_embeddings, train_ids)
        score = float((probe.predict(validation_embeddings) == np.asarray(validation_ids)).mean())
        if score > best_score:
            best, best_score = probe, score
    return best, best_score


def probe_weights(probe: LogisticRegression, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The probe's weights as a head over all classes (in label-id order)."""
    if list(probe.classes_) != list(range(n_classes)):
        raise ValueError("every class needs at least one training example for the probe")
    if n_classes == 2:  # one row for the second class: the same odds as a two-row softmax whose first row is 0
        return (np.vstack([np.zeros_like(probe.coef_), probe.coef_]),
                np.concatenate([np.zeros_like(probe.intercept_), probe.intercept_]))
    return probe.coef_, probe.intercept_


def set_head(layer: torch.nn.Linear, weight: np.ndarray, bias: np.ndarray) -> None:
    """Copies a probe's (weight, bias), one row per class, into a model's linear head layer."""
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=layer.weight.dtype))
        layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype))
