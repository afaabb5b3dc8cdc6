"""The recipe command runs unchanged under torchrun (two CPU processes, gloo), and one process writes."""

import json

import pytest
from conftest import torchrun_cookbook

pytestmark = pytest.mark.recipe


def test_train_under_torchrun_with_two_processes(tmp_path, tiny_config):
    done = torchrun_cookbook("train", tiny_config)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test: accuracy") == 1
    run = tmp_path / "run"
    record = json.loads((run / "metrics.json").read_text())
    assert 0 <= record["approaches"]["fine_tuned"]["macro_f1"] <= 1
    assert (run / "model" / "model.safetensors").is_file()
    assert not list(run.glob("*.partial")) and not list(run.glob("*.previous"))
