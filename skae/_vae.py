"""Variational autoencoder (dense or convolutional) as a scikit-learn transformer."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
)
from torch import nn

from ._base import BaseAutoencoder
from ._conv import make_conv_decoder, make_conv_encoder, resolve_image_shape
from ._loss_terms import GaussianKLTerm, gaussian_kl
from ._nn import OUTPUT_ACTIVATIONS, make_mlp
from ._parameters import shares_parameters
from ._regularizers import AUTOENCODER_PARAMETERS
from ._validation import NonBoolInterval

ARCHITECTURES = ("dense", "conv")
TRANSFORM_MODES = ("mean", "sample", "mean_logvar")


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw ``z = mu + sigma * eps`` with ``eps ~ N(0, I)``, differentiable in mu and logvar."""
    # Drawn in float32 whatever mu's dtype: float64 inference then sees the same
    # draws as float32 inference and training for the same seed.
    eps = torch.randn(mu.shape, generator=generator, dtype=torch.float32, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps.to(mu.dtype)


def negative_log_likelihood(
    raw: torch.Tensor, x: torch.Tensor, loss: str, output_activation: str
) -> torch.Tensor:
    """Per-sample ``-log p(x | z)`` from the decoder's raw output.

    ``'bce'``: Bernoulli likelihood, the binary cross-entropy summed over features.
    ``'mse'``: Gaussian likelihood with variance 1/2 per feature, i.e. the summed
    squared error plus ``(d / 2) log(pi)``; the training loss omits that constant.
    """
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(raw, x, reduction="none").sum(dim=1)
    output = torch.sigmoid(raw) if output_activation == "sigmoid" else raw
    return ((output - x) ** 2).sum(dim=1) + 0.5 * x.shape[1] * math.log(math.pi)


class VAEModule(nn.Module):
    """An encoder to ``(mu, logvar)`` and a decoder from codes, with named outputs.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps flat inputs to ``2 * latent_dim`` values: the means, then the
        log-variances of the approximate posterior.
    decoder : torch.nn.Module
        Maps codes to raw outputs (before the output activation).
    latent_dim : int
        Size of the code.
    output_activation : {'linear', 'sigmoid'}
        Applied by :meth:`decode`.
    """

    def __init__(self, encoder, decoder, latent_dim, output_activation="sigmoid"):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.output_activation = OUTPUT_ACTIVATIONS[output_activation]()

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z | x)``."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean: the deterministic code used by ``transform``."""
        return self.encode_stats(x)[0]

    def decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output before the output activation (logits for 'sigmoid')."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map codes to reconstructions in input space."""
        return self.output_activation(self.decode_raw(z))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # Always sample: forward only serves the loss, whose expectation over q(z|x)
        # is estimated with one draw, in training and validation alike.
        mu, logvar = self.encode_stats(x)
        z = reparameterize(mu, logvar)
        # The code the regularisers act on is the posterior mean, which transform returns.
        return {"z": z, "mu": mu, "logvar": logvar, "code": mu, "raw": self.decode_raw(z)}


