"""check_numerics and anomaly mode: the first NaN or Inf is named, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import core, debugging
from wengert.debugging import NumericsError


@pytest.fixture(autouse=True)
def _mode_off_and_quiet():
    with np.errstate(all="ignore"):  # NumPy's own RuntimeWarnings are not the point here
        yield
    debugging.disable_check_numerics()


# -- check_numerics ---------------------------------------------------------------------------
def test_check_numerics_passes_finite_values_through():
    x = wg.constant([1.0, -2.0])
    out = debugging.check_numerics(x, "fine")
    np.testing.assert_array_equal(out.numpy(), x.numpy())


@pytest.mark.parametrize(
    "values, kind",
    [([1.0, np.nan], "NaN"), ([np.inf, 1.0], "Inf"), ([np.nan, -np.inf], "NaN and Inf")],
)
def test_check_numerics_raises_naming_what_is_wrong(values, kind):
    with pytest.raises(NumericsError, match=f"logits : Tensor had {kind} values") as info:
        debugging.check_numerics(wg.constant(values), "logits")
    assert isinstance(info.value, FloatingPointError)
    assert info.value.op == "check_numerics" and info.value.input_shapes == [(2,)]


def test_check_numerics_is_identity_for_gradients_and_checks_them():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = debugging.check_numerics(x * 3.0, "y")
        fine = wg.reduce_sum(y)
        bad = wg.reduce_sum(y / wg.constant([0.0, 1.0]))  # forward inf: mode is off
    np.testing.assert_allclose(tape.gradient(fine, x).numpy(), [3.0, 3.0])
    del bad
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = debugging.check_numerics(x, "y")
        z = wg.reduce_sum(wg.sqrt(y - 1.0))  # sqrt(0): the gradient is inf, the value is not
    with pytest.raises(NumericsError, match=r"y \(gradient\) : Tensor had Inf values"):
        tape.gradient(z, x)


def test_check_numerics_derivatives_to_second_order_in_both_modes():
    from wengert.test_util import check_grads

    x = np.random.default_rng(0).normal(size=(3, 4))
    check_grads(lambda t: debugging.check_numerics(t * t, "sq"), (x,), order=2)


def test_check_numerics_refuses_integers():
    with pytest.raises(TypeError, match="floating-point"):
        debugging.check_numerics(wg.constant([1, 2]), "ints")


# -- anomaly mode: switching --------------------------------------------------------------------
def test_enable_and_disable_add_and_remove_one_recorder():
    before = core.recorders
    debugging.enable_check_numerics()
    debugging.enable_check_numerics()  # idempotent
    assert debugging.is_check_numerics_enabled()
    assert len(core.recorders) == len(before) + 1
    debugging.disable_check_numerics()
    debugging.disable_check_numerics()
    assert core.recorders == before and not debugging.is_check_numerics_enabled()


def test_context_manager_restores_the_previous_setting():
    with debugging.detect_anomaly():
        assert debugging.is_check_numerics_enabled()
    assert not debugging.is_check_numerics_enabled()
    debugging.enable_check_numerics()
    with debugging.detect_anomaly():
        pass
    assert debugging.is_check_numerics_enabled()


def test_mode_off_lets_nan_through():
    out = wg.math.log(wg.constant([0.0, -1.0]))
    assert np.isinf(out.numpy()[0]) and np.isnan(out.numpy()[1])


# -- anomaly mode: forward ----------------------------------------------------------------------
def test_planted_log_of_zero_in_forward_names_log_and_shapes():
    x = wg.constant([[1.0, 0.0, 2.0]])
    with debugging.detect_anomaly():
        y = x * 2.0  # fine
        with pytest.raises(NumericsError) as info:
            wg.math.log(y)
    e = info.value
    assert e.op == "log" and e.input_shapes == [(1, 3)] and e.forward_op is None
    message = str(e)
    assert message.startswith("log: produced Inf (1 of 3 values)")
    assert "float32[1, 3]" in message and "backward" not in message
    assert "test_debugging.py" in message  # the user's line


def test_forward_error_inside_fit_names_the_op_before_the_loss_check():
    x = np.ones((8, 2), "float32")
    x[3, 0] = 0.0
    model = wg.Sequential(
        [wg.layers.Input((2,)), wg.layers.Lambda(wg.math.log), wg.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    with debugging.detect_anomaly(), pytest.raises(NumericsError, match="^log: "):
        model.fit(x, np.zeros((8, 1), "float32"), epochs=1, verbose=0, shuffle=False)


def test_a_non_finite_input_is_called_out():
    with debugging.detect_anomaly(), pytest.raises(NumericsError) as info:
        wg.unstack(wg.constant([[np.nan, 1.0], [2.0, 3.0]]))  # a multi-output op
    assert info.value.op == "split" and "output 0" in str(info.value)
    assert "input 0 already held NaN or Inf" in str(info.value)


# -- anomaly mode: backward ---------------------------------------------------------------------
def test_backward_only_inf_names_the_rule_op_and_the_forward_op():
    x = wg.constant([0.0, 4.0])
    with debugging.detect_anomaly():
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = wg.reduce_sum(wg.sqrt(x) * 3.0)  # sqrt(0) = 0 is fine; its derivative is not
        with pytest.raises(NumericsError) as info:
            tape.gradient(y, x)
    e = info.value
    assert e.op == "divide" and e.forward_op == "sqrt" and e.input_shapes == [(2,), (2,)]
    assert "in the backward pass, computing the gradient of forward op 'sqrt' (record 1" in str(e)
    assert debugging._backward_record is None  # the pass's state is gone with the error


def test_planted_nan_array_in_a_custom_gradient_is_caught():
    @wg.custom_gradient
    def planted(x):
        def grad(upstream):
            return np.full(upstream.shape, np.nan, "float32")  # no op makes this NaN

        return wg.identity(x), grad

    x = wg.constant([1.0, 2.0, 3.0])
    with debugging.detect_anomaly():
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = wg.reduce_sum(planted(x * 2.0))
        with pytest.raises(NumericsError) as info:
            tape.gradient(y, x)
    e = info.value
    assert e.op == "custom_gradient(planted)" and e.forward_op == "custom_gradient(planted)"
    assert "gradient rule returned NaN for input 0 float32[3]" in str(e)
    assert e.input_shapes == [(3,)]


def test_nan_made_by_an_op_inside_a_custom_gradient_names_that_op():
    @wg.custom_gradient
    def planted(x):
        def grad(upstream):
            return upstream * wg.math.log(wg.constant(-1.0))  # NaN, computed by an op

        return wg.identity(x), grad

    x = wg.constant([1.0, 2.0])
    with debugging.detect_anomaly():
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = wg.reduce_sum(wg.exp(planted(x)))
        with pytest.raises(NumericsError) as info:
            tape.gradient(y, x)
    assert info.value.op == "log" and info.value.forward_op == "custom_gradient(planted)"
    # later ops are forward again: no stale backward context
    with debugging.detect_anomaly(), pytest.raises(NumericsError) as info:
        wg.math.log(wg.constant([0.0]))
    assert info.value.forward_op is None


def test_mode_changes_no_gradient_and_sees_nested_tapes():
    x = wg.constant([0.5, 1.5])

    def second_derivative():
        with wg.GradientTape() as outer:
            outer.watch(x)
            with wg.GradientTape() as inner:
                inner.watch(x)
                y = wg.reduce_sum(wg.sigmoid(x) * wg.exp(x))
            g = inner.gradient(y, x)
        return g.numpy(), outer.gradient(g, x).numpy()

    plain = second_derivative()
    with debugging.detect_anomaly():
        checked = second_derivative()
    for a, b in zip(plain, checked):
        np.testing.assert_array_equal(a, b)
