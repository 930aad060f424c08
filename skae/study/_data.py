"""Data sets of a study: names, sizes and the fixed train/test protocols."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import StudyError


@dataclass(frozen=True)
class DatasetSpec:
    """What a study needs to know about a data set before loading it."""

    name: str
    n_features: int
    image_shape: tuple[int, int]
    #: training/test sizes used when ``n_train``/``n_test`` are not given (None: all)
    n_train: int | None
    n_test: int | None
    #: the same for ``quick=True``
    quick_n_train: int | None
    quick_n_test: int | None
    summary: str


DATASETS = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "digits", 64, (8, 8), None, None, None, None,
            "scikit-learn's bundled 8x8 digits (1,797 images, no download); "
            "fixed stratified 75/25 split (1,347/450, random_state=0)",
        ),
        DatasetSpec(
            "mnist", 784, (28, 28), 10_000, None, 1_000, 1_000,
            "MNIST handwritten digits; official train/test sets",
        ),
        DatasetSpec(
            "fashion-mnist", 784, (28, 28), 10_000, None, 1_000, 1_000,
            "Fashion-MNIST clothing images; official train/test sets",
        ),
        DatasetSpec(
            "kmnist", 784, (28, 28), 10_000, None, 1_000, 1_000,
            "Kuzushiji-MNIST; official train/test sets (needs the 60,000 training images)",
        ),
        DatasetSpec(
            "kmnist-test", 784, (28, 28), None, None, 1_000, 1_000,
            "Kuzushiji-MNIST's 10,000 official test images with a fixed stratified "
            "8,000/2,000 split (random_state=0), for use without the training images",
        ),
    )
}  # fmt: skip


@dataclass
class StudyData:
    """Train and test arrays of a study and how they were made.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features), dtype float32
        Training images, one per row, in [0, 1].
    y_train : ndarray of shape (n_train,)
        Their class labels.
    X_test : ndarray of shape (n_test, n_features), dtype float32
        Test images.
    y_test : ndarray of shape (n_test,)
        Their class labels.
    image_shape : tuple of int
        ``(height, width)`` of one image.
    protocol : str
        One sentence describing the split, quoted in the study's tables.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int]
    protocol: str


_KMNIST_TEST = "dataset 'kmnist-test'"


def resolve_sizes(spec: DatasetSpec, n_train, n_test, quick: bool) -> tuple:
    """The requested (n_train, n_test), with the data set's defaults filled in."""
    default_train = spec.quick_n_train if quick else spec.n_train
    default_test = spec.quick_n_test if quick else spec.n_test
    n_train = default_train if n_train is None else n_train
    n_test = default_test if n_test is None else n_test
    return (None if n_train == "all" else n_train), (None if n_test == "all" else n_test)


def _head(X, y, n, what, name):
    if n is None:
        return X, y
    if n > len(X):
        rest = f" is more than the {len(X):,} images available in {name!r}."
        raise StudyError(f"{what}={n}{rest}", cli_message=f"--{what.replace('_', '-')} {n}{rest}")
    return X[:n], y[:n]


def load_study_data(
    name: str, *, n_train=None, n_test=None, quick=False, data_home=None, download=True
):
    """Load the train/test arrays of data set ``name`` under the study's protocol.

    The arrays come from :func:`skae.datasets.load_split`. ``n_train``/``n_test`` keep
    the first rows of each set (official order, or the order of the fixed split);
    ``None`` uses the data set's default, ``'all'`` all of it.

    Parameters
    ----------
    name : str
        A data set name, one of :func:`skae.study.dataset_names`.
    n_train, n_test : int, 'all' or None, default=None
        Rows kept from each set.
    quick : bool, default=False
        Use the smoke-test defaults of ``n_train``/``n_test``.
    data_home : str or path, default=None
        Data home of :mod:`skae.datasets`.
    download : bool, default=True
        Download missing files (``download_if_missing`` of the loaders).

    Returns
    -------
    data : StudyData
    """
    spec = DATASETS[name]
    n_train, n_test = resolve_sizes(spec, n_train, n_test, quick)
    split = _load_split(name, data_home, download)
    X_train, y_train = _head(split.X_train, split.y_train, n_train, "n_train", name)
    X_test, y_test = _head(split.X_test, split.y_test, n_test, "n_test", name)
    protocol = f"{name}: {split.protocol}"
    if n_train is not None or n_test is not None:
        protocol += f"; first {len(X_train):,} training and {len(X_test):,} test images used"
    return StudyData(
        np.asarray(X_train, dtype=np.float32),
        np.asarray(y_train),
        np.asarray(X_test, dtype=np.float32),
        np.asarray(y_test),
        spec.image_shape,
        protocol,
    )


def _load_split(name: str, data_home, download: bool):
    """The train/test split of data set ``name`` (see :func:`load_study_data`).

    A data home that cannot be read (no permission, an I/O error) raises
    :class:`skae.datasets.DatasetNotFoundError` naming it, as a missing file does.
    """
    from skae.datasets import DatasetFileError, DatasetNotFoundError, get_data_home, load_split

    load = dict(data_home=data_home, download_if_missing=download)
    try:
        if name == "kmnist-test":
            split = load_split("kmnist", split="test-only", test_size=2000, **load)
        else:
            try:
                split = load_split(name, split="official", **load)
            except FileNotFoundError as exc:
                if name != "kmnist":
                    raise
                hint = (
                    " For a study without the KMNIST training images use {} (the official "
                    "test images, fixed stratified 8,000/2,000 split)."
                )
                raise type(exc)(
                    f"{exc}{hint.format(_KMNIST_TEST)}",
                    cli_message=f"{getattr(exc, 'cli_message', exc)}"
                    f"{hint.format('--dataset kmnist-test')}",
                ) from exc
    except (DatasetNotFoundError, DatasetFileError):
        raise
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        problem = f"cannot read the data home {get_data_home(data_home)}{where}: "
        problem += f"{exc.strerror or exc}; make it readable, or point SKAE_DATA or "
        raise DatasetNotFoundError(
            problem + "data_home at another folder.",
            cli_message=problem + "--data-home at another folder.",
        ) from None
    return split
