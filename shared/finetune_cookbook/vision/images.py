"""Reading users' images safely: decoding every mode to RGB, finding labelled images, feeding the Trainer.

Four layouts are found (`discover_images` picks one):
    class folders      root/<label>/<image>
    split folders      root/<split>/<label>/<image>   (train/, Testing/, train_set/: any name that says its split)
    a label CSV        a path column (relative to the CSV's folder) and a label column
    an .npz file       arrays <split>_images and <split>_labels (the MedMNIST layout)

Each returns `FoundImages(table, skipped)`: a DataFrame with one row per usable image
(`image`, `label`, `split`, `file`, `digest`, `width`, `height`) and the `(file, reason)` of every
file left out. A file that cannot be used is skipped and reported, never a crash halfway; a layout
that cannot be used (an empty class folder, missing files, no images at all) raises `DataError`.
"""

from __future__ import annotations

import hashlib
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageFile, UnidentifiedImageError
from torchvision.transforms import v2

from finetune_cookbook.core.data import list_first
from finetune_cookbook.core.errors import DataError
from finetune_cookbook.core.io.readers import ROW, SPLIT_NAMES, read_table

# one copy of how any image mode becomes 8-bit RGB: the one every image export ships in its runtime.py
from finetune_cookbook.vision.runtime import ALPHA_MODES, HIGH_BIT_MODES, to_rgb  # noqa: F401

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
# Smaller images carry too little to upscale to any input size; larger ones are kept and counted.
MIN_SIDE = 8
OS_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
COLUMNS = ["image", "label", "split", "file", "digest", "width", "height"]
# Endings that still leave a word naming its split: trainset, testdata, valimages (never testicular, validated).
SPLIT_WORD_ENDINGS = ("set", "sets", "data", "images", "imgs", "split")


class FoundImages(NamedTuple):
    """The usable images as a table, and the files left out with the reason for each."""

    table: pd.DataFrame
    skipped: list[tuple[str, str]]


@dataclass(frozen=True)
class ImageCheck:
    """What `check_image` found: `reason` is None for a usable image, else why it is skipped."""

    reason: str | None = None
    width: int = 0
    height: int = 0
    mode: str = ""
    upscaled: bool = False
    digest: str = ""  # of the 8-bit RGB pixels: the same image saved as PNG and as BMP, or re-saved, is one image

    @property
    def ok(self) -> bool:
        return self.reason is None


@contextmanager
def _strict_decoding():
    # With LOAD_TRUNCATED_IMAGES on (another library may set it), PIL pads a truncated file with grey
    # instead of failing, and a cut-off JPEG would pass as a valid image.
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(source) -> Image.Image:
    """Open and fully decode, in the file's own mode. `source`: a path, bytes, or a datasets Image dict."""
    if isinstance(source, dict):
        source = source["bytes"] if source.get("bytes") is not None else source["path"]
    if isinstance(source, Image.Image):
        return source
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
    with stream, _strict_decoding():
        image = Image.open(stream)
        image.load()  # Image.open reads only the header; decoding is where truncation shows.
    return image


def open_image(source) -> Image.Image:
    """A user's image as a fully decoded 8-bit RGB PIL image: from a path, bytes, or a datasets Image dict."""
    return to_rgb(_decode(source))


def _is_empty(source) -> bool:
    if isinstance(source, (bytes, bytearray)):
        return not source
    return isinstance(source, (str, Path)) and Path(source).stat().st_size == 0


