"""Cauchy-Schwarz divergence between two samples, from Gaussian Parzen-window estimates.

The building block of information-theoretic learning (ITL) autoencoders: a
differentiable, sample-based measure of how far the distribution of a batch of
codes is from the distribution of a batch of prior samples.

References
----------
.. [1] J. C. Principe, "Information Theoretic Learning: Renyi's Entropy and
   Kernel Perspectives", Springer, 2010.
.. [2] R. Jenssen, J. C. Principe, D. Erdogmus and T. Eltoft, "The Cauchy-Schwarz
   divergence and Parzen windowing: Connections to graph theory and Mercer
   kernels", Journal of the Franklin Institute 343(6), 2006.
.. [3] E. Santana, M. Emigh and J. C. Principe, "Information theoretic-learning
   auto-encoder", International Joint Conference on Neural Networks (IJCNN), 2016.
"""

from __future__ import annotations

import math
from numbers import Real

import torch

__all__ = ["cauchy_schwarz_divergence", "log_information_potential", "silverman_bandwidth"]

#: half precision is upcast to float32 for the pairwise sums, then cast back
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _as_2d_float(a, name: str) -> torch.Tensor:
    """``a`` as a 2-D floating-point tensor (numpy/array-likes are converted)."""
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(a)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if t.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (n_samples, n_features) tensor, got {t.ndim} dimension(s) "
            f"with shape {tuple(t.shape)}."
        )
    if t.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one sample, got shape {tuple(t.shape)}.")
    return t


def _check_pair(x, y):
    x, y = _as_2d_float(x, "x"), _as_2d_float(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same number of features (columns): x has {x.shape[1]} "
            f"and y has {y.shape[1]}."
        )
    dtype = torch.promote_types(x.dtype, y.dtype)
    return x.to(dtype), y.to(dtype)


