"""Fraud anomaly detection: a tabular model pre-trained on unlabelled rows, fine-tuned on a budget of fraud labels.

Six approaches on one test split, at each label budget:
- `isolation_forest`: scikit-learn's unsupervised detector, on every training row without labels;
- `pretrained`: the pre-trained model's own anomaly score (`pretrain.anomaly_score`: a value that breaks how the
  columns go together, or one extreme on its own, each against the training rows; no labels);
- `scratch`: the same network, randomly initialised, trained on the labelled rows only;
- `gbt`: gradient-boosted trees on the labelled rows;
- `fine_tuned`: the pre-trained model fine-tuned on the labelled rows;
- `gbt_with_pretrained_features`: the trees with the pre-trained row embedding and anomaly score as features.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.metrics import log_loss
from sklearn.utils.class_weight import compute_sample_weight

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig, TrainingConfig
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.measure import Measurement, measure
from finetune_cookbook.core.metrics import ranking_metrics
from finetune_cookbook.core.saving import model_folder
from finetune_cookbook.core.shift import sample_rows
from finetune_cookbook.core.training import CHECKPOINTS, FineTuneResult
from finetune_cookbook.core.tuning import SearchResult, search
from finetune_cookbook.tabular.columns import (
    EncodedRows,
    TabularEncoder,
    check_input_columns,
    flag_out_of_range,
    source_rows,
)
from finetune_cookbook.tabular.config import pretraining_objective
from finetune_cookbook.tabular.data import TabularData, label_subset, load_tabular_data
from finetune_cookbook.tabular.deviation import deviation_rows
from finetune_cookbook.tabular.model import PriorScored, row_embeddings, standard_prior
from finetune_cookbook.tabular.pretraining import (
    Pretrained,
    classifier_trainer,
    fit_classifier,
    labelled_training,
    load_classifier,
    load_pretrained,
    positive_scores,
    pretrained_model_name,
    read_new_rows,
    save_classifier,
    start_classifier,
    validation_metrics,
    keep_best_share,
    weights_of,
)
from finetune_cookbook.tabular.pretraining import pretrain as pretrain_model
from finetune_cookbook.tasks.anomaly_detection import kept
from finetune_cookbook.tasks.anomaly_detection.card import tabular_model_card
from finetune_cookbook.tasks.anomaly_detection.rare_events import alert_budget_metrics, cost_threshold, decision_metrics

HEADLINE_METRICS = ("average_precision", "roc_auc", "precision_at_alert_budget", "recall_at_alert_budget")
# what `make bench` records of each network's run
CHOSEN_ON_VALIDATION = ("learning_rate", "prior_start", "fine_tune_share")
LABELS = ("genuine", "fraud")
SPLITS = ("train", "validation", "test")
TREE_CATEGORIES = 255  # HistGradientBoosting's most categories a feature can have
DESCRIPTIONS = {
    "isolation_forest": "Isolation Forest on every training row (no labels)",
    "pretrained": "pre-trained model's own anomaly score: its columns' rebuilding loss, against the usual (no labels)",
    "scratch": "same network, random start, trained on the labelled rows",
    "gbt": "gradient-boosted trees on the labelled rows",
    "fine_tuned": "pre-trained model fine-tuned on the labelled rows",
    "gbt_with_pretrained_features": "trees on the labelled rows + pre-trained embedding and anomaly score",
}


def model_name(config: RecipeConfig) -> str:
    """What `metrics.json` names as the model: the project's own pre-trained checkpoint."""
    return pretrained_model_name(config)


def load_data(config: RecipeConfig) -> TabularData:
    """The config's claims or transactions: fraud labelled 1, identifiers dropped, split, columns typed."""
    data = load_tabular_data(config, LABELS)
    if config.fraud.alert_share is None:
        data.report.notes.append(
            f"Alert budget: the top {alert_share(config, data):.1%} of cases, {config.fraud.alerts_per_fraud:g} reviews "
            f"per expected fraud at the training split's fraud rate ({data.targets('train').mean():.2%}); set "
            "fraud.alert_share to the share your investigators can review.")
    return data


def alert_share(config: RecipeConfig, data: TabularData) -> float:
    """The share of cases investigators review: `fraud.alert_share`, or relative to the training fraud rate."""
    return config.fraud.alert_share_at(float(data.targets("train").mean()))


