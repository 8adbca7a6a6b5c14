"""``stateful=True``: each call starts from the last call's final states (Keras 3's semantics).

A long sequence fed in two chunks to a stateful layer gives what the whole sequence
gives in one call; the stored state is a constant to the next call's tape (truncated
backpropagation through time), checked against PyTorch; ``reset_states`` zeroes or
sets the states; masked steps keep them; ``fit`` carries them between batches.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert.layers.rnn import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    load_torch_state_dict,
)

RNG = np.random.default_rng(11)
B, T, F, H = 3, 8, 4, 5
X = RNG.standard_normal((B, T, F))
SPLIT = 5  # the first chunk's length (the chunks need not be equal)

KINDS = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}
PATHS = {"fused": True, "loop": False}
EVERY = [(k, p) for k in KINDS for p in PATHS]
IDS = [f"{k}-{p}" for k, p in EVERY]


def _twins(kind, path, **kwargs):
    """A stateful layer and a plain one with the same (random) weights, float64."""
    make = KINDS[kind]
    stateful = make(H, stateful=True, fused=PATHS[path], dtype="float64", **kwargs)
    plain = make(H, fused=PATHS[path], dtype="float64", **kwargs)
    for layer in (stateful, plain):
        layer.build((B, T, F))
    weights = [RNG.standard_normal(w.shape) * 0.5 for w in plain.weights]
    stateful.set_weights(weights)
    plain.set_weights(weights)
    return stateful, plain


def _numpy(values):
    return [v.numpy() for v in values]


# -- two chunks are one sequence ------------------------------------------------------------------
@pytest.mark.parametrize("kind, path", EVERY, ids=IDS)
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
def test_two_chunks_give_what_the_whole_sequence_gives(kind, path, go_backwards):
    stateful, plain = _twins(
        kind, path, return_sequences=True, return_state=True, go_backwards=go_backwards
    )
    first, second = X[:, :SPLIT], X[:, SPLIT:]
    seq_1, *_ = stateful(first)
    seq_2, *final = stateful(second)
    # Backwards, each chunk runs back to front: the sequence read is second-reversed
    # then first-reversed, which is the plain layer's backward pass over (first, second)
    # only when the chunks come in the other order.
    whole = np.concatenate([second, first], axis=1) if go_backwards else X
    seq, *theirs = plain(whole)
    np.testing.assert_allclose(
        np.concatenate([seq_1.numpy(), seq_2.numpy()], axis=1), seq.numpy(), rtol=1e-12
    )
    for ours, expected, kept in zip(final, theirs, stateful.states):
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(kept.numpy(), ours.numpy())


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
def test_the_last_output_of_a_chunked_sequence(fused):
    """Without return_sequences/return_state: the second call's output is the last step's."""
    stateful, plain = _twins("lstm", "fused" if fused else "loop")
    stateful(X[:, :SPLIT])
    np.testing.assert_allclose(stateful(X[:, SPLIT:]).numpy(), plain(X).numpy(), rtol=1e-12)


def test_a_stack_of_cells_in_rnn_keeps_every_cells_states():
    cells = [LSTMCell(H, dtype="float64"), GRUCell(3, dtype="float64")]
    stateful = RNN(cells, stateful=True, return_state=True)
    plain = RNN([LSTMCell(H, dtype="float64"), GRUCell(3, dtype="float64")], return_state=True)
    stateful.build((B, T, F))
    plain.build((B, T, F))
    plain.set_weights(stateful.get_weights())
    stateful(X[:, :SPLIT])
    out, *states = stateful(X[:, SPLIT:])
    expected, *theirs = plain(X)
    assert [v.shape for v in stateful.states] == [(B, H), (B, H), (B, 3)]
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    for ours, t in zip(states, theirs):
        np.testing.assert_allclose(ours.numpy(), t.numpy(), rtol=1e-12)


class _OnesCell(wg.layers.Layer):
    """Keras 3's test cell (rnn_test.py): h' = x @ ones + h @ ones."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), "ones", name="kernel")
        self.recurrent_kernel = self.add_weight((self.units, self.units), "ones", name="rec")

    def call(self, inputs, states):
        h = wg.matmul(inputs, self.kernel) + wg.matmul(states[0], self.recurrent_kernel)
        return h, [h]


