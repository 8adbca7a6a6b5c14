"""BatchNormalization, LayerNormalization, GroupNormalization, RMSNormalization and
SpectralNormalization, as in Keras 3.

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

LayerNormalization and GroupNormalization normalise each sample by itself (over
features, or over groups of channels), the same in training and inference, with
``wg.nn.moments`` and ``wg.nn.batch_normalization``: ``(x - mean) * (gamma /
sqrt(variance + epsilon)) + beta``.  Keras 3 writes it ``x * inv + (beta - mean *
inv)``, equal in exact arithmetic; centring first rounds once where that form subtracts
two large products, which halves the float32 error when ``|mean|`` is 1e3 to 1e4 times
the spread (test_more_layers measures it against float64).
float16 inputs are normalised in float32 and the result cast back, as Keras does
under mixed precision (and as ``moments`` and the fused batch norm do here).
"""

from __future__ import annotations

import operator

from .. import initializers
from ..array_ops import cast, reshape, transpose
from ..backend import xp
from ..conv_ops import batch_norm_training, batch_normalization, moments
from ..core import operand
from ..math_ops import reduce_mean, reduce_sum, sqrt
from ..tensor import constant, wrap
from .base import InputSpec, Layer, Wrapper, get_mask, serialize_initializer

__all__ = [
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "RMSNormalization",
    "SpectralNormalization",
]


