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

from finetune_cookbook.vision import images as image_io

THUMBNAIL = 32  # pixels a side: enough for a lesion's shape and brightness, few enough for 600 training images
STRENGTHS = (0.001, 0.01, 0.1, 1.0)  # inverse regularisation tried; validation's log loss picks one


def thumbnails(dataset, size: int = THUMBNAIL) -> np.ndarray:
    """Every image of `dataset` as a grey `size` x `size` thumbnail, flattened, in order."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, collate_fn=image_io.collate_images)
    parts = [F.adaptive_avg_pool2d(batch["pixel_values"].float().mean(dim=1, keepdim=True), size).flatten(1).numpy()
             for batch in loader]
    return np.concatenate(parts)


def pixel_probabilities(views: dict[str, list[np.ndarray]], train_ids, validation_ids, n_classes: int,
                        seed: int) -> tuple[dict[str, np.ndarray], float]:
    """Standardised thumbnails (`views`: per split, one array per view, the first as the images are), then a
    class-balanced logistic regression whose strength validation's log loss chooses. Returns the validation and test
    probabilities, each averaged over the views, and the strength chosen."""
    scaler = StandardScaler().fit(views["train"][0])
    train = scaler.transform(views["train"][0])

    def probabilities(model, split):
        return np.mean([model.predict_proba(scaler.transform(view)) for view in views[split]], axis=0)

    fitted = [LogisticRegression(class_weight="balanced", C=strength, max_iter=5000, random_state=seed)
              .fit(train, train_ids) for strength in STRENGTHS]
    losses = [log_loss(validation_ids, probabilities(model, "validation"), labels=list(range(n_classes)))
              for model in fitted]
    best = fitted[int(np.argmin(losses))]
    return {split: probabilities(best, split) for split in ("validation", "test")}, float(best.C)
