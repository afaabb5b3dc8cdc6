"""The deviation objective (DevNet) for a few labelled frauds among unlabelled rows."""

import numpy as np
import pytest
import torch
from conftest import ROOT

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.tabular.deviation import MARGIN, deviation_loss, deviation_rows, deviation_score


def logits_scoring(scores) -> dict:
    """A two-class head's logits whose deviation score is `scores`."""
    scores = torch.tensor(scores, dtype=torch.float32, requires_grad=True)
    return {"logits": torch.stack([torch.zeros_like(scores), scores], dim=1)}, scores


def test_ordinary_rows_at_the_reference_mean_and_frauds_past_the_margin_cost_nothing():
    outputs, _ = logits_scoring([0.0, 0.0, MARGIN + 1])
    assert deviation_loss(None)(outputs, torch.tensor([0, 0, 1])).item() == 0.0


def test_the_loss_pulls_ordinary_rows_to_the_mean_and_pushes_frauds_up_to_the_margin():
    outputs, scores = logits_scoring([2.0, -3.0, 1.0, MARGIN + 2])
    deviation_loss(None)(outputs, torch.tensor([0, 0, 1, 1])).backward()
    gradient = scores.grad.numpy()
    assert gradient[0] > 0 and gradient[1] < 0  # ordinary rows: towards 0 from either side
    assert gradient[2] < 0  # a fraud below the margin: up
    assert gradient[3] == 0  # a fraud past the margin: left alone


def test_class_weights_weigh_each_row_by_its_class():
    outputs, _ = logits_scoring([1.0, 1.0])
    labels = torch.tensor([0, 1])
    plain = deviation_loss(None)(outputs, labels).item()
    weighted = deviation_loss(torch.tensor([1.0, 3.0]))(outputs, labels).item()
    assert plain == pytest.approx((1.0 + (MARGIN - 1)) / 2)
    assert weighted == pytest.approx((1.0 + 3 * (MARGIN - 1)) / 2)


def test_the_score_is_the_logit_margin_so_the_positive_probability_ranks_rows_the_same_way():
    logits = torch.tensor([[0.5, 2.0], [1.0, -1.0], [0.0, 0.3]])
    score = deviation_score(logits)
    probability = torch.softmax(logits, dim=1)[:, 1]
    assert torch.equal(torch.argsort(score), torch.argsort(probability))


def test_unlabelled_rows_count_as_ordinary_beside_the_labelled_rows_repeated_to_about_half():
    targets = np.array([1, 0, 1, 0, 1, 0, 0, 0, 0, 1])
    rows, seen = deviation_rows(targets, np.array([0, 3]))
    unlabelled = [1, 2, 4, 5, 6, 7, 8, 9]
    assert rows.tolist() == unlabelled + [0, 3] * 4
    assert seen.tolist() == [0] * 8 + [1, 0] * 4  # unlabelled frauds (2, 4, 9) count as ordinary
    every_label = deviation_rows(targets, np.arange(10))
    assert every_label[0].tolist() == list(range(10)) and every_label[1].tolist() == targets.tolist()


def test_an_unknown_objective_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="fraud.objective is 'devnet'; use one of classification, deviation"):
        load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml", {"fraud": {"objective": "devnet"}})
