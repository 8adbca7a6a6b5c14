"""Image ops (resize, affine_transform, flips) and Keras 3's image preprocessing layers.

Oracles: torch.nn.functional.interpolate and grid_sample where torch has the same
operation, and otherwise slow per-pixel loops over an image extended by np.pad (whose
modes are an independent statement of Keras's fill modes), np.rot90 and hand-worked
numbers.  Gradients by finite differences (check_grads, float64).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
from wengert import image_ops
from wengert.image_ops import affine_transform, flip_left_right, flip_up_down, resize
from wengert.layers.image_preprocessing import (
    CenterCrop,
    RandomCrop,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Resizing,
)
from wengert.test_util import check_grads

RNG = np.random.default_rng(1234)


def _torch_resize(x, size, mode, antialias=False):
    """torch's resize of NHWC (or HWC) float64 images, back in NHWC."""
    torch = pytest.importorskip("torch")
    batched = x.ndim == 4
    t = torch.tensor(x if batched else x[None]).permute(0, 3, 1, 2)
    kwargs = {"align_corners": False, "antialias": antialias} if mode == "bilinear" else {}
    out = torch.nn.functional.interpolate(t, size=size, mode=mode, **kwargs)
    out = out.permute(0, 2, 3, 1).numpy()
    return out if batched else out[0]


# -- resize ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(3, 4), (14, 5), (20, 25), (1, 1), (7, 9)])
@pytest.mark.parametrize("antialias", [False, True])
def test_resize_bilinear_matches_torch(size, antialias):
    x = RNG.standard_normal((2, 7, 9, 3))
    expected = _torch_resize(x, size, "bilinear", antialias)
    got = resize(wg.constant(x), size, antialias=antialias).numpy()
    assert got.shape == (2,) + size + (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", [(3, 4), (14, 5), (20, 27), (2, 3)])
def test_resize_nearest_matches_torch_nearest_exact(size):
    x = RNG.standard_normal((6, 9, 2))  # unbatched
    expected = _torch_resize(x, size, "nearest-exact")
    got = resize(wg.constant(x), size, interpolation="nearest").numpy()
    np.testing.assert_array_equal(got, expected)


def test_resize_float32_and_hand_worked_values():
    x = wg.constant([[0.0, 1.0], [2.0, 3.0]])[..., None]
    out = resize(x, (1, 1))
    assert out.dtype == wg.float32
    assert out.numpy().ravel().tolist() == [1.5]  # the mean: centre at (1, 1)
    up = resize(x, (2, 4))[..., 0].numpy()
    np.testing.assert_allclose(up, [[0, 0.25, 0.75, 1], [2, 2.25, 2.75, 3]])


def test_resize_crop_to_aspect_ratio_crops_keras_window_then_resizes():
    x = RNG.standard_normal((2, 6, 10, 3))
    # Keras: crop_height = min(6, int(10 * 3 / 3)) = 6, crop_width = min(10, int(6 * 3 / 3)) = 6,
    # starts (6 - 6) // 2 = 0 and (10 - 6) // 2 = 2.
    expected = _torch_resize(x[:, 0:6, 2:8, :], (3, 3), "bilinear")
    got = resize(wg.constant(x), (3, 3), crop_to_aspect_ratio=True).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_resize_pad_to_aspect_ratio_pads_short_side_with_fill_value():
    x = RNG.standard_normal((4, 8, 2))
    # Keras: pad_height = max(4, int(8 * 4 / 4)) = 8: 2 rows of fill_value above and below.
    padded = np.pad(x, ((2, 2), (0, 0), (0, 0)), constant_values=-3.0)
    expected = _torch_resize(padded, (4, 4), "bilinear")
    got = resize(wg.constant(x), (4, 4), pad_to_aspect_ratio=True, fill_value=-3.0).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_resize_channels_first_is_the_transposed_channels_last():
    x = RNG.standard_normal((2, 3, 5, 7))  # NCHW
    got = resize(wg.constant(x), (4, 9), data_format="channels_first").numpy()
    expected = resize(wg.constant(x.transpose(0, 2, 3, 1)), (4, 9)).numpy().transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": (3, 11)},
        {"size": (2, 3), "antialias": True},
        {"size": (5, 2), "interpolation": "nearest"},
        {"size": (3, 3), "crop_to_aspect_ratio": True},
        {"size": (4, 2), "pad_to_aspect_ratio": True, "fill_value": 1.5},
    ],
)
def test_resize_gradients(kwargs):
    x = RNG.standard_normal((2, 5, 4, 2))
    check_grads(lambda a: resize(a, **kwargs), (x,))
    check_grads(lambda a: resize(a, **kwargs), (x[0],), order=1)


def test_resize_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 6, 5, 3))
    g = RNG.standard_normal((2, 4, 9, 3))
    t = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    out = torch.nn.functional.interpolate(t, size=(4, 9), mode="bilinear", align_corners=False)
    out.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    xw = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(xw)
        y = resize(xw, (4, 9))
    grad = tape.gradient(y, xw, output_gradients=wg.constant(g)).numpy()
    np.testing.assert_allclose(grad, t.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)


