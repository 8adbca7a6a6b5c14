"""Forward values of every op against NumPy, closed forms, and PyTorch (TF-specific semantics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
POS = np.abs(X) + 0.1


def _t(a):
    return wg.constant(np.asarray(a))


def _check(got, expected, rtol=1e-13, atol=0.0, dtype=None):
    assert isinstance(got, wg.Tensor), type(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == (expected.dtype if dtype is None else np.dtype(dtype))
    np.testing.assert_allclose(got.numpy(), expected, rtol=rtol, atol=atol)


# -- elementwise arithmetic ------------------------------------------------------------------

BINARY = [
    ("add", wg.add, np.add),
    ("subtract", wg.subtract, np.subtract),
    ("multiply", wg.multiply, np.multiply),
    ("divide", wg.divide, np.true_divide),
    ("floordiv", wg.floordiv, np.floor_divide),
    ("mod", wg.mod, np.mod),
    ("maximum", wg.maximum, np.maximum),
    ("minimum", wg.minimum, np.minimum),
]


@pytest.mark.parametrize("name, op, ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_values_float64(name, op, ref):
    _check(op(_t(X), _t(Y)), ref(X, Y))
    # broadcasting (3, 4) with (4,) and (3, 1)
    _check(op(_t(X), _t(Y[0])), ref(X, Y[0]))
    _check(op(_t(X[:, :1]), _t(Y)), ref(X[:, :1], Y))
    _check(op(_t(X), 0.75), ref(X, 0.75))
    _check(op(0.75, _t(X)), ref(0.75, X))


@pytest.mark.parametrize("name, op, ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_values_float32(name, op, ref):
    x32, y32 = X.astype(np.float32), Y.astype(np.float32)
    _check(op(_t(x32), _t(y32)), ref(x32, y32), rtol=1e-6)
    _check(op(_t(x32), 2.0), ref(x32, np.float32(2.0)), rtol=1e-6)


def test_binary_int_values():
    a = np.array([7, -7, 7, -7, 0, 9], dtype=np.int32)
    b = np.array([2, 2, -2, -2, 3, 4], dtype=np.int32)
    for op, ref in [
        (wg.add, np.add),
        (wg.subtract, np.subtract),
        (wg.multiply, np.multiply),
        (wg.floordiv, np.floor_divide),
        (wg.mod, np.mod),
        (wg.maximum, np.maximum),
        (wg.minimum, np.minimum),
    ]:
        _check(op(_t(a), _t(b)), ref(a, b))
    # TF floor division and floor modulo: -7 // 2 == -4, -7 mod 2 == 1, 7 mod -2 == -1
    np.testing.assert_array_equal(wg.floordiv(_t(a), _t(b)).numpy(), [3, -4, -4, 3, 0, 2])
    np.testing.assert_array_equal(wg.mod(_t(a), _t(b)).numpy(), [1, 1, -1, -1, 0, 1])


def test_floordiv_and_mod_match_torch():
    torch = pytest.importorskip("torch")
    a = np.array([7.5, -7.5, 7.5, -7.5, 0.0, 3.0, -1e-3])
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 0.7, 5.0])
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    _check(wg.floordiv(_t(a), _t(b)), torch.floor_divide(ta, tb).numpy())
    _check(wg.mod(_t(a), _t(b)), torch.remainder(ta, tb).numpy(), atol=1e-15)
    ai = np.array([7, -7, 7, -7], dtype=np.int64)
    bi = np.array([3, 3, -3, -3], dtype=np.int64)
    _check(wg.mod(_t(ai), _t(bi)), torch.remainder(torch.from_numpy(ai), torch.from_numpy(bi)))
    _check(
        wg.floordiv(_t(ai), _t(bi)),
        torch.floor_divide(torch.from_numpy(ai), torch.from_numpy(bi)).numpy(),
    )


def test_aliases():
    assert wg.math.floormod is wg.math.mod
    assert wg.math.truediv is wg.math.divide
    _check(wg.math.floormod(_t(X), 0.3), np.mod(X, 0.3))


def test_pow():
    _check(wg.pow(_t(POS), _t(Y)), np.power(POS, Y))
    _check(wg.pow(_t(X), 3.0), X**3.0)
    _check(wg.pow(_t(X), 2), X**2)
    _check(wg.pow(2.0, _t(X)), 2.0**X)
    _check(wg.pow(_t(np.array([-2.0, -0.5])), 3.0), [-8.0, -0.125])
    _check(wg.pow(_t(np.array([2, 3, -4], dtype=np.int32)), 2), np.array([4, 9, 16], np.int32))
    _check(wg.pow(_t(np.array([4.0, 9.0])), 0.5), [2.0, 3.0])


UNARY = [
    ("negative", wg.negative, np.negative, X),
    ("square", wg.square, np.square, X),
    ("sqrt", wg.sqrt, np.sqrt, POS),
    ("exp", wg.exp, np.exp, X),
    ("log", wg.math.log, np.log, POS),
    ("log1p", wg.math.log1p, np.log1p, POS - 0.05),
    ("expm1", wg.math.expm1, np.expm1, X),
    ("sin", wg.sin, np.sin, X),
    ("cos", wg.cos, np.cos, X),
    ("tanh", wg.tanh, np.tanh, X),
    ("abs", wg.abs, np.abs, X),
    ("sign", wg.sign, np.sign, np.array([-2.0, 0.0, 3.5, -0.0])),
    ("floor", wg.floor, np.floor, X * 3),
    ("ceil", wg.math.ceil, np.ceil, X * 3),
    ("round", wg.round, np.round, np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.4])),
    ("sigmoid", wg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), X),
    ("relu", wg.nn.relu, lambda x: np.maximum(x, 0), X),
    ("softplus", wg.nn.softplus, lambda x: np.log1p(np.exp(x)), X),
    ("log_sigmoid", wg.math.log_sigmoid, lambda x: -np.log1p(np.exp(-x)), X),
]


@pytest.mark.parametrize("name, op, ref, x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values(name, op, ref, x):
    _check(op(_t(x)), ref(x), rtol=1e-13, atol=1e-15)
    x32 = x.astype(np.float32)
    _check(op(_t(x32)), ref(x32.astype(np.float64)).astype(np.float32), rtol=2e-6, atol=1e-7)
    # Python lists go through dtype inference (float32)
    _check(op(x.tolist()), ref(x32.astype(np.float64)).astype(np.float32), rtol=2e-6, atol=1e-7)


def test_unary_int_values():
    a = np.array([-3, 0, 2], dtype=np.int32)
    _check(wg.abs(_t(a)), np.abs(a))
    _check(wg.sign(_t(a)), np.sign(a))
    _check(wg.negative(_t(a)), -a)
    _check(wg.square(_t(a)), a * a)
    _check(wg.nn.relu(_t(a)), np.maximum(a, 0))


def test_activations_accept_tf_keyword_names():
    x = np.array([-1.0, 2.0])
    _check(wg.nn.relu(features=_t(x)), [0.0, 2.0])
    _check(wg.nn.softplus(features=_t(x)), np.log1p(np.exp(x)))
    _check(wg.sigmoid(x=_t(x)), 1 / (1 + np.exp(-x)))


def test_sigmoid_is_finite_at_large_magnitude():
    for dtype in (np.float16, np.float32, np.float64):
        x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=dtype)
        # overflow would mean exp was not capped; underflow to 0 is harmless
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = wg.sigmoid(_t(x)).numpy()
        assert s.dtype == dtype
        assert np.all(np.isfinite(s))
        assert np.all((s >= 0) & (s <= 1))
        np.testing.assert_allclose(s, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-4)


def test_sigmoid_tail_is_relatively_accurate_float64():
    s = float(wg.sigmoid(_t(np.float64(-100.0))))
    assert s > 0
    assert math.isclose(s, math.exp(-100.0), rel_tol=1e-12)
    s = float(wg.sigmoid(_t(np.float64(-700.0))))
    assert math.isclose(s, math.exp(-700.0), rel_tol=1e-12)


def test_softplus_is_finite_at_large_magnitude():
    for dtype in (np.float32, np.float64):
        x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
        s = wg.nn.softplus(_t(x)).numpy()
        assert s.dtype == dtype
        assert np.all(np.isfinite(s))
        np.testing.assert_allclose(s, [0.0, np.exp(-50.0), math.log(2), 50.0, 1e4], rtol=1e-6)


def test_log_sigmoid_is_finite_at_large_magnitude():
    for dtype in (np.float32, np.float64):
        x = np.array([-1e4, 0.0, 1e4], dtype=dtype)
        s = wg.math.log_sigmoid(_t(x)).numpy()
        assert s.dtype == dtype
        np.testing.assert_allclose(s, [-1e4, -math.log(2), 0.0], rtol=1e-6, atol=1e-30)


def test_activations_match_torch():
    torch = pytest.importorskip("torch")
    x = np.concatenate([X.ravel(), [-30.0, 30.0, 0.0]])
    tx = torch.from_numpy(x)
    F = torch.nn.functional
    _check(wg.sigmoid(_t(x)), torch.sigmoid(tx).numpy(), rtol=1e-14)
    _check(wg.nn.softplus(_t(x)), F.softplus(tx, threshold=1e9).numpy(), rtol=1e-14)
    _check(wg.math.log_sigmoid(_t(x)), F.logsigmoid(tx).numpy(), rtol=1e-13)
    _check(wg.nn.relu(_t(x)), F.relu(tx).numpy())
    _check(wg.tanh(_t(x)), torch.tanh(tx).numpy(), rtol=1e-14)


def test_where():
    c = X > 0
    _check(wg.where(c, _t(X), _t(Y)), np.where(c, X, Y))
    _check(wg.where(_t(c), _t(X), 0.0), np.where(c, X, 0.0))
    # broadcasting of condition, x and y
    c1 = np.array([True, False, True, False])
    _check(wg.where(c1, _t(X), _t(Y[:, :1])), np.where(c1, X, Y[:, :1]))
    _check(wg.where(c[:, :1], 1.0, _t(Y)), np.where(c[:, :1], 1.0, Y))
    got = wg.where([True, False], [1, 2], [3, 4])
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.numpy(), [1, 4])


def test_clip_by_value():
    _check(wg.clip_by_value(_t(X), -0.5, 0.5), np.clip(X, -0.5, 0.5))
    lo = np.array([-1.0, 0.0, -0.2, 0.1])
    _check(wg.clip_by_value(_t(X), _t(lo), 0.8), np.clip(X, lo, 0.8))
    got = wg.clip_by_value(_t(np.array([-5, 0, 5], np.int32)), -2, 3)
    np.testing.assert_array_equal(got.numpy(), [-2, 0, 3])
    assert got.dtype == np.int32


def test_comparison_ops():
    for op, ref in [
        (wg.equal, np.equal),
        (wg.not_equal, np.not_equal),
        (wg.less, np.less),
        (wg.less_equal, np.less_equal),
        (wg.greater, np.greater),
        (wg.greater_equal, np.greater_equal),
    ]:
        y = np.where(np.arange(12).reshape(3, 4) % 3 == 0, X, Y)
        _check(op(_t(X), _t(y)), ref(X, y))
        _check(op(_t(X), 0.0), ref(X, 0.0))


# -- matmul --------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((1, 2, 3), (4, 3, 2)),
    ((6, 1, 2, 3), (5, 3, 4)),
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((1, 1), (1, 1)),
]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_matches_numpy(sa, sb):
    a = RNG.standard_normal(sa)
    b = RNG.standard_normal(sb)
    expected = np.matmul(a, b)
    _check(wg.matmul(_t(a), _t(b)), expected, rtol=1e-12, atol=1e-14)
    _check(_t(a) @ _t(b), expected, rtol=1e-12, atol=1e-14)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    _check(wg.matmul(_t(a32), _t(b32)), np.matmul(a32, b32), rtol=1e-5, atol=1e-6)


def test_matmul_transpose_flags():
    a = RNG.standard_normal((3, 2))
    b = RNG.standard_normal((4, 3))
    _check(wg.matmul(_t(a), _t(b), transpose_a=True, transpose_b=True), a.T @ b.T, rtol=1e-12)
    _check(wg.matmul(_t(a), _t(b.T), transpose_a=True), a.T @ b.T, rtol=1e-12)
    _check(wg.matmul(_t(a.T), _t(b), transpose_b=True), a.T @ b.T, rtol=1e-12)
    ab = RNG.standard_normal((5, 3, 2))
    bb = RNG.standard_normal((5, 4, 3))
    expected = np.swapaxes(ab, -1, -2) @ np.swapaxes(bb, -1, -2)
    _check(wg.matmul(_t(ab), _t(bb), transpose_a=True, transpose_b=True), expected, rtol=1e-12)


def test_matmul_ints():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.arange(12, dtype=np.int32).reshape(3, 4)
    _check(wg.matmul(_t(a), _t(b)), a @ b)


def test_matmul_with_lists():
    _check(wg.matmul([[1.0, 2.0]], [[3.0], [4.0]]), np.array([[11.0]], np.float32))


# -- shapes -----------------------------------------------------------------------------------

Z = np.arange(24.0).reshape(2, 3, 4)


def test_transpose():
    _check(wg.transpose(_t(Z)), Z.T)
    for perm in [(0, 1, 2), (2, 0, 1), (1, 0, 2), [0, 2, 1]]:
        _check(wg.transpose(_t(Z), perm), np.transpose(Z, perm))
    _check(wg.transpose(_t(X)), X.T)
    _check(wg.transpose(_t(np.float64(2.0))), np.float64(2.0))
    _check(wg.linalg.matrix_transpose(_t(Z)), np.swapaxes(Z, -1, -2))


def test_reshape():
    for shape in [(6, 4), (-1,), (4, -1), (2, -1, 3), (24,), [3, 8], (1, 24, 1)]:
        _check(wg.reshape(_t(Z), shape), Z.reshape(shape))
    _check(wg.reshape(_t(Z), wg.constant([4, 6])), Z.reshape(4, 6))
    _check(wg.reshape(_t(np.float64(5.0)), (1, 1)), np.full((1, 1), 5.0))
    _check(wg.reshape(_t(np.array([5.0])), ()), np.float64(5.0))
    _check(wg.reshape(_t(np.zeros((0, 3))), (-1, 3)), np.zeros((0, 3)))


def test_expand_dims():
    for axis in [0, 1, 2, 3, -1, -2, -4]:
        _check(wg.expand_dims(_t(Z), axis), np.expand_dims(Z, axis))
    _check(wg.expand_dims(_t(np.float64(1.0)), 0), np.array([1.0]))


def test_squeeze():
    s = Z.reshape(1, 2, 1, 3, 4, 1)
    _check(wg.squeeze(_t(s)), np.squeeze(s))
    _check(wg.squeeze(_t(s), 0), np.squeeze(s, 0))
    _check(wg.squeeze(_t(s), -1), np.squeeze(s, -1))
    _check(wg.squeeze(_t(s), [0, 2]), np.squeeze(s, (0, 2)))
    _check(wg.squeeze(_t(np.ones((1, 1)))), np.float64(1.0))


def test_concat():
    a, b, c = Z, Z[:, :1], Z[:, :2] + 100
    _check(wg.concat([_t(a), _t(b), _t(c)], axis=1), np.concatenate([a, b, c], axis=1))
    _check(wg.concat([_t(a), _t(a)], axis=0), np.concatenate([a, a], axis=0))
    _check(wg.concat([_t(a), _t(a)], axis=-1), np.concatenate([a, a], axis=-1))
    _check(wg.concat([_t(a)], axis=2), a)
    _check(wg.concat([_t(a), a], axis=0), np.concatenate([a, a]))
    got = wg.concat([[1, 2], [3]], axis=0)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.numpy(), [1, 2, 3])


def test_stack():
    a, b = Z[0], Z[1]
    for axis in [0, 1, 2, -1, -3]:
        _check(wg.stack([_t(a), _t(b)], axis=axis), np.stack([a, b], axis=axis))
    _check(wg.stack([_t(a)]), a[None])
    _check(wg.stack([_t(np.float64(1.0)), _t(np.float64(2.0))]), np.array([1.0, 2.0]))
    _check(wg.stack([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))


def test_split_equal():
    parts = wg.split(_t(Z), 2, axis=0)
    assert isinstance(parts, list) and len(parts) == 2
    for p, e in zip(parts, np.split(Z, 2, axis=0)):
        _check(p, e)
    parts = wg.split(_t(Z), 4, axis=-1)
    assert len(parts) == 4
    for p, e in zip(parts, np.split(Z, 4, axis=-1)):
        _check(p, e)
    parts = wg.split(_t(Z), 1, axis=1)
    assert len(parts) == 1
    _check(parts[0], Z)


def test_split_sizes():
    parts = wg.split(_t(Z), [1, 3], axis=2)
    for p, e in zip(parts, np.split(Z, [1], axis=2)):
        _check(p, e)
    parts = wg.split(_t(Z), [1, -1, 1], axis=2)
    assert [p.shape for p in parts] == [(2, 3, 1), (2, 3, 2), (2, 3, 1)]
    for p, e in zip(parts, np.split(Z, [1, 3], axis=2)):
        _check(p, e)
    parts = wg.split(_t(Z), [-1, 1], axis=1)
    assert [p.shape for p in parts] == [(2, 2, 4), (2, 1, 4)]
    parts = wg.split(_t(Z), [0, 3], axis=1)
    assert [p.shape for p in parts] == [(2, 0, 4), (2, 3, 4)]
    _check(parts[1], Z)


def test_unstack():
    for axis in [0, 1, 2, -1]:
        parts = wg.unstack(_t(Z), axis=axis)
        assert len(parts) == Z.shape[axis]
        for i, p in enumerate(parts):
            _check(p, np.take(Z, i, axis=axis))


def _gather_ref(params, indices, axis, batch_dims):
    """TensorFlow's gather written as a loop over the batch dimensions."""
    if batch_dims == 0:
        return np.take(params, indices, axis=axis)
    return np.stack(
        [
            _gather_ref(params[i], indices[i], axis - 1, batch_dims - 1)
            for i in range(params.shape[0])
        ]
    )


