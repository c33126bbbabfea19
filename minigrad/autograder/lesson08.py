"""Checks for lesson 8: efficiency, fused attention and FLOPs (§8 模型效率, 计算成本).
Stubs: lessons/08_efficiency/."""
from __future__ import annotations

import math

import numpy as np

from .. import backends
from ..autograd import no_grad
from ..backends import numpy_ref
from ..models.gpt import GPT, GPTConfig
from .core import Lesson, assert_close, expect_equal, forbid_function, get, require

_NOTEBOOK = "Lesson 8's notebook"

LESSON = Lesson(8, "08_efficiency", "Efficiency: fused attention and FLOPs", "§8 模型效率, 计算成本")


def _softmax_v(s, v):
    p = np.exp(s - s.max())
    return (p / p.sum()) @ v


@LESSON.task("8.1", "the online-softmax update",
             nudge=f"{_NOTEBOOK}, part 2 (the online softmax): ℓ and o are sums of exponentials "
                   "measured against the running maximum m. When a block raises the maximum, "
                   "everything summed so far must be rescaled by e^(m − m_new) before the block's "
                   "own terms e^(s_j − m_new) are added (the docstring's three formulas). Before "
                   "the first block m = −inf: nothing to rescale.")
def check_online_update(ex):
    update = get(ex, "online_softmax_update")
    rng = np.random.default_rng(81)
    s, v = rng.standard_normal(10) * 3, rng.standard_normal((10, 4))
    m, l, o = update(-math.inf, 0.0, np.zeros(4), s, v)
    assert_close(float(m), s.max(), "m after one block is max(s)", atol=1e-12)
    assert_close(np.asarray(o) / float(l), _softmax_v(s, v), "o / ℓ after one block (= softmax(s) @ v)",
                 atol=1e-10)
    for sizes in ((3, 3, 4), (1, 9), (5, 1, 1, 3)):
        state = (-math.inf, 0.0, np.zeros(4))
        j = 0
        for n in sizes:
            state = update(*state, s[j:j + n], v[j:j + n])
            j += n
        assert_close(np.asarray(state[2]) / float(state[1]), _softmax_v(s, v),
                     f"o / ℓ after blocks of sizes {sizes}", atol=1e-10,
                     nudge="both ℓ and o carry the old maximum: rescale both")
    rising = np.array([1.0, 2.0, 50.0, 400.0])                # the maximum keeps growing
    state = (-math.inf, 0.0, np.zeros(2))
    vv = rng.standard_normal((4, 2))
    for i in range(4):
        state = update(*state, rising[i:i + 1], vv[i:i + 1])
    assert_close(np.asarray(state[2]) / float(state[1]), _softmax_v(rising, vv),
                 "o / ℓ for scores 1, 2, 50, 400 one at a time", atol=1e-10,
                 nudge="rescale ℓ and o each time the maximum grows")
    require(math.isfinite(float(state[1])) and float(state[1]) >= 1.0,
            "ℓ stays finite and at least 1 (it is measured against the running max)",
            f"ℓ = {state[1]}")


@LESSON.task("8.2", "blockwise attention equals the reference",
             nudge=f"{_NOTEBOOK}, part 2: task 8.1's recurrence for every query row at once, with "
                   "m and ℓ vectors of length T and O a (T, dv) matrix, one key block at a time; "
                   "the scores are scaled by 1/√d; for causal, a key after its query gets −inf "
                   "(careful: a row may have no visible key yet in a block). Divide by ℓ at the "
                   "end.")
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
                         f"block={block}, causal={causal})", atol=1e-9,
                         nudge="query t sees keys 0..t" if causal else "")
    q = np.array([[1.0, 0.0]])
    k = np.array([[0.0, 0.0], [800.0, 0.0], [900.0, 0.0]])
    v = np.array([[1.0], [2.0], [3.0]])
    got = blockwise_attention(q, k, v, block=1)
    assert_close(got, np.array([[3.0]]), "blockwise_attention of scores 0, 566, 636 in blocks of 1",
                 atol=1e-9, nudge="e^566 overflows: take every exponential relative to the "
                                  "running max")


