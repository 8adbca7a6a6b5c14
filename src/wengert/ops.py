"""``wg.ops``: Keras 3's ``keras.ops`` names, signatures and defaults.

The rest of wengert speaks TensorFlow (``wg.reduce_mean(x, axis)``, ``wg.concat``,
``wg.shape`` returning a Tensor); this module speaks Keras 3, so code written against
``keras.ops`` runs with ``ops = wg.ops``.  Each function is a thin adapter over
wengert's own ops, so it is differentiable wherever Keras's is (a tape records the
ops underneath), and on a functional model's symbolic values it records a layer that
saves as ``"ops.<name>"``.  Nothing here changes the TensorFlow-style functions: where
the two disagree, ``wg.ops`` follows Keras and ``wg``/``wg.nn`` keep TensorFlow's way.

Keras's behaviour, where it differs from TensorFlow's:

* ``shape(x)`` is a tuple of ints (``None`` for a symbolic batch axis), not a Tensor.
* Mixed dtypes promote as in Keras (int32 with float32 gives float32; a Python float
  next to an integer tensor gives float32), where TensorFlow's ops refuse.
* Float-only functions (``sqrt``, ``exp``, ``mean``, ``std``...) take integers and
  return float32, as Keras's do.
* ``gelu`` is the tanh approximation by default, ``leaky_relu``'s slope is 0.2,
  ``arange`` is ``arange(start, stop=None, step=None, dtype=None)``.
* Control flow (``cond``, ``while_loop``, ``fori_loop``, ``scan``, ``map``,
  ``vectorized_map``) runs eagerly in Python, as Keras's NumPy backend does.
* Narrow integers accumulate in 32 bits: ``sum``, ``prod``, ``cumsum``, ``cumprod``,
  ``matmul``, ``dot``, ``tensordot`` and ``einsum`` of bool/int8/int16 give int32, of
  uint8/uint16 uint32 (Keras keeps int16 in ``matmul`` and int8 in ``dot``, and
  overflows there).
* An axis outside [-ndim, ndim), or one named twice, is a ValueError that names the
  op; none wraps around.
* NumPy scalars are typed, not weak, as in Keras's NumPy backend and NumPy 2:
  ``add(float32_tensor, np.float64(1.5))`` is float64 (PyTorch's backend gives float32).
  Python numbers are weak.

It covers 152 of the 337 names of Keras 3.15's ``keras.ops``: the creation functions,
reductions, elementwise math, shapes and indexing, ``matmul``/``einsum``/``norm``, the
activations, the cross-entropies, ``top_k``/``sort`` and the eager control flow.
Notable ones missing: the convolutions and pools (``conv``, ``max_pool``,
``average_pool``; use ``wg.nn``), ``batch_normalization``, ``layer_normalization``,
``dot_product_attention``, ``segment_sum``, ``scatter``/``scatter_update``,
``bincount``, ``unique``, ``searchsorted``, ``hstack``/``vstack``, the inverse trig
functions (``arcsin``...), ``erfinv``, the ``nan*`` reductions, ``median``/``quantile``,
the linear algebra of ``keras.ops.linalg`` (``det``, ``inv``, ``solve``, ``svd``, ``qr``,
``cholesky``; some are in ``wg.linalg``), the FFTs, ``custom_gradient``,
``associative_scan`` and ``switch``.

Example:
    >>> import wengert as wg
    >>> from wengert import ops
    >>> x = ops.arange(6, dtype="float32")
    >>> ops.shape(ops.reshape(x, (2, 3)))
    (2, 3)
    >>> ops.mean(ops.reshape(x, (2, 3)), axis=1).numpy()
    array([1., 4.], dtype=float32)
"""

from __future__ import annotations

import builtins as _builtins
import math as _math

from . import array_ops as _A
from . import math_extra as _E
from . import math_ops as _M
from . import nn_ops as _N
from .backend import as_dtype as _as_dtype
from .backend import xp as _xp
from .core import apply as _apply
from .core import defjvp as _defjvp
from .core import defvjp as _defvjp
from .core import operand as _operand
from .core import primitive as _primitive
from .tensor import Tensor as _Tensor
from .tensor import Variable as _Variable
from .tensor import convert_to_tensor as _convert_to_tensor
from .tensor import is_tensor as _is_tensor

_float32 = _xp.dtype("float32")
_int32 = _xp.dtype("int32")
_TENSORS = (_Tensor, _Variable)  # exact types, for the fast paths
_EPSILON = 1e-7  # keras.config.epsilon(): the clip of probabilities in the cross-entropies


# -- helpers ----------------------------------------------------------------------------------
def _weak(x) -> bool:
    """A Python number: it takes the other operand's dtype (Keras's weak types)."""
    return type(x) in (int, float, bool)


def _result_dtype(d1, d2):
    """Keras's promotion of two tensor dtypes: a float wins over an int or bool, bool
    loses to anything, two ints or two floats go to the wider."""
    if d1 == d2:
        return d1
    f1, f2 = d1.kind in "fc", d2.kind in "fc"
    if f1 != f2:
        return d1 if f1 else d2
    if d1.kind == "b" or d2.kind == "b":
        return d2 if d1.kind == "b" else d1
    return _xp.result_type(d1, d2)


def _cast(t, dtype):
    return t if t.dtype == dtype else _A.cast(t, dtype)


def _pair(x1, x2):
    """Two operands brought to one dtype as Keras does (Python numbers stay weak)."""
    if type(x1) in _TENSORS and type(x2) in _TENSORS:
        d1, d2 = x1._value.dtype, x2._value.dtype
        if d1 == d2:  # the common case: nothing to convert
            return x1, x2
        dtype = _result_dtype(d1, d2)
        return _cast(x1, dtype), _cast(x2, dtype)
    if _weak(x1) and _weak(x2):
        x1 = _operand(x1)
    if _weak(x1) or _weak(x2):
        first = not _weak(x1)
        t, w = (_operand(x1), x2) if first else (_operand(x2), x1)
        if type(w) is float and t.dtype.kind in "iub":
            t = _cast(t, _float32)
        elif type(w) is int and t.dtype.kind == "b":
            t = _cast(t, _int32)
        elif type(w) is bool and t.dtype.kind != "b":
            w = int(w)
        return (t, w) if first else (w, t)
    t1, t2 = _operand(x1), _operand(x2)
    dtype = _result_dtype(t1.dtype, t2.dtype)
    return _cast(t1, dtype), _cast(t2, dtype)


def _floating(x):
    """``x`` as a Tensor, integers and bools cast to float32 (Keras's float-only ops)."""
    t = _operand(x)
    return _cast(t, _float32) if t.dtype.kind in "iub" else t


def _numeric(x):
    """``x`` as a Tensor, bools cast to int32 (Keras sums and multiplies bools as ints)."""
    t = _operand(x)
    return _cast(t, _int32) if t.dtype.kind == "b" else t


# Keras (after JAX) accumulates narrow integers in 32 bits: a sum of int8 is int32.
_ACCUMULATE = {
    _xp.dtype(d): _xp.dtype(w)
    for d, w in [
        ("bool", "int32"),
        ("int8", "int32"),
        ("int16", "int32"),
        ("uint8", "uint32"),
        ("uint16", "uint32"),
    ]
}


def _accumulating(x, dtype=None):
    """``x`` as a Tensor of ``dtype``, else with bool/int8/int16 widened to int32 and
    uint8/uint16 to uint32 (sum, prod, cumsum, cumprod, as Keras and JAX)."""
    t = _operand(x)
    if dtype is not None:
        return _cast(t, _as_dtype(dtype))
    wide = _ACCUMULATE.get(t.dtype)
    return t if wide is None else _cast(t, wide)


def _boolean(x):
    t = _operand(x)
    return t if t.dtype.kind == "b" else _M.not_equal(t, _xp.zeros((), t.dtype))


def _axes(op: str, axis, ndim: int, sort: bool = True) -> tuple:
    """``axis`` checked as Keras checks it (ints only; none wraps, none twice) and
    normalised by ``math_ops._axes``."""
    if axis is not None and not isinstance(axis, _Tensor):
        for a in axis if isinstance(axis, (list, tuple)) else (axis,):
            if isinstance(a, bool) or not isinstance(a, (int, _xp.integer)):
                raise TypeError(f"{op}: an axis must be an int, got {type(a).__name__} {a!r}")
    return _M._axes(axis, ndim, op, sort=sort)


def _axis(op: str, axis, ndim: int) -> int:
    """One axis, checked as ``_axes`` does."""
    if isinstance(axis, (list, tuple)):
        raise TypeError(f"{op}: axis must be one int, got {axis!r}")
    return _axes(op, axis, ndim)[0]


def _flat(t):
    return _A.reshape(t, [-1])


def _index(x, axis, idx):
    """``x`` indexed along ``axis`` by the integer array ``idx`` (differentiable)."""
    return _A.getitem(x, (_builtins.slice(None),) * axis + (idx,))


