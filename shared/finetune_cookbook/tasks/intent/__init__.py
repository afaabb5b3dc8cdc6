"""Intent classification for a support bot: the text task, plus what intents need.

- Out-of-scope messages: a confidence threshold below which the bot hands over to a human, chosen with no
  out-of-scope labels (some intents are held out of a second training run and play the unknown messages).
- Few-shot: the pre-trained encoder fine-tuned on a handful of examples per intent (`text/few_shot.py`).
- A learning curve: every approach at 5, 10, 20, 50 examples per intent and at all of them.
- The replies: a responses file checked against the intents, saved with the model for `cookbook chat`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset
from scipy.special import softmax

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig, TrainingConfig, with_config
from finetune_cookbook.core.data import (
    LABEL,
    LabelledData,
    label_key,
    load_tables,
    normalised_text,
    prepare_splits,
    read_settings,
    read_source,
    require_columns,
)
from finetune_cookbook.core.errors import ConfigError, CookbookError, DataError
from finetune_cookbook.core.io.resolve import candidate_paths, find_local
from finetune_cookbook.core.measure import measure
from finetune_cookbook.core.saving import read_model_info, save_atomically
from finetune_cookbook.core.training import CHECKPOINTS, FineTuneResult, epochs_for_min_steps, training_arguments
from finetune_cookbook.tasks.intent.bot import RESPONSES_FILE, Bot, check_responses, read_responses
from finetune_cookbook.tasks.intent.bot import chat as run_chat
from finetune_cookbook.tasks.intent.fallback import (
    Fallback,
    answer_curve,
    choose_threshold,
    held_out_intents,
    operating_point,
    threshold_keeping_accuracy,
)
from finetune_cookbook.text import classifier as tc
from finetune_cookbook.text.card import model_card as text_model_card
from finetune_cookbook.text.scratch import scratch_baseline

TEXT = tc.TEXT
HEADLINE_METRICS = ("accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "real_oos_recall", "handover_rate")
ALL_EXAMPLES = None  # examples_per_intent of a run on every training example
MIN_LABELLED_OUT_OF_SCOPE = 10  # fewer labelled out-of-scope validation queries: held-out intents choose the threshold
ACCURACY_GIVEN_UP = 0.02  # out-of-scope recall is also reported where in-scope accuracy is 2 points below no hand-over


@dataclass
class IntentData(LabelledData):
    """Labelled splits of in-scope queries, the real out-of-scope queries kept apart, and the bot's replies."""

    out_of_scope: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({TEXT: []}))  # measured on (test)
    responses: dict[str, str] | None = None
    # labelled out-of-scope queries beside validation: the hand-over threshold is chosen with them
    out_of_scope_validation: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({TEXT: []}))


@dataclass
class IntentFineTune(FineTuneResult):
    fallback: Fallback | None = None


# ------------------------------------------------------------------------------------------------ data


def out_of_scope_keys(config: RecipeConfig) -> set:
    """`intent.out_of_scope_label` (one label or a list of them), as labels compare."""
    labels = config.intent.out_of_scope_label
    return {label_key(label) for label in ([labels] if isinstance(labels, str) else labels or [])}


def _is_out_of_scope(frame: pd.DataFrame, config: RecipeConfig) -> pd.Series:
    """Rows whose label is one of the config's out-of-scope labels, as written or after the label mapping."""
    targets = out_of_scope_keys(config)
    mapping = {label_key(k): v for k, v in (config.data.label_mapping or {}).items()}
    keys = frame[config.data.label_column].map(label_key)
    return keys.isin(targets) | keys.map(lambda k: label_key(mapping.get(k, k))).isin(targets)


def in_scope_settings(config: RecipeConfig):
    """The data settings without the out-of-scope label among the classes (in `labels` or as a mapping's value)."""
    targets = out_of_scope_keys(config)
    if not targets:
        return config.data
    outside = lambda name: label_key(name) not in targets  # noqa: E731
    labels = [name for name in config.data.labels or [] if outside(name)] or None
    mapping = {raw: name for raw, name in (config.data.label_mapping or {}).items() if outside(name) and outside(raw)}
    return dataclasses.replace(config.data, labels=labels, label_mapping=mapping or None)


