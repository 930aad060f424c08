"""EncoderClassifier (transfer from an autoencoder's encoder) and per-class errors."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from torch import nn

from skae import (
    AutoencoderTransformer,
    EncoderClassifier,
    VAETransformer,
    per_class_reconstruction_error,
)

from .conftest import requires_cuda

AE_PARAMS = dict(
    latent_dim=16, hidden_layer_sizes=(), lr=1e-2, batch_size=64, max_epochs=15, random_state=0
)
CLF_PARAMS = dict(lr=1e-2, batch_size=64, max_epochs=8, random_state=0)


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def autoencoder(data):
    return AutoencoderTransformer(**AE_PARAMS).fit(data[0])


@pytest.fixture(scope="module")
def autoencoder_before(data, autoencoder):
    """What the user's autoencoder gives before any classifier is fitted from it."""
    X_train = data[0]
    state = {k: v.detach().clone() for k, v in autoencoder.module_.state_dict().items()}
    return state, autoencoder.reconstruct(X_train), autoencoder.transform(X_train)


@pytest.fixture(scope="module")
def frozen(data, autoencoder, autoencoder_before):
    X_train, _, y_train, _ = data
    return EncoderClassifier(encoder=autoencoder, freeze_encoder=True, **CLF_PARAMS).fit(
        X_train, y_train
    )


@pytest.fixture(scope="module")
def finetuned(data, autoencoder, autoencoder_before):
    X_train, _, y_train, _ = data
    return EncoderClassifier(encoder=autoencoder, freeze_encoder=False, **CLF_PARAMS).fit(
        X_train, y_train
    )


def _weights(module):
    return [p.detach().clone() for p in module.parameters()]


def test_frozen_encoder_bit_identical(frozen, autoencoder):
    for got, start in zip(_weights(frozen.encoder_), _weights(autoencoder.encoder_), strict=True):
        assert torch.equal(got, start)
    assert all(not p.requires_grad for p in frozen.encoder_.parameters())
    assert all(p.requires_grad for p in frozen.head_.parameters())


class _RecordMode(nn.Module):
    """Identity that records whether it ran in training mode (picklable, so that it
    survives the copy the classifier makes of the autoencoder)."""

    calls: list = []

    def forward(self, x):
        _RecordMode.calls.append(self.training)
        return x


def _with_statistics(data):
    """A fitted autoencoder whose encoder has Dropout and BatchNorm (running stats set)."""
    ae = AutoencoderTransformer(
        latent_dim=8, hidden_layer_sizes=(16,), dropout=0.3, max_epochs=2, random_state=0
    ).fit(data[0])
    ae.net_.module_.encoder.extend([nn.BatchNorm1d(8), _RecordMode()])
    ae.module_.train()
    with torch.no_grad():  # running statistics away from their (0, 1) defaults
        ae.encoder_(torch.as_tensor(data[0][:200], dtype=torch.float32))
    ae.module_.eval()
    return ae


@pytest.mark.parametrize("freeze", [True, False])
def test_frozen_encoder_statistics_never_change(data, freeze):
    X_train, _, y_train, _ = data
    ae = _with_statistics(data)
    before = {k: v.clone() for k, v in ae.encoder_.state_dict().items()}
    assert before["4.num_batches_tracked"] == 1
    _RecordMode.calls.clear()
    clf = EncoderClassifier(
        encoder=ae, freeze_encoder=freeze, lr=1e-2, max_epochs=2, random_state=0
    ).fit(X_train, y_train)
    after = clf.encoder_.state_dict()
    modes = set(_RecordMode.calls)
    if freeze:
        # Eval mode throughout training: no dropout, BatchNorm statistics untouched.
        assert modes == {False}
        for name, value in before.items():
            assert torch.equal(after[name], value), name
    else:
        # The control: fine-tuning runs the same layers in training mode and moves
        # their statistics, so the frozen case above could have failed.
        assert True in modes
        assert after["4.num_batches_tracked"] > 1
        assert not torch.equal(after["4.running_mean"], before["4.running_mean"])


def test_frozen_encoder_stays_in_eval_mode(frozen, finetuned):
    # nothing inside a frozen encoder may change, running statistics included
    frozen.module_.train()
    assert not frozen.encoder_.training and frozen.head_.training
    finetuned.module_.train()
    assert finetuned.encoder_.training
    frozen.module_.eval()
    finetuned.module_.eval()


