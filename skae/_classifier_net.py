"""The skorch nets of :class:`skae.EncoderClassifier`."""

from __future__ import annotations

from skorch.callbacks import PassthroughScoring

from ._loss_terms import ClassifierStep, LossTermsNet
from ._training import InterruptibleNet


class ClassifierNet(InterruptibleNet):
    """skorch net on logits: cross-entropy loss, accuracy per epoch, frozen parameters kept out.

    Records ``train_acc``/``valid_acc`` per epoch from the batches already computed
    (no extra pass over the data), and keeps the encoder frozen by
    ``freeze_encoder`` out of the optimizer, so that it is never touched (weight decay
    included). Parameters frozen by skorch's ``Freezer`` stay listed, so that an
    ``Unfreezer`` can find them again.
    With ``max_norm``, every update is followed by the max-norm constraint of
    ``EncoderClassifierModule.constrain_max_norm``
    (:mod:`skae._classifier_network`).
    """

    def __init__(self, module, criterion, *, max_norm=None, **kwargs):
        super().__init__(module, criterion, **kwargs)
        self.max_norm = max_norm

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        if self.max_norm is not None:
            self.module_.constrain_max_norm(self.max_norm)
        return step

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        self.record_accuracy(y_pred, y_true, training)
        return loss

    def record_accuracy(self, logits, labels, training: bool) -> None:
        """Log the batch's accuracy as ``train_acc`` or ``valid_acc``."""
        correct = (logits.argmax(dim=1) == labels).float().mean()
        self.history.record_batch(f"{'train' if training else 'valid'}_acc", correct.item())

    def get_all_learnable_params(self):
        # Leave out the encoder frozen by ``freeze_encoder`` by name, not every
        # parameter with requires_grad=False: skorch's Freezer/Unfreezer find the
        # parameters to unfreeze through this method.
        frozen = getattr(self.module_, "freeze_encoder", False)
        for name, param in super().get_all_learnable_params():
            if not (frozen and name.startswith("encoder.")):
                yield name, param

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            (
                "train_acc",
                PassthroughScoring(name="train_acc", lower_is_better=False, on_train=True),
            ),
            ("valid_acc", PassthroughScoring(name="valid_acc", lower_is_better=False)),
        ]


class SemiSupervisedClassifierNet(LossTermsNet, ClassifierNet):
    """Classifier net trained on every row: the classification of labelled rows plus
    terms on every row that need no label.

    Its loss terms read the step through a :class:`~skae._loss_terms.ClassifierStep`:
    a :class:`~skae._loss_terms.ClassificationTerm` first, then terms on the batch's
    rows, labelled or not (a reconstruction through the autoencoder's copied decoder,
    virtual adversarial consistency, entropy minimisation). The training set holds
    every row (targets ``-1`` for unlabelled ones); each step applies those terms to
    its batch and classifies a batch of the same size drawn from ``labelled_rows``
    (with replacement), so that a few labels are seen at every step however many
    unlabelled rows there are. Every term is logged per epoch (``train_classification``
    and ``train_recon``, ``train_consistency``, ``train_entropy`` for the active ones;
    ``valid_*`` with early stopping, where the validation rows' own labels are used),
    and so is the accuracy on the classified rows (``train_acc``, ``valid_acc``).

    Parameters
    ----------
    module, criterion, terms, labelled_rows, max_norm, **kwargs
        As for :class:`~skae._loss_terms.LossTermsNet` and :class:`ClassifierNet`.
    """

    step_context_class = ClassifierStep

    def loss_of(self, context):
        loss = super().loss_of(context)
        logits, (_, labels) = context.labelled_logits, context.labelled_batch
        if len(labels):
            self.record_accuracy(logits, labels, context.training)
        return loss