def _dense_resize_matrix(in_size, out_size, interpolation, antialias):
    """The (out_size, in_size) matrix of a 1-D resize, built densely from the definition
    (triangle kernel, half-pixel centres, normalised rows): an oracle for the taps."""
    i = np.arange(out_size)
    if interpolation == "nearest":
        matrix = np.zeros((out_size, in_size))
        matrix[i, np.minimum(((2 * i + 1) * in_size) // (2 * out_size), in_size - 1)] = 1.0
        return matrix
    scale = in_size / out_size
    width = max(scale, 1.0) if antialias else 1.0
    distance = (np.arange(in_size) + 0.5)[None, :] - ((i + 0.5) * scale)[:, None]
    matrix = np.maximum(0.0, 1.0 - np.abs(distance) / width)
    return matrix / matrix.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("shape,size", [((2, 9, 7, 3), (4, 11)), ((3, 5, 40, 1), (13, 6))])
def test_resize_is_the_dense_separable_map(interpolation, antialias, shape, size):
    # Gathers along each axis, in either order, are the dense matrices' products.
    x = RNG.standard_normal(shape)
    rows = _dense_resize_matrix(shape[1], size[0], interpolation, antialias)
    cols = _dense_resize_matrix(shape[2], size[1], interpolation, antialias)
    expected = np.einsum("ih,jw,bhwc->bijc", rows, cols, x)
    got = resize(x, size, interpolation=interpolation, antialias=antialias).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # 0 * inf, as NumPy warns
def test_resize_keeps_a_nan_or_inf_pixel_in_the_outputs_that_read_it(
    interpolation, antialias, value
):
    x = RNG.standard_normal((1, 8, 6, 2))
    x[0, 3, 2, 1] = value
    for size in [(4, 3), (13, 9), (8, 6), (5, 14)]:
        out = resize(x, size, interpolation=interpolation, antialias=antialias).numpy()
        rows = _dense_resize_matrix(8, size[0], interpolation, antialias)[:, 3]
        cols = _dense_resize_matrix(6, size[1], interpolation, antialias)[:, 2]
        reads = (rows[:, None] != 0) & (cols[None, :] != 0)
        np.testing.assert_array_equal(~np.isfinite(out[0, :, :, 1]), reads)
        assert np.isfinite(out[..., 0]).all()  # the other channel is untouched


def test_resize_nan_outputs_match_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 8, 5, 1))
    x[0, 7, 1, 0] = np.nan
    for mode, interpolation in [("bilinear", "bilinear"), ("nearest-exact", "nearest")]:
        expected = _torch_resize(x, (4, 3), mode)
        got = resize(x, (4, 3), interpolation=interpolation).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    del torch


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_resize_float16_is_computed_in_float32(interpolation):
    x = RNG.random((2, 9, 7, 3)).astype(np.float16)
    got = resize(x, (13, 4), interpolation=interpolation)
    assert got.dtype == "float16"
    expected = resize(x.astype(np.float64), (13, 4), interpolation=interpolation).numpy()
    # each pass rounds once to float16 (its relative step is 2**-11)
    np.testing.assert_allclose(got.numpy(), expected, rtol=2**-10, atol=0)


def test_resize_gradients_of_big_downsamples_and_width_first_order():
    # antialias taps ~2 * scale wide; a tall image resized wide goes along the width first
    x = RNG.standard_normal((1, 23, 3, 2))
    check_grads(lambda a: resize(a, (3, 2), antialias=True), (x,))
    check_grads(lambda a: resize(a, (3, 2)), (x,))
    check_grads(lambda a: resize(a, (4, 17)), (x,))
    check_grads(lambda a: resize(a, (4, 17), interpolation="nearest"), (x,))


def test_resize_zero_size_images():
    # no batch or no channels: fine; no pixels: an error naming the op and the shape
    assert resize(np.zeros((0, 4, 4, 3), np.float32), (2, 5)).shape == (0, 2, 5, 3)
    for interpolation in ("bilinear", "nearest"):
        out = resize(np.zeros((2, 4, 4, 0), np.float32), (3, 5), interpolation=interpolation)
        assert out.shape == (2, 3, 5, 0)
    out = resize(np.zeros((2, 0, 4, 4), np.float32), (3, 5), data_format="channels_first")
    assert out.shape == (2, 0, 3, 5)
    x = wg.constant(np.zeros((1, 4, 4, 0)))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = resize(x, (7, 2))
    assert tape.gradient(y, x).shape == (1, 4, 4, 0)
    for shape in [(1, 0, 4, 3), (1, 4, 0, 3), (0, 5, 3)]:
        with pytest.raises(
            ValueError,
            match=r"resize: .*nonzero height and width.*" + str(shape)[:5].replace("(", r"\("),
        ):
            resize(np.zeros(shape, np.float32), (2, 2))
    with pytest.raises(ValueError, match="resize: .*nonzero"):
        resize(np.zeros((1, 0, 4, 3), np.float32), (2, 2), crop_to_aspect_ratio=True)


# -- affine_transform --------------------------------------------------------------------------

# Keras's fill modes as np.pad modes: an independent statement of the same extensions.
_NP_PAD_MODE = {
    "constant": "constant",
    "nearest": "edge",
    "wrap": "wrap",
    "mirror": "reflect",
    "reflect": "symmetric",
}


