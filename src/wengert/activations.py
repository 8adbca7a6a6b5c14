"""``wg.activations``: Keras's activation functions, looked up by name.

Each function takes a tensor and returns one of the same shape; the math (and
its numerical care) lives in ``wg.nn``, these add Keras's names and arguments.
``get`` turns a name, None or a callable into a function, and ``serialize``
turns a built-in function back into the name a layer's config stores.
"""

from __future__ import annotations

from . import nn_ops
from .array_ops import reshape, transpose
from .core import operand
from .math_ops import _axes, exp, greater, maximum, minimum, where
from .math_ops import tanh as _tanh
from .tensor import Tensor

__all__ = [
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mish",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def _float(x, name: str) -> Tensor:
    x = operand(x)
    if x._value.dtype.kind != "f":
        raise TypeError(
            f"activations.{name}: expected a floating-point tensor, got {x.dtype}{list(x.shape)}"
        )
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0) -> Tensor:
    """Rectified linear unit, with Keras's optional leak, cap and threshold.

    Returns x for threshold < x < max_value, max_value above the cap, and
    negative_slope * (x - threshold) at or below the threshold.

    Args:
        x: a floating-point Tensor.
        negative_slope: slope below the threshold.
        max_value: the saturation value, or None for no cap.
        threshold: where the function switches from the slope to the identity.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.relu([-10.0, -5.0, 0.0, 5.0, 10.0]).numpy()
        array([ 0.,  0.,  0.,  5., 10.], dtype=float32)
        >>> wg.activations.relu([-10.0, 5.0, 10.0], negative_slope=0.5, max_value=6.0).numpy()
        array([-5.,  5.,  6.], dtype=float32)
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return nn_ops.relu(x)
    x = _float(x, "relu")
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return nn_ops.leaky_relu(x, alpha=negative_slope)
    # Keras 3's ReLU.static_call, step by step, so edge cases agree.
    if threshold != 0.0:
        out = where(greater(x, float(threshold)), x, 0.0)
    else:
        out = nn_ops.relu(x)
    if max_value is not None:
        out = minimum(maximum(out, 0.0), float(max_value))
    if negative_slope != 0.0:
        out = out - nn_ops.relu(float(threshold) - x) * float(negative_slope)
    return out


def leaky_relu(x, negative_slope=0.2) -> Tensor:
    """Leaky rectifier: x for x > 0, negative_slope * x otherwise.

    Args:
        x: a floating-point Tensor.
        negative_slope: the slope for x <= 0.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.leaky_relu([-1.0, 2.0]).numpy()
        array([-0.2,  2. ], dtype=float32)
    """
    return nn_ops.leaky_relu(x, alpha=negative_slope)


def relu6(x) -> Tensor:
    """min(max(x, 0), 6); its gradient is 1 for 0 < x < 6 only (``tf.nn.relu6``).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.relu6([-1.0, 3.0, 9.0]).numpy()
        array([0., 3., 6.], dtype=float32)
    """
    # minimum sends a tie's gradient to its first argument: the constant 6 here, so
    # the gradient at x = 6 is 0, as at x = 0 (relu's), as TensorFlow's mask 0 < x < 6.
    return minimum(6.0, nn_ops.relu(_float(x, "relu6")))


def elu(x, alpha=1.0) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise.

    Args:
        x: a floating-point Tensor.
        alpha: the value approached as x -> -inf is -alpha.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.elu([-1e4, 1.0], alpha=2.0).numpy()
        array([-2.,  1.], dtype=float32)
    """
    return nn_ops.elu(x, alpha=alpha)


def selu(x) -> Tensor:
    """Scaled exponential linear unit, scale * elu(x, alpha) (self-normalising constants).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.selu([-1e4]).numpy()
        array([-1.7580993], dtype=float32)
    """
    return nn_ops.selu(x)


def gelu(x, approximate=False) -> Tensor:
    """Gaussian error linear unit x * Phi(x) (the tanh approximation when ``approximate``).

    Args:
        x: a floating-point Tensor.
        approximate: use 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.gelu([1.0]).numpy()
        array([0.8413447], dtype=float32)
    """
    return nn_ops.gelu(x, approximate=approximate)


