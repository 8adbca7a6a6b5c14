"""More of TensorFlow's math: tan, cumsum and einsum as primitives; clipping by norm,
``divide_no_nan``, ``xlogy`` and friends as compositions of existing ops (their gradients
come from those ops' rules); and the linear-algebra primitives ``inv``, ``det`` and
``solve``.  ``wg.math``, ``wg.linalg`` and the top level export them under TF's names.
"""

from __future__ import annotations

import builtins
import string

from .backend import xp
from .core import apply, defjvp, defvjp, nondifferentiable, operand, primitive
from .math_ops import (
    _axes,
    _mT,
    _no_bool,
    _unary,
    cos,
    divide,
    equal,
    log,
    matmul,
    maximum,
    reduce_sum,
    sqrt,
    square,
    where,
)
from .tensor import Tensor

__all__ = [
    "tan",
    "cumsum",
    "einsum",
    "reciprocal",
    "rsqrt",
    "squared_difference",
    "divide_no_nan",
    "xlogy",
    "add_n",
    "reduce_all",
    "reduce_any",
    "clip_by_norm",
    "clip_by_global_norm",
    "global_norm",
    "inv",
    "det",
    "solve",
]

tan = _unary(
    "tan",
    xp.tan,
    vjp=lambda g, out, x: g / square(cos(x)),
    jvp=lambda dx, out, x: dx / square(cos(x)),
    doc="Elementwise tangent.",
    example=">>> wg.math.tan([0.0]).numpy()\narray([0.], dtype=float32)",
    float_only=True,
)


# -- cumulative sum ---------------------------------------------------------------------------
def _cumsum_impl(x, axis, exclusive, reverse):
    if reverse:
        x = xp.flip(x, axis)
    out = xp.cumsum(x, axis=axis, dtype=x.dtype)
    if exclusive and out.shape[axis]:  # shift by one: the sum of the elements before
        out = xp.roll(out, 1, axis)
        xp.moveaxis(out, axis, 0)[0] = 0
    return xp.flip(out, axis) if reverse else out


cumsum_p = primitive("cumsum", _cumsum_impl)
# The transpose of a running sum is the running sum the other way.
defvjp(
    cumsum_p,
    lambda g, out, x, axis, exclusive, reverse: cumsum(g, axis, exclusive, not reverse),
)
defjvp(
    cumsum_p,
    lambda dx, out, x, axis, exclusive, reverse: cumsum(dx, axis, exclusive, reverse),
)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None) -> Tensor:
    """Running sum along ``axis`` (TensorFlow's ``tf.math.cumsum``, with ``exclusive``
    and ``reverse``).

    Example:
        >>> import wengert as wg
        >>> wg.math.cumsum([1.0, 2.0, 3.0]).numpy()
        array([1., 3., 6.], dtype=float32)
        >>> wg.math.cumsum([1.0, 2.0, 3.0], exclusive=True, reverse=True).numpy()
        array([5., 3., 0.], dtype=float32)
    """
    x = operand(x)
    _no_bool("cumsum", x)  # TF's Cumsum takes numbers (NumPy would count, wengert's or)
    if x.ndim == 0:
        raise ValueError("cumsum: expected a tensor of rank >= 1, got a scalar")
    (ax,) = _axes(int(axis), x.ndim, "cumsum")
    params = {"axis": ax, "exclusive": bool(exclusive), "reverse": bool(reverse)}
    return apply(cumsum_p, (x,), params)


# -- einsum -----------------------------------------------------------------------------------
def _einsum_impl(*operands, subscripts):
    # NumPy's optimize=True hands a contraction to BLAS (tensordot): 10-15x faster for
    # (32, 64, 128) x (128, 8, 16), but its path search costs ~10 us, which would double
    # a small einsum; so only for several operands or some thousands of elements.
    big = len(operands) > 2 or sum(op.size for op in operands) > 4096
    return xp.einsum(subscripts, *operands, optimize=big)


def _einsum_vjp(i, g, out, *operands, subscripts):
    """The gradient of operand i: the output's cotangent contracted with the other operands
    back to operand i's subscripts; its axes that appear nowhere else (summed out alone)
    are broadcast back."""
    from .array_ops import broadcast_to, expand_dims

    inputs, output = subscripts.split("->")
    subs = inputs.split(",")
    mine = subs[i]
    others = [s for k, s in enumerate(subs) if k != i]
    present = set(output).union(*others) if others else set(output)
    kept = "".join(c for c in mine if c in present)
    spec = ",".join([output] + others) + "->" + kept
    grad = einsum(spec, g, *[op for k, op in enumerate(operands) if k != i])
    for axis, c in enumerate(mine):
        if c not in present:
            grad = expand_dims(grad, axis)
    return broadcast_to(grad, operands[i].shape) if kept != mine else grad


