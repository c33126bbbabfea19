"""Checks for lesson 8: efficiency, fused attention and FLOPs (§8 模型效率, 计算成本).
Stubs: lessons/08_efficiency/."""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from ..autograd import no_grad
from ..backends import numpy_ref
from ..models.gpt import GPT, GPTConfig
from .core import CheckFailed, Lesson, assert_close, forbid_function, get, require

LESSON = Lesson(8, "08_efficiency", "Efficiency: fused attention and FLOPs", "§8 模型效率, 计算成本")


def _softmax_v(s, v):
    p = np.exp(s - s.max())
    return (p / p.sum()) @ v


@LESSON.task("8.1", "the online-softmax update",
             hint="m_new = max(m, s.max()); alpha = exp(m - m_new); p = exp(s - m_new); "
                  "return m_new, alpha * l + p.sum(), alpha * o + p @ v")
def check_online_update(ex):
    update = get(ex, "online_softmax_update")
    rng = np.random.default_rng(81)
    s, v = rng.standard_normal(10) * 3, rng.standard_normal((10, 4))
    m, l, o = update(-math.inf, 0.0, np.zeros(4), s, v)
    require(abs(float(m) - s.max()) < 1e-12, f"after one block m must be max(s) = {s.max():.4f}, got {m}")
    assert_close(np.asarray(o) / float(l), _softmax_v(s, v), "o / ℓ after one block (= softmax(s) @ v)",
                 atol=1e-10)
    for sizes in ((3, 3, 4), (1, 9), (5, 1, 1, 3)):
        state = (-math.inf, 0.0, np.zeros(4))
        j = 0
        for n in sizes:
            state = update(*state, s[j:j + n], v[j:j + n])
            j += n
        assert_close(np.asarray(state[2]) / float(state[1]), _softmax_v(s, v),
                     f"o / ℓ after blocks of sizes {sizes}", atol=1e-10)
    rising = np.array([1.0, 2.0, 50.0, 400.0])                # the maximum keeps growing
    state = (-math.inf, 0.0, np.zeros(2))
    vv = rng.standard_normal((4, 2))
    for i in range(4):
        state = update(*state, rising[i:i + 1], vv[i:i + 1])
    assert_close(np.asarray(state[2]) / float(state[1]), _softmax_v(rising, vv),
                 "scores 1, 2, 50, 400 one at a time (rescale ℓ and o when the maximum grows)",
                 atol=1e-10)
    require(math.isfinite(float(state[1])) and float(state[1]) >= 1.0,
            f"ℓ must stay finite (it is measured against the running max): got {state[1]}")


@LESSON.task("8.2", "blockwise attention equals the reference",
             hint="per key block: s = q @ kj.T / sqrt(d) (masked for causal); m_new = max(m, "
                  "s.max(1)); alpha = exp(m - m_new); p = exp(s - m_new[:, None]); update l, o")
def check_blockwise(ex):
    blockwise_attention = get(ex, "blockwise_attention")
    rng = np.random.default_rng(82)
    cases = [(6, 6, 8, 5, 4, False), (7, 11, 4, 3, 3, False), (9, 9, 8, 8, 4, True),
             (5, 5, 4, 2, 1, True), (10, 10, 6, 4, 16, True)]
    refs = []
    for T, S, d, dv, block, causal in cases:
        q, k, v = (rng.standard_normal(sh) * 2 for sh in ((T, d), (S, d), (S, dv)))
        out, _ = numpy_ref.attention_forward(q[None], k[None], v[None], None, causal, 1 / math.sqrt(d))
        refs.append((q, k, v, block, causal, out[0]))
    with forbid_function(numpy_ref.attention_forward, numpy_ref._probabilities):
        for (q, k, v, block, causal, ref), case in zip(refs, cases):
            got = blockwise_attention(q, k, v, block=block, causal=causal)
            assert_close(got, ref, f"blockwise_attention(T={case[0]}, S={case[1]}, d={case[2]}, "
                         f"block={block}, causal={causal})", atol=1e-9)
    q = np.array([[1.0, 0.0]])
    k = np.array([[0.0, 0.0], [800.0, 0.0], [900.0, 0.0]])
    v = np.array([[1.0], [2.0], [3.0]])
    got = blockwise_attention(q, k, v, block=1)
    assert_close(got, np.array([[3.0]]), "scores 0, 566, 636 in blocks of 1 (no overflow: "
                 "exponentials relative to the running max)", atol=1e-9)


@LESSON.task("8.3", "the FLOPs of a matrix product",
             hint="2 * n * k * m per matrix (a multiply and an add per term), times the number "
                  "of matrices in np.broadcast_shapes(a_shape[:-2], b_shape[:-2])")
def check_matmul_flops(ex):
    matmul_flops = get(ex, "matmul_flops")
    for a, b, expected in (((2, 3), (3, 4), 48), ((64, 128), (128, 32), 2 * 64 * 128 * 32),
                           ((5, 2, 3), (3, 4), 5 * 48), ((2, 1, 8, 16), (3, 16, 4), 6 * 2 * 8 * 16 * 4),
                           ((4, 12, 1024, 64), (4, 12, 64, 1024), 2 * 48 * 1024 * 64 * 1024)):
        got = matmul_flops(a, b)
        require(int(got) == expected, f"matmul_flops({a}, {b}) = {got}, expected {expected:,}")


@LESSON.task("8.4", "the FLOPs of a GPT forward pass (counted against the real matmuls)",
             hint="per layer 24·T·C² + 4·T²·C (projections, MLP, QKᵀ and PV); plus 2·T·C·V for "
                  "the head")
def check_gpt_flops(ex):
    gpt_forward_flops = get(ex, "gpt_forward_flops")
    for V, L, C, T, nh in ((50, 2, 16, 8, 2), (30, 1, 24, 12, 4), (70, 3, 8, 5, 1)):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=nh, n_embd=C, block_size=16))
        counted = _count_matmul_flops(model, T)
        got = gpt_forward_flops(V, L, C, T)
        require(int(got) == counted, f"gpt_forward_flops({V}, {L}, {C}, {T}) = {got}; the matmuls of "
                                     f"minigrad's GPT forward on {T} tokens do {counted:,} FLOPs")
    got = gpt_forward_flops(50257, 12, 768, 1024)
    expected = 12 * (24 * 1024 * 768 ** 2 + 4 * 1024 ** 2 * 768) + 2 * 1024 * 768 * 50257
    require(int(got) == expected, f"GPT-2 small on 1024 tokens: got {got}, expected {expected:,} "
                                  f"(about 0.29 TFLOP)")


def _count_matmul_flops(model, T) -> int:
    """Run the model once on the numpy backend, adding up 2·n·k·m over every backend matmul."""
    total = [0]
    original = numpy_ref.matmul

    def counting(a, b):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        total[0] += 2 * int(np.prod(batch, dtype=np.int64)) * a.shape[-2] * a.shape[-1] * b.shape[-1]
        return original(a, b)

    numpy_ref.matmul = counting
    try:
        with backends.backend("numpy"), no_grad():
            model(np.zeros((1, T), dtype=np.int64))
    finally:
        numpy_ref.matmul = original
    return total[0]
