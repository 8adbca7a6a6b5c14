"""Gaps a port of the Keras 3 guides found: the functional merge helpers, TensorBoard's
constructor, the MAPE and MSLE metrics, and saving a model compiled with a loss function
of the user's own."""

from __future__ import annotations

import glob
import os
import struct
import warnings

import numpy as np
import pytest

import wengert as wg
from wengert import layers
from wengert import metrics as M
from wengert.layers.base import custom_object_scope

RNG = np.random.default_rng(7)


# -- 1. wg.layers.add, ..., concatenate ------------------------------------------------------

HELPERS = [
    (layers.add, layers.Add, lambda a, b, c: a + b + c),
    (layers.multiply, layers.Multiply, lambda a, b, c: a * b * c),
    (layers.average, layers.Average, lambda a, b, c: (a + b + c) / 3),
    (layers.maximum, layers.Maximum, lambda a, b, c: np.maximum(np.maximum(a, b), c)),
    (layers.minimum, layers.Minimum, lambda a, b, c: np.minimum(np.minimum(a, b), c)),
]


@pytest.mark.parametrize("helper, cls, expected", HELPERS, ids=lambda v: getattr(v, "__name__", ""))
def test_merge_helpers_on_tensors_match_numpy_and_their_layer(helper, cls, expected):
    a, b, c = (RNG.standard_normal((4, 3)).astype("float32") for _ in range(3))
    out = helper([wg.constant(a), wg.constant(b), wg.constant(c)])
    np.testing.assert_allclose(out.numpy(), expected(a, b, c), rtol=1e-6)
    np.testing.assert_array_equal(out.numpy(), cls()([a, b, c]).numpy())


def test_subtract_and_concatenate_on_tensors():
    a, b = (RNG.standard_normal((2, 3)).astype("float32") for _ in range(2))
    np.testing.assert_array_equal(layers.subtract([a, b]).numpy(), a - b)
    with pytest.raises(ValueError, match="exactly 2"):
        layers.subtract([a, b, a])
    np.testing.assert_array_equal(layers.concatenate([a, b]).numpy(), np.concatenate([a, b], -1))
    np.testing.assert_array_equal(
        layers.concatenate([a, b], axis=0).numpy(), np.concatenate([a, b], 0)
    )


def test_merge_helpers_build_a_functional_model_as_the_keras_guide_does():
    # The guide's pattern: branches merged with the lower-case helpers, layer kwargs passed on.
    left, right = wg.Input((4,)), wg.Input((4,))
    joined = layers.concatenate([left, right], name="joined")
    assert joined.shape == (None, 8)
    total = layers.add([left, right], name="total")
    outputs = [
        joined,
        total,
        layers.subtract([left, right]),
        layers.multiply([left, right]),
        layers.average([left, right]),
        layers.maximum([left, right]),
        layers.minimum([left, right]),
    ]
    assert all(o.shape[-1] == (8 if i == 0 else 4) for i, o in enumerate(outputs))
    model = wg.Model([left, right], outputs)
    assert isinstance(model.get_layer("joined"), layers.Concatenate)
    assert model.get_layer("joined").axis == -1 and isinstance(model.get_layer("total"), layers.Add)
    a, b = (RNG.standard_normal((5, 4)).astype("float32") for _ in range(2))
    got = model.predict([a, b], verbose=0)
    for value, want in zip(
        got,
        [
            np.concatenate([a, b], -1),
            a + b,
            a - b,
            a * b,
            (a + b) / 2,
            np.maximum(a, b),
            np.minimum(a, b),
        ],
    ):
        np.testing.assert_allclose(value, want, rtol=1e-6)


# -- 2. TensorBoard: Keras's constructor, update_freq --------------------------------------


def _events(log_dir) -> dict:
    """{tag: [(step, value)]} from the event files: a scalar's value, or a histogram's
    (num, sum, min, max).  Each record is Keras's TFRecord frame: length, crc, data, crc."""
    from tensorboardX.proto import event_pb2

    found: dict = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at : at + 8])
            event = event_pb2.Event.FromString(data[at + 12 : at + 12 + length])
            at += 12 + length + 4
            for v in event.summary.value:
                if v.HasField("histo"):
                    h = v.histo
                    value = (h.num, h.sum, h.min, h.max)
                else:
                    value = v.simple_value
                found.setdefault(v.tag, []).append((event.step, value))
    return found


