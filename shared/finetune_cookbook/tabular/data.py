"""A labelled table of mixed columns, checked and split, for the tabular domains (fraud, segmentation).

The files are read by the package's one reader (`data.load_tables`); here the label becomes 1 / 0, the columns
the config drops are set aside, the split is made (time-ordered when the config names time columns, else
stratified and seeded; a given test split is kept), and each column's kind is inferred from the training rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.data import (
    ALL,
    LABEL,
    SPLITS,
    DataReport,
    LabelledData,
    column_list,
    describe_source,
    drop_across_splits,
    load_tables,
    stratified_sample,
    stratified_split,
)
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.readers import ROW
from finetune_cookbook.core.label_curve import nested_subset
from finetune_cookbook.tabular.columns import (
    CONSTANT,
    binary_targets,
    clean_cells,
    column_notes,
    infer_column_types,
    model_columns,
    time_order,
    without_empty_rows,
)

TARGET = "target"  # 1 for the positive outcome (a fraud), 0 otherwise


@dataclass
class TabularData(LabelledData):
    """Splits of raw rows (text cells, a `target` of 1 / 0 and a `label` of class names), and every column's kind."""

    kinds: dict[str, str] = field(default_factory=dict)
    positive_value: str = "1"
    label_column: str = ""

    def targets(self, split: str) -> np.ndarray:
        return self.splits[split][TARGET].to_numpy()

    @property
    def feature_columns(self) -> list[str]:
        return [c for c, kind in self.kinds.items() if kind != CONSTANT]


def load_tabular_data(config: RecipeConfig, labels: tuple[str, str] = ("genuine", "fraud"),
                      describe_columns: bool = True) -> TabularData:
    """The config's table, labelled 1 (`tabular.positive_value`) / 0, split and typed; nothing is written.
    `describe_columns`: the report notes the inferred kinds and suspect columns (off for a task that adds
    columns of its own and describes them itself)."""
    tables = load_tables(config.data, config.search_dirs)
    report = DataReport(source=describe_source(config.data.source), rows_read=sum(len(t.frame) for t in tables.values()))
    frames, positive = {}, None
    for split, table in tables.items():
        unknown = [c for c in (config.tabular.missing_values if isinstance(config.tabular.missing_values, dict)
                               else []) if c not in table.frame.columns]
        if unknown:
            raise ConfigError(f"tabular.missing_values names {', '.join(map(repr, unknown))}, not columns of "
                              f"{table.origin}. Columns: {column_list(table.frame.columns)}.")
        frame, emptied = clean_cells(table.frame, config.tabular.missing_values, config.tabular.decimal,
                                     keep=[config.data.label_column, *config.tabular.drop_columns], origin=table.origin)
        if emptied:
            report.notes.append(f"Read as missing (tabular.missing_values) in {table.origin}: {'; '.join(emptied)}.")
        frame, skipped = without_empty_rows(frame, table.origin)
        report.notes += [skipped] if skipped else []
        clash = [c for c in (TARGET, LABEL) if c in frame.columns and c != config.data.label_column]
        if clash:
            raise DataError(f"{table.origin}: has a column named {clash[0]!r}, a name the cookbook gives a column of "
                            "its own (the outcome as 1 / 0, and as a class name). Rename that column in the file.")
        targets, positive = binary_targets(frame, config.data.label_column, config.tabular.positive_value,
                                           table.origin, meaning=labels[1])
        missing = [c for c in config.tabular.drop_columns if c not in frame.columns]
        if missing and split in (ALL, "train"):
            report.notes.append(f"tabular.drop_columns names {', '.join(map(repr, missing))}, not column(s) of "
                                f"{table.origin}: nothing to drop there. Name your identifier columns there, or set "
                                "it to [].")
        frame[TARGET] = targets
        frame[LABEL] = np.where(targets == 1, labels[1], labels[0])
        frames[split] = frame
    origin = tables["train" if "train" in tables else ALL].origin
    split_origins = {split: table.origin for split, table in tables.items() if split != ALL}
    splits = _split(frames, config, report, origin)
    features = [c for c in splits["train"].columns
                if c not in {config.data.label_column, *config.tabular.drop_columns, TARGET, LABEL, ROW}]
    splits, report.cross_split_duplicates, report.test_repeats = without_repeats(splits, features)
    train = splits["train"]
    if train[TARGET].sum() == 0:
        raise DataError(f"{origin}: the training split holds no {labels[1]} case (label {positive!r} in column "
                        f"{config.data.label_column!r}), so nothing can learn what one looks like. Add labelled "
                        f"{labels[1]} cases, or check tabular.positive_value.")
    for split in ("validation", "test"):
        if splits[split][TARGET].sum() == 0:
            raise DataError(
                f"{origin}: the {split} split ({len(splits[split])} rows) holds no {labels[1]} case, so nothing can be "
                f"measured {'or chosen ' if split == 'validation' else ''}on it. Make it larger "
                f"(data.{split}_size), or split at random instead of by time (leave tabular.time_columns unset)."
            )
    exclude = [config.data.label_column, *config.tabular.drop_columns, TARGET, LABEL]
    kinds = infer_column_types(train, exclude, config.tabular.column_types, origin)
    for split, frame in splits.items():  # bad cells in any split are found now, before anything trains
        model_columns(frame, kinds, split_origins.get(split, origin))
    if describe_columns:
        report.notes += column_notes(train, kinds, config.tabular.column_types, config.tabular.time_columns or [])
    constant = [c for c, kind in kinds.items() if kind == CONSTANT]
    if constant:
        report.notes.append(f"Left out for holding one value in every training row: {', '.join(constant)}.")
    report.split_sizes = {name: len(splits[name]) for name in SPLITS}
    everything = pd.concat(splits.values())
    report.class_counts = everything[LABEL].value_counts().reindex(list(labels), fill_value=0).astype(int).to_dict()
    return TabularData(splits=splits, labels=list(labels), report=report, kinds=kinds, positive_value=positive,
                       label_column=config.data.label_column)


