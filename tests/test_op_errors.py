"""Bad input raises a catchable exception whose message names the op and the shapes/dtypes."""

from __future__ import annotations

import re

import numpy as np
import pytest

import wengert as wg


def _z(*shape, dtype="float32"):
    return wg.zeros(shape, dtype=dtype)


def _mentions_shape(msg: str, shape: tuple) -> bool:
    """True if ``msg`` shows ``shape`` as (2, 3), (2,3) or [2, 3]."""
    inner = r",\s*".join(str(s) for s in shape)
    if len(shape) == 1:
        inner += ","
        pattern = rf"\({inner}\)|\[{shape[0]}\]"
    else:
        pattern = rf"\({inner}\)|\[{inner}\]"
    return re.search(pattern, msg) is not None


def _raises(exc_type, fn, *words, shapes=()):
    with pytest.raises(exc_type) as info:
        fn()
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    for s in shapes:
        assert _mentions_shape(msg, s), f"shape {s} not in {msg!r}"
    return msg


def test_mentions_shape_helper():
    assert _mentions_shape("got (2, 3) and x", (2, 3))
    assert _mentions_shape("got (2,3) and x", (2, 3))
    assert _mentions_shape("float32[2, 3]", (2, 3))
    assert _mentions_shape("shape (4,)", (4,))
    assert not _mentions_shape("shape (4, 5)", (4,))
    assert not _mentions_shape("(2, 3)", (3, 2))


# -- matmul ---------------------------------------------------------------------------------


def test_matmul_inner_dimension_mismatch():
    msg = _raises(ValueError, lambda: wg.matmul(_z(2, 3), _z(4, 5)), "matmul")
    assert "(2, 3)" in msg and "(4, 5)" in msg


def test_matmul_operator_mismatch():
    _raises(ValueError, lambda: _z(2, 3) @ _z(4, 5), "matmul", shapes=[(2, 3), (4, 5)])


@pytest.mark.parametrize(
    "sa, sb", [((5, 2, 3), (5, 4, 2)), ((3,), (4,)), ((2, 3), (2,)), ((3,), (2, 3))]
)
def test_matmul_mismatch_other_ranks(sa, sb):
    _raises(ValueError, lambda: wg.matmul(_z(*sa), _z(*sb)), "matmul", shapes=[sa, sb])


def test_matmul_batch_mismatch():
    _raises(ValueError, lambda: wg.matmul(_z(2, 2, 3), _z(3, 3, 4)), "matmul")


def test_matmul_transpose_mismatch():
    _raises(
        ValueError,
        lambda: wg.matmul(_z(2, 3), _z(2, 3), transpose_b=False),
        "matmul",
        shapes=[(2, 3)],
    )


def test_matmul_of_scalar():
    _raises(ValueError, lambda: wg.matmul(_z(), _z(3, 3)), "matmul")


def test_matmul_dtype_mismatch():
    _raises(
        TypeError,
        lambda: wg.matmul(_z(2, 3), _z(3, 4, dtype="float64")),
        "matmul",
        "float32",
        "float64",
    )


# -- broadcasting and dtypes -------------------------------------------------------------------


def test_add_broadcast_mismatch():
    _raises(ValueError, lambda: wg.add(_z(2, 3), _z(4)), "add", shapes=[(2, 3), (4,)])
    _raises(ValueError, lambda: _z(2, 3) + _z(4), "add", shapes=[(2, 3), (4,)])


@pytest.mark.parametrize(
    "op, name",
    [
        (wg.subtract, "subtract"),
        (wg.multiply, "multiply"),
        (wg.divide, "divide"),
        (wg.maximum, "maximum"),
        (wg.less, "less"),
        (wg.pow, "pow"),
    ],
)
def test_other_binary_broadcast_mismatch(op, name):
    _raises(ValueError, lambda: op(_z(2, 3), _z(2, 4)), name, shapes=[(2, 3), (2, 4)])


@pytest.mark.parametrize(
    "op, name",
    [(wg.add, "add"), (wg.subtract, "subtract"), (wg.multiply, "multiply"), (wg.equal, "equal")],
)
def test_binary_dtype_mismatch(op, name):
    _raises(TypeError, lambda: op(_z(2), _z(2, dtype="float64")), name, "float32", "float64")
    _raises(TypeError, lambda: op(_z(2, dtype="int32"), _z(2)), name, "int32", "float32")


