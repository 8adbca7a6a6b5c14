"""Shape and indexing ops, casts, and constructors: primitives with their rules."""

from __future__ import annotations

import builtins

from . import backend, core
from .backend import xp
from .core import (
    apply,
    defjvp,
    defvjp,
    nondifferentiable,
    op_error,
    operand,
    primitive,
)
from .tensor import Tensor, Variable, VariableSlice, constant, wrap

# -- reshape, transpose, broadcast -------------------------------------------------


def _reshape_impl(x, shape):
    return xp.reshape(x, shape)


reshape_p = primitive("reshape", _reshape_impl)
defvjp(reshape_p, lambda g, out, x, shape: reshape(g, x.shape))
defjvp(reshape_p, lambda dx, out, x, shape: reshape(dx, shape))


def reshape(tensor, shape, name=None) -> Tensor:
    """Give ``tensor`` a new shape with the same number of elements (one axis may be -1).

    Example:
        >>> import wengert as wg
        >>> wg.reshape([1.0, 2.0, 3.0, 4.0], (2, -1)).shape
        (2, 2)
    """
    x = operand(tensor)
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
    size = x._value.size
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if (
        shape.count(-1) > 1
        or (-1 not in shape and known != size)
        or (-1 in shape and (known == 0 or size % known))
    ):
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) to {shape}"
        )
    if -1 in shape:
        shape = tuple(size // known if s == -1 else s for s in shape)
    if shape == x._value.shape:
        return _snapshot(x)
    return apply(reshape_p, (x,), {"shape": shape})


def _transpose_impl(x, perm, conjugate=False):
    return xp.conj(xp.transpose(x, perm)) if conjugate else xp.transpose(x, perm)


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


transpose_p = primitive("transpose", _transpose_impl)
# Conjugation is real-linear, so each rule conjugates as the op does (TensorFlow's
# ConjugateTranspose gradient); ``conjugate`` is only passed for complex tensors.
defvjp(
    transpose_p,
    lambda g, out, x, perm, conjugate=False: transpose(g, _inverse(perm), conjugate),
)
defjvp(transpose_p, lambda dx, out, x, perm, conjugate=False: transpose(dx, perm, conjugate))


def transpose(a, perm=None, conjugate=False, name=None) -> Tensor:
    """Permute the axes of ``a`` (reverse them when ``perm`` is None).

    With ``conjugate=True`` complex entries are conjugated too (the adjoint).

    Example:
        >>> import wengert as wg
        >>> wg.transpose(wg.zeros((2, 3, 4)), perm=[2, 0, 1]).shape
        (4, 2, 3)
        >>> wg.transpose(wg.constant([[1 + 2j, 3 - 1j]]), conjugate=True).numpy()
        array([[1.-2.j],
               [3.+1.j]])
    """
    x = operand(a)
    n = x._value.ndim
    if perm is None:
        perm = tuple(builtins.range(n - 1, -1, -1))
    else:
        given = tuple(int(p) for p in perm)
        perm = tuple(p % n if -n <= p < n else p for p in given)
        if sorted(perm) != list(builtins.range(n)):
            raise ValueError(
                f"transpose: perm {list(given)} is not a permutation of the {n} axes of "
                f"a tensor of shape {x.shape}"
            )
    if conjugate and x._value.dtype.kind == "c":
        return apply(transpose_p, (x,), {"perm": perm, "conjugate": True})
    return apply(transpose_p, (x,), {"perm": perm})


def _axis(op: str, axis, ndim: int) -> int:
    """One axis in [-ndim, ndim), normalised to [0, ndim); anything else is a ValueError."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of rank {ndim}")
    return axis % ndim


def _integer(op: str, value) -> int:
    """A count or length given as an int, a NumPy integer or a 0-d integer array."""
    a = xp.asarray(value)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer, got {value!r}")
    return int(a)


def _broadcast_impl(x, shape):
    return xp.broadcast_to(x, shape)


broadcast_to_p = primitive("broadcast_to", _broadcast_impl)
# The tape sums a gradient back to its input's shape in one place, so the VJP
# of a broadcast is the cotangent itself.
defvjp(broadcast_to_p, lambda g, out, x, shape: g)
defjvp(broadcast_to_p, lambda dx, out, x, shape: broadcast_to(dx, shape))


def broadcast_to(input, shape, name=None) -> Tensor:
    """Broadcast ``input`` to ``shape`` (NumPy rules).

    Example:
        >>> import wengert as wg
        >>> wg.broadcast_to([1.0, 2.0], (3, 2)).shape
        (3, 2)
    """
    x = operand(input)
    shape = tuple(int(s) for s in shape)
    try:
        xp.broadcast_shapes(x._value.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    if x._value.shape == shape:
        return _snapshot(x)
    return apply(broadcast_to_p, (x,), {"shape": shape})


def expand_dims(input, axis, name=None) -> Tensor:
    """Insert an axis of size 1 at ``axis``.

    Example:
        >>> import wengert as wg
        >>> wg.expand_dims([1.0, 2.0], -1).shape
        (2, 1)
    """
    x = operand(input)
    n = x._value.ndim
    if not -n - 1 <= axis <= n:
        raise ValueError(f"expand_dims: axis {axis} out of range for shape {x.shape}")
    axis = axis % (n + 1)
    shape = x.shape[:axis] + (1,) + x.shape[axis:]
    return apply(reshape_p, (x,), {"shape": shape})


def squeeze(input, axis=None, name=None) -> Tensor:
    """Remove axes of size 1 (all of them, or those in ``axis``).

    Example:
        >>> import wengert as wg
        >>> wg.squeeze(wg.zeros((1, 2, 1))).shape
        (2,)
    """
    x = operand(input)
    shape = x.shape
    if axis is None:
        axes = [i for i, s in enumerate(shape) if s == 1]
    else:
        axes = [
            _axis("squeeze", a, len(shape))
            for a in (axis if isinstance(axis, (list, tuple)) else [axis])
        ]
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {shape} has size {shape[a]}, not 1")
    new = tuple(s for i, s in enumerate(shape) if i not in axes)
    return apply(reshape_p, (x,), {"shape": new})


# -- concat, stack, split -------------------------------------------------------------


def _concat_impl(*xs, axis):
    return xp.concatenate(xs, axis=axis)


def _concat_vjp(i, g, out, *xs, axis):
    start = builtins.sum(x.shape[axis] for x in xs[:i])
    key = (builtins.slice(None),) * axis + (builtins.slice(start, start + xs[i].shape[axis]),)
    return getitem(g, key)


def _concat_jvp(i, dx, out, *xs, axis):
    start = builtins.sum(x.shape[axis] for x in xs[:i])
    paddings = [[0, 0]] * out.ndim
    paddings[axis] = [start, out.shape[axis] - start - xs[i].shape[axis]]
    return pad(dx, paddings)


concat_p = primitive("concat", _concat_impl)
concat_p.vjps = _concat_vjp  # one rule for every argument: it is told which (argnum)
concat_p.jvps = _concat_jvp


def concat(values, axis, name=None) -> Tensor:
    """Join tensors along an existing axis.

    Example:
        >>> import wengert as wg
        >>> wg.concat([[[1.0]], [[2.0]]], axis=0).numpy()
        array([[1.],
               [2.]], dtype=float32)
    """
    if isinstance(values, Tensor):  # TensorFlow: one tensor is a list of one
        values = [values]
    xs = _same_dtype("concat", values)
    ndim = xs[0].ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"concat: axis {axis} out of range for rank {ndim}")
    axis = axis % ndim
    for x in xs:
        if (
            x.ndim != ndim
            or x.shape[:axis] + x.shape[axis + 1 :] != xs[0].shape[:axis] + xs[0].shape[axis + 1 :]
        ):
            raise ValueError(f"concat: shapes {[t.shape for t in xs]} differ outside axis {axis}")
    if len(xs) == 1:
        return _snapshot(xs[0])
    return apply(concat_p, tuple(xs), {"axis": axis})


def _same_dtype(op, values):
    if isinstance(values, (Tensor,)) or not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{op}: expected a non-empty list of tensors, got {type(values).__name__}")
    first = next((v for v in values if isinstance(v, Tensor)), None)
    if first is not None:
        xs = [operand(v, first.dtype) for v in values]
    else:
        # Python values alone: one float makes them all float, as convert_to_tensor([1, 2.5])
        xs = [operand(v) for v in values]
        dtype = next((x.dtype for x in xs if x.dtype.kind in "fc"), xs[0].dtype)
        xs = [x if x.dtype == dtype else operand(v, dtype) for x, v in zip(xs, values)]
    for x in xs:
        if x.dtype != xs[0].dtype:
            raise TypeError(f"{op}: dtypes differ: {[str(t.dtype) for t in xs]}")
    return xs


def stack(values, axis=0, name=None) -> Tensor:
    """Join tensors of equal shape along a new axis.

    Example:
        >>> import wengert as wg
        >>> wg.stack([[1.0, 2.0], [3.0, 4.0]], axis=1).numpy()
        array([[1., 3.],
               [2., 4.]], dtype=float32)
    """
    xs = _same_dtype("stack", values)
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: shapes differ: {[x.shape for x in xs]}")
    ndim = xs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis {axis} out of range for rank {ndim}")
    return (
        concat([expand_dims(x, axis) for x in xs], axis=axis % ndim)
        if len(xs) > 1
        else expand_dims(xs[0], axis)
    )


def _split_impl(x, sizes, axis):
    bounds = []
    acc = 0
    for s in sizes[:-1]:
        acc += s
        bounds.append(acc)
    return tuple(xp.split(x, bounds, axis=axis))


split_p = primitive("split", _split_impl, multiple_results=True)
defvjp(split_p, lambda gs, out, x, sizes, axis: concat(list(gs), axis=axis))
defjvp(split_p, lambda dx, out, x, sizes, axis: split(dx, list(sizes), axis=axis))


def split(value, num_or_size_splits, axis=0, num=None, name=None) -> list:
    """Split ``value`` along ``axis`` into equal parts or parts of the given sizes.

    Example:
        >>> import wengert as wg
        >>> [t.shape for t in wg.split(wg.zeros((5, 2)), [2, 3])]
        [(2, 2), (3, 2)]
    """
    x = operand(value)
    n = x._value.ndim
    if not -n <= axis < n:
        raise ValueError(f"split: axis {axis} out of range for rank {n}")
    axis %= n
    length = x.shape[axis]
    if isinstance(num_or_size_splits, Tensor):
        num_or_size_splits = num_or_size_splits._value
    if xp.ndim(num_or_size_splits) == 0:  # a number of parts: int, np.int64, 0-d tensor
        k = _integer("split", num_or_size_splits)
        if k <= 0 or length % k:
            raise ValueError(f"split: axis {axis} of size {length} cannot be split into {k} parts")
        sizes = (length // k,) * k
    else:
        sizes = [int(s) for s in num_or_size_splits]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = length - (builtins.sum(sizes) + 1)
        if builtins.sum(sizes) != length or builtins.min(sizes) < 0:
            raise ValueError(f"split: sizes {sizes} do not add up to {length} (axis {axis})")
        sizes = tuple(sizes)
    return list(apply(split_p, (x,), {"sizes": sizes, "axis": axis}))


def unstack(value, num=None, axis=0, name=None) -> list:
    """Split along ``axis`` into tensors with that axis removed.

    Example:
        >>> import wengert as wg
        >>> [t.shape for t in wg.unstack(wg.zeros((2, 3)))]
        [(3,), (3,)]
    """
    x = operand(value)
    axis = _axis("unstack", axis, x.ndim)
    if x.shape[axis] == 0:
        return []
    return [squeeze(p, axis) for p in split(x, x.shape[axis], axis)]


# -- indexing -----------------------------------------------------------------------------


def _normalise_key(key):
    """Turn an index into a tuple of ints, slices, None, Ellipsis and integer/bool arrays
    (lists and ``range`` objects become arrays, as NumPy reads them)."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    basic = True
    for k in key:
        if isinstance(k, Tensor):
            k = k._value
        if isinstance(k, list):
            k = xp.asarray(k) if k else xp.zeros(0, dtype=xp.intp)  # [] indexes nothing
        elif isinstance(k, builtins.range):  # as NumPy: the integer array it lists
            k = xp.arange(k.start, k.stop, k.step, dtype=xp.intp)
        if isinstance(k, xp.ndarray):
            if k.dtype.kind not in "iub":
                raise IndexError(f"getitem: index arrays must be integer or bool, got {k.dtype}")
            if k.ndim == 0 and k.dtype.kind in "iu":
                k = int(k)
            else:
                basic = False
                k = k.copy()
                k.flags.writeable = False
        elif isinstance(k, (bool, xp.bool_)):
            basic = False
        elif isinstance(k, (int, xp.integer)):
            k = int(k)
        elif not (k is None or k is Ellipsis or isinstance(k, builtins.slice)):
            raise IndexError(f"getitem: unsupported index {k!r} of type {type(k).__name__}")
        out.append(k)
    return tuple(out), basic


def _getitem_impl(x, key, basic):
    out = x[key]
    # Basic indexing returns a view; wengert arrays are private, so copy only 0-d results
    # (NumPy returns scalars there).
    return xp.asarray(out)


def _scatter_impl(g, shape, key, basic):
    z = xp.zeros(shape, dtype=g.dtype)
    if basic:
        z[key] = g  # basic indices never repeat an element: plain assignment adds once
    else:
        xp.add.at(z, key, g)  # integer arrays may repeat an index: accumulate
    return z


getitem_p = primitive("getitem", _getitem_impl)
scatter_p = primitive("getitem_scatter", _scatter_impl)  # getitem's transpose
defvjp(getitem_p, lambda g, out, x, key, basic: _scatter(g, x.shape, key, basic))
defjvp(getitem_p, lambda dx, out, x, key, basic: _getitem(dx, key, basic))
defvjp(scatter_p, lambda g, out, u, shape, key, basic: _getitem(g, key, basic))
defjvp(scatter_p, lambda du, out, u, shape, key, basic: _scatter(du, shape, key, basic))


def _getitem(x, key, basic):
    return apply(getitem_p, (x,), {"key": key, "basic": basic})


def _scatter(g, shape, key, basic):
    return apply(scatter_p, (g,), {"shape": tuple(shape), "key": key, "basic": basic})


def getitem(tensor, key) -> Tensor:
    """``tensor[key]``: NumPy basic and integer-array (and boolean-mask) indexing.

    Example:
        >>> import wengert as wg
        >>> t = wg.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> t[1].numpy(), t[:, [1, 0]].numpy()[0]
        (array([3., 4.], dtype=float32), array([2., 1.], dtype=float32))
    """
    x = operand(tensor)
    key, basic = _normalise_key(key)
    return apply(getitem_p, (x,), {"key": key, "basic": basic})


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None) -> Tensor:
    """Gather slices of ``params`` along ``axis`` at ``indices`` (TensorFlow semantics).

    ``batch_dims`` leading axes of ``indices`` index the same leading axes of
    ``params`` one-to-one.

    Example:
        >>> import wengert as wg
        >>> wg.gather([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [2, 0]).numpy()
        array([[5., 6.],
               [1., 2.]], dtype=float32)
    """
    x = operand(params)
    idx = indices._value if isinstance(indices, Tensor) else xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: indices must be integers, got {idx.dtype}")
    n = x._value.ndim
    b = batch_dims + idx.ndim if batch_dims < 0 else batch_dims  # TensorFlow's convention
    if not 0 <= b <= idx.ndim:
        raise ValueError(f"gather: batch_dims {batch_dims} out of range for indices {idx.shape}")
    axis = _axis("gather", b if axis is None else axis, n)
    if b > axis:
        raise ValueError(f"gather: batch_dims ({b}) must be <= axis ({axis})")
    size = x.shape[axis]
    if idx.size and (idx.min() < 0 or idx.max() >= size):  # TensorFlow refuses negatives
        raise IndexError(
            f"gather: indices out of range [0, {size}) for axis {axis} of params {x.shape}"
        )
    if b == 0:
        key = (builtins.slice(None),) * axis + (idx,)
        return getitem(x, key)
    if x.shape[:b] != idx.shape[:b]:
        raise ValueError(f"gather: batch dims of params {x.shape} and indices {idx.shape} differ")
    # Index arrays broadcast together: batch aranges, free slices in between, the indices.
    extra = idx.ndim - b
    key = []
    for i in builtins.range(b):
        shape = [1] * (b + extra)
        shape[i] = x.shape[i]
        key.append(xp.arange(x.shape[i]).reshape(shape))
    key += [builtins.slice(None)] * (axis - b)
    key.append(idx)
    out = getitem(x, tuple(key))
    if axis > b:  # NumPy puts the broadcast index axes first when slices separate them
        nb = b + extra
        perm = list(builtins.range(nb, nb + axis - b))
        perm = (
            list(builtins.range(b))
            + perm
            + list(builtins.range(b, nb))
            + list(builtins.range(nb + axis - b, out.ndim))
        )
        out = transpose(out, perm)
    return out


