"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Lambda."""

from __future__ import annotations

import numbers

from .. import activations, initializers
from ..array_ops import reshape
from ..backend import xp
from ..math_ops import matmul
from ..nn_ops import dense
from ..random import layer_stream
from ..tensor import Tensor, wrap
from .base import InputSpec, Layer, serialize_initializer

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Lambda", "Normalization"]


class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: the number of outputs.
        activation: an activation name or function (None: linear).
        use_bias: add a bias vector.
        kernel_initializer: initializer of the (inputs, units) kernel.
        bias_initializer: initializer of the (units,) bias.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> layer = wg.layers.Dense(3, activation="relu")
        >>> layer(wg.ones((2, 4))).shape, layer.kernel.shape
        ((2, 3), (4, 3))
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        if isinstance(activation, numbers.Number) and not isinstance(activation, bool):
            # torch's nn.Linear(in_features, out_features) habit: Dense(3, 2)
            raise ValueError(
                "Dense(units, activation=...): the input size is inferred from the first "
                f"call; got activation={activation!r} (nn.Linear({units}, {activation}) is "
                f"Dense({activation}))"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        in_dim = input_shape[-1]
        self.kernel = self.add_weight((in_dim, self.units), self.kernel_initializer, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def call(self, inputs):
        if self.use_bias:
            out = dense(inputs, self.kernel, self.bias)
        else:
            out = matmul(inputs, self.kernel)
        return self.activation(out)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
        }


class Activation(Layer):
    """Applies an activation function.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Activation("relu")(wg.constant([-1.0, 2.0])).numpy()
        array([0., 2.], dtype=float32)
    """

    supports_masking = True  # the input's padding mask passes through

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: when training, zero a ``rate`` fraction and scale the rest by 1/(1-rate).

    Outside training the layer is the identity.

    Args:
        rate: the fraction of inputs to drop, in [0, 1).
        noise_shape: shape of the keep mask (1 to share it along an axis), as in Keras.
        seed: seed of the layer's own random stream (default: drawn from wengert.random).

    Example:
        >>> import wengert as wg
        >>> drop = wg.layers.Dropout(0.5, seed=0)
        >>> bool((drop(wg.ones((4, 4)), training=False).numpy() == 1).all())
        True
        >>> sorted(set(drop(wg.ones((4, 4)), training=True).numpy().ravel().tolist()))
        [0.0, 2.0]
    """

    supports_masking = True  # the input's padding mask passes through

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= float(rate) < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        # A stream of its own, so a checkpoint can save and restore it exactly.
        self.generator = layer_stream(type(self).__name__, seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = (
            inputs.shape
            if self.noise_shape is None
            else tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        )
        keep = self.generator._rng.random(shape) >= self.rate
        mask = wrap((keep / (1.0 - self.rate)).astype(inputs.dtype), "dropout_mask")
        return inputs * mask

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


class Flatten(Layer):
    """Flatten each sample to one axis: (batch, ...) -> (batch, prod(...)).

    Example:
        >>> import wengert as wg
        >>> wg.layers.Flatten()(wg.zeros((2, 3, 4))).shape
        (2, 12)
    """

    def call(self, inputs):
        if inputs.ndim < 1:
            raise ValueError(
                f"Flatten '{self.name}': input needs a batch axis, got shape {inputs.shape}"
            )
        return reshape(
            inputs,
            (inputs.shape[0], -1) if inputs.shape[0] else (0, int(xp.prod(inputs.shape[1:]))),
        )


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (the batch axis is kept; -1 allowed once).

    Example:
        >>> import wengert as wg
        >>> wg.layers.Reshape((3, 4))(wg.zeros((2, 12))).shape
        (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(s) for s in target_shape)

    def call(self, inputs):
        try:
            return reshape(inputs, (inputs.shape[0],) + self.target_shape)
        except ValueError:
            raise ValueError(
                f"Reshape '{self.name}': cannot reshape input of shape {inputs.shape} to "
                f"(batch,) + {self.target_shape}"
            ) from None

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class Lambda(Layer):
    """Wrap a function of tensors as a layer (it has no weights).

    Example:
        >>> import wengert as wg
        >>> wg.layers.Lambda(lambda x: x * 2.0)(wg.ones((2,))).numpy()
        array([2., 2.], dtype=float32)
    """

    def __init__(self, function, output_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs)

    def get_config(self) -> dict:
        # A Python function is code, not data: wengert never pickles, so it cannot be
        # saved, and saying so now beats a model file that cannot be loaded.
        raise TypeError(
            f"Lambda '{self.name}': its function cannot be saved as plain data; write a "
            "Layer subclass (with get_config) for a model that must be saved"
        )


class Normalization(Layer):
    """Standardise features: ``(x - mean) / sqrt(variance)``, statistics set by ``adapt(data)``.

    As in Keras, the standard deviation is floored at 1e-7.  With ``epsilon`` the
    denominator is ``sqrt(variance + epsilon)`` instead, which keeps features that
    barely vary in the training data from blowing up on new data.

    Args:
        axis: the axis (or axes) that keep their own statistics; the others are averaged.
        mean: optional fixed mean (instead of ``adapt``); needs ``variance`` too.
        variance: optional fixed variance.
        invert: undo the normalization instead, ``x * sqrt(variance) + mean`` (Keras).
        epsilon: optional constant added to the variance.

    Example:
        >>> import wengert as wg
        >>> norm = wg.layers.Normalization()
        >>> norm.adapt([[0.0, 10.0], [2.0, 30.0]])
        >>> norm(wg.constant([[1.0, 20.0]])).numpy()
        array([[0., 0.]], dtype=float32)
    """

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, epsilon=None, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization '{self.name}': set both mean and variance, or neither "
                f"(got mean={mean!r}, variance={variance!r})"
            )
        self.axis = (axis,) if isinstance(axis, int) else tuple(axis or ())
        self.invert = bool(invert)
        self.epsilon = None if epsilon is None else float(epsilon)
        self._fixed = (mean, variance)

    def _stat_shape(self, shape):
        keep = {a % len(shape) for a in self.axis}
        return tuple(s if i in keep else 1 for i, s in enumerate(shape))

    def build(self, input_shape):
        shape = self._stat_shape(tuple(1 if s is None else s for s in input_shape))
        self.mean = self.add_weight(shape, "zeros", trainable=False, name="mean")
        self.variance = self.add_weight(shape, "ones", trainable=False, name="variance")
        mean, variance = self._fixed
        if mean is not None:
            self.mean.assign(xp.broadcast_to(xp.asarray(mean, self.dtype), shape))
            self.variance.assign(xp.broadcast_to(xp.asarray(variance, self.dtype), shape))
        self.built = True

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Set mean and variance from ``data`` (samples along the non-kept axes): an array,
        a Tensor, or a source of batches such as a ``wg.data.Dataset`` (its batches are
        joined; ``steps`` reads only that many, as Keras)."""
        if hasattr(data, "as_numpy_iterator") or (
            hasattr(data, "__iter__") and not isinstance(data, (list, tuple, xp.ndarray, Tensor))
        ):
            batches = []
            for k, batch in enumerate(data):
                if steps is not None and k >= steps:
                    break
                batch = batch[0] if isinstance(batch, tuple) else batch  # (x, y): x
                batches.append(xp.asarray(batch._value if hasattr(batch, "_value") else batch))
            if not batches:
                raise ValueError(f"Normalization '{self.name}'.adapt: the data gave no batches")
            data = xp.concatenate(batches)
        a = xp.asarray(data._value if hasattr(data, "_value") else data, dtype="float64")
        if not self.built:
            self.build((None,) + a.shape[1:])
        keep = {x % a.ndim for x in self.axis}
        reduce = tuple(i for i in range(a.ndim) if i not in keep)
        self.mean.assign(a.mean(axis=reduce, keepdims=True).astype(self.dtype))
        self.variance.assign(a.var(axis=reduce, keepdims=True).astype(self.dtype))

    def call(self, inputs):
        from ..math_ops import maximum, sqrt

        if self.epsilon is None:
            scale = maximum(sqrt(self.variance), 1e-7)
        else:
            scale = sqrt(self.variance + self.epsilon)
        if self.invert:
            return inputs * scale + self.mean
        return (inputs - self.mean) / scale

    def get_config(self) -> dict:
        mean, variance = (None if v is None else xp.asarray(v).tolist() for v in self._fixed)
        return {
            **super().get_config(),
            "axis": self.axis,
            "mean": mean,
            "variance": variance,
            "invert": self.invert,
            "epsilon": self.epsilon,
        }
