"""Unit tests for vision/images.py (reading users' images) and vision/plots.py, on small files written per test."""

import hashlib
import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT
from PIL import Image, ImageFile

from finetune_cookbook.core.errors import DataError
from finetune_cookbook.vision import plots as image_plots
from finetune_cookbook.vision.images import (
    check_image,
    collate_images,
    count_upscaled,
    discover_images,
    eval_transform,
    folder_split,
    images_from_class_folders,
    images_from_csv,
    images_from_npz,
    images_from_split_folders,
    list_prediction_images,
    open_image,
    pixel_digest,
    shared_subfolders,
    to_hf_dataset,
    train_transform,
    with_image_transform,
)

matplotlib.use("Agg")


def png_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def grey_image(size: int = 32, value: int = 100) -> Image.Image:
    pixels = np.full((size, size), value, dtype=np.uint8)
    pixels[: size // 2] = 200  # not flat, so a JPEG has real content to truncate
    return Image.fromarray(pixels, "L")


def jpeg_bytes(size: int = 64) -> bytes:
    noise = np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return png_bytes(Image.fromarray(noise), "JPEG", quality=90)


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def class_tree(root, classes=("benign", "malignant"), per_class=3, size=32):
    for class_index, label in enumerate(classes):
        for index in range(per_class):
            write(root / label / f"{label}_{index}.png", png_bytes(grey_image(size, value=50 * class_index + index)))
    return root


# open_image: every mode becomes 8-bit RGB

def test_grey_becomes_three_equal_channels():
    image = open_image(png_bytes(grey_image()))
    pixels = np.asarray(image)
    assert image.mode == "RGB"
    assert pixels.shape == (32, 32, 3)
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])


def test_sixteen_bit_png_is_scaled_by_its_bit_depth_not_stretched():
    pixels = np.linspace(1000, 3000, 16 * 16).reshape(16, 16).astype(np.uint16)
    decoded = Image.open(io.BytesIO(png_bytes(Image.fromarray(pixels))))
    assert decoded.mode.startswith("I;16")
    rgb = np.asarray(open_image(png_bytes(Image.fromarray(pixels))))
    # a faint scan stays faint: 1000-3000 of 65535 is 4-12 of 255, not stretched to 0-255
    assert (rgb.min(), rgb.max()) == (4, 12)
    assert rgb[..., 0].ravel().tolist() == sorted(rgb[..., 0].ravel().tolist())


def test_big_endian_sixteen_bit_tiff_is_scaled_by_bit_depth():
    pixels = np.linspace(100, 60000, 64).reshape(8, 8).astype(">u2")
    data = png_bytes(Image.fromarray(pixels), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I;16B"
    rgb = np.asarray(open_image(data))
    assert (rgb.min(), rgb.max()) == (0, 233) and rgb[0, 1, 0] == 4


@pytest.mark.parametrize("mode", ["I", "F"])
def test_32_bit_and_float_images_beyond_16_bits_are_stretched(mode):
    # values no bit depth holds (beyond 65535, or floats beyond 0-1) can only be shown by their own range
    pixels = np.arange(64, dtype=np.float32 if mode == "F" else np.int32).reshape(8, 8) * 10000
    rgb = np.asarray(open_image(Image.fromarray(pixels, mode)))
    assert rgb.dtype == np.uint8
    assert (rgb.min(), rgb.max()) == (0, 255)


def test_16_bit_values_opened_as_32_bit_and_float_fractions_are_scaled_by_depth():
    assert np.asarray(open_image(Image.fromarray(np.full((8, 8), 65535, np.int32), "I"))).max() == 255
    assert np.asarray(open_image(Image.fromarray(np.full((8, 8), 514, np.int32), "I"))).max() == 2
    assert np.asarray(open_image(Image.fromarray(np.full((8, 8), 0.5, np.float32), "F"))).max() == 128


def test_rgba_is_composited_on_black():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (255, 0, 0, 0))
    pixels = np.asarray(open_image(png_bytes(rgba)))
    assert pixels[0, 0].tolist() == [0, 0, 0]
    assert pixels[5, 5].tolist() == [255, 0, 0]