def test_keras3_numbers():
    """The values Keras 3's own tests expect of stateful layers called twice."""
    sequence = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = RNN(_OnesCell(2), stateful=True, return_state=True)  # rnn_test.py
    layer(sequence)
    out, state = layer(sequence)
    np.testing.assert_allclose(out.numpy(), [[954.0, 954.0], [3978.0, 3978.0]])
    np.testing.assert_allclose(state.numpy(), [[954.0, 954.0], [3978.0, 3978.0]])
    for fused in (True, False):  # gru_test.py
        gru = GRU(
            4,
            stateful=True,
            fused=fused,
            kernel_initializer=wg.initializers.Constant(0.01),
            recurrent_initializer=wg.initializers.Constant(0.02),
            bias_initializer=wg.initializers.Constant(0.03),
        )
        expected = [[0.29542392] * 4, [0.5885018] * 4]
        gru(sequence)
        np.testing.assert_allclose(gru(sequence).numpy(), expected, rtol=1e-6)
        gru.reset_state()
        gru(sequence)
        np.testing.assert_allclose(gru(sequence).numpy(), expected, rtol=1e-6)


# -- gradients stop at the stored state -----------------------------------------------------------
def _loss(outs, weights):
    return sum(wg.reduce_sum(o * w) for o, w in zip(outs, weights))


@pytest.mark.parametrize("kind, path", EVERY, ids=IDS)
def test_second_call_gradient_treats_the_stored_state_as_a_constant(kind, path):
    stateful, plain = _twins(kind, path, return_sequences=True, return_state=True)
    first, second = wg.constant(X[:, :SPLIT]), wg.constant(X[:, SPLIT:])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(first)
        stateful(first)
        outs = stateful(second)
        cot = [RNG.standard_normal(o.shape) for o in outs]
        loss = _loss(outs, cot)
    ours = tape.gradient(loss, stateful.trainable_weights)
    # Nothing reaches the first chunk: the state went through a Variable, read as a constant.
    assert tape.gradient(loss, first) is None

    kept = [wg.constant(v.numpy()) for v in _first_chunk_states(plain, X[:, :SPLIT])]
    with wg.GradientTape() as tape:
        loss = _loss(plain(second, initial_state=kept), cot)
    theirs = tape.gradient(loss, plain.trainable_weights)
    for g, expected in zip(ours, theirs):
        np.testing.assert_allclose(g.numpy(), expected.numpy(), rtol=1e-11, atol=1e-13)


def _first_chunk_states(plain, chunk):
    return plain(chunk)[1:]


def test_second_call_gradient_equals_torch_with_a_detached_state():
    """PyTorch's truncated BPTT: the second chunk starts from the first's detached state."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.LSTM(F, H, batch_first=True).double()
    layer = LSTM(H, stateful=True, return_sequences=True, return_state=True, dtype="float64")
    load_torch_state_dict(layer, module.state_dict())
    layer(X[:, :SPLIT])
    second = X[:, SPLIT:]
    cot = RNG.standard_normal((B, T - SPLIT, H))
    with wg.GradientTape() as tape:
        seq, h, c = layer(second)
        loss = wg.reduce_sum(seq * cot)
    kernel, recurrent, bias = tape.gradient(loss, layer.trainable_weights)

    with torch.no_grad():
        _, (h0, c0) = module(torch.tensor(X[:, :SPLIT]))
    out, (hn, cn) = module(torch.tensor(second), (h0, c0))
    (out * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(seq.numpy(), out.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(h.numpy(), hn[0].detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(c.numpy(), cn[0].detach().numpy(), rtol=1e-10)
    # Same gate order (i, f, g/c, o); Keras's one bias is PyTorch's two summed.
    np.testing.assert_allclose(kernel.numpy(), module.weight_ih_l0.grad.numpy().T, rtol=1e-10)
    np.testing.assert_allclose(recurrent.numpy(), module.weight_hh_l0.grad.numpy().T, rtol=1e-10)
    np.testing.assert_allclose(bias.numpy(), module.bias_ih_l0.grad.numpy(), rtol=1e-10)


def test_second_call_gradient_equals_finite_differences():
    """The GRU's recurrent-kernel gradient of the second call, by central differences."""
    stateful, _ = _twins("gru", "fused", return_sequences=True)
    stateful(X[:, :SPLIT])
    kept = [v.numpy() for v in stateful.states]
    cot = RNG.standard_normal((B, T - SPLIT, H))
    with wg.GradientTape() as tape:
        loss = wg.reduce_sum(stateful(X[:, SPLIT:]) * cot)
    grad = tape.gradient(loss, stateful.cell.recurrent_kernel).numpy()

    recurrent = stateful.cell.recurrent_kernel
    base = recurrent.numpy()

    def loss_at(w):
        recurrent.assign(w)
        stateful.reset_states(kept)  # every evaluation from the first chunk's state
        return float(wg.reduce_sum(stateful(X[:, SPLIT:]) * cot))

    eps = 1e-6
    for i, j in [(0, 0), (1, 7), (4, 14), (2, 3)]:
        step = np.zeros_like(base)
        step[i, j] = eps
        numeric = (loss_at(base + step) - loss_at(base - step)) / (2 * eps)
        np.testing.assert_allclose(grad[i, j], numeric, rtol=1e-6, atol=1e-8)