def test_gather_axis():
    p = RNG.standard_normal((4, 5, 6))
    for axis in [0, 1, 2, -1]:
        for idx in [np.array([3, 0, 0]), np.array([[1, 2], [0, 3]]), np.array(2)]:
            _check(wg.gather(_t(p), idx, axis=axis), np.take(p, idx, axis=axis))
    _check(wg.gather(_t(p), wg.constant([1, 3])), p[[1, 3]])
    _check(wg.gather(_t(p), [2, 1]), p[[2, 1]])


GATHER_BATCH = [
    # (params shape, indices shape, axis, batch_dims)
    ((3, 5), (3, 4), 1, 1),
    ((3, 5, 6), (3, 4), 1, 1),
    ((3, 5, 6), (3, 4), 2, 1),
    ((3, 5, 6), (3, 2, 4), 1, 1),
    ((3, 5, 6), (3, 2, 4), 2, 1),
    ((3, 2, 6, 7), (3, 2, 4), 2, 2),
    ((3, 2, 6, 7), (3, 2, 4), 3, 2),
    ((3, 2, 6, 7), (3, 4), 2, 1),
    ((3, 5, 6), (3,), 1, 1),
]


@pytest.mark.parametrize("ps, ish, axis, batch_dims", GATHER_BATCH, ids=str)
def test_gather_batch_dims_like_tf(ps, ish, axis, batch_dims):
    p = RNG.standard_normal(ps)
    idx = RNG.integers(0, ps[axis], ish)
    expected = _gather_ref(p, idx, axis, batch_dims)
    assert expected.shape == ps[:axis] + ish[batch_dims:] + ps[axis + 1 :]
    _check(wg.gather(_t(p), idx, axis=axis, batch_dims=batch_dims), expected)


