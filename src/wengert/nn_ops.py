"""Activations, normalised exponentials and fused cross-entropies.

These are composites that get their own primitive for stability at large |x|
(sigmoid, softplus, softmax, log_softmax, the three cross-entropies with
logits) or for speed (relu).  ``erf`` and ``erfc`` are primitives: NumPy has neither.
The other activations (leaky_relu, elu, selu, gelu, softsign, silu) are
compositions of stable ops: their gradients come from the ops' rules.
"""

from __future__ import annotations

from .array_ops import cast, expand_dims, one_hot, reshape
from .backend import xp
from .core import apply, binary_operands, defjvp, defvjp, operand, primitive, unary_op
from .math_ops import _axes, _mT, exp, expm1, greater, matmul, minimum, reduce_sum, tanh, where
from .math_ops import abs as _abs
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


def _relu_grad_impl(g, out):
    # g times the step function, as TensorFlow's ReluGrad computes it: a multiply by
    # the mask runs about ten times faster than a select on a random mask.
    return g * (out > 0)


relu_p = primitive("relu", _relu_impl)
defvjp(relu_p, lambda g, out, x: relu_grad(g, out))
defjvp(relu_p, lambda dx, out, x: relu_grad(dx, out))
# relu's derivative applied to a cotangent: its own primitive for speed.  It is
# linear in g, and its derivative in out is zero almost everywhere.
relu_grad_p = primitive("relu_grad", _relu_grad_impl)
defvjp(relu_grad_p, lambda g2, out2, g, out: relu_grad(g2, out), None)
defjvp(relu_grad_p, lambda dg, out2, g, out: relu_grad(dg, out), None)


def relu_grad(g, out) -> Tensor:
    """relu's backward: ``g`` where ``out > 0``, else 0 (``g * step(out)``).

    Example:
        >>> import wengert as wg
        >>> from wengert.nn_ops import relu_grad
        >>> relu_grad(wg.constant([1.0, 2.0]), wg.constant([0.0, 3.0])).numpy()
        array([0., 2.], dtype=float32)
    """
    return apply(relu_grad_p, (g, out))


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


# -- a dense layer's affine map, fused --------------------------------------------------
def _dense_impl(x, kernel, bias):
    out = xp.matmul(x, kernel)
    # In place: the product is a fresh array, still in cache.  A separate add would
    # write a second array of the same size (a 784-1024-1024-10 training step at batch
    # 256 ran 3 % faster fused).
    out += bias
    return out


def _dense_kernel_vjp(g, out, x, kernel, bias):
    if x.ndim == 2:
        return matmul(_mT(x), g)
    # Leading axes flattened: one (in, batch) x (batch, units) product, not one per batch.
    return matmul(_mT(reshape(x, (-1, x.shape[-1]))), reshape(g, (-1, g.shape[-1])))


dense_p = primitive("dense", _dense_impl)
defvjp(
    dense_p,
    lambda g, out, x, kernel, bias: matmul(g, _mT(kernel)),
    _dense_kernel_vjp,
    lambda g, out, x, kernel, bias: reduce_sum(g, axis=tuple(range(g.ndim - 1))),
)
defjvp(
    dense_p,
    lambda dx, out, x, kernel, bias: matmul(dx, kernel),
    lambda dk, out, x, kernel, bias: matmul(x, dk),
    lambda db, out, x, kernel, bias: db,
)


def dense(x, kernel, bias, name=None) -> Tensor:
    """``x @ kernel + bias`` as one op: the affine map of ``wg.layers.Dense``.

    The same value and gradients as ``wg.matmul(x, kernel) + bias`` (TensorFlow fuses
    them the same way), computed without a second output-sized array.

    Args:
        x: (..., inputs), a floating-point tensor of rank >= 2.
        kernel: (inputs, units), the same dtype.
        bias: (units,), the same dtype.
        name: ignored (TensorFlow compatibility).

    Example:
        >>> import wengert as wg
        >>> from wengert.nn_ops import dense
        >>> dense(wg.ones((2, 3)), wg.ones((3, 2)), wg.constant([0.5, -0.5])).numpy()
        array([[3.5, 2.5],
               [3.5, 2.5]], dtype=float32)
    """
    x = operand(x)
    kernel = operand(kernel, x._value.dtype)
    bias = operand(bias, x._value.dtype)
    xv, kv, bv = x._value, kernel._value, bias._value
    if xv.dtype.kind not in "fc" or kv.dtype != xv.dtype or bv.dtype != xv.dtype:
        raise TypeError(
            f"dense: x, kernel and bias need one floating-point dtype, got {xv.dtype}, "
            f"{kv.dtype} and {bv.dtype}"
        )
    if xv.ndim < 2 or kv.ndim != 2 or bv.shape != kv.shape[1:] or xv.shape[-1] != kv.shape[0]:
        raise ValueError(
            f"dense: expected x (..., inputs) of rank >= 2, kernel (inputs, units) and bias "
            f"(units,), got x {list(xv.shape)}, kernel {list(kv.shape)}, bias {list(bv.shape)}"
        )
    return apply(dense_p, (x, kernel, bias))


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


