"""Elementwise math, reductions and matrix products: primitives with their rules.

Each primitive is one entry: name, array function, VJP per argument, JVP per
argument.  Rules use wengert's own ops (so they can be differentiated again).
Shapes are reconciled in one place, the tape's backward walk, which sums each
gradient back to its input's shape after broadcasting.
"""

from __future__ import annotations

import builtins
import math

from . import backend
from .backend import xp
from .core import (
    NO_PARAMS,
    Primitive,
    apply,
    apply2,
    binary_op,
    binary_operands,
    defjvp,
    defvjp,
    nondifferentiable,
    operand,
    primitive,
    unary_op,
)
from .tensor import Tensor, Variable, wrap

_TENSORS = (Tensor, Variable)


def _unary(
    name: str, impl, vjp=None, jvp=None, doc: str = "", example: str = "", float_only: bool = False
):
    """Declare a one-argument primitive and return its public function."""
    prim = primitive(name, impl)
    if vjp is None:
        nondifferentiable(prim)
    else:
        defvjp(prim, vjp)
        defjvp(prim, jvp)

    return unary_op(prim, _docstring(doc, "x", example), float_only)


def _binary(name: str, impl, vjp=None, jvp=None, doc: str = "", example: str = ""):
    """Declare a broadcasting two-argument primitive and return its public function."""
    prim = primitive(name, impl)
    if vjp is None:
        nondifferentiable(prim)
    else:
        defvjp(prim, *vjp)
        defjvp(prim, *jvp)

    op = binary_op(prim)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = _docstring(doc, "x, y", example)
    return op


def _docstring(summary: str, args: str, example: str) -> str:
    lines = [summary, "", "Args:"]
    for a in args.split(", "):
        lines.append(f"    {a}: a Tensor, Variable, array or Python number.")
    lines += ["    name: ignored (TensorFlow compatibility).", "", "Returns:", "    A Tensor."]
    if example:
        lines += ["", "Example:", "    >>> import wengert as wg"]
        for line in example.strip().splitlines():
            lines.append("    " + line)
    return "\n".join(lines)


# -- elementwise arithmetic ------------------------------------------------------

add = _binary(
    "add",
    xp.add,
    vjp=(lambda g, out, x, y: g, lambda g, out, x, y: g),
    jvp=(lambda dx, out, x, y: dx, lambda dy, out, x, y: dy),
    doc="Elementwise x + y, with broadcasting.",
    example=">>> wg.add([1.0, 2.0], 1.0).numpy()\narray([2., 3.], dtype=float32)",
)
subtract = _binary(
    "subtract",
    xp.subtract,
    vjp=(lambda g, out, x, y: g, lambda g, out, x, y: -g),
    jvp=(lambda dx, out, x, y: dx, lambda dy, out, x, y: -dy),
    doc="Elementwise x - y, with broadcasting.",
    example=">>> wg.subtract([1.0, 2.0], 1.0).numpy()\narray([0., 1.], dtype=float32)",
)
multiply = _binary(
    "multiply",
    xp.multiply,
    vjp=(lambda g, out, x, y: g * y, lambda g, out, x, y: g * x),
    jvp=(lambda dx, out, x, y: dx * y, lambda dy, out, x, y: x * dy),
    doc="Elementwise x * y, with broadcasting.",
    example=">>> wg.multiply([1.0, 2.0], 3.0).numpy()\narray([3., 6.], dtype=float32)",
)


def _true_divide(x, y):
    # TensorFlow's table: 8- and 16-bit integers divide to float32, wider ones to float64
    dt = getattr(x, "dtype", None)
    if dt is not None and dt.kind in "iu" and dt.itemsize <= 2 and getattr(y, "dtype", dt) == dt:
        return xp.true_divide(x, y, dtype=xp.float32)
    return xp.true_divide(x, y)


divide = _binary(
    "divide",
    _true_divide,
    vjp=(lambda g, out, x, y: g / y, lambda g, out, x, y: -g * out / y),
    jvp=(lambda dx, out, x, y: dx / y, lambda dy, out, x, y: -dy * out / y),
    doc="Elementwise x / y (true division), with broadcasting.",
    example=">>> wg.divide([1.0, 3.0], 2.0).numpy()\narray([0.5, 1.5], dtype=float32)",
)


def _integer_checked(fn):
    """``fn`` that refuses an integer division by zero, as TensorFlow does (NumPy returns 0)."""

    def impl(x, y):
        if getattr(y, "dtype", None) is not None and y.dtype.kind in "iu" and not xp.all(y):
            raise ZeroDivisionError("integer division by zero")
        if isinstance(y, int) and y == 0 and getattr(x, "dtype", xp.dtype(float)).kind in "iu":
            raise ZeroDivisionError("integer division by zero")
        return fn(x, y)

    return impl


floordiv = _binary(
    "floordiv",
    _integer_checked(xp.floor_divide),
    doc="Elementwise floor(x / y); it has no gradient.",
    example=">>> wg.math.floordiv([7.0, -7.0], 2.0).numpy()\narray([ 3., -4.], dtype=float32)",
)
mod = _binary(
    "mod",
    _integer_checked(xp.mod),
    vjp=(lambda g, out, x, y: g, lambda g, out, x, y: -g * floordiv(x, y)),
    jvp=(lambda dx, out, x, y: dx, lambda dy, out, x, y: -dy * floordiv(x, y)),
    doc="Elementwise x mod y with the sign of y (Python's %).",
    example=">>> wg.math.mod([7.0, -7.0], 3.0).numpy()\narray([1., 2.], dtype=float32)",
)


