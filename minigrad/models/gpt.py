"""GPT (GPT-2 architecture) in one file, nanoGPT style (§3.1 Transformer 架构, §3.2 预训练).

    idx (B, T) ──wte + wpe──► x (B, T, C) ──n_layer × Block──► ln_f ──lm_head──► logits (B, T, V)

    Block (pre-LN):  x = x + attn(ln_1(x))       causal self-attention, §4.1
                     x = x + mlp(ln_2(x))        Linear(C, 4C) → GELU(tanh) → Linear(4C, C)

Parameter names are GPT-2's (transformer.wte, transformer.h.{i}.attn.c_attn, ...), so a
checkpoint maps by name.  One difference: minigrad's Linear stores weights as (out, in),
while GPT-2 checkpoints use Conv1D (in, out), so c_attn, c_proj, c_fc and mlp.c_proj
weights are transposed when loading GPT-2 weights.  lm_head.weight *is* transformer.wte.weight
(the same Parameter: tied input and output embeddings).

Training (§3.2): the model predicts token t+1 from tokens ≤ t, trained with cross-entropy
(§4.2).  As in nanoGPT, `targets` are already the next tokens (targets[:, t] = idx[:, t+1]);
positions whose target is -100 (PyTorch's and Hugging Face's ignore_index) are ignored.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .. import random as _random
from ..autograd import is_grad_enabled, no_grad
from ..checkpointing import GradientCheckpointing, checkpoint
from ..nn import functional as F
from ..nn import init
from ..nn.attention import merge_heads, scaled_dot_product_attention, split_heads
from ..nn.containers import ModuleDict, ModuleList
from ..nn.layers import Dropout, Embedding, LayerNorm, Linear
from ..nn.module import Module
from ..tensor import ShapeError, Tensor, as_tensor, cat
from .outputs import CausalLMOutput
from .pretrained import PreTrainedMixin   # from_pretrained(dir) / save_pretrained(dir)

IGNORE_INDEX = -100


@dataclass
class GPTConfig:
    """GPT hyper-parameters, with nanoGPT's names (defaults: GPT-2 small, 124M).

    vocab_size: tokens in the vocabulary;  n_layer: blocks;  n_head: attention heads;
    n_embd: model width C (divisible by n_head);  block_size: longest context (learned
    positions 0..block_size-1);  dropout: one rate for embeddings, attention and residuals;
    bias: biases in Linear and LayerNorm layers (GPT-2: True);  layer_norm_epsilon: 1e-5.
    """
    vocab_size: int = 50257
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    block_size: int = 1024
    dropout: float = 0.0
    bias: bool = True
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "n_layer", "n_head", "n_embd", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head}); each head gets n_embd / n_head dims")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        """Build from a dict; keys that are not GPTConfig fields are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class CausalSelfAttention(Module):
    """Masked multi-head self-attention (§4.1): each position attends to itself and the past."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v at once
        self.c_proj = Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = Dropout(config.dropout)

    def forward(self, x, past_key_value=None, use_cache=False, output_attentions=False):
        C = self.n_embd
        q, k, v = self.c_attn(x).split(C, dim=2)                 # 3 × (B, T, C)
        q = split_heads(q, self.n_head)                          # (B, nh, T, hs)
        k = split_heads(k, self.n_head)                          # (B, nh, T, hs)
        v = split_heads(v, self.n_head)                          # (B, nh, T, hs)
        if past_key_value is not None:                           # KV cache: earlier positions
            k = cat([past_key_value[0], k], dim=2)               # (B, nh, S, hs), S = past + T
            v = cat([past_key_value[1], v], dim=2)               # (B, nh, S, hs)
        # softmax(QKᵀ/√hs) V with a causal mask (query t sees keys ≤ its position)
        # (the weights are asked for only when wanted: without them the numba/cuda backends
        # run one fused kernel that never builds the (T, S) matrix)
        result = scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0,
            return_weights=output_attentions)                    # (B, nh, T, hs) [, (B, nh, T, S)]
        y, att = result if output_attentions else (result, None)
        y = self.resid_dropout(self.c_proj(merge_heads(y)))      # (B, T, C)
        return y, att, ((k, v) if use_cache else None)


class MLP(Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = Dropout(config.dropout)

    def forward(self, x):
        h = F.gelu(self.c_fc(x), approximate="tanh")             # (B, T, 4C), GPT-2's gelu_new
        return self.dropout(self.c_proj(h))                      # (B, T, C)


class Block(Module):
    """Pre-LN Transformer block (GPT-2)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        eps = config.layer_norm_epsilon
        self.ln_1 = LayerNorm(config.n_embd, eps=eps, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, eps=eps, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, past_key_value=None, use_cache=False, output_attentions=False):
        a, att, present = self.attn(self.ln_1(x), past_key_value, use_cache, output_attentions)
        x = x + a                                                # (B, T, C)
        x = x + self.mlp(self.ln_2(x))                           # (B, T, C)
        return x, att, present


