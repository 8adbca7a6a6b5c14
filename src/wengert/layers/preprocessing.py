"""Keras 3's value-wise preprocessing and augmentation layers: Rescaling, RandomFlip,
RandomContrast, RandomBrightness, Identity, UnitNormalization, AlphaDropout,
CategoryEncoding and Discretization.

Images are channels-last, one image (height, width, channels) or a batch (batch, height,
width, channels), as Keras takes them.  The image augmentations (RandomFlip,
RandomContrast, RandomBrightness) declare ``call(training=True)`` as Keras 3's do: called
on their own, or in a model called without ``training=``, they augment; ``fit`` passes
True, and ``predict``, ``evaluate`` and ``training=False`` give the identity.
AlphaDropout, like Dropout, acts only when ``training`` is true.  Each draws
from a random stream of its own, its ``generator``, seeded by ``seed`` or else from
``wengert.random``'s global generator, so ``set_seed`` makes a run repeatable and a
checkpoint restores the stream.  One random value is drawn per image (per direction for
RandomFlip), so every pixel and channel of an image gets the same change.

The layers are written with wengert's ops (``where``, slicing, ``reduce_mean``,
``clip_by_value``), so gradients reach the input wherever the op is differentiable:
Rescaling, the flips, contrast and brightness (zero where the output was clipped),
UnitNormalization and AlphaDropout.  CategoryEncoding and Discretization output counts
and bin indices, which have no gradient with respect to the input.
"""

from __future__ import annotations

import numbers

from ..array_ops import cast, expand_dims, one_hot
from ..backend import xp
from ..core import operand
from ..math_ops import clip_by_value, maximum, reduce_mean, reduce_sum, sqrt, square, where
from ..random import layer_stream
from ..tensor import Tensor, wrap
from .base import Layer
from .conv import _data_format
from .regularization import _rate

__all__ = [
    "Rescaling",
    "RandomFlip",
    "RandomContrast",
    "RandomBrightness",
    "Identity",
    "UnitNormalization",
    "AlphaDropout",
    "CategoryEncoding",
    "Discretization",
]


