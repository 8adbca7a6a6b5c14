"""``wg.losses``: values and gradients against PyTorch, reductions, weights, errors, get."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import wengert as wg
import wengert.losses as L

RNG = np.random.default_rng(11)
B, C = 6, 4
TOL = {"float32": 2e-6, "float64": 1e-12}


def _probs(shape):
    e = np.exp(RNG.standard_normal(shape))
    return e / e.sum(-1, keepdims=True)


def _data(dtype):
    """Inputs for every loss, fixed per dtype."""
    return {
        "x": RNG.standard_normal((B, C)).astype(dtype),
        "y": RNG.standard_normal((B, C)).astype(dtype),
        "p": RNG.uniform(0.02, 0.98, (B, C)).astype(dtype),
        "t": RNG.integers(0, 2, (B, C)).astype(dtype),
        "soft": _probs((B, C)).astype(dtype),
        "dist": _probs((B, C)).astype(dtype),
        "idx": RNG.integers(0, C, B),
        "w": RNG.uniform(0, 2, B).astype(dtype),
    }


def _wg(loss, y_true, y_pred, sample_weight=None, watch_true=True):
    """Loss value and gradients w.r.t. y_pred (and y_true when float)."""
    yt, yp = wg.constant(y_true), wg.constant(y_pred)
    sources = [yp] + ([yt] if watch_true and yt.dtype.kind == "f" else [])
    with wg.GradientTape() as tape:
        tape.watch(sources)
        value = loss(yt, yp, sample_weight=sample_weight)
    return value, [g.numpy() for g in tape.gradient(value, sources)]


def _torch(fn, y_true, y_pred, watch_true=True):
    yt = torch.tensor(y_true, requires_grad=watch_true and y_true.dtype.kind == "f")
    yp = torch.tensor(y_pred, requires_grad=True)
    value = fn(yt, yp)
    sources = [yp] + ([yt] if yt.requires_grad else [])
    return value.detach().numpy(), [g.numpy() for g in torch.autograd.grad(value, sources)]


def _check(loss, fn, y_true, y_pred, dtype, watch_true=True):
    v1, g1 = _wg(loss, y_true, y_pred, watch_true=watch_true)
    v2, g2 = _torch(fn, y_true, y_pred, watch_true=watch_true)
    assert v1.shape == () and v1.dtype == np.dtype(dtype)
    np.testing.assert_allclose(v1.numpy(), v2, rtol=TOL[dtype], atol=TOL[dtype])
    for a, b in zip(g1, g2):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


CASES = {
    # name: (wengert loss, torch function of (y_true, y_pred), y_true key, y_pred key, watch_true)
    "mse": (L.MeanSquaredError(), lambda t, p: F.mse_loss(p, t), "y", "x", True),
    "mae": (L.MeanAbsoluteError(), lambda t, p: F.l1_loss(p, t), "y", "x", True),
    "bce": (L.BinaryCrossentropy(), lambda t, p: F.binary_cross_entropy(p, t), "t", "p", True),
    "bce_soft": (L.BinaryCrossentropy(), lambda t, p: F.binary_cross_entropy(p, t), "p", "p", 0),
    "bce_logits": (
        L.BinaryCrossentropy(from_logits=True),
        lambda t, p: F.binary_cross_entropy_with_logits(p, t),
        "p",
        "x",
        True,
    ),
    "cce": (
        L.CategoricalCrossentropy(),
        lambda t, p: F.cross_entropy(torch.log(p), t),  # renormalised p = softmax(log p)
        "soft",
        "dist",
        True,
    ),
    "cce_logits": (
        L.CategoricalCrossentropy(from_logits=True),
        lambda t, p: F.cross_entropy(p, t),
        "soft",
        "x",
        True,
    ),
    "cce_smoothing": (
        L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        lambda t, p: F.cross_entropy(p, t, label_smoothing=0.2),
        "soft",
        "x",
        True,
    ),
    "scce": (
        L.SparseCategoricalCrossentropy(),
        lambda t, p: F.cross_entropy(torch.log(p), t),  # with the renormalisation
        "idx",
        "dist",
        False,
    ),
    "scce_logits": (
        L.SparseCategoricalCrossentropy(from_logits=True),
        lambda t, p: F.cross_entropy(p, t),
        "idx",
        "x",
        False,
    ),
    "huber": (L.Huber(), lambda t, p: F.huber_loss(p, t), "y", "x", True),
    "huber_delta": (L.Huber(0.3), lambda t, p: F.huber_loss(p, t, delta=0.3), "y", "x", True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name, dtype):
    loss, fn, kt, kp, watch_true = CASES[name]
    d = _data(dtype)
    y_pred = d[kp] if name != "bce_soft" else RNG.uniform(0.02, 0.98, (B, C)).astype(dtype)
    _check(loss, fn, d[kt], y_pred, dtype, watch_true=bool(watch_true))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_weights_against_torch(name, dtype):
    loss, fn, kt, kp, watch_true = CASES[name]
    d = _data(dtype)
    w = d["w"]
    per_sample = L.get(type(loss).from_config({**loss.get_config(), "reduction": "none"}))
    values = per_sample(d[kt], d[kp]).numpy()
    assert values.shape == (B,)
    got = loss(d[kt], d[kp], sample_weight=w)
    # Keras's default: the weighted sum divided by the number of samples.
    np.testing.assert_allclose(got.numpy(), (values * w).sum() / B, rtol=TOL[dtype])
    # Column weights (B, 1) are the same weights.
    np.testing.assert_allclose(
        loss(d[kt], d[kp], sample_weight=w[:, None]).numpy(), got.numpy(), rtol=TOL[dtype]
    )
    # And the gradient of the weighted mean matches torch's.
    yp = torch.tensor(d[kp], requires_grad=True)
    per = torch.stack([fn(torch.tensor(d[kt][i : i + 1]), yp[i : i + 1]) for i in range(B)])
    (per * torch.tensor(w)).mean().backward()
    _, (g,) = _wg(loss, d[kt], d[kp], sample_weight=w, watch_true=False)
    np.testing.assert_allclose(g, yp.grad.numpy(), rtol=TOL[dtype], atol=TOL[dtype])


def test_per_sample_functions_closed_forms():
    y_true = np.array([[0.0, 1.0], [2.0, -1.0]])
    y_pred = np.array([[1.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(L.mean_squared_error(y_true, y_pred).numpy(), [0.5, 4.0])
    np.testing.assert_allclose(L.mean_absolute_error(y_true, y_pred).numpy(), [0.5, 2.0])
    # huber, delta 1: errors (1, 0) -> (0.5, 0); (-2, 2) -> (1.5, 1.5)
    np.testing.assert_allclose(L.huber(y_true, y_pred).numpy(), [0.25, 1.5])
    p = np.array([[0.9, 0.2]])
    bce = -(np.log(0.9) + np.log(0.8)) / 2
    np.testing.assert_allclose(L.binary_crossentropy([[1.0, 0.0]], p).numpy(), [bce])
    smooth = [[0.95, 0.05]]  # label_smoothing 0.1 moves 0/1 to 0.05/0.95
    expected = -np.mean(np.array(smooth) * np.log(p) + (1 - np.array(smooth)) * np.log(1 - p))
    np.testing.assert_allclose(
        L.binary_crossentropy([[1.0, 0.0]], p, label_smoothing=0.1).numpy(), [expected]
    )
    np.testing.assert_allclose(
        L.categorical_crossentropy([[0.0, 1.0, 0.0]], [[0.2, 0.5, 0.3]]).numpy(), [-np.log(0.5)]
    )
    # Unnormalised probabilities are renormalised first, as Keras does.
    np.testing.assert_allclose(
        L.categorical_crossentropy([[0.0, 1.0]], [[1.0, 3.0]]).numpy(), [-np.log(0.75)]
    )
    np.testing.assert_allclose(
        L.sparse_categorical_crossentropy([2, 0], [[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]]).numpy(),
        [-np.log(0.3), -np.log(0.6)],
    )
    # Class axis 0.
    np.testing.assert_allclose(
        L.categorical_crossentropy([[0.0], [1.0]], [[0.25], [0.75]], axis=0).numpy(),
        [-np.log(0.75)],
    )


def test_per_sample_functions_keep_leading_axes():
    y = RNG.standard_normal((3, 5, 2))
    assert L.mean_squared_error(y, y + 1).shape == (3, 5)
    assert L.sparse_categorical_crossentropy(np.zeros((3, 5), int), _probs((3, 5, 4))).shape == (
        3,
        5,
    )
    # Weights per sample apply to every time step of that sample.
    values = L.mean_squared_error(y, 2 * y).numpy()
    w = np.array([1.0, 0.0, 2.0])
    got = L.MeanSquaredError()(y, 2 * y, sample_weight=w)
    np.testing.assert_allclose(got.numpy(), (values * w[:, None]).sum() / values.size)


def test_probabilities_are_clipped_to_epsilon():
    eps = 1e-7
    value = L.BinaryCrossentropy()(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(value.numpy(), -math.log(eps), rtol=1e-6)
    v, (g,) = _wg(L.BinaryCrossentropy(), [[1.0, 0.0]], [[0.0, 1.0]], watch_true=False)
    assert np.all(np.isfinite(g))
    v = L.CategoricalCrossentropy()(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(v.numpy(), -math.log(eps), rtol=1e-6)
    v = L.SparseCategoricalCrossentropy()([0], np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(v.numpy(), -math.log(eps), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logits_losses_finite_at_1e4(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype)
    t = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype)
    for loss, y_true in [
        (L.BinaryCrossentropy(from_logits=True), t),
        (L.CategoricalCrossentropy(from_logits=True), t / t.sum(-1, keepdims=True)),
        (L.SparseCategoricalCrossentropy(from_logits=True), np.array([1, 0])),
    ]:
        v, grads = _wg(loss, y_true, x, watch_true=False)
        assert np.isfinite(v.numpy()) and all(np.all(np.isfinite(g)) for g in grads)
        assert v.numpy() > 1e3  # confident and wrong: a cost of order |logit|, not inf


def test_reductions():
    y_true, y_pred = np.zeros((4, 1)), np.array([[1.0], [2.0], [3.0], [4.0]])
    w = np.array([1.0, 1.0, 0.0, 2.0])
    np.testing.assert_allclose(L.MeanAbsoluteError()(y_true, y_pred).numpy(), 2.5)
    np.testing.assert_allclose(L.MeanAbsoluteError(reduction="sum")(y_true, y_pred).numpy(), 10)
    none = L.MeanAbsoluteError(reduction="none")(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(none.numpy(), [1.0, 2.0, 0.0, 8.0])
    np.testing.assert_allclose(L.MeanAbsoluteError(reduction=None)(y_true, y_pred).shape, (4,))
    weighted = L.MeanAbsoluteError(reduction="mean_with_sample_weight")
    np.testing.assert_allclose(weighted(y_true, y_pred, sample_weight=w).numpy(), 11 / 4)
    np.testing.assert_allclose(L.MeanAbsoluteError(reduction="mean")(y_true, y_pred).numpy(), 2.5)
    np.testing.assert_allclose(L.MeanAbsoluteError()(y_true, y_pred, sample_weight=0.5), 1.25)
    assert float(L.MeanAbsoluteError()(np.zeros((0, 1)), np.zeros((0, 1)))) == 0.0
    with pytest.raises(ValueError, match="mean_absolute_error: unknown reduction 'avg'"):
        L.MeanAbsoluteError(reduction="avg")


def test_rank_fixups_as_keras():
    # y_true (batch,) against y_pred (batch, 1): the targets get the trailing axis.
    got = L.MeanSquaredError()(np.array([0.0, 1.0]), np.array([[1.0], [1.0]]))
    np.testing.assert_allclose(got.numpy(), 0.5)
    got = L.BinaryCrossentropy(from_logits=True)(np.array([1, 0]), np.array([[0.0], [0.0]]))
    np.testing.assert_allclose(got.numpy(), math.log(2), rtol=1e-6)
    got = L.SparseCategoricalCrossentropy()(np.array([[1], [0]]), np.array([[0.5, 0.5]] * 2))
    np.testing.assert_allclose(got.numpy(), math.log(2), rtol=1e-6)
    # Integral float labels are accepted for sparse targets, as Keras casts them.
    got = L.SparseCategoricalCrossentropy()(np.array([1.0, 0.0]), np.array([[0.5, 0.5]] * 2))
    np.testing.assert_allclose(got.numpy(), math.log(2), rtol=1e-6)


def test_dtypes():
    x32 = wg.constant(RNG.standard_normal((3, 2)), dtype="float32")
    assert L.MeanSquaredError()(np.zeros((3, 2)), x32).dtype == np.float32
    x64 = RNG.standard_normal((3, 2))
    # A Python list of targets takes y_pred's dtype directly (no float32 rounding).
    got = L.MeanSquaredError()([[0.1, 0.2]] * 3, x64)
    want = np.mean((x64 - np.array([[0.1, 0.2]] * 3)) ** 2)
    assert got.dtype == np.float64 and abs(float(got) - want) < 1e-15
    # Integer targets for cross-entropies are cast to y_pred's float dtype.
    assert L.BinaryCrossentropy()(np.array([[1, 0]]), np.array([[0.6, 0.3]])).dtype == np.float64


def test_errors_name_the_loss_and_the_shapes():
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true shape \[3, 2\] and y_pred "):
        L.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"binary_crossentropy: .*\[4\].*\[3\]"):
        L.binary_crossentropy(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match=r"categorical_crossentropy: .*\[2, 5\].*\[2, 4\]"):
        L.CategoricalCrossentropy(from_logits=True)(np.zeros((2, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"huber: y_true shape"):
        L.Huber()(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(
        ValueError, match=r"sparse_categorical_crossentropy: label 3 is out of range \[0, 3\)"
    ):
        L.SparseCategoricalCrossentropy(from_logits=True)([0, 3], np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: label -1"):
        L.SparseCategoricalCrossentropy()([-1, 0], np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: y_true shape \[3\]"):
        L.SparseCategoricalCrossentropy()([0, 1, 2], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="got label 0.5"):
        L.SparseCategoricalCrossentropy()([0.5, 1.0], np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"mean_squared_error: sample_weight shape \[3\]"):
        L.MeanSquaredError()(np.zeros((2, 1)), np.zeros((2, 1)), sample_weight=[1.0, 1.0, 1.0])


def test_get_serialize_and_configs():
    for name, cls in [
        ("mse", L.MeanSquaredError),
        ("MSE", L.MeanSquaredError),
        ("mean_squared_error", L.MeanSquaredError),
        ("mae", L.MeanAbsoluteError),
        ("mean_absolute_error", L.MeanAbsoluteError),
        ("binary_crossentropy", L.BinaryCrossentropy),
        ("categorical_crossentropy", L.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy),
        ("huber", L.Huber),
        ("SparseCategoricalCrossentropy", L.SparseCategoricalCrossentropy),
    ]:
        assert type(L.get(name)) is cls
    loss = L.Huber(0.5)
    assert L.get(loss) is loss
    assert isinstance(L.get(L.MeanAbsoluteError), L.MeanAbsoluteError)
    wrapped = L.get(L.mean_absolute_error)
    assert isinstance(wrapped, L.LossFunctionWrapper) and wrapped.name == "mean_absolute_error"
    np.testing.assert_allclose(float(wrapped([[0.0]], [[2.0]])), 2.0)
    with pytest.raises(ValueError, match=r"unknown loss 'msee'.*mse.*binary_crossentropy"):
        L.get("msee")
    with pytest.raises(ValueError, match="cannot interpret 3"):
        L.get(3)
    for loss in [
        L.MeanSquaredError(reduction="sum"),
        L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        L.CategoricalCrossentropy(axis=0, name="cce"),
        L.SparseCategoricalCrossentropy(from_logits=True),
        L.Huber(2.0, reduction="none"),
        L.LossFunctionWrapper(L.huber, delta=0.5),
    ]:
        again = L.get(L.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert L.BinaryCrossentropy(from_logits=True).get_config()["from_logits"] is True
    assert "fn" not in L.Huber(2.0).get_config()  # a subclass fixes its function
    assert L.LossFunctionWrapper(L.huber, delta=0.5).get_config()["fn"] == "huber"


def test_function_wrappers_refuse_an_unknown_function_name():
    from wengert import metrics as M

    config = {**L.LossFunctionWrapper(L.huber).get_config(), "fn": "no_such_loss"}
    with pytest.raises(ValueError, match=r"LossFunctionWrapper.from_config: unknown function"):
        L.LossFunctionWrapper.from_config(config)
    config = {**M.MeanMetricWrapper(L.huber).get_config(), "fn": "no_such_metric"}
    with pytest.raises(ValueError, match=r"MeanMetricWrapper.from_config: unknown function"):
        M.MeanMetricWrapper.from_config(config)
