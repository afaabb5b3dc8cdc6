"""The fraud recipe, end to end, as a user runs it: pretrain, train, predict, resume, torchrun, and the bad
input a table of transactions brings."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    ROOT,
    Interrupt,
    assert_resume_reproduces,
    pretrain_and_train,
    run_in_process,
    torchrun_cookbook,
    write_config,
)

from finetune_cookbook.config import load_config
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.recipe import pretrain, train
from finetune_cookbook.tasks import anomaly_detection

pytestmark = pytest.mark.recipe

RECIPE = ROOT / "recipes" / "fraud_anomaly_detection" / "config.yaml"
TRANSACTIONS = ROOT / "data_samples" / "card_transactions" / "transactions.csv"
# Two rates, not the recipe's five: every behaviour of choosing among candidates shows with two, in less time.
QUICK = {"pretrain": {"epochs": 2, "d_token": 16, "n_heads": 2},
         "fraud": {"min_steps": 20, "learning_rates": [3.0e-4, 1.0e-3]}, "training": {"epochs": 2, "logging_steps": 5}}


def fraud_config(folder: Path, source: Path = TRANSACTIONS, **sections) -> Path:
    """A copy of the recipe's config with quick settings, as a user edits a copy."""
    return write_config(folder, QUICK, RECIPE, source, sections)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`cookbook pretrain` then `cookbook train` on the recipe's config with a shorter schedule, on data_samples/."""
    return pretrain_and_train(fraud_config(tmp_path_factory.mktemp("fraud")))


def test_pretrain_saves_a_checkpoint_that_train_loads(trained):
    output_dir, pre_out, train_out = trained
    checkpoint = output_dir / "pretrained"
    assert f"pre-trained checkpoint: {checkpoint}" in pre_out
    for name in ("config.json", "model.safetensors", "encoder.skops", "schema.json", "pretraining.json"):
        assert (checkpoint / name).is_file(), name
    assert json.loads((checkpoint / "config.json").read_text())["model_type"] == "cookbook_tabular"
    assert "test: average_precision" in train_out
    # what was read and inferred comes before the minutes of training; what training noticed, before the scores
    assert pre_out.index("note: Column kinds") < pre_out.index("pre-trained checkpoint")
    assert train_out.index("note: Column kinds") < train_out.index("note: On the validation rows, gradient-boosted "
                                                                   "trees") < train_out.index("test: ")
    assert train_out.count("note: Column kinds") == 1
    model_dir = output_dir / "model"
    info = json.loads((model_dir / "cookbook.json").read_text())
    assert info["task"] == "anomaly_detection" and 0 <= info["threshold"] <= 1
    scores = json.loads((output_dir / "metrics.json").read_text())["approaches"]["fine_tuned"]
    for name in ("average_precision", "roc_auc", "precision_at_alert_budget", "recall_at_alert_budget"):
        assert 0 <= scores[name] <= 1, name
    # recorded, not a speed test: the sample's fraud rate is 1%, so a random ranking scores about 0.01
    assert scores["average_precision"] > 2 * scores["base_rate"]
    assert "average precision" in (model_dir / "README.md").read_text().lower()


def test_predict_scores_rows_and_names_ignored_columns(trained, tmp_path):
    output_dir, _, _ = trained
    rows = pd.read_csv(TRANSACTIONS, dtype=str).tail(40).drop(columns=["is_fraud"])
    rows["merchant_category"] = rows["merchant_category"].where(rows.index % 7 != 0, "space_tourism")  # unseen
    rows.loc[rows.index[:3], "avg_amount_30d"] = ""  # missing values
    rows["note"] = "from the new branch"  # extra column
    file = tmp_path / "new.csv"
    rows.to_csv(file, index=False)
    out, err = run_in_process("predict", output_dir, file, "--output", tmp_path / "scored.csv")
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert list(scored.columns) == ["row", "transaction_id", "account_id", "timestamp", "fraud_score", "flagged"]
    assert len(scored) == 40 and scored["fraud_score"].between(0, 1).all()
    assert scored["transaction_id"].tolist() == rows["transaction_id"].tolist()
    assert "ignored" in err and "note" in err
    threshold = json.loads((output_dir / "model" / "cookbook.json").read_text())["threshold"]
    assert (scored["flagged"] == (scored["fraud_score"] >= threshold - 1e-6)).all()


def test_predict_refuses_a_file_without_a_column_the_model_reads(trained, tmp_path):
    output_dir, _, _ = trained
    rows = pd.read_csv(TRANSACTIONS, dtype=str).head(5).drop(columns=["amount", "channel"])
    file = tmp_path / "short.csv"
    rows.to_csv(file, index=False)
    _, err = run_in_process("predict", output_dir, file, expect=2)
    assert "amount, channel missing" in err and str(file) in err


