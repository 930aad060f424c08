"""Pseudo-labels for unlabelled rows, spread from the labelled ones over a code space.

Label spreading walks the neighbourhood graph of the codes, so a class reaches the
unlabelled rows that lie on its manifold even where it is not one compact cluster; the
classifier fine-tuned afterwards then learns from those rows as if they were labelled.
Only the rows the spreading is most sure of get a label: the others stay unlabelled
and still shape the classifier through the terms that need no labels.
"""

from __future__ import annotations

import numpy as np
from sklearn.semi_supervised import LabelSpreading

from ._semi_supervised import UNLABELLED

#: neighbours per row in the spreading graph; ``alpha`` is the share of a row's label
#: distribution that comes from its neighbours rather than from its own label
SPREADING_NEIGHBOURS = 10
SPREADING_ALPHA = 0.2


def spread_labels(codes: np.ndarray, y_encoded: np.ndarray, fraction: float) -> np.ndarray:
    """Label the ``fraction`` of unlabelled rows that label spreading is surest of.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_components)
        The rows in the space where neighbours share labels (an autoencoder's codes).
    y_encoded : ndarray of int of shape (n_samples,)
        Class indices, ``-1`` for unlabelled rows; never modified.
    fraction : float in [0, 1]
        Share of the unlabelled rows that receive a label, the most confident first
        (the largest probability of the spread label distribution; ties keep row order).

    Returns
    -------
    y_pseudo : ndarray of int of shape (n_samples,)
        A copy of ``y_encoded`` in which the chosen unlabelled rows hold their spread
        class; the labelled rows keep their own label.
    """
    y_pseudo = np.array(y_encoded, copy=True)
    unlabelled = np.flatnonzero(y_pseudo == UNLABELLED)
    n_chosen = round(fraction * len(unlabelled))
    if n_chosen == 0:
        return y_pseudo
    spreading = LabelSpreading(
        kernel="knn",
        n_neighbors=min(SPREADING_NEIGHBOURS, len(codes) - 1),
        alpha=SPREADING_ALPHA,
        max_iter=100,
    )
    spreading.fit(codes, y_pseudo)
    distributions = spreading.label_distributions_[unlabelled]
    # A row that no label reached within the iterations has an all-zero distribution
    # (its argmax, class 0, means nothing): it is never chosen.
    reached = distributions.sum(axis=1) > 0
    confidence = np.where(reached, distributions.max(axis=1), -np.inf)
    order = np.argsort(-confidence, kind="stable")[:n_chosen]
    chosen = unlabelled[order[reached[order]]]
    y_pseudo[chosen] = spreading.transduction_[chosen]
    return y_pseudo
