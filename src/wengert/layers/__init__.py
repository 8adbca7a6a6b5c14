"""``wg.layers``: Keras-style layers built on wengert's ops."""

from .base import Input, InputLayer, InputSpec, Layer
from .core import Activation, Dense, Dropout, Flatten, Lambda, Normalization, Reshape

__all__ = [
    "Layer",
    "InputSpec",
    "Input",
    "InputLayer",
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Reshape",
    "Lambda",
    "Normalization",
]
