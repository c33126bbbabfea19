"""Lesson 7 exercises: the chapter's example on real BERT weights (§5 项目实践) -- REFERENCE SOLUTION (for teachers).

Check it with:  minigrad lesson check 7 --file lessons/solutions/07_pretrained_bert.py
"""
import numpy as np

import minigrad as mg


# --- Task 7.1: mean pooling with an attention mask ----------------------------------------------
def mean_pooling(last_hidden_state, attention_mask):
    """One vector per text (句向量, sentence embedding): the mean of its token vectors over the
    real tokens only (padding excluded):

        e_b = Σ_t m_bt h_bt / Σ_t m_bt

    last_hidden_state: Tensor (B, T, H); attention_mask: (B, T) array of 1 (real) / 0 (pad).
    Returns a Tensor (B, H) (differentiable: use Tensor ops for h).  Guard the division by
    max(Σ_t m_bt, 1e-9), as sentence-transformers does.

    每条文本一个向量（句向量）：只在真实词元上（不含填充）对它的词元向量求平均：
    e_b = Σ_t m_bt h_bt / Σ_t m_bt。last_hidden_state 是 Tensor (B, T, H)；attention_mask 是 (B, T) 数组，
    1 表示真实词元，0 表示填充。返回 Tensor (B, H)（要可微：对 h 使用 Tensor 运算）。像 sentence-transformers 那样，
    除数取 max(Σ_t m_bt, 1e-9) 以防除以 0。
    """
    # TODO: the mask as a float (B, T, 1) array; the masked sum over T, divided by the count.
    m = np.asarray(getattr(attention_mask, "data", attention_mask), dtype=last_hidden_state.dtype)
    m = m[:, :, None]                                                   # (B, T, 1)
    return (last_hidden_state * m).sum(1) / np.maximum(m.sum(1), 1e-9)  # (B, H)


# --- Task 7.2: cosine similarity ----------------------------------------------------------------
def cosine_similarity(a, b):
    """cos(a_i, b_j) = a_i · b_j / (‖a_i‖ ‖b_j‖) for every row of a (N, H) and of b (M, H):
    an (N, M) NumPy array, 1 for the same direction, 0 for orthogonal, -1 for opposite.
    Inputs are NumPy arrays.

    对 a (N, H) 的每一行和 b (M, H) 的每一行计算 cos(a_i, b_j) = a_i · b_j / (‖a_i‖ ‖b_j‖)：
    得到一个 (N, M) 的 NumPy 数组，方向相同为 1，正交为 0，相反为 -1。输入是 NumPy 数组。
    """
    # TODO: normalise each row to length 1, then one matrix product.
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


# --- Task 7.3: the [CLS] pooler ------------------------------------------------------------------
def cls_pooler(bert, last_hidden_state):
    """BERT's pooler, the input of the classification head (§5):

        pooled = tanh(W_p h_[CLS] + b_p)

    h_[CLS] is the hidden state of the first token ([CLS]) of each text; W_p, b_p are
    bert.pooler.dense (a Linear).  bert: a BertModel; last_hidden_state: Tensor (B, T, H).
    Returns a Tensor (B, H).  Do not call bert.pooler(...) itself.

    BERT 的池化层，即分类头的输入（§5）：pooled = tanh(W_p h_[CLS] + b_p)。h_[CLS] 是每条文本第一个词元
    （[CLS]）的隐藏状态；W_p、b_p 是 bert.pooler.dense（一个 Linear）。bert 是 BertModel，last_hidden_state 是
    Tensor (B, T, H)。返回 Tensor (B, H)。不要直接调用 bert.pooler(...)。
    """
    # TODO: take position 0, apply the dense layer, then tanh.
    return bert.pooler.dense(last_hidden_state[:, 0]).tanh()           # (B, H)


# --- Task 7.4: the chapter's example, line for line -----------------------------------------------
def predict(model, tokenizer, texts):
    """The chapter's §5 example in minigrad: tokenise the texts (a batch, padded to the
    longest, as NumPy arrays), run the classification model on *all* the tokenizer's outputs
    (input_ids, attention_mask, token_type_ids), and take the most likely label:

        inputs = tokenizer(texts, padding=True, return_tensors="np")
        outputs = model(**inputs)
        predictions = outputs.logits.argmax(-1)

    Run it without building a graph (mg.no_grad()).  Returns (logits, predictions) as NumPy
    arrays of shapes (N, num_labels) and (N,).

    用 minigrad 实现本章 §5 的示例：对这批文本分词（按最长的文本填充，得到 NumPy 数组），把分词器的*全部*输出
    （input_ids、attention_mask、token_type_ids）交给分类模型，取最可能的标签：
    inputs = tokenizer(texts, padding=True, return_tensors="np")；outputs = model(**inputs)；
    predictions = outputs.logits.argmax(-1)。整个过程不构建计算图（mg.no_grad()）。返回 (logits, predictions)，
    形状分别为 (N, num_labels) 和 (N,) 的 NumPy 数组。
    """
    # TODO: the three lines of the chapter, inside `with mg.no_grad():`.
    with mg.no_grad():
        inputs = tokenizer(texts, padding=True, return_tensors="np")
        outputs = model(**inputs)
        predictions = outputs.logits.argmax(-1)
    return outputs.logits.numpy(), np.asarray(predictions.numpy())
