"""Lesson 9 exercises: reading attention maps (§8 可解释性).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 9

The tasks are described in lessons/09_interpretability/README.md; each docstring is the exact spec.
"""
import numpy as np


# --- Task 9.1: attention entropy per head ---------------------------------------------------------
def attention_entropy(att):
    """How spread out each head's attention is: the entropy (熵) of every query row,

        H_i = -Σ_j p_ij log p_ij        (with 0 · log 0 = 0: a masked key adds nothing)

    averaged over the query rows.  att: (L, H, T, S) attention weights (rows sum to 1, e.g.
    the stacked `outputs.attentions` of one text).  Returns an (L, H) float array in nats:
    0 for a head whose every query looks at one key, log S for uniform attention.
    """
    # TODO: p log p where p > 0 (np.where, so log(0) never reaches the sum); sum over keys; mean over queries.
    raise NotImplementedError


# --- Task 9.2: attention rollout ----------------------------------------------------------------------
def attention_rollout(att):
    """Attention rollout (注意力展开; Abnar & Zuidema, 2020): how much each output position draws
    on each *input* token through all layers, counting the residual connection.

    Per layer ℓ: average the heads, add the identity (the residual path) and renormalise the
    rows:  Ã_ℓ = (mean_h A_ℓ,h + I) / 2.   Then chain the layers, first layer on the right:

        R = Ã_{L-1} · … · Ã_1 · Ã_0

    att: (L, H, T, T).  Returns R (T, T); each row sums to 1.
    """
    # TODO: per layer the mean over the heads, mixed with I; chain the layers, the later on the left.
    raise NotImplementedError


# --- Task 9.3: the most attended tokens ----------------------------------------------------------------
def top_attended(att_map, tokens, query, k=3):
    """The k keys that query position `query` attends to most in one (T, S) attention map
    (row = query, column = key), as a list of (token, weight) pairs, largest weight first.
    tokens: the S key tokens (strings).  Ties: the earlier position first."""
    # TODO: the query's row; its positions by weight, largest first (a stable sort); the first k.
    raise NotImplementedError