def test_frozen_encoder_identical_with_weight_decay(data, autoencoder):
    # AdamW decays every parameter it is given: frozen ones must not be given.
    X_train, _, y_train, _ = data
    clf = EncoderClassifier(
        encoder=autoencoder,
        freeze_encoder=True,
        optimizer="adamw",
        optimizer_kwargs={"weight_decay": 0.5},
        max_epochs=2,
        random_state=0,
    ).fit(X_train, y_train)
    for got, start in zip(_weights(clf.encoder_), _weights(autoencoder.encoder_), strict=True):
        assert torch.equal(got, start)


def test_skorch_freezer_then_unfreezer_probe_then_fine_tune(data, autoencoder):
    """A linear probe, then fine-tuning, with skorch's own callbacks: the encoder stays
    put while frozen and trains once the Unfreezer releases it."""
    from skorch.callbacks import Callback, Freezer, Unfreezer

    X_train, _, y_train, _ = data
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, net, **kwargs):
            snapshots.append(_weights(net.module_.encoder))

    EncoderClassifier(
        encoder=autoencoder,
        max_epochs=4,
        callbacks=[Freezer("encoder.*"), Unfreezer("encoder.*", at=3), Snapshot()],
        random_state=0,
    ).fit(X_train, y_train)
    start = _weights(autoencoder.encoder_)
    for epoch in (0, 1):  # frozen during epochs 1 and 2
        assert all(torch.equal(a, b) for a, b in zip(snapshots[epoch], start, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(snapshots[3], start, strict=True))


def test_max_norm_constrains_trainable_hidden_units_only(data, autoencoder):
    X_train, _, y_train, _ = data
    clf = EncoderClassifier(
        encoder_hidden_layer_sizes=(16,),
        hidden_layer_sizes=(8,),
        max_norm=0.5,
        lr=0.05,
        max_epochs=2,
        random_state=0,
    ).fit(X_train, y_train)
    first, second, output = [m for m in clf.module_.modules() if isinstance(m, torch.nn.Linear)]
    for layer in (first, second):
        assert layer.weight.norm(dim=1).max() <= 0.5 + 1e-6
    assert output.weight.norm(dim=1).max() > 0.5  # the softmax layer is free
    frozen = EncoderClassifier(
        encoder=autoencoder, freeze_encoder=True, max_norm=1e-3, max_epochs=1, random_state=0
    ).fit(X_train, y_train)
    for got, start in zip(_weights(frozen.encoder_), _weights(autoencoder.encoder_), strict=True):
        assert torch.equal(got, start)


def test_finetuned_encoder_changes_and_user_autoencoder_untouched(
    finetuned, frozen, autoencoder, autoencoder_before, data
):
    X_train = data[0]
    state, reconstruction, codes = autoencoder_before
    assert not torch.equal(finetuned.encoder_[0].weight, state["encoder.0.weight"])
    # The user's autoencoder still reconstructs as before (a snapshot taken before the
    # classifiers were fitted): its encoder was copied, not trained in place.
    for name, value in autoencoder.module_.state_dict().items():
        assert torch.equal(value, state[name]), name
    np.testing.assert_array_equal(autoencoder.reconstruct(X_train), reconstruction)
    np.testing.assert_array_equal(autoencoder.transform(X_train), codes)
    assert finetuned.autoencoder_ is not autoencoder


def test_accuracy_and_api(frozen, finetuned, data):
    _, X_test, _, y_test = data
    assert frozen.score(X_test, y_test) > 0.7
    assert finetuned.score(X_test, y_test) > 0.85
    proba = finetuned.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-10)
    np.testing.assert_allclose(np.exp(finetuned.predict_log_proba(X_test)), proba, atol=1e-10)
    np.testing.assert_array_equal(finetuned.classes_, np.arange(10))
    np.testing.assert_array_equal(
        finetuned.predict(X_test), finetuned.classes_[proba.argmax(axis=1)]
    )
    assert {"train_loss", "train_acc"} <= set(finetuned.history_.columns)
    assert finetuned.n_epochs_ == CLF_PARAMS["max_epochs"] == len(finetuned.history_)


