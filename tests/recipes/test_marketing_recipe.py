"""The marketing segmentation recipe, end to end, as a user runs it: pretrain, train, predict, resume,
a customer file of another schema, and the bad input a customer file brings."""

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, assert_resume_reproduces, pretrain_and_train, run_in_process, write_config

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.recipe import pretrain, train
from finetune_cookbook.tasks import segmentation

pytestmark = pytest.mark.recipe

RECIPE = ROOT / "recipes" / "marketing_segmentation" / "config.yaml"
CUSTOMERS = ROOT / "data_samples" / "customers" / "customers.csv"
QUICK = {"pretrain": {"epochs": 2, "d_token": 16, "n_heads": 2},
         "segmentation": {"fine_tune_steps": 40, "stability_runs": 1, "k_range": [3, 4]},
         "training": {"epochs": 1, "logging_steps": 5}}


def marketing_config(folder: Path, source: Path = CUSTOMERS, **sections) -> Path:
    """A copy of the recipe's config with quick settings, as a user edits a copy."""
    return write_config(folder, QUICK, RECIPE, source, sections)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`cookbook pretrain` then `cookbook train` on the recipe's config with a shorter schedule, on data_samples/."""
    return pretrain_and_train(marketing_config(tmp_path_factory.mktemp("marketing")))


def test_train_saves_segments_with_names_and_records_their_lift(trained):
    output_dir, pre_out, train_out = trained
    assert f"pre-trained checkpoint: {output_dir / 'pretrained'}" in pre_out
    assert "test: lift" in train_out
    info = json.loads((output_dir / "model" / "cookbook.json").read_text())
    assert info["task"] == "segmentation"
    saved = info["segments"]
    assert 3 <= saved["k"] <= 8 and len(saved["names"]) == len(saved["centres"]) == saved["k"]
    assert len(set(saved["names"])) == saved["k"]  # every segment has its own name
    best = saved["best_segment"]
    assert saved["training_shares"][best] >= 0.05  # the 5% floor of a best segment
    scores = json.loads((output_dir / "metrics.json").read_text())["approaches"]["fine_tuned"]
    # recorded, not a quality target: a segment of customers who respond more often than the average, held out
    assert scores["lift"] > 1.2 and 0.05 <= scores["best_segment_share"] <= 1
    assert -1 <= scores["silhouette"] <= 1 and scores["davies_bouldin"] > 0 and scores["ari"] <= 1
    card = (output_dir / "model" / "README.md").read_text()
    assert "| segment | name |" in card and saved["names"][best] in card
    assert "denoising of swapped columns" in card  # the recipe's pre-training, named
    assert json.loads((output_dir / "pretrained" / "pretraining.json").read_text())["objective"] == \
        "denoising of swapped columns"


def test_predict_assigns_new_customers_to_named_segments(trained, tmp_path):
    output_dir, _, _ = trained
    rows = pd.read_csv(CUSTOMERS, dtype=str, keep_default_na=False).tail(40).drop(columns=["responded"])
    rows.loc[rows.index[:3], "income"] = ""  # missing values
    rows["marital_status"] = rows["marital_status"].where(rows.index % 9 != 0, "it's complicated")  # unseen
    rows["note"] = "from the spring mailing"  # extra column
    file = tmp_path / "new.csv"
    rows.to_csv(file, index=False)
    _, err = run_in_process("predict", output_dir, file, "--output", tmp_path / "segments.csv")
    assigned = pd.read_csv(tmp_path / "segments.csv")
    assert list(assigned.columns) == ["row", "customer_id", "segment", "segment_name", "segment_response_rate"]
    assert assigned["customer_id"].tolist() == rows["customer_id"].tolist()
    saved = json.loads((output_dir / "model" / "cookbook.json").read_text())["segments"]
    assert assigned["segment"].between(0, saved["k"] - 1).all()
    assert (assigned["segment_name"] == [saved["names"][s] for s in assigned["segment"]]).all()
    assert "ignored" in err and "note" in err


def test_predict_refuses_a_customer_file_without_a_column_the_model_reads(trained, tmp_path):
    output_dir, _, _ = trained
    rows = pd.read_csv(CUSTOMERS, dtype=str).head(5).drop(columns=["spend_wine", "joined_on"])
    file = tmp_path / "short.csv"
    rows.to_csv(file, index=False)
    _, err = run_in_process("predict", output_dir, file, expect=2)
    assert "spend_wine" in err and "joined_on" in err and str(file) in err


