"""Classification metrics as `evaluate` modules of the package's own.

`evaluate.load("accuracy")` fetches code from the hub, which fails offline, so each metric is a local
`evaluate.Metric` subclass computed with scikit-learn, and `evaluate.combine` joins them.
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np
from scipy.special import softmax
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

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


PER_CLASS_IN_LOG = 10  # with more classes than this, the training log keeps to accuracy and macro-F1


def trainer_metrics(label_names: list[str]):
    """A `compute_metrics` for the Trainer: logits in, the package's metrics out (per class only for a few
    classes, so a 77-intent run's progress table stays readable)."""

    def compute(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        metrics = compute_classification_metrics(eval_prediction.label_ids, np.argmax(logits, axis=-1), label_names)
        if len(label_names) > PER_CLASS_IN_LOG:
            metrics = {name: metrics[name] for name in ("accuracy", "macro_f1")}
        return metrics

    return compute


_SCORE_FEATURES = datasets.Features({
    "prediction_scores": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64"),
})


class RocAuc(evaluate.Metric):
    """Area under the ROC curve: for two classes, of the positive class's probability; for more, one-vs-rest
    averaged over classes. It judges the ranking, so it needs no threshold."""

    def __init__(self, positive: int | None = None, **kwargs):
        self.positive = positive
        super().__init__(keep_in_memory=True, **kwargs)

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(description=self.__doc__, citation="", inputs_description="class probabilities",
                                   features=_SCORE_FEATURES)

    def _compute(self, prediction_scores, references):
        scores, references = np.asarray(prediction_scores, dtype=np.float64), np.asarray(references)
        if len(np.unique(references)) < 2:
            return {"roc_auc": float("nan")}  # undefined with one class present (a tiny smoke split)
        if scores.shape[1] == 2:
            positive = 1 if self.positive is None else self.positive
            return {"roc_auc": float(roc_auc_score(references == positive, scores[:, positive]))}
        present = np.unique(references)  # classes absent from the references cannot be scored one-vs-rest
        scores = scores[:, present] / scores[:, present].sum(axis=1, keepdims=True)
        if len(present) == 2:  # sklearn reads two classes as a binary task; one-vs-rest is then one class's AUC
            return {"roc_auc": float(roc_auc_score(references == present[1], scores[:, 1]))}
        return {"roc_auc": float(roc_auc_score(references, scores, multi_class="ovr", average="macro", labels=present))}


def roc_auc(references, probabilities, positive: int | None = None) -> float:
    return RocAuc(positive).compute(prediction_scores=np.asarray(probabilities), references=np.asarray(references))["roc_auc"]


def screening_threshold(references, probabilities, positive: int, target_sensitivity: float) -> float:
    """The highest threshold on the positive class's probability that still finds `target_sensitivity` of the
    positive cases (choose it on validation, never on test)."""
    scores = np.asarray(probabilities)[:, positive][np.asarray(references) == positive]
    if len(scores) == 0:
        return 0.5
    # the k-th highest positive score, k = ceil(target * positives): at or above it, k positives are flagged
    k = int(np.ceil(target_sensitivity * len(scores)))
    return float(np.sort(scores)[::-1][k - 1])


def sensitivity_specificity(references, probabilities, positive: int, threshold: float) -> dict[str, float]:
    """Recall of the positive class and of the rest, when a case is flagged at p(positive) >= threshold."""
    references = np.asarray(references)
    flagged = np.asarray(probabilities)[:, positive] >= threshold
    is_positive = references == positive
    sensitivity = float(flagged[is_positive].mean()) if is_positive.any() else float("nan")
    specificity = float((~flagged[~is_positive]).mean()) if (~is_positive).any() else float("nan")
    return {"sensitivity": sensitivity, "specificity": specificity, "threshold": float(threshold)}


def trainer_probability_metrics(label_names: list[str], positive: int | None = None):
    """A `compute_metrics` for the Trainer that adds ROC-AUC to the classification metrics."""
    classification = trainer_metrics(label_names)

    def compute(eval_prediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        probabilities = softmax(np.asarray(logits, dtype=np.float64), axis=-1)
        return {**classification(eval_prediction), "roc_auc": roc_auc(eval_prediction.label_ids, probabilities, positive)}

    return compute


def ranking_metrics(targets, scores) -> dict[str, float]:
    targets, scores = np.asarray(targets), np.asarray(scores, dtype=np.float64)
    if len(np.unique(targets)) < 2:  # a tiny smoke split without a fraud: a ranking cannot be judged
        return {"average_precision": float("nan"), "roc_auc": float("nan"), "base_rate": float(targets.mean())}
    return {
        "average_precision": float(average_precision_score(targets, scores)),
        "roc_auc": float(roc_auc_score(targets, scores)),
        "base_rate": float(targets.mean()),
    }