def _safe_log(x):
    # log(x) where x > 0, else 0: the exponent's gradient of x**y is taken as 0
    # for x <= 0 (TensorFlow's choice), without NaN from the untaken branch.
    positive = greater(x, 0)
    return where(positive, log(where(positive, x, 1)), 0)


pow = _binary(
    "pow",
    xp.power,
    # A Python-number base (2.0 ** x) is converted with the output's dtype: alone it
    # would become float32 and clash with a float64 exponent.
    vjp=(
        lambda g, out, x, y: g * y * pow(x, y - 1),
        lambda g, out, x, y: g * out * _safe_log(operand(x, out._value.dtype)),
    ),
    jvp=(
        lambda dx, out, x, y: dx * y * pow(x, y - 1),
        lambda dy, out, x, y: dy * out * _safe_log(operand(x, out._value.dtype)),
    ),
    doc="Elementwise x ** y.",
    example=">>> wg.pow([2.0, 3.0], 2.0).numpy()\narray([4., 9.], dtype=float32)",
)
maximum = _binary(
    "maximum",
    xp.maximum,
    vjp=(
        lambda g, out, x, y: where(greater_equal(x, y), g, 0),
        lambda g, out, x, y: where(greater_equal(x, y), 0, g),
    ),
    jvp=(
        lambda dx, out, x, y: where(greater_equal(x, y), dx, 0),
        lambda dy, out, x, y: where(greater_equal(x, y), 0, dy),
    ),
    doc="Elementwise max(x, y); ties send the gradient to x, as in TensorFlow.",
    example=">>> wg.maximum([1.0, 5.0], 3.0).numpy()\narray([3., 5.], dtype=float32)",
)
minimum = _binary(
    "minimum",
    xp.minimum,
    vjp=(
        lambda g, out, x, y: where(less_equal(x, y), g, 0),
        lambda g, out, x, y: where(less_equal(x, y), 0, g),
    ),
    jvp=(
        lambda dx, out, x, y: where(less_equal(x, y), dx, 0),
        lambda dy, out, x, y: where(less_equal(x, y), 0, dy),
    ),
    doc="Elementwise min(x, y); ties send the gradient to x, as in TensorFlow.",
    example=">>> wg.minimum([1.0, 5.0], 3.0).numpy()\narray([1., 3.], dtype=float32)",
)
negative = _unary(
    "negative",
    xp.negative,
    vjp=lambda g, out, x: -g,
    jvp=lambda dx, out, x: -dx,
    doc="Elementwise -x.",
    example=">>> wg.negative([1.0, -2.0]).numpy()\narray([-1.,  2.], dtype=float32)",
)
square = _unary(
    "square",
    xp.square,
    vjp=lambda g, out, x: g * (2 * x),
    jvp=lambda dx, out, x: dx * (2 * x),
    doc="Elementwise x * x.",
    example=">>> wg.square([3.0]).numpy()\narray([9.], dtype=float32)",
)
sqrt = _unary(
    "sqrt",
    xp.sqrt,
    vjp=lambda g, out, x: g / (2 * out),
    jvp=lambda dx, out, x: dx / (2 * out),
    doc="Elementwise square root.",
    example=">>> wg.sqrt([4.0]).numpy()\narray([2.], dtype=float32)",
    float_only=True,
)
exp = _unary(
    "exp",
    xp.exp,
    vjp=lambda g, out, x: g * out,
    jvp=lambda dx, out, x: dx * out,
    doc="Elementwise e ** x.",
    example=">>> wg.exp([0.0]).numpy()\narray([1.], dtype=float32)",
    float_only=True,
)
log = _unary(
    "log",
    xp.log,
    vjp=lambda g, out, x: g / x,
    jvp=lambda dx, out, x: dx / x,
    doc="Elementwise natural logarithm.",
    example=">>> wg.math.log([1.0]).numpy()\narray([0.], dtype=float32)",
    float_only=True,
)
log1p = _unary(
    "log1p",
    xp.log1p,
    vjp=lambda g, out, x: g / (1 + x),
    jvp=lambda dx, out, x: dx / (1 + x),
    doc="Elementwise log(1 + x), accurate for small x.",
    example=">>> wg.math.log1p([0.0]).numpy()\narray([0.], dtype=float32)",
    float_only=True,
)
expm1 = _unary(
    "expm1",
    xp.expm1,
    vjp=lambda g, out, x: g * (out + 1),
    jvp=lambda dx, out, x: dx * (out + 1),
    doc="Elementwise e ** x - 1, accurate for small x.",
    example=">>> wg.math.expm1([0.0]).numpy()\narray([0.], dtype=float32)",
    float_only=True,
)
sin = _unary(
    "sin",
    xp.sin,
    vjp=lambda g, out, x: g * cos(x),
    jvp=lambda dx, out, x: dx * cos(x),
    doc="Elementwise sine.",
    example=">>> wg.sin([0.0]).numpy()\narray([0.], dtype=float32)",
    float_only=True,
)
cos = _unary(
    "cos",
    xp.cos,
    vjp=lambda g, out, x: -g * sin(x),
    jvp=lambda dx, out, x: -dx * sin(x),
    doc="Elementwise cosine.",
    example=">>> wg.cos([0.0]).numpy()\narray([1.], dtype=float32)",
    float_only=True,
)
tanh = _unary(
    "tanh",
    xp.tanh,
    vjp=lambda g, out, x: g * (1 - out * out),
    jvp=lambda dx, out, x: dx * (1 - out * out),
    doc="Elementwise hyperbolic tangent.",
    example=">>> wg.tanh([0.0]).numpy()\narray([0.], dtype=float32)",
    float_only=True,
)
abs = _unary(
    "abs",
    xp.absolute,
    vjp=lambda g, out, x: g * sign(x),
    jvp=lambda dx, out, x: dx * sign(x),
    doc="Elementwise |x|; its gradient at 0 is 0.",
    example=">>> wg.abs([-2.0, 3.0]).numpy()\narray([2., 3.], dtype=float32)",
)
sign = _unary(
    "sign",
    xp.sign,
    # Zero almost everywhere; TensorFlow defines it as zero (not None) at 0 too.
    vjp=lambda g, out, x: zeros_like_op(x),
    jvp=lambda dx, out, x: zeros_like_op(x),
    doc="Elementwise sign: -1, 0 or 1.",
    example=">>> wg.sign([-2.0, 0.0, 3.0]).numpy()\narray([-1.,  0.,  1.], dtype=float32)",
)
floor = _unary(
    "floor",
    xp.floor,
    doc="Elementwise floor; it has no gradient.",
    example=">>> wg.floor([1.5, -1.5]).numpy()\narray([ 1., -2.], dtype=float32)",
)
ceil = _unary(
    "ceil",
    xp.ceil,
    doc="Elementwise ceiling; it has no gradient.",
    example=">>> wg.math.ceil([1.5]).numpy()\narray([2.], dtype=float32)",
)
round = _unary(
    "round",
    xp.round,
    doc="Elementwise rounding half to even; it has no gradient.",
    example=">>> wg.round([0.5, 1.5]).numpy()\narray([0., 2.], dtype=float32)",
)
is_nan = _unary(
    "is_nan",
    xp.isnan,
    doc="Elementwise test for NaN.",
    example=">>> wg.math.is_nan([1.0]).numpy()\narray([False])",
)
is_finite = _unary(
    "is_finite",
    xp.isfinite,
    doc="Elementwise test for finite values.",
    example=">>> wg.math.is_finite([1.0]).numpy()\narray([ True])",
)
is_inf = _unary(
    "is_inf",
    xp.isinf,
    doc="Elementwise test for infinities.",
    example=">>> wg.math.is_inf([1.0]).numpy()\narray([False])",
)


