"""Unit tests for core/crossval.py: the folds, and the cross-fitted score of a kept epoch."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from finetune_cookbook.core.crossval import HALVES_SEED, cross_fitted, fold_data
from finetune_cookbook.core.data import LABEL, DataReport, LabelledData
from finetune_cookbook.core.errors import DataError


def labelled(train_labels, validation_labels, test_labels=("a", "b")) -> LabelledData:
    frames = {name: pd.DataFrame({"text": [f"{name}{i}" for i in range(len(labels))], LABEL: list(labels)})
              for name, labels in (("train", train_labels), ("validation", validation_labels), ("test", test_labels))}
    return LabelledData(splits=frames, labels=["a", "b"], report=DataReport(source="in memory", rows_read=0))


def as_probabilities(positive_scores) -> np.ndarray:
    positive_scores = np.asarray(positive_scores, dtype=float)
    return np.stack([1 - positive_scores, positive_scores], axis=1)


def test_folds_pool_train_and_validation_and_never_read_test():
    data = labelled(["a"] * 20 + ["b"] * 10, ["a"] * 4 + ["b"] * 2, test_labels=["a", "b", "b"])
    folds = [fold for _, fold in fold_data(data, 3, seed=42)]
    held = [set(f.splits["validation"]["text"]) for f in folds]
    assert set().union(*held) == set(data.splits["train"]["text"]) | set(data.splits["validation"]["text"])
    assert sum(len(h) for h in held) == 36 and all(not (h & other) for h, other in zip(held, held[1:] + held[:1]))
    for fold, fold_held in zip(folds, held):
        assert set(fold.splits["train"]["text"]).isdisjoint(fold_held)
        assert fold.splits["test"].equals(fold.splits["validation"])  # a fold never scores the real test split
        assert list(fold.splits["validation"][LABEL]).count("b") == 4  # stratified: 12 of 36 are b, 4 a fold
    rows = [set(rows) for rows, _ in fold_data(data, 3, seed=42)]  # the same folds again, as pooled row numbers
    pooled = pd.concat([data.splits["train"], data.splits["validation"]], ignore_index=True)["text"]
    assert [set(pooled[sorted(r)]) for r in rows] == held


def test_too_few_examples_of_a_class_for_the_folds_is_refused():
    with pytest.raises(DataError, match="rarest class has 2.*--folds"):
        fold_data(labelled(["a"] * 10 + ["b"], ["a", "b"]), 3, seed=0)


def test_the_epoch_is_chosen_on_one_half_and_scored_on_the_other():
    labels = np.array([0, 1] * 10)
    first, second = [held for _, held in StratifiedKFold(2, shuffle=True, random_state=HALVES_SEED).split(labels, labels)]
    perfect = labels.astype(float) * 0.8 + 0.1
    # Epoch 1 ranks the first half perfectly and the second backwards; epoch 2 does the opposite. Whichever half
    # chooses, the kept epoch is scored on the half it ranks backwards: a score read on the choosing half would be 1.
    epoch_1, epoch_2 = perfect.copy(), perfect.copy()
    epoch_1[second], epoch_2[first] = 1 - perfect[second], 1 - perfect[first]
    history = [as_probabilities(epoch_1), as_probabilities(epoch_2)]
    scores = cross_fitted(labels, history, history, positive=1)
    assert scores["roc_auc"] == pytest.approx(0.0) and scores["accuracy"] == pytest.approx(0.0)
    assert scores["kept_epochs"] == [1, 2]
    # An epoch that is good everywhere is kept from both halves over one that ranks nothing, and scores 1.
    history = [as_probabilities(np.full(20, 0.5)), as_probabilities(perfect)]
    scores = cross_fitted(labels, history, history, positive=1)
    assert scores == {"roc_auc": pytest.approx(1.0), "accuracy": pytest.approx(1.0), "kept_epochs": [2, 2]}
    # The epoch is kept by the probabilities training keeps it by, and scored with the ones evaluation reports.
    scores = cross_fitted(labels, history, history[::-1], positive=1)
    assert scores["kept_epochs"] == [2, 2] and scores["roc_auc"] == pytest.approx(0.5)


def test_more_than_two_classes_score_one_against_the_rest():
    labels = np.array([0, 1, 2] * 8)
    right = np.eye(3)[labels] * 0.8 + 0.2 / 3  # every example's own class most likely
    shuffled = np.roll(right, 1, axis=0)       # each row the answer for the row before: wrong everywhere
    scores = cross_fitted(labels, [shuffled, right], [shuffled, right], positive=None)
    assert scores == {"roc_auc": pytest.approx(1.0), "accuracy": pytest.approx(1.0), "kept_epochs": [2, 2]}
