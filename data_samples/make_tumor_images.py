"""Draw a small synthetic set of ultrasound-like lesion images (data_samples/tumor_images/).

Grey 96x96 PNGs in two class folders, benign/ and malignant/. The shapes follow the textbook
ultrasound signs (BI-RADS descriptors), drawn with numpy, nothing copied from any real scan:
    benign     oval or round, smooth and sharp margin, often a thin bright capsule,
               homogeneous dark interior, often brighter tissue below (posterior enhancement)
    malignant  irregular outline with lobulations and spicules, blurred margin, sometimes
               taller than wide, heterogeneous interior, often a dark shadow below it
The classes overlap on purpose (some benign lesions are lobulated, some malignant ones nearly
smooth, the posterior signs are not always there), and every image gets speckle noise and a
random gain, position and size, so a model has to learn the shapes.

Deterministic: a fixed seed, numpy and Pillow only. From the repository root:
    python data_samples/make_tumor_images.py
"""

from pathlib import Path

import numpy as np
from PIL import Image

SEED = 20240611
SIZE = 96
PER_CLASS = 60
OUT_DIR = Path(__file__).resolve().parent / "tumor_images"


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with reflected edges."""
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(image, radius, mode="reflect")
    rows = np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="valid"), 1, padded)
    return np.apply_along_axis(lambda line: np.convolve(line, kernel, mode="valid"), 0, rows)


def tissue(rng: np.random.Generator) -> np.ndarray:
    """Background echogenicity: fades with depth, soft horizontal layers, slow blotches."""
    depth = np.linspace(0, 1, SIZE)[:, None]
    level = rng.uniform(0.45, 0.65) * (1 - rng.uniform(0.15, 0.45) * depth)
    layers = 0.07 * np.sin(2 * np.pi * (depth * rng.uniform(2, 5) + rng.uniform(0, 1)))
    blotches = 0.6 * blur(rng.normal(0, 1, (SIZE, SIZE)), 6)
    image = np.clip(level + layers + blotches, 0.05, 1) * np.ones((SIZE, SIZE))
    if rng.random() < 0.4:  # a faint dark patch of normal tissue (fat lobule), in either class
        rows, cols = np.mgrid[0:SIZE, 0:SIZE]
        y, x, r = rng.uniform(0, SIZE), rng.uniform(0, SIZE), rng.uniform(5, 10)
        image *= 1 - rng.uniform(0.2, 0.4) * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * r ** 2))
    return image


def outline(rng: np.random.Generator, malignant: bool, angles: np.ndarray) -> np.ndarray:
    """Relative radius of the lesion at each angle: smooth for benign, lobulated and spiculated for malignant."""
    radius = np.ones_like(angles)
    lobulation = rng.uniform(0.04, 0.18) if malignant else rng.choice([0.0, 0.04, 0.1], p=[0.4, 0.4, 0.2])
    for harmonic in range(2, 7):
        radius += lobulation / harmonic ** 0.5 * np.sin(harmonic * angles + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.3, 1)
    if malignant and rng.random() < 0.7:
        for centre in rng.uniform(0, 2 * np.pi, rng.integers(3, 10)):
            distance = np.angle(np.exp(1j * (angles - centre)))
            radius += rng.uniform(0.06, 0.25) * np.exp(-(distance / rng.uniform(0.05, 0.12)) ** 2)
    return radius


def draw(rng: np.random.Generator, malignant: bool) -> np.ndarray:
    image = tissue(rng)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    centre_y, centre_x = rng.uniform(0.35, 0.6) * SIZE, rng.uniform(0.3, 0.7) * SIZE
    size = rng.uniform(9, 20)
    # Benign lesions tend to lie parallel to the skin (wider than tall); malignant ones may not.
    aspect = rng.uniform(0.85, 1.5) if malignant and rng.random() < 0.5 else rng.uniform(0.55, 0.95)
    dy, dx = (rows - centre_y) / (size * aspect), (cols - centre_x) / size
    rho, angles = np.hypot(dx, dy), np.arctan2(dy, dx)
    edge = rng.uniform(0.05, 0.12) if malignant else rng.uniform(0.02, 0.07)  # blurred versus sharp margin
    inside = 1 / (1 + np.exp((rho - outline(rng, malignant, angles)) / edge))

    darkness = rng.uniform(0.15, 0.5)
    interior = np.full((SIZE, SIZE), darkness)
    if malignant:
        interior += rng.uniform(0.05, 0.2) * np.abs(blur(rng.normal(0, 1, (SIZE, SIZE)), 1.5)) * 3
    image = image * (1 - inside) + image * interior * inside
    if not malignant and rng.random() < 0.4:
        image += rng.uniform(0.08, 0.25) * np.exp(-((rho - 1) / 0.06) ** 2)  # thin bright capsule

    # Below the lesion: benign cysts pass sound (brighter), solid malignant masses block it (shadow).
    below = np.clip((rows - centre_y) / SIZE * 4, 0, 1) * np.exp(-(((cols - centre_x) / (size * 0.9)) ** 4))
    if malignant and rng.random() < 0.6:
        image *= 1 - rng.uniform(0.15, 0.45) * below
    elif not malignant and rng.random() < 0.5:
        image *= 1 + rng.uniform(0.1, 0.3) * below

    speckle = blur(rng.rayleigh(1.0, (SIZE, SIZE)), 0.6)
    image *= speckle / speckle.mean() * rng.uniform(0.75, 1.25)
    return np.clip(image * 255, 0, 255).astype(np.uint8)


def main() -> None:
    rng = np.random.default_rng(SEED)
    for label in ("benign", "malignant"):
        folder = OUT_DIR / label
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        for index in range(1, PER_CLASS + 1):
            Image.fromarray(draw(rng, label == "malignant"), "L").save(folder / f"{label}_{index:03d}.png", optimize=True)
    total = sum(path.stat().st_size for path in OUT_DIR.rglob("*.png"))
    print(f"Wrote {2 * PER_CLASS} images to {OUT_DIR} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
