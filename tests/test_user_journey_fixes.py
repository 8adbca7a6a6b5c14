"""What porting the TensorFlow and Keras guides found: gradients of a dict of variables
keep its key order, a variable as its own target, complex sources refused, tensors in
format strings, Keras's automatic layer names, and build() by hand."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers


def test_gradients_of_a_dict_come_back_in_its_own_key_order():
    p, a = wg.Variable(1.0, name="p"), wg.Variable(1.0, name="a")
    variables = {"p": p, "a": a}
    with wg.GradientTape() as tape:
        loss = 2.0 * p + 100.0 * a
    grads = tape.gradient(loss, variables)
    assert list(grads) == ["p", "a"]
    assert [float(g) for g in grads.values()] == [2.0, 100.0]
    opt = wg.optimizers.SGD(1.0)
    opt.apply_gradients(zip(grads.values(), variables.values()))  # the TF guide's pairing
    assert (float(p), float(a)) == (-1.0, -99.0)


def test_a_variable_used_as_its_own_target_has_gradient_one():
    v0, v1 = wg.Variable(2.0), wg.Variable(2.0)
    with wg.GradientTape() as tape:
        result = v0  # as the TF guide's control-flow example: v0 is never read
    d0, d1 = tape.gradient(result, [v0, v1])
    assert float(d0) == 1.0 and d1 is None
    w = wg.Variable([1.0, 2.0])
    with wg.GradientTape() as tape:
        out = w
    np.testing.assert_array_equal(tape.jacobian(out, w).numpy(), np.eye(2))


def test_gradients_with_respect_to_complex_tensors_are_refused():
    z = wg.Variable(np.array(1 + 2j, np.complex64))
    with wg.GradientTape() as tape:
        y = z * z
    with pytest.raises(NotImplementedError, match="complex tensor is not supported"):
        tape.gradient(y, z)


def test_scalar_tensors_take_format_specs():
    assert f"{wg.constant(0.12):2.5f}" == "0.12000"
    assert f"loss={wg.Variable(3.0):.1f}" == "loss=3.0"
    assert f"{wg.constant([1.0, 2.0])}" == "[1. 2.]"


def test_automatic_layer_names_are_keras_names():
    expected = {
        layers.Conv2D(1, 1): "conv2d",
        layers.MaxPooling2D(): "max_pooling2d",
        layers.GlobalAveragePooling2D(): "global_average_pooling2d",
        layers.Conv2DTranspose(1, 1): "conv2d_transpose",
        layers.BatchNormalization(): "batch_normalization",
        layers.SimpleRNN(2): "simple_rnn",
    }
    for layer, base in expected.items():
        assert layer.name == base or layer.name.startswith(base + "_")
        assert layer.name.removeprefix(base) == "" or layer.name[len(base) + 1 :].isdigit()


def test_a_layer_built_by_hand_keeps_its_weights_on_the_first_call():
    class Linear(layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.units = units

        def build(self, input_shape):  # no super().build(): as the Keras guide writes it
            self.w = self.add_weight(shape=(input_shape[-1], self.units))

        def call(self, inputs):
            return wg.matmul(inputs, self.w)

    layer = Linear(4)
    layer.build((None, 3))
    assert layer.built
    layer.set_weights([np.ones((3, 4), np.float32)])
    np.testing.assert_array_equal(layer(wg.ones((1, 3))).numpy(), np.full((1, 4), 3.0))


def test_callbacks_get_logs_positionally_and_test_and_predict_hooks_run():
    calls = []

    class Recorder(wg.callbacks.Callback):
        def on_train_begin(self, logs):  # the Keras guide's signature: logs required
            calls.append(("train_begin", logs))

        def on_train_end(self, logs):
            calls.append(("train_end", sorted(logs)))

        def on_test_begin(self, logs):
            calls.append(("test_begin",))

        def on_test_batch_end(self, batch, logs):
            calls.append(("test_batch", batch, sorted(logs)))

        def on_test_end(self, logs):
            calls.append(("test_end", sorted(logs)))

        def on_predict_batch_end(self, batch, logs):
            calls.append(("predict_batch", batch, logs["outputs"].shape))

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 2)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    model = wg.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(
        x, y, batch_size=5, epochs=1, verbose=0, validation_data=(x, y), callbacks=[Recorder()]
    )
    assert calls[0] == ("train_begin", None)
    assert ("test_begin",) in calls and ("test_batch", 1, ["loss", "mae"]) in calls
    assert calls[-1] == ("train_end", ["loss", "mae", "val_loss", "val_mae"])
    calls.clear()
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[Recorder()])
    assert [c[0] for c in calls] == [
        "test_begin",
        "test_batch",
        "test_batch",
        "test_batch",
        "test_end",
    ]
    calls.clear()
    model.predict(x, batch_size=6, callbacks=[Recorder()])
    assert calls == [("predict_batch", 0, (6, 1)), ("predict_batch", 1, (4, 1))]


def test_model_checkpoint_saves_what_keras_saves(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((12, 2)).astype(np.float32)
    y = rng.standard_normal((12, 1)).astype(np.float32)
    model = wg.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile("adam", "mse")
    whole = str(tmp_path / "m-{epoch}.npz")
    every = str(tmp_path / "b-{epoch}-{loss:.6f}.npz")
    threshold = wg.callbacks.ModelCheckpoint(
        str(tmp_path / "never.npz"),
        monitor="loss",
        save_best_only=True,
        initial_value_threshold=0.0,
    )
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        verbose=0,
        callbacks=[
            wg.callbacks.ModelCheckpoint(whole),
            wg.callbacks.ModelCheckpoint(every, save_freq=2, save_weights_only=True),
            threshold,
        ],
    )
    loaded = wg.models.load_model(str(tmp_path / "m-2.npz"))  # the default: a whole model
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.optimizer.iterations == 6
    assert len(list(tmp_path.glob("b-*.npz"))) == 3  # batches 2, 4, 6
    assert not (tmp_path / "never.npz").exists()  # no loss beats 0.0
    clone = wg.Sequential([layers.Input((2,)), layers.Dense(1)])
    clone.load_weights(str(tmp_path / "m-2.npz"))  # load_weights reads a whole model's weights
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive integer"):
        wg.callbacks.ModelCheckpoint(whole, save_freq=0)


class ActivityPenalty(layers.Layer):
    """The Keras guide's ActivityRegularizationLayer."""

    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * wg.reduce_sum(wg.square(inputs)))
        return inputs


