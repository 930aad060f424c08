"""Training under faults: Ctrl-C, divergence and refused data leave the estimator as it was."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, EarlyStopping

from skae import (
    AutoencoderTransformer,
    EncoderClassifier,
    ITLAutoencoder,
    KAutoencoderTransformer,
    VAETransformer,
)
from skae.exceptions import StopTraining, TrainingDivergedError

SMALL = dict(latent_dim=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)


class Fault(Callback):
    """Raises ``KeyboardInterrupt`` (Ctrl-C) or poisons a weight with NaN once armed.

    Armed from the start, or later by setting ``armed``; it acts at the end of the
    first epoch (Ctrl-C) or after the first training batch (NaN) it sees armed.
    """

    def __init__(self, kind="interrupt", armed=True):
        self.kind = kind
        self.armed = armed

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if self.armed and self.kind == "nan" and training:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))

    def on_epoch_end(self, net, **kwargs):
        if self.armed and self.kind == "interrupt":
            raise KeyboardInterrupt


def make_autoencoder(cls, callbacks):
    return cls(**SMALL, callbacks=callbacks)


ESTIMATORS = {
    "ae": lambda cb: make_autoencoder(AutoencoderTransformer, cb),
    "vae": lambda cb: make_autoencoder(VAETransformer, cb),
    "itl": lambda cb: make_autoencoder(ITLAutoencoder, cb),
    "k-ae": lambda cb: KAutoencoderTransformer(
        make_autoencoder(AutoencoderTransformer, cb), n_autoencoders=2, random_state=0
    ),
    "encoder-classifier": lambda cb: EncoderClassifier(
        encoder_hidden_layer_sizes=(8,), max_epochs=2, random_state=0, callbacks=cb
    ),
    # The interrupt comes during the pre-training of the unfitted encoder.
    "encoder-classifier-pretraining": lambda cb: EncoderClassifier(
        make_autoencoder(AutoencoderTransformer, cb), max_epochs=2, random_state=0
    ),
}


def attributes(estimator):
    """The estimator's attributes, to check with ``assert_unchanged`` later."""
    return dict(vars(estimator))


def assert_unchanged(estimator, before):
    """Every attribute is the very object it was (nothing replaced, added or lost)."""
    after = vars(estimator)
    assert set(after) == set(before)
    changed = [name for name in before if after[name] is not before[name]]
    assert not changed, f"attributes replaced: {changed}"


def weights(estimator):
    return [p.detach().clone() for p in estimator.net_.module_.parameters()]


def optimizer_state(estimator):
    state = estimator.net_.optimizer_.state_dict()
    tensors = [t.clone() for s in state["state"].values() for t in s.values()]
    return tensors, [group["lr"] for group in state["param_groups"]]


def assert_same_tensors(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x, y)


# ---------------------------------------------------------------------- Ctrl-C
@pytest.mark.parametrize("name", ESTIMATORS)
def test_ctrl_c_reaches_the_caller_and_leaves_the_estimator_as_before(name, digits):
    X, y = digits
    X, y = X[:300], y[:300]
    interrupt = Fault(armed=False)
    estimator = ESTIMATORS[name]([interrupt])
    unfitted = attributes(estimator)
    interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X, y)
    assert_unchanged(estimator, unfitted)  # still unfitted: no half-trained model

    interrupt.armed = False
    estimator.fit(X, y)
    fitted = attributes(estimator)
    interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X[:, :10], y)  # a refit on other data, stopped
    assert_unchanged(estimator, fitted)
    interrupt.armed = False
    estimator.predict(X) if name.startswith("encoder") else estimator.transform(X)


@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer, ITLAutoencoder])
def test_ctrl_c_in_partial_fit_restores_the_previous_model(cls, digits):
    X, _ = digits
    interrupt = Fault(armed=False)
    estimator = cls(**SMALL, callbacks=[interrupt])
    interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        estimator.partial_fit(X)
    assert not hasattr(estimator, "net_") and not hasattr(estimator, "n_features_in_")

    interrupt.armed = False
    estimator.partial_fit(X)
    before = attributes(estimator), weights(estimator), optimizer_state(estimator)
    codes = estimator.transform(X)
    interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        estimator.partial_fit(X)
    assert_unchanged(estimator, before[0])
    assert_same_tensors(weights(estimator), before[1])
    assert_same_tensors(optimizer_state(estimator)[0], before[2][0])
    assert optimizer_state(estimator)[1] == before[2][1]
    assert len(estimator.net_.history) == 1
    np.testing.assert_array_equal(estimator.transform(X), codes)


