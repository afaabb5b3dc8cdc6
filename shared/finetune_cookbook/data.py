"""Reading, validating and splitting labelled tables, for every domain.

Rows are numbered as a user sees them in a spreadsheet: row 1 is the first data row under the header.
Every check raises a DataError that names the file, the column and the rows, and says what to change.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from .config import DataConfig
from .errors import DataError
from .resolve import find_local_data, hub_offline, looks_like_path

LABEL = "label"
ROW = "row"  # the 1-based source row, kept so later errors and error analysis can point back to the file
MAX_ROWS_LISTED = 5


@dataclass
class DataReport:
    """What happened to the rows between the file and the splits, for the notebook and the model card."""

    source: str
    rows_read: int
    empty_dropped: int = 0
    duplicates_dropped: int = 0
    conflicting_duplicates: int = 0
    sampled_to: int | None = None
    class_counts: dict[str, int] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)


@dataclass
class LabelledData:
    """Stratified train / validation / test tables with a `label` column of class names."""

    splits: dict[str, pd.DataFrame]
    labels: list[str]
    report: DataReport

    def label_ids(self, split: str) -> list[int]:
        index = {name: i for i, name in enumerate(self.labels)}
        return [index[name] for name in self.splits[split][LABEL]]


def _rows(frame: pd.DataFrame) -> str:
    rows = [str(r) for r in frame[ROW].head(MAX_ROWS_LISTED)]
    more = f" and {len(frame) - MAX_ROWS_LISTED} more" if len(frame) > MAX_ROWS_LISTED else ""
    return ", ".join(rows) + more


def _decode(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line} is not valid {encoding} (byte 0x{raw[error.start]:02x} at offset {error.start}). "
            "Re-save the file as UTF-8, or set data.encoding to the file's encoding (for example latin-1)."
        ) from error


def read_table(path: str | Path, delimiter: str | None = None, encoding: str = "utf-8-sig") -> pd.DataFrame:
    """Reads CSV, TSV, JSON Lines or parquet into a table of strings (empty cells stay empty strings)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check data.source in the config.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in {".jsonl", ".json"}:
            frame = pd.read_json(io.StringIO(_decode(path, encoding)), lines=True, dtype=False)
        elif suffix in {".csv", ".tsv", ".tab"}:
            sep = delimiter or ("," if suffix == ".csv" else "\t")
            frame = pd.read_csv(io.StringIO(_decode(path, encoding)), sep=sep, dtype=str, keep_default_na=False)
        else:
            raise DataError(f"{path}: unknown file type {suffix!r}. Use .csv, .tsv, .jsonl or .parquet.")
    except (pd.errors.ParserError, ValueError) as error:
        raise DataError(f"{path}: could not be parsed as {suffix.lstrip('.')}: {error}") from error
    if frame.empty:
        raise DataError(f"{path}: holds no data rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return _as_strings(frame)


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (missing cells empty), plus the 1-based source row of each row."""
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    frame[ROW] = range(1, len(frame) + 1)
    return frame


def read_lines(path: str | Path, encoding: str = "utf-8-sig") -> list[str]:
    """The non-blank lines of a plain text file: one input per line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    lines = [line for line in _decode(path, encoding).splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: holds no text lines.")
    return lines


def load_source(config: DataConfig, search_dirs: list[Path]) -> tuple[pd.DataFrame, str]:
    """The table `data.source` names, and a human-readable name of where it came from."""
    local = find_local_data(config.source, search_dirs)
    if local is not None:
        return read_table(local, config.delimiter, config.encoding), str(local)
    if looks_like_path(config.source):
        tried = ", ".join(str(d / config.source) for d in search_dirs)
        raise DataError(f"{config.source}: file not found (tried {tried}). Check data.source in the config.")
    return _load_hub_dataset(config), f"hub:{config.source}[{config.split}]"


def _load_hub_dataset(config: DataConfig) -> pd.DataFrame:
    import datasets

    if hub_offline():
        raise DataError(
            f"{config.source}: not a local file, and HF_HUB_OFFLINE=1 forbids the hub. "
            "Point data.source at a local file, or unset HF_HUB_OFFLINE with a network."
        )
    try:
        frame = datasets.load_dataset(config.source, split=config.split).to_pandas()
    except Exception as error:  # the hub raises many kinds; all mean the same to the user
        raise DataError(f"{config.source}: could not load from the hub ({error}).") from error
    return _as_strings(frame)


def require_columns(
    frame: pd.DataFrame, columns: list[str], origin: str,
    fix: str = "Set data.text_column / data.label_column in the config to the right names.",
) -> None:
    present = [c for c in frame.columns if c != ROW]
    for column in columns:
        if column not in frame.columns:
            hint = " (only one column: is data.delimiter right?)" if len(present) == 1 else ""
            raise DataError(f"{origin}: no column {column!r}. Columns found: {', '.join(present)}{hint}. {fix}")


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


def map_labels(frame: pd.DataFrame, config: DataConfig, origin: str) -> tuple[pd.DataFrame, list[str]]:
    """Adds the `label` column of class names, refusing raw values the config does not account for."""
    raw = frame[config.label_column].str.strip()
    blank = frame[raw == ""]
    if not blank.empty:
        raise DataError(
            f"{origin}: {len(blank)} empty label(s) in column {config.label_column!r} at row(s) {_rows(blank)}. "
            "Label or remove those rows."
        )
    if config.label_mapping:
        allowed, mapped = config.label_mapping, raw.map(config.label_mapping)
        default_labels = list(dict.fromkeys(config.label_mapping.values()))
        fix = "add them to data.label_mapping or fix those rows"
    elif config.labels:
        allowed, mapped = set(config.labels), raw.where(raw.isin(config.labels))
        default_labels = config.labels
        fix = "add them to data.labels or fix those rows"
    else:
        allowed, mapped, default_labels, fix = None, raw, sorted(raw.unique()), ""
    if allowed is not None:
        unknown = frame[mapped.isna()]
        if not unknown.empty:
            values = "; ".join(
                f"{value!r} (row(s) {_rows(rows)})" for value, rows in unknown.groupby(raw[mapped.isna()])
            )
            raise DataError(f"{origin}: column {config.label_column!r} has unknown label(s): {values}. To use them, {fix}.")
    labels = config.labels or default_labels
    stray = sorted(set(mapped) - set(labels))
    if stray:
        raise DataError(f"{origin}: data.label_mapping produces {stray}, which data.labels does not list. Add them to data.labels.")
    return frame.assign(**{LABEL: mapped}), list(labels)


def deduplicate(frame: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int, int]:
    """Keeps the first row of each text (case and spacing ignored), so one text never sits in two splits.

    Returns the table, the rows dropped, and how many distinct texts carried conflicting labels.
    """
    key = frame[column].str.lower().str.split().str.join(" ")
    conflicting = int((frame.groupby(key)[LABEL].nunique() > 1).sum())
    kept = frame[~key.duplicated()]
    return kept, len(frame) - len(kept), conflicting


def minimum_per_class(config: DataConfig) -> int:
    """Fewest rows a class needs so the stratified split can put one in each of train, validation and test."""
    train_size = 1 - config.test_size - config.validation_size
    return max(3, math.ceil(1 / min(config.test_size, config.validation_size, train_size)))


def check_class_sizes(frame: pd.DataFrame, labels: list[str], config: DataConfig, origin: str) -> dict[str, int]:
    counts = frame[LABEL].value_counts()
    needed = minimum_per_class(config)
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
    extra = rest.groupby(LABEL).sample(frac=wanted / len(rest), random_state=seed)
    if len(extra) > wanted:  # per-class rounding overshot: trim at random
        extra = extra.sample(n=wanted, random_state=seed)
    elif len(extra) < wanted:
        extra = pd.concat([extra, rest.drop(index=extra.index).sample(n=wanted - len(extra), random_state=seed)])
    return pd.concat([guaranteed, extra]).sort_values(ROW)


def load_labelled_data(config: DataConfig, search_dirs: list[Path], input_column: str) -> LabelledData:
    """File to clean, labelled, stratified splits: the whole data path of a classification recipe."""
    frame, origin = load_source(config, search_dirs)
    require_columns(frame, [input_column, config.label_column], origin)
    report = DataReport(source=origin, rows_read=len(frame))
    frame, report.empty_dropped = handle_empty(frame, input_column, origin, config.empty_texts)
    frame, labels = map_labels(frame, config, origin)
    if config.deduplicate:
        frame, report.duplicates_dropped, report.conflicting_duplicates = deduplicate(frame, input_column)
    report.class_counts = check_class_sizes(frame, labels, config, origin)
    if config.sample_size:
        frame = stratified_sample(frame, config.sample_size, config.seed, minimum_per_class(config))
        report.sampled_to = len(frame)
        report.class_counts = frame[LABEL].value_counts().reindex(labels).astype(int).to_dict()
    splits = stratified_split(frame, config)
    report.split_sizes = {name: len(part) for name, part in splits.items()}
    return LabelledData(splits=splits, labels=labels, report=report)
