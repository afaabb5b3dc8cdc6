"""A model card beside every saved model: data, metrics, intended use and limitations."""

from __future__ import annotations

from pathlib import Path

from .config import RecipeConfig, pretraining_objective
from .data import DataReport

SKIPPED_SHOWN = 5  # skipped files a card names; metrics.json lists them all


def _trained_on(report: DataReport, unit: str) -> str:
    """How many rows the model was trained on (the train split) out of all the cleaned rows, split by split."""
    sizes = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    return f"{report.split_sizes.get('train', 0)} {unit} (the train split of {sum(report.split_sizes.values())}: {sizes})"


def _metrics_table(metrics: dict[str, float], labels: list[str]) -> str:
    lines = ["| metric | test |", "|---|---|"]
    lines += [f"| {name} | {metrics[name]:.4f} |" for name in ("accuracy", "macro_f1") if name in metrics]
    lines += ["", "| class | precision | recall |", "|---|---|---|"]
    lines += [f"| {label} | {metrics[f'precision_{label}']:.3f} | {metrics[f'recall_{label}']:.3f} |" for label in labels]
    return "\n".join(lines)


def _head_sentence(config: RecipeConfig) -> str:
    if config.model.head != "probe":
        return ""
    return ("\nThe head reads the encoder's sentence embedding (mean pooling, unit length); it started as a logistic "
            "regression fitted on the frozen embeddings, then head and encoder were fine-tuned together (LP-FT).")


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

{_metrics_table(metrics, labels)}

Macro-F1 weighs every class equally, so it shows how the rare classes fare; accuracy alone is dominated by the
largest class.

## Intended use

Sorting texts like the training data into these classes, to route, count or prioritise them, with a person
checking low-confidence predictions (`cookbook predict` reports each prediction's confidence).

## Limitations

- Trained on {_trained_on(report, 'rows')} from one source; texts of another product, domain or
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
{'import finetune_cookbook.sentence_classifier  # registers the model class' + chr(10) if config.model.head == 'probe' else ''}from transformers import pipeline
classify = pipeline("text-classification", model="{run_dir}/model")
classify("Works great, setup took a minute.")
```
"""
    return card


def image_model_card(config: RecipeConfig, report: DataReport, metrics: dict[str, float], labels: list[str],
                     output_dir: str | Path, made_by: str) -> str:
    """The model card of an image classifier: data and its splits, test metrics with the decision threshold,
    intended use (a second reader, never a diagnosis) and limitations."""
    run_dir = Path(output_dir).as_posix()
    counts = ", ".join(f"{label} {n}" for label, n in report.class_counts.items())
    sizes = ", ".join(f"{name} {n}" for name, n in report.split_sizes.items())
    cross_split = ", ".join(f"{n} from {split}" for split, n in report.cross_split_duplicates.items()) or "none"
    from .tasks.image_classification import positive_class

    positive = positive_class(config, labels)
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

- Trained on {_trained_on(report, 'images')} from one source; scanners, sites and populations differ, and
  performance elsewhere is unknown until measured on a labelled local sample.
- With a test split of {report.split_sizes.get('test', 0)} images, every metric above carries several points of
  uncertainty; the benchmark reports the spread over seeds.
- Grad-CAM maps (in the notebook) show where the model looked, not why; they can look plausible and still be wrong.

## Use it

```bash
cookbook predict {run_dir} scans/          # an image, a folder of images, or a CSV of paths
```
"""


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

The alert budget is the top {fraud.alert_share:.0%} of cases by score. {decision} on the
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