def test_int_tensor_with_float_scalar():
    _raises(TypeError, lambda: wg.multiply(_z(2, dtype="int32"), 2.5), "multiply", "int32")
    _raises(TypeError, lambda: 2.5 + _z(2, dtype="int32"), "add", "int32")


def test_where_dtype_mismatch():
    c = wg.constant([True, False])
    _raises(TypeError, lambda: wg.where(c, _z(2), _z(2, dtype="float64")), "where")


# -- reshape, concat, transpose, ... -----------------------------------------------------------


def test_reshape_incompatible():
    _raises(ValueError, lambda: wg.reshape(_z(2, 3), (4,)), "reshape", shapes=[(2, 3), (4,)])
    _raises(ValueError, lambda: wg.reshape(_z(2, 3), (4, -1)), "reshape", shapes=[(2, 3)])
    _raises(ValueError, lambda: wg.reshape(_z(2, 3), (-1, -1)), "reshape")


def test_concat_mismatched_shapes():
    _raises(
        ValueError,
        lambda: wg.concat([_z(2, 3), _z(2, 4)], axis=0),
        "concat",
        shapes=[(2, 3), (2, 4)],
    )
    _raises(ValueError, lambda: wg.concat([_z(2, 3), _z(2, 3, 1)], axis=0), "concat")
    _raises(ValueError, lambda: wg.concat([_z(2, 3), _z(2, 3)], axis=2), "concat")


def test_concat_dtype_mismatch():
    _raises(TypeError, lambda: wg.concat([_z(2), _z(2, dtype="float64")], 0), "concat")


def test_stack_mismatched_shapes():
    _raises(ValueError, lambda: wg.stack([_z(2, 3), _z(3, 2)]), "stack", shapes=[(2, 3), (3, 2)])


@pytest.mark.parametrize("perm", [[0, 0], [0, 1, 2], [1], [0, 2], [3, 0], [1, 5]])
def test_transpose_bad_perm(perm):
    _raises(ValueError, lambda: wg.transpose(_z(2, 3), perm), "transpose", shapes=[(2, 3)])


