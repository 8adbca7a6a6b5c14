"""The fused cross-entropies, erf and the activations in ``wg.nn``.

Each is checked by ``check_grads`` (forward and reverse, second order, float64),
for finite values and gradients at logits of +-1e4, and against PyTorch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import wengert as wg
from wengert.test_util import check_grads

RNG = np.random.default_rng(7)


def normal(*shape):
    return RNG.standard_normal(shape)


def away_from_zero(*shape, low=0.2):
    x = RNG.standard_normal(shape)
    return np.where(x >= 0, x + low, x - low)


def probabilities(*shape, axis=-1):
    e = np.exp(RNG.standard_normal(shape))
    return e / e.sum(axis=axis, keepdims=True)


def labels_for(shape, classes):
    return RNG.integers(0, classes, size=shape)


# -- second-order gradient checks ----------------------------------------------------

UNARY = {
    "erf": (wg.nn.erf, normal),
    "erfc": (wg.nn.erfc, normal),
    "leaky_relu": (wg.nn.leaky_relu, away_from_zero),
    "leaky_relu_alpha": (lambda x: wg.nn.leaky_relu(x, alpha=0.05), away_from_zero),
    "elu": (wg.nn.elu, away_from_zero),
    "elu_alpha": (lambda x: wg.nn.elu(x, alpha=0.5), away_from_zero),
    "selu": (wg.nn.selu, away_from_zero),
    "gelu": (wg.nn.gelu, normal),
    "gelu_tanh": (lambda x: wg.nn.gelu(x, approximate=True), normal),
    "softsign": (wg.nn.softsign, away_from_zero),
    "silu": (wg.nn.silu, normal),
    "silu_beta": (lambda x: wg.nn.silu(x, beta=1.7), normal),
}
SHAPES = [(), (5,), (3, 4)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_check_grads(name, shape):
    fn, make = UNARY[name]
    check_grads(fn, (make(*shape),), modes=("fwd", "rev"), order=2, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_sigmoid_cross_entropy_check_grads(shape):
    z = RNG.uniform(0, 1, size=shape)
    x = 2 * normal(*shape)
    check_grads(wg.nn.sigmoid_cross_entropy_with_logits, (z, x), order=2, atol=1e-7)


@pytest.mark.parametrize(
    "shape, axis", [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)], ids=str
)
def test_softmax_cross_entropy_check_grads(shape, axis):
    z = probabilities(*shape, axis=axis)
    x = 2 * normal(*shape)
    f = lambda z, x: wg.nn.softmax_cross_entropy_with_logits(z, x, axis=axis)  # noqa: E731
    check_grads(f, (z, x), order=2, atol=1e-7)


def test_softmax_cross_entropy_check_grads_unnormalised_labels():
    # The logits' rule is softmax * sum(labels) - labels: exact even off the simplex.
    z = RNG.uniform(0, 2, size=(3, 4))
    check_grads(wg.nn.softmax_cross_entropy_with_logits, (z, normal(3, 4)), order=2, atol=1e-7)


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 5)], ids=str)
def test_sparse_softmax_cross_entropy_check_grads(shape):
    labels = labels_for(shape[:-1], shape[-1])
    f = lambda x: wg.nn.sparse_softmax_cross_entropy_with_logits(labels, x)  # noqa: E731
    check_grads(f, (2 * normal(*shape),), order=2, atol=1e-7)


def test_sparse_labels_get_no_gradient():
    labels = wg.constant([1, 0])
    x = wg.constant(normal(2, 3))
    with wg.GradientTape() as tape, pytest.warns(UserWarning, match="floating"):
        tape.watch([labels, x])
        y = wg.nn.sparse_softmax_cross_entropy_with_logits(labels, x)
    gl, gx = tape.gradient(y, [labels, x])
    assert gl is None and gx.shape == (2, 3)


# -- stability at +-1e4 -------------------------------------------------------------


def _value_and_grads(fn, *args):
    ts = [wg.constant(np.asarray(a)) for a in args]
    floats = [t for t in ts if t.dtype.kind == "f"]
    with wg.GradientTape() as tape:
        tape.watch(floats)
        y = fn(*ts)
    return y.numpy(), [g.numpy() for g in tape.gradient(y, floats)]


BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropies_finite_at_large_logits(dtype):
    x = BIG.astype(dtype)
    z = np.array([[1.0, 0.0, 0.0], [0.5, 0.0, 0.5]], dtype)
    cases = [
        (wg.nn.sigmoid_cross_entropy_with_logits, (z, x)),
        (wg.nn.softmax_cross_entropy_with_logits, (z, x)),
        (lambda x: wg.nn.sparse_softmax_cross_entropy_with_logits([1, 0], x), (x,)),
    ]
    for fn, args in cases:
        value, grads = _value_and_grads(fn, *args)
        assert np.all(np.isfinite(value))
        for g in grads:
            assert np.all(np.isfinite(g)) and g.dtype == np.dtype(dtype)
    # Known values: confident and right costs 0, confident and wrong costs |logit|.
    v = wg.nn.sigmoid_cross_entropy_with_logits(np.array([1.0, 0.0, 1.0]), np.array([1e4] * 3))
    np.testing.assert_allclose(v.numpy(), [0.0, 1e4, 0.0])
    v = wg.nn.sparse_softmax_cross_entropy_with_logits([0, 1], BIG[:, :2])
    np.testing.assert_allclose(v.numpy(), [0.0, np.log(2.0)])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_activations_finite_at_large_inputs(name):
    value, (g,) = _value_and_grads(UNARY[name][0], np.array([1e4, -1e4, 0.0, 1e30, -1e30]))
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(g))


# -- against PyTorch -------------------------------------------------------------


def _torch_value_and_grads(fn, *args):
    ts = [torch.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in args]
    y = fn(*ts)
    v = torch.tensor(COT[: y.numel()].reshape(tuple(y.shape)), dtype=y.dtype)
    grads = torch.autograd.grad(y, [t for t in ts if t.requires_grad], v)
    return y.detach().numpy(), [g.numpy() for g in grads]


COT = RNG.standard_normal(1000)


def _wg_value_and_grads_cot(fn, *args):
    ts = [wg.constant(np.asarray(a)) for a in args]
    floats = [t for t in ts if t.dtype.kind == "f"]
    with wg.GradientTape() as tape:
        tape.watch(floats)
        y = fn(*ts)
    v = wg.constant(COT[: y.numpy().size].reshape(y.shape).astype(y.dtype))
    return y.numpy(), [g.numpy() for g in tape.gradient(y, floats, output_gradients=v)]


def _compare(wg_fn, torch_fn, args, rtol):
    v1, g1 = _wg_value_and_grads_cot(wg_fn, *args)
    v2, g2 = _torch_value_and_grads(torch_fn, *args)
    np.testing.assert_allclose(v1, v2, rtol=rtol, atol=rtol)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_cross_entropies_against_torch(dtype, rtol):
    x = (3 * normal(4, 5)).astype(dtype)
    x[0, 0], x[1, 1] = 1e4, -1e4
    p = probabilities(4, 5).astype(dtype)
    z = RNG.uniform(0, 1, size=(4, 5)).astype(dtype)
    idx = labels_for((4,), 5)
    bce = lambda z, x: F.binary_cross_entropy_with_logits(x, z, reduction="none")  # noqa: E731
    _compare(wg.nn.sigmoid_cross_entropy_with_logits, bce, (z, x), rtol)
    cep = lambda p, x: F.cross_entropy(x, p, reduction="none")  # noqa: E731
    _compare(wg.nn.softmax_cross_entropy_with_logits, cep, (p, x), rtol)
    # Class axis 0 of a (classes, batch) array is torch's axis 1 of its transpose.
    _compare(
        lambda p, x: wg.nn.softmax_cross_entropy_with_logits(p, x, axis=0),
        lambda p, x: F.cross_entropy(x.T, p.T, reduction="none"),
        (p.T.copy(), x.T.copy()),
        rtol,
    )
    cei = lambda i, x: F.cross_entropy(x, i, reduction="none")  # noqa: E731
    _compare(lambda i, x: wg.nn.sparse_softmax_cross_entropy_with_logits(i, x), cei, (idx, x), rtol)


TORCH_ACTIVATIONS = {
    "leaky_relu": (wg.nn.leaky_relu, lambda x: F.leaky_relu(x, 0.2)),
    "leaky_relu_alpha": (
        lambda x: wg.nn.leaky_relu(x, alpha=0.05),
        lambda x: F.leaky_relu(x, 0.05),
    ),
    "elu": (wg.nn.elu, F.elu),
    "elu_alpha": (lambda x: wg.nn.elu(x, alpha=0.5), lambda x: F.elu(x, 0.5)),
    "selu": (wg.nn.selu, F.selu),
    "gelu": (wg.nn.gelu, F.gelu),
    "gelu_tanh": (
        lambda x: wg.nn.gelu(x, approximate=True),
        lambda x: F.gelu(x, approximate="tanh"),
    ),
    "softsign": (wg.nn.softsign, F.softsign),
    "silu": (wg.nn.silu, F.silu),
    "erf": (wg.nn.erf, torch.erf),
    "erfc": (wg.nn.erfc, torch.erfc),
}


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-6)])
@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_activations_against_torch(name, dtype, rtol):
    x = np.concatenate([4 * normal(40), [0.0, 1e4, -1e4, -30.0, 30.0]]).astype(dtype)
    _compare(*TORCH_ACTIVATIONS[name], (x,), rtol)


def test_erf_and_erfc_match_torch_on_a_dense_grid():
    x = np.linspace(-26, 26, 20001)
    np.testing.assert_allclose(wg.nn.erf(x).numpy(), torch.erf(torch.tensor(x)).numpy(), 1e-15)
    np.testing.assert_allclose(wg.nn.erfc(x).numpy(), torch.erfc(torch.tensor(x)).numpy(), 5e-15)
    special = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 30.0, 1e300])
    np.testing.assert_array_equal(wg.nn.erf(special).numpy(), [1, -1, np.nan, 0, -0.0, 1, 1])
    np.testing.assert_array_equal(wg.nn.erfc(special).numpy(), [0, 2, np.nan, 1, 1, 0, 0])


def test_gelu_is_accurate_in_the_far_negative_tail():
    # erfc keeps the relative accuracy that 1 + erf(x / sqrt 2) would cancel away.
    x = np.array([-5.0, -10.0, -20.0])
    exact = [0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(wg.nn.gelu(x).numpy(), exact, rtol=1e-10)
    np.testing.assert_allclose(wg.nn.gelu(x[:2].astype(np.float32)).numpy(), exact[:2], rtol=1e-5)


# -- dtypes and errors --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UNARY))
def test_activation_keeps_float32(name):
    assert UNARY[name][0](np.array([0.5, -1.5], np.float32)).dtype == np.float32


def test_activation_rejects_integers():
    for fn in (wg.nn.erf, wg.nn.elu, wg.nn.gelu, wg.nn.leaky_relu, wg.nn.softsign):
        with pytest.raises(TypeError, match="floating-point"):
            fn(wg.constant([1, 2]))


def test_sparse_label_out_of_range_names_op_label_and_classes():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"sparse_softmax.*label 4 .*\[0, 4\).*4 classes"):
        wg.nn.sparse_softmax_cross_entropy_with_logits([0, 4, 1], x)
    with pytest.raises(ValueError, match="label -1"):
        wg.nn.sparse_softmax_cross_entropy_with_logits([0, -1, 1], x)


def test_cross_entropy_shape_and_dtype_errors():
    with pytest.raises(ValueError, match=r"sigmoid_cross_entropy_with_logits.*\[3\].*\[3, 1\]"):
        wg.nn.sigmoid_cross_entropy_with_logits(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy_with_logits.*\[2, 3\]"):
        wg.nn.softmax_cross_entropy_with_logits(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"without the last axis.*\[3\].*\[2, 3\]"):
        wg.nn.sparse_softmax_cross_entropy_with_logits([0, 1, 2], np.zeros((2, 3)))
    with pytest.raises(TypeError, match="labels must be integers"):
        wg.nn.sparse_softmax_cross_entropy_with_logits([0.0, 1.0], np.zeros((2, 3)))
    with pytest.raises(TypeError, match="logits must be floating point"):
        wg.nn.sigmoid_cross_entropy_with_logits([1, 0], [1, 0])
    with pytest.raises(TypeError, match="dtypes differ"):
        wg.nn.sigmoid_cross_entropy_with_logits(wg.zeros(2, "float32"), wg.zeros(2, "float64"))


# -- the fused affine map of Dense ---------------------------------------------------------


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3)], ids=str)
def test_dense_equals_matmul_plus_bias_and_torch_linear(x_shape):
    from wengert.nn_ops import dense

    x, k, b = normal(*x_shape), normal(3, 2), normal(2)
    xs = [wg.constant(a) for a in (x, k, b)]
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(xs)
        fused = dense(*xs)
        plain = wg.matmul(xs[0], xs[1]) + xs[2]
        loss_fused = wg.reduce_sum(fused * fused)
        loss_plain = wg.reduce_sum(plain * plain)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), rtol=1e-12)
    for gf, gp in zip(tape.gradient(loss_fused, xs), tape.gradient(loss_plain, xs)):
        np.testing.assert_allclose(gf.numpy(), gp.numpy(), rtol=1e-12)
    xt, kt, bt = (torch.tensor(a, requires_grad=True) for a in (x, k, b))
    yt = F.linear(xt, kt.T, bt)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(fused.numpy(), yt.detach().numpy(), rtol=1e-12)
    for g, t in zip(tape.gradient(loss_fused, xs), (xt, kt, bt)):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-10)


def test_dense_bad_input_names_op_and_shapes():
    from wengert.nn_ops import dense

    with pytest.raises(ValueError, match=r"dense: .*x \[2, 3\], kernel \[4, 2\], bias \[2\]"):
        dense(wg.ones((2, 3)), wg.ones((4, 2)), wg.ones((2,)))
    with pytest.raises(ValueError, match=r"dense: .*bias \[3\]"):
        dense(wg.ones((2, 4)), wg.ones((4, 2)), wg.ones((3,)))
    with pytest.raises(ValueError, match=r"rank >= 2"):
        dense(wg.ones((4,)), wg.ones((4, 2)), wg.ones((2,)))
    with pytest.raises(TypeError, match=r"dense: .*float32, float64 and float32"):
        dense(wg.ones((2, 4)), wg.ones((4, 2), dtype="float64"), wg.ones((2,)))
    with pytest.raises(TypeError, match=r"dense: .*int32"):
        ints = [wg.ones(shape, dtype="int32") for shape in ((2, 4), (4, 2), (2,))]
        dense(*ints)
