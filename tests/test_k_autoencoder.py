"""KAutoencoderTransformer: an ensemble of autoencoders with concatenated codes."""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skae import AutoencoderTransformer, ITLAutoencoder, KAutoencoderTransformer

from .conftest import requires_cuda

# The squared error: the learning-curve test halves it (BCE's floor is the data's entropy).
TEMPLATE = AutoencoderTransformer(hidden_layer_sizes=(32,), lr=0.01, max_epochs=10, loss="mse")
TINY = AutoencoderTransformer(hidden_layer_sizes=(8,), max_epochs=1)


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One torch thread: fastest for these tiny networks on a shared CPU (no thread
    synchronisation), and the same threads per fit in this process and in joblib's
    workers, so that n_jobs=1 and n_jobs=2 can be compared bit for bit."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fitted(digits_split):
    """The k=3 ensemble of 4-unit codes, fitted once on the training digits."""
    X_train, _, _, _ = digits_split
    return KAutoencoderTransformer(TEMPLATE, n_autoencoders=3, latent_dim=4, random_state=0).fit(
        X_train
    )


# --------------------------------------------------------------------- learning
def test_members_attributes_and_history(fitted, digits_split):
    _, X_test, _, _ = digits_split
    assert len(fitted.estimators_) == 3
    assert fitted.latent_dims_ == [4, 4, 4]
    assert fitted.n_features_in_ == 64
    assert len(set(fitted.seeds_)) == 3
    for member, seed in zip(fitted.estimators_, fitted.seeds_):
        assert isinstance(member, AutoencoderTransformer)
        assert member.random_state == seed and member.latent_dim == 4
    assert not hasattr(TEMPLATE, "net_")  # the template is cloned, never fitted

    Z = fitted.transform(X_test)
    assert Z.shape == (len(X_test), 12)
    for i, member in enumerate(fitted.estimators_):
        np.testing.assert_array_equal(Z[:, 4 * i : 4 * i + 4], member.transform(X_test))
    # Different seeds, different members.
    assert not np.allclose(Z[:, :4], Z[:, 4:8])

    history = fitted.history_
    assert list(history.columns[:2]) == ["member", "epoch"]
    assert history.groupby("member")["epoch"].max().tolist() == [10, 10, 10]
    curves = history.pivot(index="epoch", columns="member", values="train_loss")
    assert (curves.iloc[-1] < 0.5 * curves.iloc[0]).all()


def test_ensemble_code_at_least_as_good_as_one_member(fitted, digits_split):
    X_train, X_test, y_train, y_test = digits_split

    def accuracy(encode):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        return clf.fit(encode(X_train), y_train).score(encode(X_test), y_test)

    ensemble = accuracy(fitted.transform)
    members = [accuracy(member.transform) for member in fitted.estimators_]
    assert ensemble >= max(members)
    assert ensemble > 0.8


def test_inverse_transform_averages_member_reconstructions(fitted, digits_split):
    _, X_test, _, _ = digits_split
    Z = fitted.transform(X_test)
    members = [m.inverse_transform(m.transform(X_test)) for m in fitted.estimators_]
    np.testing.assert_allclose(fitted.inverse_transform(Z), np.mean(members, axis=0), atol=1e-6)
    np.testing.assert_allclose(fitted.reconstruct(X_test), fitted.inverse_transform(Z))

    errors = fitted.reconstruction_error(X_test)
    expected = ((X_test - fitted.reconstruct(X_test)) ** 2).mean(axis=1)
    np.testing.assert_allclose(errors, expected)
    assert fitted.score(X_test) == pytest.approx(-expected.mean())
    # Averaging can only help: the error of the mean is at most the mean of the errors.
    assert -fitted.score(X_test) <= np.mean([-m.score(X_test) for m in fitted.estimators_])


def test_latent_dim_per_member(digits):
    X, _ = digits
    kae = KAutoencoderTransformer(TINY, latent_dim=[2, 3, 1], random_state=0).fit(X[:200])
    assert kae.latent_dims_ == [2, 3, 1]
    assert [m.latent_dim for m in kae.estimators_] == [2, 3, 1]
    Z = kae.transform(X[:10])
    assert Z.shape == (10, 6)
    assert list(kae.get_feature_names_out()) == [
        "kautoencodertransformer_ae0_0",
        "kautoencodertransformer_ae0_1",
        "kautoencodertransformer_ae1_0",
        "kautoencodertransformer_ae1_1",
        "kautoencodertransformer_ae1_2",
        "kautoencodertransformer_ae2_0",
    ]
    # Member 1 decodes columns 2-4 only.
    np.testing.assert_allclose(
        kae.inverse_transform(Z),
        np.mean(
            [
                m.inverse_transform(z)
                for m, z in zip(kae.estimators_, (Z[:, :2], Z[:, 2:5], Z[:, 5:]))
            ],
            axis=0,
        ),
        atol=1e-6,
    )