def _zeros_like_array(x):
    return xp.zeros_like(x)


zeros_like_op = _unary(
    "zeros_like",
    _zeros_like_array,
    vjp=lambda g, out, x: zeros_like_op(x),
    jvp=lambda dx, out, x: zeros_like_op(x),
    doc="Zeros of x's shape and dtype, recorded (so its gradient is zero rather than None).",
    example=">>> wg.math.zeros_like_op([1.0, 2.0]).numpy()\narray([0., 0.], dtype=float32)",
)
# -- comparisons and logic: no gradient --------------------------------------------
equal = _binary(
    "equal",
    xp.equal,
    doc="Elementwise x == y.",
    example=">>> wg.equal([1.0, 2.0], 2.0).numpy()\narray([False,  True])",
)
not_equal = _binary(
    "not_equal",
    xp.not_equal,
    doc="Elementwise x != y.",
    example=">>> wg.not_equal([1.0], 2.0).numpy()\narray([ True])",
)
less = _binary(
    "less",
    xp.less,
    doc="Elementwise x < y.",
    example=">>> wg.less([1.0], 2.0).numpy()\narray([ True])",
)
less_equal = _binary(
    "less_equal",
    xp.less_equal,
    doc="Elementwise x <= y.",
    example=">>> wg.less_equal([2.0], 2.0).numpy()\narray([ True])",
)
greater = _binary(
    "greater",
    xp.greater,
    doc="Elementwise x > y.",
    example=">>> wg.greater([1.0], 2.0).numpy()\narray([False])",
)
greater_equal = _binary(
    "greater_equal",
    xp.greater_equal,
    doc="Elementwise x >= y.",
    example=">>> wg.greater_equal([2.0], 2.0).numpy()\narray([ True])",
)


def _dtype_checked(fn, kinds: str):
    """``fn`` that takes only dtypes of ``kinds``: TensorFlow's logical ops take bool
    tensors ("b") and its bitwise ops integers ("iu"), where NumPy would read nonzero
    numbers as True, or refuse floats with a message that names no op."""
    what = "bool" if kinds == "b" else "integer"

    def impl(*args):
        for a in args:
            if (d := xp.asarray(a).dtype).kind not in kinds:
                raise TypeError(f"expected {what} inputs, got {d}")
        return fn(*args)

    return impl


