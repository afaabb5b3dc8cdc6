"""The real datasets load through the recipe configs unchanged (no training: that is `make bench`)."""

import pandas as pd
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


@pytest.mark.skipif(not (REAL_DATA / "breastmnist").is_dir(), reason="../shared/datasets/breastmnist is not here")
def test_the_image_bench_configs_read_the_real_scans():
    from finetune_cookbook.tasks import image_classification

    recipes = ROOT / "recipes" / "tumor_image_classification"
    breast = image_classification.load_data(load_config(recipes / "bench_breastmnist.yaml")).report
    assert breast.given_splits == ["train", "validation", "test"] and breast.made_splits == []
    assert breast.split_sizes["test"] == 156 and breast.split_sizes["validation"] == 78
    assert breast.cross_split_duplicates == {"train": 1}  # one training image repeats a test image's pixels
    brain = image_classification.load_data(load_config(recipes / "bench_brain_mri.yaml")).report
    assert brain.rows_read == 253 and brain.duplicates_dropped == 25  # the 25 byte-identical copies
    assert sum(brain.split_sizes.values()) == 228 and brain.skipped == []


@pytest.mark.skipif(not (REAL_DATA / "banking77").is_dir(), reason="../shared/datasets/banking77 is not here")
def test_the_intent_bench_config_reads_banking77_with_its_official_test_split():
    from finetune_cookbook.tasks import intent

    config = load_config(ROOT / "recipes" / "support_chatbot_intent" / "bench_banking77.yaml")
    data = intent.load_data(config)
    assert len(data.labels) == 77
    assert data.report.given_splits == ["train", "test"] and data.report.split_sizes["test"] == 3080
    assert data.splits["test"]["label"].value_counts().eq(40).all()
    assert len(data.out_of_scope) == 0


@pytest.mark.skipif(not (REAL_DATA / "vehicle_insurance_claim_fraud").is_dir(),
                    reason="../shared/datasets/vehicle_insurance_claim_fraud is not here")
def test_the_fraud_bench_config_reads_the_claims_in_time_order():
    from finetune_cookbook.tasks import anomaly_detection

    data = anomaly_detection.load_data(load_config(ROOT / "recipes" / "fraud_anomaly_detection" / "bench_insurance.yaml"))
    assert data.report.rows_read == 15420
    assert data.report.split_sizes == {"train": 10023, "validation": 1542, "test": 3855}
    assert data.report.class_counts == {"genuine": 14497, "fraud": 923}
    years = {split: set(frame["Year"]) for split, frame in data.splits.items()}
    assert years["train"] == {"1994", "1995"} and years["test"] == {"1996"}  # the latest claims are the test split
    assert "PolicyNumber" not in data.kinds and "Year" not in data.kinds
    assert data.kinds["VehiclePrice"] == "band" and data.kinds["Fault"] == "categorical"
    assert data.kinds["PoliceReportFiled"] == "boolean"


@pytest.mark.skipif(not (REAL_DATA / "customer_personality_marketing_campaign").is_dir(),
                    reason="../shared/datasets/customer_personality_marketing_campaign is not here")
def test_the_marketing_bench_config_reads_the_customers_and_handles_their_outliers():
    from finetune_cookbook.tasks import segmentation

    data = segmentation.load_data(load_config(ROOT / "recipes" / "marketing_segmentation" / "bench_marketing.yaml"))
    assert data.report.rows_read == 2240
    # 110 customers repeat a later split's customer in every column but the identifier: they leave train and
    # validation (13 and 97), and 17 test customers repeat another test customer
    assert data.report.cross_split_duplicates == {"validation": 13, "train": 97} and data.report.test_repeats == 17
    assert data.report.split_sizes == {"train": 1247, "validation": 323, "test": 560}
    assert data.report.class_counts == {"no_response": 1812, "responded": 318}
    assert str(data.customers.snapshot.date()) == "2014-06-29"  # the latest join date, read day-first
    assert data.kinds["Z_CostContact"] == data.kinds["Z_Revenue"] == "constant"
    assert "Dt_Customer" not in data.kinds and "Year_Birth" not in data.kinds and "ID" not in data.kinds
    notes = " ".join(data.report.notes)
    assert "'Year_Birth', row(s) 193, 240, 340" in notes  # born 1893, 1899, 1900: ages set to missing
    ages = pd.concat(data.splits.values())["age"]
    assert ages.max() <= 100 and ages.isna().sum() == 3
