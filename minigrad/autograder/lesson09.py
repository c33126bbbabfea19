"""Checks for lesson 9: reading attention maps (§8 可解释性).  Stubs: lessons/09_interpretability/."""
from __future__ import annotations

import numpy as np

from ..i18n import Text, tr
from .core import CheckFailed, Lesson, assert_close, expect_same_items, get

LESSON = Lesson(9, "09_interpretability", Text("Reading attention maps", "解读注意力图"), "§8 可解释性")


def _random_attention(rng, L, H, T, causal):
    s = rng.standard_normal((L, H, T, T)) * 2
    if causal:
        s = np.where(np.tril(np.ones((T, T), bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=-1).mean(-1)


@LESSON.task("9.1", Text("attention entropy per head", "每个注意力头的熵"),
             nudge=Text("Lesson 9's notebook, part 3 (summaries: entropy): H = −Σ_j p_j log p_j over the "
                        "keys (the last axis) of each query row, then the mean over the queries. "
                        "0·log 0 is 0 by convention, but NumPy computes log 0 = −inf and 0·(−inf) = NaN: "
                        "keep the zeros away from the log (np.where chooses per entry).",
                        "第 9 课笔记本第 3 部分（概括：熵）：对每个查询行在键上（最后一个轴）计算 "
                        "H = −Σ_j p_j log p_j，再对所有查询取平均。按惯例 0·log 0 = 0，但 NumPy 会算出 "
                        "log 0 = −inf，而 0·(−inf) = NaN：别让 0 进入 log（np.where 逐元素选择）。"))
def check_entropy(ex):
    attention_entropy = get(ex, "attention_entropy")
    uniform = np.full((1, 1, 4, 8), 1 / 8)
    onehot = np.zeros((1, 1, 4, 8))
    onehot[..., 3] = 1.0
    zero_log_zero = tr("0·log 0 counts as 0", "0·log 0 按 0 计")
    assert_close(attention_entropy(uniform), np.array([[np.log(8)]]),
                 tr("the entropy of uniform attention over 8 keys (log 8)",
                    "在 8 个键上均匀分布的注意力的熵（log 8）"), atol=1e-9)
    assert_close(attention_entropy(onehot), np.array([[0.0]]),
                 tr("the entropy when every query attends to one key (0)",
                    "每个查询只关注一个键时的熵（0）"), atol=1e-9, nudge=zero_log_zero)
    rng = np.random.default_rng(91)
    att = _random_attention(rng, 2, 3, 6, causal=False)
    assert_close(attention_entropy(att), _entropy(att), tr("random (2 layers, 3 heads, 6×6) maps",
                                                           "随机的注意力图（2 层、3 个头、6×6）"), atol=1e-9)
    att = _random_attention(rng, 3, 2, 7, causal=True)
    assert_close(attention_entropy(att), _entropy(att),
                 tr("causal (lower-triangular) maps, with zeros above the diagonal",
                    "因果（下三角）注意力图，对角线以上为 0"), atol=1e-9, nudge=zero_log_zero)


def _rollout(att):
    a = att.mean(1)
    a = (a + np.eye(a.shape[-1])) / 2
    R = a[0]
    for layer in a[1:]:
        R = layer @ R
    return R


@LESSON.task("9.2", Text("attention rollout", "注意力展开（attention rollout）"),
             nudge=Text("Lesson 9's notebook, part 4 (attention rollout; Abnar & Zuidema, 2020): per "
                        "layer, average the heads and mix in the residual path, Ã = (mean_h A + I)/2, "
                        "whose rows still sum to 1. Then chain the layers as matrix products, the first "
                        "layer on the right (it acts first), R = Ã_{L−1} ⋯ Ã_0.",
                        "第 9 课笔记本第 4 部分（注意力展开；Abnar & Zuidema, 2020）：每一层先对各头取平均，"
                        "再混入残差路径，Ã = (mean_h A + I)/2，它的每行之和仍为 1。然后把各层按矩阵乘积"
                        "串起来，第一层在最右边（它最先起作用）：R = Ã_{L−1} ⋯ Ã_0。"))
def check_rollout(ex):
    attention_rollout = get(ex, "attention_rollout")
    T = 5
    ident = np.broadcast_to(np.eye(T), (3, 2, T, T))
    assert_close(attention_rollout(ident), np.eye(T), tr("every head attending to itself (R = I)",
                                                         "每个头都只关注自身（R = I）"), atol=1e-9)
    rng = np.random.default_rng(92)
    one = _random_attention(rng, 1, 4, T, causal=False)
    assert_close(attention_rollout(one), (one[0].mean(0) + np.eye(T)) / 2,
                 tr("the rollout of one layer, (mean over heads + I) / 2",
                    "一层的展开：(各头平均 + I) / 2"), atol=1e-9,
                 nudge=tr("the identity stands for the residual path", "单位矩阵代表残差路径"))
    for L, causal in ((2, False), (3, True), (4, False)):
        att = _random_attention(rng, L, 3, T, causal)
        got = attention_rollout(att)
        assert_close(got, _rollout(att), tr(f"the rollout of {L} layers of random "
                                            f"{'causal ' if causal else ''}maps",
                                            f"{L} 层随机{'因果' if causal else ''}注意力图的展开"),
                     atol=1e-9,
                     nudge=tr("matrix products do not commute: the later layer goes on the left",
                              "矩阵乘法不满足交换律：后面的层放在左边"))
    got = np.asarray(attention_rollout(_random_attention(rng, 3, 2, T, True)))
    assert_close(got.sum(-1), np.ones(T), tr("the row sums of a causal model's rollout",
                                             "因果模型展开结果的行和"), atol=1e-8)
    assert_close(np.triu(got, 1), np.zeros((T, T)), tr("a causal model's rollout above the diagonal",
                                                       "因果模型展开结果在对角线以上的部分"),
                 atol=1e-8)


@LESSON.task("9.3", Text("the most attended tokens", "最受关注的词元"),
             nudge=Text("Lesson 9's notebook, part 3 (what a head attends to): the query's weights are "
                        "its row of the map (rows are queries, columns keys). Sort the positions by "
                        "weight, largest first, with a stable sort so that ties keep the earlier "
                        "position (np.argsort sorts ascending), and keep the first k.",
                        "第 9 课笔记本第 3 部分（一个头关注什么）：查询的权重就是注意力图中它的那一行"
                        "（行是查询，列是键）。按权重从大到小排序位置，用稳定排序让权重相同时靠前的位置"
                        "在前（np.argsort 是升序），保留前 k 个。"))
def check_top(ex):
    top_attended = get(ex, "top_attended")
    tokens = ["床", "前", "明", "月", "光"]
    att = np.array([[1.0, 0, 0, 0, 0],
                    [0.3, 0.7, 0, 0, 0],
                    [0.1, 0.2, 0.7, 0, 0],
                    [0.05, 0.15, 0.6, 0.2, 0],
                    [0.3, 0.1, 0.1, 0.4, 0.1]])
    got = top_attended(att, tokens, 3, k=2)
    _same(got, [("明", 0.6), ("月", 0.2)], tr("top_attended(map, 床前明月光, query=3 (月), k=2)",
                                             "top_attended(注意力图, 床前明月光, query=3（月）, k=2)"))
    got = top_attended(att, tokens, 4, k=3)
    _same(got, [("月", 0.4), ("床", 0.3), ("前", 0.1)], tr("query 4 (光), k=3 (ties: earlier first)",
                                                          "查询 4（光），k=3（权重相同时靠前的在前）"))
    got = top_attended(att.T, tokens, 0, k=1)
    _same(got, [("床", 1.0)], tr("the transposed map, query 0", "转置后的注意力图，查询 0"))
    rng = np.random.default_rng(93)
    m = rng.random((6, 6))
    words = list("abcdef")
    order = np.argsort(-m[2], kind="stable")[:4]
    _same(top_attended(m, words, 2, k=4), [(words[j], m[2, j]) for j in order],
          tr("a random 6×6 map, query 2", "随机的 6×6 注意力图，查询 2"))


def _same(got, expected, what):
    try:
        got = [(str(t), float(w)) for t, w in got]
    except Exception:  # noqa: BLE001
        raise CheckFailed(what, tr(f"expected a list of (token, weight) pairs, got {got!r}",
                                   f"应为由 (词元, 权重) 对组成的列表，得到 {got!r}")) from None
    expect_same_items(got, [(t, float(w)) for t, w in expected], what,
                      same=lambda g, e: g[0] == e[0] and abs(g[1] - e[1]) < 1e-9)