def test_architecture_784_200_10_shape():
    # The studies' Case I/II: the autoencoder's code IS the 200 layer.
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 30)), rng.integers(0, 3, 40)
    ae = AutoencoderTransformer(latent_dim=7, hidden_layer_sizes=(), max_epochs=1, random_state=0)
    clf = EncoderClassifier(encoder=ae.fit(X), max_epochs=1, random_state=0).fit(X, y)
    linears = [m for m in clf.module_.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(30, 7), (7, 3)]
    baseline = EncoderClassifier(
        encoder_hidden_layer_sizes=(7,), hidden_layer_sizes=(5,), max_epochs=1, random_state=0
    ).fit(X, y)
    linears = [m for m in baseline.module_.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(30, 7), (7, 5), (5, 3)]


def test_code_activation_is_not_doubled():
    # A 30-6-30 autoencoder with sigmoid code units: its code is the hidden layer.
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 30)), rng.integers(0, 3, 40)
    ae = AutoencoderTransformer(
        latent_dim=6, hidden_layer_sizes=(), latent_activation="sigmoid", max_epochs=1
    ).fit(X)
    codes = ae.transform(X)
    assert codes.min() > 0 and codes.max() < 1
    clf = EncoderClassifier(encoder=ae, max_epochs=1, random_state=0).fit(X, y)
    kinds = [type(m).__name__ for m in clf.module_.modules() if not list(m.children())]
    assert kinds == ["Identity", "Linear", "Sigmoid", "Linear"]  # no ReLU on top


def test_dropout_layers_and_deterministic_prediction(data):
    X_train, X_test, y_train, _ = data
    clf = EncoderClassifier(
        encoder_hidden_layer_sizes=(16, 12),
        hidden_layer_sizes=(8,),
        dropout=0.5,
        input_dropout=0.2,
        max_epochs=2,
        random_state=0,
    ).fit(X_train, y_train)
    kinds = [type(m).__name__ for m in clf.module_.modules() if not list(m.children())]
    # input dropout; 64-16-relu-drop-12; relu-drop-8-relu-drop-10
    assert kinds == [
        "Dropout", "Linear", "ReLU", "Dropout", "Linear",
        "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear",
    ]  # fmt: skip
    assert clf.module_.input_dropout.p == 0.2
    assert {m.p for m in clf.module_.modules() if isinstance(m, torch.nn.Dropout)} == {0.2, 0.5}
    # dropout acts in training only: predictions are deterministic
    np.testing.assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))
    no_dropout = EncoderClassifier(encoder_hidden_layer_sizes=(16, 12), max_epochs=1).fit(
        X_train, y_train
    )
    assert not any(isinstance(m, torch.nn.Dropout) for m in no_dropout.module_.modules())


def test_unfitted_encoder_is_pretrained_on_a_clone(data):
    X_train, X_test, y_train, y_test = data
    ae = AutoencoderTransformer(latent_dim=16, max_epochs=3, random_state=0)
    clf = EncoderClassifier(encoder=ae, **CLF_PARAMS).fit(X_train, y_train)
    assert not hasattr(ae, "net_")  # the user's object is not fitted
    assert clf.autoencoder_.n_epochs_ == 3
    assert clf.score(X_test, y_test) > 0.8


def test_unfitted_encoder_without_seed_is_seeded_by_random_state(data):
    X_train, X_test, y_train, _ = data
    ae = AutoencoderTransformer(latent_dim=8, max_epochs=1, random_state=None)
    a = EncoderClassifier(encoder=ae, max_epochs=1, random_state=0).fit(X_train, y_train)
    b = EncoderClassifier(encoder=ae, max_epochs=1, random_state=0).fit(X_train, y_train)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert ae.random_state is None


def test_frozen_estimator_is_reused_not_refitted(data, autoencoder):
    # clone() unfits an autoencoder; FrozenEstimator keeps a fitted one across clones
    X_train, _, y_train, _ = data
    clf = clone(EncoderClassifier(encoder=FrozenEstimator(autoencoder), **CLF_PARAMS))
    clf.set_params(freeze_encoder=True, max_epochs=1).fit(X_train, y_train)
    for got, start in zip(_weights(clf.encoder_), _weights(autoencoder.encoder_), strict=True):
        assert torch.equal(got, start)


