"""wg.ops (Keras 3's keras.ops) against NumPy and PyTorch; wg.random's Keras-style seeds."""

from __future__ import annotations

import inspect
import math
import os

import numpy as np
import pytest

import wengert as wg
from wengert import ops
from wengert.test_util import check_grads

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4)).astype("float32")
B = rng.standard_normal((4, 5)).astype("float32")
V = rng.standard_normal(4).astype("float32")
P = rng.uniform(0.05, 0.95, (3, 4)).astype("float32")
I = np.array([[1, -2, 0, 3], [4, 0, -1, 2]], dtype="int32")


def _np(t):
    if isinstance(t, (tuple, list)):
        return [_np(v) for v in t]
    return t.numpy() if isinstance(t, wg.Tensor) else np.asarray(t)


# name: (wg.ops call, NumPy reference)
VALUES = {
    "mean": (lambda: ops.mean(A, axis=1), lambda: A.mean(1)),
    "mean_keepdims": (
        lambda: ops.mean(A, axis=(0, 1), keepdims=True),
        lambda: A.mean((0, 1), keepdims=True),
    ),
    "sum": (lambda: ops.sum(A), lambda: A.sum()),
    "sum_bool": (lambda: ops.sum(A > 0, axis=0), lambda: (A > 0).sum(0)),
    "max": (lambda: ops.max(A, axis=0), lambda: A.max(0)),
    "max_initial": (lambda: ops.max(A, axis=1, initial=0.5), lambda: np.max(A, 1, initial=0.5)),
    "min": (lambda: ops.min(A, axis=-1, keepdims=True), lambda: A.min(-1, keepdims=True)),
    "prod": (lambda: ops.prod(A, axis=1), lambda: A.prod(1)),
    "std": (lambda: ops.std(A, axis=0), lambda: A.std(0)),
    "var": (lambda: ops.var(A), lambda: A.var()),
    "std_int": (lambda: ops.std(I), lambda: I.std().astype("float32")),
    "argmax": (lambda: ops.argmax(A), lambda: np.argmax(A)),
    "argmax_axis": (
        lambda: ops.argmax(A, axis=1, keepdims=True),
        lambda: np.argmax(A, 1, keepdims=True),
    ),
    "argmin": (lambda: ops.argmin(A, axis=0), lambda: np.argmin(A, 0)),
    "any": (lambda: ops.any(I, axis=1), lambda: np.any(I, 1)),
    "all": (lambda: ops.all(I, axis=0), lambda: np.all(I, 0)),
    "abs": (lambda: ops.abs(A), lambda: np.abs(A)),
    "absolute": (lambda: ops.absolute(I), lambda: np.absolute(I)),
    "sqrt": (lambda: ops.sqrt(P), lambda: np.sqrt(P)),
    "sqrt_int": (lambda: ops.sqrt([4, 9]), lambda: np.array([2.0, 3.0], "float32")),
    "square": (lambda: ops.square(A), lambda: np.square(A)),
    "exp": (lambda: ops.exp(A), lambda: np.exp(A)),
    "log": (lambda: ops.log(P), lambda: np.log(P)),
    "log1p": (lambda: ops.log1p(P), lambda: np.log1p(P)),
    "expm1": (lambda: ops.expm1(A), lambda: np.expm1(A)),
    "power": (lambda: ops.power(P, 2.5), lambda: P**2.5),
    "power_tensors": (lambda: ops.power(P, A), lambda: P**A),
    "maximum": (lambda: ops.maximum(A, 0.1), lambda: np.maximum(A, 0.1)),
    "minimum": (lambda: ops.minimum(A, B[:3, :4]), lambda: np.minimum(A, B[:3, :4])),
    "maximum_promote": (lambda: ops.maximum(I, 0.5), lambda: np.maximum(I, 0.5).astype("float32")),
    "clip": (lambda: ops.clip(A, -0.5, 0.5), lambda: np.clip(A, -0.5, 0.5)),
    "where": (lambda: ops.where(A > 0, A, 0.0), lambda: np.where(A > 0, A, 0.0)),
    "where_nonzero": (lambda: ops.where(I), lambda: np.nonzero(I)),
    "add": (lambda: ops.add(I, 0.5), lambda: (I + 0.5).astype("float32")),
    "subtract": (lambda: ops.subtract(A, V), lambda: A - V),
    "multiply": (lambda: ops.multiply(I, A[:2]), lambda: I * A[:2]),
    "divide": (lambda: ops.divide(I, 2), lambda: (I / 2).astype("float32")),
    "floor_divide": (lambda: ops.floor_divide(I, 3), lambda: I // 3),
    "mod": (lambda: ops.mod(I, 3), lambda: np.mod(I, 3)),
    "concatenate": (lambda: ops.concatenate([A, A[:1]]), lambda: np.concatenate([A, A[:1]])),
    "concatenate_axis1": (
        lambda: ops.concatenate([A, A], axis=1),
        lambda: np.concatenate([A, A], 1),
    ),
    "concatenate_none": (
        lambda: ops.concatenate([A, V], axis=None),
        lambda: np.concatenate([A, V], axis=None),
    ),
    "stack": (lambda: ops.stack([A, A * 2], axis=1), lambda: np.stack([A, A * 2], 1)),
    "split": (lambda: ops.split(A, 2, axis=1), lambda: np.split(A, 2, 1)),
    "split_indices": (lambda: ops.split(A, [1, -1], axis=1), lambda: np.split(A, [1, -1], 1)),
    "reshape": (lambda: ops.reshape(A, (2, -1)), lambda: A.reshape(2, -1)),
    "transpose": (lambda: ops.transpose(A), lambda: A.T),
    "transpose_axes": (
        lambda: ops.transpose(A[None], axes=(2, 0, 1)),
        lambda: A[None].transpose(2, 0, 1),
    ),
    "expand_dims": (lambda: ops.expand_dims(A, (0, 3)), lambda: np.expand_dims(A, (0, 3))),
    "squeeze": (lambda: ops.squeeze(A[None, :, None]), lambda: A),
    "moveaxis": (lambda: ops.moveaxis(A[None], 0, -1), lambda: np.moveaxis(A[None], 0, -1)),
    "moveaxis_multi": (
        lambda: ops.moveaxis(np.zeros((2, 3, 4, 5)), [0, 1], [-1, 0]),
        lambda: np.moveaxis(np.zeros((2, 3, 4, 5)), [0, 1], [-1, 0]),
    ),
    "swapaxes": (lambda: ops.swapaxes(A[None], 0, 2), lambda: np.swapaxes(A[None], 0, 2)),
    "flip": (lambda: ops.flip(A, axis=1), lambda: np.flip(A, 1)),
    "flip_all": (lambda: ops.flip(A), lambda: np.flip(A)),
    "roll": (lambda: ops.roll(A, 2, axis=1), lambda: np.roll(A, 2, 1)),
    "roll_flat": (lambda: ops.roll(A, -3), lambda: np.roll(A, -3)),
    "roll_multi": (lambda: ops.roll(A, (1, -1), axis=(0, 1)), lambda: np.roll(A, (1, -1), (0, 1))),
    "repeat": (lambda: ops.repeat(A, 2, axis=0), lambda: np.repeat(A, 2, 0)),
    "repeat_counts": (lambda: ops.repeat(V, [1, 0, 2, 3]), lambda: np.repeat(V, [1, 0, 2, 3])),
    "tile": (lambda: ops.tile(A, (2, 1, 2)), lambda: np.tile(A, (2, 1, 2))),
    "take": (lambda: ops.take(A, [[0, -1]], axis=1), lambda: np.take(A, [[0, -1]], 1)),
    "take_flat": (lambda: ops.take(A, [5, 0]), lambda: np.take(A, [5, 0])),
    "take_along_axis": (
        lambda: ops.take_along_axis(A, np.argsort(A, 1)[:, :2], axis=1),
        lambda: np.take_along_axis(A, np.argsort(A, 1)[:, :2], 1),
    ),
    "take_along_axis_none": (
        lambda: ops.take_along_axis(A, np.array([3, 0]), axis=None),
        lambda: np.take_along_axis(A, np.array([3, 0]), None),
    ),
    "sort": (lambda: ops.sort(A, axis=0), lambda: np.sort(A, 0)),
    "argsort": (lambda: ops.argsort(A), lambda: np.argsort(A, kind="stable")),
    "cumsum": (lambda: ops.cumsum(A, axis=1), lambda: np.cumsum(A, 1)),
    "cumsum_flat": (lambda: ops.cumsum(A), lambda: np.cumsum(A)),
    "cumprod": (lambda: ops.cumprod(A, axis=0), lambda: np.cumprod(A, 0)),
    "cumprod_flat": (lambda: ops.cumprod(I), lambda: np.cumprod(I)),
    "matmul": (lambda: ops.matmul(A, B), lambda: A @ B),
    "matmul_vec": (lambda: ops.matmul(A, V), lambda: A @ V),
    "matmul_vec_left": (lambda: ops.matmul(V, B), lambda: V @ B),
    "matmul_batch": (lambda: ops.matmul(np.stack([A, A]), B), lambda: np.stack([A, A]) @ B),
    "dot": (lambda: ops.dot(V, V), lambda: np.dot(V, V)),
    "dot_nd": (lambda: ops.dot(np.stack([A, A]), B), lambda: np.dot(np.stack([A, A]), B)),
    "dot_scalar": (lambda: ops.dot(2.0, A), lambda: np.dot(2.0, A).astype("float32")),
    "einsum": (lambda: ops.einsum("ij,jk->ik", A, B), lambda: np.einsum("ij,jk->ik", A, B)),
    "tensordot": (lambda: ops.tensordot(A, B, axes=1), lambda: np.tensordot(A, B, 1)),
    "tensordot_pairs": (
        lambda: ops.tensordot(A, A, axes=([0, 1], [0, 1])),
        lambda: np.tensordot(A, A, ([0, 1], [0, 1])),
    ),
    "outer": (lambda: ops.outer(V, A[0]), lambda: np.outer(V, A[0])),
    "norm": (lambda: ops.norm(A), lambda: np.linalg.norm(A)),
    "norm_axis": (
        lambda: ops.norm(A, axis=1, keepdims=True),
        lambda: np.linalg.norm(A, axis=1, keepdims=True),
    ),
    "norm_ord1": (lambda: ops.norm(A, ord=1), lambda: np.linalg.norm(A, 1)),
    "norm_ordinf": (lambda: ops.norm(A, ord=np.inf), lambda: np.linalg.norm(A, np.inf)),
    "norm_ord_neg1": (
        lambda: ops.norm(A, ord=-1, axis=(0, 1)),
        lambda: np.linalg.norm(A, -1, (0, 1)),
    ),
    "norm_vec3": (lambda: ops.norm(V, ord=3), lambda: np.linalg.norm(V, 3)),
    "norm_vec0": (lambda: ops.norm(I[0], ord=0), lambda: np.linalg.norm(I[0], 0)),
    "norm_vec_neginf": (
        lambda: ops.norm(A, ord=-np.inf, axis=0),
        lambda: np.linalg.norm(A, -np.inf, 0),
    ),
    "isnan": (lambda: ops.isnan([1.0, np.nan, np.inf]), lambda: np.isnan([1.0, np.nan, np.inf])),
    "isinf": (lambda: ops.isinf([1.0, np.nan, -np.inf]), lambda: np.isinf([1.0, np.nan, -np.inf])),
    "isfinite": (
        lambda: ops.isfinite([1.0, np.nan, np.inf]),
        lambda: np.isfinite([1.0, np.nan, np.inf]),
    ),
    "isnan_int": (lambda: ops.isnan(I), lambda: np.isnan(I)),
    "logical_and": (lambda: ops.logical_and(I, A[:2] > 0), lambda: np.logical_and(I, A[:2] > 0)),
    "logical_or": (lambda: ops.logical_or(I, A[:2] > 0), lambda: np.logical_or(I, A[:2] > 0)),
    "logical_xor": (lambda: ops.logical_xor(I, A[:2] > 0), lambda: np.logical_xor(I, A[:2] > 0)),
    "logical_not": (lambda: ops.logical_not(I), lambda: np.logical_not(I)),
    "equal": (lambda: ops.equal(I, 0), lambda: I == 0),
    "not_equal": (lambda: ops.not_equal(I, 0.0), lambda: I != 0),
    "greater": (lambda: ops.greater(A, 0), lambda: A > 0),
    "less": (lambda: ops.less(A, B[:3, :4]), lambda: A < B[:3, :4]),
    "greater_equal": (lambda: ops.greater_equal(I, 2), lambda: I >= 2),
    "less_equal": (lambda: ops.less_equal(I, 2), lambda: I <= 2),
    "sign": (lambda: ops.sign(I), lambda: np.sign(I)),
    "round": (
        lambda: ops.round(np.array([0.5, 1.5, 2.5, -0.5], "float32")),
        lambda: np.round([0.5, 1.5, 2.5, -0.5]),
    ),
    "round_decimals": (lambda: ops.round(A, 2), lambda: np.round(A, 2)),
    "floor": (lambda: ops.floor(A * 3), lambda: np.floor(A * 3)),
    "ceil": (lambda: ops.ceil(A * 3), lambda: np.ceil(A * 3)),
    "tanh": (lambda: ops.tanh(A), lambda: np.tanh(A)),
    "sin": (lambda: ops.sin(A), lambda: np.sin(A)),
    "cos": (lambda: ops.cos(A), lambda: np.cos(A)),
    "tan": (lambda: ops.tan(P), lambda: np.tan(P)),
    "erf": (lambda: ops.erf(A), lambda: np.vectorize(math.erf)(A)),
    "logsumexp": (lambda: ops.logsumexp(A, axis=1), lambda: np.log(np.exp(A).sum(1))),
    "softmax": (lambda: ops.softmax(A), lambda: np.exp(A) / np.exp(A).sum(-1, keepdims=True)),
    "softmax_axes": (lambda: ops.softmax(A, axis=(0, 1)), lambda: np.exp(A) / np.exp(A).sum()),
    "log_softmax": (
        lambda: ops.log_softmax(A, axis=0),
        lambda: A - np.log(np.exp(A).sum(0, keepdims=True)),
    ),
    "relu": (lambda: ops.relu(A), lambda: np.maximum(A, 0)),
    "relu6": (lambda: ops.relu6(A * 10), lambda: np.clip(A * 10, 0, 6)),
    "sigmoid": (lambda: ops.sigmoid(A), lambda: 1 / (1 + np.exp(-A))),
    "softplus": (lambda: ops.softplus(A), lambda: np.log1p(np.exp(A))),
    "silu": (lambda: ops.silu(A), lambda: A / (1 + np.exp(-A))),
    "swish": (lambda: ops.swish(A), lambda: A / (1 + np.exp(-A))),
    "leaky_relu": (lambda: ops.leaky_relu(A), lambda: np.where(A > 0, A, 0.2 * A)),
    "leaky_relu_slope": (
        lambda: ops.leaky_relu(A, negative_slope=0.01),
        lambda: np.where(A > 0, A, 0.01 * A),
    ),
    "elu": (lambda: ops.elu(A, alpha=0.5), lambda: np.where(A > 0, A, 0.5 * np.expm1(A))),
    "hard_sigmoid": (lambda: ops.hard_sigmoid(A * 4), lambda: np.clip(A * 4 / 6 + 0.5, 0, 1)),
    "log_sigmoid": (lambda: ops.log_sigmoid(A), lambda: -np.log1p(np.exp(-A))),
    "softsign": (lambda: ops.softsign(A), lambda: A / (1 + np.abs(A))),
    "one_hot": (
        lambda: ops.one_hot(I, 5),
        lambda: (I[..., None] == np.arange(5)).astype("float32"),
    ),
    "one_hot_axis": (
        lambda: ops.one_hot([0, 2], 3, axis=0, dtype="int32"),
        lambda: np.eye(3, dtype="int32")[[0, 2]].T,
    ),
    "arange": (lambda: ops.arange(2, 11, 3), lambda: np.arange(2, 11, 3, dtype="int32")),
    "arange_float": (lambda: ops.arange(0.5, 2), lambda: np.arange(0.5, 2, dtype="float32")),
    "full": (lambda: ops.full((2, 3), 7), lambda: np.full((2, 3), 7, "float32")),
    "full_like": (lambda: ops.full_like(I, 7), lambda: np.full_like(I, 7)),
    "zeros": (lambda: ops.zeros((2,), dtype="int32"), lambda: np.zeros(2, "int32")),
    "ones": (lambda: ops.ones((2, 2)), lambda: np.ones((2, 2), "float32")),
    "zeros_like": (lambda: ops.zeros_like(A), lambda: np.zeros_like(A)),
    "ones_like": (lambda: ops.ones_like(I, dtype="float32"), lambda: np.ones_like(I, "float32")),
    "eye": (lambda: ops.eye(3, 4, k=-1), lambda: np.eye(3, 4, -1, dtype="float32")),
    "linspace": (lambda: ops.linspace(-1, 2, 7), lambda: np.linspace(-1, 2, 7, dtype="float32")),
    "linspace_open": (
        lambda: ops.linspace(0, 1, 4, endpoint=False),
        lambda: np.linspace(0, 1, 4, endpoint=False, dtype="float32"),
    ),
    "tri": (lambda: ops.tri(3, 4, 1), lambda: np.tri(3, 4, 1, dtype="float32")),
    "cast": (lambda: ops.cast(A, "int32"), lambda: A.astype("int32")),
    "slice": (lambda: ops.slice(A, (1, 2), (2, 2)), lambda: A[1:3, 2:4]),
    "slice_update": (
        lambda: ops.slice_update(A, (1, 1), np.ones((2, 2), "float32")),
        lambda: np.block([[A[:1]], [A[1:, :1], np.ones((2, 2)), A[1:, 3:]]]).astype("float32"),
    ),
    "pad": (lambda: ops.pad(A, ((1, 0), (0, 2))), lambda: np.pad(A, ((1, 0), (0, 2)))),
    "pad_reflect": (lambda: ops.pad(A, 1, mode="reflect"), lambda: np.pad(A, 1, mode="reflect")),
    "broadcast_to": (lambda: ops.broadcast_to(V, (2, 4)), lambda: np.broadcast_to(V, (2, 4))),
    "ravel": (lambda: ops.ravel(A), lambda: A.ravel()),
    "stop_gradient": (lambda: ops.stop_gradient(A), lambda: A),
    "convert_to_tensor": (
        lambda: ops.convert_to_tensor([1, 2], dtype="float64"),
        lambda: np.array([1.0, 2.0]),
    ),
    "convert_to_numpy": (lambda: ops.convert_to_numpy(wg.constant(A)), lambda: A),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_values_match_numpy(name):
    ours, reference = VALUES[name]
    got, want = _np(ours()), _np(reference())
    if isinstance(want, list):
        assert len(got) == len(want)
        pairs = list(zip(got, want))
    else:
        pairs = [(got, want)]
    for g, w in pairs:
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (name, g.shape, w.shape)
        if w.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def test_dtypes_follow_keras():
    assert ops.arange(3).dtype == "int32" and ops.arange(3.0).dtype == "float32"
    assert ops.mean([1, 2]).dtype == "float32" and ops.sqrt([4]).dtype == "float32"
    assert ops.sum([True, True]).dtype == "int32" and int(ops.sum([True, True])) == 2
    assert ops.argmax(A).dtype == "int32" and ops.argsort(A).dtype == "int32"
    assert ops.full((2,), 1).dtype == "float32" and ops.zeros((1,)).dtype == "float32"
    assert ops.add(wg.constant([1, 2]), wg.constant([0.5, 0.5])).dtype == "float32"
    assert ops.add(wg.constant([1.0], dtype="float64"), wg.constant([1.0])).dtype == "float64"
    assert ops.multiply(wg.constant([1, 2]), 3).dtype == "int32"
    assert ops.divide(wg.constant([1, 2]), 2).dtype == "float32"
    assert ops.one_hot([1], 2).dtype == "float32"


def test_shape_is_a_tuple_of_ints():
    x = wg.ones((4, 3, 2))
    s = ops.shape(x)
    assert s == (4, 3, 2) and type(s) is tuple and all(type(d) is int for d in s)
    assert (s[0],) + s[1:] == (4, 3, 2)  # rep_shape_tensor.py: tuple arithmetic works
    assert ops.shape([[1, 2, 3]]) == (1, 3)
    inp = wg.Input((3, 5))
    assert ops.shape(inp) == (None, 3, 5)
    assert ops.shape(wg.layers.Dense(2)(inp)) == (None, 3, 2)
    assert ops.ndim(x) == 3 and ops.size(x) == 24
    assert isinstance(wg.shape(x), wg.Tensor)  # TensorFlow's wg.shape is unchanged


def test_keras_defaults_and_signatures():
    x = np.linspace(-3, 3, 13).astype("float32")
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    exact = 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))
    np.testing.assert_allclose(ops.gelu(x).numpy(), tanh_form, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.gelu(x, approximate=False).numpy(), exact, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(wg.nn.gelu(x).numpy(), exact, rtol=1e-5, atol=1e-6)  # TF: exact
    np.testing.assert_allclose(ops.leaky_relu(x).numpy(), np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    sig = inspect.signature
    assert list(sig(ops.arange).parameters) == ["start", "stop", "step", "dtype"]
    assert sig(ops.arange).parameters["step"].default is None  # Keras 3.15; a step of 1
    assert sig(ops.gelu).parameters["approximate"].default is True
    assert sig(ops.leaky_relu).parameters["negative_slope"].default == 0.2
    assert list(sig(ops.clip).parameters) == ["x", "x_min", "x_max"]
    assert list(sig(ops.concatenate).parameters) == ["xs", "axis"]
    assert list(sig(ops.transpose).parameters) == ["x", "axes"]
    assert list(sig(ops.categorical_crossentropy).parameters) == [
        "target", "output", "from_logits", "axis"
    ]  # fmt: skip
    assert ops.arange(start=0, stop=5, step=2).numpy().tolist() == [0, 2, 4]  # ex2's call
    assert ops.arange(5, dtype="float32").dtype == "float32"


def test_top_k_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 4.0, 2.0, 4.0, 0.0], [3.0, -1.0, 3.0, 5.0, 2.0]], "float32")
    values, indices = ops.top_k(x, 3)
    tv, ti = torch.topk(torch.tensor(x), 3)
    np.testing.assert_array_equal(values.numpy(), tv.numpy())
    np.testing.assert_array_equal(np.take_along_axis(x, indices.numpy(), -1), tv.numpy())
    assert indices.numpy().tolist() == [[1, 3, 2], [3, 0, 2]]  # ties: lower index first
    assert indices.dtype == "int32"