# -- erf ---------------------------------------------------------------------------
# Cephes' rational approximations (ndtr.c), good to ~1e-16 relative in float64:
# erf(x) = x T(x^2) / U(x^2) for |x| < 1, and erf(x) = 1 - erfc(|x|) beyond, with
# erfc(a) = exp(-a^2) P(a) / Q(a) for a < 8 and exp(-a^2) R(a) / S(a) for a >= 8.
_ERF_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_ERF_U = (
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_ERFC_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_ERFC_Q = (
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_ERFC_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_ERFC_S = (
    1.0,
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)
_TWO_OVER_SQRT_PI = 1.1283791670955126


def _horner(x, coefs):
    r = xp.full_like(x, coefs[0])
    for c in coefs[1:]:
        r = r * x + c
    return r


def _erfc_of_abs(a):
    """erfc(a) and erf(a) for a >= 0 (float64 array), each accurate where it is small."""
    erfc = xp.empty_like(a)
    erf = xp.empty_like(a)
    # Each branch runs only on its own elements (boolean masks): a third of the work of
    # evaluating all three rational functions everywhere.
    small = a < 1.0
    s = a[small]
    z = s * s
    erf[small] = s * _horner(z, _ERF_T) / _horner(z, _ERF_U)
    erfc[small] = 1.0 - erf[small]
    for mask, num, den in (
        ((a >= 1.0) & (a < 8.0), _ERFC_P, _ERFC_Q),
        ((a >= 8.0) & (a < 27.3), _ERFC_R, _ERFC_S),  # erfc(27.3) underflows float64
    ):
        b = a[mask]
        # exp(-b^2) with b = m + f, m a multiple of 1/128 so m^2 is exact: rounding
        # b^2 itself would cost up to 2 b^2 ulps (Cephes' expx2 trick).
        m = xp.floor(b * 128.0 + 0.5) / 128.0
        f = b - m
        erfc[mask] = xp.exp(-m * m) * xp.exp(-f * (2.0 * m + f)) * _horner(b, num) / _horner(b, den)
    huge = a >= 27.3
    erfc[huge] = 0.0
    nan = xp.isnan(a)
    erfc[nan] = a[nan]
    large = ~small
    erf[large] = 1.0 - erfc[large]
    return erfc, erf


def _erf_impl(x):
    _, erf_abs = _erfc_of_abs(xp.abs(xp.asarray(x, dtype="float64")).reshape(-1))
    erf_abs = erf_abs.reshape(xp.shape(x))
    return xp.copysign(erf_abs, x).astype(x.dtype)


def _erfc_impl(x):
    x64 = xp.asarray(x, dtype="float64")
    erfc_abs, _ = _erfc_of_abs(xp.abs(x64).reshape(-1))
    erfc_abs = erfc_abs.reshape(x64.shape)
    return xp.where(x64 < 0, 2.0 - erfc_abs, erfc_abs).astype(x.dtype)


def _erf_rule(t, x):
    return t * (_TWO_OVER_SQRT_PI * exp(-(x * x)))


erf_p = primitive("erf", _erf_impl)
defvjp(erf_p, lambda g, out, x: _erf_rule(g, x))
defjvp(erf_p, lambda dx, out, x: _erf_rule(dx, x))
erfc_p = primitive("erfc", _erfc_impl)
defvjp(erfc_p, lambda g, out, x: -_erf_rule(g, x))
defjvp(erfc_p, lambda dx, out, x: -_erf_rule(dx, x))

erf = unary_op(
    erf_p,
    float_only=True,
    doc="""The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt.

    Args:
        x: a floating-point Tensor, array or Python number.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of x's shape and dtype; its derivative is 2/sqrt(pi) exp(-x^2).

    Example:
        >>> import wengert as wg
        >>> wg.nn.erf([0.0, 0.5, -3.0]).numpy()
        array([ 0.       ,  0.5204999, -0.9999779], dtype=float32)
    """,
)

erfc = unary_op(
    erfc_p,
    float_only=True,
    doc="""The complementary error function erfc(x) = 1 - erf(x), accurate where it is tiny.

    Args:
        x: a floating-point Tensor, array or Python number.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of x's shape and dtype; its derivative is -2/sqrt(pi) exp(-x^2).

    Example:
        >>> import wengert as wg
        >>> wg.nn.erfc([0.0, 5.0, -5.0]).numpy()
        array([1.0000000e+00, 1.5374598e-12, 2.0000000e+00], dtype=float32)
    """,
)


# -- cross-entropies with logits -------------------------------------------------------
# Fused primitives for stability: each is finite, with finite gradients, at logits of
# +-1e4, where composing sigmoid/softmax with log would give log(0) = -inf.


def _labels_logits(op: str, labels, logits) -> tuple:
    """Check a cross-entropy's float labels and logits: one dtype and one shape."""
    if labels is None or logits is None:
        raise ValueError(f"{op}: both labels and logits are required")
    x = operand(logits)
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: logits must be floating point, got {x.dtype}{list(x.shape)}")
    z, x, _, _ = binary_operands(op, labels, x)
    if z.shape != x.shape:
        raise ValueError(
            f"{op}: labels and logits must have the same shape, got labels "
            f"{z.dtype}{list(z.shape)} and logits {x.dtype}{list(x.shape)}"
        )
    return z, x


def _sigmoid_ce_impl(z, x):
    # max(x, 0) - x z + log(1 + e^-|x|): no exp of a positive number, so no overflow.
    return xp.maximum(x, 0) - x * z + xp.log1p(xp.exp(-xp.abs(x)))


sigmoid_ce_p = primitive("sigmoid_cross_entropy_with_logits", _sigmoid_ce_impl)
defvjp(sigmoid_ce_p, lambda g, out, z, x: -(g * x), lambda g, out, z, x: g * (sigmoid(x) - z))
defjvp(sigmoid_ce_p, lambda dz, out, z, x: -(dz * x), lambda dx, out, z, x: dx * (sigmoid(x) - z))


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None) -> Tensor:
    """Elementwise binary cross-entropy of ``labels`` against sigmoid(``logits``), stably.

    Computes max(x, 0) - x z + log(1 + exp(-|x|)) for logits x and labels z,
    which equals -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)).  The
    gradient is sigmoid(x) - z for the logits and -x for the labels.

    Args:
        labels: probabilities z in [0, 1], the shape of ``logits``.
        logits: unnormalised log-odds x, a floating-point Tensor.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the logits' shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.sigmoid_cross_entropy_with_logits([1.0, 0.0], [0.0, 1e4]).numpy()
        array([6.931472e-01, 1.000000e+04], dtype=float32)
    """
    z, x = _labels_logits("sigmoid_cross_entropy_with_logits", labels, logits)
    return apply(sigmoid_ce_p, (z, x))


def _softmax_ce_impl(z, x, axis):
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    log_p = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    return -xp.sum(z * log_p, axis=axis)


def _softmax_ce_dlogits(x, z, axis):
    # d/dx of -sum(z log softmax(x)) is softmax(x) sum(z) - z: softmax - labels when
    # the labels sum to 1, and still exact when they do not.
    return softmax(x, axis) * reduce_sum(z, axis, keepdims=True) - z


softmax_ce_p = primitive("softmax_cross_entropy_with_logits", _softmax_ce_impl)
defvjp(
    softmax_ce_p,
    lambda g, out, z, x, axis: -(expand_dims(g, axis) * log_softmax(x, axis)),
    lambda g, out, z, x, axis: expand_dims(g, axis) * _softmax_ce_dlogits(x, z, axis),
)
defjvp(
    softmax_ce_p,
    lambda dz, out, z, x, axis: -reduce_sum(dz * log_softmax(x, axis), axis),
    lambda dx, out, z, x, axis: reduce_sum(dx * _softmax_ce_dlogits(x, z, axis), axis),
)


def softmax_cross_entropy_with_logits(labels=None, logits=None, axis=-1, name=None) -> Tensor:
    """Cross-entropy -sum(labels * log_softmax(logits)) along ``axis``, computed stably.

    The gradient is softmax(logits) - labels for the logits (when each row of
    labels sums to 1) and -log_softmax(logits) for the labels.

    Args:
        labels: a probability distribution along ``axis``, the shape of ``logits``.
        logits: unnormalised log-probabilities, a floating-point Tensor.
        axis: the class axis.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the logits' shape without ``axis``.

    Example:
        >>> import wengert as wg
        >>> wg.nn.softmax_cross_entropy_with_logits([[0.0, 1.0]], [[0.0, 0.0]]).numpy()
        array([0.6931472], dtype=float32)
    """
    op = "softmax_cross_entropy_with_logits"
    x = operand(logits) if logits is not None else None
    if labels is not None and x is not None and x._value.dtype.kind == "f":
        z = operand(labels)
        if z._value.dtype != x._value.dtype:  # as TensorFlow: labels take the logits' dtype
            labels = cast(z, x._value.dtype)
    z, x = _labels_logits(op, labels, x)
    if x._value.ndim == 0:
        raise ValueError(f"{op}: logits must have at least one axis, got a scalar {x.dtype}")
    (axis,) = _axes(axis, x._value.ndim, op)
    if x._value.dtype == xp.float16:  # computed in float32, as TensorFlow does
        out = apply(softmax_ce_p, (cast(z, "float32"), cast(x, "float32")), {"axis": axis})
        return cast(out, "float16")
    return apply(softmax_ce_p, (z, x), {"axis": axis})


def _sparse_ce_impl(labels, x):
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    lse = xp.log(xp.sum(xp.exp(shifted), axis=-1))
    # Each row's label entry by one fancy index on the rows (take_along_axis builds index
    # grids first: 6 of a step's 20 us at 64 x 10, measured).
    rows = shifted.reshape(-1, shifted.shape[-1])
    picked = rows[xp.arange(rows.shape[0]), labels.reshape(-1)].reshape(labels.shape)
    return lse - picked


def _sparse_ce_dlogits(labels, x):
    return softmax(x) - one_hot(labels, x.shape[-1], dtype=x.dtype)


sparse_ce_p = primitive("sparse_softmax_cross_entropy_with_logits", _sparse_ce_impl)
defvjp(
    sparse_ce_p,
    None,  # integer class indices have no gradient
    lambda g, out, labels, x: expand_dims(g, -1) * _sparse_ce_dlogits(labels, x),
)
defjvp(
    sparse_ce_p,
    None,
    lambda dx, out, labels, x: reduce_sum(dx * _sparse_ce_dlogits(labels, x), -1),
)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None) -> Tensor:
    """Cross-entropy of integer class ``labels`` against softmax(``logits``), computed stably.

    Equals logsumexp(logits) - logits[label] per example; the gradient with
    respect to the logits is softmax(logits) - one_hot(labels).

    Args:
        labels: integer class indices in [0, classes), of shape logits.shape[:-1].
        logits: unnormalised log-probabilities (..., classes), floating point.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the labels' shape and the logits' dtype.

    Raises:
        ValueError: a label outside [0, classes), or mismatched shapes.
        TypeError: labels that are not integers, or logits that are not floats.

    Example:
        >>> import wengert as wg
        >>> wg.nn.sparse_softmax_cross_entropy_with_logits([1], [[0.0, 0.0]]).numpy()
        array([0.6931472], dtype=float32)
    """
    op = "sparse_softmax_cross_entropy_with_logits"
    if labels is None or logits is None:
        raise ValueError(f"{op}: both labels and logits are required")
    x = operand(logits)
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: logits must be floating point, got {x.dtype}{list(x.shape)}")
    z = operand(labels)
    if z._value.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integers, got {z.dtype}{list(z.shape)}")
    if x._value.ndim == 0 or z.shape != x.shape[:-1]:
        raise ValueError(
            f"{op}: labels must have the shape of logits without the last axis, got labels "
            f"{z.dtype}{list(z.shape)} and logits {x.dtype}{list(x.shape)}"
        )
    classes = x.shape[-1]
    zv = z._value
    bad = (zv < 0) | (zv >= classes)
    if bad.any():
        label = zv[bad].flat[0]
        raise ValueError(
            f"{op}: label {int(label)} is out of range [0, {classes}) for logits with "
            f"{classes} classes (logits {x.dtype}{list(x.shape)})"
        )
    if x._value.dtype == xp.float16:  # computed in float32, as TensorFlow does
        return cast(apply(sparse_ce_p, (z, cast(x, "float32"))), "float16")
    return apply(sparse_ce_p, (z, x))


