"""What a task (a kind of model) provides, and the registry that finds one by name.

`recipe.py` and `cli.py` call only what `Task` lists, so a sixth domain is one new module here, one notebook and
one recipe folder. A task is a module: its functions and constants satisfy the protocol structurally.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from ..errors import ConfigError

# Task name (the config's `task`) -> the module that implements it; imported only when used.
TASKS = {
    "text_classification": "finetune_cookbook.tasks.text_classification",
    "image_classification": "finetune_cookbook.tasks.image_classification",
    "intent_classification": "finetune_cookbook.tasks.intent",
    "anomaly_detection": "finetune_cookbook.tasks.anomaly_detection",
    "segmentation": "finetune_cookbook.tasks.segmentation",
}


@runtime_checkable
class Task(Protocol):
    """The steps every domain's recipe runs, in the task's own terms.

    - `HEADLINE_METRICS`: the test metrics `cookbook train` prints and the benchmark records, most important first.
    - `load_data(config)`: reads, validates and splits the config's data (a `data.LabelledData`), before anything
      is written; bad input raises `errors.DataError` naming the file, row or column.
    - `baselines(data, config)`: what you get without fine-tuning (a model of the task data only; the frozen
      pre-trained model), as `compare.ApproachResult`s on the test split.
    - `fine_tune(data, config, output_dir, *, training=None, resume=False, callbacks=None)`: trains with the
      package's Trainer setup and scores on test; returns an object with `.result` (an ApproachResult) and
      `.trainer`.
    - `tune(data, config, output_dir)`: the fixed-budget search on validation (a `tuning.SearchResult`).
    - `model_card(config, data, metrics, output_dir, made_by)`: the Markdown saved beside the model.
    - `save_model(trainer, config, output_dir, model_card)`: writes `<output_dir>/model`, all or nothing.
    - `predict_file(model_dir, path, column=None)`: labels a user's file (or folder) with a saved model.

    Optional:
    - `benchmark(data, config, scratch_dir)`, a task's own list of approaches for `make bench` (the intent task
      adds its few-shot run and a learning curve; fraud repeats every approach over label budgets and labelled
      subsets); without it, the baselines and the fine-tuned model.
    - `pretrain(data, config, output_dir, *, resume=False, callbacks=None)`, self-supervised pre-training on
      the training rows without labels (`cookbook pretrain`), for tasks whose pre-trained model the project
      makes itself (tabular).
    - `batch_views(config)` and `positive_index(config, labels)`, for `cookbook crossval` (the `crossval`
      module): how evaluation looks at a batch of inputs (as it is; mirrored too, for images with test-time
      flips) and the class whose ROC-AUC counts. Image classification has them.
    """

    HEADLINE_METRICS: tuple[str, ...]

    def load_data(self, config) -> Any: ...

    def baselines(self, data, config) -> list: ...

    def fine_tune(self, data, config, output_dir=None, *, training=None, resume=False, callbacks=None) -> Any: ...

    def tune(self, data, config, output_dir=None) -> Any: ...

    def model_card(self, config, data, metrics: dict[str, float], output_dir, made_by: str) -> str: ...

    def save_model(self, trainer, config, output_dir, model_card: str) -> Path: ...

    def predict_file(self, model_dir, path, column: str | None = None) -> pd.DataFrame: ...


def get_task(name: str) -> Task:
    """The task module registered under `name`."""
    if name not in TASKS:
        raise ConfigError(f"task {name!r} is not known; choose one of {', '.join(TASKS)}.")
    return importlib.import_module(TASKS[name])
