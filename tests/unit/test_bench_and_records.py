import json
import mmap

import numpy as np
import pytest
from conftest import RECIPE, ROOT

from finetune_cookbook import bench
from finetune_cookbook.config import load_config
from finetune_cookbook.core.compare import classification_result, comparison_table, most_confident_mistakes
from finetune_cookbook.core.measure import Measurement, bf16_support, machine_description, measure
from finetune_cookbook.core.records import metrics_summary, metrics_table, read_metrics, record_metrics, recorded_runs

LABELS = ["negative", "neutral", "positive"]


def _result(approach, probabilities, truth=(0, 1, 2, 2)):
    return classification_result(approach, approach, list(truth), np.array(probabilities), LABELS,
                                 Measurement(seconds=2.0, peak_memory_mb=100.0), samples_seen=10)


def test_records_replace_their_own_rows_and_keep_the_others(tmp_path):
    config = load_config(RECIPE, {"data": {"source": "../shared/datasets/amazon_alexa_reviews"}})
    perfect = _result("fine_tuned", np.eye(3)[[0, 1, 2, 2]])
    first = bench.records(config, [perfect])
    assert first[0]["dataset"] == "amazon_alexa_reviews"
    assert first[0]["metrics"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert first[0]["samples_per_second"] == 5.0
    assert set(first[0]) >= {"domain", "dataset", "approach", "metrics", "train_seconds", "samples_per_second",
                             "peak_memory_mb", "machine"}
    other_domain = dict(first[0], domain="tumor_images", dataset="breastmnist")
    bench.update_results(first + [other_domain], tmp_path)
    worse = bench.records(config, [_result("fine_tuned", np.eye(3)[[0, 0, 2, 2]])])
    merged = bench.update_results(worse, tmp_path)
    assert len(merged) == 2
    saved = json.loads((tmp_path / "results.json").read_text())
    sentiment = [r for r in saved if r["domain"] == "review_sentiment"]
    assert sentiment[0]["metrics"]["accuracy"] == pytest.approx(0.75)
    markdown = (tmp_path / "results.md").read_text()
    assert "| review_sentiment | amazon_alexa_reviews | fine_tuned | accuracy 0.7500" in markdown
    assert "| tumor_images | breastmnist |" in markdown


def test_metrics_are_recorded_and_tabled(tmp_path):
    record_metrics(tmp_path / "nb", "01_test", {"fine_tuned": {"accuracy": 0.9, "macro_f1": 0.8}}, smoke=True)
    assert read_metrics(tmp_path / "nb")["smoke"] is True
    table = metrics_table(recorded_runs(tmp_path))
    assert table.to_dict("records") == [{"run": "01_test", "approach": "fine_tuned", "accuracy": 0.9, "macro_f1": 0.8}]
    with pytest.raises(FileNotFoundError, match="no recorded metrics"):
        read_metrics(tmp_path / "missing")


def test_metrics_files_are_strict_json(tmp_path):
    record_metrics(tmp_path, "02_one_class", {"fine_tuned": {"accuracy": 1.0, "roc_auc": float("nan"),
                                                             "threshold": float("inf")}},
                   data={"spread": [np.float32("nan"), 0.5]})
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    saved = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in metrics.json"))
    assert saved["approaches"]["fine_tuned"] == {"accuracy": 1.0, "roc_auc": None, "threshold": None}
    assert saved["data"]["spread"] == [None, 0.5]
    one_class = {"domain": "d", "dataset": "s", "approach": "a", "metrics": {"accuracy": 1.0, "roc_auc": float("nan")},
                 "train_seconds": 1.0, "samples_per_second": 1.0, "peak_memory_mb": 1, "machine": "m", "measured_at": "t"}
    bench.update_results([one_class], tmp_path)
    bench.update_results([dict(one_class, approach="b")], tmp_path)  # the first record comes back with a null
    assert "accuracy 1.0000, roc_auc n/a" in (tmp_path / "results.md").read_text()


def test_the_summary_shows_each_run_its_own_headline_metrics(tmp_path):
    record_metrics(tmp_path / "a", "01_text", {"fine_tuned": {"accuracy": 0.9, "macro_f1": 0.8, "recall_x": 0.5}})
    record_metrics(tmp_path / "b", "05_segments", {"fine_tuned": {"lift": 2.5, "ari": 0.95, "silhouette": 0.6},
                                                   "fine_tuned@4": {"lift": 3.0, "ari": 0.9}})
    first, second = metrics_summary(recorded_runs(tmp_path)).split("\n\n")
    assert first.splitlines()[1].split() == ["approach", "accuracy", "macro_f1"]
    assert second.splitlines()[1].split() == ["approach", "lift", "ari"] and "fine_tuned@4" not in second
    assert "holds 1 more row(s): approaches at other settings" in second and "NaN" not in first + second


def test_comparison_and_confident_mistakes():
    import pandas as pd

    good = _result("fine_tuned", [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7], [0.6, 0.1, 0.3]])
    table = comparison_table([good])
    assert table.loc["fine_tuned", "accuracy"] == pytest.approx(0.75)
    mistakes = most_confident_mistakes(pd.DataFrame({"text": list("abcd")}), [0, 1, 2, 2], good.probabilities, LABELS)
    assert mistakes.to_dict("records") == [{"text": "d", "true": "positive", "predicted": "negative", "confidence": 0.6}]


def test_measure_sees_memory_grow():
    import psutil

    # A fresh anonymous mapping: numpy's allocator could hand back pages a long-lived worker freed but still holds
    # resident, and then the resident set would not grow (it did not, once, in CI).
    before_mb = psutil.Process().memory_info().rss / 2**20
    with measure() as cost:
        mapping = mmap.mmap(-1, 64 * 2**20)
        block = np.frombuffer(mapping, dtype=np.uint8)
        block[:] = 1  # every page touched
    assert block.sum() == 64 * 2**20
    assert cost.seconds > 0
    assert cost.peak_memory_mb - before_mb >= 60


