"""wengert's optimizers take torch.optim's steps: same hyper-parameters, same gradients, same path.

float64 throughout, several variables of different shapes, random gradients fed
identically to both; the weights are compared after every step.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import optimizers
from wengert.optimizers import schedules

SHAPES = [(3, 4), (5,), (), (2, 3, 2)]
STEPS = 8
TOL = dict(rtol=1e-12, atol=1e-12)


def _run_both(make_wg, make_torch, make_sched=None, clip=None, scale=1.0, steps=STEPS, seed=0):
    """Run both optimizers over the same gradients; compare the weights after each step."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[scale * rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    wvars = [wg.Variable(a, name=f"w{i}") for i, a in enumerate(init)]
    params = [torch.tensor(a, requires_grad=True) for a in init]
    opt, topt = make_wg(), make_torch(params)
    sched = make_sched(topt) if make_sched else None
    for t, gs in enumerate(grads):
        opt.apply_gradients(zip([wg.constant(g) for g in gs], wvars))
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g)
        if clip is not None:
            clip(params)
        topt.step()
        if sched is not None:
            sched.step()
        for v, p in zip(wvars, params):
            assert v.dtype == np.float64
            np.testing.assert_allclose(
                v.numpy(), p.detach().numpy(), **TOL, err_msg=f"step {t}, {v.name}"
            )
    assert opt.iterations == steps
    return opt, wvars


# (wengert kwargs, torch kwargs) per optimizer: each option on and off.
SGD_CASES = [
    ({"learning_rate": 0.1}, {"lr": 0.1}),
    ({"learning_rate": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.9}),
    (
        {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
    ),
    ({"learning_rate": 0.05, "weight_decay": 0.1}, {"lr": 0.05, "weight_decay": 0.1}),
    (
        {"learning_rate": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01},
        {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01},
    ),
]
ADAGRAD_CASES = [
    (
        {"learning_rate": 0.1},  # Keras's defaults: accumulator 0.1, epsilon 1e-7
        {"lr": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-7},
    ),
    (
        {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 1e-10},
        {"lr": 0.1, "initial_accumulator_value": 0.0, "eps": 1e-10},
    ),
    (
        {"learning_rate": 0.2, "initial_accumulator_value": 0.5, "weight_decay": 0.1},
        {"lr": 0.2, "initial_accumulator_value": 0.5, "eps": 1e-7, "weight_decay": 0.1},
    ),
]
RMSPROP_CASES = [
    ({"learning_rate": 0.01}, {"lr": 0.01, "alpha": 0.9, "eps": 1e-7}),
    (
        {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.9},
        {"lr": 0.01, "alpha": 0.8, "eps": 1e-7, "momentum": 0.9},
    ),
    (
        {"learning_rate": 0.01, "centered": True},
        {"lr": 0.01, "alpha": 0.9, "eps": 1e-7, "centered": True},
    ),
    (
        {
            "learning_rate": 0.01,
            "rho": 0.95,
            "momentum": 0.5,
            "centered": True,
            "epsilon": 1e-8,
            "weight_decay": 0.1,
        },
        {
            "lr": 0.01,
            "alpha": 0.95,
            "eps": 1e-8,
            "momentum": 0.5,
            "centered": True,
            "weight_decay": 0.1,
        },
    ),
]
ADAM_CASES = [
    ({"learning_rate": 0.01}, {"lr": 0.01, "eps": 1e-7}),
    ({"learning_rate": 0.01, "amsgrad": True}, {"lr": 0.01, "eps": 1e-7, "amsgrad": True}),
    ({"learning_rate": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "eps": 1e-7, "weight_decay": 0.1}),
    (
        {
            "learning_rate": 0.02,
            "beta_1": 0.8,
            "beta_2": 0.99,
            "epsilon": 1e-8,
            "amsgrad": True,
            "weight_decay": 0.05,
        },
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-8, "amsgrad": True, "weight_decay": 0.05},
    ),
]
ADAMW_CASES = [
    ({"learning_rate": 0.01}, {"lr": 0.01, "eps": 1e-7, "weight_decay": 0.004}),
    (
        {"learning_rate": 0.01, "weight_decay": 0.0},
        {"lr": 0.01, "eps": 1e-7, "weight_decay": 0.0},
    ),
    (
        {"learning_rate": 0.05, "weight_decay": 0.3, "amsgrad": True, "beta_2": 0.9},
        {"lr": 0.05, "eps": 1e-7, "weight_decay": 0.3, "amsgrad": True, "betas": (0.9, 0.9)},
    ),
]

CASES = (
    [("SGD", "SGD", *c) for c in SGD_CASES]
    + [("Adagrad", "Adagrad", *c) for c in ADAGRAD_CASES]
    + [("RMSprop", "RMSprop", *c) for c in RMSPROP_CASES]
    + [("Adam", "Adam", *c) for c in ADAM_CASES]
    + [("AdamW", "AdamW", *c) for c in ADAMW_CASES]
)


