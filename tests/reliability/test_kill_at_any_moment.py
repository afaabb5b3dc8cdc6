"""Resume survives a kill at any moment, and a run's results change together.

A checkpoint is written file by file (weights, optimizer, scheduler, RNG state, trainer_state.json last) straight
into `checkpoint-N/`; a kill or a full disk leaves it part-written. The moments inside a checkpoint write are made
directly from a whole checkpoint (every file in turn missing or cut short, 14 moments); two real SIGKILLs of a
`cookbook train` process (while writing a checkpoint, and between the model's rename-in steps) and the mid-epoch
interruption of `test_resume_and_seed.py` cover the moments outside, and each is followed by a `--resume`."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import RECIPE, Interrupt, run_in_process

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import CookbookError
from finetune_cookbook.core.records import read_metrics, recorded_runs
from finetune_cookbook.core.saving import point_to_model, save_atomically
from finetune_cookbook.core.training import CHECKPOINTS, checkpoint_problem, checkpoint_to_resume
from finetune_cookbook.recipe import RESULT_FILES, train

pytestmark = pytest.mark.reliability

WRITE_ORDER = ["model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"]


@pytest.fixture(scope="module")
def whole_checkpoint(tmp_path_factory, tiny_model_dir):
    """A real checkpoint of the tiny model, from a run interrupted after its first epoch."""
    from conftest import write_config

    folder = tmp_path_factory.mktemp("cut")
    config = load_config(write_config(folder, {
        "data": {"sample_size": 90}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 2, "batch_size": 16, "early_stopping_patience": None}}))
    with pytest.raises(KeyboardInterrupt):
        train(config, folder / "run", callbacks=[Interrupt(5)])
    (checkpoint,) = (folder / "run" / CHECKPOINTS).glob("checkpoint-*")
    assert checkpoint_problem(checkpoint) is None
    return checkpoint


MOMENTS = [(name, cut) for name in WRITE_ORDER for cut in ("missing", "half")] + [
    ("trainer_state.json", "empty"), ("model.safetensors", "empty"), ("everything", "missing"),
    ("trainer_state.json", "no global_step")]


@pytest.mark.parametrize("file,cut", MOMENTS, ids=[f"{f}-{c}" for f, c in MOMENTS])
def test_a_half_written_checkpoint_is_skipped_and_the_whole_one_resumed(whole_checkpoint, tmp_path, capsys, file, cut):
    folder = tmp_path / CHECKPOINTS
    older = folder / whole_checkpoint.name
    shutil.copytree(whole_checkpoint, older)
    newer = folder / "checkpoint-99"
    shutil.copytree(whole_checkpoint, newer)
    later = WRITE_ORDER[WRITE_ORDER.index(file) + 1:] if file in WRITE_ORDER else WRITE_ORDER
    for name in later:  # the files the Trainer writes after this one were never written
        (newer / name).unlink()
    if file in WRITE_ORDER:
        path = newer / file
        if cut == "missing":
            path.unlink()
        elif cut == "half":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif cut == "empty":
            path.write_bytes(b"")
        else:
            path.write_text(json.dumps({"log_history": []}))
    assert checkpoint_problem(newer) is not None
    assert checkpoint_to_resume(tmp_path, resume=True) == str(older)
    err = capsys.readouterr().err
    assert f"{newer} was left half-written (" in err and f"resuming from {older.name}" in err
    assert not newer.exists()  # removed, so the Trainer does not write step 99 into it, or count it


def test_a_run_stopped_before_its_first_whole_checkpoint_starts_over_with_a_note(tmp_path, capsys):
    broken = tmp_path / CHECKPOINTS / "checkpoint-4"
    broken.mkdir(parents=True)
    (broken / "model.safetensors").write_bytes(b"\0" * 10)
    assert checkpoint_to_resume(tmp_path, resume=True) is None
    err = capsys.readouterr().err
    assert "holds no whole checkpoint to resume from (checkpoint-4: no trainer_state.json; removed)" in err
    assert "so the run starts from the beginning" in err and not broken.exists()


def test_resume_of_a_finished_run_with_only_half_written_checkpoints_names_them(tmp_path):
    (tmp_path / "model").mkdir()
    broken = tmp_path / CHECKPOINTS / "checkpoint-4"
    broken.mkdir(parents=True)
    (broken / "model.safetensors").write_bytes(b"\0" * 10)
    with pytest.raises(CookbookError, match=r"no whole checkpoint to resume from \(checkpoint-4: no trainer_state"
                                            r"\.json\)\. Run without --resume"):
        checkpoint_to_resume(tmp_path, resume=True)


KILLER = """
import os, signal, sys
from pathlib import Path
from transformers import Trainer
moment = sys.argv[2]
if moment == "checkpoint":  # the second checkpoint: its weights are written, the rest never is
    original, saves = Trainer._save_optimizer_and_scheduler, []
    def save(self, output_dir):
        saves.append(output_dir)
        if len(saves) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, output_dir)
    Trainer._save_optimizer_and_scheduler = save
else:  # the model folder is written whole, and killed as it is renamed in
    renamed = Path.rename
    def rename(self, target):
        if Path(target).name == "model":
            os.kill(os.getpid(), signal.SIGKILL)
        return renamed(self, target)
    Path.rename = rename
