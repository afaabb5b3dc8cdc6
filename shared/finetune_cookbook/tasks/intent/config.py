"""The intent task's settings: its `intent` section (replies, hand-over threshold, few-shot and learning curves) and the recipe config that reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finetune_cookbook.core.config import setting
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.text.config import TextRecipeConfig


@dataclass
class IntentConfig:
    """The `intent` section: the bot's replies, its hand-over threshold, few-shot and learning curves."""

    responses: str | None = setting(
        "Intent domains: a file mapping every intent to the bot's reply, YAML or JSON ({intent: reply}) or a table "
        "with columns `intent` and `response`. Training refuses a file that names an intent the data lacks, or "
        "misses one it has. Unset, the bot names the intent it understood.", None
    )
    out_of_scope_label: str | list[str] | None = setting(
        "The label (or labels) that marks real out-of-scope queries in the data (CLINC150's `oos`). Those rows are "
        "never trained on. The ones beside validation choose the hand-over threshold, where there are at least 10; "
        "the test split's measure how often the bot hands them over.", None,
    )
    out_of_scope_source: str | dict[str, Any] | None = setting(
        "A separate file of real out-of-scope queries (CLINC150's `oos_test`), or a mapping with `path` and its own "
        "reading settings (format, field, column_names, delimiter, text_column ...). Like out_of_scope_label rows, "
        "they only measure the hand-over.", None
    )
    holdout_share: float = setting(
        "Share of the intents held out of a second training run and treated as unknown, to choose the confidence "
        "threshold below which the bot hands over to a human, with no out-of-scope labels.", 0.2
    )
    threshold: float | None = setting(
        "A fixed confidence threshold for the hand-over; unset, it is chosen on validation with held-out intents.",
        None,
    )
    handover_reply: str = setting(
        "What the bot says when it hands a message over.",
        "I'm not sure I understood, so I'm passing you to a colleague who will reply shortly.",
    )
    max_message_chars: int = setting(
        "Messages longer than this go straight to a human without being classified (a long message is rarely one "
        "simple intent).", 1000
    )
    few_shot_examples: int = setting(
        "Examples per intent the few-shot approach (a linear probe, then fine-tuning) trains on.", 10
    )
    curve_examples: list[int] = setting(
        "Examples per intent for the learning curve (benchmark and notebook), besides all of them.",
        default_factory=lambda: [5, 10, 20, 50],
    )
    few_shot_curve_examples: list[int] = setting(
        "The learning curve's points (examples per intent) where the few-shot approach also runs.",
        default_factory=lambda: [5, 10, 20],
    )
    curve_min_steps: int = setting(
        "A learning-curve fine-tune on few examples trains for at least this many optimiser steps (more epochs).",
        300,
    )

    def check(self, where: str) -> None:
        if not 0 < self.holdout_share < 1:
            raise ConfigError(f"{where}: intent.holdout_share is {self.holdout_share}; it must lie between 0 and 1.")
        for name in ("few_shot_examples", "max_message_chars", "curve_min_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: intent.{name} is {getattr(self, name)}; it must be at least 1.")
        if any(count < 1 for count in self.curve_examples + self.few_shot_curve_examples):
            raise ConfigError(f"{where}: intent.curve_examples and few_shot_curve_examples count examples per intent: "
                              "use whole numbers of at least 1.")
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise ConfigError(f"{where}: intent.threshold is {self.threshold}; a confidence lies in [0, 1].")


@dataclass
class IntentRecipeConfig(TextRecipeConfig):
    """A text classifier's sections, and the bot's."""

    READS = frozenset({"model.head", "training.min_steps"})  # not data.streaming: the bot's out-of-scope queries are set apart from a whole file

    intent: IntentConfig = setting(
        "Intent domains: the bot's replies, its hand-over threshold, few-shot and learning-curve settings.",
        default_factory=IntentConfig,
    )


CONFIG = IntentRecipeConfig
