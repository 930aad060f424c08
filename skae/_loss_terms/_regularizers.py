"""Regularisers of the codes and the weights: sparsity, contractive, weight decay."""

from __future__ import annotations

from numbers import Real

import torch
from sklearn.utils._param_validation import StrOptions

from .._parameters import Parameter
from .._regularization import contractive_penalty, sparsity_penalty, weight_penalty
from .._validation import NonBoolInterval
from ._term import LossTerm

SPARSITY_PENALTIES = ("l1", "kl")


class SparsityTerm(LossTerm):
    """A sparsity penalty on the codes (see :func:`~skae._regularization.sparsity_penalty`).

    Parameters
    ----------
    weight : float
    penalty : {'l1', 'kl'}, default='l1'
    target : float, default=0.05
        The target mean activation of ``'kl'``.
    """

    name = "sparsity"
    needs = ("code",)
    parameters = (
        Parameter(
            "sparsity",
            "{'l1', 'kl'}",
            "l1",
            (StrOptions(set(SPARSITY_PENALTIES)),),
            """\
            Sparsity penalty on the code: ``'l1'`` is the mean absolute code activation;
            ``'kl'`` is the mean over code units of KL(``sparsity_target`` || the unit's
            mean activation over the batch), for sigmoid codes.""",
        ),
        Parameter(
            "sparsity_weight",
            "float",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"),),
            "Weight of the sparsity term (0 switches it off); logged as ``sparsity``.",
        ),
        Parameter(
            "sparsity_target",
            "float",
            0.05,
            (NonBoolInterval(Real, 0, 1, closed="neither"),),
            "Target mean activation of each code unit for ``sparsity='kl'``, in (0, 1).",
        ),
    )

    def __init__(self, weight, penalty="l1", target=0.05):
        super().__init__(weight)
        self.penalty = penalty
        self.target = target

    def __call__(self, context):
        return sparsity_penalty(context.code, self.penalty, self.target)

    @classmethod
    def from_parameters(cls, params):
        if not params["sparsity_weight"]:
            return None
        return cls(params["sparsity_weight"], params["sparsity"], params["sparsity_target"])

    @classmethod
    def check_parameters(cls, params, estimator):
        kl = params["sparsity_weight"] and params["sparsity"] == "kl"
        if kl and params.get("latent_activation", "linear") != "sigmoid":
            fix = (
                "set latent_activation='sigmoid', or use sparsity='l1'"
                if "latent_activation" in params
                else f"{type(estimator).__name__}'s code is unbounded: use sparsity='l1'"
            )
            raise ValueError(
                "sparsity='kl' compares each code unit's mean activation with "
                f"sparsity_target, which needs codes in (0, 1): {fix}."
            )


class ContractiveTerm(LossTerm):
    """The squared Frobenius norm of the encoder's Jacobian, averaged over the batch.

    In training the Jacobian is taken at the corrupted inputs the encoder saw (which
    therefore carry gradients); in validation, which runs without gradients, the
    encoder is run again on the inputs with gradients, for this term only.
    """

    name = "contractive"
    needs = ("code", "input_gradient")
    parameters = (
        Parameter(
            "contractive_weight",
            "float",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"),),
            """\
            Weight of the squared Frobenius norm of the encoder's Jacobian (a contractive
            autoencoder), averaged over samples and estimated with one random projection
            per sample (one extra backward pass at any code size); logged as
            ``contractive``.""",
        ),
    )

    def __call__(self, context):
        if context.training:
            return contractive_penalty(context.code, context.encoder_input, create_graph=True)
        with torch.enable_grad():
            inputs = context.inputs.detach().requires_grad_(True)
            return contractive_penalty(context.module.encode(inputs), inputs, create_graph=False)

    @classmethod
    def from_parameters(cls, params):
        weight = params["contractive_weight"]
        return cls(weight) if weight else None


class WeightDecayTerm(LossTerm):
    """Half the squared L2 norm of the weight matrices the net's optimizer trains.

    A loss term rather than an optimizer option, so that it works with every
    optimizer. Parameters the net keeps out of its optimizer (an adversarial
    discriminator, a frozen encoder) are not decayed, nor are biases.
    """

    name = "weight_decay"
    parameters = (
        Parameter(
            "weight_decay",
            "float",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"),),
            """\
            L2 penalty: ``weight_decay`` times half the squared norm of the weight matrices
            (not the biases), added to the loss so that it works with every optimizer
            (for SGD and Adam it equals their ``weight_decay`` option); logged as
            ``weight_decay``.""",
        ),
    )

    def __call__(self, context):
        penalty = weight_penalty(context.net.get_all_learnable_params())
        return penalty.to(context.inputs.device)

    @classmethod
    def from_parameters(cls, params):
        weight = params["weight_decay"]
        return cls(weight) if weight else None
