"""Validating and splitting labelled tables, for every domain.

`readers` turns the files into tables of strings; this module checks them and makes the splits. Rows are
numbered as a user sees them in a spreadsheet: row 1 is the first data row under the header (or the first line of
a file without one). Every check raises a DataError that names the file, the column and the rows, and says what
to change.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from finetune_cookbook.core.config import DataConfig
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.formats import DATA_FORMATS
from finetune_cookbook.core.io.readers import ROW, SETTING_NAMES, ReadSettings, Table, read_hub, read_local, split_name
from finetune_cookbook.core.io.resolve import candidate_paths, find_local, looks_like_path, missing_data_error

LABEL = "label"
ALL = "all"  # the key of a source that brings no splits of its own
SPLIT_COLUMNS = ("text_column", "label_column")  # a split's file may name these columns differently
SPLITS = ("train", "validation", "test")
MAX_ROWS_LISTED = 5


@dataclass
class DataReport:
    """What happened to the rows between the files and the splits, for the notebook and the model card."""

    source: str  # as the config names it
    rows_read: int
    empty_dropped: int = 0
    duplicates_dropped: int = 0
    conflicting_duplicates: int = 0
    cross_split_duplicates: dict[str, int] = field(default_factory=dict)  # dropped from a split: also in a later one
    sampled_to: int | None = None
    class_counts: dict[str, int] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    given_splits: list[str] = field(default_factory=list)  # came with the data
    made_splits: list[str] = field(default_factory=list)  # carved here, stratified and seeded
    split_sources: dict[str, str] = field(default_factory=dict)  # split -> file, as the config names it
    skipped: list[str] = field(default_factory=list)  # "file: reason" of every input left out (unreadable images)
    notes: list[str] = field(default_factory=list)  # anything else a reader of the data should know
    test_repeats: int = 0  # test rows repeating another test row (a given test split is kept as it came)
    split_by: str = "stratified, seeded"  # how the made splits were made (`core.streaming`: by a hash of the text)

    def console_summary(self, shown: int = 3) -> str:
        """What was read, dropped and skipped, and the notes: what a run on the command line should say."""
        parts = [f"{self.rows_read} read"]
        if self.split_sizes:
            parts.append("split " + " / ".join(f"{name} {size}" for name, size in self.split_sizes.items()))
        if self.duplicates_dropped:
            parts.append(f"{self.duplicates_dropped} duplicate(s) dropped")
        for split, dropped in self.cross_split_duplicates.items():
            later = "test" if split == "validation" else "a later split"
            parts.append(f"{dropped} dropped from {split} (also in {later})")
        if self.empty_dropped:
            parts.append(f"{self.empty_dropped} empty dropped")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped ({list_first(self.skipped, shown)})")
        return "\n".join([f"data: {self.source}: " + ", ".join(parts)] + [f"note: {note}" for note in self.notes])

    def splits_sentence(self) -> str:
        """Which splits came with the data and which were made, in one sentence for notebooks and model cards."""
        given = ", ".join(f"{s} ({self.split_sources.get(s, self.source)})" for s in self.given_splits)
        made = ", ".join(self.made_splits)
        if not self.given_splits:
            return f"No split came with the data: {made} were made here ({self.split_by})."
        if not made:
            return f"Every split came with the data: {given}."
        return f"Came with the data: {given}. Made here (stratified, seeded, from train): {made}."


@dataclass
class LabelledData:
    """Stratified train / validation / test tables with a `label` column of class names."""

    splits: dict[str, pd.DataFrame]
    labels: list[str]
    report: DataReport

    def label_ids(self, split: str) -> list[int]:
        index = {name: i for i, name in enumerate(self.labels)}
        return [index[name] for name in self.splits[split][LABEL]]


def list_rows(rows: pd.Series) -> str:
    """Row numbers for an error message: the first few in the file's order, and how many more."""
    rows = pd.Series(rows)
    rows = in_row_order(rows, rows)  # a time-ordered split holds its rows out of the file's order
    listed = [str(r) for r in rows.head(MAX_ROWS_LISTED)]
    more = f" and {len(rows) - MAX_ROWS_LISTED} more" if len(rows) > MAX_ROWS_LISTED else ""
    return ", ".join(listed) + more


