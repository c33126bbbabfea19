"""Activation checkpointing (minigrad.checkpointing, §8): the recomputed backward gives the
gradients of the plain one (float64 gradient checks, GPT and BERT with dropout), the random
state is replayed, and the peak memory of a step goes down."""
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import random as mgrandom
from minigrad.checkpointing import checkpoint
from minigrad.models import GPT, BertConfig, BertForMaskedLM, BertForSequenceClassification, GPTConfig


def _mlp(seed=0, dtype=np.float64):
    mg.manual_seed(seed)
    return mg.nn.Sequential(mg.nn.Linear(5, 7), mg.nn.Tanh(), mg.nn.Dropout(0.3),
                            mg.nn.Linear(7, 5)).to(dtype)


def test_gradcheck_of_a_checkpointed_function_with_dropout():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def f(x, w):
        return F.dropout((x @ w).tanh(), 0.4) * 2.0

    def g(x, w):
        mg.manual_seed(7)       # the same mask at every finite-difference evaluation
        return checkpoint(f, x, w)

    assert mg.gradcheck(g, (x, w))


def test_checkpointed_module_gradcheck_through_its_parameters():
    """params default to the module's parameters, so mg.grad (used by gradcheck) sees them."""
    net = _mlp()
    x = mg.tensor(np.random.default_rng(1).standard_normal((3, 5)), requires_grad=True)
    w = net[0].weight

    def g(x, w):
        mg.manual_seed(3)
        return checkpoint(net, x)

    assert mg.gradcheck(g, (x, w))


def test_same_gradients_and_rng_state_as_without():
    net = _mlp()
    x = mg.tensor(np.random.default_rng(2).standard_normal((6, 5)), requires_grad=True)
    results = []
    for use in (False, True):
        net.zero_grad()
        x.grad = None
        mg.manual_seed(11)
        y = (checkpoint(net, x) if use else net(x)).square().sum()
        y.backward()
        results.append((y.item(), x.grad.data.copy(), [p.grad.data.copy() for p in net.parameters()],
                        mg.get_rng_state()))
    (l0, gx0, gp0, s0), (l1, gx1, gp1, s1) = results
    assert l0 == l1
    np.testing.assert_array_equal(gx0, gx1)
    for a, b in zip(gp0, gp1):
        np.testing.assert_array_equal(a, b)
    assert s0 == s1            # the recomputation consumed no random numbers


def test_without_rng_replay_dropout_gives_other_gradients():
    """What preserve_rng_state is for: without it the recomputed masks differ."""
    net = _mlp()
    x = mg.tensor(np.random.default_rng(2).standard_normal((6, 5)))
    grads = []
    for keep in (True, False):
        net.zero_grad()
        mg.manual_seed(11)
        checkpoint(net, x, preserve_rng_state=keep).square().sum().backward()
        grads.append(net[0].weight.grad.data.copy())
    net.zero_grad()
    mg.manual_seed(11)
    net(x).square().sum().backward()
    np.testing.assert_array_equal(grads[0], net[0].weight.grad.data)
    assert not np.allclose(grads[1], net[0].weight.grad.data)


def test_per_sample_dropout_replayed_in_the_recomputation():
    net = _mlp()
    x = mg.tensor(np.random.default_rng(4).standard_normal((4, 5)))
    grads = []
    for use in (False, True):
        net.zero_grad()
        with mgrandom.per_sample_dropout(1, 2, np.arange(10, 14)):
            y = (checkpoint(net, x) if use else net(x)).square().sum()
        y.backward()            # outside the block: the replay restores its key and count
        grads.append(net[3].weight.grad.data.copy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_no_grad_and_eval_run_the_function_directly_and_create_graph_is_refused():
    net = _mlp()
    x = mg.tensor(np.ones((2, 5)), requires_grad=True)
    with mg.no_grad():
        y = checkpoint(net, x)
    assert y.grad_fn is None
    y = checkpoint(net, x)
    assert y.grad_fn.name == "checkpoint"
    with pytest.raises(RuntimeError, match="create_graph"):
        mg.grad(y.sum(), x, create_graph=True)
    with pytest.raises(TypeError, match="one Tensor"):
        checkpoint(lambda t: (t, t), x)


def _gpt(dropout=0.1):
    mg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=31, n_layer=3, n_head=2, n_embd=16, block_size=12,
                         dropout=dropout)).double()


def _step_grads(model, call):
    model.zero_grad()
    mg.manual_seed(5)
    loss = call()
    loss.backward()
    return loss.item(), {n: p.grad.data.copy() for n, p in model.named_parameters()}


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_gpt_gradient_checkpointing_same_gradients(dropout):
    model = _gpt(dropout)
    rng = np.random.default_rng(0)
    idx, tgt = rng.integers(0, 31, (3, 12)), rng.integers(0, 31, (3, 12))
    plain = _step_grads(model, lambda: model(idx, tgt).loss)
    assert not model.is_gradient_checkpointing
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    ckpt = _step_grads(model, lambda: model(idx, tgt).loss)
    assert ckpt[0] == pytest.approx(plain[0], abs=1e-13)
    for name, g in plain[1].items():
        np.testing.assert_allclose(ckpt[1][name], g, rtol=0, atol=1e-12, err_msg=name)
    # the KV cache and attention weights still work (those calls run without recomputation)
    out = model(idx[:, :4], use_cache=True, output_attentions=True)
    assert out.attentions[0].shape == (3, 2, 4, 4)
    model.gradient_checkpointing_disable()
    assert not model.is_gradient_checkpointing


@pytest.mark.parametrize("cls", [BertForMaskedLM, BertForSequenceClassification])
def test_bert_gradient_checkpointing_same_gradients(cls):
    mg.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)
    model = cls(config).double()
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 40, (4, 10))
    mask = np.ones((4, 10), dtype=np.int64)
    mask[1, 7:] = 0
    labels = rng.integers(0, 40, (4, 10)) if cls is BertForMaskedLM else rng.integers(0, 2, 4)
    call = lambda: model(ids, attention_mask=mask, labels=labels).loss   # noqa: E731
    plain = _step_grads(model, call)
    model.gradient_checkpointing_enable()
    assert model.bert.encoder.gradient_checkpointing
    ckpt = _step_grads(model, call)
    assert ckpt[0] == pytest.approx(plain[0], abs=1e-13)
    for name, g in plain[1].items():
        np.testing.assert_allclose(ckpt[1][name], g, rtol=0, atol=1e-12, err_msg=name)


def _peak_bytes(model, idx, tgt):
    model.zero_grad()
    tracemalloc.start()
    try:
        model(idx, tgt).loss.backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gpt_gradient_checkpointing_lowers_peak_memory():
    """Activations dominate at this size (8 layers, B·T = 256, nh·T² attention matrices):
    keeping one block's activations instead of eight cuts the peak by more than half."""
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, n_layer=8, n_head=4, n_embd=32, block_size=64))
    rng = np.random.default_rng(0)
    idx, tgt = rng.integers(0, 64, (4, 64)), rng.integers(0, 64, (4, 64))
    model(idx, tgt).loss.backward()                    # warm-up: kernels compiled, pools filled
    plain = _peak_bytes(model, idx, tgt)
    model.gradient_checkpointing_enable()
    ckpt = _peak_bytes(model, idx, tgt)
    assert ckpt < 0.5 * plain, (plain, ckpt)
