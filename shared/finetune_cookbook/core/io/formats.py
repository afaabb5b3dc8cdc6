"""The data file formats the readers know: `data.format`'s values, file suffixes, and compressed files' openers."""

from __future__ import annotations

import bz2
import gzip
import lzma

DATA_FORMATS = ("csv", "json", "parquet", "excel")  # the values `data.format` takes
FORMAT_BY_SUFFIX = {
    ".csv": "csv", ".tsv": "csv", ".tab": "csv", ".txt": "csv", ".data": "csv", ".dat": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "excel", ".xlsm": "excel",
}
OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
