"""Checks for lesson 11: training at scale (§8 模型规模 / 计算成本, §9.1).  Stubs: lessons/11_scale/."""
from __future__ import annotations

import numpy as np

from ..i18n import Text, tr
from .core import CheckFailed, Lesson, assert_close, expect_equal, expect_number, get

LESSON = Lesson(11, "11_scale", Text("Training at scale", "大规模训练"), "§8 模型规模 / 计算成本, §9.1")


def _buckets(nbytes, cap):
    out, cur, size = [], [], 0
    for i in reversed(range(len(nbytes))):
        if cur and size + nbytes[i] > cap:
            out.append(cur)
            cur, size = [], 0
        cur.append(i)
        size += nbytes[i]
    return out + ([cur] if cur else [])


@LESSON.task("11.1", Text("gradient buckets", "梯度分桶"),
             nudge=Text("Lesson 11's notebook, part 3 (buckets): walk the parameters from the last to the "
                        "first (backward's order); a parameter that would take the current bucket over the "
                        "cap starts a new bucket, and one larger than the cap sits alone.",
                        "第 11 课笔记本第 3 部分（分桶）：从最后一个参数走到第一个（反向传播的顺序）；"
                        "会让当前桶超过上限的参数开一个新桶，比上限还大的参数单独占一个桶。"))
def check_buckets(ex):
    assign_buckets = get(ex, "assign_buckets")
    expect_equal([list(map(int, b)) for b in assign_buckets([4, 4, 4], 8)], [[2, 1], [0]],
                 tr("assign_buckets([4, 4, 4], 8)", "assign_buckets([4, 4, 4], 8)"),
                 nudge=tr("reverse order: the last parameter comes first", "逆序：最后一个参数最先"))
    expect_equal([list(map(int, b)) for b in assign_buckets([3, 20, 2, 2], 8)], [[3, 2], [1], [0]],
                 tr("a parameter larger than the cap (20 bytes, cap 8)", "比上限还大的参数（20 字节，上限 8）"))
    expect_equal([list(map(int, b)) for b in assign_buckets([8, 8], 8)], [[1], [0]],
                 tr("a bucket exactly full (8 + 8 bytes, cap 8)", "恰好装满的桶（8 + 8 字节，上限 8）"),
                 nudge=tr("a bucket may reach the cap, not exceed it", "桶可以达到上限，但不能超过"))
    rng = np.random.default_rng(111)
    for _ in range(5):
        nb = [int(x) for x in rng.integers(1, 40, size=int(rng.integers(1, 12)))]
        cap = int(rng.integers(5, 60))
        expect_equal([list(map(int, b)) for b in assign_buckets(nb, cap)], _buckets(nb, cap),
                     tr(f"assign_buckets({nb}, {cap})", f"assign_buckets({nb}, {cap})"))


@LESSON.task("11.2", Text("ring all-reduce", "环形 all-reduce"),
             nudge=Text("Lesson 11's notebook, part 4 (ring all-reduce): N−1 reduce-scatter steps, then N−1 "
                        "all-gather steps; in each step every rank sends one chunk to the next rank, and all "
                        "messages of a step are computed before any is delivered.",
                        "第 11 课笔记本第 4 部分（环形 all-reduce）：先 N−1 步 reduce-scatter，再 N−1 步 "
                        "all-gather；每一步每个 rank 把一块发给下一个 rank，同一步的所有消息先全部算出再投递。"))
