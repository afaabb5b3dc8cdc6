"""Reading the files people really have into tables of strings, through the Hugging Face `datasets` loaders.

Delimited text with any suffix, with or without a header row; JSON Lines, a JSON array of records, or a JSON
document whose records sit under a key (`field`); parquet; Excel; each also gzip-, bz2-, xz- or zip-compressed
(a zip holding one file). A folder holding files named after splits (`train.csv`, `test.csv`) keeps those splits;
a hub dataset keeps its own. Every cell comes back as text (missing cells empty), with the 1-based source row.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import re
import zipfile
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pandas as pd

from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.formats import DATA_FORMATS, FORMAT_BY_SUFFIX, OPENERS
from finetune_cookbook.core.io.resolve import hub_offline, hub_snapshot

# pandas reads fields of any length, so the csv module that guesses delimiters and counts rows must too (its
# default stops at 128 KiB, and a long review or a pasted log would end reading with a traceback)
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))

ROW = "row"  # the 1-based source row, kept so later errors and error analysis can point back to the file
ARCHIVE_NOISE = ("__MACOSX/", ".DS_Store")
TAR_SUFFIXES = (".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz", ".tbz2")
DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
SHARD = re.compile(r"^[a-z]+[-_]\d+[-_]of[-_]\d+$")  # train-00000-of-00002: one split written in parts
# Split names as publishers write them -> the cookbook's three splits.
SPLIT_NAMES = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}


@dataclass(frozen=True)
class ReadSettings:
    """How to read one source; the config's `data` settings, optionally overridden per split."""

    format: str | None = None
    delimiter: str | None = None
    column_names: tuple[str, ...] | None = None
    field: str | None = None
    sheet: str | None = None
    encoding: str = "utf-8-sig"
    split: str | None = None  # a hub dataset's split to read; None: all of its train / validation / test splits
    subset: str | None = None  # a hub dataset's configuration (glue's `sst2`)
    quoting: bool = True  # False: quote characters in delimited text are plain text


SETTING_NAMES = tuple(f.name for f in fields(ReadSettings))


@dataclass
class Table:
    """One split's rows as read, and where they came from: `origin` for errors, `named` as the config names it."""

    frame: pd.DataFrame
    origin: str
    named: str
    label_names: dict[str, list[str]] | None = None  # a column's class names, where the source declares them


def split_name(name: str, where: str) -> str:
    key = str(name).strip().lower()
    if key not in SPLIT_NAMES:
        raise ConfigError(
            f"{where}: {name!r} is not a split name. Use train, validation (or val, valid, dev) and test."
        )
    return SPLIT_NAMES[key]


# ---------------------------------------------------------------------------------------------------- files


def _compression(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return suffix if suffix in OPENERS or suffix == ".zip" else None


def _zip_member(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if not m.endswith("/") and not any(n in m for n in ARCHIVE_NOISE)]
    if len(members) != 1:
        listed = ", ".join(members[:8]) + (f" and {len(members) - 8} more" if len(members) > 8 else "")
        raise DataError(
            f"{path}: the zip archive holds {len(members)} files ({listed or 'none'}); it must hold exactly one. "
            "Extract the file you want and point data.source at it, or name each split's file in data.source."
        )
    return members[0]


def _inner_name(path: Path) -> str:
    """The file name that decides the format: the archive member, or the name without its compression suffix."""
    compression = _compression(path)
    if compression == ".zip":
        return _zip_member(path)
    return path.stem if compression else path.name


def file_format(path: Path, settings: ReadSettings) -> str:
    if path.name.lower().endswith(TAR_SUFFIXES):
        raise DataError(
            f"{path}: tar archives are not read. Extract it (tar -xf {path.name}) and point data.source at the "
            "extracted file, or at the folder (files named train.csv, test.csv keep their splits)."
        )
    if settings.format:
        return settings.format
    suffix = Path(_inner_name(path)).suffix.lower()
    if suffix not in FORMAT_BY_SUFFIX:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise DataError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}. Known suffixes: {known}, optionally compressed "
            "(.gz, .bz2, .xz, .zip). Set data.format to csv, json, parquet or excel to say how to read it."
        )
    return FORMAT_BY_SUFFIX[suffix]


