"""Rows of the gradient table for the fused recurrences (wengert.rnn_ops).

Each sequence primitive is checked to second order in forward and reverse mode
on tiny shapes; the ``*_grad`` rows are the VJPs of the sequences (the BPTT
primitives) checked to second order themselves, i.e. third derivatives of the
recurrences.
"""

from __future__ import annotations

import numpy as np

import wengert as wg
from wengert import rnn_ops

T, B, H = 3, 2, 2
# One padded step in each sequence, and one sequence whose first step is padded.
MASK = np.array([[True, False], [True, True], [False, True]])


# Fixed values: the inputs a BPTT row holds constant, and the final states' cotangents.
_FIXED = np.random.default_rng(11).standard_normal((3, B, H))


def _vjp(fn, n_inputs, watched):
    """The VJP of ``fn`` (a BPTT primitive) as a function of some inputs and a cotangent.

    ``watched`` are the positions of ``fn``'s ``n_inputs`` inputs that are
    arguments; the others are a fixed (batch, units) state, and the final
    states' cotangents are fixed too.  The last argument is the cotangent of
    every step's output.  Fewer arguments keep these third-derivative checks quick.
    """

    def vjp(*args):
        n = n_inputs
        given = dict(zip(watched, args[:-1]))
        xs = [given[i] if i in given else wg.constant(_FIXED[0]) for i in range(n)]
        with wg.GradientTape() as tape:
            tape.watch(xs)
            ys = fn(*xs)
        cots = [args[-1]] + [wg.constant(_FIXED[1 + k]) for k in range(len(ys) - 1)]
        grads = tape.gradient(list(ys), xs, output_gradients=cots)
        return tuple(grads[i] for i in watched)

    return vjp


def _lstm(mask=None, go_backwards=False):
    return lambda x, h0, c0, r: rnn_ops.lstm_sequence(
        x, h0, c0, r, mask=mask, go_backwards=go_backwards
    )


def _gru(mask=None, go_backwards=False, reset_after=True):
    if reset_after:
        return lambda x, h0, r, b: rnn_ops.gru_sequence(
            x, h0, r, b, mask=mask, go_backwards=go_backwards
        )
    return lambda x, h0, r: rnn_ops.gru_sequence(
        x, h0, r, mask=mask, reset_after=False, go_backwards=go_backwards
    )


def _simple(mask=None, go_backwards=False, activation="tanh"):
    return lambda x, h0, r: rnn_ops.simple_rnn_sequence(
        x, h0, r, mask=mask, activation=activation, go_backwards=go_backwards
    )


LSTM_SHAPES = [(T, B, 4 * H), (B, H), (B, H), (H, 4 * H)]
GRU_SHAPES = [(T, B, 3 * H), (B, H), (H, 3 * H), (3 * H,)]
GRU_BEFORE_SHAPES = [(T, B, 3 * H), (B, H), (H, 3 * H)]
SIMPLE_SHAPES = [(T, B, H), (B, H), (H, H)]

# relu's kink: pre-activations kept away from zero by a large positive input
_RELU_X = np.abs(np.random.default_rng(7).standard_normal((T, B, H))) + 0.5


# The BPTT rows differentiate nested tapes (third derivatives): two steps keep them quick.
T2 = 2
MASK2 = MASK[1:]
G_LSTM = [(T2, B, 4 * H), (B, H), (H, 4 * H), (T2, B, H)]  # x, c0, r; h0 fixed
G_GRU = [(T2, B, 3 * H), (H, 3 * H), (3 * H,), (T2, B, H)]  # x, r, b; h0 fixed
G_GRU_BEFORE = [(T2, B, 3 * H), (B, H), (H, 3 * H), (T2, B, H)]
G_SIMPLE = [(T2, B, H), (B, H), (H, H), (T2, B, H)]

ROWS = {
    "lstm_sequence": (_lstm(), LSTM_SHAPES),
    "lstm_sequence_masked_backwards": (_lstm(MASK, True), LSTM_SHAPES),
    "gru_sequence_reset_after": (_gru(), GRU_SHAPES),
    "gru_sequence_reset_after_masked_backwards": (_gru(MASK, True), GRU_SHAPES),
    "gru_sequence_reset_before_masked": (_gru(MASK, reset_after=False), GRU_BEFORE_SHAPES),
    "simple_rnn_sequence_tanh_masked": (_simple(MASK), SIMPLE_SHAPES),
    "simple_rnn_sequence_relu_backwards": (
        _simple(go_backwards=True, activation="relu"),
        [_RELU_X, (B, H), np.eye(H) * 0.5],
    ),
    # The BPTT primitives: (some inputs, the cotangent of the outputs)
    "lstm_sequence_grad_masked": (_vjp(_lstm(MASK2), 4, [0, 2, 3]), G_LSTM),
    "gru_sequence_grad": (_vjp(_gru(), 4, [0, 2, 3]), G_GRU),
    "gru_sequence_grad_reset_before": (_vjp(_gru(reset_after=False), 3, [0, 1, 2]), G_GRU_BEFORE),
    "simple_rnn_sequence_grad_masked": (_vjp(_simple(MASK2), 3, [0, 1, 2]), G_SIMPLE),
}
