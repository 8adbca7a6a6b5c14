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


def _reduction(op):
    def adapter(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        if dtype is not None or out is not None or kw:
            raise TypeError(f"numpy.{op.__name__}: dtype=, out= and where= are not supported")
        return op(a, axis=axis, keepdims=bool(keepdims))

    return adapter


def _pad(array, pad_width, mode="constant", constant_values=0, **kw):
    t = A.operand(array) if not isinstance(array, Tensor) else array
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * t.ndim
    mode = {"constant": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}.get(mode)
    if mode is None or kw:
        raise TypeError("numpy.pad: only constant, reflect and symmetric modes are supported")
    return A.pad(t, pad_width, mode, constant_values)


_FUNCTIONS = {
    xp.sum: _reduction(M.reduce_sum), xp.mean: _reduction(M.reduce_mean),
    xp.max: _reduction(M.reduce_max), xp.min: _reduction(M.reduce_min),
    xp.amax: _reduction(M.reduce_max), xp.amin: _reduction(M.reduce_min),
    xp.prod: _reduction(M.reduce_prod),
    xp.var: _reduction(M.reduce_variance), xp.std: _reduction(M.reduce_std),
    xp.reshape: lambda a, shape=None, order="C", newshape=None: A.reshape(
        a, shape if shape is not None else newshape),
    xp.transpose: lambda a, axes=None: A.transpose(a, axes),
    xp.concatenate: lambda arrays, axis=0: A.concat(list(arrays), axis),
    xp.stack: lambda arrays, axis=0: A.stack(list(arrays), axis),
    xp.squeeze: lambda a, axis=None: A.squeeze(a, axis),
    xp.expand_dims: lambda a, axis: A.expand_dims(a, axis),
    xp.where: lambda condition, x, y: M.where(condition, x, y),
    xp.clip: lambda a, a_min, a_max: M.clip_by_value(a, a_min, a_max),
    xp.dot: lambda a, b: M.matmul(a, b),
    xp.tile: lambda a, reps: A.tile(a, reps if isinstance(reps, (list, tuple)) else [reps]),
    xp.split: lambda a, indices_or_sections, axis=0: A.split(a, indices_or_sections, axis),
    xp.take: lambda a, indices, axis=None: A.gather(a, indices, axis=axis),
    xp.broadcast_to: lambda array, shape: A.broadcast_to(array, shape),
    xp.pad: _pad,
    xp.tensordot: lambda a, b, axes=2: M.tensordot(a, b, axes),
    xp.argmax: lambda a, axis=None: M.argmax(a if axis is not None else A.reshape(a, [-1]),
                                             axis=axis or 0),
    xp.argmin: lambda a, axis=None: M.argmin(a if axis is not None else A.reshape(a, [-1]),
                                             axis=axis or 0),
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
        return fn(*args, **kwargs)
    _refuse(func.__name__, list(args) + list(kwargs.values()))
    return func(*_unwrap(args), **_unwrap(kwargs))
