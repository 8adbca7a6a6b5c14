"""Learning-rate schedules: their closed forms, and torch's schedulers where torch has one."""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
from wengert.optimizers import schedules

STEPS = 60


def _torch_rates(make_scheduler, base_lr, steps=STEPS):
    """The learning rate torch uses at each of ``steps`` optimizer steps."""
    torch = pytest.importorskip("torch")
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_scheduler(torch, opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(rates)


def _rates(schedule, steps=STEPS):
    return np.array([schedule(t) for t in range(steps)])


# -- closed forms ------------------------------------------------------------------
def test_exponential_decay_closed_form():
    s = schedules.ExponentialDecay(0.1, decay_steps=7, decay_rate=0.6)
    st = schedules.ExponentialDecay(0.1, decay_steps=7, decay_rate=0.6, staircase=True)
    for t in range(STEPS):
        assert s(t) == pytest.approx(0.1 * 0.6 ** (t / 7), rel=1e-14)
        assert st(t) == pytest.approx(0.1 * 0.6 ** (t // 7), rel=1e-14)


def test_piecewise_constant_closed_form():
    s = schedules.PiecewiseConstantDecay([10, 20, 35], [1.0, 0.5, 0.2, 0.05])
    for t in range(STEPS):
        expected = 1.0 if t <= 10 else 0.5 if t <= 20 else 0.2 if t <= 35 else 0.05
        assert s(t) == expected


def test_step_decay_closed_form():
    s = schedules.StepDecay(0.3, step_size=4, gamma=0.7)
    for t in range(STEPS):
        assert s(t) == pytest.approx(0.3 * 0.7 ** (t // 4), rel=1e-14)


def test_cosine_decay_closed_form():
    s = schedules.CosineDecay(0.2, decay_steps=40, alpha=0.1)
    for t in range(STEPS):
        c = min(t, 40)
        expected = 0.2 * (0.9 * 0.5 * (1 + math.cos(math.pi * c / 40)) + 0.1)
        assert s(t) == pytest.approx(expected, rel=1e-14)
    assert s(40) == s(1000) == pytest.approx(0.02)


def test_cosine_decay_warmup_closed_form():
    s = schedules.CosineDecay(0.0, decay_steps=30, alpha=0.0, warmup_target=0.5, warmup_steps=10)
    for t in range(STEPS):
        if t < 10:
            expected = 0.5 * t / 10
        else:
            c = min(t - 10, 30)
            expected = 0.5 * 0.5 * (1 + math.cos(math.pi * c / 30))
        assert s(t) == pytest.approx(expected, rel=1e-14, abs=1e-16)


def test_linear_warmup_closed_form():
    s = schedules.LinearWarmup(schedules.ExponentialDecay(1.0, 5, 0.5), 8, 0.2)
    for t in range(STEPS):
        expected = 0.2 + 0.8 * t / 8 if t < 8 else 0.5 ** ((t - 8) / 5)
        assert s(t) == pytest.approx(expected, rel=1e-14)
    constant = schedules.LinearWarmup(0.4, warmup_steps=4)
    assert _rates(constant, 6).tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.4])
    assert schedules.LinearWarmup(0.4, warmup_steps=0)(0) == 0.4


def test_steps_may_be_tensors_and_rates_are_floats():
    s = schedules.StepDecay(1.0, 2, 0.5)
    assert s(wg.constant(4)) == 0.25
    assert s(np.int64(2)) == 0.5
    for sched in (
        s,
        schedules.ExponentialDecay(1, 2, 0.5),
        schedules.PiecewiseConstantDecay([1], [1, 2]),
        schedules.CosineDecay(1, 3),
        schedules.LinearWarmup(1, 2),
    ):
        assert all(type(sched(t)) is float for t in range(5))


# -- torch's schedulers ------------------------------------------------------------
TOL = dict(rtol=1e-12, atol=1e-15)


def test_step_decay_matches_step_lr():
    ours = _rates(schedules.StepDecay(0.1, step_size=7, gamma=0.5))
    theirs = _torch_rates(lambda t, o: t.optim.lr_scheduler.StepLR(o, 7, gamma=0.5), 0.1)
    np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("staircase", [True, False])
def test_exponential_decay_matches_exponential_lr(staircase):
    ours = _rates(schedules.ExponentialDecay(0.1, 1, 0.93, staircase=staircase))
    theirs = _torch_rates(lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.93), 0.1)
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_staircase_exponential_decay_matches_step_lr():
    ours = _rates(schedules.ExponentialDecay(0.1, 5, 0.8, staircase=True))
    theirs = _torch_rates(lambda t, o: t.optim.lr_scheduler.StepLR(o, 5, gamma=0.8), 0.1)
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_piecewise_constant_matches_multistep_lr_shifted_by_one():
    ours = _rates(schedules.PiecewiseConstantDecay([9, 29], [0.1, 0.01, 0.001]))
    theirs = _torch_rates(
        lambda t, o: t.optim.lr_scheduler.MultiStepLR(o, milestones=[10, 30], gamma=0.1), 0.1
    )
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_cosine_decay_matches_cosine_annealing_lr():
    ours = _rates(schedules.CosineDecay(0.1, decay_steps=50, alpha=0.05), 51)
    theirs = _torch_rates(
        lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=50, eta_min=0.005), 0.1, 51
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


def test_linear_warmup_matches_linear_lr():
    ours = _rates(schedules.LinearWarmup(0.1, warmup_steps=20, initial_learning_rate=0.025))
    theirs = _torch_rates(
        lambda t, o: t.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=20), 0.1
    )
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_cosine_warmup_matches_linear_then_cosine_annealing():
    def torch_schedule(t, o):
        warm = t.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=10)
        cos = t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.0)
        return t.optim.lr_scheduler.SequentialLR(o, [warm, cos], milestones=[10])

    ours = _rates(
        schedules.CosineDecay(0.01, decay_steps=40, warmup_target=0.1, warmup_steps=10), 51
    )
    theirs = _torch_rates(torch_schedule, 0.1, 51)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)
    wrapped = schedules.LinearWarmup(schedules.CosineDecay(0.1, 40), 10, 0.01)
    np.testing.assert_allclose(_rates(wrapped, 51), theirs, rtol=1e-10, atol=1e-15)


