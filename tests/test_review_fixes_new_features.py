"""What a review of this session's additions found: state of lazily built metrics across
a resume, tracked metric attributes, matrix norms, a user's class named like a built-in,
custom constraints and losses through save/load, x-only evaluation, on_batch methods,
safe clip_by_norm, empty inputs, summary probes, batching checks, TimeDistributed masks."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers

RNG = np.random.default_rng(31)


class _PauseAt(wg.callbacks.Callback):
    def __init__(self, batch):
        self.batch = batch

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            self.model.pause_training()


def test_lazily_built_metrics_resume_mid_epoch_exactly(tmp_path):
    x = RNG.standard_normal((60, 4)).astype("float32")
    y = (RNG.random((60, 3)) > 0.5).astype("float32")

    def make():
        wg.random.set_seed(1)
        model = wg.Sequential([layers.Input((4,)), layers.Dense(3, activation="sigmoid")])
        model.compile(
            "adam",
            "binary_crossentropy",
            metrics=[
                wg.metrics.F1Score(average="macro", threshold=0.5),
                wg.metrics.AUC(multi_label=True),
            ],
        )
        return model

    whole = make().fit(x, y, batch_size=10, shuffle=False, verbose=0).history
    paused = make()
    paused.fit(x, y, batch_size=10, shuffle=False, verbose=0, callbacks=[_PauseAt(2)])
    path = str(tmp_path / "mid.npz")
    paused.save_checkpoint(path)
    resumed = make()
    resumed.load_checkpoint(path)
    assert resumed.fit(x, y, batch_size=10, shuffle=False, verbose=0).history == whole
    again = make()
    again.load_checkpoint(path)
    with pytest.raises(
        ValueError, match="60 samples in batches of 10.*got 60 samples in batches of 20"
    ):
        again.fit(x, y, batch_size=20, shuffle=False, verbose=0)


def test_metric_attributes_of_a_model_are_reset_each_epoch():
    class Tracked(wg.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.seen = wg.metrics.Mean(name="seen")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            self.seen.update_state(wg.constant(float(len(x._value))))
            return {"seen": self.seen.result(), "count": self.seen.count}

    model = Tracked()
    model.compile("sgd")
    x = RNG.standard_normal((8, 2)).astype("float32")
    history = model.fit(x, np.zeros((8, 1), "float32"), batch_size=4, epochs=3, verbose=0)
    assert history.history["count"] == [2.0, 2.0, 2.0]
    assert [m.name for m in model.metrics] == ["loss", "seen"]


def test_matrix_norms_over_a_pair_of_axes_as_tensorflow():
    m = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert float(wg.norm(m, ord=1, axis=[0, 1])) == 6.0  # largest column sum
    assert float(wg.norm(m, ord=np.inf, axis=[0, 1])) == 7.0  # largest row sum
    batch = RNG.standard_normal((3, 4, 5))
    np.testing.assert_allclose(
        wg.norm(batch, ord=1, axis=[-2, -1]).numpy(),
        [np.linalg.norm(b, 1) for b in batch],
        rtol=1e-12,
    )
    with pytest.raises(NotImplementedError, match="spectral norm"):
        wg.norm(m, ord=2, axis=[0, 1])


class Dense(layers.Dense):
    """A user's own Dense: same name as the built-in."""

    def call(self, x):
        return super().call(x) * 2.0


class Clip(wg.constraints.Constraint):
    def __init__(self, c=0.5):
        self.c = c

    def project(self, w):
        return np.clip(w, -self.c, self.c)

    def get_config(self):
        return {"c": self.c}


class HalfMSE(wg.losses.Loss):
    def call(self, y_true, y_pred):
        return 0.5 * wg.reduce_mean(wg.square(y_true - y_pred), axis=-1)


