"""Resilient backpropagation (RProp) in its four classic variants."""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch.optim import Optimizer

#: the variants, as named by Igel & Hüsken (2000)
VARIANTS = ("rprop+", "rprop-", "irprop+", "irprop-")


class RProp(Optimizer):
    r"""Resilient backpropagation: Rprop+, Rprop−, iRprop+ and iRprop−.

    Every weight :math:`w` has its own step size :math:`\Delta`, adapted from the
    *sign* of successive gradients only (the gradient's magnitude is never used).
    With :math:`g_t = \partial E/\partial w` at step :math:`t` and :math:`g_{t-1}` the
    stored gradient of the previous step, all variants first adapt the step size::

        g_{t-1} * g_t > 0:  Delta = min(eta_plus  * Delta, Delta_max)
        g_{t-1} * g_t < 0:  Delta = max(eta_minus * Delta, Delta_min)
        otherwise:          Delta unchanged

    and, when the sign did not change, move by ``dw_t = -sign(g_t) * Delta``. They
    differ in what happens where the sign changed (:math:`g_{t-1} g_t < 0`), that is
    where the last step jumped over a minimum:

    ``'rprop+'`` (Riedmiller & Braun 1993, with weight-backtracking)
        Undo the previous update, ``dw_t = -dw_{t-1}``, and store ``g_t = 0`` so that
        the next step neither adapts the step size nor backtracks again.
    ``'rprop-'`` (Igel & Hüsken 2000)
        No backtracking: move by ``-sign(g_t) * Delta`` with the reduced step size
        and store ``g_t`` as it is.
    ``'irprop+'`` (Igel & Hüsken 2000)
        Undo the previous update only if the loss went up, :math:`E_t > E_{t-1}`,
        otherwise do not move this weight; store ``g_t = 0`` either way. Needs the
        loss, so :meth:`step` must be given a ``closure``.
    ``'irprop-'`` (Igel & Hüsken 2000)
        No backtracking: do not move this weight and store ``g_t = 0``. This is
        what :class:`torch.optim.Rprop` implements; the results match it bit for bit.

    Stored zeros make the next step's product zero, so after a sign change the step
    size is left alone once and the weight moves by ``-sign(g) * Delta``.

    Parameters
    ----------
    params : iterable of torch.Tensor or dict
        Parameters to optimise, or dicts defining parameter groups (each group may
        override any of the arguments below).
    lr : float, default=0.01
        The initial step size :math:`\Delta_0` of every weight, within ``step_sizes``
        (every step size stays within those bounds). It is read once, when
        a parameter's state is created; changing it later (for example with a
        learning-rate scheduler) has no effect, as in :class:`torch.optim.Rprop`.
    etas : tuple of (float, float), default=(0.5, 1.2)
        :math:`(\eta^-, \eta^+)`, the factors that shrink and grow the step size,
        with :math:`0 < \eta^- < 1 < \eta^+`.
    step_sizes : tuple of (float, float), default=(1e-6, 50)
        :math:`(\Delta_{\min}, \Delta_{\max})`, the bounds of the step sizes, with
        :math:`0 \le \Delta_{\min} \le \Delta_{\max} < \infty`.
    variant : {'irprop+', 'irprop-', 'rprop+', 'rprop-'}, default='irprop+'
        Which algorithm (see above); case-insensitive.
    maximize : bool, default=False
        Maximise the objective instead of minimising it (the gradient's sign is
        flipped, and for ``'irprop+'`` "the loss went up" means it went down).
    foreach : bool or None, default=None
        Update with multi-tensor ``torch._foreach_*`` kernels (True) or one tensor at
        a time (False); None, as in torch, chooses foreach on accelerators and the
        per-tensor loop on the CPU, where finishing one tensor before the next keeps
        it in cache. Both give the same numbers.

    Attributes
    ----------
    state : dict
        Per parameter: ``step`` (number of updates), ``prev`` (the stored gradient
        :math:`g_{t-1}`, zeroed after sign changes where the variant says so, and
        negated when maximising), ``step_size`` (:math:`\Delta`); for the ``'+'``
        variants also ``prev_update`` (the last weight change :math:`\Delta w_{t-1}`)
        and for ``'irprop+'`` ``prev_loss`` (:math:`E_{t-1}`, in the parameter's
        dtype; :math:`+\infty` before the first step).

    See Also
    --------
    torch.optim.Rprop : iRprop− only.

    Notes
    -----
    RProp is a batch method: it assumes that :math:`g_t` is the gradient of one fixed
    objective. With mini-batches ("batch RProp", here the mean gradient of each
    mini-batch) sign changes also come from sampling noise, which shrinks the step
    sizes, and for ``'irprop+'`` :math:`E_t` and :math:`E_{t-1}` are losses of
    different batches. Large batches (hundreds to thousands of samples) work for a
    bounded number of epochs; small ones shrink the step sizes to
    :math:`\Delta_{\min}` quickly.

    After a sign change the papers leave :math:`\Delta w_t` unset: it is never read,
    because the stored zero gradient sends the next step to the "otherwise" case.
    Here ``prev_update`` holds the change actually made (:math:`-\Delta w_{t-1}` after
    a revert, 0 when iRprop+ does not revert).

    With ``foreach``, updates run as ``torch._foreach_*`` operations over the
    parameters of a group that share a device and dtype; element-wise selections
    (``torch.where``) run per tensor in both paths. Complex parameters are treated
    as pairs of real numbers, as in torch. Sparse gradients are not supported.

    References
    ----------
    .. [1] M. Riedmiller and H. Braun, "A direct adaptive method for faster
       backpropagation learning: the RPROP algorithm", IEEE International
       Conference on Neural Networks, pp. 586-591, 1993.
    .. [2] C. Igel and M. Hüsken, "Improving the Rprop learning algorithm",
       Proceedings of the Second International Symposium on Neural Computation
       (NC 2000), pp. 115-121, ICSC Academic Press, 2000.
    .. [3] C. Igel and M. Hüsken, "Empirical evaluation of the improved Rprop
       learning algorithms", Neurocomputing 50, pp. 105-123, 2003.

    Examples
    --------
    Minimise :math:`(w - 3)^2` from :math:`w = 0`; iRprop+ needs the loss, so
    :meth:`step` gets a closure:

    >>> import torch
    >>> from skae.optim import RProp
    >>> w = torch.zeros(1, requires_grad=True)
    >>> opt = RProp([w], lr=0.1)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - 3) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> for _ in range(40):
    ...     loss = opt.step(closure)
    >>> round(w.item(), 3)
    3.0

    The other variants also take a plain ``step()``:

    >>> opt = RProp([w], variant="irprop-")
    >>> loss = ((w - 1) ** 2).sum()
    >>> loss.backward()
    >>> opt.step()
    """

    def __init__(
        self,
        params,
        lr=1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        variant="irprop+",
        *,
        maximize=False,
        foreach=None,
    ):
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "variant": variant,
            "maximize": maximize,
            "foreach": foreach,
        }
        # before torch's own checks of ``params``
        defaults.update(_checked_hyperparameters(defaults))
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a parameter group, checking the hyperparameters it overrides first.

        An invalid setting raises a ``ValueError`` and nothing is added: the optimizer
        keeps stepping its other groups as before.

        Parameters
        ----------
        param_group : dict
            ``params`` and optionally ``lr``, ``etas``, ``step_sizes``, ``variant``,
            ``maximize`` and ``foreach``. Not modified: the optimizer stores a copy.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}.")
        params = param_group.get("params")
        if isinstance(params, torch.Tensor):
            params = [params]
        elif params is not None and not isinstance(params, set):
            # read once here: torch reads it again, and an iterator would then be empty
            params = list(params)
        hyperparameters = _checked_hyperparameters({**self.defaults, **param_group})
        _check_representable(params, hyperparameters)
        group = {**param_group, **hyperparameters}
        if params is not None:
            group["params"] = params
        super().add_param_group(group)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("variant", "irprop+")
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimisation step.

        Parameters
        ----------
        closure : callable, default=None
            Re-evaluates the model (zeroing the gradients, computing the loss and
            calling ``backward``) and returns the loss. Required for
            ``variant='irprop+'``, which compares the losses of successive steps;
            optional otherwise.

        Returns
        -------
        loss : torch.Tensor, float or None
            What ``closure`` returned, or None without a closure.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if any(group["variant"] == "irprop+" for group in self.param_groups):
            error = _loss_tensor(loss)
        else:
            error = None

        for group in self.param_groups:
            params, state_steps = [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(
                        "RProp does not support sparse gradients (got one for a parameter "
                        f"of shape {tuple(p.shape)}); use dense gradients, e.g. "
                        "torch.nn.Embedding(..., sparse=False)."
                    )
                self._init_state(p, group)
                params.append(p)
                state_steps.append(self.state[p]["step"])
            if not params:
                continue
            # the counters are CPU scalars (as in torch): add a CPU tensor, not a
            # Python number that foreach would wrap once per tensor
            torch._foreach_add_(state_steps, torch.tensor(1.0), alpha=1.0)
            for same_kind in _group_by_device_and_dtype(params).values():
                self._update(same_kind, group, error)
        return loss

    # ------------------------------------------------------------------ private
    def _init_state(self, p, group):
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["prev"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            lr = float(group["lr"])
            # complex weights are pairs of reals, each with its own step size
            fill = complex(lr, lr) if p.is_complex() else lr
            state["step_size"] = torch.full_like(p, fill, memory_format=torch.preserve_format)
        # created lazily so that the variant of a group may change between steps
        if group["variant"] in ("rprop+", "irprop+") and "prev_update" not in state:
            state["prev_update"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if group["variant"] == "irprop+" and "prev_loss" not in state:
            # E_{t-1} = +inf: the first step never counts as "the loss went up"
            state["prev_loss"] = torch.full((), math.inf, dtype=p.real.dtype, device=p.device)

    def _update(self, params, group, error):
        """One RProp step for parameters that share a device and dtype."""
        states = [self.state[p] for p in params]
        plus = group["variant"] in ("rprop+", "irprop+")
        if group["variant"] == "irprop+":
            prev_losses = [s["prev_loss"] for s in states]
            error = error.to(device=prev_losses[0].device, dtype=prev_losses[0].dtype)
            if group["maximize"]:
                error = -error  # "the loss went up" means the objective went down
        else:
            prev_losses = None
        foreach = group["foreach"]
        if foreach is None:
            # as torch: fused multi-tensor kernels pay off on accelerators; on the CPU a
            # loop that finishes one tensor before the next keeps it in cache
            foreach = params[0].device.type != "cpu"
        update = _multi_tensor_rprop if foreach else _single_tensor_rprop
        etaminus, etaplus = (float(e) for e in group["etas"])
        step_size_min, step_size_max = (float(s) for s in group["step_sizes"])
        update(
            _as_real(params),
            _as_real([p.grad for p in params]),
            _as_real([s["prev"] for s in states]),
            _as_real([s["step_size"] for s in states]),
            _as_real([s["prev_update"] for s in states]) if plus else None,
            prev_losses,
            error,
            variant=group["variant"],
            etaminus=etaminus,
            etaplus=etaplus,
            step_size_min=step_size_min,
            step_size_max=step_size_max,
            maximize=group["maximize"],
        )


def _single_tensor_rprop(
    params,
    grads,
    prevs,
    step_sizes,
    prev_updates,
    prev_losses,
    error,
    *,
    variant,
    etaminus,
    etaplus,
    step_size_min,
    step_size_max,
    maximize,
):
    """RProp one tensor at a time (the reference, and the faster path on the CPU)."""
    one = torch.ones((), dtype=params[0].dtype, device=params[0].device)
    zero = torch.zeros_like(one)
    for i, param in enumerate(params):
        grad, prev, step_size = grads[i], prevs[i], step_sizes[i]
        # g_t in the descent orientation (torch.optim.Rprop stores it negated too)
        if maximize:
            grad = grad.neg()
        product = grad.mul(prev)
        changed = product.lt(0)
        factor = torch.where(product.gt(0), etaplus, torch.where(changed, etaminus, one))
        step_size.mul_(factor).clamp_(step_size_min, step_size_max)
        del factor
        # the stored gradient: g_t, or 0 where the sign changed (all but Rprop-)
        if variant == "rprop-":
            prev.copy_(grad)
        else:
            torch.where(changed, zero, grad, out=prev)
        # where zeroed, sign(0) = 0: the weight does not move
        direction = torch.sign(prev, out=product)
        if variant in ("rprop-", "irprop-"):
            param.addcmul_(direction, step_size, value=-1)
            continue
        prev_update = prev_updates[i]
        if variant == "irprop+":
            # revert only where the sign changed *and* the loss went up
            changed.logical_and_(error > prev_losses[i])
            prev_losses[i].copy_(error)
        # dw_t = -(dw_{t-1} where reverted, else sign(g_t) * Delta_t): one negation
        torch.where(changed, prev_update, direction.mul_(step_size), out=prev_update).neg_()
        param.add_(prev_update)


def _multi_tensor_rprop(
    params,
    grads,
    prevs,
    step_sizes,
    prev_updates,
    prev_losses,
    error,
    *,
    variant,
    etaminus,
    etaplus,
    step_size_min,
    step_size_max,
    maximize,
):
    """RProp with ``torch._foreach_*`` kernels across tensors; same result as the loop."""
    one = torch.ones((), dtype=params[0].dtype, device=params[0].device)
    zero = torch.zeros_like(one)
    if maximize:
        grads = torch._foreach_neg(grads)
    products = torch._foreach_mul(grads, prevs)
    factors, sign_changed = [], []
    for product in products:
        changed = product.lt(0)
        factors.append(torch.where(product.gt(0), etaplus, torch.where(changed, etaminus, one)))
        sign_changed.append(changed)
    torch._foreach_mul_(step_sizes, factors)
    del factors
    torch._foreach_clamp_min_(step_sizes, step_size_min)
    torch._foreach_clamp_max_(step_sizes, step_size_max)

    if variant == "rprop-":
        torch._foreach_copy_(prevs, grads)
    else:
        for prev, grad, changed in zip(prevs, grads, sign_changed):
            torch.where(changed, zero, grad, out=prev)
    directions = products  # reuse the buffers
    for direction, prev in zip(directions, prevs):
        torch.sign(prev, out=direction)
    if variant in ("rprop-", "irprop-"):
        torch._foreach_addcmul_(params, directions, step_sizes, value=-1)
        return

    torch._foreach_mul_(directions, step_sizes)
    if variant == "irprop+":
        for changed, prev_loss in zip(sign_changed, prev_losses):
            changed.logical_and_(error > prev_loss)
        torch._foreach_copy_(prev_losses, [error] * len(prev_losses))
    for prev_update, step, revert in zip(prev_updates, directions, sign_changed):
        torch.where(revert, prev_update, step, out=prev_update)
    torch._foreach_neg_(prev_updates)
    torch._foreach_add_(params, prev_updates)


def _checked_hyperparameters(group) -> dict:
    """The group's hyperparameters, normalised; a ValueError naming any invalid one.

    ``group`` is not modified. Rprop keeps every step size within
    ``step_sizes = (min, max)``, so the initial one, ``lr``, must lie there too.
    """
    variant = group["variant"]
    if not isinstance(variant, str) or variant.lower() not in VARIANTS:
        raise ValueError(f"Unknown RProp variant {variant!r}; use one of {list(VARIANTS)}.")

    lr = group["lr"]
    if isinstance(lr, torch.Tensor):
        if lr.numel() != 1:
            raise ValueError(f"lr must be a number (the initial step size), got {lr!r}.")
        lr = lr.item()
    if not _is_number(lr) or not lr > 0:  # an infinite lr fails the step_sizes check
        raise ValueError(f"lr (the initial step size) must be a positive number, got {lr!r}.")

    etas = _pair(group["etas"])
    if etas is None or not all(_is_number(e) for e in etas):
        raise ValueError(
            f"etas must be a pair of numbers (eta_minus, eta_plus), got {group['etas']!r}."
        )
    if not 0.0 < etas[0] < 1.0:
        raise ValueError(f"etas[0] (eta_minus, the shrink factor) must be in (0, 1): {etas[0]}.")
    if not 1.0 < etas[1] < math.inf:
        raise ValueError(f"etas[1] (eta_plus, the growth factor) must be in (1, inf): {etas[1]}.")

    sizes = _pair(group["step_sizes"])
    if sizes is None or not all(_is_number(s) for s in sizes):
        raise ValueError(
            f"step_sizes must be a pair of numbers (min, max), got {group['step_sizes']!r}."
        )
    if not 0.0 <= sizes[0] <= sizes[1] or not 0.0 < sizes[1] < math.inf:
        raise ValueError(
            "step_sizes must be (min, max) with 0 <= min <= max < inf and max > 0, got "
            f"{sizes}" + (" (inverted?)." if sizes[0] > sizes[1] else ".")
        )
    if not sizes[0] <= lr <= sizes[1]:
        raise ValueError(
            f"lr={lr!r} (the initial step size) must lie within step_sizes={sizes} "
            "(min, max), the bounds every step size is kept in; choose lr in that range "
            "or widen step_sizes."
        )

    if not isinstance(group["maximize"], bool):
        raise ValueError(f"maximize must be a bool, got {group['maximize']!r}.")
    if group["foreach"] is not None and not isinstance(group["foreach"], bool):
        raise ValueError(f"foreach must be None, True or False, got {group['foreach']!r}.")
    return {"variant": variant.lower(), "etas": etas, "step_sizes": sizes}


def _check_representable(params, hyperparameters) -> None:
    """A ValueError if a step size or growth factor overflows a parameter's dtype.

    The step sizes are stored in the parameters' dtype and multiplied by ``eta_plus``;
    a bound beyond the dtype's largest value (float16 stops at 65504) would make
    torch fail at the first step.
    """
    dtypes = {p.dtype for p in params or () if isinstance(p, torch.Tensor)}
    for dtype in dtypes:
        if not (dtype.is_floating_point or dtype.is_complex):
            continue  # torch refuses such parameters itself
        largest = torch.finfo(dtype).max
        for name, value in (
            ("step_sizes[1]", hyperparameters["step_sizes"][1]),
            ("etas[1]", hyperparameters["etas"][1]),
        ):
            if value > largest:
                raise ValueError(
                    f"{name}={value!r} is larger than the largest {dtype} value "
                    f"({largest:.4g}), the dtype of the parameters (and of their step "
                    "sizes)."
                )


def _is_number(value) -> bool:
    """A real number, not a boolean (``etas=(0.5, True)`` is a mistake, not 1.0)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def _pair(value):
    try:
        pair = tuple(value)
    except TypeError:
        return None
    return pair if len(pair) == 2 else None


def _loss_tensor(loss):
    """The closure's loss as a detached scalar tensor, for iRprop+'s comparison."""
    if loss is None:
        raise RuntimeError(
            "RProp(variant='irprop+') reverts a step only when the loss went up, so "
            "step() needs a closure that re-evaluates the model and returns the loss "
            "(optimizer.step(closure), as for torch.optim.LBFGS; skorch does this). "
            "Use variant='irprop-' (or 'rprop+', 'rprop-') to step without the loss."
        )
    loss = torch.as_tensor(loss).detach()
    if loss.numel() != 1:
        raise ValueError(
            f"The closure must return a scalar loss for iRprop+, got shape {tuple(loss.shape)}."
        )
    if loss.is_complex():
        raise ValueError("The closure must return a real loss for iRprop+, got a complex one.")
    return loss.reshape(())


def _group_by_device_and_dtype(params):
    groups = {}
    for p in params:
        groups.setdefault((p.device, p.dtype), []).append(p)
    return groups


def _as_real(tensors):
    return [torch.view_as_real(t) if t.is_complex() else t for t in tensors]
