"""The image classification task's settings: the backbone, the search, and how test results are judged."""

from __future__ import annotations

from dataclasses import dataclass

from finetune_cookbook.core.config import EvaluationConfig, ModelConfig, RecipeConfig, TuneConfig, setting


@dataclass
class ImageRecipeConfig(RecipeConfig):
    """An image classifier's config; it alone reads the weight averaging and layer-wise decay of `training`, and
    shares its step floor with the text tasks."""

    READS = frozenset({"model.head", "training.ema_decay", "training.layer_decay", "training.min_steps"})

    model: ModelConfig = setting("The pre-trained backbone to start from, and the image size.",
                                 default_factory=ModelConfig)
    tune: TuneConfig = setting("Hyperparameter search settings (`cookbook tune`).", default_factory=TuneConfig)
    evaluation: EvaluationConfig = setting("How test results are judged: the class that matters, the threshold.",
                                           default_factory=EvaluationConfig)


CONFIG = ImageRecipeConfig
