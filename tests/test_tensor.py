"""The Tensor and Variable API surface: construction, dtypes, operators, indexing, DLPack."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg

# -- immutability ----------------------------------------------------------------------


def test_no_item_assignment():
    t = wg.constant([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        t[0] = 5.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])


def test_shape_and_dtype_cannot_be_set():
    t = wg.constant([1.0, 2.0])
    with pytest.raises(AttributeError):
        t.shape = (1, 2)
    with pytest.raises(AttributeError):
        t.dtype = np.float64


def test_numpy_returns_a_copy():
    t = wg.constant([1.0, 2.0, 3.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray)
    a[0] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])
    assert t.numpy() is not t.numpy()


def test_numpy_of_0d_is_a_numpy_scalar():
    v = wg.constant(2.5).numpy()
    assert isinstance(v, np.floating)
    assert v == 2.5


def test_asarray_is_a_read_only_view():
    t = wg.constant([1.0, 2.0, 3.0])
    a = np.asarray(t)
    assert not a.flags.writeable
    with pytest.raises(ValueError):
        a[0] = 100.0
    # A view of the tensor's own memory, not a fresh copy each time.
    assert np.shares_memory(a, np.asarray(t))
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])


def test_np_array_copy_is_writable_and_independent():
    t = wg.constant([1.0, 2.0])
    a = np.array(t)
    a[0] = 9.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_asarray_with_dtype_converts():
    t = wg.constant([1.5, 2.5])
    a = np.asarray(t, dtype=np.float64)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, [1.5, 2.5])


def test_constructor_copies_its_input():
    src = np.array([1.0, 2.0, 3.0])
    t = wg.constant(src)
    c = wg.convert_to_tensor(src)
    T = wg.Tensor(src)
    src[0] = -1.0
    for x in (t, c, T):
        np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])


def test_indexing_result_is_immutable_too():
    t = wg.constant(np.arange(6.0).reshape(2, 3))
    row = t[::-1]
    a = np.asarray(row)
    with pytest.raises(ValueError):
        a[0, 0] = 100.0
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 3))


# -- inspection -----------------------------------------------------------------------


def test_shape_dtype_ndim_size():
    t = wg.constant(np.zeros((2, 3, 4), dtype=np.float64))
    assert t.shape == (2, 3, 4)
    assert isinstance(t.shape, tuple)
    assert t.dtype == np.float64
    assert t.dtype == wg.float64
    assert t.ndim == 3
    assert t.size == 24
    s = wg.constant(1.0)
    assert s.shape == () and s.ndim == 0 and s.size == 1


def test_len():
    assert len(wg.constant([[1, 2, 3], [4, 5, 6]])) == 2
    assert len(wg.zeros((5, 0))) == 5
    with pytest.raises(TypeError):
        len(wg.constant(3.0))


def test_iteration_yields_rows():
    a = np.arange(6.0).reshape(3, 2)
    t = wg.constant(a)
    rows = list(t)
    assert len(rows) == 3
    for r, expected in zip(rows, a):
        assert isinstance(r, wg.Tensor)
        assert r.shape == (2,)
        np.testing.assert_array_equal(r.numpy(), expected)
    with pytest.raises(TypeError):
        iter(wg.constant(1.0)).__next__()


def test_iteration_unpacking():
    x, y = wg.constant([3.0, 4.0])
    assert float(x) == 3.0 and float(y) == 4.0


def test_repr_shows_value_shape_dtype():
    r = repr(wg.constant([1.5, 2.5]))
    assert "shape=(2,)" in r
    assert "float32" in r
    assert "1.5" in r and "2.5" in r
    r = repr(wg.constant([[1, 2], [3, 4]], dtype="int64"))
    assert "shape=(2, 2)" in r and "int64" in r and "4" in r


def test_repr_of_variable_shows_name():
    r = repr(wg.Variable([7.0], name="kernel"))
    assert "kernel" in r and "Variable" in r and "7." in r


def test_str_shows_values():
    assert "2.5" in str(wg.constant([2.5]))


def test_scalar_conversions():
    assert float(wg.constant(2.5)) == 2.5
    assert int(wg.constant(7)) == 7
    assert int(wg.constant(7.9)) == 7
    assert bool(wg.constant(1.0)) is True
    assert bool(wg.constant(0.0)) is False
    assert bool(wg.constant(True)) is True
    assert bool(wg.constant(False)) is False


def test_bool_of_multi_element_is_ambiguous():
    with pytest.raises(ValueError):
        bool(wg.constant([1.0, 2.0]))


def test_index_protocol():
    lst = [10, 20, 30]
    assert lst[wg.constant(2)] == 30
    with pytest.raises(TypeError):
        lst[wg.constant(1.0)]


def test_is_tensor():
    assert wg.is_tensor(wg.constant(1.0))
    assert wg.is_tensor(wg.Variable(1.0))
    assert not wg.is_tensor(1.0)
    assert not wg.is_tensor(np.array(1.0))


# -- dtype inference (TensorFlow's rules) ------------------------------------------------


@pytest.mark.parametrize(
    "value, dtype",
    [
        (1.0, np.float32),
        ([1.0, 2.0], np.float32),
        ([1, 2.5], np.float32),
        (1, np.int32),
        ([1, 2, 3], np.int32),
        ([[1, 2], [3, 4]], np.int32),
        (2**31 - 1, np.int32),
        (-(2**31), np.int32),
        (2**31, np.int64),
        (2**40, np.int64),
        ([1, 2**40], np.int64),
        (True, np.bool_),
        ([True, False], np.bool_),
    ],
)
def test_python_value_dtype_inference(value, dtype):
    t = wg.constant(value)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(value))
    assert wg.convert_to_tensor(value).dtype == dtype


def test_large_int_keeps_its_value():
    assert int(wg.constant(2**40)) == 2**40


@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_]
)
def test_ndarray_keeps_its_dtype(dtype):
    a = np.array([1, 0, 1]).astype(dtype)
    for t in (wg.constant(a), wg.convert_to_tensor(a), wg.Tensor(a)):
        assert t.dtype == dtype
        np.testing.assert_array_equal(t.numpy(), a)


def test_numpy_scalars_keep_their_dtype():
    assert wg.constant(np.float64(1.5)).dtype == np.float64
    assert wg.constant(np.int64(3)).dtype == np.int64
    assert wg.constant(np.float16(1.5)).dtype == np.float16


@pytest.mark.parametrize(
    "dtype", ["float16", "float32", "float64", "int32", "int64", "bool", wg.float64, np.int32]
)
def test_explicit_dtype(dtype):
    t = wg.constant([1, 0, 1], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.array([1, 0, 1], dtype=dtype))


def test_float64_survives_ops():
    t = wg.constant(np.array([1.0, 2.0]))
    assert t.dtype == np.float64
    assert (t * 2.0).dtype == np.float64
    assert wg.exp(t).dtype == np.float64
    assert wg.reduce_sum(t).dtype == np.float64


def test_float_value_never_silently_becomes_an_integer():
    # TensorFlow: tf.constant(2.5, dtype=tf.int32) raises TypeError; wengert's own rule
    # for operands is that a float value never silently becomes an integer.
    with pytest.raises(TypeError):
        wg.constant(2.5, dtype="int32")
    with pytest.raises(TypeError):
        wg.constant([1.5, 2.0], dtype="int32")
    with pytest.raises(TypeError):
        wg.convert_to_tensor(2.5, dtype="int32")
    v = wg.Variable([1, 2])
    with pytest.raises(TypeError):
        v.assign([0.5, 1.5])
    with pytest.raises(TypeError):
        v.assign_add([0.5, 0.5])
    np.testing.assert_array_equal(v.numpy(), [1, 2])
    # whole-valued Python ints are fine, and so are floats for float dtypes
    assert wg.constant(2, dtype="float32").dtype == np.float32
    assert wg.constant([1, 2], dtype="int64").dtype == np.int64


def test_unconvertible_values_raise_type_error():
    with pytest.raises(TypeError):
        wg.constant(object())
    with pytest.raises(TypeError):
        wg.constant(["a", "b"])


def test_convert_list_of_tensors():
    t = wg.convert_to_tensor([wg.constant(1.0), wg.constant(2.0)])
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


# -- constant and convert_to_tensor ------------------------------------------------------


def test_constant_with_shape_broadcasts_a_scalar():
    t = wg.constant(3.0, shape=(2, 3))
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 3.0))


def test_constant_with_shape_reshapes():
    t = wg.constant([1, 2, 3, 4, 5, 6], shape=[2, 3])
    np.testing.assert_array_equal(t.numpy(), np.arange(1, 7).reshape(2, 3))
    assert t.dtype == np.int32


def test_constant_with_bad_shape_raises():
    with pytest.raises(ValueError, match="constant"):
        wg.constant([1.0, 2.0, 3.0], shape=(2, 2))


def test_constant_with_dtype_and_shape():
    t = wg.constant(1, dtype="float64", shape=(2,))
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0])


def test_constant_of_tensor_is_a_new_tensor_with_same_value():
    t = wg.constant([1.0, 2.0])
    c = wg.constant(t)
    assert c is not t
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    v = wg.Variable([1.0, 2.0])
    cv = wg.constant(v)
    assert type(cv) is wg.Tensor
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(cv.numpy(), [1.0, 2.0])


def test_convert_to_tensor_passthrough_identity():
    t = wg.constant([1.0])
    assert wg.convert_to_tensor(t) is t
    assert wg.convert_to_tensor(t, dtype="float32") is t
    v = wg.Variable([1.0])
    read = wg.convert_to_tensor(v)  # as TensorFlow: the variable's value, a plain Tensor
    assert type(read) is wg.Tensor and read.numpy().tolist() == [1.0]


def test_convert_to_tensor_dtype_mismatch_is_value_error():
    t = wg.constant([1.0])
    with pytest.raises(ValueError, match="float64"):
        wg.convert_to_tensor(t, dtype="float64")
    with pytest.raises(ValueError):
        wg.convert_to_tensor(wg.constant([1]), dtype="float32")


def test_convert_to_tensor_dtype_for_python_values():
    t = wg.convert_to_tensor([1, 2], dtype="float64")
    assert t.dtype == np.float64
    assert wg.convert_to_tensor([1, 2], dtype_hint="float32").dtype == np.float32
    # A hint never overrides an ndarray's own dtype.
    assert wg.convert_to_tensor(np.array([1.0]), dtype_hint="float32").dtype == np.float64


# -- operators ----------------------------------------------------------------------------

A = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])
B = np.array([[2.0, 1.0, -0.5], [3.0, -2.5, 2.0]])


@pytest.mark.parametrize(
    "op",
    [
        lambda x, y: x + y,
        lambda x, y: x - y,
        lambda x, y: x * y,
        lambda x, y: x / y,
        lambda x, y: x // y,
        lambda x, y: x % y,
        lambda x, y: abs(x) ** y,
    ],
    ids=["add", "sub", "mul", "truediv", "floordiv", "mod", "pow"],
)
def test_binary_operators_match_numpy(op):
    got = op(wg.constant(A), wg.constant(B))
    assert isinstance(got, wg.Tensor)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), op(A, B), rtol=1e-14)


@pytest.mark.parametrize(
    "op",
    [
        lambda x, y: x + y,
        lambda x, y: x - y,
        lambda x, y: x * y,
        lambda x, y: x / y,
        lambda x, y: x // y,
        lambda x, y: x % y,
        lambda x, y: x**y,
    ],
    ids=["add", "sub", "mul", "truediv", "floordiv", "mod", "pow"],
)
def test_reflected_operators_with_python_scalars(op):
    a = np.array([1.5, 2.0, 3.0])
    t = wg.constant(a)
    got = op(2.5, t)
    assert isinstance(got, wg.Tensor)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), op(2.5, a), rtol=1e-14)
    got = op(t, 2.5)
    np.testing.assert_allclose(got.numpy(), op(a, 2.5), rtol=1e-14)


def test_reflected_operators_with_ndarrays():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    n = np.array([4.0, 5.0, 6.0], dtype=np.float32)
    t = wg.constant(a)
    for got, expected in [
        (n + t, n + a),
        (n - t, n - a),
        (n * t, n * a),
        (n / t, n / a),
        (n // t, n // a),
        (n % t, n % a),
        (n**t, n**a),
    ]:
        assert type(got) is wg.Tensor
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_matmul_operator():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 4)
    got = wg.constant(a) @ wg.constant(b)
    np.testing.assert_allclose(got.numpy(), a @ b)
    got = a @ wg.constant(b)
    assert type(got) is wg.Tensor
    np.testing.assert_allclose(got.numpy(), a @ b)
    got = wg.constant(a) @ b
    np.testing.assert_allclose(got.numpy(), a @ b)


def test_unary_operators():
    a = np.array([-1.5, 0.0, 2.0])
    t = wg.constant(a)
    np.testing.assert_array_equal((-t).numpy(), -a)
    np.testing.assert_array_equal(abs(t).numpy(), np.abs(a))
    np.testing.assert_array_equal((+t).numpy(), a)
    assert (-t).dtype == np.float64


@pytest.mark.parametrize(
    "op",
    [
        lambda x, y: x < y,
        lambda x, y: x <= y,
        lambda x, y: x > y,
        lambda x, y: x >= y,
        lambda x, y: x == y,
        lambda x, y: x != y,
    ],
    ids=["lt", "le", "gt", "ge", "eq", "ne"],
)
def test_comparisons_are_elementwise_bool_tensors(op):
    a = np.array([1.0, 2.0, 3.0, 2.0])
    b = np.array([2.0, 2.0, 1.0, 5.0])
    got = op(wg.constant(a), wg.constant(b))
    assert isinstance(got, wg.Tensor)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got.numpy(), op(a, b))
    # with a Python scalar on either side, and broadcasting
    np.testing.assert_array_equal(op(wg.constant(a), 2.0).numpy(), op(a, 2.0))
    np.testing.assert_array_equal(op(2.0, wg.constant(a)).numpy(), op(2.0, a))
    m = np.arange(8.0).reshape(2, 4)
    np.testing.assert_array_equal(op(wg.constant(m), wg.constant(a)).numpy(), op(m, a))


def test_comparisons_with_ndarray_on_the_left_return_tensors():
    n = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    t = wg.constant([2.0, 2.0, 2.0])
    for got, expected in [(n < t, n < 2.0), (n == t, n == 2.0), (n >= t, n >= 2.0)]:
        assert type(got) is wg.Tensor
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), expected)


def test_python_bool_and_0d_mask_index_like_numpy():
    x = np.arange(6.0).reshape(2, 3)
    t = wg.constant(x)
    for key in [True, False, (True, 0), (0, [True, False, True]), (np.array(True),)]:
        np.testing.assert_array_equal(t[key].numpy(), x[key])
        assert t[key].shape == x[key].shape


def test_equality_with_none():
    t = wg.constant([1.0, 2.0])
    assert (t == None) is False  # noqa: E711
    assert (t != None) is True  # noqa: E711


def test_logical_operators_on_bool_tensors():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    ta, tb = wg.constant(a), wg.constant(b)
    np.testing.assert_array_equal((ta & tb).numpy(), a & b)
    np.testing.assert_array_equal((ta | tb).numpy(), a | b)
    np.testing.assert_array_equal((~ta).numpy(), ~a)


def test_int_operators():
    a = np.array([7, -7, 5, -5], dtype=np.int32)
    b = np.array([2, 2, -3, -3], dtype=np.int32)
    ta, tb = wg.constant(a), wg.constant(b)
    for got, expected in [
        (ta + tb, a + b),
        (ta * tb, a * b),
        (ta // tb, a // b),
        (ta % tb, a % b),
        (ta * 3, a * 3),
        (3 - ta, 3 - a),
    ]:
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got.numpy(), expected)


def test_int32_true_division_gives_float64_like_tf():
    got = wg.constant([1, 3]) / wg.constant([2, 2])
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.numpy(), [0.5, 1.5])


# -- dtype rules of binary ops ------------------------------------------------------------


def test_python_float_keeps_float32():
    t = wg.constant([1.0, 2.0])
    for r in (t * 2.5, 2.5 * t, t + 1e-3, t / 3.0, t**2.0, 1.0 - t):
        assert r.dtype == np.float32
    np.testing.assert_allclose((t * 2.5).numpy(), [2.5, 5.0])


def test_python_int_keeps_float32_and_int32():
    assert (wg.constant([1.0]) * 2).dtype == np.float32
    assert (wg.constant([1]) * 2).dtype == np.int32
    assert (wg.constant([1], dtype="int64") * 2).dtype == np.int64
    assert (wg.constant([1.0], dtype="float16") + 1).dtype == np.float16


def test_int_tensor_times_python_float_is_type_error():
    t = wg.constant([1, 2])
    with pytest.raises(TypeError):
        t * 2.5
    with pytest.raises(TypeError):
        2.5 * t
    with pytest.raises(TypeError):
        t + 0.5


def test_float32_plus_float64_names_op_and_dtypes():
    a = wg.constant([1.0, 2.0])
    b = wg.constant(np.array([1.0, 2.0]))
    with pytest.raises(TypeError) as info:
        a + b
    msg = str(info.value)
    assert "add" in msg and "float32" in msg and "float64" in msg
    with pytest.raises(TypeError) as info:
        wg.multiply(b, a)
    msg = str(info.value)
    assert "multiply" in msg and "float32" in msg and "float64" in msg


def test_int32_plus_float32_tensor_is_type_error():
    with pytest.raises(TypeError):
        wg.constant([1]) + wg.constant([1.0])


def test_ndarray_operand_takes_tensor_dtype():
    t = wg.constant([1.0, 2.0])  # float32
    n = np.array([0.5, 0.25])  # float64
    for r in (t + n, n + t, t * n, n * t, wg.add(t, n), wg.add(n, t)):
        assert type(r) is wg.Tensor
        assert r.dtype == np.float32
    np.testing.assert_allclose((t + n).numpy(), [1.5, 2.25])
    ti = wg.constant([1, 2])
    r = ti + np.array([3, 4], dtype=np.int64)
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r.numpy(), [4, 6])


def test_float_ndarray_next_to_int_tensor_is_type_error():
    with pytest.raises(TypeError):
        wg.constant([1, 2]) + np.array([0.5, 0.5])


def test_python_list_operand_takes_tensor_dtype():
    t = wg.constant(np.array([1.0, 2.0]))
    r = t + [1, 2]
    assert r.dtype == np.float64
    np.testing.assert_array_equal(r.numpy(), [2.0, 4.0])


# -- indexing (must match NumPy exactly) ----------------------------------------------------

X = np.arange(60.0).reshape(3, 4, 5)

BASIC_KEYS = [
    0,
    -1,
    2,
    (1, 2),
    (1, 2, 3),
    (-1, -2, -3),
    slice(None),
    slice(1, None),
    slice(None, 2),
    slice(None, None, -1),
    slice(None, None, 2),
    slice(2, 0, -1),
    slice(-1, None, -2),
    (slice(None), 1),
    (slice(None), slice(1, 3), slice(None, None, -1)),
    (Ellipsis, 0),
    (Ellipsis, slice(None, None, -2)),
    (0, Ellipsis),
    (1, Ellipsis, 2),
    None,
    (None, 0),
    (slice(None), None, 1),
    (Ellipsis, None),
    (0, None, slice(1, 3), None),
    (),
    slice(5, 10),
    (np.int64(1), np.int32(-1)),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=[repr(k) for k in BASIC_KEYS])
def test_basic_indexing_matches_numpy(key):
    got = wg.constant(X)[key]
    expected = X[key]
    assert isinstance(got, wg.Tensor)
    assert got.shape == np.shape(expected)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.numpy(), expected)


ADVANCED_KEYS = [
    [0, 2],
    [2, 0, 2],
    [-1, 0],
    np.array([1, 1, 0]),
    np.array([[0, 1], [2, 0]]),
    (slice(None), [3, 0, 1]),
    ([0, 2], [1, 3]),
    ([0, 2], [1, 3], [4, 0]),
    (np.array([[0], [2]]), np.array([1, 3])),
    ([0, 1], slice(None), [4, 0]),
    (Ellipsis, [4, 0, 4]),
    (1, [0, 3], slice(1, 3)),
    (slice(None), [[0, 1], [2, 3]], 0),
    ([1], None, [2]),
]


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=[repr(k) for k in ADVANCED_KEYS])
def test_integer_array_indexing_matches_numpy(key):
    got = wg.constant(X)[key]
    np_key = (
        tuple(np.asarray(k) if isinstance(k, list) else k for k in key)
        if isinstance(key, tuple)
        else np.asarray(key)
    )
    expected = X[np_key]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.numpy(), expected)


def test_integer_tensor_index():
    t = wg.constant(X)
    np.testing.assert_array_equal(t[wg.constant([2, 0])].numpy(), X[[2, 0]])
    np.testing.assert_array_equal(t[wg.constant(1)].numpy(), X[1])
    np.testing.assert_array_equal(t[:, wg.constant(-1)].numpy(), X[:, -1])


def test_boolean_mask_indexing_matches_numpy():
    t = wg.constant(X)
    mask3 = X % 3 == 0
    np.testing.assert_array_equal(t[mask3].numpy(), X[mask3])
    np.testing.assert_array_equal(t[wg.constant(mask3)].numpy(), X[mask3])
    mask1 = np.array([True, False, True])
    np.testing.assert_array_equal(t[mask1].numpy(), X[mask1])
    mask2 = np.array([True, False, False, True])
    np.testing.assert_array_equal(t[:, mask2].numpy(), X[:, mask2])
    np.testing.assert_array_equal(t[1, mask2, 2:].numpy(), X[1, mask2, 2:])
    assert t[np.zeros(3, dtype=bool)].shape == (0, 4, 5)
    m2d = X[:, :, 0] > 20
    np.testing.assert_array_equal(t[m2d].numpy(), X[m2d])


def test_empty_index_list_matches_numpy():
    t = wg.constant(X)
    for key in ([], (slice(None), []), np.array([], dtype=np.int64)):
        np_key = (
            tuple(np.asarray(k, dtype=np.intp) if isinstance(k, list) else k for k in key)
            if (isinstance(key, tuple))
            else np.asarray(key, dtype=np.intp)
        )
        expected = X[np_key]
        got = t[key]
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got.numpy(), expected)


def test_index_out_of_range_is_index_error():
    t = wg.constant(X)
    with pytest.raises(IndexError):
        t[3]
    with pytest.raises(IndexError):
        t[:, [0, 4]]
    with pytest.raises(IndexError):
        t[0, 0, 0, 0]


def test_float_index_is_index_error():
    t = wg.constant(X)
    with pytest.raises(IndexError):
        t[np.array([0.0, 1.0])]


def test_indexing_int_and_bool_tensors():
    b = np.array([True, False, True])
    np.testing.assert_array_equal(wg.constant(b)[::-1].numpy(), b[::-1])
    i = np.arange(10, dtype=np.int64)
    got = wg.constant(i)[[1, 3]]
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), [1, 3])


# -- Variable ----------------------------------------------------------------------------


def test_variable_is_a_tensor_with_name_and_trainable():
    v = wg.Variable([1.0, 2.0], name="w")
    assert isinstance(v, wg.Tensor)
    assert v.name == "w"
    assert v.trainable is True
    assert v.dtype == np.float32
    assert v.shape == (2,)
    assert wg.Variable(1.0, trainable=False).trainable is False
    assert isinstance(wg.Variable(0.0).name, str)


def test_variable_dtype_and_callable_initial_value():
    v = wg.Variable(lambda: np.ones((2, 2)), dtype="float64")
    assert v.dtype == np.float64
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 2)))
    assert wg.Variable(np.array([1.0])).dtype == np.float64
    assert wg.Variable(3).dtype == np.int32


def test_variable_assign_returns_the_variable():
    v = wg.Variable([1.0, 2.0])
    assert v.assign([3.0, 4.0]) is v
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])
    assert v.assign_add([1.0, 1.0]) is v
    np.testing.assert_array_equal(v.numpy(), [4.0, 5.0])
    assert v.assign_sub([0.5, 2.0]) is v
    np.testing.assert_array_equal(v.numpy(), [3.5, 3.0])
    assert v.dtype == np.float32


def test_variable_assign_from_tensor_and_array():
    v = wg.Variable(np.zeros(3))
    v.assign(wg.constant(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])
    v.assign_add(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(v.numpy(), [2.0, 3.0, 4.0])
    assert v.dtype == np.float64


def test_variable_assign_read_value_false():
    v = wg.Variable(1.0)
    assert v.assign(2.0, read_value=False) is None
    assert float(v) == 2.0


@pytest.mark.parametrize("method", ["assign", "assign_add", "assign_sub"])
def test_variable_assign_shape_mismatch_names_variable(method):
    v = wg.Variable([1.0, 2.0], name="my_weight")
    with pytest.raises(ValueError) as info:
        getattr(v, method)([1.0, 2.0, 3.0])
    assert "my_weight" in str(info.value)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


def test_variable_reads_in_ops_see_current_value():
    v = wg.Variable([1.0, 2.0])
    y = v * 2.0
    assert type(y) is wg.Tensor
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    v.assign([10.0, 20.0])
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])  # earlier results don't change
    np.testing.assert_array_equal((v + 1.0).numpy(), [11.0, 21.0])
    np.testing.assert_array_equal(wg.reduce_sum(v).numpy(), 30.0)
    np.testing.assert_array_equal(v[1].numpy(), 20.0)
    np.testing.assert_array_equal((v @ wg.constant([[1.0], [1.0]])).numpy(), [30.0])


def test_variable_value_is_a_snapshot():
    v = wg.Variable([1.0, 2.0])
    snap = v.value()
    arr = np.asarray(v)
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(snap.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(arr, [1.0, 2.0])  # assign replaces, never writes in place
    np.testing.assert_array_equal(v.read_value().numpy(), [2.0, 3.0])


def test_variable_hashes_by_identity():
    v = wg.Variable(1.0)
    w = wg.Variable(1.0)
    d = {v: "v", w: "w"}
    v.assign(5.0)
    assert d[v] == "v" and d[w] == "w"


# -- hashing -----------------------------------------------------------------------------


def test_tensors_hash_by_identity():
    a = wg.constant([1.0, 2.0])
    b = wg.constant([1.0, 2.0])
    assert hash(a) == hash(a)
    d = {a: 1, b: 2}
    assert d[a] == 1 and d[b] == 2
    assert len({a, b, a}) == 2
    assert a.ref() is a


# -- DLPack -------------------------------------------------------------------------------


def test_from_dlpack_numpy():
    src = np.arange(6.0).reshape(2, 3)
    t = wg.from_dlpack(src)
    assert type(t) is wg.Tensor
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), src)
    src[0, 0] = 100.0  # wengert copies: later changes to the producer don't reach it
    assert t.numpy()[0, 0] == 0.0


def test_np_from_dlpack_of_tensor():
    t = wg.constant([[1.0, 2.0], [3.0, 4.0]])
    a = np.from_dlpack(t)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, [[1.0, 2.0], [3.0, 4.0]])


def test_np_from_dlpack_cannot_mutate_tensor():
    # Tensors are immutable: a DLPack consumer gets a read-only view (or a copy),
    # just as np.asarray(t) does.
    t = wg.constant([1.0, 2.0, 3.0])
    a = np.from_dlpack(t)
    if a.flags.writeable:
        a[0] = 100.0
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0, 3.0])


def test_dlpack_device_is_cpu():
    t = wg.constant([1.0])
    assert t.__dlpack_device__()[0] == 1  # kDLCPU


def test_from_dlpack_torch():
    torch = pytest.importorskip("torch")
    src = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    t = wg.from_dlpack(src)
    assert type(t) is wg.Tensor
    assert t.dtype == np.float32
    assert t.shape == (3, 4)
    np.testing.assert_array_equal(t.numpy(), src.numpy())
    src[0, 0] = 99.0
    assert t.numpy()[0, 0] == 0.0
    for tdt, ndt in [(torch.float64, np.float64), (torch.int32, np.int32), (torch.int64, np.int64)]:
        assert wg.from_dlpack(torch.zeros(2, dtype=tdt)).dtype == ndt


def test_constant_accepts_torch_tensor():
    torch = pytest.importorskip("torch")
    t = wg.constant(torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_torch_from_dlpack_of_tensor():
    torch = pytest.importorskip("torch")
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    t = wg.constant(a)
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch.float32
    assert tuple(tt.shape) == (2, 3)
    np.testing.assert_array_equal(tt.numpy(), a)
    # and back again
    np.testing.assert_array_equal(wg.from_dlpack(tt * 2).numpy(), a * 2)
    # non-contiguous results of wengert ops export with the right values too
    tt2 = torch.from_dlpack(wg.transpose(t))
    np.testing.assert_array_equal(tt2.numpy(), a.T)
