"""PyTorch as an oracle: the same programs, gradients compared in float64."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(7)


def _both(fn_wg, fn_torch, *arrays):
    xs = [wg.constant(a) for a in arrays]
    with wg.GradientTape() as tape:
        tape.watch(xs)
        y = fn_wg(*xs)
    grads = tape.gradient(y, xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    yt = fn_torch(*ts)
    gts = torch.autograd.grad(yt, ts, allow_unused=True)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    for g, gt in zip(grads, gts):
        np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-10, atol=1e-12)


def test_two_layer_network_with_softmax_cross_entropy():
    x = RNG.standard_normal((8, 5))
    w1 = RNG.standard_normal((5, 7))
    b1 = RNG.standard_normal(7)
    w2 = RNG.standard_normal((7, 3))
    labels = RNG.integers(0, 3, 8)
    onehot = np.eye(3)[labels]

    def f_wg(x, w1, b1, w2):
        h = wg.tanh(wg.matmul(x, w1) + b1)
        logp = wg.nn.log_softmax(wg.matmul(h, w2))
        return -wg.reduce_mean(wg.reduce_sum(logp * onehot, axis=1))

    def f_t(x, w1, b1, w2):
        h = torch.tanh(x @ w1 + b1)
        return torch.nn.functional.cross_entropy(h @ w2, torch.tensor(labels))

    _both(f_wg, f_t, x, w1, b1, w2)


def test_sigmoid_softplus_logsumexp_chain():
    a = RNG.standard_normal((4, 6)) * 3

    def f_wg(a):
        return wg.reduce_sum(wg.reduce_logsumexp(wg.sigmoid(a) * wg.nn.softplus(a), axis=1))

    def f_t(a):
        return torch.logsumexp(torch.sigmoid(a) * torch.nn.functional.softplus(a), dim=1).sum()

    _both(f_wg, f_t, a)


def test_indexing_with_repeats_and_reduce_prod_with_zero():
    a = RNG.standard_normal((5, 4))
    a[2, 1] = 0.0

    def f_wg(a):
        return wg.reduce_sum(wg.reduce_prod(a[[0, 2, 2, 4], 1:], axis=1) + a[:, ::2] ** 2 * 0.0 + 1)

    def f_t(a):
        return (torch.prod(a[[0, 2, 2, 4], 1:], dim=1) + (a[:, ::2] ** 2 * 0.0).sum() * 0 + 1).sum()

    xs = [wg.constant(a)]
    with wg.GradientTape() as tape:
        tape.watch(xs)
        y = wg.reduce_sum(wg.reduce_prod(xs[0][[0, 2, 2, 4], :], axis=1))
    g = tape.gradient(y, xs[0])
    t = torch.tensor(a, requires_grad=True)
    yt = torch.prod(t[[0, 2, 2, 4], :], dim=1).sum()
    (gt,) = torch.autograd.grad(yt, t)
    np.testing.assert_allclose(g.numpy(), gt.numpy(), rtol=1e-10, atol=1e-12)
    del f_wg, f_t


def test_batched_matmul_broadcast_pad_concat():
    a = RNG.standard_normal((2, 3, 4))
    b = RNG.standard_normal((4, 5))
    c = RNG.standard_normal((2, 3, 2))

    def f_wg(a, b, c):
        m = wg.matmul(a, b)
        z = wg.concat([m, wg.pad(c, [[0, 0], [0, 0], [1, 0]])], axis=-1)
        return wg.reduce_sum(wg.square(z) * wg.cos(z))

    def f_t(a, b, c):
        m = a @ b
        z = torch.cat([m, torch.nn.functional.pad(c, (1, 0))], dim=-1)
        return (z**2 * torch.cos(z)).sum()

    _both(f_wg, f_t, a, b, c)


def test_second_derivative_against_torch():
    x0 = RNG.standard_normal(4)
    x = wg.constant(x0)
    with wg.GradientTape() as outer:
        outer.watch(x)
        with wg.GradientTape() as inner:
            inner.watch(x)
            y = wg.reduce_sum(wg.exp(wg.sin(x)) * x)
        g = inner.gradient(y, x)
        s = wg.reduce_sum(g * g)
    h = outer.gradient(s, x)
    t = torch.tensor(x0, requires_grad=True)
    yt = (torch.exp(torch.sin(t)) * t).sum()
    (gt,) = torch.autograd.grad(yt, t, create_graph=True)
    (ht,) = torch.autograd.grad((gt * gt).sum(), t)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-10)
