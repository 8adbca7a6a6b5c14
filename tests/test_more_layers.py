"""Keras 3 layers beyond the core set: LayerNormalization and GroupNormalization, the
activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax), reshaping (RepeatVector, Permute,
Cropping1D/2D, UpSampling1D, ZeroPadding1D) and regularization (SpatialDropout1D/2D,
GaussianNoise, GaussianDropout, ActivityRegularization).

PyTorch is the oracle for values and gradients (with respect to the inputs and every
weight), NumPy for the shape layers; the noise layers are checked by their statistics.
Every layer goes through Sequential, a functional model, get_config/from_config and
model.save + wg.models.load_model.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import wengert as wg
from wengert.layers.activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from wengert.layers.base import get_mask, set_mask
from wengert.layers.normalization import GroupNormalization, LayerNormalization
from wengert.layers.regularization import (
    ActivityRegularization,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from wengert.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Permute,
    RepeatVector,
    UpSampling1D,
    ZeroPadding1D,
)
from wengert.test_util import check_grads

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _check(actual, expected, dtype):
    """float64 to 1e-10; float32 to 1e-4 relative (absolute 1e-4 of the largest entry)."""
    if dtype == "float64":
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)
    else:
        scale = max(float(np.abs(expected).max()), 1e-30)
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)


def _wengert_run(layer, x, g, **call_kwargs):
    """The layer's output and the gradients of sum(output * g) with respect to the input
    and each trainable weight (in ``trainable_weights`` order)."""
    xt = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, **call_kwargs)
    grads = tape.gradient(y, [xt] + layer.trainable_weights, output_gradients=wg.constant(g))
    return y.numpy(), [gr.numpy() for gr in grads]


def _torch_run(fn, x, params, g):
    """The same for a torch function ``fn(x, *params)``."""
    xt = torch.tensor(x, requires_grad=True)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    y = fn(xt, *ps)
    y.backward(torch.tensor(g))
    return y.detach().numpy(), [xt.grad.numpy()] + [p.grad.numpy() for p in ps]


def _compare(layer, fn, x, params, dtype, seed=1, **call_kwargs):
    """The layer against torch's ``fn(x, *params)``: outputs and the gradients with respect
    to the input and each weight, from the same random cotangent."""
    out_shape = layer(wg.constant(x), **call_kwargs).shape  # builds the layer too
    g = np.random.default_rng(seed).standard_normal(out_shape).astype(x.dtype)
    y, grads = _wengert_run(layer, x, g, **call_kwargs)
    y_ref, grads_ref = _torch_run(fn, x, params, g)
    assert y.dtype == np.dtype(dtype) and y.shape == y_ref.shape
    _check(y, y_ref, dtype)
    assert len(grads) == len(grads_ref)
    for a, b in zip(grads, grads_ref):
        assert a.shape == b.shape and a.dtype == np.dtype(dtype)
        _check(a, b, dtype)


# -- LayerNormalization ----------------------------------------------------------------------


def _torch_layer_norm(axes, eps, center=True, scale=True):
    """torch's layer_norm over ``axes`` (non-negative, in the layer's ``axis`` order; gamma
    laid out in that order): move the axes last, in increasing order, and back."""

    def fn(x, *params):
        params = list(params)
        gamma = params.pop(0) if scale else None
        beta = params.pop(0) if center else None
        sorted_axes = sorted(axes)
        order = [axes.index(a) for a in sorted_axes]  # gamma's axes in increasing order
        others = [a for a in range(x.ndim) if a not in axes]
        perm = others + sorted_axes
        moved = x.permute(perm)
        shape = tuple(moved.shape[len(others) :])
        y = F.layer_norm(
            moved,
            shape,
            None if gamma is None else gamma.permute(order),
            None if beta is None else beta.permute(order),
            eps,
        )
        return y.permute([perm.index(a) for a in range(x.ndim)])

    return fn


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape, axis",
    [
        ((4, 7), -1),
        ((3, 4, 5), -1),
        ((3, 4, 5), [1, 2]),
        ((3, 4, 5), [-2, -1]),
        ((3, 4, 5), 1),
        ((2, 3, 4, 5), [1, 3]),
        ((3, 4, 5), [2, 1]),  # unsorted: gamma is (5, 4), gamma[i, j] scales x[:, j, i]
    ],
)
def test_layer_normalization_matches_torch_values_and_gradients(dtype, shape, axis):
    rng = np.random.default_rng(0)
    eps = 1e-3
    layer = LayerNormalization(axis=axis, epsilon=eps, dtype=dtype)
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    layer.build(x.shape)
    axes = [a % len(shape) for a in (axis if isinstance(axis, list) else [axis])]
    assert layer.gamma.shape == layer.beta.shape == tuple(shape[a] for a in axes)
    gamma = rng.uniform(0.5, 1.5, layer.gamma.shape).astype(dtype)
    beta = rng.standard_normal(layer.beta.shape).astype(dtype)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    _compare(layer, _torch_layer_norm(axes, eps), x, [gamma, beta], dtype)


@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_layer_normalization_without_center_or_scale(center, scale):
    rng = np.random.default_rng(1)
    layer = LayerNormalization(center=center, scale=scale, epsilon=1e-5, dtype="float64")
    x = rng.standard_normal((5, 6))
    layer.build(x.shape)
    params = []
    if scale:
        params.append(rng.uniform(0.5, 1.5, 6))
        layer.gamma.assign(params[-1])
    if center:
        params.append(rng.standard_normal(6))
        layer.beta.assign(params[-1])
    assert [v.name.split("/")[-1] for v in layer.weights] == (["gamma"] if scale else []) + (
        ["beta"] if center else []
    )
    fn = _torch_layer_norm([1], 1e-5, center=center, scale=scale)
    _compare(layer, fn, x, params, "float64")


def test_layer_normalization_is_stable_far_from_zero():
    """Centring before scaling: float32 inputs with a large mean keep their digits, about as
    well as torch's float32 layer_norm (measured against float64 on the same inputs)."""
    rng = np.random.default_rng(2)
    for offset, tolerance in ((1e2, 3e-5), (1e3, 3e-4), (1e4, 3e-3)):
        x = (rng.standard_normal((8, 256)) + offset).astype("float32")
        exact = F.layer_norm(torch.tensor(x, dtype=torch.float64), (256,), eps=1e-3).numpy()
        torch32 = F.layer_norm(torch.tensor(x), (256,), eps=1e-3).numpy()
        ours = LayerNormalization()(x).numpy()
        error = np.abs(ours - exact).max()
        assert error < tolerance
        assert error <= 2 * np.abs(torch32 - exact).max()


