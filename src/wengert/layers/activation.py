"""Activation layers, as in Keras 3: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each is a thin layer over ``wg.activations`` (whose math and numerical care live in
``wg.nn``); the layers add Keras's arguments, checks and configs.  PReLU is the one
with a weight, its learned negative slope ``alpha``.
"""

from __future__ import annotations

import operator
import warnings

from .. import activations, initializers
from ..backend import xp
from ..math_ops import where
from ..nn_ops import relu
from ..tensor import Tensor
from .base import InputSpec, Layer, get_mask, serialize_initializer

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _non_negative(layer: str, what: str, value, allow_none: bool = False):
    """``value`` as a float, checked >= 0 (None passes where allowed)."""
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number >= 0:
        raise ValueError(f"{layer}: {what} must be a number >= 0, got {value!r}")
    return number


class ReLU(Layer):
    """Rectified linear unit with Keras's optional cap, leak and threshold.

    ``max_value`` for x >= max_value, x for threshold <= x < max_value, and
    ``negative_slope * (x - threshold)`` below the threshold.

    Args:
        max_value: the saturation value (>= 0), or None for no cap.
        negative_slope: the slope below the threshold (>= 0).
        threshold: where the function switches to the identity (>= 0).
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.activation import ReLU
        >>> ReLU(max_value=10.0, negative_slope=0.5)(wg.constant([-10.0, 5.0, 20.0])).numpy()
        array([-5.,  5., 10.], dtype=float32)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        where = f"ReLU '{self.name}'"
        self.max_value = _non_negative(where, "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative(where, "negative_slope", negative_slope)
        self.threshold = _non_negative(where, "threshold", threshold)

    def call(self, inputs):
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """Leaky rectifier: x for x > 0, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: the slope for x <= 0 (>= 0).  Keras's old name ``alpha`` is
            accepted with a DeprecationWarning, as Keras 3 accepts it.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.activation import LeakyReLU
        >>> LeakyReLU(negative_slope=0.5)(wg.constant([-4.0, 2.0])).numpy()
        array([-2.,  2.], dtype=float32)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "LeakyReLU: argument `alpha` is deprecated; use `negative_slope`",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(
            f"LeakyReLU '{self.name}'", "negative_slope", negative_slope
        )

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self) -> dict:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Parametric ReLU: x for x >= 0, ``alpha * x`` otherwise, with ``alpha`` learned.

    ``alpha`` has the shape of one sample (``input_shape[1:]``), with size 1 along
    each of ``shared_axes`` (which count the batch axis as 0, as Keras's do):
    ``shared_axes=[1, 2]`` after a Conv2D learns one slope per channel.

    Args:
        alpha_initializer: initializer of alpha (zeros: a plain ReLU at first).
        alpha_regularizer: optional regularizer of alpha.
        alpha_constraint: optional constraint of alpha.
        shared_axes: an int or a list of axes (>= 1) along which alpha is shared.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.activation import PReLU
        >>> prelu = PReLU(alpha_initializer=wg.initializers.Constant(0.25), shared_axes=[1])
        >>> prelu(wg.constant([[[-4.0, 2.0], [4.0, -8.0]]])).numpy()
        array([[[-1.,  2.],
                [ 4., -2.]]], dtype=float32)
        >>> prelu.alpha.shape
        (1, 2)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(
        self,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(
            alpha_regularizer=alpha_regularizer, alpha_constraint=alpha_constraint, **kwargs
        )
        where = f"PReLU '{self.name}'"
        self.alpha_initializer = initializers.get(alpha_initializer)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            try:
                self.shared_axes = [operator.index(a) for a in axes]
            except TypeError:
                raise TypeError(
                    f"{where}: shared_axes must be an int or a list of ints, got {shared_axes!r}"
                ) from None
            if any(a < 1 for a in self.shared_axes):
                raise ValueError(
                    f"{where}: shared_axes count the batch axis as 0 and must be >= 1, got "
                    f"{shared_axes!r}"
                )

    def _alpha_shape(self, input_shape) -> tuple:
        """The shape of alpha for inputs of ``input_shape`` (None: unknown), checked."""
        ndim = len(input_shape)
        shared = set(self.shared_axes or ())
        if ndim < 2 or any(a >= ndim for a in shared):
            raise ValueError(
                f"PReLU '{self.name}': shared_axes={self.shared_axes} do not fit inputs of "
                f"shape {tuple(input_shape)} (a batch axis and at least one more are needed)"
            )
        shape = tuple(1 if i in shared else input_shape[i] for i in range(1, ndim))
        if any(s is None for s in shape):
            raise ValueError(
                f"PReLU '{self.name}': alpha needs the size of every unshared axis, got input "
                f"shape {tuple(input_shape)}; share the axes of unknown size (shared_axes)"
            )
        return shape

    def _probe_value(self, leaf, batch, size):
        if not self.built:  # a functional model's input: refuse unknown sizes by name
            self._alpha_shape((None,) + tuple(leaf._sample_shape()))
        return super()._probe_value(leaf, batch, size)

    def build(self, input_shape):
        shape = self._alpha_shape(input_shape)
        ndim = len(input_shape)
        shared = set(self.shared_axes or ())
        self.alpha = self.add_weight(shape, self.alpha_initializer, name="alpha")
        axes = {i: input_shape[i] for i in range(1, ndim) if i not in shared}
        self.input_spec = InputSpec(ndim=ndim, axes=axes)

    def call(self, inputs):
        # Keras's form, relu(x) - alpha * relu(-x): both of alpha's and x's gradients follow.
        return relu(inputs) - self.alpha * relu(-inputs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha_initializer": serialize_initializer(self.alpha_initializer),
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """Exponential linear unit: x for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the value -alpha is approached as x -> -inf.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.activation import ELU
        >>> ELU(alpha=2.0)(wg.constant([-1e4, 3.0])).numpy()
        array([-2.,  3.], dtype=float32)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        try:
            self.alpha = float(alpha)
        except (TypeError, ValueError):
            raise ValueError(f"ELU '{self.name}': alpha must be a number, got {alpha!r}") from None

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict:
        # Keras 3's ELU leaves alpha out of its config (so a reloaded layer has alpha=1);
        # it is kept here.
        return {**super().get_config(), "alpha": self.alpha}


def _large_negative(dtype) -> float:
    """What masked logits become: far below any real logit, yet finite in ``dtype``
    (-1e9 overflows float16, whose largest value is 65504)."""
    return -3e4 if dtype == xp.float16 else -1e9


class Softmax(Layer):
    """Softmax along ``axis``, with an optional mask of the positions to keep.

    Called with ``mask`` (True or > 0.5: keep), masked logits are replaced by a large
    negative number before the softmax and the masked outputs are set to 0, as in
    Keras 3: a fully masked row gives zeros, not a uniform distribution.  The mask
    broadcasts against the inputs (NumPy rules, from the last axis).  An input's padding
    mask (Embedding(mask_zero=True), Masking), which Layer passes in as Keras does,
    covers the leading (batch, time) axes and so is broadcast from the first axis.

    Args:
        axis: the axis, or a list of axes, whose entries sum to 1.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.activation import Softmax
        >>> Softmax()(wg.constant([[0.0, 0.0, 5.0]]), mask=[[True, True, False]]).numpy()
        array([[0.5, 0.5, 0. ]], dtype=float32)
    """

    supports_masking = True  # the input's padding mask passes through

    _float_math = True  # integer inputs are cast to the layer's dtype

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        where = f"Softmax '{self.name}'"
        try:
            if isinstance(axis, (list, tuple)):
                self.axis = [operator.index(a) for a in axis]
            else:
                self.axis = operator.index(axis)
        except TypeError:
            raise TypeError(
                f"{where}: axis must be an int or a list of ints, got {axis!r}"
            ) from None
        if self.axis == []:
            raise ValueError(f"{where}: axis must name at least one axis, got {axis!r}")

    def call(self, inputs, mask=None):
        if mask is not None:
            keep = self._keep(inputs, mask)
            inputs = where(keep, inputs, _large_negative(inputs._value.dtype))
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = where(keep, outputs, 0.0)
        return outputs

    def _keep(self, inputs, mask):
        """The mask as a bool array that broadcasts against ``inputs``."""
        padding = mask is get_mask(inputs)
        m = xp.asarray(mask._value if isinstance(mask, Tensor) else mask)
        if m.dtype != xp.bool_:
            m = m > 0.5  # Keras: a float mask keeps the entries above one half
        shape = inputs.shape
        if padding and m.ndim < len(shape) and m.shape == shape[: m.ndim]:
            m = m.reshape(m.shape + (1,) * (len(shape) - m.ndim))
        fits = m.ndim <= len(shape) and all(
            a in (1, b) for a, b in zip(reversed(m.shape), reversed(shape))
        )
        if not fits:
            raise ValueError(
                f"Softmax '{self.name}': the mask must broadcast against the inputs (each of "
                f"its axes 1 or the inputs' size, counted from the last); got inputs of shape "
                f"{tuple(shape)} and a mask of shape {m.shape}"
            )
        return m

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