def read_out_of_scope_source(config: RecipeConfig) -> pd.Series:
    """The texts of `intent.out_of_scope_source`: a file (or folder, or hub id) of real out-of-scope queries."""
    entry, where = config.intent.out_of_scope_source, "intent.out_of_scope_source"
    if isinstance(entry, dict):
        if "path" not in entry:
            raise ConfigError(f"{where}: a mapping needs `path`, the file, folder or hub id to read.")
        name, settings = str(entry["path"]), entry
    else:
        name, settings = str(entry), None
    column = (settings or {}).get("text_column") or config.data.text_column
    texts = []
    for table in read_source(name, read_settings(config.data, settings, where), config.search_dirs).values():
        require_columns(table.frame, [column], table.origin,
                        fix=f"Name the column of queries with text_column in {where}.")
        texts.append(table.frame[column])
    return pd.concat(texts)


def responses_path(config: RecipeConfig) -> Path | None:
    name = config.intent.responses
    if not name:
        return None
    found = find_local(name, config.search_dirs)
    if found is None:
        tried = ", ".join(str(p) for p in candidate_paths(name, config.search_dirs))
        raise DataError(f"intent.responses: {name} not found (looked in {tried}). Point it at a YAML file of "
                        "intent: reply.")
    return found


def load_data(config: RecipeConfig) -> IntentData:
    """The config's queries, cleaned and split as the text task does, with out-of-scope rows set apart and the
    responses file checked against the intents, before anything is written."""
    text_column = config.data.text_column
    if not text_column:
        raise ConfigError(f"{config.config_path}: data.text_column is not set; name the column that holds the queries.")
    tables = load_tables(config.data, config.search_dirs)
    marked_rows = {}
    for split, table in tables.items():
        require_columns(table.frame, [text_column, config.data.label_column], table.origin, split=split)
        if config.intent.out_of_scope_label is not None:
            marked = _is_out_of_scope(table.frame, config).to_numpy()
            marked_rows[split] = table.frame[marked][text_column]
            tables[split] = dataclasses.replace(table, frame=table.frame[~marked].reset_index(drop=True))
    out_of_scope, for_threshold = split_out_of_scope(marked_rows, config)
    labelled = prepare_splits(tables, in_scope_settings(config), text_column,
                              lambda frame: normalised_text(frame[text_column]))
    data = IntentData(labelled.splits, labelled.labels, labelled.report)
    tc.keep_text_columns(data, config)
    if config.intent.out_of_scope_source is not None:
        out_of_scope.append(read_out_of_scope_source(config))
    if out_of_scope:
        data.out_of_scope = _queries(pd.concat(out_of_scope))
        data.report.notes.append(f"{len(data.out_of_scope)} real out-of-scope queries are kept out of training; "
                                 "they measure how often the bot hands them over.")
    beside = _queries(for_threshold)  # a query also measured on (test) never chooses the threshold
    data.out_of_scope_validation = beside[~beside[TEXT].isin(data.out_of_scope[TEXT])].reset_index(drop=True)
    if len(data.out_of_scope_validation):
        enough = len(data.out_of_scope_validation) >= MIN_LABELLED_OUT_OF_SCOPE
        data.report.notes.append(
            f"{len(data.out_of_scope_validation)} labelled out-of-scope queries beside validation " +
            ("choose the hand-over threshold." if enough and config.intent.threshold is None else
             f"are too few to choose the hand-over threshold with (at least {MIN_LABELLED_OUT_OF_SCOPE}): "
             "held-out intents choose it." if config.intent.threshold is None else "are not used: intent.threshold "
             "is set."))
    path = responses_path(config)
    if path is not None:
        data.responses = read_responses(path)
        notes = check_responses(data.responses, data.labels, config.intent.responses, data.report.source, strict=False)
        data.report.notes += notes
        if notes and not set(data.responses) & set(data.labels):
            data.responses = None
    return data


