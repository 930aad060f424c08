"""Terms on labelled rows: an autoencoder's supervised head, a classifier's loss."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions

from .._parameters import Parameter
from .._regularization import supervised_penalty
from .._validation import NonBoolInterval
from ._term import LossTerm


class SupervisedTerm(LossTerm):
    """Cross-entropy of a linear head on the codes (``module.supervised_head``).

    A training step encodes a batch drawn from the net's labelled rows (as many as
    the training batch size, at most all of them), corrupted as the encoder's inputs
    are: on clean rows the head learns the few labelled rows by heart and pulls their
    codes apart from the rest (the few-labels guide holds the evidence). Validation,
    and training without labelled rows, use the batch's own labelled rows.
    """

    name = "supervised"
    needs = ("code",)
    parameters = (
        Parameter(
            "supervised_weight",
            "float or 'auto'",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"), StrOptions({"auto"})),
            """\
            Weight of an optional supervised term: a linear head on the code, trained
            with the cross-entropy on the labelled rows of ``y`` (``-1`` marks an
            unlabelled row, as in :mod:`sklearn.semi_supervised`) jointly with the
            reconstruction of every row, so that :meth:`transform` gives class-aware
            codes. Each training step pairs its batch with a batch of labelled rows,
            corrupted by ``noise`` as the reconstruction's inputs are. 0 switches it
            off: ``y`` is then ignored. ``'auto'`` chooses from the labels ``fit``
            gets (``supervised_weight_``): off without unlabelled rows (``y=None``,
            every row labelled, or a ``y`` that is no class vector, such as a
            regression target in a pipeline); with them, 3 when every class has at
            least 30 labels, and below that 1 when ``noise`` corrupts the inputs
            and off on clean inputs, where a head learns so few labelled rows by
            heart. Logged as ``supervised``.""",
        ),
    )

    def __call__(self, context):
        head = context.module.supervised_head
        rows = context.labelled_rows
        if rows is not None and len(rows):
            batch_size = context.net.batch_size
            size = len(rows) if batch_size in (-1, None) else min(batch_size, len(rows))
            X, y = rows.draw(size)
            return supervised_penalty(head(context.module.encode(context.corrupt(X))), y)
        if context.targets is None:
            return context.code.sum() * 0.0  # keeps the graph (and the device) of the code
        return supervised_penalty(head(context.code), context.targets)

    @classmethod
    def from_parameters(cls, params):
        weight = params["supervised_weight"]
        return cls(weight) if weight else None


#: with ``'auto'`` and unlabelled rows, the fewest labels of a class from which the
#: supervised head gets the strong weight: between the ten and the hundred labels per
#: class at which the few-labels benchmark measured the two settings
STRONG_HEAD_LABELS_PER_CLASS = 30

#: ``'auto'`` supervised weight: with many labels per class, and with few on
#: corrupted inputs; the consistency term's ``'auto'`` weight beside a head
AUTO_SUPERVISED_WEIGHTS = (3.0, 1.0)
AUTO_CONSISTENCY_WEIGHT = 10.0


def resolve_label_weights(
    supervised_weight, consistency_weight, labels: np.ndarray | None, noise
) -> tuple[float, float]:
    """The supervised and consistency weights, with ``'auto'`` resolved.

    Parameters
    ----------
    supervised_weight, consistency_weight : float or 'auto'
        The estimator's settings.
    labels : ndarray of int or None
        The encoded labels of ``fit`` (``-1`` for an unlabelled row), or None
        without labels.
    noise : str or None
        The estimator's input corruption.

    Returns
    -------
    supervised_weight, consistency_weight : float
    """
    counts = np.array([])
    if labels is not None:
        labelled = labels[labels >= 0]
        counts = np.bincount(labelled) if labelled.size else counts
    # Only unlabelled rows give the term something that the labels alone do not:
    # with every row labelled the term stays off, as without labels.
    semi_supervised = labels is not None and counts.size > 0 and labels.size > labelled.size
    auto_head = supervised_weight == "auto"
    if auto_head:
        if not semi_supervised:
            supervised_weight = 0.0
        elif counts[counts > 0].min() >= STRONG_HEAD_LABELS_PER_CLASS:
            supervised_weight = AUTO_SUPERVISED_WEIGHTS[0]
        else:
            supervised_weight = AUTO_SUPERVISED_WEIGHTS[1] if noise is not None else 0.0
    if consistency_weight == "auto":
        consistency_weight = (
            AUTO_CONSISTENCY_WEIGHT if semi_supervised and supervised_weight else 0.0
        )
    elif consistency_weight and not supervised_weight and auto_head:
        # check_parameters refuses an explicit 0 beside an explicit consistency weight
        raise ValueError(
            f"consistency_weight={consistency_weight} smooths the supervised head's "
            "predictions, and supervised_weight='auto' chose no head for these labels "
            "(it needs unlabelled rows, and 30 labels in every class or noise set): set "
            "supervised_weight > 0, or consistency_weight='auto' or 0."
        )
    return float(supervised_weight), float(consistency_weight)


class ClassificationTerm(LossTerm):
    """Cross-entropy of the network's logits on the step's labelled batch.

    A training step classifies a batch drawn from the net's labelled rows; a
    validation step its own labelled rows (0 for a batch without any).
    """

    name = "classification"
    needs = ("labelled_logits",)

    def __call__(self, context):
        logits = context.labelled_logits
        _, labels = context.labelled_batch
        if len(labels) == 0:
            return torch.zeros((), device=logits.device)
        return F.cross_entropy(logits, labels)
