"""VAETransformer: ELBO training, transform modes, sampling, conv model, bad input."""

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from skae import VAETransformer
from skae._conv import make_conv_decoder, make_conv_encoder, resolve_image_shape
from skae._vae import gaussian_kl, reparameterize

from .conftest import requires_cuda

FAST = dict(hidden_layer_sizes=(64,), max_epochs=3, random_state=0)
CONV = dict(architecture="conv", conv_channels=(8, 16), hidden_layer_sizes=(32,))


@pytest.fixture(scope="module")
def dense(digits):
    X, _ = digits
    return VAETransformer(latent_dim=8, **{**FAST, "max_epochs": 20}).fit(X)


@pytest.fixture(scope="module")
def conv(digits):
    X, _ = digits
    return VAETransformer(latent_dim=8, max_epochs=10, random_state=0, **CONV).fit(X)


def _with(fitted, **params):
    """A fitted copy with changed (inference-time) parameters; the fixture stays intact."""
    return copy.deepcopy(fitted).set_params(**params)


# --------------------------------------------------------------------- learning
@pytest.mark.parametrize("name", ["dense", "conv"])
def test_elbo_improves_over_epochs(name, request, digits):
    X, _ = digits
    fitted = request.getfixturevalue(name)
    # With beta=1 the training loss is the negative ELBO (one draw per sample).
    elbo = -fitted.history_["train_loss"].to_numpy()
    assert np.all(np.isfinite(elbo))
    assert elbo[-3:].mean() > elbo[0] + 10
    untrained = clone(fitted).set_params(max_epochs=0).fit(X)
    assert fitted.score(X) > untrained.score(X) + 10


def test_history_records_recon_kl_and_beta(dense):
    history = dense.history_
    assert {"train_loss", "train_recon", "train_kl", "beta"} <= set(history)
    assert (history["beta"] == 1.0).all()
    np.testing.assert_allclose(
        history["train_loss"], history["train_recon"] + history["train_kl"], rtol=1e-5
    )
    assert (history["train_kl"] > 0).all()


def test_score_is_mean_elbo_close_to_training_objective(dense, digits):
    X, _ = digits
    elbo = dense.elbo(X)
    assert elbo.shape == (len(X),)
    assert dense.score(X) == pytest.approx(elbo.mean())
    # Same data, same objective: within a few nats of the last epoch's loss.
    assert dense.score(X) == pytest.approx(-dense.history_["train_loss"].iloc[-1], abs=2.0)
    np.testing.assert_array_equal(dense.elbo(X), elbo)  # seeded from random_state


def test_kl_warmup_schedule_is_recorded(digits):
    X, _ = digits
    vae = VAETransformer(
        beta=2.0, kl_warmup_epochs=4, early_stopping=True, **{**FAST, "max_epochs": 6}
    ).fit(X[:300])
    history = vae.history_
    np.testing.assert_allclose(history["beta"], [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])
    np.testing.assert_allclose(
        history["train_loss"],
        history["train_recon"] + history["beta"] * history["train_kl"],
        rtol=1e-5,
    )
    # Validation always uses the full beta, so early stopping compares like with like.
    np.testing.assert_allclose(
        history["valid_loss"], history["valid_recon"] + 2.0 * history["valid_kl"], rtol=1e-5
    )


def test_mse_score_uses_gaussian_likelihood_constant(digits):
    X, _ = digits
    X = X[:200]
    vae = VAETransformer(loss="mse", **FAST).fit(X)
    d = X.shape[1]
    # elbo = -(squared error + (d/2) log(pi) + KL): the constant makes it a bound on log p(x).
    assert vae.score(X) < -0.5 * d * np.log(np.pi)
    # Exactly that, computed by hand from the same posterior draw (the model's seeded
    # generator), so a wrong constant (log 2 pi, d log pi, none) fails either way.
    module = vae.module_
    with torch.no_grad():
        x = torch.as_tensor(X, dtype=torch.float32)
        mu, logvar = module.encode_stats(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(
            mu.shape, generator=vae._generator(), dtype=mu.dtype
        )
        raw = module.decode_raw(z)
        x_hat = torch.sigmoid(raw) if vae.output_activation_ == "sigmoid" else raw
    x_hat, mu, logvar = (t.double().numpy() for t in (x_hat, mu, logvar))
    squared_error = ((X - x_hat) ** 2).sum(axis=1)
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(axis=1)
    expected = -(squared_error + 0.5 * d * np.log(np.pi) + kl)
    np.testing.assert_allclose(vae.elbo(X), expected, rtol=1e-5)


def test_gaussian_kl_and_reparameterize():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.5, -1.0]])
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)),
        torch.distributions.Normal(0.0, 1.0),
    ).sum(dim=1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)
    assert gaussian_kl(mu, logvar)[0] == 0
    mu = torch.full((20000, 1), 3.0, requires_grad=True)
    logvar = torch.full((20000, 1), np.log(4.0), requires_grad=True)
    z = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    assert z.mean().item() == pytest.approx(3.0, abs=0.05)
    assert z.std().item() == pytest.approx(2.0, abs=0.05)
    z.sum().backward()  # differentiable in both parameters
    assert mu.grad is not None and logvar.grad is not None