def without_repeats(splits: dict[str, pd.DataFrame], features: list[str]) -> tuple[dict[str, pd.DataFrame],
                                                                                   dict[str, int], int]:
    """The splits without training (and validation) rows that repeat a later split's row in every feature column,
    as the text and image readers drop repeated inputs; returns them, the rows each split lost, and how many test
    rows repeat another test row (counted, not dropped: a given test split is kept as it came)."""
    def keys(frame: pd.DataFrame) -> pd.Series:
        present = [c for c in features if c in frame.columns]
        return pd.util.hash_pandas_object(frame[present].astype("string").fillna("\0"), index=False)

    splits = dict(splits)
    dropped = drop_across_splits(splits, keys)
    return ({name: frame.reset_index(drop=True) for name, frame in splits.items()}, dropped,
            int(keys(splits["test"]).duplicated().sum()))


def _split(frames: dict[str, pd.DataFrame], config: RecipeConfig, report: DataReport, origin: str) -> dict[str, pd.DataFrame]:
    given = [s for s in SPLITS if s in frames]
    report.given_splits = given
    if ALL in frames or given == ["train"]:
        frame = frames[ALL if ALL in frames else "train"]
        report.given_splits = []
        if config.data.sample_size:
            frame = stratified_sample(frame, config.data.sample_size, config.data.seed, floor=3)
            report.sampled_to = len(frame)
        report.made_splits = list(SPLITS)
        if time_columns(config, frame, origin, report):
            return time_split(frame, config, origin)
        return stratified_split(frame, config.data)
    if "test" not in frames:
        raise ConfigError("data.source names a validation split but no test split: name a test file too.")
    if "validation" not in frames:  # carve validation from the latest (or a stratified share of the) training rows
        share = config.data.validation_size / (1 - config.data.test_size)
        carved = _carve(frames["train"], share, config, origin, report)
        frames = {**frames, **carved}
        report.made_splits = ["validation"]
    return {name: frames[name].reset_index(drop=True) for name in SPLITS}


def time_columns(config: RecipeConfig, frame: pd.DataFrame, origin: str, report: DataReport) -> list[str]:
    """`tabular.time_columns` where the file has them all; where it has none of them, none (a stratified split,
    with a note), so a copied recipe runs on a table without its time columns."""
    named = config.tabular.time_columns or []
    absent = [c for c in named if c not in frame.columns]
    if named and len(absent) == len(named):
        report.notes.append(f"tabular.time_columns names {', '.join(map(repr, absent))}, not column(s) of {origin}: "
                            "the split is stratified and seeded instead of time-ordered. Name your time columns "
                            "there, or leave it unset.")
        return []
    return named


def time_split(frame: pd.DataFrame, config: RecipeConfig, origin: str) -> dict[str, pd.DataFrame]:
    """The earliest rows train, the next `validation_size` validate, the latest `test_size` test."""
    ordered = frame.iloc[time_order(frame, config.tabular.time_columns, origin)].reset_index(drop=True)
    n = len(ordered)
    test_start = n - int(round(config.data.test_size * n))
    validation_start = test_start - int(round(config.data.validation_size * n))
    return {"train": ordered.iloc[:validation_start].reset_index(drop=True),
            "validation": ordered.iloc[validation_start:test_start].reset_index(drop=True),
            "test": ordered.iloc[test_start:].reset_index(drop=True)}


def _carve(train: pd.DataFrame, share: float, config: RecipeConfig, origin: str,
           report: DataReport) -> dict[str, pd.DataFrame]:
    if time_columns(config, train, origin, report):
        ordered = train.iloc[time_order(train, config.tabular.time_columns, origin)]
        cut = len(ordered) - int(round(share * len(ordered)))
        return {"train": ordered.iloc[:cut], "validation": ordered.iloc[cut:]}
    from sklearn.model_selection import train_test_split

    rest, validation = train_test_split(train, test_size=share, stratify=train[TARGET], random_state=config.data.seed)
    return {"train": rest, "validation": validation}


def label_subset(targets: np.ndarray, budget: float, seed: int, origin: str, meaning: str = "fraud") -> np.ndarray:
    """Positions of the training rows whose labels a budget allows: `budget` of each class, drawn with `seed`.

    Stratified, so a 1% budget holds 1% of the frauds, as a team that labels a random 1% of its cases would
    find on average. Nested: with one seed, a larger budget keeps every row of a smaller one and adds more, so
    a label-budget curve measures what more labels buy, not a new draw's luck."""
    positives = int(np.sum(targets == 1))
    if int(round(budget * positives)) == 0:
        raise DataError(
            f"{origin}: a label budget of {budget:g} of the training rows keeps no {meaning} case (the training "
            f"split holds {positives}). Raise the budget (fraud.label_budget, or fraud.label_budgets for the "
            f"curve) to at least {1 / max(positives, 1):.3g}, or add {meaning} cases to the data."
        )
    return nested_subset(np.asarray(targets).astype(int), budget, seed)
