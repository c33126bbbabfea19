"""Mixed precision, as a lesson (§8 模型规模 / 计算成本): 16-bit weights and activations, 32-bit
master weights, and loss scaling (Micikevicius et al., "Mixed Precision Training", 2018).

Said plainly first: **on a CPU with NumPy this gains no speed**, and float16 arithmetic is
slower than float32 (NumPy has no float16 kernels; it converts every element; see
benchmarks/bench_distributed.py).  On a GPU, 16-bit tensor cores run ~2-16x faster than
float32 and the activations take half the memory; that is why large models train this way.
What runs here is the numerics, which are the same on any hardware.

The formats (sign, exponent, mantissa bits):

    float32   1  8  23    range ~1.2e-38 .. 3.4e38   ~7 significant digits
    float16   1  5  10    range ~6.0e-8 (subnormal) .. 65504, ~3 digits
    bfloat16  1  8   7    float32's range, ~2-3 digits (ml_dtypes.bfloat16, the NumPy type JAX uses)

float16 fails two ways in training:
  * overflow: a value above 65504 becomes inf (300 * 300 already does);
  * underflow: a gradient below ~6e-8 becomes 0; small gradients of a large model are
    routinely 1e-8 .. 1e-10, so their updates vanish.
Loss scaling fixes underflow: backpropagate S · loss (S = 2^16, say); every gradient is S times
larger, lifted into float16's range; divide by S in float32 before the update.  Too large an
S overflows instead, so `GradScaler` adjusts it as it goes (dynamic loss scaling): a step whose
gradients hold inf or NaN is *skipped* and S halves; after `growth_interval` good steps S
doubles.  bfloat16 has float32's exponent, so it neither overflows nor underflows where
float32 does not, and needs no loss scaling; it pays with precision (8 bits).

Master weights: the weights used in forward and backward are 16-bit, but the optimizer
updates a float32 copy.  An update lr·g is often below half a float16 ulp of the weight
(1 + 1e-4 == 1 in float16) and would be lost; in float32 it accumulates.  `MasterWeights`
keeps that copy, moves gradients to it and the updated values back.

    mp = amp.MasterWeights(model, dtype="float16")     # model now computes in float16
    opt = mg.optim.AdamW(mp.parameters(), lr=3e-4)     # the optimizer sees float32 masters
    scaler = amp.GradScaler()
    loss = loss_fn(model, batch)                       # a float32 loss from float16 logits
    scaler.scale(loss).backward()
    mp.step(opt, scaler, clip=1.0)                     # grads to masters, unscale, skip on inf,
                                                       # update, masters back into the model

bfloat16 in minigrad: ml_dtypes' bfloat16 is a storage format without NumPy arithmetic
kernels minigrad could build on, so dtype="bfloat16" stores in the model the *values* of
bfloat16 weights (each weight rounded to the nearest bfloat16, `to_bfloat16`) in float32
arrays, and the forward computes in float32 with them: the numbers of bfloat16 weight
storage, not its memory.
"""
from __future__ import annotations

import numpy as np

from .nn.parameter import Parameter
from .tensor import Tensor

__all__ = ["GradScaler", "MasterWeights", "to_bfloat16", "from_bfloat16", "round_to", "ulp_lost",
           "FLOAT16_MAX", "FLOAT16_TINY"]

FLOAT16_MAX = float(np.finfo(np.float16).max)          # 65504
FLOAT16_TINY = float(np.finfo(np.float16).smallest_subnormal)   # 5.96e-8


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError('bfloat16 needs ml_dtypes: pip install ml_dtypes (it comes with '
                          'pip install -e ".[distributed]")') from None
    return ml_dtypes.bfloat16


def to_bfloat16(array) -> np.ndarray:
    """float32 -> ml_dtypes.bfloat16 (round to nearest even): 2 bytes per value."""
    return np.asarray(array, dtype=np.float32).astype(_bfloat16())


def from_bfloat16(array) -> np.ndarray:
    """bfloat16 -> float32, exactly (a bfloat16 is the top half of a float32)."""
    return np.asarray(array).astype(np.float32)


def round_to(array, dtype) -> np.ndarray:
    """The float32 values that storing `array` as `dtype` (float16 or bfloat16) leaves."""
    if str(dtype) == "bfloat16":
        return from_bfloat16(to_bfloat16(array))
    return np.asarray(array).astype(dtype).astype(np.float32)


