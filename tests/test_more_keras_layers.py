"""Keras 3 layers Dot, EinsumDense, SeparableConv1D/2D, DepthwiseConv1D and Conv1DTranspose:
values against NumPy (np.einsum, np.tensordot) or PyTorch, gradients against PyTorch and
check_grads, Keras's documented shapes, configs, and errors that name the layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
from wengert.layers.conv import (
    Conv1DTranspose,
    DepthwiseConv1D,
    SeparableConv1D,
    SeparableConv2D,
)
from wengert.layers.einsum_dense import EinsumDense
from wengert.layers.merging import Dot, dot
from wengert.test_util import check_grads

RNG = np.random.default_rng(7)


def _x(*shape):
    return RNG.standard_normal(shape)


def _grads(layer, x, cotangent):
    """Gradients of sum(layer(x) * cotangent) w.r.t. x and each of the layer's weights."""
    x = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = wg.reduce_sum(y * cotangent)
    grads = tape.gradient(loss, [x] + list(layer.trainable_weights))
    return y.numpy(), [g.numpy() for g in grads]


def _torch_grads(torch, fn, x, weights, cotangent):
    """The same in PyTorch: fn(x, *weights) and the gradients of sum(out * cotangent)."""
    tx = torch.tensor(x, requires_grad=True)
    tw = [torch.tensor(w, requires_grad=True) for w in weights]
    out = fn(tx, *tw)
    (out * torch.tensor(cotangent)).sum().backward()
    return out.detach().numpy(), [tx.grad.numpy()] + [w.grad.numpy() for w in tw]


def _close(a, b, tol=1e-10):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _roundtrip(layer, x):
    """A layer rebuilt from its config, given the same weights, computes the same."""
    config = layer.get_config()
    twin = type(layer).from_config(config)
    assert twin.get_config() == config
    twin(x)
    twin.set_weights(layer.get_weights())
    np.testing.assert_array_equal(twin(x).numpy(), layer(x).numpy())


# -- Dot -------------------------------------------------------------------------------------
def _batch_dot(x, y, a0, a1):
    """Keras's batch_dot, one sample at a time with np.tensordot."""
    out = np.stack([np.tensordot(x[i], y[i], axes=(a0 - 1, a1 - 1)) for i in range(len(x))])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


@pytest.mark.parametrize(
    "xs, ys, axes, pair, expected",
    [
        ((2, 3, 5), (2, 10, 3), (1, 2), (1, 2), (2, 5, 10)),  # Keras's docstring shapes
        ((4, 5), (4, 5), 1, (1, 1), (4, 1)),
        ((4, 5), (4, 5), -1, (1, 1), (4, 1)),
        ((2, 3, 4), (2, 4), (-1, -1), (2, 1), (2, 3)),
        ((2, 4), (2, 4, 6), (1, 1), (1, 1), (2, 6)),
        ((2, 3, 4, 5), (2, 5, 6), (3, 1), (3, 1), (2, 3, 4, 6)),
        ((3, 4, 6), (3, 2, 6), -1, (2, 2), (3, 4, 2)),
    ],
)
def test_dot_is_keras_batch_dot(xs, ys, axes, pair, expected):
    x, y = _x(*xs), _x(*ys)
    layer = Dot(axes=axes, dtype="float64")
    out = layer([x, y])
    assert out.shape == expected
    assert (
        layer.compute_output_shape([(None,) + xs[1:], (None,) + ys[1:]]) == (None,) + expected[1:]
    )
    _close(out.numpy(), _batch_dot(x, y, *pair))
    check_grads(lambda a, b: layer([a, b]), (x, y), order=2)


def test_dot_keras_docstring_example_and_functional_form():
    x = np.arange(10).reshape(1, 5, 2)
    y = np.arange(10, 20).reshape(1, 2, 5)
    out = Dot(axes=(1, 2))([x.astype("float32"), y.astype("float32")]).numpy()
    np.testing.assert_array_equal(out, np.einsum("bij,bki->bjk", x, y))
    np.testing.assert_array_equal(out, [[[260, 360], [320, 445]]])
    a, b = _x(3, 4), _x(3, 4)
    _close(dot([a, b], axes=1, dtype="float64").numpy(), (a * b).sum(1, keepdims=True))


