"""The fused recurrences (wengert.rnn_ops): the same numbers as the step-by-step recording.

The gradient table (tests/gradient_rows_rnn.py) checks each fused primitive
numerically to second order; here the fused ops are compared with the unfused
recurrence (the cell recorded op by op) for values and first derivatives over
masks, directions, dtypes and shapes, and their argument checks are exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import rnn_ops

RNG = np.random.default_rng(2024)


def _cases():
    # (name, fused, unfused, shapes of (x, states..., weights...), gates, kwargs)
    lstm = (rnn_ops.lstm_sequence, rnn_ops.lstm_sequence_unfused)
    gru = (rnn_ops.gru_sequence, rnn_ops.gru_sequence_unfused)
    simple = (rnn_ops.simple_rnn_sequence, rnn_ops.simple_rnn_sequence_unfused)
    return [
        ("lstm", *lstm, lambda t, b, h: [(t, b, 4 * h), (b, h), (b, h), (h, 4 * h)], {}),
        ("gru", *gru, lambda t, b, h: [(t, b, 3 * h), (b, h), (h, 3 * h), (3 * h,)], {}),
        (
            "gru_reset_before",
            *gru,
            lambda t, b, h: [(t, b, 3 * h), (b, h), (h, 3 * h)],
            {"reset_after": False},
        ),
        ("simple_tanh", *simple, lambda t, b, h: [(t, b, h), (b, h), (h, h)], {}),
        (
            "simple_relu",
            *simple,
            lambda t, b, h: [(t, b, h), (b, h), (h, h)],
            {"activation": "relu"},
        ),
    ]


CASES = _cases()


def _run(fn, args, kwargs, cotangents):
    xs = [wg.constant(a) for a in args]
    with wg.GradientTape() as tape:
        tape.watch(xs)
        outs = fn(*xs, **kwargs)
        loss = sum(wg.reduce_sum(o * c) for o, c in zip(outs, cotangents))
    grads = tape.gradient(loss, xs)
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


@pytest.mark.parametrize("name, fused, unfused, shapes, kwargs", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("masked", [False, True], ids=["dense", "masked"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
def test_fused_equals_the_recorded_cell(name, fused, unfused, shapes, kwargs, masked, go_backwards):
    t, b, h = 7, 3, 4
    args = [RNG.standard_normal(s) * 0.7 for s in shapes(t, b, h)]
    mask = RNG.random((t, b)) > 0.3 if masked else None
    if masked:
        mask[:2, 0] = False  # a sequence whose first steps are padding
    kw = dict(kwargs, mask=mask, go_backwards=go_backwards)
    n_out = 3 if name == "lstm" else 2
    cot = [RNG.standard_normal((t, b, h))] + [RNG.standard_normal((b, h))] * (n_out - 1)
    outs_f, grads_f = _run(fused, args, kw, cot)
    outs_u, grads_u = _run(unfused, args, kw, cot)
    for a, e in zip(outs_f + grads_f, outs_u + grads_u):
        assert a.shape == e.shape and a.dtype == e.dtype
        np.testing.assert_allclose(a, e, rtol=1e-11, atol=1e-12)


def test_masked_steps_keep_the_state_and_get_no_gradient():
    t, b, h = 5, 2, 3
    x = wg.constant(RNG.standard_normal((t, b, 4 * h)))
    h0 = wg.constant(RNG.standard_normal((b, h)))
    c0 = wg.constant(RNG.standard_normal((b, h)))
    r = wg.constant(RNG.standard_normal((h, 4 * h)))
    mask = np.ones((t, b), bool)
    mask[0, 0] = mask[3, 0] = mask[4, 1] = False
    with wg.GradientTape() as tape:
        tape.watch(x)
        hs, hT, cT = rnn_ops.lstm_sequence(x, h0, c0, r, mask=mask)
        loss = wg.reduce_sum(hs) + wg.reduce_sum(hT * cT)
    g = tape.gradient(loss, x).numpy()
    hs = hs.numpy()
    # A masked first step outputs (and keeps) the initial state.
    np.testing.assert_array_equal(hs[0, 0], h0.numpy()[0])
    np.testing.assert_array_equal(hs[3, 0], hs[2, 0])
    np.testing.assert_array_equal(hT.numpy()[1], hs[3, 1])
    for step, row in ((0, 0), (3, 0), (4, 1)):
        assert not np.any(g[step, row])
    assert np.all(g[1, 0] != 0)


def test_float32_in_float32_out_and_close_to_float64():
    t, b, h = 6, 2, 3
    args64 = [RNG.standard_normal(s) for s in [(t, b, 4 * h), (b, h), (b, h), (h, 4 * h)]]
    args32 = [a.astype(np.float32) for a in args64]
    cot = [np.ones((t, b, h)), np.ones((b, h)), np.ones((b, h))]
    o32, g32 = _run(rnn_ops.lstm_sequence, args32, {}, [c.astype(np.float32) for c in cot])
    o64, g64 = _run(rnn_ops.lstm_sequence, args64, {}, cot)
    for a, e in zip(o32 + g32, o64 + g64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5)


def test_one_record_on_the_tape_and_a_persistent_tape_repeats_exactly():
    x = wg.constant(RNG.standard_normal((20, 2, 12)))
    h0 = wg.zeros((2, 3), dtype="float64")
    r = wg.Variable(RNG.standard_normal((3, 12)))
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        hs, h, c = rnn_ops.lstm_sequence(x, h0, h0, r)
    assert [rec.op for rec in tape] == ["lstm_sequence"]
    g1 = tape.gradient(hs, [x, r])
    g2 = tape.gradient(hs, [x, r])
    for a, b in zip(g1, g2):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_only_the_final_state_used():
    """An unused output gets no cotangent work (the tape's zeros are skipped)."""
    x = wg.constant(RNG.standard_normal((4, 2, 6)))
    h0 = wg.constant(RNG.standard_normal((2, 2)))
    r = wg.constant(RNG.standard_normal((2, 6)))
    for fn in (rnn_ops.gru_sequence, rnn_ops.gru_sequence_unfused):
        with wg.GradientTape() as tape:
            tape.watch([x, h0, r])
            _, h = fn(x, h0, r)
        g = tape.gradient(h, [x, h0, r])
        if fn is rnn_ops.gru_sequence:
            fused = [a.numpy() for a in g]
        else:
            for a, e in zip(fused, g):
                np.testing.assert_allclose(a, e.numpy(), rtol=1e-12, atol=1e-14)


def test_forward_mode_matches_reverse_mode():
    x = wg.constant(RNG.standard_normal((3, 2, 8)))
    h0 = wg.constant(RNG.standard_normal((2, 2)))
    c0 = wg.constant(RNG.standard_normal((2, 2)))
    r = wg.constant(RNG.standard_normal((2, 8)))
    dx = wg.constant(RNG.standard_normal(x.shape))
    with wg.ForwardAccumulator(x, dx) as acc:
        hs, _, _ = rnn_ops.lstm_sequence(x, h0, c0, r, mask=[[1, 1], [0, 1], [1, 1]])
    jvp = acc.jvp(hs).numpy()
    u = RNG.standard_normal(hs.shape)
    with wg.GradientTape() as tape:
        tape.watch(x)
        hs, _, _ = rnn_ops.lstm_sequence(x, h0, c0, r, mask=[[1, 1], [0, 1], [1, 1]])
    vjp = tape.gradient(hs, x, output_gradients=wg.constant(u)).numpy()
    assert np.isclose(np.sum(u * jvp), np.sum(vjp * dx.numpy()), rtol=1e-12)


def test_empty_sequence_returns_the_initial_state():
    h0 = wg.constant(RNG.standard_normal((2, 3)))
    hs, h = rnn_ops.simple_rnn_sequence(np.zeros((0, 2, 3)), h0, np.eye(3))
    assert hs.shape == (0, 2, 3)
    np.testing.assert_array_equal(h.numpy(), h0.numpy())


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: rnn_ops.lstm_sequence(np.zeros((5, 2, 8)), np.zeros((2, 2)), np.zeros((2, 2))),
            "missing",
        ),
        (
            lambda: rnn_ops.lstm_sequence(
                np.zeros((5, 8)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 8))
            ),
            r"lstm_sequence: x_proj must be \(time, batch, 4 \* units\), got shape \(5, 8\)",
        ),
        (
            lambda: rnn_ops.lstm_sequence(
                np.zeros((5, 2, 12)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 8))
            ),
            r"x_proj has 12 features per step but recurrent_kernel \(2, 8\) needs 4 \* 2 = 8",
        ),
        (
            lambda: rnn_ops.lstm_sequence(
                np.zeros((5, 2, 8)), np.zeros((3, 2)), np.zeros((2, 2)), np.zeros((2, 8))
            ),
            r"h0 must be \(batch, units\) = \(2, 2\), got shape \(3, 2\)",
        ),
        (
            lambda: rnn_ops.gru_sequence(
                np.zeros((5, 2, 6)), np.zeros((2, 2)), np.zeros((2, 6)), mask=np.ones((2, 5))
            ),
            r"gru_sequence: mask must be \(time, batch\) = \(5, 2\), got shape \(2, 5\)",
        ),
        (
            lambda: rnn_ops.gru_sequence(
                np.zeros((5, 2, 6)), np.zeros((2, 2)), np.zeros((2, 6)), np.zeros(5)
            ),
            r"recurrent_bias must be \(6,\), got shape \(5,\)",
        ),
        (
            lambda: rnn_ops.gru_sequence(
                np.zeros((5, 2, 6)),
                np.zeros((2, 2)),
                np.zeros((2, 6)),
                np.zeros(6),
                reset_after=False,
            ),
            "recurrent_bias applies only with reset_after=True",
        ),
        (
            lambda: rnn_ops.simple_rnn_sequence(
                np.zeros((5, 2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), activation="elu"
            ),
            "activation must be one of",
        ),
    ],
)
def test_bad_arguments_name_the_op_and_the_shapes(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match="h0 has dtype float32 but x_proj has float64"):
        rnn_ops.simple_rnn_sequence(
            wg.zeros((2, 1, 2), "float64"), wg.zeros((1, 2)), wg.eye(2, dtype="float64")
        )
    with pytest.raises(TypeError, match="floating-point"):
        rnn_ops.simple_rnn_sequence(np.zeros((2, 1, 2), np.int32), np.zeros((1, 2)), np.eye(2))