def pretrain(data: TabularData, config: RecipeConfig, output_dir=None, *, resume: bool = False, callbacks=None) -> Pretrained:
    """`cookbook pretrain`: the pre-training model on every training row, without labels. A label budget that
    `train` could not draw a fraud from is refused first, before minutes of pre-training."""
    label_subset(data.targets("train"), config.fraud.label_budget, config.training.seed, data.report.source)
    return pretrain_model(data, config, output_dir, resume=resume, callbacks=callbacks)


# ---------------------------------------------------------------------------------------------------- scoring


def score_approach(approach: str, data: TabularData, config: RecipeConfig, test_scores, validation_scores,
                   cost: Measurement, samples_seen: int, setting: dict | None = None, seed: int | None = None) -> ApproachResult:
    """An approach's test metrics: the ranking, the alert budget, and the cost threshold chosen on validation."""
    fraud = config.fraud
    test, validation = data.targets("test"), data.targets("validation")
    threshold = cost_threshold(validation, validation_scores, fraud.cost_missed_fraud, fraud.cost_false_alarm)
    metrics = {
        **ranking_metrics(test, test_scores),
        **alert_budget_metrics(test, test_scores, alert_share(config, data)),
        **decision_metrics(test, test_scores, threshold, fraud.cost_missed_fraud, fraud.cost_false_alarm),
        "threshold": threshold,
    }
    return ApproachResult(
        approach=approach, description=DESCRIPTIONS[approach], metrics=metrics,
        probabilities=np.asarray(test_scores, dtype=np.float64), train_seconds=cost.seconds,
        samples_per_second=samples_seen / cost.seconds if cost.seconds else 0.0, peak_memory_mb=cost.peak_memory_mb,
        validation_probabilities=np.asarray(validation_scores, dtype=np.float64),
        setting=dict(setting or {}), seed=seed,
    )


class Encoded:
    """Every split encoded once with the checkpoint's column encoder, plus what the pre-trained model makes of
    each row (its embedding and anomaly score), for the approaches that use them."""

    def __init__(self, data: TabularData, pretrained: Pretrained, kinds: list[str] | None = None):
        """`kinds`: the kinds of pre-trained score to compute (`pretrain.anomaly_score`; default: the model's own),
        among which `choose_kind` picks; the first is in use until then."""
        origin = data.report.source
        model = pretrained.model
        self.cardinalities = pretrained.encoder.cardinalities
        self.rows = {s: pretrained.encoder.encode(data.splits[s], origin) for s in SPLITS}
        self.kinds = list(dict.fromkeys(model.score_kind(kind) for kind in kinds or [None]))
        with measure("pre-trained features and scores") as self.feature_cost:
            self.embeddings = {s: row_embeddings(model.encoder, r.numeric, r.categorical) for s, r in self.rows.items()}
            self.by_kind = {s: (model.scores_by_kind(r.numeric, r.categorical, self.kinds)
                                if model.config.surprise_mean is not None  # else a checkpoint's one, older score
                                else dict.fromkeys(self.kinds, model.anomaly_scores(r.numeric, r.categorical)))
                            for s, r in self.rows.items()}
        self._use(self.kinds[0])

    def _use(self, kind: str) -> None:
        self.kind = kind
        self.anomaly = {s: scores[kind] for s, scores in self.by_kind.items()}
        train = self.anomaly["train"]
        self.prior_scale = [float(train.mean()), float(train.std() + 1e-6)]  # the prior start's standard units

    def choose_kind(self, data: TabularData, labelled: np.ndarray) -> tuple[Encoded, str | None]:
        """These rows with the kind of pre-trained score that ranks the labelled rows a run has best (validation's
        and the labelled training rows'; the score learnt from no label, so neither is one it was fitted to; the
        first kind on a tie), and a note saying so (None: one kind, nothing chosen)."""
        if len(self.kinds) == 1:
            return self, None
        targets = np.concatenate([data.targets("validation"), data.targets("train")[labelled]])
        found = {kind: ranking_metrics(targets, np.concatenate([self.by_kind["validation"][kind],
                                                                self.by_kind["train"][kind][labelled]]))
                 ["average_precision"] for kind in self.kinds}
        chosen = copy.copy(self)
        chosen._use(max(self.kinds, key=found.get))
        scored = ", ".join(f"{kind} {ap:.3f}" for kind, ap in found.items())
        return chosen, (f"Pre-trained score: {chosen.kind}, the kind that ranks the {int(targets.sum())} labelled "
                        f"fraud(s) among {len(targets)} labelled rows (validation and the label budget's) best; "
                        f"average precision {scored}.")

    def split_rows(self, split: str, prior: bool = False) -> EncodedRows:
        """A split's encoded rows; with `prior`, each carrying its pre-trained anomaly score in standard units of
        the training rows' (what a network of the prior start adds to its fraud logit)."""
        rows = self.rows[split]
        return dataclasses.replace(rows, prior=standard_prior(self.anomaly[split], self.prior_scale)) if prior else rows

    def with_features(self, split: str) -> np.ndarray:
        return np.hstack([self.rows[split].flat(), self.embeddings[split], self.anomaly[split][:, None]])

    def categorical_positions(self) -> np.ndarray:
        """Where the category codes sit in `flat()` rows, for the trees; a column with more codes than the trees
        can split on as categories (255) is left to them as an ordered number."""
        n_numeric = self.rows["train"].numeric.shape[1]
        return np.array([n_numeric + i for i, codes in enumerate(self.cardinalities) if codes <= TREE_CATEGORIES],
                        dtype=int)