def _queries(texts: pd.Series) -> pd.DataFrame:
    texts = texts.astype("string").str.strip()
    return pd.DataFrame({TEXT: texts[texts.notna() & (texts != "")].drop_duplicates().tolist()})


def split_out_of_scope(marked: dict[str, pd.Series], config: RecipeConfig) -> tuple[list[pd.Series], pd.Series]:
    """The labelled out-of-scope queries of each split, as (measured on, threshold chosen with).

    With a test split of its own, its out-of-scope queries are measured on, as published results are, and those of
    validation (else of train: never trained on) choose the threshold. Without one, they are shared between the
    two as validation_size to test_size, seeded."""
    if not marked:
        return [], pd.Series([], dtype="string")
    if "test" in marked:
        beside = marked.get("validation", marked.get("train", pd.Series([], dtype="string")))
        return [marked["test"]], beside
    everything = pd.concat(marked.values()).sample(frac=1.0, random_state=config.data.seed)
    share = config.data.validation_size / (config.data.validation_size + config.data.test_size)
    cut = int(round(share * len(everything)))
    return [everything.iloc[cut:]], everything.iloc[:cut]


def with_examples_per_intent(data: LabelledData, count: int | None, seed: int) -> LabelledData:
    """The same data with at most `count` training queries per intent (seeded); validation and test unchanged."""
    if count is None:
        return data
    train = data.splits["train"]
    sampled = train.groupby(LABEL, group_keys=False).sample(frac=1.0, random_state=seed).groupby(LABEL).head(count)
    return dataclasses.replace(data, splits={**data.splits, "train": sampled.sort_index().reset_index(drop=True)})


# ------------------------------------------------------------------------------------------------ approaches


def model_name(config: RecipeConfig) -> str:
    """The pre-trained encoder the fine-tune starts from, as the config names it."""
    return config.model.name


def baselines(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None) -> list[ApproachResult]:
    """TF-IDF + logistic regression (task data only) and the frozen encoder + logistic regression."""
    return tc.baselines(data, config)


def probabilities(trainer, texts: list[str], max_length: int) -> np.ndarray:
    """Class probabilities of `texts` from a Trainer's model, in the texts' order."""
    tokenizer = trainer.processing_class
    dataset = tc.token_ids(Dataset.from_dict({TEXT: list(texts)}),
                           lambda batch: tokenizer(batch[TEXT], truncation=True, max_length=max_length))
    return softmax(trainer.predict(dataset).predictions, axis=1)


def intents_to_hold_out(data: LabelledData, config: RecipeConfig, seed: int) -> list[str]:
    """A seeded share of the intents that have queries in both validation and test (they play the unknown
    messages there); an error, before any training, where that cannot work."""
    present = set(data.splits["validation"][LABEL]) & set(data.splits["test"][LABEL])
    candidates = [label for label in data.labels if label in present]
    if config.intent.threshold is None and (len(data.labels) < 3 or not candidates):
        raise ConfigError(
            f"{config.config_path}: choosing the hand-over threshold holds some intents out, which needs at least 3 "
            f"intents with queries in both validation and test (found {len(data.labels)} intents, {len(candidates)} "
            "of them in both). Set intent.threshold (a confidence between 0 and 1) instead.")
    return held_out_intents(data.labels, config.intent.holdout_share, seed, candidates)


def _has_checkpoint(folder: Path) -> bool:
    return any((folder / CHECKPOINTS).glob("checkpoint-*"))


