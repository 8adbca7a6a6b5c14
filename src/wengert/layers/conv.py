"""Convolution layers (Conv1D, Conv2D, Conv1DTranspose, Conv2DTranspose, DepthwiseConv1D,
DepthwiseConv2D, SeparableConv1D, SeparableConv2D) and the image-shaping layers that go
with them (ZeroPadding2D, UpSampling2D).

Arguments follow Keras 3: ``filters``, ``kernel_size``, ``strides``, ``padding``
("valid" / "same", and "causal" for Conv1D), ``data_format`` ("channels_last" /
"channels_first"), ``dilation_rate``, ``groups``, ``activation``, ``use_bias``,
``kernel_initializer``, ``bias_initializer``.  Kernels are laid out
``kernel_size + (in_channels / groups, filters)``, as in Keras.
"""

from __future__ import annotations

from .. import activations, initializers
from .. import conv_ops as ops
from ..array_ops import broadcast_to, expand_dims, pad, reshape, squeeze
from .base import InputSpec, Layer, serialize_initializer

__all__ = [
    "Conv1D",
    "Conv2D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "ZeroPadding2D",
    "UpSampling2D",
]


def _tuple(value, rank: int, what: str, layer: str, allow_zero: bool = False) -> tuple:
    """An int or ``rank`` ints, checked positive (or non-negative), as a tuple."""
    try:
        vals = (int(value),) * rank if isinstance(value, int) else tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{layer}: {what} must be an int or {rank} ints, got {value!r}") from None
    if len(vals) != rank:
        raise ValueError(f"{layer}: {what} must be an int or {rank} ints, got {value!r}")
    if any(v < 0 or (v == 0 and not allow_zero) for v in vals):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: {what} must be {kind}, got {value!r}")
    return vals


def _data_format(value, layer: str) -> str:
    value = "channels_last" if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{layer}: data_format must be 'channels_last' or 'channels_first', got {value!r}"
        )
    return value


def _refuse_groups(layer: str, kwargs: dict) -> None:
    """Keras's transposed, depthwise and separable convolutions take no ``groups``; an
    explicit groups=1 (the default) is accepted so that configs of either kind load."""
    groups = kwargs.pop("groups", 1)
    if groups != 1:
        raise ValueError(
            f"{layer}: groups={groups!r} is not supported (only Conv1D and Conv2D split "
            "channels into groups; DepthwiseConv convolves each channel by itself)"
        )


