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

# %%
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import numpy as np

import minigrad as mg
from minigrad import autograd
from minigrad.ops import elementwise
from minigrad.tensor import Function

mg.manual_seed(0)            # reproducible outputs
mg.set_backend("numpy")      # the readable NumPy reference kernels (minigrad/backends/numpy_ref.py)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Tensors (张量)
#
# A `mg.Tensor` wraps a NumPy array (`.data`). Python floats become `float32`, the default;
# a NumPy array keeps its dtype. A tensor created with `requires_grad=True` is a **leaf** (叶子节点):
# it has no node of its own and will receive a `.grad`.

# %%
x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
W = mg.randn(2, 3)
print(x, x.dtype, x.shape, x.is_leaf)
print(type(x.data), W.shape)

# %% [markdown]
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

# %%
x = mg.tensor([0.5, 1.0, 2.0], requires_grad=True)
y = (x * x).sin().sum()          # the sum makes y a scalar; ∂y/∂xᵢ is unchanged by it
y.backward()
print("autograd:", x.grad.numpy())
print("by hand: ", 2 * x.data * np.cos(x.data ** 2))

# %% [markdown]
# ## 3. The graph (计算图)
#
# Every op applied to a tensor that requires grad leaves a **node** (an instance of
# `minigrad.tensor.Function`) in `t._node`; the node remembers its inputs in `node.inputs`.
# Walking from the output to the leaves shows the whole computation:

# %%
def show_graph(t, indent=0, name="y"):
    """Print the graph below tensor t: one line per node, leaves marked."""
    pad = "    " * indent
    if t._node is None:
        kind = "leaf, requires_grad" if t.requires_grad else "constant"
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

# %% [markdown]
# The same graph, drawn: `mg.viz.graph(t)` shows one box per tensor (its name, shape and dtype, its
# values when it has at most four) and one oval per op, with **#k**, the order in which
# `backward()` will run the ops (#1 first: the op that made the loss). The leaves that require grad
# are blue, constants grey, the output green; data flows down the page, and `backward()` walks it
# back up. (The layout is computed by minigrad itself, `minigrad/viz/layout.py`: no Graphviz needed.)

# %%
g = mg.viz.graph(loss, names={"a": a, "b": b, "loss": loss})
g

# %% [markdown]
# `backward()` visits these nodes in reverse topological order (拓扑排序: every consumer before
# the node that produced its input; `a` is used twice, so its two gradients are summed before
# they go further). At each node it calls `node.backward(grad)`, which returns the
# vector-Jacobian product $\frac{\partial L}{\partial \text{input}} = \frac{\partial L}{\partial \text{out}} \cdot \frac{\partial\, \text{out}}{\partial\, \text{input}}$.
# Here is minigrad's own rule for multiplication, $\partial(ab)/\partial a = b$ and
# $\partial(ab)/\partial b = a$:

# %%
print(inspect.getsource(elementwise.Mul))
order = autograd.topological_order([loss._node])
print("backward visits:", " → ".join(n.name for n in order))

# %%
loss.backward()
t = np.tanh(a.data * b.data)
print("a.grad", a.grad.numpy(), " by hand:", (1 - t ** 2) * b.data + 1)
print("b.grad", b.grad.numpy(), " by hand:", (1 - t ** 2) * a.data)

# %% [markdown]
# The graph again, after `backward()`: the leaves now show their `.grad` (in red), the numbers just
# printed. `backward()` freed the graph as it went (each node drops its inputs, so a second
# `backward()` raises); the view captured the graph when it was made and reads the gradients when it
# is shown. Only leaves keep a `.grad`: the gradients of intermediate results are used and dropped,
# as in PyTorch (`mg.grad(loss, [t])` returns one when you want it). Try it on your own expression:
# `mg.viz.graph(expr)` before and after `expr.backward()`; `.save("graph.svg")` or `"graph.html"`
# writes it to a file.

# %%
g

# %% [markdown]
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

# %%
f, x0, exact = np.sin, 1.0, np.cos(1.0)
eps = np.logspace(-12, -1, 45)
central = np.abs((f(x0 + eps) - f(x0 - eps)) / (2 * eps) - exact)
forward = np.abs((f(x0 + eps) - f(x0)) / eps - exact)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(eps, forward, label="one-sided  (f(x+ε) − f(x)) / ε")
ax.loglog(eps, central, label="central  (f(x+ε) − f(x−ε)) / 2ε")
ax.set_xlabel("ε"); ax.set_ylabel("|error|"); ax.set_title("Finite differences in float64")
ax.legend(); plt.tight_layout(); plt.show()
print(f"best central error {central.min():.1e} at ε ≈ {eps[central.argmin()]:.0e}; "
      f"best one-sided {forward.min():.1e}")

# %% [markdown]
# `mg.gradcheck(fn, inputs)` does this for every entry of every input that requires grad, and
# compares the whole numerical Jacobian with the one backward computes (see `minigrad/gradcheck.py`).
# It passes for minigrad's ops, and catches a wrong rule. Below, a deliberately broken
# `Function` subclass claims $\frac{d}{dx}x^3 = 3x$ instead of $3x^2$:

# %%
x = mg.randn(3, 4, dtype="float64", requires_grad=True)
print("tanh∘softmax passes:", mg.gradcheck(lambda t: t.tanh().softmax(-1), [x]))


class BadCube(Function):
    name = "bad_cube"

    def forward(self, a):
        return a ** 3

    def backward(self, g):
        return g * self.inputs[0] * 3.0               # wrong: should be 3·x²


try:
    mg.gradcheck(lambda t: BadCube.apply(t), [x])
except mg.GradcheckError as e:
    print("BadCube fails:", str(e)[:150], "...")

# %% [markdown]
# ## 5. Second derivatives (二阶导数) and a Hessian-vector product
#
# minigrad writes every backward rule with Tensor ops, so a gradient can itself be part of a
# graph. `mg.grad(y, x, create_graph=True)` returns $\partial y/\partial x$ *with* its graph, and
# differentiating it again gives the second derivative. For $y = \sum x^3$:
# $\partial y/\partial x = 3x^2$ and $\partial^2 y/\partial x^2 = 6x$.

# %%
x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
(g,) = mg.grad((x ** 3).sum(), x, create_graph=True)   # 3x²
(h,) = mg.grad(g.sum(), x)                             # 6x
print("dy/dx  =", g.numpy(), "\nd²y/dx² =", h.numpy())

# %% [markdown]
# For a function of many variables the second derivative is the Hessian matrix
# $H_{ij} = \partial^2 f / \partial x_i \partial x_j$, too big to build for a network. But its
# product with a vector needs only two backward passes, because $H$ is symmetric:
#
# $$H v = \nabla_x\big(\nabla_x f(x) \cdot v\big).$$
#
# We check it against the full Hessian, built column by column ($H e_j$) for a small $f$:

# %%
def f(x):
    return (x.tanh() * x).sum() + (x * x).sum() ** 2


x = mg.randn(4, dtype="float64", requires_grad=True)
v = mg.randn(4, dtype="float64")


def hvp(f, x, v):
    (g,) = mg.grad(f(x), x, create_graph=True)
    (hv,) = mg.grad((g * v).sum(), x)
    return hv


H = np.stack([hvp(f, x, mg.tensor(np.eye(4)[j])).numpy() for j in range(4)], axis=1)
print("H symmetric:", np.allclose(H, H.T))
print("Hv (double backward):", hvp(f, x, v).numpy())
print("H @ v (full matrix): ", H @ v.numpy())
print("gradgradcheck:", mg.gradgradcheck(f, [x]))

# %% [markdown]
# ## 6. Broadcasting's gradient (广播)
#
# `x + y` with `x` of shape (3, 1) and `y` of shape (1, 4) gives (3, 4): each entry of `x` was
# *copied* along the columns. Its gradient is therefore the **sum** over the copies:
#
# $$\frac{\partial L}{\partial x_{i}} = \sum_{j} \frac{\partial L}{\partial z_{ij}}, \qquad z_{ij} = x_i + y_j.$$
#
# minigrad does this in one place, the engine (`autograd.sum_to_shape`), for every op.

# %%
x = mg.randn(3, 1, requires_grad=True)
y = mg.randn(1, 4, requires_grad=True)
w = mg.randn(3, 4)
((x + y) * w).sum().backward()
print("x.grad", x.grad.shape, x.grad.numpy().ravel(), " = rows of w summed:", w.numpy().sum(1))
print("y.grad", y.grad.shape, y.grad.numpy().ravel(), " = columns of w summed:", w.numpy().sum(0))
print("sum_to_shape:", autograd.sum_to_shape(w, (3, 1)).numpy().ravel())

# %% [markdown]
# ## 7. Gradients accumulate (梯度累积); `zero_grad`
#
# As in PyTorch, `backward()` **adds** into `.grad`. That is what makes a tensor used in two
# places correct (its gradients add up), and what allows gradient accumulation over several
# mini-batches — but a training loop must clear the gradients before each step.

# %%
w = mg.tensor([1.0, 2.0], requires_grad=True)
for step in range(3):
    (w * w).sum().backward()
    print(f"after backward #{step + 1}: w.grad = {w.grad.numpy()}")
w.zero_grad()          # or: w.grad = None;  model.zero_grad();  optimizer.zero_grad()
(w * w).sum().backward()
print("after zero_grad and one more backward:", w.grad.numpy())

# %% [markdown]
# ## 8. Finding a NaN: `detect_anomaly`
#
# A NaN in the loss spreads everywhere and hides where it started. Inside
# `with mg.detect_anomaly():` every op checks its output (and every backward its gradient) and
# raises at the first NaN, naming the op and the line of your code that created it.

# %%
x = mg.tensor([4.0, 1.0, 0.5], requires_grad=True)
try:
    with mg.detect_anomaly():
        y = (x - 2.0).sqrt()          # √ of a negative number → NaN
        loss = y.sum()
except FloatingPointError as e:
    print(str(e).splitlines()[0])
    print("  ... at:", str(e).split(": ")[-1])

# %% [markdown]
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
