"""One cell of a study: fit a representation, encode, score every classifier.

``_run_cell`` runs in the calling process or in a joblib worker and yields what
the runner saves: the fit's record (a few reconstructions, the training history),
then one result row per classifier. The helpers around it limit the threads of a fit
and notice a Ctrl-C that skorch would otherwise swallow.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd

import skae

from ._data import StudyData
from ._errors import StudyError
from ._folder import COLUMNS
from ._plan import _Cell
from ._registry import ModelSettings, get_classifier, get_representation

#: test images whose reconstructions are kept for the figures
N_SHOWN = 10


@contextlib.contextmanager
def _limited_threads(n_threads: int):
    """Run torch and the BLAS of scikit-learn with ``n_threads`` threads."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        torch.set_num_threads(previous)


class _InterruptFlag:
    """Notice Ctrl-C during training.

    skae's estimators raise KeyboardInterrupt out of ``fit``, but a fit that catches
    it (skorch's own nets end training quietly and keep the model trained so far)
    would return a half-trained model; a study must stop instead, so the runner
    checks this flag after each fit.
    """

    def __init__(self):
        self.raised = False
        # the handlers to restore, innermost last: a cell run in the calling process
        # (a sequential joblib backend) enters the flag inside the runner's own
        self._previous = []

    def __enter__(self):
        self.raised = False
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handler)
        self._previous.append(previous)
        return self

    def _handler(self, signum, frame):
        self.raised = True
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        previous = self._previous.pop()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        return False


_INTERRUPT = _InterruptFlag()


def n_trainable_parameters(estimator) -> int:
    """Trainable parameters of a fitted representation.

    Parameters
    ----------
    estimator : fitted transformer
        A skae autoencoder (its torch ``module_``), an ensemble with ``estimators_``
        (the sum over members) or a PCA-like model with ``components_`` and ``mean_``.

    Returns
    -------
    n_parameters : int
        Trainable parameters of the torch module(s) (``requires_grad``); for PCA the
        components and the mean, ``(n_components + 1) * n_features``; -1 when unknown.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from skae.study import n_trainable_parameters
    >>> n_trainable_parameters(PCA(n_components=2).fit(np.eye(5)))
    15
    """
    module = getattr(estimator, "module_", None)
    if module is not None:
        return int(sum(p.numel() for p in module.parameters() if p.requires_grad))
    members = getattr(estimator, "estimators_", None)
    if members is not None:
        return int(sum(n_trainable_parameters(m) for m in members))
    components = getattr(estimator, "components_", None)
    if components is not None:
        return int(components.size + np.size(getattr(estimator, "mean_", 0)))
    return -1


def _reconstruct(estimator, X):
    if hasattr(estimator, "reconstruct"):
        return estimator.reconstruct(X)
    if hasattr(estimator, "inverse_transform"):
        return estimator.inverse_transform(estimator.transform(X))
    return None


def _history(estimator) -> dict:
    history = getattr(estimator, "history_", None)
    if not isinstance(history, pd.DataFrame):
        return {}
    if "member" in history:  # an ensemble's stacked histories: its first member's
        history = history[history["member"] == 0].drop(columns="member")
    if "epoch" in history:
        history = history.set_index("epoch")
    numeric = history.select_dtypes("number")
    return {"epoch": numeric.index.to_numpy(), **{c: numeric[c].to_numpy() for c in numeric}}


_WARMED_UP = False


def _warm_up() -> None:
    """Pay torch's one-off costs before the first timed fit of this process.

    The first optimizer a process creates imports ``torch._dynamo`` (seconds); without
    this, the first row's ``fit_seconds`` would include it.
    """
    global _WARMED_UP
    if not _WARMED_UP:
        skae.AutoencoderTransformer(
            latent_dim=1, hidden_layer_sizes=(), max_epochs=1, random_state=0
        ).fit(np.zeros((2, 2), dtype=np.float32))
        _WARMED_UP = True


#: what torch says when a tensor does not fit in memory (or its size in bytes overflows)
_NO_MEMORY = ("can't allocate memory", "out of memory", "size calculation overflowed")


def _run_cell(cell: _Cell, data: StudyData, settings: ModelSettings, dataset: str):
    """Fit one representation; yield its record, then one row per classifier.

    A network too large for the memory stops the study with a :class:`StudyError`
    naming it: that is not a result of the settings (another machine may fit it), so
    it is not recorded as a failed row.
    """
    try:
        yield from _cell_events(cell, data, settings, dataset)
    except (MemoryError, RuntimeError) as exc:
        message = str(exc)
        if isinstance(exc, RuntimeError) and not any(s in message for s in _NO_MEMORY):
            raise
        reason = message[message.find("can't allocate") :] if "can't allocate" in message else ""
        reason = _one_line(reason).rstrip(".")

        def problem(hidden, batch):
            return (
                f"not enough memory to fit {cell.representation} with latent size "
                f"{cell.latent_dim} (seed {cell.seed}){': ' + reason if reason else ''}; "
                f"use smaller hidden layers ({hidden}) or a smaller batch size ({batch})."
            )

        raise StudyError(
            problem("hidden_layer_sizes", "batch_size"),
            cli_message=problem("--hidden", "--batch-size"),
        ) from None


