"""Pre-training the tabular model on unlabelled rows, and fine-tuning it on labelled ones, on the package's Trainer.

The checkpoint is a folder `save_pretrained` writes (config.json, model.safetensors) plus the column encoder
(encoder.skops, schema.json) and `pretraining.json`, which records the data and split it learned from, so
fine-tuning refuses a checkpoint that saw what is now the test split.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from transformers import set_seed

from finetune_cookbook.core.config import RecipeConfig, TrainingConfig, with_config
from finetune_cookbook.core.data import ReadSettings, read_source
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.readers import ROW
from finetune_cookbook.core.linear_probe import probe_weights, set_head
from finetune_cookbook.core.measure import Measurement, measure
from finetune_cookbook.core.metrics import ranking_metrics
from finetune_cookbook.core.saving import model_folder, read_model_info, save_atomically
from finetune_cookbook.core.progress import rows_of
from finetune_cookbook.core.training import (
    build_trainer,
    checkpoint_to_resume,
    epochs_for_min_steps,
    global_batch,
    training_arguments,
)
from finetune_cookbook.tabular.columns import EncodedRows, TabularEncoder, clean_cells, without_empty_rows
from finetune_cookbook.tabular.config import pretraining_objective
from finetune_cookbook.tabular.data import TabularData
from finetune_cookbook.tabular.deviation import deviation_loss
from finetune_cookbook.tabular.model import (
    TabularForClassification,
    TabularForMaskedFeatures,
    TabularModelConfig,
    row_embeddings,
)

PRETRAINED_DIR = "pretrained"
RECORD = "pretraining.json"


def rows_dataset(rows: EncodedRows, targets: np.ndarray | None = None) -> datasets.Dataset:
    """Encoded rows as a `datasets.Dataset` of torch tensors (`numeric`, `categorical`, and `prior` and `labels`
    where there are)."""
    columns = {"numeric": rows.numeric, "categorical": rows.categorical}
    if rows.prior is not None:
        columns["prior"] = np.asarray(rows.prior, dtype=np.float32)
    if targets is not None:
        columns["labels"] = np.asarray(targets, dtype=np.int64)
    return datasets.Dataset.from_dict(columns).with_format("torch")


def pretrained_model_name(config: RecipeConfig) -> str:
    settings = config.pretrain
    return (f"FT-Transformer pre-trained by {pretraining_objective(settings)} ({settings.n_blocks} blocks, "
            f"d_token {settings.d_token})")


def pretrained_dir(config: RecipeConfig, output_dir: str | Path | None = None) -> Path:
    if config.pretrain.output_dir:
        return Path(config.pretrain.output_dir)
    return Path(output_dir or config.output_dir) / PRETRAINED_DIR


def split_fingerprint(config: RecipeConfig, data: TabularData) -> dict:
    """What decides which rows are training rows, and how columns are read: a checkpoint is only used with the
    same. The training rows' content is hashed too, so a file rewritten at the same path is caught."""
    rows = data.splits["train"].drop(columns=[ROW], errors="ignore")
    return {
        "training_rows_hash": str(int(pd.util.hash_pandas_object(rows, index=False).sum())),
        "column_types": dict(sorted(config.tabular.column_types.items())),
        "min_category_count": config.tabular.min_category_count,
        "source": config.data.source, "label_column": config.data.label_column, "seed": config.data.seed,
        "test_size": config.data.test_size, "validation_size": config.data.validation_size,
        "sample_size": config.data.sample_size, "time_columns": config.tabular.time_columns,
        "drop_columns": sorted(config.tabular.drop_columns), "positive_value": config.tabular.positive_value,
    }


@dataclass
class Pretrained:
    """A pre-trained checkpoint, loaded: the column encoder and the pre-training model."""

    folder: Path
    encoder: TabularEncoder
    model: TabularForMaskedFeatures
    seconds: float = 0.0
    saved: bool = True  # False in the other processes of a torchrun launch: only the main one writes


