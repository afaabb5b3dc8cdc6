"""What `cookbook train / tune / predict` do, for any task: the same steps, the task's own model code.

Nothing here names a task: each step calls the `tasks.Task` protocol of the task the config (or the saved
model) names.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from finetune_cookbook.core.compare import ApproachResult, comparison_markdown, comparison_record
from finetune_cookbook.core.config import CONFIG_FILE, RecipeConfig
from finetune_cookbook.core.data import LabelledData
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.label_curve import FULL, labelled_subset
from finetune_cookbook.core.records import METRICS_FILE, json_bytes, metrics_record
from finetune_cookbook.core.runlock import folder_lock
from finetune_cookbook.core.saving import MODEL_DIR, model_folder, point_to_model, read_model_info, write_files_together
from finetune_cookbook.core.shift import REFERENCE_FILE, SplitChecks, check_splits, notes_on_batch, reference_sample
from finetune_cookbook.core.training import validation_score
from finetune_cookbook.tasks import Task, get_task


@dataclass
class TrainSummary:
    output_dir: Path
    model_dir: Path
    metrics: dict[str, float]
    data: LabelledData
    headline_metrics: tuple[str, ...] = ()
    main_process: bool = True  # False in the other processes of a torchrun launch
    comparison: str | None = None  # with compare=True: the Markdown table of every approach


COMPARISON = "comparison"  # comparison.md and comparison.json in the run's folder
# What a run writes as its result: saved in the model folder, shown in the run folder through links
RESULT_FILES = (METRICS_FILE, CONFIG_FILE, f"{COMPARISON}.md", f"{COMPARISON}.json")


def train(config: RecipeConfig, output_dir: str | Path | None = None, resume: bool = False, callbacks=None,
          on_data=None, compare: bool = False, on_step=None) -> TrainSummary:
    """Validates the data (before anything is written), fine-tunes, scores on test, and saves the model,
    `metrics.json`, the model card and the config that produced them. `on_data` is called with the data once it
    is read and checked, before training (the command line prints its report).

    `compare` (`cookbook compare`): the task's baselines train first, on the same split (a task that makes its
    own pre-trained model pre-trains it first), and every approach's test scores go to `comparison.md` and
    `comparison.json` and into the model card. `on_step` is called with the name of each step as it starts.

    One run at a time holds the output folder (`core.runlock`): a second is refused before it reads any data."""
    task: Task = get_task(config.task)
    if compare and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("`cookbook compare` runs in one process (its baselines are not distributed); start it "
                          "without torchrun, or use `cookbook train` there.")
    output_dir = Path(output_dir or config.output_dir)
    command = "compare" if compare else "train"
    with folder_lock(output_dir, f"cookbook {command} {config.config_path or ''}".strip(), main_process()):
        return _train(task, config, output_dir, resume, callbacks, on_data, compare, on_step)


def main_process() -> bool:
    """False in the other processes of a torchrun launch (RANK above 0): they neither lock nor write results."""
    return os.environ.get("RANK", "0") == "0"


def _train(task: Task, config: RecipeConfig, output_dir: Path, resume: bool, callbacks, on_data, compare: bool,
           on_step) -> TrainSummary:
    data = task.load_data(config)
    if on_data is not None:
        on_data(data)
    step = on_step or (lambda name: None)
    baselines = []
    if compare:
        if hasattr(task, "pretrain"):
            step("pre-training on the training rows, without labels")
            task.pretrain(data, config, output_dir)
        step("the baselines")
        baselines = task.baselines(data, config, output_dir)
    step("fine-tuning")
    tuned = task.fine_tune(data, config, output_dir, resume=resume, callbacks=callbacks)
    summary = TrainSummary(output_dir, output_dir / MODEL_DIR, tuned.result.metrics, data, task.HEADLINE_METRICS)
    if not tuned.trainer.is_world_process_zero():  # under torchrun, one process writes the results
        summary.main_process = False
        return summary
    step("checking the test data against the training data")
    checks, extra_files = judge_splits(task, data, config, tuned)
    command = "compare" if compare else "train"
    card = task.model_card(config, data, tuned.result.metrics, output_dir, made_by=f"`cookbook {command} {config.config_path}`")
    card += checks.card_section()
    if compare:
        mine = [*tuned.set_aside, tuned.result]  # the run's own models replace a baseline of the same name
        others = [r for r in baselines if r.approach not in {m.approach for m in mine}]
        summary.comparison, files = comparison_files([*others, *mine], task.HEADLINE_METRICS, data)
        extra_files.update(files)
        card += f"\n## Against the baselines\n\nOn the same test split:\n\n{summary.comparison}"
    # The run's results are saved inside the model folder, so the model, its metrics, its config (which
    # `save_model` adds) and its comparison change together in the model's one swap; the run folder shows them
    # through links (made before the swap, see `point_to_model`). A kill at any moment leaves the old run whole or
    # the new one.
    extra_files[METRICS_FILE] = json_bytes(metrics_record(
        config.domain, {**{r.approach: r.metrics for r in [*baselines, *tuned.set_aside]},
                        tuned.kept or "fine_tuned": tuned.result.metrics},
        dataset=data.report.source, model=task.model_name(config),
        data=dataclasses.asdict(data.report),
        train_seconds=tuned.result.train_seconds, best_validation=tuned.trainer.state.best_metric,
        headline_metrics=list(task.HEADLINE_METRICS), shift=checks.as_dict(),
        **({"kept": {"approach": tuned.kept, "because": tuned.kept_because}} if tuned.kept else {}),
    ))
    point_to_model(output_dir, RESULT_FILES)
    summary.model_dir = task.save_model(tuned.trainer, config, output_dir, card, extra_files=extra_files)
    for name in RESULT_FILES:  # a comparison link left by an earlier `cookbook compare`: this model has none
        if not (summary.model_dir / name).exists() and (output_dir / name).is_symlink():
            (output_dir / name).unlink()
    return summary


def comparison_files(results: list[ApproachResult], metrics: tuple[str, ...],
                     data: LabelledData) -> tuple[str, dict[str, bytes]]:
    """The Markdown table of every approach's test scores, and `comparison.md` / `comparison.json` as bytes."""
    table = comparison_markdown(results, metrics)
    record = {**comparison_record(results, metrics), "dataset": data.report.source,
              "split_sizes": data.report.split_sizes}
    return table, {f"{COMPARISON}.json": json_bytes(record),
                   f"{COMPARISON}.md": f"# Every approach on the test split of {data.report.source}\n\n{table}".encode()}


