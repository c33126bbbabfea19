"""Layers and losses (§3.1): Module, Parameter, Linear, Embedding, LayerNorm, Dropout ...

    import minigrad.nn as nn
    import minigrad.nn.functional as F
"""
from . import functional, init
from .containers import ModuleDict, ModuleList, Sequential
from .layers import GELU, Dropout, Embedding, Flatten, Identity, LayerNorm, Linear, ReLU, Sigmoid, Tanh
from .module import Module
from .parameter import Parameter
from .attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from .positional import (LearnedPositionalEmbedding, SinusoidalPositionalEncoding,
                         sinusoidal_position_encoding)
from .transformer import FeedForward, TransformerBlock