def check_ring(ex):
    ring_all_reduce = get(ex, "ring_all_reduce")
    rng = np.random.default_rng(112)
    for N, n in ((2, 6), (3, 9), (4, 12), (5, 13), (1, 4)):
        arrays = [rng.standard_normal(n) for _ in range(N)]
        before = [a.copy() for a in arrays]
        out = ring_all_reduce(arrays)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise CheckFailed(tr("ring_all_reduce must return (results, sent)",
                                 "ring_all_reduce 必须返回 (results, sent)"))
        results, sent = out
        if len(results) != N:
            raise CheckFailed(tr(f"{N} ranks: expected {N} results, got {len(results)}",
                                 f"{N} 个 rank：应有 {N} 个结果，得到 {len(results)} 个"))
        total = np.sum(before, axis=0)
        for r in range(N):
            assert_close(results[r], total, tr(f"rank {r}'s sum ({N} ranks, {n} elements)",
                                               f"rank {r} 的和（{N} 个 rank，{n} 个元素）"), atol=1e-12)
        for a, b in zip(arrays, before):
            assert_close(a, b, tr("the input arrays (must not change)", "输入数组（不应被修改）"), atol=0)
        sizes = [len(c) for c in np.array_split(np.zeros(n), N)]
        want = [0 if N == 1 else 2 * n - sizes[(r + 1) % N] - sizes[(r + 2) % N] for r in range(N)]
        expect_equal([int(s) for s in sent], want,
                     tr(f"elements sent per rank ({N} ranks, {n} elements)",
                        f"每个 rank 发送的元素个数（{N} 个 rank，{n} 个元素）"),
                     nudge=tr("each rank sends N−1 chunks in each phase: 2(N−1)/N·n when N divides n",
                              "每个阶段每个 rank 发送 N−1 块：N 整除 n 时共 2(N−1)/N·n"))


@LESSON.task("11.3", Text("the cost of an all-reduce", "all-reduce 的通信代价"),
             nudge=Text("Lesson 11's notebook, part 4: each of the 2(N−1) steps sends nbytes/N per rank, "
                        "so t = 2(N−1)/N · nbytes / bandwidth + 2(N−1) · latency.",
                        "第 11 课笔记本第 4 部分：2(N−1) 步中每一步每个 rank 发送 nbytes/N，"
                        "所以 t = 2(N−1)/N · nbytes / bandwidth + 2(N−1) · latency。"))
def check_cost(ex):
    f = get(ex, "ring_all_reduce_seconds")
    expect_number(f(1e9, 2, 1e9), 1.0, tr("1 GB over 2 ranks at 1 GB/s", "2 个 rank、1 GB/s 下传 1 GB"))
    expect_number(f(1e9, 1, 1e9), 0.0, tr("one rank (nothing to send)", "只有一个 rank（无需发送）"))
    expect_number(f(4e8, 64, 1e10), 2 * 63 / 64 * 4e8 / 1e10,
                  tr("400 MB over 64 ranks at 10 GB/s", "64 个 rank、10 GB/s 下传 400 MB"))
    expect_number(f(1e6, 8, 1e9, latency=1e-5), 2 * 7 / 8 * 1e6 / 1e9 + 14 * 1e-5,
                  tr("1 MB over 8 ranks with 10 µs latency", "8 个 rank、每条消息 10 µs 延迟下传 1 MB"),
                  nudge=tr("2(N−1) messages, each paying the latency", "2(N−1) 条消息，每条都付一次延迟"))


@LESSON.task("11.4", Text("ZeRO-1 shard ranges", "ZeRO-1 的分片范围"),
             nudge=Text("Lesson 11's notebook, part 5 (ZeRO): boundaries b_r = numel·r // N; rank r owns "
                        "[b_r, b_{r+1}).",
                        "第 11 课笔记本第 5 部分（ZeRO）：边界 b_r = numel·r // N；rank r 拥有 [b_r, b_{r+1})。"))
def check_shards(ex):
    shard_range = get(ex, "shard_range")
    expect_equal(tuple(map(int, shard_range(10, 2, 1))), (5, 10), tr("shard_range(10, 2, 1)", "shard_range(10, 2, 1)"))
    for numel, N in ((10, 3), (7, 4), (3, 5), (1000, 7)):
        got = [tuple(map(int, shard_range(numel, N, r))) for r in range(N)]
        want = [(numel * r // N, numel * (r + 1) // N) for r in range(N)]
        expect_equal(got, want, tr(f"the shards of {numel} elements over {N} ranks",
                                   f"{numel} 个元素在 {N} 个 rank 上的分片"),
                     nudge=tr("the shards tile the buffer in rank order; sizes differ by at most 1",
                              "各分片按 rank 顺序铺满缓冲区，长度相差至多 1"))
