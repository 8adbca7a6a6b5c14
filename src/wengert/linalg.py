"""``wg.linalg``: TensorFlow's ``tf.linalg`` names."""

from .array_ops import eye  # noqa: F401
from .backend import xp
from .math_extra import det, einsum, global_norm, inv, solve  # noqa: F401
from .math_ops import _mT, matmul, reduce_sum, sqrt, tensordot  # noqa: F401
from .math_ops import abs as abs_op


def matvec(a, b, transpose_a=False, adjoint_a=False, name=None):
    """The matrix-vector product ``a @ b`` over the last axes (``tf.linalg.matvec``):
    a (..., M, N) with b (..., N) gives (..., M); ``transpose_a`` (or ``adjoint_a``, the
    same for real tensors) uses a's transpose.

    Example:
        >>> import wengert as wg
        >>> wg.linalg.matvec([[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0]).numpy()
        array([3., 7.], dtype=float32)
    """
    from .array_ops import expand_dims, squeeze
    from .core import operand

    a = operand(a)
    b = operand(b, a.dtype)
    if a.ndim < 2 or b.ndim < 1:
        raise ValueError(
            f"matvec: expected a matrix (..., M, N) and a vector (..., N), got shapes "
            f"{list(a.shape)} and {list(b.shape)}"
        )
    if transpose_a or adjoint_a:
        a = _mT(a)
    return squeeze(matmul(a, expand_dims(b, -1)), -1)


def matrix_transpose(a, name=None):
    """Swap the last two axes of ``a``.

    Example:
        >>> import wengert as wg
        >>> wg.linalg.matrix_transpose(wg.zeros((2, 3, 4))).shape
        (2, 4, 3)
    """
    from .core import operand

    return _mT(operand(a))


def _positive_real(p) -> bool:
    return isinstance(p, (int, float)) and not isinstance(p, bool) and 0 < p < xp.inf


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):
    """TensorFlow's ``tf.norm``: the Euclidean norm of the vectors along ``axis`` (of all
    entries by default), or the matrix norm over a pair of axes.

    ``ord=1`` and ``ord=np.inf`` give the sum and the largest of the absolute values of
    vectors; for matrices (``axis`` a pair, rows then columns) the largest column sum and
    the largest row sum of absolute values.  "euclidean"/"fro" is the Frobenius norm of
    matrices; any other positive ``ord`` gives the p-norm of vectors.  The spectral norm
    (``ord=2`` over a pair of axes) is not supported: its gradient needs the SVD's, which
    wengert lacks, and a first-order-only rule would give wrong second derivatives.

    Example:
        >>> import wengert as wg
        >>> float(wg.linalg.norm([3.0, 4.0]))
        5.0
        >>> float(wg.norm([[1.0, -2.0], [3.0, 4.0]], ord=1, axis=[0, 1]))  # column sums 4, 6
        6.0
    """
    from .core import operand
    from .math_ops import reduce_max

    x = operand(tensor)
    pair = isinstance(axis, (list, tuple)) and len(axis) == 2
    if ord in (1, xp.inf):
        a = abs_op(x)
        if not pair:  # vectors: sum of |x|, largest |x|
            return (reduce_sum if ord == 1 else reduce_max)(a, axis=axis, keepdims=keepdims)
        rows, cols = (int(ax) % x.ndim for ax in axis)
        summed, across = (rows, cols) if ord == 1 else (cols, rows)
        sums = reduce_sum(a, axis=summed, keepdims=True)
        out = reduce_max(sums, axis=across, keepdims=True)
        if not keepdims:
            from .array_ops import squeeze

            out = squeeze(out, axis=[rows, cols])
        return out
    if ord == 2 and pair:
        raise NotImplementedError(
            "norm: the spectral norm (ord=2 over a pair of axes) is not supported; "
            "ord='fro' gives the Frobenius norm"
        )
    if not pair and ord not in ("euclidean", "fro", 2) and _positive_real(ord):
        # any other p > 0 for vectors, as tf.norm: (sum |x|^p)^(1/p)
        return reduce_sum(abs_op(x) ** float(ord), axis=axis, keepdims=keepdims) ** (1.0 / ord)
    if ord not in ("euclidean", "fro", 2):
        raise ValueError(
            f"norm: ord must be 'euclidean', 'fro', 1, 2, np.inf or (for vectors) another "
            f"positive number, got ord={ord!r}"
        )
    if x._value.dtype.kind == "c":  # |x|^2 for complex entries, not x^2
        x = abs_op(x)
    return sqrt(reduce_sum(x * x, axis=axis, keepdims=keepdims))