@pytest.mark.parametrize("architecture", ["dense", "conv"])
def test_vae_encoder_starts_from_the_posterior_means(data, architecture):
    """A VAE's encoder_ also outputs log-variances: the classifier sees only the codes
    that transform gives, and reconstruction through the VAE's decoder works."""
    X_train, X_test, y_train, _ = data
    vae = VAETransformer(
        latent_dim=4,
        hidden_layer_sizes=(32,),
        architecture=architecture,
        conv_channels=(8,),
        max_epochs=2,
        random_state=0,
    ).fit(X_train)
    frozen = EncoderClassifier(encoder=vae, freeze_encoder=True, **CLF_PARAMS)
    frozen.set_params(max_epochs=1).fit(X_train, y_train)
    with torch.no_grad():
        codes = frozen.encoder_(torch.as_tensor(X_test, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(codes, vae.transform(X_test), atol=1e-6)
    assert frozen.head_[1].in_features == 4  # the activation, then the first layer
    y_partial = np.where(np.arange(len(y_train)) % 5 == 0, y_train, -1)
    with_recon = EncoderClassifier(encoder=vae, reconstruction_weight=1.0, **CLF_PARAMS)
    with_recon.set_params(max_epochs=1).fit(X_train, y_partial)
    assert np.isfinite(with_recon.history_["train_recon"]).all()


def test_input_size_mismatch_raises(autoencoder):
    X = np.random.default_rng(0).random((20, 10))
    with pytest.raises(ValueError, match="encoder was fitted on 64 features"):
        EncoderClassifier(encoder=autoencoder, max_epochs=1).fit(X, np.arange(20) % 2)


def test_not_an_autoencoder_raises(data):
    from sklearn.decomposition import PCA

    X_train, _, y_train, _ = data
    with pytest.raises(TypeError, match="encoder_"):
        EncoderClassifier(encoder=PCA(2), max_epochs=1).fit(X_train, y_train)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        EncoderClassifier().predict(np.zeros((2, 3)))


def test_reproducible_and_global_rng_untouched(data):
    X_train, X_test, y_train, _ = data
    state = torch.random.get_rng_state()
    a = EncoderClassifier(encoder_hidden_layer_sizes=(8,), max_epochs=2, random_state=3)
    b = clone(a)
    pa = a.fit(X_train, y_train).predict_proba(X_test)
    pb = b.fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(pa, pb)
    assert torch.equal(state, torch.random.get_rng_state())


def test_early_stopping_and_string_labels(data):
    X_train, X_test, y_train, y_test = data
    names = np.array([f"digit {d}" for d in range(10)])
    clf = EncoderClassifier(
        encoder_hidden_layer_sizes=(16,),
        early_stopping=True,
        patience=2,
        max_epochs=200,
        lr=1e-2,
        random_state=0,
    ).fit(X_train, names[y_train])
    assert clf.n_epochs_ < 200
    assert {"valid_loss", "valid_acc"} <= set(clf.history_.columns)
    assert clf.predict(X_test[:3]).dtype == names.dtype
    assert clf.score(X_test, names[y_test]) > 0.8


def test_early_stopping_keeps_the_best_epoch(data):
    # Training stops `patience` epochs after the best one and restores its weights:
    # the same as a run on the same split that stops at the best epoch.
    X_train, X_test, y_train, _ = data
    params = dict(
        encoder_hidden_layer_sizes=(16,),
        early_stopping=True,
        patience=3,
        tol=0.0,
        lr=0.05,
        batch_size=64,
        random_state=0,
    )
    clf = EncoderClassifier(max_epochs=60, **params).fit(X_train, y_train)
    best = int(clf.history_["valid_loss"].idxmin())
    assert clf.n_epochs_ == best + 3 < 60
    short = EncoderClassifier(max_epochs=best, **params).fit(X_train, y_train)
    np.testing.assert_allclose(clf.predict_proba(X_test), short.predict_proba(X_test), rtol=1e-6)


def test_sgd_momentum_and_rprop_options(data):
    X_train, X_test, y_train, y_test = data
    clf = EncoderClassifier(optimizer="sgd", max_epochs=1, random_state=0)
    clf.set_params(optimizer__momentum=0.9)
    assert clf.get_params()["optimizer__momentum"] == 0.9
    clf.fit(X_train, y_train)
    assert clf.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    # iRprop- on full batches learns: every step lowers the loss, well above chance.
    rprop = EncoderClassifier(optimizer="rprop", batch_size="full", max_epochs=5, random_state=0)
    loss = rprop.fit(X_train, y_train).history_["train_loss"].to_numpy()
    assert type(rprop.net_.optimizer_).__name__.lower().endswith("rprop")
    assert (np.diff(loss) < 0).all() and loss[-1] < 0.97 * loss[0]
    assert rprop.score(X_test, y_test) > 0.3


def test_bad_params():
    X, y = np.random.default_rng(0).random((10, 4)), np.arange(10) % 2
    with pytest.raises(ValueError, match="does not take"):
        EncoderClassifier(optimizer="adam", optimizer_kwargs={"momentum": 0.9}).fit(X, y)
    with pytest.raises(ValueError, match="encoder_hidden_layer_sizes"):
        EncoderClassifier(encoder_hidden_layer_sizes=()).fit(X, y)


def test_pipeline_gridsearch_pickle(data):
    X_train, X_test, y_train, y_test = data
    pipe = make_pipeline(
        MinMaxScaler(),
        EncoderClassifier(encoder_hidden_layer_sizes=(16,), lr=1e-2, max_epochs=3, random_state=0),
    )
    grid = GridSearchCV(
        pipe, {"encoderclassifier__freeze_encoder": [True, False]}, cv=2, n_jobs=1
    ).fit(X_train, y_train)
    assert set(grid.cv_results_["param_encoderclassifier__freeze_encoder"]) == {True, False}
    restored = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), grid.best_estimator_.predict_proba(X_test)
    )
    assert restored.score(X_test, y_test) == grid.score(X_test, y_test)


