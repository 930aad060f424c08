"""Prior distributions for latent codes.

Every prior has the same small interface:

- ``dim`` : int, the dimension of a sample;
- ``n_classes`` : int or None, the number of classes (segments, components, one-hot
  positions) of a class-structured prior, None for an unstructured one;
- ``sample(n_samples, *, y=None, random_state=None)`` : a float32 array of shape
  ``(n_samples, dim)``. For a class-structured prior, ``y`` (integer labels in
  ``0 .. n_classes - 1``) picks the class of each sample, the semi-supervised mode of
  ITL and adversarial autoencoders; with ``y=None`` each sample's class is drawn
  uniformly. Unstructured priors ignore ``y``.

:func:`make_prior` turns a user specification (a name, an array of samples, a
callable or a prior object) into a prior and checks its dimension.

All priors are plain picklable objects (no lambdas or generators are stored).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_array, check_random_state

__all__ = [
    "PRIOR_NAMES",
    "ArrayPrior",
    "BasePrior",
    "CallablePrior",
    "GaussianMixturePrior",
    "GaussianPrior",
    "OneHotPrior",
    "SwissRollPrior",
    "UniformPrior",
    "make_prior",
]

#: the names :func:`make_prior` accepts
PRIOR_NAMES = ("swiss_roll", "onehot", "gaussian", "uniform", "gaussian_mixture")


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_nonneg(value, name: str, *, strict: bool = False) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (strict and value == 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
    return float(value)


class BasePrior:
    """Base class of the priors: argument checks and class handling for ``sample``.

    Subclasses set ``dim`` and ``n_classes`` and implement
    ``_sample(n_samples, classes, rng)``, where ``classes`` is an int array of length
    ``n_samples`` (already checked, or drawn uniformly) for a class-structured prior
    and None otherwise, and ``rng`` is a :class:`numpy.random.RandomState`.
    """

    dim: int
    n_classes: int | None = None

    def sample(self, n_samples, *, y=None, random_state=None) -> np.ndarray:
        """Draw ``n_samples`` samples.

        Parameters
        ----------
        n_samples : int
            Number of samples (>= 0).
        y : array-like of int of shape (n_samples,), default=None
            Class of each sample, in ``0 .. n_classes - 1``; only used by
            class-structured priors (``n_classes`` not None). None draws each
            sample's class uniformly.
        random_state : int, RandomState instance or None, default=None
            Seed or generator, through scikit-learn's ``check_random_state``.

        Returns
        -------
        samples : ndarray of shape (n_samples, dim), dtype float32
        """
        n_samples = _check_int(n_samples, "n_samples", 0)
        rng = check_random_state(random_state)
        classes = None
        if self.n_classes is not None:
            if y is None:
                classes = rng.randint(0, self.n_classes, size=n_samples)
            else:
                classes = self._check_labels(y, n_samples)
        out = np.asarray(self._sample(n_samples, classes, rng), dtype=np.float32)
        return out.reshape(n_samples, self.dim)

    def _check_labels(self, y, n_samples: int) -> np.ndarray:
        y = np.asarray(y)
        if y.shape != (n_samples,):
            raise ValueError(f"y must have shape ({n_samples},), got {y.shape}.")
        integral = np.issubdtype(y.dtype, np.integer) or (
            np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0)
        )
        if y.size and not integral:
            raise ValueError(
                f"y must hold integer class labels in 0..{self.n_classes - 1}, got dtype {y.dtype}."
            )
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(
                f"y must hold class labels in 0..{self.n_classes - 1} (the prior has "
                f"{self.n_classes} classes), got labels in {y.min()}..{y.max()}."
            )
        return y

    def _sample(self, n_samples: int, classes, rng) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _repr_params(self) -> dict:
        return {}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._repr_params().items())
        return f"{type(self).__name__}({params})"


class SwissRollPrior(BasePrior):
    """Two-dimensional swiss roll divided into ``n_classes`` segments along the roll.

    A point at position ``u`` in [0, 1] along the roll is
    ``sqrt(u) * (cos(4 pi sqrt(u)), sin(4 pi sqrt(u)))``: a spiral of two turns from
    the origin out to radius 1, with ``u`` proportional to arc length (so that
    equal ranges of ``u`` cover roughly equal lengths of the roll), as in the
    adversarial autoencoder's swiss-roll prior (Makhzani et al., 2015). Class ``k``
    is the segment ``u`` in ``[k / n_classes, (k + 1) / n_classes)``; classes are
    ordered from the centre outwards. Samples lie in ``[-1, 1]^2`` (before noise).

    Parameters
    ----------
    n_classes : int, default=10
        Number of contiguous segments.
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to each point.
    """

    dim = 2

    def __init__(self, n_classes=10, noise=0.0):
        self.n_classes = _check_int(n_classes, "n_classes", 1)
        self.noise = _check_nonneg(noise, "noise")

    def _sample(self, n_samples, classes, rng):
        u = (classes + rng.uniform(0.0, 1.0, size=n_samples)) / self.n_classes
        r = np.sqrt(u)
        angle = 4.0 * np.pi * r
        out = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
        if self.noise > 0:
            out = out + rng.normal(0.0, self.noise, size=out.shape)
        return out

    def _repr_params(self):
        return {"n_classes": self.n_classes, "noise": self.noise}


class OneHotPrior(BasePrior):
    """One-hot class vectors, optionally followed by Gaussian "style" coordinates.

    Class ``k`` is the ``k``-th standard basis vector in the first ``n_classes``
    coordinates. With ``n_classes < dim``, the other ``dim - n_classes`` coordinates
    are drawn from ``N(0, style_std^2)`` whatever the class: the code splits into a
    class part and a continuous style part, the adversarial autoencoder's
    semi-supervised layout (Makhzani et al. 2015). The style part is room for what
    the decoder needs besides the class, so that reconstruction need not push the
    class part to cluster images by appearance. The code's class is then ``argmax``
    over its first ``n_classes`` coordinates.

    Parameters
    ----------
    dim : int
        Dimension.
    noise_std : float, default=0.0
        Standard deviation of isotropic Gaussian noise added to the one-hot part.
    n_classes : int or None, default=None
        Number of classes, between 1 and ``dim``; None means ``dim`` (no style part).
    style_std : float, default=1.0
        Standard deviation of the style coordinates (unused when ``n_classes == dim``).

    Examples
    --------
    >>> from skae.priors import OneHotPrior
    >>> prior = OneHotPrior(4, n_classes=2)
    >>> prior.sample(3, y=[0, 1, 1], random_state=0)[:, :2]
    array([[1., 0.],
           [0., 1.],
           [0., 1.]], dtype=float32)
    """

    def __init__(self, dim, noise_std=0.0, n_classes=None, style_std=1.0):
        self.dim = _check_int(dim, "dim", 1)
        self.noise_std = _check_nonneg(noise_std, "noise_std")
        if n_classes is None:
            n_classes = self.dim
        self.n_classes = _check_int(n_classes, "n_classes", 1)
        if self.n_classes > self.dim:
            raise ValueError(
                f"n_classes={self.n_classes} must be at most dim={self.dim}: the one-hot "
                "part takes one coordinate per class."
            )
        self.style_std = _check_nonneg(style_std, "style_std", strict=True)

    def _sample(self, n_samples, classes, rng):
        out = np.zeros((n_samples, self.n_classes))
        out[np.arange(n_samples), classes] = 1.0
        if self.noise_std > 0:
            out += rng.normal(0.0, self.noise_std, size=out.shape)
        if self.n_classes == self.dim:
            return out
        style = rng.normal(0.0, self.style_std, size=(n_samples, self.dim - self.n_classes))
        return np.hstack([out, style])

    def _repr_params(self):
        params = {"dim": self.dim, "noise_std": self.noise_std}
        if self.n_classes < self.dim:
            params.update(n_classes=self.n_classes, style_std=self.style_std)
        return params


class GaussianPrior(BasePrior):
    """Isotropic Gaussian ``N(0, std^2 I)`` in ``dim`` dimensions (no classes; ``y`` ignored).

    Parameters
    ----------
    dim : int
        Dimension.
    std : float, default=1.0
        Standard deviation of every coordinate.
    """

    n_classes = None

    def __init__(self, dim, std=1.0):
        self.dim = _check_int(dim, "dim", 1)
        self.std = _check_nonneg(std, "std", strict=True)

    def _sample(self, n_samples, classes, rng):
        return rng.normal(0.0, self.std, size=(n_samples, self.dim))

    def _repr_params(self):
        return {"dim": self.dim, "std": self.std}


class UniformPrior(BasePrior):
    """Uniform on the cube ``[low, high)^dim`` (no classes; ``y`` ignored).

    Parameters
    ----------
    dim : int
        Dimension.
    low, high : float, default=-1.0, 1.0
        Bounds of every coordinate, ``low < high``.
    """

    n_classes = None

    def __init__(self, dim, low=-1.0, high=1.0):
        self.dim = _check_int(dim, "dim", 1)
        ok = all(
            isinstance(v, Real) and not isinstance(v, bool) and np.isfinite(v) for v in (low, high)
        )
        if not ok or not low < high:
            raise ValueError(f"need finite low < high, got low={low!r}, high={high!r}.")
        self.low, self.high = float(low), float(high)

    def _sample(self, n_samples, classes, rng):
        return rng.uniform(self.low, self.high, size=(n_samples, self.dim))

    def _repr_params(self):
        return {"dim": self.dim, "low": self.low, "high": self.high}


class GaussianMixturePrior(BasePrior):
    """Equal-weight mixture of isotropic Gaussians with means evenly spaced on a circle.

    Component ``k`` has mean ``radius * (cos(2 pi k / n_components),
    sin(2 pi k / n_components), 0, ..., 0)``: the means lie on a circle in the first
    two coordinates and at 0 in any further ones; every component has covariance
    ``std^2 I`` in all ``dim`` dimensions. Each component is one class.

    Parameters
    ----------
    dim : int, default=2
        Dimension, at least 2.
    n_components : int, default=10
        Number of components (= ``n_classes``).
    radius : float, default=1.0
        Radius of the circle of means.
    std : float, default=0.1
        Standard deviation of every component in every coordinate. With the
        defaults, neighbouring means are about 0.62 apart (6 standard deviations).

    Attributes
    ----------
    means_ : ndarray of shape (n_components, dim)
        The component means.
    """

    def __init__(self, dim=2, n_components=10, radius=1.0, std=0.1):
        self.dim = _check_int(dim, "dim", 2)
        self.n_components = _check_int(n_components, "n_components", 1)
        self.n_classes = self.n_components
        self.radius = _check_nonneg(radius, "radius")
        self.std = _check_nonneg(std, "std", strict=True)
        angle = 2.0 * np.pi * np.arange(self.n_components) / self.n_components
        self.means_ = np.zeros((self.n_components, self.dim))
        self.means_[:, 0] = self.radius * np.cos(angle)
        self.means_[:, 1] = self.radius * np.sin(angle)

    def _sample(self, n_samples, classes, rng):
        return self.means_[classes] + rng.normal(0.0, self.std, size=(n_samples, self.dim))

    def _repr_params(self):
        return {
            "dim": self.dim,
            "n_components": self.n_components,
            "radius": self.radius,
            "std": self.std,
        }


class ArrayPrior(BasePrior):
    """Empirical prior: rows of a user array, resampled uniformly with replacement.

    Parameters
    ----------
    samples : array-like of shape (n_prior_samples, dim)
        Finite samples of the prior. ``y`` is ignored (no classes).
    """

    n_classes = None

    def __init__(self, samples):
        self.samples = check_array(
            samples, dtype=np.float32, ensure_all_finite=True, input_name="prior samples"
        )
        self.dim = self.samples.shape[1]

    def _sample(self, n_samples, classes, rng):
        return self.samples[rng.randint(0, len(self.samples), size=n_samples)]

    def __repr__(self) -> str:
        return f"ArrayPrior(<{self.samples.shape[0]} x {self.dim} samples>)"


class CallablePrior(BasePrior):
    """A prior given by a user function ``func(n_samples, random_state) -> array``.

    ``random_state`` is passed to ``func`` unchanged (an int, a RandomState instance
    or None, whatever the caller of :meth:`sample` gave). ``func`` must return
    ``n_samples`` rows of ``dim`` columns (a 1-D array of length ``n_samples`` is
    read as one column). ``y`` is ignored (no classes).

    Parameters
    ----------
    func : callable
        The sampler. Store a module-level function (not a lambda or a local
        function) if the prior, or an estimator holding it, is to be pickled.
    dim : int or None, default=None
        Dimension; None infers it by calling ``func(2, 0)`` once.
    """

    n_classes = None

    def __init__(self, func, dim=None):
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}.")
        self.func = func
        if dim is None:
            dim = self._call(2, 0).shape[1]
        self.dim = _check_int(dim, "dim", 1)

    def _call(self, n_samples, random_state) -> np.ndarray:
        out = np.asarray(self.func(n_samples, random_state), dtype=np.float32)
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        if out.ndim != 2 or out.shape[0] != n_samples:
            raise ValueError(
                f"the prior function {self._name()} must return an array of shape "
                f"(n_samples, dim) = ({n_samples}, dim), got shape {out.shape}."
            )
        return out

    def _name(self) -> str:
        return getattr(self.func, "__qualname__", None) or repr(self.func)

    def sample(self, n_samples, *, y=None, random_state=None) -> np.ndarray:
        """Call the function for ``n_samples`` samples and check their shape.

        Parameters
        ----------
        n_samples : int
            Number of samples (>= 0).
        y : ignored
            The function's samples have no classes.
        random_state : int, RandomState instance or None, default=None
            Passed to the function as its second argument.

        Returns
        -------
        samples : ndarray of shape (n_samples, dim), dtype float32
        """
        n_samples = _check_int(n_samples, "n_samples", 0)
        out = self._call(n_samples, random_state)
        if out.shape[1] != self.dim:
            raise ValueError(
                f"the prior function {self._name()} returned {out.shape[1]} columns, "
                f"expected dim={self.dim}."
            )
        return out

    def _repr_params(self):
        return {"func": self._name(), "dim": self.dim}


def _is_prior(obj) -> bool:
    return (
        not isinstance(obj, type)
        and callable(getattr(obj, "sample", None))
        and isinstance(getattr(obj, "dim", None), Integral)
        and not isinstance(obj.dim, bool)
    )


def make_prior(spec, latent_dim):
    """Build a prior from a specification and check its dimension against ``latent_dim``.

    Parameters
    ----------
    spec : str, array-like, callable or prior object
        - ``'swiss_roll'``: :class:`SwissRollPrior` (2-D, 10 segments);
        - ``'onehot'``: :class:`OneHotPrior` with ``dim=latent_dim``;
        - ``'gaussian'``: :class:`GaussianPrior` ``N(0, I)`` with ``dim=latent_dim``;
        - ``'uniform'``: :class:`UniformPrior` on ``[-1, 1)^latent_dim``;
        - ``'gaussian_mixture'``: :class:`GaussianMixturePrior` with 10 components
          and ``dim=latent_dim`` (at least 2);
        - an array of shape ``(n, dim)``: :class:`ArrayPrior`;
        - a callable ``(n_samples, random_state) -> array``: :class:`CallablePrior`;
        - an object with an integer ``dim`` and a ``sample`` method (any
          :class:`BasePrior`): used as is.
    latent_dim : int
        The code dimension the prior must match.

    Returns
    -------
    prior : BasePrior or prior object

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or a prior whose
        dimension is not ``latent_dim``.
    TypeError
        For a class instead of a prior object, or a value that is none of the above.
    """
    latent_dim = _check_int(latent_dim, "latent_dim", 1)
    if isinstance(spec, str):
        if spec not in PRIOR_NAMES:
            raise ValueError(
                f"unknown prior {spec!r}; valid names are {', '.join(map(repr, PRIOR_NAMES))} "
                "(or pass an array of samples, a callable or a prior object)."
            )
        label = repr(spec)
        if spec == "swiss_roll":
            prior = SwissRollPrior()
        elif spec == "onehot":
            prior = OneHotPrior(latent_dim)
        elif spec == "gaussian":
            prior = GaussianPrior(latent_dim)
        elif spec == "uniform":
            prior = UniformPrior(latent_dim)
        else:  # gaussian_mixture
            if latent_dim < 2:
                raise ValueError(
                    f"prior 'gaussian_mixture' needs at least 2 dimensions but "
                    f"latent_dim={latent_dim}; use latent_dim>=2 or another prior."
                )
            prior = GaussianMixturePrior(dim=latent_dim)
    elif isinstance(spec, type):
        # A class is callable, and would be taken for a sampling function.
        raise TypeError(
            f"prior must be a prior object such as {spec.__name__}(...), not the class "
            f"{spec.__name__} itself."
        )
    elif _is_prior(spec):
        prior, label = spec, repr(spec)
    elif callable(spec):
        prior = CallablePrior(spec)
        label = f"function {prior._name()}"
    elif np.ndim(spec) == 0:  # a scalar or an object that is none of the above
        raise TypeError(
            f"prior must be a name in {list(PRIOR_NAMES)}, an array of samples, a callable "
            "(n_samples, random_state) -> array or a prior object (an integer dim and a "
            f"sample method), got {spec!r}."
        )
    else:
        prior = ArrayPrior(spec)
        label = f"array of shape {prior.samples.shape}"
    if prior.dim != latent_dim:
        raise ValueError(
            f"prior {label} is {prior.dim}-dimensional but latent_dim={latent_dim}; "
            f"use latent_dim={prior.dim} or another prior."
        )
    return prior