# -- config and errors -------------------------------------------------------------
ALL = [
    schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
    schedules.PiecewiseConstantDecay([3, 7], [0.3, 0.2, 0.1]),
    schedules.StepDecay(0.1, 3, 0.5),
    schedules.CosineDecay(0.1, 20, alpha=0.1, warmup_target=0.3, warmup_steps=4),
    schedules.LinearWarmup(schedules.StepDecay(0.1, 3), 5, 0.01),
]


@pytest.mark.parametrize("s", ALL, ids=[type(s).__name__ for s in ALL])
def test_config_round_trip(s):
    for new in (type(s).from_config(s.get_config()), schedules.deserialize(schedules.serialize(s))):
        assert type(new) is type(s)
        assert new.get_config() == s.get_config()
        assert _rates(new, 30).tolist() == _rates(s, 30).tolist()
    assert type(s).__name__ in repr(s)


def test_bad_arguments_raise_value_error():
    for make, word in [
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.ExponentialDecay(-0.1, 1, 0.5), "initial_learning_rate"),
        (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0, 2.0]), "one more"),
        (lambda: schedules.PiecewiseConstantDecay([2, 1], [1.0, 2.0, 3.0]), "increase"),
        (lambda: schedules.StepDecay(0.1, 0), "step_size"),
        (lambda: schedules.StepDecay(0.1, 2.5), "step_size"),
        (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
        (lambda: schedules.LinearWarmup(0.1, -1), "warmup_steps"),
        (lambda: schedules.deserialize({"class_name": "Nope", "config": {}}), "Nope"),
        (lambda: schedules.deserialize({"config": {}}), "class_name"),
        (lambda: schedules.StepDecay(0.1, 2)(-1), "step"),
    ]:
        with pytest.raises(ValueError, match=word):
            make()
    with pytest.raises(TypeError):
        schedules.serialize(0.1)
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)


# -- polynomial and inverse-time decay (Keras 3's closed forms) -------------------------------
def test_polynomial_decay_closed_form_with_and_without_cycle():
    s = schedules.PolynomialDecay(0.5, decay_steps=10, end_learning_rate=0.01, power=1.5)
    c = schedules.PolynomialDecay(
        0.5, decay_steps=10, end_learning_rate=0.01, power=1.5, cycle=True
    )
    for t in range(STEPS):
        p = min(t, 10) / 10
        assert s(t) == pytest.approx(0.49 * (1 - p) ** 1.5 + 0.01, rel=1e-14)
        steps = 10 * max(math.ceil(t / 10), 1)  # Keras: the next multiple, 1 at step 0
        assert c(t) == pytest.approx(0.49 * (1 - t / steps) ** 1.5 + 0.01, rel=1e-14)
    assert c(10) == pytest.approx(0.01) and c(11) > c(10)  # restarts after each period


def test_polynomial_decay_to_zero_matches_polynomial_lr():
    ours = _rates(schedules.PolynomialDecay(0.1, 40, end_learning_rate=0.0, power=2.0))
    theirs = _torch_rates(
        lambda t, o: t.optim.lr_scheduler.PolynomialLR(o, total_iters=40, power=2.0), 0.1
    )
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_inverse_time_decay_closed_form():
    s = schedules.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5)
    st = schedules.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True)
    for t in range(STEPS):
        assert s(t) == pytest.approx(0.1 / (1 + 0.5 * t / 5), rel=1e-14)
        assert st(t) == pytest.approx(0.1 / (1 + 0.5 * (t // 5)), rel=1e-14)


def test_new_schedules_round_trip_and_check_their_arguments():
    for s in (
        schedules.PolynomialDecay(0.1, 7, 0.001, power=0.5, cycle=True, name="poly"),
        schedules.InverseTimeDecay(0.1, 3, 2.0, staircase=True),
    ):
        back = schedules.deserialize(schedules.serialize(s))
        assert back.get_config() == s.get_config()
        assert _rates(back).tolist() == _rates(s).tolist()
    with pytest.raises(ValueError, match="PolynomialDecay: decay_steps must be > 0"):
        schedules.PolynomialDecay(0.1, 0)
    with pytest.raises(ValueError, match="InverseTimeDecay: decay_rate must be >= 0"):
        schedules.InverseTimeDecay(0.1, 3, -1.0)
    with pytest.raises(ValueError, match="unknown schedule '_RatioDecay'"):
        schedules.deserialize({"class_name": "_RatioDecay", "config": {}})
