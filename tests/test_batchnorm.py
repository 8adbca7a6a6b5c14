"""BatchNormalization against PyTorch, in training and inference, with running statistics.

Keras's momentum m is torch's 1 - m.  Both normalise a training batch with its
biased variance.  For the moving variance they differ: Keras 3 (and so wengert)
averages the *biased* batch variance (``ops.moments`` divides by n), torch's
``running_var`` averages the *unbiased* one (divides by n - 1).  The tests check
each against its own definition, from the same batches.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg

torch = pytest.importorskip("torch")


def _check(actual, expected, dtype):
    if dtype == "float64":
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)
    else:
        scale = max(float(np.abs(expected).max()), 1e-30)
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("channels_first", [False, True])
def test_training_steps_match_torch_batchnorm2d(dtype, channels_first):
    rng = np.random.default_rng(0)
    c, momentum, eps = 3, 0.9, 1e-3
    layer = wg.layers.BatchNormalization(
        axis=1 if channels_first else -1, momentum=momentum, epsilon=eps, dtype=dtype
    )
    ref = torch.nn.BatchNorm2d(c, eps=eps, momentum=1 - momentum).to(getattr(torch, dtype))
    gamma = rng.uniform(0.5, 1.5, c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    expected_mean = np.zeros(c)
    expected_var = np.ones(c)
    torch_var = np.ones(c)
    for step in range(4):
        x_nc = (rng.standard_normal((5, c, 4, 3)) * (step + 1) + step).astype(dtype)
        xt = torch.tensor(x_nc, requires_grad=True)
        ref.train()
        yt = ref(xt)
        g_nc = rng.standard_normal(yt.shape).astype(dtype)
        yt.backward(torch.tensor(g_nc))

        x = wg.constant(x_nc if channels_first else np.moveaxis(x_nc, 1, -1))
        g = g_nc if channels_first else np.moveaxis(g_nc, 1, -1)
        if not layer.built:
            layer.build(x.shape)
            layer.gamma.assign(gamma)
            layer.beta.assign(beta)
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
        gx, ggamma, gbeta = tape.gradient(
            y, [x, layer.gamma, layer.beta], output_gradients=wg.constant(g)
        )
        back = (lambda a: a) if channels_first else (lambda a: np.moveaxis(a, -1, 1))
        _check(back(y.numpy()), yt.detach().numpy(), dtype)
        _check(back(gx.numpy()), xt.grad.numpy(), dtype)
        _check(ggamma.numpy(), ref.weight.grad.numpy(), dtype)
        _check(gbeta.numpy(), ref.bias.grad.numpy(), dtype)
        ref.weight.grad = ref.bias.grad = None

        # running statistics, each by its own definition from the same batch
        batch = x_nc.astype("float64")
        n = batch.size // c
        mean = batch.mean(axis=(0, 2, 3))
        biased = batch.var(axis=(0, 2, 3))
        expected_mean = momentum * expected_mean + (1 - momentum) * mean
        torch_var = momentum * torch_var + (1 - momentum) * (biased * n / (n - 1))
        expected_var = momentum * expected_var + (1 - momentum) * biased
        _check(layer.moving_mean.numpy(), expected_mean, dtype)
        _check(ref.running_mean.numpy(), expected_mean, dtype)
        _check(layer.moving_variance.numpy(), expected_var, dtype)
        _check(ref.running_var.numpy(), torch_var, dtype)

    # inference: the moving statistics (torch given ours, since its variance differs)
    with torch.no_grad():
        ref.running_var.copy_(torch.tensor(layer.moving_variance.numpy()))
    ref.eval()
    x_nc = rng.standard_normal((2, c, 4, 3)).astype(dtype)
    x = x_nc if channels_first else np.moveaxis(x_nc, 1, -1)
    before = layer.moving_mean.numpy().copy()
    y = layer(x, training=False).numpy()
    _check(
        y if channels_first else np.moveaxis(y, -1, 1),
        ref(torch.tensor(x_nc)).detach().numpy(),
        dtype,
    )
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before)  # no update outside training
    np.testing.assert_array_equal(layer(x).numpy(), y)  # training=None is inference


def test_dense_batchnorm_matches_batchnorm1d_and_frozen_layer_uses_moving_stats():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 5))
    layer = wg.layers.BatchNormalization(dtype="float64")
    ref = torch.nn.BatchNorm1d(5, eps=1e-3, momentum=0.01).double()
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(y, ref(torch.tensor(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.numpy(), ref.running_mean.numpy(), atol=1e-12)
    frozen_mean = layer.moving_mean.numpy().copy()
    layer.trainable = False  # Keras: a frozen BatchNormalization runs in inference mode
    y2 = layer(x, training=True).numpy()
    np.testing.assert_array_equal(layer.moving_mean.numpy(), frozen_mean)
    mv = layer.moving_variance.numpy()
    np.testing.assert_allclose(y2, (x - frozen_mean) / np.sqrt(mv + 1e-3), atol=1e-12)


def test_moving_statistics_are_non_trainable_weights_saved_in_checkpoints(tmp_path):
    model = wg.Sequential(
        [wg.layers.Input((4, 4, 2)), wg.layers.Conv2D(3, 3), wg.layers.BatchNormalization()]
    )
    bn = model.layers[1]
    assert [v.name.split("/")[-1] for v in bn.trainable_weights] == ["gamma", "beta"]
    assert [v.name.split("/")[-1] for v in bn.non_trainable_weights] == [
        "moving_mean",
        "moving_variance",
    ]
    x = np.random.default_rng(2).standard_normal((6, 4, 4, 2)).astype("float32")
    model(x, training=True)
    path = str(tmp_path / "w.npz")
    model.save_weights(path)
    saved = bn.moving_variance.numpy().copy()
    model(x * 3, training=True)
    assert not np.allclose(bn.moving_variance.numpy(), saved)
    model.load_weights(path)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), saved)


def test_moving_update_is_not_part_of_the_gradient():
    layer = wg.layers.BatchNormalization(momentum=0.5)
    x = wg.constant(np.random.default_rng(3).standard_normal((4, 2)).astype("float32"))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    grads = tape.gradient(y, [layer.moving_mean, layer.moving_variance])
    assert grads == [None, None]
    assert len(layer.trainable_weights) == 2


def test_batchnorm_errors_and_options():
    layer = wg.layers.BatchNormalization(axis=1, name="bn_axis")
    layer(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"bn_axis.*axis 1.*value 3"):
        layer(np.ones((2, 5, 4), "float32"))
    with pytest.raises(ValueError, match="out of range"):
        wg.layers.BatchNormalization(axis=3)(np.ones((2, 3), "float32"))
    plain = wg.layers.BatchNormalization(center=False, scale=False)
    out = plain(np.array([[1.0, 2.0], [3.0, 6.0]], "float32"), training=True).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-6)
    assert plain.weights and not plain.trainable_weights
    clone = wg.layers.BatchNormalization.from_config(
        wg.layers.BatchNormalization(momentum=0.9, epsilon=1e-5).get_config()
    )
    assert (clone.momentum, clone.epsilon) == (0.9, 1e-5)
