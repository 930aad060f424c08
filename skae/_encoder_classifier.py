"""A classifier whose first layers start from a trained autoencoder's encoder."""

from __future__ import annotations

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._base import (
    SkorchEstimatorMixin,
    check_float32_range,
    check_layer_sizes,
    keeps_state_on_failure,
)
from ._classifier_net import ClassifierNet, SemiSupervisedClassifierNet
from ._classifier_network import build_classifier_network
from ._loss_terms import (
    ClassificationTerm,
    EntropyTerm,
    LabelledRows,
    ReconstructionTerm,
    VirtualAdversarialTerm,
)
from ._nn import ACTIVATIONS
from ._parameters import (
    BATCH_SIZE,
    CALLBACKS,
    DEVICE,
    LR,
    N_THREADS,
    OPTIMIZER,
    OPTIMIZER_KWARGS,
    PATIENCE,
    TOL,
    TRAINING_PARAMETERS,
    VALIDATION_FRACTION,
    VERBOSE,
    constraints_of,
    document_parameters,
)
from ._pseudo_labels import spread_labels
from ._semi_supervised import UNLABELLED, encode_partial_labels
from ._validation import NonBoolInterval, check_estimator_instance

#: what each ``'auto'`` setting resolves to when ``y`` holds unlabelled rows (``-1``),
#: and when every row is labelled; the few-labels guide holds the evidence. With
#: unlabelled rows the epochs depend on the number of rows (``semi_supervised_epochs``).
AUTO_SETTINGS = {
    "consistency_weight": (1.0, 0.0),
    "entropy_weight": (1.0, 0.0),
    "batch_size": (128, 256),
    "max_epochs": (None, 50),
}

#: with unlabelled rows and fewer rows than this, ``encoder='auto'`` pre-trains skae's
#: default autoencoder with ``AUTO_CODE_SIZE`` code units and spreads the labels over
#: its codes to ``AUTO_PSEUDO_LABEL_FRACTION`` of the unlabelled rows; with more rows it
#: pre-trains ``few_labels_autoencoder`` (the few-labels guide holds the evidence)
SPREADING_MAX_ROWS = 40_000
AUTO_CODE_SIZE = 32
AUTO_PSEUDO_LABEL_FRACTION = 0.5

#: with unlabelled rows, pre-training and fine-tuning each take at least this many
#: gradient steps (batches of 128), and at least ``SEMI_SUPERVISED_EPOCHS[0]`` passes
SEMI_SUPERVISED_STEPS = 1600
SEMI_SUPERVISED_EPOCHS = (10, 500)


def few_labels_autoencoder(n_classes: int, n_rows: int, **params):
    """The autoencoder that ``EncoderClassifier(encoder='auto')`` pre-trains when ``y``
    holds unlabelled rows: an :class:`~skae.ITLAutoencoder` whose code is a one-hot
    class part and ``AUTO_ENCODER_STYLE_DIMS`` Gaussian style coordinates, with its
    supervised head and consistency term.

    Parameters
    ----------
    n_classes : int
        Number of classes among the labelled rows.
    n_rows : int
        Number of training rows (labelled or not): it sets the epochs.
    **params
        Settings that replace the defaults (``hidden_layer_sizes``, ``max_epochs``...).

    Returns
    -------
    autoencoder : ITLAutoencoder
        Unfitted.
    """
    # Imported here: the autoencoders' modules do not need the classifier's.
    from ._itl import ITLAutoencoder
    from ._priors import OneHotPrior

    latent_dim = n_classes + AUTO_ENCODER_STYLE_DIMS
    settings = dict(
        latent_dim=latent_dim,
        prior=OneHotPrior(latent_dim, n_classes=n_classes),
        regularizer="csd",
        hidden_layer_sizes=(1024, 256),
        activation="relu",
        output_activation="auto",
        loss="auto",
        batch_size=128,
        max_epochs=semi_supervised_epochs(n_rows),
        supervised_weight=3.0,
        consistency_weight=10.0,
    )
    return ITLAutoencoder(**{**settings, **params})


