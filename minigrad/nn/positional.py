"""Position information (§3.1 Transformer 架构).  Attention itself ignores order: permuting the
tokens permutes its output the same way.  So a position signal is added to the token
embeddings, either a fixed sinusoidal table (the original Transformer) or a learned table
(GPT-2 `wpe`, BERT `position_embeddings`).

    PE(pos, 2i)   = sin(pos / 10000^(2i/d))
    PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
"""
from __future__ import annotations

import numpy as np

from ..tensor import DEFAULT_DTYPE, ShapeError, Tensor
from .layers import Dropout, Embedding
from .module import Module


def sinusoidal_position_encoding(T: int, d: int, base: float = 10000.0, dtype=None) -> Tensor:
    """The (T, d) sinusoidal table of "Attention Is All You Need": even columns sin, odd cos.
    Each pair of columns is a rotation at its own frequency, so PE(pos + k) is a linear
    function of PE(pos)."""
    pos = np.arange(T, dtype=np.float64)[:, None]                     # (T, 1)
    i2 = np.arange(0, d, 2, dtype=np.float64)[None, :]                # (1, ⌈d/2⌉) = 2i
    angle = pos / base ** (i2 / d)                                    # (T, ⌈d/2⌉)
    pe = np.zeros((T, d))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d // 2])
    return Tensor(pe.astype(np.dtype(dtype or DEFAULT_DTYPE)))


class SinusoidalPositionalEncoding(Module):
    """x + PE[offset : offset + T] then dropout; (B, T, d) -> (B, T, d).  No parameters: the
    table is a non-persistent buffer (it is recomputed, never saved)."""

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("pe", sinusoidal_position_encoding(max_len, d_model), persistent=False)
        self.dropout = Dropout(dropout)

    def forward(self, x, offset: int = 0):
        T = x.shape[-2]
        if offset + T > self.max_len:
            raise ShapeError(f"SinusoidalPositionalEncoding: positions {offset}..{offset + T - 1} "
                             f"exceed max_len {self.max_len}")
        return self.dropout(x + self.pe[offset:offset + T].to(x.dtype))   # (B, T, d)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"


class LearnedPositionalEmbedding(Module):
    """x + W[offset : offset + T] with W a learned (max_len, d) table (GPT-2's wpe).
    Position `offset` is where this chunk starts (non-zero after a KV cache)."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.max_len = max_len
        self.embedding = Embedding(max_len, d_model)

    def forward(self, x, offset: int = 0):
        T = x.shape[-2]
        if offset + T > self.max_len:
            raise ShapeError(f"LearnedPositionalEmbedding: positions {offset}..{offset + T - 1} "
                             f"exceed max_len {self.max_len}")
        return x + self.embedding(np.arange(offset, offset + T))          # (B, T, d)
