"""The loss term: one weighted part of a training loss, as a small object."""

from __future__ import annotations

import torch


class LossTerm:
    """One term of a training loss: its name, what it needs, its computation.

    A training step (:class:`~skae._loss_terms.LossTermsNet`) sums the weighted
    terms its estimator hands it and logs each unweighted value per epoch as
    ``train_<name>`` (``valid_<name>`` on the validation split). A term reads what it
    needs from the step's :class:`~skae._loss_terms.StepContext`, which computes
    each input once, when a term first asks for it.

    A regulariser that the skae autoencoders take as parameters also declares them
    (``parameters``: constraints, default, documentation), builds itself from their
    values (:meth:`from_parameters`) and checks their combinations
    (:meth:`check_parameters`).

    Parameters
    ----------
    weight : float, default=1.0
        The term's weight in the loss.
    """

    #: logged as ``train_<name>`` and ``valid_<name>``
    name: str = ""
    #: what the term reads from the step context: names of its attributes, and
    #: ``'input_gradient'`` when the encoder's input must carry gradients (the
    #: context must know before the forward pass)
    needs: tuple[str, ...] = ()
    #: the history column of a weight that varies over the epochs (None: it does not)
    weight_column: str | None = None
    #: the estimator parameters of a regulariser, in signature order
    parameters: tuple = ()

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def __call__(self, context) -> torch.Tensor:
        """The term's unweighted value on the step of ``context``, a 0-dim tensor."""
        raise NotImplementedError

    def weight_in(self, context) -> float:
        """The term's weight on the step of ``context`` (``weight`` unless it varies)."""
        return float(self.weight)

    def weight_at_epoch(self, epoch: int) -> float:
        """The training weight of epoch ``epoch`` (from 1), for ``weight_column``."""
        return float(self.weight)

    @classmethod
    def from_parameters(cls, params: dict) -> LossTerm | None:
        """The term an estimator's parameters ask for; None when they switch it off."""
        raise NotImplementedError(f"{cls.__name__} is not built from estimator parameters")

    @classmethod
    def check_parameters(cls, params: dict, estimator) -> None:
        """Raise a ``ValueError`` for a combination of parameters the term cannot train."""

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in vars(self).items())
        return f"{type(self).__name__}({settings})"
