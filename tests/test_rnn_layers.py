"""Recurrent layers: Keras's semantics, the fused path against the cell loop, masks, errors."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert.layers.embedding import Embedding, get_mask
from wengert.layers.rnn import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    TimeDistributed,
)

RNG = np.random.default_rng(7)
B, T, F, H = 3, 6, 4, 5
X = RNG.standard_normal((B, T, F))
MASK = np.ones((B, T), bool)
MASK[0, 4:] = False  # padding at the end
MASK[1, :2] = False  # padding at the start
MASK[2, 3] = False  # a gap

LAYERS = [
    ("lstm", LSTM, {}),
    ("gru", GRU, {}),
    ("gru_reset_before", GRU, {"reset_after": False}),
    ("simple_rnn", SimpleRNN, {}),
    ("simple_rnn_relu", SimpleRNN, {"activation": "relu"}),
]


def _built(cls, kwargs, weights=None, **more):
    layer = cls(H, dtype="float64", **kwargs, **more)
    layer.build((B, T, F))
    if weights is None:
        weights = [RNG.standard_normal(w.shape) * 0.5 for w in layer.weights]
    layer.set_weights(weights)
    return layer, weights


def _outputs_and_grads(layer, x, **call):
    x = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, **call)
        outs = out if isinstance(out, list) else [out]
        loss = sum(wg.reduce_sum(o * o) for o in outs)
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


@pytest.mark.parametrize("name, cls, kwargs", LAYERS, ids=[n for n, _, _ in LAYERS])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("zero_output", [False, True], ids=["previous", "zeros"])
def test_fused_layer_equals_the_cell_loop(name, cls, kwargs, go_backwards, zero_output):
    common = dict(
        return_sequences=True,
        return_state=True,
        go_backwards=go_backwards,
        zero_output_for_mask=zero_output,
    )
    fused, weights = _built(cls, kwargs, **common)
    loop, _ = _built(cls, kwargs, weights, fused=False, **common)
    for mask in (None, MASK):
        a = _outputs_and_grads(fused, X, mask=mask)
        b = _outputs_and_grads(loop, X, mask=mask)
        for u, v in zip(a[0] + a[1], b[0] + b[1]):
            np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_fused_path_is_one_record_and_loop_is_many():
    fused, weights = _built(LSTM, {})
    loop, _ = _built(LSTM, {}, weights, fused=False)
    counts = []
    for layer in (fused, loop):
        with wg.GradientTape() as tape:
            layer(wg.constant(X))
        counts.append(sum(rec.op == "lstm_sequence" for rec in tape))
        counts.append(len(tape))
    assert counts[0] == 1 and counts[1] < 10
    assert counts[2] == 0 and counts[3] > 10 * T


def test_masked_steps_follow_keras():
    """A masked step outputs the previous output and keeps the state; it gets no gradient."""
    layer, _ = _built(LSTM, {}, return_sequences=True, return_state=True)
    (seq, h, c), (dx, *_) = _outputs_and_grads(layer, X, mask=MASK)
    np.testing.assert_array_equal(seq[0, 4], seq[0, 3])
    np.testing.assert_array_equal(seq[0, 5], seq[0, 3])
    np.testing.assert_array_equal(seq[2, 3], seq[2, 2])
    np.testing.assert_array_equal(seq[1, 0], np.zeros(H))  # the initial state, before any step
    np.testing.assert_array_equal(h[0], seq[0, 3])
    # The final state of a sequence padded at the end is its last real step's.
    (h_short, c_short), _ = (
        _outputs_and_grads(_built(LSTM, {}, layer.get_weights(), return_state=True)[0], X[:1, :4])[
            0
        ][1:],
        None,
    )
    np.testing.assert_allclose(h[0], h_short[0], rtol=1e-12)
    np.testing.assert_allclose(c[0], c_short[0], rtol=1e-12)
    for row, step in zip(*np.nonzero(~MASK)):
        assert not np.any(dx[row, step])
    assert np.all(np.abs(dx[MASK]).sum(axis=-1) > 0)


def test_embedding_mask_reaches_the_lstm_in_a_sequential():
    tokens = np.array([[3, 5, 2, 0, 0], [1, 0, 0, 0, 0], [4, 4, 4, 4, 4]])
    emb = Embedding(6, F, mask_zero=True)
    lstm = LSTM(H, return_sequences=True)
    head = TimeDistributed(wg.layers.Dense(2))
    model = wg.Sequential([emb, lstm, head])
    out = model(tokens)
    np.testing.assert_array_equal(get_mask(out), tokens != 0)
    explicit = lstm(emb(tokens), mask=tokens != 0)  # the same, with the mask passed by hand
    unmasked = lstm(wg.constant(emb(tokens).numpy()))  # a fresh tensor carries no mask
    seq = explicit.numpy()
    np.testing.assert_allclose(head(explicit).numpy(), out.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(seq[1, 1:], np.repeat(seq[1, :1], 4, axis=0))
    assert not np.allclose(unmasked.numpy()[1, 1:], seq[1, 1:])


def test_bidirectional_concat_and_states():
    fw, _ = _built(LSTM, {}, return_sequences=True, return_state=True)
    layer = Bidirectional(LSTM(H, return_sequences=True, return_state=True, dtype="float64"))
    out, hf, cf, hb, cb = layer(wg.constant(X))
    assert out.shape == (B, T, 2 * H) and hf.shape == hb.shape == (B, H)
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [(F, 4 * H), (H, 4 * H), (4 * H,)] * 2
    assert layer.forward_layer.name.startswith("forward_")
    assert layer.backward_layer.name.startswith("backward_") and layer.backward_layer.go_backwards
    # The backward half is a go_backwards LSTM's output reversed back into time order.
    back = LSTM(H, return_sequences=True, go_backwards=True, dtype="float64")
    back.build((B, T, F))
    back.set_weights(weights[3:])
    np.testing.assert_allclose(out.numpy()[:, :, H:], back(X).numpy()[:, ::-1], rtol=1e-12)
    np.testing.assert_allclose(hb.numpy(), back(X).numpy()[:, -1], rtol=1e-12)


@pytest.mark.parametrize("mode", ["sum", "mul", "ave", None])
def test_bidirectional_merge_modes(mode):
    layer = Bidirectional(GRU(H, dtype="float64"), merge_mode=mode)
    out = layer(wg.constant(X))
    if mode is None:
        assert [o.shape for o in out] == [(B, H), (B, H)]
    else:
        assert out.shape == (B, H)


def test_bidirectional_masked_sequences_output_zeros_at_padding():
    layer = Bidirectional(SimpleRNN(H, return_sequences=True, dtype="float64"))
    out = layer(wg.constant(X), mask=MASK).numpy()
    assert not np.any(out[~MASK]) and np.all(np.abs(out[MASK]).sum(-1) > 0)
    np.testing.assert_array_equal(get_mask(layer(wg.constant(X), mask=MASK)), MASK)


def test_bidirectional_initial_state_and_errors():
    layer = Bidirectional(LSTM(H, dtype="float64"))
    zeros = [np.zeros((B, H))] * 4
    np.testing.assert_allclose(layer(X, initial_state=zeros).numpy(), layer(X).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="expected 4 initial states"):
        layer(X, initial_state=zeros[:2])
    with pytest.raises(ValueError, match="merge_mode"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        Bidirectional(wg.layers.Dense(2))


def test_time_distributed_shares_weights():
    dense = wg.layers.Dense(3, dtype="float64")
    layer = TimeDistributed(dense)
    out = layer(wg.constant(X))
    assert out.shape == (B, T, 3) and len(layer.weights) == 2
    np.testing.assert_allclose(out.numpy()[:, 2], dense(X[:, 2]).numpy(), rtol=1e-12)
    clone = TimeDistributed.from_config(layer.get_config())
    assert clone(wg.constant(X)).shape == (B, T, 3) and clone.layer.units == 3
    with pytest.raises(ValueError, match=r"TimeDistributed '.*': expected inputs of shape"):
        TimeDistributed(wg.layers.Dense(3))(np.zeros((2, 3)))


def test_weight_layouts_are_keras():
    shapes = {}
    for name, layer in [
        ("lstm", LSTM(H)),
        ("gru", GRU(H)),
        ("gru_before", GRU(H, reset_after=False)),
        ("simple", SimpleRNN(H)),
    ]:
        layer.build((None, T, F))
        shapes[name] = [w.shape for w in layer.get_weights()]
    assert shapes == {
        "lstm": [(F, 4 * H), (H, 4 * H), (4 * H,)],
        "gru": [(F, 3 * H), (H, 3 * H), (2, 3 * H)],
        "gru_before": [(F, 3 * H), (H, 3 * H), (3 * H,)],
        "simple": [(F, H), (H, H), (H,)],
    }
    bias = LSTM(2)
    bias.build((None, 1, 1))
    np.testing.assert_array_equal(bias.get_weights()[2], [0, 0, 1, 1, 0, 0, 0, 0])


def test_lstm_gate_order_is_i_f_c_o():
    """One step from zero state computed by hand, Keras's formula and gate order."""
    layer = LSTM(2, return_state=True, dtype="float64")
    layer.build((1, 1, 3))
    kernel = RNG.standard_normal((3, 8))
    bias = RNG.standard_normal(8)
    layer.set_weights([kernel, RNG.standard_normal((2, 8)), bias])
    x = RNG.standard_normal((1, 1, 3))
    _, h, c = layer(x)
    z = x[0] @ kernel + bias
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    i, f, g, o = sig(z[:, :2]), sig(z[:, 2:4]), np.tanh(z[:, 4:6]), sig(z[:, 6:])
    np.testing.assert_allclose(c.numpy(), i * g, rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), o * np.tanh(i * g), rtol=1e-12)
    del f


