"""The tabular pipeline's parts: column kinds, bands, the encoder and its safe reload, time order, label budgets,
and the rare-event metrics."""

import numpy as np
import pandas as pd
import pytest

from finetune_cookbook.core.data import column_list
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.tabular.columns import (
    CONSTANT,
    TabularEncoder,
    band_value,
    binary_targets,
    check_input_columns,
    clean_cells,
    column_notes,
    infer_column_types,
    parse_numbers,
    time_order,
)
from finetune_cookbook.tabular.data import label_subset
from finetune_cookbook.tasks.anomaly_detection.rare_events import alert_budget_metrics, cost_threshold, expected_cost


def claims(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "row": range(1, n + 1),
        "amount": [f"{v:.2f}" for v in rng.gamma(2, 50, n)],
        "vehicle_price": rng.choice(["less than 20000", "20000 to 29000", "more than 69000"], n),
        "address_change": rng.choice(["no change", "under 6 months", "1 year", "2 to 3 years"], n),
        "police_report": rng.choice(["Yes", "No"], n),
        "claimed_on": [f"2024-0{1 + i % 9}-1{i % 10} 1{i % 10}:30" for i in range(n)],
        "make": rng.choice(["Honda", "Toyota", "Mazda"], n),
        "branch": "north",
        "fraud": rng.choice(["0", "1"], n, p=[0.8, 0.2]),
    })


def test_bands_keep_their_order_across_units():
    ordered = ["no change", "under 6 months", "1 year", "2 to 3 years", "4 to 8 years"]
    assert [band_value(b) for b in ordered] == sorted(band_value(b) for b in ordered)
    prices = ["less than 20000", "20000 to 29000", "60000 to 69000", "more than 69000"]
    assert [band_value(b) for b in prices] == sorted(band_value(b) for b in prices)
    assert band_value("new") == 0 and band_value("Honda") is None


def test_column_kinds_are_inferred_and_overridable():
    frame = claims()
    kinds = infer_column_types(frame, ["fraud"], None, "claims.csv")
    assert kinds == {"amount": "numeric", "vehicle_price": "band", "address_change": "band", "police_report": "boolean",
                     "claimed_on": "date", "make": "categorical", "branch": CONSTANT}
    assert infer_column_types(frame, ["fraud"], {"amount": "categorical"}, "claims.csv")["amount"] == "categorical"


def test_the_encoder_handles_missing_and_unseen_values_and_reloads_without_pickle(tmp_path):
    frame = claims()
    encoder = TabularEncoder(infer_column_types(frame, ["fraud"], None, "claims.csv"), min_category_count=1)
    encoder.fit(frame, "claims.csv")
    new = frame.head(3).copy()
    new.loc[0, "make"] = "Tesla"  # unseen
    new.loc[1, "amount"] = ""  # missing
    rows = encoder.encode(new, "new.csv")
    assert rows.categorical[0, 0] == 0 and rows.categorical[1, 0] > 0
    assert np.isfinite(rows.numeric).all()
    encoder.save(tmp_path)
    again = TabularEncoder.load(tmp_path).encode(new[list(reversed(new.columns))], "new.csv")  # column order free
    np.testing.assert_allclose(again.numeric, rows.numeric)
    np.testing.assert_array_equal(again.categorical, rows.categorical)


def test_an_encoder_file_with_foreign_types_is_not_loaded(tmp_path):
    import skops.io

    frame = claims()
    encoder = TabularEncoder(infer_column_types(frame, ["fraud"], None, "claims.csv")).fit(frame, "claims.csv")
    encoder.save(tmp_path)
    skops.io.dump({"payload": pd.Timestamp("2024-01-01")}, tmp_path / TabularEncoder.TRANSFORMER)
    with pytest.raises(DataError, match="not written by this package"):
        TabularEncoder.load(tmp_path)


def test_unreadable_band_and_missing_prediction_columns_are_named():
    frame = claims()
    encoder = TabularEncoder(infer_column_types(frame, ["fraud"], None, "claims.csv")).fit(frame, "claims.csv")
    bad = frame.head(4).copy()
    bad.loc[2, "vehicle_price"] = "expensive"
    with pytest.raises(DataError, match=r"column 'vehicle_price' holds bands .* row\(s\) 3 hold 'expensive'"):
        encoder.encode(bad, "new.csv")
    with pytest.raises(DataError, match="new.csv: column\\(s\\) make missing"):
        check_input_columns(frame.drop(columns=["make"]), encoder.input_columns, "new.csv")
    assert check_input_columns(frame.assign(note="x"), encoder.input_columns, "new.csv") == ["branch", "fraud", "note"]


