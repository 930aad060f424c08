"""Optimizers selectable by name from the skae estimators."""

from __future__ import annotations

import inspect

import torch


def _rprop():
    from .optim import RProp  # imported lazily: skae.optim imports nothing from here

    return RProp


_OPTIMIZERS = {
    "adam": lambda: torch.optim.Adam,
    "adamw": lambda: torch.optim.AdamW,
    "sgd": lambda: torch.optim.SGD,
    "rmsprop": lambda: torch.optim.RMSprop,
    "adagrad": lambda: torch.optim.Adagrad,
    "lbfgs": lambda: torch.optim.LBFGS,
    "rprop": _rprop,
    "torch_rprop": lambda: torch.optim.Rprop,
}

OPTIMIZER_NAMES = tuple(_OPTIMIZERS)


def resolve_optimizer(optimizer):
    """Return the optimizer class for a name or a :class:`torch.optim.Optimizer` class.

    Raises
    ------
    ValueError
        If ``optimizer`` is an unknown name or not an optimizer class.
    """
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in _OPTIMIZERS:
            raise ValueError(
                f"Unknown optimizer {optimizer!r}; use one of {sorted(_OPTIMIZERS)} "
                "or a torch.optim.Optimizer subclass."
            )
        return _OPTIMIZERS[key]()
    if inspect.isclass(optimizer) and issubclass(optimizer, torch.optim.Optimizer):
        return optimizer
    raise ValueError(
        f"optimizer must be a name in {sorted(_OPTIMIZERS)} or a torch.optim.Optimizer "
        f"subclass, got {optimizer!r}."
    )


def check_optimizer_kwargs(optimizer_class, optimizer_kwargs) -> None:
    """Raise a ``ValueError`` naming any keyword ``optimizer_class`` does not take."""
    if not optimizer_kwargs:
        return
    parameters = inspect.signature(optimizer_class).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [name for name in parameters if name not in ("self", "params")]
    unknown = sorted(set(optimizer_kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"{optimizer_class.__name__} does not take {unknown}; its keyword arguments "
            f"are {accepted}."
        )
