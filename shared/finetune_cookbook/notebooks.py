"""Running the cookbook's notebooks headless with papermill, as `make run` and the tests do."""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

RUN_RECORD = "run.json"  # beside the executed notebook: how long it took, where, in which precision


def notebook_paths(folder: str | Path = "notebooks") -> list[Path]:
    return sorted(Path(folder).glob("[0-9]*.ipynb"))


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


class CellProgress:
    """Prints which code cell of how many is running and the time so far, when each starts and then every
    `every` seconds while it runs, so a long cell (a search, a fine-tune) never leaves the screen silent.
    On a terminal the line is rewritten in place; in a log, each update is a line of its own."""

    def __init__(self, name: str, stream=None, every: float | None = None):
        self.name, self.stream = name, stream or sys.stderr
        self.live = self.stream.isatty()
        self.every = every if every is not None else (1.0 if self.live else 30.0)
        self.cell, self.cells, self.started = 0, 0, time.perf_counter()
        self._stop = threading.Event()

    def _show(self, end: str = "") -> None:
        where = f"cell {self.cell} of {self.cells}" if self.cell else "starting the kernel"
        line = f"{self.name}: {where}, {_clock(time.perf_counter() - self.started)} elapsed"
        self.stream.write(("\r\033[K" + line + end) if self.live else line + "\n")
        self.stream.flush()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self._show()

    def start(self, code_cells: int) -> None:
        self.cells, self.started = code_cells, time.perf_counter()
        threading.Thread(target=self._beat, daemon=True).start()

    def cell_started(self) -> None:
        self.cell += 1
        self._show()

    def finish(self) -> None:
        self._stop.set()
        done = f"{self.name}: {self.cell} of {self.cells} cells in {_clock(time.perf_counter() - self.started)}"
        self.stream.write(("\r\033[K" + done + "\n") if self.live else done + "\n")
        self.stream.flush()


def _engine():
    """papermill's nbclient engine, told by `run_notebook` whom to tell when a code cell starts."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, cookbook_progress=None, **kwargs):
            if cookbook_progress is not None:
                cookbook_progress.start(sum(c.cell_type == "code" for c in nb_man.nb.cells))
                cell_start = nb_man.cell_start

                def announced(cell, cell_index=None, **more):
                    if cell.cell_type == "code":
                        cookbook_progress.cell_started()
                    return cell_start(cell, cell_index, **more)

                nb_man.cell_start = announced
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            finally:
                if cookbook_progress is not None:
                    cookbook_progress.finish()

    papermill_engines.register("cookbook", ProgressEngine)
    return "cookbook"


def run_notebook(path: str | Path, output_root: str | Path, parameters: dict | None = None, kernel: str = "python3",
                 progress: CellProgress | None = None) -> Path:
    """Executes `path` into `<output_root>/<name>/<name>.ipynb`; the notebook records its metrics beside it, and
    this records the run's wall time, machine and precision in `run.json`.

    Returns the notebook's output folder. Papermill raises PapermillExecutionError naming the failing cell.
    """
    import papermill

    from finetune_cookbook.core.measure import machine_description
    from finetune_cookbook.core.records import write_json
    from finetune_cookbook.core.training import mixed_precision

    path = Path(path).resolve()
    output_dir = Path(output_root).resolve() / path.stem
    output_dir.mkdir(parents=True, exist_ok=True)
    parameters = {"OUTPUT_DIR": str(output_dir), **(parameters or {})}
    cpu_before = cpu_seconds()  # other work on the CPU slows a run: the record says how much there was
    started = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(output_dir / path.name),
        parameters=parameters,
        kernel_name=kernel,
        cwd=str(path.parent),
        progress_bar=False,
        engine_name=_engine(),
        cookbook_progress=progress,
    )
    seconds = time.perf_counter() - started
    machine, own = (after - before for after, before in zip(cpu_seconds(), cpu_before))
    write_json(output_dir / RUN_RECORD, {
        "notebook": path.stem,
        "smoke": bool(parameters.get("SMOKE", False)),
        "parameters": {k: v for k, v in parameters.items() if k != "OUTPUT_DIR"},
        "seconds": round(seconds, 1),
        "machine": machine_description(),
        "precision": mixed_precision("auto"),
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
        "how": "papermill, kernel start included, one notebook at a time",
        # the CPU time other processes took while it ran, as a share of every core's time over the run
        "others_cpu_share": round(max(0.0, machine - own) / (seconds * (os.cpu_count() or 1)), 3),
        "cores": os.cpu_count(),
    })
    return output_dir


def cpu_seconds() -> tuple[float, float]:
    """(the CPU time every process on the machine has spent since boot, the CPU time of this process and of its
    children that ended): the notebook's kernel is a child that ends with the run, so over a run the first grows
    by the second's growth plus whatever other work ran. Linux only: elsewhere the machine's time reads as none."""
    import resource

    own = sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    except (OSError, ValueError):
        return own, own
    # steal is time the host gave to other machines: other work too; guest time is already inside user
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), own


def quiet_output() -> None:
    """Keeps notebook output to what a learner reads: no per-call progress bars or load reports.

    The Trainer's own progress table still shows. Warnings and errors still print.
    """
    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found")  # before tqdm.auto is first imported

    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