def test_predict_refuses_a_folder_of_splits_instead_of_scoring_one(trained, tmp_path):
    output_dir, _, _ = trained
    rows = pd.read_csv(TRANSACTIONS, dtype=str).head(10).drop(columns=["is_fraud"])
    folder = tmp_path / "new"
    folder.mkdir()
    rows.to_csv(folder / "train.csv", index=False)
    rows.to_csv(folder / "test.csv", index=False)
    _, err = run_in_process("predict", output_dir, folder, expect=2)
    assert "train.csv" in err and "test.csv" in err and "Name the file to score" in err


def test_train_without_a_checkpoint_says_to_pretrain(tmp_path):
    config = load_config(fraud_config(tmp_path))
    with pytest.raises(ConfigError, match="cookbook pretrain"):
        train(config, tmp_path / "run")


def test_a_checkpoint_of_another_split_is_refused(tmp_path):
    config = load_config(fraud_config(tmp_path))
    pretrain(config, tmp_path / "run")
    moved = load_config(fraud_config(tmp_path, data={"test_size": 0.3}))
    with pytest.raises(ConfigError, match="another split"):
        train(moved, tmp_path / "run")


@pytest.mark.parametrize("setting, value, message", [
    ("corruption", "swap", r"pretrain\.corruption 'mask_token'.*asks for 'swap'.*cookbook pretrain"),
    ("contrastive_weight", 1.0, r"pretrain\.contrastive_weight 0\.0.*asks for 1\.0.*cookbook pretrain"),
])
def test_a_checkpoint_pretrained_with_another_objective_is_refused(tmp_path, setting, value, message):
    pretrain(load_config(fraud_config(tmp_path)), tmp_path / "run")
    changed = load_config(fraud_config(tmp_path, pretrain={**QUICK["pretrain"], setting: value}))
    with pytest.raises(ConfigError, match=message):
        train(changed, tmp_path / "run")


def test_interrupted_training_resumes_to_the_same_model(trained, tmp_path):
    # one rate: the two starts and the network from scratch are still candidates trained one after another; the
    # pre-training is the module's (the rates are no pre-training setting)
    config = load_config(fraud_config(tmp_path, fraud={**QUICK["fraud"], "learning_rates": [1.0e-3]}))
    for run in ("whole", "cut"):
        shutil.copytree(trained[0] / "pretrained", tmp_path / run / "pretrained")
    assert_resume_reproduces(config, tmp_path / "whole", tmp_path / "cut")


