"""``wg.activations``: values against PyTorch, Keras's relu options, get and serialize."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import wengert as wg
import wengert.activations as A

RNG = np.random.default_rng(3)
X = np.concatenate([4 * RNG.standard_normal(50), [0.0, 1e4, -1e4, 3.0, -3.0, 6.0]])

TORCH = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "relu6": F.relu6,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "silu": F.silu,
    "swish": F.silu,
    "hard_sigmoid": F.hardsigmoid,
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "mish": F.mish,
    "exponential": torch.exp,
    "linear": lambda x: x,
    "softmax": lambda x: F.softmax(x, dim=-1),
    "log_softmax": lambda x: F.log_softmax(x, dim=-1),
}


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-6)])
@pytest.mark.parametrize("name", sorted(TORCH))
def test_values_against_torch(name, dtype, rtol):
    x = X.reshape(4, 14).astype(dtype)
    if name == "exponential":
        x = np.clip(x, -20, 20)
    got = A.get(name)(wg.constant(x))
    # The oracle runs in float64 on the same (rounded) inputs: torch's own float32
    # gelu loses digits in the far negative tail that wengert's erfc form keeps.
    want = TORCH[name](torch.tensor(x.astype(np.float64))).numpy()
    got = np.asarray(got.numpy() if isinstance(got, wg.Tensor) else got)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2)


def test_every_registered_name_has_a_torch_reference():
    assert set(A._REGISTRY) == set(TORCH)


def test_gradients_through_activations_against_torch():
    x = X.reshape(4, 14)
    for name in ("gelu", "elu", "selu", "mish", "softsign", "silu"):
        xt = wg.constant(x)
        with wg.GradientTape() as tape:
            tape.watch(xt)
            y = wg.reduce_sum(A.get(name)(xt) * X[::-1].reshape(4, 14))
        tt = torch.tensor(x, requires_grad=True)
        (TORCH[name](tt) * torch.tensor(X[::-1].reshape(4, 14).copy())).sum().backward()
        np.testing.assert_allclose(tape.gradient(y, xt).numpy(), tt.grad.numpy(), 1e-12, 1e-12)


def _keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras 3's ReLU.static_call in NumPy."""
    neg = np.maximum(threshold - x, 0) if negative_slope else 0
    out = x * (x > threshold) if threshold else np.maximum(x, 0)
    if max_value is not None:
        out = np.clip(out, 0, max_value)
    return out - negative_slope * neg


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"negative_slope": 0.1},
        {"max_value": 6.0},
        {"max_value": 2.5, "negative_slope": 0.3},
        {"threshold": 1.0},
        {"threshold": -1.0},
        {"threshold": -1.0, "max_value": 2.0},
        {"threshold": 0.5, "negative_slope": 0.2, "max_value": 3.0},
    ],
    ids=str,
)
def test_relu_options_match_keras(kwargs):
    x = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(A.relu(x, **kwargs).numpy(), _keras_relu(x, **kwargs), 1e-12)


def test_activation_keyword_arguments():
    x = np.array([-2.0, 0.5])
    np.testing.assert_allclose(A.leaky_relu(x, negative_slope=0.5).numpy(), [-1.0, 0.5])
    np.testing.assert_allclose(A.elu(x, alpha=2.0).numpy(), [2 * np.expm1(-2.0), 0.5])
    np.testing.assert_allclose(
        A.gelu(x, approximate=True).numpy(), F.gelu(torch.tensor(x), approximate="tanh").numpy()
    )
    np.testing.assert_allclose(
        A.softmax(np.eye(2), axis=0).numpy(), F.softmax(torch.eye(2, dtype=float), 0).numpy()
    )


def test_get():
    assert A.get(None) is A.linear
    assert A.get("relu") is A.relu
    assert A.get("swish") is A.silu
    assert A.get({"class_name": "function", "config": "tanh"}) is A.tanh
    f = lambda x: x  # noqa: E731
    assert A.get(f) is f
    with pytest.raises(ValueError, match=r"unknown activation 'rellu'.*relu.*sigmoid"):
        A.get("rellu")
    with pytest.raises(ValueError, match="cannot interpret 3"):
        A.get(3)


def test_serialize_round_trips():
    for name in A._REGISTRY:
        assert A.get(A.serialize(A.get(name))) is A.get(name)
    assert A.serialize(A.swish) == "silu"
    assert A.serialize(None) == "linear"
    assert A.serialize(wg.nn.relu) == "relu"
    assert A.serialize(wg.sigmoid) == "sigmoid"
    assert A.serialize(wg.tanh) == "tanh"
    assert A.serialize("gelu") == "gelu"
    with pytest.raises(ValueError, match="not a built-in activation"):
        A.serialize(lambda x: x)


def test_integer_input_is_a_type_error_naming_the_activation():
    with pytest.raises(TypeError, match="activations.sigmoid"):
        A.sigmoid(wg.constant([1, 2]))
    with pytest.raises(TypeError, match="relu6"):
        A.relu6(wg.constant([1, 2]))
