"""Segments and customer features: the best segment's floor, held-out lift, stability, names, targeting, RFM."""

import numpy as np
import pandas as pd
import pytest

from finetune_cookbook.core.errors import DataError
from finetune_cookbook.tasks.segmentation.config import SegmentationConfig
from finetune_cookbook.tasks.segmentation.customers import CustomerColumns, spend_labels
from finetune_cookbook.tasks.segmentation.segments import (
    best_segment,
    contact_order,
    contact_plan,
    fit_segments,
    held_out_lift,
    response_by_segment,
    segment_names,
    stability,
    targeting,
)


def blobs(seed: int = 0, per_blob: int = 60, spread: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [5, 0], [0, 5]])
    return np.vstack([c + spread * rng.standard_normal((per_blob, 2)) for c in centres])


def test_a_best_segment_must_hold_the_minimum_share():
    labels = np.array([0] * 4 + [1] * 50 + [2] * 46)
    responded = np.array([1] * 4 + [1] * 10 + [0] * 40 + [0] * 46)
    assert best_segment(labels, responded, 3, min_share=0.0) == 0  # four customers, all responded
    assert best_segment(labels, responded, 3, min_share=0.05) == 1  # ... but 4% is not a campaign


def test_held_out_lift_is_the_segment_rate_over_the_average():
    labels = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    responded = np.array([1, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    lift = held_out_lift(labels, responded, 0)
    assert lift["lift"] == pytest.approx(1.0 / 0.3) and lift["best_segment_share"] == pytest.approx(0.2)


def test_separate_blobs_are_stable_and_overlapping_noise_is_not():
    assert stability(blobs(), 3, seed=0, runs=3) == pytest.approx(1.0)
    noise = np.random.default_rng(1).standard_normal((180, 2))
    assert stability(noise, 6, seed=0, runs=3) < 0.9


def test_segments_assign_new_points_to_the_nearest_centre():
    segments = fit_segments(blobs(), 3, seed=0)
    assigned = segments.assign(np.array([[0.1, 0.0], [5.1, 0.1], [0.0, 4.9]]))
    assert len(set(assigned)) == 3
    assert (segments.assign(blobs(seed=2)) == segments.assign(blobs(seed=2))).all()


def test_response_by_segment_keeps_empty_segments():
    table = response_by_segment(np.array([0, 0, 2]), np.array([1, 0, 1]), 4)
    assert table["customers"].tolist() == [2, 0, 1, 0] and table["response_rate"].tolist() == [0.5, 0.0, 1.0, 0.0]


def test_segment_names_describe_what_sets_a_segment_apart_and_are_unique():
    features = pd.DataFrame({"monetary": [10, 12, 11, 900, 950, 980], "recency": [80, 90, 85, 5, 3, 4]})
    words = {"monetary": ("big spenders", "low spenders"), "recency": ("lapsed", "recent buyers")}
    names = segment_names(features, np.array([0, 0, 0, 1, 1, 1]), 2, words)
    assert set(names[0].split(", ")) == {"low spenders", "lapsed"}
    assert set(names[1].split(", ")) == {"big spenders", "recent buyers"}
    twins = segment_names(features, np.array([0, 1, 0, 2, 2, 2]), 3, words)
    assert len(set(twins)) == 3


def test_targeting_contacts_the_best_segments_first():
    rates = pd.Series([0.05, 0.40])
    labels = np.array([0] * 80 + [1] * 20)
    responded = np.array([0] * 76 + [1] * 4 + [1] * 10 + [0] * 10)
    outcome = targeting(rates, labels, responded, contacts=20, seed=0)
    assert outcome["responses"] == 10 and outcome["random_responses"] == pytest.approx(20 * 0.14)
    assert outcome["expected_responses"] == pytest.approx(8.0)


@pytest.mark.parametrize("contacts, contacted", [(30, [20, 10, 0, 0]), (95, [20, 20, 50, 5])])
def test_the_contact_plan_fills_the_best_segment_then_the_next(contacts, contacted):
    rates = pd.Series([0.05, 0.40, 0.20])  # segment 3 has no training customers: no rate, contacted last
    labels = np.array([0] * 50 + [1] * 20 + [2] * 20 + [3] * 10)
    plan = contact_plan(rates, labels, contact_order(rates, labels, seed=0)[:contacts], k=4)
    assert plan.index.tolist() == [1, 2, 0, 3]
    assert plan["contacted"].tolist() == contacted and plan["customers"].tolist() == [20, 20, 50, 10]


def test_spend_labels_drop_the_shared_prefix():
    assert spend_labels(["MntWines", "MntFruits", "MntGoldProds"]) == ["Wines", "Fruits", "GoldProds"]
    assert spend_labels(["spend_wine"]) == ["spend_wine"]


def customers_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "row": [2, 3, 4], "days": ["5", "40", "90"], "web": ["3", "0", "1"], "shop": ["2", "1", ""],
        "wine": ["100", "0", "30"], "meat": ["300", "0", "10"], "joined": ["2024-01-01", "2025-01-01", "2023-06-30"],
        "born": ["1980", "1910", ""], "kids": ["2", "0", "1"], "status": ["Married", "single", "Together"],
    })


