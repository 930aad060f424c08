"""A train/test split of a data set, with a sentence saying how it was made."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils import Bunch

from ._dispatch import check_name, load_dataset
from ._home import get_data_home
from ._sources import SOURCES

SPLITS = ("auto", "official", "test-only")


def load_split(
    name,
    *,
    split="auto",
    test_size=0.2,
    random_state=0,
    data_home=None,
    download_if_missing=True,
):
    """Load a data set as ``X_train, X_test, y_train, y_test`` and describe the protocol.

    Parameters
    ----------
    name : {'digits', 'mnist', 'fashion-mnist', 'kmnist'}
        The data set, as in :func:`load_dataset`.
    split : {'auto', 'official', 'test-only'}, default='auto'
        - ``'official'``: the official training and test sets (for digits, which has
          none, the fixed stratified 1,347/450 split of :func:`load_dataset`).
        - ``'test-only'``: only the official test images, split in a stratified way into
          a part to fit (``1 - test_size``) and a part to evaluate (``test_size``)
          with ``random_state``. This is the offline protocol for KMNIST, whose
          training images the skae project's mirror lacks: 8,000 to fit, 2,000 to
          evaluate with the defaults.
        - ``'auto'``: ``'official'``, except for KMNIST when its training images are
          not in the data home: then ``'test-only'`` with a warning (no download is
          attempted for them; ask for ``'official'`` to download).
    test_size : float or int, default=0.2
        For ``'test-only'``: the fraction (or number) of test images to evaluate on.
    random_state : int, default=0
        For ``'test-only'``: seed of the stratified split.
    data_home : str or path-like, default=None
        See :func:`get_data_home`.
    download_if_missing : bool, default=True
        Download missing files from the official source.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        With ``X_train``, ``X_test`` (float32 in [0, 1], one image per row),
        ``y_train``, ``y_test`` (int64), ``target_names``, ``name`` (the data set),
        ``split`` (``'official'`` or ``'test-only'``, what was done), ``protocol`` (one
        sentence describing the split, to quote in tables) and ``DESCR``.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``.
    DatasetNotFoundError, DatasetFileError
        See :func:`load_mnist`.

    Warns
    -----
    UserWarning
        When ``split='auto'`` falls back to ``'test-only'`` for KMNIST.

    See Also
    --------
    load_dataset : One subset of a data set.

    Examples
    --------
    .. requires: datasets

    >>> from skae.datasets import load_split
    >>> kmnist = load_split("kmnist", split="test-only")
    >>> kmnist.X_train.shape, kmnist.X_test.shape
    ((8000, 784), (2000, 784))
    >>> print(kmnist.protocol)
    stratified 8,000/2,000 split (fit/evaluate) of the 10,000 official KMNIST test
    images, random_state=0
    """
    name = check_name(name)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}; got {split!r}.")
    if split == "auto":
        split = "official"
        if name == "kmnist":
            train_images = SOURCES[name].files["train"][0]
            folder = get_data_home(data_home) / SOURCES[name].folder
            if not (folder / train_images).is_file():
                split = "test-only"
                warnings.warn(
                    f"{train_images} is not in {folder}: using KMNIST's 10,000 test images "
                    f"with a stratified split (test_size={test_size}, "
                    f"random_state={random_state}) instead of the official split; pass "
                    "split='official' to download the training images, or "
                    "split='test-only' to silence this warning.",
                    UserWarning,
                    stacklevel=2,
                )
    load = dict(data_home=data_home, download_if_missing=download_if_missing)
    if split == "official":
        train = load_dataset(name, subset="train", **load)
        test = load_dataset(name, subset="test", **load)
        X_train, y_train, X_test, y_test = train.data, train.target, test.data, test.target
        if name == "digits":
            protocol = (
                f"fixed stratified {len(y_train):,}/{len(y_test):,} split of the "
                f"{len(y_train) + len(y_test):,} scikit-learn digits, random_state=0"
            )
        else:
            protocol = (
                f"official split: {len(y_train):,} {_title(name)} training images, "
                f"{len(y_test):,} test images"
            )
        descr = test.DESCR
    else:
        from sklearn.model_selection import train_test_split

        test = load_dataset(name, subset="test", **load)
        X_train, X_test, y_train, y_test = train_test_split(
            test.data,
            test.target,
            test_size=test_size,
            stratify=test.target,
            random_state=random_state,
        )
        protocol = (
            f"stratified {len(y_train):,}/{len(y_test):,} split (fit/evaluate) of the "
            f"{len(test.target):,} official {_title(name)} test images, "
            f"random_state={random_state}"
        )
        descr = test.DESCR
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=np.asarray(y_train),
        y_test=np.asarray(y_test),
        target_names=test.target_names,
        name=name,
        split=split,
        protocol=protocol,
        DESCR=descr,
    )


def _title(name):
    return SOURCES[name].title if name in SOURCES else name
