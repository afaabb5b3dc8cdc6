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