def test_layer_normalization_float16_is_computed_in_float32():
    # 4096 features near 100: their float16 sum (4e5) would overflow at 65504.
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((3, 4096)) * 5 + 100).astype("float16")
    layer = LayerNormalization(dtype="float16")
    y = layer(x)
    assert y.dtype == np.float16 and layer.gamma.dtype == np.float16
    exact = F.layer_norm(torch.tensor(x, dtype=torch.float64), (4096,), eps=1e-3).numpy()
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(y.numpy().astype("float64"), exact, atol=1e-2)
    group = GroupNormalization(groups=2, dtype="float16")(x)
    assert group.dtype == np.float16 and np.isfinite(group.numpy()).all()


def test_layer_normalization_passes_the_padding_mask_and_casts_integers():
    x = wg.constant(np.arange(24, dtype="float32").reshape(2, 3, 4))
    set_mask(x, [[True, True, False], [True, False, False]])
    y = LayerNormalization()(x)
    np.testing.assert_array_equal(get_mask(y), [[True, True, False], [True, False, False]])
    assert LayerNormalization()(np.arange(6).reshape(2, 3)).dtype == np.float32


# -- GroupNormalization ----------------------------------------------------------------------


def _torch_group_norm(groups, eps, channels_last, center=True, scale=True):
    def fn(x, *params):
        params = list(params)
        gamma = params.pop(0) if scale else None
        beta = params.pop(0) if center else None
        if channels_last:  # torch's group_norm takes (N, C, *)
            perm = [0, x.ndim - 1] + list(range(1, x.ndim - 1))
            y = F.group_norm(x.permute(perm), groups, gamma, beta, eps)
            return y.permute([perm.index(a) for a in range(x.ndim)])
        return F.group_norm(x, groups, gamma, beta, eps)

    return fn


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape, axis, groups",
    [
        ((3, 5, 6, 8), -1, 4),  # images, channels_last
        ((3, 8, 5, 6), 1, 2),  # images, channels_first
        ((3, 7, 6), -1, 3),  # sequences
        ((4, 6), -1, 2),  # features only
        ((3, 5, 8), -1, 1),  # one group: all of each sample, gamma per channel
        ((3, 5, 8), -1, -1),  # a group per channel: instance normalization
    ],
)
def test_group_normalization_matches_torch_values_and_gradients(dtype, shape, axis, groups):
    rng = np.random.default_rng(0)
    eps = 1e-3
    layer = GroupNormalization(groups=groups, axis=axis, epsilon=eps, dtype=dtype)
    x = (rng.standard_normal(shape) * 2 - 1).astype(dtype)
    layer.build(x.shape)
    channels = shape[axis]
    assert layer.gamma.shape == layer.beta.shape == (channels,)
    gamma = rng.uniform(0.5, 1.5, channels).astype(dtype)
    beta = rng.standard_normal(channels).astype(dtype)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    torch_groups = channels if groups == -1 else groups
    fn = _torch_group_norm(torch_groups, eps, channels_last=axis == -1)
    _compare(layer, fn, x, [gamma, beta], dtype)


