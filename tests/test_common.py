"""scikit-learn's API checks for every skae estimator."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    AutoencoderTransformer,
    EncoderClassifier,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)

# Cheap settings: the checks fit dozens of times on tiny data.
ESTIMATORS = [
    AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=3, random_state=0),
    ITLAutoencoder(
        regularizer="csd+adversarial",
        hidden_layer_sizes=(8,),
        discriminator_hidden_layer_sizes=(4,),
        batch_size=50,
        max_epochs=2,
        random_state=0,
    ),
    # random-init baseline, tiny; lr/batch high enough to pass the accuracy checks
    EncoderClassifier(
        encoder_hidden_layer_sizes=(8,), lr=0.05, batch_size=32, max_epochs=3, random_state=0
    ),
    KAutoencoderTransformer(
        AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=2),
        n_autoencoders=2,
        latent_dim=2,
        random_state=0,
    ),
    # The checks use data outside [0, 1], hence the squared-error likelihood.
    VAETransformer(
        latent_dim=2,
        hidden_layer_sizes=(8,),
        loss="mse",
        output_activation="linear",
        max_epochs=2,
        random_state=0,
    ),
    # The checks' feature counts are arbitrary: a 1 x n_features "image" (one -1 entry
    # is inferred) runs the convolutional path on any of them.
    VAETransformer(
        latent_dim=2,
        architecture="conv",
        image_shape=(1, 1, -1),
        conv_channels=(4,),
        hidden_layer_sizes=(),
        loss="mse",
        output_activation="linear",
        max_epochs=2,
        random_state=0,
    ),
]

EXPECTED_FAILED_CHECKS: dict = {}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("writeable", [True, False], ids=["writeable", "read-only"])
def test_float32_input_is_read_not_written(estimator, writeable, digits):
    """float32 training data are shared with torch, not copied: fit must only read them.

    Read-only arrays (e.g. memory maps) are copied instead, without torch's warning
    about non-writable arrays.
    """
    X, y = digits
    X = X[:120].astype(np.float32)
    before = X.copy()
    X.setflags(write=writeable)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fitted = clone(estimator).fit(X, y[:120])
    np.testing.assert_array_equal(X, before)
    use = fitted.predict if hasattr(fitted, "predict") else fitted.transform
    use(X)
    np.testing.assert_array_equal(X, before)