def check_image(source, input_size: int | None = None, min_side: int = MIN_SIDE) -> ImageCheck:
    """Decode `source` fully and say whether it can be used, and whether it will be upscaled.

    Skipped: empty files, files PIL cannot identify, corrupt or truncated files, images with a side under
    `min_side` pixels. Kept but flagged `upscaled`: a side under `input_size`.
    """
    if isinstance(source, (str, Path)) and _is_broken_link(Path(source)):
        return ImageCheck(reason=f"a link to a file that does not exist, or a loop of links ({Path(source)} -> "
                                 f"{_link_target(Path(source))})")
    try:
        if _is_empty(source):
            return ImageCheck(reason="empty file (0 bytes)")
        decoded = _decode(source)
        width, height = decoded.size
        pixels = to_rgb(decoded)
    except UnidentifiedImageError:
        return ImageCheck(reason="not an image file (PIL cannot identify it)")
    except Image.DecompressionBombError:
        return ImageCheck(reason="too many pixels (PIL's decompression-bomb limit): resize it first")
    except (OSError, SyntaxError, ValueError) as error:
        return ImageCheck(reason=f"corrupt or truncated image ({error})")
    if min(width, height) < min_side:
        return ImageCheck(reason=f"{width}x{height} px is smaller than {min_side} px on a side: too small to "
                                 "upscale to the input size", width=width, height=height, mode=decoded.mode)
    upscaled = input_size is not None and min(width, height) < input_size
    return ImageCheck(width=width, height=height, mode=decoded.mode, upscaled=upscaled, digest=pixel_digest(pixels))


