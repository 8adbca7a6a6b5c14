"""Image preprocessing and augmentation layers, as in Keras 3: Resizing, CenterCrop,
RandomCrop, RandomRotation, RandomTranslation and RandomZoom.

(RandomFlip is in ``preprocessing``; ``wengert.image_ops`` has the flip ops.)

Each is a thin user of ``wengert.image_ops`` (resize, affine_transform, slicing), so
gradients flow through them to their inputs.  They take one image (height, width,
channels) or a batch (batch, height, width, channels), channels_last by default, and
compute in floats (integer pixels are cast to the layer's dtype, as Keras 3 outputs
floats).

The random layers draw from a random stream of their own, seeded by ``seed`` or else
from ``wengert.random``'s global generator (as Dropout does), so the same seed gives the
same augmentations.  As in Keras 3, whose preprocessing layers' ``call`` defaults to
``training=True``, they augment when called on their own or inside ``fit``, and are the
identity when called with ``training=False`` (``predict``, ``evaluate``); RandomCrop then
resizes (centre window, target aspect ratio) instead of cropping at random.  Images of
zero height or width are refused (ValueError), as TensorFlow refuses them.

Factors (rotation, translation, zoom) must lie in [-1, 1], pairs included: stricter than
Keras 3, which accepts any pair (lower, upper) for RandomTranslation and RandomZoom.

The random affine layers build Keras 3's transforms, each mapping an output pixel (x, y)
to the input position it reads (pixel centres at integer positions):

- rotation by angle t about the image centre (cx, cy) = ((W - 1) / 2, (H - 1) / 2):
  ``[cos t, -sin t, cx - cos t cx + sin t cy, sin t, cos t, cy - sin t cx - cos t cy, 0, 0]``
  (positive t turns the image counter-clockwise);
- translation by (dx, dy) pixels: ``[1, 0, -dx, 0, 1, -dy, 0, 0]``;
- zoom by (zx, zy) about the centre: ``[zx, 0, cx (1 - zx), 0, zy, cy (1 - zy), 0, 0]``
  (z > 1 zooms out).
"""

from __future__ import annotations

import math
import numbers
import operator

from ..array_ops import transpose
from ..backend import xp
from ..image_ops import (
    AFFINE_TRANSFORM_INTERPOLATIONS,
    RESIZE_INTERPOLATIONS,
    affine_transform,
    resize,
)
from ..random import layer_stream
from .base import Layer
from .conv import _data_format

__all__ = [
    "Resizing",
    "CenterCrop",
    "RandomCrop",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
]

# Keras 3's random affine layers accept these (its affine_transform op also "mirror").
_LAYER_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _positive_int(where: str, what: str, value) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{where}: {what} must be a positive int, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{where}: {what} must be a positive int, got {value!r}") from None
    if n <= 0:
        raise ValueError(f"{where}: {what} must be a positive int, got {value!r}")
    return n


def _choice(where: str, what: str, value, allowed: tuple) -> str:
    if value not in allowed:
        raise ValueError(f"{where}: {what} must be one of {allowed}, got {value!r}")
    return value


