"""Activation (gradient) checkpointing: trade compute for memory (§8 模型规模).

Backward needs the activations of the forward: every op keeps its inputs (or its output)
until its backward runs.  For a Transformer of L blocks that is O(L · B · T · C) floats plus
the (B, nh, T, T) attention matrices of every block, held from the forward until the
backward reaches them: most of a training step's peak memory.

    y = checkpoint(block, x)                  # as torch.utils.checkpoint.checkpoint

runs `block(x)` under no_grad (no graph, so its activations are freed at once) and records
a single node that keeps only the input x.  When backward reaches that node it runs the
block *again*, with the graph on, from the saved x, back-propagates the incoming gradient
through that fresh graph, and hands on the gradients of x and of the block's parameters.
One more forward per block (about +1/3 of a step's arithmetic, as backward ≈ 2 forwards);
in exchange only one block's activations are alive at a time, plus the block inputs.

Dropout inside the block draws its masks again in the recomputation; the random state of
the first forward (minigrad's generator and a per_sample_dropout block, random.py) is
recorded and replayed, so both forwards use the same masks, and the generator is left where
the first forward left it.

Which parameters: the node's inputs are the tensor arguments and `params`, by default the
parameters of `fn` when it is a Module (or a bound method of one).  Their gradients flow
out of the node like any op's, so `mg.grad`, `backward` and the hooks of
DistributedDataParallel all see them.  A parameter that fn reads through a closure and
that is not in `params` still gets its gradient, added into its `.grad` by the inner
backward (PyTorch's "reentrant" checkpoint does the same), but `mg.grad` cannot return it.

Not supported: create_graph=True through a checkpoint (a second derivative); fn must return
one Tensor.
"""
from __future__ import annotations

import contextlib

from . import autograd
from . import random as _random
from .autograd import enable_grad, no_grad
from .tensor import Function, Tensor

__all__ = ["checkpoint"]


class _Checkpoint(Function):
    name = "checkpoint"
    differentiable = False      # its backward runs a backward of its own

    def forward(self, *arrays, run):
        self.ctx = run          # (fn, args, tensor positions, params, rng state)
        fn, args, _, _, _ = run
        with no_grad():
            out = fn(*args)
        if not isinstance(out, Tensor):
            raise TypeError(f"checkpoint: the function must return one Tensor, got "
                            f"{type(out).__name__} (wrap it: lambda x: block(x)[0])")
        return out.data

    def backward(self, grad):
        if autograd.is_grad_enabled():
            raise RuntimeError("checkpoint: create_graph=True (a second derivative) through a "
                               "checkpointed function is not supported")
        fn, args, positions, params, rng = self.ctx
        args = list(args)
        fresh = []
        for i, t in zip(positions, self.inputs[:len(positions)]):
            leaf = Tensor(t.data)                   # the saved input, cut from the outer graph
            if t.requires_grad:
                leaf.requires_grad_(True)
            args[i] = leaf
            fresh.append(leaf)
        replay = contextlib.nullcontext() if rng is None else _random.replay_state(rng)
        with enable_grad(), replay:
            out = fn(*args)                         # the same forward, now with its graph
        wanted = [t for t in fresh + list(params)]
        if not out.requires_grad:
            return tuple(None for _ in wanted)
        grads = autograd.run_backward([out], [grad], capture=wanted, accumulate=True)
        return tuple(None if g is None or not t.requires_grad else g
                     for t, g in zip(wanted, grads))


def _default_params(fn) -> list:
    from .nn.module import Module
    owner = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
    return list(owner.parameters()) if isinstance(owner, Module) else []


def checkpoint(fn, *args, params=None, preserve_rng_state: bool = True):
    """fn(*args), without keeping fn's activations for backward: they are recomputed when
    backward reaches this point (see the module docstring).  Tensor arguments are the
    inputs whose gradients flow; other arguments (masks, flags) are passed as they are.
    params: the tensors fn uses besides its arguments (default: fn's parameters if it is a
    Module or a Module's method).  preserve_rng_state=False skips recording the random
    state: the recomputation then draws new dropout masks (wrong gradients with dropout).
    Without grad mode, or when nothing requires grad, it is
    just fn(*args)."""
    params = _default_params(fn) if params is None else list(params)
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensors = [args[i] for i in positions]
    if not autograd.is_grad_enabled() or not any(t.requires_grad for t in tensors + params):
        return fn(*args)
    rng = _random.capture_state() if preserve_rng_state else None   # None: fresh draws
    return _Checkpoint.apply(*tensors, *params, run=(fn, args, positions, params, rng))


class GradientCheckpointing:
    """`model.gradient_checkpointing_enable()` as in Hugging Face: every Transformer block of
    the model runs under `checkpoint` while training (GPT's blocks, BERT's encoder layers).
    Calls that ask for the KV cache or the attention weights run without it (the cache and
    the weights are activations it would have to keep)."""

    def gradient_checkpointing_enable(self):
        for m in self.modules():
            if hasattr(type(m), "gradient_checkpointing"):
                m.gradient_checkpointing = True
        return self

    def gradient_checkpointing_disable(self):
        for m in self.modules():
            if hasattr(type(m), "gradient_checkpointing"):
                m.gradient_checkpointing = False
        return self

    @property
    def is_gradient_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())
