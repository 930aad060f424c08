"""Load any of skae's data sets by name."""

from __future__ import annotations

from ._digits import load_digits
from ._mnist import load_fashion_mnist, load_kmnist, load_mnist

#: names accepted by :func:`load_dataset` and :func:`load_split`
DATASET_NAMES = ("digits", "mnist", "fashion-mnist", "kmnist")

_LOADERS = dict(zip(DATASET_NAMES, (load_digits, load_mnist, load_fashion_mnist, load_kmnist)))


def check_name(name):
    """The canonical data set name for ``name`` (case and '_'/'-' are not significant)."""
    key = name.lower().replace("_", "-") if isinstance(name, str) else None
    if key not in _LOADERS:
        raise ValueError(
            f"Unknown data set {name!r}; valid names are {', '.join(map(repr, DATASET_NAMES))}."
        )
    return key


def load_dataset(name, *, subset=None, data_home=None, download_if_missing=True, return_X_y=False):
    """Load one of skae's data sets by name.

    Parameters
    ----------
    name : {'digits', 'mnist', 'fashion-mnist', 'kmnist'}
        The data set (see ``DATASET_NAMES``); case and ``_``/``-`` do not matter.

        - ``'digits'``: scikit-learn's bundled 8x8 digits (1,797 images, no download),
          ``data`` float32 in [0, 1] (levels divided by 16), ``images`` uint8 (n, 8, 8)
          with levels 0 to 16.
        - ``'mnist'``, ``'fashion-mnist'``, ``'kmnist'``: see :func:`load_mnist`,
          :func:`load_fashion_mnist`, :func:`load_kmnist`.
    subset : {'train', 'test', 'all'}, default=None
        ``None`` means each loader's default: ``'train'`` for the MNIST-like sets,
        ``'all'`` for digits. Digits has no official split: its ``'train'`` and
        ``'test'`` are a fixed stratified split, 1,347 and 450 images
        (``train_test_split(test_size=0.25, stratify=target, random_state=0)``).
    data_home : str or path-like, default=None
        See :func:`get_data_home`; ignored for digits.
    download_if_missing : bool, default=True
        Download missing files from the official source; ignored for digits.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (float32, in [0, 1]), ``target`` (int64), ``images``,
        ``target_names``, ``feature_names``, ``DESCR`` and ``subset``, as described in
        :func:`load_mnist`.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays.

    Raises
    ------
    ValueError
        Unknown ``name`` or ``subset``.
    DatasetNotFoundError, DatasetFileError
        See :func:`load_mnist`.

    See Also
    --------
    load_split : A train/test split of a data set, with a description of the protocol.

    Examples
    --------
    >>> from skae.datasets import load_dataset
    >>> digits = load_dataset("digits")
    >>> digits.data.shape, digits.data.dtype, float(digits.data.max())
    ((1797, 64), dtype('float32'), 1.0)
    >>> X, y = load_dataset("digits", subset="test", return_X_y=True)
    >>> X.shape
    (450, 64)
    """
    loader = _LOADERS[check_name(name)]
    kwargs = {} if subset is None else {"subset": subset}
    return loader(
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        **kwargs,
    )