def test_ctrl_c_stops_a_grid_search(digits):
    X, _ = digits
    search = GridSearchCV(
        AutoencoderTransformer(**SMALL, callbacks=[Fault()]),
        {"latent_dim": [2, 3]},
        cv=2,
        n_jobs=1,
        error_score=np.nan,  # swallows failed fits, but not the user's abort
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(X[:200])
    assert not hasattr(search, "best_params_")


class StopAfterOneEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise StopTraining


@pytest.mark.parametrize(
    "callback",
    [StopAfterOneEpoch(), EarlyStopping(monitor="train_loss", patience=1, threshold=1e9)],
    ids=["stop-training", "skorch-early-stopping"],
)
def test_a_callback_can_still_end_training_early(callback, digits):
    """Only Ctrl-C is raised: a callback's request to stop ends fit with the model."""
    X, _ = digits
    ae = AutoencoderTransformer(**{**SMALL, "max_epochs": 5}, callbacks=[callback]).fit(X)
    assert ae.n_epochs_ < 5
    assert np.isfinite(ae.transform(X)).all()


# ---------------------------------------------------------------------- divergence
@pytest.mark.parametrize("cls", [AutoencoderTransformer, VAETransformer, ITLAutoencoder])
def test_divergence_in_a_later_partial_fit_keeps_the_previous_model(cls, digits):
    X, _ = digits
    poison = Fault("nan", armed=False)
    estimator = cls(**SMALL, callbacks=[poison]).partial_fit(X)
    before = attributes(estimator), weights(estimator), optimizer_state(estimator)
    codes = estimator.transform(X)
    poison.armed = True
    with pytest.raises(TrainingDivergedError, match="left as it was before this call"):
        estimator.partial_fit(X)
    assert_unchanged(estimator, before[0])
    assert_same_tensors(weights(estimator), before[1])
    assert_same_tensors(optimizer_state(estimator)[0], before[2][0])
    assert estimator.n_epochs_ == len(estimator.net_.history) == 1
    np.testing.assert_array_equal(estimator.transform(X), codes)  # no NaN codes

    poison.armed = False
    assert estimator.partial_fit(X).n_epochs_ == 2  # training goes on from there


# ---------------------------------------------------------------------- failed refits
def _diverging_refit(estimator):
    estimator.set_params(lr=1e6, output_activation="linear", loss="mse")


def _bce_outside_unit_range(estimator):
    estimator.set_params(loss="bce", output_activation="sigmoid")


FAILED_REFITS = [
    pytest.param(
        lambda: AutoencoderTransformer(**SMALL),
        _diverging_refit,
        lambda X: X[:, :10] * 10,
        TrainingDivergedError,
        id="ae-diverges",
    ),
    pytest.param(
        lambda: AutoencoderTransformer(**SMALL),
        _bce_outside_unit_range,
        lambda X: X[:, :10] * 5,
        ValueError,
        id="ae-bce-refused",
    ),
    pytest.param(
        lambda: VAETransformer(architecture="conv", **SMALL),
        lambda estimator: None,
        lambda X: X[:, :10],  # 10 features are no square image
        ValueError,
        id="conv-vae-image-shape",
    ),
    pytest.param(
        lambda: KAutoencoderTransformer(
            AutoencoderTransformer(**SMALL), n_autoencoders=2, random_state=0
        ),
        lambda estimator: estimator.set_params(estimator__loss="bce"),
        lambda X: X[:, :10] * 5,
        ValueError,
        id="k-ae-bce-refused",
    ),
]


@pytest.mark.parametrize(("make", "change", "bad_data", "error"), FAILED_REFITS)
def test_failed_refit_keeps_the_previous_model_whole(make, change, bad_data, error, digits):
    X, _ = digits
    estimator = make().fit(X)
    codes = estimator.transform(X)
    change(estimator)
    before = attributes(estimator)
    with pytest.raises(error):
        estimator.fit(bad_data(X))
    assert_unchanged(estimator, before)
    assert estimator.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(estimator.transform(X), codes)


def test_failed_refit_of_encoder_classifier_keeps_its_classes(digits):
    X, y = digits
    clf = EncoderClassifier(encoder_hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    clf.fit(X, y)
    before = attributes(clf)
    predictions = clf.predict(X)
    with pytest.raises(ValueError):
        clf.fit(X[:, :10], np.full(len(X), -1))  # no labelled row
    assert_unchanged(clf, before)
    np.testing.assert_array_equal(clf.predict(X), predictions)
