"""Convolution layers: the math they delegate, Keras's shapes and arguments, clear errors,
configs, training, the ``lenet``/``cnn`` model zoo entries and the LeNet example."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import wengert as wg
from wengert import cli_train, layers

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv2d_layer_is_conv2d_plus_bias(data_format):
    layer = layers.Conv2D(
        6, (3, 2), strides=(2, 1), padding="same", dilation_rate=1, groups=2,
        data_format=data_format, activation="relu", bias_initializer="ones",
    )  # fmt: skip
    x = _x(2, 4, 7, 5) if data_format == "channels_first" else _x(2, 7, 5, 4)
    y = layer(x)
    assert layer.kernel.shape == (3, 2, 2, 6) and layer.bias.shape == (6,)
    fmt = "NCHW" if data_format == "channels_first" else "NHWC"
    ref = wg.nn.conv2d(x, layer.kernel, (2, 1), "SAME", data_format=fmt).numpy()
    ref = ref + 1.0
    np.testing.assert_allclose(y.numpy(), np.maximum(ref, 0), rtol=1e-5, atol=1e-5)
    assert y.shape == ((2, 4, 5, 6) if data_format == "channels_last" else (2, 6, 4, 5))
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + y.shape[1:]


def test_conv1d_causal_output_depends_only_on_the_past():
    layer = layers.Conv1D(3, 4, padding="causal", dilation_rate=2)
    x = wg.constant(_x(1, 12, 2))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        first = y[0, 5]
    assert y.shape == (1, 12, 3)
    g = tape.gradient(first, x).numpy()[0]
    assert not np.any(g[6:]) and np.any(g[5])
    valid = layers.Conv1D(2, 3, strides=2, data_format="channels_first")
    assert valid(_x(2, 4, 9)).shape == (2, 2, 4)


@pytest.mark.parametrize(
    "padding, strides, output_padding, expected",
    [
        ("same", 2, None, (14, 14)),
        ("valid", 2, None, (15, 15)),
        ("valid", 1, None, (9, 9)),
        ("same", (2, 3), (1, 2), (14, 21)),
        ("valid", 3, 1, (22, 22)),
    ],
)
def test_conv2d_transpose_output_shapes_follow_keras(padding, strides, output_padding, expected):
    layer = layers.Conv2DTranspose(
        4, 3, strides=strides, padding=padding, output_padding=output_padding
    )
    y = layer(_x(2, 7, 7, 5))
    assert y.shape == (2,) + expected + (4,)
    assert layer.kernel.shape == (3, 3, 4, 5)


def test_conv2d_transpose_layer_matches_torch():
    torch = pytest.importorskip("torch")
    layer = layers.Conv2DTranspose(3, (3, 2), strides=2, padding="valid", dtype="float64")
    x = RNG.standard_normal((2, 4, 5, 2))
    y = layer(x).numpy()
    w = torch.tensor(layer.kernel.numpy().transpose(3, 2, 0, 1).copy())
    ref = torch.nn.functional.conv_transpose2d(
        torch.tensor(x.transpose(0, 3, 1, 2).copy()), w, torch.tensor(layer.bias.numpy()), 2
    )
    np.testing.assert_allclose(y, ref.numpy().transpose(0, 2, 3, 1), atol=1e-12)


def test_depthwise_conv2d_layer():
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", bias_initializer="ones")
    x = _x(1, 5, 5, 3)
    y = layer(x)
    ref = wg.nn.depthwise_conv2d(x, layer.kernel, 1, "SAME").numpy() + 1.0
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)
    assert layer.bias.shape == (6,)


def test_zero_padding_and_upsampling():
    x = wg.constant(_x(1, 2, 3, 2))
    padded = layers.ZeroPadding2D(((1, 0), (0, 2)))(x).numpy()
    assert padded.shape == (1, 3, 5, 2)
    np.testing.assert_array_equal(padded[:, 1:, :3], x.numpy())
    assert not padded[:, 0].any() and not padded[:, :, 3:].any()
    first = layers.ZeroPadding2D(1, data_format="channels_first")(_x(1, 2, 3, 3))
    assert first.shape == (1, 2, 5, 5)
    with wg.GradientTape() as tape:
        tape.watch(x)
        up = layers.UpSampling2D((2, 3))(x)
    assert up.shape == (1, 4, 9, 2)
    np.testing.assert_array_equal(up.numpy()[:, ::2, ::3], x.numpy())
    np.testing.assert_array_equal(tape.gradient(up, x).numpy(), np.full(x.shape, 6.0))
    assert layers.UpSampling2D(2, data_format="channels_first")(_x(1, 2, 3, 3)).shape == (
        1,
        2,
        6,
        6,
    )


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: layers.Conv2D(4, 3, name="c_rank"), (2, 8, 8), r"'c_rank'.*ndim=4.*ndim=3"),
        (lambda: layers.Conv2D(4, 5, name="c_big"), (2, 3, 4, 1), r"c_big.*larger.*\(2, 3, 4, 1\)"),
        (
            lambda: layers.Conv2D(4, 3, dilation_rate=3, name="c_dil"),
            (1, 6, 6, 1),
            r"c_dil.*dilation_rate \(3, 3\)",
        ),
        (lambda: layers.Conv1D(4, 9, name="c1_big"), (2, 5, 3), r"c1_big.*larger.*\(2, 5, 3\)"),
        (lambda: layers.Conv2D(4, 3, groups=2, name="c_grp"), (1, 5, 5, 3), r"c_grp.*3 channels"),
    ],
)
def test_layer_errors_name_the_layer_and_the_shapes(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.ones(shape, "float32"))


def test_channel_count_mismatch_after_build():
    layer = layers.Conv2D(4, 3, name="c_chan")
    layer(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"c_chan.*axis -1.*value 3.*\(1, 5, 5, 2\)"):
        layer(np.ones((1, 5, 5, 2), "float32"))


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: layers.Conv2D(4, 3, strides=0, name="s0"),
            r"Conv2D 's0': strides must be positive",
        ),
        (lambda: layers.Conv2D(4, 3, strides=(1, -2)), "strides must be positive"),
        (lambda: layers.Conv1D(4, 0), "kernel_size must be positive"),
        (lambda: layers.Conv2D(0, 3), "filters must be a positive"),
        (lambda: layers.Conv2D(4, 3, groups=3), "groups"),
        (lambda: layers.Conv2D(4, 3, padding="full"), "padding"),
        (lambda: layers.Conv2D(4, 3, data_format="nhwc"), "data_format"),
        (lambda: layers.Conv2D(4, (3, 3, 3)), "kernel_size"),
        (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), "output_padding"),
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
        (lambda: layers.MaxPooling2D(0), "pool_size must be positive"),
        (lambda: layers.UpSampling2D(2, interpolation="bilinear"), "nearest"),
        (lambda: layers.ZeroPadding2D((1, 2, 3)), "padding"),
    ],
)
def test_bad_layer_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "layer",
    [
        layers.Conv2D(8, (3, 5), strides=2, padding="same", dilation_rate=1, groups=2,
                      activation="relu", use_bias=False),
        layers.Conv1D(3, 2, padding="causal", data_format="channels_first"),
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=1),
        layers.DepthwiseConv2D(3, depth_multiplier=3),
        layers.ZeroPadding2D((2, 1)),
        layers.UpSampling2D(3),
    ],
)  # fmt: skip
def test_config_round_trip(layer):
    config = layer.get_config()
    json.dumps(config)  # serialisable
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_a_small_cnn_trains_and_checkpoints(tmp_path):
    wg.random.set_seed(0)
    x = RNG.standard_normal((64, 8, 8, 1)).astype("float32")
    y = (x[:, :4].sum(axis=(1, 2, 3)) > x[:, 4:].sum(axis=(1, 2, 3))).astype("int64")
    model = wg.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Conv2D(8, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2),
        ]
    )
    model.compile(
        optimizer=wg.optimizers.Adam(0.01),
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    path = str(tmp_path / "cnn.npz")
    model.save_weights(path)
    before = model.predict(x)
    model.layers[0].kernel.assign(np.zeros((3, 3, 1, 4), "float32"))
    model.load_weights(path)
    np.testing.assert_array_equal(model.predict(x), before)


@pytest.mark.parametrize("name", ["lenet", "cnn"])
@pytest.mark.parametrize("shape", [(8, 8), (28, 28)])
def test_model_zoo_builders_take_images_without_a_channel_axis(name, shape):
    x = RNG.uniform(0, 1, (16,) + shape).astype("float32")
    model = cli_train.MODELS[name](x, 10, 0)
    assert model(x).shape == (16, 10)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"Conv2D", "MaxPooling2D", "Dense"} <= kinds
    if name == "cnn":
        assert {"BatchNormalization", "Dropout"} <= kinds


def test_wengert_train_lenet_runs(tmp_path):
    from wengert.cli import main

    out = tmp_path / "run"
    code = main(["train", "--model", "lenet", "--epochs", "1", "--out", str(out), "--verbose", "0"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "lenet" and metrics["test_accuracy"] > 0.3


def test_lenet_digits_example_runs():
    script = pathlib.Path(__file__).resolve().parent.parent / "examples" / "lenet_digits.py"
    out = subprocess.run(
        [sys.executable, str(script), "--epochs", "2"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout and "Total params: 31,114" in out.stdout