def _reference_affine(images, transforms, interpolation, fill_mode, fill_value, margin=40):
    """A slow per-pixel loop: extend each image by np.pad, then interpolate in it."""
    n, h, w, c = images.shape
    out = np.empty_like(images)
    for b in range(n):
        kwargs = {"constant_values": fill_value} if fill_mode == "constant" else {}
        big = np.pad(
            images[b],
            ((margin, margin), (margin, margin), (0, 0)),
            _NP_PAD_MODE[fill_mode],
            **kwargs,
        )
        a0, a1, a2, b0, b1, b2, c0, c1 = transforms[b]
        for y in range(h):
            for x in range(w):
                k = c0 * x + c1 * y + 1
                xi = (a0 * x + a1 * y + a2) / k + margin
                yi = (b0 * x + b1 * y + b2) / k + margin
                if interpolation == "nearest":
                    out[b, y, x] = big[math.floor(yi + 0.5), math.floor(xi + 0.5)]
                else:
                    y0, x0 = math.floor(yi), math.floor(xi)
                    fy, fx = yi - y0, xi - x0
                    out[b, y, x] = (
                        (1 - fy) * (1 - fx) * big[y0, x0]
                        + (1 - fy) * fx * big[y0, x0 + 1]
                        + fy * (1 - fx) * big[y0 + 1, x0]
                        + fy * fx * big[y0 + 1, x0 + 1]
                    )
    return out


def _random_transforms(n, h, w, projective=True):
    """Rotations, scalings, shears and shifts that move pixels up to a few images away."""
    t = []
    for _ in range(n):
        angle = RNG.uniform(-math.pi, math.pi)
        sx, sy = RNG.uniform(0.6, 1.8, 2)
        shear = RNG.uniform(-0.3, 0.3)
        a = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        a = a @ np.array([[sx, shear], [0, sy]])
        shift = RNG.uniform(-1.5, 1.5, 2) * (w, h)
        c = RNG.uniform(-0.01, 0.01, 2) if projective else (0.0, 0.0)
        t.append([a[0, 0], a[0, 1], shift[0], a[1, 0], a[1, 1], shift[1], c[0], c[1]])
    return np.array(t)


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_matches_direct_loop(fill_mode, interpolation):
    images = RNG.standard_normal((3, 6, 7, 2))
    transforms = _random_transforms(3, 6, 7)
    expected = _reference_affine(images, transforms, interpolation, fill_mode, 0.75)
    got = affine_transform(
        wg.constant(images),
        transforms,
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=0.75,
    ).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "fill_mode, padding_mode, align_corners",
    [
        ("constant", "zeros", True),
        ("nearest", "border", True),
        ("mirror", "reflection", True),
        ("reflect", "reflection", False),
    ],
)
def test_affine_transform_matches_torch_grid_sample(fill_mode, padding_mode, align_corners):
    torch = pytest.importorskip("torch")
    images = RNG.standard_normal((2, 5, 8, 3))
    transforms = _random_transforms(2, 5, 8, projective=False)
    h, w = 5, 8
    y, x = np.mgrid[0:h, 0:w].astype(float)
    grids = []
    for a0, a1, a2, b0, b1, b2, _, _ in transforms:
        xi, yi = a0 * x + a1 * y + a2, b0 * x + b1 * y + b2
        if align_corners:  # -1 and 1 are the centres of the edge pixels
            grids.append(np.stack([2 * xi / (w - 1) - 1, 2 * yi / (h - 1) - 1], -1))
        else:  # -1 and 1 are the outer edges of the edge pixels
            grids.append(np.stack([(2 * xi + 1) / w - 1, (2 * yi + 1) / h - 1], -1))
    expected = torch.nn.functional.grid_sample(
        torch.tensor(images.transpose(0, 3, 1, 2)),
        torch.tensor(np.stack(grids)),
        mode="bilinear",
        padding_mode=padding_mode,
        align_corners=align_corners,
    ).numpy()
    got = affine_transform(wg.constant(images), transforms, fill_mode=fill_mode).numpy()
    np.testing.assert_allclose(got, expected.transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-10)


def test_affine_transform_identity_unbatched_and_hand_worked_values():
    x = RNG.standard_normal((4, 5, 3)).astype(np.float32)
    identity = wg.constant([1.0, 0, 0, 0, 1, 0, 0, 0])  # a Tensor is taken as a constant
    same = affine_transform(wg.constant(x), identity).numpy()
    np.testing.assert_array_equal(same, x)
    row = wg.constant([[[1.0], [2.0], [3.0], [4.0]]])
    shift = [1, 0, -1, 0, 1, 0, 0, 0]  # output x reads input x - 1: a shift right by 1
    expected = {
        "constant": [9, 1, 2, 3],
        "nearest": [1, 1, 2, 3],
        "wrap": [4, 1, 2, 3],
        "mirror": [2, 1, 2, 3],
        "reflect": [1, 1, 2, 3],
    }
    for mode, values in expected.items():
        got = affine_transform(row, shift, fill_mode=mode, fill_value=9.0)[0, :, 0].numpy()
        assert got.tolist() == values, mode


@pytest.mark.parametrize("fill_mode", ["constant", "nearest", "wrap", "mirror", "reflect"])
def test_affine_transform_gradients(fill_mode):
    images = RNG.standard_normal((2, 4, 5, 2))
    transforms = _random_transforms(2, 4, 5)

    def f(x):
        return affine_transform(x, transforms, fill_mode=fill_mode, fill_value=0.5)

    check_grads(f, (images,))
    check_grads(
        lambda x: affine_transform(x, transforms[0], interpolation="nearest", fill_mode=fill_mode),
        (images[0],),
        order=1,
    )


