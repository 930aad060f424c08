"""Information-theoretic autoencoder: a code pulled towards a prior distribution."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions
from skorch.callbacks import PassthroughScoring
from skorch.dataset import unpack_data
from skorch.utils import TeeGenerator

from ._autoencoder_net import AutoencoderNet
from ._base import BaseAutoencoder, check_layer_sizes
from ._loss_terms import (
    DivergenceTerm,
    GeneratorTerm,
    LabelledRows,
    discriminator_inputs,
    has_classes,
)
from ._nn import DenseAutoencoderModule, make_mlp
from ._optimizers import fused_kwargs
from ._parameters import shares_parameters
from ._priors import make_prior
from ._regularizers import AUTOENCODER_PARAMETERS
from ._semi_supervised import encode_partial_labels
from ._validation import NonBoolInterval

REGULARIZERS = ("csd", "adversarial", "csd+adversarial")


class ITLModule(DenseAutoencoderModule):
    """Dense autoencoder plus, for adversarial training, a discriminator on codes.

    The discriminator maps a code to one logit: "drawn from the prior" (positive)
    against "produced by the encoder" (negative). With labels it also sees the
    one-hot class (``discriminator_n_classes`` extra inputs), as in Makhzani et al.:
    ``n_classes`` when every row is labelled, ``n_classes + 1`` with unlabelled rows
    (the extra slot says "no label").
    """

    def __init__(
        self, *args, discriminator_hidden_layer_sizes=None, discriminator_n_classes=0, **kwargs
    ):
        super().__init__(*args, **kwargs)
        if discriminator_hidden_layer_sizes is None:
            self.discriminator = None
        else:
            n_inputs = self.decoder[0].in_features + discriminator_n_classes
            self.discriminator = make_mlp(
                [n_inputs, *discriminator_hidden_layer_sizes, 1], "relu", last_activation=False
            )


class ITLNet(AutoencoderNet):
    """skorch net of the ITL autoencoder: its terms, and a discriminator trained beside them.

    The divergence and the generator terms depend on the code only, so their
    gradients reach the encoder and never the decoder. With a generator term, every
    training step of the autoencoder is followed by one step of the discriminator, on
    the prior samples and the (detached) codes of that step, with its own Adam
    optimizer; ``train_discriminator_loss`` and ``train_discriminator_accuracy`` are
    logged per epoch.

    Parameters
    ----------
    module, criterion, terms, noise, noise_level, labelled_rows, **kwargs
        As for :class:`~skae._autoencoder_net.AutoencoderNet`.
    discriminator_lr : float, default=1e-3
        Adam learning rate of the discriminator.
    paired_rows : LabelledRows or None, default=None
        With labels and unlabelled rows (targets of ``-1``), the labelled rows: every
        training batch is extended by as many rows drawn from them, so that each step
        sees every class however few labels there are. Data of one fit, dropped when
        training ends.
    """

    def __init__(self, module, criterion, *, discriminator_lr=1e-3, paired_rows=None, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.discriminator_lr = discriminator_lr
        self.paired_rows = paired_rows

    @property
    def generator(self) -> GeneratorTerm | None:
        """The generator term, whose discriminator this net trains (None without)."""
        return next((term for term in self.terms if isinstance(term, GeneratorTerm)), None)

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        if self.generator is not None:
            for name in ("train_discriminator_loss", "train_discriminator_accuracy"):
                callbacks.append((name, PassthroughScoring(name=name, on_train=True)))
        return callbacks

    # -- optimizers: the autoencoder's optimizer never sees the discriminator
    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if not name.startswith("discriminator."):
                yield name, param

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        if self.generator is not None:
            self.discriminator_optimizer_ = torch.optim.Adam(
                self.module_.discriminator.parameters(),
                lr=self.discriminator_lr,
                **fused_kwargs(torch.optim.Adam, self.device),
            )
        return self

    # -- the training step
    def train_step_single(self, batch, **fit_params):
        if self.paired_rows is None:
            return super().train_step_single(batch, **fit_params)
        Xi, yi = unpack_data(batch)
        X_paired, y_paired = self.paired_rows.draw(len(Xi))
        batch = (torch.cat([Xi, X_paired]), torch.cat([yi, y_paired]))
        return super().train_step_single(batch, **fit_params)

    def train_step(self, batch, **fit_params):
        """The autoencoder's step with its own optimizer, then the discriminator's.

        skorch's ``train_step`` would step every optimizer of the net with the
        autoencoder's closure: the discriminator would then be updated from the
        generator's loss, with a second forward and backward pass per batch.
        """
        accumulator = self.get_train_step_accumulator()
        latest = {}

        def step_fn():
            self.optimizer_.zero_grad()
            step = self.train_step_single(batch, **fit_params)
            latest["step"] = step
            accumulator.store_step(step)
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                batch=batch,
                training=True,
            )
            return step["loss"]

        self.optimizer_.step(step_fn)
        if self.generator is not None:
            # on what the autoencoder's last evaluation of its loss saw
            self.discriminator_step(latest["step"]["context"])
        return accumulator.get_step()

    def discriminator_step(self, context) -> None:
        """One update of the discriminator: prior samples against the step's codes."""
        real, fake = discriminator_inputs(context, self.generator.prior)
        real, fake = real.detach(), fake.detach()
        discriminator = self.module_.discriminator
        self.discriminator_optimizer_.zero_grad()
        logits_real, logits_fake = discriminator(real), discriminator(fake)
        loss = 0.5 * (
            F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
        )
        loss.backward()
        self.discriminator_optimizer_.step()
        with torch.no_grad():
            accuracy = 0.5 * ((logits_real > 0).float().mean() + (logits_fake <= 0).float().mean())
        self.history.record_batch("train_discriminator_loss", loss.item())
        self.history.record_batch("train_discriminator_accuracy", accuracy.item())

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.paired_rows = None


