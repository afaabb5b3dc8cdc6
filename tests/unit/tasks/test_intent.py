"""The intent domain's parts: the hand-over threshold, message cleaning, responses files, confused pairs, and
benchmark records that tell learning-curve points apart."""

import numpy as np
import pandas as pd
import pytest

from finetune_cookbook.bench import records, update_results
from finetune_cookbook.core.compare import ApproachResult, confused_pairs
from finetune_cookbook.core.config import DataConfig, RecipeConfig
from finetune_cookbook.core.data import LABEL, LabelledData
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.tasks.intent.bot import check_responses, clean_message, read_responses
from finetune_cookbook.tasks.intent.fallback import answer_curve, choose_threshold, held_out_intents, operating_point


def test_answer_curve_counts_right_answers_and_handovers():
    in_conf = [0.9, 0.8, 0.4, 0.3]
    correct = [True, False, True, True]
    oos_conf = [0.2, 0.5, 0.35]
    curve = answer_curve(in_conf, correct, oos_conf).set_index("threshold")
    assert curve.loc[0.0].tolist() == [0.75, 0.0]  # everything answered: 3 of 4 right, nothing handed over
    assert curve.loc[0.4].tolist() == [0.5, 2 / 3]  # 0.9 and 0.4 answered right; 0.2 and 0.35 handed over
    assert curve.iloc[-1].tolist() == [0.0, 1.0]  # above every confidence: all handed over
    point = operating_point(0.4, in_conf, correct, oos_conf)
    assert (point.in_scope_accuracy, point.oos_recall) == (0.5, pytest.approx(2 / 3))


def test_chosen_threshold_balances_both_and_prefers_answering():
    in_conf = np.array([0.95, 0.9, 0.85, 0.8])
    oos_conf = np.array([0.3, 0.4, 0.5])
    point = choose_threshold(answer_curve(in_conf, [True] * 4, oos_conf))
    assert point.in_scope_accuracy == 1.0 and point.oos_recall == 1.0
    assert point.threshold == pytest.approx(0.8)  # the lowest threshold with that balance


def test_held_out_intents_are_seeded_and_leave_two_to_train():
    labels = [f"intent_{i}" for i in range(14)]
    assert held_out_intents(labels, 0.2, 42) == held_out_intents(labels, 0.2, 42)
    assert len(held_out_intents(labels, 0.2, 42)) == 3
    assert held_out_intents(labels, 0.2, 42) != held_out_intents(labels, 0.2, 7)
    assert len(held_out_intents(labels[:3], 0.9, 1)) == 1
    assert held_out_intents(labels, 0.5, 3, candidates=["intent_4", "intent_9"]) == ["intent_4", "intent_9"]
    with pytest.raises(ValueError):
        held_out_intents(labels[:2], 0.5, 1)


@pytest.mark.parametrize("message, text, problem", [
    ("  how do I\tchange my PIN  ", "how do I change my PIN", None),
    ("reset\x07 my pin\x1b", "reset my pin", None),
    ("zero\u200bwidth", "zerowidth", None),
    ("نمی\u200cخواهم", "نمیخواهم", None),  # a zero-width non-joiner inside a Persian word: not split in two
    ("", None, "empty"),
    (" \n\t ", None, "empty"),
    ("\x00\x01", None, "empty"),
    ("🙂🙂!!", None, "not text"),
    (b"caf\xc3\xa9 card", "café card", None),
    (b"\xff\xfe\xfa", None, "not text"),
    (12345, None, "not text"),
    (None, None, "not text"),
    ("карта не пришла", "карта не пришла", None),
])
def test_clean_message(message, text, problem):
    assert clean_message(message) == (text, problem)


def test_responses_from_yaml_json_and_a_table(tmp_path):
    (tmp_path / "r.yaml").write_text("card_arrival: 'It is on its way: track it in the app.'\nno: Fine.\n")
    assert read_responses(tmp_path / "r.yaml") == {"card_arrival": "It is on its way: track it in the app.",
                                                   "no": "Fine."}
    (tmp_path / "r.json").write_text('{"card_arrival": "On its way."}')
    assert read_responses(tmp_path / "r.json") == {"card_arrival": "On its way."}
    pd.DataFrame({"intent": ["a", "b"], "response": ["A.", "B."]}).to_csv(tmp_path / "r.csv", index=False)
    assert read_responses(tmp_path / "r.csv") == {"a": "A.", "b": "B."}


