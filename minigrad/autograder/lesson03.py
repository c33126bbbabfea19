"""Checks for lesson 3: self-attention (§4.1 自注意力机制).  Stubs: lessons/03_attention/."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..backends import numpy_ref
from ..nn import attention as _attention
from ..nn import functional as F
from ..tensor import Tensor
from .core import Lesson, assert_close, forbid_function, get, is_tensor, require, to_array, type_name
from .probes import student_gradients

_NOTEBOOK = "Lesson 3's notebook"

LESSON = Lesson(3, "03_attention", "Self-attention", "§4.1 自注意力机制")


@LESSON.task("3.1", "the causal mask",
             nudge=f"{_NOTEBOOK}, part 4 (masks), §4.1: a language model predicts token t+1 from "
                   "tokens 0..t, so row t (the query) may see columns 0..t (the keys) and nothing "
                   "after: the lower triangle, diagonal included. NumPy has a function for the "
                   "lower triangle of a matrix.")
def check_causal_mask(ex):
    causal_mask = get(ex, "causal_mask")
    for T in (1, 4, 7):
        assert_close(causal_mask(T), nn.causal_mask(T), f"causal_mask({T})",
                     nudge="True means the key takes part; row = query, column = key")


@LESSON.task("3.2", "the backward of softmax",
             nudge="The docstring's derivation: the softmax's Jacobian is yᵢ(δᵢⱼ − yⱼ), so "
                   "∂L/∂xⱼ = yⱼ·(gⱼ−Σᵢgᵢyᵢ), the sum taken along dim for each row separately. "
                   "Never build the Jacobian; keep the summed dim so the sum broadcasts back.")
def check_softmax_backward(ex):
    softmax_backward = get(ex, "softmax_backward")
    rng = np.random.default_rng(9)
    for shape, dim in (((4, 5), -1), ((2, 3, 4), 1), ((6,), 0)):
        x = rng.standard_normal(shape)
        g = rng.standard_normal(shape)
        y = numpy_ref.softmax(x, dim)
        expected = numpy_ref.softmax_backward(y, g, dim)
        t = Tensor(x, requires_grad=True)
        t.softmax(dim).backward(Tensor(g))                       # and the same by autograd
        np.testing.assert_allclose(expected, t.grad.data, atol=1e-12)
        out = softmax_backward(y.copy(), g.copy(), dim)
        require(not is_tensor(out), "softmax_backward returns a NumPy array",
                "it returned a Tensor (this task is NumPy only)")
        assert_close(out, expected, f"softmax_backward for shape {shape}, dim={dim}", atol=1e-12,
                     nudge="" if dim == -1 else "sum along the dim you are given")


@LESSON.task("3.3", "the padding mask",
             nudge=f"{_NOTEBOOK}, part 4 (masks): key s of sequence b is real when s < lengths[b]. "
                   "Comparing a row of positions with a column of lengths broadcasts to (B, S); "
                   "then give it two axes of size 1 in the middle so it broadcasts over the heads "
                   "and the queries of scores (B, n_heads, T, S).")
def check_padding_mask(ex):
    padding_mask = get(ex, "padding_mask")
    lengths = np.array([3, 5, 1])
    what = "padding_mask([3, 5, 1], S=5)"
    out = to_array(padding_mask(lengths, 5), what)
    is_pad = np.arange(5)[None, :] >= lengths[:, None]                   # PyTorch's convention
    assert_close(out, _attention.padding_mask_to_keep(is_pad), what,
                 nudge="True at real tokens, shape (B, 1, 1, S)")


@LESSON.task("3.4", "scaled dot-product attention with masks",
             nudge=f"§4.1 and {_NOTEBOOK}, parts 2-4: Attention(Q, K, V) = softmax(QKᵀ/√d_k)·V, "
                   "the softmax over the keys (the last axis). A masked score must become −inf "
                   "before the softmax so that its weight is exactly 0 (mg.where picks between "
                   "two tensors by a bool mask); Tensor.mT transposes the last two axes.")
def check_attention(ex):
    attend = get(ex, "scaled_dot_product_attention")
    rng = np.random.default_rng(10)
    B, H, T, d = 2, 2, 4, 8
    q, k, v = (Tensor(rng.standard_normal((B, H, T, d)).astype(np.float32)) for _ in range(3))
    causal = np.tril(np.ones((T, T), dtype=bool))
    pad = np.ones((B, 1, 1, T), dtype=bool)
    pad[1, ..., 2:] = False                                              # sequence 1 has length 2
    no_keys = np.ones((T, T), dtype=bool)
    no_keys[0] = False                                                   # query 0 sees no key
    cases = [("no mask", None), ("a causal mask", causal), ("a padding mask (B, 1, 1, S)", pad),
             ("causal & padding", causal & pad), ("a row with every key masked", no_keys)]
    refs = [F.scaled_dot_product_attention(q, k, v, attn_mask=m, return_weights=True)
            for _, m in cases]
    with forbid_function(F.scaled_dot_product_attention):
        for (name, mask), (ref_out, ref_w) in zip(cases, refs):
            result = attend(q, k, v, mask=mask)
            require(isinstance(result, tuple) and len(result) == 2,
                    "scaled_dot_product_attention returns (out, weights)",
                    f"it returned a {type_name(result)}")
            out, w = result
            assert_close(w, ref_w, f"the attention weights with {name}", atol=1e-5,
                         nudge=_WEIGHTS_NUDGE.get(name, ""))
            assert_close(out, ref_out, f"the output with {name}", atol=1e-5)
        out, _ = attend(q, k, v, mask=no_keys)
        row = to_array(out, "out")[:, :, 0]
        require(np.all(row == 0), "a query whose keys are all masked gives output 0",
                f"query 0's output has {int((row != 0).sum())} non-zero entries (largest "
                f"{float(np.abs(row).max()):.3g})",
                nudge="a large negative score still gets weight 1/S when every score is masked; "
                      "−inf gets 0")
        # gradients flow through the student's composition (float64, causal)
        q64, k64, v64 = (rng.standard_normal((1, 3, 4)) for _ in range(3))
        w = rng.standard_normal((1, 3, 4))
        tril = np.tril(np.ones((3, 3), bool))
        grads = student_gradients(ex, "scaled_dot_product_attention",
                                  [Tensor(a, requires_grad=True) for a in (q64, k64, v64)], w,
                                  "scaled_dot_product_attention(q, k, v, mask)",
                                  kwargs={"mask": tril}, output=0)
        ref = [Tensor(a, requires_grad=True) for a in (q64, k64, v64)]
        (F.scaled_dot_product_attention(*ref, attn_mask=tril) * Tensor(w)).sum().backward()
        for name, g, r in zip("qkv", grads, ref):
            assert_close(g, r.grad, f"the gradient of {name} through your attention (float64, "
                         "causal), against the exact gradient", atol=1e-9)


_WEIGHTS_NUDGE = {
    "no mask": "the scores are scaled by 1/√d_k, and each query's weights sum to 1 over the keys",
    "a causal mask": "masked scores become −inf before the softmax, not after it",
}
