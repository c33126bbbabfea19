"""The MPI side of tests/test_distributed_mpi.py: run under `mpiexec -n N python tests/dist_worker.py
SCENARIO --out result.json ...`; rank 0 writes what it measured as JSON (plain numbers) and the
pytest side asserts on it.

Every data-parallel run is compared with a single-process reference that each rank computes
itself: the same model, the whole global batch, the same per-sample dropout keys.

Scenarios:
    main      DDP == 1 process (GPT and BERT, float64 and float32, dropout, clipping, AdamW),
              DDP with gradient accumulation (no_sync) == 1 process, ZeRO-1 == DDP + AdamW and
              its state bytes per rank, parameters unused on one rank or on all
    save      train 2 steps (DDP + ZeRO-1), write a checkpoint from rank 0 (consolidated state),
              go on 2 steps and write the parameters reached (the continuation to match)
    resume    load such a checkpoint with this world size, run the same 2 steps, compare
    crash     rank 1 raises in step 1 while rank 0 is in backward's all-reduce
    die       rank 1 exits at once (os._exit) in step 1: mpiexec ends the job
    hang      rank 1 stops calling collectives; rank 0's wait times out (init(timeout=...))
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad.models import GPT, BertConfig, BertForSequenceClassification, GPTConfig
from minigrad.optim import AdamW, clip_grad_norm_
from minigrad.train.checkpoint import optimizer_state_from, read_checkpoint, save_checkpoint
from minigrad.train.loop import param_groups

SEED = 1234
GPT_CFG = dict(vocab_size=37, n_layer=2, n_head=2, n_embd=16, block_size=8, dropout=0.1)
BERT_CFG = dict(vocab_size=41, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.1,
                attention_probs_dropout_prob=0.1, num_labels=3)


# --- models, batches, losses ------------------------------------------------------------------
def make_model(kind: str, dtype):
    mg.manual_seed(SEED + 17 * dist.rank())     # different on every rank: DDP must broadcast
    if kind == "gpt":
        return GPT(GPTConfig(**GPT_CFG)).to(dtype)
    return BertForSequenceClassification(BertConfig(**BERT_CFG)).to(dtype)


def global_batch(kind: str, step: int, B: int):
    """The batch of `step`, a pure function of (SEED, step), as the training tasks draw it."""
    rng = np.random.default_rng([SEED, step])
    if kind == "gpt":
        return (rng.integers(0, 37, (B, 8)), rng.integers(0, 37, (B, 8)))
    ids = rng.integers(1, 41, (B, 10))
    mask = np.ones((B, 10), dtype=np.int64)
    mask[:, 7:] = rng.integers(0, 2, (B, 3))       # some padding
    ids[mask == 0] = 0
    return ids, mask, rng.integers(0, 3, B)


def loss_fn(model, batch):
    if len(batch) == 2:
        x, y = batch
        return model(x, y).loss, x.size
    ids, mask, labels = batch
    return model(ids, attention_mask=mask, labels=labels).loss, len(labels)


def make_optimizer(model, zero: bool):
    groups = param_groups(model, 0.1)
    if zero:
        return dist.ZeroRedundancyOptimizer(groups, optimizer_class=AdamW, lr=3e-3,
                                            betas=(0.9, 0.99), weight_decay=0.1)
    return AdamW(groups, lr=3e-3, betas=(0.9, 0.99), weight_decay=0.1)


def train(kind, dtype, steps, B, distributed, zero=False, micro=1, start=0, model=None, opt=None,
          keyed=True):
    """`steps` optimizer steps from `start`.  distributed: DDP over all ranks, each on its rows;
    otherwise this process alone on the whole batch.  Returns (losses, model, optimizer)."""
    if model is None:
        model = make_model(kind, dtype)
        if not distributed:
            model = _copy_from_rank0(model, kind, dtype)
    net = dist.DistributedDataParallel(model, bucket_cap_mb=0.004) if distributed else model
    opt = opt or make_optimizer(model, zero)
    losses = []
    for step in range(start, start + steps):
        batch = global_batch(kind, step, B)
        ids = np.arange(B)
        if distributed:
            batch, ids = dist.shard_batch(batch), dist.sample_ids(B)
        opt.zero_grad()
        loss, _ = dist.backward_micro_batches(net, batch, micro, loss_fn, seed=SEED if keyed else None,
                                              step=step, sample_ids=ids)
        clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        losses.append(dist.all_reduce(np.array([loss]), "mean")[0] if distributed else loss)
    return losses, model, opt


def _copy_from_rank0(model, kind, dtype):
    """The reference starts from rank 0's initial weights, as DDP does."""
    mg.manual_seed(SEED)
    ref = GPT(GPTConfig(**GPT_CFG)) if kind == "gpt" else BertForSequenceClassification(BertConfig(**BERT_CFG))
    return ref.to(dtype)


