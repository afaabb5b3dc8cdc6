import dataclasses

import pytest
import yaml
from conftest import RECIPE, ROOT, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError


def test_recipe_config_loads_with_types():
    config = load_config(RECIPE)
    assert config.domain == "review_sentiment"
    assert config.data.label_mapping["1"] == "negative"
    assert config.data.labels == ["negative", "neutral", "positive"]
    assert isinstance(config.training.learning_rate, float)
    assert config.training.batch_size == 16


def test_overrides_win_over_the_file():
    config = load_config(RECIPE, {"training": {"epochs": 1}, "data": {"sample_size": 50}})
    assert config.training.epochs == 1.0
    assert config.data.sample_size == 50
    assert config.data.text_column == "review"  # untouched settings stay


def test_unknown_setting_is_named(tmp_path):
    path = write_config(tmp_path, {"training": {"evaluation_strategy": "epoch"}})
    with pytest.raises(ConfigError, match=r"config.yaml.training: unknown setting\(s\) evaluation_strategy"):
        load_config(path)


def test_a_setting_that_moved_to_another_section_says_where_it_lives_now(tmp_path):
    fraud = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
    path = write_config(tmp_path, {"fraud": {"fine_tune_shares": [0.5, 1.0]}}, fraud)
    with pytest.raises(ConfigError, match=r"fraud: unknown setting\(s\) fine_tune_shares\. fine_tune_shares is now "
                                          r"pretrain\.fine_tune_shares: move it there\. Known settings: label_budget"):
        load_config(path)
    moved = yaml.safe_load(path.read_text())
    moved["pretrain"]["fine_tune_shares"] = moved["fraud"].pop("fine_tune_shares")
    path.write_text(yaml.safe_dump(moved))
    assert load_config(path).pretrain.fine_tune_shares == [0.5, 1.0]
    with pytest.raises(ConfigError, match=r"pretrain.fine_tune_shares is \[1.5\]; list shares"):
        load_config(path, {"pretrain": {"fine_tune_shares": [1.5]}})


def test_wrong_type_is_named(tmp_path):
    path = write_config(tmp_path, {"training": {"batch_size": "big"}})
    with pytest.raises(ConfigError, match=r"training.batch_size: expected int, got 'big'"):
        load_config(path)


def test_bad_choice_lists_the_choices(tmp_path):
    path = write_config(tmp_path, {"data": {"empty_texts": "ignore"}})
    with pytest.raises(ConfigError, match="data.empty_texts is 'ignore'; choose one of drop, error"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_exponent_without_a_dot_is_a_number(tmp_path):
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("learning_rate: 0.0001", "learning_rate: 1e-4"))
    assert "1e-4" in path.read_text()
    assert load_config(path).training.learning_rate == 1e-4


def test_loss_as_selection_metric_is_minimised(tmp_path):
    config = load_config(write_config(tmp_path, {"training": {"metric_for_best_model": "loss"}}))
    assert config.training.greater_is_better is False
    with pytest.raises(ConfigError, match="metric_for_best_model is 'f1'; choose one of accuracy, average_precision, loss, macro_f1"):
        load_config(write_config(tmp_path, {"training": {"metric_for_best_model": "f1"}}))


def test_weight_averaging_and_layer_decay_are_image_settings_below_one(tmp_path):
    with pytest.raises(ConfigError, match=r"training.ema_decay is 0.99, a setting of the image tasks .*task 'text_classification'"):
        load_config(write_config(tmp_path, {"training": {"ema_decay": 0.99}}))
    image_recipe = ROOT / "recipes" / "tumor_image_classification" / "config.yaml"
    assert load_config(image_recipe, {"training": {"ema_decay": 0.99}}).training.ema_decay == 0.99
    with pytest.raises(ConfigError, match="training.ema_decay is 1.0; use a factor between 0 and 1"):
        load_config(image_recipe, {"training": {"ema_decay": 1.0}})
    with pytest.raises(ConfigError, match="training.layer_decay is 0.8, a setting of the image tasks"):
        load_config(write_config(tmp_path, {"training": {"layer_decay": 0.8}}))
    with pytest.raises(ConfigError, match="training.layer_decay is 0.0; use a factor between 0 and 1"):
        load_config(image_recipe, {"training": {"layer_decay": 0}})


def test_a_step_floor_is_a_setting_of_the_text_and_image_tasks(tmp_path):
    assert load_config(write_config(tmp_path, {"training": {"min_steps": 100}})).training.min_steps == 100
    image_recipe = ROOT / "recipes" / "tumor_image_classification" / "config.yaml"
    assert load_config(image_recipe, {"training": {"min_steps": 100}}).training.min_steps == 100
    fraud_recipe = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
    with pytest.raises(ConfigError, match=r"training.min_steps is 100, a setting of the text and image tasks .*task 'anomaly_detection'"):
        load_config(fraud_recipe, {"training": {"min_steps": 100}})


def test_each_task_reads_its_own_config_class():
    from finetune_cookbook.tasks import TASKS, config_class

    classes = {path.parent.name: type(load_config(path)) for path in sorted((ROOT / "recipes").glob("*/config.yaml"))}
    assert {cls.__name__ for cls in classes.values()} == {config_class(name).__name__ for name in TASKS}
    assert "fraud" in classes["fraud_anomaly_detection"].sections()
    assert "fraud" not in classes["review_sentiment"].sections()
    assert "model" not in classes["marketing_segmentation"].sections()  # the tabular tasks make their own model


