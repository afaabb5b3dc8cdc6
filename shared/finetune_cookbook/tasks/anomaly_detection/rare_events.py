"""Judging a detector of rare events (fraud): rankings, an alert budget, and a threshold from costs.

Accuracy says little when 94 cases in 100 are genuine: flagging nothing scores 0.94. What matters is how high
the frauds rank (average precision, the area under the precision-recall curve, whose chance level is the fraud
rate; ROC-AUC beside it), how many frauds an investigator finds in the share of cases they can review, and what
the mistakes cost.
"""

from __future__ import annotations

import numpy as np


def alert_budget_metrics(targets, scores, share: float) -> dict[str, float]:
    """Precision and recall when the top `share` of cases by score are reviewed (at least one case)."""
    targets, scores = np.asarray(targets), np.asarray(scores, dtype=np.float64)
    reviewed = max(1, int(round(share * len(scores))))
    # Ties at the cut-off are broken at random (seeded), not by row order, which is time order in a time split.
    tie_breaker = np.random.default_rng(0).random(len(scores))
    top = np.lexsort((tie_breaker, -scores))[:reviewed]
    found = int(targets[top].sum())
    positives = int(targets.sum())
    return {
        "precision_at_alert_budget": found / reviewed,
        "recall_at_alert_budget": found / positives if positives else float("nan"),
    }


def expected_cost(targets, flagged, cost_missed: float, cost_false_alarm: float) -> float:
    """The cost per case of flagging `flagged`: missed frauds and needless reviews at their stated prices."""
    targets, flagged = np.asarray(targets).astype(bool), np.asarray(flagged).astype(bool)
    missed = (~flagged & targets).sum()
    false_alarms = (flagged & ~targets).sum()
    return float((missed * cost_missed + false_alarms * cost_false_alarm) / max(len(targets), 1))


def cost_threshold(targets, scores, cost_missed: float, cost_false_alarm: float) -> float:
    """The score threshold (flag at score >= threshold) with the lowest cost on these cases: choose it on
    validation, then keep it. Ties go to the higher threshold (fewer reviews)."""
    targets, scores = np.asarray(targets).astype(bool), np.asarray(scores, dtype=np.float64)
    candidates = np.unique(scores)[::-1]
    # One pass over the scores sorted high to low gives, for every candidate, the frauds and genuine cases it flags.
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_targets = scores[order], targets[order]
    last_at = np.searchsorted(-sorted_scores, -candidates, side="right")  # cases with score >= candidate
    frauds_flagged = np.concatenate([[0], np.cumsum(sorted_targets)])[last_at]
    genuine_flagged = last_at - frauds_flagged
    costs = (targets.sum() - frauds_flagged) * cost_missed + genuine_flagged * cost_false_alarm
    nothing = targets.sum() * cost_missed  # flagging nothing is a choice too
    best = int(np.argmin(costs))
    return float(candidates[best]) if costs[best] < nothing else float(np.inf)


def decision_metrics(targets, scores, threshold: float, cost_missed: float, cost_false_alarm: float) -> dict[str, float]:
    """What the chosen threshold does on these cases: how many it flags, what it finds, what it costs."""
    targets = np.asarray(targets).astype(bool)
    flagged = np.asarray(scores, dtype=np.float64) >= threshold
    return {
        "flagged_share": float(flagged.mean()),
        "precision_at_threshold": float(targets[flagged].mean()) if flagged.any() else float("nan"),
        "recall_at_threshold": float(flagged[targets].mean()) if targets.any() else float("nan"),
        "cost_per_case": expected_cost(targets, flagged, cost_missed, cost_false_alarm),
        "cost_per_case_flagging_nothing": expected_cost(targets, np.zeros_like(flagged), cost_missed, cost_false_alarm),
    }
