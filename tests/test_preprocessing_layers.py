"""Keras 3's value-wise preprocessing layers (wengert.layers.preprocessing).

Values are checked against NumPy computations written here (and torch where it has the
op: F.normalize for UnitNormalization, F.alpha_dropout for AlphaDropout's constants); the
random layers by what each output must be given its input (a flip of it, one contrast
factor or brightness delta per image) and by their statistics over many images;
gradients by finite differences in float64 (check_grads) and by their closed forms.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import wengert as wg
from wengert.layers.preprocessing import (
    AlphaDropout,
    CategoryEncoding,
    Discretization,
    Identity,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    Rescaling,
    UnitNormalization,
)
from wengert.test_util import check_grads

RNG = np.random.default_rng(1234)


def _images(shape, low=0.0, high=255.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


def _gradient(layer, x, g, **call_kwargs):
    """d sum(layer(x) * g) / dx."""
    xt = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(xt)
        loss = wg.reduce_sum(layer(xt, **call_kwargs) * wg.constant(g))
    return tape.gradient(loss, xt).numpy()


# -- Rescaling, Identity ---------------------------------------------------------------------
def test_rescaling_values_scalar_and_per_channel():
    x = RNG.integers(0, 256, (2, 3, 4, 3))
    out = Rescaling(1 / 127.5, offset=-1.0)(x)
    assert out.dtype == "float32"  # integer images give floats
    np.testing.assert_allclose(out.numpy(), x / 127.5 - 1.0, rtol=1e-6, atol=1e-6)
    scale, offset = [0.5, 2.0, -1.0], [1.0, 0.0, 3.0]
    out = Rescaling(scale, offset)(x.astype("float32")).numpy()
    expected = x * np.array(scale)[None, None, None, :] + np.array(offset)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # an array scale is kept as a plain list in the config
    assert Rescaling(np.array([1.0, 2.0])).get_config()["scale"] == [1.0, 2.0]


def test_rescaling_gradients_and_bad_per_channel_shape():
    x = RNG.standard_normal((2, 3, 2))
    layer = Rescaling([2.0, -3.0], offset=0.5, dtype="float64")
    check_grads(lambda t: layer(t), (x,), order=2)
    g = RNG.standard_normal((2, 3, 2))
    np.testing.assert_allclose(_gradient(layer, x, g), g * np.array([2.0, -3.0]))
    with pytest.raises(ValueError, match=r"Rescaling 'r'.*shape \(3,\).*\(2, 3, 2\)"):
        Rescaling([1.0, 2.0, 3.0], name="r")(x)
    with pytest.raises(TypeError, match="Rescaling.*scale"):
        Rescaling("big")


def test_identity_passes_values_and_mask_through():
    x = RNG.standard_normal((2, 3)).astype("float32")
    np.testing.assert_array_equal(Identity()(x).numpy(), x)
    masked = wg.layers.Masking()(np.array([[[1.0], [0.0]]], "float32"))
    assert wg.layers.base.get_mask(Identity()(masked)).tolist() == [[True, False]]


# -- RandomFlip ------------------------------------------------------------------------------
def _which_flip(out, image):
    """(flipped left-right, flipped top-bottom) for the one NumPy flip of ``image`` that
    ``out`` equals (None if it equals none)."""
    for h in (False, True):
        for v in (False, True):
            ref = image[:, ::-1] if h else image
            ref = ref[::-1] if v else ref
            if np.array_equal(out, ref):
                return h, v
    return None


@pytest.mark.parametrize(
    "mode, directions",
    [
        ("horizontal", {(False, False), (True, False)}),
        ("vertical", {(False, False), (False, True)}),
        ("horizontal_and_vertical", {(False, False), (True, False), (False, True), (True, True)}),
    ],
)
def test_random_flip_flips_each_image_with_probability_one_half(mode, directions):
    x = _images((2000, 3, 4, 2))  # no image equals a flip of itself
    out = RandomFlip(mode, seed=7)(x, training=True).numpy()
    flips = [_which_flip(o, i) for o, i in zip(out, x)]
    assert None not in flips and set(flips) == directions
    counts = {d: flips.count(d) for d in directions}
    # each combination has probability 1/|directions|; 5 standard deviations of slack
    p = 1 / len(directions)
    bound = 5 * np.sqrt(2000 * p * (1 - p))
    assert all(abs(c - 2000 * p) < bound for c in counts.values()), counts
    if mode == "horizontal_and_vertical":  # the two directions are drawn independently
        h = np.array([f[0] for f in flips])
        v = np.array([f[1] for f in flips])
        assert abs(np.corrcoef(h, v)[0, 1]) < 0.1


def test_random_flip_is_the_identity_at_inference_and_takes_one_image():
    x = _images((4, 3, 4, 2))
    flip = RandomFlip(seed=0)
    for training in (False, 0):
        np.testing.assert_array_equal(flip(x, training=training).numpy(), x)
    image = x[0]
    seen = {_which_flip(flip(image, training=True).numpy(), image) for _ in range(40)}
    assert seen == {(False, False), (True, False), (False, True), (True, True)}
    assert flip(image, training=True).shape == (3, 4, 2)
    assert RandomFlip()(x.astype("int32")).dtype == "float32"  # Keras outputs floats


def test_random_flip_gradient_is_the_flipped_cotangent():
    x = RNG.standard_normal((6, 3, 4, 2))
    g = RNG.standard_normal((6, 3, 4, 2))

    def make():
        return RandomFlip(seed=5, dtype="float64")

    check_grads(lambda t: make()(t, training=True), (x,), order=2)
    out = make()(x, training=True).numpy()
    grad = _gradient(make(), x, g, training=True)
    for o, i, gi, di in zip(out, x, g, grad):
        h, v = _which_flip(o, i)
        ref = gi[:, ::-1] if h else gi  # a flip is its own inverse (and transpose)
        ref = ref[::-1] if v else ref
        np.testing.assert_array_equal(di, ref)


def test_random_flip_and_contrast_take_channels_first():
    x = _images((300, 2, 3, 4), 0.0, 1.0)  # (batch, channels, height, width)
    out = RandomFlip(seed=2, data_format="channels_first")(x, training=True).numpy()
    last = x.transpose(0, 2, 3, 1)
    flips = [_which_flip(o, i) for o, i in zip(out.transpose(0, 2, 3, 1), last)]
    assert None not in flips and len(set(flips)) == 4
    layer = RandomContrast(0.5, value_range=(-1e4, 1e4), seed=2, data_format="channels_first")
    out = layer(x, training=True).numpy()
    c = _contrast_factors(out.transpose(0, 2, 3, 1), last)
    assert c.min() >= 0.5 - 1e-5 and c.max() <= 1.5 + 1e-5
    with pytest.raises(ValueError, match="RandomFlip.*data_format.*'nchw'"):
        RandomFlip(data_format="nchw")


# -- RandomContrast --------------------------------------------------------------------------
def _contrast_factors(out, x):
    """The factor c of each image, fitted by least squares to out = (x - m) c + m with m
    the per-channel mean over height and width; asserts that this one c reproduces every
    pixel and channel of the image."""
    mean = x.mean(axis=(-3, -2), keepdims=True).astype("float64")
    centred, moved = x - mean, out - mean
    c = (centred * moved).sum(axis=(1, 2, 3)) / (centred**2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(out, centred * c[:, None, None, None] + mean, atol=1e-5)
    return c


def test_random_contrast_matches_keras_formula_with_one_factor_per_image():
    x = _images((500, 4, 5, 3), 0.0, 1.0)
    layer = RandomContrast(0.5, value_range=(-100, 100), seed=3)  # wide: nothing clipped
    out = layer(x, training=True).numpy()
    c = _contrast_factors(out, x)
    # factors come from [1 - 0.5, 1 + 0.5] and cover it, lowering and raising contrast
    assert c.min() >= 0.5 - 1e-5 and c.max() <= 1.5 + 1e-5
    assert c.min() < 0.55 and c.max() > 1.45 and abs(np.mean(c) - 1.0) < 0.05
    assert len(np.unique(np.round(c, 5))) > 400  # one draw per image
    # each channel's mean over height and width is kept
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-5)


def test_random_contrast_clips_to_value_range_and_takes_factor_pairs():
    x = _images((300, 4, 4, 3), 0.0, 255.0, seed=1)
    out = RandomContrast((0.2, 0.9), seed=4)(x, training=True).numpy()  # value_range (0, 255)
    assert out.min() >= 0.0 and out.max() <= 255.0
    mean = x.mean(axis=(1, 2), keepdims=True)
    inside = (out > 0) & (out < 255)
    # recover each image's factor from an unclipped pixel; the clipped reference follows
    c = np.array([np.median(((o - m) / (i - m))[k]) for o, i, m, k in zip(out, x, mean, inside)])
    assert c.min() >= 0.8 - 1e-5 and c.max() <= 1.9 + 1e-5
    expected = np.clip((x - mean) * c[:, None, None, None] + mean, 0, 255)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-3)


def test_random_contrast_gradient_and_one_image():
    x = RNG.uniform(0.2, 0.8, (3, 4, 5, 2))
    g = RNG.standard_normal((3, 4, 5, 2))

    def make():
        return RandomContrast(0.4, value_range=(-10, 10), seed=2, dtype="float64")

    check_grads(lambda t: make()(t, training=True), (x,), order=2)
    c = _contrast_factors(make()(x, training=True).numpy(), x)
    # d/dx of (x - mean(x)) c + mean(x): c g + (1 - c) mean(g) over height and width
    gmean = g.mean(axis=(1, 2), keepdims=True)
    expected = c[:, None, None, None] * g + (1 - c[:, None, None, None]) * gmean
    np.testing.assert_allclose(_gradient(make(), x, g, training=True), expected, rtol=1e-10)
    image = _images((4, 5, 3), 0.0, 1.0)
    out = RandomContrast(0.3, value_range=(-9, 9), seed=1)(image, training=True).numpy()
    _contrast_factors(out[None], image[None])
    np.testing.assert_array_equal(RandomContrast(0.3)(image, training=False).numpy(), image)


# -- RandomBrightness ------------------------------------------------------------------------
def test_random_brightness_adds_one_delta_per_image_scaled_by_the_value_range():
    x = _images((400, 3, 4, 3), 100.0, 150.0)  # deltas up to 0.2 * 255 clip nothing
    out = RandomBrightness(0.2, seed=3)(x, training=True).numpy()
    delta = (out - x).reshape(400, -1)
    np.testing.assert_allclose(delta, delta[:, :1].repeat(delta.shape[1], 1), atol=1e-4)
    d = delta[:, 0] / 255.0
    assert d.min() >= -0.2 - 1e-6 and d.max() <= 0.2 + 1e-6
    assert d.min() < -0.18 and d.max() > 0.18 and abs(d.mean()) < 0.02
    # a pair gives that interval: only brighter here
    out = RandomBrightness((0.3, 0.1), value_range=(0, 1), seed=1)(x / 255, training=True)
    d = (out.numpy() - x / 255)[:, 0, 0, 0]
    assert d.min() >= 0.1 - 1e-6 and d.max() <= 0.3 + 1e-6


def test_random_brightness_clips_and_is_the_identity_at_inference():
    x = np.array([[[[0.05], [0.5], [0.95]]]], "float32")  # one image, 1 x 3 x 1
    out = RandomBrightness((1.0, 1.0), value_range=(0, 1), seed=0)(x, training=True).numpy()
    np.testing.assert_array_equal(out, np.ones_like(x))  # delta 1 * (1 - 0): all white
    out = RandomBrightness((-0.1, -0.1), value_range=(0, 1), seed=0)(x, training=True).numpy()
    np.testing.assert_allclose(out, np.clip(x - 0.1, 0, 1), atol=1e-7)
    np.testing.assert_array_equal(RandomBrightness(0.5)(x, training=False).numpy(), x)
    assert RandomBrightness(0.5)(x[0], training=True).shape == (1, 3, 1)
    # reversed value_range is sorted, as Keras sorts it
    assert RandomBrightness(0.1, value_range=(255, 0)).get_config()["value_range"] == (0.0, 255.0)


def test_random_brightness_gradient_is_one_where_unclipped():
    x = RNG.uniform(0.2, 0.8, (3, 4, 5, 2))

    def make():
        return RandomBrightness(0.1, value_range=(0, 1), seed=2, dtype="float64")

    check_grads(lambda t: make()(t, training=True), (x,), order=2)
    x[0, 0, 0, 0] = 0.99  # clipped for a positive delta, so no gradient there
    out = make()(x, training=True).numpy()
    g = RNG.standard_normal(x.shape)
    expected = np.where((out > 0) & (out < 1), g, 0.0)
    np.testing.assert_array_equal(_gradient(make(), x, g, training=True), expected)


# -- UnitNormalization -----------------------------------------------------------------------
def test_unit_normalization_matches_torch_normalize():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((4, 3, 5))
    for axis in (-1, 1, 0):
        out = UnitNormalization(axis=axis, dtype="float64")(x).numpy()
        ref = torch.nn.functional.normalize(torch.from_numpy(x), dim=axis).numpy()
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    # several axes: the norm over all of them (NumPy reference)
    out = UnitNormalization(axis=[1, 2], dtype="float64")(x).numpy()
    np.testing.assert_allclose(out, x / np.sqrt((x**2).sum(axis=(1, 2), keepdims=True)), rtol=1e-12)
    zero = UnitNormalization()(np.zeros((1, 3), "float32")).numpy()
    np.testing.assert_array_equal(zero, np.zeros((1, 3)))


def test_unit_normalization_gradients_match_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 4))
    g = RNG.standard_normal((3, 4))
    layer = UnitNormalization(dtype="float64")
    check_grads(lambda t: layer(t), (x,), order=2)
    check_grads(lambda t: UnitNormalization([0, 1], dtype="float64")(t), (x,), order=2)
    xt = torch.from_numpy(x).requires_grad_()
    (torch.nn.functional.normalize(xt, dim=-1) * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(_gradient(layer, x, g), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    grad = _gradient(UnitNormalization(), np.zeros((1, 3), "float32"), np.ones((1, 3), "float32"))
    assert np.isfinite(grad).all()


def test_unit_normalization_float16_zero_vector_and_values():
    x = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [1e-4, 0.0, 0.0]], np.float16)
    out = UnitNormalization(dtype="float16")(x)
    assert out.dtype == "float16"
    expected = np.array([[0, 0, 0], [0.6, 0.8, 0], [1, 0, 0]], np.float16)
    np.testing.assert_array_equal(out.numpy(), expected)
    # (at a zero vector the gradient is 1 / sqrt(1e-12) = 1e6, beyond float16's range)
    grad = _gradient(UnitNormalization(dtype="float16"), x[1:], np.ones((2, 3), np.float16))
    assert grad.dtype == np.float16 and np.isfinite(grad).all()


def test_unit_normalization_equivalent_axes_count_once():
    x = RNG.standard_normal((2, 3, 4))
    once = UnitNormalization(axis=-1, dtype="float64")(x).numpy()
    np.testing.assert_array_equal(UnitNormalization(axis=[-1, 2], dtype="float64")(x).numpy(), once)
    both = UnitNormalization(axis=[1, 2], dtype="float64")(x).numpy()
    got = UnitNormalization(axis=[-1, 1, 2, -2], dtype="float64")(x).numpy()
    np.testing.assert_array_equal(got, both)


def test_unit_normalization_bad_axis():
    with pytest.raises(TypeError, match="UnitNormalization 'u'.*axis.*'last'"):
        UnitNormalization(axis="last", name="u")
    with pytest.raises(ValueError, match=r"UnitNormalization.*axis 2.*rank 2.*\(2, 3\)"):
        UnitNormalization(axis=2)(np.ones((2, 3), "float32"))


# -- AlphaDropout ----------------------------------------------------------------------------
def _torch_alpha_dropout_constants(rate):
    """(a, b, dropped value) of torch's alpha_dropout, read off its output: kept entries
    are a x + b, dropped ones all one value."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = torch.randn(20000, dtype=torch.float64)
    y = torch.nn.functional.alpha_dropout(x, rate, training=True).numpy()
    values, counts = np.unique(y, return_counts=True)
    dropped = values[np.argmax(counts)]
    kept = y != dropped
    a, b = np.polyfit(x.numpy()[kept], y[kept], 1)
    return a, b, dropped


