"""skae.plotting: every helper draws and returns matplotlib objects (Agg backend)."""

import builtins
import importlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skae import AutoencoderTransformer, EncoderClassifier, VAETransformer, plotting  # noqa: E402


@pytest.fixture(scope="module")
def digits_small():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


@pytest.fixture(scope="module")
def ae(digits_small):
    X, _ = digits_small
    return AutoencoderTransformer(
        latent_dim=4, hidden_layer_sizes=(12,), max_epochs=2, early_stopping=True, random_state=0
    ).fit(X)


@pytest.fixture(scope="module")
def clf(digits_small, ae):
    X, y = digits_small
    return EncoderClassifier(encoder=ae, max_epochs=2, random_state=0).fit(X, y)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_reconstructions(ae, digits_small):
    X = digits_small[0]
    fig = plotting.plot_reconstructions(ae, X, n=4)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 8
    # Top row: the first 4 originals; bottom row: their reconstructions; one scale.
    shown = [ax.images[0] for ax in fig.axes]
    expected = [*X[:4], *ae.reconstruct(X[:4])]
    for image, row in zip(shown, expected, strict=True):
        np.testing.assert_allclose(image.get_array(), row.reshape(8, 8), rtol=1e-6)
        assert image.get_clim() == (0.0, 1.0)
    assert fig.axes[0].get_ylabel() == "original" and fig.axes[4].get_ylabel() == "reconstructed"
    with pytest.raises(ValueError, match="image_shape"):
        plotting.plot_reconstructions(ae, digits_small[0], n=2, image_shape=(5, 5))


def test_plot_filters_autoencoder_classifier_and_array(ae, clf):
    fig = plotting.plot_filters(ae, image_shape=(8, 8))
    assert len(fig.axes) == 12  # the first layer's 12 units
    weights = ae.encoder_[0].weight.detach().numpy()
    for ax, unit in zip(fig.axes, weights, strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), unit.reshape(8, 8))
    fig = plotting.plot_filters(clf, image_shape=None, n=5)
    assert len(fig.axes) == 5
    np.testing.assert_array_equal(
        fig.axes[0].images[0].get_array(),
        clf.encoder_[0].weight.detach().numpy()[0].reshape(8, 8),
    )
    assert len(plotting.plot_filters(np.ones((3, 4)), image_shape=(2, 2)).axes) == 3
    with pytest.raises(TypeError, match="encoder_"):
        plotting.plot_filters(object())


def test_plot_filters_conv_encoder_draws_kernels(digits_small):
    """A convolutional encoder's first layer is its Conv2d, not the dense bottleneck."""
    vae = VAETransformer(
        latent_dim=2,
        architecture="conv",
        conv_channels=(5, 4),
        hidden_layer_sizes=(),
        max_epochs=1,
        random_state=0,
    ).fit(digits_small[0][:64])
    kernels = vae.encoder_[1].weight.detach().numpy()  # after the Unflatten
    assert kernels.shape == (5, 1, 3, 3)
    fig = plotting.plot_filters(vae)  # image_shape is not used for kernels
    assert len(fig.axes) == 5
    for ax, kernel in zip(fig.axes, kernels):
        np.testing.assert_array_equal(ax.images[0].get_array(), kernel[0])
    # several input channels: a filter's kernels side by side
    weights = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    tile = plotting.plot_filters(torch.from_numpy(weights)).axes[1].images[0].get_array()
    np.testing.assert_array_equal(tile, np.hstack(list(weights[1])))


def test_plot_filters_unsupported_first_layer():
    encoder = torch.nn.Sequential(torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"Linear or Conv2d \(here: LayerNorm\); pass"):
        plotting.plot_filters(SimpleNamespace(encoder_=encoder))
    with pytest.raises(ValueError, match=r"\(n_filters, in_channels, kh, kw\); got .* \(2, 3, 4\)"):
        plotting.plot_filters(np.ones((2, 3, 4)))


def test_plot_confusion_matrix(clf, digits_small):
    X, y = digits_small
    _, ax = plt.subplots()
    out = plotting.plot_confusion_matrix(clf, X, y, normalize="true", ax=ax)
    assert out is ax
    assert len(ax.texts) == 100
    # The drawn matrix is the row-normalised confusion matrix of the predictions.
    from sklearn.metrics import confusion_matrix

    expected = confusion_matrix(y, clf.predict(X), normalize="true")
    np.testing.assert_allclose(ax.images[0].get_array(), expected)
    np.testing.assert_allclose([float(t.get_text()) for t in ax.texts], expected.ravel(), atol=0.01)


def test_plot_learning_curve(ae, clf):
    ax = plotting.plot_learning_curve(ae)
    assert [line.get_label() for line in ax.lines] == ["train_loss", "valid_loss"]
    for line in ax.lines:
        np.testing.assert_array_equal(line.get_xdata(), ae.history_.index)
        np.testing.assert_allclose(line.get_ydata(), ae.history_[line.get_label()])
    ax = plotting.plot_learning_curve(clf, keys="train_acc")
    assert len(ax.lines[0].get_xdata()) == clf.n_epochs_
    ax = plotting.plot_learning_curve(clf, keys=("train_error", "valid_error"), label="clf")
    # error = 1 - accuracy; no validation split here, so valid_error is skipped
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 1 - clf.history_["train_acc"])
    assert [line.get_label() for line in ax.lines] == ["clf"]
    with pytest.raises(ValueError, match="None of"):
        plotting.plot_learning_curve(clf, keys=("nope",))


def test_plot_latent(ae, digits_small):
    X, y = digits_small
    ax = plotting.plot_latent(ae, X, y)
    assert ax.get_xlabel() == "PC 1 of z"  # 4-D codes are projected
    assert [t.get_text() for t in ax.get_legend().texts] == [str(c) for c in range(10)]
    # The points are the codes' first two principal components, coloured by class.
    from sklearn.decomposition import PCA

    points = ax.collections[0]
    np.testing.assert_allclose(
        points.get_offsets(), PCA(n_components=2).fit_transform(ae.transform(X)), atol=1e-6
    )
    np.testing.assert_array_equal(points.get_array(), y)
    ax = plotting.plot_latent(ae, X)
    assert ax.get_legend() is None


def test_plot_latent_two_dimensional_codes_drawn_as_they_are(digits_small):
    X, y = digits_small
    ae2 = AutoencoderTransformer(
        latent_dim=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
    ).fit(X)
    _, ax = plt.subplots()
    assert plotting.plot_latent(ae2, X, y, ax=ax) is ax
    assert ax.get_xlabel() == "z[0]"
    np.testing.assert_allclose(ax.collections[0].get_offsets(), ae2.transform(X), rtol=1e-6)


def test_missing_matplotlib_message(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    module = importlib.reload(plotting)  # importing the module needs no matplotlib
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install skae\[plot\]"):
        module.plot_filters(np.ones((2, 4)), image_shape=(2, 2))
