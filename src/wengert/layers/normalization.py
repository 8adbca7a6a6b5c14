"""BatchNormalization, as in Keras 3.

In training (``training=True`` and the layer trainable) the layer normalises
with the batch's mean and biased variance and updates its moving statistics::

    moving_mean     = momentum * moving_mean     + (1 - momentum) * mean(batch)
    moving_variance = momentum * moving_variance + (1 - momentum) * var(batch)

where var(batch) is the biased variance (divided by n), as Keras 3 computes it
(``ops.moments``).  PyTorch's ``BatchNorm`` keeps the unbiased variance in
``running_var`` instead and its momentum is ``1 - momentum``.  In inference the
moving statistics are used.  The statistics are non-trainable weights, so
checkpoints include them.

Training runs one fused primitive (``conv_ops.batch_norm_training``, with a
hand-written VJP) instead of a dozen recorded ops: a quarter of a small CNN's
step.  Inputs whose dtype differs from the layer's weights take the op-by-op path.
"""

from __future__ import annotations

from .. import initializers
from ..array_ops import reshape
from ..backend import xp
from ..conv_ops import batch_norm_training
from ..core import operand
from ..math_ops import reduce_mean, reduce_sum, sqrt
from ..tensor import constant, wrap
from .base import InputSpec, Layer, get_mask, serialize_initializer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalise each feature with batch statistics in training and moving ones otherwise.

    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta`` per feature along ``axis``.

    Args:
        axis: the feature (channel) axis: -1 for channels_last, 1 for channels_first.
        momentum: weight of the old moving statistics in each update.
        epsilon: added to the variance before the square root.
        center: learn an offset ``beta``.
        scale: learn a factor ``gamma``.
        beta_initializer: initializer of beta (zeros).
        gamma_initializer: initializer of gamma (ones).
        moving_mean_initializer: initializer of the moving mean (zeros).
        moving_variance_initializer: initializer of the moving variance (ones).
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> bn = wg.layers.BatchNormalization(momentum=0.5)
        >>> y = bn(wg.constant([[0.0, 1.0], [2.0, 5.0]]), training=True)
        >>> y.numpy().round(4)
        array([[-0.9995, -0.9999],
               [ 0.9995,  0.9999]], dtype=float32)
        >>> bn.moving_mean.numpy(), bn.moving_variance.numpy()
        (array([0.5, 1.5], dtype=float32), array([1. , 2.5], dtype=float32))
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f"BatchNormalization '{self.name}': axis {self.axis} is out of range for "
                f"inputs of shape {tuple(input_shape)}"
            )
        axis = self.axis % ndim
        size = input_shape[axis]
        if size is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': the size of axis {self.axis} must be known, "
                f"got input shape {tuple(input_shape)}"
            )
        shape = (int(size),)
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta")
        self.moving_mean = self.add_weight(
            shape, self.moving_mean_initializer, trainable=False, name="moving_mean"
        )
        self.moving_variance = self.add_weight(
            shape, self.moving_variance_initializer, trainable=False, name="moving_variance"
        )
        self._reduction_axes = tuple(i for i in range(ndim) if i != axis)
        # The shape that broadcasts a (C,) statistic against the input.
        self._broadcast = tuple(int(size) if i == axis else 1 for i in range(ndim))
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: int(size)})
        self.built = True

    def _stat(self, v):
        """A (C,) weight shaped to broadcast against the input."""
        return v if self._broadcast[-1] != 1 else reshape(v, self._broadcast)

    def call(self, inputs, training=None):
        mask = get_mask(inputs)
        if mask is not None and mask.ndim != inputs._value.ndim - 1:
            mask = None  # as Keras: a mask over all but the feature axis, or none
        if training and self.trainable and mask is None and self._fusable(inputs):
            y, mean, variance = batch_norm_training(
                inputs,
                self._weight_or(self.gamma if self.scale else None, 1.0),
                self._weight_or(self.beta if self.center else None, 0.0),
                self.axis,
                self.epsilon,
            )
            self._update_moving(mean._value, variance._value)
            return y
        # Per-channel factors first, so the full-size work is a few multiplies and adds.
        if training and self.trainable:
            axes = self._reduction_axes
            if mask is None:
                mean = reduce_mean(inputs, axes, keepdims=True)
                centred = inputs - mean
                variance = reduce_mean(centred * centred, axes, keepdims=True)
            else:  # Keras 3: the statistics of the real (unmasked) steps only
                w = xp.broadcast_to(mask[..., None], inputs.shape).astype(inputs.dtype)
                count = w.sum(axis=axes, keepdims=True) + 1e-7
                weights = wrap(w)
                mean = reduce_sum(inputs * weights, axes, keepdims=True) / wrap(count)
                centred = inputs - mean
                variance = reduce_sum(weights * centred * centred, axes, keepdims=True) / wrap(
                    count
                )
            self._update_moving(mean._value, variance._value)
            inv = 1.0 / sqrt(variance + self.epsilon)
            if self.scale:
                inv = inv * self._stat(self.gamma)
            out = centred * inv
            return out + self._stat(self.beta) if self.center else out
        # Inference: one multiply-add with (C,) factors, scale * x + (beta - scale * mean).
        inv = 1.0 / sqrt(self._stat(self.moving_variance) + self.epsilon)
        if self.scale:
            inv = inv * self._stat(self.gamma)
        shift = -(self._stat(self.moving_mean) * inv)
        if self.center:
            shift = shift + self._stat(self.beta)
        return inputs * inv + shift

    def _fusable(self, inputs) -> bool:
        """Whether the fused training op applies: float inputs of the weights' dtype."""
        dtype = operand(inputs)._value.dtype
        return dtype.kind == "f" and dtype == self.moving_mean._value.dtype

    def _weight_or(self, weight, value):
        """The (C,) weight, or a constant standing in for an absent gamma or beta."""
        if weight is not None:
            return weight
        mm = self.moving_mean._value
        return constant(xp.full(mm.shape, value, dtype=mm.dtype))

    def _update_moving(self, mean, variance) -> None:
        # Arrays, not tensors: the update is bookkeeping, never part of a gradient.
        m = self.momentum
        mm = self.moving_mean._value
        mv = self.moving_variance._value
        self.moving_mean.assign((mm * m + mean.reshape(mm.shape) * (1.0 - m)).astype(mm.dtype))
        self.moving_variance.assign(
            (mv * m + variance.reshape(mv.shape) * (1.0 - m)).astype(mv.dtype)
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
            "moving_mean_initializer": serialize_initializer(self.moving_mean_initializer),
            "moving_variance_initializer": serialize_initializer(self.moving_variance_initializer),
        }
