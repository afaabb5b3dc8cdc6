"""Predictions that cannot mislead: an empty review gets no label, the same scan at 8 and 16 bits gets the same
class, values far outside training are named, an unreadable link gets a row, columns keep the model's class
order, a long run shows progress, and Ctrl-C or a full disk ends in one line with no partial output."""

import errno
import os

import numpy as np
import pandas as pd
import pytest
from conftest import run_in_process, small_disk
from PIL import Image

from finetune_cookbook.config import load_config
from finetune_cookbook.core import progress
from finetune_cookbook.recipe import train
from finetune_cookbook.tabular.columns import TabularEncoder, flag_out_of_range
from finetune_cookbook.tasks.image_classification import predict as predict_images
from finetune_cookbook.text import classifier
from finetune_cookbook.vision.backbones import build_classifier, save_classifier
from finetune_cookbook.vision.runtime import read_image

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def review_run(tmp_path_factory, tiny_model_dir):
    """A tiny review classifier, trained once for this file's text tests."""
    from conftest import write_config

    folder = tmp_path_factory.mktemp("reviews")
    config = write_config(folder, {"data": {"sample_size": 90}, "model": {"name": str(tiny_model_dir), "max_length": 32},
                                   "training": {"epochs": 1, "batch_size": 16, "early_stopping_patience": None}})
    return train(load_config(config)).output_dir


def _reviews(tmp_path, texts):
    path = tmp_path / "new.csv"
    pd.DataFrame({"id": range(len(texts)), "review": texts}).to_csv(path, index=False)
    return path


def test_an_empty_review_gets_a_blank_label_and_a_note(review_run, tmp_path):
    path = _reviews(tmp_path, ["great phone, works well", "", "   ", "broke after a day"])
    out, err = run_in_process("predict", review_run, path)
    table = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert table["label"].tolist()[1:3] == ["", ""] and all(table["label"].tolist()[i] for i in (0, 3))
    assert table["confidence"].tolist()[1:3] == ["", ""]  # no number at all, not a confident 0.86
    assert table["note"].tolist() == ["", "empty text: not labelled", "empty text: not labelled", ""]
    assert "2 empty text(s) at row(s) 2, 3" in err


def test_an_empty_line_in_a_one_column_file_is_a_row_not_a_gap(review_run, tmp_path):
    """pandas skips blank lines, and in a file of one column an empty cell is a blank line: the row must stay."""
    path = tmp_path / "reviews.csv"
    path.write_text("review\ngreat phone that works well\n\n   \nbroke after a day\n")
    out, err = run_in_process("predict", review_run, path, "--column", "review")
    table = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert len(table) == 4 and table["review"].tolist()[0] == "great phone that works well"
    assert table["note"].tolist() == ["", "empty text: not labelled", "empty text: not labelled", ""]
    assert table["label"].tolist()[1:3] == ["", ""] and "2 empty text(s) at row(s) 2, 3" in err


def test_an_output_that_is_the_input_file_is_refused_and_the_data_kept(review_run, tmp_path):
    path = _reviews(tmp_path, ["great phone, works well", "broke after a day"])
    before = path.read_bytes()
    _, err = run_in_process("predict", review_run, path, "--output", tmp_path / "." / "new.csv", expect=2)
    assert "is the file being predicted" in err and len(err.strip().splitlines()) == 1
    assert path.read_bytes() == before  # not replaced by its own predictions


def test_probability_columns_follow_the_model_s_class_order(review_run, tmp_path):
    labels = [label for label in classifier.TextPredictor(review_run).labels]
    for texts in (["awful awful awful"], ["wonderful, perfect, love it"]):  # whichever class ranks first
        out, _ = run_in_process("predict", review_run, _reviews(tmp_path, texts))
        header = out.splitlines()[0].split(",")
        assert header[header.index("confidence") + 1:] == [f"p_{label}" for label in labels]


def test_progress_shows_rows_rate_and_time_left_on_stderr(review_run, tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)  # a line per chunk, as a log of a long run would get
    monkeypatch.setattr(classifier, "PREDICT_CHUNK", 2)
    out, err = run_in_process("predict", review_run, _reviews(tmp_path, [f"review {i} is fine" for i in range(5)]))
    assert "predicting: 2/5 texts (40%)" in err and "texts/s" in err and "left" in err
    assert "predicting" not in out  # stdout holds the CSV alone


def test_ctrl_c_during_predict_leaves_one_line_and_no_file(review_run, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classifier.TextPredictor, "table", interrupted)
    output = tmp_path / "labels.csv"
    _, err = run_in_process("predict", review_run, _reviews(tmp_path, ["fine"]), "--output", output, expect=130)
    assert err.strip().splitlines()[-1] == "interrupted: cookbook predict stopped; no partial result was written."
    assert "Traceback" not in err
    assert not output.exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.skipif(os.geteuid() != 0, reason="a full disk is a 2 MB tmpfs, and mounting one needs root")
