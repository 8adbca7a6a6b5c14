"""Constructors (ones, eye, range, one_hot, ...) and the random module."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import wengert as wg

# -- ones, zeros, *_like, fill ----------------------------------------------------------------


@pytest.mark.parametrize("fn, value", [(wg.ones, 1.0), (wg.zeros, 0.0)])
def test_ones_zeros(fn, value):
    t = fn((2, 3))
    assert type(t) is wg.Tensor
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), value))
    assert fn(4).shape == (4,)
    assert fn([]).shape == ()
    assert fn((0, 2)).shape == (0, 2)
    for dtype in ("float16", "float64", "int32", "int64", "bool"):
        t = fn([2], dtype=dtype)
        assert t.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(t.numpy(), np.full((2,), value, dtype=dtype))
    assert fn(wg.constant([2, 1])).shape == (2, 1)


@pytest.mark.parametrize("fn, value", [(wg.ones_like, 1), (wg.zeros_like, 0)])
def test_ones_zeros_like(fn, value):
    for src in (
        wg.constant(np.arange(6.0).reshape(2, 3)),
        wg.constant([[1, 2]]),
        wg.constant([True]),
        wg.Variable(np.zeros((3, 1), dtype=np.float16)),
    ):
        t = fn(src)
        assert type(t) is wg.Tensor
        assert t.shape == src.shape and t.dtype == src.dtype
        np.testing.assert_array_equal(t.numpy(), np.full(src.shape, value, dtype=src.dtype))
    assert fn([1, 2]).dtype == np.int32  # Python ints infer int32
    assert fn([1.0, 2.0]).dtype == np.float32
    t = fn(wg.constant([1.0, 2.0]), dtype="float64")
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [value, value])


def test_fill():
    t = wg.fill((2, 3), 7)
    assert t.dtype == np.int32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 7))
    t = wg.fill([3], 1.5)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), [1.5, 1.5, 1.5])
    t = wg.fill([2], np.float64(0.25))
    assert t.dtype == np.float64
    assert wg.fill([2, 2], True).dtype == np.bool_
    assert wg.fill([], 3.0).shape == ()


# -- eye, identity -----------------------------------------------------------------------


def test_eye():
    t = wg.eye(3)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.eye(3))
    np.testing.assert_array_equal(wg.eye(2, num_columns=4).numpy(), np.eye(2, 4))
    np.testing.assert_array_equal(wg.eye(4, 2).numpy(), np.eye(4, 2))
    assert wg.eye(2, dtype="float64").dtype == np.float64
    assert wg.eye(2, dtype="int32").dtype == np.int32


def test_eye_batch_shape():
    t = wg.eye(2, batch_shape=[3])
    assert t.shape == (3, 2, 2)
    np.testing.assert_array_equal(t.numpy(), np.broadcast_to(np.eye(2), (3, 2, 2)))
    t = wg.eye(2, num_columns=3, batch_shape=(2, 4), dtype="float64")
    assert t.shape == (2, 4, 2, 3) and t.dtype == np.float64
    for idx in np.ndindex(2, 4):
        np.testing.assert_array_equal(t.numpy()[idx], np.eye(2, 3))


def test_identity():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = wg.constant(a)
    i = wg.identity(t)
    assert type(i) is wg.Tensor
    assert i.dtype == np.float64
    np.testing.assert_array_equal(i.numpy(), a)
    np.testing.assert_array_equal(wg.identity([1, 2]).numpy(), [1, 2])


def test_identity_of_variable_is_a_tensor_snapshot():
    v = wg.Variable([1.0, 2.0])
    i = wg.identity(v)
    assert type(i) is wg.Tensor
    v.assign([3.0, 4.0])
    np.testing.assert_array_equal(i.numpy(), [1.0, 2.0])


# -- range, linspace ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        ((5,), np.arange(5)),
        ((2, 7), np.arange(2, 7)),
        ((3, 10, 3), np.arange(3, 10, 3)),
        ((10, 0, -3), np.arange(10, 0, -3)),
        ((0,), np.arange(0)),
        ((-3, 3), np.arange(-3, 3)),
    ],
)
def test_range_of_ints_is_int32(args, expected):
    t = wg.range(*args)
    assert t.dtype == np.int32
    np.testing.assert_array_equal(t.numpy(), expected)


@pytest.mark.parametrize(
    "args, expected",
    [
        ((5.0,), np.arange(5.0)),
        ((0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25)),
        ((1, 2, 0.5), np.arange(1, 2, 0.5)),
        ((1.0, -1.0, -0.5), np.arange(1.0, -1.0, -0.5)),
    ],
)
def test_range_with_floats_is_float32(args, expected):
    t = wg.range(*args)
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.numpy(), expected)


def test_range_dtype_argument():
    t = wg.range(4, dtype="float64")
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0, 3.0])
    assert wg.range(4, dtype="int64").dtype == np.int64


def test_range_zero_delta_raises():
    with pytest.raises(ValueError):
        wg.range(0, 5, 0)


def test_linspace():
    t = wg.linspace(0.0, 1.0, 5)
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.numpy(), np.linspace(0.0, 1.0, 5), rtol=1e-7)
    t = wg.linspace(np.float64(-2.0), np.float64(3.0), 11)
    assert t.dtype == np.float64
    np.testing.assert_allclose(t.numpy(), np.linspace(-2.0, 3.0, 11), rtol=1e-15)
    np.testing.assert_array_equal(wg.linspace(2.0, 5.0, 1).numpy(), [2.0])
    t = wg.linspace(5.0, 1.0, 3)
    np.testing.assert_allclose(t.numpy(), [5.0, 3.0, 1.0])
    # endpoints are exact
    t = wg.linspace(0.1, 0.7, 7).numpy()
    assert t[0] == np.float32(0.1) and t[-1] == np.float32(0.7)


def test_linspace_vector_endpoints():
    t = wg.linspace([0.0, 10.0], [1.0, 20.0], 3)
    np.testing.assert_allclose(t.numpy(), np.linspace([0.0, 10.0], [1.0, 20.0], 3))
    t = wg.linspace([0.0, 10.0], [1.0, 20.0], 3, axis=1)
    np.testing.assert_allclose(t.numpy(), np.linspace([0.0, 10.0], [1.0, 20.0], 3, axis=1))


# -- one_hot -----------------------------------------------------------------------------


def test_one_hot_basic():
    t = wg.one_hot([0, 2, 1], 3)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.eye(3)[[0, 2, 1]])


def test_one_hot_out_of_range_index_gives_all_off():
    # TensorFlow: an index outside [0, depth) gives a row of off_value.
    t = wg.one_hot([0, -1, 3, 1], 3)
    np.testing.assert_array_equal(t.numpy(), [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_one_hot_on_off_values_and_dtype():
    t = wg.one_hot(np.array([1, 0]), 2, on_value=5.0, off_value=-1.0)
    np.testing.assert_array_equal(t.numpy(), [[-1.0, 5.0], [5.0, -1.0]])
    t = wg.one_hot([1, 0], 2, dtype="float64")
    assert t.dtype == np.float64
    t = wg.one_hot([1], 3, on_value=7, off_value=0, dtype="int32")
    assert t.dtype == np.int32
    np.testing.assert_array_equal(t.numpy(), [[0, 7, 0]])


def test_one_hot_dtype_inferred_from_on_value():
    # TensorFlow: without dtype, the dtype of on_value / off_value is used.
    t = wg.one_hot([1, 0], 2, on_value=5, off_value=0)
    assert t.dtype == np.int32
    np.testing.assert_array_equal(t.numpy(), [[0, 5], [5, 0]])


def test_one_hot_axis():
    idx = np.array([[0, 2], [1, 1]])
    expected_last = np.eye(3)[idx]  # (2, 2, 3)
    np.testing.assert_array_equal(wg.one_hot(idx, 3).numpy(), expected_last)
    np.testing.assert_array_equal(
        wg.one_hot(idx, 3, axis=0).numpy(), np.moveaxis(expected_last, -1, 0)
    )
    np.testing.assert_array_equal(
        wg.one_hot(idx, 3, axis=1).numpy(), np.moveaxis(expected_last, -1, 1)
    )
    np.testing.assert_array_equal(wg.one_hot(wg.constant(idx), 3).numpy(), expected_last)


def test_one_hot_requires_integer_indices():
    with pytest.raises(TypeError):
        wg.one_hot([0.0, 1.0], 2)


# -- shape, size, rank --------------------------------------------------------------------


def test_shape_size_rank():
    t = wg.zeros((2, 3, 4))
    s = wg.shape(t)
    assert type(s) is wg.Tensor and s.dtype == np.int32
    np.testing.assert_array_equal(s.numpy(), [2, 3, 4])
    assert wg.shape(t, out_type="int64").dtype == np.int64
    n = wg.size(t)
    assert n.dtype == np.int32 and n.shape == () and int(n) == 24
    assert wg.size(t, out_type="int64").dtype == np.int64
    r = wg.rank(t)
    assert r.dtype == np.int32 and r.shape == () and int(r) == 3
    assert wg.shape(wg.constant(1.0)).shape == (0,)
    assert int(wg.rank(1.0)) == 0 and int(wg.size(1.0)) == 1
    np.testing.assert_array_equal(wg.shape([[1, 2, 3]]).numpy(), [1, 3])


# -- random: reproducibility ------------------------------------------------------------------

R = wg.random


def _draws():
    return [
        R.normal((5,)).numpy(),
        R.uniform((5,)).numpy(),
        R.truncated_normal((5,)).numpy(),
        R.uniform((5,), maxval=100, dtype="int32").numpy(),
        R.categorical([[0.0, 0.0, 0.0]], 5).numpy(),
        R.shuffle(np.arange(10)).numpy(),
    ]


def test_set_seed_reproduces_a_whole_sequence():
    R.set_seed(1234)
    first = _draws()
    R.set_seed(1234)
    second = _draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # consecutive draws differ from each other
    assert not np.array_equal(first[0], R.normal((5,)).numpy())
    R.set_seed(4321)
    third = _draws()
    assert not np.array_equal(first[0], third[0])
    assert not np.array_equal(first[1], third[1])


def test_op_level_seed_is_a_reproducible_stream_as_in_tensorflow():
    """tf.random.set_seed's rule: with an op seed, successive calls draw successive values
    (A1, A2), global draws in between do not matter, and set_seed starts over."""

    def draws():
        a1 = R.normal((4, 3), seed=11).numpy()
        _ = R.normal((100,))  # global draws in between don't matter
        a2 = R.normal((4, 3), seed=11).numpy()
        return [
            a1,
            a2,
            R.normal((4, 3), seed=12).numpy(),
            R.uniform((6,), seed=3).numpy(),
            R.truncated_normal((6,), seed=3).numpy(),
            R.shuffle(np.arange(20), seed=5).numpy(),
        ]

    R.set_seed(7)
    first = draws()
    assert not np.array_equal(first[0], first[1])  # A1, then A2
    assert not np.array_equal(first[0], first[2])
    R.set_seed(7)
    for a, b in zip(first, draws()):
        np.testing.assert_array_equal(a, b)


def test_uniform_stays_below_maxval_in_narrow_dtypes():
    R.set_seed(0)
    u = R.uniform((200000,), dtype="float16").numpy()
    assert u.max() < 1.0 and u.min() >= 0.0


def test_op_level_seed_depends_on_global_seed():
    R.set_seed(1)
    a = R.normal((8,), seed=5).numpy()
    R.set_seed(2)
    b = R.normal((8,), seed=5).numpy()
    R.set_seed(1)
    c = R.normal((8,), seed=5).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_generator_from_seed_is_independent_of_global_stream():
    g1 = R.Generator.from_seed(99)
    a = g1.normal((10,)).numpy()
    g2 = R.Generator.from_seed(99)
    R.set_seed(0)
    _ = R.normal((1000,))  # global activity between draws
    b = g2.normal((10,)).numpy()
    np.testing.assert_array_equal(a, b)
    # and a generator's draws don't disturb the global stream
    R.set_seed(5)
    x1 = R.normal((10,)).numpy()
    R.set_seed(5)
    _ = R.Generator.from_seed(1).normal((1000,))
    x2 = R.normal((10,)).numpy()
    np.testing.assert_array_equal(x1, x2)
    assert not np.array_equal(
        R.Generator.from_seed(1).uniform((5,)).numpy(),
        R.Generator.from_seed(2).uniform((5,)).numpy(),
    )


def test_generator_state_round_trip():
    g = R.Generator.from_seed(3)
    g.normal((7,))
    state = g.get_state()
    a = [g.normal((5,)).numpy(), g.uniform((3,)).numpy()]
    g.set_state(state)
    b = [g.normal((5,)).numpy(), g.uniform((3,)).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # the state is plain data: it survives JSON, and restores another generator
    other = R.Generator.from_seed(12345)
    other.set_state(json.loads(json.dumps(state)))
    np.testing.assert_array_equal(other.normal((5,)).numpy(), a[0])


def test_get_state_is_a_snapshot():
    g = R.Generator.from_seed(3)
    state = g.get_state()
    a = g.normal((4,)).numpy()
    g.normal((4,))  # advancing the generator must not change the saved state
    g.set_state(state)
    np.testing.assert_array_equal(g.normal((4,)).numpy(), a)


def test_global_generator():
    R.set_seed(21)
    g = R.get_global_generator()
    a = g.normal((3,)).numpy()
    R.set_seed(21)
    b = R.normal((3,)).numpy()
    np.testing.assert_array_equal(a, b)


# -- random: distributions ----------------------------------------------------------------

N = 200_000


def _check_moments(x, mean, std, mu4=None):
    """Sample mean and std within 5 standard errors of the true values."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    assert abs(x.mean() - mean) < 5 * std / math.sqrt(n), (x.mean(), mean)
    if mu4 is None:
        mu4 = 3 * std**4  # normal
    # Var(s^2) ~ (mu4 - sigma^4) / n and s ~ sqrt(s^2): delta method.
    se_std = math.sqrt((mu4 - std**4) / n) / (2 * std)
    assert abs(x.std() - std) < 5 * se_std, (x.std(), std)


