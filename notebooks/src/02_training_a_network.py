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

# %% [markdown]
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

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap
import numpy as np

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.backends import numpy_ref

mg.manual_seed(0)
mg.set_backend("numpy")      # the readable reference kernels
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Softmax: from scores to probabilities
#
# A classifier's last layer outputs one score (logit) $z_c$ per class. Softmax (the same
# function as in §4.1's attention formula) makes them a probability distribution:
#
# $$p_c = \mathrm{softmax}(z)_c = \frac{e^{z_c}}{\sum_{c'} e^{z_{c'}}} = \frac{e^{z_c - m}}{\sum_{c'} e^{z_{c'} - m}}, \qquad m = \max_{c'} z_{c'}.$$
#
# Subtracting the max $m$ changes nothing mathematically but keeps $e^{(\cdot)} \le 1$: without it,
# $e^{1000}$ overflows. minigrad's reference kernel, `numpy_ref.softmax`, does exactly this:

# %%
z = np.array([[2.0, 1.0, 0.1], [1000.0, 999.0, 0.0]])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
print("naive :", naive.tolist())
print("stable:", numpy_ref.softmax(z, dim=1))
print("F.softmax:", F.softmax(mg.tensor(z), dim=1).numpy())

# %% [markdown]
# ## 2. Cross-entropy (交叉熵, §4.2)
#
# With the true distribution $q$ (one-hot at the label $y$) and the prediction $p = \mathrm{softmax}(z)$,
#
# $$L = -\sum_c q_c \log p_c = -\log p_y = -z_y + \log \sum_c e^{z_c}.$$
#
# The last form never computes $p$: $\log\sum e^{z}$ (log-sum-exp) is computed with the same max trick.
# Over a batch of $N$ examples, the loss is the mean.

# %%
logits = mg.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0], [1000.0, 0.0, -1000.0]])
y = np.array([0, 2, 0])
by_formula = (logits.logsumexp(dim=1) - logits[np.arange(3), y]).mean()
print("−z_y + logsumexp(z), mean:", by_formula.item())
print("F.cross_entropy:          ", F.cross_entropy(logits, mg.tensor(y)).item())
print("uniform guess over C=3 classes gives ln 3 =", np.log(3))

# %% [markdown]
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

# %%
rng = np.random.default_rng(0)
z = rng.standard_normal((4, 5))
y = np.array([1, 0, 4, 2])
N = len(y)

p = numpy_ref.softmax(z, dim=1)
formula = (p - np.eye(5)[y]) / N                       # (softmax − one-hot) / N

zt = mg.tensor(z, requires_grad=True)                  # float64
F.cross_entropy(zt, mg.tensor(y)).backward()
print("max |formula − autograd| =", np.abs(formula - zt.grad.numpy()).max())
print("gradcheck:", mg.gradcheck(lambda t: F.cross_entropy(t, mg.tensor(y)), [mg.tensor(z, requires_grad=True)]))
print(formula[0], "← row 0: negative only at the label", y[0])

# %% [markdown]
# ## 4. A small classifier: three spirals
#
# A data set a straight line cannot separate: three interleaved spirals in the plane.

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

# %% [markdown]
# The model is a multi-layer perceptron: $h = \tanh(X W_1^\top + b_1)$, $z = h W_2^\top + b_2$ (each
# `nn.Linear` computes $xW^\top + b$). Training is the loop of §2.1 and `minigrad/optim/optimizer.py`:
# forward, `zero_grad`, `backward`, `step`. The optimizer is Adam: for each parameter, with $g = \partial L/\partial\theta$,
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
# \theta \leftarrow \theta - \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}.$$

# %%
mg.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 3))
opt = mg.optim.Adam(model.parameters(), lr=0.02)
print(model)
print("parameters:", model.num_parameters())

Xt, yt = mg.tensor(X), mg.tensor(y)
losses, accs = [], []
for step in range(300):
    logits = model(Xt)                       # forward: (N, 3)
    loss = F.cross_entropy(logits, yt)       # §4.2
    opt.zero_grad()                          # gradients accumulate: clear them
    loss.backward()                          # every parameter gets .grad
    opt.step()                               # θ ← θ − (Adam's step)
    losses.append(loss.item())
    accs.append((logits.numpy().argmax(1) == y).mean())
print(f"loss {losses[0]:.3f} → {losses[-1]:.4f}, accuracy {accs[0]:.0%} → {accs[-1]:.0%}")

# %% [markdown]
# ## 5. The loss curve and what the model learned
#
# The first loss is close to $\ln 3 \approx 1.10$: at initialisation the model guesses uniformly.

# %%
xx, yy = np.meshgrid(np.linspace(-1.1, 1.1, 150), np.linspace(-1.1, 1.1, 150))
grid = mg.tensor(np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32))
with mg.no_grad():
    region = model(grid).numpy().argmax(1).reshape(xx.shape)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(losses, label="training loss (cross-entropy)")
ax1.axhline(np.log(3), ls="--", c="gray", label="ln 3 (uniform guess)")
ax1.set_yscale("log"); ax1.set_xlabel("step"); ax1.set_ylabel("loss"); ax1.legend()
ax1.set_title("Loss curve")
colors = ListedColormap(["tab:red", "tab:blue", "tab:green"])
ax2.contourf(xx, yy, region, levels=[-0.5, 0.5, 1.5, 2.5], cmap=colors, alpha=0.25)
ax2.scatter(X[:, 0], X[:, 1], c=y, cmap=colors, s=10, edgecolors="k", linewidths=0.3)
ax2.set_title(f"Decision regions after 300 steps (accuracy {accs[-1]:.0%})")
ax2.set_aspect("equal")
plt.tight_layout(); plt.show()

# %% [markdown]
# ## 6. The same step by hand
#
# An optimizer is only $\theta \leftarrow \theta - \eta\,\partial L/\partial\theta$ plus bookkeeping. One plain SGD step on the
# trained model, written out and compared with `mg.optim.SGD`:

# %%
params = list(model.parameters())
before = [p.data.copy() for p in params]
loss = F.cross_entropy(model(Xt), yt)
model.zero_grad()
loss.backward()
manual = [b - 0.1 * p.grad.numpy() for b, p in zip(before, params)]
mg.optim.SGD(params, lr=0.1).step()
print("SGD step equals θ − η·grad:", all(np.allclose(m, p.data) for m, p in zip(manual, params)))

# %% [markdown]
# ## Summary
#
# - softmax turns logits into probabilities; subtract the max first (`numpy_ref.softmax`);
# - cross-entropy (§4.2) $= -z_y + \log\sum_c e^{z_c}$, computed with log-sum-exp (`F.cross_entropy`);
# - its gradient is $\mathrm{softmax}(z) - \mathrm{onehot}(y)$ (divided by $N$ for a mean);
# - training is forward → `zero_grad` → `backward` → `step`, with `minigrad.optim` (SGD, Adam, AdamW).
#
# **Exercises** (`lessons/02_training/`, `minigrad lesson check 2`): Task 2.1 softmax, Task 2.2
# cross-entropy, Task 2.3 its gradient by hand, Task 2.4 one SGD step, Task 2.5 train a classifier.
