"""What a fused primitive hands from its forward pass to its own backward pass.

A fused primitive (an LSTM over a whole sequence, batch normalization) computes
intermediate arrays that its hand-written VJP needs again.  It returns them in
one extra output, a *saved handle*: a 0-d object array holding a ``Saved``.
The tape carries it like any output, but it has no float dtype, so no gradient
is ever asked of it and forward mode skips it.  The VJP rule finds the arrays
in ``out[-1]``, and, being joint (one call per argument, ``vjps(i, g, ...)``),
computes every argument's gradient on the first call and keeps them for the
others, keyed by the cotangent it was given.
"""

from __future__ import annotations

from .backend import xp
from .math_ops import zeros_like_op
from .tensor import Tensor

__all__ = ["Saved", "saved_handle", "is_zero"]

_ZEROS = zeros_like_op.primitive  # the tape's stand-in cotangent for an unused output


class Saved:
    """The arrays a fused backward needs, and the last results of its joint rules."""

    __slots__ = ("arrays", "key", "grads", "key2", "grads2")

    def __init__(self, arrays):
        self.arrays = arrays
        self.key = self.grads = None  # the VJP of the last cotangent
        self.key2 = self.grads2 = None  # the VJP's own VJP (second derivatives)


def saved_handle(arrays):
    """The extra output carrying ``arrays`` (a tuple) to the VJP: ``out[-1]._value[()]``.

    Example:
        >>> import numpy as np
        >>> from wengert.saved import saved_handle
        >>> h = saved_handle((np.zeros(3),))
        >>> h.dtype, h[()].arrays[0].shape
        (dtype('O'), (3,))
    """
    h = xp.empty((), dtype=object)
    h[()] = Saved(arrays)
    return h


def is_zero(g) -> bool:
    """Whether a cotangent is absent: None, or the zeros the tape puts for an unused output.

    Example:
        >>> import wengert as wg
        >>> from wengert.saved import is_zero
        >>> is_zero(None), is_zero(wg.zeros(2))
        (True, False)
    """
    return g is None or (type(g) is Tensor and g._origin is _ZEROS)