# name, the dtype kinds it takes, operator, and its example's arguments and result.
_LOGIC_OPS = [
    ("logical_and", "b", "and", "[True, True], [True, False]", "array([ True, False])"),
    ("logical_or", "b", "or", "[True, False], [False, False]", "array([ True, False])"),
    ("logical_xor", "b", "xor", "[True, False], [True, True]", "array([False,  True])"),
    ("bitwise_and", "iu", "&", "[6], [3]", "array([2], dtype=int32)"),
    ("bitwise_or", "iu", "|", "[6], [3]", "array([7], dtype=int32)"),
    ("bitwise_xor", "iu", "^", "[6], [3]", "array([5], dtype=int32)"),
]
logical_and, logical_or, logical_xor, bitwise_and, bitwise_or, bitwise_xor = (
    _binary(
        name,
        _dtype_checked(getattr(xp, name), kinds),
        doc=f"Elementwise x {op} y, for {'bool' if kinds == 'b' else 'integer'} tensors.",
        example=f">>> wg.math_ops.{name}({args}).numpy()\n{result}",
    )
    for name, kinds, op, args, result in _LOGIC_OPS
)
logical_not = _unary(
    "logical_not",
    _dtype_checked(xp.logical_not, "b"),
    doc="Elementwise not, for bool tensors.",
    example=">>> wg.math.logical_not([True]).numpy()\narray([False])",
)
invert = _unary(
    "invert",
    _dtype_checked(xp.invert, "iu"),
    doc="Elementwise bitwise not ~x, for integer tensors (``tf.bitwise.invert``).",
    example=">>> wg.math_ops.invert([6]).numpy()\narray([-7], dtype=int32)",
)


# -- where -----------------------------------------------------------------------
def _where_impl(condition, x, y):
    return xp.where(condition, x, y)


where_p = primitive("where", _where_impl)
defvjp(
    where_p,
    None,
    lambda g, out, c, x, y: where(c, g, 0),
    lambda g, out, c, x, y: where(c, 0, g),
)
defjvp(
    where_p,
    None,
    lambda dx, out, c, x, y: where(c, dx, 0),
    lambda dy, out, c, x, y: where(c, 0, dy),
)


def where(condition, x=None, y=None, name=None) -> Tensor:
    """Choose elementwise from ``x`` where ``condition`` holds, else from ``y``.

    With ``condition`` alone, as TensorFlow: the int64 coordinates of its True entries,
    shape (number true, rank).

    Args:
        condition: a boolean tensor or array, broadcastable with x and y.
        x: values where condition is True.
        y: values where condition is False.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the broadcast shape (or the coordinates).

    Example:
        >>> import wengert as wg
        >>> wg.where([True, False], [1.0, 2.0], 0.0).numpy()
        array([1., 0.], dtype=float32)
        >>> wg.where([[True, False], [False, True]]).numpy().tolist()
        [[0, 0], [1, 1]]
    """
    condition = operand(condition)
    if condition._value.dtype.kind != "b":
        raise TypeError(f"where: condition must be bool, got {condition.dtype}")
    if x is None and y is None:
        from .tensor import wrap

        return wrap(xp.argwhere(condition._value).astype(xp.int64), "where")
    if x is None or y is None:
        raise ValueError("where: give both x and y, or neither (for the True coordinates)")
    x, y, _, _ = _common(x, y, "where")
    return apply(where_p, (condition, x, y))


def _common(x, y, name):
    from .core import binary_operands

    x, y, _, _ = binary_operands(name, x, y)
    return x, y, None, None


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """Clip ``t`` elementwise to [clip_value_min, clip_value_max].

    The gradient passes where the value lies inside the interval (inclusive).

    Example:
        >>> import wengert as wg
        >>> wg.clip_by_value([-2.0, 0.5, 3.0], 0.0, 1.0).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """
    t = operand(t)
    out = maximum(minimum(t, clip_value_max), clip_value_min)  # TensorFlow's order
    if out.shape != t.shape:
        raise ValueError(
            f"clip_by_value: the bounds would broadcast t {list(t.shape)} to "
            f"{list(out.shape)}; they must broadcast to t's shape"
        )
    return out


# -- reductions --------------------------------------------------------------------
def _axes(axis, ndim: int, op: str, sort: bool = True) -> tuple:
    """Normalise an axis argument (None: all; an int or a list of ints) to a tuple of
    non-negative ints, sorted unless ``sort`` is False; an axis outside [-ndim, ndim) or
    one given twice is a ValueError naming ``op``."""
    if axis is None:
        return tuple(builtins.range(ndim))
    if isinstance(axis, Tensor):
        axis = axis._value.tolist()
    if isinstance(axis, (list, tuple)):
        axes = [int(a) for a in axis]
    else:
        axes = [int(axis)]
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of rank {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} names an axis twice (tensor of rank {ndim})")
    return tuple(sorted(out)) if sort else tuple(out)


def _keep_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand(g, x, axis, keepdims):
    """Broadcast a reduction's cotangent back over the reduced axes of x."""
    from .array_ops import broadcast_to, reshape

    if not keepdims:
        g = reshape(g, _keep_shape(x.shape, axis))
    return broadcast_to(g, x.shape)


