"""Whether `pretrain.fine_tune_shares` (WiSE-FT) should be on for a tabular dataset, judged on validation only. How
the fraud and marketing recipes' share decisions were measured:

    python benchmarks/fine_tune_shares.py recipes/fraud_anomaly_detection/bench_insurance.yaml \
        outputs/shares_insurance --budgets 0.01,0.05
    python benchmarks/fine_tune_shares.py recipes/marketing_segmentation/bench_marketing.yaml \
        outputs/shares_marketing --budgets 0.1,0.25

A fraud run keeps its pre-training in the output folder and reuses it when run again there, so give each dataset a
folder of its own.

The fine-tuned network trains as `make bench` trains it at each label budget and labelled subset (fraud: every start
and rate of the config; marketing: each seed of `bench_seeds`, a new split and pre-training), and is scored at every
share of what fine-tuning changed. The rule: adopt the shares if the mean over the budgets of the validation score of
the share each run keeps is higher than that of the weights as trained (share 1.0).

- Fraud keeps the candidate and share that rank the validation rows best (`validation_rank`), so choosing and scoring
  on the same rows would favour more choices: validation is split in stratified halves (`--halvings` times, both
  ways), the choice made on one half and its average precision read on the other.
- Marketing keeps the share whose response model ranks the validation customers best, and the rule reads what the
  target reads instead: the validation lift of the segments' best segment, mean over k.

The test scores (fraud) and held-out lift (marketing) are printed for diagnosing a decision afterwards, never for
making one. `shares.json` in the output folder keeps every run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

from finetune_cookbook.config import load_config
from finetune_cookbook.core.label_curve import FULL
from finetune_cookbook.tabular.data import label_subset
from finetune_cookbook.tabular.pretraining import load_pretrained, positive_scores, pretrain
from finetune_cookbook.tasks import anomaly_detection as fraud
from finetune_cookbook.tasks import segmentation as seg

SHARES = "0.25,0.5,0.75,1.0"


@contextmanager
def scoring_every_share(task, score):
    """While inside, the task's `keep_best_share` chooses as the recipe does, and each time it ranks the model at a
    share, `score(model, rank)` is collected too (one dict of share to score per fine-tuned run)."""
    keep_best_share, found = task.keep_best_share, []

    def scoring(model, start, shares, rank):
        scored = []

        def ranking():  # called once per share, in `shares`' order, with the model moved to it
            scored.append(score(model, rank))
            return rank()

        kept = keep_best_share(model, start, shares, ranking)
        found.append(dict(zip(shares, scored)))
        return kept

    task.keep_best_share = scoring
    try:
        yield found
    finally:
        task.keep_best_share = keep_best_share


# ---------------------------------------------------------------------------------------------------- fraud


def recorded_network(data, config, encoded, pretrained, labelled, seed: int) -> list[dict]:
    """`fraud.network` (fine-tuned) as `make bench` runs it, returning each candidate's scores at every share."""
    candidates = [(start, rate) for start in config.fraud.starts for rate in config.fraud.learning_rates]
    score = lambda model, rank: {split: positive_scores(model, encoded.split_rows(split, model.has_prior)).tolist()  # noqa: E731
                                 for split in ("validation", "test")}
    with scoring_every_share(fraud, score) as found, tempfile.TemporaryDirectory(prefix="cookbook-shares-") as folder:
        fraud.network(data, config, encoded, pretrained, labelled, Path(folder), from_pretrained=True, seed=seed,
                      checkpoints=False)
    return [{"start": start, "rate": rate, "shares": at_share} for (start, rate), at_share in zip(candidates, found)]


def held_out_choice(validation: np.ndarray, pool: list[np.ndarray], halvings: int) -> float:
    """Mean average precision on one validation half of the candidate `validation_rank` picks on the other half
    (the first on a tie, as `network` keeps it), over `halvings` stratified halvings, each both ways (a two-fold
    split's folds: choose on one half, score on the other, then the reverse)."""
    found = []
    for halving in range(halvings):
        for score, choose in StratifiedKFold(2, shuffle=True, random_state=halving).split(validation, validation):
            ranks = [fraud.validation_rank(validation[choose], scores[choose]) for scores in pool]
            best = max(range(len(pool)), key=lambda i: (ranks[i], -i))
            found.append(average_precision_score(validation[score], pool[best][score]))
    return float(np.mean(found))