# -- scatter_nd: TensorFlow's indexing by rows of coordinates -------------------------------
# scatter_nd is getitem_scatter (getitem's transpose, which sums repeated indices) and
# the tensor_scatter_nd ops compose it with add, subtract and where: no new primitive.


def _frozen(a):
    """``a``, made read-only (an index a tape may keep must not change)."""
    a.flags.writeable = False
    return a


def _nd_key(op: str, shape: tuple, indices):
    """Check TensorFlow's scatter_nd ``indices`` against a tensor of ``shape``.

    ``indices[..., :K]`` are coordinates in the first K axes.  Returns ``(key,
    updates_shape)``: the NumPy index of those elements or slices (K read-only integer
    arrays of shape ``indices.shape[:-1]``) and the shape updates must have,
    ``indices.shape[:-1] + shape[K:]``.
    """
    idx = indices._value if isinstance(indices, Tensor) else xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got {idx.dtype}")
    if idx.ndim == 0 or not 1 <= idx.shape[-1] <= len(shape):
        raise ValueError(
            f"{op}: indices of shape {idx.shape} must have a last axis of size 1 to "
            f"{len(shape)} (the rank of the tensor of shape {shape})"
        )
    depth = idx.shape[-1]
    bad = ((idx < 0) | (idx >= xp.asarray(shape[:depth]))).any(axis=-1)
    if bad.any():  # TensorFlow's CPU kernels refuse negative and too-large indices alike
        at = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise IndexError(
            f"{op}: indices{list(at)} = {idx[at].tolist()} does not index into shape {shape}"
        )
    # Copies, read-only: the tape may keep the key.
    key = tuple(_frozen(xp.array(idx[..., k], dtype=xp.intp)) for k in builtins.range(depth))
    return key, idx.shape[:-1] + tuple(shape[depth:])


