"""The benchmark: every approach of every domain on its real dataset, one record each, in one table.

Records are keyed by (domain, dataset, approach, and the approach's setting such as examples_per_intent); a new
run replaces its own records and keeps the other domains', so each domain appends to the same `results.json` and
`results.md`.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.flops import FLOPS_COUNTED, matmul_peak
from finetune_cookbook.core.label_curve import budget_of
from finetune_cookbook.core.measure import machine_description
from finetune_cookbook.core.records import write_json
from finetune_cookbook.core.training import mixed_precision
from finetune_cookbook.tasks import get_task


def dataset_name(config: RecipeConfig) -> str:
    source = config.data.source
    if isinstance(source, dict):  # a split mapping: name the dataset by its train file's folder
        train = source.get("train")
        source = train["path"] if isinstance(train, dict) else str(train)
        return Path(source).parent.name or Path(source).stem
    source = source.rstrip("/")
    if Path(source).suffix.lower() == ".csv" and "/" in source:  # a label CSV inside the dataset's folder
        return Path(source).parent.name
    return Path(source).stem if "/" in source or "." in source else source


def records(config: RecipeConfig, runs: dict[int, list[ApproachResult]] | list[ApproachResult]) -> list[dict]:
    """One record per approach: each headline metric's mean over the seeds' runs, and its spread.

    `runs` maps a seed to that run's results; a plain list is one run with the config's training seed.
    """
    if not isinstance(runs, dict):
        runs = {config.training.seed: runs}
    machine = f"{machine_description()}; training precision {mixed_precision(config.training.precision)}"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    keep = get_task(config.task).HEADLINE_METRICS
    # settings a run chooses on validation and reports among its metrics (fraud: the learning rate, the start)
    choices = getattr(get_task(config.task), "CHOSEN_ON_VALIDATION", ())
    by_approach: dict[tuple, list[ApproachResult]] = {}
    for results in runs.values():
        for result in results:
            by_approach.setdefault((result.approach, *result.setting.items()), []).append(result)
    made = []
    for (approach, *setting), results in by_approach.items():
        values = {name: [r.metrics[name] for r in results if name in r.metrics] for name in keep}
        values = {name: v for name, v in values.items() if v}
        record = {
            "domain": config.domain,
            "dataset": dataset_name(config),
            "approach": approach,
            **dict(setting),
            "metrics": {name: round(float(np.mean(v)), 4) for name, v in values.items()},
            "train_seconds": round(float(np.mean([r.train_seconds for r in results])), 1),
            "samples_per_second": round(float(np.mean([r.samples_per_second for r in results])), 1),
            "peak_memory_mb": round(max(r.peak_memory_mb for r in results)),
            "machine": machine,
            "measured_at": when,
            "config": config.config_path,
        }
        shares = [r.label_share for r in results if r.label_share is not None]
        if shares:  # each seed's split differs a little, so its share of the labels too
            record["label_share"] = round(float(np.mean(shares)), 4)
        if len(results) > 1:  # the sample standard deviation over seeds, and every seed's value
            record["metrics_std"] = {name: round(float(np.std(v, ddof=1)), 4) for name, v in values.items()}
            own_seeds = [r.seed for r in results]
            record["seeds"] = own_seeds if None not in own_seeds else list(runs)
            record["per_seed"] = {name: [round(float(x), 4) for x in v] for name, v in values.items()}
        chosen = {name: [r.metrics[name] for r in results if name in r.metrics] for name in choices}
        if any(chosen.values()):  # what validation chose in each seed's run, in the seeds' order
            record["chosen_on_validation"] = {name: v for name, v in chosen.items() if v}
        record.update(speed_fields(results))
        made.append(record)
    add_speedups(made)
    return made


# The machine's matrix-multiply peak per precision, measured once per benchmark process, after training.
measured_peak = functools.cache(matmul_peak)


def speed_fields(results: list[ApproachResult]) -> dict:
    """For an approach trained by the Trainer in every seed's run: time per epoch, the FLOP/s it achieved, and
    that rate as a fraction of this machine's matrix-multiply peak in the precision it trained in."""
    speeds = [r.speed for r in results]
    if not speeds or any(s is None for s in speeds):  # not a Trainer run, or a resumed one
        return {}
    precision = speeds[0].precision
    flops = [s.work.flops() for s in speeds]
    achieved = float(np.mean([f / s.seconds for f, s in zip(flops, speeds)]))
    peak = measured_peak(precision)
    per_epoch = [s.seconds_per_epoch for s in speeds]
    fields = {
        "precision": precision,
        "epochs": round(float(np.mean([s.epochs for s in speeds])), 2),
        "seconds_per_epoch": round(float(np.mean(per_epoch)), 1),
        "train_gflop": round(float(np.mean(flops)) / 1e9, 1),
        "achieved_gflops": round(achieved / 1e9, 1),
        "peak_gflops": round(peak / 1e9, 1),
        "peak_fraction": round(achieved / peak, 3),
        "flops_counted": FLOPS_COUNTED,
    }
    if len(per_epoch) > 1:
        fields["seconds_per_epoch_std"] = round(float(np.std(per_epoch, ddof=1)), 1)
    return fields


