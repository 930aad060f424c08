"""Outlier detection with any skae autoencoder, with scikit-learn's outlier API."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.neighbors import LocalOutlierFactor
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._autoencoder import AutoencoderTransformer
from ._base import keeps_state_on_failure
from ._persistence import VersionStampMixin
from ._validation import NonBoolInterval, check_estimator_instance

#: the scores a detector can use; ``'auto'`` is resolved in ``anomaly_score_``
SCORES = (
    "auto",
    "combined",
    "reconstruction",
    "relative_reconstruction",
    "local_outlier_factor",
    "mahalanobis",
    "elbo",
)

#: neighbours of a code for its local outlier factor (at most the training rows but
#: one): more than ``LocalOutlierFactor``'s 20, so that a few dozen similar outliers
#: among the training rows (another digit) do not make a dense region of their own
#: that hides the new samples like them; clean training data lose little by it
LOF_NEIGHBORS = 50

#: weight of the code's local outlier factor in ``'combined'`` (the reconstruction
#: error has weight 1): alone, the factor ranks anomalies worse than the error, and at
#: higher weights its false alarms on a class whose images vary little (the digit 1)
#: cost more than it adds, on validation splits
LOF_WEIGHT = 0.25

#: the default template's settings (``estimator=None``), chosen on validation splits of
#: the training images by ``benchmarks/search_outliers.py``
DEFAULT_ESTIMATOR_PARAMS = {"latent_dim": 32, "max_epochs": 20, "noise": None}

#: the floor of a norm or an error before a division or a log
_TINY = float(np.finfo(np.float32).tiny)

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
        ``AutoencoderTransformer(latent_dim=32, max_epochs=20, noise=None)``: the
        autoencoder's default network, trained for a fixed number of epochs (its
        ``max_epochs='auto'`` trains a one-class data set much longer) and without
        input noise, which detected slightly better on validation splits of
        training images (see the user guide, :doc:`/user_guide/outlier_detection`).
    anomaly_score : {'auto', 'combined', 'reconstruction', \
            'relative_reconstruction', 'local_outlier_factor', 'mahalanobis', 'elbo'}, \
            default='auto'
        What measures how abnormal a sample is. Each measure (a component) is
        standardised on the training rows, and ``score_samples`` is minus their sum
        (see Notes):

        - ``'combined'``: the reconstruction error (``'relative_reconstruction'``
          when the training data are non-negative, ``'reconstruction'`` otherwise)
          plus a quarter of the code's ``'local_outlier_factor'``: the first sees what the
          autoencoder cannot rebuild, the second a code in a sparse region of the
          training codes, two ways of being unlike the training data; the weaker
          signal of the two alone, the factor weighs a quarter;
        - ``'reconstruction'``: the per-sample squared reconstruction error averaged
          over features (the autoencoder's ``reconstruction_error``), whatever loss
          the autoencoder trained with: on images in [0, 1] it ranked anomalies
          better than the cross-entropy the autoencoder trains with, which weighs
          the uncertain pixels of a stroke's edge most;
        - ``'relative_reconstruction'``: the squared reconstruction error divided by
          the sample's own squared norm, the share of the sample that the
          autoencoder fails to rebuild. Where zero means "nothing" (pixel
          intensities, counts, spectra), a faint or simple anomaly, such as a thin
          digit 1 for a model of 8s, has a small absolute error only because it has
          little ink: relative to its ink, its error is large. Meaningless for
          centred data, whose norm is the distance to the mean;
        - ``'local_outlier_factor'``: the local outlier factor of the code
          (``transform``) among the training codes
          (:class:`~sklearn.neighbors.LocalOutlierFactor`, 50 neighbours): the
          density around the code's neighbours over the density around the code;
        - ``'mahalanobis'``: the squared Mahalanobis distance of the code to the
          training codes, i.e. minus the log-density of one Gaussian fitted to them,
          up to constants;
        - ``'elbo'``: minus the evidence lower bound of a :class:`VAETransformer`
          (its :meth:`~VAETransformer.elbo`);
        - ``'auto'``: ``'combined'``, which ranked anomalies best of these in the
          measurements of the user guide (:doc:`/user_guide/outlier_detection`).

        The score used is in ``anomaly_score_``, its components in
        ``components_``.
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
        What the score sums, e.g. ``('relative_reconstruction',
        'local_outlier_factor')``.
    code_lof_ : sklearn.neighbors.LocalOutlierFactor
        Fitted on the training codes (``None`` without ``'local_outlier_factor'``).
    code_mean_ : ndarray of shape (n_codes,)
        Mean of the training codes (for ``'mahalanobis'``; ``None`` otherwise).
    code_precision_ : ndarray of shape (n_codes, n_codes)
        Inverse covariance of the training codes (``None`` without ``'mahalanobis'``).
    weights_ : ndarray of shape (n_components,)
        Weight of each component in the sum: 1, and 0.25 for the local outlier
        factor in ``'combined'``.
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
    Each component :math:`a_j` (the logarithm of the reconstruction error and of the
    local outlier factor, whose right tails are long; the squared Mahalanobis
    distance; minus the ELBO) is standardised by its median :math:`m_j` and
    interquartile range :math:`s_j` over the training rows, robust statistics that a
    minority of outliers barely moves, so that components in different units can be
    added, with weights :math:`w_j` (``weights_``):

    .. math::

        \\mathrm{score\\_samples}(x) = -\\sum_j w_j \\frac{a_j(x) - m_j}{s_j}.

    A typical training row thus scores about 0. The training rows are scored as any
    other rows (a training code is its own nearest neighbour), so that
    :meth:`fit_predict` equals ``fit(X).predict(X)``. The Mahalanobis distance uses
    the mean and covariance of the training codes, with a small ridge on the
    diagonal so that a code with a constant unit still has a finite distance.

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
        return self._calibrate(X, score)

    def _calibrate(self, X: np.ndarray, score: str):
        """Set the score's statistics and ``offset_`` from the training rows ``X``.

        Needs only ``estimator_``: ``benchmarks/bench_outliers.py`` scores one trained
        network several ways through it.
        """
        self.anomaly_score_ = score
        self.components_ = self._components(score, X)
        self.weights_ = np.array(
            [
                LOF_WEIGHT if score == "combined" and name == "local_outlier_factor" else 1.0
                for name in self.components_
            ]
        )
        self.code_mean_ = self.code_precision_ = self.code_lof_ = None
        if {"mahalanobis", "local_outlier_factor"} & set(self.components_):
            codes = self.estimator_.transform(X).astype(np.float64)
        if "mahalanobis" in self.components_:
            self.code_mean_ = codes.mean(axis=0)
            self.code_precision_ = self._precision(codes)
        if "local_outlier_factor" in self.components_:
            n_neighbors = max(1, min(LOF_NEIGHBORS, len(codes) - 1))
            self.code_lof_ = LocalOutlierFactor(n_neighbors=n_neighbors, novelty=True)
            self.code_lof_.fit(codes)
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

    @staticmethod
    def _components(score: str, X: np.ndarray) -> tuple:
        """What ``score`` sums for the training data ``X``."""
        if score in ("auto", "combined"):
            # Chosen from X, as the autoencoders choose their output activation: the
            # error relative to the sample's norm where zero means "nothing".
            non_negative = X.size == 0 or X.min() >= 0
            error = "relative_reconstruction" if non_negative else "reconstruction"
            return (error, "local_outlier_factor")
        return (score,)

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
                "another anomaly_score."
            )
        # The autoencoder checks its own parameters when it fits; check them here so
        # that a bad template fails before anything else is done.
        if hasattr(estimator, "_validate_hyperparameters"):
            estimator._validate_hyperparameters()
        return estimator, score

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
        if name in ("reconstruction", "relative_reconstruction"):
            X_hat = self.estimator_.reconstruct(X).astype(np.float64)
            X = X.astype(np.float64)
            errors = np.mean((X - X_hat) ** 2, axis=1)
            if name == "relative_reconstruction":
                # An all-zero row has no norm to compare with: any error is then
                # huge rather than undefined.
                errors /= np.maximum(np.mean(X**2, axis=1), _TINY)
            # The log: errors span orders of magnitude, with a long right tail that
            # would dominate the sum with the code's distance.
            return np.log(np.maximum(errors, _TINY))
        if name == "local_outlier_factor":
            codes = self.estimator_.transform(X).astype(np.float64)
            # The log: a factor of 2 above or below 1 is as far either way.
            return np.log(-self.code_lof_.score_samples(codes))
        if name == "mahalanobis":
            centred = self.estimator_.transform(X).astype(np.float64) - self.code_mean_
            return np.einsum("ij,jk,ik->i", centred, self.code_precision_, centred)
        return -np.asarray(self.estimator_.elbo(X), dtype=np.float64)  # 'elbo'

    def _standardised(self, raw: np.ndarray) -> np.ndarray:
        return -np.sum(self.weights_ * (raw - self.center_) / self.scale_, axis=1)

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
