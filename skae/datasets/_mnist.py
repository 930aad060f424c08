"""Loaders of MNIST, Fashion-MNIST and Kuzushiji-MNIST (KMNIST)."""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.utils import Bunch

from ._download import ensure_files
from ._errors import DatasetFileError
from ._home import get_data_home
from ._idx import parse_idx_gz
from ._npz import parse_npz
from ._sources import OFFICIAL_MD5, SOURCES, SUBSETS

IMAGE_SHAPE = (28, 28)


def check_subset(subset):
    """The parts to read for ``subset``: ('train',), ('test',) or ('train', 'test')."""
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {', '.join(map(repr, SUBSETS))}; got {subset!r}.")
    return ("train", "test") if subset == "all" else (subset,)


def load_mnist_like(name, *, subset, data_home, download_if_missing, return_X_y):
    """Shared body of :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_kmnist`."""
    source = SOURCES[name]
    parts = check_subset(subset)
    folder = get_data_home(data_home) / source.folder
    ensure_files(
        source,
        [filename for part in parts for filename in source.files[part]],
        folder,
        download_if_missing=download_if_missing,
    )
    images, labels, provenance = [], [], []
    for part in parts:
        image_file, label_file = source.files[part]
        part_images = _read(source, folder / image_file, IMAGE_SHAPE, provenance)
        part_labels = _read(source, folder / label_file, (), provenance)
        if len(part_images) != len(part_labels):
            raise DatasetFileError(
                f"{folder / label_file} has {len(part_labels):,} labels but "
                f"{folder / image_file} has {len(part_images):,} images."
            )
        n_classes = len(source.target_names)
        if len(part_labels) and not 0 <= part_labels.min() <= part_labels.max() < n_classes:
            raise DatasetFileError(
                f"{folder / label_file} has labels from {part_labels.min()} to "
                f"{part_labels.max()}, expected 0 to {n_classes - 1}."
            )
        images.append(part_images)
        labels.append(part_labels)
    # concatenate copies even a single part: the parsed arrays may be read-only views
    images = np.concatenate(images)
    target = np.concatenate(labels).astype(np.int64)
    return image_bunch(
        images,
        target,
        max_value=255,
        target_names=source.target_names,
        descr=f"{source.descr}\nFiles read from {folder}:\n" + "\n".join(provenance) + "\n",
        subset=subset,
        return_X_y=return_X_y,
    )


def image_bunch(images, target, *, max_value, target_names, descr, subset, return_X_y):
    """What every loader returns: ``(data, target)`` or the Bunch described in the package.

    ``data`` is ``images`` flattened to one row per image and divided by ``max_value``
    (the largest grey level), as float32 in [0, 1].
    """
    # one pass: integers -> float32 and the division (the same values as astype, then /=)
    data = np.divide(images.reshape(len(images), -1), np.float32(max_value), dtype=np.float32)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=images,
        target_names=np.asarray(target_names),
        feature_names=[f"pixel_{i}" for i in range(data.shape[1])],
        DESCR=descr,
        subset=subset,
    )


def _read(source, path, item_shape, provenance):
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetFileError(f"cannot read {path}: {exc}") from exc
    official = OFFICIAL_MD5[source.name][path.name]
    if hashlib.md5(raw, usedforsecurity=False).hexdigest() == official:
        provenance.append(f"- {path.name}: the official file (md5 {official})")
    else:
        provenance.append(
            f"- {path.name}: md5 differs from the official {official} (recompressed or "
            "rebuilt copy; structure validated)"
        )
    if source.file_format == "idx":
        return parse_idx_gz(raw, item_shape=item_shape, path=path)
    return parse_npz(raw, item_shape=item_shape, path=path, images=bool(item_shape))


_COMMON_PARAMETERS = """\
    Parameters
    ----------
    subset : {{'train', 'test', 'all'}}, default='train'
        The official training set ({n_train} images), test set ({n_test} images), or
        both ('all': training images first, then test images).
    data_home : str or path-like, default=None
        Folder holding ``{folder}/``; ``None`` means ``SKAE_DATA``, then
        ``~/scikit_learn_data/skae`` (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        Download missing files from the official source (checked against the
        official md5); if False, raise :class:`DatasetNotFoundError` instead.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of float32, shape (n_samples, 784)
            Pixels in [0, 1] (bytes divided by 255), rows of the images in order.
        target : ndarray of int64, shape (n_samples,)
            Class labels, 0 to 9.
        images : ndarray of uint8, shape (n_samples, 28, 28)
            The raw images, 0 to 255 (a separate array from ``data``).
        target_names : ndarray of str, shape (10,)
            {target_names}
        feature_names : list of str
            ``'pixel_0'`` to ``'pixel_783'``, row-major.
        DESCR : str
            Description, provenance and, for each file read, whether it is the official
            file (md5).
        subset : str
            The ``subset`` asked for.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    Raises
    ------
    DatasetNotFoundError
        A file is missing and could not be downloaded; the message says which file,
        where it belongs and where to get it.
    DatasetFileError
        A file is truncated, corrupt or of the wrong structure.

"""


