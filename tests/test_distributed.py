"""minigrad.distributed in one process (no mpiexec): a world of one in which everything runs,
the bucket and shard arithmetic, ZeRO-1 against AdamW, batch sharding, per-sample dropout
masks, and the errors.  The multi-process runs are in test_distributed_mpi.py."""
from collections import namedtuple
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad.distributed import comm
from minigrad.distributed.ddp import _make_buckets
from minigrad.models import GPT, GPTConfig
from minigrad.optim import SGD, AdamW
from minigrad.train.loop import param_groups
from numerics import assert_same_numbers


@pytest.fixture
def fake_world(monkeypatch):
    """Pretend to be rank r of n (for the arithmetic only: no collective may run)."""
    def set_world(r, n):
        monkeypatch.setattr(comm._state, "rank", r)
        monkeypatch.setattr(comm._state, "size", n)
        monkeypatch.setattr(comm._state, "initialized", True)
    return set_world


def tiny_gpt(seed=0, dropout=0.0, dtype=np.float64):
    mg.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=29, n_layer=2, n_head=2, n_embd=8, block_size=6,
                         dropout=dropout)).to(dtype)


# --- a world of one ---------------------------------------------------------------------------
def test_world_of_one_without_mpiexec():
    assert not dist.launched_by_mpiexec()
    assert (dist.rank(), dist.world_size(), dist.is_main_process()) == (0, 1, True)
    a = np.arange(4.0)
    assert dist.all_reduce(a) is a and a.tolist() == [0, 1, 2, 3]
    dist.all_reduce(a, "mean")
    assert a.tolist() == [0, 1, 2, 3]
    assert dist.broadcast(a) is a
    assert dist.all_gather(np.array([1, 2])).tolist() == [[1, 2]]
    assert dist.reduce_scatter(np.arange(3.0)).tolist() == [0, 1, 2]
    assert dist.all_gather_v(np.arange(3), [3]).tolist() == [0, 1, 2]
    dist.barrier()
    assert dist.on_main_process(lambda: 7) == 7
    t = mg.tensor([1.0, 2.0])
    assert dist.all_reduce(t, "sum") is t                   # a Tensor's array, in place


def test_collective_errors_are_clear():
    with pytest.raises(ValueError, match="C-contiguous"):
        dist.all_reduce(np.ones((3, 4))[:, ::2])
    with pytest.raises(TypeError, match="float16"):
        dist.all_reduce(np.ones(3, dtype=np.float16))
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(np.ones(3), op="avg")
    with pytest.raises(TypeError, match="floating-point"):
        dist.all_reduce(np.ones(3, dtype=np.int64), op="mean")
    with pytest.raises(TypeError, match="NumPy array or a Tensor"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="root 1"):
        dist.broadcast(np.ones(2), root=1)


def test_init_without_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)        # import mpi4py -> ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[distributed\]"'):
        dist.init()
    assert not dist.is_initialized()


def test_launched_by_mpiexec_without_mpi4py_refuses_a_world_of_one(monkeypatch):
    """N processes that silently each train alone would be the worst failure."""
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setenv("PMI_RANK", "1")
    assert dist.launched_by_mpiexec()
    with pytest.raises(ImportError, match="mpi4py"):
        dist.world_size()


def test_init_timeout_must_be_positive():
    with pytest.raises(ValueError, match="timeout"):
        dist.init(timeout=0)


# --- DistributedDataParallel ------------------------------------------------------------------
def test_ddp_alone_is_the_model():
    model = tiny_gpt()
    ddp = dist.DistributedDataParallel(model)
    assert ddp.module is model
    assert list(ddp.state_dict()) == list(model.state_dict())      # no 'module.' prefix
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 29, (2, 6)), rng.integers(0, 29, (2, 6))
    loss = ddp(x, y).loss
    assert loss.item() == model(x, y).loss.item()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with ddp.no_sync():
        assert not ddp.require_sync
    assert ddp.require_sync
    ddp.eval()
    assert not model.training
    with pytest.raises(TypeError, match="wraps a Module"):
        dist.DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="bucket_cap_mb"):
        dist.DistributedDataParallel(model, bucket_cap_mb=0)


def test_buckets_reverse_order_and_cap():
    ps = [mg.nn.Parameter(np.zeros(n, dtype=np.float32)) for n in (10, 10, 300, 10, 10)]
    buckets = _make_buckets(ps, cap_bytes=100)                    # 25 float32 per bucket
    assert [[p.data.size for p in b.params] for b in buckets] == [[10, 10], [300], [10, 10]]
    first = _make_buckets(ps, cap_bytes=2000, first_cap_bytes=40)   # PyTorch's small first bucket
    assert [[p.data.size for p in b.params] for b in first] == [[10], [10, 300, 10, 10]]
    assert buckets[0].params[0] is ps[-1]                         # the last parameter first
    assert [b.nbytes for b in buckets] == [80, 1200, 80]
    assert buckets[1].offsets.tolist() == [0, 300]
    mixed = _make_buckets([ps[0], mg.nn.Parameter(np.zeros(2))], cap_bytes=10**6)
    assert len(mixed) == 2                                        # one dtype per bucket


def test_ddp_refuses_half_precision_parameters():
    lin = mg.nn.Linear(2, 2).to(np.float16)
    with pytest.raises(TypeError, match="float32 or float64"):
        dist.DistributedDataParallel(lin)


# --- ZeRO-1 -----------------------------------------------------------------------------------
def _train(opt_factory, steps=3, unused=True):
    model = tiny_gpt(dropout=0.0)
    opt = opt_factory(param_groups(model, 0.1))
    rng = np.random.default_rng(1)
    for step in range(steps):
        x, y = rng.integers(0, 29, (2, 6)), rng.integers(0, 29, (2, 6))
        opt.zero_grad()
        model(x, y).loss.backward()
        if unused:
            model.transformer.ln_f.bias.grad = None                # as if unused: skipped
        opt.step()
    return model, opt


def test_zero_alone_is_adamw_and_same_state_dict():
    # The update runs on flattened slices that start at other offsets than the parameters, so a
    # vectorised kernel may split vector and scalar iterations differently: same numbers to
    # rounding (tests/numerics.py), not necessarily bit for bit on every CPU.
    kw = dict(lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1)
    plain, plain_opt = _train(lambda g: AdamW(g, **kw))
    zero, zero_opt = _train(lambda g: dist.ZeroRedundancyOptimizer(g, optimizer_class=AdamW, **kw))
    for (name, a), b in zip(plain.state_dict().items(), zero.state_dict().values()):
        assert_same_numbers(b.data, a.data, err_msg=name)
    sa, sb = plain_opt.state_dict(), zero_opt.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    assert sorted(sa["state"]) == sorted(sb["state"])
    for i in sa["state"]:
        assert sa["state"][i].keys() == sb["state"][i].keys()
        for k, v in sa["state"][i].items():
            assert_same_numbers(sb["state"][i][k], v, err_msg=f"{i}.{k}")
    assert zero_opt.state_bytes() == sum(v.nbytes for s in plain_opt.state.values()
                                         for v in s.values() if isinstance(v, np.ndarray))


def test_zero_resumes_from_adamw_state_and_back():
    kw = dict(lr=1e-2, weight_decay=0.1)
    _, plain_opt = _train(lambda g: AdamW(g, **kw), steps=2)
    model = tiny_gpt()
    zero = dist.ZeroRedundancyOptimizer(param_groups(model, 0.1), optimizer_class=AdamW, **kw)
    zero.load_state_dict(plain_opt.state_dict())
    again = zero.state_dict()
    for i, s in plain_opt.state_dict()["state"].items():
        np.testing.assert_array_equal(s["exp_avg_sq"], again["state"][i]["exp_avg_sq"])
        assert s["step"] == again["state"][i]["step"] == 2


def test_zero_follows_the_scheduler_and_other_optimizers():
    kw = dict(lr=0.1, momentum=0.9)
    plain, _ = _train(lambda g: SGD(g, **kw), unused=False)
    zero, zopt = _train(lambda g: dist.ZeroRedundancyOptimizer(g, optimizer_class=SGD, **kw),
                        unused=False)
    for a, b in zip(plain.parameters(), zero.parameters()):
        assert_same_numbers(b.data, a.data)
    zopt.param_groups[0]["lr"] = 0.0                               # what an LR schedule does
    before = [p.data.copy() for p in zopt.param_groups[0]["params"]]
    for p in zero.parameters():
        p.grad = mg.Tensor(np.ones_like(p.data))
    zopt._local.state.clear()                                      # no momentum left over
    zopt.step()
    for b, p in zip(before, zopt.param_groups[0]["params"]):
        np.testing.assert_array_equal(b, p.data)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_zero_shards_partition_every_parameter(fake_world, n):
    """The slices of all ranks cover every element once, each rank ~1/n of them."""
    model = tiny_gpt()
    total = model.num_parameters()
    seen = {id(p): np.zeros(p.data.size, dtype=int) for p in model.parameters()}
    counts = []
    for r in range(n):
        fake_world(r, n)
        z = dist.ZeroRedundancyOptimizer(model.parameters(), optimizer_class=AdamW)
        counts.append(z.hi - z.lo)
        for piece in z._pieces:
            seen[id(piece.param)][piece.a:piece.b] += 1
    assert all((c == 1).all() for c in seen.values())
    assert sum(counts) == total and max(counts) - min(counts) <= 1


