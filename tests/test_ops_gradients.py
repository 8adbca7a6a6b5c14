"""Every primitive through the public gradient checker: a table of ops x shapes.

Each row is checked in float64 by ``wg.test_util.check_grads`` in forward and
reverse mode to second order (so the rules' own derivatives are checked), and
then for the properties every rule must have: gradient shape and dtype equal
the input's, a zero cotangent gives exactly zero, two backward passes give the
same bits, and inputs are never mutated.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert.core import defjvp, defvjp, primitive
from wengert.test_util import check_grads

RNG = np.random.default_rng(1234)


def away_from_zero(shape, low=0.2):
    """Normal samples pushed away from 0, so kinks (abs, relu, sign) are not crossed."""
    x = RNG.standard_normal(shape)
    return np.where(x >= 0, x + low, x - low)


def positive(shape):
    return np.abs(RNG.standard_normal(shape)) + 0.5


def normal(shape):
    return RNG.standard_normal(shape)


UNARY_SHAPES = [(), (5,), (3, 4)]
BINARY_SHAPES = [
    ((), ()),
    ((5,), (5,)),
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((), (2, 3)),
]

UNARY = {
    "negative": (wg.negative, normal),
    "square": (wg.square, normal),
    "sqrt": (wg.sqrt, positive),
    "exp": (wg.exp, normal),
    "log": (wg.math.log, positive),
    "log1p": (wg.math.log1p, positive),
    "expm1": (wg.math.expm1, normal),
    "sin": (wg.sin, normal),
    "cos": (wg.cos, normal),
    "tanh": (wg.tanh, normal),
    "sigmoid": (wg.sigmoid, normal),
    "relu": (wg.nn.relu, away_from_zero),
    "softplus": (wg.nn.softplus, normal),
    "abs": (wg.abs, away_from_zero),
    "sign": (wg.sign, away_from_zero),
    "identity": (wg.identity, normal),
    "cast": (lambda x: wg.cast(x, "float64"), normal),
    "clip_by_value": (lambda x: wg.clip_by_value(x, -0.5, 0.7), away_from_zero),
    "log_sigmoid": (wg.math.log_sigmoid, normal),
    "erf": (wg.nn.erf, normal),
    "erfc": (wg.nn.erfc, normal),
}


BINARY = {
    "add": (wg.add, normal, normal),
    "subtract": (wg.subtract, normal, normal),
    "multiply": (wg.multiply, normal, normal),
    "divide": (wg.divide, normal, positive),
    "pow": (wg.pow, positive, normal),
    "mod": (wg.math.mod, lambda s: positive(s) * 3, lambda s: positive(s) + 0.3),
    "maximum": (wg.maximum, None, None),
    "minimum": (wg.minimum, None, None),
}


def _binary_args(name, sx, sy):
    fn, make_x, make_y = BINARY[name]
    if make_x is None:  # max/min: build y from x so no element ties
        x = normal(sx)
        y = normal(sy)
        full = np.broadcast_shapes(sx, sy)
        diff = np.broadcast_to(x, full) - np.broadcast_to(y, full)
        if np.min(np.abs(diff)) < 0.05:
            y = y + 0.5 if np.ndim(y) == 0 else y  # scalar y: shift; arrays resampled below
            for _ in range(100):
                diff = np.broadcast_to(x, full) - np.broadcast_to(y, full)
                if np.min(np.abs(diff)) >= 0.05:
                    break
                y = normal(sy)
        return fn, (x, y)
    if name == "mod":  # keep x / y away from integers, where floor jumps
        for _ in range(100):
            x, y = make_x(sx), make_y(sy)
            q = np.broadcast_to(x, np.broadcast_shapes(sx, sy)) / y
            frac = q - np.floor(q)
            if np.min(np.minimum(frac, 1 - frac)) > 0.05:
                return fn, (x, y)
    return fn, (make_x(sx), make_y(sy))


# Shape-changing and structural ops: (function, argument makers).
STRUCTURAL = {
    "linalg_matrix_transpose": (wg.linalg.matrix_transpose, [(2, 3, 4)]),
    "matmul": (wg.matmul, [(3, 4), (4, 2)]),
    "matmul_batched_broadcast": (wg.matmul, [(2, 3, 4), (4, 5)]),
    "matmul_vector": (wg.matmul, [(3, 4), (4,)]),
    "matmul_transpose_b": (lambda a, b: wg.matmul(a, b, transpose_b=True), [(3, 4), (2, 4)]),
    "tensordot": (lambda a, b: wg.tensordot(a, b, axes=[[1, 2], [0, 1]]), [(2, 3, 4), (3, 4, 2)]),
    "transpose": (lambda x: wg.transpose(x, [2, 0, 1]), [(2, 3, 4)]),
    "transpose_default": (wg.transpose, [(3, 4)]),
    "reshape": (lambda x: wg.reshape(x, (4, -1)), [(2, 3, 4)]),
    "reshape_scalar": (lambda x: wg.reshape(x, (1, 1)), [()]),
    "expand_dims": (lambda x: wg.expand_dims(x, 1), [(3, 4)]),
    "squeeze": (lambda x: wg.squeeze(x, 1), [(3, 1, 4)]),
    "broadcast_to": (lambda x: wg.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    "concat": (lambda a, b: wg.concat([a, b], axis=1), [(2, 3), (2, 2)]),
    "concat_three": (lambda a, b, c: wg.concat([a, b, c], axis=0), [(1, 3), (2, 3), (1, 3)]),
    "stack": (lambda a, b: wg.stack([a, b], axis=-1), [(3,), (3,)]),
    "split": (lambda x: wg.split(x, [1, 3], axis=1), [(2, 4)]),
    "split_equal": (lambda x: wg.split(x, 2, axis=0), [(4, 3)]),
    "unstack": (lambda x: wg.unstack(x, axis=1), [(2, 3)]),
    "gather": (lambda x: wg.gather(x, [2, 0, 2], axis=1), [(3, 4)]),
    "gather_batch_dims": (
        lambda x: wg.gather(x, [[1, 0], [2, 2]], axis=1, batch_dims=1),
        [(2, 3, 2)],
    ),
    "tile": (lambda x: wg.tile(x, [2, 3]), [(2, 2)]),
    "pad_constant": (lambda x: wg.pad(x, [[1, 0], [2, 1]], constant_values=3.0), [(2, 3)]),
    "pad_reflect": (lambda x: wg.pad(x, [[1, 1], [2, 0]], mode="REFLECT"), [(3, 4)]),
    "pad_symmetric": (lambda x: wg.pad(x, [[0, 2]], mode="SYMMETRIC"), [(3,)]),
    "getitem_basic": (lambda x: x[1:, ::-2], [(3, 4)]),
    "getitem_int": (lambda x: x[1], [(3, 4)]),
    "getitem_scalar": (lambda x: x[1, 2], [(3, 4)]),
    "getitem_newaxis_ellipsis": (lambda x: x[None, ..., 0], [(3, 4)]),
    "getitem_int_array_repeats": (lambda x: x[[0, 2, 0, 0]], [(3, 4)]),
    "getitem_mixed": (lambda x: x[:, [3, 1, 3]], [(3, 4)]),
    "getitem_bool_mask": (lambda x: x[np.array([True, False, True])], [(3, 4)]),
    "where": (lambda x, y: wg.where(np.array([[True], [False], [True]]), x, y), [(3, 4), (4,)]),
    "reduce_sum_all": (wg.reduce_sum, [(3, 4)]),
    "reduce_sum_scalar": (wg.reduce_sum, [()]),
    "reduce_sum_axis": (lambda x: wg.reduce_sum(x, axis=[0, 2]), [(2, 3, 4)]),
    "reduce_sum_keepdims": (lambda x: wg.reduce_sum(x, axis=-1, keepdims=True), [(3, 4)]),
    "reduce_mean": (lambda x: wg.reduce_mean(x, axis=0), [(3, 4)]),
    "reduce_max": (lambda x: wg.reduce_max(x, axis=1), [(3, 4)]),
    "reduce_max_all": (wg.reduce_max, [(5,)]),
    "reduce_min": (lambda x: wg.reduce_min(x, axis=0, keepdims=True), [(3, 4)]),
    "reduce_prod": (lambda x: wg.reduce_prod(x, axis=1), [(3, 4)]),
    "reduce_prod_all": (wg.reduce_prod, [(2, 3)]),
    "reduce_logsumexp": (lambda x: wg.reduce_logsumexp(x, axis=-1), [(3, 4)]),
    "reduce_logsumexp_all": (wg.reduce_logsumexp, [(5,)]),
    "reduce_variance": (lambda x: wg.math.reduce_variance(x, axis=0), [(4, 3)]),
    "softmax": (wg.softmax, [(3, 4)]),
    "softmax_axis0": (lambda x: wg.softmax(x, axis=0), [(3, 4)]),
    "log_softmax": (wg.nn.log_softmax, [(3, 4)]),
    "norm": (lambda x: wg.linalg.norm(x, axis=1), [(3, 4)]),
    "relu_grad": (wg.nn_ops.relu_grad, [(3, 4), (3, 4)]),
    "dense": (wg.nn_ops.dense, [(3, 4), (4, 2), (2,)]),
    "tan": (wg.math.tan, [(3, 4)]),
    "cumsum": (lambda x: wg.math.cumsum(x, axis=1), [(3, 4)]),
    "cumsum_exclusive_reverse": (
        lambda x: wg.math.cumsum(x, axis=0, exclusive=True, reverse=True),
        [(3, 4)],
    ),
    "einsum_matmul": (lambda a, b: wg.linalg.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)]),
    "einsum_batch_outer_sum": (
        lambda a, b: wg.linalg.einsum("bij,bk->bjk", a, b),
        [(2, 3, 4), (2, 5)],
    ),
    "einsum_three": (
        lambda a, b, c: wg.linalg.einsum("ij,jk,k->i", a, b, c),
        [(2, 3), (3, 4), (4,)],
    ),
    "inv": (lambda a: wg.linalg.inv(a + 4.0 * wg.eye(3, dtype=a.dtype)), [(3, 3)]),
    "det": (lambda a: wg.linalg.det(a + 3.0 * wg.eye(3, dtype=a.dtype)), [(2, 3, 3)]),
    "solve": (
        lambda a, b: wg.linalg.solve(a + 4.0 * wg.eye(3, dtype=a.dtype), b),
        [(3, 3), (3, 2)],
    ),
    "dense_rank3": (wg.nn_ops.dense, [(2, 3, 4), (4, 2), (2,)]),
    "sigmoid_cross_entropy_with_logits": (
        wg.nn.sigmoid_cross_entropy_with_logits,
        [(3, 4), (3, 4)],
    ),
    "softmax_cross_entropy_with_logits": (
        lambda z, x: wg.nn.softmax_cross_entropy_with_logits(z, x, axis=0),
        [(3, 4), (3, 4)],
    ),
    "sparse_softmax_cross_entropy_with_logits": (
        lambda x: wg.nn.sparse_softmax_cross_entropy_with_logits([[2, 0], [3, 1]], x),
        [(2, 2, 4)],
    ),
}


def _load_extra_rows():
    """Rows that other parts of wengert contribute: tests/gradient_rows_*.py define ROWS,
    a dict of name -> (function, [argument shapes]) or (function, [argument arrays])."""
    import importlib
    import pathlib
    import sys

    here = pathlib.Path(__file__).resolve().parent
    if str(here) not in sys.path:
        sys.path.insert(0, str(here))
    for path in sorted(here.glob("gradient_rows_*.py")):
        STRUCTURAL.update(importlib.import_module(path.stem).ROWS)


_load_extra_rows()


def _structural_args(name):
    fn, shapes = STRUCTURAL[name]
    return fn, tuple(normal(s) if isinstance(s, tuple) else np.asarray(s) for s in shapes)


CASES = (
    [(f"{n}{list(s)}", UNARY[n][0], (UNARY[n][1](s),)) for n in UNARY for s in UNARY_SHAPES]
    + [
        (f"{n}{list(sx)}{list(sy)}", *_binary_args(n, sx, sy))
        for n in BINARY
        for sx, sy in BINARY_SHAPES
    ]
    + [(n, *_structural_args(n)) for n in STRUCTURAL]
)
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, fn, args", CASES, ids=IDS)
def test_check_grads_second_order(name, fn, args):
    check_grads(fn, args, modes=("fwd", "rev"), order=2, rtol=1e-5, atol=1e-7)


def _outputs(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


@pytest.mark.parametrize("name, fn, args", CASES, ids=IDS)
def test_rule_properties(name, fn, args):
    originals = [np.array(a, copy=True) for a in args]
    xs = [wg.constant(a) for a in args]
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(xs)
        ys = _outputs(fn(*xs))
    # Inputs never mutated (by forward or backward).
    cot = [wg.constant(RNG.standard_normal(y.shape)) for y in ys]
    g1 = tape.gradient(
        ys, xs, output_gradients=cot, unconnected_gradients=wg.UnconnectedGradients.ZERO
    )
    g2 = tape.gradient(
        ys, xs, output_gradients=cot, unconnected_gradients=wg.UnconnectedGradients.ZERO
    )
    zero = tape.gradient(
        ys,
        xs,
        output_gradients=[wg.zeros_like(y) for y in ys],
        unconnected_gradients=wg.UnconnectedGradients.ZERO,
    )
    for x, a, orig, ga, gb, gz in zip(xs, args, originals, g1, g2, zero):
        np.testing.assert_array_equal(np.asarray(a), orig)
        np.testing.assert_array_equal(x.numpy(), orig)
        assert ga.shape == x.shape and ga.dtype == x.dtype
        # Two backward passes give identical bits.
        assert ga.numpy().tobytes() == gb.numpy().tobytes()
        # A zero cotangent gives exactly zero.
        assert not np.any(gz.numpy())


@pytest.mark.parametrize("name", ["sin", "sigmoid", "softplus", "tanh", "exp"])
def test_gradient_dtype_float32_and_float16(name):
    fn = UNARY[name][0]
    for dtype in ("float32", "float16"):
        x = wg.constant(np.array([0.5, -1.0]), dtype=dtype)
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        g = tape.gradient(y, x)
        assert g.dtype == np.dtype(dtype)


def test_every_declared_primitive_is_in_the_table():
    """The table above names every differentiable primitive that wengert declares."""
    import importlib
    import pkgutil

    from wengert.core import Primitive

    declared = set()
    for info in pkgutil.walk_packages(wg.__path__, prefix="wengert."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            prim = getattr(value, "primitive", value)
            if isinstance(prim, Primitive) and prim.differentiable:
                declared.add(prim.name)
    table = " ".join(IDS)
    covered_by_composites = {
        "getitem_scatter": "getitem",  # getitem's VJP, checked by getitem's second order
        "zeros_like": "sign",  # sign's rules, checked by sign's second order
        "floordiv": None,
    }
    missing = [
        p
        for p in sorted(declared)
        if p not in table and covered_by_composites.get(p, p) not in table
    ]
    assert not missing, f"primitives without a row in the gradient table: {missing}"


# -- the checker itself -------------------------------------------------------------


def _scaled_cube(vjp_scale=1.0, jvp_scale=1.0):
    p = primitive("cube_for_test", lambda x: x**3)
    defvjp(p, lambda g, out, x: g * (3.0 * vjp_scale) * x * x)
    defjvp(p, lambda dx, out, x: dx * (3.0 * jvp_scale) * x * x)

    def f(x):
        return wg.core.apply(p, (x,))

    return f


def test_checker_accepts_a_correct_rule():
    check_grads(_scaled_cube(), (np.array([0.5, -1.5, 2.0]),), order=2)


def test_checker_rejects_a_vjp_scaled_by_1_001():
    with pytest.raises(AssertionError, match="reverse mode is wrong for output 0 w.r.t. input 0"):
        check_grads(
            _scaled_cube(vjp_scale=1.001), (np.array([0.5, -1.5, 2.0]),), modes=("rev",), order=1
        )


def test_checker_rejects_a_jvp_scaled_by_1_001():
    with pytest.raises(AssertionError, match="forward mode is wrong"):
        check_grads(
            _scaled_cube(jvp_scale=1.001), (np.array([0.5, -1.5, 2.0]),), modes=("fwd",), order=1
        )


def test_checker_rejects_a_wrong_second_derivative():
    # First derivative right, its derivative wrong: the VJP uses a constant copy of x.
    p = primitive("bad_second_order", lambda x: x**3)
    defvjp(p, lambda g, out, x: g * 3.0 * wg.stop_gradient(x) * x)
    defjvp(p, lambda dx, out, x: dx * 3.0 * x * x)
    f = lambda x: wg.core.apply(p, (x,))  # noqa: E731
    check_grads(f, (np.array([0.7, 1.3]),), modes=("rev",), order=1)
    with pytest.raises(AssertionError, match="vjp"):
        check_grads(f, (np.array([0.7, 1.3]),), modes=("rev",), order=2)


def test_checker_names_input_index():
    p = primitive("mul_wrong_y", lambda x, y: x * y)
    defvjp(p, lambda g, out, x, y: g * y, lambda g, out, x, y: g * x * 1.001)
    defjvp(p, lambda dx, out, x, y: dx * y, lambda dy, out, x, y: dy * x)
    f = lambda x, y: wg.core.apply(p, (x, y))  # noqa: E731
    with pytest.raises(AssertionError, match="w.r.t. input 1"):
        check_grads(f, (np.array([0.7, 1.3]), np.array([2.0, -1.0])), modes=("rev",), order=1)