@shares_parameters(
    AUTOENCODER_PARAMETERS,
    defaults={"batch_size": 1000, "supervised_weight": "auto", "consistency_weight": "auto"},
    notes={
        "optimizer": """\
            It trains the autoencoder; the discriminator has its own Adam
            (``discriminator_lr``).""",
        "batch_size": "Large batches give the divergence estimate enough samples.",
        "random_state": "It also seeds the prior draws.",
    },
)
class ITLAutoencoder(BaseAutoencoder):
    """Autoencoder whose code is pulled towards a prior distribution.

    The loss is the reconstruction error plus ``lambda_`` times a penalty on the codes
    of each batch: the Cauchy–Schwarz divergence between the codes and as many samples
    of the prior (Parzen estimates with a Gaussian kernel of width ``kernel_sigma``,
    Santana, Emigh & Principe 2016), an adversarial term from a discriminator that
    tells prior samples from codes (Makhzani et al. 2015), or both. The penalty
    depends on the codes only, so it shapes the encoder.

    When ``fit`` receives labels ``y`` and the prior has classes (swiss-roll segments,
    one-hot vectors, mixture components), training is semi-supervised: each sample's
    prior draw comes from its own class, the divergence is averaged over classes
    (class k's codes against class k's part of the prior), and the discriminator also
    sees the one-hot class. With ``y=None`` the prior is sampled unconditionally.

    **Few labels.** As in :mod:`sklearn.semi_supervised`, ``y == -1`` marks an
    unlabelled row (see :class:`EncoderClassifier` for string labels). Labelled rows
    are pulled towards their class's part of the prior, unlabelled rows towards the
    whole prior (the adversarial autoencoder's semi-supervised mode): the divergence
    is the mean of the class-wise divergence of the labelled rows and the divergence
    of the unlabelled rows from the prior; the discriminator sees a one-hot vector of
    ``n_classes + 1`` entries, the last one meaning "no label". Each training batch
    is joined by as many rows drawn (with replacement) from the labelled ones. With
    the one-hot prior, ``classes_[transform(X).argmax(axis=1)]`` classifies. ``y``
    with only ``-1`` raises a ``ValueError``; ``-1`` is never in ``classes_``. With
    ``supervised_weight_ > 0`` (by default ``'auto'``: with unlabelled rows, weighted
    from the labels per class) a linear head on the code is also trained by
    cross-entropy on the labelled rows (the shared supervised term of the skae
    autoencoders), with any prior.

    Parameters
    ----------
    latent_dim : int, default=2
        Size of the code; must equal the prior's dimension.
    prior : str, array-like, callable or prior object, default='swiss_roll'
        'swiss_roll' (2-D), 'onehot' (``latent_dim`` classes), 'gaussian', 'uniform',
        'gaussian_mixture' (components on a circle), an array of prior samples
        (rows are resampled), a callable ``(n_samples, random_state) -> array``, or a
        prior object from :mod:`skae.priors`. For few labels, prefer
        ``OneHotPrior(latent_dim, n_classes=k)``: a one-hot class part followed by
        Gaussian style coordinates, so that reconstruction does not force the class
        part to cluster by appearance (the class is then
        ``classes_[transform(X)[:, :k].argmax(axis=1)]``).
    regularizer : {'csd', 'adversarial', 'csd+adversarial'}, default='csd'
        The penalty on the codes.
    lambda_ : float, default=1.0
        Weight of the penalty.
    kernel_sigma : float or None, default=None
        Parzen kernel width for the divergence; None applies Silverman's rule to each
        batch (codes and prior samples pooled).
    discriminator_hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden sizes of the discriminator (adversarial regularizers only).
    discriminator_lr : float, default=1e-3
        Adam learning rate of the discriminator.
    hidden_layer_sizes : int or tuple of int, default=(128,)
        Encoder hidden sizes; the decoder mirrors them.
    activation : str, default='relu'
        Hidden activation.
    output_activation : {'auto', 'linear', 'sigmoid'}, default='auto'
        Decoder output activation; ``'auto'`` chooses ``'sigmoid'`` for training data
        in [0, 1] and ``'linear'`` otherwise (stored in ``output_activation_``).
    loss : {'auto', 'mse', 'bce'}, default='mse'
        Reconstruction loss; ``'auto'`` chooses ``'bce'`` for a sigmoid output on data
        in [0, 1]. The squared error stays the default: the default ``lambda_``
        suits its scale.
    %(shared_parameters)s

    Attributes
    ----------
    prior_ : object
        The prior built from ``prior``; ``prior_.sample(n, y=..., random_state=...)``.
    classes_ : ndarray or None
        Labels seen in fit, in the order used to pick prior classes; never the
        unlabelled marker ``-1``. None when fit used no labels: without ``y``, and
        with a prior without classes unless the supervised head is on
        (``supervised_weight_ > 0``).
    supervised_weight_, consistency_weight_ : float
        The supervised and consistency terms' weights (``'auto'`` resolved from
        the labels of ``fit``).
    net_ : skorch.NeuralNet
        The trained net.
    history_ : pandas.DataFrame
        Per epoch: ``train_loss``, ``train_recon``, ``train_csd`` and/or
        ``train_generator``, ``train_discriminator_loss``,
        ``train_discriminator_accuracy``, and one column per active regulariser.
    output_activation_ : str
        The output activation used (``'auto'`` resolved).
    loss_ : str
        The reconstruction loss used (``'auto'`` resolved).
    n_features_in_ : int
        Number of features seen in fit.

    References
    ----------
    E. Santana, M. Emigh, J. C. Principe. "Information theoretic-learning
    auto-encoder", IJCNN 2016.
    A. Makhzani et al. "Adversarial autoencoders", arXiv:1511.05644, 2015.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ITLAutoencoder
    >>> X, y = load_digits(return_X_y=True)
    >>> itl = ITLAutoencoder(prior="swiss_roll", max_epochs=3, random_state=0)
    >>> itl.fit_transform(X / 16.0, y).shape
    (1797, 2)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "prior": [str, "array-like", callable, object],
        "regularizer": [StrOptions(set(REGULARIZERS))],
        "lambda_": [NonBoolInterval(Real, 0, None, closed="left")],
        "kernel_sigma": [NonBoolInterval(Real, 0, None, closed="neither"), None],
        "discriminator_hidden_layer_sizes": ["array-like"],
        "discriminator_lr": [NonBoolInterval(Real, 0, None, closed="neither")],
    }
    _net_class = ITLNet

    # The model's own parameters; shares_parameters appends AUTOENCODER_PARAMETERS.
    def __init__(
        self,
        latent_dim=2,
        prior="swiss_roll",
        regularizer="csd",
        lambda_=1.0,
        kernel_sigma=None,
        discriminator_hidden_layer_sizes=(64, 64),
        discriminator_lr=1e-3,
        hidden_layer_sizes=(128,),
        activation="relu",
        output_activation="auto",
        loss="mse",
    ):
        self.latent_dim = latent_dim
        self.prior = prior
        self.regularizer = regularizer
        self.lambda_ = lambda_
        self.kernel_sigma = kernel_sigma
        self.discriminator_hidden_layer_sizes = discriminator_hidden_layer_sizes
        self.discriminator_lr = discriminator_lr
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss

    def fit(self, X, y=None):
        """Train on ``X``, with labels ``y`` for class-conditional prior draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Class labels, ``-1`` for unlabelled rows. With a prior that has classes,
            sample ``i`` is pulled towards the part of the prior belonging to
            ``y[i]`` (the whole prior if ``y[i] == -1``); otherwise ignored.

        Returns
        -------
        self : object

        Notes
        -----
        Ctrl-C (``KeyboardInterrupt``) stops training and is raised from ``fit``. Like
        any error (``TrainingDivergedError``, a refused ``X``), it leaves the autoencoder
        as it was before the call: unfitted, or with its previous model whole.
        """
        return super().fit(X, y)

    def _validate_hyperparameters(self):
        super()._validate_hyperparameters()
        # Builds the prior and checks its dimension against latent_dim.
        self.prior_ = make_prior(self.prior, self.latent_dim)
        check_layer_sizes(self.discriminator_hidden_layer_sizes, "discriminator_hidden_layer_sizes")

    def _validate_targets(self, X, y):
        # Whether labels pick the prior's classes with some rows unlabelled: each
        # batch is then joined by labelled rows, and the discriminator has a "no
        # label" slot.
        self._semi_supervised_ = False
        prior_has_classes = has_classes(self.prior_)
        if y is None or not prior_has_classes:
            # the supervised term's labels, if it has a use for them, else none
            return super()._validate_targets(X, y)
        self.classes_ = None
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},), got {y.shape}.")
        classes, encoded, labelled = encode_partial_labels(y, type(self).__name__)
        self.classes_ = classes
        self._resolve_label_weights(encoded)
        if len(self.classes_) > self.prior_.n_classes:
            raise ValueError(
                f"y has {len(self.classes_)} classes but the prior has "
                f"{self.prior_.n_classes}; use a prior with at least as many classes "
                "or fit without y."
            )
        self._semi_supervised_ = not labelled.all()
        return encoded

    def _build_module(self, n_features):
        adversarial = "adversarial" in self.regularizer
        return ITLModule(
            n_features,
            self._hidden_sizes(),
            self.latent_dim,
            activation=self.activation,
            output_activation=self.output_activation_,
            dropout=self.dropout,
            discriminator_hidden_layer_sizes=(
                tuple(self.discriminator_hidden_layer_sizes) if adversarial else None
            ),
            discriminator_n_classes=self._discriminator_n_classes(),
        )

    def _discriminator_n_classes(self) -> int:
        """One-hot width the discriminator sees beside the code: none without
        labels, one slot per prior class, plus a "no label" slot with unlabelled rows."""
        if self.classes_ is None or not has_classes(self.prior_):
            return 0
        return self.prior_.n_classes + self._semi_supervised_

    def _model_terms(self):
        terms = []
        if "csd" in self.regularizer:
            terms.append(DivergenceTerm(self.lambda_, self.prior_, self.kernel_sigma))
        if "adversarial" in self.regularizer:
            terms.append(GeneratorTerm(self.lambda_, self.prior_))
        return terms

    def _net_params(self, data):
        return {
            "discriminator_lr": self.discriminator_lr,
            "paired_rows": (
                LabelledRows.for_training(data, type(self).__name__)
                if self._semi_supervised_
                else None
            ),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
