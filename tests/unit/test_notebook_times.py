"""make times: the runs' run.json records become benchmarks/notebook_times.json and the workshop page's table."""

import json

import pytest
from conftest import ROOT

from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.notebook_times import START, times_table, update

MACHINE = "AMD EPYC 9R45 with AVX-512 bf16, 2 cores, 8 GiB, no GPU; Python 3.11.7, torch 2.14.1"


def run(folder, notebook, seconds, smoke, others=0.02, **parameters):
    (folder / notebook).mkdir(parents=True)
    (folder / notebook / "run.json").write_text(json.dumps({
        "notebook": notebook, "smoke": smoke, "parameters": {"SMOKE": smoke, **parameters}, "seconds": seconds,
        "machine": MACHINE, "precision": "bf16", "measured_at": "2026-12-05T10:00Z", "how": "papermill",
        "others_cpu_share": others, "cores": 2}))


def test_runs_become_records_and_the_table(tmp_path):
    run(tmp_path / "outputs", "01_a", 472.0, False)
    run(tmp_path / "outputs" / "smoke", "01_a", 41.0, True, others=0.37)
    run(tmp_path / "outputs", "02_b", 2765.0, False, CONFIG="../recipes/a/bench_real.yaml")
    records, page = tmp_path / "times.json", tmp_path / "workshop.md"
    records.write_text(json.dumps([{"notebook": "01_a", "smoke": False, "data": "data_samples", "seconds": 999.0,
                                    "machine": MACHINE, "precision": "bf16", "measured_at": "2026-12-01",
                                    "how": "papermill"}]))
    page.write_text(f"intro\n{START}\nstale table\n<!-- times:end -->\nafter\n")
    made = update([tmp_path / "outputs", tmp_path / "outputs" / "smoke"], records, page)
    assert sorted((r["notebook"], r["smoke"], r["seconds"]) for r in made) == \
        [("01_a", False, 472.0), ("01_a", True, 41.0), ("02_b", False, 2765.0)]  # the new run replaced the old
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("<!-- times:end -->\nafter\n") and "stale table" not in text
    assert "| notebook | SMOKE, AMD EPYC 9R45 with AVX-512 bf16, bf16 | full run, AMD EPYC 9R45 with AVX-512 bf16, " \
           "bf16 |" in text
    assert "| 01_a | 41 s* | 7 min 52 s |" in text
    assert "| 02_b | bench_real.yaml | 46 min 05 s |" in text
    assert "01_a: other work took 37% of the 2 cores' time" in text and text.count("other work") == 1
    with pytest.raises(ConfigError, match="markers"):
        update([], records, ROOT / "README.md")


def test_the_committed_table_is_what_the_records_make():
    records = json.loads((ROOT / "benchmarks" / "notebook_times.json").read_text())
    assert times_table(records) in (ROOT / "docs" / "workshop.md").read_text()
    assert {r["notebook"] for r in records} == {p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")}


def test_a_run_recorded_with_the_load_average_only_keeps_its_old_note(tmp_path):
    """Runs recorded before the CPU time was counted have the load average before and after them, which counts
    the run's own training too: their note says what was measured."""
    from finetune_cookbook.notebook_times import run_records

    for name, load in (("01_a", 1.8), ("02_b", 0.3)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps({
            "notebook": name, "smoke": True, "parameters": {}, "seconds": 9.0, "machine": MACHINE, "precision": "bf16",
            "measured_at": "2026-12-05T10:00Z", "how": "papermill", "load_before": load, "load_after": load,
            "cores": 2}))
    notes = {r["notebook"]: r.get("note") for r in run_records([tmp_path])}
    assert notes == {"01_a": "other work shared the 2 cores (load average up to 1.8)", "02_b": None}