NAIVE_SUFFIX = "_naive"


def add_speedups(made: list[dict]) -> None:
    """`speedup_vs_naive` on each approach that has a naive twin (`fine_tuned` and `fine_tuned_naive`): the naive
    run's time per epoch over the approach's, from the same benchmark run."""
    key = lambda r: (r["approach"], *(str(r.get(f)) for f in SETTING_FIELDS))  # noqa: E731
    naive = {key(r)[1:]: r for r in made if r["approach"].endswith(NAIVE_SUFFIX) and "seconds_per_epoch" in r}
    for record in made:
        twin = naive.get(key(record)[1:])
        if twin and twin["approach"] == record["approach"] + NAIVE_SUFFIX and record.get("seconds_per_epoch"):
            record["speedup_vs_naive"] = round(twin["seconds_per_epoch"] / record["seconds_per_epoch"], 2)


# Fields that tell apart records of one approach on one dataset (a learning curve's points, a label budget, a k).
SETTING_FIELDS = ("examples_per_intent", "label_budget", "k")


def update_results(new: list[dict], folder: str | Path) -> list[dict]:
    """Merges `new` into `<folder>/results.json` (a record measured again takes its old one's place) and rewrites
    `<folder>/results.md` from it."""
    folder = Path(folder)
    json_path = folder / "results.json"
    existing = json.loads(json_path.read_text()) if json_path.is_file() else []
    key = lambda r: (r["domain"], r["dataset"], r["approach"], *(str(r.get(f)) for f in SETTING_FIELDS))  # noqa: E731
    again = {key(r): r for r in new}
    merged = [again.pop(key(r), r) for r in existing] + list(again.values())
    merged.sort(key=lambda r: (r["domain"], r["dataset"]))  # stable: a domain's records keep their run order
    write_json(json_path, merged)
    (folder / "results.md").write_text(render_markdown(merged))
    return merged


def _shown(value) -> str:
    """A metric as the table shows it; one that could not be computed (null in results.json) as n/a."""
    return "n/a" if value is None or value != value else f"{value:.4f}"


def speed_table(results: list[dict]) -> list[str]:
    """The Trainer runs' speed: time per epoch (with its spread over seeds), the speed-up over the naive way,
    and the achieved FLOP/s against the machine's matrix-multiply peak in the run's precision."""
    timed = [r for r in results if "seconds_per_epoch" in r]
    if not timed:
        return []
    lines = [
        "", "## Speed", "",
        "Time per epoch is the Trainer's wall time over the epochs it ran, evaluation and checkpoints included. "
        "The speed-up divides the naive run's time per epoch (`training.speed: naive`) by the approach's, both from "
        "one benchmark run. Peak is the best square matrix multiply measured in the same run and precision.",
        "",
        "| domain | dataset | approach | labels | precision | epochs | s / epoch | speed-up vs naive | GFLOP/s "
        "| peak GFLOP/s | share of peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in timed:
        spread = f" ± {r['seconds_per_epoch_std']}" if "seconds_per_epoch_std" in r else ""
        labels = "n/a" if (share := budget_of(r)) is None else f"{share:.0%}"
        lines.append(f"| {r['domain']} | {r['dataset']} | {r['approach']} | {labels} | {r['precision']} | "
                     f"{r['epochs']} | "
                     f"{r['seconds_per_epoch']}{spread} | {r.get('speedup_vs_naive', '')} | {r['achieved_gflops']} | "
                     f"{r['peak_gflops']} | {r['peak_fraction']:.1%} |")
    lines += ["", f"FLOPs: {timed[0]['flops_counted']}."]
    return lines


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
        spread = r.get("metrics_std", {})
        metrics = ", ".join(f"{k} {_shown(v)}" + (f" ± {_shown(spread[k])}" if k in spread else "")
                            for k, v in r["metrics"].items())
        if "seeds" in r:
            metrics += f" (mean ± sd of {len(r['seeds'])} seeds)"
        setting = "; ".join(f"{f} {r[f] if r[f] is not None else 'all'}" for f in SETTING_FIELDS if f in r)
        lines.append(
            f"| {r['domain']} | {r['dataset']} | {r['approach']}{f' ({setting})' if setting else ''} | {metrics} | {r['train_seconds']} | "
            f"{r['samples_per_second']} | {r['peak_memory_mb']} | {r['measured_at']} |"
        )
    lines += speed_table(results)
    machines = sorted({r["machine"] for r in results})
    lines += ["", "Machines:", *[f"- {m}" for m in machines], ""]
    return "\n".join(lines)