def _case_id(case):
    name, _, kw, _ = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_torch_step_for_step(case):
    torch = pytest.importorskip("torch")
    name, tname, kw, tkw = case
    _run_both(
        lambda: getattr(optimizers, name)(**kw),
        lambda ps: getattr(torch.optim, tname)(ps, **tkw),
    )


def test_keras_defaults_are_kept():
    # Keras's defaults, which differ from torch's where noted in the docstrings.
    assert optimizers.SGD().learning_rate == 0.01
    adagrad = optimizers.Adagrad()
    assert (adagrad.learning_rate, adagrad.initial_accumulator_value, adagrad.epsilon) == (
        0.001,
        0.1,
        1e-7,
    )
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (
        0.001,
        0.9,
        0.0,
        1e-7,
        False,
    )
    adam = optimizers.Adam()
    assert (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (0.9, 0.999, 1e-7, False)
    assert optimizers.AdamW().weight_decay == 0.004


# -- schedules: torch's scheduler stepped once after each optimizer.step() -----------
SCHEDULE_CASES = [
    (
        "SGD-momentum-StepDecay",
        lambda: optimizers.SGD(schedules.StepDecay(0.1, step_size=3, gamma=0.5), momentum=0.9),
        lambda torch, ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda torch, o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    ),
    (
        "SGD-nesterov-Cosine",
        lambda: optimizers.SGD(
            schedules.CosineDecay(0.1, decay_steps=10, alpha=0.1), momentum=0.9, nesterov=True
        ),
        lambda torch, ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda torch, o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    ),
    (
        "Adagrad-ExponentialDecay",
        lambda: optimizers.Adagrad(schedules.ExponentialDecay(0.1, 1, 0.8, staircase=True)),
        lambda torch, ps: torch.optim.Adagrad(ps, lr=0.1, initial_accumulator_value=0.1, eps=1e-7),
        lambda torch, o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8),
    ),
    (
        "RMSprop-momentum-centered-StepDecay",
        lambda: optimizers.RMSprop(
            schedules.StepDecay(0.01, step_size=2, gamma=0.3), momentum=0.9, centered=True
        ),
        lambda torch, ps: torch.optim.RMSprop(
            ps, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.9, centered=True
        ),
        lambda torch, o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.3),
    ),
    (
        "Adam-amsgrad-ExponentialDecay",
        lambda: optimizers.Adam(schedules.ExponentialDecay(0.05, 1, 0.7), amsgrad=True),
        lambda torch, ps: torch.optim.Adam(ps, lr=0.05, eps=1e-7, amsgrad=True),
        lambda torch, o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.7),
    ),
    (
        "AdamW-LinearWarmup",
        lambda: optimizers.AdamW(
            schedules.LinearWarmup(0.05, warmup_steps=4, initial_learning_rate=0.01),
            weight_decay=0.2,
        ),
        lambda torch, ps: torch.optim.AdamW(ps, lr=0.05, eps=1e-7, weight_decay=0.2),
        lambda torch, o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=4),
    ),
]


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=[c[0] for c in SCHEDULE_CASES])
def test_schedules_match_torch_schedulers(case):
    torch = pytest.importorskip("torch")
    _, make_wg, make_torch, make_sched = case
    _run_both(
        make_wg,
        lambda ps: make_torch(torch, ps),
        make_sched=lambda o: make_sched(torch, o),
        steps=10,
    )


# -- clipping: torch's clip utilities applied to .grad before the step -----------------
def test_clipvalue_matches_clip_grad_value():
    torch = pytest.importorskip("torch")
    _run_both(
        lambda: optimizers.SGD(0.1, momentum=0.9, clipvalue=0.5),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        clip=lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.5),
        scale=2.0,
    )


def test_clipnorm_clips_each_gradient_like_clip_grad_norm():
    torch = pytest.importorskip("torch")

    def clip_each(ps):
        for p in ps:
            torch.nn.utils.clip_grad_norm_([p], 1.5)

    _run_both(
        lambda: optimizers.SGD(0.1, momentum=0.9, clipnorm=1.5),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        clip=clip_each,
        scale=2.0,
    )


def test_global_clipnorm_matches_clip_grad_norm():
    torch = pytest.importorskip("torch")
    _run_both(
        lambda: optimizers.RMSprop(0.01, momentum=0.5, global_clipnorm=2.0),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-7, momentum=0.5),
        clip=lambda ps: torch.nn.utils.clip_grad_norm_(ps, 2.0),
        scale=3.0,
    )
    # Below the threshold nothing changes.
    _run_both(
        lambda: optimizers.SGD(0.1, global_clipnorm=1e6),
        lambda ps: torch.optim.SGD(ps, lr=0.1),
        clip=lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1e6),
    )


def test_clipvalue_then_global_clipnorm_matches_torch():
    torch = pytest.importorskip("torch")

    def clip(ps):
        torch.nn.utils.clip_grad_value_(ps, 1.0)
        torch.nn.utils.clip_grad_norm_(ps, 2.0)

    _run_both(
        lambda: optimizers.Adam(0.01, clipvalue=1.0, global_clipnorm=2.0),
        lambda ps: torch.optim.Adam(ps, lr=0.01, eps=1e-7),
        clip=clip,
        scale=3.0,
    )