def _last_writes(key: tuple, shape: tuple):
    """Positions in the flattened updates of the last write to each element that ``key``
    names, in order; None when no index repeats (then every update is the last)."""
    flat = xp.ravel_multi_index(tuple(k.reshape(-1) for k in key), shape[: len(key)])
    n = flat.size
    if n < 2:
        return None
    _, first_from_end = xp.unique(flat[::-1], return_index=True)
    if first_from_end.size == n:
        return None
    return xp.sort(n - 1 - first_from_end)


def _last_write_key(key: tuple, shape: tuple):
    """Keep only the last write to each element that ``key`` names (last update wins).

    Returns ``(key, last, rows)``: when no index repeats, ``key`` unchanged and ``last``
    None; else the key of the last writes only (read-only), and the updates that go
    there are ``updates.reshape(rows)[last]``.
    """
    last = _last_writes(key, shape)
    if last is None:
        return key, None, None
    rows = (key[0].size,) + tuple(shape[len(key) :])
    return tuple(_frozen(k.reshape(-1)[last]) for k in key), last, rows


def _nd_updates(op: str, updates, dtype, expected: tuple) -> Tensor:
    u = operand(updates, dtype)  # Python values take the tensor's dtype
    if u._value.dtype != dtype:
        raise TypeError(f"{op}: updates of dtype {u.dtype} for a tensor of dtype {dtype}")
    if u._value.shape != expected:
        raise ValueError(
            f"{op}: updates of shape {u.shape} must have shape indices.shape[:-1] + "
            f"tensor.shape[K:] = {expected}"
        )
    return u


