"""Reverse-mode automatic differentiation: the backward pass (§2.1 深度学习).

A forward computation builds a graph: every primitive op applied to tensors that require
grad leaves behind a *node* (an instance of `minigrad.tensor.Function`) that remembers its
input tensors.  `backward` walks that graph from the output back to the leaves, applying the
chain rule at every node:

    dL/d(input) = sum over uses of  (dL/d(output)) · (d output / d input)

Each node's `backward(grad)` computes the vector-Jacobian product on the right.  Gradients
of one node that arrive from several consumers are summed before the node runs, which is
why the walk visits nodes in reverse topological order (every consumer before its producer).

This file holds:
  * grad mode (`no_grad`, `enable_grad`, `set_grad_enabled`),
  * anomaly mode (`detect_anomaly`), which names the op that first produced NaN/Inf,
  * the engine (`run_backward`) used by `Tensor.backward` and by `grad`,
  * two hooks for data-parallel training (§8, minigrad.distributed), as PyTorch's
    `Tensor.register_post_accumulate_grad_hook` and the engine's `queue_callback`: a leaf's
    hook runs once per backward, as soon as its gradient is complete (every node that feeds
    it has run), so its all-reduce can start while the rest of backward still runs; a queued
    callback runs when the outermost backward ends.  With no hook registered the engine does
    no extra work.

Two safety rules, as in PyTorch:
  * After a backward without `retain_graph=True` every node it ran is *released*: it drops
    its inputs and saved values (their memory is freed at once, not when the last tensor of
    the graph goes), so a second backward through it raises instead of adding again.  (The
    graph's edges are those input tensors, so even a node that saved nothing, an addition,
    cannot run twice; PyTorch would allow that one.)
  * An in-place op bumps a tensor's version (tensor.py).  A node whose input, or saved
    output, changed after it was recorded refuses to run: its gradient would use the new
    values, or flow to the node that made them.

Broadcasting is undone here, in one place: when an op broadcast an input of shape (3, 1)
to (3, 4), the gradient arriving for that input has shape (3, 4) and is summed back to
(3, 1) by `sum_to_shape` before it is accumulated.
"""
from __future__ import annotations

import contextlib
import linecache
import os
import sys

import numpy as np


# ----------------------------------------------------------------------------------------
# Grad mode and anomaly mode: global switches read by every op.
# ----------------------------------------------------------------------------------------
class _Mode:
    grad_enabled = True   # build graph nodes for ops on tensors that require grad?
    anomaly = False       # check every forward output and backward gradient for NaN/Inf?
    in_backward_rule = False  # inside a node's backward: anomaly checks its result, not its steps
    version_clock = 0     # counts in-place ops; nodes and changed tensors note its value
    leaf_hooks = 0        # post-accumulate-grad hooks registered on leaves (0: the engine skips them)
    backward_depth = 0    # run_backward calls in progress (a checkpointed block's recompute nests)
    scope = None          # mg.viz.record_scopes(): the modules running now, outermost first; each
                          # op's node notes it (None, the usual case: nothing is noted)
    scope_name = None     # ... and the function that names a module there


mode = _Mode()


def is_grad_enabled() -> bool:
    return mode.grad_enabled


class _ModeSwitch(contextlib.ContextDecorator):
    """Set one field of `mode` inside a `with` block or a decorated function, then restore it.

    The previous values are kept on a stack, so one instance can be entered again before it
    exits (a decorated function that calls itself, or the same object in nested `with`s).
    """

    field, value = "grad_enabled", True

    def __enter__(self):
        self.__dict__.setdefault("_saved", []).append(getattr(mode, self.field))
        setattr(mode, self.field, self.value)
        return self

    def __exit__(self, *exc):
        setattr(mode, self.field, self._saved.pop())
        return False


