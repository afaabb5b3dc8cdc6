"""Predicting with an exported image classifier, with onnxruntime, numpy and Pillow alone.

`cookbook export` copies this file into every image export as `runtime.py`: it imports nothing of the cookbook
and nothing of PyTorch. It reads images as training did: any mode to 8-bit RGB (16-bit grey scaled by its bit depth, transparency
on black, EXIF orientation applied), resized to a square, scaled as the backbone expects; with test-time flips
the mirror image's prediction is averaged in.

    python runtime.py EXPORT_DIR scan1.png scan2.jpg           # one JSON object a line

In Python: `ImageModel(EXPORT_DIR).predict([path_or_bytes, ...])` gives one dict an image.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import numpy as np

EXPORT_FILE = "export.json"
INPUT_KIND = "images"  # what a request sends this model: image files
HIGH_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}
ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
MIN_SIDE = 8


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def decode(source):
    """A fully decoded PIL image from a path or bytes; truncated files fail instead of being padded with grey."""
    from PIL import Image, ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
        with stream:
            image = Image.open(stream)
            image.load()
        return image
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def scale_high_bit(pixels: np.ndarray, mode: str) -> np.ndarray:
    """0-255 floats from 16-bit, 32-bit or float grey, by the bit depth the values are stored in, never by the
    image's own darkest and brightest pixel: stretched that way, one scan saved as 8-bit and as 16-bit looked
    different to the model (a faint scan was brightened), and changed class. 16-bit modes (and 32-bit integers
    that fit 16 bits, as Pillow opens some 16-bit PNGs) divide by 257 (65535 -> 255); floats in 0-1 are
    fractions of white. Only values that fit no such range (negative, or beyond 16 bits) are stretched by their
    own range, the one way left to show them at all."""
    if mode.startswith("I;16") or (mode == "I" and pixels.min() >= 0 and pixels.max() <= 65535):
        return pixels / 257.0
    if mode == "F" and pixels.min() >= 0 and pixels.max() <= 1:
        return pixels * 255.0
    low, high = pixels.min(), pixels.max()
    return (pixels - low) * (255.0 / (high - low)) if high > low else np.zeros_like(pixels)


def to_rgb(image):
    """8-bit RGB from any PIL mode; grey becomes three equal channels. The package reads training images with
    this same function (`vision.images` imports it), so training, `cookbook predict` and an export agree.

    16- and 32-bit grey and float images are scaled by their bit depth (`scale_high_bit`). Transparency is
    composited on black, the background of most scans. EXIF orientation is applied, as a viewer would.
    """
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image)
    if image.mode in HIGH_BIT_MODES:
        pixels = np.nan_to_num(np.asarray(image, dtype=np.float64))
        scaled = np.clip(np.round(scale_high_bit(pixels, image.mode)), 0, 255)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")
    return image.convert("RGB")


def read_image(source) -> tuple[object | None, str | None]:
    """(an RGB image, None), or (None, why it cannot be used)."""
    from PIL import Image, UnidentifiedImageError

    try:
        if (isinstance(source, (bytes, bytearray)) and not source) or (
                isinstance(source, (str, Path)) and Path(source).stat().st_size == 0):
            return None, "empty file (0 bytes)"
        decoded = decode(source)
        width, height = decoded.size
        image = to_rgb(decoded)
    except UnidentifiedImageError:
        return None, "not an image file (PIL cannot identify it)"
    except Image.DecompressionBombError:
        return None, "too many pixels (PIL's decompression-bomb limit): resize it first"
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"corrupt or truncated image ({error})"
    if min(width, height) < MIN_SIDE:
        return None, f"{width}x{height} px is smaller than {MIN_SIDE} px on a side: too small to upscale"
    return image, None


def session_threads(threads: int | None) -> int | None:
    """`threads`, else OMP_NUM_THREADS where it is set: PyTorch follows it and ONNX Runtime does not, and several
    processes on one machine (service workers, test workers) that each start a spinning thread per core slow
    each other down. None: ONNX Runtime's default, a thread per core."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return threads or (int(value) if value.isdigit() and int(value) > 0 else None)


class ImageModel:
    """An exported image classifier: the ONNX graph and the input size and scaling of `export.json`."""

    def __init__(self, folder: str | Path, model_file: str | None = None, threads: int | None = None):
        import onnxruntime as ort

        self.folder = Path(folder)
        self.spec = json.loads((self.folder / EXPORT_FILE).read_text(encoding="utf-8"))
        self.labels: list[str] = self.spec["labels"]
        self.size = int(self.spec["image_size"])
        self.mean = np.asarray(self.spec["mean"], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(self.spec["std"], dtype=np.float32).reshape(3, 1, 1)
        self.flip = bool(self.spec.get("test_time_flip"))
        self.threshold = self.spec.get("threshold")
        self.positive = self.spec.get("positive_class")
        options = ort.SessionOptions()
        threads = session_threads(threads)
        if threads:
            options.intra_op_num_threads = threads
        self.model_file = model_file or self.spec["model"]
        self.session = ort.InferenceSession(str(self.folder / self.model_file), options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def pixels(self, image) -> np.ndarray:
        """A (3, size, size) float32 array, resized and scaled as evaluation did."""
        from PIL import Image

        resized = image.resize((self.size, self.size), Image.BILINEAR)
        array = np.asarray(resized, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return (array - self.mean) / self.std

    def probabilities_of_pixels(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        p = softmax(self.session.run(None, {self.input_name: batch})[0].astype(np.float64))
        if self.flip:
            mirrored = np.ascontiguousarray(batch[..., ::-1])
            p = (p + softmax(self.session.run(None, {self.input_name: mirrored})[0].astype(np.float64))) / 2
        return p

    def predict(self, images: list, names: list[str] | None = None, batch_size: int = 32) -> list[dict]:
        """One answer an image, as `cookbook predict` writes it: `file`, `label`, `confidence`, `p_<class>`, the
        positive class's flag at the saved threshold, or `skipped` with the reason the image cannot be read."""
        names = names or [str(item) if isinstance(item, (str, Path)) else f"image {i + 1}"
                          for i, item in enumerate(images)]
        answers: list[dict | None] = [None] * len(images)
        for start in range(0, len(images), batch_size):
            kept, arrays = [], []
            for index in range(start, min(start + batch_size, len(images))):
                image, problem = read_image(images[index])
                if problem:
                    answers[index] = {"file": names[index], "label": None, "confidence": None, "skipped": problem}
                    continue
                kept.append(index)
                arrays.append(self.pixels(image))
            if not kept:
                continue
            for index, p in zip(kept, self.probabilities_of_pixels(np.stack(arrays))):
                best = int(p.argmax())
                answer = {"file": names[index], "label": self.labels[best], "confidence": round(float(p[best]), 4),
                          **{f"p_{label}": round(float(q), 4) for label, q in zip(self.labels, p)}}
                if self.positive in self.labels and self.threshold is not None:
                    answer[f"flag_{self.positive}"] = bool(p[self.labels.index(self.positive)] >= self.threshold)
                answers[index] = answer
        return answers


def load(folder: str | Path, model_file: str | None = None, threads: int | None = None) -> ImageModel:
    """The exported model in `folder` (`model_file`: another graph of the export, such as the int8 one)."""
    return ImageModel(folder, model_file, threads)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    for answer in load(argv[1]).predict(argv[2:]):
        print(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
