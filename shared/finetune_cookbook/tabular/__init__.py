"""What the tabular tasks share: column typing and encoding, the tabular data, the FT-Transformer and its
self-supervised pre-training. Imports only `core`."""


def __getattr__(name: str):
    """The names of the flat package's `tabular` module, which this package replaced (`from
    finetune_cookbook.tabular import source_rows` in code written before the layout): now in `columns`."""
    from finetune_cookbook.core import data
    from finetune_cookbook.tabular import columns

    for home in (columns, data):
        if hasattr(home, name):
            return getattr(home, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