def scatter_nd(indices, updates, shape, name=None) -> Tensor:
    """A tensor of zeros of ``shape`` with ``updates`` added at ``indices`` (TensorFlow's).

    ``indices[..., :K]`` are coordinates of elements (K = rank) or slices (K < rank);
    ``updates`` has shape ``indices.shape[:-1] + shape[K:]``.  Repeated indices add up.
    Differentiable with respect to ``updates``.

    Example:
        >>> import wengert as wg
        >>> wg.scatter_nd([[4], [3], [4]], [9.0, 10.0, 1.0], [6]).numpy()
        array([ 0.,  0.,  0., 10., 10.,  0.], dtype=float32)
    """
    shape = _shape(shape)
    if any(d < 0 for d in shape):
        raise ValueError(
            f"scatter_nd: shape {list(shape)} has a negative dimension; dimensions must be >= 0"
        )
    u = operand(updates)
    key, expected = _nd_key("scatter_nd", shape, indices)
    u = _nd_updates("scatter_nd", u, u.dtype, expected)
    return _scatter(u, shape, key, False)


def _tensor_scatter_nd(op: str, tensor, indices, updates):
    x = operand(tensor)
    key, expected = _nd_key(op, x.shape, indices)
    u = _nd_updates(op, updates, x._value.dtype, expected)
    return x, key, u