def judge_splits(task: Task, data: LabelledData, config: RecipeConfig, tuned) -> tuple[SplitChecks, dict[str, bytes]]:
    """Is the test data like the training data (`core.shift`)? The checks' notes join the data report (the
    console, the model card and metrics.json show them); returns the checks and the training-feature reference
    that `cookbook predict` compares new batches with, as files to save beside the model."""
    metric = config.training.metric_for_best_model
    validation = validation_score(tuned.trainer, metric) if config.training.greater_is_better else None
    features, extra_files = {}, {}
    if hasattr(task, "shift_features"):
        features = {split: task.shift_features(data, config, split, tuned.trainer) for split in ("train", "test")}
        extra_files[REFERENCE_FILE] = reference_sample(features["train"], config.data.seed)
    checks = check_splits(features.get("train"), features.get("test"), metric=metric, validation=validation,
                          test=tuned.result.metrics.get(metric), test_given="test" in data.report.given_splits,
                          test_repeats=data.report.test_repeats, seed=config.data.seed)
    data.report.notes += checks.notes
    return checks, extra_files


def pretrain(config: RecipeConfig, output_dir: str | Path | None = None, resume: bool = False, callbacks=None,
             on_data=None):
    """Self-supervised pre-training for tasks that make their own pre-trained model (tabular); returns the
    task's checkpoint (its `.folder` is where it was saved). `on_data` is called with the data once it is read
    and checked, before training (the command line prints its report)."""
    task = get_task(config.task)
    if not hasattr(task, "pretrain"):
        raise ConfigError(f"{config.config_path}: task {config.task!r} starts from a published pre-trained model "
                          "(model.name), so there is nothing to pre-train. Run `cookbook train`.")
    output_dir = output_dir or config.output_dir
    with folder_lock(output_dir, f"cookbook pretrain {config.config_path or ''}".strip(), main_process()):
        data = task.load_data(config)
        if on_data is not None:
            on_data(data)
        return task.pretrain(data, config, output_dir, resume=resume, callbacks=callbacks)


def tune(config: RecipeConfig, output_dir: str | Path | None = None):
    """Runs the fixed-budget search and writes its trials table and best settings to `<output_dir>/search`."""
    task = get_task(config.task)
    output_dir = Path(output_dir or config.output_dir)
    with folder_lock(output_dir, f"cookbook tune {config.config_path or ''}".strip(), main_process()):
        return _tune(task, config, output_dir)


def _tune(task: Task, config: RecipeConfig, output_dir: Path):
    data = task.load_data(config)
    result = task.tune(data, config, output_dir)
    folder = output_dir / "search"
    best = {"training": dataclasses.asdict(result.best_training(config.training))}
    write_files_together({  # a kill or a full disk leaves the previous search's two files, or this one's
        folder / "trials.csv": result.trials.to_csv(index=False).encode(),
        folder / "best_training.yaml": (
            f"# Best of {len(result.trials)} trials: validation {result.metric} {result.best_value:.4f}.\n"
            "# Paste this `training` section into your config to train with these settings.\n"
            + yaml.safe_dump(best, sort_keys=False)).encode(),
    })
    return result


