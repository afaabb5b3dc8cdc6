"""Predicting with an exported text classifier, with onnxruntime, numpy and tokenizers alone.

`cookbook export` copies this file into every text export as `runtime.py`: it imports nothing of the cookbook
and nothing of PyTorch, so the export runs wherever those three install. `cookbook serve` answers with it too.

    python runtime.py EXPORT_DIR "first text" "second text"     # one JSON object a line
    python runtime.py EXPORT_DIR --file texts.txt               # one text a line

In Python: `TextModel(EXPORT_DIR).predict(["..."])` gives one dict a text: the label, its confidence, every
class's probability and, for an intent model, whether the bot hands the message over and its reply.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

EXPORT_FILE = "export.json"
INPUT_KIND = "texts"  # what a request sends this model: a list of texts


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def session_threads(threads: int | None) -> int | None:
    """`threads`, else OMP_NUM_THREADS where it is set: PyTorch follows it and ONNX Runtime does not, and several
    processes on one machine (service workers, test workers) that each start a spinning thread per core slow
    each other down. None: ONNX Runtime's default, a thread per core."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return threads or (int(value) if value.isdigit() and int(value) > 0 else None)


class TextModel:
    """An exported text classifier: the tokenizer and the ONNX graph of `export.json`."""

    def __init__(self, folder: str | Path, model_file: str | None = None, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        self.spec = json.loads((self.folder / EXPORT_FILE).read_text(encoding="utf-8"))
        self.labels: list[str] = self.spec["labels"]
        self.tokenizer = Tokenizer.from_file(str(self.folder / self.spec["tokenizer"]))
        self.tokenizer.enable_truncation(int(self.spec["max_length"]))
        self.tokenizer.enable_padding(pad_id=int(self.spec["pad_id"]), pad_token=self.spec["pad_token"])
        options = ort.SessionOptions()
        threads = session_threads(threads)
        if threads:
            options.intra_op_num_threads = threads
        self.model_file = model_file or self.spec["model"]
        self.session = ort.InferenceSession(str(self.folder / self.model_file), options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = [item.name for item in self.session.get_inputs()]
        handover = self.spec.get("handover") or {}
        self.threshold = handover.get("threshold")
        self.max_chars = int(handover.get("max_message_chars", 0)) or None
        self.handover_reply = handover.get("reply")
        self.responses: dict[str, str] = handover.get("responses") or {}

    def inputs(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Token ids, attention mask (and token types) of `texts`, padded to the longest: the graph's inputs."""
        encodings = self.tokenizer.encode_batch(list(texts))
        arrays = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
                  "token_type_ids": [e.type_ids for e in encodings]}
        return {name: np.asarray(arrays[name], dtype=np.int64) for name in self.input_names}

    def logits(self, texts: list[str]) -> np.ndarray:
        return self.session.run(None, self.inputs(texts))[0]

    def probabilities(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Every class's probability for each text, in the order of `labels`; texts of similar length are batched
        together, so padding stays short."""
        texts = list(texts)
        result = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        order = np.argsort([len(text) for text in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            result[rows] = softmax(self.logits([texts[i] for i in rows]).astype(np.float64))
        return result

    def predict(self, texts: list[str], batch_size: int = 32) -> list[dict]:
        """One answer a text, as `cookbook predict` writes it: `text`, `label`, `confidence`, `p_<class>`; for an
        intent model also `handed_over` (confidence below the threshold, or a message too long) and `reply`."""
        answers = []
        for text, p in zip(texts, self.probabilities(texts, batch_size)):
            best = int(p.argmax())
            answer = {"text": text, "label": self.labels[best], "confidence": round(float(p[best]), 4)}
            if self.threshold is not None:
                handed_over = bool(answer["confidence"] < self.threshold
                                   or (self.max_chars is not None and len(text) > self.max_chars))
                answer["handed_over"] = handed_over
                answer["reply"] = (self.handover_reply if handed_over else self.responses.get(
                    answer["label"], f"I understood this as {answer['label'].replace('_', ' ')}."))
            answer.update({f"p_{label}": round(float(q), 4) for label, q in zip(self.labels, p)})
            answers.append(answer)
        return answers


def load(folder: str | Path, model_file: str | None = None, threads: int | None = None) -> TextModel:
    """The exported model in `folder` (`model_file`: another graph of the export, such as the int8 one)."""
    return TextModel(folder, model_file, threads)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) > 1 else 2
    folder, rest = argv[1], argv[2:]
    if rest[:1] == ["--file"] and len(rest) == 2:
        texts = Path(rest[1]).read_text(encoding="utf-8-sig").splitlines()
    else:
        texts = rest
    for answer in load(folder).predict(texts):
        print(json.dumps(answer, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