def tensor_scatter_nd_update(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with the elements or slices at ``indices`` replaced by ``updates``.

    Indexing as ``scatter_nd``'s.  Where an index repeats, the last update wins (as on
    TensorFlow's CPU), and only it gets a gradient: TensorFlow's rule gives every
    repeat one, although the others change nothing.  Differentiable with respect to
    ``tensor`` and ``updates``.

    Example:
        >>> import wengert as wg
        >>> wg.tensor_scatter_nd_update([[1, 2], [3, 4]], [[1, 0]], [9]).numpy()
        array([[1, 2],
               [9, 4]], dtype=int32)
    """
    from .math_ops import where

    x, key, u = _tensor_scatter_nd("tensor_scatter_nd_update", tensor, indices, updates)
    key, last, rows = _last_write_key(key, x.shape)
    if last is not None:
        u = getitem(reshape(u, rows), (last,))
    written = xp.zeros(x.shape[: len(key)], dtype=bool)
    written[key] = True
    written = written.reshape(written.shape + (1,) * (x.ndim - len(key)))
    return where(wrap(written), _scatter(u, x.shape, key, False), x)


def tensor_scatter_nd_add(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with ``updates`` added at ``indices``; repeated indices add up.

    Example:
        >>> import wengert as wg
        >>> wg.tensor_scatter_nd_add([1.0, 1.0, 1.0], [[0], [0]], [1.0, 2.0]).numpy()
        array([4., 1., 1.], dtype=float32)
    """
    from .math_ops import add

    x, key, u = _tensor_scatter_nd("tensor_scatter_nd_add", tensor, indices, updates)
    return add(x, _scatter(u, x.shape, key, False))


def tensor_scatter_nd_sub(tensor, indices, updates, name=None) -> Tensor:
    """``tensor`` with ``updates`` subtracted at ``indices``; repeated indices add up.

    Example:
        >>> import wengert as wg
        >>> wg.tensor_scatter_nd_sub([1.0, 1.0, 1.0], [[2]], [0.5]).numpy()
        array([1. , 1. , 0.5], dtype=float32)
    """
    from .math_ops import subtract

    x, key, u = _tensor_scatter_nd("tensor_scatter_nd_sub", tensor, indices, updates)
    return subtract(x, _scatter(u, x.shape, key, False))


# -- tile, pad ---------------------------------------------------------------------------


def _tile_impl(x, multiples):
    return xp.tile(x, multiples)


def _tile_vjp(g, out, x, multiples):
    # out axis i has multiples[i] copies of x's axis i: view it as (m_i, s_i) and sum m_i.
    split_shape = []
    for m, s in zip(multiples, x.shape):
        split_shape += [m, s]
    from .math_ops import reduce_sum

    return reduce_sum(reshape(g, split_shape), axis=list(builtins.range(0, 2 * x.ndim, 2)))


tile_p = primitive("tile", _tile_impl)
defvjp(tile_p, _tile_vjp)
defjvp(tile_p, lambda dx, out, x, multiples: tile(dx, multiples))


def tile(input, multiples, name=None) -> Tensor:
    """Repeat ``input`` ``multiples[i]`` times along each axis i.

    Example:
        >>> import wengert as wg
        >>> wg.tile([[1.0, 2.0]], [2, 2]).numpy()
        array([[1., 2., 1., 2.],
               [1., 2., 1., 2.]], dtype=float32)
    """
    x = operand(input)
    multiples = tuple(
        int(m) for m in (multiples._value if isinstance(multiples, Tensor) else multiples)
    )
    if len(multiples) != x._value.ndim or builtins.min(multiples, default=1) < 0:
        raise ValueError(
            f"tile: multiples {multiples} must have one entry >= 0 per axis of {x.shape}"
        )
    return apply(tile_p, (x,), {"multiples": multiples})


def _pad_impl(x, paddings, constant_values):
    return xp.pad(x, paddings, mode="constant", constant_values=constant_values)


def _unpad(g, paddings):
    key = tuple(builtins.slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(paddings))
    return getitem(g, key)


pad_p = primitive("pad", _pad_impl)
defvjp(pad_p, lambda g, out, x, paddings, constant_values: _unpad(g, paddings))
defjvp(pad_p, lambda dx, out, x, paddings, constant_values: pad(dx, paddings))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None) -> Tensor:
    """Pad ``tensor``: ``paddings[i] = [before, after]`` for axis i.

    Modes are TensorFlow's: "CONSTANT", "REFLECT" (edge not repeated) and
    "SYMMETRIC" (edge repeated).

    Example:
        >>> import wengert as wg
        >>> wg.pad([[1.0, 2.0]], [[0, 0], [1, 1]]).numpy()
        array([[0., 1., 2., 0.]], dtype=float32)
        >>> wg.pad([1.0, 2.0, 3.0], [[2, 0]], mode="REFLECT").numpy()
        array([3., 2., 1., 2., 3.], dtype=float32)
    """
    x = operand(tensor)
    if isinstance(paddings, Tensor):
        paddings = paddings._value.tolist()
    paddings = tuple((int(lo), int(hi)) for lo, hi in paddings)
    if len(paddings) != x._value.ndim or any(lo < 0 or hi < 0 for lo, hi in paddings):
        raise ValueError(
            f"pad: paddings {paddings} must give [before, after] >= 0 for each axis of {x.shape}"
        )
    mode = mode.upper()
    if mode == "CONSTANT":
        value = _scalar_of("pad: constant_values", constant_values, x._value.dtype)
        return apply(pad_p, (x,), {"paddings": paddings, "constant_values": value})
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad: mode must be CONSTANT, REFLECT or SYMMETRIC, got {mode!r}")
    # Reflection is a gather along each axis, so its gradient comes from getitem's.
    np_mode = "reflect" if mode == "REFLECT" else "symmetric"
    for axis, (lo, hi) in enumerate(paddings):
        if lo == hi == 0:
            continue
        n = x.shape[axis]
        limit = n - 1 if mode == "REFLECT" else n
        if lo > limit or hi > limit:
            raise ValueError(f"pad: {mode} padding {lo, hi} too large for axis {axis} of size {n}")
        idx = xp.pad(xp.arange(n), (lo, hi), mode=np_mode)
        x = getitem(x, (builtins.slice(None),) * axis + (idx,))
    return x


