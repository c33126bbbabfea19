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
# # Lesson 1 · Tensors and autograd (§2.1 深度学习)
#
# **Chapter sections:** §2.1 深度学习 (deep learning): a deep network is many layers of simple
# tensor operations, and it *learns* by following the gradient of a loss with respect to every
# parameter. This lesson is about how those gradients are computed: reverse-mode automatic
# differentiation (自动微分), the engine inside minigrad, PyTorch and every deep-learning framework.
#
# **After this lesson you will be able to**
# - build tensors (张量) that record the operations applied to them, and walk the resulting
#   computation graph (计算图) node by node;
# - explain how `backward()` applies the chain rule (链式法则) from the output back to the leaves;
# - check any gradient against finite differences (有限差分) with `mg.gradcheck`;
# - take second derivatives and Hessian-vector products with `mg.grad(..., create_graph=True)`;
# - predict the gradient of a broadcast operation, know why gradients accumulate (梯度累积) and
#   when to call `zero_grad`, and find the op that made a NaN with `mg.detect_anomaly`.
#
# Exercises: `lessons/01_autograd/` (check them with `minigrad lesson check 1`).
# 中文版：[zh/01_tensors_and_autograd.ipynb](zh/01_tensors_and_autograd.ipynb).

# %% [markdown] lang="zh"
# # 第 1 课 · 张量与自动微分（§2.1 深度学习）
#
# **对应章节：** §2.1 深度学习。深度网络由许多层简单的张量运算堆叠而成，它之所以能够“学习”，
# 是因为训练时沿着损失对每个参数的梯度不断调整参数。本课要回答的问题是：这些梯度究竟是怎么算出来的？
# 答案是反向模式自动微分（reverse-mode automatic differentiation）——minigrad、PyTorch
# 以及所有深度学习框架内部的核心引擎。
#
# **学完本课，你将能够**
# - 创建会记录自身所经历运算的张量，并逐个节点地遍历由此得到的计算图；
# - 讲清楚 `backward()` 如何从输出出发、沿链式法则一路把梯度传回叶子节点，即反向传播的全过程；
# - 用 `mg.gradcheck` 拿有限差分来检验任意一个梯度；
# - 借助 `mg.grad(..., create_graph=True)` 求二阶导数和 Hessian 向量积；
# - 预判广播运算的梯度，理解梯度为什么会累积、何时需要调用 `zero_grad`，
#   并用 `mg.detect_anomaly` 找出最先产生 NaN 的那个运算。
#
# 练习：`lessons/01_autograd/`（用 `minigrad lesson check 1` 检查）。
# English edition: [../01_tensors_and_autograd.ipynb](../01_tensors_and_autograd.ipynb).

# %%
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad import autograd
from minigrad.i18n import set_language, tr
from minigrad.ops import elementwise
from minigrad.tensor import Function
from minigrad.viz import cjk_font

set_language("en")
mg.manual_seed(0)            # reproducible outputs  可复现的输出
mg.set_backend("numpy")      # the readable NumPy reference kernels (minigrad/backends/numpy_ref.py)  可读的 NumPy 参考实现
np.set_printoptions(precision=4, suppress=True)
if cjk_font():               # Chinese plot labels: the bundled Noto Sans CJK  图中的中文用自带的思源黑体
    plt.rcParams["font.family"] = ["DejaVu Sans", cjk_font()]

# %% [markdown] lang="en"
# ## 1. Tensors (张量)
#
# A `mg.Tensor` wraps a NumPy array (`.data`). Python floats become `float32`, the default;
# a NumPy array keeps its dtype. A tensor created with `requires_grad=True` is a **leaf** (叶子节点):
# it has no node of its own and will receive a `.grad`.

# %% [markdown] lang="zh"
# ## 1. 张量
#
# `mg.Tensor` 包装了一个 NumPy 数组（即 `.data`）。Python 浮点数默认转成 `float32`，
# NumPy 数组则保留原有的 dtype。以 `requires_grad=True` 创建的张量是**叶子节点**：
# 它不由任何运算产生，自身没有节点，反向传播结束后会得到一个 `.grad`。

# %%
x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
W = mg.randn(2, 3)
print(x, x.dtype, x.shape, x.is_leaf)
print(type(x.data), W.shape)