def test_normal_statistics():
    R.set_seed(0)
    x = R.normal((N,))
    assert x.dtype == np.float32 and x.shape == (N,)
    _check_moments(x.numpy(), 0.0, 1.0)
    y = R.normal((400, 500), mean=2.0, stddev=3.0, dtype="float64")
    assert y.dtype == np.float64 and y.shape == (400, 500)
    _check_moments(y.numpy(), 2.0, 3.0)


def test_uniform_float_statistics_and_bounds():
    R.set_seed(0)
    x = R.uniform((N,))
    assert x.dtype == np.float32
    a = x.numpy()
    assert a.min() >= 0.0 and a.max() < 1.0
    _check_moments(a, 0.5, 1 / math.sqrt(12), mu4=1 / 80)
    y = R.uniform((N,), minval=-1.0, maxval=3.0, dtype="float64").numpy()
    assert y.dtype == np.float64
    assert y.min() >= -1.0 and y.max() < 3.0
    _check_moments(y, 1.0, 4 / math.sqrt(12), mu4=4**4 / 80)


def test_uniform_int():
    R.set_seed(0)
    x = R.uniform((N,), minval=-3, maxval=7, dtype="int32")
    assert x.dtype == np.int32
    a = x.numpy()
    assert a.min() == -3 and a.max() == 6
    assert set(np.unique(a).tolist()) == set(range(-3, 7))
    k = 10  # discrete uniform on k values: variance (k^2 - 1) / 12
    var = (k * k - 1) / 12
    mu4 = np.mean((np.arange(k) - (k - 1) / 2) ** 4)
    _check_moments(a, 1.5, math.sqrt(var), mu4=mu4)
    assert R.uniform((3,), maxval=5, dtype="int64").dtype == np.int64


