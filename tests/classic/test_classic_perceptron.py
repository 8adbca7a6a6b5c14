"""Rosenblatt's perceptron: convergence on separable data, detected cycling on XOR."""

import itertools

import pytest

import wengert.classic as classic
from wengert.backend import xp
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs, gaussian_clouds

X2 = boolean_inputs(2)
SETTINGS = [
    dict(learning_rate=r, batch=batch, init=init, seed=seed)
    for r, batch, (init, seed) in itertools.product(
        [1.0, 0.1, 0.25], [False, True], [("zeros", None), ("random", 0), ("random", 7)]
    )
]


@pytest.mark.parametrize("name", ["AND", "OR", "NAND", "NOR"])
@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_converges_on_separable_gates(name, settings):
    y = xp.asarray(BOOLEAN_FUNCTIONS[name])
    model = classic.Perceptron(max_epochs=200, **settings)
    history = model.fit(X2, y)
    assert history.converged and history.stopped == "converged" and history.cycle is None
    assert history.errors[-1] == 0
    assert model.predict(X2).tolist() == y.tolist()
    assert model(X2).tolist() == y.tolist()  # callable like a TLU
    assert classic.truth_table(model.to_tlu(), 2).outputs == tuple(y.tolist())
    assert len(history.weights) == len(history.biases) == len(history.updates) == history.epochs
    assert (history.weights[-1] == model.weights).all() and history.biases[-1] == model.bias


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("batch", [False, True])
def test_converges_on_two_gaussian_clouds(batch, seed):
    X, y = gaussian_clouds(50, seed=seed)
    model = classic.Perceptron(max_epochs=500, batch=batch)
    history = model.fit(X, y)
    assert history.converged
    assert model.predict(X).tolist() == y.tolist()


@pytest.mark.parametrize("name", ["XOR", "XNOR"])
@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_detects_that_xor_cycles(name, settings):
    y = xp.asarray(BOOLEAN_FUNCTIONS[name])
    # Bounded by construction: the cycle is found within a few epochs of 10,000 allowed.
    history = classic.Perceptron(max_epochs=10_000, **settings).fit(X2, y)
    assert not history.converged and history.stopped == "cycle"
    first, period = history.cycle
    assert history.epochs == first + period < 50
    assert min(history.errors) > 0
    # The cycle is real: the end-of-epoch state repeats exactly.
    if first > 0:
        assert (history.weights[first - 1] == history.weights[-1]).all()
        assert history.biases[first - 1] == history.biases[-1]
    # ... and its updates cancel: a Farkas certificate that XOR is not separable.
    counts = history.cycle_updates()
    lifted = xp.concatenate([X2, xp.ones((4, 1), dtype=X2.dtype)], axis=1)
    assert (counts @ lifted == 0).all() and counts.any()
    assert ((counts >= 0) | (y == 0)).all() and ((counts <= 0) | (y == 1)).all()
    assert "did not converge" in history.summary() and "cycle" in history.summary()


def test_cycle_from_the_initial_state():
    # Batch updates on XOR from zero return to zero after two epochs.
    history = classic.Perceptron(batch=True).fit(X2, BOOLEAN_FUNCTIONS["XOR"])
    assert history.cycle == (0, 2)
    assert (history.weights[-1] == 0).all() and history.biases[-1] == 0


def test_stops_at_max_epochs_on_real_valued_overlapping_data():
    X, y = gaussian_clouds(50, separation=1.0, seed=3)  # overlapping clouds
    history = classic.Perceptron(max_epochs=50, learning_rate=0.1).fit(X, y)
    assert not history.converged and history.epochs <= 50
    assert history.stopped in ("max_epochs", "cycle")
    assert "did not converge" in history.summary()


def test_max_epochs_is_respected():
    history = classic.Perceptron(max_epochs=1).fit(X2, BOOLEAN_FUNCTIONS["AND"])
    assert history.epochs == 1 and history.stopped == "max_epochs" and not history.converged
    with pytest.raises(ValueError, match="no cycle"):
        history.cycle_updates()


def test_error_threshold():
    history = classic.Perceptron(error_threshold=2).fit(X2, BOOLEAN_FUNCTIONS["XOR"])
    assert history.converged and history.errors[-1] <= 2


def test_online_rule_matches_the_chapter_step_by_step():
    # Replay the five steps by hand for r = 0.5 from zero weights on AND.
    X = X2.astype(float)
    y = BOOLEAN_FUNCTIONS["AND"]
    model = classic.Perceptron(learning_rate=0.5, max_epochs=1)
    history = model.fit(X, y)
    w, b = [0.0, 0.0], 0.0
    for x, target in zip(X.tolist(), y):
        y_hat = int(w[0] * x[0] + w[1] * x[1] + b > 0)
        w = [w[i] + 0.5 * (target - y_hat) * x[i] for i in range(2)]
        b += 0.5 * (target - y_hat)
    assert history.weights[0].tolist() == w and history.biases[0] == b


def test_batch_rule_sums_updates_over_all_samples():
    X = X2.astype(float)
    y = xp.asarray(BOOLEAN_FUNCTIONS["OR"])
    model = classic.Perceptron(learning_rate=0.5, max_epochs=1, batch=True)
    history = model.fit(X, y)
    # From zero every prediction is 0, so the update is r * sum of the label-1 samples.
    assert history.weights[0].tolist() == (0.5 * (y @ X)).tolist()
    assert history.biases[0] == 0.5 * 3 and history.updates[0] == 3


def test_random_init_is_seeded():
    a = classic.Perceptron(init="random", seed=3).fit(X2, BOOLEAN_FUNCTIONS["OR"])
    b = classic.Perceptron(init="random", seed=3).fit(X2, BOOLEAN_FUNCTIONS["OR"])
    assert [w.tolist() for w in a.weights] == [w.tolist() for w in b.weights]


def test_bad_input():
    model = classic.Perceptron()
    with pytest.raises(ValueError, match=r"labels y of 0 or 1; got 2"):
        model.fit(X2, [0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"labels y of 0 or 1; got -1"):
        model.fit(X2, [0, 1, -1, 0])
    with pytest.raises(ValueError, match=r"as many labels as samples; got 4 samples .* 3 labels"):
        model.fit(X2, [0, 1, 1])
    with pytest.raises(ValueError, match=r"X of shape \(n_samples, n_features\)"):
        model.fit([0, 1, 1, 0], [0, 1, 1, 0])
    with pytest.raises(ValueError, match="not fitted"):
        model.predict(X2)
    model.fit(X2, BOOLEAN_FUNCTIONS["AND"])
    with pytest.raises(ValueError, match=r"expected X of shape \(n, 2\)"):
        model.predict([[0, 1, 1]])
    with pytest.raises(ValueError, match="learning_rate > 0"):
        classic.Perceptron(learning_rate=0)
    with pytest.raises(ValueError, match="max_epochs"):
        classic.Perceptron(max_epochs=0)
    with pytest.raises(ValueError, match="init"):
        classic.Perceptron(init="ones")


def test_perceptron_learns_exactly_the_threshold_functions():
    # Convergence theorem one way, cycling theorem the other: on every 3-input function
    # and a sample of 4-input ones, the perceptron converges iff find_tlu finds a TLU.
    cases = [(3, m) for m in range(256)] + [(4, m) for m in range(0, 65536, 97)]
    for n, mask in cases:
        y = [(mask >> i) & 1 for i in range(2**n)]
        history = classic.Perceptron(max_epochs=1000).fit(boolean_inputs(n), y)
        assert history.stopped in ("converged", "cycle")
        assert history.converged == classic.is_linearly_separable(y), (n, y)
