"""Primitive ops: each a `Function` subclass with its forward (NumPy) and backward (Tensor ops).

    elementwise.py  add sub mul div neg pow exp log sqrt tanh sigmoid relu abs erf clamp ...
    reduce.py       sum, max
    movement.py     reshape, permute, expand, getitem (and its adjoint, scatter-add), cat
    matmul.py       batched, broadcasting matrix product
    softmax.py      softmax and log-softmax along a dim (kernel targets, see backends/)
Everything else (mean, var, logsumexp, layer_norm, cross_entropy, attention ...) is composed
from these, so its gradient comes for free.
"""