def test_activations_and_losses_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((4, 5))
    t = torch.tensor(x)
    close = lambda a, b: np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-6, atol=1e-8)  # noqa: E731
    close(ops.gelu(x), F.gelu(t, approximate="tanh"))
    close(ops.gelu(x, approximate=False), F.gelu(t))
    close(ops.selu(x), F.selu(t))
    close(ops.elu(x), F.elu(t))
    close(ops.softplus(x), F.softplus(t))
    close(ops.silu(x), F.silu(t))
    close(ops.relu6(x * 5), F.relu6(t * 5))
    close(ops.hard_sigmoid(x * 4), F.hardsigmoid(t * 4))
    close(ops.hard_silu(x * 4), F.hardswish(t * 4))
    close(ops.log_softmax(x, axis=1), F.log_softmax(t, 1))
    close(ops.logsumexp(x, axis=0), torch.logsumexp(t, 0))
    close(ops.erf(x), torch.erf(t))
    close(ops.cumprod(x, axis=1), torch.cumprod(t, 1))
    labels = rng.integers(0, 5, 4)
    one_hot = np.eye(5)[labels]
    close(
        ops.categorical_crossentropy(one_hot, x, from_logits=True),
        F.cross_entropy(t, torch.tensor(labels), reduction="none"),
    )
    close(
        ops.sparse_categorical_crossentropy(labels, x, from_logits=True),
        F.cross_entropy(t, torch.tensor(labels), reduction="none"),
    )
    close(
        ops.sparse_categorical_crossentropy(labels[:, None], x, from_logits=True),
        F.cross_entropy(t, torch.tensor(labels), reduction="none"),
    )
    probs = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    close(
        ops.categorical_crossentropy(one_hot, probs),
        F.nll_loss(torch.log(torch.tensor(probs)), torch.tensor(labels), reduction="none"),
    )
    # categorical with probabilities along axis 0
    close(
        ops.categorical_crossentropy(one_hot.T, probs.T, axis=0),
        F.nll_loss(torch.log(torch.tensor(probs)), torch.tensor(labels), reduction="none"),
    )
    target = rng.uniform(0, 1, (4, 5))
    close(
        ops.binary_crossentropy(target, x, from_logits=True),
        F.binary_cross_entropy_with_logits(t, torch.tensor(target), reduction="none"),
    )
    p = 1 / (1 + np.exp(-x))
    close(
        ops.binary_crossentropy(target, p),
        F.binary_cross_entropy(torch.tensor(p), torch.tensor(target), reduction="none"),
    )


