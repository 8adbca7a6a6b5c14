"""The array backend: the only module of wengert that names NumPy.

Everything else reaches arrays through ``xp`` (NumPy today; CuPy later), so a
second backend means changing this file, not the library.
"""

from __future__ import annotations

import os

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


# TensorFlow's dtype names where NumPy reads them otherwise: the "non-canonical aliases" of
# _STRING_TO_TF and Python's float in _PYTHON_TO_TF (tensorflow/python/framework/dtypes.py).
# NumPy takes "float", "double" and float for float64 and "half" for float16.
_TF_ALIASES = {"half": float16, "float": float32, "double": float64}


def as_dtype(dtype):
    """The dtype a user names, read as TensorFlow reads it: ``"float"`` and Python's
    ``float`` are float32, ``"double"`` float64, ``"half"`` float16; other names,
    types and dtypes as NumPy reads them.

    Example:
        >>> from wengert import backend
        >>> backend.as_dtype("float"), backend.as_dtype(float), backend.as_dtype("double")
        (dtype('float32'), dtype('float32'), dtype('float64'))
    """
    if isinstance(dtype, xp.dtype):
        return dtype
    if dtype is float:
        return float32
    if type(dtype) is str:
        alias = _TF_ALIASES.get(dtype)
        if alias is not None:
            return alias
    return xp.dtype(dtype)


def is_floating(dtype) -> bool:
    """True for float and complex dtypes: the ones gradients are defined for."""
    return dtype.kind in "fc"


# -- the process's memory ----------------------------------------------------------------------
# glibc returns every freed block above its mmap threshold to the kernel, and trims
# the heap's free top above its trim threshold; a training step that frees and
# re-allocates the same large temporaries then page-faults them in again on every
# step (a LeNet step ran a third slower here).  wengert raises both thresholds for
# its process at import, as PERFORMANCE.md measured: blocks below 32 MB come from
# the heap and up to 128 MB of free heap stays mapped for the next step.  Set
# WENGERT_MALLOC_TUNING=0 before importing wengert to keep glibc's defaults.
MALLOC_MMAP_THRESHOLD = 32 << 20
MALLOC_TRIM_THRESHOLD = 128 << 20
malloc_tuned = False


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (see above); False if not glibc.

    Called once when wengert is imported, unless ``WENGERT_MALLOC_TUNING=0``.
    ``backend.malloc_tuned`` says whether it took effect.

    Example:
        >>> from wengert import backend
        >>> backend.tune_malloc() in (True, False)
        True
    """
    global malloc_tuned
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or not glibc
        glibc = False
    if not glibc:
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
        ok = libc.mallopt(m_mmap_threshold, MALLOC_MMAP_THRESHOLD) == 1
        ok = libc.mallopt(m_trim_threshold, MALLOC_TRIM_THRESHOLD) == 1 and ok
    except (OSError, AttributeError):
        return False
    malloc_tuned = ok
    return ok


if os.environ.get("WENGERT_MALLOC_TUNING", "1").strip() != "0":
    tune_malloc()