def _einsum_jvp(i, dx, out, *operands, subscripts):
    args = list(operands)
    args[i] = dx
    return einsum(subscripts, *args)


einsum_p = primitive("einsum", _einsum_impl)
einsum_p.vjps = _einsum_vjp
einsum_p.jvps = _einsum_jvp


def einsum(equation: str, *inputs, name=None) -> Tensor:
    """Einstein summation (``tf.einsum``, NumPy's notation): ``"ij,jk->ik"`` is a matrix
    product.

    As NumPy and TensorFlow take it: without ``->`` the output is the letters that appear
    once, in alphabetical order; ``...`` stands for the same broadcast axes in every
    operand; a letter repeated within one operand takes a diagonal (``"ii->i"``,
    ``"bxby->bxy"``); axes of size 1 broadcast against the same letter's size elsewhere.

    Example:
        >>> import wengert as wg
        >>> wg.linalg.einsum("ij,j->i", [[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0]).numpy()
        array([3., 7.], dtype=float32)
        >>> float(wg.einsum("ii", [[1.0, 2.0], [3.0, 4.0]]))  # the trace
        5.0
    """
    ts = [operand(inputs[0])] + [operand(x, operand(inputs[0]).dtype) for x in inputs[1:]]
    equation, ts = _canonical_einsum(equation, ts)
    return apply(einsum_p, tuple(ts), {"subscripts": equation})


def _canonical_einsum(equation: str, ts: list):
    """(equation, operands) rewritten so that every operand has one distinct letter per
    axis of its own size, with an explicit output: the form einsum_p's rules assume.

    ``...`` becomes spare letters; size-1 axes are broadcast (``broadcast_to``, whose
    gradient sums them back); each repeated letter in an operand becomes a new letter
    tied to the first by an extra identity-matrix operand (a constant), so a diagonal
    is an ordinary contraction and needs no rules of its own.
    """
    from collections import Counter

    from .array_ops import broadcast_to
    from .tensor import constant

    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(ts):
        raise ValueError(f"einsum: {equation!r} names {len(subs)} operands, got {len(ts)}")
    letters = [c for c in eq if c not in ",->."]
    if any(c not in string.ascii_letters for c in letters):
        raise ValueError(f"einsum: subscripts must be letters (and '...'), got {equation!r}")
    spare = [c for c in string.ascii_letters if c not in set(letters)]
    ranks = []
    for s, t in zip(subs, ts):
        named = len(s.replace("...", ""))
        extra = t.ndim - named if "..." in s else 0
        if extra < 0 or ("..." not in s and named != t.ndim):
            raise ValueError(
                f"einsum: subscripts {s!r} do not fit an operand of shape {list(t.shape)}"
            )
        ranks.append(extra)
    ellipsis = "".join(spare[: max(ranks, default=0)])
    spare = spare[len(ellipsis) :]
    subs = [s.replace("...", ellipsis[len(ellipsis) - r :]) for s, r in zip(subs, ranks)]
    if arrow:
        out = out.replace("...", ellipsis)
    else:  # NumPy's implicit output: the broadcast axes, then letters used once, sorted
        counts = Counter("".join(subs))
        out = ellipsis + "".join(sorted(c for c in counts if counts[c] == 1 and c not in ellipsis))
    if len(set(out)) != len(out) or not set(out) <= set("".join(subs)):
        raise ValueError(
            f"einsum: the output {out!r} of {equation!r} must name distinct letters of the inputs"
        )
    sizes = {}
    for s, t in zip(subs, ts):
        for c, n in zip(s, t.shape):
            if n != 1 and sizes.get(c, 1) not in (1, n):
                raise ValueError(
                    f"einsum: {equation!r} gives axis {c!r} sizes {sizes[c]} and {n} "
                    f"(operand shapes {[list(t.shape) for t in ts]})"
                )
            sizes[c] = n if n != 1 else sizes.get(c, 1)
    operands, identities, identity_subs = [], [], []
    for k, (s, t) in enumerate(zip(subs, ts)):
        target = tuple(sizes[c] for c in s)
        operands.append(t if t.shape == target else broadcast_to(t, target))
        seen, renamed = set(), []
        for c in s:
            if c in seen:  # a diagonal: a new letter, tied to c by the identity
                renamed.append(spare.pop(0))
                identity_subs.append(c + renamed[-1])
                identities.append(constant(xp.eye(sizes[c], dtype=t.dtype)))
            else:
                seen.add(c)
                renamed.append(c)
        subs[k] = "".join(renamed)
    return ",".join(subs + identity_subs) + "->" + out, operands + identities


