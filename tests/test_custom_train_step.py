"""Keras's protocol for customising fit: train_step(data) / test_step(data) / predict_step
return logs, ``model.metrics`` is what fit resets each epoch, compute_loss adds the layers'
penalties; the numbers are checked against the same training written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    return x, y


class KerasGuideModel(wg.Model):
    """The model of Keras's "customizing what happens in fit" guide, with its own trackers."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.loss_tracker = wg.metrics.Mean(name="loss")
        self.mae_metric = wg.metrics.MeanMetricWrapper(wg.losses.mean_absolute_error, name="mae")

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        x, y = data
        with wg.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = wg.reduce_mean(wg.square(y - y_pred))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_a_keras_style_train_step_drives_fit_and_its_trackers_reset_each_epoch():
    x, y = _data()
    wg.random.set_seed(0)
    model = KerasGuideModel()
    model(x[:1])
    w0, b0 = (w.astype(np.float64) for w in model.get_weights())
    model.compile(optimizer=wg.optimizers.SGD(0.05))  # no loss: train_step computes its own
    history = model.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0)
    # the same training by hand, in float64
    w, b = w0.copy(), b0.copy()
    for epoch in range(3):
        losses, maes = [], []
        for s in range(0, 40, 10):
            xb, yb = x[s : s + 10].astype(np.float64), y[s : s + 10].astype(np.float64)
            err = xb @ w + b - yb
            losses.append((err**2).mean())
            maes.append(np.abs(err).mean(axis=1))
            w -= 0.05 * (2 * xb.T @ err / len(xb))
            b -= 0.05 * (2 * err.mean(axis=0))
        assert history.history["loss"][epoch] == pytest.approx(np.mean(losses), rel=1e-5)
        assert history.history["mae"][epoch] == pytest.approx(np.concatenate(maes).mean(), rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5)


def test_overriding_train_step_around_the_default_one():
    class Logged(wg.Sequential):
        calls = 0

        def train_step(self, data):
            Logged.calls += 1
            logs = super().train_step(data)
            return {**logs, "twice_loss": 2 * logs["loss"]}

    x, y = _data()
    wg.random.set_seed(1)
    model = Logged([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert Logged.calls == 10
    assert set(history.history) == {"loss", "mae", "twice_loss"}
    assert history.history["twice_loss"] == pytest.approx([2 * v for v in history.history["loss"]])


def test_evaluate_runs_test_step_and_predict_runs_predict_step():
    class Shifted(wg.Sequential):
        def test_step(self, data):
            x, y = data
            return super().test_step((x, y + 1.0))

        def predict_step(self, data):
            return super().predict_step(data) * 10.0

    x, y = _data()
    wg.random.set_seed(2)
    model = Shifted([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    pred = model.predict(x)
    plain = np.concatenate([model(x[s : s + 32]).numpy() for s in range(0, 40, 32)])
    np.testing.assert_allclose(pred, 10 * plain, rtol=1e-6)
    expected = float(((plain - (y + 1.0)) ** 2).mean())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_compute_loss_adds_the_layers_penalties_and_evaluate_reports_them():
    x, y = _data()
    wg.random.set_seed(3)
    model = wg.Sequential([layers.Input((3,)), layers.Dense(1, kernel_regularizer="l2")])
    model.compile("sgd", "mse")
    pred = model.predict(x)
    penalty = 0.01 * float((model.get_weights()[0] ** 2).sum())
    loss = model.compute_loss(y=wg.constant(y), y_pred=wg.constant(pred))
    assert float(loss) == pytest.approx(float(((pred - y) ** 2).mean()) + penalty, rel=1e-5)
    assert model.evaluate(x, y, batch_size=40, verbose=0) == pytest.approx(float(loss), rel=1e-5)


def test_a_step_must_return_a_dict_of_logs():
    class Bad(wg.Sequential):
        def train_step(self, data):
            return 1.0

    model = Bad([layers.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="must return a dict of logs"):
        model.fit(*_data(), verbose=0)


def test_a_mid_epoch_checkpoint_of_the_older_layout_still_resumes(tmp_path):
    x, y = _data()

    def build():
        wg.random.set_seed(4)
        model = wg.Sequential([layers.Input((3,)), layers.Dense(1)])
        model.compile("adam", "mse", metrics=["mae"])
        return model

    straight = build()
    straight.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=0)

    class Pause(wg.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.pause_training()

    paused = build()
    paused.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=0, callbacks=[Pause()])
    path = str(tmp_path / "old.npz")
    paused.save_checkpoint(path)
    arrays, meta = wg.checkpoints.load(path)
    loss_state, *metric_states = meta["epoch_totals"]["metrics"]
    meta["epoch_totals"] = {  # as a checkpoint written before the loss had its own Mean
        "loss_sum": loss_state["total"],
        "seen": int(loss_state["count"]),
        "metrics": metric_states,
    }
    wg.checkpoints.save(path, arrays, meta)
    resumed = build()
    resumed.load_checkpoint(path)
    resumed.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert resumed.history.history["loss"] == pytest.approx(straight.history.history["loss"])
    assert resumed.history.history["mae"] == pytest.approx(straight.history.history["mae"])
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_without_y_hands_each_batch_of_x_to_a_custom_train_step():
    class Autoencoder(wg.Model):
        """The Keras VAE/GAN guides' shape: fit(x) and a train_step that takes x alone."""

        def __init__(self):
            super().__init__()
            self.code = layers.Dense(2)
            self.back = layers.Dense(3)
            self.tracker = wg.metrics.Mean(name="reconstruction")

        def call(self, x):
            return self.back(self.code(x))

        def train_step(self, data):
            with wg.GradientTape() as tape:
                loss = wg.reduce_mean(wg.square(self(data, training=True) - data))
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.tracker.update_state(loss)
            return {"reconstruction": self.tracker.result()}

        @property
        def metrics(self):
            return [self.tracker]

    x, _ = _data()
    wg.random.set_seed(6)
    model = Autoencoder()
    model.compile(optimizer=wg.optimizers.Adam(0.05))
    history = model.fit(x, batch_size=8, epochs=5, verbose=0)
    losses = history.history["reconstruction"]
    assert len(losses) == 5 and losses[-1] < losses[0]
    plain = wg.Sequential([layers.Input((3,)), layers.Dense(1)])
    plain.compile("sgd", "mse")
    with pytest.raises(ValueError, match="fit: y is required"):
        plain.fit(x, verbose=0)


def test_fit_and_evaluate_take_sources_of_batches_as_keras_takes_datasets():
    x, y = _data()

    def build():
        wg.random.set_seed(7)
        model = wg.Sequential([layers.Input((3,)), layers.Dense(1)])
        model.compile("sgd", "mse", metrics=["mae"])
        return model

    arrays = build()
    arrays.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    batched = build()
    source = wg.datasets.Batches(x, y, batch_size=8, shuffle=False)
    history = batched.fit(source, epochs=3, verbose=0, validation_data=source)
    for a, b in zip(arrays.get_weights(), batched.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert batched.evaluate(source, verbose=0)[0] == pytest.approx(
        arrays.evaluate(x, y, batch_size=8, verbose=0)[0], rel=1e-5
    )

    def endless():
        while True:
            for s in range(0, len(x), 10):
                yield x[s : s + 10], y[s : s + 10]

    gen = build()
    history = gen.fit(endless(), epochs=3, steps_per_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 3

    def short():
        yield x[:10], y[:10]

    once = build()
    with pytest.warns(UserWarning, match="ran out after 1 of 4 batches"):
        history = once.fit(short(), epochs=5, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="carries its own targets"):
        once.fit(source, y, verbose=0)