def test_gather_batch_dims_default_axis():
    # TensorFlow: axis defaults to batch_dims.
    p = RNG.standard_normal((3, 5, 6))
    idx = RNG.integers(0, 5, (3, 4))
    _check(wg.gather(_t(p), idx, batch_dims=1), _gather_ref(p, idx, 1, 1))


def test_gather_negative_batch_dims_like_tf():
    # TensorFlow: a negative batch_dims counts from the rank of indices
    # (batch_dims=-1 with rank-2 indices means batch_dims=1).
    p = RNG.standard_normal((2, 3, 4))
    idx = RNG.integers(0, 3, (2, 5))
    _check(wg.gather(_t(p), idx, axis=1, batch_dims=-1), _gather_ref(p, idx, 1, 1))
    idx3 = RNG.integers(0, 4, (2, 3, 5))
    _check(wg.gather(_t(p), idx3, axis=2, batch_dims=-1), _gather_ref(p, idx3, 2, 2))


def test_tile():
    for mult in [(1, 1, 1), (2, 1, 3), (1, 2, 1), (0, 1, 1)]:
        _check(wg.tile(_t(Z), mult), np.tile(Z, mult))
    _check(wg.tile(_t(np.array([1.0, 2.0])), wg.constant([3])), np.tile([1.0, 2.0], 3))


