"""Loss terms: each part of a training loss as one small object, and the step that sums them.

A :class:`LossTerm` owns its name, what it needs from the step, its computation and,
for a regulariser of the autoencoders, its estimator parameters. A
:class:`StepContext` carries what one step gives the terms; :class:`LossTermsNet`
is the skorch net whose training and validation steps sum the terms its estimator
hands it and log each one.
"""

from ._context import AutoencoderStep, ClassifierStep, LabelledRows, StepContext
from ._itl import DivergenceTerm, GeneratorTerm, discriminator_inputs, has_classes, prior_draw
from ._labels import ClassificationTerm, SupervisedTerm, resolve_label_weights
from ._net import LossTermsNet
from ._reconstruction import ReconstructionTerm
from ._regularizers import ContractiveTerm, SparsityTerm, WeightDecayTerm
from ._term import LossTerm
from ._unlabelled import EntropyTerm, VirtualAdversarialTerm
from ._vae import GaussianKLTerm, gaussian_kl

__all__ = [
    "AutoencoderStep",
    "ClassificationTerm",
    "ClassifierStep",
    "ContractiveTerm",
    "DivergenceTerm",
    "EntropyTerm",
    "GaussianKLTerm",
    "GeneratorTerm",
    "LabelledRows",
    "LossTerm",
    "LossTermsNet",
    "ReconstructionTerm",
    "SparsityTerm",
    "StepContext",
    "SupervisedTerm",
    "VirtualAdversarialTerm",
    "WeightDecayTerm",
    "discriminator_inputs",
    "gaussian_kl",
    "has_classes",
    "prior_draw",
    "resolve_label_weights",
]