from finetune_cookbook.cli import main
sys.exit(main(["train", sys.argv[1]]))
"""


@pytest.mark.parametrize("moment", ["checkpoint", "model swap"])
def test_a_real_kill_then_resume(tmp_path, tiny_model_dir, moment):
    from conftest import write_config

    config = write_config(tmp_path, {
        "data": {"sample_size": 90}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 3, "batch_size": 16, "early_stopping_patience": None, "save_total_limit": 3}})
    run = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLER, str(config), moment], capture_output=True, text=True,
                            timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (run / ".cookbook.lock").exists()  # the killed run's lock is left behind
    assert not (run / "model").exists()
    for name in ("metrics.json", "config.yaml"):  # no result of this run shows yet, nor of another
        assert not (run / name).exists()

    out, err = run_in_process("train", config, "--resume")
    assert "is no longer running" in err  # its lock was taken over
    if moment == "checkpoint":
        said = re.search(r"checkpoint-(\d+) was left half-written \(no trainer_state\.json\).*resuming from "
                         r"checkpoint-(\d+)", err)
        assert said and int(said[2]) < int(said[1]), err[-2000:]  # the second epoch's, skipped for the first's
    assert not (run / "model.partial").exists() and not (run / ".cookbook.lock").exists()
    for name in ("metrics.json", "config.yaml"):
        assert (run / name).resolve() == (run / "model" / name).resolve()  # the run folder shows the model's own
    assert read_metrics(run)["approaches"]["fine_tuned"]["accuracy"] >= 0
    assert recorded_runs(tmp_path) == [run]


def _model(folder, marker: str, extra_files=None):
    return save_atomically(folder, lambda to: (to.mkdir(), (to / "weights").write_text(marker)), {"task": "x"},
                           extra_files=extra_files)


def test_results_change_with_the_model_in_one_swap(tmp_path):
    # a run folder of older code: metrics.json and config.yaml beside the model, not in it
    _model(tmp_path, "old")
    (tmp_path / "metrics.json").write_text(json.dumps({"name": "old", "approaches": {}}))
    (tmp_path / "config.yaml").write_text("old: true\n")
    assert read_metrics(tmp_path)["name"] == "old"  # still readable as it is

    point_to_model(tmp_path, RESULT_FILES)  # what a new run does just before its model swaps in
    # killed here: the old results moved in with the old model, and the run folder still shows them
    assert read_metrics(tmp_path)["name"] == "old" and (tmp_path / "model" / "config.yaml").read_text() == "old: true\n"
    assert not (tmp_path / "comparison.md").exists()  # a link to nothing reads as no result, never a wrong one

    _model(tmp_path, "new", {"metrics.json": json.dumps({"name": "new", "approaches": {}}).encode(),
                             "config.yaml": b"new: true\n"})
    assert read_metrics(tmp_path)["name"] == "new" and (tmp_path / "config.yaml").read_text() == "new: true\n"
    assert (tmp_path / "model" / "weights").read_text() == "new"
    assert os.readlink(tmp_path / "metrics.json") == "model/metrics.json"


class SearchedTask:
    """A task whose search ends at once with `trials`: what `cookbook tune` then writes is under test."""

    def __init__(self, learning_rate: float):
        import pandas as pd

        from finetune_cookbook.core.tuning import SearchResult

        self.result = SearchResult(pd.DataFrame({"trial": [0], "learning_rate": [learning_rate]}),
                                   {"learning_rate": learning_rate}, 0.5, "accuracy")

    def load_data(self, config):
        return None

    def tune(self, data, config, output_dir):
        return self.result


def test_tune_s_two_result_files_are_never_half_written_or_mixed(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    import yaml

    from finetune_cookbook.recipe import _tune

    config = load_config(RECIPE)
    search = tmp_path / "search"

    def searched() -> tuple[float | None, float | None]:
        """The learning rate trials.csv and best_training.yaml hold (None: no such file), and no .partial left."""
        assert not list(search.glob("*.partial"))
        trials = search / "trials.csv"
        best = search / "best_training.yaml"
        return (float(trials.read_text().splitlines()[1].split(",")[1]) if trials.exists() else None,
                yaml.safe_load(best.read_text())["training"]["learning_rate"] if best.exists() else None)

    _tune(SearchedTask(0.1), config, tmp_path)
    assert searched() == (0.1, 0.1)

    written = Path.write_bytes

    def full_disk_at_the_second_file(self, content):
        if self.name == "best_training.yaml.partial":
            written(self, content[:10])
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return written(self, content)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_bytes", full_disk_at_the_second_file)
        with pytest.raises(OSError):
            _tune(SearchedTask(0.2), config, tmp_path)
    assert searched() == (0.1, 0.1)  # the previous search, whole

    renamed = os.replace

    def killed_at_the_second_rename(source, target):
        if str(target).endswith("best_training.yaml"):
            raise KeyboardInterrupt
        return renamed(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", killed_at_the_second_rename)
        with pytest.raises(KeyboardInterrupt):
            _tune(SearchedTask(0.3), config, tmp_path)
    (search / "best_training.yaml.partial").unlink()  # what a real kill leaves; the next run writes over it
    assert searched() == (0.3, None)  # the new trials, and no best settings of another search beside them

    _tune(SearchedTask(0.4), config, tmp_path)
    assert searched() == (0.4, 0.4)