def in_row_order(values: pd.Series, rows: pd.Series) -> pd.Series:
    """`values` in the order `list_rows` lists their `rows` (same index): the file's order, where rows are numbers."""
    if pd.api.types.is_numeric_dtype(rows):
        return values.loc[rows.sort_values(kind="stable").index]
    return values


def shown_values(values: pd.Series, rows: pd.Series, shown: int = 3) -> str:
    """The first few distinct `values`, in the order `list_rows` lists their `rows` (same index), so a message
    that names both pairs them as the file does."""
    return ", ".join(repr(v) for v in in_row_order(values, rows).unique()[:shown])


def list_first(items: list[str], shown: int) -> str:
    """The first `shown` items and how many more, for a message that cannot list them all."""
    return "; ".join(items[:shown]) + (f"; and {len(items) - shown} more" if len(items) > shown else "")


def _rows(frame: pd.DataFrame) -> str:
    return list_rows(frame[ROW])


# ---------------------------------------------------------------------------------------------------- sources


def read_settings(config: DataConfig, entry: dict | None = None, where: str = "data.source") -> ReadSettings:
    """The config's reading settings, with a split entry's own settings in their place."""
    base = {name: getattr(config, name) for name in SETTING_NAMES}
    for name, value in (entry or {}).items():
        if name in ("path", *SPLIT_COLUMNS):
            continue
        if name not in SETTING_NAMES:
            raise ConfigError(f"{where}: unknown setting {name!r}. A split's entry takes path, "
                              f"{', '.join(SETTING_NAMES + SPLIT_COLUMNS)}.")
        base[name] = value
    try:
        codecs.lookup(base["encoding"])
    except LookupError as error:
        raise ConfigError(f"{where}: encoding {base['encoding']!r} is not a known text encoding (data.encoding). Use "
                          "utf-8-sig (the default), utf-8, latin-1, cp1252, utf-16 ...") from error
    if base["column_names"] is not None:
        base["column_names"] = tuple(str(c) for c in base["column_names"])
    if base["format"] not in (None, *DATA_FORMATS):
        raise ConfigError(f"{where}: format is {base['format']!r}; choose one of {', '.join(DATA_FORMATS)}.")
    return ReadSettings(**base)


def read_source(name: str, settings: ReadSettings, search_dirs: list[Path]) -> dict[str | None, Table]:
    """The tables one file, folder or hub id holds, keyed by split (None: no split named)."""
    local = find_local(name, search_dirs)
    if local is not None:
        return read_local(local, name, settings)
    if looks_like_path(name):
        raise missing_data_error(name, search_dirs)
    return read_hub(name, settings, tried=", ".join(str(p) for p in candidate_paths(name, search_dirs)))


def load_tables(config: DataConfig, search_dirs: list[Path]) -> dict[str, Table]:
    """The tables `data.source` names, keyed by split (`all` for a source that brings no splits)."""
    if isinstance(config.source, str):
        tables = read_source(config.source, read_settings(config), search_dirs)
        tables = {ALL if split is None else split: table for split, table in tables.items()}
        if ALL not in tables and "train" not in tables:
            raise DataError(f"{config.source}: holds the splits {', '.join(tables)} but no train split. Map a training "
                            "file in data.source: {train: ..., test: ...}.")
        return tables
    tables = {}
    for raw_split, entry in config.source.items():
        where = f"data.source.{raw_split}"
        split = split_name(raw_split, where)
        if isinstance(entry, dict):
            if "path" not in entry:
                raise ConfigError(f"{where}: a split's entry needs `path`, the file, folder or hub id to read.")
            name = str(entry["path"])
        elif isinstance(entry, str):
            name, entry = entry, None
        else:
            raise ConfigError(f"{where}: expected a file name or a mapping with `path`, got {entry!r}.")
        read = read_source(name, read_settings(config, entry, where), search_dirs)
        if list(read) != [None]:
            raise ConfigError(f"{where}: {name} holds several splits; name one file per split.")
        tables[split] = read[None]
        tables[split].named = name
        renamed = {entry[key]: getattr(config, key) for key in SPLIT_COLUMNS if entry and entry.get(key)}
        tables[split].frame = tables[split].frame.rename(columns=renamed)
    if "train" not in tables:
        raise ConfigError(f"data.source names the splits {', '.join(tables)} but no train split. Add one.")
    return tables


