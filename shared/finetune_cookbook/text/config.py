"""The sections every text task reads beside the shared ones: the pre-trained model and the search."""

from __future__ import annotations

from dataclasses import dataclass

from finetune_cookbook.core.config import ModelConfig, RecipeConfig, TuneConfig, setting
from finetune_cookbook.core.errors import ConfigError


@dataclass
class TextRecipeConfig(RecipeConfig):
    """A text classifier's config: the shared sections, the model to start from and the search."""

    READS = frozenset({"model.head", "data.streaming", "data.streaming_split_rows", "training.min_steps"})

    model: ModelConfig = setting("The pre-trained model to start from.", default_factory=ModelConfig)
    tune: TuneConfig = setting("Hyperparameter search settings (`cookbook tune`).", default_factory=TuneConfig)

    def check(self, where: str) -> None:
        super().check(where)
        if self.data.streaming:
            check_streaming(self, where)


def check_streaming(config: RecipeConfig, where: str) -> None:
    """What a streamed run needs that a file read whole does not: a step budget, the class names, one file."""
    if not config.training.max_steps:
        raise ConfigError(f"{where}: data.streaming is true, so the data's length is unknown until the stream ends "
                          "and epochs cannot be counted; set training.max_steps, the optimiser steps to train for "
                          "(e.g. 2000: 2000 x training.batch_size rows).")
    if not (config.data.labels or config.data.label_mapping):
        raise ConfigError(f"{where}: data.streaming is true, so the classes cannot be found by reading the whole "
                          "file first; list them in data.labels (or give data.label_mapping).")
    if not isinstance(config.data.source, str) or config.data.sample_size:
        raise ConfigError(f"{where}: data.streaming reads one file as it comes; give data.source as one file, "
                          "without data.sample_size (training.max_steps bounds the run).")