def test_group_normalization_without_center_and_scale():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6))
    layer = GroupNormalization(groups=3, center=False, scale=False, dtype="float64")
    assert layer(x).shape == x.shape and layer.weights == []
    _compare(layer, _torch_group_norm(3, 1e-3, True, False, False), x, [], "float64")


# -- activation layers -----------------------------------------------------------------------


def _keras_relu(max_value, slope, threshold):
    """Keras's ReLU formula: max_value above the cap, x from the threshold up,
    slope * (x - threshold) below."""

    def fn(t):
        below = slope * (t - threshold)
        return torch.where(
            t >= max_value, torch.full_like(t, max_value), torch.where(t > threshold, t, below)
        )

    return fn


ACTIVATIONS = [
    ("relu", lambda **kw: ReLU(**kw), F.relu),
    ("relu6-cap", lambda **kw: ReLU(max_value=2.0, **kw), lambda t: F.hardtanh(t, 0.0, 2.0)),
    ("relu-leak", lambda **kw: ReLU(negative_slope=0.1, **kw), lambda t: F.leaky_relu(t, 0.1)),
    ("relu-threshold", lambda **kw: ReLU(threshold=0.5, **kw), lambda t: F.threshold(t, 0.5, 0.0)),
    (
        "relu-all",
        lambda **kw: ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5, **kw),
        _keras_relu(2.0, 0.1, 0.5),
    ),
    ("leaky_relu", lambda **kw: LeakyReLU(**kw), lambda t: F.leaky_relu(t, 0.3)),
    (
        "leaky_relu-0.05",
        lambda **kw: LeakyReLU(negative_slope=0.05, **kw),
        lambda t: F.leaky_relu(t, 0.05),
    ),
    ("elu", lambda **kw: ELU(**kw), F.elu),
    ("elu-0.7", lambda **kw: ELU(alpha=0.7, **kw), lambda t: F.elu(t, 0.7)),
    ("softmax", lambda **kw: Softmax(**kw), lambda t: torch.softmax(t, -1)),
    ("softmax-axis1", lambda **kw: Softmax(axis=1, **kw), lambda t: torch.softmax(t, 1)),
    (
        "softmax-axes12",
        lambda **kw: Softmax(axis=[1, 2], **kw),
        lambda t: torch.softmax(t.reshape(t.shape[0], -1), -1).reshape(t.shape),
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make, fn", [a[1:] for a in ACTIVATIONS], ids=[a[0] for a in ACTIVATIONS])
def test_activation_layers_match_torch_values_and_gradients(make, fn, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 5, 6)) * 2).astype(dtype)
    _compare(make(dtype=dtype), fn, x, [], dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "shape, shared_axes",
    [((6, 5), None), ((4, 7, 5), [1]), ((3, 4, 6, 5), [1, 2]), ((3, 4, 6, 5), [1, 2, 3])],
)
def test_prelu_matches_torch_prelu(dtype, shape, shared_axes):
    """F.prelu takes channels at axis 1 and one slope per channel (or a single one): the
    channels_last input is moved there."""
    rng = np.random.default_rng(0)
    layer = PReLU(shared_axes=shared_axes, dtype=dtype)
    x = rng.standard_normal(shape).astype(dtype)
    layer.build(x.shape)
    expected = tuple(1 if i in (shared_axes or ()) else shape[i] for i in range(1, len(shape)))
    assert layer.alpha.shape == expected
    alpha = rng.uniform(0.05, 0.5, expected).astype(dtype)
    layer.alpha.assign(alpha)

    def fn(t, a):
        perm = [0, t.ndim - 1] + list(range(1, t.ndim - 1))
        y = F.prelu(t.permute(perm), a.reshape(-1))
        return y.permute([perm.index(i) for i in range(t.ndim)])

    _compare(layer, fn, x, [alpha], dtype)


def test_prelu_with_a_slope_per_entry():
    rng = np.random.default_rng(1)
    layer = PReLU(alpha_initializer=wg.initializers.RandomUniform(0.1, 0.4), dtype="float64")
    x = rng.standard_normal((4, 3, 5))
    layer.build(x.shape)
    assert layer.alpha.shape == (3, 5)
    alpha = layer.alpha.numpy()
    assert ((alpha >= 0.1) & (alpha <= 0.4)).all()
    _compare(layer, lambda t, a: torch.where(t >= 0, t, a * t), x, [alpha], "float64")


def test_prelu_starts_as_relu_and_learns_its_slope():
    x = np.array([[-2.0, 3.0]], "float32")
    layer = PReLU()
    np.testing.assert_array_equal(layer(x).numpy(), [[0.0, 3.0]])
    assert [w.name for w in layer.trainable_weights] == [f"{layer.name}/alpha"]


