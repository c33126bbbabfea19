"""Module: the base of every layer and model, as in PyTorch (§3.1: a Transformer is a tree of
modules).  Assigning a Parameter or a Module to an attribute registers it; the tree gives you
parameters(), state_dict(), train()/eval() and a readable repr for free."""
from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .. import autograd
from ..tensor import Tensor, parse_to_args
from .parameter import Parameter

LoadResult = namedtuple("LoadResult", ["missing_keys", "unexpected_keys"])


class Module:
    """Subclass it, create parameters and submodules in __init__, compute in forward()."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    # --- registration -----------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called; "
                                 "call super().__init__() first in your __init__")
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Called only when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_modules", "_buffers"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True):
        """A tensor that belongs to the module but is not learned (e.g. a causal mask)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: "Module | None"):
        self._modules[name] = module

    # --- traversal --------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules is listed once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for mod_prefix, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- modes ------------------------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (dropout active).  Returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (dropout off).  Returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.data))

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, *args, **kwargs):
        """Convert every floating-point parameter and buffer to a dtype (e.g. float64 for
        gradient checks), in place, and return self.  Takes PyTorch's forms: to(dtype),
        to("cpu"), to("cpu", dtype), to(device=..., dtype=...); the CPU is the one device
        (tensor.parse_to_args says why), so a device alone changes nothing."""
        _, dtype, _ = parse_to_args("Module.to", args, kwargs)
        if dtype is None:
            return self
        for t in list(self.parameters()) + list(self.buffers()):
            if t.dtype.kind == "f":
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dtype))
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # --- state ------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, Tensor]":
        """Every parameter and persistent buffer by dotted name (sharing data, not copies)."""
        out = OrderedDict()
        for mod_prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if p is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = b
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> LoadResult:
        """Copy values into this module's parameters and buffers.

        Mis-shaped entries are always an error.  With strict=True, missing and unexpected
        keys are too; the message lists all three kinds at once.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mis_shaped = []
        for k, target in own.items():
            if k in state_dict:
                value = state_dict[k]
                shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
                if shape != target.shape:
                    mis_shaped.append(f"{k}: checkpoint {shape} vs model {target.shape}")
        problems = []
        if mis_shaped:
            problems.append("mis-shaped: " + "; ".join(mis_shaped))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"load_state_dict for {type(self).__name__} failed:\n  "
                               + "\n  ".join(problems))
        for k, target in own.items():
            if k in state_dict:
                value = state_dict[k]
                array = value.data if isinstance(value, Tensor) else np.asarray(value)
                # A C-ordered copy whatever the source's layout (a transposed view from a
                # Conv1D checkpoint, a Fortran-ordered array): every product then takes the
                # same BLAS path as for a freshly built model (measured in benchmarks/README.md).
                target.data = np.array(array, dtype=target.dtype, order="C", copy=True)
        return LoadResult(missing, unexpected)

    # --- calling and printing -----------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if autograd.mode.scope is None:         # the usual case
            return self.forward(*args, **kwargs)
        return _forward_in_scope(self, args, kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


def _forward_in_scope(module, args, kwargs):
    """module.forward() with the module's name pushed on autograd.mode.scope, while
    mg.viz.record_scopes() is on: every op recorded inside notes the modules it ran in, so
    that the graph view (mg.viz.graph) can group a module's ops under its name."""
    mode = autograd.mode
    outer = mode.scope
    mode.scope = outer + (mode.scope_name(module),)
    try:
        return module.forward(*args, **kwargs)
    finally:
        mode.scope = outer
