"""The customer features of `customers.CustomerColumns` for new customers, with numpy and the standard library
alone: a segmentation export ships this file beside `runtime.py` (as `customer_features.py`), which adds the
features to the rows it is sent before they are encoded. Tests hold it to `CustomerColumns.add_features`.

It works on columns of stripped text cells (empty: missing) and returns the same columns with the features added,
as text (`repr` of a float reads back exactly), so the runtime reads them as it reads any numeric column.
"""

from __future__ import annotations

import math
import os
from datetime import date, datetime

import numpy as np

MAX_AGE = 100  # an older customer is almost surely a typo (1893 for 1983)
RECENCY, FREQUENCY, MONETARY = "recency", "frequency", "monetary"
TENURE, AGE, HOUSEHOLD = "tenure_days", "age", "household_size"
SHARE_PREFIX = "share_"
ROLES = ("recency_column", "joined_column", "birth_year_column", "age_column", "partner_column", "income_column",
         "purchase_columns", "spend_columns", "household_columns")


def role_columns(settings: dict) -> list[str]:
    """The columns the segmentation settings name, each once."""
    single = [settings.get(name) for name in ROLES[:6]]
    lists = [c for name in ROLES[6:] for c in settings.get(name) or []]
    return list(dict.fromkeys([c for c in single if c] + lists))


def spend_labels(columns: list[str]) -> list[str]:
    """Short names for spend columns: the prefix they share dropped (spend_wine -> wine, MntWines -> Wines)."""
    if len(columns) < 2:
        return list(columns)
    prefix = os.path.commonprefix(list(columns))
    labels = [c[len(prefix):] or c for c in columns]
    return labels if len(set(labels)) == len(labels) else list(columns)


def _role(settings: dict, column: str) -> str:
    for name in ROLES:
        value = settings.get(name)
        if column == value or (isinstance(value, list) and column in value):
            return f"segmentation.{name}"
    return "segmentation"


def _numbers(columns: dict, column: str, settings: dict, parse) -> np.ndarray:
    cells = columns[column]
    values = parse(cells)
    for row, (cell, value) in enumerate(zip(cells, values), 1):
        if cell and math.isnan(value):
            raise ValueError(f"row {row}, column {column!r}: {cell!r} is not a number, which "
                             f"{_role(settings, column)} must be. Send a number, or null if unknown.")
    return values


def _total(values: list[np.ndarray]) -> np.ndarray:
    """The sum, an empty cell counting as 0; missing only where every one of them is empty."""
    stacked = np.column_stack(values)
    return np.where(np.isnan(stacked).all(axis=1), np.nan, np.nansum(stacked, axis=1))


def _date(cell: str, pattern: str | None) -> datetime | None:
    try:
        when = datetime.strptime(cell, pattern) if pattern else datetime.fromisoformat(cell)
    except ValueError:
        return None
    return when.replace(tzinfo=None)


def _text(values: np.ndarray) -> list[str]:
    return ["" if math.isnan(v) else repr(float(v)) for v in values]


def add_features(columns: dict[str, list[str]], settings: dict, snapshot: str | None, parse) -> dict[str, list[str]]:
    """`columns` with the engineered features added; a value a role cannot hold raises `ValueError` naming the
    row (1: the first) and the column. `parse` reads a column of cells as numbers (the runtime's `parse_numbers`,
    which training used too)."""
    s = settings
    out = dict(columns)
    numeric = [s.get("recency_column"), s.get("birth_year_column"), s.get("age_column"), s.get("income_column"),
               *s.get("purchase_columns", []), *s.get("spend_columns", []), *s.get("household_columns", [])]
    numbers = {c: _numbers(columns, c, s, parse) for c in numeric if c}
    for column in [s.get("recency_column"), s.get("age_column"), s.get("income_column"),
                   *s.get("purchase_columns", []), *s.get("spend_columns", []), *s.get("household_columns", [])]:
        if column and (numbers[column] < 0).any():
            row = int(np.flatnonzero(numbers[column] < 0)[0])
            raise ValueError(f"row {row + 1}, column {column!r}: {columns[column][row]!r} cannot be negative as "
                             f"{_role(s, column)}. Send the value (null if unknown).")
    when = datetime.fromisoformat(snapshot) if snapshot else None
    if s.get("recency_column"):
        out[RECENCY] = _text(numbers[s["recency_column"]])
    if s.get("purchase_columns"):
        out[FREQUENCY] = _text(_total([numbers[c] for c in s["purchase_columns"]]))
    if s.get("spend_columns"):
        monetary = _total([numbers[c] for c in s["spend_columns"]])
        out[MONETARY] = _text(monetary)
        for column, label in zip(s["spend_columns"], spend_labels(s["spend_columns"])):
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(monetary > 0, np.nan_to_num(numbers[column]) / monetary, 0.0)
            out[SHARE_PREFIX + label] = _text(np.where(np.isnan(monetary), np.nan, share))
    if s.get("joined_column"):
        column = s["joined_column"]
        days = []
        for row, cell in enumerate(columns[column], 1):
            joined = _date(cell, s.get("date_format")) if cell else None
            if cell and joined is None:
                raise ValueError(f"row {row}, column {column!r}: {cell!r} does not read as a date "
                                 f"{'in the format ' + repr(s['date_format']) if s.get('date_format') else 'as an ISO date (2024-07-08)'}. "
                                 "Write it as the training file did.")
            # a customer who joined after the snapshot the model was trained with counts a tenure of 0
            days.append(math.nan if joined is None else max(float((when - joined).days), 0.0))
        out[TENURE] = _text(np.asarray(days, dtype=np.float64))
    if s.get("birth_year_column"):
        column = s["birth_year_column"]
        year = (when or datetime.combine(date.today(), datetime.min.time())).year
        births = numbers[column]
        if (births > year).any():
            row = int(np.flatnonzero(births > year)[0])
            raise ValueError(f"row {row + 1}, column {column!r}: {columns[column][row]!r} is after the snapshot year "
                             f"{year}. Send a year of birth (null if unknown).")
        out[AGE] = _text(_plausible(year - births))
    if s.get("age_column"):
        out[AGE] = _text(_plausible(numbers[s["age_column"]]))
    if s.get("household_columns") or s.get("partner_column"):
        rows = len(next(iter(columns.values()))) if columns else 0
        size = np.ones(rows)
        if s.get("partner_column"):
            wanted = {v.casefold() for v in s.get("partner_values", [])}
            size += np.array([cell.casefold() in wanted for cell in columns[s["partner_column"]]], dtype=np.float64)
        for column in s.get("household_columns", []):
            size += np.nan_to_num(numbers[column])
        out[HOUSEHOLD] = _text(size)
    return out


def _plausible(age: np.ndarray) -> np.ndarray:
    return np.where(age > MAX_AGE, np.nan, age)
