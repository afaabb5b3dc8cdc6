"""Reading a recipe config: its `task` first, then that task's own config class (`tasks/<task>/config.py`).

`finetune_cookbook.core.config` holds the shared sections and the reading; this module, like the other commands,
reaches the tasks only through the registry. The section classes stay importable from here under their old
names (`from finetune_cookbook.config import RecipeConfig, FraudConfig`), for code written before the layout.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

from finetune_cookbook.core.config import (  # noqa: F401  (the shared sections, importable from here as before)
    DataConfig,
    EvaluationConfig,
    ModelConfig,
    RecipeConfig,
    TrainingConfig,
    TuneConfig,
    build,
    config_to_dict,
    is_default,
    read_raw,
)
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.tasks import DEFAULT_TASK, TASKS, config_class


def load_config(path: str | Path, overrides: dict | None = None) -> RecipeConfig:
    """Reads a recipe config into the config class of the task it names (a `RecipeConfig` subclass), checking
    every setting; `overrides` (nested like the YAML) win over the file, as notebook parameters do. Raises
    `ConfigError` naming the file and the setting."""
    raw = read_raw(path, overrides)
    where = str(path)
    task = raw.setdefault("task", DEFAULT_TASK)
    if not isinstance(task, str) or task not in TASKS:
        raise ConfigError(f"{where}: task {task!r} is not known; choose one of {', '.join(TASKS)}.")
    cls = config_class(task)
    raw = _without_unread_sections(raw, cls, task, where)
    config = build(cls, raw, where)
    _refuse_settings_of_other_tasks(config, task, where)
    config.check(where)
    return config


def _without_unread_sections(raw: dict, cls: type[RecipeConfig], task: str, where: str) -> dict:
    """Refuses a section the task does not read, naming the task and its sections. A section that another task
    reads and that holds only its defaults is dropped instead: configs saved before each task owned its sections
    hold every task's sections that way."""
    own = cls.sections()
    kept = dict(raw)
    for name, values in raw.items():
        if name in cls.__dataclass_fields__:
            continue
        every_task = {other: config_class(other).sections() for other in TASKS}
        owners = {other: sections[name] for other, sections in every_task.items() if name in sections}
        if not owners:
            continue  # not a section of any task: `build` names it among the unknown settings
        if all(is_default(section, values, f"{where}.{name}") for section in owners.values()):
            del kept[name]
            continue
        _refuse_settings_read_by_some(name, values, next(iter(owners.values())), task, where)
        raise ConfigError(f"{where}: task {task!r} does not read the `{name}` section (the sections it reads: "
                          f"{', '.join(own)}); remove it, or set `task` to one that reads it "
                          f"({', '.join(owners)}).")
    return kept


def _refuse_settings_read_by_some(name: str, values, section_class: type, task: str, where: str) -> None:
    """A section the task does not read that sets only settings some tasks read (`model: {head: probe}` for a
    tabular task) gets the message those settings always got, naming the tasks that read them."""
    try:
        section = build(section_class, values, f"{where}.{name}")
    except ConfigError:
        return
    default = section_class()
    changed = {f.name: f for f in dataclasses.fields(section_class)
               if getattr(section, f.name) != getattr(default, f.name)}
    if changed and all(f.metadata.get("read_by") for f in changed.values()):
        setting, field = next(iter(changed.items()))
        readers = [other for other in TASKS if f"{name}.{setting}" in config_class(other).READS]
        raise ConfigError(f"{where}: {name}.{setting} is {getattr(section, setting)!r}, a setting of "
                          f"{field.metadata['read_by']} ({', '.join(readers)}); remove it for task {task!r}.")


def _refuse_settings_of_other_tasks(config: RecipeConfig, task: str, where: str) -> None:
    """Refuses a setting of a shared section that only some tasks read (`training.ema_decay`), set away from its
    default for a task that does not read it."""
    for name, (value, which) in config.settings_read_by_some().items():
        if name not in type(config).READS:
            readers = [other for other in TASKS if name in config_class(other).READS]
            raise ConfigError(f"{where}: {name} is {value!r}, a setting of {which} ({', '.join(readers)}); remove it "
                              f"for task {task!r}.")


__all__ = ["load_config", "DataConfig", "EvaluationConfig", "ModelConfig", "RecipeConfig", "TrainingConfig",
           "TuneConfig", "config_to_dict", "TabularConfig", "PretrainConfig", "pretraining_objective", "IntentConfig",
           "FraudConfig", "SegmentationConfig"]


def __getattr__(name: str):
    """The sections that moved to their tasks and modalities, under the names they had here."""
    if name in ("HEAD_TASKS", "IMAGE_TRAINING_TASKS"):  # the tasks that read model.head / training.ema_decay
        setting = "model.head" if name == "HEAD_TASKS" else "training.ema_decay"
        return tuple(task for task in TASKS if setting in config_class(task).READS)
    moved = {"TabularConfig": "finetune_cookbook.tabular.config", "PretrainConfig": "finetune_cookbook.tabular.config",
             "pretraining_objective": "finetune_cookbook.tabular.config",
             "PRETRAIN_OBJECTIVES": "finetune_cookbook.tabular.config",
             "Yaml12Loader": "finetune_cookbook.core.config", "DATA_FORMATS": "finetune_cookbook.core.io.formats",
             "IntentConfig": "finetune_cookbook.tasks.intent.config",
             "FraudConfig": "finetune_cookbook.tasks.anomaly_detection.config",
             "SegmentationConfig": "finetune_cookbook.tasks.segmentation.config"}
    if name in moved:
        return getattr(importlib.import_module(moved[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
