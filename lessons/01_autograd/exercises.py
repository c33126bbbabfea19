"""Lesson 1 exercises: tensors and autograd (§2.1 深度学习).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 1

The tasks are described in lessons/01_autograd/README.md; each docstring is the exact spec.

把每个标有 TODO 的函数补全（替换掉 `raise NotImplementedError`），然后检查：

    minigrad lesson check 1 --lang zh

题目说明见 lessons/01_autograd/README.zh.md；每个文档字符串（先英文，后中文）就是精确的规格说明。
"""
import numpy as np

import minigrad as mg
from minigrad.tensor import Function


# --- Task 1.1: the numerical gradient by central differences --------------------------------
def numerical_gradient(f, x, eps=1e-6):
    """The gradient of a scalar function f at x, by central differences.

    f:   a function of one float64 ndarray (of x's shape) that returns a float.
    x:   a float64 ndarray of any shape.  Leave it as you found it: restore every entry you
         perturb (or work on a copy).
    eps: the step ε.
    Returns an ndarray of x's shape whose entry i is

        ∂f/∂xᵢ ≈ (f(x + ε·eᵢ) - f(x - ε·eᵢ)) / (2ε)

    (eᵢ is the unit vector of entry i).  The error of this formula is O(ε²); the one-sided
    (f(x + ε·eᵢ) - f(x)) / ε has error O(ε) and is not accurate enough here.

    用中心差分求标量函数 f 在 x 处的梯度。f 接受一个与 x 同形状的 float64 数组并返回一个 float；
    x 是任意形状的 float64 数组，用完要保持原样（扰动过的元素都要恢复，或在副本上操作）；eps 是步长 ε。
    返回与 x 同形状的数组，第 i 个元素为 ∂f/∂xᵢ ≈ (f(x + ε·eᵢ) - f(x - ε·eᵢ)) / (2ε)。这个公式的误差是 O(ε²)；
    单侧差分 (f(x + ε·eᵢ) - f(x)) / ε 的误差是 O(ε)，在这里不够精确。
    """
    # TODO: loop over the entries (np.ndindex(x.shape)), perturb one at a time, restore it.
    raise NotImplementedError


# --- Task 1.2: a Function subclass: the sigmoid's forward and backward ---------------------
class Sigmoid(Function):
    """σ(x) = 1 / (1 + e^(-x)) as a minigrad primitive op.  Use it as Sigmoid.apply(x).

    forward(self, a):  a is an ndarray; return σ(a) as an ndarray of a's dtype.
    backward(self, g): g is a Tensor, dL/d(output).  Return dL/d(input) = g · σ'(x) as a
                       Tensor, written with Tensor ops (not NumPy), so that it can be
                       differentiated again (second derivatives).  Use the output you
                       already computed: σ'(x) = σ(x) · (1 - σ(x)), and self.output() is
                       σ(x) as a Tensor in the graph.  Do not call Tensor.sigmoid.
    """

    name = "my_sigmoid"

    def forward(self, a):
        """σ(a) for an ndarray a (NumPy), of a's dtype.

        对 ndarray a 计算 σ(a)（用 NumPy），保持 a 的 dtype。
        """
        # TODO: σ(a) with NumPy.
        raise NotImplementedError

    def backward(self, g):
        """g · σ'(x) as a Tensor, from Tensor ops.

        用 Tensor 运算求出并返回 g · σ'(x)（一个 Tensor）。
        """
        # TODO: g · σ(x) · (1 - σ(x)) with Tensor ops (y = self.output()).
        raise NotImplementedError


# --- Task 1.3: undo broadcasting in the gradient --------------------------------------------
def sum_to_shape(grad, shape):
    """Reduce `grad` (an ndarray) to `shape` by summing over the broadcast dimensions.

    When x of shape `shape` was broadcast in a forward op (x + y with x (3, 1) and y (2, 3, 4)
    gives (2, 3, 4)), the gradient that arrives for x has the broadcast shape (2, 3, 4).
    Each element of x was used once per copy, so its gradient is the sum over the copies:
      * sum over the leading dims that broadcasting added in front (here dim 0), then
      * sum over the dims where `shape` has 1 but grad has more, keeping them (here the last).
    Returns an ndarray of exactly `shape`.  If grad already has that shape, return it.

    把 `grad`（ndarray）沿被广播的维度求和，还原为 `shape`。形状为 `shape` 的 x 在前向运算中被广播后
    （x (3, 1) 加 y (2, 3, 4) 得到 (2, 3, 4)），传给 x 的梯度是广播后的形状。x 的每个元素在每份副本中各用了一次，
    所以它的梯度是各份之和：先对广播在前面添加的维度求和，再对 `shape` 中为 1 而 grad 中更大的维度求和（保留这些维度）。
    返回形状恰好为 `shape` 的数组；若 grad 已是这个形状，直接返回。
    """
    # TODO: two sums (np.sum with axis=..., keepdims=...), then reshape to `shape`.
    raise NotImplementedError


# --- Task 1.4: a Hessian-vector product by double backward ---------------------------------
def hvp(f, x, v):
    """The Hessian-vector product H·v of a scalar function f at x, by reverse mode twice.

    f: a function of a Tensor that returns a scalar Tensor.
    x: a float64 Tensor with requires_grad=True.   v: a float64 Tensor of x's shape.
    Returns H v (a Tensor or ndarray of x's shape), H the matrix of ∂²f/∂xᵢ∂xⱼ.

    Use mg.grad (not .backward(): leave x.grad untouched):
      1. g = ∂f/∂x with create_graph=True, so g is itself part of a graph;
      2. H v = ∂(g · v)/∂x, since ∂/∂xⱼ Σᵢ gᵢ vᵢ = Σᵢ Hⱼᵢ vᵢ (H is symmetric).
    No finite differences: the result must be exact to float64 rounding.

    用两次反向模式求标量函数 f 在 x 处的黑塞矩阵-向量积 H·v。f 接受一个 Tensor 并返回标量 Tensor；
    x 是 requires_grad=True 的 float64 Tensor，v 是与 x 同形状的 float64 Tensor。用 mg.grad（不要用 .backward()，
    不要改动 x.grad）：1. 用 create_graph=True 求 g = ∂f/∂x，使 g 本身也在计算图中；2. H v = ∂(g · v)/∂x
    （因为 H 是对称矩阵）。不能用有限差分：结果必须精确到 float64 的舍入误差。
    """
    # TODO: two calls to mg.grad.
    raise NotImplementedError
