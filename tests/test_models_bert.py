"""BERT: config, names, gradients, padding, masking for MLM, fine-tuning, and parity with
Hugging Face's BertModel / BertForSequenceClassification / BertForMaskedLM."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.models import (BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel,
                             mask_tokens)

TINY = dict(vocab_size=30, hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
            intermediate_size=17, max_position_embeddings=16, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0, num_labels=3)


def tiny(cls=BertModel, seed=0, **kw):
    mg.manual_seed(seed)
    return cls(BertConfig(**{**TINY, **kw}))


def batch(seed=0):
    r = np.random.default_rng(seed)
    input_ids = r.integers(5, 30, (2, 6))
    input_ids[:, 0] = 2                                   # [CLS]
    mask = np.ones((2, 6), np.int64)
    mask[1, 4:] = 0
    input_ids[1, 4:] = 0                                  # [PAD]
    token_types = np.zeros((2, 6), np.int64)
    token_types[:, 3:] = 1
    return input_ids, mask, token_types


# --- config and structure -------------------------------------------------------------------
def test_config_from_hf_dict_keeps_unknown_keys():
    hf = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 384,
          "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536,
          "id2label": {"0": "neg", "1": "pos", "2": "neutral"}, "position_embedding_type": "absolute",
          "vocab_size": 30522, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
    c = BertConfig.from_dict(hf)
    assert (c.hidden_size, c.num_hidden_layers, c.num_labels) == (384, 6, 3)
    d = c.to_dict()
    assert d["architectures"] == ["BertForMaskedLM"] and d["model_type"] == "bert"
    assert BertConfig.from_dict(d) == c
    assert BertConfig().layer_norm_eps == 1e-12 and BertConfig().num_labels == 2
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(hidden_size=10, num_attention_heads=3)
    with pytest.raises(ValueError, match="activation"):
        BertConfig(hidden_act="swishy")


def test_parameter_names_match_hugging_face():
    m = tiny(num_hidden_layers=1)
    layer = ["attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
             "output.dense", "output.LayerNorm"]
    expected = [f"embeddings.{n}.weight" for n in ("word_embeddings", "position_embeddings",
                                                   "token_type_embeddings")]
    expected += ["embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"]
    expected += [f"encoder.layer.0.{n}.{w}" for n in layer for w in ("weight", "bias")]
    expected += ["pooler.dense.weight", "pooler.dense.bias"]
    assert list(m.state_dict()) == expected
    assert m.state_dict()["encoder.layer.0.intermediate.dense.weight"].shape == (17, 12)
    assert m.embeddings.LayerNorm.eps == 1e-12
    assert (m.embeddings.word_embeddings.weight.data[0] == 0).all()       # pad row
    clf = tiny(BertForSequenceClassification)
    assert list(clf.state_dict())[-2:] == ["classifier.weight", "classifier.bias"]
    assert all(k.startswith(("bert.", "classifier.")) for k in clf.state_dict())
    mlm = tiny(BertForMaskedLM)
    pred = mlm.cls.predictions
    assert pred.decoder.weight is mlm.bert.embeddings.word_embeddings.weight
    assert pred.decoder.bias is pred.bias
    assert mlm.bert.pooler is None


def test_outputs_padding_and_token_types():
    m = tiny().eval()
    input_ids, mask, tt = batch()
    out = m(input_ids, mask, tt, output_attentions=True, output_hidden_states=True)
    assert out.last_hidden_state.shape == (2, 6, 12) and out.pooler_output.shape == (2, 12)
    assert len(out.hidden_states) == 3 and len(out.attentions) == 2
    assert out.attentions[0].shape == (2, 3, 6, 6)
    assert (out.attentions[1].data[1, :, :, 4:] == 0).all()                # nobody attends to pads
    np.testing.assert_allclose(out.attentions[1].data.sum(-1), 1.0, rtol=1e-5)
    assert out["pooler_output"] is out.pooler_output and out[0] is out.last_hidden_state
    # padding does not change the real tokens' outputs
    short = m(input_ids[1:, :4], mask[1:, :4], tt[1:, :4])
    np.testing.assert_allclose(short.last_hidden_state.data[0], out.last_hidden_state.data[1, :4],
                               atol=1e-5)
    np.testing.assert_allclose(short.pooler_output.data[0], out.pooler_output.data[1], atol=1e-5)
    # token_type_ids default to zeros
    np.testing.assert_allclose(m(input_ids).last_hidden_state.data,
                               m(input_ids, None, np.zeros_like(tt)).last_hidden_state.data)
    assert not np.allclose(m(input_ids, None, tt).last_hidden_state.data,
                           m(input_ids).last_hidden_state.data)
    with pytest.raises(mg.ShapeError, match="attention_mask"):
        m(input_ids, mask[:, :3])
    with pytest.raises(mg.ShapeError, match="max_position_embeddings"):
        m(np.ones((1, 17), np.int64))


def test_bert_gradcheck_float64():
    input_ids, mask, tt = batch()
    # the [PAD] row of the word embeddings gets no gradient by design (padding_idx, as in
    # PyTorch), which finite differences would see; keep the masked positions but not id 0
    input_ids[input_ids == 0] = 7
    m = tiny().double()
    params = list(m.parameters())
    assert mg.gradcheck(lambda *p: m(input_ids, mask, tt).to_tuple(), params, fast_mode=True)
    clf = tiny(BertForSequenceClassification).double()
    assert mg.gradcheck(lambda *p: clf(input_ids, mask, tt, labels=np.array([2, 0])).loss,
                        list(clf.parameters()), fast_mode=True)
    mlm = tiny(BertForMaskedLM).double()
    labels = np.full((2, 6), -100)
    labels[0, 2], labels[1, 1] = 7, 9
    assert mg.gradcheck(lambda *p: mlm(input_ids, mask, labels=labels).loss,
                        list(mlm.parameters()), fast_mode=True)


def test_mlm_loss_counts_only_labelled_positions():
    mlm = tiny(BertForMaskedLM)
    input_ids, mask, _ = batch()
    labels = np.full((2, 6), -100)
    labels[0, 2] = 7
    out = mlm(input_ids, mask, labels=labels)
    logp = out.logits.data[0, 2] - np.log(np.exp(out.logits.data[0, 2]).sum())
    assert out.loss.item() == pytest.approx(-logp[7], rel=1e-5)
    assert out.logits.shape == (2, 6, 30)


def test_mask_tokens_80_10_10_and_reproducible():
    r = np.random.default_rng(0)
    ids = r.integers(5, 1000, (200, 100))
    ids[:, 0], ids[:, -1] = 2, 3                           # [CLS] ... [SEP]
    mg.manual_seed(1)
    inputs, labels = mask_tokens(ids, mask_token_id=4, vocab_size=1000, special_ids=[0, 2, 3])
    mg.manual_seed(1)
    inputs2, labels2 = mask_tokens(mg.tensor(ids), 4, 1000, [0, 2, 3])
    np.testing.assert_array_equal(inputs.data, inputs2.data)
    np.testing.assert_array_equal(labels.data, labels2.data)
    sel = labels.data != -100
    assert not sel[:, [0, -1]].any()                        # special tokens never selected
    np.testing.assert_array_equal(labels.data[sel], ids[sel])
    np.testing.assert_array_equal(inputs.data[~sel], ids[~sel])
    assert sel[:, 1:-1].mean() == pytest.approx(0.15, abs=0.01)
    masked = (inputs.data == 4)[sel].mean()
    kept = (inputs.data == ids)[sel].mean()
    assert masked == pytest.approx(0.8, abs=0.02)
    assert kept == pytest.approx(0.1 + 0.1 / 1000, abs=0.02)   # random may redraw the same id
    assert inputs.dtype == np.int64 and labels.dtype == np.int64


def test_regression_head_uses_mse():
    m = tiny(BertForSequenceClassification, num_labels=1)
    input_ids, mask, _ = batch()
    out = m(input_ids, mask, labels=np.array([0.5, -1.0]))
    want = ((out.logits.data[:, 0] - np.array([0.5, -1.0])) ** 2).mean()
    assert out.logits.shape == (2, 1) and out.loss.item() == pytest.approx(want, rel=1e-5)


# --- fine-tuning ----------------------------------------------------------------------------
def test_tiny_bert_classifier_learns_contains_token_5():
    r = np.random.default_rng(0)
    ids = r.integers(6, 12, (64, 7))
    ids[:, 0] = 1                                          # [CLS]
    has5 = np.arange(64) % 2 == 0
    ids[has5, r.integers(1, 7, has5.sum())] = 5
    labels = has5.astype(np.int64)
    m = tiny(BertForSequenceClassification, vocab_size=12, hidden_size=16, num_attention_heads=2,
             intermediate_size=32, num_labels=2, hidden_dropout_prob=0.1, initializer_range=0.1)
    opt = mg.optim.Adam(m.parameters(), lr=3e-3)
    m.train()
    for _ in range(60):
        m.zero_grad()
        loss = m(ids, labels=labels).loss
        loss.backward()
        opt.step()
    m.eval()
    with mg.no_grad():
        pred = m(ids).logits.data.argmax(-1)
    assert (pred == labels).mean() == 1.0


# --- Hugging Face parity ----------------------------------------------------------------------
def hf_state(hf_model) -> dict:
    """A HF state dict as NumPy arrays, without the position_ids / token_type_ids buffers that
    some versions store.  BERT's Linear layout is (out, in) like minigrad's: no transposes."""
    return {k: v.detach().cpu().numpy() for k, v in hf_model.state_dict().items()
            if not k.endswith(("position_ids", "token_type_ids"))}


@pytest.fixture(scope="module")
def hf_bert():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(vocab_size=30, hidden_size=12, num_hidden_layers=2,
                                  num_attention_heads=3, intermediate_size=17,
                                  max_position_embeddings=16, hidden_act="gelu",
                                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                  initializer_range=0.3, num_labels=3)
    cfg._attn_implementation = "eager"                   # so attentions are returned
    return torch, transformers, cfg


def _randomise(torch, model):
    torch.manual_seed(0)
    with torch.no_grad():                               # non-trivial LayerNorms and biases
        for n, p in model.named_parameters():
            if "LayerNorm" in n or n.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
    return model


@pytest.mark.interop
def test_bert_model_matches_hugging_face(hf_bert):
    torch, transformers, cfg = hf_bert
    torch.manual_seed(0)
    hf = _randomise(torch, transformers.BertModel(cfg).eval().double())
    m = BertModel(BertConfig.from_dict(cfg.to_dict())).double()
    assert m.config.num_labels == 3 and m.config.hidden_act == "gelu"
    m.load_state_dict(hf_state(hf))
    input_ids, mask, tt = batch()
    with torch.no_grad():
        ref = hf(torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask),
                 token_type_ids=torch.from_numpy(tt), output_hidden_states=True, output_attentions=True)
    out = m(input_ids, mask, tt, output_hidden_states=True, output_attentions=True)
    np.testing.assert_allclose(out.last_hidden_state.data, ref.last_hidden_state.numpy(), atol=1e-9)
    np.testing.assert_allclose(out.pooler_output.data, ref.pooler_output.numpy(), atol=1e-9)
    for ours, theirs in zip(out.hidden_states, ref.hidden_states, strict=True):
        np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-9)
    for ours, theirs in zip(out.attentions, ref.attentions, strict=True):
        np.testing.assert_allclose(ours.data, theirs.numpy(), atol=1e-9)


@pytest.mark.interop
def test_bert_heads_match_hugging_face(hf_bert):
    torch, transformers, cfg = hf_bert
    input_ids, mask, tt = batch()
    args = (torch.from_numpy(input_ids), torch.from_numpy(mask), torch.from_numpy(tt))
    for hf_cls, our_cls in ((transformers.BertForSequenceClassification, BertForSequenceClassification),
                            (transformers.BertForMaskedLM, BertForMaskedLM)):
        torch.manual_seed(1)
        hf = _randomise(torch, hf_cls(cfg).eval().double())
        m = our_cls(BertConfig.from_dict(cfg.to_dict())).double()
        m.load_state_dict(hf_state(hf))
        with torch.no_grad():
            ref = hf(*args).logits.numpy()
        assert np.abs(ref).max() > 0.5
        np.testing.assert_allclose(m(input_ids, mask, tt).logits.data, ref, atol=1e-9,
                                   err_msg=our_cls.__name__)
