"""Weight constraints (Keras's): their projections in closed form and against torch.renorm,
applied by every optimizer right after the update, from layer arguments and configs."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import constraints, layers

RNG = np.random.default_rng(5)
EPS = 1e-7


def _norms(w, axis):
    return np.sqrt((w * w).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_projections_in_closed_form(axis):
    w = RNG.standard_normal((4, 3)) * 2
    n = _norms(w, tuple(axis) if isinstance(axis, list) else axis)
    got = constraints.MaxNorm(1.5, axis=axis)(w).numpy()
    np.testing.assert_allclose(got, w * np.clip(n, 0, 1.5) / (EPS + n), rtol=1e-12)
    got = constraints.UnitNorm(axis=axis)(w).numpy()
    np.testing.assert_allclose(got, w / (EPS + n), rtol=1e-12)
    got = constraints.MinMaxNorm(0.5, 1.0, rate=0.3, axis=axis)(w).numpy()
    desired = 0.3 * np.clip(n, 0.5, 1.0) + 0.7 * n
    np.testing.assert_allclose(got, w * desired / (EPS + n), rtol=1e-12)
    np.testing.assert_array_equal(constraints.NonNeg()(w).numpy(), np.where(w < 0, 0.0, w))


def test_max_norm_equals_torch_renorm():
    torch = pytest.importorskip("torch")
    w = RNG.standard_normal((6, 5)) * 3
    ours = constraints.MaxNorm(2.0, axis=0)(w).numpy()  # each column's norm <= 2
    theirs = torch.renorm(torch.tensor(w), p=2, dim=1, maxnorm=2.0).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_a_constraint_keeps_the_dtype_and_records_nothing():
    v = wg.Variable(RNG.standard_normal((3, 2)).astype(np.float32))
    with wg.GradientTape() as tape:
        out = constraints.UnitNorm()(v)
    assert out.dtype == wg.float32 and len(tape) == 0


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_optimizers_project_a_constrained_variable_after_its_update(optimizer):
    w0 = RNG.standard_normal((3, 2))
    g = RNG.standard_normal((3, 2))
    plain = wg.Variable(w0.copy())
    constrained = wg.Variable(w0.copy(), constraint=constraints.MaxNorm(0.5))
    for v in (plain, constrained):
        opt = wg.optimizers.get(optimizer)
        opt.learning_rate = 0.3
        opt.apply_gradients([(wg.constant(g), v)])
    expected = constraints.MaxNorm(0.5)(plain).numpy()
    np.testing.assert_allclose(constrained.numpy(), expected, rtol=1e-12)
    assert (_norms(constrained.numpy(), 0) <= 0.5 + 1e-6).all()


def test_layers_take_weight_constraints_and_keep_them_in_their_config():
    dense = layers.Dense(4, kernel_constraint="max_norm", bias_constraint=constraints.NonNeg())
    dense(wg.ones((2, 3)))
    assert isinstance(dense.kernel.constraint, constraints.MaxNorm)
    assert isinstance(dense.bias.constraint, constraints.NonNeg)
    config = dense.get_config()
    assert config["kernel_constraint"] == {
        "class_name": "MaxNorm",
        "config": {"max_value": 2.0, "axis": 0},
    }
    again = layers.Dense.from_config(config)
    again(wg.ones((2, 3)))
    assert isinstance(again.kernel.constraint, constraints.MaxNorm)
    lstm = layers.LSTM(3, recurrent_constraint="unit_norm")
    lstm(wg.ones((1, 2, 2)))
    assert isinstance(lstm.cell.recurrent_kernel.constraint, constraints.UnitNorm)
    assert lstm.cell.kernel.constraint is None
    depthwise = layers.DepthwiseConv2D(3, depthwise_constraint="non_neg")
    depthwise(wg.ones((1, 4, 4, 2)))
    assert isinstance(depthwise.kernel.constraint, constraints.NonNeg)
    assert "depthwise_constraint" in depthwise.get_config()
    with pytest.raises(ValueError, match="constraints.get: cannot interpret 'bogus'"):
        layers.Dense(2, kernel_constraint="bogus")


def test_fit_keeps_a_max_norm_kernel_within_its_bound():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32) * 5
    y = rng.integers(0, 3, 64)
    wg.random.set_seed(0)
    model = wg.Sequential(
        [layers.Input((5,)), layers.Dense(3, kernel_constraint=constraints.MaxNorm(0.3))]
    )
    model.compile(wg.optimizers.SGD(1.0), wg.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert (_norms(model.get_weights()[0], 0) <= 0.3 + 1e-6).all()
