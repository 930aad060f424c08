"""scikit-learn's API checks for every skae estimator."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import skae
from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    EncoderClassifier,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)
from skae._training import TensorDataset
from skae.exceptions import InconsistentVersionWarning

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
    AutoencoderOutlierDetector(
        AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=3),
        random_state=0,
    ),
]

EXPECTED_FAILED_CHECKS: dict = {
    "EncoderClassifier": {
        "check_classifiers_classes": (
            "-1 marks unlabelled rows (scikit-learn's semi-supervised convention): the "
            "check's [-1, 1] labels leave a single class, as for LabelSpreading and "
            "SelfTrainingClassifier, which scikit-learn exempts from this check by name"
        )
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_row_alone_gives_the_result_it_gives_in_a_batch(estimator, dtype, digits):
    """Outputs do not depend on which rows share a batch, whatever the CPU's kernels.

    Float64 input is computed in float64, where batch-shape-dependent rounding stays
    far below the common checks' tolerance; float32 input is computed in float32 and
    agrees to float32 precision.
    """
    X, y = digits[0][:200], digits[1][:200]
    fitted = clone(estimator).fit(X, y)
    X = X.astype(dtype)
    tolerance = (
        {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    )
    methods = [m for m in ("transform", "predict_proba") if hasattr(fitted, m)]
    for method in methods:
        full = getattr(fitted, method)(X)
        alone = np.vstack([getattr(fitted, method)(X[i : i + 1]) for i in range(0, 200, 20)])
        assert full.dtype == (dtype if method == "transform" else np.float64)
        np.testing.assert_allclose(alone, full[::20], **tolerance)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("writeable", [True, False], ids=["writeable", "read-only"])
def test_float32_input_is_read_not_written(estimator, writeable, digits, monkeypatch):
    """float32 training data are shared with torch, not copied: fit must only read them.

    Read-only arrays (e.g. memory maps) are copied instead, without torch's warning
    about non-writable arrays.
    """
    X, y = digits
    X = X[:120].astype(np.float32)
    before = X.copy()
    X.setflags(write=writeable)
    datasets = []
    original_init = TensorDataset.__init__

    def spy(self, X_tensor, y_tensor=None):
        datasets.append(X_tensor)
        original_init(self, X_tensor, y_tensor)

    monkeypatch.setattr(TensorDataset, "__init__", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fitted = clone(estimator).fit(X, y[:120])
    monkeypatch.undo()
    np.testing.assert_array_equal(X, before)
    # What training reads is the user's own memory (writeable float32) or a copy
    # (read-only): no second copy of the data set in memory, and none written to.
    assert datasets
    shared = [np.shares_memory(t.detach().numpy(), X) for t in datasets if t.device.type == "cpu"]
    assert any(shared) if writeable else not any(shared)
    use = fitted.predict if hasattr(fitted, "predict") else fitted.transform
    use(X)
    np.testing.assert_array_equal(X, before)


def _fitted(estimator, digits):
    X, y = digits
    return clone(estimator).fit(X[:120], y[:120]), X[:120]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_pickle_is_stamped_with_the_skae_version(estimator, digits):
    fitted, X = _fitted(estimator, digits)
    state_before = dict(fitted.__dict__)
    assert fitted.__getstate__()["_skae_version"] == skae.__version__
    # Pickling reads the estimator: nothing of its own state is replaced or added.
    assert fitted.__dict__.keys() == state_before.keys()
    assert all(fitted.__dict__[k] is v for k, v in state_before.items())

    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = pickle.loads(pickle.dumps(fitted))
    assert "_skae_version" not in loaded.__dict__
    use = "predict" if hasattr(fitted, "predict") else "transform"
    np.testing.assert_allclose(getattr(loaded, use)(X), getattr(fitted, use)(X))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("stamp", ["0.0.1", None], ids=["other-version", "unstamped"])
def test_unpickling_another_version_warns(estimator, stamp, digits, monkeypatch):
    fitted, _ = _fitted(estimator, digits)
    # Pickle as another skae version would (or as skae did before the stamp existed).
    original_getstate = type(fitted).__getstate__

    def getstate(self):
        state = original_getstate(self)
        if stamp is None:
            del state["_skae_version"]
        else:
            state["_skae_version"] = stamp
        return state

    monkeypatch.setattr(type(fitted), "__getstate__", getstate)
    data = pickle.dumps(fitted)
    monkeypatch.undo()

    with pytest.warns(InconsistentVersionWarning) as record:
        pickle.loads(data)
    warning = next(w.message for w in record if w.message.estimator_name == type(fitted).__name__)
    assert warning.original_skae_version == (stamp or "unknown")
    assert warning.current_skae_version == skae.__version__
    assert skae.__version__ in str(warning)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_values_beyond_float32_are_refused_clearly(estimator, digits):
    """float64 values that a float32 network cannot hold get an error, not NaN outputs."""
    X, y = digits[0][:120], digits[1][:120]
    too_large = X.copy()
    too_large[3, 5] = 1e39
    before = too_large.copy()
    with pytest.raises(ValueError, match="beyond float32's range"):
        clone(estimator).fit(too_large, y)
    fitted = clone(estimator).fit(X, y)
    for method in ("transform", "predict", "predict_proba", "reconstruct"):
        if hasattr(fitted, method):
            with pytest.raises(ValueError, match="beyond float32's range"):
                getattr(fitted, method)(too_large)
    np.testing.assert_array_equal(too_large, before)
