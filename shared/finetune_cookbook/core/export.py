"""ONNX export for every task: a torch model to ONNX with dynamic batch (and sequence) dimensions, checked, its
parity with PyTorch measured at another batch size, and int8 dynamic quantisation by ONNX Runtime.

`torch.onnx.export(..., dynamo=True)`: optimum-onnx does not install beside transformers 5 and would not know the
package's own model classes. A dimension is `Dim.DYNAMIC`: a named `Dim` let the exporter fix the FT-Transformer's
batch at the traced size, which is why parity is always measured at a batch size other than the traced one.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from finetune_cookbook.core.errors import CookbookError
from finetune_cookbook.core.metrics import compute_classification_metrics

PARITY_TOLERANCE = 1e-4  # the largest difference in logits or scores an fp32 export may show


class ExportError(CookbookError):
    """An export that cannot be written or does not match the model it came from."""


class FirstOutput(torch.nn.Module):
    """A model whose forward returns an output object (`.logits`) or a dict, reduced to the one tensor ONNX
    returns; the positional inputs are passed on under `input_names`, and `output` names the field."""

    def __init__(self, model: torch.nn.Module, input_names: list[str], output: str = "logits"):
        super().__init__()
        self.model = model.float().cpu().eval()
        self.input_names = list(input_names)
        self.output = output

    def forward(self, *inputs):
        result = self.model(**dict(zip(self.input_names, inputs)))
        return result[self.output] if isinstance(result, dict) else getattr(result, self.output)


def export_onnx(model: torch.nn.Module, inputs: dict[str, torch.Tensor], path: str | Path,
                dynamic: dict[str, tuple[int, ...]], output: str = "logits", strict: bool = False) -> Path:
    """Writes `model` (in eval mode, fp32, on the CPU) as ONNX to `path`, traced on `inputs` (name -> tensor, in
    the order forward takes them); `dynamic` names each input's dynamic dimensions (batch 0, sequence 1).
    `strict` captures the graph with TorchDynamo straight away, for a model whose forward reads its batch size
    as a Python number: the non-strict capture the exporter tries first fixes that size and fails, after a
    few seconds' work. The file is checked with `onnx.checker` before it is kept."""
    import onnx

    path = Path(path)
    wrapped = FirstOutput(model, list(inputs), output)
    # forward takes *inputs: their shapes go under that one name
    shapes = {"inputs": tuple({axis: torch.export.Dim.DYNAMIC for axis in dynamic.get(name, ())} for name in inputs)}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        captured = (torch.export.export(wrapped, tuple(inputs.values()), dynamic_shapes=shapes, strict=True)
                    if strict else wrapped)
        program = torch.onnx.export(captured, tuple(inputs.values()), dynamo=True, input_names=list(inputs),
                                    output_names=[output], dynamic_shapes=None if strict else shapes, verbose=False)
    if program is None:
        raise ExportError(f"{path}: torch.onnx.export returned nothing to save.")
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    onnx.checker.check_model(str(path), full_check=True)
    return path


def session_threads(threads: int | None) -> int | None:
    """`threads`, else OMP_NUM_THREADS where it is set: PyTorch follows it and ONNX Runtime does not, and several
    processes on one machine (service workers, test workers) that each start a spinning thread per core slow
    each other down. None: ONNX Runtime's default, a thread per core."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return threads or (int(value) if value.isdigit() and int(value) > 0 else None)


def onnx_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime session on the CPU (the provider every machine has)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    threads = session_threads(threads)
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def torch_outputs(model: torch.nn.Module, inputs: dict[str, np.ndarray], output: str = "logits") -> np.ndarray:
    wrapped = FirstOutput(model, list(inputs), output)
    with torch.no_grad():
        return wrapped(*(torch.from_numpy(np.ascontiguousarray(v)) for v in inputs.values())).numpy()


def largest_difference(model: torch.nn.Module, path: str | Path, inputs: dict[str, np.ndarray],
                       output: str = "logits") -> float:
    """The largest absolute difference between PyTorch's and ONNX Runtime's outputs on `inputs`."""
    ours = onnx_session(path).run(None, {name: np.ascontiguousarray(v) for name, v in inputs.items()})[0]
    return float(np.abs(ours - torch_outputs(model, inputs, output)).max())


def check_parity(difference: float, what: str, tolerance: float = PARITY_TOLERANCE) -> None:
    """Stops an export whose outputs differ from PyTorch's by more than `tolerance`."""
    if not np.isfinite(difference) or difference > tolerance:
        raise ExportError(f"{what}: ONNX Runtime's outputs differ from PyTorch's by up to {difference:.3g}, more "
                          f"than the {tolerance:g} an export may; the export was not kept.")


def quantize_int8(path: str | Path, target: str | Path, per_channel: bool = True) -> Path:
    """Dynamic int8 quantisation of the MatMul and Gemm weights (ONNX Runtime's `quantize_dynamic`); activations
    stay float and are quantised on the fly. Convolutions are left as they are."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process first is for static quantisation
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(path), str(target), weight_type=QuantType.QInt8, per_channel=per_channel)
    finally:
        root.setLevel(level)
    return Path(target)


def megabytes(path: str | Path) -> float:
    """A file's size (with any external-data file beside it) in MB."""
    path = Path(path)
    extra = path.with_name(path.name + ".data")
    return round((path.stat().st_size + (extra.stat().st_size if extra.is_file() else 0)) / 1e6, 3)


def milliseconds_per_call(call, repeats: int = 20, warmup: int = 3) -> dict[str, float]:
    """Median and 95th-percentile wall time of `call()` in milliseconds, after `warmup` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}


def speed(one, batch, unit: str, batch_size: int = 32) -> dict:
    """Latency of `one()` (a single input) and throughput of `batch()` (`batch_size` inputs), as `export.json`
    records them for every backend: `batch_1` percentiles and `batch_32_<unit>_per_second`."""
    latency = milliseconds_per_call(one, repeats=20)
    per_batch = milliseconds_per_call(batch, repeats=5, warmup=1)
    per_second = round(batch_size / (per_batch["p50_ms"] / 1000), 1)
    return {"batch_1": latency, f"batch_{batch_size}_{unit}_per_second": per_second}


def quality_on_test(probabilities: np.ndarray, labels: list[str], truth: list[str] | None,
                 metrics: tuple[str, ...] = ("accuracy", "macro_f1")) -> dict:
    """The package's own test metrics (`core.metrics`) of a backend's probabilities, where the labels are known."""
    if not truth:
        return {}
    index = {label: i for i, label in enumerate(labels)}
    scores = compute_classification_metrics([index[label] for label in truth], probabilities.argmax(1), labels)
    return {**{name: float(scores[name]) for name in metrics}, "scored_on": len(truth)}
