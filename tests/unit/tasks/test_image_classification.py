"""Unit tests for image prediction's row order, what the model cards say about the data, and config errors."""

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, write_config
from PIL import Image

from finetune_cookbook.config import load_config
from finetune_cookbook.core.data import DataReport
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.saving import save_atomically
from finetune_cookbook.tasks import image_classification as task
from finetune_cookbook.tasks.image_classification.card import image_model_card
from finetune_cookbook.text.card import model_card
from finetune_cookbook.vision.backbones import build_classifier, save_classifier

IMAGE_RECIPE = ROOT / "recipes" / "tumor_image_classification" / "config.yaml"
TEXT_RECIPE = ROOT / "recipes" / "review_sentiment" / "config.yaml"
LABELS = ["benign", "malignant"]


@pytest.fixture(scope="module")
def untrained_model(tmp_path_factory):
    """A saved image classifier as `predict` reads it: the small CNN, untrained (its answers do not matter here)."""
    folder = tmp_path_factory.mktemp("image-model")
    model = build_classifier("scratch", len(LABELS)).eval()
    info = {"task": "image_classification", "image_size": 32, "normalisation": [[0.5] * 3, [0.5] * 3],
            "test_time_flip": False, "labels": LABELS, "threshold": 0.5, "positive_class": "malignant",
            "image_column": "image"}
    return save_atomically(folder, lambda target: save_classifier(model, target), info)


def _png(path, value: int):
    pixels = np.full((40, 40), value, dtype=np.uint8)
    pixels[:20] = 255 - value
    Image.fromarray(pixels, "L").save(path)
    return str(path)


def test_predict_keeps_the_input_order_with_unreadable_files(untrained_model, tmp_path):
    new = [_png(tmp_path / f"new_{i}.png", 40 * i) for i in range(3)]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    listing = [new[0], new[1], str(broken), new[2]]

    for batch_size in (32, 2, 1):  # the unreadable file first, in the middle and last of its batch
        table = task.predict(untrained_model, listing, batch_size=batch_size)
        assert table["file"].tolist() == listing, batch_size
        assert table["label"].isna().tolist() == [False, False, True, False]
        assert table["skipped"].notna().tolist() == [False, False, True, False]
        assert table.columns[:3].tolist() == ["file", "label", "confidence"] and table.columns[-1] == "skipped"

    csv = tmp_path / "scans.csv"
    pd.DataFrame({"image": [new[0], new[1], str(broken)]}).to_csv(csv, index=False)
    table = task.predict_file(untrained_model, csv)
    assert table["file"].tolist() == [new[0], new[1], str(broken)]
    assert "skipped" not in task.predict(untrained_model, new).columns  # a column only when a file was skipped


def test_predict_with_a_whole_batch_unreadable_keeps_the_order(untrained_model, tmp_path):
    good = _png(tmp_path / "good.png", 90)
    broken = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in broken:
        path.write_bytes(b"")
    listing = [good, str(broken[0]), str(broken[1]), good]
    table = task.predict(untrained_model, listing, batch_size=2)
    assert table["file"].tolist() == listing
    assert table["label"].notna().tolist() == [True, False, False, True]


def _report(skipped: int = 0) -> DataReport:
    return DataReport(source="scans/", rows_read=101 + skipped, class_counts={"benign": 50, "malignant": 51},
                      split_sizes={"train": 62, "validation": 13, "test": 26}, made_splits=["train", "validation", "test"],
                      skipped=[f"scans/broken_{i}.png: not an image file" for i in range(skipped)])


def _image_card(report: DataReport) -> str:
    metrics = {"accuracy": 0.9, "roc_auc": 0.95, "sensitivity": 0.9, "specificity": 0.8, "threshold": 0.4}
    return image_model_card(load_config(IMAGE_RECIPE), report, metrics, LABELS, "outputs/tumor", made_by="a test")


def test_image_card_says_how_many_skipped_files_it_leaves_out_and_where_they_all_are():
    card = _image_card(_report(skipped=6))
    line = next(line for line in card.splitlines() if "files skipped" in line)
    assert "files skipped: 6 (" in line
    assert all(f"broken_{i}.png" in line for i in range(5)) and "broken_5.png" not in line
    assert "… and 1 more, all listed in the run's `metrics.json`" in line

    exactly_five = next(line for line in _image_card(_report(skipped=5)).splitlines() if "files skipped" in line)
    assert "broken_4.png" in exactly_five and "more" not in exactly_five
    assert "files skipped: none." in _image_card(_report())


def test_image_card_counts_the_training_images_apart_from_validation_and_test():
    card = _image_card(_report())
    assert "Trained on 62 images (the train split of 101: train 62, validation 13, test 26)" in card
    assert "Trained on 101" not in card


def test_text_card_counts_the_training_rows_apart_from_validation_and_test():
    report = _report()
    metrics = {"accuracy": 0.9, "macro_f1": 0.88, **{f"{kind}_{label}": 0.9 for kind in ("precision", "recall")
                                                      for label in LABELS}}
    card = model_card(load_config(TEXT_RECIPE), report, metrics, LABELS, "outputs/reviews", made_by="a test")
    assert "Trained on 62 rows (the train split of 101: train 62, validation 13, test 26)" in card
    assert "Trained on 101" not in card


def test_unknown_setting_lists_the_known_ones_but_not_internal_fields(tmp_path):
    path = write_config(tmp_path, {"outputdir": "x"})
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) outputdir") as raised:
        load_config(path)
    known = str(raised.value).split("Known settings: ")[1]
    assert "output_dir" in known and "config_path" not in known
    # a saved config.yaml holds config_path, and still loads: the loader sets it to the file read
    saved = write_config(tmp_path, {"config_path": "elsewhere.yaml"})
    assert load_config(saved).config_path == str(saved)
