"""`cookbook bench-serve`: every exported domain measured in one run on one machine, with the CPU and threads
named: PyTorch eager fp32, ONNX fp32 and ONNX int8 (size, latency at batch 1, throughput at batch 32, the test
metric), then the served model under a bounded load at each concurrency. Writes `serving.json` and `serving.md`."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pandas as pd

from finetune_cookbook.core.measure import machine_description
from finetune_cookbook.core.records import write_json
from finetune_cookbook.core.saving import model_folder, read_model_info
from finetune_cookbook.serving.export import export_run
from finetune_cookbook.serving.load import load

ONE_REVIEW = "Bought this for my mother and she loves it, although the speaker could be a little louder."
ONE_QUERY = "I was charged twice for the same purchase, can you refund one of them?"


def one_request(spec: dict, run: Path | None = None) -> dict:
    """A request of one input, typical of the domain: one review, one query, one image, one row of the run's
    test split (a transaction, a customer)."""
    if spec["input_kind"] == "rows":
        return {"rows": [first_test_row(run, spec["input_columns"])]}
    if spec["input_kind"] == "texts":
        return {"texts": [ONE_QUERY if spec.get("handover") else ONE_REVIEW]}
    from PIL import Image

    size = int(spec["image_size"])
    picture = Image.linear_gradient("L").resize((size * 2, size * 2)).convert("RGB")
    stream = io.BytesIO()
    picture.save(stream, "PNG")
    return {"images": [base64.b64encode(stream.getvalue()).decode()]}


def first_test_row(run: Path, columns: list[str]) -> dict:
    """The first test row of the run's data, read again through its saved config, with the model's columns."""
    from finetune_cookbook.serving.export import run_data
    from finetune_cookbook.tasks import get_task

    folder = model_folder(run)
    data, why_not = run_data(folder, get_task(read_model_info(folder)["task"]))
    if data is None:
        raise RuntimeError(f"{run}: a request needs a row of the run's data, and {why_not}")
    test = data.as_in_file("test") if hasattr(data, "as_in_file") else data.splits["test"]
    row = test.iloc[0]
    return {column: (None if pd.isna(row[column]) else str(row[column])) for column in columns}


def backends(run: Path, spec: dict) -> list[dict]:
    """The three ways to run the model, measured at export, as rows."""
    weights = model_folder(run) / "model.safetensors"
    metric = next((m for m in ("macro_f1", "accuracy", "average_precision", "lift") if m in spec.get("fp32", {})), None)
    rows = []
    weights_megabytes = weights.stat().st_size / 1e6 if weights.is_file() else None
    for name, key, megabytes in (("PyTorch eager fp32", "pytorch_fp32", weights_megabytes),
                                 ("ONNX fp32", "fp32", None), ("ONNX int8", "int8", None)):
        measured = spec.get(key)
        if not measured:
            continue
        per_second = next((v for k, v in measured.items() if k.startswith("batch_32_")), None)
        rows.append({"backend": name, "megabytes": round(megabytes or measured.get("megabytes") or 0, 2),
                     "batch_1_p50_ms": measured["batch_1"]["p50_ms"], "batch_1_p95_ms": measured["batch_1"]["p95_ms"],
                     "batch_32_per_second": per_second, "metric": metric,
                     "test_metric": measured.get(metric) if metric else None})
    return rows


def bench_serving(runs: list[str | Path], results_dir: str | Path, seconds: float = 60,
                  concurrencies: tuple[int, ...] = (1, 16), max_requests: int = 100_000) -> dict:
    """Exports each run (fp32 and int8), measures its backends and its served load, and writes the results."""
    results = {"machine": machine_description(), "cores": os.cpu_count(), "seconds_per_load": seconds,
               "note": "ONNX Runtime and PyTorch use their default threads (one per core); the load runs in this "
                       "process against the server on 127.0.0.1, so they share the cores.", "domains": []}
    for run in runs:
        run = Path(run)
        folder, spec = export_run(run, quantize="int8")
        payload = one_request(spec, run)
        served = [load(folder, payload, concurrency, seconds, max_requests) for concurrency in concurrencies]
        results["domains"].append({"domain": spec.get("domain"), "task": spec["task"], "run": str(run),
                                   "parity": spec["parity"], "backends": backends(run, spec), "served": served})
    results_dir = Path(results_dir)
    write_json(results_dir / "serving.json", results)
    (results_dir / "serving.md").write_text(render_markdown(results))
    return results


def _metric(row: dict) -> str:
    return "" if row["test_metric"] is None else f"{row['metric']} {row['test_metric']:.4f}"


def render_markdown(results: dict) -> str:
    lines = ["# Serving benchmark", "", f"Machine: {results['machine']}. {results['note']} Each load ran "
             f"{results['seconds_per_load']:g} s. Written by `cookbook bench-serve`.", ""]
    for domain in results["domains"]:
        lines += [f"## {domain['domain']} ({domain['task']})", "",
                  f"Parity: largest {'output' if 'graph_output' in domain['parity'] else 'logit'} difference "
                  f"{domain['parity']['logits_max_abs_difference']:.2g}"
                  + (f"; raw rows to scores through runtime.py {domain['parity']['scores_max_abs_difference']:.2g}"
                     if "scores_max_abs_difference" in domain["parity"] else "") + ".", "",
                  "| backend | MB | batch 1 p50 ms | batch 1 p95 ms | batch 32 per s | test metric |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {b['backend']} | {b['megabytes']} | {b['batch_1_p50_ms']} | {b['batch_1_p95_ms']} | "
                  f"{b['batch_32_per_second']} | {_metric(b)} |" for b in domain["backends"]]
        lines += ["", "| concurrency | requests | failures | p50 ms | p95 ms | p99 ms | requests/s "
                      "| memory MB start → end |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {s['concurrency']} | {s['requests']} | {s['failures']} | {s['p50_ms']} | {s['p95_ms']} | "
                  f"{s['p99_ms']} | {s['requests_per_second']} | {s['memory_start_mb']} → {s['memory_end_mb']} |"
                  for s in domain["served"]]
        lines.append("")
    return "\n".join(lines)