def _document(func, **fields):
    if func.__doc__:  # None under python -OO
        func.__doc__ = func.__doc__.replace(
            "    {parameters}\n", _COMMON_PARAMETERS.format(**fields)
        )
    return func


def load_mnist(*, subset="train", data_home=None, download_if_missing=True, return_X_y=False):
    """Load the MNIST handwritten digits (28x28, 10 classes).

    Reads the four official gzipped IDX files from ``<data home>/mnist/``, validating
    their headers and sizes, and downloads missing ones unless told not to.

    {parameters}
    See Also
    --------
    load_fashion_mnist, load_kmnist : Data sets of the same format.
    load_dataset : Any data set by name.
    load_split : A train/test split with a description of the protocol.

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. Gradient-based learning applied to
    document recognition. Proceedings of the IEEE, 86(11):2278-2324, 1998.

    Examples
    --------
    .. requires: datasets

    >>> from skae.datasets import load_mnist
    >>> mnist = load_mnist(subset="test")
    >>> mnist.data.shape, mnist.data.dtype, mnist.images.shape
    ((10000, 784), dtype('float32'), (10000, 28, 28))
    >>> print(mnist.target[:8], mnist.data.max())
    [7 2 1 0 4 1 4 9] 1.0
    """
    return load_mnist_like(
        "mnist",
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
    )


def load_fashion_mnist(
    *, subset="train", data_home=None, download_if_missing=True, return_X_y=False
):
    """Load Fashion-MNIST, Zalando's article images (28x28, 10 classes).

    Reads the four gzipped IDX files from ``<data home>/fashion-mnist/``, validating
    their headers and sizes, and downloads missing ones unless told not to.

    {parameters}
    See Also
    --------
    load_mnist, load_kmnist : Data sets of the same format.
    load_dataset : Any data set by name.

    References
    ----------
    H. Xiao, K. Rasul and R. Vollgraf. Fashion-MNIST: a novel image dataset for
    benchmarking machine learning algorithms. arXiv:1708.07747, 2017.

    Examples
    --------
    .. requires: datasets

    >>> from skae.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test", return_X_y=True)
    >>> X.shape, y[:5]
    ((10000, 784), array([9, 2, 1, 1, 6]))
    """
    return load_mnist_like(
        "fashion-mnist",
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
    )


def load_kmnist(*, subset="train", data_home=None, download_if_missing=True, return_X_y=False):
    """Load Kuzushiji-MNIST (KMNIST), cursive Japanese hiragana (28x28, 10 classes).

    Reads the four official ``.npz`` files (array ``arr_0``) from ``<data home>/kmnist/``,
    validating their dtype and shape, and downloads missing ones unless told not to.
    The skae project's offline mirror lacks the 60,000 training images: without a network
    only ``subset='test'`` works there (see :func:`load_split` for the fixed stratified
    split of the test images used offline).

    {parameters}
    See Also
    --------
    load_mnist, load_fashion_mnist : Data sets of the same format.
    load_split : ``split='test-only'`` splits the test images when the training images
        are missing.

    References
    ----------
    T. Clanuwat, M. Bober-Irizar, A. Kitamoto, A. Lamb, K. Yamamoto and D. Ha. Deep
    learning for classical Japanese literature. arXiv:1812.01718, 2018.

    Examples
    --------
    .. requires: datasets

    >>> from skae.datasets import load_kmnist
    >>> kmnist = load_kmnist(subset="test")
    >>> kmnist.data.shape, kmnist.target_names[:3].tolist()
    ((10000, 784), ['o', 'ki', 'su'])
    """
    return load_mnist_like(
        "kmnist",
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
    )


_document(
    load_mnist,
    n_train="60,000",
    n_test="10,000",
    folder="mnist",
    target_names="``'0'`` to ``'9'``.",
)
_document(
    load_fashion_mnist,
    n_train="60,000",
    n_test="10,000",
    folder="fashion-mnist",
    target_names="``'T-shirt/top'``, ``'Trouser'``, ..., ``'Ankle boot'``.",
)
_document(
    load_kmnist,
    n_train="60,000",
    n_test="10,000",
    folder="kmnist",
    target_names="Romanised character names ``'o'``, ``'ki'``, ..., ``'wo'``.",
)