def _masked_softmax_torch(keep):
    def fn(t):
        k = torch.tensor(keep)
        return torch.softmax(t.masked_fill(~k, -1e9), -1).masked_fill(~k, 0.0)

    return fn


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_softmax_mask_gives_masked_positions_zero_probability(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5)).astype(dtype)
    keep = rng.random((2, 1, 5)) > 0.3  # one key mask per sample, broadcast over queries
    keep[0, 0, 0] = True
    keep[1, 0, :] = False  # a fully masked row: zeros (Keras 3), not uniform
    layer = Softmax(dtype=dtype)
    _compare(layer, _masked_softmax_torch(keep), x, [], dtype, mask=keep)
    y = layer(x, mask=keep).numpy()
    assert (y[np.broadcast_to(~keep, y.shape)] == 0).all()
    np.testing.assert_allclose(y[0].sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(y[1], 0.0)
    # a float mask keeps the entries above one half, as Keras's
    np.testing.assert_array_equal(layer(x, mask=keep.astype(dtype)).numpy(), y)


def test_softmax_takes_the_inputs_padding_mask_over_leading_axes():
    x = wg.constant(np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32"))
    set_mask(x, [[True, True, False], [True, False, False]])
    y = Softmax()(x).numpy()
    np.testing.assert_allclose(y[0, :2].sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(y[0, 2], 0.0)
    np.testing.assert_array_equal(y[1, 1:], 0.0)


def test_softmax_with_a_mask_in_a_functional_model():
    scores = wg.Input((3, 4))
    keep = wg.Input((1, 4), dtype="bool")
    model = wg.Model([scores, keep], Softmax()(scores, mask=keep))
    x = np.zeros((2, 3, 4), "float32")
    k = np.array([[[True, True, False, False]], [[True, True, True, True]]])
    y = model.predict([x, k], verbose=0)
    np.testing.assert_allclose(y[0], np.tile([0.5, 0.5, 0.0, 0.0], (3, 1)))
    np.testing.assert_allclose(y[1], 0.25)


# -- reshaping layers ------------------------------------------------------------------------


RESHAPES = [  # (id, class, arguments, input shape, NumPy's result)
    ("repeat_vector", RepeatVector, {"n": 3}, (4, 5), lambda x: np.repeat(x[:, None], 3, 1)),
    ("permute", Permute, {"dims": (2, 1)}, (2, 4, 5), lambda x: x.transpose(0, 2, 1)),
    ("permute3", Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 5), lambda x: x.transpose(0, 3, 1, 2)),
    ("cropping1d", Cropping1D, {}, (2, 6, 3), lambda x: x[:, 1:-1]),
    ("cropping1d-asym", Cropping1D, {"cropping": (0, 2)}, (2, 6, 3), lambda x: x[:, :-2]),
    ("cropping1d-int", Cropping1D, {"cropping": 2}, (2, 6, 3), lambda x: x[:, 2:-2]),
    (
        "cropping2d",
        Cropping2D,
        {"cropping": ((1, 0), (2, 1))},
        (2, 5, 6, 3),
        lambda x: x[:, 1:, 2:-1, :],
    ),
    ("cropping2d-int", Cropping2D, {"cropping": 1}, (2, 5, 6, 3), lambda x: x[:, 1:-1, 1:-1, :]),
    (
        "cropping2d-first",
        Cropping2D,
        {"cropping": (1, 2), "data_format": "channels_first"},
        (2, 3, 5, 6),
        lambda x: x[:, :, 1:-1, 2:-2],
    ),
    ("upsampling1d", UpSampling1D, {"size": 3}, (2, 4, 3), lambda x: np.repeat(x, 3, 1)),
    ("upsampling1d-default", UpSampling1D, {}, (2, 4, 3), lambda x: np.repeat(x, 2, 1)),
    (
        "zero_padding1d",
        ZeroPadding1D,
        {},
        (2, 4, 3),
        lambda x: np.pad(x, ((0, 0), (1, 1), (0, 0))),
    ),
    (
        "zero_padding1d-asym",
        ZeroPadding1D,
        {"padding": (2, 0)},
        (2, 4, 3),
        lambda x: np.pad(x, ((0, 0), (2, 0), (0, 0))),
    ),
    (
        "zero_padding1d-first",
        ZeroPadding1D,
        {"padding": (0, 3), "data_format": "channels_first"},
        (2, 3, 4),
        lambda x: np.pad(x, ((0, 0), (0, 0), (0, 3))),
    ),
]


@pytest.mark.parametrize(
    "cls, kwargs, shape, expected", [r[1:] for r in RESHAPES], ids=[r[0] for r in RESHAPES]
)
def test_reshaping_layers_match_numpy_and_their_gradients_check(cls, kwargs, shape, expected):
    x = np.random.default_rng(0).standard_normal(shape)
    layer = cls(**kwargs, dtype="float64")
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), expected(x))
    check_grads(lambda t: layer(t), (x,), modes=("rev",), order=1)
    # integer inputs keep their dtype (shape ops do not compute)
    ints = np.arange(int(np.prod(shape))).reshape(shape)
    out = cls(**kwargs)(ints).numpy()
    assert out.dtype == ints.dtype
    np.testing.assert_array_equal(out, expected(ints))