def test_pad_constant():
    x = X
    p = [[1, 2], [0, 3]]
    _check(wg.pad(_t(x), p), np.pad(x, p))
    _check(wg.pad(_t(x), p, constant_values=-7.5), np.pad(x, p, constant_values=-7.5))
    _check(wg.pad(_t(x), p, mode="constant", constant_values=1.0), np.pad(x, p, constant_values=1))
    _check(wg.pad(_t(Z), [[0, 0], [1, 1], [2, 0]]), np.pad(Z, [(0, 0), (1, 1), (2, 0)]))
    got = wg.pad(_t(np.array([1, 2], np.int32)), [[1, 1]], constant_values=9)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.numpy(), [9, 1, 2, 9])


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC", "reflect", "symmetric"])
def test_pad_reflect_symmetric(mode):
    np_mode = mode.lower()
    for p in [[[1, 2], [3, 0]], [[2, 2], [3, 3]], [[0, 0], [1, 0]], [[0, 1], [0, 0]]]:
        _check(wg.pad(_t(X), p, mode=mode), np.pad(X, p, mode=np_mode))
    p3 = [[1, 1], [2, 1], [3, 2]]
    _check(wg.pad(_t(Z), p3, mode=mode), np.pad(Z, p3, mode=np_mode))


def test_pad_symmetric_can_reach_the_full_width():
    # SYMMETRIC allows paddings up to the axis size, REFLECT up to size - 1 (TF).
    x = np.array([1.0, 2.0, 3.0])
    _check(wg.pad(_t(x), [[3, 3]], mode="SYMMETRIC"), np.pad(x, 3, mode="symmetric"))
    _check(wg.pad(_t(x), [[2, 2]], mode="REFLECT"), np.pad(x, 2, mode="reflect"))