def test_interrupted_training_resumes_to_the_same_model(tmp_path):
    config = load_config(marketing_config(tmp_path))
    pretrain(config, tmp_path / "whole")
    shutil.copytree(tmp_path / "whole" / "pretrained", tmp_path / "cut" / "pretrained")
    assert_resume_reproduces(config, tmp_path / "whole", tmp_path / "cut")


def test_a_customer_file_of_another_schema_needs_only_an_edited_config(tmp_path):
    """Other column names, no birth year or household columns, day-first dates, semicolons, a yes / no outcome:
    a copy of the config that names the columns is all it takes."""
    rows = pd.read_csv(CUSTOMERS, dtype=str, keep_default_na=False)
    other = pd.DataFrame({
        "client": rows["customer_id"].str.replace("C", "K"),
        "since": pd.to_datetime(rows["joined_on"]).dt.strftime("%d/%m/%Y"),
        "days_idle": rows["days_since_last_purchase"],
        "orders_online": rows["web_purchases"], "orders_shop": rows["store_purchases"],
        "grocery_eur": rows["spend_meat"], "drinks_eur": rows["spend_wine"], "jewellery_eur": rows["spend_gold"],
        "region": ["north", "south", "east"] * (len(rows) // 3) + ["west"] * (len(rows) % 3),
        "took_offer": rows["responded"].map({"1": "yes", "0": "no"}),
    })
    file = tmp_path / "clients.csv"
    other.to_csv(file, index=False, sep=";")
    config = load_config(write_config(tmp_path, QUICK, RECIPE, file, {
        "data": {"label_column": "took_offer"},
        "tabular": {"drop_columns": ["client"], "positive_value": "yes"},
        "segmentation": {"recency_column": "days_idle", "purchase_columns": ["orders_online", "orders_shop"],
                         "spend_columns": ["grocery_eur", "drinks_eur", "jewellery_eur"], "joined_column": "since",
                         "date_format": "%d/%m/%Y", "birth_year_column": None, "household_columns": [],
                         "partner_column": None, "income_column": None, "snapshot_date": None},
    }))
    pretrain(config, tmp_path / "run")
    summary = train(config, tmp_path / "run")
    assert summary.metrics["lift"] > 1.0
    assert {"recency", "frequency", "monetary", "share_drinks_eur", "tenure_days"} <= set(summary.data.engineered)
    predicted = segmentation.predict_file(summary.output_dir, file)
    assert predicted["client"].str.startswith("K").all() and len(predicted) == len(other)


def bank_customers(folder: Path) -> Path:
    """The sample's customers in the shape of a bank's campaign file: an age instead of a birth year, a balance that
    can be negative, -1 for 'never contacted', no purchase or spend columns, quoted fields, semicolons."""
    rows = pd.read_csv(CUSTOMERS, dtype=str, keep_default_na=False)
    days = rows["days_since_last_purchase"].astype(int)
    bank = pd.DataFrame({
        "age": (2025 - pd.to_numeric(rows["birth_year"])).astype(str),
        "job": rows["education"].map(lambda e: "unknown" if e == "basic" else e),
        "marital": rows["marital_status"],
        "balance": (pd.to_numeric(rows["income"], errors="coerce").fillna(0) / 20 - 1200).round().astype(int),
        "pdays": days.where(days < 80, -1).astype(str),
        "campaign": rows["web_purchases"], "contacts_before": rows["deal_purchases"],
        "has_loan": (pd.to_numeric(rows["kids_at_home"]) > 0).astype(int).astype(str),
        "y": rows["responded"].map({"1": "yes", "0": "no"}),
    })
    file = folder / "bank.csv"
    bank.to_csv(file, index=False, sep=";", quoting=1)
    return file


BANK_ROLES = {"recency_column": "pdays", "purchase_columns": [], "spend_columns": [], "joined_column": None,
              "birth_year_column": None, "age_column": "age", "household_columns": [], "partner_column": "marital",
              "partner_values": ["married"], "income_column": None, "snapshot_date": "2025-06-30"}


def test_a_bank_campaign_file_without_purchases_or_birth_years_needs_only_an_edited_config(tmp_path):
    """Another common shape: the roles a file lacks are left out, -1 is declared a missing value, and a negative
    balance is an ordinary feature."""
    file = bank_customers(tmp_path)
    config = load_config(write_config(tmp_path, QUICK, RECIPE, file, {
        "data": {"label_column": "y"},
        "tabular": {"drop_columns": [], "positive_value": "yes", "missing_values": {"pdays": [-1]}},
        "segmentation": BANK_ROLES,
    }))
    pretrain(config, tmp_path / "run")
    summary = train(config, tmp_path / "run")
    assert summary.data.engineered == ["recency", "age", "household_size"]
    assert any(note.startswith("Read as missing (tabular.missing_values)") and "'pdays'" in note
               for note in summary.data.report.notes)
    predicted = segmentation.predict_file(summary.output_dir, file)  # -1 is read as missing here too
    assert len(predicted) == len(pd.read_csv(file, sep=";")) and predicted["segment_name"].str.len().gt(0).all()
    # the notebook's reload check: held-out customers as the file has them, `age` (a role and a feature) included
    held_out = summary.data.as_in_file("test")
    assert "age" in held_out.columns and "household_size" not in held_out.columns
    assert len(segmentation.predict(summary.output_dir, held_out)) == len(held_out)


def test_a_file_without_recency_purchases_or_spend_segments_without_the_rfm_baseline(tmp_path):
    file = bank_customers(tmp_path)
    data = segmentation.load_data(load_config(write_config(tmp_path, QUICK, RECIPE, file, {
        "data": {"label_column": "y"}, "tabular": {"drop_columns": [], "positive_value": "yes"},
        "segmentation": {**BANK_ROLES, "recency_column": None},
    })))
    assert data.engineered == ["age", "household_size"]
    assert any("no RFM baseline (kmeans_rfm)" in note for note in data.report.notes)
    own = data.own_columns()
    assert {"balance", "pdays", "has_loan"} <= set(own) and "age" not in own  # roles name segments their own way
    words = segmentation.column_words(data.naming_features("train"), ["balance", "has_loan"])
    assert words == {"balance": ("high balance", "low balance"), "has_loan": ("has loan", "not has loan")}


# ------------------------------------------------------------------------------------------------ bad input


def load(folder: Path, change, **sections):
    rows = change(pd.read_csv(CUSTOMERS, dtype=str, keep_default_na=False))
    path = folder / "customers.csv"
    rows.to_csv(path, index=False)
    return segmentation.load_data(load_config(marketing_config(folder, path, **sections)))


def edit(column: str, rows_at: list[int], value: str):
    def change(rows):
        rows.loc[rows.index[rows_at], column] = value
        return rows
    return change


def test_too_few_customers_for_the_segments_asked_for(tmp_path):
    with pytest.raises(DataError, match=r"120 customers leave 72 for training, too few for 8 segments.*k_range"):
        load(tmp_path, lambda rows: rows.head(120), segmentation={"k_range": [3, 8]})


def test_a_role_whose_column_the_file_lacks_is_unset_with_a_note(tmp_path):
    data = load(tmp_path, lambda rows: rows.drop(columns=["spend_fish", "joined_on"]))
    note = next(note for note in data.report.notes if "lacks the column(s) of these segmentation roles" in note)
    assert "joined_column ('joined_on'); spend_columns ('spend_fish')" in note
    assert data.customers.settings.joined_column is None and "spend_fish" not in data.customers.settings.spend_columns
    assert "tenure_days" not in data.engineered and "monetary" in data.engineered


def test_text_in_a_numeric_column_names_the_rows(tmp_path):
    with pytest.raises(DataError, match=r"column 'spend_meat' holds numbers, but row\(s\) 4 hold text"):
        load(tmp_path, edit("spend_meat", [3], "about forty euros"))


def test_a_birth_year_in_the_future_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"column 'birth_year', row\(s\) 7 \(2041\).*after the snapshot year 2025"):
        load(tmp_path, edit("birth_year", [6], "2041"))


