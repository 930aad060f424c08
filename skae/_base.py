"""The shared base of every skae autoencoder.

:class:`SkorchEstimatorMixin` owns what every skae estimator trained through skorch
has in common (the autoencoders and :class:`skae.EncoderClassifier`): the training
options and their ``optimizer__`` routing, device choice, seeding, the train/validation
split, the skorch net's common arguments (whole-tensor batching, early stopping,
callbacks, progress bar), batched inference and persistence.
:class:`BaseAutoencoder` adds data validation, encoding and decoding, and the
parameters every autoencoder shares (``AUTOENCODER_PARAMETERS``, given by
:func:`~skae._parameters.shares_parameters`). A model adds its own parameters, its
torch module (:meth:`BaseAutoencoder._build_module`), its own loss terms besides the
reconstruction and the regularisers (:meth:`BaseAutoencoder._model_terms`) and, if
its training step does more, its skorch net class (``_net_class``).
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.helper import predefined_split

from ._autoencoder_net import AutoencoderNet
from ._callbacks import ContinuedLRScheduler, CosineToFloorLR, DivergenceCheck
from ._loss_terms import LabelledRows, ReconstructionTerm, resolve_label_weights
from ._losses import RECONSTRUCTION_LOSSES, ReconstructionLoss
from ._nn import ACTIVATIONS, OUTPUT_ACTIVATIONS
from ._optimizers import check_optimizer_kwargs, fused_kwargs, resolve_optimizer
from ._parameters import constraints_of
from ._persistence import VersionStampMixin, without_training_state
from ._regularizers import AUTOENCODER_PARAMETERS, check_regularizers, regularizer_terms
from ._semi_supervised import encode_partial_labels, has_partial_class_labels, labelled_mask
from ._training import (
    NetCheckpoint,
    TensorBatchIterator,
    TensorDataset,
    TrainingData,
    picklable_net,
    restore_net,
)
from ._validation import NonBoolInterval, check_callbacks
from .exceptions import OutputRangeWarning

#: prefix under which ``set_params``/``get_params`` expose ``optimizer_kwargs``
OPTIMIZER_PREFIX = "optimizer__"

#: ``max_epochs='auto'``: about this many gradient steps, within the epoch bounds below
AUTO_EPOCHS_STEPS = 3750
AUTO_EPOCHS_BOUNDS = (8, 500)

#: name of the ``lr_schedule`` callback in the net, to tell it from the user's callbacks
LR_SCHEDULE_CALLBACK = "lr_schedule"

#: where ``lr_schedule='cosine'`` ends in ``partial_fit``, as a fraction of ``lr``: a
#: stream of blocks keeps coming, so every call must still learn from its block, but
#: slowly enough not to undo what the earlier calls annealed into the weights
PARTIAL_FIT_LR_FLOOR = 0.1

#: rows per forward pass at inference: large enough that the per-batch overhead does
#: not show, small enough that the activations stay in the CPU's caches (larger
#: batches are slower); ``benchmarks/bench_fit_speed.py --inference-only`` compares
#: transform with plain torch loops (benchmarks/README.md, "Training and inference
#: speed")
INFERENCE_BATCH_SIZE = 512


def resolve_device(device: str) -> torch.device:
    """Turn the ``device`` parameter into a :class:`torch.device`.

    ``'auto'`` picks CUDA when available. Anything a model cannot be trained on here
    (an unknown name, CUDA without a GPU or with too few, the data-less ``'meta'``
    device, a backend this torch lacks) raises a ``ValueError`` naming ``device``
    instead of failing deep inside torch.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    accepted = "use 'auto', 'cpu', 'cuda' or 'cuda:<index>'"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device={device!r} is not a torch device; {accepted}.") from exc
    if resolved.type == "meta":
        raise ValueError(
            f"device={device!r} holds tensor shapes but no values, so it cannot train a "
            f"model; {accepted}."
        )
    if resolved.type == "cuda":
        _check_cuda(device, resolved)
    elif resolved.type != "cpu":
        # Other backends (mps, xpu...): usable when this torch can place a tensor there.
        try:
            torch.empty(1, device=resolved)
        except Exception as exc:  # torch raises RuntimeError or AssertionError here
            # torch's own explanation stays attached as the cause
            raise ValueError(
                f"device={device!r} is not usable here: this torch cannot place a tensor "
                f"on a {resolved.type!r} device; {accepted}."
            ) from exc
    return resolved


