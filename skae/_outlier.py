"""Outlier detection with any skae autoencoder, with scikit-learn's outlier API."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import AutoencoderTransformer
from ._base import keeps_state_on_failure
from ._persistence import VersionStampMixin
from ._validation import NonBoolInterval, check_estimator_instance

#: the scores a detector can use; ``'auto'`` is resolved in ``anomaly_score_``
SCORES = ("auto", "reconstruction", "mahalanobis", "combined", "elbo")

#: the measured components each resolved score sums (see ``_component``)
_COMPONENTS = {
    "reconstruction": ("reconstruction",),
    "mahalanobis": ("mahalanobis",),
    "combined": ("reconstruction", "mahalanobis"),
    "elbo": ("elbo",),
}

#: the default template's settings (``estimator=None``), chosen on validation splits of
#: the training images by ``benchmarks/search_outliers.py``
DEFAULT_ESTIMATOR_PARAMS = {"latent_dim": 32, "max_epochs": 20}

#: pixels of a reconstruction are kept this far inside (0, 1) for the cross-entropy,
#: so that a saturated sigmoid output gives a large, finite error rather than infinity
BCE_EPS = 1e-6

#: the multiple of the interquartile range beyond the quartile that
#: ``contamination='auto'`` flags: Tukey's fences, the boxplot rule
TUKEY_FENCE = 1.5


def _quartiles(values: np.ndarray) -> tuple[float, float, float]:
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return float(q1), float(median), float(q3)


class AutoencoderOutlierDetector(VersionStampMixin, OutlierMixin, BaseEstimator):
    """Outlier detector scoring samples with a skae autoencoder.

    An autoencoder trained on (mostly) normal data reconstructs normal samples well
    and codes them near each other; anything unlike the training data gets a large
    reconstruction error, a code far from the training codes, or both. This detector
    trains a clone of ``estimator`` on ``X`` and turns those signals into
    scikit-learn's outlier API, as :class:`~sklearn.ensemble.IsolationForest` has it:
    :meth:`score_samples` (higher is more normal), :meth:`decision_function`
    (``score_samples - offset_``, negative for outliers), :meth:`predict` (``+1``
    inliers, ``-1`` outliers) and :meth:`fit_predict`.

    Use it as a novelty detector (fit on clean data, score new data) or as an outlier
    detector (fit on data with a minority of outliers, flag them with
    :meth:`fit_predict`). The autoencoder is configured through the template
    ``estimator`` (``estimator__<name>`` in a parameter grid), as in
    :class:`KAutoencoderTransformer`: the detector keeps only what is its own.

    Parameters
    ----------
    estimator : skae autoencoder, default=None
        Unfitted template, cloned at fit: :class:`AutoencoderTransformer`,
        :class:`VAETransformer`, :class:`ITLAutoencoder`,
        :class:`KAutoencoderTransformer`, or anything with ``fit``, ``transform`` and
        ``reconstruct``. ``None`` means
        ``AutoencoderTransformer(latent_dim=32, max_epochs=20)``, the setting chosen
        on validation splits of training images (see the user guide,
        :doc:`/user_guide/outlier_detection`).
    anomaly_score : {'auto', 'reconstruction', 'mahalanobis', 'combined', 'elbo'}, \
            default='auto'
        What measures how abnormal a sample is:

        - ``'reconstruction'``: the per-sample reconstruction error, with the
          autoencoder's training loss (binary cross-entropy for a model trained with
          ``loss='bce'``, squared error otherwise), averaged over features;
        - ``'mahalanobis'``: the squared Mahalanobis distance of the code
          (``transform``) to the training codes, i.e. minus the log-density of a
          Gaussian fitted to them, up to constants;
        - ``'combined'``: both, each standardised as below, summed;
        - ``'elbo'``: minus the evidence lower bound of a :class:`VAETransformer`
          (its :meth:`~VAETransformer.elbo`);
        - ``'auto'``: ``'combined'``.

        The score used is in ``anomaly_score_``.
    contamination : 'auto' or float, default='auto'
        The expected fraction of outliers in the training data, which sets
        ``offset_``. A float in (0, 0.5]: ``offset_`` is that quantile of the
        training rows' :meth:`score_samples`, so that this fraction of them is
        flagged. ``'auto'``: Tukey's lower fence of the training scores, ``Q1 - 1.5
        IQR`` (first quartile minus 1.5 interquartile ranges, the boxplot rule): it
        flags training rows that are far out of the bulk of the training scores, and
        being built on quartiles it is not moved by a minority of outliers.
    random_state : int, RandomState instance or None, default=None
        Passed to the autoencoder as its ``random_state`` (weights, shuffling,
        noise, the VAE's draws); an int makes the detector reproducible on the CPU.
        ``None`` leaves the template's own ``random_state``.

    Attributes
    ----------
    estimator_ : fitted estimator
        The trained autoencoder.
    anomaly_score_ : str
        The score used (``anomaly_score`` with ``'auto'`` resolved).
    components_ : tuple of str
        What the score sums: ``'reconstruction'``, ``'mahalanobis'`` or ``'elbo'``.
    reconstruction_loss_ : str
        ``'bce'`` or ``'mse'``: how the reconstruction error is measured.
    code_mean_ : ndarray of shape (n_codes,)
        Mean of the training codes (for ``'mahalanobis'``; ``None`` otherwise).
    code_precision_ : ndarray of shape (n_codes, n_codes)
        Inverse covariance of the training codes (``None`` without ``'mahalanobis'``).
    center_ : ndarray of shape (n_components,)
        Median of each component over the training rows.
    scale_ : ndarray of shape (n_components,)
        Interquartile range of each component over the training rows.
    offset_ : float
        :meth:`decision_function` is ``score_samples(X) - offset_``; see
        ``contamination``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : A shallow detector with the same API.
    sklearn.neighbors.LocalOutlierFactor : Density-based detector (``novelty=True``).
    skae.KAutoencoderTransformer : The same template-estimator design.

    Notes
    -----
    Each component :math:`a_j` (the logarithm of the reconstruction error, which has a
    long right tail; the squared Mahalanobis distance; minus the ELBO) is
    standardised by its median :math:`m_j` and interquartile range :math:`s_j` over
    the training rows, robust statistics that a minority of outliers barely moves,
    so that components in different units can be added:

    .. math::

        \\mathrm{score\\_samples}(x) = -\\sum_j \\frac{a_j(x) - m_j}{s_j}.

    A typical training row thus scores about 0. The Mahalanobis distance uses the
    mean and covariance of the training codes, with a small ridge on the diagonal so
    that a code with a constant unit still has a finite distance.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderOutlierDetector, AutoencoderTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> template = AutoencoderTransformer(latent_dim=4, hidden_layer_sizes=(32,),
    ...                                   max_epochs=30)
    >>> detector = AutoencoderOutlierDetector(template, random_state=0).fit(X[y == 0])
    >>> detector.anomaly_score_
    'combined'
    >>> labels = detector.predict(X)  # +1 inlier, -1 outlier
    >>> sorted(set(labels.tolist()))
    [-1, 1]
    >>> bool((labels[y == 0] == 1).mean() > (labels[y != 0] == 1).mean())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "transform", "reconstruct", "get_params"]), None],
        "anomaly_score": [StrOptions(set(SCORES))],
        "contamination": [StrOptions({"auto"}), NonBoolInterval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator=None, *, anomaly_score="auto", contamination="auto", random_state=None
    ):
        self.estimator = estimator
        self.anomaly_score = anomaly_score
        self.contamination = contamination
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @keeps_state_on_failure
    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` and calibrate the scores on it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, clean or with a minority of outliers; never modified.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted detector.

        Notes
        -----
        Like the autoencoders' ``fit``, a failed call (a refused ``X``,
        ``TrainingDivergedError``, Ctrl-C) leaves the detector as it was before it.
        """
        estimator, score = self._check_params()
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        self.estimator_ = estimator.fit(X)
        self.anomaly_score_ = score
        self.components_ = _COMPONENTS[score]
        self.reconstruction_loss_ = self._reconstruction_loss()
        self.code_mean_ = self.code_precision_ = None
        if "mahalanobis" in self.components_:
            codes = self.estimator_.transform(X).astype(np.float64)
            self.code_mean_ = codes.mean(axis=0)
            self.code_precision_ = self._precision(codes)
        raw = self._raw_components(X)
        stats = [_quartiles(column) for column in raw.T]
        self.center_ = np.array([median for _, median, _ in stats])
        # A constant component (a model that reconstructs everything exactly) would
        # divide by zero: it then keeps its own units.
        self.scale_ = np.array([q3 - q1 if q3 > q1 else 1.0 for q1, _, q3 in stats])
        scores = self._standardised(raw)
        if self.contamination == "auto":
            q1, _, q3 = _quartiles(scores)
            self.offset_ = q1 - TUKEY_FENCE * (q3 - q1)
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def _check_params(self):
        """Check the parameters; return the unfitted autoencoder and the score to use."""
        self._validate_params()
        check_estimator_instance(self.estimator, "estimator")
        template = (
            AutoencoderTransformer(**DEFAULT_ESTIMATOR_PARAMS)
            if self.estimator is None
            else self.estimator
        )
        estimator = clone(template)
        if self.random_state is not None and "random_state" in estimator.get_params(deep=False):
            estimator.set_params(random_state=self.random_state)
        score = "combined" if self.anomaly_score == "auto" else self.anomaly_score
        if score == "elbo" and not hasattr(estimator, "elbo"):
            raise ValueError(
                f"anomaly_score='elbo' needs a model with an evidence lower bound (a "
                f"VAETransformer); {type(estimator).__name__} has none: use "
                "anomaly_score='reconstruction', 'mahalanobis' or 'combined'."
            )
        # The autoencoder checks its own parameters when it fits; check them here so
        # that a bad template fails before anything else is done.
        if hasattr(estimator, "_validate_hyperparameters"):
            estimator._validate_hyperparameters()
        return estimator, score

    def _reconstruction_loss(self) -> str:
        """``'bce'`` if the autoencoder (or every member of an ensemble) trained with it."""
        models = getattr(self.estimator_, "estimators_", [self.estimator_])
        losses = {getattr(model, "loss_", None) for model in models}
        return "bce" if losses == {"bce"} else "mse"

    @staticmethod
    def _precision(codes: np.ndarray) -> np.ndarray:
        covariance = np.atleast_2d(np.cov(codes, rowvar=False, bias=True))
        # A ridge relative to the codes' scale keeps a degenerate direction (a unit
        # that never varies on the training rows) finite and invertible.
        ridge = 1e-6 * max(float(np.mean(np.diag(covariance))), np.finfo(np.float64).tiny)
        covariance[np.diag_indices_from(covariance)] += ridge
        return np.linalg.pinv(covariance, hermitian=True)

    # ------------------------------------------------------------------ scores
    def _raw_components(self, X: np.ndarray) -> np.ndarray:
        """The components of ``components_`` for validated ``X``, one column each."""
        return np.column_stack([self._component(name, X) for name in self.components_])

    def _component(self, name: str, X: np.ndarray) -> np.ndarray:
        if name == "reconstruction":
            X_hat = self.estimator_.reconstruct(X).astype(np.float64)
            X = X.astype(np.float64)
            if self.reconstruction_loss_ == "bce":
                X_hat = np.clip(X_hat, BCE_EPS, 1 - BCE_EPS)
                errors = -np.mean(X * np.log(X_hat) + (1 - X) * np.log1p(-X_hat), axis=1)
            else:
                errors = np.mean((X - X_hat) ** 2, axis=1)
            # The log: errors span orders of magnitude, with a long right tail that
            # would dominate the sum with the code's distance.
            return np.log(np.maximum(errors, np.finfo(np.float64).tiny))
        if name == "mahalanobis":
            centred = self.estimator_.transform(X).astype(np.float64) - self.code_mean_
            return np.einsum("ij,jk,ik->i", centred, self.code_precision_, centred)
        return -np.asarray(self.estimator_.elbo(X), dtype=np.float64)  # 'elbo'

    def _standardised(self, raw: np.ndarray) -> np.ndarray:
        return -np.sum((raw - self.center_) / self.scale_, axis=1)

    def score_samples(self, X):
        """How normal each sample is: higher is more normal, about 0 for typical rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the sum of the standardised components (see Notes of the class).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return self._standardised(self._raw_components(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """``+1`` for inliers, ``-1`` for outliers (``decision_function(X) < 0``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``+1`` or ``-1``, as int.
        """
        decision = self.decision_function(X)
        labels = np.ones(len(decision), dtype=int)
        labels[decision < 0] = -1
        return labels

    def __sklearn_is_fitted__(self):
        return hasattr(self, "offset_")