def test_palette_images_with_and_without_transparency():
    palette = Image.new("P", (10, 10), 1)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    assert np.asarray(open_image(png_bytes(palette)))[0, 0].tolist() == [0, 255, 0]
    for fmt in ("GIF", "PNG"):
        transparent = png_bytes(palette, fmt, transparency=1)
        assert np.asarray(open_image(transparent))[0, 0].tolist() == [0, 0, 0]  # the transparent colour goes to black


def test_cmyk_jpeg_and_la_become_rgb():
    cmyk = Image.new("CMYK", (12, 12), (0, 255, 255, 0))  # red in CMYK
    red = np.asarray(open_image(png_bytes(cmyk, "JPEG", quality=95)))[6, 6]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert open_image(png_bytes(Image.new("LA", (5, 5), (200, 255)))).getpixel((2, 2)) == (200, 200, 200)


# check_image: skips with a reason

def test_corrupt_and_non_image_files_are_reported():
    corrupt = check_image(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    assert not corrupt.ok and ("not an image" in corrupt.reason or "corrupt" in corrupt.reason)
    text = check_image(b"patient notes, not an image\n")
    assert not text.ok and "not an image" in text.reason


def test_truncated_jpeg_is_detected_even_if_pil_was_told_to_load_truncated_files():
    truncated = jpeg_bytes()[:1500]
    assert "truncated" in check_image(truncated).reason
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        assert not check_image(truncated).ok
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    assert check_image(jpeg_bytes()).ok


def test_tiny_images_are_skipped_and_small_ones_flagged_for_upscaling():
    tiny = check_image(png_bytes(grey_image(4)), input_size=96)
    assert not tiny.ok and "smaller than 8 px" in tiny.reason
    small = check_image(png_bytes(grey_image(20)), input_size=96)
    assert small.ok and small.upscaled and (small.width, small.height) == (20, 20)
    assert not check_image(png_bytes(grey_image(128)), input_size=96).upscaled


# discovery: class folders, split folders, CSV, npz

def test_class_folders_skip_bad_files_and_report_them(tmp_path):
    root = class_tree(tmp_path / "data")
    write(root / "benign" / "notes.txt", b"scanned on Tuesday")
    write(root / "benign" / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(root / "malignant" / "Thumbs.db", b"\xd0\xcf\x11\xe0")
    write(root / "malignant" / "cut.jpg", jpeg_bytes()[:1500])
    write(root / "malignant" / "tiny.png", png_bytes(grey_image(4)))
    write(root / "malignant" / "wide.png", png_bytes(Image.new("RGBA", (20, 30), (1, 2, 3, 128))))
    write(root / "stray.png", png_bytes(grey_image()))
    write(root / "README.md", b"# scans")
    table, skipped = images_from_class_folders(root, input_size=24)
    reasons = dict(skipped)
    assert sorted(reasons) == ["benign/.DS_Store", "benign/notes.txt", "malignant/Thumbs.db",
                               "malignant/cut.jpg", "malignant/tiny.png", "stray.png"]
    assert reasons["stray.png"] == "not inside a class folder"
    assert "truncated" in reasons["malignant/cut.jpg"]
    assert "not an image" in reasons["benign/notes.txt"]
    assert list(table.columns[:5]) == ["image", "label", "split", "file", "digest"]
    assert table["label"].value_counts().to_dict() == {"malignant": 4, "benign": 3}
    assert table["split"].isna().all()
    row = table.set_index("file").loc["malignant/wide.png"]
    assert row["digest"] == pixel_digest(open_image(root / "malignant" / "wide.png"))
    assert count_upscaled(table, 24) == 1


def test_duplicate_files_share_a_digest(tmp_path):
    root = class_tree(tmp_path / "data", per_class=2)
    write(root / "benign" / "copy.png", (root / "malignant" / "malignant_0.png").read_bytes())
    table, _ = images_from_class_folders(root)
    assert table["digest"].duplicated().sum() == 1


def test_the_same_pixels_in_another_file_share_a_digest(tmp_path):
    root = class_tree(tmp_path / "data", per_class=2)
    original = Image.open(root / "malignant" / "malignant_0.png")
    write(root / "benign" / "resaved.bmp", png_bytes(original, "BMP"))
    write(root / "benign" / "as_rgb.png", png_bytes(original.convert("RGB")))
    write(root / "benign" / "compressed.png", png_bytes(original, compress_level=9))
    table, _ = images_from_class_folders(root)
    digests = table.set_index("file")["digest"]
    assert digests["benign/resaved.bmp"] == digests["benign/as_rgb.png"] == digests["benign/compressed.png"] \
        == digests["malignant/malignant_0.png"]
    assert digests["malignant/malignant_0.png"] != digests["malignant/malignant_1.png"]


def test_empty_class_folder_is_an_error_naming_it(tmp_path):
    root = class_tree(tmp_path / "data")
    (root / "normal").mkdir()
    with pytest.raises(DataError, match=r"normal.*Remove them, or add"):
        images_from_class_folders(root)


def test_class_folder_with_only_non_images_is_an_error(tmp_path):
    root = class_tree(tmp_path / "data")
    write(root / "normal" / "readme.txt", b"todo")
    write(root / "normal" / "cut.jpg", jpeg_bytes()[:1500])
    # The run stops before anything is written, so the error itself says why each file was skipped.
    with pytest.raises(DataError, match=r"No usable image in .*normal: every file there was skipped \(normal/cut\.jpg: "
                                        r"corrupt or truncated .*normal/readme\.txt: not an image file"):
        images_from_class_folders(root)


def test_folder_without_images_is_an_error(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="no images and no class folders"):
        discover_images(tmp_path / "nothing")
    write(tmp_path / "flat" / "a.png", png_bytes(grey_image()))
    with pytest.raises(DataError, match="images but no class folders"):
        discover_images(tmp_path / "flat")
    with pytest.raises(DataError, match="not a folder"):
        discover_images(tmp_path / "absent")


@pytest.mark.parametrize("splits", [("train", "test", "val"), ("Training", "Testing")])
def test_split_folders_keep_their_names(tmp_path, splits):
    root = tmp_path / "data"
    for split in splits:
        class_tree(root / split, per_class=2)
    write(root / ".DS_Store", b"\x00")
    write(root / "README.md", b"# scans")
    found = discover_images(root)
    assert sorted(found.table["split"].unique()) == sorted(splits)
    assert len(found.table) == 4 * len(splits)
    assert found.table["file"].iloc[0].count("/") == 2
    assert found.skipped == []


@pytest.mark.parametrize("name, split", [
    ("train", "train"), ("Training", "train"), ("train_set", "train"), ("seg_train", "train"), ("TRAIN", "train"),
    ("trainset", "train"), ("Testing", "test"), ("test-images", "test"), ("val", "validation"),
    ("Validation_Data", "validation"), ("dev", "validation"), ("benign", None), ("part1", None),
    ("train_test", None), ("testicular_seminoma", None), ("validated_benign", None), ("Training_Data", "train"),
    ("valimages", "validation"),
])
def test_folder_split_reads_the_split_from_any_spelling(name, split):
    assert folder_split(name) == split


def test_split_folders_of_other_names_and_with_stray_files(tmp_path):
    root = tmp_path / "data"
    for split in ("train_set", "test_set"):
        class_tree(root / split, classes=("glioma", "meningioma", "notumor"), per_class=2)
    write(root / "train_set" / "README.md", b"# notes")
    write(root / "train_set" / "stray.png", png_bytes(grey_image()))
    found = discover_images(root)
    assert sorted(found.table["split"].unique()) == ["test_set", "train_set"]
    assert sorted(found.table["label"].unique()) == ["glioma", "meningioma", "notumor"]
    assert found.skipped == [("train_set/stray.png", "not inside a class folder")]


def test_class_folders_whose_names_start_like_a_split_stay_class_folders(tmp_path):
    root = tmp_path / "scans"
    for cls in ("testicular_normal", "testicular_seminoma"):
        for patient in ("p01", "p02"):
            write(root / cls / patient / "slice1.png", png_bytes(grey_image(value=len(cls) + len(patient))))
    found = discover_images(root)
    assert sorted(found.table["label"].unique()) == ["testicular_normal", "testicular_seminoma"]
    assert found.table["split"].isna().all()


def test_class_folders_named_like_a_split_with_per_patient_folders_stay_class_folders(tmp_path):
    root = tmp_path / "scans"
    for cls, patients in (("test_positive", ("p01", "p02")), ("test_negative", ("p03", "p04"))):
        for patient in patients:
            write(root / cls / patient / "slice1.png", png_bytes(grey_image(value=10 * int(patient[1:]))))
    found = discover_images(root)
    assert sorted(found.table["label"].unique()) == ["test_negative", "test_positive"]


def test_a_split_folder_of_loose_images_beside_one_of_class_folders_is_an_error(tmp_path):
    root = tmp_path / "data"
    class_tree(root / "train", classes=("cat", "dog"), per_class=2)
    write(root / "test" / "a.png", png_bytes(grey_image()))
    with pytest.raises(DataError, match=r"holds the split folders train and also test \(holds no class folders\)"):
        discover_images(root)


def test_split_folders_beside_a_nested_copy_are_an_error_naming_it(tmp_path):
    root = tmp_path / "chest_xray"
    for split in ("train", "test", "val"):
        class_tree(root / split, classes=("NORMAL", "PNEUMONIA"), per_class=2)
        class_tree(root / "chest_xray" / split, classes=("NORMAL", "PNEUMONIA"), per_class=2)
    write(root / "__MACOSX" / "train" / "._x.png", b"\x00")
    with pytest.raises(DataError, match=r"holds the split folders test, train, val and also chest_xray \(names no "
                                        r"split\)\. Move or remove those; if one is a copy"):
        discover_images(root)
    assert sorted(discover_images(root / "chest_xray").table["split"].unique()) == ["test", "train", "val"]


def test_macos_copies_and_empty_files_are_skipped_as_such(tmp_path):
    root = class_tree(tmp_path / "data", per_class=2)
    write(root / "benign" / "._benign_0.png", b"\x00\x05\x16\x07 AppleDouble")
    write(root / "benign" / "blank.png", b"")
    reasons = dict(images_from_class_folders(root).skipped)
    assert reasons == {"benign/._benign_0.png": "operating-system file, not an image",
                       "benign/blank.png": "empty file (0 bytes)"}
    assert list_prediction_images(root / "benign") == [str(root / "benign" / name) for name in
                                                       ("benign_0.png", "benign_1.png", "blank.png")]


def test_two_folders_of_one_split_are_an_error(tmp_path):
    root = tmp_path / "data"
    for split in ("train", "training_extra", "test"):
        class_tree(root / split, per_class=2)
    with pytest.raises(DataError, match=r"train, training_extra all look like the train split"):
        discover_images(root)


def test_folders_holding_the_same_subfolders_are_found(tmp_path):
    root = tmp_path / "data"
    for part in ("part1", "part2"):
        class_tree(root / part, per_class=2)
    assert shared_subfolders(root) == ["benign", "malignant"]
    assert shared_subfolders(class_tree(tmp_path / "plain")) == []


def test_split_folder_with_an_empty_class_is_an_error(tmp_path):
    root = tmp_path / "data"
    class_tree(root / "train", per_class=2)
    class_tree(root / "test", per_class=2)
    (root / "test" / "normal").mkdir()
    with pytest.raises(DataError, match="test.normal"):
        images_from_split_folders(root)


def test_csv_of_paths_and_labels(tmp_path):
    class_tree(tmp_path / "img", per_class=2)
    pd.DataFrame({"path": ["img/benign/benign_0.png", "img/malignant/malignant_1.png"], "diagnosis": ["b", "m"],
                  "fold": ["train", "test"]}).to_csv(tmp_path / "labels.csv", index=False)
    table, skipped = images_from_csv(tmp_path / "labels.csv", "path", "diagnosis", "fold")
    assert table["label"].tolist() == ["b", "m"]
    assert table["split"].tolist() == ["train", "test"]
    assert table["file"].tolist() == ["img/benign/benign_0.png", "img/malignant/malignant_1.png"]
    assert skipped == []


def test_csv_naming_missing_files_lists_them_with_line_numbers(tmp_path):
    class_tree(tmp_path / "img", per_class=1)
    names = ["img/benign/benign_0.png"] + [f"img/gone_{index}.png" for index in range(7)]
    pd.DataFrame({"image": names, "label": "b"}).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(DataError) as error:
        images_from_csv(tmp_path / "labels.csv")
    message = str(error.value)
    assert "7 file(s)" in message and "labels.csv" in message
    assert "line 3: img/gone_0.png" in message and "gone_6" not in message


def test_csv_with_a_wrong_column_name_lists_the_columns(tmp_path):
    pd.DataFrame({"file": ["a.png"], "label": ["x"]}).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(DataError, match=r"no column 'image'.*\['file', 'label'\]"):
        images_from_csv(tmp_path / "labels.csv")


def test_npz_splits_become_png_bytes(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {f"{split}_images": rng.integers(0, 255, (count, 28, 28), dtype=np.uint8)
              for split, count in [("train", 5), ("val", 2), ("test", 3)]}
    arrays |= {f"{split}_labels": np.arange(len(arrays[f"{split}_images"])).reshape(-1, 1) % 2
               for split in ("train", "val", "test")}
    np.savez(tmp_path / "scans.npz", **arrays)
    table, skipped = discover_images(tmp_path / "scans.npz", label_names=["malignant", "benign"])
    assert skipped == []
    assert table.groupby("split").size().to_dict() == {"test": 3, "train": 5, "val": 2}
    first = table.set_index("file").loc["npz:train[1]"]
    assert first["label"] == "benign"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(first["image"]))), arrays["train_images"][1])
    assert first["digest"] == hashlib.sha256(arrays["train_images"][1].tobytes()).hexdigest()


def test_npz_without_image_arrays_is_an_error(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="no '<split>_images' arrays"):
        images_from_npz(tmp_path / "other.npz")


# prediction inputs

def test_prediction_inputs_file_folder_and_csv(tmp_path):
    one = write(tmp_path / "scan.png", png_bytes(grey_image()))
    assert list_prediction_images(one) == [str(one)]
    write(tmp_path / "batch" / "deep" / "a.jpg", jpeg_bytes())
    write(tmp_path / "batch" / "b.png", png_bytes(grey_image()))
    write(tmp_path / "batch" / "notes.txt", b"x")
    assert len(list_prediction_images(tmp_path / "batch")) == 2
    pd.DataFrame({"image": ["scan.png"]}).to_csv(tmp_path / "new.csv", index=False)
    assert list_prediction_images(tmp_path / "new.csv") == [str(one)]


def test_prediction_folder_without_images_is_an_error(tmp_path):
    write(tmp_path / "empty" / "notes.txt", b"x")
    with pytest.raises(DataError, match="holds no images"):
        list_prediction_images(tmp_path / "empty")


# transforms and the datasets bridge

def test_transforms_give_normalised_square_tensors():
    image = open_image(png_bytes(grey_image(50)))
    mean, std = (0.5,) * 3, (0.25,) * 3
    for transform in (train_transform(40, mean, std), eval_transform(40, mean, std)):
        tensor = transform(image)
        assert tensor.shape == (3, 40, 40) and tensor.dtype == torch.float32
    flat = eval_transform(8, mean, std)(Image.new("RGB", (20, 20), (255, 255, 255)))
    assert torch.allclose(flat, torch.full_like(flat, 2.0))


def test_dataset_transform_and_collate_for_the_trainer(tmp_path):
    table, _ = images_from_class_folders(class_tree(tmp_path / "data", per_class=2))
    dataset = to_hf_dataset(table, labels=["malignant", "benign"])
    assert dataset.features["label"].names == ["malignant", "benign"]
    assert dataset[0]["image"]["path"] == table["image"].iloc[0]
    transformed = with_image_transform(dataset, eval_transform(16, (0.5,) * 3, (0.5,) * 3))
    batch = collate_images([transformed[index] for index in range(4)])
    assert batch["pixel_values"].shape == (4, 3, 16, 16)
    assert batch["labels"].tolist() == [1, 1, 0, 0]
    with pytest.raises(DataError, match="not among the model's classes"):
        to_hf_dataset(table, labels=["benign"])


def test_unlabelled_table_gives_pixel_values_only(tmp_path):
    paths = [str(write(tmp_path / f"{index}.png", png_bytes(grey_image()))) for index in range(2)]
    dataset = with_image_transform(to_hf_dataset(pd.DataFrame({"image": paths})), eval_transform(8, (0,) * 3, (1,) * 3))
    batch = collate_images([dataset[0], dataset[1]])
    assert set(batch) == {"pixel_values"}


def test_sample_tumor_images_are_found_cleanly():
    found = discover_images(ROOT / "data_samples" / "tumor_images", input_size=96)
    assert found.skipped == []
    assert found.table["label"].value_counts().to_dict() == {"benign": 60, "malignant": 60}
    assert set(found.table["width"]) == {96} and found.table["digest"].is_unique


# plots

def test_roc_curves_binary_and_multiclass():
    y_true = np.array([0, 0, 1, 1])
    fig = image_plots.roc_curves(y_true, {"perfect": [0.1, 0.2, 0.8, 0.9], "two-column": np.eye(2)[[0, 1, 0, 1]]},
                                 ["benign", "malignant"])
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend[0] == "perfect (AUC 1.000)" and legend[1] == "two-column (AUC 0.500)"
    three = image_plots.roc_curves([0, 1, 2, 2], {"model": np.eye(3)[[0, 1, 2, 2]]}, ["a", "b", "c"])
    assert "AUC 1.000" in three.axes[0].get_legend().get_texts()[0].get_text()


def test_image_figures(tmp_path):
    table, _ = images_from_class_folders(class_tree(tmp_path / "data", per_class=3))
    grid = image_plots.image_grid(list(table["image"][:3]), ["benign 0.91", "malignant 0.55", "x"],
                                  wrong=[False, True, False])
    assert grid.axes[1].title.get_color() == "red" and grid.axes[0].title.get_color() == "black"
    heat = image_plots.gradcam_grid([grey_image(32)] * 2, np.random.rand(2, 16, 16), ["a", "b"])
    assert len(heat.axes[0].images) == 2
    examples = image_plots.class_examples(table, n_per_class=2)
    assert len(examples.axes) == 4


def test_class_folders_with_per_patient_subfolders_stay_class_folders(tmp_path):
    root = tmp_path / "scans"
    for cls in ("benign", "malignant"):
        for patient in ("p01", "p02"):
            write(root / cls / patient / "slice1.png", png_bytes(grey_image()))
    found = discover_images(root)
    assert sorted(found.table["label"].unique()) == ["benign", "malignant"]
    assert found.table["split"].isna().all() and len(found.table) == 4


def test_a_label_csv_exported_from_a_spreadsheet(tmp_path):
    """A byte-order mark and semicolons, as Excel writes CSV in many locales: read by the package's reader."""
    class_tree(tmp_path / "img", per_class=1)
    text = "\ufeffpath;diagnosis\nimg/benign/benign_0.png;001\nimg/malignant/malignant_0.png;002\n"
    (tmp_path / "labels.csv").write_bytes(text.encode("utf-8"))
    table, _ = images_from_csv(tmp_path / "labels.csv", "path", "diagnosis")
    assert table["label"].tolist() == ["001", "002"]
