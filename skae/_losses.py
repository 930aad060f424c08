"""Reconstruction losses: the skorch ``criterion`` of every skae autoencoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RECONSTRUCTION_LOSSES = ("mse", "bce")


def reconstruction_loss(
    raw: torch.Tensor,
    target: torch.Tensor,
    loss: str = "mse",
    output_activation: str = "linear",
    reduction: str = "mean",
) -> torch.Tensor:
    """The reconstruction loss of ``target`` from the decoder's raw output ``raw``.

    See :class:`ReconstructionLoss` for the parameters.
    """
    if loss == "bce":
        per_element = F.binary_cross_entropy_with_logits(raw, target, reduction="none")
    else:
        output = torch.sigmoid(raw) if output_activation == "sigmoid" else raw
        per_element = (output - target) ** 2
    if reduction == "sum_per_sample":
        return per_element.flatten(1).sum(dim=1).mean()
    return per_element.mean()


class ReconstructionLoss(nn.Module):
    """Reconstruction loss computed from the decoder's raw output.

    Parameters
    ----------
    loss : {'mse', 'bce'}, default='mse'
        ``'mse'`` compares the activated output with the target; ``'bce'`` uses
        :func:`torch.nn.functional.binary_cross_entropy_with_logits` on the raw output
        (it requires a sigmoid output and targets in [0, 1]).
    output_activation : {'linear', 'sigmoid'}, default='linear'
        The activation the decoder applies after its last layer.
    reduction : {'mean', 'sum_per_sample'}, default='mean'
        ``'mean'`` averages over samples and features (per-pixel loss, as
        :class:`torch.nn.MSELoss`); ``'sum_per_sample'`` sums over features and
        averages over samples, the scale an ELBO needs.
    """

    def __init__(self, loss="mse", output_activation="linear", reduction="mean"):
        super().__init__()
        self.loss = loss
        self.output_activation = output_activation
        self.reduction = reduction

    def forward(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return reconstruction_loss(raw, target, self.loss, self.output_activation, self.reduction)
