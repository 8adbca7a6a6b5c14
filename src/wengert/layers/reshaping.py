"""Reshaping layers, as in Keras 3: RepeatVector, Permute, Cropping1D, Cropping2D,
UpSampling1D and ZeroPadding1D.

(Flatten and Reshape are in ``core``; UpSampling2D and ZeroPadding2D beside the
convolutions in ``conv``.)  Each is one or two of wengert's shape ops, so the
gradients are theirs: a crop's scatters back into zeros, a repeat's sums the copies.
"""

from __future__ import annotations

import operator

from ..array_ops import broadcast_to, pad, reshape, tile, transpose
from .base import InputSpec, Layer
from .conv import _data_format, _tuple

__all__ = [
    "RepeatVector",
    "Permute",
    "Cropping1D",
    "Cropping2D",
    "UpSampling1D",
    "ZeroPadding1D",
]


def _pair(value, what: str, where: str) -> tuple:
    """An int (both sides) or 2 non-negative ints, as a (before, after) tuple."""
    return _tuple(value, 2, what, where, allow_zero=True)


class RepeatVector(Layer):
    """Repeat each sample ``n`` times: (batch, features) -> (batch, n, features).

    Args:
        n: the number of repetitions.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.reshaping import RepeatVector
        >>> RepeatVector(3)(wg.constant([[1.0, 2.0]])).numpy()
        array([[[1., 2.],
                [1., 2.],
                [1., 2.]]], dtype=float32)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        where = f"RepeatVector '{self.name}'"
        try:
            self.n = operator.index(n)
        except TypeError:
            raise TypeError(f"{where}: n must be an int, got {n!r}") from None
        if self.n < 0:
            raise ValueError(f"{where}: n must be >= 0, got {n!r}")
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        batch, features = inputs.shape
        return tile(reshape(inputs, (batch, 1, features)), (1, self.n, 1))

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permute the axes of each sample; ``dims`` count from 1 (the batch axis stays first).

    Args:
        dims: a permutation of 1..rank, e.g. (2, 1) swaps the two axes of a sequence.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.reshaping import Permute
        >>> Permute((2, 1))(wg.zeros((4, 10, 64))).shape
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(operator.index(d) for d in dims)
        except TypeError:
            raise TypeError(
                f"Permute '{self.name}': dims must be a tuple of ints, got {dims!r}"
            ) from None
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Permute '{self.name}': dims must be a permutation of 1..{len(self.dims)} "
                f"(the batch axis, 0, is not permuted), got {dims!r}"
            )
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return transpose(inputs, (0,) + self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}


def _check_crop(where: str, shape: tuple, axis: int, crop: tuple) -> None:
    if sum(crop) >= shape[axis]:
        raise ValueError(
            f"{where}: cropping {crop} removes all of axis {axis} (size {shape[axis]}) of "
            f"inputs of shape {tuple(shape)}; each axis must keep at least one entry"
        )


class Cropping1D(Layer):
    """Crop a sequence along time (axis 1): (batch, steps, features).

    Args:
        cropping: an int (both ends) or (start, end): the steps removed at each end.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.reshaping import Cropping1D
        >>> Cropping1D((1, 2))(wg.reshape(wg.range(6.0), (1, 6, 1)))[0, :, 0].numpy()
        array([1., 2., 3.], dtype=float32)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "cropping", f"Cropping1D '{self.name}'")
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        _check_crop(f"Cropping1D '{self.name}'", inputs.shape, 1, self.cropping)
        start, end = self.cropping
        return inputs[:, start : inputs.shape[1] - end, :]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(Layer):
    """Crop images along height and width.

    Args:
        cropping: an int (all four sides), 2 ints (symmetric height and width
            cropping) or 2 pairs ((top, bottom), (left, right)).
        data_format: "channels_last" (default, (batch, height, width, channels)) or
            "channels_first" ((batch, channels, height, width)).
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.reshaping import Cropping2D
        >>> Cropping2D(((2, 2), (4, 4)))(wg.zeros((2, 28, 28, 3))).shape
        (2, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = f"Cropping2D '{self.name}'"
        if isinstance(cropping, int):
            cropping = (cropping, cropping)
        try:
            items = tuple(cropping)
        except TypeError:
            items = ()
        if len(items) != 2:
            raise ValueError(
                f"{where}: cropping must be an int, 2 ints or 2 pairs ((top, bottom), "
                f"(left, right)), got {cropping!r}"
            )
        self.cropping = (
            _pair(items[0], "cropping of the height", where),
            _pair(items[1], "cropping of the width", where),
        )
        self.data_format = _data_format(data_format, where)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        where = f"Cropping2D '{self.name}'"
        first = 1 if self.data_format == "channels_last" else 2
        (top, bottom), (left, right) = self.cropping
        shape = inputs.shape
        _check_crop(where, shape, first, self.cropping[0])
        _check_crop(where, shape, first + 1, self.cropping[1])
        rows = slice(top, shape[first] - bottom)
        cols = slice(left, shape[first + 1] - right)
        if self.data_format == "channels_last":
            return inputs[:, rows, cols, :]
        return inputs[:, :, rows, cols]

    def get_config(self) -> dict:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class UpSampling1D(Layer):
    """Repeat each time step ``size`` times: (batch, steps, features) -> (batch, steps * size,
    features).

    Args:
        size: the upsampling factor (a positive int).
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.reshaping import UpSampling1D
        >>> UpSampling1D(2)(wg.constant([[[1.0], [2.0]]]))[0, :, 0].numpy()
        array([1., 1., 2., 2.], dtype=float32)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool):
            raise ValueError(f"UpSampling1D '{self.name}': size must be a positive int, got {size}")
        (self.size,) = _tuple(size, 1, "size", f"UpSampling1D '{self.name}'")
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        # As UpSampling2D: a broadcast along a new axis and a reshape; the gradient sums
        # each step's copies.
        n, steps, features = inputs.shape
        x = broadcast_to(reshape(inputs, (n, steps, 1, features)), (n, steps, self.size, features))
        return reshape(x, (n, steps * self.size, features))

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


class ZeroPadding1D(Layer):
    """Pad a sequence with zeros along time.

    Args:
        padding: an int (both ends) or (start, end): the zero steps added at each end.
        data_format: "channels_last" (default, (batch, steps, features)) or
            "channels_first" ((batch, features, steps)).
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.reshaping import ZeroPadding1D
        >>> ZeroPadding1D((1, 2))(wg.ones((1, 2, 1)))[0, :, 0].numpy()
        array([0., 1., 1., 0., 0.], dtype=float32)
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = f"ZeroPadding1D '{self.name}'"
        self.padding = _pair(padding, "padding", where)
        self.data_format = _data_format(data_format, where)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        if self.data_format == "channels_last":
            return pad(inputs, ((0, 0), self.padding, (0, 0)))
        return pad(inputs, ((0, 0), (0, 0), self.padding))

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}
