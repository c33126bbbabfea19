"""Lesson 9 exercises: reading attention maps (§8 可解释性) -- REFERENCE SOLUTION (for teachers).

Check it with:  minigrad lesson check 9 --file lessons/solutions/09_interpretability.py
"""
import numpy as np


# --- Task 9.1: attention entropy per head ---------------------------------------------------------
def attention_entropy(att):
    """How spread out each head's attention is: the entropy (熵) of every query row,

        H_i = -Σ_j p_ij log p_ij        (with 0 · log 0 = 0: a masked key adds nothing)

    averaged over the query rows.  att: (L, H, T, S) attention weights (rows sum to 1, e.g.
    the stacked `outputs.attentions` of one text).  Returns an (L, H) float array in nats:
    0 for a head whose every query looks at one key, log S for uniform attention.

    每个头的注意力有多分散：每个查询行的熵 H_i = -Σ_j p_ij log p_ij（0 · log 0 = 0：被掩盖的键不贡献
    任何值），再对查询行取平均。att 是 (L, H, T, S) 的注意力权重（每行之和为 1，例如一条文本堆叠起来的
    `outputs.attentions`）。返回 (L, H) 的浮点数组，单位是 nat：每个查询只看一个键的头为 0，均匀注意力为 log S。
    """
    # TODO: p log p where p > 0 (np.where, so log(0) never reaches the sum); sum over keys; mean over queries.
    p = np.asarray(att, dtype=np.float64)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -plogp.sum(axis=-1).mean(axis=-1)


# --- Task 9.2: attention rollout ----------------------------------------------------------------------
def attention_rollout(att):
    """Attention rollout (注意力展开; Abnar & Zuidema, 2020): how much each output position draws
    on each *input* token through all layers, counting the residual connection.

    Per layer ℓ: average the heads, add the identity (the residual path) and renormalise the
    rows:  Ã_ℓ = (mean_h A_ℓ,h + I) / 2.   Then chain the layers, first layer on the right:

        R = Ã_{L-1} · … · Ã_1 · Ã_0

    att: (L, H, T, T).  Returns R (T, T); each row sums to 1.

    注意力展开（Abnar & Zuidema, 2020）：计入残差连接，经过所有层之后，每个输出位置从每个*输入*词元
    汲取了多少信息。对每一层 ℓ：对各头取平均，加上单位矩阵（残差路径）并重新归一化各行：
    Ã_ℓ = (mean_h A_ℓ,h + I) / 2。然后把各层串起来，第一层在最右边：R = Ã_{L-1} · … · Ã_1 · Ã_0。
    att 为 (L, H, T, T)。返回 R (T, T)，每行之和为 1。
    """
    # TODO: per layer the mean over the heads, mixed with I; chain the layers, the later on the left.
    a = np.asarray(att, dtype=np.float64).mean(axis=1)                 # (L, T, T)
    T = a.shape[-1]
    a = (a + np.eye(T)) / 2
    a = a / a.sum(axis=-1, keepdims=True)
    R = a[0]
    for layer in a[1:]:
        R = layer @ R
    return R


# --- Task 9.3: the most attended tokens ----------------------------------------------------------------
def top_attended(att_map, tokens, query, k=3):
    """The k keys that query position `query` attends to most in one (T, S) attention map
    (row = query, column = key), as a list of (token, weight) pairs, largest weight first.
    tokens: the S key tokens (strings).  Ties: the earlier position first.

    在一张 (T, S) 注意力图（行是查询，列是键）中，查询位置 `query` 最关注的 k 个键，以 (词元, 权重) 对的
    列表返回，权重从大到小。tokens 是 S 个键的词元（字符串）。权重相同时，靠前的位置在前。
    """
    # TODO: the query's row; its positions by weight, largest first (a stable sort); the first k.
    row = np.asarray(att_map)[query]
    order = np.argsort(-row, kind="stable")[:k]
    return [(tokens[j], float(row[j])) for j in order]
