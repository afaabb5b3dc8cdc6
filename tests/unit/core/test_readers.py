"""Bring your own data: the formats, splits, labels and offline caches that real datasets come in.

Every test writes its own small files; the expected table is always the same few reviews.
"""

import bz2
import gzip
import json
import zipfile

import pandas as pd
import pytest
import yaml
from conftest import RECIPE

from finetune_cookbook.config import load_config
from finetune_cookbook.core.data import LABEL, label_key
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.readers import ReadSettings, read_table
from finetune_cookbook.tasks.text_classification import load_data
from finetune_cookbook.text.classifier import TEXT

REVIEWS = [(f"review number {i} {'great' if i % 2 else 'awful'}", 1 + 4 * (i % 2)) for i in range(40)]


def _config(tmp_path, data: dict, name="config.yaml"):
    """A copy of the review recipe with its `data` section replaced by `data`, written as YAML a user edits."""
    raw = yaml.safe_load(RECIPE.read_text())
    raw["data"] = {"label_mapping": {1: "negative", 5: "positive"}, "labels": ["negative", "positive"], **data}
    raw["output_dir"] = str(tmp_path / "run")
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def _frame():
    return pd.DataFrame(REVIEWS, columns=["review", "stars"])


def _texts(data):
    return sorted(t for frame in data.splits.values() for t in frame[TEXT])


# ---------------------------------------------------------------------------------------------------- formats


def test_headerless_tab_separated_txt_with_column_names(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("".join(f"{text}\t{stars}\n" for text, stars in REVIEWS))
    data = load_data(_config(tmp_path, {"source": str(path), "column_names": ["review", "stars"],
                                        "text_column": "review", "label_column": "stars"}))
    assert _texts(data) == sorted(t for t, _ in REVIEWS)
    assert data.splits["train"]["row"].min() >= 1


@pytest.mark.parametrize("suffix,sep", [(".data", ","), (".csv", ";"), (".tsv", "\t"), (".txt", "|")])
def test_delimited_text_with_any_suffix_and_separator(tmp_path, suffix, sep):
    path = tmp_path / f"reviews{suffix}"
    _frame().to_csv(path, sep=sep, index=False)
    table = read_table(path)
    assert list(table.columns) == ["review", "stars", "row"]
    assert table["stars"].tolist() == [str(s) for _, s in REVIEWS]


def test_format_setting_overrides_the_suffix(tmp_path):
    path = tmp_path / "export.out"
    _frame().to_json(path, orient="records", lines=True)
    with pytest.raises(DataError, match=r"export\.out: unknown file type '\.out'.*data\.format"):
        read_table(path)
    assert read_table(path, ReadSettings(format="json"))["review"].tolist() == [t for t, _ in REVIEWS]


@pytest.mark.parametrize("kind", ["gz", "bz2", "zip"])
def test_compressed_files(tmp_path, kind):
    text = _frame().to_csv(index=False)
    if kind == "gz":
        path = tmp_path / "reviews.csv.gz"
        path.write_bytes(gzip.compress(text.encode()))
    elif kind == "bz2":
        path = tmp_path / "reviews.csv.bz2"
        path.write_bytes(bz2.compress(text.encode()))
    else:
        path = tmp_path / "reviews.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("export/reviews.csv", text)
    assert read_table(path)["review"].tolist() == [t for t, _ in REVIEWS]


def test_excel_workbook_and_sheet(tmp_path):
    path = tmp_path / "reviews.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="notes", index=False)
        _frame().to_excel(writer, sheet_name="reviews", index=False)
    table = read_table(path, ReadSettings(sheet="reviews"))
    assert table["stars"].tolist() == [str(s) for _, s in REVIEWS]
    with pytest.raises(DataError, match=r"reviews\.xlsx: has no sheet 'Sheet9' \(data.sheet\)\. Sheets: notes, reviews"):
        read_table(path, ReadSettings(sheet="Sheet9"))


def test_json_lines_array_and_document_with_a_field(tmp_path):
    records = [{"review": t, "stars": s} for t, s in REVIEWS]
    lines, array, document = tmp_path / "a.jsonl", tmp_path / "b.json", tmp_path / "c.json"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records))
    array.write_text(json.dumps(records))
    document.write_text(json.dumps({"version": 2, "data": records}))
    expected = [t for t, _ in REVIEWS]
    assert read_table(lines)["review"].tolist() == expected
    assert read_table(array)["review"].tolist() == expected
    assert read_table(document, ReadSettings(field="data"))["review"].tolist() == expected
    with pytest.raises(DataError, match=r"c\.json: is one JSON object with the keys version, data\. Set data\.field"):
        read_table(document)
    with pytest.raises(DataError, match=r"c\.json: has no key 'rows' \(data\.field\)\. Keys found: version, data"):
        read_table(document, ReadSettings(field="rows"))


