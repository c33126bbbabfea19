"""Transfer (§2.3): a BERT's weights as a Marian encoder give BERT's own hidden states."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.gradcheck import gradcheck
from minigrad.models import (BertConfig, BertForMaskedLM, MarianConfig, MarianMTModel,
                             load_bert_into_marian_encoder, marian_config_for_bert)


def _bert(dtype="float32", vocab=41):
    mg.manual_seed(3)
    cfg = BertConfig(vocab_size=vocab, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=32, max_position_embeddings=24, type_vocab_size=2,
                     layer_norm_eps=1e-5, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    bert = BertForMaskedLM(cfg)
    if dtype == "float64":
        bert = bert.to(np.float64)
    for p in bert.parameters():                     # not the init's zeros and ones: every weight matters
        p.data[...] += np.random.default_rng(p.data.size).normal(0, 0.05, p.data.shape)
    return bert.eval()


def test_the_encoder_equals_the_bert_it_was_started_from():
    bert = _bert(vocab=41)                                   # 40 ids + a [MASK] only BERT has
    cfg = marian_config_for_bert(bert.config, vocab_size=40, decoder_vocab_size=30, dropout=0.0,
                                 max_position_embeddings=20, eos_token_id=1, forced_eos_token_id=1)
    mg.manual_seed(0)
    marian = MarianMTModel(cfg).eval()
    names = load_bert_into_marian_encoder(marian, bert)
    assert len(names) == len(list(marian.model.encoder.parameters()))
    ids = np.array([[5, 9, 3, 17, 1, 0, 0], [8, 2, 39, 4, 11, 6, 1]])
    mask = (np.arange(7) < np.array([[5], [7]])).astype(np.int64)
    want = bert.bert(ids, attention_mask=mask).last_hidden_state.data
    got = marian.model.encoder(ids, attention_mask=mask).last_hidden_state.data
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], want[real], atol=1e-5)
    out = marian(input_ids=ids, attention_mask=mask, decoder_input_ids=np.zeros((2, 3), np.int64))
    assert out.logits.shape == (2, 3, 30)


def test_a_mismatched_encoder_is_refused_with_what_differs():
    bert = _bert()
    cfg = MarianConfig.small(40, 30, d_model=16, layers=2, heads=4, max_position_embeddings=20)
    with pytest.raises(ValueError, match="normalize_before=True.*marian_config_for_bert"):
        load_bert_into_marian_encoder(MarianMTModel(cfg), bert)
    too_big = marian_config_for_bert(bert.config, vocab_size=50, decoder_vocab_size=30,
                                     eos_token_id=1, forced_eos_token_id=1)
    with pytest.raises(ValueError, match="vocab_size=50"):
        load_bert_into_marian_encoder(MarianMTModel(too_big), bert)


def test_the_embedding_layernorm_is_gradient_checked_in_float64():
    cfg = MarianConfig(vocab_size=12, decoder_vocab_size=10, d_model=8, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=16,
                       decoder_ffn_dim=16, max_position_embeddings=8, dropout=0.0, pad_token_id=0,
                       eos_token_id=1, decoder_start_token_id=0, forced_eos_token_id=1,
                       position_embedding_type="learned", layernorm_embedding=True,
                       share_encoder_decoder_embeddings=False)
    mg.manual_seed(1)
    model = MarianMTModel(cfg).to(np.float64)
    ln = model.model.encoder.layernorm_embedding
    assert ln is not None and MarianMTModel(MarianConfig(**{**cfg.to_dict(), "layernorm_embedding": False})
                                            ).model.encoder.layernorm_embedding is None
    ids = np.array([[3, 4, 5, 1]])
    dec = np.array([[0, 2, 3]])

    def f(weight, bias):
        ln.weight, ln.bias = weight, bias
        return model(input_ids=ids, decoder_input_ids=dec).logits

    w = mg.Tensor(np.random.default_rng(0).normal(1, 0.1, 8), requires_grad=True)
    b = mg.Tensor(np.random.default_rng(1).normal(0, 0.1, 8), requires_grad=True)
    assert gradcheck(f, (w, b))
