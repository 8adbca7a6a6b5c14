"""Weight and activity regularizers, as Keras's: ``L1``, ``L2``, ``L1L2``.

A layer takes them as ``<weight>_regularizer=`` (``kernel_regularizer``,
``bias_regularizer``, ``recurrent_regularizer``, ``embeddings_regularizer``,
``gamma_regularizer``, ...) and ``activity_regularizer=``; ``layer.losses`` lists
the penalties, and ``Model.fit``/``evaluate`` add their sum to the loss, as Keras does.

Example:
    >>> import wengert as wg
    >>> float(wg.regularizers.L2(0.5)(wg.constant([1.0, 2.0])))
    2.5
"""

from __future__ import annotations

import inspect

from .array_ops import zeros
from .core import operand
from .math_ops import abs as tensor_abs
from .math_ops import reduce_sum, square

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize"]


class Regularizer:
    """Base class: ``regularizer(weights)`` -> a scalar penalty Tensor."""

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)``.

    Example:
        >>> import wengert as wg
        >>> float(wg.regularizers.L1L2(l1=1.0, l2=1.0)(wg.constant([-1.0, 2.0])))
        8.0
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", 0.0)
        self.l2 = _factor(l2, "l2", 0.0)

    def __call__(self, x):
        x = operand(x)
        penalty = zeros((), x.dtype)  # a tensor of x's dtype even when both factors are 0
        if self.l1:
            penalty = penalty + self.l1 * reduce_sum(tensor_abs(x))
        if self.l2:
            penalty = penalty + self.l2 * reduce_sum(square(x))
        return penalty

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)`` (Keras's default factor 0.01).

    Example:
        >>> import wengert as wg
        >>> float(wg.regularizers.L1(0.5)(wg.constant([-1.0, 2.0])))
        1.5
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=_factor(l1, "l1", 0.01))

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x^2)`` (Keras's default factor 0.01; no 1/2).

    Example:
        >>> import wengert as wg
        >>> layer = wg.layers.Dense(2, kernel_regularizer=wg.regularizers.L2(0.01))
        >>> _ = layer(wg.ones((1, 3)))
        >>> len(layer.losses)
        1
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=_factor(l2, "l2", 0.01))

    def get_config(self) -> dict:
        return {"l2": self.l2}


def _factor(value, name, default: float) -> float:
    value = default if value is None else float(value)  # None: the default (Keras 3)
    if not value >= 0.0:
        raise ValueError(f"regularizer: {name} must be a number >= 0, got {value!r}")
    return value


_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from None, a name ("l1", "l2", "l1_l2"), a ``serialize`` dict, a class
    (instantiated with its defaults, as Keras 3 does) or a callable (returned as is).

    Example:
        >>> import wengert as wg
        >>> wg.regularizers.get("l2").get_config()
        {'l2': 0.01}
        >>> wg.regularizers.get(wg.regularizers.L1).get_config()
        {'l1': 0.01}
    """
    if inspect.isclass(identifier):
        return identifier()
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _CLASSES:
        return _CLASSES[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(
        f"regularizers.get: cannot interpret {identifier!r}; expected None, one of "
        f"{sorted(_NAMES)}, a serialized regularizer or a callable"
    )


def serialize(regularizer):
    """``{"class_name", "config"}`` for a built-in regularizer (None for None).

    Example:
        >>> import wengert as wg
        >>> wg.regularizers.serialize(wg.regularizers.L1(0.1))
        {'class_name': 'L1', 'config': {'l1': 0.1}}
    """
    if regularizer is None:
        return None
    if type(regularizer).__name__ not in _CLASSES:
        raise ValueError(f"regularizers.serialize: cannot serialize {regularizer!r}")
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
