"""Convolutional encoder and decoder stacks for image-shaped inputs.

The estimators see flat rows of ``n_features`` values; these stacks reshape them to
``(channels, height, width)`` images, so a convolutional model fits in a scikit-learn
pipeline like a dense one. Each encoder convolution has a 3x3 kernel, stride 2 and
padding 1, which maps a side of length ``s`` to ``ceil(s / 2)``; the decoder doubles
the side with each transposed convolution and crops the result to the exact input
size, so any image size works (8x8 digits, 28x28 MNIST, odd sizes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

from ._nn import make_activation, make_mlp


def resolve_image_shape(image_shape, n_features: int) -> tuple[int, int, int]:
    """Return the ``(channels, height, width)`` that holds ``n_features`` values.

    ``None`` asks for a square single-channel image; a 2-tuple ``(height, width)``
    means one channel; one entry may be ``-1`` (inferred, as in ``numpy.reshape``).

    Raises
    ------
    ValueError
        If the shape is malformed or does not hold exactly ``n_features`` values.
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"architecture='conv' with image_shape=None needs a square number of "
                f"features for a single-channel square image, but n_features={n_features} "
                "is not a perfect square; pass image_shape=(channels, height, width)."
            )
        return 1, side, side
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if (
        len(shape) != 3
        or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and (s >= 1 or s == -1)
            for s in shape
        )
        or shape.count(-1) > 1
    ):
        raise ValueError(
            "image_shape must be (channels, height, width) or (height, width) of positive "
            f"integers, with at most one -1 to infer; got {image_shape!r}."
        )
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if n_features % known:
            raise ValueError(
                f"image_shape={image_shape!r} cannot hold n_features={n_features} "
                f"({n_features} is not a multiple of {known})."
            )
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    elif known != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} holds {known} values but X has "
            f"n_features={n_features}; the product of image_shape must equal the number "
            "of features."
        )
    return tuple(int(s) for s in shape)


def conv_feature_shape(image_shape: Sequence[int], channels: Sequence[int]) -> tuple[int, ...]:
    """Shape ``(channels[-1], h, w)`` of the encoder's last feature map."""
    _, height, width = image_shape
    for _ in channels:
        height, width = (height + 1) // 2, (width + 1) // 2
    return channels[-1], height, width


class Crop(nn.Module):
    """Keep the top-left ``height x width`` of a batch of images."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height = height
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.height, : self.width]


def make_conv_encoder(
    image_shape: Sequence[int],
    channels: Sequence[int],
    hidden_layer_sizes: Sequence[int],
    n_outputs: int,
    activation: str,
    dropout: float = 0.0,
) -> nn.Sequential:
    """Flat rows -> image -> stride-2 convolutions -> dense layers -> ``n_outputs``.

    The last layer is linear (no activation); ``dropout`` follows the hidden dense
    layers.
    """
    layers: list[nn.Module] = [nn.Unflatten(1, tuple(image_shape))]
    n_in = image_shape[0]
    for n_out in channels:
        layers += [nn.Conv2d(n_in, n_out, 3, stride=2, padding=1), make_activation(activation)]
        n_in = n_out
    layers.append(nn.Flatten())
    n_flat = math.prod(conv_feature_shape(image_shape, channels))
    layers += list(
        make_mlp(
            [n_flat, *hidden_layer_sizes, n_outputs],
            activation,
            last_activation=False,
            dropout=dropout,
        )
    )
    return nn.Sequential(*layers)


def make_conv_decoder(
    image_shape: Sequence[int],
    channels: Sequence[int],
    hidden_layer_sizes: Sequence[int],
    n_inputs: int,
    activation: str,
    dropout: float = 0.0,
) -> nn.Sequential:
    """The mirror of :func:`make_conv_encoder`: ``n_inputs`` -> flat rows (raw output).

    Transposed convolutions (3x3, stride 2) double each side; the final crop gives
    the exact image size. The output has no activation: the loss applies it.
    """
    feature_shape = conv_feature_shape(image_shape, channels)
    layers: list[nn.Module] = list(
        make_mlp(
            [n_inputs, *reversed(hidden_layer_sizes), math.prod(feature_shape)],
            activation,
            last_activation=True,
            dropout=dropout,
        )
    )
    layers.append(nn.Unflatten(1, feature_shape))
    outs = [*reversed(channels[:-1]), image_shape[0]]
    n_in = channels[-1]
    for i, n_out in enumerate(outs):
        layers.append(nn.ConvTranspose2d(n_in, n_out, 3, stride=2, padding=1, output_padding=1))
        if i < len(outs) - 1:
            layers.append(make_activation(activation))
        n_in = n_out
    layers += [Crop(image_shape[1], image_shape[2]), nn.Flatten()]
    return nn.Sequential(*layers)
