"""Embedding and Masking: lookups, their gradients, and the masks they leave on outputs."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import wengert as wg
from wengert.layers.embedding import Embedding, Masking, get_mask, set_mask


def test_lookup_and_gradient_accumulate_repeated_indices():
    emb = Embedding(5, 3, dtype="float64")
    emb.build(None)
    table = np.arange(15.0).reshape(5, 3)
    emb.set_weights([table])
    idx = np.array([[1, 4, 1], [0, 1, 2]])
    with wg.GradientTape() as tape:
        out = emb(idx)
        loss = wg.reduce_sum(out)
    np.testing.assert_array_equal(out.numpy(), table[idx])
    (g,) = tape.gradient(loss, emb.trainable_weights)
    np.testing.assert_array_equal(g.numpy()[:, 0], [1, 3, 1, 0, 1])


def test_mask_zero():
    emb = Embedding(4, 2, mask_zero=True)
    x = np.array([[2, 3, 0], [0, 0, 0]])
    out = emb(x)
    np.testing.assert_array_equal(get_mask(out), x != 0)
    np.testing.assert_array_equal(emb.compute_mask(wg.constant(x)).numpy(), x != 0)
    assert Embedding(4, 2).compute_mask(wg.constant(x)) is None
    assert get_mask(Embedding(4, 2)(x)) is None


def test_float_indices_are_cast_and_bad_indices_are_named():
    emb = Embedding(4, 2, name="tokens")
    assert emb(np.array([[1.0, 3.0]], dtype="float32")).shape == (1, 2, 2)
    with pytest.raises(ValueError, match=r"Embedding 'tokens': indices must be in \[0, 4\)"):
        emb(np.array([[1, 4]]))
    with pytest.raises(ValueError, match="input_dim and output_dim must be positive"):
        Embedding(0, 3)


def test_default_initializer_is_small_uniform_and_config_round_trips():
    emb = Embedding(50, 8)
    emb.build(None)
    w = emb.get_weights()[0]
    assert w.shape == (50, 8) and np.abs(w).max() <= 0.05
    clone = Embedding.from_config(emb.get_config())
    assert clone.get_config() == emb.get_config()


def test_masking_layer_zeroes_and_masks_padded_steps():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]])
    out = Masking(0.0)(x)
    np.testing.assert_array_equal(get_mask(out), [[True, False, True]])
    np.testing.assert_array_equal(out.numpy(), x)
    out = Masking(-1.0)(np.array([[[-1.0, -1.0], [5.0, 5.0]]]))
    np.testing.assert_array_equal(out.numpy(), [[[0.0, 0.0], [5.0, 5.0]]])
    np.testing.assert_array_equal(Masking(-1.0).compute_mask(out).numpy(), [[True, True]])


def test_masks_die_with_their_tensors():
    from wengert.layers import base  # the mask registry

    t = wg.zeros((2, 3))
    set_mask(t, np.ones((2, 3)))
    assert get_mask(t).dtype == bool
    before = len(base._MASKS)
    del t
    gc.collect()
    assert len(base._MASKS) == before - 1
    u = wg.zeros((1,))
    set_mask(u, [True])
    set_mask(u, None)
    assert get_mask(u) is None