def _cell_events(cell: _Cell, data: StudyData, settings: ModelSettings, dataset: str):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    from skae.exceptions import TrainingDivergedError

    estimator = get_representation(cell.representation).build(settings, cell.latent_dim, cell.seed)
    if type(estimator).__module__.startswith("skae"):
        _warm_up()
    start = time.perf_counter()
    try:
        estimator.fit(data.X_train)
    except TrainingDivergedError as exc:
        if _INTERRUPT.raised:
            raise KeyboardInterrupt from None
        # a diverged fit is a result of these settings: record it and go on
        yield from _failed_rows(cell, data, dataset, estimator, time.perf_counter() - start, exc)
        return
    fit_seconds = time.perf_counter() - start
    if _INTERRUPT.raised:  # a fit that caught a Ctrl-C itself: it is incomplete
        raise KeyboardInterrupt
    start = time.perf_counter()
    Z_train = estimator.transform(data.X_train)
    Z_test = estimator.transform(data.X_test)
    transform_seconds = time.perf_counter() - start
    if not (np.isfinite(Z_train).all() and np.isfinite(Z_test).all()):
        problem = (
            "the codes contain NaN or infinity (training probably diverged; try a lower "
            "learning rate)"
        )
        yield from _failed_rows(cell, data, dataset, estimator, fit_seconds, problem)
        return

    reconstructed = _reconstruct(estimator, data.X_test)
    mse = np.nan if reconstructed is None else float(np.mean((data.X_test - reconstructed) ** 2))
    shown = data.X_test[:N_SHOWN]
    yield (
        "fit",
        {
            "originals": shown,
            "reconstructions": np.zeros((0,)) if reconstructed is None else reconstructed[:N_SHOWN],
            "history": _history(estimator),
        },
    )
    common = {
        "dataset": dataset,
        "representation": cell.representation,
        "params": cell.params,
        "latent_dim": cell.latent_dim,
        "n_codes": Z_test.shape[1],
        "seed": cell.seed,
        "reconstruction_mse": mse,
        "fit_seconds": fit_seconds,
        "transform_seconds": transform_seconds,
        "n_parameters": n_trainable_parameters(estimator),
        "n_train": len(data.X_train),
        "n_test": len(data.X_test),
    }
    for name in cell.classifiers:
        classifier = get_classifier(name).make(cell.seed)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                classifier.fit(Z_train, data.y_train)
            y_pred = classifier.predict(Z_test)
        except ValueError as exc:  # scikit-learn's refusal of the codes: a failed row
            row = {**common, "classifier": name, **_FAILED, "error": _one_line(exc)}
            yield "row", {c: row[c] for c in COLUMNS}, None
            continue
        seconds = time.perf_counter() - start
        row = {
            **common,
            "classifier": name,
            "accuracy": accuracy_score(data.y_test, y_pred),
            "precision_macro": precision_score(
                data.y_test, y_pred, average="macro", zero_division=0
            ),
            "recall_macro": recall_score(data.y_test, y_pred, average="macro", zero_division=0),
            "classifier_seconds": seconds,
            "error": "",
        }
        yield "row", {c: row[c] for c in COLUMNS}, y_pred


#: the scores of a failed row: none
_FAILED = {
    "accuracy": np.nan,
    "precision_macro": np.nan,
    "recall_macro": np.nan,
    "classifier_seconds": np.nan,
}


def _one_line(error) -> str:
    """``error`` (a message or an exception) as one line, for the table and the CSV."""
    text = str(error) or type(error).__name__
    return " ".join(text.split())


def _failed_rows(cell, data, dataset, estimator, fit_seconds, error):
    """One failed row per classifier: the representation gave no usable codes.

    The row keeps what is known (fit time, parameters) and says why in ``error``;
    its scores are empty. A rerun in the same folder keeps it (the same settings and
    seed fail the same way).
    """
    n_codes = getattr(estimator, "n_autoencoders", 1) * cell.latent_dim
    for name in cell.classifiers:
        row = {
            "dataset": dataset,
            "representation": cell.representation,
            "params": cell.params,
            "latent_dim": cell.latent_dim,
            "n_codes": n_codes,
            "classifier": name,
            "seed": cell.seed,
            **_FAILED,
            "reconstruction_mse": np.nan,
            "fit_seconds": fit_seconds,
            "transform_seconds": np.nan,
            "n_parameters": n_trainable_parameters(estimator),
            "n_train": len(data.X_train),
            "n_test": len(data.X_test),
            "error": _one_line(error),
        }
        yield "row", {c: row[c] for c in COLUMNS}, None
