"""Figures of a study folder, drawn from the files the runner saved."""

from __future__ import annotations

import json
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._folder import (
    CONFIG_JSON,
    FITS_DIR,
    PREDICTIONS_DIR,
    TEST_LABELS,
    _StudyFolder,
    load_predictions,
    row_id,
)
from ._summary import succeeded


def plot_study(output_dir, results=None) -> list[Path]:
    """Draw a study's figures as PNG files in its folder.

    ``accuracy_vs_latent.png`` (test accuracy against latent size, one line per
    representation and classifier, mean over seeds), ``reconstructions.png`` (test
    images and their reconstructions by every representation at the best row's latent
    size and seed), ``confusion_matrix.png`` (of the best row, the one with the highest
    accuracy) and ``learning_curves.png`` (training loss per epoch of the neural
    representations, first seed).

    Parameters
    ----------
    output_dir : str or path
        A folder written by :func:`skae.study.run_study`.
    results : pandas.DataFrame, default=None
        The rows to draw; ``None`` reads the folder's ``results.csv``.

    Returns
    -------
    paths : list of pathlib.Path
        The figures written (a figure without data, e.g. learning curves of a study of
        PCA alone, is not written).
    """
    folder = Path(output_dir)
    frame = _StudyFolder(folder).read_rows(repair=False) if results is None else results
    frame = succeeded(frame)  # failed rows have no scores to draw
    if frame.empty:
        return []
    config = json.loads((folder / CONFIG_JSON).read_text())
    shape = tuple(config["image_shape"])
    best = frame.loc[frame["accuracy"].idxmax()]
    written = []
    for name, draw in (
        ("accuracy_vs_latent.png", lambda: _accuracy(frame, config)),
        ("reconstructions.png", lambda: _reconstructions(folder, frame, best, shape)),
        ("confusion_matrix.png", lambda: _confusion(folder, best)),
        ("learning_curves.png", lambda: _learning_curves(folder, frame)),
    ):
        fig = draw()
        if fig is None:
            continue
        fig.tight_layout()
        fig.savefig(folder / name, dpi=90)
        written.append(folder / name)
    return written


def _figure(figsize):
    # A bare Figure, not pyplot: nothing is shown and the user's backend is untouched.
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _accuracy(frame, config):
    fig = _figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    mean = frame.groupby(["representation", "classifier", "latent_dim"], sort=False)[
        "accuracy"
    ].mean()
    for (representation, classifier), series in mean.groupby(level=[0, 1], sort=False):
        series = series.droplevel([0, 1]).sort_index()
        ax.plot(
            series.index, series.to_numpy(), marker="o", label=f"{representation} + {classifier}"
        )
    ax.set_xscale("log", base=2)
    sizes = sorted(frame["latent_dim"].unique())
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("latent size")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{config['dataset']}: accuracy vs latent size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


#: what numpy raises for a damaged .npy or .npz file
_DAMAGED = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _damaged(path, exc) -> None:
    """Warn that a saved file is left out of the figures (the rows do not need it)."""
    reason = " ".join(str(exc).split()) or type(exc).__name__
    warnings.warn(
        f"'{path}' cannot be read ({reason}); it is left out of the figures",
        UserWarning,
        stacklevel=3,
    )


def _load_fit(folder, representation, latent_dim, seed):
    path = folder / FITS_DIR / f"{representation}_m{int(latent_dim)}_s{int(seed)}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path) as archive:
            return {key: archive[key] for key in archive.files}
    except _DAMAGED as exc:
        _damaged(path, exc)
        return None


def _reconstructions(folder, frame, best, shape):
    representations = list(dict.fromkeys(frame["representation"]))
    fits = {
        name: _load_fit(folder, name, best["latent_dim"], best["seed"]) for name in representations
    }
    fits = {k: v for k, v in fits.items() if v is not None and v["reconstructions"].size}
    if not fits:
        return None
    originals = next(iter(fits.values()))["originals"]
    n = len(originals)
    rows = [("original", originals)] + [(k, v["reconstructions"]) for k, v in fits.items()]
    fig = _figure(figsize=(0.9 * n + 1.2, 0.95 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            ax.imshow(np.clip(images[i].reshape(shape), 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
    fig.suptitle(f"test reconstructions, latent size {int(best['latent_dim'])}")
    return fig


def _confusion(folder, best):
    from sklearn.metrics import ConfusionMatrixDisplay

    path = folder / PREDICTIONS_DIR / f"{row_id(best)}.npy"
    if not path.exists() or not (folder / TEST_LABELS).exists():
        return None
    try:
        y_true, y_pred = load_predictions(folder, best)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{len(y_pred)} predictions for {len(y_true)} test labels")
    except _DAMAGED as exc:
        _damaged(path, exc)
        return None
    fig = _figure(figsize=(5.6, 5.0))
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=ax, colorbar=False)
    ax.set_title(
        f"{best['representation']} (m={int(best['latent_dim'])}) + {best['classifier']}: "
        f"accuracy {best['accuracy']:.3f}",
        fontsize="medium",
    )
    return fig


def _learning_curves(folder, frame):
    seed = frame["seed"].iloc[0]
    panels = []
    for name in dict.fromkeys(frame["representation"]):
        curves = []
        for latent_dim in sorted(frame.loc[frame["representation"] == name, "latent_dim"].unique()):
            fit = _load_fit(folder, name, latent_dim, seed)
            if fit is not None and "history__train_loss" in fit:
                curves.append((latent_dim, fit["history__epoch"], fit["history__train_loss"]))
        if curves:
            panels.append((name, curves))
    if not panels:
        return None
    fig = _figure(figsize=(3.4 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (name, curves) in zip(axes[0], panels):
        for latent_dim, epochs, loss in curves:
            ax.plot(epochs, loss, label=f"m={latent_dim}")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend(fontsize="small")
        ax.set_ylabel("training loss")
    return fig