# -- compositions -------------------------------------------------------------------------------
def _zero_where(cond, value, fn) -> Tensor:
    """``fn(value)``, and 0 where ``cond``: ``fn`` never sees the excluded entries (they
    become 1 first), so neither its value nor its gradient there can be inf or NaN, which
    a plain where would pass on to the gradient through the branch it discards."""
    return where(cond, 0.0, fn(where(cond, 1.0, value)))


def reciprocal(x, name=None) -> Tensor:
    """1 / x.

    Example:
        >>> import wengert as wg
        >>> wg.math.reciprocal([2.0]).numpy()
        array([0.5], dtype=float32)
    """
    return divide(1.0, operand(x))


def rsqrt(x, name=None) -> Tensor:
    """1 / sqrt(x).

    Example:
        >>> import wengert as wg
        >>> wg.math.rsqrt([4.0]).numpy()
        array([0.5], dtype=float32)
    """
    return divide(1.0, sqrt(operand(x)))


def squared_difference(x, y, name=None) -> Tensor:
    """(x - y) ** 2.

    Example:
        >>> import wengert as wg
        >>> wg.math.squared_difference([1.0], [3.0]).numpy()
        array([4.], dtype=float32)
    """
    x = operand(x)
    return square(x - operand(y, x.dtype))


def divide_no_nan(x, y, name=None) -> Tensor:
    """x / y, and 0 where y is 0 (with gradient 0 there, never NaN).

    Example:
        >>> import wengert as wg
        >>> wg.math.divide_no_nan([1.0, 1.0], [0.0, 2.0]).numpy()
        array([0. , 0.5], dtype=float32)
    """
    x = operand(x)
    y = operand(y, x.dtype)
    return _zero_where(equal(y, 0.0), y, lambda safe: x / safe)


def xlogy(x, y, name=None) -> Tensor:
    """x * log(y), and 0 where x is 0 (whatever y).

    Example:
        >>> import wengert as wg
        >>> wg.math.xlogy([0.0, 2.0], [0.0, 1.0]).numpy()
        array([0., 0.], dtype=float32)
    """
    x = operand(x)
    y = operand(y, x.dtype)
    return _zero_where(equal(x, 0.0), y, lambda safe: x * log(safe))


def add_n(inputs, name=None) -> Tensor:
    """The sum of a list of tensors of one shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.math.add_n([wg.ones(2), wg.ones(2), wg.ones(2)]).numpy()
        array([3., 3.], dtype=float32)
    """
    ts = [operand(t) for t in inputs]
    if not ts:
        raise ValueError("add_n: needs at least one tensor")
    _no_bool("add_n", ts[0])  # TF's AddN takes numbers; bool + bool would be a logical or
    shapes = {t.shape for t in ts}
    if len(shapes) != 1:
        raise ValueError(f"add_n: the tensors' shapes differ: {sorted(shapes)}")
    return builtins.sum(ts[1:], ts[0])


def _logical_reduction(name, fn):
    prim = nondifferentiable(primitive(name, fn))

    def op(input_tensor, axis=None, keepdims=False, name=None):
        x = operand(input_tensor)
        if x._value.dtype.kind != "b":
            raise TypeError(f"{prim.name}: expected a bool tensor, got {x.dtype}")
        axes = _axes(axis, x.ndim, prim.name)
        return apply(prim, (x,), {"axis": axes, "keepdims": bool(keepdims)})

    op.__name__ = op.__qualname__ = name
    return op


reduce_all = _logical_reduction(
    "reduce_all", lambda x, axis, keepdims: xp.all(x, axis, keepdims=keepdims)
)
reduce_all.__doc__ = """True where every element over ``axis`` is (all axes by default).

Example:
    >>> import wengert as wg
    >>> bool(wg.math.reduce_all(wg.constant([True, False])))
    False
"""
reduce_any = _logical_reduction(
    "reduce_any", lambda x, axis, keepdims: xp.any(x, axis, keepdims=keepdims)
)
reduce_any.__doc__ = """True where some element over ``axis`` is (all axes by default).

Example:
    >>> import wengert as wg
    >>> bool(wg.math.reduce_any(wg.constant([True, False])))
    True
"""


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """``t`` rescaled so its L2 norm over ``axes`` is at most ``clip_norm`` (TensorFlow's).

    Example:
        >>> import wengert as wg
        >>> wg.clip_by_norm([3.0, 4.0], 1.0).numpy()
        array([0.6, 0.8], dtype=float32)
    """
    t = operand(t)
    squares = reduce_sum(t * t, axis=axes, keepdims=True)
    # As TensorFlow: the root of a zero sum is never taken, so t = 0 has gradient 1, not NaN.
    norm = _zero_where(equal(squares, 0.0), squares, sqrt)
    return t * float(clip_norm) / maximum(norm, float(clip_norm))


