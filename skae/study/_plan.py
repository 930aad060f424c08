"""Planning a study: check every argument and lay out the grid of cells.

Nothing here loads data or trains: :func:`make_plan` turns the arguments of
:func:`~skae.study.run_study` into a ``_Plan`` (or raises :class:`StudyError`),
and ``_Plan.cells`` lists the representation fits the grid needs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

from ._data import DATASETS, StudyData
from ._errors import StudyError
from ._few_labels import FEW_MODELS, _FewCell, check_few_labels
from ._registry import ModelSettings, get_classifier, get_representation

#: the linear baseline against skae's default autoencoder, as a user gets it
DEFAULT_REPRESENTATIONS = ("pca", "ae-default")
DEFAULT_LATENT_SIZES = (2, 8, 16)
DEFAULT_CLASSIFIERS = ("logreg", "svc", "knn")

#: epochs of the neural representations when ``max_epochs`` is not given
DEFAULT_EPOCHS = {"digits": 100}
DEFAULT_EPOCHS_IMAGES = 20
QUICK_EPOCHS = 3
#: hidden layers when ``hidden_layer_sizes`` is not given, by number of features
DEFAULT_HIDDEN = {64: (128,), 784: (256,)}
#: optimizer and batch size of the neural representations when not given
DEFAULT_OPTIMIZER = "adam"
DEFAULT_BATCH_SIZE = 256
#: the largest seed: numpy's and scikit-learn's ``random_state`` take 32-bit seeds
MAX_SEED = 2**32 - 1
#: the largest layer width torch accepts (a C ``long long``)
MAX_LAYER_SIZE = 2**63 - 1


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

    def key(self, dataset: str, classifier: str) -> tuple:
        """The key of the row this fit gives with ``classifier`` (see ``KEY_COLUMNS``)."""
        return (dataset, self.representation, self.params, self.latent_dim, classifier, self.seed)


def _unique(values, what, one, kind) -> list:
    """``values`` (a list, or a single ``one``) without repeats, in order; not empty."""
    if isinstance(values, one):
        values = [values]
    try:
        values = list(dict.fromkeys(values))
    except TypeError:
        raise StudyError(f"{what} must be a list of {kind}, got {values!r}.") from None
    if not values:
        raise StudyError(f"{what} must not be empty.")
    return values


def _names(values, what, check):
    values = _unique(values, what, str, "names")
    for value in values:
        check(value)
    return values


#: run_study's argument -> the ``skae study`` option that sets it, for the command
#: line's version of a message
OPTIONS = {
    "n_train": "--n-train",
    "n_test": "--n-test",
    "max_epochs": "--max-epochs",
    "batch_size": "--batch-size",
    "torch_threads": "--threads",
    "hidden_layer_sizes": "--hidden",
    "lr": "--lr",
    "n_jobs": "--n-jobs",
    "optimizer": "--optimizer",
    "seeds": "--seeds",
    "few_labels": "--few-labels",
}


def _error(what, must, got):
    """A StudyError ``<what> must <must>, got <got>.``, naming the option in the CLI.

    ``must`` may end in ``" or None"``, which the command line (no option is None)
    leaves out.
    """
    return StudyError(
        f"{what} must {must}, got {got!r}.",
        cli_message=f"{OPTIONS.get(what, what)} must {must.removesuffix(' or None')}, got {got!r}.",
    )


def _integers(values, what, minimum, maximum=None):
    values = _unique(values, what, Integral, "integers")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
            raise _error(what, f"be integers >= {minimum}", value)
        if maximum is not None and value > maximum:
            raise _error(what, _integer_range(minimum, maximum), value)
    return [int(v) for v in values]


def _integer_range(minimum, maximum) -> str:
    powers = {MAX_SEED: " (2**32 - 1)", MAX_LAYER_SIZE: " (2**63 - 1)"}
    return f"be integers from {minimum} to {maximum}{powers.get(maximum, '')}"


def _positive(value, what, *, allow_all=False, allow_none=True):
    if value is None and allow_none:
        return None
    if allow_all and value == "all":
        return value
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        options = ["a positive integer", *(["'all'"] if allow_all else [])]
        options += ["None"] if allow_none else []
        raise _error(what, f"be {' or '.join(options)}", value)
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
    #: labels per class of the few-labels table (None: no such table)
    few_labels: int | None = None

    def check_data(self, data: StudyData) -> None:
        if self.few_labels is not None:
            check_few_labels(data.y_train, self.few_labels)
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

    def params_of(self, name: str) -> str | None:
        """The ``params`` of a row of representation ``name`` under these settings.

        ``None`` when ``name`` is not a representation this version of skae offers.
        """
        try:
            entry = get_representation(name)
        except StudyError:
            return None
        # params depend on the settings only, not on the latent size or the seed
        return entry.describe(entry.build(self.settings, self.latent_sizes[0], 0))

    def cells(self) -> list[_Cell]:
        cells = []
        for name in self.representations:
            params = self.params_of(name)
            for latent_dim in self.latent_sizes:
                for seed in self.seeds:
                    cells.append(_Cell(name, params, latent_dim, seed, list(self.classifiers)))
        return cells

    def few_cells(self) -> list[_FewCell]:
        """One cell per seed for the few-labels table; none without ``few_labels``."""
        if self.few_labels is None:
            return []
        return [_FewCell(self.few_labels, seed, list(FEW_MODELS)) for seed in self.seeds]


def make_plan(
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
    few_labels=None,
) -> _Plan:
    """Check every argument (no data loaded, nothing trained) and fill in defaults.

    ``None`` for ``max_epochs``, ``hidden_layer_sizes``, ``optimizer``, ``lr`` or
    ``batch_size`` means not given: the study's default fills it in, and the settings
    record which ones were given (``ModelSettings.given``).
    """
    given = {
        name
        for name, value in (
            ("max_epochs", max_epochs),
            ("hidden_layer_sizes", hidden_layer_sizes),
            ("optimizer", optimizer),
            ("lr", lr),
            ("batch_size", batch_size),
        )
        if value is not None
    }
    if dataset not in DATASETS:
        raise StudyError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}.")
    spec = DATASETS[dataset]
    representations = _names(representations, "representations", get_representation)
    classifiers = _names(classifiers, "classifiers", get_classifier)
    latent_sizes = _integers(latent_sizes, "latent sizes", 1)
    seeds = _integers(seeds, "seeds", 0, MAX_SEED)
    too_big = [m for m in latent_sizes if m > spec.n_features]
    if too_big:
        raise StudyError(
            f"latent size {too_big[0]} is larger than the {spec.n_features} features of "
            f"{dataset!r}; use latent sizes from 1 to {spec.n_features}."
        )
    _positive(n_train, "n_train", allow_all=True)
    _positive(n_test, "n_test", allow_all=True)
    max_epochs = _positive(max_epochs, "max_epochs")
    few_labels = _positive(few_labels, "few_labels")
    if batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    elif batch_size != "full":
        try:
            batch_size = _positive(batch_size, "batch_size", allow_none=False)
        except StudyError:
            raise _error("batch_size", "be a positive integer or 'full'", batch_size) from None
    torch_threads = _positive(torch_threads, "torch_threads", allow_none=False)
    n_cpus = os.cpu_count() or 1
    if torch_threads > n_cpus:
        # more threads than cores only slow a fit down; far more exhaust the memory
        raise _error(
            "torch_threads", f"be from 1 to {n_cpus} (the CPU cores of this machine)", torch_threads
        )
    if max_epochs is None:
        default_epochs = DEFAULT_EPOCHS.get(dataset, DEFAULT_EPOCHS_IMAGES)
        max_epochs = QUICK_EPOCHS if quick else default_epochs
        if quick:  # a smoke run is short for every neural representation
            given.add("max_epochs")
    if hidden_layer_sizes is None:
        hidden_layer_sizes = DEFAULT_HIDDEN[spec.n_features]
    hidden_layer_sizes = tuple(
        _integers(hidden_layer_sizes, "hidden_layer_sizes", 1, MAX_LAYER_SIZE)
    )
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, Real) or not 0 < lr < math.inf
    ):
        raise _error("lr", "be a positive finite number or None", lr)
    if optimizer is None:
        optimizer = DEFAULT_OPTIMIZER
    _check_optimizer(optimizer)
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0
    ):
        raise _error("n_jobs", "be a non-zero integer or None", n_jobs)
    from joblib import effective_n_jobs

    settings = ModelSettings(
        hidden_layer_sizes=hidden_layer_sizes,
        max_epochs=max_epochs,
        optimizer=optimizer,
        lr=None if lr is None else float(lr),
        batch_size=batch_size,
        image_shape=spec.image_shape,
        given=frozenset(given),
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
        few_labels=few_labels,
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