def columns(**changes) -> CustomerColumns:
    roles = dict(recency_column="days", purchase_columns=["web", "shop"], spend_columns=["wine", "meat"],
                 joined_column="joined", birth_year_column="born", household_columns=["kids"], partner_column="status",
                 snapshot_date="2025-06-30")
    settings = SegmentationConfig(**{**roles, **changes})
    customer_columns = CustomerColumns(settings)
    customer_columns.fit_snapshot(customers_frame(), "customers.csv")
    return customer_columns


def test_rfm_shares_tenure_age_and_household_size():
    made = columns().add_features(customers_frame(), "customers.csv")
    assert made["frequency"].tolist() == [5, 1, 1] and made["monetary"].tolist() == [400, 0, 40]
    assert made["share_wine"].tolist() == pytest.approx([0.25, 0.0, 0.75])  # no spend: shares of 0, not NaN
    assert made["tenure_days"].tolist() == [546, 180, 731]
    assert made["age"].iloc[0] == 45 and made["age"].iloc[1:].isna().all()  # 115 is implausible; empty is missing
    assert made["household_size"].tolist() == [4, 1, 3]  # the customer, a partner (any case), the children


def test_a_customer_with_every_spend_cell_empty_has_unknown_spend_not_zero():
    frame = customers_frame().assign(wine=["", "0", "30"], meat=["", "0", "10"])
    made = columns().add_features(frame, "customers.csv")
    assert np.isnan(made["monetary"].iloc[0]) and np.isnan(made["share_wine"].iloc[0])
    assert made["monetary"].iloc[1] == 0 and made["share_wine"].iloc[1] == 0  # spent nothing: known


def test_the_implausible_age_is_reported_with_its_row():
    customer_columns = columns()
    customer_columns.add_features(customers_frame(), "customers.csv")
    assert customer_columns.notes() == ["Set to missing as implausible (an age over 100): column 'born', row(s) 3."]


def test_dates_in_another_format_need_the_date_format():
    frame = customers_frame().assign(joined=["01/02/2024", "15/01/2025", "30/06/2023"])
    with pytest.raises(DataError, match=r"column 'joined' holds dates.*row\(s\) 2, 3, 4.*segmentation.date_format"):
        columns().add_features(frame, "customers.csv")
    made = columns(date_format="%d/%m/%Y").add_features(frame, "customers.csv")
    assert made["tenure_days"].tolist() == [515, 166, 731]


def test_the_campaign_plan_lists_the_contacted_customers_by_their_rows_and_identifiers():
    from types import SimpleNamespace

    from finetune_cookbook.tasks.segmentation import campaign_plan

    labels = np.array([0, 1, 2] * 10)
    frame = pd.DataFrame({"row": np.arange(2, 32), "customer_id": [f"C{i:02d}" for i in range(30)], "income": 1.0})
    run = SimpleNamespace(labels={"test": labels}, training_rates=pd.Series([0.1, 0.3, 0.2]), seed=0, k=3)
    config = SimpleNamespace(tabular=SimpleNamespace(drop_columns=["customer_id"]))
    plan, customers = campaign_plan(SimpleNamespace(splits={"test": frame}), config, run, ["a", "b", "c"], 0.5)
    assert plan["name"].tolist() == ["b", "c", "a"] and plan["contacted"].tolist() == [10, 5, 0]
    assert list(customers.columns) == ["row", "customer_id", "segment"] and len(customers) == 15
    positions = customers["row"].to_numpy() - 2
    assert (customers["customer_id"] == frame["customer_id"].iloc[positions].to_numpy()).all()
    assert customers["segment"].tolist() == [["a", "b", "c"][s] for s in labels[positions]]
    assert customers["segment"].head(10).eq("b").all()