class GPT(PreTrainedMixin, GradientCheckpointing, Module):
    """A GPT-2-architecture language model.

        config = GPTConfig(vocab_size=65, n_layer=4, n_head=4, n_embd=128, block_size=64)
        model = GPT(config)
        out = model(idx, targets)            # out.logits (B, T, V), out.loss
        model.generate(idx, max_new_tokens=50, temperature=0.8, top_k=10)
        GPT.from_pretrained(directory)   # a Hugging Face GPT-2 directory (see pretrained.py)
        model.gradient_checkpointing_enable()   # recompute each block in backward (§8 memory)
    """
    model_type = "gpt2"
    gradient_checkpointing = False   # blocks under minigrad.checkpointing.checkpoint

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = ModuleDict(dict(
            wte=Embedding(config.vocab_size, config.n_embd),     # token embeddings
            wpe=Embedding(config.block_size, config.n_embd),     # learned positions
            drop=Dropout(config.dropout),
            h=ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, eps=config.layer_norm_epsilon, bias=config.bias),
        ))
        self.lm_head = Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight        # weight tying: one Parameter
        self._init_weights()

    def _init_weights(self):
        """GPT-2 init: N(0, 0.02) for Linear and Embedding weights, zero biases; the residual
        projections (c_proj) get std 0.02/√(2·n_layer) so the residual stream's variance does
        not grow with depth."""
        for name, module in self.named_modules():
            if isinstance(module, Linear):
                init.normal_(module.weight, 0.0, 0.02)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, Embedding):
                init.normal_(module.weight, 0.0, 0.02)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, 0.02 / math.sqrt(2 * self.config.n_layer))

    def get_num_params(self, non_embedding: bool = True) -> int:
        """Parameter count (the tied lm_head counted once); without the position table by default."""
        n = self.num_parameters()
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx, targets=None, past_key_values=None, use_cache: bool = False,
                output_attentions: bool = False, output_hidden_states: bool = False) -> CausalLMOutput:
        """idx (B, T) token ids -> CausalLMOutput(loss, logits (B, T, V), ...).

        past_key_values: the cache from an earlier call (one (k, v) per layer); idx then holds
        only the new tokens, whose positions continue after the cached ones.
        """
        idx = as_tensor(idx)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"GPT: idx must hold integer token ids, got {idx.dtype}")
        if idx.ndim != 2:
            raise ShapeError(f"GPT: idx must have shape (B, T), got {idx.shape}")
        B, T = idx.shape
        past = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if past + T > self.config.block_size:
            raise ShapeError(f"GPT: positions {past}..{past + T - 1} exceed block_size "
                             f"{self.config.block_size} (crop the context, as generate() does)")
        tr = self.transformer
        pos = np.arange(past, past + T)                          # (T,)
        x = tr.drop(tr.wte(idx) + tr.wpe(pos))                   # (B, T, C)

        hidden, atts, presents = [], [], []
        recompute = (self.gradient_checkpointing and self.training and is_grad_enabled()
                     and not use_cache and not output_attentions and past_key_values is None)
        for i, block in enumerate(tr.h):
            if output_hidden_states:
                hidden.append(x)
            layer_past = None if past_key_values is None else past_key_values[i]
            if recompute:                                        # keep only the block's input
                x, att, present = checkpoint(lambda h, b=block: b(h)[0], x,
                                             params=block.parameters()), None, None
            else:
                x, att, present = block(x, layer_past, use_cache, output_attentions)  # (B, T, C)
            atts.append(att)
            presents.append(present)
        x = tr.ln_f(x)                                           # (B, T, C)
        if output_hidden_states:
            hidden.append(x)        # as Hugging Face: the last entry is after ln_f
        logits = self.lm_head(x)                                 # (B, T, V)

        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(B * T, -1), as_tensor(targets).reshape(B * T),
                                   ignore_index=IGNORE_INDEX)
        return CausalLMOutput(loss=loss, logits=logits,
                              past_key_values=tuple(presents) if use_cache else None,
                              hidden_states=tuple(hidden) if output_hidden_states else None,
                              attentions=tuple(atts) if output_attentions else None)

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, do_sample: bool = True, use_cache: bool = True,
                 eos_token_id: int | None = None) -> Tensor:
        """Extend idx (B, T) by max_new_tokens tokens, one at a time; returns (B, T + new).

        eos_token_id: a stop token. A row that has produced it is finished: its later positions
        repeat the stop token, and generation ends early once every row is finished (so the
        result may be shorter than T + max_new_tokens).

        do_sample=False picks the most likely token (greedy); otherwise the token is drawn
        from softmax(logits / temperature), restricted to the top_k most likely tokens and/or
        the smallest set whose probability reaches top_p (nucleus sampling).  Draws use
        minigrad's generator, so mg.manual_seed(n) makes them reproducible.

        use_cache keeps every layer's keys and values, so each step feeds only the newest
        token.  Once the context is longer than block_size it is cropped to the last
        block_size tokens; every position then shifts, so the cache is dropped and the
        cropped window recomputed (from then on each step is a full forward, exactly what
        use_cache=False does).  The output is the same with and without the cache.

        Runs in eval mode (dropout off) under no_grad; the previous mode is restored.
        """
        if temperature <= 0 and do_sample:
            raise ValueError(f"generate: temperature must be > 0 when sampling, got {temperature} "
                             f"(use do_sample=False for greedy decoding)")
        if top_k is not None and top_k < 1:
            raise ValueError(f"generate: top_k must be >= 1, got {top_k}")
        if top_p is not None and not 0.0 < top_p <= 1.0:
            raise ValueError(f"generate: top_p must be in (0, 1], got {top_p}")
        if eos_token_id is not None and not 0 <= eos_token_id < self.config.vocab_size:
            raise ValueError(f"generate: eos_token_id must be a token id in [0, "
                             f"{self.config.vocab_size}), got {eos_token_id}")
        ids = np.asarray(as_tensor(idx).data, dtype=np.int64)
        squeeze = ids.ndim == 1
        ids = ids[None] if squeeze else ids                      # (B, T)
        block_size = self.config.block_size
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                past = None
                finished = np.zeros(ids.shape[0], dtype=bool)            # (B,) stop token seen
                for _ in range(max_new_tokens):
                    if past is not None and past[0][0].shape[2] + 1 <= block_size:
                        out = self(ids[:, -1:], past_key_values=past, use_cache=True)  # new token only
                    else:
                        out = self(ids[:, -block_size:], use_cache=use_cache)          # (re)compute
                    past = out.past_key_values if use_cache else None
                    logits = out.logits.data[:, -1, :].astype(np.float64)             # (B, V)
                    next_id = (_sample(logits, temperature, top_k, top_p) if do_sample
                               else logits.argmax(axis=-1))                          # (B,)
                    if eos_token_id is not None:
                        next_id = np.where(finished, eos_token_id, next_id)
                        finished |= next_id == eos_token_id
                    ids = np.concatenate([ids, next_id[:, None].astype(np.int64)], axis=1)
                    if finished.all():
                        break
        finally:
            self.train(was_training)
        return Tensor(ids[0] if squeeze else ids)


