"""The notebooks' exercises: learner copies without the solutions, and the answers the solutions record.

Each exercise's solution is one or more cells tagged `solution`, right after the notebook's Exercises list. They
run with the notebook (the tests' SMOKE runs included), and each ends by calling `answer(...)`, which displays
what the exercise asked the learner to find and records it in `OUTPUT_DIR/exercises.json`, where a test reads it.

`cookbook exercises` (`make exercises`) writes the learner copies, without the solution cells and without
outputs, to `notebooks/learner/` (git-ignored), the way fastbook's `clean/` folder is made. A learner copy sits one
folder deeper than its notebook, so its relative paths (`"../recipes/..."`) gain a `../`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SOLUTION_TAG = "solution"
ANSWERS_FILE = "exercises.json"
LEARNER_FOLDER = "learner"
_EXERCISE_ITEM = re.compile(r"^(\d+)\. \*\*", re.MULTILINE)  # "1. **Is the lead real?** ..."
_UP_ONE = re.compile(r"""(["'])\.\./""")


def is_solution(cell: dict) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def exercise_numbers(notebook: dict) -> list[int]:
    """The numbers of the exercises listed in the notebook's `### Exercises` cell."""
    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.lstrip().startswith("### Exercises"):
            return [int(n) for n in _EXERCISE_ITEM.findall(text)]
    return []


def solved_numbers(notebook: dict) -> list[int]:
    """The exercises the solution cells answer, each once, in order: a solution's code calls `answer(output_dir, n, ...)`."""
    found = []
    for cell in notebook["cells"]:
        if is_solution(cell) and cell["cell_type"] == "code":
            found += [int(n) for n in re.findall(r"\banswer\(\s*output_dir\s*,\s*(\d+)", "".join(cell["source"]))]
    return sorted(set(found))


def learner_copy(notebook: dict) -> dict:
    """The notebook without its solution cells and outputs, its relative paths one folder further up."""
    cells = []
    for cell in notebook["cells"]:
        if is_solution(cell):
            continue
        cell = json.loads(json.dumps(cell))
        if cell["cell_type"] == "code":
            cell["source"] = [_UP_ONE.sub(r"\1../../", line) for line in _lines(cell["source"])]
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**notebook, "cells": cells}


def _lines(source) -> list[str]:
    return source.splitlines(keepends=True) if isinstance(source, str) else list(source)


def write_learner_copies(notebooks: str | Path = "notebooks", folder: str | Path | None = None) -> list[Path]:
    """A learner copy of every notebook of `notebooks` in `folder` (default `notebooks/learner`); returns them."""
    from finetune_cookbook.notebooks import notebook_paths

    notebooks = Path(notebooks)
    folder = Path(folder) if folder else notebooks / LEARNER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebook_paths(notebooks):
        target = folder / path.name
        target.write_text(json.dumps(learner_copy(json.loads(path.read_text(encoding="utf-8"))), indent=1,
                                     ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written


def answer(output_dir: str | Path, exercise: int, **found):
    """Records what exercise `exercise` asked to find (JSON-ready values) in `output_dir/exercises.json`, and
    returns it as a table to display."""
    import pandas as pd

    from finetune_cookbook.core.records import write_json

    path = Path(output_dir) / ANSWERS_FILE
    answers = read_answers(output_dir)
    answers[str(exercise)] = found
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, answers)
    return pd.DataFrame({"found": pd.Series(found, dtype=object)}).rename_axis(f"exercise {exercise}")


def read_answers(output_dir: str | Path) -> dict:
    path = Path(output_dir) / ANSWERS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}
