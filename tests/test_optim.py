"""Optimizers, schedules and clipping (minigrad/optim/).

Without torch: hand-computed steps, convergence on a convex problem, exact resumption from
state_dict, clear errors.  With torch (marked `interop`): 100 steps on a small MLP from the
same float64 start leave the same parameters as torch.optim, within 1e-5.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.optim as optim
from minigrad.optim import SGD, Adam, AdamW, clip_grad_norm_, clip_grad_value_
from minigrad.optim.lr_scheduler import LambdaLR, StepLR, WarmupCosine


def leaf(values):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def set_grad(p, g):
    p.grad = mg.tensor(np.asarray(g, dtype=p.dtype))


# ----------------------------------------------------------------------------------------
# One step, by hand
# ----------------------------------------------------------------------------------------
def test_sgd_plain_step():
    p = leaf([1.0, -2.0])
    set_grad(p, [2.0, 4.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.8, -2.4])


def test_sgd_momentum_weight_decay_and_nesterov_by_hand():
    p = leaf([1.0])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    set_grad(p, [2.0]); opt.step()          # g = 2 + 0.5*1 = 2.5, b = 2.5, p = 1 - 0.25
    np.testing.assert_allclose(p.data, [0.75])
    set_grad(p, [2.0]); opt.step()          # g = 2.375, b = 0.9*2.5 + 2.375 = 4.625
    np.testing.assert_allclose(p.data, [0.75 - 0.4625])

    q = leaf([1.0])
    opt = SGD([q], lr=0.1, momentum=0.5, nesterov=True)
    set_grad(q, [2.0]); opt.step()          # b = 2, g = 2 + 0.5*2 = 3
    np.testing.assert_allclose(q.data, [0.7])


def test_adam_first_step_moves_by_lr_in_the_sign_of_the_gradient():
    p = leaf([1.0, 1.0, 1.0])
    set_grad(p, [1e-3, -5.0, 100.0])
    Adam([p], lr=0.01).step()               # m_hat / sqrt(v_hat) = sign(g) at t = 1
    np.testing.assert_allclose(p.data, [0.99, 1.01, 0.99], rtol=1e-6)


def test_adamw_decay_is_decoupled_from_the_gradient():
    p = leaf([2.0])
    set_grad(p, [0.0])                      # no gradient signal: only the decay acts
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.1 * 0.5)])
    q = leaf([2.0])
    set_grad(q, [0.0])                      # Adam: decay enters g and is normalised away
    Adam([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(q.data, [1.9], rtol=1e-6)
    assert AdamW([leaf([1.0])]).defaults["weight_decay"] == 0.01


def test_amsgrad_keeps_the_max_of_v():
    p = leaf([0.0])
    opt = Adam([p], lr=0.1, amsgrad=True)
    for g in (10.0, 0.1):
        set_grad(p, [g]); opt.step()
    st = opt.state[p]
    assert st["max_exp_avg_sq"][0] > st["exp_avg_sq"][0]


def test_params_without_grad_are_skipped_and_get_no_state():
    a, b = leaf([1.0]), leaf([1.0])
    set_grad(a, [1.0])
    opt = Adam([a, b], lr=0.1, weight_decay=0.1)
    opt.step()
    assert b.data[0] == 1.0 and b not in opt.state and a.data[0] < 1.0


def test_float32_params_stay_float32():
    p = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    for opt in (SGD([p], lr=0.1, momentum=0.9), AdamW([p], lr=0.1)):
        set_grad(p, np.ones(3)); opt.step()
        assert p.dtype == np.float32


def test_zero_grad():
    p = leaf([1.0, 2.0])
    opt = SGD([p], lr=0.1)
    set_grad(p, [1.0, 1.0]); opt.zero_grad()
    assert p.grad is None
    set_grad(p, [1.0, 1.0]); opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])


def test_param_groups_have_their_own_options():
    a, b = leaf([1.0]), leaf([1.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    set_grad(a, [1.0]); set_grad(b, [1.0]); opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    assert opt.param_groups[1]["momentum"] == 0.0      # filled from the defaults
    c = leaf([1.0])
    opt.add_param_group({"params": [c], "lr": 1.0})
    set_grad(c, [1.0]); opt.step()
    assert c.data[0] == 0.0


def test_step_with_closure_returns_the_loss():
    p = leaf([3.0])
    opt = SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and p.data[0] == pytest.approx(3.0 - 0.6)


# ----------------------------------------------------------------------------------------
# Convergence on a convex least-squares problem
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.1),
    lambda ps: SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, lr=0.05),
    lambda ps: AdamW(ps, lr=0.05, weight_decay=0.0),
], ids=["sgd", "momentum", "nesterov", "adam", "adamw"])
def test_converges_on_least_squares(make, rng):
    A = rng.normal(size=(20, 3))
    x_true = np.array([1.0, -2.0, 0.5])
    y = A @ x_true
    x = leaf(np.zeros(3))
    opt = make([x])
    sched = WarmupCosine(opt, warmup_steps=10, total_steps=300, min_lr=opt.defaults["lr"] * 0.1)
    At, yt = mg.tensor(A), mg.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        loss = ((At @ x - yt) ** 2).mean()
        loss.backward()
        opt.step()
        sched.step()
    np.testing.assert_allclose(x.data, x_true, atol=1e-3)


# ----------------------------------------------------------------------------------------
# state_dict: exact resumption
# ----------------------------------------------------------------------------------------
def _quadratic_grads(params, t):
    for i, p in enumerate(params):
        set_grad(p, np.sin(p.data * (i + 1) + t) + 0.3 * p.data)


@pytest.mark.parametrize("make", [
    lambda ps: SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}], lr=0.1, momentum=0.9,
                   nesterov=True, weight_decay=1e-3),
    lambda ps: Adam(ps, lr=0.05, amsgrad=True, weight_decay=0.01),
    lambda ps: AdamW(ps, lr=0.05, betas=(0.8, 0.99)),
], ids=["sgd", "adam-amsgrad", "adamw"])
def test_state_dict_round_trip_gives_identical_continued_training(make):
    def fresh():
        return [leaf(np.linspace(-1, 1, 4).reshape(2, 2)), leaf([0.5, -0.25, 2.0])]

    params = fresh()
    opt = make(params)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    for t in range(5):
        _quadratic_grads(params, t); opt.step(); sched.step()
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    saved_params = [p.data.copy() for p in params]

    for t in range(5, 10):                           # carry on with the original ...
        _quadratic_grads(params, t); opt.step(); sched.step()

    params2 = fresh()                                # ... and with a resumed copy
    for p, d in zip(params2, saved_params):
        p.data[...] = d
    opt2 = make(params2)
    sched2 = StepLR(opt2, step_size=3, gamma=0.5)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    for t in range(5, 10):
        _quadratic_grads(params2, t); opt2.step(); sched2.step()

    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.data, q.data)
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_state_dict_is_plain_data_and_a_copy():
    p = leaf([1.0, 2.0])
    opt = Adam([p], lr=0.1)
    set_grad(p, [1.0, 1.0]); opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0]
    assert sd["param_groups"][0]["betas"] == [0.9, 0.999]
    st = sd["state"][0]
    assert st["step"] == 1 and isinstance(st["exp_avg"], np.ndarray)
    set_grad(p, [1.0, 1.0]); opt.step()
    assert sd["state"][0]["step"] == 1 and not np.shares_memory(st["exp_avg"], opt.state[p]["exp_avg"])


def test_load_state_dict_accepts_string_keys_after_json():
    p, q = leaf([1.0]), leaf([1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    set_grad(p, [1.0]); opt.step()
    sd = opt.state_dict()
    sd = {"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]}
    opt2 = SGD([q], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    np.testing.assert_array_equal(opt2.state[q]["momentum_buffer"], [1.0])


def test_load_state_dict_mismatch_is_refused():
    a, b = leaf([1.0]), leaf([1.0])
    sd = SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        SGD([leaf([1.0])], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter group"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


# ----------------------------------------------------------------------------------------
# Bad input: clear errors
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [SGD, Adam, AdamW])
def test_negative_lr_is_refused(cls):
    with pytest.raises(ValueError, match="lr=-0.1"):
        cls([leaf([1.0])], lr=-0.1)
    with pytest.raises(ValueError, match="lr=-1"):
        cls([{"params": [leaf([1.0])], "lr": -1}], lr=0.1)


def test_bad_params_are_refused():
    with pytest.raises(TypeError, match="dtype int64"):
        SGD([mg.tensor([1, 2])], lr=0.1)
    with pytest.raises(TypeError, match="ndarray"):
        SGD([np.ones(3)], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD(iter(()), lr=0.1)
    with pytest.raises(TypeError, match="wrap it in a list"):
        SGD(leaf([1.0]), lr=0.1)
    p = leaf([1.0])
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="unknown option"):
        SGD([{"params": [p], "momentun": 0.9}], lr=0.1)


def test_bad_hyperparameters_are_refused():
    p = leaf([1.0])
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="eps"):
        Adam([p], eps=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW([p], weight_decay=-0.1)
    opt = SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="total_steps"):
        WarmupCosine(opt, warmup_steps=10, total_steps=10)
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR("not an optimizer", step_size=1)


# ----------------------------------------------------------------------------------------
# Schedules
# ----------------------------------------------------------------------------------------
def _lrs(sched, n):
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr_and_lambda_lr():
    opt = SGD([leaf([1.0])], lr=1.0)
    np.testing.assert_allclose(_lrs(StepLR(opt, step_size=2, gamma=0.5), 5),
                               [1, 1, 0.5, 0.5, 0.25, 0.25])
    opt = SGD([leaf([1.0])], lr=2.0)
    sched = LambdaLR(opt, lambda t: 1 / (t + 1))
    np.testing.assert_allclose(_lrs(sched, 3), [2, 1, 2 / 3, 0.5])
    assert opt.param_groups[0]["lr"] == 0.5


def test_warmup_cosine_formula():
    opt = SGD([leaf([1.0])], lr=1.0)
    lrs = _lrs(WarmupCosine(opt, warmup_steps=4, total_steps=14, min_lr=0.1), 20)
    np.testing.assert_allclose(lrs[:5], [0, 0.25, 0.5, 0.75, 1.0])          # linear warm-up
    assert lrs[9] == pytest.approx(0.1 + 0.9 * 0.5)                         # halfway: midpoint
    assert lrs[14] == pytest.approx(0.1) and lrs[20] == pytest.approx(0.1)  # then min_lr
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))                    # decreasing


def test_warmup_inverse_sqrt_formula():
    from minigrad.optim.lr_scheduler import WarmupInverseSqrt
    opt = SGD([leaf([1.0])], lr=2.0)
    sched = WarmupInverseSqrt(opt, warmup_steps=4)
    lrs = _lrs(sched, 15)
    np.testing.assert_allclose(lrs[:4], [0.5, 1.0, 1.5, 2.0])               # n/4 · 2, n = t + 1
    assert lrs[15] == pytest.approx(2.0 * (4 / 16) ** 0.5)                   # n = 16: half the peak
    assert all(a > b for a, b in zip(lrs[3:], lrs[4:]))                     # then always falling
    d_model, n = 128, np.arange(1, 17)                                      # the paper's formula, scaled
    paper = d_model ** -0.5 * np.minimum(n ** -0.5, n * 4 ** -1.5)
    np.testing.assert_allclose(lrs, 2.0 * paper / paper[3], rtol=1e-12)
    resumed = WarmupInverseSqrt(SGD([leaf([1.0])], lr=2.0), warmup_steps=4)
    resumed.load_state_dict(sched.state_dict())
    resumed.step()
    sched.step()
    assert resumed.get_last_lr() == sched.get_last_lr()
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupInverseSqrt(opt, warmup_steps=0)


def test_schedule_per_group_base_lrs():
    a, b = leaf([1.0]), leaf([1.0])
    opt = AdamW([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    sched.step()
    np.testing.assert_allclose(sched.get_last_lr(), [0.1, 0.01])
    assert [g["initial_lr"] for g in opt.param_groups] == [1.0, 0.1]


# ----------------------------------------------------------------------------------------
# Clipping
# ----------------------------------------------------------------------------------------
def test_clip_grad_norm_scales_all_grads_together():
    a, b = leaf([0.0, 0.0]), leaf([0.0])
    set_grad(a, [3.0, 0.0]); set_grad(b, [4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(np.r_[a.grad.data, b.grad.data], [0.6, 0.0, 0.8], rtol=1e-5)
    total = clip_grad_norm_([a, b], max_norm=2.0)                 # below the max: unchanged
    assert total.item() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(np.r_[a.grad.data, b.grad.data], [0.6, 0.0, 0.8], rtol=1e-5)
    set_grad(a, [3.0, -7.0])
    assert clip_grad_norm_(a, 100.0, norm_type=math.inf).item() == 7.0
    assert clip_grad_norm_([leaf([1.0])], 1.0).item() == 0.0      # no grads at all


def test_clip_does_not_scale_a_shared_gradient_twice():
    a, b = leaf([3.0]), leaf([4.0])
    (a + b).sum().backward()                 # the engine may give a and b one grad Tensor
    clip_grad_norm_([a, b], max_norm=1.0)
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [2 ** -0.5] * 2, rtol=1e-5)


def test_clip_grad_value_and_nonfinite():
    p = leaf([0.0, 0.0, 0.0])
    set_grad(p, [-3.0, 0.5, 9.0])
    clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.data, [-1.0, 0.5, 1.0])
    set_grad(p, [np.nan, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="nan"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


# ----------------------------------------------------------------------------------------
# Parity with torch.optim (float64, 100 steps, small MLP)
# ----------------------------------------------------------------------------------------
STEPS = 100


def _problem():
    rng = np.random.default_rng(42)
    X, Y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    init = [rng.normal(size=(4, 8)) * 0.5, rng.normal(size=8) * 0.1,
            rng.normal(size=(8, 2)) * 0.5, rng.normal(size=2) * 0.1]
    return X, Y, init


def _run_minigrad(make_opt, make_sched=None, clip=None, groups=False):
    X, Y, init = _problem()
    X, Y = mg.tensor(X), mg.tensor(Y)
    params = [mg.tensor(a.copy(), requires_grad=True) for a in init]
    opt = make_opt([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}] if groups else params)
    sched = make_sched(opt) if make_sched else None
    norms, lrs = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        W1, b1, W2, b2 = params
        loss = (((X @ W1 + b1).tanh() @ W2 + b2 - Y) ** 2).mean()
        loss.backward()
        if clip is not None:
            norms.append(clip_grad_norm_(params, clip).item())
        opt.step()
        if sched:
            lrs.append(sched.get_last_lr())
            sched.step()
    return [p.data for p in params], norms, lrs


def _run_torch(torch, make_opt, make_sched=None, clip=None, groups=False):
    X, Y, init = _problem()
    X, Y = torch.tensor(X), torch.tensor(Y)
    params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = make_opt([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}] if groups else params)
    sched = make_sched(opt) if make_sched else None
    norms, lrs = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        W1, b1, W2, b2 = params
        loss = ((torch.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2).mean()
        loss.backward()
        if clip is not None:
            norms.append(torch.nn.utils.clip_grad_norm_(params, clip).item())
        opt.step()
        if sched:
            lrs.append(sched.get_last_lr())
            sched.step()
    return [p.detach().numpy() for p in params], norms, lrs


OPTIMIZER_CASES = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd-momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd-dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd-nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd-weight-decay": ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam-l2": ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    "adam-amsgrad": ("Adam", dict(lr=0.01, amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw-wd": ("AdamW", dict(lr=0.01, weight_decay=0.3, eps=1e-6)),
}


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.interop
@pytest.mark.parametrize("case", list(OPTIMIZER_CASES))
def test_optimizer_matches_torch(case):
    torch = pytest.importorskip("torch")
    name, kw = OPTIMIZER_CASES[case]
    ours, _, _ = _run_minigrad(lambda ps: getattr(optim, name)(ps, **kw))
    theirs, _, _ = _run_torch(torch, lambda ps: getattr(torch.optim, name)(ps, **kw))
    _assert_same(ours, theirs)
    assert not np.allclose(ours[0], _problem()[2][0], atol=1e-3)   # training did move them


@pytest.mark.interop
@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_param_groups_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, _, _ = _run_minigrad(lambda ps: getattr(optim, name)(ps, lr=0.05), groups=True)
    theirs, _, _ = _run_torch(torch, lambda ps: getattr(torch.optim, name)(ps, lr=0.05), groups=True)
    _assert_same(ours, theirs)


def _warmup_cosine_lambda(base_lr, warmup, total, min_lr):
    def factor(t):     # the WarmupCosine docstring formula, as a multiplier of base_lr
        if t < warmup:
            return t / warmup
        s = min(1.0, (t - warmup) / (total - warmup))
        return (min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * s))) / base_lr
    return factor


SCHEDULE_CASES = {
    "steplr-sgd": ("SGD", dict(lr=0.1, momentum=0.9),
                   lambda m, o: m.StepLR(o, step_size=30, gamma=0.5), None),
    "lambdalr-adam": ("Adam", dict(lr=0.02),
                      lambda m, o: m.LambdaLR(o, lambda t: 1.0 / (1.0 + 0.05 * t)), None),
    "warmupcosine-adamw": ("AdamW", dict(lr=0.02, weight_decay=0.1),
                           lambda m, o: m.WarmupCosine(o, 10, 80, min_lr=0.002),
                           lambda m, o: m.LambdaLR(o, _warmup_cosine_lambda(0.02, 10, 80, 0.002))),
}


@pytest.mark.interop
@pytest.mark.parametrize("case", list(SCHEDULE_CASES))
def test_schedules_match_torch(case):
    torch = pytest.importorskip("torch")
    from minigrad.optim import lr_scheduler as ours_sched

    name, kw, make_ours, make_theirs = SCHEDULE_CASES[case]
    make_theirs = make_theirs or make_ours
    ours, _, lrs = _run_minigrad(lambda ps: getattr(optim, name)(ps, **kw),
                                 lambda o: make_ours(ours_sched, o))
    theirs, _, tlrs = _run_torch(torch, lambda ps: getattr(torch.optim, name)(ps, **kw),
                                 lambda o: make_theirs(torch.optim.lr_scheduler, o))
    np.testing.assert_allclose(lrs, tlrs, rtol=1e-12, atol=1e-15)
    _assert_same(ours, theirs)


@pytest.mark.interop
def test_clip_grad_norm_training_matches_torch():
    torch = pytest.importorskip("torch")
    ours, norms, _ = _run_minigrad(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), clip=0.3)
    theirs, tnorms, _ = _run_torch(torch, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
                                   clip=0.3)
    np.testing.assert_allclose(norms, tnorms, rtol=1e-6)
    assert max(norms) > 0.3                                        # clipping was active
    _assert_same(ours, theirs)


@pytest.mark.interop
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_torch(norm_type, rng):
    torch = pytest.importorskip("torch")
    grads = [rng.normal(size=s) for s in [(3, 4), (5,), (2, 2, 2)]]
    ours = [leaf(np.zeros_like(g)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        set_grad(p, g)
        t.grad = torch.tensor(g)
    total = clip_grad_norm_(ours, 1.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-10)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opt_name,wd", [("Adam", 0.0), ("Adam", 0.1), ("AdamW", 0.1), ("AdamW", 0.0)])
def test_fused_adam_kernel_gives_the_same_numbers_as_the_numpy_code(dtype, opt_name, wd):
    """The numba backend's one-pass update (backends/numba_fused.py) against the readable
    NumPy lines of Adam._update (the numpy backend has no kernel): identical to the last bit
    up to one rounding per step."""
    from minigrad import backends
    if not backends.usable("numba"):
        pytest.skip("numba not installed")
    rng = np.random.default_rng(0)
    init = rng.standard_normal((50, 33)).astype(dtype)
    grads = [rng.standard_normal(init.shape).astype(dtype) for _ in range(20)]
    results = {}
    for be in ("numpy", "numba"):
        p = mg.tensor(init.copy(), requires_grad=True)
        opt = getattr(mg.optim, opt_name)([p], lr=1e-2, weight_decay=wd)
        with mg.backend(be):
            for g in grads:
                p.grad = mg.tensor(g)
                opt.step()
        results[be] = (p.data, opt.state[p]["exp_avg"], opt.state[p]["exp_avg_sq"])
    for a, b in zip(results["numpy"], results["numba"]):
        np.testing.assert_allclose(a, b, rtol=4 * np.finfo(dtype).eps, atol=0)