def raw_bytes(path: Path) -> bytes:
    """The file's content, decompressed."""
    compression = _compression(path)
    if compression == ".zip":
        with zipfile.ZipFile(path) as archive:
            return archive.read(_zip_member(path))
    if compression:
        try:
            with OPENERS[compression](path, "rb") as stream:
                return stream.read()
        except (OSError, EOFError, lzma.LZMAError) as error:
            raise DataError(f"{path}: could not be decompressed ({error}). Is the file complete?") from error
    return path.read_bytes()


def decode(path: Path, encoding: str) -> str:
    raw = raw_bytes(path)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line} is not valid {encoding} (byte 0x{raw[error.start]:02x} at offset {error.start}). "
            "Re-save the file as UTF-8, or set data.encoding to the file's encoding (for example latin-1)."
        ) from error


def delimiter_setting(value: str | None, origin: str) -> str | None:
    """The config's delimiter as one character: `\\t` (as YAML reads '\\t') and names such as `tab` are accepted."""
    if value is None:
        return None
    value = DELIMITER_NAMES.get(value.lower() if len(value) > 1 else value, value)
    if len(value) != 1:
        raise DataError(f"{origin}: data.delimiter is {value!r}; give one character, such as \",\" or \"\\t\" "
                        "(double quotes in YAML), or a name: tab, comma, semicolon, pipe, space.")
    return value


def _delimiter(path: Path, lines: list[str], settings: ReadSettings, origin: str) -> str:
    """The setting; else the candidate that splits the first lines into the same number of fields (at least
    two), the suffix's usual one first (comma for .csv, tab otherwise)."""
    chosen = delimiter_setting(settings.delimiter, origin)
    if chosen:
        return chosen
    suffix = Path(_inner_name(path)).suffix.lower()
    preferred = "," if suffix == ".csv" else "\t"
    candidates = [preferred] + [d for d in ("\t", ",", ";", "|") if d != preferred]
    sample = [line for line in lines[:50] if line.strip()][:20]

    def fields(line: str, sep: str) -> int:
        return len(next(csv.reader([line], delimiter=sep)))

    for sep in candidates:  # the same field count on every sampled line: the file's own separator
        counts = {fields(line, sep) for line in sample}
        if len(counts) == 1 and counts.pop() > 1:
            return sep
    first = sample[0]
    return max(candidates, key=lambda sep: (first.count(sep), sep == preferred)) if any(
        sep in first for sep in candidates) else preferred


def _root_cause(error: BaseException) -> BaseException:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    return error


def _load_with_datasets(builder: str, path: Path, origin: str, what: str, **options):
    """`datasets.load_dataset(builder, data_files=path)`, with failures reported against the user's file."""
    import datasets

    datasets.disable_progress_bars()
    try:
        return datasets.load_dataset(builder, data_files={"train": str(path)}, split="train", **options)
    except Exception as error:  # datasets wraps the parser's error; show the user the parser's own words
        cause = _root_cause(error)
        raise DataError(f"{origin}: could not be parsed as {what}: {cause}") from error


def _check_column_count(found: int, settings: ReadSettings, origin: str, where: str) -> None:
    if settings.column_names and found != len(settings.column_names):
        raise DataError(
            f"{origin}: data.column_names names {len(settings.column_names)} columns "
            f"({', '.join(settings.column_names)}), but {where} has {found}. Give one name per column."
        )