def summarise_fraud(runs: list[dict], validation: np.ndarray, test: np.ndarray, halvings: int) -> dict:
    """Per budget: the held-out validation score with and without the shares, the share kept on all of validation
    per subset, and (for diagnosis) the test average precision of what all of validation keeps."""
    table = defaultdict(lambda: defaultdict(list))
    for run in runs:
        every = [(float(share), np.asarray(scores["validation"]), np.asarray(scores["test"]))
                 for candidate in run["candidates"] for share, scores in candidate["shares"].items()]
        for mode, pool in (("with_shares", every), ("as_trained", [c for c in every if c[0] == 1.0])):
            row = table[run["budget"]]
            row[mode].append(held_out_choice(validation, [c[1] for c in pool], halvings))
            kept = max(range(len(pool)), key=lambda i: (fraud.validation_rank(validation, pool[i][1]), -i))
            row[f"{mode}_test"].append(average_precision_score(test, pool[kept][2]))
            if mode == "with_shares":
                row["kept_share"].append(pool[kept][0])
    summary = {str(budget): {name: [float(x) for x in values] for name, values in row.items()}
               for budget, row in sorted(table.items())}
    for mode in ("with_shares", "as_trained"):
        summary[f"{mode}_mean_of_budgets"] = float(np.mean([np.mean(row[mode]) for row in table.values()]))
    summary["adopt"] = summary["with_shares_mean_of_budgets"] > summary["as_trained_mean_of_budgets"]
    print("budget  held-out validation AP: with shares / as trained   shares kept   (test, diagnosis only)")
    for budget, row in sorted(table.items()):
        print(f"{budget:<7g} {np.mean(row['with_shares']):.4f} / {np.mean(row['as_trained']):.4f}"
              f"{'':22}{row['kept_share']}   ({np.mean(row['with_shares_test']):.4f} / "
              f"{np.mean(row['as_trained_test']):.4f})")
    print(f"mean of the budgets: {summary['with_shares_mean_of_budgets']:.4f} with the shares, "
          f"{summary['as_trained_mean_of_budgets']:.4f} as trained: {'adopt' if summary['adopt'] else 'do not adopt'}")
    return summary


def fraud_runs(config, output_dir: Path, budgets: list[float] | None, seeds: list[int] | None) -> tuple[list, dict]:
    data = fraud.load_data(config)
    checkpoint = output_dir / "pretrained"
    pretrained = (load_pretrained(config, data, output_dir) if any(checkpoint.glob("*"))
                  else pretrain(data, config, output_dir))
    every_kind = fraud.Encoded(data, pretrained, config.pretrain.anomaly_scores)
    runs = []
    for budget in budgets or config.fraud.label_budgets:
        for seed in seeds or config.fraud.budget_seeds:
            labelled = label_subset(data.targets("train"), budget, seed, data.report.source)
            encoded, _ = every_kind.choose_kind(data, labelled)
            runs.append({"budget": budget, "seed": seed, "kind": encoded.kind,
                         "candidates": recorded_network(data, config, encoded, pretrained, labelled, seed)})
            print(json.dumps({"budget": budget, "seed": seed, "candidates": len(runs[-1]["candidates"])}), flush=True)
    return runs, {f"{split}_targets": data.targets(split).tolist() for split in ("validation", "test")}


# ---------------------------------------------------------------------------------------------------- marketing


def lifts(runs) -> dict:
    return {split: {run.k: run.metrics[key] for run in runs} for split, key in (("validation", "validation_lift"),
                                                                                 ("test", "lift"))}


def budget_run(data, known, config, pretrained, seed: int, folder: Path) -> dict:
    """Both networks on the known responses; the fine-tuned one segmented at every share, with its ranking."""
    origin = data.report.source

    def score(model, rank):
        space = seg.response_space(model, pretrained.encoder, origin)
        return {"rank": list(rank()), **lifts(seg.over_k("fine_tuned", space, data, config, seed))}

    with scoring_every_share(seg, score) as found:
        tuned = seg.response_model(known, config, pretrained, folder / "fine_tuned", from_pretrained=True, seed=seed,
                                   checkpoints=False)
    [at_share] = found
    scratch = seg.response_model(known, config, pretrained, folder / "scratch", from_pretrained=False, seed=seed,
                                 checkpoints=False)
    space = seg.response_space(scratch.model, pretrained.encoder, origin)
    return {"kept_share": tuned.share, "shares": at_share,
            "scratch": lifts(seg.over_k("scratch", space, data, config, seed))}


