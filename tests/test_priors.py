"""Priors for latent codes: shapes, reproducibility, class-conditional draws and make_prior."""

import pickle

import numpy as np
import pytest

from skae._priors import (
    PRIOR_NAMES,
    ArrayPrior,
    BasePrior,
    CallablePrior,
    GaussianMixturePrior,
    GaussianPrior,
    OneHotPrior,
    SwissRollPrior,
    UniformPrior,
    make_prior,
)


def ring(n_samples, random_state):
    """A module-level (picklable) sampler on the unit circle."""
    angle = np.random.default_rng(random_state).uniform(0, 2 * np.pi, n_samples)
    return np.column_stack([np.cos(angle), np.sin(angle)])


def line(n_samples, random_state):
    return np.random.default_rng(random_state).normal(size=n_samples)


def _all_priors():
    return [
        SwissRollPrior(),
        SwissRollPrior(n_classes=4, noise=0.05),
        OneHotPrior(5),
        OneHotPrior(3, noise_std=0.1),
        GaussianPrior(4),
        UniformPrior(3, low=0.0, high=2.0),
        GaussianMixturePrior(),
        GaussianMixturePrior(dim=5, n_components=4),
        ArrayPrior(np.random.default_rng(0).normal(size=(50, 3))),
        CallablePrior(ring),
    ]


PRIOR_IDS = [repr(p) for p in _all_priors()]


# ---------------------------------------------------------------- interface
@pytest.mark.parametrize("prior", _all_priors(), ids=PRIOR_IDS)
def test_shapes_dtype_and_determinism(prior):
    a = prior.sample(37, random_state=0)
    assert a.shape == (37, prior.dim) and a.dtype == np.float32
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a, prior.sample(37, random_state=0))
    assert not np.array_equal(a, prior.sample(37, random_state=1))
    assert prior.sample(0, random_state=0).shape == (0, prior.dim)
    assert isinstance(prior.dim, int)
    assert prior.n_classes is None or isinstance(prior.n_classes, int)