def _read_csv(path: Path, settings: ReadSettings, origin: str) -> pd.DataFrame:
    import datasets

    text = decode(path, settings.encoding)
    lines = text.lstrip("\ufeff").splitlines()
    if not any(line.strip() for line in lines):
        raise DataError(f"{origin}: holds no data rows.")
    first_line = next(line for line in lines if line.strip())
    sep = _delimiter(path, lines, settings, origin)
    quoting = csv.QUOTE_MINIMAL if settings.quoting else csv.QUOTE_NONE
    first_fields = next(csv.reader([first_line], delimiter=sep, quoting=quoting))
    if settings.column_names:
        _check_column_count(len(first_fields), settings, origin, f"line 1 (separated by {sep!r})")
        names = list(settings.column_names)
    else:
        names = [c.strip() for c in first_fields]
        _refuse_one_column_at_another_delimiter(names, lines, sep, settings, origin)
        _refuse_repeated_names(names, origin)
    # In a one-column file an empty line is a row whose one cell is empty (what a spreadsheet writes for it), not
    # a gap to skip: pandas's default would lose the row, and every row number after it.
    one_column = len(names) == 1
    rows, ragged = _row_numbers(text.lstrip("\ufeff"), sep, quoting, len(names), header=not settings.column_names,
                               origin=origin, empty_lines_are_rows=one_column)
    above_header = lines.index(first_line) if one_column and not settings.column_names else 0
    # Every column as text: type guessing per chunk would clash on a column that turns to text halfway.
    features = datasets.Features({name: datasets.Value("string") for name in names})
    try:
        dataset = _load_with_datasets(
            "csv", path, origin, f"csv (fields separated by {sep!r})", sep=sep, features=features,
            keep_default_na=False, encoding=settings.encoding, quoting=quoting,
            # the names given (or the header, stripped of spaces) replace the file's header row when it has one
            column_names=names, header=None if settings.column_names else 0,
            **({"skip_blank_lines": False, "skiprows": above_header or None} if one_column else {}),
        )
    except DataError as error:
        if settings.quoting and "EOF inside string" in str(error):
            raise DataError(f"{error}. A field opens a quote that never closes; if quote characters in this file are "
                            "plain text (as in many tab-separated files), set data.quoting: false.") from error
        raise
    frame = dataset.to_pandas()
    if settings.quoting and sep == "\t":
        _refuse_merged_rows(frame, origin)
    # after the parser, whose own errors (a quote left open) come first
    _refuse_ragged_rows(ragged, len(names), sep, not settings.column_names, origin)
    if rows is not None and len(rows) == len(frame):  # else the parser read the records otherwise: 1 to n
        frame.attrs[ROW] = rows
    return frame


def _refuse_one_column_at_another_delimiter(names: list[str], lines: list[str], sep: str, settings: ReadSettings,
                                           origin: str) -> None:
    """data.delimiter set to one the file does not use reads every line as one column: say so, before a later
    check blames the label column or another setting for a name it cannot find."""
    if len(names) != 1 or not settings.delimiter:
        return
    sample = [line for line in lines[:50] if line.strip()][:20]
    for other in (d for d in ("\t", ",", ";", "|") if d != sep):
        counts = {len(next(csv.reader([line], delimiter=other))) for line in sample}
        if len(counts) == 1 and counts.pop() > 1:
            shown = {v: k for k, v in DELIMITER_NAMES.items() if len(k) > 2}.get(other, other)
            raise DataError(f"{origin}: data.delimiter is {sep!r}, which leaves every line one column, but the lines "
                            f"split alike at {other!r}. Set data.delimiter: {shown}, or remove the setting (the "
                            "delimiter is then detected).")


def _refuse_repeated_names(names: list[str], origin: str, empty_allowed: bool = False) -> None:
    repeated = sorted({name for name in names if names.count(name) > 1 and (name or not empty_allowed)})
    if repeated:
        where = "; ".join(f"{name!r} in columns {', '.join(str(i + 1) for i, n in enumerate(names) if n == name)}"
                          for name in repeated)
        raise DataError(f"{origin}: the header names a column more than once ({where}). Give each column its own "
                        "name (an empty name counts as one too: delete the empty columns, or name them).")


