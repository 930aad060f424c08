"""Terms on labelled rows: an autoencoder's supervised head, a classifier's loss."""

from __future__ import annotations

from numbers import Real

import torch
import torch.nn.functional as F

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
            "float",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"),),
            """\
            Weight of an optional supervised term: a linear head on the code, trained
            with the cross-entropy on the labelled rows of ``y`` (``-1`` marks an
            unlabelled row, as in :mod:`sklearn.semi_supervised`) jointly with the
            reconstruction of every row, so that :meth:`transform` gives class-aware
            codes. Each training step pairs its batch with a batch of labelled rows,
            corrupted by ``noise`` as the reconstruction's inputs are. 0 switches it
            off: ``y`` is then ignored. Logged as ``supervised``.""",
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