@requires_cuda
def test_cuda(data, autoencoder):
    X_train, X_test, y_train, _ = data
    clf = EncoderClassifier(
        encoder=autoencoder, freeze_encoder=True, device="cuda", max_epochs=1, random_state=0
    ).fit(X_train, y_train)
    assert clf.device_.type == "cuda"
    assert clf.predict(X_test).shape == (len(X_test),)


# ---------------------------------------------------------------- per-class errors
def test_per_class_reconstruction_error(autoencoder, data):
    _, X_test, _, y_test = data
    table = per_class_reconstruction_error(autoencoder, X_test, y_test)
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["mean", "std", "n"]
    assert table.index.name == "class"
    assert list(table.index) == list(range(10))
    assert table["n"].sum() == len(X_test)
    errors = autoencoder.reconstruction_error(X_test)
    for digit in range(10):
        mine = errors[y_test == digit]
        assert table.loc[digit, "mean"] == pytest.approx(mine.mean())
        assert table.loc[digit, "std"] == pytest.approx(mine.std())
    # the per-pixel MSE, by hand
    by_hand = np.mean((X_test - autoencoder.reconstruct(X_test)) ** 2, axis=1)
    np.testing.assert_allclose(errors, by_hand, rtol=1e-5)


def test_per_class_reconstruction_error_bad_input(autoencoder, data):
    _, X_test, _, y_test = data
    with pytest.raises(TypeError, match="reconstruction_error"):
        per_class_reconstruction_error(object(), X_test, y_test)
    with pytest.raises(ValueError):
        per_class_reconstruction_error(autoencoder, X_test, y_test[:-1])


# ------------------------------------------------------------------ 'auto' settings
def _partially_labelled(y, per_class=3, seed=0):
    rng = np.random.default_rng(seed)
    y_partial = np.full_like(y, -1)
    for k in np.unique(y):
        chosen = rng.choice(np.flatnonzero(y == k), per_class, replace=False)
        y_partial[chosen] = k
    return y_partial


def test_auto_settings_with_unlabelled_rows_pretrain_and_use_every_row(data, monkeypatch):
    """With -1 in y and fewer rows than SPREADING_MAX_ROWS, the defaults pre-train
    skae's default autoencoder, spread the labels over its codes to half of the
    unlabelled rows and fine-tune with the consistency and entropy terms; the choices
    are kept."""
    import skae._base
    import skae._encoder_classifier as module
    from skae import AutoencoderTransformer

    # A short schedule: the test checks what is chosen, not how well it trains.
    monkeypatch.setattr(module, "SEMI_SUPERVISED_EPOCHS", (1, 2))
    monkeypatch.setattr(module, "SEMI_SUPERVISED_STEPS", 1)
    monkeypatch.setattr(skae._base, "AUTO_EPOCHS_BOUNDS", (1, 2))
    monkeypatch.setattr(skae._base, "AUTO_EPOCHS_STEPS", 1)
    X_train, X_test, y_train, _ = data
    X_train, y_partial = X_train[:300], _partially_labelled(y_train[:300])
    given = y_partial.copy()
    clf = EncoderClassifier(random_state=0).fit(X_train, y_partial)
    np.testing.assert_array_equal(y_partial, given)  # the user's labels untouched
    assert (clf.consistency_weight_, clf.entropy_weight_, clf.batch_size_) == (1.0, 1.0, 128)
    assert clf.max_epochs_ == 1 == clf.n_epochs_
    assert type(clf.autoencoder_) is AutoencoderTransformer
    assert clf.autoencoder_.latent_dim == module.AUTO_CODE_SIZE
    assert clf.pseudo_label_fraction_ == module.AUTO_PSEUDO_LABEL_FRACTION
    n_unlabelled = int(np.sum(y_partial == -1))
    assert 0 < clf.n_pseudo_labelled_ <= clf.pseudo_label_fraction_ * n_unlabelled
    assert {"train_classification", "train_consistency", "train_entropy"} <= set(clf.history_)
    # The parameters are left as the user gave them.
    assert clf.get_params()["encoder"] == "auto"
    assert clf.get_params()["pseudo_label_fraction"] == "auto"
    assert set(clf.predict(X_test)) <= set(range(10))


