"""Classification metrics as `evaluate` modules of the package's own.

`evaluate.load("accuracy")` fetches code from the hub, which fails offline, so each metric is a local
`evaluate.Metric` subclass computed with scikit-learn, and `evaluate.combine` joins them.
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

_FEATURES = datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")})


class _ClassificationMetric(evaluate.Metric):
    description = ""

    def __init__(self, label_names: list[str], **kwargs):
        self.label_names = list(label_names)
        super().__init__(keep_in_memory=True, **kwargs)

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(description=self.description, citation="", inputs_description="class ids", features=_FEATURES)

    @property
    def _label_ids(self) -> list[int]:
        return list(range(len(self.label_names)))


class Accuracy(_ClassificationMetric):
    description = "Share of examples whose predicted class is right."

    def _compute(self, predictions, references):
        return {"accuracy": float(accuracy_score(references, predictions))}


class MacroF1(_ClassificationMetric):
    description = "F1 averaged over classes with equal weight, so a rare class counts as much as a common one."

    def _compute(self, predictions, references):
        return {"macro_f1": float(f1_score(references, predictions, labels=self._label_ids, average="macro", zero_division=0))}


class PerClassPrecisionRecall(_ClassificationMetric):
    description = "Precision and recall of each class, keyed precision_<class> and recall_<class>."

    def _compute(self, predictions, references):
        precision, recall, _, _ = precision_recall_fscore_support(
            references, predictions, labels=self._label_ids, zero_division=0
        )
        scores = {}
        for name, p, r in zip(self.label_names, precision, recall):
            scores[f"precision_{name}"] = float(p)
            scores[f"recall_{name}"] = float(r)
        return scores


def classification_metrics(label_names: list[str]) -> evaluate.CombinedEvaluations:
    return evaluate.combine([cls(label_names) for cls in (Accuracy, MacroF1, PerClassPrecisionRecall)])


def compute_classification_metrics(references, predictions, label_names: list[str]) -> dict[str, float]:
    return classification_metrics(label_names).compute(
        predictions=np.asarray(predictions, dtype=np.int64), references=np.asarray(references, dtype=np.int64)
    )


def trainer_metrics(label_names: list[str]):
    """A `compute_metrics` for the Trainer: logits in, the package's metrics out."""

    def compute(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        return compute_classification_metrics(eval_prediction.label_ids, np.argmax(logits, axis=-1), label_names)

    return compute
