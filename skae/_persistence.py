"""Persistence shared by every skae estimator: the version stamp, CPU-loadable callbacks."""

from __future__ import annotations

import copy
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


#: callback state that holds device tensors outside skorch's CPU mapping and that
#: skorch re-creates at ``on_train_begin`` (the scheduler references the optimizer;
#: EarlyStopping's copy of the best weights)
_TRAINING_ONLY_CALLBACK_STATE = ("lr_scheduler_", "best_model_weights_")


def without_training_state(callbacks: list) -> list:
    """A net's ``callbacks`` or ``callbacks_`` for a pickle: copies without the state above.

    skorch pickles the net's module, optimizer and criterion through torch with a CPU
    ``map_location`` where CUDA is missing, but callbacks through plain pickle: a
    scheduler's optimizer state or EarlyStopping's best weights trained on CUDA would
    then fail to load on a CPU-only machine. Entries are callbacks or ``(name,
    callback)`` pairs; the fitted net's own callbacks are left as they are.
    """
    return [_without_state(entry) for entry in callbacks]


def _without_state(entry):
    if isinstance(entry, tuple):
        name, callback = entry
        return name, _without_state(callback)
    held = [a for a in _TRAINING_ONLY_CALLBACK_STATE if getattr(entry, a, None) is not None]
    if not held:
        return entry
    entry = copy.copy(entry)
    for attribute in held:
        setattr(entry, attribute, None)
    return entry
