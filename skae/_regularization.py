"""Regularisers of the autoencoders: loss terms and input corruption added by the shared net.

Every skae autoencoder trains through :class:`skae._training.AutoencoderNet`, whose
loss is the model's own terms (reconstruction, and KL or ITL terms) plus the terms
described by a :class:`Regularization`:

- ``sparsity``: L1 of the code, or KL of each code unit's mean activation to a target
  rate (sigmoid codes);
- ``contractive``: squared Frobenius norm of the encoder's Jacobian;
- ``weight_decay``: half the squared L2 norm of the weight matrices;
- ``supervised``: cross-entropy of a linear head on the code, on labelled rows;
- ``consistency``: virtual adversarial training's smoothness of that head's
  predictions, on every row.

Denoising is not a loss term: the net corrupts the encoder's input during training
(``transform`` never sees noise) and reconstructs the clean input. Each term is logged
per epoch in ``history_`` (``train_<term>``, and ``valid_<term>`` with a validation
set) beside ``train_recon``, unweighted; ``train_loss`` is the weighted sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import StrOptions

from ._validation import NonBoolInterval

NOISE_TYPES = ("masking", "gaussian")
SPARSITY_PENALTIES = ("l1", "kl")
LR_SCHEDULES = ("cosine", "plateau")

#: parameters shared by the autoencoders that take every regulariser
REGULARIZATION_PARAMETER_CONSTRAINTS: dict = {
    "noise": [StrOptions(set(NOISE_TYPES)), None],
    "noise_level": [NonBoolInterval(Real, 0, None, closed="left")],
    "sparsity": [StrOptions(set(SPARSITY_PENALTIES))],
    "sparsity_weight": [NonBoolInterval(Real, 0, None, closed="left")],
    "sparsity_target": [NonBoolInterval(Real, 0, 1, closed="neither")],
    "contractive_weight": [NonBoolInterval(Real, 0, None, closed="left")],
    "dropout": [NonBoolInterval(Real, 0, 1, closed="left")],
    "weight_decay": [NonBoolInterval(Real, 0, None, closed="left")],
    "lr_schedule": [StrOptions(set(LR_SCHEDULES)), None],
}

#: the optional supervised term (labels with -1 for unlabelled rows)
SUPERVISED_PARAMETER_CONSTRAINTS: dict = {
    "supervised_weight": [NonBoolInterval(Real, 0, None, closed="left")],
    "consistency_weight": [NonBoolInterval(Real, 0, None, closed="left")],
    "consistency_radius": [NonBoolInterval(Real, 0, None, closed="neither")],
}

#: torch threads while fitting and transforming
THREADS_PARAMETER_CONSTRAINTS: dict = {
    # torch keeps the thread count in a C int
    "n_threads": [NonBoolInterval(Integral, 1, 2**31 - 1, closed="both"), None],
}


def check_noise_level(noise, noise_level) -> None:
    """A ``ValueError`` unless ``noise_level`` suits ``noise`` (masking needs [0, 1))."""
    if noise == "masking" and not 0 <= noise_level < 1:
        raise ValueError(
            "noise='masking' drops each input with probability noise_level, which must "
            f"lie in [0, 1); got noise_level={noise_level!r}."
        )


def corrupt(x: torch.Tensor, noise: str | None, level: float) -> torch.Tensor:
    """A corrupted copy of ``x`` for the denoising autoencoder (never in place).

    ``'masking'`` sets each entry to 0 with probability ``level``; ``'gaussian'`` adds
    N(0, level²) noise. The draws come from torch's global generator, which skae
    seeds from ``random_state``.
    """
    if noise is None or level == 0:
        return x
    if noise == "masking":
        keep = torch.rand_like(x) >= level
        return x * keep
    return x + level * torch.randn_like(x)


@dataclass(frozen=True)
class Regularization:
    """The regularisers of one fit, as the net needs them.

    Parameters
    ----------
    noise : {'masking', 'gaussian'} or None
        Input corruption during training.
    noise_level : float
        Masking probability, or Gaussian standard deviation.
    sparsity : {'l1', 'kl'}
        Sparsity penalty on the code.
    sparsity_weight : float
        Weight of the sparsity term (0 switches it off).
    sparsity_target : float
        Target mean activation of each code unit for ``'kl'``.
    contractive_weight : float
        Weight of the squared Frobenius norm of the encoder's Jacobian.
    weight_decay : float
        Weight of half the squared L2 norm of the weight matrices.
    supervised_weight : float
        Weight of the cross-entropy of the supervised head.
    consistency_weight : float
        Weight of virtual adversarial training's term on the supervised head.
    consistency_radius : float
        Norm of its adversarial perturbation.
    """

    noise: str | None = None
    noise_level: float = 0.0
    sparsity: str = "l1"
    sparsity_weight: float = 0.0
    sparsity_target: float = 0.05
    contractive_weight: float = 0.0
    weight_decay: float = 0.0
    supervised_weight: float = 0.0
    consistency_weight: float = 0.0
    consistency_radius: float = 2.0

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the active loss terms, in the order they are logged."""
        names = []
        if self.sparsity_weight:
            names.append("sparsity")
        if self.contractive_weight:
            names.append("contractive")
        if self.weight_decay:
            names.append("weight_decay")
        if self.supervised_weight:
            names.append("supervised")
        if self.consistency_weight:
            names.append("consistency")
        return tuple(names)

    @property
    def needs_input_gradient(self) -> bool:
        """Whether the encoder's input must carry gradients (the contractive term)."""
        return bool(self.contractive_weight)


