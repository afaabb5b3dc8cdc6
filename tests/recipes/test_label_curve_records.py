"""`make bench` over label budgets: every approach at each share of the training labels, the subsets nested, and
the labels fine-tuning saves read from the records."""

import pytest
import yaml
from conftest import run_in_process, write_config

from finetune_cookbook import bench, headline
from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.label_curve import curve_table, labelled_subset
from finetune_cookbook.recipe import benchmark
from finetune_cookbook.tasks import get_task

pytestmark = pytest.mark.recipe


def test_every_approach_is_benchmarked_at_each_budget_on_nested_subsets(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(bench, "measured_peak", lambda precision: 1e11)
    config = load_config(write_config(tmp_path, {
        "data": {"sample_size": 120}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None},
        "bench_label_budgets": [0.25, 0.5], "bench_seeds": [1, 2]}))
    records = bench.records(config, benchmark(config))
    by_budget = {}
    for record in records:
        by_budget.setdefault(record.get("label_budget"), set()).add(record["approach"])
    every = {"tfidf_logreg", "scratch", "frozen_embeddings_logreg", "fine_tuned"}
    assert by_budget == {0.25: every, 0.5: every, None: every}  # every label: no budget, as before curves
    assert all(r["seeds"] == [1, 2] for r in records)
    table = curve_table(records, "macro_f1")
    assert sorted(table["label_budget"].unique()) == [0.25, 0.5, 1.0]

    data = get_task(config.task).load_data(config)
    quarter, half = (labelled_subset(data, b, seed=1).splits["train"] for b in (0.25, 0.5))
    assert set(quarter.index) <= set(half.index) and len(quarter) < len(half) < len(data.splits["train"])
    assert labelled_subset(data, 0.25, seed=1).splits["test"].equals(data.splits["test"])

    domain = headline.Domain(name=config.domain, title="t", dataset=bench.dataset_name(config), dataset_title="d",
                             metrics=["macro_f1"])
    cell = headline.labels_saved_cell(records, domain)
    assert cell.endswith("interpolated)") or cell.startswith(("none", "4.0x", "2.0x", "1.0x"))


@pytest.mark.parametrize("budgets", [[0.0, 1.0], [1.5], ["half"]])
def test_label_budgets_must_be_shares(tmp_path, budgets):
    with pytest.raises(ConfigError, match="bench_label_budgets"):
        load_config(write_config(tmp_path, {"bench_label_budgets": budgets}))


