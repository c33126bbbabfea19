"""Probes: small observers that run in the student's process, for what a plain call of the
student's function cannot send back (a gradient through the student's graph, a second
derivative).  A check runs one with `ex.run(probe, ...)`: `probe(student_module, ...)` runs
there and its result comes back as data.  A probe observes and reports; it never judges: the
check compares what it reports with references computed in the grader (a student's process
that lies in a probe's answer only sends wrong values).

The functions without a `student` first argument run in the grader: they call a probe and
turn what it reports into a check's failure.
"""
from __future__ import annotations

import numpy as np

from ..i18n import tr
from .core import require


def _function(student, name: str):
    obj = student
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


# ----------------------------------------------------------------------------------------
# In the student's process
# ----------------------------------------------------------------------------------------
def gradients(student, name: str, args: list, upstream, kwargs: dict | None = None,
              output: int | None = None) -> dict:
    """out = name(*args, **kwargs) (item `output` of it, if given), then
    (out · upstream).sum().backward().  {"output": type of out, "grads": the .grad of each
    Tensor in args that requires grad, as arrays (None where no gradient came)}."""
    from ..tensor import Tensor

    out = _function(student, name)(*args, **(kwargs or {}))
    if output is not None:
        out = out[output]
    if not isinstance(out, Tensor):
        return {"output": type(out).__name__, "graph": False, "grads": []}
    if not out.requires_grad:                       # nothing to differentiate: no graph
        return {"output": "Tensor", "graph": False, "grads": []}
    (out * Tensor(np.asarray(upstream, dtype=out.dtype))).sum().backward()
    grads = []
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            g = a.grad
            grads.append(None if g is None else np.array(g.data if isinstance(g, Tensor) else g))
    return {"output": "Tensor", "graph": True, "grads": grads}


def second_derivative(student, name: str, x, u) -> dict:
    """g = ∇ Σ name(x) with create_graph=True, then h = ∇ Σ u·g: {"first": g, "differentiable":
    g.requires_grad, "second": h (None when g has no graph)}."""
    from .. import autograd
    from ..tensor import Tensor

    out = _function(student, name)(x)
    if not (isinstance(out, Tensor) and out.requires_grad):
        return {"first": None, "differentiable": False, "second": None}
    (g,) = autograd.grad(out.sum(), x, create_graph=True)
    seen = {"first": np.array(g.data), "differentiable": bool(g.requires_grad), "second": None}
    if g.requires_grad:
        (h,) = autograd.grad((g * Tensor(u)).sum(), x)
        seen["second"] = np.array(h.data)
    return seen


# ----------------------------------------------------------------------------------------
# In the grader
# ----------------------------------------------------------------------------------------
def student_gradients(ex, name: str, args: list, upstream, what: str,
                      kwargs: dict | None = None, output: int | None = None) -> list:
    """The gradients the student's function gives its Tensor inputs (see `gradients`), or a
    failure when it returns no Tensor or a gradient does not arrive."""
    seen = ex.run(gradients, name, args, upstream, kwargs or {}, output)
    got = seen.get('output') if isinstance(seen, dict) else '?'
    require(isinstance(seen, dict) and seen.get("output") == "Tensor",
            tr(f"{what} returns a Tensor, so that gradients can flow",
               f"{what} 返回 Tensor，梯度才能传回去"),
            tr(f"it returned a {got}", f"它返回了 {got}"))
    no_graph = tr("a result rebuilt from .data (or from NumPy) has no graph back to the input",
                  "用 .data（或 NumPy）重新构造的结果没有通往输入的计算图")
    require(seen.get("graph"), tr(f"{what} is built in the graph, so that gradients can flow",
                                  f"{what} 是在计算图中构建的，梯度才能传回去"),
            tr("its result has requires_grad=False: backward cannot reach the inputs",
               "它的结果 requires_grad=False：反向传播到不了输入"),
            nudge=no_graph)
    grads = seen.get("grads") or []
    for i, g in enumerate(grads):
        require(g is not None, tr(f"the gradient reaches input {i} of {what}",
                                  f"梯度传到了 {what} 的第 {i} 个输入"),
                tr(f"input {i}'s .grad is None after backward",
                   f"backward 之后第 {i} 个输入的 .grad 是 None"),
                nudge=no_graph)
    return grads