# -- shared checks -------------------------------------------------------------------------
def _where(layer: Layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _check_images(layer: Layer, inputs) -> None:
    """Raise ValueError unless ``inputs`` is one image (rank 3) or a batch (rank 4)."""
    if inputs.ndim not in (3, 4):
        raise ValueError(
            f"{_where(layer)}: expected images of rank 3 (one image) or 4 (a batch of "
            f"images), got rank {inputs.ndim} with shape {tuple(inputs.shape)}"
        )


def _per_image(inputs) -> tuple:
    """The shape of one random draw per image: (batch, 1, 1, 1), or (1, 1, 1) for one."""
    return (inputs.shape[0], 1, 1, 1) if inputs.ndim == 4 else (1, 1, 1)


def _factor(layer: str, factor, low: float, high: float, given=None) -> tuple:
    """``factor`` as a sorted pair (lower, upper), both ends in [low, high]; a number f
    means (f, f)."""
    expected = (
        f"{layer}: factor must be a number or a pair of numbers in [{low:g}, {high:g}], "
        f"got {factor if given is None else given!r}"
    )
    if isinstance(factor, (list, tuple)):
        if len(factor) != 2 or not all(isinstance(f, numbers.Real) for f in factor):
            raise ValueError(expected)
        lower, upper = sorted(float(f) for f in factor)
    elif isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        lower, upper = float(factor), float(factor)
    else:
        raise ValueError(expected)
    if not (low <= lower <= high and low <= upper <= high):
        raise ValueError(expected)
    return lower, upper


def _value_range(layer: str, value_range) -> tuple:
    """``value_range`` as a sorted pair of floats (RandomBrightness sorts it in Keras)."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"{layer}: value_range must be a pair of numbers (low, high), got {value_range!r}"
        ) from None
    if not low < high:
        low, high = high, low
    if low == high:
        raise ValueError(f"{layer}: value_range must span an interval, got {value_range!r}")
    return low, high


def _seeded(layer: Layer, seed) -> None:
    layer.seed = seed
    layer.generator = layer_stream(type(layer).__name__, seed)


# -- Rescaling, Identity -------------------------------------------------------------------
def _plain_number_or_list(layer: str, what: str, value):
    """A float, or (for per-channel values) a nested list of floats, for the config."""
    if isinstance(value, Tensor):
        value = value.numpy()
    try:
        array = xp.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(
            f"{layer}: {what} must be a number or a list of numbers, got {value!r}"
        ) from None
    return float(array) if array.ndim == 0 else array.tolist()


class Rescaling(Layer):
    """Rescale values: ``inputs * scale + offset``, in training and inference alike.

    ``scale`` and ``offset`` may be numbers or per-channel lists (broadcast against the
    last axis, as NumPy broadcasts); integer inputs are cast to the layer's dtype.

    Args:
        scale: the factor, e.g. 1/255 to map [0, 255] to [0, 1].
        offset: the shift added after scaling, e.g. -1 with scale 1/127.5 for [-1, 1].
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import Rescaling
        >>> Rescaling(1 / 127.5, offset=-1.0)(wg.constant([[0, 255]])).numpy()
        array([[-1.,  1.]], dtype=float32)
        >>> Rescaling([1.0, 10.0])(wg.ones((1, 2))).numpy()
        array([[ 1., 10.]], dtype=float32)
    """

    _float_math = True  # integer images come in; Keras outputs floats
    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _plain_number_or_list(_where(self), "scale", scale)
        self.offset = _plain_number_or_list(_where(self), "offset", offset)

    def call(self, inputs):
        scale = xp.asarray(self.scale, dtype=inputs.dtype)
        offset = xp.asarray(self.offset, dtype=inputs.dtype)
        try:
            shape = xp.broadcast_shapes(tuple(inputs.shape), scale.shape, offset.shape)
        except ValueError:
            shape = None
        if shape != tuple(inputs.shape):
            raise ValueError(
                f"{_where(self)}: scale of shape {scale.shape} and offset of shape "
                f"{offset.shape} must broadcast to the input's shape {tuple(inputs.shape)} "
                "(per-channel values along the last axis)"
            )
        return inputs * wrap(scale, "rescaling_scale") + wrap(offset, "rescaling_offset")

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Identity(Layer):
    """The identity: returns its input unchanged (a placeholder, as Keras's Identity).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import Identity
        >>> Identity()(wg.constant([1.0, 2.0])).numpy()
        array([1., 2.], dtype=float32)
    """

    supports_masking = True

    def call(self, inputs):
        return inputs


# -- random image augmentation -------------------------------------------------------------
HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"


class RandomFlip(Layer):
    """Randomly flip images left-right and/or top-bottom (unless called with training=False).

    Each image is flipped with probability 1/2 in each direction the mode names; in
    "horizontal_and_vertical" mode the two flips are drawn independently, so an image
    comes out unchanged, mirrored either way, or rotated by 180 degrees, each with
    probability 1/4 (as tf.keras 2 did; Keras 3's source reuses one draw for both
    directions, which leaves only "unchanged" and "rotated").

    Args:
        mode: "horizontal" (left-right), "vertical" (top-bottom) or
            "horizontal_and_vertical" (default).
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import RandomFlip
        >>> flip = RandomFlip("horizontal", seed=0)
        >>> image = wg.constant([[[1.0], [2.0], [3.0]]])  # height 1, width 3, 1 channel
        >>> flip(image, training=False).numpy()[0, :, 0]  # inference: unchanged
        array([1., 2., 3.], dtype=float32)
        >>> sorted({tuple(flip(image, training=True).numpy()[0, :, 0].tolist()) for _ in range(9)})
        [(1.0, 2.0, 3.0), (3.0, 2.0, 1.0)]
    """

    _float_math = True  # Keras casts images to the compute dtype

    def __init__(self, mode=HORIZONTAL_AND_VERTICAL, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        modes = (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)
        if mode not in modes:
            raise ValueError(f"{_where(self)}: mode must be one of {modes}, got {mode!r}")
        self.mode = mode
        self.data_format = _data_format(data_format, _where(self))
        _seeded(self, seed)

    def call(self, inputs, training=True):  # augments unless told otherwise (Keras 3)
        _check_images(self, inputs)
        if not training:
            return inputs
        channels = (slice(None),) if self.data_format == "channels_last" else ()
        reverse = slice(None, None, -1)
        out = inputs
        # Keras flips where a uniform draw is <= 1/2.
        if self.mode in (HORIZONTAL, HORIZONTAL_AND_VERTICAL):
            flip = self.generator._rng.random(_per_image(inputs)) <= 0.5
            out = where(flip, out[(..., reverse) + channels], out)
        if self.mode in (VERTICAL, HORIZONTAL_AND_VERTICAL):
            flip = self.generator._rng.random(_per_image(inputs)) <= 0.5
            out = where(flip, out[(..., reverse, slice(None)) + channels], out)
        return out

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "mode": self.mode,
            "seed": self.seed,
            "data_format": self.data_format,
        }


class RandomContrast(Layer):
    """Randomly change each image's contrast (unless called with training=False).

    For each image a factor c is drawn uniformly from [1 - lower, 1 + upper]; each
    channel's mean m over height and width is kept and every value x becomes
    ``clip((x - m) * c + m, *value_range)`` (Keras 3's formula).

    A single number f means lower = upper = f, as Keras documents (Keras 3's source
    clamps that lower end to 0, so its factors only ever raise contrast; tf.keras 2 and
    the documentation give [1 - f, 1 + f], which is what this layer does).

    Args:
        factor: a number in [0, 1], or a pair (lower, upper) of such numbers.
        value_range: the (low, high) range of the input values; outputs are clipped to it.
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import RandomContrast
        >>> layer = RandomContrast(0.5, value_range=(0, 1), seed=0)
        >>> image = wg.reshape(wg.constant([0.2, 0.4, 0.6, 0.8]), (2, 2, 1))
        >>> layer(image, training=False).numpy()[..., 0]  # inference: unchanged
        array([[0.2, 0.4],
               [0.6, 0.8]], dtype=float32)
        >>> out = layer(image, training=True).numpy()
        >>> round(float(out.mean()), 4)  # the channel's mean stays
        0.5
    """

    _float_math = True

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _factor(_where(self), factor, 0.0, 1.0)
        self.value_range = _value_range(_where(self), value_range)
        self.data_format = _data_format(data_format, _where(self))
        _seeded(self, seed)

    def call(self, inputs, training=True):  # augments unless told otherwise (Keras 3)
        _check_images(self, inputs)
        if not training:
            return inputs
        lower, upper = self.factor
        contrast = self.generator._rng.uniform(1.0 - lower, 1.0 + upper, _per_image(inputs))
        contrast = wrap(contrast.astype(inputs.dtype), "contrast_factor")
        spatial = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        mean = reduce_mean(inputs, axis=spatial, keepdims=True)  # per image and channel
        low, high = self.value_range
        return clip_by_value((inputs - mean) * contrast + mean, low, high)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
            "data_format": self.data_format,
        }


class RandomBrightness(Layer):
    """Randomly brighten or darken each image (unless called with training=False).

    For each image a delta d is drawn uniformly from [lower, upper] and every value x
    becomes ``clip(x + d * (high - low), low, high)`` with (low, high) the value range
    (Keras 3's formula): d = -1 turns the image black, d = 1 white.

    Args:
        factor: a number f in [-1, 1] (meaning (-|f|, |f|)), or a pair (lower, upper)
            of numbers in [-1, 1].
        value_range: the (low, high) range of the input values; outputs are clipped to it.
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import RandomBrightness
        >>> layer = RandomBrightness((0.1, 0.1), value_range=(0, 1), seed=0)
        >>> image = wg.fill((2, 2, 1), 0.5)
        >>> layer(image, training=False).numpy()[..., 0]  # inference: unchanged
        array([[0.5, 0.5],
               [0.5, 0.5]], dtype=float32)
        >>> layer(image, training=True).numpy()[..., 0]  # 0.5 + 0.1 * (1 - 0)
        array([[0.6, 0.6],
               [0.6, 0.6]], dtype=float32)
    """

    _float_math = True

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        given = factor
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            factor = (-abs(factor), abs(factor))  # range-checked below
        self.factor = _factor(_where(self), factor, -1.0, 1.0, given)
        self.value_range = _value_range(_where(self), value_range)
        _seeded(self, seed)

    def call(self, inputs, training=True):  # augments unless told otherwise (Keras 3)
        _check_images(self, inputs)
        if not training:
            return inputs
        low, high = self.value_range
        delta = self.generator._rng.uniform(*self.factor, _per_image(inputs)) * (high - low)
        return clip_by_value(inputs + wrap(delta.astype(inputs.dtype), "rgb_delta"), low, high)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


# -- UnitNormalization, AlphaDropout -------------------------------------------------------
class UnitNormalization(Layer):
    """Scale each vector along ``axis`` to unit L2 norm: ``x / sqrt(max(sum(x^2), 1e-12))``.

    The floor under the sum (Keras's) maps a zero vector to zeros with finite gradients;
    float16 inputs are computed in float32 (where 1e-12 does not underflow) and cast back.

    Args:
        axis: the axis, or list of axes, the norm is taken over (default the last).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import UnitNormalization
        >>> UnitNormalization()(wg.constant([[3.0, 4.0], [0.0, 0.0]])).numpy()
        array([[0.6, 0.8],
               [0. , 0. ]], dtype=float32)
    """

    _float_math = True
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis
        ):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"{_where(self)}: axis must be an int or a list of ints, got {axis!r}")

    def call(self, inputs):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if not all(-inputs.ndim <= a < inputs.ndim for a in axes):
            raise ValueError(
                f"{_where(self)}: axis {self.axis} is out of range for an input of rank "
                f"{inputs.ndim} with shape {tuple(inputs.shape)}"
            )
        # Equivalent axes (-1 and 1 of a matrix) name one axis once.
        axes = tuple(sorted({a % inputs.ndim for a in axes}))
        dtype = inputs.dtype
        # 1e-12 underflows to 0 in float16 (and squares of small values with it), which
        # would make a zero vector 0 / 0: narrow floats are computed in float32.
        x = cast(inputs, "float32") if dtype.itemsize < 4 else inputs
        squares = reduce_sum(square(x), axis=axes, keepdims=True)
        out = x / sqrt(maximum(squares, 1e-12))
        return cast(out, dtype) if out.dtype != dtype else out

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


# SELU's constants (Klambauer et al., 2017): alpha and lambda to 16 digits.
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


class AlphaDropout(Layer):
    """Dropout that keeps a SELU network self-normalizing, in training only.

    A ``rate`` fraction of the inputs is set to SELU's negative saturation
    alpha' = -lambda * alpha (instead of 0), and the result is mapped by ``a * x + b``
    with a = ((1 - rate) * (1 + rate * alpha'^2))^(-1/2) and b = -a * alpha' * rate, which
    gives inputs of mean 0 and variance 1 back mean 0 and variance 1 (Keras's formula,
    the same as torch.nn.AlphaDropout's).

    Args:
        rate: the fraction of inputs to drop, in [0, 1).
        noise_shape: shape of the keep mask (1 to share it along an axis), as Dropout's.
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import AlphaDropout
        >>> drop = AlphaDropout(0.2, seed=0)
        >>> drop(wg.ones((2, 2))).numpy()  # inference: unchanged
        array([[1., 1.],
               [1., 1.]], dtype=float32)
        >>> out = drop(wg.random.normal((100000,), seed=1), training=True).numpy()
        >>> abs(float(out.mean())) < 0.02, round(float(out.std()), 1)
        (True, 1.0)
    """

    supports_masking = True
    _float_math = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(_where(self), rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        _seeded(self, seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = tuple(inputs.shape)
        if self.noise_shape is not None:
            if len(self.noise_shape) != inputs.ndim:
                raise ValueError(
                    f"{_where(self)}: noise_shape {self.noise_shape} must have one entry per "
                    f"axis of the input of shape {shape}"
                )
            shape = tuple(s if n is None else int(n) for s, n in zip(shape, self.noise_shape))
        keep = self.generator._rng.random(shape) >= self.rate
        saturation = -_SELU_SCALE * _SELU_ALPHA
        a = ((1.0 - self.rate) * (1.0 + self.rate * saturation**2)) ** -0.5
        b = -a * saturation * self.rate
        # a * (x * keep + saturation * (1 - keep)) + b, with the constants folded.
        slope = wrap((a * keep).astype(inputs.dtype), "alpha_dropout_scale")
        shift = wrap((a * saturation * ~keep + b).astype(inputs.dtype), "alpha_dropout_shift")
        return inputs * slope + shift

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


# -- CategoryEncoding, Discretization ------------------------------------------------------
_OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def _as_one_array(inputs):
    """A (nested) list of values as one array: Keras's CategoryEncoding and Discretization
    take ``layer([3, 2, 0, 1])`` as one input, where other layers see a list of inputs."""
    if isinstance(inputs, (list, tuple)):
        return xp.asarray([x.numpy() if isinstance(x, Tensor) else x for x in inputs])
    return inputs


def _token_ids(layer: Layer, inputs, depth: int, what: str):
    """The integer array of ``inputs``, checked to lie in [0, depth)."""
    values = inputs._value
    if values.dtype.kind == "f":
        if not xp.all(xp.isfinite(values) & (values == xp.round(values))):
            raise ValueError(
                f"{_where(layer)}: inputs must be integers, got non-integer values of dtype "
                f"{values.dtype} in an input of shape {values.shape}"
            )
        values = values.astype("int64")
    elif values.dtype.kind not in "biu":
        raise TypeError(
            f"{_where(layer)}: inputs must be integers, got dtype {values.dtype} "
            f"(shape {values.shape})"
        )
    bad = values[(values < 0) | (values >= depth)]
    if bad.size:
        raise ValueError(
            f"{_where(layer)}: every input must be an integer in [0, {what}={depth}), got "
            f"{xp.unique(bad)[:8].tolist()} in an input of shape {values.shape}"
        )
    return values.astype("int64")


def _encode(ids, mode: str, depth: int, dtype, count_weights=None) -> Tensor:
    """Keras's encode_categorical_inputs: ``one_hot`` adds an axis of size ``depth`` (a
    trailing axis of size 1 is replaced instead); ``multi_hot`` and ``count`` treat the
    last axis as one sample's tokens and replace it by ``depth`` presence flags or counts
    (a scalar is one sample of one token)."""
    if ids.ndim == 0:
        ids = ids[None]
        if count_weights is not None:
            count_weights = expand_dims(count_weights, -1)
    if mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        return one_hot(ids, depth, dtype=dtype)
    if mode == "multi_hot":
        present = (ids[..., None] == xp.arange(depth)).any(axis=-2)
        return wrap(present.astype(dtype), "multi_hot")
    encoded = one_hot(ids, depth, dtype=dtype)
    if count_weights is not None:
        encoded = encoded * expand_dims(count_weights, -1)
    return reduce_sum(encoded, axis=-2)


class CategoryEncoding(Layer):
    """Encode integer token ids in [0, num_tokens) as one-hot, multi-hot or count vectors.

    Shapes follow Keras 3: "one_hot" adds an axis of size ``num_tokens`` ((batch,) ->
    (batch, num_tokens); a trailing axis of size 1 is replaced); "multi_hot" and "count"
    treat the last axis as one sample's tokens ((batch, tokens) -> (batch, num_tokens),
    (tokens,) -> (num_tokens,)).  In "count" mode, ``count_weights`` (the input's shape)
    weight each token's count, and the output's gradient reaches them.  One difference:
    a scalar id, or a (1,) input, one-hot encodes to (1, num_tokens), a batch of one, where
    Keras 3 squeezes it to (num_tokens,).

    Args:
        num_tokens: the number of token ids; every input must lie in [0, num_tokens).
        output_mode: "multi_hot" (default), "one_hot" or "count" ("binary" is Keras's old
            name for "multi_hot").
        sparse: must be False (wengert has no sparse tensors).
        **kwargs: Layer arguments (name, dtype of the output, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import CategoryEncoding
        >>> CategoryEncoding(4, output_mode="one_hot")(wg.constant([3, 0])).numpy()
        array([[0., 0., 0., 1.],
               [1., 0., 0., 0.]], dtype=float32)
        >>> CategoryEncoding(4)(wg.constant([[0, 1], [3, 3]])).numpy()
        array([[1., 1., 0., 0.],
               [0., 0., 0., 1.]], dtype=float32)
        >>> CategoryEncoding(4, output_mode="count")(wg.constant([[3, 3, 1]])).numpy()
        array([[0., 1., 0., 2.]], dtype=float32)
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"{_where(self)}: output_mode must be one of {_OUTPUT_MODES}, got {output_mode!r}"
            )
        if (
            not isinstance(num_tokens, numbers.Integral)
            or isinstance(num_tokens, bool)
            or num_tokens < 1
        ):
            raise ValueError(
                f"{_where(self)}: num_tokens must be an integer >= 1 (the number of token "
                f"ids), got {num_tokens!r}"
            )
        if sparse:
            raise NotImplementedError(
                f"{_where(self)}: sparse=True is not supported (wengert has no sparse "
                "tensors); use sparse=False for a dense output"
            )
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def _convert_inputs(self, inputs):
        return super()._convert_inputs(_as_one_array(inputs))

    def call(self, inputs, count_weights=None):
        ids = _token_ids(self, inputs, self.num_tokens, "num_tokens")
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    f"{_where(self)}: count_weights are used only with output_mode='count', "
                    f"not {self.output_mode!r}"
                )
            count_weights = operand(count_weights)
            if tuple(count_weights.shape) != ids.shape:
                raise ValueError(
                    f"{_where(self)}: count_weights must have the inputs' shape {ids.shape}, "
                    f"got {tuple(count_weights.shape)}"
                )
            if count_weights.dtype != self.dtype:
                count_weights = cast(count_weights, self.dtype)
        return _encode(ids, self.output_mode, self.num_tokens, self.dtype, count_weights)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


def _compress(summary, epsilon: float):
    """Keras's compress_summary: resample a (values, weights) summary at cumulative-weight
    fractions epsilon, 2 epsilon, ..., 1 by interpolating its cumulative distribution."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + xp.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    values = xp.interp(fractions, at, summary[0])
    cumulative = xp.interp(fractions, at, cumulative)
    weights = cumulative - xp.concatenate(([0.0], cumulative[:-1]))
    return xp.stack((values, weights)).astype("float32")


def _quantile_boundaries(data, num_bins: int, epsilon: float) -> list:
    """The num_bins - 1 inner boundaries of equal-count bins of ``data``, as Keras 3's
    Discretization.adapt computes them for one array (float32, as Keras).

    Keras keeps every (n * epsilon)-th sorted value, each weighing n * epsilon (all of
    them when n < 1/epsilon), then reads the quantiles k/num_bins off the piecewise-linear
    inverse of that summary's cumulative distribution.  With all values kept this is the
    "interpolated inverted CDF" quantile (Hyndman and Fan's type 4, NumPy's
    ``method="interpolated_inverted_cdf"``); with a subsample, each boundary's rank is off
    by about epsilon * n at most."""
    values = xp.sort(xp.asarray(data, dtype="float32").reshape(-1))
    increment = values.size / (1.0 / epsilon)
    step = max(increment, 1)
    kept = values[int(increment) :: int(step)]
    summary = xp.stack([kept, xp.ones_like(kept) * step])
    summary = _compress(summary, epsilon)
    return _compress(summary, 1.0 / num_bins)[0, :-1].tolist()


class Discretization(Layer):
    """Bucket continuous values into bins: the output is each value's bin index.

    ``bin_boundaries=[0., 1., 2.]`` makes the bins (-inf, 0), [0, 1), [1, 2) and
    [2, inf), numbered 0 to 3 (a value equal to a boundary goes to the bin above it, as
    NumPy's ``digitize``).  Alternatively ``num_bins`` and ``adapt(data)`` place the
    boundaries at the data's quantiles 1/num_bins, ..., (num_bins-1)/num_bins, so each
    bin holds about as many values.

    ``adapt`` reproduces Keras 3's approximate quantiles for one array: with fewer than
    1/epsilon values they are exact interpolated-inverted-CDF quantiles (NumPy's
    ``np.quantile(data, q, method="interpolated_inverted_cdf")``); with more, Keras
    first keeps every (n * epsilon)-th sorted value, and so does this layer, so the
    boundaries match Keras's (float32) and each is within about epsilon * n ranks of the
    exact quantile.  Inputs are compared with the boundaries in the layer's dtype
    (float32 by default, as Keras casts them).

    Args:
        bin_boundaries: sorted boundaries (then do not call ``adapt``).
        num_bins: the number of bins ``adapt`` makes.
        epsilon: the quantile summary's resolution (Keras's error tolerance).
        output_mode: "int" (bin indices, int64; default), or "one_hot", "multi_hot",
            "count" (as CategoryEncoding with num_tokens = the number of bins).
        sparse: must be False (wengert has no sparse tensors).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.preprocessing import Discretization
        >>> data = [[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]
        >>> Discretization(bin_boundaries=[0.0, 1.0, 2.0])(data).numpy()
        array([[0, 2, 3, 1],
               [1, 3, 2, 1]])
        >>> layer = Discretization(num_bins=4, epsilon=0.01)
        >>> layer.adapt(data)
        >>> layer(data).numpy()
        array([[0, 2, 3, 2],
               [1, 3, 3, 1]])
    """

    _float_math = True  # Keras's input dtype is floatx

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon=0.01,
        output_mode="int",
        sparse=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        modes = ("int",) + _OUTPUT_MODES
        if output_mode not in modes:
            raise ValueError(
                f"{_where(self)}: output_mode must be one of {modes}, got {output_mode!r}"
            )
        if sparse:
            raise NotImplementedError(
                f"{_where(self)}: sparse=True is not supported (wengert has no sparse "
                "tensors); use sparse=False for a dense output"
            )
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                f"{_where(self)}: set num_bins (and call adapt) or bin_boundaries, not both; "
                f"got num_bins={num_bins!r} and bin_boundaries={bin_boundaries!r}"
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError(
                f"{_where(self)}: set either bin_boundaries or num_bins (and call adapt)"
            )
        if num_bins is not None and (
            not isinstance(num_bins, numbers.Integral) or isinstance(num_bins, bool) or num_bins < 1
        ):
            raise ValueError(f"{_where(self)}: num_bins must be an integer >= 1, got {num_bins!r}")
        if not isinstance(epsilon, numbers.Real) or not 0 < epsilon < 1:
            raise ValueError(f"{_where(self)}: epsilon must be in (0, 1), got {epsilon!r}")
        self.bin_boundaries = None if bin_boundaries is None else self._sorted(bin_boundaries)
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False

    def _sorted(self, boundaries) -> list:
        values = xp.asarray(
            boundaries.numpy() if isinstance(boundaries, Tensor) else boundaries, "float64"
        )
        if values.ndim != 1 or (values.size > 1 and (xp.diff(values) < 0).any()):
            raise ValueError(
                f"{_where(self)}: bin_boundaries must be a sorted list of numbers, got "
                f"{values.tolist()}"
            )
        return values.tolist()

    def adapt(self, data) -> None:
        """Set the boundaries to ``data``'s quantiles (all of ``data`` at once: an array,
        nested lists or a Tensor); see the class docstring for how they are computed."""
        if self.num_bins is None:
            raise ValueError(
                f"{_where(self)}: it was given bin_boundaries; create it with num_bins "
                "instead to adapt it to data"
            )
        values = data.numpy() if isinstance(data, Tensor) else xp.asarray(data)
        if values.size == 0:
            raise ValueError(f"{_where(self)}: cannot adapt to empty data (shape {values.shape})")
        self.bin_boundaries = _quantile_boundaries(values, self.num_bins, self.epsilon)

    def _convert_inputs(self, inputs):
        return super()._convert_inputs(_as_one_array(inputs))

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(
                f"{_where(self)}: it has no bin boundaries yet; pass bin_boundaries or call "
                "adapt(data) before calling it"
            )
        boundaries = xp.asarray(self.bin_boundaries, dtype=inputs.dtype)
        indices = xp.digitize(inputs._value, boundaries).astype("int64")
        if self.output_mode == "int":
            return wrap(indices, "discretization")
        depth = len(self.bin_boundaries) + 1
        return _encode(indices, self.output_mode, depth, self.dtype)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }

    @classmethod
    def from_config(cls, config: dict):
        """Rebuild the layer; an adapted layer's config has both num_bins and
        bin_boundaries, which the constructor refuses together (Keras's from_config)."""
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = layer._sorted(boundaries)
            return layer
        return cls(**config)