# -- reductions ---------------------------------------------------------------------------------

R3 = RNG.standard_normal((3, 4, 5))
AXES = [None, 0, 1, 2, -1, -3, [0, 2], (1,), [-1, 0], [0, 1, 2], []]
REDUCTIONS = [
    ("reduce_sum", wg.reduce_sum, np.sum),
    ("reduce_mean", wg.reduce_mean, np.mean),
    ("reduce_max", wg.reduce_max, np.max),
    ("reduce_min", wg.reduce_min, np.min),
    ("reduce_prod", wg.reduce_prod, np.prod),
    ("reduce_logsumexp", wg.reduce_logsumexp, lambda x, axis, keepdims: np.log(
        np.sum(np.exp(x), axis=axis, keepdims=keepdims))),
    ("reduce_variance", wg.math.reduce_variance, np.var),
    ("reduce_std", wg.math.reduce_std, np.std),
]  # fmt: skip


@pytest.mark.parametrize("name, op, ref", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, op, ref, keepdims):
    for axis in AXES:
        np_axis = tuple(axis) if isinstance(axis, list) else axis
        expected = ref(R3, axis=np_axis, keepdims=keepdims)
        _check(op(_t(R3), axis=axis, keepdims=keepdims), expected, rtol=1e-12, atol=1e-14)
    x32 = R3.astype(np.float32)
    got = op(_t(x32), axis=1, keepdims=keepdims)
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got.numpy(), ref(R3, axis=1, keepdims=keepdims), rtol=1e-5, atol=1e-6
    )