@pytest.mark.parametrize(
    "prior", [p for p in _all_priors() if not isinstance(p, CallablePrior)], ids=lambda p: repr(p)
)
def test_random_state_instance_and_global_seed(prior):
    # (A CallablePrior passes random_state through; its function decides what it accepts.)
    a = prior.sample(10, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(a, prior.sample(10, random_state=3))
    # random_state=None uses numpy's global generator (sklearn's check_random_state).
    np.random.seed(5)  # noqa: NPY002
    b = prior.sample(10)
    np.random.seed(5)  # noqa: NPY002
    np.testing.assert_array_equal(b, prior.sample(10))


@pytest.mark.parametrize(
    "prior", [p for p in _all_priors() if p.n_classes is not None], ids=lambda p: repr(p)
)
def test_conditional_sampling_is_deterministic(prior):
    y = np.arange(20) % prior.n_classes
    np.testing.assert_array_equal(
        prior.sample(20, y=y, random_state=0), prior.sample(20, y=y, random_state=0)
    )


@pytest.mark.parametrize("prior", _all_priors(), ids=PRIOR_IDS)
def test_picklable(prior):
    clone = pickle.loads(pickle.dumps(prior))
    assert type(clone) is type(prior) and clone.dim == prior.dim
    assert clone.n_classes == prior.n_classes
    np.testing.assert_array_equal(
        clone.sample(15, random_state=4), prior.sample(15, random_state=4)
    )


@pytest.mark.parametrize("prior", _all_priors(), ids=PRIOR_IDS)
def test_is_a_base_prior_with_repr(prior):
    assert isinstance(prior, BasePrior)
    assert repr(prior).startswith(type(prior).__name__ + "(")


@pytest.mark.parametrize(
    "prior, n_classes",
    [
        (SwissRollPrior(), 10),
        (SwissRollPrior(n_classes=3), 3),
        (OneHotPrior(7), 7),
        (OneHotPrior(7, n_classes=3), 3),
        (GaussianMixturePrior(n_components=6), 6),
        (GaussianPrior(2), None),
        (UniformPrior(2), None),
        (ArrayPrior(np.zeros((3, 2))), None),
        (CallablePrior(ring), None),
    ],
)
def test_n_classes(prior, n_classes):
    assert prior.n_classes == n_classes


# ---------------------------------------------------------------- class structure
def test_onehot_conditional():
    prior = OneHotPrior(6)
    y = np.random.default_rng(0).integers(0, 6, 200)
    samples = prior.sample(200, y=y, random_state=0)
    np.testing.assert_array_equal(samples, np.eye(6, dtype=np.float32)[y])
    noisy = OneHotPrior(6, noise_std=0.1).sample(200, y=y, random_state=0)
    np.testing.assert_array_equal(noisy.argmax(1), y)
    assert 0.05 < np.std(noisy - samples) < 0.15


def test_onehot_style_part():
    prior = OneHotPrior(6, n_classes=4, style_std=0.5)
    assert prior.dim == 6 and prior.n_classes == 4
    y = np.random.default_rng(0).integers(0, 4, 2000)
    samples = prior.sample(2000, y=y, random_state=0)
    assert samples.shape == (2000, 6)
    np.testing.assert_array_equal(samples[:, :4], np.eye(4, dtype=np.float32)[y])
    # The style coordinates ignore the class: N(0, 0.5^2) for every class.
    style = samples[:, 4:]
    assert abs(style.mean()) < 0.05 and 0.45 < style.std() < 0.55
    for k in range(4):
        assert abs(style[y == k].mean()) < 0.1
    assert "n_classes=4" in repr(prior) and "style_std=0.5" in repr(prior)
    # Without a style part, samples are those of before (same random stream).
    np.testing.assert_array_equal(
        OneHotPrior(4, n_classes=4).sample(50, random_state=1),
        OneHotPrior(4).sample(50, random_state=1),
    )


def test_onehot_unconditional_classes_are_uniform():
    samples = OneHotPrior(4).sample(4000, random_state=0)
    assert set(np.unique(samples)) == {0.0, 1.0}
    np.testing.assert_array_equal(samples.sum(1), 1.0)
    counts = np.bincount(samples.argmax(1), minlength=4)
    assert counts.min() > 900 and counts.max() < 1100


def test_mixture_conditional_nearest_mean():
    for dim in (2, 4):
        prior = GaussianMixturePrior(dim=dim, n_components=8)
        y = np.arange(400) % 8
        samples = prior.sample(400, y=y, random_state=0)
        dists = np.linalg.norm(samples[:, None, :] - prior.means_[None], axis=2)
        np.testing.assert_array_equal(dists.argmin(1), y)


def test_mixture_geometry():
    prior = GaussianMixturePrior(dim=3, n_components=10, radius=2.0, std=0.05)
    assert prior.means_.shape == (10, 3)
    np.testing.assert_allclose(np.linalg.norm(prior.means_[:, :2], axis=1), 2.0)
    np.testing.assert_array_equal(prior.means_[:, 2], 0.0)
    samples = prior.sample(5000, random_state=0)
    assert samples[:, 2].std() == pytest.approx(0.05, rel=0.1)
    counts = np.bincount(np.linalg.norm(samples[:, None] - prior.means_, axis=2).argmin(1))
    assert counts.min() > 400 and counts.max() < 600


def _roll_position(samples):
    """Position u in [0, 1] along the (noise-free) roll: the radius is sqrt(u)."""
    return np.linalg.norm(samples, axis=1) ** 2


def test_swiss_roll_segments_ordered_along_arc():
    prior = SwissRollPrior(n_classes=5)
    y = np.arange(500) % 5
    samples = prior.sample(500, y=y, random_state=0)
    u = _roll_position(samples.astype(np.float64))
    np.testing.assert_array_equal(np.floor(u * 5 - 1e-6).clip(0, 4), y)
    # Each segment lies further along the roll than the one before.
    medians = [np.median(u[y == k]) for k in range(5)]
    assert medians == sorted(medians)
    # Points lie on the spiral r = angle / (4 pi).
    r = np.sqrt(u)
    np.testing.assert_allclose(samples[:, 0], r * np.cos(4 * np.pi * r), atol=1e-5)
    np.testing.assert_allclose(samples[:, 1], r * np.sin(4 * np.pi * r), atol=1e-5)


def test_swiss_roll_range_and_noise():
    samples = SwissRollPrior().sample(2000, random_state=0)
    assert np.abs(samples).max() <= 1.0 + 1e-6
    assert np.abs(samples).max() > 0.9
    # Uniform position along the roll with y=None.
    counts = np.bincount((_roll_position(samples) * 10).astype(int).clip(0, 9), minlength=10)
    assert counts.min() > 150
    noisy = SwissRollPrior(noise=0.1).sample(2000, random_state=0)
    assert np.std(noisy - samples) == pytest.approx(0.1, rel=0.1)


def test_unstructured_priors_ignore_y():
    for prior in (GaussianPrior(2), UniformPrior(2), ArrayPrior(np.eye(2)), CallablePrior(ring)):
        np.testing.assert_array_equal(
            prior.sample(5, y=[0, 1, 99, -3, 7], random_state=0), prior.sample(5, random_state=0)
        )


def test_gaussian_and_uniform_moments():
    g = GaussianPrior(3, std=2.0).sample(20000, random_state=0)
    np.testing.assert_allclose(g.mean(0), 0.0, atol=0.05)
    np.testing.assert_allclose(g.std(0), 2.0, rtol=0.03)
    u = UniformPrior(2, low=-3, high=1).sample(20000, random_state=0)
    assert u.min() >= -3 and u.max() < 1
    np.testing.assert_allclose(u.mean(0), -1.0, atol=0.05)


# ---------------------------------------------------------------- labels
@pytest.mark.parametrize(
    "y, match",
    [
        ([0, 1, 10], r"0\.\.9"),
        ([0, -1, 2], r"0\.\.9"),
        ([0, 1], r"shape \(3,\)"),
        ([[0, 1, 2]], r"shape \(3,\)"),
        ([0.5, 1.0, 2.0], "integer"),
        (["a", "b", "c"], "integer"),
    ],
)
def test_bad_labels(y, match):
    for prior in (SwissRollPrior(), OneHotPrior(10), GaussianMixturePrior()):
        with pytest.raises(ValueError, match=match):
            prior.sample(3, y=y, random_state=0)


def test_integral_float_labels_accepted():
    prior = OneHotPrior(3)
    np.testing.assert_array_equal(prior.sample(3, y=np.array([0.0, 2.0, 1.0])).argmax(1), [0, 2, 1])


@pytest.mark.parametrize("n_samples", [-1, 2.5, "3", True])
def test_bad_n_samples(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        GaussianPrior(2).sample(n_samples)


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: SwissRollPrior(n_classes=0), "n_classes"),
        (lambda: SwissRollPrior(noise=-1), "noise"),
        (lambda: OneHotPrior(0), "dim"),
        (lambda: OneHotPrior(3, n_classes=4), "n_classes=4 must be at most dim=3"),
        (lambda: OneHotPrior(3, n_classes=0), "n_classes"),
        (lambda: OneHotPrior(3, n_classes=2, style_std=0), "style_std"),
        (lambda: GaussianPrior(2, std=0), "std"),
        (lambda: UniformPrior(2, low=1, high=1), "low < high"),
        (lambda: UniformPrior(2, low=False, high=True), "low < high"),
        (lambda: GaussianMixturePrior(dim=1), "dim"),
        (lambda: GaussianMixturePrior(n_components=0), "n_components"),
    ],
)
def test_bad_constructor_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


