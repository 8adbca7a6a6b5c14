"""Forward mode (ForwardAccumulator) and the functional helpers, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg


def test_forward_accumulator_basic():
    x = wg.constant([1.0, 2.0], dtype="float64")
    v = wg.constant([1.0, 0.5], dtype="float64")
    with wg.ForwardAccumulator(x, v) as acc:
        y = wg.sin(x) * x
    expected = (np.cos([1.0, 2.0]) * [1.0, 2.0] + np.sin([1.0, 2.0])) * [1.0, 0.5]
    np.testing.assert_allclose(acc.jvp(y).numpy(), expected)


def test_forward_accumulator_broadcast_and_reduction():
    x = wg.constant([1.0, 2.0, 3.0], dtype="float64")
    m = wg.constant(np.ones((2, 3)))
    with wg.ForwardAccumulator(x, wg.ones((3,), dtype="float64")) as acc:
        y = m * x  # broadcast: tangent must be broadcast too
        s = wg.reduce_sum(y)
    assert acc.jvp(y).shape == (2, 3)
    assert acc.jvp(s).numpy() == 6.0


def test_forward_accumulator_unconnected():
    x = wg.constant(1.0)
    c = wg.constant(2.0)
    with wg.ForwardAccumulator(x, wg.constant(1.0)) as acc:
        y = c * c
    assert acc.jvp(y) is None
    assert acc.jvp(y, unconnected_gradients="zero").numpy() == 0.0


def test_forward_accumulator_mismatched_tangent():
    with pytest.raises(ValueError, match="tangent"):
        wg.ForwardAccumulator(wg.constant([1.0, 2.0]), wg.constant([1.0]))


def test_forward_over_reverse_hessian_vector_product():
    x = wg.constant([0.3, -0.7], dtype="float64")
    v = wg.constant([1.0, 2.0], dtype="float64")
    with wg.ForwardAccumulator(x, v) as acc:
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = wg.reduce_sum(x**3) + x[0] * x[1]
        g = tape.gradient(y, x)
    hvp = acc.jvp(g)
    hessian = np.array([[6 * 0.3, 1.0], [1.0, 6 * -0.7]])
    np.testing.assert_allclose(hvp.numpy(), hessian @ [1.0, 2.0])


def test_reverse_over_forward():
    x = wg.constant(0.5, dtype="float64")
    with wg.GradientTape() as tape:
        tape.watch(x)
        with wg.ForwardAccumulator(x, wg.constant(1.0, dtype="float64")) as acc:
            y = wg.exp(x) * x
        dy = acc.jvp(y)  # (x + 1) e^x
    d2 = tape.gradient(dy, x)  # (x + 2) e^x
    assert np.isclose(dy.numpy(), 1.5 * np.exp(0.5))
    assert np.isclose(d2.numpy(), 2.5 * np.exp(0.5))


def test_forward_mode_through_custom_gradient_uses_transposed_vjp():
    @wg.custom_gradient
    def double(x):
        def grad(upstream):
            return upstream * 2.0

        return x * 2.0, grad

    x = wg.constant([1.0, 3.0], dtype="float64")
    with wg.ForwardAccumulator(x, wg.constant([1.0, 10.0], dtype="float64")) as acc:
        y = double(x)
    np.testing.assert_allclose(acc.jvp(y).numpy(), [2.0, 20.0])


def test_forward_mode_lookup_error_without_rules():
    from wengert.core import apply, primitive

    p = primitive("no_rules_at_all", lambda x: x + 1)
    x = wg.constant(1.0)
    with pytest.raises(LookupError, match="no_rules_at_all"):
        with wg.ForwardAccumulator(x, wg.constant(1.0)):
            apply(p, (x,))


def test_grad_value_and_grad():
    f = lambda x, y: x * x * y  # noqa: E731
    assert float(wg.grad(f)(3.0, 2.0)) == 12.0
    gx, gy = wg.grad(f, argnums=(0, 1))(3.0, 2.0)
    assert float(gx) == 12.0 and float(gy) == 9.0
    value, g = wg.value_and_grad(f, argnums=1)(3.0, 2.0)
    assert float(value) == 18.0 and float(g) == 9.0


def test_jvp_and_vjp_functions():
    y, t = wg.jvp(lambda x: wg.sin(x), (wg.constant(0.0),), (wg.constant(2.0),))
    assert float(y) == 0.0 and float(t) == 2.0
    out, back = wg.vjp(lambda a, b: a * b, wg.constant([1.0, 2.0]), wg.constant([3.0, 4.0]))
    ga, gb = back(wg.constant([1.0, 1.0]))
    np.testing.assert_allclose(ga.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gb.numpy(), [1.0, 2.0])
    ga2, _ = back(wg.constant([2.0, 0.0]))  # callable again
    np.testing.assert_allclose(ga2.numpy(), [6.0, 0.0])


def test_hessian_matches_closed_form():
    def f(x):
        return wg.reduce_sum(wg.sin(x) * x[::-1])

    x0 = np.array([0.2, -0.4, 1.1])
    h = wg.hessian(f)(wg.constant(x0)).numpy()
    # f = sum_i sin(x_i) x_{n-1-i}
    n = len(x0)
    expected = np.zeros((n, n))
    for i in range(n):
        j = n - 1 - i
        expected[i, i] += -np.sin(x0[i]) * x0[j]
        expected[i, j] += np.cos(x0[i])
        expected[j, i] += np.cos(x0[i])
    np.testing.assert_allclose(h, expected, rtol=1e-10, atol=1e-12)
