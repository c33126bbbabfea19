"""Lesson 11 exercises: training at scale (§8 模型规模 / 计算成本, §9.1) -- REFERENCE SOLUTION (for teachers).

Check it with:  minigrad lesson check 11 --file lessons/solutions/11_scale.py
"""
import numpy as np


# --- Task 11.1: gradient buckets ------------------------------------------------------------------
def assign_buckets(nbytes, cap_bytes):
    """Group gradients into all-reduce buckets as DistributedDataParallel does (minigrad/
    distributed/ddp.py; PyTorch's bucket_cap_mb): the parameters in *reverse* order (backward
    produces the last layer's gradients first), packed greedily: a parameter joins the current
    bucket unless that would take it over cap_bytes, then it opens a new one; a parameter larger
    than the cap gets a bucket of its own.  (ddp.py also caps the first bucket at 1 MiB; not here.)

    nbytes: the size in bytes of parameters 0..P-1 (model order).  Returns a list of buckets,
    each a list of parameter indices in the order they were added, e.g.
    assign_buckets([4, 4, 4], 8) == [[2, 1], [0]].

    像 DistributedDataParallel 那样把梯度分进 all-reduce 的桶（minigrad/distributed/ddp.py；PyTorch 的
    bucket_cap_mb）：参数按*逆序*（反向传播最先算出最后一层的梯度），贪心装桶：若加入当前桶不会超过
    cap_bytes 就加入，否则开一个新桶；比上限还大的参数单独占一个桶。（ddp.py 还把第一个桶限制在 1 MiB，这里不做。）
    nbytes：参数 0..P-1（模型顺序）的字节数。返回桶的列表，每个桶是按加入顺序排列的参数下标列表，
    例如 assign_buckets([4, 4, 4], 8) == [[2, 1], [0]]。
    """
    # TODO: walk the indices from last to first; close the current bucket when the next one would overflow it.
    if cap_bytes <= 0:
        raise ValueError(f"cap_bytes must be > 0, got {cap_bytes}")
    buckets, current, size = [], [], 0
    for i in reversed(range(len(nbytes))):
        if current and size + nbytes[i] > cap_bytes:
            buckets.append(current)
            current, size = [], 0
        current.append(i)
        size += nbytes[i]
    if current:
        buckets.append(current)
    return buckets


# --- Task 11.2: ring all-reduce -------------------------------------------------------------------
def ring_all_reduce(arrays):
    """Sum the N ranks' arrays with the ring algorithm (Patarasuk & Yuan 2009; NCCL, Horovod),
    simulated: arrays[r] is rank r's 1-D gradient.  Cut every array into N chunks
    (np.array_split: chunk c is the same slice on every rank).  Rank r sends only to rank
    (r + 1) % N.

      reduce-scatter, steps s = 0..N-2: rank r sends its chunk (r - s) % N to rank r + 1, which
        adds it to its own copy of that chunk.  Afterwards rank r holds the full sum of chunk
        (r + 1) % N.
      all-gather, steps s = 0..N-2: rank r sends its chunk (r + 1 - s) % N to rank r + 1, which
        replaces its copy with it.  Afterwards every rank holds every summed chunk.

    All sends of one step happen at once (compute every message first, then deliver).  Returns
    (results, sent): results[r] the summed array on rank r (new arrays; the inputs are not
    changed), sent[r] the number of elements rank r sent, 2(N-1)/N · n when N divides n.

    用环形算法（Patarasuk & Yuan 2009；NCCL、Horovod）对 N 个 rank 的数组求和，模拟实现：arrays[r] 是
    rank r 的一维梯度。把每个数组切成 N 块（np.array_split：第 c 块在每个 rank 上是同一个切片）。rank r
    只发给 rank (r + 1) % N。
      reduce-scatter，第 s = 0..N-2 步：rank r 把它的第 (r - s) % N 块发给 rank r + 1，后者把它加到自己的
        那一块上。完成后 rank r 持有第 (r + 1) % N 块的完整和。
      all-gather，第 s = 0..N-2 步：rank r 把它的第 (r + 1 - s) % N 块发给 rank r + 1，后者用它替换自己的那一块。
        完成后每个 rank 都持有所有求和后的块。
    同一步的所有发送同时发生（先算出所有消息，再投递）。返回 (results, sent)：results[r] 是 rank r 上求和
    后的数组（新数组，不修改输入），sent[r] 是 rank r 发送的元素个数；N 整除 n 时为 2(N-1)/N · n。
    """
    # TODO: chunks[r][c] = copy of rank r's chunk c; 2 × (N-1) steps of simultaneous sends around the ring.
    N = len(arrays)
    chunks = [[c.astype(np.result_type(a.dtype, np.float64) if a.dtype.kind in "iub" else a.dtype, copy=True)
               for c in np.array_split(np.asarray(a), N)] for a in arrays]
    sent = [0] * N
    for s in range(N - 1):                                   # reduce-scatter
        msgs = [(r, (r - s) % N, chunks[r][(r - s) % N].copy()) for r in range(N)]
        for r, c, data in msgs:
            chunks[(r + 1) % N][c] = chunks[(r + 1) % N][c] + data
            sent[r] += data.size
    for s in range(N - 1):                                   # all-gather
        msgs = [(r, (r + 1 - s) % N, chunks[r][(r + 1 - s) % N].copy()) for r in range(N)]
        for r, c, data in msgs:
            chunks[(r + 1) % N][c] = data
            sent[r] += data.size
    return [np.concatenate(ch) for ch in chunks], sent