# ---------------------------------------------------------------- array / callable
def test_array_prior_resamples_rows():
    rows = np.arange(12, dtype=float).reshape(6, 2)
    prior = ArrayPrior(rows)
    assert prior.dim == 2 and prior.n_classes is None
    samples = prior.sample(300, random_state=0)
    assert {tuple(r) for r in samples} == {tuple(r) for r in rows.astype(np.float32)}


@pytest.mark.parametrize(
    "bad, match",
    [(np.zeros(5), "2D"), (np.full((3, 2), np.nan), "NaN"), (np.zeros((0, 2)), "0 sample")],
)
def test_array_prior_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        ArrayPrior(bad)


def test_callable_prior():
    prior = CallablePrior(ring)
    assert prior.dim == 2 and prior.func is ring
    samples = prior.sample(100, random_state=3)
    np.testing.assert_allclose(np.linalg.norm(samples, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(samples, ring(100, 3).astype(np.float32))
    assert CallablePrior(ring, dim=2).dim == 2
    # A 1-D result is one column.
    assert CallablePrior(line).sample(4, random_state=0).shape == (4, 1)


def test_callable_prior_wrong_output():
    with pytest.raises(ValueError, match="expected dim=3"):
        CallablePrior(ring, dim=3).sample(5, random_state=0)
    with pytest.raises(ValueError, match="shape"):
        CallablePrior(lambda n, rs: np.zeros((n + 1, 2)))
    with pytest.raises(TypeError, match="callable"):
        CallablePrior(42)


# ---------------------------------------------------------------- make_prior
@pytest.mark.parametrize(
    "name, latent_dim, cls",
    [
        ("swiss_roll", 2, SwissRollPrior),
        ("onehot", 7, OneHotPrior),
        ("gaussian", 3, GaussianPrior),
        ("uniform", 1, UniformPrior),
        ("gaussian_mixture", 2, GaussianMixturePrior),
        ("gaussian_mixture", 6, GaussianMixturePrior),
    ],
)
def test_make_prior_names(name, latent_dim, cls):
    prior = make_prior(name, latent_dim)
    assert isinstance(prior, cls) and prior.dim == latent_dim
    assert prior.sample(5, random_state=0).shape == (5, latent_dim)


def test_make_prior_covers_all_names():
    for name in PRIOR_NAMES:
        dim = 2
        assert make_prior(name, dim).dim == dim


def test_make_prior_dimension_mismatch():
    msg = "prior 'swiss_roll' is 2-dimensional but latent_dim=5; use latent_dim=2 or another prior"
    with pytest.raises(ValueError, match=msg):
        make_prior("swiss_roll", 5)
    with pytest.raises(ValueError, match="3-dimensional but latent_dim=2"):
        make_prior(np.zeros((10, 3)), 2)
    with pytest.raises(ValueError, match=r"function ring is 2-dimensional but latent_dim=4"):
        make_prior(ring, 4)
    with pytest.raises(ValueError, match=r"OneHotPrior.*3-dimensional but latent_dim=4"):
        make_prior(OneHotPrior(3), 4)
    with pytest.raises(ValueError, match=r"'gaussian_mixture'.*latent_dim=1"):
        make_prior("gaussian_mixture", 1)


def test_make_prior_unknown_name():
    with pytest.raises(ValueError, match="unknown prior 'banana'") as err:
        make_prior("banana", 2)
    for name in PRIOR_NAMES:
        assert repr(name) in str(err.value)


@pytest.mark.parametrize("latent_dim", [0, -2, 2.0, None])
def test_make_prior_bad_latent_dim(latent_dim):
    with pytest.raises(ValueError, match="latent_dim"):
        make_prior("gaussian", latent_dim)


def test_make_prior_array_callable_object():
    samples = np.random.default_rng(0).normal(size=(20, 3))
    prior = make_prior(samples, 3)
    assert isinstance(prior, ArrayPrior)
    np.testing.assert_array_equal(prior.samples, samples.astype(np.float32))
    assert isinstance(make_prior(samples.tolist(), 3), ArrayPrior)
    assert isinstance(make_prior(ring, 2), CallablePrior)
    obj = GaussianMixturePrior(dim=3)
    assert make_prior(obj, 3) is obj


class _DuckPrior:
    """A user prior that does not subclass BasePrior."""

    dim = 2
    n_classes = None

    def sample(self, n_samples, *, y=None, random_state=None):
        return np.zeros((n_samples, 2), dtype=np.float32)


def test_make_prior_duck_typed_object():
    duck = _DuckPrior()
    assert make_prior(duck, 2) is duck
    with pytest.raises(ValueError, match="latent_dim=3"):
        make_prior(duck, 3)


class _BoolDimPrior(_DuckPrior):
    dim = True


@pytest.mark.parametrize(
    "spec, match",
    [
        (GaussianPrior, r"prior object such as GaussianPrior\(...\), not the class"),
        (_DuckPrior, r"such as _DuckPrior\(...\)"),
        (True, "prior must be a name in .*got True"),
        (3.0, "prior must be a name in .*got 3.0"),
        (_BoolDimPrior(), "prior object \\(an integer dim and a sample method\\)"),
    ],
    ids=["class", "duck-class", "bool", "float", "bool-dim"],
)
def test_make_prior_refuses_what_is_not_a_prior(spec, match):
    with pytest.raises(TypeError, match=match):
        make_prior(spec, 1)


def test_made_priors_are_picklable():
    for spec, dim in [("swiss_roll", 2), ("gaussian", 3), (ring, 2), (np.eye(4), 4)]:
        prior = make_prior(spec, dim)
        clone = pickle.loads(pickle.dumps(prior))
        np.testing.assert_array_equal(
            clone.sample(6, random_state=1), prior.sample(6, random_state=1)
        )
