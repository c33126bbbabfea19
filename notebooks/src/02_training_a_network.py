# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] lang="en"
# # Lesson 2 · Training a network (§2.1 深度学习, §4.2 损失函数)
#
# **Chapter sections:** §2.1 深度学习 (a multi-layer network learns patterns from data) and
# §4.2 损失函数 (loss functions): "大模型的训练通常使用交叉熵损失函数，它衡量模型预测的概率分布与真实概率分布之间的差异" —
# large models are trained with the cross-entropy loss, which measures how far the predicted
# probability distribution is from the true one.
#
# **After this lesson you will be able to**
# - turn scores (logits) into probabilities with softmax, stably;
# - compute the cross-entropy loss (交叉熵损失) with log-sum-exp;
# - derive its gradient with respect to the logits, $\mathrm{softmax}(z) - \mathrm{onehot}(y)$, and check it
#   against autograd;
# - train a small multi-layer perceptron (多层感知机) with `minigrad.optim` and read its loss curve.
#
# Exercises: `lessons/02_training/` (`minigrad lesson check 2`).
# 中文版：[zh/02_training_a_network.ipynb](zh/02_training_a_network.ipynb).

# %% [markdown] lang="zh"
# # 第 2 课 · 训练一个神经网络（§2.1 深度学习，§4.2 损失函数）
#
# **对应章节：** §2.1 深度学习——多层神经网络从数据中学习复杂的模式；§4.2 损失函数——
# “大模型的训练通常使用交叉熵损失函数，它衡量模型预测的概率分布与真实概率分布之间的差异”。
# 本课从一个小分类器入手，把这句话拆开来看：概率分布从哪里来，差异怎么度量，梯度又如何推动参数更新。
#
# **学完本课，你将能够**
# - 用 softmax 把得分（logits）稳定地转换成概率；
# - 借助 log-sum-exp 计算交叉熵损失函数；
# - 推导它对 logits 的梯度 $\mathrm{softmax}(z) - \mathrm{onehot}(y)$，并与自动微分的结果相互印证；
# - 用 `minigrad.optim` 训练一个小型多层感知机（MLP），并读懂它的损失曲线。
#
# 练习：`lessons/02_training/`（用 `minigrad lesson check 2` 检查）。
# English edition: [../02_training_a_network.ipynb](../02_training_a_network.ipynb).

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap
import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.backends import numpy_ref
from minigrad.i18n import set_language, tr
from minigrad.viz import cjk_font

set_language("en")
mg.manual_seed(0)
mg.set_backend("numpy")      # the readable reference kernels  可读的参考实现
np.set_printoptions(precision=4, suppress=True)
if cjk_font():               # Chinese plot labels: the bundled Noto Sans CJK  图中的中文用自带的思源黑体
    plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font()]

# %% [markdown] lang="en"
# ## 1. Softmax: from scores to probabilities
#
# A classifier's last layer outputs one score (logit) $z_c$ per class. Softmax (the same
# function as in §4.1's attention formula) makes them a probability distribution:
#
# $$p_c = \mathrm{softmax}(z)_c = \frac{e^{z_c}}{\sum_{c'} e^{z_{c'}}} = \frac{e^{z_c - m}}{\sum_{c'} e^{z_{c'} - m}}, \qquad m = \max_{c'} z_{c'}.$$
#
# Subtracting the max $m$ changes nothing mathematically but keeps $e^{(\cdot)} \le 1$: without it,
# $e^{1000}$ overflows. minigrad's reference kernel, `numpy_ref.softmax`, does exactly this:

# %% [markdown] lang="zh"
# ## 1. Softmax：从得分到概率
#
# 分类器的最后一层为每个类别输出一个得分（logit）$z_c$。softmax 把这些得分变成一个概率分布——
# 它和 §4.1 自注意力机制公式里的 softmax 是同一个函数：
#
# $$p_c = \mathrm{softmax}(z)_c = \frac{e^{z_c}}{\sum_{c'} e^{z_{c'}}} = \frac{e^{z_c - m}}{\sum_{c'} e^{z_{c'} - m}}, \qquad m = \max_{c'} z_{c'}.$$
#
# 减去最大值 $m$ 在数学上毫无影响，却能保证 $e^{(\cdot)} \le 1$；不这样做，$e^{1000}$ 就会溢出。
# minigrad 的参考实现 `numpy_ref.softmax` 正是这么做的：

