"""Evaluation helpers for fitted autoencoders."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_consistent_length, column_or_1d


def per_class_reconstruction_error(estimator, X, y) -> pd.DataFrame:
    """Mean and standard deviation of the reconstruction error within each class.

    The error of one sample is ``estimator.reconstruction_error``: for skae
    autoencoders, the mean squared error over the features (the per-pixel MSE for
    images), ``mean((x - x_hat) ** 2)``: the "mean reconstruction error" that
    transfer experiments report, e.g. for an autoencoder trained on some classes and
    evaluated on all of them.

    Parameters
    ----------
    estimator : fitted estimator with ``reconstruction_error(X)``
        A skae autoencoder (``AutoencoderTransformer``, ``ITLAutoencoder``...).
    X : array-like of shape (n_samples, n_features)
        Samples to reconstruct.
    y : array-like of shape (n_samples,)
        Class of each sample (only used to group the errors).

    Returns
    -------
    table : pandas.DataFrame
        One row per class, in sorted order, indexed by class (index name
        ``'class'``), with columns ``mean``, ``std`` (population standard deviation,
        ``ddof=0``, of the per-sample errors) and ``n`` (samples in the class).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer, per_class_reconstruction_error
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(latent_dim=8, max_epochs=3, random_state=0).fit(X / 16)
    >>> table = per_class_reconstruction_error(ae, X / 16, y)
    >>> list(table.columns), len(table)
    (['mean', 'std', 'n'], 10)
    """
    if not hasattr(estimator, "reconstruction_error"):
        raise TypeError(
            f"{type(estimator).__name__} has no reconstruction_error method; pass a "
            "fitted skae autoencoder."
        )
    y = column_or_1d(y, warn=True)
    errors = np.asarray(estimator.reconstruction_error(X), dtype=np.float64)
    check_consistent_length(errors, y)
    frame = pd.DataFrame({"class": y, "error": errors})
    table = frame.groupby("class", sort=True)["error"].agg(
        mean="mean", std=lambda e: float(np.std(e)), n="size"
    )
    return table
