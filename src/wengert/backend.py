"""The array backend: the only module of wengert that names NumPy.

Everything else reaches arrays through ``xp`` (NumPy today; CuPy later), so a
second backend means changing this file, not the library.
"""

from __future__ import annotations

import numpy as xp

ndarray = xp.ndarray
float16 = xp.dtype("float16")
float32 = xp.dtype("float32")
float64 = xp.dtype("float64")
int8 = xp.dtype("int8")
int16 = xp.dtype("int16")
int32 = xp.dtype("int32")
int64 = xp.dtype("int64")
uint8 = xp.dtype("uint8")
bool_ = xp.dtype("bool")
complex64 = xp.dtype("complex64")
complex128 = xp.dtype("complex128")


def is_floating(dtype) -> bool:
    """True for float and complex dtypes: the ones gradients are defined for."""
    return dtype.kind in "fc"
