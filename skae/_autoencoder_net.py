"""The skorch net of the skae autoencoders."""

from __future__ import annotations

from ._loss_terms import AutoencoderStep, LossTermsNet


class AutoencoderNet(LossTermsNet):
    """skorch net of an autoencoder: the weighted sum of its loss terms.

    Each training step corrupts the encoder's input (``noise``, ``noise_level``) and
    runs the module on it; the terms (a reconstruction of the clean input, then the
    model's own terms and its regularisers) read the step through an
    :class:`~skae._loss_terms.AutoencoderStep`. The module returns a dict of named
    outputs with at least ``'code'`` and ``'raw'``.

    Parameters
    ----------
    module, criterion, terms, labelled_rows, **kwargs
        As for :class:`~skae._loss_terms.LossTermsNet`; ``labelled_rows`` are those
        the supervised term draws from.
    noise : {'masking', 'gaussian'} or None, default=None
        Corruption of the encoder's input during training
        (:func:`~skae._regularization.corrupt`).
    noise_level : float, default=0.0
        Masking probability, or Gaussian standard deviation.
    """

    step_context_class = AutoencoderStep

    def __init__(self, module, criterion, *, noise=None, noise_level=0.0, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.noise = noise
        self.noise_level = noise_level
