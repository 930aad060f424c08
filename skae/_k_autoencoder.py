"""An ensemble of k autoencoders whose codes are concatenated (the "k-autoencoder")."""

from __future__ import annotations

import os
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._autoencoder import AutoencoderTransformer
from ._base import (
    ReconstructionScoreMixin,
    check_codes,
    keeps_state_on_failure,
    resolve_device,
)
from ._persistence import VersionStampMixin
from ._validation import NonBoolInterval, check_estimator_instance


def _fit_member(member, X, y, parent_pid, n_threads):
    """Fit one member; in a worker process, limit torch to its share of the threads."""
    in_worker = os.getpid() != parent_pid
    previous = torch.get_num_threads()
    if in_worker:
        # k processes each running torch with every core would oversubscribe the CPU.
        torch.set_num_threads(n_threads)
    try:
        return member.fit(X, y)
    finally:
        if in_worker:  # loky reuses its workers: leave them as they were
            torch.set_num_threads(previous)


class KAutoencoderTransformer(
    VersionStampMixin, ReconstructionScoreMixin, TransformerMixin, BaseEstimator
):
    """Ensemble of k autoencoders whose codes are concatenated into one representation.

    Each of the ``n_autoencoders`` members is a clone of ``estimator`` (by default an
    :class:`AutoencoderTransformer`) with its own seed, optionally its own code size
    (``latent_dim`` as a list) and, with ``bootstrap=True``, its own bootstrap sample of
    the rows. :meth:`transform` returns the members' codes side by side;
    :meth:`inverse_transform` splits a code by member, decodes each part with its
    member and averages the reconstructions.

    The members are configured through a template estimator, as in scikit-learn's
    :class:`~sklearn.ensemble.BaggingClassifier`, rather than by repeating every
    autoencoder parameter here: the ensemble keeps only what is its own, any skae
    autoencoder can be a member, and a parameter grid reads
    ``estimator__hidden_layer_sizes``, ``estimator__optimizer`` or
    ``estimator__optimizer__momentum`` beside ``latent_dim`` and ``n_autoencoders``.
    ``latent_dim`` is an ensemble parameter because it may differ between members.

    Parameters
    ----------
    estimator : skae autoencoder, default=None
        Unfitted template, cloned once per member; anything with ``fit``,
        ``transform``, ``inverse_transform`` and the parameters ``latent_dim`` (when
        ``latent_dim`` is set) and ``random_state``. ``None`` means
        ``AutoencoderTransformer()``. Pass an explicit template to tune its parameters
        (``estimator__<name>``).
    n_autoencoders : int, default=3
        Number of members k.
    latent_dim : int, list of int or None, default=None
        Code size of every member (an int) or of each member (a list of
        ``n_autoencoders`` ints); overrides the template's ``latent_dim``. ``None``
        keeps the template's (10 for the default template). The representation has
        ``sum(latent_dims_)`` columns.
    bootstrap : bool, default=False
        Train each member on a bootstrap sample of the rows (n draws with
        replacement, seeded per member) instead of on all of them.
    n_jobs : int, default=None
        Members trained in parallel with joblib (``None`` means 1 unless inside a
        ``joblib.parallel_config`` context, ``-1`` all cores). In worker processes
        torch uses its share of the parent's threads (at least one), so that k
        workers do not oversubscribe the CPU. Results do not depend on ``n_jobs``
        as long as each fit runs with the same number of torch threads.
    random_state : int, RandomState instance or None, default=None
        Draws one seed per member (its ``random_state``, which also draws its
        bootstrap sample): members differ from each other and an int makes the
        ensemble reproducible. Overrides the template's ``random_state``.

    Attributes
    ----------
    estimators_ : list of fitted estimators
        The ``n_autoencoders`` fitted members.
    latent_dims_ : list of int
        Code size of each member, in order.
    seeds_ : ndarray of shape (n_autoencoders,)
        The seed each member was given.
    history_ : pandas.DataFrame
        The members' training histories stacked, with a ``member`` column (0 to k-1)
        and an ``epoch`` column, e.g.
        ``history_.pivot(index="epoch", columns="member", values="train_loss")``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    skae.AutoencoderTransformer : One member.
    sklearn.ensemble.BaggingClassifier : The same template-and-clones design.

    Notes
    -----
    The representation of a sample :math:`x` is :math:`[f_1(x), \\dots, f_k(x)]`,
    with :math:`f_j` the encoder of member :math:`j`; its reconstruction is
    :math:`\\frac{1}{k}\\sum_j g_j(f_j(x))`. :meth:`score` is minus the mean squared
    error of that averaged reconstruction, as for a single autoencoder.

    ``fit(X, y)`` passes ``y`` on to each member (resampled with the rows under
    ``bootstrap``): :class:`AutoencoderTransformer` ignores it, a semi-supervised
    :class:`ITLAutoencoder` uses it.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer, KAutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> template = AutoencoderTransformer(hidden_layer_sizes=(32,), max_epochs=3)
    >>> kae = KAutoencoderTransformer(template, n_autoencoders=3, latent_dim=[2, 4, 4],
    ...                               random_state=0).fit(X)
    >>> kae.transform(X).shape
    (1797, 10)
    >>> kae.get_feature_names_out()[:3]
    array(['kautoencodertransformer_ae0_0', 'kautoencodertransformer_ae0_1',
           'kautoencodertransformer_ae1_0'], dtype=object)
    >>> kae.inverse_transform(kae.transform(X)).shape
    (1797, 64)
    """

    _parameter_constraints: dict = {
        "estimator": [
            HasMethods(["fit", "transform", "inverse_transform", "get_params"]),
            None,
        ],
        "n_autoencoders": [NonBoolInterval(Integral, 1, None, closed="left")],
        "latent_dim": [NonBoolInterval(Integral, 1, None, closed="left"), "array-like", None],
        "bootstrap": ["boolean"],
        "n_jobs": [NonBoolInterval(Integral, None, None, closed="neither"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_autoencoders=3,
        latent_dim=None,
        bootstrap=False,
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_autoencoders = n_autoencoders
        self.latent_dim = latent_dim
        self.bootstrap = bootstrap
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @keeps_state_on_failure
    def fit(self, X, y=None):
        """Train the ``n_autoencoders`` members on ``X`` (or on bootstrap samples of it).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; never modified.
        y : array-like of shape (n_samples,), default=None
            Passed on to each member's ``fit`` (ignored by
            :class:`AutoencoderTransformer`).

        Returns
        -------
        self : object
            The fitted ensemble.

        Notes
        -----
        Ctrl-C (``KeyboardInterrupt``) stops training and is raised from ``fit``. Like
        any error (``TrainingDivergedError``, a refused ``X``), it leaves the ensemble
        as it was before the call: unfitted, or with its previous model whole.
        """
        members, seeds = self._make_members()
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        if y is not None:
            check_consistent_length(X, y)

        rows = [None] * len(members)
        if self.bootstrap:
            # Drawn from each member's seed, as BaggingClassifier does.
            rows = [np.random.RandomState(seed).randint(0, len(X), len(X)) for seed in seeds]
        n_workers = min(effective_n_jobs(self.n_jobs), len(members))
        n_threads = max(1, torch.get_num_threads() // n_workers)
        self.estimators_ = Parallel(n_jobs=n_workers)(
            delayed(_fit_member)(
                member,
                X if idx is None else X[idx],
                y if idx is None or y is None else _safe_indexing(y, idx),
                os.getpid(),
                n_threads,
            )
            for member, idx in zip(members, rows)
        )
        self.seeds_ = seeds
        self.latent_dims_ = [len(m.get_feature_names_out()) for m in self.estimators_]
        self._n_features_out = sum(self.latent_dims_)
        self.history_ = self._stack_histories()
        return self

    def _make_members(self):
        """Check parameters; return the unfitted members and their seeds (checks live here)."""
        self._validate_params()
        check_estimator_instance(self.estimator, "estimator")
        k = self.n_autoencoders
        template = AutoencoderTransformer() if self.estimator is None else self.estimator
        names = template.get_params(deep=False)
        if self.latent_dim is None or isinstance(self.latent_dim, Integral):
            dims = [self.latent_dim] * k
        else:
            dims = list(self.latent_dim)
            if len(dims) != k:
                raise ValueError(
                    f"latent_dim must be an int or a list of n_autoencoders={k} ints, "
                    f"got {len(dims)} values: {self.latent_dim!r}."
                )
            if not all(
                isinstance(d, Integral) and not isinstance(d, bool) and d >= 1 for d in dims
            ):
                raise ValueError(f"latent_dim must hold positive ints, got {self.latent_dim!r}.")
        if self.latent_dim is not None and "latent_dim" not in names:
            raise ValueError(
                f"latent_dim is set but the estimator {type(template).__name__} has no "
                "latent_dim parameter; leave latent_dim=None."
            )

        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=k)
        members = []
        for dim, seed in zip(dims, seeds):
            member = clone(template)
            if dim is not None:
                member.set_params(latent_dim=int(dim))
            if "random_state" in names:
                member.set_params(random_state=int(seed))
            members.append(member)
        # Members check their own parameters when they fit; check the first here so
        # that a bad template fails at once, not once per (possibly remote) member.
        if hasattr(members[0], "_validate_hyperparameters"):
            members[0]._validate_hyperparameters()
        if isinstance(names.get("device"), str):
            resolve_device(names["device"])
        return members, seeds

    def _stack_histories(self) -> pd.DataFrame | None:
        frames = [
            m.history_.reset_index().assign(member=i)
            for i, m in enumerate(self.estimators_)
            if isinstance(getattr(m, "history_", None), pd.DataFrame)
        ]
        if not frames:
            return None
        history = pd.concat(frames, ignore_index=True)
        return history[["member", *(c for c in history.columns if c != "member")]]

    # ------------------------------------------------------------------ use
    def transform(self, X):
        """Concatenate the members' codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, sum(latent_dims_))
            Member 0's code, then member 1's, ...; in the floating dtype of ``X``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return np.hstack([m.transform(X) for m in self.estimators_]).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Decode a concatenated code: each member decodes its part; the mean is returned.

        Parameters
        ----------
        X : array-like of shape (n_samples, sum(latent_dims_))
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)  # before latent_dims_ is read
        sizes = " + ".join(map(str, self.latent_dims_))
        Z = check_codes(self, X, code_size=f"the total code size {sizes}")
        parts = np.split(Z, np.cumsum(self.latent_dims_)[:-1], axis=1)
        total = sum(m.inverse_transform(part) for m, part in zip(self.estimators_, parts))
        return (total / len(self.estimators_)).astype(Z.dtype, copy=False)

    def reconstruct(self, X):
        """Mean of the members' reconstructions of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
        """
        return self.inverse_transform(self.transform(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the code columns: ``kautoencodertransformer_ae<member>_<unit>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "_n_features_out")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        return np.asarray(
            [
                f"{prefix}_ae{i}_{j}"
                for i, size in enumerate(self.latent_dims_)
                for j in range(size)
            ],
            dtype=object,
        )

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimators_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