def choose_fallback(data: LabelledData, config: RecipeConfig, output_dir: str | Path,
                    training: TrainingConfig | None = None, resume: bool = False, final_trainer=None) -> Fallback:
    """The hand-over threshold: set in the config; else chosen on validation with the data's labelled out-of-scope
    queries, where it has at least `MIN_LABELLED_OUT_OF_SCOPE` of them beside validation (the held-out-intent rule
    is still run, to compare); else by the held-out-intent rule (`holdout_fallback`)."""
    if config.intent.threshold is not None:
        return Fallback(config.intent.threshold, "set in the config (intent.threshold)")
    holdout = holdout_fallback(data, config, output_dir, training, resume, final_trainer)
    labelled = getattr(data, "out_of_scope_validation", None)
    if final_trainer is None or labelled is None or len(labelled) < MIN_LABELLED_OUT_OF_SCOPE:
        return holdout
    frame = data.splits["validation"]
    scores = probabilities(final_trainer, frame[TEXT].tolist(), config.model.max_length)
    correct = np.array(data.labels)[scores.argmax(axis=1)] == frame[LABEL].to_numpy()
    unknown = probabilities(final_trainer, labelled[TEXT].tolist(), config.model.max_length).max(axis=1)
    chosen = choose_threshold(answer_curve(scores.max(axis=1), correct, unknown))
    return Fallback(
        threshold=chosen.threshold, validation=chosen, labelled_queries=len(labelled), holdout_rule=holdout,
        how=(f"chosen on validation with {len(labelled)} labelled out-of-scope queries: the threshold that best "
             "balances in-scope accuracy and handing those over."), train_seconds=holdout.train_seconds)


def holdout_fallback(data: LabelledData, config: RecipeConfig, output_dir: str | Path,
                     training: TrainingConfig | None = None, resume: bool = False, final_trainer=None) -> Fallback:
    """The hand-over threshold, chosen without out-of-scope labels.

    A second model trains on the intents minus a seeded `intent.holdout_share` of them. On validation, the
    held-out intents' queries are the unknown messages: the threshold is the one that best balances in-scope
    accuracy and handing those over, and it is scored on the test split's queries.

    Two models' confidences are not on the same scale (more intents, another epoch kept), so the final model
    (`final_trainer`) does not take that number as it is: it takes the threshold that hands over the same share
    of in-scope validation queries as the held-out-intent model did at its chosen threshold.
    """
    training = training or config.training
    held = intents_to_hold_out(data, config, training.seed)
    known = [label for label in data.labels if label not in held]
    inner = LabelledData({name: frame[frame[LABEL].isin(known)].reset_index(drop=True)
                          for name, frame in data.splits.items()}, known, data.report)
    folder = Path(output_dir) / "fallback"
    run = tc.fine_tune(inner, config, folder, training=training, resume=resume and _has_checkpoint(folder))

    def confidences(split: str):
        frame = data.splits[split]
        scores = probabilities(run.trainer, frame[TEXT].tolist(), config.model.max_length)
        is_known = frame[LABEL].isin(known).to_numpy()
        correct = np.array(known)[scores.argmax(axis=1)] == frame[LABEL].to_numpy()
        confidence = scores.max(axis=1)
        return confidence[is_known], correct[is_known], confidence[~is_known]

    validation = confidences("validation")
    chosen = choose_threshold(answer_curve(*validation))
    test = confidences("test")
    threshold, how = chosen.threshold, ""
    if final_trainer is not None:
        handed_over = float((validation[0] < chosen.threshold).mean())
        final = probabilities(final_trainer, data.splits["validation"][TEXT].tolist(), config.model.max_length)
        threshold = float(np.quantile(final.max(axis=1), handed_over)) if handed_over > 0 else 0.0
        how = (f" The final model's threshold, {threshold:.3f}, hands over the same share of in-scope validation "
               f"queries ({handed_over:.1%}) as the held-out-intent model's {chosen.threshold:.3f} did.")
    return Fallback(
        threshold=threshold,
        how=(f"chosen on validation: a model trained without {len(held)} of {len(data.labels)} intents treated "
             "their queries as unknown; its threshold best balances in-scope accuracy and handing those over." + how),
        held_out=held, validation=chosen, test=operating_point(chosen.threshold, *test),
        test_curve=answer_curve(*test), train_seconds=run.result.train_seconds,
    )


