"""The shared base of every skae autoencoder.

:class:`SkorchEstimatorMixin` owns what every skae estimator trained through skorch
has in common (the autoencoders and :class:`skae.EncoderClassifier`): the training
options and their ``optimizer__`` routing, device choice, seeding, the train/validation
split, the skorch net's common arguments (whole-tensor batching, early stopping,
callbacks, progress bar), batched inference and persistence.
:class:`BaseAutoencoder` adds data validation, encoding and decoding. A model adds its
torch module (:meth:`BaseAutoencoder._build_module`) and, if its loss has more than a
reconstruction term, its skorch net class (``_net_class``).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.helper import predefined_split

from ._callbacks import DivergenceCheck
from ._losses import RECONSTRUCTION_LOSSES, ReconstructionLoss
from ._nn import ACTIVATIONS, OUTPUT_ACTIVATIONS
from ._optimizers import check_optimizer_kwargs, resolve_optimizer
from ._training import (
    AutoencoderNet,
    TensorBatchIterator,
    TensorDataset,
    picklable_net,
    restore_net,
)

#: prefix under which ``set_params``/``get_params`` expose ``optimizer_kwargs``
OPTIMIZER_PREFIX = "optimizer__"

#: rows per forward pass at inference; large enough to amortise overhead, small
#: enough to bound memory on MNIST-sized inputs
INFERENCE_BATCH_SIZE = 4096


def resolve_device(device: str) -> torch.device:
    """Turn the ``device`` parameter into a :class:`torch.device`.

    ``'auto'`` picks CUDA when available. Asking for CUDA without it raises a
    ``ValueError`` instead of failing deep inside torch.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Invalid device {device!r}: {exc}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available "
            "(torch.cuda.is_available() is False); use device='cpu' or device='auto'."
        )
    return resolved


def check_layer_sizes(sizes, name: str) -> tuple:
    """``sizes`` (an int or a sequence of ints) as a tuple; a ``ValueError`` naming
    ``name`` unless every entry is a positive integer."""
    sizes_tuple = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if any(not isinstance(s, Integral) or s < 1 for s in sizes_tuple):
        raise ValueError(f"{name} must be positive integers, got {sizes!r}.")
    return sizes_tuple


def check_codes(estimator, X, code_size: str = "the code size") -> np.ndarray:
    """Codes ``X`` checked for ``estimator.inverse_transform``.

    Parameters
    ----------
    estimator : fitted estimator
        Its ``_n_features_out`` is the expected number of columns.
    X : array-like of shape (n_samples, n_codes)
        Codes, as returned by ``estimator.transform``.
    code_size : str, default='the code size'
        What the expected number of columns is, for the error message.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_codes)
        ``X`` as a float64 or float32 array.
    """
    check_is_fitted(estimator)
    Z = check_array(X, dtype=(np.float64, np.float32))
    if Z.shape[1] != estimator._n_features_out:
        raise ValueError(
            f"X has {Z.shape[1]} features, but {type(estimator).__name__}.inverse_transform "
            f"is expecting {estimator._n_features_out} features ({code_size})."
        )
    return Z


def history_frame(history) -> pd.DataFrame:
    """Per-epoch rows of a skorch ``History`` as a DataFrame indexed by epoch."""
    rows = [{k: v for k, v in epoch.items() if k != "batches"} for epoch in history]
    frame = pd.DataFrame(rows)
    if "epoch" in frame:
        frame = frame.set_index("epoch")
    return frame


