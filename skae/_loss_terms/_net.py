"""The one training step of every skae net: the weighted sum of its loss terms."""

from __future__ import annotations

import torch
from skorch.callbacks import PassthroughScoring
from skorch.dataset import unpack_data

from .._training import InterruptibleNet
from ._context import StepContext


class LossTermsNet(InterruptibleNet):
    """skorch net whose loss is the weighted sum of the loss terms it is handed.

    Each training and validation step builds a :class:`StepContext` of
    ``step_context_class`` for its batch, evaluates every term on it in order, and
    returns the weighted sum as the step's loss (``train_loss``/``valid_loss``); the
    step's result holds the context too (``step['context']``), for what follows the
    step, such as the ITL autoencoder's discriminator update. Each
    term's unweighted value is logged per batch as ``train_<name>``/``valid_<name>``
    and averaged per epoch into the history; a term whose weight varies over the
    epochs logs it in its ``weight_column``.

    Parameters
    ----------
    module, criterion, **kwargs
        As for :class:`skorch.NeuralNet`. The terms are the loss; skorch requires a
        criterion all the same.
    terms : sequence of LossTerm, default=()
        The terms of the loss, in the order they are evaluated and logged.
    labelled_rows : LabelledRows or None, default=None
        Labelled rows that training steps draw labelled batches from. They are data
        of one fit: training drops them when it ends, so that the net does not carry
        them into pickles.
    """

    #: the context class of the steps
    step_context_class = StepContext

    def __init__(self, module, criterion, *, terms=(), labelled_rows=None, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.terms = terms
        self.labelled_rows = labelled_rows

    # ------------------------------------------------------------------ the step
    def step_context(self, batch, training: bool, **fit_params) -> StepContext:
        """The context of one step on ``batch``, with what must come first computed."""
        Xi, yi = unpack_data(batch)
        needs = {need for term in self.terms for need in term.needs}
        context = self.step_context_class(
            self, Xi, yi, training=training, needs=needs, fit_params=fit_params
        )
        context.prepare()
        return context

    def loss_of(self, context: StepContext) -> torch.Tensor:
        """The weighted sum of the terms on ``context``; each term's value is logged."""
        prefix = "train" if context.training else "valid"
        total = None
        for term in self.terms:
            value = term(context)
            self.history.record_batch(f"{prefix}_{term.name}", value.item())
            weight = term.weight_in(context)
            weighted = value if weight == 1 else weight * value
            total = weighted if total is None else total + weighted
        return total

    def set_training(self, training: bool) -> None:
        """Put the module and the criterion in training or evaluation mode."""
        self.module_.train(training)
        self.criterion_.train(training)

    def train_step_single(self, batch, **fit_params):
        self.set_training(True)
        context = self.step_context(batch, training=True, **fit_params)
        loss = self.loss_of(context)
        loss.backward()
        return {"loss": loss, "y_pred": context.prediction, "context": context}

    def validation_step(self, batch, **fit_params):
        self.set_training(False)
        with torch.no_grad():
            context = self.step_context(batch, training=False, **fit_params)
            loss = self.loss_of(context)
        return {"loss": loss, "y_pred": context.prediction, "context": context}

    # ------------------------------------------------------------------ the record
    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        epoch = len(self.history)  # skorch opened the epoch's row already
        for term in self.terms:
            if term.weight_column is not None:
                self.history.record(term.weight_column, term.weight_at_epoch(epoch))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.labelled_rows = None

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        for term in self.terms:
            for prefix in ("train", "valid"):
                name = f"{prefix}_{term.name}"
                scoring = PassthroughScoring(name=name, on_train=prefix == "train")
                callbacks.append((name, scoring))
        return callbacks
