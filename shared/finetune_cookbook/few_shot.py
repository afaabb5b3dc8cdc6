"""A head started from a linear probe, then every weight fine-tuned (LP-FT).

A new random head drags the pre-trained encoder off course before it has learned anything, and with ten
examples a class it never recovers. So the head starts as a logistic regression fitted on the frozen sentence
embeddings (the probe), and then the encoder and head are fine-tuned together (Kumar et al., 2022,
"Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution"). The model keeps the
encoder's own sentence embedding (mean pooling, unit length; `sentence_classifier.py`), which is what
all-MiniLM-L6-v2 was pre-trained to produce. It serves few-shot runs and, with `model.head: probe`, full ones.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from transformers import AutoTokenizer, set_seed

from .sentence_classifier import SentenceClassifier
from .training import torch_device

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


def probe_started(encoder_path: str, labels: list[str], train_texts, train_ids, validation_texts, validation_ids,
                  max_length: int):
    """A function of the seed that returns a `SentenceClassifier` whose head starts as the probe. The probe is
    fitted once, on the frozen embeddings the model itself computes, its strength chosen on validation."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    frozen = SentenceClassifier.from_encoder(encoder_path, labels).to(torch_device())
    embed = lambda texts: frozen.embed(tokenizer, list(texts), max_length)  # noqa: E731
    probe, _ = fit_probe(embed(train_texts), train_ids, embed(validation_texts), validation_ids)
    head = probe_weights(probe, len(labels))
    del frozen

    def start(seed: int) -> SentenceClassifier:
        set_seed(seed)
        return SentenceClassifier.from_encoder(encoder_path, labels, *head)

    return start
