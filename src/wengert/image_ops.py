"""Image ops, as Keras 3's ``keras.ops.image`` and ``tf.image`` have them: ``resize``,
``affine_transform`` and the flips (``wg.image``).

Images are channels_last at the core, (height, width, channels) or a batch
(batch, height, width, channels); channels_first is a transpose around it.

Both resampling ops are linear in the image, so each is a primitive whose VJP is its
transpose and whose JVP is itself (their own rules for speed, DESIGN.md):

* ``resize`` is separable: a pass along the height, then one along the width, each
  reading every output pixel from a few input pixels (1 for "nearest", 2 for
  "bilinear", about 2 * in / out when antialiasing a downsample) with fixed weights: a
  weighted gather along one axis, whose transpose is a weighted scatter-add (sorted
  indices make it one ``np.add.reduceat`` per tap); the two primitives are each
  other's VJP.  A gather costs O(taps) per output pixel, where a dense interpolation
  matrix costs O(input size), and keeps a NaN or Inf pixel in the outputs that read it.
* ``affine_transform`` reads each output pixel from at most 4 input pixels with fixed
  weights: a weighted gather, whose transpose is a weighted scatter-add (one
  ``np.bincount``); the two primitives are each other's VJP.

Sampling positions and weights depend on the sizes and the transform only; the
transform is a constant (no gradient flows to it).  float16 images are computed in
float32 and cast back.
"""

from __future__ import annotations

import math
import operator

from .array_ops import pad, transpose
from .backend import xp
from .core import apply, defjvp, defvjp, operand, primitive
from .tensor import Tensor, wrap

__all__ = [
    "resize",
    "affine_transform",
    "flip_left_right",
    "flip_up_down",
    "RESIZE_INTERPOLATIONS",
    "AFFINE_TRANSFORM_INTERPOLATIONS",
    "AFFINE_TRANSFORM_FILL_MODES",
]

RESIZE_INTERPOLATIONS = ("bilinear", "nearest")
# Keras 3 has these too; named in the error so a user knows they are not a typo.
_KERAS_ONLY_RESIZE = ("bicubic", "lanczos3", "lanczos5", "area")
AFFINE_TRANSFORM_INTERPOLATIONS = ("bilinear", "nearest")
AFFINE_TRANSFORM_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


# -- checking arguments --------------------------------------------------------------------


def _images(op: str, images, float_only: bool = True) -> Tensor:
    """``images`` as a (floating-point) Tensor of rank 3 or 4, or an error naming ``op``."""
    x = operand(images)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected images of rank 3 (height, width, channels) or 4 (batch, height, "
            f"width, channels), got shape {tuple(x.shape)}"
        )
    if float_only and x.dtype.kind != "f":
        raise TypeError(
            f"{op}: expected floating-point images, got {x.dtype}{list(x.shape)}; cast them "
            "first, e.g. wg.cast(images, 'float32')"
        )
    return x


def _data_format(op: str, data_format) -> str:
    value = "channels_last" if data_format is None else str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{op}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
        )
    return value


def _to_channels_last(x: Tensor) -> Tensor:
    return transpose(x, (1, 2, 0) if x.ndim == 3 else (0, 2, 3, 1))


def _to_channels_first(x: Tensor) -> Tensor:
    return transpose(x, (2, 0, 1) if x.ndim == 3 else (0, 3, 1, 2))


def _nonempty(op: str, x: Tensor, channels_first: bool) -> None:
    """An error naming ``op`` for images of zero height or width (as TensorFlow refuses
    them): there is nothing to sample from."""
    spatial = x.shape[-2:] if channels_first else x.shape[-3:-1]
    if 0 in spatial:
        raise ValueError(
            f"{op}: images must have a nonzero height and width, got shape {tuple(x.shape)}"
        )