# %%
z = np.array([[2.0, 1.0, 0.1], [1000.0, 999.0, 0.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
print(tr("naive :", "朴素实现："), naive.tolist())
print(tr("stable:", "稳定实现："), numpy_ref.softmax(z, dim=1))
print("F.softmax:", F.softmax(mg.tensor(z), dim=1).numpy())

# %% [markdown] lang="en"
# ## 2. Cross-entropy (交叉熵, §4.2)
#
# With the true distribution $q$ (one-hot at the label $y$) and the prediction $p = \mathrm{softmax}(z)$,
#
# $$L = -\sum_c q_c \log p_c = -\log p_y = -z_y + \log \sum_c e^{z_c}.$$
#
# The last form never computes $p$: $\log\sum e^{z}$ (log-sum-exp) is computed with the same max trick.
# Over a batch of $N$ examples, the loss is the mean.

# %% [markdown] lang="zh"
# ## 2. 交叉熵损失函数（§4.2）
#
# 设真实分布为 $q$（在标签 $y$ 处为 1 的 one-hot 向量），模型的预测为 $p = \mathrm{softmax}(z)$，则
#
# $$L = -\sum_c q_c \log p_c = -\log p_y = -z_y + \log \sum_c e^{z_c}.$$
#
# 最后一种写法根本不需要先算出 $p$：其中的 $\log\sum e^{z}$（log-sum-exp）同样用减去最大值的技巧来计算。
# 对一个含 $N$ 个样本的批次，损失取平均值。

# %%
logits = mg.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [1000.0, 0.0, -1000.0]])
y = np.array([0, 2, 0])
by_formula = (logits.logsumexp(dim=1) - logits[np.arange(3), y]).mean()   # −z_y + log Σ e^z, mean  取平均
print(tr("−z_y + logsumexp(z), mean:", "−z_y + logsumexp(z) 的均值："), by_formula.item())
print(tr("F.cross_entropy:          ", "F.cross_entropy：           "), F.cross_entropy(logits, mg.tensor(y)).item())
print(tr("uniform guess over C=3 classes gives ln 3 =", "在 C=3 个类别上均匀猜测，损失为 ln 3 ="), np.log(3))

# %% [markdown] lang="en"
# ## 3. The gradient of softmax + cross-entropy
#
# Write $L = -z_y + \log S$ with $S = \sum_c e^{z_c}$. Differentiate with respect to one logit $z_j$:
#
# $$\frac{\partial L}{\partial z_j} = -\mathbb{1}[j = y] + \frac{1}{S}\frac{\partial S}{\partial z_j}
# = -\mathbb{1}[j = y] + \frac{e^{z_j}}{S} = p_j - \mathbb{1}[j = y].$$
#
# So the gradient is **prediction minus target**, $\nabla_z L = \mathrm{softmax}(z) - \mathrm{onehot}(y)$, and for the
# mean over a batch it is divided by $N$. It is bounded (each entry in $[-1, 1]$) and is zero only when
# the model puts all its probability on the right class. Check it three ways: the formula, autograd, and
# finite differences:

# %% [markdown] lang="zh"
# ## 3. softmax + 交叉熵的梯度
#
# 把损失写成 $L = -z_y + \log S$，其中 $S = \sum_c e^{z_c}$，再对某一个 logit $z_j$ 求导：
#
# $$\frac{\partial L}{\partial z_j} = -\mathbb{1}[j = y] + \frac{1}{S}\frac{\partial S}{\partial z_j}
# = -\mathbb{1}[j = y] + \frac{e^{z_j}}{S} = p_j - \mathbb{1}[j = y].$$
#
# 结论非常简洁：梯度就是**预测减去目标**，$\nabla_z L = \mathrm{softmax}(z) - \mathrm{onehot}(y)$；
# 对批次取平均时再除以 $N$。这个梯度有界（每个分量都在 $[-1, 1]$ 内），只有当模型把全部概率都押在正确类别上时才为零。
# 下面分别用公式、自动微分和有限差分三种方法来验证：

# %%
rng = np.random.default_rng(0)
z = rng.standard_normal((4, 5))
y = np.array([1, 0, 4, 2])
N = len(y)

p = numpy_ref.softmax(z, dim=1)
formula = (p - np.eye(5)[y]) / N                       # (softmax − one-hot) / N

zt = mg.tensor(z, requires_grad=True)                  # float64
F.cross_entropy(zt, mg.tensor(y)).backward()
print(tr("max |formula − autograd| =", "max |公式 − 自动微分| ="), np.abs(formula - zt.grad.numpy()).max())
print("gradcheck:", mg.gradcheck(lambda t: F.cross_entropy(t, mg.tensor(y)), [mg.tensor(z, requires_grad=True)]))
print(formula[0], tr("← row 0: negative only at the label", "← 第 0 行：只有标签处为负，标签为"), y[0])

# %% [markdown] lang="en"
# ## 4. A small classifier: three spirals
#
# A data set a straight line cannot separate: three interleaved spirals in the plane.

# %% [markdown] lang="zh"
# ## 4. 一个小分类器：三条螺旋线
#
# 我们需要一个无法用直线分开的数据集：平面上三条相互缠绕的螺旋线。

# %%
def spirals(n_per_class=100, classes=3, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.1, 1.0, n_per_class)
        t = np.linspace(c * 2 * np.pi / classes, c * 2 * np.pi / classes + 3.0, n_per_class)
        t = t + rng.standard_normal(n_per_class) * noise
        X.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


X, y = spirals()
print(X.shape, y.shape, np.bincount(y))

# %% [markdown] lang="en"
# The model is a multi-layer perceptron: $h = \tanh(X W_1^\top + b_1)$, $z = h W_2^\top + b_2$ (each
# `nn.Linear` computes $xW^\top + b$). Training is the loop of §2.1 and `minigrad/optim/optimizer.py`:
# forward, `zero_grad`, `backward`, `step`. The optimizer is Adam: for each parameter, with $g = \partial L/\partial\theta$,
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
# \theta \leftarrow \theta - \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}.$$

# %% [markdown] lang="zh"
# 模型是一个多层感知机：$h = \tanh(X W_1^\top + b_1)$，$z = h W_2^\top + b_2$（每个 `nn.Linear` 计算 $xW^\top + b$）。
# 训练就是 §2.1 所说的那个循环（实现见 `minigrad/optim/optimizer.py`）：前向计算、`zero_grad`、
# `backward`（反向传播）、`step`。优化器选用 Adam：对每个参数，记梯度 $g = \partial L/\partial\theta$，
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
# \theta \leftarrow \theta - \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}.$$

# %%
mg.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 3))
opt = mg.optim.Adam(model.parameters(), lr=0.02)
print(model)
print(tr("parameters:", "参数量："), model.num_parameters())

