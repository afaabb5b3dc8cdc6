"""Image classification (tumor scans): data, the two baselines, fine-tuning, search, prediction.

Three approaches on one test split: a small CNN trained from scratch on the task images, the ImageNet backbone
frozen with a linear head (logistic regression on its pooled features), and the backbone fine-tuned end to end.
Images flow through `datasets` (an `Image` feature, `with_transform` for on-the-fly augmentation) into the
package's one Trainer setup.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torchvision.transforms import v2
from transformers import Trainer, set_seed

from finetune_cookbook.core.compare import ApproachResult, classification_result
from finetune_cookbook.core.config import RecipeConfig, TrainingConfig, with_config
from finetune_cookbook.core.data import LABEL, LabelledData, prepare_splits
from finetune_cookbook.core.linear_probe import probe_weights, set_head
from finetune_cookbook.core.measure import measure
from finetune_cookbook.core.metrics import (
    roc_auc,
    screening_threshold,
    sensitivity_specificity,
    trainer_probability_metrics,
)
from finetune_cookbook.core.progress import rows_of
from finetune_cookbook.core.saving import model_folder, read_model_info, save_atomically
from finetune_cookbook.core.shift import MAX_ROWS, sample_rows
from finetune_cookbook.core.training import (
    FineTuneResult,
    WeightAveraging,
    build_trainer,
    checkpoint_to_resume,
    floored_trial_epochs,
    mixed_precision,
    timed_training,
    torch_device,
    training_arguments,
)
from finetune_cookbook.core.tuning import SearchResult, search
from finetune_cookbook.tasks.image_classification.card import image_model_card
from finetune_cookbook.tasks.image_classification.pixels import THUMBNAIL, pixel_probabilities, thumbnails
from finetune_cookbook.vision import images as image_io
from finetune_cookbook.vision.backbones import build_classifier, input_normalisation, load_classifier, save_classifier
from finetune_cookbook.vision.sources import check_classes, found_images, split_like_warning

HEADLINE_METRICS = ("accuracy", "roc_auc", "sensitivity", "specificity")
SCRATCH = "scratch"
IMAGE, FILE = "image", "file"


# ---------------------------------------------------------------------------------------------------- data


def load_data(config: RecipeConfig) -> LabelledData:
    """The config's images, checked, deduplicated by content and split, keeping splits the data came with.

    Files that cannot be used (corrupt, not an image, too small) are skipped and listed in the report; a layout
    that cannot be used (an empty class folder, a CSV naming missing files, a single class) is an error.
    """
    found, tables = found_images(config)
    split_like = split_like_warning(config, found.table)
    check_classes(found.table, config, split_like)
    # The folder (or CSV, or npz) names each image's class in a `label` column.
    data_config = dataclasses.replace(config.data, label_column="label")
    data = prepare_splits(tables, data_config, FILE, keys=lambda frame: frame["digest"])
    data.report.skipped = image_io.skipped_lines(found.skipped)
    if split_like:
        data.report.notes.append(split_like)
    positive = config.evaluation.positive_note(data.labels)
    if positive:
        data.report.notes.append(positive)
    upscaled = image_io.count_upscaled(found.table, config.model.image_size)
    if upscaled:
        data.report.notes.append(f"{upscaled} image(s) are smaller than {config.model.image_size} px and are upscaled.")
    return data


def positive_class(config: RecipeConfig, labels: list[str]) -> str | None:
    """The class whose detection matters (`evaluation.positive_class`, else the second class of two), or None."""
    return config.evaluation.positive_class_of(labels)


def positive_index(config: RecipeConfig, labels: list[str]) -> int | None:
    """The index of the class whose detection matters, for `cookbook crossval`'s ROC-AUC; None when there is none."""
    return config.evaluation.positive_index(labels)