def test_affine_transform_gradient_matches_torch_grid_sample():
    torch = pytest.importorskip("torch")
    images = RNG.standard_normal((2, 5, 6, 3))
    transforms = _random_transforms(2, 5, 6, projective=False)
    g = RNG.standard_normal(images.shape)
    y, x = np.mgrid[0:5, 0:6].astype(float)
    grid = np.stack(
        [
            np.stack([2 * (a0 * x + a1 * y + a2) / 5 - 1, 2 * (b0 * x + b1 * y + b2) / 4 - 1], -1)
            for a0, a1, a2, b0, b1, b2, _, _ in transforms
        ]
    )
    t = torch.tensor(images.transpose(0, 3, 1, 2), requires_grad=True)
    out = torch.nn.functional.grid_sample(t, torch.tensor(grid), align_corners=True)
    out.backward(torch.tensor(g.transpose(0, 3, 1, 2)))
    xw = wg.constant(images)
    with wg.GradientTape() as tape:
        tape.watch(xw)
        yw = affine_transform(xw, transforms)
    grad = tape.gradient(yw, xw, output_gradients=wg.constant(g)).numpy()
    np.testing.assert_allclose(grad, t.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-10)


def test_affine_transform_one_transform_for_a_batch_and_channels_first():
    images = RNG.standard_normal((3, 4, 5, 2))
    t = _random_transforms(1, 4, 5)
    got = affine_transform(wg.constant(images), t[0]).numpy()
    expected = _reference_affine(images, np.repeat(t, 3, axis=0), "bilinear", "constant", 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    first = affine_transform(
        wg.constant(images.transpose(0, 3, 1, 2)), t, data_format="channels_first"
    ).numpy()
    np.testing.assert_allclose(first, expected.transpose(0, 3, 1, 2), rtol=1e-10, atol=1e-10)


def test_affine_transform_keeps_the_image_dtype_and_the_sampling_is_compact():
    x = RNG.standard_normal((3, 6, 5, 2))
    transforms = _random_transforms(3, 6, 5)
    expected = affine_transform(x, transforms).numpy()
    for dtype in (np.float32, np.float16):
        got = affine_transform(x.astype(dtype), transforms)
        assert got.dtype == dtype
        tolerance = 1e-5 if dtype == np.float32 else 1e-2
        np.testing.assert_allclose(got.numpy(), expected, rtol=tolerance, atol=tolerance)
    # the tape keeps int32 indices and weights in the image's dtype (4 taps per pixel)
    index, weight, _ = image_ops._sampling(transforms, 3, 6, 5, "bilinear", "reflect", np.float32)
    assert index.dtype == np.int32 and index.shape == (4, 3 * 6 * 5)
    assert weight.dtype == np.float32 and weight.shape == (4, 3 * 6 * 5)


@pytest.mark.parametrize("chunk", [1, 7, 30, 10**6])
def test_affine_transform_sampling_in_chunks_gives_the_same_bits(monkeypatch, chunk):
    x = RNG.standard_normal((4, 6, 5, 2))
    transforms = _random_transforms(4, 6, 5)
    expected = {
        (interpolation, fill_mode): affine_transform(x, transforms, interpolation, fill_mode, 0.5)
        for interpolation in ("bilinear", "nearest")
        for fill_mode in ("constant", "reflect")
    }
    monkeypatch.setattr(image_ops, "_CHUNK_PIXELS", chunk)
    for (interpolation, fill_mode), out in expected.items():
        got = affine_transform(x, transforms, interpolation, fill_mode, 0.5).numpy()
        np.testing.assert_array_equal(got, out.numpy())


def test_affine_transform_far_positions_do_not_overflow():
    # positions clipped to +-2**29 pixels: finite, read through the fill mode
    x = RNG.standard_normal((1, 4, 5, 1))
    for transform in ([1e300, 0, 0, 0, 1, 0, 0, 0], [1, 0, -3e9, 0, 1, 2e12, 0, 0]):
        for fill_mode in ("constant", "nearest", "wrap", "mirror", "reflect"):
            for interpolation in ("bilinear", "nearest"):
                out = affine_transform(x, transform, interpolation, fill_mode, 2.0).numpy()
                assert np.isfinite(out).all()
                assert np.isin(out, np.append(x.ravel(), 2.0)).all()


def test_affine_transform_zero_size_images():
    identity = [1, 0, 0, 0, 1, 0, 0, 0]
    assert affine_transform(np.zeros((0, 4, 4, 3), np.float32), identity).shape == (0, 4, 4, 3)
    x = RNG.standard_normal((2, 4, 5, 0))
    out = affine_transform(x, [1, 0, 0.5, 0, 1, 0, 0, 0], fill_value=3.0)
    assert out.shape == (2, 4, 5, 0)
    xw = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(xw)
        y = affine_transform(xw, identity)
    assert tape.gradient(y, xw).shape == (2, 4, 5, 0)
    for shape in [(1, 0, 4, 3), (1, 4, 0, 3), (0, 4, 3)]:
        for fill_mode in ("constant", "wrap", "reflect"):
            with pytest.raises(ValueError, match=r"affine_transform: .*nonzero height and width"):
                affine_transform(np.zeros(shape, np.float32), identity, fill_mode=fill_mode)
    with pytest.raises(TypeError, match="affine_transform: fill_value must be a number.*None"):
        affine_transform(np.ones((1, 4, 4, 1), np.float32), identity, fill_value=None)


def test_image_layers_refuse_zero_size_images_but_not_empty_batches():
    layers = [
        Resizing(4, 5),
        CenterCrop(4, 5),
        RandomCrop(4, 5, seed=0),
        RandomRotation(0.2, seed=0),
        RandomTranslation(0.2, 0.2, seed=0),
        RandomZoom(0.2, seed=0),
    ]
    for layer in layers:
        name = type(layer).__name__
        assert layer(np.zeros((0, 8, 10, 3), np.float32)).shape[0] == 0
        assert layer(np.zeros((2, 8, 10, 0), np.float32)).shape[-1] == 0
        with pytest.raises(
            ValueError, match=rf"{name} .*nonzero height and width.*\(2, 0, 10, 3\)"
        ):
            layer(np.zeros((2, 0, 10, 3), np.float32))


def test_flips():
    x = np.arange(24.0).reshape(2, 3, 4, 1)
    np.testing.assert_array_equal(flip_left_right(wg.constant(x)).numpy(), x[:, :, ::-1])
    np.testing.assert_array_equal(flip_up_down(wg.constant(x)).numpy(), x[:, ::-1])
    np.testing.assert_array_equal(flip_up_down(wg.constant(x[0])).numpy(), x[0, ::-1])
    check_grads(flip_left_right, (RNG.standard_normal((2, 3, 1)),))


# -- op errors ---------------------------------------------------------------------------------


def test_op_errors_name_the_op_the_shapes_and_what_was_expected():
    with pytest.raises(
        ValueError, match=r"resize: expected images of rank 3 .* got shape \(4, 4\)"
    ):
        resize(wg.zeros((4, 4)), (2, 2))
    with pytest.raises(
        TypeError, match=r"resize: expected floating-point images, got int32\[2, 2, 1\]"
    ):
        resize(wg.constant(np.zeros((2, 2, 1), np.int32)), (1, 1))
    with pytest.raises(
        ValueError, match=r"resize: interpolation must be one of .*'bicubic'.*Keras"
    ):
        resize(wg.zeros((2, 2, 1)), (1, 1), interpolation="bicubic")
    with pytest.raises(ValueError, match=r"resize: size must be 2 positive ints"):
        resize(wg.zeros((2, 2, 1)), (0, 3))
    with pytest.raises(ValueError, match="only one of crop_to_aspect_ratio and pad_to_aspect"):
        resize(wg.zeros((2, 2, 1)), (1, 1), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(
        ValueError, match=r"affine_transform: expected images of rank 3 .*\(2, 3, 4, 5, 1\)"
    ):
        affine_transform(wg.zeros((2, 3, 4, 5, 1)), [1, 0, 0, 0, 1, 0, 0, 0])
    expected = r"affine_transform: transform must have shape \(8,\) or \(2, 8\) .*\(2, 3, 4, 1\)"
    with pytest.raises(ValueError, match=expected + r", got \(3, 8\)"):
        affine_transform(wg.zeros((2, 3, 4, 1)), np.zeros((3, 8)))
    with pytest.raises(ValueError, match="affine_transform: fill_mode must be one of"):
        affine_transform(wg.zeros((3, 4, 1)), [1, 0, 0, 0, 1, 0, 0, 0], fill_mode="edge")
    with pytest.raises(ValueError, match="affine_transform: interpolation must be one of"):
        affine_transform(wg.zeros((3, 4, 1)), [1, 0, 0, 0, 1, 0, 0, 0], interpolation="cubic")
    with pytest.raises(TypeError, match="affine_transform: expected floating-point images"):
        affine_transform(wg.constant(np.zeros((3, 4, 1), np.uint8)), [1, 0, 0, 0, 1, 0, 0, 0])
    with pytest.raises(ValueError, match="data_format must be"):
        resize(wg.zeros((2, 2, 1)), (1, 1), data_format="NHWC")


# -- layers: values ------------------------------------------------------------------------------


def test_resizing_layer_matches_torch_and_outputs_floats():
    x = RNG.uniform(0, 255, (2, 9, 7, 3)).astype(np.float32)
    layer = Resizing(4, 5)
    got = layer(x).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, _torch_resize(x.astype(np.float64), (4, 5), "bilinear"), rtol=1e-5
    )
    ints = layer(x.astype(np.uint8))
    assert ints.dtype == wg.float32 and ints.shape == (2, 4, 5, 3)
    assert Resizing(3, 2, interpolation="nearest")(x[0]).shape == (3, 2, 3)
    smooth = Resizing(3, 2, antialias=True)(x).numpy()
    expected = _torch_resize(x.astype(np.float64), (3, 2), "bilinear", antialias=True)
    np.testing.assert_allclose(smooth, expected, rtol=1e-5)
    assert layer.compute_output_shape((None, 9, 7, 3)) == (None, 4, 5, 3)
    assert layer.compute_output_shape((9, 7, 3)) == (4, 5, 3)


def test_center_crop_slices_the_centre_or_resizes_small_images():
    x = np.arange(2 * 5 * 6 * 1, dtype=np.float32).reshape(2, 5, 6, 1)
    got = CenterCrop(2, 3)(x).numpy()
    np.testing.assert_array_equal(got, x[:, 1:3, 1:4])  # starts (5-2)//2 = 1, (6-3)//2 = 1
    np.testing.assert_array_equal(CenterCrop(2, 3)(x[0]).numpy(), x[0, 1:3, 1:4])
    # Smaller than the target in width: Keras's largest window of aspect 4:8 is 3 x 6
    # (crop_height = int(6 * 4 / 8) = 3, start (5 - 3) / 2 = 1), resized bilinearly.
    small = CenterCrop(4, 8)(x).numpy()
    expected = _torch_resize(x[:, 1:4, :, :].astype(np.float64), (4, 8), "bilinear")
    np.testing.assert_allclose(small, expected, rtol=1e-5, atol=1e-5)


def test_random_crop_training_picks_one_window_per_batch_inference_resizes():
    x = RNG.standard_normal((3, 10, 12, 2)).astype(np.float32)
    layer = RandomCrop(4, 5, seed=7)
    starts = set()
    for _ in range(20):
        out = layer(x, training=True).numpy()
        hits = [
            (i, j)
            for i in range(10 - 4 + 1)
            for j in range(12 - 5 + 1)
            if np.array_equal(out, x[:, i : i + 4, j : j + 5])  # the same window for all 3
        ]
        assert len(hits) == 1
        starts.add(hits[0])
    assert len(starts) > 5  # the window moves
    inference = layer(x, training=False).numpy()
    # Keras: the largest 4:5 window, 9 x 12 (int(12 * 4 / 5) = 9), starting at row 0.
    expected = _torch_resize(x[:, 0:9].astype(np.float64), (4, 5), "bilinear")
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-5)
    # Smaller than the target along an axis: resized even in training.
    np.testing.assert_allclose(
        RandomCrop(11, 6, seed=0)(x, training=True).numpy(),
        # the largest 11:6 window: 10 x 5 (int(10 * 6 / 11) = 5), from column 3
        _torch_resize(x[:, :, 3:8].astype(np.float64), (11, 6), "bilinear"),
        rtol=1e-5,
        atol=1e-5,
    )
    assert layer(x[0], training=True).shape == (4, 5, 2)


