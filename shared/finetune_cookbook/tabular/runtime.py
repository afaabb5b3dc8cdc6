"""Predicting with an exported tabular model (fraud scores, customer segments), with onnxruntime and numpy alone.

`cookbook export` copies this file into every tabular export as `runtime.py`: it imports nothing of the cookbook,
of PyTorch, pandas or scikit-learn. The package reads cells with this same code when it trains
(`tabular.columns` imports the parsing below), so a cell means the same thing at training and in an export.

    python runtime.py EXPORT_DIR new_rows.csv          # one JSON answer a row

In Python: `runtime.load(EXPORT_DIR).predict([{"amount": "12.5", ...}, ...])` gives one dict a row, with the
fields `cookbook predict` writes: the fraud score and the decision at the saved threshold, or the segment, its
name and its training response rate. A row that cannot be read raises `RowsError`, naming the row and column.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from statistics import NormalDist

import numpy as np

EXPORT_FILE = "export.json"
INPUT_KIND = "rows"  # what a request sends this model: table rows, as records
KINDS = ("numeric", "categorical", "band", "boolean", "date")
CONSTANT = "constant"  # inferred only: a column with one value says nothing and is left out
TRUE_WORDS = {"yes", "y", "true", "t"}
FALSE_WORDS = {"no", "n", "false", "f"}
ZERO_WORDS = {"none", "new", "no change", "never", "zero", "nil"}
MORE_WORDS = ("more than", "greater than", "over", "above", "at least")
LESS_WORDS = ("less than", "under", "below", "up to")
UNIT_YEARS = {"day": 1 / 365, "week": 1 / 52, "month": 1 / 12, "year": 1.0}
BAND = re.compile(
    r"^(?:(?P<side>" + "|".join(MORE_WORDS + LESS_WORDS) + r")\s+)?(?P<low>\d+(?:\.\d+)?)"
    r"(?:\s*(?:to|-|–)\s*(?P<high>\d+(?:\.\d+)?))?\s*(?P<unit>[a-z ]*)$"
)
DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?|^\d{1,2}/\d{1,2}/\d{2,4}")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
                      r"(?:Z|[+-]\d{2}:?\d{2})?")
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
DATE_PARTS = ("year", "month", "weekday", "hour")
MISSING = "(missing)"
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)  # ASCII: ١٢ is no number of a file
THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?", re.ASCII)  # 12,345.67: the only place a comma may be in a number
DECIMAL_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?", re.ASCII)  # 12.345,67 or 12,5
DECIMAL_POINT = re.compile(r"[+-]?\d*\.(\d{1,2}|\d{4,})", re.ASCII)  # 12.5 or 0.12345: never a 1.234 thousands point
BOUNDS_THRESHOLD = 1e-7  # scikit-learn's QuantileTransformer keeps its normal outputs this far inside (0, 1)


def session_threads(threads: int | None) -> int | None:
    """`threads`, else OMP_NUM_THREADS where it is set: PyTorch follows it and ONNX Runtime does not, and several
    processes on one machine (service workers, test workers) that each start a spinning thread per core slow
    each other down. None: ONNX Runtime's default, a thread per core."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return threads or (int(value) if value.isdigit() and int(value) > 0 else None)


class RowsError(ValueError):
    """Rows that cannot be scored; the message names the row (1: the first) and the column, and what to do."""

    http_status = 422


# ---------------------------------------------------------------------------------------------------- cells


