"""The recipe command runs unchanged under torchrun (two CPU processes, gloo), and one process writes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.recipe


def test_train_under_torchrun_with_two_processes(tmp_path, tiny_config):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        torchrun = shutil.which("torchrun")
    done = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "-m", "finetune_cookbook", "train", str(tiny_config)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test: accuracy") == 1
    run = tmp_path / "run"
    record = json.loads((run / "metrics.json").read_text())
    assert 0 <= record["approaches"]["fine_tuned"]["macro_f1"] <= 1
    assert (run / "model" / "model.safetensors").is_file()
    assert not list(run.glob("*.partial")) and not list(run.glob("*.previous"))
