"""Persistence shared by every skae estimator: the version stamp in pickles."""

from __future__ import annotations

import warnings

from .exceptions import InconsistentVersionWarning


class VersionStampMixin:
    """Stamp the skae version into pickles; warn when another version loads them.

    As scikit-learn does with ``_sklearn_version``: ``__getstate__`` adds
    ``_skae_version`` and ``__setstate__`` removes it, warning with
    :class:`~skae.exceptions.InconsistentVersionWarning` when it differs from the
    running version (``'unknown'`` for pickles made before the stamp existed).
    """

    def __getstate__(self):
        from . import __version__  # here: skae/__init__.py imports this module

        # A copy: on Python 3.11+ object.__getstate__ returns the instance's own
        # __dict__, which pickling must not modify.
        state = dict(super().__getstate__())
        state["_skae_version"] = __version__
        return state

    def __setstate__(self, state):
        from . import __version__

        pickled_version = state.pop("_skae_version", "unknown")
        if pickled_version != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_skae_version=__version__,
                    original_skae_version=pickled_version,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)