def _sum_impl(x, axis, keepdims):
    lead = len(axis) if axis is not None else 0
    if (
        lead
        and axis == tuple(range(lead))
        and lead < x.ndim
        and x.dtype.kind == "f"
        and x.dtype.itemsize >= 4
        and x.flags.c_contiguous
        and x.size >= 16384
    ):
        # A sum over the leading axes (a bias gradient: over batch and pixels) as a
        # matrix-vector product with ones: NumPy adds such rows one by one along the
        # short trailing axis, 2-20x slower than BLAS (12544 x 16: 195 vs 11 us; a conv
        # bias over 200704 x 64: 5.2 vs 1.8 ms, measured); below 16384 numbers the two
        # are even and the call costs more.  BLAS blocks the additions,
        # which rounds closer to float64 than NumPy's row-by-row sum (4.7e-6 against
        # 3.9e-5 relative, measured), but the last bits then depend on its thread count,
        # as every matmul's do.
        rows = math.prod(x.shape[:lead])
        total = xp.matmul(xp.ones(rows, dtype=x.dtype), x.reshape(rows, -1))
        shape = (1,) * lead + x.shape[lead:] if keepdims else x.shape[lead:]
        return total.reshape(shape)
    # Integer sums keep the input's dtype, as in TensorFlow (NumPy would widen to int64).
    return xp.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype if x.dtype.kind in "iu" else None)


reduce_sum_p = primitive("reduce_sum", _sum_impl)
defvjp(reduce_sum_p, lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims))
defjvp(reduce_sum_p, lambda dx, out, x, axis, keepdims: reduce_sum(dx, axis, keepdims))


def _ties(x, out, axis, keepdims):
    # The gradient of max/min is shared equally among tied elements (TensorFlow).
    from .array_ops import cast

    hit = cast(equal(x, _expand(out, x, axis, keepdims)), x.dtype)
    return hit / reduce_sum(hit, axis, keepdims=True)


reduce_max_p = primitive("reduce_max", lambda x, axis, keepdims: xp.max(x, axis, keepdims=keepdims))
defvjp(
    reduce_max_p,
    lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims) * _ties(x, out, axis, keepdims),
)
defjvp(
    reduce_max_p,
    lambda dx, out, x, axis, keepdims: reduce_sum(
        dx * _ties(x, out, axis, keepdims), axis, keepdims
    ),
)
reduce_min_p = primitive("reduce_min", lambda x, axis, keepdims: xp.min(x, axis, keepdims=keepdims))
defvjp(
    reduce_min_p,
    lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims) * _ties(x, out, axis, keepdims),
)
defjvp(
    reduce_min_p,
    lambda dx, out, x, axis, keepdims: reduce_sum(
        dx * _ties(x, out, axis, keepdims), axis, keepdims
    ),
)


def _prod_of_others(x, axis):
    """For each element, the product of the other elements along ``axis``.

    Built from where and reduce_prod over a leave-one-out square, so it is exact
    with zeros in x and can itself be differentiated.
    """
    from .array_ops import eye, reshape, transpose

    kept = [i for i in builtins.range(x.ndim) if i not in axis]
    perm = kept + list(axis)
    kept_shape = tuple(x.shape[i] for i in kept)
    n = 1
    for a in axis:
        n *= x.shape[a]
    flat = reshape(transpose(x, perm), kept_shape + (1, n))
    square = where(eye(n, dtype="bool"), 1, flat)
    # (..., n, n): row i has x_i replaced by 1
    others = reduce_prod(square, axis=-1)
    # (..., n)
    moved = reshape(others, kept_shape + tuple(x.shape[a] for a in axis))
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return transpose(moved, inverse)


reduce_prod_p = primitive(
    "reduce_prod",
    lambda x, axis, keepdims: xp.prod(
        x, axis, keepdims=keepdims, dtype=x.dtype if x.dtype.kind in "iu" else None
    ),
)
defvjp(
    reduce_prod_p,
    lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims) * _prod_of_others(x, axis),
)
defjvp(
    reduce_prod_p,
    lambda dx, out, x, axis, keepdims: reduce_sum(dx * _prod_of_others(x, axis), axis, keepdims),
)


def _logsumexp_impl(x, axis, keepdims):
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    # all -inf (or inf) rows: no shift
    with xp.errstate(divide="ignore"):  # log(0) = -inf is the right answer for all -inf
        s = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else xp.squeeze(s, axis=axis)


reduce_logsumexp_p = primitive("reduce_logsumexp", _logsumexp_impl)


def _softmax_of(x, axis):
    """softmax(x) along ``axis``, shifted by the (constant) max: the logsumexp's gradient,
    exact even where the rounded logsumexp itself would not be (|x| ~ 1e5)."""
    from .array_ops import stop_gradient

    e = exp(x - stop_gradient(reduce_max(x, axis, keepdims=True)))
    return e / reduce_sum(e, axis, keepdims=True)


defvjp(
    reduce_logsumexp_p,
    lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims) * _softmax_of(x, axis),
)
defjvp(
    reduce_logsumexp_p,
    lambda dx, out, x, axis, keepdims: reduce_sum(
        dx * exp(x - _expand(out, x, axis, keepdims)), axis, keepdims
    ),
)


