"""The settings every tabular task reads: `tabular` (how the columns are read) and `pretrain` (self-supervised pre-training)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from finetune_cookbook.core.config import RecipeConfig, between_zero_and_one, choose, setting
from finetune_cookbook.core.errors import ConfigError


@dataclass
class TabularConfig:
    """The `tabular` section: columns to drop, column kinds, missing values, the positive label, time order."""

    drop_columns: list[str] = setting(
        "Columns the model must not see: identifiers (a policy or customer number) and columns that leak the "
        "outcome (a field filled in after the investigation).", default_factory=list
    )
    column_types: dict[str, str] = setting(
        "Overrides of the inferred column kinds: numeric, categorical, band (ordered text bands such as "
        "'more than 69000'), boolean (yes / no) or date. Unlisted columns are inferred from the training rows.",
        default_factory=dict,
    )
    positive_value: str | None = setting(
        "The label value that means the positive outcome (a fraud, a response). Unset: 1, true or yes, when the "
        "label column holds two values.", None
    )
    time_columns: list[str] | None = setting(
        "Columns that give each row's time, most significant first (e.g. [Year, Month]; month names and dates "
        "are understood). Set, the split is time-ordered: the latest rows are the test split and the ones before "
        "them validation. Unset, the split is stratified and seeded.", None
    )
    min_category_count: int = setting(
        "Categories seen fewer times than this in the training rows are grouped into one 'rare' category.", 5
    )
    missing_values: list[str] | dict[str, Any] = setting(
        "Cell values that mean 'unknown' and are read as empty cells: a list for every column (e.g. ['?', 'NA']), "
        "or per column (e.g. {pdays: [-1, 999], job: [unknown]}). Numbers match by value (999 matches 999.0). "
        "The label column is never changed.", default_factory=list
    )
    decimal: str = setting(
        "The decimal mark of the file's numbers: '.' (12,345.67) or ',' (12.345,67, as many semicolon files "
        "write them).", "."
    )

    def check(self, where: str) -> None:
        choose(where, "tabular.decimal", self.decimal, {".", ","})
        for column, markers in self.missing_values.items() if isinstance(self.missing_values, dict) else []:
            if not isinstance(markers, list) or not all(isinstance(m, (str, int, float)) for m in markers):
                raise ConfigError(f"{where}: tabular.missing_values.{column} is {markers!r}; give a list of the values "
                                  f"that mean unknown, e.g. {{{column}: [-1, 999]}}.")


@dataclass
class PretrainConfig:
    """The `pretrain` section: the self-supervised pre-training of the tabular encoder, and its fine-tuning."""

    EARLIER_DEFAULTS: ClassVar[tuple[dict, ...]] = ({"fine_tune_mask_rate": 0.3},)  # before validation turned it off

    output_dir: str | None = setting(
        "Where `cookbook pretrain` saves the pre-trained checkpoint (safetensors, config.json, the column "
        "encoder) and where `cookbook train` loads it from. Unset: `<output_dir>/pretrained`.", None
    )
    epochs: float = setting("Passes over the unlabelled training rows.", 40)
    batch_size: int = setting("Rows per pre-training step.", 256)
    learning_rate: float = setting("Peak learning rate of pre-training.", 1e-3)
    mask_rate: float = setting("Share of each row's columns hidden for the model to rebuild.", 0.3)
    corruption: str = setting(
        "How a hidden column is hidden. `mask_token`: a learned token that says only which column it is; the model "
        "rebuilds the hidden columns. `swap`: the same column's value from another training row, so every input "
        "looks like real data, as fine-tuning's do; the model rebuilds every column of the clean row (denoising).",
        "mask_token",
    )
    contrastive_weight: float = setting(
        "Weight of a contrastive term added to the rebuilding (SCARF-like): two corruptions of each row must "
        "recognise each other among the batch's other rows (under torchrun, the process's own batch). Each step "
        "then encodes every row twice. 0 turns it off.", 0.0
    )
    anomaly_score: str | list[str] = setting(
        "The pre-trained model's own anomaly score, with no labels. `each_hidden`: each column hidden alone and "
        "rebuilt from the others (a value that breaks how the columns go together); `all_hidden`: each value against "
        "what the model expects of it knowing nothing else (a value extreme on its own); `either`: the stranger of "
        "the two. A list: each run keeps the one that ranks the labelled rows it has best (validation's and the "
        "label budget's), the first on a tie. A `swap` model has `each_hidden` only.", "each_hidden"
    )
    d_token: int = setting("Width of each column's token (and of the row embedding).", 64)
    n_blocks: int = setting("Transformer blocks.", 2)
    n_heads: int = setting("Attention heads per block (d_token must be a multiple of it).", 8)
    max_steps: int | None = setting("Stop pre-training after this many steps (overrides epochs); for smoke runs.", None)
    fine_tune_learning_rate: float | None = setting(
        "Peak learning rate for fine-tuning the pre-trained network on labels. Unset: `training.learning_rate`, which "
        "the same network trained from scratch uses either way, so each can have the rate it trains best at.", None
    )
    fine_tune_mask_rate: float = setting(
        "Share of each labelled row's columns hidden while fine-tuning (an augmentation the pre-trained model "
        "understands; 0, the default, turns it off: the validation split of every data set it was tried on did "
        "better without it).", 0.0
    )
    probe_first: bool = setting(
        "Start the fine-tuned head as a logistic regression on the frozen embeddings (linear probe, then "
        "fine-tuning), instead of at random.", True
    )
    fine_tune_shares: list[float] = setting(
        "Weight-space ensembles of the fine-tuned network with its start (WiSE-FT, Wortsman et al., 2022): each "
        "fine-tuned run also tries its weights moved back toward the start (the pre-trained encoder and its new "
        "head), keeping this share of what fine-tuning changed, and keeps the share that ranks the validation rows "
        "best (the first listed on a tie). [1.0]: the fine-tuned weights as trained. A network from scratch has no "
        "such start.", default_factory=lambda: [1.0]
    )

    @property
    def anomaly_scores(self) -> list[str]:
        """The kinds of `anomaly_score` a run chooses among (one: no choice)."""
        return [self.anomaly_score] if isinstance(self.anomaly_score, str) else list(self.anomaly_score)

    def check(self, where: str) -> None:
        choose(where, "pretrain.corruption", self.corruption, set(PRETRAIN_OBJECTIVES))
        if not self.anomaly_scores:
            raise ConfigError(f"{where}: pretrain.anomaly_score is an empty list; name at least one score, e.g. "
                              "each_hidden.")
        for kind in self.anomaly_scores:
            choose(where, "pretrain.anomaly_score", kind, {"each_hidden", "all_hidden", "either"})
        between_zero_and_one(where, "pretrain.fine_tune_learning_rate", self.fine_tune_learning_rate,
                             "a learning rate", 3.0e-3, "to use training.learning_rate")
        if not 0 <= self.fine_tune_mask_rate < 1:
            raise ConfigError(f"{where}: pretrain.fine_tune_mask_rate must lie in [0, 1).")
        if not self.fine_tune_shares or not all(0 <= share <= 1 for share in self.fine_tune_shares):
            raise ConfigError(f"{where}: pretrain.fine_tune_shares is {self.fine_tune_shares!r}; list shares of what "
                              "fine-tuning changed, in [0, 1], such as [0.25, 0.5, 0.75, 1.0] ([1.0]: as trained).")
        if not self.contrastive_weight >= 0:
            raise ConfigError(f"{where}: pretrain.contrastive_weight is {self.contrastive_weight}; use 0 (off) "
                              "or a positive weight, e.g. 1.0.")
        if not 0 < self.mask_rate < 1 or self.d_token % self.n_heads:
            raise ConfigError(f"{where}: pretrain.mask_rate must lie in (0, 1) and pretrain.d_token be a multiple of "
                              "pretrain.n_heads.")


# `pretrain.corruption` and what the pre-training then is, as in "pre-trained by ..."
PRETRAIN_OBJECTIVES = {"mask_token": "masked-feature reconstruction",
                       "swap": "denoising of swapped columns"}


def pretraining_objective(settings: PretrainConfig) -> str:
    """What pre-training taught, as in "pre-trained by ..."."""
    objective = PRETRAIN_OBJECTIVES[settings.corruption]
    return f"{objective} and contrastive views" if settings.contrastive_weight > 0 else objective


@dataclass
class TabularRecipeConfig(RecipeConfig):
    """The sections every tabular task reads, beside the shared ones: how the columns are read, and the
    self-supervised pre-training that makes the pre-trained model (none exists to download)."""

    tabular: TabularConfig = setting(
        "Tabular domains: columns to drop, column kinds, the positive label value, a time-ordered split.",
        default_factory=TabularConfig,
    )
    pretrain: PretrainConfig = setting("Tabular domains: self-supervised pre-training (`cookbook pretrain`).",
                                       default_factory=PretrainConfig)
