"""Checks for lesson 3: self-attention (§4.1 自注意力机制).  Stubs: lessons/03_attention/."""
from __future__ import annotations

import numpy as np

from .. import nn
from ..backends import numpy_ref
from ..gradcheck import GradcheckError, gradcheck
from ..nn import attention as _attention
from ..nn import functional as F
from ..tensor import Tensor
from .core import CheckFailed, Lesson, assert_close, forbid_function, get, require, to_array

LESSON = Lesson(3, "03_attention", "Self-attention", "§4.1 自注意力机制")


@LESSON.task("3.1", "the causal mask",
             hint="np.tril(np.ones((T, T), dtype=bool)): row t is True in columns 0..t")
def check_causal_mask(ex):
    causal_mask = get(ex, "causal_mask")
    for T in (1, 4, 7):
        assert_close(causal_mask(T), nn.causal_mask(T), f"causal_mask({T})")


@LESSON.task("3.2", "the backward of softmax",
             hint="return y * (g - np.sum(g * y, axis=dim, keepdims=True))")
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
        require(not isinstance(out, Tensor), "return a NumPy array (this task is NumPy only)")
        assert_close(out, expected, f"softmax_backward for shape {shape}, dim={dim}", atol=1e-12)


@LESSON.task("3.3", "the padding mask",
             hint="keep = np.arange(S)[None, :] < lengths[:, None]   # (B, S); "
                  "return keep[:, None, None, :]")
def check_padding_mask(ex):
    padding_mask = get(ex, "padding_mask")
    lengths = np.array([3, 5, 1])
    out = to_array(padding_mask(lengths, 5), "padding_mask")
    is_pad = np.arange(5)[None, :] >= lengths[:, None]                   # PyTorch's convention
    assert_close(out, _attention.padding_mask_to_keep(is_pad), "padding_mask([3, 5, 1], S=5)")


@LESSON.task("3.4", "scaled dot-product attention with masks",
             hint="scores = q @ k.mT / math.sqrt(d_k); scores = mg.where(mg.tensor(mask), scores, "
                  "float('-inf')); w = scores.softmax(dim=-1); return w @ v, w")
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
                    "return (out, weights)")
            out, w = result
            assert_close(w, ref_w, f"the attention weights with {name}", atol=1e-5)
            assert_close(out, ref_out, f"the output with {name}", atol=1e-5)
        out, _ = attend(q, k, v, mask=no_keys)
        require(np.all(to_array(out, "out")[:, :, 0] == 0), "a query whose keys are all masked "
                "must give output 0: mask with -inf, not a large negative number")
        # gradients flow through the student's composition (float64, causal)
        q64, k64, v64 = (Tensor(rng.standard_normal((1, 3, 4)), requires_grad=True) for _ in range(3))
        try:
            gradcheck(lambda a, b, c: attend(a, b, c, mask=np.tril(np.ones((3, 3), bool)))[0],
                      [q64, k64, v64])
        except GradcheckError as e:
            raise CheckFailed(f"the gradient through your attention is wrong: {e}") from None