# -- regularization layers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, shape, shared",
    [
        (lambda: SpatialDropout1D(0.4, seed=1), (64, 10, 32), (1,)),
        (lambda: SpatialDropout2D(0.4, seed=1), (32, 4, 5, 64), (1, 2)),
        (
            lambda: SpatialDropout2D(0.4, data_format="channels_first", seed=1),
            (32, 64, 4, 5),
            (2, 3),
        ),
    ],
    ids=["1d", "2d-last", "2d-first"],
)
def test_spatial_dropout_drops_whole_channels_in_training_only(make, shape, shared):
    layer = make()
    x = np.ones(shape, "float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference by default
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    # one keep-or-drop per (sample, channel), the same at every step or pixel
    first = y[tuple(slice(0, 1) if a in shared else slice(None) for a in range(len(shape)))]
    np.testing.assert_array_equal(y, np.broadcast_to(first, shape))
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.6)}
    assert abs((first == 0).mean() - 0.4) < 0.05  # 2048 channels: 5 sigma is 0.054
    assert abs(y.mean() - 1.0) < 0.1  # inverted dropout keeps the expectation
    # the same seed draws the same channels; the stream moves on between calls
    np.testing.assert_array_equal(make()(x, training=True).numpy(), y)
    assert not np.array_equal(layer(x, training=True).numpy(), y)


def test_spatial_dropout_gradient_is_its_mask():
    layer = SpatialDropout1D(0.5, seed=3)
    x = wg.constant(np.ones((4, 3, 6), "float32"))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), y.numpy())


def test_gaussian_noise_statistics_and_inference_identity():
    layer = GaussianNoise(0.5, seed=0)
    x = np.zeros((200, 100), "float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    noise = layer(x, training=True).numpy()
    assert noise.dtype == np.float32
    assert abs(noise.mean()) < 0.02  # standard error 0.0035
    assert abs(noise.std() - 0.5) < 0.01
    xt = wg.constant(np.ones((3, 4), "float32"))
    with wg.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=True)
    np.testing.assert_array_equal(tape.gradient(y, xt).numpy(), 1.0)  # additive noise
    np.testing.assert_array_equal(
        GaussianNoise(0.5, seed=4)(x, training=True).numpy(),
        GaussianNoise(0.5, seed=4)(x, training=True).numpy(),
    )
    np.testing.assert_array_equal(GaussianNoise(0.0)(x, training=True).numpy(), x)


def test_gaussian_dropout_statistics_and_inference_identity():
    rate = 0.2
    layer = GaussianDropout(rate, seed=0)
    x = np.ones((200, 100), "float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    assert abs(y.mean() - 1.0) < 0.02
    assert abs(y.std() - np.sqrt(rate / (1 - rate))) < 0.01  # 0.5
    xt = wg.constant(np.full((3, 4), 2.0, "float32"))
    with wg.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=True)
    np.testing.assert_allclose(tape.gradient(out, xt).numpy(), out.numpy() / 2.0)


