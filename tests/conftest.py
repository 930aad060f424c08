"""Shared fixtures: data home, seeds and small data sets."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

#: the local mirror of MNIST-like data sets, beside the repository
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Tests read data through the package's loaders from the local mirror (no network).
if SHARED_DATA.is_dir():
    os.environ.setdefault("SKAE_DATA", str(SHARED_DATA))

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