def _row_numbers(text: str, sep: str, quoting: int, width: int, header: bool, origin: str,
                 empty_lines_are_rows: bool = False) -> tuple[list[int] | None, list[tuple[int, int]]]:
    """Each record's row number as a spreadsheet shows it less the header row: blank lines, which the parser
    skips, still count (and are rows themselves with `empty_lines_are_rows`, once the header is read). Also the
    rows whose field count differs from the header's, with their counts. Refuses a file with a header and no
    rows. (None, []) where Python's csv module cannot follow the file."""
    numbers, ragged, number, header_seen = [], [], 0, not header
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting):
            # pandas skips an empty or whitespace-only line, but reads "" as a row with an empty cell
            blank = not record or (len(record) == 1 and record[0] != "" and not record[0].strip())
            if not header_seen:
                header_seen = not blank
                number += blank  # a blank line above the header moves every row down in a spreadsheet too
                continue
            number += 1
            if blank and empty_lines_are_rows:
                numbers.append(number)
                continue
            if blank:
                continue
            numbers.append(number)
            if len(record) != width:
                ragged.append((number, len(record)))
    except csv.Error:
        return None, []
    if header and not numbers:
        raise DataError(f"{origin}: holds a header and no data rows.")
    return numbers, ragged


def _refuse_ragged_rows(ragged: list[tuple[int, int]], width: int, sep: str, header: bool, origin: str) -> None:
    """A row cut short (a truncated last line) would otherwise be read with empty cells, and one field too many on
    the first row makes pandas take the first column as an index and shift every other column."""
    if not ragged:
        return
    listed = ", ".join(f"{row} ({fields} fields)" for row, fields in ragged[:5])
    more = f" and {len(ragged) - 5} more" if len(ragged) > 5 else ""
    shape = (f"the header has {width} columns" if header else f"data.column_names names {width} columns") + \
        f" (separated by {sep!r})"
    if ragged[0][1] < width:
        raise DataError(f"{origin}: {shape}, but row(s) {listed}{more} hold fewer: a row cut short, or a separator "
                        "missing. Complete those rows or delete them.")
    raise DataError(f"{origin}: {shape}, but row(s) {listed}{more} hold more: a separator inside a value that is not "
                    "quoted, or one at the end of the line. Quote such values (\"1,5\"), remove the trailing "
                    "separators, or name the extra column in the header.")


def _refuse_merged_rows(frame: pd.DataFrame, origin: str) -> None:
    """A stray quote in tab-separated text swallows the next lines into one field: refuse that, never read it."""
    for column in frame.columns:
        merged = frame[column].astype(str).str.contains("\n[^\n]*\t", regex=True)
        if merged.any():
            row = int(merged.to_numpy().nonzero()[0][0]) + 1
            raise DataError(
                f"{origin}: row {row} of column {column!r} holds several lines with tabs in them: a quote character "
                "there opened a field that swallowed the next rows. If quotes in this file are plain text, set "
                "data.quoting: false; otherwise fix the quotes in that row."
            )


def _records_frame(records: list, settings: ReadSettings, origin: str) -> pd.DataFrame:
    """Records that are arrays take their column names from the config; `datasets` cannot name positions."""
    if not settings.column_names:
        raise DataError(
            f"{origin}: the records are arrays, not objects with named fields. Set data.column_names to name their "
            "positions, for example [text, label]."
        )
    for number, record in enumerate(records, start=1):
        if not isinstance(record, list):
            raise DataError(f"{origin}: record {number} is {type(record).__name__}, not an array like the first record.")
        _check_column_count(len(record), settings, origin, f"record {number}")
    return pd.DataFrame(records, columns=list(settings.column_names))


def _refuse_names_for_objects(record, settings: ReadSettings, origin: str) -> None:
    if settings.column_names and isinstance(record, dict):
        raise DataError(f"{origin}: data.column_names names the positions of array records, but these records are "
                        f"objects with named fields ({', '.join(record)}). Remove data.column_names and use those names.")


