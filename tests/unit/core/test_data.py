import pandas as pd
import pytest
from conftest import RECIPE, SAMPLE_REVIEWS

from finetune_cookbook.config import load_config
from finetune_cookbook.core.data import LABEL, load_labelled_data
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.core.io.readers import read_table
from finetune_cookbook.tasks.text_classification import load_data
from finetune_cookbook.text.classifier import TEXT


def _config(source, **data):
    return load_config(RECIPE, {"data": {"source": str(source), **data}})


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_every_format_reads_the_same_table(tmp_path, suffix):
    frame = pd.read_csv(SAMPLE_REVIEWS, dtype=str)
    path = tmp_path / f"reviews{suffix}"
    if suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    table = read_table(path)
    assert list(table["review"]) == list(frame["review"])
    assert list(table["stars"]) == list(frame["stars"])
    assert table["row"].iloc[0] == 1


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeffrating\ttext\r\n5\tLove it\r\n1\tAwful\r\n".encode("utf-8"))
    table = read_table(path)
    assert list(table.columns) == ["rating", "text", "row"]
    assert list(table["text"]) == ["Love it", "Awful"]


def test_label_mapping_deduplication_and_split():
    data = load_data(_config(SAMPLE_REVIEWS))
    report = data.report
    assert data.labels == ["negative", "neutral", "positive"]
    assert report.rows_read == 450
    assert report.duplicates_dropped > 0
    total = sum(report.split_sizes.values())
    assert total == report.rows_read - report.duplicates_dropped
    texts = {name: set(frame[TEXT].str.lower()) for name, frame in data.splits.items()}
    assert not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]
    # stratified: each split keeps the overall share of each class within a couple of rows
    for label, count in report.class_counts.items():
        share = count / total
        for frame in data.splits.values():
            assert abs((frame[LABEL] == label).sum() - share * len(frame)) <= 2


def test_split_is_seeded():
    first = load_data(_config(SAMPLE_REVIEWS))
    again = load_data(_config(SAMPLE_REVIEWS))
    other = load_data(_config(SAMPLE_REVIEWS, seed=7))
    assert first.splits["test"][TEXT].tolist() == again.splits["test"][TEXT].tolist()
    assert first.splits["test"][TEXT].tolist() != other.splits["test"][TEXT].tolist()


def test_duplicates_with_conflicting_labels_are_counted(tmp_path):
    rows = [("Great product", 5), ("great   PRODUCT", 1)] + [(f"text {i}", 1 + i % 5) for i in range(100)]
    path = tmp_path / "dups.csv"
    pd.DataFrame(rows, columns=["review", "stars"]).to_csv(path, index=False)
    data = load_labelled_data(_config(path).data, [tmp_path], "review")
    assert data.report.duplicates_dropped == 1
    assert data.report.conflicting_duplicates == 1


def test_a_split_made_only_of_another_splits_rows_is_an_error_and_drops_are_said(tmp_path):
    rows = pd.DataFrame([(f"text {i}", 1 + i % 5) for i in range(120)], columns=["review", "stars"])
    rows.to_csv(tmp_path / "train.csv", index=False)
    rows.iloc[:30].to_csv(tmp_path / "test.csv", index=False)
    config = _config(tmp_path).data
    data = load_labelled_data(config, [tmp_path], "review")
    assert data.report.cross_split_duplicates == {"train": 30}
    assert "30 dropped from train (also in a later split)" in data.report.console_summary()
    rows.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError, match=r"train.csv.*every row of the train split is also in the validation or test"):
        load_labelled_data(config, [tmp_path], "review")


def test_stratified_sample_keeps_every_class():
    data = load_data(_config(SAMPLE_REVIEWS, sample_size=120))
    assert data.report.sampled_to == 120
    assert set(data.splits["test"][LABEL]) == {"negative", "neutral", "positive"}


def test_labels_without_mapping_are_sorted(tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"review": [f"t{i}" for i in range(60)], "stars": ["b", "a", "c"] * 20}).to_csv(path, index=False)
    config = load_config(RECIPE, {"data": {"source": str(path), "label_mapping": None, "labels": None}})
    assert load_data(config).labels == ["a", "b", "c"]


def test_sample_keeps_enough_of_a_rare_class(tmp_path):
    stars = ["5"] * 300 + ["3"] * 12 + ["1"] * 30
    path = tmp_path / "rare.csv"
    pd.DataFrame({"review": [f"review {i}" for i in range(len(stars))], "stars": stars}).to_csv(path, index=False)
    data = load_data(_config(path, sample_size=60))
    assert data.report.class_counts["neutral"] >= 10  # 60 * 12/342 would be 2, too few to split
    assert set(data.splits["test"][LABEL]) == {"negative", "neutral", "positive"}
    assert sum(data.report.class_counts.values()) == data.report.sampled_to


def test_a_column_called_text_does_not_collide(tmp_path):
    path = tmp_path / "extra.csv"
    frame = pd.read_csv(SAMPLE_REVIEWS, dtype=str).assign(text="unrelated")
    frame.to_csv(path, index=False)
    data = load_data(_config(path))
    assert list(data.splits["train"].columns) == ["row", TEXT, "stars", LABEL]
    assert (data.splits["train"][TEXT] != "unrelated").all()


def test_shares_that_leave_too_little_training_data_need_more_rows():
    from finetune_cookbook.core.data import minimum_per_class

    config = _config(SAMPLE_REVIEWS, test_size=0.45, validation_size=0.45).data
    assert minimum_per_class(config) == 10  # the 10% training share needs 10 rows per class