def test_records_over_seeds_carry_the_mean_and_the_spread():
    config = load_config(RECIPE, {"data": {"source": "../shared/datasets/amazon_alexa_reviews"}})
    runs = {1: [_result("fine_tuned", np.eye(3)[[0, 1, 2, 2]])], 2: [_result("fine_tuned", np.eye(3)[[0, 0, 2, 2]])]}
    (record,) = bench.records(config, runs)
    assert record["metrics"]["accuracy"] == pytest.approx(0.875)
    assert record["metrics_std"]["accuracy"] == pytest.approx(np.std([1.0, 0.75], ddof=1), abs=1e-4)
    assert record["seeds"] == [1, 2] and record["per_seed"]["accuracy"] == [1.0, 0.75]
    markdown = bench.render_markdown([record])
    assert "accuracy 0.8750 ± 0.1768" in markdown and "(mean ± sd of 2 seeds)" in markdown


def test_cookbook_report_prints_the_summary(tmp_path):
    from conftest import run_cookbook

    record_metrics(tmp_path / "run", "03_fraud", {"gbt": {"average_precision": 0.5, "roc_auc": 0.9, "threshold": 0.4}})
    out, _ = run_cookbook("report", tmp_path)
    assert out.splitlines()[:3] == ["03_fraud", "approach  average_precision  roc_auc", "     gbt                0.5      0.9"]


def test_the_machine_line_names_what_the_cpu_multiplies_bf16_with():
    assert bf16_support({"avx2", "avx512_bf16", "amx_bf16", "amx_tile"}) == "AMX"
    assert bf16_support({"avx2", "avx512f", "avx512_bf16"}) == "AVX-512 bf16"
    assert bf16_support({"sse4_2", "avx2"}) == "AVX2, no bf16"
    assert bf16_support(set()) is None  # not x86, or no /proc/cpuinfo: the line names the CPU only
    assert bf16_support({"avx2", "avx512f"}) == "AVX-512, no bf16"
    cpuinfo = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu avx2 avx512f avx512_bf16\n\n"
               "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu avx2 avx512f avx512_bf16\n")
    assert machine_description(cpuinfo).startswith("Intel(R) Xeon(R) Processor with AVX-512 bf16, ")
    assert "torch" in machine_description()


def test_a_run_s_table_shows_the_headline_metrics_it_recorded(tmp_path):
    """`cookbook train` records its task's headline metrics, so a task with metrics of its own (a regression's
    rmse) is shown without core knowing it, beside the usual ones where a record holds them."""
    record_metrics(tmp_path / "regression", "houses", {"fine_tuned": {"rmse": 3.5, "r2": 0.9, "accuracy": 0.1}},
                   headline_metrics=["rmse", "r2"])
    record_metrics(tmp_path / "reviews", "reviews", {"fine_tuned": {"accuracy": 0.8, "macro_f1": 0.6, "rmse": 1.0}})
    table = metrics_table(recorded_runs(tmp_path)).set_index("run")
    assert table.loc["houses", "rmse"] == 3.5 and table.loc["houses", "r2"] == 0.9
    assert table.loc["houses", "accuracy"] == 0.1
    assert table.loc["reviews", "macro_f1"] == 0.6 and np.isnan(table.loc["reviews", "rmse"])


def test_a_task_config_names_the_metrics_that_may_choose_its_checkpoint(tmp_path):
    import dataclasses

    from finetune_cookbook.core.config import RecipeConfig
    from finetune_cookbook.core.errors import ConfigError

    config = load_config(RECIPE, {"training": {"metric_for_best_model": "loss"}})

    @dataclasses.dataclass
    class RegressionConfig(RecipeConfig):
        SELECTION_METRICS = frozenset({"rmse", "loss"})

    regression = RegressionConfig(domain="d", data=config.data, task="regression",
                                  training=dataclasses.replace(config.training, metric_for_best_model="rmse"))
    regression.check("houses.yaml")
    with pytest.raises(ConfigError, match="houses.yaml: training.metric_for_best_model is 'rmse'; choose one of "
                                          "accuracy, average_precision, loss, macro_f1, roc_auc"):
        RecipeConfig(domain="d", data=config.data, task="t", training=regression.training).check("houses.yaml")


def test_records_keep_what_validation_chose_in_each_seed_s_run():
    """The fraud networks choose a learning rate (and the fine-tuned one a start) on validation in every run; the
    record keeps each seed's choice, so how often the prior start won is read from the records."""
    from finetune_cookbook.core.compare import ApproachResult

    config = load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml")

    def run(rate, prior):
        metrics = {"average_precision": 0.5, "learning_rate": rate}
        if prior is not None:
            metrics["prior_start"] = prior
        return ApproachResult(approach="fine_tuned" if prior is not None else "scratch", description="", metrics=metrics,
                              probabilities=np.zeros(2), train_seconds=1.0, samples_per_second=1.0,
                              peak_memory_mb=1.0, setting={"label_budget": 0.05})

    runs = {0: [run(1e-3, 1.0), run(1e-4, None)], 1: [run(3e-4, 0.0), run(1e-4, None)]}
    tuned, scratch = bench.records(config, runs)
    assert tuned["chosen_on_validation"] == {"learning_rate": [1e-3, 3e-4], "prior_start": [1.0, 0.0]}
    assert scratch["chosen_on_validation"] == {"learning_rate": [1e-4, 1e-4]}
    assert "learning_rate" not in tuned["metrics"]