def test_add_loss_terms_join_the_loss_fit_minimises_once_per_forward_pass():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    wg.random.set_seed(2)
    penalty = ActivityPenalty(0.1)
    model = wg.Sequential([layers.Input((3,)), layers.Dense(2), penalty, layers.Dense(1)])
    model.compile("sgd", "mse")
    model(x)
    model(x)  # a second forward pass replaces the first's term, not adds to it
    assert len(model.losses) == 1
    hidden = model.layers[0](x).numpy()
    expected_term = 0.1 * float((hidden.astype(np.float64) ** 2).sum())
    assert float(model.losses[0]) == pytest.approx(expected_term, rel=1e-5)
    pred = model.predict(x, batch_size=8)
    loss = model.evaluate(x, y, batch_size=8, verbose=0)
    assert loss == pytest.approx(float(((pred - y) ** 2).mean()) + expected_term, rel=1e-5)
    # a layer called twice in one pass contributes twice
    shared = ActivityPenalty(1.0)

    class Twice(wg.Model):
        def __init__(self):
            super().__init__()
            self.shared = shared

        def call(self, x):
            return self.shared(self.shared(x))

    twice = Twice()
    twice(wg.ones((1, 2)))
    assert [float(v) for v in twice.losses] == [2.0, 2.0]
    twice(wg.ones((1, 2)))
    assert len(twice.losses) == 2


def test_summary_prints_none_for_axes_declared_unknown():
    lines = []
    model = wg.Sequential(
        [layers.Input((None,)), layers.Embedding(10, 4), layers.LSTM(3, return_sequences=True)]
    )
    model.summary(print_fn=lines.append)
    assert "(None, None, 4)" in lines[0] and "(None, None, 3)" in lines[0]
    model(np.zeros((2, 7), np.int64))
    assert model.layers[0]._output_shape == (2, 7, 4)  # the probe left the real shapes alone


def test_a_metric_function_of_float64_targets_works_in_fit():
    rng = np.random.default_rng(3)
    x, y = rng.random((16, 4)), rng.random((16, 1))  # float64, as np.random gives
    model = wg.Sequential([layers.Input((4,)), layers.Dense(1)])
    model.compile(
        "adam",
        loss=lambda yt, yp: wg.reduce_mean(wg.square(yt - yp), axis=-1),
        metrics=[lambda yt, yp: wg.reduce_mean(wg.abs(yt - yp), axis=-1)],
    )
    history = model.fit(x, y, epochs=1, verbose=0)
    assert len(history.history) == 2