def test_negative_spend_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"column 'spend_gold', row\(s\) 2 \(-25\): the value cannot be negative"):
        load(tmp_path, edit("spend_gold", [1], "-25.00"))


def test_a_join_date_after_the_snapshot_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"column 'joined_on', row\(s\) 20 .*after the snapshot date 2025-06-30"):
        load(tmp_path, edit("joined_on", [19], "2026-01-15"))


def test_an_implausible_age_becomes_missing_and_is_reported(tmp_path):
    data = load(tmp_path, lambda rows: rows)
    assert any("age over 100" in note and "281, 509, 1719" in note for note in data.report.notes)
    ages = pd.concat(data.splits.values()).set_index("row")["age"]
    assert ages.loc[[281, 509, 1719]].isna().all() and ages.drop([281, 509, 1719]).notna().all()


def test_customers_who_joined_after_the_training_snapshot_are_assigned_with_a_note(trained, tmp_path):
    output_dir, _, _ = trained
    rows = pd.read_csv(CUSTOMERS, dtype=str, keep_default_na=False).head(6).drop(columns=["responded"])
    rows.loc[rows.index[:2], "joined_on"] = "2026-02-01"  # after the sample's snapshot, 2025-06-30
    rows.loc[rows.index[2], ["spend_wine", "spend_fruit", "spend_meat", "spend_fish", "spend_sweets", "spend_gold"]] = ""
    file = tmp_path / "newest.csv"
    rows.to_csv(file, index=False)
    out, err = run_in_process("predict", output_dir, file)
    assert "Joined after 2025-06-30, the snapshot the model was trained with, so counted with a tenure of 0 days: " \
           "row(s) 1, 2" in err
    assert len(pd.read_csv(io.StringIO(out))) == 6