def test_dot_normalize_is_the_cosine_similarity():
    x, y = _x(4, 3, 6), _x(4, 6)
    x[1] = 0.0  # a zero vector: Keras divides by max(norm, 1e-7), giving 0, not NaN
    layer = Dot(axes=(2, 1), normalize=True, dtype="float64")
    out = layer([x, y]).numpy()
    norm_x = np.maximum(np.linalg.norm(x, axis=2, keepdims=True), 1e-7)
    norm_y = np.linalg.norm(y, axis=1, keepdims=True)
    _close(out, np.einsum("bij,bj->bi", x / norm_x, y / norm_y))
    assert np.all(out[1] == 0) and np.all(np.abs(out) <= 1 + 1e-12)
    check_grads(lambda a, b: layer([a, b]), (_x(4, 3, 6), _x(4, 6)), order=2)


def test_dot_in_a_model_config_and_summary():
    a, b = wg.Input((3, 5), name="a"), wg.Input((10, 3), name="b")
    layer = Dot(axes=(1, 2), normalize=True, name="cos")
    model = wg.Model([a, b], layer([a, b]))
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, 5, 10)" in next(r for r in lines[0].splitlines() if r.startswith("cos"))
    config = layer.get_config()
    assert config["axes"] == (1, 2) and config["normalize"] is True
    twin = Dot.from_config(config)
    x, y = _x(2, 3, 5).astype("float32"), _x(2, 10, 3).astype("float32")
    np.testing.assert_array_equal(twin([x, y]).numpy(), layer([x, y]).numpy())


@pytest.mark.parametrize(
    "axes, shapes, error, message",
    [
        (1, [(2, 3), (2, 4)], ValueError, r"Dot 'd'.*\(2, 3\).*\(2, 4\).*size 3.*size 4"),
        (0, [(2, 3), (2, 3)], ValueError, r"Dot 'd'.*axis 0, the batch.*\(2, 3\)"),
        (3, [(2, 3), (2, 3)], ValueError, r"Dot 'd'.*out of range.*\(2, 3\)"),
        (1, [(2, 3), (5, 3)], ValueError, r"Dot 'd'.*batch sizes differ.*\(2, 3\).*\(5, 3\)"),
        (-1, [(3,), (3,)], ValueError, r"Dot 'd'.*batch axis.*\(3,\)"),
        (1, [(2, 3), (2, 3), (2, 3)], ValueError, r"Dot 'd'.*exactly 2 tensors, got 3"),
    ],
)
def test_dot_errors_name_the_layer_and_shapes(axes, shapes, error, message):
    with pytest.raises(error, match=message):
        Dot(axes, name="d")([np.ones(s, "float32") for s in shapes])


def test_dot_bad_axes_arguments():
    with pytest.raises(TypeError, match=r"Dot.*axes must be an int or a pair.*'1'"):
        Dot("1")
    with pytest.raises(ValueError, match=r"Dot.*pair of ints.*\(1, 2, 3\)"):
        Dot((1, 2, 3))
    with pytest.raises(ValueError, match=r"Dot.*pair of ints.*1.5"):
        Dot((1, 1.5))


