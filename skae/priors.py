"""Prior distributions for the codes of :class:`skae.ITLAutoencoder`.

Pass a prior object as ``ITLAutoencoder(prior=...)`` where a name is not enough: for
example :class:`OneHotPrior` with ``n_classes`` below ``dim``, a one-hot class part
followed by Gaussian style coordinates (the adversarial autoencoder's semi-supervised
layout). Any object with an integer ``dim`` and a ``sample`` method also works.
"""

from ._priors import (
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