# ---------------------------------------------------------------------------------------------------- labels


def label_key(value) -> str:
    """A label as a person reads it: 5, 5.0 and ' 5' are one value; True, true and TRUE are one word."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text.casefold()
    if math.isfinite(number):
        return str(int(number)) if number == int(number) else repr(number)
    return text.casefold()


def display_label(value) -> str:
    """The class name of a raw label with no mapping: as written, but 5.0 (a float column's 5) becomes 5."""
    text = str(value).strip()
    return text.split(".")[0] if re.fullmatch(r"-?\d+\.0+", text) else text


def require_columns(
    frame: pd.DataFrame, columns: list[str], origin: str,
    fix: str = "Set data.text_column / data.label_column in the config to the right names.",
    split: str | None = None,
) -> None:
    present = [c for c in frame.columns if c != ROW]
    for column in columns:
        if column not in frame.columns:
            if origin.lower().endswith((".xlsx", ".xlsm")):
                hint = " (is data.sheet the sheet that holds the data?)"
            elif len(present) == 1:
                hint = " (only one column: is data.delimiter right?)"
            elif looks_like_data(present):
                hint = (". The first row looks like data, not a header: if the file has no header row, name its "
                        "columns with data.column_names (e.g. [text, label]) and use those names")
            else:
                hint = ""
            if split in ("validation", "test"):
                fix += (f" If the {split} file has no labels (as GLUE's test files), leave it out of data.source: a "
                        f"{split} split is then made from train; or name its columns with text_column / label_column "
                        "in its entry of data.source.")
            listed = ", ".join(map(str, present[:20])) + (f" and {len(present) - 20} more" if len(present) > 20 else "")
            raise DataError(f"{origin}: no column {column!r}. Columns found: {listed}{hint}. {fix}")


def looks_like_data(header: list) -> bool:
    """Whether a header row reads like a data row: a number, or a sentence, among its names."""
    def data_like(name) -> bool:
        text = str(name).strip()
        return bool(re.fullmatch(r"[-+]?\d+([.,]\d+)?", text)) or len(text.split()) > 3 or len(text) > 40
    return any(data_like(name) for name in header)


def handle_empty(frame: pd.DataFrame, column: str, origin: str, policy: str) -> tuple[pd.DataFrame, int]:
    """Refuses (policy `error`) or drops (policy `drop`) rows whose `column` is blank."""
    empty = frame[frame[column].str.strip() == ""]
    if empty.empty:
        return frame, 0
    if policy == "error":
        raise DataError(
            f"{origin}: {len(empty)} empty value(s) in column {column!r} at row(s) {_rows(empty)}. "
            "Fill or remove those rows, or set data.empty_texts: drop to skip them."
        )
    return frame.drop(index=empty.index), len(empty)


def class_names(tables: dict[str, Table], config: DataConfig) -> list[str]:
    """The classes in the model's order: the config's list, the mapping's values, the source's declared class
    names, or the distinct labels found (numbers in numeric order)."""
    if config.labels:
        return list(config.labels)
    if config.label_mapping:
        return list(dict.fromkeys(config.label_mapping.values()))
    values = pd.concat([t.frame[config.label_column] for t in tables.values()])
    found = {label_key(v): display_label(v) for v in values if str(v).strip()}
    declared = next((t.label_names[config.label_column] for t in tables.values()
                     if t.label_names and config.label_column in t.label_names), None)
    if declared:
        return [name for name in declared if label_key(name) in found]
    names = sorted(set(found.values()))
    try:
        return sorted(names, key=float)
    except ValueError:
        return names


def map_labels(frame: pd.DataFrame, config: DataConfig, origin: str, labels: list[str]) -> pd.DataFrame:
    """Adds the `label` column of class names, refusing raw values the config does not account for."""
    raw = frame[config.label_column].str.strip()
    blank = frame[raw == ""]
    if not blank.empty:
        raise DataError(
            f"{origin}: {len(blank)} empty label(s) in column {config.label_column!r} at row(s) {_rows(blank)}. "
            "Label or remove those rows."
        )
    if config.label_mapping:
        lookup = {label_key(k): v for k, v in config.label_mapping.items()}
        setting, fix = "data.label_mapping's keys", "add them to data.label_mapping or fix those rows"
        known = list(config.label_mapping)
    elif config.labels:
        lookup = {label_key(name): name for name in config.labels}
        setting, fix, known = "data.labels", "add them to data.labels or fix those rows", list(config.labels)
    else:
        lookup = {label_key(name): name for name in labels}
        lookup.update({label_key(v): display_label(v) for v in raw.unique() if label_key(v) not in lookup})
        setting, fix, known = "", "", []
    mapped = raw.map(lambda value: lookup.get(label_key(value)))
    unknown = frame[mapped.isna()]
    if not unknown.empty:
        values = "; ".join(
            f"{value!r} (row(s) {_rows(rows)})" for value, rows in unknown.groupby(raw[mapped.isna()])
        )
        found = ", ".join(repr(v) for v in sorted(raw.unique(), key=label_key)[:30])
        raise DataError(
            f"{origin}: column {config.label_column!r} has unknown label(s): {values}. Values found in the column: "
            f"{found}; {setting}: {', '.join(repr(k) for k in known)}. To use them, {fix}."
        )
    stray = sorted(set(mapped) - set(labels)) if config.label_mapping else []
    if stray:
        raise DataError(f"{origin}: data.label_mapping produces {stray}, which data.labels does not list. Add them to data.labels.")
    return frame.assign(**{LABEL: mapped})


def normalised_text(values: pd.Series) -> pd.Series:
    """The deduplication key of a text: case and spacing ignored."""
    return values.str.lower().str.split().str.join(" ")


def deduplicate(frame: pd.DataFrame, key: pd.Series) -> tuple[pd.DataFrame, int, int]:
    """Keeps the first row of each key (a normalised text, an image's digest), so one input never sits twice.

    Returns the table, the rows dropped, and how many distinct keys carried conflicting labels.
    """
    conflicting = int((frame.groupby(key)[LABEL].nunique() > 1).sum())
    kept = frame[~key.duplicated()]
    return kept, len(frame) - len(kept), conflicting


def drop_across_splits(frames: dict[str, pd.DataFrame], keys: Callable[[pd.DataFrame], pd.Series]) -> dict[str, int]:
    """Removes from train (and validation) what a later split holds: a given test split is never changed.

    Returns how many rows each split lost.
    """
    seen: set = set()
    dropped = {}
    for split in ("test", "validation", "train"):
        if split not in frames:
            continue
        split_keys = keys(frames[split])
        clash = split_keys.isin(seen)
        if clash.any():
            dropped[split] = int(clash.sum())
            frames[split] = frames[split][~clash.to_numpy()]
        seen |= set(split_keys)
    return dropped


def minimum_per_class(config: DataConfig) -> int:
    """Fewest rows a class needs so the stratified split can put one in each of train, validation and test."""
    train_size = 1 - config.test_size - config.validation_size
    return max(3, math.ceil(1 / min(config.test_size, config.validation_size, train_size)))


def carve_shares(config: DataConfig, given: list[str]) -> dict[str, float]:
    """The share of the train file the one missing split takes (validation, or test), so that it holds the
    same share of the rows as in a split made from scratch."""
    shares = {"validation": config.validation_size / (1 - config.test_size),
              "test": config.test_size / (1 - config.validation_size)}
    return {split: share for split, share in shares.items() if split not in given}


def check_class_sizes(frame: pd.DataFrame, labels: list[str], config: DataConfig, origin: str,
                      needed: int | None = None) -> dict[str, int]:
    counts = frame[LABEL].value_counts()
    needed = needed or minimum_per_class(config)
    for label in labels:
        have = int(counts.get(label, 0))
        if have < needed:
            raise DataError(
                f"{origin}: class {label!r} has {have} row(s) after cleaning; at least {needed} are needed to put one in "
                f"each of the train, validation and test splits (test_size={config.test_size}, "
                f"validation_size={config.validation_size}). Add examples, or merge the class into another with "
                "data.label_mapping."
            )
    return {label: int(counts.get(label, 0)) for label in labels}


def check_classes_in_train(frames: dict[str, pd.DataFrame], tables: dict[str, Table]) -> None:
    """A class of a given validation or test split must occur in train: no model learns a class it never saw."""
    in_train = set(frames["train"][LABEL])
    for split in ("validation", "test"):
        if split not in frames:
            continue
        missing = frames[split][~frames[split][LABEL].isin(in_train)]
        if not missing.empty:
            classes = ", ".join(repr(c) for c in sorted(set(missing[LABEL])))
            unlabelled = (
                f" If this split has no labels (hub datasets mark them -1), leave it out of data.source: a {split} "
                "split is then made from train." if len(missing) == len(frames[split]) else ""
            )
            raise DataError(
                f"{tables[split].origin}: class(es) {classes} occur in the {split} split (row(s) {_rows(missing)}) "
                f"but not in train ({tables['train'].origin}). Add training examples of them, merge them into another "
                f"class with data.label_mapping, or remove those rows.{unlabelled}"
            )


def stratified_split(frame: pd.DataFrame, config: DataConfig) -> dict[str, pd.DataFrame]:
    """Seeded, stratified train / validation / test split."""
    rest, test = train_test_split(frame, test_size=config.test_size, stratify=frame[LABEL], random_state=config.seed)
    validation_share = config.validation_size / (1 - config.test_size)
    train, validation = train_test_split(
        rest, test_size=validation_share, stratify=rest[LABEL], random_state=config.seed
    )
    return {name: part.reset_index(drop=True) for name, part in
            (("train", train), ("validation", validation), ("test", test))}


def stratified_sample(frame: pd.DataFrame, size: int, seed: int, floor: int) -> pd.DataFrame:
    """`size` rows (or one floor per class, if more) in the classes' proportions, but at least `floor` of each
    class, so a quick run on imbalanced data still has every class in every split."""
    if size >= len(frame):
        return frame
    guaranteed = frame.groupby(LABEL).sample(n=floor, random_state=seed)  # every class has >= floor rows here
    rest = frame.drop(index=guaranteed.index)
    wanted = max(0, size - len(guaranteed))
    if rest.empty or wanted == 0:
        return guaranteed.sort_values(ROW)
    extra = rest.groupby(LABEL).sample(frac=wanted / len(rest), random_state=seed)
    if len(extra) > wanted:  # per-class rounding overshot: trim at random
        extra = extra.sample(n=wanted, random_state=seed)
    elif len(extra) < wanted:
        extra = pd.concat([extra, rest.drop(index=extra.index).sample(n=wanted - len(extra), random_state=seed)])
    return pd.concat([guaranteed, extra]).sort_values(ROW)


def describe_source(source: str | dict) -> str:
    """The data's origin as the config names it (never a machine's absolute path it was resolved to)."""
    if isinstance(source, str):
        return source
    return ", ".join(f"{split}: {entry['path'] if isinstance(entry, dict) else entry}" for split, entry in source.items())


def prepare_splits(tables: dict[str, Table], config: DataConfig, input_column: str,
                   keys: Callable[[pd.DataFrame], pd.Series] | None) -> LabelledData:
    """Labelled, deduplicated, checked and split tables, keeping the splits the data came with.

    `keys` gives each row's deduplication key (None: no deduplication); a text or image never sits in two splits.
    """
    report = DataReport(source=describe_source(config.source), rows_read=sum(len(t.frame) for t in tables.values()))
    labels = class_names(tables, config)
    frames = {}
    for split, table in tables.items():
        frame, dropped = handle_empty(table.frame, input_column, table.origin, config.empty_texts)
        report.empty_dropped += dropped
        frames[split] = map_labels(frame, config, table.origin, labels)
    report.given_splits = [s for s in SPLITS if s in frames]
    report.split_sources = {s: tables[s].named for s in report.given_splits}
    if config.deduplicate and keys is not None:
        # A given test (or validation) split is used as it is, repeats included, so scores compare with
        # published ones; only the rows that will be split or trained on are deduplicated.
        for split in [s for s in (ALL, "train") if s in frames]:
            frames[split], dropped, conflicting = deduplicate(frames[split], keys(frames[split]))
            report.duplicates_dropped += dropped
            report.conflicting_duplicates += conflicting
        report.cross_split_duplicates = drop_across_splits(frames, keys)
        for split in report.cross_split_duplicates:
            if frames[split].empty:
                later = "the test split" if split == "validation" else "the validation or test split"
                raise DataError(f"{tables[split].origin}: every row of the {split} split is also in {later}, so none "
                                "is left to use. Give the splits different data.")
    if ALL in frames or set(frames) == {"train"}:  # nothing but training rows: every split is made from them
        key = ALL if ALL in frames else "train"
        report.given_splits, report.split_sources = [], {}
        splits = _split_everything(frames[key], labels, config, tables[key].origin, report)
    else:
        splits = _complete_given_splits(frames, tables, labels, config, report)
    report.split_sizes = {name: len(splits[name]) for name in SPLITS}
    if keys is not None:
        report.test_repeats = int(keys(splits["test"]).duplicated().sum())
    return LabelledData(splits=splits, labels=labels, report=report)


def _split_everything(frame, labels, config, origin, report) -> dict[str, pd.DataFrame]:
    report.class_counts = check_class_sizes(frame, labels, config, origin)
    if config.sample_size:
        frame = stratified_sample(frame, config.sample_size, config.seed, minimum_per_class(config))
        report.sampled_to = len(frame)
        report.class_counts = frame[LABEL].value_counts().reindex(labels).astype(int).to_dict()
    report.made_splits = list(SPLITS)
    return stratified_split(frame, config)


def _complete_given_splits(frames, tables, labels, config, report) -> dict[str, pd.DataFrame]:
    check_classes_in_train(frames, tables)
    shares = carve_shares(config, report.given_splits)
    needed = max([2] + [math.ceil(1 / share) + 1 for share in shares.values()])
    check_class_sizes(frames["train"], labels, config, tables["train"].origin, needed=needed if shares else 1)
    if config.sample_size:  # given validation and test splits stay whole, so scores remain comparable
        frames["train"] = stratified_sample(frames["train"], config.sample_size, config.seed, needed if shares else 1)
        report.sampled_to = len(frames["train"])
    train = frames["train"]
    for split, share in shares.items():
        train, frames[split] = train_test_split(train, test_size=share, stratify=train[LABEL], random_state=config.seed)
    frames["train"] = train
    report.made_splits = list(shares)
    everything = pd.concat(frames.values())
    report.class_counts = everything[LABEL].value_counts().reindex(labels, fill_value=0).astype(int).to_dict()
    return {name: frames[name].reset_index(drop=True) for name in SPLITS}


def load_labelled_data(config: DataConfig, search_dirs: list[Path], input_column: str) -> LabelledData:
    """Files to clean, labelled splits: the whole data path of a table-based classification recipe."""
    tables = load_tables(config, search_dirs)
    for split, table in tables.items():
        require_columns(table.frame, [input_column, config.label_column], table.origin, split=split)
    return prepare_splits(tables, config, input_column, lambda frame: normalised_text(frame[input_column]))


def column_list(columns) -> str:
    """A file's columns for an error message; a column without a header shows as '' (pandas calls it
    'Unnamed: 0' elsewhere; here its name is the empty text)."""
    return ", ".join(column_name(c) for c in columns if c != ROW)


def column_name(column) -> str:
    """A column's name as messages show it: '' for a column without a header."""
    return repr(column) if not str(column).strip() else str(column)
