"""The study runner: a grid of representations x latent sizes x classifiers x seeds.

Each representation is fitted once per (latent size, seed) and its codes feed every
classifier. Finished rows are appended to ``results.csv`` as they come, with the test
predictions and a few reconstructions beside them, so that an interrupted study keeps
its rows and a rerun in the same folder computes only what is missing.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd

import skae

from ._data import DATASETS, StudyData, load_study_data
from ._errors import StudyError, StudyInterrupted
from ._registry import (
    ModelSettings,
    get_classifier,
    get_representation,
)

#: columns of a result row, in order
COLUMNS = (
    "dataset",
    "representation",
    "params",
    "latent_dim",
    "n_codes",
    "classifier",
    "seed",
    "accuracy",
    "precision_macro",
    "recall_macro",
    "reconstruction_mse",
    "fit_seconds",
    "transform_seconds",
    "classifier_seconds",
    "n_parameters",
    "n_train",
    "n_test",
)
#: the columns that identify a row; a rerun skips the keys already in results.csv
KEY_COLUMNS = ("dataset", "representation", "params", "latent_dim", "classifier", "seed")

DEFAULT_REPRESENTATIONS = ("pca", "ae-relu", "ae-sigmoid", "vae")
DEFAULT_LATENT_SIZES = (2, 8, 16)
DEFAULT_CLASSIFIERS = ("logreg",)

#: epochs of the neural representations when ``max_epochs`` is not given
DEFAULT_EPOCHS = {"digits": 100}
DEFAULT_EPOCHS_IMAGES = 20
QUICK_EPOCHS = 3
#: hidden layers when ``hidden_layer_sizes`` is not given, by number of features
DEFAULT_HIDDEN = {64: (128,), 784: (256,)}
#: test images whose reconstructions are kept for the figures
N_SHOWN = 10

RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
CONFIG_JSON = "study.json"
TEST_LABELS = "test_labels.npy"
FITS_DIR = "fits"
PREDICTIONS_DIR = "predictions"


# ---------------------------------------------------------------------- public API
def run_study(
    dataset="digits",
    representations=DEFAULT_REPRESENTATIONS,
    latent_sizes=DEFAULT_LATENT_SIZES,
    classifiers=DEFAULT_CLASSIFIERS,
    seeds=(0,),
    *,
    n_jobs=None,
    output_dir=None,
    quick=False,
    data_home=None,
    download=True,
    n_train=None,
    n_test=None,
    max_epochs=None,
    hidden_layer_sizes=None,
    optimizer="adam",
    lr=None,
    batch_size=256,
    torch_threads=1,
    overwrite=False,
    figures=True,
    verbose=0,
):
    """Compare representations, latent sizes and classifiers on one data set.

    For every representation, latent size and seed, the representation is fitted on
    the training images, both sets are encoded, and every classifier is trained on
    the (standardised) training codes and scored on the test codes. One row per
    (representation, latent size, classifier, seed).

    Parameters
    ----------
    dataset : {'digits', 'mnist', 'fashion-mnist', 'kmnist', 'kmnist-test'}, \
            default='digits'
        ``'digits'`` is scikit-learn's bundled 8x8 digits with a fixed stratified
        75/25 split (``random_state=0``): no download. The MNIST family is read with
        :func:`skae.datasets.load_dataset` (official train/test sets; see
        ``n_train``). ``'kmnist-test'`` splits KMNIST's 10,000 official test images
        8,000/2,000 (stratified, ``random_state=0``) for use without its training
        images.
    representations : sequence of str, default=('pca', 'ae-relu', 'ae-sigmoid', 'vae')
        Names from :func:`skae.study.representation_names`: ``'pca'``,
        ``'ae-<activation>'`` (linear, sigmoid, relu, elu, tanh), ``'itl'``,
        ``'vae'``, ``'vae-conv'`` and ``'kae<k>'`` (k autoencoders, each with a code
        of the latent size, concatenated: ``n_codes`` is k times the latent size).
    latent_sizes : sequence of int, default=(2, 8, 16)
        Code sizes; each at most the number of features.
    classifiers : sequence of str, default=('logreg',)
        ``'logreg'``, ``'svc'``, ``'mlp'``, ``'mlp-sigmoid'`` (scikit-learn, after a
        ``StandardScaler``).
    seeds : sequence of int, default=(0,)
        ``random_state`` of the representations and classifiers.
    n_jobs : int, default=None
        Fits run at once, in separate processes (joblib); ``None`` means 1, ``-1``
        all cores. Each fit uses ``torch_threads`` threads whatever ``n_jobs`` is, so
        the results do not depend on ``n_jobs`` (only the timings do).
    output_dir : str or path, default=None
        Folder for ``results.csv``, ``results.md``, ``study.json``, the figures and
        the data needed to resume. ``None`` saves nothing.
    quick : bool, default=False
        Smoke-test sizes: 3 epochs, and 1,000/1,000 images of the MNIST family.
    data_home : str or path, default=None
        Data home of :mod:`skae.datasets` (default: ``SKAE_DATA`` or
        ``~/scikit_learn_data/skae``).
    download : bool, default=True
        Download missing data files from the official sources; with ``False`` a
        missing file raises :class:`skae.datasets.DatasetNotFoundError` at once.
    n_train, n_test : int or 'all', default=None
        Keep the first ``n_train`` training and ``n_test`` test images. ``None`` uses
        the data set's default: all of digits and kmnist-test, and for MNIST,
        Fashion-MNIST and KMNIST the first 10,000 training images and the whole
        10,000-image test set.
    max_epochs : int, default=None
        Epochs of the neural representations; ``None`` means 100 for digits, 20 for
        the 28x28 data sets (3 with ``quick``).
    hidden_layer_sizes : tuple of int, default=None
        Encoder hidden sizes (the decoder mirrors them); ``None`` means (128,) for
        digits and (256,) for 28x28 images.
    optimizer : str, default='adam'
        Optimizer of the neural representations, e.g. ``'rprop'``.
    lr : float, default=None
        Their learning rate; ``None`` keeps the estimators' default.
    batch_size : int or 'full', default=256
        Their batch size; ``'full'`` trains on the whole training set per step (what
        ``optimizer='rprop'`` needs).
    torch_threads : int, default=1
        Threads of each fit (torch and the BLAS of the classifiers).
    overwrite : bool, default=False
        Delete the results of an earlier study with other settings in
        ``output_dir`` instead of refusing to mix them.
    figures : bool, default=True
        Draw the figures into ``output_dir`` at the end (needs matplotlib; skipped
        with a note without it).
    verbose : int, default=0
        0 is silent; 1 shows a progress bar (on a terminal) and notes; 2 also prints
        one line per finished row.

    Returns
    -------
    results : pandas.DataFrame
        One row per grid cell, in grid order, with the columns: data set,
        representation, ``params`` (its other parameters), latent size, ``n_codes``
        (features the classifier sees), classifier, seed, test accuracy, macro
        precision and
        recall, test reconstruction MSE per feature, fit and transform seconds of the
        representation, classifier seconds, trainable parameters and set sizes.

    Raises
    ------
    StudyError
        For any invalid argument (checked before training) or a folder holding a
        study with other settings.
    StudyInterrupted
        On Ctrl-C; the rows finished so far are in ``output_dir``.
    skae.datasets.DatasetNotFoundError, skae.datasets.DatasetFileError
        When a data file is missing (and cannot be downloaded) or unusable.

    Notes
    -----
    ``n_parameters`` counts the trainable parameters of the fitted torch modules
    (every member of an ensemble, and a discriminator if any); for PCA it counts the
    components and the mean, ``(n_components + 1) * n_features``.
    ``reconstruction_mse`` is the mean over test images and features of the squared
    reconstruction error (PCA via ``inverse_transform``). Classifier warnings about
    convergence are silenced; the quick MLPs stop early on purpose.

    Resuming: every finished row is appended to ``results.csv`` at once. A rerun with
    the same ``output_dir`` reads it and computes only the rows whose key (data set,
    representation, params, latent size, classifier, seed) is missing. The settings
    that change the numbers (data set, sizes, epochs, hidden sizes, optimizer...) are
    kept in ``study.json``; a rerun with other settings raises :class:`StudyError`
    unless ``overwrite=True``. The grid itself may grow between runs.

    Examples
    --------
    >>> from skae.study import run_study
    >>> table = run_study(representations=["pca"], latent_sizes=[4], quick=True)
    >>> table[["representation", "latent_dim", "classifier"]].to_numpy().tolist()
    [['pca', 4, 'logreg']]
    >>> bool(table["accuracy"].iloc[0] > 0.5)
    True
    """
    plan = _plan(
        dataset,
        representations,
        latent_sizes,
        classifiers,
        seeds,
        n_jobs=n_jobs,
        output_dir=output_dir,
        quick=quick,
        n_train=n_train,
        n_test=n_test,
        max_epochs=max_epochs,
        hidden_layer_sizes=hidden_layer_sizes,
        optimizer=optimizer,
        lr=lr,
        batch_size=batch_size,
        torch_threads=torch_threads,
        verbose=verbose,
    )
    folder = _StudyFolder(plan.output_dir) if plan.output_dir is not None else None
    if folder is not None:
        folder.check_writable()
    data = load_study_data(
        dataset,
        n_train=n_train,
        n_test=n_test,
        quick=quick,
        data_home=data_home,
        download=download,
    )
    plan.check_data(data)
    config = plan.config(data)
    if folder is not None:
        folder.open(config, overwrite=overwrite)
        np.save(folder.path / TEST_LABELS, data.y_test)
    return _execute(plan, data, folder, figures=figures)


# ---------------------------------------------------------------------- planning
@dataclass
class _Cell:
    """One representation fit and the classifiers that still need its codes."""

    representation: str
    params: str
    latent_dim: int
    seed: int
    classifiers: list

    @property
    def fit_id(self) -> str:
        return f"{self.representation}_m{self.latent_dim}_s{self.seed}"


def _names(values, what, check):
    if isinstance(values, str):
        values = [values]
    try:
        values = list(dict.fromkeys(values))
    except TypeError:
        raise StudyError(f"{what} must be a list of names, got {values!r}.") from None
    if not values:
        raise StudyError(f"{what} must not be empty.")
    for value in values:
        check(value)
    return values


def _integers(values, what, minimum):
    if isinstance(values, Integral):
        values = [values]
    try:
        values = list(dict.fromkeys(values))
    except TypeError:
        raise StudyError(f"{what} must be a list of integers, got {values!r}.") from None
    if not values:
        raise StudyError(f"{what} must not be empty.")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
            raise StudyError(f"{what} must be integers >= {minimum}, got {value!r}.")
    return [int(v) for v in values]


def _positive(value, what, *, allow_all=False, allow_none=True):
    if value is None and allow_none:
        return None
    if allow_all and value == "all":
        return value
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        options = ["a positive integer", *(["'all'"] if allow_all else [])]
        options += ["None"] if allow_none else []
        raise StudyError(f"{what} must be {' or '.join(options)}, got {value!r}.")
    return int(value)


@dataclass
class _Plan:
    dataset: str
    representations: list
    latent_sizes: list
    classifiers: list
    seeds: list
    n_jobs: int
    output_dir: Path | None
    quick: bool
    settings: ModelSettings
    torch_threads: int
    verbose: int

    def check_data(self, data: StudyData) -> None:
        n = len(data.X_train)
        if "pca" in self.representations and max(self.latent_sizes) > n:
            raise StudyError(
                f"latent size {max(self.latent_sizes)} is larger than the {n} training "
                "images; PCA cannot have more components than samples."
            )

    def config(self, data: StudyData) -> dict:
        """The settings that change the numbers: a rerun must match them to resume."""
        settings = self.settings
        return {
            "dataset": self.dataset,
            "protocol": data.protocol,
            "n_train": len(data.X_train),
            "n_test": len(data.X_test),
            "max_epochs": settings.max_epochs,
            "hidden_layer_sizes": list(settings.hidden_layer_sizes),
            "optimizer": settings.optimizer,
            "lr": settings.lr,
            "batch_size": settings.batch_size,
            "image_shape": list(settings.image_shape),
        }

    def cells(self) -> list[_Cell]:
        cells = []
        for name in self.representations:
            entry = get_representation(name)
            # params depend on the settings only, not on the latent size or the seed
            params = entry.describe(entry.build(self.settings, self.latent_sizes[0], 0))
            for latent_dim in self.latent_sizes:
                for seed in self.seeds:
                    cells.append(_Cell(name, params, latent_dim, seed, list(self.classifiers)))
        return cells


def _plan(
    dataset,
    representations,
    latent_sizes,
    classifiers,
    seeds,
    *,
    n_jobs,
    output_dir,
    quick,
    n_train,
    n_test,
    max_epochs,
    hidden_layer_sizes,
    optimizer,
    lr,
    batch_size,
    torch_threads,
    verbose,
) -> _Plan:
    """Check every argument (no data loaded, nothing trained) and fill in defaults."""
    if dataset not in DATASETS:
        raise StudyError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}.")
    spec = DATASETS[dataset]
    representations = _names(representations, "representations", get_representation)
    classifiers = _names(classifiers, "classifiers", get_classifier)
    latent_sizes = _integers(latent_sizes, "latent sizes", 1)
    seeds = _integers(seeds, "seeds", 0)
    too_big = [m for m in latent_sizes if m > spec.n_features]
    if too_big:
        raise StudyError(
            f"latent size {too_big[0]} is larger than the {spec.n_features} features of "
            f"{dataset!r}; use latent sizes from 1 to {spec.n_features}."
        )
    _positive(n_train, "n_train", allow_all=True)
    _positive(n_test, "n_test", allow_all=True)
    max_epochs = _positive(max_epochs, "max_epochs")
    if batch_size != "full":
        try:
            batch_size = _positive(batch_size, "batch_size", allow_none=False)
        except StudyError:
            raise StudyError(
                f"batch_size must be a positive integer or 'full', got {batch_size!r}."
            ) from None
    torch_threads = _positive(torch_threads, "torch_threads", allow_none=False)
    if max_epochs is None:
        default_epochs = DEFAULT_EPOCHS.get(dataset, DEFAULT_EPOCHS_IMAGES)
        max_epochs = QUICK_EPOCHS if quick else default_epochs
    if hidden_layer_sizes is None:
        hidden_layer_sizes = DEFAULT_HIDDEN[spec.n_features]
    hidden_layer_sizes = tuple(_integers(hidden_layer_sizes, "hidden_layer_sizes", 1))
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, Real) or not lr > 0):
        raise StudyError(f"lr must be a positive number or None, got {lr!r}.")
    _check_optimizer(optimizer)
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0
    ):
        raise StudyError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}.")
    from joblib import effective_n_jobs

    settings = ModelSettings(
        hidden_layer_sizes=hidden_layer_sizes,
        max_epochs=max_epochs,
        optimizer=optimizer,
        lr=None if lr is None else float(lr),
        batch_size=batch_size,
        image_shape=spec.image_shape,
    )
    return _Plan(
        dataset=dataset,
        representations=representations,
        latent_sizes=latent_sizes,
        classifiers=classifiers,
        seeds=seeds,
        n_jobs=effective_n_jobs(n_jobs),
        output_dir=None if output_dir is None else Path(output_dir),
        quick=bool(quick),
        settings=settings,
        torch_threads=torch_threads,
        verbose=int(verbose),
    )


def _check_optimizer(optimizer):
    from skae._optimizers import OPTIMIZER_NAMES, resolve_optimizer

    if not isinstance(optimizer, str):
        raise StudyError(f"optimizer must be a name, got {optimizer!r}.")
    try:
        resolve_optimizer(optimizer)
    except (ValueError, ImportError):
        raise StudyError(
            f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZER_NAMES)}."
        ) from None


# ---------------------------------------------------------------------- the folder
class _StudyFolder:
    """The files of a study on disk: results, config, predictions, fits."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @property
    def csv(self) -> Path:
        return self.path / RESULTS_CSV

    def check_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".skae-probe-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise StudyError(f"cannot write to output folder '{self.path}': {reason}.") from None

    def open(self, config: dict, *, overwrite: bool) -> None:
        """Record ``config``; refuse (or, with ``overwrite``, clear) a different study."""
        config_path = self.path / CONFIG_JSON
        if config_path.exists() or self.csv.exists():
            old = _read_json(config_path)
            differences = _differences(old, config)
            if differences and not overwrite:
                raise StudyError(
                    f"'{self.path}' holds a study with other settings ({differences}); "
                    "use another output folder, or overwrite=True (--overwrite) to replace it."
                )
            if differences:
                self.clear()
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            (self.path / sub).mkdir(exist_ok=True)
        record = {**config, "skae_version": skae.__version__}
        config_path.write_text(json.dumps(record, indent=2) + "\n")

    def clear(self) -> None:
        """Delete the files a study writes (and nothing else in the folder)."""
        for name in (RESULTS_CSV, RESULTS_MD, CONFIG_JSON, TEST_LABELS):
            (self.path / name).unlink(missing_ok=True)
        for name in FIGURE_NAMES:
            (self.path / name).unlink(missing_ok=True)
        for sub in (FITS_DIR, PREDICTIONS_DIR):
            shutil.rmtree(self.path / sub, ignore_errors=True)

    def read_rows(self) -> pd.DataFrame:
        """Rows saved so far; a row cut short by a crash is dropped."""
        if not self.csv.exists() or self.csv.stat().st_size == 0:
            return pd.DataFrame(columns=list(COLUMNS))
        frame = pd.read_csv(self.csv, dtype={"params": str, "dataset": str})
        complete = frame.dropna(subset=[*KEY_COLUMNS, "accuracy"])
        if len(complete) < len(frame):
            # rewrite without the broken line so that appending stays valid CSV
            complete.to_csv(self.csv, index=False)
        return complete.reset_index(drop=True)

    def append(self, row: dict) -> None:
        new = not self.csv.exists() or self.csv.stat().st_size == 0
        with self.csv.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow(row)
            handle.flush()

    def save_fit(self, fit_id: str, record: dict) -> None:
        arrays = {
            "originals": record["originals"],
            "reconstructions": record["reconstructions"],
        }
        for key, values in record["history"].items():
            arrays[f"history__{key}"] = values
        np.savez_compressed(self.path / FITS_DIR / f"{fit_id}.npz", **arrays)

    def save_predictions(self, row_id: str, y_pred) -> None:
        np.save(self.path / PREDICTIONS_DIR / f"{row_id}.npy", np.asarray(y_pred))

    def write_markdown(self, frame: pd.DataFrame, config: dict) -> None:
        header = (
            f"# skae study: {config['dataset']}\n\n"
            f"Data: {config['protocol']}. Neural representations: hidden layers "
            f"{tuple(config['hidden_layer_sizes'])}, {config['max_epochs']} epochs, "
            f"optimizer {config['optimizer']}, batch {config['batch_size']}. "
            f"skae {skae.__version__}, {_dt.date.today().isoformat()}.\n"
        )
        (self.path / RESULTS_MD).write_text(f"{header}\n{to_markdown(frame)}\n")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _differences(old: dict, new: dict) -> str:
    diffs = [
        f"{key}: {old.get(key)!r} there, {value!r} here"
        for key, value in new.items()
        if old.get(key) != value
    ]
    return "; ".join(diffs)


