"""scikit-learn's convention for unlabelled rows: ``y == -1``.

As in :mod:`sklearn.semi_supervised`, a label of ``-1`` marks a row without a label
in numeric targets (integers or floats) and in ``object`` arrays (the integer
``-1`` among, say, string labels). Arrays of strings (numpy ``U``/``S`` dtypes)
cannot hold the integer ``-1`` and count as fully labelled; a string ``'-1'`` is
then an ordinary class, as in :class:`sklearn.semi_supervised.LabelSpreading`.
:class:`sklearn.semi_supervised.SelfTrainingClassifier` refuses them outright.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target

#: the label that marks an unlabelled row
UNLABELLED = -1


def labelled_mask(y: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``y`` that carry a label (``y != -1``)."""
    y = np.asarray(y)
    if y.dtype.kind in "US":
        return np.ones(len(y), dtype=bool)
    # Element-wise for object arrays too: a string compared with -1 is just unequal.
    return np.asarray(y != UNLABELLED, dtype=bool)


def has_partial_class_labels(y) -> bool:
    """Whether ``y`` holds class labels with some rows unlabelled (``-1``) and at
    least two labelled classes: what ``supervised_weight='auto'`` can use.

    Anything else (regression targets, several outputs, binary labels written as
    -1/1, no labels at all, every row labelled) gives ``'auto'`` no use for ``y``,
    which it then ignores, as an unsupervised transformer in a pipeline does.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        return False
    labelled = labelled_mask(y)
    if labelled.all() or not labelled.any():
        return False
    try:
        kind = type_of_target(y[labelled])
    except (TypeError, ValueError):  # e.g. labels of mixed types
        return False
    # 'binary' also means a single labelled class (-1/1 binary labels, most likely)
    return kind == "multiclass" or (kind == "binary" and len(np.unique(y[labelled])) == 2)


def encode_partial_labels(y, estimator_name: str):
    """Classes and integer codes of partially labelled ``y``; ``-1`` stays ``-1``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class labels, ``-1`` for unlabelled rows.
    estimator_name : str
        For the error message.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The sorted labels of the labelled rows; never contains ``-1``.
    encoded : ndarray of int64 of shape (n_samples,)
        Index into ``classes`` for labelled rows, ``-1`` for unlabelled ones.
    labelled : ndarray of bool of shape (n_samples,)

    Raises
    ------
    ValueError
        If every row is unlabelled, or the labelled rows hold a single class while
        some rows are unlabelled (binary labels written as -1/1).
    """
    y = np.asarray(y)
    labelled = labelled_mask(y)
    if not labelled.any():
        raise ValueError(
            f"{estimator_name} got only unlabelled rows (every label is -1, scikit-learn's "
            "marker for 'no label'): at least one labelled row is needed."
        )
    check_classification_targets(y[labelled])
    classes, codes = np.unique(y[labelled], return_inverse=True)
    if len(classes) < 2 and not labelled.all():
        # Most likely binary labels written as -1/1, which scikit-learn's convention
        # reads as "unlabelled"/1: say so rather than learn a single class.
        raise ValueError(
            f"{estimator_name} got a single class ({classes[0]!r}) among the labelled "
            "rows: -1 marks unlabelled rows (scikit-learn's semi-supervised convention), "
            "so binary labels -1/1 must be recoded (e.g. to 0/1)."
        )
    encoded = np.full(len(y), UNLABELLED, dtype=np.int64)
    encoded[labelled] = codes
    return classes, encoded, labelled