class BatchNormalization(Layer):
    """Normalise each feature with batch statistics in training and moving ones otherwise.

    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta`` per feature along ``axis``.

    The moving statistics forget their start (mean 0, variance 1) slowly: after n training
    steps at momentum 0.99 they still weigh it by 0.99**n (0.2 after 160 steps).  A short
    run -- a shrunk data set, a few epochs -- can then train well and evaluate near chance,
    in Keras as here; ``momentum=0.9`` suits short runs.

    Args:
        axis: the feature (channel) axis: -1 for channels_last, 1 for channels_first.
        momentum: weight of the old moving statistics in each update (default 0.99).
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


def _normalize(x, axes, gamma, beta, epsilon):
    """``(x - mean) * gamma / sqrt(variance + epsilon) + beta``, the statistics over ``axes``
    of each sample; gamma and beta (or None) broadcast against ``x``."""
    narrow = x._value.dtype == xp.float16
    if narrow:  # float16 sums overflow at 65504 and lose digits: normalised in float32
        x = cast(x, "float32")
        gamma = None if gamma is None else cast(gamma, "float32")
        beta = None if beta is None else cast(beta, "float32")
    mean, variance = moments(x, list(axes), keepdims=True)
    out = batch_normalization(x, mean, variance, beta, gamma, epsilon)
    return cast(out, "float16") if narrow else out


def _int_axis(value, where: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{where}: axis must be an int, got {value!r}") from None


class _GammaBetaNormalization(Layer):
    """What LayerNormalization and GroupNormalization share: epsilon, and a learned
    per-feature scale ``gamma`` and offset ``beta`` (each optional), with their config."""

    def __init__(
        self, epsilon, center, scale, beta_initializer, gamma_initializer, **kwargs
    ):  # fmt: skip
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        if not self.epsilon >= 0:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': epsilon must be >= 0, got {epsilon!r}"
            )
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _add_gamma_beta(self, shape) -> None:
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta")

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize_initializer(self.beta_initializer),
            "gamma_initializer": serialize_initializer(self.gamma_initializer),
        }


class LayerNormalization(_GammaBetaNormalization):
    """Normalise each sample over its feature axes: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    The mean and (biased) variance are each sample's own, over ``axis``; unlike
    BatchNormalization nothing depends on the batch, and training and inference agree.
    ``gamma`` and ``beta`` have the shape of the normalised axes (Keras 3).

    Args:
        axis: the axis, or a list of axes, to normalise over (-1: the last).
        epsilon: added to the variance before the square root.
        center: learn an offset ``beta`` (initially zeros).
        scale: learn a factor ``gamma`` (initially ones).
        beta_initializer: initializer of beta.
        gamma_initializer: initializer of gamma.
        beta_regularizer: optional regularizer of beta.
        gamma_regularizer: optional regularizer of gamma.
        beta_constraint: optional constraint of beta.
        gamma_constraint: optional constraint of gamma.
        rms_scaling: only False (Keras's default) is supported; True raises.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    With ``axis`` listed out of order (``[2, 1]``), ``gamma[i, j]`` scales ``x[:, j, i]``:
    the weights follow the list's order.  Keras reshapes them instead, so weights copied
    from Keras for such an ``axis`` scale different entries.

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.normalization import LayerNormalization
        >>> norm = LayerNormalization(epsilon=0.0)
        >>> norm(wg.constant([[1.0, 3.0], [10.0, 30.0]])).numpy()
        array([[-1.,  1.],
               [-1.,  1.]], dtype=float32)
        >>> wide = LayerNormalization(axis=[1, 2])  # gamma and beta per (row, column)
        >>> wide(wg.ones((2, 3, 4))).shape, wide.gamma.shape
        ((2, 3, 4), (3, 4))
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kwargs,
    ):
        super().__init__(
            epsilon, center, scale, beta_initializer, gamma_initializer,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            **kwargs,
        )  # fmt: skip
        where = f"LayerNormalization '{self.name}'"
        if rms_scaling:  # accepted so Keras configs load; the default is the only form
            raise NotImplementedError(
                f"{where}: rms_scaling=True is not supported (Keras's RMS form); use the "
                "default centred normalization"
            )
        if isinstance(axis, (list, tuple)):
            self.axis = [_int_axis(a, where) for a in axis]
            if not self.axis:
                raise ValueError(f"{where}: axis must name at least one axis, got {axis!r}")
        else:
            self.axis = _int_axis(axis, where)

    @property
    def _axis_list(self) -> list:
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def _axes_for(self, shape) -> list:
        """The normalised axes for inputs of ``shape``, non-negative, in ``axis``'s order."""
        ndim = len(shape)
        where = f"LayerNormalization '{self.name}'"
        for a in self._axis_list:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"{where}: axis {a} is out of range for inputs of shape {tuple(shape)}"
                )
        axes = [a % ndim for a in self._axis_list]
        if len(set(axes)) != len(axes):
            raise ValueError(
                f"{where}: axis {self.axis!r} names an axis twice for inputs of shape "
                f"{tuple(shape)}"
            )
        return axes

    def _weight_shape(self, input_shape) -> tuple:
        """The shape of gamma and beta for inputs of ``input_shape`` (None: unknown)."""
        sizes = tuple(input_shape[a] for a in self._axes_for(input_shape))
        if any(s is None for s in sizes):
            raise ValueError(
                f"LayerNormalization '{self.name}': the sizes of axis {self.axis!r} must be "
                f"known, got input shape {tuple(input_shape)}"
            )
        return tuple(int(s) for s in sizes)

    def _probe_value(self, leaf, batch, size):
        if not self.built:  # a functional model's input: refuse unknown sizes by name
            self._weight_shape((None,) + tuple(leaf._sample_shape()))
        return super()._probe_value(leaf, batch, size)

    def build(self, input_shape):
        shape = self._weight_shape(input_shape)
        self._add_gamma_beta(shape)
        min_ndim = max(a + 1 if a >= 0 else -a for a in self._axis_list)
        self.input_spec = InputSpec(min_ndim=min_ndim, axes=dict(zip(self._axis_list, shape)))

    def _broadcast(self, weight, axes, shape):
        """A weight laid out along ``axes`` (in ``axis``'s order), shaped to broadcast
        against inputs of ``shape``."""
        if axes == [len(shape) - 1]:
            return weight
        order = sorted(range(len(axes)), key=axes.__getitem__)
        if order != list(range(len(axes))):  # axis=[2, 1]: gamma[i, j] scales x[:, j, i]
            weight = transpose(weight, order)
        return reshape(weight, tuple(s if i in axes else 1 for i, s in enumerate(shape)))

    def call(self, inputs):
        axes = self._axes_for(inputs.shape)
        gamma = self._broadcast(self.gamma, axes, inputs.shape) if self.scale else None
        beta = self._broadcast(self.beta, axes, inputs.shape) if self.center else None
        return _normalize(inputs, sorted(axes), gamma, beta, self.epsilon)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


