"""model.save / wg.models.load_model: architecture, weights, compile arguments and optimizer
state in one plain-data file; training continued after a load equals training never saved."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers
from wengert.checkpoints import CheckpointError


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def _sequential(seed=0):
    wg.random.set_seed(seed)
    model = wg.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(8, activation="relu", kernel_regularizer="l2"),
            layers.Dropout(0.2),
            layers.Dense(3),
        ]
    )
    model.compile(
        wg.optimizers.Adam(1e-2),
        wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],
    )
    return model


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_training_goes_on_after_save_and_load_as_if_never_saved(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    x, y = _data()
    saved = _sequential()
    saved.fit(x, y, batch_size=16, epochs=1, verbose=0, seed=0, shuffle=False)
    path = str(tmp_path / f"model{suffix}")
    saved.save(path)
    loaded = wg.models.load_model(path)
    assert [m.name for m in loaded.compiled_metrics] == ["accuracy", "weighted_accuracy"]
    assert type(loaded.optimizer).__name__ == "Adam" and loaded.optimizer.iterations == 3
    assert len(loaded.losses) == 1  # the regularizer came back with the config
    for a, b in zip(loaded.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)
    # A saved model holds no random streams (as in Keras): give dropout the same one.
    loaded.layers[1].generator.set_state(saved.layers[1].generator.get_state())
    saved.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)


class Residual(wg.Model):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = layers.Dense(units, activation="tanh")
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(x + self.inner(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_a_subclassed_model_is_found_by_name_or_given(tmp_path):
    wg.random.set_seed(1)
    model = Residual(4)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    expected = model.predict(x)
    path = str(tmp_path / "residual.npz")
    model.save(path)
    for loaded in (
        wg.models.load_model(path),
        wg.models.load_model(path, custom_objects={"Residual": Residual}),
    ):
        assert type(loaded) is Residual and loaded.optimizer is None
        np.testing.assert_array_equal(loaded.predict(x), expected)


def test_what_cannot_be_rebuilt_is_a_clear_error(tmp_path):
    class NoConfig(wg.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    model = NoConfig()
    model(np.ones((1, 2), np.float32))
    path = str(tmp_path / "noconfig.npz")
    model.save(path)
    with pytest.raises(TypeError, match="cannot rebuild NoConfig from its config"):
        wg.models.load_model(path)
    weights = str(tmp_path / "weights.npz")
    model.save_weights(weights)
    with pytest.raises(CheckpointError, match="not a saved model"):
        wg.models.load_model(weights)
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def test_a_custom_loss_is_saved_without_compile_and_compile_false(tmp_path):
    model = wg.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile("sgd", loss=lambda y, p: wg.reduce_mean(wg.square(y - p)))
    path = str(tmp_path / "custom.npz")
    with pytest.warns(UserWarning, match="compile arguments cannot be saved"):
        model.save(path)
    assert wg.models.load_model(path).optimizer is None
    model.compile("sgd", "mse")
    model.save(path)
    assert wg.models.load_model(path).optimizer is not None
    assert wg.models.load_model(path, compile=False).optimizer is None


def test_weights_that_do_not_fit_are_a_checkpoint_error(tmp_path):
    model = wg.Sequential([layers.Input((2,)), layers.Dense(1)])
    path = str(tmp_path / "m.npz")
    model.save(path)
    arrays, meta = wg.checkpoints.load(path)
    meta["config"]["layers"][1]["config"]["units"] = 2
    wg.checkpoints.save(path, arrays, meta)
    with pytest.raises(CheckpointError, match="wrong shape"):
        wg.models.load_model(path)


class Doubling(layers.Layer):
    """A custom layer with no weights, to be found when a saved model is loaded."""

    def call(self, x):
        return x * 2.0


def test_nested_sequentials_and_custom_layers_load_back(tmp_path):
    wg.random.set_seed(5)
    base = wg.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu")])
    model = wg.Sequential([layers.Input((3,)), base, Doubling(), layers.Dense(2)])
    x = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    path = str(tmp_path / "nested.npz")
    model.save(path)
    for loaded in (
        wg.models.load_model(path),  # Doubling is found by its name
        wg.models.load_model(path, custom_objects={"Doubling": Doubling}),
    ):
        assert type(loaded.layers[0]) is wg.Sequential and type(loaded.layers[1]) is Doubling
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    arrays, meta = wg.checkpoints.load(path)
    meta["config"]["layers"][2]["class_name"] = "NoSuchLayer"
    wg.checkpoints.save(path, arrays, meta)
    with pytest.raises(ValueError, match="'NoSuchLayer'.*custom_objects"):
        wg.models.load_model(path)


@pytest.mark.parametrize("name", ["model.weights.h5", "model.keras", "m.hdf5"])
def test_keras_file_names_work_but_warn_that_the_format_is_wengerts(tmp_path, name):
    model = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(2)])
    path = tmp_path / name
    with pytest.warns(UserWarning, match=r"wengert's \.npz format .* Keras and h5py do not"):
        model.save_weights(path)
    again = wg.Sequential([wg.layers.Input((3,)), wg.layers.Dense(2)])
    again.load_weights(path)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