class set_grad_enabled(_ModeSwitch):
    """Turn graph building on or off, as a function call, context manager or decorator.

    As a call (`mg.set_grad_enabled(False)`) it switches at once and stays switched; as
    `with mg.set_grad_enabled(False):` or `@mg.set_grad_enabled(False)` it switches only
    inside the block or function.
    """

    def __init__(self, enabled: bool):
        self.value = bool(enabled)
        self._saved = [mode.grad_enabled]  # what a `with` block restores on exit
        self._switched_by_init = True
        mode.grad_enabled = self.value

    def __call__(self, func):
        # Used as a decorator: undo the switch made by __init__, switch per call instead.
        mode.grad_enabled = self._saved.pop()
        self._switched_by_init = False
        return super().__call__(func)

    def __enter__(self):
        if self._switched_by_init:  # `with set_grad_enabled(x):` already switched in __init__
            self._switched_by_init = False
            return self
        return super().__enter__()


class no_grad(_ModeSwitch):
    """Inside `with mg.no_grad():` (or a function decorated `@mg.no_grad()`), ops build no graph.

    Use it for evaluation, for optimizer updates, and anywhere gradients are not wanted: it
    saves the memory the graph would hold.
    """

    field, value = "grad_enabled", False


class enable_grad(_ModeSwitch):
    """Re-enable graph building inside a `no_grad` region."""

    field, value = "grad_enabled", True


class detect_anomaly(_ModeSwitch):
    """Raise `FloatingPointError` at the first op whose forward or backward makes NaN or Inf.

    While active, every op records the line of user code that created it, so the error can
    say *where* the bad value came from.  It slows every op down: use it for debugging only.
    """

    field = "anomaly"

    def __init__(self, check_nan: bool = True):
        self.value = check_nan


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_call_site() -> str:
    """The first stack frame outside minigrad: 'file:line in function: source line'."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown location>"
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    source = linecache.getline(filename, lineno).strip()
    return f'File "{filename}", line {lineno}, in {frame.f_code.co_name}: {source}'


def nonfinite_kind(array: np.ndarray) -> str | None:
    """'NaN', 'Inf' or None for an array of floats (integers are always finite)."""
    if array.dtype.kind not in "fc":
        return None
    if np.isnan(array).any():
        return "NaN"
    if np.isinf(array).any():
        return "Inf"
    return None


# ----------------------------------------------------------------------------------------
# The engine.
# ----------------------------------------------------------------------------------------
def topological_order(root_nodes) -> list:
    """All nodes reachable from `root_nodes`, every consumer before its producers.

    Iterative depth-first search (no recursion, so a 10,000-op chain is fine), then the
    reversed post-order.
    """
    order, visited = [], set()
    for root in root_nodes:
        stack = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for t in node.inputs:
                parent = t._node
                if parent is not None and id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def sum_to_shape(grad, shape: tuple):
    """Undo broadcasting: sum `grad` over the dimensions that were broadcast to reach it.

    (2, 3, 4) -> (3, 1): sum over dim 0 (added in front), then over the last dim keeping it.
    Written with Tensor ops, so it is itself differentiable.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape)


def run_backward(roots, seeds, create_graph=False, capture=None, accumulate=True,
                 retain_graph=None):
    """Propagate `seeds` back through the graph (see _run_backward); then, at the end of the
    outermost backward, the callbacks that hooks queued (queue_callback)."""
    mode.backward_depth += 1
    try:
        results = _run_backward(roots, seeds, create_graph, capture, accumulate, retain_graph)
    except BaseException:
        if mode.backward_depth == 1:
            _callbacks.clear()          # a failed backward runs none of them
        raise
    finally:
        mode.backward_depth -= 1
    if mode.backward_depth == 0:
        while _callbacks:
            _callbacks.pop(0)()
    return results