class GroupNormalization(_GammaBetaNormalization):
    """Normalise each sample over groups of channels (Wu & He, 2018), as Keras 3.

    The channels along ``axis`` are split into ``groups`` contiguous groups; each
    sample's mean and (biased) variance are taken over a group's channels and all
    the other non-batch axes, then ``gamma`` and ``beta`` (one per channel) scale and
    shift.  ``groups=1`` normalises each sample over everything (gamma and beta still
    per channel); ``groups=-1`` gives every channel its own group (instance norm).

    Args:
        groups: the number of groups; it must divide the number of channels (-1: one
            group per channel).
        axis: the channel axis (-1 for channels_last, 1 for channels_first).
        epsilon: added to the variance before the square root.
        center: learn an offset ``beta`` (initially zeros).
        scale: learn a factor ``gamma`` (initially ones).
        beta_initializer: initializer of beta.
        gamma_initializer: initializer of gamma.
        beta_regularizer: optional regularizer of beta.
        gamma_regularizer: optional regularizer of gamma.
        beta_constraint: optional constraint of beta.
        gamma_constraint: optional constraint of gamma.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.normalization import GroupNormalization
        >>> norm = GroupNormalization(groups=2, epsilon=0.0)
        >>> norm(wg.constant([[1.0, 3.0, 10.0, 30.0]])).numpy()
        array([[-1.,  1., -1.,  1.]], dtype=float32)
        >>> norm.gamma.shape
        (4,)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(
            epsilon, center, scale, beta_initializer, gamma_initializer,
            beta_regularizer=beta_regularizer,
            gamma_regularizer=gamma_regularizer,
            beta_constraint=beta_constraint,
            gamma_constraint=gamma_constraint,
            **kwargs,
        )  # fmt: skip
        where = f"GroupNormalization '{self.name}'"
        try:
            self.groups = operator.index(groups)
        except TypeError:
            raise TypeError(f"{where}: groups must be an int, got {groups!r}") from None
        if self.groups == 0 or self.groups < -1:
            raise ValueError(f"{where}: groups must be positive (or -1), got {groups!r}")
        self.axis = _int_axis(axis, where)

    def _probe_value(self, leaf, batch, size):
        if not self.built:  # a functional model's input: refuse an unknown channel count
            self._channels((None,) + tuple(leaf._sample_shape()))
        return super()._probe_value(leaf, batch, size)

    def _channels(self, input_shape) -> int:
        """The size of the channel axis of ``input_shape``, checked."""
        where = f"GroupNormalization '{self.name}'"
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(
                f"{where}: axis {self.axis} must name a non-batch axis of inputs of shape "
                f"{tuple(input_shape)}"
            )
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"{where}: the size of axis {self.axis} must be known, got input shape "
                f"{tuple(input_shape)}"
            )
        return int(dim)

    def build(self, input_shape):
        dim = self._channels(input_shape)
        groups = dim if self.groups == -1 else self.groups
        if groups > dim or dim % groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': groups={groups} must divide the {dim} "
                f"channels of axis {self.axis} (input shape {tuple(input_shape)})"
            )
        self._groups = groups
        self._add_gamma_beta((dim,))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: dim})

    def call(self, inputs):
        shape = inputs.shape
        axis = self.axis % len(shape)
        groups = self._groups
        # (..., C, ...) -> (..., groups, C // groups, ...): channel c is in group c // (C/G)
        split = (groups, shape[axis] // groups)
        grouped = reshape(inputs, shape[:axis] + split + shape[axis + 1 :])
        reduce = [a for a in range(1, len(shape) + 1) if a != axis]
        param_shape = (1,) * axis + split + (1,) * (len(shape) - axis - 1)
        gamma = reshape(self.gamma, param_shape) if self.scale else None
        beta = reshape(self.beta, param_shape) if self.center else None
        return reshape(_normalize(grouped, reduce, gamma, beta, self.epsilon), shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019), as Keras 3's layer:
    ``x / sqrt(mean(x ** 2) + epsilon) * scale`` over ``axis``, with no centring and no
    offset, as LLaMA-style transformers use it.

    Args:
        axis: the axis, or a list of axes, to normalise over (-1: the last).
        epsilon: added to the mean square before the square root.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.normalization import RMSNormalization
        >>> norm = RMSNormalization(epsilon=0.0)
        >>> norm(wg.constant([[3.0, 4.0]])).numpy() * (12.5 ** 0.5)  # rms of (3, 4)
        array([[3., 4.]], dtype=float32)
        >>> norm.scale.shape
        (2,)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        where = f"RMSNormalization '{self.name}'"
        listed = isinstance(axis, (list, tuple))
        self.axis = [_int_axis(a, where) for a in axis] if listed else _int_axis(axis, where)
        if listed and not self.axis:
            raise ValueError(f"{where}: axis must name at least one axis, got {axis!r}")
        self.epsilon = float(epsilon)
        if not self.epsilon >= 0:
            raise ValueError(f"{where}: epsilon must be >= 0, got {epsilon!r}")

    def _axes(self, shape) -> list:
        """The normalised axes for inputs of ``shape``: non-negative and sorted (Keras)."""
        ndim = len(shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -ndim < a < ndim or a % ndim == 0:
                raise ValueError(
                    f"RMSNormalization '{self.name}': axis {a} must name a non-batch axis of "
                    f"inputs of shape {tuple(shape)}"
                )
        return sorted({a % ndim for a in axes})

    def build(self, input_shape):
        axes = self._axes(input_shape)
        shape = tuple(input_shape[a] for a in axes)
        if any(s is None for s in shape):
            raise ValueError(
                f"RMSNormalization '{self.name}': the sizes of axis {self.axis!r} must be "
                f"known, got input shape {tuple(input_shape)}"
            )
        self.scale = self.add_weight(shape, "ones", name="scale")

    def call(self, inputs):
        axes = self._axes(inputs.shape)
        mean_square = reduce_mean(inputs * inputs, axis=axes, keepdims=True)
        scale = reshape(
            self.scale, tuple(s if i in axes else 1 for i, s in enumerate(inputs.shape))
        )
        return inputs / sqrt(mean_square + self.epsilon) * scale

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


def _unit(v, epsilon=1e-7):
    """``v / ||v||`` over all its entries, with the norm floored at ``epsilon`` (Keras's
    ``ops.normalize(v, axis=None)``)."""
    return v * min(1.0 / max(float(xp.sqrt(xp.sum(v * v))), 1e-300), 1.0 / epsilon)


class SpectralNormalization(Wrapper):
    """Divide a layer's kernel by its largest singular value before each training call
    (Miyato et al., 2018), as Keras 3's wrapper does; it stabilises GAN discriminators.

    The kernel, reshaped to (-1, last axis), has its spectral norm ``sigma`` estimated by
    ``power_iterations`` steps of the power method, continued from the previous call's
    vector ``vector_u`` (a non-trainable weight, so checkpoints keep it).  In training the
    kernel variable is *assigned* ``kernel / sigma`` and the wrapped layer then runs on it,
    so gradients reach the kernel directly, not through ``sigma`` -- Keras 3's choice.
    (PyTorch's ``spectral_norm`` parametrization differentiates through ``sigma`` instead
    and keeps the raw weight.)  An all-zero kernel is left alone.  In inference nothing
    changes.

    Args:
        layer: a layer with a ``kernel`` (Dense, Conv*) or ``embeddings`` (Embedding).
        power_iterations: power-method steps per training call (> 0).
        **kwargs: Layer arguments.

    Example:
        >>> import numpy as np
        >>> import wengert as wg
        >>> layer = wg.layers.SpectralNormalization(wg.layers.Dense(4), power_iterations=30)
        >>> _ = layer(wg.ones((2, 3)), training=True)
        >>> round(float(np.linalg.norm(layer.layer.kernel.numpy(), 2)), 4)
        1.0
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if (
            isinstance(power_iterations, bool)
            or not isinstance(power_iterations, int)
            or (power_iterations <= 0)
        ):
            raise ValueError(
                f"SpectralNormalization: power_iterations should be an integer greater than "
                f"zero, got {power_iterations!r}"
            )
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self.kernel
        if kernel is None:
            raise ValueError(
                f"SpectralNormalization: the wrapped {type(self.layer).__name__} "
                f"'{self.layer.name}' has no 'kernel' nor 'embeddings' weight to normalise"
            )
        self.vector_u = self.add_weight(
            (1, kernel.shape[-1]),
            initializers.TruncatedNormal(stddev=0.02),
            dtype=kernel.dtype,
            trainable=False,
            name="vector_u",
        )

    @property
    def kernel(self):
        """The wrapped layer's ``kernel`` (or ``embeddings``): a property, so the weight
        stays the wrapped layer's own in ``weights``."""
        kernel = getattr(self.layer, "kernel", None)
        return getattr(self.layer, "embeddings", None) if kernel is None else kernel

    def normalized_weights(self):
        """(the next ``vector_u``, ``kernel / sigma``) as arrays: the values a training
        call assigns.  Not differentiated (Keras stops gradients through the vectors and
        assigns the result)."""
        kernel = self.kernel.numpy()
        weights = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u.numpy()
        for _ in range(self.power_iterations):
            v = _unit(u @ weights.T)
            u = _unit(v @ weights)
        sigma = (v @ weights @ u.T).item()
        return u.astype(self.vector_u.dtype), (kernel / sigma).astype(kernel.dtype)

    def call(self, inputs, training=None):
        if training and xp.any(self.kernel.numpy() != 0):
            u, kernel = self.normalized_weights()
            self.vector_u.assign(u)
            self.kernel.assign(kernel)
        out = self.layer(inputs, training=training)
        # Keras casts to the input's dtype; not for an Embedding's integer indices.
        float_input = inputs.dtype.kind == "f"
        return cast(out, inputs.dtype) if float_input and out.dtype != inputs.dtype else out

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "power_iterations": self.power_iterations}