def fine_tune(data: IntentData, config: RecipeConfig, output_dir: str | Path | None = None, *,
              training: TrainingConfig | None = None, resume: bool = False, callbacks=None) -> IntentFineTune:
    """Fine-tunes the encoder on every intent (the text task's fine-tune), then chooses the hand-over threshold
    and scores it: `in_scope_accuracy` and `oos_recall` with held-out intents, `handover_rate` of the final
    model on in-scope test queries, `real_oos_recall` on real out-of-scope queries where the data has them."""
    output_dir = Path(output_dir or config.output_dir)
    if config.intent.threshold is None:
        intents_to_hold_out(data, config, (training or config.training).seed)  # fails now, not after training
    if not resume:  # a later --resume must not pick up the threshold model of an earlier run in this folder
        shutil.rmtree(output_dir / "fallback" / CHECKPOINTS, ignore_errors=True)
    tuned = tc.fine_tune(data, config, output_dir, training=training, resume=resume, callbacks=callbacks)
    fallback = choose_fallback(data, config, output_dir, training, resume, final_trainer=tuned.trainer)
    metrics = tuned.result.metrics
    metrics["threshold"] = fallback.threshold
    if fallback.test is not None:
        metrics.update(in_scope_accuracy=fallback.test.in_scope_accuracy, oos_recall=fallback.test.oos_recall)
    confidence = tuned.result.probabilities.max(axis=1)
    metrics["handover_rate"] = float((confidence < fallback.threshold).mean())
    real = getattr(data, "out_of_scope", None)
    if real is not None and len(real):
        unknown = probabilities(tuned.trainer, real[TEXT].tolist(), config.model.max_length).max(axis=1)
        metrics["real_oos_recall"] = float((unknown < fallback.threshold).mean())
        correct = tuned.result.predictions == np.asarray(data.label_ids("test"))
        metrics.update(real_out_of_scope_metrics(fallback, confidence, correct, unknown))
    tuned.trainer.model.config.out_of_scope_fallback = fallback.summary()  # saved in config.json with the weights
    return IntentFineTune(result=tuned.result, trainer=tuned.trainer, fallback=fallback)


def real_out_of_scope_metrics(fallback: Fallback, confidence, correct, unknown) -> dict[str, float]:
    """With real out-of-scope test queries: out-of-scope recall where in-scope accuracy is `ACCURACY_GIVEN_UP`
    below answering everything (a point of the test curve, comparable with published results); and, where labelled
    queries chose the threshold, the final model's in-scope accuracy and out-of-scope recall at it and at the
    held-out-intent rule's threshold."""
    curve = answer_curve(confidence, correct, unknown)
    kept = threshold_keeping_accuracy(curve, float(np.mean(correct)) - ACCURACY_GIVEN_UP)
    metrics = {"fixed_in_scope_accuracy": kept.in_scope_accuracy, "oos_recall_at_fixed_accuracy": kept.oos_recall}
    if fallback.labelled_queries:
        fallback.test = operating_point(fallback.threshold, confidence, correct, unknown)
        fallback.test_curve = curve
        rule = operating_point(fallback.holdout_rule.threshold, confidence, correct, unknown)
        metrics.update(in_scope_accuracy=fallback.test.in_scope_accuracy, oos_recall=fallback.test.oos_recall,
                       holdout_rule_in_scope_accuracy=rule.in_scope_accuracy, holdout_rule_oos_recall=rule.oos_recall)
    return metrics


