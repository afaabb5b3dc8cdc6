"""A saved text classifier as an ONNX export: the graph with dynamic batch and sequence, the tokenizer, the labels,
and `runtime.py` (this package's `text/runtime.py`), checked against PyTorch before it is kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from finetune_cookbook.core import export as onnx_export
from finetune_cookbook.core.saving import model_folder, read_model_info
from finetune_cookbook.text import runtime

PARITY_TEXTS = 2000  # the test texts parity and the metrics are measured on, at most
TRACED_TEXTS = ["A short one.", "A second text, longer than the first, so the batch needs padding."]
PROBE_TEXTS = [  # used when the run's test split cannot be read again (its data moved)
    "Works great, setup took a minute.", "Stopped working after two days.", "It is fine, nothing special.",
    "How do I reset my password?", "My card was charged twice", "", "ok",
]


def load_torch_classifier(model_dir: str | Path):
    """The saved classifier and its tokenizer, as `transformers` loads them (the probe-started class included)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from finetune_cookbook.text import sentence_classifier  # noqa: F401  (registers the probe-started model class)

    folder = model_folder(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    return model, AutoTokenizer.from_pretrained(str(folder))


def torch_probabilities(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 32) -> np.ndarray:
    """PyTorch's probabilities for `texts`, in batches (a test split padded as one batch would not fit)."""
    import torch

    names = model_inputs(model, tokenizer)
    parts = []
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            logits = model(**{k: v for k, v in batch.items() if k in names}).logits
        parts.append(torch.softmax(logits.double(), dim=1).numpy())
    return np.concatenate(parts)


def model_inputs(model, tokenizer) -> list[str]:
    """The tokenizer's outputs the model's forward takes, in the tokenizer's order."""
    import inspect

    accepted = inspect.signature(model.forward).parameters
    return [name for name in tokenizer.model_input_names if name in accepted]


def export_text_classifier(model_dir: str | Path, export_dir: str | Path, texts: list[str] | None = None,
                           true_labels: list[str] | None = None, quantize: str | None = None,
                           extra: dict | None = None) -> dict:
    """Writes `model.onnx`, `tokenizer.json`, `runtime.py` into `export_dir` and returns the export's
    description (what `export.json` holds: labels, input names, parity, and with `quantize="int8"` the int8 graph's
    size, metric change and speed). Parity is measured on `texts` (the run's test split; at least three, so the
    batch differs from the traced one) both on the graph's logits and end to end through `runtime.py`."""
    export_dir = Path(export_dir)
    model, tokenizer = load_torch_classifier(model_dir)
    info = read_model_info(model_dir)
    max_length = int(info.get("max_length") or min(tokenizer.model_max_length, 512))
    names = model_inputs(model, tokenizer)
    traced = tokenizer(TRACED_TEXTS, padding=True, return_tensors="pt")
    onnx_export.export_onnx(model, {name: traced[name] for name in names}, export_dir / "model.onnx",
                            {name: (0, 1) for name in names})
    tokenizer.backend_tokenizer.save(str(export_dir / "tokenizer.json"))
    shutil.copyfile(runtime.__file__, export_dir / "runtime.py")
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    spec = {"modality": "text", "input_kind": runtime.INPUT_KIND, "model": "model.onnx", "tokenizer": "tokenizer.json",
            "labels": labels, "max_length": max_length, "input_names": names,
            "pad_id": int(tokenizer.pad_token_id or 0), "pad_token": tokenizer.pad_token or "[PAD]", **(extra or {})}
    (export_dir / runtime.EXPORT_FILE).write_text(json.dumps(spec, indent=2, ensure_ascii=False))

    texts = list(texts or PROBE_TEXTS)[:PARITY_TEXTS]
    true_labels = list(true_labels)[:PARITY_TEXTS] if true_labels and texts else None
    if len(texts) == len(TRACED_TEXTS):  # the check must run at another batch size than the traced one
        texts, true_labels = texts + texts[:1], true_labels + true_labels[:1] if true_labels else None
    batch = tokenizer(texts[:64], padding=True, truncation=True, max_length=max_length, return_tensors="np")
    logits_difference = onnx_export.largest_difference(model, export_dir / "model.onnx",
                                                       {name: batch[name].astype(np.int64) for name in names})
    onnx_export.check_parity(logits_difference,
                             f"{export_dir / 'model.onnx'} (logits, batch {len(batch['input_ids'])})")
    exported = runtime.load(export_dir)
    ours = exported.probabilities(texts)
    reference = torch_probabilities(model, tokenizer, texts, max_length)
    end_to_end = float(np.abs(ours - reference).max())
    onnx_export.check_parity(end_to_end, f"{export_dir} (probabilities through runtime.py, {len(texts)} texts)")
    spec["parity"] = {"logits_max_abs_difference": logits_difference, "probabilities_max_abs_difference": end_to_end,
                      "texts": len(texts), "traced_batch": len(TRACED_TEXTS), "checked_batch": len(batch["input_ids"])}
    spec["fp32"] = {"megabytes": onnx_export.megabytes(export_dir / "model.onnx"),
                    **onnx_export.quality_on_test(ours, labels, true_labels), **_speed(exported, texts)}
    spec["pytorch_fp32"] = {**onnx_export.quality_on_test(reference, labels, true_labels),
                            **_speed(_TorchText(model, tokenizer, max_length), texts)}
    if quantize == "int8":
        onnx_export.quantize_int8(export_dir / "model.onnx", export_dir / "model.int8.onnx", per_channel=True)
        int8 = runtime.load(export_dir, "model.int8.onnx")
        quantized = int8.probabilities(texts)
        spec["int8"] = {"model": "model.int8.onnx", "megabytes": onnx_export.megabytes(export_dir / "model.int8.onnx"),
                        "same_label_as_fp32": float((quantized.argmax(1) == ours.argmax(1)).mean()),
                        "probabilities_max_abs_difference_to_fp32": float(np.abs(quantized - ours).max()),
                        **onnx_export.quality_on_test(quantized, labels, true_labels), **_speed(int8, texts)}
    return spec


class _TorchText:
    """PyTorch eager fp32, as the speed comparison calls it: the same texts, the same batching."""

    def __init__(self, model, tokenizer, max_length: int):
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length

    def probabilities(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return torch_probabilities(self.model, self.tokenizer, texts, self.max_length, batch_size)


def _speed(model, texts: list[str]) -> dict:
    """Latency of one text and throughput at batch 32, in this process, on the texts given."""
    one = [max(texts, key=len)]
    batch = (texts * (32 // len(texts) + 1))[:32]
    return onnx_export.speed(lambda: model.probabilities(one), lambda: model.probabilities(batch, batch_size=32),
                             "texts")
