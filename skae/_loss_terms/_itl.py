"""The ITL autoencoder's terms: its codes against samples of a prior."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._divergence import cauchy_schwarz_divergence
from .._semi_supervised import UNLABELLED
from ._term import LossTerm


def has_classes(prior) -> bool:
    """Whether ``prior`` has classes that labels can pick (one-hot, swiss roll, ...)."""
    return getattr(prior, "n_classes", None) is not None


def class_labels(context, prior):
    """The batch's labels, where they pick the prior's classes (else None)."""
    return context.targets if has_classes(prior) else None


def prior_draw(context, prior) -> torch.Tensor:
    """One prior sample per code of the batch, shared by the step's terms.

    A labelled row's sample comes from its class's part of the prior; an unlabelled
    row's from the whole prior (a class drawn uniformly, then a sample of it).
    """

    def draw():
        z = context.code
        labels = class_labels(context, prior)
        # The seed comes from torch's generator, which skae seeds from random_state.
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        y = None if labels is None else labels.cpu().numpy()
        if y is not None and (y == UNLABELLED).any():
            rng = np.random.RandomState(seed)
            y = np.where(y == UNLABELLED, rng.randint(0, prior.n_classes, len(y)), y)
        samples = prior.sample(len(z), y=y, random_state=seed)
        return torch.as_tensor(np.asarray(samples), dtype=z.dtype, device=z.device)

    return context.shared("prior", draw)


class DivergenceTerm(LossTerm):
    """The Cauchy–Schwarz divergence between the batch's codes and prior samples.

    With labels, class ``k``'s codes are compared with the prior's class ``k`` only,
    and the unlabelled rows' with the whole prior; the parts present are averaged.

    Parameters
    ----------
    weight : float
    prior : prior object
        Samples with ``prior.sample(n, y=..., random_state=...)``.
    kernel_sigma : float or None, default=None
        Parzen kernel width; None applies Silverman's rule to each batch.
    """

    name = "csd"
    needs = ("code",)

    def __init__(self, weight, prior, kernel_sigma=None):
        super().__init__(weight)
        self.prior = prior
        self.kernel_sigma = kernel_sigma

    def __call__(self, context):
        z, target = context.code, prior_draw(context, self.prior)
        labels = class_labels(context, self.prior)
        if labels is None:
            return self._divergence(z, target)
        if (labels == UNLABELLED).any():
            return self._semi_supervised(z, target, labels)
        return self._class_wise(z, target, labels)

    def _divergence(self, z, target):
        return cauchy_schwarz_divergence(z, target, sigma=self.kernel_sigma)

    def _class_wise(self, z, target, labels):
        """Mean over the batch's classes of the divergence between matching parts.

        A single divergence between the pooled sets would ignore the labels.
        """
        divergences = [
            self._divergence(z[mask], target[mask])
            for mask in (labels == k for k in torch.unique(labels))
            if int(mask.sum()) > 1
        ]
        if not divergences:
            return self._divergence(z, target)
        return torch.stack(divergences).mean()

    def _semi_supervised(self, z, target, labels):
        """Class-wise divergence of the labelled rows and divergence of the unlabelled
        rows from the whole prior, averaged (each part present in the batch counts)."""
        labelled = labels != UNLABELLED
        parts = []
        if int(labelled.sum()) > 0:
            parts.append(self._class_wise(z[labelled], target[labelled], labels[labelled]))
        if int((~labelled).sum()) > 1:
            parts.append(self._divergence(z[~labelled], target[~labelled]))
        if not parts:
            return self._divergence(z, target)
        return torch.stack(parts).mean()


def discriminator_inputs(context, prior) -> tuple[torch.Tensor, torch.Tensor]:
    """What the discriminator compares: prior samples and the batch's codes.

    With labels, both carry the one-hot class (as in Makhzani et al.); with
    unlabelled rows, a last slot says "no label".
    """

    def build():
        labels = class_labels(context, prior)
        prior_samples, codes = prior_draw(context, prior), context.code
        if labels is None:
            return prior_samples, codes
        n_slots = context.module.discriminator[0].in_features - codes.shape[1]
        slots = torch.where(labels == UNLABELLED, prior.n_classes, labels)
        onehot = F.one_hot(slots, n_slots).to(codes.dtype)
        return torch.cat([prior_samples, onehot], dim=1), torch.cat([codes, onehot], dim=1)

    return context.shared("discriminator_inputs", build)


class GeneratorTerm(LossTerm):
    """The adversarial autoencoder's generator loss: codes that pass for prior samples.

    The non-saturating loss of the discriminator (``module.discriminator``) calling
    the batch's codes prior samples. The discriminator itself is trained by the
    ITL net, after each step, on the same prior samples and codes.

    Parameters
    ----------
    weight : float
    prior : prior object
    """

    name = "generator"
    needs = ("code",)

    def __init__(self, weight, prior):
        super().__init__(weight)
        self.prior = prior

    def __call__(self, context):
        _, codes = discriminator_inputs(context, self.prior)
        logits = context.module.discriminator(codes)
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