def few_shot(data: LabelledData, config: RecipeConfig, examples_per_intent: int, output_dir: str | Path,
             training: TrainingConfig | None = None) -> ApproachResult:
    """The encoder fine-tuned on `examples_per_intent` queries per intent, its head started from a linear probe
    (see text/few_shot.py) whatever `model.head` says, at a quarter of the learning rate."""
    training = training or config.training
    small = with_examples_per_intent(data, examples_per_intent, training.seed)
    probe_config = dataclasses.replace(config, model=dataclasses.replace(config.model, head="probe"))
    with measure(f"few_shot ({examples_per_intent} per intent)") as cost:
        model = tc.classifier_starter(small, probe_config)(training.seed)
        # A quarter of the learning rate: the probe's head is already a good start, and should not be undone.
        schedule = dataclasses.replace(curve_training(config, len(small.splits["train"]), training),
                                       learning_rate=training.learning_rate / 4, class_weights="none")
        trainer, datasets = tc.text_trainer(
            # No checkpoints, so nothing to choose between epochs: validation served the probe's choice.
            small, config, schedule, training_arguments(schedule, output_dir, checkpoints=False, eval_strategy="no"),
            model=model)
        train_output = trainer.train()
    result = tc.score_on_test(trainer, datasets, small, "few_shot", f"linear probe, then fine-tuned end to end on "
                            f"{examples_per_intent} queries per intent", cost, train_output)
    return tagged(result, examples_per_intent, label_share(small, data))


def tagged(result: ApproachResult, examples_per_intent: int | None, share: float | None = None) -> ApproachResult:
    """`result` keyed by its examples per intent (None: all), with the share of the training labels it used."""
    if examples_per_intent is not ALL_EXAMPLES and share is None:
        raise ValueError("a run on a count per intent needs its share of the training labels (label_share)")
    result.setting = {"examples_per_intent": examples_per_intent}
    result.label_share = 1.0 if examples_per_intent is ALL_EXAMPLES else share
    return result


def label_share(small: LabelledData, data: LabelledData) -> float:
    """The share of `data`'s training queries that `small` keeps."""
    return len(small.splits["train"]) / len(data.splits["train"])


def curve_training(config: RecipeConfig, train_rows: int, training: TrainingConfig | None = None) -> TrainingConfig:
    """The training settings, with enough epochs that a small training split still gets `curve_min_steps` steps
    (or `training.min_steps`, where that is more)."""
    training = training or config.training
    floor = max(config.intent.curve_min_steps, training.min_steps or 0)
    return dataclasses.replace(training, epochs=epochs_for_min_steps(train_rows, training, floor))


def curve_points(config: RecipeConfig) -> tuple[list[int], list[int]]:
    """The learning curve's examples per intent, and those where the few-shot approach also runs."""
    counts = sorted(set(config.intent.curve_examples) | {config.intent.few_shot_examples})
    return counts, sorted(set(config.intent.few_shot_curve_examples) | {config.intent.few_shot_examples})


def learning_curve(data: LabelledData, config: RecipeConfig, counts: list[int], few_shot_counts: list[int],
                   output_dir: str | Path, done: list[ApproachResult] = ()) -> list[ApproachResult]:
    """Every approach at each count of examples per intent, the same network from scratch included (validation and
    test stay whole); a few-shot run already in `done` is reused, not repeated."""
    earlier = {r.setting.get("examples_per_intent"): r for r in done if r.approach == "few_shot"}
    results = []
    for count in counts:
        small = with_examples_per_intent(data, count, config.training.seed)
        training = curve_training(config, len(small.splits["train"]))
        share = label_share(small, data)
        results += [tagged(r, count, share) for r in tc.baselines(small, config)]
        results.append(tagged(scratch_baseline(small, config, training=training), count, share))
        folder = Path(output_dir) / f"curve-{count}"
        run = tc.fine_tune(small, config, folder, training=training)
        results.append(tagged(run.result, count, share))
        if count in few_shot_counts:
            results.append(earlier.get(count) or few_shot(data, config, count, folder / "few-shot"))
    return results


def benchmark(data: IntentData, config: RecipeConfig, scratch_dir: str | Path) -> list[ApproachResult]:
    """Every approach on all the data (with the same network from scratch), the few-shot run, and the learning
    curve."""
    results = [tagged(r, ALL_EXAMPLES) for r in baselines(data, config) + [scratch_baseline(data, config)]]
    results.append(tagged(fine_tune(data, config, Path(scratch_dir) / "all").result, ALL_EXAMPLES))
    return results + learning_curve(data, config, *curve_points(config), scratch_dir)


