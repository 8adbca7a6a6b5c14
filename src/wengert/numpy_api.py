"""NumPy interoperability: ``np.sin(t)`` runs wengert's ``sin`` and is recorded.

A NumPy function with no wengert counterpart may still be applied to a Tensor
that no tape or accumulator is following (it sees the array and returns an
ndarray); applied to a *watched* tensor it raises TypeError, because its
result would silently fall off the tape.
"""

from __future__ import annotations

from . import array_ops as A
from . import core
from . import math_ops as M
from . import nn_ops as N
from .backend import xp
from .tensor import Tensor, Variable

_UFUNCS = {
    xp.add: M.add, xp.subtract: M.subtract, xp.multiply: M.multiply,
    xp.true_divide: M.divide, xp.floor_divide: M.floordiv, xp.remainder: M.mod,
    xp.power: M.pow, xp.negative: M.negative, xp.positive: lambda x: x,
    xp.absolute: M.abs, xp.sign: M.sign, xp.sqrt: M.sqrt, xp.square: M.square,
    xp.exp: M.exp, xp.log: M.log, xp.log1p: M.log1p, xp.expm1: M.expm1,
    xp.sin: M.sin, xp.cos: M.cos, xp.tanh: M.tanh,
    xp.maximum: M.maximum, xp.minimum: M.minimum, xp.matmul: M.matmul,
    xp.equal: M.equal, xp.not_equal: M.not_equal, xp.less: M.less,
    xp.less_equal: M.less_equal, xp.greater: M.greater, xp.greater_equal: M.greater_equal,
    xp.logical_and: M.logical_and, xp.logical_or: M.logical_or, xp.logical_not: M.logical_not,
    xp.isnan: M.is_nan, xp.isfinite: M.is_finite, xp.isinf: M.is_inf,
    xp.floor: M.floor, xp.ceil: M.ceil, xp.rint: M.round,
}  # fmt: skip


class _NotHandled(Exception):
    """An adapter cannot reproduce NumPy exactly for these arguments."""


def _require(condition: bool) -> None:
    if not condition:
        raise _NotHandled