def test_noise_layers_follow_the_global_seed_and_keep_a_stream_models_checkpoint():
    x = np.zeros((3, 4), "float32")
    draws = []
    for _ in range(2):
        wg.random.set_seed(5)
        draws.append(GaussianNoise(0.3)(x, training=True).numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    model = wg.Sequential([wg.layers.Input((4,)), GaussianNoise(0.1), GaussianDropout(0.1)])
    streams = model._generators()
    assert sum(key.startswith("layer:") for key in streams) == 2


def test_noise_layers_act_in_fit_only():
    wg.random.set_seed(0)
    x = np.random.default_rng(0).standard_normal((64, 6, 4)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    model = wg.Sequential(
        [
            wg.layers.Input((6, 4)),
            wg.layers.Dense(8),
            LayerNormalization(),
            PReLU(shared_axes=[1]),
            SpatialDropout1D(0.2),
            GaussianNoise(0.1),
            GaussianDropout(0.1),
            wg.layers.Flatten(),
            wg.layers.Dense(1),
        ]
    )
    model.compile(wg.optimizers.Adam(1e-2), "mse")
    first = model.evaluate(x, y, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0).history["loss"]
    assert np.isfinite(history).all() and model.evaluate(x, y, verbose=0) < first


def test_activity_regularization_adds_its_penalty_to_the_loss():
    layer = ActivityRegularization(l1=0.01, l2=0.001)
    x = np.array([[1.0, -2.0], [3.0, 0.5]], "float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)  # the identity
    (penalty,) = layer.losses
    assert float(penalty) == pytest.approx(0.01 * 6.5 + 0.001 * 14.25, rel=1e-6)
    assert layer.get_config()["l1"] == 0.01 and "activity_regularizer" not in layer.get_config()

    dense = wg.layers.Dense(2, kernel_initializer="ones", use_bias=False)
    model = wg.Sequential([wg.layers.Input((3,)), dense, ActivityRegularization(l2=0.5)])
    model.compile("sgd", "mse")
    data = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    target = np.zeros((8, 2), "float32")
    hidden = data @ np.ones((3, 2), "float32")
    expected = np.mean(hidden**2) + 0.5 * np.sum(hidden**2)
    assert model.evaluate(data, target, batch_size=8, verbose=0) == pytest.approx(
        expected, rel=1e-5
    )
    # the penalty's gradient reaches the kernel: with l2 only, the loss falls faster
    model.fit(data, target, batch_size=8, epochs=1, verbose=0)
    assert model.evaluate(data, target, batch_size=8, verbose=0) < expected


# -- models, configs, saving -----------------------------------------------------------------


MODEL_CASES = [
    ("layer_norm", lambda: LayerNormalization(axis=[1, 2], epsilon=1e-4), (5, 6)),
    ("layer_norm_reg", lambda: LayerNormalization(gamma_regularizer="l2"), (4,)),
    ("group_norm", lambda: GroupNormalization(groups=2, axis=1, center=False), (4, 5)),
    ("relu", lambda: ReLU(max_value=1.0, negative_slope=0.2, threshold=0.1), (3,)),
    ("leaky_relu", lambda: LeakyReLU(negative_slope=0.1), (3,)),
    ("prelu", lambda: PReLU(shared_axes=[1], alpha_constraint="non_neg"), (5, 4)),
    ("elu", lambda: ELU(alpha=0.5), (3,)),
    ("softmax", lambda: Softmax(axis=[1, 2]), (5, 4)),
    ("repeat_vector", lambda: RepeatVector(3), (4,)),
    ("permute", lambda: Permute((2, 1)), (5, 4)),
    ("cropping1d", lambda: Cropping1D((1, 2)), (6, 4)),
    ("cropping2d", lambda: Cropping2D(((1, 0), (0, 2)), data_format="channels_first"), (3, 6, 5)),
    ("upsampling1d", lambda: UpSampling1D(3), (5, 4)),
    ("zero_padding1d", lambda: ZeroPadding1D((1, 2)), (5, 4)),
    ("spatial_dropout1d", lambda: SpatialDropout1D(0.3, seed=2), (5, 4)),
    ("spatial_dropout2d", lambda: SpatialDropout2D(0.3, data_format="channels_first"), (3, 5, 4)),
    ("gaussian_noise", lambda: GaussianNoise(0.3, seed=1), (5, 4)),
    ("gaussian_dropout", lambda: GaussianDropout(0.3), (5, 4)),
    ("activity_regularization", lambda: ActivityRegularization(0.1, 0.2), (5, 4)),
]
MODEL_IDS = [c[0] for c in MODEL_CASES]


def _plain(config):
    """A config as JSON gives it back (tuples as lists)."""
    return json.loads(json.dumps(config))


def _randomise_weights(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.1, 1.0, w.shape) for w in model.get_weights()])


@pytest.mark.parametrize("make, shape", [c[1:] for c in MODEL_CASES], ids=MODEL_IDS)
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_layers_work_in_models_and_save_and_load(tmp_path, make, shape, kind):
    x = np.random.default_rng(1).standard_normal((2,) + shape).astype("float32")
    layer = make()
    if kind == "sequential":
        model = wg.Sequential([wg.layers.Input(shape), layer])
    else:
        inputs = wg.Input(shape)
        outputs = layer(inputs)
        model = wg.Model(inputs, outputs)
        assert outputs.shape == (None,) + layer(x).shape[1:]
    _randomise_weights(model)
    y = model.predict(x, verbose=0)
    np.testing.assert_array_equal(y, layer(x).numpy())
    path = str(tmp_path / "model.npz")
    model.save(path)
    loaded = wg.models.load_model(path)
    (restored,) = [lay for lay in loaded.layers if type(lay) is type(layer)]
    assert _plain(restored.get_config()) == _plain(layer.get_config())
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)
    assert len(loaded.losses) == len(model.losses)


@pytest.mark.parametrize("make, shape", [c[1:] for c in MODEL_CASES], ids=MODEL_IDS)
def test_get_config_round_trips_through_from_config_and_json(make, shape):
    layer = make()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    plain = _plain(config)  # tuples come back as lists
    assert _plain(type(layer).from_config(plain).get_config()) == plain