def _scalar_of(what: str, value, dtype):
    """``value`` as a NumPy scalar of ``dtype``, converted without loss as TensorFlow
    converts an op's argument: 1.5 is no int32, and a tensor must have the dtype already."""
    try:
        v = operand(value, dtype)
    except TypeError as exc:
        raise TypeError(f"{what}: {exc}") from None
    if v._value.dtype != dtype or v._value.ndim:
        raise TypeError(f"{what} must be a {dtype} scalar, got {v.dtype}{list(v.shape)}")
    return v._value[()]


# -- casts, identity, stop_gradient ---------------------------------------------------------


def _cast_impl(x, dtype):
    return x.astype(dtype)


def _cast_rule(g, out, x, dtype):
    # Gradients flow only between floating dtypes, as in TensorFlow.
    if x.dtype.kind in "fc" and dtype.kind in "fc":
        return cast(g, x.dtype)
    return None


cast_p = primitive("cast", _cast_impl)
defvjp(cast_p, _cast_rule)
defjvp(
    cast_p,
    lambda dx, out, x, dtype: (
        cast(dx, dtype) if x.dtype.kind in "fc" and dtype.kind in "fc" else None
    ),
)


def cast(x, dtype, name=None) -> Tensor:
    """Convert ``x`` to ``dtype``; gradients pass between floating dtypes only.

    Example:
        >>> import wengert as wg
        >>> wg.cast([1.7, -1.7], "int32").numpy()
        array([ 1, -1], dtype=int32)
    """
    x = operand(x)
    dtype = backend.as_dtype(dtype)
    return apply(cast_p, (x,), {"dtype": dtype})


def _identity_impl(x):
    return x


