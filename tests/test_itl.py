"""ITLAutoencoder: codes pulled towards a prior by CS divergence and/or a discriminator."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skae import ITLAutoencoder
from skae.exceptions import OutputRangeWarning

from .conftest import requires_cuda

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
    # The recorded terms are the ones the loss is made of (batch-size weighted epoch
    # means of a per-batch identity, so it holds per epoch too).
    for model, penalty in [(fitted_csd, "train_csd"), (fitted_adversarial, "train_generator")]:
        h = model.history_
        np.testing.assert_allclose(
            h["train_loss"], h["train_recon"] + model.lambda_ * h[penalty], rtol=1e-5
        )
    assert fitted_adversarial.history_["train_discriminator_accuracy"].between(0, 1).all()


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


def _loss_gradients(itl, X, y, lambda_):
    """Gradients of the net's own loss, with the penalty terms weighted by lambda_."""
    net = itl.net_
    for term in net.terms:
        if term.name in ("csd", "generator"):
            term.weight = lambda_
    module = net.module_
    module.train()
    module.zero_grad()
    Xt = torch.as_tensor(X, dtype=torch.float32)
    yt = torch.as_tensor(y)
    torch.manual_seed(0)  # the same prior draw for every lambda_
    net.loss_of(net.step_context((Xt, yt), training=False)).backward()
    return {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("regularizer", ["csd", "adversarial"])
def test_penalty_gradient_reaches_encoder_only(digits, regularizer):
    """The penalty depends on the codes only: lambda_ changes the encoder's gradients
    and leaves the decoder's exactly as the reconstruction alone makes them."""
    X, y = digits
    X, y = X[:200], y[:200]
    itl = ITLAutoencoder(regularizer=regularizer, **FAST).fit(X, y)
    without = _loss_gradients(itl, X, y, 0.0)
    with_penalty = _loss_gradients(itl, X, y, 10.0)
    decoder = [n for n in without if n.startswith("decoder.")]
    encoder = [n for n in without if n.startswith("encoder.")]
    assert decoder and encoder
    for name in decoder:
        torch.testing.assert_close(with_penalty[name], without[name], rtol=0, atol=0)
    assert any(not torch.allclose(with_penalty[n], without[n]) for n in encoder)


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
    X = digits[0][:200]
    fit = {**FAST, "max_epochs": 30, "lambda_": 5.0}

    def codes(prior, latent_dim):
        return ITLAutoencoder(prior=prior, latent_dim=latent_dim, **fit).fit(X).transform(X)

    # An array of samples: the codes go where the samples lie.
    rng = np.random.default_rng(0)
    high = codes(rng.normal(loc=3.0, scale=0.3, size=(500, 3)), 3)
    low = codes(rng.normal(loc=-3.0, scale=0.3, size=(500, 3)), 3)
    assert high.shape == (200, 3)
    assert (high.mean(axis=0) - low.mean(axis=0) > 1.0).all()

    # A callable, called with the batch's size: codes spread as wide as its ring.
    calls = []

    def ring(radius):
        def draw(n_samples, random_state):
            calls.append(n_samples)
            angle = np.random.default_rng(random_state).uniform(0, 2 * np.pi, n_samples)
            return radius * np.column_stack([np.cos(angle), np.sin(angle)])

        return draw

    wide, narrow = codes(ring(4.0), 2), codes(ring(0.5), 2)
    # (one batch per epoch; a first small call checks the dimension)
    assert calls.count(len(X)) >= 2 * fit["max_epochs"]
    radius = [np.median(np.linalg.norm(Z - Z.mean(axis=0), axis=1)) for Z in (wide, narrow)]
    assert radius[0] > 2 * radius[1]


def test_both_regularizers(digits):
    X, y = digits
    itl = ITLAutoencoder(regularizer="csd+adversarial", lambda_=0.5, **FAST).fit(X[:300], y[:300])
    h = itl.history_
    assert {"train_csd", "train_generator"} <= set(h)
    # Both penalties enter the loss, with the one weight lambda_.
    expected = h["train_recon"] + 0.5 * (h["train_csd"] + h["train_generator"])
    np.testing.assert_allclose(h["train_loss"], expected, rtol=1e-5)


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


def test_sigmoid_output_warns_on_data_outside_unit_interval(digits):
    # A sigmoid output cannot reconstruct such data; say so, with the range and the fix.
    X = digits[0][:100] * 1e6
    fast = {**FAST, "max_epochs": 1}
    with pytest.warns(OutputRangeWarning, match=r"values in \[0, 1e\+06\].*'linear'"):
        ITLAutoencoder(output_activation="sigmoid", **fast).fit(X)
    # The default chooses a linear output for such data, and has nothing to warn about.
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutputRangeWarning)
        assert ITLAutoencoder(**fast).fit(X).output_activation_ == "linear"


