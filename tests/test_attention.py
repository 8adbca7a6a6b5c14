"""Attention layers: MultiHeadAttention against PyTorch's nn.MultiheadAttention (values,
attention weights and every gradient, with converted weights), Attention and
AdditiveAttention against their NumPy formulas and torch's scaled_dot_product_attention,
Keras's mask semantics, models (functional, Sequential, save/load), errors, and a tiny
transformer block that learns.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
from wengert.layers.attention import (
    AdditiveAttention,
    Attention,
    MultiHeadAttention,
    load_torch_state_dict,
    torch_state_dict,
)
from wengert.layers.base import get_mask

torch = pytest.importorskip("torch")


# -- NumPy references -------------------------------------------------------------------------
def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _reference_mha(layer, q, v, k=None, allowed=None):
    """Keras's MultiHeadAttention in NumPy: allowed (batch|1, heads|1, T, S) or None."""
    k = v if k is None else k
    w = layer.get_weights()
    if layer.use_bias:
        qk, qb, kk, kb, vk, vb, ok, ob = w
    else:
        (qk, kk, vk, ok), qb = w, kb = vb = ob = 0.0
    qp = np.einsum("btd,dnh->btnh", q, qk) + qb
    kp = np.einsum("bsd,dnh->bsnh", k, kk) + kb
    vp = np.einsum("bsd,dnh->bsnh", v, vk) + vb
    scores = np.einsum("btnh,bsnh->bnts", qp / math.sqrt(layer.key_dim), kp)
    if allowed is not None:
        scores = scores + (1.0 - allowed) * -1e9
    probs = _softmax(scores)
    out = np.einsum("bnts,bsnh->btnh", probs, vp)
    return np.einsum("btnh,nho->bto", out, ok) + ob, probs


def _reference_attention(q, v, k=None, scale=None, q_mask=None, v_mask=None, causal=False):
    k = v if k is None else k
    scores = q @ np.swapaxes(k, -1, -2)
    if scale is not None:
        scores = scores * scale
    allowed = np.ones(scores.shape, bool)
    if v_mask is not None:
        allowed &= v_mask[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[-2:], bool))
    weights = _softmax(scores - 1e9 * ~allowed)
    out = weights @ v
    if q_mask is not None:
        out = out * q_mask[:, :, None]
    return out, weights


def _reference_additive(q, v, k=None, scale=None, q_mask=None, v_mask=None):
    k = v if k is None else k
    pairs = np.tanh(q[:, :, None, :] + k[:, None, :, :])
    scores = (pairs * (1.0 if scale is None else scale)).sum(-1)
    if v_mask is not None:
        scores = scores - 1e9 * ~v_mask[:, None, :]
    weights = _softmax(scores)
    out = weights @ v
    if q_mask is not None:
        out = out * q_mask[:, :, None]
    return out, weights


# -- MultiHeadAttention against PyTorch --------------------------------------------------------
# name: (batch, T, S, embed_dim, heads, kdim, vdim, key padding, causal, bias, 3-D attn_mask)
CASES = {
    "self": (2, 5, 5, 8, 2, None, None, False, False, True, False),
    "self_padded": (3, 6, 6, 12, 3, None, None, True, False, True, False),
    "causal": (2, 7, 7, 8, 4, None, None, False, True, True, False),
    "causal_padded": (3, 6, 6, 8, 2, None, None, True, True, True, False),
    "cross_kv_dims": (2, 4, 9, 12, 3, 5, 7, True, False, True, False),
    "cross_causal": (2, 6, 9, 8, 2, None, None, False, True, True, False),
    "no_bias": (2, 5, 6, 8, 2, None, None, True, False, False, False),
    "attention_mask": (2, 5, 6, 8, 2, None, None, False, False, True, True),
}