def cell_text(value) -> str:
    """A cell as text, stripped, as a table reader gives it: empty for a missing value (None, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def band_value(text: str) -> float | None:
    """A band such as "more than 69000", "2 to 3 years" or "none" as one number that keeps the bands' order
    (None when it is not a band). Months, weeks and days are counted in years so "under 6 months" < "1 year"."""
    text = str(text).strip().lower()
    if text in ZERO_WORDS:
        return 0.0
    match = BAND.match(text)
    if match is None:
        return None
    low = float(match["low"])
    value = (low + float(match["high"])) / 2 if match["high"] else low
    if match["side"] in MORE_WORDS:
        value = low * 1.25 if low else 1.0
    elif match["side"] in LESS_WORDS:
        value = low * 0.75
    unit = match["unit"].strip()
    for name, years in UNIT_YEARS.items():
        if unit.startswith(name):
            value *= years
    return value


def parse_number(text: str) -> float:
    """One stripped cell as a finite number (thousands commas allowed, in groups of three), else NaN."""
    if NUMBER.fullmatch(text):
        value = float(text)
    elif THOUSANDS.fullmatch(text):
        value = float(text.replace(",", ""))
    else:
        return math.nan
    return value if math.isfinite(value) else math.nan


def parse_numbers(cells) -> np.ndarray:
    """Stripped cells as numbers, `parse_number` of each: NaN where a cell is empty or not a finite number."""
    cells = [str(cell) for cell in cells]
    out = np.full(len(cells), np.nan)
    filled = [i for i, cell in enumerate(cells) if cell]
    present = [cells[i] for i in filled]
    joined = "".join(present)
    # numpy's cast reads a column of numbers in one C loop; it also reads 1_000 and other scripts' digits, which
    # parse_number refuses, so only ASCII without underscores takes that way
    if present and joined.isascii() and "_" not in joined:
        try:
            numbers = np.asarray(present, dtype=str).astype(np.float64)
            out[filled] = np.where(np.isfinite(numbers), numbers, np.nan)
            return out
        except ValueError:
            pass
    out[filled] = [parse_number(cell) for cell in present]
    return out


def is_decimal_comma(text: str) -> bool:
    """A cell that reads as a number only with a decimal comma (12,50 or 1.234,56)."""
    return bool(DECIMAL_COMMA.fullmatch(text)) and "," in text and not THOUSANDS.fullmatch(text)


def clean_column(cells: list[str], markers, decimal: str) -> tuple[list[str], list[int], list[int]]:
    """A column's stripped cells with the `markers` (values that mean missing: text, or numbers compared as
    numbers) emptied and, when `decimal` is ',', 1.234,56 written 1234.56. Returns the cells, the positions
    emptied, and the positions written with a decimal point although `decimal` is ',' (which the caller refuses)."""
    cells = [cell_text(cell) for cell in cells]
    pointed = []
    if decimal == ",":
        pointed = [i for i, cell in enumerate(cells) if DECIMAL_POINT.fullmatch(cell)]
        cells = [cell.replace(".", "").replace(",", ".") if DECIMAL_COMMA.fullmatch(cell) else cell for cell in cells]
    emptied = []
    if markers:
        texts = {str(marker).strip() for marker in markers}
        numbers = {float(m) for m in markers if isinstance(m, (int, float)) or not math.isnan(parse_number(str(m)))}
        numbers = {n for n in numbers if not math.isnan(n)}
        for i, cell in enumerate(cells):
            if cell and (cell in texts or (numbers and parse_number(cell) in numbers)):
                emptied.append(i)
                cells[i] = ""
    return cells, emptied, pointed


def parse_date(text: str) -> datetime | None:
    """An ISO date (2024-07-08, with a time or not) or a US one (07/08/2024: July 8; 25/03/2024, which can only be
    day first: March 25), else None."""
    match = ISO_DATE.fullmatch(text)
    if match:
        year, month, day, hour, minute, second = match.groups()
    else:
        match = US_DATE.fullmatch(text)
        if match is None:
            return None
        month, day, year, hour, minute, second = match.groups()
        if int(month) > 12:  # 25/03/2024 can only be day first, as pandas (dateutil) reads it
            month, day = day, month
        if len(year) == 2:
            year = ("19" if int(year) >= 69 else "20") + year  # as strptime's %y reads two digits
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:  # 2024-02-30
        return None


def date_parts(when: datetime | None) -> tuple[float, float, float, float]:
    """Year with its fraction, month, weekday (Monday 0) and hour of a date; NaN for a missing one."""
    if when is None:
        return (math.nan,) * 4
    day_of_year = when.timetuple().tm_yday
    return when.year + (day_of_year - 1) / 366, float(when.month), float(when.weekday()), float(when.hour)


def model_columns(columns: dict[str, list[str]], kinds: dict[str, str]) -> tuple[dict[str, np.ndarray],
                                                                                     dict[str, np.ndarray]]:
    """The stateless conversion of stripped cells: numbers, 0 / 1, band values and date parts as float64 arrays;
    categories as text (MISSING for an empty cell). Empty cells stay NaN for the encoder. Also returns, for each
    column holding cells its kind cannot read, a boolean array of them (the caller says what is wrong)."""
    out, bad = {}, {}
    for column, kind in kinds.items():
        if kind == CONSTANT:
            continue
        cells = columns[column]
        present = np.fromiter((cell != "" for cell in cells), dtype=bool, count=len(cells))
        if kind == "numeric":
            values = parse_numbers(cells)
        elif kind == "boolean":
            lowered = [cell.lower() for cell in cells]
            values = np.array([1.0 if v in TRUE_WORDS or v == "1" else 0.0 if v in FALSE_WORDS or v == "0"
                               else math.nan for v in lowered], dtype=np.float64)
        elif kind == "band":
            values = np.array([math.nan if not cell or (v := band_value(cell)) is None else v for cell in cells],
                              dtype=np.float64)
        elif kind == "date":
            dates = [parse_date(cell) if cell else None for cell in cells]
            parts = np.array([date_parts(when) for when in dates], dtype=np.float64).reshape(len(cells), 4)
            for i, part in enumerate(DATE_PARTS):
                out[f"{column}.{part}"] = parts[:, i]
            continue  # a date that does not read is a missing one, as at training
        else:
            out[column] = np.array([cell if cell else MISSING for cell in cells], dtype=object)
            continue
        unread = present & np.isnan(values)
        if unread.any():
            bad[column] = unread
        out[column] = np.where(present, values, np.nan)
    return out, bad


KIND_WORDS = {  # what a cell of each kind must be, and the fix
    "numeric": ("a number", "Send a number (12.5), or null for a missing value."),
    "boolean": ("yes / no", "Send yes / no, true / false or 1 / 0, or null for a missing value."),
    "band": ("a band", "Send a band as the training file wrote it (a number, 'X to Y', 'more than X', "
                       "'under X', 'none'), or null for a missing value."),
}


# ---------------------------------------------------------------------------------------------------- encoder


def normal_quantile(p: np.ndarray) -> np.ndarray:
    """The standard normal's inverse CDF (scipy's `norm.ppf`), with the Python standard library's algorithm."""
    inverse = np.frompyfunc(NormalDist().inv_cdf, 1, 1)
    return inverse(np.asarray(p, dtype=np.float64)).astype(np.float64)


