"""skorch plumbing shared by every skae model: whole-tensor batching and the net.

skorch's default data path (a ``torch.utils.data.DataLoader`` over a per-sample
``Dataset``) collates every batch sample by sample. For dense models on MNIST-sized
data this dominates the cost of a step, so skae keeps the data as one tensor (on the
training device) and hands skorch batches that are slices of it.
"""

from __future__ import annotations

import copy
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, PassthroughScoring
from skorch.dataset import unpack_data

from ._regularization import (
    Regularization,
    contractive_penalty,
    corrupt,
    sparsity_penalty,
    supervised_penalty,
    virtual_adversarial_penalty,
    weight_penalty,
)
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


class AutoencoderNet(InterruptibleNet):
    """skorch net whose loss reconstructs the input, plus the shared regularisers.

    The module returns a dict of named outputs with at least ``'raw'`` (decoder output
    before the output activation) and ``'z'`` (the code; a VAE adds ``'mu'``, its
    mean). ``criterion`` is the reconstruction loss. Models with extra loss terms
    override :meth:`get_loss_terms` and list them in ``loss_terms``; the regularisers
    of ``regularization`` (sparsity, contractive, weight decay, supervised,
    consistency) are added
    on top by :meth:`get_loss`, for every model alike. Each term is logged per batch
    (``train_<name>``/``valid_<name>``) and averaged per epoch into the history,
    beside ``train_loss``/``valid_loss``.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`skorch.NeuralNet`.
    regularization : Regularization, default=None
        The regularisers; ``None`` means none.
    """

    #: names of the model's own terms returned by :meth:`get_loss_terms`, besides ``loss``
    loss_terms: tuple[str, ...] = ("recon",)
    #: parameters whose names start with these are not weight-decayed (e.g. a discriminator)
    weight_decay_skip: tuple[str, ...] = ("discriminator.",)

    def __init__(self, module, criterion, *, regularization=None, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.regularization = regularization

    @property
    def regularization_(self) -> Regularization:
        return self.regularization or Regularization()

    @property
    def logged_terms(self) -> tuple[str, ...]:
        """Every term logged per epoch: the model's, then the regularisers'."""
        return (*self.loss_terms, *self.regularization_.term_names)

    # -- training step: corrupt the encoder's input, reconstruct the clean one
    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        reg = self.regularization_
        inputs = corrupt(Xi, reg.noise, reg.noise_level)
        if reg.needs_input_gradient:
            inputs = inputs.detach().requires_grad_(True)
        self._encoder_input = inputs
        try:
            y_pred = self.infer(inputs, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
            loss.backward()
        finally:
            self._encoder_input = None
        return {"loss": loss, "y_pred": y_pred}

    # -- the labelled rows the supervised term draws from at each training step
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._labelled = None
        if self.regularization_.supervised_weight and getattr(X, "y", None) is not None:
            labelled = X.y >= 0
            self._labelled = (X.X[labelled], X.y[labelled])

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self._labelled = None  # not pickled with the model

    def get_loss_terms(self, y_pred, y_true, X, training):
        """Return a dict of named 0-dim loss tensors including the total ``'loss'``."""
        recon = self.criterion_(y_pred["raw"], X)
        return {"loss": recon, "recon": recon}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        terms = self.get_loss_terms(y_pred, y_true, X, training)
        terms = self._add_regularization(terms, y_pred, y_true, X, training)
        prefix = "train" if training else "valid"
        for name in self.logged_terms:
            self.history.record_batch(f"{prefix}_{name}", terms[name].item())
        return terms["loss"]

    def _add_regularization(self, terms, y_pred, y_true, X, training):
        reg = self.regularization_
        if not reg.term_names:
            return terms
        code = y_pred.get("mu", y_pred["z"])
        loss = terms["loss"]
        if reg.sparsity_weight:
            terms["sparsity"] = sparsity_penalty(code, reg.sparsity, reg.sparsity_target)
            loss = loss + reg.sparsity_weight * terms["sparsity"]
        if reg.contractive_weight:
            terms["contractive"] = self._contractive_term(code, X, training)
            loss = loss + reg.contractive_weight * terms["contractive"]
        if reg.weight_decay:
            terms["weight_decay"] = weight_penalty(self.module_, self.weight_decay_skip).to(
                loss.device
            )
            loss = loss + reg.weight_decay * terms["weight_decay"]
        if reg.supervised_weight:
            terms["supervised"] = self._supervised_term(code, y_true, training)
            loss = loss + reg.supervised_weight * terms["supervised"]
        if reg.consistency_weight:
            terms["consistency"] = self._consistency_term(X)
            loss = loss + reg.consistency_weight * terms["consistency"]
        terms["loss"] = loss
        return terms

    def _contractive_term(self, code, X, training):
        inputs = getattr(self, "_encoder_input", None)
        if training and inputs is not None:
            return contractive_penalty(code, inputs, create_graph=True)
        # Validation runs without gradients; the Jacobian needs them, briefly.
        with torch.enable_grad():
            inputs = X.detach().requires_grad_(True)
            return contractive_penalty(self.module_.encode(inputs), inputs, create_graph=False)

    def _supervised_term(self, code, y_true, training):
        head = self.module_.supervised_head
        labelled = getattr(self, "_labelled", None)
        if training and labelled is not None and len(labelled[0]):
            # Each step pairs its batch with a batch of labelled rows: with few
            # labels among many images, most batches would otherwise hold none.
            X_lab, y_lab = labelled
            size = len(X_lab) if self.batch_size in (-1, None) else self.batch_size
            index = torch.randint(len(X_lab), (min(size, len(X_lab)),), device=X_lab.device)
            # Corrupted as the reconstruction's inputs are: on clean rows the head
            # learns the few labelled images by heart and pulls their codes apart
            # from the rest (the few-labels guide holds the evidence).
            reg = self.regularization_
            inputs = corrupt(X_lab[index], reg.noise, reg.noise_level)
            return supervised_penalty(head(self.module_.encode(inputs)), y_lab[index])
        if y_true is None:
            return code.sum() * 0.0
        return supervised_penalty(head(code), y_true)

    def _consistency_term(self, X):
        """Virtual adversarial training's term on the supervised head, on clean rows."""
        module = self.module_

        def predict(inputs):
            return module.supervised_head(module.encode(inputs))

        radius = self.regularization_.consistency_radius
        return virtual_adversarial_penalty(predict, X, predict(X), radius=radius)

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        for name in self.logged_terms:
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