def _factor_range(where: str, what: str, factor) -> tuple:
    """(lower, upper) from Keras's factor: a number f gives (-|f|, |f|), a pair is sorted;
    every number must lie in [-1, 1]."""
    message = (
        f"{where}: {what} must be a number or a pair (lower, upper) of numbers in [-1, 1], "
        f"got {factor!r}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(message)
        values = factor
    else:
        values = (factor,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(message)
        if not -1.0 <= float(v) <= 1.0:
            raise ValueError(message)
    if len(values) == 1:
        f = abs(float(factor))
        return -f, f
    lower, upper = sorted(float(v) for v in values)
    return lower, upper


class _ImageLayer(Layer):
    """What the image layers share: channels_last at the core (channels_first is a
    transpose around ``_transform``), one image or a batch, float outputs."""

    _float_math = True  # integer pixels are cast to the layer's dtype (Keras outputs floats)

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, f"{type(self).__name__} '{self.name}'")

    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    # Keras 3's default: called on their own (no training= here or in an outer call) the
    # random layers augment; fit passes True, predict and evaluate False.
    def call(self, inputs, training=True):
        if inputs.ndim not in (3, 4):
            raise ValueError(
                f"{self._where()}: expected images of rank 3 (height, width, channels) or 4 "
                f"(batch, height, width, channels) in {self.data_format}, got shape "
                f"{tuple(inputs.shape)}"
            )
        if 0 in (inputs.shape[axis] for axis in self._spatial_axes(inputs.ndim)):
            raise ValueError(
                f"{self._where()}: images must have a nonzero height and width, got shape "
                f"{tuple(inputs.shape)} in {self.data_format}"
            )
        if self.data_format == "channels_last":
            return self._transform(inputs, bool(training))
        first = (2, 0, 1) if inputs.ndim == 3 else (0, 3, 1, 2)
        last = (1, 2, 0) if inputs.ndim == 3 else (0, 2, 3, 1)
        return transpose(self._transform(transpose(inputs, last), bool(training)), first)

    def _transform(self, images, training: bool):
        raise NotImplementedError

    def _spatial_axes(self, rank: int) -> tuple:
        if self.data_format == "channels_last":
            return (rank - 3, rank - 2)
        return (rank - 2, rank - 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class _SizedImageLayer(_ImageLayer):
    """An image layer whose outputs are ``height`` x ``width``."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height = _positive_int(self._where(), "height", height)
        self.width = _positive_int(self._where(), "width", width)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(
                f"{self._where()}: expected an input shape of rank 3 or 4, got {tuple(shape)}"
            )
        h, w = self._spatial_axes(len(shape))
        shape[h], shape[w] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


class Resizing(_SizedImageLayer):
    """Resize images to ``height`` x ``width`` (``wengert.image_ops.resize``).

    Args:
        height: the output height.
        width: the output width.
        interpolation: "bilinear" (default) or "nearest".
        crop_to_aspect_ratio: first crop the largest centred window with the target's
            aspect ratio, so the images are not distorted.
        pad_to_aspect_ratio: first pad the short side evenly with ``fill_value`` to the
            target's aspect ratio.
        fill_mode: the padding's mode; only "constant" (as Keras 3).
        fill_value: the padding's value.
        antialias: when downsampling with "bilinear", widen the kernel by the scale so
            every input pixel counts.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.image_preprocessing import Resizing
        >>> Resizing(16, 24)(wg.zeros((2, 32, 32, 3))).shape
        (2, 16, 24, 3)
        >>> Resizing(2, 2, crop_to_aspect_ratio=True)(wg.ones((4, 8, 1))).shape
        (2, 2, 1)
    """

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(height, width, data_format=data_format, **kwargs)
        where = self._where()
        self.interpolation = _choice(where, "interpolation", interpolation, RESIZE_INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                f"{where}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True"
            )
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = _choice(where, "fill_mode", fill_mode, ("constant",))
        self.fill_value = float(fill_value)
        self.antialias = bool(antialias)

    def _transform(self, images, training):
        return resize(
            images,
            (self.height, self.width),
            interpolation=self.interpolation,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio,
            fill_value=self.fill_value,
            antialias=self.antialias,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
        }


class CenterCrop(_SizedImageLayer):
    """Crop the central ``height`` x ``width`` window of images.

    An image smaller than that along either axis is instead resized (bilinear) from its
    largest centred window with the target's aspect ratio, as Keras 3 does.  With an odd
    difference of sizes the extra row or column is cut at the bottom or right.

    Args:
        height: the output height.
        width: the output width.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.image_preprocessing import CenterCrop
        >>> x = wg.reshape(wg.range(16.0), (4, 4, 1))
        >>> CenterCrop(2, 2)(x)[..., 0].numpy()
        array([[ 5.,  6.],
               [ 9., 10.]], dtype=float32)
    """

    def _transform(self, images, training):
        height, width = images.shape[-3], images.shape[-2]
        if height >= self.height and width >= self.width:
            top = (height - self.height) // 2
            left = (width - self.width) // 2
            return images[..., top : top + self.height, left : left + self.width, :]
        return resize(images, (self.height, self.width), crop_to_aspect_ratio=True)


class RandomCrop(_SizedImageLayer):
    """Crop a random ``height`` x ``width`` window, the same for every image of a batch.

    In training, when the images are at least the target's size along both axes, the
    window is drawn uniformly (along an axis already of the target's size it spans the
    axis), as tf.keras 2 and Keras 3 (after keras-team/keras#21871) do; otherwise
    (inference, or images smaller along an axis) the images are resized (bilinear) from
    their largest centred window with the target's aspect ratio.

    Args:
        height: the output height.
        width: the output width.
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.image_preprocessing import RandomCrop
        >>> crop = RandomCrop(2, 2, seed=0)
        >>> crop(wg.zeros((8, 5, 5, 3)), training=True).shape
        (8, 2, 2, 3)
        >>> x = wg.reshape(wg.range(16.0), (4, 4, 1))
        >>> crop(x, training=False)[..., 0].numpy()  # inference: resized, not cropped
        array([[ 2.5,  4.5],
               [10.5, 12.5]], dtype=float32)
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)
        self.seed = seed
        self.generator = layer_stream(type(self).__name__, seed)

    def _transform(self, images, training):
        height, width = images.shape[-3], images.shape[-2]
        if training and height >= self.height and width >= self.width:
            rng = self.generator._rng
            top = int(rng.integers(0, height - self.height + 1))
            left = int(rng.integers(0, width - self.width + 1))
            return images[..., top : top + self.height, left : left + self.width, :]
        return resize(images, (self.height, self.width), crop_to_aspect_ratio=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


class _RandomAffine(_ImageLayer):
    """A random transform per image, applied by ``affine_transform`` unless training=False."""

    def __init__(
        self,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(data_format=data_format, **kwargs)
        where = self._where()
        self.fill_mode = _choice(where, "fill_mode", fill_mode, _LAYER_FILL_MODES)
        self.interpolation = _choice(
            where, "interpolation", interpolation, AFFINE_TRANSFORM_INTERPOLATIONS
        )
        self.seed = seed
        self.fill_value = float(fill_value)
        self.generator = layer_stream(type(self).__name__, seed)

    def _transform(self, images, training):
        if not training:
            return images
        batch = images.shape[0] if images.ndim == 4 else 1
        transforms = self._transforms(batch, images.shape[-3], images.shape[-2])
        return affine_transform(
            images,
            transforms if images.ndim == 4 else transforms[0],
            interpolation=self.interpolation,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
        )

    def _transforms(self, batch: int, height: int, width: int):
        """(batch, 8) transforms drawn from the layer's stream."""
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "seed": self.seed,
            "fill_value": self.fill_value,
        }


class RandomRotation(_RandomAffine):
    """Rotate each image about its centre by a random angle, unless training=False.

    Args:
        factor: a fraction of a full turn: a number f draws the angle from
            [-f * 2 pi, f * 2 pi], a pair (lower, upper) from [lower * 2 pi, upper * 2 pi];
            numbers in [-1, 1], pairs too (stricter than Keras).  Positive angles turn
            counter-clockwise.
        fill_mode: how the area outside the image is filled: "reflect" (default,
            ``d c b a | a b c d | d c b a``), "wrap", "constant" (``fill_value``) or
            "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        fill_value: the value outside the image when ``fill_mode="constant"``.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.image_preprocessing import RandomRotation
        >>> quarter_turn = RandomRotation((0.25, 0.25), interpolation="nearest")
        >>> x = wg.reshape(wg.range(4.0), (2, 2, 1))
        >>> quarter_turn(x)[..., 0].numpy()  # counter-clockwise, as np.rot90
        array([[1., 3.],
               [0., 2.]], dtype=float32)
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor_range(self._where(), "factor", factor)

    def _transforms(self, batch, height, width):
        lower, upper = self.factor
        angle = self.generator._rng.uniform(lower * 2 * math.pi, upper * 2 * math.pi, batch)
        cos, sin = xp.cos(angle), xp.sin(angle)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        zero = xp.zeros(batch)
        x_offset = cx - (cos * cx - sin * cy)
        y_offset = cy - (sin * cx + cos * cy)
        return xp.stack([cos, -sin, x_offset, sin, cos, y_offset, zero, zero], axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomTranslation(_RandomAffine):
    """Shift each image by a random fraction of its height and width, unless training=False.

    Args:
        height_factor: a fraction of the height: a number f draws the shift from
            [-f, f] * height, a pair (lower, upper) from [lower, upper] * height; numbers
            in [-1, 1], pairs too (Keras accepts any pair).  Positive shifts move the
            image down.
        width_factor: the same for the width; positive shifts move the image right.
        fill_mode: "reflect" (default), "wrap", "constant" (``fill_value``) or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        fill_value: the value outside the image when ``fill_mode="constant"``.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.image_preprocessing import RandomTranslation
        >>> right = RandomTranslation(0.0, (0.5, 0.5), fill_mode="constant")
        >>> right(wg.reshape(wg.constant([1.0, 2.0, 3.0, 4.0]), (1, 4, 1)))[0, :, 0].numpy()
        array([0., 0., 1., 2.], dtype=float32)
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        where = self._where()
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _factor_range(where, "height_factor", height_factor)
        self.width_factor = width_factor
        self.width_lower, self.width_upper = _factor_range(where, "width_factor", width_factor)

    def _transforms(self, batch, height, width):
        rng = self.generator._rng
        dy = rng.uniform(self.height_lower, self.height_upper, batch) * height
        dx = rng.uniform(self.width_lower, self.width_upper, batch) * width
        one, zero = xp.ones(batch), xp.zeros(batch)
        return xp.stack([one, zero, -dx, zero, one, -dy, zero, zero], axis=1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomZoom(_RandomAffine):
    """Zoom each image about its centre by a random factor per axis, unless training=False.

    Args:
        height_factor: a fraction: a number f draws the vertical zoom from 1 + [-f, f],
            a pair (lower, upper) from 1 + [lower, upper]; numbers in [-1, 1], pairs too
            (Keras accepts any pair).  Positive values zoom out (the image shrinks),
            negative values zoom in.
        width_factor: the same for the horizontal zoom; None (default) zooms both axes by
            the vertical zoom, keeping the aspect ratio.
        fill_mode: "reflect" (default), "wrap", "constant" (``fill_value``) or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        fill_value: the value outside the image when ``fill_mode="constant"``.
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.image_preprocessing import RandomZoom
        >>> zoom_out = RandomZoom((1.0, 1.0), fill_mode="constant")  # twice as small
        >>> zoom_out(wg.reshape(wg.constant([1.0, 2.0, 3.0]), (1, 3, 1)))[0, :, 0].numpy()
        array([0., 2., 0.], dtype=float32)
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        where = self._where()
        self.height_factor = height_factor
        self.height_lower, self.height_upper = _factor_range(where, "height_factor", height_factor)
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = _factor_range(where, "width_factor", width_factor)

    def _transforms(self, batch, height, width):
        rng = self.generator._rng
        zy = rng.uniform(1.0 + self.height_lower, 1.0 + self.height_upper, batch)
        if self.width_factor is None:
            zx = zy
        else:
            zx = rng.uniform(1.0 + self.width_lower, 1.0 + self.width_upper, batch)
        cx, cy = (width - 1) / 2, (height - 1) / 2
        zero = xp.zeros(batch)
        return xp.stack([zx, zero, cx * (1 - zx), zero, zy, cy * (1 - zy), zero, zero], axis=1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }
