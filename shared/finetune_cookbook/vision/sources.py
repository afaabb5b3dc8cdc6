"""Where a recipe's images come from: its data.source read into tables by split, and the classes checked.

`data.source` is one folder (of class folders, or of split folders holding class folders), a CSV of image paths and
labels (with an optional split column), an npz of split arrays, or a mapping of split to its own folder or CSV.
Mistakes a user makes there (a wrapper folder, a class the config names that no image has, splits whose names say no
split) are errors in the layout's own terms, raised before anything is trained or written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from finetune_cookbook.core.config import RecipeConfig
from finetune_cookbook.core.data import ALL, ROW, Table, describe_source, label_key, split_name
from finetune_cookbook.core.errors import ConfigError, DataError
from finetune_cookbook.core.io.resolve import find_local, missing_data_error
from finetune_cookbook.vision import images as image_io

DEFAULT_PATH_COLUMN = "image"  # of a label CSV, as `images.discover_images` reads it


def found_images(config: RecipeConfig) -> tuple[image_io.FoundImages, dict[str, Table]]:
    """Every usable image the config's source holds, and its tables by split (`all` when none is given)."""
    sources = config.data.source if isinstance(config.data.source, dict) else {None: config.data.source}
    tables, parts, skipped, read, splits_given = {}, [], [], {}, {}
    for given_split, entry in sources.items():
        named = _entry_path(entry, given_split)
        where = "data.source" if given_split is None else f"data.source.{given_split}"
        if given_split is not None:
            given_split = split_name(given_split, where)
            if given_split in splits_given:
                raise ConfigError(f"{where} and {splits_given[given_split]} both name the {given_split} split. Keep one.")
            splits_given[given_split] = where
        source = find_local(named, config.search_dirs)
        if source is None:
            raise DataError(f"{where}: {missing_data_error(named, config.search_dirs)}")
        if source.resolve() in read:
            raise DataError(f"{where} and {read[source.resolve()]} are the same ({named}): every image would sit in "
                            "two splits. Give each split its own folder or CSV.")
        read[source.resolve()] = where
        if config.data.split_column and source.suffix.lower() != ".csv":
            raise ConfigError(f"data.split_column ({config.data.split_column!r}) is for a CSV of image paths; "
                              f"{where} is {named}. Unset it: split folders and npz arrays say their splits.")
        found = image_io.discover_images(
            source, path_column=config.data.image_column or DEFAULT_PATH_COLUMN, label_column=config.data.label_column,
            split_column=config.data.split_column, input_size=config.model.image_size,
        )
        if given_split is not None:
            found = _one_split(found, source, named, given_split, config)
        if found.table.empty:
            raise DataError(f"{source}: no usable image found ({image_io.describe_skipped(found.skipped)}).")
        # Several spellings of one split (train, Train, training in a CSV's split column) make one table.
        given = found.table["split"]
        keys = given.map(lambda split: ALL if pd.isna(split) else _split_key(split, source))
        for key, frame in found.table.groupby(keys, sort=False):
            spelled = ", ".join(dict.fromkeys(map(str, given[frame.index])))
            frame = frame.reset_index(drop=True).assign(**{ROW: lambda f: range(1, len(f) + 1)})
            shown = named if key == ALL or given_split is not None else (
                f"{named} [{spelled}]" if source.is_file() else f"{named.rstrip('/')}/{spelled}")
            tables[key] = Table(frame, str(source) if key == ALL else f"{source} ({spelled})", shown)
        parts.append(found.table)
        skipped += found.skipped
    if ALL not in tables and "train" not in tables:
        raise DataError(f"{describe_source(config.data.source)}: holds the splits {', '.join(tables)} but no train "
                        "split. Add a train folder (or array), or give each split in data.source: "
                        "{train: ..., test: ...}.")
    return image_io.FoundImages(pd.concat(parts, ignore_index=True), skipped), tables


def _entry_path(entry, split: str | None) -> str:
    where = "data.source" if split is None else f"data.source.{split}"
    path = entry.get("path") if isinstance(entry, dict) else entry
    if isinstance(entry, dict) and set(entry) != {"path"}:
        raise ConfigError(f"{where}: an image split's entry is its folder or CSV ({sorted(set(entry) - {'path'})} are "
                          "settings for tables). Set image_column, label_column and split_column in data, for every "
                          "split.")
    if not isinstance(path, str):
        raise ConfigError(f"{where}: for images, give a folder of class folders, a CSV of image paths and labels, or "
                          "an npz; or, per split, a folder or CSV: {train: <folder>, test: <folder>}.")
    return path