def crossval_task(config: RecipeConfig) -> Task:
    """The config's task, once it is clear that `cookbook crossval` can run it: checked before any fold trains."""
    task = get_task(config.task)
    if not hasattr(task, "batch_views"):
        raise ConfigError(f"{config.config_path}: `cookbook crossval` serves image recipes (task image_classification) "
                          f"so far; task {config.task!r} compares settings on its validation split (`cookbook tune`).")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("`cookbook crossval` runs in one process (its folds' scores need every validation row in "
                          "one place); start it without torchrun.")
    return task


def crossval_record(config: RecipeConfig) -> Path:
    """Where `cookbook crossval` writes a config's folds: `<output_dir>/crossval-<config file name>.json`."""
    return Path(config.output_dir) / f"crossval-{Path(config.config_path or 'config').stem}.json"


def crossval(config: RecipeConfig, folds: int = 3) -> dict:
    """The config's fine-tune over folds of train + validation, each scored by its cross-fitted kept epoch
    (`crossval` module); also written to `crossval_record(config)`."""
    task = crossval_task(config)
    from finetune_cookbook.core.crossval import cross_validate

    return cross_validate(task, task.load_data(config), config, folds, crossval_record(config))


def predict_file(model_dir: str | Path, path: str | Path, column: str | None = None) -> pd.DataFrame:
    """Runs the saved model's own task on a user's file (or folder); `column` names the input column of a table."""
    task = get_task(read_model_info(model_dir)["task"])
    predictions = task.predict_file(model_dir, path, column)
    if hasattr(task, "new_data_features"):  # is this batch like the training data? (`core.shift`)
        notes = notes_on_batch(model_folder(model_dir), len(predictions),
                               lambda: task.new_data_features(model_dir, path, column))
        predictions.attrs["notes"] = [*predictions.attrs.get("notes", []), *notes]
    return predictions


def chat(model_dir: str | Path, responses: str | Path | None, lines, out, interactive: bool,
         as_json: bool = False) -> int:
    """Talks to a saved model whose task can chat (intent): each message of `lines` answered on `out`; returns
    how many it answered."""
    task_name = read_model_info(model_dir)["task"]
    task = get_task(task_name)
    if not hasattr(task, "chat"):
        raise ConfigError(f"{model_dir}: a model of task {task_name!r}; `cookbook chat` talks to intent models "
                          "(task intent_classification). Use `cookbook predict` for this one.")
    return task.chat(model_dir, responses, lines, out, interactive, as_json)


def benchmark(config: RecipeConfig, naive_pair: bool = False, fine_tune_only: bool = False,
              budgets: list[float] | None = None) -> dict[int, list[ApproachResult]]:
    """Every approach of the task on the same split, the baselines then the fine-tuned model, once per seed of
    `bench_seeds` (each seed sets the split, the training and the labelled subsets alike), at every share of the
    training labels in `bench_label_budgets`. With `naive_pair`, only the fine-tune on every label and its naive
    twin: the speed-up measured again without the rest. With `fine_tune_only`, only the fine-tune, at every
    budget, and its naive twin where there is one: its curve and speed-up measured again after a change to how
    it trains. With `budgets`, only those of `bench_label_budgets` (1: every label), and the naive twin only where
    every label is among them. Returns each seed's results."""
    task = get_task(config.task)
    own_benchmark = hasattr(task, "benchmark")
    shares = bench_budgets(config, naive_pair, fine_tune_only, budgets)
    runs = {}
    for seed in config.bench_seeds:
        seeded = dataclasses.replace(
            config, data=dataclasses.replace(config.data, seed=seed),
            training=dataclasses.replace(config.training, seed=seed),
        )
        data = task.load_data(seeded)
        if own_benchmark:  # a task with approaches of its own (few-shot, a learning curve)
            with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as scratch:
                runs[seed] = task.benchmark(data, seeded, scratch)
            continue
        runs[seed] = []
        if naive_pair:
            with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as scratch:
                runs[seed].append(task.fine_tune(data, seeded, scratch).result)
        else:
            for budget in shares:
                runs[seed] += every_approach(task, data, seeded, budget, with_baselines=not fine_tune_only)
        if config.bench_naive and FULL in shares:
            with tempfile.TemporaryDirectory(prefix="cookbook-bench-naive-") as scratch:
                runs[seed].append(naive_fine_tune(task, data, seeded, scratch))
    return runs


