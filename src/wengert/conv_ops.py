"""Convolution, pooling and batch-normalisation ops (``wg.nn.conv2d``, ``wg.nn.max_pool2d``, ...).

Every op works on NHWC arrays at its core; NCHW and the 1-D forms are
transposes and reshapes around it.  The primitives get their own rules for
speed (DESIGN.md): a convolution is im2col through a strided view plus one
GEMM, not a composite of thousands of small ops.  With few channels and narrow
images (LeNet's layers) im2col's GEMMs are too thin to run fast; there every
output row is instead the image rows it reads times a banded (Toeplitz) matrix
that holds the filters along the width, one GEMM for all rows (``_width_toeplitz``).
The 3x3 stride-1 convolutions of float32 networks with many channels (VGG's,
ResNet's) run as Winograd F(4x4, 3x3) instead: four times fewer multiplies, with
the tile transforms as GEMMs too (``_winograd_conv``).

Three convolution primitives are closed under differentiation, because a
convolution is bilinear in its input and its filters:

* ``conv2d(x, w)``: the forward convolution (cross-correlation, as in TensorFlow);
* ``conv2d_input_grad(g, w)``: its transpose in ``x``, i.e. the transposed
  convolution: a GEMM followed by col2im as kh*kw strided slice-adds (with stride
  1 and many channels, the forward's im2col + GEMM with flipped filters; with few
  channels and narrow images, one GEMM with the banded matrix and kh row adds);
* ``conv2d_filter_grad(x, g)``: its transpose in ``w``: im2col and a GEMM (or the
  banded matrix's gradient by one GEMM, summed along each band; or Winograd's
  transpose, from the forward pass's transformed tiles).

Each one's VJPs and JVPs are the other two (or itself), so higher-order
derivatives need no extra code.  ``conv2d_bias(x, w, b)`` is conv2d with the bias
added to each output block while it is in cache (the convolution layers use it).

Pooling has the same shape: ``max_pool2d`` with ``max_pool2d_grad`` (the cotangent
sent to each window's first maximum, as TensorFlow does) and ``max_pool2d_select``
(its transpose: pick the value at each window's maximum); ``avg_pool2d`` with
``avg_pool2d_grad``.

Parameters the primitives share: ``strides`` (sh, sw), ``dilations`` (dh, dw),
``padding`` ((top, bottom), (left, right)) and ``groups``.  Filters are laid
out (height, width, in_channels / groups, out_channels), TensorFlow's layout.

Large im2col buffers are formed one block of output rows at a time
(``_BLOCK_BYTES``), so the column buffer's memory stays bounded; every block is
still one large GEMM.  Padding is applied per block, in a scratch buffer, never to
the whole input.  Scratch buffers are reused between calls, and while a tape
records, the columns (or image rows) of small convolutions, and Winograd's
transformed tiles up to ``_WINOGRAD_CACHE_BYTES``, are kept for their filter
gradient (``_CACHED_COLUMNS``).
"""

from __future__ import annotations

import functools
import math
import threading

from . import core
from .array_ops import broadcast_to, cast, expand_dims, reshape, squeeze, transpose
from .backend import xp
from .core import apply, defjvp, defvjp, operand, primitive
from .math_ops import reduce_mean, reduce_sum, sqrt, square, zeros_like_op
from .saved import is_zero, saved_handle
from .tensor import Tensor, wrap

__all__ = [
    "conv1d",
    "conv2d",
    "conv1d_transpose",
    "conv2d_transpose",
    "depthwise_conv2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "moments",
    "batch_normalization",
    "bias_add",
    "conv_output_length",
    "same_padding",
]

_as_strided = xp.lib.stride_tricks.as_strided

# im2col blocks of about this many bytes: big enough for an efficient GEMM, small
# enough to bound memory.  (A 64->64 3x3 Conv2D on 32x56x56x64, forward and backward,
# took 147 ms with 8 MB blocks and 144 with 16 MB here; the peak grew by 16 MB.)
_BLOCK_BYTES = 16 << 20
# While a tape records, the columns of convolutions that fit in _CACHE_BYTES are kept
# (at most this many, most recent first) for the filter gradient, which needs the
# same columns: the backward pass then skips a second im2col.  Used columns'
# buffers are recycled, so at most twice this many stay allocated.  The limit
# trades memory for time: LeNet's first layer (one input channel) has columns 25
# times its input, whose copy is cheap to redo; its second layer's are kept.
_CACHED_COLUMNS = 2
_CACHE_BYTES = 4 << 20
# A filter gradient's GEMM with a long reduction and a small result (few channels)
# runs about twice as fast cut into chunks of this many rows (OpenBLAS, measured).
_LONG_K_ROWS = 4096
# Below this many bytes per pixel the column layout puts kernel offsets first:
# copies with inner runs of only C elements are slow, those of a whole row are not.
_NARROW_BYTES = 64
# With few channels, convolutions of images at most this many kernel widths wide run
# row by row as one GEMM with a banded (Toeplitz) matrix of at most _TOEPLITZ_BYTES,
# see _width_toeplitz (LeNet's layers: 1.3-1.7x faster than im2col, measured).
_TOEPLITZ_WIDTHS = 6
_TOEPLITZ_BYTES = 4 << 20

# Depthwise convolutions (one input channel per group) run tap by tap, as kh*kw
# elementwise multiply-adds over blocks of about this many bytes of output, which stay
# in the L2 cache between the passes: 3-9x faster than grouped im2col with one-column
# GEMMs (32x56x56x64, 3x3: 32/21/25 ms forward/filter/input gradient, against
# 102/106/229; blocks of 128 KB to 1 MB within 10 % of each other, 4 MB 1.5-2x slower).
_DEPTHWISE_BLOCK_BYTES = 256 << 10

_local = threading.local()


def _workspace(shape, dtype, slot=0):
    """A scratch array reused between calls (thread-local): no page faults per step.

    Only ever used inside one impl and never returned or saved.
    """
    nbytes = _nbytes(shape, dtype)
    key = f"buf{slot}"
    buf = getattr(_local, key, None)
    if buf is None or buf.nbytes < nbytes:
        buf = xp.empty(max(nbytes, 1 << 16), dtype=xp.uint8)
        setattr(_local, key, buf)
    return buf[:nbytes].view(dtype).reshape(shape)


def _take_keep() -> bool:
    """Whether this forward pass keeps its columns (or tiles) for the filter gradient: only
    the convolution that conv2d applies to filters a tape of this thread differentiates
    (the flag is cleared as it is read, so the convolutions that recorders run while
    recording it, a ForwardAccumulator's, keep nothing)."""
    keep = getattr(_local, "keep", False)
    _local.keep = False
    return keep


def _column_cache() -> list:
    cache = getattr(_local, "columns", None)
    if cache is None:
        cache = _local.columns = []
        _local.spare = []
    return cache


def _take_columns(x, key):
    """The columns a recorded forward pass formed from the very array ``x``, or None.

    The entry leaves the cache (its buffer becomes a spare for the next forward pass),
    so the columns stay valid only until the caller returns.
    """
    cache = _column_cache()
    for i, (owner, k, cols) in enumerate(cache):
        if owner is x and k == key:
            del cache[i]
            _local.spare.append(cols.base)
            _trim_spares(_local.spare)
            return cols
    return None


def _trim_spares(spare):
    """Keep at most _CACHED_COLUMNS spare buffers, the newest, and no more bytes of them
    than one entry of Winograd tiles may hold: what stays allocated between steps."""
    del spare[:-_CACHED_COLUMNS]
    while len(spare) > 1 and sum(b.nbytes for b in spare) > _WINOGRAD_CACHE_BYTES:
        del spare[0]


def _new_columns(shape, dtype):
    """A buffer for columns to be cached: a spare one when one is large enough."""
    cache = _column_cache()
    spare = _local.spare
    while len(cache) >= _CACHED_COLUMNS:
        spare.append(cache.pop()[2].base)  # least recent entry: never used, now a spare
    need = _nbytes(shape, dtype)
    fits = [i for i, b in enumerate(spare) if b.nbytes >= need]
    if fits:
        buf = spare.pop(min(fits, key=lambda i: spare[i].nbytes))  # the smallest that fits
    else:
        buf = xp.empty(need, dtype=xp.uint8)
    _trim_spares(spare)
    return buf[:need].view(dtype).reshape(shape)


def _nbytes(shape, dtype):
    size = xp.dtype(dtype).itemsize
    for s in shape:
        size *= s
    return size


def _cacheable(n, rows, row_bytes) -> bool:
    """Whether a convolution's columns are one block (see _blocks) small enough to keep."""
    return n * rows * row_bytes <= min(_BLOCK_BYTES, _CACHE_BYTES)


def _reduce_matmul(a, b, out=None):
    """``a @ b`` for a (k, rows) and b (rows, o): chunked along rows when they are many
    and k * o is small (see _LONG_K_ROWS)."""
    k, rows = a.shape
    if rows <= 4 * _LONG_K_ROWS or k * b.shape[1] > 4096:
        return xp.matmul(a, b, out=out)
    out = xp.matmul(a[:, :_LONG_K_ROWS], b[:_LONG_K_ROWS], out=out)
    part = xp.empty_like(out)
    for r0 in range(_LONG_K_ROWS, rows, _LONG_K_ROWS):
        out += xp.matmul(a[:, r0 : r0 + _LONG_K_ROWS], b[r0 : r0 + _LONG_K_ROWS], out=part)
    return out


# -- shapes and parameters ------------------------------------------------------------------


def conv_output_length(size: int, kernel: int, stride: int, dilation: int, pad: tuple) -> int:
    """The output length of a convolution or pooling window along one axis.

    Args:
        size: the input length.
        kernel: the window length.
        stride: the step between windows.
        dilation: the spacing of the window's taps.
        pad: (before, after) zeros added to the input.

    Returns:
        ``(size + before + after - dilation * (kernel - 1) - 1) // stride + 1``
        (0 or less when the window does not fit).

    Example:
        >>> from wengert.conv_ops import conv_output_length
        >>> conv_output_length(28, 5, 1, 1, (2, 2)), conv_output_length(7, 2, 2, 1, (0, 0))
        (28, 3)
    """
    span = size + pad[0] + pad[1] - dilation * (kernel - 1) - 1
    return span // stride + 1 if span >= 0 else 0


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple:
    """TensorFlow's "SAME" padding along one axis: (before, after), the extra one after.

    Args:
        size: the input length.
        kernel: the window length.
        stride: the step between windows.
        dilation: the spacing of the window's taps.

    Returns:
        ``(before, after)`` zeros that give ``ceil(size / stride)`` output positions.

    Example:
        >>> from wengert.conv_ops import same_padding
        >>> same_padding(28, 5, 1), same_padding(6, 2, 2), same_padding(5, 4, 1)
        ((2, 2), (0, 0), (1, 2))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return (total // 2, total - total // 2)


def _ints(value, n: int, what: str, op: str, data_format=None) -> tuple:
    """strides/dilations/ksize in TensorFlow's forms: an int, n ints, or n + 2 ints."""
    if isinstance(value, Tensor):
        value = value._value.tolist()
    if isinstance(value, (int,)) or (hasattr(value, "__index__") and not hasattr(value, "__len__")):
        vals = (int(value),) * n
    else:
        vals = tuple(int(v) for v in value)
        if len(vals) == 1:
            vals = vals * n
        elif len(vals) == n + 2:
            channels_first = data_format is not None and data_format.startswith("NC")
            outer = (vals[0], vals[1]) if channels_first else (vals[0], vals[-1])
            if outer != (1, 1):
                raise ValueError(
                    f"{op}: {what} {list(vals)} must be 1 in the batch and channel "
                    f"dimensions ({data_format})"
                )
            vals = vals[2:] if channels_first else vals[1:-1]
        elif len(vals) != n:
            raise ValueError(f"{op}: {what} must be an int or a list of 1, {n} or {n + 2} ints")
    if any(v <= 0 for v in vals):
        raise ValueError(f"{op}: {what} must be positive, got {list(vals)}")
    return vals


def _padding(padding, sizes, kernels, strides, dilations, op, data_format) -> tuple:
    """Padding "SAME", "VALID" or explicit pairs -> ((before, after), ...) for the spatial axes."""
    n = len(sizes)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0),) * n
        if mode == "SAME":
            return tuple(
                same_padding(s, k, st, d) for s, k, st, d in zip(sizes, kernels, strides, dilations)
            )
        raise ValueError(
            f"{op}: padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}"
        )
    try:
        pairs = tuple((int(a), int(b)) for a, b in padding)
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: explicit padding must be a list of [before, after] pairs, got {padding!r}"
        ) from None
    if len(pairs) == n + 2:
        channels_first = data_format is not None and data_format.startswith("NC")
        outer = (pairs[0], pairs[1]) if channels_first else (pairs[0], pairs[-1])
        if outer != ((0, 0), (0, 0)):
            raise ValueError(
                f"{op}: explicit padding {[list(p) for p in pairs]} must be [0, 0] in the "
                f"batch and channel dimensions ({data_format})"
            )
        pairs = pairs[2:] if channels_first else pairs[1:-1]
    if len(pairs) != n or any(a < 0 or b < 0 for a, b in pairs):
        raise ValueError(
            f"{op}: explicit padding needs {n} (or {n + 2}) non-negative [before, after] pairs, "
            f"got {padding!r}"
        )
    return pairs


def _float_pair(op, x, w, xname="input", wname="filters"):
    x = operand(x)
    w = operand(w, x._value.dtype if isinstance(w, (list, tuple, float, int)) else None)
    if x._value.dtype.kind != "f" or w._value.dtype.kind != "f":
        raise TypeError(
            f"{op}: {xname} and {wname} must be floating point, got {x.dtype}{list(x.shape)} "
            f"and {w.dtype}{list(w.shape)}"
        )
    if x._value.dtype != w._value.dtype:
        raise TypeError(
            f"{op}: {xname} and {wname} dtypes differ: {x.dtype}{list(x.shape)} and "
            f"{w.dtype}{list(w.shape)}; cast one with wg.cast"
        )
    return x, w