class _Conv(Layer):
    """Shared machinery of the N-D convolution layers (N = ``rank``)."""

    _float_math = True  # integer inputs are cast to the layer's dtype

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        if filters is None and not isinstance(self, _DepthwiseConv):
            raise ValueError(f"{where}: filters must be a positive integer, got None")
        self.filters = None if filters is None else int(filters)
        if self.filters is not None and self.filters <= 0:
            raise ValueError(f"{where}: filters must be a positive integer, got {filters!r}")
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size", where)
        self.strides = _tuple(strides, self.rank, "strides", where)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate", where)
        self.padding = str(padding).lower()
        allowed = self._paddings()
        if self.padding not in allowed:
            raise ValueError(f"{where}: padding must be one of {allowed}, got {padding!r}")
        self.data_format = _data_format(data_format, where)
        self.groups = int(groups)
        if self.groups <= 0 or (self.filters is not None and self.filters % self.groups):
            raise ValueError(
                f"{where}: groups ({groups!r}) must be a positive divisor of filters ({filters})"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _paddings(self):
        return ("valid", "same")

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:-1] if self.data_format == "channels_last" else shape[2:])

    def _in_channels(self, input_shape) -> int:
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"ndim={self.rank + 2}, found ndim={len(input_shape)}. Full shape received: "
                f"{tuple(input_shape)}"
            )
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{self._where()}: the channel dimension of the input must be known")
        return int(channels)

    def _kernel_shape(self, in_channels):
        if in_channels % self.groups:
            raise ValueError(
                f"{self._where()}: the input's {in_channels} channels are not divisible by "
                f"groups={self.groups} (input channels must be a multiple of groups)"
            )
        return self.kernel_size + (in_channels // self.groups, self.filters)

    def build(self, input_shape):
        in_channels = self._in_channels(input_shape)
        self.kernel = self.add_weight(
            self._kernel_shape(in_channels), self.kernel_initializer, name="kernel"
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (self._out_channels(in_channels),), self.bias_initializer, name="bias"
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: in_channels})
        self.built = True

    def _out_channels(self, in_channels):
        return self.filters

    def _explicit_padding(self):
        if self.padding == "causal":
            return [[(k - 1) * d, 0] for k, d in zip(self.kernel_size, self.dilation_rate)]
        return self.padding.upper()

    def _check_fits(self, shape):
        """A clear error when the (dilated) kernel is larger than the padded input."""
        spatial = self._spatial(shape)
        for axis, (size, k, s, d) in enumerate(
            zip(spatial, self.kernel_size, self.strides, self.dilation_rate)
        ):
            if self.padding == "same":
                continue  # SAME always fits: its output has ceil(size / stride) positions
            before = (k - 1) * d if self.padding == "causal" else 0
            if ops.conv_output_length(size, k, s, d, (before, 0)) <= 0:
                raise ValueError(
                    f"{self._where()}: kernel_size {self.kernel_size} with dilation_rate "
                    f"{self.dilation_rate} is larger than the input's spatial shape {spatial} "
                    f"(input shape {tuple(shape)}, padding '{self.padding}'); use padding='same' "
                    f"or a smaller kernel{self._channels_first_hint(shape)}"
                )
            if size <= 0:
                raise ValueError(f"{self._where()}: empty spatial axis {axis} in {tuple(shape)}")

    def _channels_first_hint(self, shape) -> str:
        """A hint for PyTorch's NCHW layout given to a channels_last layer: a few channels
        on axis 1 read as a spatial axis, and a long spatial axis last read as channels."""
        first, last = shape[1], shape[-1]
        if self.data_format != "channels_last" or None in (first, last) or not first <= 4 < last:
            return ""
        perm = [0, *range(2, len(shape)), 1]
        return (
            f". Is the input channels-first (PyTorch's layout: axis 1 of size {first} looks like "
            "the channels)? Then pass data_format='channels_first', or transpose it to "
            f"channels-last with wg.transpose(x, {perm})"
        )

    def call(self, inputs):
        self._check_fits(inputs.shape)
        return self.activation(self._convolve(inputs, self.bias if self.use_bias else None))

    def _convolve(self, inputs, bias):
        fmt = "NHWC" if self.data_format == "channels_last" else "NCHW"
        if self.rank == 1:
            return ops.conv1d(
                inputs,
                self.kernel,
                self.strides,
                self._explicit_padding(),
                data_format=fmt.replace("H", ""),
                dilations=self.dilation_rate,
                bias=bias,
            )
        return ops.conv2d(
            inputs,
            self.kernel,
            self.strides,
            self._explicit_padding(),
            data_format=fmt,
            dilations=self.dilation_rate,
            bias=bias,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
        }


class Conv2D(_Conv):
    """2-D convolution layer: ``activation(conv2d(inputs, kernel) + bias)``.

    Args:
        filters: the number of output channels.
        kernel_size: an int or 2 ints, the window's height and width.
        strides: an int or 2 ints (positive).
        padding: "valid" (no padding) or "same" (output size ceil(input / stride)).
        data_format: "channels_last" (default; (batch, h, w, c)) or "channels_first".
        dilation_rate: an int or 2 ints, the spacing of the kernel's taps.
        groups: split the input channels into this many groups, each convolved
            with its own filters/groups filters (1: an ordinary convolution).
        activation: an activation name or function (None: linear).
        use_bias: add a bias per output channel.
        kernel_initializer: initializer of the (kh, kw, in/groups, filters) kernel.
        bias_initializer: initializer of the (filters,) bias.
        **kwargs: Layer arguments (name, trainable, dtype, input_shape).

    Example:
        >>> import wengert as wg
        >>> layer = wg.layers.Conv2D(8, 3, padding="same", activation="relu")
        >>> layer(wg.ones((2, 28, 28, 1))).shape, layer.kernel.shape
        ((2, 28, 28, 8), (3, 3, 1, 8))
    """

    rank = 2


