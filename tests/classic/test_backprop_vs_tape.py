"""The chapter's hand-derived gradients equal the GradientTape's, to 1e-10 in float64.

This ties the derivation (chain rule, layer by layer) to the tape: the same 2-5-1
network, written once with arrays and hand-written backward pass and once with
wengert ops differentiated by ``wg.GradientTape``.
"""

import pytest

import wengert as wg
import wengert.classic as classic
from wengert.backend import xp
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs

if not hasattr(wg, "GradientTape"):
    pytest.skip("wengert's core (wg.GradientTape) is not available yet", allow_module_level=True)

X = boolean_inputs(2).astype(xp.float64)
Y = xp.asarray(BOOLEAN_FUNCTIONS["XOR"], dtype=xp.float64)[:, None]
NAMES = ("W1", "b1", "W2", "b2")


def taped_loss_and_gradients(params, X, y):
    """The network of BackpropMLP in wengert ops, differentiated by the tape."""
    variables = [wg.Variable(params[k].copy()) for k in NAMES]
    W1, b1, W2, b2 = variables
    x = wg.constant(X, dtype=X.dtype)
    target = wg.constant(y, dtype=y.dtype)
    with wg.GradientTape() as tape:
        h = wg.sigmoid(wg.matmul(x, W1) + b1)
        y_hat = wg.sigmoid(wg.matmul(h, W2) + b2)
        loss = 0.5 * wg.reduce_sum(wg.square(y_hat - target))
    grads = tape.gradient(loss, variables)
    return float(loss.numpy()), {k: g.numpy() for k, g in zip(NAMES, grads)}


def assert_same(hand, taped):
    for k in NAMES:
        assert taped[k].shape == hand[k].shape, k
        assert taped[k].dtype == xp.float64, k
        assert float(xp.max(xp.abs(hand[k] - taped[k]))) <= 1e-10, (k, hand[k], taped[k])


def test_xor_network_gradients_equal_the_tapes():
    net = classic.BackpropMLP(seed=0)
    loss, taped = taped_loss_and_gradients(net.params, X, Y)
    assert abs(loss - net.loss(X, Y)) <= 1e-12
    assert_same(net.gradients(X, Y), taped)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gradients_equal_on_random_networks_and_batches(seed):
    rng = xp.random.default_rng(seed)
    net = classic.BackpropMLP(3, 5, 2, seed=seed, init_scale=2.0)
    Xr = rng.normal(size=(8, 3))
    yr = rng.uniform(size=(8, 2))
    loss, taped = taped_loss_and_gradients(net.params, Xr, yr)
    assert abs(loss - net.loss(Xr, yr)) <= 1e-12
    assert_same(net.gradients(Xr, yr), taped)


def test_gradients_equal_all_along_training():
    net = classic.BackpropMLP(seed=0)
    for _ in range(5):
        net.fit(X, Y, epochs=100)
        assert_same(net.gradients(X, Y), taped_loss_and_gradients(net.params, X, Y)[1])


def test_training_by_the_tape_follows_the_hand_derived_run():
    hand, taped = classic.BackpropMLP(seed=0), classic.BackpropMLP(seed=0)
    h1 = hand.fit(X, Y, epochs=2000, stop_loss=0.01)
    h2 = taped.fit(X, Y, epochs=2000, stop_loss=0.01, gradient_fn=classic.tape_gradients)
    assert h1.epochs == h2.epochs
    assert max(abs(a - b) for a, b in zip(h1.loss, h2.loss)) <= 1e-10
    assert taped.predict(X).tolist() == [0, 1, 1, 0]