def test_label_budgets_are_refused_where_a_task_benchmarks_its_own_approaches(tmp_path):
    raw = yaml.safe_load(write_config(tmp_path, {"bench_label_budgets": [0.5]}).read_text())
    raw["task"] = "anomaly_detection"
    (tmp_path / "fraud.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="bench_label_budgets"):
        benchmark(load_config(tmp_path / "fraud.yaml"))


def test_the_naive_pair_runs_again_alone_and_replaces_only_its_own_records(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(bench, "measured_peak", lambda precision: 1e11)
    settings = {"data": {"sample_size": 100}, "model": {"name": str(tiny_model_dir), "max_length": 32},
                "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None}, "bench_seeds": [1]}
    config = load_config(write_config(tmp_path, {**settings, "bench_naive": True}))
    earlier = [{"domain": config.domain, "dataset": bench.dataset_name(config), "approach": a, "metrics": {"macro_f1": 0.1},
                "train_seconds": 1.0, "samples_per_second": 1.0, "peak_memory_mb": 1, "machine": "earlier",
                "measured_at": "earlier", "config": "c.yaml"} for a in ("tfidf_logreg", "fine_tuned", "fine_tuned_naive")]
    bench.update_results(earlier, tmp_path / "results")
    made = bench.records(config, benchmark(config, naive_pair=True))
    assert [r["approach"] for r in made] == ["fine_tuned", "fine_tuned_naive"]
    assert made[0]["speedup_vs_naive"] == pytest.approx(made[1]["seconds_per_epoch"] / made[0]["seconds_per_epoch"], rel=0.05)
    merged = bench.update_results(made, tmp_path / "results")
    assert sorted(r["approach"] for r in merged) == ["fine_tuned", "fine_tuned_naive", "tfidf_logreg"]
    assert next(r for r in merged if r["approach"] == "tfidf_logreg")["metrics"]["macro_f1"] == 0.1  # kept as it was
    with pytest.raises(ConfigError, match="bench_naive"):
        benchmark(load_config(write_config(tmp_path, settings)), naive_pair=True)


def test_the_fine_tune_and_its_twin_run_again_at_every_budget_and_replace_only_their_records(
        tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(bench, "measured_peak", lambda precision: 1e11)
    config = load_config(write_config(tmp_path, {
        "data": {"sample_size": 100}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None},
        "bench_seeds": [1], "bench_naive": True, "bench_label_budgets": [0.5]}))
    earlier = [{"domain": config.domain, "dataset": bench.dataset_name(config), "approach": approach, **setting,
                "metrics": {"macro_f1": 0.1}, "train_seconds": 1.0, "samples_per_second": 1.0, "peak_memory_mb": 1,
                "machine": "earlier", "measured_at": "earlier", "config": "c.yaml"}
               for approach, setting in [("tfidf_logreg", {}), ("fine_tuned", {}), ("fine_tuned_naive", {}),
                                         ("tfidf_logreg", {"label_budget": 0.5}),
                                         ("fine_tuned", {"label_budget": 0.5})]]
    bench.update_results(earlier, tmp_path / "results")
    made = bench.records(config, benchmark(config, fine_tune_only=True))
    assert [(r["approach"], r.get("label_budget")) for r in made] == [
        ("fine_tuned", 0.5), ("fine_tuned", None), ("fine_tuned_naive", None)]  # the twin again: a speed-up of one run
    assert made[1]["speedup_vs_naive"] == pytest.approx(made[2]["seconds_per_epoch"] / made[1]["seconds_per_epoch"],
                                                        rel=0.05)
    merged = bench.update_results(made, tmp_path / "results")
    assert [(r["approach"], r.get("label_budget"), r["measured_at"] == "earlier") for r in merged] == [
        ("tfidf_logreg", None, True), ("fine_tuned", None, False), ("fine_tuned_naive", None, False),
        ("tfidf_logreg", 0.5, True), ("fine_tuned", 0.5, False)]  # each record measured again in its old place


def test_the_fine_tune_alone_is_refused_beside_the_naive_pair_and_where_a_task_benchmarks_its_own(tmp_path):
    config = load_config(write_config(tmp_path, {"bench_naive": True}))
    with pytest.raises(ConfigError, match="choose one"):
        benchmark(config, naive_pair=True, fine_tune_only=True)
    raw = yaml.safe_load(write_config(tmp_path, {}).read_text())
    raw["task"] = "anomaly_detection"
    (tmp_path / "fraud.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="--fine-tune-only"):
        benchmark(load_config(tmp_path / "fraud.yaml"), fine_tune_only=True)


def test_chosen_budgets_run_again_alone_without_the_naive_twin(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(bench, "measured_peak", lambda precision: 1e11)
    config = load_config(write_config(tmp_path, {
        "data": {"sample_size": 100}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None},
        "bench_seeds": [1], "bench_naive": True, "bench_label_budgets": [0.25, 0.5]}))
    made = bench.records(config, benchmark(config, budgets=[0.5]))
    assert {(r["approach"], r.get("label_budget")) for r in made} == {
        (approach, 0.5) for approach in ("tfidf_logreg", "scratch", "frozen_embeddings_logreg", "fine_tuned")}
    made = bench.records(config, benchmark(config, fine_tune_only=True, budgets=[0.25, 1.0]))
    assert [(r["approach"], r.get("label_budget")) for r in made] == [
        ("fine_tuned", 0.25), ("fine_tuned", None), ("fine_tuned_naive", None)]  # every label: the twin too
    with pytest.raises(ConfigError, match=r"--budgets 0.1 is not among the config's label budgets \(0.25, 0.5, 1"):
        benchmark(config, budgets=[0.1, 0.5])
    with pytest.raises(ConfigError, match="--naive-pair"):
        benchmark(config, naive_pair=True, budgets=[0.5])


def test_bench_refuses_every_config_s_options_before_the_first_runs(tmp_path, tiny_model_dir):
    from conftest import ROOT

    text = write_config(tmp_path, {"model": {"name": str(tiny_model_dir)}, "bench_label_budgets": [0.5]})
    fraud = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
    _, err = run_in_process("bench", text, fraud, "--budgets", "0.5", "--results-dir", tmp_path / "results", expect=2)
    assert "fraud_anomaly_detection/config.yaml: --budgets picks label budgets" in err
    assert not (tmp_path / "results").exists()  # the text config did not run first