# -- reset_states ---------------------------------------------------------------------------------
def test_reset_states_zeroes_or_sets_the_states():
    stateful, plain = _twins("lstm", "fused", return_state=True)
    stateful(X)
    assert np.abs(stateful.states[0].numpy()).sum() > 0
    stateful.reset_states()
    for v in stateful.states:
        np.testing.assert_array_equal(v.numpy(), np.zeros((B, H)))
    np.testing.assert_allclose(stateful(X)[0].numpy(), plain(X)[0].numpy(), rtol=1e-12)

    h, c = RNG.standard_normal((B, H)), RNG.standard_normal((B, H))
    stateful.reset_states([h, c])
    np.testing.assert_array_equal(stateful.states[0].numpy(), h)
    np.testing.assert_array_equal(stateful.states[1].numpy(), c)
    np.testing.assert_allclose(
        stateful(X)[0].numpy(), plain(X, initial_state=[h, c])[0].numpy(), rtol=1e-12
    )
    stateful.reset_state()  # Keras 3's name
    assert not np.any(stateful.states[0].numpy())


def test_reset_states_before_the_first_call_fixes_the_batch_size():
    layer = GRU(H, stateful=True, dtype="float64")
    assert layer.states is None
    layer.reset_states()  # nothing to reset yet
    assert layer.states is None
    h = RNG.standard_normal((2, H))
    layer.reset_states(h)  # one state: an array alone will do
    np.testing.assert_array_equal(layer.states[0].numpy(), h)
    layer(X[:2])
    with pytest.raises(ValueError, match=r"GRU '.*': .* batch size of its first call, 2; got .* 3"):
        layer(X)


def test_wrong_shapes_and_batch_sizes_name_the_layer():
    layer = LSTM(H, stateful=True, name="chunked")
    layer(X.astype("float32"))
    with pytest.raises(ValueError, match=r"'chunked': reset_states expected 2 state\(s\)"):
        layer.reset_states([np.zeros((B, H))])
    with pytest.raises(
        ValueError, match=r"'chunked': reset_states: state 1 .* \(3, 5\), got \(3, 4\)"
    ):
        layer.reset_states([np.zeros((B, H)), np.zeros((B, H - 1))])
    with pytest.raises(
        ValueError, match=r"'chunked': reset_states: state 0 .* \(3, 5\), got \(2, 5\)"
    ):
        layer.reset_states([np.zeros((2, H)), np.zeros((2, H))])
    kept = [v.numpy() for v in layer.states]
    with pytest.raises(
        ValueError, match=r"LSTM 'chunked': .* batch size of its first call, 3; got a batch of 2"
    ):
        layer(X[:2].astype("float32"))
    with pytest.raises(ValueError, match=r"'chunked': .* first call, 3; got a batch of 2"):
        layer(X[:2].astype("float32"), initial_state=[np.zeros((2, H))] * 2)
    for v, k in zip(layer.states, kept):  # a refused call changes nothing
        np.testing.assert_array_equal(v.numpy(), k)


