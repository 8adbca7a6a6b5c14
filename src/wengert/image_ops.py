"""Image ops, as Keras 3's ``keras.ops.image`` and ``tf.image`` have them: ``resize``,
``affine_transform`` and the flips (``wg.image``).

Images are channels_last at the core, (height, width, channels) or a batch
(batch, height, width, channels); channels_first is a transpose around it.

Both resampling ops are linear in the image, so each is a primitive whose VJP is its
transpose and whose JVP is itself (their own rules for speed, DESIGN.md):

* ``resize`` is separable: each output row mixes input rows by one matrix
  (out_height, height) and each output column mixes input columns by another
  (out_width, width), so it is two GEMMs; its transpose is the same primitive with the
  transposed matrices.
* ``affine_transform`` reads each output pixel from at most 4 input pixels with fixed
  weights: a weighted gather, whose transpose is a weighted scatter-add (one
  ``np.bincount``); the two primitives are each other's VJP.

Interpolation matrices, sampling positions and weights depend on the sizes and the
transform only; the transform is a constant (no gradient flows to it).
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


def _resize_impl(x, rows, cols):
    # x is (..., height, width, channels): rows mix the height, cols the width.
    *lead, height, width, channels = x.shape
    rows = rows.astype(x.dtype, copy=False)
    cols = cols.astype(x.dtype, copy=False)
    y = xp.matmul(rows, x.reshape(*lead, height, width * channels))
    y = xp.matmul(cols, y.reshape(-1, width, channels))
    return y.reshape(*lead, rows.shape[0], cols.shape[0], channels)


resize_p = primitive("resize", _resize_impl)
# Linear in x: the VJP is the transpose (the transposed matrices), the JVP the map itself.
defvjp(resize_p, lambda g, out, x, rows, cols: _separable(g, rows.T, cols.T))
defjvp(resize_p, lambda dx, out, x, rows, cols: _separable(dx, rows, cols))


def _separable(x, rows, cols) -> Tensor:
    return apply(resize_p, (x,), {"rows": rows, "cols": cols})


def _resize_matrix(in_size: int, out_size: int, interpolation: str, antialias: bool):
    """The (out_size, in_size) matrix of a 1-D resize with half-pixel centres.

    Output pixel i is centred at input position (i + 0.5) * in_size / out_size (in pixel
    units, pixel j covering [j, j + 1)), as tf.image.resize and jax.image.resize place it.
    """
    i = xp.arange(out_size)
    if interpolation == "nearest":
        # floor((i + 0.5) * in / out) in integers: exact, no rounding at the ties.
        index = xp.minimum(((2 * i + 1) * in_size) // (2 * out_size), in_size - 1)
        matrix = xp.zeros((out_size, in_size))
        matrix[i, index] = 1.0
        return matrix
    scale = in_size / out_size
    centres = (i + 0.5) * scale
    # The triangle kernel; when antialiasing a downsample it is widened by the scale, so
    # every input pixel counts (tf.image.resize(antialias=True), PIL).
    width = max(scale, 1.0) if antialias else 1.0
    distance = (xp.arange(in_size) + 0.5)[None, :] - centres[:, None]
    matrix = xp.maximum(0.0, 1.0 - xp.abs(distance) / width)
    # Normalised: near the edges the taps outside the image are dropped, which is the
    # same as clamping the sample position to the image.
    return matrix / matrix.sum(axis=1, keepdims=True)


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
    height, width = x.shape[-3], x.shape[-2]
    if (height, width) == (target_height, target_width):
        out = x  # the identity (exactly: each matrix would be the identity)
    else:
        rows = _resize_matrix(height, target_height, interpolation, antialias)
        cols = _resize_matrix(width, target_width, interpolation, antialias)
        out = _separable(x, rows, cols)
    return _to_channels_first(out) if channels_first else out


# -- affine_transform --------------------------------------------------------------------------


def _sample_impl(x, index, weight, in_shape, out_shape):
    # out[p] = sum_k weight[p, k] * x[index[p, k]] over the pixels p, channels kept.
    flat = x.reshape(-1, x.shape[-1])
    w = weight.astype(x.dtype, copy=False)
    out = w[:, :1] * flat[index[:, 0]]
    for k in range(1, index.shape[1]):
        out += w[:, k : k + 1] * flat[index[:, k]]
    return out.reshape(out_shape)


def _sample_transpose_impl(g, index, weight, in_shape, out_shape):
    # The transpose of _sample_impl: each g[p] is added, times weight[p, k], to pixel
    # index[p, k]; one bincount over (pixel, channel) keys does every addition.
    channels = g.shape[-1]
    flat = g.reshape(-1, channels)
    keys = (index[:, :, None] * channels + xp.arange(channels)).ravel()
    values = (weight[:, :, None] * flat[:, None, :]).ravel()
    total = xp.bincount(keys, values, minlength=math.prod(in_shape))
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


def _sampling(transforms, batch: int, height: int, width: int, interpolation, fill_mode):
    """Flat source indices (P, K), weights (P, K) and the weight of the fill value
    (batch, height, width, 1) of every output pixel P of an affine_transform."""
    y, x = xp.mgrid[0:height, 0:width].astype(xp.float64)
    a0, a1, a2, b0, b1, b2, c0, c1 = (transforms[:, k, None, None] for k in range(8))
    k = c0 * x + c1 * y + 1.0
    with xp.errstate(divide="ignore", invalid="ignore"):
        x_in = (a0 * x + a1 * y + a2) / k
        y_in = (b0 * x + b1 * y + b2) / k
    # Where the projection is 0 (or the position not finite) the output is the fill
    # value, as TensorFlow's ImageProjectiveTransform gives.
    defined = xp.isfinite(x_in) & xp.isfinite(y_in) & (k != 0)
    # Clipped far outside (where float64 has no fraction left) so int64 cannot overflow.
    x_in = xp.where(defined, xp.clip(x_in, -(2.0**50), 2.0**50), 0.0)
    y_in = xp.where(defined, xp.clip(y_in, -(2.0**50), 2.0**50), 0.0)
    if interpolation == "nearest":
        # Round half away from zero, as TensorFlow and jax.scipy.ndimage do.
        taps = [
            (
                xp.sign(y_in) * xp.floor(xp.abs(y_in) + 0.5),
                xp.sign(x_in) * xp.floor(xp.abs(x_in) + 0.5),
                1.0,
            )
        ]
    else:
        y0 = xp.floor(y_in)
        x0 = xp.floor(x_in)
        fy = y_in - y0
        fx = x_in - x0
        taps = [
            (y0, x0, (1 - fy) * (1 - fx)),
            (y0, x0 + 1, (1 - fy) * fx),
            (y0 + 1, x0, fy * (1 - fx)),
            (y0 + 1, x0 + 1, fy * fx),
        ]
    offset = (xp.arange(batch) * (height * width))[:, None, None]
    indices, weights = [], []
    fill = xp.zeros((batch, height, width))
    for ty, tx, w in taps:
        w = xp.broadcast_to(w, (batch, height, width))
        row, row_ok = _fix_index(ty.astype(xp.int64), height, fill_mode)
        col, col_ok = _fix_index(tx.astype(xp.int64), width, fill_mode)
        keep = defined if row_ok is None else defined & row_ok & col_ok
        indices.append((offset + row * width + col).ravel())
        weights.append(xp.where(keep, w, 0.0).ravel())
        if fill_mode == "constant":
            fill = fill + xp.where(keep, 0.0, w)
    if fill_mode != "constant":
        fill = xp.where(defined, 0.0, 1.0)
    return xp.stack(indices, axis=1), xp.stack(weights, axis=1), fill[..., None]


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
    if channels_first:
        x = _to_channels_last(x)
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
    index, weight, fill = _sampling(transforms, batch, height, width, interpolation, fill_mode)
    shape = tuple(x.shape)
    out = apply(
        image_sample_p,
        (x,),
        {"index": index, "weight": weight, "in_shape": shape, "out_shape": shape},
    )
    fill_value = float(fill_value)
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
