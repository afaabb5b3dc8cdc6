"""The segmentation task's settings: its `segmentation` section (the customer columns, how many segments) and the recipe config."""

from __future__ import annotations

from dataclasses import dataclass

from finetune_cookbook.core.config import setting
from finetune_cookbook.core.errors import ConfigError
from finetune_cookbook.tabular.config import TabularRecipeConfig


@dataclass
class SegmentationConfig:
    """The `segmentation` section: the customer columns behind each feature, and how many segments."""

    recency_column: str | None = setting("Days since the customer's last purchase (the R of RFM).", None)
    purchase_columns: list[str] = setting(
        "Counts of purchases (by channel, say); their sum is the frequency (the F of RFM).", default_factory=list)
    spend_columns: list[str] = setting(
        "Amounts spent (by product category, say); their sum is the monetary value (the M of RFM), and each "
        "one's share of it a spend-mix feature.", default_factory=list)
    joined_column: str | None = setting("The date the customer joined; tenure is counted from it.", None)
    date_format: str | None = setting(
        "How joined_column's dates are written, as a strftime pattern (e.g. '%d-%m-%Y'). Unset: ISO dates "
        "(2024-07-08); a day-first or month-first date is never guessed.", None)
    snapshot_date: str | None = setting(
        "The day the data was taken (ISO date): tenure and age are counted up to it. Unset: the latest join date "
        "in the file.", None)
    birth_year_column: str | None = setting("The customer's year of birth; becomes an age.", None)
    age_column: str | None = setting("The customer's age in years, for files that give an age instead of a year of "
                                   "birth (set one of the two).", None)
    household_columns: list[str] = setting(
        "Counts of other people in the household (children, teenagers); household size adds them to the "
        "customer and a partner.", default_factory=list)
    partner_column: str | None = setting("A column (marital status) saying whether the customer lives with a "
                                       "partner.", None)
    partner_values: list[str] = setting("Values of partner_column that mean a partner lives in the household.",
                                      default_factory=lambda: ["married", "together"])
    income_column: str | None = setting("Household income, used to describe segments.", None)
    k: int | None = setting("The number of segments. Unset: the k of k_range with the best silhouette.", None)
    k_range: list[int] = setting("The numbers of segments compared (smallest and largest).",
                               default_factory=lambda: [3, 8])
    min_segment_share: float = setting(
        "A segment must hold at least this share of the training customers to count as the best segment (a "
        "cluster of nine people is not a campaign). Smaller segments are still shown.", 0.05)
    stability_runs: int = setting("k-means runs on other seeds and on bootstrap samples, each, for the stability "
                                "(adjusted Rand index).", 5)
    contact_share: float = setting("The targeting example's budget: the share of customers a campaign can contact.",
                                 0.1)
    fine_tune_steps: int = setting("Fine-tuning the customer encoder on the responses takes at least this many "
                                 "optimiser steps (more when training.epochs asks for more).", 300)
    label_budgets: list[float] = setting(
        "Shares of the training customers' known responses the two networks learn from in `make bench` (the "
        "label-efficiency curve; 1.0, every response, is always run). k-means and the pre-trained encoder use no "
        "response. Each share is a nested, stratified draw seeded by training.seed; the segments are still fitted "
        "on every training customer.", default_factory=lambda: [1.0])

    def check(self, where: str) -> None:
        low, high = (self.k_range + [0, 0])[:2]
        if len(self.k_range) != 2 or not 2 <= low <= high:
            raise ConfigError(f"{where}: segmentation.k_range is {self.k_range}; give the smallest and largest "
                              "number of segments, e.g. [3, 8] (at least 2).")
        if self.k is not None and self.k < 2:
            raise ConfigError(f"{where}: segmentation.k is {self.k}; segments need k of at least 2.")
        if not 0 < self.min_segment_share < 0.5:
            raise ConfigError(f"{where}: segmentation.min_segment_share is {self.min_segment_share}; use a share "
                              "of the customers in (0, 0.5), e.g. 0.05.")
        if not 0 < self.contact_share < 1:
            raise ConfigError(f"{where}: segmentation.contact_share is {self.contact_share}; use a share of the "
                              "customers in (0, 1), e.g. 0.1.")
        if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 < b <= 1 for b in self.label_budgets):
            raise ConfigError(f"{where}: segmentation.label_budgets are shares of the training customers' responses: "
                              "use numbers in (0, 1], such as [0.1, 0.25, 0.5, 1.0].")
        if self.birth_year_column and self.age_column:
            raise ConfigError(f"{where}: segmentation.birth_year_column and age_column are both set; set the one your "
                              "file has (age_column for ages, birth_year_column for years of birth).")


@dataclass
class SegmentationRecipeConfig(TabularRecipeConfig):
    """A tabular task's sections and the segmentation section (segments are chosen by k, not by a search)."""

    segmentation: SegmentationConfig = setting(
        "Segmentation domains: the customer columns behind the RFM and other features, and how many segments.",
        default_factory=SegmentationConfig)


CONFIG = SegmentationRecipeConfig
