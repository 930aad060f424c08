"""The penalties of the loss terms, as plain functions of tensors, and input corruption.

The loss terms (:mod:`skae._loss_terms`) compute from these: sparsity of the codes,
the contractive penalty, weight decay, the supervised cross-entropy, virtual
adversarial training's smoothness term and entropy minimisation. ``corrupt`` is the
denoising autoencoder's input corruption.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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


def weight_penalty(named_parameters) -> torch.Tensor:
    """Half the squared L2 norm of the weight matrices and kernels among ``named_parameters``.

    ``named_parameters`` yields ``(name, parameter)`` pairs, as
    :meth:`torch.nn.Module.named_parameters` does. Biases (and any other 1-d
    parameter) and frozen parameters are not decayed.
    """
    total = None
    for _, param in named_parameters:
        if param.ndim < 2 or not param.requires_grad:
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