def test_keras_defaults_and_weight_names():
    assert LayerNormalization().get_config() | {"name": None} == {
        "name": None,
        "trainable": True,
        "dtype": "float32",
        "axis": -1,
        "epsilon": 1e-3,
        "center": True,
        "scale": True,
        "beta_initializer": {"class_name": "Zeros", "config": {}},
        "gamma_initializer": {"class_name": "Ones", "config": {}},
    }
    group = GroupNormalization()
    assert (group.groups, group.axis, group.epsilon) == (32, -1, 1e-3)
    group(np.zeros((1, 64), "float32"))
    assert [w.name.split("/")[-1] for w in group.weights] == ["gamma", "beta"]
    relu = ReLU()
    assert (relu.max_value, relu.negative_slope, relu.threshold) == (None, 0.0, 0.0)
    assert LeakyReLU().negative_slope == 0.3 and ELU().alpha == 1.0 and Softmax().axis == -1
    assert PReLU().get_config()["alpha_initializer"] == {"class_name": "Zeros", "config": {}}
    assert PReLU().shared_axes is None
    assert Cropping1D().cropping == (1, 1) and Cropping2D().cropping == ((0, 0), (0, 0))
    assert UpSampling1D().size == 2 and ZeroPadding1D().padding == (1, 1)
    assert ActivityRegularization().get_config()["l1"] == 0.0
    assert SpatialDropout2D(0.1).data_format == "channels_last"
    assert "noise_shape" not in SpatialDropout1D(0.1).get_config()
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        assert LeakyReLU(alpha=0.2).negative_slope == 0.2
    names = [ReLU().name, LeakyReLU().name, PReLU().name, ELU().name, Softmax().name]
    assert [n.rsplit("_", 1)[0] if n[-1].isdigit() else n for n in names] == [
        "re_lu",
        "leaky_re_lu",
        "p_re_lu",
        "elu",
        "softmax",
    ]


def test_regularizers_and_constraints_reach_the_weights():
    layer = LayerNormalization(gamma_regularizer=wg.regularizers.L2(0.5), beta_constraint="non_neg")
    layer(np.zeros((2, 3), "float32"))
    assert [round(float(p), 6) for p in layer.losses] == [1.5]  # 0.5 * (1 + 1 + 1)
    assert layer.beta.constraint is not None and layer.gamma.constraint is None
    prelu = PReLU(alpha_regularizer="l1", alpha_initializer="ones")
    prelu(np.zeros((2, 4), "float32"))
    assert [round(float(p), 6) for p in prelu.losses] == [0.04]


# -- errors ----------------------------------------------------------------------------------


BAD = [
    (lambda: LayerNormalization(axis=3, name="ln")(np.zeros((2, 3))), r"'ln'.*axis 3.*\(2, 3\)"),
    (lambda: LayerNormalization(axis=[1, -1], name="ln")(np.zeros((2, 3))), r"'ln'.*twice"),
    (lambda: GroupNormalization(3, name="gn")(np.zeros((2, 4))), r"'gn'.*groups=3.*4 chan"),
    (lambda: GroupNormalization(8, name="gn")(np.zeros((2, 4))), r"'gn'.*groups=8.*\(2, 4\)"),
    (lambda: GroupNormalization(groups=0, name="gn"), "'gn'.*groups must be positive"),
    (lambda: GroupNormalization(axis=0, name="gn")(np.zeros((2, 4))), "'gn'.*non-batch axis"),
    (lambda: ReLU(max_value=-1.0, name="re"), "ReLU 're'.*max_value"),
    (lambda: ReLU(negative_slope=-0.1, name="re"), "'re'.*negative_slope"),
    (lambda: ReLU(threshold=None, name="re"), "'re'.*threshold"),
    (lambda: LeakyReLU(negative_slope=-1, name="lr"), "LeakyReLU 'lr'.*negative_slope"),
    (lambda: PReLU(shared_axes=[0], name="pr"), "'pr'.*shared_axes.*>= 1"),
    (lambda: PReLU(shared_axes=[3], name="pr")(np.zeros((2, 4))), r"PReLU 'pr'.*\(2, 4\)"),
    (lambda: RepeatVector(2, name="rv")(np.zeros((2, 3, 4))), r"'rv'.*ndim=2.*\(2, 3, 4\)"),
    (lambda: RepeatVector(-1, name="rv"), "RepeatVector 'rv'.*n must be >= 0"),
    (lambda: Permute((1, 3), name="pe"), r"Permute 'pe'.*permutation"),
    (lambda: Permute((2, 1), name="pe")(np.zeros((2, 3))), r"'pe'.*ndim=3"),
    (lambda: Cropping1D((2, 2), name="cr")(np.zeros((1, 4, 2))), r"'cr'.*\(1, 4, 2\)"),
    (lambda: Cropping1D(-1, name="cr"), "Cropping1D 'cr'.*non-negative"),
    (lambda: Cropping2D((1, 2, 3), name="cr"), r"Cropping2D 'cr'.*2 pairs"),
    (lambda: Cropping2D(((3, 3), (0, 0)), name="cr")(np.zeros((1, 6, 4, 2))), r"'cr'.*axis 1"),
    (lambda: Cropping2D(data_format="nhwc", name="cr"), "'cr'.*data_format"),
    (lambda: UpSampling1D(0, name="up"), "UpSampling1D 'up'.*positive"),
    (lambda: ZeroPadding1D((1, 2, 3), name="zp"), "ZeroPadding1D 'zp'"),
    (lambda: SpatialDropout1D(1.0), r"SpatialDropout1D.*\[0, 1\)"),
    (lambda: SpatialDropout1D(0.5, name="sd")(np.zeros((2, 3))), r"'sd'.*ndim=3.*\(2, 3\)"),
    (lambda: SpatialDropout2D(0.5, name="sd")(np.zeros((2, 3, 4))), r"'sd'.*ndim=4"),
    (lambda: GaussianNoise(-0.1, name="gn"), "GaussianNoise 'gn'.*stddev"),
    (lambda: GaussianDropout(1.0, name="gd"), "GaussianDropout 'gd'.*rate"),
    (lambda: ActivityRegularization(l1=-1), "ActivityRegularization.*l1"),
]