def test_json_records_that_are_arrays_take_column_names(tmp_path):
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps({"train": [[t, s] for t, s in REVIEWS]}))
    table = read_table(path, ReadSettings(field="train", column_names=("review", "stars")))
    assert table["stars"].tolist() == [str(s) for _, s in REVIEWS]
    with pytest.raises(DataError, match=r"records are arrays.*Set data\.column_names"):
        read_table(path, ReadSettings(field="train"))


# ---------------------------------------------------------------------------------------------------- splits


def test_a_split_mapping_keeps_the_given_test_split(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.json"
    _frame().to_csv(train, index=False)
    test_rows = [{"review": f"held out {i} {'great' if i % 2 else 'awful'}", "stars": 1 + 4 * (i % 2)} for i in range(10)]
    test.write_text(json.dumps({"rows": test_rows}))
    config = _config(tmp_path, {"source": {"train": "train.csv", "test": {"path": "test.json", "field": "rows"}},
                                "text_column": "review", "label_column": "stars"})
    data = load_data(config)
    assert data.splits["test"][TEXT].tolist() == [r["review"] for r in test_rows]  # as given, in order
    assert data.report.given_splits == ["train", "test"]
    assert data.report.made_splits == ["validation"]
    assert len(data.splits["train"]) + len(data.splits["validation"]) == len(REVIEWS)
    assert set(data.splits["validation"][LABEL]) == {"negative", "positive"}  # stratified
    assert "Came with the data: train (train.csv), test (test.json)" in data.report.splits_sentence()


def test_one_json_file_with_a_field_per_split(tmp_path):
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps({"train": [[t, s] for t, s in REVIEWS],
                                "val": [[f"val {i} great", 5] for i in range(4)] + [[f"val {i} awful", 1] for i in range(4)],
                                "test": [[f"test {i} great", 5] for i in range(5)] + [[f"test {i} awful", 1] for i in range(5)]}))
    source = {split: {"path": "data_full.json", "field": split} for split in ("train", "val", "test")}
    data = load_data(_config(tmp_path, {"source": source, "column_names": ["review", "stars"],
                                        "text_column": "review", "label_column": "stars"}))
    assert data.report.split_sizes == {"train": 40, "validation": 8, "test": 10}
    assert data.report.made_splits == []


def test_a_folder_of_split_files_keeps_its_splits(tmp_path):
    folder = tmp_path / "published"
    folder.mkdir()
    _frame().to_csv(folder / "train.csv", index=False)
    _frame().head(10).assign(review=lambda f: "test " + f["review"]).to_csv(folder / "test.csv", index=False)
    (folder / "categories.json").write_text('["negative", "positive"]')
    data = load_data(_config(tmp_path, {"source": "published", "text_column": "review", "label_column": "stars"}))
    assert data.report.given_splits == ["train", "test"]
    assert data.report.split_sources == {"train": "published/train.csv", "test": "published/test.csv"}
    assert len(data.splits["test"]) == 10