class _BatchLogs(wg.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


def _fit_with(tmp_path, epochs=2, **kwargs):
    x = RNG.standard_normal((10, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = wg.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(wg.optimizers.SGD(0.05), "mse", metrics=["mae"])
    board = wg.callbacks.TensorBoard(str(tmp_path), **kwargs)
    batches = _BatchLogs()
    history = model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=[board, batches])
    return model, history, batches.logs, _events(str(tmp_path))


def test_tensorboard_update_freq_every_n_batches(tmp_path):
    pytest.importorskip("tensorboardX")
    _, history, batch_logs, events = _fit_with(tmp_path, update_freq=3)  # 10 batches in all
    # As Keras: batches are counted across epochs from 1; every 3rd one is written.
    assert [s for s, _ in events["batch/loss"]] == [s for s, _ in events["batch/mae"]] == [3, 6, 9]
    for name in ("loss", "mae"):
        assert [v for _, v in events[f"batch/{name}"]] == pytest.approx(
            [batch_logs[i][name] for i in (2, 5, 8)], rel=1e-6
        )
    assert [s for s, _ in events["epoch/loss"]] == [0, 1]
    assert [v for _, v in events["epoch/loss"]] == pytest.approx(history.history["loss"], rel=1e-6)


@pytest.mark.parametrize("freq, steps", [("batch", list(range(1, 11))), (1, list(range(1, 11)))])
def test_tensorboard_update_freq_every_batch(tmp_path, freq, steps):
    pytest.importorskip("tensorboardX")
    _, _, batch_logs, events = _fit_with(tmp_path, update_freq=freq)
    assert [s for s, _ in events["batch/loss"]] == steps
    assert [v for _, v in events["batch/loss"]] == pytest.approx(
        [logs["loss"] for logs in batch_logs], rel=1e-6
    )


def test_tensorboard_update_freq_epoch_writes_no_batches(tmp_path):
    pytest.importorskip("tensorboardX")
    _, history, _, events = _fit_with(tmp_path)
    assert not [tag for tag in events if tag.startswith("batch/")]
    assert [v for _, v in events["epoch/mae"]] == pytest.approx(history.history["mae"], rel=1e-6)


@pytest.mark.parametrize("bad", [0, -2, "epochs", 1.5, True])
def test_tensorboard_refuses_an_unknown_update_freq(bad):
    with pytest.raises(ValueError, match="update_freq"):
        wg.callbacks.TensorBoard("logs", update_freq=bad)


def test_tensorboard_histograms_every_histogram_freq_epochs(tmp_path):
    pytest.importorskip("tensorboardX")
    model, _, _, events = _fit_with(tmp_path, epochs=3, histogram_freq=2)
    kernel = model.layers[-1].kernel
    tag = f"{kernel.name}/histogram"
    assert [s for s, _ in events[tag]] == [0, 2]  # Keras's rule: epoch % histogram_freq == 0
    num, total, low, high = events[tag][-1][1]  # the last epoch's: the final weights
    w = kernel.numpy()
    assert (num, low, high) == (w.size, pytest.approx(w.min()), pytest.approx(w.max()))
    assert total == pytest.approx(w.sum(), rel=1e-5)


def test_tensorboard_steps_per_second(tmp_path):
    pytest.importorskip("tensorboardX")
    _, _, _, events = _fit_with(tmp_path, write_steps_per_second=True, update_freq=5)
    assert [s for s, _ in events["epoch/steps_per_second"]] == [0, 1]
    assert [s for s, _ in events["batch/steps_per_second"]] == [5, 10]
    assert all(v > 0 for _, v in events["epoch/steps_per_second"])


def test_tensorboard_accepts_keras_arguments_and_warns_on_what_it_ignores():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras's defaults, and what wengert acts on: silent
        board = wg.callbacks.TensorBoard(
            "logs",
            histogram_freq=1,
            write_graph=True,
            write_images=False,
            write_steps_per_second=True,
            update_freq="epoch",
            profile_batch=0,
            embeddings_freq=0,
            embeddings_metadata=None,
        )
        wg.callbacks.TensorBoard("logs", write_graph=False)
    assert board.histogram_freq == 1 and board.update_freq == "epoch"
    for arg, value in [
        ("write_images", True),
        ("profile_batch", 5),
        ("profile_batch", (10, 20)),
        ("embeddings_freq", 1),
        ("embeddings_metadata", {"embedding": "metadata.tsv"}),
    ]:
        with pytest.warns(UserWarning, match=rf"TensorBoard: {arg}=.*ignored") as caught:
            wg.callbacks.TensorBoard("logs", **{arg: value})
        assert len(caught) == 1


# -- 3. MAPE and MSLE as metrics -----------------------------------------------------------


def _mape(y, p):
    return 100.0 * np.mean(np.abs(y - p) / np.maximum(np.abs(y), 1e-7), axis=-1)


def _msle(y, p):
    return np.mean(
        (np.log(np.maximum(p, 1e-7) + 1.0) - np.log(np.maximum(y, 1e-7) + 1.0)) ** 2, axis=-1
    )


def test_mape_and_msle_metrics_match_keras_documented_values():
    # keras/src/metrics/regression_metrics.py's docstring examples.
    y, p = [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]
    for cls, plain, weighted in [
        (M.MeanAbsolutePercentageError, 250000000.0, 500000000.0),
        (M.MeanSquaredLogarithmicError, 0.12011322, 0.24022643),
    ]:
        m = cls()
        m.update_state(y, p)
        assert m.result() == pytest.approx(plain, rel=1e-6)
        m.reset_state()
        m.update_state(y, p, sample_weight=[1, 0])
        assert m.result() == pytest.approx(weighted, rel=1e-6)


def test_mape_and_msle_metrics_average_over_batches_as_numpy():
    y = RNG.uniform(0.5, 2.0, (12, 3))
    p = RNG.uniform(0.0, 2.5, (12, 3))
    w = RNG.uniform(0.0, 2.0, 12)
    for metric, fn in [
        (M.MeanAbsolutePercentageError(), _mape),
        (M.MeanSquaredLogarithmicError(), _msle),
    ]:
        metric.update_state(y[:5], p[:5], sample_weight=w[:5])
        metric.update_state(y[5:], p[5:], sample_weight=w[5:])
        assert metric.result() == pytest.approx(np.sum(fn(y, p) * w) / w.sum(), rel=1e-5)
        again = M.deserialize(M.serialize(metric))
        assert type(again) is type(metric) and again.get_config() == metric.get_config()


def test_mape_and_msle_by_keras_names():
    for name, cls in [
        ("mape", M.MeanAbsolutePercentageError),
        ("mean_absolute_percentage_error", M.MeanAbsolutePercentageError),
        ("MeanAbsolutePercentageError", M.MeanAbsolutePercentageError),
        ("msle", M.MeanSquaredLogarithmicError),
        ("mean_squared_logarithmic_error", M.MeanSquaredLogarithmicError),
        ("MeanSquaredLogarithmicError", M.MeanSquaredLogarithmicError),
    ]:
        metric = M.get(name)
        assert type(metric) is cls
        # As Keras's compile names a metric given by name: the name asked for.
        assert metric.name == (name if name[0].islower() else metric.name)
    assert M.MeanAbsolutePercentageError().name == "mean_absolute_percentage_error"
    assert M.MeanSquaredLogarithmicError().name == "mean_squared_logarithmic_error"


def test_compile_with_mape_and_msle_metrics():
    x = RNG.uniform(0.0, 1.0, (16, 3)).astype("float32")
    y = (x @ np.array([[1.0], [2.0], [0.5]], "float32") + 1.0).astype("float32")
    model = wg.Sequential([layers.Input((3,)), layers.Dense(1, activation="relu")])
    model.compile("adam", "mse", metrics=["mape", "msle"])
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert {"mape", "msle"} <= set(history.history)
    logs = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0).astype("float64")
    assert logs["mape"] == pytest.approx(np.mean(_mape(y, p)), rel=1e-5)
    assert logs["msle"] == pytest.approx(np.mean(_msle(y, p)), rel=1e-5)


# -- 4. a loss function of the user's own, saved by name -----------------------------------


def custom_mean_squared_error(y_true, y_pred):
    return wg.reduce_mean(wg.square(y_true - y_pred), axis=-1)


def custom_mean_error(y_true, y_pred):
    return wg.reduce_mean(y_pred - y_true, axis=-1)


def test_function_wrappers_save_a_function_by_name_and_find_it_among_custom_objects():
    loss = wg.losses.get(custom_mean_squared_error)
    config = wg.losses.serialize(loss)
    assert config["config"]["fn"] == "custom_mean_squared_error"
    with custom_object_scope({"custom_mean_squared_error": custom_mean_squared_error}):
        again = wg.losses.deserialize(config)
    assert again.fn is custom_mean_squared_error and again.get_config() == loss.get_config()
    y, p = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    assert float(again(y, p)) == pytest.approx(np.mean((y - p) ** 2), rel=1e-6)
    metric = M.get(custom_mean_error)
    with custom_object_scope({"custom_mean_error": custom_mean_error}):
        assert M.deserialize(M.serialize(metric)).fn is custom_mean_error
    # As Keras: a custom object comes before a built-in function of the same name.
    with custom_object_scope({"huber": custom_mean_squared_error}):
        found = wg.losses.LossFunctionWrapper.from_config(
            wg.losses.LossFunctionWrapper(wg.losses.huber).get_config()
        )
    assert found.fn is custom_mean_squared_error


def test_function_wrappers_without_the_custom_object_say_how_to_supply_it():
    config = wg.losses.serialize(wg.losses.get(custom_mean_squared_error))
    with pytest.raises(wg.losses.UnknownFunctionError, match=r"custom_objects=\{'custom_mean_s"):
        wg.losses.deserialize(config)
    assert issubclass(wg.losses.UnknownFunctionError, ValueError)
    with custom_object_scope({"custom_mean_squared_error": wg.losses.MeanSquaredError}):
        with pytest.raises(wg.losses.UnknownFunctionError):  # a class is no function
            wg.losses.deserialize(config)
    lam = wg.losses.serialize(wg.losses.get(lambda y, p: y - p))
    with pytest.raises(ValueError, match="no name to be found by"):
        wg.losses.deserialize(lam)


def _custom_model():
    x = RNG.standard_normal((32, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [2.0]], "float32")).astype("float32")
    model = wg.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
    model.compile("adam", loss=custom_mean_squared_error, metrics=[custom_mean_error, "mae"])
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model, x, y