# %% [markdown] lang="en"
# ## 2. The chain rule (链式法则)
#
# For $y = f(u)$ with $u = g(x)$, the derivative of the composition is the product of the local
# derivatives:
#
# $$\frac{\partial y}{\partial x} = \frac{\partial y}{\partial u}\,\frac{\partial u}{\partial x}.$$
#
# Take $y = \sin(x^2)$: $u = x^2$, $\partial u/\partial x = 2x$, $\partial y/\partial u = \cos u$, so
# $\partial y/\partial x = 2x\cos(x^2)$. `backward()` computes exactly this product, one local
# derivative per op.

# %% [markdown] lang="zh"
# ## 2. 链式法则
#
# 设 $y = f(u)$，$u = g(x)$，复合函数的导数等于各段局部导数的乘积：
#
# $$\frac{\partial y}{\partial x} = \frac{\partial y}{\partial u}\,\frac{\partial u}{\partial x}.$$
#
# 以 $y = \sin(x^2)$ 为例：$u = x^2$，$\partial u/\partial x = 2x$，$\partial y/\partial u = \cos u$，
# 因此 $\partial y/\partial x = 2x\cos(x^2)$。`backward()` 做的正是这件事：每个运算贡献一个局部导数，
# 再把它们依次乘起来。

# %%
x = mg.tensor([0.5, 1.0, 2.0], requires_grad=True)
y = (x * x).sin().sum()          # the sum makes y a scalar; ∂y/∂xᵢ is unchanged by it  求和得到标量，∂y/∂xᵢ 不变
y.backward()
print(tr("autograd:", "自动微分："), x.grad.numpy())
print(tr("by hand: ", "手算：    "), 2 * x.data * np.cos(x.data ** 2))

# %% [markdown] lang="en"
# ## 3. The graph (计算图)
#
# Every op applied to a tensor that requires grad leaves a **node** (an instance of
# `minigrad.tensor.Function`) in `t._node`; the node remembers its inputs in `node.inputs`.
# Walking from the output to the leaves shows the whole computation:

# %% [markdown] lang="zh"
# ## 3. 计算图
#
# 对需要梯度的张量每做一次运算，结果的 `t._node` 里就会留下一个**节点**（`minigrad.tensor.Function`
# 的实例），节点在 `node.inputs` 中记住自己的输入。从输出往叶子节点走一遍，整个计算过程便一目了然：

# %%
def show_graph(t, indent=0, name="y"):
    """Print the graph below tensor t: one line per node, leaves marked."""
    pad = "    " * indent
    if t._node is None:
        kind = tr("leaf, requires_grad", "叶子节点，requires_grad") if t.requires_grad else tr("constant", "常量")
        print(f"{pad}{name}: {kind}, shape {t.shape}")
        return
    node = t._node
    print(f"{pad}{name} = {node.name}(...)   node {type(node).__name__}, shape {t.shape}")
    for i, inp in enumerate(node.inputs):
        show_graph(inp, indent + 1, name=f"input {i}")


a = mg.tensor([1.0, -2.0], requires_grad=True)
b = mg.tensor([3.0, 4.0], requires_grad=True)
loss = ((a * b).tanh() + a).sum()
show_graph(loss, name="loss")

# %% [markdown] lang="en"
# The same graph, drawn: `mg.viz.graph(t)` shows one box per tensor (its name, shape and dtype, its
# values when it has at most four) and one oval per op, with **#k**, the order in which
# `backward()` will run the ops (#1 first: the op that made the loss). The leaves that require grad
# are blue, constants grey, the output green; data flows down the page, and `backward()` walks it
# back up. (The layout is computed by minigrad itself, `minigrad/viz/layout.py`: no Graphviz needed.)

# %% [markdown] lang="zh"
# 同一张图，画出来看：`mg.viz.graph(t)` 为每个张量画一个方框（名字、形状、dtype，元素不超过四个时还显示数值），
# 为每个运算画一个椭圆，并标上 **#k**——`backward()` 执行这些运算的先后次序（#1 最先执行，即产生损失的那个运算）。
# 需要梯度的叶子节点为蓝色，常量为灰色，输出为绿色；数据自上而下流动，`backward()` 则自下而上往回走。
# （布局由 minigrad 自己计算，见 `minigrad/viz/layout.py`，无需安装 Graphviz。）

# %%
g = mg.viz.graph(loss, names={"a": a, "b": b, "loss": loss})
g

