"""Training: compile/fit/evaluate/predict, callbacks, checkpoints and exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import wengert as wg
from wengert import callbacks, layers
from wengert.models import NonFiniteLossError

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -1.0], [-3.0, -1.0]])
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.standard_normal((n, 2)) * 0.6).astype(np.float32)
    return x, y


def _model(seed=0):
    wg.random.set_seed(seed)
    return wg.Sequential([layers.Input((2,)), layers.Dense(16, activation="relu"), layers.Dense(3)])


def _compiled(seed=0, optimizer="adam"):
    model = _model(seed)
    model.compile(
        optimizer=optimizer,
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def test_fit_learns_and_reports_history():
    x, y = _blobs()
    model = _compiled()
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0, validation_split=0.2, seed=0)
    assert set(history.history) >= {"loss", "val_loss"}
    acc_key = next(k for k in history.history if "accuracy" in k and not k.startswith("val"))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history[acc_key][-1] > 0.95
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.95 and loss < 0.5
    assert model.predict(x[:7]).shape == (7, 3)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert as_dict["loss"] == pytest.approx(loss)


def test_each_fit_call_trains_its_epochs_as_in_keras():
    """fit(epochs=1) twice trains two epochs (each call starts at epoch 0 with a fresh
    History, as Keras): the same weights as one fit(epochs=2), since the shuffling and
    optimizer state carry on.  initial_epoch=k trains epochs k .. epochs - 1."""
    x, y = _blobs()
    twice = _compiled()
    first = twice.fit(x, y, batch_size=32, epochs=1, verbose=0, seed=3)
    second = twice.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert second is not first and len(second.history["loss"]) == 1
    once = _compiled()
    once.fit(x, y, batch_size=32, epochs=2, verbose=0, seed=3)
    for a, b in zip(twice.get_weights(), once.get_weights()):
        np.testing.assert_array_equal(a, b)
    later = _compiled().fit(x, y, batch_size=32, epochs=3, initial_epoch=1, verbose=0)
    assert len(later.history["loss"]) == 2


def test_fit_requires_compile_and_matching_lengths():
    model = _model()
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros(4), verbose=0)
    model = _compiled()
    with pytest.raises(ValueError, match="4 samples but y has 3"):
        model.fit(np.zeros((4, 2)), np.zeros(3), verbose=0)


def test_compile_with_unknown_names_lists_valid_ones():
    model = _model()
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamax_unknown", loss="mse")
    with pytest.raises(ValueError, match="mean_squared_error|mse"):
        model.compile(optimizer="sgd", loss="no_such_loss")


def test_custom_training_loop_equals_fit_step():
    x, y = _blobs(64)
    a = _compiled(seed=5, optimizer=wg.optimizers.SGD(0.1))
    b = _compiled(seed=5, optimizer=wg.optimizers.SGD(0.1))
    a.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
    with wg.GradientTape() as tape:
        loss = loss_fn(y, b(x, training=True))
    grads = tape.gradient(loss, b.trainable_weights)
    b.optimizer.apply_gradients(zip(grads, b.trainable_weights))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_nan_loss_stops_with_epoch_and_batch():
    x, y = _blobs(64)
    x[40] = np.nan
    model = _compiled()
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, batch 2"):
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    model = _compiled()
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, raise_on_nan=False)


def test_early_stopping_and_restore_best():
    x, y = _blobs()
    model = _compiled()
    stopper = callbacks.EarlyStopping(
        monitor="loss", patience=0, min_delta=10.0, restore_best_weights=True
    )
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stopper], seed=0)
    assert len(history.history["loss"]) == 2  # no epoch improves by 10: stop after patience


def test_model_checkpoint_csv_logger_and_lr_scheduler(tmp_path):
    x, y = _blobs()
    model = _compiled(optimizer=wg.optimizers.SGD(0.1))
    ckpt = tmp_path / "w-{epoch:02d}.npz"
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        validation_split=0.2,
        seed=0,
        callbacks=[
            callbacks.ModelCheckpoint(str(ckpt)),
            callbacks.CSVLogger(str(csv_path)),
            callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5**epoch),
        ],
    )
    assert sorted(os.listdir(tmp_path)) == ["log.csv", "w-01.npz", "w-02.npz", "w-03.npz"]
    rows = csv_path.read_text().strip().splitlines()
    assert rows[0].split(",")[0] == "epoch" and len(rows) == 4
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    clone = _model(seed=9)
    clone.load_weights(str(tmp_path / "w-03.npz"))
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = _blobs(64)
    model = _compiled()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.TensorBoard(str(tmp_path))])
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path))


def test_save_and_load_weights_round_trip_and_mismatch(tmp_path):
    model = _model(seed=1)
    path = str(tmp_path / "m.npz")
    model.save_weights(path)
    other = _model(seed=2)
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    wider = wg.Sequential(
        [layers.Input((2,)), layers.Dense(17, activation="relu"), layers.Dense(3), layers.Dense(1)]
    )
    with pytest.raises(wg.CheckpointError, match=r"layers\.0\.kernel|layers\.2"):
        wider.load_weights(path)


def test_verbose_output_lines(capsys):
    x, y = _blobs(64)
    model = _compiled()
    model.fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out


class _PauseAfter(callbacks.Callback):
    """Interrupts fit as a signal would: pause_training leaves the epoch unfinished."""

    def __init__(self, batches):
        self.batches = batches
        self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        if self.count == self.batches:
            self.model.pause_training()


RESUME_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, wengert as wg
    from wengert import layers
    wg.random.set_seed(11)
    model = wg.Sequential([layers.Input((2,)), layers.Dense(16, activation="relu"),
                           layers.Dropout(0.3), layers.Dense(3)])
    model.compile(optimizer="adam",
                  loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2)).astype(np.float32)
    y = rng.integers(0, 3, 100)
    wg.random.set_seed(12345)  # a different global state: everything must come from the file
    model.load_checkpoint(sys.argv[1])
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    model.save_weights(sys.argv[2])
""")


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path):
    def build():
        wg.random.set_seed(11)
        model = wg.Sequential(
            [
                layers.Input((2,)),
                layers.Dense(16, activation="relu"),
                layers.Dropout(0.3),
                layers.Dense(3),
            ]
        )
        model.compile(
            optimizer="adam", loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        return model

    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 2)).astype(np.float32)
    y = rng.integers(0, 3, 100)
    straight = build()
    straight.fit(x, y, batch_size=16, epochs=3, verbose=0)  # 3 epochs x 7 batches = 21 steps
    interrupted = build()
    interrupted.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[_PauseAfter(10)])
    assert interrupted._position == (1, 3)  # stopped mid-epoch
    ckpt = str(tmp_path / "state.npz")
    interrupted.save_checkpoint(ckpt)
    out = str(tmp_path / "resumed.npz")
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run(
        [sys.executable, str(script), ckpt, out],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    resumed = build()
    resumed.load_weights(out)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_metadata_is_json(tmp_path):
    model = _compiled()
    x, y = _blobs(32)
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "s.npz")
    model.save_checkpoint(path)
    _, meta = wg.checkpoints.load(path)
    assert meta["kind"] == "training_state" and meta["position"] == [1, 0]
    json.dumps(meta)


class _Terminal:
    """A stream that says it is a terminal, to see the progress bar."""

    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    x, y = _blobs(64)
    model = _compiled()
    terminal = _Terminal()
    bar = callbacks.ProgressLogger(verbose=1, stream=terminal)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[bar])
    assert "Epoch 1/2" in terminal.text and "Epoch 2/2" in terminal.text
    assert "4/4" in terminal.text  # four batches per epoch


def test_fit_builds_an_unbuilt_subclassed_model():
    class Net(wg.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(3)

        def call(self, x):
            return self.out(self.hidden(x))

    x, y = _blobs(64)
    model = Net()
    model.compile(optimizer="adam", loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and len(model.trainable_weights) == 4