def pretrain(data: TabularData, config: RecipeConfig, output_dir: str | Path | None = None, *, resume: bool = False,
             callbacks=None, folder: str | Path | None = None) -> Pretrained:
    """Fits the column encoder on the training rows, pre-trains the model on them without labels, and saves the
    checkpoint (all of it, or nothing) to `folder` (default: `pretrain.output_dir`)."""
    folder = Path(folder) if folder else pretrained_dir(config, output_dir)
    origin = data.report.source
    encoder = TabularEncoder(data.kinds, config.tabular.min_category_count).fit(data.splits["train"], origin)
    rows = {"train": encoder.encode(data.splits["train"], origin)}
    settings = config.pretrain
    model_config = TabularModelConfig(
        n_numeric=rows["train"].numeric.shape[1], cardinalities=encoder.cardinalities, d_token=settings.d_token,
        n_blocks=settings.n_blocks, n_heads=settings.n_heads, mask_rate=settings.mask_rate,
        corruption=settings.corruption, contrastive_weight=settings.contrastive_weight,
        anomaly_score=settings.anomaly_scores[0],
    )
    set_seed(config.training.seed)
    model = TabularForMaskedFeatures(model_config)
    training = TrainingConfig(
        epochs=settings.epochs, batch_size=settings.batch_size, eval_batch_size=1024, learning_rate=settings.learning_rate,
        weight_decay=1e-5, warmup_ratio=0.05, lr_scheduler="cosine", class_weights="none",
        early_stopping_patience=None, metric_for_best_model="loss", precision=config.training.precision,
        max_steps=settings.max_steps, logging_steps=config.training.logging_steps, seed=config.training.seed,
    )
    work = folder.with_name(folder.name + ".work")
    # No evaluation during pre-training (there are no labels to score); checkpoints each epoch allow a resume.
    args = training_arguments(training, work, load_best_model_at_end=False, train_sampling_strategy="random",
                              eval_strategy="no", metric_for_best_model=None)
    trainer = build_trainer(training, args, train_dataset=rows_dataset(rows["train"]), eval_dataset=None,
                            train_label_ids=[], n_classes=1, model=model, callbacks=callbacks)
    checkpoint = checkpoint_to_resume(work, resume, trainer.is_world_process_zero())
    if checkpoint:
        _check_resumable(Path(checkpoint), model_config, config)
    with measure("pre-training (no labels)") as cost:
        trainer.train(resume_from_checkpoint=checkpoint)
    if trainer.is_world_process_zero():
        model.calibrate_surprise(rows["train"].numeric, rows["train"].categorical)  # what the anomaly score measures against
        _save_checkpoint(folder, model, encoder, config, data, cost)
        shutil.rmtree(work, ignore_errors=True)
    return Pretrained(folder, encoder, model, cost.seconds, saved=trainer.is_world_process_zero())


OBJECTIVE_SETTINGS = ("corruption", "contrastive_weight")  # fine-tuning settings were chosen for one objective
RESUMED_SETTINGS = (*OBJECTIVE_SETTINGS, "mask_rate", "d_token", "n_blocks", "n_heads")


def _settings_changed(saved: dict, wanted, names: tuple[str, ...]) -> list[tuple[str, object, object]]:
    """(name, the checkpoint's value, the wanted value) for each setting a checkpoint has otherwise than `wanted`
    asks; a setting the checkpoint predates reads as its default."""
    defaults = TabularModelConfig()
    found = {name: saved.get(name, getattr(defaults, name)) for name in names}
    return [(name, found[name], getattr(wanted, name)) for name in names if found[name] != getattr(wanted, name)]


def _check_resumable(checkpoint: Path, model_config: TabularModelConfig, config: RecipeConfig) -> None:
    """A pre-training resumes only with the settings it started with: another objective or shape would either fail
    deep in the optimizer's state or quietly train a mixture of two models."""
    saved = json.loads((checkpoint / "config.json").read_text())
    changed = [f"pretrain.{name} {started!r} (now {now!r})"
               for name, started, now in _settings_changed(saved, model_config, RESUMED_SETTINGS)]
    if changed:
        raise ConfigError(f"{checkpoint}: the interrupted pre-training ran with {', '.join(changed)}. Set them back in "
                          f"{config.config_path} to resume it, or run `cookbook pretrain {config.config_path}` without "
                          f"--resume to start afresh.")