def _run_backward(roots, seeds, create_graph=False, capture=None, accumulate=True,
                  retain_graph=None):
    """Propagate `seeds` (gradients of `roots`) back through the graph.

    roots:        output tensors;  seeds: dL/d(root) for each, same shapes.
    capture:      optional list of tensors whose gradient should be *returned* (for `grad`).
    accumulate:   add the gradients of leaf tensors into their `.grad` (as `backward` does).
    retain_graph: keep every node's saved values for another backward (default: create_graph);
                  otherwise each node is released once it has run.
    Returns the captured gradients (None where nothing flowed).
    """
    if retain_graph is None:
        retain_graph = create_graph
    from .tensor import Tensor  # the engine is imported by tensor.py; import late

    captured_nodes = {}   # id(node) -> position in capture, for non-leaf inputs
    captured_leaves = {}  # id(tensor) -> position in capture, for leaf inputs
    results = [None] * len(capture or ())
    for i, t in enumerate(capture or ()):
        if t._node is not None:
            captured_nodes[id(t._node)] = i
        else:
            captured_leaves[id(t)] = i

    clock = mode.version_clock   # the engine itself changes nothing in place
    with set_grad_enabled(create_graph):
        grads = {}            # id(node) -> gradient of that node's output so far
        owned = set()         # ids whose gradient array the engine may add into in place
        root_nodes = []
        for root, seed in zip(roots, seeds):
            if not isinstance(seed, Tensor):
                seed = Tensor(np.asarray(seed, dtype=root.dtype))
            if root._node is None:  # a leaf was asked for its own gradient
                _deliver_leaf(root, seed, accumulate, captured_leaves, results)
                continue
            key = id(root._node)
            grads[key] = grads[key] + seed if key in grads else seed
            root_nodes.append(root._node)

        order = topological_order(root_nodes)
        pending = None
        if mode.leaf_hooks and accumulate:
            pending = _hooked_leaf_edges(order)
            for key in captured_leaves:         # returned, not accumulated: not complete here
                pending.pop(key, None)
            for root in roots:
                if root._node is None and id(root) not in pending:
                    _fire_leaf_hooks(root)      # a hooked leaf asked for its own gradient
            pending = pending or None           # no hooked leaf in this graph: no bookkeeping
        for node in order:
            grad = grads.pop(id(node), None)
            if grad is None:
                if pending is not None:
                    _count_down(node, pending)
                continue
            if node.stamp != clock:   # released, or an in-place op ran since it was recorded
                check_saved_versions(node)
            if id(node) in captured_nodes:
                results[captured_nodes[id(node)]] = grad
            outer, mode.in_backward_rule = mode.in_backward_rule, True
            try:
                input_grads = node.backward(grad)
            finally:
                mode.in_backward_rule = outer
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for t, g, needed in zip(node.inputs, input_grads, node.needs_input_grad):
                if not needed or g is None:
                    continue
                if g.data.shape != t.data.shape:
                    g = sum_to_shape(g, t.data.shape)
                if g.data.dtype != t.data.dtype:
                    g = g.to(t.data.dtype)
                if mode.anomaly:
                    _check_backward(node, t, g)
                if t._node is None:
                    _deliver_leaf(t, g, accumulate, captured_leaves, results)
                elif create_graph:
                    key = id(t._node)
                    grads[key] = grads[key] + g if key in grads else g
                else:
                    _accumulate(grads, owned, id(t._node), g)
            if pending is not None:
                _count_down(node, pending)
            if not retain_graph:      # release(node), inlined: this loop is the engine's cost
                node.__dict__ = _RELEASED
    return results


_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed): the '{name}' node already ran a backward, which "
          "freed its inputs and saved values. Specify retain_graph=True if you need to backward "
          "through the graph a second time; or compute the forward again (a new graph), as a "
          "training step does")


# The whole state of a released node: its old attributes (inputs, output, saved arrays) are
# dropped with its old __dict__, and stamp -1 sends it to check_saved_versions, which refuses
# it.  One dict shared by all released nodes (nothing writes to a released node), because
# swapping a node's __dict__ for it costs less than emptying the node's own.
_RELEASED = {"released": True, "stamp": -1}