def isolation_forest(data: TabularData, config: RecipeConfig, encoded: Encoded, seed: int) -> ApproachResult:
    with measure("isolation_forest") as cost:
        forest = IsolationForest(n_estimators=200, random_state=seed, n_jobs=1).fit(encoded.rows["train"].flat())
    score = lambda split: -forest.score_samples(encoded.rows[split].flat())  # noqa: E731  (higher: stranger)
    return score_approach("isolation_forest", data, config, score("test"), score("validation"), cost,
                          len(encoded.rows["train"]), seed=seed)


def pretrained_score(data: TabularData, config: RecipeConfig, encoded: Encoded, pretrained: Pretrained) -> ApproachResult:
    cost = Measurement(pretrained.seconds, encoded.feature_cost.peak_memory_mb)
    result = score_approach("pretrained", data, config, encoded.anomaly["test"], encoded.anomaly["validation"], cost,
                            len(encoded.rows["train"]))
    if len(encoded.kinds) > 1:  # which kind the labels chose; its mean over subsets: how often
        result.metrics.update({f"kind_{kind}": float(kind == encoded.kind) for kind in encoded.kinds})
    return result


def trees(data: TabularData, config: RecipeConfig, encoded: Encoded, labelled: np.ndarray, seed: int,
          with_pretrained: bool) -> ApproachResult:
    """Gradient-boosted trees (class-balanced) on the labelled rows; optionally with the pre-trained features."""
    return fit_trees(data, config, encoded, labelled, seed, with_pretrained)[0]


def fit_trees(data: TabularData, config: RecipeConfig, encoded: Encoded, labelled: np.ndarray, seed: int,
              with_pretrained: bool) -> tuple[ApproachResult, HistGradientBoostingClassifier]:
    """`trees`, and the fitted trees (which `fine_tune` may keep)."""
    features = encoded.with_features if with_pretrained else (lambda split: encoded.rows[split].flat())
    model = HistGradientBoostingClassifier(categorical_features=encoded.categorical_positions(),
                                           class_weight="balanced", random_state=seed)
    name = kept.TREES if with_pretrained else "gbt"
    with measure(f"{name} ({len(labelled)} labelled rows)") as cost:
        model.fit(features("train")[labelled], data.targets("train")[labelled])
    score = lambda split: model.predict_proba(features(split))[:, 1]  # noqa: E731
    return score_approach(name, data, config, score("test"), score("validation"), cost, len(labelled), seed=seed), model


def training_rows(config: RecipeConfig, encoded: Encoded, targets: np.ndarray, labelled: np.ndarray,
                  prior: bool = False) -> tuple[EncodedRows, np.ndarray]:
    """The training rows a network learns from, and their targets: the labelled ones; for `fraud.objective`
    `deviation`, the unlabelled ones too, as genuine, beside the labelled ones repeated (`deviation_rows`).
    `prior`: the rows carry their pre-trained score (`Encoded.split_rows`)."""
    train = encoded.split_rows("train", prior)
    if config.fraud.objective == "deviation":
        rows, seen = deviation_rows(targets, labelled)
        return train.take(rows), seen
    return train.take(labelled), np.asarray(targets)[labelled]


