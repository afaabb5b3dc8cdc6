"""Each recipe copied onto data of another schema and class count with only its `data` section edited (training
shortened for the test's time, as noted), and the checks that say when test data is unlike training data."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_in_process, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.tasks import get_task

pytestmark = pytest.mark.recipe

RECIPES = ROOT / "recipes"
TUMOR_IMAGES = ROOT / "data_samples" / "tumor_images"
TOPICS = {  # words of generated texts: two topics, so a test split of one is unlike training on the other
    "kitchen": "blender kettle toaster oven fridge pan knife spoon".split(),
    "garden": "rake hose shovel seeds soil tulip hedge lawn".split(),
}


def _texts(rng, topic: str, n: int) -> list[str]:
    words = TOPICS[topic]
    return [" ".join(rng.choice(words, size=6)) + f" {i}" for i in range(n)]


def _reviews(path: Path, rng, topic: str, n: int) -> Path:
    """Texts of one topic, labelled good / bad / so-so by a word they hold."""
    labels = rng.choice(["good", "bad", "so-so"], size=n)
    texts = [f"{text} {label}" for text, label in zip(_texts(rng, topic, n), labels)]
    pd.DataFrame({"comment": texts, "verdict": labels}).to_csv(path, index=False)
    return path


def _text_run(folder: Path, tiny_model_dir: Path, source) -> tuple[str, dict]:
    """`cookbook compare` on a copy of the review recipe whose data section is edited (the model and schedule too,
    for the test's time)."""
    config = write_config(folder, {
        "data": {"source": source, "text_column": "comment", "label_column": "verdict", "label_mapping": None,
                 "labels": None},
        "model": {"name": str(tiny_model_dir), "max_length": 32},
        "training": {"epochs": 2, "batch_size": 16, "learning_rate": 1e-3, "early_stopping_patience": None},
    }, base=RECIPES / "review_sentiment" / "config.yaml")
    stdout, _ = run_in_process("compare", config)
    return stdout, json.loads((folder / "run" / "metrics.json").read_text())


def test_text_compare_says_when_a_given_test_split_is_unlike_training(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(0)
    train, test = _reviews(tmp_path / "train.csv", rng, "kitchen", 240), _reviews(tmp_path / "test.csv", rng, "garden", 60)
    stdout, metrics = _text_run(tmp_path, tiny_model_dir, {"train": str(train), "test": str(test)})
    shift = metrics["shift"]
    assert shift["two_sample"]["different"] and shift["two_sample"]["roc_auc"] > 0.9
    assert "note: The test data is almost entirely different from the training data" in stdout
    # the comparison: every approach on one split, printed, saved and in the model card
    comparison = json.loads((tmp_path / "run" / "comparison.json").read_text())
    assert set(comparison["approaches"]) == {"tfidf_logreg", "scratch", "frozen_embeddings_logreg", "fine_tuned"}
    assert "| tfidf_logreg |" in stdout and "| fine_tuned |" in stdout
    card = (tmp_path / "run" / "model" / "README.md").read_text()
    assert "## Against the baselines" in card and "## Is the test data like the training data?" in card
    table = (tmp_path / "run" / "comparison.md").read_text().splitlines()
    assert [line.split(" | ")[0] for line in table if line.startswith("| ")][1:] == [
        "| tfidf_logreg", "| scratch", "| frozen_embeddings_logreg", "| fine_tuned"]
    # at prediction time, a batch like training says nothing; one unlike it gets a note
    alike = pd.read_csv(train).head(60)
    alike.to_csv(tmp_path / "alike.csv", index=False)
    _, quiet = run_in_process("predict", tmp_path / "run", tmp_path / "alike.csv", "--output", tmp_path / "p1.csv")
    _, noted = run_in_process("predict", tmp_path / "run", test, "--output", tmp_path / "p2.csv")
    assert "unlike" not in quiet and "different from the training data" not in quiet
    assert "note: The new data is almost entirely different from the training data" in noted


def test_text_split_at_random_stays_quiet(tmp_path, tiny_model_dir):
    rng = np.random.default_rng(1)
    source = _reviews(tmp_path / "all.csv", rng, "kitchen", 300)
    stdout, metrics = _text_run(tmp_path, tiny_model_dir, str(source))
    assert not metrics["shift"]["two_sample"]["different"] and not metrics["shift"]["gap_fired"]
    assert "note: The test data looks like the training data" in stdout


def test_image_recipe_copied_onto_a_four_class_folder(tmp_path):
    """Four classes (brain MRI style): no class to screen for, so no threshold, said in a note; it trains."""
    classes = ["glioma", "meningioma", "notumor", "pituitary"]
    images = sorted(TUMOR_IMAGES.glob("*/*.png"))
    for i, image in enumerate(images[:80]):
        (tmp_path / "scans" / classes[i % 4]).mkdir(parents=True, exist_ok=True)
        shutil.copy(image, tmp_path / "scans" / classes[i % 4] / image.name)
    config = write_config(tmp_path, {
        "data": {"labels": classes},
        "model": {"image_size": 32},  # for the test's time
        "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None},
    }, base=RECIPES / "tumor_image_classification" / "config.yaml", source=tmp_path / "scans")
    stdout, _ = run_in_process("compare", config)
    assert ("note: evaluation.positive_class is 'malignant', not a class of this data ('glioma', 'meningioma', "
            "'notumor', 'pituitary'): with 4 classes none is screened for") in stdout
    info = json.loads((tmp_path / "run" / "model" / "cookbook.json").read_text())
    assert info["positive_class"] is None and info["labels"] == classes
    approaches = json.loads((tmp_path / "run" / "comparison.json").read_text())["approaches"]
    assert set(approaches) == {"pixels_logreg", "scratch", "frozen", "fine_tuned"}
    assert "sensitivity" not in approaches["fine_tuned"]["metrics"]


def test_image_positive_class_is_found_by_name_in_two_other_classes(tmp_path):
    from finetune_cookbook.core.config import EvaluationConfig

    settings = EvaluationConfig(positive_class="malignant")
    assert settings.positive_class_of(["tumor", "healthy"]) == "tumor"
    assert settings.positive_class_of(["no", "yes"]) == "yes"
    assert settings.positive_class_of(["normal", "pneumonia"]) == "pneumonia"
    assert settings.positive_class_of(["cat", "dog"]) == "dog"  # nothing in the names: the second, as before
    assert "'yes' is the class whose detection matters" in settings.positive_note(["no", "yes"])
    assert settings.positive_note(["benign", "malignant"]) is None


def test_intent_recipe_copied_onto_queries_of_other_intents_without_replies(tmp_path):
    rng = np.random.default_rng(2)
    intents = ["book_flight", "cancel_flight", "baggage"]
    rows = [(f"{intent.replace('_', ' ')} please {word} {i}", intent) for intent in intents
            for i, word in enumerate(rng.choice(TOPICS["kitchen"], size=15))]
    pd.DataFrame(rows, columns=["query", "label"]).to_csv(tmp_path / "travel.csv", index=False)
    config = write_config(tmp_path, {"data": {"text_column": "query", "label_column": "label"}},
                          base=RECIPES / "support_chatbot_intent" / "config.yaml", source=tmp_path / "travel.csv")
    data = get_task("intent_classification").load_data(load_config(config))
    assert data.responses is None and data.labels == sorted(intents)
    assert any("names none of the 3 intents of" in note and "so it is not used" in note for note in data.report.notes)


def _fraud_table(path: Path, rng, n: int = 400, positives: float = 0.3) -> pd.DataFrame:
    """Another schema: a yes / no label, no identifier or time columns of the recipe's."""
    fraud = rng.random(n) < positives
    table = pd.DataFrame({
        "V1": rng.normal(size=n) + 2.5 * fraud, "V2": rng.normal(size=n), "Amount": rng.gamma(2.0, 50.0, size=n).round(2),
        "channel": rng.choice(["web", "shop", "phone"], size=n), "Class": np.where(fraud, "yes", "no")})
    table.to_csv(path, index=False)
    return table


def test_fraud_recipe_copied_onto_a_table_at_30_percent_fraud(tmp_path):
    _fraud_table(tmp_path / "cards.csv", np.random.default_rng(3))
    config = write_config(tmp_path, {
        "data": {"label_column": "Class"},
        "pretrain": {"epochs": 2, "d_token": 16, "n_heads": 2}, "fraud": {"min_steps": 20, "learning_rates": [1.0e-3]},  # for the test's time
        "training": {"epochs": 2},
    }, base=RECIPES / "fraud_anomaly_detection" / "config.yaml", source=tmp_path / "cards.csv")
    stdout, _ = run_in_process("compare", config)
    assert "note: tabular.drop_columns names 'transaction_id', 'account_id', 'timestamp', not column(s)" in stdout
    assert "note: tabular.time_columns names 'timestamp', not column(s)" in stdout
    budget = next(line for line in stdout.splitlines() if line.startswith("note: Alert budget"))
    assert "1.5 reviews per expected fraud" in budget
    share = float(budget.split("the top ")[1].split("%")[0]) / 100
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    train_rate = metrics["data"]["class_counts"]["fraud"] / sum(metrics["data"]["class_counts"].values())
    assert 0.3 < share < 0.6 and abs(share - 1.5 * train_rate) < 0.06
    # the precision at the budget says something again: not every approach is perfect
    comparison = json.loads((tmp_path / "run" / "comparison.json").read_text())["approaches"]
    assert len({round(a["metrics"]["precision_at_alert_budget"], 3) for a in comparison.values()}) > 1
    assert json.loads((tmp_path / "run" / "model" / "cookbook.json").read_text())["positive_value"] == "yes"


def test_tabular_rows_repeated_across_splits_are_dropped_and_counted(tmp_path):
    rng = np.random.default_rng(4)
    table = _fraud_table(tmp_path / "all.csv", rng, n=300)
    train, test = table.iloc[:220], table.iloc[220:]
    test = pd.concat([test, test.iloc[:2]])  # two rows repeated inside test
    train = pd.concat([train, test.iloc[:3]])  # three test rows also in train
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    config = write_config(tmp_path, {"data": {"label_column": "Class", "source": {
        "train": str(tmp_path / "train.csv"), "test": str(tmp_path / "test.csv")}}},
        base=RECIPES / "fraud_anomaly_detection" / "config.yaml")
    data = get_task("anomaly_detection").load_data(load_config(config))
    # validation is carved from train here: the three rows left whichever of the two held them
    assert sum(data.report.cross_split_duplicates.values()) == 3
    assert data.report.test_repeats == 2
    for split, dropped in data.report.cross_split_duplicates.items():
        assert f"{dropped} dropped from {split}" in data.report.console_summary()


def test_marketing_recipe_copied_onto_customers_with_none_of_its_roles(tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    customers = pd.DataFrame({"client": range(n), "balance": rng.normal(1000, 300, n).round(), "calls": rng.poisson(3, n),
                              "job": rng.choice(["admin", "technician", "services"], n),
                              "y": rng.choice(["yes", "no"], n, p=[0.2, 0.8])})
    customers.to_csv(tmp_path / "bank.csv", index=False)
    config = write_config(tmp_path, {"data": {"label_column": "y"}},
                          base=RECIPES / "marketing_segmentation" / "config.yaml", source=tmp_path / "bank.csv")
    data = get_task("segmentation").load_data(load_config(config))
    note = next(note for note in data.report.notes if "lacks the column(s) of these segmentation roles" in note)
    assert "recency_column ('days_since_last_purchase')" in note and "and 4 more" in note
    assert data.engineered == [] and data.customers.settings.spend_columns == []
    assert data.positive_value == "yes"


def test_a_headerless_file_points_to_column_names(tmp_path):
    from finetune_cookbook.core.errors import DataError

    (tmp_path / "lines.csv").write_text("I loved this blender so much,positive\nBroke after a week sadly,negative\n" * 20)
    config = write_config(tmp_path, {}, base=RECIPES / "review_sentiment" / "config.yaml", source=tmp_path / "lines.csv")
    with pytest.raises(DataError, match=r"no column 'review'.*looks like data, not a header.*data\.column_names"):
        get_task("text_classification").load_data(load_config(config))
