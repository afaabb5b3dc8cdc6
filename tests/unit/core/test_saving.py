"""Saving a model is all or nothing, including after a crash in an earlier save."""

from pathlib import Path

import pytest
from conftest import RECIPE

from finetune_cookbook.config import load_config
from finetune_cookbook.tasks.text_classification import save_model


class WritingTrainer:
    def save_model(self, path):
        Path(path).mkdir(parents=True)
        (Path(path) / "model.safetensors").write_text("new")


class CrashingTrainer:
    def save_model(self, path):
        Path(path).mkdir(parents=True)
        raise OSError("disk full")


def _old_model(folder: Path) -> None:
    folder.mkdir()
    (folder / "model.safetensors").write_text("old")


def test_a_new_save_replaces_the_old_model_whole(tmp_path):
    _old_model(tmp_path / "model")
    final = save_model(WritingTrainer(), load_config(RECIPE), tmp_path, "card")
    assert (final / "model.safetensors").read_text() == "new"
    assert (final / "README.md").read_text() == "card"
    assert (final / "cookbook.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_crashed_save_keeps_the_old_model(tmp_path):
    _old_model(tmp_path / "model")
    with pytest.raises(OSError, match="disk full"):
        save_model(CrashingTrainer(), load_config(RECIPE), tmp_path, "card")
    assert (tmp_path / "model" / "model.safetensors").read_text() == "old"


def test_a_crash_between_the_renames_is_recovered(tmp_path):
    _old_model(tmp_path / "model.previous")  # the old model was moved aside, the new one never arrived
    (tmp_path / "model.partial").mkdir()
    with pytest.raises(OSError, match="disk full"):
        save_model(CrashingTrainer(), load_config(RECIPE), tmp_path, "card")
    assert (tmp_path / "model" / "model.safetensors").read_text() == "old"
