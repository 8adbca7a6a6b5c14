"""Activations and normalised exponentials with numerically stable rules.

These are composites that get their own primitive for stability at large |x|
(sigmoid, softplus, softmax, log_softmax) or for speed (relu).
"""

from __future__ import annotations

from .backend import xp
from .core import apply, defjvp, defvjp, operand, primitive, unary_op
from .math_ops import _axes, exp, greater, reduce_sum, where
from .tensor import Tensor


def _sigmoid_impl(x):
    # With e = exp(-|x|) <= 1 nothing overflows: 1 / (1 + e) for x >= 0 and
    # e / (1 + e) for x < 0 are both exact to rounding, down to the tiniest outputs.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


sigmoid_p = primitive("sigmoid", _sigmoid_impl)
defvjp(sigmoid_p, lambda g, out, x: g * (out * (1 - out)))
defjvp(sigmoid_p, lambda dx, out, x: dx * (out * (1 - out)))


sigmoid = unary_op(
    sigmoid_p,
    float_only=True,
    doc="""Logistic sigmoid 1 / (1 + e^-x), stable at large |x|.

    Example:
        >>> import wengert as wg
        >>> wg.sigmoid([0.0, 1e4, -1e4]).numpy()
        array([0.5, 1. , 0. ], dtype=float32)
    """,
)


def _relu_impl(x):
    return xp.maximum(x, 0)


relu_p = primitive("relu", _relu_impl)
defvjp(relu_p, lambda g, out, x: where(greater(out, 0), g, 0))
defjvp(relu_p, lambda dx, out, x: where(greater(out, 0), dx, 0))


_relu = unary_op(relu_p)  # wrapped by relu() for TensorFlow's argument name


def _softplus_impl(x):
    return xp.logaddexp(0, x)  # log(1 + e^x) without overflow


softplus_p = primitive("softplus", _softplus_impl)
defvjp(softplus_p, lambda g, out, x: g * sigmoid(x))
defjvp(softplus_p, lambda dx, out, x: dx * sigmoid(x))


_softplus = unary_op(softplus_p, float_only=True)  # wrapped by softplus()


def relu(features, name=None) -> Tensor:
    """Rectified linear unit max(x, 0); its gradient at 0 is 0.

    Example:
        >>> import wengert as wg
        >>> wg.nn.relu([-1.0, 2.0]).numpy()
        array([0., 2.], dtype=float32)
    """
    return _relu(features)


def softplus(features, name=None) -> Tensor:
    """log(1 + e^x), stable at large |x|.

    Example:
        >>> import wengert as wg
        >>> wg.nn.softplus([0.0, 1e4]).numpy()
        array([6.931472e-01, 1.000000e+04], dtype=float32)
    """
    return _softplus(features)


def _softmax_impl(x, axis):
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    e /= xp.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax_impl(x, axis):
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


softmax_p = primitive("softmax", _softmax_impl)
defvjp(softmax_p, lambda g, out, x, axis: out * (g - reduce_sum(g * out, axis, keepdims=True)))
defjvp(softmax_p, lambda dx, out, x, axis: out * (dx - reduce_sum(dx * out, axis, keepdims=True)))
log_softmax_p = primitive("log_softmax", _log_softmax_impl)
defvjp(log_softmax_p, lambda g, out, x, axis: g - exp(out) * reduce_sum(g, axis, keepdims=True))
defjvp(log_softmax_p, lambda dx, out, x, axis: dx - reduce_sum(exp(out) * dx, axis, keepdims=True))


def _float_operand(x, op: str) -> Tensor:
    x = operand(x)
    if x._value.dtype.kind not in "fc":
        raise TypeError(f"{op}: expected a floating-point tensor, got {x.dtype}{list(x.shape)}")
    return x


def softmax(logits, axis=-1, name=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, computed stably.

    Example:
        >>> import wengert as wg
        >>> wg.nn.softmax([0.0, 0.0]).numpy()
        array([0.5, 0.5], dtype=float32)
    """
    x = _float_operand(logits, "softmax")
    (axis,) = _axes(axis, x._value.ndim, "softmax")
    return apply(softmax_p, (x,), {"axis": axis})


def log_softmax(logits, axis=-1, name=None) -> Tensor:
    """x - logsumexp(x) along ``axis``, computed stably (finite at +-1e4).

    Example:
        >>> import wengert as wg
        >>> wg.nn.log_softmax([0.0, 1e4]).numpy()
        array([-10000.,      0.], dtype=float32)
    """
    x = _float_operand(logits, "log_softmax")
    (axis,) = _axes(axis, x._value.ndim, "log_softmax")
    return apply(log_softmax_p, (x,), {"axis": axis})
