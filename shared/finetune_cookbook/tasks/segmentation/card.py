"""The model card of a customer segmentation: features, segments, held-out lift and stability, intended use."""

from __future__ import annotations

from pathlib import Path

from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.tabular.config import pretraining_objective


def segmentation_model_card(config: RecipeConfig, data, metrics: dict[str, float], output_dir: str | Path,
                            made_by: str) -> str:
    """The model card of a customer segmentation: the features, the split, the segments with their names and
    response rates, the held-out metrics, intended use and limitations."""
    report = data.report
    run_dir = Path(output_dir).as_posix()
    segments = getattr(data, "segment_table", None)  # set by the segmentation fine_tune
    sizes = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    kinds = ", ".join(f"`{column}` ({kind})" for column, kind in data.kinds.items())
    rows = [f"| {name} | {metrics[name]:.4f} |" for name in
            ("lift", "best_segment_share", "best_segment_response_rate", "ari", "silhouette", "davies_bouldin")
            if name in metrics]
    table = "" if segments is None else "\n" + segments + "\n"
    return f"""---
library_name: transformers
pipeline_tag: tabular-classification
tags: [finetune-cookbook, {config.domain}, segmentation]
---

# {config.domain}: customer segments

A tabular FT-Transformer pre-trained on the training customers by
{pretraining_objective(config.pretrain)}, fine-tuned on their responses to a campaign
(`{data.label_column}`); the segments are k-means clusters of its embeddings. Made by the fine-tuning cookbook:
{made_by}.

## Data

- Source: `{report.source}`; {report.rows_read} customers read. Split: stratified and seeded (seed
  {config.data.seed}). Sizes: {sizes}. Dropped columns: {', '.join(config.tabular.drop_columns) or 'none'}.
- Engineered features: {', '.join(data.engineered)}.
- Columns and how they are read: {kinds}.
{''.join(f'- {note}{chr(10)}' for note in report.notes)}{table}
## Metrics

On the held-out test customers. `lift` is the response rate of the best segment (chosen on the training customers,
among segments holding at least {config.segmentation.min_segment_share:.0%} of them) over the average response
rate; `ari` is the stability of the segments over k-means seeds and bootstrap samples (1: always the same).

| metric | test |
|---|---|
{chr(10).join(rows)}

## Intended use

Grouping customers to plan campaigns: which group to contact first, what each group looks like. A segment is a
tendency of a group, never a verdict on one customer.

## Limitations

- Learned from one company's customers and one campaign; another offer or period can change who responds.
- Response rates per segment on a few hundred held-out customers carry real uncertainty.
- Segments can mirror age, family or income: check that a campaign that targets them is fair and lawful.

## Use it

```bash
cookbook predict {run_dir} new_customers.csv   # each customer's segment, its name and its response rate
```
"""
