"""Pooling ops and layers against PyTorch (max_pool2d, avg_pool2d and the 1-D forms).

TensorFlow's "SAME" padding maps to explicit padding on the torch side: -inf for
max pooling (padding never wins) and, for average pooling, TensorFlow's average
over the real inputs only (sum of the zero-padded window / count of real inputs).
Inputs have no ties, so the maximum's gradient is unambiguous.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import conv_ops

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_pad(pads):
    out = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def _torch_pool(kind, xt, ksize, strides, pads):
    rank = len(ksize)
    if kind == "max":
        pool = F.max_pool2d if rank == 2 else F.max_pool1d
        return pool(F.pad(xt, _torch_pad(pads), value=-np.inf), ksize, strides)
    pool = F.avg_pool2d if rank == 2 else F.avg_pool1d
    area = float(np.prod(ksize))
    total = pool(F.pad(xt, _torch_pad(pads)), ksize, strides) * area
    count = pool(F.pad(torch.ones_like(xt), _torch_pad(pads)), ksize, strides) * area
    return total / count


def _case(rng, rank):
    spatial = tuple(int(rng.integers(2, 9)) for _ in range(rank))
    ksize = tuple(int(rng.integers(1, 4)) for _ in range(rank))
    strides = tuple(int(rng.integers(1, 4)) for _ in range(rank))
    mode = str(rng.choice(["SAME", "VALID", "explicit"]))
    if mode == "SAME":
        pads = tuple(conv_ops.same_padding(s, k, st) for s, k, st in zip(spatial, ksize, strides))
        padding = "SAME"
    elif mode == "VALID":
        pads, padding = ((0, 0),) * rank, "VALID"
    else:
        # torch-style: at most half the window, so every window holds a real input
        pads = tuple((int(rng.integers(0, k // 2 + 1)),) * 2 for k in ksize)
        padding = [list(p) for p in pads]
    if any(s + sum(p) < k for s, p, k in zip(spatial, pads, ksize)):
        return _case(rng, rank)
    return spatial, ksize, strides, pads, padding


def _check(actual, expected, dtype):
    if dtype == "float64":
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)
    else:
        scale = max(float(np.abs(expected).max()), 1e-30)
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("trial", range(8))
def test_pool2d_matches_torch(kind, dtype, trial):
    rng = np.random.default_rng(1000 + trial)
    spatial, ksize, strides, pads, padding = _case(rng, 2)
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    x_nc = rng.permutation(n * c * int(np.prod(spatial))).reshape((n, c) + spatial)
    x_nc = (x_nc + rng.uniform(0, 0.5, x_nc.shape)).astype(dtype)
    xt = torch.tensor(x_nc, requires_grad=True)
    yt = _torch_pool(kind, xt, ksize, strides, pads)
    g_nc = rng.standard_normal(yt.shape).astype(dtype)
    yt.backward(torch.tensor(g_nc))
    channels_first = bool(trial % 2)
    fmt = "NCHW" if channels_first else "NHWC"
    x = wg.constant(x_nc if channels_first else np.moveaxis(x_nc, 1, -1))
    fn = wg.nn.max_pool2d if kind == "max" else wg.nn.avg_pool2d
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = fn(x, ksize, strides, padding, data_format=fmt)
    g = g_nc if channels_first else np.moveaxis(g_nc, 1, -1)
    gx = tape.gradient(y, x, output_gradients=wg.constant(g))
    back = (lambda a: a) if channels_first else (lambda a: np.moveaxis(a, -1, 1))
    _check(back(y.numpy()), yt.detach().numpy(), dtype)
    _check(back(gx.numpy()), xt.grad.numpy(), dtype)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("trial", range(4))
def test_pool1d_matches_torch(kind, trial):
    rng = np.random.default_rng(2000 + trial)
    (w,), (k,), (s,), pads, padding = _case(rng, 1)
    x_nc = rng.permutation(2 * 3 * w).reshape(2, 3, w) + rng.uniform(0, 0.5, (2, 3, w))
    xt = torch.tensor(x_nc, requires_grad=True)
    yt = _torch_pool(kind, xt, (k,), (s,), pads)
    g_nc = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(g_nc))
    x = wg.constant(np.moveaxis(x_nc, 1, -1))
    fn = wg.nn.max_pool1d if kind == "max" else wg.nn.avg_pool1d
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = fn(x, k, s, padding)
    gx = tape.gradient(y, x, output_gradients=wg.constant(np.moveaxis(g_nc, 1, -1)))
    _check(np.moveaxis(y.numpy(), -1, 1), yt.detach().numpy(), "float64")
    _check(np.moveaxis(gx.numpy(), -1, 1), xt.grad.numpy(), "float64")


def test_max_pool_sends_a_tied_windows_gradient_to_its_first_maximum():
    x = wg.constant(np.ones((1, 4, 4, 1)))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.nn.max_pool2d(x, 2, 2, "VALID")
    g = tape.gradient(y, x).numpy()[0, :, :, 0]
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1.0
    np.testing.assert_array_equal(g, expected)
    # overlapping windows: each window's first maximum, summed where they coincide
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.nn.max_pool2d(x, 3, 1, "VALID")
    assert tape.gradient(y, x).numpy()[0, 0, 0, 0] == 1.0


@pytest.mark.parametrize("shape", [(2, 6, 8, 3), (3, 7, 9, 2), (1, 5, 4, 17)])
def test_two_by_two_max_pool_by_rows_equals_the_general_taps(shape, monkeypatch):
    """2x2 windows at stride 2 pool row pairs first (_max_pool_2x2); on data full of ties,
    NaN and infinities, with odd sizes cropped, it equals the general path exactly."""
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, shape).astype("float32")
    x.flat[rng.choice(x.size, 3, replace=False)] = [np.nan, np.inf, -np.inf]
    fast = conv_ops._max_pool_impl(x, (2, 2), (2, 2), ((0, 0), (0, 0)))
    monkeypatch.setattr(conv_ops, "_halves", lambda *args: False)
    general = conv_ops._max_pool_impl(x, (2, 2), (2, 2), ((0, 0), (0, 0)))
    np.testing.assert_array_equal(fast, general)
    assert fast.shape == (shape[0], shape[1] // 2, shape[2] // 2, shape[3])


def test_max_pool_forward_mode_selects_the_tangent_at_the_maximum():
    x = wg.constant(np.array([[[[1.0], [4.0]], [[3.0], [2.0]]]]))
    t = wg.constant(np.array([[[[10.0], [20.0]], [[30.0], [40.0]]]]))
    with wg.ForwardAccumulator(x, t) as acc:
        y = wg.nn.max_pool2d(x, 2, 2, "VALID")
    assert acc.jvp(y).numpy().item() == 20.0


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pooling_layers(data_format):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    xf = x if data_format == "channels_last" else np.moveaxis(x, -1, 1)
    layers = wg.layers
    out = layers.MaxPooling2D(data_format=data_format)(xf).numpy()
    expected = x[:, :6, :4].reshape(2, 3, 2, 2, 2, 3).max(axis=(2, 4))
    if data_format == "channels_first":
        expected = np.moveaxis(expected, -1, 1)
    np.testing.assert_allclose(out, expected)
    avg = layers.AveragePooling2D(3, 1, "same", data_format=data_format)(xf)
    assert avg.shape == xf.shape
    gap = layers.GlobalAveragePooling2D(data_format=data_format)(xf).numpy()
    np.testing.assert_allclose(gap, x.mean(axis=(1, 2)), rtol=1e-6)
    gmp = layers.GlobalMaxPooling2D(data_format=data_format, keepdims=True)(xf)
    assert gmp.shape == ((2, 1, 1, 3) if data_format == "channels_last" else (2, 3, 1, 1))
    seq = x[:, :, 0, :]
    seqf = seq if data_format == "channels_last" else np.moveaxis(seq, -1, 1)
    steps_axis = 1 if data_format == "channels_last" else 2
    assert layers.MaxPooling1D(2, data_format=data_format)(seqf).shape[steps_axis] == 3
    assert layers.AveragePooling1D(4, 1, data_format=data_format)(seqf).shape[0] == 2
    np.testing.assert_allclose(
        layers.GlobalAveragePooling1D(data_format=data_format)(seqf).numpy(),
        seq.mean(axis=1),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        layers.GlobalMaxPooling1D(data_format=data_format)(seqf).numpy(), seq.max(axis=1)
    )


def test_pooling_layer_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"max_pooling2d.*\(2, 3, 3, 1\)"):
        wg.layers.MaxPooling2D(4, name="max_pooling2d_big")(np.ones((2, 3, 3, 1), "float32"))
    with pytest.raises(ValueError, match=r"'pool_rank'.*ndim=4.*ndim=3"):
        wg.layers.MaxPooling2D(name="pool_rank")(np.ones((2, 3, 3), "float32"))
    with pytest.raises(ValueError, match="strides must be positive"):
        wg.layers.AveragePooling2D(2, strides=0)
    with pytest.raises(ValueError, match="padding"):
        wg.layers.MaxPooling1D(2, padding="full")


def test_pooling_layer_config_round_trip():
    layer = wg.layers.MaxPooling2D((3, 2), strides=(1, 2), padding="same", name="p")
    clone = wg.layers.MaxPooling2D.from_config(layer.get_config())
    assert (clone.pool_size, clone.strides, clone.padding) == ((3, 2), (1, 2), "same")


def test_masked_global_average_of_an_all_padding_sample_is_zero_not_nan():
    import warnings

    model = wg.Sequential(
        [wg.layers.Input((5,), dtype="int32"), wg.layers.Embedding(10, 3, mask_zero=True),
         wg.layers.GlobalAveragePooling1D()]
    )  # fmt: skip
    table = model.layers[0].embeddings.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # building on all-padding zeros used to warn 0/0
        out = model(np.array([[1, 2, 0, 0, 0], [0, 0, 0, 0, 0]])).numpy()
    np.testing.assert_allclose(out[0], (table[1] + table[2]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(out[1], [0.0, 0.0, 0.0])