@pytest.mark.parametrize("rate", [0.1, 0.3])
def test_alpha_dropout_matches_torch_constants(rate):
    a, b, dropped = _torch_alpha_dropout_constants(rate)
    x = RNG.standard_normal((200, 100))
    out = AlphaDropout(rate, seed=1, dtype="float64")(x, training=True).numpy()
    is_kept = np.isclose(out, a * x + b, rtol=0, atol=1e-9)
    is_dropped = np.isclose(out, dropped, rtol=0, atol=1e-9)
    assert (is_kept | is_dropped).all()
    assert abs(is_dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / x.size)


def test_alpha_dropout_keeps_mean_zero_and_variance_one():
    x = np.random.default_rng(3).standard_normal((400, 1000)).astype("float32")
    for rate in (0.05, 0.2, 0.5):
        out = AlphaDropout(rate, seed=2)(x, training=True).numpy()
        assert abs(out.mean()) < 0.01 and abs(out.var() - 1.0) < 0.01, (rate, out.mean())
    # SELU activations of standard-normal preactivations keep mean 0, variance 1 too
    selu = wg.nn.selu(wg.constant(x)).numpy().astype("float64")
    selu = (selu - selu.mean()) / selu.std()
    out = AlphaDropout(0.1, seed=4, dtype="float64")(selu, training=True).numpy()
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1.0) < 0.01


