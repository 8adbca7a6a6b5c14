"""Rows of the gradient table (tests/test_ops_gradients.py) for the primitives that
wengert.ops declares itself (Keras 3 names wengert's TF-style API lacks).

cumprod is checked at points with and without zeros, on both axes.
"""

from __future__ import annotations

import numpy as np

from wengert import ops

_WITH_ZEROS = np.array([[0.7, 0.0, -1.3, 0.4], [1.1, -0.6, 0.0, 0.9], [0.5, 0.8, 1.2, -0.3]])

ROWS = {
    "ops_cumprod_axis1": (lambda x: ops.cumprod(x, axis=1), [(3, 4)]),
    "ops_cumprod_flat": (lambda x: ops.cumprod(x), [(2, 3)]),
    "ops_cumprod_zeros_axis1": (lambda x: ops.cumprod(x, axis=1), [_WITH_ZEROS]),
    "ops_cumprod_zeros_axis0": (lambda x: ops.cumprod(x, axis=0), [_WITH_ZEROS]),
    "ops_log2": (lambda x: ops.log2(x * x + 0.5), [(2, 3)]),
    "ops_log10": (lambda x: ops.log10(x * x + 0.5), [(3,)]),
    "ops_sinh": (ops.sinh, [(2, 2)]),
    "ops_cosh": (ops.cosh, [(2, 2)]),
    "ops_arctan2": (ops.arctan2, [(2, 3), (2, 3)]),
    "ops_logaddexp": (ops.logaddexp, [(3,), (2, 3)]),
}
