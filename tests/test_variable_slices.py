"""Sliced variable updates and scatter_nd: ``v[key].assign(x)``, ``Variable.scatter_nd_*``,
``wg.scatter_nd`` and ``wg.tensor_scatter_nd_*``, against NumPy (and PyTorch when installed).

Reading ``v[key]`` must stay an ordinary, differentiable getitem; writing is in place
(every reference to the variable sees it) and not differentiable, as in TensorFlow.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert.test_util import check_grads

RNG = np.random.default_rng(7)

# Basic-indexing keys as TensorFlow's strided slices accept them (ints, slices with steps,
# negative steps, Ellipsis, newaxis), each for a variable of shape (4, 5).
KEYS = {
    "int": 1,
    "negative_int": -1,
    "slice": slice(1, 3),
    "step": (slice(None), slice(None, None, 2)),
    "negative_step": (slice(None, None, -2), slice(3, 0, -1)),
    "int_and_slice": (0, slice(1, 4)),
    "scalar": (2, 3),
    "ellipsis": (Ellipsis, 1),
    "newaxis": (None, slice(1, 3), None, 0),
    "everything": Ellipsis,
    "empty": slice(3, 1),
}


def _variable(dtype="float32", name="w"):
    return wg.Variable(np.arange(20).reshape(4, 5).astype(dtype), name=name)


# -- reading: unchanged -----------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_reading_a_slice_is_numpy_indexing(key):
    v = _variable()
    s = v[key]
    ref = np.arange(20).reshape(4, 5).astype("float32")[key]
    assert isinstance(s, wg.Tensor) and not isinstance(s, wg.Variable)
    assert s.shape == ref.shape and s.dtype == ref.dtype
    np.testing.assert_array_equal(s.numpy(), ref)
    np.testing.assert_array_equal(s.numpy(), wg.constant(v.numpy())[key].numpy())


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_gradient_flows_through_a_slice_to_the_variable(key):
    v = _variable("float64")
    w = RNG.standard_normal(np.zeros((4, 5))[key].shape)
    with wg.GradientTape() as tape:
        y = wg.reduce_sum(v[key] * w)
    expected = np.zeros((4, 5))
    expected[key] += w
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), expected)


def test_slices_are_usable_in_math_and_forward_mode():
    v = wg.Variable([[1.0, 2.0], [3.0, 4.0]])
    y = v[0] * 2.0 + v[1] - wg.constant([1.0, 1.0])
    np.testing.assert_array_equal(y.numpy(), [4.0, 7.0])
    tangent = wg.constant([[1.0, 0.0], [0.0, 1.0]])
    with wg.ForwardAccumulator(v, tangent) as acc:
        z = v[:, 1] * v[:, 1]
    np.testing.assert_allclose(acc.jvp(z).numpy(), [0.0, 8.0])


def test_a_read_slice_is_a_snapshot():
    v = _variable()
    s = v[1:3]
    before = s.numpy()
    v[1:3].assign(0.0)
    v.assign(np.ones((4, 5), "float32"))
    np.testing.assert_array_equal(s.numpy(), before)


def test_plain_tensors_have_no_assign():
    t = wg.constant([1.0, 2.0])
    assert not hasattr(t[0], "assign")
    with pytest.raises(TypeError):
        _variable()[0] = 1.0  # as tf.Variable: no item assignment, use v[0].assign


# -- writing: values against NumPy ---------------------------------------------------------


def _value_for(ref_slice, kind):
    shape = ref_slice.shape
    if kind == "full":
        return RNG.integers(-9, 9, shape).astype("float32")
    if kind == "scalar":
        return 7.0
    # one row that broadcasts over the slice's leading axes
    return RNG.integers(-9, 9, shape[-1:] if shape else ()).astype("float32")


@pytest.mark.parametrize("kind", ["full", "scalar", "broadcast_row"])
@pytest.mark.parametrize("op", ["assign", "assign_add", "assign_sub"])
@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_sliced_updates_match_numpy(key, op, kind):
    v = _variable()
    ref = v.numpy()
    value = _value_for(ref[key], kind)
    result = getattr(v[key], op)(value)
    if op == "assign":
        ref[key] = value
    elif op == "assign_add":
        ref[key] += value
    else:
        ref[key] -= value
    assert result is v  # TensorFlow returns the (updated) variable
    assert v.dtype == np.float32 and v.shape == (4, 5)
    np.testing.assert_array_equal(v.numpy(), ref)


def test_values_may_be_tensors_variables_and_slices_of_the_same_variable():
    v = wg.Variable([1.0, 2.0, 3.0, 4.0])
    v[1:3].assign(wg.constant([5.0, 6.0]))
    np.testing.assert_array_equal(v.numpy(), [1.0, 5.0, 6.0, 4.0])
    v[1:].assign(v[:-1])  # overlapping source and destination: the old values move
    np.testing.assert_array_equal(v.numpy(), [1.0, 1.0, 5.0, 6.0])
    v[::-1].assign(v)
    np.testing.assert_array_equal(v.numpy(), [6.0, 5.0, 1.0, 1.0])
    v[0].assign(wg.Variable(9.0))
    np.testing.assert_array_equal(v.numpy(), [9.0, 5.0, 1.0, 1.0])


def test_integer_and_non_trainable_variables():
    v = wg.Variable([[1, 2], [3, 4]], trainable=False, name="counts")
    v[:, 0].assign_add(10)
    v[1, 1].assign(0)
    np.testing.assert_array_equal(v.numpy(), [[11, 2], [13, 0]])
    assert v.dtype == np.int32


def test_updates_are_in_place_for_every_reference():
    v = _variable()
    alias = v
    holder = {"weights": [v]}
    v[0, :].assign_add(np.ones(5, "float32"))
    v[3].assign_sub(1.0)
    expected = np.arange(20).reshape(4, 5).astype("float32")
    expected[0] += 1
    expected[3] -= 1
    for ref in (alias, holder["weights"][0]):
        np.testing.assert_array_equal(ref.numpy(), expected)
        np.testing.assert_array_equal(wg.identity(ref).numpy(), expected)


def test_updates_reach_a_layer_that_owns_the_variable():
    layer = wg.layers.Dense(2, use_bias=False)
    layer.build((None, 3))
    kernel = layer.trainable_variables[0]
    kernel[:, 1].assign(0.0)
    kernel[0].assign([1.0, 2.0])
    np.testing.assert_array_equal(layer.trainable_variables[0][:, 1].numpy(), [2.0, 0.0, 0.0])
    x = wg.constant([[1.0, 1.0, 1.0]])
    np.testing.assert_allclose(layer(x).numpy()[0, 1], 2.0)


def test_views_and_saved_arrays_are_not_written_copy_on_write():
    v = wg.Variable([1.0, 2.0, 3.0])
    view = np.asarray(v)  # a read-only view of the variable's array at this moment
    v[0].assign(100.0)
    v.scatter_nd_add([[2]], [5.0])
    np.testing.assert_array_equal(view, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v.numpy(), [100.0, 2.0, 8.0])


def test_updates_when_nothing_else_holds_the_array_are_in_place_and_correct():
    v = wg.Variable(np.zeros(6, "float32"))
    for i in range(6):
        v.scatter_nd_update([[i]], [float(i)])
        v.scatter_nd_add([[i]], [1.0])
    np.testing.assert_array_equal(v.numpy(), np.arange(6) + 1.0)


def _address(v):
    # The variable's array's memory, read without holding a reference to the array: a
    # held reference would itself force a copy-on-write.
    return v._value.__array_interface__["data"][0]


@pytest.mark.parametrize("op", ["assign", "assign_add", "assign_sub"])
def test_sliced_writes_are_in_place_when_nothing_else_holds_the_array(op):
    v = wg.Variable(np.zeros((64, 8), "float32"))
    address = _address(v)
    for i in range(64):
        getattr(v[i], op)(np.full(8, i, "float32"))  # the temporary slice must not count
    assert _address(v) == address
    rows = np.arange(64.0)[:, None] * (-1 if op == "assign_sub" else 1)
    np.testing.assert_array_equal(v.numpy(), np.broadcast_to(rows, (64, 8)))
    held = v[1:3]  # a slice that is held is still a snapshot, and its own write is in place
    before = held.numpy()
    held.assign(-1.0)
    assert _address(v) == address
    np.testing.assert_array_equal(held.numpy(), before)
    np.testing.assert_array_equal(v.numpy()[1:3], -1.0)


def test_sliced_writes_copy_when_something_else_holds_the_array():
    v = wg.Variable([1.0, 2.0, 3.0, 4.0])
    address = _address(v)
    view = np.asarray(v)
    v[0].assign(10.0)
    assert _address(v) != address  # copy-on-write: the view keeps the old values
    np.testing.assert_array_equal(view, [1.0, 2.0, 3.0, 4.0])

    other = v[2:]  # a slice read earlier and still held is a view of the array
    address = _address(v)
    v[1].assign_add(1.0)
    assert _address(v) != address
    np.testing.assert_array_equal(other.numpy(), [3.0, 4.0])

    with wg.GradientTape() as tape:
        y = wg.reduce_sum(v * v)  # the tape saves the variable's array
        address = _address(v)
        v[3].assign_sub(4.0)
        assert _address(v) != address
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [20.0, 6.0, 6.0, 8.0])
    np.testing.assert_array_equal(v.numpy(), [10.0, 3.0, 3.0, 0.0])


def test_item_assignment_points_to_assign():
    v = wg.Variable([1.0, 2.0, 3.0], name="w")
    with pytest.raises(TypeError, match=r"does not support item assignment.*'w'.*\[key\]\.assign"):
        v[0] = 5.0
    with pytest.raises(TypeError, match=r"`variable\[key\] \+= value`.*assign_add"):
        v[0] += 1.0  # computes v[0] + 1.0, then Variable.__setitem__ raises
    with pytest.raises(TypeError, match="scatter_nd_update"):
        v[:] -= 0.5
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])
    s = v[0]
    s += 1.0  # a slice held as a Tensor rebinds, as any Tensor does
    assert float(s) == 2.0 and float(v[0]) == 1.0


def test_constraint_is_not_applied_by_sliced_assign_as_by_assign():
    # TensorFlow applies a variable's constraint in optimizers, never in assign.
    v = wg.Variable([1.0, 2.0], constraint=wg.constraints.NonNeg())
    v[0].assign(-1.0)
    w = wg.Variable([1.0, 2.0], constraint=wg.constraints.NonNeg())
    w.assign([-1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), w.numpy())


# -- writing under a tape: not differentiable, later reads see it ---------------------------------


def test_assignment_under_a_tape():
    v = wg.Variable([1.0, 2.0, 3.0])
    x = wg.constant(4.0)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        before = wg.reduce_sum(v * v)  # saves the old value
        v[1:].assign([x * 2.0, x * 3.0])  # the value's history is not recorded
        after = wg.reduce_sum(v * v)  # a later read sees the new value
    np.testing.assert_allclose(before.numpy(), 14.0)
    np.testing.assert_allclose(after.numpy(), 1.0 + 64.0 + 144.0)
    np.testing.assert_allclose(tape.gradient(before, v).numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(tape.gradient(after, v).numpy(), [2.0, 16.0, 24.0])
    assert tape.gradient(after, x) is None  # assignment is not differentiable


def test_scatter_under_a_tape_keeps_saved_values():
    v = wg.Variable([1.0, 2.0, 3.0])
    with wg.GradientTape() as tape:
        y = v * v
        v.scatter_nd_sub([[0], [0]], [1.0, 1.0])
        loss = wg.reduce_sum(y)
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(v.numpy(), [-1.0, 2.0, 3.0])


# -- errors ------------------------------------------------------------------------------------


def test_shape_mismatch_names_variable_slice_shape_and_value_shape():
    v = _variable()
    with pytest.raises(ValueError, match=r"Variable 'w'\[1:3\]\.assign.*\(3, 4\).*\(2, 5\)"):
        v[1:3].assign(np.zeros((3, 4), "float32"))
    with pytest.raises(ValueError, match=r"Variable 'w'\[0, ::2\]\.assign_add.*\(2,\).*\(3,\)"):
        v[0, ::2].assign_add([1.0, 2.0])
    with pytest.raises(ValueError, match=r"Variable 'w'\[\.\.\., 1\]\.assign_sub.*\(4, 1\)"):
        v[..., 1].assign_sub(np.zeros((4, 1), "float32"))  # (4, 1) does not broadcast to (4,)
    np.testing.assert_array_equal(v.numpy(), np.arange(20).reshape(4, 5))


def test_dtype_rules_are_assigns():
    v = wg.Variable([1, 2, 3], name="ints")
    with pytest.raises(TypeError, match=r"Variable 'ints'\[0\]\.assign: .*float"):
        v[0].assign(1.5)
    with pytest.raises(TypeError, match=r"Variable 'ints'\.assign: .*float"):
        v.assign([1.5, 2.0, 3.0])
    f = wg.Variable([1.0, 2.0], name="f")
    with pytest.raises(ValueError, match=r"Variable 'f'\[:1\]\.assign: .*float64"):
        f[:1].assign(wg.constant([1.0], dtype="float64"))
    np.testing.assert_array_equal(v.numpy(), [1, 2, 3])


def test_index_arrays_cannot_be_assigned_to():
    v = _variable()
    s = v[[0, 2]]  # reading with index arrays works as for tensors
    np.testing.assert_array_equal(s.numpy(), v.numpy()[[0, 2]])
    with pytest.raises(TypeError, match=r"Variable 'w'\[\[0, 2\]\]\.assign.*scatter_nd_update"):
        s.assign(0.0)
    with pytest.raises(TypeError, match="scatter_nd"):
        v[v.numpy() > 3].assign_add(1.0)


def test_out_of_range_index_fails_at_the_read():
    with pytest.raises(IndexError, match="getitem"):
        _variable()[4].assign(0.0)


# -- Variable.scatter_nd_* -------------------------------------------------------------------


def _np_scatter(ref, indices, updates, op):
    ref = ref.copy()
    idx = np.asarray(indices)
    flat = idx.reshape(-1, idx.shape[-1])
    upd = np.asarray(updates).reshape((flat.shape[0],) + ref.shape[idx.shape[-1] :])
    for row, u in zip(flat, upd):  # sequentially, as TensorFlow's CPU kernel
        if op == "update":
            ref[tuple(row)] = u
        elif op == "add":
            ref[tuple(row)] += u
        else:
            ref[tuple(row)] -= u
    return ref


SCATTER_CASES = {
    "elements": ([[0, 1], [3, 4], [2, 0]], (3,)),
    "rows": ([[3], [0]], (2, 5)),
    "repeats": ([[1, 1], [2, 2], [1, 1], [1, 1]], (4,)),
    "repeated_rows": ([[2], [2]], (2, 5)),
    "batched_indices": ([[[0, 0], [1, 1]], [[2, 2], [0, 0]]], (2, 2)),
    "none": (np.zeros((0, 1), "int64"), (0, 5)),
}


@pytest.mark.parametrize("op", ["update", "add", "sub"])
@pytest.mark.parametrize("case", SCATTER_CASES.values(), ids=SCATTER_CASES.keys())
def test_variable_scatter_nd_matches_sequential_numpy(case, op):
    indices, updates_shape = case
    v = _variable()
    updates = RNG.integers(-9, 9, updates_shape).astype("float32")
    ref = _np_scatter(v.numpy(), indices, updates, op)
    assert getattr(v, f"scatter_nd_{op}")(indices, updates) is v
    np.testing.assert_array_equal(v.numpy(), ref)


def test_variable_scatter_nd_update_last_write_wins():
    v = wg.Variable([0.0, 0.0, 0.0])
    v.scatter_nd_update(wg.constant([[1], [1], [1]]), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v.numpy(), [0.0, 3.0, 0.0])


def test_variable_scatter_errors():
    v = _variable()
    with pytest.raises(IndexError, match=r"Variable 'w'\.scatter_nd_add.*\[4, 0\].*\(4, 5\)"):
        v.scatter_nd_add([[0, 0], [4, 0]], [1.0, 1.0])
    with pytest.raises(IndexError, match="does not index"):
        v.scatter_nd_update([[-1]], np.zeros((1, 5), "float32"))  # TensorFlow refuses negatives
    with pytest.raises(ValueError, match=r"Variable 'w'\.scatter_nd_sub.*\(3,\).*\(2,\)"):
        v.scatter_nd_sub([[0, 0], [1, 1]], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="last axis"):
        v.scatter_nd_update([[0, 0, 0]], [1.0])
    with pytest.raises(TypeError, match="integers"):
        v.scatter_nd_update([[0.0]], np.zeros((1, 5), "float32"))
    with pytest.raises(TypeError, match=r"Variable 'i'\.scatter_nd_add.*float"):
        wg.Variable([1, 2], name="i").scatter_nd_add([[0]], [0.5])
    np.testing.assert_array_equal(v.numpy(), np.arange(20).reshape(4, 5))


# -- wg.scatter_nd and wg.tensor_scatter_nd_* ---------------------------------------------


@pytest.mark.parametrize("op", ["update", "add", "sub"])
@pytest.mark.parametrize("case", SCATTER_CASES.values(), ids=SCATTER_CASES.keys())
def test_tensor_scatter_nd_matches_sequential_numpy(case, op):
    indices, updates_shape = case
    x = RNG.standard_normal((4, 5))
    updates = RNG.standard_normal(updates_shape)
    t = wg.constant(x)
    out = getattr(wg, f"tensor_scatter_nd_{op}")(t, indices, updates)
    assert out.dtype == np.float64 and out.shape == (4, 5)
    np.testing.assert_allclose(out.numpy(), _np_scatter(x, indices, updates, op))
    np.testing.assert_array_equal(t.numpy(), x)  # a pure function


def test_tensorflow_documentation_examples():
    out = wg.tensor_scatter_nd_update(wg.ones([8], "int32"), [[4], [3], [1], [7]], [9, 10, 11, 12])
    np.testing.assert_array_equal(out.numpy(), [1, 11, 1, 10, 9, 1, 1, 12])
    out = wg.scatter_nd([[4], [3], [1], [7]], [9, 10, 11, 12], [8])
    np.testing.assert_array_equal(out.numpy(), [0, 11, 0, 10, 9, 0, 0, 12])
    assert out.dtype == np.int32
    ones = wg.ones([4, 4, 4], "int32")
    updates = np.tile(np.array([5, 6, 7, 8])[:, None], (2, 1, 4))
    out = wg.tensor_scatter_nd_add(ones, [[0], [2]], updates)
    np.testing.assert_array_equal(out.numpy()[[0, 2]], updates + 1)
    np.testing.assert_array_equal(out.numpy()[[1, 3]], 1)


def test_scatter_nd_sums_repeats():
    out = wg.scatter_nd([[1, 0], [1, 0], [0, 1]], [1.0, 2.0, 4.0], [2, 2])
    np.testing.assert_array_equal(out.numpy(), [[0.0, 4.0], [3.0, 0.0]])


def test_tensor_scatter_errors():
    x = wg.zeros((3, 2))
    with pytest.raises(IndexError, match=r"tensor_scatter_nd_update: indices\[1\] = \[3\]"):
        wg.tensor_scatter_nd_update(x, [[0], [3]], np.zeros((2, 2), "float32"))
    with pytest.raises(ValueError, match=r"tensor_scatter_nd_add: updates of shape \(2,\)"):
        wg.tensor_scatter_nd_add(x, [[0], [1]], [1.0, 2.0])
    with pytest.raises(TypeError, match="tensor_scatter_nd_sub: updates of dtype float64"):
        wg.tensor_scatter_nd_sub(x, [[0]], wg.constant([[1.0, 2.0]], dtype="float64"))
    with pytest.raises(TypeError, match="integers"):
        wg.scatter_nd([[0.5]], [1.0], [3])
    with pytest.raises(ValueError, match="last axis"):
        wg.scatter_nd(np.zeros((2, 0), "int32"), [1.0, 2.0], [3])
    with pytest.raises(ValueError, match=r"scatter_nd: shape \[-3\].*dimensions must be >= 0"):
        wg.scatter_nd([[0]], [1.0], [-3])
    with pytest.raises(ValueError, match=r"scatter_nd: shape \[2, -1\]"):
        wg.scatter_nd([[0]], [1.0], wg.constant([2, -1]))


def test_last_write_key_keeps_the_last_update_to_each_element():
    from wengert.array_ops import _last_write_key, _nd_key

    key, expected = _nd_key("op", (4, 2), [[3], [1], [3], [0], [1]])
    assert expected == (5, 2) and not any(k.flags.writeable for k in key)
    unique, last, rows = _last_write_key(key, (4, 2))
    np.testing.assert_array_equal(last, [2, 3, 4])
    np.testing.assert_array_equal(unique[0], [3, 0, 1])
    assert rows == (5, 2) and not unique[0].flags.writeable
    key, _ = _nd_key("op", (4,), [[2], [0]])
    assert _last_write_key(key, (4,)) == (key, None, None)


# -- gradients: finite differences in float64, to second order ---------------------------------

GRADIENT_ROWS = {
    "update_elements": (
        lambda x, u: wg.tensor_scatter_nd_update(x, [[2, 1], [0, 3]], u),
        [(3, 4), (2,)],
    ),
    "update_rows_with_repeats": (
        lambda x, u: wg.tensor_scatter_nd_update(x, [[1], [0], [1]], u),
        [(3, 4), (3, 4)],
    ),
    "update_batched_indices": (
        lambda x, u: wg.tensor_scatter_nd_update(x, [[[0, 0], [2, 3]], [[1, 1], [0, 0]]], u),
        [(3, 4), (2, 2)],
    ),
    "add_with_repeats": (
        lambda x, u: wg.tensor_scatter_nd_add(x, [[1, 2], [1, 2], [0, 0]], u),
        [(3, 4), (3,)],
    ),
    "sub_rows": (lambda x, u: wg.tensor_scatter_nd_sub(x, [[2], [2]], u), [(3, 4), (2, 4)]),
    "scatter_nd": (lambda u: wg.scatter_nd([[1], [3], [1]], u, [5, 2]), [(3, 2)]),
    "nonlinear_around_update": (
        lambda x, u: wg.sin(wg.tensor_scatter_nd_update(x * x, [[0, 1]], u * u)),
        [(2, 2), (1,)],
    ),
}


@pytest.mark.parametrize("fn, shapes", GRADIENT_ROWS.values(), ids=GRADIENT_ROWS.keys())
def test_scatter_gradients_against_finite_differences(fn, shapes):
    args = tuple(RNG.standard_normal(s) for s in shapes)
    check_grads(fn, args, modes=("fwd", "rev"), order=2, rtol=1e-5, atol=1e-7)


def test_update_gradients_exactly():
    x = wg.constant(np.arange(6.0).reshape(2, 3))
    u = wg.constant(np.array([10.0, 20.0, 30.0]))
    with wg.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        y = wg.tensor_scatter_nd_update(x, [[0, 1], [1, 2], [0, 1]], u)
        loss = wg.reduce_sum(y * np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(y.numpy(), [[0.0, 30.0, 2.0], [3.0, 4.0, 20.0]])
    gx, gu = tape.gradient(loss, [x, u])
    # Overwritten elements get no gradient; of two updates to one element only the last.
    np.testing.assert_array_equal(gx.numpy(), [[1.0, 0.0, 3.0], [4.0, 5.0, 0.0]])
    np.testing.assert_array_equal(gu.numpy(), [0.0, 6.0, 2.0])


def test_update_is_exact_with_non_finite_values():
    x = wg.constant([np.inf, np.nan, 1.0])
    out = wg.tensor_scatter_nd_update(x, [[0], [1], [1]], [np.inf, 2.0, 3.0])
    np.testing.assert_array_equal(out.numpy(), [np.inf, 3.0, 1.0])


# -- PyTorch as an oracle -------------------------------------------------------------------


def test_against_torch_index_put():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((4, 3))
    indices = np.array([[1, 2], [3, 0], [1, 2], [0, 0]])
    updates = RNG.standard_normal(4)
    w = RNG.standard_normal((4, 3))

    xt = torch.tensor(x, requires_grad=True)
    ut = torch.tensor(updates, requires_grad=True)
    key = (torch.tensor(indices[:, 0]), torch.tensor(indices[:, 1]))
    yt = xt.index_put(key, ut, accumulate=True)
    (yt * torch.tensor(w)).sum().backward()

    xw, uw = wg.constant(x), wg.constant(updates)
    with wg.GradientTape() as tape:
        tape.watch([xw, uw])
        y = wg.tensor_scatter_nd_add(xw, indices, uw)
        loss = wg.reduce_sum(y * w)
    gx, gu = tape.gradient(loss, [xw, uw])
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(gu.numpy(), ut.grad.numpy())

    unique = indices[1:]  # torch leaves repeated non-accumulating writes undefined
    xt = torch.tensor(x, requires_grad=True)
    ut = torch.tensor(updates[1:], requires_grad=True)
    key = (torch.tensor(unique[:, 0]), torch.tensor(unique[:, 1]))
    yt = xt.index_put(key, ut)
    (yt * torch.tensor(w)).sum().backward()
    xw, uw = wg.constant(x), wg.constant(updates[1:])
    with wg.GradientTape() as tape:
        tape.watch([xw, uw])
        y = wg.tensor_scatter_nd_update(xw, unique, uw)
        loss = wg.reduce_sum(y * w)
    gx, gu = tape.gradient(loss, [xw, uw])
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy())
    np.testing.assert_allclose(gu.numpy(), ut.grad.numpy())


def test_repeated_indices_of_empty_slices():
    out = wg.tensor_scatter_nd_update(np.zeros((3, 0)), [[1], [1]], np.zeros((2, 0)))
    assert out.shape == (3, 0)
    v = wg.Variable(np.zeros((3, 0)))
    assert v.scatter_nd_update([[1], [1]], np.zeros((2, 0))).shape == (3, 0)


def test_pure_scatter_of_a_variable_leaves_it_alone_and_differentiates_to_it():
    v = wg.Variable([1.0, 2.0, 3.0])
    with wg.GradientTape() as tape:
        y = wg.tensor_scatter_nd_update(v, [[0]], [10.0])
        loss = wg.reduce_sum(y * y)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(tape.gradient(loss, v).numpy(), [0.0, 4.0, 6.0])