def sparsity_penalty(code: torch.Tensor, penalty: str, target: float) -> torch.Tensor:
    """The sparsity term, averaged over the code units.

    ``'l1'``: mean absolute activation. ``'kl'``: mean over units of
    KL(Bernoulli(target) || Bernoulli(mean activation of the unit over the batch)),
    which needs codes in (0, 1) (a sigmoid code layer).
    """
    if penalty == "l1":
        return code.abs().mean()
    rate = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    kl = target * torch.log(target / rate) + (1 - target) * torch.log((1 - target) / (1 - rate))
    return kl.mean()


def contractive_penalty(code: torch.Tensor, inputs: torch.Tensor, create_graph: bool):
    """Squared Frobenius norm of d code / d inputs, averaged over samples.

    Estimated with one Gaussian projection per sample (Hutchinson's estimator):
    ``E_v ||vᵀ J||² = ||J||²_F`` for ``v ~ N(0, I)`` in code space. One extra backward
    pass through the encoder gives an unbiased estimate at any code size, where the
    exact norm needs one pass per code unit.
    """
    v = torch.randn_like(code)
    (vjp,) = torch.autograd.grad(code, inputs, grad_outputs=v, create_graph=create_graph)
    return vjp.flatten(1).pow(2).sum(dim=1).mean()


def weight_penalty(module: torch.nn.Module, skip_prefixes=()) -> torch.Tensor:
    """Half the squared L2 norm of the module's weight matrices and kernels.

    Biases (and any other 1-d parameter) are not decayed; parameters whose names start
    with one of ``skip_prefixes`` (e.g. an adversarial discriminator) are skipped.
    """
    total = None
    for name, param in module.named_parameters():
        if param.ndim < 2 or not param.requires_grad or name.startswith(tuple(skip_prefixes)):
            continue
        term = param.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return 0.5 * total


