"""scikit-learn's ``y = -1`` convention for unlabelled rows, across skae."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from skae import AutoencoderTransformer, EncoderClassifier, ITLAutoencoder
from skae._semi_supervised import encode_partial_labels, labelled_mask
from skae.priors import OneHotPrior

LABELS_PER_CLASS = 5


@pytest.fixture(scope="module")
def few_labels(digits):
    """Digits split 70/30; 5 training labels per class, the other rows marked -1."""
    X, y = digits
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    rng = np.random.RandomState(0)
    lab = np.concatenate(
        [
            rng.choice(np.flatnonzero(y_train == k), LABELS_PER_CLASS, replace=False)
            for k in range(10)
        ]
    )
    y_partial = np.full_like(y_train, -1)
    y_partial[lab] = y_train[lab]
    return X_train, X_test, y_train, y_test, y_partial, lab


def _autoencoder(**params):
    defaults = dict(
        latent_dim=16,
        hidden_layer_sizes=(64,),
        output_activation="sigmoid",
        loss="bce",
        batch_size=64,
        max_epochs=30,
        random_state=0,
    )
    return AutoencoderTransformer(**{**defaults, **params})


# ---------------------------------------------------------------- the convention
def test_labelled_mask_follows_scikit_learn():
    assert labelled_mask(np.array([0, -1, 2])).tolist() == [True, False, True]
    assert labelled_mask(np.array([0.0, -1.0])).tolist() == [True, False]
    # Object arrays mark unlabelled rows with the integer -1 among string labels...
    assert labelled_mask(np.array(["a", -1, "b"], dtype=object)).tolist() == [True, False, True]
    # ...while an array of strings cannot hold -1: every row is labelled.
    assert labelled_mask(np.array(["a", "-1"])).tolist() == [True, True]


def test_encode_partial_labels():
    classes, encoded, labelled = encode_partial_labels(np.array([3, -1, 7, 3]), "Model")
    assert classes.tolist() == [3, 7]
    assert encoded.tolist() == [0, -1, 1, 0]
    assert labelled.tolist() == [True, False, True, True]
    with pytest.raises(ValueError, match="Model got only unlabelled rows"):
        encode_partial_labels(np.array([-1, -1]), "Model")
    # Binary labels written as -1/1 would otherwise become one class: refused.
    with pytest.raises(ValueError, match="binary labels -1/1 must be recoded"):
        encode_partial_labels(np.array([-1, 1, 1, -1]), "Model")
    # A single class with every row labelled is left to the estimator, as before.
    assert encode_partial_labels(np.array([4, 4]), "Model")[0].tolist() == [4]


# ---------------------------------------------------------------- EncoderClassifier
def _encoder_classifier(encoder, **params):
    # The terms on every row off unless a test names them: each test measures its own.
    defaults = dict(
        lr=3e-3,
        batch_size=64,
        max_epochs=30,
        consistency_weight=0.0,
        entropy_weight=0.0,
        random_state=0,
    )
    return EncoderClassifier(encoder=encoder, **{**defaults, **params})


@pytest.fixture(scope="module")
def classifier_semi(few_labels):
    X_train, _, _, _, y_partial, _ = few_labels
    return _encoder_classifier(_autoencoder(), reconstruction_weight=1.0).fit(X_train, y_partial)


@pytest.fixture(scope="module")
def classifier_alone(few_labels):
    """The same estimator fitted on the 50 labelled rows alone."""
    X_train, _, y_train, _, _, lab = few_labels
    return _encoder_classifier(_autoencoder(), reconstruction_weight=1.0).fit(
        X_train[lab], y_train[lab]
    )


def test_encoder_classifier_unlabelled_rows_improve_it(
    few_labels, classifier_semi, classifier_alone
):
    _, X_test, _, y_test, _, _ = few_labels
    semi, alone = classifier_semi.score(X_test, y_test), classifier_alone.score(X_test, y_test)
    # Measured 0.84 against 0.38 (seed 0); the margin leaves room for platform noise.
    assert semi > alone + 0.2, (semi, alone)


def test_encoder_classifier_never_learns_minus_one(few_labels, classifier_semi):
    _, X_test, _, _, _, _ = few_labels
    assert classifier_semi.classes_.tolist() == list(range(10))
    assert -1 not in classifier_semi.predict(X_test)
    assert classifier_semi.predict_proba(X_test).shape == (len(X_test), 10)


def test_encoder_classifier_logs_both_terms(classifier_semi):
    h = classifier_semi.history_
    assert {"train_classification", "train_recon"} <= set(h)
    np.testing.assert_allclose(
        h["train_loss"], h["train_classification"] + 1.0 * h["train_recon"], rtol=1e-5
    )
    # The labelled copy used in training is not kept (nor pickled) with the model.
    assert classifier_semi.net_.labelled_rows is None


def test_encoder_classifier_keeps_the_autoencoders_auto_loss(few_labels):
    """An encoder fitted with loss='auto' on [0, 1] data trained with BCE on a sigmoid
    output: the reconstruction term goes on with that loss, not with MSE on logits."""
    X_train, _, _, _, y_partial, _ = few_labels
    ae = _autoencoder(loss="auto", output_activation="auto", max_epochs=5).fit(X_train)
    assert (ae.loss_, ae.output_activation_) == ("bce", "sigmoid")
    clf = _encoder_classifier(ae, reconstruction_weight=1.0, max_epochs=1, lr=1e-9)
    clf.fit(X_train, y_partial)
    (reconstruction,) = [term for term in clf.net_.terms if term.name == "recon"]
    assert (reconstruction.loss, reconstruction.output_activation) == ("bce", "sigmoid")
    # With a tiny lr nothing moves: the term is the autoencoder's own training loss.
    np.testing.assert_allclose(
        clf.history_["train_recon"].iloc[0], ae.history_["train_loss"].iloc[-1], rtol=0.05
    )


def test_encoder_classifier_validation_logs_both_terms(few_labels):
    """With early stopping, validation rows (labelled or not) give both terms too."""
    X_train, _, _, _, y_partial, _ = few_labels
    clf = _encoder_classifier(
        _autoencoder(max_epochs=1), reconstruction_weight=0.5, max_epochs=2, early_stopping=True
    ).fit(X_train, y_partial)
    h = clf.history_
    assert {"valid_classification", "valid_recon", "valid_loss"} <= set(h)
    assert np.isfinite(h["valid_loss"]).all()


def test_encoder_classifier_without_weight_ignores_unlabelled_rows(few_labels):
    """With reconstruction_weight=0 and a fitted encoder, the -1 rows are dropped
    exactly: the result equals a fit on the labelled rows (the pre-existing path)."""
    X_train, X_test, y_train, _, y_partial, lab = few_labels
    ae = _autoencoder(max_epochs=5).fit(X_train)
    with_unlabelled = _encoder_classifier(ae, max_epochs=5).fit(X_train, y_partial)
    labelled_only = _encoder_classifier(ae, max_epochs=5).fit(X_train[lab], y_train[lab])
    np.testing.assert_allclose(
        with_unlabelled.predict_proba(X_test), labelled_only.predict_proba(X_test), atol=1e-6
    )


def test_encoder_classifier_pretrains_on_every_row(few_labels):
    """An unfitted encoder learns from the unlabelled rows too."""
    X_train, _, _, _, y_partial, _ = few_labels
    clf = _encoder_classifier(_autoencoder(max_epochs=1), max_epochs=1).fit(X_train, y_partial)
    assert clf.autoencoder_.n_features_in_ == X_train.shape[1]
    assert clf.autoencoder_.net_.history[-1, "train_batch_count"] == int(np.ceil(len(X_train) / 64))


def test_encoder_classifier_string_labels_with_object_marker(few_labels):
    X_train, X_test, _, _, y_partial, _ = few_labels
    names = np.array([f"digit {k}" for k in range(10)], dtype=object)
    y_obj = np.where(y_partial == -1, -1, names[np.maximum(y_partial, 0)]).astype(object)
    clf = EncoderClassifier(encoder_hidden_layer_sizes=(16,), max_epochs=2, random_state=0)
    clf.fit(X_train, y_obj)
    assert set(clf.classes_) == set(names)
    assert set(clf.predict(X_test)) <= set(names)


@pytest.mark.parametrize("reconstruction_weight", [0.0, 1.0])
def test_encoder_classifier_only_unlabelled_raises(few_labels, reconstruction_weight):
    X_train, *_ = few_labels
    clf = _encoder_classifier(_autoencoder(), reconstruction_weight=reconstruction_weight)
    with pytest.raises(ValueError, match="only unlabelled rows"):
        clf.fit(X_train, np.full(len(X_train), -1))


def test_encoder_classifier_pretrains_with_the_labels(few_labels):
    """An unfitted encoder that can use labels gets them (-1 rows included)."""
    X_train, _, _, _, y_partial, _ = few_labels
    itl = _itl(latent_dim=16, prior=OneHotPrior(16, n_classes=10), max_epochs=2)
    clf = _encoder_classifier(itl, max_epochs=1).fit(X_train, y_partial)
    assert clf.autoencoder_.classes_.tolist() == list(range(10))
    assert not hasattr(itl, "classes_")  # the user's object stays unfitted
    supervised = _autoencoder(supervised_weight=1.0, max_epochs=2)
    clf = _encoder_classifier(supervised, max_epochs=1).fit(X_train, y_partial)
    assert (clf.autoencoder_.history_["train_supervised"] > 0).all()
    # An autoencoder without labelled terms is fitted as on X alone.
    plain = _encoder_classifier(_autoencoder(max_epochs=2), max_epochs=1)
    np.testing.assert_array_equal(
        plain.fit(X_train, y_partial).autoencoder_.transform(X_train),
        _autoencoder(max_epochs=2).fit(X_train).transform(X_train),
    )


def test_reconstruction_weight_needs_an_autoencoder(few_labels):
    X_train, _, y_train, _, y_partial, _ = few_labels
    with pytest.raises(ValueError, match="reconstruction_weight > 0 needs an autoencoder"):
        EncoderClassifier(encoder=None, reconstruction_weight=1.0).fit(X_train, y_partial)
    # encoder='auto' chooses no autoencoder when every row is labelled.
    with pytest.raises(ValueError, match="encoder='auto' uses none when every row"):
        EncoderClassifier(reconstruction_weight=1.0).fit(X_train, y_train)


# ------------------------------------------- EncoderClassifier: consistency, entropy
@pytest.fixture(scope="module")
def classifier_consistency(few_labels):
    """A random-start network with the consistency and entropy terms on every row."""
    X_train, _, _, _, y_partial, _ = few_labels
    params = dict(consistency_weight=1.0, consistency_radius=0.5, entropy_weight=1.0)
    return _encoder_classifier(None, **params).fit(X_train, y_partial)


def test_consistency_term_uses_the_unlabelled_rows(few_labels, classifier_consistency):
    """Virtual adversarial training on the unlabelled rows beats the same network
    trained on the 50 labels alone."""
    X_train, X_test, y_train, y_test, _, lab = few_labels
    alone = _encoder_classifier(None).fit(X_train[lab], y_train[lab]).score(X_test, y_test)
    semi = classifier_consistency.score(X_test, y_test)
    # Measured 0.898 against 0.791 (seed 0); the margin leaves room for platform noise.
    assert semi > alone + 0.05, (semi, alone)
    assert -1 not in classifier_consistency.predict(X_test)


def test_consistency_and_entropy_terms_are_logged(classifier_consistency):
    h = classifier_consistency.history_
    assert {"train_classification", "train_consistency", "train_entropy"} <= set(h)
    assert "train_recon" not in h  # its weight is 0
    np.testing.assert_allclose(
        h["train_loss"],
        h["train_classification"] + h["train_consistency"] + h["train_entropy"],
        rtol=1e-5,
    )
    assert (h["train_consistency"] > 0).all()
    # Confident, balanced predictions: the term falls below 0 (at most -log 10).
    assert h["train_entropy"].iloc[-1] < h["train_entropy"].iloc[0]
    assert (h["train_entropy"] >= -np.log(10) - 1e-6).all()


def test_entropy_penalty_rewards_confident_balanced_predictions():
    import torch

    from skae._regularization import entropy_penalty

    confident_balanced = 20.0 * torch.eye(4)
    one_class = 20.0 * torch.eye(4)[[0, 0, 0, 0]]
    uncertain = torch.zeros(4, 4)
    assert entropy_penalty(confident_balanced) < -1.3  # about -log 4
    assert abs(float(entropy_penalty(one_class))) < 1e-3  # no reward for collapse
    assert abs(float(entropy_penalty(uncertain))) < 1e-6  # log 4 - log 4


def test_consistency_term_with_reconstruction_and_validation(few_labels):
    X_train, _, _, _, y_partial, _ = few_labels
    clf = _encoder_classifier(
        _autoencoder(max_epochs=1),
        reconstruction_weight=0.5,
        consistency_weight=1.0,
        max_epochs=2,
        early_stopping=True,
    ).fit(X_train, y_partial)
    h = clf.history_
    assert {"valid_classification", "valid_recon", "valid_consistency"} <= set(h)
    assert np.isfinite(h[["valid_loss", "valid_consistency"]]).all().all()


def test_virtual_adversarial_penalty_finds_the_sensitive_direction():
    """On a linear model the power iteration finds the direction that changes the
    prediction most (the weights' difference), so the term beats a random direction."""
    import torch

    from skae._regularization import virtual_adversarial_penalty

    torch.manual_seed(0)
    model = torch.nn.Linear(20, 2)
    x = torch.randn(64, 20)
    logits = model(x)
    adversarial = virtual_adversarial_penalty(model, x, logits, radius=1.0)
    random_step = torch.randn_like(x)
    random_step = random_step / random_step.norm(dim=1, keepdim=True)
    target = torch.softmax(logits, dim=1)
    random_kl = torch.nn.functional.kl_div(
        torch.log_softmax(model(x + random_step), dim=1), target, reduction="batchmean"
    )
    assert adversarial > 3 * random_kl
    # The term's gradient reaches the model's parameters (not the target).
    adversarial.backward()
    assert model.weight.grad is not None and model.weight.grad.abs().sum() > 0


# ---------------------------------------------------------------- ITLAutoencoder
def _itl(**params):
    defaults = dict(
        latent_dim=10,
        prior="onehot",
        regularizer="csd",
        hidden_layer_sizes=(64,),
        batch_size=100,
        max_epochs=25,
        random_state=0,
    )
    return ITLAutoencoder(**{**defaults, **params})


def _argmax_accuracy(model, X, y):
    return np.mean(model.classes_[model.transform(X).argmax(axis=1)] == y)


@pytest.fixture(scope="module")
def itl_semi(few_labels):
    X_train, _, _, _, y_partial, _ = few_labels
    return _itl().fit(X_train, y_partial)


def test_itl_unlabelled_rows_improve_it(few_labels, itl_semi):
    X_train, X_test, y_train, y_test, _, lab = few_labels
    alone = _itl().fit(X_train[lab], y_train[lab])
    semi_acc = _argmax_accuracy(itl_semi, X_test, y_test)
    alone_acc = _argmax_accuracy(alone, X_test, y_test)
    # Measured 0.75 against 0.51 at 40 epochs (seed 0).
    assert semi_acc > alone_acc + 0.1, (semi_acc, alone_acc)
    assert semi_acc > 0.5


def test_itl_style_part_beats_pure_onehot(few_labels, itl_semi):
    """A one-hot class part plus Gaussian style coordinates (the adversarial
    autoencoder's layout) classifies better than a pure one-hot code with few labels:
    the style part carries appearance, so the class part need not cluster by it."""
    X_train, X_test, _, y_test, y_partial, _ = few_labels
    style = _itl(latent_dim=16, prior=OneHotPrior(16, n_classes=10)).fit(X_train, y_partial)
    z = style.transform(X_test)
    assert z.shape == (len(X_test), 16)
    style_acc = np.mean(style.classes_[z[:, :10].argmax(axis=1)] == y_test)
    onehot_acc = _argmax_accuracy(itl_semi, X_test, y_test)
    # Measured 0.79 against 0.73 (seed 0).
    assert style_acc > onehot_acc + 0.03, (style_acc, onehot_acc)


def test_itl_never_learns_minus_one(few_labels, itl_semi):
    assert itl_semi.classes_.tolist() == list(range(10))
    # the labelled rows of training are not pickled with the model
    assert itl_semi.net_.paired_rows is None and itl_semi.net_.labelled_rows is None
    with pytest.raises(ValueError, match="only unlabelled rows"):
        _itl(max_epochs=1).fit(few_labels[0], np.full(len(few_labels[0]), -1))


@pytest.mark.parametrize("regularizer", ["adversarial", "csd+adversarial"])
def test_itl_discriminator_has_an_unlabelled_slot(few_labels, regularizer):
    X_train, _, y_train, _, y_partial, _ = few_labels
    params = dict(regularizer=regularizer, discriminator_hidden_layer_sizes=(8,), max_epochs=1)
    semi = _itl(**params).fit(X_train, y_partial)
    full = _itl(**params).fit(X_train, y_train)
    # Makhzani et al.: one-hot of n_classes + 1, the last entry meaning "no label";
    # fully labelled data keeps the n_classes of before.
    assert semi.module_.discriminator[0].in_features == 10 + 11
    assert full.module_.discriminator[0].in_features == 10 + 10
    assert np.isfinite(semi.history_["train_generator"]).all()


# ---------------------------------------------------------------- pipelines
def test_pipeline_with_self_training(few_labels):
    X_train, X_test, _, y_test, y_partial, _ = few_labels
    # CalibratedClassifierCV(ensemble=False) is scikit-learn 1.9's replacement for
    # SVC(probability=True), which is deprecated there; temperature scaling keeps the
    # SVC's own predictions (the benchmark's and the example's setting).
    svc = CalibratedClassifierCV(SVC(C=10), method="temperature", ensemble=False)
    pipe = make_pipeline(_autoencoder(), SelfTrainingClassifier(svc, threshold=0.7))
    pipe.fit(X_train, y_partial)
    assert -1 not in pipe.classes_
    pred = pipe.predict(X_test)
    assert -1 not in pred
    assert np.mean(pred == y_test) > 0.6


def test_pipeline_with_label_spreading(few_labels):
    X_train, X_test, y_train, y_test, y_partial, lab = few_labels
    pipe = make_pipeline(_autoencoder(), LabelSpreading(kernel="knn", n_neighbors=10))
    pipe.fit(X_train, y_partial)
    pred = pipe.predict(X_test)
    assert -1 not in pred and -1 not in pipe.classes_
    # Spreading over the codes of the unlabelled rows beats the same codes with the
    # labelled rows alone.
    alone = make_pipeline(_autoencoder(), LabelSpreading(kernel="knn", n_neighbors=10))
    alone.fit(X_train[lab], y_train[lab])
    assert np.mean(pred == y_test) > np.mean(alone.predict(X_test) == y_test) + 0.1


def test_spread_then_knn_recipe(few_labels):
    """The few-labels page's recipe: spread the labels over the codes of every training
    image, then a kNN on all of them; FrozenEstimator keeps the fitted codes."""
    X_train, X_test, _, y_test, y_partial, _ = few_labels
    codes = make_pipeline(_autoencoder(), StandardScaler()).fit(X_train)
    spread = LabelSpreading(kernel="knn", n_neighbors=30, alpha=0.8, max_iter=100)
    spread.fit(codes.transform(X_train), y_partial)
    assert -1 not in spread.transduction_
    clf = make_pipeline(FrozenEstimator(codes), KNeighborsClassifier(10))
    clf.fit(X_train, spread.transduction_)
    np.testing.assert_array_equal(clf[0].transform(X_test), codes.transform(X_test))
    pred = clf.predict(X_test)
    assert -1 not in pred
    assert np.mean(pred == y_test) > 0.8


def test_autoencoder_ignores_labels_without_supervised_term(few_labels):
    """y with -1 (as a pipeline passes it on) leaves an unsupervised fit unchanged."""
    X_train, X_test, _, _, y_partial, _ = few_labels
    with_y = _autoencoder(max_epochs=2).fit(X_train, y_partial)
    without = _autoencoder(max_epochs=2).fit(X_train)
    np.testing.assert_array_equal(with_y.transform(X_test), without.transform(X_test))


@pytest.mark.parametrize("estimator", ["encoder_classifier", "itl"])
def test_early_stopping_keeps_validation_labels_out_of_training(estimator, monkeypatch):
    """The labelled rows a step draws from are the training split's, never the
    validation split's: early stopping must measure rows not trained on."""
    from skae import ITLAutoencoder
    from skae._loss_terms import _context

    X = np.random.default_rng(0).random((100, 6))
    y = np.full(100, -1)
    y[:30] = np.arange(30) % 3
    seen = []
    original = _context.LabelledRows.of.__func__

    def spy(cls, dataset):
        rows = original(cls, dataset)
        seen.append(None if rows is None else len(rows))
        return rows

    monkeypatch.setattr(_context.LabelledRows, "of", classmethod(spy))
    if estimator == "itl":
        model = ITLAutoencoder(
            prior="onehot",
            latent_dim=3,
            hidden_layer_sizes=(8,),
            batch_size=20,
            early_stopping=True,
            validation_fraction=0.5,
            max_epochs=1,
            random_state=0,
        )
    else:
        model = EncoderClassifier(
            encoder=None,
            encoder_hidden_layer_sizes=(8,),
            consistency_weight=1.0,
            early_stopping=True,
            validation_fraction=0.5,
            max_epochs=1,
            random_state=0,
        )
    model.fit(X, y)
    # About half of the 30 labelled rows are in the training split.
    assert seen and all(n is not None and 0 < n < 30 for n in seen), seen


def test_early_stopping_that_leaves_no_labelled_row_to_train_on_is_refused():
    X = np.random.default_rng(0).random((100, 6))
    y = np.full(100, -1)
    y[[0, 1]] = [0, 1]
    clf = EncoderClassifier(
        encoder=None,
        encoder_hidden_layer_sizes=(8,),
        consistency_weight=1.0,
        early_stopping=True,
        validation_fraction=0.99,
        max_epochs=1,
        random_state=0,
    )
    with pytest.raises(ValueError, match="none is left to train on"):
        clf.fit(X, y)