# -- EinsumDense -----------------------------------------------------------------------------
# Keras's own table (keras/src/layers/core/einsum_dense_test.py): equation, bias_axes,
# input shape, output_shape, kernel shape, bias shape, output shape.
KERAS_EINSUM_CASES = [
    ("ab,b->a", None, (2, 32), (), (32,), None, (2,)),
    ("ab,bc->ac", None, (2, 32), 64, (32, 64), None, (2, 64)),
    ("abc,cde->abde", None, (2, 1, 2), (1, 3, 4), (2, 3, 4), None, (2, 1, 3, 4)),
    ("abc,cde->abde", "e", (2, 1, 2), (1, 3, 4), (2, 3, 4), (4,), (2, 1, 3, 4)),
    ("abc,cde->abde", "d", (2, 1, 2), (1, 3, 4), (2, 3, 4), (3, 1), (2, 1, 3, 4)),
    ("abc,cde->abde", "be", (2, 7, 2), (7, 3, 4), (2, 3, 4), (7, 1, 4), (2, 7, 3, 4)),
    ("BFNH,NHD->BFD", None, (2, 1, 2, 3), (1, 4), (2, 3, 4), None, (2, 1, 4)),
    ("abc,cd->abd", None, (2, 1, 2), (1, 4), (2, 4), None, (2, 1, 4)),
    ("i,d->id", None, (2,), (2,), (2,), None, (2, 2)),
    ("ibd,nd->ibn", None, (2, 2, 1), (2, 2), (2, 1), None, (2, 2, 2)),
    ("...b,bc->...c", None, (2, 32), (64,), (32, 64), None, (2, 64)),
    ("...bc,bc->...b", None, (2, 32, 64), (32,), (32, 64), None, (2, 32)),
    ("...b,bc->...c", None, (2, 3, 32), (64,), (32, 64), None, (2, 3, 64)),
    ("...c,cde->...de", "e", (2, 1, 2), (3, 4), (2, 3, 4), (4,), (2, 1, 3, 4)),
    ("...c,cde->...de", "d", (2, 1, 2), (3, 4), (2, 3, 4), (3, 1), (2, 1, 3, 4)),
    ("...c,cde->...de", "de", (2, 1, 2), (3, 4), (2, 3, 4), (3, 4), (2, 1, 3, 4)),
    ("bc...,cd->bd...", None, (2, 1, 2, 3), (4,), (1, 4), None, (2, 4, 2, 3)),
    ("bc...,cde->bde...", None, (2, 1, 2), (3, 4), (1, 3, 4), None, (2, 3, 4, 2)),
    ("bc...,cde->bde...", "d", (2, 1, 2), (3, 4), (1, 3, 4), (3, 1, 1), (2, 3, 4, 2)),
    ("bc...,cde->bde...", "e", (2, 1, 2), (3, 4), (1, 3, 4), (4, 1), (2, 3, 4, 2)),
    ("bc...,cde->bde...", "de", (2, 1, 2), (3, 4), (1, 3, 4), (3, 4, 1), (2, 3, 4, 2)),
]


@pytest.mark.parametrize("case", KERAS_EINSUM_CASES, ids=lambda c: f"{c[0]}|{c[1]}")
def test_einsum_dense_keras_shapes_and_np_einsum_values(case):
    equation, bias_axes, in_shape, out_shape, kernel_shape, bias_shape, expected = case
    layer = EinsumDense(
        equation, out_shape, bias_axes=bias_axes, bias_initializer="random_normal",
        activation="tanh", dtype="float64",
    )  # fmt: skip
    x = _x(*in_shape)
    y = layer(x)
    assert layer.kernel.shape == kernel_shape and y.shape == expected
    assert (None if layer.bias is None else layer.bias.shape) == bias_shape
    assert layer.compute_output_shape(in_shape) == expected
    ref = np.einsum(equation, x, layer.kernel.numpy())
    if bias_shape is not None:
        ref = ref + layer.bias.numpy()
    _close(y.numpy(), np.tanh(ref))
    check_grads(layer, (x,), order=1)


@pytest.mark.parametrize(
    "equation, bias_axes, in_shape, out_shape",
    [
        ("abc,cde->abde", "de", (3, 5, 4), (5, 2, 6)),  # a matrix product on flat axes
        ("abcd,cde->abe", "e", (3, 5, 2, 4), (5, 6)),
        ("abc,cde->abde", "be", (3, 5, 4), (5, 2, 6)),  # a bias that broadcasts
        ("ibd,nd->ibn", None, (3, 4, 5), (4, 6)),  # a general einsum
        ("bc...,cde->bde...", "d", (2, 3, 4, 5), (2, 6)),
    ],
)
def test_einsum_dense_gradients_match_torch(equation, bias_axes, in_shape, out_shape):
    torch = pytest.importorskip("torch")
    layer = EinsumDense(
        equation, out_shape, bias_axes=bias_axes, bias_initializer="random_normal",
        dtype="float64",
    )  # fmt: skip
    x = _x(*in_shape)
    layer(x)
    cot = _x(*layer(x).shape)
    y, grads = _grads(layer, x, cot)
    weights = [w.numpy() for w in layer.trainable_weights]

    def forward(tx, kernel, bias=None):
        out = torch.einsum(equation, tx, kernel)
        return out if bias is None else out + bias

    ref, ref_grads = _torch_grads(torch, forward, x, weights, cot)
    _close(y, ref)
    assert len(grads) == len(ref_grads) == (3 if bias_axes else 2)
    for g, r in zip(grads, ref_grads):
        _close(g, r)


def test_einsum_dense_keras_docstring_examples_in_models():
    examples = [
        (("ab,bc->ac", 64, "c"), (32,), (None, 64)),
        (("abc,cd->abd", (None, 64), "d"), (32, 128), (None, 32, 64)),
        (("...x,xy->...y", 64, "y"), (32, 128), (None, 32, 64)),
    ]
    for (equation, out_shape, bias_axes), in_shape, expected in examples:
        out = EinsumDense(equation, output_shape=out_shape, bias_axes=bias_axes)(wg.Input(in_shape))
        assert out.shape == expected


def test_einsum_dense_config_regularizers_and_constraints():
    layer = EinsumDense(
        "abc,cde->abde", (None, 2, 3), bias_axes="e", activation="relu",
        kernel_regularizer="l2", bias_regularizer="l1", kernel_constraint="non_neg",
        name="proj",
    )  # fmt: skip
    x = _x(2, 4, 5).astype("float32")
    layer(x)
    assert len(layer.losses) == 2
    kernel = layer.kernel.numpy().astype("float64")
    np.testing.assert_allclose(float(layer.losses[0]), 0.01 * (kernel**2).sum(), rtol=1e-5)
    assert layer.kernel.constraint is not None and layer.bias.constraint is None
    config = layer.get_config()
    assert config["equation"] == "abc,cde->abde" and config["output_shape"] == (None, 2, 3)
    assert config["bias_axes"] == "e" and "kernel_regularizer" in config
    _roundtrip(layer, x)