def test_custom_layers_receive_and_make_masks_as_in_the_keras_masking_guide():
    from wengert.layers.base import get_mask

    seen = {}

    class MaskedMean(layers.Layer):
        """Consumes the mask it is handed, as the guide's layers do."""

        def call(self, inputs, mask=None):
            seen["mask"] = mask
            w = wg.constant(mask.astype("float32"))[..., None]
            return wg.reduce_sum(inputs * w, axis=1) / wg.reduce_sum(w, axis=1)

    class CustomEmbedding(layers.Layer):
        def __init__(self, input_dim, output_dim, **kwargs):
            super().__init__(**kwargs)
            self.input_dim, self.output_dim = input_dim, output_dim

        def build(self, input_shape):
            self.embeddings = self.add_weight((self.input_dim, self.output_dim), "random_normal")

        def call(self, inputs):
            return wg.gather(self.embeddings, inputs)

        def compute_mask(self, inputs, mask=None):
            return wg.not_equal(inputs, 0)

    ids = np.array([[3, 5, 0, 0], [1, 0, 0, 0]])
    emb = CustomEmbedding(10, 4)
    out = emb(wg.constant(ids))
    np.testing.assert_array_equal(get_mask(out), ids != 0)
    mean = MaskedMean()(out)
    np.testing.assert_array_equal(seen["mask"], ids != 0)
    expected = [out.numpy()[0, :2].mean(0), out.numpy()[1, :1].mean(0)]
    np.testing.assert_allclose(mean.numpy(), np.stack(expected), rtol=1e-6)


class _AddHidden(wg.layers.Layer):
    def call(self, x, hidden=None):
        return x if hidden is None else x + 10.0 * hidden


def test_positional_arguments_after_the_inputs_go_to_calls_parameters():
    # The PyTorch habit rnn(x, h): Keras 3 binds h to call()'s second parameter; it used
    # to be taken for training= and dropped.
    x, h = wg.ones((1, 3)), wg.fill((1, 3), 3.0)
    layer = _AddHidden()
    np.testing.assert_array_equal(layer(x, h).numpy(), [[31.0, 31.0, 31.0]])
    np.testing.assert_array_equal(layer(x, hidden=h).numpy(), [[31.0, 31.0, 31.0]])
    with pytest.raises(TypeError, match="two values for 'hidden'"):
        layer(x, h, hidden=h)
    with pytest.raises(TypeError, match=r"Dense 'dense_pos': call\(\) takes 0 positional"):
        wg.layers.Dense(2, name="dense_pos")(x, True)
    wg.random.set_seed(1)
    dropped = wg.layers.Dropout(0.5)(wg.ones((4, 8)), True)  # call(inputs, training)
    assert (dropped.numpy() == 0).any()
    # ... and in a functional model, where the symbolic h is recorded and replayed.
    xi, hi = wg.Input((3,)), wg.Input((3,))
    model = wg.Model([xi, hi], _AddHidden()(xi, hi))
    np.testing.assert_array_equal(model([x, h]).numpy(), [[31.0, 31.0, 31.0]])


def test_an_indexable_sequence_of_batches_trains_as_keras_pydataset():
    class Chunks:  # Keras's PyDataset protocol: len() batches, [i] the i-th batch
        def __init__(self):
            rng = np.random.default_rng(3)
            self.x = rng.standard_normal((12, 3)).astype("float32")
            self.y = self.x.sum(1, keepdims=True)
            self.epochs_ended = 0

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return self.x[4 * i : 4 * i + 4], self.y[4 * i : 4 * i + 4]

        def on_epoch_end(self):
            self.epochs_ended += 1

    data = Chunks()
    wg.random.set_seed(4)
    model = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and data.epochs_ended == 2
    expected = np.mean((model.predict(data.x) - data.y) ** 2)
    np.testing.assert_allclose(model.evaluate(data), expected, rtol=1e-5)


def test_a_sequential_models_input_sets_its_inputs_dtype():
    model = wg.Sequential(
        [wg.layers.Input((2,), dtype="float64"), wg.layers.Dense(1, dtype="float64")]
    )
    x = np.array([[1.0 + 1e-12, 2.0]])
    assert model(x).dtype == np.float64
    np.testing.assert_allclose(model(x).numpy(), x @ model.layers[0].kernel.numpy(), rtol=1e-15)