def _float_unary(fn, name, example, summary):
    def op(x):
        return fn(_floating(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"{summary} (integers give float32, as in Keras).\n\n"
        f"Example:\n    >>> from wengert import ops\n    {example}\n"
    )
    return op


def _binary(fn, name, example, summary):
    def op(x1, x2):
        if type(x1) in _TENSORS and type(x2) in _TENSORS and x1._value.dtype == x2._value.dtype:
            return fn(x1, x2)
        return fn(*_pair(x1, x2))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (
        f"{summary}, with Keras's dtype promotion.\n\n"
        f"Example:\n    >>> from wengert import ops\n    {example}\n"
    )
    return op


# -- core: conversion, shape and dtype -------------------------------------------------------
def shape(x) -> tuple:
    """The shape of ``x`` as a tuple of ints (``None`` for a model input's batch axis),
    as ``keras.ops.shape``; ``wg.shape`` is TensorFlow's and returns a Tensor.

    Example:
        >>> import wengert as wg
        >>> from wengert import ops
        >>> ops.shape(wg.zeros((4, 3))), ops.shape(wg.Input((3,)))
        ((4, 3), (None, 3))
    """
    if isinstance(x, _Tensor):
        return tuple(x.shape)
    if hasattr(x, "_sample_shape"):  # a model's input (its shape has no batch axis) or value
        full, sample = tuple(x.shape), tuple(x._sample_shape())
        return full if len(full) == len(sample) + 1 else (getattr(x, "batch_size", None),) + sample
    return tuple(_xp.shape(x))


def ndim(x) -> int:
    """The number of axes of ``x``.

    Example:
        >>> from wengert import ops
        >>> ops.ndim([[1.0, 2.0]])
        2
    """
    return len(shape(x))


def size(x) -> int:
    """The number of elements of ``x``; ValueError for a model input, whose batch
    size is unknown (``None``).

    Example:
        >>> from wengert import ops
        >>> ops.size([[1.0, 2.0, 3.0]])
        3
    """
    dims = shape(x)
    if None in dims:
        raise ValueError(f"size: the shape {dims} has an unknown axis (None), so no size")
    return _math.prod(dims)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a Tensor (of ``dtype`` when given); ``sparse`` and ``ragged`` are
    accepted for Keras's signature and must not be True.

    Example:
        >>> from wengert import ops
        >>> ops.convert_to_tensor([1, 2], dtype="float32").numpy()
        array([1., 2.], dtype=float32)
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor: wengert has no sparse or ragged tensors")
    if isinstance(x, _Tensor) and dtype is not None:
        return _cast(x, _as_dtype(dtype))
    return _convert_to_tensor(x, dtype=dtype)


def convert_to_numpy(x):
    """``x`` as a NumPy array.

    Example:
        >>> import wengert as wg
        >>> from wengert import ops
        >>> ops.convert_to_numpy(wg.ones(2))
        array([1., 1.], dtype=float32)
    """
    if isinstance(x, _Tensor):
        return x.numpy()
    if not hasattr(x, "_sample_shape"):  # data, not a model's symbolic value
        a = _xp.asarray(x)  # as NumPy: [1.0, 2.0] is float64
        if a.dtype != object:
            return a
    return _xp.asarray(_operand(x)._value)


def is_tensor(x) -> bool:
    """True for a wengert Tensor (or Variable).

    Example:
        >>> import wengert as wg
        >>> from wengert import ops
        >>> ops.is_tensor(wg.ones(2)), ops.is_tensor([1.0])
        (True, False)
    """
    return _is_tensor(x)


def cast(x, dtype):
    """``x`` converted to ``dtype`` (differentiable between float dtypes).

    Example:
        >>> from wengert import ops
        >>> ops.cast([1.7, -1.7], "int32").numpy()
        array([ 1, -1], dtype=int32)
    """
    return _cast(_operand(x), _as_dtype(dtype))


def stop_gradient(variable):
    """``variable``'s value, through which no gradient flows.

    Example:
        >>> import wengert as wg
        >>> from wengert import ops
        >>> x = wg.constant(2.0)
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * ops.stop_gradient(x)
        >>> float(tape.gradient(y, x))
        2.0
    """
    return _A.stop_gradient(variable)


# -- creation ---------------------------------------------------------------------------------
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (Keras's ``arange(start, stop=None,
    step=None, dtype=None)``; no ``step`` is a step of 1); int32 for integer arguments,
    float32 when any is a float.

    Example:
        >>> from wengert import ops
        >>> ops.arange(3).numpy(), ops.arange(1, 2, 0.5).numpy()
        (array([0, 1, 2], dtype=int32), array([1. , 1.5], dtype=float32))
    """
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    values = [v._value.item() if isinstance(v, _Tensor) else v for v in (start, stop, step)]
    if dtype is None:
        floats = _builtins.any(
            isinstance(v, float) or _xp.asarray(v).dtype.kind == "f" for v in values
        )
        dtype = _float32 if floats else _int32
    return _convert_to_tensor(_xp.arange(*values, dtype=_as_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    """A tensor of ``shape`` filled with ``fill_value`` (float32 unless ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.full((2,), 7).numpy()
        array([7., 7.], dtype=float32)
    """
    dtype = _float32 if dtype is None else _as_dtype(dtype)
    value = fill_value._value if isinstance(fill_value, _Tensor) else fill_value
    return _convert_to_tensor(_xp.full(_shape_tuple(shape), value, dtype=dtype))


def _shape_tuple(shape):
    if isinstance(shape, _Tensor):
        shape = shape._value.tolist()
    return (int(shape),) if isinstance(shape, (int, _xp.integer)) else tuple(int(s) for s in shape)


def full_like(x, fill_value, dtype=None):
    """A tensor of ``x``'s shape (and dtype, unless ``dtype``) filled with ``fill_value``.

    Example:
        >>> from wengert import ops
        >>> ops.full_like([1, 2], 5).numpy()
        array([5, 5], dtype=int32)
    """
    t = _operand(x)
    return full(t.shape, fill_value, t.dtype if dtype is None else dtype)


def zeros(shape, dtype=None):
    """Zeros of ``shape`` (float32 unless ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.zeros((2,)).numpy()
        array([0., 0.], dtype=float32)
    """
    return full(shape, 0, dtype)


def ones(shape, dtype=None):
    """Ones of ``shape`` (float32 unless ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.ones((2,), dtype="int32").numpy()
        array([1, 1], dtype=int32)
    """
    return full(shape, 1, dtype)


def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape and dtype (or ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.zeros_like([1.5, 2.5]).numpy()
        array([0., 0.], dtype=float32)
    """
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    """Ones of ``x``'s shape and dtype (or ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.ones_like([1, 2]).numpy()
        array([1, 1], dtype=int32)
    """
    return full_like(x, 1, dtype)


def eye(N, M=None, k=0, dtype=None):
    """An ``N`` x ``M`` matrix with ones on the ``k``-th diagonal (float32 unless ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.eye(2, 3, k=1).numpy()
        array([[0., 1., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    dtype = _float32 if dtype is None else _as_dtype(dtype)
    return _convert_to_tensor(_xp.eye(int(N), None if M is None else int(M), int(k), dtype=dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (NumPy's ``linspace``;
    float32 unless ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.linspace(0, 1, 5).numpy()
        array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    start, stop = (v._value if isinstance(v, _Tensor) else v for v in (start, stop))
    values, step = _xp.linspace(start, stop, int(num), endpoint=endpoint, retstep=True, axis=axis)
    dtype = _float32 if dtype is None else _as_dtype(dtype)
    out = _convert_to_tensor(values.astype(dtype))
    return (out, step) if retstep else out


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal of an ``N`` x ``M`` matrix.

    Example:
        >>> from wengert import ops
        >>> ops.tri(2).numpy()
        array([[1., 0.],
               [1., 1.]], dtype=float32)
    """
    dtype = _float32 if dtype is None else _as_dtype(dtype)
    return _convert_to_tensor(_xp.tri(int(N), None if M is None else int(M), int(k), dtype=dtype))


# -- reductions -------------------------------------------------------------------------------
def mean(x, axis=None, keepdims=False):
    """The mean over ``axis`` (all axes by default); integers give float32.

    Example:
        >>> from wengert import ops
        >>> ops.mean([[1, 2], [3, 5]], axis=0).numpy()
        array([2. , 3.5], dtype=float32)
    """
    return _M.reduce_mean(_floating(x), axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):
    """The sum over ``axis`` (all axes by default); bool, int8 and int16 are summed as
    int32, uint8 and uint16 as uint32 (Keras's and JAX's widening).

    Example:
        >>> from wengert import ops
        >>> ops.sum([[1.0, 2.0], [3.0, 4.0]], axis=1).numpy()
        array([3., 7.], dtype=float32)
    """
    # reduce_sum checks the axes (none may wrap or repeat), so they pass as given.
    return _M.reduce_sum(_accumulating(x), axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis`` (all axes by default); without ``dtype``, narrow
    integers are multiplied in 32 bits as ``sum`` does.

    Example:
        >>> from wengert import ops
        >>> ops.prod([[1.0, 2.0], [3.0, 4.0]], axis=0).numpy()
        array([3., 8.], dtype=float32)
    """
    return _M.reduce_prod(_accumulating(x, dtype), axis=axis, keepdims=keepdims)


def _extreme(op, reduce, pick, x, axis, keepdims, initial):
    t = _operand(x)
    if initial is not None:  # Keras casts initial to x's dtype: an int tensor stays int
        value = initial._value if isinstance(initial, _Tensor) else initial
        initial = _xp.asarray(value).astype(t.dtype)
        if initial.ndim:
            raise ValueError(f"{op}: initial must be a scalar, got shape {initial.shape}")
        if t.size == 0:  # NumPy and Keras give initial (reduce_max would refuse)
            np_reduce = _xp.max if op == "max" else _xp.min
            axes = _axes(op, axis, t.ndim)
            return _convert_to_tensor(
                np_reduce(t._value, axis=axes, keepdims=keepdims, initial=initial)
            )
    boolean = t.dtype.kind == "b"
    if boolean:
        t = _cast(t, _int32)
    out = reduce(t, axis=axis, keepdims=keepdims)
    if initial is not None:
        out = pick(out, _convert_to_tensor(initial.astype(out.dtype)))
    return _cast(out, _xp.dtype(bool)) if boolean else out


def max(x, axis=None, keepdims=False, initial=None):
    """The largest value over ``axis`` (all axes by default), at least ``initial``
    (cast to x's dtype, as Keras; an empty x gives ``initial``).

    Example:
        >>> from wengert import ops
        >>> ops.max([[1.0, 5.0], [3.0, 4.0]], axis=1).numpy()
        array([5., 4.], dtype=float32)
    """
    return _extreme("max", _M.reduce_max, _M.maximum, x, axis, keepdims, initial)


def min(x, axis=None, keepdims=False, initial=None):
    """The smallest value over ``axis`` (all axes by default), at most ``initial``
    (cast to x's dtype, as Keras; an empty x gives ``initial``).

    Example:
        >>> from wengert import ops
        >>> ops.min([[1.0, 5.0], [3.0, 4.0]], axis=0).numpy()
        array([1., 4.], dtype=float32)
    """
    return _extreme("min", _M.reduce_min, _M.minimum, x, axis, keepdims, initial)


amax, amin = max, min


def var(x, axis=None, keepdims=False):
    """The variance (divided by N) over ``axis``; integers give float32.

    Example:
        >>> from wengert import ops
        >>> float(ops.var([1.0, 2.0, 3.0, 4.0]))
        1.25
    """
    return _M.reduce_variance(_floating(x), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """The standard deviation (divided by N) over ``axis``; integers give float32.

    Example:
        >>> from wengert import ops
        >>> float(ops.std([1.0, 3.0]))
        1.0
    """
    return _M.reduce_std(_floating(x), axis=axis, keepdims=keepdims)


def _arg(fn, x, axis, keepdims):
    t = _operand(x)
    if t.dtype.kind == "b":
        t = _cast(t, _int32)
    if axis is None:
        out = fn(_flat(t), axis=0, output_type="int32")
        return _A.reshape(out, (1,) * t.ndim) if keepdims else out
    axis = _axis(fn.__name__, axis, t.ndim)
    out = fn(t, axis=axis, output_type="int32")
    return _A.expand_dims(out, axis) if keepdims else out


def argmax(x, axis=None, keepdims=False):
    """Index (int32) of the largest value along ``axis``, of the flattened tensor when
    ``axis`` is None (Keras's default; TensorFlow's is axis 0).

    Example:
        >>> from wengert import ops
        >>> x = [[1.0, 5.0], [7.0, 4.0]]
        >>> int(ops.argmax(x)), ops.argmax(x, axis=1).numpy()
        (2, array([1, 0], dtype=int32))
    """
    return _arg(_M.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index (int32) of the smallest value along ``axis`` (of the flattened tensor by default).

    Example:
        >>> from wengert import ops
        >>> ops.argmin([[1.0, 5.0], [7.0, 4.0]], axis=0).numpy()
        array([0, 1], dtype=int32)
    """
    return _arg(_M.argmin, x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """Whether any element over ``axis`` is true (nonzero).

    Example:
        >>> from wengert import ops
        >>> ops.any([[0, 1], [0, 0]], axis=1).numpy()
        array([ True, False])
    """
    return _E.reduce_any(_boolean(x), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every element over ``axis`` is true (nonzero).

    Example:
        >>> from wengert import ops
        >>> ops.all([[1, 1], [0, 1]], axis=0).numpy()
        array([False,  True])
    """
    return _E.reduce_all(_boolean(x), axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, computed stably.

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.logsumexp([0.0, 0.0])
        '0.6931'
    """
    return _M.reduce_logsumexp(_floating(x), axis=axis, keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (of the flattened tensor when None); without
    ``dtype``, narrow integers are summed in 32 bits as ``sum`` does.

    Example:
        >>> from wengert import ops
        >>> ops.cumsum([[1.0, 2.0], [3.0, 4.0]]).numpy()
        array([ 1.,  3.,  6., 10.], dtype=float32)
    """
    t = _accumulating(x, dtype)
    if axis is None:
        t, axis = _flat(t), 0
    return _E.cumsum(t, axis=_axis("cumsum", axis, t.ndim))


def _cumprod_impl(x, axis):
    return _xp.cumprod(x, axis=axis, dtype=x.dtype)


def _cumprod_parts(x, axis):
    """What cumprod's rules need besides its output: a mask of x's nonzeros, x with its
    zeros replaced by 1, and for the first and second zero of each slice (r = 1, 2) a
    mask of it and y_r, the running product with that zero replaced by 1 (computed
    with cumprod itself, so that the rules are differentiable again)."""
    a = x._value
    zero = a == 0
    one = _xp.ones((), a.dtype)
    safe = _M.where(zero, one, x)
    rank = _xp.cumsum(zero, axis=axis)
    parts = []
    for r in (1, 2):
        mask = zero & (rank == r)
        if mask.any():
            parts.append((mask, _apply(_cumprod_p, (_M.where(mask, one, x),), {"axis": axis})))
    return ~zero, safe, parts


def _cumprod_vjp(g, out, x, axis):
    # d y_j / d x_i = prod_{k <= j, k != i} x_k (i <= j).  Where x_i != 0 that is
    # y_j / x_i, so the gradient is a reverse running sum of g * y over x_i.  A zero
    # x_i gets the reverse running sum of g * y_i, y_i the product with x_i = 1: nonzero
    # for a slice's first zero, zero (but not in its derivative) for the second; later
    # zeros get 0, whose first two derivatives are 0.  Exact, zeros included, to order 2.
    nonzero_, safe, parts = _cumprod_parts(x, axis)
    zero = _xp.zeros((), x._value.dtype)
    dx = _M.where(nonzero_, _E.cumsum(g * out, axis, reverse=True) / safe, zero)
    for mask, y in parts:
        dx = dx + _M.where(mask, _E.cumsum(g * y, axis, reverse=True), zero)
    return dx


def _cumprod_jvp(dx, out, x, axis):
    # The VJP's transpose: y * cumsum(dx / x) over the nonzeros, plus y_r * cumsum(dx)
    # over the first and second zeros.
    nonzero_, safe, parts = _cumprod_parts(x, axis)
    zero = _xp.zeros((), x._value.dtype)
    dy = out * _E.cumsum(_M.where(nonzero_, dx / safe, zero), axis)
    for mask, y in parts:
        dy = dy + y * _E.cumsum(_M.where(mask, dx, zero), axis)
    return dy


# A primitive for speed: one np.cumprod forward, not one multiply per element.
_cumprod_p = _primitive("cumprod", _cumprod_impl)
_defvjp(_cumprod_p, _cumprod_vjp)
_defjvp(_cumprod_p, _cumprod_jvp)


def cumprod(x, axis=None, dtype=None):
    """Running product along ``axis`` (of the flattened tensor when None); without
    ``dtype``, narrow integers are multiplied in 32 bits as ``sum`` does.  The gradient
    is exact where x has zeros.

    Example:
        >>> from wengert import ops
        >>> ops.cumprod([1.0, 2.0, 0.0, 4.0]).numpy()
        array([1., 2., 0., 0.], dtype=float32)
    """
    t = _accumulating(x, dtype)
    if axis is None:
        t, axis = _flat(t), 0
    axis = _axis("cumprod", axis, t.ndim)
    if t.dtype.kind not in "fc":
        return _convert_to_tensor(_cumprod_impl(t._value, axis))
    return _apply(_cumprod_p, (t,), {"axis": axis})


# -- elementwise ------------------------------------------------------------------------------
abs = _M.abs
absolute = _M.abs
negative = _M.negative


def square(x):
    """x * x; bools give int32, as in Keras.

    Example:
        >>> from wengert import ops
        >>> ops.square([True, False]).numpy()
        array([1, 0], dtype=int32)
    """
    return _M.square(_numeric(x))


def sign(x):
    """-1, 0 or 1 by the sign of x (a bool is its own sign, as in Keras).

    Example:
        >>> from wengert import ops
        >>> ops.sign([-2.0, 0.0, 3.0]).numpy(), ops.sign([True, False]).numpy()
        (array([-1.,  0.,  1.], dtype=float32), array([ True, False]))
    """
    t = _operand(x)
    return t if t._value.dtype.kind == "b" else _M.sign(t)


sqrt = _float_unary(
    _M.sqrt,
    "sqrt",
    ">>> ops.sqrt([4, 9]).numpy()\n    array([2., 3.], dtype=float32)",
    "Square root",
)
exp = _float_unary(
    _M.exp, "exp", ">>> ops.exp([0]).numpy()\n    array([1.], dtype=float32)", "e to the x"
)
expm1 = _float_unary(
    _M.expm1,
    "expm1",
    ">>> ops.expm1([0.0]).numpy()\n    array([0.], dtype=float32)",
    "exp(x) - 1, accurate near 0",
)
log = _float_unary(
    _M.log, "log", ">>> ops.log([1]).numpy()\n    array([0.], dtype=float32)", "Natural logarithm"
)
log1p = _float_unary(
    _M.log1p,
    "log1p",
    ">>> ops.log1p([0.0]).numpy()\n    array([0.], dtype=float32)",
    "log(1 + x), accurate near 0",
)
sin = _float_unary(
    _M.sin, "sin", ">>> ops.sin([0]).numpy()\n    array([0.], dtype=float32)", "Sine"
)
cos = _float_unary(
    _M.cos, "cos", ">>> ops.cos([0]).numpy()\n    array([1.], dtype=float32)", "Cosine"
)
tan = _float_unary(
    _E.tan, "tan", ">>> ops.tan([0.0]).numpy()\n    array([0.], dtype=float32)", "Tangent"
)
tanh = _float_unary(
    _M.tanh,
    "tanh",
    ">>> ops.tanh([0]).numpy()\n    array([0.], dtype=float32)",
    "Hyperbolic tangent",
)
erf = _float_unary(
    _N.erf, "erf", ">>> ops.erf([0]).numpy()\n    array([0.], dtype=float32)", "The error function"
)
rsqrt = _float_unary(
    _E.rsqrt,
    "rsqrt",
    ">>> ops.rsqrt([4.0]).numpy()\n    array([0.5], dtype=float32)",
    "1 / sqrt(x)",
)
reciprocal = _float_unary(
    _E.reciprocal,
    "reciprocal",
    ">>> ops.reciprocal([4.0]).numpy()\n    array([0.25], dtype=float32)",
    "1 / x",
)


def _keep_ints(fn, name, example, summary):
    """floor, ceil: integers give float32 in Keras (its result_type(x, float))."""
    return _float_unary(fn, name, example, summary)


floor = _keep_ints(
    _M.floor,
    "floor",
    ">>> ops.floor([1.5, -1.5]).numpy()\n    array([ 1., -2.], dtype=float32)",
    "Largest integer <= x; no gradient",
)
ceil = _keep_ints(
    _M.ceil,
    "ceil",
    ">>> ops.ceil([1.5, -1.5]).numpy()\n    array([ 2., -1.], dtype=float32)",
    "Smallest integer >= x; no gradient",
)


def round(x, decimals=0):
    """Round half to even to ``decimals`` places (NumPy's ``round``); no gradient.
    Integers keep their dtype: rounded to tens, hundreds... for negative ``decimals``,
    unchanged otherwise.

    Example:
        >>> from wengert import ops
        >>> ops.round([0.5, 1.5, 2.567], decimals=0).numpy(), ops.round([2.567], 2).numpy()
        (array([0., 2., 3.], dtype=float32), array([2.57], dtype=float32))
    """
    t = _operand(x)
    if t.dtype.kind in "iub":
        if decimals >= 0 or t.dtype.kind == "b":
            return t
        return _convert_to_tensor(_xp.round(t._value, int(decimals)))
    if decimals == 0:
        return _M.round(t)
    scale = 10.0**decimals
    return _M.round(t * scale) / scale


add = _binary(
    _M.add,
    "add",
    ">>> ops.add([1, 2], 0.5).numpy()\n    array([1.5, 2.5], dtype=float32)",
    "x1 + x2",
)
subtract = _binary(
    _M.subtract,
    "subtract",
    ">>> ops.subtract([3.0], [1.0]).numpy()\n    array([2.], dtype=float32)",
    "x1 - x2",
)
multiply = _binary(
    _M.multiply,
    "multiply",
    ">>> ops.multiply([3], [2.0]).numpy()\n    array([6.], dtype=float32)",
    "x1 * x2",
)
maximum = _binary(
    _M.maximum,
    "maximum",
    ">>> ops.maximum([1, 5], 2.5).numpy()\n    array([2.5, 5. ], dtype=float32)",
    "Elementwise larger of x1 and x2",
)
minimum = _binary(
    _M.minimum,
    "minimum",
    ">>> ops.minimum([1, 5], 2).numpy()\n    array([1, 2], dtype=int32)",
    "Elementwise smaller of x1 and x2",
)
equal = _binary(
    _M.equal, "equal", ">>> ops.equal([1, 2], 2.0).numpy()\n    array([False,  True])", "x1 == x2"
)
not_equal = _binary(
    _M.not_equal,
    "not_equal",
    ">>> ops.not_equal([1, 2], 2).numpy()\n    array([ True, False])",
    "x1 != x2",
)
greater = _binary(
    _M.greater,
    "greater",
    ">>> ops.greater([1, 3], 2).numpy()\n    array([False,  True])",
    "x1 > x2",
)
greater_equal = _binary(
    _M.greater_equal,
    "greater_equal",
    ">>> ops.greater_equal([1, 2], 2).numpy()\n    array([False,  True])",
    "x1 >= x2",
)
less = _binary(
    _M.less, "less", ">>> ops.less([1, 3], 2).numpy()\n    array([ True, False])", "x1 < x2"
)
less_equal = _binary(
    _M.less_equal,
    "less_equal",
    ">>> ops.less_equal([1, 3], 2).numpy()\n    array([ True, False])",
    "x1 <= x2",
)


def divide(x1, x2):
    """x1 / x2 (true division: integers give float32), with Keras's dtype promotion.

    Example:
        >>> from wengert import ops
        >>> ops.divide([1, 3], 2).numpy()
        array([0.5, 1.5], dtype=float32)
    """
    a, b = _pair(x1, x2)
    if not _weak(a) and a.dtype.kind in "iub":
        a = _cast(a, _float32)
    if not _weak(b) and b.dtype.kind in "iub":
        b = _cast(b, _float32)
    if _weak(a):
        a = float(a)
    if _weak(b):
        b = float(b)
    return _M.divide(a, b)


true_divide = divide


def floor_divide(x1, x2):
    """Floor of x1 / x2, with Keras's dtype promotion.

    Example:
        >>> from wengert import ops
        >>> ops.floor_divide([7, -7], 2).numpy()
        array([ 3, -4], dtype=int32)
    """
    return _M.floordiv(*_pair(x1, x2))


def mod(x1, x2):
    """The remainder of x1 / x2, with the sign of x2 (NumPy's ``mod``).

    Example:
        >>> from wengert import ops
        >>> ops.mod([7, -7], 3).numpy()
        array([1, 2], dtype=int32)
    """
    return _M.mod(*_pair(x1, x2))


def power(x1, x2):
    """x1 ** x2, with Keras's dtype promotion.

    Example:
        >>> from wengert import ops
        >>> ops.power([2.0, 3.0], 2).numpy()
        array([4., 9.], dtype=float32)
    """
    return _M.pow(*_pair(x1, x2))


def clip(x, x_min, x_max):
    """``x`` limited to [x_min, x_max]; the gradient passes where x is inside.

    Example:
        >>> from wengert import ops
        >>> ops.clip([-1.0, 0.5, 2.0], 0.0, 1.0).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """
    t = _operand(x)
    if t.dtype.kind == "b":
        t = _cast(t, _int32)
    return _M.minimum(*_pair(_M.maximum(*_pair(t, x_min)), x_max))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with neither, the indices of the
    nonzero elements (a tuple of int32 tensors, one per axis, as NumPy's ``nonzero``).

    Example:
        >>> from wengert import ops
        >>> ops.where([True, False], [1.0, 2.0], 0).numpy()
        array([1., 0.], dtype=float32)
    """
    if x1 is None and x2 is None:
        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: x1 and x2 must be given together (or neither)")
    a, b = _pair(x1, x2)
    if _weak(a) and _weak(b):
        a = _operand(a)
    if _weak(a):
        a = _operand(a, b.dtype)
    if _weak(b):
        b = _operand(b, a.dtype)
    return _M.where(_boolean(condition), a, b)


def nonzero(x):
    """The indices of the nonzero elements: a tuple of int32 tensors, one per axis.

    Example:
        >>> from wengert import ops
        >>> ops.nonzero([0, 3, 0, 4])[0].numpy()
        array([1, 3], dtype=int32)
    """
    a = _operand(x)._value
    return tuple(_convert_to_tensor(i.astype(_int32)) for i in _xp.nonzero(a))


def isnan(x):
    """Elementwise: is ``x`` NaN (always False for integers).

    Example:
        >>> from wengert import ops
        >>> ops.isnan([1.0, float("nan")]).numpy()
        array([False,  True])
    """
    t = _operand(x)
    return _M.is_nan(t) if t.dtype.kind in "fc" else _M.not_equal(t, t)


def isinf(x):
    """Elementwise: is ``x`` plus or minus infinity.

    Example:
        >>> from wengert import ops
        >>> ops.isinf([1.0, float("-inf")]).numpy()
        array([False,  True])
    """
    t = _operand(x)
    return _M.is_inf(t) if t.dtype.kind in "fc" else _M.not_equal(t, t)


def isfinite(x):
    """Elementwise: is ``x`` neither infinite nor NaN.

    Example:
        >>> from wengert import ops
        >>> ops.isfinite([1.0, float("inf")]).numpy()
        array([ True, False])
    """
    t = _operand(x)
    return _M.is_finite(t) if t.dtype.kind in "fc" else _M.equal(t, t)


def logical_and(x1, x2):
    """Elementwise x1 and x2 (nonzero numbers are true).

    Example:
        >>> from wengert import ops
        >>> ops.logical_and([1, 1, 0], [True, False, True]).numpy()
        array([ True, False, False])
    """
    return _M.logical_and(_boolean(x1), _boolean(x2))


def logical_or(x1, x2):
    """Elementwise x1 or x2 (nonzero numbers are true).

    Example:
        >>> from wengert import ops
        >>> ops.logical_or([1, 0], [False, False]).numpy()
        array([ True, False])
    """
    return _M.logical_or(_boolean(x1), _boolean(x2))


def logical_xor(x1, x2):
    """Elementwise x1 xor x2 (nonzero numbers are true).

    Example:
        >>> from wengert import ops
        >>> ops.logical_xor([1, 0], [True, True]).numpy()
        array([False,  True])
    """
    return _M.logical_xor(_boolean(x1), _boolean(x2))


def logical_not(x):
    """Elementwise not x (nonzero numbers are true).

    Example:
        >>> from wengert import ops
        >>> ops.logical_not([0, 2]).numpy()
        array([ True, False])
    """
    return _M.logical_not(_boolean(x))


# -- shapes and indexing ----------------------------------------------------------------------
def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one entry may be -1).

    Example:
        >>> from wengert import ops
        >>> ops.reshape(ops.arange(6), (-1, 3)).shape
        (2, 3)
    """
    return _A.reshape(x, _shape_tuple(newshape))


def transpose(x, axes=None):
    """``x`` with its axes permuted by ``axes`` (reversed by default).

    Example:
        >>> from wengert import ops
        >>> ops.transpose(ops.zeros((2, 3, 4)), (1, 0, 2)).shape
        (3, 2, 4)
    """
    return _A.transpose(x, None if axes is None else list(axes))


def expand_dims(x, axis):
    """``x`` with a new axis of size 1 at ``axis`` (an int or a tuple of ints).

    Example:
        >>> from wengert import ops
        >>> ops.expand_dims(ops.zeros((2, 3)), (0, -1)).shape
        (1, 2, 3, 1)
    """
    t = _operand(x)
    n = t.ndim + (len(axis) if isinstance(axis, (list, tuple)) else 1)
    for ax in _axes("expand_dims", axis, n):
        t = _A.expand_dims(t, ax)
    return t


def squeeze(x, axis=None):
    """``x`` without the axes of size 1 (only ``axis`` when given).

    Example:
        >>> from wengert import ops
        >>> ops.squeeze(ops.zeros((1, 2, 1)), axis=0).shape
        (2, 1)
    """
    return _A.squeeze(x, axis)


def moveaxis(x, source, destination):
    """``x`` with the axes ``source`` moved to ``destination`` (NumPy's ``moveaxis``).

    Example:
        >>> from wengert import ops
        >>> ops.moveaxis(ops.zeros((2, 3, 4)), 0, -1).shape
        (3, 4, 2)
    """
    t = _operand(x)
    perm = list(range(t.ndim))
    src = _axes("moveaxis", source, t.ndim, sort=False)
    dst = _axes("moveaxis", destination, t.ndim, sort=False)
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {source} and destination {destination} differ in length"
        )
    rest = [a for a in perm if a not in src]
    for d, s in sorted(zip(dst, src)):
        rest.insert(d, s)
    return _A.transpose(t, rest)


def swapaxes(x, axis1, axis2):
    """``x`` with ``axis1`` and ``axis2`` exchanged.

    Example:
        >>> from wengert import ops
        >>> ops.swapaxes(ops.zeros((2, 3, 4)), 0, 2).shape
        (4, 3, 2)
    """
    t = _operand(x)
    perm = list(range(t.ndim))
    a, b = _axis("swapaxes", axis1, t.ndim), _axis("swapaxes", axis2, t.ndim)
    perm[a], perm[b] = perm[b], perm[a]
    return _A.transpose(t, perm)


def concatenate(xs, axis=0):
    """The tensors ``xs`` joined along ``axis`` (flattened first when ``axis`` is None).

    Example:
        >>> from wengert import ops
        >>> ops.concatenate([ops.zeros((2, 3)), ops.ones((1, 3))]).shape
        (3, 3)
    """
    if type(axis) is int and type(xs) in (list, tuple) and xs and type(xs[0]) in _TENSORS:
        dtype = xs[0]._value.dtype
        for t in xs:
            if type(t) not in _TENSORS or t._value.dtype != dtype:
                break
        else:  # tensors of one dtype: nothing to convert
            return _A.concat(list(xs), axis)
    ts = [_operand(t) for t in xs]
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = _result_dtype(dtype, t.dtype)
    ts = [_cast(t, dtype) for t in ts]
    if axis is None:
        ts, axis = [_flat(t) for t in ts], 0
    return _A.concat(ts, int(axis))


def stack(x, axis=0):
    """The tensors ``x`` stacked along a new axis ``axis``.

    Example:
        >>> from wengert import ops
        >>> ops.stack([ops.zeros(3), ops.ones(3)], axis=1).shape
        (3, 2)
    """
    return _A.stack(list(x), int(axis))


def split(x, indices_or_sections, axis=0):
    """``x`` cut along ``axis`` into equal sections (an int) or at the given indices.

    Example:
        >>> from wengert import ops
        >>> [t.numpy().tolist() for t in ops.split(ops.arange(5), [1, 3])]
        [[0], [1, 2], [3, 4]]
    """
    t = _operand(x)
    axis = _axis("split", axis, t.ndim)
    n = t.shape[axis]
    if _xp.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if n % sections:
            raise ValueError(f"split: {n} elements along axis {axis} do not split into {sections}")
        return _A.split(t, sections, axis)
    cuts = [
        _builtins.min(_builtins.max(int(i) + (n if int(i) < 0 else 0), 0), n)
        for i in indices_or_sections
    ]
    bounds = [0] + cuts + [n]
    out = []
    for lo, hi in zip(bounds, bounds[1:]):
        key = (_builtins.slice(None),) * axis + (_builtins.slice(lo, _builtins.max(lo, hi)),)
        out.append(_A.getitem(t, key))
    return out


def flip(x, axis=None):
    """``x`` with the order of elements along ``axis`` (all axes by default) reversed.

    Example:
        >>> from wengert import ops
        >>> ops.flip([[1, 2], [3, 4]], axis=1).numpy()
        array([[2, 1],
               [4, 3]], dtype=int32)
    """
    t = _operand(x)
    axes = _axes("flip", axis, t.ndim)
    return _A.getitem(
        t,
        tuple(
            _builtins.slice(None, None, -1) if a in axes else _builtins.slice(None)
            for a in range(t.ndim)
        ),
    )


def roll(x, shift, axis=None):
    """``x`` with its elements shifted by ``shift`` along ``axis`` (of the flattened
    tensor when None), those pushed off one end coming back at the other.

    Example:
        >>> from wengert import ops
        >>> ops.roll([1, 2, 3, 4], 1).numpy()
        array([4, 1, 2, 3], dtype=int32)
    """
    t = _operand(x)
    if axis is None:
        return _A.reshape(roll(_flat(t), shift, 0), t.shape)
    shifts = shift if isinstance(shift, (list, tuple)) else [shift]
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes")
    for s, a in zip(shifts, axes):
        a = _axis("roll", a, t.ndim)  # NumPy allows an axis twice here: its shifts add
        n = t.shape[a]
        if n:
            t = _index(t, a, (_xp.arange(n) - int(s)) % n)
    return t


def repeat(x, repeats, axis=None):
    """Each element of ``x`` repeated ``repeats`` times along ``axis`` (of the flattened
    tensor when None); ``repeats`` may give one count per element.

    Example:
        >>> from wengert import ops
        >>> ops.repeat([1, 2], 2).numpy(), ops.repeat([[1, 2]], [1, 2], axis=1).numpy()
        (array([1, 1, 2, 2], dtype=int32), array([[1, 2, 2]], dtype=int32))
    """
    t = _operand(x)
    if axis is None:
        t, axis = _flat(t), 0
    axis = _axis("repeat", axis, t.ndim)
    counts = repeats._value if isinstance(repeats, _Tensor) else repeats
    return _index(t, axis, _xp.repeat(_xp.arange(t.shape[axis]), counts))


def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis (NumPy's ``tile``).

    Example:
        >>> from wengert import ops
        >>> ops.tile([1, 2], 2).numpy(), ops.tile([1, 2], (2, 1)).shape
        (array([1, 2, 1, 2], dtype=int32), (2, 2))
    """
    t = _operand(x)
    reps = [int(r) for r in _xp.reshape(_xp.asarray(repeats), -1)]
    if len(reps) > t.ndim:
        t = _A.reshape(t, (1,) * (len(reps) - t.ndim) + t.shape)
    return _A.tile(t, [1] * (t.ndim - len(reps)) + reps)


def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened tensor when
    None); negative indices count from the end.

    Example:
        >>> from wengert import ops
        >>> ops.take([[1.0, 2.0], [3.0, 4.0]], [-1, 0], axis=1).numpy()
        array([[2., 1.],
               [4., 3.]], dtype=float32)
    """
    t = _operand(x)
    if axis is None:
        t, axis = _flat(t), 0
    idx = indices._value if isinstance(indices, _Tensor) else _xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got {idx.dtype}")
    return _index(t, _axis("take", axis, t.ndim), idx)


def take_along_axis(x, indices, axis=None):
    """Values of ``x`` at ``indices`` along ``axis`` (NumPy's ``take_along_axis``; the
    other axes broadcast).

    Example:
        >>> from wengert import ops
        >>> ops.take_along_axis([[10.0, 30.0, 20.0]], [[1, 2]], axis=1).numpy()
        array([[30., 20.]], dtype=float32)
    """
    t = _operand(x)
    idx = indices._value if isinstance(indices, _Tensor) else _xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {idx.dtype}")
    if axis is None:
        t, idx, axis = _flat(t), idx.reshape(-1), 0
    axis = _axis("take_along_axis", axis, t.ndim)
    if idx.ndim != t.ndim:
        raise ValueError(
            f"take_along_axis: indices {idx.shape} and x {t.shape} must have the same rank"
        )
    # The other axes broadcast, as in Keras: x to the common shape, the indices too.
    others = [tuple(d for i, d in enumerate(a.shape) if i != axis) for a in (t, idx)]
    x_shape = list(_xp.broadcast_shapes(*others))
    full_x = x_shape[:axis] + [t.shape[axis]] + x_shape[axis:]
    full_i = x_shape[:axis] + [idx.shape[axis]] + x_shape[axis:]
    if tuple(full_x) != t.shape:
        t = _A.broadcast_to(t, full_x)
    idx = _xp.broadcast_to(idx, full_i)
    key = []
    for i, n in enumerate(full_i):
        if i == axis:
            key.append(idx)
        else:
            shape_i = [1] * len(full_i)
            shape_i[i] = n
            key.append(_xp.arange(n).reshape(shape_i))
    return _A.getitem(t, tuple(key))


def _argsort(a, axis):
    return _xp.argsort(a, axis=axis, kind="stable")


def argsort(x, axis=-1):
    """Indices (int32) that sort ``x`` along ``axis`` (ties keep their order).

    Example:
        >>> from wengert import ops
        >>> ops.argsort([3.0, 1.0, 2.0]).numpy()
        array([1, 2, 0], dtype=int32)
    """
    t = _operand(x)
    if axis is None:
        t, axis = _flat(t), 0
    axis = _axis("argsort", axis, t.ndim)
    return _convert_to_tensor(_argsort(t._value, axis).astype(_int32))


def sort(x, axis=-1):
    """``x`` sorted along ``axis`` (ascending); the gradient follows each value.

    Example:
        >>> from wengert import ops
        >>> ops.sort([3.0, 1.0, 2.0]).numpy()
        array([1., 2., 3.], dtype=float32)
    """
    t = _operand(x)
    if axis is None:
        t, axis = _flat(t), 0
    axis = _axis("sort", axis, t.ndim)
    return take_along_axis(t, _argsort(t._value, axis), axis)


def top_k(x, k, sorted=True):
    """The ``k`` largest values along the last axis and their indices (int32), largest
    first (ties: lower index first, as TensorFlow and JAX).

    Example:
        >>> from wengert import ops
        >>> values, indices = ops.top_k([1.0, 4.0, 2.0, 4.0], 2)
        >>> values.numpy(), indices.numpy()
        (array([4., 4.], dtype=float32), array([1, 3], dtype=int32))
    """
    t = _operand(x)
    a = t._value
    if a.ndim == 0:
        raise ValueError("top_k: x must have at least one axis, got a scalar")
    n = a.shape[-1]
    if isinstance(k, _Tensor):
        k = k._value.item()
    if not 0 <= int(k) <= n:
        raise ValueError(f"top_k: k={k} must be in [0, {n}], the size of x's last axis {a.shape}")
    # Stable descending order: sort the reversed axis ascending, read it backwards.
    order = (n - 1 - _argsort(a[..., ::-1], -1))[..., ::-1][..., : int(k)]
    return take_along_axis(t, order, -1), _convert_to_tensor(order.astype(_int32))


def slice(inputs, start_indices, shape):
    """The block of ``inputs`` that starts at ``start_indices`` and has ``shape``
    (``lax.dynamic_slice``: starts are clamped so the block fits).

    Example:
        >>> from wengert import ops
        >>> ops.slice(ops.reshape(ops.arange(9), (3, 3)), (1, 0), (2, 2)).numpy()
        array([[3, 4],
               [6, 7]], dtype=int32)
    """
    t = _operand(inputs)
    starts = _starts(start_indices, t.shape, shape)
    return _A.getitem(t, tuple(_builtins.slice(s, s + int(n)) for s, n in zip(starts, shape)))


def _starts(start_indices, full, block):
    if isinstance(start_indices, _Tensor):
        start_indices = start_indices._value.tolist()
    starts = [int(s._value) if isinstance(s, _Tensor) else int(s) for s in start_indices]
    if len(starts) != len(full) or len(block) != len(full):
        raise ValueError(
            f"slice: start_indices {starts} and shape {tuple(block)} must match the rank of {full}"
        )
    return [_builtins.min(_builtins.max(s, 0), f - int(b)) for s, f, b in zip(starts, full, block)]


def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``.

    Example:
        >>> from wengert import ops
        >>> ops.slice_update(ops.zeros((2, 3)), (0, 1), ops.ones((1, 2))).numpy()
        array([[0., 1., 1.],
               [0., 0., 0.]], dtype=float32)
    """
    t = _operand(inputs)
    u = _cast(_operand(updates), t.dtype)
    starts = _starts(start_indices, t.shape, u.shape)
    widths = [[s, f - s - n] for s, f, n in zip(starts, t.shape, u.shape)]
    mask = _xp.zeros(t.shape, bool)
    mask[tuple(_builtins.slice(s, s + n) for s, n in zip(starts, u.shape))] = True
    return _M.where(mask, _A.pad(u, widths), t)


def pad(x, pad_width, mode="constant", constant_values=None):
    """``x`` padded by ``pad_width`` ((before, after) per axis, or one pair for all);
    ``mode`` "constant", "reflect" or "symmetric".

    Example:
        >>> from wengert import ops
        >>> ops.pad([1, 2], (1, 2)).numpy()
        array([0, 1, 2, 0, 0], dtype=int32)
    """
    t = _operand(x)
    modes = {"constant": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}
    if mode not in modes:
        raise ValueError(f"pad: mode must be one of {sorted(modes)}, got {mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError("pad: constant_values is only for mode='constant'")
    widths = _xp.broadcast_to(_xp.asarray(pad_width, dtype=int), (t.ndim, 2)).tolist()
    return _A.pad(t, widths, modes[mode], 0 if constant_values is None else constant_values)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``.

    Example:
        >>> from wengert import ops
        >>> ops.broadcast_to([1.0, 2.0], (3, 2)).shape
        (3, 2)
    """
    return _A.broadcast_to(x, _shape_tuple(shape))


def ravel(x):
    """``x`` flattened to one axis.

    Example:
        >>> from wengert import ops
        >>> ops.ravel(ops.zeros((2, 3))).shape
        (6,)
    """
    return _flat(_operand(x))


# -- linear algebra ---------------------------------------------------------------------------
def _contracted(*xs):
    """The operands of a product brought to one dtype, narrow integers widened as in
    ``sum`` (int8/int16 to int32, uint8/uint16 to uint32): Keras keeps int16 in
    ``matmul`` and int8 in ``dot``/``tensordot``, where products overflow."""
    ts = [_operand(t) for t in xs]
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = _result_dtype(dtype, t.dtype)
    if dtype.kind in "iu":
        dtype = _ACCUMULATE.get(dtype, dtype)
    return [_cast(t, dtype) for t in ts]


def matmul(x1, x2):
    """The matrix product (NumPy's ``matmul``: batched, 1-D operands allowed).

    Example:
        >>> from wengert import ops
        >>> ops.matmul([[1.0, 2.0]], [3.0, 4.0]).numpy()
        array([11.], dtype=float32)
    """
    if type(x1) in _TENSORS and type(x2) in _TENSORS:
        a, b = x1._value, x2._value
        if a.dtype == b.dtype and a.dtype.kind in "fc" and a.ndim > 1 and b.ndim > 1:
            return _M.matmul(x1, x2)  # the common case: nothing to convert or reshape
    a, b = _contracted(*_pair(x1, x2))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must not be scalars")
    vec_a, vec_b = a.ndim == 1, b.ndim == 1
    if vec_a:
        a = _A.reshape(a, (1, a.shape[0]))
    if vec_b:
        b = _A.reshape(b, (b.shape[0], 1))
    out = _M.matmul(a, b)
    if vec_a:
        out = _A.squeeze(out, -2)
    if vec_b:
        out = _A.squeeze(out, -1)
    return out


def dot(x1, x2):
    """NumPy's ``dot``: a product with a scalar, the inner product of vectors, the
    matrix product, or a sum over x1's last and x2's second-to-last axes.

    Example:
        >>> from wengert import ops
        >>> float(ops.dot([1.0, 2.0], [3.0, 4.0]))
        11.0
    """
    a, b = _contracted(*_pair(x1, x2))
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _M.tensordot(a, b, [[a.ndim - 1], [_builtins.max(b.ndim - 2, 0)]])


def tensordot(x1, x2, axes=2):
    """The sum of products over ``axes`` (an int: the last ones of x1 and the first of x2;
    or a pair of lists).

    Example:
        >>> from wengert import ops
        >>> ops.tensordot(ops.ones((2, 3)), ops.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    a, b = _contracted(*_pair(x1, x2))
    return _M.tensordot(a, b, axes)


def einsum(subscripts, *operands):
    """Einstein summation over ``operands`` as ``subscripts`` says.

    Example:
        >>> from wengert import ops
        >>> ops.einsum("ij,j->i", ops.ones((2, 3)), ops.ones(3)).numpy()
        array([3., 3.], dtype=float32)
    """
    return _E.einsum(subscripts, *(_contracted(*operands) if operands else ()))


def outer(x1, x2):
    """The outer product of the flattened ``x1`` and ``x2``.

    Example:
        >>> from wengert import ops
        >>> ops.outer([1.0, 2.0], [1.0, 10.0]).numpy()
        array([[ 1., 10.],
               [ 2., 20.]], dtype=float32)
    """
    a, b = (_operand(v) for v in _pair(x1, x2))
    return _A.reshape(a, (-1, 1)) * _A.reshape(b, (1, -1))


def norm(x, ord=None, axis=None, keepdims=False):
    """The vector or matrix norm (NumPy's ``linalg.norm``; Keras's ``ops.norm``).

    With ``axis`` None: the 2-norm of the flattened tensor for ``ord`` None, else the
    vector norm of a 1-D or the matrix norm of a 2-D ``x``.  Vector ``ord``: any number,
    ``inf``, ``-inf``, 0 (the count of nonzeros).  Matrix ``ord``: None/"fro", 1, -1,
    ``inf``, ``-inf``; 2, -2 and "nuc" need the SVD's gradient and raise
    NotImplementedError.

    Example:
        >>> from wengert import ops
        >>> float(ops.norm([3.0, 4.0])), float(ops.norm([[1.0, -2.0], [3.0, 4.0]], ord=1))
        (5.0, 6.0)
    """
    t = _floating(x)
    if axis is None:
        if ord is not None and t.ndim not in (1, 2):
            raise ValueError(
                f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D x, got {t.shape}"
            )
        axes = tuple(range(t.ndim))
    else:
        axes = _axes("norm", axis, t.ndim, sort=False)
    if ord is None or (ord == "fro" and len(axes) == 2):
        if t.dtype.kind == "c":
            t = _M.abs(t)
        return _M.sqrt(_M.reduce_sum(t * t, axis=list(axes), keepdims=keepdims))
    a = _M.abs(t)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: ord={ord!r} is for matrices, not vectors")
        if ord == _xp.inf:
            return _M.reduce_max(a, axis=axes[0], keepdims=keepdims)
        if ord == -_xp.inf:
            return _M.reduce_min(a, axis=axes[0], keepdims=keepdims)
        if ord == 0:
            nonzero_ = _cast(_M.not_equal(t, _xp.zeros((), t.dtype)), t.dtype)
            return _M.reduce_sum(nonzero_, axis=axes[0], keepdims=keepdims)
        if ord == 1:
            return _M.reduce_sum(a, axis=axes[0], keepdims=keepdims)
        if ord == 2:
            return _M.sqrt(_M.reduce_sum(t * t, axis=axes[0], keepdims=keepdims))
        p = float(ord)
        return _M.reduce_sum(a**p, axis=axes[0], keepdims=keepdims) ** (1.0 / p)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis!r}")
    rows, cols = axes
    if ord in (1, -1):
        sums, across = rows, cols  # column sums, then their largest (smallest)
    elif ord in (_xp.inf, -_xp.inf):
        sums, across = cols, rows  # row sums
    elif ord in (2, -2, "nuc"):
        raise NotImplementedError(
            f"norm: ord={ord!r} over a pair of axes needs the SVD, which wengert lacks"
        )
    else:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm")
    pick = _M.reduce_max if ord in (1, _xp.inf) else _M.reduce_min
    out = pick(_M.reduce_sum(a, axis=sums, keepdims=True), axis=across, keepdims=True)
    return out if keepdims else _A.squeeze(out, [rows, cols])


# -- more of keras.ops: elementwise math, matrices, statistics --------------------------------
def _unary_primitive(name, impl, derivative):
    """A float primitive whose VJP and JVP multiply by ``derivative(x)`` (wengert ops)."""
    prim = _primitive(name, impl)
    _defvjp(prim, lambda g, out, x: g * derivative(x))
    _defjvp(prim, lambda dx, out, x: dx * derivative(x))
    return prim


# Primitives for accuracy: NumPy's log2(8) is exactly 3, log(8) / log(2) is not, and
# sinh near 0 and cosh need no cancellation.
_LN2, _LN10 = _math.log(2.0), _math.log(10.0)
_log2_p = _unary_primitive("log2", _xp.log2, lambda x: 1.0 / (x * _LN2))
_log10_p = _unary_primitive("log10", _xp.log10, lambda x: 1.0 / (x * _LN10))
_sinh_p = _unary_primitive("sinh", _xp.sinh, lambda x: _apply(_cosh_p, (x,)))
_cosh_p = _unary_primitive("cosh", _xp.cosh, lambda x: _apply(_sinh_p, (x,)))


def log2(x):
    """Base-2 logarithm (integers give float32, as in Keras).

    Example:
        >>> from wengert import ops
        >>> ops.log2([1, 8]).numpy()
        array([0., 3.], dtype=float32)
    """
    return _apply(_log2_p, (_floating(x),))


def log10(x):
    """Base-10 logarithm (integers give float32, as in Keras).

    Example:
        >>> from wengert import ops
        >>> ops.log10([1, 10]).numpy()
        array([0., 1.], dtype=float32)
    """
    return _apply(_log10_p, (_floating(x),))


def sinh(x):
    """Hyperbolic sine (integers give float32, as in Keras).

    Example:
        >>> from wengert import ops
        >>> ops.sinh([0]).numpy()
        array([0.], dtype=float32)
    """
    return _apply(_sinh_p, (_floating(x),))


def cosh(x):
    """Hyperbolic cosine (integers give float32, as in Keras).

    Example:
        >>> from wengert import ops
        >>> ops.cosh([0]).numpy()
        array([1.], dtype=float32)
    """
    return _apply(_cosh_p, (_floating(x),))


def _float_pair(op, x1, x2):
    a, b = _pair(x1, x2)
    a = float(a) if _weak(a) else _floating(a)
    b = float(b) if _weak(b) else _floating(b)
    if not _weak(a) and not _weak(b) and a.dtype != b.dtype:
        dtype = _result_dtype(a.dtype, b.dtype)
        a, b = _cast(a, dtype), _cast(b, dtype)
    return a, b


# atan2(y, x): d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2).
_arctan2_p = _primitive("arctan2", _xp.arctan2)
_defvjp(
    _arctan2_p,
    lambda g, out, y, x: g * x / (x * x + y * y),
    lambda g, out, y, x: -g * y / (x * x + y * y),
)
_defjvp(
    _arctan2_p,
    lambda dy, out, y, x: dy * x / (x * x + y * y),
    lambda dx, out, y, x: -dx * y / (x * x + y * y),
)
# log(e^a + e^b): its derivatives exp(a - out), exp(b - out) are softmax weights, stable.
_logaddexp_p = _primitive("logaddexp", _xp.logaddexp)
_defvjp(
    _logaddexp_p,
    lambda g, out, a, b: g * _M.exp(a - out),
    lambda g, out, a, b: g * _M.exp(b - out),
)
_defjvp(
    _logaddexp_p,
    lambda da, out, a, b: da * _M.exp(a - out),
    lambda db, out, a, b: db * _M.exp(b - out),
)


def arctan2(x1, x2):
    """The angle of the point (x2, x1), in [-pi, pi] (NumPy's ``arctan2``; integers give
    float32).

    Example:
        >>> from wengert import ops
        >>> ops.arctan2([1.0, -1.0], [0.0, 0.0]).numpy()
        array([ 1.5707964, -1.5707964], dtype=float32)
    """
    return _apply(_arctan2_p, _float_pair("arctan2", x1, x2))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)), computed stably (integers give float32).

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.logaddexp(0.0, 0.0)
        '0.6931'
    """
    return _apply(_logaddexp_p, _float_pair("logaddexp", x1, x2))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN replaced by ``nan`` and infinities by ``posinf``/``neginf``
    (the dtype's largest and smallest finite values by default); the gradient passes
    where x is finite.

    Example:
        >>> from wengert import ops
        >>> ops.nan_to_num([float("nan"), 1.0, float("-inf")], neginf=-9.0).numpy()
        array([ 0.,  1., -9.], dtype=float32)
    """
    t = _operand(x)
    a = t._value
    if a.dtype.kind not in "fc":
        return t
    info = _xp.finfo(a.dtype)
    for mask, value in (
        (_xp.isnan(a), nan),
        (_xp.isposinf(a), info.max if posinf is None else posinf),
        (_xp.isneginf(a), info.min if neginf is None else neginf),
    ):
        if mask.any():
            t = _M.where(mask, _xp.asarray(value, a.dtype), t)
    return t


def count_nonzero(x, axis=None):
    """The number (int32) of nonzero elements over ``axis`` (all axes by default).

    Example:
        >>> from wengert import ops
        >>> ops.count_nonzero([[0, 1], [2, 3]], axis=1).numpy()
        array([1, 2], dtype=int32)
    """
    return _M.reduce_sum(_cast(_boolean(x), _int32), axis=axis)


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and variance of ``x`` over ``axes``.  Keras subtracts the square of a
    stop-gradient mean from mean(x^2); this is the variance with its exact gradient.

    Example:
        >>> from wengert import ops
        >>> mean, variance = ops.moments([1.0, 2.0, 3.0, 4.0], axes=0)
        >>> float(mean), float(variance)
        (2.5, 1.25)
    """
    t = _floating(x)
    axes = _axes("moments", axes, t.ndim)
    return (
        _M.reduce_mean(t, axis=axes, keepdims=keepdims),
        _M.reduce_variance(t, axis=axes, keepdims=keepdims),
    )


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix (float32 unless ``dtype``).

    Example:
        >>> from wengert import ops
        >>> ops.identity(2).numpy()
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    return eye(n, dtype=dtype)


def _band(op, x, k, lower):
    t = _operand(x)
    if t.ndim < 2:
        raise ValueError(f"{op}: x must have at least two axes, got shape {t.shape}")
    rows, cols = t.shape[-2:]
    keep = _xp.tri(rows, cols, int(k) if lower else int(k) - 1, dtype=bool)
    if not lower:
        keep = ~keep
    return _M.where(keep, t, _xp.zeros((), t.dtype))


def tril(x, k=0):
    """``x`` (its last two axes) with the elements above the ``k``-th diagonal zeroed.

    Example:
        >>> from wengert import ops
        >>> ops.tril([[1, 2], [3, 4]]).numpy()
        array([[1, 0],
               [3, 4]], dtype=int32)
    """
    return _band("tril", x, k, lower=True)


def triu(x, k=0):
    """``x`` (its last two axes) with the elements below the ``k``-th diagonal zeroed.

    Example:
        >>> from wengert import ops
        >>> ops.triu([[1, 2], [3, 4]]).numpy()
        array([[1, 2],
               [0, 4]], dtype=int32)
    """
    return _band("triu", x, k, lower=False)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset``-th diagonal of the planes of axes ``axis1``, ``axis2``, as a last
    axis (NumPy's ``diagonal``).

    Example:
        >>> from wengert import ops
        >>> ops.diagonal([[1, 2], [3, 4]]).numpy()
        array([1, 4], dtype=int32)
    """
    t = _operand(x)
    if t.ndim < 2:
        raise ValueError(f"diagonal: x must have at least two axes, got shape {t.shape}")
    a1, a2 = _axes("diagonal", (axis1, axis2), t.ndim, sort=False)
    t = _A.transpose(t, [a for a in range(t.ndim) if a not in (a1, a2)] + [a1, a2])
    rows, cols = t.shape[-2:]
    k = int(offset)
    n = _builtins.max(0, _builtins.min(rows + _builtins.min(k, 0), cols - _builtins.max(k, 0)))
    i = _xp.arange(n) - _builtins.min(k, 0)
    return _A.getitem(t, (Ellipsis, i, i + k))


def diag(x, k=0):
    """The ``k``-th diagonal of a matrix, or a matrix with a vector on it (NumPy's
    ``diag``).

    Example:
        >>> from wengert import ops
        >>> ops.diag([1, 2]).numpy(), ops.diag([[1, 2], [3, 4]], k=1).numpy()
        (array([[1, 0],
               [0, 2]], dtype=int32), array([2], dtype=int32))
    """
    t = _operand(x)
    k = int(k)
    if t.ndim == 2:
        return diagonal(t, k)
    if t.ndim != 1:
        raise ValueError(f"diag: x must have one or two axes, got shape {t.shape}")
    n = t.shape[0]
    size_ = n + _builtins.abs(k)
    # Gather from x with a zero appended: index n (the zero) off the diagonal.
    idx = _xp.full((size_, size_), n)
    i = _xp.arange(n)
    idx[i - _builtins.min(k, 0), i + _builtins.max(k, 0)] = i
    padded = _A.concat([t, _convert_to_tensor(_xp.zeros((1,), t.dtype))], 0)
    return _A.getitem(padded, (idx,))


def unstack(x, num=None, axis=0):
    """``x`` split along ``axis`` into a list of tensors without that axis.

    Example:
        >>> from wengert import ops
        >>> [t.numpy().tolist() for t in ops.unstack([[1, 2], [3, 4]])]
        [[1, 2], [3, 4]]
    """
    t = _operand(x)
    axis = _axis("unstack", axis, t.ndim)
    if num is not None and int(num) != t.shape[axis]:
        raise ValueError(f"unstack: num={num} but axis {axis} of {t.shape} has {t.shape[axis]}")
    return _A.unstack(t, axis=axis)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D tensors (NumPy's ``meshgrid``: ``"xy"`` swaps the first
    two axes of the output, ``"ij"`` does not).

    Example:
        >>> from wengert import ops
        >>> xs, ys = ops.meshgrid([1, 2, 3], [4, 5])
        >>> xs.shape, ys.numpy().tolist()
        ((2, 3), [[4, 4, 4], [5, 5, 5]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    ts = [_flat(_operand(v)) for v in x]
    sizes = [t.shape[0] for t in ts]
    if indexing == "xy" and len(ts) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(ts):
        axis = (1 - i if i < 2 else i) if indexing == "xy" and len(ts) > 1 else i
        view = [1] * len(ts)
        view[axis] = t.shape[0]
        out.append(_A.broadcast_to(_A.reshape(t, view), sizes))
    return out


# -- activations and nn -----------------------------------------------------------------------
def relu(x):
    """max(x, 0); integers keep their dtype (as Keras's; ``wg.nn.relu`` is TensorFlow's).

    Example:
        >>> from wengert import ops
        >>> ops.relu([-1.0, 2.0]).numpy(), ops.relu([-1, 2]).numpy()
        (array([0., 2.], dtype=float32), array([0, 2], dtype=int32))
    """
    t = _operand(x)
    if t._value.dtype.kind in "iu":
        return _M.maximum(t, 0)
    return _N.relu(_floating(t))


def relu6(x):
    """min(max(x, 0), 6); integers keep their dtype, as in Keras.

    Example:
        >>> from wengert import ops
        >>> ops.relu6([-1.0, 3.0, 8.0]).numpy()
        array([0., 3., 6.], dtype=float32)
    """
    t = _operand(x)
    if t._value.dtype.kind in "iu":
        return _M.minimum(_M.maximum(t, 0), 6)
    return _M.minimum(_N.relu(_floating(t)), 6.0)


def sigmoid(x):
    """1 / (1 + exp(-x)).

    Example:
        >>> from wengert import ops
        >>> ops.sigmoid([0.0]).numpy()
        array([0.5], dtype=float32)
    """
    return _N.sigmoid(_floating(x))


def hard_sigmoid(x):
    """relu6(x + 3) / 6, a piecewise-linear sigmoid (Keras 3's form).

    Example:
        >>> from wengert import ops
        >>> ops.hard_sigmoid([-4.0, 0.0, 4.0]).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """
    return relu6(_floating(x) + 3.0) / 6.0


def hard_silu(x):
    """x * hard_sigmoid(x).

    Example:
        >>> from wengert import ops
        >>> ops.hard_silu([-4.0, 0.0, 4.0]).numpy()
        array([-0.,  0.,  4.], dtype=float32)
    """
    t = _floating(x)
    return t * hard_sigmoid(t)


hard_swish = hard_silu


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable at large |x|.

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.log_sigmoid(0.0)
        '-0.6931'
    """
    return _M.negative(_N.softplus(_M.negative(_floating(x))))


def softplus(x):
    """log(1 + exp(x)), stable at large |x|.

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.softplus(0.0)
        '0.6931'
    """
    return _N.softplus(_floating(x))


def softsign(x):
    """x / (1 + |x|).

    Example:
        >>> from wengert import ops
        >>> ops.softsign([1.0]).numpy()
        array([0.5], dtype=float32)
    """
    return _N.softsign(_floating(x))


def silu(x):
    """x * sigmoid(x) (also ``swish``).

    Example:
        >>> from wengert import ops
        >>> ops.silu([0.0]).numpy()
        array([0.], dtype=float32)
    """
    return _N.silu(_floating(x))


swish = silu


def gelu(x, approximate=True):
    """The Gaussian error linear unit; Keras's default is the tanh approximation
    (``approximate=True``), where ``wg.nn.gelu``'s (TensorFlow's) is exact.

    Example:
        >>> from wengert import ops
        >>> "%.5f" % ops.gelu(1.0), "%.5f" % ops.gelu(1.0, approximate=False)
        ('0.84119', '0.84134')
    """
    return _N.gelu(_floating(x), approximate=bool(approximate))


def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, ``negative_slope * x`` below (Keras's default slope 0.2).

    Example:
        >>> from wengert import ops
        >>> ops.leaky_relu([-1.0, 2.0]).numpy()
        array([-0.2,  2. ], dtype=float32)
    """
    return _N.leaky_relu(_floating(x), alpha=negative_slope)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) below.

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.elu(-1.0)
        '-0.6321'
    """
    return _N.elu(_floating(x), alpha=alpha)


def selu(x):
    """The scaled exponential linear unit.

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.selu(1.0)
        '1.0507'
    """
    return _N.selu(_floating(x))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (an int or a tuple of ints).

    Example:
        >>> from wengert import ops
        >>> ops.softmax([0.0, 0.0]).numpy()
        array([0.5, 0.5], dtype=float32)
    """
    t = _floating(x)
    if isinstance(axis, (list, tuple)) or axis is None:
        return _M.exp(t - _M.reduce_logsumexp(t, axis=axis, keepdims=True))
    return _N.softmax(t, axis=_axis("softmax", axis, t.ndim))


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis`` (an int or a tuple of ints).

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.log_softmax([0.0, 0.0])[0]
        '-0.6931'
    """
    t = _floating(x)
    if isinstance(axis, (list, tuple)) or axis is None:
        return t - _M.reduce_logsumexp(t, axis=axis, keepdims=True)
    return _N.log_softmax(t, axis=_axis("log_softmax", axis, t.ndim))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels ``x`` as one-hot vectors on a new axis ``axis`` (float32 unless
    ``dtype``); negative labels give all zeros.

    Example:
        >>> from wengert import ops
        >>> ops.one_hot([1, -1], 3).numpy()
        array([[0., 1., 0.],
               [0., 0., 0.]], dtype=float32)
    """
    if sparse:
        raise ValueError("one_hot: wengert has no sparse tensors")
    t = _operand(x)
    if t.dtype.kind not in "iu":
        t = _cast(t, _int32)
    return _A.one_hot(t, int(num_classes), axis=axis, dtype=_float32 if dtype is None else dtype)


def _same_dtype(target, output):
    out = _floating(output)
    return _cast(_operand(target), out.dtype), out


def binary_crossentropy(target, output, from_logits=False):
    """The elementwise binary cross-entropy (Keras's ``ops.binary_crossentropy``: no
    reduction); probabilities are clipped to [1e-7, 1 - 1e-7] first.

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.binary_crossentropy([1.0], [0.5])[0]
        '0.6931'
    """
    target, output = _same_dtype(target, output)
    if target.shape != output.shape:
        raise ValueError(
            f"binary_crossentropy: target {target.shape} and output {output.shape} must have "
            "the same shape"
        )
    if from_logits:
        return _N.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    p = _M.clip_by_value(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * _M.log(p) + (1.0 - target) * _M.log(1.0 - p))


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return log_softmax(output, axis=axis)
    output = output / _M.reduce_sum(output, axis=axis, keepdims=True)
    return _M.log(_M.clip_by_value(output, _EPSILON, 1.0 - _EPSILON))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log(p)) along ``axis``, p the normalised, clipped ``output`` (or
    softmax(output) with ``from_logits``).

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.categorical_crossentropy([0.0, 1.0], [0.5, 0.5])
        '0.6931'
    """
    target, output = _same_dtype(target, output)
    if target.shape != output.shape or output.ndim < 1:
        raise ValueError(
            f"categorical_crossentropy: target {target.shape} and output {output.shape} must "
            "have the same shape, of rank at least 1"
        )
    return -_M.reduce_sum(target * _log_probabilities(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``categorical_crossentropy`` with integer class labels ``target`` (a trailing
    axis of size 1 is dropped).

    Example:
        >>> from wengert import ops
        >>> "%.4f" % ops.sparse_categorical_crossentropy(1, [0.5, 0.5])
        '0.6931'
    """
    output = _floating(output)
    labels = _operand(target)
    if labels.ndim == output.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = _A.squeeze(labels, -1)
    if labels.dtype.kind not in "iu":
        labels = _cast(labels, _int32)
    axis = _axis("sparse_categorical_crossentropy", axis, output.ndim)
    expected = output.shape[:axis] + output.shape[axis + 1 :]
    if labels.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy: target {labels.shape} must have output's shape "
            f"{output.shape} without axis {axis}"
        )
    hot = _A.one_hot(labels, output.shape[axis], axis=axis, dtype=output.dtype)
    return -_M.reduce_sum(hot * _log_probabilities(output, from_logits, axis), axis=axis)


# -- control flow (eager) ---------------------------------------------------------------------
def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` else ``false_fn()`` (run eagerly).

    Example:
        >>> from wengert import ops
        >>> ops.cond(ops.greater(2, 1), lambda: "yes", lambda: "no")
        'yes'
    """
    return true_fn() if bool(pred) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for i in range(lower, upper), from ``init_val``.

    Example:
        >>> from wengert import ops
        >>> float(ops.fori_loop(0, 4, lambda i, x: x + i, 0.0))
        6.0
    """
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (at most
    ``maximum_iterations`` times); a tuple or list of variables is unpacked into the calls.

    Example:
        >>> from wengert import ops
        >>> ops.while_loop(lambda i: i < 10, lambda i: i * 2, 1)
        16
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    count = 0
    while (maximum_iterations is None or count < maximum_iterations) and bool(cond(*state)):
        state = body(*state)
        if not is_tuple:
            state = (state,)
        elif not isinstance(state, (tuple, list)):
            raise TypeError("while_loop: body must return as many values as loop_vars holds")
        state = tuple(state)
        count += 1
    return type(loop_vars)(state) if is_tuple else state[0]


def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in _leaves(t)]
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    return [tree]


def _rebuild(tree, leaves):
    """``tree``'s structure with ``leaves`` (an iterator) in place of its leaves."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(t, leaves) for t in tree)
    if isinstance(tree, dict):
        return {k: _rebuild(tree[k], leaves) for k in sorted(tree)}
    return next(leaves)


def _stack_tree(items):
    """A list of same-structure trees as one tree of stacked leaves (None stays None)."""
    first = items[0]
    columns = list(zip(*[_leaves(t) for t in items]))
    return _rebuild(first, iter(None if c[0] is None else _A.stack(list(c), 0) for c in columns))


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """JAX's ``lax.scan``: ``carry, y = f(carry, x)`` over the leading axis of ``xs``;
    returns the last carry and the ``y``s stacked.

    Example:
        >>> from wengert import ops
        >>> carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, ops.arange(1.0, 4.0))
        >>> float(carry), ys.numpy()
        (6.0, array([0., 2., 9.], dtype=float32))
    """
    return _scan(f, init, xs, length, reverse)


def _scan(f, init, xs=None, length=None, reverse=False):
    leaves = [_operand(v) for v in _leaves(xs)] if xs is not None else []
    n = leaves[0].shape[0] if leaves else length
    if n is None:
        raise ValueError("scan: give xs or length")
    if length is not None and int(length) != n:
        raise ValueError(f"scan: length {length} differs from xs's leading axis {n}")
    carry, ys = init, []
    steps = range(int(n) - 1, -1, -1) if reverse else range(int(n))
    for i in steps:
        x = _rebuild(xs, iter(leaf[i] for leaf in leaves)) if xs is not None else None
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys:
        return carry, None
    return carry, _stack_tree(ys)


def map(f, xs):
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked.

    Example:
        >>> from wengert import ops
        >>> ops.map(lambda x: x * 2, ops.arange(3)).numpy()
        array([0, 2, 4], dtype=int32)
    """
    return _scan(lambda carry, x: (carry, f(x)), None, xs)[1]


def vectorized_map(function, elements):
    """``function`` applied to each slice of ``elements`` (a tensor or a structure of
    them) along the leading axis, results stacked (a loop, not vectorised).

    Example:
        >>> from wengert import ops
        >>> ops.vectorized_map(lambda row: ops.sum(row), ops.ones((2, 3))).numpy()
        array([3., 3.], dtype=float32)
    """
    return _scan(lambda carry, x: (carry, function(x)), None, elements)[1]
