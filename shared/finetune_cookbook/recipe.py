"""What `cookbook train / tune / predict` do, for any task: the same steps, the task's own model code."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from . import text_classification
from .compare import ApproachResult
from .config import RecipeConfig, config_to_dict
from .data import ROW, LabelledData, read_lines, read_table
from .errors import ConfigError
from .modelcard import model_card
from .records import record_metrics

TASKS = {"text_classification": text_classification}


def task_module(task: str):
    if task not in TASKS:
        raise ConfigError(f"task {task!r} is not known; choose one of {', '.join(TASKS)}.")
    return TASKS[task]


@dataclass
class TrainSummary:
    output_dir: Path
    model_dir: Path
    metrics: dict[str, float]
    data: LabelledData
    main_process: bool = True  # False in the other processes of a torchrun launch


def train(config: RecipeConfig, output_dir: str | Path | None = None, resume: bool = False, callbacks=None) -> TrainSummary:
    """Validates the data (before anything is written), fine-tunes, scores on test, and saves the model,
    `metrics.json`, the model card and the config that produced them."""
    task = task_module(config.task)
    data = task.load_data(config)
    output_dir = Path(output_dir or config.output_dir)
    tuned = task.fine_tune(data, config, output_dir, resume=resume, callbacks=callbacks)
    main_process = tuned.trainer.is_world_process_zero()
    if not main_process:  # under torchrun, one process writes the results
        return TrainSummary(output_dir, output_dir / task.MODEL_DIR, tuned.result.metrics, data, main_process)
    card = model_card(config, data.report, tuned.result.metrics, data.labels, output_dir,
                      made_by=f"`cookbook train {config.config_path}`")
    model_dir = task.save_model(tuned.trainer, config, output_dir, card)
    (output_dir / "config.yaml").write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
    record_metrics(
        output_dir, config.domain, {"fine_tuned": tuned.result.metrics},
        dataset=data.report.source, model=config.model.name, data=dataclasses.asdict(data.report),
        train_seconds=tuned.result.train_seconds, best_validation=tuned.trainer.state.best_metric,
    )
    return TrainSummary(output_dir, model_dir, tuned.result.metrics, data, main_process)


def tune(config: RecipeConfig, output_dir: str | Path | None = None):
    """Runs the fixed-budget search and writes its trials table and best settings to `<output_dir>/search`."""
    task = task_module(config.task)
    data = task.load_data(config)
    output_dir = Path(output_dir or config.output_dir)
    result = task.tune(data, config, output_dir)
    folder = output_dir / "search"
    folder.mkdir(parents=True, exist_ok=True)
    result.trials.to_csv(folder / "trials.csv", index=False)
    best = {"training": dataclasses.asdict(result.best_training(config.training))}
    (folder / "best_training.yaml").write_text(
        f"# Best of {config.tune.n_trials} trials: validation {result.metric} {result.best_value:.4f}.\n"
        "# Paste this `training` section into your config to train with these settings.\n"
        + yaml.safe_dump(best, sort_keys=False)
    )
    return result


def predict_file(model_dir: str | Path, path: str | Path, text_column: str | None = None) -> pd.DataFrame:
    """Labels every row of a CSV / TSV / JSON Lines / parquet file, or every line of a .txt file."""
    path = Path(path)
    if path.suffix.lower() == ".txt":
        table, text_column = pd.DataFrame({"text": read_lines(path)}), "text"
    else:
        table = read_table(path).drop(columns=ROW)
    info = text_classification.read_model_info(model_dir)
    task = task_module(info.get("task", "text_classification"))
    return task.predict_table(model_dir, table, str(path), text_column)


def benchmark(config: RecipeConfig) -> tuple[LabelledData, list[ApproachResult]]:
    """Every approach of the task on the same split: the baselines, then the fine-tuned model."""
    task = task_module(config.task)
    data = task.load_data(config)
    results = task.baselines(data, config)
    with tempfile.TemporaryDirectory(prefix="cookbook-bench-") as scratch:
        results.append(task.fine_tune(data, config, scratch).result)
    return data, results


def write_predictions(predictions: pd.DataFrame, output: str | Path | None) -> None:
    if output is None:
        print(predictions.to_csv(index=False), end="")
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        predictions.to_csv(output, index=False)