# --------------------------------------------------------------------- transform
def test_transform_modes(dense, digits):
    X, _ = digits
    mean = dense.transform(X)
    assert mean.shape == (len(X), 8)
    both = _with(dense, transform_mode="mean_logvar").transform(X)
    assert both.shape == (len(X), 16)
    np.testing.assert_allclose(both[:, :8], mean, rtol=1e-6)
    sampler = _with(dense, transform_mode="sample")
    draws = sampler.transform(X)
    np.testing.assert_array_equal(sampler.transform(X), draws)  # reproducible
    # Draws scatter around the means with the posterior's standard deviations.
    standardised = (draws - mean) / np.exp(0.5 * both[:, 8:])
    assert abs(standardised.mean()) < 0.05
    assert standardised.std() == pytest.approx(1.0, abs=0.05)
    other_seed = _with(dense, transform_mode="sample", random_state=1).transform(X)
    assert not np.allclose(other_seed, draws)


def test_feature_names_and_pandas_output(dense, digits):
    X, _ = digits
    frame = pd.DataFrame(X[:20], columns=[f"px{i}" for i in range(64)])
    vae = _with(dense, transform_mode="mean_logvar").set_output(transform="pandas")
    with pytest.warns(UserWarning, match="feature names"):
        # fitted on an array: pandas in is fine, its names are not checked
        Z = vae.transform(frame)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns[:2]) == ["vaetransformer_mean0", "vaetransformer_mean1"]
    assert list(Z.columns[8:10]) == ["vaetransformer_logvar0", "vaetransformer_logvar1"]
    assert list(dense.get_feature_names_out()) == [f"vaetransformer{i}" for i in range(8)]


def test_set_output_pandas_fit_transform(digits):
    X, _ = digits
    frame = pd.DataFrame(X[:200], columns=[f"px{i}" for i in range(64)])
    vae = VAETransformer(latent_dim=3, **FAST).set_output(transform="pandas")
    Z = vae.fit_transform(frame)
    assert list(Z.columns) == ["vaetransformer0", "vaetransformer1", "vaetransformer2"]
    assert Z.index.equals(frame.index)
    assert list(vae.feature_names_in_) == list(frame.columns)


def test_inverse_transform_decodes_probabilities(dense, digits):
    X, _ = digits
    X_hat = dense.inverse_transform(dense.transform(X))
    assert X_hat.shape == X.shape
    assert X_hat.min() >= 0 and X_hat.max() <= 1
    np.testing.assert_allclose(X_hat, dense.reconstruct(X), rtol=1e-5, atol=1e-6)
    # mean_logvar output goes back through inverse_transform too (the means are decoded).
    both = _with(dense, transform_mode="mean_logvar")
    np.testing.assert_allclose(both.inverse_transform(both.transform(X)), X_hat, rtol=1e-5)
    with pytest.raises(ValueError, match="expecting 8 features"):
        dense.inverse_transform(np.zeros((2, 3)))


def test_reconstruction_error_is_per_pixel_mse(dense, digits):
    X, _ = digits
    expected = ((X - dense.reconstruct(X)) ** 2).mean(axis=1)
    np.testing.assert_allclose(dense.reconstruction_error(X), expected)


def test_sample_generates_reproducible_images(dense):
    a = dense.sample(5, random_state=0)
    assert a.shape == (5, 64) and a.dtype == np.float64
    # Samples are decoded draws of the prior N(0, I), seeded by random_state.
    codes = np.random.RandomState(0).standard_normal((5, dense.latent_dim))
    np.testing.assert_allclose(a, dense.inverse_transform(codes), rtol=1e-6)
    many = dense.sample(2000, random_state=1)
    decoded = dense.inverse_transform(
        np.random.RandomState(2).standard_normal((2000, dense.latent_dim))
    )
    np.testing.assert_allclose(many.mean(axis=0), decoded.mean(axis=0), atol=0.03)
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(dense.sample(5, random_state=0), a)
    assert not np.allclose(dense.sample(5, random_state=1), a)
    assert dense.sample().shape == (1, 64)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        dense.sample(0)


