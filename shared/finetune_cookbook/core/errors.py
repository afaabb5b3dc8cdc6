"""Errors a user can act on: each names the file, row or column and says what to do."""


class CookbookError(Exception):
    """Base class for problems in a user's data or configuration (not bugs in the package)."""


class DataError(CookbookError):
    """The data cannot be used as it is: a missing file or column, bad rows, too few examples."""


class ConfigError(CookbookError):
    """A recipe config is missing a field, has an unknown one, or has a value of the wrong kind."""


class ModelNotFoundError(CookbookError):
    """A model name resolved to neither a local path, an installed package, nor a reachable hub id."""
