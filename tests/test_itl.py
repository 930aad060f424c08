"""ITLAutoencoder: codes pulled towards a prior by CS divergence and/or a discriminator."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skae import ITLAutoencoder

FAST = dict(hidden_layer_sizes=(32,), batch_size=300, max_epochs=4, random_state=0)


@pytest.fixture(scope="module")
def fitted_csd(digits):
    X, y = digits
    return ITLAutoencoder(prior="swiss_roll", **{**FAST, "max_epochs": 25}).fit(X, y)


@pytest.fixture(scope="module")
def fitted_adversarial(digits):
    X, _y = digits
    return ITLAutoencoder(
        prior="gaussian", regularizer="adversarial", **{**FAST, "max_epochs": 30}
    ).fit(X)


def test_csd_decreases_over_epochs(fitted_csd):
    csd = fitted_csd.history_["train_csd"].to_numpy()
    assert np.all(np.isfinite(csd))
    # Averages over the first and last five epochs, so one noisy batch cannot decide.
    assert csd[-5:].mean() < 0.5 * csd[:5].mean()


def test_history_records_every_term(fitted_csd, fitted_adversarial):
    assert {"train_loss", "train_recon", "train_csd"} <= set(fitted_csd.history_)
    assert {
        "train_recon",
        "train_generator",
        "train_discriminator_loss",
        "train_discriminator_accuracy",
    } <= set(fitted_adversarial.history_)


def test_discriminator_accuracy_moves_towards_chance(digits, fitted_adversarial):
    X, _ = digits
    # The same model whose encoder ignores the discriminator (lambda_=0): the
    # discriminator then tells codes from prior samples easily.
    ignored = ITLAutoencoder(
        prior="gaussian", regularizer="adversarial", lambda_=0.0, **{**FAST, "max_epochs": 30}
    ).fit(X)
    fooled = fitted_adversarial.history_["train_discriminator_accuracy"].iloc[-5:].mean()
    unfooled = ignored.history_["train_discriminator_accuracy"].iloc[-5:].mean()
    assert unfooled > 0.75
    assert abs(fooled - 0.5) < abs(unfooled - 0.5) - 0.1


def test_discriminator_not_in_autoencoder_optimizer(fitted_adversarial):
    net = fitted_adversarial.net_
    ae_params = {id(p) for g in net.optimizer_.param_groups for p in g["params"]}
    disc_params = {id(p) for p in net.module_.discriminator.parameters()}
    assert not ae_params & disc_params
    assert {id(p) for g in net.discriminator_optimizer_.param_groups for p in g["params"]} == (
        disc_params
    )


def test_semi_supervised_codes_follow_class_segments(digits):
    X, y = digits
    itl = ITLAutoencoder(prior="onehot", latent_dim=10, **{**FAST, "max_epochs": 30})
    Z = itl.fit(X, y).transform(X)
    # With labels, class k is pulled towards one-hot vector k (chance is 0.1; the
    # unsupervised fit collapses to a few vertices).
    assert np.mean(Z.argmax(axis=1) == y) > 0.6


def test_penalty_gradient_reaches_encoder_only(digits):
    """With a zero reconstruction weight on the decoder side the decoder gets no grad."""
    import torch

    X, y = digits
    itl = ITLAutoencoder(**FAST).fit(X[:200], y[:200])
    net = itl.net_
    module = net.module_
    module.zero_grad()
    z = module.encode(torch.as_tensor(X[:200], dtype=torch.float32))
    target = net._prior_batch(z, None)
    from skae._divergence import cauchy_schwarz_divergence

    cauchy_schwarz_divergence(z, target).backward()
    assert all(p.grad is None or not p.grad.any() for p in module.decoder.parameters())
    assert any(p.grad is not None and p.grad.any() for p in module.encoder.parameters())


def test_pipeline_grid_search_and_pickle(digits):
    X, y = digits
    pipe = make_pipeline(ITLAutoencoder(**FAST), LogisticRegression(max_iter=300))
    # Every parameter a study sweeps: weight, kernel width, prior.
    param_grid = [
        {"itlautoencoder__lambda_": [0.1, 1.0]},
        {"itlautoencoder__kernel_sigma": [0.5]},
        {"itlautoencoder__prior": ["gaussian_mixture"]},
    ]
    grid = GridSearchCV(pipe, param_grid, cv=2)
    grid.fit(X[:400], y[:400])
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    model = grid.best_estimator_[0]
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(X[:50]), model.transform(X[:50]))
    assert clone(model).get_params()["lambda_"] == model.lambda_


def test_set_output_pandas(digits):
    X, y = digits
    Z = ITLAutoencoder(**FAST).set_output(transform="pandas").fit_transform(X[:200], y[:200])
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == ["itlautoencoder0", "itlautoencoder1"]


@pytest.mark.parametrize(
    "prior", ["swiss_roll", "onehot", "gaussian", "uniform", "gaussian_mixture"]
)
def test_every_named_prior_trains(digits, prior):
    X, _y = digits
    latent_dim = 2 if prior in ("swiss_roll", "gaussian_mixture") else 3
    itl = ITLAutoencoder(prior=prior, latent_dim=latent_dim, **{**FAST, "max_epochs": 2})
    assert itl.fit(X[:300]).transform(X[:5]).shape == (5, latent_dim)


def test_array_and_callable_priors(digits):
    X, _ = digits
    samples = np.random.default_rng(0).normal(size=(500, 3))
    ITLAutoencoder(prior=samples, latent_dim=3, **FAST).fit(X[:200])

    def ring(n_samples, random_state):
        angle = np.random.default_rng(random_state).uniform(0, 2 * np.pi, n_samples)
        return np.column_stack([np.cos(angle), np.sin(angle)])

    ITLAutoencoder(prior=ring, latent_dim=2, **FAST).fit(X[:200])


def test_both_regularizers(digits):
    X, y = digits
    itl = ITLAutoencoder(regularizer="csd+adversarial", **FAST).fit(X[:300], y[:300])
    assert {"train_csd", "train_generator"} <= set(itl.history_)


def test_reproducible(digits):
    X, y = digits
    a = ITLAutoencoder(regularizer="csd+adversarial", **FAST).fit(X[:300], y[:300])
    b = ITLAutoencoder(regularizer="csd+adversarial", **FAST).fit(X[:300], y[:300])
    np.testing.assert_array_equal(a.transform(X[:50]), b.transform(X[:50]))


# --------------------------------------------------------------------- bad input
def test_prior_dimension_mismatch(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="latent_dim=5"):
        ITLAutoencoder(prior="swiss_roll", latent_dim=5, **FAST).fit(X[:50])


def test_more_classes_than_prior_components(digits):
    X, y = digits
    with pytest.raises(ValueError, match="10 classes but the prior has 3"):
        ITLAutoencoder(prior="onehot", latent_dim=3, **FAST).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"regularizer": "kl"}, "'regularizer' parameter"),
        ({"lambda_": -1.0}, "'lambda_' parameter"),
        ({"kernel_sigma": 0.0}, "'kernel_sigma' parameter"),
        ({"prior": "banana"}, "banana"),
    ],
)
def test_bad_parameters(digits, params, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        ITLAutoencoder(**{**FAST, **params}).fit(X[:50])


def test_nan_input(digits):
    X, _ = digits
    X = X[:50].copy()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ITLAutoencoder(**FAST).fit(X)