def test_reductions_of_ints():
    a = np.array([[1, 2, 3], [4, 5, 7]], dtype=np.int32)
    _check(wg.reduce_sum(_t(a)), np.int32(22))
    _check(wg.reduce_sum(_t(a), axis=0), np.array([5, 7, 10], np.int32))
    _check(wg.reduce_max(_t(a), axis=1), np.array([3, 7], np.int32))
    _check(wg.reduce_min(_t(a)), np.int32(1))
    _check(wg.reduce_prod(_t(a), axis=1), np.array([6, 140], np.int32))


def test_reduce_mean_of_ints_is_an_int_like_tf():
    a = np.array([[1, 2], [3, 6]], dtype=np.int32)
    _check(wg.reduce_mean(_t(a)), np.int32(3))  # 12 / 4
    _check(wg.reduce_mean(_t(a), axis=0), np.array([2, 4], np.int32))
    _check(wg.reduce_mean(_t(a), axis=1), np.array([1, 4], np.int32))  # 1.5 -> 1, 4.5 -> 4
    _check(wg.reduce_mean([1, 0, 1, 0]), np.int32(0))  # TF's docstring example
    _check(wg.reduce_mean(_t(a.astype(np.int64)), axis=1, keepdims=True), [[1], [4]], dtype="int64")


