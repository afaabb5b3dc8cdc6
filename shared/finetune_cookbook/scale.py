"""How cost grows with the data: `cookbook bench-scale`.

Time per epoch and peak memory of the text fine-tune and of tabular pre-training at 1x, 2x, 4x and 8x their
training data (the training split repeated), and the time and memory of reading and checking a generated CSV of
up to a million rows. Each point runs in a fresh process, so its peak memory is its own. Writes
`benchmarks/scale.{json,md,png}`.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from finetune_cookbook.config import load_config
from finetune_cookbook.core.measure import machine_description, measure
from finetune_cookbook.core.records import write_json
from finetune_cookbook.core.training import training_precision
from finetune_cookbook.tasks import get_task

VALIDATION_ROWS = 64  # a small fixed validation split: each epoch's evaluation stays a constant, small cost


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _repeated(data, factor: int):
    data.splits["train"] = pd.concat([data.splits["train"]] * factor, ignore_index=True)
    data.splits["validation"] = data.splits["validation"].head(VALIDATION_ROWS)
    return data


def text_point(config_path: str, factor: int) -> dict:
    """One epoch of the recipe's fine-tune on its training split repeated `factor` times."""
    config = load_config(config_path)
    task = get_task(config.task)
    data = _repeated(task.load_data(config), factor)
    training = dataclasses.replace(config.training, epochs=1, early_stopping_patience=None, max_steps=None,
                                   min_steps=None)  # one pass, whatever floor the recipe sets
    with tempfile.TemporaryDirectory(prefix="cookbook-scale-") as scratch:
        speed = task.fine_tune(data, config, scratch, training=training).result.speed
    return {"factor": factor, "rows": len(data.splits["train"]), "seconds_per_epoch": round(speed.seconds, 2),
            "peak_memory_mb": round(_peak_rss_mb()), "precision": speed.precision}


def tabular_point(config_path: str, factor: int) -> dict:
    """One epoch of the recipe's pre-training (no labels) on its training rows repeated `factor` times."""
    config = load_config(config_path)
    config = dataclasses.replace(config, pretrain=dataclasses.replace(config.pretrain, epochs=1, max_steps=None))
    task = get_task(config.task)
    data = _repeated(task.load_data(config), factor)
    with tempfile.TemporaryDirectory(prefix="cookbook-scale-") as scratch:
        seconds = task.pretrain(data, config, scratch).seconds
    return {"factor": factor, "rows": len(data.splits["train"]), "seconds_per_epoch": round(seconds, 2),
            "peak_memory_mb": round(_peak_rss_mb()), "precision": training_precision(config.training)}


def csv_point(config_path: str, csv: str) -> dict:
    """Reading and checking `csv` as the recipe's data: parsing, column types, labels, the split and the
    cross-split repeats, everything `cookbook train` does before training."""
    config = load_config(config_path)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, source=csv))
    with measure() as cost:
        data = get_task(config.task).load_data(config)
    return {"rows": int(sum(len(frame) for frame in data.splits.values())), "seconds": round(cost.seconds, 2),
            "peak_memory_mb": round(_peak_rss_mb()), "file_mb": round(Path(csv).stat().st_size / 2**20, 1)}


POINTS = {"text": text_point, "tabular": tabular_point, "csv": csv_point}


