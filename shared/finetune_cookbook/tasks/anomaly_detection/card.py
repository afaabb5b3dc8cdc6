"""The model card of a rare-event detector (fraud): columns, split, ranking and cost metrics, intended use."""

from __future__ import annotations

from pathlib import Path

from finetune_cookbook.core.config import RecipeConfig


def tabular_model_card(config: RecipeConfig, data, metrics: dict[str, float], output_dir: str | Path, made_by: str,
                       what: str, how: str) -> str:
    """The model card of a tabular classifier (fraud): columns and how they were read, the split, test metrics
    with the decision threshold, intended use and limitations."""
    report = data.report
    run_dir = Path(output_dir).as_posix()
    counts = ", ".join(f"{label} {n}" for label, n in report.class_counts.items())
    sizes = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    kinds = ", ".join(f"`{column}` ({kind})" for column, kind in data.kinds.items())
    split = (f"time-ordered by {', '.join(config.tabular.time_columns)} (the latest rows are the test split)"
             if config.tabular.time_columns else f"stratified and seeded (seed {config.data.seed})")
    if report.given_splits:
        split = report.splits_sentence()
    rows = [f"| {name} | {metrics[name]:.4f} |" for name in
            ("average_precision", "roc_auc", "base_rate", "precision_at_alert_budget", "recall_at_alert_budget",
             "precision_at_threshold", "recall_at_threshold", "flagged_share", "cost_per_case",
             "cost_per_case_flagging_nothing") if name in metrics]
    fraud = config.fraud
    threshold = metrics.get("threshold", float("nan"))
    decision = (f"The decision threshold ({threshold:.4f} on the {what} probability) is the one with the lowest cost"
                if threshold != float("inf") else "The model flags nothing: flagging nothing had the lowest cost")
    return f"""---
library_name: transformers
pipeline_tag: tabular-classification
tags: [finetune-cookbook, {config.domain}]
---

# {config.domain}: {what} detection

A tabular FT-Transformer {how}. Made by the fine-tuning cookbook: {made_by}.

## Data

- Source: `{report.source}`; label column `{data.label_column}` (`{data.positive_value}` means {what}).
- Rows: {report.rows_read} read; per class: {counts}. Dropped columns: {', '.join(config.tabular.drop_columns) or 'none'}.
- Split: {split}. Sizes: {sizes}.
- Columns and how they are read: {kinds}.
{''.join(f'- {note}{chr(10)}' for note in report.notes)}
## Metrics

On the held-out test split. Average precision (the area under the precision-recall curve) is the main metric: its
chance level is the {what} rate (`base_rate`). Accuracy is not reported: flagging nothing would score 1 - base rate.

| metric | test |
|---|---|
{chr(10).join(rows)}

The alert budget is the top {fraud.alert_share_at(float(data.targets('train').mean())):.1%} of cases by score. {decision} on the
validation split, with a missed {what} costing {fraud.cost_missed_fraud:g} and a false alarm {fraud.cost_false_alarm:g}.

## Intended use

Ranking cases for an investigator to review. A flag is a reason to look, never a finding of {what}.

## Limitations

- Learned from one institution's rows; other products, periods and populations shift both the data and the
  patterns of {what}. Measure on a recent labelled sample before relying on it, and again as time passes.
- With few {what} cases in the test split, the metrics above carry real uncertainty; the benchmark reports the spread
  over labelled subsets.
- Scores can encode unfair differences between groups of customers. Check flag rates across groups before use.

## Use it

```bash
cookbook predict {run_dir} new_rows.csv      # each row's {what} score and whether the threshold flags it
```
"""