@requires_cuda
@pytest.mark.gpu
def test_cuda_fit_semi_supervised_both_regularizers(digits):
    X, y = digits
    y = np.where(np.arange(len(y)) % 3 == 0, y, -1)[:300]  # a third labelled
    itl = ITLAutoencoder(
        prior="gaussian_mixture", regularizer="csd+adversarial", device="cuda", **FAST
    ).fit(X[:300], y)
    assert itl.device_.type == "cuda"
    assert all(p.is_cuda for p in itl.module_.parameters())  # discriminator included
    Z = itl.transform(X[:50])
    assert Z.shape == (50, 2) and np.isfinite(Z).all()
    assert np.isfinite(itl.history_[["train_csd", "train_generator"]].to_numpy()).all()
    restored = pickle.loads(pickle.dumps(itl))
    np.testing.assert_allclose(restored.transform(X[:50]), Z, rtol=1e-5)


def _labels_per_class(y, k):
    """``y`` with ``k`` labels per class kept and every other row unlabelled (-1)."""
    partial = np.full_like(y, -1)
    for c in np.unique(y):
        keep = np.flatnonzero(y == c)[:k]
        partial[keep] = c
    return partial


@pytest.mark.parametrize(
    ("labels_per_class", "noise", "expected"),
    [
        (None, None, (0.0, 0.0)),  # no labels
        ("all", None, (0.0, 0.0)),  # every row labelled: the prior's classes suffice
        (40, None, (3.0, 10.0)),  # many labels per class: a strong head
        (5, None, (0.0, 0.0)),  # few, on clean inputs: a head would learn them by heart
        (5, "masking", (1.0, 10.0)),  # few, on corrupted inputs: a light head
    ],
)
def test_auto_label_weights_follow_the_labels(digits, labels_per_class, noise, expected):
    """``'auto'`` chooses the supervised and consistency weights from the labels."""
    from skae.priors import OneHotPrior

    X, y = digits
    if labels_per_class is None:
        y_fit = None
    elif labels_per_class == "all":
        y_fit = y
    else:
        y_fit = _labels_per_class(y, labels_per_class)
    itl = ITLAutoencoder(
        latent_dim=12,
        prior=OneHotPrior(12, n_classes=10),
        hidden_layer_sizes=(16,),
        noise=noise,
        noise_level=0.5,
        max_epochs=1,
        random_state=0,
    )
    assert (itl.supervised_weight, itl.consistency_weight) == ("auto", "auto")
    itl.fit(X, y_fit)
    assert (itl.supervised_weight_, itl.consistency_weight_) == expected
    has_head = hasattr(itl.net_.module_, "supervised_head")
    assert has_head == (expected[0] > 0)
    assert ("train_supervised" in itl.history_.columns) == (expected[0] > 0)
    assert ("train_consistency" in itl.history_.columns) == (expected[1] > 0)


