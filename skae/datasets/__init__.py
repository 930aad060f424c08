"""Image data sets for autoencoder experiments: MNIST, Fashion-MNIST, KMNIST, digits.

The loaders read the official files from a data home (:func:`get_data_home`: the
``data_home`` argument, else ``SKAE_DATA``, else ``~/scikit_learn_data/skae``),
validate them, and download missing ones from the official sources when allowed. Each
returns a :class:`~sklearn.utils.Bunch` with ``data`` (float32 in [0, 1], one image per
row), ``target`` (int64), ``images``, ``target_names``, ``feature_names``, ``DESCR``
(with provenance) and ``subset``.

Two exceptions cover every problem with the data files themselves:
:class:`DatasetNotFoundError` (missing, not downloadable) and :class:`DatasetFileError`
(present but unusable).
"""

from ._dispatch import DATASET_NAMES, load_dataset
from ._errors import DatasetFileError, DatasetNotFoundError
from ._home import get_data_home
from ._mnist import load_fashion_mnist, load_kmnist, load_mnist
from ._split import load_split

__all__ = [
    "DATASET_NAMES",
    "DatasetFileError",
    "DatasetNotFoundError",
    "get_data_home",
    "load_dataset",
    "load_fashion_mnist",
    "load_kmnist",
    "load_mnist",
    "load_split",
]
