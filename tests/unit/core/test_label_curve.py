"""Label-efficiency curves: nested stratified subsets, the curve table, and the labels fine-tuning saves."""

import numpy as np
import pandas as pd
import pytest

from finetune_cookbook.core.label_curve import crossings, curve_table, labels_saved, nested_subset


def test_subsets_are_stratified_nested_and_repeatable():
    labels = np.array([0] * 800 + [1] * 150 + [2] * 50)
    small, large = nested_subset(labels, 0.1, seed=3), nested_subset(labels, 0.5, seed=3)
    assert np.bincount(labels[small]).tolist() == [80, 15, 5]
    assert np.bincount(labels[large]).tolist() == [400, 75, 25]
    assert set(small) <= set(large)
    assert np.array_equal(small, nested_subset(labels, 0.1, seed=3))
    assert not np.array_equal(small, nested_subset(labels, 0.1, seed=4))
    assert len(nested_subset(labels, 1.0, seed=3)) == len(labels)


def test_every_class_keeps_a_row_however_small_the_budget():
    labels = np.array([0] * 500 + [1] * 3)
    assert np.bincount(labels[nested_subset(labels, 0.01, seed=0)]).tolist() == [5, 1]


def _table(points: dict[str, dict[float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"approach": a, "label_budget": b, "mean": m, "std": 0.0, "count": 3}
                         for a, curve in points.items() for b, m in curve.items()])


def test_the_saving_is_read_between_budgets_on_a_straight_line():
    table = _table({"scratch": {0.1: 0.3, 1.0: 0.7}, "fine_tuned": {0.1: 0.5, 0.25: 0.6, 0.5: 0.8, 1.0: 0.85}})
    saved = labels_saved(table, "macro_f1")
    assert saved.matching_budget == pytest.approx(0.375) and saved.interpolated
    assert saved.saving == pytest.approx(1 / 0.375)
    assert "interpolated" in saved.sentence() and "2.7x" in saved.sentence()


def test_a_curve_above_the_reference_from_the_start_matches_at_its_smallest_budget():
    saved = labels_saved(_table({"scratch": {1.0: 0.6}, "fine_tuned": {0.1: 0.65, 1.0: 0.9}}), "accuracy")
    assert saved.matching_budget == 0.1 and not saved.interpolated and saved.saving == pytest.approx(10)


def test_no_saving_is_claimed_where_the_fine_tune_never_reaches_the_reference():
    saved = labels_saved(_table({"scratch": {1.0: 0.9}, "fine_tuned": {0.1: 0.5, 1.0: 0.85}}), "roc_auc")
    assert saved.saving is None and "At no budget" in saved.sentence()
    assert labels_saved(_table({"fine_tuned": {0.1: 0.5}}), "roc_auc").reference_score is None


def test_records_without_a_budget_used_every_label():
    records = [{"approach": "fine_tuned", "metrics": {"macro_f1": 0.8}, "metrics_std": {"macro_f1": 0.02},
                "per_seed": {"macro_f1": [0.78, 0.8, 0.82]}},
               {"approach": "fine_tuned", "label_budget": 0.25, "metrics": {"macro_f1": 0.6}},
               {"approach": "scratch", "metrics": {"accuracy": 0.5}}]
    table = curve_table(records, "macro_f1")
    assert table[["label_budget", "mean", "std", "count"]].values.tolist() == [[0.25, 0.6, 0.0, 1], [1.0, 0.8, 0.02, 3]]


def test_crossings_say_where_one_curve_passes_another():
    table = _table({"fine_tuned": {0.01: 0.3, 0.05: 0.4, 0.2: 0.5}, "trees": {0.01: 0.2, 0.05: 0.45, 0.2: 0.6}})
    said = crossings(table, "fine_tuned", "trees")
    assert said[0].startswith("At 1% of the labels fine_tuned is ahead of trees")
    assert said[1].startswith("At 5% of the labels fine_tuned falls behind trees") and len(said) == 2
    counts = _table({"fine_tuned": {5: 0.8, 10: 0.9}, "trees": {5: 0.5, 10: 0.6}})
    assert crossings(counts, "fine_tuned", "trees", name_of=lambda n: f"{n} per intent") == [
        "At 5 per intent fine_tuned is ahead of trees (0.800 against 0.500). It stays ahead up to 10 per intent."]