def _json_document(text: str, origin: str, settings: ReadSettings):
    """The parsed document when the file is one JSON value (array or object); None for JSON Lines."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # several values, one per line
            return None
        raise DataError(f"{origin}: could not be parsed as JSON: {error}") from error


def _read_json(path: Path, settings: ReadSettings, origin: str) -> pd.DataFrame:
    text = decode(path, settings.encoding).lstrip("\ufeff")
    if not text.strip():
        raise DataError(f"{origin}: holds no data rows.")
    document = _json_document(text, origin, settings)
    if document is None:  # JSON Lines
        lines = [json.loads(line) for line in text.splitlines()[:1] if line.strip()]
        if lines and isinstance(lines[0], list):
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
            return _records_frame(records, settings, origin)
        _refuse_names_for_objects(json.loads(next(line for line in text.splitlines() if line.strip())), settings, origin)
        return _load_with_datasets("json", path, origin, "JSON Lines", encoding=settings.encoding).to_pandas()
    if isinstance(document, dict) and not settings.field and not any(isinstance(v, list) for v in document.values()):
        document = [document]  # one record (a JSON Lines file of one line), not a document holding records
    if isinstance(document, dict):
        if not settings.field:
            keys = ", ".join(list(document)[:10])
            raise DataError(
                f"{origin}: is one JSON object with the keys {keys}. Set data.field to the key that holds the records."
            )
        if settings.field not in document:
            raise DataError(
                f"{origin}: has no key {settings.field!r} (data.field). Keys found: {', '.join(list(document)[:20])}."
            )
        records = document[settings.field]
    elif settings.field:
        raise DataError(f"{origin}: is a JSON array, so data.field ({settings.field!r}) cannot apply. Remove it.")
    else:
        records = document
    if not isinstance(records, list) or not records:
        raise DataError(f"{origin}: the records{f' under {settings.field!r}' if settings.field else ''} are not a "
                        "non-empty JSON array.")
    if isinstance(records[0], list):
        return _records_frame(records, settings, origin)
    _refuse_names_for_objects(records[0], settings, origin)
    options = {"field": settings.field} if settings.field else {}
    return _load_with_datasets("json", path, origin, "JSON", encoding=settings.encoding, **options).to_pandas()


def _read_excel(path: Path, settings: ReadSettings, origin: str) -> pd.DataFrame:
    import openpyxl  # noqa: F401  (pandas' maintained .xlsx reader; imported here to fail early if missing)

    try:
        sheets = pd.ExcelFile(io.BytesIO(raw_bytes(path)), engine="openpyxl")
    except Exception as error:
        raise DataError(f"{origin}: could not be opened as an Excel workbook: {error}") from error
    sheet = settings.sheet if settings.sheet is not None else sheets.sheet_names[0]
    if sheet not in sheets.sheet_names:
        raise DataError(f"{origin}: has no sheet {sheet!r} (data.sheet). Sheets: {', '.join(sheets.sheet_names)}.")
    if not settings.column_names:  # pandas would rename a repeated name (amount, amount.1) without a word
        header = sheets.parse(sheet, header=None, nrows=1, dtype=str, keep_default_na=False)
        # empty header cells are allowed here: pandas names them Unnamed: 3 and so on
        _refuse_repeated_names([str(name).strip() for name in header.iloc[0]] if len(header) else [],
                               f"{origin} (sheet {sheet!r})", empty_allowed=True)
    frame = sheets.parse(sheet, header=None if settings.column_names else 0, dtype=str, keep_default_na=False)
    if settings.column_names:
        _check_column_count(frame.shape[1], settings, origin, f"sheet {sheet!r}")
        frame.columns = list(settings.column_names)
    return frame


def _label_names(dataset) -> dict[str, list[str]]:
    from datasets import ClassLabel

    return {name: list(feature.names) for name, feature in dataset.features.items() if isinstance(feature, ClassLabel)}


def _named_classes(frame: pd.DataFrame, label_names: dict[str, list[str]]) -> pd.DataFrame:
    """ClassLabel ids become their names, as the dataset's publisher meant them."""
    for column, names in label_names.items():
        frame[column] = frame[column].map(lambda i: names[int(i)] if pd.notna(i) and 0 <= int(i) < len(names) else i)
    return frame


