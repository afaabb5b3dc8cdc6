"""Grad-CAM heat maps with captum: where in the image the classifier looked for its answer.

Grad-CAM weighs the last convolutional layer's feature maps by the gradient of the class
score, so its map has that layer's resolution (1/32 of the input for EfficientNet, 1/8 for the
small CNN); it is upsampled to the input size to overlay on the image.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam


def gradcam(model, pixel_values: torch.Tensor, target: int | list[int] | torch.Tensor | None = None) -> np.ndarray:
    """Heat maps in [0, 1], shape (batch, height, width), for a batch of normalised `pixel_values`.

    `model` is an `ImageClassifier` (anything with `target_layer()` whose forward returns a dict with
    `logits`). `target` is the class to explain per image; by default the predicted class.
    A map of all zeros means no region raised the class score.
    """
    was_training = model.training
    model.eval()  # dropout and batch-norm updates would change the explanation between calls
    try:
        def logits(inputs: torch.Tensor) -> torch.Tensor:
            return model(inputs)["logits"]

        if target is None:
            with torch.no_grad():
                target = logits(pixel_values).argmax(dim=1)
        explainer = LayerGradCam(logits, model.target_layer())
        coarse = explainer.attribute(pixel_values, target=target, relu_attributions=True)
        maps = LayerAttribution.interpolate(coarse, tuple(pixel_values.shape[-2:]), interpolate_mode="bilinear")
    finally:
        model.train(was_training)
    maps = maps.detach().float().squeeze(1).clamp(min=0)  # a Trainer-wrapped model may compute in bf16
    peaks = maps.amax(dim=(1, 2), keepdim=True)
    return torch.where(peaks > 0, maps / peaks.clamp(min=1e-12), torch.zeros_like(maps)).numpy()
