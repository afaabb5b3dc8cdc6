"""Whether `pretrain.fine_tune_shares` (WiSE-FT) should be on for a fraud dataset, judged on validation only. How the
fraud README's and the bench configs' share decisions were measured:

    python benchmarks/fraud_shares.py recipes/fraud_anomaly_detection/bench_insurance.yaml outputs/shares \
        --budgets 0.01,0.05 --seeds 0,1,2,3,4

The fine-tuned network trains as `make bench` trains it (every start and rate of the config) at each label budget
and labelled subset, and every candidate's validation and test scores are kept at every share. Validation is then
split in stratified halves (`--halvings` times, both ways): the candidate and share are chosen on one half as the
recipe chooses them (`validation_rank`) and scored (average precision) on the other, once among every share and once
among the weights as trained (share 1.0) only. The rule: adopt the shares if the mean over the budgets of that
held-out score is higher with them. Choosing and scoring on the same validation rows would favour more choices.
The test scores are printed for diagnosing a decision afterwards, never for making one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

from finetune_cookbook.config import load_config
from finetune_cookbook.tabular.data import label_subset
from finetune_cookbook.tabular.pretraining import load_pretrained, move_weights, positive_scores, pretrain, weights_of
from finetune_cookbook.tasks import anomaly_detection as fraud

SHARES = "0.25,0.5,0.75,1.0"


def recorded_network(data, config, encoded, pretrained, labelled, seed: int) -> list[dict]:
    """`fraud.network` (fine-tuned) as `make bench` runs it, returning each candidate's scores at every share."""
    candidates = [(start, rate) for start in config.fraud.starts for rate in config.fraud.learning_rates]
    recorded = []
    keep_best_share = fraud.keep_best_share

    def recording(model, start, shares, rank):
        fine = weights_of(model)
        at_share = {}
        for share in shares:
            move_weights(model, start, fine, share)
            at_share[share] = {split: positive_scores(model, encoded.split_rows(split, model.has_prior)).tolist()
                               for split in ("validation", "test")}
        move_weights(model, start, fine, 1.0)
        begun, rate = candidates[len(recorded)]
        recorded.append({"start": begun, "rate": rate, "shares": at_share})
        return keep_best_share(model, start, shares, rank)

    fraud.keep_best_share = recording
    try:
        with tempfile.TemporaryDirectory(prefix="cookbook-shares-") as folder:
            fraud.network(data, config, encoded, pretrained, labelled, Path(folder), from_pretrained=True, seed=seed,
                          checkpoints=False)
    finally:
        fraud.keep_best_share = keep_best_share
    return recorded


def held_out_choice(validation: np.ndarray, pool: list[np.ndarray], halvings: int) -> float:
    """Mean average precision on one validation half of the candidate `validation_rank` picks on the other half
    (the first on a tie, as `network` keeps it), over `halvings` stratified halvings both ways."""
    found = []
    for halving in range(halvings):
        for one, other in StratifiedKFold(2, shuffle=True, random_state=halving).split(validation, validation):
            for choose, score in ((one, other), (other, one)):
                best = max(range(len(pool)), key=lambda i: (fraud.validation_rank(validation[choose], pool[i][choose]), -i))
                found.append(average_precision_score(validation[score], pool[best][score]))
    return float(np.mean(found))


def summarise(runs: list[dict], validation: np.ndarray, test: np.ndarray, halvings: int) -> dict:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--shares", default=SHARES, help=f"comma-separated, ending at 1.0; default {SHARES}")
    parser.add_argument("--budgets", help="comma-separated; default: the config's fraud.label_budgets")
    parser.add_argument("--seeds", help="comma-separated; default: the config's fraud.budget_seeds")
    parser.add_argument("--halvings", type=int, default=10)
    args = parser.parse_args()
    config = load_config(args.config)
    numbers = lambda text, kind, default: [kind(x) for x in text.split(",")] if text else list(default)  # noqa: E731
    shares = numbers(args.shares, float, [])
    if not shares or shares[-1] != 1.0:
        parser.error("--shares must end at 1.0, the weights as trained, which the comparison needs")
    config = dataclasses.replace(config, pretrain=dataclasses.replace(config.pretrain, fine_tune_shares=shares))
    budgets = numbers(args.budgets, float, config.fraud.label_budgets)
    seeds = numbers(args.seeds, int, config.fraud.budget_seeds)

    data = fraud.load_data(config)
    checkpoint = args.output_dir / "pretrained"
    pretrained = (load_pretrained(config, data, args.output_dir) if any(checkpoint.glob("*"))
                  else pretrain(data, config, args.output_dir))
    every_kind = fraud.Encoded(data, pretrained, config.pretrain.anomaly_scores)
    runs = []
    for budget in budgets:
        for seed in seeds:
            labelled = label_subset(data.targets("train"), budget, seed, data.report.source)
            encoded, _ = every_kind.choose_kind(data, labelled)
            runs.append({"budget": budget, "seed": seed, "kind": encoded.kind,
                         "candidates": recorded_network(data, config, encoded, pretrained, labelled, seed)})
            print(json.dumps({"budget": budget, "seed": seed, "candidates": len(runs[-1]["candidates"])}), flush=True)
    validation, test = data.targets("validation"), data.targets("test")
    summary = summarise(runs, validation, test, args.halvings)
    (args.output_dir / "shares.json").write_text(json.dumps(
        {"config": args.config, "shares": shares, "summary": summary, "validation_targets": validation.tolist(),
         "test_targets": test.tolist(), "runs": runs}))


if __name__ == "__main__":
    main()
