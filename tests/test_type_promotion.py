"""PyTorch habits of a tensor (issue 11, §4): type promotion as PyTorch, the device API
(t.device, t.to("cpu"), t.cpu()), dim= where NumPy says axis=, and mg.get_backend().

The promotion table is checked against the rule written in minigrad/tensor.py's docstring,
and against PyTorch itself when it is installed (marker `interop`)."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn


# ----------------------------------------------------------------------------------------
# The promotion table.  An operand is ("t", dtype, ndim) for a tensor, ("a", dtype, ndim)
# for a NumPy array, or a number (Python or NumPy scalar).
# ----------------------------------------------------------------------------------------
def _values(dtype, ndim):
    data = np.arange(1, 4) if ndim else np.asarray(2)
    return data.astype(dtype)


def make_mg(spec):
    if isinstance(spec, tuple):
        kind, dtype, ndim = spec
        data = _values(dtype, ndim)
        return mg.tensor(data) if kind == "t" else data
    return spec


def make_torch(torch, spec):
    """The same operand for PyTorch.  NumPy scalars are passed as they are (PyTorch takes
    them as numbers).  An array becomes torch.from_numpy(array): minigrad's rule.  (PyTorch
    itself hands `tensor + ndarray` to NumPy, whose promotion then applies: the same dtype
    for arrays with dims of the tensor's category, another one for 0-dim arrays and for an
    int tensor with a float32 array; see tensor.py's docstring.)"""
    if isinstance(spec, tuple):
        kind, dtype, ndim = spec
        return torch.from_numpy(_values(dtype, ndim))
    return spec


OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "/": lambda a, b: a / b, "**": lambda a, b: a ** b}

TABLE = [
    # left, op, right, expected dtype, why
    (("t", "int64", 1), "/", 2, "float32", "int / number: the default float dtype"),
    (("t", "int64", 1), "*", 1.5, "float32", "int * float number"),
    (("t", "int64", 1), "+", 1.0, "float32", "int + float number"),
    (("t", "int64", 1), "/", ("t", "int64", 1), "float32", "/ is true division"),
    (("t", "int32", 1), "/", ("t", "int32", 1), "float32", "/ is true division"),
    (("t", "int64", 1), "-", 2, "int64", "int - int number stays int"),
    (("t", "int32", 1), "+", 1, "int32", "a number never widens a tensor"),
    (("t", "float32", 1), "*", 2.5, "float32", "a number never widens a tensor"),
    (("t", "float32", 1), "+", np.float64(1.0), "float32", "a NumPy scalar is a number"),
    (("t", "float32", 1), "*", np.int64(3), "float32", "a NumPy scalar is a number"),
    (("t", "float32", 1), "+", ("t", "float64", 0), "float32", "a 0-dim tensor does not widen"),
    (("t", "int64", 1), "+", ("t", "float64", 0), "float64", "a 0-dim tensor of a higher category"),
    (("t", "int32", 1), "+", ("t", "int64", 0), "int32", "a 0-dim tensor does not widen"),
    (("t", "float32", 1), "+", ("t", "float64", 1), "float64", "tensors with dims: the wider"),
    (("t", "int32", 1), "*", ("t", "int64", 1), "int64", "tensors with dims: the wider"),
    (("t", "int64", 1), "+", ("t", "float32", 1), "float32", "int with float: the float (NumPy: float64)"),
    (("t", "uint8", 1), "+", ("t", "int8", 1), "int16", "uint8 with int8"),
    (("t", "float32", 0), "*", ("t", "float64", 0), "float64", "two 0-dim tensors: the wider"),
    (("t", "bool", 1), "+", 1, "int64", "bool + int number"),
    (("t", "bool", 1), "*", 1.5, "float32", "bool * float number"),
    (("t", "bool", 1), "+", True, "bool", "bool + bool"),
    (("t", "float32", 1), "+", ("a", "float64", 1), "float64", "an array with dims is a tensor"),
    (("t", "float32", 1), "+", ("a", "float64", 0), "float32", "a 0-dim array is a 0-dim tensor"),
    (("t", "int64", 1), "*", ("a", "float32", 1), "float32", "an array with dims is a tensor"),
    (2, "**", ("t", "int64", 1), "int64", "int ** int"),
    (("t", "int64", 1), "**", 2, "int64", "int ** int"),
    (("t", "int64", 1), "**", 0.5, "float32", "int ** float number"),
    (2.0, "-", ("t", "int64", 1), "float32", "float number - int"),
    (("t", "float64", 1), "/", 3, "float64", "float64 stays float64"),
]
IDS = [f"{i}:{row[4]}" for i, row in enumerate(TABLE)]