# --- sampling helpers (NumPy: no gradients flow through sampling) ---------------------------
def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest logits per row, set the rest to -inf.  (B, V) -> (B, V)."""
    k = min(k, logits.shape[-1])
    kth = np.sort(logits, axis=-1)[:, -k][:, None]               # (B, 1) the k-th largest
    return np.where(logits < kth, -np.inf, logits)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filter: keep the most likely tokens until their probability reaches p (always
    at least one), set the rest to -inf.  (B, V) -> (B, V)."""
    order = np.argsort(-logits, axis=-1)                         # (B, V) most likely first
    sorted_logits = np.take_along_axis(logits, order, axis=-1)
    probs = np.exp(sorted_logits - sorted_logits[:, :1])
    probs /= probs.sum(axis=-1, keepdims=True)
    before = np.cumsum(probs, axis=-1) - probs                   # mass of the more likely tokens
    drop_sorted = before >= p                                    # already reached p without it
    drop = np.zeros_like(drop_sorted)
    np.put_along_axis(drop, order, drop_sorted, axis=-1)
    return np.where(drop, -np.inf, logits)


def _sample(logits: np.ndarray, temperature: float, top_k, top_p) -> np.ndarray:
    logits = logits / temperature                                # (B, V)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)                   # (B, V)
    u = _random.generator().random((logits.shape[0], 1))         # (B, 1) uniform in [0, 1)
    cdf = np.cumsum(probs, axis=-1)
    choice = (cdf <= u * cdf[:, -1:]).sum(axis=-1)               # first index with cdf > u
    return np.minimum(choice, probs.shape[-1] - 1)               # (B,)
