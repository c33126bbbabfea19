"""Lesson 2 exercises: training a network (§2.1 深度学习, §4.2 损失函数).

Fill in every function marked TODO (replace the `raise NotImplementedError`), then check:

    minigrad lesson check 2

The tasks are described in lessons/02_training/README.md; each docstring is the exact spec.
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
    """
    # TODO: the log-sum-exp of each row minus the picked logit, then the mean.
    raise NotImplementedError


# --- Task 2.3: the gradient of softmax + cross-entropy, by hand ------------------------------
def cross_entropy_grad(logits, targets):
    """∂loss/∂logits for the mean cross-entropy above, in NumPy, without autograd.

    logits: ndarray (N, C);  targets: int ndarray (N,).
    Returns an ndarray (N, C):   (softmax(logits) - one_hot(targets)) / N
    (softmax along the classes, computed stably).  Lesson 2's notebook derives it.
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
    """
    # TODO: a model, an optimizer, and the four-line training loop.
    raise NotImplementedError