# %% [markdown] lang="en"
# `backward()` visits these nodes in reverse topological order (拓扑排序: every consumer before
# the node that produced its input; `a` is used twice, so its two gradients are summed before
# they go further). At each node it calls `node.backward(grad)`, which returns the
# vector-Jacobian product $\frac{\partial L}{\partial \text{input}} = \frac{\partial L}{\partial \text{out}} \cdot \frac{\partial\, \text{out}}{\partial\, \text{input}}$.
# Here is minigrad's own rule for multiplication, $\partial(ab)/\partial a = b$ and
# $\partial(ab)/\partial b = a$:

# %% [markdown] lang="zh"
# `backward()` 按逆拓扑排序访问这些节点：使用某个结果的节点，总是先于产生该结果的节点被处理。
# `a` 被用了两次，它的两份梯度要先相加，再继续往回传。在每个节点上，`backward()` 调用
# `node.backward(grad)`，返回向量-雅可比积
# $\frac{\partial L}{\partial \text{input}} = \frac{\partial L}{\partial \text{out}} \cdot \frac{\partial\, \text{out}}{\partial\, \text{input}}$。
# 下面是 minigrad 中乘法的反向规则，$\partial(ab)/\partial a = b$，$\partial(ab)/\partial b = a$：

# %%
print(inspect.getsource(elementwise.Mul))
order = autograd.topological_order([loss._node])
print(tr("backward visits:", "反向传播的访问顺序："), " → ".join(n.name for n in order))

# %%
loss.backward()
t = np.tanh(a.data * b.data)
print("a.grad", a.grad.numpy(), tr(" by hand:", " 手算："), (1 - t ** 2) * b.data + 1)
print("b.grad", b.grad.numpy(), tr(" by hand:", " 手算："), (1 - t ** 2) * a.data)

# %% [markdown] lang="en"
# The graph again, after `backward()`: the leaves now show their `.grad` (in red), the numbers just
# printed. `backward()` freed the graph as it went (each node drops its inputs, so a second
# `backward()` raises); the view captured the graph when it was made and reads the gradients when it
# is shown. Only leaves keep a `.grad`: the gradients of intermediate results are used and dropped,
# as in PyTorch (`mg.grad(loss, [t])` returns one when you want it). Try it on your own expression:
# `mg.viz.graph(expr)` before and after `expr.backward()`; `.save("graph.svg")` or `"graph.html"`
# writes it to a file.

# %% [markdown] lang="zh"
# `backward()` 之后再看一次这张图：叶子节点上多了红色的 `.grad`，正是刚才打印出的数值。
# `backward()` 边走边释放计算图（每个节点丢掉对输入的引用，所以第二次调用 `backward()` 会报错）；
# 这个视图在创建时就保存了图的结构，显示时才读取梯度。只有叶子节点保留 `.grad`，
# 中间结果的梯度用完即弃，这一点与 PyTorch 相同（确实需要时可用 `mg.grad(loss, [t])` 取得）。
# 不妨拿你自己的表达式试一试：在 `expr.backward()` 前后各调用一次 `mg.viz.graph(expr)`；
# `.save("graph.svg")` 或 `"graph.html"` 可以把图存成文件。

# %%
g

# %% [markdown] lang="en"
# ## 4. Gradient checks by finite differences (梯度检验)
#
# How do we know a backward rule is right? Compare it with the definition of the derivative.
# The **central difference** perturbs one input entry $x_i$ by $\pm\varepsilon$:
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon},
# \qquad \text{error } O(\varepsilon^2),$$
#
# while the one-sided difference $\big(f(x+\varepsilon e_i) - f(x)\big)/\varepsilon$ has error $O(\varepsilon)$.
# Both also suffer rounding error $\approx \text{machine-}\epsilon / \varepsilon$, which is why checks run in
# `float64`. The plot shows both errors for $f(x) = \sin x$ at $x = 1$:

# %% [markdown] lang="zh"
# ## 4. 用有限差分做梯度检验
#
# 怎样确认一条反向规则写对了？拿导数的定义来对照。**中心差分**把某个输入分量 $x_i$ 分别加上、减去 $\varepsilon$：
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon},
# \qquad \text{error } O(\varepsilon^2),$$
#
# 而单侧差分 $\big(f(x+\varepsilon e_i) - f(x)\big)/\varepsilon$ 的截断误差是 $O(\varepsilon)$。
# 两者都还受舍入误差影响，量级约为 $\text{machine-}\epsilon / \varepsilon$，所以梯度检验要在 `float64` 下进行。
# 下图以 $f(x) = \sin x$ 在 $x = 1$ 处为例，画出两种差分的误差随 $\varepsilon$ 的变化：

