"""Terms that need no label: virtual adversarial consistency, entropy minimisation."""

from __future__ import annotations

from numbers import Real

from sklearn.utils._param_validation import StrOptions

from .._parameters import Parameter
from .._regularization import entropy_penalty, virtual_adversarial_penalty
from .._validation import NonBoolInterval
from ._term import LossTerm


class VirtualAdversarialTerm(LossTerm):
    """Virtual adversarial training's smoothness term on the step's classifier.

    The step's ``classifier`` (an autoencoder's supervised head on its codes, or a
    classifier network) must not change its prediction for the batch's clean rows
    within ``radius`` of them (see
    :func:`~skae._regularization.virtual_adversarial_penalty`).

    Parameters
    ----------
    weight : float
    radius : float, default=2.0
        L2 norm of each row's adversarial perturbation.
    """

    name = "consistency"
    needs = ("class_logits",)
    parameters = (
        Parameter(
            "consistency_weight",
            "float or 'auto'",
            0.0,
            (NonBoolInterval(Real, 0, None, closed="left"), StrOptions({"auto"})),
            """\
            Weight of virtual adversarial training's term (Miyato et al. 2019) on the
            supervised head, for every row, labelled or not: the KL divergence between
            the head's prediction for a row and for the row moved by
            ``consistency_radius`` in the direction that changes it most (one power
            iteration). The unlabelled rows thus shape the code too: it must not change
            class within that radius of the data. Needs a supervised head
            (``supervised_weight_ > 0``: an explicit weight beside an ``'auto'`` head
            that resolves off raises at fit); costs about three extra encoder passes
            per step. ``'auto'``: 10 beside a supervised head when some rows are
            unlabelled, off otherwise (``consistency_weight_``). Logged as
            ``consistency``.""",
        ),
        Parameter(
            "consistency_radius",
            "float",
            2.0,
            (NonBoolInterval(Real, 0, None, closed="neither"),),
            """\
            L2 norm of each row's adversarial perturbation (2.0 suits 784 pixels in
            [0, 1]; scale it with the inputs' norm).""",
        ),
    )

    def __init__(self, weight, radius=2.0):
        super().__init__(weight)
        self.radius = radius

    def __call__(self, context):
        return virtual_adversarial_penalty(
            context.classifier, context.inputs, context.class_logits, radius=self.radius
        )

    @classmethod
    def from_parameters(cls, params):
        weight = params["consistency_weight"]
        return cls(weight, params["consistency_radius"]) if weight else None

    @classmethod
    def check_parameters(cls, params, estimator):
        weights = (params["consistency_weight"], params["supervised_weight"])
        if "auto" in weights:
            return  # resolved together at fit time, consistently
        if params["consistency_weight"] and not params["supervised_weight"]:
            raise ValueError(
                "consistency_weight > 0 smooths the supervised head's predictions and "
                "needs supervised_weight > 0 (the head is trained on the labelled rows)."
            )


class EntropyTerm(LossTerm):
    """Entropy minimisation on the step's logits, kept from collapsing onto one class
    (see :func:`~skae._regularization.entropy_penalty`)."""

    name = "entropy"
    needs = ("class_logits",)

    def __call__(self, context):
        return entropy_penalty(context.class_logits)