@pytest.mark.parametrize("left, op, right, expected, why", TABLE, ids=IDS)
def test_result_dtypes_follow_the_table(left, op, right, expected, why):
    a, b = make_mg(left), make_mg(right)
    out = OPS[op](a, b)
    assert isinstance(out, mg.Tensor)
    assert out.dtype == np.dtype(expected), why
    assert mg.result_type(a, b) == np.dtype(expected) or op in ("/", "**")
    # the values: NumPy's result in float64 (bool + bool is a logical or, as in PyTorch)
    ref_dtype = np.bool_ if expected == "bool" else np.float64
    ref = OPS[op](*(np.asarray(_plain(x), dtype=ref_dtype) for x in (a, b)))
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref.astype(np.float64), rtol=1e-6)


def _plain(x):
    return x.numpy() if isinstance(x, mg.Tensor) else x


@pytest.mark.interop
@pytest.mark.parametrize("left, op, right, expected, why", TABLE, ids=IDS)
def test_result_dtypes_agree_with_pytorch(left, op, right, expected, why):
    torch = pytest.importorskip("torch")
    out = OPS[op](make_torch(torch, left), make_torch(torch, right))
    assert str(out.dtype) == f"torch.{expected}", why


def test_maximum_minimum_and_where_promote_too():
    i = mg.tensor([1, 2, 3])
    assert i.maximum(1.5).dtype == np.float32 and i.minimum(2).dtype == np.int64
    np.testing.assert_array_equal(i.maximum(1.5).numpy(), [1.5, 2.0, 3.0])
    w = mg.where(i > 1, i, 0.5)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w.numpy(), [0.5, 2.0, 3.0])
    assert mg.where(i > 1, mg.ones(3), mg.zeros(3, dtype="float64")).dtype == np.float64


def test_float_math_on_integers_gives_float32():
    i = mg.tensor([1, 2, 4])
    for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "erf", "rsqrt"):
        out = getattr(i, name)()
        assert out.dtype == np.float32, name
    np.testing.assert_allclose(i.sqrt().numpy(), [1.0, np.sqrt(2.0), 2.0], rtol=1e-6)
    np.testing.assert_allclose((i ** 0.5).numpy(), [1.0, np.sqrt(2.0), 2.0], rtol=1e-6)
    assert i.mean().dtype == np.float32 and i.mean().item() == pytest.approx(7 / 3)
    assert i.reciprocal().dtype == np.float32


def test_masked_fill_keeps_the_tensors_dtype_as_pytorch():
    i = mg.tensor([1, 2, 3])
    out = i.masked_fill(i > 1, 0.0)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [1, 0, 0])
    f = mg.ones(3)
    assert f.masked_fill(f > 0, mg.tensor(np.float64(2.0))).dtype == np.float32


def test_gradients_flow_through_promotion_in_each_inputs_dtype():
    x32 = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c64 = mg.tensor(np.array([0.5, 0.25, 2.0]))
    y = x32 * c64                                   # float32 with float64 -> float64
    assert y.dtype == np.float64
    y.sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_allclose(x32.grad.numpy(), [0.5, 0.25, 2.0])

    k = mg.tensor([1, 2, 3])
    s = mg.tensor(np.float64(0.7), requires_grad=True)      # a 0-dim float64 parameter
    x = mg.tensor(np.array([0.3, -1.2, 0.8]), requires_grad=True)
    assert mg.gradcheck(lambda s, x: (k * s + x / k) * (k / 2), [s, x])
    assert mg.gradgradcheck(lambda s, x: (k * s + x / k) * (k / 2), [s, x])


def test_result_type_and_promote_types_as_functions():
    assert mg.promote_types(np.dtype("int64"), np.dtype("float16")) == np.float16
    assert mg.promote_types(np.dtype("bool"), np.dtype("int8")) == np.int8
    assert mg.result_type(mg.tensor([1, 2]), 1.5) == np.float32
    assert mg.result_type(mg.ones(2), np.ones(2)) == np.float64
    assert mg.can_cast(np.dtype("float64"), np.dtype("float32"))
    assert not mg.can_cast(np.dtype("float32"), np.dtype("int64"))


# ----------------------------------------------------------------------------------------
# Devices: the CPU is the one device
# ----------------------------------------------------------------------------------------
def test_device_prints_like_pytorchs():
    t = mg.ones(2)
    assert repr(t.device) == "device(type='cpu')" and str(t.device) == "cpu"
    assert t.device == "cpu" and t.device == mg.device("cpu") and t.device.type == "cpu"
    assert mg.device("cuda:1").index == 1 and repr(mg.device("cuda:1")) == "device(type='cuda', index=1)"
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        mg.device("gpu")


