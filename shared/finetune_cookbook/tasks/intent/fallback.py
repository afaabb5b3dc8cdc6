"""When a classifier should not answer: a confidence threshold, chosen with no out-of-scope labels.

Some intents are held out of a training run and play the unknown messages: a message whose top probability is
below the threshold is handed over to a human. The threshold is chosen on validation and reported on test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class OperatingPoint:
    """What a threshold does: the in-scope messages answered correctly, the unknown ones handed over."""

    threshold: float
    in_scope_accuracy: float
    oos_recall: float

    def as_dict(self) -> dict[str, float]:
        return {"threshold": round(self.threshold, 4), "in_scope_accuracy": round(self.in_scope_accuracy, 4),
                "oos_recall": round(self.oos_recall, 4)}


def answer_curve(in_scope_confidence, in_scope_correct, oos_confidence) -> pd.DataFrame:
    """In-scope accuracy and out-of-scope recall at every threshold that changes either.

    A message is answered when its confidence is at least the threshold. In-scope accuracy counts a message as
    right only when it is answered with the right intent (a correct guess that was handed over is not); out-of-scope
    recall is the share of unknown messages handed over.
    """
    in_conf = np.asarray(in_scope_confidence, dtype=float)
    correct = np.asarray(in_scope_correct, dtype=bool)
    oos_conf = np.asarray(oos_confidence, dtype=float)
    if in_conf.size == 0 or oos_conf.size == 0:
        raise ValueError("the curve needs both in-scope and unknown messages")
    thresholds = np.unique(np.concatenate([[0.0], in_conf, oos_conf, [np.nextafter(1.0, 2.0)]]))
    right_confidences = np.sort(in_conf[correct])
    answered_right = right_confidences.size - np.searchsorted(right_confidences, thresholds, side="left")
    handed_over = np.searchsorted(np.sort(oos_conf), thresholds, side="left")
    return pd.DataFrame({
        "threshold": thresholds,
        "in_scope_accuracy": answered_right / in_conf.size,
        "oos_recall": handed_over / oos_conf.size,
    })


def choose_threshold(curve: pd.DataFrame) -> OperatingPoint:
    """The threshold with the best mean of in-scope accuracy and out-of-scope recall (the lowest such one, so
    the bot answers as much as it can at that balance)."""
    balance = (curve["in_scope_accuracy"] + curve["oos_recall"]) / 2
    best = curve.loc[balance.idxmax()]
    return OperatingPoint(float(best["threshold"]), float(best["in_scope_accuracy"]), float(best["oos_recall"]))


def threshold_keeping_accuracy(curve: pd.DataFrame, accuracy: float) -> OperatingPoint:
    """The highest threshold whose in-scope accuracy is still at least `accuracy`: out-of-scope recall at a fixed
    in-scope accuracy, as published out-of-scope results compare methods."""
    kept = curve[curve["in_scope_accuracy"] >= accuracy - 1e-12]
    best = kept.iloc[-1] if len(kept) else curve.iloc[0]
    return OperatingPoint(float(best["threshold"]), float(best["in_scope_accuracy"]), float(best["oos_recall"]))


def operating_point(threshold: float, in_scope_confidence, in_scope_correct, oos_confidence) -> OperatingPoint:
    """In-scope accuracy and out-of-scope recall of a given threshold."""
    in_conf = np.asarray(in_scope_confidence, dtype=float)
    answered_right = (in_conf >= threshold) & np.asarray(in_scope_correct, dtype=bool)
    return OperatingPoint(threshold, float(answered_right.mean()),
                          float((np.asarray(oos_confidence, dtype=float) < threshold).mean()))


def held_out_intents(labels: list[str], share: float, seed: int, candidates: list[str] | None = None) -> list[str]:
    """A seeded choice of `share` of the intents (at least one, leaving at least two to train on), drawn from
    `candidates` (default: all of them)."""
    candidates = list(labels) if candidates is None else [label for label in labels if label in set(candidates)]
    count = min(max(1, round(share * len(labels))), len(labels) - 2, len(candidates))
    if count < 1:
        raise ValueError("holding intents out needs at least three intents, one of them a candidate")
    chosen = np.random.default_rng(seed).choice(len(candidates), size=count, replace=False)
    return [candidates[i] for i in sorted(chosen)]


@dataclass
class Fallback:
    """The chosen hand-over threshold and the evidence for it."""

    threshold: float
    how: str  # how it was chosen, in words
    held_out: list[str] = field(default_factory=list)
    validation: OperatingPoint | None = None
    test: OperatingPoint | None = None
    test_curve: pd.DataFrame | None = field(default=None, repr=False)
    train_seconds: float = 0.0
    labelled_queries: int = 0  # labelled out-of-scope validation queries the threshold was chosen with
    holdout_rule: Fallback | None = None  # beside a labelled choice: what the held-out-intent rule would choose

    def summary(self) -> dict:
        """What is saved with the model (JSON)."""
        return {
            "threshold": round(self.threshold, 6), "how": self.how, "held_out_intents": self.held_out,
            "validation": self.validation.as_dict() if self.validation else None,
            "test": self.test.as_dict() if self.test else None,
            "labelled_out_of_scope_queries": self.labelled_queries,
            **({"holdout_rule_threshold": round(self.holdout_rule.threshold, 6)} if self.holdout_rule else {}),
        }
