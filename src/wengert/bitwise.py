"""``wg.bitwise``: TensorFlow's ``tf.bitwise`` names, for integer tensors.

Example:
    >>> import wengert as wg
    >>> wg.bitwise.bitwise_and(wg.constant([6]), wg.constant([3])).numpy()
    array([2], dtype=int32)
"""

from .math_ops import bitwise_and, bitwise_or, bitwise_xor, invert  # noqa: F401

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "invert"]