def test_alpha_dropout_inference_noise_shape_gradients_and_rate():
    x = RNG.standard_normal((4, 5, 6))
    drop = AlphaDropout(0.4, noise_shape=(None, 1, 6), seed=0, dtype="float64")
    np.testing.assert_array_equal(drop(x).numpy(), x)
    np.testing.assert_array_equal(drop(x, training=False).numpy(), x)
    g = RNG.standard_normal(x.shape)
    grad = _gradient(drop, x, g, training=True)
    slope = grad / g  # torch's a where kept, 0 where dropped, shared along axis 1
    a = _torch_alpha_dropout_constants(0.4)[0]
    kept = np.isclose(slope, a, rtol=1e-9)
    assert (kept | (slope == 0)).all() and 0 < kept.mean() < 1
    assert (kept == kept[:, :1, :]).all()
    check_grads(
        lambda t: AlphaDropout(0.3, seed=9, dtype="float64")(t, training=True), (x,), order=2
    )
    for bad in (-0.1, 1.0, "half"):
        with pytest.raises(ValueError, match="AlphaDropout.*rate must be in"):
            AlphaDropout(bad)
    with pytest.raises(ValueError, match=r"AlphaDropout.*noise_shape \(1, 6\).*\(4, 5, 6\)"):
        AlphaDropout(0.2, noise_shape=(1, 6))(x, training=True)


