"""Layers that merge a list of tensors (Keras's): Add, Subtract, Multiply, Average,
Maximum, Minimum and Concatenate, for models with branches (the functional API), and
Keras's lower-case functional forms (``add``, ..., ``concatenate``): each makes the
layer and calls it once.

Example:
    >>> import wengert as wg
    >>> wg.layers.Add()([wg.ones((2, 3)), wg.ones((2, 3))]).numpy()[0]
    array([2., 2., 2.], dtype=float32)
"""

from __future__ import annotations

import functools

from .. import math_ops
from ..array_ops import concat
from ..backend import xp
from .base import Layer

__all__ = [
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "concatenate",
]


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
        return functools.reduce(math_ops.maximum, tensors)


class Minimum(_Merge):
    """The elementwise minimum of a list of tensors.

    Example:
        >>> import wengert as wg
        >>> wg.layers.Minimum()([wg.zeros((1, 2)), wg.ones((1, 2))]).numpy()
        array([[0., 0.]], dtype=float32)
    """

    def _merge(self, tensors):
        return functools.reduce(math_ops.minimum, tensors)


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


# -- Keras's functional forms: ``Layer(**kwargs)(inputs)`` -----------------------------------


def add(inputs, **kwargs):
    """The elementwise sum of a list of tensors: ``Add(**kwargs)(inputs)``.

    Args:
        inputs: a list of at least 2 tensors (or symbolic values) of one shape.
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        Their sum, of the inputs' shape.

    Example:
        >>> import wengert as wg
        >>> wg.layers.add([wg.ones((1, 2)), wg.ones((1, 2))]).numpy()
        array([[2., 2.]], dtype=float32)
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """The first of two tensors minus the second: ``Subtract(**kwargs)(inputs)``.

    Args:
        inputs: a list of exactly 2 tensors (or symbolic values) of one shape.
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        ``inputs[0] - inputs[1]``.

    Example:
        >>> import wengert as wg
        >>> wg.layers.subtract([wg.fill((1, 2), 3.0), wg.ones((1, 2))]).numpy()
        array([[2., 2.]], dtype=float32)
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """The elementwise product of a list of tensors: ``Multiply(**kwargs)(inputs)``.

    Args:
        inputs: a list of at least 2 tensors (or symbolic values) of one shape.
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        Their product, of the inputs' shape.

    Example:
        >>> import wengert as wg
        >>> wg.layers.multiply([wg.fill((1, 2), 2.0), wg.fill((1, 2), 3.0)]).numpy()
        array([[6., 6.]], dtype=float32)
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """The elementwise mean of a list of tensors: ``Average(**kwargs)(inputs)``.

    Args:
        inputs: a list of at least 2 tensors (or symbolic values) of one shape.
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        Their mean, of the inputs' shape.

    Example:
        >>> import wengert as wg
        >>> wg.layers.average([wg.zeros((1, 2)), wg.fill((1, 2), 2.0)]).numpy()
        array([[1., 1.]], dtype=float32)
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """The elementwise maximum of a list of tensors: ``Maximum(**kwargs)(inputs)``.

    Args:
        inputs: a list of at least 2 tensors (or symbolic values) of one shape.
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        Their maximum, of the inputs' shape.

    Example:
        >>> import wengert as wg
        >>> wg.layers.maximum([wg.zeros((1, 2)), wg.ones((1, 2))]).numpy()
        array([[1., 1.]], dtype=float32)
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """The elementwise minimum of a list of tensors: ``Minimum(**kwargs)(inputs)``.

    Args:
        inputs: a list of at least 2 tensors (or symbolic values) of one shape.
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        Their minimum, of the inputs' shape.

    Example:
        >>> import wengert as wg
        >>> wg.layers.minimum([wg.zeros((1, 2)), wg.ones((1, 2))]).numpy()
        array([[0., 0.]], dtype=float32)
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """A list of tensors joined along ``axis``: ``Concatenate(axis, **kwargs)(inputs)``.

    Args:
        inputs: a list of tensors (or symbolic values) whose shapes differ only on ``axis``.
        axis: the axis to join along (the last by default).
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        The joined tensor.

    Example:
        >>> import wengert as wg
        >>> wg.layers.concatenate([wg.zeros((2, 3)), wg.ones((2, 1))]).shape
        (2, 4)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
