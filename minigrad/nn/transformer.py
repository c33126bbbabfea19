"""Transformer building blocks (§3.1 Transformer 架构): the feed-forward network and the block.

A block is attention (tokens exchange information, §4.1) followed by a position-wise MLP
(each token is transformed on its own), each wrapped in a residual connection and a
LayerNorm.  Where the LayerNorm sits gives the two classic forms:

    post-LN (original Transformer, BERT):  x = LN(x + Attn(x));      x = LN(x + MLP(x))
    pre-LN  (GPT-2 and later):             x = x + Attn(LN(x));      x = x + MLP(LN(x))

Pre-LN keeps an un-normalised residual path from input to output, which trains more stably
in deep stacks; GPT-2 then adds one final LayerNorm after the last block.
"""
from __future__ import annotations

from collections import namedtuple

from . import functional as F
from .attention import MultiHeadAttention
from .layers import Dropout, LayerNorm, Linear
from .module import Module

def gelu(x):
    """Exact GELU, x·Φ(x) with the erf (BERT's "gelu")."""
    return F.gelu(x)


def gelu_new(x):
    """The tanh approximation of GELU (GPT-2's "gelu_new")."""
    return F.gelu(x, approximate="tanh")


def relu(x):
    return x.relu()


def tanh(x):
    return x.tanh()


def silu(x):
    """SiLU / swish, x·σ(x) (Marian's "swish", the OPUS-MT models' activation)."""
    return x * x.sigmoid()


# Hugging Face's names (config.hidden_act / activation_function) -> functions.  Plain functions,
# not lambdas, so modules holding them can be pickled.
_ACTIVATIONS = {"gelu": gelu, "gelu_new": gelu_new, "gelu_tanh": gelu_new,
                "gelu_pytorch_tanh": gelu_new, "relu": relu, "tanh": tanh,
                "silu": silu, "swish": silu}


def get_activation(name: str):
    """An activation function by its Hugging Face name ('gelu', 'gelu_new', 'relu', ...)."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}") from None


class FeedForward(Module):
    """Position-wise MLP: Linear(d, d_ff) → activation → Linear(d_ff, d) → dropout.

    (B, T, d) -> (B, T, d).  d_ff is 4·d by default, as in the original Transformer and GPT-2.
    """

    def __init__(self, d_model: int, d_ff: int | None = None, dropout: float = 0.0,
                 activation: str = "gelu", bias: bool = True):
        super().__init__()
        d_ff = 4 * d_model if d_ff is None else d_ff
        self.activation = activation
        self._act = get_activation(activation)
        self.fc1 = Linear(d_model, d_ff, bias=bias)
        self.fc2 = Linear(d_ff, d_model, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        h = self._act(self.fc1(x))                        # (B, T, d_ff)
        return self.dropout(self.fc2(h))                  # (B, T, d)

    def extra_repr(self):
        return f"activation={self.activation!r}"


BlockOutput = namedtuple("BlockOutput", ["hidden_states", "attentions", "past_key_value"])


class TransformerBlock(Module):
    """One Transformer layer, pre-LN (norm_first=True, GPT) or post-LN (norm_first=False, BERT).

        block = nn.TransformerBlock(d_model=64, n_head=4, norm_first=True, causal=True)
        y = block(x)                                       # (B, T, 64) -> (B, T, 64)
        y, attn, _ = block(x, output_attentions=True)      # attn (B, nh, T, T)

    Returns a Tensor, or BlockOutput(hidden_states, attentions, past_key_value) when
    output_attentions or use_cache is set.  key_padding_mask (B, S) bool is True at padding.
    """

    def __init__(self, d_model: int, n_head: int, d_ff: int | None = None, dropout: float = 0.0,
                 norm_first: bool = True, causal: bool = False, activation: str = "gelu",
                 layer_norm_eps: float = 1e-5, bias: bool = True):
        super().__init__()
        self.norm_first = norm_first
        self.ln_1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.attn = MultiHeadAttention(d_model, n_head, dropout=dropout, bias=bias, causal=causal)
        self.ln_2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.mlp = FeedForward(d_model, d_ff, dropout=dropout, activation=activation, bias=bias)
        self.dropout = Dropout(dropout)                   # on the attention branch's output

    def forward(self, x, key_padding_mask=None, attn_mask=None, output_attentions: bool = False,
                past_key_value=None, use_cache: bool = False):
        def attend(h):
            return self.attn(h, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                             need_weights=output_attentions, past_key_value=past_key_value,
                             use_cache=use_cache)

        if self.norm_first:                               # pre-LN (GPT-2)
            a = attend(self.ln_1(x))
            x = x + self.dropout(a.output)                # (B, T, C)
            x = x + self.mlp(self.ln_2(x))                # (B, T, C)
        else:                                             # post-LN (BERT, original Transformer)
            a = attend(x)
            x = self.ln_1(x + self.dropout(a.output))     # (B, T, C)
            x = self.ln_2(x + self.mlp(x))                # (B, T, C)
        if output_attentions or use_cache:
            return BlockOutput(x, a.attn_weights, a.past_key_value)
        return x

    def extra_repr(self):
        return f"norm_first={self.norm_first}"