# -- CategoryEncoding ------------------------------------------------------------------------
def _one_hot_ref(ids, n):
    ids = np.asarray(ids)
    return (ids[..., None] == np.arange(n)).astype("float32")


def test_category_encoding_keras_examples():
    # the three examples of Keras 3's CategoryEncoding docstring
    out = CategoryEncoding(num_tokens=4, output_mode="one_hot")([3, 2, 0, 1]).numpy()
    np.testing.assert_array_equal(out, np.eye(4)[[3, 2, 0, 1]])
    out = CategoryEncoding(num_tokens=4, output_mode="multi_hot")([[0, 1], [0, 0], [1, 2], [3, 1]])
    np.testing.assert_array_equal(
        out.numpy(), [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    )
    weights = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]])
    out = CategoryEncoding(num_tokens=4, output_mode="count")(
        [[0, 1], [0, 0], [1, 2], [3, 1]], count_weights=weights
    )
    np.testing.assert_allclose(
        out.numpy(),
        [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0], [0, 0.2, 0, 0.4]],
        rtol=1e-6,
    )


def test_category_encoding_against_numpy():
    ids = RNG.integers(0, 6, (10, 7))
    one = CategoryEncoding(6, "one_hot")(ids).numpy()
    np.testing.assert_array_equal(one, _one_hot_ref(ids, 6))
    counts = CategoryEncoding(6, "count")(ids).numpy()
    np.testing.assert_array_equal(counts, [np.bincount(row, minlength=6) for row in ids])
    multi = CategoryEncoding(6)(ids).numpy()
    np.testing.assert_array_equal(multi, counts > 0)
    # a trailing axis of 1 is replaced in one_hot mode; a scalar is one sample
    np.testing.assert_array_equal(
        CategoryEncoding(3, "one_hot")(np.array([[2], [0]])).numpy(), [[0, 0, 1], [1, 0, 0]]
    )
    np.testing.assert_array_equal(CategoryEncoding(3)(2).numpy(), [0, 0, 1])
    np.testing.assert_array_equal(CategoryEncoding(3, "count")([2, 2, 0]).numpy(), [1, 0, 2])
    # whole-number floats are token ids too; the output has the layer's dtype
    out = CategoryEncoding(3, "one_hot", dtype="float64")(np.array([1.0, 2.0]))
    assert out.dtype == "float64"
    np.testing.assert_array_equal(out.numpy(), [[0, 1, 0], [0, 0, 1]])