def test_a_test_text_also_in_train_is_dropped_from_train_only(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    _frame().to_csv(train, index=False)
    _frame().head(6).assign(review=lambda f: f["review"].str.upper()).to_csv(test, index=False)  # same texts, shouted
    data = load_data(_config(tmp_path, {"source": {"train": "train.csv", "test": "test.csv"},
                                        "text_column": "review", "label_column": "stars"}))
    assert len(data.splits["test"]) == 6
    assert data.report.cross_split_duplicates == {"train": 6}
    assert len(data.splits["train"]) + len(data.splits["validation"]) == len(REVIEWS) - 6


# ---------------------------------------------------------------------------------------------------- labels


def test_numbers_match_as_a_person_reads_them(tmp_path):
    path = tmp_path / "floats.parquet"
    _frame().assign(stars=lambda f: f["stars"].astype(float)).to_parquet(path)  # 1.0 / 5.0
    data = load_data(_config(tmp_path, {"source": str(path), "text_column": "review", "label_column": "stars"}))
    assert set(data.splits["train"][LABEL]) == {"negative", "positive"}
    assert label_key(5) == label_key("5.0") == label_key(" 5 ") == "5"
    assert label_key(True) == label_key("TRUE") == "true"


def test_yes_and_no_labels_survive_yaml(tmp_path):
    path = tmp_path / "spam.csv"
    _frame().assign(spam=lambda f: f["stars"].map({1: "yes", 5: "no"})).to_csv(path, index=False)
    config_file = tmp_path / "spam.yaml"
    config_file.write_text(RECIPE.read_text().split("data:")[0] + f"""
data:
  source: {path}
  text_column: review
  label_column: spam
  label_mapping: {{yes: spam, no: ham}}
  labels: [ham, spam]
""")
    config = load_config(config_file)
    assert config.data.label_mapping == {"yes": "spam", "no": "ham"}
    data = load_data(config)
    assert set(data.splits["test"][LABEL]) == {"ham", "spam"}


def test_unknown_label_lists_the_values_found_and_the_mapping_keys(tmp_path):
    path = tmp_path / "reviews.csv"
    _frame().assign(stars=lambda f: f["stars"].replace({5: 4})).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"unknown label\(s\): '4' \(row\(s\) 2, 4, 6, 8, 10 and 15 more\)\. "
                                        r"Values found in the column: '1', '4'; data.label_mapping's keys: '1', '5'"):
        load_data(_config(tmp_path, {"source": str(path), "text_column": "review", "label_column": "stars"}))


