"""Layers that merge a list of tensors (Keras's): Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate and Dot, for models with branches (the functional API),
and Keras's lower-case functional forms (``add``, ..., ``concatenate``, ``dot``): each
makes the layer and calls it once.

Example:
    >>> import wengert as wg
    >>> wg.layers.Add()([wg.ones((2, 3)), wg.ones((2, 3))]).numpy()[0]
    array([2., 2., 2.], dtype=float32)
"""

from __future__ import annotations

import functools
import string

from .. import math_ops
from ..array_ops import concat, expand_dims
from ..backend import xp
from ..math_extra import einsum
from .base import Layer

__all__ = [
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "Dot",
    "add",
    "subtract",
    "multiply",
    "average",
    "maximum",
    "minimum",
    "concatenate",
    "dot",
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


class Dot(_Merge):
    """The dot product of two tensors' samples along one axis of each (Keras's ``Dot``).

    As Keras's ``batch_dot``: axis 0 is the batch, shared and never summed; the output's
    axes are the first input's without ``axes[0]``, then the second's without the batch
    and ``axes[1]``; an output of rank 1 gets a trailing axis of size 1 (``(batch, 1)``).

    Args:
        axes: an int (the same axis of both inputs) or a pair of ints (one per input);
            negative axes count from each input's end; axis 0 (the batch) is refused.
        normalize: L2-normalize both inputs along their axis first, so that the output
            is the cosine similarity (each vector divided by ``max(norm, 1e-7)``, as Keras).
        **kwargs: Layer arguments (name, ...).

    Example:
        >>> import numpy as np
        >>> from wengert.layers.merging import Dot
        >>> x = np.arange(10.0).reshape(1, 5, 2)
        >>> y = np.arange(10.0, 20.0).reshape(1, 2, 5)
        >>> Dot(axes=(1, 2))([x, y]).numpy()
        array([[[260., 360.],
                [320., 445.]]], dtype=float32)
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        where = f"Dot '{self.name}'"
        if isinstance(axes, bool) or not isinstance(axes, (int, list, tuple)):
            raise TypeError(f"{where}: axes must be an int or a pair of ints, got {axes!r}")
        if not isinstance(axes, int):
            if len(axes) != 2 or not all(
                isinstance(a, int) and not isinstance(a, bool) for a in axes
            ):
                raise ValueError(f"{where}: axes must be an int or a pair of ints, got {axes!r}")
            axes = tuple(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _pair(self, shapes) -> tuple:
        """The two inputs' (non-negative) axes, checked against their shapes."""
        where = f"Dot '{self.name}'"
        s0, s1 = (tuple(s) for s in shapes)
        if len(s0) < 2 or len(s1) < 2:
            raise ValueError(
                f"{where}: both inputs need a batch axis and at least one more; got shapes "
                f"{s0} and {s1}"
            )
        given = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        pair = []
        for axis, shape in zip(given, (s0, s1)):
            if not -len(shape) <= axis < len(shape):
                raise ValueError(
                    f"{where}: axes={self.axes!r} is out of range for inputs of shapes "
                    f"{s0} and {s1}"
                )
            pair.append(axis % len(shape))
        if 0 in pair:
            raise ValueError(
                f"{where}: axes={self.axes!r} names axis 0, the batch, for inputs of shapes "
                f"{s0} and {s1}; add a batch axis to unbatched inputs"
            )
        d0, d1 = s0[pair[0]], s1[pair[1]]
        if d0 is not None and d1 is not None and d0 != d1:
            raise ValueError(
                f"{where}: incompatible input shapes {s0} and {s1}: axis {pair[0]} of the "
                f"first has size {d0} but axis {pair[1]} of the second has size {d1}"
            )
        b0, b1 = s0[0], s1[0]
        if b0 is not None and b1 is not None and b0 != b1:
            raise ValueError(f"{where}: the batch sizes differ: shapes {s0} and {s1}")
        return tuple(pair)

    def call(self, inputs):
        tensors = self._check(inputs)
        if len(tensors) != 2:
            raise ValueError(f"Dot '{self.name}': expects exactly 2 tensors, got {len(tensors)}")
        x, y = tensors
        a0, a1 = self._pair([x.shape, y.shape])
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        letters = iter(string.ascii_letters)
        xs = [next(letters) for _ in range(x.ndim)]
        ys = [xs[0]] + [xs[a0] if i == a1 else next(letters) for i in range(1, y.ndim)]
        out = [c for i, c in enumerate(xs) if i != a0] + [
            c for i, c in enumerate(ys) if i not in (0, a1)
        ]
        result = einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)
        return expand_dims(result, 1) if result.ndim == 1 else result

    def compute_output_shape(self, input_shape):
        """The output's shape for the two inputs' shapes (Keras's)."""
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(
                f"Dot '{self.name}': expects the shapes of 2 inputs, got {input_shape!r}"
            )
        a0, a1 = self._pair(input_shape)
        s0, s1 = (list(s) for s in input_shape)
        shape = [d for i, d in enumerate(s0) if i != a0] + [
            d for i, d in enumerate(s1) if i not in (0, a1)
        ]
        return tuple(shape + [1] if len(shape) == 1 else shape)

    def compute_mask(self, inputs, mask=None):
        return None  # Keras's: the product mixes steps, so no padding mask survives it

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis):
    # x / max(|x|, 1e-7) as Keras's normalize; the max under the root keeps a zero
    # vector's gradient finite.
    squares = math_ops.reduce_sum(math_ops.square(x), axis=axis, keepdims=True)
    return x / math_ops.sqrt(math_ops.maximum(squares, 1e-14))


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


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """The dot product of two tensors' samples: ``Dot(axes, normalize, **kwargs)(inputs)``.

    Args:
        inputs: a list of 2 tensors (or symbolic values) with a batch axis first.
        axes: an int or a pair of ints, the axis of each input to sum over (not 0).
        normalize: L2-normalize along those axes first (the cosine similarity).
        **kwargs: the layer's arguments (``name``, ...).

    Returns:
        The batched dot product (see ``Dot``).

    Example:
        >>> import wengert as wg
        >>> from wengert.layers.merging import dot
        >>> dot([wg.constant([[3.0, 4.0]]), wg.constant([[4.0, 3.0]])], axes=1).numpy()
        array([[24.]], dtype=float32)
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