def test_category_encoding_count_weights_get_gradients():
    ids = np.array([[0, 1, 1], [3, 3, 2]])
    w = wg.constant(RNG.uniform(size=(2, 3)))
    g = RNG.standard_normal((2, 4))
    layer = CategoryEncoding(4, "count", dtype="float64")
    with wg.GradientTape() as tape:
        tape.watch(w)
        loss = wg.reduce_sum(layer(ids, count_weights=w) * wg.constant(g))
    # d/dw[i, j] of sum_k g[i, k] [ids[i, j] == k] w[i, j] is g[i, ids[i, j]]
    np.testing.assert_allclose(
        tape.gradient(loss, w).numpy(), np.take_along_axis(g, ids, 1), rtol=1e-12
    )


def test_category_encoding_errors():
    for bad in (-3, 0, 2.5, None):
        with pytest.raises(ValueError, match=f"CategoryEncoding.*num_tokens.*>= 1.*{bad}"):
            CategoryEncoding(bad)
    with pytest.raises(ValueError, match="CategoryEncoding.*output_mode.*'tf_idf'"):
        CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(NotImplementedError, match="CategoryEncoding.*sparse=True"):
        CategoryEncoding(3, sparse=True)
    layer = CategoryEncoding(4, name="enc")
    with pytest.raises(ValueError, match=r"'enc'.*\[0, num_tokens=4\).*\[-1, 4, 7\].*\(2, 2\)"):
        layer(np.array([[4, -1], [7, 0]]))
    with pytest.raises(ValueError, match="'enc'.*non-integer"):
        layer(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="'enc'.*count_weights.*'count'"):
        layer([0, 1], count_weights=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"count_weights.*shape \(2,\).*\(3,\)"):
        CategoryEncoding(4, "count")([0, 1], count_weights=[1.0, 1.0, 1.0])