def _check_sigma(sigma, like: torch.Tensor) -> torch.Tensor:
    """``sigma`` as a 0-dim tensor on ``like``'s device/dtype, checked positive and finite."""
    if isinstance(sigma, torch.Tensor):
        if sigma.numel() != 1:
            raise ValueError(f"sigma must be a scalar, got a tensor of shape {tuple(sigma.shape)}.")
        value = float(sigma.detach().reshape(()))
    elif isinstance(sigma, Real) and not isinstance(sigma, bool):
        value = float(sigma)
    else:
        raise TypeError(f"sigma must be a positive real number, got {type(sigma).__name__}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"sigma must be a positive finite number, got {value!r}.")
    if isinstance(sigma, torch.Tensor):
        return sigma.reshape(()).to(device=like.device, dtype=like.dtype)
    return torch.tensor(value, device=like.device, dtype=like.dtype)


def silverman_bandwidth(x) -> torch.Tensor:
    r"""Silverman's rule-of-thumb width of a Gaussian Parzen window.

    For ``n`` samples in ``d`` dimensions,

    .. math::

        \sigma = \bar{s} \left(\frac{4}{(d + 2)\, n}\right)^{1 / (d + 4)},

    where :math:`\bar{s}` is the per-dimension sample standard deviation
    (``correction=1``) averaged over the ``d`` dimensions.

    Parameters
    ----------
    x : torch.Tensor or array-like of shape (n_samples, n_features)
        The sample.

    Returns
    -------
    sigma : torch.Tensor
        A detached 0-dim tensor with the dtype and device of ``x``. For a
        degenerate sample (a single point, or all points equal) the rule gives 0 or
        nan; ``1.0`` is returned instead so that the result is always usable as a
        kernel width.

    References
    ----------
    .. [1] B. W. Silverman, "Density Estimation for Statistics and Data Analysis",
       Chapman & Hall, 1986.
    """
    x = _as_2d_float(x, "x").detach()
    n, d = x.shape
    work = x.float() if x.dtype in _LOW_PRECISION else x
    if n > 1:
        std_mean = work.std(dim=0, correction=1).mean()
    else:
        std_mean = torch.zeros((), dtype=work.dtype, device=work.device)
    sigma = std_mean * (4.0 / ((d + 2) * n)) ** (1.0 / (d + 4))
    # No host sync: replace a degenerate value on the device.
    ok = torch.isfinite(sigma) & (sigma > 0)
    sigma = torch.where(ok, sigma, torch.ones_like(sigma))
    return sigma.to(x.dtype)


def _log_potential(x: torch.Tensor, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """log V(x, y) for validated inputs of a common (at least single-precision) dtype."""
    n, d = x.shape
    m = y.shape[0]
    # Exact pairwise differences (no |x|^2 + |y|^2 - 2 x.y cancellation), so that the
    # distances stay accurate relative to a tiny sigma and are exactly 0 between equal points.
    sq = torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist").square()
    # G_{sigma sqrt 2}(r) = (4 pi sigma^2)^(-d/2) exp(-r^2 / (4 sigma^2))
    log_kernel = -sq / (4.0 * sigma.square())
    log_norm = -0.5 * d * torch.log(4.0 * math.pi * sigma.square())
    return torch.logsumexp(log_kernel.reshape(-1), dim=0) - math.log(n * m) + log_norm


def log_information_potential(x, y, sigma) -> torch.Tensor:
    r"""Log of the cross information potential of two samples.

    With Gaussian Parzen windows of width :math:`\sigma` on ``x`` (``N`` points)
    and ``y`` (``M`` points), the integral of the product of the two density
    estimates is

    .. math::

        V(x, y) = \int \hat p(u)\, \hat q(u)\, du
                = \frac{1}{N M} \sum_{i=1}^{N} \sum_{j=1}^{M}
                  G_{\sigma\sqrt{2}}(x_i - y_j),

    where :math:`G_s(u) = (2 \pi s^2)^{-d/2} \exp(-\lVert u \rVert^2 / (2 s^2))` is
    the ``d``-dimensional Gaussian density with covariance :math:`s^2 I` (two windows
    of width :math:`\sigma` convolve to one of width :math:`\sigma\sqrt{2}`). The
    value is computed in log space with :func:`torch.logsumexp`, so it stays finite
    for a tiny ``sigma`` or far-apart samples.

    Parameters
    ----------
    x : torch.Tensor of shape (N, d)
        First sample.
    y : torch.Tensor of shape (M, d)
        Second sample.
    sigma : float or 0-dim torch.Tensor
        Width (standard deviation) of the Parzen window; must be positive. A tensor
        ``sigma`` takes part in autograd.

    Returns
    -------
    log_v : torch.Tensor
        0-dim tensor :math:`\log V(x, y)`, differentiable with respect to ``x``
        and ``y``.

    References
    ----------
    .. [1] J. C. Principe, "Information Theoretic Learning: Renyi's Entropy and
       Kernel Perspectives", Springer, 2010.
    """
    x, y = _check_pair(x, y)
    sigma = _check_sigma(sigma, x)
    out_dtype = x.dtype
    if out_dtype in _LOW_PRECISION:
        x, y, sigma = x.float(), y.float(), sigma.float()
    return _log_potential(x, y, sigma).to(out_dtype)


def cauchy_schwarz_divergence(x, y, sigma=None) -> torch.Tensor:
    r"""Cauchy-Schwarz divergence between the distributions of two samples.

    .. math::

        D_{CS}(p, q) = -\log \frac{\left(\int p q\right)^2}{\int p^2 \int q^2}
                     = -2 \log V(x, y) + \log V(x, x) + \log V(y, y),

    with every integral replaced by its Gaussian Parzen-window estimate, the
    information potential :math:`V` of :func:`log_information_potential`. The
    estimate is symmetric, non-negative (Cauchy-Schwarz inequality for the two
    Parzen densities) and exactly 0 when ``x`` and ``y`` are the same set of
    points. The Parzen normalising constants cancel, so only the pairwise
    Gaussian-kernel sums remain.

    Parameters
    ----------
    x : torch.Tensor of shape (N, d)
        Sample from ``p`` (e.g. a batch of codes). Any floating dtype and device;
        ``x`` and ``y`` are promoted to a common dtype. Half precision is computed in
        float32 and the result cast back.
    y : torch.Tensor of shape (M, d)
        Sample from ``q`` (e.g. samples of the prior).
    sigma : float, 0-dim torch.Tensor or None, default=None
        Width of the Gaussian Parzen window. ``None`` uses
        :func:`silverman_bandwidth` of the pooled sample ``x`` and ``y``
        (detached: no gradient flows through the bandwidth).

    Returns
    -------
    divergence : torch.Tensor
        0-dim tensor, differentiable with respect to ``x`` and ``y``.

    Raises
    ------
    ValueError
        If ``x`` or ``y`` is not 2-D or empty, if their numbers of columns differ,
        or if ``sigma`` is not positive and finite.

    References
    ----------
    .. [1] R. Jenssen, J. C. Principe, D. Erdogmus and T. Eltoft, "The
       Cauchy-Schwarz divergence and Parzen windowing: Connections to graph theory
       and Mercer kernels", Journal of the Franklin Institute 343(6), 2006.
    .. [2] J. C. Principe, "Information Theoretic Learning: Renyi's Entropy and
       Kernel Perspectives", Springer, 2010.
    .. [3] E. Santana, M. Emigh and J. C. Principe, "Information theoretic-learning
       auto-encoder", IJCNN, 2016.

    Examples
    --------
    >>> import torch
    >>> from skae._divergence import cauchy_schwarz_divergence
    >>> x = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
    >>> float(cauchy_schwarz_divergence(x, x.clone(), sigma=0.5))
    0.0
    >>> bool(cauchy_schwarz_divergence(x, x + 3.0, sigma=0.5) > 1.0)
    True
    """
    x, y = _check_pair(x, y)
    if sigma is None:
        sigma = silverman_bandwidth(torch.cat([x.detach(), y.detach()], dim=0))
    else:
        sigma = _check_sigma(sigma, x)
    out_dtype = x.dtype
    if out_dtype in _LOW_PRECISION:
        x, y, sigma = x.float(), y.float(), sigma.float()
    divergence = (
        -2.0 * _log_potential(x, y, sigma)
        + _log_potential(x, x, sigma)
        + _log_potential(y, y, sigma)
    )
    return divergence.to(out_dtype)