class ReconstructionScoreMixin:
    """``reconstruction_error`` and ``score`` for any model with a ``reconstruct`` method.

    Shared by the autoencoders and by ensembles of them, so that every skae model
    scores the same way (negative mean squared reconstruction error).
    """

    def reconstruction_error(self, X):
        """Per-sample reconstruction error: mean squared error over the features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        errors : ndarray of shape (n_samples,)
            ``mean((X - reconstruct(X)) ** 2, axis=1)`` (per-pixel mean for images).
        """
        X_hat = self.reconstruct(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return np.mean((X - X_hat) ** 2, axis=1)

    def score(self, X, y=None):
        """Negative mean reconstruction error (higher is better).

        Lets ``GridSearchCV`` choose, for example, a latent size without a downstream
        classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return -float(np.mean(self.reconstruction_error(X)))


#: training options shared by every skae estimator trained through skorch
TRAINING_PARAMETER_CONSTRAINTS: dict = {
    "optimizer": [str, type],
    "optimizer_kwargs": [dict, None],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [
        Interval(Integral, 1, None, closed="left"),
        Options(Integral, {-1}),
        StrOptions({"full"}),
    ],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "callbacks": [list, None],
    "verbose": ["verbose"],
    "device": [str],
    "random_state": ["random_state"],
}


def _training_tensor(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """``X`` as a float32 tensor on ``device``, sharing memory with ``X`` when it can.

    Training only reads the data (batches are gathered copies), so a float32,
    C-contiguous, writeable array on the CPU is wrapped rather than copied: a fit on
    60,000 MNIST images then needs 188 MB less. Anything else is converted once.
    """
    if (
        device.type == "cpu"
        and X.dtype == np.float32
        and X.flags.c_contiguous
        and X.flags.writeable
    ):
        return torch.from_numpy(X)
    return torch.tensor(X, dtype=torch.float32, device=device)


class SkorchEstimatorMixin:
    """Training through skorch, shared by every skae estimator.

    The estimator declares the parameters of ``TRAINING_PARAMETER_CONSTRAINTS``
    (``optimizer``, ``lr``, ``batch_size``, ``early_stopping``, ``device``,
    ``random_state``...) and implements ``_make_net(n_features, device, valid_set)``,
    which builds its module and returns its skorch net, passing
    :meth:`_skorch_params` on. :meth:`_fit_net` then trains it, seeded and on the
    chosen device, and sets ``net_``, ``device_``, ``history_`` and ``n_epochs_``.
    The entries of ``optimizer_kwargs`` are also visible to ``get_params``/``set_params``
    as ``optimizer__<name>``, as in skorch, so ``GridSearchCV`` can tune them.
    """

    # ------------------------------------------------------------------ params
    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of contained estimators and each
            entry of ``optimizer_kwargs`` as ``optimizer__<name>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        if deep and isinstance(self.optimizer_kwargs, dict):
            # Expose optimizer keyword arguments the way skorch names them, so that a
            # parameter grid can say ``optimizer__momentum``.
            for key, value in (self.optimizer_kwargs or {}).items():
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

    def _check_optimizer(self):
        """Raise a ``ValueError`` for an unknown optimizer or a keyword it does not take."""
        check_optimizer_kwargs(resolve_optimizer(self.optimizer), self.optimizer_kwargs)

    # ------------------------------------------------------------------ training
    def _fit_net(self, X: np.ndarray, y: np.ndarray | None):
        """Train the net of ``_make_net`` on validated ``X`` (and targets ``y``)."""
        device = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            # Seed inside a forked RNG: results depend on random_state only, and the
            # user's global torch RNG state is left untouched.
            torch.manual_seed(seed)
            dataset = TensorDataset(
                _training_tensor(X, device),
                None if y is None else torch.as_tensor(y, device=device),
            )
            train_set, valid_set = self._train_valid_split(dataset, seed)
            net = self._make_net(X.shape[1], device, valid_set)
            net.fit(train_set, None)
        # predefined_split holds the validation tensors; drop them so that pickles
        # carry the model, not a tenth of the training data.
        net.train_split = None

        self.net_ = net
        self.device_ = device
        self.history_ = history_frame(net.history)
        self.n_epochs_ = len(net.history)
        return self

    def _train_valid_split(self, dataset: TensorDataset, seed: int):
        if not self.early_stopping:
            return dataset, None
        n = len(dataset)
        n_valid = int(np.ceil(self.validation_fraction * n))
        if n_valid < 1 or n - n_valid < 1:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} "
                f"leaves no training or validation sample out of n_samples={n}."
            )
        order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
        order = order.to(dataset.X.device)
        return dataset.subset(order[n_valid:]), dataset.subset(order[:n_valid])

    def _skorch_params(self, device: torch.device, valid_set) -> dict:
        """The skorch net arguments every skae estimator shares.

        Optimizer (and its ``optimizer__`` arguments), learning rate, batch size,
        epochs, whole-tensor batch iterators, the validation split, callbacks (the
        user's, then early stopping and a progress bar when asked for, then the
        divergence check), verbosity and device.
        """
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
        # Last, so that it checks the weights early stopping restored.
        callbacks.append(DivergenceCheck(type(self).__name__))
        optimizer_kwargs = {
            f"{OPTIMIZER_PREFIX}{k}": v for k, v in (self.optimizer_kwargs or {}).items()
        }
        return dict(
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
    def module_(self) -> torch.nn.Module:
        """The trained torch module."""
        return self.net_.module_

    def _apply(self, fn, X: np.ndarray) -> np.ndarray:
        """Run ``fn`` over ``X`` in inference mode, in large batches, on the device."""
        module = self.module_
        module.eval()
        outputs = []
        with torch.inference_mode():
            for start in range(0, max(len(X), 1), INFERENCE_BATCH_SIZE):
                # np.require copies read-only input (e.g. a memmap): torch cannot
                # wrap it without a warning.
                chunk = np.require(X[start : start + INFERENCE_BATCH_SIZE], np.float32, ["C", "W"])
                batch = torch.from_numpy(chunk).to(self.device_)
                outputs.append(fn(batch).cpu())
        return torch.cat(outputs).numpy()

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        state = super().__getstate__()
        if "net_" in state:
            state["net_"] = picklable_net(state["net_"])
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "net_"):
            restore_net(self.net_)
        # skorch maps a net pickled on a CUDA machine to the CPU when CUDA is missing;
        # keep our record of the device in line so inference does not ask for CUDA.
        device = getattr(self, "device_", None)
        if device is not None and device.type == "cuda" and not torch.cuda.is_available():
            self.device_ = torch.device("cpu")
            self.net_.device = "cpu"

    def __sklearn_is_fitted__(self):
        # Explicit, because parameters such as ``lambda_`` end in an underscore too.
        return hasattr(self, "net_")


class BaseAutoencoder(
    ReconstructionScoreMixin,
    SkorchEstimatorMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Base class for skae autoencoders; not meant to be used directly.

    Subclasses declare every parameter in ``__init__`` (scikit-learn convention),
    extend ``_parameter_constraints`` and implement ``_build_module``. The
    entries of ``optimizer_kwargs`` are also visible to ``get_params``/``set_params``
    as ``optimizer__<name>``, as in skorch, so ``GridSearchCV`` can tune them.
    """

    _parameter_constraints: dict = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions(set(OUTPUT_ACTIVATIONS))],
        "loss": [StrOptions(set(RECONSTRUCTION_LOSSES))],
        **TRAINING_PARAMETER_CONSTRAINTS,
    }

    #: skorch net class; models with extra loss terms subclass AutoencoderNet
    _net_class = AutoencoderNet
    #: how the reconstruction loss reduces over features ('mean' or 'sum_per_sample')
    _reconstruction_reduction = "mean"

    def _validate_hyperparameters(self):
        """Check parameters at the start of fit (scikit-learn convention)."""
        self._validate_params()
        self._check_optimizer()
        check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        if self.loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError(
                "loss='bce' needs output_activation='sigmoid' (outputs must lie in [0, 1])."
            )

    def _hidden_sizes(self) -> tuple:
        sizes = self.hidden_layer_sizes
        return (sizes,) if isinstance(sizes, Integral) else tuple(sizes)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; never modified.
        y : None
            Ignored; present for API consistency (models that use labels document it).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_hyperparameters()
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        y = self._validate_targets(X, y)
        self._check_data(X)
        self._fit_net(X, y)
        self._n_features_out = self._n_codes()
        return self

    def _validate_targets(self, X, y):
        """Hook: unsupervised models ignore ``y``."""
        return None

    def _check_data(self, X):
        """Hook: data-dependent checks after validation."""
        if self.loss == "bce" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                "loss='bce' needs inputs in [0, 1]; got values in "
                f"[{X.min():.3g}, {X.max():.3g}]. Scale X (e.g. MinMaxScaler) or use loss='mse'."
            )

    def _n_codes(self) -> int:
        return self.latent_dim

    def _make_net(self, n_features: int, device: torch.device, valid_set):
        return self._net_class(
            module=self._build_module(n_features),
            criterion=ReconstructionLoss,
            criterion__loss=self.loss,
            criterion__output_activation=self.output_activation,
            criterion__reduction=self._reconstruction_reduction,
            **self._skorch_params(device, valid_set),
            **self._net_params(),
        )

    @abstractmethod
    def _build_module(self, n_features: int) -> torch.nn.Module:
        """Return the torch module (with ``encode``/``decode``) for ``n_features``."""

    def _net_params(self) -> dict:
        """Hook: extra keyword arguments for the skorch net (e.g. a KL weight)."""
        return {}

    # ------------------------------------------------------------------ use
    @property
    def encoder_(self) -> torch.nn.Module:
        """The trained torch encoder."""
        return self.net_.module_.encoder

    @property
    def decoder_(self) -> torch.nn.Module:
        """The trained torch decoder."""
        return self.net_.module_.decoder

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_codes)
            The codes, in the floating dtype of ``X``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return self._apply(self.module_.encode, X).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_codes)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
        """
        Z = check_codes(self, X)
        return self._apply(self.module_.decode, Z).astype(Z.dtype, copy=False)

    def reconstruct(self, X):
        """Encode then decode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        module = self.module_
        return self._apply(lambda x: module.decode(module.encode(x)), X).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