def test_auto_label_weights_keep_explicit_settings(digits):
    """An explicit weight is kept; ``'auto'`` consistency follows it."""
    X, y = digits
    partial = _labels_per_class(y, 5)
    itl = ITLAutoencoder(
        supervised_weight=0.5, hidden_layer_sizes=(16,), max_epochs=1, random_state=0
    ).fit(X, partial)
    assert (itl.supervised_weight_, itl.consistency_weight_) == (0.5, 10.0)
    # partial_fit has no labels: 'auto' switches the terms off on a first call
    fresh = ITLAutoencoder(hidden_layer_sizes=(16,), random_state=0).partial_fit(X)
    assert (fresh.supervised_weight_, fresh.consistency_weight_) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("labels_per_class", "noise", "expected"),
    [
        (29, None, (0.0, 0.0)),  # one label short of the strong head, clean inputs
        (30, None, (3.0, 10.0)),
        (29, "masking", (1.0, 10.0)),
    ],
)
def test_resolve_label_weights_threshold(digits, labels_per_class, noise, expected):
    """The rule at its threshold: the smallest labelled class decides."""
    from skae._loss_terms import resolve_label_weights

    _, y = digits
    labels = _labels_per_class(y, 40)
    labels[np.flatnonzero(labels == 3)[labels_per_class:]] = -1  # class 3 is the smallest
    assert resolve_label_weights("auto", "auto", labels, noise) == expected
    # explicit values are kept; 'auto' consistency follows the resolved head
    assert resolve_label_weights(0.5, "auto", y, None) == (0.5, 0.0)  # every row labelled
    assert resolve_label_weights(0.0, 2.0, None, None) == (0.0, 2.0)  # left to check_parameters


@pytest.mark.parametrize("call", ["fit", "fit_labelled", "partial_fit"])
def test_explicit_consistency_needs_the_auto_head(digits, call):
    """An explicit consistency weight beside an 'auto' head that resolves off is a
    clear error at fit, not an AttributeError in the first training step."""
    X, y = digits
    itl = ITLAutoencoder(consistency_weight=5.0, prior="gaussian", **FAST)
    with pytest.raises(ValueError, match="supervised_weight='auto' chose no head"):
        if call == "partial_fit":
            itl.partial_fit(X)
        else:
            itl.fit(X, y if call == "fit_labelled" else None)


@pytest.mark.parametrize(
    ("target", "final"),
    [("continuous", "ridge"), ("minus_one_one", "logistic"), ("unlabelled", None)],
)
def test_auto_head_ignores_targets_it_cannot_use(digits, target, final):
    """'auto' ignores a y that is no partially labelled class vector, as the term
    switched off does: a regression target or -1/1 binary labels in a pipeline."""
    from sklearn.linear_model import Ridge

    from skae import AutoencoderTransformer

    X, y = digits
    y_fit = {
        "continuous": y + 0.5,
        "minus_one_one": np.where(y > 4, 1, -1),
        "unlabelled": np.full_like(y, -1),
    }[target]
    for ae in (
        ITLAutoencoder(prior="gaussian", **FAST),
        AutoencoderTransformer(supervised_weight="auto", **FAST),
    ):
        if final is None:
            ae.fit(X, y_fit)
        else:
            step = Ridge() if final == "ridge" else LogisticRegression(max_iter=50)
            make_pipeline(ae, step).fit(X, y_fit)
        assert (ae.supervised_weight_, ae.consistency_weight_) == (0.0, 0.0)
        assert ae.classes_ is None


def test_auto_head_string_labels_refit_and_partial_fit(digits):
    """A resolved head with string labels; partial_fit refuses it with a message that
    names the fitted head; a refit with supervised_weight=0 removes it."""
    X, y = digits
    names = np.array(list("abcdefghij"), dtype=object)[y]
    names[_labels_per_class(y, 40) == -1] = -1
    itl = ITLAutoencoder(prior="gaussian", **FAST).fit(X, names)
    assert (itl.supervised_weight_, itl.consistency_weight_) == (3.0, 10.0)
    assert itl.classes_.tolist() == list("abcdefghij")
    assert clone(itl).get_params()["supervised_weight"] == "auto"
    restored = pickle.loads(pickle.dumps(itl))
    np.testing.assert_allclose(restored.transform(X[:20]), itl.transform(X[:20]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"fitted with a supervised head \(supervised_weight_=3"):
        itl.partial_fit(X, names)
    itl.set_params(supervised_weight=0).fit(X, names)
    assert not hasattr(itl.net_.module_, "supervised_head")
    assert itl.classes_ is None
    itl.partial_fit(X)