def test_an_age_column_stands_in_for_a_birth_year_and_ages_given_as_birth_years_are_refused():
    frame = customers_frame().assign(age=["45", "130", ""])
    made = columns(birth_year_column=None, age_column="age").add_features(frame, "customers.csv")
    assert made["age"].iloc[0] == 45 and made["age"].iloc[1:].isna().all()  # 130 is implausible
    with pytest.raises(DataError, match=r"'born' is segmentation.birth_year_column, but most of its values \(45, 30, 61\) "
                                        r"look like ages.*segmentation.age_column"):
        columns().add_features(customers_frame().assign(born=["45", "30", "61"]), "customers.csv")
    with pytest.raises(DataError, match=r"file has column\(s\) 'age'.*would overwrite"):
        columns().check_config(list(frame.columns), "customers.csv")
    columns(birth_year_column=None, age_column="age").check_config(list(frame.columns), "customers.csv")


def test_negative_values_name_their_role_and_the_way_out():
    with pytest.raises(DataError, match=r"row\(s\) 2, 4 \(-1, -1\): the value cannot be negative as "
                                        r"segmentation.recency_column.*tabular.missing_values \(e.g. \{days: \[-1\]\}\)"):
        columns().add_features(customers_frame().assign(days=["-1", "40", "-1"]), "customers.csv")
    balance = customers_frame().assign(balance=["-50", "10", "3"])
    with pytest.raises(DataError, match=r"as segmentation.income_column.*leave segmentation.income_column unset"):
        columns(income_column="balance").add_features(balance, "customers.csv")
    with pytest.raises(DataError, match=r"'days' is segmentation.recency_column, which must be a number of days since "
                                        r"the last purchase \(not a date\), but row\(s\) 2"):
        columns().add_features(customers_frame().assign(days=["2024-01-01", "40", "9"]), "customers.csv")


def test_a_new_customer_who_joined_after_the_snapshot_does_not_move_anyone_else():
    def placed(joined_last: str) -> pd.DataFrame:
        customer_columns = columns()
        customer_columns.new_customers = True
        made = customer_columns.add_features(customers_frame().assign(
            joined=["2024-01-01", "2025-01-01", joined_last]), "customers.csv")
        return made, customer_columns.notes()

    before, _ = placed("2023-06-30")
    after, notes = placed("2026-03-01")
    assert before["tenure_days"].tolist()[:2] == after["tenure_days"].tolist()[:2] == [546, 180]
    assert after["tenure_days"].iloc[2] == 0 and "counted with a tenure of 0 days: row(s) 4" in notes[-1]
    with pytest.raises(DataError, match="is after the snapshot date 2025-06-30"):  # training data: a mistake
        columns().add_features(customers_frame().assign(joined=["2024-01-01", "2025-01-01", "2026-03-01"]), "c.csv")


def test_segments_the_role_words_leave_unnamed_take_the_files_own_columns():
    features = pd.DataFrame({"monetary": [10, 10, 10, 10, 10, 10], "premium": [1, 1, 1, 9, 9, 9],
                             "insured": [0, 0, 0, 1, 1, 0]})
    words = {"monetary": ("big spenders", "low spenders")}
    fallback = {"premium": ("high premium", "low premium"), "insured": ("insured", "not insured")}
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert segment_names(features, labels, 2, words) == ["average customers (1)", "average customers (2)"]
    assert segment_names(features, labels, 2, words, fallback=fallback) == ["low premium, not insured",
                                                                             "high premium, insured"]