def test_interrupted_pretraining_resumes_to_the_same_checkpoint(tmp_path):
    """`cookbook pretrain --resume` after a Ctrl-C: no half-written checkpoint in between, the same weights after."""
    import torch
    from safetensors.torch import load_file

    config = load_config(fraud_config(tmp_path))
    whole = pretrain(config, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        pretrain(config, tmp_path / "cut", callbacks=[Interrupt(20)])
    assert not (tmp_path / "cut" / "pretrained").exists()
    resumed = pretrain(config, tmp_path / "cut", resume=True)
    assert not (tmp_path / "cut" / "pretrained.work").exists()
    for name, tensor in load_file(whole.folder / "model.safetensors").items():
        torch.testing.assert_close(load_file(resumed.folder / "model.safetensors")[name], tensor, atol=1e-6, rtol=0)


def test_a_pretraining_resumes_only_with_the_settings_it_started_with(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        pretrain(load_config(fraud_config(tmp_path)), tmp_path / "cut", callbacks=[Interrupt(20)])
    changed = load_config(fraud_config(tmp_path, pretrain={**QUICK["pretrain"], "contrastive_weight": 1.0}))
    with pytest.raises(ConfigError, match=r"pretrain\.contrastive_weight 0\.0 \(now 1\.0\).*without --resume"):
        pretrain(changed, tmp_path / "cut", resume=True)
    assert not (tmp_path / "cut" / "pretrained").exists()


def test_pretrain_and_train_under_torchrun_with_two_processes(tmp_path):
    # one epoch, one rate, one start: what runs in two processes is each step once, not each candidate
    # (the prior start: the one that also carries the pre-trained model through the training processes)
    config = fraud_config(tmp_path, pretrain={**QUICK["pretrain"], "epochs": 1},
                          fraud={**QUICK["fraud"], "learning_rates": [1.0e-3], "starts": ["prior"]})
    for command in ("pretrain", "train"):
        done = torchrun_cookbook(command, config)
        assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("test: average_precision") == 1
    scores = json.loads((tmp_path / "run" / "metrics.json").read_text())["approaches"]["fine_tuned"]
    assert 0 <= scores["average_precision"] <= 1


def test_a_claims_file_of_another_schema_needs_only_an_edited_config(tmp_path):
    """Other column names, semicolons, decimal commas, '?' for unknown, a saved row index without a header, a Y / N
    label, year and month-name columns instead of a timestamp, an amount given in text bands, true / false flags
    and a day-first date: a copy of the config that names the label, the fraud value, the identifiers, the time
    columns, the decimal mark and the unknown marker is all it takes."""
    rows = pd.read_csv(TRANSACTIONS, dtype=str, keep_default_na=False)
    when = pd.to_datetime(rows["timestamp"])
    bands = pd.cut(pd.to_numeric(rows["avg_amount_30d"]), [0, 20, 50, 100, float("inf")], right=False,
                   labels=["less than 20", "20 to 50", "50 to 100", "more than 100"]).astype(str)
    other = pd.DataFrame({
        "": range(len(rows)), "claim_ref": rows["transaction_id"].str.replace("T", "CL"), "policy": rows["account_id"],
        "yr": when.dt.year, "mon": when.dt.strftime("%b"),
        "claimed": rows["amount"].str.replace(".", ",", regex=False),
        "vendor_type": rows["merchant_category"].where(rows.index % 50 != 7, "?"), "hour_of_day": rows["hour"],
        "route": rows["channel"], "in_person": rows["card_present"].map({"yes": "True", "no": "False"}),
        "usual_claim": bands.where(bands != "nan", ""), "holder_age": rows["customer_age_band"],
        "card_issued": (when - pd.to_timedelta(rows["account_age_days"].astype(int), unit="D")).dt.strftime(
            "%d/%m/%Y"),
        "claims_last_day": rows["transactions_last_24h"], "km_from_home": rows["distance_from_home_km"].str.replace(".", ",", regex=False),
        "fraud_flag": rows["is_fraud"].map({"1": "Y", "0": "N"}),
    })
    file = tmp_path / "claims.csv"
    other.to_csv(file, index=False, sep=";")
    config = load_config(fraud_config(tmp_path, file, data={"label_column": "fraud_flag", "delimiter": "semicolon"},
                                      tabular={"positive_value": "Y", "drop_columns": ["", "claim_ref", "policy", "yr"],
                                               "time_columns": ["yr", "mon"], "decimal": ",",
                                               "missing_values": ["?"]}))
    pretrain(config, tmp_path / "run")
    summary = train(config, tmp_path / "run")
    kinds = summary.data.kinds
    assert (kinds["usual_claim"], kinds["in_person"], kinds["card_issued"]) == ("band", "boolean", "date")
    assert kinds["claimed"] == "numeric" and "" not in kinds
    train_rows = summary.data.splits["train"].set_index("row")["claimed"].astype(float)
    assert train_rows.tolist() == pytest.approx(pd.to_numeric(rows["amount"]).loc[train_rows.index - 1].tolist())
    assert any("'vendor_type' 120 cell(s) ('?')" in note for note in summary.data.report.notes)
    scores = json.loads((tmp_path / "run" / "metrics.json").read_text())["approaches"]["fine_tuned"]
    assert scores["average_precision"] > 2 * scores["base_rate"]
    new_rows = tmp_path / "new_claims.csv"
    other.drop(columns=["fraud_flag"]).tail(30).to_csv(new_rows, index=False, sep=";")
    scored = anomaly_detection.predict_file(summary.output_dir, new_rows)
    assert scored["claim_ref"].tolist() == other["claim_ref"].tail(30).tolist()
    assert scored["fraud_score"].between(0, 1).all()


# ------------------------------------------------------------------------------------------------ bad input


def write_rows(folder: Path, change) -> Path:
    rows = pd.read_csv(TRANSACTIONS, dtype=str, keep_default_na=False)
    rows = change(rows)
    path = folder / "transactions.csv"
    rows.to_csv(path, index=False)
    return path


def load(folder: Path, change, **sections):
    return anomaly_detection.load_data(load_config(fraud_config(folder, write_rows(folder, change), **sections)))


def test_a_missing_label_column_is_named(tmp_path):
    with pytest.raises(DataError, match="no label column 'is_fraud'.*data.label_column"):
        load(tmp_path, lambda rows: rows.drop(columns=["is_fraud"]))


def test_a_label_with_more_than_two_values_asks_which_is_fraud(tmp_path):
    def three_values(rows):
        rows.loc[rows.index[:50], "is_fraud"] = "2"
        return rows

    with pytest.raises(DataError, match=r"3 distinct values, not two: '0' in \d+ row\(s\).*'2' in 50 row\(s\) \(1, 2, 3, "
                                        r".*tabular.positive_value"):
        load(tmp_path, three_values, tabular={"positive_value": None})


@pytest.mark.parametrize("positive_value", [1, None])
def test_a_label_with_one_value_says_no_row_is_fraud(tmp_path, positive_value):
    with pytest.raises(DataError, match=r"'is_fraud' holds one value, '0', in every row, so no row is labelled fraud"
                                        r".*data.label_column"):
        load(tmp_path, lambda rows: rows.assign(is_fraud="0"), tabular={"positive_value": positive_value})


def test_a_label_with_only_fraud_says_so(tmp_path):
    with pytest.raises(DataError, match=r"holds one value, 'yes', in every row, so every row is labelled fraud"):
        load(tmp_path, lambda rows: rows.assign(is_fraud="yes"), tabular={"positive_value": None})


def test_a_training_split_without_fraud_is_refused(tmp_path):
    def no_early_fraud(rows):  # the file is in time order: the training split is its first 60% (3,600 rows)
        rows.loc[rows.index[:3600], "is_fraud"] = "0"
        return rows

    with pytest.raises(DataError, match=r"training split holds no fraud case.*'is_fraud'.*tabular.positive_value"):
        load(tmp_path, no_early_fraud)


def test_a_budget_without_a_fraud_case_is_refused_before_pretraining(tmp_path):
    small = load_config(fraud_config(tmp_path, fraud={"label_budget": 0.005}))
    with pytest.raises(DataError, match="label budget of 0.005 .* keeps no fraud case.*fraud.label_budget"):
        pretrain(small, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused before anything was written
    pretrain(load_config(fraud_config(tmp_path)), tmp_path / "run")  # the same split, a budget that holds frauds
    with pytest.raises(DataError, match="label budget of 0.005 .* keeps no fraud case.*fraud.label_budget"):
        train(small, tmp_path / "run")


def test_infinity_in_a_numeric_column_is_named_like_text(tmp_path):
    def infinite_amounts(rows):
        rows.loc[rows.index[[4, 9]], "amount"] = ["inf", "1e400"]
        return rows

    with pytest.raises(DataError, match=r"'amount'.*row\(s\) 5, 10.*'inf'"):
        load(tmp_path, infinite_amounts)


def test_rows_with_every_cell_empty_are_skipped_and_named(tmp_path):
    """A spreadsheet's trailing blank rows, or a line of separators: nothing to learn from, and no label."""
    def blank_rows(rows):
        rows.loc[rows.index[[7, 5999]]] = ""
        return rows

    data = load(tmp_path, blank_rows)
    assert sum(len(frame) for frame in data.splits.values()) == 5998
    assert any(note.startswith("Skipped 2 row(s) of") and note.endswith("row(s) 8, 6000.") for note in data.report.notes)


def test_a_column_named_like_the_outcome_column_the_cookbook_adds_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"has a column named 'target', a name the cookbook gives.*Rename that column"):
        load(tmp_path, lambda rows: rows.rename(columns={"hour": "target"}))


def test_an_empty_column_is_named(tmp_path):
    with pytest.raises(DataError, match="column 'channel' is empty in every row.*tabular.drop_columns"):
        load(tmp_path, lambda rows: rows.assign(channel=""))


def test_text_in_a_numeric_column_names_the_rows(tmp_path):
    def text_amounts(rows):
        rows.loc[rows.index[[3, 10]], "amount"] = "twelve euros"
        return rows

    with pytest.raises(DataError, match=r"column 'amount' holds numbers, but row\(s\) 4, 11 hold text.*categorical"):
        load(tmp_path, text_amounts)


def test_a_validation_split_without_fraud_is_refused(tmp_path):
    with pytest.raises(DataError, match="validation split .* holds no fraud case.*data.validation_size"):
        load(tmp_path, lambda rows: rows, data={"validation_size": 0.002})


def _run_parts(output_dir: Path):
    """The trained run's config, data and pre-trained checkpoint, loaded as `cookbook train` loaded them."""
    from finetune_cookbook.tabular.pretraining import load_pretrained

    config = load_config(output_dir / "config.yaml")
    data = anomaly_detection.load_data(config)
    return config, data, load_pretrained(config, data, output_dir)


def test_the_pretrained_score_ranks_frauds_better_than_a_random_score(trained):
    """The pre-trained model is an anomaly detector before any label: on the sample's validation and test rows its
    score ranks the frauds above a random score (whose average precision is about the fraud rate)."""
    import numpy as np
    from sklearn.metrics import average_precision_score

    config, data, pretrained = _run_parts(trained[0])
    rows = pretrained.encoder.encode(pd.concat([data.splits["validation"], data.splits["test"]]), "rows")
    targets = np.concatenate([data.targets("validation"), data.targets("test")])
    score = average_precision_score(targets, pretrained.model.anomaly_scores(rows.numeric, rows.categorical))
    random = np.mean([average_precision_score(targets, np.random.default_rng(seed).random(len(targets)))
                      for seed in range(20)])
    assert score > 1.5 * random, (score, random)


def test_of_several_pretrained_scores_a_run_keeps_the_one_that_ranks_its_labelled_rows_best(trained):
    """`pretrain.anomaly_score` as a list: each labelled draw keeps the kind with the best average precision on
    the labelled rows it has (validation's and the budget's training rows), whose scores then feed every approach
    that reads the pre-trained score; the approach's metrics say which kind each draw kept."""
    import dataclasses

    import numpy as np
    from sklearn.metrics import average_precision_score

    config, data, pretrained = _run_parts(trained[0])
    kinds = ["each_hidden", "all_hidden", "either"]
    encoded = anomaly_detection.Encoded(data, pretrained, kinds)
    assert encoded.kind == "each_hidden" and set(encoded.by_kind["test"]) == set(kinds)
    labelled = anomaly_detection.label_subset(data.targets("train"), 0.5, 0, "sample")
    targets = np.concatenate([data.targets("validation"), data.targets("train")[labelled]])
    found = {kind: average_precision_score(targets, np.concatenate([encoded.by_kind["validation"][kind],
                                                                    encoded.by_kind["train"][kind][labelled]]))
             for kind in kinds}
    chosen, note = encoded.choose_kind(data, labelled)
    assert chosen.kind == max(kinds, key=found.get) and note.startswith(f"Pre-trained score: {chosen.kind}, ")
    assert (chosen.anomaly["test"] == encoded.by_kind["test"][chosen.kind]).all()
    assert encoded.kind == "each_hidden"  # the rows it was chosen from are left as they were
    assert anomaly_detection.Encoded(data, pretrained, ["all_hidden"]).choose_kind(data, labelled)[1] is None
    listed = dataclasses.replace(config, pretrain=dataclasses.replace(config.pretrain, anomaly_score=kinds))
    results = anomaly_detection.compare_at_budget(data, listed, encoded, pretrained, 0.5, 0, include_fine_tuned=False)
    score = next(r for r in results if r.approach == "pretrained")
    assert score.metrics[f"kind_{chosen.kind}"] == 1.0 and sum(score.metrics[f"kind_{k}"] for k in kinds) == 1.0
    assert score.probabilities == pytest.approx(chosen.anomaly["test"])


def test_train_keeps_the_model_that_ranks_validation_best_and_says_why(trained):
    output_dir, _, train_out = trained
    record = json.loads((output_dir / "metrics.json").read_text())
    kept = record["kept"]["approach"]
    assert kept in {"fine_tuned", "gbt_with_pretrained_features"}
    assert {"fine_tuned", "gbt_with_pretrained_features"} <= set(record["approaches"])
    assert "note: Model kept:" in train_out and "validation" in record["kept"]["because"]
    assert json.loads((output_dir / "model" / "cookbook.json").read_text())["kept"] == kept
    assert record["kept"]["because"] in (output_dir / "model" / "README.md").read_text()


def test_kept_trees_are_saved_and_predict_scores_with_them(trained, tmp_path, monkeypatch):
    """Where the trees rank validation better, the saved model is the trees (with the pre-trained model they read):
    `predict` reproduces their test scores, and the export, which covers the network only, says so."""
    import numpy as np

    from finetune_cookbook.serving.export import export_run
    from finetune_cookbook.tasks.anomaly_detection import kept

    config, data, pretrained = _run_parts(trained[0])
    monkeypatch.setattr(kept, "choose", lambda *scores: (kept.TREES, "Model kept: the trees (forced by the test)."))
    run = anomaly_detection.fine_tune(data, config, tmp_path, pretrained=pretrained)
    assert run.kept == kept.TREES and run.result.approach == kept.TREES
    assert [r.approach for r in run.set_aside] == ["fine_tuned"]
    anomaly_detection.save_model(run.trainer, config, tmp_path, "card")
    assert json.loads((tmp_path / "model" / "cookbook.json").read_text())["kept"] == kept.TREES
    test_rows = data.splits["test"].drop(columns=[config.data.label_column, "target", "label"], errors="ignore")
    scored = anomaly_detection.predict(tmp_path, test_rows)
    assert np.allclose(scored["fraud_score"].to_numpy(), run.result.probabilities, atol=1e-5)
    with pytest.raises(ConfigError, match="export writes the network only"):
        export_run(tmp_path)


# `either`'s graph holds `each_hidden`'s and `all_hidden`'s computations; the list, the choice among them
@pytest.mark.parametrize("score", ["either", ["each_hidden", "all_hidden", "either"]])
def test_a_prior_start_network_is_saved_with_the_model_that_scores_its_prior(trained, tmp_path, monkeypatch, score):
    """Where validation chooses the prior start, the saved network carries the pre-trained model that scores its
    prior: `predict` reproduces its test scores from the rows alone, the run says which start it kept, and the
    export traces both into one graph, whose runtime scores raw rows as `predict` does. `either` scores the rows
    with every column hidden too, so its graph holds both computations; of a list, the kind the run chose is the
    one saved."""
    import dataclasses

    import numpy as np

    from finetune_cookbook.serving.export import export_run
    from finetune_cookbook.tasks.anomaly_detection import kept

    config, data, pretrained = _run_parts(trained[0])
    config = dataclasses.replace(config, fraud=dataclasses.replace(config.fraud, starts=["prior"],
                                                                   learning_rates=[1.0e-3]),
                                 pretrain=dataclasses.replace(config.pretrain, anomaly_score=score))
    monkeypatch.setattr(kept, "choose", lambda *scores: (kept.NETWORK, "Model kept: the network (forced by the test)."))
    run = anomaly_detection.fine_tune(data, config, tmp_path, pretrained=pretrained)
    assert run.trainer.model.has_prior and run.result.metrics["prior_start"] == 1.0
    assert any("started from the pre-trained anomaly score" in note for note in data.report.notes)
    anomaly_detection.save_model(run.trainer, config, tmp_path, "card")
    chose = [note for note in data.report.notes if note.startswith("Pre-trained score: ")]
    assert len(chose) == (1 if isinstance(score, list) else 0)
    kind = chose[0].split()[2].rstrip(",") if chose else score
    saved = json.loads((tmp_path / "model" / kept.PRETRAINED_FOLDER / "config.json").read_text())
    assert saved["anomaly_score"] == kind in ("each_hidden", "all_hidden", "either")
    test_rows = data.splits["test"].drop(columns=[config.data.label_column, "target", "label"], errors="ignore")
    scored = anomaly_detection.predict(tmp_path, test_rows)
    assert np.allclose(scored["fraud_score"].to_numpy(), run.result.probabilities, atol=1e-5)
    if score != "either":
        return  # the export of one kind: `either`'s graph holds both kinds' computations, and costs one export
    folder, spec = export_run(tmp_path)
    assert spec["parity"]["scores_max_abs_difference"] < 1e-4 and spec["parity"]["checked_batch"] != 2
    # saved as the notebook saves it, with no recipe run around it: the config in the model folder finds the data
    assert spec["parity_inputs"] == "the run's test split"
    from finetune_cookbook.tabular import runtime

    rows = test_rows.head(50).astype(object).where(test_rows.head(50).notna(), None).to_dict("records")
    exported = runtime.load(folder).scores(rows)
    assert np.allclose(exported, scored["fraud_score"].to_numpy()[:50], atol=1e-4)


def related_columns(rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Claims whose genuine rows follow rules across columns (`settled` is about `claimed`; `region` follows
    `branch`), and whose frauds break a rule while every column on its own looks ordinary. Unlabelled rows teach
    the rules; a few labelled frauds alone hardly can."""
    import numpy as np

    rng = np.random.default_rng(seed)
    claimed = rng.normal(0, 1, rows)
    settled = claimed + rng.normal(0, 0.1, rows)
    branch = rng.integers(0, 6, rows)
    region = branch // 2
    fraud = rng.random(rows) < 0.04
    broken = rng.random(rows) < 0.5
    settled = np.where(fraud & broken, rng.permutation(settled), settled)  # the same values, no longer about claimed
    region = np.where(fraud & ~broken, (region + 1 + rng.integers(0, 2, rows)) % 3, region)
    return pd.DataFrame({"claimed": claimed.round(3), "settled": settled.round(3), "noise": rng.normal(0, 1, rows).round(3),
                         "branch": [f"B{b}" for b in branch], "region": [f"R{r}" for r in region],
                         "fraud": fraud.astype(int)})


def test_fine_tuning_keeps_what_pretraining_gave_where_the_rules_are_in_the_unlabelled_rows(tmp_path):
    """On claims whose frauds break rules that only the unlabelled rows teach, the pre-trained network, fine-tuned
    on 5% of the labels, ranks the test frauds at least as well as the same network from scratch (mean over two
    labelled subsets)."""
    import numpy as np

    from finetune_cookbook.tabular.pretraining import pretrain as pretrain_model

    source = tmp_path / "claims.csv"
    related_columns().to_csv(source, index=False)
    config = load_config(fraud_config(
        tmp_path, source, data={"label_column": "fraud"}, tabular={"drop_columns": [], "time_columns": []},
        pretrain={"epochs": 15, "d_token": 16, "n_heads": 2},
        fraud={"min_steps": 100, "learning_rates": [3.0e-4, 1.0e-3]}))
    data = anomaly_detection.load_data(config)
    pretrained = pretrain_model(data, config, tmp_path / "run")
    encoded = anomaly_detection.Encoded(data, pretrained)
    scores = {True: [], False: []}
    for seed in (0, 1):
        labelled = anomaly_detection.label_subset(data.targets("train"), 0.05, seed, "claims")
        for from_pretrained in scores:
            run = anomaly_detection.network(data, config, encoded, pretrained, labelled, tmp_path / f"{seed}",
                                            from_pretrained=from_pretrained, seed=seed, checkpoints=False)
            scores[from_pretrained].append(run.result.metrics["average_precision"])
    assert np.mean(scores[True]) >= np.mean(scores[False]), scores


def test_the_deviation_objective_trains_on_the_unlabelled_rows_too_for_the_labelled_rows_steps(tmp_path, monkeypatch):
    """`fraud.objective: deviation` (DevNet): both networks train on the unlabelled training rows as genuine beside
    the labelled ones, repeated to about half, for as many steps as the labelled rows alone take, and score
    every split."""
    import numpy as np

    from finetune_cookbook.tabular import pretraining
    from finetune_cookbook.tabular.pretraining import pretrain as pretrain_model

    source = tmp_path / "claims.csv"
    related_columns(rows=1200).to_csv(source, index=False)
    config = load_config(fraud_config(
        tmp_path, source, data={"label_column": "fraud"}, tabular={"drop_columns": [], "time_columns": []},
        pretrain={"epochs": 1, "d_token": 8, "n_heads": 1, "n_blocks": 1},
        fraud={"min_steps": 12, "learning_rates": [1.0e-3], "objective": "deviation"}))
    data = anomaly_detection.load_data(config)
    pretrained = pretrain_model(data, config, tmp_path / "run")
    encoded = anomaly_detection.Encoded(data, pretrained)
    labelled = anomaly_detection.label_subset(data.targets("train"), 0.1, 0, "claims")
    seen = {}
    real_trainer = pretraining.classifier_trainer

    def watched(model, train, train_targets, *args, **kwargs):
        seen.update(rows=len(train), frauds=int(np.sum(train_targets)), objective=kwargs["objective"])
        return real_trainer(model, train, train_targets, *args, **kwargs)

    monkeypatch.setattr(pretraining, "classifier_trainer", watched)
    for from_pretrained in (True, False):
        run = anomaly_detection.network(data, config, encoded, pretrained, labelled, tmp_path / f"{from_pretrained}",
                                        from_pretrained=from_pretrained, seed=0, checkpoints=False)
        unlabelled = len(data.splits["train"]) - len(labelled)
        assert seen["objective"] == "deviation" and seen["rows"] > unlabelled + len(labelled)
        assert seen["frauds"] > data.targets("train")[labelled].sum()  # the labelled frauds, repeated
        assert run.trainer.state.global_step == pretraining.total_steps(len(labelled), config.training, 12)
        assert np.isfinite(run.result.probabilities).all() and run.result.metrics["roc_auc"] > 0


def test_the_sample_s_benchmark_runs_the_recipe_as_it_is_over_more_labelled_subsets():
    import dataclasses

    recipe, bench = load_config(RECIPE), load_config(RECIPE.with_name("bench_card_sample.yaml"))
    assert len(bench.fraud.budget_seeds) >= 5 > len(recipe.fraud.budget_seeds)
    for section in ("data", "tabular", "pretrain", "training"):
        assert getattr(bench, section) == getattr(recipe, section), section
    assert dataclasses.replace(bench.fraud, budget_seeds=recipe.fraud.budget_seeds) == recipe.fraud


def test_the_generated_claims_benchmark_changes_only_what_describes_the_data():
    """The third dataset of issue 36: claims of another schema, generated the same every time, on which the bench
    runs the sample's benchmark method unchanged (only `data`, `tabular` and where it writes differ)."""
    import dataclasses
    import importlib.util

    script = ROOT / "benchmarks" / "data" / "make_generated_claims.py"
    spec = importlib.util.spec_from_file_location("make_generated_claims", script)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    claims = generator.generated_claims()
    assert claims.equals(generator.generated_claims())
    assert len(claims) == 10_000 and claims["suspicious"].sum() == 250 and claims["claim_no"].is_unique

    sample = load_config(RECIPE.with_name("bench_card_sample.yaml"))
    bench = load_config(RECIPE.with_name("bench_generated_claims.yaml"))
    assert bench.data.source.endswith("generated_claims/claims.csv") and bench.data.label_column in claims.columns
    assert set(bench.tabular.drop_columns + bench.tabular.time_columns) <= set(claims.columns)
    for section in ("pretrain", "training", "fraud"):
        assert getattr(bench, section) == getattr(sample, section), section
    assert dataclasses.replace(bench.data, source=sample.data.source, label_column=sample.data.label_column) == sample.data


def test_the_candidate_script_trains_each_candidate_on_its_own_and_records_its_validation_ranking(tmp_path,
                                                                                                  monkeypatch):
    """`benchmarks/fraud_candidates.py`, how the README's masking and tie findings were measured: one run per
    variant and rate, each with the setting it names and the ranking `network` compares candidates by."""
    import sys

    candidates = benchmark_script("fraud_candidates")
    config = fraud_config(tmp_path)
    masked = candidates.candidate_config(load_config(config), "prior_masked", 1e-3)
    assert (masked.pretrain.fine_tune_mask_rate, masked.fraud.starts, masked.fraud.learning_rates) == (0.3, ["prior"],
                                                                                                      [1e-3])

    monkeypatch.setattr(sys, "argv", ["fraud_candidates.py", str(config), str(tmp_path / "out"), "--variants",
                                      "scratch,head_masked", "--budgets", "1.0", "--seeds", "0", "--rates", "1e-3"])
    candidates.main()
    found = json.loads((tmp_path / "out" / "candidates.json").read_text())
    assert [(run["variant"], run["rate"], run["budget"]) for run in found["runs"]] == [("scratch", 1e-3, 1.0),
                                                                                       ("head_masked", 1e-3, 1.0)]
    for run in found["runs"]:
        assert len(run["validation_scores"]) == len(found["validation_targets"])
        assert anomaly_detection.validation_rank(found["validation_targets"], run["validation_scores"]) == pytest.approx(
            (run["validation_ap"], run["validation_roc_auc"], -run["validation_log_loss"]))


def benchmark_script(name: str):
    """A script of `benchmarks/`, imported as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shares_script_records_every_candidate_at_every_share_and_judges_on_validation_halves(tmp_path,
                                                                                                 monkeypatch):
    """`benchmarks/fine_tune_shares.py`, how the bench configs' `pretrain.fine_tune_shares` decisions were measured: every
    start and rate at every share, the recipe's own choice left as it was, and the decision on held-out halves."""
    import sys

    import numpy as np

    shares = benchmark_script("fine_tune_shares")
    config = fraud_config(tmp_path)
    monkeypatch.setattr(sys, "argv", ["fine_tune_shares.py", str(config), str(tmp_path / "out"), "--shares", "0,1.0",
                                      "--budgets", "1.0", "--seeds", "0", "--halvings", "2"])
    shares.main()
    assert anomaly_detection.keep_best_share.__name__ == "keep_best_share"  # put back after recording
    found = json.loads((tmp_path / "out" / "shares.json").read_text())
    [run] = found["runs"]
    recipe = load_config(config)
    assert [(c["start"], c["rate"]) for c in run["candidates"]] == [
        (start, rate) for start in recipe.fraud.starts for rate in recipe.fraud.learning_rates]
    validation = np.asarray(found["validation_targets"])
    for candidate in run["candidates"]:
        start, trained = (np.asarray(candidate["shares"][s]["validation"]) for s in ("0.0", "1.0"))
        assert len(trained) == len(validation)
        assert not np.allclose(start, trained)  # share 0 is the network before fine-tuning
    summary = found["summary"]["1.0"]  # the judgement: every share against the weights as trained, on halves
    at = lambda share: [np.asarray(c["shares"][share]["validation"]) for c in run["candidates"]]  # noqa: E731
    every = [np.asarray(c["shares"][share]["validation"]) for c in run["candidates"] for share in ("0.0", "1.0")]
    assert summary["as_trained"] == [pytest.approx(shares.held_out_choice(validation, at("1.0"), halvings=2))]
    assert summary["with_shares"] == [pytest.approx(shares.held_out_choice(validation, every, halvings=2))]
    assert set(summary["kept_share"]) <= {0.0, 1.0}

    # The candidate that ranks every validation row right is chosen on either half, wherever it is in the pool,
    # and scored on the other; a pool without it scores what the reversed ranking scores (two tied groups: the
    # frauds' share of each half).
    targets = np.array([0, 1] * 20)
    perfect, reversed_ = targets.astype(float), 1 - targets.astype(float)
    assert shares.held_out_choice(targets, [reversed_, perfect], halvings=3) == 1.0
    assert shares.held_out_choice(targets, [reversed_], halvings=3) == pytest.approx(0.5)
    with pytest.raises(SystemExit):
        monkeypatch.setattr(sys, "argv", ["fine_tune_shares.py", str(config), str(tmp_path / "out"), "--shares", "0.5"])
        shares.main()
