"""Labelled data read as a stream (`data.streaming: true`), for files larger than memory.

The file is never held whole: `datasets` reads it in chunks (`load_dataset(..., streaming=True)`). Each row is
checked as it arrives, with the same checks and messages as a file read whole (empty texts, label mapping), and
goes to one split by a stable hash of its normalised text:

- the split is the same on every run and every machine, and every exact repeat of a text (case and spacing
  ignored) falls in the same split, so no repeat leaks from train into validation or test;
- validation and test are the first `data.streaming_split_rows` rows of their hash buckets, in file order, held
  in memory with their repeats dropped; bucket rows beyond that are read past, never trained on;
- repeats inside train are not removed (that needs every text seen so far), conflicting labels of one text go
  unseen, and nothing balances or stratifies the classes: a split's class shares are the file's, give or take.

Rows are numbered as records (1 = the first row under the header); blank lines are not counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from finetune_cookbook.core.config import DataConfig
from finetune_cookbook.core.data import (LABEL, ROW, SPLITS, DataReport, LabelledData, describe_source, handle_empty,
                                         map_labels, normalised_text, read_settings, require_columns)
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.formats import FORMAT_BY_SUFFIX
from finetune_cookbook.core.io.readers import _delimiter, delimiter_setting
from finetune_cookbook.core.io.resolve import find_local, missing_data_error

SPLIT = "split"
HEAD_BYTES = 1 << 16  # read to find the header and the delimiter of delimited text
STREAM_FORMATS = ("csv", "json", "parquet")  # what `datasets` streams: delimited text, JSON Lines, parquet


@dataclass
class StreamedData(LabelledData):
    """Validation and test in memory; `splits["train"]` holds only the training rows read while those two were
    filled (for class weights, the shift check and the baselines); `train_stream()` reads every training row."""

    train_stream: Callable | None = None


def split_of(key: str, config: DataConfig) -> str:
    """The split of a row whose normalised text is `key`: a stable hash (blake2b, not Python's seeded `hash`)
    mapped to [0, 1), cut at test_size and test_size + validation_size; `data.seed` salts it."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, salt=str(config.seed).encode()[:16]).digest()
    share = int.from_bytes(digest, "big") / 2**64
    if share < config.test_size:
        return "test"
    return "validation" if share < config.test_size + config.validation_size else "train"


def stream_file(config: DataConfig, search_dirs: list[Path]) -> tuple[Path, str]:
    """The one local file `data.source` names, and its format; refuses what cannot be streamed."""
    path = find_local(config.source, search_dirs)
    if path is None:
        raise missing_data_error(config.source, search_dirs)
    if not path.is_file():
        raise ConfigError(f"{config.source}: data.streaming reads one file; name the file, not a folder.")
    kind = config.format or FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if kind not in STREAM_FORMATS:
        raise ConfigError(f"{config.source}: data.streaming reads uncompressed delimited text (.csv, .tsv), JSON "
                          "Lines (.jsonl) or parquet; convert the file, or set data.format, or set data.streaming: "
                          "false.")
    return path, kind


def _csv_options(path: Path, config: DataConfig) -> dict:
    """How `datasets` reads delimited text here: every column as text, the header and delimiter as the whole-file
    reader finds them (from the first lines only)."""
    import csv

    import datasets

    head = path.open("rb").read(HEAD_BYTES).decode(config.encoding, errors="ignore")
    lines = head.lstrip("\ufeff").splitlines()[:-1] or head.splitlines()  # the last line may be cut short
    if not any(line.strip() for line in lines):
        raise DataError(f"{path}: holds no data rows.")
    settings = read_settings(config)
    sep = delimiter_setting(config.delimiter, str(path)) or _delimiter(path, lines, settings, str(path))
    quoting = csv.QUOTE_MINIMAL if config.quoting else csv.QUOTE_NONE
    first = next(csv.reader([next(line for line in lines if line.strip())], delimiter=sep, quoting=quoting))
    names = list(config.column_names) if config.column_names else [name.strip() for name in first]
    return dict(sep=sep, quoting=quoting, encoding=config.encoding, keep_default_na=False, column_names=names,
                header=None if config.column_names else 0,
                features=datasets.Features({name: datasets.Value("string") for name in names}))


def raw_stream(config: DataConfig, search_dirs: list[Path]):
    """The file's rows as an IterableDataset of dicts with a `row` number; nothing is read yet."""
    import datasets

    datasets.disable_progress_bars()
    path, kind = stream_file(config, search_dirs)
    options = _csv_options(path, config) if kind == "csv" else {}
    stream = datasets.load_dataset(kind, data_files={"train": str(path)}, split="train", streaming=True, **options)
    return stream.map(lambda batch, indices: {ROW: [i + 1 for i in indices]}, with_indices=True, batched=True), path


def checked_rows(batch: dict, config: DataConfig, input_column: str, labels: list[str], origin: str) -> dict:
    """A batch of raw rows, checked and labelled as `core.data` checks a whole file (the same messages, naming
    the rows), each with its split; the empty ones dropped under `empty_texts: drop`."""
    frame = pd.DataFrame(batch)
    require_columns(frame, [input_column, config.label_column], origin)
    for column in (input_column, config.label_column):  # JSON Lines and parquet bring numbers and nulls
        frame[column] = frame[column].map(lambda value: "" if value is None else str(value))
    frame, _ = handle_empty(frame, input_column, origin, config.empty_texts)
    frame = map_labels(frame, config, origin, labels)
    frame[SPLIT] = [split_of(key, config) for key in normalised_text(frame[input_column])]
    return {name: frame[name].tolist() for name in frame.columns}


def labelled_stream(config: DataConfig, search_dirs: list[Path], input_column: str, labels: list[str]):
    """Every checked, labelled row of the file with its split, read lazily (see `checked_rows`)."""
    stream, path = raw_stream(config, search_dirs)
    return stream.map(checked_rows, batched=True, fn_kwargs=dict(
        config=config, input_column=input_column, labels=labels, origin=str(path))), path


def load_streamed_data(config: DataConfig, search_dirs: list[Path], input_column: str, rows_held: int) -> StreamedData:
    """Validation and test (at most `rows_held` rows each, repeats dropped) and the first `rows_held` training
    rows, read from the start of the stream; the rest of the file stays unread until training streams it."""
    labels = list(config.labels or dict.fromkeys((config.label_mapping or {}).values()))
    stream, path = labelled_stream(config, search_dirs, input_column, labels)
    held: dict[str, list[dict]] = {split: [] for split in SPLITS}
    seen: dict[str, set] = {"validation": set(), "test": set()}
    read = repeats = 0
    for row in stream:
        read += 1
        split = row[SPLIT]
        if split in seen:
            key = " ".join(row[input_column].lower().split())
            if key in seen[split]:
                repeats += 1
                continue
            seen[split].add(key)
        if len(held[split]) < rows_held:
            held[split].append(row)
        if all(len(rows) >= rows_held for rows in held.values()):
            break
    splits = {split: pd.DataFrame(rows, columns=[ROW, input_column, config.label_column, LABEL])
              for split, rows in held.items()}
    for split, frame in splits.items():
        if frame.empty:
            raise DataError(f"{path}: no row of the first {read} fell in the {split} split (a hash of each text "
                            "decides; data.test_size and data.validation_size set the shares). Add rows, or raise "
                            "those shares.")
    missing = [label for label in labels if label not in set(splits["train"][LABEL])]
    if missing:
        raise DataError(f"{path}: class(es) {', '.join(map(repr, missing))} have no row among the first "
                        f"{len(splits['train'])} training rows, which set the class weights. Streaming cannot "
                        "look further ahead: shuffle the file, or merge those classes with data.label_mapping.")
    return StreamedData(splits=splits, labels=labels, report=streamed_report(config, splits, labels, read, repeats),
                        train_stream=lambda: labelled_stream(config, search_dirs, input_column, labels)[0].filter(
                            lambda row: row[SPLIT] == "train"))


def streamed_report(config: DataConfig, splits: dict[str, pd.DataFrame], labels: list[str], read: int,
                    repeats: int) -> DataReport:
    """What the read before training found: rows read, repeats dropped from validation and test, class counts of
    the rows held, and a note on what a streamed split guarantees."""
    everything = pd.concat(splits.values())
    report = DataReport(source=describe_source(config.source), rows_read=read, duplicates_dropped=repeats,
                        made_splits=list(SPLITS), split_by="by a stable hash of each text, streamed")
    report.class_counts = everything[LABEL].value_counts().reindex(labels, fill_value=0).astype(int).to_dict()
    report.split_sizes = {name: len(frame) for name, frame in splits.items()}
    report.notes.append(
        f"data.streaming: validation and test are the first {len(splits['test'])} rows each of their hash "
        f"buckets (repeats dropped); train's {len(splits['train'])} rows are those read before training (class "
        "weights, checks); training streams every training row of the file. Repeats inside train are kept, and "
        "the class shares are not stratified.")
    return report
