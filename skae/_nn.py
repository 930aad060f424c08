"""Torch building blocks shared by the skae models: activations and dense stacks."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

ACTIVATIONS = {
    "linear": nn.Identity,
    "identity": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}

OUTPUT_ACTIVATIONS = {"linear": nn.Identity, "sigmoid": nn.Sigmoid}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name`` (a key of ``ACTIVATIONS``)."""
    return ACTIVATIONS[name]()


def make_mlp(
    sizes: Sequence[int], activation: str, *, last_activation: bool, dropout: float = 0.0
) -> nn.Sequential:
    """Dense stack ``sizes[0] -> ... -> sizes[-1]``.

    The hidden activation follows every layer but the last, and the last one too when
    ``last_activation`` is true (used by the decoder's hidden part and by heads). With
    ``dropout > 0`` an :class:`torch.nn.Dropout` follows every hidden activation (never
    the last layer), active in training only.
    """
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        hidden = i < len(sizes) - 2
        if hidden or last_activation:
            layers.append(make_activation(activation))
        if hidden and dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class DenseAutoencoderModule(nn.Module):
    """Encoder ``n_features -> hidden... -> latent_dim`` and its mirrored decoder.

    The code layer is linear (no activation) unless ``latent_activation`` is given;
    the decoder returns *raw* outputs (before the output activation) so that the
    binary cross-entropy can be computed from logits, which is numerically stable.

    Parameters
    ----------
    n_features : int
        Input (and output) dimension.
    hidden_layer_sizes : sequence of int
        Encoder hidden sizes; the decoder uses them in reverse order.
    latent_dim : int
        Size of the code.
    activation : str
        Hidden activation, a key of ``ACTIVATIONS``.
    output_activation : {'linear', 'sigmoid'}
        Applied by :meth:`decode` to the raw decoder output.
    latent_activation : str, default='linear'
        Activation on the code layer.
    dropout : float, default=0.0
        Dropout after each hidden activation of the encoder and the decoder.
    """

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int],
        latent_dim: int,
        activation: str = "relu",
        output_activation: str = "linear",
        latent_activation: str = "linear",
        dropout: float = 0.0,
    ):
        super().__init__()
        hidden = list(hidden_layer_sizes)
        self.encoder = make_mlp(
            [n_features, *hidden, latent_dim], activation, last_activation=False, dropout=dropout
        )
        if latent_activation not in ("linear", "identity"):
            self.encoder.append(make_activation(latent_activation))
        self.decoder = make_mlp(
            [latent_dim, *reversed(hidden), n_features],
            activation,
            last_activation=False,
            dropout=dropout,
        )
        self.output_activation = OUTPUT_ACTIVATIONS[output_activation]()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs to codes."""
        return self.encoder(x)

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output before the output activation (logits for 'sigmoid')."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes to reconstructions in input space."""
        return self.output_activation(self.decode_raw(z))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named outputs for the loss terms: the code (``'z'``, also ``'code'``) and
        the decoder's raw output (``'raw'``)."""
        z = self.encode(x)
        return {"z": z, "code": z, "raw": self.decode_raw(z)}
