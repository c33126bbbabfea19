"""Optimizers, learning-rate schedules and gradient clipping (§3.2 预训练 · 模型训练).

    opt = mg.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    sched = mg.optim.lr_scheduler.WarmupCosine(opt, warmup_steps=100, total_steps=5000)
    ...
    loss.backward()
    mg.optim.clip_grad_norm_(model.parameters(), 1.0)
    opt.step(); opt.zero_grad(); sched.step()

optimizer.py  the base class (param groups, zero_grad, step, state_dict)
sgd.py        SGD (momentum, Nesterov, weight decay)
adam.py       Adam, AdamW
lr_scheduler.py  LambdaLR, StepLR, WarmupCosine, WarmupInverseSqrt
clip.py       clip_grad_norm_, clip_grad_value_
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "clip_grad_norm_",
           "clip_grad_value_"]