def _size(op: str, size) -> tuple:
    try:
        height, width = (operator.index(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: size must be 2 positive ints (height, width), got {size!r}"
        ) from None
    if height <= 0 or width <= 0:
        raise ValueError(f"{op}: size must be 2 positive ints (height, width), got {size!r}")
    return height, width


# -- resize ----------------------------------------------------------------------------------


def _compute_dtype(dtype):
    # float16 (and narrower) is computed in float32 and cast back: NumPy has no half
    # arithmetic of its own (each op converts), and float32 sums lose less.
    return xp.float32 if dtype.itemsize < 4 else dtype


# Below this many elements after the resampled axis (a width pass over few channels),
# _resample_impl takes single elements instead of runs.
_SHORT_INNER = 16


def _resample_impl(x, index, weight, axis, size):
    # Along ``axis``: out[..., i, ...] = sum_k weight[k, i] * x[..., index[k, i], ...]
    # (weight None: one tap of weight 1).  Viewed as (outer, size, inner), with the sizes
    # spelled out, so a zero-size axis is not ambiguous.
    shape = x.shape
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1 :])
    work = _compute_dtype(x.dtype)
    source = x.astype(work, copy=False).reshape(outer, size, inner)
    out_size = index.shape[1]
    if 0 < inner < _SHORT_INNER:
        # np.take copies short runs (a pixel's few channels) slowly; taking single
        # elements of the (outer, size * inner) view, by expanded indices, is faster.
        source = source.reshape(outer, size * inner, 1)
        index = (index[:, :, None] * inner + xp.arange(inner)).reshape(index.shape[0], -1)
        if weight is not None:
            weight = xp.repeat(weight, inner, axis=1)
    out = xp.take(source, index[0], axis=1)
    if weight is not None:
        weight = weight.astype(work, copy=False)
        out *= weight[0][:, None]
        for k in range(1, index.shape[0]):
            tap = xp.take(source, index[k], axis=1)
            tap *= weight[k][:, None]
            out += tap
    return out.reshape(shape[:axis] + (out_size,) + shape[axis + 1 :]).astype(x.dtype, copy=False)


def _resample_transpose_impl(g, index, weight, axis, size):
    # The transpose of _resample_impl: g[..., i, ...] * weight[k, i] is added to position
    # index[k, i].  Each row of ``index`` is sorted (_resize_taps builds it so), so the
    # equal indices are runs and one np.add.reduceat per tap sums them: no scatter.
    shape = g.shape
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1 :])
    work = _compute_dtype(g.dtype)
    cotangent = g.astype(work, copy=False).reshape(outer, index.shape[1], inner)
    total = xp.zeros((outer, size, inner), dtype=work)
    for k in range(index.shape[0]):
        tap = cotangent if weight is None else cotangent * weight[k].astype(work)[:, None]
        starts = xp.flatnonzero(xp.diff(index[k], prepend=-1))
        total[:, index[k][starts]] += xp.add.reduceat(tap, starts, axis=1)
    return total.reshape(shape[:axis] + (size,) + shape[axis + 1 :]).astype(g.dtype, copy=False)


resample_p = primitive("resample", _resample_impl)
resample_transpose_p = primitive("resample_transpose", _resample_transpose_impl)
# Linear in x and each other's transpose (the parameters are shared): the VJP of one is
# the other, the JVP of each is itself.
defvjp(resample_p, lambda g, out, x, **p: apply(resample_transpose_p, (g,), p))
defjvp(resample_p, lambda dx, out, x, **p: apply(resample_p, (dx,), p))
defvjp(resample_transpose_p, lambda g, out, x, **p: apply(resample_p, (g,), p))
defjvp(resample_transpose_p, lambda dx, out, x, **p: apply(resample_transpose_p, (dx,), p))