def test_latent_dim_none_keeps_the_template_and_default_template(digits):
    X, _ = digits
    kae = KAutoencoderTransformer(
        AutoencoderTransformer(latent_dim=3, max_epochs=1), n_autoencoders=2
    ).fit(X[:100])
    assert kae.latent_dims_ == [3, 3]
    default = KAutoencoderTransformer(n_autoencoders=1).fit(X[:50])
    assert type(default.estimators_[0]) is AutoencoderTransformer
    assert default.latent_dims_ == [AutoencoderTransformer().latent_dim]


def test_bootstrap_members_see_their_own_resample(digits):
    X, _ = digits
    X = X[:300]
    kae = KAutoencoderTransformer(
        TINY, n_autoencoders=2, latent_dim=2, bootstrap=True, random_state=0
    )
    kae.fit(X)
    for member, seed in zip(kae.estimators_, kae.seeds_):
        rows = np.random.RandomState(seed).randint(0, len(X), len(X))
        alone = clone(TINY).set_params(latent_dim=2, random_state=seed).fit(X[rows])
        np.testing.assert_array_equal(member.transform(X), alone.transform(X))
    without = clone(kae).set_params(bootstrap=False).fit(X)
    assert not np.allclose(without.transform(X), kae.transform(X))


def test_y_is_passed_to_the_members(digits):
    X, y = digits
    template = ITLAutoencoder(
        prior="onehot", latent_dim=10, hidden_layer_sizes=(8,), batch_size=100, max_epochs=1
    )
    kae = KAutoencoderTransformer(template, n_autoencoders=2, bootstrap=True, random_state=0)
    kae.fit(X[:200], y[:200])
    for member in kae.estimators_:
        np.testing.assert_array_equal(member.classes_, np.arange(10))


# --------------------------------------------------------------------- reproducibility
def test_random_state_reproducible_and_n_jobs_invariant(digits):
    X, _ = digits
    X = X[:300]
    make = KAutoencoderTransformer(TINY, n_autoencoders=2, latent_dim=2, random_state=0).set_params
    serial = make(n_jobs=1).fit(X).transform(X)
    parallel = make(n_jobs=2).fit(X).transform(X)  # joblib worker processes
    assert torch.get_num_threads() == 1  # the parent's setting is left alone
    np.testing.assert_array_equal(serial, parallel)
    np.testing.assert_array_equal(serial, make(n_jobs=1).fit(X).transform(X))
    other = make(n_jobs=1, random_state=1).fit(X).transform(X)
    assert not np.allclose(serial, other)


def test_user_array_not_modified(digits):
    X, _ = digits
    X32 = X[:200].astype(np.float32)
    before = X32.copy()
    kae = KAutoencoderTransformer(TINY, n_autoencoders=2, bootstrap=True, random_state=0).fit(X32)
    kae.transform(X32)
    kae.reconstruction_error(X32)
    np.testing.assert_array_equal(X32, before)
    assert kae.transform(X32).dtype == np.float32
    assert kae.inverse_transform(kae.transform(X32)).dtype == np.float32
    assert kae.transform(X[:5]).dtype == np.float64


# --------------------------------------------------------------------- sklearn tooling
def test_nested_parameters_route_to_the_members(digits):
    X, _ = digits
    kae = KAutoencoderTransformer(
        AutoencoderTransformer(optimizer="sgd", hidden_layer_sizes=(8,), max_epochs=1),
        n_autoencoders=2,
        random_state=0,
    )
    kae.set_params(estimator__optimizer__momentum=0.9, estimator__lr=0.05)
    params = kae.get_params()
    assert params["estimator__optimizer__momentum"] == 0.9
    assert params["estimator__lr"] == 0.05
    kae.fit(X[:100])
    for member in kae.estimators_:
        # The optimizer's defaults: the default cosine schedule moves the group's lr.
        defaults = member.net_.optimizer_.defaults
        assert defaults["momentum"] == 0.9 and defaults["lr"] == 0.05
    assert not hasattr(kae.estimator, "net_")


@pytest.mark.parametrize(
    "classifier",
    [LogisticRegression(), SVC(), MLPClassifier(max_iter=100, random_state=0)],
    ids=["logreg", "svc", "mlp"],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_ahead_of_classifiers(digits_split, classifier):
    X_train, X_test, y_train, y_test = digits_split
    template = AutoencoderTransformer(hidden_layer_sizes=(32,), lr=0.01, max_epochs=3)
    pipe = make_pipeline(
        KAutoencoderTransformer(template, n_autoencoders=2, latent_dim=8, random_state=0),
        StandardScaler(),
        classifier,
    )
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.7


def test_grid_search_over_latent_dim_and_n_autoencoders(digits):
    X, y = digits
    template = AutoencoderTransformer(hidden_layer_sizes=(32,), lr=0.01, max_epochs=3)
    pipe = make_pipeline(
        KAutoencoderTransformer(template, random_state=0), StandardScaler(), LogisticRegression()
    )
    grid = GridSearchCV(
        pipe,
        {
            "kautoencodertransformer__latent_dim": [1, 6],
            "kautoencodertransformer__n_autoencoders": [1, 2],
        },
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    grid.fit(X[:600], y[:600])
    scores = pd.Series(
        grid.cv_results_["mean_test_score"],
        index=[
            (p["kautoencodertransformer__latent_dim"], p["kautoencodertransformer__n_autoencoders"])
            for p in grid.cv_results_["params"]
        ],
    )
    assert grid.best_params_["kautoencodertransformer__latent_dim"] == 6
    # A second member adds information to a one-unit code.
    assert scores[(1, 2)] > scores[(1, 1)]


def test_pickle_round_trip(fitted, digits_split):
    _, X_test, _, _ = digits_split
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X_test), fitted.transform(X_test))
    assert restored.score(X_test) == fitted.score(X_test)


