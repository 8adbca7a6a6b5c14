"""Rows of the gradient table (tests/test_ops_gradients.py) for wengert.image_ops.

Both ops are linear in the image, so their second-order checks exercise the rules'
own transposes: resample (resize's pass along one axis) and image_sample, each with its
transpose.
"""

from __future__ import annotations

import numpy as np

import wengert as wg
from wengert import image_ops
from wengert.core import apply

# a rotation by 0.4 rad about the centre of a 5x4 image, then a small shift
_C, _S = np.cos(0.4), np.sin(0.4)
_ROTATE = [[_C, -_S, 1.5 - 1.5 * _C + 2 * _S + 0.3, _S, _C, 2 - 1.5 * _S - 2 * _C - 0.2, 0, 0]]


def _sample_params(batch, height, width):
    index, weight, _ = image_ops._sampling(
        np.array(_ROTATE * batch), batch, height, width, "bilinear", "reflect"
    )
    return {
        "index": index,
        "weight": weight,
        "in_shape": (batch, height, width, 2),
        "out_shape": (batch, height, width, 2),
    }


def _resample_params(in_size, out_size, axis, antialias=False):
    index, weight = image_ops._resize_taps(in_size, out_size, "bilinear", antialias)
    return {"index": index, "weight": weight, "axis": axis, "size": in_size}


ROWS = {
    "resize_resample_bilinear_up": (lambda x: wg.image.resize(x, (7, 3)), [(2, 4, 5, 2)]),
    "resize_resample_bilinear_antialias_down": (
        lambda x: wg.image.resize(x, (2, 3), antialias=True),
        [(1, 5, 7, 2)],
    ),
    "resize_resample_nearest_one_image": (
        lambda x: wg.image.resize(x, (6, 2), interpolation="nearest"),
        [(3, 4, 1)],
    ),
    "resize_resample_nearest_down_and_up": (
        lambda x: wg.image.resize(x, (2, 9), interpolation="nearest"),
        [(2, 7, 4, 3)],
    ),
    "resample_transpose_bilinear": (
        lambda g: apply(image_ops.resample_transpose_p, (g,), _resample_params(3, 7, 1)),
        [(2, 7, 4, 2)],
    ),
    "resample_transpose_antialias_width": (
        lambda g: apply(image_ops.resample_transpose_p, (g,), _resample_params(9, 2, 2, True)),
        [(2, 3, 2, 2)],
    ),
    "affine_transform_image_sample_constant": (
        lambda x: wg.image.affine_transform(x, _ROTATE * 2, fill_value=0.5),
        [(2, 5, 4, 2)],
    ),
    "affine_transform_reflect_nearest": (
        lambda x: wg.image.affine_transform(
            x, _ROTATE * 2, interpolation="nearest", fill_mode="reflect"
        ),
        [(2, 5, 4, 2)],
    ),
    "image_sample_transpose": (
        lambda g: apply(image_ops.image_sample_transpose_p, (g,), _sample_params(2, 5, 4)),
        [(2, 5, 4, 2)],
    ),
}