def row_id(row) -> str:
    """File stem of a row's saved predictions."""
    return (
        f"{row['representation']}_m{int(row['latent_dim'])}_s{int(row['seed'])}_{row['classifier']}"
    )


def load_predictions(output_dir, row) -> tuple[np.ndarray, np.ndarray]:
    """The test labels and one row's saved test predictions, from a study folder.

    Parameters
    ----------
    output_dir : str or path
        A folder written by :func:`run_study`.
    row : mapping or pandas.Series
        A row of its results (``representation``, ``latent_dim``, ``seed``,
        ``classifier`` are used).

    Returns
    -------
    y_true, y_pred : ndarray of shape (n_test,)
        For per-class metrics or a confusion matrix, e.g.
        ``sklearn.metrics.classification_report(*load_predictions(folder, row))``.
    """
    folder = Path(output_dir)
    return np.load(folder / TEST_LABELS), np.load(folder / PREDICTIONS_DIR / f"{row_id(row)}.npy")


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub Markdown table of ``frame`` (no dependency on tabulate)."""

    def cell(value):
        if isinstance(value, float | np.floating):
            return "" if math.isnan(value) else format(value, floatfmt)
        return str(value).replace("|", "\\|")

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    lines = [
        "| " + " | ".join(str(c) for c in frame.columns) + " |",
        "|" + "|".join("---:" if num else ":---" for num in numeric) + "|",
    ]
    for values in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(lines)


FIGURE_NAMES = (
    "accuracy_vs_latent.png",
    "reconstructions.png",
    "confusion_matrix.png",
    "learning_curves.png",
)


# ---------------------------------------------------------------------- one cell
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

    skorch ends a fit quietly on KeyboardInterrupt (it keeps the model trained so
    far); a study must stop instead, so the runner checks this flag after each fit.
    """

    def __init__(self):
        self.raised = False
        self._previous = None

    def __enter__(self):
        self.raised = False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        self.raised = True
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
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


