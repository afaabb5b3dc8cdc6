"""Faults end in one line: each config that cannot train is refused before anything is written, a cell over the
csv module's 128 KiB limit reads, and a full disk during training says so, leaves no model.partial/, and leaves
no checkpoint that stops the next run."""

import os
import subprocess

import pandas as pd
import pytest
import yaml
from conftest import ROOT, run_in_process, small_disk, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.tasks.text_classification import load_data

pytestmark = pytest.mark.reliability

BAD = [
    ({"training": {"epochs": -3}}, "training.epochs"),
    ({"training": {"epochs": 0}}, "training.epochs"),
    ({"training": {"batch_size": 0}}, "training.batch_size"),
    ({"training": {"learning_rate": -0.001}}, "training.learning_rate"),
    ({"training": {"epochs": float("nan")}}, "training.epochs"),
    ({"data": {"source": ["a.csv", "b.csv"]}}, "data.source"),
    ({"data": {"sample_size": -5}}, "data.sample_size"),  # kept a few rows a class and trained on them, silently
    ({"model": {"max_length": 0}}, "model.max_length"),
    ({"training": {"early_stopping_patience": -1}}, "training.early_stopping_patience"),
    ({"tune": {"n_trials": 0}}, "tune.n_trials"),
    ({"tune": {"learning_rate": [2e-4, 1e-5]}}, "tune.learning_rate"),
    ({"tune": {"batch_size": []}}, "tune.batch_size"),
    ({"output_dir": ""}, "output_dir is empty"),  # would write the model and checkpoints into the current folder
]


@pytest.mark.parametrize("edit,named", BAD, ids=[str(e) for e, _ in BAD])
def test_a_config_that_cannot_train_is_refused_in_one_line_writing_nothing(tmp_path, edit, named):
    config = write_config(tmp_path, edit)
    _, err = run_in_process("train", config, expect=2)
    assert len(err.strip().splitlines()) == 1 and named in err and str(config) in err
    assert not (tmp_path / "run").exists()


def test_an_output_dir_that_is_a_file_a_list_config_and_an_alias_bomb_are_refused_short(tmp_path):
    (tmp_path / "taken").write_text("a file")
    config = write_config(tmp_path, {"output_dir": str(tmp_path / "taken")})
    _, err = run_in_process("train", config, expect=2)
    assert "is a file; name a folder" in err
    config.write_text("- task: text_classification\n")
    _, err = run_in_process("train", config, expect=2)
    assert len(err.strip().splitlines()) == 1
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    raw = yaml.safe_load(write_config(tmp_path).read_text())
    text = bomb + yaml.safe_dump({**raw, "data": {**raw["data"], "label_mapping": {"1": "*d"}}})
    config.write_text(text.replace("'*d'", "*d"))
    _, err = run_in_process("train", config, expect=2)
    assert len(err) < 1000 and len(err.strip().splitlines()) == 1  # never the expanded lists


def test_a_cell_over_128_kib_reads(tmp_path):
    frame = pd.DataFrame({"review": [f"review {i} is fine" for i in range(60)], "stars": [str(1 + i % 5) for i in range(60)]})
    frame.loc[7, "review"] = "long " * 40_000  # 200 KB in one cell
    frame.to_csv(tmp_path / "reviews.csv", index=False)
    data = load_data(load_config(write_config(tmp_path, {"data": {"source": str(tmp_path / "reviews.csv")}})))
    assert sum(data.report.split_sizes.values()) == 60


@pytest.mark.skipif(os.geteuid() != 0, reason="a full disk is a 2 MB tmpfs, and mounting one needs root")
def test_a_full_disk_during_training_says_so_and_blocks_nothing(tmp_path, tiny_model_dir):
    with small_disk(tmp_path / "disk", "2m") as disk:
        config = write_config(tmp_path, {
            "data": {"sample_size": 90}, "model": {"name": str(tiny_model_dir), "max_length": 32},
            "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None},
            "output_dir": str(disk / "run")})  # the tiny model's weights alone are 4 MB
        _, err = run_in_process("train", config, expect=1)
        last = err.strip().splitlines()[-1]
        assert "error: the disk is full: cookbook train could not write to " in last, last  # after a progress bar
        assert str(disk) in last and "Traceback" not in err
        assert not (disk / "run" / "model.partial").exists() and not (disk / "run" / "model").exists()
        assert not (disk / "run" / ".cookbook.lock").exists()

        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
        out, err = run_in_process("train", config, "--resume")  # nothing whole to resume: starts over, said so
        assert "holds no whole checkpoint to resume from" in err and "starts from the beginning" in err and "test:" in out
        out, _ = run_in_process("train", config)  # and a fresh run is not stopped by what the full disk left
        assert (disk / "run" / "model" / "model.safetensors").is_file() and "test:" in out


FRAUD = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
TRANSACTIONS = ROOT / "data_samples" / "card_transactions" / "transactions.csv"


@pytest.mark.skipif(os.geteuid() != 0, reason="a full disk is a small tmpfs, and mounting one needs root")
def test_a_full_disk_during_pretraining_says_so_and_blocks_nothing(tmp_path):
    with small_disk(tmp_path / "disk", "450k") as disk:
        # one epoch's checkpoint (about 300 KB) fits; the pre-trained folder (another 310 KB) does not
        config = write_config(tmp_path, {"pretrain": {"epochs": 1, "d_token": 16, "n_heads": 2},
                                         "data": {"sample_size": 1500}, "output_dir": str(disk / "run")},
                              FRAUD, TRANSACTIONS)
        _, err = run_in_process("pretrain", config, expect=1)
        last = err.strip().splitlines()[-1]
        assert "error: the disk is full: cookbook pretrain could not write to " in last, last
        assert str(disk) in last and "Traceback" not in err
        leftovers = {path.name for path in (disk / "run").iterdir()}
        assert leftovers <= {"pretrained.work"}, leftovers  # no pretrained/, pretrained.partial/ or lock

        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)  # space freed
        out, _ = run_in_process("pretrain", config, "--resume")  # the whole checkpoint it kept finishes it
        assert f"pre-trained checkpoint: {disk / 'run' / 'pretrained'}" in out
        assert (disk / "run" / "pretrained" / "model.safetensors").is_file()
        assert {path.name for path in (disk / "run").iterdir()} == {"pretrained"}