def test_gru_gate_order_is_z_r_h():
    layer = GRU(2, dtype="float64")
    layer.build((1, 1, 3))
    kernel, rec = RNG.standard_normal((3, 6)), RNG.standard_normal((2, 6))
    bias = RNG.standard_normal((2, 6))
    layer.set_weights([kernel, rec, bias])
    x = RNG.standard_normal((1, 1, 3))
    h0 = RNG.standard_normal((1, 2))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    xz = x[0] @ kernel + bias[0]
    m = h0 @ rec + bias[1]
    z, r = sig(xz[:, :2] + m[:, :2]), sig(xz[:, 2:4] + m[:, 2:4])
    hh = np.tanh(xz[:, 4:] + r * m[:, 4:])
    np.testing.assert_allclose(
        layer(x, initial_state=[h0]).numpy(), z * h0 + (1 - z) * hh, rtol=1e-12
    )


def test_dropout_masks_are_fixed_across_steps_and_training_only():
    common = dict(dropout=0.4, seed=3, return_sequences=True)
    fused, weights = _built(LSTM, {}, **common)
    loop, _ = _built(LSTM, {}, weights, fused=False, **common)
    a = fused(X, training=True).numpy()
    b = loop(X, training=True).numpy()  # the same seed draws the same one mask per sequence
    np.testing.assert_allclose(a, b, rtol=1e-12)
    inference = fused(X, training=False).numpy()
    assert not np.allclose(a, inference)
    np.testing.assert_allclose(inference, fused(X).numpy())


