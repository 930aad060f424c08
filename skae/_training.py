"""skorch plumbing shared by every skae model: whole-tensor batching and the net.

skorch's default data path (a ``torch.utils.data.DataLoader`` over a per-sample
``Dataset``) collates every batch sample by sample. For dense models on MNIST-sized
data this dominates the cost of a step, so skae keeps the data as one tensor (on the
training device) and hands skorch batches that are slices of it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping

from .exceptions import StopTraining


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


@dataclass(frozen=True)
class TrainingData:
    """The data of one fit, as the estimator hands it to its net.

    Parameters
    ----------
    full : TensorDataset
        Every row, in the order given to ``fit``.
    train : TensorDataset
        The rows trained on (``full`` without a validation split).
    valid : TensorDataset or None
        The validation split of early stopping, if any.
    """

    full: TensorDataset
    train: TensorDataset
    valid: TensorDataset | None = None


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


class _Interrupted(BaseException):
    """Carries a ``KeyboardInterrupt`` past skorch's ``partial_fit``, which swallows it."""


class InterruptibleNet(NeuralNet):
    """skorch's ``NeuralNet``, except that Ctrl-C stops training *and* reaches the caller.

    skorch's ``partial_fit`` (which ``fit`` goes through) catches ``KeyboardInterrupt``
    in its fit loop and returns the half-trained net: that is how its callbacks end
    training (``EarlyStopping``), and how it lets a user stop an interactive run. A
    scikit-learn estimator must not turn the user's abort into a result:
    ``GridSearchCV`` would go on and rank it. So a ``KeyboardInterrupt`` is carried
    past skorch's handler and raised again from ``partial_fit``, and ``fit`` and
    ``partial_fit`` of every skae estimator raise it (leaving the estimator as it
    was), unless it is a callback's request to stop:
    :class:`~skae.exceptions.StopTraining`, or the ``KeyboardInterrupt`` of skorch's
    ``EarlyStopping``, which ends training as skorch intends. Every skae net derives
    from this class.
    """

    def notify(self, method_name, **cb_kwargs):
        # skorch's loop over the callbacks, with the one that raised known: skorch's
        # EarlyStopping says "stop" with a KeyboardInterrupt.
        getattr(self, method_name)(self, **cb_kwargs)
        for _, callback in self.callbacks_:
            try:
                getattr(callback, method_name)(self, **cb_kwargs)
            except KeyboardInterrupt:
                if isinstance(callback, EarlyStopping):
                    raise StopTraining from None
                raise

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            return super().fit_loop(X, y, epochs, **fit_params)
        except StopTraining:
            raise  # skorch's partial_fit ends training, as the callback asked
        except KeyboardInterrupt as interrupt:
            raise _Interrupted(interrupt) from None

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except _Interrupted as carrier:
            interrupt = carrier.args[0]
        # Raised outside the handler, so that the traceback shows the interrupt alone,
        # from where it happened, without the carrier.
        raise interrupt


class NetCheckpoint:
    """What training changes in place in an initialised skorch net, to put it back.

    ``partial_fit`` continues training the fitted net itself; if the epoch fails
    (divergence, Ctrl-C, an error in a callback), :meth:`restore` returns the net to
    this point: the weights and buffers of its modules and criteria, its optimizers'
    state (moments, step counts, learning rates), its history and its list of
    callbacks. The state is copied, since training updates those tensors in place.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net.
    """

    def __init__(self, net: NeuralNet):
        self.net = net
        names = (*net._modules, *net._criteria, *net._optimizers)
        self.states = {name: copy.deepcopy(getattr(net, f"{name}_").state_dict()) for name in names}
        self.n_epochs = len(net.history)
        self.callbacks = net.callbacks_

    def restore(self) -> None:
        """Put the net back as it was when the checkpoint was taken."""
        net = self.net
        for name, state in self.states.items():
            # In place: the optimizers keep referring to the same parameters.
            getattr(net, f"{name}_").load_state_dict(state)
        del net.history[self.n_epochs :]
        net.callbacks_ = self.callbacks


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
