"""``wg.errors``: TensorFlow's error classes that ported code catches.

wengert raises Python's exception types, named by what went wrong: ValueError for
arguments an op cannot take (shapes that do not fit, values out of range), TypeError for
wrong types and dtypes.  TensorFlow raises ``tf.errors.InvalidArgumentError`` for the
former, so here that name *is* ValueError: ``except wg.errors.InvalidArgumentError``
catches what TensorFlow's would (and any other ValueError).

Example:
    >>> import wengert as wg
    >>> try:
    ...     wg.matmul(wg.ones((2, 3)), wg.ones((2, 3)))
    ... except wg.errors.InvalidArgumentError as e:
    ...     print(str(e).split(":")[0])
    matmul
"""

from __future__ import annotations

__all__ = ["InvalidArgumentError"]

InvalidArgumentError = ValueError