def test_binary_targets_take_yes_or_the_named_value():
    frame = pd.DataFrame({"row": [1, 2, 3], "outcome": ["genuine", "fraud", "genuine"]})
    targets, positive = binary_targets(frame, "outcome", None, "f.csv")
    assert positive == "fraud" and targets.tolist() == [0, 1, 0]
    frame["outcome"] = ["a", "b", "a"]
    with pytest.raises(DataError, match="say which one means fraud"):
        binary_targets(frame, "outcome", None, "f.csv")
    assert binary_targets(frame, "outcome", "b", "f.csv")[0].tolist() == [0, 1, 0]
    frame["outcome"] = ["N", "Y", "N"]  # as insurance claim files write it
    targets, positive = binary_targets(frame, "outcome", None, "f.csv")
    assert positive == "y" and targets.tolist() == [0, 1, 0]


def test_time_order_reads_years_and_month_names():
    frame = pd.DataFrame({"Year": ["1995", "1994", "1995", "1994"], "Month": ["Jan", "Dec", "Mar", "Feb"]})
    assert time_order(frame, ["Year", "Month"], "f.csv").tolist() == [3, 1, 0, 2]


def test_label_budgets_are_stratified_and_nested():
    targets = np.array([1] * 50 + [0] * 950)
    small, large = label_subset(targets, 0.05, 3, "f"), label_subset(targets, 0.2, 3, "f")
    assert targets[small].sum() == 2 and len(small) == 50
    assert set(small) <= set(large)
    assert not np.array_equal(small, label_subset(targets, 0.05, 4, "f"))
    with pytest.raises(DataError, match="keeps no fraud case"):
        label_subset(targets, 0.005, 3, "f")


def test_the_cost_threshold_minimises_the_cost_it_is_chosen_on():
    rng = np.random.default_rng(1)
    targets = rng.random(400) < 0.1
    scores = np.where(targets, rng.normal(1, 1, 400), rng.normal(0, 1, 400))
    threshold = cost_threshold(targets, scores, cost_missed=20, cost_false_alarm=1)
    chosen = expected_cost(targets, scores >= threshold, 20, 1)
    for other in np.quantile(scores, np.linspace(0, 1, 41)):
        assert chosen <= expected_cost(targets, scores >= other, 20, 1) + 1e-12
    # when a false alarm costs more than any fraud, flagging nothing is cheapest
    assert cost_threshold(targets, scores, cost_missed=1, cost_false_alarm=1000) == float("inf")


def test_the_alert_budget_counts_the_top_share():
    targets = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.1, 0.2, 0.0, 0.05])
    assert alert_budget_metrics(targets, scores, 0.3) == {"precision_at_alert_budget": 2 / 3,
                                                          "recall_at_alert_budget": 2 / 3}


def test_trees_take_a_column_of_many_categories_as_a_number():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from finetune_cookbook.tabular.columns import EncodedRows
    from finetune_cookbook.tasks.anomaly_detection import Encoded

    rng = np.random.default_rng(0)
    codes = np.column_stack([rng.integers(0, 4, 600), rng.integers(0, 300, 600), rng.integers(0, 12, 600)])
    encoded = Encoded.__new__(Encoded)  # only the parts the trees read
    encoded.cardinalities = [4, 300, 12]
    encoded.rows = {"train": EncodedRows(rng.normal(size=(600, 3)).astype(np.float32), codes)}
    positions = encoded.categorical_positions()
    assert positions.tolist() == [3, 5]
    HistGradientBoostingClassifier(categorical_features=positions, max_iter=5).fit(
        encoded.rows["train"].flat(), rng.integers(0, 2, 600))  # a 300-category column as a category would fail