def global_norm(t_list, name=None) -> Tensor:
    """sqrt of the sum of every tensor's squared L2 norm (None entries are skipped).

    Example:
        >>> import wengert as wg
        >>> float(wg.linalg.global_norm([wg.constant([3.0]), wg.constant([4.0])]))
        5.0
    """
    ts = [operand(t) for t in t_list if t is not None]
    if not ts:
        raise ValueError("global_norm: needs at least one tensor")
    return sqrt(builtins.sum((reduce_sum(t * t) for t in ts[1:]), reduce_sum(ts[0] * ts[0])))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """``(clipped list, global norm)``: every tensor scaled by ``clip_norm /
    max(global_norm, clip_norm)``, None entries kept (TensorFlow's).

    Example:
        >>> import wengert as wg
        >>> clipped, norm = wg.clip_by_global_norm([wg.constant(3.0), wg.constant(4.0)], 1.0)
        >>> [f"{float(c):.4f}" for c in clipped], float(norm)
        (['0.6000', '0.8000'], 5.0)
    """
    t_list = list(t_list)
    norm = global_norm(t_list) if use_norm is None else operand(use_norm)
    scale = float(clip_norm) / maximum(norm, float(clip_norm))
    return [None if t is None else operand(t) * scale for t in t_list], norm


# -- linear algebra -----------------------------------------------------------------------------
inv_p = primitive("inv", xp.linalg.inv)
defvjp(inv_p, lambda g, out, a: -matmul(_mT(out), matmul(g, _mT(out))))
defjvp(inv_p, lambda da, out, a: -matmul(out, matmul(da, out)))

det_p = primitive("det", xp.linalg.det)
defvjp(det_p, lambda g, out, a: (g * out)[..., None, None] * _mT(inv(a)))
defjvp(det_p, lambda da, out, a: out * reduce_sum(_mT(inv(a)) * da, axis=[-2, -1]))

solve_p = primitive("solve", xp.linalg.solve)
defvjp(
    solve_p,
    lambda g, out, a, b: -matmul(solve(_mT(a), g), _mT(out)),
    lambda g, out, a, b: solve(_mT(a), g),
)
defjvp(
    solve_p,
    lambda da, out, a, b: -solve(a, matmul(da, out)),
    lambda db, out, a, b: solve(a, db),
)


def _square_matrices(op, a):
    a = operand(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2] or a._value.dtype.kind != "f":
        raise ValueError(
            f"{op}: expected float square matrices (..., n, n), got {a.dtype}{list(a.shape)}"
        )
    return a


def inv(input, adjoint=False, name=None) -> Tensor:
    """The inverse of each square matrix (``tf.linalg.inv``).

    Example:
        >>> import wengert as wg
        >>> wg.linalg.inv([[2.0, 0.0], [0.0, 4.0]]).numpy()
        array([[0.5 , 0.  ],
               [0.  , 0.25]], dtype=float32)
    """
    a = _square_matrices("inv", input)
    return apply(inv_p, (_mT(a) if adjoint else a,))


def det(input, name=None) -> Tensor:
    """The determinant of each square matrix (``tf.linalg.det``).

    Example:
        >>> import wengert as wg
        >>> float(wg.linalg.det([[2.0, 1.0], [1.0, 3.0]]))
        5.0
    """
    return apply(det_p, (_square_matrices("det", input),))


def solve(matrix, rhs, adjoint=False, name=None) -> Tensor:
    """X with ``matrix @ X = rhs`` (``tf.linalg.solve``; rhs is (..., n, k)).

    Example:
        >>> import wengert as wg
        >>> wg.linalg.solve([[2.0, 0.0], [0.0, 4.0]], [[2.0], [8.0]]).numpy()
        array([[1.],
               [2.]], dtype=float32)
    """
    a = _square_matrices("solve", matrix)
    b = operand(rhs, a.dtype)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(
            f"solve: rhs must be (..., {a.shape[-1]}, k) for matrix {list(a.shape)}, "
            f"got {list(b.shape)}"
        )
    return apply(solve_p, (_mT(a) if adjoint else a, b))