def test_a_full_disk_in_predict_says_so_and_leaves_no_file(review_run, tmp_path):
    with small_disk(tmp_path / "disk", "64k") as disk:
        (disk / "filler").write_bytes(b"x" * 60_000)
        texts = [f"review {i} " + "words " * 40 for i in range(40)]  # about 12 KB of predictions
        output = disk / "labels.csv"
        _, err = run_in_process("predict", review_run, _reviews(tmp_path, texts), "--output", output, expect=1)
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"error: the disk is full: cookbook predict could not write to {output} ("), last
        assert "MB free there now" in last and "Traceback" not in err
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]  # no labels.csv, no labels.csv.partial


def test_the_disk_full_check_reads_torch_and_safetensors_errors():
    from finetune_cookbook.core.errors import disk_full

    assert disk_full(RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 18752 vs 18644"))
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    wrapped = RuntimeError("saving failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert disk_full(wrapped) and disk_full(ValueError("a bad value")) is None


# ------------------------------------------------------------------------------------------------------ images

@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    """A saved image classifier (the small CNN, untrained: what matters is that inputs are read alike)."""
    from finetune_cookbook.core.saving import save_atomically

    model = build_classifier("scratch", 2).eval()
    info = {"task": "image_classification", "image_size": 32, "normalisation": [[0.5] * 3, [0.5] * 3],
            "test_time_flip": False, "labels": ["benign", "malignant"], "threshold": 0.5,
            "positive_class": "malignant", "image_column": "image"}
    return save_atomically(tmp_path_factory.mktemp("image-model"), lambda to: save_classifier(model, to), info)


def test_the_same_scan_at_8_and_16_bits_gets_the_same_class(image_model, tmp_path):
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 90, (40, 40), dtype=np.uint8)  # a faint scan: stretching it would brighten it
    Image.fromarray(eight, "L").save(tmp_path / "scan8.png")
    Image.fromarray(eight.astype(np.uint16) * 257).save(tmp_path / "scan16.png")
    assert Image.open(tmp_path / "scan16.png").mode.startswith("I;16")
    table = predict_images(image_model, [str(tmp_path / "scan8.png"), str(tmp_path / "scan16.png")])
    assert table["label"].iloc[0] == table["label"].iloc[1]
    assert table["p_malignant"].iloc[0] == pytest.approx(table["p_malignant"].iloc[1], abs=1e-6)
    # an export's runtime.py reads both as the same pixels too
    assert np.array_equal(np.asarray(read_image(str(tmp_path / "scan16.png"))[0]),
                          np.asarray(read_image(str(tmp_path / "scan8.png"))[0]))


def test_broken_and_looping_links_get_skipped_rows(image_model, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    Image.fromarray(np.full((40, 40), 99, np.uint8), "L").save(folder / "good.png")
    (folder / "gone.png").symlink_to(tmp_path / "deleted.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    out, _ = run_in_process("predict", image_model, folder)
    table = pd.read_csv(pd.io.common.StringIO(out))
    by_file = table.set_index(table["file"].map(lambda f: os.path.basename(f)))
    assert sorted(by_file.index) == ["gone.png", "good.png", "loop.png"]
    assert by_file.loc["gone.png", "skipped"].startswith("a link to a file that does not exist")
    assert by_file.loc["loop.png", "skipped"].startswith("a link to a file that does not exist, or a loop")
    assert pd.isna(by_file.loc["good.png", "skipped"]) and by_file["label"].isna().sum() == 2


# ----------------------------------------------------------------------------------------------------- tabular

def test_values_far_outside_the_training_range_are_named_and_flagged():
    rng = np.random.default_rng(0)
    train_rows = pd.DataFrame({"spend": rng.uniform(0, 5000, 300).round(2).astype(str),
                               "hour": rng.integers(0, 24, 300).astype(str),
                               "amount": rng.uniform(1, 900, 300).round(2).astype(str)})
    kinds = {"spend": "numeric", "hour": "numeric", "amount": "numeric"}
    encoder = TabularEncoder(kinds).fit(train_rows, "train.csv")
    new = pd.DataFrame({"spend": ["120", "1e9", "4999"], "hour": ["3", "12", "99"], "amount": ["50", "-1e308", "7"]})
    out = pd.DataFrame({"row": [1, 2, 3]})
    notes = flag_out_of_range(out, encoder, new, "new.csv")
    assert out["out_of_range"].iloc[0] == ""
    assert out["out_of_range"].iloc[1].startswith("spend=1e+09 (training ") and "amount=-1e+308" in out["out_of_range"].iloc[1]
    assert out["out_of_range"].iloc[2].startswith("hour=99 (training 0 to 23)")
    assert len(notes) == 1 and notes[0].startswith("2 row(s) hold values far outside the training range")
    assert "row 2: spend=1e+09" in notes[0] and "row 3: hour=99" in notes[0]
    inside = pd.DataFrame({"row": [1]})
    assert flag_out_of_range(inside, encoder, new.iloc[:1], "new.csv") == [] and "out_of_range" not in inside