def test_recurrent_dropout_uses_the_loop_while_training():
    layer, _ = _built(GRU, {}, recurrent_dropout=0.5, seed=1)
    with wg.GradientTape() as tape:
        layer(X, training=True)
    assert not any(rec.op == "gru_sequence" for rec in tape)
    with wg.GradientTape() as tape:
        layer(X, training=False)
    assert any(rec.op == "gru_sequence" for rec in tape)
    forced, _ = _built(GRU, {}, recurrent_dropout=0.5, fused=True)
    with pytest.raises(ValueError, match="fused=True but recurrent_dropout"):
        forced(X, training=True)


def test_other_activations_fall_back_to_the_loop():
    layer, weights = _built(LSTM, {"activation": "relu"})
    with wg.GradientTape() as tape:
        out = layer(X)
    assert not any(rec.op == "lstm_sequence" for rec in tape)
    loop, _ = _built(LSTM, {"activation": "relu"}, weights, fused=False)
    np.testing.assert_allclose(out.numpy(), loop(X).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="fused=True but the fused LSTM needs"):
        _built(LSTM, {"activation": "relu"}, fused=True)[0](X)


def test_user_cell_in_the_generic_rnn():
    class MinimalRNNCell(wg.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight((input_shape[-1], self.units))
            self.recurrent_kernel = self.add_weight((self.units, self.units))

        def call(self, inputs, states):
            h = wg.matmul(inputs, self.kernel) + wg.tanh(
                wg.matmul(states[0], self.recurrent_kernel)
            )
            return h, [h]

    layer = RNN(MinimalRNNCell(3, dtype="float64"), return_sequences=True, return_state=True)
    seq, h = layer(X, mask=MASK)
    assert seq.shape == (B, T, 3)
    np.testing.assert_array_equal(h.numpy(), seq.numpy()[:, -1])
    # The same cell math as SimpleRNNCell-free code: step 0 from zeros.
    k = layer.cell.kernel.numpy()
    np.testing.assert_allclose(seq.numpy()[0, 0], X[0, 0] @ k, rtol=1e-12)


@pytest.mark.parametrize(
    "cell, layer",
    [(LSTMCell, LSTM), (GRUCell, GRU), (SimpleRNNCell, SimpleRNN)],
    ids=["lstm", "gru", "simple"],
)
def test_rnn_of_a_builtin_cell_equals_the_layer(cell, layer):
    ours = RNN(cell(H, dtype="float64"), return_sequences=True)
    ours.build((B, T, F))
    theirs = layer(H, return_sequences=True, dtype="float64")
    theirs.build((B, T, F))
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(X, mask=MASK).numpy(), theirs(X, mask=MASK).numpy(), rtol=1e-11)


