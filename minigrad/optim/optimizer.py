"""The Optimizer base class: parameter groups, zero_grad, step, state_dict (§3.2 预训练 · 模型训练).

Training a model (the chapter's "模型训练" step) is a loop of four lines:

    loss = model(x, y)          # forward: build the graph
    optimizer.zero_grad()       # forget last step's gradients (they accumulate!)
    loss.backward()             # backward: every parameter p gets p.grad = dL/dp
    optimizer.step()            # update: p <- p - (something computed from p.grad)

Everything an optimizer needs is in this file except the "something", which each
subclass writes as one formula (sgd.py, adam.py).

Parameter groups, as in PyTorch.  An optimizer is given either an iterable of Tensors,

    SGD(model.parameters(), lr=0.1)

or an iterable of dicts, each a group of parameters with its own options; options a
group does not give come from the optimizer's defaults:

    AdamW([{"params": decay_params, "weight_decay": 0.1},
           {"params": no_decay_params, "weight_decay": 0.0}], lr=3e-4)

Updates are plain NumPy on `p.data`, in place, outside the graph.  They never modify
`p.grad` in place: the engine may hand the *same* gradient Tensor to two parameters
(the backward of `a + b` returns `g, g`), so writing into one would change the other.

`state_dict()` returns plain Python: numbers, lists and NumPy arrays (copies), so a
training loop can checkpoint it and `load_state_dict()` can resume exactly.
"""
from __future__ import annotations

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor


class Optimizer:
    """Base class.  A subclass passes its `defaults` (the options every group gets unless
    the group sets its own), and implements `_update(p, grad, group, state)` for one
    parameter.  It may also override `_check_group(group)` to validate options."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}          # Tensor -> dict of per-parameter buffers (momentum, m, v, ...)
        self.param_groups: list = []
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, got a "
                f"single {type(params).__name__}; wrap it in a list: [{'p' if isinstance(params, Tensor) else '{...}'}]")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            f"dicts, got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list (did the model "
                             "have no parameters, or was a generator like model.parameters() "
                             "already consumed?)")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # --- parameter groups ----------------------------------------------------------------
    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters (a dict with key "params" and optional options)."""
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(group).__name__} "
                            "(do not mix Tensors and dicts in one params list)")
        if "params" not in group:
            raise ValueError(f"{name}: a parameter group needs the key 'params'")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: parameter group {len(self.param_groups)} is empty")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name} can only optimize minigrad Tensors, but parameter {i} of "
                                f"group {len(self.param_groups)} is a {type(p).__name__}")
            if p.dtype.kind != "f":
                raise TypeError(f"{name} can only optimize floating-point tensors, but parameter "
                                f"{i} of group {len(self.param_groups)} has dtype {p.dtype} "
                                f"(shape {p.shape})")
            if not p.is_leaf:
                raise ValueError(f"{name} can't optimize a non-leaf tensor (parameter {i}, shape "
                                 f"{p.shape}): it is the result of an op; optimize its inputs")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: parameter group {len(self.param_groups)} lists the same "
                             "tensor twice (it would be updated twice per step)")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise TypeError(f"{name}: unknown option(s) {sorted(unknown)} in a parameter group; "
                            f"known options: {sorted(self.defaults)}")
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict) -> None:
        """Validate a group's options (subclasses raise ValueError with a clear message)."""
        if group["lr"] < 0.0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate lr={group['lr']} "
                             "(must be >= 0)")

    # --- the training-loop API -----------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: `p.grad = None` (default), or zeros of p's shape."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.grad = None if set_to_none else Tensor(np.zeros_like(p.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient; parameters whose grad is None are
        skipped (they took no part in the loss).  `closure`, if given, re-computes the loss
        (zero_grad + forward + backward) and its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
                if grad.shape != p.shape:
                    raise ValueError(f"{type(self).__name__}.step: a parameter of shape {p.shape} "
                                     f"has a gradient of shape {grad.shape}")
                self._update(p, grad, group, self.state.setdefault(p, {}))
        return loss

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    # --- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{'state': {index: {name: array or number}}, 'param_groups': [{options, 'params': [index]}]}.

        Parameters are named by their position (0, 1, ... across all groups in order), as
        in PyTorch, so the dict holds no Tensors and can be saved and loaded into a new
        optimizer built over the same parameters in the same order.  Arrays are copies.
        """
        index, groups = {}, []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            g = {k: (list(v) if isinstance(v, tuple) else v)
                 for k, v in group.items() if k != "params"}
            g["params"] = [index[id(p)] for p in group["params"]]
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and buffers saved by `state_dict()` (also after a JSON round trip,
        where the integer keys became strings and tuples became lists)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                             f"'param_groups' (from state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has {len(self.param_groups)}")
        params_by_index = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: group {i} has {len(saved['params'])} "
                                 f"parameters in the saved state but {len(group['params'])} here")
            for idx, p in zip(saved["params"], group["params"]):
                params_by_index[int(idx)] = p
        new_state = {}
        for key, buffers in state_dict["state"].items():
            p = params_by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {key}")
            new_state[p] = {}
            for k, v in buffers.items():
                if isinstance(v, np.ndarray) or isinstance(v, Tensor):
                    v = np.array(v.data if isinstance(v, Tensor) else v, dtype=p.dtype)
                    if v.shape != p.shape:
                        raise ValueError(f"{name}.load_state_dict: buffer '{k}' of parameter "
                                         f"{key} has shape {v.shape}, the parameter {p.shape}")
                new_state[p][k] = v
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(self.defaults.get(k), tuple) else v
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            opts = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {opts}")
        return "\n".join(lines + [")"])