@pytest.mark.parametrize("name, content, message", [
    ("missing.yaml", None, "responses file not found"),
    ("list.yaml", "- a\n- b\n", "expected a mapping"),
    ("empty_reply.yaml", "a: ''\nb: B.\n", "a have an empty reply"),
    ("bad.yaml", "a: [unclosed\n", "not readable"),
    ("columns.csv", "name,text\na,A.\n", "column\\(s\\) intent, response missing"),
    ("twice.csv", "intent,response\na,A.\na,Again.\n", "a have more than one reply"),
])
def test_bad_responses_files_say_what_to_fix(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_responses(path)


def test_responses_must_match_the_intents_both_ways():
    check_responses({"a": "A.", "b": "B."}, ["a", "b"], "r.yaml", "q.csv")
    with pytest.raises(DataError, match=r"r.yaml: it names 1 intent\(s\) with no training data \(c\).*1 intent\(s\) have "
                                        r"no reply \(b\): add a reply for each\.$"):
        check_responses({"a": "A.", "c": "C."}, ["a", "b"], "r.yaml", "q.csv")


def test_training_adapts_to_a_reply_file_of_other_intents_with_a_note():
    many = [f"intent_{i}" for i in range(150)]
    notes = check_responses({"card_arrival": "Soon."}, many, "replies.yaml", "clinc.csv", strict=False)
    assert notes == ["intent.responses (replies.yaml) names none of the 150 intents of clinc.csv, so it is not used: "
                     "the bot names the intent it understood. Write a reply file for these intents, or unset "
                     "intent.responses to drop this note."]
    partial = check_responses({"intent_0": "Zero.", "typo": "T."}, many, "replies.yaml", "clinc.csv", strict=False)
    assert len(partial) == 1 and "no training data (typo)" in partial[0]
    assert "149 intent(s) have no reply (intent_1, intent_2, intent_3, intent_4, intent_5 and 144 more)" in partial[0]
    assert check_responses({"a": "A."}, ["a"], "r.yaml", "q.csv", strict=False) == []


def test_confused_pairs_name_the_pair_and_the_fix():
    labels = ["card_declined", "contactless", "pin", "refund"]
    # declined <-> contactless swap both ways (merge); pin -> refund one way (add examples); confident mistakes
    truth = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    guess = [1, 1, 0, 0, 0, 1, 3, 3, 2, 3, 3]
    probabilities = np.full((len(truth), 4), 0.02)
    probabilities[np.arange(len(truth)), guess] = 0.94
    texts = [f"query {i}" for i in range(len(truth))]
    table = confused_pairs(texts, truth, probabilities, labels, threshold=0.5)
    assert table["intents"].tolist() == ["card_declined / contactless", "pin / refund"]
    assert table.loc[0, "mistakes"] == 4 and table.loc[0, "what to do"].startswith("merge")
    assert table.loc[0, "example (first read as second)"] == "query 0"
    assert table.loc[1, "what to do"] == "add pin queries that read like refund"
    low = confused_pairs(texts, truth, probabilities, labels, threshold=0.99)
    assert low["what to do"].str.startswith("leave to the fallback").all()


def _result(approach, accuracy, count):
    return ApproachResult(approach, "", {"accuracy": accuracy, "macro_f1": accuracy}, np.zeros((1, 2)), 1.0, 1.0, 1.0,
                          setting={"examples_per_intent": count})


def test_benchmark_records_keep_each_learning_curve_point(tmp_path):
    config = RecipeConfig(domain="support_chatbot_intent", task="intent_classification",
                          data=DataConfig(source="../shared/datasets/banking77", label_column="category"))
    made = records(config, [_result("fine_tuned", 0.93, None), _result("fine_tuned", 0.80, 10),
                            _result("few_shot", 0.87, 10)])
    assert [(r["approach"], r["examples_per_intent"], r["metrics"]["accuracy"]) for r in made] == [
        ("fine_tuned", None, 0.93), ("fine_tuned", 10, 0.8), ("few_shot", 10, 0.87)]
    update_results(made, tmp_path)
    again = update_results(records(config, [_result("fine_tuned", 0.81, 10)]), tmp_path)
    assert len(again) == 3
    assert {(r["examples_per_intent"], r["metrics"]["accuracy"]) for r in again if r["approach"] == "fine_tuned"} == {
        (None, 0.93), (10, 0.81)}
    assert "fine_tuned (examples_per_intent all)" in (tmp_path / "results.md").read_text()


def test_each_curve_point_records_its_share_of_the_training_labels():
    from finetune_cookbook.tasks import intent
    from finetune_cookbook.tasks.intent import tagged, with_examples_per_intent

    train = pd.DataFrame({"text": [f"q{i}" for i in range(30)], LABEL: ["a"] * 20 + ["b"] * 10})
    data = LabelledData(splits={"train": train, "validation": train.head(2), "test": train.head(2)},
                        labels=["a", "b"], report=None)
    small = with_examples_per_intent(data, 5, seed=0)
    share = intent.label_share(small, data)
    assert share == pytest.approx(10 / 30)
    config = RecipeConfig(domain="support_chatbot_intent", task="intent_classification",
                          data=DataConfig(source="banking77", label_column="category"))
    made = records(config, {0: [tagged(_result("fine_tuned", 0.8, None), 5, share), _result("tfidf", 0.7, None)],
                            1: [tagged(_result("fine_tuned", 0.9, None), None, 0.5)]})
    by_count = {r["examples_per_intent"]: r for r in made if r["approach"] == "fine_tuned"}
    assert by_count[5]["label_share"] == pytest.approx(0.3333) and by_count[None]["label_share"] == 1.0
    assert "label_share" not in next(r for r in made if r["approach"] == "tfidf")


def test_every_approach_on_the_curve_records_the_share_of_the_labels_its_count_kept(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from finetune_cookbook.tasks import intent

    train = pd.DataFrame({"text": [f"q{i}" for i in range(40)], LABEL: ["a"] * 30 + ["b"] * 10})
    data = LabelledData(splits={"train": train, "validation": train.head(2), "test": train.head(2)},
                        labels=["a", "b"], report=None)
    made = lambda name: lambda small, *a, **k: _result(name, 0.5, None)  # noqa: E731
    monkeypatch.setattr(intent.tc, "baselines", lambda small, config: [_result("tfidf_logreg", 0.5, None)])
    monkeypatch.setattr(intent, "scratch_baseline", made("scratch"))
    monkeypatch.setattr(intent.tc, "fine_tune", lambda small, *a, **k: SimpleNamespace(result=_result("fine_tuned", 0.5, None)))
    monkeypatch.setattr(intent, "curve_training", lambda config, rows: None)
    config = SimpleNamespace(training=SimpleNamespace(seed=0))
    curve = intent.learning_curve(data, config, [5, 20], [], tmp_path)
    shares = {(r.approach, r.setting["examples_per_intent"]): r.label_share for r in curve}
    # 5 a and 5 b of 40 queries; 20 a and every one of the 10 b
    assert shares == {(a, 5): pytest.approx(10 / 40) for a in ("tfidf_logreg", "scratch", "fine_tuned")} | {
        (a, 20): pytest.approx(30 / 40) for a in ("tfidf_logreg", "scratch", "fine_tuned")}
    with pytest.raises(ValueError, match="share"):
        intent.tagged(_result("fine_tuned", 0.5, None), 5)


def test_the_learning_curve_trains_the_larger_of_its_own_floor_and_the_recipes():
    from conftest import ROOT

    from finetune_cookbook.config import load_config
    from finetune_cookbook.tasks.intent import curve_training

    recipe = ROOT / "recipes" / "support_chatbot_intent" / "config.yaml"
    config = load_config(recipe, {"training": {"epochs": 2, "batch_size": 16}, "intent": {"curve_min_steps": 100}})
    assert curve_training(config, 70).epochs == 20  # 5 steps a pass: 100 steps
    assert curve_training(config, 1600).epochs == 2  # 200 steps already
    floored = load_config(recipe, {"training": {"epochs": 2, "batch_size": 16, "min_steps": 300},
                                   "intent": {"curve_min_steps": 100}})
    assert curve_training(floored, 70).epochs == 60