@pytest.mark.parametrize(
    "op",
    [
        wg.reduce_sum,
        wg.reduce_mean,
        wg.reduce_max,
        wg.reduce_min,
        wg.reduce_prod,
        wg.reduce_logsumexp,
        wg.math.reduce_variance,
        wg.math.reduce_std,
    ],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("axis", [2, -3, [0, 5]])
def test_reduce_axis_out_of_range(op, axis):
    _raises(ValueError, lambda: op(_z(2, 3), axis=axis), "reduce_", "rank 2")


def test_reduce_axis_out_of_range_on_a_scalar():
    # A 0-d tensor has no axis 0 (TensorFlow: "Invalid reduction dimension").
    _raises(ValueError, lambda: wg.reduce_sum(wg.constant(1.0), axis=0), "reduce_sum")
    _raises(ValueError, lambda: wg.reduce_max(wg.constant(1.0), axis=1), "reduce_max")


def test_reduce_repeated_axis():
    _raises(ValueError, lambda: wg.reduce_sum(_z(2, 3), axis=[0, -2]), "reduce_sum")


def test_softmax_axis_out_of_range():
    _raises(ValueError, lambda: wg.nn.softmax(_z(2, 3), axis=2), "softmax")


def test_argmax_axis_out_of_range():
    _raises(ValueError, lambda: wg.argmax(_z(2, 3), axis=2), "argmax")


def test_split_into_unequal_parts():
    _raises(ValueError, lambda: wg.split(_z(5, 2), 2), "split", "5")
    _raises(ValueError, lambda: wg.split(_z(5, 2), [2, 2]), "split", "5")
    _raises(ValueError, lambda: wg.split(_z(5, 2), [4, -1, 3]), "split")
    _raises(ValueError, lambda: wg.split(_z(5, 2), 0), "split")
    _raises(ValueError, lambda: wg.split(_z(5, 2), 2, axis=2), "split")


def test_gather_out_of_range_indices():
    _raises(IndexError, lambda: wg.gather(_z(3, 2), [0, 3]), "gather", shapes=[(3, 2)])
    _raises(IndexError, lambda: wg.gather(_z(3, 2), [[1], [2]], axis=1), "gather")


def test_gather_float_indices():
    _raises(TypeError, lambda: wg.gather(_z(3, 2), [0.0, 1.0]), "gather")


def test_gather_batch_dims_mismatch():
    _raises(ValueError, lambda: wg.gather(_z(3, 4), np.zeros((2, 1), int), batch_dims=1), "gather")


def test_tile_wrong_length_multiples():
    _raises(ValueError, lambda: wg.tile(_z(2, 3), [2]), "tile", shapes=[(2, 3)])
    _raises(ValueError, lambda: wg.tile(_z(2, 3), [1, 1, 1]), "tile")
    _raises(ValueError, lambda: wg.tile(_z(2, 3), [1, -1]), "tile")


def test_pad_bad_paddings():
    _raises(ValueError, lambda: wg.pad(_z(2, 3), [[0, -1], [0, 0]]), "pad", shapes=[(2, 3)])
    _raises(ValueError, lambda: wg.pad(_z(2, 3), [[1, 1]]), "pad")
    _raises(ValueError, lambda: wg.pad(_z(3), [[3, 0]], mode="REFLECT"), "pad")
    _raises(ValueError, lambda: wg.pad(_z(3), [[4, 0]], mode="SYMMETRIC"), "pad")
    _raises(ValueError, lambda: wg.pad(_z(3), [[1, 0]], mode="EDGE"), "pad")


def test_where_non_bool_condition():
    _raises(TypeError, lambda: wg.where(_z(2), _z(2), _z(2)), "where", "float32")
    _raises(TypeError, lambda: wg.where([1, 0], _z(2), _z(2)), "where", "int32")


def test_where_broadcast_mismatch():
    c = wg.constant([True, False, True])
    _raises(ValueError, lambda: wg.where(c, _z(2), _z(2)), "where")


def test_squeeze_non_unit_axis():
    _raises(ValueError, lambda: wg.squeeze(_z(2, 1), 0), "squeeze", shapes=[(2, 1)])


def test_expand_dims_axis_out_of_range():
    _raises(ValueError, lambda: wg.expand_dims(_z(2, 3), 4), "expand_dims")
    _raises(ValueError, lambda: wg.expand_dims(_z(2, 3), -4), "expand_dims")


def test_broadcast_to_incompatible():
    _raises(ValueError, lambda: wg.broadcast_to(_z(3), (2, 4)), "broadcast_to")


def test_tensordot_mismatch():
    _raises(ValueError, lambda: wg.tensordot(_z(2, 3), _z(4, 5), 1), "tensordot")


def test_cast_unknown_dtype():
    with pytest.raises(TypeError):
        wg.cast(_z(2), "not_a_dtype")


def test_error_types_are_catchable_builtins():
    # The library's errors are plain built-in types a user can catch.
    for fn, exc in [
        (lambda: wg.matmul(_z(2, 3), _z(4, 5)), ValueError),
        (lambda: _z(2) + _z(2, dtype="float64"), TypeError),
        (lambda: wg.gather(_z(3), [5]), IndexError),
    ]:
        with pytest.raises(exc) as info:
            fn()
        assert type(info.value) is exc


def test_axis_arguments_out_of_range_are_not_wrapped():
    # TensorFlow checks every axis against [-rank, rank); an axis is never taken modulo rank.
    _raises(ValueError, lambda: wg.squeeze(_z(2, 1), 5), "squeeze")
    _raises(ValueError, lambda: wg.squeeze(_z(2, 1), -3), "squeeze")
    _raises(ValueError, lambda: wg.unstack(_z(2, 3), axis=2), "unstack")
    _raises(ValueError, lambda: wg.gather(_z(3, 2), [0, 1], axis=2), "gather")
    _raises(ValueError, lambda: wg.gather(_z(3, 2), [0, 1], axis=-3), "gather")


@pytest.mark.parametrize(
    "op",
    [wg.sqrt, wg.exp, wg.math.log, wg.sin, wg.tanh, wg.sigmoid, wg.nn.softplus, wg.nn.softmax],
    ids=lambda f: getattr(f, "__name__", repr(f)),
)
def test_float_only_ops_reject_integer_tensors(op):
    # TensorFlow: these ops are defined for floating dtypes only; an int32 input is an
    # error, not a silent promotion to float64.
    with pytest.raises(TypeError) as info:
        op(wg.constant([1, 4]))
    assert "int32" in str(info.value)