def test_uniform_int_requires_maxval():
    with pytest.raises(ValueError, match="maxval"):
        R.uniform((3,), dtype="int32")
    with pytest.raises(ValueError):
        R.Generator.from_seed(0).uniform((3,), dtype="int64")


def test_truncated_normal_bound_and_statistics():
    R.set_seed(0)
    x = R.truncated_normal((N,), mean=1.0, stddev=0.5)
    assert x.dtype == np.float32
    a = x.numpy().astype(np.float64)
    assert np.all(np.abs(a - 1.0) <= 2 * 0.5 + 1e-6)
    # Standard normal truncated to [-2, 2]: Var = 1 - 2*2*phi(2) / (2*Phi(2) - 1).
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    std = math.sqrt(1 - 4 * phi2 / mass) * 0.5
    assert abs(a.mean() - 1.0) < 5 * std / math.sqrt(N)
    assert abs(a.std() - std) < 0.01 * std
    assert R.truncated_normal((3,), dtype="float64").dtype == np.float64


def test_categorical():
    R.set_seed(0)
    sure = R.categorical([[0.0, 100.0, -100.0], [50.0, -50.0, 0.0]], 20)
    assert sure.shape == (2, 20)
    assert sure.dtype == np.int64
    np.testing.assert_array_equal(sure.numpy(), [[1] * 20, [0] * 20])
    p = np.array([0.2, 0.3, 0.5])
    n = 100_000
    draws = R.categorical(wg.constant(np.log(p)[None, :]), n).numpy()
    assert draws.min() >= 0 and draws.max() <= 2
    freq = np.bincount(draws[0], minlength=3) / n
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(freq - p) < 5 * se), freq
    # logits are only defined up to a constant
    shifted = R.categorical([np.log(p) + 1000.0], 1000, seed=1).numpy()
    assert shifted.min() >= 0 and shifted.max() <= 2
    assert R.categorical([[0.0, 0.0]], 3, dtype="int32").dtype == np.int32


def test_categorical_requires_2d_logits():
    with pytest.raises(ValueError):
        R.categorical([0.0, 1.0], 3)


def test_shuffle_is_a_permutation_of_the_first_axis():
    R.set_seed(0)
    x = np.arange(100)
    s = R.shuffle(x).numpy()
    assert sorted(s.tolist()) == list(range(100))
    assert not np.array_equal(s, x)
    m = np.arange(30).reshape(10, 3)
    sm = R.shuffle(wg.constant(m)).numpy()
    assert sm.shape == (10, 3)
    # rows move as wholes
    assert sorted(map(tuple, sm.tolist())) == sorted(map(tuple, m.tolist()))
    assert not np.array_equal(sm, m)
    t = wg.constant(m)
    R.shuffle(t)
    np.testing.assert_array_equal(t.numpy(), m)  # the input is untouched
    st = R.shuffle(wg.constant(np.arange(5.0)))
    assert st.dtype == np.float64


def test_random_shapes_accept_ints_lists_and_tensors():
    assert R.normal(3).shape == (3,)
    assert R.normal([2, 3]).shape == (2, 3)
    assert R.uniform(wg.constant([4, 1])).shape == (4, 1)
    assert R.normal(()).shape == ()
