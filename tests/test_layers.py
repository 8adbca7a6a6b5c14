"""Layers: building, calling, tracking, configuration and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers

RNG = np.random.default_rng(3)


def test_dense_builds_from_input_shape_and_computes_affine_map():
    layer = layers.Dense(3, activation="tanh", kernel_initializer="glorot_uniform")
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    y = layer(x)
    assert layer.built and layer.kernel.shape == (4, 3) and layer.bias.shape == (3,)
    expected = np.tanh(x @ layer.kernel.numpy() + layer.bias.numpy())
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, atol=1e-6)
    assert [v.name for v in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]


def test_dense_on_rank_3_input():
    layer = layers.Dense(2)
    y = layer(np.ones((2, 5, 4), dtype=np.float32))
    assert y.shape == (2, 5, 2)


def test_dense_rejects_wrong_input_after_build():
    layer = layers.Dense(3, name="probe")
    layer(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"layer 'probe'.*axis -1.*value 4.*\(2, 5\)"):
        layer(np.ones((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="probe"):
        layer(np.ones((4,), dtype=np.float32))


def test_dense_bad_units():
    with pytest.raises(ValueError, match="Dense"):
        layers.Dense(0)


def test_dense_matches_torch_linear():
    torch = pytest.importorskip("torch")
    layer = layers.Dense(3, dtype="float64")
    x = RNG.standard_normal((6, 4))
    layer(x)
    lin = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(layer.kernel.numpy().T))
        lin.bias.copy_(torch.tensor(layer.bias.numpy()))
    xt = torch.tensor(x, requires_grad=True)
    (lin(xt) ** 2).sum().backward()
    xw = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(xw)
        loss = wg.reduce_sum(layer(xw) ** 2)
    gx, gk, gb = tape.gradient(loss, [xw, layer.kernel, layer.bias])
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gk.numpy(), lin.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), lin.bias.grad.numpy(), rtol=1e-12)


def test_inputs_are_cast_to_the_layer_dtype():
    layer = layers.Dense(2)
    assert layer(np.ones((1, 3))).dtype == np.float32
    layer64 = layers.Dense(2, dtype="float64")
    assert layer64(np.ones((1, 3), dtype=np.float32)).dtype == np.float64


def test_get_and_set_weights():
    layer = layers.Dense(2)
    layer(np.ones((1, 3), dtype=np.float32))
    new = [np.arange(6, dtype=np.float32).reshape(3, 2), np.array([1.0, -1.0], np.float32)]
    layer.set_weights(new)
    for got, want in zip(layer.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="kernel.*shape \\(3, 2\\).*\\(2, 2\\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match="expected 2 arrays"):
        layer.set_weights([np.zeros((3, 2))])


def test_config_round_trip():
    layer = layers.Dense(5, activation="relu", use_bias=False, name="d5")
    clone = layers.Dense.from_config(layer.get_config())
    assert clone.units == 5 and not clone.use_bias and clone.name == "d5"
    y = clone(np.ones((1, 2), dtype=np.float32))
    assert y.shape == (1, 5) and len(clone.weights) == 1


def test_activation_layer_and_unknown_name():
    assert np.allclose(layers.Activation("relu")(wg.constant([-1.0, 1.0])).numpy(), [0.0, 1.0])
    with pytest.raises(ValueError, match="relu"):  # the message lists valid names
        layers.Activation("no_such_activation")


def test_dropout_training_and_inference():
    drop = layers.Dropout(0.25, seed=1)
    x = np.ones((200, 50), dtype=np.float32)
    np.testing.assert_array_equal(drop(x).numpy(), x)  # inference by default
    np.testing.assert_array_equal(drop(x, training=False).numpy(), x)
    y = drop(x, training=True).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02  # 10,000 draws: 5 sigma is 0.022
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(y.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation


def test_dropout_is_reproducible_by_seed_and_passes_gradient_through_mask():
    a = layers.Dropout(0.5, seed=7)(np.ones((4, 4), np.float32), training=True).numpy()
    b = layers.Dropout(0.5, seed=7)(np.ones((4, 4), np.float32), training=True).numpy()
    np.testing.assert_array_equal(a, b)
    drop = layers.Dropout(0.5, seed=3)
    x = wg.constant(np.ones((3, 3), np.float32))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = drop(x, training=True)
    g = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(g, y.numpy())  # d(x * mask)/dx = mask


def test_dropout_noise_shape_shares_mask():
    y = layers.Dropout(0.5, noise_shape=(None, 1), seed=0)(
        np.ones((6, 5), np.float32), training=True
    ).numpy()
    for row in y:
        assert len(set(row.tolist())) == 1


def test_dropout_bad_rate():
    with pytest.raises(ValueError, match="Dropout"):
        layers.Dropout(1.0)


def test_flatten_reshape_lambda():
    assert layers.Flatten()(np.zeros((2, 3, 4))).shape == (2, 12)
    assert layers.Flatten()(np.zeros((0, 3, 4))).shape == (0, 12)
    assert layers.Reshape((4, 3))(np.zeros((2, 12))).shape == (2, 4, 3)
    assert layers.Reshape((-1, 2))(np.zeros((2, 12))).shape == (2, 6, 2)
    with pytest.raises(ValueError, match=r"Reshape 'bad'.*\(2, 12\)"):
        layers.Reshape((5,), name="bad")(np.zeros((2, 12)))
    assert layers.Lambda(lambda t: t * 3.0)(np.ones(2)).numpy().tolist() == [3.0, 3.0]


def test_nested_tracking_and_trainable_flags():
    class Block(layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.inner = [layers.Dense(3), layers.Dense(2)]

        def call(self, x):
            for layer in self.inner:
                x = layer(x)
            return x

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.frozen = layers.Dense(1, trainable=False)

        def build(self, input_shape):
            self.scale = self.add_weight((1,), "ones", name="scale")

        def call(self, x):
            return self.frozen(self.block(x)) * self.scale

    outer = Outer()
    outer(np.ones((2, 4), np.float32))
    assert len(outer.weights) == 7
    assert len(outer.trainable_weights) == 5
    assert len(outer.non_trainable_weights) == 2
    assert outer.count_params() == (4 * 3 + 3) + (3 * 2 + 2) + (2 * 1 + 1) + 1
    assert outer.layers == [outer.block, outer.frozen]
    outer.trainable = False
    assert outer.trainable_weights == []


def test_training_flag_propagates_to_nested_layers():
    class Net(wg.Model):
        def __init__(self):
            super().__init__()
            self.drop = layers.Dropout(0.5, seed=0)

        def call(self, x):
            return self.drop(x)  # no training= passed: inherited from the outer call

    net = Net()
    x = np.ones((10, 10), np.float32)
    assert np.all(net(x, training=False).numpy() == 1)
    assert np.any(net(x, training=True).numpy() == 0)


def test_sequential_with_input_builds_and_summarises(capsys):
    model = wg.Sequential(
        [
            layers.Input((8,)),
            layers.Dense(4, activation="relu", name="hid"),
            layers.Dense(2, name="out"),
        ],
        name="tiny",
    )
    assert model.built
    assert model.count_params() == 8 * 4 + 4 + 4 * 2 + 2
    model.summary()
    text = capsys.readouterr().out
    assert 'Model: "tiny"' in text
    assert "hid (Dense)" in text and "(None, 4)" in text and "36" in text
    assert "out (Dense)" in text and "(None, 2)" in text and "10" in text
    assert "Total params: 46" in text and "Trainable params: 46" in text


def test_sequential_input_shape_argument_add_pop_and_config():
    model = wg.Sequential()
    model.add(layers.Dense(3, input_shape=(5,)))
    model.add(layers.Dense(1))
    assert model.built and model.count_params() == 5 * 3 + 3 + 3 + 1
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and len(model.layers) == 1
    clone = wg.Sequential.from_config(model.get_config())
    assert [type(layer) for layer in clone.layers] == [layers.Dense]
    with pytest.raises(TypeError, match="expected a Layer"):
        model.add("dense")


def test_sequential_wrong_input_names_layer():
    model = wg.Sequential([layers.Input((3,)), layers.Dense(2, name="first")])
    with pytest.raises(ValueError, match="first"):
        model(np.ones((4, 7), np.float32))