def test_a_layer_that_is_not_stateful_has_no_states():
    layer = LSTM(H)
    layer(X)
    assert layer.states is None
    layer.reset_states()  # Keras 3: nothing to do
    with pytest.raises(AttributeError, match=r"'.*': reset_states\(states\) needs a stateful"):
        layer.reset_states([np.zeros((B, H))] * 2)


# -- what the states are and are not --------------------------------------------------------------
def test_states_are_non_trainable_variables_outside_the_weights():
    """Keras 3 makes them with tracking off: not in weights, not saved."""
    layer = LSTM(H, stateful=True)
    layer(X)
    assert all(isinstance(v, wg.Variable) and not v.trainable for v in layer.states)
    assert len(layer.weights) == 3 and layer.non_trainable_weights == []
    assert len(layer.get_weights()) == 3
    layer.set_weights(layer.get_weights())


def test_initial_state_overrides_the_stored_state_for_that_call():
    stateful, plain = _twins("gru", "fused", return_state=True)
    stateful(X[:, :SPLIT])
    given = RNG.standard_normal((B, H))
    out, state = stateful(X[:, SPLIT:], initial_state=[given])
    expected, expected_state = plain(X[:, SPLIT:], initial_state=[given])
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    # As Keras 3: the call's final state is kept, whatever it started from.
    np.testing.assert_allclose(stateful.states[0].numpy(), expected_state.numpy(), rtol=1e-12)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
def test_masked_steps_keep_the_state(fused):
    stateful, plain = _twins("lstm", "fused" if fused else "loop", return_state=True)
    mask = np.ones((B, T), bool)
    mask[0, SPLIT:] = False  # sample 0: the whole second chunk is padding
    mask[1, SPLIT + 1 :] = False  # sample 1: padding after one step
    mask[2, 2] = False  # sample 2: a gap in the first chunk
    stateful(X[:, :SPLIT], mask=mask[:, :SPLIT])
    after_first = [v.numpy() for v in stateful.states]
    out, *final = stateful(X[:, SPLIT:], mask=mask[:, SPLIT:])
    for kept, before in zip(stateful.states, after_first):
        np.testing.assert_array_equal(kept.numpy()[0], before[0])  # nothing unmasked: unchanged
    expected, *theirs = plain(X, mask=mask)  # the last unmasked step's states
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    for kept, t in zip(stateful.states, theirs):
        np.testing.assert_allclose(kept.numpy(), t.numpy(), rtol=1e-12)


def test_config_round_trip():
    for layer in (
        LSTM(H, stateful=True, go_backwards=True, return_state=True),
        GRU(H, stateful=True),
        SimpleRNN(H, stateful=True, fused=False),
        RNN(LSTMCell(H), stateful=True),
    ):
        config = layer.get_config()
        assert config["stateful"] is True
        clone = type(layer).from_config(config)
        assert clone.stateful and clone.get_config() == config
    assert LSTM(H).get_config()["stateful"] is False
    double = Bidirectional(LSTM(H, stateful=True))
    clone = Bidirectional.from_config(double.get_config())
    assert clone.stateful and clone.forward_layer.stateful and clone.backward_layer.stateful