def test_zero_refuses_mixed_dtypes_and_needs_consolidation_when_sharded(fake_world):
    a, b = mg.nn.Parameter(np.zeros(2, np.float32)), mg.nn.Parameter(np.zeros(2))
    with pytest.raises(TypeError, match="one dtype"):
        dist.ZeroRedundancyOptimizer([a, b])
    fake_world(0, 2)
    z = dist.ZeroRedundancyOptimizer([b])
    with pytest.raises(RuntimeError, match="consolidate_state_dict"):
        z.state_dict()


# --- sharding batches -------------------------------------------------------------------------
def test_shard_batch_and_local_range(fake_world):
    Pair = namedtuple("Pair", "x y")
    batch = {"ids": np.arange(12).reshape(6, 2), "pair": Pair(mg.tensor(np.arange(6)), [np.arange(6)]),
             "name": "kept"}
    part = dist.shard_batch(batch, rank=1, world_size=3)
    assert part["ids"].tolist() == [[4, 5], [6, 7]]
    assert isinstance(part["pair"], Pair) and part["pair"].x.data.tolist() == [2, 3]
    assert part["pair"].y[0].tolist() == [2, 3] and part["name"] == "kept"
    assert dist.local_range(8, 3, 4) == (6, 8)
    assert dist.sample_ids(8, 1, 2).tolist() == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="not divisible by the world size 4"):
        dist.local_range(6, 0, 4)
    with pytest.raises(ValueError, match="share their first"):
        dist.shard_batch((np.zeros(4), np.zeros(6)), 0, 2)
    fake_world(1, 2)
    assert dist.shard_batch(np.arange(4)).tolist() == [2, 3]      # this rank's by default


def test_distributed_sampler_draws_the_global_batch_and_keeps_its_rows():
    def batch_fn(step, batch_size, seed):
        return np.random.default_rng([seed, step]).integers(0, 100, (batch_size, 3))

    whole = batch_fn(5, 8, 1)
    parts = [dist.DistributedSampler(batch_fn, 8, seed=1, rank=r, world_size=2)(5) for r in range(2)]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole)
    assert parts[1][1].tolist() == [4, 5, 6, 7]
    micro = list(dist.DistributedSampler(batch_fn, 8, 1, micro_batches=2, rank=1, world_size=2).micro(5))
    assert [ids.tolist() for _, ids in micro] == [[4, 5], [6, 7]]
    np.testing.assert_array_equal(micro[1][0], whole[6:8])
    with pytest.raises(ValueError, match="micro-batches"):
        dist.DistributedSampler(batch_fn, 8, 1, micro_batches=3, rank=0, world_size=2)


def test_global_mean_weight_alone_is_one():
    assert dist.global_mean_weight(17) == 1.0
    assert dist.global_mean_weight(0) == 0.0


# --- per-sample dropout masks -----------------------------------------------------------------
def test_per_sample_masks_do_not_depend_on_the_split():
    x = mg.ones((6, 3, 4))
    with mg.random.per_sample_dropout(3, 9, np.arange(6)):
        whole = F.dropout(x, 0.5).data
    parts = []
    for ids in (np.arange(0, 2), np.arange(2, 6)):
        with mg.random.per_sample_dropout(3, 9, ids):
            parts.append(F.dropout(x[:len(ids)], 0.5).data)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    with mg.random.per_sample_dropout(3, 10, np.arange(6)):    # another step: other masks
        assert not np.array_equal(F.dropout(x, 0.5).data, whole)
    with mg.random.per_sample_dropout(3, 9, np.arange(6)):     # the second call: other masks
        F.dropout(x, 0.5)
        assert not np.array_equal(F.dropout(x, 0.5).data, whole)


def test_outside_the_block_dropout_is_unchanged():
    """Single-process numbers stay what they were: one draw from minigrad's generator."""
    x = mg.ones((4, 5))
    mg.manual_seed(2)
    y = F.dropout(x, 0.3).data
    keep = np.random.default_rng(2).random((4, 5)) >= 0.3
    np.testing.assert_array_equal(y, (keep / 0.7).astype(np.float32))


def test_per_sample_dropout_needs_a_batch_axis():
    with mg.random.per_sample_dropout(0, 0, np.arange(4)):
        with pytest.raises(ValueError, match="leading axis must be the batch"):
            F.dropout(mg.ones((3, 4)), 0.5)
    with pytest.raises(ValueError, match=">= 0"):
        with mg.random.per_sample_dropout(-1, 0, [0]):
            pass