def test_a_customer_is_placed_alike_alone_or_in_a_batch_and_empty_rows_are_skipped(trained, tmp_path):
    """No customer's features depend on the others in the file: a stray birth year of 45 is one implausible age,
    whether the file holds one customer or many."""
    output_dir, _, _ = trained
    rows = pd.read_csv(CUSTOMERS, dtype=str, keep_default_na=False).head(6).drop(columns=["responded"])
    rows.loc[rows.index[0], "birth_year"] = "45"
    alone, batch = tmp_path / "alone.csv", tmp_path / "batch.csv"
    rows.head(1).to_csv(alone, index=False)
    pd.concat([rows.head(3), rows.head(1).map(lambda _: ""), rows.tail(3)]).to_csv(batch, index=False)
    one = segmentation.predict_file(output_dir, alone)
    many = segmentation.predict_file(output_dir, batch)
    assert many["row"].tolist() == [1, 2, 3, 5, 6, 7] and many["segment"].iloc[0] == one["segment"].iloc[0]
    assert "Skipped 1 row(s) of" in many.attrs["notes"][0] and many.attrs["notes"][0].endswith("row(s) 4.")
    assert any("an age over 100): column 'birth_year', row(s) 1." in note for note in one.attrs["notes"])


def test_predict_refuses_an_output_path_it_cannot_write_before_reading_anything(trained, tmp_path):
    output_dir, _, _ = trained
    _, err = run_in_process("predict", output_dir, tmp_path / "not_read.csv", "--output", tmp_path, expect=2)
    assert f"--output {tmp_path} is a folder; give a file name" in err


def test_the_benchmark_trains_both_networks_on_shares_of_the_responses(tmp_path):
    """The label-efficiency curve: below every response only the two networks run again (k-means and the
    pre-trained encoder use no response), each on a nested, stratified share of the training customers."""
    from finetune_cookbook.tasks.segmentation import with_known_responses

    quick = {**QUICK["segmentation"], "k_range": [3, 3], "fine_tune_steps": 20, "label_budgets": [0.25]}
    config = load_config(marketing_config(tmp_path, segmentation=quick, pretrain={**QUICK["pretrain"], "epochs": 1},
                                          data={"sample_size": 600}))
    data = segmentation.load_data(config)
    results = segmentation.benchmark(data, config, tmp_path / "bench")
    budgets = {}
    for result in results:
        budgets.setdefault(result.setting.get("label_budget"), set()).add((result.approach, result.setting["k"]))
    assert budgets[0.25] == {("scratch", 3), ("fine_tuned", 3)}
    for result in results:  # the recipe's fine_tune_shares: the share each fine-tuned encoder kept is recorded
        assert ("fine_tune_share" in result.metrics) == (result.approach == "fine_tuned")
        if result.approach == "fine_tuned":
            assert result.metrics["fine_tune_share"] in config.pretrain.fine_tune_shares
    assert {a for a, _ in budgets[None]} >= {"kmeans_raw", "pretrained", "scratch", "fine_tuned"}
    quarter = with_known_responses(data, 0.25, config.training.seed).splits["train"]
    share = quarter["target"].mean(), data.splits["train"]["target"].mean()
    assert len(quarter) == pytest.approx(0.25 * len(data.splits["train"]), abs=2) and share[0] == pytest.approx(share[1], abs=0.02)
    (tmp_path / "bad").mkdir()
    with pytest.raises(ConfigError, match="label_budgets"):
        load_config(marketing_config(tmp_path / "bad", segmentation={"label_budgets": [0]}))