def network(data: TabularData, config: RecipeConfig, encoded: Encoded, pretrained: Pretrained, labelled: np.ndarray,
            output_dir: Path, *, from_pretrained: bool, seed: int, training: TrainingConfig | None = None,
            resume: bool = False, callbacks=None, checkpoints: bool = True) -> FineTuneResult:
    """The pre-trained network fine-tuned on the labelled rows (or the same shape from a random start), from each
    of `fraud.starts` at each of `fraud.learning_rates`, keeping the run that ranks the validation rows best
    (`validation_rank`). Both networks choose among the same rates, so neither is compared at a rate that suits only
    the other; the network from scratch has one start, its random one. Each pre-trained run is also moved back
    toward its start by `pretrain.fine_tune_shares` (`keep_best_share`), which a random start has nothing to offer."""
    # Settings a search chose (`training`) are used as found; the search's trials had no step floor either.
    min_steps = 0 if training is not None else config.fraud.min_steps
    base = labelled_training(config, training, from_pretrained, seed)
    rates = config.fraud.learning_rates if training is None else []
    starts = config.fraud.starts if from_pretrained and training is None else ["head"]
    candidates = [(start, dataclasses.replace(base, learning_rate=rate)) for start in starts for rate in rates]
    candidates = candidates or [(start, base) for start in starts]
    shares = config.pretrain.fine_tune_shares if from_pretrained else [1.0]
    targets, validation = data.targets("train"), data.targets("validation")
    best, spent, seen = None, Measurement(), 0  # the run's cost is every candidate's training, not the kept one's only
    for start, candidate in candidates:
        prior = start == "prior"
        folder = Path(output_dir) / candidate_folder(start, candidate.learning_rate) if len(candidates) > 1 else output_dir
        # An interrupted run resumes the candidates it had reached and starts the others; the first candidate
        # without a checkpoint still says there is nothing to resume.
        started = any((Path(folder) / CHECKPOINTS).glob("checkpoint-*"))
        # The deviation objective trains on the unlabelled rows too; the probe still starts on the labelled ones.
        with_unlabelled = (training_rows(config, encoded, targets, labelled, prior)
                           if config.fraud.objective == "deviation" else None)
        rows, prior_scale = encoded.split_rows("train", prior).take(labelled), encoded.prior_scale if prior else None
        start_model = None if shares == [1.0] else start_classifier(pretrained, config, rows, targets[labelled],
                                                                     candidate.seed, from_pretrained, prior_scale)
        start_weights = None if start_model is None else weights_of(start_model)
        model, trainer, cost = fit_classifier(
            pretrained, config, rows, targets[labelled],
            encoded.split_rows("validation", prior), validation, candidate, folder, from_pretrained=from_pretrained,
            min_steps=min_steps, resume=resume and (started or candidate is candidates[0][1]), callbacks=callbacks,
            checkpoints=checkpoints, objective=config.fraud.objective, with_unlabelled=with_unlabelled,
            steps_of_labelled=training is None, prior_scale=prior_scale, model=start_model,
        )
        spent = Measurement(spent.seconds + cost.seconds, max(spent.peak_memory_mb, cost.peak_memory_mb))
        seen += trainer.steps_this_run * candidate.batch_size
        share = 1.0 if start_weights is None else keep_best_share(
            model, start_weights, shares, lambda: validation_rank(validation, positive_scores(
                model, encoded.split_rows("validation", prior))))
        scores = {s: positive_scores(model, encoded.split_rows(s, prior)) for s in ("validation", "test")}
        found = validation_rank(validation, scores["validation"])
        if best is None or found > best[0]:  # a full tie keeps the earlier: the head start, the lower rate
            best = (found, start, candidate, share, model, trainer, scores)
    found, start, candidate, share, model, trainer, scores = best
    name = "fine_tuned" if from_pretrained else "scratch"
    result = score_approach(name, data, config, scores["test"], scores["validation"], spent, seen, seed=seed)
    result.metrics["learning_rate"] = candidate.learning_rate  # the rate validation chose
    if from_pretrained:
        result.metrics["prior_start"] = float(start == "prior")  # its mean over subsets: how often validation chose it
        result.metrics["fine_tune_share"] = share
    threshold = result.metrics["threshold"]  # infinite when flagging nothing was cheapest on validation
    model.config.decision_threshold = threshold if np.isfinite(threshold) else None  # JSON has no infinity
    return FineTuneResult(result, trainer)