def test_random_crop_crops_at_random_when_one_axis_equals_the_target():
    # tf.keras 2 and Keras 3 after keras-team/keras#21871: >= along both axes crops.
    x = RNG.standard_normal((2, 8, 10, 1)).astype(np.float32)
    layer = RandomCrop(8, 5, seed=0)
    lefts = set()
    for _ in range(20):
        out = layer(x, training=True).numpy()
        hits = [j for j in range(10 - 5 + 1) if np.array_equal(out, x[:, :, j : j + 5])]
        assert len(hits) == 1
        lefts.add(hits[0])
    assert len(lefts) > 2
    # The target's own size: the identity, exactly.
    np.testing.assert_array_equal(RandomCrop(8, 10, seed=0)(x, training=True).numpy(), x)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_random_rotation_quarter_and_half_turns_are_np_rot90(interpolation):
    x = RNG.standard_normal((2, 5, 5, 3)).astype(np.float32)
    quarter = RandomRotation((0.25, 0.25), interpolation=interpolation)(x).numpy()
    np.testing.assert_allclose(quarter, np.rot90(x, 1, axes=(1, 2)), atol=1e-5)
    clockwise = RandomRotation((-0.25, -0.25), interpolation=interpolation)(x[0]).numpy()
    np.testing.assert_allclose(clockwise, np.rot90(x[0], -1), atol=1e-5)
    half = RandomRotation((0.5, 0.5), interpolation=interpolation)(x[:, :4]).numpy()
    np.testing.assert_allclose(half, x[:, :4][:, ::-1, ::-1], atol=1e-5)