def test_the_fine_tuned_encoder_keeps_the_share_of_its_change_that_ranks_validation_best(tmp_path):
    """`pretrain.fine_tune_shares` (WiSE-FT): the response model is moved back toward the weights it started from
    and kept where its responses rank the validation customers best; the other share ranks them no better."""
    import dataclasses

    from finetune_cookbook.core.metrics import ranking_metrics
    from finetune_cookbook.tabular.pretraining import (move_weights, positive_scores, pretrain as pretrain_model,
                                                       start_classifier, weights_of)

    config = load_config(marketing_config(tmp_path, pretrain={**QUICK["pretrain"], "epochs": 1,
                                                              "fine_tune_shares": [0.5, 1.0]}))
    data = segmentation.load_data(config)
    pretrained = pretrain_model(data, config, folder=tmp_path / "pretrained")
    tuned = segmentation.response_model(data, config, pretrained, tmp_path / "tuned", from_pretrained=True, seed=3,
                                        checkpoints=False)
    scratch = segmentation.response_model(data, config, pretrained, tmp_path / "scratch", from_pretrained=False,
                                          seed=3, checkpoints=False)
    assert tuned.share in (0.5, 1.0) and scratch.share is None

    rows = {s: pretrained.encoder.encode(data.splits[s], data.report.source) for s in ("train", "validation")}
    training = dataclasses.replace(config.training, seed=3)
    start = weights_of(start_classifier(pretrained, config, rows["train"], data.targets("train"), training.seed))
    kept = weights_of(tuned.model)
    # the share not kept, rebuilt from the kept one: start + share * (fine - start)
    fine = {name: start[name] + (value - start[name]) / tuned.share if value.is_floating_point() else value
            for name, value in kept.items()}
    ranked = lambda: ranking_metrics(data.targets("validation"),  # noqa: E731
                                     positive_scores(tuned.model, rows["validation"]))["average_precision"]
    found_kept = ranked()
    move_weights(tuned.model, start, fine, 1.5 - tuned.share)
    assert ranked() <= found_kept


def test_the_shares_script_segments_every_share_and_judges_the_kept_one_on_validation(tmp_path, monkeypatch):
    """`benchmarks/fine_tune_shares.py`, how the recipe's `pretrain.fine_tune_shares` decision was measured: the
    fine-tuned encoder segmented at every share, the share the recipe keeps being the best-ranked one, and the rule
    read on the validation lift."""
    import importlib.util
    import sys

    import numpy as np

    spec = importlib.util.spec_from_file_location("fine_tune_shares", ROOT / "benchmarks" / "fine_tune_shares.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    quick = {**QUICK["segmentation"], "k_range": [3, 3], "fine_tune_steps": 20}
    config = marketing_config(tmp_path, segmentation=quick, pretrain={**QUICK["pretrain"], "epochs": 1})
    output = tmp_path / "out" / "shares.json"
    monkeypatch.setattr(sys, "argv", ["fine_tune_shares.py", str(config), str(output.parent), "--shares", "0,1.0",
                                      "--budgets", "0.5", "--seeds", "7"])
    script.main()
    assert segmentation.keep_best_share.__name__ == "keep_best_share"  # put back after recording
    found = json.loads(output.read_text())
    [run] = found["runs"]
    assert (run["seed"], run["budget"]) == (7, 0.5) and set(run["shares"]) == {"0.0", "1.0"}
    ranks = {float(share): found_at["rank"] for share, found_at in run["shares"].items()}
    assert run["kept_share"] == max(ranks, key=lambda share: (ranks[share], -share))  # the first on a tie
    assert ranks[0.0] != ranks[1.0]  # share 0: the network before fine-tuning
    summary = found["summary"]["0.5"]  # the judgement reads the segments' validation lift, mean over k
    lift = lambda share: np.mean(list(run["shares"][share]["validation"].values()))  # noqa: E731
    assert summary["kept_validation"] == [pytest.approx(lift(str(float(run["kept_share"]))))]
    assert summary["as_trained_validation"] == [pytest.approx(lift("1.0"))]
