import numpy as np
import pytest
from transformers import EvalPrediction

from finetune_cookbook.metrics import compute_classification_metrics, trainer_metrics

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