def test_auto_encoder_for_many_rows_is_the_itl_autoencoder(data, monkeypatch):
    """From SPREADING_MAX_ROWS rows on, encoder='auto' pre-trains the ITL autoencoder
    on every row and the labels, and no label is spread."""
    import skae._encoder_classifier as module
    from skae import ITLAutoencoder
    from skae.priors import OneHotPrior

    monkeypatch.setattr(module, "SEMI_SUPERVISED_EPOCHS", (1, 2))
    monkeypatch.setattr(module, "SEMI_SUPERVISED_STEPS", 1)
    monkeypatch.setattr(module, "SPREADING_MAX_ROWS", 300)
    X_train, _, y_train, _ = data
    X_train, y_partial = X_train[:300], _partially_labelled(y_train[:300])
    clf = EncoderClassifier(random_state=0).fit(X_train, y_partial)
    assert isinstance(clf.autoencoder_, ITLAutoencoder)
    assert isinstance(clf.autoencoder_.prior, OneHotPrior)
    assert clf.autoencoder_.latent_dim == 10 + module.AUTO_ENCODER_STYLE_DIMS
    assert clf.autoencoder_.classes_.tolist() == list(range(10))
    assert (clf.pseudo_label_fraction_, clf.n_pseudo_labelled_) == (0.0, 0)


def test_pseudo_labels_only_with_auto_encoder_unless_asked(data, autoencoder):
    """A user's own encoder is fine-tuned without spread labels unless
    pseudo_label_fraction says otherwise; the fraction needs an autoencoder."""
    X_train, _, y_train, _ = data
    y_partial = _partially_labelled(y_train)
    n_unlabelled = int(np.sum(y_partial == -1))
    short = dict(max_epochs=1, random_state=0)
    plain = EncoderClassifier(encoder=autoencoder, **short).fit(X_train, y_partial)
    assert (plain.pseudo_label_fraction_, plain.n_pseudo_labelled_) == (0.0, 0)
    spread = EncoderClassifier(encoder=autoencoder, pseudo_label_fraction=0.2, **short)
    spread.fit(X_train, y_partial)
    assert 0 < spread.n_pseudo_labelled_ <= 0.2 * n_unlabelled
    every = EncoderClassifier(encoder=autoencoder, pseudo_label_fraction=1.0, **short)
    n_every = every.fit(X_train, y_partial).n_pseudo_labelled_
    assert spread.n_pseudo_labelled_ < n_every <= n_unlabelled
    with pytest.raises(ValueError, match=r"pseudo_label_fraction=0\.5 needs an autoencoder"):
        EncoderClassifier(encoder=None, pseudo_label_fraction=0.5, **short).fit(X_train, y_partial)
    with pytest.raises(ValueError, match="pseudo_label_fraction"):
        EncoderClassifier(pseudo_label_fraction=1.5).fit(X_train, y_partial)
    # With every row labelled there is nothing to spread: a plain supervised fit.
    supervised = EncoderClassifier(pseudo_label_fraction=0.5, **short).fit(X_train, y_train)
    assert supervised.autoencoder_ is None and supervised.n_pseudo_labelled_ == 0


def test_semi_supervised_epochs_are_a_number_of_steps():
    from skae._encoder_classifier import semi_supervised_epochs

    assert semi_supervised_epochs(60000) == 10  # at least 10 passes
    assert semi_supervised_epochs(10000) == 21  # 1,600 steps of 128 rows
    assert semi_supervised_epochs(10) == 500  # at most 500