class ColumnEncoder:
    """The fitted column encoder of `columns.json`, as scikit-learn's transformers compute it: numbers imputed with
    the training median (missing-value flags beside them) and mapped by quantiles to a normal; categories to codes
    (frequent ones their own, rare ones one shared code, an unseen one code 0)."""

    def __init__(self, spec: dict):
        self.kinds: dict[str, str] = spec["kinds"]
        numeric = spec["numeric"]
        self.numeric_columns: list[str] = numeric["columns"]
        self.medians = np.asarray(numeric["medians"], dtype=np.float64)
        self.indicators = np.asarray(numeric["indicators"], dtype=int)
        self.quantiles = np.asarray(numeric["quantiles"], dtype=np.float64).reshape(-1, len(self.medians) + len(
            self.indicators)) if self.numeric_columns else np.zeros((0, 0))
        self.references = np.asarray(numeric["references"], dtype=np.float64)
        self.categorical_columns: list[str] = spec["categorical"]["columns"]
        self.codes: list[dict[str, int]] = spec["categorical"]["codes"]

    @property
    def input_columns(self) -> list[str]:
        return [c for c, kind in self.kinds.items() if kind != CONSTANT]

    def training_ranges(self) -> dict[str, tuple[float, float]]:
        """Each numeric column's lowest and highest training value: the first and last quantile (the
        missing-value indicators after the columns are not columns)."""
        return {column: (float(self.quantiles[0, j]), float(self.quantiles[-1, j]))
                for j, column in enumerate(self.numeric_columns)}

    def encode(self, features: dict[str, np.ndarray], rows: int) -> tuple[np.ndarray, np.ndarray]:
        """(numeric float32, categorical int64) model inputs of `model_columns`' features."""
        if self.numeric_columns:
            values = np.column_stack([features[c] for c in self.numeric_columns]).astype(np.float64)
            flags = np.isnan(values[:, self.indicators]).astype(np.float64)
            values = np.where(np.isnan(values), self.medians, values)
            matrix = np.hstack([values, flags])
            numeric = np.column_stack([self._quantile(matrix[:, j], self.quantiles[:, j])
                                       for j in range(matrix.shape[1])])
        else:
            numeric = np.zeros((rows, 0))
        categorical = np.zeros((rows, len(self.categorical_columns)), dtype=np.int64)
        for j, (column, codes) in enumerate(zip(self.categorical_columns, self.codes)):
            # codes index embedding tables, so they are shifted by one: 0 is an unseen value
            categorical[:, j] = [codes.get(value, -1) + 1 for value in features[column]]
        return np.nan_to_num(numeric.astype(np.float32)), categorical

    def _quantile(self, column: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
        # scikit-learn's QuantileTransformer._transform_col, forward, to a normal distribution
        low = column - BOUNDS_THRESHOLD < quantiles[0]
        high = column + BOUNDS_THRESHOLD > quantiles[-1]
        out = 0.5 * (np.interp(column, quantiles, self.references)
                     - np.interp(-column, -quantiles[::-1], -self.references[::-1]))
        out[high], out[low] = 1.0, 0.0
        edge = BOUNDS_THRESHOLD - np.spacing(1)
        return normal_quantile(np.clip(out, edge, 1 - edge))


def out_of_range(values: dict, ranges: dict[str, tuple[float, float]], rows: int) -> list[str]:
    """For each row, its values far outside the training range (`column=value (training lo to hi)`, joined by
    '; '), or ''. Far: beyond the range by more than the range's own width, or not finite. The quantile scaling
    maps any such value to the training extreme, so the model scores spend 1e9 as the largest spend it saw: the
    row's score is a guess, and says so here. `values`: column -> its numbers; `ranges`: column -> (lowest,
    highest) training value."""
    found = [""] * rows
    for column, (low, high) in ranges.items():
        numbers = np.asarray(values[column], dtype=np.float64)
        margin = (high - low) or max(abs(low), 1.0)
        with np.errstate(invalid="ignore", over="ignore"):
            far = np.isinf(numbers) | (numbers < low - margin) | (numbers > high + margin)
        for i in np.flatnonzero(far):
            said = f"{column}={numbers[i]:.6g} (training {low:,.6g} to {high:,.6g})"
            found[i] = f"{found[i]}; {said}" if found[i] else said
    return found


# ---------------------------------------------------------------------------------------------------- model


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def load_module(path: Path, name: str):
    """A Python file of the export (the customer features), loaded by path: no package, no sys.path."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_rows(rows: list[dict], needed: list[str]) -> None:
    """Refuses a row that is not a record, lacks a column the model reads, or holds a list or an object."""
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise RowsError(f"row {number}: not a record; send each row as an object of column: value")
        missing = [c for c in needed if c not in row]
        if missing:
            raise RowsError(f"row {number}: column(s) {', '.join(map(repr, missing))} missing; the model reads "
                            f"{', '.join(map(repr, needed))}. Add them (null is a missing value).")
        for column in needed:
            if isinstance(row[column], (list, dict)):
                raise RowsError(f"row {number}, column {column!r}: a list or an object; send one value (text, a "
                                "number, true / false or null)")


class TabularModel:
    """An exported tabular model: its column encoder, its ONNX graph, and the fraud decision or the segments."""

    def __init__(self, folder: str | Path, model_file: str | None = None, threads: int | None = None):
        import onnxruntime as ort

        self.folder = Path(folder)
        self.spec = json.loads((self.folder / EXPORT_FILE).read_text(encoding="utf-8"))
        self.encoder = ColumnEncoder(json.loads((self.folder / self.spec["columns"]).read_text(encoding="utf-8")))
        self.labels: list[str] = self.spec["labels"]
        self.identifiers: list[str] = self.spec.get("identifier_columns") or []
        self.cells = self.spec.get("cells") or {}
        self.segments = self.spec.get("segments")
        self.customers = None
        if self.segments:
            self.customers = load_module(self.folder / self.segments["features_module"],
                                         f"cookbook_customers_{abs(hash(str(self.folder)))}")
        options = ort.SessionOptions()
        threads = session_threads(threads)
        if threads:
            options.intra_op_num_threads = threads
        self.model_file = model_file or self.spec["model"]
        self.session = ort.InferenceSession(str(self.folder / self.model_file), options,
                                            providers=["CPUExecutionProvider"])

    @property
    def input_columns(self) -> list[str]:
        """The columns every row must have (empty or null cells are missing values)."""
        if not self.segments:
            return self.encoder.input_columns
        engineered = self.segments["engineered"]
        needed = [c for c in self.encoder.input_columns if c not in engineered]
        return list(dict.fromkeys(needed + self.customers.role_columns(self.segments["settings"])))

    def columns(self, rows: list[dict], cleaned: bool = False) -> dict[str, list[str]]:
        """Every column the model reads, as stripped cells cleaned as the training file was (`cleaned`: they
        already are, as the rows of a split the package read); a row without one of them, or with a value that
        is not a cell, is refused."""
        needed = self.input_columns
        check_rows(rows, needed)
        markers = self.cells.get("missing_values") or []
        decimal = self.cells.get("decimal") or "."
        columns = {}
        for column in needed:
            own = markers.get(column, []) if isinstance(markers, dict) else markers
            if cleaned:
                columns[column] = [cell_text(row[column]) for row in rows]
                continue
            cells, _, pointed = clean_column([row[column] for row in rows], own, decimal)
            if pointed:
                raise RowsError(f"row {pointed[0] + 1}, column {column!r}: {cells[pointed[0]]!r} is written with a "
                                "decimal point, but this model reads numbers with a decimal comma (12,5). Write it "
                                "so.")
            columns[column] = cells
        return columns

    def inputs(self, rows: list[dict], cleaned: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The graph's inputs (numbers, category codes) for `rows`; bad cells raise `RowsError`."""
        return self.encoder.encode(self.features(rows, cleaned), len(rows))

    def features(self, rows: list[dict], cleaned: bool = False) -> dict[str, np.ndarray]:
        """Each column the encoder reads, as `model_columns` converts it (numbers as floats, categories as
        text); bad cells raise `RowsError`."""
        columns = self.columns(rows, cleaned)
        if self.customers is not None:
            try:
                columns = self.customers.add_features(columns, self.segments["settings"], self.segments["snapshot"],
                                                      parse_numbers)
            except ValueError as error:
                raise RowsError(str(error)) from error
        features, bad = model_columns(columns, self.encoder.kinds)
        for column, unread in bad.items():
            row = int(np.flatnonzero(unread)[0])
            what, fix = KIND_WORDS[self.encoder.kinds[column]]
            raise RowsError(f"row {row + 1}, column {column!r}: {columns[column][row]!r} is not {what}. {fix}")
        return features

    def outputs(self, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        """The graph's output: logits (fraud) or row embeddings (segments)."""
        return self.session.run(None, {"numeric": np.ascontiguousarray(numeric, dtype=np.float32),
                                       "categorical": np.ascontiguousarray(categorical, dtype=np.int64)})[0]

    def scores(self, rows: list[dict], batch_size: int = 1024, cleaned: bool = False,
               features: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The fraud probability of each row, or each customer's point in the segments' space (`features`: the
        rows' `features`, where already read)."""
        numeric, categorical = self.encoder.encode(features if features is not None else
                                                   self.features(rows, cleaned), len(rows))
        parts = [self.outputs(numeric[i:i + batch_size], categorical[i:i + batch_size])
                 for i in range(0, len(rows), batch_size)]
        out = np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, 2))
        if not self.segments:
            return softmax(out)[:, 1]
        weights = np.asarray(self.segments["embedding_weights"], dtype=np.float64)
        return ((np.maximum(out, 0) * weights - np.asarray(self.segments["embedding_mean"]))
                / np.asarray(self.segments["embedding_scale"]))

    def predict(self, rows: list[dict], batch_size: int = 1024) -> list[dict]:
        """One answer a row, as `cookbook predict` writes it: `row` (1: the first), the identifier columns the row
        carries, then `fraud_score` and `flagged`, or `segment`, `segment_name` and `segment_response_rate`; and
        where a row of the batch holds values far outside the training range, `out_of_range` in every answer
        (`out_of_range`: what, or '' for a row inside it), as `cookbook predict`'s column."""
        rows = list(rows)
        features = self.features(rows)
        scores = self.scores(rows, batch_size, features=features)
        far = out_of_range(features, self.encoder.training_ranges(), len(rows))
        # as `cookbook predict` carries them: fraud, an identifier some row fills; segments, any it has
        shown = [c for c in self.identifiers if any(c in row and (self.segments or cell_text(row[c])) for row in rows)]
        answers = []
        for number, (row, score) in enumerate(zip(rows, scores), 1):
            answer = {"row": number, **{c: cell_text(row.get(c)) for c in shown}}
            if self.segments:
                centres = np.asarray(self.segments["centres"], dtype=np.float64)
                segment = int(((centres - score) ** 2).sum(axis=1).argmin())
                answer.update(segment=segment, segment_name=self.segments["names"][segment],
                              segment_response_rate=self.segments["training_response_rates"][segment])
            else:
                threshold = self.spec.get("threshold")
                answer.update(fraud_score=round(float(score), 6),
                              flagged=bool(threshold is not None and score >= threshold))
            if any(far):
                answer["out_of_range"] = far[number - 1]
            answers.append(answer)
        return answers


def load(folder: str | Path, model_file: str | None = None, threads: int | None = None) -> TabularModel:
    """The exported model in `folder` (`model_file`: another graph of the export, such as the int8 one)."""
    return TabularModel(folder, model_file, threads)


def read_csv(path: str | Path, delimiter: str | None = None, encoding: str = "utf-8-sig") -> list[dict]:
    """The rows of a CSV file as records (the training file's delimiter and encoding, from `export.json`)."""
    with open(path, newline="", encoding=encoding) as stream:
        text = stream.read()
    dialect = delimiter or csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    return list(csv.DictReader(text.splitlines(), delimiter=dialect))


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    model = load(argv[1])
    reading = model.spec.get("reading") or {}
    try:
        answers = model.predict(read_csv(argv[2], reading.get("delimiter"), reading.get("encoding") or "utf-8-sig"))
    except RowsError as error:
        print(f"{argv[2]}: {error}", file=sys.stderr)
        return 1
    for answer in answers:
        print(json.dumps(answer, ensure_ascii=False))
    far = [f"row {answer['row']}: {answer['out_of_range']}" for answer in answers if answer.get("out_of_range")]
    if far:
        print(f"note: {len(far)} row(s) hold values far outside the training range, so their scores are guesses: "
              f"{'; '.join(far[:5])}{'; and more' if len(far) > 5 else ''} (out_of_range names them all).",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