class Conv1D(_Conv):
    """1-D convolution layer over sequences: ``activation(conv1d(inputs, kernel) + bias)``.

    Args:
        filters: the number of output channels.
        kernel_size: an int, the window's length.
        strides: an int (positive).
        padding: "valid", "same" or "causal" (zeros before the sequence only, so
            output t depends on inputs up to t).
        data_format: "channels_last" (default; (batch, steps, c)) or "channels_first".
        dilation_rate: the spacing of the kernel's taps.
        groups: the number of channel groups.
        activation: an activation name or function (None: linear).
        use_bias: add a bias per output channel.
        kernel_initializer: initializer of the (k, in/groups, filters) kernel.
        bias_initializer: initializer of the (filters,) bias.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Conv1D(4, 3, padding="causal")(wg.ones((2, 10, 3))).shape
        (2, 10, 4)
    """

    rank = 1

    def _paddings(self):
        return ("valid", "same", "causal")


class _ConvTranspose(_Conv):
    """Shared machinery of the transposed convolutions (N = ``rank``): the gradient
    of a convolution with respect to its input, with Keras's output sizes."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        _refuse_groups(type(self).__name__, kwargs)
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        self.output_padding = (
            None
            if output_padding is None
            else _tuple(output_padding, self.rank, "output_padding", self._where(), allow_zero=True)
        )
        if self.output_padding is not None and any(
            p >= s for p, s in zip(self.output_padding, self.strides)
        ):
            raise ValueError(
                f"{self._where()}: output_padding {self.output_padding} must be smaller than "
                f"strides {self.strides}"
            )

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def _output_spatial(self, spatial):
        out = []
        for i, size in enumerate(spatial):
            k = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1
            s = self.strides[i]
            if self.output_padding is None:
                out.append(size * s if self.padding == "same" else size * s + max(k - s, 0))
            else:
                p = k // 2 if self.padding == "same" else 0
                length = (size - 1) * s + k - 2 * p + self.output_padding[i]
                if self.padding == "same" and -(-length // s) != size:
                    # An even kernel: no "same" convolution maps this length back to size.
                    raise ValueError(
                        f"{self._where()}: padding='same' with kernel {k} (dilated), stride "
                        f"{s} and output_padding {self.output_padding[i]} gives length "
                        f"{length} along spatial axis {i}, which a 'same' convolution does "
                        f"not map back to the input's {size} (TensorFlow refuses it too); use "
                        "output_padding=None, an odd kernel, or padding='valid'"
                    )
                out.append(length)
        return tuple(out)

    def _check_fits(self, shape):
        pass  # a transposed convolution grows its input: any kernel fits

    def _convolve(self, inputs, bias):
        channels_last = self.data_format == "channels_last"
        transpose = ops.conv2d_transpose if self.rank == 2 else ops.conv1d_transpose
        fmt = "NHWC" if channels_last else "NCHW"
        out = transpose(
            inputs,
            self.kernel,
            self._output_spatial(self._spatial(inputs.shape)),
            self.strides,
            self.padding.upper(),
            data_format=fmt if self.rank == 2 else fmt.replace("H", ""),
            dilations=self.dilation_rate,
        )
        if bias is None:
            return out
        return ops.bias_add(out, bias, data_format=None if channels_last else "NC...")

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("groups")
        return {**config, "output_padding": self.output_padding}


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution layer (sometimes called deconvolution).

    The output's spatial size is Keras's: ``input * stride`` for "same",
    ``input * stride + max(kernel - stride, 0)`` for "valid", or with
    ``output_padding`` given, ``(input - 1) * stride + kernel - 2 * pad + output_padding``
    (pad = kernel // 2 for "same", 0 for "valid"); kernels are dilated first.

    Args:
        filters: the number of output channels.
        kernel_size: an int or 2 ints.
        strides: an int or 2 ints.
        padding: "valid" or "same".
        output_padding: None, an int or 2 ints (each smaller than the stride).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or 2 ints.
        activation: an activation name or function.
        use_bias: add a bias per output channel.
        kernel_initializer: initializer of the (kh, kw, filters, in_channels) kernel.
        bias_initializer: initializer of the bias.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> layer = wg.layers.Conv2DTranspose(3, 3, strides=2, padding="same")
        >>> layer(wg.ones((1, 7, 7, 5))).shape, layer.kernel.shape
        ((1, 14, 14, 3), (3, 3, 3, 5))
    """

    rank = 2


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution layer (sometimes called deconvolution), as Keras's.

    The output's length is Keras's: ``length * stride`` for "same",
    ``length * stride + max(kernel - stride, 0)`` for "valid", or with
    ``output_padding`` given, ``(length - 1) * stride + kernel - 2 * pad + output_padding``
    (pad = kernel // 2 for "same", 0 for "valid"); the kernel is dilated first.

    Args:
        filters: the number of output channels.
        kernel_size: an int, the window's length.
        strides: an int.
        padding: "valid" or "same".
        output_padding: None or an int smaller than the stride.
        data_format: "channels_last" (default; (batch, steps, c)) or "channels_first".
        dilation_rate: an int.
        activation: an activation name or function.
        use_bias: add a bias per output channel.
        kernel_initializer: initializer of the (k, filters, in_channels) kernel.
        bias_initializer: initializer of the bias.
        **kwargs: Layer arguments (name, kernel_regularizer, bias_constraint, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.conv import Conv1DTranspose
        >>> layer = Conv1DTranspose(4, 3, strides=2, padding="same")
        >>> layer(wg.ones((2, 10, 3))).shape, layer.kernel.shape
        ((2, 20, 4), (3, 4, 3))
    """

    rank = 1


def _depthwise(layer, inputs, kernel, bias):
    """``layer``'s depthwise convolution of ``inputs`` with ``kernel``
    (kernel_size + (in_channels, depth_multiplier)); one dimension is depthwise_conv2d
    over images one row high."""
    fmt = "NHWC" if layer.data_format == "channels_last" else "NCHW"
    padding = layer._explicit_padding()
    if layer.rank == 2:
        return ops.depthwise_conv2d(
            inputs, kernel, layer.strides, padding, fmt, layer.dilation_rate, bias=bias
        )
    row = 1 if layer.data_format == "channels_last" else 2  # the new height axis
    out = ops.depthwise_conv2d(
        expand_dims(inputs, row),
        expand_dims(kernel, 0),
        (1,) + layer.strides,
        padding if isinstance(padding, str) else [[0, 0]] + padding,
        fmt,
        (1,) + layer.dilation_rate,
        bias=bias,
    )
    return squeeze(out, row)


class _DepthwiseConv(_Conv):
    """Shared machinery of the depthwise convolutions (N = ``rank``)."""

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        _refuse_groups(type(self).__name__, kwargs)
        super().__init__(
            None,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        # Keras's depthwise_regularizer/_constraint are for the weight called "kernel" here.
        for by_weight in (self._weight_regularizers, self._weight_constraints):
            if "depthwise" in by_weight:
                by_weight["kernel"] = by_weight.pop("depthwise")
        self.depth_multiplier = int(depth_multiplier)
        if self.depth_multiplier <= 0:
            raise ValueError(
                f"{self._where()}: depth_multiplier must be positive, got {depth_multiplier!r}"
            )

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels, self.depth_multiplier)

    def _out_channels(self, in_channels):
        return in_channels * self.depth_multiplier

    def _convolve(self, inputs, bias):
        return _depthwise(self, inputs, self.kernel, bias)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("filters", "groups"):
            config.pop(key)
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        for kind in ("regularizer", "constraint"):
            if f"kernel_{kind}" in config:
                config[f"depthwise_{kind}"] = config.pop(f"kernel_{kind}")
        return {**config, "depth_multiplier": self.depth_multiplier}


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    Input channel c gives ``depth_multiplier`` output channels
    ``c * depth_multiplier + m``; it is a grouped convolution with one group per channel.

    Args:
        kernel_size: an int or 2 ints.
        strides: an int or 2 ints.
        padding: "valid" or "same".
        depth_multiplier: output channels per input channel.
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or 2 ints.
        activation: an activation name or function.
        use_bias: add a bias per output channel.
        depthwise_initializer: initializer of the (kh, kw, in_channels, depth_multiplier) kernel.
        bias_initializer: initializer of the bias.
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> layer = wg.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer(wg.ones((1, 5, 5, 3))).shape, layer.kernel.shape
        ((1, 5, 5, 6), (3, 3, 3, 2))
    """

    rank = 2


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1-D convolution: each input channel convolved with its own filters.

    Input channel c gives ``depth_multiplier`` output channels ``c * depth_multiplier + m``.

    Args:
        kernel_size: an int, the window's length.
        strides: an int.
        padding: "valid", "same" or "causal" (zeros before the sequence only; Keras 3
            has no "causal" here, tf.keras had).
        depth_multiplier: output channels per input channel.
        data_format: "channels_last" (default; (batch, steps, c)) or "channels_first".
        dilation_rate: an int.
        activation: an activation name or function.
        use_bias: add a bias per output channel.
        depthwise_initializer: initializer of the (k, in_channels, depth_multiplier) kernel.
        bias_initializer: initializer of the bias.
        **kwargs: Layer arguments (name, depthwise_regularizer, bias_constraint, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.conv import DepthwiseConv1D
        >>> layer = DepthwiseConv1D(3, depth_multiplier=2)
        >>> layer(wg.ones((2, 10, 4))).shape, layer.kernel.shape
        ((2, 8, 8), (3, 4, 2))
    """

    rank = 1

    def _paddings(self):
        return ("valid", "same", "causal")


class _SeparableConv(_Conv):
    """Shared machinery of the separable convolutions (N = ``rank``): a depthwise
    convolution (``depthwise_kernel``, kernel_size + (in, depth_multiplier)) then a
    pointwise one (``pointwise_kernel``, (1,) * N + (in * depth_multiplier, filters))
    and the bias, as Keras's ``separable_conv``."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        _refuse_groups(type(self).__name__, kwargs)
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            **kwargs,
        )
        self.depth_multiplier = int(depth_multiplier)
        if self.depth_multiplier <= 0:
            raise ValueError(
                f"{self._where()}: depth_multiplier must be positive, got {depth_multiplier!r}"
            )
        self.depthwise_initializer = self.kernel_initializer
        self.pointwise_initializer = initializers.get(pointwise_initializer)

    def build(self, input_shape):
        in_channels = self._in_channels(input_shape)
        # depthwise_regularizer / pointwise_regularizer (and _constraint) find these weights
        # by name (add_weight takes "<x>_regularizer" for the weight "<x>_kernel").
        self.depthwise_kernel = self.add_weight(
            self.kernel_size + (in_channels, self.depth_multiplier),
            self.depthwise_initializer,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            (1,) * self.rank + (in_channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            name="pointwise_kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: in_channels})

    def _convolve(self, inputs, bias):
        mixed = _depthwise(self, inputs, self.depthwise_kernel, None)
        fmt = "NHWC" if self.data_format == "channels_last" else "NCHW"
        if self.rank == 1:
            conv, fmt = ops.conv1d, fmt.replace("H", "")
        else:
            conv = ops.conv2d
        return conv(mixed, self.pointwise_kernel, 1, "VALID", data_format=fmt, bias=bias)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("groups", "kernel_initializer"):
            config.pop(key)
        return {
            **config,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": serialize_initializer(self.depthwise_initializer),
            "pointwise_initializer": serialize_initializer(self.pointwise_initializer),
        }


class SeparableConv2D(_SeparableConv):
    """Depthwise separable 2-D convolution: a depthwise convolution (each channel on its
    own, ``depth_multiplier`` outputs each) then a 1x1 convolution mixing the channels.

    Args:
        filters: the number of output channels.
        kernel_size: an int or 2 ints, the depthwise window.
        strides: an int or 2 ints, the depthwise strides.
        padding: "valid" or "same".
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or 2 ints.
        depth_multiplier: depthwise output channels per input channel.
        activation: an activation name or function.
        use_bias: add a bias per output channel.
        depthwise_initializer: initializer of the (kh, kw, in, depth_multiplier) kernel.
        pointwise_initializer: initializer of the (1, 1, in * depth_multiplier, filters)
            kernel.
        bias_initializer: initializer of the (filters,) bias.
        **kwargs: Layer arguments (name, depthwise_regularizer, pointwise_regularizer,
            bias_regularizer, depthwise_constraint, pointwise_constraint, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.conv import SeparableConv2D
        >>> layer = SeparableConv2D(8, 3, depth_multiplier=2, padding="same")
        >>> layer(wg.ones((1, 6, 6, 3))).shape
        (1, 6, 6, 8)
        >>> layer.depthwise_kernel.shape, layer.pointwise_kernel.shape
        ((3, 3, 3, 2), (1, 1, 6, 8))
    """

    rank = 2


class SeparableConv1D(_SeparableConv):
    """Depthwise separable 1-D convolution: a depthwise convolution (each channel on its
    own, ``depth_multiplier`` outputs each) then a width-1 convolution mixing the channels.

    Args:
        filters: the number of output channels.
        kernel_size: an int, the depthwise window's length.
        strides: an int.
        padding: "valid", "same" or "causal" (zeros before the sequence only; Keras 3
            has no "causal" here, tf.keras had).
        data_format: "channels_last" (default; (batch, steps, c)) or "channels_first".
        dilation_rate: an int.
        depth_multiplier: depthwise output channels per input channel.
        activation: an activation name or function.
        use_bias: add a bias per output channel.
        depthwise_initializer: initializer of the (k, in, depth_multiplier) kernel.
        pointwise_initializer: initializer of the (1, in * depth_multiplier, filters) kernel.
        bias_initializer: initializer of the (filters,) bias.
        **kwargs: Layer arguments (name, depthwise_regularizer, pointwise_regularizer, ...).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.conv import SeparableConv1D
        >>> layer = SeparableConv1D(4, 3, padding="causal")
        >>> layer(wg.ones((2, 10, 3))).shape, layer.pointwise_kernel.shape
        ((2, 10, 4), (1, 3, 4))
    """

    rank = 1

    def _paddings(self):
        return ("valid", "same", "causal")


class ZeroPadding2D(Layer):
    """Pad images with zeros along height and width.

    Args:
        padding: an int (all four sides), 2 ints (symmetric height and width
            padding) or 2 pairs ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.ZeroPadding2D(((1, 0), (2, 2)))(wg.ones((1, 3, 3, 2))).shape
        (1, 4, 7, 2)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        where = f"ZeroPadding2D '{self.name}'"
        if isinstance(padding, int):
            pairs = ((padding, padding), (padding, padding))
        else:
            items = tuple(padding)
            if len(items) != 2:
                raise ValueError(f"{where}: padding must be an int, 2 ints or 2 pairs: {padding!r}")
            pairs = tuple(
                (int(p), int(p)) if isinstance(p, int) else tuple(int(v) for v in p) for p in items
            )
        if any(len(p) != 2 or min(p) < 0 for p in pairs):
            raise ValueError(f"{where}: padding must be non-negative pairs, got {padding!r}")
        self.padding = pairs
        self.data_format = _data_format(data_format, where)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        if self.data_format == "channels_last":
            return pad(inputs, ((0, 0),) + self.padding + ((0, 0),))
        return pad(inputs, ((0, 0), (0, 0)) + self.padding)

    def get_config(self) -> dict:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class UpSampling2D(Layer):
    """Repeat each row and column of images ``size`` times (nearest-neighbour upsampling).

    Args:
        size: an int or 2 ints, the row and column factors.
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (the only one implemented).
        **kwargs: Layer arguments.

    Example:
        >>> import wengert as wg
        >>> wg.layers.UpSampling2D(2)(wg.constant([[[[1.0], [2.0]]]]))[0, :, :, 0].numpy()
        array([[1., 1., 2., 2.],
               [1., 1., 2., 2.]], dtype=float32)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        where = f"UpSampling2D '{self.name}'"
        self.size = _tuple(size, 2, "size", where)
        self.data_format = _data_format(data_format, where)
        if interpolation != "nearest":
            raise ValueError(
                f"{where}: interpolation {interpolation!r} is not implemented; use 'nearest'"
            )
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs):
        # A broadcast along two new axes and a reshape: the gradient sums each block.
        sh, sw = self.size
        if self.data_format == "channels_last":
            n, h, w, c = inputs.shape
            x = reshape(inputs, (n, h, 1, w, 1, c))
            x = broadcast_to(x, (n, h, sh, w, sw, c))
            return reshape(x, (n, h * sh, w * sw, c))
        n, c, h, w = inputs.shape
        x = reshape(inputs, (n, c, h, 1, w, 1))
        x = broadcast_to(x, (n, c, h, sh, w, sw))
        return reshape(x, (n, c, h * sh, w * sw))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }
