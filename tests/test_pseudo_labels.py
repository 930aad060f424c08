"""Label spreading over codes: which unlabelled rows receive a label, and which."""

import numpy as np
import pytest

from skae._pseudo_labels import spread_labels


def _two_blobs(n_per_blob=50, seed=0):
    rng = np.random.default_rng(seed)
    codes = np.vstack([rng.normal(0, 0.3, (n_per_blob, 2)), rng.normal(5, 0.3, (n_per_blob, 2))])
    truth = np.repeat([0, 1], n_per_blob)
    y = np.full(2 * n_per_blob, -1)
    y[[0, n_per_blob]] = [0, 1]
    return codes, y, truth


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_labels_the_fraction_of_unlabelled_rows_it_is_surest_of(fraction):
    codes, y, truth = _two_blobs()
    given = y.copy()
    pseudo = spread_labels(codes, y, fraction)
    np.testing.assert_array_equal(y, given)  # never modified
    newly = (given == -1) & (pseudo != -1)
    # each blob's share, rounded down: at most the fraction, short by a row a class
    assert fraction * np.sum(given == -1) - 2 <= newly.sum() <= fraction * np.sum(given == -1)
    if fraction:
        assert np.bincount(truth[newly], minlength=2).min() > 0  # both blobs share it
    np.testing.assert_array_equal(pseudo[newly], truth[newly])  # each blob its class
    np.testing.assert_array_equal(pseudo[given != -1], given[given != -1])


def test_rows_no_label_reaches_stay_unlabelled():
    """A third blob without any label gets no label mass within the graph: its rows
    keep -1 even when every unlabelled row is asked for."""
    codes, y, _ = _two_blobs()
    far = np.random.default_rng(1).normal(50, 0.3, (30, 2))
    codes, y = np.vstack([codes, far]), np.concatenate([y, np.full(30, -1)])
    pseudo = spread_labels(codes, y, 1.0)
    assert np.all(pseudo[-30:] == -1)
    assert np.all(pseudo[:-30] != -1)


def test_most_confident_first():
    """Of overlapping classes, the rows chosen are those whose spread label
    distribution is most peaked, and they get its most probable class."""
    from sklearn.semi_supervised import LabelSpreading

    from skae._pseudo_labels import SPREADING_ALPHA, SPREADING_NEIGHBOURS

    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1, 2], 60)
    codes = rng.normal(0, 1, (180, 2)) + 1.5 * np.eye(3)[truth, :2]
    y = np.full(180, -1)
    y[[0, 1, 60, 61, 120, 121]] = truth[[0, 1, 60, 61, 120, 121]]
    pseudo = spread_labels(codes, y, 0.4)
    reference = LabelSpreading(
        kernel="knn", n_neighbors=SPREADING_NEIGHBOURS, alpha=SPREADING_ALPHA, max_iter=100
    ).fit(codes, y)
    confidence = reference.label_distributions_.max(axis=1)
    chosen = (y == -1) & (pseudo != -1)
    left_open = (y == -1) & (pseudo == -1)
    assert 0.4 * np.sum(y == -1) - 3 <= chosen.sum() <= 0.4 * np.sum(y == -1)
    # within each spread class, the chosen rows are at least as sure as the others
    for label in range(3):
        in_class = reference.transduction_ == label
        assert confidence[chosen & in_class].min() >= confidence[left_open & in_class].max()
    np.testing.assert_array_equal(pseudo[chosen], reference.transduction_[chosen])


def test_ties_do_not_follow_the_rows_order():
    """Rows sorted by class, each reached by its own class only (probability 1): the
    chosen rows come from every class, in proportion."""
    codes, y, truth = _two_blobs(n_per_blob=100)
    pseudo = spread_labels(codes, y, 0.3, random_state=0)
    newly = (y == -1) & (pseudo != -1)
    counts = np.bincount(truth[newly], minlength=2)
    assert abs(counts[0] - counts[1]) <= 1 and counts.sum() > 0
    np.testing.assert_array_equal(spread_labels(codes, y, 0.3, random_state=0), pseudo)