def _run_cell(cell: _Cell, data: StudyData, settings: ModelSettings, dataset: str):
    """Fit one representation; yield its record, then one row per classifier."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    estimator = get_representation(cell.representation).build(settings, cell.latent_dim, cell.seed)
    if type(estimator).__module__.startswith("skae"):
        _warm_up()
    start = time.perf_counter()
    estimator.fit(data.X_train)
    fit_seconds = time.perf_counter() - start
    if _INTERRUPT.raised:  # skorch swallowed a Ctrl-C: the fit is incomplete
        raise KeyboardInterrupt
    start = time.perf_counter()
    Z_train = estimator.transform(data.X_train)
    Z_test = estimator.transform(data.X_test)
    transform_seconds = time.perf_counter() - start

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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(Z_train, data.y_train)
        y_pred = classifier.predict(Z_test)
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
        }
        yield "row", {c: row[c] for c in COLUMNS}, y_pred


# ---------------------------------------------------------------------- execution
def _execute(plan: _Plan, data: StudyData, folder: _StudyFolder | None, *, figures: bool):
    from tqdm.auto import tqdm

    cells = plan.cells()
    saved = folder.read_rows() if folder is not None else pd.DataFrame(columns=list(COLUMNS))
    done = {_key(row) for row in saved.to_dict("records")}
    wanted = [
        (plan.dataset, c.representation, c.params, c.latent_dim, name, c.seed)
        for c in cells
        for name in c.classifiers
    ]
    todo = []
    for cell in cells:
        cell.classifiers = [
            name
            for name in cell.classifiers
            if (plan.dataset, cell.representation, cell.params, cell.latent_dim, name, cell.seed)
            not in done
        ]
        if cell.classifiers:
            todo.append(cell)
    n_todo = sum(len(c.classifiers) for c in todo)
    n_kept = len(wanted) - n_todo
    if plan.verbose and n_kept:
        _note(f"resuming: {n_kept} of {len(wanted)} rows already in '{folder.path}'")

    rows = [r for r in saved.to_dict("records") if _key(r) in set(wanted)]
    config = plan.config(data)
    bar = tqdm(
        total=n_todo,
        disable=True if plan.verbose == 0 else None,
        unit="row",
        desc="skae study",
        file=sys.stderr,
        leave=False,
    )

    def on_row(row, y_pred):
        if folder is not None:
            folder.save_predictions(row_id(row), y_pred)
            folder.append(row)
        rows.append(row)
        bar.update()
        if plan.verbose >= 2:
            bar.write(
                f"{row['representation']} m={row['latent_dim']} {row['classifier']} "
                f"seed={row['seed']}: accuracy {row['accuracy']:.4f}",
                file=sys.stderr,
            )

    def handle(cell, event):
        if event[0] == "fit":
            if folder is not None:
                folder.save_fit(cell.fit_id, event[1])
        else:
            on_row(event[1], event[2])

    try:
        with _INTERRUPT:
            if plan.n_jobs == 1 or len(todo) <= 1:
                with _limited_threads(plan.torch_threads):
                    for cell in todo:
                        for event in _run_cell(cell, data, plan.settings, plan.dataset):
                            handle(cell, event)
            else:
                from joblib import Parallel, delayed

                parallel = Parallel(n_jobs=plan.n_jobs, return_as="generator_unordered")
                jobs = (
                    delayed(_run_cell_indexed)(
                        i, cell, data, plan.settings, plan.dataset, plan.torch_threads
                    )
                    for i, cell in enumerate(todo)
                )
                for index, events in parallel(jobs):
                    for event in events:
                        handle(todo[index], event)
    except KeyboardInterrupt:
        bar.close()
        frame = _ordered(rows, wanted)
        if folder is not None:
            folder.write_markdown(frame, config)
        raise StudyInterrupted(len(frame), len(wanted), plan.output_dir) from None
    bar.close()
    frame = _ordered(rows, wanted)
    if folder is not None:
        folder.write_markdown(frame, config)
        if figures:
            _draw_figures(folder.path, frame, plan.verbose)
    return frame


def _run_cell_indexed(index, cell, data, settings, dataset, torch_threads):
    """A whole cell in a worker process: its events, with the same threads as in-process."""
    with _limited_threads(torch_threads):
        return index, list(_run_cell(cell, data, settings, dataset))


def _draw_figures(path: Path, frame: pd.DataFrame, verbose: int) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if verbose:
            _note("figures skipped: matplotlib is not installed (pip install skae[plot])")
        return
    from ._figures import plot_study

    plot_study(path, frame)


def _key(row) -> tuple:
    return (
        str(row["dataset"]),
        str(row["representation"]),
        str(row["params"]),
        int(row["latent_dim"]),
        str(row["classifier"]),
        int(row["seed"]),
    )


def _ordered(rows: list, wanted: list) -> pd.DataFrame:
    """The rows of the requested grid, in grid order, as a typed DataFrame."""
    by_key = {_key(r): r for r in rows}
    frame = pd.DataFrame([by_key[k] for k in wanted if k in by_key], columns=list(COLUMNS))
    for column in ("latent_dim", "n_codes", "seed", "n_parameters", "n_train", "n_test"):
        frame[column] = frame[column].astype("int64")
    for column in COLUMNS[COLUMNS.index("accuracy") : COLUMNS.index("n_parameters")]:
        frame[column] = frame[column].astype("float64")
    return frame.reset_index(drop=True)


def _note(message: str) -> None:
    print(f"skae study: {message}", file=sys.stderr)
