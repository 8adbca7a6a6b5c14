"""Layers that merge a list of tensors (Keras's): Add, Subtract, Multiply, Average,
Maximum, Minimum and Concatenate, for models with branches (the functional API).

Example:
    >>> import wengert as wg
    >>> wg.layers.Add()([wg.ones((2, 3)), wg.ones((2, 3))]).numpy()[0]
    array([2., 2., 2.], dtype=float32)
"""

from __future__ import annotations

import functools

from ..array_ops import concat
from ..backend import xp
from ..math_ops import maximum, minimum
from .base import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


class _Merge(Layer):
    """Shared checks: a list of at least two tensors of one shape (Concatenate: but one axis)."""

    _least = 2

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self._least:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': expects a list of at least "
                f"{self._least} tensors, got {type(inputs).__name__}"
            )
        return list(inputs)

    def compute_mask(self, inputs, mask=None):
        """The inputs' masks joined: a step is real where it is in every input (Keras's)."""
        masks = [m for m in (mask or []) if m is not None] if isinstance(mask, list) else []
        if not masks:
            return None
        out = xp.asarray(masks[0], bool)
        for m in masks[1:]:
            out = out & xp.asarray(m, bool)
        return out

    def call(self, inputs):
        tensors = self._check(inputs)
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) != 1:
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the inputs' shapes differ: "
                f"{[tuple(t.shape) for t in tensors]}"
            )
        return self._merge(tensors)


class Add(_Merge):
    """The elementwise sum of a list of tensors.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Add()([wg.ones(2)[None], wg.ones(2)[None]]).numpy()
        array([[2., 2.]], dtype=float32)
    """

    def _merge(self, tensors):
        return functools.reduce(lambda a, b: a + b, tensors)


class Subtract(_Merge):
    """The first of two tensors minus the second.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Subtract()([wg.ones((1, 2)), wg.ones((1, 2))]).numpy()
        array([[0., 0.]], dtype=float32)
    """

    def _merge(self, tensors):
        if len(tensors) != 2:
            raise ValueError(
                f"Subtract '{self.name}': expects exactly 2 tensors, got {len(tensors)}"
            )
        return tensors[0] - tensors[1]


class Multiply(_Merge):
    """The elementwise product of a list of tensors.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Multiply()([wg.fill((1, 2), 2.0), wg.fill((1, 2), 3.0)]).numpy()
        array([[6., 6.]], dtype=float32)
    """

    def _merge(self, tensors):
        return functools.reduce(lambda a, b: a * b, tensors)


class Average(_Merge):
    """The elementwise mean of a list of tensors.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Average()([wg.zeros((1, 2)), wg.fill((1, 2), 2.0)]).numpy()
        array([[1., 1.]], dtype=float32)
    """

    def _merge(self, tensors):
        return functools.reduce(lambda a, b: a + b, tensors) / float(len(tensors))


class Maximum(_Merge):
    """The elementwise maximum of a list of tensors.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Maximum()([wg.zeros((1, 2)), wg.ones((1, 2))]).numpy()
        array([[1., 1.]], dtype=float32)
    """

    def _merge(self, tensors):
        return functools.reduce(maximum, tensors)


class Minimum(_Merge):
    """The elementwise minimum of a list of tensors.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Minimum()([wg.zeros((1, 2)), wg.ones((1, 2))]).numpy()
        array([[0., 0.]], dtype=float32)
    """

    def _merge(self, tensors):
        return functools.reduce(minimum, tensors)


class Concatenate(_Merge):
    """A list of tensors joined along ``axis`` (the last by default).

    Example:
        >>> import wengert as wg
        >>> wg.layers.Concatenate()([wg.zeros((2, 3)), wg.ones((2, 1))]).shape
        (2, 4)
    """

    _least = 1

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        return concat(self._check(inputs), axis=self.axis)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}
