"""Figures for fitted skae models: reconstructions, filters, confusion, curves, codes.

matplotlib is an optional dependency (``pip install skae[plot]``); it is imported
only when a function is called, so ``import skae.plotting`` always works. Functions
that draw one panel take ``ax=`` and return the Axes; grids return the Figure.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_filters",
    "plot_latent",
    "plot_learning_curve",
    "plot_reconstructions",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib only
        raise ImportError(
            "skae.plotting needs matplotlib; install it with `pip install skae[plot]` "
            "(or `pip install matplotlib`)."
        ) from exc
    return plt


def _image_shape(n_features: int, image_shape) -> tuple[int, int]:
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"Cannot infer a square image from {n_features} features; pass image_shape."
            )
        return side, side
    image_shape = tuple(int(s) for s in image_shape)
    if math.prod(image_shape) != n_features:
        raise ValueError(f"image_shape {image_shape} does not hold {n_features} features.")
    return image_shape


def _new_ax(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    return ax


def plot_reconstructions(estimator, X, n=10, image_shape=None, cmap="gray"):
    """Originals (top row) above their reconstructions (bottom row).

    Parameters
    ----------
    estimator : fitted skae autoencoder
        Anything with ``reconstruct(X)``.
    X : array-like of shape (n_samples, n_features)
        The first ``n`` rows are shown.
    n : int, default=10
        Number of images.
    image_shape : tuple of int, default=None
        Shape of one image; ``None`` infers a square.
    cmap : str, default='gray'
        Colour map.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_reconstructions
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(latent_dim=8, max_epochs=2, random_state=0).fit(X)
    >>> fig = plot_reconstructions(ae, X, n=5)
    >>> len(fig.axes)
    10
    """
    plt = _pyplot()
    X = np.asarray(X)[:n]
    X_hat = np.asarray(estimator.reconstruct(X))
    shape = _image_shape(X.shape[1], image_shape)
    n = len(X)
    # one grey scale for all images, so reconstructions compare with originals
    vmin, vmax = min(0.0, float(X.min())), max(1.0, float(X.max()))
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.6), squeeze=False)
    for i in range(n):
        for row, images in enumerate((X, X_hat)):
            ax = axes[row, i]
            ax.imshow(images[i].reshape(shape), cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("original")
    axes[1, 0].set_ylabel("reconstructed")
    return fig


def _first_layer_weights(estimator_or_weights) -> np.ndarray:
    """Weights of the first layer that sees the input.

    Shape (n_units, n_features) for a ``Linear`` layer, (n_filters, in_channels, kh,
    kw) for a ``Conv2d`` layer.
    """
    import torch

    obj = estimator_or_weights
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.ndim not in (2, 4):
            raise ValueError(
                "plot_filters needs weights of shape (n_units, n_features) or "
                f"(n_filters, in_channels, kh, kw); got an array of shape {obj.shape}."
            )
        return obj
    encoder = getattr(obj, "encoder_", None)
    if encoder is None:
        raise TypeError(
            "plot_filters needs a fitted skae autoencoder or EncoderClassifier (with "
            f"'encoder_') or a weight array; got {type(obj).__name__}."
        )
    # the first layer with weights of its own is the one that sees the input (a later
    # Linear, e.g. the dense bottleneck after convolutions, does not)
    weighted = (m for m in encoder.modules() if next(m.parameters(recurse=False), None) is not None)
    first = next(weighted, None)
    if isinstance(first, torch.nn.Linear | torch.nn.Conv2d):
        return first.weight.detach().cpu().numpy()
    found = "none" if first is None else type(first).__name__
    raise ValueError(
        "plot_filters draws an encoder whose first layer with weights is Linear or Conv2d "
        f"(here: {found}); pass the weights to draw as an array of shape "
        "(n_units, n_features) or (n_filters, in_channels, kh, kw)."
    )


def plot_filters(estimator_or_weights, image_shape=(28, 28), n=100, cmap="gray", fig=None):
    """First-layer weights (one unit's incoming weights, or one kernel, per tile) as images.

    Parameters
    ----------
    estimator_or_weights : estimator, ndarray or torch.Tensor
        A fitted skae autoencoder or :class:`skae.EncoderClassifier`: the first layer
        of its encoder is drawn, a ``Linear`` layer (dense models) or a ``Conv2d``
        layer (convolutional models such as ``VAETransformer(architecture='conv')``).
        Or the weights themselves: a matrix of shape (n_units, n_features), or
        convolution kernels of shape (n_filters, in_channels, kh, kw).
    image_shape : tuple of int, default=(28, 28)
        Shape of one input image, to reshape the rows of a dense layer's weights;
        ``None`` infers a square. Not used for convolution kernels, which are drawn
        at their own size (kh x kw; the ``in_channels`` kernels of a filter side by
        side).
    n : int, default=100
        Number of units (dense) or filters (convolution) drawn, the first ``n``.
    cmap : str, default='gray'
        Colour map; each tile is scaled to its own range.
    fig : matplotlib.figure.Figure, default=None
        Figure to draw into; a new one if ``None``.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the encoder's first layer with weights is neither ``Linear`` nor
        ``Conv2d`` (pass its weights as an array instead), or the weights do not fit
        ``image_shape``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skae.plotting import plot_filters
    >>> fig = plot_filters(np.random.rand(6, 64), image_shape=(8, 8))
    >>> len(fig.axes)
    6
    >>> fig = plot_filters(np.random.rand(4, 1, 3, 3))  # 4 convolution kernels, 3x3
    >>> fig.axes[0].images[0].get_array().shape
    (3, 3)
    """
    plt = _pyplot()
    weights = _first_layer_weights(estimator_or_weights)[:n]
    if weights.ndim == 4:  # (filters, in_channels, kh, kw): channels side by side
        tiles = [np.hstack(list(kernels)) for kernels in weights]
    else:
        shape = _image_shape(weights.shape[1], image_shape)
        tiles = [w.reshape(shape) for w in weights]
    n = len(tiles)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    if fig is None:
        fig = plt.figure(figsize=(0.9 * cols, 0.9 * rows))
    for i, tile in enumerate(tiles):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(tile, cmap=cmap)
        ax.set_axis_off()
    return fig


def plot_confusion_matrix(estimator, X, y, *, normalize=None, ax=None, **kwargs):
    """Confusion matrix of a fitted classifier on ``(X, y)``.

    A thin wrapper of :meth:`sklearn.metrics.ConfusionMatrixDisplay.from_estimator`.

    Parameters
    ----------
    estimator : fitted classifier
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True labels.
    normalize : {'true', 'pred', 'all'} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure if ``None``.
    **kwargs
        Passed to ``ConfusionMatrixDisplay.from_estimator`` (e.g. ``cmap``,
        ``values_format``).

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skae.plotting import plot_confusion_matrix
    >>> X, y = load_iris(return_X_y=True)
    >>> ax = plot_confusion_matrix(LogisticRegression(max_iter=500).fit(X, y), X, y)
    >>> ax.get_xlabel()
    'Predicted label'
    """
    _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    ax = _new_ax(ax)
    display = ConfusionMatrixDisplay.from_estimator(
        estimator, X, y, normalize=normalize, ax=ax, colorbar=False, **kwargs
    )
    return display.ax_


def _history_column(history, key):
    """Column ``key`` of a history, or ``1 - <prefix>_acc`` for ``<prefix>_error``."""
    if key in history.columns:
        return history[key].to_numpy(dtype=float)
    if key.endswith("_error") and f"{key[: -len('_error')]}_acc" in history.columns:
        return 1.0 - history[f"{key[: -len('_error')]}_acc"].to_numpy(dtype=float)
    return None


def plot_learning_curve(estimator, keys=("train_loss", "valid_loss"), ax=None, **kwargs):
    """Columns of ``history_`` (loss, accuracy, error...) against the epoch.

    Parameters
    ----------
    estimator : fitted skae estimator or pandas.DataFrame
        Its ``history_`` (one row per epoch), or such a frame.
    keys : str or sequence of str, default=('train_loss', 'valid_loss')
        Columns to draw; missing ones are skipped (``valid_loss`` exists only with a
        validation split). ``'<prefix>_error'`` draws ``1 - <prefix>_acc`` when the
        history records accuracy but not the error, so that
        ``keys=('train_error', 'valid_error')`` gives the error per epoch of a
        :class:`skae.EncoderClassifier`.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure if ``None``.
    **kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skae.plotting import plot_learning_curve
    >>> history = pd.DataFrame({"train_acc": [0.5, 0.7, 0.8]}, index=[1, 2, 3])
    >>> ax = plot_learning_curve(history, keys="train_error")
    >>> ax.lines[0].get_ydata().round(2).tolist()
    [0.5, 0.3, 0.2]
    """
    import pandas as pd

    history = estimator if isinstance(estimator, pd.DataFrame) else estimator.history_
    keys = [keys] if isinstance(keys, str) else list(keys)
    columns = {key: _history_column(history, key) for key in keys}
    present = [key for key, column in columns.items() if column is not None]
    if not present:
        raise ValueError(f"None of {keys} is in history_; its columns are {list(history.columns)}.")
    ax = _new_ax(ax)
    for key in present:
        ax.plot(history.index, columns[key], **{"label": key, **kwargs})
    ax.set_xlabel("epoch")
    ax.set_ylabel(present[0] if len(present) == 1 else "value")
    ax.legend()
    return ax


def plot_latent(estimator, X, y=None, ax=None, cmap="tab10", s=5, **kwargs):
    """Scatter of the codes ``estimator.transform(X)``, coloured by class.

    Codes with more than two dimensions are projected on their first two principal
    components (:class:`sklearn.decomposition.PCA`).

    Parameters
    ----------
    estimator : fitted transformer
        A skae autoencoder (anything with ``transform``).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), default=None
        Classes for the colours and the legend.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure if ``None``.
    cmap : str, default='tab10'
        Colour map for the classes.
    s : float, default=5
        Marker size.
    **kwargs
        Passed to ``ax.scatter``.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_latent
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(latent_dim=2, max_epochs=2, random_state=0).fit(X / 16)
    >>> ax = plot_latent(ae, X / 16, y)
    >>> ax.get_xlabel()
    'z[0]'
    """
    Z = np.asarray(estimator.transform(X))
    labels = ("z[0]", "z[1]")
    if Z.shape[1] > 2:
        from sklearn.decomposition import PCA

        Z = PCA(n_components=2).fit_transform(Z)
        labels = ("PC 1 of z", "PC 2 of z")
    elif Z.shape[1] == 1:
        Z = np.column_stack([Z[:, 0], np.zeros(len(Z))])
    ax = _new_ax(ax)
    if y is None:
        ax.scatter(Z[:, 0], Z[:, 1], s=s, **kwargs)
    else:
        y = np.asarray(y)
        classes, codes = np.unique(y, return_inverse=True)
        scatter = ax.scatter(Z[:, 0], Z[:, 1], c=codes, cmap=cmap, s=s, **kwargs)
        handles = scatter.legend_elements(num=list(range(len(classes))))[0]
        ax.legend(handles, [str(c) for c in classes], title="class", fontsize="small")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    return ax