def test_random_rotation_draws_one_angle_per_image_within_the_range():
    # A centred square of ones in zeros: its rotated area tells nothing, but a thin bar
    # along the x axis, rotated, has its end at (cos t, sin t) from the centre.
    n, size = 64, 41
    bar = np.zeros((size, size, 1), np.float32)
    bar[20, 20:, 0] = 1.0
    out = RandomRotation((-0.1, 0.2), fill_mode="constant", seed=5)(np.stack([bar] * n)).numpy()
    angles = []
    for img in out:
        ys, xs = np.nonzero(img[..., 0] > 0.5)
        far = np.argmax((xs - 20) ** 2 + (ys - 20) ** 2)
        angles.append(math.atan2(-(ys[far] - 20), xs[far] - 20))  # y down: counter-clockwise > 0
    angles = np.array(angles) / (2 * math.pi)
    assert angles.min() > -0.1 - 0.01 and angles.max() < 0.2 + 0.01
    assert angles.min() < -0.05 and angles.max() > 0.15 and len(set(angles.round(3))) > 30


def test_random_translation_shifts_by_fraction_with_reflect_fill():
    x = RNG.standard_normal((2, 8, 10, 2)).astype(np.float32)
    layer = RandomTranslation((0.25, 0.25), (-0.2, -0.2))  # down 2 rows, left 2 columns
    got = layer(x).numpy()
    extended = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="symmetric")
    np.testing.assert_allclose(got, extended[:, 0:8, 4:14], atol=1e-5)
    constant = RandomTranslation(0.0, (0.3, 0.3), fill_mode="constant", fill_value=-1.0)(x[0])
    expected = np.concatenate([np.full((8, 3, 2), -1.0), x[0, :, :7]], axis=1)
    np.testing.assert_allclose(constant.numpy(), expected, atol=1e-6)


