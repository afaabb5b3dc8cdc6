"""The benchmark: every approach of every domain on its real dataset, one record each, in one table.

Records are keyed by (domain, dataset, approach); a new run replaces its own records and keeps the other
domains', so each domain appends to the same `results.json` and `results.md`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .compare import ApproachResult
from .config import RecipeConfig
from .measure import machine_description
from .records import write_json
from .tasks import get_task
from .training import mixed_precision


def dataset_name(config: RecipeConfig) -> str:
    source = config.data.source.rstrip("/")
    return Path(source).stem if "/" in source or "." in source else source


def records(config: RecipeConfig, results: list[ApproachResult]) -> list[dict]:
    machine = f"{machine_description()}; training precision {mixed_precision(config.training.precision)}"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    keep = get_task(config.task).HEADLINE_METRICS
    return [
        {
            "domain": config.domain,
            "dataset": dataset_name(config),
            "approach": result.approach,
            "metrics": {name: round(result.metrics[name], 4) for name in keep},
            "train_seconds": round(result.train_seconds, 1),
            "samples_per_second": round(result.samples_per_second, 1),
            "peak_memory_mb": round(result.peak_memory_mb),
            "machine": machine,
            "measured_at": when,
            "config": config.config_path,
        }
        for result in results
    ]


def update_results(new: list[dict], folder: str | Path) -> list[dict]:
    """Merges `new` into `<folder>/results.json` and rewrites `<folder>/results.md` from it."""
    folder = Path(folder)
    json_path = folder / "results.json"
    existing = json.loads(json_path.read_text()) if json_path.is_file() else []
    key = lambda r: (r["domain"], r["dataset"], r["approach"])  # noqa: E731
    replaced = {key(r) for r in new}
    merged = [r for r in existing if key(r) not in replaced] + new
    merged.sort(key=lambda r: (r["domain"], r["dataset"]))
    write_json(json_path, merged)
    (folder / "results.md").write_text(render_markdown(merged))
    return merged


def render_markdown(results: list[dict]) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench`; do not edit by hand. Each row is one approach on the dataset's held-out test",
        "split. `train_seconds` is wall time of training only; `samples/s` counts training examples per second",
        "(epochs included for fine-tuning). Peak MB is the benchmark process's resident memory while the approach",
        "trained; the approaches run one after another in one process, so each includes what was loaded before it.",
        "",
        "| domain | dataset | approach | metrics | train s | samples/s | peak MB | measured |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items())
        lines.append(
            f"| {r['domain']} | {r['dataset']} | {r['approach']} | {metrics} | {r['train_seconds']} | "
            f"{r['samples_per_second']} | {r['peak_memory_mb']} | {r['measured_at']} |"
        )
    machines = sorted({r["machine"] for r in results})
    lines += ["", "Machines:", *[f"- {m}" for m in machines], ""]
    return "\n".join(lines)
