"""Data-parallel training on MPI (§8 模型规模, §9.1: how large models are trained on many
machines), with mpi4py and an MPI runtime from PyPI (`pip install -e ".[distributed]"`).

    import minigrad.distributed as dist
    dist.init()                                       # rank, world size from MPI
    model = dist.DistributedDataParallel(GPT(config)) # rank 0's weights everywhere
    opt = dist.ZeroRedundancyOptimizer(model.parameters(), optimizer_class=mg.optim.AdamW, lr=1e-3)
    for step in range(steps):
        x, y = dist.shard_batch(data.train.batch(B, step_rng(seed, step)))   # my B/N rows
        with dist.per_sample_dropout(seed, step, dist.sample_ids(B)):
            loss = model(x, y).loss
        opt.zero_grad(); loss.backward(); opt.step()  # all-reduce during backward

    mpiexec -n 2 python train.py                      # the same file on a laptop or a cluster
                                                      # (mpiexec -n 64 --hostfile H, or srun)

comm.py     init, rank, world_size, barrier, all_reduce, broadcast, all_gather, reduce_scatter
            (mpi4py buffer methods, waits with a timeout, MPI_Abort on an uncaught exception)
ddp.py      DistributedDataParallel: gradient buckets all-reduced during backward, no_sync()
zero.py     ZeroRedundancyOptimizer: ZeRO stage 1, the optimizer state sharded 1/N
sampler.py  shard_batch, local_range, sample_ids, DistributedSampler, global_mean_weight
accumulate.py  backward_micro_batches: gradient accumulation (no_sync for all but the last)
launch.py   mpiexec_path, launch: `minigrad train --nproc N` starts mpiexec -n N itself
            (the training loop on many ranks: minigrad.train.distributed_loop)

Run by one process without mpiexec, everything works as a world of one (rank 0 of 1, the
collectives return their input) and mpi4py is not needed; `init()` itself needs it.
"""
from ..random import per_sample_dropout
from .comm import (DEFAULT_TIMEOUT, INSTALL_HINT, abort, all_gather, all_gather_v, all_reduce, barrier,
                   broadcast, get_comm, iall_reduce, init, is_initialized, is_main_process,
                   launched_by_mpiexec, on_main_process, rank, reduce_scatter, timeout, wait,
                   world_size)
from .accumulate import backward_micro_batches
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler, global_mean_weight, local_range, sample_ids, shard_batch
from .zero import ZeroRedundancyOptimizer

__all__ = ["init", "is_initialized", "rank", "world_size", "is_main_process", "barrier",
           "all_reduce", "iall_reduce", "broadcast", "all_gather", "all_gather_v", "reduce_scatter",
           "wait", "abort", "get_comm", "timeout", "launched_by_mpiexec", "on_main_process",
           "DistributedDataParallel", "ZeroRedundancyOptimizer", "DistributedSampler",
           "shard_batch", "local_range", "sample_ids", "global_mean_weight", "per_sample_dropout",
           "backward_micro_batches",
           "INSTALL_HINT", "DEFAULT_TIMEOUT"]
