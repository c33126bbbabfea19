"""The layout of an array must never change a result beyond rounding.

A transposed view (Fortran order), a strided slice and a C-ordered copy hold the same values;
the kernels read some of them in place (BLAS's transpose flag, strided loops) and copy others.
These tests feed every layout-sensitive op, and whole models, the same values in each layout on
purpose, on every CPU backend, and compare forward values and gradients with
`assert_same_numbers` (tests/numerics.py: rounding may differ, nothing else may).  They fail on
any machine if a kernel misreads a layout, whichever BLAS kernels the CPU selects.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.models import GPT, BertConfig, BertForSequenceClassification, GPTConfig
from numerics import assert_same_numbers, strided_view, transposed_copy
from test_backends import cpu_backends

LAYOUTS = ["C", "F", "strided"]
DTYPES = [np.float32, np.float64]


def laid_out(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "C":
        return np.ascontiguousarray(array)
    return transposed_copy(array) if layout == "F" else strided_view(array)


@pytest.fixture(params=cpu_backends())
def backend(request):
    with mg.backend(request.param):
        yield request.param


def _value_and_grads(fn, arrays, layout):
    """fn's output and the gradients of a fixed random projection of it w.r.t. every input,
    with the inputs in `layout`."""
    ts = [mg.tensor(laid_out(a, layout), requires_grad=True) for a in arrays]
    for t, a in zip(ts, arrays):
        assert np.array_equal(t.data, a)                     # the same values, another layout
    out = fn(*ts)
    seed = np.random.default_rng(9).standard_normal(out.shape).astype(out.dtype)
    grads = mg.grad(out, ts, grad_outputs=mg.tensor(seed))
    return [out.data] + [g.data for g in grads]


def _check_layouts(fn, arrays, layout, dtype, factor=1.0):
    got = _value_and_grads(fn, arrays, layout)
    want = _value_and_grads(fn, arrays, "C")
    for name, a, b in zip(["value"] + [f"grad {i}" for i in range(len(arrays))], got, want):
        assert_same_numbers(a, b, dtype, factor=factor, err_msg=f"{name}, layout {layout}")


def _rand(*shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


OPS = {
    "matmul": (lambda a, b: a @ b, [(5, 7), (7, 6)]),
    "batched matmul": (lambda a, b: a @ b, [(2, 5, 7), (2, 7, 6)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(3, 4, 7), (6, 7), (6,)]),
    "softmax": (lambda x: F.softmax(x, dim=-1), [(4, 9)]),
    "softmax dim 0": (lambda x: F.softmax(x, dim=0), [(4, 9)]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1), [(4, 9)]),
    "gelu": (lambda x: F.gelu(x), [(4, 9)]),
    "gelu tanh": (lambda x: F.gelu(x, approximate="tanh"), [(4, 9)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (9,), w, b), [(2, 4, 9), (9,), (9,)]),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                  [(1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, mg.tensor(np.array([1, 0, 3, 2]))), [(4, 5)]),
    "sum and transpose": (lambda x: (x.transpose(0, 1) * 2.0).sum(dim=0), [(3, 4, 5)]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["F", "strided"])
@pytest.mark.parametrize("op", list(OPS))
def test_ops_give_the_same_numbers_in_every_layout(backend, op, layout, dtype):
    fn, shapes = OPS[op]
    arrays = [_rand(*s, dtype=dtype, seed=i) for i, s in enumerate(shapes)]
    _check_layouts(fn, arrays, layout, dtype)


def test_attention_on_head_transposed_views(backend):
    """What a Transformer really passes: q, k, v as (B, T, nh, hs) -> (B, nh, T, hs) views."""
    rng = np.random.default_rng(2)
    qkv = rng.standard_normal((2, 6, 3, 2, 4)).astype(np.float32)   # (B, T, 3, nh, hs)
    views = [qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3)]   # non-contiguous
    assert not any(v.flags.c_contiguous for v in views)
    got = F.scaled_dot_product_attention(*(mg.tensor(v) for v in views), is_causal=True)
    want = F.scaled_dot_product_attention(*(mg.tensor(np.ascontiguousarray(v)) for v in views),
                                          is_causal=True)
    assert_same_numbers(got, want)


def test_embedding_table_in_fortran_order(backend):
    table = _rand(11, 6, dtype=np.float64)
    ids = np.array([[1, 4, 4], [10, 0, 3]])
    results = []
    for layout in ("C", "F"):
        t = mg.tensor(laid_out(table, layout), requires_grad=True)
        out = F.embedding(ids, t)
        (out * out).sum().backward()
        results.append((out.data, t.grad.data))
    assert_same_numbers(results[1][0], results[0][0])
    assert_same_numbers(results[1][1], results[0][1])


def _relaid_model(model, layout):
    for p in model.parameters():
        p.data = laid_out(p.data, layout)
    return model


@pytest.mark.parametrize("layout", ["F", "strided"])
def test_gpt_loss_and_gradients_do_not_depend_on_the_weights_layout(backend, layout):
    """A checkpoint's weights may arrive transposed (GPT-2's Conv1D) or as views."""
    def loss_and_grads(lay):
        mg.manual_seed(0)
        model = _relaid_model(GPT(GPTConfig(vocab_size=13, n_layer=2, n_head=2, n_embd=8,
                                            block_size=6)), lay)
        idx = np.random.default_rng(1).integers(0, 13, (2, 6))
        out = model(mg.tensor(idx), targets=mg.tensor(np.roll(idx, -1, 1)))
        out.loss.backward()
        return [out.logits.data] + [p.grad.data for p in model.parameters()]

    for a, b in zip(loss_and_grads(layout), loss_and_grads("C"), strict=True):
        assert_same_numbers(a, b, factor=10)   # ~40 ops deep: rounding compounds a little


@pytest.mark.parametrize("layout", ["F", "strided"])
def test_bert_logits_do_not_depend_on_the_weights_layout(backend, layout):
    cfg = BertConfig(vocab_size=20, hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                     intermediate_size=17, max_position_embeddings=10, num_labels=3)

    def logits(lay):
        mg.manual_seed(0)
        model = _relaid_model(BertForSequenceClassification(cfg), lay).eval()
        ids = np.random.default_rng(0).integers(0, 20, (2, 7))
        mask = np.ones((2, 7), dtype=np.int64)
        mask[1, 5:] = 0
        return model(mg.tensor(ids), mg.tensor(mask)).logits.data

    assert_same_numbers(logits(layout), logits("C"), factor=10)


def test_load_state_dict_hands_back_c_ordered_parameters():
    """One copy at load time puts every parameter in C order, whatever the source's layout."""
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=13, n_layer=1, n_head=2, n_embd=8, block_size=6))
    sd = {k: laid_out(v.data, "F" if v.ndim == 2 else "strided") for k, v in model.state_dict().items()}
    model.load_state_dict(sd)
    for name, p in model.named_parameters():
        assert p.data.flags.c_contiguous, name
        assert np.array_equal(p.data, sd[name])
