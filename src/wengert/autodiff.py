"""``wg.autodiff``: TensorFlow's ``tf.autodiff`` names, reverse and forward mode.

Example:
    >>> import wengert as wg
    >>> x = wg.constant(3.0)
    >>> with wg.autodiff.ForwardAccumulator(x, wg.constant(1.0)) as acc:
    ...     y = x * x
    >>> float(acc.jvp(y))
    6.0
"""

from __future__ import annotations

from .forward import ForwardAccumulator
from .tape import GradientTape

__all__ = ["ForwardAccumulator", "GradientTape"]