def test_random_zoom_values_by_hand():
    row = np.array([0.0, 10.0, 20.0, 30.0, 40.0], np.float32)
    image = (row[None, :] + 100 * row[:, None] / 10)[..., None]  # 5 x 5
    # Zoom in by 2 (factor -0.5): output x reads input 0.5 x + 1 (the centre is 2).
    zoomed = RandomZoom((-0.5, -0.5))(image)[..., 0].numpy()
    middle = np.array([10.0, 15.0, 20.0, 25.0, 30.0])
    np.testing.assert_allclose(zoomed, middle[None, :] + 10 * middle[:, None], atol=1e-4)
    # Only the width: rows untouched.
    wide = RandomZoom(0.0, (-0.5, -0.5))(image)[..., 0].numpy()
    np.testing.assert_allclose(wide, middle[None, :] + 100 * np.arange(5.0)[:, None], atol=1e-4)
    # Zoom out by 2 (factor 1): output x reads 2 x - 2, outside for x = 0 and 4.
    out = RandomZoom((1.0, 1.0), fill_mode="constant", fill_value=-5)(image[None])[0, 2, :, 0]
    np.testing.assert_allclose(out.numpy(), [-5, 200, 220, 240, -5], atol=1e-4)


def test_random_affine_layers_are_identity_at_inference_and_cast_integers():
    x = RNG.integers(0, 255, (2, 6, 7, 3)).astype(np.uint8)
    for layer in (
        RandomRotation(0.3, seed=1),
        RandomTranslation(0.2, 0.3, seed=1),
        RandomZoom(0.4, seed=1),
    ):
        out = layer(x, training=False)
        assert out.dtype == wg.float32
        np.testing.assert_array_equal(out.numpy(), x.astype(np.float32))
        assert layer(x).shape == x.shape  # called on its own: augments, as Keras 3
        assert layer(x[0], training=True).shape == x.shape[1:]
        assert layer.compute_output_shape((None, 6, 7, 3)) == (None, 6, 7, 3)


def test_random_layers_augment_each_image_differently():
    x = np.stack([RNG.standard_normal((6, 6, 1))] * 4).astype(np.float32)
    for layer in (
        RandomRotation(0.3, seed=2),
        RandomTranslation(0.3, 0.3, seed=2),
        RandomZoom(0.4, seed=2),
    ):
        out = layer(x, training=True).numpy()
        assert not np.allclose(out[0], out[1]) and not np.allclose(out[2], out[3])


def test_channels_first_layers_are_the_transposed_channels_last():
    x = RNG.standard_normal((2, 6, 7, 3)).astype(np.float32)
    xf = x.transpose(0, 3, 1, 2)
    for cls, args in (
        (RandomRotation, (0.3,)),
        (RandomZoom, (0.3, 0.2)),
        (RandomTranslation, (0.3, 0.2)),
        (RandomCrop, (3, 4)),
    ):
        last = cls(*args, seed=11)(x, training=True).numpy()
        first = cls(*args, seed=11, data_format="channels_first")(xf, training=True).numpy()
        np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), atol=1e-6)
    resized = Resizing(3, 4, data_format="channels_first")(xf).numpy()
    np.testing.assert_allclose(resized, Resizing(3, 4)(x).numpy().transpose(0, 3, 1, 2), atol=1e-6)
    assert CenterCrop(2, 3, data_format="channels_first").compute_output_shape((None, 3, 6, 7)) == (
        None,
        3,
        2,
        3,
    )


def test_gradients_flow_through_the_augmentation_layers():
    x = RNG.standard_normal((2, 5, 6, 2))
    for make in (
        lambda: RandomRotation(0.2, seed=3, dtype="float64"),
        lambda: RandomTranslation(0.2, 0.2, fill_mode="wrap", seed=3, dtype="float64"),
        lambda: RandomZoom(0.3, fill_mode="nearest", seed=3, dtype="float64"),
        lambda: RandomCrop(3, 4, seed=3, dtype="float64"),
        lambda: Resizing(4, 3, dtype="float64"),
        lambda: CenterCrop(6, 6, dtype="float64"),
    ):
        # A new layer per call: the same seed gives the same augmentation each time.
        check_grads(lambda a, make=make: make()(a, training=True), (x,), order=1)


# -- layers: seeds, configs, training ------------------------------------------------------------


def test_same_seed_same_augmentations_and_the_stream_moves_on():
    x = RNG.standard_normal((3, 8, 8, 2)).astype(np.float32)
    for cls, args in (
        (RandomRotation, (0.5,)),
        (RandomTranslation, (0.3, 0.3)),
        (RandomZoom, (0.5,)),
        (RandomCrop, (4, 4)),
    ):
        a, b = cls(*args, seed=42), cls(*args, seed=42)
        first = a(x, training=True).numpy()
        np.testing.assert_array_equal(first, b(x, training=True).numpy())
        later = [a(x, training=True).numpy() for _ in range(3)]
        assert any(not np.array_equal(first, o) for o in later), cls.__name__
        other = cls(*args, seed=43)
        outs = [other(x, training=True).numpy() for _ in range(3)]
        assert any(not np.array_equal(first, o) for o in outs), cls.__name__
    wg.random.set_seed(5)
    unseeded_a = RandomRotation(0.5)(x).numpy()
    wg.random.set_seed(5)
    np.testing.assert_array_equal(RandomRotation(0.5)(x).numpy(), unseeded_a)


