"""The image domain's non-neural baseline: a logistic regression on the pixels themselves, each image shrunk to a
small grey thumbnail. It is what the label-efficiency curve sets beside the networks as "the best you get without
a neural network", the image counterpart of the reviews' TF-IDF."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from finetune_cookbook.core.compare import ApproachResult
from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.data import LabelledData
from finetune_cookbook.core.measure import measure
from finetune_cookbook.tasks.image_classification import SCRATCH, evaluation_datasets, score
from finetune_cookbook.vision import images as image_io

THUMBNAIL = 32  # pixels a side: enough for a lesion's shape and brightness, few enough for 600 training images
STRENGTHS = (0.001, 0.01, 0.1, 1.0)  # inverse regularisation tried; validation's log loss picks one


def thumbnails(dataset, size: int = THUMBNAIL) -> np.ndarray:
    """Every image of `dataset` as a grey `size` x `size` thumbnail, flattened, in order."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, collate_fn=image_io.collate_images)
    parts = [F.adaptive_avg_pool2d(batch["pixel_values"].float().mean(dim=1, keepdim=True), size).flatten(1).numpy()
             for batch in loader]
    return np.concatenate(parts)


def pixels_baseline(data: LabelledData, config: RecipeConfig) -> ApproachResult:
    """Standardised thumbnails, then a class-balanced logistic regression whose strength is chosen on validation;
    validation and test predictions are averaged over the views evaluation uses (mirror images too, with
    `model.test_time_flip`), as the networks' are."""
    with measure("pixels_logreg") as cost:
        views = {split: [thumbnails(view) for view in evaluation_datasets(data, config, SCRATCH, split)]
                 for split in ("train", "validation", "test")}
        scaler = StandardScaler().fit(views["train"][0])
        train = scaler.transform(views["train"][0])

        def probabilities(model, split):
            return np.mean([model.predict_proba(scaler.transform(view)) for view in views[split]], axis=0)

        fitted = [LogisticRegression(class_weight="balanced", C=strength, max_iter=5000, random_state=config.training.seed)
                  .fit(train, data.label_ids("train")) for strength in STRENGTHS]
        losses = [log_loss(data.label_ids("validation"), probabilities(model, "validation"),
                           labels=list(range(len(data.labels)))) for model in fitted]
        best = fitted[int(np.argmin(losses))]
        chosen = {split: probabilities(best, split) for split in ("validation", "test")}
    return score("pixels_logreg", f"logistic regression on {THUMBNAIL}x{THUMBNAIL} grey thumbnails (C {best.C:g}, "
                 "chosen on validation)", data, config, chosen["test"], chosen["validation"], cost,
                 len(data.splits["train"]))
