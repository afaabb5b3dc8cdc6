"""Tables of mixed columns into model inputs, for every tabular domain (fraud, segmentation).

Three steps, each kept apart so a user can see and override it:
1. `infer_column_types`: each column's kind (numeric, categorical, band, boolean, date, or constant), from the
   training rows, overridable per column in the config (`tabular.column_types`).
2. `model_columns`: the stateless part, the same for every row: bands such as "more than 69000" become numbers,
   yes / no becomes 1 / 0, a date its year (with fraction), month, weekday and hour.
3. `TabularEncoder`: the fitted part, a scikit-learn `ColumnTransformer` fitted on training rows only (median
   imputation with missing-value flags and a quantile-to-normal scaling for numbers; an ordinal code per category,
   rare ones grouped, a missing value its own category, an unseen one the code 0). It is saved with skops and a
   JSON schema, and loaded back with only scikit-learn's own types trusted: nothing arbitrary is unpickled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as skops_io
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, QuantileTransformer

from finetune_cookbook.core.data import column_list, column_name, label_key, list_rows, shown_values
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.readers import ROW
from finetune_cookbook.tabular.runtime import (  # noqa: F401  (the cell rules live once, in what exports ship)
    BAND,
    CONSTANT,
    DATE,
    DATE_PARTS,
    DECIMAL_COMMA,
    DECIMAL_POINT,
    FALSE_WORDS,
    KINDS,
    LESS_WORDS,
    MISSING,
    MORE_WORDS,
    THOUSANDS,
    TRUE_WORDS,
    UNIT_YEARS,
    ZERO_WORDS,
    band_value,
    clean_column,
    is_decimal_comma,
    parse_date,
)
from finetune_cookbook.tabular import runtime

TEXT_SHARE_FOR_NUMERIC = 0.9  # a column this much numbers is numeric with stray text, not a category
# skops loads only objects of these types from an encoder file.
TRUSTED_TYPES = [
    "sklearn.compose._column_transformer.ColumnTransformer", "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer", "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.QuantileTransformer", "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.utils._bunch.Bunch", "builtins.slice", "numpy.dtype", "numpy.ndarray", "builtins.str",
    "pandas.core.indexes.base.Index",
]


def source_rows(frame: pd.DataFrame) -> pd.Series:
    """Each row's number as a user finds it in the file (1: the first data row)."""
    return frame[ROW] if ROW in frame.columns else pd.Series(np.arange(1, len(frame) + 1), index=frame.index)


