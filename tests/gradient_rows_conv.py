"""Rows of the gradient table (tests/test_ops_gradients.py) for convolutions and pooling.

Each row is checked to second order, forward and reverse, in float64.  Shapes are
tiny so the order-2 checks stay fast; together they reach every primitive of
wengert.conv_ops (including the gradient primitives, called directly), both
column layouts of the convolution (few channels: kernel offsets first; more:
pixels first) and its banded-rows method (few channels, narrow images).
"""

from __future__ import annotations

import numpy as np

import wengert as wg
from wengert import conv_ops
from wengert.core import apply

_CONV = {"strides": (2, 1), "dilations": (1, 2), "padding": ((1, 0), (2, 1)), "groups": 1}
_POOL = {"ksize": (3, 2), "strides": (2, 1), "padding": ((1, 1), (0, 1))}


def _distinct(shape, seed):
    """Values far from ties, so max pooling's selection is stable under finite differences."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 + rng.uniform(0, 0.1, n)).reshape(shape) / n


def _max_grad(x, g):
    out = conv_ops.max_pool2d_p.impl(x.numpy(), **_POOL)
    return apply(conv_ops.max_pool2d_grad_p, (x, wg.constant(out), g), _POOL)


def _max_select(x, t):
    out = conv_ops.max_pool2d_p.impl(x.numpy(), **_POOL)
    return apply(conv_ops.max_pool2d_select_p, (x, wg.constant(out), t), _POOL)


ROWS = {
    "conv2d_same_stride2": (
        lambda x, w: wg.nn.conv2d(x, w, strides=2, padding="SAME"),
        [(2, 5, 4, 3), (3, 3, 3, 2)],
    ),
    "conv2d_dilated_explicit_padding": (
        lambda x, w: wg.nn.conv2d(x, w, strides=(2, 1), padding=[[1, 0], [2, 1]], dilations=(1, 2)),
        [(1, 5, 5, 1), (2, 2, 1, 2)],
    ),
    "conv2d_bias_strided": (
        lambda x, w, b: wg.nn.conv2d(x, w, strides=(1, 2), padding="SAME", bias=b),
        [(2, 4, 5, 2), (2, 3, 2, 3), (3,)],
    ),
    "conv2d_bias_1x1_nchw": (
        lambda x, w, b: wg.nn.conv2d(x, w, 1, "VALID", data_format="NCHW", bias=b),
        [(2, 3, 2, 2), (1, 1, 3, 2), (2,)],
    ),
    "conv2d_grouped": (
        lambda x, w: wg.nn.conv2d(x, w, strides=1, padding="VALID"),
        [(1, 4, 3, 4), (2, 2, 2, 4)],
    ),
    "conv2d_depthwise_multiplier2_strided": (
        lambda x, w, b: wg.nn.depthwise_conv2d(
            x, w, strides=(1, 2, 2, 1), padding="SAME", dilations=(1, 1), bias=b
        ),
        [(2, 5, 4, 3), (3, 2, 3, 2), (6,)],
    ),
    "conv2d_depthwise_dilated": (
        lambda x, w: wg.nn.depthwise_conv2d(x, w, strides=1, padding="VALID", dilations=(2, 1)),
        [(1, 6, 5, 2), (2, 3, 2, 1)],
    ),
    "conv2d_nchw": (
        lambda x, w: wg.nn.conv2d(x, w, strides=1, padding="SAME", data_format="NCHW"),
        [(1, 2, 3, 4), (2, 3, 2, 2)],
    ),
    "conv2d_many_channels": (
        lambda x, w: wg.nn.conv2d(x, w, strides=1, padding="SAME"),
        [(1, 3, 3, 8), (2, 2, 8, 2)],
    ),
    "conv2d_input_grad": (
        lambda g, w: apply(conv_ops.conv2d_input_grad_p, (g, w), {**_CONV, "input_size": (4, 5)}),
        [(1, 2, 6, 2), (2, 2, 3, 2)],
    ),
    "conv2d_filter_grad": (
        lambda x, g: apply(conv_ops.conv2d_filter_grad_p, (x, g), {**_CONV, "kernel_size": (2, 2)}),
        [(1, 4, 5, 3), (1, 2, 6, 2)],
    ),
    "conv1d_causal": (
        lambda x, w: wg.nn.conv1d(x, w, stride=2, padding=[[2, 0]]),
        [(2, 5, 2), (3, 2, 2)],
    ),
    "conv2d_transpose": (
        lambda x, w: wg.nn.conv2d_transpose(x, w, (1, 5, 6, 1), strides=2, padding="SAME"),
        [(1, 3, 3, 2), (3, 2, 1, 2)],
    ),
    "depthwise_conv2d": (
        lambda x, w: wg.nn.depthwise_conv2d(x, w, strides=1, padding="SAME"),
        [(1, 3, 3, 2), (2, 2, 2, 2)],
    ),
    "max_pool2d_valid": (
        lambda x: wg.nn.max_pool2d(x, 2, 2, "VALID"),
        [_distinct((2, 4, 4, 2), 0)],
    ),
    "max_pool2d_same_overlapping": (
        lambda x: wg.nn.max_pool2d(x, 3, 2, "SAME"),
        [_distinct((1, 5, 4, 2), 1)],
    ),
    "max_pool2d_grad": (_max_grad, [_distinct((1, 4, 3, 2), 2), (1, 2, 3, 2)]),
    "max_pool2d_select": (_max_select, [_distinct((1, 4, 3, 2), 3), (1, 4, 3, 2)]),
    "max_pool1d": (lambda x: wg.nn.max_pool1d(x, 3, 2, "SAME"), [_distinct((2, 5, 2), 4)]),
    "avg_pool2d_same": (lambda x: wg.nn.avg_pool2d(x, 3, 2, "SAME"), [(1, 5, 4, 2)]),
    "avg_pool2d_grad": (
        lambda g: apply(conv_ops.avg_pool2d_grad_p, (g,), {**_POOL, "input_size": (4, 3)}),
        [(1, 2, 3, 2)],
    ),
    "avg_pool1d": (lambda x: wg.nn.avg_pool1d(x, 2, 2, "VALID", data_format="NCW"), [(2, 2, 5)]),
    "bias_add_channels_last": (wg.nn.bias_add, [(2, 3, 4, 2), (2,)]),
    "bias_add_channels_first": (lambda x, b: wg.nn.bias_add(x, b, "NCHW"), [(2, 3, 4), (3,)]),
    "bias_add_grad": (
        lambda g: apply(conv_ops.bias_add_grad_p, (g,), {"channels_first": False}),
        [(2, 3, 2)],
    ),
    "conv2d_narrow_and_wide_by_columns": (  # too wide for the banded rows: im2col
        lambda x, w: wg.nn.conv2d(x, w, strides=1, padding="SAME"),
        [(1, 2, 13, 1), (1, 2, 1, 2)],
    ),
    "batch_norm_training_channels_last": (
        lambda x, s, o: conv_ops.batch_norm_training(x, s, o, axis=-1),
        [(3, 2, 2), (2,), (2,)],
    ),
    "batch_norm_training_axis1": (
        lambda x, s, o: conv_ops.batch_norm_training(x, s, o, axis=1, epsilon=0.1),
        [(2, 3, 2), (3,), (3,)],
    ),
    "batch_normalization_moments": (
        lambda x, g, b: wg.nn.batch_normalization(x, *wg.nn.moments(x, [0, 1]), b, g, 1e-3),
        [(3, 2, 2), (2,), (2,)],
    ),
}
