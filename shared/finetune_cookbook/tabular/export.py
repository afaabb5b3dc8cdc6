"""A saved tabular model as an ONNX export: the FT-Transformer with a dynamic batch, the fitted column encoder as
JSON (`columns.json`), and `runtime.py` (this package's `tabular/runtime.py`), which encodes raw rows with numpy as
scikit-learn did. Checked three ways before it is kept: numpy's encoding against scikit-learn's, the graph against
PyTorch at another batch size, and raw rows to scores through `runtime.py` against the package's own path."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from finetune_cookbook.core import export as onnx_export
from finetune_cookbook.tabular import runtime
from finetune_cookbook.tabular.columns import TabularEncoder

COLUMNS_FILE = "columns.json"
TRACED_ROWS = 2
PARITY_ROWS = 2000  # the test rows parity, the metrics and the speed are measured on, at most


def encoder_spec(encoder: TabularEncoder) -> dict:
    """The fitted `ColumnTransformer` as plain JSON: the imputer's medians and which columns get a missing-value
    flag, the quantiles and their normal references, and each category's code (as scikit-learn itself maps
    every category it knows, rare ones to their shared code)."""
    transformer = encoder.transformer
    columns = {name: list(cols) for name, _, cols in transformer.transformers_ if name in ("numeric", "categorical")}
    numeric = {"columns": columns.get("numeric", []), "medians": [], "indicators": [], "quantiles": [],
               "references": []}
    if numeric["columns"]:
        steps = transformer.named_transformers_["numeric"].named_steps
        imputer, scaler = steps["impute"], steps["scale"]
        numeric.update(medians=imputer.statistics_.tolist(),
                       indicators=(imputer.indicator_.features_.tolist() if imputer.indicator_ is not None else []),
                       quantiles=scaler.quantiles_.tolist(), references=scaler.references_.tolist())
    codes = []
    if columns.get("categorical"):
        ordinal = transformer.named_transformers_["categorical"]
        for j, categories in enumerate(ordinal.categories_):
            known = np.asarray(categories, dtype=object).reshape(-1, 1)
            frame = pd.DataFrame({column: known[:, 0] if i == j else ordinal.categories_[i][0]
                                  for i, column in enumerate(columns["categorical"])})
            mapped = ordinal.transform(frame)[:, j]
            codes.append({str(category): int(code) for category, code in zip(categories, mapped)})
    return {"kinds": encoder.kinds, "numeric": numeric,
            "categorical": {"columns": columns.get("categorical", []), "codes": codes}}


class GraphOutput(torch.nn.Module):
    """What the graph returns: a classifier's logits, or (segments) the encoder's row embedding."""

    def __init__(self, model: torch.nn.Module, output: str):
        super().__init__()
        self.model, self.output = model, output

    def forward(self, numeric, categorical):
        if self.output == "logits":
            return {"logits": self.model(numeric, categorical)["logits"]}
        return {self.output: self.model.encoder(numeric, categorical)}


def records(frame: pd.DataFrame) -> list[dict]:
    """A table's rows as the service receives them: column -> text (None for an empty cell)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def export_tabular(model: torch.nn.Module, encoder: TabularEncoder, export_dir: str | Path, spec: dict,
                   frame: pd.DataFrame | None, targets: np.ndarray | None,
                   reference: Callable[[pd.DataFrame], np.ndarray], quality: Callable[..., dict],
                   quantize: str | None = None,
                   modules: dict[str, Path] | None = None) -> dict:
    """Writes `model.onnx`, `columns.json`, `runtime.py` (and `modules`, name -> file, beside it) into
    `export_dir` and returns what `export.json` holds: `spec` (the task's part: output, labels, threshold or
    segments), parity, and each backend's size, speed and `quality`.

    `frame`: the run's test rows (cleaned as training read them) and their `targets` (1 / 0), or None;
    `reference(frame)` is the package's own PyTorch path from rows to the scores `runtime.TabularModel.scores`
    returns; `quality(scores, targets, fp32_scores)` the task's test metric of a backend's scores, and how far
    its decisions agree with the fp32 export's."""
    export_dir = Path(export_dir)
    model = model.float().cpu().eval()
    graph = GraphOutput(model, spec["output"])
    config = model.config
    generator = torch.Generator().manual_seed(0)
    traced = {"numeric": torch.randn(TRACED_ROWS, config.n_numeric, generator=generator),
              "categorical": torch.zeros(TRACED_ROWS, len(config.cardinalities), dtype=torch.int64)}
    # strict: rtdl's attention takes its batch size from len()
    onnx_export.export_onnx(graph, traced, export_dir / "model.onnx", {"numeric": (0,), "categorical": (0,)},
                            output=spec["output"], strict=True)
    (export_dir / COLUMNS_FILE).write_text(json.dumps(encoder_spec(encoder)))
    shutil.copyfile(runtime.__file__, export_dir / "runtime.py")
    for name, source in (modules or {}).items():
        shutil.copyfile(source, export_dir / name)
    spec = {"modality": "tabular", "input_kind": runtime.INPUT_KIND, "model": "model.onnx", "columns": COLUMNS_FILE,
            **spec}
    (export_dir / runtime.EXPORT_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False))
    exported = runtime.load(export_dir)
    spec["input_columns"] = exported.input_columns

    if frame is None or frame.empty:
        frame, targets = _probe_rows(exported), None
    frame = frame.head(PARITY_ROWS).reset_index(drop=True)
    targets = None if targets is None else np.asarray(targets)[:PARITY_ROWS]
    if len(frame) == TRACED_ROWS:  # the check must run at another batch size than the traced one
        frame = pd.concat([frame, frame.head(1)], ignore_index=True)
        targets = None if targets is None else np.concatenate([targets, targets[:1]])
    rows = records(frame)
    encoded = encoder.encode(_with_features(exported, frame), "the test rows")
    numeric, categorical = exported.inputs(rows, cleaned=True)
    encoding = float(np.abs(numeric - encoded.numeric).max()) if numeric.size else 0.0
    onnx_export.check_parity(encoding, f"{export_dir / COLUMNS_FILE} (numpy's encoding of {len(rows)} rows against "
                                       "scikit-learn's)")
    if not np.array_equal(categorical, encoded.categorical):
        raise onnx_export.ExportError(f"{export_dir / COLUMNS_FILE}: numpy's category codes differ from "
                                      "scikit-learn's; the export was not kept.")
    batch = {"numeric": encoded.numeric[:64], "categorical": encoded.categorical[:64]}
    graph_difference = onnx_export.largest_difference(graph, export_dir / "model.onnx", batch, spec["output"])
    onnx_export.check_parity(graph_difference, f"{export_dir / 'model.onnx'} (batch {len(batch['numeric'])})")
    ours = exported.scores(rows, cleaned=True)
    theirs = reference(frame)
    end_to_end = float(np.abs(ours - theirs).max())
    onnx_export.check_parity(end_to_end, f"{export_dir} (scores through runtime.py, {len(rows)} rows)")
    spec["parity"] = {"logits_max_abs_difference": graph_difference, "encoding_max_abs_difference": encoding,
                      "scores_max_abs_difference": end_to_end, "rows": len(rows), "traced_batch": TRACED_ROWS,
                      "checked_batch": len(batch["numeric"]), "graph_output": spec["output"]}
    spec["fp32"] = {"megabytes": onnx_export.megabytes(export_dir / "model.onnx"), **quality(ours, targets, ours),
                    **_speed(lambda part: exported.scores(part, cleaned=True), rows)}
    spec["pytorch_fp32"] = {**quality(theirs, targets, ours), **_speed(lambda part: reference(pd.DataFrame(part)), rows)}
    if quantize == "int8":
        # per tensor: ONNX Runtime refuses per-channel zero points on the periodic embeddings' batched MatMul
        onnx_export.quantize_int8(export_dir / "model.onnx", export_dir / "model.int8.onnx", per_channel=False)
        int8 = runtime.load(export_dir, "model.int8.onnx")
        quantized = int8.scores(rows, cleaned=True)
        spec["int8"] = {"model": "model.int8.onnx", "megabytes": onnx_export.megabytes(export_dir / "model.int8.onnx"),
                        "scores_max_abs_difference_to_fp32": float(np.abs(quantized - ours).max()),
                        **quality(quantized, targets, ours), **_speed(lambda part: int8.scores(part, cleaned=True), rows)}
    return spec