def sigmoid(x) -> Tensor:
    """Logistic sigmoid 1 / (1 + exp(-x)), stable at large |x|.

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype, in [0, 1].

    Example:
        >>> import wengert as wg
        >>> wg.activations.sigmoid([0.0]).numpy()
        array([0.5], dtype=float32)
    """
    return nn_ops.sigmoid(_float(x, "sigmoid"))


def tanh(x) -> Tensor:
    """Hyperbolic tangent.

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype, in [-1, 1].

    Example:
        >>> import wengert as wg
        >>> wg.activations.tanh([0.0, 1e4]).numpy()
        array([0., 1.], dtype=float32)
    """
    return _tanh(_float(x, "tanh"))


def softplus(x) -> Tensor:
    """log(1 + exp(x)), stable at large |x|.

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.softplus([0.0]).numpy()
        array([0.6931472], dtype=float32)
    """
    return nn_ops.softplus(_float(x, "softplus"))


def softsign(x) -> Tensor:
    """x / (1 + |x|).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype, in (-1, 1).

    Example:
        >>> import wengert as wg
        >>> wg.activations.softsign([1.0]).numpy()
        array([0.5], dtype=float32)
    """
    return nn_ops.softsign(x)


def silu(x) -> Tensor:
    """Sigmoid linear unit (swish): x * sigmoid(x).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.silu([0.0, 1e4]).numpy()
        array([    0., 10000.], dtype=float32)
    """
    return nn_ops.silu(x)


swish = silu


def hard_sigmoid(x) -> Tensor:
    """Piecewise-linear sigmoid relu6(x + 3) / 6 (Keras 3's definition).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype, in [0, 1].

    Example:
        >>> import wengert as wg
        >>> wg.activations.hard_sigmoid([-4.0, 0.0, 4.0]).numpy()
        array([0. , 0.5, 1. ], dtype=float32)
    """
    return relu6(_float(x, "hard_sigmoid") + 3.0) / 6.0


def hard_silu(x) -> Tensor:
    """x * hard_sigmoid(x) (hard swish).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.hard_silu([-4.0, 0.0, 4.0]).numpy()
        array([-0.,  0.,  4.], dtype=float32)
    """
    x = _float(x, "hard_silu")
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x) -> Tensor:
    """x * tanh(softplus(x)).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.mish([0.0, 1e4]).numpy()
        array([    0., 10000.], dtype=float32)
    """
    x = _float(x, "mish")
    return x * _tanh(nn_ops.softplus(x))


def exponential(x) -> Tensor:
    """exp(x).

    Args:
        x: a floating-point Tensor.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.exponential([0.0]).numpy()
        array([1.], dtype=float32)
    """
    return exp(_float(x, "exponential"))


def linear(x):
    """The identity: returns x unchanged (the activation of a layer given None).

    Args:
        x: anything.

    Returns:
        x itself.

    Example:
        >>> import wengert as wg
        >>> wg.activations.linear([1.0, -2.0])
        [1.0, -2.0]
    """
    return x


def _over_axes(op, x, axis) -> Tensor:
    """``op`` along several axes at once (Keras 3's ``ops.softmax`` with a tuple axis):
    move them last, flatten them into one, apply ``op`` there, and undo both."""
    if not isinstance(axis, (tuple, list)):
        return op(x, axis=axis)
    x = operand(x)
    axes = list(_axes(axis, x.ndim, f"activations.{op.__name__}"))
    perm = [a for a in range(x.ndim) if a not in axes] + axes
    moved = transpose(x, perm)
    flat = reshape(moved, moved.shape[: x.ndim - len(axes)] + (-1,))
    return transpose(
        reshape(op(flat, axis=-1), moved.shape), [perm.index(a) for a in range(x.ndim)]
    )