def _save_checkpoint(folder: Path, model, encoder: TabularEncoder, config: RecipeConfig, data: TabularData,
                     cost: Measurement) -> None:
    record = {"split": split_fingerprint(config, data), "training_rows": len(data.splits["train"]),
              "train_seconds": round(cost.seconds, 1), "objective": pretraining_objective(config.pretrain),
              "mask_rate": config.pretrain.mask_rate}

    def write(partial: Path) -> None:
        model.save_pretrained(partial)
        encoder.save(partial)
        (partial / RECORD).write_text(json.dumps(record, indent=2, default=str))

    save_atomically(folder.parent, write, name=folder.name)


def load_pretrained(config: RecipeConfig, data: TabularData, output_dir: str | Path | None = None,
                    folder: str | Path | None = None) -> Pretrained:
    """The checkpoint `cookbook pretrain` saved for this config; an error that says what to run if there is
    none, or if it was pre-trained on another split of the data."""
    folder = Path(folder) if folder else pretrained_dir(config, output_dir)
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{folder}: no pre-trained checkpoint. Run `cookbook pretrain {config.config_path}` first "
                          "(or set pretrain.output_dir to where one is).")
    record = json.loads((folder / RECORD).read_text()) if (folder / RECORD).is_file() else {}
    if json.loads(json.dumps(split_fingerprint(config, data), default=str)) != record.get("split"):
        raise ConfigError(f"{folder}: this checkpoint was pre-trained on other data or another split "
                          f"({record.get('split')}); its training rows may include this config's test rows. Run "
                          f"`cookbook pretrain {config.config_path}` again.")
    model = TabularForMaskedFeatures.from_pretrained(folder)
    changed = _settings_changed(model.config.to_dict(), config.pretrain, OBJECTIVE_SETTINGS)
    if changed:
        setting, saved, asked = changed[0]
        raise ConfigError(f"{folder}: this checkpoint was pre-trained with pretrain.{setting} {saved!r}, and "
                          f"{config.config_path} asks for {asked!r} (its fine-tuning settings were chosen for that). "
                          f"Run `cookbook pretrain {config.config_path}` again, or set pretrain.{setting} to {saved!r}.")
    # calibrated for every kind: no new pre-training; of a list, the first until a run chooses on its labels
    model.config.anomaly_score = config.pretrain.anomaly_scores[0]
    return Pretrained(folder, TabularEncoder.load(folder), model, float(record.get("train_seconds", 0.0)))


def start_classifier(pretrained: Pretrained, config: RecipeConfig, labelled_rows: EncodedRows,
                     labelled_targets: np.ndarray, seed: int, from_pretrained: bool = True,
                     prior_scale: list[float] | None = None) -> TabularForClassification:
    """The network as fine-tuning starts it: the pre-trained encoder, a head fitted as a linear probe
    (`pretrain.probe_first`) and column masking as augmentation; or (`from_pretrained=False`) the same shape
    from a random start, without the masking, which only a pre-trained model understands. With `prior_scale`
    (the pre-trained anomaly score's mean and spread on the training rows) the pre-trained network adds that score
    to its fraud logit and its head starts at zero: it begins by ranking rows as the pre-trained score does."""
    settings = config.pretrain
    model = classifier_from(pretrained if from_pretrained else None, pretrained.model.config, seed,
                            augment_mask_rate=settings.fine_tune_mask_rate if from_pretrained else 0.0,
                            prior_scale=prior_scale if from_pretrained else None)
    if model.has_prior:
        with torch.no_grad():
            model.head[-1].weight.zero_()
            model.head[-1].bias.zero_()
    elif from_pretrained and settings.probe_first:
        probe_head(model, labelled_rows, labelled_targets)
    return model