@shares_parameters(
    AUTOENCODER_PARAMETERS,
    notes={
        "early_stopping": """\
            The validation loss is the negative ELBO with the full ``beta``.""",
        "random_state": """\
            It also seeds the draws of ``transform_mode='sample'``, :meth:`elbo` and
            :meth:`score`.""",
        "sparsity": """\
            The sparsity and contractive terms apply to the posterior mean (the code
            :meth:`transform` returns); ``'kl'`` needs a bounded code, which a VAE does
            not have.""",
    },
)
class VAETransformer(BaseAutoencoder):
    """Variational autoencoder whose posterior mean is the transformed representation.

    The encoder maps a sample ``x`` to the mean ``mu(x)`` and log-variance
    ``logvar(x)`` of a diagonal Gaussian ``q(z | x)``; a code ``z = mu + sigma * eps``
    (``eps ~ N(0, I)``, the reparameterisation trick) is decoded back to input space.
    Training minimises, averaged over samples,

        reconstruction(x, decoder(z)) + beta * KL(q(z | x) || N(0, I)),

    with the reconstruction loss summed over features (binary cross-entropy or
    squared error), which is the negative evidence lower bound (ELBO) for ``beta=1``.
    ``architecture='dense'`` uses fully connected layers; ``'conv'`` reshapes each row
    to an image of ``image_shape`` and uses stride-2 convolutions, a dense bottleneck
    and transposed convolutions.

    Parameters
    ----------
    latent_dim : int, default=10
        Size of the code.
    architecture : {'dense', 'conv'}, default='dense'
        Fully connected or convolutional encoder and decoder.
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Dense hidden sizes of the encoder (mirrored by the decoder). For ``'conv'``,
        the dense layers between the flattened convolutional features and the code.
    activation : {'linear', 'sigmoid', 'relu', 'elu', 'tanh', 'leaky_relu'}, \
            default='relu'
        Hidden activation (dense and convolutional layers).
    conv_channels : tuple of int, default=(32, 64)
        Output channels of the encoder's 3x3 stride-2 convolutions (``'conv'`` only);
        each halves the image side (rounding up). The decoder mirrors them with
        transposed convolutions and crops to the exact image size.
    image_shape : tuple of int, default=None
        ``(channels, height, width)`` or ``(height, width)`` of one sample, for
        ``'conv'`` only; its product must equal ``n_features``, and one entry may be
        ``-1`` (inferred). ``None`` means a square single-channel image, which needs a
        square number of features (64 for 8x8 digits, 784 for MNIST).
    output_activation : {'auto', 'linear', 'sigmoid'}, default='auto'
        Activation of the decoder's output; ``inverse_transform`` and ``sample``
        return pixel probabilities with ``'sigmoid'``. ``'auto'`` chooses
        ``'sigmoid'`` for training data in [0, 1] and ``'linear'`` otherwise (stored
        in ``output_activation_``).
    loss : {'auto', 'bce', 'mse'}, default='auto'
        Reconstruction loss summed over features: binary cross-entropy (a Bernoulli
        likelihood; needs a sigmoid output and inputs in [0, 1]) or squared error (a
        Gaussian likelihood with fixed variance 1/2). ``'auto'`` chooses ``'bce'`` for
        a sigmoid output on data in [0, 1], ``'mse'`` otherwise (stored in ``loss_``).
    beta : float, default=1.0
        Weight of the KL term (``beta > 1`` gives a beta-VAE; ``0`` an autoencoder
        with noisy codes). Must be non-negative.
    kl_warmup_epochs : int, default=0
        KL warm-up: the KL weight grows linearly from 0 to ``beta`` over the first
        ``kl_warmup_epochs`` epochs (epoch ``e`` uses ``beta * (e - 1) / W``), which
        helps against posterior collapse. The weight used per epoch is in
        ``history_['beta']``.
    transform_mode : {'mean', 'sample', 'mean_logvar'}, default='mean'
        What :meth:`transform` returns: the posterior mean (deterministic), a draw
        from ``q(z | x)`` (reproducible: seeded from ``random_state``), or the mean and
        log-variance side by side (``2 * latent_dim`` columns).
    %(shared_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained skorch net.
    module_ : torch.nn.Module
        The trained module: ``encoder_`` (to means and log-variances) and
        ``decoder_``.
    history_ : pandas.DataFrame
        Per epoch: ``train_loss``, ``train_recon`` (summed reconstruction loss per
        sample), ``train_kl`` (KL per sample), ``beta`` (the KL weight used), one
        column per active regulariser, and the ``valid_*`` counterparts with early
        stopping.
    output_activation_ : str
        The output activation used (``'auto'`` resolved).
    loss_ : str
        The reconstruction loss used (``'auto'`` resolved).
    classes_ : ndarray of shape (n_classes,)
        The labelled classes, only with ``supervised_weight_ > 0``.
    supervised_weight_, consistency_weight_ : float
        The supervised and consistency terms' weights (``'auto'`` resolved from
        the labels of ``fit``).
    image_shape_ : tuple of int or None
        ``(channels, height, width)`` used by the convolutional model (None for dense).
    n_epochs_ : int
        Epochs actually run.
    device_ : torch.device
        Device the module lives on.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    AutoencoderTransformer : Deterministic autoencoder.
    sklearn.decomposition.PCA : The linear baseline.

    References
    ----------
    D. P. Kingma, M. Welling. "Auto-encoding variational Bayes", ICLR 2014.
    I. Higgins et al. "beta-VAE: learning basic visual concepts with a constrained
    variational framework", ICLR 2017.
    S. R. Bowman et al. "Generating sentences from a continuous space", CoNLL 2016
    (KL warm-up).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VAETransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> vae = VAETransformer(latent_dim=4, max_epochs=5, random_state=0).fit(X)
    >>> vae.transform(X).shape
    (1797, 4)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> bool(vae.score(X) < 0)  # mean ELBO in nats (higher is better)
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "conv_channels": ["array-like"],
        "image_shape": ["array-like", None],
        "beta": [NonBoolInterval(Real, 0, None, closed="left")],
        "kl_warmup_epochs": [NonBoolInterval(Integral, 0, None, closed="left")],
        "transform_mode": [StrOptions(set(TRANSFORM_MODES))],
    }
    _reconstruction_reduction = "sum_per_sample"

    # The model's own parameters; shares_parameters appends AUTOENCODER_PARAMETERS.
    def __init__(
        self,
        latent_dim=10,
        architecture="dense",
        hidden_layer_sizes=(128,),
        activation="relu",
        conv_channels=(32, 64),
        image_shape=None,
        output_activation="auto",
        loss="auto",
        beta=1.0,
        kl_warmup_epochs=0,
        transform_mode="mean",
    ):
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.conv_channels = conv_channels
        self.image_shape = image_shape
        self.output_activation = output_activation
        self.loss = loss
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.transform_mode = transform_mode

    # ------------------------------------------------------------------ use
    def _code_encoder(self) -> nn.Module:
        """The encoder up to the posterior means, the codes of ``transform_mode='mean'``.

        ``encoder_`` ends in one linear layer to the means and the log-variances; this
        copy of that layer keeps the means' rows, so that a classifier started from the
        encoder sees the codes and not the variances.
        """
        check_is_fitted(self, "net_")
        *body, last = self.encoder_
        means = nn.Linear(last.in_features, self.latent_dim, bias=last.bias is not None)
        means.to(device=last.weight.device, dtype=last.weight.dtype)
        with torch.no_grad():
            means.weight.copy_(last.weight[: self.latent_dim])
            if last.bias is not None:
                means.bias.copy_(last.bias[: self.latent_dim])
        return nn.Sequential(*body, means)

    def transform(self, X):
        """Encode ``X`` according to ``transform_mode``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to encode.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim) or (n_samples, 2 * latent_dim)
            Posterior means (``'mean'``), draws from the posterior (``'sample'``), or
            means then log-variances (``'mean_logvar'``), in the dtype of ``X``.
        """
        check_is_fitted(self)
        X = self._validate_inference_input(X)
        mode = self._checked_transform_mode()
        generator = self._generator() if mode == "sample" else None

        def encode(module, x):
            if mode == "mean":
                return module.encode(x)
            mu, logvar = module.encode_stats(x)
            if mode == "mean_logvar":
                return torch.cat([mu, logvar], dim=1)
            return reparameterize(mu, logvar, generator=generator)

        return self._apply(encode, X)

    def inverse_transform(self, X):
        """Decode codes back to input space (probabilities for a sigmoid output).

        Parameters
        ----------
        X : array-like of shape (n_samples, latent_dim)
            Codes. With ``transform_mode='mean_logvar'``, the ``2 * latent_dim``
            columns of :meth:`transform` are accepted too: the means are decoded.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
            Decoded samples, in the dtype of ``X``.
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=(np.float64, np.float32))
        k = self._n_features_out
        if self.transform_mode == "mean_logvar" and Z.shape[1] == 2 * k:
            Z = Z[:, :k]
        return super().inverse_transform(Z)

    def sample(self, n_samples=1, random_state=None):
        """Generate samples by decoding draws of the prior ``N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of the codes.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Decoded samples (pixel probabilities with a sigmoid output; not binarised).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        Z = check_random_state(random_state).standard_normal((n_samples, self._n_features_out))
        return self._apply(lambda module, z: module.decode(z), Z)

    def elbo(self, X):
        """Per-sample evidence lower bound ``E_q[log p(x | z)] - KL(q(z | x) || N(0, I))``.

        Computed with ``beta=1`` whatever the training ``beta``, with one draw of ``z``
        per sample (seeded from ``random_state``) and the KL in closed form, in nats.
        With ``loss='bce'`` the likelihood is Bernoulli (the usual convention for
        pixel intensities in [0, 1], exact for binary data); with ``loss='mse'`` it
        is Gaussian with variance 1/2 per feature, so
        ``log p(x | z) = -||x - x_hat||^2 - (d / 2) log(pi)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            Higher is better; a lower bound on ``log p(x)``.
        """
        check_is_fitted(self)
        X = self._validate_inference_input(X)
        generator = self._generator()

        def per_sample(module, x):
            mu, logvar = module.encode_stats(x)
            raw = module.decode_raw(reparameterize(mu, logvar, generator=generator))
            nll = negative_log_likelihood(raw, x, self.loss_, self.output_activation_)
            return -(nll + gaussian_kl(mu, logvar))

        return self._apply(per_sample, X).astype(np.float64)

    def score(self, X, y=None):
        """Mean ELBO per sample in nats (higher is better); see :meth:`elbo`.

        It is the negative of the training loss with ``beta=1`` (plus, for
        ``loss='mse'``, the Gaussian constant), so ``GridSearchCV`` on the VAE alone
        selects by held-out likelihood bound.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to evaluate.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean ELBO in nats.
        """
        return float(np.mean(self.elbo(X)))

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns of :meth:`transform`.

        ``vaetransformer0, ...`` for codes; with ``transform_mode='mean_logvar'``,
        ``vaetransformer_mean0, ...`` then ``vaetransformer_logvar0, ...``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the features seen in fit; otherwise unused.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column.
        """
        if self._checked_transform_mode() != "mean_logvar":
            return super().get_feature_names_out(input_features)
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        k = self._n_features_out
        names = [f"{prefix}_mean{i}" for i in range(k)] + [f"{prefix}_logvar{i}" for i in range(k)]
        return np.asarray(names, dtype=object)

    # ------------------------------------------------------------------ private
    def _validate_hyperparameters(self):
        super()._validate_hyperparameters()
        if self.architecture == "conv":
            channels = tuple(self.conv_channels)
            if not channels or any(
                not isinstance(c, Integral) or isinstance(c, bool) or c < 1 for c in channels
            ):
                raise ValueError(
                    "conv_channels must be a non-empty sequence of positive integers, got "
                    f"{self.conv_channels!r}."
                )

    def _check_data(self, X):
        super()._check_data(X)
        self.image_shape_ = (
            resolve_image_shape(self.image_shape, X.shape[1])
            if self.architecture == "conv"
            else None
        )

    def _build_module(self, n_features):
        hidden, k = self._hidden_sizes(), self.latent_dim
        if self.architecture == "conv":
            channels = tuple(self.conv_channels)
            encoder = make_conv_encoder(
                self.image_shape_, channels, hidden, 2 * k, self.activation, self.dropout
            )
            decoder = make_conv_decoder(
                self.image_shape_, channels, hidden, k, self.activation, self.dropout
            )
        else:
            encoder = make_mlp(
                [n_features, *hidden, 2 * k],
                self.activation,
                last_activation=False,
                dropout=self.dropout,
            )
            decoder = make_mlp(
                [k, *reversed(hidden), n_features],
                self.activation,
                last_activation=False,
                dropout=self.dropout,
            )
        return VAEModule(encoder, decoder, k, self.output_activation_)

    def _model_terms(self):
        return [GaussianKLTerm(self.beta, self.kl_warmup_epochs)]

    def _checked_transform_mode(self) -> str:
        # transform_mode may be changed with set_params after fit.
        if self.transform_mode not in TRANSFORM_MODES:
            raise ValueError(
                f"transform_mode must be one of {list(TRANSFORM_MODES)}, got "
                f"{self.transform_mode!r}."
            )
        return self.transform_mode

    def _generator(self) -> torch.Generator:
        """A torch generator on the model's device, seeded from ``random_state``."""
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        generator = torch.Generator(device=self.device_)
        generator.manual_seed(seed)
        return generator
