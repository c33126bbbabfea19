"""Gradient accumulation (minigrad.distributed.backward_micro_batches, §8): K micro-batches,
each backward of L_m / K, give the gradient of the large batch, with dropout (per-sample
masks) and through a few AdamW steps, for GPT and BERT."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist
from minigrad.models import GPT, BertConfig, BertForSequenceClassification, GPTConfig
from minigrad.optim import AdamW


def gpt(dropout):
    mg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=29, n_layer=2, n_head=2, n_embd=16, block_size=8,
                         dropout=dropout)).double()


def lm_loss(model, batch):
    x, y = batch
    return model(x, y).loss, x.size


def lm_batch(step, B=8):
    rng = np.random.default_rng([3, step])
    return rng.integers(0, 29, (B, 8)), rng.integers(0, 29, (B, 8))


def grads(model):
    return {n: p.grad.data.copy() for n, p in model.named_parameters()}


@pytest.mark.parametrize("K", [2, 4, 8])
def test_k_micro_batches_equal_the_large_batch_with_dropout(K):
    model = gpt(dropout=0.2)
    batch = lm_batch(0)
    model.zero_grad()
    big, n_big = dist.backward_micro_batches(model, batch, 1, lm_loss, seed=5, step=0)
    big_grads = grads(model)
    model.zero_grad()
    acc, n_acc = dist.backward_micro_batches(model, batch, K, lm_loss, seed=5, step=0)
    assert n_acc == n_big == 64
    assert acc == pytest.approx(big, abs=1e-13)
    for name, g in grads(model).items():
        np.testing.assert_allclose(g, big_grads[name], rtol=0, atol=1e-12, err_msg=name)


def test_without_keyed_masks_dropout_breaks_the_equality():
    """The control: masks from one generator depend on the micro-batch split."""
    model = gpt(dropout=0.2)
    batch = lm_batch(0)
    model.zero_grad()
    mg.manual_seed(1)
    dist.backward_micro_batches(model, batch, 1, lm_loss)
    big = grads(model)
    model.zero_grad()
    mg.manual_seed(1)
    dist.backward_micro_batches(model, batch, 4, lm_loss)
    diff = max(np.abs(g - big[n]).max() for n, g in grads(model).items())
    assert diff > 1e-6


def test_accumulated_training_follows_the_large_batch_run():
    runs = []
    for K in (1, 4):
        model = gpt(dropout=0.1)
        opt = AdamW(model.parameters(), lr=1e-2)
        losses = []
        for step in range(3):
            opt.zero_grad()
            loss, _ = dist.backward_micro_batches(model, lm_batch(step), K, lm_loss, seed=2, step=step)
            mg.optim.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            losses.append(loss)
        runs.append((losses, {n: p.data.copy() for n, p in model.named_parameters()}))
    (l1, p1), (l4, p4) = runs
    assert l4 == pytest.approx(l1, abs=1e-12)
    for name, v in p1.items():
        np.testing.assert_allclose(p4[name], v, rtol=0, atol=1e-12, err_msg=name)


def test_bert_classification_accumulation():
    mg.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=3)
    model = BertForSequenceClassification(config).double()
    rng = np.random.default_rng(4)
    ids = rng.integers(1, 40, (6, 9))
    mask = np.ones_like(ids)
    mask[::2, 6:] = 0
    labels = rng.integers(0, 3, 6)

    def loss_fn(m, b):
        i, a, y = b
        return m(i, attention_mask=a, labels=y).loss, len(y)

    model.zero_grad()
    dist.backward_micro_batches(model, (ids, mask, labels), 1, loss_fn, seed=1, step=7)
    big = grads(model)
    model.zero_grad()
    dist.backward_micro_batches(model, (ids, mask, labels), 3, loss_fn, seed=1, step=7)
    for name, g in grads(model).items():
        np.testing.assert_allclose(g, big[name], rtol=0, atol=1e-12, err_msg=name)


def test_micro_batches_must_divide_the_batch():
    model = gpt(0.0)
    with pytest.raises(ValueError, match="cannot be cut into 3 equal micro-batches"):
        dist.backward_micro_batches(model, lm_batch(0), 3, lm_loss)
    with pytest.raises(ValueError, match=">= 1"):
        dist.backward_micro_batches(model, lm_batch(0), 0, lm_loss)
    with pytest.raises(ValueError, match="sample_ids"):
        dist.backward_micro_batches(model, lm_batch(0), 2, lm_loss, seed=0, sample_ids=[0, 1])
