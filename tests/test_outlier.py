"""AutoencoderOutlierDetector: scikit-learn's outlier API on any skae autoencoder."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)
from skae._outlier import DEFAULT_ESTIMATOR_PARAMS

TEMPLATE = AutoencoderTransformer(latent_dim=4, hidden_layer_sizes=(32,), max_epochs=20)
TINY = AutoencoderTransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=2)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_class(digits):
    """Normal rows (digit 0), and a mixed evaluation set with its truth (True = normal)."""
    X, y = digits
    normal = X[y == 0]
    return normal, X, y == 0


@pytest.fixture(scope="module")
def fitted(one_class):
    normal, _, _ = one_class
    return AutoencoderOutlierDetector(TEMPLATE, random_state=0).fit(normal)


# --------------------------------------------------------------------- the API
def test_fitted_attributes(fitted, one_class):
    normal, _, _ = one_class
    assert fitted.anomaly_score_ == "combined"
    # pixels are non-negative: the error relative to the image's own ink
    assert fitted.components_ == ("relative_reconstruction", "local_outlier_factor")
    assert isinstance(fitted.code_lof_, LocalOutlierFactor)
    assert fitted.code_lof_.n_neighbors_ == 50 and fitted.code_lof_.n_samples_fit_ == len(normal)
    assert fitted.code_mean_ is None and fitted.code_precision_ is None
    assert fitted.center_.shape == fitted.scale_.shape == fitted.weights_.shape == (2,)
    assert np.all(fitted.scale_ > 0)
    assert fitted.n_features_in_ == 64
    assert isinstance(fitted.estimator_, AutoencoderTransformer)
    assert fitted.estimator_.random_state == 0
    assert not hasattr(TEMPLATE, "net_")  # the template is cloned, never fitted


def test_detects_other_digits(fitted, one_class):
    _, X, normal = one_class
    assert roc_auc_score(normal, fitted.score_samples(X)) > 0.85


def test_outputs_agree(fitted, one_class):
    _, X, _ = one_class
    scores = fitted.score_samples(X)
    decision = fitted.decision_function(X)
    labels = fitted.predict(X)
    assert scores.dtype == decision.dtype == np.float64
    np.testing.assert_allclose(decision, scores - fitted.offset_)
    assert labels.dtype.kind == "i" and set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels, np.where(decision < 0, -1, 1))
    # typical training rows score about 0, far from the outliers
    normal, _, _ = one_class
    assert abs(np.median(fitted.score_samples(normal))) < 0.5


def test_auto_offset_is_tukeys_lower_fence(fitted, one_class):
    normal, X, is_normal = one_class
    q1, q3 = np.percentile(fitted.score_samples(normal), [25, 75])
    assert fitted.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    labels = fitted.predict(X)
    # the boxplot rule is conservative: few normal rows flagged, many times that
    # share of the other digits
    false_alarms = np.mean(labels[is_normal] == -1)
    assert false_alarms < 0.1
    assert np.mean(labels[~is_normal] == -1) > max(0.25, 5 * false_alarms)


@pytest.mark.parametrize("contamination", [0.01, 0.1, 0.25, 0.5])
def test_contamination_flags_that_fraction_of_the_training_rows(one_class, contamination):
    normal, _, _ = one_class
    detector = AutoencoderOutlierDetector(TINY, contamination=contamination, random_state=0)
    labels = detector.fit_predict(normal)
    flagged = np.sum(labels == -1)
    # np.percentile interpolates between two rows: the count is within one of n * c
    assert abs(flagged - contamination * len(normal)) <= 1
    np.testing.assert_array_equal(labels, detector.predict(normal))


def test_fit_predict_equals_fit_then_predict(one_class):
    normal, _, _ = one_class
    detector = AutoencoderOutlierDetector(TINY, random_state=0)
    np.testing.assert_array_equal(
        detector.fit_predict(normal), detector.fit(normal).predict(normal)
    )


def test_random_state_fixes_every_result(one_class):
    normal, X, _ = one_class
    first = AutoencoderOutlierDetector(TINY, random_state=3).fit(normal).score_samples(X)
    second = AutoencoderOutlierDetector(TINY, random_state=3).fit(normal).score_samples(X)
    other = AutoencoderOutlierDetector(TINY, random_state=4).fit(normal).score_samples(X)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_random_state_none_keeps_the_templates_seed(one_class):
    normal, _, _ = one_class
    template = clone(TINY).set_params(random_state=7)
    detector = AutoencoderOutlierDetector(template).fit(normal)
    assert detector.estimator_.random_state == 7


def test_default_estimator(one_class):
    normal, _, _ = one_class
    detector = AutoencoderOutlierDetector(random_state=0)
    # the default template, with few epochs for the test
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(DEFAULT_ESTIMATOR_PARAMS, "max_epochs", 1)
        detector.fit(normal[:40])
    expected = AutoencoderTransformer(**{**DEFAULT_ESTIMATOR_PARAMS, "max_epochs": 1})
    params = detector.estimator_.get_params()
    assert {k: params[k] for k in expected.get_params() if k != "random_state"} == {
        k: v for k, v in expected.get_params().items() if k != "random_state"
    }
    assert detector.estimator is None  # the parameter is left as given


# --------------------------------------------------------------------- scores and models
def test_auto_is_the_plain_error_for_data_with_negative_values(one_class):
    normal, _, _ = one_class
    centred = normal - normal.mean(axis=0)
    detector = AutoencoderOutlierDetector(TINY, random_state=0).fit(centred)
    assert detector.anomaly_score_ == "combined"
    assert detector.components_ == ("reconstruction", "local_outlier_factor")
    assert detector.anomaly_score == "auto"


def test_combined_sums_its_standardised_components(one_class):
    normal, X, _ = one_class
    detector = AutoencoderOutlierDetector(TINY, anomaly_score="combined", random_state=0)
    detector.fit(normal)
    parts = [
        AutoencoderOutlierDetector(TINY, anomaly_score=name, random_state=0)
        .fit(normal)
        .score_samples(X)
        for name in detector.components_
    ]
    # the code's local outlier factor weighs a quarter
    np.testing.assert_array_equal(detector.weights_, [1.0, 0.25])
    np.testing.assert_allclose(detector.score_samples(X), parts[0] + 0.25 * parts[1])


def test_local_outlier_factor_is_scikit_learns_on_the_codes(one_class):
    normal, X, _ = one_class
    detector = AutoencoderOutlierDetector(
        TINY, anomaly_score="local_outlier_factor", random_state=0
    ).fit(normal)
    lof = LocalOutlierFactor(n_neighbors=50, novelty=True)
    lof.fit(detector.estimator_.transform(normal))
    factor = -lof.score_samples(detector.estimator_.transform(X))
    expected = -(np.log(factor) - detector.center_[0]) / detector.scale_[0]
    np.testing.assert_allclose(detector.score_samples(X), expected, rtol=1e-6)
    # on very few rows, as many neighbours as there are other rows
    small = AutoencoderOutlierDetector(TINY, anomaly_score="local_outlier_factor").fit(normal[:5])
    assert small.code_lof_.n_neighbors_ == 4


@pytest.mark.parametrize(
    "score",
    [
        "reconstruction",
        "relative_reconstruction",
        "local_outlier_factor",
        "mahalanobis",
        "combined",
    ],
)
def test_each_score_detects(one_class, score):
    normal, X, is_normal = one_class
    detector = AutoencoderOutlierDetector(TEMPLATE, anomaly_score=score, random_state=0).fit(normal)
    assert detector.anomaly_score_ == score
    assert roc_auc_score(is_normal, detector.score_samples(X)) > 0.75


def test_reconstruction_score_is_the_log_of_the_squared_error(one_class):
    normal, X, _ = one_class
    for loss in ("bce", "mse"):  # whatever the autoencoder trained with
        ae = clone(TINY).set_params(loss=loss, output_activation="sigmoid")
        detector = AutoencoderOutlierDetector(ae, anomaly_score="reconstruction", random_state=0)
        detector.fit(normal)
        errors = detector.estimator_.reconstruction_error(X)
        expected = -(np.log(errors) - detector.center_[0]) / detector.scale_[0]
        np.testing.assert_allclose(detector.score_samples(X), expected, rtol=1e-6, atol=1e-9)


def test_relative_reconstruction_divides_by_the_samples_norm(one_class):
    normal, X, _ = one_class
    detector = AutoencoderOutlierDetector(
        TINY, anomaly_score="relative_reconstruction", random_state=0
    ).fit(normal)
    errors = detector.estimator_.reconstruction_error(X) / np.mean(X**2, axis=1)
    expected = -(np.log(errors) - detector.center_[0]) / detector.scale_[0]
    np.testing.assert_allclose(detector.score_samples(X), expected, rtol=1e-6, atol=1e-9)
    # a blank image has no ink to rebuild: any error makes it an outlier, not a NaN
    blank = np.zeros((1, 64))
    assert np.isfinite(detector.score_samples(blank)).all()
    assert detector.predict(blank)[0] == -1


def test_mahalanobis_score_is_the_codes_gaussian_distance(one_class):
    normal, _, _ = one_class
    detector = AutoencoderOutlierDetector(TINY, anomaly_score="mahalanobis", random_state=0).fit(
        normal
    )
    Z = detector.estimator_.transform(normal)
    np.testing.assert_allclose(detector.code_mean_, Z.mean(axis=0), rtol=1e-6)
    covariance = np.linalg.inv(detector.code_precision_)
    np.testing.assert_allclose(covariance, np.cov(Z, rowvar=False, bias=True), rtol=1e-3)


@pytest.mark.parametrize(
    "estimator",
    [
        VAETransformer(latent_dim=3, hidden_layer_sizes=(16,), max_epochs=5),
        ITLAutoencoder(latent_dim=2, hidden_layer_sizes=(16,), max_epochs=3, batch_size=64),
        KAutoencoderTransformer(TINY, n_autoencoders=2, latent_dim=[2, 3]),
    ],
    ids=lambda e: type(e).__name__,
)
def test_any_skae_autoencoder(one_class, estimator):
    normal, X, is_normal = one_class
    detector = AutoencoderOutlierDetector(estimator, random_state=0).fit(normal)
    assert isinstance(detector.estimator_, type(estimator))
    assert roc_auc_score(is_normal, detector.score_samples(X)) > 0.7
    assert set(np.unique(detector.predict(X))) == {-1, 1}


def test_vae_elbo_score(one_class):
    normal, X, is_normal = one_class
    vae = VAETransformer(latent_dim=3, hidden_layer_sizes=(32,), max_epochs=20)
    detector = AutoencoderOutlierDetector(vae, anomaly_score="elbo", random_state=0).fit(normal)
    assert detector.components_ == ("elbo",)
    raw = -detector.estimator_.elbo(X)
    expected = -(raw - detector.center_[0]) / detector.scale_[0]
    np.testing.assert_allclose(detector.score_samples(X), expected)
    assert roc_auc_score(is_normal, detector.score_samples(X)) > 0.8


def test_contaminated_training_data(digits):
    """Fitted on digit 0 with 5 % other digits mixed in, it flags the intruders."""
    X, y = digits
    rng = np.random.default_rng(0)
    zeros = np.flatnonzero(y == 0)
    intruders = rng.choice(np.flatnonzero(y != 0), 9, replace=False)
    rows = np.r_[zeros, intruders]
    truth = np.r_[np.ones(len(zeros)), np.zeros(len(intruders))]
    detector = AutoencoderOutlierDetector(TEMPLATE, contamination=0.05, random_state=0)
    labels = detector.fit_predict(X[rows])
    assert roc_auc_score(truth, detector.score_samples(X[rows])) > 0.9
    # nine rows flagged among 187: by chance, one intruder in twenty
    assert np.mean(labels[truth == 0] == -1) > 0.4


# --------------------------------------------------------------------- scikit-learn
def test_pipeline_after_a_scaler(digits):
    X, y = digits
    X = X * 16 + 3  # raw pixel counts, shifted: the scaler brings them back
    for scaler in (MinMaxScaler(), StandardScaler()):
        pipe = make_pipeline(scaler, AutoencoderOutlierDetector(TEMPLATE, random_state=0))
        pipe.fit(X[y == 0])
        assert roc_auc_score(y == 0, pipe.score_samples(X)) > 0.85
        assert set(np.unique(pipe.predict(X))) == {-1, 1}


def test_grid_search_reaches_the_template(one_class):
    normal, _, _ = one_class
    detector = AutoencoderOutlierDetector(clone(TINY), random_state=0)
    assert detector.get_params()["estimator__latent_dim"] == 2
    detector.set_params(estimator__latent_dim=3)
    assert detector.estimator.latent_dim == 3

    def auc_of_held_out_zeros(estimator, X, y=None):
        return float(np.mean(estimator.decision_function(X)))

    search = GridSearchCV(
        detector, {"estimator__latent_dim": [2, 3]}, scoring=auc_of_held_out_zeros, cv=2
    ).fit(normal)
    assert search.best_params_["estimator__latent_dim"] in (2, 3)


def test_clone_and_pickle(fitted, one_class):
    _, X, _ = one_class
    unfitted = clone(fitted)
    assert not hasattr(unfitted, "offset_")
    assert unfitted.get_params()["estimator__latent_dim"] == 4
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_feature_names_are_kept(one_class):
    normal, X, _ = one_class
    columns = [f"pixel{i}" for i in range(64)]
    detector = AutoencoderOutlierDetector(TINY, random_state=0).fit(
        pd.DataFrame(normal, columns=columns)
    )
    np.testing.assert_array_equal(detector.feature_names_in_, columns)
    with pytest.warns(UserWarning, match="feature names"):
        detector.score_samples(X)


def test_input_is_not_modified(one_class):
    normal, X, _ = one_class
    before, X_before = normal.copy(), X.copy()
    detector = AutoencoderOutlierDetector(TINY, random_state=0).fit(normal)
    detector.predict(X)
    np.testing.assert_array_equal(normal, before)
    np.testing.assert_array_equal(X, X_before)


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"contamination": 0.0}, "'contamination' parameter"),
        ({"contamination": 0.6}, "'contamination' parameter"),
        ({"contamination": True}, "'contamination' parameter"),
        ({"contamination": "half"}, "'contamination' parameter"),
        ({"anomaly_score": "density"}, "'anomaly_score' parameter"),
        ({"estimator": "ae"}, "'estimator' parameter"),
    ],
)
def test_bad_parameters_are_named(one_class, params, match):
    normal, _, _ = one_class
    detector = AutoencoderOutlierDetector(**{"estimator": TINY, **params})
    with pytest.raises(InvalidParameterError, match=match):
        detector.fit(normal)
    assert not hasattr(detector, "offset_")


def test_a_class_as_estimator_is_refused(one_class):
    normal, _, _ = one_class
    with pytest.raises(TypeError, match=r"estimator=AutoencoderTransformer\(\)"):
        AutoencoderOutlierDetector(AutoencoderTransformer).fit(normal)


def test_elbo_needs_a_vae(one_class):
    normal, _, _ = one_class
    with pytest.raises(ValueError, match=r"anomaly_score='elbo' needs .* VAETransformer"):
        AutoencoderOutlierDetector(TINY, anomaly_score="elbo").fit(normal)


def test_a_bad_template_fails_at_fit_naming_its_parameter(one_class):
    normal, _, _ = one_class
    template = clone(TINY).set_params(latent_dim=0)
    with pytest.raises(InvalidParameterError, match="'latent_dim' parameter"):
        AutoencoderOutlierDetector(template).fit(normal)


def test_bad_input_gets_the_estimators_errors(fitted, one_class):
    _, X, _ = one_class
    with pytest.raises(NotFittedError):
        AutoencoderOutlierDetector(TINY).predict(X)
    with pytest.raises(ValueError, match="X has 10 features, but AutoencoderOutlierDetector"):
        fitted.predict(X[:, :10])
    bad = X.copy()
    bad[0, 0] = np.nan
    for method in (fitted.predict, fitted.score_samples, fitted.decision_function):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            method(bad)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clone(fitted).fit(bad)


def test_a_failed_fit_keeps_the_fitted_model(one_class):
    normal, X, _ = one_class
    detector = AutoencoderOutlierDetector(TINY, random_state=0).fit(normal)
    before = detector.score_samples(X)
    with pytest.raises(ValueError):
        detector.fit(np.full((5, 64), np.nan))
    np.testing.assert_array_equal(detector.score_samples(X), before)
    assert detector.n_features_in_ == 64


# --------------------------------------------------------------------- ONNX
@pytest.mark.parametrize(
    "score",
    [
        "reconstruction",
        "relative_reconstruction",
        "local_outlier_factor",
        "mahalanobis",
        "combined",
    ],
)
@pytest.mark.parametrize(("loss", "output"), [("bce", "sigmoid"), ("mse", "linear")])
def test_onnx_export_computes_predict_and_decision_function(one_class, score, loss, output):
    pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx

    import skae.onnx  # noqa: F401 (registers the converters)

    normal, X, _ = one_class
    template = clone(TINY).set_params(loss=loss, output_activation=output)
    detector = AutoencoderOutlierDetector(template, anomaly_score=score, random_state=0).fit(normal)
    for dtype, opset in ((np.float32, 10), (np.float64, 17)):
        onx = to_onnx(detector, X[:1].astype(dtype), target_opset=opset)
        session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
        labels, scores = session.run(None, {session.get_inputs()[0].name: X.astype(dtype)})
        assert labels.shape == (len(X),) and scores.shape == (len(X), 1)
        assert scores.dtype == dtype
        decision = detector.decision_function(X)
        np.testing.assert_allclose(scores[:, 0], decision, atol=1e-3, rtol=1e-4)
        clear = np.abs(decision) > 1e-3  # rows on the threshold may round either way
        np.testing.assert_array_equal(labels[clear], detector.predict(X)[clear])


def test_onnx_export_of_a_pipeline_and_an_ensemble(one_class):
    pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx

    import skae.onnx  # noqa: F401

    normal, X, _ = one_class
    pipe = make_pipeline(
        StandardScaler(),
        AutoencoderOutlierDetector(KAutoencoderTransformer(TINY, n_autoencoders=2), random_state=0),
    ).fit(normal)
    onx = to_onnx(pipe, X[:1].astype(np.float32))
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, scores = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    assert set(np.unique(labels)) == {-1, 1}
    np.testing.assert_allclose(scores[:, 0], pipe.decision_function(X), atol=1e-3, rtol=1e-4)


def test_onnx_refuses_the_elbo_and_unfitted_detectors(one_class):
    pytest.importorskip("skl2onnx")
    from skl2onnx import to_onnx

    import skae.onnx  # noqa: F401

    normal, X, _ = one_class
    with pytest.raises(NotFittedError, match="call 'fit' before exporting"):
        to_onnx(AutoencoderOutlierDetector(TINY), X[:1].astype(np.float32))
    vae = VAETransformer(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=1)
    detector = AutoencoderOutlierDetector(vae, anomaly_score="elbo", random_state=0).fit(normal)
    with pytest.raises(NotImplementedError, match="anomaly_score='elbo'"):
        to_onnx(detector, X[:1].astype(np.float32))
