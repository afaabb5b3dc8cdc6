"""The text model from scratch: the pre-trained encoder's architecture with random weights, trained as the
fine-tune is. Set beside the fine-tune, it shows what pre-training itself is worth, apart from the network's shape
and the training recipe."""

from __future__ import annotations

import tempfile
from pathlib import Path

from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig, TrainingConfig
from finetune_cookbook.core.data import LabelledData
from finetune_cookbook.core.io.resolve import resolve_model
from finetune_cookbook.core.training import timed_training
from finetune_cookbook.text.classifier import arguments, score_on_test, text_trainer


def scratch_classifier(model_name: str, labels: list[str], seed: int, search_dirs=None):
    """`model_name`'s architecture and tokenizer's vocabulary, every weight drawn at random with `seed`."""
    set_seed(seed)
    architecture = AutoConfig.from_pretrained(
        resolve_model(model_name, search_dirs), num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return AutoModelForSequenceClassification.from_config(architecture)


def scratch_baseline(data: LabelledData, config: RecipeConfig, training: TrainingConfig | None = None) -> ApproachResult:
    """The network trained on the task's texts only, with the fine-tune's settings and its choice of the best
    epoch on validation, scored on test. Its checkpoints live in a temporary folder, never beside a run's model."""
    training = training or config.training
    model = scratch_classifier(config.model.name, data.labels, training.seed, config.search_dirs)
    with tempfile.TemporaryDirectory(prefix="cookbook-text-scratch-") as folder:
        trainer, datasets = text_trainer(data, config, training, arguments(data, training, Path(folder)), model=model)
        train_output, cost, speed = timed_training(trainer, None, "scratch", training)
        result = score_on_test(trainer, datasets, data, "scratch",
                               f"{config.model.name}'s architecture with random weights, trained on the task's texts "
                               "only", cost, train_output)
    result.speed = speed
    return result
