"""What users do with AutoencoderTransformer, and how it fails on bad input."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback

from skae import AutoencoderTransformer
from skae.exceptions import OutputRangeWarning

from .conftest import requires_cuda

FAST = dict(hidden_layer_sizes=(32,), max_epochs=5, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return AutoencoderTransformer(latent_dim=8, **FAST).fit(X)


# --------------------------------------------------------------------- learning
def test_fit_lowers_training_loss(digits):
    X, _ = digits
    # The squared error (0 for a perfect fit) makes halving a fair bar; the 'auto'
    # BCE on [0, 1] data has the data's entropy as its floor.
    ae = AutoencoderTransformer(
        latent_dim=8, hidden_layer_sizes=(32,), max_epochs=15, loss="mse", random_state=0
    )
    ae.fit(X)
    losses = ae.history_["train_loss"].to_numpy()
    assert isinstance(ae.history_, pd.DataFrame)
    assert ae.n_epochs_ == len(losses) == 15
    assert losses[-1] < 0.5 * losses[0]


def test_transform_shapes_and_attributes(fitted, digits):
    X, _ = digits
    Z = fitted.transform(X)
    assert Z.shape == (len(X), 8)
    assert fitted.n_features_in_ == 64
    assert fitted.inverse_transform(Z).shape == X.shape
    assert fitted.reconstruction_error(X).shape == (len(X),)
    assert isinstance(fitted.encoder_, torch.nn.Module)
    assert isinstance(fitted.decoder_, torch.nn.Module)
    np.testing.assert_allclose(
        fitted.reconstruct(X), fitted.inverse_transform(fitted.transform(X)), rtol=1e-5, atol=1e-6
    )


def test_reconstruction_error_is_per_sample_mse(fitted, digits):
    X, _ = digits
    expected = ((X - fitted.reconstruct(X)) ** 2).mean(axis=1)
    np.testing.assert_allclose(fitted.reconstruction_error(X), expected)
    assert fitted.score(X) == pytest.approx(-expected.mean())


def test_pipeline_into_logistic_regression(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(
        AutoencoderTransformer(
            latent_dim=16, hidden_layer_sizes=(64,), max_epochs=30, random_state=0
        ),
        LogisticRegression(max_iter=1000),
    )
    pipe.fit(X_train, y_train)
    # Chance is 0.1; a 16-d code of digits separates the classes well.
    assert pipe.score(X_test, y_test) > 0.8


def test_grid_search_over_latent_dim_in_parallel(digits):
    X, y = digits
    X, y = X[:600], y[:600]
    pipe = make_pipeline(AutoencoderTransformer(**FAST), LogisticRegression(max_iter=300))
    grid = GridSearchCV(
        pipe, {"autoencodertransformer__latent_dim": [2, 8]}, cv=2, n_jobs=2, error_score="raise"
    )
    grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # More code units carry more class information.
    assert grid.best_params_ == {"autoencodertransformer__latent_dim": 8}


def test_grid_search_without_classifier_uses_score(digits):
    X, _ = digits
    grid = GridSearchCV(AutoencoderTransformer(**FAST), {"latent_dim": [1, 16]}, cv=2)
    grid.fit(X[:500])
    assert grid.best_params_ == {"latent_dim": 16}


def test_optimizer_kwargs_routed_like_skorch(digits):
    X, _ = digits
    ae = AutoencoderTransformer(optimizer="sgd", lr=0.05, **FAST)
    ae.set_params(optimizer__momentum=0.9, optimizer__nesterov=True)
    assert ae.optimizer_kwargs == {"momentum": 0.9, "nesterov": True}
    assert ae.get_params()["optimizer__momentum"] == 0.9
    ae.fit(X[:200])
    group = ae.net_.optimizer_.param_groups[0]
    assert group["momentum"] == 0.9 and group["nesterov"] is True
    # The clone carries them too (GridSearchCV clones before set_params).
    assert clone(ae).optimizer_kwargs == {"momentum": 0.9, "nesterov": True}


def test_adam_is_fused_unless_the_user_chooses(digits):
    X, _ = digits
    fused = AutoencoderTransformer(**FAST).fit(X[:200])
    assert fused.net_.optimizer_.param_groups[0]["fused"] is True
    # The user's choice of implementation wins, and fused or not the fit is the same
    # up to float rounding.
    for kwargs in ({"fused": False}, {"foreach": True}):
        plain = AutoencoderTransformer(optimizer_kwargs=kwargs, **FAST).fit(X[:200])
        assert not plain.net_.optimizer_.param_groups[0]["fused"]
        np.testing.assert_allclose(plain.transform(X[:50]), fused.transform(X[:50]), atol=1e-3)
    # Optimizers without a fused update are left alone.
    rprop = AutoencoderTransformer(optimizer="rprop", **FAST).fit(X[:200])
    assert "fused" not in rprop.net_.optimizer_.param_groups[0]


def test_grid_search_over_optimizer_kwargs(digits):
    X, _ = digits
    grid = GridSearchCV(
        AutoencoderTransformer(optimizer="sgd", lr=0.05, **FAST),
        {"optimizer__momentum": [0.0, 0.9]},
        cv=2,
    )
    grid.fit(X[:300])
    assert set(grid.cv_results_["param_optimizer__momentum"]) == {0.0, 0.9}


def test_full_batch_is_one_step_per_epoch(digits):
    X, _ = digits
    for batch_size in (-1, "full"):
        ae = AutoencoderTransformer(batch_size=batch_size, **FAST).fit(X[:300])
        assert (ae.history_["train_batch_count"] == 1).all()


class _SnapshotWeights(Callback):
    """Copy the weights at the end of every epoch (those its valid_loss scored)."""

    def __init__(self, snapshots):
        self.snapshots = snapshots

    def on_epoch_end(self, net, **kwargs):
        state = net.module_.state_dict()
        self.snapshots[len(net.history)] = {k: v.detach().clone() for k, v in state.items()}


def test_early_stopping_stops_and_keeps_best(digits):
    X, _ = digits
    snapshots = {}
    ae = AutoencoderTransformer(
        callbacks=[_SnapshotWeights(snapshots)],
        latent_dim=4,
        hidden_layer_sizes=(16,),
        lr=0.05,  # large steps: the validation loss soon stops improving
        max_epochs=200,
        early_stopping=True,
        patience=3,
        tol=1e-3,
        random_state=0,
    ).fit(X)
    assert ae.n_epochs_ < 200
    assert "valid_loss" in ae.history_
    stopper = dict(ae.net_.callbacks_)["EarlyStopping"]
    assert stopper.best_epoch_ == ae.n_epochs_ - 3
    valid = ae.history_["valid_loss"]
    assert valid[stopper.best_epoch_] <= valid.min() + 1e-3
    # The weights kept are those of the best validation epoch, not the last ones.
    kept = ae.module_.state_dict()
    for name, value in snapshots[stopper.best_epoch_].items():
        torch.testing.assert_close(kept[name], value, rtol=0, atol=0)
    last = snapshots[ae.n_epochs_]
    assert any(not torch.equal(kept[name], last[name]) for name in kept)


def test_extra_skorch_callbacks_run(digits):
    X, _ = digits
    epochs = []

    class Count(Callback):
        def on_epoch_end(self, net, **kwargs):
            epochs.append(len(net.history))

    AutoencoderTransformer(callbacks=[Count()], **FAST).fit(X[:100])
    assert epochs == [1, 2, 3, 4, 5]


def test_verbose_prints_epoch_table(digits, capsys):
    X, _ = digits
    AutoencoderTransformer(verbose=1, **FAST).fit(X[:100])
    assert "train_loss" in capsys.readouterr().out
    AutoencoderTransformer(verbose=0, **FAST).fit(X[:100])
    assert capsys.readouterr().out == ""


def _hand_bce(X, p):
    """Mean binary cross-entropy of probabilities ``p`` for targets ``X`` (float64)."""
    X, p = np.asarray(X, np.float64), np.asarray(p, np.float64)
    return -np.mean(X * np.log(p) + (1 - X) * np.log1p(-p))


def test_bce_with_sigmoid_output(digits):
    X, _ = digits
    # One full-batch step of negligible size: the loss recorded for that step is the
    # loss of the returned model, which must be the BCE of its reconstructions.
    ae = AutoencoderTransformer(
        output_activation="sigmoid",
        loss="bce",
        hidden_layer_sizes=(32,),
        batch_size="full",
        optimizer="sgd",
        lr=1e-12,
        max_epochs=1,
        noise=None,  # the training loss then sees the clean inputs reconstruct() sees
        random_state=0,
    ).fit(X)
    X_hat = ae.reconstruct(X)
    assert X_hat.min() >= 0 and X_hat.max() <= 1
    expected = _hand_bce(X, X_hat)
    np.testing.assert_allclose(ae.history_["train_loss"].iloc[-1], expected, rtol=1e-5)
    # ... which differs from the squared error of the same reconstructions.
    assert abs(expected - np.mean((X - X_hat) ** 2)) > 0.1


@pytest.mark.parametrize("reduction", ["mean", "sum_per_sample"])
def test_bce_loss_value_on_logits(reduction):
    """The BCE criterion takes logits: equal to the BCE of their sigmoids, and finite
    where the sigmoid rounds to 0 or 1 in float32."""
    from skae._losses import ReconstructionLoss

    raw = torch.tensor([[-3.0, 0.0, 2.5, 40.0], [1.0, -40.0, 0.5, -0.2]])
    target = torch.tensor([[0.0, 0.5, 1.0, 0.0], [1.0, 1.0, 0.25, 0.0]])
    loss = ReconstructionLoss(loss="bce", output_activation="sigmoid", reduction=reduction)
    value = loss(raw, target)
    # -log sigmoid(x) = log1p(exp(-x)), in float64: exact at |x| = 40 too.
    x, t = raw.double().numpy(), target.double().numpy()
    per_element = t * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x)
    expected = per_element.mean() if reduction == "mean" else per_element.sum(axis=1).mean()
    assert torch.isfinite(value)
    np.testing.assert_allclose(value.item(), expected, rtol=1e-6)


def test_linear_autoencoder_approaches_pca(digits):
    from sklearn.decomposition import PCA

    X, _ = digits
    pca = PCA(n_components=4).fit(X)
    pca_error = np.mean((X - pca.inverse_transform(pca.transform(X))) ** 2)
    ae = AutoencoderTransformer(
        latent_dim=4,
        hidden_layer_sizes=(),
        activation="linear",
        output_activation="linear",  # 'auto' would pick a sigmoid for the digits
        loss="mse",
        lr_schedule=None,  # constant steps, as the calibration of max_epochs assumed
        lr=0.01,
        max_epochs=150,
        random_state=0,
    ).fit(X)
    # The optimum of a linear autoencoder is the PCA subspace.
    assert -ae.score(X) < 1.05 * pca_error


# --------------------------------------------------------------------- containers
def test_pandas_in_pandas_out(digits):
    X, _ = digits
    frame = pd.DataFrame(X[:200], columns=[f"px{i}" for i in range(64)])
    ae = AutoencoderTransformer(latent_dim=3, **FAST).set_output(transform="pandas")
    Z = ae.fit_transform(frame)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [
        "autoencodertransformer0",
        "autoencodertransformer1",
        "autoencodertransformer2",
    ]
    assert list(ae.feature_names_in_) == list(frame.columns)
    assert Z.index.equals(frame.index)


def test_float32_stays_float32(digits):
    X, _ = digits
    ae = AutoencoderTransformer(**FAST).fit(X[:100].astype(np.float32))
    assert ae.transform(X[:10].astype(np.float32)).dtype == np.float32
    assert ae.transform(X[:10]).dtype == np.float64


# --------------------------------------------------------------------- reproducibility
def test_same_random_state_same_codes(digits):
    X, _ = digits
    a = AutoencoderTransformer(**FAST).fit(X).transform(X)
    b = AutoencoderTransformer(**FAST).fit(X).transform(X)
    c = AutoencoderTransformer(**{**FAST, "random_state": 1}).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_rng_alone(digits):
    X, _ = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    AutoencoderTransformer(**FAST).fit(X[:100])
    assert torch.equal(torch.rand(3), expected)


def test_user_array_not_modified(digits):
    X, _ = digits
    X_copy = X[:200].copy()
    X_f32 = X_copy.astype(np.float32)
    X_f32_before = X_f32.copy()
    ae = AutoencoderTransformer(**FAST).fit(X_f32)
    ae.transform(X_f32)
    ae.reconstruction_error(X_f32)
    np.testing.assert_array_equal(X_f32, X_f32_before)
    np.testing.assert_array_equal(X_copy, X[:200])


# --------------------------------------------------------------------- persistence
def test_clone_is_unfitted_with_same_params(fitted):
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "net_")


def test_pickle_round_trip(fitted, digits):
    X, _ = digits
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    pd.testing.assert_frame_equal(restored.history_, fitted.history_)


def test_joblib_round_trip(fitted, digits, tmp_path):
    X, _ = digits
    path = tmp_path / "ae.joblib"
    joblib.dump(fitted, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))


def pickled_as_if_on_cuda(estimator):
    """Pickle ``estimator`` as a CUDA machine would: every storage tagged ``cuda:0``.

    torch records each storage's device through ``torch.serialization.location_tag``;
    patching it produces the bytes a CUDA fit writes, so the CPU-only load path is
    exercised for real on a machine without a GPU.
    """
    estimator = pickle.loads(pickle.dumps(estimator))
    estimator.device_ = torch.device("cuda")
    estimator.net_.device = "cuda"
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        return pickle.dumps(estimator)
    finally:
        torch.serialization.location_tag = original


def test_cuda_pickle_loads_on_cpu_only_machine(fitted, digits, monkeypatch):
    """A model pickled on a CUDA machine is mapped to the CPU where CUDA is missing."""
    X, _ = digits
    expected = fitted.transform(X)
    payload = pickled_as_if_on_cuda(fitted)
    assert b"cuda:0" in payload
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch warns that it maps CUDA to CPU
        restored = pickle.loads(payload)
    assert restored.device_ == torch.device("cpu")
    assert restored.net_.module is restored.module_
    np.testing.assert_array_equal(restored.transform(X), expected)


@requires_cuda
@pytest.mark.gpu
def test_fit_on_cuda_then_load_on_cpu(digits, monkeypatch):
    X, _ = digits
    ae = AutoencoderTransformer(device="cuda", **FAST).fit(X)
    assert ae.device_.type == "cuda"
    assert next(ae.module_.parameters()).is_cuda
    expected = ae.transform(X)
    payload = pickle.dumps(ae)
    # Load as a machine without CUDA would.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch warns that it maps CUDA to CPU
        restored = pickle.loads(payload)
    assert restored.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    np.testing.assert_allclose(restored.transform(X), expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_raises(digits, value):
    X, _ = digits
    X = X[:50].copy()
    X[3, 5] = value
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        AutoencoderTransformer(**FAST).fit(X)


def test_1d_input_raises(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="2D array"):
        AutoencoderTransformer(**FAST).fit(X[0])


def test_wrong_feature_count_at_transform(fitted, digits):
    X, _ = digits
    with pytest.raises(
        ValueError, match="X has 10 features, but AutoencoderTransformer is expecting 64"
    ):
        fitted.transform(X[:, :10])


def test_wrong_code_size_at_inverse_transform(fitted):
    with pytest.raises(ValueError, match="expecting 8 features"):
        fitted.inverse_transform(np.zeros((2, 3)))


def test_empty_input_raises():
    with pytest.raises(ValueError, match="0 sample"):
        AutoencoderTransformer(**FAST).fit(np.empty((0, 4)))


def test_complex_input_raises():
    with pytest.raises(ValueError, match=r"[Cc]omplex"):
        AutoencoderTransformer(**FAST).fit(np.ones((4, 3)) + 1j)


def test_object_input_raises():
    X = np.array([["a", "b"], ["c", "d"]], dtype=object)
    with pytest.raises(ValueError, match=r"could not convert|float"):
        AutoencoderTransformer(**FAST).fit(X)


def test_sparse_input_raises():
    with pytest.raises(TypeError, match=r"[Ss]parse"):
        AutoencoderTransformer(**FAST).fit(sp.random(10, 4, density=0.5, format="csr"))


@pytest.mark.parametrize(
    "method", ["transform", "inverse_transform", "reconstruct", "reconstruction_error", "score"]
)
def test_not_fitted_raises(method):
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(AutoencoderTransformer(), method)(np.zeros((2, 4)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"activation": "swish"}, "'activation' parameter"),
        ({"optimizer": "adamax-typo"}, "Unknown optimizer 'adamax-typo'"),
        ({"optimizer": dict}, "torch.optim.Optimizer"),
        ({"latent_dim": 0}, "'latent_dim' parameter"),
        ({"hidden_layer_sizes": (8, -1)}, "positive integers"),
        ({"lr": -0.1}, "'lr' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"loss": "bce", "output_activation": "linear"}, "output_activation='sigmoid'"),
        ({"optimizer": "adam", "optimizer_kwargs": {"momentum": 0.9}}, "Adam does not take"),
    ],
)
def test_bad_parameters_raise_at_fit(digits, params, match):
    X, _ = digits
    ae = AutoencoderTransformer(**{**FAST, **params})  # __init__ never validates
    with pytest.raises(ValueError, match=match):
        ae.fit(X[:20])


def test_bce_needs_inputs_in_unit_interval(digits):
    X, _ = digits
    ae = AutoencoderTransformer(loss="bce", output_activation="sigmoid", **FAST)
    with pytest.raises(ValueError, match=r"needs inputs in \[0, 1\]"):
        ae.fit(X[:20] * 16)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_cuda_without_cuda_raises(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="CUDA is not available"):
        AutoencoderTransformer(device="cuda", **FAST).fit(X[:20])


def test_early_stopping_needs_samples_on_both_sides():
    with pytest.raises(ValueError, match="validation_fraction"):
        AutoencoderTransformer(early_stopping=True, **FAST).fit(np.zeros((1, 3)))


def test_sigmoid_output_warns_on_data_outside_unit_interval(digits):
    X, _ = digits
    # A sigmoid output cannot reconstruct such data: say so, with the range and the fix.
    with pytest.warns(OutputRangeWarning, match=r"values in \[0, 1e\+06\].*MinMaxScaler"):
        AutoencoderTransformer(output_activation="sigmoid", **FAST).fit(X[:100] * 1e6)
    # Data in [0, 1], or a linear output, are fine.
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutputRangeWarning)
        AutoencoderTransformer(output_activation="sigmoid", **FAST).fit(X[:100])
        AutoencoderTransformer(output_activation="linear", **FAST).fit(X[:100] * 1e6)


def test_cuda_pickle_with_early_stopping_and_schedule_loads_on_cpu(digits, monkeypatch):
    """Callback state holding device tensors (EarlyStopping's best weights, the
    learning-rate scheduler's optimizer) stays out of pickles: it loads without CUDA."""
    X, _ = digits
    ae = AutoencoderTransformer(latent_dim=4, early_stopping=True, **FAST).fit(X)
    callbacks = dict(ae.net_.callbacks_)
    assert callbacks["EarlyStopping"].best_model_weights_ is not None
    expected = ae.transform(X)
    payload = pickled_as_if_on_cuda(ae)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch warns that it maps CUDA to CPU
        restored = pickle.loads(payload)
    np.testing.assert_array_equal(restored.transform(X), expected)
    # The fitted model itself keeps its callbacks' state; the restored one refits.
    assert callbacks["EarlyStopping"].best_model_weights_ is not None
    monkeypatch.undo()
    assert restored.fit(X[:200]).n_epochs_ >= 1
