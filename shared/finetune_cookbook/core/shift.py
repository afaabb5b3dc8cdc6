"""Is the test data like the training data? Checks made when a model is trained, and again on what it predicts.

Three checks, each reported in words, never silently:
- a two-sample test: a classifier tries to tell training rows from test rows by the frozen pre-trained model's
  features (the features themselves for tables); its cross-validated ROC-AUC says how different they are;
- validation against test: where the test split came with the data, a test score far below the validation score;
- repeats: the same input more than once inside the test split.

The two-sample test needs only features, so it runs again at prediction time against a sample of the training
rows saved with the model (`REFERENCE_FILE`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

REFERENCE_FILE = "shift_reference.npy"
MAX_ROWS = 1000  # per side: enough to see a difference, few enough to embed in seconds
REFERENCE_ROWS = 500  # training rows saved with the model
MIN_ROWS = 20  # per side: fewer say nothing either way
AUC_DIFFERENT = 0.6  # and above chance: "unlike the training data"
GAP = 0.10  # validation minus test, on a 0-1 metric: more than a few-hundred-row split's noise
PERMUTATIONS = 19  # the chance level is the largest ROC-AUC of 19 shuffles: p < 0.05 when it is beaten


@dataclass
class TwoSample:
    """How well a classifier tells `reference` rows from `other` rows."""

    roc_auc: float
    chance_level: float  # the largest ROC-AUC with the rows' origins shuffled
    rows: list[int]  # reference, other

    @property
    def different(self) -> bool:
        return self.roc_auc >= AUC_DIFFERENT and self.roc_auc > self.chance_level

    def reading(self, reference: str = "training", other: str = "test") -> str:
        """The result in plain words."""
        numbers = (f"a classifier tells {other} rows from {reference} rows with ROC-AUC {self.roc_auc:.2f} "
                   f"(0.5: not at all; chance reaches {self.chance_level:.2f} here; {self.rows[0]} and {self.rows[1]} "
                   "rows)")
        if not self.different:
            return f"The {other} data looks like the {reference} data: {numbers}."
        degree = ("almost entirely different" if self.roc_auc >= 0.9 else "clearly different" if self.roc_auc >= 0.75
                  else "somewhat different")
        return (f"The {other} data is {degree} from the {reference} data: {numbers}. Scores measured on "
                f"{reference}-like data may not hold on it.")


def _sample(features: np.ndarray, rows: int, seed: int) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    if len(features) <= rows:
        return features
    return features[np.sort(np.random.default_rng(seed).choice(len(features), size=rows, replace=False))]


def two_sample_test(reference: np.ndarray, other: np.ndarray, seed: int = 0) -> TwoSample | None:
    """Cross-validated ROC-AUC of a logistic regression telling `other` rows from `reference` rows (at most
    `MAX_ROWS` of each, seeded), and the chance level from shuffled origins; None with fewer than `MIN_ROWS` a side."""
    reference, other = _sample(reference, MAX_ROWS, seed), _sample(other, MAX_ROWS, seed + 1)
    if min(len(reference), len(other)) < MIN_ROWS:
        return None
    features = np.nan_to_num(np.vstack([reference, other]))
    origin = np.r_[np.zeros(len(reference)), np.ones(len(other))]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    # Few rows and many features: a handful of principal components keeps the classifier from fitting noise. They
    # are found once, without the rows' origins, so the shuffled runs below share them and the test stays fair.
    components = max(1, min(16, features.shape[1], len(features) // 10))
    features = PCA(n_components=components, random_state=seed).fit_transform(StandardScaler().fit_transform(features))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))

    def auc(labels: np.ndarray) -> float:
        scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
        return float(roc_auc_score(labels, scores))

    rng = np.random.default_rng(seed)
    chance = max(auc(rng.permutation(origin)) for _ in range(PERMUTATIONS))
    return TwoSample(round(auc(origin), 4), round(chance, 4), [len(reference), len(other)])


def sample_rows(frame, seed: int = 0):
    """At most `MAX_ROWS` rows of a split's table (seeded), in their order: what a check embeds."""
    return frame if len(frame) <= MAX_ROWS else frame.sample(n=MAX_ROWS, random_state=seed).sort_index()


def reference_sample(features: np.ndarray, seed: int = 0) -> bytes:
    """A seeded sample of training features as saved beside a model (`REFERENCE_FILE`), float16 to stay small."""
    buffer = io.BytesIO()
    np.save(buffer, _sample(features, REFERENCE_ROWS, seed).astype(np.float16))
    return buffer.getvalue()


def batch_note(reference: np.ndarray, batch: np.ndarray) -> str | None:
    """What `cookbook predict` says when a batch is unlike the training data (None when it is alike, or too small
    to tell)."""
    result = two_sample_test(reference, batch)
    if result is None or not result.different:
        return None
    return result.reading("training", "new") + " Check the predictions against some labelled rows before relying on them."


def notes_on_batch(model_dir: Path, rows: int, features: Callable[[], np.ndarray]) -> list[str]:
    """`batch_note` against the reference saved with the model in `model_dir`; `features` is called only when the
    model has a reference and the batch has at least `MIN_ROWS` rows. Empty when the batch is like training."""
    path = Path(model_dir) / REFERENCE_FILE
    if rows < MIN_ROWS or not path.is_file():
        return []
    note = batch_note(np.load(path, allow_pickle=False).astype(np.float64), features())
    return [note] if note else []


@dataclass
class SplitChecks:
    """The training-time checks, as `metrics.json` holds them under `shift`."""

    two_sample: dict | None = None
    validation_metric: float | None = None
    test_metric: float | None = None
    metric: str | None = None
    gap_fired: bool = False
    test_repeats: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def card_section(self) -> str:
        lines = ["", "## Is the test data like the training data?", ""]
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def gap_note(metric: str, validation: float, test: float) -> str:
    return (f"The test {metric} ({test:.3f}) is {validation - test:.3f} below the validation {metric} ({validation:.3f}); "
            f"the rule is to warn past {GAP:.2f} when the test split came with the data. Likely causes: the test "
            "data comes from another source, time, device or population than the training data; validation, carved "
            "from the training data, shares what test does not (the same people, sessions or near-copies); or the "
            "labels mean something else in the test data. Look at test rows the model gets wrong before trusting "
            "either number.")


def check_splits(train_features: np.ndarray | None, test_features: np.ndarray | None, *, metric: str | None,
                 validation: float | None, test: float | None, test_given: bool, test_repeats: int,
                 seed: int = 0) -> SplitChecks:
    """Every training-time check: the two-sample test, the validation-test gap (a test split that came with the
    data only: one carved here is like validation by construction) and repeats inside test, in `notes`."""
    checks = SplitChecks(metric=metric, validation_metric=validation, test_metric=test, test_repeats=test_repeats)
    if train_features is not None and test_features is not None:
        result = two_sample_test(train_features, test_features, seed)
        if result is not None:
            checks.two_sample = {**asdict(result), "different": result.different}
            checks.notes.append(result.reading())
    if test_given and validation is not None and test is not None and validation - test > GAP:
        checks.gap_fired = True
        checks.notes.append(gap_note(metric, validation, test))
    if test_repeats:
        checks.notes.append(f"{test_repeats} test row(s) repeat another test row; a given test split is kept as it "
                            "came, so they count more than once in the test scores.")
    return checks
