"""How the fraud task compares candidate networks on validation (no training: scores made up)."""

import numpy as np

from finetune_cookbook.tasks.anomaly_detection import validation_rank

TARGETS = np.array([0] * 97 + [1] * 3)


def test_a_candidate_that_ranks_the_frauds_better_wins_whatever_its_loss():
    sure_but_wrong = np.r_[np.full(96, 1e-4), 0.99, 0.98, 0.97, 0.999]  # a genuine row above one fraud
    ranked_right = np.r_[np.full(97, 0.4), 0.6, 0.6, 0.6]
    assert validation_rank(TARGETS, ranked_right) > validation_rank(TARGETS, sure_but_wrong)


def test_among_candidates_that_rank_every_fraud_first_the_clearer_separation_wins():
    barely = np.r_[np.full(97, 0.45), 0.55, 0.55, 0.55]
    clearly = np.r_[np.full(97, 0.02), 0.97, 0.95, 0.99]
    assert validation_rank(TARGETS, barely)[:2] == validation_rank(TARGETS, clearly)[:2] == (1.0, 1.0)
    assert validation_rank(TARGETS, clearly) > validation_rank(TARGETS, barely)


def test_a_validation_split_without_a_fraud_ties_every_candidate():
    no_fraud = np.zeros(100, dtype=int)
    assert validation_rank(no_fraud, np.linspace(0, 1, 100)) == validation_rank(no_fraud, np.full(100, 0.5))
    assert not validation_rank(no_fraud, np.full(100, 0.5)) > validation_rank(no_fraud, np.linspace(0, 1, 100))