def auto_pretraining(n_classes: int, n_rows: int, **params):
    """What ``EncoderClassifier(encoder='auto')`` pre-trains when ``y`` holds
    unlabelled rows, and the share of them it labels by label spreading.

    Fewer rows than ``SPREADING_MAX_ROWS``: skae's default
    :class:`~skae.AutoencoderTransformer` with ``AUTO_CODE_SIZE`` code units, and
    ``AUTO_PSEUDO_LABEL_FRACTION``; more: :func:`few_labels_autoencoder`, and no
    label spreading.

    Parameters
    ----------
    n_classes : int
        Number of classes among the labelled rows.
    n_rows : int
        Number of training rows (labelled or not).
    **params
        Settings of the autoencoder that replace the defaults.

    Returns
    -------
    autoencoder : AutoencoderTransformer or ITLAutoencoder
        Unfitted.
    pseudo_label_fraction : float
    """
    if n_rows >= SPREADING_MAX_ROWS:
        return few_labels_autoencoder(n_classes, n_rows, **params), 0.0
    # Imported here: the autoencoders' modules do not need the classifier's.
    from ._autoencoder import AutoencoderTransformer

    autoencoder = AutoencoderTransformer(**{"latent_dim": AUTO_CODE_SIZE, **params})
    return autoencoder, auto_pseudo_label_fraction(n_rows)


def auto_pseudo_label_fraction(n_rows: int) -> float:
    """The share of unlabelled rows ``encoder='auto'`` labels by label spreading."""
    return AUTO_PSEUDO_LABEL_FRACTION if n_rows < SPREADING_MAX_ROWS else 0.0


def semi_supervised_epochs(n_rows: int, batch_size: int = 128) -> int:
    """Passes over ``n_rows`` rows for the ``'auto'`` pre-training and fine-tuning.

    A number of gradient steps rather than of epochs, so that a small data set gets
    enough updates, and at least 10 passes, so that a large one sees every row often
    enough.
    """
    steps_per_epoch = math.ceil(n_rows / batch_size)
    low, high = SEMI_SUPERVISED_EPOCHS
    return int(min(high, max(low, math.ceil(SEMI_SUPERVISED_STEPS / steps_per_epoch))))


#: style coordinates beside the one-hot class part of the code that
#: ``encoder='auto'`` pre-trains (the adversarial autoencoder's semi-supervised layout)
AUTO_ENCODER_STYLE_DIMS = 6


@document_parameters(
    OPTIMIZER,
    OPTIMIZER_KWARGS,
    LR,
    VALIDATION_FRACTION,
    PATIENCE,
    TOL,
    CALLBACKS,
    VERBOSE,
    DEVICE,
    N_THREADS,
)
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
    ``fit(X, y)`` then uses every row. It pre-trains an autoencoder on all of ``X``:
    with fewer than 40,000 rows skae's default :class:`AutoencoderTransformer`, whose
    codes then carry the labels to up to half of the unlabelled rows by label spreading;
    with more, an :class:`ITLAutoencoder` trained on the labels too (a code of one-hot
    classes and style coordinates). It then fine-tunes the network with virtual
    adversarial training's consistency term and entropy minimisation on every row,
    each step also classifying a batch drawn from the labelled (and pseudo-labelled)
    rows. Every ``'auto'`` setting resolves at fit time (``encoder``,
    ``consistency_weight``, ``entropy_weight``, ``pseudo_label_fraction``,
    ``batch_size``, ``max_epochs``) and the resolved values are kept as fitted
    attributes; with every row labelled they
    resolve to a plain supervised network from random weights. ``-1`` is never a
    class: ``classes_`` and :meth:`predict` hold only the labels seen; ``y`` with no
    labelled row raises a ``ValueError``.

    Parameters
    ----------
    encoder : skae autoencoder, 'auto' or None, default='auto'
        ``'auto'``: with unlabelled rows in ``y`` and fewer than 40,000 rows, an
        unfitted :class:`AutoencoderTransformer` with 32 code units and its other
        defaults (it ignores the labels; ``pseudo_label_fraction='auto'`` then
        spreads them over its codes); with 40,000 rows or more, an unfitted
        :class:`ITLAutoencoder` (hidden layers of 1024 and 256 ReLU units; a code of
        ``n_classes`` one-hot and 6 Gaussian style coordinates; its supervised head
        at weight 3 with its consistency term at 10; batches of 128, the epochs of
        ``max_epochs='auto'``), pre-trained on every row and the labels. With every
        row labelled, ``None``.
        Otherwise a fitted autoencoder (anything with ``encoder_``, a torch module mapping inputs
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
    pseudo_label_fraction : float in [0, 1] or 'auto', default='auto'
        The most of the unlabelled rows that receive a label before fine-tuning. Label
        spreading (:class:`sklearn.semi_supervised.LabelSpreading` on a graph of each
        row's 10 nearest neighbours) carries the labels over the pre-trained
        autoencoder's codes; in each spread class the rows it is surest of (ties in
        an order drawn from ``random_state``) are then classified as if labelled, and
        the others stay unlabelled for the terms on every row. Rows no label reaches
        stay unlabelled, so fewer may be chosen. Only the labels of the training
        split spread: with ``early_stopping`` the validation rows neither give nor
        receive one. Needs an autoencoder as ``encoder``. ``'auto'``: 0.5 with
        unlabelled rows in ``y``, ``encoder='auto'`` and fewer than 40,000 rows, else
        0 (off).
    %(optimizer)s
    %(optimizer_kwargs)s
    %(lr)s
    batch_size : int, -1, 'full' or 'auto', default='auto'
        Samples per gradient step; ``-1`` or ``'full'`` uses the whole training set.
        ``'auto'``: 128 with unlabelled rows in ``y``, else 256.
    max_epochs : int or 'auto', default='auto'
        Number of passes over the training data (over every row when a term on
        every row is active). ``'auto'``: with unlabelled rows in ``y``, enough
        passes for 1,600 steps of 128 rows, from 10 (20,000 rows or more) to 500;
        else 50.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (a seeded random subset) and stop
        when the validation cross-entropy has not improved by ``tol`` for
        ``patience`` epochs; the weights of the best epoch are restored.
    %(validation_fraction)s
    %(patience)s
    %(tol)s
    %(callbacks)s
    %(verbose)s
    %(device)s
    random_state : int, RandomState instance or None, default=None
        Seeds the head's (and the random encoder's) initialisation, dropout,
        shuffling, the validation split, and the pre-training of an unfitted
        ``encoder`` whose own ``random_state`` is ``None``.
    %(n_threads)s

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
    pseudo_label_fraction_ : float
        The share of unlabelled rows given a spread label (``'auto'`` resolved).
    n_pseudo_labelled_ : int
        Number of unlabelled rows the fine-tuning classified with a spread label.
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
        "pseudo_label_fraction": [
            NonBoolInterval(Real, 0, 1, closed="both"),
            StrOptions({"auto"}),
        ],
        **constraints_of(TRAINING_PARAMETERS),
        "batch_size": [*BATCH_SIZE.constraints, StrOptions({"auto"})],
        **constraints_of([N_THREADS]),
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
        pseudo_label_fraction="auto",
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
        self.pseudo_label_fraction = pseudo_label_fraction
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

    def _resolve_auto_settings(self, has_unlabelled_rows: bool, n_rows: int) -> None:
        """Set ``consistency_weight_``, ``entropy_weight_``, ``batch_size_``,
        ``max_epochs_`` and ``pseudo_label_fraction_``.

        An explicit setting is kept; ``'auto'`` becomes the setting of
        ``AUTO_SETTINGS`` for data with or without unlabelled rows.
        """
        column = 0 if has_unlabelled_rows else 1
        for name, choices in AUTO_SETTINGS.items():
            value = getattr(self, name)
            setattr(self, f"{name}_", choices[column] if value == "auto" else value)
        if self.max_epochs_ is None:
            self.max_epochs_ = semi_supervised_epochs(n_rows)
        # Pseudo-labels were measured with the autoencoders that encoder='auto'
        # pre-trains; a user's own encoder keeps the fine-tuning it was given.
        if self.pseudo_label_fraction != "auto":
            self.pseudo_label_fraction_ = float(self.pseudo_label_fraction)
        elif has_unlabelled_rows and self._encoder_is_auto():
            self.pseudo_label_fraction_ = auto_pseudo_label_fraction(n_rows)
        else:
            self.pseudo_label_fraction_ = 0.0

    def _encoder_is_auto(self) -> bool:
        return isinstance(self.encoder, str) and self.encoder == "auto"

    def _resolved_encoder(self, has_unlabelled_rows: bool, n_rows: int):
        """``encoder``, with ``'auto'`` resolved.

        With unlabelled rows, one of two pre-trainings, by the number of rows:

        - fewer than ``SPREADING_MAX_ROWS``: skae's default
          :class:`AutoencoderTransformer` with ``AUTO_CODE_SIZE`` code units, which
          ignores the labels; the labels then spread over its codes
          (``pseudo_label_fraction='auto'``). A class written in several styles forms
          several clusters, and label spreading follows each along its neighbours;
        - from ``SPREADING_MAX_ROWS`` on: an :class:`ITLAutoencoder` pre-trained on
          every row and the labels, whose code is a one-hot class part and a few
          Gaussian style coordinates, with its supervised head and consistency term.
          The labels shape that code before fine-tuning, so that the unlabelled rows'
          clusters start out assigned to the right classes. With that many rows it
          overtakes label spreading; with fewer it falls behind, most on data whose
          classes form several clusters each.

        ``benchmarks/bench_few_labels_default.py`` compares the two on both sides of
        the threshold (the few-labels guide shows where they cross). With every row
        labelled: none (a randomly initialised network).
        """
        if not self._encoder_is_auto():
            return self.encoder
        if not has_unlabelled_rows:
            return None
        autoencoder, _ = auto_pretraining(
            len(self.classes_), n_rows, device=self.device, n_threads=self.n_threads
        )
        return autoencoder

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
        self._resolve_auto_settings(has_unlabelled_rows, len(X))
        encoder = self._resolved_encoder(has_unlabelled_rows, len(X))
        if encoder is None and self.reconstruction_weight > 0:
            raise ValueError(
                "reconstruction_weight > 0 needs an autoencoder as encoder (its decoder "
                "reconstructs the inputs); encoder='auto' uses none when every row is "
                "labelled: pass an autoencoder."
            )
        if encoder is None and self.pseudo_label_fraction_ > 0 and has_unlabelled_rows:
            raise ValueError(
                f"pseudo_label_fraction={self.pseudo_label_fraction_} needs an autoencoder as "
                "encoder (labels spread over its codes); the classifier has none: pass an "
                "autoencoder or set pseudo_label_fraction=0."
            )
        random_state = check_random_state(self.random_state)
        # The autoencoder learns from every row, labelled or not.
        self.autoencoder_ = self._fitted_autoencoder(encoder, X, y, random_state)
        self.n_pseudo_labelled_ = 0
        if self.pseudo_label_fraction_ > 0 and has_unlabelled_rows:
            # Every row goes to the net, whose steps classify batches drawn from the
            # (pseudo-)labelled rows of its training split.
            seed = self._net_seed()
            self._fit_net(X, self._with_pseudo_labels(X, y_encoded, seed), seed=seed)
        elif self._uses_unlabelled_rows() or labelled.all():
            self._fit_net(X, y_encoded)
        else:
            self._fit_net(X[labelled], y_encoded[labelled])
        return self

    def _with_pseudo_labels(self, X, y_encoded, seed: int) -> np.ndarray:
        """``y_encoded`` with spread labels on some of its unlabelled training rows.

        Only the labels of the training split spread, and the validation split of
        early stopping keeps the labels it was given, so that no validation label
        reaches the training rows.
        """
        valid = self._validation_rows(len(X), seed)
        spread_from = y_encoded.copy()
        spread_from[valid] = UNLABELLED
        with warnings.catch_warnings():
            # X was validated when fit began; an autoencoder fitted on a DataFrame
            # would otherwise warn that the array has no column names.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            codes = self.autoencoder_.transform(X)
        pseudo = spread_labels(codes, spread_from, self.pseudo_label_fraction_, seed)
        pseudo[valid] = y_encoded[valid]
        self.n_pseudo_labelled_ = int(np.sum(pseudo != y_encoded))
        return pseudo

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

    def _make_net(self, n_features, device, data):
        module = self._build_module(n_features)
        skorch_params = self._skorch_params(device, data.valid)
        if not self._uses_unlabelled_rows():
            return ClassifierNet(
                module=module,
                criterion=nn.CrossEntropyLoss,
                max_norm=self.max_norm,
                **skorch_params,
            )
        return SemiSupervisedClassifierNet(
            module=module,
            criterion=nn.CrossEntropyLoss,
            max_norm=self.max_norm,
            terms=self._loss_terms(),
            labelled_rows=LabelledRows.for_training(data, type(self).__name__),
            **skorch_params,
        )

    def _loss_terms(self) -> list:
        """The fine-tuning loss with terms on every row: the classification of a
        labelled batch, then each active term on the batch's rows."""
        terms = [ClassificationTerm()]
        if self.reconstruction_weight:
            # The loss the autoencoder was trained with: its fitted choice (an 'auto'
            # setting resolved from the data), else its parameter.
            params = self.autoencoder_.get_params()
            terms.append(
                ReconstructionTerm(
                    self.reconstruction_weight,
                    loss=getattr(self.autoencoder_, "loss_", params.get("loss", "mse")),
                    output_activation=getattr(
                        self.autoencoder_,
                        "output_activation_",
                        params.get("output_activation", "linear"),
                    ),
                )
            )
        if self.consistency_weight_:
            terms.append(VirtualAdversarialTerm(self.consistency_weight_, self.consistency_radius))
        if self.entropy_weight_:
            terms.append(EntropyTerm(self.entropy_weight_))
        return terms

    def _build_module(self, n_features):
        return build_classifier_network(
            self.autoencoder_,
            n_features,
            len(self.classes_),
            encoder_hidden_layer_sizes=self.encoder_hidden_layer_sizes,
            hidden_layer_sizes=self.hidden_layer_sizes,
            activation=self.activation,
            dropout=self.dropout,
            input_dropout=self.input_dropout,
            freeze_encoder=self.freeze_encoder,
            with_decoder=bool(self.reconstruction_weight),
        )

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
