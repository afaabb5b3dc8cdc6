"""Every candidate a fraud network chooses among, trained on its own: each start and learning rate, at each label
budget and labelled subset, with its validation ranking (what the recipe chooses on) and its test ranking (to
diagnose a choice, never to make one). How the fraud README's column-masking and tie-breaking findings were measured:

    python benchmarks/fraud_candidates.py recipes/fraud_anomaly_detection/bench_card_sample.yaml outputs/candidates \
        --variants scratch,head,prior,head_masked,prior_masked

A variant is `scratch` (the network from a random start) or a start of the pre-trained network (`head`, `prior`),
with `_masked` for column masking while fine-tuning (30% of each row's columns). One JSON line per candidate is
printed; `candidates.json` in the output folder keeps them with every row's scores, and a summary closes the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from finetune_cookbook.config import load_config
from finetune_cookbook.tabular.data import label_subset
from finetune_cookbook.tabular.pretraining import load_pretrained, pretrain
from finetune_cookbook.tasks import anomaly_detection as fraud

MASKED_RATE = 0.3
VARIANTS = ("scratch", "head", "prior", "head_masked", "prior_masked")


def candidate_config(config, variant: str, rate: float):
    start = variant.removesuffix("_masked")
    masking = MASKED_RATE if variant.endswith("_masked") else 0.0
    return dataclasses.replace(
        config, pretrain=dataclasses.replace(config.pretrain, fine_tune_mask_rate=masking),
        fraud=dataclasses.replace(config.fraud, learning_rates=[rate], starts=["head" if start == "scratch" else start]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--variants", default="scratch,head,prior,head_masked,prior_masked")
    parser.add_argument("--budgets", help="comma-separated; default: the config's fraud.label_budgets")
    parser.add_argument("--seeds", help="comma-separated; default: the config's fraud.budget_seeds")
    parser.add_argument("--rates", help="comma-separated; default: the config's fraud.learning_rates")
    args = parser.parse_args()
    config = load_config(args.config)
    numbers = lambda text, kind, default: [kind(x) for x in text.split(",")] if text else list(default)  # noqa: E731
    budgets = numbers(args.budgets, float, config.fraud.label_budgets)
    seeds = numbers(args.seeds, int, config.fraud.budget_seeds)
    rates = numbers(args.rates, float, config.fraud.learning_rates)
    variants = args.variants.split(",")
    unknown = [variant for variant in variants if variant not in VARIANTS]
    if unknown:
        parser.error(f"--variants: {', '.join(unknown)} unknown; choose among {', '.join(VARIANTS)}")

    data = fraud.load_data(config)
    checkpoint = args.output_dir / "pretrained"
    pretrained = (load_pretrained(config, data, args.output_dir) if any(checkpoint.glob("*"))
                  else pretrain(data, config, args.output_dir))
    every_kind = fraud.Encoded(data, pretrained, config.pretrain.anomaly_scores)
    validation, test = data.targets("validation"), data.targets("test")
    runs = []
    for budget in budgets:
        for seed in seeds:
            labelled = label_subset(data.targets("train"), budget, seed, data.report.source)
            encoded, _ = every_kind.choose_kind(data, labelled)
            for variant in variants:
                for rate in rates:
                    result = fraud.network(
                        data, candidate_config(config, variant, rate), encoded, pretrained, labelled,
                        args.output_dir / "networks" / f"{variant}_{rate:g}_{budget:g}_{seed}",
                        from_pretrained=variant != "scratch", seed=seed, checkpoints=False).result
                    found = fraud.validation_rank(validation, result.validation_probabilities)
                    run = {"budget": budget, "seed": seed, "variant": variant, "rate": rate, "kind": encoded.kind,
                           "validation_ap": found[0], "validation_roc_auc": found[1], "validation_log_loss": -found[2],
                           "test_ap": result.metrics["average_precision"], "test_roc_auc": result.metrics["roc_auc"]}
                    print(json.dumps(run), flush=True)
                    runs.append({**run, "validation_scores": result.validation_probabilities.tolist(),
                                 "test_scores": result.probabilities.tolist()})
    (args.output_dir / "candidates.json").write_text(json.dumps(
        {"config": args.config, "validation_targets": validation.tolist(), "test_targets": test.tolist(), "runs": runs}))
    summarise(runs)


def summarise(runs: list[dict]) -> None:
    """Per budget and variant: the mean validation and test AP over every rate and subset, then per rate."""
    groups = defaultdict(list)
    for run in runs:
        groups[(run["budget"], run["variant"])].append(run)
    print("budget  variant        validation AP (every candidate)  test AP   per rate: validation / test")
    for (budget, variant), group in sorted(groups.items()):
        by_rate = defaultdict(list)
        for run in group:
            by_rate[run["rate"]].append(run)
        per_rate = "  ".join(f"{rate:g}: {np.mean([r['validation_ap'] for r in rs]):.3f} / "
                             f"{np.mean([r['test_ap'] for r in rs]):.3f}" for rate, rs in sorted(by_rate.items()))
        print(f"{budget:<7g} {variant:<14} {np.mean([r['validation_ap'] for r in group]):<32.3f} "
              f"{np.mean([r['test_ap'] for r in group]):<9.3f} {per_rate}")


if __name__ == "__main__":
    main()