def test_crossentropy_clips_probabilities_as_keras():
    # Keras clips probabilities to [1e-7, 1 - 1e-7]: log(0) never reaches the loss.
    got = ops.binary_crossentropy([1.0, 0.0], [0.0, 1.0]).numpy()
    top = np.float32(1 - 1e-7)  # 1 - 1e-7 in float32, as Keras's clip computes it
    np.testing.assert_allclose(got, [-np.log(np.float32(1e-7)), -np.log(1 - top)], rtol=1e-5)
    got = ops.categorical_crossentropy([[1.0, 0.0]], [[0.0, 2.0]]).numpy()  # normalised first
    np.testing.assert_allclose(got, [-np.log(1e-7)], rtol=1e-3)
    with pytest.raises(ValueError, match="same shape"):
        ops.categorical_crossentropy([[1.0, 0.0]], [[0.5, 0.25, 0.25]])


def _f64(*shape):
    return rng.standard_normal(shape)


# A representative set of differentiable wg.ops functions: name, function, float64 arguments.
GRADIENTS = [
    ("mean", lambda x: ops.mean(x, axis=1), (_f64(3, 4),)),
    ("std", lambda x: ops.std(x, axis=0), (_f64(3, 4),)),
    ("prod", lambda x: ops.prod(x, axis=1), (_f64(3, 4),)),
    ("max", lambda x: ops.max(x, axis=1), (_f64(3, 4),)),
    ("logsumexp", lambda x: ops.logsumexp(x, axis=(0, 1)), (_f64(3, 4),)),
    ("power", lambda x, y: ops.power(ops.abs(x) + 0.5, y), (_f64(3), _f64(3))),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), (np.array([-1.2, -0.3, 0.1, 0.9]),)),
    ("where", lambda x, y: ops.where(x > 0, x * y, y), (_f64(5), _f64(5))),
    ("concatenate", lambda x, y: ops.concatenate([x, y], axis=1), (_f64(2, 3), _f64(2, 2))),
    ("split", lambda x: ops.split(x, [1, 3], axis=1)[1], (_f64(2, 4),)),
    ("moveaxis", lambda x: ops.moveaxis(x, 0, -1), (_f64(2, 3, 4),)),
    ("swapaxes", lambda x: ops.swapaxes(x, 0, 1), (_f64(2, 3),)),
    ("flip", lambda x: ops.flip(x, axis=0), (_f64(3, 2),)),
    ("roll", lambda x: ops.roll(x, 1, axis=1), (_f64(2, 3),)),
    ("repeat", lambda x: ops.repeat(x, [2, 0, 1], axis=0), (_f64(3, 2),)),
    ("tile", lambda x: ops.tile(x, 2), (_f64(3),)),
    ("take", lambda x: ops.take(x, [2, -1, 0], axis=1), (_f64(2, 4),)),
    ("take_along_axis", lambda x: ops.take_along_axis(x, np.array([[2, 0]]), 1), (_f64(3, 4),)),
    ("sort", lambda x: ops.sort(x, axis=1), (_f64(3, 4),)),
    ("top_k", lambda x: ops.top_k(x, 2)[0], (_f64(3, 4),)),
    ("cumsum", lambda x: ops.cumsum(x, axis=0), (_f64(3, 2),)),
    ("cumprod", lambda x: ops.cumprod(x, axis=1), (np.array([[0.5, 0.0, 2.0, -1.5]]),)),
    ("matmul_vec", lambda x, y: ops.matmul(x, y), (_f64(3, 4), _f64(4))),
    ("dot_nd", lambda x, y: ops.dot(x, y), (_f64(2, 3, 4), _f64(4, 2))),
    ("einsum", lambda x, y: ops.einsum("ij,jk->ik", x, y), (_f64(2, 3), _f64(3, 2))),
    ("tensordot", lambda x, y: ops.tensordot(x, y, axes=1), (_f64(2, 3), _f64(3, 2))),
    ("outer", lambda x, y: ops.outer(x, y), (_f64(3), _f64(2))),
    ("norm", lambda x: ops.norm(x, axis=1), (_f64(3, 4),)),
    ("norm_ord3", lambda x: ops.norm(x, ord=3), (_f64(4),)),
    ("norm_matrix_1", lambda x: ops.norm(x, ord=1), (_f64(3, 4),)),
    ("slice", lambda x: ops.slice(x, (1, 0), (2, 2)), (_f64(3, 3),)),
    ("slice_update", lambda x, u: ops.slice_update(x, (0, 1), u), (_f64(3, 3), _f64(2, 2))),
    ("softmax_axes", lambda x: ops.softmax(x, axis=(0, 1)), (_f64(2, 3),)),
    ("log_softmax", lambda x: ops.log_softmax(x), (_f64(2, 3),)),
    ("gelu", lambda x: ops.gelu(x), (_f64(5),)),
    ("leaky_relu", lambda x: ops.leaky_relu(x), (_f64(5),)),
    ("relu6", lambda x: ops.relu6(x * 4), (np.array([-1.1, 0.4, 1.3, 2.2]),)),
    ("hard_silu", lambda x: ops.hard_silu(x), (np.array([-3.5, -1.0, 0.5, 3.5]),)),
    ("erf", lambda x: ops.erf(x), (_f64(4),)),
    (
        "categorical_crossentropy",
        lambda y: ops.categorical_crossentropy(np.eye(3)[[0, 2]], y, from_logits=True),
        (_f64(2, 3),),
    ),
    (
        "categorical_crossentropy_probs",
        lambda y: ops.categorical_crossentropy(np.eye(3)[[0, 2]], ops.softmax(y)),
        (_f64(2, 3),),
    ),
    (
        "sparse_categorical_crossentropy",
        lambda y: ops.sparse_categorical_crossentropy([1, 0], y, from_logits=True),
        (_f64(2, 3),),
    ),
    (
        "binary_crossentropy",
        lambda y: ops.binary_crossentropy(np.array([0.0, 1.0, 0.3]), y, from_logits=True),
        (_f64(3),),
    ),
    (
        "binary_crossentropy_probs",
        lambda y: ops.binary_crossentropy(np.array([0.0, 1.0, 0.3]), ops.sigmoid(y)),
        (_f64(3),),
    ),
    (
        "scan",
        lambda x: ops.scan(lambda c, v: (c * v + 1.0, c), ops.ones((2,), "float64"), x)[0],
        (_f64(3, 2),),
    ),
    ("fori_loop", lambda x: ops.fori_loop(0, 3, lambda i, v: ops.sin(v) * x, x), (_f64(3),)),
    ("vectorized_map", lambda x: ops.vectorized_map(lambda r: ops.sum(r * r), x), (_f64(3, 2),)),
]


