"""Bad input gets a clear error naming the file, row or column, and nothing is written."""

import subprocess
import sys

import pandas as pd
import pytest
from conftest import run_in_process, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.tasks.text_classification import load_data

pytestmark = pytest.mark.reliability


def _reviews(n=60):
    return pd.DataFrame({
        "review": [f"review number {i} says something" for i in range(n)],
        "stars": [str(1 + i % 5) for i in range(n)],
    })


def _load(tmp_path, frame=None, name="reviews.csv", raw: bytes | None = None, **data):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    elif frame is not None:
        frame.to_csv(path, index=False)
    config = load_config(write_config(tmp_path, {"data": {"source": str(path), **data}}))
    return load_data(config), path


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nowhere\.csv: no such file or folder \(tried .*\)\. Check data.source"):
        _load(tmp_path, name="nowhere.csv")


def test_missing_column_lists_the_columns_found(tmp_path):
    frame = _reviews().rename(columns={"review": "body"})
    with pytest.raises(DataError, match=r"reviews\.csv: no column 'review'\. Columns found: body, stars\. Set data.text_column"):
        _load(tmp_path, frame)


def test_empty_texts_are_listed_by_row(tmp_path):
    frame = _reviews()
    frame.loc[[3, 10], "review"] = ["", "   "]
    with pytest.raises(DataError, match=r"reviews\.csv: 2 empty value\(s\) in column 'review' at row\(s\) 4, 11\. .*data.empty_texts: drop"):
        _load(tmp_path, frame)


def test_empty_texts_can_be_dropped_on_request(tmp_path):
    frame = _reviews()
    frame.loc[[3, 10], "review"] = ["", "   "]
    data, _ = _load(tmp_path, frame, empty_texts="drop")
    assert data.report.empty_dropped == 2
    assert sum(data.report.split_sizes.values()) == 58


def test_unknown_label_names_value_and_rows(tmp_path):
    frame = _reviews()
    frame.loc[[5, 7], "stars"] = ["6", "five"]
    with pytest.raises(DataError, match=r"column 'stars' has unknown label\(s\): '6' \(row\(s\) 6\); 'five' \(row\(s\) 8\)\. .*data.label_mapping"):
        _load(tmp_path, frame)


def test_empty_label_is_named(tmp_path):
    frame = _reviews()
    frame.loc[2, "stars"] = ""
    with pytest.raises(DataError, match=r"1 empty label\(s\) in column 'stars' at row\(s\) 3"):
        _load(tmp_path, frame)


def test_class_too_small_to_split(tmp_path):
    frame = _reviews(60)
    frame["stars"] = ["5"] * 40 + ["1"] * 16 + ["3"] * 4  # neutral: 4 rows
    with pytest.raises(DataError, match=r"class 'neutral' has 4 row\(s\) after cleaning; at least 10 are needed"):
        _load(tmp_path, frame)


def test_file_that_is_not_utf8(tmp_path):
    raw = "review,stars\nfine,5\nnot bad,4\ncaf\u00e9 was awful,1\n".encode("latin-1")
    with pytest.raises(DataError, match=r"reviews\.csv: line 4 is not valid utf-8-sig \(byte 0xe9.*\)\. Re-save the file as UTF-8"):
        _load(tmp_path, raw=raw)


def test_unparseable_file_is_named(tmp_path):
    raw = b'review,stars\n"unterminated quote,5\n'
    with pytest.raises(DataError, match=r"reviews\.csv: could not be parsed as csv"):
        _load(tmp_path, raw=raw)


def test_cli_reports_the_error_and_writes_nothing(tmp_path):
    frame = _reviews()
    frame.loc[5, "stars"] = "6"
    data_path = tmp_path / "reviews.csv"
    frame.to_csv(data_path, index=False)
    config = write_config(tmp_path, {"data": {"source": str(data_path)}})
    done = subprocess.run([sys.executable, "-m", "finetune_cookbook", "train", str(config)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "error:" in done.stderr and "'6' (row(s) 6)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_predict_on_a_folder_without_a_model(tmp_path):
    texts = tmp_path / "new.txt"
    texts.write_text("fine\n")
    _, err = run_in_process("predict", tmp_path, texts, expect=2)
    assert "no saved model here" in err
