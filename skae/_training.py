"""skorch plumbing shared by every skae model: whole-tensor batching and the net.

skorch's default data path (a ``torch.utils.data.DataLoader`` over a per-sample
``Dataset``) collates every batch sample by sample. For dense models on MNIST-sized
data this dominates the cost of a step, so skae keeps the data as one tensor (on the
training device) and hands skorch batches that are slices of it.
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from skorch.callbacks import PassthroughScoring


class TensorDataset(torch.utils.data.Dataset):
    """Inputs (and optional targets) held as whole tensors.

    Behaves as a map-style dataset for code that indexes it, and lets
    :class:`TensorBatchIterator` slice whole batches at once.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], (None if self.y is None else self.y[index])

    def subset(self, index: torch.Tensor) -> TensorDataset:
        """Rows ``index`` as a new dataset (one gather, no per-sample work)."""
        return TensorDataset(self.X[index], None if self.y is None else self.y[index])


class TensorBatchIterator:
    """Iterate over a :class:`TensorDataset` in batches of whole-tensor slices.

    A drop-in for skorch's ``iterator_train``/``iterator_valid``: skorch calls it as
    ``TensorBatchIterator(dataset, batch_size=..., **iterator_kwargs)``. Shuffling
    draws from torch's global generator, which skae seeds from ``random_state``.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool, default=False
    drop_last : bool, default=False
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False):
        if not isinstance(dataset, TensorDataset):
            raise TypeError(f"TensorBatchIterator needs a TensorDataset, got {type(dataset)}.")
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        X, y = self.dataset.X, self.dataset.y
        n = len(X)
        order = torch.randperm(n).to(X.device) if self.shuffle and n > 1 else None
        for i in range(len(self)):
            if order is None:
                sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
                yield X[sl], (None if y is None else y[sl])
            else:
                idx = order[i * self.batch_size : (i + 1) * self.batch_size]
                yield X[idx], (None if y is None else y[idx])


class AutoencoderNet(NeuralNet):
    """skorch net whose loss reconstructs the input.

    The module returns a dict of named outputs with at least ``'raw'`` (decoder output
    before the output activation). ``criterion`` is the reconstruction loss. Models
    with extra loss terms override :meth:`get_loss_terms`; each returned term is logged
    per batch (``train_<name>``/``valid_<name>``) and averaged per epoch into the
    history, beside ``train_loss``/``valid_loss``.
    """

    #: names of the terms returned by :meth:`get_loss_terms`, besides ``loss``
    loss_terms: tuple[str, ...] = ()

    def get_loss_terms(self, y_pred, y_true, X, training):
        """Return a dict of named 0-dim loss tensors including the total ``'loss'``."""
        recon = self.criterion_(y_pred["raw"], X)
        return {"loss": recon, "recon": recon}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        terms = self.get_loss_terms(y_pred, y_true, X, training)
        prefix = "train" if training else "valid"
        for name in self.loss_terms:
            self.history.record_batch(f"{prefix}_{name}", terms[name].item())
        return terms["loss"]

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        for name in self.loss_terms:
            callbacks.append(
                (
                    f"train_{name}",
                    PassthroughScoring(name=f"train_{name}", on_train=True),
                )
            )
            callbacks.append((f"valid_{name}", PassthroughScoring(name=f"valid_{name}")))
        return callbacks


def picklable_net(net: NeuralNet) -> NeuralNet:
    """A shallow stand-in for ``net`` to pickle, without the ``module`` argument.

    skae hands skorch its module as an instance, so ``net.module`` is the trained
    ``net.module_`` itself. skorch pickles ``module_`` through torch with a CPU
    ``map_location`` where CUDA is missing, but ``module`` goes through plain pickle,
    and a net trained on CUDA would then fail to load on a CPU-only machine. The
    stand-in shares every attribute with ``net`` (nothing is copied) except
    ``module``; :func:`restore_net` puts it back after unpickling.
    """
    stand_in = object.__new__(type(net))
    stand_in.__dict__.update(net.__dict__)
    stand_in.module = None
    return stand_in


def restore_net(net: NeuralNet) -> NeuralNet:
    """Undo :func:`picklable_net` on an unpickled net: ``module`` is ``module_`` again."""
    if getattr(net, "module", None) is None and hasattr(net, "module_"):
        net.module = net.module_
    return net
