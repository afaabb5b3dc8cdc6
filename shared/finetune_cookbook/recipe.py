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

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig, config_to_dict
from finetune_cookbook.core.data import LabelledData
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.core.records import record_metrics
from finetune_cookbook.core.saving import MODEL_DIR, read_model_info
from finetune_cookbook.tasks import Task, get_task


@dataclass
class TrainSummary:
    output_dir: Path
    model_dir: Path
    metrics: dict[str, float]
    data: LabelledData
    headline_metrics: tuple[str, ...] = ()
    main_process: bool = True  # False in the other processes of a torchrun launch


def train(config: RecipeConfig, output_dir: str | Path | None = None, resume: bool = False, callbacks=None,
          on_data=None) -> TrainSummary:
    """Validates the data (before anything is written), fine-tunes, scores on test, and saves the model,
    `metrics.json`, the model card and the config that produced them. `on_data` is called with the data once it
    is read and checked, before training (the command line prints its report)."""
    task: Task = get_task(config.task)
    data = task.load_data(config)
    if on_data is not None:
        on_data(data)
    output_dir = Path(output_dir or config.output_dir)
    tuned = task.fine_tune(data, config, output_dir, resume=resume, callbacks=callbacks)
    summary = TrainSummary(output_dir, output_dir / MODEL_DIR, tuned.result.metrics, data, task.HEADLINE_METRICS)
    if not tuned.trainer.is_world_process_zero():  # under torchrun, one process writes the results
        summary.main_process = False
        return summary
    card = task.model_card(config, data, tuned.result.metrics, output_dir, made_by=f"`cookbook train {config.config_path}`")
    summary.model_dir = task.save_model(tuned.trainer, config, output_dir, card)
    (output_dir / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    record_metrics(
        output_dir, config.domain, {"fine_tuned": tuned.result.metrics},
        dataset=data.report.source, model=task.model_name(config),
        data=dataclasses.asdict(data.report),
        train_seconds=tuned.result.train_seconds, best_validation=tuned.trainer.state.best_metric,
        headline_metrics=list(task.HEADLINE_METRICS),
    )
    return summary


def pretrain(config: RecipeConfig, output_dir: str | Path | None = None, resume: bool = False, callbacks=None,
             on_data=None):
    """Self-supervised pre-training for tasks that make their own pre-trained model (tabular); returns the
    task's checkpoint (its `.folder` is where it was saved). `on_data` is called with the data once it is read
    and checked, before training (the command line prints its report)."""
    task = get_task(config.task)
    if not hasattr(task, "pretrain"):
        raise ConfigError(f"{config.config_path}: task {config.task!r} starts from a published pre-trained model "
                          "(model.name), so there is nothing to pre-train. Run `cookbook train`.")
    data = task.load_data(config)
    if on_data is not None:
        on_data(data)
    return task.pretrain(data, config, output_dir or config.output_dir, resume=resume, callbacks=callbacks)


def tune(config: RecipeConfig, output_dir: str | Path | None = None):
    """Runs the fixed-budget search and writes its trials table and best settings to `<output_dir>/search`."""
    task = get_task(config.task)
    data = task.load_data(config)
    output_dir = Path(output_dir or config.output_dir)
    result = task.tune(data, config, output_dir)
    folder = output_dir / "search"
    folder.mkdir(parents=True, exist_ok=True)
    result.trials.to_csv(folder / "trials.csv", index=False)
    best = {"training": dataclasses.asdict(result.best_training(config.training))}
    (folder / "best_training.yaml").write_text(
        f"# Best of {len(result.trials)} trials: validation {result.metric} {result.best_value:.4f}.\n"
        "# Paste this `training` section into your config to train with these settings.\n"
        + yaml.safe_dump(best, sort_keys=False)
    )
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
    return task.predict_file(model_dir, path, column)


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


def benchmark(config: RecipeConfig) -> dict[int, list[ApproachResult]]:
    """Every approach of the task on the same split, the baselines then the fine-tuned model, once per seed of
    `bench_seeds` (each seed sets the split and the training alike). Returns each seed's results."""
    task = get_task(config.task)
    runs = {}
    for seed in config.bench_seeds:
        seeded = dataclasses.replace(
            config, data=dataclasses.replace(config.data, seed=seed),
            training=dataclasses.replace(config.training, seed=seed),
        )
        data = task.load_data(seeded)
        with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as scratch:
            if hasattr(task, "benchmark"):  # a task with approaches of its own (few-shot, a learning curve)
                runs[seed] = task.benchmark(data, seeded, scratch)
            else:
                runs[seed] = task.baselines(data, seeded) + [task.fine_tune(data, seeded, scratch).result]
    return runs


def check_output(output: str | Path | None) -> None:
    """Refuses an --output that cannot be written, before minutes of predicting rather than after."""
    if output is None:
        return
    output = Path(output)
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
