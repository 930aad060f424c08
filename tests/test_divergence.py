"""Cauchy-Schwarz divergence and information potentials with Gaussian Parzen windows."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import multivariate_normal

from skae._divergence import (
    cauchy_schwarz_divergence,
    log_information_potential,
    silverman_bandwidth,
)


def _t(a, dtype=torch.float64):
    return torch.as_tensor(np.asarray(a), dtype=dtype)


# ---------------------------------------------------------------- references
def _potential_loop(x, y, sigma):
    """V(x, y) with plain Python loops: mean over pairs of the N(0, 2 sigma^2 I) density."""
    d = len(x[0])
    s2 = 2.0 * sigma**2
    total = 0.0
    for xi in x:
        for yj in y:
            r2 = sum((a - b) ** 2 for a, b in zip(xi, yj))
            total += (2.0 * math.pi * s2) ** (-d / 2) * math.exp(-r2 / (2.0 * s2))
    return total / (len(x) * len(y))


def _csd_loop(x, y, sigma):
    return (
        -2.0 * math.log(_potential_loop(x, y, sigma))
        + math.log(_potential_loop(x, x, sigma))
        + math.log(_potential_loop(y, y, sigma))
    )


def _mixture_overlap(x, y, sigma):
    """Closed-form integral of the product of two Parzen mixtures, with scipy densities.

    int N(u; x_i, s^2 I) N(u; y_j, s^2 I) du = N(x_i - y_j; 0, 2 s^2 I).
    """
    d = x.shape[1]
    diffs = (x[:, None, :] - y[None, :, :]).reshape(-1, d)
    pdf = multivariate_normal(mean=np.zeros(d), cov=2.0 * sigma**2 * np.eye(d)).pdf(diffs)
    return np.mean(pdf)


def _csd_gaussians(mu1, cov1, mu2, cov2):
    """Closed-form D_CS between N(mu1, cov1) and N(mu2, cov2)."""
    d = len(mu1)
    cross = multivariate_normal(mean=mu2, cov=cov1 + cov2).logpdf(mu1)
    self1 = multivariate_normal(mean=np.zeros(d), cov=2 * cov1).logpdf(np.zeros(d))
    self2 = multivariate_normal(mean=np.zeros(d), cov=2 * cov2).logpdf(np.zeros(d))
    return -2.0 * cross + self1 + self2


# ---------------------------------------------------------------- exactness
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 3.0])
def test_matches_double_loop(d, sigma):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(6, d))
    y = rng.normal(loc=0.5, size=(5, d))
    expected_v = _potential_loop(x.tolist(), y.tolist(), sigma)
    log_v = log_information_potential(_t(x), _t(y), sigma)
    assert log_v.dtype == torch.float64 and log_v.ndim == 0
    np.testing.assert_allclose(log_v.item(), math.log(expected_v), rtol=1e-12)
    got = cauchy_schwarz_divergence(_t(x), _t(y), sigma=sigma).item()
    np.testing.assert_allclose(got, _csd_loop(x.tolist(), y.tolist(), sigma), rtol=1e-10)


@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("sigma", [0.2, 0.7])
def test_matches_closed_form_of_parzen_mixtures(d, sigma):
    # The Parzen estimate is a Gaussian mixture, whose CS divergence is closed form.
    rng = np.random.default_rng(10 + d)
    x = rng.normal(size=(20, d))
    y = rng.normal(loc=0.3, scale=1.5, size=(15, d))
    expected = (
        -2.0 * np.log(_mixture_overlap(x, y, sigma))
        + np.log(_mixture_overlap(x, x, sigma))
        + np.log(_mixture_overlap(y, y, sigma))
    )
    got = cauchy_schwarz_divergence(_t(x), _t(y), sigma=sigma).item()
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_potential_is_integral_of_parzen_product_1d():
    # Independent of the sqrt(2) width argument: integrate p_hat * q_hat numerically.
    rng = np.random.default_rng(3)
    x, y, sigma = rng.normal(size=7), rng.normal(loc=1.0, size=5), 0.4

    def parzen(u, centers):
        return np.mean(np.exp(-((u - centers) ** 2) / (2 * sigma**2))) / (
            math.sqrt(2 * math.pi) * sigma
        )

    integral, _ = integrate.quad(lambda u: parzen(u, x) * parzen(u, y), -10, 10, limit=200)
    log_v = log_information_potential(_t(x[:, None]), _t(y[:, None]), sigma).item()
    np.testing.assert_allclose(log_v, math.log(integral), rtol=1e-8)


@pytest.mark.parametrize(
    "mu_shift, s1, s2",
    [(0.0, 1.0, 1.0), (1.0, 1.0, 1.0), (2.0, 1.0, 0.5), (0.5, 0.7, 1.3)],
)
def test_large_sample_matches_gaussian_closed_form(mu_shift, s1, s2):
    # For large n, the Parzen estimates approach N(mu, S + sigma^2 I). The estimator's
    # standard deviation at n=2000 is about 0.03 at D=0.4 and 0.09 at D=2.5 (30 seeds).
    d, n, sigma = 2, 2000, 0.5
    rng = np.random.default_rng(int(10 * mu_shift + 100 * s2))
    mu1, mu2 = np.zeros(d), np.full(d, mu_shift / math.sqrt(d))
    x = rng.normal(size=(n, d)) * s1 + mu1
    y = rng.normal(size=(n, d)) * s2 + mu2
    eye = np.eye(d)
    expected = _csd_gaussians(mu1, (s1**2 + sigma**2) * eye, mu2, (s2**2 + sigma**2) * eye)
    got = cauchy_schwarz_divergence(_t(x), _t(y), sigma=sigma).item()
    assert got == pytest.approx(expected, abs=0.03 + 0.15 * expected)


# ---------------------------------------------------------------- properties
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("sigma", [None, 1e-3, 0.5])
def test_identical_sets_give_zero(dtype, atol, sigma):
    x = torch.randn(50, 3, dtype=dtype)
    value = cauchy_schwarz_divergence(x, x.clone(), sigma=sigma)
    assert value.dtype == dtype
    assert abs(value.item()) <= atol
    # Same points in another order: the same Parzen density.
    assert abs(cauchy_schwarz_divergence(x, x.flip(0), sigma=sigma).item()) <= atol * 100


def test_symmetric():
    x, y = torch.randn(40, 2, dtype=torch.float64), torch.randn(30, 2, dtype=torch.float64) + 1
    for sigma in (None, 0.3, 2.0):
        a = cauchy_schwarz_divergence(x, y, sigma=sigma).item()
        b = cauchy_schwarz_divergence(y, x, sigma=sigma).item()
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_positive_and_grows_with_shift():
    x = torch.randn(200, 2, dtype=torch.float64)
    y = torch.randn(200, 2, dtype=torch.float64)
    values = [cauchy_schwarz_divergence(x, y + s, sigma=0.5).item() for s in (0, 0.5, 1, 2, 4)]
    assert all(v > 0 for v in values)
    assert values == sorted(values)
    assert values[-1] > 10 * values[1]


def test_nonnegative_on_random_sets():
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        n, m, d = torch.randint(1, 30, (3,), generator=gen).tolist()
        x = torch.randn(n, d, generator=gen, dtype=torch.float64)
        y = 2 * torch.randn(m, d, generator=gen, dtype=torch.float64)
        assert cauchy_schwarz_divergence(x, y, sigma=0.7).item() >= -1e-12


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stable_for_tiny_sigma_and_far_sets(dtype):
    x = torch.randn(30, 2, dtype=dtype)
    far = x + 1e4
    for sigma in (1e-6, 1e-3):
        # exp(-r^2 / 4 sigma^2) underflows for every cross pair; log-space keeps it finite.
        value = cauchy_schwarz_divergence(x, far, sigma=sigma)
        assert torch.isfinite(value)
        assert value.item() > 1e6
        assert torch.isfinite(log_information_potential(x, far, sigma))
        assert abs(cauchy_schwarz_divergence(x, x.clone(), sigma=sigma).item()) < 1e-4
    value = cauchy_schwarz_divergence(x, far)  # Silverman's width on the pooled sample
    assert torch.isfinite(value) and value.item() > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_flow(dtype):
    x = torch.randn(20, 2, dtype=dtype, requires_grad=True)
    y = (torch.randn(25, 2, dtype=dtype) + 1).requires_grad_()
    value = cauchy_schwarz_divergence(x, y)
    assert value.ndim == 0 and value.dtype == dtype
    value.backward()
    for t in (x, y):
        assert t.grad is not None and torch.isfinite(t.grad).all()
        assert t.grad.abs().sum() > 0


def test_gradient_matches_finite_differences():
    x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: cauchy_schwarz_divergence(a, b, 0.8), (x, y))
    # Including coincident points (zero distances).
    assert torch.autograd.gradcheck(
        lambda a: cauchy_schwarz_divergence(a, x.detach(), 0.8),
        (x.detach().clone().requires_grad_(),),
    )


def test_gradient_descent_pulls_samples_together():
    torch.manual_seed(0)
    target = torch.randn(100, 2)
    z = (torch.randn(100, 2) * 0.3 + 2).requires_grad_()
    opt = torch.optim.Adam([z], lr=0.05)
    start = cauchy_schwarz_divergence(z, target, sigma=1.0).item()
    for _ in range(200):
        opt.zero_grad()
        loss = cauchy_schwarz_divergence(z, target, sigma=1.0)
        loss.backward()
        opt.step()
    assert loss.item() < 0.01 * start
    # Moved onto the target: centred, and spread out to about its scale.
    assert z.detach().mean(0).norm() < 0.2
    assert 0.6 < z.detach().std(0).mean() < 1.4


def test_dtypes():
    x64 = torch.randn(10, 2, dtype=torch.float64)
    assert cauchy_schwarz_divergence(x64.float(), x64.float() + 1).dtype == torch.float32
    assert cauchy_schwarz_divergence(x64, x64 + 1).dtype == torch.float64
    # Mixed precision promotes; half precision is computed in float32.
    assert cauchy_schwarz_divergence(x64.float(), x64 + 1).dtype == torch.float64
    half = cauchy_schwarz_divergence(x64.half(), x64.half() + 1, sigma=0.5)
    assert half.dtype == torch.float16
    full = cauchy_schwarz_divergence(x64, x64 + 1, sigma=0.5)
    assert half.item() == pytest.approx(full.item(), rel=1e-2)
    np.testing.assert_allclose(
        cauchy_schwarz_divergence(x64.float(), x64.float() + 1, sigma=0.5).item(),
        full.item(),
        rtol=1e-5,
    )


def test_accepts_numpy():
    x = np.random.default_rng(0).normal(size=(10, 2))
    value = cauchy_schwarz_divergence(x, x + 1, sigma=0.5)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
    assert value.item() == pytest.approx(
        cauchy_schwarz_divergence(_t(x), _t(x + 1), sigma=0.5).item()
    )


# ---------------------------------------------------------------- bandwidth
def test_silverman_bandwidth():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=[1.0, 3.0], size=(500, 2))
    expected = x.std(axis=0, ddof=1).mean() * (4 / (4 * 500)) ** (1 / 6)
    sigma = silverman_bandwidth(_t(x))
    assert sigma.ndim == 0 and sigma.dtype == torch.float64
    assert sigma.item() == pytest.approx(expected, rel=1e-12)
    assert not sigma.requires_grad
    # 1-D: the classic 1.06 * std * n^(-1/5).
    x1 = rng.normal(size=(1000, 1))
    assert silverman_bandwidth(_t(x1)).item() == pytest.approx(
        (4 / 3) ** 0.2 * x1.std(ddof=1) * 1000 ** (-0.2), rel=1e-12
    )


def test_silverman_degenerate_sample_falls_back_to_one():
    assert silverman_bandwidth(torch.zeros(5, 2)).item() == 1.0
    assert silverman_bandwidth(torch.ones(1, 3)).item() == 1.0
    # ... so the divergence between point masses is still defined (and 0 when equal).
    assert cauchy_schwarz_divergence(torch.zeros(4, 2), torch.zeros(3, 2)).item() == 0.0


def test_default_sigma_is_pooled_silverman():
    x, y = torch.randn(30, 2, dtype=torch.float64), torch.randn(20, 2, dtype=torch.float64) + 2
    sigma = silverman_bandwidth(torch.cat([x, y])).item()
    assert cauchy_schwarz_divergence(x, y).item() == pytest.approx(
        cauchy_schwarz_divergence(x, y, sigma=sigma).item(), rel=1e-12
    )


# ---------------------------------------------------------------- bad input
def test_mismatched_columns():
    with pytest.raises(ValueError, match="x has 3 and y has 2"):
        cauchy_schwarz_divergence(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="x has 3 and y has 2"):
        log_information_potential(torch.zeros(4, 3), torch.zeros(4, 2), 1.0)


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.zeros(4), "x must be a 2-D"),
        (torch.zeros(2, 3, 4), "x must be a 2-D"),
        (torch.zeros(0, 2), "at least one sample"),
    ],
)
def test_bad_shapes(x, match):
    with pytest.raises(ValueError, match=match):
        cauchy_schwarz_divergence(x, torch.zeros(3, 2))
    with pytest.raises(ValueError, match=match.replace("x ", "y ")):
        cauchy_schwarz_divergence(torch.zeros(3, 2), x)


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), float("inf"), torch.tensor(0.0)])
def test_bad_sigma(sigma):
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="sigma must be a positive"):
        cauchy_schwarz_divergence(x, x, sigma=sigma)
    with pytest.raises(ValueError, match="sigma must be a positive"):
        log_information_potential(x, x, sigma)


def test_sigma_type_errors():
    x = torch.zeros(3, 2)
    with pytest.raises(TypeError, match="sigma"):
        cauchy_schwarz_divergence(x, x, sigma="wide")
    with pytest.raises(ValueError, match="scalar"):
        cauchy_schwarz_divergence(x, x, sigma=torch.ones(2))


def test_tensor_sigma_gets_gradient():
    x, y = torch.randn(10, 2), torch.randn(10, 2) + 1
    sigma = torch.tensor(0.5, requires_grad=True)
    cauchy_schwarz_divergence(x, y, sigma=sigma).backward()
    assert sigma.grad is not None and torch.isfinite(sigma.grad)
