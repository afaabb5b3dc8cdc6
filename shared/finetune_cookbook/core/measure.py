"""Wall time and peak memory of a block of work, for comparison tables and the benchmark."""

from __future__ import annotations

import contextlib
import platform
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_memory_mb: float = 0.0


_announce_to = []  # where named steps are announced: set by `announced_steps` (`cookbook bench`), else silent


@contextlib.contextmanager
def announced_steps(stream=None):
    """While open, each `measure(step)` prints its step as it starts and how long it took: a benchmark's hour
    of approaches says which one is running. Notebooks and tests leave it closed, so they print nothing more."""
    _announce_to.append(stream or sys.stdout)
    try:
        yield
    finally:
        _announce_to.pop()


def _say(line: str) -> None:
    if _announce_to:
        print(line, file=_announce_to[-1], flush=True)


class measure:
    """Context manager: `with measure() as m: ...` then `m.seconds`, `m.peak_memory_mb`.

    Peak memory is the process's resident set size, sampled every `interval` seconds while the block runs
    (plus the CUDA allocator's peak where a GPU is used), so it includes what was loaded before the block.
    `step` names the approach the block trains, for `announced_steps`.
    """

    def __init__(self, step: str | None = None, interval: float = 0.05):
        self.step = step
        self.interval = interval
        self.result = Measurement()
        self._stop = threading.Event()
        self._process = psutil.Process()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __enter__(self) -> Measurement:
        self._peak = self._process.memory_info().rss
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if self.step:
            _say(f"{self.step} ...")
        self._start = time.perf_counter()
        return self.result

    def __exit__(self, *exc) -> None:
        self.result.seconds = time.perf_counter() - self._start
        self._stop.set()
        self._thread.join()
        peak = max(self._peak, self._process.memory_info().rss)
        if torch.cuda.is_available():
            peak += torch.cuda.max_memory_allocated()
        self.result.peak_memory_mb = peak / 2**20
        if self.step:
            _say(f"{self.step}: {self.result.seconds:.1f} s" + (" (stopped)" if exc[0] else ""))


def bf16_support(flags: set[str]) -> str | None:
    """What a CPU multiplies bf16 with, from its /proc/cpuinfo flags: training speed on a CPU hangs on it."""
    if "amx_bf16" in flags:
        return "AMX"
    if "avx512_bf16" in flags:
        return "AVX-512 bf16"
    if "avx512f" in flags:
        return "AVX-512, no bf16"
    return "AVX2, no bf16" if "avx2" in flags else None


def has_native_bf16(flags: set[str]) -> bool:
    """Whether bf16 autocast runs on bf16 instructions rather than being emulated (slower than fp32)."""
    return bf16_support(flags) in ("AMX", "AVX-512 bf16")


def cpu_model_and_flags(cpuinfo: str | None = None) -> tuple[str | None, set[str]]:
    """The CPU's model name and instruction-set flags, from /proc/cpuinfo (None and no flags where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None, set()
    model, flags = None, set()
    for line in cpuinfo.splitlines():
        if line.startswith("model name") and model is None:
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
    return model, flags


def machine_description(cpuinfo: str | None = None) -> str:
    """One line naming the hardware and software a number was measured on."""
    model, flags = cpu_model_and_flags(cpuinfo)
    cpu = model or platform.processor() or platform.machine()
    units = bf16_support(flags)
    cpu = f"{cpu} with {units}" if units else cpu
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{cpu}, {psutil.cpu_count(logical=True)} cores, {memory:.0f} GiB{gpu}; "
        f"Python {platform.python_version()}, torch {torch.__version__}"
    )