@pytest.mark.parametrize("name, fn, args", GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_gradients(name, fn, args):
    check_grads(fn, args, order=1)


def test_stop_gradient():
    x = wg.constant(3.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = ops.stop_gradient(x) * x
    assert float(tape.gradient(y, x)) == 3.0


def test_control_flow():
    assert ops.cond(True, lambda: 1, lambda: 2) == 1
    assert ops.cond(wg.constant(False), lambda: 1, lambda: 2) == 2
    assert ops.fori_loop(0, 5, lambda i, s: s + i, 0) == 10
    assert ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (0, 1)) == (4, 16)
    assert ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=7) == 7
    assert ops.while_loop(lambda i, s: i < 2, lambda i, s: [i + 1, s], [0, 5]) == [2, 5]
    xs = np.arange(1.0, 5.0)
    carry, ys = ops.scan(lambda c, x: (c + x, c * 10), 0.0, xs)
    assert float(carry) == 10.0 and ys.numpy().tolist() == [0.0, 10.0, 30.0, 60.0]
    carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, xs, reverse=True)
    assert ys.numpy().tolist() == [9.0, 7.0, 4.0, 0.0]  # ys in xs's order, computed backwards
    carry, ys = ops.scan(lambda c, x: (c + 1, None), 0, None, length=3)
    assert carry == 3 and ys is None
    carry, ys = ops.scan(lambda c, x: (c, {"a": x["p"] * 2}), 0, {"p": xs})
    assert ys["a"].numpy().tolist() == [2.0, 4.0, 6.0, 8.0]
    out = ops.vectorized_map(lambda e: e[0] + e[1], (np.ones((3, 2)), np.arange(6.0).reshape(3, 2)))
    np.testing.assert_array_equal(out.numpy(), np.arange(6.0).reshape(3, 2) + 1)
    np.testing.assert_array_equal(ops.map(lambda r: ops.max(r), A).numpy(), A.max(1))


def test_tf_style_functions_unchanged():
    x = np.linspace(-2, 2, 5).astype("float32")
    np.testing.assert_allclose(
        wg.nn.leaky_relu(x).numpy(), np.where(x > 0, x, 0.2 * x), rtol=1e-6
    )  # TF's default is 0.2 too
    assert wg.argmax([[1.0, 5.0], [7.0, 4.0]]).numpy().tolist() == [1, 0]  # axis 0, TF
    with pytest.raises(TypeError):
        wg.add(wg.constant([1, 2]), wg.constant([1.0, 2.0]))  # TF refuses mixed dtypes
    assert wg.range(3).numpy().tolist() == [0, 1, 2]


def test_functional_model_with_ops_saves_and_loads(tmp_path):
    x = wg.Input((4,))
    h = ops.mean(ops.square(x), axis=-1, keepdims=True)
    y = ops.concatenate([ops.leaky_relu(x), h, ops.gelu(x)], axis=-1)
    z = ops.take(ops.softmax(y), [0, -1], axis=1)
    w = ops.clip(ops.expand_dims(ops.max(y, axis=1), -1), 0.0, 1.0)
    u = ops.reshape(ops.transpose(ops.reshape(x, (-1, 2, 2)), (0, 2, 1)), (-1, 4))
    model = wg.Model(x, [y, z, w, u])
    names = {
        layer.get_config()["function"]
        for layer in model.layers
        if type(layer).__name__ == "OpLayer"
    }
    assert {"ops.mean", "ops.leaky_relu", "ops.concatenate", "ops.take", "ops.clip"} <= names
    data = (np.arange(8, dtype="float32").reshape(2, 4) - 3) / 2
    before = [t.numpy() for t in model(data)]
    path = os.path.join(tmp_path, "ops_model.npz")
    model.save(path)
    loaded = wg.models.load_model(path)
    after = [t.numpy() for t in loaded(data)]
    for b, a in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # and the values are the NumPy ones
    mean_sq = (data**2).mean(-1, keepdims=True)
    np.testing.assert_allclose(before[0][:, 4:5], mean_sq, rtol=1e-6)
    np.testing.assert_allclose(before[3], data.reshape(2, 2, 2).transpose(0, 2, 1).reshape(2, 4))


def test_functional_model_trains_through_ops():
    x = wg.Input((3,))
    y = wg.layers.Dense(2)(x)
    out = ops.sum(ops.softmax(y) * ops.one_hot(ops.argmax(y, axis=-1), 2), axis=-1)
    model = wg.Model(x, out)
    assert model(np.ones((4, 3), "float32")).shape == (4,)


# -- wg.random: Keras 3's seeds -----------------------------------------------------------------
def test_seed_generator_reproducible_and_advancing():
    g1 = wg.random.SeedGenerator(1337)
    a1, a2 = (wg.random.normal((3,), seed=g1).numpy() for _ in range(2))
    assert not np.array_equal(a1, a2)
    g2 = wg.random.SeedGenerator(1337)
    b1, b2 = (wg.random.normal((3,), seed=g2).numpy() for _ in range(2))
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert g1.state.numpy().tolist() == [1337, 2] and not g1.state.trainable
    assert g1.next().numpy().tolist() == [1337, 2] and g1.state.numpy().tolist() == [1337, 3]
    g1.next(ordered=False)
    assert g1.state.numpy().tolist() == [(1337 + 1) * 5387 % 933199, (3 + 1) * 5387 % 933199]
    c = wg.random.SeedGenerator(1338)
    assert not np.array_equal(wg.random.normal((3,), seed=c).numpy(), a1)
    assert isinstance(wg.random.SeedGenerator().next(), wg.Tensor)  # seed None: any seed


def test_seed_generator_in_every_sampling_function():
    def draws(seed):
        return [
            wg.random.normal((4,), seed=seed).numpy(),
            wg.random.uniform((4,), seed=seed).numpy(),
            wg.random.uniform((4,), 0, 10, dtype="int32", seed=seed).numpy(),
            wg.random.truncated_normal((4,), seed=seed).numpy(),
            wg.random.categorical([[0.0, 0.0, 0.0]], 5, seed=seed).numpy(),
            wg.random.shuffle(np.arange(6), seed=seed).numpy(),
            wg.random.randint((4,), 0, 100, seed=seed).numpy(),
            wg.nn.dropout(wg.ones((8,)), 0.5, seed=seed).numpy(),
        ]

    first, again = draws(wg.random.SeedGenerator(3)), draws(wg.random.SeedGenerator(3))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    # Generators as seeds: drawn from, and advanced
    g, h = wg.random.Generator(5), wg.random.Generator(5)
    for a, b in zip(draws(g), draws(h)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        wg.random.normal((4,), seed=g).numpy(), draws(wg.random.Generator(5))[0]
    )


def test_generator_seed_no_longer_fails():
    # rep_random_int_seed.py: wg.random.normal(shape, seed=Generator(1337)) raised TypeError
    g = wg.random.Generator(1337)
    ref = wg.random.Generator(1337).normal((2,)).numpy()
    np.testing.assert_array_equal(wg.random.normal((2,), seed=g).numpy(), ref)
    with pytest.raises(TypeError, match="seed must be"):
        wg.random.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="integer"):
        wg.random.SeedGenerator(1.5)


def test_int_seed_keeps_tensorflow_semantics_and_pairs_are_stateless():
    wg.random.set_seed(11)
    a, b = wg.random.normal((3,), seed=42).numpy(), wg.random.normal((3,), seed=42).numpy()
    assert not np.array_equal(a, b)  # TF: an op seed's stream moves on
    wg.random.set_seed(11)
    np.testing.assert_array_equal(wg.random.normal((3,), seed=42).numpy(), a)
    # Keras 3's int seed: the same values on every call, as (seed, 0)
    c, d = (
        wg.random.normal((3,), seed=(42, 0)).numpy(),
        wg.random.normal((3,), seed=(42, 0)).numpy(),
    )
    np.testing.assert_array_equal(c, d)
    np.testing.assert_array_equal(wg.random.stateless_normal((3,), seed=42).numpy(), c)
    np.testing.assert_array_equal(
        wg.random.stateless_normal((3,), seed=wg.constant([42, 0])).numpy(), c
    )
    u = wg.random.stateless_uniform((50,), seed=(1, 2), minval=2.0, maxval=3.0).numpy()
    assert ((u >= 2) & (u < 3)).all()
    np.testing.assert_array_equal(u, wg.random.stateless_uniform((50,), (1, 2), 2.0, 3.0).numpy())
    t = wg.random.stateless_truncated_normal((200,), seed=(1, 2)).numpy()
    assert np.abs(t).max() <= 2
    k = wg.random.stateless_categorical([[0.0, 0.0]], 20, seed=(3, 4)).numpy()
    np.testing.assert_array_equal(
        k, wg.random.stateless_categorical([[0.0, 0.0]], 20, seed=(3, 4)).numpy()
    )
    with pytest.raises(ValueError, match="pair of ints"):
        wg.random.stateless_normal((2,), seed=(1, 2, 3))


def test_seed_generator_statistics_and_state_round_trip():
    g = wg.random.SeedGenerator(0)
    x = wg.random.normal((20000,), mean=2.0, stddev=3.0, seed=g).numpy()
    assert abs(x.mean() - 2.0) < 0.1 and abs(x.std() - 3.0) < 0.1
    state = g.get_state()
    a = wg.random.uniform((3,), seed=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(wg.random.uniform((3,), seed=g).numpy(), a)
    again = wg.random.SeedGenerator.from_config(g.get_config())
    assert again.state.numpy().tolist() == [0, 0]
    with pytest.raises(ValueError):
        g.set_state({"seed_generator": "nope"})


def test_seed_generator_checkpointed_with_a_models_generators(tmp_path):
    class Noisy(wg.layers.Layer):
        def __init__(self):
            super().__init__()
            self.generator = wg.random.SeedGenerator(9)  # where wengert looks for streams

        def call(self, x):
            return x + wg.random.normal(ops.shape(x), seed=self.generator)

    inp = wg.Input((2,))
    model = wg.Model(inp, Noisy()(inp))
    model.compile("sgd", "mse")
    data = np.zeros((1, 2), "float32")
    model(data)
    path = os.path.join(tmp_path, "ckpt.npz")
    model.save_checkpoint(path)
    expected = model(data).numpy()
    model(data)
    model.load_checkpoint(path)
    np.testing.assert_array_equal(model(data).numpy(), expected)


def test_gan_pattern_from_keras_io():
    # ex4_gan.py: keras.random.SeedGenerator(1337) kept on a model, sampled with
    # keras.random.normal(shape=..., seed=self.seed_generator) in train_step.
    keras = wg

    class GAN(keras.Model):
        def __init__(self, latent_dim):
            super().__init__()
            self.latent_dim = latent_dim
            self.seed_generator = keras.random.SeedGenerator(1337)

        def sample(self, batch):
            shape = (ops.shape(batch)[0], self.latent_dim)
            return keras.random.normal(shape=shape, seed=self.seed_generator)

    gan = GAN(latent_dim=4)
    real = np.zeros((3, 8, 8, 1), "float32")
    z1, z2 = gan.sample(real), gan.sample(real)
    assert z1.shape == (3, 4) and not np.array_equal(z1.numpy(), z2.numpy())
    labels = keras.random.uniform((3, 1), seed=gan.seed_generator)
    assert labels.shape == (3, 1)
    twin = GAN(latent_dim=4)
    np.testing.assert_array_equal(twin.sample(real).numpy(), z1.numpy())


# -- review fixes -----------------------------------------------------------------------------
X23 = np.arange(6.0).reshape(2, 3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ops.expand_dims(X23, 5),
        lambda: ops.expand_dims(X23, (0, 0)),
        lambda: ops.flip(X23, axis=2),
        lambda: ops.flip(X23, axis=(0, -2)),
        lambda: ops.take(X23, [0], axis=3),
        lambda: ops.take_along_axis(X23, np.zeros((2, 1), int), axis=2),
        lambda: ops.swapaxes(X23, 0, 2),
        lambda: ops.moveaxis(X23, 0, -3),
        lambda: ops.moveaxis(np.zeros((2, 3, 4)), (0, 0), (1, 2)),
        lambda: ops.roll(X23, 1, axis=2),
        lambda: ops.repeat(X23, 2, axis=-3),
        lambda: ops.split(X23, 2, axis=2),
        lambda: ops.cumprod(X23, axis=2),
        lambda: ops.cumsum(X23, axis=2),
        lambda: ops.norm(X23, axis=5),
        lambda: ops.argmax(X23, axis=2, keepdims=True),
        lambda: ops.sort(X23, axis=2),
        lambda: ops.softmax(X23, axis=2),
        lambda: ops.sum(X23, axis=(0, 0)),
    ],
)
def test_axes_out_of_range_or_repeated_raise(call):
    with pytest.raises(ValueError, match="axis"):
        call()


