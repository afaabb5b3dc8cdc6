"""The numpy runtime every tabular export ships, held to the package's scikit-learn and pandas path on messy
rows: missing values, unseen and rare categories, values beyond the training range, text in a number column."""

import numpy as np
import pandas as pd
import pytest

from finetune_cookbook.core.errors import DataError
from finetune_cookbook.tabular import runtime
from finetune_cookbook.tabular.columns import TabularEncoder, infer_column_types, parse_numbers
from finetune_cookbook.tabular.export import encoder_spec


def claims(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amounts = [f"{v:,.2f}" if i % 7 else f"{v:.2f}" for i, v in enumerate(rng.gamma(2, 900, n))]
    frame = pd.DataFrame({
        "amount": amounts,
        "age": [str(v) for v in rng.integers(18, 90, n)],
        "vehicle_price": rng.choice(["less than 20000", "20000 to 29000", "more than 69000"], n),
        "police_report": rng.choice(["Yes", "No", "yes"], n),
        "claimed_on": [f"2024-0{1 + i % 9}-1{i % 10} 1{i % 10}:30" for i in range(n)],
        "make": rng.choice(["Honda", "Toyota", "Mazda", "Lada"], n, p=[0.4, 0.4, 0.18, 0.02]),
    })
    for column in ("amount", "age", "police_report", "make", "claimed_on"):
        frame.loc[rng.choice(n, 12, replace=False), column] = ""  # missing values in training too
    return frame


def messy(frame: pd.DataFrame) -> pd.DataFrame:
    new = frame.head(12).copy().reset_index(drop=True)
    new.loc[0, "make"] = "Tesla"  # unseen
    new.loc[1, "make"] = "Lada"  # rare in training
    new.loc[2, ["amount", "age", "police_report", "make", "vehicle_price", "claimed_on"]] = ""  # all missing
    new.loc[3, "amount"] = "99,999,999.5"  # far beyond the training range, with thousands commas
    new.loc[4, "amount"] = "-3"  # below it
    new.loc[5, "claimed_on"] = "2023-02-30"  # not a date: a missing one
    new.loc[6, "age"] = "  41 "
    return new


def test_numpy_encodes_messy_rows_as_scikit_learn_does():
    frame = claims()
    kinds = infer_column_types(frame, [], None, "claims.csv")
    assert kinds["vehicle_price"] == "band" and kinds["claimed_on"] == "date"
    encoder = TabularEncoder(kinds, min_category_count=10).fit(frame, "claims.csv")
    numpy_encoder = runtime.ColumnEncoder(encoder_spec(encoder))
    new = messy(frame)
    expected = encoder.encode(new, "new.csv")
    features, bad = runtime.model_columns({c: [runtime.cell_text(v) for v in new[c]] for c in new}, kinds)
    assert bad == {}
    numeric, categorical = numpy_encoder.encode(features, len(new))
    np.testing.assert_allclose(numeric, expected.numeric, atol=1e-5)
    np.testing.assert_array_equal(categorical, expected.categorical)
    assert categorical[0, 0] == 0  # unseen


def test_text_in_a_number_column_is_refused_by_both_naming_row_and_column():
    frame = claims()
    kinds = infer_column_types(frame, [], None, "claims.csv")
    new = messy(frame)
    new.loc[7, "amount"] = "twelve"
    with pytest.raises(DataError, match=r"column 'amount' holds numbers, but row\(s\) 8 hold text \('twelve'\)"):
        TabularEncoder(kinds).fit(frame, "claims.csv").encode(new, "new.csv")
    _, bad = runtime.model_columns({c: [runtime.cell_text(v) for v in new[c]] for c in new}, kinds)
    assert list(bad) == ["amount"] and np.flatnonzero(bad["amount"]).tolist() == [7]


@pytest.mark.parametrize("cell, value", [("12.5", 12.5), ("1,234.5", 1234.5), ("-3", -3.0), ("1e3", 1000.0),
                                         ("", np.nan), ("inf", np.nan), ("1e400", np.nan), ("1_000", np.nan),
                                         ("١٢", np.nan), ("12,5", np.nan), ("1,23", np.nan), ("abc", np.nan)])
def test_a_cell_reads_as_the_same_number_alone_or_in_a_column(cell, value):
    one = runtime.parse_number(cell) if cell else np.nan
    column = runtime.parse_numbers([cell, "7"])[0]
    series = parse_numbers(pd.Series([cell, "7"]))[0]
    for got in (one, column, series):
        assert (np.isnan(got) and np.isnan(value)) or got == value


def test_missing_markers_and_decimal_commas_are_cleaned_once():
    cells, emptied, pointed = runtime.clean_column(["1.234,5", " -1 ", "n/a", "7"], ["n/a", -1], ",")
    assert cells == ["1234.5", "", "", "7"] and emptied == [1, 2] and pointed == []
    assert runtime.clean_column(["12.5"], [], ",")[2] == [0]


def test_the_customer_features_match_the_package_s_on_messy_customers():
    from finetune_cookbook.tasks.segmentation import customer_features
    from finetune_cookbook.tasks.segmentation.config import SegmentationConfig
    from finetune_cookbook.tasks.segmentation.customers import CustomerColumns

    settings = SegmentationConfig(recency_column="days", purchase_columns=["web", "store"],
                                  spend_columns=["spend_wine", "spend_meat"], joined_column="joined",
                                  birth_year_column="born", household_columns=["kids"], partner_column="status",
                                  partner_values=["married"], income_column="income", snapshot_date="2025-06-30")
    frame = pd.DataFrame({"days": ["3", "", "40", "1,200"], "web": ["1", "", "", "2"], "store": ["2", "", "5", "0"],
                          "spend_wine": ["10.5", "0", "", "3"], "spend_meat": ["", "0", "", "1"],
                          "joined": ["2024-01-02", "2026-01-01", "", "2025-06-30 10:00"],
                          "born": ["1980", "1890", "", "2001"], "kids": ["1", "", "2", "0"],
                          "status": ["Married", "single", "", "married"], "income": ["50,000", "", "1", "2"]})
    columns = CustomerColumns(settings, new_customers=True)
    columns.snapshot = pd.Timestamp(settings.snapshot_date)
    expected = columns.add_features(frame, "new.csv")
    import dataclasses

    added = customer_features.add_features({c: frame[c].tolist() for c in frame}, dataclasses.asdict(settings),
                                           settings.snapshot_date, runtime.parse_numbers)
    for feature in columns.engineered_columns():
        ours = runtime.parse_numbers(added[feature])
        np.testing.assert_allclose(ours, expected[feature].to_numpy(dtype=float), equal_nan=True, err_msg=feature)
    frame.loc[2, "web"] = "-1"
    with pytest.raises(ValueError, match=r"row 3, column 'web': '-1' cannot be negative"):
        customer_features.add_features({c: frame[c].tolist() for c in frame}, dataclasses.asdict(settings),
                                       settings.snapshot_date, runtime.parse_numbers)