@LESSON.task("8.3", "the FLOPs of a matrix product",
             nudge=f"{_NOTEBOOK}, part 1 (counting FLOPs, 计算成本): each of the n·m outputs is k "
                   "multiplications and k additions, and a multiply-add counts as 2 FLOPs. The "
                   "batch dims in front broadcast like any NumPy op (np.broadcast_shapes); count "
                   "every matrix of the broadcast batch.")
def check_matmul_flops(ex):
    matmul_flops = get(ex, "matmul_flops")
    for a, b, expected in (((2, 3), (3, 4), 48), ((64, 128), (128, 32), 2 * 64 * 128 * 32),
                           ((5, 2, 3), (3, 4), 5 * 48), ((2, 1, 8, 16), (3, 16, 4), 6 * 2 * 8 * 16 * 4),
                           ((4, 12, 1024, 64), (4, 12, 64, 1024), 2 * 48 * 1024 * 64 * 1024)):
        got = matmul_flops(a, b)
        expect_equal(int(got), expected, f"matmul_flops({a}, {b})",
                     nudge=_ratio_nudge(int(got), expected))


@LESSON.task("8.4", "the FLOPs of a GPT forward pass (counted against the real matmuls)",
             nudge=f"{_NOTEBOOK}, part 1: list every matrix product of one layer, as the docstring "
                   "does (the q, k, v projection, the scores QKᵀ, the weighted values, the output "
                   "projection, the MLP's two Linears), count each with task 8.3's rule for T "
                   "tokens, and add the language-model head once at the end. The element-wise ops "
                   "are not counted.")
def check_gpt_flops(ex):
    gpt_forward_flops = get(ex, "gpt_forward_flops")
    for V, L, C, T, nh in ((50, 2, 16, 8, 2), (30, 1, 24, 12, 4), (70, 3, 8, 5, 1)):
        model = GPT(GPTConfig(vocab_size=V, n_layer=L, n_head=nh, n_embd=C, block_size=16))
        counted = _count_matmul_flops(model, T)
        got = gpt_forward_flops(V, L, C, T)
        require(int(got) == counted, f"gpt_forward_flops({V}, {L}, {C}, {T}) against the matmuls "
                                     f"of minigrad's GPT forward on {T} tokens",
                f"got {int(got):,}, counted {counted:,} (off by {int(got) - counted:+,})",
                nudge=_flops_slip(int(got) - counted, V, L, C, T))
    got = gpt_forward_flops(50257, 12, 768, 1024)
    expected = 12 * (24 * 1024 * 768 ** 2 + 4 * 1024 ** 2 * 768) + 2 * 1024 * 768 * 50257
    expect_equal(int(got), expected, "GPT-2 small on 1024 tokens (about 0.29 TFLOP)")


def _flops_slip(off: int, V: int, L: int, C: int, T: int) -> str:
    """A nudge when the count is off by whole pieces of one kind (computed from the offset)."""
    if off == -2 * T * C * V:
        return "the language-model head (C → V) is a matmul too"
    if off % (L * 2 * T * T * C) == 0:
        return "the attention's two products, QKᵀ and PV, are T × T × C each, in every layer"
    if off % (L * 2 * T * C * C) == 0:
        return "a Linear layer C → n on T tokens is 2·T·C·n FLOPs; every layer has four of them"
    return ""


def _ratio_nudge(got: int, expected: int) -> str:
    """A nudge for the two usual slips: multiply-adds counted once, or the batch forgotten."""
    if got * 2 == expected:
        return "a multiply-add is 2 FLOPs"
    if got and expected % got == 0:
        return "count every matrix of the broadcast batch"
    return ""


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