def supervised_penalty(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the labelled rows (``labels >= 0``); 0 when there are none."""
    labelled = labels >= 0
    if not bool(labelled.any()):
        return logits.sum() * 0.0  # keeps the graph (and the device) of the head
    return F.cross_entropy(logits[labelled], labels[labelled])


def _unit_rows(d: torch.Tensor) -> torch.Tensor:
    """``d`` with every row scaled to unit L2 norm (a zero row stays zero)."""
    norms = d.flatten(1).norm(dim=1).clamp_min(1e-12)
    return d / norms.view(-1, *([1] * (d.ndim - 1)))


def virtual_adversarial_penalty(
    predict, x: torch.Tensor, logits: torch.Tensor, radius: float, xi: float = 1e-6
) -> torch.Tensor:
    """Virtual adversarial training's smoothness term (Miyato et al. 2019).

    KL(p(y | x) || p(y | x + r)) averaged over the rows of ``x``, where ``r`` is the
    perturbation of L2 norm ``radius`` that most changes the prediction, found by
    one power iteration from a random direction. ``p(y | x)`` (the softmax of
    ``logits``) is a fixed target: no labels are needed, so every row, labelled or
    not, teaches the classifier to be smooth around the data.

    Parameters
    ----------
    predict : callable
        Maps inputs to logits (the network being trained).
    x : torch.Tensor
        Inputs, one row per sample.
    logits : torch.Tensor
        ``predict(x)``, already computed.
    radius : float
        L2 norm of the adversarial perturbation of each row.
    xi : float, default=1e-6
        Norm of the probe perturbation of the power iteration.
    """
    target = F.softmax(logits.detach(), dim=1)
    # The power iteration needs gradients, also where the caller runs without them
    # (validation): only this part enables them.
    probe = (xi * _unit_rows(torch.randn_like(x))).requires_grad_(True)
    with torch.enable_grad():
        divergence = F.kl_div(
            F.log_softmax(predict(x.detach() + probe), dim=1), target, reduction="batchmean"
        )
        (direction,) = torch.autograd.grad(divergence, probe)
    adversarial = radius * _unit_rows(direction.detach())
    return F.kl_div(F.log_softmax(predict(x + adversarial), dim=1), target, reduction="batchmean")


def entropy_penalty(logits: torch.Tensor) -> torch.Tensor:
    """Entropy minimisation, kept from collapsing onto one class.

    The mean entropy of the rows' predicted class distributions minus the entropy of
    their mean (the negated mutual information between rows and predicted classes,
    as in Hu et al. 2017). The first part makes each prediction confident; the second
    keeps the batch's predictions spread over the classes: without it, a network
    fine-tuned on few labels with the consistency term comes to predict nearly one
    class for every image (see "Pitfalls" in the few-labels guide).
    """
    log_p = F.log_softmax(logits, dim=1)
    p = log_p.exp()
    conditional = -(p * log_p).sum(dim=1).mean()
    mean = p.mean(dim=0)
    marginal = -(mean * torch.log(mean.clamp_min(1e-12))).sum()
    return conditional - marginal


#: numpydoc entries of the regulariser parameters, shared by the models' docstrings
#: (substituted for ``%(regularization_parameters)s``)
REGULARIZATION_PARAMETERS_DOC = """\
noise : {'masking', 'gaussian'} or None, default=%(noise_default)s
        Denoising: corrupt the encoder's input during training and reconstruct the
        clean input. ``'masking'`` sets each input to 0 with probability
        ``noise_level``; ``'gaussian'`` adds Gaussian noise of standard deviation
        ``noise_level``; None trains on the clean input.
        :meth:`transform` never adds noise.%(noise_default_reason)s
    noise_level : float, default=0.2
        Masking probability in [0, 1), or the Gaussian noise's standard deviation.
    sparsity : {'l1', 'kl'}, default='l1'
        Sparsity penalty on the code: ``'l1'`` is the mean absolute code activation;
        ``'kl'`` is the mean over code units of KL(``sparsity_target`` || the unit's
        mean activation over the batch), for sigmoid codes.
    sparsity_weight : float, default=0.0
        Weight of the sparsity term (0 switches it off); logged as ``sparsity``.
    sparsity_target : float, default=0.05
        Target mean activation of each code unit for ``sparsity='kl'``, in (0, 1).
    contractive_weight : float, default=0.0
        Weight of the squared Frobenius norm of the encoder's Jacobian (a contractive
        autoencoder), averaged over samples and estimated with one random projection
        per sample (one extra backward pass at any code size); logged as
        ``contractive``.
    dropout : float, default=0.0
        Dropout probability after each hidden layer of the encoder and the decoder
        (training only).
    weight_decay : float, default=0.0
        L2 penalty: ``weight_decay`` times half the squared norm of the weight matrices
        (not the biases), added to the loss so that it works with every optimizer
        (for SGD and Adam it equals their ``weight_decay`` option); logged as
        ``weight_decay``.
    lr_schedule : {'cosine', 'plateau'} or None, default=%(lr_schedule_default)s
        Learning-rate schedule: ``'cosine'`` anneals the rate to 0 over
        ``max_epochs``; ``'plateau'`` halves it when the loss (the validation loss
        with early stopping) has not improved by ``tol`` for 3 epochs. The rate of
        each epoch is logged as ``event_lr``."""

#: the supervised term's entry, substituted for ``%(supervised_parameters)s``
SUPERVISED_PARAMETERS_DOC = """\
supervised_weight : float, default=0.0
        Weight of an optional supervised term: a linear head on the code, trained
        with the cross-entropy on the labelled rows of ``y`` (``-1`` marks an
        unlabelled row, as in :mod:`sklearn.semi_supervised`) jointly with the
        reconstruction of every row, so that :meth:`transform` gives class-aware
        codes. Each training step pairs its batch with a batch of labelled rows,
        corrupted by ``noise`` as the reconstruction's inputs are. 0 switches it
        off: ``y`` is then ignored. Logged as ``supervised``.
    consistency_weight : float, default=0.0
        Weight of virtual adversarial training's term (Miyato et al. 2019) on the
        supervised head, for every row, labelled or not: the KL divergence between
        the head's prediction for a row and for the row moved by
        ``consistency_radius`` in the direction that changes it most (one power
        iteration). The unlabelled rows thus shape the code too: it must not change
        class within that radius of the data. Needs ``supervised_weight > 0``; costs
        about three extra encoder passes per step. Logged as ``consistency``.
    consistency_radius : float, default=2.0
        L2 norm of each row's adversarial perturbation (2.0 suits 784 pixels in
        [0, 1]; scale it with the inputs' norm)."""

