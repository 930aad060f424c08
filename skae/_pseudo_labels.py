"""Pseudo-labels for unlabelled rows, spread from the labelled ones over a code space.

Label spreading walks the neighbourhood graph of the codes, so a class reaches the
unlabelled rows near its labelled ones even where it is not one compact cluster; the
classifier fine-tuned afterwards then learns from those rows as if they were labelled.
Only the rows the spreading is surest of get a label: the others stay unlabelled and
still shape the classifier through the terms that need no labels.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.semi_supervised import LabelSpreading
from sklearn.utils import check_random_state

from ._semi_supervised import UNLABELLED

#: neighbours per row in the spreading graph; ``alpha`` is the share of a row's label
#: distribution that comes from its neighbours rather than from its own label
SPREADING_NEIGHBOURS = 10
SPREADING_ALPHA = 0.2


def spread_labels(
    codes: np.ndarray, y_encoded: np.ndarray, fraction: float, random_state=None
) -> np.ndarray:
    """Label at most ``fraction`` of the unlabelled rows, those label spreading is
    surest of.

    Each class the spreading predicts gets its share of the chosen rows in proportion
    to the rows it predicts, so that no class fills the quota alone; within a class
    the rows with the largest probability go first, and rows of equal probability (a
    row reached by one class only has probability 1) in random order, so that the
    order of the rows in ``codes`` does not decide.

    Parameters
    ----------
    codes : array-like of shape (n_samples, n_components)
        The rows in the space where neighbours share labels (an autoencoder's codes).
    y_encoded : ndarray of int of shape (n_samples,)
        Class indices, ``-1`` for unlabelled rows; never modified.
    fraction : float in [0, 1]
        The most of the unlabelled rows that receive a label (rounded down). Rows
        that no label reached are never chosen, so fewer may be.
    random_state : int, RandomState instance or None, default=None
        Orders rows of equal probability.

    Returns
    -------
    y_pseudo : ndarray of int of shape (n_samples,)
        A copy of ``y_encoded`` in which the chosen unlabelled rows hold their spread
        class; the labelled rows keep their own label.
    """
    y_pseudo = np.array(y_encoded, copy=True)
    unlabelled = np.flatnonzero(y_pseudo == UNLABELLED)
    n_chosen = math.floor(fraction * len(unlabelled))
    if n_chosen == 0:
        return y_pseudo
    spreading = LabelSpreading(
        kernel="knn",
        n_neighbors=min(SPREADING_NEIGHBOURS, len(y_pseudo) - 1),
        alpha=SPREADING_ALPHA,
        max_iter=100,
    )
    spreading.fit(np.asarray(codes), y_pseudo)
    distributions = spreading.label_distributions_[unlabelled]
    # A row that no label reached before the spreading converged has an all-zero
    # distribution (its argmax, class 0, means nothing): it is never chosen.
    reached = distributions.sum(axis=1) > 0
    candidates = unlabelled[reached]
    confidence = distributions[reached].max(axis=1)
    predicted = spreading.transduction_[candidates]
    tie_break = check_random_state(random_state).permutation(len(candidates))
    quota = n_chosen / len(unlabelled)
    for label in np.unique(predicted):
        in_class = np.flatnonzero(predicted == label)
        # Surest first; np.lexsort sorts by its last key, then the one before.
        order = in_class[np.lexsort((tie_break[in_class], -confidence[in_class]))]
        chosen = candidates[order[: math.floor(quota * len(in_class))]]
        y_pseudo[chosen] = label
    return y_pseudo
