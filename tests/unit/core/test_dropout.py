"""Dropout with sparsely drawn masks (`core.dropout`): PyTorch's distribution, gradient and settings, fewer draws."""

import copy
import functools

import numpy as np
import pytest
import torch

from finetune_cookbook.core import dropout
from finetune_cookbook.core.dropout import draw_dropout_sparsely, dropped_positions, sparse_dropout


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_each_element_is_dropped_independently_with_probability_p(p):
    torch.manual_seed(0)
    count = 1_000_000
    positions = dropped_positions(count, p)
    assert positions.dtype == torch.int64 and positions[0] >= 0 and positions[-1] < count
    assert bool((positions.diff() > 0).all())  # sorted, no index twice
    spread = np.sqrt(count * p * (1 - p))
    assert abs(len(positions) - count * p) < 5 * spread
    # A geometric gap: the next element is dropped with probability p, the one after that with (1 - p) p ...
    gaps = positions.diff().numpy()
    for k in (1, 2, 5):
        assert abs(np.mean(gaps == k) - (1 - p) ** (k - 1) * p) < 0.01
    halves = np.bincount(positions.numpy() // (count // 2))  # as many in each half: no drift along the tensor
    assert abs(halves[0] - halves[1]) < 5 * spread


def test_the_first_and_the_last_element_are_dropped_as_often_as_any_other():
    torch.manual_seed(4)
    runs = 20_000
    dropped = np.zeros(3)
    for _ in range(runs):
        dropped[dropped_positions(3, 0.1).numpy()] += 1
    assert np.all(np.abs(dropped / runs - 0.1) < 5 * np.sqrt(0.1 * 0.9 / runs)), dropped / runs
    assert len(dropped_positions(0, 0.1)) == 0


def test_too_few_draws_are_drawn_again_until_every_element_is_covered(monkeypatch):
    monkeypatch.setattr(dropout, "SPREAD", -30)  # the first round stops well short of the last element
    torch.manual_seed(1)
    positions = dropped_positions(100_000, 0.1)
    assert positions[-1] > 99_000 and abs(len(positions) - 10_000) < 500
    assert bool((positions.diff() > 0).all())


def test_the_kept_values_are_scaled_and_the_gradient_flows_only_through_them():
    torch.manual_seed(2)
    values = torch.rand(64, 33) + 0.5  # no zeros of its own
    values.requires_grad_(True)
    out = sparse_dropout(values, 0.2)
    kept = out != 0
    assert 0.1 < 1 - kept.float().mean().item() < 0.3
    torch.testing.assert_close(out[kept], values[kept] / 0.8)
    weights = torch.randn(64, 33)
    (gradient,) = torch.autograd.grad((out * weights).sum(), values)
    torch.testing.assert_close(gradient, torch.where(kept, weights / 0.8, 0.0))


def test_a_transposed_input_is_dropped_element_by_element_in_its_own_order():
    torch.manual_seed(5)
    values = (torch.rand(40, 30) + 0.5).t()  # not contiguous
    values.requires_grad_(True)
    out = sparse_dropout(values, 0.3)
    kept = out != 0
    torch.testing.assert_close(out[kept], values[kept] / 0.7)
    upstream = torch.randn(40, 30).t()
    (gradient,) = torch.autograd.grad(out, values, upstream)
    torch.testing.assert_close(gradient, torch.where(kept, upstream / 0.7, 0.0))


def test_bf16_stays_bf16_and_nothing_happens_outside_training():
    values = torch.full((8, 16), 0.5, dtype=torch.bfloat16)
    out = sparse_dropout(values, 0.1)
    assert out.dtype == torch.bfloat16 and set(out.float().unique().tolist()) <= {0.0, torch.tensor(0.5 / 0.9, dtype=torch.bfloat16).item()}
    assert sparse_dropout(values, 0.1, training=False) is values
    assert sparse_dropout(values, 0.0) is values
    assert not sparse_dropout(values, 1.0).any()  # as PyTorch: everything dropped
    with pytest.raises(ValueError, match="between 0 and 1"):
        sparse_dropout(values, 1.5)


def test_a_model_draws_its_dropout_sparsely_until_the_setting_is_taken_off():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5), torch.nn.Dropout(0.0))
    foreign = torch.nn.Dropout(0.3)
    foreign.forward = functools.partial(lambda module, x: x, foreign)  # someone else's setting, kept
    model.append(foreign)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    draw_dropout_sparsely(model)
    assert all("forward" in vars(m) for m in model if isinstance(m, torch.nn.Dropout))
    assert set(model.state_dict()) == set(before)

    model.train()
    torch.manual_seed(3)
    out = model[1](torch.ones(10_000))
    assert 0.45 < (out == 0).float().mean().item() < 0.55 and set(out.unique().tolist()) == {0.0, 2.0}
    model.eval()
    assert torch.equal(model[1](torch.ones(5)), torch.ones(5))

    twin = copy.deepcopy(model)
    assert twin[1].forward.args[0] is twin[1]  # the copy's dropout reads its own p and mode
    draw_dropout_sparsely(model, enabled=False)
    assert "forward" not in vars(model[1]) and "forward" in vars(foreign)
