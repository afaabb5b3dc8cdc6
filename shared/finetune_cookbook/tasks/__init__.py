"""What a task (a kind of model) provides, and the registry that finds one by name.

`recipe.py`, `cli.py`, `bench.py` and `config.py` reach a task only through `get_task` and `config_class`. A task
is a sub-package here: `__init__.py` holds the protocol's steps (its functions and constants satisfy `Task`
structurally), `config.py` its config class as `CONFIG`, and the rest its own helpers. A sixth domain is one new
sub-package, one line in `TASKS`, a notebook and a recipe folder (docs/architecture.md has the checklist).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol, runtime_checkable

import pandas as pd

from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.errors import ConfigError

DEFAULT_TASK = "text_classification"  # a config that names no task
# Task name (the config's `task`) -> the sub-package that implements it; imported only when used.
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
    - `load_data(config)`: reads, validates and splits the config's data (a `core.data.LabelledData`), before
      anything is written; bad input raises `errors.DataError` naming the file, row or column.
    - `baselines(data, config, output_dir=None)`: what you get without fine-tuning (a model of the task data only;
      the frozen pre-trained model), as `compare.ApproachResult`s on the test split; `output_dir` is where a task
      that needs one finds its pre-trained checkpoint.
    - `fine_tune(data, config, output_dir=None, *, training=None, resume=False, callbacks=None)`: trains with the
      package's Trainer setup and scores on test; returns an object with `.result` (an ApproachResult) and
      `.trainer`.
    - `tune(data, config, output_dir=None)`: the fixed-budget search on validation (a `tuning.SearchResult`).
    - `model_name(config)`: the pre-trained model the fine-tune started from, as records and cards name it.
    - `model_card(config, data, metrics, output_dir, made_by)`: the Markdown saved beside the model.
    - `save_model(trainer, config, output_dir, model_card, extra_files=None)`: writes `<output_dir>/model`, all or
      nothing, with `extra_files` (name -> bytes) in it, what the commands keep beside any task's model, and the
      config (`core.config.with_config`).
    - `predict_file(model_dir, path, column=None)`: labels a user's file (or folder) with a saved model.

    A step may take keyword-only parameters with defaults beyond these (the tabular tasks' `fine_tune` takes an
    already loaded `pretrained` checkpoint); the commands never pass them. tests/unit/tasks/test_task_contract.py
    checks every registered task against these signatures.

    Optional steps (`OPTIONAL_STEPS`; a task has them or not, and the commands ask with `hasattr`):
    - `benchmark(data, config, scratch_dir)`, a task's own list of approaches for `make bench` (the intent task
      adds its few-shot run and a learning curve; fraud repeats every approach over label budgets and labelled
      subsets); without it, the baselines and the fine-tuned model.
    - `pretrain(data, config, output_dir=None, *, resume=False, callbacks=None)`, self-supervised pre-training on
      the training rows without labels (`cookbook pretrain`), for tasks whose pre-trained model the project
      makes itself (tabular).
    - `batch_views(config)` and `positive_index(config, labels)`, for `cookbook crossval` (`core.crossval`): how
      evaluation looks at a batch of inputs (as it is; mirrored too, for images with test-time flips) and the
      class whose ROC-AUC counts. Image classification has them.
    - `chat(model_dir, responses, lines, out, interactive, as_json=False)`, for `cookbook chat`: answers each
      message read from `lines` on `out`; returns how many it answered. The intent task has it.
    - `export(model_dir, export_dir, data=None, quantize=None)`, for `cookbook export`: writes the ONNX graph,
      `runtime.py` and what prediction needs into `export_dir`, checks parity with PyTorch on the test split of
      `data` (the run's data read again, or None), and returns what `export.json` holds. Every task has it.
    - `predictor(model_dir)`, for `cookbook serve --backend torch`: the saved model loaded once, with `labels`,
      `input_kind` ("texts", "images" or "rows"), `model_file`, and `predict(items, names=None)` answering as an
      export's `runtime.py` does. Every task has it.
    - `shift_features(data, config, split, trainer=None)` and `new_data_features(model_dir, path, column=None)`,
      for the checks of `core.shift`: features of at most `shift.MAX_ROWS` rows of a split (after training;
      `trainer` holds the trained model), and of a file `cookbook predict` labels, in the same space: the frozen
      pre-trained model's embeddings, or a table's encoded columns. Every task has them.
    """

    HEADLINE_METRICS: ClassVar[tuple[str, ...]]

    def load_data(self, config) -> Any: ...

    def baselines(self, data, config, output_dir=None) -> list: ...

    def fine_tune(self, data, config, output_dir=None, *, training=None, resume=False, callbacks=None) -> Any: ...

    def tune(self, data, config, output_dir=None) -> Any: ...

    def model_name(self, config) -> str: ...

    def model_card(self, config, data, metrics: dict[str, float], output_dir, made_by: str) -> str: ...

    def save_model(self, trainer, config, output_dir, model_card: str, extra_files: dict[str, bytes] | None = None) -> Path: ...

    def predict_file(self, model_dir, path, column: str | None = None) -> pd.DataFrame: ...


class OptionalSteps(Protocol):
    """The signatures of the optional steps, for the contract test; see `Task`."""

    def benchmark(self, data, config, scratch_dir) -> list: ...

    def pretrain(self, data, config, output_dir=None, *, resume=False, callbacks=None) -> Any: ...

    def batch_views(self, config) -> list: ...

    def positive_index(self, config, labels: list[str]) -> int | None: ...

    def chat(self, model_dir, responses, lines: IO[bytes], out: IO[str], interactive: bool, as_json: bool = False) -> int: ...

    def export(self, model_dir, export_dir, data=None, quantize=None) -> dict: ...

    def predictor(self, model_dir) -> Any: ...

    def shift_features(self, data, config, split: str, trainer=None) -> Any: ...

    def new_data_features(self, model_dir, path, column: str | None = None) -> Any: ...


OPTIONAL_STEPS = ("benchmark", "pretrain", "batch_views", "positive_index", "chat", "export", "predictor",
                  "shift_features", "new_data_features")
STEPS_TOGETHER = (("batch_views", "positive_index"), ("shift_features", "new_data_features"))  # both or neither


def get_task(name: str) -> Task:
    """The task module registered under `name`; `ConfigError` naming the known tasks for any other name."""
    if name not in TASKS:
        raise ConfigError(f"task {name!r} is not known; choose one of {', '.join(TASKS)}.")
    return importlib.import_module(TASKS[name])


def config_class(name: str) -> type[RecipeConfig]:
    """The config class of the task registered under `name` (its `config.py`'s `CONFIG`). Importing it runs the
    task package's `__init__` too, as any import of a sub-module does: the first config read in a process costs the
    task's imports (torch, transformers), which its training needs next anyway."""
    if name not in TASKS:
        raise ConfigError(f"task {name!r} is not known; choose one of {', '.join(TASKS)}.")
    return importlib.import_module(f"{TASKS[name]}.config").CONFIG
