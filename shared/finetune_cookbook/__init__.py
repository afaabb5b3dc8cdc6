"""finetune_cookbook: the helper package behind every notebook and recipe of the fine-tuning cookbook."""

__version__ = "0.1.0"