def release(node) -> None:
    """Free what `node` keeps for its backward (see _RELEASED)."""
    node.__dict__ = _RELEASED


def check_saved_versions(node) -> None:
    """Refuse a released node, and a node whose input or saved output an in-place op changed
    after it was recorded (tensor._bump_version stamps the change with the version clock)."""
    if node.released:
        raise RuntimeError(_FREED.format(name=node.name))
    for i, t in enumerate(node.inputs):
        base = getattr(t, "_base", None)
        owner = t if base is None else base
        if getattr(owner, "_modified_at", -1) > node.stamp:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: input {i} of '{node.name}', a tensor of shape {t.shape} "
                f"and dtype {t.dtype}, is at version {owner._version_count}, changed after "
                f"'{node.name}' recorded it. Use the out-of-place form (x = x + y instead of "
                "x += y), or .clone() the tensor before changing it")
    if node.saves_output and getattr(node, "output_modified_at", -1) > node.stamp:
        raise RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: the output of '{node.name}', which its backward reads, was "
            "changed in place after it was computed. Use the out-of-place form "
            "(y = y + 1 instead of y += 1), or .clone() the output before changing it")


def _accumulate(grads, owned, key, g):
    """grads[key] += g without a graph, reusing memory where it is safe (§8 模型效率).

    A backward rule may hand the same array to several inputs (Add returns g, g), so an
    incoming gradient is only written into when it is *private*: an array this engine summed
    itself, or a fresh one marked `_private` by its op (ScatterAdd's zeros).  A gradient marked
    `_scatter = (index, values)` is zero outside a basic-slice `index` (the backward of
    x[index], e.g. of split/chunk), so adding it touches only that slice.
    """
    if key not in grads:
        grads[key] = g
        if getattr(g, "_private", False):
            owned.add(key)
        return
    acc = grads[key]
    if key not in owned and getattr(g, "_private", False):
        acc, g = g, acc                              # write into the private one
        grads[key] = acc
        owned.add(key)
    if key in owned:
        scatter = getattr(g, "_scatter", None)
        if scatter is not None:
            acc.data[scatter[0]] += scatter[1]       # only the slice that is not zero
        else:
            np.add(acc.data, g.data, out=acc.data)
        return
    grads[key] = acc + g                             # a new array, ours from now on
    owned.add(key)


# ----------------------------------------------------------------------------------------
# Hooks for data-parallel training (minigrad.distributed.DistributedDataParallel).
# ----------------------------------------------------------------------------------------
_callbacks = []   # run, in order, when the outermost backward ends


def queue_callback(fn) -> None:
    """Run `fn()` once the backward now in progress ends (as PyTorch's
    `Variable._execution_engine.queue_callback`); outside a backward, at once."""
    if mode.backward_depth == 0:
        fn()
    else:
        _callbacks.append(fn)


class RemovableHandle:
    """What register_post_accumulate_grad_hook returns: `.remove()` takes the hook off."""

    def __init__(self, tensor, hook):
        self.tensor, self.hook = tensor, hook

    def remove(self) -> None:
        hooks = self.tensor.__dict__.get("_post_accumulate_grad_hooks", [])
        if self.hook in hooks:
            hooks.remove(self.hook)
            mode.leaf_hooks -= 1
        self.hook = None


def register_post_accumulate_grad_hook(tensor, hook) -> RemovableHandle:
    """hook(tensor) after a backward has added the leaf's whole gradient of this pass into
    `tensor.grad` (once per backward, however many ops used the leaf).  Not called by
    `mg.grad`, which accumulates nothing."""
    if tensor._node is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor (a parameter) "
                           "accumulates a .grad; this tensor is the result of an op")
    if not tensor.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: the tensor does not require grad")
    tensor.__dict__.setdefault("_post_accumulate_grad_hooks", []).append(hook)
    mode.leaf_hooks += 1
    return RemovableHandle(tensor, hook)