def test_classlabel_ids_become_their_names(tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    path = tmp_path / "labelled.parquet"
    features = Features({"review": Value("string"), "sentiment": ClassLabel(names=["negative", "positive"])})
    Dataset.from_dict({"review": [t for t, _ in REVIEWS], "sentiment": [int(s == 5) for _, s in REVIEWS]},
                      features=features).to_parquet(path)
    assert set(read_table(path)["sentiment"]) == {"negative", "positive"}
    data = load_data(_config(tmp_path, {"source": str(path), "text_column": "review", "label_column": "sentiment",
                                        "label_mapping": None, "labels": None}))
    assert data.labels == ["negative", "positive"]


# ---------------------------------------------------------------------------------------------------- offline


def _hub_cache(root, repo_type, repo_id, files: dict):
    """A Hugging Face hub cache as `huggingface_hub` lays it out: refs/main names a snapshot folder of files."""
    folder = root / f"{repo_type}s--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, write in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        write(snapshot / name)
    return snapshot


def test_a_dataset_in_the_local_hub_cache_loads_offline(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    _hub_cache(tmp_path / "hub", "dataset", "cookbook-test/reviews", {
        "data/train-00000-of-00001.csv": lambda p: _frame().to_csv(p, index=False),
        "data/test-00000-of-00001.csv": lambda p: _frame().head(8).assign(review=lambda f: "t " + f["review"]).to_csv(p, index=False),
    })
    data = load_data(_config(tmp_path, {"source": "cookbook-test/reviews", "text_column": "review", "label_column": "stars"}))
    assert data.report.given_splits == ["train", "test"]
    assert len(data.splits["test"]) == 8
    assert data.report.split_sources["test"] == "hub:cookbook-test/reviews/data/test-00000-of-00001.csv"  # the cached file


def test_a_model_in_the_local_hub_cache_resolves_offline(tmp_path, monkeypatch, tiny_model_dir):
    import shutil

    from huggingface_hub import constants

    from finetune_cookbook.core.errors import ModelNotFoundError
    from finetune_cookbook.core.io.resolve import resolve_model

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    files = {p.name: (lambda dest, src=p: shutil.copy(src, dest)) for p in tiny_model_dir.iterdir()}
    snapshot = _hub_cache(tmp_path / "hub", "model", "cookbook-test/tiny-bert", files)
    assert resolve_model("cookbook-test/tiny-bert") == str(snapshot)
    with pytest.raises(ModelNotFoundError, match=r"not a local folder \(tried .*\).*local Hugging Face cache \(.*hub\)"):
        resolve_model("cookbook-test/never-downloaded")


def test_a_relative_model_path_is_looked_up_beside_the_config(tmp_path, monkeypatch, tiny_model_dir):
    import shutil

    from finetune_cookbook.core.errors import ModelNotFoundError
    from finetune_cookbook.text.classifier import model_path

    project = tmp_path / "project"
    shutil.copytree(tiny_model_dir, project / "models" / "tiny")
    _frame().to_csv(tmp_path / "reviews.csv", index=False)
    config = _config(project / "configs", {"source": "reviews.csv", "text_column": "review", "label_column": "stars"})
    config.model.name = "./models/tiny"
    monkeypatch.chdir(tmp_path)  # neither the model nor the data is under the current folder
    assert model_path(config) == str(project / "models" / "tiny")
    config.model.name = "./models/missing"
    with pytest.raises(ModelNotFoundError, match=r"no such folder \(tried .*models/missing, .*configs/models/missing"):
        model_path(config)


# ---------------------------------------------------------------------------------------------------- bad input


def test_column_names_of_the_wrong_length(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("".join(f"{text}\t{stars}\n" for text, stars in REVIEWS))
    with pytest.raises(DataError, match=r"sentences\.txt: data\.column_names names 3 columns \(review, stars, extra\), "
                                        r"but line 1 \(separated by '\\t'\) has 2\. Give one name per column"):
        load_data(_config(tmp_path, {"source": str(path), "column_names": ["review", "stars", "extra"],
                                     "text_column": "review", "label_column": "stars"}))


def test_a_split_mapping_naming_a_missing_file(tmp_path):
    _frame().to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"tests\.csv: no such file or folder \(tried .*\)\. Check data\.source"):
        load_data(_config(tmp_path, {"source": {"train": "train.csv", "test": "tests.csv"},
                                     "text_column": "review", "label_column": "stars"}))


def test_a_test_split_with_a_class_train_lacks(tmp_path):
    _frame().to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"review": ["fine I guess", "ok"], "stars": [3, 3]}).to_csv(tmp_path / "test.csv", index=False)
    config = _config(tmp_path, {"source": {"train": "train.csv", "test": "test.csv"}, "text_column": "review",
                                "label_column": "stars", "label_mapping": {1: "negative", 3: "neutral", 5: "positive"},
                                "labels": ["negative", "neutral", "positive"]})
    with pytest.raises(DataError, match=r"test\.csv: class\(es\) 'neutral' occur in the test split \(row\(s\) 1, 2\) "
                                        r"but not in train \(.*train\.csv\)\. .*data\.label_mapping"):
        load_data(config)