def tune(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None):
    """The text task's fixed-budget search on validation (the threshold is chosen after training)."""
    return tc.tune(data, config, output_dir)


# ------------------------------------------------------------------------------------------------ saving, using


def model_card(config: RecipeConfig, data: IntentData, metrics: dict[str, float], output_dir: str | Path,
               made_by: str) -> str:
    """The text model card with the hand-over threshold and how it was chosen; Markdown."""
    card = text_model_card(config, data.report, metrics, data.labels, output_dir, made_by)
    lines = ["", "## Hand-over to a human", "",
             f"The bot answers when the model's confidence is at least {metrics['threshold']:.3f}; below it, it "
             f"hands the message over. {fallback_sentence(config, metrics)}"]
    labelled = "holdout_rule_oos_recall" in metrics
    if labelled:
        lines.append(f"On test, this model at this threshold answers {metrics['in_scope_accuracy']:.3f} of in-scope "
                     f"queries right and hands over {metrics['oos_recall']:.3f} of the out-of-scope ones; at the "
                     f"held-out-intent rule's threshold it would score {metrics['holdout_rule_in_scope_accuracy']:.3f} "
                     f"and {metrics['holdout_rule_oos_recall']:.3f}.")
    elif "oos_recall" in metrics:
        lines.append(f"The model with held-out intents, at its own threshold, on test (`in_scope_accuracy`, "
                     f"`oos_recall`): {metrics['in_scope_accuracy']:.3f} of in-scope queries answered right, "
                     f"{metrics['oos_recall']:.3f} of the held-out intents' queries handed over.")
    if "real_oos_recall" in metrics:
        lines.append(f"Real out-of-scope queries handed over: {metrics['real_oos_recall']:.3f}. Where in-scope "
                     f"accuracy is {ACCURACY_GIVEN_UP:.0%} below answering everything "
                     f"({metrics['fixed_in_scope_accuracy']:.3f}), this model hands over "
                     f"{metrics['oos_recall_at_fixed_accuracy']:.3f} of them.")
    lines += [f"In-scope test queries handed over by this model: {metrics['handover_rate']:.3f}.", "",
              f"Chat with it: `cookbook chat {Path(output_dir).as_posix()}`.", ""]
    return card + "\n".join(lines)


def fallback_sentence(config: RecipeConfig, metrics: dict[str, float] | None = None) -> str:
    if config.intent.threshold is not None:
        return "The threshold was set in the config (intent.threshold)."
    if metrics and "holdout_rule_oos_recall" in metrics:
        return ("The threshold was chosen on validation with the data's labelled out-of-scope queries: the one "
                "that best balances in-scope accuracy and handing those over.")
    return (f"The threshold was chosen without out-of-scope labels: {config.intent.holdout_share:.0%} of the intents "
            "were held out of a second model and played the unknown messages.")