@pytest.mark.parametrize(
    "layer",
    [
        Resizing(5, 6, interpolation="nearest", pad_to_aspect_ratio=True, fill_value=2.0),
        Resizing(2, 3, antialias=True),
        CenterCrop(3, 4),
        RandomCrop(3, 4, seed=1),
        RandomRotation((-0.2, 0.1), fill_mode="constant", fill_value=1.0, seed=3),
        RandomTranslation(0.1, (-0.2, 0.3), interpolation="nearest", seed=4),
        RandomZoom(0.2, (0.1, 0.3), fill_mode="wrap", seed=5, data_format="channels_last"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    x = RNG.standard_normal((2, 8, 8, 3)).astype(np.float32)
    fresh = type(layer).from_config(config)
    np.testing.assert_array_equal(clone(x, training=True).numpy(), fresh(x, training=True).numpy())


def test_keras_config_values():
    assert RandomRotation(0.2).factor == (-0.2, 0.2)
    assert RandomRotation((0.3, -0.1)).get_config()["factor"] == (-0.1, 0.3)
    config = RandomZoom(0.2).get_config()
    assert config["width_factor"] is None and config["fill_mode"] == "reflect"
    assert config["interpolation"] == "bilinear" and config["fill_value"] == 0.0
    config = RandomTranslation(0.1, 0.2).get_config()
    assert (config["height_factor"], config["width_factor"]) == (0.1, 0.2)
    assert Resizing(2, 3).get_config()["crop_to_aspect_ratio"] is False


class _Spy(wg.layers.Layer):
    """Keeps what reaches it, and whether the call was training."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs, training=None):
        self.seen.append((training, inputs.numpy().copy()))
        return inputs


def test_sequential_trains_with_augmentation_only_in_fit():
    x = RNG.uniform(0, 1, (16, 8, 8, 1)).astype(np.float32)
    y = RNG.standard_normal((16, 2)).astype(np.float32)
    spy = _Spy()
    model = wg.Sequential(
        [
            RandomRotation(0.1, seed=1),
            RandomTranslation(0.1, 0.1, seed=2),
            RandomZoom(0.1, seed=3),
            RandomCrop(6, 6, seed=4),
            spy,
            wg.layers.Flatten(),
            wg.layers.Dense(2),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    training, seen = spy.seen[-1]
    assert training is True and seen.shape == (16, 6, 6, 1)
    at_inference = _torch_resize(x[:, 1:7].astype(np.float64), (6, 6), "bilinear")  # 8x8 -> 6x6
    assert not np.allclose(seen, at_inference, atol=1e-3)  # augmented
    spy.seen.clear()
    model.predict(x)
    training, seen = spy.seen[-1]
    assert training is False
    # predict: the random layers are the identity, RandomCrop resizes 8x8 -> 6x6
    # (its largest 1:1 window is the whole image).
    np.testing.assert_allclose(
        seen, _torch_resize(x.astype(np.float64), (6, 6), "bilinear"), atol=1e-5
    )


def test_functional_model_shapes():
    inputs = wg.Input((10, 12, 3))
    x = RandomRotation(0.1)(inputs)
    x = RandomCrop(6, 8)(x)
    outputs = Resizing(3, 4)(x)
    model = wg.Model(inputs, outputs)
    assert model.predict(np.zeros((2, 10, 12, 3), np.float32)).shape == (2, 3, 4, 3)


# -- layers: errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: RandomRotation(1.5),
            r"RandomRotation '.*': factor must be .* in \[-1, 1\], got 1.5",
        ),
        (lambda: RandomRotation((0.1, 0.2, 0.3)), r"RandomRotation '.*': factor must be"),
        (lambda: RandomRotation("0.1"), r"RandomRotation '.*': factor must be"),
        (lambda: RandomTranslation(0.1, (0.0, 2.0)), r"RandomTranslation '.*': width_factor"),
        (lambda: RandomZoom((-1.5, 0.0)), r"RandomZoom '.*': height_factor"),
        (lambda: RandomZoom(0.1, -3), r"RandomZoom '.*': width_factor"),
        (
            lambda: RandomRotation(0.1, fill_mode="mirror"),
            r"RandomRotation '.*': fill_mode must be one of",
        ),
        (
            lambda: RandomZoom(0.1, interpolation="bicubic"),
            r"RandomZoom '.*': interpolation must be one of",
        ),
        (
            lambda: Resizing(4, 4, interpolation="cubic"),
            r"Resizing '.*': interpolation must be one of",
        ),
        (
            lambda: Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
            "only one of",
        ),
        (lambda: Resizing(0, 4), r"Resizing '.*': height must be a positive int, got 0"),
        (lambda: CenterCrop(3, 3, data_format="NCHW"), r"CenterCrop '.*': data_format must be"),
    ],
)
def test_layer_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_layer_type_and_rank_errors():
    with pytest.raises(TypeError, match=r"RandomCrop '.*': width must be a positive int, got 2.5"):
        RandomCrop(2, 2.5)
    for layer in (RandomRotation(0.1), Resizing(2, 2), CenterCrop(2, 2), RandomCrop(1, 1)):
        expected = rf"{type(layer).__name__} '.*': expected images of rank 3 .* got shape \(2, 8\)"
        with pytest.raises(ValueError, match=expected):
            layer(np.zeros((2, 8), np.float32))
