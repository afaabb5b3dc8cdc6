"""`cookbook exercises`: learner copies without the solution cells; the answers the solutions record."""

import json

import nbformat
from conftest import ROOT, run_in_process
from finetune_cookbook.exercises import (
    answer,
    exercise_numbers,
    learner_copy,
    read_answers,
    solved_numbers,
    write_learner_copies,
)
from finetune_cookbook.notebooks import notebook_paths


def cell(kind, source, tags=()):
    made = {"cell_type": kind, "id": f"c{abs(hash(source)) % 10**8}", "metadata": {"tags": list(tags)}, "source": source}
    return {**made, "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}], "execution_count": 3} \
        if kind == "code" else made


NOTEBOOK = {"cells": [
    cell("code", 'CONFIG = "../recipes/x/config.yaml"\nOUTPUT_DIR = \'../outputs/x\'\n', ["parameters"]),
    cell("markdown", "### Exercises\n\n1. **One.** Find a.\n2. **Two.** Find b.\n"),
    cell("code", "answer(output_dir, 1, a=1)", ["solution"]),
    cell("markdown", "**Solution 2.** Why b.", ["solution"]),
    cell("code", "answer(output_dir, 2, b=2)", ["solution"]),
    cell("code", "record_metrics(output_dir)"),
], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}


def test_a_learner_copy_drops_the_solutions_and_outputs_and_reaches_one_folder_up():
    copy = learner_copy(NOTEBOOK)
    assert [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in copy["cells"]] == [
        'CONFIG = "../../recipes/x/config.yaml"\nOUTPUT_DIR = \'../../outputs/x\'\n',
        "### Exercises\n\n1. **One.** Find a.\n2. **Two.** Find b.\n",
        "record_metrics(output_dir)",
    ]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in copy["cells"] if c["cell_type"] == "code")
    assert copy["metadata"] == NOTEBOOK["metadata"]
    assert len(NOTEBOOK["cells"]) == 6  # the notebook itself is left as it was
    assert exercise_numbers(NOTEBOOK) == [1, 2] and solved_numbers(NOTEBOOK) == [1, 2]
    assert solved_numbers(copy) == []


def test_answers_are_recorded_and_displayed(tmp_path):
    answer(tmp_path, 1, a=0.5)
    shown = answer(tmp_path, 2, b=[1, 2], verdict="yes")
    assert read_answers(tmp_path) == {"1": {"a": 0.5}, "2": {"b": [1, 2], "verdict": "yes"}}
    assert list(shown.index) == ["b", "verdict"]


def test_cookbook_exercises_writes_a_valid_learner_copy_of_every_notebook(tmp_path):
    out, _ = run_in_process("exercises", "--notebooks", ROOT / "notebooks", "--output-dir", tmp_path / "learner")
    assert "5 learner copies" in out
    for path in notebook_paths(ROOT / "notebooks"):
        original = json.loads(path.read_text())
        copy = nbformat.read(tmp_path / "learner" / path.name, as_version=4)
        nbformat.validate(copy)
        assert not any("solution" in c.metadata.get("tags", []) for c in copy.cells)
        assert exercise_numbers(original) == exercise_numbers(copy) != []
        parameters = next(c for c in copy.cells if "parameters" in c.metadata.get("tags", []))
        config = parameters.source.split('"')[1]  # CONFIG = "../../recipes/..."
        assert (ROOT / "notebooks" / "learner" / config).resolve().is_file()


def test_every_exercise_has_a_solution():
    for path in notebook_paths(ROOT / "notebooks"):
        notebook = json.loads(path.read_text())
        assert len(exercise_numbers(notebook)) == 4, path.name
        assert sorted(solved_numbers(notebook)) == exercise_numbers(notebook), path.name


def test_the_default_folder_is_notebooks_learner(tmp_path):
    (tmp_path / "01_x.ipynb").write_text(json.dumps(NOTEBOOK))
    assert write_learner_copies(tmp_path) == [tmp_path / "learner" / "01_x.ipynb"]
