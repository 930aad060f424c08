"""The regularisers every skae autoencoder takes, and the parameters it shares.

To add a regulariser: write its :class:`~skae._loss_terms.LossTerm` (its name, what
it needs from the step, its computation, its ``parameters``, ``from_parameters`` and
``check_parameters``), then list it in ``REGULARIZERS`` and its parameters in
``AUTOENCODER_PARAMETERS``. Every autoencoder then takes, checks and documents its
parameters and trains and logs the term.
"""

from __future__ import annotations

from ._loss_terms import (
    ContractiveTerm,
    SparsityTerm,
    SupervisedTerm,
    VirtualAdversarialTerm,
    WeightDecayTerm,
)
from ._parameters import (
    DROPOUT,
    LR_SCHEDULE,
    N_THREADS,
    NOISE,
    NOISE_LEVEL,
    TRAINING_PARAMETERS,
    check_noise_level,
)

#: the regularisers' terms, in the order they are evaluated and logged (after the
#: model's own terms)
REGULARIZERS = (
    SparsityTerm,
    ContractiveTerm,
    WeightDecayTerm,
    SupervisedTerm,
    VirtualAdversarialTerm,
)

#: the parameters every autoencoder takes after its own, in signature order
AUTOENCODER_PARAMETERS = (
    *TRAINING_PARAMETERS,
    NOISE,
    NOISE_LEVEL,
    *SparsityTerm.parameters,
    *ContractiveTerm.parameters,
    DROPOUT,
    *WeightDecayTerm.parameters,
    LR_SCHEDULE,
    *SupervisedTerm.parameters,
    *VirtualAdversarialTerm.parameters,
    N_THREADS,
)


def regularizer_terms(params: dict) -> list:
    """The terms of the regularisers that ``params`` (an estimator's) switch on."""
    terms = (regularizer.from_parameters(params) for regularizer in REGULARIZERS)
    return [term for term in terms if term is not None]


def check_regularizers(params: dict, estimator) -> None:
    """Raise a ``ValueError`` for settings of the regularisers that cannot train together."""
    check_noise_level(params["noise"], params["noise_level"])
    for regularizer in REGULARIZERS:
        regularizer.check_parameters(params, estimator)
