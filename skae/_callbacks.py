"""skorch callbacks (and the learning-rate schedule) that skae estimators train with."""

from __future__ import annotations

import math

import torch
from skorch.callbacks import Callback, LRScheduler

from .exceptions import TrainingDivergedError

#: per-batch history entries that are counts, not loss values
_NOT_LOSSES = ("_batch_size",)


class DivergenceCheck(Callback):
    """Stop training with :class:`~skae.exceptions.TrainingDivergedError` on a
    non-finite loss.

    After each batch (training and validation) it reads the floats skorch and
    :class:`~skae._loss_terms.LossTermsNet` have just recorded in the batch history
    (``train_loss`` and every named term such as ``train_recon`` or ``train_kl``):
    skorch already moved them to the host with ``.item()``, so the check costs no extra
    device synchronisation. At the end of training it also checks the parameters once,
    since the last step can turn the weights non-finite after a finite loss. Either way
    no model with NaN weights is returned silently.

    Parameters
    ----------
    estimator_name : str, default='the model'
        Named in the error message.
    """

    def __init__(self, estimator_name: str = "the model"):
        self.estimator_name = estimator_name

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        record = net.history[-1, "batches", -1]
        # The named terms are recorded before the total, so the first non-finite
        # entry is the term that caused it (e.g. train_kl before train_loss).
        for name, value in record.items():
            if name.endswith(_NOT_LOSSES) or not isinstance(value, float):
                continue
            if not math.isfinite(value):
                self._raise(net, f"{name} became {value}")

    def on_train_end(self, net, X=None, y=None, **kwargs):
        finite = all(bool(torch.isfinite(p).all()) for p in net.module_.parameters())
        if not finite:
            self._raise(net, "the weights became non-finite")

    def _raise(self, net, what: str):
        epoch = net.history[-1, "epoch"] if len(net.history) else 0
        lr = getattr(net, "lr", None)
        hint = (
            f"lr={lr:g} is probably too large; try a lower learning rate (e.g. lr={lr / 10:g})"
            if isinstance(lr, (int, float))
            else "try a lower learning rate"
        )
        raise TrainingDivergedError(
            f"Training of {self.estimator_name} diverged: {what} at epoch {epoch}. "
            f"{hint}, or scale the inputs. The {self.estimator_name} is left as it was "
            "before this call."
        )


class CosineToFloorLR(torch.optim.lr_scheduler.LRScheduler):
    """Cosine annealing from each group's initial rate to ``floor`` times it, then held.

    The rate of epoch ``t`` is ``lr * (floor + (1 - floor) * (1 + cos(pi * t / T_max)) / 2)``
    for ``t < T_max`` and ``lr * floor`` from then on: it never reaches 0 and never
    climbs back. ``partial_fit`` trains with it in place of ``lr_schedule='cosine'``:
    its calls go on for as long as blocks arrive, so a schedule that ends at 0 (or
    restarts) would leave calls that train nothing.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    T_max : int
        Epochs over which the rate falls to the floor.
    floor : float
        The final rate as a fraction of the initial one, in (0, 1].
    last_epoch : int, default=-1
        The index of the last epoch done (as for torch's schedulers).
    """

    def __init__(self, optimizer, T_max: int, floor: float, last_epoch: int = -1):
        self.T_max = T_max
        self.floor = floor
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        # Closed form, so that the rate depends on the epoch alone, not on the rate
        # the optimizer happens to hold.
        progress = min(self.last_epoch, self.T_max) / self.T_max
        factor = self.floor + (1 - self.floor) * (1 + math.cos(math.pi * progress)) / 2
        return [base_lr * factor for base_lr in self.base_lrs]


class ContinuedLRScheduler(LRScheduler):
    """skorch's ``LRScheduler`` whose torch scheduler outlives one call of ``partial_fit``.

    skorch builds a new torch scheduler whenever training begins, which is at every
    ``partial_fit`` call. A ``ReduceLROnPlateau`` counts epochs without improvement
    across calls, and one ``partial_fit`` call is one epoch: rebuilt at each call it
    would never see enough of them to lower the rate. So the scheduler built for the
    net's optimizer is kept, with its counters, for as long as that optimizer is.
    """

    def on_train_begin(self, net, **kwargs):
        scheduler = getattr(self, "lr_scheduler_", None)
        if scheduler is not None and getattr(scheduler, "optimizer", None) is net.optimizer_:
            return
        super().on_train_begin(net, **kwargs)
