"""Optimizers selectable by name from the skae estimators."""

from __future__ import annotations

import functools
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


#: torch optimizers whose ``fused=True`` runs the whole update as one kernel; skae turns
#: it on by default: benchmarks/bench_fit_speed.py (2-core CPU) measured 1.10x the
#: samples/s in batches of 256 and 1.27x in batches of 32, where the per-parameter
#: update weighs most
_FUSABLE = ("Adam", "AdamW", "SGD", "Adagrad")

#: keywords that choose an implementation (or exclude the fused one) themselves
_IMPLEMENTATION_KEYWORDS = ("fused", "foreach", "differentiable")


def fused_kwargs(optimizer_class, device, optimizer_kwargs=None) -> dict:
    """``{'fused': True}`` when torch's fused update applies, else ``{}``.

    It applies to torch's own Adam, AdamW, SGD and Adagrad (not to subclasses) on a
    device whose fused kernels this torch has, unless ``optimizer_kwargs`` already
    chooses an implementation (``fused``, ``foreach`` or ``differentiable``).
    """
    if any(key in (optimizer_kwargs or {}) for key in _IMPLEMENTATION_KEYWORDS):
        return {}
    if getattr(torch.optim, optimizer_class.__name__, None) is not optimizer_class:
        return {}
    if optimizer_class.__name__ not in _FUSABLE:
        return {}
    return {"fused": True} if _fused_supported(optimizer_class, torch.device(device).type) else {}


@functools.cache
def _fused_supported(optimizer_class, device_type: str) -> bool:
    # Older torch (before 2.4 on the CPU) or another device type rejects fused=True
    # when the optimizer is built or at its first step: try both once on a scalar.
    try:
        param = torch.zeros(1, device=device_type, requires_grad=True)
        optimizer = optimizer_class([param], lr=0.1, fused=True)
        param.grad = torch.ones_like(param)
        optimizer.step()
    except (RuntimeError, ValueError, TypeError, NotImplementedError, AssertionError):
        return False
    return True