# -- models ---------------------------------------------------------------------------------------
class _Record(wg.callbacks.Callback):
    """Each training batch's weights and states before the step, and the states after."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.before, self.after = layer, [], []

    def on_train_batch_begin(self, batch, logs=None):
        states = self.layer.states
        kept = None if states is None else [v.numpy() for v in states]
        self.before.append((self.layer.get_weights(), kept))

    def on_train_batch_end(self, batch, logs=None):
        self.after.append([v.numpy() for v in self.layer.states])


def test_fit_carries_the_states_from_batch_to_batch():
    n, batch = 12, 4
    # Values float32 holds exactly, so the data fit feeds the layer loses nothing.
    x = RNG.standard_normal((n, T, F)).astype("float32").astype("float64")
    y = RNG.standard_normal((n, 1))
    lstm = LSTM(H, stateful=True, dtype="float64")
    lstm.build((batch, T, F))  # weights to record before the first step; no call, no states
    model = wg.Sequential([lstm, wg.layers.Dense(1, dtype="float64")])
    model.compile(optimizer=wg.optimizers.SGD(0.1), loss="mse")
    record = _Record(lstm)
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[record])

    plain = LSTM(H, return_state=True, dtype="float64")
    plain.build((batch, T, F))
    previous = np.zeros((batch, H)), np.zeros((batch, H))
    for k, ((weights, before), after) in enumerate(zip(record.before, record.after)):
        if before is not None:  # the first batch makes the states: zeros
            for b, p in zip(before, previous):
                np.testing.assert_array_equal(b, p)
        # Batch k's sample i continues batch k-1's sample i, with the weights of step k.
        plain.set_weights(weights)
        _, h, c = plain(x[k * batch : (k + 1) * batch], initial_state=list(previous))
        np.testing.assert_allclose(after[0], h.numpy(), rtol=1e-12)
        np.testing.assert_allclose(after[1], c.numpy(), rtol=1e-12)
        assert not np.allclose(after[0], previous[0])  # the states did change
        previous = after
    assert len(record.after) == n // batch


def test_defining_a_functional_model_fixes_no_batch_size():
    """The shape probe of a model's definition (batch 1) neither fixes nor writes states."""
    inputs = wg.Input((None, F), batch_size=B)
    layer = GRU(H, stateful=True, dtype="float64")
    model = wg.Model(inputs, wg.layers.Dense(2, dtype="float64")(layer(inputs)))
    assert layer.states is None
    assert layer.compute_output_shape((None, T, F)) == (None, H)
    assert layer.states is None
    model(X[:, :SPLIT])
    assert layer.states[0].shape == (B, H)
    kept = layer.states[0].numpy()
    with pytest.raises(ValueError, match=r"batch size of its first call, 3; got a batch of 1"):
        model(X[:1])
    np.testing.assert_array_equal(layer.states[0].numpy(), kept)


def test_bidirectional_of_a_stateful_layer():
    layer = Bidirectional(LSTM(H, stateful=True, return_state=True, dtype="float64"))
    plain = Bidirectional(LSTM(H, return_state=True, dtype="float64"))
    layer.build((B, T, F))
    plain.build((B, T, F))
    plain.set_weights(layer.get_weights())
    assert layer.stateful and layer.states is None
    _, *first = layer(X[:, :SPLIT])
    assert len(layer.states) == 4
    out, *final = layer(X[:, SPLIT:])
    expected, *theirs = plain(X[:, SPLIT:], initial_state=first)  # each direction its own
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)
    for v, t in zip(layer.states, theirs):
        np.testing.assert_allclose(v.numpy(), t.numpy(), rtol=1e-12)
    layer.reset_states()
    assert not any(np.any(v.numpy()) for v in layer.states)
    with pytest.raises(ValueError, match=r"Bidirectional '.*': expected 4 states for reset_states"):
        layer.reset_states([np.zeros((B, H))] * 2)
    with pytest.raises(ValueError, match="the same stateful"):
        Bidirectional(LSTM(H, stateful=True), backward_layer=LSTM(H, go_backwards=True))


def test_a_short_last_batch_is_refused_before_any_step():
    wg.random.set_seed(6)
    model = wg.Sequential([wg.layers.Input((4, 2)), LSTM(3, stateful=True), wg.layers.Dense(1)])
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    x, y = np.ones((10, 4, 2), "float32"), np.ones((10, 1), "float32")
    for run in (
        lambda: model.fit(x, y, batch_size=4, verbose=0),
        lambda: model.evaluate(x, y, batch_size=4),
        lambda: model.predict(x, batch_size=4),
    ):
        with pytest.raises(ValueError, match="10 samples do not split into batches of 4"):
            run()
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(x[:8], y[:8], batch_size=4, verbose=0)  # a multiple is fine
