"""``wg.linalg``: TensorFlow's ``tf.linalg`` names."""

from .array_ops import eye  # noqa: F401
from .backend import xp
from .math_extra import det, einsum, global_norm, inv, solve  # noqa: F401
from .math_ops import _mT, matmul, reduce_sum, sqrt, tensordot  # noqa: F401
from .math_ops import abs as abs_op


def matrix_transpose(a, name=None):
    """Swap the last two axes of ``a``.

    Example:
        >>> import wengert as wg
        >>> wg.linalg.matrix_transpose(wg.zeros((2, 3, 4))).shape
        (2, 4, 3)
    """
    from .core import operand

    return _mT(operand(a))


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):
    """The Euclidean (Frobenius) norm over ``axis`` (all axes by default); ``ord=1`` and
    ``ord=np.inf`` give the sum and the maximum of the absolute values.

    Example:
        >>> import wengert as wg
        >>> float(wg.linalg.norm([3.0, 4.0]))
        5.0
    """
    from .core import operand

    x = operand(tensor)
    if ord in (1, xp.inf):  # the vector norms: sum of |x|, max of |x| (over axis)
        from .math_ops import reduce_max

        a = abs_op(x)
        return (reduce_sum if ord == 1 else reduce_max)(a, axis=axis, keepdims=keepdims)
    if ord not in ("euclidean", "fro", 2):
        raise ValueError(f"norm: ord must be 'euclidean', 'fro', 2, 1 or np.inf, got ord={ord!r}")
    if x._value.dtype.kind == "c":  # |x|^2 for complex entries, not x^2
        x = abs_op(x)
    return sqrt(reduce_sum(x * x, axis=axis, keepdims=keepdims))
