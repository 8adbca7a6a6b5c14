"""Wrappers and configs as Keras 3 has them: TimeDistributed passes inner masks and loops
per step for batch normalization, Bidirectional keeps its backward layer and masks both
outputs, RNN(cell) and Sequential round-trip their configs, activity regularizers see
every output, DepthwiseConv2D's regularizer applies, and plain-function initializers."""

from __future__ import annotations

import json

import numpy as np
import pytest

import wengert as wg
from wengert import layers as L
from wengert.layers.embedding import get_mask


def test_time_distributed_gives_each_step_its_inner_mask():
    # sentences of words of characters, 0 = padding: a character LSTM per word
    ids = np.array([[[3, 4, 0, 0], [5, 0, 0, 0]], [[2, 2, 2, 1], [7, 6, 0, 0]]])
    emb = L.Embedding(10, 4, mask_zero=True, dtype="float64")
    lstm = L.LSTM(3, dtype="float64")
    e = emb(wg.constant(ids))
    out = L.TimeDistributed(lstm)(e)
    # each word alone, cut to its real characters: the oracle
    for b in range(2):
        for w in range(2):
            n = int((ids[b, w] != 0).sum())
            alone = lstm(e[b : b + 1, w, :n]).numpy()[0]
            np.testing.assert_allclose(out.numpy()[b, w], alone, rtol=1e-12, atol=1e-15)
    assert get_mask(out).shape == (2, 2)
    L.LSTM(2)(out)  # the next recurrent layer takes the (batch, words) mask


def test_time_distributed_batch_norm_uses_each_steps_statistics():
    rng = np.random.default_rng(16)
    x = rng.normal(size=(4, 2, 3))
    x[:, 1] += 10
    td = L.TimeDistributed(L.BatchNormalization(momentum=0.5, dtype="float64"))
    y = td(wg.constant(x), training=True).numpy()
    expected_moving = np.zeros(3)
    for t in range(2):
        step = x[:, t]
        np.testing.assert_allclose(
            y[:, t], (step - step.mean(0)) / np.sqrt(step.var(0) + 1e-3), rtol=1e-10
        )
        expected_moving = 0.5 * expected_moving + 0.5 * step.mean(0)
    np.testing.assert_allclose(td.layer.moving_mean.numpy(), expected_moving, rtol=1e-12)
    z = td(wg.constant(x), training=False).numpy()  # inference: folded, moving statistics
    assert z.shape == x.shape


def test_bidirectional_config_keeps_a_given_backward_layer():
    model = wg.Sequential(
        [
            L.Input((5, 3)),
            L.Bidirectional(
                L.LSTM(4), backward_layer=L.LSTM(4, activation="relu", go_backwards=True)
            ),
        ]
    )
    config = model.get_config()
    json.dumps(config)
    assert config["layers"][0]["class_name"] == "InputLayer"
    rebuilt = wg.Sequential.from_config(config)
    assert rebuilt.built and rebuilt.layers[0].backward_layer.activation.__name__ == "relu"
    rebuilt.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    gru_back = wg.Sequential(
        [L.Input((5, 3)), L.Bidirectional(L.LSTM(4), backward_layer=L.GRU(4, go_backwards=True))]
    )
    again = wg.Sequential.from_config(gru_back.get_config())
    assert type(again.layers[0].backward_layer).__name__ == "GRU"
    again.set_weights(gru_back.get_weights())


