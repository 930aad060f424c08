"""Shared fixtures: data home, seeds and small data sets."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skae.datasets import get_data_home

#: the files the data tests read (the test sets of MNIST, Fashion-MNIST and KMNIST),
#: relative to the data home
DATA_FILES = (
    "mnist/t10k-images-idx3-ubyte.gz",
    "mnist/t10k-labels-idx1-ubyte.gz",
    "fashion-mnist/t10k-images-idx3-ubyte.gz",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz",
    "kmnist/kmnist-test-imgs.npz",
    "kmnist/kmnist-test-labels.npz",
)


def missing_data_reason():
    """Why the data tests cannot run here, or None when the data home has their files.

    Looks at the files only: deciding to skip never touches the network, so that a
    machine without data and without a network skips these tests at once.
    """
    home = get_data_home()
    if all((home / name).is_file() for name in DATA_FILES):
        return None
    return (
        f"MNIST, Fashion-MNIST and KMNIST test files not found in the data home ({home}); "
        "set SKAE_DATA to a folder holding them (mnist/, fashion-mnist/, kmnist/) "
        "to run this test"
    )


def requires_data(test):
    """Mark ``test`` as reading the MNIST-like files (marker ``datasets``); skip without them.

    The tests never download: ``pytest -m datasets`` with ``SKAE_DATA`` set runs them.
    """
    reason = missing_data_reason()
    return pytest.mark.datasets(pytest.mark.skipif(reason is not None, reason=reason or "")(test))


# The test networks are tiny: one torch thread is several times faster than two
# threads fighting over two cores (and leaves a core to parallel GridSearchCV workers).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Seed global generators so tests that do not pass random_state are repeatable."""
    np.random.seed(0)  # noqa: NPY002 (code under test may use the legacy global RNG)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits scaled to [0, 1]: (X, y)."""
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float64), y


@pytest.fixture(scope="session")
def digits_split(digits):
    """A fixed stratified train/test split of the digits."""
    from sklearn.model_selection import train_test_split

    X, y = digits
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