def test_set_output_pandas(digits):
    X, _ = digits
    frame = pd.DataFrame(X[:100], columns=[f"px{i}" for i in range(64)], index=range(5, 105))
    kae = KAutoencoderTransformer(TINY, n_autoencoders=2, latent_dim=2, random_state=0)
    Z = kae.set_output(transform="pandas").fit_transform(frame)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [
        "kautoencodertransformer_ae0_0",
        "kautoencodertransformer_ae0_1",
        "kautoencodertransformer_ae1_0",
        "kautoencodertransformer_ae1_1",
    ]
    assert Z.index.equals(frame.index)
    assert list(kae.feature_names_in_) == list(frame.columns)
    with pytest.raises(ValueError, match="input_features is not equal"):
        kae.get_feature_names_out([f"other{i}" for i in range(64)])


# --------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def small(digits):
    X, _ = digits
    return KAutoencoderTransformer(TINY, n_autoencoders=2, latent_dim=2, random_state=0).fit(
        X[:100]
    )


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0]]), "infinity"),
        (np.arange(5.0), "Expected 2D array"),
        (np.empty((0, 3)), "0 sample"),
        (np.ones((3, 2)) + 1j, "[Cc]omplex"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert|float"),
        (sp.csr_matrix(np.eye(3)), "[Ss]parse"),
    ],
    ids=["nan", "inf", "1d", "empty", "complex", "object", "sparse"],
)
def test_bad_input_at_fit(X, match):
    with pytest.raises((ValueError, TypeError), match=match):
        KAutoencoderTransformer(TINY, n_autoencoders=2).fit(X)


def test_bad_input_after_fit(small):
    with pytest.raises(ValueError, match="X has 5 features, but KAutoencoderTransformer"):
        small.transform(np.ones((3, 5)))
    with pytest.raises(
        ValueError, match=r"KAutoencoderTransformer\.inverse_transform is expecting 4"
    ):
        small.inverse_transform(np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        small.transform(np.full((2, 64), np.nan))
    with pytest.raises(ValueError, match="X has 5 features, but KAutoencoderTransformer"):
        small.score(np.ones((3, 5)))


@pytest.mark.parametrize(
    "method", ["transform", "inverse_transform", "reconstruct", "score", "get_feature_names_out"]
)
def test_not_fitted(method):
    kae = KAutoencoderTransformer()
    args = () if method == "get_feature_names_out" else (np.ones((2, 4)),)
    with pytest.raises(NotFittedError):
        getattr(kae, method)(*args)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"latent_dim": [2, 3]}, "list of n_autoencoders=3 ints, got 2 values"),
        ({"latent_dim": [2, 0, 1]}, "positive ints"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"n_autoencoders": 0}, "n_autoencoders"),
        ({"estimator": "autoencoder"}, "estimator"),
        ({"estimator": PCA()}, "no latent_dim parameter"),
        ({"estimator": AutoencoderTransformer(activation="swish")}, "activation"),
        ({"estimator": AutoencoderTransformer(optimizer="nope")}, "nope"),
    ],
    ids=[
        "list-length",
        "list-zero",
        "zero",
        "k-zero",
        "estimator",
        "no-latent",
        "activation",
        "optimizer",
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        KAutoencoderTransformer(**{"latent_dim": 2, **params}).fit(np.ones((10, 4)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_without_cuda_is_a_clear_error():
    kae = KAutoencoderTransformer(AutoencoderTransformer(device="cuda"), n_jobs=2)
    with pytest.raises(ValueError, match="CUDA is not available"):
        kae.fit(np.ones((10, 4)))


@requires_cuda
@pytest.mark.gpu
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cuda_members(digits, n_jobs):
    X, _ = digits
    member = AutoencoderTransformer(hidden_layer_sizes=(16,), max_epochs=2, device="cuda")
    kae = KAutoencoderTransformer(
        member, n_autoencoders=2, latent_dim=3, n_jobs=n_jobs, random_state=0
    ).fit(X[:300])
    assert all(m.device_.type == "cuda" for m in kae.estimators_)
    assert all(next(m.module_.parameters()).is_cuda for m in kae.estimators_)
    Z = kae.transform(X[:50])
    assert Z.shape == (50, 6) and np.isfinite(Z).all()
    assert kae.inverse_transform(Z).shape == (50, X.shape[1])
    restored = pickle.loads(pickle.dumps(kae))
    np.testing.assert_allclose(restored.transform(X[:50]), Z, rtol=1e-5)
