"""The Hugging Face Trainer, set up once for every domain.

Any model whose forward returns a dict with `logits` (and a `loss` when `class_weights` is `none`) works, a
transformers model or a plain torch.nn.Module, so every domain gets the same logging, evaluation, early
stopping, checkpoints, resume, bf16 and multi-device runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight
from torch.utils.data import SequentialSampler
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_pt_utils import LengthGroupedSampler

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import TrainingConfig
from finetune_cookbook.core.errors import CookbookError
from finetune_cookbook.core.flops import TrainingWork
from finetune_cookbook.core.measure import Measurement, cpu_model_and_flags, has_native_bf16, measure
from finetune_cookbook.core.saving import MODEL_DIR

CHECKPOINTS = "checkpoints"


@dataclass
class FineTuneResult:
    """What every task's `fine_tune` returns: the test-split outcome, and the Trainer that holds the model."""

    result: ApproachResult
    trainer: Trainer
    # A task that chooses its model on validation among several (fraud: the network or trees) names the one it
    # kept, says why, and hands back the ones it set aside so that they are recorded beside it.
    kept: str | None = None
    kept_because: str | None = None
    set_aside: list[ApproachResult] = field(default_factory=list)


@dataclass
class TrainingSpeed:
    """How fast one Trainer run went: epochs done, wall time (evaluation and checkpoints included), precision,
    and the batches it fed the model, whose FLOPs the benchmark counts afterwards (`work.flops()`)."""

    epochs: float
    seconds: float
    precision: str
    work: TrainingWork = field(repr=False)

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds / self.epochs if self.epochs else float("nan")


def timed_training(trainer: Trainer, checkpoint: str | None, step: str,
                   training: TrainingConfig) -> tuple[object, Measurement, TrainingSpeed | None]:
    """`trainer.train()`, measured: its output, its wall time and peak memory, and its speed (None for a resumed
    run, whose epochs were partly done before)."""
    with TrainingWork(trainer.model) as work, measure(step) as cost:
        output = trainer.train(resume_from_checkpoint=checkpoint)
    if checkpoint is not None:
        return output, cost, None
    return output, cost, TrainingSpeed(float(trainer.state.epoch or 0), cost.seconds, training_precision(training),
                                       work)


def torch_device() -> str:
    """`cuda` or `mps` when present, else `cpu`: where the Trainer will put the model."""
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


@functools.cache
def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 instructions; elsewhere bf16 autocast is emulated and slower than fp32."""
    return has_native_bf16(cpu_model_and_flags()[1])


def global_batch(config: TrainingConfig) -> int:
    """Rows per optimiser step: `batch_size` is each process's batch, and torchrun starts WORLD_SIZE processes."""
    return config.batch_size * int(os.environ.get("WORLD_SIZE", "1"))


def mixed_precision(choice: str = "auto") -> str:
    """Resolves the `precision` setting to `bf16`, `fp16` or `fp32` for this machine."""
    if choice != "auto":
        return choice
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if torch_device() == "cpu" and cpu_supports_bf16():
        return "bf16"
    return "fp32"


def training_precision(config: TrainingConfig) -> str:
    """The precision a run trains in: the `precision` setting resolved for this machine; fp32 when `speed` is
    `naive`, as a typical tutorial trains."""
    return "fp32" if config.speed == "naive" else mixed_precision(config.precision)