@pytest.mark.parametrize("call, match", BAD)
def test_bad_arguments_and_inputs_raise_value_errors_naming_the_layer(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: LayerNormalization(axis="x", name="ln"), "'ln'.*axis must be an int"),
        (lambda: Softmax(axis="last", name="sm"), "Softmax 'sm'.*axis"),
        (lambda: RepeatVector(2.5, name="rv"), "RepeatVector 'rv'.*n must be an int"),
        (lambda: PReLU(shared_axes="1", name="pr"), "'pr'.*shared_axes"),
    ],
)
def test_arguments_of_the_wrong_type_raise_type_errors(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_shape_mismatches_after_build_name_the_layer_and_shapes():
    norm = LayerNormalization(name="norm")
    norm(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"'norm'.*axis -1.*value 4.*\(2, 5\)"):
        norm(np.zeros((2, 5), "float32"))
    prelu = PReLU(name="slopes")
    prelu(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"'slopes'.*\(2, 5, 4\)"):
        prelu(np.zeros((2, 5, 4), "float32"))
    with pytest.raises(ValueError, match=r"Softmax 'sm'.*\(2, 3\).*\(2, 2\)"):
        Softmax(name="sm")(np.zeros((2, 3), "float32"), mask=np.ones((2, 2), bool))
    for make, what in (
        (lambda: PReLU(name="p"), "unshared"),
        (lambda: LayerNormalization(axis=1, name="ln"), "must be known"),
        (lambda: GroupNormalization(axis=1, name="gn"), "must be known"),
    ):
        with pytest.raises(ValueError, match=rf"'(p|ln|gn)'.*{what}.*\(None, None, 8\)"):
            make()(wg.Input((None, 8)))
    # axes of unknown size are fine where no weight spans them
    x = wg.Input((None, 8))
    assert PReLU(shared_axes=1)(x).shape == LayerNormalization()(x).shape == (None, None, 8)


@pytest.mark.parametrize("axis, shape", [(-1, (4, 6)), ([1, 2], (3, 4, 5)), ([2, 1], (3, 4, 5))])
def test_rms_normalization_matches_torch_with_gradients(axis, shape):
    torch = pytest.importorskip("torch")
    from wengert.layers.normalization import RMSNormalization

    rng = np.random.default_rng(21)
    x = rng.standard_normal(shape)
    layer = RMSNormalization(axis=axis, epsilon=1e-6, dtype="float64")
    layer.build(shape)
    scale = rng.standard_normal(layer.scale.shape)
    layer.scale.assign(scale)
    xt = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt)
        total = wg.reduce_sum(out * out * out)
    tx = torch.tensor(x, requires_grad=True)
    ts = torch.tensor(scale, requires_grad=True)
    tout = torch.nn.functional.rms_norm(
        tx, tuple(shape[1:]) if shape[1:] == scale.shape else (shape[-1],), ts, eps=1e-6
    )
    (tout**3).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    gx, gs = tape.gradient(total, [xt, layer.scale])
    np.testing.assert_allclose(gx.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gs.numpy(), ts.grad.numpy(), rtol=1e-9, atol=1e-12)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    with pytest.raises(ValueError, match="non-batch axis"):
        RMSNormalization(axis=0)(wg.ones((2, 3)))