def test_bad_inputs_name_the_layer_and_the_shapes():
    layer = LSTM(H, name="encoder")
    with pytest.raises(ValueError, match=r"LSTM 'encoder': expected inputs of shape \(batch, time"):
        layer(np.zeros((B, F)))
    layer = LSTM(H, name="encoder2")
    layer(np.zeros((B, T, F)))
    with pytest.raises(ValueError, match=r"layer 'encoder2'.*axis -1 .* value 4.*\(3, 6, 7\)"):
        layer(np.zeros((B, T, 7)))
    with pytest.raises(ValueError, match=r"layer 'encoder2'.*expected ndim=3.*\(3, 6, 4, 1\)"):
        layer(np.zeros((B, T, F, 1)))
    with pytest.raises(
        ValueError, match=r"'encoder2': initial_state\[1\] must have shape \(batch, units\) = "
    ):
        layer(np.zeros((B, T, F)), initial_state=[np.zeros((B, H)), np.zeros((B, H + 1))])
    with pytest.raises(ValueError, match=r"'encoder2': expected 2 initial state\(s\)"):
        layer(np.zeros((B, T, F)), initial_state=[np.zeros((B, H))])
    with pytest.raises(ValueError, match=r"'encoder2': mask must be \(batch, time\) = \(3, 6\)"):
        layer(np.zeros((B, T, F)), mask=np.ones((T, B), bool))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        GRU(0)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        SimpleRNN(2, dropout=1.0)


@pytest.mark.parametrize("name, cls, kwargs", LAYERS, ids=[n for n, _, _ in LAYERS])
def test_config_round_trip(name, cls, kwargs):
    layer = cls(3, return_sequences=True, go_backwards=True, dropout=0.1, **kwargs)
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    double = Bidirectional(cls(3, **kwargs))
    again = Bidirectional.from_config(double.get_config())
    assert again(np.zeros((2, 4, 3))).shape == (2, 6)


def test_fit_and_checkpoint_round_trip(tmp_path):
    wg.random.set_seed(0)
    x = RNG.standard_normal((64, T, F)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int64")
    model = wg.Sequential(
        [
            wg.layers.Input((T, F)),
            Bidirectional(GRU(8, return_sequences=True)),
            LSTM(8, dropout=0.1),
            wg.layers.Dense(2),
        ]
    )
    model.compile(
        optimizer=wg.optimizers.Adam(0.02),
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0, seed=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    path = str(tmp_path / "ckpt.npz")
    model.save_checkpoint(path)
    twin = wg.Sequential(
        [
            wg.layers.Input((T, F)),
            Bidirectional(GRU(8, return_sequences=True)),
            LSTM(8, dropout=0.1),
            wg.layers.Dense(2),
        ]
    )
    twin.compile(optimizer=wg.optimizers.Adam(0.02), loss=model.compiled_loss)
    twin.load_checkpoint(path)
    np.testing.assert_array_equal(model.predict(x), twin.predict(x))
