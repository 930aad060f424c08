"""Where the data sets live: the data home."""

from __future__ import annotations

import os
from pathlib import Path

#: environment variable that names the data home
DATA_HOME_ENV = "SKAE_DATA"


def get_data_home(data_home=None) -> Path:
    """Return the folder skae reads its data sets from (and downloads them to).

    In order of precedence: the ``data_home`` argument, the ``SKAE_DATA`` environment
    variable, then ``skae/`` inside scikit-learn's data home
    (:func:`sklearn.datasets.get_data_home`, by default ``~/scikit_learn_data``). A
    leading ``~`` is expanded. Each data set has its own sub-folder (``mnist/``,
    ``fashion-mnist/``, ``kmnist/``) holding the files under their official names.

    The folder is not created here; it is created when a file is downloaded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit data home; ``None`` means ``SKAE_DATA``, then the default.

    Returns
    -------
    pathlib.Path
        The data home.

    See Also
    --------
    load_dataset : Load a data set from the data home.

    Examples
    --------
    >>> from skae.datasets import get_data_home
    >>> get_data_home("/tmp/my_data").as_posix()
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or None
    if data_home is None:
        # scikit-learn's rule (SCIKIT_LEARN_DATA, else ~/scikit_learn_data), computed
        # here because sklearn.datasets.get_data_home creates the folder
        sklearn_home = os.environ.get("SCIKIT_LEARN_DATA") or os.path.join("~", "scikit_learn_data")
        return Path(sklearn_home).expanduser() / "skae"
    return Path(os.fspath(data_home)).expanduser()