def softmax(x, axis=-1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, computed stably.

    Args:
        x: a floating-point Tensor.
        axis: the axis that sums to 1, or a tuple of axes that sum to 1 together.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.softmax([[0.0, 0.0], [0.0, 1e4]]).numpy()
        array([[0.5, 0.5],
               [0. , 1. ]], dtype=float32)
        >>> float(wg.reduce_sum(wg.activations.softmax(wg.ones((2, 2, 2)), axis=(1, 2))[0]))
        1.0
    """
    return _over_axes(nn_ops.softmax, x, axis)


def log_softmax(x, axis=-1) -> Tensor:
    """x - logsumexp(x) along ``axis``, computed stably.

    Args:
        x: a floating-point Tensor.
        axis: the normalised axis, or a tuple of axes normalised together.

    Returns:
        A Tensor of x's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.activations.log_softmax([0.0, 0.0]).numpy()
        array([-0.6931472, -0.6931472], dtype=float32)
    """
    return _over_axes(nn_ops.log_softmax, x, axis)


# Keras's names; the first name of a function is the one ``serialize`` returns.
_REGISTRY = {
    "linear": linear,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "relu6": relu6,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softplus": softplus,
    "softsign": softsign,
    "silu": silu,
    "swish": swish,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_swish,
    "mish": mish,
    "exponential": exponential,
    "softmax": softmax,
    "log_softmax": log_softmax,
}

# The same functions under their tier-1 names (wg.nn.relu, wg.sigmoid, ...).
_OPS = {
    nn_ops.relu: "relu",
    nn_ops.leaky_relu: "leaky_relu",
    nn_ops.elu: "elu",
    nn_ops.selu: "selu",
    nn_ops.gelu: "gelu",
    nn_ops.sigmoid: "sigmoid",
    _tanh: "tanh",
    nn_ops.softplus: "softplus",
    nn_ops.softsign: "softsign",
    nn_ops.silu: "silu",
    exp: "exponential",
    nn_ops.softmax: "softmax",
    nn_ops.log_softmax: "log_softmax",
}


def _names() -> str:
    return ", ".join(sorted(_REGISTRY))


def _unwrapped(fn):
    """The op itself for ``wg.nn``'s public wrapper of it (which records calls on a
    functional model's symbolic values; see layers/op_layer.py)."""
    wrapper = getattr(fn, "records_symbolic", False) and hasattr(fn, "__wrapped__")
    return fn.__wrapped__ if wrapper else fn


def get(identifier):
    """The activation function for ``identifier``: a name, None (linear) or a callable.

    Args:
        identifier: a Keras name such as "relu", None, a callable (returned
            as is), or a config dict {"class_name": "function", "config": name}.

    Returns:
        A function of one tensor.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).

    Example:
        >>> import wengert as wg
        >>> wg.activations.get("relu") is wg.activations.relu
        True
        >>> wg.activations.get(None) is wg.activations.linear
        True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict) and isinstance(identifier.get("config"), str):
        identifier = identifier["config"]
    if isinstance(identifier, str):
        fn = _REGISTRY.get(identifier)
        if fn is None:
            raise ValueError(
                f"activations.get: unknown activation {identifier!r}; valid names: {_names()}"
            )
        return fn
    if callable(identifier):
        return _unwrapped(identifier)
    raise ValueError(
        f"activations.get: cannot interpret {identifier!r} (a {type(identifier).__name__}) "
        f"as an activation; pass a callable, None or one of: {_names()}"
    )


def serialize(activation) -> str:
    """The Keras name of a built-in activation function (what ``get`` accepts back).

    Args:
        activation: a function from this module or its ``wg.nn`` counterpart,
            or a valid name.

    Returns:
        The name, e.g. "relu".

    Raises:
        ValueError: a function that is not built in (store your own by name).

    Example:
        >>> import wengert as wg
        >>> wg.activations.serialize(wg.activations.gelu), wg.activations.serialize(wg.nn.relu)
        ('gelu', 'relu')
    """
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return serialize(get(activation))
    activation = _unwrapped(activation)
    for name, fn in _REGISTRY.items():
        if fn is activation:
            return name
    try:
        name = _OPS.get(activation)
    except TypeError:  # an unhashable callable object
        name = None
    if name is None:
        raise ValueError(
            f"activations.serialize: {activation!r} is not a built-in activation; "
            f"built-in names: {_names()}"
        )
    return name
