"""minigrad: a from-scratch deep-learning framework for learning how large models work.

    import minigrad as mg
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x ** 2).sum().backward()
    x.grad                     # tensor([2., 4., 6.])

Layers, bottom-up (each imports only the ones below it):
    backends/  kernels behind names (NumPy reference)
    tensor.py, autograd.py, ops/   the engine: Tensor, graph, backward
    gradcheck.py                    finite-difference checks of every gradient
    nn/, optim/                     layers, losses, optimizers
    serialization.py                mg.save / mg.load (safetensors, atomic)
    memory.py                       malloc settings that let a step reuse freed pages
"""
from . import memory
memory._at_import()     # reuse freed memory: a training step ~2x faster (see memory.py)
from . import autograd, backends  # noqa: E402
from .autograd import detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .backends import backend, get_backend, set_backend
from .creation import (arange, full, full_like, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, tensor, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import (ShapeError, Tensor, as_tensor, can_cast, cat, chunk, device, matmul,
                     promote_types, result_type, split, stack, where)
from .serialization import CheckpointError, load, save
from . import nn, optim  # noqa: E402  (mg.nn and mg.optim, as torch.nn and torch.optim)
from . import viz  # noqa: E402  (mg.viz: the attention explorer, the graph view; matplotlib
                  # is imported only when a static picture is drawn)

float32, float64, int64, int32, bool_ = "float32", "float64", "int64", "int32", "bool"

__version__ = "0.1.0"


def _unary(name):
    def fn(t, *args, **kwargs):
        return getattr(as_tensor(t), name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"mg.{name}(t, ...) is t.{name}(...)"
    return fn


for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "erf", "sin", "cos", "clamp",
              "maximum", "minimum", "sum", "mean", "var", "std", "max", "min", "amax", "amin",
              "argmax", "argmin", "logsumexp", "softmax", "log_softmax", "reshape", "permute",
              "transpose", "unsqueeze", "squeeze", "flatten", "masked_fill", "gather", "square"):
    globals()[_name] = _unary(_name)
del _name