def test_auto_settings_without_unlabelled_rows_train_the_supervised_network(data):
    """With every row labelled the defaults are a plain network from random weights."""
    X_train, X_test, y_train, _ = data
    auto = EncoderClassifier(max_epochs=3, random_state=0).fit(X_train, y_train)
    explicit = EncoderClassifier(
        encoder=None,
        consistency_weight=0.0,
        entropy_weight=0.0,
        batch_size=256,
        max_epochs=3,
        random_state=0,
    ).fit(X_train, y_train)
    assert auto.autoencoder_ is None
    assert (auto.consistency_weight_, auto.entropy_weight_, auto.batch_size_) == (0.0, 0.0, 256)
    assert EncoderClassifier().fit(X_train[:50], y_train[:50]).max_epochs_ == 50
    np.testing.assert_array_equal(auto.predict_proba(X_test), explicit.predict_proba(X_test))


def test_explicit_settings_override_auto(data):
    X_train, _, y_train, _ = data
    y_partial = _partially_labelled(y_train)
    clf = EncoderClassifier(
        encoder=None,
        consistency_weight=0.5,
        entropy_weight=0.0,
        batch_size=64,
        max_epochs=2,
        random_state=0,
    ).fit(X_train, y_partial)
    assert (clf.consistency_weight_, clf.entropy_weight_, clf.batch_size_) == (0.5, 0.0, 64)
    assert clf.max_epochs_ == 2 and clf.autoencoder_ is None


def test_docstring_states_the_rows_where_the_auto_pretraining_changes():
    """The class description and parameters name the threshold the code uses."""
    import skae._encoder_classifier as module

    threshold = f"{module.SPREADING_MAX_ROWS:,} rows"
    assert " ".join(EncoderClassifier.__doc__.split()).count(threshold) >= 3


def test_pseudo_labels_keep_the_validation_labels_out_of_training(data, autoencoder, monkeypatch):
    """With early stopping, only the training split's labels spread, and the
    validation rows keep the labels the user gave."""
    import skae._encoder_classifier as module

    X_train, _, y_train, _ = data
    y_partial = _partially_labelled(y_train, per_class=6)
    seen = {}
    spread = module.spread_labels

    def spy(codes, y_encoded, fraction, random_state=None):
        seen["from"] = y_encoded.copy()
        seen["out"] = spread(codes, y_encoded, fraction, random_state)
        return seen["out"]

    monkeypatch.setattr(module, "spread_labels", spy)
    clf = EncoderClassifier(
        encoder=autoencoder,
        pseudo_label_fraction=0.5,
        early_stopping=True,
        validation_fraction=0.3,
        max_epochs=1,
        random_state=0,
    ).fit(X_train, y_partial)
    valid = clf._validation_rows(len(X_train), clf._net_seed())
    labelled_valid = valid[y_partial[valid] != -1]
    assert len(labelled_valid) > 0
    assert np.all(seen["from"][valid] == -1)  # no validation label spreads
    training = np.setdiff1d(np.arange(len(X_train)), valid)
    np.testing.assert_array_equal(seen["from"][training], y_partial[training])
    assert clf.n_pseudo_labelled_ > 0


def test_pseudo_labels_do_not_depend_on_the_rows_order(data, autoencoder):
    """Rows sorted by class get their labels spread to every class, not to the first
    ones in the data."""
    X_train, _, y_train, _ = data
    order = np.argsort(y_train, kind="stable")
    X_sorted, y_sorted = X_train[order], _partially_labelled(y_train[order])
    from skae._pseudo_labels import spread_labels

    codes = autoencoder.transform(X_sorted)
    pseudo = spread_labels(codes, y_sorted, 0.5, random_state=0)
    newly = (y_sorted == -1) & (pseudo != -1)
    counts = np.bincount(pseudo[newly], minlength=10)
    assert np.all(counts > 0), counts


def test_pseudo_labels_from_a_dataframe_warn_about_nothing(data):
    X_train, _, y_train, _ = data
    frame = pd.DataFrame(X_train[:200], columns=[f"pixel{i}" for i in range(X_train.shape[1])])
    autoencoder = AutoencoderTransformer(latent_dim=8, max_epochs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EncoderClassifier(
            encoder=autoencoder, pseudo_label_fraction=0.5, max_epochs=1, random_state=0
        ).fit(frame, _partially_labelled(y_train[:200], per_class=2))