def test_axis_error_names_op_axis_and_rank():
    with pytest.raises(ValueError, match=r"expand_dims: axis 5 .* rank 3"):
        ops.expand_dims(X23, 5)
    with pytest.raises(ValueError, match=r"flip: axis \(0, -2\) names an axis twice"):
        ops.flip(X23, axis=(0, -2))
    assert ops.expand_dims(X23, -3).shape == (1, 2, 3)  # -ndim..ndim-1 of the result


@pytest.mark.parametrize(
    "dtype, wide", [("bool", "int32"), ("int8", "int32"), ("int16", "int32"), ("uint8", "uint32"),
                    ("uint16", "uint32"), ("int32", "int32")]
)  # fmt: skip
def test_narrow_integers_accumulate_in_32_bits(dtype, wide):
    x = np.array([100, 100, 27], dtype=dtype) if dtype != "bool" else np.array([1, 1, 0], bool)
    ref = x.astype(wide)
    for got, want in [
        (ops.sum(x), ref.sum()),
        (ops.prod(x), ref.prod()),
        (ops.cumsum(x), ref.cumsum()),
        (ops.cumprod(x), ref.cumprod()),
    ]:
        assert got.dtype == np.dtype(wide) and (got.numpy() == want).all()
    assert ops.prod(x, dtype="float32").dtype == np.float32  # dtype given: no widening
    if dtype != "bool":
        m = np.full((2, 3), 100, dtype)
        for got in [
            ops.matmul(m, m.T),
            ops.dot(m, m.T),
            ops.tensordot(m, m.T, 1),
            ops.einsum("ij,jk->ik", m, m.T),
        ]:
            assert got.dtype == np.dtype(wide)
            np.testing.assert_array_equal(got.numpy(), m.astype(wide) @ m.T.astype(wide))


def test_int8_overflow_cases_from_review():
    assert int(ops.sum(np.array([100, 100, -3], "int8"))) == 197
    assert int(ops.sum(np.array([200, 100], "uint8"))) == 300
    assert int(ops.prod(np.array([100, 100, -3], "int8"))) == -30000
    assert ops.matmul(np.array([[100, 100, -3]], "int8"), np.ones((3, 1), "int8")).numpy() == 197


CUMPROD_X = np.array(
    [
        [1.5, 0.0, 2.0, 0.0, 3.0, 0.0],
        [0.5, -1.0, 2.0, 3.0, 0.5, 1.2],
        [0.0, 0.0, 0.0, 1.0, 2.0, 3.0],
    ]
)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_values_and_exact_gradients_with_zeros(axis):
    np.testing.assert_array_equal(
        ops.cumprod(CUMPROD_X, axis=axis).numpy(), np.cumprod(CUMPROD_X, axis=axis)
    )
    check_grads(lambda t: ops.cumprod(t, axis=axis), (wg.constant(CUMPROD_X),), order=2)
    no_zeros = np.abs(CUMPROD_X) + 0.5
    check_grads(lambda t: ops.cumprod(t, axis=axis), (wg.constant(no_zeros),), order=2)


def test_cumprod_of_a_long_vector():  # one np.cumprod, not a multiply per element
    x = wg.constant(np.full(10000, 1.0001))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = ops.cumprod(x)
        total = ops.sum(y)
    np.testing.assert_allclose(y.numpy(), np.cumprod(x.numpy()))
    np.testing.assert_allclose(
        tape.gradient(total, x).numpy(),
        np.cumsum(np.cumprod(x.numpy())[::-1])[::-1] / x.numpy(),
    )
    assert ops.cumprod(np.array([2, 3], "int32")).numpy().tolist() == [2, 6]


def test_round_integers_with_negative_decimals():
    x = np.array([1234, 1250, -1251], "int32")
    got = ops.round(x, -2)
    assert got.dtype == np.int32 and got.numpy().tolist() == np.round(x, -2).tolist()
    assert ops.round(np.array([15, 25], "uint8"), -1).numpy().tolist() == [20, 20]
    assert ops.round(x, 1).numpy().tolist() == x.tolist()


def test_max_min_initial():
    empty = np.zeros((0,), "float32")
    assert float(ops.max(empty, initial=1.0)) == 1.0
    assert float(ops.min(empty, initial=-1.0)) == -1.0
    np.testing.assert_array_equal(
        ops.max(np.zeros((2, 0), "float32"), axis=1, initial=1.0).numpy(), [1.0, 1.0]
    )
    got = ops.max(np.array([1, 2], "int32"), initial=2.5)  # initial cast to int32: 2
    assert got.dtype == np.int32 and int(got) == 2
    assert int(ops.min(np.array([1, 2], "int32"), initial=0)) == 0
    assert bool(ops.max(np.array([False]), initial=True))
    x = wg.constant(np.array([0.2, 0.9, 0.4]))
    check_grads(lambda t: ops.max(t, initial=0.5), (x,))


def test_top_k_needs_k_at_most_the_last_axis():
    with pytest.raises(ValueError, match="top_k: k=5"):
        ops.top_k([1.0, 2.0], 5)
    values, indices = ops.top_k([1.0, 2.0], 2)
    assert indices.numpy().tolist() == [1, 0]


def test_fast_paths_keep_promotion_and_gradients():
    f32 = wg.constant(np.ones((2, 2), "float32"))
    i32 = wg.constant(np.ones((2, 2), "int32"))
    assert ops.add(f32, i32).dtype == np.float32 and ops.add(i32, i32).dtype == np.int32
    assert ops.matmul(f32, i32).dtype == np.float32
    assert ops.concatenate([f32, i32]).dtype == np.float32
    assert ops.concatenate([f32, f32], axis=-1).shape == (2, 4)
    v = wg.Variable(np.ones((2, 2)))
    assert ops.matmul(v, v).numpy().tolist() == [[2.0, 2.0], [2.0, 2.0]]
    x = wg.constant(np.arange(4.0).reshape(2, 2))
    check_grads(lambda a, b: ops.matmul(a, b), (x, x + 1.0))
    check_grads(lambda a, b: ops.concatenate([a, b], axis=1), (x, x + 1.0))
    check_grads(lambda a, b: ops.multiply(a, b), (x, x + 1.0))