def test_posterior_mean_code_separates_digits(dense, digits):
    X, y = digits
    Z = dense.transform(X)
    clf = LogisticRegression(max_iter=2000).fit(Z[::2], y[::2])
    assert clf.score(Z[1::2], y[1::2]) > 0.7  # chance is 0.1


# --------------------------------------------------------------------- conv
def test_conv_model_on_digits(conv, digits):
    X, _ = digits
    assert conv.image_shape_ == (1, 8, 8)
    assert any(isinstance(m, torch.nn.Conv2d) for m in conv.encoder_.modules())
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in conv.decoder_.modules())
    assert conv.transform(X).shape == (len(X), 8)
    assert conv.reconstruct(X[:5]).shape == (5, 64)
    assert conv.sample(3, random_state=0).shape == (3, 64)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 5, 7), (2, 1, 9), (1, 1, 1)])
def test_conv_stacks_give_exact_image_size(shape):
    n = int(np.prod(shape))
    encoder = make_conv_encoder(shape, (4, 8), (16,), 6, "relu")
    decoder = make_conv_decoder(shape, (4, 8), (16,), 3, "relu")
    assert encoder(torch.zeros(2, n)).shape == (2, 6)
    assert decoder(torch.zeros(2, 3)).shape == (2, n)


@pytest.mark.parametrize(
    "image_shape, n_features, expected",
    [
        (None, 64, (1, 8, 8)),
        (None, 784, (1, 28, 28)),
        ((8, 8), 64, (1, 8, 8)),
        ((3, -1, 4), 24, (3, 2, 4)),
        ((1, 1, -1), 10, (1, 1, 10)),
    ],
)
def test_resolve_image_shape(image_shape, n_features, expected):
    assert resolve_image_shape(image_shape, n_features) == expected


# --------------------------------------------------------------------- pipelines
@pytest.mark.parametrize(
    "classifier",
    [
        LogisticRegression(max_iter=1000),
        SVC(),
        MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0),
    ],
    ids=["logreg", "svc", "mlp"],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_ahead_of_classifiers(digits_split, classifier):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(VAETransformer(latent_dim=8, **{**FAST, "max_epochs": 15}), classifier)
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) > 0.6  # chance is 0.1


def test_grid_search_over_latent_dim(digits):
    X, y = digits
    X, y = X[:600], y[:600]
    pipe = make_pipeline(VAETransformer(**FAST), LogisticRegression(max_iter=500))
    grid = GridSearchCV(
        pipe, {"vaetransformer__latent_dim": [1, 8]}, cv=2, n_jobs=2, error_score="raise"
    )
    grid.fit(X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_params_ == {"vaetransformer__latent_dim": 8}


def test_grid_search_without_classifier_scores_by_elbo(digits):
    X, _ = digits
    grid = GridSearchCV(VAETransformer(**FAST), {"beta": [0.5, 1.0]}, cv=2).fit(X[:400])
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(scores < 0)  # an ELBO in nats, not an error
    assert grid.best_score_ == scores.max()


# --------------------------------------------------------------------- persistence
@pytest.mark.parametrize("name", ["dense", "conv"])
def test_pickle_round_trip(name, request, digits):
    X, _ = digits
    fitted = request.getfixturevalue(name)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(
        restored.sample(4, random_state=0), fitted.sample(4, random_state=0)
    )
    assert restored.score(X) == fitted.score(X)
    pd.testing.assert_frame_equal(restored.history_, fitted.history_)


def test_same_random_state_same_model(digits):
    X, _ = digits
    a = VAETransformer(**FAST).fit(X[:300]).transform(X[:50])
    b = VAETransformer(**FAST).fit(X[:300]).transform(X[:50])
    np.testing.assert_array_equal(a, b)


def test_float32_stays_float32_and_input_untouched(dense, digits):
    X, _ = digits
    X32 = X[:20].astype(np.float32)
    before = X32.copy()
    assert dense.transform(X32).dtype == np.float32
    assert dense.inverse_transform(dense.transform(X32)).dtype == np.float32
    dense.elbo(X32)
    np.testing.assert_array_equal(X32, before)


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_raises(digits, value):
    X, _ = digits
    X = X[:50].copy()
    X[3, 5] = value
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        VAETransformer(**FAST).fit(X)


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.linspace(0, 1, 64), ValueError, "2D array"),
        (np.empty((0, 64)), ValueError, "0 sample"),
        (np.ones((4, 3)) + 1j, ValueError, r"[Cc]omplex"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, r"could not convert|float"),
        (sp.random(10, 4, density=0.5, format="csr", random_state=0), TypeError, r"[Ss]parse"),
    ],
    ids=["1d", "empty", "complex", "object", "sparse"],
)
def test_bad_input_raises(X, error, match):
    with pytest.raises(error, match=match):
        VAETransformer(**FAST).fit(X)


