import numpy as np
import pytest
from transformers import EvalPrediction

from finetune_cookbook.core.metrics import compute_classification_metrics, trainer_metrics

LABELS = ["negative", "neutral", "positive"]


def test_known_values():
    scores = compute_classification_metrics([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], LABELS)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    # per class F1: negative 0.5, neutral 2/3, positive 0.8
    assert scores["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert scores["precision_neutral"] == pytest.approx(0.5)
    assert scores["recall_positive"] == pytest.approx(2 / 3)


def test_a_class_never_predicted_scores_zero_not_an_error():
    scores = compute_classification_metrics([0, 1, 2], [0, 0, 0], LABELS)
    assert scores["precision_positive"] == 0.0
    assert scores["recall_positive"] == 0.0
    assert scores["macro_f1"] == pytest.approx(0.5 / 3)


def test_trainer_metrics_take_logits():
    logits = np.array([[2.0, 0.1, 0.0], [0.0, 0.1, 3.0]])
    scores = trainer_metrics(LABELS)(EvalPrediction(predictions=logits, label_ids=np.array([0, 1])))
    assert scores["accuracy"] == pytest.approx(0.5)


def test_roc_auc_binary_and_multiclass():
    from finetune_cookbook.core.metrics import roc_auc

    probabilities = np.array([[0.9, 0.1], [0.5, 0.5], [0.3, 0.7], [0.6, 0.4]])
    assert roc_auc([0, 0, 1, 1], probabilities) == pytest.approx(0.75)  # one of four pairs ranked the wrong way
    three = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1]])
    assert roc_auc([0, 1, 2, 0], three) == pytest.approx(1.0)
    # A three-class model scored on a split that holds two of its classes (a small given test split)
    two_present = np.array([[0.6, 0.1, 0.3], [0.2, 0.1, 0.7], [0.4, 0.1, 0.5], [0.3, 0.2, 0.5]])
    assert roc_auc([0, 2, 2, 0], two_present) == pytest.approx(0.75)  # p(2) among {0, 2}: .33 .78 .56 .63


def test_screening_threshold_finds_the_target_share_on_validation():
    from finetune_cookbook.core.metrics import screening_threshold, sensitivity_specificity

    positive_scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1]
    probabilities = np.array([[1 - p, p] for p in positive_scores + [0.05] * 10])
    references = [1] * 10 + [0] * 10
    threshold = screening_threshold(references, probabilities, positive=1, target_sensitivity=0.9)
    assert threshold == pytest.approx(0.15)  # the 9th highest positive score: 9 of 10 are flagged at or above it
    scores = sensitivity_specificity(references, probabilities, positive=1, threshold=threshold)
    assert scores["sensitivity"] == pytest.approx(0.9)
    assert scores["specificity"] == pytest.approx(1.0)