def _check_cuda(device: str, resolved: torch.device) -> None:
    """A ``ValueError`` naming ``device`` unless CUDA has the device it asks for."""
    if not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available "
            "(torch.cuda.is_available() is False); use device='cpu' or device='auto'."
        )
    count = torch.cuda.device_count()
    if resolved.index is not None and resolved.index >= count:
        raise ValueError(
            f"device={device!r} asks for GPU {resolved.index}, but CUDA sees {count} "
            f"GPU(s), numbered 0 to {count - 1}."
        )


@contextmanager
def torch_threads(n_threads: int | None):
    """Run the block with ``n_threads`` torch threads, then restore the previous number.

    ``None`` leaves torch's setting alone. torch's intra-op pool otherwise uses every
    core, and on a machine where another process keeps a core busy its threads wait
    on each other: a small network can run many times slower than with one thread.
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def keeps_state_on_failure(method=None, *, trains_in_place=False):
    """Decorate ``fit``/``partial_fit`` so that a failed call leaves the estimator as it was.

    Whatever ends the call early (a refused input, ``TrainingDivergedError``, Ctrl-C),
    the estimator's attributes are put back as they were on entry: an unfitted
    estimator stays unfitted, a fitted one keeps its previous model whole (never
    ``n_features_in_`` of the new data beside the old network). The attributes are
    kept by reference, not copied: ``fit`` assigns new objects to them and leaves the
    old ones alone.
    ``trains_in_place=True`` is for ``partial_fit``, which trains the fitted net
    itself: its weights, optimizer state, history and callbacks are checkpointed
    too (see :class:`~skae._training.NetCheckpoint`).
    """
    if method is None:
        return functools.partial(keeps_state_on_failure, trains_in_place=trains_in_place)

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        attributes = dict(self.__dict__)
        net = attributes.get("net_") if trains_in_place else None
        checkpoint = None if net is None else NetCheckpoint(net)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            if checkpoint is not None:
                checkpoint.restore()
            self.__dict__.clear()
            self.__dict__.update(attributes)
            raise

    return guarded


def check_layer_sizes(sizes, name: str) -> tuple:
    """``sizes`` (an int or a sequence of ints) as a tuple; a ``ValueError`` naming
    ``name`` unless every entry is a positive integer (booleans are not sizes)."""
    sizes_tuple = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if any(not _is_positive_int(s) for s in sizes_tuple):
        raise ValueError(f"{name} must be positive integers, got {sizes!r}.")
    return sizes_tuple


#: the largest magnitude a float32 network can take as input
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(values, name: str = "X") -> None:
    """Raise a ``ValueError`` naming the problem if ``values`` hold a value that a
    float32 network cannot take: NaN, infinity, or a magnitude beyond float32's range.

    ``values`` is a numpy array or a torch tensor (a batch at inference). The common
    case costs one pass (the minimum and maximum); the message is built only on failure.
    """
    with warnings.catch_warnings():
        # A read-only array (e.g. a DataFrame's values) is only read here.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensor = torch.as_tensor(values)
    if tensor.numel() == 0:
        return
    low, high = (float(v) for v in torch.aminmax(tensor))
    if low >= -FLOAT32_MAX and high <= FLOAT32_MAX:
        return
    if torch.isnan(tensor).any():
        problem = "NaN"
    elif torch.isinf(tensor).any():
        problem = "infinity"
    else:
        problem = (
            f"values beyond float32's range (largest magnitude {max(-low, high):.3g}, "
            f"limit {FLOAT32_MAX:.3g}), which skae's float32 networks cannot represent"
        )
    raise ValueError(f"Input {name} contains {problem}.")


def _is_positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


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


def _training_tensor(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """``X`` as a float32 tensor on ``device``, sharing memory with ``X`` when it can.

    Training only reads the data (batches are gathered copies), so a float32,
    C-contiguous, writeable array on the CPU is wrapped rather than copied: a fit
    then holds one copy of the data, not two. Anything else is converted once.
    """
    if (
        device.type == "cpu"
        and X.dtype == np.float32
        and X.flags.c_contiguous
        and X.flags.writeable
    ):
        return torch.from_numpy(X)
    return torch.tensor(X, dtype=torch.float32, device=device)


class SkorchEstimatorMixin(VersionStampMixin):
    """Training through skorch, shared by every skae estimator.

    The estimator declares the parameters of ``TRAINING_PARAMETERS``
    (``optimizer``, ``lr``, ``batch_size``, ``early_stopping``, ``device``,
    ``random_state``...) and implements ``_make_net(n_features, device, data)``,
    which builds its module and returns its skorch net for the
    :class:`~skae._training.TrainingData` ``data``, passing :meth:`_skorch_params`
    on. :meth:`_fit_net` then trains it, seeded and on the chosen device, and sets
    ``net_``, ``device_``, ``history_`` and ``n_epochs_``.
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

    def _check_training_options(self):
        """Check what the training options only reveal together or on the machine.

        ``_parameter_constraints`` checks each option's type and range; here every
        callback must be one skorch accepts, the device must exist and the optimizer
        must take ``optimizer_kwargs`` (names and values).
        """
        check_callbacks(self.callbacks, type(self).__name__)
        device = resolve_device(self.device)
        check_optimizer_kwargs(
            resolve_optimizer(self.optimizer), self.optimizer_kwargs, lr=self.lr, device=device
        )

    # ------------------------------------------------------------------ training
    def _net_seed(self) -> int:
        """The seed of one fit's net: initialisation, shuffling, validation split."""
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _fit_net(self, X: np.ndarray, y: np.ndarray | None, seed: int | None = None):
        """Train the net of ``_make_net`` on validated ``X`` (and targets ``y``).

        ``seed`` (default: a fresh ``_net_seed()``) lets a caller that needs the
        validation split before training (``_validation_rows``) share it.
        """
        device = resolve_device(self.device)
        seed = self._net_seed() if seed is None else seed

        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch_threads(self._n_threads()):
            # Seed inside a forked RNG: results depend on random_state only, and the
            # user's global torch RNG state is left untouched.
            torch.manual_seed(seed)
            dataset = TensorDataset(
                _training_tensor(X, device),
                None if y is None else torch.as_tensor(y, device=device),
            )
            train_set, valid_set = self._train_valid_split(dataset, seed)
            self.max_epochs_ = self._max_epochs_for(len(train_set))
            net = self._make_net(X.shape[1], device, TrainingData(dataset, train_set, valid_set))
            net.fit(train_set, None)
        # predefined_split holds the validation tensors; drop them so that pickles
        # carry the model, not a tenth of the training data.
        net.train_split = None
        return self._keep_net(net, device)

    def _keep_net(self, net, device: torch.device):
        """Set the fitted attributes from the trained ``net`` (fit and partial_fit)."""
        self.net_ = net
        self.device_ = device
        self.history_ = history_frame(net.history)
        self.n_epochs_ = len(net.history)
        return self

    def _max_epochs_for(self, n_train: int) -> int:
        """``max_epochs``, with ``'auto'`` resolved for ``n_train`` training rows.

        ``'auto'`` gives about ``AUTO_EPOCHS_STEPS`` gradient steps (8 epochs of
        60,000 rows in batches of 128; 60 epochs of 8,000), within
        ``AUTO_EPOCHS_BOUNDS``: a small data set gets as many updates as a large one.
        """
        if self.max_epochs != "auto":
            return int(self.max_epochs)
        batch = n_train if self.batch_size in (-1, "full") else self.batch_size
        steps_per_epoch = max(1, math.ceil(n_train / max(1, batch)))
        low, high = AUTO_EPOCHS_BOUNDS
        return int(min(high, max(low, math.ceil(AUTO_EPOCHS_STEPS / steps_per_epoch))))

    def _n_threads(self):
        return getattr(self, "n_threads", None)

    def _batch_size(self):
        """The batch size to train with (an estimator may resolve ``'auto'`` here)."""
        return self.batch_size

    def _validation_order(self, n: int, seed: int) -> tuple[np.ndarray, int]:
        """A permutation of ``n`` rows whose first ``n_valid`` rows form the
        validation split of early stopping."""
        n_valid = int(np.ceil(self.validation_fraction * n))
        if n_valid < 1 or n - n_valid < 1:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} "
                f"leaves no training or validation sample out of n_samples={n}."
            )
        return np.random.default_rng(seed).permutation(n), n_valid

    def _validation_rows(self, n: int, seed: int) -> np.ndarray:
        """The rows ``_fit_net(..., seed=seed)`` holds out (none without early stopping)."""
        if not self.early_stopping:
            return np.array([], dtype=np.intp)
        order, n_valid = self._validation_order(n, seed)
        return order[:n_valid]

    def _train_valid_split(self, dataset: TensorDataset, seed: int):
        if not self.early_stopping:
            return dataset, None
        order, n_valid = self._validation_order(len(dataset), seed)
        order = torch.from_numpy(order).to(dataset.X.device)
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
        schedule = self._lr_scheduler()
        if schedule is not None:
            # Named, so that partial_fit finds it among the user's own schedulers.
            callbacks.append((LR_SCHEDULE_CALLBACK, schedule))
        if self.verbose and self.verbose >= 2:
            callbacks.append(ProgressBar())
        # Last, so that it checks the weights early stopping restored.
        callbacks.append(DivergenceCheck(type(self).__name__))
        optimizer = resolve_optimizer(self.optimizer)
        user_kwargs = dict(self.optimizer_kwargs or {})
        optimizer_kwargs = {
            f"{OPTIMIZER_PREFIX}{k}": v
            for k, v in {**fused_kwargs(optimizer, device, user_kwargs), **user_kwargs}.items()
        }
        return dict(
            optimizer=optimizer,
            lr=self.lr,
            batch_size=-1 if self._batch_size() == "full" else self._batch_size(),
            max_epochs=self.max_epochs_,
            iterator_train=TensorBatchIterator,
            iterator_train__shuffle=True,
            iterator_valid=TensorBatchIterator,
            train_split=None if valid_set is None else predefined_split(valid_set),
            callbacks=callbacks,
            verbose=int(self.verbose),
            device=device,
            **optimizer_kwargs,
        )

    def _lr_scheduler(self):
        """The skorch ``LRScheduler`` for ``lr_schedule`` (``None`` without one).

        ``'cosine'`` anneals the learning rate to 0 over ``max_epochs``; ``'plateau'``
        halves it when the monitored loss (the validation loss with early stopping,
        else the training loss) has not improved by ``tol`` for 3 epochs. The epoch's
        rate is logged as ``event_lr`` in ``history_``. ``partial_fit`` trains with
        :meth:`_partial_fit_schedule`'s version of it.
        """
        schedule = getattr(self, "lr_schedule", None)
        if schedule == "cosine":
            return LRScheduler(policy="CosineAnnealingLR", T_max=max(1, self.max_epochs_))
        if schedule == "plateau":
            monitor = "valid_loss" if self.early_stopping else "train_loss"
            return LRScheduler(
                policy="ReduceLROnPlateau",
                monitor=monitor,
                mode="min",
                factor=0.5,
                patience=3,
                threshold=self.tol,
                threshold_mode="abs",
            )
        return None

    @staticmethod
    def _partial_fit_schedule(schedule: LRScheduler) -> LRScheduler:
        """The ``lr_schedule`` callback of a net, as ``partial_fit`` trains with it.

        One call is one epoch and the calls go on for as long as blocks arrive:
        cosine annealing, which reaches 0 after ``max_epochs_`` epochs and then
        climbs back, becomes :class:`~skae._callbacks.CosineToFloorLR` over as many
        calls, which holds ``PARTIAL_FIT_LR_FLOOR`` times ``lr`` from then on. There
        is no validation split, so the plateau schedule watches the training loss, and
        it keeps its counters from call to call
        (:class:`~skae._callbacks.ContinuedLRScheduler`).
        The callback of the net is not modified (``fit``'s schedule is unchanged).
        """
        if schedule.policy == "CosineAnnealingLR":
            return LRScheduler(
                policy=CosineToFloorLR, T_max=schedule.T_max, floor=PARTIAL_FIT_LR_FLOOR
            )
        if schedule.policy == "ReduceLROnPlateau" and not isinstance(
            schedule, ContinuedLRScheduler
        ):
            return ContinuedLRScheduler(**{**schedule.get_params(), "monitor": "train_loss"})
        return schedule

    def _partial_fit_callbacks(self, callbacks: list) -> list:
        """A net's initialised ``callbacks_`` for a ``partial_fit`` epoch.

        No validation split here, so no early stopping (as in scikit-learn's MLP
        ``partial_fit``): a net from ``fit(early_stopping=True)`` drops its callback.
        The ``lr_schedule`` becomes :meth:`_partial_fit_schedule`'s; the user's
        callbacks are kept as they are.
        """
        kept = []
        for name, callback in callbacks:
            if isinstance(callback, EarlyStopping):
                continue
            if name == LR_SCHEDULE_CALLBACK:
                schedule = self._partial_fit_schedule(callback)
                callback = callback if schedule is callback else schedule.initialize()
            kept.append((name, callback))
        return kept

    # ------------------------------------------------------------------ use
    @property
    def module_(self) -> torch.nn.Module:
        """The trained torch module."""
        return self.net_.module_

    def _validate_inference_input(self, X) -> np.ndarray:
        """``X`` validated for inference, as float64 or float32.

        NaN, infinity and values beyond float32's range are refused batch by batch in
        :meth:`_apply`, so ``validate_data`` skips its own scan for them.
        """
        return validate_data(
            self, X, dtype=(np.float64, np.float32), reset=False, ensure_all_finite=False
        )

    def _inference_module(self, dtype: torch.dtype) -> torch.nn.Module:
        """The trained module in evaluation mode, computing in ``dtype`` on the CPU.

        On the CPU, float64 input runs through a float64 copy of the float32 weights
        (an exact widening), so that a row's result does not depend on which other
        rows share its batch: float32 matrix products round differently for different
        batch shapes, and the size of that rounding depends on the CPU's kernels. On
        an accelerator the float32 module serves whatever the input: many GPUs run
        float64 many times slower, and Apple's MPS backend has none.
        """
        module = self.module_.eval()
        if dtype == torch.float64 and self.device_.type == "cpu":
            module = copy.deepcopy(module).double()
        return module

    def _apply(self, fn, X: np.ndarray) -> np.ndarray:
        """``fn(module, batch)`` over ``X`` in inference mode, in batches, on the device.

        The module computes in the floating dtype of ``X`` (see
        :meth:`_inference_module`). Each batch is checked for values a float32
        network cannot take (NaN, infinity, beyond float32's range) while it is in
        the cache, which costs less than a separate scan of the whole input: the
        callers validate ``X`` with ``ensure_all_finite=False``.
        """
        module = self._inference_module(torch.float64 if X.dtype == np.float64 else torch.float32)
        dtype = next(module.parameters()).dtype
        outputs = []
        with torch.inference_mode(), torch_threads(self._n_threads()):
            for start in range(0, max(len(X), 1), INFERENCE_BATCH_SIZE):
                # np.require copies read-only input (e.g. a memmap): torch cannot
                # wrap it without a warning.
                chunk = np.require(X[start : start + INFERENCE_BATCH_SIZE], X.dtype, ["C", "W"])
                batch = torch.from_numpy(chunk)
                check_float32_range(batch)
                outputs.append(fn(module, batch.to(self.device_, dtype)).cpu())
        return torch.cat(outputs).numpy().astype(X.dtype, copy=False)

    # ------------------------------------------------------------------ persistence
    def __getstate__(self):
        state = super().__getstate__()
        if "net_" in state:
            state["net_"] = picklable_net(state["net_"])
            # The callbacks hold the same objects as callbacks_: clean both.
            for attribute in ("callbacks", "callbacks_"):
                if getattr(state["net_"], attribute, None):
                    callbacks = without_training_state(getattr(state["net_"], attribute))
                    setattr(state["net_"], attribute, callbacks)
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

    Subclasses declare their own parameters in ``__init__`` (scikit-learn
    convention) and take the shared ones with
    ``@shares_parameters(AUTOENCODER_PARAMETERS, ...)``, which appends them to the
    signature and documents them; they extend ``_parameter_constraints`` and
    implement ``_build_module``. The entries of ``optimizer_kwargs`` are also visible
    to ``get_params``/``set_params`` as ``optimizer__<name>``, as in skorch, so
    ``GridSearchCV`` can tune them.
    """

    _parameter_constraints: dict = {
        "latent_dim": [NonBoolInterval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            "array-like",
            NonBoolInterval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions({"auto", *OUTPUT_ACTIVATIONS})],
        "loss": [StrOptions({"auto", *RECONSTRUCTION_LOSSES})],
        **constraints_of(AUTOENCODER_PARAMETERS),
    }

    #: skorch net class (a subclass of AutoencoderNet)
    _net_class = AutoencoderNet
    #: how the reconstruction loss reduces over features ('mean' or 'sum_per_sample')
    _reconstruction_reduction = "mean"

    def _validate_hyperparameters(self):
        """Check parameters at the start of fit (scikit-learn convention)."""
        self._validate_params()
        self._check_training_options()
        check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        if self.loss == "bce" and self.output_activation == "linear":
            raise ValueError(
                "loss='bce' needs output_activation='sigmoid' (outputs must lie in [0, 1])."
            )
        check_regularizers(self.get_params(deep=False), self)

    def _hidden_sizes(self) -> tuple:
        sizes = self.hidden_layer_sizes
        return (sizes,) if isinstance(sizes, Integral) else tuple(sizes)

    # ------------------------------------------------------------------ fit
    @keeps_state_on_failure
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

        Notes
        -----
        Ctrl-C (``KeyboardInterrupt``) stops training and is raised from ``fit``. Like
        any error (``TrainingDivergedError``, a refused ``X``), it leaves the estimator
        as it was before the call: unfitted, or with its previous model whole.
        """
        self._validate_hyperparameters()
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        y = self._validate_targets(X, y)
        self._resolve_output(X)
        self._check_data(X)
        self._fit_net(X, y)
        self._n_features_out = self._n_codes()
        return self

    @keeps_state_on_failure(trains_in_place=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current weights.

        For data that does not fit in memory, or arrives in blocks: each call makes one
        pass over ``X`` in mini-batches of ``batch_size`` (shuffled), keeping the
        weights, the optimizer's state and ``history_`` (one row per call) from the
        previous calls. The first call on an unfitted model builds the network and
        fixes ``n_features_in_`` (and, for ``'auto'`` settings, the output activation
        and loss, from that block); a later call with another number of features
        raises a ``ValueError``. After :meth:`fit`, ``partial_fit`` continues from the
        fitted model; :meth:`fit` always starts over. Works inside
        ``dask_ml.wrappers.Incremental``, which calls it once per block of a Dask
        array. With an int ``random_state`` the same sequence of calls gives the same
        model. ``early_stopping`` is not used (there is no validation split), and the
        supervised term (``supervised_weight``) needs :meth:`fit`.

        With ``lr_schedule='cosine'`` the learning rate falls over the first
        ``max_epochs_`` calls to a tenth of ``lr`` and stays there, so that every call
        trains (in :meth:`fit` it falls to 0 at the last epoch); ``'plateau'`` watches
        the training loss. If a call fails (Ctrl-C, which is raised,
        ``TrainingDivergedError``, a refused block), the estimator is left as it was
        before it: weights, optimizer state, ``history_`` and fitted attributes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One block of training data; never modified.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The updated estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import AutoencoderTransformer
        >>> X = np.random.default_rng(0).random((200, 8))
        >>> ae = AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(4,), random_state=0)
        >>> for block in np.array_split(X, 4):
        ...     ae = ae.partial_fit(block)
        >>> ae.n_epochs_
        4
        """
        first_call = not hasattr(self, "net_")
        if first_call:
            self._validate_hyperparameters()
        # 'auto' switches the term off without labels (a first call has none), and
        # keeps what fit chose after it.
        explicit = self.supervised_weight != "auto" and self.supervised_weight
        if explicit:
            raise ValueError(
                "partial_fit does not train the supervised term; use fit, or set "
                "supervised_weight=0."
            )
        if not first_call and getattr(self, "supervised_weight_", 0):
            raise ValueError(
                f"This {type(self).__name__} was fitted with a supervised head "
                f"(supervised_weight_={self.supervised_weight_}), which partial_fit does "
                "not train; use fit, or refit with supervised_weight=0 first."
            )
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=first_call)
        if first_call:
            self._validate_targets(X, None)
            self._resolve_output(X)
        self._check_data(X)
        self._partial_fit_net(X, self._labels_of_fitted_classes(X, y))
        self._n_features_out = self._n_codes()
        return self

    def _labels_of_fitted_classes(self, X, y):
        """``y`` as indices into ``classes_`` for a model fitted with labels, else None.

        A model whose net was built for labels (an ITL autoencoder fitted with ``y``)
        keeps training with them; ``-1`` stays unlabelled.
        """
        classes = getattr(self, "classes_", None)
        if classes is None:
            return None
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} was fitted with labels (classes_ is set): pass "
                "y to partial_fit too, with -1 for unlabelled rows."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        labelled = labelled_mask(y)
        unknown = ~np.isin(y[labelled], classes)
        if unknown.any():
            raise ValueError(
                f"y holds labels not seen in fit: {np.unique(y[labelled][unknown]).tolist()}; "
                f"the classes are {classes.tolist()}."
            )
        encoded = np.full(len(y), -1, dtype=np.int64)
        encoded[labelled] = np.searchsorted(classes, y[labelled])
        return encoded

    def _partial_fit_net(self, X: np.ndarray, y: np.ndarray | None = None):
        """One epoch of ``net_`` on ``X`` (the net is built on the first call)."""
        first_call = not hasattr(self, "net_")
        device = resolve_device(self.device) if first_call else self.device_
        base = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        # One seed per call, from random_state and the epochs done so far: a chain of
        # calls is reproducible, and fit (which resets the history) starts over.
        n_done = 0 if first_call else len(self.net_.history)
        seed = int(np.random.default_rng([base, n_done]).integers(np.iinfo(np.int32).max))
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch_threads(self._n_threads()):
            torch.manual_seed(seed)
            targets = None if y is None else torch.as_tensor(y, device=device)
            block = TensorDataset(_training_tensor(X, device), targets)
            if first_call:
                self.max_epochs_ = self._max_epochs_for(len(X))
                net = self._make_net(X.shape[1], device, TrainingData(block, block))
                net.initialize()
            else:
                net = self.net_
            net.callbacks_ = self._partial_fit_callbacks(net.callbacks_)
            net.partial_fit(block, None, epochs=1)
        return self._keep_net(net, device)

    def _validate_targets(self, X, y):
        """Labels for the supervised term (``-1`` unlabelled); ``None`` without it.

        Models without the term ignore ``y``, as unsupervised transformers do.
        """
        self.classes_ = None
        auto = isinstance(self.supervised_weight, str)  # 'auto'
        if y is None and self.supervised_weight and not auto:
            raise ValueError(
                f"supervised_weight={self.supervised_weight} trains a classification head "
                "on the code and needs labels: call fit(X, y), with y=-1 for unlabelled "
                "rows, or set supervised_weight=0."
            )
        # 'auto' ignores a y it cannot use (a regression target in a pipeline, -1/1
        # binary labels), as the term switched off does.
        if not self.supervised_weight or y is None or (auto and not has_partial_class_labels(y)):
            self._resolve_label_weights(None)
            return None
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        # encode_partial_labels refuses only -1s and a single labelled class.
        classes, encoded, _ = encode_partial_labels(y, type(self).__name__)
        if not self._resolve_label_weights(encoded):
            return None  # 'auto' found no use for the labels: ignored, as with 0
        self.classes_ = classes
        return encoded

    def _resolve_label_weights(self, labels) -> float:
        """Set ``supervised_weight_`` and ``consistency_weight_`` from the encoded
        ``labels`` of ``fit`` (None without), resolving ``'auto'``; return the first."""
        self.supervised_weight_, self.consistency_weight_ = resolve_label_weights(
            self.supervised_weight, self.consistency_weight, labels, self.noise
        )
        return self.supervised_weight_

    def _resolve_output(self, X):
        """Set ``output_activation_`` and ``loss_``, choosing for ``'auto'`` from ``X``.

        Data in [0, 1] (images scaled by 1/255, min-max scaled columns) get a sigmoid
        output and the binary cross-entropy; anything else a linear output and the
        mean squared error. An explicit setting is kept; ``loss='auto'`` with a
        sigmoid output on data outside [0, 1] falls back to the squared error.
        """
        in_unit_range = bool(X.min() >= 0 and X.max() <= 1)
        output = self.output_activation
        if output == "auto":
            output = "sigmoid" if in_unit_range or self.loss == "bce" else "linear"
        loss = self.loss
        if loss == "auto":
            loss = "bce" if output == "sigmoid" and in_unit_range else "mse"
        self.output_activation_ = output
        self.loss_ = loss

    def _check_data(self, X):
        """Hook: data-dependent checks after validation."""
        low, high = X.min(), X.max()  # one pass each over a possibly large X
        if low >= 0 and high <= 1:
            return
        if not (low >= -FLOAT32_MAX and high <= FLOAT32_MAX):
            check_float32_range(X)
        if self.loss_ == "bce":
            raise ValueError(
                "loss='bce' needs inputs in [0, 1]; got values in "
                f"[{low:.3g}, {high:.3g}]. Scale X (e.g. MinMaxScaler) or use loss='mse'."
            )
        if self.output_activation_ == "sigmoid":
            # The fit would run, but no reconstruction can leave (0, 1).
            warnings.warn(
                OutputRangeWarning(
                    "output_activation='sigmoid' reconstructs values in (0, 1), but X has "
                    f"values in [{low:.3g}, {high:.3g}]. Scale X to [0, 1] (e.g. "
                    "MinMaxScaler) or use output_activation='linear'."
                ),
                stacklevel=3,
            )

    def _n_codes(self) -> int:
        return self.latent_dim

    def _make_net(self, n_features: int, device: torch.device, data: TrainingData):
        params = {
            **self.get_params(deep=False),
            "supervised_weight": self.supervised_weight_,
            "consistency_weight": self.consistency_weight_,
        }
        reconstruction = ReconstructionTerm(
            loss=self.loss_,
            output_activation=self.output_activation_,
            reduction=self._reconstruction_reduction,
        )
        return self._net_class(
            module=self._build_supervised_head(self._build_module(n_features)),
            # skorch requires a criterion: the reconstruction loss, as the term computes it
            criterion=ReconstructionLoss,
            criterion__loss=reconstruction.loss,
            criterion__output_activation=reconstruction.output_activation,
            criterion__reduction=reconstruction.reduction,
            terms=[reconstruction, *self._model_terms(), *regularizer_terms(params)],
            noise=self.noise,
            noise_level=self.noise_level,
            # what the supervised term draws from: the training split's labelled rows
            labelled_rows=LabelledRows.of(data.train) if self.supervised_weight_ else None,
            **self._skorch_params(device, data.valid),
            **self._net_params(data),
        )

    def _model_terms(self) -> list:
        """Hook: the model's own loss terms, after the reconstruction (e.g. a KL term)."""
        return []

    def _build_supervised_head(self, module: torch.nn.Module) -> torch.nn.Module:
        """Attach the supervised term's linear head (code -> classes) to ``module``."""
        if self.supervised_weight_:
            module.supervised_head = torch.nn.Linear(self._n_codes(), len(self.classes_))
        return module

    @abstractmethod
    def _build_module(self, n_features: int) -> torch.nn.Module:
        """Return the torch module (with ``encode``/``decode``) for ``n_features``."""

    def _net_params(self, data: TrainingData) -> dict:
        """Hook: extra keyword arguments for the skorch net."""
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

    def _code_encoder(self) -> torch.nn.Module:
        """A torch module from inputs to the codes ``transform`` returns.

        :class:`skae.EncoderClassifier` starts its network from a copy of it. It is
        ``encoder_`` itself unless the encoder's output is more than the code.
        """
        return self.encoder_

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
        X = self._validate_inference_input(X)
        return self._apply(lambda module, x: module.encode(x), X)

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
        return self._apply(lambda module, z: module.decode(z), Z)

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
        X = self._validate_inference_input(X)
        return self._apply(lambda module, x: module.decode(module.encode(x)), X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
