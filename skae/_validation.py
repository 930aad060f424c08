"""Parameter constraints and checks shared by the skae estimators.

scikit-learn's parameter validation (``_parameter_constraints``) is the contract; this
module adds what it lacks for skae's parameters: numbers that are not booleans,
skorch callbacks, and estimators given as instances rather than classes.
"""

from __future__ import annotations

import inspect

from sklearn.utils._param_validation import Interval, InvalidParameterError
from skorch.callbacks import Callback


class NonBoolInterval(Interval):
    """scikit-learn's ``Interval``, refusing booleans.

    ``True`` and ``False`` are integers to Python, so ``Interval(Integral, 1, None)``
    accepts ``latent_dim=True`` and builds a network of width 1. A layer size, an
    epoch count or a learning rate given as a boolean is a mistake, never a number.
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)


def _is_callback(value) -> bool:
    """A skorch callback, initialised or not (skorch instantiates a class itself)."""
    if inspect.isclass(value):
        return issubclass(value, Callback)
    return isinstance(value, Callback)


def _is_callback_entry(entry) -> bool:
    """One entry of skorch's ``callbacks`` list: a callback or a ``(name, callback)`` pair.

    skorch reads any 2-tuple or 2-list as a pair, and skips a pair whose callback is
    ``None``.
    """
    if isinstance(entry, (tuple, list)):
        return (
            len(entry) == 2
            and isinstance(entry[0], str)
            and (entry[1] is None or _is_callback(entry[1]))
        )
    return _is_callback(entry)


def check_callbacks(callbacks, caller_name: str) -> None:
    """An ``InvalidParameterError`` naming the first entry of ``callbacks`` skorch refuses.

    The constraint table only says ``callbacks`` is a list; skorch accepts as an entry a
    :class:`skorch.callbacks.Callback` instance, a ``Callback`` subclass (it
    instantiates it) or a ``(name, callback)`` pair whose callback is either of those
    or ``None``. Anything else fails deep inside skorch when training starts.

    Parameters
    ----------
    callbacks : list or None
        The parameter's value.
    caller_name : str
        The estimator's class name, for the message.
    """
    for i, entry in enumerate(callbacks or []):
        if not _is_callback_entry(entry):
            raise InvalidParameterError(
                f"The 'callbacks' parameter of {caller_name} must be a list of skorch "
                "callbacks: Callback instances, Callback classes or (name, callback) "
                f"pairs. Got {entry!r} at position {i} instead."
            )


def check_estimator_instance(value, name: str) -> None:
    """A ``TypeError`` if ``value`` is a class rather than an estimator instance.

    scikit-learn's ``HasMethods`` constraint is satisfied by a class as well as by its
    instances; fitting would then fail inside ``clone`` or ``get_params``.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        The parameter, named in the message.
    """
    if inspect.isclass(value):
        raise TypeError(
            f"{name} must be an estimator instance such as {name}={value.__name__}(), "
            f"not the class {value.__name__} itself."
        )
