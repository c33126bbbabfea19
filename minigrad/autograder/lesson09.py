"""Checks for lesson 9: reading attention maps (§8 可解释性).  Stubs: lessons/09_interpretability/."""
from __future__ import annotations

import numpy as np

from .core import CheckFailed, Lesson, assert_close, expect_same_items, get

_NOTEBOOK = "Lesson 9's notebook"

LESSON = Lesson(9, "09_interpretability", "Reading attention maps", "§8 可解释性")


def _random_attention(rng, L, H, T, causal):
    s = rng.standard_normal((L, H, T, T)) * 2
    if causal:
        s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=-1).mean(-1)


@LESSON.task("9.1", "attention entropy per head",
             nudge=f"{_NOTEBOOK}, part 3 (summaries: entropy): H = −Σ_j p_j log p_j over the keys "
                   "(the last axis) of each query row, then the mean over the queries. 0·log 0 is "
                   "0 by convention, but NumPy computes log 0 = −inf and 0·(−inf) = NaN: keep the "
                   "zeros away from the log (np.where chooses per entry).")
def check_entropy(ex):
    attention_entropy = get(ex, "attention_entropy")
    uniform = np.full((1, 1, 4, 8), 1 / 8)
    onehot = np.zeros((1, 1, 4, 8))
    onehot[..., 3] = 1.0
    assert_close(attention_entropy(uniform), np.array([[np.log(8)]]), "the entropy of uniform "
                 "attention over 8 keys (log 8)", atol=1e-9)
    assert_close(attention_entropy(onehot), np.array([[0.0]]), "the entropy when every query "
                 "attends to one key (0)", atol=1e-9, nudge="0·log 0 counts as 0")
    rng = np.random.default_rng(91)
    att = _random_attention(rng, 2, 3, 6, causal=False)
    assert_close(attention_entropy(att), _entropy(att), "random (2 layers, 3 heads, 6×6) maps", atol=1e-9)
    att = _random_attention(rng, 3, 2, 7, causal=True)
    assert_close(attention_entropy(att), _entropy(att), "causal (lower-triangular) maps, with zeros "
                 "above the diagonal", atol=1e-9, nudge="0·log 0 counts as 0")


def _rollout(att):
    a = att.mean(1)
    a = (a + np.eye(a.shape[-1])) / 2
    R = a[0]
    for layer in a[1:]:
        R = layer @ R
    return R


@LESSON.task("9.2", "attention rollout",
             nudge=f"{_NOTEBOOK}, part 4 (attention rollout; Abnar & Zuidema, 2020): per layer, "
                   "average the heads and mix in the residual path, Ã = (mean_h A + I)/2, whose "
                   "rows still sum to 1. Then chain the layers as matrix products, the first layer "
                   "on the right (it acts first), R = Ã_{L−1} ⋯ Ã_0.")
def check_rollout(ex):
    attention_rollout = get(ex, "attention_rollout")
    T = 5
    ident = np.broadcast_to(np.eye(T), (3, 2, T, T))
    assert_close(attention_rollout(ident), np.eye(T), "every head attending to itself (R = I)", atol=1e-9)
    rng = np.random.default_rng(92)
    one = _random_attention(rng, 1, 4, T, causal=False)
    assert_close(attention_rollout(one), (one[0].mean(0) + np.eye(T)) / 2,
                 "the rollout of one layer, (mean over heads + I) / 2", atol=1e-9,
                 nudge="the identity stands for the residual path")
    for L, causal in ((2, False), (3, True), (4, False)):
        att = _random_attention(rng, L, 3, T, causal)
        got = attention_rollout(att)
        assert_close(got, _rollout(att), f"the rollout of {L} layers of random "
                     f"{'causal ' if causal else ''}maps", atol=1e-9,
                     nudge="matrix products do not commute: the later layer goes on the left")
    got = np.asarray(attention_rollout(_random_attention(rng, 3, 2, T, True)))
    assert_close(got.sum(-1), np.ones(T), "the row sums of a causal model's rollout", atol=1e-8)
    assert_close(np.triu(got, 1), np.zeros((T, T)), "a causal model's rollout above the diagonal",
                 atol=1e-8)


@LESSON.task("9.3", "the most attended tokens",
             nudge=f"{_NOTEBOOK}, part 3 (what a head attends to): the query's weights are its "
                   "row of the map (rows are queries, columns keys). Sort the positions by "
                   "weight, largest first, with a stable sort so that ties keep the earlier "
                   "position (np.argsort sorts ascending), and keep the first k.")
def check_top(ex):
    top_attended = get(ex, "top_attended")
    tokens = ["床", "前", "明", "月", "光"]
    att = np.array([[1.0, 0, 0, 0, 0],
                    [0.3, 0.7, 0, 0, 0],
                    [0.1, 0.2, 0.7, 0, 0],
                    [0.05, 0.15, 0.6, 0.2, 0],
                    [0.3, 0.1, 0.1, 0.4, 0.1]])
    got = top_attended(att, tokens, 3, k=2)
    _same(got, [("明", 0.6), ("月", 0.2)], "top_attended(map, 床前明月光, query=3 (月), k=2)")
    got = top_attended(att, tokens, 4, k=3)
    _same(got, [("月", 0.4), ("床", 0.3), ("前", 0.1)], "query 4 (光), k=3 (ties: earlier first)")
    got = top_attended(att.T, tokens, 0, k=1)
    _same(got, [("床", 1.0)], "the transposed map, query 0")
    rng = np.random.default_rng(93)
    m = rng.random((6, 6))
    words = list("abcdef")
    order = np.argsort(-m[2], kind="stable")[:4]
    _same(top_attended(m, words, 2, k=4), [(words[j], m[2, j]) for j in order], "a random 6×6 map, query 2")


def _same(got, expected, what):
    try:
        got = [(str(t), float(w)) for t, w in got]
    except Exception:  # noqa: BLE001
        raise CheckFailed(what, f"expected a list of (token, weight) pairs, got {got!r}") from None
    expect_same_items(got, [(t, float(w)) for t, w in expected], what,
                      same=lambda g, e: g[0] == e[0] and abs(g[1] - e[1]) < 1e-9)
