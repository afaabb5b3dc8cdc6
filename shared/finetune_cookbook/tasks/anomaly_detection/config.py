"""The fraud task's settings: its `fraud` section (label budgets, the alert budget, the costs that set the threshold) and the recipe config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from finetune_cookbook.core.config import TuneConfig, setting
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.tabular.config import TabularRecipeConfig

OBJECTIVES = ("classification", "deviation")
STARTS = ("head", "prior")


@dataclass
class FraudConfig:
    """The `fraud` section: label budgets, the alert budget and the costs that set the threshold."""

    EARLIER_DEFAULTS: ClassVar[tuple[dict, ...]] = ({"alert_share": 0.05},)  # before the budget followed the fraud rate
    MOVED: ClassVar[dict[str, str]] = {"fine_tune_shares": "pretrain.fine_tune_shares"}  # shared by the tabular tasks

    label_budget: float = setting(
        "Share of the training rows whose labels fine-tuning may use (a stratified, seeded draw): 1.0 uses every "
        "label. The pre-training uses every training row without its label either way.", 1.0
    )
    label_budgets: list[float] = setting(
        "The label budgets the benchmark and the notebook compare every approach at.",
        default_factory=lambda: [0.01, 0.05, 0.2, 1.0],
    )
    budget_seeds: list[int] = setting(
        "Seeds of the labelled subsets drawn at each budget (the test split stays the same); results are the mean "
        "and spread over them.", default_factory=lambda: [0, 1, 2, 3, 4]
    )
    min_steps: int = setting("Fine-tuning on few labels trains for at least this many optimiser steps.", 300)
    learning_rates: list[float] = setting(
        "Each network, pre-trained and from scratch alike, trains once at each of these peak learning rates and "
        "keeps the run whose validation average precision is highest (the rate is chosen per label budget and "
        "labelled subset). Empty: one run at training.learning_rate (pretrain.fine_tune_learning_rate for the "
        "pre-trained network).", default_factory=list
    )
    starts: list[str] = setting(
        "How the pre-trained network starts fine-tuning; it trains from each (at every learning rate) and keeps the "
        "run that ranks the validation rows best. `head`: a new fraud head on the pre-trained encoder (fitted as a "
        "linear probe with pretrain.probe_first). `prior`: the pre-trained anomaly score added to the fraud logit, "
        "the head at zero, so training begins from the pre-trained score's ranking and the labels adjust it (such "
        "a model is saved with the pre-trained model beside it, and its ONNX export holds both).", default_factory=lambda: ["head"]
    )
    objective: str = setting(
        "What the networks, pre-trained and from scratch alike, learn from the labels. `classification`: the "
        "(class-weighted) cross-entropy on the labelled rows. `deviation`: DevNet's deviation loss on every "
        "training row, the unlabelled ones taken for genuine, for as many steps as the labelled rows alone take.",
        "classification"
    )
    keep: str = setting(
        "Which model `cookbook train` saves. `best`: the fine-tuned network or gradient-boosted trees on the "
        "pre-trained features, whichever ranks the validation rows better. `network`: the fine-tuned network always "
        "(the ONNX export covers the network only).", "best"
    )
    alert_share: float | None = setting(
        "The share of cases an investigator can review (the alert budget): precision and recall are reported for "
        "the top-scored share. Unset: alerts_per_fraud times the training split's fraud rate.", None
    )
    alerts_per_fraud: float = setting(
        "Without alert_share, the alert budget is this many reviews per expected fraud, so it fits any fraud rate "
        "(1.5 at a 2% fraud rate reviews the top 3%).", 1.5
    )
    cost_missed_fraud: float = setting("What a fraud that is not flagged costs (any currency).", 1000.0)
    cost_false_alarm: float = setting("What flagging a genuine case costs: the investigator's time.", 50.0)

    def check(self, where: str) -> None:
        if not all(0 < b <= 1 for b in [self.label_budget, *self.label_budgets]):
            raise ConfigError(f"{where}: fraud.label_budget(s) are shares of the training labels: use values in (0, 1].")
        if self.alert_share is not None and not 0 < self.alert_share < 1:
            raise ConfigError(f"{where}: fraud.alert_share is {self.alert_share}; it is a share of the cases, in (0, 1). "
                              "Unset it to review alerts_per_fraud cases per expected fraud.")
        if not self.alerts_per_fraud > 0:
            raise ConfigError(f"{where}: fraud.alerts_per_fraud is {self.alerts_per_fraud}; use a positive number of "
                              "reviews per expected fraud, such as 1.5.")
        if not all(0 < rate < 1 for rate in self.learning_rates):
            raise ConfigError(f"{where}: fraud.learning_rates are peak learning rates, such as [1.0e-4, 1.0e-3].")
        if not self.starts or any(start not in STARTS for start in self.starts):
            raise ConfigError(f"{where}: fraud.starts is {self.starts!r}; list one or more of {', '.join(STARTS)}.")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"{where}: fraud.objective is {self.objective!r}; use one of {', '.join(OBJECTIVES)}.")
        if self.keep not in ("best", "network"):
            raise ConfigError(f"{where}: fraud.keep is {self.keep!r}; use best (the network or the trees, whichever "
                              "ranks validation better) or network.")
        if self.cost_missed_fraud <= 0 or self.cost_false_alarm <= 0:
            raise ConfigError(f"{where}: fraud.cost_missed_fraud and fraud.cost_false_alarm must be positive.")

    def alert_share_at(self, fraud_rate: float) -> float:
        """The share of cases reviewed: `alert_share`, else `alerts_per_fraud` times `fraud_rate` (at most all)."""
        return self.alert_share if self.alert_share is not None else min(1.0, self.alerts_per_fraud * fraud_rate)


@dataclass
class FraudRecipeConfig(TabularRecipeConfig):
    """A tabular task's sections, the search's, and the fraud section."""

    tune: TuneConfig = setting("Hyperparameter search settings (`cookbook tune`).", default_factory=TuneConfig)
    fraud: FraudConfig = setting(
        "Fraud domains: label budgets, the alert budget and the costs that set the threshold.",
        default_factory=FraudConfig)


CONFIG = FraudRecipeConfig