def _no_bool(op: str, x) -> None:
    """TensorFlow's Sum, Prod and Mean kernels take numbers, not bool (their ``T`` is
    ``numbertype``): NumPy's int64 count would make ``reduce_mean(correct)`` an integer
    mean, 0 for an accuracy of 0.5."""
    if x._value.dtype.kind == "b":
        raise TypeError(
            f"{op}: got a tensor of dtype bool (shape {list(x.shape)}); {op} takes numbers "
            f"only, as in TensorFlow: cast it first, e.g. wg.{op}(wg.cast(x, 'float32'))"
        )


def _reduction(prim: Primitive, summary: str, example: str, numbers_only: bool = False):
    def op(input_tensor, axis=None, keepdims=False, name=None):
        x = operand(input_tensor)
        if numbers_only:
            _no_bool(prim.name, x)
        axes = _axes(axis, x._value.ndim, prim.name)
        return apply(prim, (x,), {"axis": axes, "keepdims": bool(keepdims)})

    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = (
        f"{summary}\n\nArgs:\n    input_tensor: a Tensor or array.\n"
        "    axis: None (all axes), an int or a list of ints.\n"
        "    keepdims: keep reduced axes with size 1.\n    name: ignored.\n\n"
        f"Returns:\n    A Tensor.\n\nExample:\n    >>> import wengert as wg\n"
        + "\n".join("    " + s for s in example.splitlines())
    )
    op.primitive = prim
    return op


reduce_sum = _reduction(
    reduce_sum_p,
    "Sum of elements over the given axes (numbers only: cast a bool tensor first).",
    ">>> wg.reduce_sum([[1.0, 2.0], [3.0, 4.0]], axis=0).numpy()\narray([4., 6.], dtype=float32)",
    numbers_only=True,
)
reduce_max = _reduction(
    reduce_max_p,
    "Maximum over the given axes; ties share the gradient.",
    ">>> wg.reduce_max([1.0, 3.0, 2.0]).numpy()\nnp.float32(3.0)",
)
reduce_min = _reduction(
    reduce_min_p,
    "Minimum over the given axes; ties share the gradient.",
    ">>> wg.reduce_min([1.0, 3.0, 2.0]).numpy()\nnp.float32(1.0)",
)
reduce_prod = _reduction(
    reduce_prod_p,
    "Product over the given axes (exact gradient with zeros; numbers only, as reduce_sum).",
    ">>> wg.reduce_prod([1.0, 3.0, 2.0]).numpy()\nnp.float32(6.0)",
    numbers_only=True,
)
reduce_logsumexp = _reduction(
    reduce_logsumexp_p,
    "log(sum(exp(x))) over the given axes, computed stably.",
    ">>> float(wg.reduce_logsumexp([1e4, 1e4]))\n10000.693359375",
    numbers_only=True,
)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Mean of elements over the given axes.

    As in TensorFlow, an integer mean stays integer (it truncates toward zero), and a
    bool tensor is a TypeError: cast it first, ``wg.reduce_mean(wg.cast(correct, "float32"))``.

    Args:
        input_tensor: a Tensor or array.
        axis: None (all axes), an int or a list of ints.
        keepdims: keep reduced axes with size 1.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor.

    Example:
        >>> import wengert as wg
        >>> wg.reduce_mean([[1.0, 2.0], [3.0, 4.0]], axis=1).numpy()
        array([1.5, 3.5], dtype=float32)
    """
    x = operand(input_tensor)
    _no_bool("reduce_mean", x)
    if x.dtype == backend.float16:
        # Summed in float32 and cast back (as TensorFlow's and Keras's means of half
        # floats): a float16 sum overflows at 65504, and so does the count.
        from .array_ops import cast

        return cast(reduce_mean(cast(x, backend.float32), axis, keepdims), backend.float16)
    axes = _axes(axis, x._value.ndim, "reduce_mean")
    count = 1
    for a in axes:
        count *= x._value.shape[a]
    total = apply(reduce_sum_p, (x,), {"axis": axes, "keepdims": bool(keepdims)})
    if total._value.dtype.kind in "iu":
        # Integer mean stays integer and truncates toward zero, as in TensorFlow.
        from .tensor import wrap

        return wrap(xp.trunc(total._value / max(count, 1)).astype(total.dtype), "reduce_mean")
    return total / float(count) if count else total * float("nan")


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Population variance over the given axes.

    Example:
        >>> import wengert as wg
        >>> float(wg.math.reduce_variance([1.0, 3.0]))
        1.0
    """
    x = operand(input_tensor)
    kind = x._value.dtype.kind
    if kind not in "fc":  # as TensorFlow: an integer variance would truncate silently
        raise TypeError(
            f"reduce_variance: expected a real or complex floating-point tensor, got "
            f"{x._value.dtype}{list(x.shape)}; cast it first"
        )
    deviation = x - reduce_mean(x, axis, keepdims=True)
    if kind == "c":  # |x - mean|^2, real, as TensorFlow
        deviation = abs(deviation)
    return reduce_mean(square(deviation), axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None) -> Tensor:
    """Population standard deviation over the given axes.

    Example:
        >>> import wengert as wg
        >>> float(wg.math.reduce_std([1.0, 3.0]))
        1.0
    """
    return sqrt(reduce_variance(input_tensor, axis, keepdims))


