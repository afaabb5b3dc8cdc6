"""The model card of an image classifier: data and its splits, test metrics with the decision threshold,
intended use (a second reader, never a diagnosis) and limitations."""

from __future__ import annotations

from pathlib import Path

from finetune_cookbook.core.card import SKIPPED_SHOWN, trained_on
from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.data import DataReport


def _image_training_sentences(config: RecipeConfig) -> str:
    sentences = ""
    if config.model.head == "probe":
        sentences += ("\nIts head started as the frozen approach's logistic regression on the backbone's pooled "
                      "features; then head and backbone were fine-tuned together (LP-FT).")
    if config.training.layer_decay is not None:
        sentences += (f"\nEach block trained at {config.training.layer_decay} times the learning rate of the block above "
                      "it, the new head at the full rate (layer-wise learning-rate decay).")
    if config.training.ema_decay is not None:
        sentences += (f"\nIts weights are a moving average of the training weights (decay {config.training.ema_decay} "
                      "per step); validation chose the epoch by the average's scores.")
    return sentences


def image_model_card(config: RecipeConfig, report: DataReport, metrics: dict[str, float], labels: list[str],
                     output_dir: str | Path, made_by: str) -> str:
    """The model card of an image classifier: data and its splits, test metrics with the decision threshold,
    intended use (a second reader, never a diagnosis) and limitations."""
    run_dir = Path(output_dir).as_posix()
    counts = ", ".join(f"{label} {n}" for label, n in report.class_counts.items())
    sizes = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    cross_split = ", ".join(f"{n} from {split}" for split, n in report.cross_split_duplicates.items()) or "none"
    positive = config.evaluation.positive_class_of(labels)
    screening = ""
    if "threshold" in metrics:
        screening = (f"\nDecision threshold {metrics['threshold']:.3f} on p({positive}), chosen on the validation split "
                     f"to find {config.evaluation.target_sensitivity:.0%} of `{positive}` cases there: on test, "
                     f"sensitivity {metrics['sensitivity']:.3f} and specificity {metrics['specificity']:.3f}.\n")
    skipped = "none"
    if report.skipped:
        shown = report.skipped[:SKIPPED_SHOWN]
        # `cookbook train` records the whole list (as data.skipped) in the run's metrics.json, and notebook 02 too
        more = (f"; … and {len(report.skipped) - len(shown)} more, all listed in the run's `metrics.json`"
                if len(report.skipped) > len(shown) else "")
        skipped = f"{len(report.skipped)} ({'; '.join(shown)}{more})"
    return f"""---
library_name: timm
pipeline_tag: image-classification
base_model: {config.model.name}
tags: [finetune-cookbook, {config.domain}]
---

# {config.domain}: image classification

`{config.model.name}` (ImageNet weights) fine-tuned end to end to classify images as
{', '.join(f'`{label}`' for label in labels)}. Made by the fine-tuning cookbook: {made_by}.{_image_training_sentences(config)}

## Data

- Source: `{report.source}`. Images read: {report.rows_read}; files skipped: {skipped}.
- Exact duplicate images dropped (same content): {report.duplicates_dropped}; dropped from a split because a later
  split holds the same image: {cross_split}.
- Images per class after cleaning: {counts}.
- Splits: {report.splits_sentence()} Sizes: {sizes} (seed {config.data.seed}).
- Images resized to {config.model.image_size} x {config.model.image_size} px, grey images as three equal channels.
{''.join(f'- {note}{chr(10)}' for note in report.notes)}
## Metrics

On the held-out test split ({report.split_sizes.get('test', 0)} images), with the checkpoint that scored the best
validation {config.training.metric_for_best_model}:

| metric | test |
|---|---|
{chr(10).join(f'| {name} | {metrics[name]:.4f} |' for name in ('accuracy', 'roc_auc', 'macro_f1', 'sensitivity', 'specificity') if name in metrics)}
{screening}
## Intended use

A second reader for research and teaching: ranking or flagging images for a specialist to look at. It is not a
medical device and must not make or replace a diagnosis.

## Limitations

- Trained on {trained_on(report, 'images')} from one source; scanners, sites and populations differ, and
  performance elsewhere is unknown until measured on a labelled local sample.
- With a test split of {report.split_sizes.get('test', 0)} images, every metric above carries several points of
  uncertainty; the benchmark reports the spread over seeds.
- Grad-CAM maps (in the notebook) show where the model looked, not why; they can look plausible and still be wrong.

## Use it

```bash
cookbook predict {run_dir} scans/          # an image, a folder of images, or a CSV of paths
```
"""