def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's weights, to come back to (`move_weights`)."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def move_weights(model: torch.nn.Module, start: dict[str, torch.Tensor], end: dict[str, torch.Tensor],
                 share: float) -> None:
    """Sets the model's weights `share` of the way from `start` to `end` (0: start, 1: end); counters and other
    whole-number buffers take `end`'s."""
    if share == 1:  # exactly `end`, not its rounding through the difference
        model.load_state_dict(end)
        return
    model.load_state_dict({name: start[name] + share * (value - start[name]) if value.is_floating_point() else value
                           for name, value in end.items()})


def keep_best_share(model, start: dict, shares: list[float], rank) -> float:
    """Moves the fine-tuned `model` back toward its `start` weights by each of `shares` of what fine-tuning changed
    (WiSE-FT, Wortsman et al., 2022) and leaves it at the share whose `rank()` is highest, the first on a tie.
    With few labels the fine-tuned weights overshoot: part of the way back keeps more of what pre-training gave."""
    fine = weights_of(model)
    best = None
    for share in shares:
        move_weights(model, start, fine, share)
        found = rank()
        if best is None or found > best[0]:
            best = (found, share)
    move_weights(model, start, fine, best[1])
    return best[1]


def classifier_from(pretrained: Pretrained | None, model_config: TabularModelConfig, seed: int,
                    augment_mask_rate: float = 0.0, prior_scale: list[float] | None = None) -> TabularForClassification:
    """The classifier to fine-tune: the pre-trained encoder with a new head, or (None) the same shape from scratch."""
    set_seed(seed)
    model_config = TabularModelConfig(**{**model_config.to_dict(), "augment_mask_rate": augment_mask_rate,
                                         "prior_scale": prior_scale})
    if pretrained is None:
        return TabularForClassification(model_config)
    classifier = TabularForClassification(model_config)
    classifier.encoder.load_state_dict(pretrained.model.encoder.state_dict())
    return classifier


def probe_head(model: TabularForClassification, rows: EncodedRows, targets: np.ndarray, strength: float = 0.1) -> None:
    """Starts the head as a class-balanced logistic regression on the frozen row embeddings (a linear probe), so
    fine-tuning on few labels begins from a sensible ranking instead of a random one (LP-FT, Kumar et al., 2022)."""
    features = np.maximum(row_embeddings(model.encoder, rows.numeric, rows.categorical), 0)  # the head's ReLU
    probe = LogisticRegression(C=strength, class_weight="balanced", max_iter=3000).fit(features, targets)
    set_head(model.head[-1], *probe_weights(probe, 2))


def total_steps(rows: int, training: TrainingConfig, min_steps: int) -> int:
    """The optimiser steps of `epochs_for_min_steps`'s epochs (or `training.max_steps`, where set)."""
    if training.max_steps:
        return training.max_steps
    return math.ceil(rows / global_batch(training)) * epochs_for_min_steps(rows, training, min_steps)


def classifier_trainer(model, train: EncodedRows, train_targets: np.ndarray, validation: EncodedRows,
                       validation_targets: np.ndarray, training: TrainingConfig, output_dir: str | Path, *,
                       min_steps: int = 0, callbacks=None, compute_metrics=None, checkpoints: bool = True,
                       model_init=None, objective: str = "classification"):
    """The package's Trainer (class weights, bf16, checkpoints, resume, torchrun) for a tabular classifier. The
    number of steps is fixed, with no early stopping: with 1% of the labels, a validation split whose scores
    stopped training would be a second, larger label budget. (Validation still sets the threshold.) `objective`
    `deviation` trains on `deviation_loss` instead of the cross-entropy."""
    epochs = epochs_for_min_steps(len(train), training, min_steps)
    # Few labelled rows make an epoch a step or two: evaluate (and checkpoint) ten times a run instead.
    steps = total_steps(len(train), training, min_steps)
    every = max(1, math.ceil(steps / 10))
    args = training_arguments(training, output_dir, checkpoints=checkpoints, num_train_epochs=epochs,
                              load_best_model_at_end=False, train_sampling_strategy="random",
                              eval_strategy="steps" if checkpoints else "no", eval_steps=every,
                              save_strategy="steps" if checkpoints else "no", save_steps=every)
    return build_trainer(
        training, args, train_dataset=rows_dataset(train, train_targets),
        eval_dataset=rows_dataset(validation, validation_targets), train_label_ids=list(train_targets), n_classes=2,
        model=model, model_init=model_init, compute_metrics=compute_metrics, callbacks=callbacks,
        loss=deviation_loss if objective == "deviation" else None,
    )