# -- Discretization --------------------------------------------------------------------------
def test_discretization_with_boundaries_matches_a_direct_count():
    boundaries = [-1.0, 0.0, 0.5, 2.0]
    x = RNG.uniform(-3, 3, (5, 6)).astype("float32")
    x[0, :4] = boundaries  # a value on a boundary goes to the bin above it
    out = Discretization(bin_boundaries=boundaries)(x)
    assert out.dtype == "int64"
    expected = sum((x >= b).astype("int64") for b in boundaries)
    np.testing.assert_array_equal(out.numpy(), expected)
    # the Keras docstring's example
    data = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    np.testing.assert_array_equal(
        Discretization(bin_boundaries=[0.0, 1.0, 2.0])(data).numpy(), [[0, 2, 3, 1], [1, 3, 2, 1]]
    )
    # other output modes encode the bin index as CategoryEncoding does
    one = Discretization(bin_boundaries=boundaries, output_mode="one_hot")(x[0]).numpy()
    np.testing.assert_array_equal(one, _one_hot_ref(expected[0], 5))
    count = Discretization(bin_boundaries=boundaries, output_mode="count")(x).numpy()
    np.testing.assert_array_equal(count, [np.bincount(r, minlength=5) for r in expected])


def test_discretization_adapt_matches_keras_and_numpy_quantiles():
    # the Keras docstring's example: adapt then call on the same data
    data = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    layer = Discretization(num_bins=4, epsilon=0.01)
    layer.adapt(data)
    np.testing.assert_array_equal(layer(data).numpy(), [[0, 2, 3, 2], [1, 3, 3, 1]])
    # fewer than 1/epsilon values: the exact interpolated-inverted-CDF quantiles
    values = RNG.standard_normal(80).astype("float32")
    layer = Discretization(num_bins=5, epsilon=0.01)
    layer.adapt(wg.constant(values))
    expected = np.quantile(values, [0.2, 0.4, 0.6, 0.8], method="interpolated_inverted_cdf")
    np.testing.assert_allclose(layer.bin_boundaries, expected, rtol=1e-6, atol=1e-7)


def test_discretization_adapt_on_large_data_makes_nearly_equal_bins():
    values = np.random.default_rng(5).exponential(size=20000)
    layer = Discretization(num_bins=10, epsilon=0.01)
    layer.adapt(values)
    assert len(layer.bin_boundaries) == 9
    # each boundary's rank is within epsilon of its target fraction of the data
    ranks = [(values < b).mean() for b in layer.bin_boundaries]
    np.testing.assert_allclose(ranks, np.arange(1, 10) / 10, atol=0.01)
    counts = np.bincount(layer(values.reshape(100, 200)).numpy().ravel(), minlength=10)
    np.testing.assert_allclose(counts / values.size, 0.1, atol=0.02)


def test_discretization_config_round_trips_after_adapt():
    layer = Discretization(num_bins=3, name="d")
    layer.adapt(np.arange(30.0))
    config = json.loads(json.dumps(layer.get_config()))
    assert config["num_bins"] == 3 and len(config["bin_boundaries"]) == 2
    clone = Discretization.from_config(config)
    assert clone.get_config() == layer.get_config()
    x = np.linspace(-5, 35, 17)
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