def _compare_with_torch(case, dtype, rtol, atol):
    b, t, s, e, n, kdim, vdim, padded, causal, bias, mask3d = CASES[case]
    torch.manual_seed(t * 10 + s)
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    module = torch.nn.MultiheadAttention(
        e, n, bias=bias, kdim=kdim, vdim=vdim, batch_first=True
    ).to(tdtype)
    layer = MultiHeadAttention(n, e // n, use_bias=bias, dtype=dtype)
    load_torch_state_dict(layer, module.state_dict())
    rng = np.random.default_rng(t + s)
    q = rng.standard_normal((b, t, e)).astype(dtype)
    k = rng.standard_normal((b, s, kdim or e)).astype(dtype)
    v = rng.standard_normal((b, s, vdim or e)).astype(dtype)

    # PyTorch's masks say where NOT to attend; Keras's where to attend.
    key_padding = None
    if padded:
        lengths = rng.integers(2, s + 1, size=b)
        lengths[0] = s
        key_padding = np.arange(s)[None, :] >= lengths[:, None]
    attn_mask = None
    if causal:
        attn_mask = np.triu(np.ones((t, s), bool), k=1)
    kwargs = {}
    if mask3d:
        allowed = rng.random((b, t, s)) < 0.6
        allowed[..., 0] = True  # every query sees something: PyTorch would give NaN
        attn_mask = np.repeat(~allowed, n, axis=0)  # (batch * heads, T, S)
        kwargs["attention_mask"] = allowed

    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t, weights_t = module(
        qt,
        kt,
        vt,
        key_padding_mask=None if key_padding is None else torch.tensor(key_padding),
        attn_mask=None if attn_mask is None else torch.tensor(attn_mask),
        need_weights=True,
        average_attn_weights=False,
    )
    cot_out = rng.standard_normal(out_t.shape).astype(dtype)
    cot_w = rng.standard_normal(weights_t.shape).astype(dtype)
    ((out_t * torch.tensor(cot_out)).sum() + (weights_t * torch.tensor(cot_w)).sum()).backward()

    qw, kw, vw = (wg.constant(a) for a in (q, k, v))
    with wg.GradientTape() as tape:
        tape.watch([qw, kw, vw])
        out, weights = layer(
            qw,
            vw,
            key=kw,
            value_mask=None if key_padding is None else ~key_padding,
            use_causal_mask=causal,
            return_attention_scores=True,
            **kwargs,
        )
        loss = wg.reduce_sum(out * wg.constant(cot_out)) + wg.reduce_sum(
            weights * wg.constant(cot_w)
        )
    grads = tape.gradient(loss, [qw, kw, vw] + layer.trainable_weights)

    def close(ours, theirs, what):
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)

    assert out.dtype == np.dtype(dtype) and weights.dtype == np.dtype(dtype)
    close(out.numpy(), out_t.detach().numpy(), "output")
    close(weights.numpy(), weights_t.detach().numpy(), "attention weights")
    for g, x, name in zip(grads[:3], (qt, kt, vt), ("query", "key", "value")):
        close(g.numpy(), x.grad.numpy(), f"d {name}")
    # The weight gradients, written in PyTorch's layout by the converter itself.
    layout = MultiHeadAttention(n, e // n, use_bias=bias, dtype=dtype)
    layout.build(q.shape, v.shape, k.shape)
    layout.set_weights([g.numpy() for g in grads[3:]])
    converted = torch_state_dict(layout)
    params = dict(module.named_parameters())
    assert sorted(converted) == sorted(params)
    for name, p in params.items():
        close(converted[name], p.grad.numpy(), f"d {name}")


@pytest.mark.parametrize("case", list(CASES))
def test_mha_float64_equals_torch(case):
    _compare_with_torch(case, "float64", rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", ["self_padded", "causal_padded", "cross_kv_dims"])
def test_mha_float32_equals_torch(case):
    _compare_with_torch(case, "float32", rtol=1e-4, atol=1e-5)


def test_state_dict_round_trips_through_torch():
    for kdim in (None, 5):
        module = torch.nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim, batch_first=True)
        layer = MultiHeadAttention(2, 4)
        load_torch_state_dict(layer, module.state_dict())
        fresh = torch.nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim, batch_first=True)
        fresh.load_state_dict(torch_state_dict(layer, as_tensors=True))
        q, kv = torch.randn(2, 3, 8), torch.randn(2, 4, kdim or 8)
        torch.testing.assert_close(fresh(q, kv, kv)[0], module(q, kv, kv)[0])