def train_classifier(model, train: EncodedRows, train_targets: np.ndarray, validation: EncodedRows,
                     validation_targets: np.ndarray, training: TrainingConfig, output_dir: str | Path, *,
                     min_steps: int = 0, resume: bool = False, callbacks=None, compute_metrics=None,
                     checkpoints: bool = True, step: str | None = None, objective: str = "classification"):
    """Trains `model` with `classifier_trainer`; returns the trainer and what training cost (`step` names it
    in a benchmark's progress)."""
    trainer = classifier_trainer(model, train, train_targets, validation, validation_targets, training, output_dir,
                                 min_steps=min_steps, callbacks=callbacks, compute_metrics=compute_metrics,
                                 checkpoints=checkpoints, objective=objective)
    checkpoint = checkpoint_to_resume(output_dir, resume, trainer.is_world_process_zero()) if checkpoints else None
    with measure(step) as cost:
        trainer.train(resume_from_checkpoint=checkpoint)
    return trainer, cost


def labelled_training(config: RecipeConfig, found: TrainingConfig | None, from_pretrained: bool,
                      seed: int) -> TrainingConfig:
    """How a network trains on labels: settings a search found, as found; else the config's `training`, at
    `pretrain.fine_tune_learning_rate` (when set) for the pre-trained network."""
    training = dataclasses.replace(found or config.training, seed=seed)
    rate = config.pretrain.fine_tune_learning_rate
    if found is None and from_pretrained and rate is not None:
        training = dataclasses.replace(training, learning_rate=rate)
    return training


def fit_classifier(pretrained: Pretrained, config: RecipeConfig, train: EncodedRows, train_targets: np.ndarray,
                   validation: EncodedRows, validation_targets: np.ndarray, training: TrainingConfig, output_dir, *,
                   from_pretrained: bool, min_steps: int = 0, resume: bool = False, callbacks=None,
                   checkpoints: bool = True, objective: str = "classification",
                   with_unlabelled: tuple[EncodedRows, np.ndarray] | None = None, steps_of_labelled: bool = True,
                   prior_scale: list[float] | None = None, model: TabularForClassification | None = None):
    """The classifier started by `start_classifier` (seed `training.seed`; or `model`, already started so) on the
    labelled rows `train` and
    trained by `train_classifier`, validated on ranking metrics; returns the model, its trainer and what training
    cost. With `objective` `deviation` it trains on `with_unlabelled` where given (rows and targets: the unlabelled
    rows as ordinary beside the labelled ones, as `deviation_rows` draws them), for as many steps as the labelled
    rows alone would take (`steps_of_labelled`; else its epochs pass over all of them, as a search's trials do).
    `prior_scale`: the prior start (`start_classifier`); the rows then carry their `prior`."""
    if model is None:
        model = start_classifier(pretrained, config, train, train_targets, training.seed, from_pretrained, prior_scale)
    step = f"{'fine_tuned' if from_pretrained else 'scratch'} ({len(train_targets)} labelled rows)"
    if objective == "deviation":
        if steps_of_labelled:
            training = dataclasses.replace(training, max_steps=total_steps(len(train), training, min_steps))
        if with_unlabelled is not None:
            train, train_targets = with_unlabelled
    trainer, cost = train_classifier(model, train, train_targets, validation, validation_targets, training, output_dir,
                                     min_steps=min_steps, resume=resume, callbacks=callbacks,
                                     compute_metrics=validation_metrics, checkpoints=checkpoints, step=step,
                                     objective=objective)
    return model, trainer, cost