def run_point(kind: str, config_path: str, argument) -> dict:
    """One point in a fresh interpreter; its last stdout line is the point's JSON."""
    done = subprocess.run([sys.executable, "-m", "finetune_cookbook.scale", kind, config_path, str(argument)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench-scale: the {kind} point at {argument} failed:\n{done.stderr[-2000:]}")
    point = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{kind} {argument}: {point}", flush=True)
    return point


def growth(points: list[dict], size: str, cost: str) -> dict:
    """The exponent b of cost ~ size^b fitted on a log-log scale, and what it means."""
    sizes = np.log([p[size] for p in points])
    costs = np.log([p[cost] for p in points])
    exponent = float(np.polyfit(sizes, costs, 1)[0])
    reading = ("linear" if 0.9 <= exponent <= 1.1 else "sublinear: fixed costs weigh at the small sizes"
               if exponent < 0.9 else "faster than linear")
    return {"exponent": round(exponent, 2), "reading": reading}


def memory_growth(points: list[dict], size: str) -> dict:
    """Peak memory above the smallest point's, per million rows added: what the data itself costs to hold."""
    first, last = points[0], points[-1]
    per_million = (last["peak_memory_mb"] - first["peak_memory_mb"]) / (last[size] - first[size]) * 1e6
    return {"mb_at_smallest": first["peak_memory_mb"], "mb_at_largest": last["peak_memory_mb"],
            "mb_per_million_rows": round(per_million)}


def bench_scale(text_config: str, tabular_config: str, factors: list[int], csv_rows: list[int],
                generator: str, results_dir: str | Path, csv_config: str | None = None) -> dict:
    """Every point, then the record, page and figure. `csv_config` reads the generated CSV (default: the tabular
    config, whose data section must then fit the generator's file)."""
    csv_config = csv_config or tabular_config
    record = {"machine": machine_description(), "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
              "configs": {"text": text_config, "tabular": tabular_config, "csv": csv_config}}
    for kind, config in (("text", text_config), ("tabular", tabular_config)):
        points = [run_point(kind, config, factor) for factor in factors]
        record[kind] = {"points": points, "time": growth(points, "rows", "seconds_per_epoch"),
                        "memory": memory_growth(points, "rows")}
    with tempfile.TemporaryDirectory(prefix="cookbook-scale-csv-") as folder:
        points = []
        for rows in csv_rows:
            csv = Path(folder) / f"transactions_{rows}.csv"
            subprocess.run([sys.executable, generator, "--rows", str(rows), "--output", str(csv)], check=True,
                           capture_output=True)
            points.append(run_point("csv", csv_config, csv) | {"generated_rows": rows})
            csv.unlink()
    record["csv"] = {"points": points, "time": growth(points, "generated_rows", "seconds"),
                     "memory": memory_growth(points, "generated_rows")}
    results_dir = Path(results_dir)
    write_json(results_dir / "scale.json", record)
    (results_dir / "scale.md").write_text(render(record))
    plot(record, results_dir / "scale.png")
    return record


def render(record: dict) -> str:
    text, tabular, csv = record["text"], record["tabular"], record["csv"]
    lines = [
        "# How cost grows with the data", "",
        "Written by `make bench` (`cookbook bench-scale`); do not edit by hand. Each point ran in a fresh process; "
        "peak memory is that process's peak resident memory, the model and libraries included. The training split "
        f"is repeated 1 to {text['points'][-1]['factor']} times; validation is cut to {VALIDATION_ROWS} rows so that "
        "each epoch's evaluation stays small and constant.", "",
        f"Measured {record['measured_at']} on {record['machine']}.", "",
        "| what | rows | precision | s / epoch | peak MB |", "|---|---|---|---|---|",
    ]
    for name, part in (("text fine-tune (one epoch)", text), ("tabular pre-training (one epoch)", tabular)):
        lines += [f"| {name} | {p['rows']} | {p['precision']} | {p['seconds_per_epoch']} | {p['peak_memory_mb']} |"
                  for p in part["points"]]
    lines += ["", "| reading and checking a CSV | rows generated | file MB | s | peak MB |", "|---|---|---|---|---|"]
    csv_config = Path(record["configs"].get("csv", record["configs"]["tabular"]))
    lines += [f"| {csv_config.parent.name}/{csv_config.name} data section | {p['generated_rows']} | {p['file_mb']} | "
              f"{p['seconds']} | {p['peak_memory_mb']} |" for p in csv["points"]]
    lines += ["", "What grows how (time ~ rows^b, b fitted on a log-log scale):"]
    for name, part in (("Text fine-tune, time per epoch", text), ("Tabular pre-training, time per epoch", tabular),
                       ("Reading and checking a CSV, time", csv)):
        memory = part["memory"]
        lines.append(f"- {name}: b = {part['time']['exponent']}, {part['time']['reading']}. Peak memory "
                     f"{memory['mb_at_smallest']} to {memory['mb_at_largest']} MB, about "
                     f"{memory['mb_per_million_rows']} MB more per million rows.")
    return "\n".join(lines) + "\n"


def plot(record: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(10, 4))
    series = (("text fine-tune, s/epoch", record["text"], "rows", "seconds_per_epoch"),
              ("tabular pre-training, s/epoch", record["tabular"], "rows", "seconds_per_epoch"),
              ("reading a CSV, s", record["csv"], "generated_rows", "seconds"))
    for label, part, size, cost in series:
        rows = [p[size] for p in part["points"]]
        time_axis.loglog(rows, [p[cost] for p in part["points"]], "o-", label=f"{label} (b = {part['time']['exponent']})")
        memory_axis.semilogx(rows, [p["peak_memory_mb"] for p in part["points"]], "o-", label=label)
    time_axis.set(xlabel="rows", ylabel="seconds", title="Time (log-log: slope 1 is linear)")
    memory_axis.set(xlabel="rows", ylabel="peak resident MB", title="Peak memory")
    for axis in (time_axis, memory_axis):
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":  # one point, in its own process (see `run_point`)
    kind, config_path, argument = sys.argv[1:4]
    point = POINTS[kind](config_path, argument if kind == "csv" else int(argument))
    print(json.dumps(point))