Xt, yt = mg.tensor(X), mg.tensor(y)
losses, accs = [], []
for step in range(300):
    logits = model(Xt)                       # forward: (N, 3)  前向计算
    loss = F.cross_entropy(logits, yt)       # §4.2  交叉熵损失
    opt.zero_grad()                          # gradients accumulate: clear them  梯度会累积，先清零
    loss.backward()                          # every parameter gets .grad  每个参数得到 .grad
    opt.step()                               # θ ← θ − (Adam's step)  按 Adam 的步长更新
    losses.append(loss.item())
    accs.append((logits.numpy().argmax(1) == y).mean())
print(tr(f"loss {losses[0]:.3f} → {losses[-1]:.4f}, accuracy {accs[0]:.0%} → {accs[-1]:.0%}",
         f"损失 {losses[0]:.3f} → {losses[-1]:.4f}，准确率 {accs[0]:.0%} → {accs[-1]:.0%}"))

# %% [markdown] lang="en"
# ## 5. The loss curve and what the model learned
#
# The first loss is close to $\ln 3 \approx 1.10$: at initialisation the model guesses uniformly.

# %% [markdown] lang="zh"
# ## 5. 损失曲线，以及模型学到了什么
#
# 第一步的损失接近 $\ln 3 \approx 1.10$：刚初始化的模型相当于在三个类别之间均匀地瞎猜。

