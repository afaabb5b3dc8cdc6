"""A model card beside every saved model: data, metrics, intended use and limitations."""

from __future__ import annotations

from pathlib import Path

from .config import RecipeConfig
from .data import DataReport


def _metrics_table(metrics: dict[str, float], labels: list[str]) -> str:
    lines = ["| metric | test |", "|---|---|"]
    lines += [f"| {name} | {metrics[name]:.4f} |" for name in ("accuracy", "macro_f1") if name in metrics]
    lines += ["", "| class | precision | recall |", "|---|---|---|"]
    lines += [f"| {label} | {metrics[f'precision_{label}']:.3f} | {metrics[f'recall_{label}']:.3f} |" for label in labels]
    return "\n".join(lines)


def model_card(config: RecipeConfig, report: DataReport, metrics: dict[str, float], labels: list[str],
               output_dir: str | Path, made_by: str) -> str:
    """The model card's Markdown; `made_by` says what produced the model (a command, a notebook)."""
    model_dir = Path(output_dir) / "model"
    counts = ", ".join(f"{label} {n}" for label, n in report.class_counts.items())
    splits = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    smallest = min(report.class_counts, key=report.class_counts.get)
    raw_to_class = config.data.label_mapping or {}
    mapping = ", ".join(f"{raw} → {name}" for raw, name in raw_to_class.items()) or "none (labels used as they are)"
    card = f"""---
library_name: transformers
pipeline_tag: text-classification
base_model: {config.model.name}
tags: [finetune-cookbook, {config.domain}]
---

# {config.domain}: {config.task.replace('_', ' ')}

`{config.model.name}` fine-tuned end to end to label text as {', '.join(f'`{l}`' for l in labels)}.
Made by the fine-tuning cookbook: {made_by}.

## Data

- Source: `{report.source}`; text column `{config.data.text_column}`, label column `{config.data.label_column}`.
- Label mapping: {mapping}.
- Rows read: {report.rows_read}; empty texts dropped: {report.empty_dropped}; repeated texts dropped: \
{report.duplicates_dropped} ({report.conflicting_duplicates} of them carried conflicting labels); \
sampled down to: {report.sampled_to or 'not sampled'}.
- Rows per class after cleaning: {counts}.
- Stratified split (seed {config.data.seed}): {splits}.

## Metrics

On the held-out test split ({report.split_sizes.get('test', 0)} rows), with the checkpoint that scored the best
validation {config.training.metric_for_best_model}:

{_metrics_table(metrics, labels)}

Macro-F1 weighs every class equally, so it shows how the rare classes fare; accuracy alone is dominated by the
largest class.

## Intended use

Sorting texts like the training data into these classes, to route, count or prioritise them, with a person
checking low-confidence predictions (`cookbook predict` reports each prediction's confidence).

## Limitations

- Trained on {sum(report.class_counts.values())} rows from one source; texts of another product, domain or
  language may score far lower. Measure on your own labelled sample before relying on it.
- The test split is small ({report.split_sizes.get('test', 0)} rows; the class `{smallest}` has only
  {report.class_counts[smallest]} rows in all), so the metrics above carry several points of uncertainty.
- Texts longer than {config.model.max_length} tokens are truncated.
- The labels inherit the source's biases and noise (for example star ratings that disagree with the text).

## Use it

```bash
cookbook predict {Path(model_dir).parent} new_texts.csv
```

```python
from transformers import pipeline
classify = pipeline("text-classification", model="{Path(model_dir)}")
classify("Works great, setup took a minute.")
```
"""
    return card
