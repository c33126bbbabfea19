"""Gradient checks by finite differences (§2.1: is the chain rule implemented correctly?).

For a function f and an input element xᵢ, the central difference

    ∂f/∂xᵢ ≈ (f(x + ε eᵢ) - f(x - ε eᵢ)) / (2ε)

has error O(ε²).  `gradcheck` compares it, element by element, with what backward computes
(the analytical Jacobian).  In float64 and with ε = 1e-6 the two agree to ~1e-8 when the
backward rule is right; in float32 rounding error swamps the comparison, so check in float64.

`gradgradcheck` applies the same test to the *gradient* function, which checks the backward
rules' own derivatives (second order: Hessian-vector products).
"""
from __future__ import annotations

import warnings

import numpy as np

from .autograd import grad as _grad
from .autograd import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The numerical and analytical gradients disagree (the message says where)."""


def _as_outputs(out) -> list[Tensor]:
    return [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]


def _flat_outputs(fn, inputs) -> np.ndarray:
    with no_grad():
        flat = [o.data.astype(np.float64).ravel() for o in _as_outputs(fn(*inputs))]
    return np.concatenate(flat) if flat else np.zeros(0)


def _diff_inputs(inputs):
    return [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              fast_mode: bool = False, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check backward of `fn(*inputs)` against central differences, for every input that
    requires grad.  Returns True, or raises GradcheckError naming the input, the element,
    and both values.

    fast_mode compares one random projection vᵀ J u instead of the whole Jacobian J: one
    backward and two forwards per input, for large inputs.
    """
    inputs = tuple(inputs)
    checked = _diff_inputs(inputs)
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i, t in checked:
        if t.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {t.dtype}, not float64; finite differences "
                          "in low precision will likely disagree. Use .double().", stacklevel=2)
    outputs = _as_outputs(fn(*inputs))
    sizes = [o.data.size for o in outputs]
    n_out = sum(sizes)
    if n_out == 0:
        return True
    rng = np.random.default_rng(seed)

    def analytic_vjp(v_flat):
        """vᵀ J for every checked input, via one backward."""
        seeds, outs, start = [], [], 0
        for o, n in zip(outputs, sizes):
            if o.requires_grad:  # an output that does not depend on any input adds nothing
                outs.append(o)
                seeds.append(Tensor(v_flat[start:start + n].reshape(o.shape).astype(o.dtype)))
            start += n
        if not outs:
            return [np.zeros(t.shape) for _, t in checked]
        grads = _grad(outs, [t for _, t in checked], grad_outputs=seeds, allow_unused=True,
                      retain_graph=True)         # one graph, one backward per Jacobian row
        return [np.zeros(t.shape) if g is None else g.data.astype(np.float64)
                for g, (_, t) in zip(grads, checked)]

    def numeric_directional(t, direction):
        """(f(x + εd) - f(x - εd)) / 2ε, perturbing t.data in place."""
        original = t.data.copy()
        try:
            t.data = original + eps * direction
            plus = _flat_outputs(fn, inputs)
            t.data = original - eps * direction
            minus = _flat_outputs(fn, inputs)
        finally:
            t.data = original
        return (plus - minus) / (2 * eps)

    def fail(msg):
        if raise_exception:
            raise GradcheckError(msg)
        return False

    if fast_mode:
        v = rng.standard_normal(n_out)
        vjps = analytic_vjp(v)
        for (i, t), vjp in zip(checked, vjps):
            u = rng.standard_normal(t.shape)
            analytical = float(np.sum(vjp * u))
            numerical = float(v @ numeric_directional(t, u))
            if not np.isclose(analytical, numerical, atol=atol, rtol=rtol):
                return fail(f"gradcheck (fast mode) failed for input {i} (shape {t.shape}): "
                            f"projection vᵀJu numerical={numerical:.8g} analytical={analytical:.8g}")
        return True

    # Full Jacobians: numerical column by column, analytical row by row.
    for k, (i, t) in enumerate(checked):
        numerical = np.zeros((t.data.size, n_out))
        for e in range(t.data.size):
            direction = np.zeros(t.data.size)
            direction[e] = 1.0
            numerical[e] = numeric_directional(t, direction.reshape(t.shape))
        analytical = np.zeros((t.data.size, n_out))
        for r in range(n_out):
            v = np.zeros(n_out)
            v[r] = 1.0
            analytical[:, r] = analytic_vjp(v)[k].ravel()
        bad = ~np.isclose(analytical, numerical, atol=atol, rtol=rtol)
        if bad.any():
            e, r = np.argwhere(bad)[0]
            element = np.unravel_index(e, t.shape) if t.ndim else ()
            return fail(
                f"gradcheck failed for input {i} (shape {t.shape}) at element {tuple(map(int, element))}, "
                f"output element {r}: numerical={numerical[e, r]:.8g} "
                f"analytical={analytical[e, r]:.8g} (atol={atol}, rtol={rtol}); "
                f"{int(bad.sum())} of {bad.size} Jacobian entries disagree")
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, fast_mode: bool = False, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of  (x, v) ↦ vᵀ ∂fn/∂x  with respect to x and v."""
    inputs = tuple(inputs)
    checked = _diff_inputs(inputs)
    # Only outputs that carry a gradient get a vector v (not, say, the indices of max(dim)).
    outputs = [o for o in _as_outputs(fn(*inputs)) if o.requires_grad]
    rng = np.random.default_rng(seed + 1)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
                        for o in outputs]
    else:
        grad_outputs = [Tensor(g.data if isinstance(g, Tensor) else np.asarray(g),
                               requires_grad=True) for g in grad_outputs]
    n_in = len(inputs)

    def first_derivatives(*args):
        xs, vs = args[:n_in], list(args[n_in:])
        with enable_grad():  # the numerical pass runs under no_grad; this needs a graph
            outs = [o for o in _as_outputs(fn(*xs)) if o.requires_grad]
            grads = _grad(outs, [xs[i] for i, _ in checked], grad_outputs=vs,
                          create_graph=True, allow_unused=True)
        # Keep a gradient even when it carries no graph: a backward computed outside the
        # graph (raw NumPy) then shows up as a zero analytical second derivative, and the
        # check fails instead of passing with nothing to compare.
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, fast_mode=fast_mode, raise_exception=raise_exception, seed=seed)