def test_converters_name_what_does_not_fit():
    sd = torch.nn.MultiheadAttention(8, 2, batch_first=True).state_dict()
    with pytest.raises(ValueError, match=r"num_heads \* key_dim = 2 \* 3 != embed_dim 8"):
        load_torch_state_dict(MultiHeadAttention(2, 3), sd)
    with pytest.raises(ValueError, match="value_dim 2 != key_dim 4"):
        load_torch_state_dict(MultiHeadAttention(2, 4, value_dim=2), sd)
    with pytest.raises(ValueError, match="use_bias=False but the state dict has biases"):
        load_torch_state_dict(MultiHeadAttention(2, 4, use_bias=False), sd)
    with pytest.raises(ValueError, match="add_bias_kv"):
        state = torch.nn.MultiheadAttention(8, 2, add_bias_kv=True).state_dict()
        load_torch_state_dict(MultiHeadAttention(2, 4), state)
    with pytest.raises(KeyError, match="in_proj_weight"):
        load_torch_state_dict(MultiHeadAttention(2, 4), {"out_proj.weight": np.eye(8)})
    with pytest.raises(TypeError, match="expected a MultiHeadAttention, got Dense"):
        load_torch_state_dict(wg.layers.Dense(2), sd)
    with pytest.raises(ValueError, match="'unbuilt' is not built"):
        torch_state_dict(MultiHeadAttention(2, 4, name="unbuilt"))
    wide = MultiHeadAttention(2, 4, output_shape=6)
    wide(wg.ones((1, 2, 8)), wg.ones((1, 2, 8)))
    with pytest.raises(ValueError, match=r"output_shape \(6,\) != \(8,\)"):
        torch_state_dict(wide)


# -- MultiHeadAttention: Keras's layout and semantics ------------------------------------------
def test_weights_in_keras_layout_and_order():
    mha = MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5, output_shape=7)
    mha(wg.ones((2, 6, 8)), wg.ones((2, 9, 10)), key=wg.ones((2, 9, 11)))
    assert [(w.name, w.shape) for w in mha.weights] == [
        ("query/kernel", (8, 3, 4)),
        ("query/bias", (3, 4)),
        ("key/kernel", (11, 3, 4)),
        ("key/bias", (3, 4)),
        ("value/kernel", (10, 3, 5)),
        ("value/bias", (3, 5)),
        ("attention_output/kernel", (3, 5, 7)),
        ("attention_output/bias", (7,)),
    ]
    # Each projection gets its own copy of the initializer: the kernels differ.
    same = MultiHeadAttention(2, 4)
    same(wg.ones((1, 2, 8)), wg.ones((1, 2, 8)))
    q, k, v = (d.kernel.numpy() for d in (same.query_dense, same.key_dense, same.value_dense))
    assert not np.allclose(q, k) and not np.allclose(k, v)
    assert MultiHeadAttention(2, 4, use_bias=False).count_params() == 0
    nobias = MultiHeadAttention(2, 4, use_bias=False)
    nobias(wg.ones((1, 2, 8)), wg.ones((1, 2, 8)))
    assert [w.name for w in nobias.weights] == [
        "query/kernel",
        "key/kernel",
        "value/kernel",
        "attention_output/kernel",
    ]


@pytest.mark.parametrize("output_shape", [None, 6, (2, 3)])
def test_matches_the_numpy_formula(output_shape):
    rng = np.random.default_rng(0)
    mha = MultiHeadAttention(2, 3, value_dim=4, output_shape=output_shape, dtype="float64")
    q, v, k = (rng.standard_normal(s) for s in ((2, 4, 5), (2, 6, 7), (2, 6, 3)))
    out, scores = mha(q, v, key=k, return_attention_scores=True)
    weights = mha.get_weights()
    flat = weights[:6] + [weights[6].reshape(2, 4, -1), weights[7].reshape(-1)]
    ref, ref_scores = _reference_mha(_Fixed(mha, flat), q, v, k)
    ref = ref.reshape(out.shape)
    assert out.shape == mha.compute_output_shape(q.shape, v.shape, k.shape)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(scores.numpy(), ref_scores, atol=1e-12)


class _Fixed:
    """A stand-in layer with given weights, for the NumPy reference."""

    def __init__(self, layer, weights):
        self.key_dim, self.use_bias, self._weights = layer.key_dim, layer.use_bias, weights

    def get_weights(self):
        return self._weights


