"""Few-shot fine-tuning of a sentence encoder: a linear probe first, then every weight (LP-FT).

With ten examples a class, a new random head would drag the pre-trained encoder off course before it learned
anything. So the head starts as a logistic regression fitted on the frozen sentence embeddings (the probe), and
then the encoder and head are fine-tuned together with a small learning rate (Kumar et al., 2022, "Fine-Tuning
can Distort Pretrained Features and Underperform Out-of-Distribution"). The model keeps the encoder's own
sentence embedding (mean pooling, unit length), which is what all-MiniLM-L6-v2 was pre-trained to produce.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from torch import nn
from transformers import AutoModel

PROBE_STRENGTHS = (1.0, 10.0, 100.0)  # inverse regularisation of the probe, chosen on validation


class MeanPooledClassifier(nn.Module):
    """Encoder, mean pooling over real tokens, unit length, linear head: returns `logits` (and `loss`)."""

    def __init__(self, encoder_path: str, coef: np.ndarray, intercept: np.ndarray):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(encoder_path)
        self.head = nn.Linear(coef.shape[1], coef.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
            self.head.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        logits = self.head(F.normalize(pooled.float(), dim=-1))
        output = {"logits": logits}
        if labels is not None:
            output["loss"] = F.cross_entropy(logits, labels)
        return output


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
