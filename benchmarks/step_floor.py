"""How a text fine-tune's floor on optimiser steps (`training.min_steps`) does on small label budgets, scored on
validation: each seed's split, each budget's nested labelled subset (as `make bench` draws it), each floor.

    python benchmarks/step_floor.py recipes/review_sentiment/bench_alexa.yaml --budgets 0.1 0.25 \
        --floors none 100 200 --seeds 42 43 44 --output step_floor.json

Prints a row a fine-tune as it ends (best validation score, epochs and steps trained, seconds, the test score for
the record only) and the mean validation score of each floor: the floor is chosen on that, never on test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time

from finetune_cookbook.config import load_config
from finetune_cookbook.core.label_curve import labelled_subset
from finetune_cookbook.tasks import get_task


def floor(text: str) -> int | None:
    """A floor from the command line: `none` for no floor, else at least one step."""
    if text.lower() in {"none", "null"}:
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of steps of at least 1, or none")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.1, 0.25])
    parser.add_argument("--floors", type=floor, nargs="+", default=[None, 100, 200])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--output", default="step_floor.json")
    args = parser.parse_args()
    args.floors = list(dict.fromkeys(args.floors))
    config = load_config(args.config)
    task = get_task(config.task)
    metric = config.training.metric_for_best_model
    rows = []
    for seed in args.seeds:
        seeded = dataclasses.replace(config, data=dataclasses.replace(config.data, seed=seed),
                                     training=dataclasses.replace(config.training, seed=seed))
        data = task.load_data(seeded)
        for budget in args.budgets:
            labelled = labelled_subset(data, budget, seed)
            for min_steps in args.floors:
                training = dataclasses.replace(seeded.training, min_steps=min_steps)
                started = time.perf_counter()
                with tempfile.TemporaryDirectory(prefix="step-floor-") as scratch:
                    run = task.fine_tune(labelled, seeded, scratch, training=training)
                rows.append({"seed": seed, "budget": budget, "min_steps": min_steps,
                             "train_rows": len(labelled.splits["train"]),
                             f"validation_{metric}": run.trainer.state.best_metric,
                             "epochs": run.trainer.state.epoch, "steps": run.trainer.state.global_step,
                             "seconds": round(time.perf_counter() - started, 1),
                             f"test_{metric}": run.result.metrics[metric]})
                print(json.dumps(rows[-1]), flush=True)
                with open(args.output, "w") as out:
                    json.dump(rows, out, indent=1)
    for min_steps in args.floors:
        runs = [row for row in rows if row["min_steps"] == min_steps]
        by_budget = []
        for budget in args.budgets:
            scores = [row[f"validation_{metric}"] for row in runs if row["budget"] == budget]
            spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
            by_budget.append(f"{budget:.0%} {statistics.mean(scores):.3f} ± {spread:.3f}")
        overall = statistics.mean(row[f"validation_{metric}"] for row in runs)
        print(f"min_steps {min_steps}: validation {metric} {', '.join(by_budget)}; all budgets {overall:.3f}")


if __name__ == "__main__":
    main()
