"""Errors a user can act on: each names the file, row or column and says what to do."""


class CookbookError(Exception):
    """Base class for problems in a user's data or configuration (not bugs in the package)."""


class DataError(CookbookError):
    """The data cannot be used as it is: a missing file or column, bad rows, too few examples."""


class ConfigError(CookbookError):
    """A recipe config is missing a field, has an unknown one, or has a value of the wrong kind."""


class ModelNotFoundError(CookbookError):
    """A model name resolved to neither a local path, an installed package, nor a reachable hub id."""


# How a full disk shows itself when it is not an OSError of its own: torch.save's zip writer ("unexpected pos
# 18752 vs 18644", "PytorchStreamWriter failed writing file"), safetensors' Rust error ("StorageFull").
DISK_FULL_SIGNS = ("No space left on device", "StorageFull", "unexpected pos", "PytorchStreamWriter failed writing",
                   "file write failed")


def disk_full(error: BaseException) -> OSError | BaseException | None:
    """The error in `error`'s chain (it, its cause, its context) that says the disk is full, or None."""
    import errno

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error
        if any(sign in str(error) for sign in DISK_FULL_SIGNS):
            return error
        error = error.__cause__ or error.__context__
    return None