def test_reduce_mean_of_negative_ints_truncates_like_tf():
    # TensorFlow divides the integer sum by the count in C++: truncation toward zero.
    _check(wg.reduce_mean(_t(np.array([-1, -2], np.int32))), np.int32(-1))
    _check(wg.reduce_mean(_t(np.array([[-3, 0], [3, 0]], np.int32)), axis=1), np.int32([-1, 1]))


def test_reduce_on_scalars_and_lists():
    _check(wg.reduce_sum(_t(np.float64(2.5))), np.float64(2.5))
    _check(wg.reduce_sum(_t(np.float64(2.5)), axis=[]), np.float64(2.5))
    _check(wg.reduce_max(_t(np.float64(2.5)), keepdims=True), np.float64(2.5))
    _check(wg.reduce_sum([[1.0, 2.0], [3.0, 4.0]], axis=1), np.array([3.0, 7.0], np.float32))
    _check(wg.reduce_sum(_t(R3), axis=wg.constant([0, 1])), R3.sum(axis=(0, 1)), rtol=1e-12)


def test_reduce_logsumexp_is_stable():
    for dtype in (np.float32, np.float64):
        got = wg.reduce_logsumexp(_t(np.array([1e4, 1e4], dtype=dtype)))
        assert got.dtype == dtype
        assert math.isfinite(float(got))
        assert math.isclose(float(got), 1e4 + math.log(2), rel_tol=1e-6)
    got = wg.reduce_logsumexp(_t(np.array([[-1e4, -1e4 - 1.0]])), axis=1)
    np.testing.assert_allclose(got.numpy(), [-1e4 + np.log1p(np.exp(-1.0))], rtol=1e-14)


def test_reduce_logsumexp_all_minus_inf_rows():
    x = np.array([[-np.inf, -np.inf], [0.0, 0.0], [-np.inf, 1.0]])
    got = wg.reduce_logsumexp(_t(x), axis=1).numpy()
    assert got[0] == -np.inf
    np.testing.assert_allclose(got[1:], [math.log(2), 1.0], rtol=1e-14)
    got = wg.reduce_logsumexp(_t(x), axis=1, keepdims=True)
    assert got.shape == (3, 1) and got.numpy()[0, 0] == -np.inf
    assert float(wg.reduce_logsumexp(_t(np.array([-np.inf])))) == -np.inf


def test_reduce_logsumexp_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((4, 6)) * 50
    _check(
        wg.reduce_logsumexp(_t(x), axis=1),
        torch.logsumexp(torch.from_numpy(x), dim=1).numpy(),
        rtol=1e-13,
    )


def test_reduce_variance_std_population():
    x = np.array([1.0, 3.0, 5.0, 7.0])
    _check(wg.math.reduce_variance(_t(x)), np.float64(5.0))
    _check(wg.math.reduce_std(_t(x)), np.float64(math.sqrt(5.0)))


# -- softmax, log_softmax ---------------------------------------------------------------------


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax():
    for axis in [-1, 0, 1, 2]:
        _check(wg.nn.softmax(_t(R3), axis=axis), _softmax_ref(R3, axis), rtol=1e-13)
    _check(wg.softmax(_t(R3)), _softmax_ref(R3, -1), rtol=1e-13)
    s = wg.nn.softmax(_t(R3)).numpy()
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-14)
    big = wg.nn.softmax(_t(np.array([1e4, 0.0, -1e4], np.float32))).numpy()
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(big, [1.0, 0.0, 0.0], atol=1e-30)


def test_log_softmax():
    for axis in [-1, 0, 1]:
        _check(wg.nn.log_softmax(_t(R3), axis=axis), np.log(_softmax_ref(R3, axis)), rtol=1e-12)
    for dtype in (np.float32, np.float64):
        got = wg.nn.log_softmax(_t(np.array([0.0, 1e4, -1e4], dtype=dtype)))
        assert got.dtype == dtype
        np.testing.assert_allclose(got.numpy(), [-1e4, 0.0, -2e4], rtol=1e-7, atol=1e-30)