def summarise_segments(runs: list[dict]) -> dict:
    """Per budget: the validation lift (mean over k, then over seeds) of the kept share, of the weights as trained
    and of the network from scratch; the held-out lift beside it, for diagnosis only."""
    mean_lift = lambda found, split: float(np.mean(list(found[split].values())))  # noqa: E731
    table = defaultdict(lambda: defaultdict(list))
    for run in runs:
        row = table[run["budget"]]
        for name, found in (("kept", run["shares"][run["kept_share"]]), ("as_trained", run["shares"][1.0]),
                            ("scratch", run["scratch"])):
            for split in ("validation", "test"):
                row[f"{name}_{split}"].append(mean_lift(found, split))
        row["kept_share"].append(run["kept_share"])
    summary = {str(budget): {name: [float(x) for x in values] for name, values in row.items()}
               for budget, row in sorted(table.items())}
    for name in ("kept", "as_trained"):
        summary[f"{name}_mean_of_budgets"] = float(np.mean([np.mean(row[f"{name}_validation"])
                                                            for row in table.values()]))
    summary["adopt"] = summary["kept_mean_of_budgets"] > summary["as_trained_mean_of_budgets"]
    print("budget  validation lift: kept share / as trained / scratch   shares kept   (held-out, diagnosis only)")
    for budget, row in sorted(table.items()):
        means = {name: np.mean(values) for name, values in row.items() if name != "kept_share"}
        print(f"{budget:<7g} {means['kept_validation']:.3f} / {means['as_trained_validation']:.3f} / "
              f"{means['scratch_validation']:.3f}{'':14}{row['kept_share']}   ({means['kept_test']:.3f} / "
              f"{means['as_trained_test']:.3f} / {means['scratch_test']:.3f})")
    print(f"mean of the budgets: {summary['kept_mean_of_budgets']:.3f} with the shares, "
          f"{summary['as_trained_mean_of_budgets']:.3f} as trained: {'adopt' if summary['adopt'] else 'do not adopt'}")
    return summary


def segment_runs(config, budgets: list[float] | None, seeds: list[int] | None) -> list[dict]:
    runs = []
    for seed in seeds or config.bench_seeds:
        seeded = dataclasses.replace(config, data=dataclasses.replace(config.data, seed=seed),
                                     training=dataclasses.replace(config.training, seed=seed))
        data = seg.load_data(seeded)
        with tempfile.TemporaryDirectory(prefix="cookbook-marketing-shares-") as folder:
            pretrained = pretrain(data, seeded, folder=Path(folder) / "pretrained")
            for budget in budgets or config.segmentation.label_budgets:
                known = data if budget == FULL else seg.with_known_responses(data, budget, seed)
                run = budget_run(data, known, seeded, pretrained, seed, Path(folder) / f"{budget:g}")
                runs.append({"seed": seed, "budget": budget, **run})
                print(json.dumps({"seed": seed, "budget": budget, "kept_share": run["kept_share"]}), flush=True)
    return runs


# ---------------------------------------------------------------------------------------------------- both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="a fraud_anomaly_detection or marketing_segmentation config")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--shares", default=SHARES, help=f"comma-separated, ending at 1.0; default {SHARES}")
    parser.add_argument("--budgets", help="comma-separated; default: the config's label budgets")
    parser.add_argument("--seeds", help="comma-separated; default: the config's fraud.budget_seeds or bench_seeds")
    parser.add_argument("--halvings", type=int, default=10, help="fraud: stratified halvings of validation")
    args = parser.parse_args()
    config = load_config(args.config)
    numbers = lambda text, kind: [kind(x) for x in text.split(",")] if text else None  # noqa: E731
    shares = numbers(args.shares, float)
    if not shares or len(shares) < 2 or shares[-1] != 1.0 or not all(0 <= share <= 1 for share in shares):
        parser.error("--shares: two or more shares in [0, 1], ending at 1.0 (the weights as trained, which the "
                     "comparison needs), such as 0.25,0.5,0.75,1.0")
    if config.task not in ("anomaly_detection", "segmentation"):
        parser.error(f"{args.config}: the {config.task} task has no fine_tune_shares; give a fraud or marketing config")
    config = dataclasses.replace(config, pretrain=dataclasses.replace(config.pretrain, fine_tune_shares=shares))
    budgets, seeds = numbers(args.budgets, float), numbers(args.seeds, int)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    if config.task == "anomaly_detection":
        runs, targets = fraud_runs(config, args.output_dir, budgets, seeds)
        summary = summarise_fraud(runs, np.asarray(targets["validation_targets"]), np.asarray(targets["test_targets"]),
                                  args.halvings)
    else:
        runs, targets = segment_runs(config, budgets, seeds), {}
        summary = summarise_segments(runs)
    (args.output_dir / "shares.json").write_text(json.dumps(
        {"config": args.config, "shares": shares, "summary": summary, **targets, "runs": runs}, default=float))


if __name__ == "__main__":
    main()
