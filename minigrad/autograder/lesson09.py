"""Checks for lesson 9: reading attention maps (§8 可解释性).  Stubs: lessons/09_interpretability/."""
from __future__ import annotations

import numpy as np

from .core import CheckFailed, Lesson, assert_close, get, require

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
             hint="-(p * log p).sum(-1).mean(-1), with p log p = 0 where p = 0 "
                  "(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0))")
def check_entropy(ex):
    attention_entropy = get(ex, "attention_entropy")
    uniform = np.full((1, 1, 4, 8), 1 / 8)
    onehot = np.zeros((1, 1, 4, 8))
    onehot[..., 3] = 1.0
    assert_close(attention_entropy(uniform), np.array([[np.log(8)]]), "uniform attention over 8 keys "
                 "(log 8)", atol=1e-9)
    assert_close(attention_entropy(onehot), np.array([[0.0]]), "every query on one key (0: 0·log 0 = 0)",
                 atol=1e-9)
    rng = np.random.default_rng(91)
    att = _random_attention(rng, 2, 3, 6, causal=False)
    assert_close(attention_entropy(att), _entropy(att), "random (2 layers, 3 heads, 6×6) maps", atol=1e-9)
    att = _random_attention(rng, 3, 2, 7, causal=True)
    assert_close(attention_entropy(att), _entropy(att), "causal (lower-triangular) maps, with zeros "
                 "above the diagonal", atol=1e-9)


def _rollout(att):
    a = att.mean(1)
    a = (a + np.eye(a.shape[-1])) / 2
    R = a[0]
    for layer in a[1:]:
        R = layer @ R
    return R


@LESSON.task("9.2", "attention rollout",
             hint="a = (att.mean(1) + I) / 2; R = a[0]; then R = a[l] @ R for each later layer "
                  "(the later layer on the left)")
def check_rollout(ex):
    attention_rollout = get(ex, "attention_rollout")
    T = 5
    ident = np.broadcast_to(np.eye(T), (3, 2, T, T))
    assert_close(attention_rollout(ident), np.eye(T), "every head attending to itself (R = I)", atol=1e-9)
    rng = np.random.default_rng(92)
    one = _random_attention(rng, 1, 4, T, causal=False)
    assert_close(attention_rollout(one), (one[0].mean(0) + np.eye(T)) / 2,
                 "one layer: (mean over heads + I) / 2", atol=1e-9)
    for L, causal in ((2, False), (3, True), (4, False)):
        att = _random_attention(rng, L, 3, T, causal)
        got = attention_rollout(att)
        assert_close(got, _rollout(att), f"{L} layers of random {'causal ' if causal else ''}maps",
                     atol=1e-9)
    got = np.asarray(attention_rollout(_random_attention(rng, 3, 2, T, True)))
    require(np.allclose(got.sum(-1), 1.0) and np.allclose(np.triu(got, 1), 0.0),
            "a causal model's rollout must have rows summing to 1 and nothing above the diagonal")


@LESSON.task("9.3", "the most attended tokens",
             hint="row = att_map[query]; order = np.argsort(-row, kind='stable')[:k]; "
                  "[(tokens[j], float(row[j])) for j in order]")
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
        raise CheckFailed(f"{what}: expected a list of (token, weight) pairs, got {got!r}") from None
    ok = len(got) == len(expected) and all(t == et and abs(w - ew) < 1e-9
                                           for (t, w), (et, ew) in zip(got, expected))
    require(ok, f"{what}: got {got}, expected {[(t, round(w, 4)) for t, w in expected]}")
