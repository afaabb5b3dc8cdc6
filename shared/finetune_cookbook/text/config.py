"""The sections every text task reads beside the shared ones: the pre-trained model and the search."""

from __future__ import annotations

from dataclasses import dataclass

from finetune_cookbook.core.config import ModelConfig, RecipeConfig, TuneConfig, setting


@dataclass
class TextRecipeConfig(RecipeConfig):
    """A text classifier's config: the shared sections, the model to start from and the search."""

    READS = frozenset({"model.head"})

    model: ModelConfig = setting("The pre-trained model to start from.", default_factory=ModelConfig)
    tune: TuneConfig = setting("Hyperparameter search settings (`cookbook tune`).", default_factory=TuneConfig)