#: the threads entry, substituted for ``%(threads_parameters)s``
THREADS_PARAMETERS_DOC = """\
n_threads : int or None, default=None
        torch threads during ``fit`` and ``transform`` (restored afterwards); None
        keeps torch's setting (one per core). On a machine where other work keeps
        cores busy, 1 avoids threads waiting on each other."""


def fill_parameter_docs(cls):
    """Class decorator: substitute the shared parameter entries into ``cls.__doc__``.

    Defaults that differ between models (``lr_schedule``, ``noise``) are read from the
    class's ``__init__``, so that the documentation cannot drift from the code; a
    class explains a non-None ``noise`` default in ``_noise_default_reason``.
    """
    import inspect

    if cls.__doc__:
        parameters = inspect.signature(cls.__init__).parameters
        schedule = parameters["lr_schedule"].default if "lr_schedule" in parameters else None
        noise = parameters["noise"].default if "noise" in parameters else None
        cls.__doc__ = (
            cls.__doc__.replace("%(regularization_parameters)s", REGULARIZATION_PARAMETERS_DOC)
            .replace("%(supervised_parameters)s", SUPERVISED_PARAMETERS_DOC)
            .replace("%(threads_parameters)s", THREADS_PARAMETERS_DOC)
            .replace("%(lr_schedule_default)s", repr(schedule))
            .replace("%(noise_default)s", repr(noise))
            .replace("%(noise_default_reason)s", getattr(cls, "_noise_default_reason", ""))
        )
    return cls