def _one_split(found: image_io.FoundImages, source: Path, named: str, given_split: str,
               config: RecipeConfig) -> image_io.FoundImages:
    """A split's own folder or CSV: its images all belong to the split data.source names it as."""
    held = sorted(set(found.table["split"].dropna()))
    if held:
        fix = ("Unset data.split_column: each split has its own CSV." if config.data.split_column else
               "Give a folder of class folders, or a CSV, per split; or give the whole folder as data.source.")
        raise DataError(f"{source}: data.source.{given_split} holds splits of its own ({', '.join(map(str, held))}). "
                        + fix)
    # Files are named from where the config names the split's folder (or the CSV's folder), as a user finds them.
    base = (named if source.is_dir() else str(Path(named).parent)).rstrip("/")
    table = found.table.assign(split=given_split, file=base + "/" + found.table["file"].astype(str))
    return image_io.FoundImages(table, [(f"{base}/{file}", reason) for file, reason in found.skipped])


def _split_key(name: str, source: Path) -> str:
    split = image_io.folder_split(str(name))
    if split is None:
        raise DataError(f"{source}: the split {name!r} (a split folder's name, an npz array's prefix, or a value of "
                        "data.split_column) is not train, validation (val, valid, dev) or test. Rename it (names like "
                        "Training or test_set are understood), or give each split in data.source: {train: ..., "
                        "test: ...}.")
    return split


def split_like_warning(config: RecipeConfig, found: pd.DataFrame) -> str:
    """A warning when the class folders each hold the same folders, as split folders named otherwise would.
    `found`: the images `found_images` read, whose `split` column says whether the folder held splits."""
    if isinstance(config.data.source, dict) or found["split"].notna().any():
        return ""
    source = find_local(config.data.source, config.search_dirs)
    inner = image_io.shared_subfolders(source) if source.is_dir() else []
    classes = {label_key(folder.name) for folder in image_io.subfolders(source)} if inner else set()
    if not inner or (config.data.labels and classes <= {label_key(label) for label in config.data.labels}):
        return ""  # data.labels naming the class folders says they are classes
    return (f"The class folders each hold the same folders ({', '.join(inner)}). If the class folders are really "
            "splits (and those folders the classes), rename them (train, validation, test, or names holding those "
            "words, like train_set), or give each split's folder in data.source: {train: <folder>, test: <folder>}.")


def check_classes(table: pd.DataFrame, config: RecipeConfig, split_like: str = "") -> None:
    """Two classes or more, and the classes the config names are the ones the images have: said in the
    layout's own terms (class folders, a CSV's label column, an npz's label ids)."""
    source = describe_source(config.data.source)
    found = sorted(set(table["label"].astype(str)), key=lambda label: (label_key(label), label))
    if len({label_key(label) for label in found}) < len(found):
        spellings = [label for label in found if [label_key(x) for x in found].count(label_key(label)) > 1]
        raise DataError(f"{source}: the classes {', '.join(map(repr, spellings))} differ only in how they are written "
                        "(say, a Benign folder in one split and a benign folder in another). Spell each class one way.")
    first = next(iter(config.data.source.values())) if isinstance(config.data.source, dict) else config.data.source
    where = _label_place(_entry_path(first, None), config)
    if len(found) < 2:
        wrapper = (f" If {found[0]!r} is a folder that wraps your class (or split) folders, point data.source at it."
                   if "folder" in where else "")
        raise DataError(f"{source}: every image has the class {found[0]!r}; a classifier needs two classes or more "
                        f"({where}).{wrapper}")
    setting = "data.label_mapping" if config.data.label_mapping else "data.labels" if config.data.labels else None
    if setting is None:
        return
    named = list(config.data.label_mapping or config.data.labels)
    unknown = [label for label in found if label_key(label) not in {label_key(name) for name in named}]
    if unknown:
        fix = (f"Name every id in data.label_mapping ({{{unknown[0]}: <class name>, ...}})" if "npz" in where
               and setting == "data.labels" else f"Add them to {setting}, or remove those images")
        examples = ", ".join(f"{label!r} ({table.loc[table['label'].astype(str) == label, 'file'].iloc[0]} ...)"
                             for label in unknown)
        raise DataError(f"{source}: {where}, and they include {examples}, which {setting} does "
                        f"not name ({setting}: {', '.join(map(repr, map(str, named)))}). {fix}."
                        f"{(' ' + split_like) if split_like else ''}")
    absent = [] if config.data.label_mapping else [
        label for label in named if label_key(label) not in {label_key(value) for value in found}]
    if absent:
        raise DataError(f"{source}: data.labels names {', '.join(map(repr, absent))}, but no image has that class "
                        f"({where}: {', '.join(map(repr, found))}). Fix data.labels, or add those images.")


def _label_place(source: str, config: RecipeConfig) -> str:
    suffix = Path(source).suffix.lower()
    if suffix == ".csv":
        return f"the classes are the values of the CSV's column {config.data.label_column!r}"
    if suffix == ".npz":
        return "the classes are the npz's label ids"
    return "the classes are the names of the class folders"