def read_table(path: str | Path, settings: ReadSettings | None = None, origin: str | None = None) -> pd.DataFrame:
    """One local file as a table of strings with a `row` column; the format comes from the settings or the suffix."""
    settings = settings or ReadSettings()
    path = Path(path)
    origin = origin or str(path)
    if not path.is_file():
        raise DataError(f"{origin}: file not found. Check data.source in the config.")
    kind = file_format(path, settings)
    if kind == "csv":
        frame = _read_csv(path, settings, origin)
    elif kind == "json":
        frame = _read_json(path, settings, origin)
    elif kind == "parquet":
        dataset = _load_with_datasets("parquet", path, origin, "parquet")
        label_names = _label_names(dataset)
        frame = _named_classes(dataset.to_pandas(), label_names)
    elif kind == "excel":
        frame = _read_excel(path, settings, origin)
    else:
        raise ConfigError(f"data.format is {kind!r}; choose one of {', '.join(DATA_FORMATS)}.")
    if settings.column_names and kind == "parquet":
        _check_column_count(frame.shape[1], settings, origin, "the file")
        frame.columns = list(settings.column_names)
    if frame.empty:
        raise DataError(f"{origin}: holds no data rows.")
    rows = frame.attrs.pop(ROW, None)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = as_strings(frame, rows, origin)
    frame.attrs["label_names"] = label_names if kind == "parquet" else {}  # the source's declared class order
    return frame


def as_strings(frame: pd.DataFrame, rows: list[int] | None = None, origin: str = "the data") -> pd.DataFrame:
    """Every cell as text (missing cells empty; 5.0 read from a float column stays '5.0'), plus the source row
    (`rows`, else 1 to n)."""
    if ROW in frame.columns:
        raise DataError(f"{origin}: has a column named {ROW!r}, the name the cookbook gives each row's number in the "
                        "file (so errors and predictions can point back to it). Rename that column.")
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    frame[ROW] = rows if rows is not None else range(1, len(frame) + 1)
    return frame


