"""Regression tests for explain/strict mode, forward mode and the functional helpers.

Every number is checked against float64 central differences, NumPy or torch.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

import wengert as wg
from wengert import debugging
from wengert.debugging import NumericsError
from wengert.diagnostics import gradient_report
from wengert.layers import Dense, Input
from wengert.rnn_ops import lstm_sequence


def _f64(a):
    return wg.constant(np.asarray(a, dtype=np.float64))


def _central(f, x, h=1e-6):
    """d f / d x at x (a float), by central differences in float64."""
    return (f(x + h) - f(x - h)) / (2 * h)


# -- 1, 6, 7, 8, 11: explain and strict mode ------------------------------------------------------
def test_strict_persistent_tape_explains_an_integer_target_instead_of_recursing():
    x = wg.constant([1.0, -2.0])
    with wg.GradientTape(strict=True, persistent=True) as t:
        t.watch(x)
        y = wg.cast(x * 2.0, "int32")
    with pytest.raises(wg.UnconnectedGradientError, match="dtype int32, not floating-point"):
        t.gradient(y, x)


def test_strict_tape_explains_each_target_of_a_list():
    x = wg.constant([1.0, -2.0])
    with wg.GradientTape(strict=True) as t:
        t.watch(x)
        c = wg.constant(3.0)
        y1, y2 = c * 2.0, wg.cast(x, "int32")
    with pytest.raises(wg.UnconnectedGradientError) as info:
        t.gradient([y1, y2], x)
    message = str(info.value)
    assert "is a list" not in message
    assert "Target 0: No recorded path" in message
    assert "Target 1: The target has dtype int32" in message


def test_explain_a_none_gradient_is_not_called_connected_and_nonzero():
    x = wg.constant([1.0, -2.0])

    @wg.custom_gradient
    def blocked(a):
        return a * 2.0, lambda g: None

    with wg.GradientTape(persistent=True) as t:
        t.watch(x)
        y = blocked(x) + 1.0
        z = wg.cast(x * 2.0, "int32")
    assert t.gradient(y, x) is None and t.gradient(z, x) is None
    message = t.explain(y, x)
    assert "nonzero" not in message
    assert "record 2, `custom_gradient(blocked)`" in message and "returned None" in message
    assert "dtype int32" in t.explain(z, x)


def test_strict_non_persistent_tape_blames_the_op_the_persistent_tape_blames():
    x = wg.constant([1.5, -2.5])
    messages = []
    for persistent in (False, True):
        with wg.GradientTape(strict=True, persistent=persistent) as t:
            t.watch(x)
            y = wg.cast(wg.floor(x), "float64")
        with pytest.raises(wg.UnconnectedGradientError) as info:
            t.gradient(y, x)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "record 1: `floor`" in messages[0]


def test_explain_inside_the_with_block_records_nothing():
    xs = np.array([1.0, -2.0, 0.5])
    x = _f64(xs)
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.reduce_sum(x * x)
        before = len(t)
        assert "nonzero" in t.explain(y, x)
        assert len(t) == before
    g = t.gradient(y, x).numpy()
    for i, e in enumerate(np.eye(3)):
        np.testing.assert_allclose(g[i], _central(lambda s, e=e: np.sum((xs + s * e) ** 2), 0.0))


def test_explain_names_stop_recording_even_when_another_watched_value_joins():
    x, w = wg.constant([1.0, -2.0]), wg.constant([3.0, 4.0])
    with wg.GradientTape(persistent=True) as t:
        t.watch([x, w])
        with t.stop_recording():
            z = x * 2.0
        y = z * w
    assert t.gradient(y, x) is None
    assert "stop_recording" in t.explain(y, x)
    np.testing.assert_allclose(t.gradient(y, w).numpy(), [2.0, -4.0])  # w's path is intact


def test_explain_an_op_run_after_the_with_block():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape(persistent=True) as t:
        t.watch(x)
    y = x * x
    message = t.explain(y, x)
    assert "outside the tape's `with` block" in message
    assert "none of that op's inputs was watched" not in message


# -- 12, 13: the table, DOT and saved_bytes -------------------------------------------------------
def test_table_keeps_variable_names_and_dot_escapes_them():
    x = wg.constant([1.0, 2.0])
    v1 = wg.Variable([1.0], name="v1")
    odd = wg.Variable([2.0], name='my "w" \\ 2')
    with wg.GradientTape() as t:
        t.watch(x)
        y = x * 2.0
        y2 = v1 * odd
    text = str(t)
    assert "v1#2" not in text
    assert re.search(r"= multiply\(v1, my \"w\" \\ 2\)", text)
    names = re.findall(r"watched  (\S+)", text)
    assert len(set(names)) == len(names)  # the constant got a name of its own
    dot = t.to_dot()
    for line in dot.splitlines():  # every quote that is not escaped opens or closes a string
        unescaped = re.sub(r"\\.", "", line)
        assert unescaped.count('"') % 2 == 0, line
    assert '"my \\"w\\" \\\\ 2"' in dot
    del y, y2


def test_saved_bytes_counts_the_arrays_a_fused_rnn_record_saved():
    x = wg.random.normal((5, 2, 12), seed=0)
    h0 = c0 = wg.zeros((2, 3))
    kernel = wg.random.normal((3, 12), seed=1)
    with wg.GradientTape() as t:
        t.watch(x)
        hs, h, c = lstm_sequence(x, h0, c0, kernel)
    (record,) = list(t)
    handle = record.output[-1]._value[()]
    seen, plain, saved = set(), 0, 0
    values = [v._value for v in (*record.inputs, *record.output[:-1]) if v is not None]
    for a in values:
        base = a if a.base is None else a.base
        if id(base) not in seen:
            seen.add(id(base))
            plain += base.nbytes
    for a in handle.arrays:
        base = a if a.base is None else a.base
        if id(base) not in seen:
            seen.add(id(base))
            saved += base.nbytes
    assert saved >= 5 * 2 * 3 * 4  # at least a (time, batch, units) float32 array
    assert t.saved_bytes == plain + saved


# -- 2, 5: the functional helpers ----------------------------------------------------------------
def test_functional_helpers_treat_one_tensor_in_two_positions_as_two_variables():
    def f(a, b):
        return a * b**2

    z = _f64(2.0)
    ga, gb = wg.grad(f, argnums=(0, 1))(z, z)
    assert float(ga) == pytest.approx(_central(lambda s: (2.0 + s) * 2.0**2, 0.0))  # 4
    assert float(gb) == pytest.approx(_central(lambda s: 2.0 * (2.0 + s) ** 2, 0.0))  # 8
    _, dy = wg.jvp(f, (z, z), (_f64(1.0), _f64(0.0)))
    assert float(dy) == pytest.approx(4.0)
    _, back = wg.vjp(f, z, z)
    assert [float(g) for g in back(_f64(1.0))] == pytest.approx([4.0, 8.0])
    h = float(wg.hessian(f, argnums=1)(z, z))  # d2/db2 a b^2 = 2a
    fd = (2.0 * 2.01**2 - 2 * 2.0 * 2.0**2 + 2.0 * 1.99**2) / 0.01**2
    assert h == pytest.approx(fd, rel=1e-6)


def test_functional_helpers_refuse_integer_arguments_they_differentiate():
    with pytest.raises(TypeError, match=r"grad: argument 0 is int32"):
        wg.grad(lambda x: x**3)(2)
    with pytest.raises(TypeError, match=r"hessian: argument 0 is int32"):
        wg.hessian(lambda x: x**3)(2)
    with pytest.raises(TypeError, match=r"jvp: argument 1 is int32"):
        wg.jvp(lambda x, y: x * 2.0, (2.0, 3), (1.0, 1))


def test_functional_helpers_pass_other_arguments_through_unchanged():
    seen = []

    def f(x, n, mode, options):
        seen.append((n, mode, options))
        return x**n

    g = wg.grad(f)(2.0, 3, None, {"k": "v"})
    assert float(g) == pytest.approx(_central(lambda s: (2.0 + s) ** 3, 0.0), rel=1e-6)
    assert seen == [(3, None, {"k": "v"})]
    assert float(wg.grad(lambda x, s: x * 2.0)(2.0, "mean")) == 2.0


# -- 3, 4, 9, 10: forward mode -------------------------------------------------------------------
def test_forward_mode_refuses_a_custom_gradient_computed_outside_wengert():
    @wg.custom_gradient
    def triple(a):
        return a * 3.0, lambda g: wg.constant(np.asarray(g) * 3.0)

    a = _f64([1.0, 2.0])
    with pytest.raises(LookupError, match="wengert ops"):
        with wg.ForwardAccumulator(a, _f64([1.0, 1.0])):
            triple(a)


def test_forward_mode_through_custom_gradients_matches_finite_differences():
    @wg.custom_gradient
    def triple(a):
        return a * 3.0, lambda g: g * 3.0

    @wg.custom_gradient
    def frozen(a):  # declared to have zero derivative, built without the upstream gradient
        return a * 1.0, lambda g: wg.constant(np.zeros(2))

    a = _f64([1.0, 2.0])
    with wg.ForwardAccumulator(a, _f64([1.0, -1.0])) as acc:
        y, z = triple(a), frozen(a)
    np.testing.assert_allclose(
        acc.jvp(y).numpy(), _central(lambda s: 3.0 * (1.0 + s), 0.0) * np.array([1.0, -1.0])
    )
    np.testing.assert_allclose(acc.jvp(z).numpy(), [0.0, 0.0])


def test_forward_mode_sums_a_broadcast_custom_gradient_to_its_input_shape():
    @wg.custom_gradient
    def add_rows(p, q):
        return p + q, lambda g: (g, g)  # q's gradient left (2, 2): the tape sums it

    p0 = np.array([[1.0, 2.0], [3.0, 4.0]])
    q0, v = np.array([10.0, 20.0]), np.array([1.0, -2.0])
    q = _f64(q0)
    with wg.ForwardAccumulator(q, _f64(v)) as acc:
        y = add_rows(_f64(p0), q)
    expected = _central(lambda s: p0 + (q0 + s * v), 0.0)
    np.testing.assert_allclose(acc.jvp(y).numpy(), expected, rtol=1e-8)


def test_forward_accumulator_refuses_a_primal_given_twice_and_warns_on_integers():
    a = _f64([1.0, 2.0])
    with pytest.raises(ValueError, match="primal multiple times"):
        wg.ForwardAccumulator([a, a], [_f64([1.0, 0.0]), _f64([0.0, 1.0])])
    i = wg.constant([1, 2])
    with pytest.warns(UserWarning, match="tangent is ignored"):
        acc = wg.ForwardAccumulator(i, wg.constant([1, 1]))
    with acc:
        z = wg.cast(i, "float64") * 2.0
    assert acc.jvp(z) is None


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_python_number_to_a_float64_power(mode):
    xs, v = np.array([0.5, 1.0, -0.25]), np.array([1.0, 2.0, -1.0])
    x = _f64(xs)
    if mode == "forward":
        with wg.ForwardAccumulator(x, _f64(v)) as acc:
            y = 2.0**x
        got = acc.jvp(y)
        expected = _central(lambda s: 2.0 ** (xs + s * v), 0.0)
    else:
        with wg.GradientTape() as t:
            t.watch(x)
            y = 2.0**x
        got = t.gradient(y, x)
        expected = np.array(
            [_central(lambda s, e=e: 2.0 ** (xs + s * e) @ e, 0.0) for e in np.eye(3)]
        )
    assert got.dtype == "float64"
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-8)


# -- 14: anomaly mode in forward mode --------------------------------------------------------------
def test_anomaly_mode_names_the_op_whose_tangent_was_being_computed():
    x = wg.constant([0.0, 4.0])
    try:
        with np.errstate(all="ignore"), debugging.detect_anomaly():
            with pytest.raises(NumericsError) as info:
                with wg.ForwardAccumulator(x, wg.constant([1.0, 1.0])):
                    wg.sqrt(x)
    finally:
        debugging.disable_check_numerics()
    assert info.value.forward_op == "sqrt"
    assert "in forward mode, computing the tangent of op 'sqrt'" in str(info.value)
    assert debugging._tangent_record is None


# -- 15: gradient_report -------------------------------------------------------------------------
def _two_layer_model():
    wg.random.set_seed(3)
    model = wg.Sequential([Input((4,)), Dense(5, activation="relu"), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_gradient_report_on_an_empty_batch_reports_no_statistics():
    model = _two_layer_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = gradient_report(model, np.zeros((0, 4), "float32"), np.zeros((0, 2), "float32"))
    assert report.batch_size == 0 and math.isnan(report.loss)
    for row in report.layers:
        assert row.dead_fraction is None and row.weight_grad_norm is None
        assert row.update_ratio is None and row.output_grad_norm is None
    assert report.first_to_last is None
    assert any("empty" in w for w in report.warnings)
    assert "100.0%" not in str(report) and "0.00e+00" not in str(report)


class _WithUnusedLayer(wg.Model):
    def __init__(self):
        super().__init__()
        self.unused = Dense(3)
        self.a = Dense(3, activation="tanh")
        self.b = Dense(2)

    def call(self, x, training=False):
        _ = self.unused(x)  # called first, but the loss does not depend on it
        return self.b(self.a(x))


def test_gradient_report_passes_over_layers_without_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")
    model = _WithUnusedLayer()
    model.compile(optimizer="sgd", loss="mse")
    model(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SGD: no gradient for the unused layer
        report = gradient_report(model, x, y)
    rows = {r.name: r for r in report.layers}
    unused = rows[model.unused.name]
    assert unused.weight_grad_norm is None and unused.update_ratio is None

    # torch oracle, float64: mse(b(tanh(a(x))), y)
    ka, ba, kb, bb = (torch.tensor(w.numpy(), dtype=torch.float64, requires_grad=True)
                      for w in (*model.a.weights, *model.b.weights))  # fmt: skip
    pred = torch.tanh(torch.tensor(x, dtype=torch.float64) @ ka + ba) @ kb + bb
    torch.mean((pred - torch.tensor(y, dtype=torch.float64)) ** 2).backward()
    norm_a = math.sqrt(float((ka.grad**2).sum() + (ba.grad**2).sum()))
    norm_b = math.sqrt(float((kb.grad**2).sum() + (bb.grad**2).sum()))
    assert rows[model.a.name].weight_grad_norm == pytest.approx(norm_a, rel=1e-5)
    assert report.first_to_last == pytest.approx(norm_a / norm_b, rel=1e-5)


# -- numpy_api: negative take indices, NumPy integers as sections and reps -----------------------
def test_numpy_take_split_and_tile_accept_what_numpy_accepts():
    a = np.arange(12.0).reshape(3, 4)
    t = wg.constant(a)
    cases = [
        (np.take(t, [-1, 0], axis=1), np.take(a, [-1, 0], axis=1)),
        (np.take(t, [-1]), np.take(a, [-1])),
        (np.take(t, -2), np.take(a, -2)),
        (np.split(t, np.int64(2), axis=1)[1], np.split(a, np.int64(2), axis=1)[1]),
        (np.tile(t, np.array([2, 1])), np.tile(a, np.array([2, 1]))),
        (np.tile(t, np.int64(2)), np.tile(a, np.int64(2))),
    ]
    for got, expected in cases:
        assert type(got) is wg.Tensor
        np.testing.assert_array_equal(got.numpy(), expected)
