"""measure(): time and memory of a block; named blocks announce themselves only while `announced_steps` is open."""

import io
from pathlib import Path

from conftest import run_in_process

from finetune_cookbook.core.measure import announced_steps, measure


def test_named_steps_are_announced_only_when_asked(capsys):
    with measure("quiet") as cost:
        pass
    assert capsys.readouterr().out == "" and cost.seconds >= 0
    shown = io.StringIO()
    with announced_steps(shown):
        with measure("a step"):
            pass
        with measure():  # an unnamed block is part of a step, not one
            pass
    assert shown.getvalue().splitlines()[0] == "a step ..."
    assert shown.getvalue().splitlines()[1].startswith("a step: 0.0 s")
    assert len(shown.getvalue().splitlines()) == 2


def test_bench_names_each_approach_as_it_starts_and_its_time(tiny_config, tmp_path):
    out, _ = run_in_process("bench", tiny_config, "--results-dir", tmp_path)
    lines = out.splitlines()
    assert lines[0].startswith(f"{tiny_config}: every approach of review_sentiment")
    for approach in ("tfidf_logreg", "frozen_embeddings_logreg", "fine_tuned"):
        start = lines.index(f"{approach} ...")  # the Trainer logs its steps in between
        end = next(line for line in lines[start:] if line.startswith(f"{approach}: "))
        assert end.endswith(" s")
    assert Path(tmp_path / "results.json").is_file()
