"""Data read as a stream (`data.streaming`): the split by hash, the rows held, and each row's checks."""

import pytest
from conftest import RECIPE, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.core.config import DataConfig
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.streaming import load_streamed_data, split_of

MAPPING = {"1": "negative", "3": "neutral", "5": "positive"}


def reviews_csv(path, rows=600, bad_row=None, bad_value="7"):
    """`rows` distinct reviews over three classes, each text written a second time in another case and spacing;
    row `bad_row` (1-based record number) gets the label `bad_value`."""
    lines = ["review,stars"]
    for i in range(rows):
        stars = "135"[i % 3]
        lines.append(f"review number {i} says {stars},{stars}")
        lines.append(f"Review  number {i}   SAYS {stars},{stars}")
    if bad_row:
        text = lines[bad_row].rsplit(",", 1)[0]
        lines[bad_row] = f"{text},{bad_value}"
    path.write_text("\n".join(lines) + "\n")
    return path


def streamed(path, **settings):
    config = DataConfig(source=str(path), label_column="stars", text_column="review", label_mapping=MAPPING,
                        labels=["negative", "neutral", "positive"], streaming=True, **settings)
    return load_streamed_data(config, [path.parent], "review", config.streaming_split_rows)


def test_split_by_hash_is_stable_and_puts_every_repeat_of_a_text_in_one_split():
    config = DataConfig(source="x", label_column="y")
    splits = [split_of(f"text {i}", config) for i in range(3000)]
    assert splits == [split_of(f"text {i}", config) for i in range(3000)]
    shares = {name: splits.count(name) / len(splits) for name in ("train", "validation", "test")}
    assert shares["test"] == pytest.approx(0.2, abs=0.03)
    assert shares["validation"] == pytest.approx(0.1, abs=0.03)


def test_validation_and_test_are_bounded_have_no_repeats_and_share_no_text_with_train(tmp_path):
    data = streamed(reviews_csv(tmp_path / "reviews.csv"), streaming_split_rows=40)
    keys = {name: set(frame["review"].str.lower().str.split().str.join(" ")) for name, frame in data.splits.items()}
    assert {name: len(frame) for name, frame in data.splits.items()} == {"train": 40, "validation": 40, "test": 40}
    assert len(keys["validation"]) == 40 and len(keys["test"]) == 40  # repeats dropped inside each
    assert not keys["test"] & keys["train"] and not keys["validation"] & keys["train"]
    assert not keys["test"] & keys["validation"]
    assert data.report.duplicates_dropped > 0
    trained = {" ".join(row["review"].lower().split()) for row in data.train_stream()}
    assert not trained & (keys["test"] | keys["validation"])
    assert len(trained) == 600 - sum(1 for i in range(600) if split_of(f"review number {i} says {'135'[i % 3]}",
                                                                       DataConfig(source="x", label_column="y")) != "train")


@pytest.mark.parametrize("bad_value, message", [("7", "unknown label"), ("", "empty label")])
def test_a_bad_label_far_into_the_stream_is_refused_naming_its_row(tmp_path, bad_value, message):
    data = streamed(reviews_csv(tmp_path / "reviews.csv", bad_row=1100, bad_value=bad_value),
                    streaming_split_rows=20)
    with pytest.raises(DataError, match=f"{message}.*row\\(s\\) 1100"):
        list(data.train_stream())


def test_an_empty_text_is_refused_naming_its_row_or_dropped(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\n" + "".join(f"text {i},{'135'[i % 3]}\n" for i in range(300)) + ",5\n")
    with pytest.raises(DataError, match="empty value.*'review' at row\\(s\\) 301.*empty_texts: drop"):
        list(streamed(path).train_stream())
    assert all(row["review"] for row in streamed(path, empty_texts="drop").train_stream())


def test_streaming_needs_max_steps_and_named_classes_and_is_refused_by_the_intent_task(tmp_path):
    with pytest.raises(ConfigError, match="data.streaming is true.*set training.max_steps"):
        load_config(write_config(tmp_path, {"data": {"streaming": True}}))
    no_labels = write_config(tmp_path, {"data": {"streaming": True, "labels": None, "label_mapping": None},
                                        "training": {"max_steps": 10}})
    with pytest.raises(ConfigError, match="list them in data.labels"):
        load_config(no_labels)
    intent = write_config(tmp_path, {"data": {"streaming": True}, "training": {"max_steps": 10}},
                          RECIPE.parents[1] / "support_chatbot_intent" / "config.yaml")
    with pytest.raises(ConfigError, match="data.streaming is True, a setting of the text classification task"):
        load_config(intent)
