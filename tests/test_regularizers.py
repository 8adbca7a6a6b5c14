"""Regularizers as Keras's: the penalties, where layers take them, and fit/evaluate adding
them to the loss."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers, regularizers


def test_penalties_names_and_serialization():
    x = wg.constant([-1.0, 2.0])
    assert float(regularizers.L1(0.5)(x)) == 1.5
    assert float(regularizers.L2(0.5)(x)) == 2.5
    assert float(regularizers.L1L2(l1=0.5, l2=0.5)(x)) == 4.0
    assert regularizers.get("l2").l2 == 0.01 and regularizers.get(None) is None
    reg = regularizers.L1L2(l1=0.1, l2=0.2)
    again = regularizers.get(regularizers.serialize(reg))
    assert type(again) is regularizers.L1L2 and (again.l1, again.l2) == (0.1, 0.2)
    with pytest.raises(ValueError, match="cannot interpret 'l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="l2 must be a number >= 0"):
        regularizers.L2(-1.0)


def test_layers_take_keras_regularizer_arguments_and_list_their_losses():
    wg.random.set_seed(0)
    dense = layers.Dense(
        3,
        kernel_regularizer=regularizers.L2(0.1),
        bias_regularizer="l1",
        activity_regularizer=regularizers.L1(0.01),
    )
    out = dense(np.ones((2, 4), np.float32))
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
    got = [float(p) for p in dense.losses]
    want = [0.1 * (kernel**2).sum(), 0.01 * np.abs(bias).sum(), 0.01 * np.abs(out.numpy()).sum()]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    again = layers.Dense.from_config(dense.get_config())
    assert again.get_config() == dense.get_config()
    lstm = layers.LSTM(2, kernel_regularizer="l2", recurrent_regularizer="l1")
    lstm(np.ones((1, 3, 2), np.float32))
    assert len(lstm.losses) == 2
    model = wg.Sequential([layers.Input((4,)), layers.Dense(2, kernel_regularizer="l2")])
    assert len(model.losses) == 1


def test_fit_and_evaluate_add_the_penalties_to_the_loss():
    wg.random.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    model = wg.Sequential(
        [layers.Input((3,)), layers.Dense(1, kernel_regularizer=regularizers.L2(0.5))]
    )
    model.compile(optimizer=wg.optimizers.SGD(0.1), loss="mse")
    w0, b0 = (a.copy() for a in model.get_weights())
    pred = x @ w0 + b0
    data_loss = float(((pred - y) ** 2).mean())
    penalty = 0.5 * float((w0**2).sum())
    assert model.evaluate(x, y, batch_size=16, verbose=0) == pytest.approx(data_loss + penalty)
    history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(data_loss + penalty, rel=1e-6)
    grad_w = 2 * x.T @ (pred - y) / 16 + 2 * 0.5 * w0  # the penalty's gradient included
    np.testing.assert_allclose(model.get_weights()[0], w0 - 0.1 * grad_w, rtol=1e-5)