identity_p = primitive("identity", _identity_impl)
defvjp(identity_p, lambda g, out, x: g)
defjvp(identity_p, lambda dx, out, x: dx)


def _snapshot(x) -> Tensor:
    """``x`` itself when it is an immutable Tensor; a recorded read when it is a Variable,
    whose value a later assign would otherwise change under the caller (TensorFlow)."""
    return x if type(x) is Tensor else identity(x)


def identity(input, name=None) -> Tensor:
    """Return a Tensor with the same value (recorded: a read of a Variable, for instance).

    Example:
        >>> import wengert as wg
        >>> wg.identity(wg.Variable([1.0])).numpy()
        array([1.], dtype=float32)
    """
    x = operand(input)
    return apply(identity_p, (x,))


stop_gradient_p = nondifferentiable(primitive("stop_gradient", _identity_impl))


def stop_gradient(input, name=None) -> Tensor:
    """The same value, but no gradient flows back through it.

    Example:
        >>> import wengert as wg
        >>> x = wg.constant(3.0)
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * wg.stop_gradient(x)
        >>> float(tape.gradient(y, x))
        3.0
    """
    return apply(stop_gradient_p, (operand(input),))


# -- constructors (nothing to record: they depend on no tensor) --------------------------------


def _dtype(dtype, default=backend.float32):
    return default if dtype is None else backend.as_dtype(dtype)


def _shape(shape):
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if xp.ndim(shape) == 0:  # one length: int, np.int64
        return (_integer("shape", shape),)
    return tuple(int(s) for s in shape)


def zeros(shape, dtype=None, name=None) -> Tensor:
    """A tensor of zeros (float32 by default).

    Example:
        >>> import wengert as wg
        >>> wg.zeros((2,)).numpy()
        array([0., 0.], dtype=float32)
    """
    return wrap(xp.zeros(_shape(shape), _dtype(dtype)), "zeros")


def ones(shape, dtype=None, name=None) -> Tensor:
    """A tensor of ones (float32 by default).

    Example:
        >>> import wengert as wg
        >>> wg.ones((2,), dtype="int32").numpy()
        array([1, 1], dtype=int32)
    """
    return wrap(xp.ones(_shape(shape), _dtype(dtype)), "ones")


def zeros_like(input, dtype=None, name=None) -> Tensor:
    """Zeros with the shape (and by default the dtype) of ``input``.

    Example:
        >>> import wengert as wg
        >>> wg.zeros_like(wg.ones((2,))).numpy()
        array([0., 0.], dtype=float32)
    """
    x = operand(input)
    return wrap(xp.zeros(x.shape, _dtype(dtype, x.dtype)), "zeros_like")


