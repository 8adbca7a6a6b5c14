"""Weight constraints, as Keras's: ``MaxNorm``, ``MinMaxNorm``, ``NonNeg``, ``UnitNorm``.

A layer takes them as ``<weight>_constraint=`` (``kernel_constraint``,
``bias_constraint``, ``recurrent_constraint``, ``embeddings_constraint``, ...).  The
optimizer applies a weight's constraint right after each update of that weight, as
Keras does: the constraint is a projection of the new value, not part of the gradient.

Norms are taken along ``axis`` (default 0: for a Dense kernel (inputs, units), each
unit's incoming weight vector), with Keras's epsilon 1e-7 in the divisions.

Example:
    >>> import numpy as np, wengert as wg
    >>> w = wg.Variable(np.array([[3.0], [4.0]], "float32"))
    >>> wg.constraints.MaxNorm(1.0)(w).numpy().round(4)
    array([[0.6],
           [0.8]], dtype=float32)
"""

from __future__ import annotations

import inspect

from .backend import xp
from .core import operand
from .layers.base import custom_class
from .tensor import Tensor, wrap

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize"]

EPSILON = 1e-7


class Constraint:
    """Base class: ``constraint(weights)`` -> the projected weights (a Tensor)."""

    def __call__(self, w) -> Tensor:
        value = operand(w)._value  # Python numbers become float32, as everywhere
        return wrap(self.project(value).astype(value.dtype, copy=False), type(self).__name__)

    def project(self, w):
        """The projection of the array ``w`` (subclasses implement this)."""
        raise NotImplementedError(f"{type(self).__name__} must implement project")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, list) else axis  # Keras takes lists ([0, 1, 2])
    return xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescale each weight vector whose norm along ``axis`` exceeds ``max_value``.

    Example:
        >>> import wengert as wg
        >>> wg.constraints.MaxNorm(2.0, axis=1)([[3.0, 4.0], [0.3, 0.4]]).numpy().round(4)
        array([[1.2, 1.6],
               [0.3, 0.4]], dtype=float32)
    """

    def __init__(self, max_value=2.0, axis=0):
        self.max_value = float(max_value)
        self.axis = axis

    def project(self, w):
        norms = _norms(w, self.axis)
        return w * (xp.clip(norms, 0.0, self.max_value) / (EPSILON + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each vector's norm toward ``[min_value, max_value]`` by the fraction ``rate``.

    Example:
        >>> import wengert as wg
        >>> wg.constraints.MinMaxNorm(1.0, 2.0)([[0.3], [0.4]]).numpy().round(4)
        array([[0.6],
               [0.8]], dtype=float32)
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = float(min_value)
        self.max_value = float(max_value)
        self.rate = float(rate)
        self.axis = axis

    def project(self, w):
        norms = _norms(w, self.axis)
        desired = (
            self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        )
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


class NonNeg(Constraint):
    """Set negative weights to zero.

    Example:
        >>> import wengert as wg
        >>> wg.constraints.NonNeg()([-1.0, 2.0]).numpy()
        array([0., 2.], dtype=float32)
    """

    def project(self, w):
        return xp.where(w < 0, 0, w)  # not w * (w >= 0): that leaves -0.0 (a NaN stays NaN)


class UnitNorm(Constraint):
    """Scale each weight vector along ``axis`` to norm 1.

    Example:
        >>> import wengert as wg
        >>> wg.constraints.UnitNorm()([[3.0], [4.0]]).numpy().round(4)
        array([[0.6],
               [0.8]], dtype=float32)
    """

    def __init__(self, axis=0):
        self.axis = axis

    def project(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


_NAMES = {
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}
_CLASSES = {cls.__name__: cls for cls in (MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}


def get(identifier):
    """A constraint from None, a name ("max_norm", "non_neg", ...), a ``serialize`` dict,
    a class (instantiated with its defaults) or a callable (returned as is).

    Example:
        >>> import wengert as wg
        >>> wg.constraints.get("max_norm").get_config()
        {'max_value': 2.0, 'axis': 0}
    """
    if inspect.isclass(identifier):
        return identifier()
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier]()
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = _CLASSES.get(name) or custom_class(name, Constraint)
        if cls is not None:
            return cls.from_config(identifier.get("config", {}))
    raise ValueError(
        f"constraints.get: cannot interpret {identifier!r}; expected None, one of "
        f"{sorted(_NAMES)}, a serialized constraint or a callable"
    )


def serialize(constraint):
    """``{"class_name", "config"}`` for a built-in constraint (None for None; another
    callable as itself).

    Example:
        >>> import wengert as wg
        >>> wg.constraints.serialize(wg.constraints.UnitNorm(axis=1))
        {'class_name': 'UnitNorm', 'config': {'axis': 1}}
    """
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    return constraint
