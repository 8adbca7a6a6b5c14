"""Regularization layers, as in Keras 3: SpatialDropout1D, SpatialDropout2D, GaussianNoise,
GaussianDropout and ActivityRegularization.

(Dropout itself is in ``core``.)  The noise layers act only when called with
``training=True`` (as ``fit`` calls them) and are the identity otherwise.  Each draws
from a random stream of its own, seeded by ``seed`` or else from ``wengert.random``'s
global generator, as Dropout does, so ``set_seed`` makes a run repeatable and a
checkpoint saves and restores the stream (it is the layer's ``generator``).
"""

from __future__ import annotations

import math

from .. import regularizers
from ..random import layer_stream
from ..tensor import wrap
from .base import InputSpec, Layer
from .conv import _data_format
from .core import Dropout

__all__ = [
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "ActivityRegularization",
]


def _rate(layer: str, rate) -> float:
    try:
        value = float(rate)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 <= value < 1:
        raise ValueError(f"{layer}: rate must be in [0, 1), got {rate!r}")
    return value


class SpatialDropout1D(Dropout):
    """Dropout of whole feature maps: for each sample, zero a ``rate`` fraction of the
    channels at every time step, and scale the rest by 1/(1-rate), in training only.

    Adjacent steps of a feature map are strongly correlated, so dropping single entries
    barely regularizes; dropping whole channels does (Tompson et al., 2014).

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.regularization import SpatialDropout1D
        >>> y = SpatialDropout1D(0.5, seed=0)(wg.ones((1, 3, 4)), training=True).numpy()
        >>> y[0]
        array([[2., 0., 0., 0.],
               [2., 0., 0., 0.],
               [2., 0., 0., 0.]], dtype=float32)
    """

    def __init__(self, rate, seed=None, **kwargs):
        # Dropout with the keep mask shared along the time axis: (batch, 1, channels).
        super().__init__(
            _rate("SpatialDropout1D", rate), noise_shape=(None, 1, None), seed=seed, **kwargs
        )
        self.input_spec = InputSpec(ndim=3)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["noise_shape"]  # fixed by the class, not an argument (Keras's config)
        return config


class SpatialDropout2D(Dropout):
    """Dropout of whole 2-D feature maps: for each image, zero a ``rate`` fraction of the
    channels at every pixel and scale the rest by 1/(1-rate), in training only.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        data_format: "channels_last" (default, (batch, height, width, channels)) or
            "channels_first" ((batch, channels, height, width)).
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.regularization import SpatialDropout2D
        >>> y = SpatialDropout2D(0.5, seed=0)(wg.ones((1, 2, 2, 4)), training=True).numpy()
        >>> y[0, :, :, 0].tolist(), y[0, :, :, 3].tolist()
        ([[2.0, 2.0], [2.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]])
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        rate = _rate("SpatialDropout2D", rate)
        data_format = _data_format(data_format, "SpatialDropout2D")
        shared = (None, 1, 1, None) if data_format == "channels_last" else (None, None, 1, 1)
        super().__init__(rate, noise_shape=shared, seed=seed, **kwargs)
        self.data_format = data_format
        self.input_spec = InputSpec(ndim=4)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["noise_shape"]  # set by data_format (Keras's config)
        return {**config, "data_format": self.data_format}


class GaussianNoise(Layer):
    """Add zero-mean Gaussian noise of standard deviation ``stddev``, in training only.

    Args:
        stddev: the noise's standard deviation, in [0, 1] (Keras 3's range).
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.regularization import GaussianNoise
        >>> noise = GaussianNoise(0.1, seed=0)
        >>> noise(wg.ones((2, 2)), training=False).numpy()
        array([[1., 1.],
               [1., 1.]], dtype=float32)
        >>> bool((noise(wg.ones((2, 2)), training=True).numpy() != 1.0).all())
        True
    """

    supports_masking = True  # the input's padding mask passes through

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        try:
            self.stddev = float(stddev)
        except (TypeError, ValueError):
            self.stddev = float("nan")
        if not 0 <= self.stddev <= 1:
            raise ValueError(
                f"GaussianNoise '{self.name}': stddev must be in [0, 1], got {stddev!r}"
            )
        self.seed = seed
        self.generator = layer_stream(type(self).__name__, seed)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        noise = self.generator._rng.standard_normal(inputs.shape) * self.stddev
        return inputs + wrap(noise.astype(inputs._value.dtype), "gaussian_noise")

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiply by Gaussian noise of mean 1 and standard deviation sqrt(rate / (1 - rate)),
    in training only: the variance of Dropout(rate)'s inverted keep mask, without zeros.

    Args:
        rate: the drop probability of the Dropout it imitates, in [0, 1).
        seed: seed of the layer's own random stream (default: drawn from wengert.random).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.regularization import GaussianDropout
        >>> drop = GaussianDropout(0.5, seed=0)
        >>> drop(wg.ones((2, 2)), training=False).numpy()
        array([[1., 1.],
               [1., 1.]], dtype=float32)
        >>> round(float(wg.reduce_mean(drop(wg.ones((1000, 100)), training=True))), 1)
        1.0
    """

    supports_masking = True  # the input's padding mask passes through

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _rate(f"GaussianDropout '{self.name}'", rate)
        self.seed = seed
        self.generator = layer_stream(type(self).__name__, seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = 1.0 + self.generator._rng.standard_normal(inputs.shape) * stddev
        return inputs * wrap(noise.astype(inputs._value.dtype), "gaussian_dropout_noise")

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x^2)`` of its input to the losses.

    As Keras 3, it is a layer whose activity regularizer is ``L1L2(l1, l2)``: each call
    puts the penalty of that call's input in ``layer.losses`` (and the model's), which
    ``fit`` adds to the loss it minimises.

    Args:
        l1: the L1 factor (>= 0).
        l2: the L2 factor (>= 0).
        **kwargs: Layer arguments (name, dtype, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.regularization import ActivityRegularization
        >>> layer = ActivityRegularization(l1=0.1, l2=0.01)
        >>> layer(wg.constant([[1.0, -2.0]])).numpy()
        array([[ 1., -2.]], dtype=float32)
        >>> [round(float(p), 4) for p in layer.losses]  # 0.1 * 3 + 0.01 * 5
        [0.35]
    """

    supports_masking = True  # the input's padding mask passes through

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        if "activity_regularizer" in kwargs:
            raise TypeError(
                "ActivityRegularization: its activity regularizer is L1L2(l1, l2); set l1 and "
                "l2 instead of activity_regularizer"
            )
        for what, value in (("l1", l1), ("l2", l2)):
            try:
                ok = float(value) >= 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"ActivityRegularization: {what} must be a number >= 0, got {value!r}"
                )
        self.l1 = float(l1)
        self.l2 = float(l2)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=self.l1, l2=self.l2), **kwargs)

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)  # rebuilt from l1 and l2 (Keras's config)
        return {**config, "l1": self.l1, "l2": self.l2}
