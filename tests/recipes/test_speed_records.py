"""`make bench`'s speed records: the naive twin of the fine-tune, time per epoch, FLOPs and the share of peak; and
one point of `cookbook bench-scale`, in its own process."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import write_config

from finetune_cookbook import bench, scale
from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.recipe import benchmark

pytestmark = pytest.mark.recipe

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_times_the_naive_twin_and_sets_the_fine_tune_against_it(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(bench, "measured_peak", lambda precision: 1e11)  # the peak's own test is a unit test
    config = load_config(write_config(tmp_path, {
        "data": {"sample_size": 80}, "model": {"name": str(tiny_model_dir), "max_length": 48},
        "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None},
        "bench_naive": True, "bench_seeds": [1, 2]}))
    records = {r["approach"]: r for r in bench.records(config, benchmark(config))}
    tuned, naive = records["fine_tuned"], records["fine_tuned_naive"]
    assert naive["precision"] == "fp32"
    assert tuned["epochs"] == naive["epochs"] == 1
    for record in (tuned, naive):
        assert record["seconds_per_epoch"] > 0 and record["train_gflop"] > 0
        assert record["peak_fraction"] == pytest.approx(record["achieved_gflops"] / 100, rel=0.02)
        assert "seconds_per_epoch_std" in record and record["seeds"] == [1, 2]
    # Padding every text to 48 tokens does more arithmetic than padding each batch to its longest text.
    assert naive["train_gflop"] > tuned["train_gflop"]
    assert tuned["speedup_vs_naive"] == pytest.approx(naive["seconds_per_epoch"] / tuned["seconds_per_epoch"], abs=0.02)
    assert "speedup_vs_naive" not in naive and "seconds_per_epoch" not in records["tfidf_logreg"]
    assert "## Speed" in bench.render_markdown(list(records.values()))


def test_bench_naive_is_refused_where_a_task_benchmarks_its_own_approaches(tmp_path):
    path = write_config(tmp_path, {"bench_naive": True})
    raw = yaml.safe_load(path.read_text())
    raw["task"] = "anomaly_detection"
    (tmp_path / "fraud.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="bench_naive"):
        benchmark(load_config(tmp_path / "fraud.yaml"))


def test_speed_must_be_tuned_or_naive(tmp_path):
    with pytest.raises(ConfigError, match="training.speed"):
        load_config(write_config(tmp_path, {"training": {"speed": "fast"}}))


def test_a_csv_point_reads_and_checks_a_generated_file_in_its_own_process(tmp_path):
    csv = tmp_path / "transactions.csv"
    generator = ROOT / "data_samples" / "card_transactions" / "make_card_transactions.py"
    subprocess.run([sys.executable, generator, "--rows", "3000", "--output", csv], check=True, capture_output=True)
    point = scale.run_point("csv", str(ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"), csv)
    assert 2900 <= point["rows"] <= 3000  # rows repeated across splits are dropped
    assert point["seconds"] > 0 and point["peak_memory_mb"] > 100 and point["file_mb"] > 0


@pytest.mark.parametrize("speed, attention", [("tuned", "eager_sparse_dropout"), ("naive", "sdpa")])
def test_a_tuned_text_trainer_trains_with_plain_attention_and_sparse_dropout_on_a_cpu(tmp_path, tiny_model_dir, speed,
                                                                                     attention):
    import dataclasses

    from finetune_cookbook.tasks import get_task
    from finetune_cookbook.text import classifier

    config = load_config(write_config(tmp_path, {
        "data": {"sample_size": 40}, "model": {"name": str(tiny_model_dir), "max_length": 32}}))
    data = get_task(config.task).load_data(config)
    training = dataclasses.replace(config.training, speed=speed)
    args = classifier.arguments(data, training, tmp_path / "run")
    start = classifier.classifier_starter(data, config)
    trainer, _ = classifier.text_trainer(data, config, training, args, model=start(0))
    assert trainer.model.base_model.config._attn_implementation == attention
    dropouts = [m for m in trainer.model.modules() if type(m) is torch.nn.Dropout]
    assert dropouts and all(("forward" in vars(m)) == (speed == "tuned") for m in dropouts)
    searching, _ = classifier.text_trainer(data, config, training, args, model_init=lambda trial=None: start(0))
    assert searching.model.base_model.config._attn_implementation == attention  # the Trainer calls model_init once


def test_a_tuned_text_fine_tune_hands_back_its_model_as_the_saved_copy_runs(tmp_path, tiny_model_dir):
    from transformers import TrainerCallback

    from finetune_cookbook.core.training import torch_device
    from finetune_cookbook.tasks import get_task

    config = load_config(write_config(tmp_path, {
        "data": {"sample_size": 40}, "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"max_steps": 2, "batch_size": 8, "speed": "tuned"}}))
    task = get_task(config.task)

    class Seen(TrainerCallback):
        attention: list[str] = []
        predicting_with: list[str] = []

        def on_step_end(self, args, state, control, model=None, **kwargs):
            self.attention.append(model.base_model.config._attn_implementation)

        def on_predict(self, args, state, control, model=None, **kwargs):
            self.predicting_with.append(model.base_model.config._attn_implementation)

    run = task.fine_tune(task.load_data(config), config, tmp_path / "run", callbacks=[Seen()])
    assert Seen.attention == ["eager_sparse_dropout" if torch_device() == "cpu" else "sdpa"] * 2
    assert Seen.predicting_with == ["sdpa"]  # the test split is scored as the reloaded model runs
    model = run.trainer.model
    assert model.base_model.config._attn_implementation == "sdpa"  # as from_pretrained gives it back
    dropouts = [m for m in model.modules() if type(m) is torch.nn.Dropout]
    assert dropouts and not any("forward" in vars(m) for m in dropouts)  # PyTorch's dropout again


def _image_config(tmp_path, **training):
    recipe = yaml.safe_load((ROOT / "recipes" / "tumor_image_classification" / "config.yaml").read_text())
    recipe["data"]["source"] = str(ROOT / "data_samples" / "tumor_images")
    recipe["model"]["image_size"] = 32
    recipe["training"].update(batch_size=8, ema_decay=0.99, **training)  # the brain MRI benchmark keeps an average
    recipe["output_dir"] = str(tmp_path / "run")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(recipe))
    return load_config(tmp_path / "config.yaml")


def _depthwise(model):
    found = [m for m in model.network.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert found
    return found


def _trains_depthwise_in_fp32(model) -> bool:
    return all("forward" in vars(m) for m in _depthwise(model))


@pytest.mark.parametrize("speed, precision, fp32_depthwise", [("tuned", "bf16", True), ("naive", "bf16", False),
                                                              ("tuned", "fp32", False)])
def test_a_tuned_image_fine_tune_in_bf16_trains_its_depthwise_convolutions_in_fp32(tmp_path, speed, precision,
                                                                                    fp32_depthwise):
    from transformers import TrainerCallback

    from finetune_cookbook.core.training import torch_device
    from finetune_cookbook.tasks import image_classification as task

    config = _image_config(tmp_path, max_steps=2, precision=precision, speed=speed)

    class Patched(TrainerCallback):
        seen: list[bool] = []

        def on_step_end(self, args, state, control, model=None, **kwargs):
            self.seen.append(_trains_depthwise_in_fp32(model))

    run = task.fine_tune(task.load_data(config), config, tmp_path / "run", callbacks=[Patched()])
    assert Patched.seen == [fp32_depthwise and torch_device() == "cpu"] * 2
    assert not any("forward" in vars(m) for m in _depthwise(run.trainer.model))  # the model it hands back is plain


def test_the_image_search_trains_its_trials_as_a_tuned_run_does(tmp_path, monkeypatch):
    from finetune_cookbook.core.training import torch_device
    from finetune_cookbook.tasks import image_classification as task

    config = _image_config(tmp_path, precision="bf16", speed="tuned")
    searched = []
    monkeypatch.setattr(task, "search", lambda trainer, *args, **kwargs: searched.append(trainer))
    task.tune(task.load_data(config), config, tmp_path / "run")
    assert _trains_depthwise_in_fp32(searched[0].model) == (torch_device() == "cpu")  # the Trainer calls model_init