def validation_metrics(eval_prediction) -> dict[str, float]:
    """The Trainer's view of validation: ranking metrics of the positive class (a fraud, a response)."""
    logits = eval_prediction.predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    logits = np.asarray(logits, dtype=np.float64)
    scores = logits[:, 1] - logits[:, 0]
    metrics = ranking_metrics(eval_prediction.label_ids, scores)
    return {k: metrics[k] for k in ("average_precision", "roc_auc")}


def save_classifier(model: TabularForClassification, config: RecipeConfig, output_dir, model_card: str,
                    extra_files: dict[str, bytes] | None = None, also=None, **info) -> Path:
    """Writes `<output_dir>/model` all or nothing: the weights (safetensors), config.json, the column encoder
    (`model.tabular_encoder`, skops + JSON), what `also(folder)` adds, the card, the config, and `cookbook.json`
    with the task, the label and identifier columns, how new files are read, and the task's own `info`."""
    info = {"task": config.task, "domain": config.domain, "label_column": config.data.label_column,
            "identifier_columns": config.tabular.drop_columns, **info,
            "reading": {"delimiter": config.data.delimiter, "encoding": config.data.encoding},
            "cells": {"missing_values": config.tabular.missing_values, "decimal": config.tabular.decimal}}

    def write(folder: Path) -> None:
        model.save_pretrained(folder)
        model.tabular_encoder.save(folder)
        if also is not None:  # what a task keeps beside the network (fraud: the trees it may prefer)
            also(folder)

    return save_atomically(output_dir, write, info, model_card, extra_files=with_config(config, extra_files))


def load_classifier(model_dir) -> tuple[TabularForClassification, TabularEncoder, dict]:
    """A saved tabular model (`cookbook train` of a tabular task): the network, its column encoder, its info."""
    folder = model_folder(model_dir)
    return TabularForClassification.from_pretrained(folder), TabularEncoder.load(folder), read_model_info(folder)


def read_new_rows(model_dir, path) -> tuple[pd.DataFrame, str]:
    """The one table `path` holds (a file, or a folder of one split's files), read with the delimiter and encoding
    the model's training data had."""
    info = read_model_info(model_dir)
    tables = read_source(str(path), ReadSettings(**info.get("reading", {})), [Path.cwd()])
    if len(tables) > 1:  # a folder of split files: scoring one of them silently would surprise
        files = ", ".join(table.origin for table in tables.values())
        raise DataError(f"{path}: holds several splits ({files}); predict scores one table. Name the file to score.")
    table = next(iter(tables.values()))
    cells = info.get("cells", {})
    frame, _ = clean_cells(table.frame, cells.get("missing_values", []), cells.get("decimal", "."),
                           keep=[info.get("label_column"), *(info.get("identifier_columns") or [])], origin=table.origin)
    frame, skipped = without_empty_rows(frame, table.origin)
    frame.attrs["notes"] = [skipped] if skipped else []  # predict passes them on with its own
    return frame, table.origin


@torch.no_grad()
def positive_scores(model: TabularForClassification, rows: EncodedRows, batch_size: int = 1024) -> np.ndarray:
    """The model's probability of the positive class for every row."""
    model.eval()
    device = model.device
    parts = []
    with rows_of(len(rows)) as advance:  # shown by `cookbook predict` only
        for start in range(0, len(rows), batch_size):
            part = slice(start, start + batch_size)
            prior = None if rows.prior is None else torch.as_tensor(rows.prior[part], device=device)
            logits = model(torch.as_tensor(rows.numeric[part], device=device),
                           torch.as_tensor(rows.categorical[part], device=device), prior=prior)["logits"]
            parts.append(torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy())
            advance(len(parts[-1]))
    return np.concatenate(parts) if parts else np.zeros(0)