# --- Task 11.3: the cost of an all-reduce -----------------------------------------------------------
def ring_all_reduce_seconds(nbytes, world_size, bandwidth, latency=0.0):
    """Time of a ring all-reduce of nbytes over world_size ranks, each link `bandwidth` bytes/s
    one way and `latency` seconds per message: every rank sends 2(N-1) messages of nbytes/N,

        t = 2(N-1)/N · nbytes / bandwidth + 2(N-1) · latency

    so the bandwidth term hardly grows with N (→ 2·nbytes/bandwidth).  N = 1: 0 (nothing to send).

    在 world_size 个 rank 上对 nbytes 字节做环形 all-reduce 的时间；每条链路单向带宽 bandwidth 字节/秒，
    每条消息延迟 latency 秒：每个 rank 发送 2(N-1) 条大小为 nbytes/N 的消息，
    t = 2(N-1)/N · nbytes / bandwidth + 2(N-1) · latency，因此带宽项几乎不随 N 增长（→ 2·nbytes/bandwidth）。
    N = 1 时为 0（无需发送）。
    """
    # TODO: the formula above.
    if world_size < 1 or bandwidth <= 0:
        raise ValueError("world_size must be >= 1 and bandwidth > 0")
    steps = 2 * (world_size - 1)
    return steps / world_size * nbytes / bandwidth + steps * latency


# --- Task 11.4: ZeRO-1 shard ranges ---------------------------------------------------------------
def shard_range(numel, world_size, rank):
    """The slice [lo, hi) of a flat buffer of `numel` elements that rank `rank` owns under ZeRO
    stage 1 (minigrad/distributed/zero.py): boundaries b_r = numel · r // world_size, rank r
    gets [b_r, b_{r+1}), so the slices tile the buffer in rank order and their sizes differ by
    at most one.  A bad rank (not 0 <= rank < world_size) raises ValueError.

    ZeRO 第 1 阶段（minigrad/distributed/zero.py）下 rank `rank` 拥有的、长度为 numel 的扁平缓冲区的
    切片 [lo, hi)：边界 b_r = numel · r // world_size，rank r 得到 [b_r, b_{r+1})，于是各切片按 rank 顺序
    铺满缓冲区，长度相差至多 1。rank 不满足 0 <= rank < world_size 时抛出 ValueError。
    """
    # TODO: the two boundaries; check the rank first.
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in 0..{world_size - 1}, got {rank}")
    return numel * rank // world_size, numel * (rank + 1) // world_size