def test_an_archive_holding_several_files(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.csv", "review,stars\na,1\n")
        archive.writestr("test.csv", "review,stars\nb,5\n")
    with pytest.raises(DataError, match=r"export\.zip: the zip archive holds 2 files \(train\.csv, test\.csv\); it must "
                                        r"hold exactly one\. .*data\.source"):
        load_data(_config(tmp_path, {"source": str(path), "text_column": "review", "label_column": "stars"}))


def test_an_unknown_split_name_is_refused(tmp_path):
    _frame().to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(ConfigError, match=r"data\.source\.holdout: 'holdout' is not a split name"):
        load_data(_config(tmp_path, {"source": {"train": "train.csv", "holdout": "train.csv"},
                                     "text_column": "review", "label_column": "stars"}))


def test_the_model_card_names_files_as_the_config_does(tmp_path, monkeypatch):
    from finetune_cookbook.text.card import model_card

    _frame().to_csv(tmp_path / "reviews.csv", index=False)
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, {"source": "reviews.csv", "text_column": "review", "label_column": "stars"})
    data = load_data(config)
    metrics = {"accuracy": 1.0, "macro_f1": 1.0, **{f"{k}_{c}": 1.0 for k in ("precision", "recall") for c in data.labels}}
    card = model_card(config, data.report, metrics, data.labels, "outputs/reviews", made_by="a test")
    assert "Source: `reviews.csv`" in card
    assert "cookbook predict outputs/reviews new_texts.csv" in card
    assert str(tmp_path) not in card
    assert "No split came with the data" in card


# ---------------------------------------------------------------------------------------------------- found by a probe


def test_a_stray_quote_in_tab_separated_text_is_refused_not_merged(tmp_path):
    path = tmp_path / "SMSSpamCollection"
    lines = [f"{'spam' if i % 2 else 'ham'}\tmessage {i}" for i in range(30)]
    lines[5] = 'ham\t"Hello, are you there'
    lines[9] = 'ham\tok fine see ya"'
    path.write_text("\n".join(lines) + "\n")
    settings = ReadSettings(format="csv", delimiter="tab", column_names=("label", "message"))
    with pytest.raises(DataError, match=r"row 6 of column 'message' holds several lines.*data\.quoting: false"):
        read_table(path, settings)
    table = read_table(path, ReadSettings(**{**settings.__dict__, "quoting": False}))
    assert len(table) == 30 and table["message"].iloc[5] == '"Hello, are you there'


def test_the_separator_is_the_one_every_line_agrees_on(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("le café, from start to finish;pos\n" + "".join(f"text {i};neg\n" for i in range(10)))
    table = read_table(path, ReadSettings(column_names=("text", "label")))
    assert table["label"].iloc[0] == "pos" and len(table) == 11


def test_tar_archives_and_bad_delimiters_get_clear_errors(tmp_path):
    path = tmp_path / "yelp.tgz"
    path.write_bytes(b"not really a tar")
    with pytest.raises(DataError, match=r"yelp\.tgz: tar archives are not read\. Extract it"):
        read_table(path)
    csv_path = tmp_path / "a.csv"
    _frame().to_csv(csv_path, index=False)
    with pytest.raises(DataError, match=r"data\.delimiter is 'tabs'; give one character"):
        read_table(csv_path, ReadSettings(delimiter="tabs"))


def test_a_file_and_its_compressed_copy_are_not_both_read(tmp_path):
    folder = tmp_path / "yelp"
    folder.mkdir()
    _frame().to_csv(folder / "train.csv", index=False)
    _frame().to_csv(folder / "train.csv.gz", index=False)
    with pytest.raises(DataError, match=r"several files for the train split \(train\.csv, train\.csv\.gz\)"):
        load_data(_config(tmp_path, {"source": str(folder), "text_column": "review", "label_column": "stars"}))


def test_true_and_false_class_names_stay_words(tmp_path):
    path = tmp_path / "flags.csv"
    _frame().to_csv(path, index=False)
    data = load_data(_config(tmp_path, {"source": str(path), "text_column": "review", "label_column": "stars",
                                        "label_mapping": {1: False, 5: True}, "labels": [False, True]}))
    assert data.labels == ["false", "true"]


def test_a_local_classlabel_keeps_its_declared_order(tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    path = tmp_path / "news.parquet"
    features = Features({"review": Value("string"), "topic": ClassLabel(names=["world", "sports", "business"])})
    Dataset.from_dict({"review": [t for t, _ in REVIEWS], "topic": [i % 3 for i in range(len(REVIEWS))]},
                      features=features).to_parquet(path)
    data = load_data(_config(tmp_path, {"source": str(path), "text_column": "review", "label_column": "topic",
                                        "label_mapping": None, "labels": None}))
    assert data.labels == ["world", "sports", "business"]


def test_sampling_keeps_a_given_test_split_whole(tmp_path):
    _frame().to_csv(tmp_path / "train.csv", index=False)
    _frame().head(12).assign(review=lambda f: "test " + f["review"]).to_csv(tmp_path / "test.csv", index=False)
    data = load_data(_config(tmp_path, {"source": {"train": "train.csv", "test": "test.csv"}, "sample_size": 24,
                                        "text_column": "review", "label_column": "stars"}))
    assert len(data.splits["test"]) == 12
    assert len(data.splits["train"]) + len(data.splits["validation"]) == 24


def test_a_split_file_may_name_its_columns_differently(tmp_path):
    _frame().to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"body": ["test great", "test awful"], "y": [5, 1]}).to_json(tmp_path / "test.jsonl", orient="records", lines=True)
    source = {"train": "train.csv", "test": {"path": "test.jsonl", "text_column": "body", "label_column": "y"}}
    data = load_data(_config(tmp_path, {"source": source, "text_column": "review", "label_column": "stars"}))
    assert data.splits["test"][TEXT].tolist() == ["test great", "test awful"]