# -- more activations: compositions of stable ops, so they need no rules of their own --


def _floats(features, op: str) -> Tensor:
    x = operand(features)
    if x._value.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {x.dtype}{list(x.shape)}")
    return x


def leaky_relu(features, alpha=0.2, name=None) -> Tensor:
    """Leaky rectifier: x for x > 0, alpha * x otherwise (gradient alpha at 0).

    Args:
        features: a floating-point Tensor.
        alpha: the slope for x <= 0.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the input's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.leaky_relu([-2.0, 3.0]).numpy()
        array([-0.4,  3. ], dtype=float32)
    """
    x = _floats(features, "leaky_relu")
    return where(greater(x, 0.0), x, x * float(alpha))


def elu(features, alpha=1.0, name=None) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise.

    Args:
        features: a floating-point Tensor.
        alpha: the limit -alpha approached as x -> -inf.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the input's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.elu([-1e4, 0.0, 2.0]).numpy()
        array([-1.,  0.,  2.], dtype=float32)
    """
    x = _floats(features, "elu")
    # expm1 of min(x, 0), not of x: the branch where() discards must stay finite,
    # or its zero cotangent times exp(1e4) = inf would give NaN gradients.
    negative_part = expm1(minimum(x, 0.0))
    if alpha != 1.0:
        negative_part = negative_part * float(alpha)
    # At exactly 0 the derivative is alpha (PyTorch's convention, and the tests' oracle);
    # TensorFlow's EluGrad gives 1 there.
    return where(greater(x, 0.0), x, negative_part)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None) -> Tensor:
    """Scaled ELU: scale * elu(x, alpha) with Klambauer et al.'s self-normalising constants.

    Args:
        features: a floating-point Tensor.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the input's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.selu([0.0, 1.0]).numpy()
        array([0.      , 1.050701], dtype=float32)
    """
    return elu(_floats(features, "selu"), SELU_ALPHA) * SELU_SCALE


_SQRT_2_OVER_PI = 0.7978845608028654
_SQRT_HALF = 0.7071067811865476


def gelu(features, approximate=False, name=None) -> Tensor:
    """Gaussian error linear unit x * Phi(x), Phi the standard normal CDF.

    Exact form 0.5 x erfc(-x / sqrt 2) = 0.5 x (1 + erf(x / sqrt 2)); with
    ``approximate`` the tanh form
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).

    Args:
        features: a floating-point Tensor.
        approximate: use the tanh approximation.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the input's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.gelu([-1.0, 0.0, 1.0]).numpy()
        array([-0.15865526,  0.        ,  0.8413447 ], dtype=float32)
        >>> wg.nn.gelu([1.0], approximate=True).numpy()
        array([0.841192], dtype=float32)
    """
    x = _floats(features, "gelu")
    if approximate:
        inner = (x + 0.044715 * (x * x * x)) * _SQRT_2_OVER_PI
        return 0.5 * x * (1.0 + tanh(inner))
    # erfc, not 1 + erf: for x << 0 that sum cancels to a few correct digits.
    return 0.5 * x * erfc(x * -_SQRT_HALF)


def softsign(features, name=None) -> Tensor:
    """x / (1 + |x|), a smooth map onto (-1, 1).

    Args:
        features: a floating-point Tensor.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the input's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.softsign([-3.0, 1.0]).numpy()
        array([-0.75,  0.5 ], dtype=float32)
    """
    x = _floats(features, "softsign")
    return x / (1.0 + _abs(x))


def silu(features, beta=1.0, name=None) -> Tensor:
    """Sigmoid-weighted linear unit (swish): x * sigmoid(beta * x).

    Args:
        features: a floating-point Tensor.
        beta: the sigmoid's inverse temperature.
        name: ignored (TensorFlow compatibility).

    Returns:
        A Tensor of the input's shape and dtype.

    Example:
        >>> import wengert as wg
        >>> wg.nn.silu([0.0, 1e4, -1e4]).numpy()
        array([    0., 10000.,    -0.], dtype=float32)
    """
    x = _floats(features, "silu")
    return x * sigmoid(x if beta == 1.0 else x * float(beta))


swish = silu