# %%
f, x0, exact = np.sin, 1.0, np.cos(1.0)
eps = np.logspace(-12, -1, 45)
central = np.abs((f(x0 + eps) - f(x0 - eps)) / (2 * eps) - exact)   # error O(ε²)  截断误差 O(ε²)
forward = np.abs((f(x0 + eps) - f(x0)) / eps - exact)               # error O(ε)   截断误差 O(ε)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(eps, forward, label=tr("one-sided  (f(x+ε) − f(x)) / ε", "单侧差分  (f(x+ε) − f(x)) / ε"))
ax.loglog(eps, central, label=tr("central  (f(x+ε) − f(x−ε)) / 2ε", "中心差分  (f(x+ε) − f(x−ε)) / 2ε"))
ax.set_xlabel("ε"); ax.set_ylabel(tr("|error|", "|误差|"))
ax.set_title(tr("Finite differences in float64", "float64 下的有限差分"))
ax.legend(); plt.tight_layout(); plt.show()
print(tr(f"best central error {central.min():.1e} at ε ≈ {eps[central.argmin()]:.0e}; "
         f"best one-sided {forward.min():.1e}",
         f"中心差分的最小误差 {central.min():.1e}（ε ≈ {eps[central.argmin()]:.0e}）；"
         f"单侧差分的最小误差 {forward.min():.1e}"))

# %% [markdown] lang="en"
# `mg.gradcheck(fn, inputs)` does this for every entry of every input that requires grad, and
# compares the whole numerical Jacobian with the one backward computes (see `minigrad/gradcheck.py`).
# It passes for minigrad's ops, and catches a wrong rule. Below, a deliberately broken
# `Function` subclass claims $\frac{d}{dx}x^3 = 3x$ instead of $3x^2$:

# %% [markdown] lang="zh"
# `mg.gradcheck(fn, inputs)` 对每个需要梯度的输入的每个分量都做一次这样的差分，
# 再把得到的数值雅可比矩阵与反向传播算出的逐项比较（见 `minigrad/gradcheck.py`）。
# minigrad 自带的运算都能通过检验，写错的规则则会被揪出来。下面这个故意写错的 `Function` 子类
# 声称 $\frac{d}{dx}x^3 = 3x$，而正确答案是 $3x^2$：

# %%
x = mg.randn(3, 4, dtype="float64", requires_grad=True)
print(tr("tanh∘softmax passes:", "tanh∘softmax 通过检验："), mg.gradcheck(lambda t: t.tanh().softmax(-1), [x]))


class BadCube(Function):
    name = "bad_cube"

    def forward(self, a):
        return a ** 3

    def backward(self, g):
        return g * self.inputs[0] * 3.0               # wrong: should be 3·x²  错误：应为 3·x²


try:
    mg.gradcheck(lambda t: BadCube.apply(t), [x])
except mg.GradcheckError as e:
    print(tr("BadCube fails:", "BadCube 未通过："), str(e)[:150], "...")

# %% [markdown] lang="en"
# ## 5. Second derivatives (二阶导数) and a Hessian-vector product
#
# minigrad writes every backward rule with Tensor ops, so a gradient can itself be part of a
# graph. `mg.grad(y, x, create_graph=True)` returns $\partial y/\partial x$ *with* its graph, and
# differentiating it again gives the second derivative. For $y = \sum x^3$:
# $\partial y/\partial x = 3x^2$ and $\partial^2 y/\partial x^2 = 6x$.

# %% [markdown] lang="zh"
# ## 5. 二阶导数与 Hessian 向量积
#
# minigrad 的每条反向规则都用张量运算写成，因此梯度本身也可以成为计算图的一部分。
# `mg.grad(y, x, create_graph=True)` 返回**带计算图**的 $\partial y/\partial x$，对它再求一次导就是二阶导数。
# 以 $y = \sum x^3$ 为例：$\partial y/\partial x = 3x^2$，$\partial^2 y/\partial x^2 = 6x$。

# %%
x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
(g,) = mg.grad((x ** 3).sum(), x, create_graph=True)   # 3x²
(h,) = mg.grad(g.sum(), x)                             # 6x
print("dy/dx  =", g.numpy(), "\nd²y/dx² =", h.numpy())

# %% [markdown] lang="en"
# For a function of many variables the second derivative is the Hessian matrix
# $H_{ij} = \partial^2 f / \partial x_i \partial x_j$, too big to build for a network. But its
# product with a vector needs only two backward passes, because $H$ is symmetric:
#
# $$H v = \nabla_x\big(\nabla_x f(x) \cdot v\big).$$
#
# We check it against the full Hessian, built column by column ($H e_j$) for a small $f$:

# %% [markdown] lang="zh"
# 多元函数的二阶导数是 Hessian 矩阵 $H_{ij} = \partial^2 f / \partial x_i \partial x_j$，
# 对一个神经网络来说它大到根本无法构造。但由于 $H$ 是对称矩阵，它与一个向量的乘积只需两次反向传播即可得到：
#
# $$H v = \nabla_x\big(\nabla_x f(x) \cdot v\big).$$
#
# 我们取一个小规模的 $f$，逐列（$H e_j$）拼出完整的 Hessian 矩阵，用它来验证这个结果：

# %%
def f(x):
    return (x.tanh() * x).sum() + (x * x).sum() ** 2


x = mg.randn(4, dtype="float64", requires_grad=True)
v = mg.randn(4, dtype="float64")


def hvp(f, x, v):
    (g,) = mg.grad(f(x), x, create_graph=True)   # ∇f, with its graph  带计算图的 ∇f
    (hv,) = mg.grad((g * v).sum(), x)            # Hv = ∇(∇f · v)
    return hv


H = np.stack([hvp(f, x, mg.tensor(np.eye(4)[j])).numpy() for j in range(4)], axis=1)
print(tr("H symmetric:", "H 是否对称："), np.allclose(H, H.T))
print(tr("Hv (double backward):", "Hv（两次反向传播）："), hvp(f, x, v).numpy())
print(tr("H @ v (full matrix): ", "H @ v（完整矩阵）：   "), H @ v.numpy())
print("gradgradcheck:", mg.gradgradcheck(f, [x]))

# %% [markdown] lang="en"
# ## 6. Broadcasting's gradient (广播)
#
# `x + y` with `x` of shape (3, 1) and `y` of shape (1, 4) gives (3, 4): each entry of `x` was
# *copied* along the columns. Its gradient is therefore the **sum** over the copies:
#
# $$\frac{\partial L}{\partial x_{i}} = \sum_{j} \frac{\partial L}{\partial z_{ij}}, \qquad z_{ij} = x_i + y_j.$$
#
# minigrad does this in one place, the engine (`autograd.sum_to_shape`), for every op.

# %% [markdown] lang="zh"
# ## 6. 广播运算的梯度
#
# 形状为 (3, 1) 的 `x` 与形状为 (1, 4) 的 `y` 相加，得到 (3, 4) 的结果：`x` 的每个元素沿列方向被**复制**了四份。
# 所以它的梯度就是所有副本梯度之**和**：
#
# $$\frac{\partial L}{\partial x_{i}} = \sum_{j} \frac{\partial L}{\partial z_{ij}}, \qquad z_{ij} = x_i + y_j.$$
#
# minigrad 只在一处——自动微分引擎的 `autograd.sum_to_shape`——统一为所有运算完成这一步。

# %%
x = mg.randn(3, 1, requires_grad=True)
y = mg.randn(1, 4, requires_grad=True)
w = mg.randn(3, 4)
((x + y) * w).sum().backward()
print("x.grad", x.grad.shape, x.grad.numpy().ravel(), tr(" = rows of w summed:", " = w 按行求和："), w.numpy().sum(1))
print("y.grad", y.grad.shape, y.grad.numpy().ravel(), tr(" = columns of w summed:", " = w 按列求和："), w.numpy().sum(0))
print("sum_to_shape:", autograd.sum_to_shape(w, (3, 1)).numpy().ravel())

# %% [markdown] lang="en"
# ## 7. Gradients accumulate (梯度累积); `zero_grad`
#
# As in PyTorch, `backward()` **adds** into `.grad`. That is what makes a tensor used in two
# places correct (its gradients add up), and what allows gradient accumulation over several
# mini-batches — but a training loop must clear the gradients before each step.

# %% [markdown] lang="zh"
# ## 7. 梯度会累积；`zero_grad`
#
# 与 PyTorch 一样，`backward()` 是把梯度**累加**到 `.grad` 上。正因如此，一个张量在两处被使用时，
# 两份梯度才能正确地加在一起；也正因如此，才能在多个小批量上做梯度累积。
# 代价是训练循环必须在每一步之前把梯度清零。

# %%
w = mg.tensor([1.0, 2.0], requires_grad=True)
for step in range(3):
    (w * w).sum().backward()
    print(tr(f"after backward #{step + 1}: w.grad = {w.grad.numpy()}",
             f"第 {step + 1} 次 backward 之后：w.grad = {w.grad.numpy()}"))