def _check_format(op, data_format, options):
    if data_format not in options:
        raise ValueError(f"{op}: data_format must be one of {options}, got {data_format!r}")
    return data_format


# -- im2col machinery --------------------------------------------------------------------------


def _blocks(n: int, rows: int, row_bytes: int, block_bytes: int = _BLOCK_BYTES):
    """(batch slice, output-row slice) blocks of about block_bytes of columns each.

    A block is either several whole images or a band of rows of one image, so
    that the matching block of an NHWC output is contiguous.
    """
    per_image = rows * row_bytes
    if per_image <= block_bytes:
        step = max(1, block_bytes // max(per_image, 1))
        for n0 in range(0, n, step):
            yield slice(n0, min(n, n0 + step)), slice(0, rows)
    else:
        step = max(1, block_bytes // row_bytes)
        for i in range(n):
            for h0 in range(0, rows, step):
                yield slice(i, i + 1), slice(h0, min(rows, h0 + step))


def _pad_nhwc(x, padding, value=0):
    (pt, pb), (pl, pr) = padding
    if not (pt or pb or pl or pr):
        return x
    n, h, w, c = x.shape
    out = xp.empty((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    # Only the border is filled: writing zeros everywhere first would touch every byte twice.
    out[:, :pt] = value
    out[:, pt + h :] = value
    out[:, pt : pt + h, :pl] = value
    out[:, pt : pt + h, pl + w :] = value
    out[:, pt : pt + h, pl : pl + w] = x
    return out


def _windows(a, kh, kw, ho, wo, strides, dilations):
    """The (N, Ho, Wo, kh, kw, C) view of every window of a padded NHWC array: no copy."""
    sn, sh_, sw_, sc = a.strides
    (sh, sw), (dh, dw) = strides, dilations
    return _as_strided(
        a,
        (a.shape[0], ho, wo, kh, kw, a.shape[3]),
        (sn, sh_ * sh, sw_ * sw, sh_ * dh, sw_ * dw, sc),
        writeable=False,
    )


def _out_size(op, shape, kernel, strides, dilations, padding):
    ho = conv_output_length(shape[1], kernel[0], strides[0], dilations[0], padding[0])
    wo = conv_output_length(shape[2], kernel[1], strides[1], dilations[1], padding[1])
    if ho <= 0 or wo <= 0:
        eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilations))
        padded = (shape[1] + sum(padding[0]), shape[2] + sum(padding[1]))
        raise ValueError(
            f"{op}: the window {tuple(kernel)} (dilated to {eff}) is larger than the padded "
            f"input {padded} (input shape {tuple(shape)}, padding {padding})"
        )
    return ho, wo


def _offset_major(c, kw, dw, itemsize):
    """Whether to lay columns out offsets-first: when the window's rows are short runs."""
    return c * (kw if dw == 1 else 1) * itemsize < _NARROW_BYTES


def _grouped_filters(w, groups):
    """(kh, kw, Cg, G*Og) -> (G, kh*kw*Cg, Og)."""
    kh, kw, cg, o = w.shape
    og = o // groups
    return w.reshape(kh, kw, cg, groups, og).transpose(3, 0, 1, 2, 4).reshape(groups, -1, og)


def _window_blocks(x, kernel, strides, dilations, padding, ho, wo, row_bytes):
    """Yield (batch slice, output-row slice, windows) for each block of output rows.

    ``windows`` is the (images, rows, wo, kh, kw, C) view of the block's input band,
    zero-padded in a scratch buffer only where the band reaches into the padding:
    the padded input is never formed whole.
    """
    n, h, w, c = x.shape
    kh, kw = kernel
    (sh, sw), (dh, dw) = strides, dilations
    (pt, _), (pl, _) = padding
    c1 = (wo - 1) * sw + dw * (kw - 1) + 1 - pl  # one past the last input column read
    for bn, bh in _blocks(n, ho, row_bytes):
        r0 = bh.start * sh - pt  # first input row the block reads (< 0 in the padding)
        r1 = (bh.stop - 1) * sh + dh * (kh - 1) + 1 - pt  # one past the last
        if r0 >= 0 and r1 <= h and pl == 0 and c1 <= w:
            band = x[bn, r0:r1]
        else:
            band = _workspace((bn.stop - bn.start, r1 - r0, c1 + pl, c), x.dtype, slot=2)
            lo, hi = max(r0, 0), min(r1, h)  # the real input rows in the band
            cols = max(0, min(w, c1))  # and columns
            if hi <= lo or cols == 0:
                band[...] = 0
            else:
                # Zero only the border, then copy the interior: each byte written once.
                top = lo - r0
                rows = slice(top, top + hi - lo)
                band[:, :top] = 0
                band[:, top + hi - lo :] = 0
                band[:, rows, :pl] = 0
                band[:, rows, pl + cols :] = 0
                band[:, rows, pl : pl + cols] = x[bn, lo:hi, :cols]
        yield bn, bh, _windows(band, kh, kw, bh.stop - bh.start, wo, strides, dilations)


# -- depthwise: one input channel per group ---------------------------------------------------
# Output channel c * m + j is input channel c convolved with filter (.., 0, c * m + j).  The
# work is laid out (..., m, C) so that every pass runs along whole rows of channels.


def _depthwise_row_bytes(wo, c, m, item):
    """row_bytes for _blocks / _window_blocks that gives blocks of _DEPTHWISE_BLOCK_BYTES."""
    return wo * c * m * item * max(1, _BLOCK_BYTES // _DEPTHWISE_BLOCK_BYTES)


def _depthwise_taps(w, c):
    """(kh, kw, m, C) view of (kh, kw, 1, C * m) depthwise filters."""
    kh, kw, _, o = w.shape
    return w.reshape(kh, kw, c, o // c).transpose(0, 1, 3, 2)


def _depthwise_impl(x, w, strides, dilations, padding, ho, wo, bias):
    n, _, _, c = x.shape
    kh, kw, _, o = w.shape
    m = o // c
    dtype = xp.result_type(x.dtype, w.dtype)
    out = xp.empty((n, ho, wo, c, m), dtype=dtype)
    if out.size == 0:
        return out.reshape(n, ho, wo, o)
    taps = _depthwise_taps(w, c)
    row_bytes = _depthwise_row_bytes(wo, c, m, x.itemsize)
    for bn, bh, v in _window_blocks(x, (kh, kw), strides, dilations, padding, ho, wo, row_bytes):
        shape = (bn.stop - bn.start, bh.stop - bh.start, wo, m, c)
        acc = out[bn, bh].reshape(shape) if m == 1 else _workspace(shape, dtype)
        tmp = _workspace(shape, dtype, slot=1)
        for i in range(kh):
            for j in range(kw):
                tap = v[:, :, :, i, j, None, :]
                if i == j == 0:
                    xp.multiply(tap, taps[0, 0], out=acc)
                else:
                    xp.multiply(tap, taps[i, j], out=tmp)
                    acc += tmp
        if m > 1:
            xp.copyto(out[bn, bh], acc.transpose(0, 1, 2, 4, 3))
        if bias is not None:
            _add_bias_rows(out[bn, bh].reshape(shape[:3] + (o,)), bias)
    return out.reshape(n, ho, wo, o)


def _depthwise_filter_grad(x, g, kernel_size, strides, dilations, padding):
    n, _, _, c = x.shape
    kh, kw = kernel_size
    _, ho, wo, o = g.shape
    m = o // c
    dtype = xp.result_type(x.dtype, g.dtype)
    grad = xp.zeros((kh, kw, m, c), dtype=dtype)
    by_channel = g.reshape(n, ho, wo, c, m).transpose(0, 1, 2, 4, 3)  # (n, ho, wo, m, C)
    row_bytes = _depthwise_row_bytes(wo, c, m, x.itemsize)
    for bn, bh, v in _window_blocks(x, (kh, kw), strides, dilations, padding, ho, wo, row_bytes):
        gb = by_channel[bn, bh]
        if m > 1:  # contiguous rows of channels for the passes below
            contiguous = _workspace(gb.shape, dtype)
            xp.copyto(contiguous, gb)
            gb = contiguous
        tmp = _workspace(gb.shape, dtype, slot=1)
        rows = tmp.size // (m * c)
        ones = xp.ones(rows, dtype=dtype)  # sums over pixels as BLAS products (see _sum_impl)
        for i in range(kh):
            for j in range(kw):
                xp.multiply(v[:, :, :, i, j, None, :], gb, out=tmp)
                grad[i, j] += (ones @ tmp.reshape(rows, m * c)).reshape(m, c)
    return xp.ascontiguousarray(grad.transpose(0, 1, 3, 2)).reshape(kh, kw, 1, o)


def _depthwise_input_grad(g, w, input_size, strides, dilations, padding, c):
    n, ho, wo, o = g.shape
    kh, kw = w.shape[:2]
    m = o // c
    dtype = xp.result_type(g.dtype, w.dtype)
    dx = xp.zeros((n,) + tuple(input_size) + (c,), dtype=dtype)
    if dx.size == 0 or g.size == 0:
        return dx
    taps = _depthwise_taps(w, c)
    by_channel = g.reshape(n, ho, wo, c, m).transpose(0, 1, 2, 4, 3)  # (n, ho, wo, m, C)
    for bn, bh in _blocks(n, ho, _depthwise_row_bytes(wo, c, m, g.itemsize)):
        gb = by_channel[bn, bh]
        tmp = _workspace(gb.shape[:3] + (c,), dtype, slot=1)

        def tap(i, j, gb=gb, tmp=tmp):  # sum over the m filters of channel c
            xp.multiply(gb[:, :, :, 0], taps[i, j, 0], out=tmp)
            for k in range(1, m):
                tmp += gb[:, :, :, k] * taps[i, j, k]
            return tmp

        _col2im_add(dx, tap, bn, bh, wo, (kh, kw), strides, dilations, padding)
    return dx


# -- Winograd F(4x4, 3x3): 3x3 stride-1 convolutions with 4x fewer multiplies ----------------
# Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016).  Each 4x4
# tile of output is A^T [(G w G^T) * (B^T d B)] A, where d is the 6x6 input tile that
# the tile reads and * multiplies elementwise in the 36 points of "tile space"; summed
# over input channels, that product is 36 GEMMs (tiles x C) @ (C x O) -- 36 multiplies
# per 16 outputs instead of 9 per output.  In NumPy the transforms are GEMMs too, with
# the Kronecker products below (36 x 36 and 16 x 36), so every pass is one BLAS call
# over a block of tiles.  32x56x56x64, 64->64 here: forward 46 -> 32 ms, input gradient
# 45 -> 32, filter gradient 48 -> 43 (25 from the forward's kept tiles); with the fused
# backward pass (_winograd_backward) a training step of the layer 141 -> 90-97 ms.
# Float32 only: the transforms' coefficients (up to
# 8 and 1/24) cost about one decimal digit (relative error ~1e-5 of the output's scale
# against 1e-6 for im2col, measured); float64 keeps im2col's exact sums.
_WINOGRAD_BT = (
    (4, 0, -5, 0, 1, 0),
    (0, -4, -4, 1, 1, 0),
    (0, 4, -4, -1, 1, 0),
    (0, -2, -1, 2, 1, 0),
    (0, 2, -1, -2, 1, 0),
    (0, 4, 0, -5, 0, 1),
)
_WINOGRAD_G = (
    (1 / 4, 0, 0),
    (-1 / 6, -1 / 6, -1 / 6),
    (-1 / 6, 1 / 6, -1 / 6),
    (1 / 24, 1 / 12, 1 / 6),
    (1 / 24, -1 / 12, 1 / 6),
    (0, 0, 1),
)
_WINOGRAD_AT = ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0), (0, 1, -1, 8, -8, 1))
# When Winograd wins (measured against im2col, forward and both gradients): its GEMMs
# have only C and O as inner sizes, so it needs at least _WINOGRAD_MIN_CHANNELS input
# channels (16 -> 32 ran 10 % slower) and 16 output channels; and its filters in tile
# space are four times the filters, read once per block of tiles, so it needs at least
# max(C, O) / 2 tiles (4x14x14, 256 -> 256: 64 tiles, 10 % slower; 8x14x14: 128 tiles,
# 10 % faster).  Where it runs, 10-36 % less time (forward and gradients, measured).
_WINOGRAD_MIN_CHANNELS = 32
# Whole 4x4 tiles are computed even where they reach past the output: at least this
# share of them must be output (64x7x7: 0.77 of the tiles, 10 % faster; 64x6x6, 0.56:
# 9 % slower; 32x10x10, 0.69: even).
_WINOGRAD_MIN_USE = 0.65
# Tiles per block: the block's tiles in tile space (36 x tiles x max(C, O)) in about this
# many bytes.
_WINOGRAD_BLOCK_BYTES = 8 << 20
# While a tape records, a convolution's transformed tiles (2.25 times its input) are kept
# for its filter gradient when at most this large, as im2col keeps small columns (the
# cache holds the most recent _CACHED_COLUMNS): 32x56x56x64's 58 MB save 15 of 119 ms.
_WINOGRAD_CACHE_BYTES = 64 << 20
_winograd_dtypes = {xp.dtype(xp.float32)}
# Scratch (_workspace slots), each reused once the GEMM that reads it has run:
#   slot 0: the gathered 6x6 tiles d, then M = V U (forward) or A g A^T (backward),
#           then the backward's 6x6 input tiles;
#   slot 1: V (unless kept whole), then the output tiles (forward) or (A g A^T) U^T;
#   slot 3: the cotangent's 4x4 tiles (backward) or a block of output tiles to crop.
# Set to False for im2col everywhere (float32 results then as close as im2col's).
use_winograd = True


def _winograd_ok(n, ho, wo, w_shape, strides, dilations, groups, dtype) -> bool:
    """Whether conv2d with these output sizes and filters runs as Winograd F(4x4, 3x3)."""
    kh, kw, c, o = w_shape
    th, tw = -(-ho // 4), -(-wo // 4)
    tiles = n * th * tw
    return (
        use_winograd
        and ho * wo >= _WINOGRAD_MIN_USE * 16 * th * tw
        and (kh, kw) == (3, 3)
        and strides == (1, 1)
        and dilations == (1, 1)
        and groups == 1
        and xp.dtype(dtype) in _winograd_dtypes
        and c >= _WINOGRAD_MIN_CHANNELS
        and o >= 16
        and 2 * tiles >= max(c, o)
    )


@functools.cache
def _winograd_matrices(dtype):
    """kron(B^T, B^T) (36, 36), kron(A^T, A^T) (16, 36) and its transpose: the 2-D
    transforms as GEMMs; kron(G, G) (36, 9), U = G w G^T for each (c, o); and
    kron(B^T, B^T)'s transpose."""
    bt = xp.asarray(_WINOGRAD_BT, dtype=xp.float64)
    at = xp.asarray(_WINOGRAD_AT, dtype=xp.float64)
    g = xp.asarray(_WINOGRAD_G, dtype=xp.float64)
    kb, ka, kg = (xp.kron(m, m).astype(dtype) for m in (bt, at, g))
    return kb, ka, xp.ascontiguousarray(ka.T), kg, xp.ascontiguousarray(kb.T)


def _kept_block(kept, th, tw, bn, bt):
    """The block (images bn, tile rows bt) of V kept whole, (36, n * th * tw, C)."""
    t0 = (bn.start * th + bt.start) * tw  # the block's first tile, in (n, th, tw) order
    return kept[:, t0 : t0 + (bn.stop - bn.start) * (bt.stop - bt.start) * tw]


def _tile_spans(size, pad, t0, t1):
    """For the 6 taps along one axis of the tiles t0 <= t < t1 (tap k of tile t reads
    input 4 t + k - pad): runs [k0, k1) of taps with the same tiles [a, b) inside the
    input, as [k0, k1, a, b] (usually three: the first tap, the middle ones, the last)."""
    spans = []
    for k in range(6):
        a = min(max(t0, -((k - pad) // 4)), t1)  # ceil((pad - k) / 4)
        b = min(max(a, (size - 1 + pad - k) // 4 + 1), t1)
        if spans and spans[-1][2:] == [a, b]:
            spans[-1][1] = k + 1
        else:
            spans.append([k, k + 1, a, b])
    return spans


def _winograd_v(x, padding, tw, bn, bt, v=None):
    """V (36, tiles, C) = B^T d B for every 6x6 input tile d of one block of output tiles
    (images ``bn``, tile rows ``bt``): one GEMM, into ``v`` or scratch.

    The tiles d are gathered straight from x, zero where they reach into the padding or
    past the input: one strided copy per run of taps with the same tiles inside (see
    _tile_spans), never a padded copy of x.
    """
    n, h, wd, c = x.shape
    (pt, _), (pl, _) = padding
    nb, tb = bn.stop - bn.start, bt.stop - bt.start
    if v is None:
        v = _workspace((36, nb * tb * tw, c), x.dtype, slot=1)
    d = _workspace((6, 6, nb, tb, tw, c), x.dtype)
    sn, sh, sw, sc = x.strides
    for i0, i1, a, b in _tile_spans(h, pt, bt.start, bt.stop):
        rows = d[i0:i1]
        a, b = a - bt.start, b - bt.start
        rows[:, :, :, :a] = 0
        rows[:, :, :, b:] = 0
        for j0, j1, e, f in _tile_spans(wd, pl, 0, tw):
            dst = rows[:, j0:j1, :, a:b]
            dst[:, :, :, :, :e] = 0
            dst[:, :, :, :, f:] = 0
            if a < b and e < f:
                first = x[bn.start, 4 * (bt.start + a) + i0 - pt, 4 * e + j0 - pl :]
                src = _as_strided(
                    first,
                    (i1 - i0, j1 - j0, nb, b - a, f - e, c),
                    (sh, sw, sn, 4 * sh, 4 * sw, sc),
                    writeable=False,
                )
                dst[:, :, :, :, e:f] = src
    kb = _winograd_matrices(x.dtype)[0]
    xp.matmul(kb, d.reshape(36, -1), out=v.reshape(36, -1))
    return v


def _winograd_blocks(n, ho, wo, c, o, dtype) -> list:
    """(images, tile rows) blocks of about _WINOGRAD_BLOCK_BYTES of tiles in tile space
    (36 x tiles x channels, of the input or the output, whichever has more)."""
    th, tw = -(-ho // 4), -(-wo // 4)
    row_bytes = tw * 36 * max(c, o) * xp.dtype(dtype).itemsize
    return list(_blocks(n, th, row_bytes, _WINOGRAD_BLOCK_BYTES))


def _winograd_key(padding, dtype):
    return ("winograd", padding, xp.dtype(dtype).str)


def _winograd_conv(x, w, padding, ho, wo, bias, keep=False):
    """conv2d of NHWC x with (3, 3, C, O) filters, stride 1, by Winograd F(4x4, 3x3)."""
    n, c, o = x.shape[0], x.shape[3], w.shape[3]
    dtype = x.dtype
    _, ka, _, kg, _ = _winograd_matrices(dtype)
    u = (kg @ w.reshape(9, -1)).reshape(36, c, o)
    out = xp.empty((n, ho, wo, o), dtype=dtype)
    th, tw = -(-ho // 4), -(-wo // 4)
    # Recorded: keep the transformed tiles for the filter gradient, which needs them too.
    kept = None
    if keep and _nbytes((36, n * th * tw, c), dtype) <= _WINOGRAD_CACHE_BYTES:
        kept = _new_columns((36, n * th * tw, c), dtype)

    for bn, bt in _winograd_blocks(n, ho, wo, c, o, dtype):
        nb, tb = bn.stop - bn.start, bt.stop - bt.start
        v = None if kept is None else _kept_block(kept, th, tw, bn, bt)
        v = _winograd_v(x, padding, tw, bn, bt, v)
        m = _workspace((36, v.shape[1], o), dtype)  # the tiles' scratch is free again
        xp.matmul(v, u, out=m)
        y = _workspace((16, v.shape[1], o), dtype, slot=1)  # and so is V's
        xp.matmul(ka, m.reshape(36, -1), out=y.reshape(16, -1))
        if bias is not None:
            y += bias
        tiles = y.reshape(4, 4, nb, tb, tw, o).transpose(2, 3, 0, 4, 1, 5)
        r0, r1 = 4 * bt.start, min(4 * bt.stop, ho)
        if r1 - r0 == 4 * tb and wo == 4 * tw:
            # a view: the block is whole images or rows of one, contiguous in out
            out[bn, r0:r1].reshape(nb, tb, 4, tw, 4, o)[...] = tiles
        else:  # the last tiles reach past the output: place them whole, then crop
            full = _workspace((nb, tb, 4, tw, 4, o), dtype, slot=3)
            full[...] = tiles
            out[bn, r0:r1] = full.reshape(nb, 4 * tb, 4 * tw, o)[:, : r1 - r0, :wo]
    if kept is not None:
        _column_cache().insert(0, (x, _winograd_key(padding, dtype), kept))
    return out


def _winograd_filter_grad(x, g, padding):
    """conv2d_filter_grad for (3, 3) filters, stride 1: sum over tiles of
    V^T (A g A^T) in tile space, then G^T . G (the transpose of the forward's chain)."""
    n, ho, wo, o = g.shape
    c = x.shape[3]
    dtype = x.dtype
    _, _, kat, kg, _ = _winograd_matrices(dtype)
    th, tw = -(-ho // 4), -(-wo // 4)
    kept = _take_columns(x, _winograd_key(padding, dtype))

    du = xp.zeros((36, c, o), dtype=dtype)
    part = xp.empty((36, c, o), dtype=dtype)
    for bn, bt in _winograd_blocks(n, ho, wo, c, o, dtype):
        nb, tb = bn.stop - bn.start, bt.stop - bt.start
        if kept is None:
            v = _winograd_v(x, padding, tw, bn, bt)
        else:
            v = _kept_block(kept, th, tw, bn, bt)
        r0, r1 = 4 * bt.start, min(4 * bt.stop, ho)
        gb = g[bn, r0:r1]
        if r1 - r0 < 4 * tb or wo < 4 * tw:  # zeros past the output's edge
            gb = _pad_nhwc(gb, ((0, 4 * tb - (r1 - r0)), (0, 4 * tw - wo)))
        gt = _workspace((4, 4, nb, tb, tw, o), dtype, slot=3)
        xp.copyto(gt, gb.reshape(nb, tb, 4, tw, 4, o).transpose(2, 4, 0, 1, 3, 5))
        dm = _workspace((36, v.shape[1], o), dtype)  # the tiles' scratch is free again
        xp.matmul(kat, gt.reshape(16, -1), out=dm.reshape(36, -1))
        xp.matmul(v.transpose(0, 2, 1), dm, out=part)
        du += part
    return (kg.T @ du.reshape(36, -1)).reshape(3, 3, c, o)


def _winograd_g_tiles(g, bn, bt, tw):
    """The 4x4 tiles of the cotangent for one block, (16, tiles, O), zero past its edge."""
    _, ho, wo, o = g.shape
    nb, tb = bn.stop - bn.start, bt.stop - bt.start
    r0, r1 = 4 * bt.start, min(4 * bt.stop, ho)
    gb = g[bn, r0:r1]
    if r1 - r0 < 4 * tb or wo < 4 * tw:
        gb = _pad_nhwc(gb, ((0, 4 * tb - (r1 - r0)), (0, 4 * tw - wo)))
    gt = _workspace((4, 4, nb, tb, tw, o), g.dtype, slot=3)
    xp.copyto(gt, gb.reshape(nb, tb, 4, tw, 4, o).transpose(2, 4, 0, 1, 3, 5))
    return gt.reshape(16, nb * tb * tw, o)


def _pieces(spans):
    """Split runs of taps into pieces of at most 4: within one, no two (tile, tap) pairs
    land on the same input position (tap k of tile t lands on 4 t + k - pad)."""
    for k0, k1, a, b in spans:
        for p0 in range(k0, k1, 4):
            yield p0, min(p0 + 4, k1), a, b


def _centre_taps(size, pad, tiles):
    """The piece of 4 taps of tiles 0 .. tiles - 1 that lands on 0 .. size - 1 exactly
    once (k0, k0 + 4, a, b), or None."""
    for k0, k1, a, b in _pieces(_tile_spans(size, pad, 0, tiles)):
        if k1 - k0 == 4 and 4 * a + k0 - pad == 0 and 4 * b + k0 - pad == size:
            return k0, k1, a, b
    return None


def _winograd_scatter_add(dx, dd, padding, bn, bt, tw):
    """dx[bn] += the 6x6 tiles dd (6, 6, images, tile rows, tw, C) where they land inside
    the input: the transpose of _winograd_v's gather, one strided add per piece of taps."""
    n, h, wd, c = dx.shape
    (pt, _), (pl, _) = padding
    nb = bn.stop - bn.start
    sn, sh, sw, sc = dx.strides
    for i0, i1, a, b in _pieces(_tile_spans(h, pt, bt.start, bt.stop)):
        for j0, j1, e, f in _pieces(_tile_spans(wd, pl, 0, tw)):
            if a < b and e < f:
                start = dx[bn.start, 4 * a + i0 - pt, 4 * e + j0 - pl :]
                shape = (i1 - i0, j1 - j0, nb, b - a, f - e, c)
                dst = _as_strided(start, shape, (sh, sw, sn, 4 * sh, 4 * sw, sc))
                dst += dd[i0:i1, j0:j1, :, a - bt.start : b - bt.start, e:f]


def _winograd_fold_assign(dx, dd, padding, bn, centre):
    """dx[bn] = the 6x6 tiles dd (6, 6, images, th, tw, C) of whole images where they land,
    when the ``centre`` piece of taps covers them exactly once (see _centre_taps): every
    other tap lands where a centre tap of a neighbouring tile does, so it is first added
    to that tap in dd (contiguous slices, in cache), then the centre is assigned."""
    _, h, wd, c = dx.shape
    (pt, _), (pl, _) = padding
    (r0, _, ra, rb), (c0, _, ca, cb) = centre
    th, tw = dd.shape[3], dd.shape[4]
    for axis, k0, a, b, count in ((3, r0, ra, rb, th), (4, c0, ca, cb, tw)):
        # along rows, every column tap; then along columns, only the centre rows
        part = dd if axis == 3 else dd[r0 : r0 + 4]
        for k in list(range(k0)) + list(range(k0 + 4, 6)):
            q = (k - k0) // 4  # tap k of tile t is tap k - 4 q of tile t + q
            lo, hi = max(0, a - q), min(count, b - q)
            if lo >= hi:
                continue
            src = [slice(None)] * 6
            dst = [slice(None)] * 6
            src[0 if axis == 3 else 1] = k
            dst[0 if axis == 3 else 1] = k - 4 * q
            src[axis] = slice(lo, hi)
            dst[axis] = slice(lo + q, hi + q)
            part[tuple(dst)] += part[tuple(src)]
    sn, sh, sw, sc = dx.strides
    start = dx[bn.start, 4 * ra + r0 - pt, 4 * ca + c0 - pl :]
    shape = (4, 4, bn.stop - bn.start, rb - ra, cb - ca, c)
    dst = _as_strided(start, shape, (sh, sw, sn, 4 * sh, 4 * sw, sc))
    dst[...] = dd[r0 : r0 + 4, c0 : c0 + 4, :, ra:rb, ca:cb]


def _winograd_backward(x, w, g, padding, want):
    """The input's, the filters' and the bias's gradients of a Winograd convolution at once
    (``want``: three flags), sharing the cotangent's tiles in tile space, A g A^T: the
    filter gradient sums V^T (A g A^T) over tiles, and the input gradient is the forward
    pass transposed: (A g A^T) U^T taken back by B and scattered onto the input's tiles.
    One pass over g serves all three (32x56x56x64, 64->64: 60 -> 52 ms, measured)."""
    n, ho, wo, o = g.shape
    c = x.shape[3]
    dtype = x.dtype
    want_x, want_w, want_b = want
    _, _, kat, kg, kbt = _winograd_matrices(dtype)
    th, tw = -(-ho // 4), -(-wo // 4)
    # taken even when not needed: nothing else will use them.  (Its buffer becomes a spare
    # that only a later forward pass of this thread reuses: valid for this whole call.)
    kept = _take_columns(x, _winograd_key(padding, dtype))
    blocks = _winograd_blocks(n, ho, wo, c, o, dtype)
    centre = None
    if want_x:
        ut = (kg @ w.reshape(9, -1)).reshape(36, c, o).transpose(0, 2, 1)  # U^T: (36, O, C)
        if all(bt.stop - bt.start == th for _, bt in blocks):  # whole images
            rows = _centre_taps(x.shape[1], padding[0][0], th)
            cols = _centre_taps(x.shape[2], padding[1][0], tw)
            centre = None if rows is None or cols is None else (rows, cols)
        dx = (xp.zeros if centre is None else xp.empty)(x.shape, dtype=dtype)
    if want_w:
        du = xp.zeros((36, c, o), dtype=dtype)
        part = xp.empty((36, c, o), dtype=dtype)
    db = xp.zeros(o, dtype=dtype) if want_b else None
    for bn, bt in blocks:
        nb, tb = bn.stop - bn.start, bt.stop - bt.start
        if want_w:  # V first: its gather uses the scratch that dm takes next
            v = _winograd_v(x, padding, tw, bn, bt) if kept is None else None
            v = _kept_block(kept, th, tw, bn, bt) if v is None else v
        gt = _winograd_g_tiles(g, bn, bt, tw)
        if want_b:  # a GEMV: 2.5x faster than sum(axis=0) over (16 tiles, O) rows
            db += xp.ones(gt.shape[0] * gt.shape[1], dtype=dtype) @ gt.reshape(-1, o)
        if not (want_x or want_w):
            continue
        dm = _workspace((36, gt.shape[1], o), dtype)  # A g A^T
        xp.matmul(kat, gt.reshape(16, -1), out=dm.reshape(36, -1))
        if want_w:
            xp.matmul(v.transpose(0, 2, 1), dm, out=part)
            du += part
        if want_x:
            dv = _workspace((36, gt.shape[1], c), dtype, slot=1)  # V's scratch is free
            xp.matmul(dm, ut, out=dv)
            dd = _workspace((6, 6, nb, tb, tw, c), dtype)  # and so is dm's
            xp.matmul(kbt, dv.reshape(36, -1), out=dd.reshape(36, -1))
            if centre is None:
                _winograd_scatter_add(dx, dd, padding, bn, bt, tw)
            else:
                _winograd_fold_assign(dx, dd, padding, bn, centre)
    dw = (kg.T @ du.reshape(36, -1)).reshape(3, 3, c, o) if want_w else None
    return (dx if want_x else None), dw, db


def _conv2d_impl(x, w, strides, dilations, padding, groups, bias=None):
    keep = _take_keep()
    n, h, wd, c = x.shape
    kh, kw, cg, o = w.shape
    ho, wo = _out_size("conv2d", x.shape, (kh, kw), strides, dilations, padding)
    dtype = xp.result_type(x.dtype, w.dtype)
    if groups == 1 and kh == kw == 1 and strides == (1, 1) and padding == ((0, 0), (0, 0)):
        out = xp.matmul(x.reshape(-1, c), w.reshape(c, o)).reshape(n, ho, wo, o)
        if bias is not None:
            _add_bias_rows(out, bias)
        return out
    if groups == 1 and _by_rows(c, wd, (kh, kw), (wo, o), x.itemsize):
        return _conv2d_by_rows(x, w, strides, dilations, padding, ho, wo, bias, keep)
    if groups > 1 and cg == 1:
        return _depthwise_impl(x, w, strides, dilations, padding, ho, wo, bias)
    if x.dtype == w.dtype and _winograd_ok(n, ho, wo, w.shape, strides, dilations, groups, dtype):
        return _winograd_conv(x, w, padding, ho, wo, bias, keep)
    out = xp.empty((n, ho, wo, o), dtype=dtype)
    if out.size == 0:
        return out
    item = x.itemsize
    k = kh * kw * cg
    row_bytes = wo * k * groups * item
    blocks = _window_blocks(x, (kh, kw), strides, dilations, padding, ho, wo, row_bytes)
    if groups == 1:
        w2 = w.reshape(k, o)
        narrow = _offset_major(c, kw, dilations[1], item)
        # Recorded and small: keep the columns for the filter gradient.
        key = (kh, kw, strides, dilations, padding, narrow)
        keep = keep and _cacheable(n, ho, row_bytes)
        for bn, bh, v in blocks:
            rows = v.shape[0] * v.shape[1] * wo
            dst = out[bn, bh].reshape(rows, o)
            if narrow:
                # columns transposed, (kh, kw, C, rows): each copy runs along a whole image row
                shape = (kh, kw, c) + v.shape[:3]
                cols = _new_columns(shape, dtype) if keep else _workspace(shape, dtype)
                xp.copyto(cols, v.transpose(3, 4, 5, 0, 1, 2))
                xp.matmul(cols.reshape(k, rows).T, w2, out=dst)
            else:
                cols = _new_columns(v.shape, dtype) if keep else _workspace(v.shape, dtype)
                xp.copyto(cols, v)
                xp.matmul(cols.reshape(rows, k), w2, out=dst)
            if keep:
                _column_cache().insert(0, (x, key, cols))
            if bias is not None:  # while the block is still in cache
                _add_bias_rows(out[bn, bh], bias)
        return out
    og = o // groups
    wg_ = _grouped_filters(w, groups)
    for bn, bh, v in blocks:
        v = v.reshape(v.shape[:5] + (groups, cg))
        rows = v.shape[0] * v.shape[1] * wo
        cols = _workspace((groups,) + v.shape[:5] + (cg,), dtype)
        xp.copyto(cols, v.transpose(5, 0, 1, 2, 3, 4, 6))
        res = _workspace((groups, rows, og), dtype, slot=1)
        xp.matmul(cols.reshape(groups, rows, k), wg_, out=res)
        out[bn, bh].reshape(rows, groups, og)[...] = res.transpose(1, 0, 2)
        if bias is not None:
            _add_bias_rows(out[bn, bh], bias)
    return out


def _add_bias_rows(block, bias):
    """block += bias in place, for a C-contiguous (..., W, C) block: along rows of W*C values."""
    row = block.shape[-2] * block.shape[-1]
    flat = block.reshape(-1, row)
    flat += xp.tile(bias, block.shape[-2])


def _conv2d_filter_grad_impl(x, g, kernel_size, strides, dilations, padding, groups):
    n, h, wd, c = x.shape
    kh, kw = kernel_size
    _, ho, wo, o = g.shape
    cg = c // groups
    k = kh * kw * cg
    dtype = xp.result_type(x.dtype, g.dtype)
    if groups == 1 and kh == kw == 1 and strides == (1, 1) and padding == ((0, 0), (0, 0)):
        return xp.matmul(x.reshape(-1, c).T, g.reshape(-1, o)).reshape(1, 1, c, o)
    if groups == 1 and _by_rows(c, wd, kernel_size, (wo, o), x.itemsize):
        return _filter_grad_by_rows(x, g, kernel_size, strides, dilations, padding)
    if groups > 1 and cg == 1:
        return _depthwise_filter_grad(x, g, kernel_size, strides, dilations, padding)
    w_shape = kernel_size + (cg, o)
    if x.dtype == g.dtype and _winograd_ok(n, ho, wo, w_shape, strides, dilations, groups, dtype):
        return _winograd_filter_grad(x, g, padding)
    item = x.itemsize
    row_bytes = wo * k * groups * item
    blocks = _window_blocks(x, (kh, kw), strides, dilations, padding, ho, wo, row_bytes)
    if groups == 1:
        narrow = _offset_major(c, kw, dilations[1], item)
        cols = _take_columns(x, (kh, kw, strides, dilations, padding, narrow))
        if cols is not None:
            a = cols.reshape(k, -1) if narrow else cols.reshape(-1, k).T
            return _reduce_matmul(a, g.reshape(-1, o)).reshape(kh, kw, c, o)
        dw = xp.zeros((k, o), dtype=dtype)
        part = xp.empty((k, o), dtype=dtype)
        for bn, bh, v in blocks:
            rows = v.shape[0] * v.shape[1] * wo
            gb = g[bn, bh].reshape(rows, o)
            if narrow:
                cols = _workspace((kh, kw, c) + v.shape[:3], dtype)
                xp.copyto(cols, v.transpose(3, 4, 5, 0, 1, 2))
                _reduce_matmul(cols.reshape(k, rows), gb, out=part)
            else:
                cols = _workspace(v.shape, dtype)
                xp.copyto(cols, v)
                _reduce_matmul(cols.reshape(rows, k).T, gb, out=part)
            dw += part
        return dw.reshape(kh, kw, c, o)
    og = o // groups
    dw = xp.zeros((groups, k, og), dtype=dtype)
    part = xp.empty((groups, k, og), dtype=dtype)
    for bn, bh, v in blocks:
        v = v.reshape(v.shape[:5] + (groups, cg))
        rows = v.shape[0] * v.shape[1] * wo
        cols = _workspace((groups,) + v.shape[:5] + (cg,), dtype)
        xp.copyto(cols, v.transpose(5, 0, 1, 2, 3, 4, 6))
        gb = g[bn, bh].reshape(rows, groups, og).transpose(1, 0, 2)
        xp.matmul(cols.reshape(groups, rows, k).transpose(0, 2, 1), gb, out=part)
        dw += part
    return dw.reshape(groups, kh, kw, cg, og).transpose(1, 2, 3, 0, 4).reshape(kh, kw, cg, o)


def _span(size, pad, stride, dilation, offset, out_len, lo, hi):
    """Output positions [a, b) within [lo, hi) whose tap ``offset`` lands inside the input,
    and the input position of the first: col2im without a padded buffer."""
    shift = offset * dilation - pad  # output position p reads input p * stride + shift
    first = -(shift // stride) if shift < 0 else 0  # ceil(-shift / stride)
    last = (size - 1 - shift) // stride + 1 if size - 1 - shift >= 0 else 0
    a = max(lo, first)
    return a, min(hi, out_len, last), a * stride + shift


def _col2im_add(dx, tap_block, bn, bh, wo, kernel, strides, dilations, padding):
    """dx[bn] += the columns of output rows bh: one strided slice-add per kernel offset.

    ``tap_block(i, j)`` is the (images, rows of bh, wo, C) block of columns that
    kernel offset (i, j) contributes; taps that land in the padding are skipped.
    """
    _, h, w, _ = dx.shape
    (sh, sw), (dh, dw), ((pt, _), (pl, _)) = strides, dilations, padding
    for i in range(kernel[0]):
        a, b, r0 = _span(h, pt, sh, dh, i, bh.stop, bh.start, bh.stop)
        if a >= b:
            continue
        for j in range(kernel[1]):
            a2, b2, c0 = _span(w, pl, sw, dw, j, wo, 0, wo)
            if a2 >= b2:
                continue
            dst = dx[bn, r0 : r0 + (b - a - 1) * sh + 1 : sh, c0 : c0 + (b2 - a2 - 1) * sw + 1 : sw]
            dst += tap_block(i, j)[:, a - bh.start : b - bh.start, a2:b2]


def _by_rows(c, wd, kernel, out_row, itemsize) -> bool:
    """Whether to convolve row by row with a banded matrix (see _width_toeplitz)."""
    kh, kw = kernel
    t_bytes = kh * wd * c * out_row[0] * out_row[1] * itemsize
    return (
        c * itemsize < _NARROW_BYTES and wd <= _TOEPLITZ_WIDTHS * kw and t_bytes <= _TOEPLITZ_BYTES
    )


def _width_toeplitz(w, wd, wo, sw, dw, pl):
    """The convolution along the width as a banded matrix, (kh, W, C, Wo, O).

    ``T[i, x, c, p, o] = w[i, j, c, o]`` where input column x = p * sw + j * dw - pl
    (taps that land in the padding are left out).  Output row r of every image is then
    ``sum_i (input row r * sh + i * dh - pt) @ T[i]``: one GEMM for all rows, instead of
    im2col's GEMMs, whose inner sizes (kh*kw*C and O) are too small to run fast when C
    is small.  T has W / kw times more multiply-adds than the columns, hence only for
    narrow images (_by_rows).
    """
    kh, kw, c, o = w.shape
    t = xp.zeros((kh, wd, c, wo, o), dtype=w.dtype)
    for j in range(kw):
        a, b, x0 = _span(wd, pl, sw, dw, j, wo, 0, wo)
        if a < b:
            t[:, xp.arange(x0, x0 + (b - a) * sw, sw), :, xp.arange(a, b)] = w[:, j]
    return t


def _input_rows(x, kh, ho, sh, dh, pt, out):
    """Fill ``out`` (N, Ho, kh, W*C): the kh input rows each output row reads, zero where
    they fall in the padding.  Each copy runs along whole image rows."""
    n, h = x.shape[:2]
    flat = x.reshape(n, h, -1)
    for i in range(kh):
        a, b, r0 = _span(h, pt, sh, dh, i, ho, 0, ho)
        if a >= b:
            out[:, :, i] = 0
            continue
        out[:, :a, i] = 0
        out[:, b:, i] = 0
        out[:, a:b, i] = flat[:, r0 : r0 + (b - a - 1) * sh + 1 : sh]
    return out


def _rows_key(kh, strides, dilations, padding, dtype):
    return ("rows", kh, strides[0], dilations[0], padding[0], xp.dtype(dtype).str)


def _conv2d_by_rows(x, w, strides, dilations, padding, ho, wo, bias, keep=False):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    dtype = xp.result_type(x.dtype, w.dtype)
    shape = (n, ho, kh, wd * c)
    # Recorded and small: keep the rows for the filter gradient, as im2col keeps columns.
    keep = keep and _cacheable(n, ho, _nbytes(shape[2:], dtype))
    rows = _new_columns(shape, dtype) if keep else _workspace(shape, dtype)
    _input_rows(x, kh, ho, strides[0], dilations[0], padding[0][0], rows)
    t = _width_toeplitz(
        w.astype(dtype, copy=False), wd, wo, strides[1], dilations[1], padding[1][0]
    )
    out = xp.matmul(rows.reshape(n * ho, -1), t.reshape(-1, wo * o)).reshape(n, ho, wo, o)
    if keep:
        _column_cache().insert(0, (x, _rows_key(kh, strides, dilations, padding, dtype), rows))
    if bias is not None:
        _add_bias_rows(out, bias)
    return out


def _filter_grad_by_rows(x, g, kernel_size, strides, dilations, padding):
    """The transpose of _conv2d_by_rows in w: T's gradient by one GEMM, then each kernel
    offset sums its band."""
    n, h, wd, c = x.shape
    kh, kw = kernel_size
    _, ho, wo, o = g.shape
    sw = strides[1]
    dtype = xp.result_type(x.dtype, g.dtype)
    rows = _take_columns(x, _rows_key(kh, strides, dilations, padding, dtype))
    if rows is None:
        rows = _workspace((n, ho, kh, wd * c), dtype)
        _input_rows(x, kh, ho, strides[0], dilations[0], padding[0][0], rows)
    # T's gradient rows^T g, computed as (g^T rows)^T: OpenBLAS runs LeNet's first layer's
    # product 15% faster this way round (measured)
    dt = xp.matmul(g.reshape(n * ho, wo * o).T, rows.reshape(n * ho, -1)).T
    dt = dt.reshape(kh, wd, c, wo, o)
    dw = xp.zeros((kh, kw, c, o), dtype=dtype)
    for j in range(kw):
        a, b, x0 = _span(wd, padding[1][0], sw, dilations[1], j, wo, 0, wo)
        if a < b:
            dw[:, j] = dt[:, xp.arange(x0, x0 + (b - a) * sw, sw), :, xp.arange(a, b)].sum(0)
    return dw


def _input_grad_by_rows(g, w, input_size, strides, dilations, padding):
    """The transpose of _conv2d_by_rows in x: one GEMM of the cotangent's rows with the
    banded matrix gives each output row's contribution to kh input rows, which kh
    slice-adds place (each a run of W*C contiguous values, where col2im's kh*kw adds
    would run over only C or Wo values)."""
    n, ho, wo, o = g.shape
    kh, kw, c, _ = w.shape
    h, wd = input_size
    (sh, sw), (dh, dw) = strides, dilations
    (pt, _), (pl, _) = padding
    dtype = xp.result_type(g.dtype, w.dtype)
    t = _width_toeplitz(w.astype(dtype, copy=False), wd, wo, sw, dw, pl)
    rows = _workspace((n, ho, kh, wd, c), dtype)
    xp.matmul(g.reshape(n * ho, wo * o), t.reshape(-1, wo * o).T, out=rows.reshape(n * ho, -1))
    dx = xp.zeros((n, h, wd, c), dtype=dtype)
    for i in range(kh):
        a, b, r0 = _span(h, pt, sh, dh, i, ho, 0, ho)
        if a < b:
            dx[:, r0 : r0 + (b - a - 1) * sh + 1 : sh] += rows[:, a:b, i]
    return dx


def _conv2d_input_grad_impl(g, w, input_size, strides, dilations, padding, groups):
    n, ho, wo, o = g.shape
    kh, kw, cg, _ = w.shape
    h, wd = input_size
    c = cg * groups
    dtype = xp.result_type(g.dtype, w.dtype)
    if groups == 1 and kh == kw == 1 and strides == (1, 1) and padding == ((0, 0), (0, 0)):
        return xp.matmul(g.reshape(-1, o), w.reshape(c, o).T).reshape(n, h, wd, c)
    item = xp.dtype(dtype).itemsize
    k = kh * kw * cg
    args = ((kh, kw), strides, dilations, padding)
    if groups == 1 and _by_rows(c, wd, (kh, kw), (wo, o), item):
        return _input_grad_by_rows(g, w, input_size, strides, dilations, padding)
    if groups > 1 and cg == 1:
        return _depthwise_input_grad(g, w, input_size, strides, dilations, padding, c)
    if groups == 1 and c * item < _NARROW_BYTES:
        # Few channels: accumulate channels-first, (C, N, H, W), so that every slice-add
        # runs along whole image rows, then transpose once at the end.
        dxt = xp.zeros((c, n, h, wd), dtype=dtype)
        dx = dxt.transpose(1, 2, 3, 0)
        w2 = w.reshape(k, o)
        for bn, bh in _blocks(n, ho, wo * k * item):
            gb = g[bn, bh]
            nb, hb = gb.shape[:2]
            cols = _workspace((kh, kw, c, nb, hb, wo), dtype)
            xp.matmul(w2, gb.reshape(-1, o).T, out=cols.reshape(k, -1))
            taps = lambda i, j, cols=cols: cols[i, j].transpose(1, 2, 3, 0)  # noqa: E731
            _col2im_add(dx, taps, bn, bh, wo, *args)
        return xp.ascontiguousarray(dx)
    (pt, pb), (pl, pr) = padding
    span_h, span_w = dilations[0] * (kh - 1), dilations[1] * (kw - 1)
    if groups == 1 and strides == (1, 1) and max(pt, pb) <= span_h and max(pl, pr) <= span_w:
        # Stride 1 with many channels: the transposed convolution is a convolution of the
        # cotangent with the flipped, transposed filters -- the same im2col + GEMM as the
        # forward pass, without col2im's kh*kw passes over dx.
        flipped = xp.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))
        full = ((span_h - pt, span_h - pb), (span_w - pl, span_w - pr))
        return _conv2d_impl(g, flipped, (1, 1), dilations, full, 1)
    dx = xp.zeros((n, h, wd, c), dtype=dtype)
    if g.size == 0:
        return dx
    if groups == 1:
        wt = w.reshape(k, o).T
        for bn, bh in _blocks(n, ho, wo * k * item):
            gb = g[bn, bh]
            nb, hb = gb.shape[:2]
            cols = _workspace((nb, hb, wo, kh, kw, c), dtype)
            xp.matmul(gb.reshape(-1, o), wt, out=cols.reshape(-1, k))
            _col2im_add(dx, lambda i, j, cols=cols: cols[:, :, :, i, j], bn, bh, wo, *args)
        return dx
    og = o // groups
    wg_ = _grouped_filters(w, groups).transpose(0, 2, 1)  # (G, Og, K)
    for bn, bh in _blocks(n, ho, wo * k * groups * item):
        gb = g[bn, bh]
        nb, hb = gb.shape[:2]
        rows = nb * hb * wo
        res = _workspace((groups, rows, k), dtype)
        xp.matmul(gb.reshape(rows, groups, og).transpose(1, 0, 2), wg_, out=res)
        cols = res.reshape(groups, nb, hb, wo, kh, kw, cg)

        def taps(i, j, cols=cols, shape=(nb, hb, wo, c)):
            # (G, ..., Cg) -> (..., G*Cg) for offset (i, j): channel g*Cg + cg
            return cols[:, :, :, :, i, j].transpose(1, 2, 3, 0, 4).reshape(shape)

        _col2im_add(dx, taps, bn, bh, wo, *args)
    return dx


conv2d_p = primitive("conv2d", _conv2d_impl)
# The convolution and its bias in one pass (Conv2D's layer): for speed, the bias is
# added to each output block while it is in cache, instead of in a second pass.
conv2d_bias_p = primitive("conv2d_bias", lambda x, w, b, **p: _conv2d_impl(x, w, **p, bias=b))
conv2d_input_grad_p = primitive("conv2d_input_grad", _conv2d_input_grad_impl)
conv2d_filter_grad_p = primitive("conv2d_filter_grad", _conv2d_filter_grad_impl)

_CONV_KEYS = ("strides", "dilations", "padding", "groups")


def _conv_params(p):
    return {key: p[key] for key in _CONV_KEYS}


def _conv(x, w, p) -> Tensor:
    return apply(conv2d_p, (x, w), _conv_params(p))


def _input_grad(g, w, input_size, p) -> Tensor:
    return apply(conv2d_input_grad_p, (g, w), {**_conv_params(p), "input_size": input_size})


def _filter_grad(x, g, kernel_size, p) -> Tensor:
    return apply(conv2d_filter_grad_p, (x, g), {**_conv_params(p), "kernel_size": kernel_size})


# conv2d is bilinear: y = C(x, w).  Its VJPs are the transposes in x and in w (and the
# bias's a sum); its JVPs are C itself applied to one tangent.
_CONV_VJPS = (
    lambda g, out, x, w, *b, **p: _input_grad(g, w, x.shape[1:3], p),
    lambda g, out, x, w, *b, **p: _filter_grad(x, g, w.shape[:2], p),
    lambda g, out, x, w, b, **p: _bias_grad(g, False),
)


def _conv_vjp(i, g, out, x, w, *b, needed=None, **p):
    """The joint rule of conv2d and conv2d_bias: the rules above, one per argument, except
    for a Winograd convolution differentiated by the reverse pass with nothing of this
    thread recording it, whose gradients come from one fused pass over g
    (_winograd_backward).  The reverse pass asks for each argument in ``needed`` in turn:
    the first call computes them all and keeps them, keyed by (g, x, w, needed) -- the
    very objects, which the entry holds -- for the next calls; the last one drops them."""
    xv, wv, gv = x._value, w._value, g._value
    n, ho, wo, _ = gv.shape
    fused = (
        needed is not None
        and xv.dtype == wv.dtype == gv.dtype
        and _winograd_ok(n, ho, wo, wv.shape, p["strides"], p["dilations"], p["groups"], xv.dtype)
        and not core.recording_here()
    )
    if not fused:
        return _CONV_VJPS[i](g, out, x, w, *b, **p)
    joint = getattr(_local, "joint", None)
    if joint is None or any(a is not b for a, b in zip(joint[:3], (g, x, w))) or joint[3] != needed:
        want = tuple(k in needed for k in range(3))
        grads = _winograd_backward(xv, wv, gv, p["padding"], want)
        joint = _local.joint = (g, x, w, needed, [None if a is None else wrap(a) for a in grads])
    if i == needed[-1]:  # the last one asked for: let go of g and the results
        _local.joint = None
    return joint[4][i]


for _prim in (conv2d_p, conv2d_bias_p):
    _prim.vjps = _conv_vjp
    _prim.tell_needed = True
defjvp(
    conv2d_p,
    lambda dx, out, x, w, **p: _conv(dx, w, p),
    lambda dw, out, x, w, **p: _conv(x, dw, p),
)
defjvp(
    conv2d_bias_p,
    lambda dx, out, x, w, b, **p: _conv(dx, w, p),
    lambda dw, out, x, w, b, **p: _conv(x, dw, p),
    lambda db, out, x, w, b, **p: db,
)
# conv2d_input_grad(g, w) = C_x^T(g): <C_x^T(g), c> = <g, C(c, w)> = <F(c, g), w>.
defvjp(
    conv2d_input_grad_p,
    lambda c, out, g, w, **p: _conv(c, w, p),
    lambda c, out, g, w, **p: _filter_grad(c, g, w.shape[:2], p),
)
defjvp(
    conv2d_input_grad_p,
    lambda dg, out, g, w, **p: _input_grad(dg, w, p["input_size"], p),
    lambda dw, out, g, w, **p: _input_grad(g, dw, p["input_size"], p),
)
# conv2d_filter_grad(x, g) = C_w^T(g) at x: <F(x, g), c> = <C(x, c), g> = <x, C_x^T(g) with c>.
defvjp(
    conv2d_filter_grad_p,
    lambda c, out, x, g, **p: _input_grad(g, c, x.shape[1:3], p),
    lambda c, out, x, g, **p: _conv(x, c, p),
)
defjvp(
    conv2d_filter_grad_p,
    lambda dx, out, x, g, **p: _filter_grad(dx, g, p["kernel_size"], p),
    lambda dg, out, x, g, **p: _filter_grad(x, dg, p["kernel_size"], p),
)


# -- public convolutions ---------------------------------------------------------------------


def _to_nhwc(x, data_format):
    return transpose(x, (0, 2, 3, 1)) if data_format == "NCHW" else x


def _from_nhwc(y, data_format):
    return transpose(y, (0, 3, 1, 2)) if data_format == "NCHW" else y


def _conv2d_nhwc(op, x, w, strides, padding, dilations, data_format, bias=None):
    """Check shapes, resolve padding and groups, and apply the conv2d primitive to NHWC x."""
    if x._value.ndim != 4 or w._value.ndim != 4:
        raise ValueError(
            f"{op}: expected a 4-D input and 4-D filters (height, width, in, out), got "
            f"input {list(x.shape)} and filters {list(w.shape)}"
        )
    kh, kw, cg, o = w.shape
    c = x.shape[3]
    if cg <= 0 or c % cg or o % (c // cg):
        raise ValueError(
            f"{op}: the filters' input depth {cg} must divide the input's {c} channels, and "
            f"the number of groups {c // cg if cg and c % cg == 0 else '?'} must divide the "
            f"{o} output channels (input {list(x.shape)} {data_format}, filters {list(w.shape)})"
        )
    groups = c // cg
    pads = _padding(padding, x.shape[1:3], (kh, kw), strides, dilations, op, data_format)
    _out_size(op, x.shape, (kh, kw), strides, dilations, pads)
    params = {"strides": strides, "dilations": dilations, "padding": pads, "groups": groups}
    prim, args = conv2d_p, (x, w)
    if bias is not None:
        b = operand(bias, x._value.dtype if not isinstance(bias, Tensor) else None)
        if b._value.ndim != 1 or b.shape[0] != o or b._value.dtype != x._value.dtype:
            raise ValueError(
                f"{op}: bias must be a 1-D {x.dtype} tensor of {o} values (one per output "
                f"channel), got {b.dtype}{list(b.shape)}"
            )
        prim, args = conv2d_bias_p, (x, w, b)
    # Keep im2col's columns (Winograd's tiles) for the filter gradient only when it will
    # be asked for: not for inference, frozen filters or another thread's tape.
    _local.keep = bool(core.recorders) and core.differentiated_in_reverse(w)
    try:
        return apply(prim, args, params)
    finally:
        _local.keep = False


def conv2d(
    input, filters, strides, padding, data_format="NHWC", dilations=None, name=None, *, bias=None
):
    """2-D convolution (cross-correlation) of a batch of images, as ``tf.nn.conv2d``.

    ``output[b, i, j, o] = sum_{di, dj, c} input[b, s_h i + d_h di, s_w j + d_w dj, c]
    * filters[di, dj, c, o]`` over the padded input.  When the filters' input
    depth is a divisor of the input's channels, the channels form that many
    groups convolved separately (grouped and depthwise convolutions).

    Args:
        input: a 4-D float Tensor, (batch, height, width, channels) for "NHWC"
            or (batch, channels, height, width) for "NCHW".
        filters: (height, width, in_channels / groups, out_channels).
        strides: an int, or 2 (or 4, with ones for batch and channels) ints.
        padding: "SAME" (output size ceil(input / stride); the odd extra row or
            column of zeros goes at the end), "VALID" (no padding), or explicit
            [before, after] pairs for the two spatial (or all four) dimensions.
        data_format: "NHWC" (default) or "NCHW".
        dilations: spacing between the filter taps (an int or 2 or 4 ints; default 1).
        name: ignored (TensorFlow compatibility).
        bias: optional (out_channels,) bias, added in the same pass over the output
            (not in TensorFlow's signature; Keras's convolution layers use it).

    Returns:
        A 4-D Tensor in ``data_format`` with out_channels channels.

    Raises:
        ValueError: bad ranks, channel counts, strides or a window larger than
            the padded input.

    Example:
        >>> import wengert as wg
        >>> x = wg.reshape(wg.range(16.0), (1, 4, 4, 1))
        >>> wg.nn.conv2d(x, wg.ones((2, 2, 1, 1)), strides=2, padding="VALID")[0, :, :, 0].numpy()
        array([[10., 18.],
               [42., 50.]], dtype=float32)
    """
    op = "conv2d"
    _check_format(op, data_format, ("NHWC", "NCHW"))
    x, w = _float_pair(op, input, filters)
    strides = _ints(strides, 2, "strides", op, data_format)
    dilations = _ints(1 if dilations is None else dilations, 2, "dilations", op, data_format)
    if x._value.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input, got shape {list(x.shape)}")
    y = _conv2d_nhwc(
        op, _to_nhwc(x, data_format), w, strides, padding, dilations, data_format, bias
    )
    return _from_nhwc(y, data_format)


def conv1d(
    input, filters, stride, padding, data_format="NWC", dilations=None, name=None, *, bias=None
):
    """1-D convolution of a batch of sequences, as ``tf.nn.conv1d``.

    Computed as a 2-D convolution over a height-1 image.

    Args:
        input: a 3-D float Tensor, (batch, width, channels) for "NWC" or
            (batch, channels, width) for "NCW".
        filters: (width, in_channels / groups, out_channels).
        stride: an int or 1 (or 3) ints.
        padding: "SAME", "VALID" or explicit [before, after] pairs.
        data_format: "NWC" (default) or "NCW".
        dilations: spacing between the filter taps (default 1).
        name: ignored.
        bias: optional (out_channels,) bias added in the same pass (not in TensorFlow).

    Returns:
        A 3-D Tensor in ``data_format``.

    Example:
        >>> import wengert as wg
        >>> x = wg.reshape(wg.range(5.0), (1, 5, 1))
        >>> wg.nn.conv1d(x, [[[1.0]], [[-1.0]]], stride=1, padding="VALID")[0, :, 0].numpy()
        array([-1., -1., -1., -1.], dtype=float32)
    """
    op = "conv1d"
    _check_format(op, data_format, ("NWC", "NCW"))
    x, w = _float_pair(op, input, filters)
    if x._value.ndim != 3 or w._value.ndim != 3:
        raise ValueError(
            f"{op}: expected a 3-D input and 3-D filters (width, in, out), got input "
            f"{list(x.shape)} and filters {list(w.shape)}"
        )
    (stride,) = _ints(stride, 1, "stride", op, data_format)
    (dilation,) = _ints(1 if dilations is None else dilations, 1, "dilations", op, data_format)
    if data_format == "NCW":
        x = transpose(x, (0, 2, 1))
    pads = _padding(padding, x.shape[1:2], w.shape[:1], (stride,), (dilation,), op, data_format)
    y = _conv2d_nhwc(
        op,
        expand_dims(x, 1),
        expand_dims(w, 0),
        (1, stride),
        ((0, 0),) + pads,
        (1, dilation),
        "NWC",
        bias,
    )
    y = squeeze(y, 1)
    return transpose(y, (0, 2, 1)) if data_format == "NCW" else y


def _transpose_conv(op, x, w, out_spatial, strides, padding, dilations, data_format):
    """The transposed convolution of NHWC x with filters (kh, kw, out, in)."""
    kh, kw, c_out, c_in = w.shape
    if x.shape[3] != c_in:
        raise ValueError(
            f"{op}: the input has {x.shape[3]} channels but the filters {list(w.shape)} expect "
            f"{c_in} (filters are (height, width, output_channels, input_channels))"
        )
    pads = _padding(padding, out_spatial, (kh, kw), strides, dilations, op, data_format)
    expected = tuple(
        conv_output_length(s, k, st, d, p)
        for s, k, st, d, p in zip(out_spatial, (kh, kw), strides, dilations, pads)
    )
    if expected != tuple(x.shape[1:3]):
        raise ValueError(
            f"{op}: output_shape {list(out_spatial)} is inconsistent with the input's spatial "
            f"shape {list(x.shape[1:3])}: a convolution of the output with these filters, "
            f"strides {list(strides)} and padding {pads} would give {list(expected)}"
        )
    params = {"strides": strides, "dilations": dilations, "padding": pads, "groups": 1}
    return _input_grad(x, w, tuple(out_spatial), params)


def _spatial_output_shape(op, output_shape, n, data_format, x=None, w=None):
    if isinstance(output_shape, Tensor):
        output_shape = output_shape._value.tolist()
    shape = tuple(int(s) for s in output_shape)
    if len(shape) == n + 2:
        batch, channels = (shape[0], shape[1]) if data_format.startswith("NC") else shape[:: n + 1]
        # as TensorFlow: the batch must be the input's, the channels the filters' outputs
        if x is not None and (batch != x.shape[0] or channels != w.shape[-2]):
            raise ValueError(
                f"{op}: output_shape {list(shape)} ({data_format}) must have the input's batch "
                f"{x.shape[0]} and the filters' {w.shape[-2]} output channels"
            )
        shape = shape[2:] if data_format.startswith("NC") else shape[1:-1]
    if len(shape) != n or any(s <= 0 for s in shape):
        raise ValueError(
            f"{op}: output_shape must give {n + 2} (or {n} spatial) positive sizes, "
            f"got {list(output_shape)}"
        )
    return shape


def conv2d_transpose(
    input,
    filters,
    output_shape,
    strides,
    padding="SAME",
    data_format="NHWC",
    dilations=None,
    name=None,
):
    """The transposed 2-D convolution (the gradient of conv2d), as ``tf.nn.conv2d_transpose``.

    Args:
        input: a 4-D float Tensor in ``data_format``.
        filters: (height, width, output_channels, input_channels).
        output_shape: the output's shape (4 ints, or its 2 spatial sizes).
        strides: an int or 2 (or 4) ints.
        padding: "SAME", "VALID" or explicit pairs: the padding of the
            convolution this op is the transpose of.
        data_format: "NHWC" (default) or "NCHW".
        dilations: spacing between the filter taps (default 1).
        name: ignored.

    Returns:
        A 4-D Tensor with the spatial size of ``output_shape``.

    Example:
        >>> import wengert as wg
        >>> y = wg.nn.conv2d_transpose(wg.ones((1, 2, 2, 1)), wg.ones((2, 2, 1, 1)),
        ...                            output_shape=(1, 4, 4, 1), strides=2, padding="VALID")
        >>> y.shape, float(wg.reduce_sum(y))
        ((1, 4, 4, 1), 16.0)
    """
    op = "conv2d_transpose"
    _check_format(op, data_format, ("NHWC", "NCHW"))
    x, w = _float_pair(op, input, filters)
    if x._value.ndim != 4 or w._value.ndim != 4:
        raise ValueError(
            f"{op}: expected a 4-D input and 4-D filters, got {list(x.shape)} and {list(w.shape)}"
        )
    strides = _ints(strides, 2, "strides", op, data_format)
    dilations = _ints(1 if dilations is None else dilations, 2, "dilations", op, data_format)
    out_spatial = _spatial_output_shape(op, output_shape, 2, data_format, x, w)
    x = _to_nhwc(x, data_format)
    y = _transpose_conv(op, x, w, out_spatial, strides, padding, dilations, data_format)
    return _from_nhwc(y, data_format)


def conv1d_transpose(
    input,
    filters,
    output_shape,
    strides,
    padding="SAME",
    data_format="NWC",
    dilations=None,
    name=None,
):
    """The transposed 1-D convolution, as ``tf.nn.conv1d_transpose``.

    Args:
        input: a 3-D float Tensor in ``data_format`` ("NWC" or "NCW").
        filters: (width, output_channels, input_channels).
        output_shape: the output's shape (3 ints, or its width).
        strides: an int or 1 (or 3) ints.
        padding: "SAME", "VALID" or explicit pairs.
        data_format: "NWC" (default) or "NCW".
        dilations: spacing between the filter taps (default 1).
        name: ignored.

    Returns:
        A 3-D Tensor.

    Example:
        >>> import wengert as wg
        >>> wg.nn.conv1d_transpose(wg.ones((1, 2, 1)), wg.ones((2, 1, 1)), (1, 4, 1), 2,
        ...                        "VALID")[0, :, 0].numpy()
        array([1., 1., 1., 1.], dtype=float32)
    """
    op = "conv1d_transpose"
    _check_format(op, data_format, ("NWC", "NCW"))
    x, w = _float_pair(op, input, filters)
    if x._value.ndim != 3 or w._value.ndim != 3:
        raise ValueError(
            f"{op}: expected a 3-D input and 3-D filters, got {list(x.shape)} and {list(w.shape)}"
        )
    (stride,) = _ints(strides, 1, "strides", op, data_format)
    (dilation,) = _ints(1 if dilations is None else dilations, 1, "dilations", op, data_format)
    (width,) = _spatial_output_shape(op, output_shape, 1, data_format, x, w)
    if data_format == "NCW":
        x = transpose(x, (0, 2, 1))
    pads = _padding(padding, (width,), w.shape[:1], (stride,), (dilation,), op, data_format)
    y = _transpose_conv(
        op,
        expand_dims(x, 1),
        expand_dims(w, 0),
        (1, width),
        (1, stride),
        ((0, 0),) + pads,
        (1, dilation),
        "NWC",
    )
    y = squeeze(y, 1)
    return transpose(y, (0, 2, 1)) if data_format == "NCW" else y


def depthwise_conv2d(
    input, filter, strides, padding, data_format=None, dilations=None, name=None, *, bias=None
):
    """Depthwise 2-D convolution, as ``tf.nn.depthwise_conv2d``: each channel on its own.

    Input channel c with multiplier m gives output channel ``c * multiplier + m``.

    Args:
        input: a 4-D float Tensor in ``data_format``.
        filter: (height, width, in_channels, channel_multiplier).
        strides: an int or 2 (or 4) ints.
        padding: "SAME", "VALID" or explicit pairs.
        data_format: "NHWC" (default) or "NCHW".
        dilations: spacing between the filter taps (default 1).
        name: ignored.
        bias: optional (in_channels * channel_multiplier,) bias added in the same pass.

    Returns:
        A 4-D Tensor with in_channels * channel_multiplier channels.

    Example:
        >>> import wengert as wg
        >>> x = wg.ones((1, 3, 3, 2))
        >>> y = wg.nn.depthwise_conv2d(x, wg.ones((3, 3, 2, 2)), strides=1, padding="VALID")
        >>> y.shape
        (1, 1, 1, 4)
    """
    op = "depthwise_conv2d"
    data_format = data_format or "NHWC"
    _check_format(op, data_format, ("NHWC", "NCHW"))
    x, w = _float_pair(op, input, filter, wname="filter")
    if w._value.ndim != 4:
        raise ValueError(f"{op}: expected 4-D filter (h, w, in, multiplier), got {list(w.shape)}")
    kh, kw, c, m = w.shape
    channels = x.shape[1] if data_format == "NCHW" else x.shape[-1]
    if x._value.ndim != 4 or channels != c:
        raise ValueError(
            f"{op}: input {list(x.shape)} ({data_format}) must be 4-D with {c} channels to "
            f"match the filter {list(w.shape)}"
        )
    strides = _ints(strides, 2, "strides", op, data_format)
    dilations = _ints(1 if dilations is None else dilations, 2, "dilations", op, data_format)
    y = _conv2d_nhwc(
        op,
        _to_nhwc(x, data_format),
        reshape(w, (kh, kw, 1, c * m)),
        strides,
        padding,
        dilations,
        data_format,
        bias,
    )
    return _from_nhwc(y, data_format)


# -- pooling -----------------------------------------------------------------------------------


def _tap(a, i, j, ho, wo, strides):
    """The (N, Ho, Wo, C) strided slice of padded ``a`` seen by window tap (i, j)."""
    sh, sw = strides
    return a[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw]


def _halves(ksize, strides, padding) -> bool:
    """Whether max pooling is 2x2 windows at stride 2 with no padding: the common case,
    whose forward pass halves the rows first, along whole image rows (_max_pool_2x2).
    The taps of the general path are strided views whose inner runs are only C values
    long, slow for few channels (LeNet's first pooling: 0.28 -> 0.21 ms).  The backward
    pass stays general: done the same way it was no faster (memory-bound either way)."""
    return ksize == (2, 2) and strides == (2, 2) and padding == ((0, 0), (0, 0))


def _max_pool_2x2(x, ho, wo):
    n, c = x.shape[0], x.shape[3]
    # the two image rows of each row of windows (top-left 2Ho x 2Wo part), each a run
    # of whole windows
    rows = x[:, : 2 * ho, : 2 * wo].reshape(n, ho, 2, 2 * wo * c)
    upper = xp.maximum(rows[:, :, 0], rows[:, :, 1])  # the max of each window column
    pairs = upper.reshape(n, ho, wo, 2, c)
    return xp.maximum(pairs[..., 0, :], pairs[..., 1, :])


def _max_pool_impl(x, ksize, strides, padding):
    ho, wo = _out_size("pool", x.shape, ksize, strides, (1, 1), padding)
    if _halves(ksize, strides, padding):
        return _max_pool_2x2(x, ho, wo)
    low = -xp.inf if x.dtype.kind == "f" else xp.iinfo(x.dtype).min
    xpad = _pad_nhwc(x, padding, low)
    kh, kw = ksize
    out = xp.empty((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    # One elementwise maximum per tap: kh*kw vectorised ops, no window copy.
    xp.copyto(out, _tap(xpad, 0, 0, ho, wo, strides))
    for i in range(kh):
        for j in range(kw):
            if i or j:
                xp.maximum(out, _tap(xpad, i, j, ho, wo, strides), out=out)
    return out


def _first_max_masks(x, out, ksize, strides, padding):
    """Yield (i, j, mask) for each tap: True where the tap holds its window's first maximum."""
    ho, wo = out.shape[1:3]
    xpad = _pad_nhwc(x, padding, -xp.inf)
    kh, kw = ksize
    taken = None
    last = kh * kw - 1
    for t in range(kh * kw):
        i, j = divmod(t, kw)
        eq = _tap(xpad, i, j, ho, wo, strides) == out
        if taken is None:
            taken = eq  # read-only for the consumer, updated only after it is done with it
        else:
            xp.greater(eq, taken, out=eq)  # equal, and no earlier tap already took it
            if t < last:
                yield i, j, eq
                taken |= eq
                continue
        yield i, j, eq


def _max_pool_grad_impl(x, out, g, ksize, strides, padding):
    n, h, w, c = x.shape
    (pt, pb), (pl, pr) = padding
    ho, wo = out.shape[1:3]
    overlap = ksize[0] > strides[0] or ksize[1] > strides[1]
    # Windows that tile the padded input exactly write every element once: no zero fill.
    tiles = not overlap and (ho * strides[0], wo * strides[1]) == (h + pt + pb, w + pl + pr)
    dxpad = (xp.empty if tiles else xp.zeros)((n, h + pt + pb, w + pl + pr, c), dtype=g.dtype)
    for i, j, mask in _first_max_masks(x, out, ksize, strides, padding):
        dst = _tap(dxpad, i, j, ho, wo, strides)
        if overlap:
            dst += g * mask
        else:
            xp.multiply(g, mask, out=dst)
    if dxpad.shape == x.shape:
        return dxpad
    return xp.ascontiguousarray(dxpad[:, pt : pt + h, pl : pl + w])


def _max_pool_select_impl(x, out, t, ksize, strides, padding):
    n, h, w, c = x.shape
    tpad = _pad_nhwc(t, padding)
    ho, wo = out.shape[1:3]
    res = xp.zeros(out.shape, dtype=t.dtype)
    for i, j, mask in _first_max_masks(x, out, ksize, strides, padding):
        res += _tap(tpad, i, j, ho, wo, strides) * mask
    return res


max_pool2d_p = primitive("max_pool2d", _max_pool_impl)
max_pool2d_grad_p = primitive("max_pool2d_grad", _max_pool_grad_impl)
max_pool2d_select_p = primitive("max_pool2d_select", _max_pool_select_impl)


def _max_grad(x, out, g, p) -> Tensor:
    return apply(max_pool2d_grad_p, (x, out, g), p)


def _max_select(x, out, t, p) -> Tensor:
    return apply(max_pool2d_select_p, (x, out, t), p)


# Away from ties the max's window positions are locally constant, so max pooling is linear
# in x with a fixed selection: its VJP scatters, its JVP selects, and they transpose each other.
defvjp(max_pool2d_p, lambda g, out, x, **p: _max_grad(x, out, g, p))
defjvp(max_pool2d_p, lambda dx, out, x, **p: _max_select(x, out, dx, p))
defvjp(max_pool2d_grad_p, None, None, lambda c, res, x, out, g, **p: _max_select(x, out, c, p))
defjvp(max_pool2d_grad_p, None, None, lambda dg, res, x, out, g, **p: _max_grad(x, out, dg, p))
defvjp(max_pool2d_select_p, None, None, lambda c, res, x, out, t, **p: _max_grad(x, out, c, p))
defjvp(max_pool2d_select_p, None, None, lambda dt, res, x, out, t, **p: _max_select(x, out, dt, p))


def _window_counts(in_size, out_size, ksize, strides, padding, dtype):
    """How many real (unpadded) inputs each window covers, as an (1, Ho, Wo, 1) array."""
    counts = []
    for size, k, s, (pb, _), o in zip(in_size, ksize, strides, padding, out_size):
        start = xp.arange(o) * s - pb
        counts.append(xp.minimum(start + k, size) - xp.maximum(start, 0))
    return (counts[0][:, None] * counts[1][None, :]).astype(dtype)[None, :, :, None]


def _avg_pool_impl(x, ksize, strides, padding):
    ho, wo = _out_size("pool", x.shape, ksize, strides, (1, 1), padding)
    xpad = _pad_nhwc(x, padding)
    kh, kw = ksize
    out = xp.empty((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    xp.copyto(out, _tap(xpad, 0, 0, ho, wo, strides))
    for i in range(kh):
        for j in range(kw):
            if i or j:
                out += _tap(xpad, i, j, ho, wo, strides)
    if padding == ((0, 0), (0, 0)):
        out *= 1.0 / (kh * kw)
    else:  # TensorFlow's average excludes the padding
        out /= _window_counts(x.shape[1:3], (ho, wo), ksize, strides, padding, x.dtype)
    return out


def _avg_pool_grad_impl(g, input_size, ksize, strides, padding):
    n, ho, wo, c = g.shape
    h, w = input_size
    (pt, pb), (pl, pr) = padding
    kh, kw = ksize
    if padding == ((0, 0), (0, 0)):
        share = g * (1.0 / (kh * kw))
    else:
        share = g / _window_counts((h, w), (ho, wo), ksize, strides, padding, g.dtype)
    dxpad = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=g.dtype)
    overlap = kh > strides[0] or kw > strides[1]
    for i in range(kh):
        for j in range(kw):
            dst = _tap(dxpad, i, j, ho, wo, strides)
            if overlap:
                dst += share
            else:
                xp.copyto(dst, share)
    if dxpad.shape[1:3] == (h, w):
        return dxpad
    return xp.ascontiguousarray(dxpad[:, pt : pt + h, pl : pl + w])


avg_pool2d_p = primitive("avg_pool2d", _avg_pool_impl)
avg_pool2d_grad_p = primitive("avg_pool2d_grad", _avg_pool_grad_impl)


def _avg(x, p) -> Tensor:
    return apply(avg_pool2d_p, (x,), p)


def _avg_grad(g, input_size, p) -> Tensor:
    return apply(avg_pool2d_grad_p, (g,), {**p, "input_size": input_size})


def _pool_params(p):
    return {"ksize": p["ksize"], "strides": p["strides"], "padding": p["padding"]}


# Average pooling is linear: its VJP is its transpose (spread each average back over its
# window) and the transpose's VJP is the pooling again.
defvjp(avg_pool2d_p, lambda g, out, x, **p: _avg_grad(g, x.shape[1:3], p))
defjvp(avg_pool2d_p, lambda dx, out, x, **p: _avg(dx, p))
defvjp(avg_pool2d_grad_p, lambda c, out, g, **p: _avg(c, _pool_params(p)))
defjvp(avg_pool2d_grad_p, lambda dg, out, g, **p: _avg_grad(dg, p["input_size"], _pool_params(p)))


def _pool2d(op, prim, input, ksize, strides, padding, data_format):
    _check_format(op, data_format, ("NHWC", "NCHW"))
    x = operand(input)
    if x._value.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input ({data_format}), got shape {list(x.shape)}")
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}{list(x.shape)}")
    ksize = _ints(ksize, 2, "ksize", op, data_format)
    strides = _ints(strides, 2, "strides", op, data_format)
    x = _to_nhwc(x, data_format)
    pads = _padding(padding, x.shape[1:3], ksize, strides, (1, 1), op, data_format)
    _out_size(op, x.shape, ksize, strides, (1, 1), pads)
    y = apply(prim, (x,), {"ksize": ksize, "strides": strides, "padding": pads})
    return _from_nhwc(y, data_format)


def _pool1d(op, prim, input, ksize, strides, padding, data_format):
    _check_format(op, data_format, ("NWC", "NCW"))
    x = operand(input)
    if x._value.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D input ({data_format}), got shape {list(x.shape)}")
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {x.dtype}{list(x.shape)}")
    (k,) = _ints(ksize, 1, "ksize", op, data_format)
    (s,) = _ints(strides, 1, "strides", op, data_format)
    if data_format == "NCW":
        x = transpose(x, (0, 2, 1))
    pads = ((0, 0),) + _padding(padding, x.shape[1:2], (k,), (s,), (1,), op, data_format)
    x = expand_dims(x, 1)
    _out_size(op, x.shape, (1, k), (1, s), (1, 1), pads)
    y = squeeze(apply(prim, (x,), {"ksize": (1, k), "strides": (1, s), "padding": pads}), 1)
    return transpose(y, (0, 2, 1)) if data_format == "NCW" else y


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """Max pooling over 2-D windows, as ``tf.nn.max_pool2d``.

    The gradient goes to the first maximum of each window (row-major order),
    as in TensorFlow; padding never wins a window.

    Args:
        input: a 4-D float Tensor in ``data_format``.
        ksize: the window size: an int or 2 (or 4) ints.
        strides: an int or 2 (or 4) ints.
        padding: "SAME", "VALID" or explicit pairs.
        data_format: "NHWC" (default) or "NCHW".
        name: ignored.

    Returns:
        A 4-D Tensor of the pooled maxima.

    Example:
        >>> import wengert as wg
        >>> x = wg.reshape(wg.range(16.0), (1, 4, 4, 1))
        >>> wg.nn.max_pool2d(x, 2, 2, "VALID")[0, :, :, 0].numpy()
        array([[ 5.,  7.],
               [13., 15.]], dtype=float32)
    """
    return _pool2d("max_pool2d", max_pool2d_p, input, ksize, strides, padding, data_format)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):
    """Average pooling over 2-D windows, as ``tf.nn.avg_pool2d``.

    With padding, each average is over the window's real (unpadded) inputs only,
    as in TensorFlow.

    Args:
        input: a 4-D float Tensor in ``data_format``.
        ksize: the window size: an int or 2 (or 4) ints.
        strides: an int or 2 (or 4) ints.
        padding: "SAME", "VALID" or explicit pairs.
        data_format: "NHWC" (default) or "NCHW".
        name: ignored.

    Returns:
        A 4-D Tensor of the window averages.

    Example:
        >>> import wengert as wg
        >>> x = wg.reshape(wg.range(16.0), (1, 4, 4, 1))
        >>> wg.nn.avg_pool2d(x, 2, 2, "VALID")[0, :, :, 0].numpy()
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """
    return _pool2d("avg_pool2d", avg_pool2d_p, input, ksize, strides, padding, data_format)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    """Max pooling over 1-D windows, as ``tf.nn.max_pool1d``.

    Args:
        input: a 3-D float Tensor, (batch, width, channels) for "NWC".
        ksize: the window size: an int or 1 (or 3) ints.
        strides: an int or 1 (or 3) ints.
        padding: "SAME", "VALID" or explicit pairs.
        data_format: "NWC" (default) or "NCW".
        name: ignored.

    Returns:
        A 3-D Tensor.

    Example:
        >>> import wengert as wg
        >>> wg.nn.max_pool1d([[[1.0], [3.0], [2.0], [0.0]]], 2, 2, "VALID")[0, :, 0].numpy()
        array([3., 2.], dtype=float32)
    """
    return _pool1d("max_pool1d", max_pool2d_p, input, ksize, strides, padding, data_format)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):
    """Average pooling over 1-D windows, as ``tf.nn.avg_pool1d``.

    Args:
        input: a 3-D float Tensor, (batch, width, channels) for "NWC".
        ksize: the window size: an int or 1 (or 3) ints.
        strides: an int or 1 (or 3) ints.
        padding: "SAME", "VALID" or explicit pairs.
        data_format: "NWC" (default) or "NCW".
        name: ignored.

    Returns:
        A 3-D Tensor.

    Example:
        >>> import wengert as wg
        >>> wg.nn.avg_pool1d([[[1.0], [3.0], [2.0], [0.0]]], 2, 2, "VALID")[0, :, 0].numpy()
        array([2., 1.], dtype=float32)
    """
    return _pool1d("avg_pool1d", avg_pool2d_p, input, ksize, strides, padding, data_format)


# -- bias ----------------------------------------------------------------------------------


def _bias_add_impl(x, b, channels_first):
    if channels_first:
        return x + b.reshape((1, -1) + (1,) * (x.ndim - 2))
    if x.ndim >= 3 and x.flags.c_contiguous:
        # Broadcasting a few channels runs an inner loop of C elements; a bias tiled
        # along one row runs one of W*C.
        row = x.shape[-2] * x.shape[-1]
        return (x.reshape(-1, row) + xp.tile(b, x.shape[-2])).reshape(x.shape)
    return x + b


def _bias_add_grad_impl(g, channels_first):
    if channels_first:
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)))
    c = g.shape[-1]
    if g.ndim >= 3 and g.flags.c_contiguous:
        row = g.shape[-2] * c
        return g.reshape(-1, row).sum(axis=0).reshape(-1, c).sum(axis=0)
    return g.reshape(-1, c).sum(axis=0)


bias_add_p = primitive("bias_add", _bias_add_impl)
bias_add_grad_p = primitive("bias_add_grad", _bias_add_grad_impl)


def _bias_shape(b, ndim, channels_first):
    """A (C,) tensor shaped to broadcast against the input (the tape broadcasts it)."""
    return reshape(b, (-1,) + (1,) * (ndim - 2)) if channels_first else b


def _bias_grad(g, channels_first) -> Tensor:
    return apply(bias_add_grad_p, (g,), {"channels_first": channels_first})


# Linear in each argument: the bias's VJP sums over every axis but the channels', and
# that sum's VJP broadcasts back.
defvjp(
    bias_add_p,
    lambda g, out, x, b, channels_first: g,
    lambda g, out, x, b, channels_first: _bias_grad(g, channels_first),
)
defjvp(
    bias_add_p,
    lambda dx, out, x, b, channels_first: dx,
    lambda db, out, x, b, channels_first: _bias_shape(db, x.ndim, channels_first),
)
defvjp(bias_add_grad_p, lambda c, out, g, channels_first: _bias_shape(c, g.ndim, channels_first))
defjvp(bias_add_grad_p, lambda dg, out, g, channels_first: _bias_grad(dg, channels_first))


def bias_add(value, bias, data_format=None, name=None):
    """Add a per-channel ``bias`` to ``value``, as ``tf.nn.bias_add``.

    Args:
        value: a Tensor with at least 2 axes.
        bias: a 1-D Tensor with one value per channel.
        data_format: "N...C" (default: channels last) or "NC..." (channels on axis 1).
        name: ignored.

    Returns:
        A Tensor of ``value``'s shape.

    Example:
        >>> import wengert as wg
        >>> wg.nn.bias_add(wg.zeros((1, 2, 3)), [1.0, 2.0, 3.0]).numpy()
        array([[[1., 2., 3.],
                [1., 2., 3.]]], dtype=float32)
    """
    x = operand(value)
    b = operand(bias, x._value.dtype if not isinstance(bias, Tensor) else None)
    channels_first = data_format is not None and str(data_format).startswith("NC")
    if data_format is not None and not (channels_first or str(data_format).endswith("C")):
        raise ValueError(f"bias_add: data_format must be 'N...C' or 'NC...', got {data_format!r}")
    axis = 1 if channels_first else -1
    if x._value.ndim < 2 or b._value.ndim != 1 or x.shape[axis] != b.shape[0]:
        raise ValueError(
            f"bias_add: bias must be 1-D with one value per channel (axis {axis}) of value, got "
            f"value {x.dtype}{list(x.shape)} and bias {b.dtype}{list(b.shape)}"
        )
    if x._value.dtype != b._value.dtype:
        raise TypeError(
            f"bias_add: dtypes differ: value {x.dtype}{list(x.shape)} and bias "
            f"{b.dtype}{list(b.shape)}"
        )
    return apply(bias_add_p, (x, b), {"channels_first": channels_first})


# -- batch normalisation ----------------------------------------------------------------------


def moments(x, axes, shift=None, keepdims=False, name=None):
    """Mean and (biased) variance of ``x`` over ``axes``, as ``tf.nn.moments``.

    Args:
        x: a float Tensor.
        axes: the axes to reduce.
        shift: ignored (TensorFlow compatibility).
        keepdims: keep the reduced axes with size 1.
        name: ignored.

    Returns:
        ``(mean, variance)``, the variance dividing by the number of elements.

    Example:
        >>> import wengert as wg
        >>> mean, var = wg.nn.moments(wg.constant([[1.0, 2.0], [3.0, 6.0]]), axes=[0])
        >>> mean.numpy(), var.numpy()
        (array([2., 4.], dtype=float32), array([1., 4.], dtype=float32))
    """
    x = operand(x)
    narrow = x._value.dtype == xp.float16
    if narrow:  # float16 sums overflow and stall: computed in float32, as TensorFlow does
        x = cast(x, "float32")
    mean = reduce_mean(x, axes, keepdims=True)
    variance = reduce_mean(square(x - mean), axes, keepdims=True)
    if narrow:
        mean, variance = cast(mean, "float16"), cast(variance, "float16")
    if not keepdims:
        shape = tuple(s for i, s in enumerate(mean.shape) if i not in _norm_axes(axes, x.ndim))
        mean = reshape(mean, shape)
        variance = reshape(variance, shape)
    return mean, variance


def _norm_axes(axes, ndim):
    axes = [axes] if isinstance(axes, int) else list(axes)
    return {a % ndim for a in axes}


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """Normalise ``x``: ``scale * (x - mean) / sqrt(variance + epsilon) + offset``.

    As ``tf.nn.batch_normalization``: the statistics broadcast against ``x``;
    ``offset`` and ``scale`` may be None.

    Args:
        x: a float Tensor.
        mean: the mean to subtract.
        variance: the variance to divide by (after adding epsilon and a square root).
        offset: beta, added after scaling (or None).
        scale: gamma, multiplying the normalised value (or None).
        variance_epsilon: a small float keeping the division finite.
        name: ignored.

    Returns:
        A Tensor of ``x``'s shape.

    Example:
        >>> import wengert as wg
        >>> wg.nn.batch_normalization(wg.constant([1.0, 3.0]), 2.0, 1.0, None, None, 0.0).numpy()
        array([-1.,  1.], dtype=float32)
    """
    x = operand(x)
    # The per-channel factor is formed first, so the full-size work is one multiply-add.
    inv = 1.0 / sqrt(operand(variance, x._value.dtype) + float(variance_epsilon))
    if scale is not None:
        inv = inv * operand(scale, x._value.dtype)
    y = (x - operand(mean, x._value.dtype)) * inv
    if offset is not None:
        y = y + operand(offset, x._value.dtype)
    return y


# -- batch normalization while training, fused -----------------------------------------------
# As ops, a training step of batch normalization is a dozen full-size passes forward and
# backward (mean, centring, variance, scaling, shift, and the rules of each).  Fused, it is
# five forward (the centred input is kept for the backward pass) and six backward:
# the CNN of ``wengert train --model cnn`` spent 40% of its step in the op-by-op form.


def _channels_middle(a, axis):
    """``a`` as (before, C, after) for channel axis ``axis`` (a view when contiguous)."""
    before = math.prod(a.shape[:axis])
    return a.reshape(before, a.shape[axis], -1)


def _batch_norm_training_impl(x, scale, offset, axis, epsilon):
    if x.dtype == xp.float16:  # statistics in float32, as TensorFlow computes them
        y, mean, variance, saved = _batch_norm_training_impl(
            x.astype(xp.float32), scale.astype(xp.float32), offset.astype(xp.float32), axis, epsilon
        )
        return y.astype(x.dtype), mean.astype(x.dtype), variance.astype(x.dtype), saved
    x3 = _channels_middle(x, axis)
    n = x3.shape[0] * x3.shape[2]
    # einsum sums each channel in one pass, faster than a reduction over the leading axes
    mean = xp.einsum("ijk->j", x3) / n
    centred = x3 - mean[:, None]
    variance = xp.einsum("ijk,ijk->j", centred, centred) / n
    inv = 1.0 / xp.sqrt(variance + epsilon)
    y = centred * (scale * inv)[:, None]
    y += offset[:, None]
    return y.reshape(x.shape), mean, variance, saved_handle((centred, inv))


batch_norm_training_p = primitive(
    "batch_norm_training", _batch_norm_training_impl, multiple_results=True
)


def _bn_statistics(x, axis, epsilon):
    """Recorded ops: (reduced axes, broadcast shape, count, centred x, 1/sqrt(var + eps))."""
    axes = tuple(a for a in range(x.ndim) if a != axis)
    shape = tuple(s if a == axis else 1 for a, s in enumerate(x.shape))
    n = math.prod(x.shape[a] for a in axes)
    centred = x - reduce_mean(x, axes, keepdims=True)
    inv = 1.0 / sqrt(reduce_mean(centred * centred, axes, keepdims=True) + epsilon)
    return axes, shape, n, centred, inv


def _bn_grads(g, saved, x, scale, axis):
    """The VJP in place on arrays, for every argument at once: dx = a*gy + b*centred + c."""
    centred, inv = saved.arrays
    gy, gmean, gvar = (None if is_zero(t) else t._value for t in g[:3])
    n = centred.shape[0] * centred.shape[2]
    a = scale._value * inv
    if gy is None:
        sum_gy = sum_gy_centred = xp.zeros_like(inv)
    else:
        gy = _channels_middle(gy, axis)
        sum_gy = xp.einsum("ijk->j", gy)
        sum_gy_centred = xp.einsum("ijk,ijk->j", gy, centred)
    b = -a * inv * inv * sum_gy_centred / n
    c = -a * sum_gy / n
    if gvar is not None:  # variance = mean(centred^2)
        b = b + 2.0 * gvar / n
    if gmean is not None:
        c = c + gmean / n
    dx = centred * b[:, None]
    dx += c[:, None]
    if gy is not None:
        dx += gy * a[:, None]
    return wrap(dx.reshape(x.shape)), wrap(sum_gy_centred * inv), wrap(sum_gy)


def _bn_grads_recorded(g, x, scale, axis, epsilon):
    """The same VJP as recorded ops, for when a tape watches this backward pass (higher
    derivatives): the statistics are recomputed from x, so every dependence is on tape."""
    axes, shape, n, centred, inv = _bn_statistics(x, axis, epsilon)
    gy, gmean, gvar = g[:3]
    xhat = centred * inv
    sum_gy = reduce_sum(gy, axes, keepdims=True)
    sum_gy_xhat = reduce_sum(gy * xhat, axes, keepdims=True)
    dx = reshape(scale, shape) * inv * (gy - sum_gy / n - xhat * (sum_gy_xhat / n))
    dx = dx + reshape(gmean, shape) / n + centred * (reshape(gvar, shape) * (2.0 / n))
    c = (x.shape[axis],)
    return dx, reshape(sum_gy_xhat, c), reshape(sum_gy, c)


def _batch_norm_training_vjp(i, g, out, x, scale, offset, axis, epsilon):
    saved = out[-1]._value[()]
    if saved.key is not g:  # one computation serves the three arguments
        if core.recorders:
            saved.grads = _bn_grads_recorded(g, x, scale, axis, epsilon)
        else:
            saved.grads = _bn_grads(g, saved, x, scale, axis)
        saved.key = g
    return saved.grads[i]


def _bn_jvp_x(dx, out, x, scale, offset, axis, epsilon):
    axes, shape, n, centred, inv = _bn_statistics(x, axis, epsilon)
    d_mean = reduce_mean(dx, axes, keepdims=True)
    d_centred = dx - d_mean
    d_var = reduce_mean(centred * d_centred, axes, keepdims=True) * 2.0
    d_inv = -0.5 * inv * inv * inv * d_var
    dy = reshape(scale, shape) * (d_centred * inv + centred * d_inv)
    c = (x.shape[axis],)
    return dy, reshape(d_mean, c), reshape(d_var, c)


def _bn_jvp_scale(d_scale, out, x, scale, offset, axis, epsilon):
    _, shape, _, centred, inv = _bn_statistics(x, axis, epsilon)
    zero = zeros_like_op(out[1])
    return centred * inv * reshape(d_scale, shape), zero, zero


def _bn_jvp_offset(d_offset, out, x, scale, offset, axis, epsilon):
    shape = tuple(s if a == axis else 1 for a, s in enumerate(x.shape))
    zero = zeros_like_op(out[1])
    return broadcast_to(reshape(d_offset, shape), x.shape), zero, zero


batch_norm_training_p.vjps = _batch_norm_training_vjp
defjvp(batch_norm_training_p, _bn_jvp_x, _bn_jvp_scale, _bn_jvp_offset)


def batch_norm_training(x, scale, offset, axis=-1, epsilon=1e-3):
    """Batch normalization in training mode, fused: ``(y, mean, variance)``.

    ``y = scale * (x - mean) / sqrt(variance + epsilon) + offset`` with the mean and
    the (biased) variance of ``x`` over every axis but ``axis``, as
    ``BatchNormalization`` computes while training (Keras 3).  One primitive with a
    hand-written VJP, instead of a dozen recorded ops; its gradients equal theirs.

    Args:
        x: a float Tensor.
        scale: gamma, shape (C,) for C = x.shape[axis].
        offset: beta, shape (C,).
        axis: the channel axis.
        epsilon: added to the variance.

    Returns:
        ``y`` (x's shape), and the batch ``mean`` and ``variance``, each (C,).

    Example:
        >>> import wengert as wg
        >>> from wengert.conv_ops import batch_norm_training
        >>> x = wg.constant([[1.0, 10.0], [3.0, 30.0]])
        >>> y, mean, var = batch_norm_training(x, wg.ones(2), wg.zeros(2), epsilon=0.0)
        >>> y.numpy()
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> mean.numpy(), var.numpy()
        (array([ 2., 20.], dtype=float32), array([  1., 100.], dtype=float32))
    """
    op = "batch_norm_training"
    x = operand(x)
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point x, got {x._value.dtype}")
    ndim = x._value.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for x of shape {list(x.shape)}")
    axis %= ndim
    c = x.shape[axis]
    scale, offset = operand(scale, x._value.dtype), operand(offset, x._value.dtype)
    for name, v in (("scale", scale), ("offset", offset)):
        if tuple(v.shape) != (c,) or v._value.dtype != x._value.dtype:
            raise ValueError(
                f"{op}: {name} must be ({c},) {x._value.dtype} for x {x._value.dtype}"
                f"{list(x.shape)} with channel axis {axis}, got {v._value.dtype}{list(v.shape)}"
            )
    y, mean, variance, _ = apply(
        batch_norm_training_p, (x, scale, offset), {"axis": axis, "epsilon": float(epsilon)}
    )
    return y, mean, variance