def test_discretization_errors():
    with pytest.raises(ValueError, match="Discretization.*not both"):
        Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ValueError, match="Discretization.*either bin_boundaries or num_bins"):
        Discretization()
    with pytest.raises(ValueError, match="Discretization.*sorted.*\\[1.0, 0.0\\]"):
        Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="Discretization.*num_bins.*>= 1.*-2"):
        Discretization(num_bins=-2)
    for bad in (0, 1.5, "small"):
        with pytest.raises(ValueError, match=f"Discretization.*epsilon.*\\(0, 1\\).*{bad}"):
            Discretization(num_bins=2, epsilon=bad)
    with pytest.raises(ValueError, match="Discretization.*output_mode.*'bins'"):
        Discretization(num_bins=2, output_mode="bins")
    with pytest.raises(NotImplementedError, match="Discretization.*sparse"):
        Discretization(num_bins=2, output_mode="one_hot", sparse=True)
    with pytest.raises(ValueError, match="Discretization 'fixed'.*num_bins instead"):
        Discretization(bin_boundaries=[0.0], name="fixed").adapt([1.0, 2.0])
    with pytest.raises(ValueError, match="Discretization 'fresh'.*adapt"):
        Discretization(num_bins=2, name="fresh")(np.ones((2, 2)))


# -- image-layer errors ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomFlip(name="img"),
        lambda: RandomContrast(0.2, name="img"),
        lambda: RandomBrightness(0.2, name="img"),
    ],
    ids=["flip", "contrast", "brightness"],
)
def test_image_layers_reject_other_ranks_in_training_and_inference(make):
    layer = make()
    name = type(layer).__name__
    for shape in [(4, 4), (2, 3, 4, 4, 1)]:
        for training in (True, False):
            with pytest.raises(ValueError, match=rf"{name} 'img'.*rank 3.*4.*{shape}"):
                layer(np.ones(shape, "float32"), training=training)


def test_bad_factors_modes_and_value_ranges():
    with pytest.raises(ValueError, match="RandomFlip.*mode.*'diagonal'"):
        RandomFlip("diagonal")
    for bad in (-0.1, 1.5, (0.2, 1.2), (0.1, 0.2, 0.3), "x"):
        expected = rf"RandomContrast.*factor.*\[0, 1\], got {re.escape(repr(bad))}"
        with pytest.raises(ValueError, match=expected):
            RandomContrast(bad)
    for bad in (1.5, -2.0, (-1.5, 0.0), [0.1]):
        expected = rf"RandomBrightness.*factor.*\[-1, 1\], got {re.escape(repr(bad))}"
        with pytest.raises(ValueError, match=expected):
            RandomBrightness(bad)
    with pytest.raises(ValueError, match="RandomContrast.*value_range.*pair"):
        RandomContrast(0.1, value_range=255)
    with pytest.raises(ValueError, match="RandomBrightness.*value_range.*interval"):
        RandomBrightness(0.1, value_range=(1, 1))


# -- seeds, configs, models ------------------------------------------------------------------
RANDOM_LAYERS = [
    lambda seed: RandomFlip(seed=seed),
    lambda seed: RandomContrast(0.5, seed=seed),
    lambda seed: RandomBrightness(0.5, seed=seed),
    lambda seed: AlphaDropout(0.3, seed=seed),
]
RANDOM_IDS = ["flip", "contrast", "brightness", "alpha_dropout"]


@pytest.mark.parametrize("make", RANDOM_LAYERS, ids=RANDOM_IDS)
def test_seeds_make_the_random_layers_repeatable(make):
    x = _images((8, 4, 5, 3))
    a, b, c = make(11), make(11), make(12)
    first = [a(x, training=True).numpy() for _ in range(3)]
    np.testing.assert_array_equal(first, [b(x, training=True).numpy() for _ in range(3)])
    assert not np.array_equal(first[0], c(x, training=True).numpy())
    assert not np.array_equal(first[0], first[1])  # the stream moves on between calls
    # without a seed, the global seed decides
    wg.random.set_seed(3)
    d = make(None)(x, training=True).numpy()
    wg.random.set_seed(3)
    np.testing.assert_array_equal(make(None)(x, training=True).numpy(), d)


CONFIG_LAYERS = [
    lambda: Rescaling([0.5, 2.0], offset=-1.0),
    lambda: Identity(),
    lambda: RandomFlip("vertical", seed=3),
    lambda: RandomContrast((0.1, 0.4), value_range=(0, 1), seed=2),
    lambda: RandomBrightness(0.3, value_range=(-1, 1)),
    lambda: UnitNormalization(axis=[1, 2]),
    lambda: AlphaDropout(0.2, noise_shape=(None, 1), seed=5),
    lambda: CategoryEncoding(7, output_mode="count"),
    lambda: Discretization(bin_boundaries=[0.0, 1.5], output_mode="one_hot"),
    lambda: Discretization(num_bins=4, epsilon=0.05),
]


@pytest.mark.parametrize("make", CONFIG_LAYERS)
def test_get_config_round_trips_through_from_config_and_json(make):
    layer = make()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    plain = json.loads(json.dumps(config))
    assert json.loads(json.dumps(type(layer).from_config(plain).get_config())) == plain


