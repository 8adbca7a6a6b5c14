"""``wg.keras``: Keras's namespace over wengert, so ``tf.keras.X`` ports as ``wg.keras.X``.

Each name is wengert's own module or class (``wg.keras.layers is wg.layers``); nothing
here behaves differently from the rest of wengert.

Example:
    >>> import wengert as wg
    >>> keras = wg.keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> model(wg.ones((1, 3))).shape
    (1, 2)
"""

from __future__ import annotations

from . import (
    activations,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    utils,
)
from .layers import Input
from .models import Model, Sequential

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "callbacks",
    "constraints",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "utils",
]
