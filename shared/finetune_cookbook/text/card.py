"""The model card of a text classifier (reviews, intents): data, metrics, intended use, limitations, usage."""

from __future__ import annotations

from pathlib import Path

from finetune_cookbook.core.card import metrics_table, trained_on
from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.data import DataReport


def _head_sentence(config: RecipeConfig) -> str:
    if config.model.head != "probe":
        return ""
    return ("\nThe head reads the encoder's sentence embedding (mean pooling, unit length); it started as a logistic "
            "regression fitted on the frozen embeddings, then head and encoder were fine-tuned together (LP-FT).")


def model_card(config: RecipeConfig, report: DataReport, metrics: dict[str, float], labels: list[str],
               output_dir: str | Path, made_by: str) -> str:
    """The model card's Markdown; `made_by` says what produced the model (a command, a notebook)."""
    # As the user named it (never resolved): a card must not carry the absolute paths of the training machine.
    run_dir = Path(output_dir).as_posix()
    counts = ", ".join(f"{label} {n}" for label, n in report.class_counts.items())
    splits = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    smallest = min(report.class_counts, key=report.class_counts.get)
    raw_to_class = config.data.label_mapping or {}
    cross_split = ", ".join(f"{n} from {split}" for split, n in report.cross_split_duplicates.items()) or "none"
    mapping = ", ".join(f"{raw} → {name}" for raw, name in raw_to_class.items()) or "none (labels used as they are)"
    card = f"""---
library_name: transformers
pipeline_tag: text-classification
base_model: {config.model.name}
tags: [finetune-cookbook, {config.domain}]
---

# {config.domain}: {config.task.replace('_', ' ')}

`{config.model.name}` fine-tuned end to end to label text as {', '.join(f'`{l}`' for l in labels)}.
Made by the fine-tuning cookbook: {made_by}.{_head_sentence(config)}

## Data

- Source: `{report.source}`; text column `{config.data.text_column}`, label column `{config.data.label_column}`.
- Label mapping: {mapping}.
- Rows read: {report.rows_read}; empty texts dropped: {report.empty_dropped}; repeated texts dropped: \
{report.duplicates_dropped} ({report.conflicting_duplicates} of them carried conflicting labels); \
dropped from a split because a later split holds the same text: {cross_split}; \
sampled down to: {report.sampled_to or 'not sampled'}.
- Rows per class after cleaning: {counts}.
- Splits: {report.splits_sentence()} Sizes: {splits} (seed {config.data.seed}).

## Metrics

On the held-out test split ({report.split_sizes.get('test', 0)} rows), with the checkpoint that scored the best
validation {config.training.metric_for_best_model}:

{metrics_table(metrics, labels)}

Macro-F1 weighs every class equally, so it shows how the rare classes fare; accuracy alone is dominated by the
largest class.

## Intended use

Sorting texts like the training data into these classes, to route, count or prioritise them, with a person
checking low-confidence predictions (`cookbook predict` reports each prediction's confidence).

## Limitations

- Trained on {trained_on(report, 'rows')} from one source; texts of another product, domain or
  language may score far lower. Measure on your own labelled sample before relying on it.
- The test split is small ({report.split_sizes.get('test', 0)} rows; the class `{smallest}` has only
  {report.class_counts[smallest]} rows in all), so the metrics above carry several points of uncertainty.
- Texts longer than {config.model.max_length} tokens are truncated.
- The labels inherit the source's biases and noise (for example star ratings that disagree with the text).

## Use it

```bash
cookbook predict {run_dir} new_texts.csv
```

```python
{'import finetune_cookbook.text.sentence_classifier  # registers the model class' + chr(10) if config.model.head == 'probe' else ''}from transformers import pipeline
classify = pipeline("text-classification", model="{run_dir}/model")
classify("Works great, setup took a minute.")
```
"""
    return card
