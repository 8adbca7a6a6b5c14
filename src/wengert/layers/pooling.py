"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and the global poolings.

Arguments follow Keras 3: ``pool_size``, ``strides`` (default: ``pool_size``),
``padding`` ("valid" / "same"), ``data_format`` ("channels_last" / "channels_first").
"""

from __future__ import annotations

from .. import conv_ops as ops
from ..backend import xp
from ..math_ops import reduce_max, reduce_mean, reduce_sum
from ..tensor import wrap
from .base import InputSpec, Layer, get_mask
from .conv import _data_format, _tuple

__all__ = [
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
]


class _Pooling(Layer):
    """Shared machinery of the windowed pooling layers."""

    rank = 2
    kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = self._where()
        self.pool_size = _tuple(pool_size, self.rank, "pool_size", where)
        self.strides = (
            self.pool_size if strides is None else _tuple(strides, self.rank, "strides", where)
        )
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = _data_format(data_format, where)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def call(self, inputs):
        channels_last = self.data_format == "channels_last"
        spatial = inputs.shape[1:-1] if channels_last else inputs.shape[2:]
        if self.padding == "valid" and any(s < k for s, k in zip(spatial, self.pool_size)):
            raise ValueError(
                f"{self._where()}: pool_size {self.pool_size} is larger than the input's spatial "
                f"shape {tuple(spatial)} (input shape {tuple(inputs.shape)}, padding 'valid')"
            )
        fmt = ("NHWC" if channels_last else "NCHW") if self.rank == 2 else None
        if self.rank == 1:
            fmt = "NWC" if channels_last else "NCW"
            fn = ops.max_pool1d if self.kind == "max" else ops.avg_pool1d
        else:
            fn = ops.max_pool2d if self.kind == "max" else ops.avg_pool2d
        return fn(inputs, self.pool_size, self.strides, self.padding.upper(), data_format=fmt)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
        }


class MaxPooling2D(_Pooling):
    """Max pooling over 2-D windows of images.

    Args:
        pool_size: an int or 2 ints, the window size.
        strides: an int or 2 ints (default: ``pool_size``).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.MaxPooling2D()(wg.ones((2, 28, 28, 6))).shape
        (2, 14, 14, 6)
    """

    rank = 2
    kind = "max"


class AveragePooling2D(_Pooling):
    """Average pooling over 2-D windows of images (padding excluded from the averages).

    Args:
        pool_size: an int or 2 ints, the window size.
        strides: an int or 2 ints (default: ``pool_size``).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.AveragePooling2D(3, strides=1, padding="same")(wg.ones((1, 5, 5, 2))).shape
        (1, 5, 5, 2)
    """

    rank = 2
    kind = "avg"


class MaxPooling1D(_Pooling):
    """Max pooling over 1-D windows of sequences.

    Args:
        pool_size: an int, the window length.
        strides: an int (default: ``pool_size``).
        padding: "valid" or "same".
        data_format: "channels_last" (default; (batch, steps, c)) or "channels_first".
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.MaxPooling1D(2)(wg.ones((2, 9, 3))).shape
        (2, 4, 3)
    """

    rank = 1
    kind = "max"


class AveragePooling1D(_Pooling):
    """Average pooling over 1-D windows of sequences.

    Args:
        pool_size: an int, the window length.
        strides: an int (default: ``pool_size``).
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.AveragePooling1D(2, padding="same")(wg.ones((2, 9, 3))).shape
        (2, 5, 3)
    """

    rank = 1
    kind = "avg"


class _GlobalPooling(Layer):
    rank = 2
    kind = "avg"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        first = 1 if self.data_format == "channels_last" else 2
        axes = list(range(first, first + self.rank))
        mask = get_mask(inputs) if self.rank == 1 and self.kind == "avg" else None
        if mask is not None:  # Keras: the mean over the real (unmasked) steps only
            weights = mask.astype(inputs.dtype)[:, :, None] if first == 1 else None
            if weights is None:
                weights = mask.astype(inputs.dtype)[:, None, :]
            total = reduce_sum(inputs * wrap(weights), axis=axes, keepdims=self.keepdims)
            count = weights.sum(axis=first, keepdims=self.keepdims)
            # A sample with no real step averages to zeros, not 0/0 = NaN (a model builds
            # on all-padding zeros; a NaN would also poison a whole batch's loss)
            return total / wrap(xp.maximum(count, 1))
        reduce = reduce_mean if self.kind == "avg" else reduce_max
        return reduce(inputs, axis=axes, keepdims=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each channel over height and width: (batch, h, w, c) -> (batch, c).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the spatial axes with size 1.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.GlobalAveragePooling2D()(wg.ones((2, 4, 4, 3))).shape
        (2, 3)
    """

    rank = 2
    kind = "avg"


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum of each channel over height and width: (batch, h, w, c) -> (batch, c).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the spatial axes with size 1.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.GlobalMaxPooling2D(keepdims=True)(wg.ones((2, 4, 4, 3))).shape
        (2, 1, 1, 3)
    """

    rank = 2
    kind = "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each channel over the steps: (batch, steps, c) -> (batch, c).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the steps axis with size 1.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.GlobalAveragePooling1D()(wg.ones((2, 7, 3))).shape
        (2, 3)
    """

    rank = 1
    kind = "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum of each channel over the steps: (batch, steps, c) -> (batch, c).

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the steps axis with size 1.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.GlobalMaxPooling1D()(wg.ones((2, 7, 3))).shape
        (2, 3)
    """

    rank = 1
    kind = "max"
