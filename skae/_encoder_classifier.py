"""A classifier whose first layers start from a trained autoencoder's encoder."""

from __future__ import annotations

import copy
from numbers import Integral

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, PassthroughScoring, ProgressBar
from skorch.helper import predefined_split
from torch import nn

from ._base import (
    OPTIMIZER_PREFIX,
    BaseAutoencoder,
    history_frame,
    resolve_device,
)
from ._nn import make_activation, make_mlp
from ._optimizers import check_optimizer_kwargs, resolve_optimizer
from ._training import TensorBatchIterator, TensorDataset


class EncoderClassifierModule(nn.Module):
    """``encoder`` (inputs to codes), then ``head`` (activation, hidden layers, logits).

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps inputs to codes.
    n_codes : int
        Output size of ``encoder``.
    hidden_layer_sizes : sequence of int
        Hidden sizes of the head.
    n_classes : int
        Number of logits.
    activation : str
        Applied to the code and after every hidden layer of the head.
    """

    def __init__(self, encoder, n_codes, hidden_layer_sizes, n_classes, activation):
        super().__init__()
        self.encoder = encoder
        # The code layer of a skae encoder is linear; the activation in front of the
        # head makes "encoder + head" an ordinary MLP (784-200-10 for the studies).
        self.head = nn.Sequential(
            make_activation(activation),
            make_mlp([n_codes, *hidden_layer_sizes, n_classes], activation, last_activation=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


class ClassifierNet(NeuralNet):
    """skorch net on logits: cross-entropy loss, accuracy per epoch, frozen parameters kept out.

    Records ``train_acc``/``valid_acc`` per epoch from the batches already computed
    (no extra pass over the data), and hands the optimizer only the parameters that
    require a gradient, so that frozen ones are never touched (weight decay included).
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        correct = (y_pred.argmax(dim=1) == y_true).float().mean()
        self.history.record_batch(f"{'train' if training else 'valid'}_acc", correct.item())
        return loss

    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
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


def _sizes(value) -> tuple:
    return (value,) if isinstance(value, Integral) else tuple(value)


class EncoderClassifier(ClassifierMixin, BaseEstimator):
    """Neural-network classifier whose hidden layers start from an autoencoder's encoder.

    The network is ``encoder -> activation -> head -> softmax``. The encoder is the
    whole encoder of a fitted skae autoencoder, up to and including its code layer
    (copied; the autoencoder is never modified), so an autoencoder with
    ``latent_dim=200, hidden_layer_sizes=()`` gives the 784-200-10 network of the
    transfer studies. With ``freeze_encoder=True`` only the head is trained (Case I);
    with ``False`` everything is fine-tuned (Case II). With ``encoder=None`` the
    encoder is a randomly initialised dense stack of ``encoder_hidden_layer_sizes``
    (the baseline). Trained by cross-entropy on logits through skorch, with the same
    training options as the skae autoencoders.

    Parameters
    ----------
    encoder : skae autoencoder or None, default=None
        A fitted autoencoder (anything with ``encoder_``, a torch module mapping inputs
        to codes, and ``n_features_in_``) whose encoder initialises the network, or an
        unfitted one: a clone of it is then fitted on ``X`` (without labels) inside
        :meth:`fit`. ``None`` starts from random weights.
    freeze_encoder : bool, default=False
        Keep the encoder's weights fixed (bit-identical) and train only the head.
    encoder_hidden_layer_sizes : int or tuple of int, default=(200,)
        Layer sizes of the random encoder when ``encoder=None``; its last size is the
        code size. Ignored otherwise.
    hidden_layer_sizes : int or tuple of int, default=()
        Hidden layers of the head, between the code and the softmax layer.
    activation : {'linear', 'sigmoid', 'relu', 'elu', 'tanh', 'leaky_relu'}, \
            default='relu'
        Activation after the code, after the head's hidden layers and, for
        ``encoder=None``, after every encoder layer.
    optimizer : str or torch.optim.Optimizer subclass, default='adam'
        One of 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'lbfgs', 'rprop',
        'torch_rprop', or an optimizer class.
    optimizer_kwargs : dict, default=None
        Keyword arguments for the optimizer besides ``lr`` (also settable as
        ``optimizer__<key>``, e.g. ``set_params(optimizer__momentum=0.9)``).
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, -1 or 'full', default=256
        Samples per gradient step; ``-1`` or ``'full'`` uses the whole training set.
    max_epochs : int, default=50
        Number of passes over the training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when the validation
        cross-entropy has not improved by ``tol`` for ``patience`` epochs; the best
        weights are kept.
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
        'cpu', 'cuda', 'cuda:N' or 'auto'.
    random_state : int, RandomState instance or None, default=None
        Seeds the head's (and the random encoder's) initialisation, shuffling and the
        validation split. It does not seed an unfitted ``encoder``, which keeps its own.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    autoencoder_ : estimator or None
        The fitted autoencoder whose encoder was used (a copy of ``encoder`` or the
        clone fitted in :meth:`fit`); ``None`` for ``encoder=None``.
    net_ : skorch.NeuralNet
        The trained skorch net.
    module_ : torch.nn.Module
        The trained network; ``encoder_`` and ``head_`` are its parts.
    history_ : pandas.DataFrame
        Per-epoch record (``train_loss``, ``train_acc``, and ``valid_loss``,
        ``valid_acc`` with early stopping), indexed by epoch.
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

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer, EncoderClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> ae = AutoencoderTransformer(latent_dim=32, hidden_layer_sizes=(), max_epochs=20,
    ...                             random_state=0).fit(X)
    >>> clf = EncoderClassifier(encoder=ae, freeze_encoder=True, lr=1e-2, max_epochs=10,
    ...                         random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 10)
    >>> clf.score(X, y) > 0.6
    True
    """

    _parameter_constraints: dict = {
        "encoder": [HasMethods(["fit"]), None],
        "freeze_encoder": ["boolean"],
        "encoder_hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        **{
            key: BaseAutoencoder._parameter_constraints[key]
            for key in (
                "hidden_layer_sizes",
                "activation",
                "optimizer",
                "optimizer_kwargs",
                "lr",
                "batch_size",
                "max_epochs",
                "early_stopping",
                "validation_fraction",
                "patience",
                "tol",
                "callbacks",
                "verbose",
                "device",
                "random_state",
            )
        },
    }

    def __init__(
        self,
        encoder=None,
        freeze_encoder=False,
        encoder_hidden_layer_sizes=(200,),
        hidden_layer_sizes=(),
        activation="relu",
        optimizer="adam",
        optimizer_kwargs=None,
        lr=1e-3,
        batch_size=256,
        max_epochs=50,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        callbacks=None,
        verbose=0,
        device="cpu",
        random_state=None,
    ):
        self.encoder = encoder
        self.freeze_encoder = freeze_encoder
        self.encoder_hidden_layer_sizes = encoder_hidden_layer_sizes
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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

    # ------------------------------------------------------------------ params
    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        if deep and isinstance(self.optimizer_kwargs, dict):
            # Same convention as the autoencoders: ``optimizer__momentum`` in a grid.
            for key, value in self.optimizer_kwargs.items():
                params[f"{OPTIMIZER_PREFIX}{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters; ``optimizer__<name>=value`` updates ``optimizer_kwargs``.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        routed = {
            key.removeprefix(OPTIMIZER_PREFIX): params.pop(key)
            for key in list(params)
            if key.startswith(OPTIMIZER_PREFIX)
        }
        if routed:
            self.optimizer_kwargs = {**(self.optimizer_kwargs or {}), **routed}
        return super().set_params(**params) if params else self

    def _validate_hyperparameters(self):
        self._validate_params()
        check_optimizer_kwargs(resolve_optimizer(self.optimizer), self.optimizer_kwargs)
        for name in ("encoder_hidden_layer_sizes", "hidden_layer_sizes"):
            sizes = _sizes(getattr(self, name))
            if any(not isinstance(s, Integral) or s < 1 for s in sizes):
                raise ValueError(f"{name} must be positive integers, got {sizes!r}.")
        if self.encoder is None and not _sizes(self.encoder_hidden_layer_sizes):
            raise ValueError("encoder=None needs at least one encoder_hidden_layer_sizes entry.")

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Initialise the network from the encoder and train it on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; never modified.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._validate_hyperparameters()
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        device = resolve_device(self.device)
        autoencoder = self._fitted_autoencoder(X)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            # As in the autoencoders: results depend on random_state only and the
            # global torch RNG is left as it was.
            torch.manual_seed(seed)
            module = self._build_module(X.shape[1], autoencoder)
            dataset = TensorDataset(
                torch.tensor(X, dtype=torch.float32, device=device),
                torch.as_tensor(y_encoded, dtype=torch.long, device=device),
            )
            # The autoencoders' split (seeded permutation); same parameters, same rule.
            train_set, valid_set = BaseAutoencoder._train_valid_split(self, dataset, seed)
            net = self._make_net(module, device, valid_set)
            net.fit(train_set, None)
        net.train_split = None  # drop the validation tensors from pickles

        self.autoencoder_ = autoencoder
        self.net_ = net
        self.device_ = device
        self.history_ = history_frame(net.history)
        self.n_epochs_ = len(net.history)
        return self

    def _fitted_autoencoder(self, X):
        """The autoencoder to copy the encoder from: fitted here if it was not."""
        if self.encoder is None:
            return None
        try:
            check_is_fitted(self.encoder)
        except NotFittedError:
            # Pre-train a clone on the same inputs: the user's object stays unfitted.
            fitted = clone(self.encoder).fit(X)
        else:
            fitted = copy.deepcopy(self.encoder)
        if not isinstance(getattr(fitted, "encoder_", None), nn.Module):
            raise TypeError(
                f"encoder must be a skae autoencoder with a torch 'encoder_' after fit; "
                f"{type(self.encoder).__name__} has none."
            )
        n_in = getattr(fitted, "n_features_in_", None)
        if n_in != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the encoder was fitted on {n_in} "
                "features; fit it on data shaped like X (or pass it unfitted)."
            )
        return fitted

    def _build_module(self, n_features, autoencoder):
        activation = self.activation
        if autoencoder is None:
            sizes = _sizes(self.encoder_hidden_layer_sizes)
            # Activations between layers; the one after the code is the head's.
            encoder = make_mlp([n_features, *sizes], activation, last_activation=False)
            n_codes = sizes[-1]
        else:
            encoder = copy.deepcopy(autoencoder.encoder_).float().cpu()
            with torch.no_grad():
                n_codes = encoder(torch.zeros(1, n_features)).shape[1]
        if self.freeze_encoder:
            encoder.requires_grad_(False)
        return EncoderClassifierModule(
            encoder, n_codes, _sizes(self.hidden_layer_sizes), len(self.classes_), activation
        )

    def _make_net(self, module, device, valid_set):
        callbacks = list(self.callbacks or [])
        if self.early_stopping:
            callbacks.append(
                EarlyStopping(
                    monitor="valid_loss",
                    patience=self.patience,
                    threshold=self.tol,
                    threshold_mode="abs",
                    load_best=True,
                )
            )
        if self.verbose and self.verbose >= 2:
            callbacks.append(ProgressBar())
        optimizer_kwargs = {
            f"{OPTIMIZER_PREFIX}{k}": v for k, v in (self.optimizer_kwargs or {}).items()
        }
        return ClassifierNet(
            module=module,
            criterion=nn.CrossEntropyLoss,
            optimizer=resolve_optimizer(self.optimizer),
            lr=self.lr,
            batch_size=-1 if self.batch_size == "full" else self.batch_size,
            max_epochs=self.max_epochs,
            iterator_train=TensorBatchIterator,
            iterator_train__shuffle=True,
            iterator_valid=TensorBatchIterator,
            train_split=None if valid_set is None else predefined_split(valid_set),
            callbacks=callbacks,
            verbose=int(self.verbose),
            device=device,
            **optimizer_kwargs,
        )

    # ------------------------------------------------------------------ use
    @property
    def module_(self) -> nn.Module:
        """The trained network (``encoder_`` then ``head_``)."""
        return self.net_.module_

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
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        # The autoencoders' batched inference (eval mode, no autograd, on device_).
        return BaseAutoencoder._apply(self, self.module_, X).astype(np.float64)

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
        logits = self._logits(X)  # first: checks that the model is fitted
        return self.classes_[np.argmax(logits, axis=1)]

    # ------------------------------------------------------------------ persistence
    def __setstate__(self, state):
        super().__setstate__(state)
        # A net pickled on CUDA loads on the CPU where CUDA is missing (skorch does
        # the mapping); follow it so inference does not ask for CUDA.
        device = getattr(self, "device_", None)
        if device is not None and device.type == "cuda" and not torch.cuda.is_available():
            self.device_ = torch.device("cpu")
            self.net_.device = "cpu"

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")