# %%
xx, yy = np.meshgrid(np.linspace(-1.1, 1.1, 150), np.linspace(-1.1, 1.1, 150))
grid = mg.tensor(np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32))
with mg.no_grad():
    region = model(grid).numpy().argmax(1).reshape(xx.shape)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(losses, label=tr("training loss (cross-entropy)", "训练损失（交叉熵）"))
ax1.axhline(np.log(3), ls="--", c="gray", label=tr("ln 3 (uniform guess)", "ln 3（均匀猜测）"))
ax1.set_yscale("log"); ax1.set_xlabel(tr("step", "步数")); ax1.set_ylabel(tr("loss", "损失")); ax1.legend()
ax1.set_title(tr("Loss curve", "损失曲线"))
colors = ListedColormap(["tab:red", "tab:blue", "tab:green"])
ax2.contourf(xx, yy, region, levels=[-0.5, 0.5, 1.5, 2.5], cmap=colors, alpha=0.25)
ax2.scatter(X[:, 0], X[:, 1], c=y, cmap=colors, s=10, edgecolors="k", linewidths=0.3)
ax2.set_title(tr(f"Decision regions after 300 steps (accuracy {accs[-1]:.0%})",
                 f"训练 300 步后的决策区域（准确率 {accs[-1]:.0%}）"))
ax2.set_aspect("equal")
plt.tight_layout(); plt.show()

# %% [markdown] lang="en"
# ## 6. The same step by hand
#
# An optimizer is only $\theta \leftarrow \theta - \eta\,\partial L/\partial\theta$ plus bookkeeping. One plain SGD step on the
# trained model, written out and compared with `mg.optim.SGD`:

# %% [markdown] lang="zh"
# ## 6. 亲手走一步
#
# 优化器的本质不过是 $\theta \leftarrow \theta - \eta\,\partial L/\partial\theta$，再加上一些记录工作。
# 下面在训练好的模型上手写一步最朴素的 SGD，并与 `mg.optim.SGD` 的结果对比：

# %%
params = list(model.parameters())
before = [p.data.copy() for p in params]
loss = F.cross_entropy(model(Xt), yt)
model.zero_grad()
loss.backward()
manual = [b - 0.1 * p.grad.numpy() for b, p in zip(before, params)]   # θ − η·grad
mg.optim.SGD(params, lr=0.1).step()
print(tr("SGD step equals θ − η·grad:", "SGD 的一步等于 θ − η·grad："),
      all(np.allclose(m, p.data) for m, p in zip(manual, params)))

# %% [markdown] lang="en"
# ## Summary
#
# - softmax turns logits into probabilities; subtract the max first (`numpy_ref.softmax`);
# - cross-entropy (§4.2) $= -z_y + \log\sum_c e^{z_c}$, computed with log-sum-exp (`F.cross_entropy`);
# - its gradient is $\mathrm{softmax}(z) - \mathrm{onehot}(y)$ (divided by $N$ for a mean);
# - training is forward → `zero_grad` → `backward` → `step`, with `minigrad.optim` (SGD, Adam, AdamW).
#
# **Exercises** (`lessons/02_training/`, `minigrad lesson check 2`): Task 2.1 softmax, Task 2.2
# cross-entropy, Task 2.3 its gradient by hand, Task 2.4 one SGD step, Task 2.5 train a classifier.

# %% [markdown] lang="zh"
# ## 小结
#
# - softmax 把 logits 变成概率，计算前先减去最大值（`numpy_ref.softmax`）；
# - 交叉熵损失函数（§4.2）$= -z_y + \log\sum_c e^{z_c}$，用 log-sum-exp 计算（`F.cross_entropy`）；
# - 它对 logits 的梯度是 $\mathrm{softmax}(z) - \mathrm{onehot}(y)$（取平均时再除以 $N$）；
# - 训练就是前向计算 → `zero_grad` → `backward` → `step` 的循环，优化器来自 `minigrad.optim`（SGD、Adam、AdamW）。
#
# **练习**（`lessons/02_training/`，用 `minigrad lesson check 2` 检查）：任务 2.1 softmax；任务 2.2 交叉熵；
# 任务 2.3 手推它的梯度；任务 2.4 一步 SGD；任务 2.5 训练一个分类器。