def test_one_record_json_lines_and_column_names_on_objects(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text('{"review": "just one", "stars": 5}\n')
    assert read_table(path)["review"].tolist() == ["just one"]
    with pytest.raises(DataError, match=r"column_names names the positions of array records, but these records are objects"):
        read_table(path, ReadSettings(column_names=("a", "b")))


def test_an_unlabelled_test_file_says_to_leave_it_out(tmp_path):
    _frame().to_csv(tmp_path / "train.tsv", sep="\t", index=False)
    pd.DataFrame({"index": [0, 1], "review": ["a", "b"]}).to_csv(tmp_path / "test.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match=r"test\.tsv: no column 'stars'.*leave it out of data\.source"):
        load_data(_config(tmp_path, {"source": {"train": "train.tsv", "test": "test.tsv"},
                                     "text_column": "review", "label_column": "stars"}))


def test_header_names_with_spaces_and_a_typo_in_the_encoding(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("review, stars\n" + "".join(f"{t}, {s}\n" for t, s in REVIEWS))
    assert read_table(path).columns.tolist() == ["review", "stars", "row"]
    with pytest.raises(ConfigError, match=r"encoding 'utf-8-bom' is not a known text encoding \(data\.encoding\)"):
        load_data(_config(tmp_path, {"source": str(path), "encoding": "utf-8-bom", "text_column": "review",
                                     "label_column": "stars"}))


def test_a_train_file_alone_is_split_in_the_usual_proportions(tmp_path):
    _frame().to_csv(tmp_path / "train.csv", index=False)
    data = load_data(_config(tmp_path, {"source": {"train": "train.csv"}, "text_column": "review", "label_column": "stars"}))
    assert data.report.split_sizes == {"train": 28, "validation": 4, "test": 8}  # 70 / 10 / 20 of 40
    assert data.report.given_splits == []


def test_a_zipped_excel_workbook(tmp_path):
    workbook = tmp_path / "reviews.xlsx"
    _frame().to_excel(workbook, index=False)
    with zipfile.ZipFile(tmp_path / "reviews.zip", "w") as archive:
        archive.write(workbook, "reviews.xlsx")
    assert read_table(tmp_path / "reviews.zip")["stars"].tolist() == [str(s) for _, s in REVIEWS]


# ------------------------------------------------------------------------------------------- damaged files


def test_a_row_cut_short_is_refused_by_its_row_number(tmp_path):
    """A truncated last line or a missing separator would otherwise be read with empty cells, and scored."""
    path = tmp_path / "cut.csv"
    lines = _frame().to_csv(index=False).splitlines()
    lines[4] = lines[4].split(",")[0]  # data row 4 keeps its text and loses its stars
    lines[-1] = lines[-1][:6]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"cut\.csv: the header has 2 columns.*row\(s\) 4 \(1 fields\), 40 \(1 fields\) "
                                        r"hold fewer.*Complete those rows or delete them"):
        read_table(path)


def test_blank_lines_still_count_in_the_row_numbers(tmp_path):
    """Row numbers point back to the file as a spreadsheet shows it, though the parser skips blank lines."""
    path = tmp_path / "gaps.csv"
    lines = _frame().to_csv(index=False).splitlines()
    path.write_text("\n".join(lines[:3] + ["", "   "] + lines[3:]) + "\n")
    table = read_table(path)
    assert len(table) == 40 and table["row"].tolist() == [1, 2] + list(range(5, 43))
    assert table.loc[table["row"] == 5, "review"].item() == REVIEWS[2][0]
    path.write_text("\n\n" + "\n".join(lines) + "\n")  # blank lines above the header move every row down too
    assert read_table(path)["row"].tolist() == list(range(3, 43))


def test_a_header_without_rows_repeated_names_and_a_row_column_are_named(tmp_path):
    header_only = tmp_path / "header.csv"
    header_only.write_text("review,stars\n\n")
    with pytest.raises(DataError, match=r"header\.csv: holds a header and no data rows"):
        read_table(header_only)
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("review,stars,review,,\n" + "".join(f"{text},{stars},x,,\n" for text, stars in REVIEWS))
    with pytest.raises(DataError, match=r"names a column more than once \('' in columns 4, 5; 'review' in columns 1, 3\)"):
        read_table(repeated)
    workbook = tmp_path / "repeated.xlsx"
    _frame().assign(more=1).rename(columns={"more": "stars"}).to_excel(workbook, index=False)
    with pytest.raises(DataError, match=r"repeated\.xlsx \(sheet 'Sheet1'\): the header names a column more than once "
                                        r"\('stars' in columns 2, 3\)"):
        read_table(workbook)
    numbered = tmp_path / "numbered.csv"
    _frame().assign(row=range(40)).to_csv(numbered, index=False)
    with pytest.raises(DataError, match=r"numbered\.csv: has a column named 'row'.*Rename that column"):
        read_table(numbered)


def test_a_delimiter_setting_the_file_does_not_use_names_the_one_it_does(tmp_path):
    path = tmp_path / "semicolons.csv"
    _frame().to_csv(path, index=False, sep=";")
    with pytest.raises(DataError, match=r"data\.delimiter is ',', which leaves every line one column, but the lines "
                                        r"split alike at ';'\. Set data\.delimiter: semicolon, or remove the setting"):
        read_table(path, ReadSettings(delimiter="comma"))
    assert len(read_table(path)) == 40


def test_a_separator_at_the_end_of_each_row_is_refused_not_shifted(tmp_path):
    """One field more than the header on the first row makes pandas take the first column as an index and shift
    every other column: the reviews would become their stars."""
    path = tmp_path / "trailing.csv"
    path.write_text("review,stars\n" + "".join(f"{text},{stars},\n" for text, stars in REVIEWS))
    with pytest.raises(DataError, match=r"trailing\.csv: the header has 2 columns.*row\(s\) 1 \(3 fields\).*"
                                        r"and 35 more hold more.*remove the trailing separators"):
        read_table(path)


def test_a_field_longer_than_the_csv_modules_default_limit_reads(tmp_path):
    path = tmp_path / "long.csv"
    rows = REVIEWS[:5] + [("a very long review " * 8000, 5)]
    pd.DataFrame(rows, columns=["review", "stars"]).to_csv(path, index=False)
    table = read_table(path)
    assert len(table) == 6 and len(table["review"].iloc[5]) > 131072 and table["row"].tolist() == [1, 2, 3, 4, 5, 6]


def test_a_cell_over_the_csv_module_s_default_limit_reads(tmp_path):
    """A 200 KiB cell (a pasted log, a long review): the delimiter guess and the row count read it too."""
    path = tmp_path / "long.csv"
    path.write_text("text,label\n\"" + "word " * 40_000 + "\",positive\nshort,negative\n")
    table = read_table(path)
    assert len(table) == 2 and len(table["text"].iloc[0]) == 200_000
