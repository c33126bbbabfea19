"""Lesson 2 exercises: training a network (§2.1 深度学习, §4.2 损失函数).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 2

The tasks are described in lessons/02_training/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 2 --lang zh

题目说明见 lessons/02_training/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
"""
import numpy as np

import minigrad as mg
import minigrad.nn as nn


# --- Task 2.1: softmax from exp and sum ------------------------------------------------------
def softmax(x, dim=-1):
    """softmax(x)ᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m) along `dim`, m = maxⱼ xⱼ (§4.1).

    x: a floating Tensor of any shape.  Returns a Tensor of x's shape whose entries along
    `dim` are positive and sum to 1.  Build it from Tensor ops (exp, sum, subtraction,
    division; amax for the max) so autograd differentiates it; do not call softmax,
    log_softmax or F.softmax.  Subtracting the max changes nothing mathematically, but
    without it e^1000 overflows to inf: logits of 1000 must work.  (The max may be treated
    as a constant, .detach(): the result does not depend on it.)

    沿 `dim` 计算 softmax(x)ᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m)，m = maxⱼ xⱼ（§4.1）。x 是任意形状的浮点 Tensor，
    返回同形状的 Tensor，沿 `dim` 的元素为正且和为 1。用 Tensor 运算（exp、sum、减法、除法；最大值用 amax）构造，
    这样自动微分才能对它求导；不要调用 softmax、log_softmax 或 F.softmax。减去最大值在数学上什么也没改变，
    但不减的话 e^1000 会上溢为 inf：1000 左右的 logits 也必须能算。（最大值可以当作常数，.detach()：结果与它无关。）
    """
    # TODO: subtract the max along dim (amax, keepdim=True), exp, divide by the sum along dim.
    raise NotImplementedError


# --- Task 2.2: cross-entropy by log-sum-exp --------------------------------------------------
def cross_entropy(logits, targets):
    """The mean cross-entropy loss of logits (N, C) against class indices targets (N,) (§4.2).

        loss = (1/N) Σₙ [ -z_{n,yₙ} + log Σ_c e^(z_{n,c}) ]        (= mean of -log softmax(z)[y])

    logits: a floating Tensor (N, C).   targets: an int ndarray (N,) of class indices.
    Returns a scalar Tensor.  Compute log Σ e^z stably (Tensor.logsumexp, or the max trick);
    do not call F.cross_entropy, log_softmax or softmax.  Pick z_{n,yₙ} with indexing:
    logits[np.arange(N), targets].

    logits (N, C) 相对于类别下标 targets (N,) 的平均交叉熵损失（§4.2）：
    loss = (1/N) Σₙ [ -z_{n,yₙ} + log Σ_c e^(z_c) ]（即 -log softmax(z)[y] 的平均）。返回标量 Tensor。
    log Σ e^z 要稳定地计算（Tensor.logsumexp，或减去最大值的技巧）；不要调用 F.cross_entropy、log_softmax 或 softmax。
    用索引 logits[np.arange(N), targets] 取出 z_{n,yₙ}。
    """
    # TODO: the log-sum-exp of each row minus the picked logit, then the mean.
    raise NotImplementedError


# --- Task 2.3: the gradient of softmax + cross-entropy, by hand ------------------------------
def cross_entropy_grad(logits, targets):
    """∂loss/∂logits for the mean cross-entropy above, in NumPy, without autograd.

    logits: ndarray (N, C);  targets: int ndarray (N,).
    Returns an ndarray (N, C):   (softmax(logits) - one_hot(targets)) / N
    (softmax along the classes, computed stably).  Lesson 2's notebook derives it.

    用 NumPy（不用自动微分）求上面平均交叉熵对 logits 的梯度 ∂loss/∂logits。logits 是 ndarray (N, C)，
    targets 是整数 ndarray (N,)。返回 ndarray (N, C)：(softmax(logits) - one_hot(targets)) / N（softmax 沿类别方向，
    要稳定地计算）。第 2 课的 notebook 推导了这个公式。
    """
    # TODO: a stable softmax of each row, subtract 1 at the target, divide by N.
    raise NotImplementedError


# --- Task 2.4: one step of gradient descent --------------------------------------------------
def sgd_step(params, lr):
    """One step of plain gradient descent, p ← p - lr · ∂L/∂p, then clear the gradients.

    params: a list of Tensors (parameters) whose .grad was filled by loss.backward().
    Update each parameter's values in place (p.data), keeping the same Tensor objects, and
    outside the graph.  Skip a parameter whose .grad is None.  Afterwards set every .grad to
    None, so the next backward does not add to this step's gradients.  Returns nothing.

    普通梯度下降的一步：p ← p - lr · ∂L/∂p，然后清空梯度。params 是参数 Tensor 的列表，它们的 .grad 已由
    loss.backward() 填好。原地（p.data）更新每个参数的值，保留同一批 Tensor 对象，并且不记录到计算图中；跳过 .grad 为
    None 的参数。之后把每个 .grad 设为 None，免得下一次 backward 累加到这一步的梯度上。不返回任何值。
    """
    # TODO: outside the graph, change each parameter that has a gradient in place; clear .grad.
    raise NotImplementedError


# --- Task 2.5: train a small classifier ------------------------------------------------------
def train_classifier(X, y, n_classes, steps=300):
    """Train an MLP classifier on X (N, 2) float32 and labels y (N,); return (model, losses).

    Build a model with minigrad.nn (e.g. Linear(2, 64) → ReLU/Tanh → Linear(64, n_classes)),
    and an optimizer from minigrad.optim (Adam with lr ≈ 0.02 works well).  Loop `steps`
    times over the whole data set: logits = model(X), loss = cross-entropy (yours or
    F.cross_entropy), zero the gradients, backward, step.  Keep every step's loss as a float.
    Returns (model, losses): the trained model (model(X) gives logits (N, n_classes)) and
    the list of losses.  The check needs a final loss below 0.3 within 20 seconds.

    在 X (N, 2) float32 和标签 y (N,) 上训练一个 MLP 分类器，返回 (model, losses)。用 minigrad.nn
    搭建模型（例如 Linear(2, 64) → ReLU/Tanh → Linear(64, n_classes)），用 minigrad.optim 中的优化器（lr ≈ 0.02 的
    Adam 效果很好）。在整个数据集上循环 `steps` 次：logits = model(X)，loss = 交叉熵（你自己的或 F.cross_entropy），
    清空梯度，反向传播，更新。把每一步的损失存成 float。返回训练好的模型（model(X) 给出 logits (N, n_classes)）和损失列表。
    检查要求在 20 秒内把最终损失降到 0.3 以下。
    """
    # TODO: a model, an optimizer, and the four-line training loop.
    raise NotImplementedError
