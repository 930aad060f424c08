"""The reconstruction term of every autoencoder (and of a fine-tuned classifier)."""

from __future__ import annotations

from .._losses import reconstruction_loss
from ._term import LossTerm


class ReconstructionTerm(LossTerm):
    """How far the decoder's output for the batch is from the clean batch.

    Reads the step's ``reconstruction`` (the decoder's raw output: an autoencoder's
    forward pass on its corrupted inputs, or a classifier's copied decoder) and
    ``inputs``.

    Parameters
    ----------
    weight : float, default=1.0
    loss : {'mse', 'bce'}, default='mse'
    output_activation : {'linear', 'sigmoid'}, default='linear'
    reduction : {'mean', 'sum_per_sample'}, default='mean'
        As for :class:`~skae._losses.ReconstructionLoss`.
    """

    name = "recon"
    needs = ("reconstruction",)

    def __init__(self, weight=1.0, *, loss="mse", output_activation="linear", reduction="mean"):
        super().__init__(weight)
        self.loss = loss
        self.output_activation = output_activation
        self.reduction = reduction

    def __call__(self, context):
        return reconstruction_loss(
            context.reconstruction,
            context.inputs,
            self.loss,
            self.output_activation,
            self.reduction,
        )