def balanced_class_weights(label_ids: list[int], n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights (scikit-learn's `balanced`): a rare class's mistakes cost as much in total."""
    weights = compute_class_weight("balanced", classes=np.arange(n_classes), y=np.asarray(label_ids))
    return torch.tensor(weights, dtype=torch.float32)


def weighted_cross_entropy(weights: torch.Tensor | None, label_smoothing: float = 0.0):
    """A Trainer `compute_loss_func`: cross-entropy with per-class weights (None: equal) and label smoothing."""

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"].float()
        weight = weights.to(logits.device) if weights is not None else None
        summed = F.cross_entropy(logits, labels, weight=weight, reduction="sum", label_smoothing=label_smoothing)
        # The Trainer passes the batch's item count so gradient accumulation averages correctly.
        return summed / (num_items_in_batch if num_items_in_batch is not None else labels.numel())

    return loss


class RunStart(TrainerCallback):
    """The step a `train` call starts at, read once the Trainer has loaded the checkpoint it resumes from (if any),
    so that it is the checkpoint's step however the checkpoint was named or found."""

    step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.step = state.global_step


class OrderedEvalTrainer(Trainer):
    """A Trainer whose `predict` returns rows in the dataset's order, and whose optimiser can decay the learning
    rate layer by layer (`layer_decay`).

    With `train_sampling_strategy="group_by_length"`, transformers 5 also groups evaluation batches by length,
    in a shuffled order, so `predict(test).predictions[i]` would not belong to `test[i]`. Here evaluation on one
    process reads tokenised texts longest first (`length_sorted`), so a batch is not padded to its one long text,
    and `predict` puts the rows back in the dataset's order; other data, and a naive run, is read in order.
    """

    def __init__(self, *args, layer_decay: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluated_order: list[int] | None = None
        self.layer_decay = layer_decay  # set: AdamW with layer-wise learning rates (`layer_decay_adamw`)
        self.run_start = RunStart()
        self.add_callback(self.run_start)

    def train(self, *args, **kwargs):
        # accelerate wraps the model's forward in bf16 / fp16 autocast for good. Training keeps it; once training
        # ends the model answers in fp32, as it does when `predict` reloads it, so the scores and thresholds
        # reported for a model are the ones its saved copy reproduces.
        with_autocast(self.model)
        try:
            return super().train(*args, **kwargs)
        finally:
            without_autocast(self.model)

    @property
    def resumed_at_step(self) -> int:
        """The step the last `train` started at: its checkpoint's, or 0 for a fresh run."""
        return self.run_start.step

    @property
    def steps_this_run(self) -> int:
        """The optimiser steps the last `train` took: a resumed run's speed counts only the rows it trained on."""
        return self.state.global_step - self.resumed_at_step

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if not isinstance(sampler, LengthGroupedSampler):
            return sampler
        args = self.args
        return EpochSeededLengthGroups(
            sampler.lengths, args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps,
            args.data_seed if args.data_seed is not None else args.seed)

    def _get_eval_sampler(self, eval_dataset):
        if eval_dataset is None or not hasattr(eval_dataset, "__len__") or self.args.world_size > 1:
            return None  # the DataLoader's default; accelerate shards it in order across processes
        self.evaluated_order = evaluation_order(self.args, eval_dataset)  # what `predict` undoes
        return self.evaluated_order or SequentialSampler(eval_dataset)

    def predict(self, test_dataset, *args, **kwargs):
        self.evaluated_order = None
        output = super().predict(test_dataset, *args, **kwargs)
        order, self.evaluated_order = self.evaluated_order, None
        return output._replace(predictions=in_dataset_order(output.predictions, order),
                               label_ids=in_dataset_order(output.label_ids, order))

    def create_optimizer(self, model=None):
        if self.optimizer is None and self.layer_decay:
            # Read from `self.args` here, when training starts, so each search trial's learning rate applies.
            self.optimizer = layer_decay_adamw(self.model, self.args, self.layer_decay)  # parameters shared with a wrapper
            return self.optimizer
        return super().create_optimizer(model)


def evaluation_order(args: TrainingArguments, dataset) -> list[int] | None:
    """The order an `OrderedEvalTrainer` reads `dataset` in to evaluate: tokenised texts longest first in a
    length-grouped run on one process whose predictions come back as one array; None (in order) otherwise. A
    callback that reads the evaluation batches puts them back in order with it (`in_dataset_order`)."""
    if args.train_sampling_strategy != "group_by_length" or args.world_size > 1 or not args.eval_do_concat_batches:
        return None
    return length_sorted(dataset)


def length_sorted(dataset) -> list[int] | None:
    """A tokenised dataset's positions, longest text first (ties in order); None for data without `input_ids`."""
    if "input_ids" not in (getattr(dataset, "column_names", None) or ()):
        return None
    lengths = np.array([len(ids) for ids in dataset["input_ids"]])
    return np.argsort(-lengths, kind="stable").tolist()


def in_dataset_order(values, order: list[int] | None):
    """Rows read in `order` (an array, or a tuple of them, or None) put back at their positions in the dataset;
    with no `order` (read in order), `values` as they are."""
    if values is None or order is None:
        return values
    if isinstance(values, tuple):
        return tuple(in_dataset_order(v, order) for v in values)
    restored = np.empty_like(values)
    restored[np.asarray(order, dtype=int)] = values
    return restored


class EpochSeededLengthGroups(LengthGroupedSampler):
    """transformers' length-grouped order, drawn from its own generator seeded by (seed, epoch) and grouped by the
    global batch (every process's batch, every accumulated step).

    transformers' sampler groups by one process's batch and draws from the global RNG, which dropout also draws
    from. Under torchrun the processes then disagree on the order from the second epoch on (each has drawn its
    own dropout masks), so one sample can reach two processes and another none; and N processes group the rows
    otherwise than one process with the same global batch would. Seeded by epoch, every process and a one-process
    run read the same order, and a resumed run reads the order the uninterrupted one did."""

    def __init__(self, lengths: list[int], global_batch: int, seed: int):
        super().__init__(global_batch, lengths=lengths, generator=torch.Generator())
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed + epoch)


def without_autocast(model) -> bool:
    """Restores the forward accelerate's mixed precision replaced (kept as `_original_forward`); True if it was
    on until now."""
    state = getattr(model, "__dict__", {})  # None before a search's first trial builds its model
    if "_original_forward" in state and state.get("forward") is not state["_original_forward"]:
        model._autocast_forward, model.forward = state.get("forward"), state["_original_forward"]
        return True
    return False


def with_autocast(model) -> None:
    """Puts back the autocast forward `without_autocast` took off, for another round of training."""
    if getattr(model, "__dict__", {}).get("_autocast_forward") is not None:
        model.forward, model._autocast_forward = model._autocast_forward, None


@contextlib.contextmanager
def answering_in_fp32(model):
    """Inside, the model answers in fp32 even mid-training; afterwards its forward is as it was before."""
    took_off = without_autocast(model)
    try:
        yield model
    finally:
        if took_off:
            with_autocast(model)


class WeightAveraging(TrainerCallback):
    """Moves the model's moving average of its weights after every optimiser step (a model with `update_average`,
    such as `backbones.ImageClassifier.keep_average`). `current_model` returns the model being trained: a search
    trial replaces the Trainer's model, but not the one the Trainer hands its callbacks."""

    def __init__(self, current_model):
        self.current_model = current_model

    def on_step_end(self, args, state, control, **kwargs):
        self.current_model().update_average(state.global_step)


def layer_decay_adamw(model, args: TrainingArguments, layer_decay: float) -> torch.optim.Optimizer:
    """AdamW with timm's layer-wise learning-rate decay over a timm network (`model.network`): the head at the
    run's learning rate, each block below at `layer_decay` times the one above."""
    from timm.optim import create_optimizer_v2

    optimizer = create_optimizer_v2(model.network, opt="adamw", lr=args.learning_rate, weight_decay=args.weight_decay,
                                    layer_decay=layer_decay, betas=(args.adam_beta1, args.adam_beta2),
                                    eps=args.adam_epsilon)
    # timm leaves each group's scale to its own schedulers; the Trainer's schedule scales `lr` as it is.
    for group in optimizer.param_groups:
        group["lr"] = args.learning_rate * group.get("lr_scale", 1.0)
    return optimizer


def epochs_for_min_steps(rows: int, config: TrainingConfig, min_steps: int) -> float:
    """`training.epochs`, raised to whole passes over `rows` rows enough for `min_steps` optimiser steps where that
    many passes make fewer: a small labelled set still gets the steps a fine-tune needs."""
    steps_per_epoch = max(1, math.ceil(rows / global_batch(config)))
    if math.ceil(config.epochs * steps_per_epoch) >= min_steps:  # the Trainer's own count, part epochs included
        return config.epochs
    return math.ceil(min_steps / steps_per_epoch)


def floored_trial_epochs(train_rows: int | None, training: TrainingConfig):
    """For a search: a trial's (epochs, batch size) to the passes it trains, `training.min_steps` applied at the
    trial's batch size as `training_arguments` applies it to a fine-tune; None where no floor is set or the rows
    are not known (a stream)."""
    if not training.min_steps or not train_rows:
        return None
    return lambda epochs, batch_size: epochs_for_min_steps(
        train_rows, dataclasses.replace(training, epochs=epochs, batch_size=batch_size), training.min_steps)


def training_arguments(config: TrainingConfig, output_dir: str | Path, *, checkpoints: bool = True,
                       train_rows: int | None = None, **overrides) -> TrainingArguments:
    """TrainingArguments from a recipe's `training` section; checkpoints and early stopping go together. Given
    `train_rows`, the epochs honour `training.min_steps`."""
    precision = training_precision(config)
    settings = dict(
        output_dir=str(Path(output_dir) / CHECKPOINTS),
        num_train_epochs=epochs_for_min_steps(train_rows, config, config.min_steps) if train_rows and config.min_steps
        else config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a share of the steps in transformers 5
        lr_scheduler_type=config.lr_scheduler,
        train_sampling_strategy="group_by_length" if config.speed == "tuned" else "random",
        eval_strategy="epoch",
        save_strategy="epoch" if checkpoints else "no",
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=checkpoints,
        metric_for_best_model=config.metric_for_best_model,
        greater_is_better=config.greater_is_better,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        report_to=["tensorboard"],
        disable_tqdm=False,  # keep the progress display even when transformers' logging is quietened
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        seed=config.seed,
        data_seed=config.seed,
        dataloader_num_workers=0,
        use_cpu=torch_device() == "cpu",  # transformers 5 wants this said outright for bf16 on a CPU
    )
    settings.update(overrides)
    return TrainingArguments(**settings)


def build_trainer(
    config: TrainingConfig,
    args: TrainingArguments,
    *,
    train_dataset,
    eval_dataset,
    train_label_ids: list[int],
    n_classes: int,
    model=None,
    model_init=None,
    data_collator=None,
    processing_class=None,
    compute_metrics=None,
    callbacks=None,
    layer_decay: float | None = None,
    loss=None,
) -> Trainer:
    """A Trainer with the recipe's loss weighting and early stopping (when checkpoints make it possible). `loss`,
    given the recipe's class weights (None: equal), makes a task's own `compute_loss_func` in place of the
    (weighted) cross-entropy."""
    callbacks = list(callbacks or [])
    if config.early_stopping_patience and args.load_best_model_at_end:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    weights = balanced_class_weights(train_label_ids, n_classes) if config.class_weights == "balanced" else None
    compute_loss = None
    if loss is not None:
        compute_loss = loss(weights)
    elif weights is not None or config.label_smoothing:
        compute_loss = weighted_cross_entropy(weights, config.label_smoothing)
    return OrderedEvalTrainer(
        model=model,
        model_init=model_init,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        data_collator=data_collator,
        processing_class=processing_class,
        compute_metrics=compute_metrics,
        compute_loss_func=compute_loss,
        callbacks=callbacks,
        layer_decay=layer_decay,
    )


# The files a checkpoint's weights may be in (transformers' names, a sharded model's index, a PEFT adapter).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "adapter_model.safetensors")


def checkpoint_problem(folder: Path) -> str | None:
    """Why `folder` (a `checkpoint-N/`) cannot be resumed from, or None when it is whole. The Trainer writes the
    weights, then optimizer and scheduler, and `trainer_state.json` last, straight into the folder: a kill or a
    full disk midway leaves it without a readable state file, or (a folder written by hand) without weights."""
    state = folder / "trainer_state.json"
    try:
        if "global_step" not in json.loads(state.read_text()):
            return "trainer_state.json has no global_step"
    except FileNotFoundError:
        return "no trainer_state.json"
    except (OSError, ValueError):
        return "trainer_state.json is cut short"
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        return "no weights file"
    if weights[0].suffix == ".safetensors":
        try:  # the header names every tensor's byte range: a file cut short fails here
            from safetensors import safe_open

            with safe_open(str(weights[0]), "np") as opened:
                opened.keys()
        except Exception:  # safetensors raises its own error type for a short or garbled file
            return f"{weights[0].name} is cut short"
    return None


def _step(folder: Path) -> int:
    suffix = folder.name.removeprefix("checkpoint-")
    return int(suffix) if suffix.isdigit() else -1


def checkpoint_to_resume(output_dir: str | Path, resume: bool, main_process: bool = True) -> str | None:
    """With `resume`, the newest whole checkpoint in `output_dir`. Where there is none and no model was saved there
    (the run was stopped before its first checkpoint), the run starts from the beginning with a note; beside a
    saved model it is an error. A newer checkpoint left
    half-written by a kill or a full disk is skipped, said on stderr, and removed by the main process (the
    Trainer would otherwise write the same step into it, and its rotation count it). Without `resume`, the main
    process clears checkpoints of an earlier run there, so a later resume cannot pick up another run's."""
    folder = Path(output_dir) / CHECKPOINTS
    if resume:
        found = sorted((p for p in folder.glob("checkpoint-*") if p.is_dir() and _step(p) >= 0), key=_step,
                       reverse=True) if folder.is_dir() else []
        skipped = []
        for candidate in found:
            problem = checkpoint_problem(candidate)
            if problem is None:
                for broken, why in skipped:
                    if main_process:
                        shutil.rmtree(broken, ignore_errors=True)
                        print(f"note: {broken} was left half-written ({why}), by a kill or a full disk; removed it "
                              f"and resuming from {candidate.name}", file=sys.stderr, flush=True)
                return str(candidate)
            skipped.append((candidate, problem))
        listed = "; ".join(f"{broken.name}: {why}" for broken, why in skipped)
        if not (Path(output_dir) / MODEL_DIR).exists():
            # No run here got as far as a whole checkpoint (or none ran): starting over loses nothing.
            if main_process:
                for broken, _ in skipped:
                    shutil.rmtree(broken, ignore_errors=True)
                print(f"note: {output_dir} holds no whole checkpoint to resume from" +
                      (f" ({listed}; removed)" if skipped else "") + ", so the run starts from the beginning",
                      file=sys.stderr, flush=True)
            return None
        if skipped:
            raise CookbookError(f"{folder}: no whole checkpoint to resume from ({listed}). Run without --resume to "
                                "start afresh.")
        raise CookbookError(f"{folder}: no checkpoint to resume from. Run without --resume to start afresh.")
    if folder.is_dir() and main_process:
        for old in folder.glob("checkpoint-*"):
            shutil.rmtree(old)
    return None


def validation_score(trainer, metric: str) -> float | None:
    """The kept model's validation `metric`: the best evaluation where the Trainer kept the best checkpoint, else
    the last one (the model trained to the end); None where validation was never scored on it."""
    state = getattr(trainer, "state", None)
    if state is None:
        return None
    if state.best_metric is not None and getattr(trainer.args, "load_best_model_at_end", False):
        return float(state.best_metric)
    scores = [entry[f"eval_{metric}"] for entry in state.log_history if f"eval_{metric}" in entry]
    return float(scores[-1]) if scores else None