def _resize_taps(in_size: int, out_size: int, interpolation: str, antialias: bool):
    """(index, weight) of a 1-D resize with half-pixel centres: output pixel i is
    ``sum_k weight[k, i] * input[index[k, i]]`` (weight None: ``input[index[0, i]]``).

    Output pixel i is centred at input position (i + 0.5) * in_size / out_size (in pixel
    units, pixel j covering [j, j + 1)), as tf.image.resize and jax.image.resize place it.
    Each row index[k] is sorted (nondecreasing in i), which the transpose relies on.
    """
    i = xp.arange(out_size)
    if interpolation == "nearest":
        # floor((i + 0.5) * in / out) in integers: exact, no rounding at the ties.
        index = xp.minimum(((2 * i + 1) * in_size) // (2 * out_size), in_size - 1)
        return index[None].astype(xp.intp), None
    scale = in_size / out_size
    # Centres in index units (input pixel j centred at j).
    centres = (i + 0.5) * scale - 0.5
    # The triangle kernel of half-width 1; when antialiasing a downsample it is widened by
    # the scale, so every input pixel counts (tf.image.resize(antialias=True), PIL).  Its
    # support (c - width, c + width) holds at most ceil(2 width) pixels.
    width = max(scale, 1.0) if antialias else 1.0
    taps = math.ceil(2 * width)
    first = xp.floor(centres - width).astype(xp.intp) + 1
    index = first[None, :] + xp.arange(taps)[:, None]  # (taps, out_size)
    weight = xp.maximum(0.0, 1.0 - xp.abs(index - centres) / width)
    inside = (index >= 0) & (index < in_size)
    weight = xp.where(inside, weight, 0.0)
    # Normalised: near the edges the taps outside the image are dropped, which is the
    # same as clamping the sample position to the image.
    weight = weight / weight.sum(axis=0)
    # A tap of weight 0 is pointed at a pixel the output reads anyway (the nearest one of
    # weight > 0), so a NaN or Inf pixel reaches only the outputs that read it (0 * NaN
    # is NaN); clipping to the bounds, which grow with i, keeps each row sorted.
    used = weight > 0
    lowest = xp.where(used, index, in_size).min(axis=0)
    highest = xp.where(used, index, -1).max(axis=0)
    index = xp.clip(index, lowest, highest)
    return index, weight


def _resample(x: Tensor, axis: int, out_size: int, interpolation: str, antialias: bool):
    size = x.shape[axis]
    if size == out_size:
        return x  # the identity, exactly
    index, weight = _resize_taps(size, out_size, interpolation, antialias)
    params = {"index": index, "weight": weight, "axis": axis % x.ndim, "size": size}
    return apply(resample_p, (x,), params)


def _aspect_crop(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """(top, left, crop_height, crop_width): the largest centred window of the target's
    aspect ratio, as Keras 3 computes it (int() truncation included)."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    return int((height - crop_height) / 2), int((width - crop_width) / 2), crop_height, crop_width


def _aspect_pad(height: int, width: int, target_height: int, target_width: int) -> tuple:
    """(top, left): the padding on each side that gives the target's aspect ratio (Keras 3)."""
    pad_height = max(height, int(float(width * target_height) / target_width))
    pad_width = max(width, int(float(height * target_width) / target_height))
    return int((pad_height - height) / 2), int((pad_width - width) / 2)


def resize(
    images,
    size,
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Resize images to ``size`` = (height, width), with half-pixel centres.

    As ``keras.ops.image.resize`` and ``tf.image.resize``: "bilinear" equals
    ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`` and
    "nearest" takes input pixel ``floor((i + 0.5) * in / out)`` (torch's "nearest-exact").
    The gradient flows to ``images``.

    Args:
        images: float images, (height, width, channels) or (batch, height, width, channels).
        size: the output (height, width).
        interpolation: "bilinear" or "nearest".
        antialias: when downsampling with "bilinear", widen the kernel by the scale so
            every input pixel counts (no aliasing).
        crop_to_aspect_ratio: first crop the largest centred window with the target's
            aspect ratio, so the image is not distorted.
        pad_to_aspect_ratio: first pad the short side evenly with ``fill_value`` to the
            target's aspect ratio.
        fill_mode: the padding's mode; only "constant" (as Keras 3).
        fill_value: the padding's value.
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        The resized images, of the input's dtype.

    Example:
        >>> import wengert as wg
        >>> from wengert.image_ops import resize
        >>> x = wg.reshape(wg.constant([0.0, 1.0, 2.0, 3.0]), (2, 2, 1))
        >>> resize(x, (4, 4))[..., 0].numpy()
        array([[0.  , 0.25, 0.75, 1.  ],
               [0.5 , 0.75, 1.25, 1.5 ],
               [1.5 , 1.75, 2.25, 2.5 ],
               [2.  , 2.25, 2.75, 3.  ]], dtype=float32)
    """
    op = "resize"
    x = _images(op, images)
    target_height, target_width = _size(op, size)
    if interpolation not in RESIZE_INTERPOLATIONS:
        hint = (
            " (Keras has it; wengert does not yet)" if interpolation in _KERAS_ONLY_RESIZE else ""
        )
        raise ValueError(
            f"{op}: interpolation must be one of {RESIZE_INTERPOLATIONS}, got "
            f"{interpolation!r}{hint}"
        )
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            f"{op}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True"
        )
    if fill_mode != "constant":
        raise ValueError(f"{op}: fill_mode must be 'constant' (the only mode), got {fill_mode!r}")
    channels_first = _data_format(op, data_format) == "channels_first"
    _nonempty(op, x, channels_first)
    if channels_first:
        x = _to_channels_last(x)
    height, width = x.shape[-3], x.shape[-2]
    if crop_to_aspect_ratio:
        top, left, crop_height, crop_width = _aspect_crop(
            height, width, target_height, target_width
        )
        x = x[..., top : top + crop_height, left : left + crop_width, :]
    elif pad_to_aspect_ratio:
        top, left = _aspect_pad(height, width, target_height, target_width)
        if top or left:
            sides = ((0, 0),) * (x.ndim - 3) + ((top, top), (left, left), (0, 0))
            x = pad(x, sides, constant_values=float(fill_value))
    # One pass along each axis (the identity where the size is already the target's).
    # The second pass writes the whole output; a pass along the height moves whole rows
    # and is cheaper per element than one along the width (measured ~1.5x), so the
    # order with the smaller estimated cost goes first.
    height, width = x.shape[-3], x.shape[-2]
    height_first = target_height * width + 1.5 * target_height * target_width
    width_first = 1.5 * height * target_width + target_height * target_width
    if height_first <= width_first:
        out = _resample(x, -3, target_height, interpolation, antialias)
        out = _resample(out, -2, target_width, interpolation, antialias)
    else:
        out = _resample(x, -2, target_width, interpolation, antialias)
        out = _resample(out, -3, target_height, interpolation, antialias)
    return _to_channels_first(out) if channels_first else out


# -- affine_transform --------------------------------------------------------------------------


def _sample_impl(x, index, weight, in_shape, out_shape):
    # out[p] = sum_k weight[k, p] * x[index[k, p]] over the pixels p, channels kept.
    # np.take on rows is about twice as fast as fancy indexing; the pixel counts are
    # spelled out so zero channels are not ambiguous.
    channels = in_shape[-1]
    work = _compute_dtype(x.dtype)
    flat = x.astype(work, copy=False).reshape(math.prod(in_shape[:-1]), channels)
    weight = weight.astype(work, copy=False)
    out = xp.take(flat, index[0], axis=0)
    out *= weight[0][:, None]
    for k in range(1, index.shape[0]):
        tap = xp.take(flat, index[k], axis=0)
        tap *= weight[k][:, None]
        out += tap
    return out.reshape(out_shape).astype(x.dtype, copy=False)


def _sample_transpose_impl(g, index, weight, in_shape, out_shape):
    # The transpose of _sample_impl: each g[p] is added, times weight[k, p], to pixel
    # index[k, p]; one bincount per channel does every addition, all sharing the keys.
    channels = in_shape[-1]
    pixels = math.prod(in_shape[:-1])
    flat = g.reshape(index.shape[1], channels)
    keys = index.ravel().astype(xp.intp, copy=False)
    total = xp.empty((pixels, channels))
    for c in range(channels):
        values = (weight * flat[:, c]).ravel()
        total[:, c] = xp.bincount(keys, values, minlength=pixels)
    return total.reshape(in_shape).astype(g.dtype, copy=False)


image_sample_p = primitive("image_sample", _sample_impl)
image_sample_transpose_p = primitive("image_sample_transpose", _sample_transpose_impl)
# Each is linear in its input and the other's transpose (the parameters are shared).
defvjp(image_sample_p, lambda g, out, x, **p: apply(image_sample_transpose_p, (g,), p))
defjvp(image_sample_p, lambda dx, out, x, **p: apply(image_sample_p, (dx,), p))
defvjp(image_sample_transpose_p, lambda g, out, x, **p: apply(image_sample_p, (g,), p))
defjvp(image_sample_transpose_p, lambda dx, out, x, **p: apply(image_sample_transpose_p, (dx,), p))


def _fix_index(index, size: int, fill_mode: str):
    """Integer positions on the image extended by ``fill_mode`` -> (pixel index, valid).

    Keras 3's (and jax.scipy.ndimage's) extension of a row ``a b c d``:
    constant ``k k | a b c d | k k`` (valid marks the image), nearest ``a a | a b c d | d d``,
    wrap ``c d | a b c d | a b``, mirror ``c b | a b c d | c b`` (about the edge pixels'
    centres), reflect ``b a | a b c d | d c`` (about their outer edges).
    """
    if fill_mode == "constant":
        valid = (index >= 0) & (index < size)
        return xp.where(valid, index, 0), valid
    if fill_mode == "nearest":
        return xp.clip(index, 0, size - 1), None
    if fill_mode == "wrap":
        return index % size, None
    if fill_mode == "mirror":
        return _mirror(index, size), None
    # reflect: mirror on the grid of half pixels, 2 * size + 1 points long.
    return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2, None


def _mirror(index, size: int):
    if size == 1:
        return xp.zeros_like(index)
    period = size - 1  # a triangle wave of half-period size - 1
    return xp.abs((index + period) % (2 * period) - period)


# Sampling positions are clipped to +-2**29 pixels (far outside any image, where a float
# position is read as an integer one), so the int32 arithmetic of _fix_index, at most
# 2 * index + 1 + 2 * (2 * size + 1), cannot overflow for sizes below 2**28.
_POSITION_LIMIT = 2.0**29
# Pixels per chunk of _sampling: its dozen temporaries then stay in the CPU's cache.
_CHUNK_PIXELS = 2**14


def _sampling(
    transforms, batch: int, height: int, width: int, interpolation, fill_mode, dtype=None
):
    """Where every output pixel P of an affine_transform reads its input.

    Returns flat source indices (K, P) (int32, or intp for 2**31 pixels or more),
    weights (K, P) in ``dtype`` (default float64) and the weight of the fill value
    (batch, height, width, 1), float64; K is 4 for "bilinear" and 1 for "nearest".
    The rows (batch * height of them) are done in chunks so temporaries stay in cache.
    """
    taps = 1 if interpolation == "nearest" else 4
    pixels = batch * height * width
    index = xp.empty((taps, pixels), dtype=xp.int32 if pixels < 2**31 else xp.intp)
    weight = xp.empty((taps, pixels), dtype=xp.float64 if dtype is None else dtype)
    fill = xp.empty((batch * height, width))
    rows_per_chunk = max(1, _CHUNK_PIXELS // max(width, 1))
    x = xp.arange(width, dtype=xp.float64)[None, :]
    for start in range(0, batch * height, rows_per_chunk):
        rows = xp.arange(start, min(start + rows_per_chunk, batch * height))
        image = rows // height
        y = (rows % height).astype(xp.float64)[:, None]
        a0, a1, a2, b0, b1, b2, c0, c1 = (transforms[image, k, None] for k in range(8))
        k = c0 * x + c1 * y + 1.0
        with xp.errstate(divide="ignore", invalid="ignore"):
            x_in = (a0 * x + a1 * y + a2) / k
            y_in = (b0 * x + b1 * y + b2) / k
        # Where the projection is 0 (or the position not finite) the output is the fill
        # value, as TensorFlow's ImageProjectiveTransform gives.
        defined = xp.isfinite(x_in) & xp.isfinite(y_in) & (k != 0)
        x_in = xp.where(defined, xp.clip(x_in, -_POSITION_LIMIT, _POSITION_LIMIT), 0.0)
        y_in = xp.where(defined, xp.clip(y_in, -_POSITION_LIMIT, _POSITION_LIMIT), 0.0)
        offset = (image * (height * width)).astype(index.dtype)[:, None]
        chunk = slice(start * width, (start + len(rows)) * width)
        if interpolation == "nearest":
            # Round half away from zero, as TensorFlow and jax.scipy.ndimage do.
            row_in = (xp.sign(y_in) * xp.floor(xp.abs(y_in) + 0.5)).astype(xp.int32)
            col_in = (xp.sign(x_in) * xp.floor(xp.abs(x_in) + 0.5)).astype(xp.int32)
            row, row_ok = _fix_index(row_in, height, fill_mode)
            col, col_ok = _fix_index(col_in, width, fill_mode)
            keep = defined if row_ok is None else defined & row_ok & col_ok
            index[0, chunk] = (offset + row.astype(index.dtype, copy=False) * width + col).ravel()
            weight[0, chunk] = keep.ravel()
            fill[start : start + len(rows)] = ~keep
            continue
        y0 = xp.floor(y_in)
        x0 = xp.floor(x_in)
        fy = y_in - y0
        fx = x_in - x0
        # Each tap's row is y0 or y0 + 1, its column x0 or x0 + 1: 4 fixes serve 4 taps.
        top = y0.astype(xp.int32)
        left = x0.astype(xp.int32)
        row0, row0_ok = _fix_index(top, height, fill_mode)
        row1, row1_ok = _fix_index(top + 1, height, fill_mode)
        col0, col0_ok = _fix_index(left, width, fill_mode)
        col1, col1_ok = _fix_index(left + 1, width, fill_mode)
        row0 = offset + row0.astype(index.dtype, copy=False) * width
        row1 = offset + row1.astype(index.dtype, copy=False) * width
        # The old weights' formulas and order, for the same bits.
        corners = (
            (row0, col0, row0_ok, col0_ok, (1 - fy) * (1 - fx)),
            (row0, col1, row0_ok, col1_ok, (1 - fy) * fx),
            (row1, col0, row1_ok, col0_ok, fy * (1 - fx)),
            (row1, col1, row1_ok, col1_ok, fy * fx),
        )
        outside = xp.zeros(y_in.shape)
        for tap, (row, col, row_ok, col_ok, w) in enumerate(corners):
            keep = defined if row_ok is None else defined & row_ok & col_ok
            index[tap, chunk] = (row + col).ravel()
            weight[tap, chunk] = xp.where(keep, w, 0.0).ravel()
            if fill_mode == "constant":
                outside += xp.where(keep, 0.0, w)
        fill[start : start + len(rows)] = outside if fill_mode == "constant" else ~defined
    return index, weight, fill.reshape(batch, height, width, 1)


def affine_transform(
    images,
    transform,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> Tensor:
    """Apply projective transforms to images, as ``keras.ops.image.affine_transform``.

    A transform ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps each output pixel (x, y)
    (column, row, integer pixel positions) to the input position
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``, which is
    read by interpolation from the input extended by ``fill_mode``:

    - "constant": ``(k k k k | a b c d | k k k k)``, k = ``fill_value``;
    - "nearest": ``(a a a a | a b c d | d d d d)``;
    - "wrap": ``(a b c d | a b c d | a b c d)``;
    - "mirror": ``(c d c b | a b c d | c b a b)``, about the edge pixels' centres;
    - "reflect": ``(d c b a | a b c d | d c b a)``, about the edge pixels' outer edges.

    The output has the input's shape.  The gradient flows to ``images``; the transform
    is a constant.

    Args:
        images: float images, (height, width, channels) or (batch, height, width, channels).
        transform: 8 numbers, or (batch, 8): one transform per image (or one for all).
        interpolation: "bilinear" or "nearest" (rounding halves away from zero).
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: the value outside the image when ``fill_mode="constant"``.
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        The transformed images.

    Example:
        >>> import wengert as wg
        >>> from wengert.image_ops import affine_transform
        >>> row = wg.reshape(wg.constant([1.0, 2.0, 3.0, 4.0]), (1, 4, 1))
        >>> shift_right = [1, 0, -1.5, 0, 1, 0, 0, 0]  # output x reads input x - 1.5
        >>> affine_transform(row, shift_right)[0, :, 0].numpy()
        array([0. , 0.5, 1.5, 2.5], dtype=float32)
        >>> affine_transform(row, shift_right, fill_mode="reflect")[0, :, 0].numpy()
        array([1.5, 1. , 1.5, 2.5], dtype=float32)
    """
    op = "affine_transform"
    x = _images(op, images)
    if interpolation not in AFFINE_TRANSFORM_INTERPOLATIONS:
        raise ValueError(
            f"{op}: interpolation must be one of {AFFINE_TRANSFORM_INTERPOLATIONS}, got "
            f"{interpolation!r}"
        )
    if fill_mode not in AFFINE_TRANSFORM_FILL_MODES:
        raise ValueError(
            f"{op}: fill_mode must be one of {AFFINE_TRANSFORM_FILL_MODES}, got {fill_mode!r}"
        )
    channels_first = _data_format(op, data_format) == "channels_first"
    _nonempty(op, x, channels_first)
    if channels_first:
        x = _to_channels_last(x)
    try:
        fill_value = float(fill_value)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: fill_value must be a number, got {fill_value!r}") from None
    value = transform._value if isinstance(transform, Tensor) else transform
    try:
        transforms = xp.asarray(value, dtype=xp.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{op}: transform must be numbers, got {type(transform).__name__}"
        ) from None
    batch = x.shape[0] if x.ndim == 4 else 1
    if transforms.ndim == 1:
        transforms = transforms[None]
    if transforms.ndim != 2 or transforms.shape[1] != 8 or transforms.shape[0] not in (1, batch):
        raise ValueError(
            f"{op}: transform must have shape (8,) or ({batch}, 8) for images of shape "
            f"{tuple(x.shape)}, got {tuple(xp.shape(value))}"
        )
    transforms = xp.broadcast_to(transforms, (batch, 8))
    height, width = x.shape[-3], x.shape[-2]
    # Weights in the image's float dtype (float32 for float16) halve what the tape keeps.
    index, weight, fill = _sampling(
        transforms, batch, height, width, interpolation, fill_mode, _compute_dtype(x.dtype)
    )
    shape = tuple(x.shape)
    out = apply(
        image_sample_p,
        (x,),
        {"index": index, "weight": weight, "in_shape": shape, "out_shape": shape},
    )
    if fill_value != 0.0 and fill.any():  # out += fill_value * (weight of the outside)
        fill = fill.reshape(shape[:-1] + (1,)) * fill_value
        out = out + wrap(fill.astype(x.dtype), "affine_transform_fill")
    return _to_channels_first(out) if channels_first else out


# -- flips --------------------------------------------------------------------------------------


def flip_left_right(images) -> Tensor:
    """Reverse the width axis of channels_last images, as ``tf.image.flip_left_right``.

    Example:
        >>> import wengert as wg
        >>> from wengert.image_ops import flip_left_right
        >>> flip_left_right(wg.reshape(wg.constant([1.0, 2.0, 3.0]), (1, 3, 1)))[0, :, 0].numpy()
        array([3., 2., 1.], dtype=float32)
    """
    x = _images("flip_left_right", images, float_only=False)
    return x[..., ::-1, :]


def flip_up_down(images) -> Tensor:
    """Reverse the height axis of channels_last images, as ``tf.image.flip_up_down``.

    Example:
        >>> import wengert as wg
        >>> from wengert.image_ops import flip_up_down
        >>> flip_up_down(wg.reshape(wg.constant([1.0, 2.0, 3.0]), (3, 1, 1)))[:, 0, 0].numpy()
        array([3., 2., 1.], dtype=float32)
    """
    x = _images("flip_up_down", images, float_only=False)
    return x[..., ::-1, :, :]