def validation_rank(targets: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """How well a candidate network ranks the validation rows, to compare with `>`: average precision, then
    ROC-AUC, then the class-balanced log-loss (negated). With a few validation frauds many candidates rank them all
    first (both at 1.0), and the tie used to keep the lowest rate however far it was from the others; the loss still
    tells them apart by how clearly they separate those frauds. A split without a fraud ties every candidate."""
    found = ranking_metrics(targets, scores)
    if np.isnan(found["average_precision"]):
        return (-np.inf, -np.inf, -np.inf)
    scores = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
    loss = log_loss(targets, scores, sample_weight=compute_sample_weight("balanced", targets), labels=[0, 1])
    return (found["average_precision"], found["roc_auc"], -float(loss))


def candidate_folder(start: str, learning_rate: float) -> str:
    """Where one candidate of `network` trains (and checkpoints); the head start keeps the folder it always had."""
    return f"{'' if start == 'head' else start + '_'}learning_rate_{learning_rate:g}"


# ---------------------------------------------------------------------------------------------------- protocol


def baselines(data: TabularData, config: RecipeConfig, output_dir=None) -> list[ApproachResult]:
    """Every approach but the fine-tuned one, at the config's label budget (`fraud.label_budget`)."""
    pretrained = load_pretrained(config, data, output_dir)
    encoded = Encoded(data, pretrained, config.pretrain.anomaly_scores)
    return compare_at_budget(data, config, encoded, pretrained, config.fraud.label_budget, config.training.seed,
                             output_dir, include_fine_tuned=False)


def compare_at_budget(data: TabularData, config: RecipeConfig, encoded: Encoded, pretrained: Pretrained,
                      budget: float, seed: int, scratch_dir=None, include_fine_tuned: bool = True) -> list[ApproachResult]:
    """Every approach on the same test split with the labels of one budget's draw (`seed`)."""
    labelled = label_subset(data.targets("train"), budget, seed, data.report.source)
    encoded, _ = encoded.choose_kind(data, labelled)
    setting = {"label_budget": budget}
    with tempfile.TemporaryDirectory(prefix="cookbook-fraud-") as scratch:
        folder = Path(scratch_dir or scratch)
        results = [
            isolation_forest(data, config, encoded, seed),
            pretrained_score(data, config, encoded, pretrained),
            network(data, config, encoded, pretrained, labelled, folder / "scratch", from_pretrained=False, seed=seed,
                    checkpoints=False).result,
            trees(data, config, encoded, labelled, seed, with_pretrained=False),
        ]
        if include_fine_tuned:
            results.append(network(data, config, encoded, pretrained, labelled, folder / "fine_tuned",
                                   from_pretrained=True, seed=seed, checkpoints=False).result)
        results.append(trees(data, config, encoded, labelled, seed, with_pretrained=True))
    for result in results:
        result.setting, result.seed = setting, seed
    return results


def label_budget_curve(data: TabularData, config: RecipeConfig, pretrained: Pretrained, budgets=None, seeds=None,
                       done=None) -> list[ApproachResult]:
    """Every approach at every label budget, once per labelled-subset seed; `done(budget, seed, results)` is
    called after each draw (a notebook shows progress with it)."""
    encoded = Encoded(data, pretrained, config.pretrain.anomaly_scores)
    results = []
    for budget in budgets or config.fraud.label_budgets:
        for seed in seeds or config.fraud.budget_seeds:
            draw = compare_at_budget(data, config, encoded, pretrained, budget, seed)
            results += draw
            if done:
                done(budget, seed, draw)
    return results


def benchmark(data: TabularData, config: RecipeConfig, scratch_dir) -> list[ApproachResult]:
    """`make bench`: pre-train once on the training rows, then the label-budget curve over every seed."""
    pretrained = pretrain_model(data, config, folder=Path(scratch_dir) / "pretrained")
    return label_budget_curve(data, config, pretrained)


def fine_tune(data: TabularData, config: RecipeConfig, output_dir=None, *, training: TrainingConfig | None = None,
              resume: bool = False, callbacks=None, pretrained: Pretrained | None = None) -> FineTuneResult:
    """Fine-tunes the pre-trained checkpoint (`pretrained`, or the one saved for this config in `output_dir`) on
    the labels of `fraud.label_budget`, fits trees on the pre-trained features beside it, and keeps whichever
    ranks the validation rows better (`kept.py`): the result names it, says why, and hands back the other."""
    output_dir = Path(output_dir or config.output_dir)
    pretrained = pretrained or load_pretrained(config, data, output_dir)
    encoded = Encoded(data, pretrained, config.pretrain.anomaly_scores)
    labelled = label_subset(data.targets("train"), config.fraud.label_budget, config.training.seed, data.report.source)
    encoded, chose = encoded.choose_kind(data, labelled)
    if chose:
        data.report.notes.append(chose)
    pretrained.model.config.anomaly_score = encoded.kind  # what the saved pre-trained model then scores with
    tuned = network(data, config, encoded, pretrained, labelled, output_dir, from_pretrained=True,
                    seed=config.training.seed, training=training, resume=resume, callbacks=callbacks)
    model = tuned.trainer.model
    model.tabular_encoder = pretrained.encoder
    data.report.notes.append(chosen_start(config, tuned.result, model.has_prior, training is None))
    model.config.positive_value = data.positive_value
    data.report.notes.append(trees_beside(data, tuned.result, trees(data, config, encoded, labelled,
                                                                   config.training.seed, with_pretrained=False)))
    with_features, tree_model = fit_trees(data, config, encoded, labelled, config.training.seed, with_pretrained=True)
    chosen, because = kept.choose(data.targets("validation"), tuned.result.validation_probabilities,
                                  with_features.validation_probabilities, config.fraud.keep)
    data.report.notes.append(because)
    results = {r.approach: r for r in (tuned.result, with_features)}
    for result in results.values():
        result.setting = {"label_budget": config.fraud.label_budget}
    # The network keeps its own threshold (an export of it uses that); kept trees save theirs, chosen on
    # validation the same way.
    threshold = with_features.metrics["threshold"]
    model.kept_trees = ((tree_model, pretrained.model, threshold if np.isfinite(threshold) else None)
                        if chosen == kept.TREES else None)
    # What scores a prior-start network's prior, saved beside it (a function: a module attribute would join its weights).
    model.save_prior_model = partial(kept.save_prior_model, pretrained=pretrained.model) if model.has_prior else None
    return FineTuneResult(results.pop(chosen), tuned.trainer, kept=chosen, kept_because=because,
                          set_aside=list(results.values()))


def chosen_start(config: RecipeConfig, fine_tuned: ApproachResult, prior: bool, chose: bool) -> str:
    """One line on how the fine-tuned network started and at what rate, and whether validation chose them."""
    start = "the pre-trained anomaly score as a prior on its fraud logit" if prior else "a new fraud head"
    rate, share = fine_tuned.metrics["learning_rate"], fine_tuned.metrics.get("fine_tune_share", 1.0)
    kept_share = ("" if config.pretrain.fine_tune_shares == [1.0] else
                  f", keeping {share:.0%} of what fine-tuning changed (of {config.pretrain.fine_tune_shares})")
    if not chose:
        return (f"The fine-tuned network started from {start}, at learning rate {rate:g} (the searched settings)"
                f"{kept_share}.")
    return (f"The fine-tuned network started from {start}, at learning rate {rate:g}{kept_share}: the run that "
            f"ranked the validation rows best among {len(config.fraud.starts)} start(s) "
            f"({', '.join(config.fraud.starts)}) x {max(1, len(config.fraud.learning_rates))} rate(s).")


def trees_beside(data: TabularData, fine_tuned: ApproachResult, gbt: ApproachResult) -> str:
    """One line that sets the fine-tuned network beside trees on the same labelled rows, on validation: a network
    far behind the trees is the sign of columns it memorises (identifiers) or of too few labels."""
    validation = data.targets("validation")
    mine, theirs = (ranking_metrics(validation, r.validation_probabilities) for r in (fine_tuned, gbt))
    line = (f"On the validation rows, gradient-boosted trees trained on the same labelled rows score average "
            f"precision {theirs['average_precision']:.3f} (ROC-AUC {theirs['roc_auc']:.3f}); the fine-tuned network "
            f"{mine['average_precision']:.3f} ({mine['roc_auc']:.3f}).")
    if mine["roc_auc"] <= 0.55 or mine["average_precision"] < 0.5 * theirs["average_precision"]:
        line += (" The network is far behind: drop identifier-like columns (see the notes above), raise the label "
                 "budget, or use the trees; notebook 03 and `cookbook bench` compare every approach.")
    return line


def tune(data: TabularData, config: RecipeConfig, output_dir=None) -> SearchResult:
    """The fixed-budget search over learning rate, epochs, batch size and weight decay, on validation AUPRC.
    Trials start as `fine_tune` does, and train for the epochs they draw (no `fraud.min_steps` floor), as
    `fine_tune(..., training=search.best_training(...))` then does."""
    output_dir = Path(output_dir or config.output_dir)
    pretrained = load_pretrained(config, data, output_dir)
    encoded = Encoded(data, pretrained, config.pretrain.anomaly_scores)
    labelled = label_subset(data.targets("train"), config.fraud.label_budget, config.training.seed, data.report.source)

    def model_init(trial=None):  # each trial starts as `fine_tune` does
        return start_classifier(pretrained, config, encoded.rows["train"].take(labelled),
                                data.targets("train")[labelled], config.training.seed)

    # Trials train on the rows `fine_tune` trains on: the labelled ones, and beside them the unlabelled ones for the
    # deviation objective (a trial's epochs then pass over both, as `fine_tune` with the found settings does).
    rows, targets = training_rows(config, encoded, data.targets("train"), labelled)
    trainer = classifier_trainer(
        None, rows, targets, encoded.rows["validation"], data.targets("validation"),
        config.training, output_dir / "search", compute_metrics=validation_metrics, checkpoints=False,
        model_init=model_init, objective=config.fraud.objective,
    )
    return search(trainer, config.tune, "average_precision", greater_is_better=True)


def model_card(config: RecipeConfig, data: TabularData, metrics: dict[str, float], output_dir, made_by: str) -> str:
    """The fraud model card (`card.py`): columns, split, ranking and cost metrics, intended use; Markdown."""
    return tabular_model_card(config, data, metrics, output_dir, made_by, what="fraud",
                              how=f"pre-trained on unlabelled rows by "
                                  f"{pretraining_objective(config.pretrain)}, then fine-tuned on "
                                  f"{config.fraud.label_budget:.0%} of the training labels")


def save_model(trainer, config: RecipeConfig, output_dir, model_card: str,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Weights (safetensors) and config.json, the column encoder (skops + JSON) and the decision threshold; and
    the trees with the pre-trained model they read (`kept.py`) when the run kept them. A trainer whose model has
    `kept_trees = None` saves the network alone."""
    model = trainer.model
    # threshold null: flagging nothing was the cheapest choice on validation at the stated costs
    trees = getattr(model, "kept_trees", None)  # set by `fine_tune` when the trees ranked validation better
    also = (lambda folder: kept.save_trees(folder, *trees[:2])) if trees else None
    if not trees and model.has_prior:
        also = model.save_prior_model  # set by `fine_tune`
    return save_classifier(model, config, output_dir, model_card, positive_value=model.config.positive_value,
                           extra_files=extra_files, threshold=trees[2] if trees else model.config.decision_threshold,
                           also=also, kept=kept.TREES if trees else kept.NETWORK)


load_model = load_classifier


def predict(model_dir, frame: pd.DataFrame, origin: str = "rows", loaded: tuple | None = None) -> pd.DataFrame:
    """Scores rows with a saved model: each row's fraud score and whether the saved threshold flags it.
    Identifier columns are carried through; columns the model does not read are ignored and named in
    `result.attrs["ignored_columns"]`. `loaded`: the model already loaded (`load_model`), for a service."""
    model, encoder, info = loaded or load_model(model_dir)
    extra = check_input_columns(frame, encoder.input_columns, origin)
    rows = encoder.encode(frame, origin)
    if info.get("kept") == kept.TREES:
        scores = kept.tree_scores(model_dir, rows)
    else:
        rows = kept.with_prior(model_dir, rows, model.config.prior_scale) if model.has_prior else rows
        scores = positive_scores(model, rows)
    out = pd.DataFrame({"row": source_rows(frame).to_numpy()})
    for column in info.get("identifier_columns") or []:  # the dropped columns, so a row can be found again
        if column in frame.columns and frame[column].astype("string").str.strip().fillna("").ne("").any():
            out[column] = frame[column].to_numpy()
    out["fraud_score"] = np.round(scores.astype(np.float64), 6)  # float32 would print 0.41758298873901367
    threshold = info["threshold"]
    out["flagged"] = scores >= threshold if threshold is not None else False
    out.attrs["ignored_columns"] = [c for c in extra if c not in (info.get("identifier_columns") or [])]
    out.attrs["threshold"] = info["threshold"]
    out.attrs["notes"] = [*frame.attrs.get("notes", []), *flag_out_of_range(out, encoder, frame, origin)]
    return out


def predict_file(model_dir, path, column: str | None = None) -> pd.DataFrame:
    """Scores a table of new rows (CSV or any format the package reads)."""
    return predict(model_dir, *read_new_rows(model_dir, path))


def shift_features(data: TabularData, config: RecipeConfig, split: str, trainer=None) -> np.ndarray:
    """A split's rows (at most `shift.MAX_ROWS`, seeded) as the trained model's column encoder writes them: what
    the checks of `core.shift` compare."""
    rows = sample_rows(data.splits[split], config.data.seed)
    return trainer.model.tabular_encoder.encode(rows, data.report.source).flat()


def new_data_features(model_dir, path, column: str | None = None) -> np.ndarray:
    """`shift_features` of the rows of a file to score, for `cookbook predict`'s check against training."""
    frame, origin = read_new_rows(model_dir, path)
    return TabularEncoder.load(model_folder(model_dir)).encode(sample_rows(frame), origin).flat()


def predictor(model_dir):
    """The saved model, loaded once, for `cookbook serve --backend torch`: rows answered as `predict` does."""
    from finetune_cookbook.tabular.predictor import RowsPredictor

    return RowsPredictor(model_dir, lambda frame, origin, loaded: predict(model_dir, frame, origin, loaded),
                         needed=lambda loaded: loaded[1].input_columns, labels=lambda info: list(LABELS))


def export(model_dir, export_dir, data: TabularData | None = None, quantize: str | None = None) -> dict:
    """The network as ONNX (logits; for the prior start, with the pre-trained model that scores its prior), the
    column encoder as JSON and `runtime.py` (`tabular.export`), which answers a row with its fraud score and the
    decision at the saved threshold; parity checked on the test rows of `data` (made-up rows without it)."""
    from finetune_cookbook.tabular.export import export_tabular

    model, encoder, info = load_model(model_dir)
    if info.get("kept") == kept.TREES:
        raise ConfigError(f"{model_dir}: the run kept gradient-boosted trees on the pre-trained features (they ranked "
                          "the validation rows better than the network), and the export writes the network only. "
                          "Score with `cookbook predict` or `cookbook serve --backend torch`.")
    graph, encode = model, (lambda frame: encoder.encode(frame, "the test rows"))
    if model.has_prior:  # the graph scores the prior too: the pre-trained model joins the network in it
        scorer = kept.load_prior_model(model_dir)
        if scorer.config.surprise_mean is None:
            raise ConfigError(f"{model_dir}: this network's prior is the mean rebuilding loss of a pre-trained model "
                              "saved before its scores were calibrated, which the export does not cover. Score with "
                              "`cookbook predict` or `cookbook serve --backend torch`, or pre-train and train again.")
        graph = PriorScored(model, scorer)
        encode = lambda frame: kept.with_prior(model_dir, encoder.encode(frame, "the test rows"),  # noqa: E731
                                               model.config.prior_scale)
    test = data.splits["test"] if data is not None else None
    threshold = info.get("threshold")

    def reference(frame: pd.DataFrame) -> np.ndarray:
        return positive_scores(model, encode(frame))

    def quality(scores: np.ndarray, targets, fp32: np.ndarray) -> dict:
        decided = (lambda s: s >= threshold) if threshold is not None else (lambda s: np.zeros(len(s), bool))
        found = {"same_decision_as_fp32": float((decided(scores) == decided(fp32)).mean())}
        if targets is not None:
            found.update(average_precision=ranking_metrics(targets, scores)["average_precision"],
                         scored_on=len(targets))
        return found

    spec = {"output": "logits", "labels": list(LABELS), "threshold": threshold,
            "positive_value": info.get("positive_value"), "identifier_columns": info.get("identifier_columns") or [],
            "cells": info.get("cells") or {}, "reading": info.get("reading") or {}}
    return export_tabular(graph, encoder, export_dir, spec, test, data.targets("test") if data is not None else None,
                          reference, quality, quantize)