def save_model(trainer, config: RecipeConfig, output_dir: str | Path, model_card: str,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """The text model, with the hand-over threshold and the replies, all or nothing."""
    fallback = getattr(trainer.model.config, "out_of_scope_fallback", None)
    if fallback is None:
        raise CookbookError("this model has no hand-over threshold yet: train it with intent.fine_tune, which "
                            "chooses one, before saving.")
    path = responses_path(config)
    responses = read_responses(path) if path else None
    intents = list(trainer.model.config.id2label.values())
    if responses is not None and not set(responses) & set(intents):  # another data set's replies: not used
        responses = None

    def write(folder: Path) -> None:
        trainer.save_model(str(folder))
        if responses is not None:
            (folder / RESPONSES_FILE).write_text(json.dumps(responses, indent=2, ensure_ascii=False), encoding="utf-8")

    info = {**tc.model_info(config), "fallback": fallback, "handover_reply": config.intent.handover_reply,
            "max_message_chars": config.intent.max_message_chars}
    return save_atomically(output_dir, write, info, model_card, extra_files=with_config(config, extra_files))


def _with_handover(predictions: pd.DataFrame, model_dir: str | Path) -> pd.DataFrame:
    """Adds `handed_over`: whether the bot would pass the message to a human (confidence below the threshold)."""
    info = read_model_info(model_dir)
    too_long = predictions.iloc[:, 0].astype(str).str.len() > info.get("max_message_chars", 1000)
    handed_over = ((predictions["confidence"] < info["fallback"]["threshold"]) | too_long).astype("boolean")
    handed_over[predictions["confidence"].isna()] = pd.NA  # an empty message got no intent (see `tc.predict`)
    predictions.insert(predictions.columns.get_loc("confidence") + 1, "handed_over", handed_over)
    return predictions


def predict(model_dir: str | Path, texts: list[str]) -> pd.DataFrame:
    """Each text's intent, its confidence, whether it would be handed over, and every intent's probability."""
    return _with_handover(tc.predict(model_dir, texts), model_dir)


class IntentPredictor(tc.TextPredictor):
    """The saved intent model loaded once, answering as an intent export's `runtime.py` does: the intent, whether
    the bot hands the message over, its reply, and every intent's probability."""

    def __init__(self, model_dir: str | Path):
        super().__init__(model_dir)
        saved = self.folder / RESPONSES_FILE
        self.responses = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}
        self.handover_reply = self.info.get("handover_reply", "Let me pass you to a colleague.")

    def table(self, texts: list[str], batch_size: int = 32) -> pd.DataFrame:
        return _with_handover(super().table(texts, batch_size), self.folder)

    def predict(self, texts: list[str], names=None, batch_size: int = 32) -> list[dict]:
        answers = super().predict(texts, names, batch_size)
        for answer in answers:
            answer["handed_over"] = bool(answer["handed_over"])
            answer["reply"] = (self.handover_reply if answer["handed_over"] else self.responses.get(
                answer["label"], f"I understood this as {answer['label'].replace('_', ' ')}."))
        return answers


shift_features = tc.shift_features  # the frozen encoder's view of the in-scope queries, for `core.shift`
new_data_features = tc.new_data_features


def predictor(model_dir: str | Path) -> IntentPredictor:
    """The saved intent model, loaded once, for `cookbook serve --backend torch`."""
    return IntentPredictor(model_dir)


def predict_file(model_dir: str | Path, path: str | Path, column: str | None = None) -> pd.DataFrame:
    """`predict` for every row of a table (or every line of a .txt file)."""
    return _with_handover(tc.predict_file(model_dir, path, column), model_dir)


def chat(model_dir: str | Path, responses: str | Path | None, lines, out, interactive: bool, as_json: bool = False) -> int:
    """`cookbook chat`: the saved model answers each message of `lines` on `out` (intent, confidence, the reply or
    the hand-over), with `responses` instead of the saved replies when given; returns how many it answered."""
    return run_chat(Bot(model_dir, responses), lines, out, interactive=interactive, as_json=as_json)


def export(model_dir: str | Path, export_dir: str | Path, data: IntentData | None = None,
           quantize: str | None = None) -> dict:
    """The text classifier's export (`text.export`) with the bot's hand-over: threshold, longest message, the
    hand-over reply and every intent's reply; parity on the in-scope test queries of `data`."""
    from finetune_cookbook.core.saving import model_folder

    folder = model_folder(model_dir)
    info = read_model_info(folder)
    saved = folder / RESPONSES_FILE
    handover = {"threshold": float(info["fallback"]["threshold"]),
                "max_message_chars": int(info.get("max_message_chars", 1000)),
                "reply": info.get("handover_reply", "Let me pass you to a colleague."),
                "responses": json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}}
    return tc.export(folder, export_dir, data, quantize, extra={"handover": handover})