def test_keras_config_defaults():
    config = RandomContrast(0.2).get_config()
    assert config["factor"] == (0.2, 0.2) and config["value_range"] == (0.0, 255.0)
    assert RandomBrightness(0.2).get_config()["factor"] == (-0.2, 0.2)
    assert RandomFlip().get_config()["mode"] == "horizontal_and_vertical"
    assert CategoryEncoding(3).get_config()["output_mode"] == "multi_hot"
    assert CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"
    assert Discretization(num_bins=2).get_config()["epsilon"] == 0.01


def test_sequential_with_augmentation_trains_with_fit():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 6, 6, 3)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) / 255.0)[:, None].astype("float32")
    flip = RandomFlip(seed=1)
    augment = [
        flip,
        RandomContrast(0.2, value_range=(0, 1), seed=2),
        RandomBrightness(0.1, value_range=(0, 1), seed=3),
    ]
    dense = wg.layers.Dense(1)
    model = wg.Sequential(
        [wg.layers.Input((6, 6, 3)), Rescaling(1 / 255.0), *augment, wg.layers.Flatten(), dense]
    )
    model.compile(wg.optimizers.Adam(1e-2), "mse")
    before = model.evaluate(x, y, verbose=0)
    states = [layer.generator.get_state() for layer in augment]
    # inference leaves the random streams alone and computes Dense(x / 255)
    predicted = model.predict(x, verbose=0)
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(predicted, (x / 255.0).reshape(64, -1) @ kernel + bias, 1e-4)
    assert [layer.generator.get_state() for layer in augment] == states
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0).history["loss"]
    # fit called them with training=True: every stream moved on
    assert all(layer.generator.get_state() != s for layer, s in zip(augment, states))
    assert np.isfinite(history).all() and model.evaluate(x, y, verbose=0) < before


def test_functional_model_with_unit_normalization_and_rescaling():
    inputs = wg.Input((4, 3))
    outputs = UnitNormalization(axis=[1, 2])(Rescaling([1.0, 2.0, 3.0])(inputs))
    model = wg.Model(inputs, outputs)
    assert outputs.shape == (None, 4, 3)
    x = RNG.standard_normal((5, 4, 3)).astype("float32")
    scaled = x * np.array([1.0, 2.0, 3.0])
    expected = scaled / np.sqrt((scaled**2).sum(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_model_save_and_load_keeps_the_layers_and_predictions(tmp_path):
    layers = [
        Rescaling([1 / 255, 1 / 255, 2 / 255]),
        RandomFlip(seed=1),
        RandomContrast(0.2, value_range=(0, 1), seed=2),
        RandomBrightness(0.1, value_range=(0, 1), seed=3),
        UnitNormalization(axis=[1, 2, 3]),
        AlphaDropout(0.1, seed=4),
        Identity(),
    ]
    model = wg.Sequential([wg.layers.Input((4, 4, 3)), *layers, wg.layers.Flatten()])
    path = str(tmp_path / "model.npz")
    model.save(path)
    loaded = wg.models.load_model(path)
    assert [type(a) for a in loaded.layers[:-1]] == [type(a) for a in layers]
    assert [a.get_config() for a in loaded.layers] == [a.get_config() for a in model.layers]
    x = RNG.integers(0, 256, (5, 4, 4, 3)).astype("float32")
    scaled = x * np.array([1 / 255, 1 / 255, 2 / 255], "float32")
    expected = scaled / np.sqrt((scaled**2).sum(axis=(1, 2, 3), keepdims=True))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected.reshape(5, -1), 1e-5)


def test_random_layers_augment_when_no_call_says_training_as_in_keras_3():
    # Keras 3's augmentation layers declare call(training=True): on their own, and inside a
    # model called without training=, they augment; predict and training=False do not.
    x = _images((64, 3, 4, 2))
    for layer in (RandomFlip(seed=1), RandomContrast(0.5, seed=1), RandomBrightness(0.3, seed=1)):
        assert not np.array_equal(layer(x).numpy(), x), type(layer).__name__
        model = wg.Sequential([wg.layers.Input((3, 4, 2)), layer])
        assert not np.array_equal(model(x).numpy(), x), type(layer).__name__
        np.testing.assert_array_equal(model(x, training=False).numpy(), x)
        np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    # a layer whose call defaults to training=None still sees None (Dropout: inference)
    dropout = AlphaDropout(0.5, seed=0)
    np.testing.assert_array_equal(dropout(x).numpy(), x)