def _reduction(op, float_mean=False, counts_bools=False):
    def adapter(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        _require(dtype is None and out is None and not kw)
        t = A.operand(a)
        if float_mean and t.dtype.kind in "iub":  # NumPy's mean of integers is float64
            t = A.cast(t, "float64")
        elif counts_bools and t.dtype.kind == "b":  # NumPy counts (wengert's ops refuse bool)
            t = A.cast(t, "int64")
        return op(t, axis=axis, keepdims=bool(keepdims))

    return adapter


def _spread(op):
    def adapter(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
        _require(dtype is None and out is None and ddof == 0 and not kw)
        t = A.operand(a)
        if t.dtype.kind in "iub":
            t = A.cast(t, "float64")
        return op(t, axis=axis, keepdims=bool(keepdims))

    return adapter


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    _require(order == "C")
    return A.reshape(a, shape if shape is not None else newshape)


def _concatenate(arrays, axis=0, out=None, **kw):
    _require(axis is not None and out is None and not kw)
    return A.concat(list(arrays), axis)


def _where(condition, *xy):
    _require(len(xy) == 2)
    return M.where(condition, *xy)


def _ndim(x) -> int:
    return x.ndim if isinstance(x, Tensor) else xp.ndim(x)


def _dot(a, b, out=None):
    _require(out is None)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return M.multiply(a, b)
    _require(_ndim(a) <= 2 and _ndim(b) <= 2)  # N-d dot is not matmul
    return M.matmul(a, b)


def _take(a, indices, axis=None, out=None, mode=None):
    _require(out is None and mode is None)
    t = A.operand(a)
    if axis is None:
        t = A.reshape(t, [-1])
        axis = 0
    idx = xp.asarray(indices._value if isinstance(indices, Tensor) else indices)
    _require(idx.dtype.kind in "iu")
    # NumPy counts negative indices from the end; gather does not.
    return A.gather(t, xp.where(idx < 0, idx + t.shape[axis], idx), axis=axis)


def _split(ary, indices_or_sections, axis=0):
    t = A.operand(ary)
    if xp.ndim(indices_or_sections) == 0:  # a number of sections: int, np.int64, 0-d array
        return A.split(t, int(indices_or_sections), axis)
    n = t.shape[axis]
    cuts = [min(max(int(i) if i >= 0 else int(i) + n, 0), n) for i in indices_or_sections]
    bounds = [0] + cuts + [n]
    _require(all(b2 >= b1 for b1, b2 in zip(bounds, bounds[1:])))
    return A.split(t, [b2 - b1 for b1, b2 in zip(bounds, bounds[1:])], axis)


def _pad(array, pad_width, mode="constant", **kw):
    t = A.operand(array)
    modes = {"constant": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}
    _require(mode in modes and set(kw) <= {"constant_values"})
    value = kw.get("constant_values", 0)
    _require(xp.ndim(value) == 0)
    widths = xp.broadcast_to(xp.asarray(pad_width, dtype=int), (t.ndim, 2)).tolist()
    return A.pad(t, widths, modes[mode], value)


def _tile(a, reps):
    t = A.operand(a)
    _require(xp.ndim(reps) <= 1)
    reps = [int(r) for r in xp.reshape(xp.asarray(reps), -1)]  # an int, a sequence or an array
    if len(reps) > t.ndim:  # NumPy promotes the array with leading axes of size 1
        t = A.reshape(t, (1,) * (len(reps) - t.ndim) + t.shape)
    reps = [1] * (t.ndim - len(reps)) + reps
    return A.tile(t, reps)


def _expand_dims(a, axis):
    t = A.operand(a)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    n = t.ndim + len(axes)
    axes = sorted(int(x) % n for x in axes)
    for ax in axes:
        t = A.expand_dims(t, ax)
    return t


def _arg(op):
    def adapter(a, axis=None, out=None, *, keepdims=False):
        _require(out is None and not keepdims)
        if axis is None:
            return op(A.reshape(a, [-1]), axis=0)
        return op(a, axis=axis)

    return adapter


_UNSET = object()


def _clip(a, a_min=_UNSET, a_max=_UNSET, out=None, *, min=_UNSET, max=_UNSET, **kw):
    _require(out is None and not kw)
    low = a_min if a_min is not _UNSET else min
    high = a_max if a_max is not _UNSET else max
    low = None if low is _UNSET else low
    high = None if high is _UNSET else high
    _require(low is not None or high is not None)
    t = A.operand(a)
    if low is not None:
        t = M.maximum(t, low)
    if high is not None:
        t = M.minimum(t, high)
    return t


_FUNCTIONS = {
    xp.sum: _reduction(M.reduce_sum, counts_bools=True),
    xp.mean: _reduction(M.reduce_mean, float_mean=True),
    xp.max: _reduction(M.reduce_max), xp.min: _reduction(M.reduce_min),
    xp.amax: _reduction(M.reduce_max), xp.amin: _reduction(M.reduce_min),
    xp.prod: _reduction(M.reduce_prod, counts_bools=True),
    xp.var: _spread(M.reduce_variance), xp.std: _spread(M.reduce_std),
    xp.reshape: _reshape,
    xp.transpose: lambda a, axes=None: A.transpose(a, axes),
    xp.concatenate: _concatenate,
    xp.stack: lambda arrays, axis=0: A.stack(list(arrays), axis),
    xp.squeeze: lambda a, axis=None: A.squeeze(a, axis),
    xp.expand_dims: _expand_dims,
    xp.where: _where,
    xp.clip: _clip,
    xp.dot: _dot,
    xp.tile: _tile,
    xp.split: _split,
    xp.take: _take,
    xp.broadcast_to: lambda array, shape, subok=False: A.broadcast_to(array, shape),
    xp.pad: _pad,
    xp.tensordot: lambda a, b, axes=2: M.tensordot(a, b, axes),
    xp.argmax: _arg(M.argmax),
    xp.argmin: _arg(M.argmin),
    # Metadata: no values leave the tape.
    xp.ndim: lambda a: a.ndim,
    xp.shape: lambda a: a.shape,
    xp.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
}  # fmt: skip
_ = N


def is_watched(t) -> bool:
    """True if some active tape or accumulator follows ``t`` (or would, on reading it)."""
    for r in core.recorders:
        watched = getattr(r, "_watched", None)
        if watched is not None:
            if t._tid in watched:
                return True
            if type(t) is Variable and t.trainable and r._watch_accessed:
                return True
        elif t._tid in getattr(r, "_tangents", ()):
            return True
    return False


def _leaves(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _leaves(obj=o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _leaves(o)
    else:
        yield obj


def _unwrap(obj):
    if isinstance(obj, Tensor):
        return obj._value
    if isinstance(obj, list):
        return [_unwrap(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _refuse(name, args):
    for leaf in _leaves(list(args)):
        if isinstance(leaf, Tensor) and is_watched(leaf):
            raise TypeError(
                f"numpy.{name} has no wengert counterpart and was applied to a watched Tensor "
                f"{leaf.dtype}{list(leaf.shape)}: its result would leave the tape silently. "
                "Use wengert ops, or wg.stop_gradient / .numpy() to leave the tape on purpose."
            )


def array_ufunc(ufunc, method, inputs, kwargs):
    """Run a NumPy ufunc on Tensors: wengert's op when there is one."""
    out = kwargs.get("out")
    if out is not None and any(isinstance(o, Tensor) for o in _leaves(out)):
        raise TypeError(f"numpy.{ufunc.__name__}: Tensors are immutable and cannot be out=")
    fn = _UFUNCS.get(ufunc)
    if method == "__call__" and fn is not None and not kwargs:
        return fn(*inputs)
    _refuse(f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__, inputs)
    return getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs))


def array_function(func, args, kwargs):
    """Run a NumPy function on Tensors: wengert's op when there is one."""
    fn = _FUNCTIONS.get(func)
    if fn is not None:
        try:
            return fn(*args, **kwargs)
        except _NotHandled:
            pass  # NumPy semantics wengert's op does not reproduce: treat as unknown
    _refuse(func.__name__, list(args) + list(kwargs.values()))
    return func(*_unwrap(args), **_unwrap(kwargs))