def bench_budgets(config: RecipeConfig, naive_pair: bool = False, fine_tune_only: bool = False,
                  budgets: list[float] | None = None) -> list[float]:
    """The label budgets `benchmark` runs for `config` with these options, or the ConfigError that refuses them:
    `cookbook bench` asks it of every config before the first runs."""
    own_benchmark = hasattr(get_task(config.task), "benchmark")
    for setting, default in (("bench_naive", False), ("bench_label_budgets", [1.0])):
        if own_benchmark and getattr(config, setting) != default:
            raise ConfigError(f"{config.config_path}: {setting} is for the text and image classification tasks; "
                              f"the {config.task} task benchmarks its own approaches. Remove {setting}.")
    if naive_pair and fine_tune_only:
        raise ConfigError("--naive-pair and --fine-tune-only each run part of the benchmark; choose one.")
    if fine_tune_only and own_benchmark:
        raise ConfigError(f"{config.config_path}: --fine-tune-only is for the text and image classification tasks; "
                          f"the {config.task} task benchmarks its own approaches together. Run it without the option.")
    shares = benchmarked_budgets(config, budgets, naive_pair or own_benchmark)
    if naive_pair and not config.bench_naive:
        raise ConfigError(f"{config.config_path}: --naive-pair runs the fine-tune beside its naive twin, which "
                          "bench_naive: true asks for (text and image classification); this config has none.")
    return shares


def benchmarked_budgets(config: RecipeConfig, budgets: list[float] | None, whole_runs_only: bool) -> list[float]:
    """The label budgets a benchmark runs: every one of `bench_label_budgets` and every label, or the chosen
    `budgets`, each of which must be one of those (a record at another budget would be a point off the curve)."""
    every = sorted(set(config.bench_label_budgets) | {FULL})
    if not budgets:
        return every
    if whole_runs_only:
        raise ConfigError(f"{config.config_path}: --budgets picks label budgets of the text and image classification "
                          "curves; --naive-pair and a task that benchmarks its own approaches run whole. Remove it.")
    unknown = [budget for budget in budgets if budget not in every]
    if unknown:
        raise ConfigError(f"{config.config_path}: --budgets {', '.join(f'{b:g}' for b in unknown)} is not among the "
                          f"config's label budgets ({', '.join(f'{b:g}' for b in every)}, with 1 for every label); "
                          "choose among them, or add it to bench_label_budgets.")
    return sorted(set(budgets))


def every_approach(task, data, config: RecipeConfig, budget: float,
                   with_baselines: bool = True) -> list[ApproachResult]:
    """The baselines (unless `with_baselines` is off) and the fine-tuned model trained on `budget` of the training
    labels (a nested, stratified subset drawn with the data's seed); below every label, each result carries its
    `label_budget`."""
    if budget < FULL:
        data = labelled_subset(data, budget, config.data.seed)
    with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as scratch:
        baselines = task.baselines(data, config) if with_baselines else []
        results = baselines + [task.fine_tune(data, config, scratch).result]
    if budget < FULL:
        for result in results:
            result.setting["label_budget"] = budget
    return results


def naive_fine_tune(task, data, config: RecipeConfig, scratch: str) -> ApproachResult:
    """The fine-tune trained as a typical tutorial trains it (`training.speed: naive`): the speed baseline."""
    naive = dataclasses.replace(config.training, speed="naive")
    result = task.fine_tune(data, config, scratch, training=naive).result
    result.approach = "fine_tuned_naive"
    result.description += ", trained the naive way (training.speed: naive)"
    return result


def check_output(output: str | Path | None, source: str | Path | None = None) -> None:
    """Refuses an --output that cannot be written, or that is the `source` file being predicted (its rows would be
    replaced by their predictions), before minutes of predicting rather than after."""
    if output is None:
        return
    output = Path(output)
    if source is not None and Path(source).is_file() and output.exists() and output.samefile(source):
        raise ConfigError(f"--output {output} is the file being predicted: the predictions would replace its rows. "
                          f"Name another file, such as {output.with_name(output.stem + '_predictions.csv')}.")
    if output.is_dir():
        raise ConfigError(f"--output {output} is a folder; give a file name, such as {output / 'predictions.csv'}.")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--output {output}: its folder cannot be made ({error}). Give a path you can write to.") \
            from error


def write_predictions(predictions: pd.DataFrame, output: str | Path | None) -> None:
    """CSV to stdout, or to `output` whole: written beside it first and renamed, so no half-written file is left."""
    if output is None:
        print(predictions.to_csv(index=False), end="")
        return
    check_output(output)
    output = Path(output)
    if output.is_symlink() or (output.exists() and not output.is_file()):  # /dev/stdout, a link: write through it
        predictions.to_csv(output, index=False)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        predictions.to_csv(partial, index=False)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
