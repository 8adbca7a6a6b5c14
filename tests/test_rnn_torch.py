"""PyTorch as the oracle: nn.RNN, nn.LSTM and nn.GRU with converted weights.

Outputs, final states, and the gradients with respect to the inputs, the
initial states and every weight agree to 1e-10 in float64 and 1e-4 (relative)
in float32, for several lengths and batch sizes, one and two directions.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert.layers.rnn import (
    GRU,
    LSTM,
    Bidirectional,
    SimpleRNN,
    load_torch_state_dict,
    torch_state_dict,
)

torch = pytest.importorskip("torch")

KINDS = {
    "rnn_tanh": (lambda i, h, bi: torch.nn.RNN(i, h, batch_first=True, bidirectional=bi), "tanh"),
    "rnn_relu": (
        lambda i, h, bi: torch.nn.RNN(
            i, h, batch_first=True, bidirectional=bi, nonlinearity="relu"
        ),
        "relu",
    ),
    "lstm": (lambda i, h, bi: torch.nn.LSTM(i, h, batch_first=True, bidirectional=bi), None),
    "gru": (lambda i, h, bi: torch.nn.GRU(i, h, batch_first=True, bidirectional=bi), None),
}


def _layer(kind, units, dtype, bidirectional):
    kw = {"return_sequences": True, "return_state": True, "dtype": dtype}
    if kind.startswith("rnn"):
        layer = SimpleRNN(units, activation=KINDS[kind][1], **kw)
    elif kind == "lstm":
        layer = LSTM(units, **kw)
    else:
        layer = GRU(units, **kw)
    return Bidirectional(layer) if bidirectional else layer


def _grads_in_torch_layout(kind, layer_like, features, grads):
    """Our weight gradients renamed and reordered as PyTorch's parameter gradients."""
    layer_like.build((None, None, features))
    layer_like.set_weights(grads)
    sd = torch_state_dict(layer_like)
    if kind != "gru":  # one bias here, two there: each gets the whole gradient
        for k in list(sd):
            if k.startswith("bias_hh"):
                sd[k] = sd[k.replace("bias_hh", "bias_ih")]
    return sd


def _compare(kind, bidirectional, batch, steps, features, units, dtype, rtol, atol):
    torch.manual_seed(batch * 100 + steps)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    module = KINDS[kind][0](features, units, bidirectional).to(tdtype)
    layer = _layer(kind, units, dtype, bidirectional)
    load_torch_state_dict(layer, module.state_dict())
    d = 2 if bidirectional else 1
    rng = np.random.default_rng(steps)
    x = rng.standard_normal((batch, steps, features)).astype(dtype)
    h0 = rng.standard_normal((d, batch, units)).astype(dtype)
    c0 = rng.standard_normal((d, batch, units)).astype(dtype)

    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    c0t = torch.tensor(c0, requires_grad=True)
    if kind == "lstm":
        out, (hn, cn) = module(xt, (h0t, c0t))
        theirs = [out, hn, cn]
    else:
        out, hn = module(xt, h0t)
        theirs = [out, hn]
    cots = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in theirs]
    sum((t * torch.tensor(c)).sum() for t, c in zip(theirs, cots)).backward()

    n_states = 2 if kind == "lstm" else 1
    xw = wg.constant(x)
    init = []
    for k in range(d):
        init += [wg.constant(h0[k])] + ([wg.constant(c0[k])] if kind == "lstm" else [])
    with wg.GradientTape() as tape:
        tape.watch([xw] + init)
        result = layer(xw, initial_state=init)
        states = result[1:]
        ours = [result[0]] + [
            wg.stack([states[k * n_states + j] for k in range(d)]) for j in range(n_states)
        ]
        loss = sum(wg.reduce_sum(o * wg.constant(c)) for o, c in zip(ours, cots))
    grads = tape.gradient(loss, [xw] + init + layer.trainable_weights)

    def close(a, b, what):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)

    for j, (o, t) in enumerate(zip(ours, theirs)):
        assert o.dtype == np.dtype(dtype)
        close(o.numpy(), t.detach().numpy(), f"output {j}")
    close(grads[0].numpy(), xt.grad.numpy(), "d inputs")
    for k in range(d):
        close(grads[1 + k * n_states].numpy(), h0t.grad.numpy()[k], f"d h0[{k}]")
        if kind == "lstm":
            close(grads[2 + k * n_states].numpy(), c0t.grad.numpy()[k], f"d c0[{k}]")
    weight_grads = [g.numpy() for g in grads[1 + len(init) :]]
    converted = _grads_in_torch_layout(
        kind, _layer(kind, units, dtype, bidirectional), features, weight_grads
    )
    for name, p in module.named_parameters():
        close(converted[name], p.grad.numpy(), f"d {name}")


SHAPES = [(1, 1, 3, 2), (3, 7, 4, 5), (8, 16, 5, 6)]  # batch, steps, features, units


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"b{s[0]}t{s[1]}" for s in SHAPES])
def test_float64_equals_torch(kind, bidirectional, shape):
    _compare(kind, bidirectional, *shape, "float64", rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_float32_equals_torch(kind, bidirectional):
    _compare(kind, bidirectional, 6, 12, 5, 8, "float32", rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", list(KINDS))
def test_state_dict_round_trip(kind):
    module = KINDS[kind][0](3, 4, True)
    layer = _layer(kind, 4, "float32", True)
    load_torch_state_dict(layer, module.state_dict())
    back = torch_state_dict(layer, as_tensors=True)
    fresh = KINDS[kind][0](3, 4, True)
    fresh.load_state_dict(back)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(fresh(x)[0], module(x)[0], rtol=1e-5, atol=1e-6)


def test_converter_errors_name_the_problem():
    module = torch.nn.LSTM(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"has 5 units \(4 gates\) but weight_hh_l0"):
        load_torch_state_dict(LSTM(5), module.state_dict())
    with pytest.raises(ValueError, match="reset_after=True"):
        load_torch_state_dict(
            GRU(4, reset_after=False), torch.nn.GRU(3, 4, batch_first=True).state_dict()
        )
    with pytest.raises(KeyError, match="weight_ih_l0_reverse"):
        load_torch_state_dict(Bidirectional(LSTM(4)), module.state_dict())
    with pytest.raises(TypeError, match="SimpleRNN, LSTM or GRU"):
        load_torch_state_dict(wg.layers.Dense(3), module.state_dict())