def _hooked_leaf_edges(order) -> dict:
    """id(leaf) -> how many edges of the graph lead into it, for the leaves with hooks."""
    pending = {}
    for node in order:
        for t in node.inputs:
            if t._node is None and t.__dict__.get("_post_accumulate_grad_hooks"):
                pending[id(t)] = pending.get(id(t), 0) + 1
    return pending


def _count_down(node, pending) -> None:
    """`node` has delivered its gradients: a hooked leaf whose last edge this was is done."""
    for t in node.inputs:
        left = pending.get(id(t))
        if left is None:
            continue
        if left == 1:
            del pending[id(t)]
            _fire_leaf_hooks(t)
        else:
            pending[id(t)] = left - 1


def _fire_leaf_hooks(t) -> None:
    for hook in list(t.__dict__.get("_post_accumulate_grad_hooks", ())):
        hook(t)


def _deliver_leaf(t, g, accumulate, captured_leaves, results):
    i = captured_leaves.get(id(t))
    if i is not None:
        results[i] = g if results[i] is None else results[i] + g
    elif accumulate and t.requires_grad:
        # Gradients accumulate, as in PyTorch: call zero_grad() (or set .grad = None)
        # between steps.
        t.grad = g if t.grad is None else t.grad + g


def _check_backward(node, t, g):
    kind = nonfinite_kind(g.data)
    if kind is not None:
        site = getattr(node, "creation_site", "<unknown location>")
        raise FloatingPointError(
            f"detect_anomaly: the backward of '{node.name}' produced {kind} in the gradient "
            f"of an input of shape {t.shape}.\n  The '{node.name}' op was created at: {site}"
        )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensors)/d(leaf) into every leaf's `.grad` (see `Tensor.backward`).
    `retain_graph=True` keeps the graph for another backward (default: create_graph)."""
    from .tensor import Tensor

    if isinstance(tensors, Tensor):
        tensors = [tensors]
        grad_tensors = [grad_tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    seeds = [_make_seed(t, g, "backward") for t, g in zip(tensors, grad_tensors)]
    run_backward(tensors, seeds, create_graph=create_graph, retain_graph=retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple, without touching any `.grad`.

    With `create_graph=True` the returned gradients are part of a graph themselves, so you
    can differentiate them again: second derivatives, Hessian-vector products (§2.1).
    As `backward`, it frees the graph unless `retain_graph=True` (default: create_graph).
    """
    from .tensor import Tensor

    single_output = isinstance(outputs, Tensor)
    outputs = [outputs] if single_output else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    seeds = [_make_seed(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    results = run_backward(outputs, seeds, create_graph=create_graph, capture=inputs,
                           accumulate=False, retain_graph=retain_graph)
    for i, (r, t) in enumerate(zip(results, inputs)):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it")
        if r is not None and not create_graph:
            results[i] = r.detach()
    return tuple(results)


def _make_seed(t, g, who):
    from .tensor import Tensor

    if not t.requires_grad:
        raise RuntimeError(
            f"{who}: the tensor of shape {t.shape} does not require grad and has no graph; "
            "was it computed under no_grad(), or from tensors with requires_grad=False?")
    if g is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"{who}: a gradient can be created implicitly only for a scalar output, but the "
                f"output has shape {t.shape}; pass gradient= a tensor of that shape "
                "(e.g. mg.ones_like(out)), or reduce the output first (out.sum())")
        return Tensor(np.ones(t.shape, dtype=t.dtype))
    g = g if isinstance(g, Tensor) else Tensor(np.asarray(g, dtype=t.dtype))
    if g.shape != t.shape:
        raise RuntimeError(f"{who}: gradient has shape {g.shape} but the output has shape {t.shape}")
    return g
