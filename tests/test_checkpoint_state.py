"""Training-state checkpoints: what load_checkpoint refuses (changing nothing), what it
resets, and what save_checkpoint captures (the epoch a callback saves at, op-level random
streams); checkpoint files behind symbolic links, read-only files and long names."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import wengert as wg
from wengert import callbacks, checkpoints, layers
from wengert.checkpoints import CheckpointError


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 2, n)


def _model(seed=0, optimizer="adam"):
    wg.random.set_seed(seed)
    model = wg.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.compile(
        optimizer=optimizer,
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _state(model):
    return [w.copy() for w in model.get_weights()], model.optimizer.get_state()


def _assert_state(model, state):
    weights, opt = state
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    now = model.optimizer.get_state()
    assert set(now) == set(opt)
    for k in opt:
        np.testing.assert_array_equal(now[k], opt[k])


@pytest.fixture
def saved(tmp_path):
    """(path, arrays, metadata) of a checkpoint taken mid-training."""
    model = _model()
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=0)
    path = str(tmp_path / "state.npz")
    model.save_checkpoint(path)
    arrays, meta = checkpoints.load(path)
    return path, arrays, meta


def _tamper(path, arrays, meta, **changes):
    meta = dict(meta)
    for k, v in changes.items():
        if v is _DROP:
            meta.pop(k)
        else:
            meta[k] = v
    checkpoints.save(path, arrays, meta)


_DROP = object()
BAD_METADATA = {
    "no position": {"position": _DROP},
    "position of strings": {"position": ["a", 1]},
    "negative position": {"position": [-1, 0]},
    "generator state not a dict": {"generators": {"wengert.random": "garbage"}},
    "generators not a dict": {"generators": [1, 2]},
    "epoch totals without seen": {"epoch_totals": {"loss_sum": 1.0, "metrics": []}},
    "history of numbers": {"history": {"loss": 3}},
    "op streams garbage": {"op_streams": {"streams": [["x"]]}},
    "epoch start state garbage": {"epoch_start_state": {"bit_generator": "nope"}},
}


@pytest.mark.parametrize("changes", BAD_METADATA.values(), ids=list(BAD_METADATA))
def test_malformed_metadata_raises_checkpoint_error_and_changes_nothing(saved, changes):
    path, arrays, meta = saved
    _tamper(path, arrays, meta, **changes)
    model = _model(seed=5)
    model.fit(*_data(16), epochs=1, verbose=0)
    before = _state(model)
    with pytest.raises(CheckpointError, match="state.npz"):
        model.load_checkpoint(path)
    _assert_state(model, before)


def test_wrong_optimizer_state_leaves_weights_and_slots_as_they_were(saved):
    path, arrays, meta = saved
    broken = dict(arrays)
    broken["optimizer/m/0"] = np.zeros((5, 5), np.float32)
    checkpoints.save(path, broken, meta)
    model = _model(seed=5)
    model.fit(*_data(16), epochs=1, verbose=0)
    before = _state(model)
    with pytest.raises(CheckpointError, match=r"m/0 has shape \(5, 5\)"):
        model.load_checkpoint(path)
    _assert_state(model, before)


def test_stray_tensors_and_a_missing_optimizer_state_are_refused(saved):
    path, arrays, meta = saved
    checkpoints.save(path, {**arrays, "stray/tensor": np.zeros(2)}, meta)
    with pytest.raises(CheckpointError, match=r"unexpected tensors \['stray/tensor'\]"):
        _model().load_checkpoint(path)
    weights_only = {k: a for k, a in arrays.items() if k.startswith("model/")}
    checkpoints.save(path, weights_only, meta)
    with pytest.raises(CheckpointError, match="no optimizer state.*epoch 3, batch 0"):
        _model().load_checkpoint(path)


def test_loading_resets_what_the_checkpoint_does_not_hold(tmp_path):
    x, y = _data()
    model = _model()
    path = str(tmp_path / "start.npz")
    model.save_checkpoint(path)  # before any fit: no history, no shuffling stream
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    model.load_checkpoint(path)
    assert model.history is None and model._shuffle is None
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=3)
    fresh = _model()
    fresh.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=3)
    assert model.history.history["loss"] == fresh.history.history["loss"]
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_saved_at_an_epochs_end_holds_that_epoch(tmp_path):
    x, y = _data()
    path = str(tmp_path / "every_epoch.npz")
    saver = callbacks.ModelCheckpoint(path, save_training_state=True)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=1, callbacks=[saver])
    _, meta = checkpoints.load(path)
    assert meta["history"]["loss"] == model.history.history["loss"]
    assert meta["history_epochs"] == [0, 1]
    resumed = _model()
    resumed.load_checkpoint(path)
    assert resumed.history.history == model.history.history
    assert resumed.history.epoch == [0, 1]


class _SeededNoise(layers.Layer):
    """Adds noise from an op-level seeded stream while training."""

    def call(self, inputs, training=None):
        if training:
            return inputs + wg.random.normal(tuple(inputs.shape), stddev=0.1, seed=42)
        return inputs


def test_op_level_random_streams_resume_exactly(tmp_path):
    x, y = _data()

    def build():
        wg.random.set_seed(7)
        model = wg.Sequential([layers.Input((3,)), _SeededNoise(), layers.Dense(2)])
        model.compile(optimizer="sgd", loss=wg.losses.SparseCategoricalCrossentropy(True))
        return model

    straight = build()
    straight.fit(x, y, batch_size=16, epochs=4, verbose=0, seed=0)
    first = build()
    first.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=0)
    path = str(tmp_path / "half.npz")
    first.save_checkpoint(path)
    resumed = build()
    wg.random.normal((3,), seed=42)  # the stream moves on before the load
    wg.random.set_seed(99)
    resumed.load_checkpoint(path)
    resumed.fit(x, y, batch_size=16, epochs=4, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_numpy_scalars_in_the_logs_are_saved_as_numbers(tmp_path):
    class Float32Log(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["custom"] = np.float32(0.5)

    model = _model()
    model.fit(*_data(), epochs=1, verbose=0, callbacks=[Float32Log()])
    path = str(tmp_path / "s.npz")
    model.save_checkpoint(path)
    assert checkpoints.load(path)[1]["history"]["custom"] == [0.5]


def test_saving_through_a_symbolic_link_replaces_its_target(tmp_path):
    target = tmp_path / "run1.npz"
    link = tmp_path / "latest.npz"
    checkpoints.save(str(target), {"a": np.zeros(2)})
    link.symlink_to(target.name)
    checkpoints.save(str(link), {"a": np.ones(2)})
    assert link.is_symlink()
    np.testing.assert_array_equal(checkpoints.load(str(target))[0]["a"], np.ones(2))
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "run1.npz"]


def test_a_read_only_file_is_not_replaced(tmp_path, monkeypatch):
    path = tmp_path / "frozen.npz"
    checkpoints.save(str(path), {"a": np.zeros(2)})
    path.chmod(stat.S_IRUSR)
    if os.access(path, os.W_OK):  # root may write anything: ask as a user would be answered
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: False if mode == os.W_OK else real(p, mode)
        )
    with pytest.raises(PermissionError):
        checkpoints.save(str(path), {"a": np.ones(2)})
    np.testing.assert_array_equal(checkpoints.load(str(path))[0]["a"], np.zeros(2))


def test_a_name_near_the_file_system_limit_can_be_saved(tmp_path):
    path = tmp_path / ("w" * 240 + ".npz")
    checkpoints.save(str(path), {"a": np.arange(3)})
    np.testing.assert_array_equal(checkpoints.load(str(path))[0]["a"], np.arange(3))


def test_save_weights_without_overwrite_refuses_an_existing_file(tmp_path):
    path = tmp_path / "w.npz"
    path.write_text("keep me")
    model = _model()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(str(path), overwrite=False)
    assert path.read_text() == "keep me"
    model.save_weights(str(path))
    model.load_weights(str(path))


class _NoisyModel(wg.Model):
    """A Keras-style model drawing its own noise (as a GAN's generator input) from a
    SeedGenerator kept under a name of its own."""

    def __init__(self):
        super().__init__()
        self.seed_generator = wg.random.SeedGenerator(1337)
        self.dense = layers.Dense(1)

    def call(self, x, training=None):
        if training:
            x = x + wg.random.normal(x.shape, stddev=0.5, seed=self.seed_generator)
        return self.dense(x)


def test_a_models_own_seed_generator_is_saved_and_resumed_exactly(tmp_path):
    x, y = _data()

    def fresh():
        wg.random.set_seed(0)
        model = _NoisyModel()
        model.compile("sgd", "mse")
        return model

    straight = fresh()
    straight.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    path = tmp_path / "noisy.npz"
    first.save_checkpoint(path)
    first.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)  # moves the stream on
    resumed = fresh()
    resumed.fit(x[:16], y[:16], epochs=1, batch_size=16, verbose=0)  # builds; moves streams
    resumed.load_checkpoint(path)
    resumed.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)  # the epoch left
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_plain_stream_state_refused_by_a_seed_generator_changes_nothing(tmp_path):
    x, y = _data()

    class _PlainNoise(_NoisyModel):
        def __init__(self):
            super().__init__()
            self.seed_generator = wg.random.Generator(1)  # a plain stream, same name

    wg.random.set_seed(0)
    plain = _PlainNoise()
    plain.compile("sgd", "mse")
    plain.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "plain.npz"
    plain.save_checkpoint(path)
    wg.random.set_seed(1)
    model = _NoisyModel()
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(CheckpointError, match="random state"):
        model.load_checkpoint(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
