"""Hyperparameter search with a fixed trial budget: `Trainer.hyperparameter_search` with Optuna."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import pandas as pd
from transformers import Trainer

from finetune_cookbook.core.config import TrainingConfig, TuneConfig

# Optuna / TrainingArguments parameter -> the recipe's `training` setting it overrides.
SEARCHED = {
    "learning_rate": "learning_rate",
    "num_train_epochs": "epochs",
    "per_device_train_batch_size": "batch_size",
    "weight_decay": "weight_decay",
}


@dataclass
class SearchResult:
    trials: pd.DataFrame
    best_params: dict[str, float]
    best_value: float
    metric: str

    def best_training(self, training: TrainingConfig) -> TrainingConfig:
        """The recipe's training settings with the best trial's values in place of the searched ones."""
        return dataclasses.replace(training, **{SEARCHED[k]: v for k, v in self.best_params.items()})


def search_space(tune: TuneConfig, epochs_trained: Callable[[int, int], float] | None = None):
    """The searched settings of a trial. `epochs_trained(epochs, batch_size)` gives the passes a trial trains
    where a step floor raises them (the recipe's `training.min_steps`): the trial is trained and recorded
    (`epochs_trained`) as the same settings train again after the search."""
    def space(trial: optuna.Trial) -> dict:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", *tune.learning_rate, log=True),
            "num_train_epochs": trial.suggest_int("num_train_epochs", *tune.epochs),
            "per_device_train_batch_size": trial.suggest_categorical("per_device_train_batch_size", tune.batch_size),
            "weight_decay": trial.suggest_float("weight_decay", *tune.weight_decay),
        }
        if epochs_trained is not None:
            params["num_train_epochs"] = epochs_trained(params["num_train_epochs"],
                                                        params["per_device_train_batch_size"])
        trial.set_user_attr("epochs_trained", params["num_train_epochs"])
        return params

    return space


def search(trainer: Trainer, tune: TuneConfig, metric: str, greater_is_better: bool = True,
           epochs_trained: Callable[[int, int], float] | None = None) -> SearchResult:
    """Runs `tune.n_trials` trials on a Trainer built with `model_init`, optimising the validation `metric`.

    Optuna's seeded TPE sampler draws the first half of the trials at random, then picks each next setting
    from the trials so far (with its default of 10 random start-up trials, a small budget would be all random).
    Every trial runs to the end: the Trainer reports to the pruner by optimiser step, and steps differ between
    batch sizes, so a median pruner would compare nothing. The study lives in memory so its full trials table
    can be returned.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.InMemoryStorage()
    trainer.hyperparameter_search(
        hp_space=search_space(tune, epochs_trained),
        compute_objective=lambda metrics: metrics[f"eval_{metric}"],
        n_trials=tune.n_trials,
        direction="maximize" if greater_is_better else "minimize",
        backend="optuna",
        study_name="cookbook",
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=tune.seed, n_startup_trials=max(1, tune.n_trials // 2)),
        pruner=optuna.pruners.NopPruner(),
    )
    study = optuna.load_study(study_name="cookbook", storage=storage)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state", "duration"))
    trials.columns = [c.removeprefix("params_").removeprefix("user_attrs_") for c in trials.columns]
    trials = trials.rename(columns={"value": f"validation_{metric}"})
    trials["duration"] = trials["duration"].dt.total_seconds().round(1)
    return SearchResult(trials=trials, best_params=dict(study.best_params), best_value=study.best_value, metric=metric)
