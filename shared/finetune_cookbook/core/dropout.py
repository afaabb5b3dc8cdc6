"""Dropout whose mask costs a tenth of the draws: the same distribution as `torch.nn.functional.dropout`.

On a CPU, PyTorch draws dropout's mask with `bernoulli_`, one random number per element, on one thread. In a
tuned bf16 fine-tune of a small text encoder that was close to a third of the epoch (benchmarks/README.md). Here only the
dropped elements are drawn: the gaps between them are geometric, so with p = 0.1 a tenth as many random numbers
place every dropped element, and each element is still dropped independently with probability p. The kept ones are
scaled by 1 / (1 - p), as PyTorch does.
"""

from __future__ import annotations

import math

import torch

from finetune_cookbook.core.module_forward import set_forward

SPREAD = 6  # draws beyond the expected count, in standard deviations: a second round is almost never needed


def dropped_positions(count: int, p: float) -> torch.Tensor:
    """Sorted flat indices in [0, count), each one in independently with probability `p` (0 < p < 1).

    The gap from one dropped index to the next is geometric: floor(log(U) / log(1 - p)) + 1 for U uniform in
    (0, 1] (float64, so the tail is exact far past any gap a tensor holds).
    """
    expected = count * p
    draws = int(expected + SPREAD * math.sqrt(expected) + 16)
    found = [_steps(draws, p, count) - 1]
    while found[-1][-1] < count:  # too few drawn to cover every element: go on from the last position
        found.append(_steps(draws, p, count) + found[-1][-1])
    positions = torch.cat(found) if len(found) > 1 else found[0]
    return positions[: int(torch.searchsorted(positions, count))]


def _steps(draws: int, p: float, count: int) -> torch.Tensor:
    """Running sums of `draws` geometric gaps (each at least 1; a gap past `count` is as good as any longer one)."""
    uniform = 1.0 - torch.rand(draws, dtype=torch.float64)  # in (0, 1]
    gaps = torch.log(uniform).div_(math.log1p(-p)).floor_().add_(1).clamp_(max=count + 1)
    return gaps.cumsum_(0).to(torch.int64)


def _kept_and_scaled(values: torch.Tensor, positions: torch.Tensor, p: float) -> torch.Tensor:
    """`values` / (1 - p), zero at the flat `positions`: dropout's output forward, its gradient backward."""
    scaled = (values * (1.0 / (1.0 - p))).contiguous()
    scaled.view(-1).index_fill_(0, positions, 0)
    return scaled


class _SparseDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values: torch.Tensor, p: float) -> torch.Tensor:
        positions = dropped_positions(values.numel(), p)
        ctx.save_for_backward(positions)
        ctx.p = p
        return _kept_and_scaled(values, positions, p)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (positions,) = ctx.saved_tensors
        return _kept_and_scaled(grad, positions, ctx.p), None


def sparse_dropout(values: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """`torch.nn.functional.dropout(values, p, training)`, its mask drawn as `dropped_positions`."""
    if not training or p == 0.0:
        return values
    if not 0.0 < p < 1.0:  # p = 1 drops everything, as PyTorch does; outside [0, 1] PyTorch's own error
        return torch.nn.functional.dropout(values, p, training)
    return _SparseDropout.apply(values, p)


def _sparse_forward(module: torch.nn.Dropout, values: torch.Tensor) -> torch.Tensor:
    return sparse_dropout(values, module.p, module.training)


def draw_dropout_sparsely(model: torch.nn.Module, enabled: bool = True) -> torch.nn.Module:
    """Every `nn.Dropout` of `model` draws its mask as `sparse_dropout` (`set_forward`: the weights and what is
    saved do not change). `enabled=False` takes the setting off again, and only this setting."""
    set_forward((m for m in model.modules() if type(m) is torch.nn.Dropout), _sparse_forward, enabled)
    return model
