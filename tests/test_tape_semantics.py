"""GradientTape and custom_gradient as in TensorFlow 2, where a difference would be silent
(tensorflow/python/ops/custom_gradient.py, eager/backprop.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg


@wg.custom_gradient
def log1pexp(x):  # TensorFlow's own example
    e = wg.exp(x)

    def grad(dy):
        return dy * (1 - 1 / (1 + e))

    return wg.math.log(1 + e), grad


def test_custom_gradient_has_true_second_derivatives():
    x = wg.constant(1.0)
    with wg.GradientTape() as outer:
        outer.watch(x)
        with wg.GradientTape() as inner:
            inner.watch(x)
            y = log1pexp(x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    s = 1 / (1 + math.exp(-1.0))
    assert float(g) == pytest.approx(s, rel=1e-6)
    assert float(h) == pytest.approx(s * (1 - s), rel=1e-5)  # TF: 0.1966


def test_custom_gradient_first_order_uses_grad_fn_alone():
    @wg.custom_gradient
    def clipped(x):
        def grad(dy):
            return wg.clip_by_value(dy, -1.0, 1.0)

        return x * 1.0, grad

    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = clipped(x) * 10.0
    assert float(tape.gradient(y, x)) == 1.0


def test_custom_gradient_arguments_are_flattened_and_numbers_count():
    @wg.custom_gradient
    def add_pair(pair):
        a, b = pair

        def grad(dy):
            return dy, 2 * dy

        return a + b, grad

    a, b = wg.constant(1.0), wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch([a, b])
        y = add_pair([a, b])
    assert [float(g) for g in tape.gradient(y, [a, b])] == [1.0, 2.0]

    @wg.custom_gradient
    def scaled(x, s):
        def grad(dy):
            return dy * s, None

        return x * s, grad

    x = wg.constant(3.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = scaled(x, 3.0)
    assert float(tape.gradient(y, x)) == 3.0


def test_custom_gradient_passes_variables_only_when_some_were_read():
    @wg.custom_gradient
    def double(x):
        def grad(dy, variables=None):
            assert variables is None
            return 2 * dy

        return 2 * x, grad

    x = wg.constant(1.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = double(x)
    assert float(tape.gradient(y, x)) == 2.0


@pytest.mark.parametrize(
    "read",
    [
        wg.convert_to_tensor,
        lambda v: wg.reshape(v, v.shape),
        lambda v: wg.broadcast_to(v, v.shape),
        lambda v: wg.concat([v], 0),
        lambda v: +v,
    ],
)
def test_reading_a_variable_takes_its_value_now(read):
    v = wg.Variable([1.0, 2.0])
    old = read(v)
    v.assign_sub([0.5, 0.5])
    np.testing.assert_array_equal(old.numpy(), [1.0, 2.0])
    with wg.GradientTape() as tape:
        y = wg.reduce_sum(read(v) * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [3.0, 3.0])


def test_namedtuple_sources_are_flattened_and_rebuilt():
    import collections

    Params = collections.namedtuple("Params", "w b")
    w, b = wg.Variable(1.0), wg.Variable(2.0)
    with wg.GradientTape() as tape:
        y = w * 3.0 + b
    grads = tape.gradient(y, Params(w, b))
    assert isinstance(grads, Params) and (float(grads.w), float(grads.b)) == (3.0, 1.0)


@pytest.mark.parametrize(
    "dtype, expected",
    [
        ("int8", "float32"),
        ("uint8", "float32"),
        ("int16", "float32"),
        ("uint16", "float32"),
        ("int32", "float64"),
        ("int64", "float64"),
    ],
)
def test_integer_true_division_follows_tensorflow_dtypes(dtype, expected):
    a = wg.constant(np.array([3, 4], dtype))
    assert (a / a).dtype == np.dtype(expected)
    np.testing.assert_array_equal((a / wg.constant(np.array([2, 8], dtype))).numpy(), [1.5, 0.5])


def test_a_used_tape_entered_again_starts_afresh_and_nesting_itself_is_refused():
    x = wg.constant(3.0)
    tape = wg.GradientTape()
    with tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0
    with tape:  # as TensorFlow: a fresh tape
        tape.watch(x)
        z = x * 5.0
    assert float(tape.gradient(z, x)) == 5.0
    with pytest.raises(ValueError, match="still recording"):
        with tape:
            with tape:
                pass


def test_integer_division_by_zero_is_an_error_as_in_tensorflow():
    a = wg.constant(np.array([3, 4]))
    np.testing.assert_array_equal((a // wg.constant(np.array([2, 3]))).numpy(), [1, 1])
    with pytest.raises(ArithmeticError, match="floordiv: integer division by zero"):
        a // wg.constant(np.array([0, 1]))
    with pytest.raises(ArithmeticError, match="mod: integer division by zero"):
        a % 0


def test_float16_moments_and_batch_norm_are_computed_in_float32():
    x = (np.random.RandomState(0).randn(64, 16, 16, 8) * 2 + 3).astype(np.float16)
    mean, var = wg.nn.moments(wg.constant(x), axes=[0, 1, 2])
    assert mean.dtype == np.float16
    np.testing.assert_allclose(mean.numpy(), x.astype(np.float64).mean((0, 1, 2)), rtol=2e-3)
    np.testing.assert_allclose(var.numpy(), x.astype(np.float64).var((0, 1, 2)), rtol=3e-3)
    from wengert.conv_ops import batch_norm_training

    y, m, v = batch_norm_training(wg.constant(x), np.ones(8, "float16"), np.zeros(8, "float16"))
    assert y.dtype == np.float16 and np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(m.numpy(), mean.numpy(), rtol=2e-3)


def test_tensorflow_argument_checks_gather_clip_and_transposed_conv():
    with pytest.raises(IndexError, match=r"gather: indices out of range \[0, 3\)"):
        wg.gather([1.0, 2.0, 3.0], [-1])
    np.testing.assert_array_equal(wg.clip_by_value([0.0, 5.0, 10.0], 6.0, 4.0).numpy(), [6, 6, 6])
    with pytest.raises(ValueError, match="clip_by_value: the bounds would broadcast"):
        wg.clip_by_value([1.0], [[0.0], [0.0]], 2.0)
    x, w = wg.ones((1, 2, 2, 1)), wg.ones((2, 2, 2, 1))
    assert wg.nn.conv2d_transpose(x, w, (1, 4, 4, 2), 2, "VALID").shape == (1, 4, 4, 2)
    with pytest.raises(ValueError, match="must have the input's batch 1 and the filters' 2"):
        wg.nn.conv2d_transpose(x, w, (1, 4, 4, 3), 2, "VALID")


@pytest.mark.parametrize("v", [1.0, 1e4, 1e5, 1e6])
def test_logsumexp_gradient_is_the_exact_softmax_at_large_values(v):
    x = wg.constant([v, v])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.reduce_logsumexp(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.5, 0.5])


def test_tape_view_names_distinct_variables_apart_and_explain_follows_the_path():
    a, b = wg.Variable(1.0), wg.Variable(2.0)
    with wg.GradientTape(persistent=True) as tape:
        y = a * b
    text = str(tape)
    assert "multiply(Variable, Variable#2)" in text
    assert "Variable#2" in tape.to_dot()  # two nodes in the drawing, not one
    x, u = wg.constant(1.0), wg.constant(-1.0)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = wg.reduce_sum(x * 0.0)
        wg.nn.relu(u)  # dead, but not between x and y
    assert "relu" not in tape.explain(y, x)
    s = wg.constant(30.0)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(s)
        y = wg.sigmoid(s) * 1.0
    assert "`sigmoid`, saturated" in tape.explain(y, s)


def test_variance_and_norm_of_integer_and_complex_tensors_as_tensorflow():
    with pytest.raises(TypeError, match="reduce_variance: expected a real or complex"):
        wg.math.reduce_variance([1, 2])
    c = wg.constant(np.array([1j, -1j], np.complex64))
    assert float(wg.math.reduce_variance(c)) == 1.0
    assert complex(wg.linalg.norm(wg.constant(np.array([1j, 0j], np.complex64)))) == 1.0


def test_float16_cross_entropies_labels_cast_where_indices_and_adjoint_matmul():
    logits = wg.constant(np.array([[-4e4, 4e4]], np.float16))
    ce = wg.nn.softmax_cross_entropy_with_logits(np.array([[0, 1]], np.float16), logits)
    assert ce.dtype == np.float16 and float(ce.numpy()[0]) == 0.0  # was NaN in float16
    assert wg.nn.sparse_softmax_cross_entropy_with_logits(np.array([1]), logits).numpy()[0] == 0.0
    as_ints = wg.nn.softmax_cross_entropy_with_logits(
        np.array([[0, 1]], np.int32), wg.constant([[0.0, 1.0]])
    )
    assert float(as_ints.numpy()[0]) == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    idx = wg.where([[True, False], [False, True]])
    assert idx.dtype == np.int64 and idx.numpy().tolist() == [[0, 0], [1, 1]]
    a = wg.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(
        wg.matmul(a, a, adjoint_a=True).numpy(), wg.matmul(a, a, transpose_a=True).numpy()
    )


def test_range_takes_the_widest_argument_dtype_and_refuses_unreachable_limits():
    assert wg.range(wg.constant(0.0, dtype="float64"), 1.0, 0.25).dtype == np.float64
    assert wg.range(wg.constant(np.int64(2**31)), 2**31 + 2).numpy().tolist() == [2**31, 2**31 + 1]
    assert wg.range(5).dtype == np.int32 and wg.range(0.0, 1.0, 0.5).dtype == np.float32
    assert wg.range(5, 0, -2).numpy().tolist() == [5, 3, 1]
    with pytest.raises(ValueError, match="start 5 cannot reach limit 0 by delta 1"):
        wg.range(5, 0, 1)