def params_of(model) -> dict:
    return {k: v.data.astype(np.float64) for k, v in model.state_dict().items()}


def max_diff(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


# --- scenarios --------------------------------------------------------------------------------
def scenario_main(args) -> dict:
    out = {"world_size": dist.world_size()}
    for kind in ("gpt", "bert"):
        for dtype in ("float64", "float32"):
            B = 4 * dist.world_size()
            ref_losses, ref, _ = train(kind, dtype, 3, B, distributed=False)
            losses, model, _ = train(kind, dtype, 3, B, distributed=True)
            out[f"{kind}_{dtype}"] = {
                "loss_diff": float(np.max(np.abs(np.subtract(losses, ref_losses)))),
                "param_diff": max_diff(params_of(model), params_of(ref)),
                "moved": max_diff(params_of(model), params_of(_copy_from_rank0(None, kind, dtype))),
                "losses": [float(x) for x in losses]}
    # activation checkpointing under DDP: the hooks fire once per parameter, from the
    # checkpoint node, and the result is still the one-process one
    B = 4 * dist.world_size()
    _, ref, _ = train("gpt", "float64", 3, B, distributed=False)
    model = make_model("gpt", "float64").gradient_checkpointing_enable()
    _, model, _ = train("gpt", "float64", 3, B, distributed=True, model=model)
    out["checkpointing"] = {"param_diff": max_diff(params_of(model), params_of(ref))}
    # the control: dropout from each rank's own generator (not keyed by sample) differs
    B = 4 * dist.world_size()
    _, ref, _ = train("gpt", "float64", 3, B, distributed=False)
    _, model, _ = train("gpt", "float64", 3, B, distributed=True, keyed=False)
    out["control_unkeyed_dropout"] = {"param_diff": max_diff(params_of(model), params_of(ref))}
    # gradient accumulation under DDP: 2 micro-batches per rank == the large batch
    B = 4 * dist.world_size()
    ref_losses, ref, _ = train("gpt", "float64", 3, B, distributed=False)
    losses, model, _ = train("gpt", "float64", 3, B, distributed=True, micro=2)
    out["accumulation"] = {"loss_diff": float(np.max(np.abs(np.subtract(losses, ref_losses)))),
                           "param_diff": max_diff(params_of(model), params_of(ref))}
    # ZeRO-1 == DDP with AdamW
    _, plain, plain_opt = train("gpt", "float64", 3, B, distributed=True)
    _, zmodel, zopt = train("gpt", "float64", 3, B, distributed=True, zero=True)
    full_bytes = sum(v.nbytes for s in plain_opt.state.values() for v in s.values()
                     if isinstance(v, np.ndarray))
    out["zero"] = {"param_diff": max_diff(params_of(zmodel), params_of(plain)),
                   "state_bytes": dist.all_gather(np.array([zopt.state_bytes()]))[:, 0].tolist(),
                   "full_state_bytes": full_bytes, "numel": zopt.numel}
    out["unused"] = scenario_unused()
    # overlap: with small buckets, all but the last bucket start inside backward
    model = make_model("gpt", "float64")
    for overlap in (True, False):
        ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.004, overlap=overlap)
        loss_fn(ddp, dist.shard_batch(global_batch("gpt", 0, B)))[0].backward()
        out[f"overlap_{overlap}"] = dict(ddp.last_step)
        for h in ddp._handles:
            h.remove()
    return out


class TwoBranches(mg.nn.Module):
    """a always used; b used only by the samples with flag 1; c never used."""

    def __init__(self):
        super().__init__()
        self.a = mg.nn.Linear(3, 3)
        self.b = mg.nn.Linear(3, 3)
        self.c = mg.nn.Linear(3, 3)

    def forward(self, x, flags):
        h = self.a(x)
        if flags.any():
            h = h + self.b(x) * mg.tensor(flags[:, None].astype(x.dtype))
        return h.square().mean()


