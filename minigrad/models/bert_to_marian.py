"""Transfer learning (§2.3 迁移学习): start a translation model's encoder from a pretrained BERT.

A BERT pretrained with the masked-language-model objective (§3.2) on English has learned what
an encoder must know about its input; the encoder of an encoder–decoder Transformer does the
same job.  `marian_config_for_bert` gives the MarianConfig whose encoder is the BERT's exact
architecture, and `load_bert_into_marian_encoder` copies the weights:

    BERT (bert.*)                                   Marian encoder (model.encoder.*)
    embeddings.word_embeddings[:V]                  embed_tokens               (V, d)
    embeddings.position_embeddings[:P]
        + token_type_embeddings[0]                  embed_positions (learned)  (P, d)
    embeddings.LayerNorm                            layernorm_embedding
    layer.i.attention.self.query / key / value      layers.i.self_attn.q_proj / k_proj / v_proj
    layer.i.attention.output.dense                  layers.i.self_attn.out_proj
    layer.i.attention.output.LayerNorm              layers.i.self_attn_layer_norm
    layer.i.intermediate.dense / output.dense       layers.i.fc1 / fc2
    layer.i.output.LayerNorm                        layers.i.final_layer_norm

Token type 0 is the only one a single sentence uses, so adding its row to every position row
is exact.  The BERT's vocabulary may be larger than the encoder's (an extra [MASK] id used
only in pre-training): the first V rows are kept.  After the copy the encoder's output equals
BertModel's last_hidden_state (tests/test_bert_to_marian.py); the decoder and the
cross-attention stay as initialised and are learned by fine-tuning.
"""
from __future__ import annotations

import numpy as np

from .bert import BertConfig
from .marian import MarianConfig

__all__ = ["marian_config_for_bert", "load_bert_into_marian_encoder"]


def marian_config_for_bert(bert_config: BertConfig, vocab_size: int, decoder_vocab_size: int,
                           **kw) -> MarianConfig:
    """A MarianConfig whose encoder has `bert_config`'s architecture: post-LN, learned positions,
    an embedding LayerNorm, no √d scaling, BERT's width, depth, heads, FFN width, activation and
    LayerNorm eps.  The decoder gets the same sizes unless given in `kw`."""
    b = bert_config
    d = dict(vocab_size=vocab_size, decoder_vocab_size=decoder_vocab_size, d_model=b.hidden_size,
             encoder_layers=b.num_hidden_layers, decoder_layers=b.num_hidden_layers,
             encoder_attention_heads=b.num_attention_heads, decoder_attention_heads=b.num_attention_heads,
             encoder_ffn_dim=b.intermediate_size, decoder_ffn_dim=b.intermediate_size,
             activation_function=b.hidden_act, layer_norm_eps=b.layer_norm_eps,
             max_position_embeddings=b.max_position_embeddings, normalize_before=False,
             position_embedding_type="learned", layernorm_embedding=True, scale_embedding=False,
             share_encoder_decoder_embeddings=False, pad_token_id=b.pad_token_id,
             decoder_start_token_id=b.pad_token_id)
    d.update(kw)
    return MarianConfig(**d)


def _check(marian_config: MarianConfig, bert_config: BertConfig):
    m, b = marian_config, bert_config
    wanted = {"d_model": b.hidden_size, "encoder_layers": b.num_hidden_layers,
              "encoder_attention_heads": b.num_attention_heads, "encoder_ffn_dim": b.intermediate_size,
              "activation_function": b.hidden_act, "layer_norm_eps": b.layer_norm_eps,
              "normalize_before": False, "position_embedding_type": "learned",
              "layernorm_embedding": True, "scale_embedding": False}
    wrong = [f"{k}={getattr(m, k)!r} (the BERT needs {v!r})" for k, v in wanted.items() if getattr(m, k) != v]
    if m.vocab_size > b.vocab_size:
        wrong.append(f"vocab_size={m.vocab_size} (the BERT has only {b.vocab_size} ids)")
    if m.max_position_embeddings > b.max_position_embeddings:
        wrong.append(f"max_position_embeddings={m.max_position_embeddings} (the BERT has "
                     f"{b.max_position_embeddings})")
    if wrong:
        raise ValueError("load_bert_into_marian_encoder: the Marian encoder does not match the BERT: "
                         + "; ".join(wrong) + " (build the config with marian_config_for_bert)")


def load_bert_into_marian_encoder(marian_model, bert_model) -> list:
    """Copy a BertModel's (or BertForMaskedLM's / BertForSequenceClassification's) embeddings
    and layers into marian_model.model.encoder, in place.  Returns the encoder parameter names
    that were set (all of them)."""
    bert = getattr(bert_model, "bert", bert_model)                     # BertModel
    _check(marian_model.config, bert.config)
    enc = marian_model.model.encoder
    V, P = marian_model.config.vocab_size, marian_model.config.max_position_embeddings
    emb = bert.embeddings
    src = {"embed_tokens.weight": emb.word_embeddings.weight.data[:V],
           "embed_positions.weight": emb.position_embeddings.weight.data[:P]
                                     + emb.token_type_embeddings.weight.data[0],
           "layernorm_embedding.weight": emb.LayerNorm.weight.data,
           "layernorm_embedding.bias": emb.LayerNorm.bias.data}
    pairs = (("self_attn.q_proj", "attention.self.query"), ("self_attn.k_proj", "attention.self.key"),
             ("self_attn.v_proj", "attention.self.value"), ("self_attn.out_proj", "attention.output.dense"),
             ("self_attn_layer_norm", "attention.output.LayerNorm"), ("fc1", "intermediate.dense"),
             ("fc2", "output.dense"), ("final_layer_norm", "output.LayerNorm"))
    bert_params = dict(bert.encoder.named_parameters())
    for i in range(marian_model.config.encoder_layers):
        for ours, theirs in pairs:
            for leaf in ("weight", "bias"):
                src[f"layers.{i}.{ours}.{leaf}"] = bert_params[f"layer.{i}.{theirs}.{leaf}"].data
    params = dict(enc.named_parameters())
    missing = sorted(set(params) - set(src))
    if missing:
        raise ValueError(f"load_bert_into_marian_encoder: no BERT weight for {missing}")
    for name, value in src.items():
        p = params[name]
        if p.data.shape != value.shape:
            raise ValueError(f"load_bert_into_marian_encoder: {name} is {p.data.shape} in Marian, "
                             f"{value.shape} from the BERT")
        p.data[...] = np.asarray(value, dtype=p.data.dtype)
    return sorted(src)