def test_a_model_compiled_with_a_custom_loss_function_saves_and_loads(tmp_path):
    model, x, y = _custom_model()
    path = str(tmp_path / "custom.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the compile arguments are saved: no warning
        model.save(path)
    loaded = wg.models.load_model(
        path,
        custom_objects={
            "custom_mean_squared_error": custom_mean_squared_error,
            "custom_mean_error": custom_mean_error,
        },
    )
    assert loaded.optimizer is not None and loaded.optimizer.iterations == 8
    assert loaded.compiled_loss.fn is custom_mean_squared_error
    want = model.evaluate(x, y, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert got == pytest.approx(want, rel=1e-6) and set(got) == {"loss", "custom_mean_error", "mae"}
    assert want["loss"] == pytest.approx(np.mean((model.predict(x, verbose=0) - y) ** 2), rel=1e-5)


def test_loading_without_the_custom_function_still_loads_uncompiled_and_warns(tmp_path):
    model, x, _ = _custom_model()
    path = str(tmp_path / "custom.npz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(path)  # today: the compile arguments are left out, with a warning
        loaded = wg.models.load_model(path)  # or, once load_model resolves names: warns here
    assert loaded.optimizer is None
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert any("custom_objects={'custom_mean_squared_error'" in str(w.message) for w in caught)