def ones_like(input, dtype=None, name=None) -> Tensor:
    """Ones with the shape (and by default the dtype) of ``input``.

    Example:
        >>> import wengert as wg
        >>> wg.ones_like([1, 2]).numpy()
        array([1, 1], dtype=int32)
    """
    x = operand(input)
    return wrap(xp.ones(x.shape, _dtype(dtype, x.dtype)), "ones_like")


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value`` (its dtype inferred as constant's).

    Example:
        >>> import wengert as wg
        >>> wg.fill((2,), 7).numpy()
        array([7, 7], dtype=int32)
    """
    value = constant(value)
    if value.ndim:
        raise ValueError(f"fill: value must be a scalar, got shape {value.shape}")
    return constant(value, shape=_shape(dims))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=None, name=None) -> Tensor:
    """An identity matrix (optionally batched).

    Example:
        >>> import wengert as wg
        >>> wg.eye(2).numpy()
        array([[1., 0.],
               [0., 1.]], dtype=float32)
    """
    a = xp.eye(
        int(num_rows), None if num_columns is None else int(num_columns), dtype=_dtype(dtype)
    )
    if batch_shape is not None:
        a = xp.broadcast_to(a, _shape(batch_shape) + a.shape).copy()
    return wrap(a, "eye")


def range_(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:
    """Numbers from ``start`` up to (not including) ``limit`` by ``delta`` (``wg.range``).

    Integers give int32, floats float32, as in TensorFlow.  A float range is counted
    in its own dtype, ceil(|(limit - start) / delta|) values, so it stops short of
    ``limit``; float arguments with an integer ``dtype`` are a TypeError.

    Example:
        >>> import wengert as wg
        >>> wg.range(5).numpy()
        array([0, 1, 2, 3, 4], dtype=int32)
        >>> wg.range(0.0, 1.0, 0.25).numpy()
        array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    if limit is None:
        start, limit = 0, start
    args = (start, limit, delta)
    if dtype is None:
        # TensorFlow's rule: the widest of the arguments' dtypes, Python numbers counting
        # as int32 or float32 (int32 < int64 < float32 < float64)
        order = [backend.int32, xp.dtype("int64"), backend.float32, xp.dtype("float64")]
        kinds = [
            v.dtype
            if isinstance(v, Tensor)
            else (backend.float32 if isinstance(v, float) else backend.int32)
            for v in args
        ]
        dtype = max(kinds, key=lambda d: order.index(d) if d in order else 0)
    dtype = backend.as_dtype(dtype)
    values = [v._value.item() if isinstance(v, Tensor) else v for v in args]
    start_v, limit_v, delta_v = values
    if delta_v == 0:
        raise ValueError("range: delta must not be zero")
    if (delta_v > 0 and start_v > limit_v) or (delta_v < 0 and start_v < limit_v):
        raise ValueError(
            f"range: start {start_v} cannot reach limit {limit_v} by delta {delta_v} "
            "(TensorFlow requires start <= limit when delta > 0, and >= when delta < 0)"
        )
    if dtype.kind not in "fc":
        if any(xp.asarray(v).dtype.kind in "fc" for v in values):  # TensorFlow: a TypeError
            raise TypeError(f"range: cannot make {dtype} values from {start_v, limit_v, delta_v}")
        return wrap(xp.arange(*values, dtype=dtype), "range")
    # TensorFlow counts in the output dtype, ceil(|(limit - start) / delta|), then takes
    # start + i * delta: NumPy's float64 count can give a value at or past a float32 limit.
    start_a, limit_a, delta_a = (xp.asarray(v, dtype) for v in values)
    n = int(xp.ceil(xp.abs((limit_a - start_a) / delta_a)))
    return wrap(start_a + xp.arange(n, dtype=dtype) * delta_a, "range")


def linspace(start, stop, num, name=None, axis=0) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (float32).

    Example:
        >>> import wengert as wg
        >>> wg.linspace(0.0, 1.0, 3).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """
    start = constant(start)
    stop = constant(stop)
    dtype = start.dtype if start.dtype.kind == "f" else backend.float32
    a = xp.linspace(start._value, stop._value, int(num), axis=axis).astype(dtype)
    return wrap(a, "linspace")


def one_hot(
    indices, depth, on_value=None, off_value=None, axis=-1, dtype=None, name=None
) -> Tensor:
    """One-hot encode integer ``indices`` into a new axis of size ``depth``.

    Example:
        >>> import wengert as wg
        >>> wg.one_hot([0, 2], 3).numpy()
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    idx = indices._value if isinstance(indices, Tensor) else xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got {idx.dtype}")
    axis = int(axis)
    if not -1 <= axis <= idx.ndim:
        raise ValueError(
            f"one_hot: axis must be -1 or in [0, {idx.ndim}] for indices of shape "
            f"{idx.shape}, got {axis}"
        )
    if dtype is None:  # TensorFlow: the dtype of on_value/off_value, else float32
        given = [v for v in (on_value, off_value) if v is not None]
        dtype = operand(given[0]).dtype if given else backend.float32
    dtype = backend.as_dtype(dtype)
    on = _scalar_of("one_hot: on_value", 1 if on_value is None else on_value, dtype)
    off = _scalar_of("one_hot: off_value", 0 if off_value is None else off_value, dtype)
    a = xp.where(idx[..., None] == xp.arange(int(depth)), on, off)
    if axis != -1:
        a = xp.moveaxis(a, -1, axis)
    return wrap(a, "one_hot")


def shape(input, out_type="int32", name=None) -> Tensor:
    """The shape of ``input`` as an integer tensor.

    Example:
        >>> import wengert as wg
        >>> wg.shape(wg.zeros((2, 3))).numpy()
        array([2, 3], dtype=int32)
    """
    return wrap(xp.asarray(operand(input).shape, dtype=backend.as_dtype(out_type)), "shape")


def size(input, out_type="int32", name=None) -> Tensor:
    """The number of elements of ``input`` as an integer tensor.

    Example:
        >>> import wengert as wg
        >>> int(wg.size(wg.zeros((2, 3))))
        6
    """
    return wrap(xp.asarray(operand(input).size, dtype=backend.as_dtype(out_type)), "size")


def rank(input, name=None) -> Tensor:
    """The number of dimensions of ``input`` as an int32 tensor.

    Example:
        >>> import wengert as wg
        >>> int(wg.rank(wg.zeros((2, 3))))
        2
    """
    return wrap(xp.asarray(operand(input).ndim, dtype="int32"), "rank")


def _getitem_method(self, key):
    return getitem(self, key)


_new = object.__new__


def _variable_getitem(self, key):
    # getitem, but the result is a VariableSlice, which can write back (v[1:3].assign(x)).
    # apply()'s few lines are inlined, as core.unary_op's are, so that a variable's read
    # makes one object, as a tensor's does.
    key, basic = _normalise_key(key)
    try:
        value = _getitem_impl(self._value, key, basic)
    except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
        raise op_error(getitem_p, (self,), exc) from exc
    out = _new(VariableSlice)
    out._value = value
    out._tid = 0
    out._origin = getitem_p
    out._variable = self
    out._key = key
    if core.recorders:
        params = {"key": key, "basic": basic}
        for r in core.recorders:
            r.record(getitem_p, (self,), out, params)
    return out


Tensor.__getitem__ = _getitem_method
Variable.__getitem__ = _variable_getitem