class GradScaler:
    """Dynamic loss scaling, as torch.amp.GradScaler.

    scale(loss)       S · loss (in float32, so the scaled loss itself does not overflow)
    unscale_(opt)     every gradient of opt's parameters / S; notes whether any is inf/NaN
    step(opt)         unscale_ if not done, then opt.step() unless a gradient was inf/NaN
    update()          S · backoff_factor after a skipped step; S · growth_factor after
                      growth_interval steps in a row without inf/NaN
    enabled=False makes every method a pass-through (scale 1, steps always taken).
    Under DistributedDataParallel the inf check is combined over ranks, so every rank
    skips the same steps.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        if init_scale <= 0 or growth_factor <= 1 or not 0 < backoff_factor < 1 or growth_interval < 1:
            raise ValueError("GradScaler: need init_scale > 0, growth_factor > 1, "
                             "0 < backoff_factor < 1, growth_interval >= 1")
        self.enabled = bool(enabled)
        self._scale = float(init_scale) if enabled else 1.0
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._found_inf = False
        self._unscaled = False
        self.skipped_steps = 0

    def get_scale(self) -> float:
        return self._scale

    def scale(self, loss: Tensor) -> Tensor:
        if not self.enabled:
            return loss
        if loss.dtype.itemsize < 4:
            loss = loss.to(np.float32)
        return loss * self._scale

    def unscale_(self, optimizer) -> None:
        if not self.enabled:
            return
        if self._unscaled:
            raise RuntimeError("GradScaler.unscale_ was already called for this step (call "
                               "update() after step())")
        inv = 1.0 / self._scale
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data.astype(np.float32) * np.float32(inv) if p.grad.dtype.itemsize < 4 \
                    else p.grad.data * inv
                if not np.isfinite(g).all():
                    found = True
                p.grad = Tensor(g.astype(p.dtype, copy=False))
        self._found_inf = self._combine_over_ranks(found)
        self._unscaled = True

    @staticmethod
    def _combine_over_ranks(found: bool) -> bool:
        from .distributed import comm
        if not comm.is_initialized() or comm.world_size() == 1:
            return found
        flag = np.array([int(found)], dtype=np.int32)
        comm.all_reduce(flag, "max")
        return bool(flag[0])

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step() unless the gradients hold inf/NaN (then the step is skipped and
        None is returned)."""
        if not self.enabled:
            return optimizer.step(*args, **kwargs)
        if not self._unscaled:
            self.unscale_(optimizer)
        if self._found_inf:
            self.skipped_steps += 1
            return None
        return optimizer.step(*args, **kwargs)

    @property
    def found_inf(self) -> bool:
        """Whether this step's gradients held inf/NaN (after unscale_)."""
        return self._found_inf

    def update(self) -> None:
        if not self.enabled:
            return
        if self._found_inf:
            self._scale *= self.backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self.growth_interval:
                self._scale *= self.growth_factor
                self._growth_tracker = 0
        self._found_inf = False
        self._unscaled = False

    def state_dict(self) -> dict:
        return {"scale": self._scale, "growth_factor": self.growth_factor,
                "backoff_factor": self.backoff_factor, "growth_interval": self.growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state: dict) -> None:
        self._scale = float(state["scale"])
        self.growth_factor = float(state["growth_factor"])
        self.backoff_factor = float(state["backoff_factor"])
        self.growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])


class MasterWeights:
    """float32 master copies of a model whose weights are stored in 16 bits (see above).

    dtype "float16": the model's parameters and floating buffers become float16 and its
    forward and backward compute in float16.  dtype "bfloat16": the parameters keep float32
    arrays holding bfloat16 values.  `parameters()` are the masters, for the optimizer.
    """

    def __init__(self, model, dtype: str = "float16"):
        if str(dtype) not in ("float16", "bfloat16"):
            raise ValueError(f"MasterWeights: dtype must be 'float16' or 'bfloat16', got {dtype!r}")
        self.model, self.dtype = model, str(dtype)
        self.params = [p for p in model.parameters() if p.requires_grad]
        for p in self.params:
            if p.dtype != np.float32:
                raise TypeError(f"MasterWeights: start from a float32 model; a parameter of shape "
                                f"{p.shape} is {p.dtype}")
        self.master = [Parameter(p.data.copy()) for p in self.params]
        if self.dtype == "float16":
            model.to(np.float16)
        self.copy_master_to_model()

    def parameters(self) -> list:
        return list(self.master)

    def copy_grads_to_master(self) -> None:
        """master.grad <- the model's (16-bit) gradient, in float32."""
        for m, p in zip(self.master, self.params):
            m.grad = None if p.grad is None else Tensor(p.grad.data.astype(np.float32))

    def copy_master_to_model(self) -> None:
        """The model's weights <- the masters, rounded to the 16-bit format."""
        for m, p in zip(self.master, self.params):
            if self.dtype == "float16":
                p.data = m.data.astype(np.float16)
            else:
                p.data = round_to(m.data, "bfloat16")

    def zero_grad(self) -> None:
        for t in self.master + self.params:
            t.grad = None

    def step(self, optimizer, scaler: GradScaler | None = None, clip: float | None = None) -> bool:
        """Gradients to the masters, unscale (and skip on inf/NaN), clip, update, copy back,
        zero every gradient.  Returns whether the update was taken."""
        from .optim import clip_grad_norm_
        self.copy_grads_to_master()
        taken = True
        if scaler is not None:
            scaler.unscale_(optimizer)
            taken = not scaler.found_inf
        if taken and clip:
            clip_grad_norm_(self.master, clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            if any(m.grad is not None and not np.isfinite(m.grad.data).all() for m in self.master):
                raise FloatingPointError("MasterWeights.step: inf/NaN gradients without a "
                                         "GradScaler (use one to skip such steps)")
            optimizer.step()
        self.copy_master_to_model()
        self.zero_grad()
        return taken

    def weight_bytes(self) -> dict:
        """Bytes of the 16-bit weights (as stored: 2 per value) and of the float32 masters."""
        n = sum(m.data.size for m in self.master)
        return {"weights_16bit": 2 * n, "master_float32": 4 * n}


def ulp_lost(weight: float, update: float, dtype) -> bool:
    """Does `weight + update` round back to `weight` in `dtype`?  (Why master weights.)"""
    w = np.asarray(weight, dtype=np.float32)
    return bool(round_to(w + np.float32(update), dtype) == round_to(w, dtype))