def test_masks_combine_as_keras_does():
    rng = np.random.default_rng(1)
    mha = MultiHeadAttention(2, 3, dtype="float64")
    b, t, s = 3, 5, 5
    q, v, k = (rng.standard_normal((b, n, 6)) for n in (t, s, s))
    q_mask = rng.random((b, t)) < 0.7
    v_mask = rng.random((b, s)) < 0.7
    k_mask = rng.random((b, s)) < 0.8
    v_mask[:, 0] = k_mask[:, 0] = True
    attn = rng.random((b, t, s)) < 0.8
    out, scores = mha(
        q,
        v,
        key=k,
        query_mask=q_mask,
        value_mask=v_mask,
        key_mask=k_mask,
        attention_mask=attn,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    allowed = (
        q_mask[:, :, None]
        & v_mask[:, None, :]
        & k_mask[:, None, :]
        & attn
        & np.tril(np.ones((t, s), bool))
    )
    ref, ref_scores = _reference_mha(mha, q, v, k, allowed[:, None].astype(float))
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(scores.numpy(), ref_scores, atol=1e-12)
    # A position that may not be attended to gets no weight; a row with nothing to
    # attend to stays finite (a large negative number, not -inf).
    assert np.all(
        scores.numpy()[
            np.broadcast_to(~allowed[:, None], scores.shape) & allowed.any(-1)[:, None, :, None]
        ]
        == 0
    )
    assert np.isfinite(scores.numpy()).all()
    np.testing.assert_allclose(scores.numpy().sum(-1), 1.0)
    np.testing.assert_array_equal(get_mask(out), q_mask)


def test_attention_mask_broadcasts_over_batch_and_heads():
    rng = np.random.default_rng(2)
    mha = MultiHeadAttention(2, 2, dtype="float64")
    x = rng.standard_normal((3, 4, 4))
    allowed = rng.random((4, 4)) < 0.6
    allowed[:, 0] = True
    want = mha(x, x, attention_mask=np.broadcast_to(allowed, (3, 4, 4))).numpy()
    np.testing.assert_allclose(mha(x, x, attention_mask=allowed).numpy(), want)
    per_head = np.broadcast_to(allowed, (3, 2, 4, 4))
    np.testing.assert_allclose(mha(x, x, attention_mask=per_head).numpy(), want)
    np.testing.assert_allclose(mha(x, x, attention_mask=allowed.astype("int32")).numpy(), want)


def test_padding_masks_come_from_the_inputs():
    emb = wg.layers.Embedding(10, 6, mask_zero=True)
    mha = MultiHeadAttention(2, 3)
    tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0]])
    source = np.array([[7, 8, 0], [9, 0, 0]])
    x, y = emb(tokens), emb(source)
    out, scores = mha(x, y, return_attention_scores=True)
    explicit, explicit_scores = mha(
        x.numpy(),
        y.numpy(),
        query_mask=tokens != 0,
        value_mask=source != 0,
        return_attention_scores=True,
    )
    np.testing.assert_array_equal(out.numpy(), explicit.numpy())
    np.testing.assert_array_equal(scores.numpy(), explicit_scores.numpy())
    np.testing.assert_array_equal(get_mask(out), tokens != 0)
    # the padded source steps get no attention from real query steps
    real = scores.numpy()[0, :, :3]
    assert np.all(real[:, :, 2] == 0) and np.allclose(real.sum(-1), 1)
    # An explicit mask wins over the one the input carries.
    np.testing.assert_array_equal(get_mask(mha(x, y, query_mask=np.ones((2, 5), bool))), 1)


def test_higher_rank_inputs_attend_over_all_inner_axes_jointly():
    rng = np.random.default_rng(3)
    mha = MultiHeadAttention(2, 3, dtype="float64")
    q, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 2, 3, 5))
    out, scores = mha(q, v, return_attention_scores=True)
    assert out.shape == (2, 3, 4, 5) and scores.shape == (2, 2, 3, 4, 2, 3)
    ref, ref_scores = _reference_mha(mha, q.reshape(2, 12, 5), v.reshape(2, 6, 5))
    np.testing.assert_allclose(out.numpy().reshape(2, 12, 5), ref, atol=1e-12)
    np.testing.assert_allclose(scores.numpy().reshape(2, 2, 12, 6), ref_scores, atol=1e-12)
    q_mask = rng.random((2, 3, 4)) < 0.5
    assert get_mask(mha(q, v, query_mask=q_mask)).shape == (2, 3, 4)
    assert MultiHeadAttention(2, 3, attention_axes=(1, 2))(q, v).shape == (2, 3, 4, 5)


