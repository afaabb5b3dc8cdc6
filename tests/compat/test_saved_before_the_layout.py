"""Model folders saved by the code before the package was laid out by layer (commit `BEFORE_LAYOUT`) load and
predict with today's code, and the config each run saved beside its model (every task's sections, as that code
wrote them) still reads. The old code is taken from the repository's own history and trains one quick model per
task in a process of its own."""

import json
import os
import subprocess
import sys
import tarfile
import io
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from finetune_cookbook.config import load_config
from finetune_cookbook.recipe import chat, predict_file

pytestmark = pytest.mark.compat

BEFORE_LAYOUT = "6f4232b"  # the last commit of the flat package
SAMPLES = ROOT / "data_samples"
QUICK_TABULAR = {"pretrain": {"epochs": 1, "max_steps": 4, "d_token": 16, "n_heads": 2},
                 "training": {"epochs": 1, "max_steps": 4, "logging_steps": 2}}
TINY_TEXT = {"data": {"sample_size": 150}, "training": {"epochs": 1, "max_steps": 2, "logging_steps": 1}}
RUNS = {  # recipe folder -> (its data, overrides, the commands run)
    "review_sentiment": (SAMPLES / "reviews.csv", TINY_TEXT, ["train"]),
    "support_chatbot_intent": (SAMPLES / "support_intents" / "queries.csv",
                               {**TINY_TEXT, "intent": {"responses": str(SAMPLES / "support_intents" / "responses.yaml"),
                                                        "curve_min_steps": 2}}, ["train"]),
    "tumor_image_classification": (SAMPLES / "tumor_images",
                                   {"model": {"image_size": 32},
                                    "training": {"epochs": 1, "max_steps": 2, "batch_size": 8, "logging_steps": 1}},
                                   ["train"]),
    "fraud_anomaly_detection": (SAMPLES / "card_transactions" / "transactions.csv",
                                {**QUICK_TABULAR, "fraud": {"min_steps": 4}}, ["pretrain", "train"]),
    "marketing_segmentation": (SAMPLES / "customers" / "customers.csv",
                               {**QUICK_TABULAR, "segmentation": {"fine_tune_steps": 4, "stability_runs": 1,
                                                                  "k_range": [3, 3]}}, ["pretrain", "train"]),
}
INPUTS = {"review_sentiment": SAMPLES / "reviews.csv", "support_chatbot_intent": SAMPLES / "support_intents" / "queries.csv",
          "tumor_image_classification": SAMPLES / "tumor_images" / "benign",
          "fraud_anomaly_detection": SAMPLES / "card_transactions" / "transactions.csv",
          "marketing_segmentation": SAMPLES / "customers" / "customers.csv"}


def merged(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture(scope="module")
def saved_before(tmp_path_factory, tiny_model_dir):
    """One model folder per task, trained and saved by the package as it was before the layout."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_LAYOUT, "shared/finetune_cookbook"],
                             capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {BEFORE_LAYOUT} is not in this clone's history: {archive.stderr.decode()[:200]}")
    old = tmp_path_factory.mktemp("before-layout")
    tarfile.open(fileobj=io.BytesIO(archive.stdout)).extractall(old, filter="data")
    runs, commands = {}, []
    for recipe, (source, overrides, steps) in RUNS.items():
        # the recipe as it was then: today's may name settings the old package never knew
        raw = yaml.safe_load(subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE_LAYOUT}:recipes/{recipe}/config.yaml"],
                                            capture_output=True, text=True, check=True).stdout)
        raw = merged(raw, overrides)
        if "model" in raw and recipe != "tumor_image_classification":
            raw["model"]["name"] = str(tiny_model_dir)
        raw["data"]["source"] = str(source)
        raw["output_dir"] = str(old / "runs" / recipe)
        config = old / f"{recipe}.yaml"
        config.write_text(yaml.safe_dump(raw))
        commands += [[step, str(config)] for step in steps]
        runs[recipe] = Path(raw["output_dir"])
    script = ("import sys, finetune_cookbook\n"
              f"assert finetune_cookbook.__file__.startswith({str(old)!r}), finetune_cookbook.__file__\n"
              "from finetune_cookbook import cli\n"
              f"for command in {commands!r}:\n"
              "    assert cli.main(command) == 0, command\n")
    env = {**os.environ, "PYTHONPATH": str(old / "shared"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return runs


@pytest.mark.parametrize("recipe", list(RUNS))
def test_a_model_saved_before_the_layout_predicts(saved_before, recipe):
    output_dir = saved_before[recipe]
    info = json.loads((output_dir / "model" / "cookbook.json").read_text())
    predictions = predict_file(output_dir, INPUTS[recipe])
    assert len(predictions) > 0
    expected = {"review_sentiment": "label", "support_chatbot_intent": "handed_over",
                "tumor_image_classification": "label", "fraud_anomaly_detection": "flagged",
                "marketing_segmentation": "segment"}[recipe]
    assert expected in predictions.columns, (info["task"], list(predictions.columns))


@pytest.mark.parametrize("recipe", list(RUNS))
def test_the_config_saved_before_the_layout_reads(saved_before, recipe):
    """That code saved every task's sections, at their defaults where the task did not read them; the task's own
    sections are read as they were, the others dropped."""
    saved = saved_before[recipe] / "config.yaml"
    assert {"fraud", "intent", "segmentation"} <= set(yaml.safe_load(saved.read_text()))
    config = load_config(saved)
    assert config.task == yaml.safe_load(saved.read_text())["task"]
    assert config.training == load_config(saved_before[recipe].parent.parent / f"{recipe}.yaml").training


def test_the_intent_model_saved_before_the_layout_chats(saved_before):
    lines = io.BytesIO(b"where is my card\n")
    out = io.StringIO()
    assert chat(saved_before["support_chatbot_intent"], None, lines, out, interactive=False, as_json=True) == 1
    reply = json.loads(out.getvalue().splitlines()[0])
    assert {"intent", "confidence", "reply"} <= set(reply)