def test_to_cpu_and_cpu_return_the_tensor_and_to_takes_pytorchs_forms():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x and x.cpu() is x and x.to(mg.device("cpu")) is x
    assert x.to(device="cpu") is x
    for y in (x.to("cpu", "float64"), x.to("cpu", mg.float64), x.to(device="cpu", dtype="float64"),
              x.to(dtype=np.float64), x.to(mg.zeros(1, dtype="float64")), x.to("float64")):
        assert y.dtype == np.float64 and y.requires_grad
    copied = x.to("cpu", copy=True)
    assert copied is not x and copied.data is not x.data
    x.to("cpu", "float64").sum().backward()         # the dtype change stays differentiable
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("call", [lambda t: t.to("cuda"), lambda t: t.to("cuda:0", "float64"),
                                  lambda t: t.to(device="mps"), lambda t: t.cuda()])
def test_another_device_is_a_clear_error(call):
    with pytest.raises(RuntimeError, match=r"host memory, so 'cpu' is the one device.*cuda "
                                           r"backend.*GPU"):
        call(mg.ones(2))


def test_constructors_take_device_as_pytorchs_do():
    x = mg.ones(2)
    made = [mg.tensor([1.0], device="cpu"), mg.zeros(2, device=x.device), mg.ones(2, device="cpu"),
            mg.full((2,), 3.0, device="cpu"), mg.arange(3, device="cpu"), mg.randn(2, device="cpu"),
            mg.rand(2, device="cpu"), mg.randint(0, 3, (2,), device="cpu"),
            mg.zeros_like(x, device="cpu"), mg.ones_like(x, device="cpu"),
            mg.full_like(x, 2.0, device="cpu"), mg.randn_like(x, device="cpu"),
            mg.rand_like(x, device="cpu")]
    assert all(t.device == "cpu" for t in made)
    with pytest.raises(RuntimeError, match=r"zeros\('cuda'\): minigrad tensors live in host memory"):
        mg.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="'float32' is not a device"):
        mg.randn(2, device="float32")


def test_module_to_takes_a_device_and_a_dtype():
    m = nn.Linear(3, 2)
    assert m.to("cpu") is m and m.weight.dtype == np.float32
    assert m.to("cpu", "float64") is m and m.weight.dtype == np.float64
    m.to(device="cpu", dtype=mg.float32)
    assert m.bias.dtype == np.float32
    with pytest.raises(RuntimeError, match="'cpu' is the one device"):
        m.to("cuda")


# ----------------------------------------------------------------------------------------
# dim=, not axis=
# ----------------------------------------------------------------------------------------
REDUCTIONS = ["sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax", "argmin",
              "logsumexp", "softmax", "log_softmax", "any", "all"]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_axis_is_refused_with_a_message_naming_dim(name):
    t = mg.ones(2, 3) if name not in ("any", "all") else mg.ones(2, 3) > 0
    with pytest.raises(TypeError) as info:
        getattr(t, name)(axis=1)
    assert str(info.value) == (f"{name}() got an unexpected keyword 'axis': minigrad follows "
                               f"PyTorch and calls it dim: use {name}(dim=1)")
    with pytest.raises(TypeError, match=rf"{name}\(\) got an unexpected keyword 'keepdims'.*"
                                        rf"keepdim: use {name}\(keepdim=True\)"):
        getattr(t, name)(dim=1, keepdims=True)
    with pytest.raises(TypeError, match=rf"{name}\(\) got an unexpected keyword argument 'foo'"):
        getattr(t, name)(foo=1)


def test_functional_forms_refuse_axis_too():
    t = mg.ones(2, 3)
    with pytest.raises(TypeError, match=r"mean\(\) got an unexpected keyword 'axis'.*dim: use "
                                        r"mean\(dim=0\)"):
        mg.mean(t, axis=0)
    with pytest.raises(TypeError, match=r"cat\(\) got an unexpected keyword 'axis'.*cat\(dim=1\)"):
        mg.cat([t, t], axis=1)
    with pytest.raises(TypeError, match=r"stack\(\) got an unexpected keyword 'axis'"):
        mg.stack([t, t], axis=0)
    assert t.mean(dim=1).shape == (2,) and mg.cat([t, t], dim=1).shape == (2, 6)


# ----------------------------------------------------------------------------------------
# mg.get_backend()
# ----------------------------------------------------------------------------------------
def test_get_backend_names_the_active_backend():
    before = mg.get_backend()
    assert before == mg.backends.current_name() and before in mg.backends.available()
    with mg.backend("numpy"):
        assert mg.get_backend() == "numpy"
    assert mg.get_backend() == before
    try:
        mg.set_backend("numpy")
        assert mg.get_backend() == "numpy"
    finally:
        mg.set_backend(before)