def test_a_column_of_numbers_reads_the_same_whole_as_cell_by_cell():
    cells = ["1", " 2.5 ", "-3e2", "+4", ".5", "7.", "", None, "inf", "-Infinity", "1e400", "nan", "0012", "1e-3"]
    whole = parse_numbers(pd.Series(cells, dtype="string"))  # every cell reads: one strict cast
    cell_by_cell = parse_numbers(pd.Series(cells + ["n/a"], dtype="string"))  # one does not: cell by cell
    assert whole.tolist()[:4] == [1.0, 2.5, -300.0, 4.0]
    pd.testing.assert_series_equal(whole, cell_by_cell.iloc[:-1].astype("float64"))
    assert np.isnan(cell_by_cell.iloc[-1])


def test_a_decimal_comma_is_never_read_as_a_thousands_comma():
    assert parse_numbers(pd.Series(["1,234.5", "12,50", "1.234,56", "7", "-3.5"])).tolist()[:1] == [1234.5]
    assert parse_numbers(pd.Series(["12,50", "1.234,56"])).isna().all()  # not 1250 and 1.23456
    frame = claims().assign(amount=[f"{v:.2f}".replace(".", ",") for v in np.linspace(1, 2000, 60)])
    with pytest.raises(DataError, match=r"column 'amount' holds numbers written with a decimal comma.*tabular.decimal"):
        infer_column_types(frame, ["fraud"], None, "claims.csv")
    cleaned, _ = clean_cells(frame, [], ",", keep=["fraud"])
    assert infer_column_types(cleaned, ["fraud"], None, "claims.csv")["amount"] == "numeric"
    assert parse_numbers(cleaned["amount"]).iloc[-1] == pytest.approx(2000.0)
    european, _ = clean_cells(pd.DataFrame({"x": ["1.234,56", "0,5", "2.000"]}), [], ",", keep=[])
    assert parse_numbers(european["x"]).tolist() == [1234.56, 0.5, 2000.0]
    assert parse_numbers(pd.Series(["0,634", "-0,5"])).isna().all()  # a thousands group never starts with 0
    with pytest.raises(DataError, match=r"rates.csv: column 'x' holds numbers written with a decimal point in row\(s\) "
                                        r"2 \('12.5'\), but tabular.decimal is ','"):
        clean_cells(pd.DataFrame({"x": ["1.234,56", "12.5", "31.01.2025"]}), [], ",", keep=[], origin="rates.csv")


def test_missing_value_markers_empty_the_cells_but_never_the_label():
    frame = pd.DataFrame({"pdays": ["999", "999.0", "-1", "5"], "job": ["?", "admin.", "?", "unknown"],
                          "y": ["?", "yes", "no", "no"]})
    per_column, emptied = clean_cells(frame, {"pdays": [999, -1], "job": ["unknown"]}, ".", keep=["y"])
    assert per_column["pdays"].tolist() == ["", "", "", "5"] and per_column["job"].tolist() == ["?", "admin.", "?", ""]
    assert emptied == ["'pdays' 3 cell(s) ('999', '999.0', '-1')", "'job' 1 cell(s) ('unknown')"]
    everywhere, _ = clean_cells(frame, ["?"], ".", keep=["y"])
    assert everywhere["job"].tolist() == ["", "admin.", "", "unknown"] and everywhere["y"].tolist()[0] == "?"


def test_identifiers_row_numbers_and_kept_time_columns_are_pointed_out():
    n = 120
    frame = pd.DataFrame({
        "": [str(i) for i in range(n)], "cc_num": [str(4_000_000_000_000 + 7 * (i % 9)) for i in range(n)],
        "trans_num": [f"t{i:05x}" for i in range(n)], "amount": [str(i % 17) for i in range(n)],
        "month": [str(1 + i % 12) for i in range(n)], "shop": ["a", "b", "c"] * (n // 3),
    })
    kinds = infer_column_types(frame, [], None, "cards.csv")
    notes = column_notes(frame, kinds, {}, ["month"])
    assert notes[0].startswith("Column kinds") and "categorical 2: trans_num, shop" in notes[0]
    suspects = notes[1]
    assert "'' has no header name" in suspects and "'cc_num' holds whole numbers of 12 or more digits" in suspects
    assert "'trans_num' holds 120 different values" in suspects and "'amount'" not in suspects
    assert "'shop'" not in suspects and "Time column(s) 'month' are also features" in notes[2]
    assert column_notes(frame, kinds, {"": "numeric", "cc_num": "numeric", "trans_num": "categorical"}, [])[1:] == []
    assert column_list(["", "amount", "row"]) == "'', amount"