def _arg(prim_name, fn):
    prim = nondifferentiable(primitive(prim_name, fn))

    def op(input, axis=None, output_type="int64", name=None):
        x = operand(input)
        ax = 0 if axis is None else int(axis)
        if not -x._value.ndim <= ax < builtins.max(x._value.ndim, 1):
            raise ValueError(f"{prim_name}: axis {ax} out of range for rank {x._value.ndim}")
        return apply(prim, (x,), {"axis": ax, "output_type": backend.as_dtype(output_type)})

    op.__name__ = op.__qualname__ = prim_name
    op.primitive = prim
    return op


argmax = _arg("argmax", lambda x, axis, output_type: xp.argmax(x, axis).astype(output_type))
argmin = _arg("argmin", lambda x, axis, output_type: xp.argmin(x, axis).astype(output_type))
argmax.__doc__ = """Index of the largest value along ``axis`` (default 0); no gradient.

Example:
    >>> import wengert as wg
    >>> wg.argmax([[1.0, 5.0], [7.0, 2.0]], axis=1).numpy()
    array([1, 0])
"""
argmin.__doc__ = """Index of the smallest value along ``axis`` (default 0); no gradient.

Example:
    >>> import wengert as wg
    >>> wg.argmin([3.0, 1.0, 2.0]).numpy()
    np.int64(1)
"""


# -- matrix product ----------------------------------------------------------------
def _swap_last_two(x):
    if x.ndim < 2:
        raise ValueError(f"expected a tensor of rank >= 2, got shape {x.shape}")
    return xp.swapaxes(x, -1, -2)


# The transpose in every matmul's gradient: one primitive, its own VJP and JVP (a general
# transpose with a permutation cost 3.5 us here against 1: five per dense training step).
matrix_transpose_p = primitive("matrix_transpose", _swap_last_two)
defvjp(matrix_transpose_p, lambda g, out, x: _mT(g))
defjvp(matrix_transpose_p, lambda dx, out, x: _mT(dx))
_mT_op = unary_op(matrix_transpose_p)


def _mT(x):
    """Swap the last two axes."""
    return _mT_op(x)


matmul_p = primitive("matmul", xp.matmul)
defvjp(matmul_p, lambda g, out, x, y: matmul(g, _mT(y)), lambda g, out, x, y: matmul(_mT(x), g))
defjvp(matmul_p, lambda dx, out, x, y: matmul(dx, y), lambda dy, out, x, y: matmul(x, dy))


def matmul(
    a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, name=None
) -> Tensor:
    """Matrix product ``a @ b``, batched over leading axes with broadcasting.

    Rank-1 arguments are treated as NumPy and PyTorch treat them (a row or a
    column vector whose axis is dropped from the result).

    Args:
        a: a Tensor of rank >= 1.
        b: a Tensor of rank >= 1, same dtype.
        transpose_a: use the transpose of a's last two axes.
        transpose_b: use the transpose of b's last two axes.
        adjoint_a: the conjugate transpose of a (the transpose, for real tensors).
        adjoint_b: the conjugate transpose of b.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor.

    Example:
        >>> import wengert as wg
        >>> wg.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy()
        array([[11.]], dtype=float32)
    """
    if adjoint_a or adjoint_b:
        for flag, t in ((adjoint_a, a), (adjoint_b, b)):
            if flag and getattr(getattr(t, "dtype", None), "kind", "f") == "c":
                raise TypeError("matmul: the adjoint of a complex tensor is not supported")
        transpose_a = transpose_a or adjoint_a
        transpose_b = transpose_b or adjoint_b
    ta = type(a)
    if (ta is Tensor or ta is Variable) and type(b) is ta and not (transpose_a or transpose_b):
        av = a._value
        bv = b._value
        if (
            av.ndim >= 2
            and bv.ndim >= 2
            and av.shape[-1] == bv.shape[-2]
            and (av.dtype is bv.dtype or av.dtype == bv.dtype)
        ):
            return apply2(matmul_p, a, b)
    from .core import binary_operands

    a, b, av, bv = binary_operands("matmul", a, b)
    if av.ndim == 0 or bv.ndim == 0:
        raise ValueError(
            f"matmul: both arguments need rank >= 1, got shapes {av.shape} and {bv.shape}"
        )
    if transpose_a:
        a = _mT(a)
    if transpose_b:
        b = _mT(b)
    from .array_ops import reshape

    a_vector = a.ndim == 1
    b_vector = b.ndim == 1
    if a_vector:
        a = reshape(a, (1, a.shape[0]))
    if b_vector:
        b = reshape(b, (b.shape[0], 1))
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: inner dimensions differ: {tuple(av.shape)} @ {tuple(bv.shape)}"
            f"{' (after transposes)' if transpose_a or transpose_b else ''}: "
            f"{a.shape[-1]} != {b.shape[-2]}"
        )
    out = apply2(matmul_p, a, b)
    if a_vector or b_vector:
        shape = list(out.shape)
        if a_vector and b_vector:
            shape = shape[:-2]
        elif a_vector:
            del shape[-2]
        else:
            del shape[-1]
        out = reshape(out, tuple(shape))
    return out