def test_save_and_load_keep_user_classes(tmp_path):
    model = wg.Sequential(
        [layers.Input((3,)), Dense(2), layers.Dense(2, kernel_constraint=Clip(0.1))]
    )
    model.compile("adam", HalfMSE())
    x = RNG.standard_normal((4, 3)).astype("float32")
    model.fit(x, np.zeros((4, 2), "float32"), verbose=0)
    path = str(tmp_path / "user.npz")
    model.save(path)
    for loaded in (
        wg.models.load_model(path),
        wg.models.load_model(path, custom_objects={"Clip": Clip, "HalfMSE": HalfMSE}),
    ):
        assert type(loaded.layers[0]) is Dense  # not wengert's Dense
        assert isinstance(loaded.layers[1].kernel.constraint, Clip)
        assert isinstance(loaded.compiled_loss, HalfMSE) and loaded.optimizer.iterations == 1
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_x_only_evaluation_and_the_on_batch_methods():
    class Reconstruct(wg.Sequential):
        def test_step(self, data):
            loss = wg.reduce_mean(wg.square(self(data) - data))
            self._loss_tracker.update_state(loss)
            return {"loss": self._loss_tracker.result()}

    wg.random.set_seed(3)
    model = Reconstruct([layers.Input((2,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    x = RNG.standard_normal((6, 2)).astype("float32")
    expected = float(((model.predict(x) - x) ** 2).mean())
    assert model.evaluate(x, batch_size=6, verbose=0) == pytest.approx(expected, rel=1e-5)
    plain = wg.Sequential([layers.Input((2,)), layers.Dense(1)])
    plain.compile("sgd", "mse", metrics=["mae"])
    y = np.zeros((6, 1), "float32")
    before = plain.predict_on_batch(x)
    loss, mae = plain.test_on_batch(x, y)
    assert loss == pytest.approx(float((before**2).mean()), rel=1e-5)
    logs = plain.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "mae"} and not np.allclose(plain.predict_on_batch(x), before)
    with pytest.raises(ValueError, match="evaluate: y is required"):
        plain.evaluate(x, verbose=0)


def test_safe_clip_by_norm_empty_cumsum_and_empty_predict():
    v = wg.Variable(np.zeros(3))
    with wg.GradientTape() as tape:
        out = wg.reduce_sum(wg.clip_by_norm(v, 1.0))
    np.testing.assert_array_equal(tape.gradient(out, v).numpy(), np.ones(3))
    assert wg.math.cumsum(wg.zeros((0, 3)), exclusive=True).shape == (0, 3)
    model = wg.Sequential([layers.Input((4,)), layers.Dense(2)])
    assert model.predict(np.zeros((0, 4), "float32")).shape == (0, 2)


def test_summary_probe_finds_strided_unknown_axes_and_keeps_losses():
    class Penalty(layers.Layer):
        def call(self, x):
            self.add_loss(wg.reduce_sum(x))
            return x

    model = wg.Sequential(
        [layers.Input((None, 2)), Penalty(), layers.Conv1D(2, 3, strides=3, padding="same")]
    )
    model(np.ones((4, 3, 2), "float32"))
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, None, 2)" in lines[0]
    assert [float(v) for v in model.losses] == [24.0]


def test_a_metric_with_several_values_is_refused_in_the_logs_with_a_reason():
    model = wg.Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(
        "sgd", "binary_crossentropy", metrics=[wg.metrics.Precision(thresholds=[0.3, 0.6])]
    )
    x = RNG.standard_normal((4, 2)).astype("float32")
    with pytest.raises(ValueError, match="'precision' holds 2 numbers"):
        model.fit(x, np.ones((4, 1), "float32"), verbose=0)


def test_time_distributed_batch_norm_leaves_each_steps_padding_out():
    x = RNG.standard_normal((4, 3, 2))
    mask = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], bool)
    inputs = wg.constant(x)
    from wengert.layers.base import set_mask

    set_mask(inputs, mask)
    td = layers.TimeDistributed(layers.BatchNormalization(momentum=0.0, dtype="float64"))
    td(inputs, training=True)
    # momentum 0: the moving mean is the last step's mean over its real samples
    np.testing.assert_allclose(td.layer.moving_mean.numpy(), x[mask[:, 2], 2].mean(0), rtol=1e-6)
