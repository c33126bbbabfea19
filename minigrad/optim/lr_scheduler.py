"""Learning-rate schedules (§3.2 预训练 · 模型训练: large models are trained with a warm-up
followed by a slow decay of the learning rate).

A scheduler rewrites `group["lr"]` of its optimizer's parameter groups.  Call
`scheduler.step()` once per training step (or epoch), *after* `optimizer.step()`:

    for t in range(total_steps):
        loss = ...; optimizer.zero_grad(); loss.backward(); optimizer.step()
        scheduler.step()

As in PyTorch, creating a scheduler already applies the schedule at t = 0, and each
`step()` moves on to t = 1, 2, ...  `base_lr` is each group's learning rate when the
scheduler was created (stored in the group as "initial_lr").
"""
from __future__ import annotations

import math

from .optimizer import Optimizer


class LRScheduler:
    """Base class: a subclass implements `lr_at(t, base_lr, group_index)`."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a minigrad Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in g for g in optimizer.param_groups):
            raise KeyError("last_epoch != -1 (resuming) needs 'initial_lr' in every param group; "
                           "create the scheduler with last_epoch=-1 and load_state_dict() instead")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()                                   # apply the schedule at t = last_epoch + 1

    def lr_at(self, t: int, base_lr: float, i: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance to the next step and write its learning rate into every group."""
        self.last_epoch += 1
        self._last_lr = [self.lr_at(self.last_epoch, base, i) for i, base in enumerate(self.base_lrs)]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list:
        """The learning rates (one per group) set by the last `step()`."""
        return list(self._last_lr)

    # Checkpoints: plain numbers and lists.  Functions (LambdaLR's lambdas) are not saved:
    # re-create the scheduler with the same functions, then load the state.
    _saved = ("last_epoch", "base_lrs", "_last_lr")

    def state_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items()
                if k in self._saved}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the position in the schedule, and put its learning rates back into the
        optimizer's groups (so resuming needs no extra step)."""
        missing = set(self._saved) - set(state_dict)
        if missing:
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing {sorted(missing)}")
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has "
                             f"{len(state_dict['base_lrs'])} group(s), the optimizer "
                             f"{len(self.optimizer.param_groups)}")
        for k in self._saved:
            setattr(self, k, list(state_dict[k]) if isinstance(state_dict[k], list) else state_dict[k])
        for group, base, lr in zip(self.optimizer.param_groups, self.base_lrs, self._last_lr):
            group["initial_lr"], group["lr"] = base, lr


def _per_group(value, optimizer, what):
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} {what} (one per param "
                             f"group), got {len(value)}")
        return list(value)
    return [value] * len(optimizer.param_groups)


class LambdaLR(LRScheduler):
    """lr(t) = base_lr * lr_lambda(t).  `lr_lambda` is a function of the step, or a list
    of functions, one per parameter group."""

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambdas = _per_group(lr_lambda, optimizer, "lr_lambdas")
        if not all(callable(f) for f in self.lr_lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the step (or a list of them)")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr, i):
        return base_lr * self.lr_lambdas[i](t)


class StepLR(LRScheduler):
    """lr(t) = base_lr * gamma ** floor(t / step_size): multiply by gamma every step_size steps."""

    _saved = LRScheduler._saved + ("step_size", "gamma")

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr, i):
        return base_lr * self.gamma ** (t // self.step_size)


class WarmupCosine(LRScheduler):
    """Linear warm-up from 0, then a cosine decay to `min_lr` (GPT-style pre-training).

        lr(t) = base_lr * t / warmup_steps                                    t <  warmup_steps
        lr(t) = min_lr + (base_lr - min_lr) * (1 + cos(pi * s)) / 2           warmup_steps <= t
                where s = min(1, (t - warmup_steps) / (total_steps - warmup_steps))

    so lr rises from 0 to base_lr over the first `warmup_steps` steps, then falls along half
    a cosine period to `min_lr` at t = total_steps, and stays there afterwards.  `min_lr` is
    an absolute learning rate (or a list, one per group), like eta_min of PyTorch's
    CosineAnnealingLR; the warm-up is that of Hugging Face's get_cosine_schedule_with_warmup.
    """

    _saved = LRScheduler._saved + ("warmup_steps", "total_steps", "min_lrs")

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_lr=0.0,
                 last_epoch: int = -1):
        if not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ValueError(f"WarmupCosine: warmup_steps must be an int >= 0, got {warmup_steps!r}")
        if not isinstance(total_steps, int) or total_steps <= warmup_steps:
            raise ValueError(f"WarmupCosine: total_steps must be an int > warmup_steps "
                             f"({warmup_steps}), got {total_steps!r}")
        self.warmup_steps, self.total_steps = warmup_steps, total_steps
        self.min_lrs = _per_group(min_lr, optimizer, "min_lr values")
        if any(m < 0 for m in self.min_lrs):
            raise ValueError(f"WarmupCosine: min_lr must be >= 0, got {min_lr}")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr, i):
        if t < self.warmup_steps:
            return base_lr * t / self.warmup_steps
        s = min(1.0, (t - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        min_lr = self.min_lrs[i]
        return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * s))


class WarmupInverseSqrt(LRScheduler):
    """The original Transformer's schedule ("Attention Is All You Need", §5.3), scaled so that
    its peak is base_lr:

        lr(t) = base_lr * min(n / warmup_steps, sqrt(warmup_steps / n)),   n = t + 1

    a linear rise over the first `warmup_steps` steps, then a decay ∝ 1/√n with no end point
    (the paper's d_model^-0.5 · min(n^-0.5, n · warmup^-1.5) divided by its value at n =
    warmup).  n counts from 1, as the paper's step_num does, so the first step is not at 0.
    """

    _saved = LRScheduler._saved + ("warmup_steps",)

    def __init__(self, optimizer, warmup_steps: int, last_epoch: int = -1):
        if not isinstance(warmup_steps, int) or warmup_steps < 1:
            raise ValueError(f"WarmupInverseSqrt: warmup_steps must be an int >= 1, got {warmup_steps!r}")
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)

    def lr_at(self, t, base_lr, i):
        n = t + 1
        return base_lr * min(n / self.warmup_steps, math.sqrt(self.warmup_steps / n))
