"""SpectralNormalization and the Wrapper base class, as Keras 3 has them.

Oracles: NumPy's SVD for the spectral norm, and the power method written out here.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import layers

RNG = np.random.default_rng(7)


def _power_method(kernel, u, iterations):
    """Keras's normalized_weights, written independently: (u, kernel / sigma)."""
    w = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
    u = u.astype(np.float64)
    for _ in range(iterations):
        v = u @ w.T
        v = v / np.linalg.norm(v)
        u = v @ w
        u = u / np.linalg.norm(u)
    sigma = (v @ w @ u.T).item()
    return u, kernel / sigma


def test_one_training_call_matches_the_power_method_written_out():
    layer = layers.SpectralNormalization(layers.Dense(5), power_iterations=2)
    x = RNG.standard_normal((3, 4)).astype("float32")
    layer.build((None, 4))
    kernel0 = layer.layer.kernel.numpy().copy()
    u0 = layer.vector_u.numpy().copy()
    y = layer(x, training=True).numpy()
    u1, kernel1 = _power_method(kernel0, u0, 2)
    np.testing.assert_allclose(layer.vector_u.numpy(), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.layer.kernel.numpy(), kernel1, rtol=1e-5)
    np.testing.assert_allclose(y, x @ kernel1 + layer.layer.bias.numpy(), rtol=1e-5, atol=1e-6)
    # the next call continues from the stored vector
    kernel_before = layer.layer.kernel.numpy().copy()
    layer(x, training=True)
    u2, kernel2 = _power_method(kernel_before, u1.astype("float32"), 2)
    np.testing.assert_allclose(layer.vector_u.numpy(), u2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.layer.kernel.numpy(), kernel2, rtol=1e-5)


@pytest.mark.parametrize(
    "inner, x",
    [
        (lambda: layers.Dense(7), RNG.standard_normal((2, 5)).astype("float32")),
        (lambda: layers.Conv2D(3, 3), RNG.standard_normal((2, 6, 6, 4)).astype("float32")),
        (lambda: layers.Conv1D(4, 2), RNG.standard_normal((2, 6, 3)).astype("float32")),
        (lambda: layers.Embedding(12, 6), np.array([[1, 2, 3]])),
    ],
    ids=["dense", "conv2d", "conv1d", "embedding"],
)
def test_many_iterations_give_a_kernel_of_spectral_norm_one(inner, x):
    layer = layers.SpectralNormalization(inner(), power_iterations=50)
    layer(x, training=True)
    kernel = layer.kernel.numpy()
    assert np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]).astype("float64"), 2) == (
        pytest.approx(1.0, rel=1e-4)
    )


def test_inference_and_all_zero_kernels_leave_the_kernel_alone():
    layer = layers.SpectralNormalization(layers.Dense(3))
    x = RNG.standard_normal((2, 4)).astype("float32")
    layer(x)  # inference: builds only
    kernel, u = layer.kernel.numpy().copy(), layer.vector_u.numpy().copy()
    layer(x, training=False)
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
    np.testing.assert_array_equal(layer.vector_u.numpy(), u)
    zero = layers.SpectralNormalization(layers.Dense(3, kernel_initializer="zeros"))
    zero(x, training=True)
    assert not zero.kernel.numpy().any()
    assert np.isfinite(zero.vector_u.numpy()).all()


def test_gradients_reach_the_assigned_kernel_directly_as_in_keras():
    # Keras assigns kernel / sigma and then differentiates the layer at that value:
    # d sum(y^2) / d kernel = 2 x^T y with y = x @ (kernel / sigma) + b, no sigma term.
    layer = layers.SpectralNormalization(layers.Dense(3, bias_initializer="ones"))
    x = RNG.standard_normal((4, 2)).astype("float32")
    layer.build((None, 2))
    with wg.GradientTape() as tape:
        y = layer(x, training=True)
        loss = wg.reduce_sum(y * y)
    grad, grad_u = tape.gradient(loss, [layer.layer.kernel, layer.vector_u])
    expected = 2 * x.T @ (x @ layer.kernel.numpy() + 1.0)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert grad_u is None  # the vector is not differentiated


def test_a_model_trains_saves_and_loads_with_the_vector(tmp_path):
    wg.random.set_seed(0)
    model = wg.Sequential(
        [
            layers.Input((6,)),
            layers.SpectralNormalization(layers.Dense(16, activation="relu")),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    x = RNG.standard_normal((64, 6)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0).history
    assert all(np.isfinite(history["loss"]))
    names = [w.name for w in model.non_trainable_weights]
    assert any(name.endswith("vector_u") for name in names)
    path = tmp_path / "sn.npz"
    model.save(path)
    loaded = wg.models.load_model(path)
    assert isinstance(loaded.layers[0], layers.SpectralNormalization)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_config_round_trip():
    layer = layers.SpectralNormalization(layers.Conv2D(4, 3, padding="same"), power_iterations=3)
    again = layers.SpectralNormalization.from_config(layer.get_config())
    assert again.power_iterations == 3
    assert isinstance(again.layer, layers.Conv2D)
    assert again.layer.get_config()["padding"] == "same"
    assert again(np.zeros((1, 5, 5, 2), "float32")).shape == (1, 5, 5, 4)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_power_iterations(bad):
    with pytest.raises(ValueError, match=r"SpectralNormalization: power_iterations .*"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=bad)


def test_layers_without_a_kernel_and_non_layers_are_refused():
    with pytest.raises(ValueError, match=r"Flatten 'flatten.*' has no 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.Flatten(name="flatten"))(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"SpectralNormalization: expects a Layer to wrap, got"):
        layers.SpectralNormalization(3)


def test_a_wrapper_subclass_builds_and_saves_its_layer():
    class Twice(layers.Wrapper):
        def call(self, inputs, training=None):
            return 2.0 * self.layer(inputs, training=training)

    wrapper = Twice(layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros"))
    wrapper.build((None, 2))
    assert wrapper.layer.built and wrapper.layer.kernel.shape == (2, 3)
    np.testing.assert_allclose(wrapper(np.ones((1, 2), "float32")).numpy(), [[4.0, 4.0, 4.0]])
    again = Twice.from_config(wrapper.get_config())
    assert (
        again.layer.units == 3
        and again.layer.get_config()["kernel_initializer"]
        == (wrapper.layer.get_config()["kernel_initializer"])
    )
    assert isinstance(layers.TimeDistributed(layers.Dense(2)), layers.Wrapper)


def test_a_wrapped_embedding_keeps_float_outputs_and_gradients():
    layer = layers.SpectralNormalization(layers.Embedding(10, 4), power_iterations=5)
    ids = np.array([[1, 2, 2]])
    with wg.GradientTape() as tape:
        out = layer(ids, training=True)
        loss = wg.reduce_sum(out * out)
    assert out.dtype == "float32"
    table = layer.kernel.numpy()
    np.testing.assert_allclose(out.numpy(), table[ids], rtol=1e-6)
    grad = wg.convert_to_tensor(tape.gradient(loss, layer.kernel)).numpy()
    expected = np.zeros_like(table)
    np.add.at(expected, ids.ravel(), 2 * table[ids.ravel()])
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)