def normalisation(backbone: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (mean, std) input scaling that `backbone` (a pre-trained name, or `scratch`) was trained with."""
    return input_normalisation(backbone)


def backbone_of(model, config: RecipeConfig) -> str:
    """What a trained classifier was built from: `scratch`, or the config's pre-trained backbone."""
    return SCRATCH if model.architecture["kind"] == SCRATCH else config.model.name


def image_datasets(data: LabelledData, image_size: int, backbone: str, augment: bool = True) -> dict:
    """Per split, a `datasets.Dataset` that decodes, resizes, augments (train only) and normalises on the fly."""
    mean, std = normalisation(backbone)
    train = image_io.train_transform(image_size, mean, std) if augment else image_io.eval_transform(image_size, mean, std)
    evaluation = image_io.eval_transform(image_size, mean, std)
    return {
        split: image_io.with_image_transform(
            image_io.to_hf_dataset(frame[[IMAGE, FILE, LABEL]], data.labels), train if split == "train" else evaluation
        )
        for split, frame in data.splits.items()
    }


# ---------------------------------------------------------------------------------------------------- metrics


def score(approach: str, description: str, data: LabelledData, config: RecipeConfig, test_probabilities: np.ndarray,
          validation_probabilities: np.ndarray, cost, samples_seen: int) -> ApproachResult:
    """Test metrics of one approach: accuracy, macro-F1, ROC-AUC, and for a positive class the sensitivity and
    specificity at the threshold chosen on validation."""
    result = classification_result(approach, description, data.label_ids("test"), test_probabilities, data.labels,
                                   cost, samples_seen)
    positive = positive_index(config, data.labels)
    result.metrics["roc_auc"] = roc_auc(data.label_ids("test"), test_probabilities, positive)
    if positive is not None:
        threshold = screening_threshold(data.label_ids("validation"), validation_probabilities, positive,
                                        config.evaluation.target_sensitivity)
        result.metrics.update(sensitivity_specificity(data.label_ids("test"), test_probabilities, positive, threshold))
    result.validation_probabilities = np.asarray(validation_probabilities)
    return result


# ---------------------------------------------------------------------------------------------------- models


def _probabilities(trainer: Trainer, dataset) -> np.ndarray:
    logits = trainer.predict(dataset).predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    return softmax(np.asarray(logits, dtype=np.float64), axis=1)


def evaluation_datasets(data: LabelledData, config: RecipeConfig, backbone: str, split: str) -> list:
    """A split's images as evaluation sees them, one dataset per view: as they are, and mirrored too with
    `model.test_time_flip`."""
    mean, std = normalisation(backbone)
    views = [image_io.eval_transform(config.model.image_size, mean, std)]
    if config.model.test_time_flip:
        views.append(v2.Compose([views[0], v2.Lambda(image_io.mirror)]))
    dataset = image_io.to_hf_dataset(data.splits[split][[IMAGE, FILE, LABEL]], data.labels)
    return [image_io.with_image_transform(dataset, view) for view in views]


def batch_views(config: RecipeConfig) -> list:
    """The same views of a batch of inputs, for `cookbook crossval`: the batch as it is, and mirrored too with
    `model.test_time_flip`."""
    views = [lambda inputs: inputs]
    if config.model.test_time_flip:
        views.append(lambda inputs: {**inputs, "pixel_values": image_io.mirror(inputs["pixel_values"])})
    return views


def split_probabilities(trainer: Trainer, data: LabelledData, config: RecipeConfig, backbone: str, split: str) -> np.ndarray:
    """Class probabilities of a split's images, in order; averaged with the mirror images' with `test_time_flip`."""
    return np.mean([_probabilities(trainer, view) for view in evaluation_datasets(data, config, backbone, split)], axis=0)


def _trainer(data: LabelledData, config: RecipeConfig, training: TrainingConfig, args, datasets, *,
             backbone: str, model=None, model_init=None, callbacks=None) -> Trainer:
    # Layer-wise rates protect pre-trained features; the scratch CNN has none to protect.
    layer_decay = training.layer_decay if backbone != SCRATCH else None
    trainer = build_trainer(
        training, args, model=model, model_init=model_init,
        train_dataset=datasets["train"], eval_dataset=datasets["validation"],
        train_label_ids=data.label_ids("train"), n_classes=len(data.labels),
        data_collator=image_io.collate_images,
        compute_metrics=trainer_probability_metrics(data.labels, positive_index(config, data.labels)),
        callbacks=callbacks, layer_decay=layer_decay,
    )
    if training.ema_decay is not None:
        trainer.add_callback(WeightAveraging(lambda: trainer.model))
    return trainer


def _image_arguments(training: TrainingConfig, output_dir: Path, train_rows: int, checkpoints: bool = True):
    # Images have no length to group by, and their columns become `pixel_values` on the fly.
    return training_arguments(training, output_dir, checkpoints=checkpoints, train_rows=train_rows,
                              train_sampling_strategy="random", remove_unused_columns=False)


def with_speed_settings(model, training: TrainingConfig):
    """A tuned run's classifier: channels-last, and where it trains in bf16 on a CPU its depthwise convolutions in
    fp32 (undone by `model.depthwise_in_fp32(False)`). A naive run's, as it is."""
    if training.speed == "tuned":
        model = model.in_channels_last()
        if torch_device() == "cpu" and mixed_precision(training.precision) == "bf16":
            model.depthwise_in_fp32()
    return model


def train_network(data: LabelledData, config: RecipeConfig, backbone: str, output_dir: Path, *,
                  training: TrainingConfig | None = None, resume: bool = False, callbacks=None) -> FineTuneResult:
    """Trains `backbone` (`scratch` or a pre-trained name) on the training images with the package's Trainer,
    keeps the best epoch on validation and scores it on test."""
    training = training or config.training
    datasets = image_datasets(data, config.model.image_size, backbone)
    with measure() as start_cost:  # a probe-started head is fitted here, and its time counts as training
        model = classifier_starter(data, config, backbone, training)(training.seed)
    model = with_speed_settings(model, training)
    arguments = _image_arguments(training, output_dir, len(data.splits["train"]))
    trainer = _trainer(data, config, training, arguments, datasets, model=model, callbacks=callbacks,
                       backbone=backbone)
    checkpoint = checkpoint_to_resume(output_dir, resume, trainer.is_world_process_zero())
    try:
        output, cost, speed = timed_training(trainer, checkpoint, "scratch" if backbone == SCRATCH else "fine_tuned",
                                             training)
    finally:
        model.depthwise_in_fp32(False)
    cost.seconds += start_cost.seconds
    trainer.model.adopt_average().eval()
    validation = split_probabilities(trainer, data, config, backbone, "validation")
    test = split_probabilities(trainer, data, config, backbone, "test")
    approach, description = ("scratch", "small CNN trained from scratch on the task images") if backbone == SCRATCH \
        else ("fine_tuned", f"{config.model.name} (ImageNet) fine-tuned end to end")
    result = score(approach, description, data, config, test, validation, cost, 0)
    result.samples_per_second = float(output.metrics["train_samples_per_second"])
    result.speed = speed
    # What `save_model` writes beside the weights, so a reloaded model reads images and decides the same way.
    trainer.model.labels = list(data.labels)
    trainer.model.positive = positive_index(config, data.labels)
    trainer.model.decision_threshold = result.metrics.get("threshold")
    return FineTuneResult(result, trainer)


def classifier_starter(data: LabelledData, config: RecipeConfig, backbone: str, training: TrainingConfig | None = None):
    """How training starts: a function of the seed that returns the classifier to train. A pre-trained backbone
    gets a new linear head, at random or (`model.head: probe`) as the frozen approach's linear head, fitted once
    here on the training images' pooled features: fine-tuning then starts where the frozen approach ends (LP-FT).
    With `training.ema_decay` the classifier keeps a moving average of its weights, for scratch and pre-trained
    alike, so the two differ only in where their weights start.
    """
    decay = (training or config.training).ema_decay
    head = probe_head(data, config, backbone) if backbone != SCRATCH and config.model.head == "probe" else None

    def start(seed: int):
        set_seed(seed)
        model = build_classifier(backbone, len(data.labels))
        if head is not None:
            set_head(model.head(), *head)
        return model.keep_average(decay) if decay is not None else model

    return start


def probe_head(data: LabelledData, config: RecipeConfig, backbone: str) -> tuple[np.ndarray, np.ndarray]:
    """The frozen approach's linear head (standardised pooled features, then logistic regression) on the
    pre-trained `backbone`, folded into one linear layer over the pooled features: (weight, bias), one per class."""
    datasets = image_datasets(data, config.model.image_size, backbone, augment=False)
    model = build_classifier(backbone, len(data.labels)).to(torch_device())
    scaler, head = fit_linear_head(embed_images(model, datasets["train"]), data.label_ids("train"),
                                   config.training.seed)
    weight, bias = probe_weights(head, len(data.labels))
    weight = weight / scaler.scale_
    return weight, bias - weight @ scaler.mean_


def fit_linear_head(features: np.ndarray, label_ids, seed: int) -> tuple[StandardScaler, LogisticRegression]:
    """A class-balanced logistic regression on standardised features: the frozen approach's head."""
    scaler = StandardScaler().fit(features)
    head = LogisticRegression(class_weight="balanced", max_iter=5000, C=0.1, random_state=seed)
    return scaler, head.fit(scaler.transform(features), label_ids)


def fine_tune(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None, *,
              training: TrainingConfig | None = None, resume: bool = False, callbacks=None) -> FineTuneResult:
    """Fine-tunes every weight of the pre-trained backbone, with a new head for the task's classes."""
    return train_network(data, config, config.model.name, Path(output_dir or config.output_dir),
                         training=training, resume=resume, callbacks=callbacks)


def scratch_baseline(data: LabelledData, config: RecipeConfig, output_dir: str | Path) -> ApproachResult:
    """The same training on a small CNN with random initial weights: what the task images alone can teach."""
    return train_network(data, config, SCRATCH, Path(output_dir)).result


def embed_images(model, dataset, batch_size: int = 64) -> np.ndarray:
    """Pooled backbone features of every image, in order, with no augmentation."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=image_io.collate_images)
    model.eval()
    with torch.inference_mode():
        device = next(model.parameters()).device
        return np.concatenate([model.embed(batch["pixel_values"].to(device)).float().cpu().numpy() for batch in loader])


def frozen_baseline(data: LabelledData, config: RecipeConfig) -> ApproachResult:
    """The pre-trained backbone left as it is, with a class-balanced linear head (logistic regression) trained on
    its pooled features: what ImageNet features give without adapting them. With `model.test_time_flip` its
    validation and test predictions are averaged with the mirror images', as the trained networks' are."""
    train_images = evaluation_datasets(data, config, config.model.name, "train")[0]  # as they are: never mirrored
    model = build_classifier(config.model.name, len(data.labels)).to(torch_device())
    with measure("frozen") as cost:
        scaler, head = fit_linear_head(embed_images(model, train_images), data.label_ids("train"), config.training.seed)
        probabilities = {
            split: np.mean([head.predict_proba(scaler.transform(embed_images(model, view)))
                            for view in evaluation_datasets(data, config, config.model.name, split)], axis=0)
            for split in ("validation", "test")
        }
    return score("frozen", f"{config.model.name} (ImageNet) frozen + linear head", data, config,
                 probabilities["test"], probabilities["validation"], cost, len(data.splits["train"]))


def shift_features(data: LabelledData, config: RecipeConfig, split: str, trainer=None) -> np.ndarray:
    """The frozen pre-trained backbone's pooled features of a split's images (at most `shift.MAX_ROWS`, seeded):
    what the checks of `core.shift` compare."""
    sample = sample_rows(data.splits[split], config.data.seed)
    mean, std = normalisation(config.model.name)
    dataset = image_io.with_image_transform(
        image_io.to_hf_dataset(sample[[IMAGE, FILE, LABEL]], data.labels),
        image_io.eval_transform(config.model.image_size, mean, std))
    return embed_images(build_classifier(config.model.name, len(data.labels)).to(torch_device()), dataset)


def new_data_features(model_dir: str | Path, path: str | Path, column: str | None = None) -> np.ndarray:
    """`shift_features` of the readable images `predict_file` classifies, for `cookbook predict`'s check."""
    info = read_model_info(model_dir)
    column = column or info.get("image_column") or IMAGE
    images = [item for item in image_io.list_prediction_images(path, column) if image_io.check_image(item).ok]
    images = [images[i] for i in sorted(np.random.default_rng(0).permutation(len(images))[:MAX_ROWS])]
    mean, std = normalisation(info["base_model"])
    transform = image_io.eval_transform(info["image_size"], mean, std)
    model = build_classifier(info["base_model"], 2).eval()
    with torch.inference_mode():
        return np.concatenate([
            model.embed(torch.stack([transform(image_io.open_image(item)) for item in images[start:start + 64]])).numpy()
            for start in range(0, len(images), 64)]) if images else np.zeros((0, 1))


def model_name(config: RecipeConfig) -> str:
    """The pre-trained backbone the fine-tune starts from, as the config names it."""
    return config.model.name


def pixels_baseline(data: LabelledData, config: RecipeConfig) -> ApproachResult:
    """The non-neural baseline: a logistic regression on grey thumbnails (`pixels`), its strength chosen on
    validation; validation and test are averaged over the views evaluation uses, as the networks' are."""
    with measure("pixels_logreg") as cost:
        views = {split: [thumbnails(view) for view in evaluation_datasets(data, config, SCRATCH, split)]
                 for split in ("train", "validation", "test")}
        chosen, strength = pixel_probabilities(views, data.label_ids("train"), data.label_ids("validation"),
                                               len(data.labels), config.training.seed)
    return score("pixels_logreg", f"logistic regression on {THUMBNAIL}x{THUMBNAIL} grey thumbnails (C {strength:g}, "
                 "chosen on validation)", data, config, chosen["test"], chosen["validation"], cost,
                 len(data.splits["train"]))


def baselines(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None) -> list[ApproachResult]:
    """What you get without fine-tuning: a logistic regression on the pixels, a CNN of the task images only, and
    the frozen pre-trained backbone."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cookbook-scratch-") as scratch_dir:
        scratch = scratch_baseline(data, config, output_dir or scratch_dir)
    return [pixels_baseline(data, config), scratch, frozen_baseline(data, config)]


def tune(data: LabelledData, config: RecipeConfig, output_dir: str | Path | None = None) -> SearchResult:
    """The fixed-budget search over learning rate, epochs, batch size and weight decay, scored on validation."""
    output_dir = Path(output_dir or config.output_dir) / "search"
    datasets = image_datasets(data, config.model.image_size, config.model.name)
    start = classifier_starter(data, config, config.model.name)

    def model_init(trial=None):
        return with_speed_settings(start(config.training.seed), config.training)

    rows = len(data.splits["train"])
    trainer = _trainer(data, config, config.training,
                       _image_arguments(config.training, output_dir, rows, checkpoints=False),
                       datasets, backbone=config.model.name, model_init=model_init)
    return search(trainer, config.tune, config.training.metric_for_best_model, config.training.greater_is_better,
                  epochs_trained=floored_trial_epochs(rows, config.training))


# ---------------------------------------------------------------------------------------------------- looking


def prediction_table(data: LabelledData, result: ApproachResult) -> pd.DataFrame:
    """The test images in order, with the true class, the predicted one, its probability and whether it is right."""
    test = data.splits["test"]
    predicted = result.probabilities.argmax(axis=1)
    return pd.DataFrame({
        FILE: test[FILE].to_numpy(), IMAGE: test[IMAGE].to_numpy(), "true": test[LABEL].to_numpy(),
        "predicted": [data.labels[i] for i in predicted],
        "confidence": result.probabilities.max(axis=1).round(3),
    }).assign(correct=lambda f: f["true"] == f["predicted"])


def shown_images(table: pd.DataFrame, image_size: int) -> list:
    """The images of a table as the model sees them (RGB, resized), for plotting."""
    return [image_io.open_image(item).resize((image_size, image_size)) for item in table[IMAGE]]


def gradcam_examples(model, table: pd.DataFrame, config: RecipeConfig) -> np.ndarray:
    """Grad-CAM heat maps (captum) of a trained classifier's predicted class, one per image of `table`."""
    from finetune_cookbook.vision.explain import gradcam

    mean, std = normalisation(backbone_of(model, config))
    transform = image_io.eval_transform(config.model.image_size, mean, std)
    pixels = torch.stack([transform(image_io.open_image(item)) for item in table[IMAGE]])
    return gradcam(model.float().cpu(), pixels)


def mistakes_and_hits(table: pd.DataFrame, n: int = 4) -> pd.DataFrame:
    """The `n` most confident wrong predictions and the `n` most confident right ones, for error analysis."""
    ranked = table.sort_values("confidence", ascending=False)
    return pd.concat([ranked[~ranked["correct"]].head(n), ranked[ranked["correct"]].head(n)])


# ---------------------------------------------------------------------------------------------------- saving


def save_model(trainer: Trainer, config: RecipeConfig, output_dir: str | Path, model_card: str,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Weights (safetensors), the architecture (JSON), the preprocessing, the class names and the decision
    threshold chosen on validation, all or nothing. Nothing in the folder is unpickled when it is loaded again."""
    model = trainer.model
    backbone = backbone_of(model, config)
    info = {"task": config.task, "domain": config.domain, "base_model": config.model.name,
            "image_size": config.model.image_size, "normalisation": normalisation(backbone),
            "test_time_flip": config.model.test_time_flip,
            "labels": model.labels, "threshold": model.decision_threshold,
            "positive_class": model.labels[model.positive] if model.positive is not None else None,
            "image_column": config.data.image_column or IMAGE}
    return save_atomically(output_dir, lambda folder: save_classifier(model, folder), info, model_card,
                           extra_files=with_config(config, extra_files))


def model_card(config: RecipeConfig, data: LabelledData, metrics: dict[str, float], output_dir, made_by: str) -> str:
    """The image model card (`card.py`): data, test metrics with the threshold, intended use; Markdown."""
    return image_model_card(config, data.report, metrics, data.labels, output_dir, made_by)


class ImagePredictor:
    """A saved image classifier loaded once (PyTorch), answering batches as `cookbook predict` does; `cookbook
    serve --backend torch` calls `predict`, which answers as an export's `runtime.py` does."""

    input_kind = "images"
    model_file = "model.safetensors (PyTorch)"

    def __init__(self, model_dir: str | Path):
        self.folder = model_folder(model_dir)
        self.info = read_model_info(self.folder)
        self.model = load_classifier(self.folder)
        self.labels = self.info["labels"]

    def table(self, images: list, names: list[str] | None = None, batch_size: int = 32) -> pd.DataFrame:
        """A row an image: the class, its probability and every class's probability; with a saved threshold,
        whether the positive class is flagged. An image that cannot be read gets a row saying why."""
        info = self.info
        mean, std = info["normalisation"]
        transform = image_io.eval_transform(info["image_size"], mean, std)
        labels, rows = info["labels"], []
        names = names or [str(item) if isinstance(item, (str, Path)) else f"image {i + 1}"
                          for i, item in enumerate(images)]
        positive = labels.index(info["positive_class"]) if info.get("positive_class") in labels else None
        with rows_of(len(images), "images") as advance:  # shown by `cookbook predict` only
            for start in range(0, len(images), batch_size):
                self._batch(images[start:start + batch_size], names[start:start + batch_size], transform, positive,
                            rows)
                advance(min(batch_size, len(images) - start))
        columns = ["file", "label", "confidence", *(f"p_{label}" for label in labels)]
        columns += [f"flag_{labels[positive]}"] if positive is not None and info.get("threshold") is not None else []
        table = pd.DataFrame(rows, columns=columns + ["skipped"])  # the same columns, in one order, whatever is read
        return table if table["skipped"].notna().any() else table.drop(columns="skipped")

    def _batch(self, images: list, names: list[str], transform, positive: int | None, rows: list) -> None:
        """Scores one batch, appending a row an image to `rows`, in order."""
        info, model, labels = self.info, self.model, self.info["labels"]
        # one slot per input, filled in place, so skipped images keep their position among the good ones
        batch, kept, slots = [], [], []
        for item, name in zip(images, names):
            check = image_io.check_image(item)
            if not check.ok:
                slots.append({"file": name, "label": None, "confidence": None, "skipped": check.reason})
                continue
            batch.append(transform(image_io.open_image(item)))
            kept.append((len(slots), name))
            slots.append(None)
        if not batch:
            rows.extend(slots)
            return
        pixels = torch.stack(batch)
        with torch.inference_mode():
            probabilities = torch.softmax(model(pixels)["logits"].float(), dim=1)
            if info.get("test_time_flip"):
                mirrored = torch.softmax(model(image_io.mirror(pixels))["logits"].float(), dim=1)
                probabilities = (probabilities + mirrored) / 2
        probabilities = probabilities.numpy()
        for (slot, name), p in zip(kept, probabilities):
            best = int(p.argmax())
            row = {"file": name, "label": labels[best], "confidence": round(float(p[best]), 4),
                   **{f"p_{label}": round(float(q), 4) for label, q in zip(labels, p)}}
            if positive is not None and info.get("threshold") is not None:
                row[f"flag_{labels[positive]}"] = bool(p[positive] >= info["threshold"])
            slots[slot] = row
        rows.extend(slots)

    def predict(self, images: list, names: list[str] | None = None, batch_size: int = 32) -> list[dict]:
        """The rows of `table` as plain values; an image that was read has no `skipped`, one that was not has only
        `file`, `label` and `confidence` (None) and `skipped`."""
        answers = []
        for row in self.table(images, names, batch_size).to_dict("records"):
            row = {key: None if pd.isna(value) else getattr(value, "item", lambda v=value: v)()
                   for key, value in row.items()}
            if row.get("skipped") is None:
                row.pop("skipped", None)
            else:
                row = {key: row[key] for key in ("file", "label", "confidence", "skipped")}
            answers.append(row)
        return answers


def predictor(model_dir: str | Path) -> ImagePredictor:
    """The saved classifier, loaded once, for `cookbook serve --backend torch`."""
    return ImagePredictor(model_dir)


def predict(model_dir: str | Path, images: list, names: list[str] | None = None, batch_size: int = 32) -> pd.DataFrame:
    """Classifies images (file paths, or encoded bytes with `names`) with a saved model: the class, its
    probability and every class's probability; with a saved threshold, whether the positive class is flagged.
    An image that cannot be read gets a row saying why, never a crash halfway."""
    return ImagePredictor(model_dir).table(images, names, batch_size)


def predict_file(model_dir: str | Path, path: str | Path, column: str | None = None) -> pd.DataFrame:
    """Classifies one image, every image in a folder, or the images a CSV lists (`column`, default: the
    training CSV's path column)."""
    column = column or read_model_info(model_dir).get("image_column") or IMAGE
    return predict(model_dir, image_io.list_prediction_images(path, column))


def export(model_dir: str | Path, export_dir: str | Path, data: LabelledData | None = None,
           quantize: str | None = None) -> dict:
    """The saved classifier as ONNX with its input size, scaling, threshold and `runtime.py` (`vision.export`),
    parity checked on the test images of `data` (random pixels without it)."""
    from finetune_cookbook.vision.export import export_image_classifier

    test = data.splits["test"] if data is not None else None
    images = test[IMAGE].tolist() if test is not None else None
    truth = test[LABEL].tolist() if test is not None else None
    return export_image_classifier(model_dir, export_dir, images, truth, quantize)
