"""Figures for image classification; one function per figure, each returning the matplotlib figure.

Images may be given as PIL images, numpy arrays, file paths, or bytes (as in a found-images table).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image
from sklearn.metrics import auc, roc_auc_score, roc_curve
from sklearn.preprocessing import label_binarize

from finetune_cookbook.vision.images import open_image


def _as_array(image) -> np.ndarray:
    if isinstance(image, np.ndarray):
        return image
    return np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else open_image(image))


def _grid(count: int, columns: int, size: float = 2.2):
    columns = max(1, min(columns, count))
    rows = max(1, math.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    return fig, axes.flat


def roc_curves(y_true, scores_by_approach: dict, labels: list[str]):
    """ROC curve per approach, AUC in the legend.

    Binary: `scores` are the positive class's (`labels[1]`) probability, or (N, 2) probabilities.
    More classes: (N, classes) probabilities; the curve is the one-vs-rest macro average.
    """
    y_true = np.asarray(y_true)
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    for name, scores in scores_by_approach.items():
        scores = np.asarray(scores)
        if len(labels) == 2:
            positive = scores[:, 1] if scores.ndim == 2 else scores
            fpr, tpr, _ = roc_curve(y_true, positive, pos_label=1)
            area = auc(fpr, tpr)
        else:
            truth = label_binarize(y_true, classes=list(range(len(labels))))
            fpr = np.linspace(0, 1, 201)
            # Average the per-class curves on one false-positive grid: the macro one-vs-rest curve.
            tpr = np.mean([np.interp(fpr, *roc_curve(truth[:, k], scores[:, k])[:2]) for k in range(len(labels))], axis=0)
            area = roc_auc_score(y_true, scores, multi_class="ovr", average="macro", labels=list(range(len(labels))))
        ax.plot(fpr, tpr, label=f"{name} (AUC {area:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(f"ROC, positive class: {labels[1]}" if len(labels) == 2 else "ROC, one-vs-rest macro average")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def image_grid(images, titles: list[str], wrong: list[bool] | None = None, columns: int = 6):
    """Images titled with e.g. prediction and confidence; `wrong` ones get a red title and frame."""
    wrong = wrong if wrong is not None else [False] * len(images)
    fig, axes = _grid(len(images), columns)
    for ax, image, title, is_wrong in zip(axes, images, titles, wrong):
        ax.imshow(_as_array(image))
        ax.set_title(title, fontsize=8, color="red" if is_wrong else "black")
        if is_wrong:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(3)
    fig.tight_layout()
    return fig


def gradcam_grid(images, heatmaps, titles: list[str], columns: int = 4, alpha: float = 0.45):
    """Each image with its Grad-CAM heat map (0-1, any size) overlaid: red is where the class evidence was."""
    fig, axes = _grid(len(images), columns, size=2.6)
    for ax, image, heatmap, title in zip(axes, images, heatmaps, titles):
        pixels = _as_array(image)
        height, width = np.asarray(heatmap).shape
        pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.BILINEAR))
        ax.imshow(pixels)
        ax.imshow(heatmap, cmap="jet", alpha=alpha, vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def class_examples(table: pd.DataFrame, n_per_class: int = 5, seed: int = 0):
    """A row of `n_per_class` random images per class, from a found-images table (`image`, `label`)."""
    classes = sorted(table["label"].unique())
    fig, axes = plt.subplots(len(classes), n_per_class, figsize=(2 * n_per_class, 2.1 * len(classes)), squeeze=False)
    for row, label in zip(axes, classes):
        rows = table[table["label"] == label]
        sample = rows.sample(min(n_per_class, len(rows)), random_state=seed)
        for ax in row:
            ax.axis("off")
        for ax, image in zip(row, sample["image"]):
            ax.imshow(_as_array(image))
        row[0].set_title(f"{label} ({len(rows)} images)", loc="left", fontsize=9)
    fig.tight_layout()
    return fig