def tensordot(a, b, axes, name=None) -> Tensor:
    """Contract ``a`` and ``b`` over ``axes`` (an int or a pair of axis lists), via matmul.

    Example:
        >>> import wengert as wg
        >>> wg.tensordot([1.0, 2.0], [3.0, 4.0], axes=1).numpy()
        np.float32(11.0)
    """
    from .array_ops import reshape, transpose

    a = operand(a)
    b = operand(b, a.dtype)
    if isinstance(axes, int):
        ax_a = list(builtins.range(a.ndim - axes, a.ndim))
        ax_b = list(builtins.range(axes))
    else:
        ax_a, ax_b = (
            [axes[0]] if isinstance(axes[0], int) else list(axes[0]),
            [axes[1]] if isinstance(axes[1], int) else list(axes[1]),
        )
        ax_a = [x % a.ndim for x in ax_a]
        ax_b = [x % b.ndim for x in ax_b]
    free_a = [i for i in builtins.range(a.ndim) if i not in ax_a]
    free_b = [i for i in builtins.range(b.ndim) if i not in ax_b]
    k = 1
    for i in ax_a:
        k *= a.shape[i]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(
                f"tensordot: axis sizes differ: {a.shape} axis {i} vs {b.shape} axis {j}"
            )
    m = 1
    for i in free_a:
        m *= a.shape[i]
    n = 1
    for i in free_b:
        n *= b.shape[i]
    a2 = reshape(transpose(a, free_a + ax_a), (m, k))
    b2 = reshape(transpose(b, ax_b + free_b), (k, n))
    return reshape(
        matmul(a2, b2), tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b)
    )


# -- operators on Tensor ---------------------------------------------------------------
def _reflected(fn):
    def op(self, other):
        return fn(other, self)

    return op


# What TensorFlow would convert to a tensor: a dtype clash with one of these is an error.
_CONVERTIBLE = (Tensor, bool, int, float, complex, list, tuple, xp.ndarray, xp.generic)


def _equality(op, unequal: bool):
    """``Tensor.__eq__``/``__ne__`` as TensorFlow 2's: elementwise, and shapes that do not
    broadcast give a scalar ``unequal`` (``incompatible_shape_error=False``) rather than
    an error.  Dtypes that differ are a TypeError; anything that is not a tensor's
    value (a string, an object) makes Python fall back to identity."""

    def method(self, other):
        if other is None:
            return unequal
        try:
            x, y, xv, yv = binary_operands(op.__name__, self, other)
        except (TypeError, ValueError):
            if isinstance(other, _CONVERTIBLE):
                raise
            return NotImplemented
        try:
            xp.broadcast_shapes(xp.shape(xv), xp.shape(yv))
        except ValueError:
            return wrap(xp.asarray(unequal), op.primitive)
        return op(x, y)

    return method


def _bitwise_or_logical(logical, bitwise, reflected: bool = False):
    """``&``, ``|``, ``^`` as TensorFlow's: logical on bool tensors, bitwise on integers."""

    def method(self, other):
        fn = logical if self._value.dtype.kind == "b" else bitwise
        return fn(other, self) if reflected else fn(self, other)

    return method


def _invert(self):
    return (logical_not if self._value.dtype.kind == "b" else invert)(self)


for _cls in (Tensor,):
    _cls.__add__ = add
    _cls.__radd__ = _reflected(add)
    _cls.__sub__ = subtract
    _cls.__rsub__ = _reflected(subtract)
    _cls.__mul__ = multiply
    _cls.__rmul__ = _reflected(multiply)
    _cls.__truediv__ = divide
    _cls.__rtruediv__ = _reflected(divide)
    _cls.__floordiv__ = floordiv
    _cls.__rfloordiv__ = _reflected(floordiv)
    _cls.__mod__ = mod
    _cls.__rmod__ = _reflected(mod)
    _cls.__pow__ = pow
    _cls.__rpow__ = _reflected(pow)
    _cls.__matmul__ = matmul
    _cls.__rmatmul__ = _reflected(matmul)
    _cls.__neg__ = negative
    _cls.__abs__ = abs
    _cls.__pos__ = lambda self: self if type(self) is Tensor else self + 0
    _cls.__lt__ = less
    _cls.__le__ = less_equal
    _cls.__gt__ = greater
    _cls.__ge__ = greater_equal
    _cls.__eq__ = _equality(equal, False)
    _cls.__ne__ = _equality(not_equal, True)
    _cls.__and__ = _bitwise_or_logical(logical_and, bitwise_and)
    _cls.__rand__ = _bitwise_or_logical(logical_and, bitwise_and, reflected=True)
    _cls.__or__ = _bitwise_or_logical(logical_or, bitwise_or)
    _cls.__ror__ = _bitwise_or_logical(logical_or, bitwise_or, reflected=True)
    _cls.__xor__ = _bitwise_or_logical(logical_xor, bitwise_xor)
    _cls.__rxor__ = _bitwise_or_logical(logical_xor, bitwise_xor, reflected=True)
    _cls.__invert__ = _invert

_ = (backend, NO_PARAMS)
