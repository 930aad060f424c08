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


#: keywords of torch's optimizers that switch a behaviour on or off; the first two also
#: take None (torch then chooses the implementation)
_FLAGS = (
    "amsgrad",
    "nesterov",
    "maximize",
    "capturable",
    "differentiable",
    "centered",
    "decoupled_weight_decay",
)
_FLAGS_OR_NONE = ("foreach", "fused")


def check_optimizer_kwargs(optimizer_class, optimizer_kwargs, *, lr=None, device="cpu") -> None:
    """Raise a ``ValueError`` naming any keyword ``optimizer_class`` does not take or
    any value it refuses.

    Names are checked against the class's signature and on/off flags must be booleans
    (torch stores ``foreach='a'`` without complaint and reads it as true). With ``lr``,
    the optimizer is then built once on a dummy parameter, so that the argument checks
    of its constructor (where torch checks most values) run when fit starts rather
    than deep inside skorch.

    Parameters
    ----------
    optimizer_class : type
        A :class:`torch.optim.Optimizer` subclass.
    optimizer_kwargs : dict or None
        The keyword arguments the estimator will pass on.
    lr : float, default=None
        The estimator's learning rate, passed to the constructor unless
        ``optimizer_kwargs`` sets its own; None skips building the optimizer.
    device : str or torch.device, default='cpu'
        Where the dummy parameter lives (some options depend on the device).
    """
    optimizer_kwargs = optimizer_kwargs or {}
    parameters = inspect.signature(optimizer_class).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        accepted = [name for name in parameters if name not in ("self", "params")]
        unknown = sorted(set(optimizer_kwargs) - set(accepted), key=str)
        if unknown:
            raise ValueError(
                f"{optimizer_class.__name__} does not take {unknown}; its keyword arguments "
                f"are {accepted}."
            )
    _check_flags(optimizer_class, optimizer_kwargs)
    if lr is not None:
        _check_values(optimizer_class, optimizer_kwargs, lr, device)


def _check_flags(optimizer_class, optimizer_kwargs) -> None:
    """A ``ValueError`` naming the first on/off keyword that is not a boolean."""
    for name, value in optimizer_kwargs.items():
        takes_none = name in _FLAGS_OR_NONE
        if name not in _FLAGS and not takes_none:
            continue
        if not (isinstance(value, bool) or (takes_none and value is None)):
            accepted = "True, False or None" if takes_none else "True or False"
            raise ValueError(
                f"optimizer_kwargs[{name!r}] must be {accepted} for "
                f"{optimizer_class.__name__}, got {value!r}."
            )


def _check_values(optimizer_class, optimizer_kwargs, lr, device) -> None:
    """Build the optimizer on a dummy parameter; a ``ValueError`` naming what it refuses."""
    kwargs = {"lr": lr, **optimizer_kwargs}
    error = _construction_error(optimizer_class, kwargs, device)
    if error is None:
        return
    # The constructor's message rarely names the argument: the culprits are those whose
    # default value, put in their place, makes the constructor accept the rest.
    defaults = {
        name: p.default
        for name, p in inspect.signature(optimizer_class).parameters.items()
        if p.default is not p.empty
    }
    culprits = [
        name
        for name in kwargs
        if name in defaults
        and _construction_error(optimizer_class, {**kwargs, name: defaults[name]}, device) is None
    ]
    named = [
        f"optimizer_kwargs[{name!r}]={kwargs[name]!r}" if name in optimizer_kwargs else f"lr={lr!r}"
        for name in culprits
    ]
    what = ", ".join(named) or f"lr={lr!r} with optimizer_kwargs={optimizer_kwargs!r}"
    raise ValueError(
        f"{optimizer_class.__name__} refuses {what}: {type(error).__name__}: {error}"
    ) from error


def _construction_error(optimizer_class, kwargs, device):
    """The exception building ``optimizer_class(params, **kwargs)`` raises, or None."""
    # A small matrix: some optimizers accept only 2-D parameters.
    dummy = torch.zeros((2, 2), device=device, requires_grad=True)
    try:
        optimizer_class([dummy], **kwargs)
    except Exception as exc:  # whatever a constructor raises, the user's values caused it
        return exc
    return None


#: torch optimizers whose ``fused=True`` runs the whole update as one kernel; skae turns
#: it on by default because it trains faster, the more so the smaller the batches,
#: where the per-parameter update weighs most (``benchmarks/bench_fit_speed.py``;
#: benchmarks/README.md, "Training and inference speed")
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