@pytest.mark.parametrize(
    "kwargs, shape, message",
    [
        ({"equation": "ab,bc", "output_shape": 3}, None, r"'e'.*invalid einsum equation 'ab,bc'"),
        ({"equation": "abb,bc->ac", "output_shape": 3}, None, r"'e'.*repeats a letter.*'abb'"),
        ({"equation": "ab,bc->ad", "output_shape": 3}, None, r"'e'.*output letter 'd'"),
        ({"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "x"}, None, r"'e'.*bias_axes"),
        ({"equation": "ab,bc->ac", "output_shape": 3}, (2, 3, 4), r"'e'.*rank 2, got rank 3"),
        ({"equation": "ab,bc->ac", "output_shape": (3, 4)}, (2, 5), r"'e'.*must give 1 sizes"),
        ({"equation": "abc,cd->abd", "output_shape": (6, 4)}, (2, 5, 3), r"'e'.*5 != 6"),
        ({"equation": "ab,bc->ac", "output_shape": (None,)}, (2, 5), r"'e'.*'c'.*unknown"),
        ({"equation": "ab,bc->ca", "output_shape": 2}, (2, 5), r"'e'.*batch letter 'a'"),
    ],
)
def test_einsum_dense_errors_name_the_layer(kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        layer = EinsumDense(name="e", **kwargs)
        layer(np.ones(shape, "float32"))


def test_einsum_dense_input_mismatch_after_build():
    layer = EinsumDense("abc,cd->abd", (None, 4), name="ed")
    layer(np.ones((2, 3, 5), "float32"))
    layer(np.ones((2, 7, 5), "float32"))  # the sequence axis is free
    with pytest.raises(ValueError, match=r"'ed'.*axis 2.*value 5.*\(2, 3, 6\)"):
        layer(np.ones((2, 3, 6), "float32"))
    with pytest.raises(ValueError, match=r"'ed'.*ndim=3.*ndim=2"):
        layer(np.ones((2, 5), "float32"))


# -- depthwise, separable and transposed 1-D convolutions ---------------------------------------
def _same_pads(size, k, s, d):
    """TensorFlow's (before, after) "same" padding."""
    k = (k - 1) * d + 1
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _keras_length(size, k, s, d, padding):
    """Keras's convolution output length (compute_conv_output_shape)."""
    if padding in ("same", "causal"):
        return math.ceil(size / s)
    return math.ceil((size - (k - 1) * d) / s)


def _torch_depthwise(torch, x, kernel, strides, dilation, padding, rank):
    """Depthwise convolution of NC... x in torch: groups = channels, filter (C*m, 1, ...k)."""
    import torch.nn.functional as F

    c, m = kernel.shape[-2:]
    ks = kernel.shape[:rank]
    w = kernel.permute(*range(rank, rank + 2), *range(rank)).reshape(c * m, 1, *ks)
    if padding == "causal":
        pads = [((ks[0] - 1) * dilation[0], 0)]
    elif padding == "same":
        pads = [_same_pads(x.shape[2 + i], ks[i], strides[i], dilation[i]) for i in range(rank)]
    else:
        pads = [(0, 0)] * rank
    x = F.pad(x, [p for pair in reversed(pads) for p in pair])
    conv = F.conv1d if rank == 1 else F.conv2d
    return conv(x, w, None, strides, 0, dilation, groups=c)


def _channels_first(torch, x, rank, data_format):
    """x as NC... for torch (a channels_last input moved)."""
    if data_format == "channels_first":
        return x
    return x.permute(0, rank + 1, *range(1, rank + 1))


def _back(torch, y, rank, data_format):
    if data_format == "channels_first":
        return y
    return y.permute(0, *range(2, rank + 2), 1)


SEPARABLE_2D = [
    dict(strides=1, padding="valid", dilation_rate=1, depth_multiplier=1),
    dict(strides=2, padding="same", dilation_rate=1, depth_multiplier=2),
    dict(strides=(1, 2), padding="same", dilation_rate=1, depth_multiplier=3),
    dict(strides=1, padding="same", dilation_rate=2, depth_multiplier=2),
    dict(strides=1, padding="valid", dilation_rate=(2, 1), depth_multiplier=1),
    dict(strides=3, padding="valid", dilation_rate=1, depth_multiplier=2),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", SEPARABLE_2D, ids=str)
def test_separable_conv2d_matches_torch(args, data_format):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    layer = SeparableConv2D(
        5, (3, 2), data_format=data_format, activation="tanh", dtype="float64",
        bias_initializer="random_normal", **args,
    )  # fmt: skip
    x = _x(2, 9, 8, 3) if data_format == "channels_last" else _x(2, 3, 9, 8)
    y = layer(x)
    m = args["depth_multiplier"]
    assert layer.depthwise_kernel.shape == (3, 2, 3, m)
    assert layer.pointwise_kernel.shape == (1, 1, 3 * m, 5) and layer.bias.shape == (5,)
    assert [w.name.split("/")[-1] for w in layer.weights] == [
        "depthwise_kernel", "pointwise_kernel", "bias",
    ]  # fmt: skip
    strides, dilation = layer.strides, layer.dilation_rate
    spatial = x.shape[1:3] if data_format == "channels_last" else x.shape[2:]
    lengths = [
        _keras_length(n, k, s, d, args["padding"])
        for n, k, s, d in zip(spatial, (3, 2), strides, dilation)
    ]
    assert y.shape == ((2, *lengths, 5) if data_format == "channels_last" else (2, 5, *lengths))
    cot = _x(*y.shape)

    def forward(tx, depthwise, pointwise, bias):
        h = _torch_depthwise(
            torch, _channels_first(torch, tx, 2, data_format), depthwise, strides, dilation,
            args["padding"], 2,
        )  # fmt: skip
        out = F.conv2d(h, pointwise.permute(3, 2, 0, 1), bias)
        return torch.tanh(_back(torch, out, 2, data_format))

    weights = [w.numpy() for w in layer.trainable_weights]
    ref, ref_grads = _torch_grads(torch, forward, x, weights, cot)
    out, grads = _grads(layer, x, cot)
    _close(out, ref)
    for g, r in zip(grads, ref_grads):
        _close(g, r)


SEPARABLE_1D = [
    dict(strides=1, padding="valid", dilation_rate=1, depth_multiplier=1),
    dict(strides=2, padding="same", dilation_rate=1, depth_multiplier=2),
    dict(strides=1, padding="causal", dilation_rate=2, depth_multiplier=2),
    dict(strides=3, padding="causal", dilation_rate=1, depth_multiplier=1),
    dict(strides=1, padding="same", dilation_rate=3, depth_multiplier=1),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("args", SEPARABLE_1D, ids=str)
@pytest.mark.parametrize("kind", ["separable", "depthwise"])
def test_separable_and_depthwise_conv1d_match_torch(kind, args, data_format):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    common = dict(
        data_format=data_format, dtype="float64", bias_initializer="random_normal", **args
    )
    if kind == "separable":
        layer = SeparableConv1D(4, 3, **common)
    else:
        layer = DepthwiseConv1D(3, **common)
    x = _x(2, 11, 3) if data_format == "channels_last" else _x(2, 3, 11)
    y = layer(x)
    m = args["depth_multiplier"]
    out_channels = 4 if kind == "separable" else 3 * m
    length = _keras_length(11, 3, args["strides"], args["dilation_rate"], args["padding"])
    assert y.shape == (
        (2, length, out_channels) if data_format == "channels_last" else (2, out_channels, length)
    )
    if kind == "separable":
        assert layer.depthwise_kernel.shape == (3, 3, m)
        assert layer.pointwise_kernel.shape == (1, 3 * m, 4)
    else:
        assert layer.kernel.shape == (3, 3, m) and layer.bias.shape == (3 * m,)
    cot = _x(*y.shape)

    def forward(tx, depthwise, *rest):
        h = _torch_depthwise(
            torch, _channels_first(torch, tx, 1, data_format), depthwise, layer.strides,
            layer.dilation_rate, args["padding"], 1,
        )  # fmt: skip
        if kind == "separable":
            pointwise, bias = rest
            h = F.conv1d(h, pointwise.permute(2, 1, 0), bias)
        else:
            h = h + rest[0][:, None]
        return _back(torch, h, 1, data_format)

    weights = [w.numpy() for w in layer.trainable_weights]
    ref, ref_grads = _torch_grads(torch, forward, x, weights, cot)
    out, grads = _grads(layer, x, cot)
    _close(out, ref)
    for g, r in zip(grads, ref_grads):
        _close(g, r)


def _keras_transpose_length(size, k, s, d, padding, output_padding):
    """Keras's deconv_output_length."""
    k = (k - 1) * d + 1
    if output_padding is None:
        return size * s if padding == "same" else size * s + max(k - s, 0)
    pad = k // 2 if padding == "same" else 0
    return (size - 1) * s + k - 2 * pad + output_padding


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "k, s, d, padding, output_padding",
    [
        (3, 1, 1, "valid", None),
        (3, 2, 1, "same", None),
        (4, 2, 1, "same", None),
        (2, 3, 1, "valid", None),  # kernel shorter than the stride: zeros between
        (3, 2, 1, "valid", 1),
        (3, 2, 1, "same", 1),
        (3, 1, 2, "same", None),
        (3, 2, 2, "valid", None),
    ],
)
def test_conv1d_transpose_matches_torch(k, s, d, padding, output_padding, data_format):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    layer = Conv1DTranspose(
        4, k, strides=s, padding=padding, output_padding=output_padding, dilation_rate=d,
        data_format=data_format, bias_initializer="random_normal", dtype="float64",
    )  # fmt: skip
    x = _x(2, 7, 3) if data_format == "channels_last" else _x(2, 3, 7)
    y = layer(x)
    assert layer.kernel.shape == (k, 4, 3)
    length = _keras_transpose_length(7, k, s, d, padding, output_padding)
    assert y.shape == ((2, length, 4) if data_format == "channels_last" else (2, 4, length))
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + y.shape[1:]
    before = _same_pads(length, k, s, d)[0] if padding == "same" else 0
    cot = _x(*y.shape)

    def forward(tx, kernel, bias):
        # torch's full transposed convolution, cropped to the padded convolution's input
        full = F.conv_transpose1d(
            _channels_first(torch, tx, 1, data_format), kernel.permute(2, 1, 0), None, s,
            dilation=d,
        )  # fmt: skip
        full = F.pad(full, (0, max(before + length - full.shape[-1], 0)))
        out = full[..., before : before + length] + bias[:, None]
        return _back(torch, out, 1, data_format)

    weights = [w.numpy() for w in layer.trainable_weights]
    ref, ref_grads = _torch_grads(torch, forward, x, weights, cot)
    out, grads = _grads(layer, x, cot)
    _close(out, ref)
    for g, r in zip(grads, ref_grads):
        _close(g, r)


def test_conv1d_transpose_is_torch_conv_transpose1d_with_symmetric_padding():
    torch = pytest.importorskip("torch")
    # "same" with kernel 5, stride 1: a padding of 2 each side, which torch takes directly
    layer = Conv1DTranspose(2, 5, padding="same", dtype="float64", use_bias=False)
    x = _x(3, 8, 4)
    y = layer(x).numpy()
    w = torch.tensor(layer.kernel.numpy().transpose(2, 1, 0).copy())
    ref = torch.nn.functional.conv_transpose1d(
        torch.tensor(x.transpose(0, 2, 1).copy()), w, padding=2
    )
    _close(y, ref.numpy().transpose(0, 2, 1))


def test_new_conv_layers_check_grads():
    x = _x(2, 7, 3)
    for layer in (
        SeparableConv1D(2, 3, strides=2, padding="same", dtype="float64"),
        DepthwiseConv1D(2, depth_multiplier=2, padding="causal", dtype="float64"),
        Conv1DTranspose(2, 3, strides=2, dtype="float64"),
    ):
        check_grads(layer, (x,), order=1)
    check_grads(SeparableConv2D(2, 2, dtype="float64"), (_x(1, 4, 5, 2),), order=1)


@pytest.mark.parametrize(
    "make, x",
    [
        (
            lambda: SeparableConv2D(
                4,
                3,
                depth_multiplier=2,
                padding="same",
                strides=2,
                name="sep2",
                depthwise_regularizer="l2",
                pointwise_regularizer="l1",
                pointwise_constraint="non_neg",
            ),
            _x(2, 7, 6, 3),
        ),  # fmt: skip
        (
            lambda: SeparableConv1D(3, 2, data_format="channels_first", padding="causal"),
            _x(2, 4, 9),
        ),  # fmt: skip
        (lambda: DepthwiseConv1D(3, depth_multiplier=2, depthwise_regularizer="l2"), _x(2, 8, 3)),
        (
            lambda: Conv1DTranspose(3, 4, strides=2, output_padding=1, kernel_regularizer="l2"),
            _x(2, 5, 2),
        ),  # fmt: skip
    ],
)
def test_new_conv_layers_configs_summary_and_regularizers(make, x):
    layer = make()
    x = x.astype("float32")
    y = layer(x)
    _roundtrip(layer, x)
    config = layer.get_config()
    keras_keys = {
        SeparableConv2D: {"filters", "depth_multiplier", "depthwise_initializer",
                          "pointwise_initializer"},
        SeparableConv1D: {"filters", "depth_multiplier", "depthwise_initializer",
                          "pointwise_initializer"},
        DepthwiseConv1D: {"depth_multiplier", "depthwise_initializer"},
        Conv1DTranspose: {"filters", "kernel_initializer", "output_padding"},
    }[type(layer)]  # fmt: skip
    assert keras_keys <= set(config) and "groups" not in config
    assert ("kernel_initializer" in config) == isinstance(layer, Conv1DTranspose)
    regularizers = [k for k in config if k.endswith("_regularizer")]
    assert len(layer.losses) == len(regularizers)
    if "pointwise_constraint" in config:
        assert layer.pointwise_kernel.constraint is not None
        assert layer.depthwise_kernel.constraint is None
    inputs = wg.Input(x.shape[1:])
    model = wg.Model(inputs, make()(inputs))
    lines = []
    model.summary(print_fn=lines.append)
    assert str((None,) + y.shape[1:]) in lines[0]
    assert model.count_params() == layer.count_params()


def test_separable_conv_param_count_is_keras():
    layer = SeparableConv2D(16, 3, depth_multiplier=2)
    layer(np.ones((1, 8, 8, 8), "float32"))
    # Keras: 3*3*8*2 depthwise + 16*16 pointwise + 16 bias
    assert layer.count_params() == 144 + 256 + 16
    sep1 = SeparableConv1D(4, 5, use_bias=False)
    sep1(np.ones((1, 9, 3), "float32"))
    assert sep1.count_params() == 15 + 12 and len(sep1.weights) == 2


@pytest.mark.parametrize(
    "make, shape, message",
    [
        (lambda: SeparableConv2D(4, 3, name="s2"), (2, 8, 3), r"'s2'.*ndim=4.*ndim=3"),
        (lambda: SeparableConv1D(4, 3, name="s1"), (2, 8, 8, 3), r"'s1'.*ndim=3.*ndim=4"),
        (lambda: DepthwiseConv1D(3, name="dw1"), (2, 8), r"'dw1'.*ndim=3.*ndim=2"),
        (lambda: Conv1DTranspose(2, 3, name="t1"), (2, 8, 3, 1), r"'t1'.*ndim=3.*ndim=4"),
        (lambda: SeparableConv1D(4, 9, name="big"), (2, 5, 3), r"big.*larger.*\(2, 5, 3\)"),
        (lambda: DepthwiseConv1D(6, name="dbig"), (2, 5, 3), r"dbig.*larger.*\(2, 5, 3\)"),
    ],
)
def test_new_conv_layer_errors_name_the_layer_and_shapes(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.ones(shape, "float32"))


@pytest.mark.parametrize(
    "layer, good, bad, message",
    [
        (SeparableConv2D(4, 3, name="sc"), (1, 5, 5, 3), (1, 5, 5, 2), r"'sc'.*axis -1.*value 3"),
        (
            DepthwiseConv1D(2, name="dc", data_format="channels_first"),
            (1, 3, 6),
            (1, 4, 6),
            r"'dc'.*axis 1.*value 3.*\(1, 4, 6\)",
        ),  # fmt: skip
        (Conv1DTranspose(2, 2, name="tc"), (1, 5, 3), (1, 5, 4), r"'tc'.*axis -1.*value 3"),
    ],
)
def test_new_conv_layers_channel_mismatch_after_build(layer, good, bad, message):
    layer(np.ones(good, "float32"))
    with pytest.raises(ValueError, match=message):
        layer(np.ones(bad, "float32"))


def test_new_conv_layer_argument_errors():
    with pytest.raises(ValueError, match=r"SeparableConv2D 'a'.*depth_multiplier.*0"):
        SeparableConv2D(4, 3, depth_multiplier=0, name="a")
    with pytest.raises(ValueError, match=r"DepthwiseConv1D 'b'.*depth_multiplier.*-1"):
        DepthwiseConv1D(3, depth_multiplier=-1, name="b")
    with pytest.raises(ValueError, match=r"Conv1DTranspose 'c'.*output_padding \(2,\).*\(2,\)"):
        Conv1DTranspose(2, 3, strides=2, output_padding=2, name="c")
    with pytest.raises(ValueError, match=r"Conv1DTranspose 'd'.*padding.*'causal'"):
        Conv1DTranspose(2, 3, padding="causal", name="d")
    with pytest.raises(ValueError, match=r"SeparableConv2D 'e'.*padding.*'causal'"):
        SeparableConv2D(2, 3, padding="causal", name="e")
    with pytest.raises(ValueError, match=r"SeparableConv1D 'f'.*filters.*0"):
        SeparableConv1D(0, 3, name="f")
    with pytest.raises(ValueError, match=r"SeparableConv1D 'g'.*kernel_size.*1 ints"):
        SeparableConv1D(2, (3, 3), name="g")
