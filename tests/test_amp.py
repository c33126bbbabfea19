"""Mixed precision (minigrad.amp, §8): float16 overflow and underflow shown, what loss scaling
fixes, dynamic loss scaling's skips and growth, master weights, bfloat16's range, and a tiny
GPT trained in float16 / bfloat16 tracking its float32 run."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import amp
from minigrad.models import GPT, GPTConfig
from minigrad.nn import Parameter
from minigrad.optim import SGD, AdamW

try:
    import ml_dtypes  # noqa: F401  (bfloat16; comes with the distributed extra)
    HAVE_ML_DTYPES = True
except ImportError:
    HAVE_ML_DTYPES = False
needs_bfloat16 = pytest.mark.skipif(not HAVE_ML_DTYPES, reason='bfloat16 needs ml_dtypes '
                                    '(pip install -e ".[distributed]")')


@needs_bfloat16
@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_float16_overflows_and_underflows_where_float32_and_bfloat16_do_not():
    big = mg.tensor([300.0], dtype="float16")
    assert np.isinf((big * big).data).all()                      # 90000 > 65504
    assert np.isfinite((big.to(np.float32) * big.to(np.float32)).data).all()
    small = np.array([1e-8, 3e-9], dtype=np.float32)
    assert (small.astype(np.float16) == 0).all()                 # below 6e-8: flushed to zero
    for v in (1e-8, 3e-9, 9e4, 1e30):                            # float32's range in bfloat16
        r = float(amp.round_to(np.float32(v), "bfloat16"))
        assert abs(r - v) <= 2 ** -8 * v
    assert amp.to_bfloat16([1.0]).dtype.itemsize == 2
    assert amp.FLOAT16_MAX == 65504.0 and amp.FLOAT16_TINY == pytest.approx(5.96e-8, rel=1e-2)


def _tiny_grad_problem(scaler):
    """d loss / dw = 1e-8 for every w, computed through a float16 graph."""
    w = Parameter(np.ones(4, dtype=np.float16))
    x = mg.tensor(np.full(4, 1e-4), dtype="float16")
    loss = (w * x).sum().to(np.float32) * 1e-4                   # a float32 loss
    (scaler.scale(loss) if scaler is not None else loss).backward()
    return w


def test_small_gradients_underflow_in_float16_and_loss_scaling_keeps_them():
    w = _tiny_grad_problem(None)
    assert (w.grad.data == 0).all()                              # 1e-8 is lost in float16
    scaler = amp.GradScaler(init_scale=2.0 ** 16)
    w = _tiny_grad_problem(scaler)
    assert (w.grad.data != 0).all()
    master = Parameter(np.ones(4, dtype=np.float32))
    master.grad = mg.Tensor(w.grad.data.astype(np.float32))
    opt = SGD([master], lr=1.0)
    scaler.unscale_(opt)
    np.testing.assert_allclose(master.grad.data, 1e-8, rtol=1e-3)   # float16's 3 digits
    assert not scaler.found_inf


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_too_large_a_scale_overflows_and_the_scaler_backs_off_skipping_steps():
    scaler = amp.GradScaler(init_scale=2.0 ** 16)
    w = Parameter(np.ones(3, dtype=np.float32))
    opt = SGD([w], lr=0.1)
    skipped = 0
    for _ in range(20):
        w16 = Parameter(w.data.astype(np.float16))
        loss = (w16 * mg.tensor(np.full(3, 100.0), dtype="float16")).sum().to(np.float32)
        scaler.scale(loss).backward()                            # 2^16 · 100 > 65504: inf
        w.grad = mg.Tensor(w16.grad.data.astype(np.float32))
        before = w.data.copy()
        scaler.step(opt)
        if scaler.found_inf:
            skipped += 1
            np.testing.assert_array_equal(w.data, before)        # a skipped step changes nothing
        scaler.update()
        if skipped and not np.array_equal(w.data, before):
            break
    assert skipped == 7                                          # 2^16 -> 2^9: 512 · 100 < 65504
    assert scaler.get_scale() == 2.0 ** 9 and scaler.skipped_steps == 7
    np.testing.assert_allclose(w.data, 1.0 - 0.1 * 100.0, rtol=1e-3)   # the unscaled gradient 100


def test_scale_grows_after_an_interval_of_good_steps_and_state_round_trips():
    scaler = amp.GradScaler(init_scale=4.0, growth_interval=3)
    w = Parameter(np.ones(2, dtype=np.float32))
    opt = SGD([w], lr=0.0)
    for i in range(6):
        w.grad = mg.Tensor(np.ones(2, dtype=np.float32))
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == 16.0
    with pytest.raises(RuntimeError, match="already called"):
        w.grad = mg.Tensor(np.ones(2, dtype=np.float32))
        scaler.unscale_(opt)
        scaler.unscale_(opt)
    other = amp.GradScaler()
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 16.0 and other.state_dict() == scaler.state_dict()
    off = amp.GradScaler(enabled=False)
    loss = mg.tensor(2.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0
    with pytest.raises(ValueError, match="growth_factor"):
        amp.GradScaler(growth_factor=1.0)


@needs_bfloat16
def test_master_weights_keep_updates_a_16bit_weight_would_lose():
    assert amp.ulp_lost(1.0, -1e-4, "float16")                   # 1 - 1e-4 == 1 in float16
    assert amp.ulp_lost(1.0, -1e-3, "bfloat16")
    assert not amp.ulp_lost(1.0, -1e-4, np.float32)
    # ten SGD steps of -1e-4 each: lost on float16 weights, kept by float32 masters
    lin = mg.nn.Linear(1, 1, bias=False)
    lin.weight.data[...] = 1.0
    mp = amp.MasterWeights(lin, "float16")
    assert lin.weight.dtype == np.float16 and mp.master[0].dtype == np.float32
    opt = SGD(mp.parameters(), lr=1e-4)
    plain16 = Parameter(np.ones((1, 1), dtype=np.float16))
    plain_opt = SGD([plain16], lr=1e-4)
    for _ in range(10):
        lin.weight.grad = mg.Tensor(np.ones((1, 1), dtype=np.float16))
        mp.step(opt)
        plain16.grad = mg.Tensor(np.ones((1, 1), dtype=np.float16))
        plain_opt.step()
    assert plain16.data[0, 0] == 1.0                             # every update rounded away
    assert mp.master[0].data[0, 0] == pytest.approx(0.999, abs=1e-6)
    assert lin.weight.data[0, 0] == np.float16(0.999)
    assert mp.weight_bytes() == {"weights_16bit": 2, "master_float32": 4}
    with pytest.raises(TypeError, match="float32 model"):
        amp.MasterWeights(lin)


def _gpt_run(dtype, steps=8):
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=29, n_layer=2, n_head=2, n_embd=16, block_size=8))
    mp = amp.MasterWeights(model, dtype) if dtype != "float32" else None
    opt = AdamW(mp.parameters() if mp else model.parameters(), lr=3e-3)
    scaler = amp.GradScaler(init_scale=2.0 ** 10) if dtype == "float16" else None
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 29, (8, 8)), rng.integers(0, 29, (8, 8))   # one batch, memorised
    losses = []
    for _ in range(steps):
        logits = model(x).logits.to(np.float32)                  # the loss in float32
        loss = F.cross_entropy(logits.reshape(-1, 29), mg.tensor(y).reshape(-1))
        (scaler.scale(loss) if scaler else loss).backward()
        if mp:
            mp.step(opt, scaler, clip=1.0)
        else:
            mg.optim.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
        losses.append(loss.item())
    return np.array(losses), model


@pytest.mark.parametrize("dtype", ["float16", pytest.param("bfloat16", marks=needs_bfloat16)])
def test_16bit_gpt_training_tracks_float32(dtype):
    ref, _ = _gpt_run("float32")
    got, model = _gpt_run(dtype)
    assert ref[-1] < ref[0] - 0.05                               # it learns
    np.testing.assert_allclose(got, ref, atol=0.03)              # and 16 bits follow closely
    if dtype == "float16":
        assert model.lm_head.weight.dtype == np.float16
    else:
        w = model.lm_head.weight.data
        np.testing.assert_array_equal(w, amp.round_to(w, "bfloat16"))   # bfloat16 values