def scenario_unused() -> dict:
    B = 2 * dist.world_size()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, 3))
    flags = np.zeros(B, dtype=np.int64)
    flags[:2] = 1                                  # only rank 0's rows use b
    mg.manual_seed(0)
    ref = TwoBranches().double()
    ref(mg.tensor(x), flags).backward()
    mg.manual_seed(0)
    model = TwoBranches().double()
    ddp = dist.DistributedDataParallel(model)
    lx, lf = dist.shard_batch((x, flags))
    ddp(mg.tensor(lx), lf).backward()
    return {"a_diff": float(np.abs(model.a.weight.grad.data - ref.a.weight.grad.data).max()),
            "b_diff": float(np.abs(model.b.weight.grad.data - ref.b.weight.grad.data).max()),
            "c_grad_is_none": model.c.weight.grad is None}


def _save_params(path, model):
    mg.save({k: v.data for k, v in model.state_dict().items()}, path)


def scenario_save(args) -> dict:
    B = 4
    _, model, opt = train("gpt", "float64", 2, B, distributed=True, zero=True)
    opt.consolidate_state_dict()                     # a collective, on every rank
    dist.on_main_process(save_checkpoint, args.checkpoint, model, arch="gpt",
                         model_config=GPTConfig(**GPT_CFG).to_dict(), step=2, optimizer=opt)
    losses, model, opt = train("gpt", "float64", 2, B, distributed=True, zero=True, start=2,
                               model=model, opt=opt)
    dist.on_main_process(_save_params, args.continuation, model)
    return {"losses": [float(x) for x in losses]}


def scenario_resume(args) -> dict:
    ckpt = read_checkpoint(args.checkpoint)
    model = make_model("gpt", "float64")
    model.load_state_dict(ckpt["model"])
    opt = make_optimizer(model, zero=True)
    opt.load_state_dict(optimizer_state_from(ckpt))
    losses, model, opt = train("gpt", "float64", 2, 4, distributed=True, zero=True,
                               start=ckpt["step"], model=model, opt=opt)
    expected = {k: v.data for k, v in mg.load(args.continuation).items()}
    return {"param_diff": max_diff(params_of(model), expected), "losses": [float(x) for x in losses]}


def scenario_crash(args) -> dict:
    model = dist.DistributedDataParallel(make_model("gpt", "float64"))
    for step in range(3):
        batch = dist.shard_batch(global_batch("gpt", step, 4))
        if step == 1 and dist.rank() == 1:
            raise RuntimeError("rank 1 fails on purpose in step 1")
        loss, _ = loss_fn(model, batch)
        loss.backward()                              # rank 0 waits here for rank 1's buckets
    return {}


def scenario_die(args) -> dict:
    model = dist.DistributedDataParallel(make_model("gpt", "float64"))
    for step in range(3):
        batch = dist.shard_batch(global_batch("gpt", step, 4))
        if step == 1 and dist.rank() == 1:
            import os
            os._exit(3)                              # killed: no exception, no MPI_Abort
        loss, _ = loss_fn(model, batch)
        loss.backward()
    return {}


def scenario_hang(args) -> dict:
    model = dist.DistributedDataParallel(make_model("gpt", "float64"))
    for step in range(3):
        batch = dist.shard_batch(global_batch("gpt", step, 4))
        if step == 1:
            dist.barrier()
            dist.init(timeout=args.timeout)          # short only now: a slow start is no hang
        if step == 1 and dist.rank() == 1:
            time.sleep(120)                          # alive, but never joins the all-reduce
        loss, _ = loss_fn(model, batch)
        loss.backward()
    return {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["main", "save", "resume", "crash", "die", "hang"])
    parser.add_argument("--out")
    parser.add_argument("--checkpoint")
    parser.add_argument("--continuation")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    dist.init(timeout=60.0 if args.scenario == "hang" else args.timeout)
    start = time.perf_counter()
    result = globals()[f"scenario_{args.scenario}"](args)
    result["seconds"] = time.perf_counter() - start
    if dist.rank() == 0 and args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    dist.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(main())
