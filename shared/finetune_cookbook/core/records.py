"""Where a notebook or a recipe run leaves its metrics, so tests and `make run` can read them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from finetune_cookbook.core.saving import write_files_together

METRICS_FILE = "metrics.json"


def strict_json(value):
    """`value` with every NaN and infinity as None: JSON has neither, and strict readers (jq, browsers) refuse
    the `NaN` Python would write. A metric that cannot be computed (ROC-AUC of one class) reads as null."""
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def json_bytes(payload) -> bytes:
    """Strict JSON (see `strict_json`), indented, as the bytes `write_json` writes."""
    # default: numpy integers, torch scalars and the like, as numbers (or null)
    text = json.dumps(strict_json(payload), indent=2, default=lambda value: strict_json(float(value)), allow_nan=False)
    return (text + "\n").encode()


def write_json(path: str | Path, payload) -> Path:
    """Writes strict JSON through a temporary file, so a reader never sees half a file."""
    write_files_together({path: json_bytes(payload)})
    return Path(path)


def metrics_record(name: str, approaches: dict[str, dict[str, float]], **details) -> dict:
    """What `metrics.json` holds: each approach's test metrics (`{approach: {metric: value}}`) and `details`."""
    # JSON has no infinity: a threshold that flags nothing (an infinite one) is written as null, as is NaN.
    clean = {a: {m: float(v) for m, v in scores.items()} for a, scores in approaches.items()}
    return {"name": name, "approaches": clean, **details}


def record_metrics(output_dir: str | Path, name: str, approaches: dict[str, dict[str, float]], **details) -> Path:
    """Records each approach's test metrics (`{approach: {metric: value}}`) under `output_dir/metrics.json`."""
    return write_json(Path(output_dir) / METRICS_FILE, metrics_record(name, approaches, **details))


def read_metrics(output_dir: str | Path) -> dict:
    path = Path(output_dir) / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no recorded metrics; did the run finish?")
    return json.loads(path.read_text())


def recorded_runs(root: str | Path) -> list[Path]:
    """The folders directly under `root` that hold a `metrics.json`."""
    return [path.parent for path in sorted(Path(root).glob(f"*/{METRICS_FILE}"))]


# shown for every record, after the headline metrics it names (`cookbook train` records its task's)
SHOWN_WITHOUT_HEADLINE = ("accuracy", "macro_f1", "average_precision", "roc_auc", "lift", "ari")


def metrics_table(run_dirs: list[Path], metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per (run, approach) from each folder's `metrics.json`: `metrics`, else the headline metrics the
    record names (`cookbook train` records its task's) and `SHOWN_WITHOUT_HEADLINE`, those the record holds."""
    rows = []
    for folder in run_dirs:
        record = read_metrics(folder)
        shown = metrics or tuple(dict.fromkeys([*record.get("headline_metrics", []), *SHOWN_WITHOUT_HEADLINE]))
        for approach, scores in record["approaches"].items():
            rows.append({"run": record["name"], "approach": approach,
                         **{m: round(scores[m], 4) for m in shown if scores.get(m) is not None}})
    return pd.DataFrame(rows)


def metrics_summary(run_dirs: list[Path]) -> str:
    """Each run's approaches with the headline metrics its task records, one table per run. Rows of one approach
    at one setting (`scratch@0.05#1`: a label budget and seed; `fine_tuned@5`: a k) stay in `metrics.json`."""
    table = metrics_table(run_dirs)
    if table.empty:
        return "no recorded metrics"
    parts = []
    for run, rows in table.groupby("run", sort=False):
        headline = rows[~rows["approach"].str.contains("@")].drop(columns="run").dropna(axis=1, how="all")
        detail = len(rows) - len(headline)
        parts.append(f"{run}\n{headline.to_string(index=False)}"
                     + (f"\n(its metrics.json holds {detail} more row(s): approaches at other settings)" if detail else ""))
    return "\n\n".join(parts)