def read_lines(path: str | Path, encoding: str = "utf-8-sig") -> list[str]:
    """The non-blank lines of a plain text file: one input per line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    lines = [line for line in decode(path, encoding).splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: holds no text lines.")
    return lines


# ---------------------------------------------------------------------------------------------------- folders


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    for suffix in OPENERS:
        name = name.removesuffix(suffix)
    return path.is_file() and (Path(name).suffix in FORMAT_BY_SUFFIX or name.endswith(".zip"))


def _split_of(path: Path) -> str | None:
    """`train.csv`, `test-00000-of-00001.parquet`, `dev.tsv` -> their split; other names -> None."""
    stem = path.name.split(".")[0].lower()
    for sep in ("-", "_"):
        stem = stem.split(sep)[0] if stem.split(sep)[0] in SPLIT_NAMES else stem
    return SPLIT_NAMES.get(stem)


def folder_files(folder: Path, recursive: bool = False) -> dict[str | None, list[Path]]:
    """The data files of a folder: by split where their names say one, else under None."""
    found = sorted(p for p in (folder.rglob("*") if recursive else folder.iterdir()) if _is_data_file(p))
    if not found and not recursive and (folder / "data").is_dir():  # the hub's layout: data/train-*.parquet
        return folder_files(folder / "data", recursive=True)
    by_split: dict[str | None, list[Path]] = {}
    for path in found:
        by_split.setdefault(_split_of(path), []).append(path)
    if "train" in by_split:  # split files found: other files (a label list, a readme table) are not rows
        by_split.pop(None, None)
        for split, paths in by_split.items():
            if len(paths) > 1 and not all(SHARD.match(p.name.split(".")[0].lower()) for p in paths):
                names = ", ".join(p.name for p in paths)
                raise DataError(
                    f"{folder}: several files for the {split} split ({names}). Keep one (a file and its compressed "
                    "copy would be read twice), or name each split's file in data.source."
                )
        return by_split
    if len(found) == 1:
        return {None: found}
    if not found:
        raise DataError(
            f"{folder}: no data file here (looked for {', '.join(sorted(FORMAT_BY_SUFFIX))}). "
            "Name the file itself in data.source."
        )
    names = ", ".join(p.name for p in found)
    raise DataError(
        f"{folder}: holds several data files ({names}) and none is named after a split (train, validation, test). "
        "Name the one to use in data.source, or map splits to files: data.source: {train: a.csv, test: b.csv}."
    )


def read_files(paths: list[Path], settings: ReadSettings, origin: str) -> pd.DataFrame:
    """Several shards of one split, read alike and stacked."""
    frames = [read_table(p, settings, origin if len(paths) == 1 else f"{origin} ({p.name})") for p in paths]
    if len(frames) == 1:
        return frames[0]
    stacked = as_strings(pd.concat([f.drop(columns=ROW) for f in frames], ignore_index=True))
    stacked.attrs["label_names"] = frames[0].attrs.get("label_names", {})
    return stacked


def read_local(path: Path, named: str, settings: ReadSettings, recursive: bool = False) -> dict[str | None, Table]:
    """A file (one table, split None) or a folder (split files keep their splits)."""
    if path.is_file():
        frame = read_table(path, settings, str(path))
        return {None: Table(frame, str(path), named, frame.attrs.get("label_names"))}
    tables = {}
    for split, paths in folder_files(path, recursive).items():
        shown = f"{named.rstrip('/')}/{paths[0].relative_to(path)}" if len(paths) == 1 else f"{named} ({split})"
        origin = str(paths[0]) if len(paths) == 1 else f"{path} ({split} files)"
        frame = read_files(paths, settings, origin)
        tables[split] = Table(frame, origin, shown, frame.attrs.get("label_names"))
    return tables


# ---------------------------------------------------------------------------------------------------- hub


def read_hub(dataset_id: str, settings: ReadSettings, tried: str = "") -> dict[str | None, Table]:
    """A hub dataset's splits (or the one `settings.split` names). Offline, it is read from the local Hugging Face
    caches: the `datasets` cache first, then the hub's file cache."""
    import datasets

    datasets.disable_progress_bars()
    wanted = f"[{settings.split}]" if settings.split else ""
    try:
        loaded = datasets.load_dataset(dataset_id, settings.subset, split=settings.split)
    except Exception as error:  # the hub raises many kinds; offline, a missing cache is one more
        if not hub_offline():
            raise DataError(f"{dataset_id}: could not load from the hub ({_root_cause(error)}).") from error
        folder = hub_snapshot(dataset_id, repo_type="dataset")
        if folder is None:
            raise DataError(
                f"{dataset_id}: not a local file or folder{f' (tried {tried})' if tried else ''}, not in the local "
                "Hugging Face caches "
                f"({datasets.config.HF_DATASETS_CACHE}, {hub_cache_dir()}), and HF_HUB_OFFLINE=1 forbids the hub. "
                "Point data.source at a local file, or unset HF_HUB_OFFLINE with a network."
            ) from error
        tables = read_local(folder, f"hub:{dataset_id}", replace(settings, split=None), recursive=True)
        if settings.split:
            split = SPLIT_NAMES.get(settings.split.lower(), settings.split)
            if split not in tables:
                raise DataError(f"{dataset_id}: the cached copy has no split {settings.split!r} (data.split); "
                                f"it has {', '.join(str(s) for s in tables)}.") from error
            return {None: tables[split]}
        return tables
    parts = {settings.split: loaded} if settings.split else dict(loaded)
    tables = {}
    for name, dataset in parts.items():
        key = None if settings.split else SPLIT_NAMES.get(name.lower())
        if key is None and not settings.split:
            continue  # a split the cookbook does not use (e.g. `unsupervised`)
        frame = as_strings(_named_classes(dataset.to_pandas(), _label_names(dataset)), origin=f"hub:{dataset_id}")
        tables[key] = Table(frame, f"hub:{dataset_id}[{name}]", f"hub:{dataset_id}[{name}]", _label_names(dataset))
    if not tables:
        raise DataError(f"{dataset_id}{wanted}: no train / validation / test split. Set data.split to the one to use.")
    return tables


def hub_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)
