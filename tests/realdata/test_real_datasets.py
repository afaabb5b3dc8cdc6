"""The real datasets load through the recipe configs unchanged (no training: that is `make bench`)."""

import pytest
from conftest import REAL_DATA, ROOT

from finetune_cookbook.config import load_config
from finetune_cookbook.tasks.text_classification import load_data

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not (REAL_DATA / "amazon_alexa_reviews").is_dir(), reason="../shared/datasets is not here"),
]


def test_alexa_config_reads_the_real_reviews():
    config = load_config(ROOT / "recipes" / "review_sentiment" / "bench_alexa.yaml")
    data = load_data(config)
    report = data.report
    assert report.rows_read == 3150
    assert report.empty_dropped == 79  # whitespace-only reviews, dropped as the config asks
    assert report.duplicates_dropped == 780
    assert report.class_counts == {"negative": 206, "neutral": 105, "positive": 1980}
    assert sum(report.split_sizes.values()) == 2291


@pytest.mark.skipif(not (REAL_DATA / "banking77").is_dir(), reason="../shared/datasets/banking77 is not here")
def test_a_folder_of_split_files_keeps_the_official_test_split():
    config = load_config(ROOT / "recipes" / "review_sentiment" / "config.yaml", {"data": {
        "source": str(REAL_DATA / "banking77"), "text_column": "text", "label_column": "category",
        "label_mapping": None, "labels": None}})
    report = load_data(config).report
    assert report.given_splits == ["train", "test"] and report.made_splits == ["validation"]
    assert report.split_sizes["test"] == 3080  # the official test split, untouched
    assert report.split_sizes["train"] + report.split_sizes["validation"] + report.duplicates_dropped \
        + sum(report.cross_split_duplicates.values()) == 10003
