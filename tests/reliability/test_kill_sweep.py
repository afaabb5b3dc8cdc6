"""Resume after a kill at 20 evenly spaced moments of a real run: the issue's target, measured, not simulated.

A tiny `cookbook train` (the 2-layer BERT, 3 epochs, a checkpoint each) is timed from the moment it starts to
its exit (again each time it runs whole, as the machine's load changes); then, for each i of 1..20, the same run is killed with SIGKILL at i/21 of that time (reading data,
training, writing a checkpoint, evaluating, saving the model or swapping it in: wherever the moment falls) and
run again with --resume. Each must end with a whole model whose weights and test metrics are those of the run
never interrupted (the same seed gives the same model), and nothing half-written beside it.

The runs are forked from a server that has imported PyTorch once, so each starts in a fraction of a second and
the moments fall on the run's own work, not on the 10 s of imports. CI runs 2 of the moments; all 20 run with
`pytest tests/reliability/test_kill_sweep.py -m kill_sweep -s` (-s prints where each kill fell).
"""

import contextlib
import multiprocessing
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import pytest
from conftest import write_config

MOMENTS = 20
IN_CI = (8, 17)  # mid-training (a checkpoint or two written), and near the end (the last evaluation, the save)


def _cookbook(args: list[str], log: str) -> None:
    """A forked child: `cookbook ARGS` with its output in `log`; exits with the command's status."""
    with open(log, "w") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        from finetune_cookbook.cli import main

        code = main(args)
    os._exit(code)


@pytest.fixture(scope="module")
def forks():
    """Processes forked from one that imported PyTorch, transformers and the cookbook once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "transformers", "finetune_cookbook.cli", "finetune_cookbook.recipe",
                                    "finetune_cookbook.tasks.text_classification", __name__])
    return context


def _start(forks, args: list[str], log: Path):
    process = forks.Process(target=_cookbook, args=(args, str(log)))
    process.start()
    return process


def _run(forks, args: list[str], log: Path) -> tuple[int, str]:
    process = _start(forks, args, log)
    process.join(600)
    return process.exitcode, log.read_text()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_model_dir, forks):
    """The run never interrupted: its config, how long it takes, its weights and its test metrics."""
    from safetensors.torch import load_file

    from finetune_cookbook.core.records import read_metrics

    folder = tmp_path_factory.mktemp("sweep")
    config = write_config(folder, {
        "data": {"sample_size": 90}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 3, "batch_size": 16, "early_stopping_patience": None, "save_total_limit": 3}})
    _run(forks, ["train", str(config), "--output-dir", str(folder / "warm")], folder / "warm.log")  # caches filled
    started = time.monotonic()
    code, log = _run(forks, ["train", str(config), "--output-dir", str(folder / "whole")], folder / "whole.log")
    seconds = time.monotonic() - started
    assert code == 0, log[-2000:]
    print(f"the uninterrupted run took {seconds:.1f} s", file=sys.stderr)
    return {"config": config, "seconds": [seconds], "weights": load_file(folder / "whole" / "model" / "model.safetensors"),
            "metrics": read_metrics(folder / "whole")["approaches"]["fine_tuned"]}


def _marks(moment: int):
    """Every moment is in the kill_sweep; those not run in CI are also `by_hand` (deselected unless -m kill_sweep)."""
    return [pytest.mark.kill_sweep] + ([] if moment in IN_CI else [pytest.mark.by_hand])


@pytest.mark.reliability
@pytest.mark.parametrize("moment", [pytest.param(i, marks=_marks(i)) for i in range(1, MOMENTS + 1)])
def test_resume_after_a_kill_at_an_evenly_spaced_moment(uninterrupted, forks, tmp_path, moment):
    import torch
    from safetensors.torch import load_file

    from finetune_cookbook.core.records import read_metrics

    run = tmp_path / "run"
    args = ["train", str(uninterrupted["config"]), "--output-dir", str(run)]
    # The run's length: the median of every whole run timed so far (this one, and each run afresh after an early
    # kill), so a machine busier now than when the first was timed still spreads the moments over the whole run.
    at = statistics.median(uninterrupted["seconds"]) * moment / (MOMENTS + 1)
    process = _start(forks, args, tmp_path / "killed.log")
    time.sleep(at)
    if process.is_alive():
        os.kill(process.pid, signal.SIGKILL)
    process.join(60)
    print(f"moment {moment}: killed at {at:.2f} s (exit {process.exitcode}); left "
          f"{sorted(p.name for p in run.iterdir()) if run.exists() else 'nothing'}", file=sys.stderr)

    started = time.monotonic()
    code, log = _run(forks, [*args, "--resume"], tmp_path / "resumed.log")
    resume_seconds = time.monotonic() - started
    if "so the run starts from the beginning" in log:  # killed before a whole checkpoint: it ran whole, timed
        print(f"moment {moment}: --resume found no whole checkpoint and ran from the beginning", file=sys.stderr)
        uninterrupted["seconds"].append(resume_seconds)
    else:
        resumed = [line for line in log.splitlines() if "resuming from" in line or "took over the lock" in line]
        print(f"moment {moment}: resumed: {resumed}", file=sys.stderr)
    assert code == 0, log[-3000:]
    assert "Traceback" not in log
    assert {p.name for p in run.iterdir()} <= {"model", "checkpoints", "metrics.json", "config.yaml", "comparison.md",
                                             "comparison.json"}, sorted(p.name for p in run.iterdir())
    for name, tensor in uninterrupted["weights"].items():
        torch.testing.assert_close(load_file(run / "model" / "model.safetensors")[name], tensor, atol=1e-6, rtol=0)
    assert read_metrics(run)["approaches"]["fine_tuned"] == pytest.approx(uninterrupted["metrics"], abs=1e-6)
    assert (run / "metrics.json").resolve() == (run / "model" / "metrics.json").resolve()
