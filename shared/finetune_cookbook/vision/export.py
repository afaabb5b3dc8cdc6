"""A saved image classifier as an ONNX export: the graph with a dynamic batch, the input size and scaling, the
labels and threshold, and `runtime.py` (this package's `vision/runtime.py`), checked against PyTorch first."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from finetune_cookbook.core import export as onnx_export
from finetune_cookbook.core.saving import model_folder, read_model_info
from finetune_cookbook.vision import images as image_io
from finetune_cookbook.vision import runtime
from finetune_cookbook.vision.backbones import load_classifier

TRACED_BATCH = 2


def as_source(item):
    """An image as the runtime reads it: a path or the file's bytes (a datasets Image dict gives either)."""
    if isinstance(item, dict):
        return item["bytes"] if item.get("bytes") is not None else item["path"]
    return item


def torch_probabilities(model, info: dict, sources: list) -> np.ndarray:
    mean, std = info["normalisation"]
    transform = image_io.eval_transform(info["image_size"], mean, std)
    pixels = torch.stack([transform(image_io.open_image(source)) for source in sources])
    with torch.inference_mode():
        p = torch.softmax(model(pixels)["logits"].double(), dim=1)
        if info.get("test_time_flip"):
            p = (p + torch.softmax(model(image_io.mirror(pixels))["logits"].double(), dim=1)) / 2
    return p.numpy()


def export_image_classifier(model_dir: str | Path, export_dir: str | Path, images: list | None = None,
                            true_labels: list[str] | None = None, quantize: str | None = None) -> dict:
    """Writes `model.onnx` and `runtime.py` into `export_dir` and returns the export's description. Parity is
    measured on `images` (the run's test images, at least three so the batch differs from the traced one; random
    pixels when none are given) on the logits and end to end through `runtime.py`."""
    export_dir = Path(export_dir)
    folder = model_folder(model_dir)
    info = read_model_info(folder)
    model = load_classifier(folder)
    size = int(info["image_size"])
    generator = torch.Generator().manual_seed(0)
    traced = torch.randn(TRACED_BATCH, 3, size, size, generator=generator)
    onnx_export.export_onnx(model, {"pixel_values": traced}, export_dir / "model.onnx", {"pixel_values": (0,)})
    shutil.copyfile(runtime.__file__, export_dir / "runtime.py")
    mean, std = info["normalisation"]
    spec = {"modality": "image", "input_kind": runtime.INPUT_KIND, "model": "model.onnx", "labels": info["labels"],
            "image_size": size, "mean": list(mean), "std": list(std),
            "test_time_flip": bool(info.get("test_time_flip")),
            "positive_class": info.get("positive_class"), "threshold": info.get("threshold")}
    (export_dir / runtime.EXPORT_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False))

    sources = [as_source(item) for item in (images or [])][:64]
    truth = list(true_labels)[:64] if true_labels else None
    random_pixels = torch.randn(TRACED_BATCH + 3, 3, size, size, generator=generator).numpy()
    difference = onnx_export.largest_difference(model, export_dir / "model.onnx", {"pixel_values": random_pixels})
    onnx_export.check_parity(difference, f"{export_dir / 'model.onnx'} (logits, batch {len(random_pixels)})")
    spec["parity"] = {"logits_max_abs_difference": difference, "traced_batch": TRACED_BATCH,
                      "checked_batch": len(random_pixels)}
    exported = runtime.load(export_dir)
    if sources:
        exact = np.stack([exported.probabilities_of_pixels(np.stack([exported.pixels(runtime.read_image(s)[0])]))[0]
                          for s in sources])
        end_to_end = float(np.abs(exact - torch_probabilities(model, info, sources)).max())
        onnx_export.check_parity(end_to_end, f"{export_dir} (probabilities through runtime.py, {len(sources)} images)")
        spec["parity"].update(probabilities_max_abs_difference=end_to_end, images=len(sources))
        spec["fp32"] = {"megabytes": onnx_export.megabytes(export_dir / "model.onnx"),
                        **_quality(exact, info["labels"], truth), **_speed(exported, size)}
        spec["pytorch_fp32"] = {**_quality(torch_probabilities(model, info, sources), info["labels"], truth),
                                **_speed(_TorchImages(model, bool(info.get("test_time_flip"))), size)}
    else:
        spec["fp32"] = {"megabytes": onnx_export.megabytes(export_dir / "model.onnx"), **_speed(exported, size)}
    if quantize == "int8":
        onnx_export.quantize_int8(export_dir / "model.onnx", export_dir / "model.int8.onnx", per_channel=True)
        int8 = runtime.load(export_dir, "model.int8.onnx")
        spec["int8"] = {"model": "model.int8.onnx", "megabytes": onnx_export.megabytes(export_dir / "model.int8.onnx"),
                        "note": "Dynamic int8 quantisation stores the convolution and linear weights as int8 "
                                "(ConvInteger, MatInteger) and quantises activations on the fly: the file shrinks, "
                                "but a CPU may run these integer convolutions slower than fp32 ones, and the "
                                "labels can move. Compare speed and agreement here before serving it; static "
                                "quantisation with calibration images is the route for CNNs.", **_speed(int8, size)}
        if sources:
            quantized = np.stack([int8.probabilities_of_pixels(np.stack([int8.pixels(runtime.read_image(s)[0])]))[0]
                                  for s in sources])
            spec["int8"].update(same_label_as_fp32=float((quantized.argmax(1) == exact.argmax(1)).mean()),
                                **_quality(quantized, info["labels"], truth))
    return spec


class _TorchImages:
    """PyTorch eager fp32 on the same pixel batches, as the speed comparison calls it."""

    def __init__(self, model, flip: bool):
        self.model, self.flip = model, flip

    def probabilities_of_pixels(self, batch: np.ndarray) -> np.ndarray:
        pixels = torch.from_numpy(np.ascontiguousarray(batch))
        with torch.inference_mode():
            p = torch.softmax(self.model(pixels)["logits"].double(), dim=1)
            if self.flip:
                p = (p + torch.softmax(self.model(image_io.mirror(pixels))["logits"].double(), dim=1)) / 2
        return p.numpy()


def _quality(probabilities: np.ndarray, labels: list[str], truth: list[str] | None) -> dict:
    return onnx_export.quality_on_test(probabilities, labels, truth, metrics=("accuracy",))


def _speed(model, size: int) -> dict:
    rng = np.random.default_rng(0)
    one = rng.standard_normal((1, 3, size, size)).astype(np.float32)
    batch = rng.standard_normal((32, 3, size, size)).astype(np.float32)
    return onnx_export.speed(lambda: model.probabilities_of_pixels(one), lambda: model.probabilities_of_pixels(batch),
                             "images")
