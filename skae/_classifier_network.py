"""The network of :class:`skae.EncoderClassifier`: an autoencoder's encoder under a new head.

The surgery that builds it from a fitted autoencoder: its encoder is copied (up to the
codes ``transform`` returns) and probed with a row of zeros for its code size, dropout
is inserted after its activations, a head maps the codes to the classes' logits, and,
for an auxiliary reconstruction loss, the autoencoder's decoder is copied too and
checked to take the encoder's codes. The autoencoder itself is never modified.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._base import check_layer_sizes
from ._nn import ACTIVATIONS, make_activation, make_mlp

#: modules after which ``dropout`` goes: the activations skae builds ('linear' too)
_ACTIVATION_TYPES = tuple(set(ACTIVATIONS.values()))


def _with_dropout(layers, p: float) -> nn.Sequential:
    """``layers`` with an ``nn.Dropout(p)`` after every activation."""
    out: list[nn.Module] = []
    for layer in layers:
        out.append(layer)
        if p > 0 and isinstance(layer, _ACTIVATION_TYPES):
            out.append(nn.Dropout(p))
    return nn.Sequential(*out)


class EncoderClassifierModule(nn.Module):
    """``input_dropout``, then ``encoder`` (inputs to codes), then ``head`` (to logits).

    A frozen encoder stays in evaluation mode while the rest trains, so that nothing
    in it changes (no dropout inside it, no running statistics updated).

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps inputs to codes.
    head : torch.nn.Module
        Maps codes to logits.
    input_dropout : float, default=0.0
        Dropout probability on the inputs.
    freeze_encoder : bool, default=False
        Keep ``encoder`` in evaluation mode and without gradients.
    decoder : torch.nn.Module or None, default=None
        Maps codes back to raw inputs (before the output activation), for an
        auxiliary reconstruction loss; None without one.
    """

    def __init__(self, encoder, head, input_dropout=0.0, freeze_encoder=False, decoder=None):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout > 0 else nn.Identity()
        self.encoder = encoder
        self.head = head
        self.freeze_encoder = freeze_encoder
        self.decoder = decoder
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.input_dropout(x)))

    def reconstruct_raw(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's raw output for ``x`` (needs ``decoder``)."""
        return self.decoder(self.encoder(self.input_dropout(x)))

    @torch.no_grad()
    def constrain_max_norm(self, max_norm: float) -> None:
        """Scale each trainable hidden unit's incoming weight vector to norm <= ``max_norm``.

        The output layer (the last ``Linear``) and frozen layers are left alone.
        """
        # Encoder and head only: the decoder (if any) is not part of the classifier.
        trainable = [m for part in (self.encoder, self.head) for m in part.modules()]
        trainable = [m for m in trainable if isinstance(m, nn.Linear)]
        for layer in trainable[:-1]:
            if layer.weight.requires_grad:
                layer.weight.renorm_(2, 0, max_norm)


def random_encoder(n_features: int, sizes, activation: str) -> tuple[nn.Module, int]:
    """A randomly initialised dense encoder ``n_features -> sizes`` and its code size.

    Activations go between its layers; the one after the code is the head's.
    """
    sizes = check_layer_sizes(sizes, "encoder_hidden_layer_sizes")
    return make_mlp([n_features, *sizes], activation, last_activation=False), sizes[-1]


def copied_encoder(autoencoder, n_features: int) -> tuple[nn.Module, int]:
    """A float32 CPU copy of ``autoencoder``'s encoder up to its codes, and its code size.

    skae autoencoders say which module gives their codes (a VAE's encoder also
    outputs log-variances); other autoencoders give their ``encoder_``. The code size
    is that of the copy's output for one row of zeros.
    """
    code_encoder = getattr(autoencoder, "_code_encoder", None)
    source = code_encoder() if callable(code_encoder) else autoencoder.encoder_
    encoder = copy.deepcopy(source).float().cpu()
    with torch.no_grad():
        n_codes = encoder.eval()(torch.zeros(1, n_features)).shape[1]
    encoder.train()
    return encoder, n_codes


def copied_decoder(autoencoder, encoder: nn.Module, n_features: int) -> nn.Module:
    """A float32 CPU copy of ``autoencoder``'s decoder, checked to take ``encoder``'s codes.

    Raises
    ------
    TypeError
        If the autoencoder has no torch ``decoder_``.
    ValueError
        If the decoder does not map the encoder's codes of a row of zeros back to a
        row of ``n_features``.
    """
    decoder = getattr(autoencoder, "decoder_", None)
    message = (
        f"reconstruction_weight > 0 needs an autoencoder whose decoder_ maps its "
        f"encoder_'s codes back to inputs; {type(autoencoder).__name__} "
    )
    if not isinstance(decoder, nn.Module):
        raise TypeError(message + "has no torch decoder_.")
    decoder = copy.deepcopy(decoder).float().cpu()
    with torch.no_grad():
        try:
            shape = decoder.eval()(encoder.eval()(torch.zeros(1, n_features))).shape
        except RuntimeError as exc:
            raise ValueError(message + f"does not ({exc}).") from exc
    if shape != (1, n_features):
        raise ValueError(message + f"gives outputs of shape {tuple(shape)}.")
    encoder.train()
    return decoder.train()


def build_classifier_network(
    autoencoder,
    n_features: int,
    n_classes: int,
    *,
    encoder_hidden_layer_sizes,
    hidden_layer_sizes,
    activation: str,
    dropout: float,
    input_dropout: float,
    freeze_encoder: bool,
    with_decoder: bool,
) -> EncoderClassifierModule:
    """The network of an :class:`skae.EncoderClassifier` (see its parameters).

    ``autoencoder`` is the fitted autoencoder whose encoder (and, ``with_decoder``,
    decoder) is copied, or None for a random encoder of
    ``encoder_hidden_layer_sizes``.
    """
    if autoencoder is None:
        encoder, n_codes = random_encoder(n_features, encoder_hidden_layer_sizes, activation)
    else:
        encoder, n_codes = copied_encoder(autoencoder, n_features)
    code_is_linear = isinstance(list(encoder.modules())[-1], nn.Linear)
    if isinstance(encoder, nn.Sequential):
        encoder = _with_dropout(encoder, dropout)
    sizes = check_layer_sizes(hidden_layer_sizes, "hidden_layer_sizes")
    # A linear code gets the activation that makes "encoder + head" an ordinary
    # MLP (784-200-10 on MNIST); a code with its own activation keeps it.
    head = [make_activation(activation)] if code_is_linear else []
    head += make_mlp([n_codes, *sizes, n_classes], activation, last_activation=False)
    return EncoderClassifierModule(
        encoder,
        _with_dropout(head, dropout),
        input_dropout=input_dropout,
        freeze_encoder=freeze_encoder,
        decoder=copied_decoder(autoencoder, encoder, n_features) if with_decoder else None,
    )