def test_only_the_default_attention_axes_are_supported():
    x = wg.ones((2, 3, 4))
    assert MultiHeadAttention(2, 2, attention_axes=1)(x, x).shape == (2, 3, 4)
    assert MultiHeadAttention(2, 2, attention_axes=[-2])(x, x).shape == (2, 3, 4)
    with pytest.raises(NotImplementedError, match=r"attention_axes=\(2,\) for rank-4 inputs"):
        MultiHeadAttention(2, 2, attention_axes=2, name="axes")(
            wg.ones((2, 3, 4, 5)), wg.ones((2, 3, 4, 5))
        )
    with pytest.raises(ValueError, match="attention_axes must be an int, list or tuple"):
        MultiHeadAttention(2, 2, attention_axes="time")


def test_dropout_only_while_training_and_reproducible():
    x = np.random.default_rng(4).standard_normal((2, 5, 8)).astype("float32")
    mha = MultiHeadAttention(2, 4, dropout=0.5, seed=7)
    plain, plain_scores = mha(x, x, return_attention_scores=True)
    np.testing.assert_array_equal(mha(x, x, training=False).numpy(), plain.numpy())
    dropped, scores = mha(x, x, training=True, return_attention_scores=True)
    assert not np.allclose(dropped.numpy(), plain.numpy())
    # The returned scores are the probabilities before dropout, as Keras returns them.
    np.testing.assert_allclose(scores.numpy(), plain_scores.numpy(), rtol=1e-6)
    again = MultiHeadAttention(2, 4, dropout=0.5, seed=7)
    again(x, x)
    again.set_weights(mha.get_weights())
    twin = MultiHeadAttention(2, 4, dropout=0.5, seed=7)
    twin(x, x)
    twin.set_weights(mha.get_weights())
    np.testing.assert_array_equal(
        again(x, x, training=True).numpy(), twin(x, x, training=True).numpy()
    )


def test_regularizers_constraints_and_config_round_trip():
    mha = MultiHeadAttention(
        2,
        3,
        value_dim=5,
        dropout=0.1,
        output_shape=(4,),
        kernel_initializer="he_normal",
        kernel_regularizer="l2",
        bias_regularizer="l1",
        kernel_constraint="non_neg",
        seed=3,
        name="attend",
    )
    x = np.random.default_rng(5).standard_normal((2, 3, 6)).astype("float32")
    out = mha(x, x)
    assert len(mha.losses) == 8
    assert all(type(w.constraint).__name__ == "NonNeg" for w in mha.weights if "kernel" in w.name)
    config = mha.get_config()
    assert {
        k: config[k] for k in ("num_heads", "key_dim", "value_dim", "output_shape", "seed")
    } == {
        "num_heads": 2,
        "key_dim": 3,
        "value_dim": 5,
        "output_shape": [4],
        "seed": 3,
    }
    assert config["kernel_regularizer"] is not None and config["kernel_constraint"] is not None
    clone = MultiHeadAttention.from_config(config)
    assert clone.get_config() == config
    clone(x, x)
    clone.set_weights(mha.get_weights())
    np.testing.assert_array_equal(clone(x, x).numpy(), out.numpy())


def test_mismatched_inputs_are_named():
    mha = MultiHeadAttention(2, 3, name="att")
    x = wg.ones((2, 4, 6))
    with pytest.raises(ValueError, match=r"'att': call it as layer\(query, value\)"):
        mha(x)
    with pytest.raises(
        ValueError, match=r"'att': the batch sizes differ: query \(2, 4, 6\), value \(3, 4, 6\)"
    ):
        mha(x, wg.ones((3, 4, 6)))
    with pytest.raises(ValueError, match=r"'att': all axes of value and key but the last"):
        mha(x, wg.ones((2, 4, 6)), key=wg.ones((2, 5, 6)))
    with pytest.raises(ValueError, match=r"'att': query, value and key must have one rank >= 3"):
        mha(wg.ones((2, 6)), wg.ones((2, 6)))
    mha(x, x)
    with pytest.raises(ValueError, match=r"'att': it was built for value features of size 6"):
        mha(x, wg.ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"'att': value_mask must have shape \(2, 4\)"):
        mha(x, x, value_mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=r"'att': attention_mask must have shape \(batch, T, S\)"):
        mha(x, x, attention_mask=np.ones((2, 4, 3), bool))
    with pytest.raises(ValueError, match=r"'att': attention_mask of shape \(3, 4, 4\) does not"):
        mha(x, x, attention_mask=np.ones((3, 4, 4), bool))
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        MultiHeadAttention(0, 3)


