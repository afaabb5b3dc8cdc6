"""What the tabular tasks share: column typing and encoding, the tabular data, the FT-Transformer and its
self-supervised pre-training. Imports only `core`."""


# the names of the flat package's `tabular` module, so `from finetune_cookbook.tabular import *` still gives them
__all__ = ["CONSTANT", "EncodedRows", "TabularEncoder", "band_value", "binary_targets", "check_input_columns",
           "clean_cells", "column_list", "column_name", "column_notes", "infer_column_types", "model_columns",
           "parse_numbers", "read_schema", "source_rows", "time_order", "without_empty_rows"]


def __getattr__(name: str):
    """The names of the flat package's `tabular` module, which this package replaced (`from
    finetune_cookbook.tabular import source_rows` in code written before the layout): now in `columns`."""
    import importlib

    if not name.startswith("__"):
        for home in (f"{__name__}.columns", "finetune_cookbook.core.data"):
            module = importlib.import_module(home)
            if hasattr(module, name):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