def _present(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text[text.notna() & (text != "")]


# ---------------------------------------------------------------------------------------------------- values


def _is_band(values: pd.Series) -> bool:
    distinct = values.str.lower().unique()
    has_range = any(re.search(r"\d\s*(to|-|–)\s*\d|" + "|".join(MORE_WORDS + LESS_WORDS), v) for v in distinct)
    return len(distinct) >= 2 and has_range and all(band_value(v) is not None for v in distinct)


def cells(values: pd.Series) -> list[str]:
    """A column as stripped text cells, empty for a missing value, as `runtime` reads them."""
    return values.astype("string").str.strip().fillna("").tolist()


def parse_numbers(values: pd.Series) -> pd.Series:
    """Text cells as numbers (thousands commas allowed, in groups of three); what does not read as a finite number
    is NaN, a decimal comma (12,5) included: `clean_cells` rewrites those when `tabular.decimal` is ','."""
    return pd.Series(runtime.parse_numbers(cells(values)), index=values.index, dtype="float64")


def _decimal_comma(values: pd.Series) -> pd.Series:
    """Cells that read as numbers only with a decimal comma (12,50 or 1.234,56)."""
    return pd.Series([is_decimal_comma(cell) for cell in cells(values)], index=values.index, dtype=bool)


def clean_cells(frame: pd.DataFrame, missing_values, decimal: str, keep: list[str],
                origin: str = "the file") -> tuple[pd.DataFrame, list[str]]:
    """`frame` with `tabular.missing_values` emptied and, when `decimal` is ',', numbers such as 1.234,56 written
    1234.56 (`runtime.clean_column`); the columns in `keep` (the label) are left as they are. Also returns what was
    emptied, per column. With ',', a number written with a decimal point (12.5) is an error: the setting does not
    match the file."""
    frame = frame.copy()
    emptied = []
    for column in frame.columns:
        if column == ROW or column in keep:
            continue
        markers = missing_values.get(column, []) if isinstance(missing_values, dict) else missing_values
        if decimal != "," and not markers:
            continue
        original = frame[column]
        cleaned, hit, pointed = clean_column(cells(original), markers, decimal)
        if pointed:
            rows = source_rows(frame).iloc[pointed]
            text = pd.Series([cleaned[i] for i in pointed], index=rows.index)
            raise DataError(
                f"{origin}: column {column!r} holds numbers written with a decimal point in row(s) "
                f"{list_rows(rows)} ({shown_values(text, rows)}), "
                "but tabular.decimal is ','. Remove tabular.decimal from the config if the file writes 12.5, or "
                "correct those cells (12,5)."
            )
        before = cells(original)
        changed = np.array([new != old for new, old in zip(cleaned, before)], dtype=bool)
        frame[column] = original.where(~changed, pd.Series(cleaned, index=frame.index))
        if hit:
            shown = ", ".join(list(dict.fromkeys(repr(before[i]) for i in hit))[:3])
            emptied.append(f"{column!r} {len(hit)} cell(s) ({shown})")
    return frame, emptied


def without_empty_rows(frame: pd.DataFrame, origin: str) -> tuple[pd.DataFrame, str | None]:
    """`frame` less the rows with every cell empty (a spreadsheet's blank rows, a line of separators), and a note
    that names them; they hold nothing to learn from or to score."""
    cells = frame.drop(columns=[ROW], errors="ignore").astype("string").apply(lambda c: c.str.strip())
    empty = (cells.isna() | (cells == "")).all(axis=1)
    if not empty.any():
        return frame, None
    if empty.all():
        raise DataError(f"{origin}: every row is empty (no cell holds a value). Check the file, and data.sheet for a "
                        "workbook.")
    note = f"Skipped {int(empty.sum())} row(s) of {origin} with every cell empty: row(s) {list_rows(source_rows(frame)[empty])}."
    return frame[~empty].reset_index(drop=True), note


# ---------------------------------------------------------------------------------------------------- column types


def infer_column_types(frame: pd.DataFrame, exclude: list[str], overrides: dict[str, str] | None,
                       origin: str) -> dict[str, str]:
    """Each column's kind, judged on `frame` (the training rows). Columns in `exclude` (the label, dropped
    columns) are left out; `overrides` (column -> kind) wins over what the values suggest."""
    overrides = dict(overrides or {})
    for column, kind in overrides.items():
        if column not in frame.columns:
            raise ConfigError(f"tabular.column_types names {column!r}, which {origin} does not have. Columns: "
                              f"{column_list(frame.columns)}.")
        if kind not in KINDS:
            raise ConfigError(f"tabular.column_types.{column} is {kind!r}; choose one of {', '.join(KINDS)}.")
    kinds = {}
    for column in frame.columns:
        if column == ROW or column in exclude:
            continue
        present = _present(frame[column])
        if present.empty:
            raise DataError(f"{origin}: column {column!r} is empty in every row. Drop it (add it to "
                            "tabular.drop_columns in the config) or fill it in.")
        kind = overrides.get(column) or _guess_kind(present)
        if kind == "numeric":
            _check_numeric(frame[column], column, origin, source_rows(frame))
        if column not in overrides and present.nunique() == 1:
            kind = CONSTANT
        kinds[column] = kind
    if not any(kind != CONSTANT for kind in kinds.values()):
        raise DataError(f"{origin}: no column left to learn from once the label and tabular.drop_columns are set "
                        "aside (or every column holds one value).")
    return kinds


IDENTIFIER_DIGITS = 11  # whole numbers this long are card, account or phone numbers, not quantities
MANY_CATEGORIES = 50


def column_notes(frame: pd.DataFrame, kinds: dict[str, str], overrides: dict[str, str], time_columns: list[str],
                 shown: int = 8) -> list[str]:
    """What a user should know about the inferred columns of `frame` (the training rows): each kind's columns,
    and the columns that look like identifiers, row numbers or times, which a model learns little from."""
    by_kind: dict[str, list[str]] = {}
    for column, kind in kinds.items():
        if kind != CONSTANT:
            by_kind.setdefault(kind, []).append(column_name(column))
    notes = ["Column kinds (inferred from the training rows; tabular.column_types overrides them): " + "; ".join(
        f"{kind} {len(names)}: {', '.join(names[:shown])}{f' and {len(names) - shown} more' if len(names) > shown else ''}"
        for kind, names in by_kind.items()) + "."]
    suspects = []
    for column, kind in kinds.items():
        if column in overrides or kind == CONSTANT:
            continue
        present = _present(frame[column])
        distinct = present.nunique()
        if not str(column).strip() or str(column).startswith("Unnamed:"):
            suspects.append(f"{column!r} has no header name (a saved row index?)")
        elif kind == "categorical" and distinct > MANY_CATEGORIES and distinct >= 0.5 * len(present):
            suspects.append(f"{column!r} holds {distinct} different values in {len(present)} training rows")
        elif kind == "numeric":
            numbers = parse_numbers(present)
            whole = bool((numbers == numbers.round()).all())
            if whole and numbers.abs().median() >= 10 ** IDENTIFIER_DIGITS:
                suspects.append(f"{column!r} holds whole numbers of {IDENTIFIER_DIGITS + 1} or more digits")
            elif whole and distinct == len(present) > MANY_CATEGORIES and (numbers.is_monotonic_increasing
                                                                           or numbers.is_monotonic_decreasing):
                suspects.append(f"{column!r} counts the rows up, one value per row")
    if suspects:
        notes.append("These look like identifiers, row numbers or timestamps, which a model can memorise but not "
                     f"learn from: {'; '.join(suspects)}. Add them to tabular.drop_columns (predict copies them "
                     "through), or keep them by naming their kind in tabular.column_types.")
    kept_times = [c for c in time_columns if c in kinds and kinds[c] != CONSTANT]
    if kept_times:
        notes.append(f"Time column(s) {', '.join(map(repr, kept_times))} are also features. With a time-ordered split "
                     "the test rows lie beyond every training time; add them to tabular.drop_columns unless a "
                     "part of them (a month, an hour) says something on its own.")
    return notes


def _guess_kind(present: pd.Series) -> str:
    numbers = parse_numbers(present)
    if (numbers.notna() | _decimal_comma(present)).mean() >= TEXT_SHARE_FOR_NUMERIC:
        return "numeric"  # stray text (or decimal commas) in it is reported by _check_numeric
    lowered = set(present.str.lower().unique())
    if lowered <= TRUE_WORDS | FALSE_WORDS and len(lowered) == 2:
        return "boolean"
    if present.str.match(DATE).mean() >= 0.95 and np.mean([parse_date(v) is not None for v in present]) >= 0.95:
        return "date"
    if _is_band(present):
        return "band"
    return "categorical"


def _check_numeric(values: pd.Series, column: str, origin: str, rows: pd.Series) -> None:
    present = _present(values)
    bad = present[parse_numbers(present).isna()]
    if not bad.empty:
        rows = rows.loc[bad.index]
        comma = bad[_decimal_comma(bad)]
        if len(comma):
            raise DataError(
                f"{origin}: column {column!r} holds numbers written with a decimal comma in row(s) "
                f"{list_rows(rows.loc[comma.index])} ({shown_values(comma, rows.loc[comma.index])}). Set "
                "tabular.decimal: ',' in the config so that they read as numbers (a point then separates "
                "thousands: 1.234,56), then pre-train and train again; or write them with a decimal point."
            )
        examples = shown_values(bad, rows)
        raise DataError(
            f"{origin}: column {column!r} holds numbers, but row(s) {list_rows(rows)} hold text ({examples}). Correct "
            f"those cells (leave a cell empty for a missing value, or name such values in tabular.missing_values). "
            f"If the column is really a category, declare it so before training: tabular.column_types: "
            f"{{{column}: categorical}}."
        )


# ---------------------------------------------------------------------------------------------------- model columns


def model_columns(frame: pd.DataFrame, kinds: dict[str, str], origin: str) -> pd.DataFrame:
    """The stateless conversion (`runtime.model_columns`, the code every export ships): numbers, 0 / 1, band values
    and date parts as floats; categories as text. Empty cells stay missing (NaN) for the encoder to handle; a cell
    its column's kind cannot read is a `DataError` naming its rows."""
    rows = source_rows(frame)
    text = {column: cells(frame[column]) for column, kind in kinds.items() if kind != CONSTANT}
    out, bad = runtime.model_columns(text, kinds)
    for column, unread in bad.items():
        shown = pd.Series(text[column], index=frame.index)[unread]
        where = rows[unread]
        kind = kinds[column]
        if kind == "numeric":
            _check_numeric(shown, column, origin, rows)
        elif kind == "boolean":
            raise DataError(f"{origin}: column {column!r} is yes / no, but row(s) {list_rows(where)} hold "
                            f"{shown_values(shown, where)}. Use yes / no (or true / "
                            f"false), or declare it categorical in tabular.column_types.")
        raise DataError(f"{origin}: column {column!r} holds bands such as 'more than 30', but row(s) "
                        f"{list_rows(where)} hold {shown_values(shown, where)}. "
                        "Write them as bands (a number, 'X to Y', 'more than X', 'under X', 'none'), or "
                        "declare the column categorical in tabular.column_types.")
    return pd.DataFrame(out, index=frame.index)


# ---------------------------------------------------------------------------------------------------- the encoder


@dataclass
class EncodedRows:
    """Model inputs: standardised numbers (missing-value flags included) and category codes (0: unseen)."""

    numeric: np.ndarray  # float32, rows x numeric features
    categorical: np.ndarray  # int64, rows x categorical columns
    prior: np.ndarray | None = None  # float32, one per row: a score a network adds to its positive logit, if any

    def __len__(self) -> int:
        return len(self.numeric)

    def take(self, index) -> EncodedRows:
        return EncodedRows(self.numeric[index], self.categorical[index],
                           None if self.prior is None else self.prior[index])

    def flat(self) -> np.ndarray:
        """One matrix for scikit-learn models: numbers, then codes."""
        return np.hstack([self.numeric, self.categorical.astype(np.float32)])


class TabularEncoder:
    """The fitted part of the tabular pipeline: `fit` on training rows, then `encode` any rows."""

    SCHEMA, TRANSFORMER = "schema.json", "encoder.skops"

    def __init__(self, kinds: dict[str, str], min_category_count: int = 5):
        self.kinds = dict(kinds)
        self.min_category_count = min_category_count
        self.transformer: ColumnTransformer | None = None

    @property
    def input_columns(self) -> list[str]:
        """The columns a file to score must have."""
        return [c for c, kind in self.kinds.items() if kind != CONSTANT]

    def _column_groups(self, columns: pd.DataFrame) -> tuple[list[str], list[str]]:
        categorical = [c for c in columns.columns if c in self.kinds and self.kinds[c] == "categorical"]
        return [c for c in columns.columns if c not in categorical], categorical

    def fit(self, frame: pd.DataFrame, origin: str) -> TabularEncoder:
        columns = model_columns(frame, self.kinds, origin)
        numeric, categorical = self._column_groups(columns)
        numeric_steps = Pipeline([
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", QuantileTransformer(output_distribution="normal", n_quantiles=min(1000, len(columns)),
                                          random_state=0)),
        ])
        category_codes = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                        min_frequency=self.min_category_count)
        self.transformer = ColumnTransformer(
            [("numeric", numeric_steps, numeric), ("categorical", category_codes, categorical)],
            sparse_threshold=0, verbose_feature_names_out=False,
        ).fit(columns)
        return self

    @property
    def cardinalities(self) -> list[int]:
        """Codes per categorical column: 0 for unseen values, then the frequent categories, then one for the
        rare ones grouped together (where there are any)."""
        encoder = self.transformer.named_transformers_.get("categorical")
        if encoder is None or not hasattr(encoder, "categories_"):
            return []
        infrequent = encoder.infrequent_categories_
        return [1 + len(cats) - (len(rare) - 1 if rare is not None else 0)
                for cats, rare in zip(encoder.categories_, infrequent)]

    def encode(self, frame: pd.DataFrame, origin: str) -> EncodedRows:
        columns = model_columns(frame, self.kinds, origin)
        matrix = self.transformer.transform(columns).astype(np.float64)
        numeric = matrix[:, self.transformer.output_indices_["numeric"]].astype(np.float32)
        codes = matrix[:, self.transformer.output_indices_["categorical"]]
        # Codes index embedding tables, so they must be >= 0: unseen values (-1) take code 0.
        return EncodedRows(np.nan_to_num(numeric), (codes + 1).astype(np.int64))

    def training_ranges(self) -> dict[str, tuple[float, float]]:
        """Each numeric column's lowest and highest training value, as the fitted quantile scaler keeps them
        (its first and last quantile); the missing-value indicators after them are not columns."""
        numeric = list(self.transformer.named_transformers_["numeric"].feature_names_in_) \
            if "numeric" in self.transformer.named_transformers_ else []
        if not numeric:
            return {}
        quantiles = self.transformer.named_transformers_["numeric"].named_steps["scale"].quantiles_
        return {column: (float(quantiles[0, i]), float(quantiles[-1, i])) for i, column in enumerate(numeric)}

    def out_of_range(self, frame: pd.DataFrame, origin: str) -> pd.Series:
        """For each row, its values far outside the training range (`column=value (training lo to hi)`, joined
        by '; '), or ''. Far: beyond the range by more than the range's own width, or not finite. The quantile
        scaler maps any such value to the training extreme, so the model scores spend 1e9 as the largest spend
        it saw, with no word: the row's score is a guess, and says so here."""
        columns = model_columns(frame, self.kinds, origin)
        ranges = self.training_ranges()
        values = {column: columns[column].to_numpy(dtype=float) for column in ranges}
        return pd.Series(runtime.out_of_range(values, ranges, len(frame)), index=range(len(frame)), dtype=object)

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        skops_io.dump(self.transformer, folder / self.TRANSFORMER)
        schema = {"kinds": self.kinds, "min_category_count": self.min_category_count, **(extra or {})}
        (folder / self.SCHEMA).write_text(json.dumps(schema, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> TabularEncoder:
        folder = Path(folder)
        schema = read_schema(folder)
        encoder = cls(schema["kinds"], schema["min_category_count"])
        path = folder / cls.TRANSFORMER
        untrusted = [t for t in skops_io.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise DataError(f"{path}: holds object types a column encoder never has ({', '.join(untrusted)}); it was "
                            "not written by this package, so it is not loaded.")
        encoder.transformer = skops_io.load(path, trusted=TRUSTED_TYPES)
        return encoder


def flag_out_of_range(out: pd.DataFrame, encoder: TabularEncoder, frame: pd.DataFrame, origin: str) -> list[str]:
    """Adds the `out_of_range` column to a prediction table where a row holds values far outside the training
    range (`TabularEncoder.out_of_range`; '' for the rows inside it) and returns the note naming such rows."""
    found = encoder.out_of_range(frame, origin)
    flagged = found.ne("").to_numpy()
    if not flagged.any():
        return []  # the column only when a row is flagged, as image predict's `skipped`
    out["out_of_range"] = found.to_numpy()
    rows = out["row"].to_numpy()[flagged] if "row" in out else np.flatnonzero(flagged) + 1
    shown = [f"row {row}: {what}" for row, what in zip(rows[:5], found[flagged].head(5))]
    return [f"{int(flagged.sum())} row(s) hold values far outside the training range, so their scores are "
            f"guesses (the model treats them as the largest or smallest value it saw): {'; '.join(shown)}"
            + (f"; and {int(flagged.sum()) - 5} more" if flagged.sum() > 5 else "")
            + ". The out_of_range column lists them all; check these values (units, typos) before trusting them."]


def read_schema(folder: str | Path) -> dict:
    path = Path(folder) / TabularEncoder.SCHEMA
    if not path.is_file():
        raise DataError(f"{folder}: no {TabularEncoder.SCHEMA} here: not a saved tabular model or checkpoint.")
    return json.loads(path.read_text())


def check_input_columns(frame: pd.DataFrame, needed: list[str], origin: str) -> list[str]:
    """Refuses a file that lacks a column the model reads; returns the extra columns, which are ignored."""
    present = [c for c in frame.columns if c != ROW]
    missing = [c for c in needed if c not in present]
    if missing:
        raise DataError(f"{origin}: column(s) {', '.join(missing)} missing; the model reads {', '.join(needed)}. Add "
                        "them (empty cells are allowed and treated as missing values).")
    return [c for c in present if c not in needed]


# ---------------------------------------------------------------------------------------------------- labels


def binary_targets(frame: pd.DataFrame, column: str, positive_value: str | None, origin: str,
                   meaning: str = "fraud") -> tuple[np.ndarray, str]:
    """The label column as 1 (`positive_value`, e.g. fraud) and 0; returns the targets and the positive value.

    Unset, the positive value is 1, yes / y, true / t, or the word `meaning` itself, where the column holds two
    values and one of them is such."""
    if column not in frame.columns:
        raise DataError(f"{origin}: no label column {column!r}. Columns found: "
                        f"{column_list(frame.columns)}. Set data.label_column to the column "
                        f"that holds the outcome ({meaning} or not).")
    text = frame[column].astype("string").str.strip()
    empty = text.isna() | (text == "")
    rows = source_rows(frame)
    if empty.any():
        raise DataError(f"{origin}: label column {column!r} is empty in row(s) {list_rows(rows[empty])}. Fill those "
                        "labels, or remove the rows.")
    keys = text.map(label_key)
    distinct = sorted(keys.unique())
    if len(distinct) == 1:
        only = distinct[0]
        positive = (label_key(positive_value) == only if positive_value is not None
                    else only in TRUE_WORDS | {"1", meaning})
        labelled = "every row is" if positive else "no row is"
        raise DataError(f"{origin}: label column {column!r} holds one value, {text.iloc[0]!r}, in every row, so "
                        f"{labelled} labelled {meaning}: there is nothing to tell apart. Check that data.label_column "
                        "names the label, or add the labelled cases of the other class.")
    if positive_value is None:
        if len(distinct) != 2:
            raise DataError(f"{origin}: label column {column!r} holds {len(distinct)} distinct values, not two: "
                            f"{_values_and_rows(text, keys, rows)}. Say which value means {meaning} with "
                            "tabular.positive_value in the config; every other value then counts as the other class.")
        known = [v for v in distinct if v in TRUE_WORDS | {"1", meaning}]
        if not known:
            raise DataError(f"{origin}: label column {column!r} holds {distinct[0]!r} and {distinct[1]!r}; say which "
                            f"one means {meaning} with tabular.positive_value in the config.")
        positive = known[0]
    else:
        positive = label_key(positive_value)
        if positive not in distinct:
            raise DataError(f"{origin}: tabular.positive_value is {positive_value!r}, but label column {column!r} "
                            f"holds only {', '.join(distinct[:10])}. Set it to the value that means {meaning}.")
    return (keys == positive).to_numpy().astype(np.int64), positive


def _values_and_rows(text: pd.Series, keys: pd.Series, rows: pd.Series, shown: int = 6) -> str:
    """Each value of a label column, as the file first spells it, with its count and first rows, commonest first."""
    counts = keys.value_counts()
    parts = [f"{text[keys == value].iloc[0]!r} in {count} row(s) ({list_rows(rows[keys == value])})"
             for value, count in counts.head(shown).items()]
    return "; ".join(parts) + (f"; and {len(counts) - shown} more values" if len(counts) > shown else "")


# ---------------------------------------------------------------------------------------------------- time order

MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def time_order(frame: pd.DataFrame, columns: list[str], origin: str) -> np.ndarray:
    """Row positions sorted by time: each column is read as a number, a month or weekday name, or a date, and
    the columns sort in the order given (most significant first). Rows without a time are refused."""
    keys = []
    for column in columns:
        if column not in frame.columns:
            raise DataError(f"{origin}: tabular.time_columns names {column!r}, which is not a column. Columns: "
                            f"{column_list(frame.columns)}.")
        text = frame[column].astype("string").str.strip().str.lower()
        numbers = parse_numbers(text.fillna(""))
        for names in (MONTH_NAMES, WEEKDAY_NAMES):
            named = text.str[:3].map(lambda v, names=names: names.index(v) if v in names else np.nan, na_action="ignore")
            if named.notna().mean() > numbers.notna().mean():
                numbers = named
        if numbers.notna().mean() < 0.95:
            dates = pd.to_datetime(frame[column], errors="coerce", format="mixed")
            numbers = dates.astype("int64").where(dates.notna()).astype(float)
        if numbers.isna().any():
            rows = source_rows(frame)[numbers.isna()]
            raise DataError(f"{origin}: time column {column!r} has no readable time in row(s) {list_rows(rows)}. Fill "
                            "them in, or remove the column from tabular.time_columns to split at random.")
        keys.append(numbers.to_numpy(dtype=float))
    return np.lexsort(keys[::-1], axis=0) if keys else np.arange(len(frame))