w.zero_grad()          # or: w.grad = None;  model.zero_grad();  optimizer.zero_grad()
(w * w).sum().backward()
print(tr("after zero_grad and one more backward:", "zero_grad 后再做一次 backward："), w.grad.numpy())

# %% [markdown] lang="en"
# ## 8. Finding a NaN: `detect_anomaly`
#
# A NaN in the loss spreads everywhere and hides where it started. Inside
# `with mg.detect_anomaly():` every op checks its output (and every backward its gradient) and
# raises at the first NaN, naming the op and the line of your code that created it.

# %% [markdown] lang="zh"
# ## 8. 追查 NaN：`detect_anomaly`
#
# 损失里一旦出现 NaN，它会迅速扩散到各处，让人找不到源头。在 `with mg.detect_anomaly():` 之内，
# 每个运算都会检查自己的输出（每次反向计算也会检查梯度），遇到第一个 NaN 就抛出异常，
# 并指明是哪个运算、由你代码中的哪一行产生的。（异常信息本身是英文的。）

# %%
x = mg.tensor([4.0, 1.0, 0.5], requires_grad=True)
try:
    with mg.detect_anomaly():
        y = (x - 2.0).sqrt()          # √ of a negative number → NaN  负数开方 → NaN
        loss = y.sum()
except FloatingPointError as e:
    print(str(e).splitlines()[0])
    print(tr("  ... at:", "  ……位置："), str(e).split(": ")[-1])

# %% [markdown] lang="en"
# ## Summary
#
# | idea | minigrad |
# |---|---|
# | a tensor that records ops | `mg.tensor(..., requires_grad=True)`, `t._node`, `node.inputs` |
# | the graph, drawn | `mg.viz.graph(loss)` before and after `backward()`; `.save("graph.svg")` |
# | chain rule, reverse mode | `loss.backward()` → `autograd.run_backward`, one `Function.backward` per node |
# | gradient check | `mg.gradcheck`, central differences in float64 |
# | second derivatives | `mg.grad(..., create_graph=True)`, `mg.gradgradcheck` |
# | broadcasting | gradients summed back to the input's shape (`autograd.sum_to_shape`) |
# | accumulation | `.grad` adds up; `zero_grad()` between steps |
# | debugging | `with mg.detect_anomaly():` |
#
# **Exercises** (`lessons/01_autograd/`, `minigrad lesson check 1`): Task 1.1 a numerical gradient,
# Task 1.2 a `Function` subclass (sigmoid) that passes `gradcheck` and `gradgradcheck`, Task 1.3
# broadcasting's gradient, Task 1.4 a Hessian-vector product.
# `python -m minigrad.autograder.lesson01 --graph` draws the graph of an expression built with
# *your* Sigmoid, before and after `backward()` (in `lesson01_graph.html`).

# %% [markdown] lang="zh"
# ## 小结
#
# | 概念 | minigrad 中的实现 |
# |---|---|
# | 记录运算的张量 | `mg.tensor(..., requires_grad=True)`、`t._node`、`node.inputs` |
# | 画出计算图 | 在 `backward()` 前后调用 `mg.viz.graph(loss)`；`.save("graph.svg")` |
# | 链式法则与反向模式 | `loss.backward()` → `autograd.run_backward`，每个节点调用一次 `Function.backward` |
# | 梯度检验 | `mg.gradcheck`，float64 下的中心差分 |
# | 二阶导数 | `mg.grad(..., create_graph=True)`、`mg.gradgradcheck` |
# | 广播 | 梯度按输入的形状求和还原（`autograd.sum_to_shape`） |
# | 梯度累积 | `.grad` 不断累加；每步之间调用 `zero_grad()` |
# | 调试 | `with mg.detect_anomaly():` |
#
# **练习**（`lessons/01_autograd/`，用 `minigrad lesson check 1` 检查）：任务 1.1 数值梯度；
# 任务 1.2 写一个能通过 `gradcheck` 和 `gradgradcheck` 的 `Function` 子类（sigmoid）；
# 任务 1.3 广播运算的梯度；任务 1.4 Hessian 向量积。
# `python -m minigrad.autograder.lesson01 --graph` 会用**你自己**实现的 Sigmoid 构造一个表达式，
# 并画出它在 `backward()` 前后的计算图（保存在 `lesson01_graph.html`）。
