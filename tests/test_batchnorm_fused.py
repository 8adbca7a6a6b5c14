"""The fused training-mode batch normalization (conv_ops.batch_norm_training).

Its hand-written VJP must equal the gradients of the same computation recorded op by
op (moments + batch_normalization), for every output's cotangent; the layer must give
the same outputs, gradients and moving statistics fused or not.  Numerical gradient
checks to second order, forward and reverse, are rows of the gradient table
(tests/gradient_rows_conv.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import conv_ops
from wengert.layers import normalization


def _op_by_op(x, scale, offset, axis, eps):
    axes = [a for a in range(len(x.shape)) if a != axis % len(x.shape)]
    shape = [s if a == axis % len(x.shape) else 1 for a, s in enumerate(x.shape)]
    mean, var = wg.nn.moments(x, axes)
    r = lambda t: wg.reshape(t, shape)  # noqa: E731
    y = wg.nn.batch_normalization(x, r(mean), r(var), r(offset), r(scale), eps)
    return y, mean, var


@pytest.mark.parametrize(
    "shape, axis", [((4, 3, 5, 2), -1), ((3, 4, 2), 1), ((6, 3), 0), ((2, 3, 4, 5), 2)]
)
@pytest.mark.parametrize("used", ["all", "y", "statistics"])
def test_fused_values_and_gradients_equal_the_op_by_op_computation(shape, axis, used):
    rng = np.random.default_rng(len(shape) + axis)
    c = shape[axis]
    x = wg.constant(rng.standard_normal(shape) * 3 + 1)
    scale = wg.constant(rng.uniform(0.5, 2.0, c))
    offset = wg.constant(rng.standard_normal(c))
    cot = [rng.standard_normal(shape), rng.standard_normal(c), rng.standard_normal(c)]
    if used == "y":
        cot[1] = cot[2] = None
    elif used == "statistics":
        cot[0] = None
    results = []
    for fn in (conv_ops.batch_norm_training, _op_by_op):
        with wg.GradientTape() as tape:
            tape.watch([x, scale, offset])
            outs = fn(x, scale, offset, axis, 0.01)
            loss = sum(wg.reduce_sum(o * k) for o, k in zip(outs, cot) if k is not None)
        grads = tape.gradient(loss, [x, scale, offset], unconnected_gradients="zero")
        results.append([o.numpy() for o in outs] + [g.numpy() for g in grads])
    for fused, reference in zip(*results):
        np.testing.assert_allclose(fused, reference, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("axis", [-1, 1])
@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
def test_layer_is_the_same_fused_or_op_by_op(axis, center, scale, monkeypatch):
    rng = np.random.default_rng(5)
    batches = [rng.standard_normal((4, 3, 5, 6)).astype("float32") * 2 + 1 for _ in range(3)]
    cot = rng.standard_normal((4, 3, 5, 6)).astype("float32")
    runs = []
    for fused in (True, False):
        monkeypatch.setattr(
            normalization.BatchNormalization, "_fusable", lambda self, x, f=fused: f
        )
        layer = normalization.BatchNormalization(axis=axis, center=center, scale=scale)
        seen = []
        for xb in batches:
            x = wg.constant(xb)
            with wg.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
            grads = tape.gradient(y, [x] + layer.trainable_weights, output_gradients=cot)
            seen += [y.numpy()] + [g.numpy() for g in grads]
        seen += [layer.moving_mean.numpy(), layer.moving_variance.numpy()]
        runs.append(seen)
    for a, b in zip(*runs):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


def test_bad_arguments_name_the_op_and_shapes():
    x = wg.ones((2, 3))
    with pytest.raises(ValueError, match=r"batch_norm_training: scale must be \(3,\).*\[2\]"):
        conv_ops.batch_norm_training(x, wg.ones(2), wg.zeros(3))
    with pytest.raises(ValueError, match=r"axis 2 is out of range for x of shape \[2, 3\]"):
        conv_ops.batch_norm_training(x, wg.ones(3), wg.zeros(3), axis=2)
    with pytest.raises(TypeError, match="floating-point"):
        conv_ops.batch_norm_training(np.ones((2, 3), "int32"), wg.ones(3), wg.zeros(3))
