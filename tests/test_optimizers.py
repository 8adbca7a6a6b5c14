"""Optimizers without torch: the base class's contract, state, config, dtypes and errors."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import optimizers
from wengert.optimizers import schedules

SHAPES = [(3, 4), (5,), ()]

# Every optimizer with every option on (and a schedule), for the state round trip.
FULL = {
    "SGD": lambda: optimizers.SGD(
        schedules.StepDecay(0.1, 2), momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "Adagrad": lambda: optimizers.Adagrad(0.1, weight_decay=0.01, clipnorm=1.0),
    "RMSprop": lambda: optimizers.RMSprop(
        schedules.CosineDecay(0.01, 10), momentum=0.9, centered=True, global_clipnorm=1.0
    ),
    "Adam": lambda: optimizers.Adam(0.01, amsgrad=True, weight_decay=0.1, clipvalue=0.5),
    "AdamW": lambda: optimizers.AdamW(schedules.ExponentialDecay(0.01, 3, 0.5), amsgrad=True),
}
DEFAULTS = {
    "SGD": optimizers.SGD,
    "Adagrad": optimizers.Adagrad,
    "RMSprop": optimizers.RMSprop,
    "Adam": optimizers.Adam,
    "AdamW": optimizers.AdamW,
}


def _variables(rng, dtype="float64"):
    return [
        wg.Variable(rng.standard_normal(s).astype(dtype), name=f"w{i}")
        for i, s in enumerate(SHAPES)
    ]


def _grads(rng, n):
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(n)]


@pytest.mark.parametrize("name", sorted(FULL))
def test_state_round_trip_continues_bit_identically(name):
    rng = np.random.default_rng(1)
    ws = _variables(rng)
    grads = _grads(rng, 7)
    opt = FULL[name]()
    for gs in grads[:3]:
        opt.apply_gradients(zip(gs, ws))
    state = opt.get_state()
    saved = [w.numpy() for w in ws]
    for gs in grads[3:]:
        opt.apply_gradients(zip(gs, ws))
    expected = [w.numpy() for w in ws]

    ws2 = [wg.Variable(a) for a in saved]
    opt2 = FULL[name]()
    opt2.build(ws2)
    opt2.set_state(state)
    assert opt2.iterations == 3
    for gs in grads[3:]:
        opt2.apply_gradients(zip(gs, ws2))
    for a, w in zip(expected, ws2):
        np.testing.assert_array_equal(a, w.numpy())
    final, final2 = opt.get_state(), opt2.get_state()
    assert final.keys() == final2.keys()
    for k in final:
        np.testing.assert_array_equal(final[k], final2[k])


def test_state_keys_name_slot_and_build_index():
    ws = [wg.Variable(np.zeros(s)) for s in SHAPES]
    expected = {
        optimizers.SGD(): [],
        optimizers.SGD(momentum=0.5): ["momentum"],
        optimizers.Adagrad(): ["accumulator"],
        optimizers.RMSprop(): ["velocity"],
        optimizers.RMSprop(momentum=0.5, centered=True): [
            "velocity",
            "average_gradient",
            "momentum",
        ],
        optimizers.Adam(): ["m", "v"],
        optimizers.AdamW(amsgrad=True): ["m", "v", "v_max"],
    }
    for opt, slots in expected.items():
        opt.build(ws)
        state = opt.get_state()
        assert list(state) == ["iterations"] + [f"{s}/{i}" for s in slots for i in range(3)]
        assert state["iterations"].shape == () and int(state["iterations"]) == 0
        for s in slots:
            for i, shape in enumerate(SHAPES):
                assert state[f"{s}/{i}"].shape == shape
    acc = optimizers.Adagrad(initial_accumulator_value=0.25)
    acc.build(ws)
    np.testing.assert_array_equal(acc.get_state()["accumulator/0"], np.full((3, 4), 0.25))


def test_get_state_returns_copies():
    w = wg.Variable(np.ones(3))
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones(3), w)])
    state = opt.get_state()
    state["m/0"][:] = 99.0
    assert not np.any(opt.get_state()["m/0"] == 99.0)


def test_set_state_names_missing_extra_and_misshapen_keys():
    ws = [wg.Variable(np.zeros(s)) for s in SHAPES]
    opt = optimizers.Adam()
    opt.build(ws)
    good = opt.get_state()
    bad = dict(good)
    del bad["v/2"]
    bad["nu/0"] = np.zeros(3)
    bad["m/1"] = np.zeros(4)
    with pytest.raises(ValueError) as e:
        opt.set_state(bad)
    msg = str(e.value)
    assert "Adam.set_state" in msg and "v/2" in msg and "nu/0" in msg and "m/1" in msg
    assert "(5,)" in msg
    with pytest.raises(ValueError, match="iterations"):
        opt.set_state({**good, "iterations": np.asarray(1.5)})
    with pytest.raises(ValueError, match="build"):
        optimizers.Adam().set_state(good)
    fresh = optimizers.SGD()
    fresh.set_state({"iterations": np.asarray(4)})  # no slots: fine before build
    assert fresh.iterations == 4


def test_none_gradient_skips_its_variable():
    w, b = wg.Variable(np.ones(3)), wg.Variable(np.ones(2))
    opt = optimizers.Adam(0.1)
    with pytest.warns(UserWarning, match="gradients do not exist for variables"):
        assert opt.apply_gradients([(np.ones(3), w), (None, b)]) == 1
    assert opt.built and len(opt.get_state()) == 5  # b was built, though skipped
    np.testing.assert_array_equal(b.numpy(), np.ones(2))
    np.testing.assert_array_equal(opt.get_state()["m/1"], np.zeros(2))
    assert not np.allclose(w.numpy(), 1.0)
    # All gradients None: an error, as in Keras (a loss not connected to the weights)
    with pytest.raises(ValueError, match="no gradients provided for any variable"):
        opt.apply_gradients([(None, w), (None, b)])
    assert opt.iterations == 1


def test_minimize_watches_its_variables_and_takes_a_tape():
    w = wg.Variable(3.0, trainable=False)  # not watched automatically
    opt = optimizers.SGD(0.25)
    opt.minimize(lambda: w * w, [w])
    assert float(w) == 1.5 and opt.iterations == 1
    v = wg.Variable(2.0)
    tape = wg.GradientTape()
    optimizers.SGD(0.25).minimize(lambda: v * v, lambda: [v], tape=tape)
    assert float(v) == 1.0


def test_clipping_norms_are_summed_wide_and_nan_norms_propagate():
    w = wg.Variable(np.ones(300, "float16"))
    optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(np.full(300, 100.0, "float16"), w)])
    np.testing.assert_allclose(w.numpy()[0], 1 - 1 / np.sqrt(300), rtol=1e-3)
    a, b = wg.Variable([1.0, 1.0]), wg.Variable([1.0])
    optimizers.SGD(1.0, global_clipnorm=1.0).apply_gradients(
        [(np.array([np.nan, 1.0]), a), (np.array([5.0]), b)]
    )
    assert np.isnan(b.numpy()).all()  # as torch: never an unclipped step


@pytest.mark.parametrize("name", sorted(FULL))
def test_float32_stays_float32(name):
    rng = np.random.default_rng(2)
    ws = _variables(rng, "float32")
    opt = FULL[name]()
    for gs in _grads(rng, 3):  # float64 gradients are cast to the variable's dtype
        opt.apply_gradients(zip(gs, ws))
    for w in ws:
        assert w.dtype == np.float32
    for k, a in opt.get_state().items():
        if k != "iterations":
            assert a.dtype == np.float32, k


def test_gradients_may_be_tensors_arrays_or_lists():
    w = wg.Variable([1.0, 2.0])
    opt = optimizers.SGD(0.5)
    opt.apply_gradients([(wg.constant([1.0, 1.0]), w)])
    opt.apply_gradients([(np.array([1.0, 1.0]), w)])
    opt.apply_gradients(iter([([1.0, 1.0], w)]))
    np.testing.assert_allclose(w.numpy(), [-0.5, 0.5])


def test_update_writes_a_fresh_array_and_records_nothing():
    w = wg.Variable(np.ones(3))
    old = w._value
    opt = optimizers.SGD(0.1, momentum=0.9)
    with wg.GradientTape() as tape:
        y = w * 2.0
        opt.apply_gradients([(np.ones(3), w)])
    n_records = len(tape)
    np.testing.assert_array_equal(old, np.ones(3))  # the tape's saved value is untouched
    assert w._value is not old
    assert n_records == 1 and y is not None


def test_learning_rate_follows_schedule_and_is_settable():
    opt = optimizers.SGD(schedules.StepDecay(1.0, step_size=2, gamma=0.5))
    w = wg.Variable(np.zeros(1))
    seen = []
    for _ in range(5):
        seen.append(opt.learning_rate)
        opt.apply_gradients([(np.ones(1), w)])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]
    np.testing.assert_allclose(w.numpy(), [-sum(seen)])
    opt.learning_rate = 0.3
    assert opt.learning_rate == 0.3
    opt.learning_rate = lambda step: 0.1 * step
    assert opt.learning_rate == pytest.approx(0.5)
    with pytest.raises(ValueError, match="SGD: learning_rate"):
        opt.learning_rate = -1.0


def test_sgd_momentum_equals_keras_velocity_form_only_for_constant_rate():
    # Keras: v <- m v - lr g, w <- w + v (the chapter's form); torch: b <- m b + g, w <- w - lr b.
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((6, 4))

    def keras(lrs, nesterov):
        w, v = np.zeros(4), np.zeros(4)
        for lr, g in zip(lrs, grads):
            v = 0.9 * v - lr * g
            w = w + 0.9 * v - lr * g if nesterov else w + v
        return w

    for nesterov in (False, True):
        const = optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov)
        w = wg.Variable(np.zeros(4))
        for g in grads:
            const.apply_gradients([(g, w)])
        np.testing.assert_allclose(w.numpy(), keras([0.1] * 6, nesterov), rtol=1e-12)

        sched = schedules.StepDecay(0.1, step_size=2, gamma=0.1)
        varying = optimizers.SGD(sched, momentum=0.9, nesterov=nesterov)
        w = wg.Variable(np.zeros(4))
        for g in grads:
            varying.apply_gradients([(g, w)])
        assert not np.allclose(w.numpy(), keras([sched(t) for t in range(6)], nesterov))


def test_clipping_rules():
    g = np.array([3.0, -4.0])  # norm 5
    for opt, expected in [
        (optimizers.SGD(1.0, clipvalue=1.0), [1.0, -1.0]),
        (optimizers.SGD(1.0, clipnorm=1.0), [0.6, -0.8]),
        (optimizers.SGD(1.0, global_clipnorm=1.0), [0.6, -0.8]),
        (optimizers.SGD(1.0, clipnorm=10.0), [3.0, -4.0]),
    ]:
        w = wg.Variable(np.zeros(2))
        opt.apply_gradients([(g, w)])
        np.testing.assert_allclose(-w.numpy(), expected, rtol=1e-5)
    # clipnorm: each gradient by its own norm; global_clipnorm: all together.
    a, b = wg.Variable(np.zeros(2)), wg.Variable(np.zeros(1))
    optimizers.SGD(1.0, clipnorm=1.0).apply_gradients([(g, a), (np.array([12.0]), b)])
    np.testing.assert_allclose(-b.numpy(), [1.0], rtol=1e-5)
    a, b = wg.Variable(np.zeros(2)), wg.Variable(np.zeros(1))
    optimizers.SGD(1.0, global_clipnorm=1.0).apply_gradients([(g, a), (np.array([12.0]), b)])
    np.testing.assert_allclose(-np.concatenate([a.numpy(), b.numpy()]), [3 / 13, -4 / 13, 12 / 13])


def test_minimize_descends_a_quadratic():
    w = wg.Variable(np.array([3.0, -2.0]))
    opt = optimizers.Adam(0.1)
    for _ in range(300):
        opt.minimize(lambda: wg.reduce_sum(w * w), [w])
    assert np.all(np.abs(w.numpy()) < 1e-2)
    with wg.GradientTape() as tape:
        loss = wg.reduce_sum(w * w)
    opt.minimize(loss, [w], tape=tape)
    with pytest.raises(ValueError, match="minimize"):
        opt.minimize(loss, [w])


def test_config_round_trip_and_get():
    opt = optimizers.RMSprop(
        schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5),
        rho=0.8,
        momentum=0.5,
        centered=True,
        clipnorm=2.0,
        weight_decay=0.01,
        name="rms",
    )
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "CosineDecay"
    for new in (
        optimizers.RMSprop.from_config(cfg),
        optimizers.get(optimizers.serialize(opt)),
        optimizers.deserialize({**cfg, "name": "RMSprop"}),
    ):
        assert type(new) is optimizers.RMSprop
        assert new.get_config() == {**cfg, "name": new.name}
        assert not new.built and new.iterations == 0
    assert optimizers.get(opt) is opt
    for name, cls in [("sgd", "SGD"), ("ADAM", "Adam"), ("AdamW", "AdamW"), ("rmsprop", "RMSprop")]:
        got = optimizers.get(name)
        assert type(got).__name__ == cls
    assert type(optimizers.get(optimizers.Adagrad().get_config())) is optimizers.Adagrad
    with pytest.raises(ValueError, match="rms"):
        optimizers.deserialize(cfg)  # a renamed bare config names no class
    with pytest.raises(TypeError):
        optimizers.get(3)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as e:
        optimizers.get("adadelta")
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam"):
        assert name in str(e.value)
    with pytest.raises(ValueError, match="Adam"):
        optimizers.deserialize({"class_name": "Adadelta", "config": {}})


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: optimizers.SGD(-0.1), ["SGD", "learning_rate"]),
        (lambda: optimizers.Adam(learning_rate=-1e-3), ["Adam", "learning_rate"]),
        (lambda: optimizers.SGD(momentum=1.5), ["SGD", "momentum"]),
        (lambda: optimizers.SGD(momentum=-0.1), ["SGD", "momentum"]),
        (lambda: optimizers.RMSprop(momentum=2.0), ["RMSprop", "momentum"]),
        (lambda: optimizers.RMSprop(rho=-0.5), ["RMSprop", "rho"]),
        (lambda: optimizers.Adam(beta_1=1.0), ["Adam", "beta_1"]),
        (lambda: optimizers.AdamW(beta_2=1.5), ["AdamW", "beta_2"]),
        (lambda: optimizers.Adagrad(epsilon=-1.0), ["Adagrad", "epsilon"]),
        (lambda: optimizers.Adagrad(initial_accumulator_value=-1), ["Adagrad", "initial_acc"]),
        (lambda: optimizers.SGD(weight_decay=-0.1), ["SGD", "weight_decay"]),
        (lambda: optimizers.SGD(clipvalue=0.0), ["SGD", "clipvalue"]),
        (
            lambda: optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0),
            ["Adam", "clipnorm", "global_clipnorm"],
        ),
    ],
)
def test_bad_arguments_name_the_optimizer(make, words):
    with pytest.raises(ValueError) as e:
        make()
    for word in words:
        assert word in str(e.value)


def test_bad_variables_and_gradients():
    w, other = wg.Variable(np.zeros(3)), wg.Variable(np.zeros(3))
    opt = optimizers.Adam()
    opt.apply_gradients([(np.ones(3), w)])
    with pytest.raises(ValueError, match="not in the var_list"):
        opt.apply_gradients([(np.ones(3), other)])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        opt.apply_gradients([(np.ones(2), w)])
    with pytest.raises(TypeError, match="pairs"):
        opt.apply_gradients([np.ones(3)])
    with pytest.raises(ValueError, match="int32"):
        optimizers.SGD().build([wg.Variable([1, 2])])
    with pytest.raises(TypeError, match="Variables"):
        optimizers.SGD().build([wg.constant(1.0)])
    with pytest.raises(ValueError, match="twice"):
        optimizers.SGD().build([w, w])
    assert opt.iterations == 1  # failed calls changed nothing


def test_build_is_idempotent_and_repr():
    w = wg.Variable(np.zeros(2))
    opt = optimizers.SGD(momentum=0.9)
    opt.build([w])
    opt.build([w, wg.Variable(np.zeros(3))])  # ignored once built, as Keras
    assert list(opt.get_state()) == ["iterations", "momentum/0"]
    assert "SGD" in repr(opt)


def test_custom_optimizer_subclass():
    class SignSGD(optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            variable._replace(variable._value - learning_rate * wg.backend.xp.sign(gradient))

    w = wg.Variable(np.array([1.0, 1.0]))
    opt = SignSGD(0.25)
    opt.apply_gradients([(np.array([3.0, -0.1]), w)])
    np.testing.assert_array_equal(w.numpy(), [0.75, 1.25])
    again = optimizers.get(optimizers.serialize(opt))
    assert type(again) is SignSGD and again.learning_rate == 0.25


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_updates_of_large_variables_run_in_chunks_and_equal_the_formula(momentum):
    # more elements than one chunk of the in-place update, and a size that is not a
    # multiple of it; float64 so the comparison is exact to rounding
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((301, 300))
    assert w0.size > optimizers._UPDATE_CHUNK and w0.size % optimizers._UPDATE_CHUNK
    grads = [rng.standard_normal(w0.shape) for _ in range(3)]
    v = wg.Variable(w0.copy())
    opt = wg.optimizers.SGD(0.1, momentum=momentum)
    want, buf = w0.copy(), np.zeros_like(w0)
    held = None
    for k, g in enumerate(grads):
        if k == 1:
            held = np.asarray(v)  # a view someone holds: this update must copy, not write
            before = held.copy()
        opt.apply_gradients([(wg.constant(g), v)])
        buf = momentum * buf + g
        want = want - 0.1 * (buf if momentum else g)
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(held, before)