def test_softmax_log_softmax_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 5)) * 20
    tx = torch.from_numpy(x)
    _check(wg.nn.softmax(_t(x), axis=0), torch.softmax(tx, dim=0).numpy(), rtol=1e-12, atol=1e-300)
    _check(wg.nn.log_softmax(_t(x)), torch.log_softmax(tx, dim=-1).numpy(), rtol=1e-12)


# -- cast, stop_gradient, argmax, tensordot, norm --------------------------------------------


def test_cast():
    f = np.array([1.7, -1.7, 2.5, -0.5, 0.0])
    _check(wg.cast(_t(f), "int32"), np.array([1, -1, 2, 0, 0], np.int32))  # truncation
    _check(wg.cast(_t(f), wg.float32), f.astype(np.float32))
    _check(wg.cast(_t(f), "bool"), f != 0)
    _check(wg.cast(_t(np.array([True, False])), "float32"), np.array([1.0, 0.0], np.float32))
    _check(wg.cast(_t(np.array([3, -2], np.int32)), "float64"), np.array([3.0, -2.0]))
    _check(wg.cast(_t(np.array([3, -2], np.int64)), "int32"), np.array([3, -2], np.int32))
    t = _t(f)
    _check(wg.cast(t, "float64"), f)
    _check(wg.cast([1, 2], "float16"), np.array([1, 2], np.float16))


def test_stop_gradient_value():
    _check(wg.stop_gradient(_t(X)), X)
    _check(wg.stop_gradient([1, 2]), np.array([1, 2], np.int32))


def test_argmax_argmin():
    a = np.array([[3.0, 9.0, 1.0, 9.0], [7.0, 2.0, 8.0, 2.0], [7.0, 2.0, 0.0, 5.0]])
    _check(wg.argmax(_t(a)), np.argmax(a, axis=0).astype(np.int64))
    _check(wg.argmax(_t(a), axis=1), np.argmax(a, axis=1).astype(np.int64))
    _check(wg.argmin(_t(a), axis=-1), np.argmin(a, axis=-1).astype(np.int64))
    _check(wg.argmin(_t(a)), np.argmin(a, axis=0).astype(np.int64))
    # ties: the first index, as in TF and NumPy
    np.testing.assert_array_equal(wg.argmax(_t(a), axis=1).numpy(), [1, 2, 0])
    _check(wg.argmax(_t(a), axis=1, output_type="int32"), np.array([1, 2, 0], np.int32))
    _check(wg.math.argmax([1, 5, 2]), np.int64(1))
    _check(wg.argmax(_t(R3), axis=1), np.argmax(R3, axis=1).astype(np.int64))


TENSORDOT = [
    ((3, 4), (4, 5), 1),
    ((2, 3, 4), (3, 4, 5), 2),
    ((3,), (4,), 0),
    ((2, 3), (2, 3), 2),
    ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (5, 2), ([0], [1])),
    ((2, 3, 4), (4, 2), (-1, 0)),
]


@pytest.mark.parametrize("sa, sb, axes", TENSORDOT, ids=str)
def test_tensordot(sa, sb, axes):
    a = RNG.standard_normal(sa)
    b = RNG.standard_normal(sb)
    _check(wg.tensordot(_t(a), _t(b), axes), np.tensordot(a, b, axes), rtol=1e-12, atol=1e-14)


def test_linalg_norm():
    _check(wg.linalg.norm(_t(R3)), np.linalg.norm(R3.ravel()), rtol=1e-13)
    _check(wg.linalg.norm(_t(X), axis=1), np.linalg.norm(X, axis=1), rtol=1e-13)
    _check(wg.linalg.norm(_t(X), axis=0, keepdims=True), np.linalg.norm(X, axis=0, keepdims=True))
    _check(wg.linalg.norm(_t(R3), axis=[1, 2]), np.sqrt((R3**2).sum(axis=(1, 2))), rtol=1e-13)
    assert math.isclose(float(wg.linalg.norm([3.0, 4.0])), 5.0)
    assert float(wg.linalg.norm(_t(np.zeros(3)))) == 0.0
