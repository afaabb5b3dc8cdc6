"""Saving a model folder all or nothing, and finding a saved one again, for every task.

A model folder holds the weights (safetensors), whatever the task needs to rebuild and feed the model, a model
card (`README.md`) and `cookbook.json`: the task that made it and how to read new data the same way.
"""

from __future__ import annotations

import json
import os
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


def write_files_together(files: dict[str | Path, bytes]) -> None:
    """Writes each file (path -> content) beside its place, then renames them in: no file is ever half-written.
    The previous files after the first are removed before the first is renamed in, so a kill between the renames
    leaves some of the new files and none of the old beside them, never a mixture of two results. A failed write
    (a full disk) removes what it wrote and leaves the previous files as they were."""
    paths = [Path(path) for path in files]
    partials = [path.with_name(path.name + ".partial") for path in paths]
    try:
        for partial, content in zip(partials, files.values()):
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(content)
    except BaseException:
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise
    for path in paths[1:]:
        path.unlink(missing_ok=True)
    for path, partial in zip(paths, partials):
        os.replace(partial, path)


def point_to_model(output_dir: str | Path, names: tuple[str, ...], name: str = MODEL_DIR) -> None:
    """Makes each of `names` in the run folder a link to the same file inside `<output_dir>/<name>`.

    A run's results (metrics.json, config.yaml, comparison.md ...) are saved inside the model folder, so they
    change with the model in its one swap; the run folder shows them through these links, made before the swap.
    Until the swap a link may point at nothing (the model before held no such file: a run saved by older code),
    which reads as no result, never as the previous run's result beside the new model. A link, not a copy: a
    copy written after the swap could be missed by a kill, and leave the new model beside the old metrics."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for file_name in names:
        link, target = output_dir / file_name, f"{name}/{file_name}"
        if link.is_symlink() and os.readlink(link) == target:
            continue
        kept = output_dir / name / file_name
        if link.is_file() and not link.is_symlink() and kept.parent.is_dir() and not kept.exists():
            os.replace(link, kept)  # a run folder of older code: its result moves in with the model it describes
        staged = link.with_name(f".{file_name}.link-{os.getpid()}")
        staged.unlink(missing_ok=True)
        staged.symlink_to(target)
        os.replace(staged, link)  # one rename: a reader sees the old file or the link, never neither


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
