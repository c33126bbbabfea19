"""Lesson 11's data-parallel run (§8 模型规模): `mpiexec -n 2 python notebooks/scripts/ddp_demo.py OUT.json`.

Each rank trains the same small GPT on its half of every batch (DistributedDataParallel: gradients
all-reduced in buckets), then with ZeRO-1 (AdamW's moments sharded); rank 0 trains one process on
the whole batch and compares.  Also times an all-reduce of 4 MB.  Rank 0 writes the figures to OUT.json.
"""
import json
import sys
import time

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad.models import GPT, GPTConfig

B, T, STEPS = 8, 32, 5
CFG = GPTConfig(vocab_size=64, n_layer=2, n_head=2, n_embd=32, block_size=T)


def batches():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 64, size=(B, T + 1)) for _ in range(STEPS)]


def train(rows, wrap=None, zero=False):
    mg.manual_seed(0)
    model = GPT(CFG)
    net = wrap(model) if wrap else model
    if zero:
        opt = dist.ZeroRedundancyOptimizer(model.parameters(), optimizer_class=mg.optim.AdamW, lr=1e-3)
    else:
        opt = mg.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for w in batches():
        w = w[rows]
        loss = net(w[:, :-1], w[:, 1:]).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, opt, losses


def main():
    dist.init()
    r, n = dist.rank(), dist.world_size()
    mine = slice(r * B // n, (r + 1) * B // n)                    # this rank's share of each batch
    ddp_model, _, ddp_losses = train(mine, wrap=dist.DistributedDataParallel)
    zero_model, zero_opt, _ = train(mine, wrap=dist.DistributedDataParallel, zero=True)
    buf = np.ones(1_000_000, np.float32)                          # 4 MB
    times = []
    for _ in range(5):
        dist.barrier()
        t = time.perf_counter()
        dist.all_reduce(buf, op="mean")
        times.append(time.perf_counter() - t)
    mean_losses = np.asarray(ddp_losses)
    dist.all_reduce(mean_losses, op="mean")                       # the global batch's loss
    if r == 0:
        ref_model, ref_opt, ref_losses = train(slice(0, B))
        ref = dict(ref_model.named_parameters())
        diff = max(float(np.abs(p.data - ref[k].data).max()) for k, p in ddp_model.named_parameters())
        zdiff = max(float(np.abs(p.data - ref[k].data).max()) for k, p in zero_model.named_parameters())
        full_state = sum(v.nbytes for s in ref_opt.state.values() for v in s.values()
                         if isinstance(v, np.ndarray))
        out = {"world_size": n, "batch": B, "block": T, "steps": STEPS,
               "ddp_losses": mean_losses.tolist(), "single_losses": ref_losses,
               "max_param_diff_ddp": diff, "max_param_diff_zero": zdiff,
               "adamw_state_bytes": int(full_state), "zero_state_bytes_rank0": int(zero_opt.state_bytes()),
               "allreduce_4MB_seconds": float(np.median(times))}
        with open(sys.argv[1], "w") as f:
            json.dump(out, f, indent=1)
        print(json.dumps(out))


if __name__ == "__main__":
    main()
