"""``wg.math``: TensorFlow's ``tf.math`` names."""

from .math_extra import (  # noqa: F401
    add_n,
    cumsum,
    divide_no_nan,
    reciprocal,
    reduce_all,
    reduce_any,
    rsqrt,
    squared_difference,
    tan,
    xlogy,
)
from .math_ops import (  # noqa: F401
    abs,
    add,
    argmax,
    argmin,
    ceil,
    cos,
    divide,
    equal,
    exp,
    expm1,
    floor,
    floordiv,
    greater,
    greater_equal,
    is_finite,
    is_inf,
    is_nan,
    less,
    less_equal,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mod,
    multiply,
    negative,
    not_equal,
    pow,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
    round,
    sign,
    sin,
    sqrt,
    square,
    subtract,
    tanh,
    zeros_like_op,
)
from .nn_ops import sigmoid, softplus  # noqa: F401

floormod = mod
truediv = divide


def log_sigmoid(x, name=None):
    """log(sigmoid(x)) = -softplus(-x), stable at large |x|.

    Example:
        >>> import wengert as wg
        >>> float(wg.math.log_sigmoid(0.0))
        -0.6931471824645996
    """
    return negative(softplus(negative(x)))