# -- Attention and AdditiveAttention ---------------------------------------------------------
def _attention_inputs(seed, with_key=False):
    rng = np.random.default_rng(seed)
    q, v = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 6, 2 if with_key else 5))
    k = rng.standard_normal((3, 6, 5)) if with_key else None
    q_mask = rng.random((3, 4)) < 0.7
    v_mask = rng.random((3, 6)) < 0.7
    v_mask[:, 0] = True
    return q, v, k, q_mask, v_mask


@pytest.mark.parametrize("use_scale", [False, True])
@pytest.mark.parametrize("with_key", [False, True])
def test_dot_attention_matches_formula(use_scale, with_key):
    q, v, k, q_mask, v_mask = _attention_inputs(6, with_key)
    layer = Attention(use_scale=use_scale, dtype="float64")
    inputs = [q, v] + ([k] if with_key else [])
    layer(inputs)
    if use_scale:
        layer.scale.assign(0.7)
    out, weights = layer(inputs, mask=[q_mask, v_mask], return_attention_scores=True)
    ref, ref_w = _reference_attention(q, v, k, 0.7 if use_scale else None, q_mask, v_mask)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), ref_w, atol=1e-12)
    np.testing.assert_array_equal(get_mask(out), q_mask)
    causal, causal_w = layer([q, q], use_causal_mask=True, return_attention_scores=True)
    ref, ref_w = _reference_attention(q, q, None, 0.7 if use_scale else None, causal=True)
    np.testing.assert_allclose(causal.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(causal_w.numpy(), ref_w, atol=1e-12)


def test_dot_attention_equals_torch_sdpa_with_gradients():
    q, v, _, _, v_mask = _attention_inputs(7)
    layer = Attention(use_scale=True, dtype="float64")
    layer([q, v])
    layer.scale.assign(0.5)
    qt, vt = (torch.tensor(a, requires_grad=True) for a in (q, v))
    theirs = torch.nn.functional.scaled_dot_product_attention(
        qt, vt, vt, attn_mask=torch.tensor(v_mask[:, None, :]), scale=0.5
    )
    cot = np.random.default_rng(8).standard_normal(theirs.shape)
    (theirs * torch.tensor(cot)).sum().backward()
    qw, vw = wg.constant(q), wg.constant(v)
    with wg.GradientTape() as tape:
        tape.watch([qw, vw])
        ours = layer([qw, vw], mask=[None, v_mask])
        loss = wg.reduce_sum(ours * wg.constant(cot))
    dq, dv = tape.gradient(loss, [qw, vw])
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dq.numpy(), qt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dv.numpy(), vt.grad.numpy(), rtol=1e-10, atol=1e-12)
    causal_t = torch.nn.functional.scaled_dot_product_attention(
        qt, qt, qt, is_causal=True, scale=1.0
    )
    causal = Attention(dtype="float64")([q, q], use_causal_mask=True)
    np.testing.assert_allclose(causal.numpy(), causal_t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_concat_score_mode_matches_formula():
    q, v, _, q_mask, v_mask = _attention_inputs(9)
    layer = Attention(use_scale=True, score_mode="concat", dtype="float64")
    layer([q, v])
    layer.scale.assign(0.8)
    layer.concat_score_weight.assign(1.5)
    out = layer([q, v], mask=[q_mask, v_mask])
    scores = 1.5 * np.tanh(0.8 * (q[:, :, None] + v[:, None])).sum(-1) - 1e9 * ~v_mask[:, None]
    ref = (_softmax(scores) @ v) * q_mask[:, :, None]
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["scale", "concat_score_weight"]


@pytest.mark.parametrize("use_scale", [True, False])
def test_additive_attention_matches_formula(use_scale):
    q, v, k, q_mask, v_mask = _attention_inputs(10, with_key=True)
    layer = AdditiveAttention(use_scale=use_scale, dtype="float64")
    out, weights = layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True)
    scale = layer.scale.numpy() if use_scale else None
    assert (scale.shape == (5,)) if use_scale else layer.weights == []
    ref, ref_w = _reference_additive(q, v, k, scale, q_mask, v_mask)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), ref_w, atol=1e-12)


def test_attention_masks_come_from_the_inputs_and_gradients_flow():
    emb = wg.layers.Embedding(10, 4, mask_zero=True)
    tokens = np.array([[1, 2, 0], [3, 0, 0]])
    for layer in (Attention(), AdditiveAttention()):
        with wg.GradientTape() as tape:
            x = emb(tokens)
            out = layer([x, x])
            loss = wg.reduce_sum(out * out)
        np.testing.assert_array_equal(get_mask(out), tokens != 0)
        assert np.all(out.numpy()[tokens == 0] == 0)  # zero where the query is padding
        explicit = layer([x.numpy(), x.numpy()], mask=[tokens != 0, tokens != 0])
        np.testing.assert_array_equal(out.numpy(), explicit.numpy())
        grads = tape.gradient(loss, emb.trainable_weights + layer.trainable_weights)
        assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)


