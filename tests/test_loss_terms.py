"""Loss terms, the step context and the training step, without an estimator."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skorch.helper import predefined_split

from skae._autoencoder_net import AutoencoderNet
from skae._classifier_net import SemiSupervisedClassifierNet
from skae._loss_terms import (
    AutoencoderStep,
    ClassificationTerm,
    ClassifierStep,
    ContractiveTerm,
    EntropyTerm,
    GaussianKLTerm,
    LabelledRows,
    LossTerm,
    ReconstructionTerm,
    SparsityTerm,
    SupervisedTerm,
    VirtualAdversarialTerm,
    WeightDecayTerm,
)
from skae._losses import ReconstructionLoss
from skae._nn import DenseAutoencoderModule
from skae._training import TensorBatchIterator, TensorDataset

N_FEATURES, N_CODES = 6, 3


@pytest.fixture
def data():
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(40, N_FEATURES, generator=generator)
    y = torch.randint(0, 2, (40,), generator=generator)
    return X, y


def _net(terms, net_class=AutoencoderNet, **kwargs):
    torch.manual_seed(0)
    module = DenseAutoencoderModule(N_FEATURES, (8,), N_CODES, output_activation="sigmoid")
    if any(isinstance(term, (SupervisedTerm, VirtualAdversarialTerm)) for term in terms):
        module.supervised_head = torch.nn.Linear(N_CODES, 2)
    params = dict(
        criterion=ReconstructionLoss,
        terms=terms,
        batch_size=10,
        max_epochs=2,
        iterator_train=TensorBatchIterator,
        iterator_train__shuffle=True,
        iterator_valid=TensorBatchIterator,
        train_split=None,
        optimizer=torch.optim.SGD,
        lr=0.1,
    )
    return net_class(module, **{**params, **kwargs}).initialize()


def _context(net, X, y=None, training=True, context_class=AutoencoderStep):
    needs = {need for term in net.terms for need in term.needs}
    return context_class(net, X, y, training=training, needs=needs)


# ------------------------------------------------------------------ the terms
def test_reconstruction_term_compares_the_reconstruction_with_the_clean_inputs(data):
    X, _ = data
    raw = torch.randn_like(X)
    context = SimpleNamespace(reconstruction=raw, inputs=X)
    mse = ReconstructionTerm(output_activation="sigmoid")(context)
    torch.testing.assert_close(mse, ((torch.sigmoid(raw) - X) ** 2).mean())
    bce = ReconstructionTerm(loss="bce", reduction="sum_per_sample")(context)
    expected = F.binary_cross_entropy_with_logits(raw, X, reduction="none").sum(dim=1).mean()
    torch.testing.assert_close(bce, expected)


def test_sparsity_term_on_the_codes():
    code = torch.tensor([[0.5, -1.0], [0.0, 2.0]])
    context = SimpleNamespace(code=code)
    assert SparsityTerm(1.0, "l1")(context).item() == pytest.approx(0.875)
    rates = torch.tensor([[0.05, 0.5]])
    kl = SparsityTerm(1.0, "kl", target=0.05)(SimpleNamespace(code=rates)).item()
    expected = 0.5 * (0.05 * np.log(0.05 / 0.5) + 0.95 * np.log(0.95 / 0.5))
    assert kl == pytest.approx(expected, rel=1e-5)


def test_weight_decay_reads_what_the_optimizer_trains(data):
    X, _ = data
    net = _net([ReconstructionTerm(), WeightDecayTerm(1.0)])
    matrices = [p for _, p in net.get_all_learnable_params() if p.ndim >= 2]
    expected = 0.5 * sum(float(p.detach().pow(2).sum()) for p in matrices)
    assert WeightDecayTerm(1.0)(_context(net, X)).item() == pytest.approx(expected, rel=1e-5)


def test_supervised_term_without_labelled_rows_uses_the_batch(data):
    X, y = data
    net = _net([ReconstructionTerm(), SupervisedTerm(1.0)])
    with torch.no_grad():
        context = _context(net, X, y, training=False)
        logits = net.module_.supervised_head(context.code)
        expected = F.cross_entropy(logits, y)
        torch.testing.assert_close(SupervisedTerm(1.0)(context), expected)
        # without labels, a zero that keeps the code's graph and device
        assert SupervisedTerm(1.0)(_context(net, X, None, training=False)).item() == 0


def test_supervised_term_draws_its_labelled_batch(data):
    X, y = data
    net = _net([ReconstructionTerm(), SupervisedTerm(1.0)], batch_size=4)
    net.labelled_rows = LabelledRows(X[:3], y[:3])
    encoded = []
    net.module_.encoder.register_forward_hook(lambda m, args, out: encoded.append(len(out)))
    context = _context(net, X, y)
    context.prepare()
    SupervisedTerm(1.0)(context)
    # the batch's forward pass, then the labelled batch: batch_size rows, at most the pool
    assert encoded == [len(X), 3]


def test_contractive_term_has_input_gradients_in_training_only(data):
    X, _ = data
    net = _net([ReconstructionTerm(), ContractiveTerm(1.0)])
    context = _context(net, X)
    assert context.encoder_input.requires_grad
    assert ContractiveTerm(1.0)(context).item() > 0
    with torch.no_grad():  # validation runs without gradients; the term takes them itself
        assert ContractiveTerm(1.0)(_context(net, X, training=False)).item() > 0
    assert not _context(_net([ReconstructionTerm()]), X).encoder_input.requires_grad


def test_kl_term_warms_up_in_training_only():
    term = GaussianKLTerm(beta=2.0, warmup_epochs=4)
    assert [term.weight_at_epoch(e) for e in (1, 3, 5, 9)] == [0.0, 1.0, 2.0, 2.0]
    history = [None] * 3  # the third epoch
    training = SimpleNamespace(training=True, net=SimpleNamespace(history=history))
    assert term.weight_in(training) == 1.0
    assert term.weight_in(SimpleNamespace(training=False)) == 2.0
    assert GaussianKLTerm(beta=2.0).weight_at_epoch(1) == 2.0


def test_kl_term_of_the_prior_itself_is_zero():
    outputs = {"mu": torch.zeros(5, 2), "logvar": torch.zeros(5, 2)}
    assert GaussianKLTerm()(SimpleNamespace(outputs=outputs)).item() == 0


def test_classifier_terms_on_their_logits():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 1])
    context = SimpleNamespace(labelled_logits=logits, labelled_batch=(None, labels))
    torch.testing.assert_close(ClassificationTerm()(context), F.cross_entropy(logits, labels))
    empty = SimpleNamespace(labelled_logits=logits[:0], labelled_batch=(None, labels[:0]))
    assert ClassificationTerm()(empty).item() == 0
    # confident and balanced predictions: low entropy, high entropy of their mean
    assert EntropyTerm(1.0)(SimpleNamespace(class_logits=10 * logits)).item() < -0.6
    # a classifier that ignores its input cannot be moved by a perturbation
    constant = SimpleNamespace(
        classifier=lambda x: torch.zeros(len(x), 2) + x.sum() * 0,
        inputs=torch.rand(4, 3),
        class_logits=torch.zeros(4, 2),
    )
    assert VirtualAdversarialTerm(1.0)(constant).item() == pytest.approx(0, abs=1e-7)


# ------------------------------------------------------------------ the context
def test_labelled_rows_of_a_dataset(data):
    X, y = data
    partial = torch.where(torch.arange(len(y)) % 4 == 0, y, -1)
    rows = LabelledRows.of(TensorDataset(X, partial))
    assert len(rows) == 10 and bool((rows.y >= 0).all())
    assert LabelledRows.of(TensorDataset(X)) is None
    X_drawn, y_drawn = rows.draw(25)  # with replacement: more than the pool
    assert X_drawn.shape == (25, N_FEATURES) and y_drawn.shape == (25,)


def test_autoencoder_step_runs_the_forward_pass_once(data):
    X, _ = data
    net = _net([ReconstructionTerm(), SparsityTerm(1.0)])
    calls = []
    net.module_.register_forward_hook(lambda *args: calls.append(1))
    context = _context(net, X)
    context.prepare()
    for term in net.terms:
        term(context)
    assert len(calls) == 1
    assert context.code is context.outputs["code"]


def test_autoencoder_step_corrupts_in_training_only(data):
    X, _ = data
    net = _net([ReconstructionTerm()], noise="masking", noise_level=0.5)
    assert bool((_context(net, X).encoder_input == 0).any())
    assert _context(net, X, training=False).encoder_input is X


def test_classifier_step_classifies_the_labelled_batch_first(data):
    X, y = data
    seen = []

    def module(inputs):
        seen.append(len(inputs))
        return torch.zeros(len(inputs), 2)

    fake_net = SimpleNamespace(
        labelled_rows=LabelledRows(X[:2], y[:2]),
        infer=lambda inputs: module(inputs),
    )
    context = ClassifierStep(
        fake_net, X[:5], y[:5], training=True, needs={"class_logits", "labelled_logits"}
    )
    context.prepare()
    assert seen == [5, 5]  # the labelled batch (as many rows as the batch), then the batch
    validation = ClassifierStep(fake_net, X[:5], torch.tensor([0, -1, 1, -1, -1]), training=False)
    assert len(validation.labelled_logits) == 2 and validation.labelled_batch[1].tolist() == [0, 1]


# ------------------------------------------------------------------ the step
def test_the_step_logs_every_term_and_sums_them_weighted(data):
    X, _ = data
    terms = [ReconstructionTerm(), SparsityTerm(0.3), WeightDecayTerm(0.01)]
    valid = TensorDataset(X[:10], None)
    net = _net(terms, train_split=predefined_split(valid), max_epochs=3)
    net.fit(TensorDataset(X[10:], None), None)
    history = net.history
    for prefix in ("train", "valid"):
        for batch in history[-1, "batches"]:
            if f"{prefix}_loss" not in batch:
                continue
            total = batch[f"{prefix}_recon"]
            total += 0.3 * batch[f"{prefix}_sparsity"] + 0.01 * batch[f"{prefix}_weight_decay"]
            assert batch[f"{prefix}_loss"] == pytest.approx(total, rel=1e-5)
        assert {f"{prefix}_{t.name}" for t in terms} <= set(history[-1])


def test_the_step_drops_its_labelled_rows_when_training_ends(data):
    X, y = data
    net = _net([ReconstructionTerm(), SupervisedTerm(1.0)])
    net.labelled_rows = LabelledRows(X[:5], y[:5])
    net.fit(TensorDataset(X, y), None)
    assert net.labelled_rows is None


def test_a_varying_weight_has_its_column(data):
    X, _ = data

    class HalvingTerm(ReconstructionTerm):
        name = "halved"
        weight_column = "halving"

        def weight_at_epoch(self, epoch):
            return 0.5**epoch

    net = _net([ReconstructionTerm(), HalvingTerm()], max_epochs=3)
    net.fit(TensorDataset(X, None), None)
    assert list(net.history[:, "halving"]) == [0.5, 0.25, 0.125]


def test_semi_supervised_classifier_step(data):
    X, y = data
    from skae._classifier_network import EncoderClassifierModule

    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 4), torch.nn.ReLU())
    module = EncoderClassifierModule(encoder, torch.nn.Linear(4, 2))
    net = SemiSupervisedClassifierNet(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        terms=[ClassificationTerm(), VirtualAdversarialTerm(1.0), EntropyTerm(0.5)],
        labelled_rows=LabelledRows(X[:4], y[:4]),
        batch_size=10,
        max_epochs=2,
        iterator_train=TensorBatchIterator,
        iterator_valid=TensorBatchIterator,
        train_split=None,
    )
    net.fit(TensorDataset(X, torch.full_like(y, -1)), None)
    columns = set(net.history[-1])
    assert {"train_classification", "train_consistency", "train_entropy", "train_acc"} <= columns


# ------------------------------------------------------------------ a new regulariser
class CodeNormTerm(LossTerm):
    """A sample regulariser: the mean squared norm of the codes."""

    name = "code_norm"
    needs = ("code",)

    def __call__(self, context):
        return context.code.pow(2).sum(dim=1).mean()


def test_a_new_term_plugs_into_the_step(data):
    X, _ = data
    plain = _net([ReconstructionTerm()], max_epochs=10)
    plain.fit(TensorDataset(X, None), None)
    shrunk = _net([ReconstructionTerm(), CodeNormTerm(5.0)], max_epochs=10)
    shrunk.fit(TensorDataset(X, None), None)
    assert "train_code_norm" in shrunk.history[-1]
    with torch.no_grad():
        norms = [net.module_.encode(X).pow(2).sum(dim=1).mean() for net in (plain, shrunk)]
    assert norms[1] < norms[0]