def test_rnn_of_a_cell_round_trips_its_config():
    layer = L.RNN(L.SimpleRNNCell(4, activation="relu"), return_sequences=True)
    model = wg.Sequential([L.Input((5, 3)), layer])
    rebuilt = wg.Sequential.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    x = np.random.default_rng(1).standard_normal((2, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    assert "cell" not in L.LSTM(3).get_config()  # the built-in layers keep Keras's flat config


def test_bidirectional_without_merging_masks_both_outputs():
    x = wg.constant(np.ones((1, 4, 2), np.float32))
    mask = np.array([[True, True, False, False]])
    forward, backward = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=None)(
        x, mask=mask
    )
    np.testing.assert_array_equal(get_mask(forward), mask)
    np.testing.assert_array_equal(get_mask(backward), mask)


def test_bidirectional_over_a_cell_draws_its_own_dropout_masks():
    layer = L.Bidirectional(L.RNN(L.SimpleRNNCell(8, dropout=0.5), return_sequences=True))
    layer(wg.ones((2, 3, 4)), training=True)
    fwd_cell, bwd_cell = layer.forward_layer.cell, layer.backward_layer.cell
    assert fwd_cell.generator is not bwd_cell.generator
    a = fwd_cell.generator._rng.random(16)
    b = bwd_cell.generator._rng.random(16)
    assert not np.array_equal(a, b)


def test_activity_regularizer_sees_every_output():
    x = wg.ones((2, 4, 3))
    lstm = L.LSTM(3, return_state=True, activity_regularizer="l2")
    out, h, c = lstm(x)
    expected = sum(0.01 * float(wg.reduce_sum(t * t)) for t in (out, h, c))
    assert len(lstm.losses) == 3
    assert sum(float(v) for v in lstm.losses) == pytest.approx(expected, rel=1e-6)


def test_depthwise_regularizer_applies_to_the_depthwise_kernel():
    layer = L.DepthwiseConv2D(3, depthwise_regularizer=wg.regularizers.L2(0.1))
    layer(wg.ones((1, 5, 5, 2)))
    (penalty,) = layer.losses
    assert float(penalty) == pytest.approx(0.1 * float((layer.kernel.numpy() ** 2).sum()), rel=1e-6)
    config = layer.get_config()
    assert "depthwise_regularizer" in config and "kernel_regularizer" not in config
    again = L.DepthwiseConv2D.from_config(config)
    again(wg.ones((1, 5, 5, 2)))
    assert len(again.losses) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda init: L.Conv2D(2, 3, kernel_initializer=init),
        lambda init: L.Dense(2, kernel_initializer=init),
        lambda init: L.Embedding(5, 2, embeddings_initializer=init),
        lambda init: L.BatchNormalization(gamma_initializer=init),
    ],
    ids=["Conv2D", "Dense", "Embedding", "BatchNormalization"],
)
def test_a_plain_function_initializer_survives_get_and_from_config(make):
    def halves(shape, dtype=None):
        return np.full(shape, 0.5, dtype or "float32")

    layer = make(halves)
    again = type(layer).from_config(layer.get_config())
    x = wg.ones((1, 4, 4, 3)) if isinstance(layer, L.Conv2D) else wg.ones((2, 3))
    if isinstance(layer, L.Embedding):
        x = wg.constant([[1, 2]])
    again(x)
    assert any(np.all(w == 0.5) for w in again.get_weights())


def test_transposed_convolution_names_an_impossible_same_output_padding():
    layer = L.Conv2DTranspose(3, 2, strides=2, padding="same", output_padding=0)
    with pytest.raises(ValueError, match="padding='same' with kernel 2.*odd kernel"):
        layer(wg.ones((1, 5, 5, 2)))


def test_a_list_of_cells_runs_as_stacked_layers_do():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 6, 5))
    mask = np.ones((3, 6), bool)
    mask[1, 4:] = False
    f64 = {"dtype": "float64"}
    stacked = L.RNN([L.LSTMCell(4, **f64), L.GRUCell(3, **f64)], return_sequences=True)
    first = L.RNN(L.LSTMCell(4, **f64), return_sequences=True)
    second = L.RNN(L.GRUCell(3, **f64), return_sequences=True)
    xs = wg.Variable(x)
    with wg.GradientTape(persistent=True) as tape:
        y = stacked(xs, mask=mask)
        first(xs, mask=mask)
        second(wg.ones((3, 6, 4), dtype="float64"))
        first.set_weights(stacked.get_weights()[:3])
        second.set_weights(stacked.get_weights()[3:])
        z = second(first(xs, mask=mask), mask=mask)
        loss_y, loss_z = wg.reduce_sum(y * y), wg.reduce_sum(z * z)
    np.testing.assert_allclose(y.numpy(), z.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        tape.gradient(loss_y, xs).numpy(), tape.gradient(loss_z, xs).numpy(), rtol=1e-10
    )
    model = wg.Sequential([L.Input((6, 5)), L.RNN([L.SimpleRNNCell(2), L.LSTMCell(3)])])
    again = wg.Sequential.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