def test_attention_dropout_config_and_errors():
    q = np.random.default_rng(11).standard_normal((2, 3, 4)).astype("float32")
    layer = Attention(dropout=0.5, seed=1, name="luong")
    plain = layer([q, q]).numpy()
    dropped, weights = layer([q, q], training=True, return_attention_scores=True)
    assert not np.allclose(dropped.numpy(), plain)
    assert set(np.unique(weights.numpy() == 0)) == {True, False}  # Keras returns them dropped
    config = layer.get_config()
    assert {k: config[k] for k in ("use_scale", "score_mode", "dropout", "seed")} == {
        "use_scale": False,
        "score_mode": "dot",
        "dropout": 0.5,
        "seed": 1,
    }
    assert Attention.from_config(config).get_config() == config
    additive = AdditiveAttention(dropout=0.25).get_config()
    assert "score_mode" not in additive and additive["use_scale"] is True
    assert AdditiveAttention.from_config(additive).get_config() == additive
    assert Attention().compute_output_shape([(None, 3, 4), (None, 5, 6)]) == (None, 3, 6)

    x = wg.ones((2, 3, 4))
    with pytest.raises(ValueError, match=r"'luong': call it on a list \[query, value\]"):
        layer(x)
    with pytest.raises(ValueError, match="of length 4"):
        layer([x, x, x, x])
    with pytest.raises(
        ValueError, match=r"'luong': query and key need the same number of features"
    ):
        layer([x, wg.ones((2, 5, 3))])
    with pytest.raises(ValueError, match=r"'luong': key and value need the same number of steps"):
        layer([x, x, wg.ones((2, 5, 4))])
    with pytest.raises(ValueError, match=r"'luong': the batch sizes differ"):
        layer([x, wg.ones((3, 3, 4))])
    with pytest.raises(ValueError, match=r"'luong': the value mask must have shape \(2, 3\)"):
        layer([x, x], mask=[None, np.ones((2, 4), bool)])
    with pytest.raises(ValueError, match=r"mask must be a list \[query_mask, value_mask\]"):
        layer([x, x], mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="score_mode must be 'dot' or 'concat'"):
        Attention(score_mode="general")


# -- models ------------------------------------------------------------------------------------
def _functional_model():
    tokens = wg.Input((None,), dtype="int32")
    source = wg.Input((None,), dtype="int32")
    x = wg.layers.Embedding(12, 8, mask_zero=True)(tokens)
    y = wg.layers.Embedding(12, 8, mask_zero=True)(source)
    attended, scores = MultiHeadAttention(2, 4, seed=1)(
        x, y, use_causal_mask=False, return_attention_scores=True
    )
    selfish = MultiHeadAttention(2, 4, dropout=0.1, seed=2)(
        attended, attended, use_causal_mask=True
    )
    luong = Attention(use_scale=True)([selfish, y])
    bahdanau = AdditiveAttention()([luong, y, y])
    pooled = wg.layers.GlobalAveragePooling1D()(bahdanau)
    return wg.Model([tokens, source], [wg.layers.Dense(3)(pooled), scores])


def test_functional_model_masks_save_and_load(tmp_path):
    model = _functional_model()
    tokens = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    source = np.array([[6, 7, 8, 9, 0], [10, 0, 0, 0, 0]])
    out, scores = model([tokens, source])
    assert out.shape == (2, 3) and scores.shape == (2, 2, 4, 5)
    assert np.all(scores.numpy()[1, :, :2, 1:] == 0)  # padded source steps get no weight
    # The masks flowed from the embeddings: more padding changes nothing.
    longer = [np.pad(a, ((0, 0), (0, 3))) for a in (tokens, source)]
    np.testing.assert_allclose(model(longer)[0].numpy(), out.numpy(), rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "attention.npz")
    trainer = wg.Model(model.inputs, model.outputs[0])  # the same layers, one output
    trainer.compile("adam", "mse")
    trainer.fit([tokens, source], np.ones((2, 3), "float32"), epochs=2, verbose=0)
    assert not np.allclose(model([tokens, source])[0].numpy(), out.numpy())
    out, scores = model([tokens, source])
    model.save(path)
    loaded = wg.models.load_model(path)
    again, again_scores = loaded([tokens, source])
    np.testing.assert_array_equal(again.numpy(), out.numpy())
    np.testing.assert_array_equal(again_scores.numpy(), scores.numpy())
    names = [type(layer).__name__ for layer in loaded.layers]
    assert names.count("MultiHeadAttention") == 2 and "AdditiveAttention" in names


