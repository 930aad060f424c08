"""Information-theoretic autoencoder: a code pulled towards a prior distribution."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions
from skorch.dataset import unpack_data

from ._base import BaseAutoencoder, check_layer_sizes, keeps_state_on_failure, resolve_device
from ._divergence import cauchy_schwarz_divergence
from ._nn import DenseAutoencoderModule, make_mlp
from ._optimizers import fused_kwargs
from ._priors import make_prior
from ._regularization import SUPERVISED_PARAMETER_CONSTRAINTS, fill_parameter_docs
from ._semi_supervised import UNLABELLED, encode_partial_labels
from ._training import AutoencoderNet
from ._validation import NonBoolInterval

REGULARIZERS = ("csd", "adversarial", "csd+adversarial")


def _has_classes(prior) -> bool:
    """Whether ``prior`` has classes that labels can pick (one-hot, swiss roll, ...)."""
    return getattr(prior, "n_classes", None) is not None


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
    """skorch net: reconstruction + ``penalty_weight`` x (CS divergence and/or generator loss).

    The divergence and the generator loss depend on the code only, so their gradients
    reach the encoder and never the decoder. With a discriminator, every training
    batch is followed by one discriminator step on (prior samples, detached codes),
    with its own optimizer.

    Targets of ``-1`` mark unlabelled rows (semi-supervised mode): they are pulled
    towards the whole prior, labelled rows towards their class's part. Then
    ``labelled_X``/``labelled_y`` hold the labelled rows, and every training batch is
    extended by as many rows drawn from them (with replacement), so that each step
    sees every class however few labels there are.
    """

    def __init__(
        self,
        module,
        criterion,
        *,
        prior=None,
        regularizer="csd",
        penalty_weight=1.0,
        kernel_sigma=None,
        discriminator_lr=1e-3,
        labelled_X=None,
        labelled_y=None,
        **kwargs,
    ):
        super().__init__(module, criterion, **kwargs)
        self.prior = prior
        self.regularizer = regularizer
        self.penalty_weight = penalty_weight
        self.kernel_sigma = kernel_sigma
        self.discriminator_lr = discriminator_lr
        self.labelled_X = labelled_X
        self.labelled_y = labelled_y

    @property
    def uses_csd(self) -> bool:
        return "csd" in self.regularizer

    @property
    def uses_discriminator(self) -> bool:
        return "adversarial" in self.regularizer

    @property
    def loss_terms(self):
        terms = ["recon"]
        if self.uses_csd:
            terms.append("csd")
        if self.uses_discriminator:
            terms.append("generator")
        return tuple(terms)

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        if self.uses_discriminator:
            from skorch.callbacks import PassthroughScoring

            for name in ("discriminator_loss", "discriminator_accuracy"):
                callbacks.append(
                    (
                        f"train_{name}",
                        PassthroughScoring(name=f"train_{name}", on_train=True),
                    )
                )
        return callbacks

    # -- optimizers: the autoencoder's optimizer never sees the discriminator
    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if not name.startswith("discriminator."):
                yield name, param

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        if self.uses_discriminator:
            self.discriminator_optimizer_ = torch.optim.Adam(
                self.module_.discriminator.parameters(),
                lr=self.discriminator_lr,
                **fused_kwargs(torch.optim.Adam, self.device),
            )
        return self

    # -- loss
    def _prior_batch(self, z: torch.Tensor, labels) -> torch.Tensor:
        # Draw the seed from torch's generator, which skae seeds from random_state.
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        y = None if labels is None else labels.cpu().numpy()
        if y is not None and (y == UNLABELLED).any():
            # An unlabelled row's target is a draw from the whole prior: a class
            # drawn uniformly, then a sample of that class.
            rng = np.random.RandomState(seed)
            y = np.where(y == UNLABELLED, rng.randint(0, self.prior.n_classes, len(y)), y)
        samples = self.prior.sample(len(z), y=y, random_state=seed)
        return torch.as_tensor(np.asarray(samples), dtype=z.dtype, device=z.device)

    def _class_wise_csd(self, z, target, labels):
        """Mean over the batch's classes of the divergence between matching parts.

        With labels, class k's codes are compared with prior samples of class k only;
        a single divergence between the pooled sets would ignore the labels.
        """
        divergences = [
            cauchy_schwarz_divergence(z[mask], target[mask], sigma=self.kernel_sigma)
            for mask in (labels == k for k in torch.unique(labels))
            if int(mask.sum()) > 1
        ]
        if not divergences:
            return cauchy_schwarz_divergence(z, target, sigma=self.kernel_sigma)
        return torch.stack(divergences).mean()

    def _semi_supervised_csd(self, z, target, labels):
        """Class-wise divergence of the labelled rows and divergence of the unlabelled
        rows from the whole prior, averaged (each term present in the batch counts)."""
        labelled = labels != UNLABELLED
        parts = []
        if int(labelled.sum()) > 0:
            parts.append(self._class_wise_csd(z[labelled], target[labelled], labels[labelled]))
        if int((~labelled).sum()) > 1:
            parts.append(
                cauchy_schwarz_divergence(z[~labelled], target[~labelled], sigma=self.kernel_sigma)
            )
        if not parts:
            return cauchy_schwarz_divergence(z, target, sigma=self.kernel_sigma)
        return torch.stack(parts).mean()

    def _with_class(self, codes, labels):
        if labels is None:
            return codes
        n_slots = self.module_.discriminator[0].in_features - codes.shape[1]
        # The slot after the classes, present with unlabelled rows, says "no label".
        slots = torch.where(labels == UNLABELLED, self.prior.n_classes, labels)
        onehot = F.one_hot(slots, n_slots).to(codes.dtype)
        return torch.cat([codes, onehot], dim=1)

    def train_step_single(self, batch, **fit_params):
        if self.labelled_X is None:
            return super().train_step_single(batch, **fit_params)
        Xi, yi = unpack_data(batch)
        # A batch of labelled rows beside every batch (torch's generator, seeded from
        # random_state): with few labels, most batches would otherwise hold none.
        index = torch.randint(len(self.labelled_X), (len(Xi),), device=self.labelled_X.device)
        X = torch.cat([Xi, self.labelled_X[index]])
        y = torch.cat([yi, self.labelled_y[index]])
        return super().train_step_single((X, y), **fit_params)

    def get_loss_terms(self, y_pred, y_true, X, training):
        recon = self.criterion_(y_pred["raw"], X)
        z = y_pred["z"]
        if not _has_classes(self.prior):
            y_true = None  # labels (for the supervised term) say nothing of the prior
        target = self._prior_batch(z, y_true)
        terms = {"recon": recon}
        penalty = torch.zeros((), dtype=z.dtype, device=z.device)
        if self.uses_csd:
            if y_true is None:
                terms["csd"] = cauchy_schwarz_divergence(z, target, sigma=self.kernel_sigma)
            elif (y_true == UNLABELLED).any():
                terms["csd"] = self._semi_supervised_csd(z, target, y_true)
            else:
                terms["csd"] = self._class_wise_csd(z, target, y_true)
            penalty = penalty + terms["csd"]
        if self.uses_discriminator:
            target = self._with_class(target, y_true)
            z = self._with_class(z, y_true)
            logits = self.module_.discriminator(z)
            # Non-saturating generator loss: the encoder tries to look like the prior.
            terms["generator"] = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
            penalty = penalty + terms["generator"]
            if training:
                self._discriminator_batch = (target, z.detach())
        terms["loss"] = recon + self.penalty_weight * penalty
        return terms

    def _step_optimizer(self, step_fn):
        # skorch registers discriminator_optimizer_ too and would step it with the
        # autoencoder's closure: a second forward/backward per batch, and a
        # discriminator update from the generator's loss. It has its own step below.
        if step_fn is None:
            self.optimizer_.step()
        else:
            self.optimizer_.step(step_fn)

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        if self.uses_discriminator:
            self._discriminator_step(*self._discriminator_batch)
        return step

    def _discriminator_step(self, real: torch.Tensor, fake: torch.Tensor):
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


@fill_parameter_docs
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
    ``supervised_weight > 0`` a linear head on the code is also trained by
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
    optimizer : str or torch.optim.Optimizer subclass, default='adam'
        Optimizer of the autoencoder (see :class:`AutoencoderTransformer`).
    optimizer_kwargs : dict, default=None
        Its keyword arguments (also settable as ``optimizer__<name>``).
    lr : float, default=1e-3
        Learning rate of the autoencoder.
    batch_size : int, -1 or 'full', default=1000
        Large batches give the divergence estimate enough samples.
    max_epochs : int, default=50
        Number of passes over the training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the validation loss
        has not improved by ``tol`` for ``patience`` epochs; the best weights are kept.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping.
    patience : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum absolute improvement of the validation loss.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks.
    verbose : int, default=0
        0 is silent, 1 prints skorch's per-epoch table, 2 adds a progress bar.
    device : str, default='cpu'
        'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when available).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, noise and the prior draws.
    %(regularization_parameters)s
    %(supervised_parameters)s
    %(threads_parameters)s

    Attributes
    ----------
    prior_ : object
        The prior built from ``prior``; ``prior_.sample(n, y=..., random_state=...)``.
    classes_ : ndarray or None
        Labels seen in fit, in the order used to pick prior classes (None without y);
        never the unlabelled marker ``-1``.
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
        **SUPERVISED_PARAMETER_CONSTRAINTS,
    }
    _net_class = ITLNet

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
        optimizer="adam",
        optimizer_kwargs=None,
        lr=1e-3,
        batch_size=1000,
        max_epochs=50,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        callbacks=None,
        verbose=0,
        device="cpu",
        random_state=None,
        noise=None,
        noise_level=0.2,
        sparsity="l1",
        sparsity_weight=0.0,
        sparsity_target=0.05,
        contractive_weight=0.0,
        dropout=0.0,
        weight_decay=0.0,
        lr_schedule=None,
        supervised_weight=0.0,
        consistency_weight=0.0,
        consistency_radius=2.0,
        n_threads=None,
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
        self.optimizer = optimizer
        self.optimizer_kwargs = optimizer_kwargs
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.callbacks = callbacks
        self.verbose = verbose
        self.device = device
        self.random_state = random_state
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.contractive_weight = contractive_weight
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.supervised_weight = supervised_weight
        self.consistency_weight = consistency_weight
        self.consistency_radius = consistency_radius
        self.n_threads = n_threads

    @keeps_state_on_failure
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
        try:
            super().fit(X, y)
        finally:
            self.__dict__.pop("_labelled_rows", None)
        if hasattr(self, "net_"):
            # The labelled copy served training only; keep it out of pickles.
            self.net_.labelled_X = self.net_.labelled_y = None
        return self

    def _validate_hyperparameters(self):
        super()._validate_hyperparameters()
        # Builds the prior and checks its dimension against latent_dim.
        self.prior_ = make_prior(self.prior, self.latent_dim)
        check_layer_sizes(self.discriminator_hidden_layer_sizes, "discriminator_hidden_layer_sizes")

    def _validate_targets(self, X, y):
        self._labelled_rows = None
        prior_has_classes = _has_classes(self.prior_)
        if y is None or not (prior_has_classes or self.supervised_weight):
            # the supervised term's "needs labels" error, else no labels used
            return super()._validate_targets(X, y)
        self.classes_ = None
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},), got {y.shape}.")
        self.classes_, encoded, labelled = encode_partial_labels(y, type(self).__name__)
        if not prior_has_classes:
            return encoded  # for the supervised term only
        if len(self.classes_) > self.prior_.n_classes:
            raise ValueError(
                f"y has {len(self.classes_)} classes but the prior has "
                f"{self.prior_.n_classes}; use a prior with at least as many classes "
                "or fit without y."
            )
        if not labelled.all():
            self._labelled_rows = (X[labelled], encoded[labelled])
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
        if self.classes_ is None or not _has_classes(self.prior_):
            return 0
        return self.prior_.n_classes + (self._labelled_rows is not None)

    def _net_params(self):
        return {
            "prior": self.prior_,
            "regularizer": self.regularizer,
            "penalty_weight": self.lambda_,
            "kernel_sigma": self.kernel_sigma,
            "discriminator_lr": self.discriminator_lr,
            **self._labelled_net_params(),
        }

    def _labelled_net_params(self) -> dict:
        """The labelled rows as tensors, for the semi-supervised mode (``y`` with -1)."""
        if getattr(self, "_labelled_rows", None) is None:
            return {}
        X_lab, y_lab = self._labelled_rows
        device = resolve_device(self.device)
        return {
            "labelled_X": torch.as_tensor(X_lab, dtype=torch.float32, device=device),
            "labelled_y": torch.as_tensor(y_lab, device=device),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
