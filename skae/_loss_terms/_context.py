"""What one training or validation step gives its loss terms."""

from __future__ import annotations

from functools import cached_property

import torch

from .._regularization import corrupt


class LabelledRows:
    """Labelled rows that training steps draw batches from, with replacement.

    With few labels among many rows, most batches of the training set hold none: a
    step that needs labels draws its own batch of labelled rows instead, from torch's
    global generator (which skae seeds from ``random_state``).

    Parameters
    ----------
    X : torch.Tensor
        The labelled rows.
    y : torch.Tensor
        Their labels.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        self.X = X
        self.y = y

    @classmethod
    def of(cls, dataset) -> LabelledRows | None:
        """The rows of a :class:`~skae._training.TensorDataset` whose label is not -1;
        None for a dataset without labels."""
        if dataset is None or dataset.y is None:
            return None
        labelled = dataset.y >= 0
        return cls(dataset.X[labelled], dataset.y[labelled])

    @classmethod
    def for_training(cls, data, estimator_name: str) -> LabelledRows | None:
        """The labelled rows of ``data.train``, the rows a fit may learn from.

        The validation split's labels stay out of training, so that the validation
        loss that early stopping watches is not measured on rows trained on. A
        ``ValueError`` if the split left no labelled row to train on.
        """
        rows = cls.of(data.train)
        if rows is not None and len(rows) == 0:
            raise ValueError(
                f"{estimator_name}: early stopping's validation split holds every labelled "
                "row, so none is left to train on; lower validation_fraction, label more "
                "rows, or set early_stopping=False."
            )
        return rows

    def __len__(self) -> int:
        return len(self.X)

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` rows and their labels, drawn uniformly with replacement."""
        index = torch.randint(len(self.X), (n,), device=self.X.device)
        return self.X[index], self.y[index]


class StepContext:
    """One training or validation step, as its loss terms see it.

    It holds the batch and computes, once and when a term first asks, what the terms
    read from it (attributes of the subclasses), so that terms sharing an input
    (the codes, the forward pass, a prior draw) compute it once, and a term that is
    off costs nothing. The order in which the terms ask is then the order of the
    random draws; :meth:`prepare` computes beforehand what must come first.

    Parameters
    ----------
    net : LossTermsNet
        The net whose step this is: its module, its labelled rows, its settings.
    inputs : torch.Tensor
        The batch's rows.
    targets : torch.Tensor or None
        The batch's labels (``-1`` unlabelled), if the net trains with labels.
    training : bool
        A training step (else a validation step, run without gradients).
    needs : iterable of str, default=()
        What the step's terms need (their ``needs``).
    fit_params : dict, default=None
        skorch's fit parameters, passed on to the module's forward pass.
    """

    def __init__(self, net, inputs, targets, *, training, needs=(), fit_params=None):
        self.net = net
        self.inputs = inputs
        self.targets = targets
        self.training = training
        self.needs = frozenset(needs)
        self.fit_params = fit_params or {}
        self._shared = {}

    @property
    def module(self) -> torch.nn.Module:
        """The net's module."""
        return self.net.module_

    @property
    def labelled_rows(self) -> LabelledRows | None:
        """The labelled rows training steps draw from (None in validation)."""
        return self.net.labelled_rows if self.training else None

    def shared(self, key: str, compute):
        """``compute()``, computed by the first term that asks and kept for the others."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def prepare(self) -> None:
        """Compute what must come before any term (the forward pass, for example)."""

    @property
    def prediction(self):
        """What the step returns to skorch as ``y_pred``."""
        raise NotImplementedError


class AutoencoderStep(StepContext):
    """The step of an autoencoder: corrupted inputs, the forward pass, the codes.

    In training the encoder sees the inputs corrupted by the net's ``noise``, with
    gradients when a term needs ``'input_gradient'``; the reconstruction is compared
    with the clean inputs. The module returns a dict of named outputs with at least
    ``'code'`` (the code ``transform`` returns) and ``'raw'`` (the decoder's output
    before the output activation).
    """

    def prepare(self) -> None:
        # The forward pass comes first, as in any training step: its random draws
        # (noise, dropout, a VAE's sample) come before the terms'.
        self.outputs  # noqa: B018

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` corrupted as the encoder's inputs are (unchanged in validation)."""
        if not self.training:
            return x
        return corrupt(x, self.net.noise, self.net.noise_level)

    @cached_property
    def encoder_input(self) -> torch.Tensor:
        """What the encoder sees: the corrupted inputs in training, else the inputs."""
        if not self.training:
            return self.inputs
        inputs = self.corrupt(self.inputs)
        if "input_gradient" in self.needs:
            inputs = inputs.detach().requires_grad_(True)
        return inputs

    @cached_property
    def outputs(self) -> dict[str, torch.Tensor]:
        """The module's named outputs for ``encoder_input``."""
        return self.net.infer(self.encoder_input, **self.fit_params)

    @property
    def code(self) -> torch.Tensor:
        """The codes of the batch (a VAE's posterior means)."""
        return self.outputs["code"]

    @property
    def reconstruction(self) -> torch.Tensor:
        """The decoder's raw output for the batch."""
        return self.outputs["raw"]

    @property
    def prediction(self):
        return self.outputs

    def classifier(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of the supervised head on the codes of ``inputs``."""
        return self.module.supervised_head(self.module.encode(inputs))

    @cached_property
    def class_logits(self) -> torch.Tensor:
        """The supervised head's logits on the clean inputs."""
        return self.classifier(self.inputs)


class ClassifierStep(StepContext):
    """The step of a classifier: logits of the batch and of a labelled batch.

    In training the labelled batch is drawn from the net's labelled rows, as many as
    the batch has rows; in validation it is the batch's own labelled rows.
    """

    def prepare(self) -> None:
        # The labelled batch is drawn and classified first, then the batch's own rows
        # when a term needs their logits, whatever the order of the terms: their
        # random draws (the batch, dropout) then come in the same order every step.
        if "labelled_logits" in self.needs:
            self.labelled_logits  # noqa: B018
        if "class_logits" in self.needs:
            self.class_logits  # noqa: B018

    def classifier(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's logits for ``inputs``."""
        return self.module(inputs)

    @cached_property
    def class_logits(self) -> torch.Tensor:
        """The network's logits for the batch."""
        return self.net.infer(self.inputs, **self.fit_params)

    @cached_property
    def _labelled_in_batch(self) -> torch.Tensor:
        return self.targets >= 0

    @cached_property
    def labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The labelled rows the step classifies, and their labels."""
        if self.training:
            return self.labelled_rows.draw(len(self.inputs))
        labelled = self._labelled_in_batch
        return self.inputs[labelled], self.targets[labelled]

    @cached_property
    def labelled_logits(self) -> torch.Tensor:
        """The network's logits for ``labelled_batch``."""
        if self.training:
            return self.net.infer(self.labelled_batch[0], **self.fit_params)
        # the rows' logits from the whole batch's pass, not from a second pass
        return self.class_logits[self._labelled_in_batch]

    @property
    def reconstruction(self) -> torch.Tensor:
        """The raw output of the network's decoder for the batch."""
        return self.module.reconstruct_raw(self.inputs)

    @property
    def prediction(self):
        return self.labelled_logits if self.training else self.class_logits
