"""Customer features for segmentation: recency, frequency and monetary value (RFM), spend shares, tenure, age
and household size, computed from the columns the config's `segmentation` section names.

Impossible values (a birth year after the snapshot, negative spend or counts, a join date after the snapshot)
stop with an error that names the row and the role. Implausible ones (an age over `MAX_AGE`) become missing
values, and the report says which rows; the encoders then treat them as any missing value. New customers
(`predict`) are each placed on their own: one who joined after the snapshot the model was trained with counts a
tenure of 0, whoever else is in the file.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import pandas as pd

from finetune_cookbook.core.data import column_list, in_row_order, list_first, list_rows, shown_values
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.tabular.columns import parse_numbers, source_rows
from finetune_cookbook.tasks.segmentation.config import SegmentationConfig

MAX_AGE = 100  # an older customer is almost surely a typo (1893 for 1983)
RECENCY, FREQUENCY, MONETARY = "recency", "frequency", "monetary"
TENURE, AGE, HOUSEHOLD = "tenure_days", "age", "household_size"
SHARE_PREFIX = "share_"
RFM = (RECENCY, FREQUENCY, MONETARY)


SINGLE_ROLES = ("recency_column", "joined_column", "birth_year_column", "age_column", "partner_column",
                "income_column")
LIST_ROLES = ("purchase_columns", "spend_columns", "household_columns")


def roles_in_file(settings: SegmentationConfig, columns, origin: str) -> tuple[SegmentationConfig, list[str]]:
    """The settings with every role whose column the file lacks unset (a list role keeps the columns it has), and
    a note naming them: a recipe copied onto another customer table runs, with the features its columns allow."""
    present, changes, unset = set(columns), {}, []
    for name in SINGLE_ROLES:
        value = getattr(settings, name)
        if value and value not in present:
            changes[name] = None
            unset.append(f"{name} ({value!r})")
    for name in LIST_ROLES:
        missing = [c for c in getattr(settings, name) if c not in present]
        if missing:
            changes[name] = [c for c in getattr(settings, name) if c in present]
            unset.append(f"{name} ({', '.join(map(repr, missing))})")
    if not unset:
        return settings, []
    return dataclasses.replace(settings, **changes), [
        f"{origin} lacks the column(s) of these segmentation roles, which are unset: {list_first(unset, 4)}. Name "
        "your own columns there (segmentation.*_column(s)) to add recency, frequency, spend, tenure, age or "
        "household size as features."]


@dataclass
class CustomerColumns:
    """The roles of a customer file's columns (from the config) and the snapshot date features count up to."""

    settings: SegmentationConfig
    snapshot: pd.Timestamp | None = None
    implausible_rows: dict[str, list] = field(default_factory=dict)  # column -> source rows set to missing
    new_customers: bool = False  # predict: a join date after the snapshot is a new customer, not a mistake
    late_joiners: list = field(default_factory=list)  # their source rows

    @property
    def role_columns(self) -> list[str]:
        s = self.settings
        single = [s.recency_column, s.joined_column, s.birth_year_column, s.age_column, s.partner_column,
                  s.income_column]
        return [c for c in single if c] + s.purchase_columns + s.spend_columns + s.household_columns

    @property
    def stand_ins(self) -> dict[str, str]:
        """Columns a feature stands in for, and the feature: the join date by the tenure, the birth year (or the
        age column) by the age."""
        s = self.settings
        pairs = {s.joined_column: TENURE, s.birth_year_column: AGE, s.age_column: AGE}
        return {column: feature for column, feature in pairs.items() if column and column != feature}

    @property
    def replaced_columns(self) -> list[str]:
        return list(self.stand_ins)

    def role_of(self, column: str) -> str:
        """The config setting that names `column`, for messages."""
        s = self.settings
        for name in ("recency_column", "joined_column", "birth_year_column", "age_column", "partner_column",
                     "income_column", "purchase_columns", "spend_columns", "household_columns"):
            value = getattr(s, name)
            if column == value or (isinstance(value, list) and column in value):
                return f"segmentation.{name}"
        return "segmentation"

    def engineered_columns(self) -> list[str]:
        s = self.settings
        names = [RECENCY] if s.recency_column else []
        names += [FREQUENCY] if s.purchase_columns else []
        names += [MONETARY, *(SHARE_PREFIX + label for label in spend_labels(s.spend_columns))] if s.spend_columns else []
        names += [TENURE] if s.joined_column else []
        names += [AGE] if s.birth_year_column or s.age_column else []
        names += [HOUSEHOLD] if s.household_columns or s.partner_column else []
        return names

    def check_config(self, columns, origin: str) -> None:
        """Every role names a column of the file, and no column of the file has the name of a computed feature."""
        missing = [c for c in self.role_columns if c not in columns]
        if missing:
            raise DataError(
                f"{origin}: the segmentation section names column(s) {', '.join(repr(c) for c in missing)}, which the "
                f"file does not have. Columns: {column_list(columns)}. Correct the names in "
                "the config (segmentation.*_column(s)), or add the columns to the file."
            )
        s = self.settings
        own = {RECENCY: s.recency_column, AGE: s.age_column}  # a role column may carry its feature's name
        clashes = [c for c in self.engineered_columns() if c in columns and own.get(c) != c]
        if clashes:
            raise DataError(
                f"{origin}: the file has column(s) {', '.join(map(repr, clashes))}, the name(s) of feature(s) the "
                f"recipe computes from the segmentation section, which would overwrite them. Rename them in the "
                f"file, leave them out (tabular.drop_columns), or name them in their role (segmentation."
                f"recency_column for days since the last purchase, segmentation.age_column for an age)."
            )

    def fit_snapshot(self, frame: pd.DataFrame, origin: str) -> pd.Timestamp | None:
        """The snapshot date: the config's, else the latest join date in `frame` (every customer of the file)."""
        s = self.settings
        if s.snapshot_date:
            try:
                self.snapshot = pd.Timestamp(s.snapshot_date)
            except ValueError as error:
                raise ConfigError(f"segmentation.snapshot_date {s.snapshot_date!r} is not a date; write it as "
                                  "YYYY-MM-DD.") from error
        elif s.joined_column:
            self.snapshot = self._dates(frame, origin).max()
        return self.snapshot

    def add_features(self, frame: pd.DataFrame, origin: str) -> pd.DataFrame:
        """`frame` with the engineered features added (as numbers); bad values raise `DataError`."""
        s = self.settings
        out = frame.copy()
        rows = source_rows(frame)
        numbers = {c: self._numbers(frame, c, origin, rows) for c in
                   [s.recency_column, s.birth_year_column, s.age_column, s.income_column, *s.purchase_columns,
                    *s.spend_columns, *s.household_columns] if c}
        for column in [s.recency_column, s.age_column, s.income_column, *s.purchase_columns, *s.spend_columns,
                       *s.household_columns]:
            if column:
                unset = (" Or, if negative values are real here (an account balance), leave "
                         "segmentation.income_column unset: the column stays a feature of the model"
                         if column == s.income_column else "")
                settings = ("" if self.new_customers else  # a saved model's settings are fixed
                            f", or, if a value such as -1 means 'never' or 'unknown', name it in "
                            f"tabular.missing_values (e.g. {{{column}: [-1]}}).{unset}")
                _refuse(numbers[column] < 0, rows, origin, column, numbers[column],
                        f"cannot be negative as {self.role_of(column)}. Correct the cells (leave one empty if "
                        f"unknown){settings}")
        if s.recency_column:
            out[RECENCY] = numbers[s.recency_column]
        if s.purchase_columns:
            out[FREQUENCY] = _total(numbers, s.purchase_columns)
        if s.spend_columns:
            monetary = _total(numbers, s.spend_columns)
            out[MONETARY] = monetary
            for column, label in zip(s.spend_columns, spend_labels(s.spend_columns)):
                share = (numbers[column].fillna(0) / monetary).where(monetary > 0, 0.0)
                out[SHARE_PREFIX + label] = share.where(monetary.notna())
        if s.joined_column:
            joined = self._dates(frame, origin)
            late = (joined > self.snapshot).fillna(False).astype(bool)
            if self.new_customers:
                self.late_joiners += rows[late].tolist()
            else:
                _refuse(late, rows, origin, s.joined_column, joined.dt.date,
                        f"is after the snapshot date {self.snapshot.date()}. Correct the dates, or set "
                        "segmentation.snapshot_date to the day the data was taken")
            out[TENURE] = (self.snapshot - joined).dt.days.astype(float).clip(lower=0)
        if s.birth_year_column:
            out[AGE] = self._age(numbers[s.birth_year_column], rows, origin)
        if s.age_column:
            out[AGE] = self._plausible(numbers[s.age_column], rows, s.age_column)
        if s.household_columns or s.partner_column:
            partner = 0.0
            if s.partner_column:
                wanted = {v.casefold() for v in s.partner_values}
                partner = frame[s.partner_column].astype("string").str.strip().str.casefold().isin(wanted).astype(float)
            out[HOUSEHOLD] = 1.0 + partner + sum(numbers[c].fillna(0) for c in s.household_columns)
        return out

    def _age(self, birth_year: pd.Series, rows: pd.Series, origin: str) -> pd.Series:
        column = self.settings.birth_year_column
        year = (self.snapshot or pd.Timestamp.now()).year
        _refuse(birth_year > year, rows, origin, column, birth_year,
                f"is after the snapshot year {year}. Correct those birth years (leave a cell empty if unknown)")
        present = birth_year.dropna()
        # decided on the training file; in new customers a stray 45 is one implausible age, whatever the others hold
        if not self.new_customers and len(present) and (present <= MAX_AGE + 20).mean() > 0.5:
            raise DataError(
                f"{origin}: column {column!r} is segmentation.birth_year_column, but most of its values "
                f"({', '.join(f'{v:g}' for v in present.unique()[:3])}) look like ages, not years of birth. Name the "
                f"column in segmentation.age_column instead, and leave birth_year_column unset."
            )
        return self._plausible(year - birth_year, rows, column)

    def _plausible(self, age: pd.Series, rows: pd.Series, column: str) -> pd.Series:
        implausible = age > MAX_AGE
        if implausible.any():
            self.implausible_rows.setdefault(column, []).extend(rows[implausible].tolist())
        return age.where(~implausible)

    def _dates(self, frame: pd.DataFrame, origin: str) -> pd.Series:
        column, pattern = self.settings.joined_column, self.settings.date_format
        text = frame[column].astype("string").str.strip()
        dates = pd.to_datetime(text, format=pattern or "ISO8601", errors="coerce")  # 01/02: January or February?
        bad = text.notna() & (text != "") & dates.isna()
        if bad.any():
            rows = source_rows(frame)[bad]
            # the saved model reads dates as it was trained to: a predict user rewrites the dates, not the setting
            way_out = ("Write them as the training file did" if self.new_customers else
                       "Correct them, or set segmentation.date_format to how the dates are written (e.g. '%d-%m-%Y')")
            raise DataError(
                f"{origin}: column {column!r} holds dates, but row(s) {list_rows(rows)} hold "
                f"{shown_values(text[bad], rows)}, which do not read as dates"
                f"{f' in the format {pattern!r}' if pattern else ' as ISO dates (2024-07-08)'}. {way_out}."
            )
        return dates

    def _numbers(self, frame: pd.DataFrame, column: str, origin: str, rows: pd.Series) -> pd.Series:
        text = frame[column].astype("string").str.strip().replace("", pd.NA)
        values = parse_numbers(text.fillna("")).where(text.notna())
        bad = text.notna() & values.isna()
        if bad.any():
            role = self.role_of(column)
            kind = "a count or an amount" if role.endswith("s") else "a number"
            if role.endswith("recency_column"):
                kind = "a number of days since the last purchase (not a date)"
            way_out = ("Correct those cells (leave one empty for a missing value)" if self.new_customers else
                       "Correct those cells (leave one empty for a missing value, or name such values in "
                       "tabular.missing_values; a decimal comma needs tabular.decimal: ','), or take the column out "
                       "of the segmentation section: it then stays a feature of the model")
            raise DataError(
                f"{origin}: column {column!r} is {role}, which must be {kind}, but row(s) "
                f"{list_rows(rows[bad])} hold ({shown_values(text[bad], rows[bad])}). "
                f"{way_out}."
            )
        return values.astype(float)

    def notes(self) -> list[str]:
        notes = [f"Set to missing as implausible (an age over {MAX_AGE}): column {column!r}, row(s) "
                 f"{list_rows(pd.Series(sorted(rows)))}." for column, rows in self.implausible_rows.items()]
        if self.late_joiners:
            notes.append(f"Joined after {self.snapshot.date()}, the snapshot the model was trained with, so counted "
                         f"with a tenure of 0 days: row(s) {list_rows(pd.Series(sorted(self.late_joiners)))}.")
        return notes


def _total(numbers: dict[str, pd.Series], columns: list[str]) -> pd.Series:
    """The sum of `columns`, an empty cell counting as 0; missing only where every one of them is empty."""
    return pd.concat([numbers[c] for c in columns], axis=1).sum(axis=1, min_count=1)


def _refuse(bad: pd.Series, rows: pd.Series, origin: str, column: str, values: pd.Series, what: str) -> None:
    bad = bad.fillna(False).astype(bool)
    if bad.any():
        first = in_row_order(values[bad], rows[bad]).head(3)
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in first)
        raise DataError(f"{origin}: column {column!r}, row(s) {list_rows(rows[bad])} ({shown}): the "
                        f"value {what.rstrip('.')}.")


def spend_labels(columns: list[str]) -> list[str]:
    """Short names for spend columns: the prefix they share dropped (spend_wine -> wine, MntWines -> Wines)."""
    if len(columns) < 2:
        return list(columns)
    prefix = os.path.commonprefix(list(columns))
    labels = [c[len(prefix):] or c for c in columns]
    return labels if len(set(labels)) == len(labels) else list(columns)
