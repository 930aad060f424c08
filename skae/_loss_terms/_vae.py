"""The variational autoencoder's KL term."""

from __future__ import annotations

import torch

from ._term import LossTerm


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-sample ``KL(N(mu, exp(logvar)) || N(0, I))``, summed over the code."""
    return 0.5 * torch.sum(mu**2 + logvar.exp() - logvar - 1.0, dim=1)


class GaussianKLTerm(LossTerm):
    """KL divergence of the posterior ``q(z | x)`` from ``N(0, I)``, averaged over rows.

    Reads the module's ``'mu'`` and ``'logvar'`` outputs. With ``warmup_epochs=W > 0``
    the weight of training epoch ``e`` (from 1) is ``beta * min(1, (e - 1) / W)``,
    logged as ``beta`` in the history; validation always uses the full ``beta``, so
    that early stopping compares epochs on the same objective.

    Parameters
    ----------
    beta : float, default=1.0
        The weight after the warm-up.
    warmup_epochs : int, default=0
    """

    name = "kl"
    needs = ("outputs",)
    weight_column = "beta"

    def __init__(self, beta=1.0, warmup_epochs=0):
        super().__init__(beta)
        self.warmup_epochs = warmup_epochs

    def __call__(self, context):
        outputs = context.outputs
        return gaussian_kl(outputs["mu"], outputs["logvar"]).mean()

    def weight_at_epoch(self, epoch):
        if not self.warmup_epochs:
            return float(self.weight)
        return float(self.weight) * min(1.0, max(0, epoch - 1) / self.warmup_epochs)

    def weight_in(self, context):
        if not context.training:
            return float(self.weight)
        return self.weight_at_epoch(len(context.net.history))