def test_a_section_the_task_does_not_read_is_refused_naming_the_task(tmp_path):
    path = write_config(tmp_path, {"fraud": {"alert_share": 0.2}})
    with pytest.raises(ConfigError, match=r"task 'text_classification' does not read the `fraud` section \(the sections "
                                          r"it reads: data, training, model, tune\); remove it, or set `task` to one "
                                          r"that reads it \(anomaly_detection\)"):
        load_config(path)


def test_a_config_saved_before_tasks_owned_their_sections_still_reads(tmp_path):
    """Such a config.yaml holds every task's sections; those the task does not read hold their defaults."""
    from finetune_cookbook.core.config import config_to_dict
    from finetune_cookbook.tasks.anomaly_detection.config import FraudConfig
    from finetune_cookbook.tasks.intent.config import IntentConfig

    saved = config_to_dict(load_config(RECIPE))
    saved.update(fraud=dataclasses.asdict(FraudConfig()), intent=dataclasses.asdict(IntentConfig()))
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(saved))
    config = load_config(path)
    assert config.training == load_config(RECIPE).training and not hasattr(config, "fraud")


def test_a_section_of_another_task_with_more_than_shared_settings_is_refused_as_a_section(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("domain: d\ntask: anomaly_detection\ndata: {source: x.csv, label_column: label}\n"
                    "model: {head: probe, name: distilbert-base-uncased}\n")
    with pytest.raises(ConfigError, match=r"task 'anomaly_detection' does not read the `model` section \(the sections "
                                          r"it reads: data, training, tabular, pretrain, tune, fraud\)"):
        load_config(path)


def test_an_unknown_task_is_refused_when_the_config_is_read(tmp_path):
    path = write_config(tmp_path, {"task": "summarisation"})
    with pytest.raises(ConfigError, match="task 'summarisation' is not known; choose one of text_classification, "):
        load_config(path)


def test_a_config_without_a_task_is_a_text_classifier(tmp_path):
    path = write_config(tmp_path)
    raw = yaml.safe_load(path.read_text())
    del raw["task"]
    path.write_text(yaml.safe_dump(raw))
    assert load_config(path).task == "text_classification"


def test_a_saved_config_reads_from_what_it_is_to_where_it_went():
    from finetune_cookbook.core.config import config_to_dict

    keys = list(config_to_dict(load_config(RECIPE)))
    assert keys[:3] == ["domain", "task", "data"] and keys[-2:] == ["output_dir", "config_path"]


@pytest.mark.parametrize("training, message", [
    ({"epochs": -3}, "training.epochs is -3.0; use a number of passes above 0"),
    ({"epochs": 0}, "training.epochs is 0.0; use a number of passes above 0"),
    ({"batch_size": 0}, "training.batch_size is 0; use at least 1 example a step"),
    ({"learning_rate": -1e-4}, "training.learning_rate is -0.0001; use a positive rate"),
    ({"max_steps": 0}, "training.max_steps is 0; use at least 1, or null"),
    ({"min_steps": 0}, "training.min_steps is 0; use at least 1 step, or null"),
])
def test_training_settings_that_cannot_train_are_refused_before_anything_runs(tmp_path, training, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, {"training": training}))


def test_an_output_dir_that_is_a_file_is_refused_when_the_config_is_read(tmp_path):
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ConfigError, match="output_dir .*taken is a file; name a folder"):
        load_config(write_config(tmp_path, {"output_dir": str(tmp_path / "taken")}))


def test_a_source_given_as_a_list_names_what_it_may_be(tmp_path):
    with pytest.raises(ConfigError, match=r"data.source: expected text or a mapping, got \['a.csv', 'b.csv'\]"):
        load_config(write_config(tmp_path, {"data": {"source": ["a.csv", "b.csv"]}}))


def test_a_label_mapping_value_that_is_not_one_value_is_refused_short(tmp_path):
    """A YAML alias bomb expands into nested lists; it must not be pasted into the config and the model card."""
    levels = ["1: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{n}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for n, p, c in zip(range(2, 9), "abcdefg",
                                                                                            "bcdefgh")]
    path = tmp_path / "config.yaml"
    path.write_text("domain: d\ntask: text_classification\ndata:\n  source: x.csv\n  text_column: t\n"
                    "  label_column: l\n  label_mapping: {" + ", ".join(levels) + "}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "data.label_mapping.1: expected one value (text or a number)" in str(raised.value)
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize("training", [{"epochs": float("inf")}, {"learning_rate": float("inf")},
                                      {"weight_decay": float("nan")}, {"epochs": float("nan")}])
def test_infinite_and_undefined_training_numbers_are_refused(tmp_path, training):
    with pytest.raises(ConfigError, match=f"training.{next(iter(training))}"):
        load_config(write_config(tmp_path, {"training": training}))


def test_a_list_alias_bomb_is_refused_short(tmp_path):
    path = tmp_path / "config.yaml"
    anchors = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]" for p, c in zip("abcdefg", "bcdefgh")]
    path.write_text("domain: d\ntask: text_classification\ndata:\n  source: x.csv\n  text_column: t\n"
                    "  label_column: l\n  column_names: [{" + ", ".join(anchors) + "}]\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "data.column_names" in str(raised.value) and len(str(raised.value)) < 400
