"""A classifier whose first layers start from a trained autoencoder's encoder."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import PassthroughScoring
from skorch.dataset import unpack_data
from torch import nn

from ._base import (
    TRAINING_PARAMETER_CONSTRAINTS,
    SkorchEstimatorMixin,
    check_float32_range,
    check_layer_sizes,
    keeps_state_on_failure,
)
from ._losses import ReconstructionLoss
from ._nn import ACTIVATIONS, make_activation, make_mlp
from ._regularization import (
    THREADS_PARAMETER_CONSTRAINTS,
    entropy_penalty,
    fill_parameter_docs,
    virtual_adversarial_penalty,
)
from ._semi_supervised import encode_partial_labels
from ._training import InterruptibleNet
from ._validation import NonBoolInterval, check_estimator_instance

#: what each ``'auto'`` setting resolves to when ``y`` holds unlabelled rows (``-1``),
#: and when every row is labelled; the few-labels guide holds the evidence
AUTO_SETTINGS = {
    "consistency_weight": (1.0, 0.0),
    "entropy_weight": (1.0, 0.0),
    "batch_size": (128, 256),
    "max_epochs": (10, 50),
}

#: code size of the autoencoder that ``encoder='auto'`` pre-trains on every row
AUTO_ENCODER_LATENT_DIM = 32

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


class ClassifierNet(InterruptibleNet):
    """skorch net on logits: cross-entropy loss, accuracy per epoch, frozen parameters kept out.

    Records ``train_acc``/``valid_acc`` per epoch from the batches already computed
    (no extra pass over the data), and keeps the encoder frozen by
    ``freeze_encoder`` out of the optimizer, so that it is never touched (weight decay
    included). Parameters frozen by skorch's ``Freezer`` stay listed, so that an
    ``Unfreezer`` can find them again.
    With ``max_norm``, every update is followed by the max-norm constraint of
    :meth:`EncoderClassifierModule.constrain_max_norm`.
    """

    def __init__(self, module, criterion, *, max_norm=None, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.max_norm = max_norm

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        if self.max_norm is not None:
            self.module_.constrain_max_norm(self.max_norm)
        return step

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        correct = (y_pred.argmax(dim=1) == y_true).float().mean()
        self.history.record_batch(f"{'train' if training else 'valid'}_acc", correct.item())
        return loss

    def get_all_learnable_params(self):
        # Leave out the encoder frozen by ``freeze_encoder`` by name, not every
        # parameter with requires_grad=False: skorch's Freezer/Unfreezer find the
        # parameters to unfreeze through this method.
        frozen = getattr(self.module_, "freeze_encoder", False)
        for name, param in super().get_all_learnable_params():
            if not (frozen and name.startswith("encoder.")):
                yield name, param

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            (
                "train_acc",
                PassthroughScoring(name="train_acc", lower_is_better=False, on_train=True),
            ),
            ("valid_acc", PassthroughScoring(name="valid_acc", lower_is_better=False)),
        ]


class SemiSupervisedClassifierNet(ClassifierNet):
    """Classifier net trained on all rows: cross-entropy on labelled rows plus
    weighted terms on every row that need no label.

    The terms on every row are the reconstruction through the autoencoder's decoder
    (``reconstruction_weight``), virtual adversarial training's smoothness term
    (``consistency_weight``, perturbations of norm ``consistency_radius``) and the
    entropy of the predictions (``entropy_weight``); a weight of 0 leaves its term
    out. The training set holds every row (targets ``-1`` for unlabelled ones). Each
    step applies those terms to its batch and classifies a batch of the same size
    drawn from the labelled rows (``labelled_X``, ``labelled_y``, with replacement),
    so that a few labels are seen at every step however many unlabelled rows there
    are. Every term is logged per epoch (``train_classification`` and
    ``train_recon``, ``train_consistency``, ``train_entropy`` for the active ones;
    ``valid_*`` with early stopping, where the validation rows' own labels are used).
    """

    def __init__(
        self,
        module,
        criterion,
        *,
        reconstruction_weight=0.0,
        consistency_weight=0.0,
        consistency_radius=2.0,
        entropy_weight=0.0,
        recon_loss="mse",
        recon_output_activation="linear",
        labelled_X=None,
        labelled_y=None,
        **kwargs,
    ):
        super().__init__(module, criterion, **kwargs)
        self.reconstruction_weight = reconstruction_weight
        self.consistency_weight = consistency_weight
        self.consistency_radius = consistency_radius
        self.entropy_weight = entropy_weight
        self.recon_loss = recon_loss
        self.recon_output_activation = recon_output_activation
        self.labelled_X = labelled_X
        self.labelled_y = labelled_y

    @property
    def unlabelled_terms(self) -> dict[str, float]:
        """The active terms on every row and their weights, in the order logged."""
        weights = {
            "recon": self.reconstruction_weight,
            "consistency": self.consistency_weight,
            "entropy": self.entropy_weight,
        }
        return {name: weight for name, weight in weights.items() if weight}

    def _reconstruction(self, X):
        # Built per call from plain settings: skorch forbids torch modules as
        # attributes set outside its initialize methods (the loss holds no weights).
        loss = ReconstructionLoss(
            loss=self.recon_loss, output_activation=self.recon_output_activation
        )
        return loss(self.module_.reconstruct_raw(X), X)

    def _unlabelled_loss(self, X, logits, prefix):
        """The weighted sum of the active terms on rows ``X``, each one logged.

        ``logits`` are the network's on ``X``, computed once for both terms that
        need them (``None`` if no term does).
        """
        total = None
        for name, weight in self.unlabelled_terms.items():
            if name == "recon":
                term = self._reconstruction(X)
            elif name == "consistency":
                term = virtual_adversarial_penalty(
                    self.module_, X, logits, radius=self.consistency_radius
                )
            else:
                term = entropy_penalty(logits)
            self.history.record_batch(f"{prefix}_{name}", term.item())
            total = weight * term if total is None else total + weight * term
        return total

    def _needs_logits(self) -> bool:
        return bool(self.consistency_weight or self.entropy_weight)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, _ = unpack_data(batch)
        # torch's generator is seeded from random_state by the estimator.
        index = torch.randint(len(self.labelled_X), (len(Xi),), device=self.labelled_X.device)
        X_lab, y_lab = self.labelled_X[index], self.labelled_y[index]
        logits = self.infer(X_lab, **fit_params)
        labelled = super().get_loss(logits, y_lab, X=X_lab, training=True)
        self.history.record_batch("train_classification", labelled.item())
        logits_all = self.infer(Xi, **fit_params) if self._needs_logits() else None
        loss = labelled + self._unlabelled_loss(Xi, logits_all, "train")
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            logits = self.infer(Xi, **fit_params)
            labelled = yi >= 0
            if labelled.any():
                classification = super().get_loss(
                    logits[labelled], yi[labelled], X=Xi, training=False
                )
            else:  # a validation batch without labels
                classification = torch.zeros((), device=logits.device)
            self.history.record_batch("valid_classification", classification.item())
            loss = classification + self._unlabelled_loss(Xi, logits, "valid")
        return {"loss": loss, "y_pred": logits}

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        for name in ("classification", *self.unlabelled_terms):
            callbacks.append(
                (f"train_{name}", PassthroughScoring(name=f"train_{name}", on_train=True))
            )
            callbacks.append((f"valid_{name}", PassthroughScoring(name=f"valid_{name}")))
        return callbacks


@fill_parameter_docs
class EncoderClassifier(SkorchEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Neural-network classifier whose hidden layers start from an autoencoder's encoder.

    The network is ``encoder -> activation -> head -> softmax``. The encoder is the
    whole encoder of a fitted skae autoencoder (its ``encoder_`` module, up to and
    including the code layer; for a :class:`VAETransformer`, up to the posterior
    means, the codes of ``transform``, without the log-variances), copied: the
    autoencoder is never modified. An
    autoencoder with ``latent_dim=200, hidden_layer_sizes=()`` thus gives the
    784-200-10 network of the transfer experiments in the user guide. With
    ``freeze_encoder=True`` only the head is trained (Case I there); with ``False``
    everything is fine-tuned (Case II). With
    ``encoder=None`` the encoder is a randomly initialised dense stack of
    ``encoder_hidden_layer_sizes`` (the baseline). The network is trained by
    cross-entropy on its logits through skorch, with the same training options as
    the skae autoencoders.

    **Few labels.** As in :mod:`sklearn.semi_supervised`, a label of ``-1`` marks an
    unlabelled row (in numeric ``y``, or as the integer ``-1`` in an ``object`` array
    of, say, strings; an array of strings has no unlabelled rows). With the defaults,
    ``fit(X, y)`` then uses every row: it pre-trains an
    :class:`AutoencoderTransformer` (32 code units) on all of ``X`` and fine-tunes
    the network with virtual adversarial training's consistency term and entropy
    minimisation on every row, each step also classifying a batch drawn from the
    labelled rows. Every ``'auto'`` setting resolves at fit time (``encoder``,
    ``consistency_weight``, ``entropy_weight``, ``batch_size``, ``max_epochs``) and
    the resolved values are kept as fitted attributes; with every row labelled they
    resolve to a plain supervised network from random weights. ``-1`` is never a
    class: ``classes_`` and :meth:`predict` hold only the labels seen; ``y`` with no
    labelled row raises a ``ValueError``.

    Parameters
    ----------
    encoder : skae autoencoder, 'auto' or None, default='auto'
        ``'auto'``: with unlabelled rows in ``y``, an unfitted
        ``AutoencoderTransformer(latent_dim=32)`` (pre-trained on every row as
        described next); with every row labelled, ``None``. Otherwise a fitted
        autoencoder (anything with ``encoder_``, a torch module mapping inputs
        to codes, and ``n_features_in_``) whose encoder initialises the network, or an
        unfitted one: a clone of it is then fitted on ``X`` and ``y`` (``-1`` rows
        included) inside :meth:`fit`, seeded from ``random_state`` if its own
        ``random_state`` is ``None``. Autoencoders that do not use labels ignore
        ``y``; those that do learn from the labelled rows too: an
        :class:`ITLAutoencoder` with a class-structured prior (semi-supervised
        pre-training), an autoencoder with ``supervised_weight > 0``. ``None`` starts
        from random weights. Cloning (as ``GridSearchCV`` does) unfits an autoencoder;
        wrap a fitted one in :class:`sklearn.frozen.FrozenEstimator` to reuse it
        across fits.
    freeze_encoder : bool, default=False
        Keep the encoder's weights fixed (bit-identical) and train only the head. The
        frozen encoder runs in evaluation mode, so ``dropout`` does not act inside it.
    encoder_hidden_layer_sizes : int or tuple of int, default=(200,)
        Layer sizes of the random encoder when ``encoder=None``; its last size is the
        code size. Ignored otherwise.
    hidden_layer_sizes : int or tuple of int, default=()
        Hidden layers of the head, between the code and the softmax layer.
    activation : {'linear', 'sigmoid', 'relu', 'elu', 'tanh', 'leaky_relu'}, \
            default='relu'
        Activation after the head's hidden layers, after every layer of the random
        encoder (``encoder=None``), and after the code when the encoder ends in a
        linear layer (a skae code layer without activation). An encoder whose code
        already has an activation keeps it and gets no second one.
    dropout : float in [0, 1), default=0.0
        Dropout probability after every hidden activation: the code and the head's
        hidden layers, and the layers inside a trainable encoder.
    input_dropout : float in [0, 1), default=0.0
        Dropout probability on the inputs (20% of the pixels in [2]_).
    max_norm : float or None, default=None
        Max-norm regularisation [3]_: after every update, each trainable hidden unit
        whose incoming weight vector has an L2 norm above ``max_norm`` has it scaled
        down to ``max_norm`` (the output layer is not constrained). Often combined
        with dropout; ``None`` leaves the weights free.
    reconstruction_weight : float, default=0.0
        Weight of an auxiliary reconstruction loss of every row (labelled or not,
        through the autoencoder's copied decoder) added to the cross-entropy while
        fine-tuning: a semi-supervised regulariser for few labels. Then each training
        step reconstructs a batch of all rows and classifies a batch of the same size
        drawn (with replacement) from the labelled rows, and an epoch is a pass over
        all rows. Needs an ``encoder`` whose ``decoder_`` takes its codes (e.g.
        :class:`skae.AutoencoderTransformer`). ``0`` trains on the labelled rows alone.
    consistency_weight : float or 'auto', default='auto'
        Weight of virtual adversarial training's smoothness term [4]_ on every row
        (labelled or not): the KL divergence between the network's prediction for a
        row and for the row moved by ``consistency_radius`` in the direction that
        changes the prediction most (one power iteration: two extra forward and one
        extra backward pass per step). It needs no labels, so the unlabelled rows
        teach the classifier where the classes' boundaries may not run. Training
        steps are then drawn as for ``reconstruction_weight``. Logged as
        ``consistency``; 0 switches it off.
    consistency_radius : float, default=2.0
        L2 norm of each row's adversarial perturbation (the ε of [4]_; 2.0 suits
        784 pixels in [0, 1]; scale it with the inputs' norm).
    entropy_weight : float or 'auto', default='auto'
        Weight of entropy minimisation on every row, which pushes the boundaries away
        from dense regions (used with the consistency term in [4]_): the mean entropy
        of the rows' predictions minus the entropy of their mean, so that the
        predictions stay spread over the classes instead of collapsing onto one [5]_.
        Logged as ``entropy`` (negative when the predictions are confident and
        balanced); 0 switches it off. ``'auto'``: 1 with unlabelled rows in ``y``,
        else 0.
    optimizer : str or torch.optim.Optimizer subclass, default='adam'
        One of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'lbfgs', 'rprop'
        (:class:`skae.optim.RProp`), 'torch_rprop', or an optimizer class.
    optimizer_kwargs : dict, default=None
        Keyword arguments for the optimizer besides ``lr`` (also settable as
        ``optimizer__<key>``, e.g. ``set_params(optimizer__momentum=0.9)``).
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, -1, 'full' or 'auto', default='auto'
        Samples per gradient step; ``-1`` or ``'full'`` uses the whole training set.
        ``'auto'``: 128 with unlabelled rows in ``y``, else 256.
    max_epochs : int or 'auto', default='auto'
        Number of passes over the training data (over every row when a term on
        every row is active). ``'auto'``: 10 with unlabelled rows in ``y``, else 50.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (a seeded random subset) and stop
        when the validation cross-entropy has not improved by ``tol`` for
        ``patience`` epochs; the weights of the best epoch are restored.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping.
    patience : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum absolute improvement of the validation loss.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (e.g. ``LRScheduler``).
    verbose : int, default=0
        0 is silent, 1 prints skorch's per-epoch table, 2 adds a progress bar.
    device : str, default='cpu'
        'cpu', 'cuda', 'cuda:N' or 'auto'.
    random_state : int, RandomState instance or None, default=None
        Seeds the head's (and the random encoder's) initialisation, dropout,
        shuffling, the validation split, and the pre-training of an unfitted
        ``encoder`` whose own ``random_state`` is ``None``.
    %(threads_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels of the labelled rows (never the unlabelled marker ``-1``).
    consistency_weight_, entropy_weight_ : float
        The weights trained with (``'auto'`` resolved).
    batch_size_ : int or 'full'
        The batch size trained with (``'auto'`` resolved).
    max_epochs_ : int
        The epoch budget trained with (``'auto'`` resolved).
    autoencoder_ : estimator or None
        The fitted autoencoder whose encoder was used (a copy of ``encoder`` or the
        clone fitted in :meth:`fit`); ``None`` for ``encoder=None``.
    net_ : skorch.NeuralNet
        The trained skorch net.
    module_ : torch.nn.Module
        The trained network; ``encoder_`` and ``head_`` are its parts.
    history_ : pandas.DataFrame
        Per-epoch record (``train_loss``, ``train_acc``, and ``valid_loss``,
        ``valid_acc`` with early stopping), indexed by epoch; with a term on every
        row also ``train_classification`` and, for each active term,
        ``train_recon``, ``train_consistency`` or ``train_entropy`` (and their
        ``valid_`` counterparts), the unweighted terms of ``train_loss``.
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
    skae.AutoencoderTransformer : The autoencoder to pre-train.
    sklearn.neural_network.MLPClassifier : The same network without pre-training.

    References
    ----------
    .. [1] G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data
       with neural networks", Science 313 (5786), 2006.
    .. [2] G. E. Hinton, N. Srivastava, A. Krizhevsky, I. Sutskever and
       R. R. Salakhutdinov, "Improving neural networks by preventing co-adaptation of
       feature detectors", arXiv:1207.0580, 2012.
    .. [3] N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov,
       "Dropout: a simple way to prevent neural networks from overfitting", Journal of
       Machine Learning Research 15, 2014.
    .. [4] T. Miyato, S. Maeda, M. Koyama and S. Ishii, "Virtual adversarial
       training: a regularization method for supervised and semi-supervised
       learning", IEEE Transactions on Pattern Analysis and Machine Intelligence
       41 (8), 2019.
    .. [5] W. Hu, T. Miyato, S. Tokui, E. Matsumoto and M. Sugiyama, "Learning
       discrete representations via information maximizing self-augmented
       training", ICML 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer, EncoderClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> ae = AutoencoderTransformer(latent_dim=32, hidden_layer_sizes=(), max_epochs=40,
    ...                             random_state=0).fit(X)
    >>> clf = EncoderClassifier(encoder=ae, freeze_encoder=True, lr=1e-2, max_epochs=10,
    ...                         random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 10)
    >>> clf.score(X, y) > 0.6
    True
    """

    _parameter_constraints: dict = {
        "encoder": [HasMethods(["fit"]), StrOptions({"auto"}), None],
        "freeze_encoder": ["boolean"],
        "encoder_hidden_layer_sizes": [
            "array-like",
            NonBoolInterval(Integral, 1, None, closed="left"),
        ],
        "hidden_layer_sizes": ["array-like", NonBoolInterval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [NonBoolInterval(Real, 0, 1, closed="left")],
        "input_dropout": [NonBoolInterval(Real, 0, 1, closed="left")],
        "max_norm": [NonBoolInterval(Real, 0, None, closed="neither"), None],
        "reconstruction_weight": [NonBoolInterval(Real, 0, None, closed="left")],
        "consistency_weight": [
            NonBoolInterval(Real, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "consistency_radius": [NonBoolInterval(Real, 0, None, closed="neither")],
        "entropy_weight": [NonBoolInterval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        **TRAINING_PARAMETER_CONSTRAINTS,
        "batch_size": [*TRAINING_PARAMETER_CONSTRAINTS["batch_size"], StrOptions({"auto"})],
        **THREADS_PARAMETER_CONSTRAINTS,
    }

    def __init__(
        self,
        encoder="auto",
        freeze_encoder=False,
        encoder_hidden_layer_sizes=(200,),
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        input_dropout=0.0,
        max_norm=None,
        reconstruction_weight=0.0,
        consistency_weight="auto",
        consistency_radius=2.0,
        entropy_weight="auto",
        optimizer="adam",
        optimizer_kwargs=None,
        lr=1e-3,
        batch_size="auto",
        max_epochs="auto",
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        callbacks=None,
        verbose=0,
        device="cpu",
        random_state=None,
        n_threads=None,
    ):
        self.encoder = encoder
        self.freeze_encoder = freeze_encoder
        self.encoder_hidden_layer_sizes = encoder_hidden_layer_sizes
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.max_norm = max_norm
        self.reconstruction_weight = reconstruction_weight
        self.consistency_weight = consistency_weight
        self.consistency_radius = consistency_radius
        self.entropy_weight = entropy_weight
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
        self.n_threads = n_threads

    def _validate_hyperparameters(self):
        self._validate_params()
        check_estimator_instance(self.encoder, "encoder")
        self._check_training_options()
        check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        sizes = check_layer_sizes(self.encoder_hidden_layer_sizes, "encoder_hidden_layer_sizes")
        if (self.encoder is None or isinstance(self.encoder, str)) and not sizes:
            raise ValueError(
                f"encoder={self.encoder!r} needs at least one encoder_hidden_layer_sizes entry "
                "(the random encoder used when every row is labelled)."
            )
        if self.encoder is None and self.reconstruction_weight > 0:
            raise ValueError(
                "reconstruction_weight > 0 needs an autoencoder as encoder (its decoder "
                "reconstructs the inputs); encoder=None has none."
            )

    def _resolve_auto_settings(self, has_unlabelled_rows: bool) -> None:
        """Set ``consistency_weight_``, ``entropy_weight_``, ``batch_size_`` and
        ``max_epochs_``.

        An explicit setting is kept; ``'auto'`` becomes the setting of
        ``AUTO_SETTINGS`` for data with or without unlabelled rows.
        """
        column = 0 if has_unlabelled_rows else 1
        for name, choices in AUTO_SETTINGS.items():
            value = getattr(self, name)
            setattr(self, f"{name}_", choices[column] if value == "auto" else value)

    def _resolved_encoder(self, has_unlabelled_rows: bool):
        """``encoder``, with ``'auto'`` resolved: an autoencoder to pre-train on every
        row when there are unlabelled rows (they then shape the code), else none."""
        if not (isinstance(self.encoder, str) and self.encoder == "auto"):
            return self.encoder
        if not has_unlabelled_rows:
            return None
        # Imported here: the autoencoders' module does not need the classifier.
        from ._autoencoder import AutoencoderTransformer

        return AutoencoderTransformer(
            latent_dim=AUTO_ENCODER_LATENT_DIM, device=self.device, n_threads=self.n_threads
        )

    def _max_epochs_for(self, n_train: int) -> int:
        # Resolved with the other 'auto' settings, from the labels rather than the rows.
        return int(self.max_epochs_)

    def _batch_size(self):
        return self.batch_size_

    # ------------------------------------------------------------------ fit
    @keeps_state_on_failure
    def fit(self, X, y):
        """Initialise the network from the encoder and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; never modified.
        y : array-like of shape (n_samples,)
            Class labels; ``-1`` marks an unlabelled row (see the class description).

        Returns
        -------
        self : object
            The fitted classifier.

        Notes
        -----
        Ctrl-C (``KeyboardInterrupt``) stops training (the encoder's pre-training
        too) and is raised from ``fit``. Like any error (``TrainingDivergedError``, a
        refused ``X``), it leaves the classifier as it was before the call: unfitted,
        or with its previous model whole. A fitted ``encoder`` is never modified.
        """
        self._validate_hyperparameters()
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        check_float32_range(X)
        self.classes_, y_encoded, labelled = encode_partial_labels(y, type(self).__name__)
        has_unlabelled_rows = not labelled.all()
        self._resolve_auto_settings(has_unlabelled_rows)
        encoder = self._resolved_encoder(has_unlabelled_rows)
        if encoder is None and self.reconstruction_weight > 0:
            raise ValueError(
                "reconstruction_weight > 0 needs an autoencoder as encoder (its decoder "
                "reconstructs the inputs); encoder='auto' uses none when every row is "
                "labelled: pass an autoencoder."
            )
        random_state = check_random_state(self.random_state)
        # The autoencoder learns from every row, labelled or not.
        self.autoencoder_ = self._fitted_autoencoder(encoder, X, y, random_state)
        if self._uses_unlabelled_rows():
            self._labelled_rows = (X[labelled], y_encoded[labelled])
            try:
                self._fit_net(X, y_encoded)
            finally:
                del self._labelled_rows
            # The labelled copy served training only; keep it out of pickles.
            self.net_.labelled_X = self.net_.labelled_y = None
        elif labelled.all():
            self._fit_net(X, y_encoded)
        else:
            self._fit_net(X[labelled], y_encoded[labelled])
        return self

    def _uses_unlabelled_rows(self) -> bool:
        """Whether a term on every row (labelled or not) is in the fine-tuning loss."""
        return bool(self.reconstruction_weight or self.consistency_weight_ or self.entropy_weight_)

    def _fitted_autoencoder(self, encoder, X, y, random_state):
        """The autoencoder to copy the encoder from: fitted here if it was not."""
        if encoder is None:
            return None
        try:
            check_is_fitted(encoder)
        except NotFittedError:
            # Pre-train a clone on the same inputs: the user's object stays unfitted.
            autoencoder = clone(encoder)
            if autoencoder.get_params().get("random_state", 0) is None:
                seed = random_state.randint(np.iinfo(np.int32).max)
                autoencoder.set_params(random_state=seed)
            # y as the user gave it, -1 rows included: autoencoders that cannot use
            # labels ignore it, the others pre-train semi-supervised.
            fitted = autoencoder.fit(X, y)
        else:
            fitted = copy.deepcopy(encoder)
        if not isinstance(getattr(fitted, "encoder_", None), nn.Module):
            raise TypeError(
                f"encoder must be a skae autoencoder with a torch 'encoder_' after fit; "
                f"{type(encoder).__name__} has none."
            )
        n_in = getattr(fitted, "n_features_in_", None)
        if n_in != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the encoder was fitted on {n_in} "
                "features; fit it on data shaped like X (or pass it unfitted)."
            )
        return fitted

    def _make_net(self, n_features, device, valid_set):
        if not self._uses_unlabelled_rows():
            return ClassifierNet(
                module=self._build_module(n_features),
                criterion=nn.CrossEntropyLoss,
                max_norm=self.max_norm,
                **self._skorch_params(device, valid_set),
            )
        X_lab, y_lab = self._labelled_rows
        recon_loss, output = "mse", "linear"
        if self.reconstruction_weight:
            # The loss the autoencoder was trained with: its fitted choice (an 'auto'
            # setting resolved from the data), else its parameter.
            params = self.autoencoder_.get_params()
            recon_loss = getattr(self.autoencoder_, "loss_", params.get("loss", "mse"))
            output = getattr(
                self.autoencoder_, "output_activation_", params.get("output_activation", "linear")
            )
        return SemiSupervisedClassifierNet(
            module=self._build_module(n_features),
            criterion=nn.CrossEntropyLoss,
            max_norm=self.max_norm,
            reconstruction_weight=self.reconstruction_weight,
            consistency_weight=self.consistency_weight_,
            consistency_radius=self.consistency_radius,
            entropy_weight=self.entropy_weight_,
            recon_loss=recon_loss,
            recon_output_activation=output,
            labelled_X=torch.as_tensor(X_lab, dtype=torch.float32, device=device),
            labelled_y=torch.as_tensor(y_lab, device=device),
            **self._skorch_params(device, valid_set),
        )

    def _build_module(self, n_features):
        activation = self.activation
        if self.autoencoder_ is None:
            sizes = check_layer_sizes(self.encoder_hidden_layer_sizes, "encoder_hidden_layer_sizes")
            # Activations between layers; the one after the code is the head's.
            encoder = make_mlp([n_features, *sizes], activation, last_activation=False)
            n_codes = sizes[-1]
        else:
            # skae autoencoders say which module gives their codes (a VAE's encoder
            # also outputs log-variances); other autoencoders give their encoder_.
            code_encoder = getattr(self.autoencoder_, "_code_encoder", None)
            source = code_encoder() if callable(code_encoder) else self.autoencoder_.encoder_
            encoder = copy.deepcopy(source).float().cpu()
            with torch.no_grad():
                n_codes = encoder.eval()(torch.zeros(1, n_features)).shape[1]
            encoder.train()
        code_is_linear = isinstance(list(encoder.modules())[-1], nn.Linear)
        if isinstance(encoder, nn.Sequential):
            encoder = _with_dropout(encoder, self.dropout)
        sizes = check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        # A linear code gets the activation that makes "encoder + head" an ordinary
        # MLP (784-200-10 on MNIST); a code with its own activation keeps it.
        head = [make_activation(activation)] if code_is_linear else []
        head += make_mlp([n_codes, *sizes, len(self.classes_)], activation, last_activation=False)
        return EncoderClassifierModule(
            encoder,
            _with_dropout(head, self.dropout),
            input_dropout=self.input_dropout,
            freeze_encoder=self.freeze_encoder,
            decoder=self._copied_decoder(encoder, n_features),
        )

    def _copied_decoder(self, encoder, n_features):
        """A copy of the autoencoder's decoder, for ``reconstruction_weight > 0``."""
        if self.reconstruction_weight == 0:
            return None
        decoder = getattr(self.autoencoder_, "decoder_", None)
        message = (
            f"reconstruction_weight > 0 needs an autoencoder whose decoder_ maps its "
            f"encoder_'s codes back to inputs; {type(self.autoencoder_).__name__} "
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

    # ------------------------------------------------------------------ use
    @property
    def encoder_(self) -> nn.Module:
        """The network's encoder part (inputs to codes)."""
        return self.net_.module_.encoder

    @property
    def head_(self) -> nn.Module:
        """The network's head (activation, hidden layers, logits)."""
        return self.net_.module_.head

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = self._validate_inference_input(X)
        return self._apply(lambda module, x: module(x), X).astype(np.float64, copy=False)

    def decision_function(self, X):
        """Logits (unnormalised log-probabilities) of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            The logits; for two classes, as in scikit-learn, one column: the logit of
            ``classes_[1]`` minus that of ``classes_[0]``.
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably from the logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        logits = self._logits(X)
        return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        logits = self._logits(X)  # first: it checks that the model is fitted
        return self.classes_[np.argmax(logits, axis=1)]
