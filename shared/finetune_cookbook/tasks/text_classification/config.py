"""The text classification task's settings: a text classifier's sections, nothing of its own."""

from finetune_cookbook.text.config import TextRecipeConfig

CONFIG = TextRecipeConfig