class SelfAttentionBlock(wg.layers.Layer):
    """A transformer-style block for a Sequential: x + MHA(x, x), then a Dense."""

    supports_masking = True

    def __init__(self, num_heads=2, key_dim=4, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.attention = MultiHeadAttention(num_heads, key_dim)

    def build(self, input_shape):
        self.dense = wg.layers.Dense(input_shape[-1], activation="relu")

    def call(self, x):
        return self.dense(x + self.attention(x, x))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim}


def test_sequential_with_a_block_saves_and_loads(tmp_path):
    model = wg.Sequential(
        [
            wg.layers.Input((None,), dtype="int32"),
            wg.layers.Embedding(10, 8, mask_zero=True),
            SelfAttentionBlock(),
            wg.layers.GlobalAveragePooling1D(),
            wg.layers.Dense(2),
        ]
    )
    tokens = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0]])
    out = model(tokens).numpy()
    padded = np.concatenate([tokens, np.zeros((2, 3), tokens.dtype)], axis=1)
    np.testing.assert_allclose(model(padded).numpy(), out, rtol=1e-5, atol=1e-6)
    assert len(model.trainable_weights) == 1 + 8 + 2 + 2
    path = str(tmp_path / "block.npz")
    model.save(path)
    np.testing.assert_array_equal(wg.models.load_model(path)(tokens).numpy(), out)


class PositionEmbedding(wg.layers.Layer):
    """A learned vector per position, added to the inputs."""

    def build(self, input_shape):
        init = wg.initializers.RandomNormal(stddev=0.5, seed=3)
        self.positions = self.add_weight(input_shape[1:], init, name="positions")

    def call(self, x):
        return x + self.positions


def test_a_transformer_block_learns_to_reverse_sequences():
    """Reversing needs attention (position i reads position T-1-i): a residual Dense alone
    cannot do it.  A 1-layer block brings the loss from ~2 to near 0 in 240 steps."""
    wg.random.set_seed(0)
    vocab, steps, dim = 8, 6, 32
    rng = np.random.default_rng(0)
    x = rng.integers(1, vocab, (512, steps))
    y = x[:, ::-1].copy()
    tokens = wg.Input((steps,), dtype="int32")
    h = PositionEmbedding()(wg.layers.Embedding(vocab, dim)(tokens))
    h = wg.layers.Add()([h, MultiHeadAttention(4, 8, seed=0)(h, h)])
    model = wg.Model(tokens, wg.layers.Dense(vocab)(h))
    model.compile(
        wg.optimizers.Adam(0.01), wg.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    losses = model.fit(x, y, batch_size=64, epochs=30, verbose=0).history["loss"]
    assert losses[0] > 1.5 and losses[-1] < 0.05 * losses[0]
    assert (model.predict(x[:64]).argmax(-1) == y[:64]).mean() > 0.99


def test_attention_masks_that_broadcast_work_as_in_keras():
    # keras.io's Transformer passes a padding mask as (B, 1, S): it broadcasts over T.
    from wengert.layers.attention import MultiHeadAttention

    wg.random.set_seed(9)
    mha = MultiHeadAttention(2, 4)
    q = np.random.default_rng(0).standard_normal((2, 6, 8)).astype("float32")
    pad = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    full = mha(q, q, attention_mask=np.broadcast_to(pad[:, None, :], (2, 6, 6))).numpy()
    for mask in (pad[:, None, :], pad[:, None, None, :], pad[:, None, :].astype("int32")):
        np.testing.assert_array_equal(mha(q, q, attention_mask=mask).numpy(), full)
    with pytest.raises(ValueError, match="must have shape"):
        mha(q, q, attention_mask=np.ones((2, 5, 6), bool))
    with pytest.raises(NotImplementedError, match="flash_attention"):
        MultiHeadAttention(2, 4, flash_attention=True)
    MultiHeadAttention(2, 4, flash_attention=False)  # Keras 3.6 configs carry it
