"""Saving a model folder all or nothing, and finding a saved one again, for every task.

A model folder holds the weights (safetensors), whatever the task needs to rebuild and feed the model, a model
card (`README.md`) and `cookbook.json`: the task that made it and how to read new data the same way.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from finetune_cookbook.core.errors import ModelNotFoundError

MODEL_DIR = "model"
RECIPE_INFO = "cookbook.json"


def save_atomically(output_dir: str | Path, write: Callable[[Path], None], info: dict | None = None,
                    model_card: str | None = None, name: str = MODEL_DIR,
                    extra_files: dict[str, bytes] | None = None) -> Path:
    """Calls `write(folder)` on a scratch folder, adds `cookbook.json`, the model card and `extra_files` (file name
    -> bytes: what the commands keep beside any task's model) where given, then swaps it in as
    `<output_dir>/<name>`. A crash midway leaves the previous folder, never a half-written one."""
    final = Path(output_dir) / name
    partial = final.with_name(name + ".partial")
    previous = final.with_name(name + ".previous")
    if previous.is_dir() and not final.exists():  # a crash between the two renames below: restore the old model
        previous.rename(final)
    for leftover in (partial, previous):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        write(partial)
        if info is not None:
            (partial / RECIPE_INFO).write_text(json.dumps(info, indent=2))
        if model_card is not None:
            (partial / "README.md").write_text(model_card)
        for file_name, content in (extra_files or {}).items():
            (partial / file_name).write_bytes(content)
    except BaseException:  # a failed check, a full disk, Ctrl-C: no half-written folder is left behind
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if final.exists():
        final.rename(previous)
    partial.rename(final)
    shutil.rmtree(previous, ignore_errors=True)
    return final


def model_folder(path: str | Path) -> Path:
    """Accepts a run's output folder or the model folder inside it."""
    path = Path(path)
    for folder in (path / MODEL_DIR, path):
        if (folder / RECIPE_INFO).is_file() or (folder / "config.json").is_file():
            return folder
    raise ModelNotFoundError(
        f"{path}: no saved model here (looked for {RECIPE_INFO} or config.json in it and in {path / MODEL_DIR}). "
        "Point at the output_dir of a finished `cookbook train` run."
    )


def read_model_info(model_dir: str | Path) -> dict:
    """The saved model's `cookbook.json`; models saved before it existed are text classifiers."""
    info_file = model_folder(model_dir) / RECIPE_INFO
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    info.setdefault("task", "text_classification")
    return info
