"""What the Keras 3 guides (functional API, training with the built-in methods) do with
models, ported as written: the numbers are checked against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers

RNG = np.random.default_rng(17)


def _softmax_ce(logits, labels):
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return -logp[np.arange(len(labels)), labels]


def _classifier(seed=0):
    wg.random.set_seed(seed)
    x = wg.Input((4,))
    model = wg.Model(x, layers.Dense(3)(x))
    model.compile(wg.optimizers.SGD(0.0), wg.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_class_weight_weights_training_batches_but_not_the_validation_loss():
    model = _classifier()
    x = RNG.standard_normal((8, 4)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    history = model.fit(
        x, y, class_weight={0: 1.0, 1: 5.0, 2: 1.0}, validation_split=0.25, epochs=1,
        batch_size=6, shuffle=False, verbose=0,
    )  # fmt: skip
    logits = model.predict(x)
    held_out = _softmax_ce(logits[6:], y[6:]).mean()  # Keras: unweighted
    np.testing.assert_allclose(history.history["val_loss"][0], held_out, rtol=1e-6)
    w = np.array([1.0, 5.0, 1.0])[y[:6]]
    trained = (w * _softmax_ce(logits[:6], y[:6])).sum() / 6  # sum over batch size
    np.testing.assert_allclose(history.history["loss"][0], trained, rtol=1e-6)


def test_class_weight_rounds_float_labels_as_keras():
    wg.random.set_seed(1)
    x = wg.Input((2,))
    model = wg.Model(x, layers.Dense(1, activation="sigmoid")(x))
    model.compile(wg.optimizers.SGD(0.0), "binary_crossentropy")
    data = RNG.standard_normal((4, 2)).astype("float32")
    y = np.array([[0.9], [0.1], [0.9], [0.1]], "float32")
    loss = model.fit(data, y, class_weight={0: 1.0, 1: 5.0}, epochs=1, verbose=0)
    p = np.clip(model.predict(data), 1e-7, 1 - 1e-7)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(1)
    expected = (np.array([5.0, 1.0, 5.0, 1.0]) * bce).mean()  # 0.9 is class 1
    np.testing.assert_allclose(loss.history["loss"][0], expected, rtol=1e-5)


def test_a_functional_models_layers_start_with_its_inputs_as_keras_lists_them():
    a, b = wg.Input((3,), name="a"), wg.Input((2,), name="b")
    dense = layers.Dense(1, name="head")
    model = wg.Model([a, b], dense(layers.Concatenate(name="join")([a, b])))
    assert [layer.name for layer in model.layers] == ["a", "b", "join", "head"]
    assert model.get_layer(index=3) is dense
    assert model.input == [a, b] and dense.input is model.layers[2].output
    assert model.output is dense.output


def test_a_feature_extractor_from_every_layers_output():
    wg.random.set_seed(2)
    x = wg.Input((4,))
    model = wg.Model(x, layers.Dense(2)(layers.Dense(3)(x)))
    features = wg.Model(model.input, [layer.output for layer in model.layers])
    data = RNG.standard_normal((5, 4)).astype("float32")
    got = features(data)
    hidden = data @ model.layers[1].kernel.numpy() + model.layers[1].bias.numpy()
    np.testing.assert_array_equal(got[0].numpy(), data)
    np.testing.assert_allclose(got[1].numpy(), hidden, rtol=1e-6)
    np.testing.assert_allclose(got[2].numpy(), model.predict(data), rtol=1e-6)
    with pytest.raises(AttributeError, match="never been called"):
        _ = layers.Dense(2).output


class _LogisticEndpoint(layers.Layer):  # the functional guide's loss-only endpoint
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = wg.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits):
        self.add_loss(self.loss_fn(targets, logits))
        return wg.nn.sigmoid(logits)


def test_a_model_whose_loss_comes_from_add_loss_trains_on_x_alone():
    wg.random.set_seed(3)
    inputs, targets = wg.Input((3,), name="inputs"), wg.Input((2,), name="targets")
    logits = layers.Dense(2)(inputs)
    model = wg.Model([inputs, targets], _LogisticEndpoint()(targets, logits))
    model.compile(optimizer=wg.optimizers.SGD(0.0))
    data = {"inputs": RNG.standard_normal((4, 3)), "targets": RNG.random((4, 2))}
    history = model.fit(data, epochs=1, batch_size=4, verbose=0)
    z = model.layers[2](wg.constant(data["inputs"], dtype="float32")).numpy()
    t = data["targets"]
    bce = (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean()
    np.testing.assert_allclose(history.history["loss"][0], bce, rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(data, verbose=0), bce, rtol=1e-5)
    bare = wg.Model(inputs, logits)
    bare.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="no loss: call compile"):
        bare.train_on_batch(data["inputs"], data["targets"])


@pytest.mark.filterwarnings("ignore:SGD.apply_gradients")  # score_output has no loss
@pytest.mark.parametrize("style", ["list", "dict"])
def test_an_output_without_a_loss(style, tmp_path):
    wg.random.set_seed(4)
    img = wg.Input((5,), name="img")
    score = layers.Dense(1, name="score_output")(img)
    kind = layers.Dense(3, name="class_output")(img)
    model = wg.Model(img, [score, kind])
    cce = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss = [None, cce] if style == "list" else {"class_output": cce}
    model.compile(wg.optimizers.SGD(0.0), loss=loss)
    x = RNG.standard_normal((6, 5)).astype("float32")
    labels = RNG.integers(0, 3, 6)
    y = [RNG.standard_normal((6, 1)), labels] if style == "list" else {"class_output": labels}
    logs = model.fit(x, y, epochs=1, batch_size=6, verbose=0).history
    expected = _softmax_ce(model.predict(x)[1], labels).mean()
    assert set(logs) == {"loss", "class_output_loss"}
    np.testing.assert_allclose(logs["loss"][0], expected, rtol=1e-6)
    path = str(tmp_path / "m.npz")
    model.save(path)
    loaded = wg.models.load_model(path)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0)[0], expected, rtol=1e-6)


def test_batches_yielded_as_lists_are_x_y_pairs():
    model = _classifier(5)
    x = RNG.standard_normal((4, 4)).astype("float32")
    y = np.array([0, 1, 2, 1])
    expected = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(model.evaluate(iter([[x, y]]), verbose=0), expected, rtol=1e-6)


def test_keras_constructors_and_names():
    x = wg.Input(batch_shape=(16, 10, 5))
    assert x.shape == (10, 5) and x.batch_size == 16
    with pytest.raises(ValueError, match="not both"):
        wg.Input((3,), batch_shape=(2, 3))

    class Twice(layers.Layer):
        def call(self, t):
            return t * 2.0

    inputs = wg.Input((2,))
    model = wg.Model(inputs, Twice(name="twice")(inputs))
    config = model.get_config()
    rebuilt = wg.Model.from_config(config, custom_objects={"Twice": Twice})
    np.testing.assert_array_equal(rebuilt(np.ones((1, 2))).numpy(), [[2.0, 2.0]])
    m = _classifier(6)
    m.compile("sgd", wg.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["acc"])
    data = RNG.standard_normal((3, 4)).astype("float32")
    assert m.metrics_names == ["loss", "acc"]
    assert len(m.evaluate(data, np.array([0, 1, 2]), verbose=0)) == len(m.metrics_names)
