"""A saved tabular model loaded once (PyTorch) for `cookbook serve --backend torch`: rows sent as records are
checked as an export's `runtime.py` checks them, read as `cookbook predict` reads a file, and answered by the
task's own `predict` table, so both backends answer alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from finetune_cookbook.core.io.readers import ROW
from finetune_cookbook.tabular import runtime
from finetune_cookbook.tabular.columns import clean_cells
from finetune_cookbook.tabular.pretraining import load_classifier


class RowsPredictor:
    """`table(frame, origin, loaded)` is the task's `predict` on the loaded `(model, encoder, info)`; `needed`
    the columns each row must have."""

    input_kind = runtime.INPUT_KIND
    model_file = "model.safetensors (PyTorch)"

    def __init__(self, model_dir: str | Path, table: Callable[..., pd.DataFrame], needed: Callable[[tuple], list[str]],
                 labels: Callable[[dict], list[str]]):
        self.loaded = load_classifier(model_dir)
        self.info = self.loaded[2]
        self.table, self.needed, self.labels = table, needed(self.loaded), labels(self.info)

    def predict(self, rows: list[dict], names=None) -> list[dict]:
        runtime.check_rows(rows, self.needed)
        columns = list(dict.fromkeys(column for row in rows for column in row))
        frame = pd.DataFrame({c: [runtime.cell_text(row.get(c)) for row in rows] for c in columns})
        frame.insert(0, ROW, np.arange(1, len(rows) + 1))
        cells = self.info.get("cells", {})
        keep = [self.info.get("label_column"), *(self.info.get("identifier_columns") or [])]
        frame, _ = clean_cells(frame, cells.get("missing_values", []), cells.get("decimal", "."), keep=keep,
                               origin="the request")
        answers = []
        for row in self.table(frame, "the request", self.loaded).to_dict("records"):
            answers.append({key: getattr(value, "item", lambda v=value: v)() for key, value in row.items()})
        return answers
