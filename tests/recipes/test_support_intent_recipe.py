"""The support-intent recipe, end to end, as a user runs it: train, predict, chat, tune, resume, torchrun, and
the bad input a bot meets."""

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, assert_resume_reproduces, run_in_process, torchrun_cookbook, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.tasks import intent
from finetune_cookbook.tasks.intent.bot import Bot

pytestmark = pytest.mark.recipe

RECIPE = ROOT / "recipes" / "support_chatbot_intent" / "config.yaml"
QUERIES = ROOT / "data_samples" / "support_intents" / "queries.csv"
RESPONSES = ROOT / "data_samples" / "support_intents" / "responses.yaml"


def intent_config(folder: Path, tiny_model_dir: Path, **sections) -> Path:
    """A copy of the recipe's config on the sample queries with the tiny model, as a user edits a copy."""
    overrides = {
        "data": {"source": str(QUERIES)},
        "intent": {"responses": str(RESPONSES), "curve_min_steps": 5},
        "model": {"name": str(tiny_model_dir), "max_length": 48},
        "training": {"epochs": 3, "batch_size": 16, "learning_rate": 1e-3, "logging_steps": 2,
                     "early_stopping_patience": None},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return write_config(folder, overrides, base=RECIPE)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`cookbook train` on the recipe's config for 2 epochs instead of 15 (the rest unchanged), on data_samples/: the
    head started from the linear probe already answers most queries after one."""
    folder = tmp_path_factory.mktemp("intent")
    config = write_config(folder, {"intent": {"responses": str(RESPONSES)}, "training": {"epochs": 2}}, RECIPE, QUERIES)
    stdout, _ = run_in_process("train", config)
    return folder / "run", stdout


def test_train_saves_the_model_threshold_and_replies(trained):
    output_dir, stdout = trained
    assert "test: accuracy" in stdout and "oos_recall" in stdout
    model_dir = output_dir / "model"
    info = json.loads((model_dir / "cookbook.json").read_text())
    assert info["task"] == "intent_classification"
    fallback = info["fallback"]
    assert 0 < fallback["threshold"] < 1
    assert len(fallback["held_out_intents"]) == 3  # 20% of 14 intents
    assert json.loads((model_dir / "config.json").read_text())["out_of_scope_fallback"] == fallback
    replies = json.loads((model_dir / "responses.json").read_text())
    assert len(replies) == 14 and "out_of_scope" not in replies
    scores = json.loads((output_dir / "metrics.json").read_text())["approaches"]["fine_tuned"]
    for name in ("accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "real_oos_recall", "handover_rate"):
        assert 0 <= scores[name] <= 1, name
    # recorded, not a speed test: 14 balanced intents, so guessing scores 0.07
    assert scores["accuracy"] > 0.6
    assert "## Hand-over to a human" in (model_dir / "README.md").read_text()


def test_predict_gives_intent_confidence_and_handover(trained, tmp_path):
    output_dir, _ = trained
    texts = ["How can I set a different PIN on my card?", "my card never arrived", "what's the weather in Lisbon", "tell me " * 200]
    messages = tmp_path / "messages.csv"
    pd.DataFrame({"text": texts, "extra": range(len(texts))}).to_csv(messages, index=False)
    out = tmp_path / "predictions.csv"
    run_in_process("predict", output_dir, messages, "--output", out)
    predictions = pd.read_csv(out)
    assert list(predictions.columns[:4]) == ["text", "label", "confidence", "handed_over"]
    assert predictions["label"].iloc[0] == "change_pin"
    assert predictions["handed_over"].iloc[-1]  # longer than max_message_chars: a person reads it
    bot = Bot(output_dir)  # predict and chat agree on every hand-over
    assert predictions["handed_over"].tolist() == [not bot.reply(text).answered for text in texts]


def test_chat_answers_piped_messages_and_every_awkward_one(trained):
    output_dir, _ = trained
    messages = [b"How can I set a different PIN on my card?", b"", b"\xff\xfe\xfa not utf-8", "🙂🙂🙂".encode(),
                b"reset my pin\x07\x1b[2J please", b"x" * 10_000]
    stdout, _ = run_in_process("chat", output_dir, "--jsonl", stdin=b"\n".join(messages) + b"\n")
    replies = [json.loads(line) for line in stdout.splitlines()]
    assert len(replies) == len(messages)
    pin, empty, not_utf8, emoji, control, long = replies
    assert pin["intent"] == "change_pin" and pin["answered"] and "PIN" in pin["reply"]
    assert empty["reason"] == "empty" and empty["intent"] is None and not empty["answered"]
    assert not_utf8["reason"] == "not text" and emoji["reason"] == "not text"
    # refused lines come back as they were sent, not as a Python repr
    assert empty["message"] == "" and emoji["message"] == "🙂🙂🙂"
    assert not_utf8["message"] == "\ufffd\ufffd\ufffd not utf-8"
    assert "\x07" not in control["message"] and "\x1b" not in control["message"]
    assert control["intent"] is not None
    assert long["reason"] == "too long" and not long["answered"] and long["intent"] is None
    assert "colleague" in long["reply"]

    readable, _ = run_in_process("chat", output_dir, stdin=b"How can I set a different PIN on my card?\n")
    assert "intent change_pin, confidence" in readable and "bot: " in readable


def test_chat_refuses_a_responses_file_that_does_not_match(trained, tmp_path):
    output_dir, _ = trained
    replies = json.loads((output_dir / "model" / "responses.json").read_text())
    replies.pop("change_pin")
    replies["mortgage_advice"] = "Call us."
    other = tmp_path / "responses.json"
    other.write_text(json.dumps(replies))
    _, stderr = run_in_process("chat", output_dir, "--responses", other, stdin=b"hi\n", expect=2)
    assert "mortgage_advice" in stderr and "change_pin" in stderr and str(other) in stderr


def test_tune_searches_on_validation(tmp_path, tiny_model_dir):
    config = intent_config(tmp_path, tiny_model_dir, tune={"n_trials": 2, "epochs": [1, 1]})
    stdout, _ = run_in_process("tune", config)
    assert "best validation accuracy" in stdout
    assert (tmp_path / "run" / "search" / "best_training.yaml").is_file()


def test_interrupted_training_resumes_to_the_same_model(tmp_path, tiny_model_dir):
    config = load_config(intent_config(tmp_path, tiny_model_dir))
    assert_resume_reproduces(config, tmp_path / "whole", tmp_path / "cut")


@pytest.mark.by_hand  # CI trains one recipe of each modality in two processes; text is the review recipe's two nodes
def test_train_under_torchrun_with_two_processes(tmp_path, tiny_model_dir):
    config = intent_config(tmp_path, tiny_model_dir)
    done = torchrun_cookbook("train", config)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test: accuracy") == 1
    info = json.loads((tmp_path / "run" / "model" / "cookbook.json").read_text())
    assert 0 <= info["fallback"]["threshold"] <= 1 and len(info["fallback"]["held_out_intents"]) == 3
    scores = json.loads((tmp_path / "run" / "metrics.json").read_text())["approaches"]["fine_tuned"]
    for name in ("accuracy", "in_scope_accuracy", "oos_recall", "handover_rate", "real_oos_recall"):
        assert 0 <= scores[name] <= 1, name


# ------------------------------------------------------------------------------------------------ bad input


def test_a_reply_for_an_intent_without_data_is_noted(tmp_path, tiny_model_dir):
    responses = tmp_path / "responses.yaml"
    responses.write_text(RESPONSES.read_text() + 'open_savings_account: "Go to Accounts > New."\n')
    config = load_config(intent_config(tmp_path, tiny_model_dir, intent={"responses": str(responses)}))
    data = intent.load_data(config)
    assert any("1 intent(s) with no training data (open_savings_account): fix the names, or remove them" in note
               for note in data.report.notes)
    assert len(data.responses) == 15  # the others are used


def test_an_intent_without_a_reply_is_noted_and_named_by_the_bot(tmp_path, tiny_model_dir):
    responses = tmp_path / "responses.csv"
    replies = pd.read_csv(QUERIES)["intent"].drop_duplicates()
    replies = replies[~replies.isin(["out_of_scope", "close_account"])]
    pd.DataFrame({"intent": replies, "response": "We can help."}).to_csv(responses, index=False)
    config = load_config(intent_config(tmp_path, tiny_model_dir, intent={"responses": str(responses)}))
    data = intent.load_data(config)
    assert any("1 intent(s) have no reply (close_account): the bot names the intent it understood for them" in note
               for note in data.report.notes)


def test_an_intent_with_a_single_example_is_refused(tmp_path, tiny_model_dir):
    queries = pd.read_csv(QUERIES)
    lonely = pd.DataFrame({"text": ["Can I open a savings account?"], "intent": ["open_savings_account"]})
    source = tmp_path / "queries.csv"
    pd.concat([queries, lonely]).to_csv(source, index=False)
    responses = tmp_path / "responses.yaml"
    responses.write_text(RESPONSES.read_text() + 'open_savings_account: "Go to Accounts > New."\n')
    config = load_config(intent_config(tmp_path, tiny_model_dir, data={"source": str(source)},
                                       intent={"responses": str(responses)}))
    with pytest.raises(DataError, match="'open_savings_account' has 1 row"):
        intent.load_data(config)


def test_a_clinc_style_json_keeps_its_splits_and_separate_out_of_scope_queries(tmp_path, tiny_model_dir):
    """CLINC150's layout, by editing only a copy of the config: one JSON document with [text, intent] arrays under
    train / val / test, and the real out-of-scope queries under their own key."""
    queries = pd.read_csv(QUERIES)
    in_scope = queries[queries["intent"] != "out_of_scope"]
    parts = {"train": in_scope.groupby("intent").head(14), "val": in_scope.groupby("intent").nth([14, 15, 16]),
             "test": in_scope.groupby("intent").tail(3)}
    document = {name: part[["text", "intent"]].values.tolist() for name, part in parts.items()}
    document["oos_test"] = queries[queries["intent"] == "out_of_scope"][["text", "intent"]].values.tolist()
    source = tmp_path / "data_full.json"
    source.write_text(json.dumps(document))
    config = load_config(intent_config(
        tmp_path, tiny_model_dir,
        data={"source": {split: {"path": str(source), "field": field}
                         for split, field in (("train", "train"), ("validation", "val"), ("test", "test"))},
              "column_names": ["text", "intent"]},
        intent={"out_of_scope_label": None, "out_of_scope_source": {"path": str(source), "field": "oos_test"}}))
    data = intent.load_data(config)
    assert data.report.given_splits == ["train", "validation", "test"]
    assert data.report.split_sizes == {"train": 14 * 14, "validation": 3 * 14, "test": 3 * 14}
    assert len(data.out_of_scope) == 12 and "out_of_scope" not in data.labels