def _link_target(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return "?"


def pixel_digest(image: Image.Image) -> str:
    """What makes two images the same image: their size and 8-bit RGB pixels, however the files encode them."""
    return hashlib.sha256(f"{image.width}x{image.height}:".encode() + image.tobytes()).hexdigest()


def count_upscaled(table: pd.DataFrame, input_size: int) -> int:
    """How many images in a found table are smaller than `input_size` on a side, so will be upscaled."""
    return int((table[["width", "height"]].min(axis=1) < input_size).sum())


def is_os_file(path: Path) -> bool:
    """Files an operating system leaves beside images: .DS_Store, Thumbs.db, macOS's ._name copies."""
    return path.name.lower() in OS_FILES or path.name.startswith("._")


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__MACOSX"


def subfolders(folder: Path) -> list[Path]:
    """Visible subfolders; hidden ones (.ipynb_checkpoints, .git, __MACOSX) are not data."""
    return sorted(child for child in folder.iterdir() if child.is_dir() and not _is_hidden(child))


def _is_broken_link(path: Path) -> bool:
    """A link to nothing, or a loop of links: `is_file()` says False, and the file would vanish without a word."""
    return path.is_symlink() and not path.exists()


def _files_under(folder: Path) -> list[Path]:
    # broken links are listed too, so they are skipped with a reason like any other unreadable file
    return sorted(path for path in folder.rglob("*") if (path.is_file() or _is_broken_link(path))
                  and not any(_is_hidden(parent) for parent in path.relative_to(folder).parents if parent.name))


def _scan(candidates: list[tuple[Path, str, str | None, str]], input_size: int | None) -> FoundImages:
    """Check every (path, label, split, file) candidate; keep the usable ones, report the rest."""
    rows, skipped = [], []
    for path, label, split, file in candidates:
        if is_os_file(path):
            skipped.append((file, "operating-system file, not an image"))
            continue
        try:
            data = path.read_bytes()
        except OSError as error:
            skipped.append((file, f"cannot be read ({error.strerror or error})"))
            continue
        check = check_image(data, input_size)
        if not check.ok:
            skipped.append((file, check.reason))
            continue
        rows.append({"image": str(path), "label": label, "split": split, "file": file,
                     "digest": check.digest, "width": check.width, "height": check.height})
    return FoundImages(pd.DataFrame(rows, columns=COLUMNS), skipped)


def skipped_lines(skipped: list[tuple[str, str]]) -> list[str]:
    """`file: reason` of each skipped file, as reports and messages show them."""
    return [f"{file}: {reason}" for file, reason in skipped]


def describe_skipped(skipped: list[tuple[str, str]], shown: int = 5) -> str:
    """`file: reason` of the first few skipped files, and how many more there are."""
    return list_first(skipped_lines(skipped), shown)


def _require_images(found: FoundImages, where: Path, folders: dict[tuple[str, str], Path]) -> FoundImages:
    """Every class folder must keep at least one usable image after skips."""
    kept = set(zip(found.table["split"].fillna(""), found.table["label"]))
    unusable = [folder for key, folder in folders.items() if key not in kept]
    if unusable:
        inside = [(file, reason) for file, reason in found.skipped
                  if any((where / file).is_relative_to(folder) for folder in unusable)]
        raise DataError(f"No usable image in {', '.join(map(str, unusable))}: every file there was skipped "
                        f"({describe_skipped(inside)}). Fix or remove those files, or remove those folders under "
                        f"{where}.")
    return found


def _stray_images(folder: Path, root: Path, reason: str) -> list[tuple[str, str]]:
    """Images lying beside the class (or split) folders: reported, as they are probably misplaced.

    Other files there (README.md, LICENSE, a labels CSV) are normal beside a dataset and not reported.
    """
    return [(path.relative_to(root).as_posix(), reason) for path in sorted(folder.iterdir())
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES]


def _class_folder_candidates(folder: Path, root: Path, split: str | None):
    classes = subfolders(folder)
    files = {cls: _files_under(cls) for cls in classes}
    empty = [str(cls) for cls in classes if not files[cls]]
    if empty:
        raise DataError(f"Empty class folder(s): {', '.join(empty)}. Remove them, or add that class's images.")
    candidates = [(path, cls.name, split, path.relative_to(root).as_posix()) for cls in classes for path in files[cls]]
    stray = _stray_images(folder, root, "not inside a class folder")
    return classes, candidates, stray


def _existing_folder(root) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder. Give a folder of class folders (or of split folders holding class "
                        "folders), a .csv of image paths and labels, or an .npz of <split>_images and <split>_labels.")
    return root


def images_from_class_folders(root, input_size: int | None = None) -> FoundImages:
    """Images in `root/<label>/...` (subfolders of a class folder count for that class)."""
    root = _existing_folder(root)
    classes, candidates, stray = _class_folder_candidates(root, root, None)
    if not classes:
        has_images = any(path.suffix.lower() in IMAGE_SUFFIXES for path in _files_under(root))
        raise DataError(f"{root} has {'images but ' if has_images else 'no images and '}no class folders. "
                        "Put each class's images in a subfolder named after the class.")
    found = _scan(candidates, input_size)
    return _require_images(FoundImages(found.table, stray + found.skipped), root,
                           {("", cls.name): cls for cls in classes})


def folder_split(name: str) -> str | None:
    """The split a folder's (or array's) name says, whatever its spelling: train, Training, train_set, seg_train,
    TEST, val-images ...; None when it names no split, or more than one."""
    key = name.strip().lower()
    if key in SPLIT_NAMES:
        return SPLIT_NAMES[key]
    said = {_split_word(word) for word in re.split(r"[^a-z]+", key)} - {None}
    return said.pop() if len(said) == 1 else None


def _split_word(word: str) -> str | None:
    if word in SPLIT_NAMES:
        return SPLIT_NAMES[word]
    return next((SPLIT_NAMES[word[: -len(ending)]] for ending in SPLIT_WORD_ENDINGS
                 if word.endswith(ending) and word[: -len(ending)] in SPLIT_NAMES), None)


def _class_folder_names(folder: Path) -> set[str]:
    return {child.name for child in subfolders(folder)}


def is_split_layout(root: Path) -> bool:
    """Split folders: subfolders whose names say a split (train, Testing, val_set ...), each holding class folders.

    Files beside the class folders (a README, a stray image) do not change that; a stray image is reported.
    Class folders with per-patient subfolders stay class folders: their names say no split, or their subfolders
    differ from class to class. A folder that is not a split of class folders beside split folders (a nested copy
    of the download, a test folder of loose images) is an error naming it.
    """
    folders = subfolders(root)
    named = [folder for folder in folders if folder_split(folder.name) and _class_folder_names(folder)]
    if not named:
        return False
    if len(named) > 1 and not set.intersection(*(_class_folder_names(folder) for folder in named)):
        return False  # test_positive/p01, test_negative/p02: classes, whose per-patient folders differ
    others = [folder for folder in folders if folder not in named]
    if others:
        if len(named) < 2 and not any(folder_split(folder.name) for folder in others):
            return False  # one class folder that happens to be called test_set: class folders after all
        described = ", ".join(
            f"{folder.name} ({'holds no class folders' if folder_split(folder.name) else 'names no split'})"
            for folder in others)
        raise DataError(f"{root} holds the split folders {', '.join(f.name for f in named)} and also {described}. "
                        "Move or remove those; if one is a copy of the data (as some downloads nest one), point "
                        "data.source at one copy, or give each split's folder in data.source: {train: ..., test: ...}.")
    splits = [folder_split(folder.name) for folder in folders]
    repeated = sorted({split for split in splits if splits.count(split) > 1})
    if repeated:
        clashing = [folder.name for folder in folders if folder_split(folder.name) in repeated]
        raise DataError(f"{root}: the folders {', '.join(clashing)} all look like the {' and '.join(repeated)} split. "
                        "Keep one folder per split (merge or move the others), or give each split's folder in "
                        "data.source: {train: ..., test: ...}.")
    return True


def shared_subfolders(root: Path) -> list[str]:
    """The subfolder names that every subfolder of `root` holds, when there are two subfolders or more and they
    all hold the same ones: split folders whose names say no split (part1/benign, part2/benign ...) look so, and
    so do class folders sorted the same way inside (benign/left, malignant/left ...). Else an empty list."""
    folders = subfolders(root) if root.is_dir() else []
    if len(folders) < 2:
        return []
    inner = [_class_folder_names(folder) for folder in folders]
    return sorted(inner[0]) if inner[0] and all(names == inner[0] for names in inner) else []


def images_from_split_folders(root, input_size: int | None = None) -> FoundImages:
    """Images in `root/<split>/<label>/...`; split names are kept as given (train, Testing, ...)."""
    root = _existing_folder(root)
    candidates, folders = [], {}
    skipped = _stray_images(root, root, "not inside a split folder")
    for split_folder in subfolders(root):
        classes, found, stray = _class_folder_candidates(split_folder, root, split_folder.name)
        if not classes:
            raise DataError(f"Split folder {split_folder} has no class folders. Remove it, or add one folder per class.")
        candidates += found
        skipped += stray
        folders.update({(split_folder.name, cls.name): cls for cls in classes})
    found = _scan(candidates, input_size)
    return _require_images(FoundImages(found.table, skipped + found.skipped), root, folders)


def _read_csv(csv_path: Path, columns: list[str], fix: str = "Name the right columns in the config.") -> pd.DataFrame:
    if not csv_path.is_file():
        raise DataError(f"{csv_path} does not exist.")
    # The package's reader: strings throughout (a label "NA" or "001" stays what the user wrote), a byte-order
    # mark, any separator, and parse errors that name the file.
    frame = read_table(csv_path).drop(columns=ROW)
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise DataError(f"{csv_path} has no column {', '.join(map(repr, absent))}; its columns are "
                        f"{list(frame.columns)}. {fix}")
    for column in columns:
        blank = frame.index[frame[column].str.strip() == ""]
        if len(blank):
            lines = ", ".join(str(index + 2) for index in blank[:5])
            raise DataError(f"{csv_path}: {len(blank)} row(s) have an empty '{column}' (line {lines}; the header is "
                            "line 1). Fill them in or remove those rows.")
    return frame


def _resolve_csv_paths(csv_path: Path, names: pd.Series) -> list[Path]:
    """Paths relative to the CSV's folder; every file must exist."""
    paths = [csv_path.parent / name for name in names]
    missing = [(index + 2, name) for index, (name, path) in enumerate(zip(names, paths)) if not path.is_file()]
    if missing:
        shown = "; ".join(f"line {line}: {name}" for line, name in missing[:5])
        raise DataError(f"{len(missing)} file(s) named in {csv_path} do not exist ({shown}{'; ...' if len(missing) > 5 else ''}). "
                        f"Paths are read relative to {csv_path.parent}. Fix the paths or remove those rows.")
    return paths


def images_from_csv(csv_path, path_column: str = "image", label_column: str = "label",
                    split_column: str | None = None, input_size: int | None = None) -> FoundImages:
    """Images listed in a CSV: a path column (relative to the CSV's folder), a label column, optionally a split."""
    csv_path = Path(csv_path)
    frame = _read_csv(csv_path, [path_column, label_column] + ([split_column] if split_column else []))
    paths = _resolve_csv_paths(csv_path, frame[path_column])
    splits = frame[split_column] if split_column else [None] * len(frame)
    found = _scan(list(zip(paths, frame[label_column], splits, frame[path_column])), input_size)
    if found.table.empty:
        raise DataError(f"None of the images listed in {csv_path} can be used ({describe_skipped(found.skipped)}).")
    return found


def _array_to_png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def images_from_npz(npz_path, label_names=None, input_size: int | None = None) -> FoundImages:
    """Images in an .npz of `<split>_images` (N,H,W or N,H,W,C uint8/uint16) and `<split>_labels` (N or N,1).

    `label_names` (a list, or a dict from label id) names the integer labels; without it the
    label is the integer as a string. `image` holds each image as PNG bytes.
    """
    npz_path = Path(npz_path)
    if not npz_path.is_file():
        raise DataError(f"{npz_path} does not exist.")
    try:
        with np.load(npz_path, allow_pickle=False) as npz:  # pickled object arrays could run code: refused
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as error:
        raise DataError(f"{npz_path} cannot be read as a numpy .npz of plain arrays ({error}).") from error
    splits = sorted(key[: -len("_images")] for key in arrays if key.endswith("_images"))
    if not splits:
        raise DataError(f"{npz_path} has no '<split>_images' arrays (it has {sorted(arrays)}). "
                        "Expected e.g. train_images and train_labels.")
    rows, skipped = [], []
    for split in splits:
        images, labels = arrays[f"{split}_images"], arrays.get(f"{split}_labels")
        if labels is None or labels.ndim > 2 or (labels.ndim == 2 and labels.shape[1] != 1) or len(labels) != len(images):
            raise DataError(f"{npz_path}: '{split}_labels' must exist and hold one label per image of '{split}_images' "
                            f"({len(images)} images); shapes (N,) or (N, 1).")
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        grey = images.ndim == 3 and images.dtype in (np.uint8, np.uint16)
        colour = images.ndim == 4 and images.shape[-1] in (3, 4) and images.dtype == np.uint8
        if not (grey or colour):
            raise DataError(f"{npz_path}: '{split}_images' has shape {images.shape} and dtype {images.dtype}; expected "
                            "(N, H, W) of uint8 or uint16, or (N, H, W, 3|4) of uint8.")
        height, width = images.shape[1:3]
        for index, (array, label) in enumerate(zip(images, labels.reshape(-1))):
            file = f"npz:{split}[{index}]"
            if min(height, width) < MIN_SIDE:
                skipped.append((file, f"{width}x{height} px is smaller than {MIN_SIDE} px on a side"))
                continue
            try:
                name = str(label_names[int(label)]) if label_names is not None else str(label.item())
            except (KeyError, IndexError) as error:
                raise DataError(f"{npz_path}: label {label.item()} ({file}) has no name in label_names.") from error
            rows.append({"image": _array_to_png(np.ascontiguousarray(array)), "label": name, "split": split,
                         "file": file, "digest": hashlib.sha256(array.tobytes()).hexdigest(),
                         "width": width, "height": height})
    return FoundImages(pd.DataFrame(rows, columns=COLUMNS), skipped)


def discover_images(source, path_column: str = "image", label_column: str = "label", split_column: str | None = None,
                    label_names=None, input_size: int | None = None) -> FoundImages:
    """Find labelled images in any supported layout: a .csv, an .npz, split folders or class folders."""
    source = Path(source)
    if source.suffix.lower() == ".csv":
        return images_from_csv(source, path_column, label_column, split_column, input_size)
    if source.suffix.lower() == ".npz":
        return images_from_npz(source, label_names, input_size)
    if source.is_dir() and is_split_layout(source):
        return images_from_split_folders(source, input_size)
    return images_from_class_folders(source, input_size)


def list_prediction_images(path, path_column: str = "image") -> list[str]:
    """Image files to predict on: one image, a folder of images (searched recursively), or a CSV with a path column."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist. Give an image, a folder of images, or a CSV with the column "
                        f"{path_column!r}.")
    if path.is_file() and path.suffix.lower() == ".csv":
        fix = f"Name the column of image paths with --column (now {path_column!r})."
        return [str(p) for p in _resolve_csv_paths(path, _read_csv(path, [path_column], fix)[path_column])]
    if path.is_file():
        return [str(path)]
    images = [str(p) for p in _files_under(path) if p.suffix.lower() in IMAGE_SUFFIXES and not is_os_file(p)]
    if not images:
        raise DataError(f"{path} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}, in subfolders too).")
    return images


def train_transform(image_size: int, mean, std) -> v2.Compose:
    """Mild augmentation for scans: a slight crop, horizontal flip, small rotation and shift, then normalise."""
    return v2.Compose([
        v2.RandomResizedCrop(image_size, scale=(0.8, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=10, translate=(0.05, 0.05)),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(mean), std=list(std)),
    ])


def mirror(pixels: torch.Tensor) -> torch.Tensor:
    """Images (or a batch of them) flipped left to right: the second view of test-time flips."""
    return torch.flip(pixels, dims=[-1])


def eval_transform(image_size: int, mean, std) -> v2.Compose:
    """Resize to a square (no crop, so a lesion near the edge stays in view), then normalise."""
    return v2.Compose([
        v2.Resize((image_size, image_size), antialias=True),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(mean), std=list(std)),
    ])


def to_hf_dataset(table: pd.DataFrame, labels: list[str] | None = None):
    """A `datasets.Dataset` with columns `image` (Image, kept undecoded), `label` (ClassLabel) and `file`.

    `labels` fixes the class order (default: sorted). A table without a `label` column (images to
    predict on) gives a dataset without one.
    """
    from datasets import ClassLabel, Dataset, Features, Value
    from datasets import Image as ImageFeature

    images = [{"path": item, "bytes": None} if isinstance(item, str) else {"path": None, "bytes": bytes(item)}
              for item in table["image"]]
    files = table["file"].tolist() if "file" in table else [item["path"] or "" for item in images]
    columns = {"image": images, "file": files}
    # decode=False keeps the file or bytes as given; open_image decodes them later, handling every mode.
    features = {"image": ImageFeature(decode=False), "file": Value("string")}
    if "label" in table and table["label"].notna().all():
        labels = list(labels) if labels is not None else sorted(table["label"].unique())
        unknown = sorted(set(table["label"]) - set(labels))
        if unknown:
            raise DataError(f"Labels {unknown} are not among the model's classes {labels}.")
        columns["label"] = [labels.index(label) for label in table["label"]]
        features["label"] = ClassLabel(names=labels)
    return Dataset.from_dict(columns, features=Features(features))


def with_image_transform(dataset, transform):
    """Decode and transform images on the fly: each row gives `pixel_values` (C,H,W float) and `labels`."""

    def transform_batch(batch: dict) -> dict:
        out = {"pixel_values": [transform(open_image(item)) for item in batch["image"]]}
        if "label" in batch:
            out["labels"] = batch["label"]
        return out

    return dataset.with_transform(transform_batch)


def collate_images(examples: list[dict]) -> dict[str, torch.Tensor]:
    """The Trainer's data collator: stack `pixel_values`, and `labels` when present."""
    batch = {"pixel_values": torch.stack([example["pixel_values"] for example in examples])}
    if "labels" in examples[0]:
        batch["labels"] = torch.tensor([example["labels"] for example in examples], dtype=torch.long)
    return batch
