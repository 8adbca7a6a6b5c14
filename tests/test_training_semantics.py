"""fit/evaluate and the callbacks behave as Keras 3's do (keras/src/callbacks/*.py,
keras/src/trainers): the cases where a divergence would give a silently different run."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import wengert as wg
from wengert import callbacks, layers


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


def _model(metrics=("accuracy",), optimizer="sgd"):
    wg.random.set_seed(0)
    model = wg.Sequential([layers.Input((3,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    model.compile(
        optimizer=optimizer,
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=list(metrics),
    )
    return model


class _Model:
    """Just enough of a model for a callback fed logs by hand."""

    stop_training = False

    def __init__(self):
        self.weights = [np.zeros(1)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, ws):
        self.weights = ws


def _run_early_stopping(stopper, values):
    model = _Model()
    stopper.set_model(model)
    stopper.on_train_begin()
    for epoch, v in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        stopper.on_epoch_end(epoch, {"loss": v})
        if model.stop_training:
            break
    stopper.on_train_end()
    return epoch + 1, model


@pytest.mark.parametrize(
    "patience, values, epochs",
    [
        (3, [1, 2, 3, 4, 5, 6, 7], 4),  # Keras's docstring: "Only 4 epochs are run"
        (1, [1, 2, 3, 4], 2),
        (0, [1, 2, 3], 2),
        (2, [5, 4, 4.5, 4.6, 3, 3.5], 4),
        (2, [5, 4.5, 4.6, 4, 4.1, 4.2, 3], 6),
    ],
)
def test_early_stopping_stops_after_patience_epochs_without_improvement(patience, values, epochs):
    run, _ = _run_early_stopping(callbacks.EarlyStopping("loss", patience=patience), values)
    assert run == epochs


def test_early_stopping_baseline_keeps_the_best_epoch_and_its_weights():
    # Never better than the baseline: the best epoch is still tracked and restored, and
    # training goes on while the value improves on its own best (Keras 3).
    stopper = callbacks.EarlyStopping("loss", patience=1, baseline=0.5, restore_best_weights=True)
    run, model = _run_early_stopping(stopper, [1.0, 0.9, 0.8, 0.85, 0.9])
    assert run == 4 and stopper.best == 0.8 and stopper.best_epoch == 2
    assert model.weights[0][0] == 2.0  # the best epoch's weights restored


def test_a_missing_monitored_log_warns_instead_of_failing(tmp_path):
    x, y = _data()
    model = _model()
    stopper = callbacks.EarlyStopping()  # val_loss, but no validation data
    best = callbacks.ModelCheckpoint(str(tmp_path / "new" / "w-{epoch}.npz"), save_best_only=True)
    with pytest.warns(UserWarning, match="'val_loss' is not available"):
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[stopper, best])
    assert len(history.history["loss"]) == 2
    # saved anyway (as Keras), into a folder the callback created
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["w-1.npz", "w-2.npz"]


def test_auto_mode_refuses_to_guess_an_unknown_metric():
    assert callbacks.EarlyStopping("val_auc").mode == "max"
    assert callbacks.EarlyStopping("val_mean_squared_error").mode == "min"
    with pytest.raises(ValueError, match=r"EarlyStopping: cannot tell whether 'val_zork'"):
        callbacks.EarlyStopping("val_zork")


def test_stop_training_mid_epoch_still_ends_the_epoch_as_keras():
    x, y = _data()
    seen = []

    class StopAtBatch1(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))

    model = _model()
    history = model.fit(
        x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25, callbacks=[StopAtBatch1()]
    )
    assert seen == [(0, ["accuracy", "loss", "val_accuracy", "val_loss"])]
    assert len(history.history["loss"]) == 1


def test_on_batch_hooks_run_after_every_training_batch():
    x, y = _data(64)
    calls = []

    class Old(callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch))

    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Old()])
    assert calls == [(k, b) for b in range(4) for k in ("begin", "end")]


def test_evaluate_and_validation_use_sample_weights():
    x, y = _data()
    w = np.zeros(len(x), np.float32)
    w[:10] = 1.0
    model = _model()
    model.compile(
        optimizer="sgd",
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],  # as Keras: only these see the weights
    )
    assert [m.name for m in model.compiled_metrics] == ["accuracy", "weighted_accuracy"]
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    per_sample = loss_fn(y, model.predict(x)).numpy()
    acc = (model.predict(x).argmax(1) == y).astype(float)
    # Keras: each batch's loss is sum(w * l) / batch size, batches weighted by their size
    expected_loss = float((per_sample * w).sum() / len(x))
    expected_acc = float((acc * w).sum() / w.sum())
    loss, accuracy, weighted = model.evaluate(x, y, batch_size=32, verbose=0, sample_weight=w)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == pytest.approx(acc.mean(), rel=1e-6)
    assert weighted == pytest.approx(expected_acc, rel=1e-6)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y, w), shuffle=False)
    after = model.evaluate(x, y, verbose=0, sample_weight=w)
    assert history.history["val_loss"][0] == pytest.approx(after[0], rel=1e-6)


def test_evaluate_uses_the_compiled_metrics_even_custom_ones():
    x, y = _data()

    def top_logit(y_true, y_pred):
        return wg.reduce_max(y_pred, axis=-1)

    model = _model(metrics=["acc", top_logit])
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert {"acc", "val_acc", "top_logit", "val_top_logit"} <= set(history.history)
    values = model.evaluate(x, y, verbose=0)
    assert len(values) == 3
    assert values[2] == pytest.approx(float(model.predict(x).max(1).mean()), rel=1e-5)


def test_terminate_on_nan_replaces_the_error_and_the_epoch_is_logged():
    x, y = _data(64)
    x[20] = np.nan
    model = _model()
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[callbacks.TerminateOnNaN()],
    )
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])


def test_learning_rate_schedule_of_the_epoch_alone():
    x, y = _data(32)
    model = _model(optimizer=wg.optimizers.SGD(1.0))
    sched = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[sched])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05])


def test_a_reused_csv_logger_writes_each_runs_columns(tmp_path):
    x, y = _data(32)
    path = tmp_path / "log.csv"
    logger = callbacks.CSVLogger(str(path))
    model = _model()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[logger], validation_data=(x, y))
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert "val_loss" in header


def test_fit_with_a_new_seed_reshuffles_from_it():
    x, y = _data()
    a, b = _model(), _model()
    a.fit(x, y, epochs=1, verbose=0, seed=1)
    b.fit(x, y, epochs=1, verbose=0, seed=1)
    a.fit(x, y, epochs=1, verbose=0, seed=5)
    b.fit(x, y, epochs=1, verbose=0, seed=6)  # a later call's seed is not ignored
    assert any(not np.array_equal(wa, wb) for wa, wb in zip(a.get_weights(), b.get_weights()))


class _Optimizer:
    def __init__(self, lr):
        self._learning_rate = lr

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value


def test_reduce_lr_on_plateau_follows_keras_counting_and_cooldown():
    model = _Model()
    model.optimizer = _Optimizer(1.0)
    cb = callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for epoch, loss in enumerate([5, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3]):
        logs = {"loss": loss}
        cb.on_epoch_end(epoch, logs)
        lrs.append(model.optimizer.learning_rate)
        assert logs["learning_rate"] == (lrs[-2] if len(lrs) > 1 else 1.0)
    # A reduction after 2 epochs without improvement; the cooldown epoch's counter runs
    # out before the count resumes in that same epoch (Keras's order); never below
    # min_lr, and nothing once there; an improvement resets the count.
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2]


def test_reduce_lr_on_plateau_in_fit_and_its_refusal_of_schedules():
    x, y = _data(32)
    model = _model(optimizer=wg.optimizers.SGD(0.1))
    cb = callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=1e9)
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    # no epoch improves by 1e9: halved after each epoch but the first (logged before)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05])
    assert model.optimizer.learning_rate == pytest.approx(0.025)
    sched = wg.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model = _model(optimizer=wg.optimizers.SGD(sched))
    with pytest.raises(TypeError, match="ReduceLROnPlateau: the optimizer's learning rate is a"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])


def test_fit_sample_and_class_weights_weight_the_loss():
    x, y = _data()
    w = np.random.default_rng(1).uniform(0.0, 2.0, len(x)).astype(np.float32)
    # one step on the whole batch: the loss is the weighted one Keras computes
    model = _model(optimizer=wg.optimizers.SGD(0.0))
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    per_sample = loss_fn(y, model.predict(x)).numpy()
    h = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, sample_weight=w)
    assert h.history["loss"][0] == pytest.approx(float((per_sample * w).mean()), rel=1e-5)
    cw = {0: 2.0, 1: 0.5}  # class 2 left out: weight 1, as Keras
    h = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, class_weight=cw, sample_weight=w)
    by_class = np.array([2.0, 0.5, 1.0])[y]
    expected = float((per_sample * w * by_class).mean())
    assert h.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    onehot = np.eye(3, dtype=np.float32)[y]
    cat = _model(optimizer=wg.optimizers.SGD(0.0))
    cat.compile(optimizer=wg.optimizers.SGD(0.0), loss=wg.losses.CategoricalCrossentropy(True))
    h2 = cat.fit(x, onehot, batch_size=len(x), epochs=1, verbose=0, class_weight=cw)
    assert h2.history["loss"][0] == pytest.approx(float((per_sample * by_class).mean()), rel=1e-5)
    with pytest.raises(ValueError, match="fit: y has 96 samples but sample_weight has 3"):
        model.fit(x, y, epochs=1, verbose=0, sample_weight=w[:3])


def test_freezing_a_model_freezes_its_layers_and_batch_norm_runs_in_inference():
    wg.random.set_seed(0)
    model = wg.Sequential([layers.Input((3,)), layers.Dense(4), layers.BatchNormalization()])
    model.trainable = False
    bn = model.layers[1]
    assert not bn.trainable and not model.layers[0].trainable
    assert model.trainable_weights == []
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) + 5.0
    before = bn.moving_mean.numpy().copy()
    y = model(x, training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)  # not updated
    np.testing.assert_allclose(y.numpy(), model(x, training=False).numpy())
    model.trainable = True
    assert bn.trainable and len(model.trainable_weights) == 4


def test_weights_are_listed_layer_by_layer_whatever_is_frozen():
    wg.random.set_seed(0)
    model = wg.Sequential(
        [
            layers.Input((3,)),
            layers.Dense(4, name="a"),
            layers.BatchNormalization(name="bn"),
            layers.Dense(2, name="b"),
        ]
    )
    names = [v.name for v in model.weights]
    assert names == [
        "a/kernel",
        "a/bias",
        "bn/gamma",
        "bn/beta",
        "bn/moving_mean",
        "bn/moving_variance",
        "b/kernel",
        "b/bias",
    ]
    values = model.get_weights()
    model.layers[0].trainable = False
    assert [v.name for v in model.weights] == names
    model.set_weights(values)
    for a, b in zip(model.get_weights(), values):
        np.testing.assert_array_equal(a, b)

    class Outer(layers.Layer):  # a sublayer assigned first still comes after own weights
        def build(self, input_shape):
            self.inner = layers.Dense(2, name="inner")
            self.scale = self.add_weight((3,), "ones", name="scale")

        def call(self, x):
            return self.inner(x * self.scale)

    outer = Outer(name="outer")
    outer(np.ones((1, 3), np.float32))
    assert [v.name for v in outer.weights] == ["outer/scale", "inner/kernel", "inner/bias"]


def test_integer_inputs_reach_float_layers_cast_as_keras_promotes_them():
    wg.random.set_seed(0)
    images = np.random.default_rng(0).integers(0, 256, (6, 4, 4, 1)).astype(np.uint8)
    model = wg.Sequential(
        [layers.Input((4, 4, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)]
    )
    out = model(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), model(images.astype(np.float32)).numpy(), rtol=1e-6)
    dense = layers.Dense(2)
    assert dense(np.array([[1, 2, 3]])).dtype == np.float32
    emb = layers.Embedding(10, 2)
    assert emb(np.array([[1, 2]])).shape == (1, 2, 2)  # indices stay indices


def test_normalization_config_round_trip_invert_and_half_set_statistics():
    norm = layers.Normalization(mean=3.0, variance=4.0)
    again = layers.Normalization.from_config(norm.get_config())
    x = np.array([[5.0], [1.0]], np.float32)
    np.testing.assert_allclose(again(x).numpy(), [[1.0], [-1.0]])
    back = layers.Normalization(mean=3.0, variance=4.0, invert=True)
    np.testing.assert_allclose(back(again(x)).numpy(), x)
    with pytest.raises(ValueError, match="set both mean and variance, or neither"):
        layers.Normalization(variance=4.0)


def test_padding_masks_pass_through_dense_and_reach_pooling_and_the_rnn():
    wg.random.set_seed(0)
    emb = layers.Embedding(10, 4, mask_zero=True)
    dense = layers.Dense(3)
    pool = layers.GlobalAveragePooling1D()
    padded = np.array([[3, 4, 0, 0]])
    vectors = dense(emb(padded))
    np.testing.assert_array_equal(layers.embedding.get_mask(vectors), [[True, True, False, False]])
    np.testing.assert_allclose(pool(vectors).numpy(), vectors.numpy()[:, :2].mean(1), rtol=1e-6)
    model = wg.Sequential([emb, dense, layers.LSTM(2)])
    np.testing.assert_allclose(model(padded).numpy(), model(np.array([[3, 4]])).numpy(), rtol=1e-6)


def test_losses_and_metrics_leave_padded_steps_out():
    wg.random.set_seed(0)
    model = wg.Sequential(
        [
            layers.Embedding(10, 4, mask_zero=True),
            layers.LSTM(3, return_sequences=True),
            layers.TimeDistributed(layers.Dense(1)),
        ]
    )
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.array([[3, 4, 0, 0], [5, 6, 7, 0]])
    y = np.zeros((2, 4, 1), np.float32)
    y_far = y.copy()
    y_far[0, 2:] = 5000.0  # differs only at padded steps
    y_far[1, 3] = -5000.0
    assert model.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y_far, verbose=0))
    pred = model.predict(x)[..., 0]
    real = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    loss, mae = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(float((pred[real] ** 2).mean()), rel=1e-4)  # over real steps
    assert mae == pytest.approx(float(np.abs(pred[real]).mean()), rel=1e-5)


def test_validation_frequency_batch_size_and_keras_shorthand_arguments():
    x, y = _data()
    model = _model()
    h = model.fit(
        x,
        y,
        epochs=4,
        verbose=0,
        validation_data=(x, y),
        validation_freq=2,
        validation_batch_size=7,
    )
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    h = model.fit(x, y, epochs=3, verbose=0, validation_data=(x, y), validation_freq=[1, 3])
    assert len(h.history["val_loss"]) == 2
    dense = layers.Dense(2, input_dim=3)
    assert wg.Sequential([dense]).built
    with pytest.warns(DeprecationWarning, match="input_length is deprecated"):
        layers.Embedding(10, 2, input_length=5)


def test_batch_norm_statistics_leave_padded_steps_out_as_keras():
    from wengert.layers.base import set_mask

    rng = np.random.default_rng(3)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    values = rng.standard_normal((2, 4, 3)).astype(np.float32)
    outs = []
    for padding in (0.0, 1000.0):  # whatever the padded steps hold
        x = values.copy()
        x[~mask] = padding
        t = wg.constant(x)
        set_mask(t, mask)
        bn = layers.BatchNormalization(momentum=0.0, epsilon=1e-3)
        y = bn(t, training=True)
        outs.append((y.numpy()[mask], bn.moving_mean.numpy(), bn.moving_variance.numpy()))
    real = values[mask]  # (5, 3): the real steps
    np.testing.assert_allclose(outs[0][1], real.mean(0), rtol=1e-5)
    np.testing.assert_allclose(outs[0][2], real.var(0), rtol=1e-4)
    np.testing.assert_allclose(
        outs[0][0], (real - real.mean(0)) / np.sqrt(real.var(0) + 1e-3), rtol=1e-4, atol=1e-5
    )
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