def _with_features(exported: runtime.TabularModel, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the customer features added as the runtime adds them (segments), for scikit-learn's encoder."""
    if exported.customers is None:
        return frame
    columns = {c: [runtime.cell_text(v) for v in frame[c]] for c in exported.input_columns}
    added = exported.customers.add_features(columns, exported.segments["settings"], exported.segments["snapshot"],
                                            runtime.parse_numbers)
    return frame.assign(**{c: added[c] for c in exported.segments["engineered"]})


def _probe_rows(exported: runtime.TabularModel) -> pd.DataFrame:
    """Rows made up when the run's data cannot be read again: each category a code of its own, numbers drawn
    from the training quantiles."""
    encoder = exported.encoder
    rng = np.random.default_rng(0)
    frame = {}
    for column in exported.input_columns:
        kind = encoder.kinds.get(column, "numeric")
        if kind == "categorical":
            known = list(encoder.codes[encoder.categorical_columns.index(column)]) or ["?"]
            frame[column] = [known[i % len(known)] for i in range(8)]
        elif kind == "boolean":
            frame[column] = ["yes", "no"] * 4
        elif column in encoder.numeric_columns:  # numbers and bands (a band reads a plain number too)
            quantiles = encoder.quantiles[:, encoder.numeric_columns.index(column)]
            drawn = rng.choice(quantiles, 8)
            frame[column] = [repr(float(abs(v) if kind == "band" else v)) for v in drawn]
        else:
            frame[column] = [""] * 8
    return pd.DataFrame(frame)


def _speed(score, rows: list[dict]) -> dict:
    """Latency of one row and throughput at batch 32, from raw rows to scores, in this process."""
    one = rows[:1]
    batch = (rows * (32 // len(rows) + 1))[:32]
    return onnx_export.speed(lambda: score(one), lambda: score(batch), "rows")