def test_small_divergences():
    i = np.array([-1, 2, 9], "int32")
    assert ops.relu(i).dtype == np.int32 and ops.relu(i).numpy().tolist() == [0, 2, 9]
    assert ops.relu6(i).dtype == np.int32 and ops.relu6(i).numpy().tolist() == [0, 2, 6]
    assert wg.nn.relu(np.array([-1.0, 2.0])).numpy().tolist() == [0.0, 2.0]
    sq = ops.square(np.array([True, False]))
    assert sq.dtype == np.int32 and sq.numpy().tolist() == [1, 0]
    assert ops.sign(np.array([True, False])).numpy().tolist() == [True, False]
    assert ops.convert_to_numpy([1.0, 2.0]).dtype == np.float64
    assert ops.convert_to_numpy([1, 2]).dtype == np.asarray([1, 2]).dtype
    with pytest.raises(ValueError, match="size: .*None"):
        ops.size(wg.Input((3,)))
    assert ops.arange(3).numpy().tolist() == [0, 1, 2]
    assert ops.arange(0, 3, None).numpy().tolist() == [0, 1, 2]
    # NumPy scalars are typed (Keras's NumPy backend), Python floats weak
    f32 = wg.constant(np.ones(2, "float32"))
    assert ops.add(f32, np.float64(1.5)).dtype == np.float64
    assert ops.add(f32, 1.5).dtype == np.float32


R = np.random.default_rng(1).standard_normal((3, 4))
POS = np.abs(R) + 0.5
NEW_UNARY = {
    "log2": (ops.log2, np.log2, POS),
    "log10": (ops.log10, np.log10, POS),
    "sinh": (ops.sinh, np.sinh, R),
    "cosh": (ops.cosh, np.cosh, R),
    "tril": (lambda t: ops.tril(t, 1), lambda a: np.tril(a, 1), R),
    "triu": (lambda t: ops.triu(t, -1), lambda a: np.triu(a, -1), R),
    "diag_vector": (lambda t: ops.diag(t, -1), lambda a: np.diag(a, -1), R[0]),
    "diag_matrix": (lambda t: ops.diag(t, 1), lambda a: np.diag(a, 1), R),
    "diagonal": (lambda t: ops.diagonal(t, 1, 1, 0), lambda a: np.diagonal(a, 1, 1, 0), R),
    "nan_to_num": (ops.nan_to_num, np.nan_to_num, R),
}


@pytest.mark.parametrize("name", NEW_UNARY)
def test_new_unary_ops(name):
    f, ref, x = NEW_UNARY[name]
    np.testing.assert_allclose(f(x).numpy(), ref(x), rtol=1e-12)
    check_grads(f, (wg.constant(x),), order=2)


@pytest.mark.parametrize("name", ["arctan2", "logaddexp"])
def test_new_binary_ops(name):
    f, ref = getattr(ops, name), getattr(np, name)
    y = np.random.default_rng(2).standard_normal((3, 4))
    np.testing.assert_allclose(f(R, y).numpy(), ref(R, y), rtol=1e-12)
    check_grads(f, (wg.constant(R), wg.constant(y)), order=2)
    check_grads(f, (wg.constant(R), wg.constant(y[0])))  # broadcasting
    assert f(np.array([1], "int32"), 2).dtype == np.float32


def test_more_new_ops():
    assert ops.log2([8]).numpy().tolist() == [3.0]  # exact, unlike log(8) / log(2)
    assert ops.log10([1000]).numpy() == np.log10(np.float32(1000))
    assert ops.log2([1]).dtype == np.float32
    x = np.array([np.nan, np.inf, -np.inf, 1.0], "float32")
    np.testing.assert_array_equal(ops.nan_to_num(x).numpy(), np.nan_to_num(x))
    np.testing.assert_array_equal(
        ops.nan_to_num(x, nan=1.0, posinf=2.0, neginf=3.0).numpy(),
        np.nan_to_num(x, nan=1.0, posinf=2.0, neginf=3.0),
    )
    got = ops.count_nonzero([[0, 1], [2, 3]], axis=1)
    assert got.dtype == np.int32 and got.numpy().tolist() == [1, 2]
    assert int(ops.count_nonzero([[0, 1], [2, 3]])) == 3
    mean, variance = ops.moments(R, axes=(0, 1))
    np.testing.assert_allclose([float(mean), float(variance)], [R.mean(), R.var()])
    mean, variance = ops.moments(R, axes=[1], keepdims=True)
    np.testing.assert_allclose(variance.numpy(), R.var(1, keepdims=True))
    check_grads(lambda t: ops.moments(t, axes=0)[1], (wg.constant(R),))
    assert ops.identity(3, "int32").numpy().tolist() == np.identity(3, int).tolist()
    parts = ops.unstack(R, axis=1)
    assert len(parts) == 4 and (parts[2].numpy() == R[:, 2]).all()
    with pytest.raises(ValueError, match="unstack"):
        ops.unstack(R, num=3, axis=1)
    for indexing in ("xy", "ij"):
        got = ops.meshgrid([1, 2, 3], [4, 5], [6, 7, 8, 9], indexing=indexing)
        want = np.meshgrid([1, 2, 3], [4, 5], [6, 7, 8, 9], indexing=indexing)
        assert all((g.numpy() == w).all() for g, w in zip(got, want))
    d3 = np.random.default_rng(3).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(ops.diagonal(d3, -1, 2, 0).numpy(), np.diagonal(d3, -1, 2, 0))
    np.testing.assert_array_equal(ops.tril(d3).numpy(), np.tril(d3))


def test_seed_generator_advances_once_per_call():
    for draw in [
        lambda g: wg.random.truncated_normal((1000,), seed=g),
        lambda g: wg.random.normal((10,), seed=g),
        lambda g: wg.random.uniform((10,), seed=g),
        lambda g: wg.random.randint((10,), 0, 5, seed=g),
        lambda g: wg.random.categorical([[0.0, 1.0]], 3, seed=g),
        lambda g: wg.random.shuffle([1, 2, 3], seed=g),
        lambda g: wg.random.dropout(wg.ones(10), 0.5, seed=g),
    ]:
        g = wg.random.SeedGenerator(1)
        draw(g)
        assert g.state.numpy().tolist() == [1, 1]
        draw(g)
        assert g.state.numpy().tolist() == [1, 2]


def test_layer_seed_must_be_an_int():
    for make in [
        lambda s: wg.layers.Dropout(0.5, seed=s),
        lambda s: wg.layers.GaussianNoise(0.1, seed=s),
        lambda s: wg.layers.SpatialDropout1D(0.5, seed=s),
    ]:
        with pytest.raises(
            TypeError, match=r"(Dropout|GaussianNoise|SpatialDropout1D): seed .* int"
        ):
            make(wg.random.SeedGenerator(1))
        make(3)


def test_stateless_seed_out_of_range_message():
    with pytest.raises(ValueError, match=r"\[-2\*\*63, 2\*\*64\)"):
        wg.random.normal((2,), seed=(2**70, 1))
    a = wg.random.normal((2,), seed=(2**64 - 1, 1)).numpy()
    assert (a == wg.random.normal((2,), seed=(2**64 - 1, 1)).numpy()).all()
