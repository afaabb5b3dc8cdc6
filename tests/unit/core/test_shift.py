"""The checks that say when test data is unlike training data: a two-sample classifier, the validation-test gap
and repeats inside test."""

import numpy as np

from finetune_cookbook.core import shift


def test_a_shifted_sample_is_told_apart_and_a_like_one_is_not():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 20))
    alike = shift.two_sample_test(train, rng.normal(size=(150, 20)))
    shifted = shift.two_sample_test(train, rng.normal(size=(150, 20)) + np.r_[0.8, np.zeros(19)])
    assert not alike.different and alike.roc_auc < 0.6
    assert shifted.different and shifted.roc_auc > 0.65
    assert "looks like the training data" in alike.reading()
    assert "different from the training data" in shifted.reading()


def test_too_few_rows_say_nothing():
    rng = np.random.default_rng(1)
    assert shift.two_sample_test(rng.normal(size=(100, 3)), rng.normal(size=(shift.MIN_ROWS - 1, 3))) is None


def test_the_gap_fires_only_for_a_given_test_split_far_below_validation():
    kwargs = dict(metric="accuracy", validation=0.96, test=0.41, test_repeats=0)
    fired = shift.check_splits(None, None, test_given=True, **kwargs)
    assert fired.gap_fired and "0.550 below the validation accuracy" in fired.notes[0]
    assert not shift.check_splits(None, None, test_given=False, **kwargs).gap_fired
    assert not shift.check_splits(None, None, test_given=True, metric="accuracy", validation=0.9, test=0.85,
                                  test_repeats=0).gap_fired


def test_repeats_in_test_are_reported():
    checks = shift.check_splits(None, None, metric="accuracy", validation=None, test=None, test_given=True,
                                test_repeats=80)
    assert checks.notes == ["80 test row(s) repeat another test row; a given test split is kept as it came, so they "
                            "count more than once in the test scores."]
    assert "## Is the test data like the training data?" in checks.card_section()


def test_a_batch_is_compared_with_the_reference_saved_beside_the_model(tmp_path):
    rng = np.random.default_rng(2)
    (tmp_path / shift.REFERENCE_FILE).write_bytes(shift.reference_sample(rng.normal(size=(2000, 8))))
    assert np.load(tmp_path / shift.REFERENCE_FILE).shape == (shift.REFERENCE_ROWS, 8)
    assert shift.notes_on_batch(tmp_path, 100, lambda: rng.normal(size=(100, 8))) == []
    assert "new data is" in shift.notes_on_batch(tmp_path, 100, lambda: rng.normal(size=(100, 8)) + 2)[0]
    assert shift.notes_on_batch(tmp_path, 5, lambda: 1 / 0) == []  # too small a batch: not even embedded