def test_wrong_feature_count_at_transform(dense, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="X has 10 features, but VAETransformer is expecting 64"):
        dense.transform(X[:, :10])
    with pytest.raises(ValueError, match="expecting 64"):
        dense.score(X[:, :10])


@pytest.mark.parametrize(
    "method, args",
    [
        ("transform", (np.zeros((2, 4)),)),
        ("inverse_transform", (np.zeros((2, 4)),)),
        ("reconstruct", (np.zeros((2, 4)),)),
        ("score", (np.zeros((2, 4)),)),
        ("elbo", (np.zeros((2, 4)),)),
        ("sample", (3,)),
    ],
)
def test_not_fitted_raises(method, args):
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(VAETransformer(), method)(*args)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"activation": "swish"}, "'activation' parameter"),
        ({"optimizer": "adamax-typo"}, "Unknown optimizer 'adamax-typo'"),
        ({"beta": -1.0}, "'beta' parameter of VAETransformer must be a float in the range"),
        ({"kl_warmup_epochs": -2}, "'kl_warmup_epochs' parameter"),
        ({"transform_mode": "median"}, "'transform_mode' parameter"),
        ({"architecture": "rnn"}, "'architecture' parameter"),
        ({"loss": "bce", "output_activation": "linear"}, "output_activation='sigmoid'"),
        ({"architecture": "conv", "conv_channels": (8, 0)}, "conv_channels must be"),
        ({"architecture": "conv", "image_shape": (1, 7, 7)}, r"holds 49 values but X has"),
        ({"architecture": "conv", "image_shape": (1, 8, 8, 1)}, "image_shape must be"),
        ({"architecture": "conv", "image_shape": (-1, -1, 8)}, "at most one -1"),
        ({"architecture": "conv", "image_shape": (3, -1, 5)}, "not a multiple of 15"),
    ],
)
def test_bad_parameters_raise_at_fit(digits, params, match):
    X, _ = digits
    vae = VAETransformer(**{**FAST, **params})  # __init__ never validates
    with pytest.raises(ValueError, match=match):
        vae.fit(X[:20])


def test_conv_needs_a_square_or_an_image_shape(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="n_features=60 is not a perfect square"):
        VAETransformer(**{**FAST, **CONV}).fit(X[:20, :60])


def test_bce_needs_inputs_in_unit_interval(digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"needs inputs in \[0, 1\]"):
        VAETransformer(loss="bce", **FAST).fit(X[:20] * 16)


def test_transform_mode_checked_at_transform(dense, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="transform_mode must be one of"):
        _with(dense, transform_mode="median").transform(X[:2])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_cuda_without_cuda_raises(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="CUDA is not available"):
        VAETransformer(device="cuda", **FAST).fit(X[:20])


@requires_cuda
@pytest.mark.gpu
@pytest.mark.parametrize("architecture", ["dense", "conv"])
def test_cuda_fit_and_use(digits, architecture, monkeypatch):
    X, _ = digits
    params = CONV if architecture == "conv" else {}
    vae = VAETransformer(latent_dim=4, device="cuda", **{**FAST, **params}).fit(X[:300])
    assert vae.device_.type == "cuda"
    assert all(p.is_cuda for p in vae.module_.parameters())
    Z = vae.transform(X[:50])
    assert Z.shape == (50, 4) and np.isfinite(Z).all()
    assert np.isfinite(vae.elbo(X[:50])).all()
    # The generator draws on the device: sampling and scoring stay reproducible there.
    np.testing.assert_array_equal(vae.sample(3, random_state=0), vae.sample(3, random_state=0))
    assert vae.score(X[:50]) == vae.score(X[:50])
    payload = pickle.dumps(vae)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch warns that it maps CUDA to CPU
        restored = pickle.loads(payload)
    assert restored.device_.type == "cpu"
    np.testing.assert_allclose(restored.transform(X[:50]), Z, rtol=1e-4, atol=1e-5)
