"""The 2-5-1 network trained by hand-derived backpropagation (no tape)."""

import sys

import pytest

import wengert.classic as classic
from wengert.backend import xp
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs

X = boolean_inputs(2)
Y = xp.asarray(BOOLEAN_FUNCTIONS["XOR"])


def test_default_network_is_the_chapters_figure():
    net = classic.BackpropMLP()
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {"W1": (2, 5), "b1": (5,), "W2": (5, 1), "b2": (1,)}
    assert net(X).shape == (4, 1) and net.predict(X).shape == (4,)


def test_learns_xor_from_a_fixed_seed():
    net = classic.BackpropMLP(seed=0)
    history = net.fit(X, Y, epochs=5000, stop_loss=0.01)
    needed = history.first_epoch_below(0.01)
    print(f"XOR learnt (4/4, loss < 0.01) after {needed} epochs")
    assert needed is not None and history.stopped_early
    assert net.predict(X).tolist() == [0, 1, 1, 0]
    assert net.loss(X, Y) < 0.01
    assert history.loss[0] > 0.25  # it really started from an untrained network


def test_learns_xor_from_other_seeds_too():
    for seed in range(1, 6):
        net = classic.BackpropMLP(seed=seed)
        net.fit(X, Y, epochs=5000, stop_loss=0.01)
        assert net.predict(X).tolist() == [0, 1, 1, 0] and net.loss(X, Y) < 0.01


def numerical_gradients(net, X, y, h=1e-6):
    grads = {}
    for k, param in net.params.items():
        g = xp.zeros_like(param)
        for i in range(param.size):
            old = param.flat[i]
            param.flat[i] = old + h
            up = net.loss(X, y)
            param.flat[i] = old - h
            down = net.loss(X, y)
            param.flat[i] = old
            g.flat[i] = (up - down) / (2 * h)
        grads[k] = g
    return grads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_derived_gradients_match_finite_differences(seed):
    rng = xp.random.default_rng(seed)
    net = classic.BackpropMLP(3, 4, 2, seed=seed, init_scale=2.0)
    Xr = rng.normal(size=(6, 3))
    yr = rng.uniform(size=(6, 2))
    hand = net.gradients(Xr, yr)
    numeric = numerical_gradients(net, Xr, yr)
    for k in hand:
        assert hand[k].shape == net.params[k].shape
        assert xp.allclose(hand[k], numeric[k], rtol=1e-6, atol=1e-8), k


def test_hand_derived_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = xp.random.default_rng(5)
    net = classic.BackpropMLP(seed=5, init_scale=1.5)
    Xr, yr = rng.normal(size=(7, 2)), rng.uniform(size=(7, 1))
    params = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in net.params.items()
    }
    h = torch.sigmoid(torch.tensor(Xr) @ params["W1"] + params["b1"])
    y_hat = torch.sigmoid(h @ params["W2"] + params["b2"])
    loss = 0.5 * ((y_hat - torch.tensor(yr)) ** 2).sum()
    loss.backward()
    hand = net.gradients(Xr, yr)
    assert abs(loss.item() - net.loss(Xr, yr)) < 1e-12
    for k, p in params.items():
        assert xp.max(xp.abs(hand[k] - p.grad.numpy())) < 1e-10, k


def test_update_is_averaged_gradient_descent_with_momentum():
    eps, alpha = 0.3, 0.7
    net = classic.BackpropMLP(learning_rate=eps, momentum=alpha, seed=2)
    p0 = {k: v.copy() for k, v in net.params.items()}
    g0 = net.gradients(X, Y)
    net.fit(X, Y, epochs=1)
    p1 = {k: v.copy() for k, v in net.params.items()}
    g1 = net.gradients(X, Y)
    net.fit(X, Y, epochs=1)
    for k in p0:
        d0 = -eps * g0[k] / 4
        assert xp.allclose(p1[k], p0[k] + d0, rtol=0, atol=1e-15)
        d1 = -eps * g1[k] / 4 + alpha * d0  # Δw(t) = -ε ∂E/∂w / J + α Δw(t-1)
        assert xp.allclose(net.params[k], p1[k] + d1, rtol=0, atol=1e-15)


def test_gradients_sum_and_updates_average_over_the_batch():
    a, b = classic.BackpropMLP(seed=4), classic.BackpropMLP(seed=4)
    X2, Y2 = xp.concatenate([X, X]), xp.concatenate([Y, Y])
    ga, gb = a.gradients(X, Y), b.gradients(X2, Y2)
    for k in ga:
        assert xp.allclose(2 * ga[k], gb[k], rtol=1e-14, atol=0)
    a.fit(X, Y, epochs=3)
    b.fit(X2, Y2, epochs=3)
    for k in a.params:
        assert xp.allclose(a.params[k], b.params[k], rtol=1e-13, atol=1e-15)


def test_history_records_loss_before_each_update():
    net = classic.BackpropMLP(seed=0)
    start = net.loss(X, Y)
    history = net.fit(X, Y, epochs=10)
    assert history.epochs == 10 and history.loss[0] == pytest.approx(start, abs=1e-15)
    assert len(history.accuracy) == 10 and not history.stopped_early


def test_several_outputs():
    net = classic.BackpropMLP(2, 6, 2, learning_rate=1.0, seed=1)
    Y2 = xp.stack([Y, 1 - Y], axis=1)
    net.fit(X, Y2, epochs=3000, stop_loss=0.02)
    assert net.predict(X).tolist() == Y2.tolist()


def test_bad_input():
    net = classic.BackpropMLP()
    with pytest.raises(ValueError, match=r"as many labels as samples; got 4 samples .* 3 labels"):
        net.fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match=r"targets y in \[0, 1\]; got 2"):
        net.fit(X, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"expected X of shape \(n, 2\)"):
        net.gradients(xp.zeros((4, 3)), Y)
    with pytest.raises(ValueError, match=r"expected y of shape \(n, 1\)"):
        net.loss(X, xp.zeros((4, 2)))
    with pytest.raises(ValueError, match="epochs"):
        net.fit(X, Y, epochs=0)
    with pytest.raises(ValueError, match="momentum"):
        classic.BackpropMLP(momentum=1.0)
    with pytest.raises(ValueError, match="n_hidden"):
        classic.BackpropMLP(n_hidden=0)


def test_tape_gradients_name_the_missing_core(monkeypatch):
    monkeypatch.setitem(sys.modules, "wengert.tape", None)
    with pytest.raises(classic.CoreUnavailableError, match="GradientTape"):
        classic.tape_gradients(classic.BackpropMLP(), X, Y)
