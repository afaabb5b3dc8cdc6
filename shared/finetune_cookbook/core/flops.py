"""How much arithmetic a training run did, and how fast this machine can do it at best.

`TrainingWork` counts a Trainer run's floating-point operations; `matmul_peak` measures the machine's
matrix-multiply rate in one precision. Their ratio (`peak_fraction`) says how far the run is from what the
hardware allows, which samples per second alone cannot.
"""

from __future__ import annotations

import time
from collections import Counter

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count


def _cpu_attention(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# The CPU's fused attention kernel is missing from torch's FLOP formulas; it does the work the GPU kernels do.
FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention}

# How `TrainingWork` counts, in words, for the records that report its numbers.
FLOPS_COUNTED = ("torch.utils.flop_counter on one forward pass per distinct batch shape the run fed the model "
                 "(matrix multiplies and convolutions; element-wise work not counted), times the batches of that "
                 "shape; a training batch counts 3 times (the backward pass does twice the forward's work), an "
                 "evaluation batch once")
BACKWARD_FACTOR = 3


def _shape_of(value):
    return (tuple(value.shape), value.dtype) if isinstance(value, torch.Tensor) else None


class TrainingWork:
    """While open, records the tensor shapes of every forward of `model` (training and evaluation batches apart);
    `flops()` then counts them.

    Counting happens afterwards, outside the timed training, once per distinct shape: dynamic padding makes
    a hundred-odd shapes in an epoch, each counted exactly rather than estimated from a formula.
    """

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.batches: Counter = Counter()

    def _record(self, module, args, kwargs):
        shapes = tuple(sorted((name, _shape_of(v)) for name, v in kwargs.items() if _shape_of(v)))
        training = module.training and torch.is_grad_enabled()
        self.batches[(training, tuple(_shape_of(a) for a in args if _shape_of(a)), shapes)] += 1

    def __enter__(self) -> TrainingWork:
        self._hook = self.model.register_forward_pre_hook(self._record, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self._hook.remove()

    def flops(self, model: torch.nn.Module | None = None) -> float:
        """FLOPs of the recorded batches on `model` (the trained one by default; the same architecture)."""
        model = model or self.model
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        total = 0.0
        try:
            for (training, args, kwargs), count in self.batches.items():
                make = lambda shape, dtype: torch.zeros(shape, dtype=dtype, device=device)  # noqa: E731
                with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=FORMULAS) as counter:
                    model(*(make(*a) for a in args), **{name: make(*a) for name, a in kwargs})
                total += counter.get_total_flops() * count * (BACKWARD_FACTOR if training else 1)
        finally:
            model.train(was_training)
        return float(total)


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def matmul_peak(precision: str = "fp32", sizes: tuple[int, ...] = (1024, 2048, 4096), seconds: float = 1.0) -> float:
    """The best FLOP/s of square matrix multiplies in `precision` on the training device, over a few sizes.

    Each size is warmed up, then repeated for about `seconds`. This is the rate a training step's largest
    kernels could reach at best; it uses every thread torch uses.
    """
    dtype = DTYPES[precision]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        torch.mm(a, b)  # warm-up: kernels chosen, memory touched
        repeats, start = 0, time.perf_counter()
        while True:
            torch.mm(a, b)
            repeats += 1
            if device == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = max(best, 2 * n**3 * repeats / elapsed)
    return best
