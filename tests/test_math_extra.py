"""TensorFlow's further math (cumsum, einsum, inv/det/solve, clipping by norm, the no-NaN
compositions) against PyTorch in float64, and the eager-only stand-ins for tf.function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import wengert as wg

RNG = np.random.default_rng(21)


def _grads(fn, *arrays):
    xs = [wg.Variable(a) for a in arrays]
    with wg.GradientTape() as tape:
        y = fn(*xs)
        loss = wg.reduce_sum(y * y)
    return y.numpy(), [g.numpy() for g in tape.gradient(loss, xs)]


def _torch_grads(fn, *arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    (y * y).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


CASES = {
    "cumsum": (lambda x: wg.math.cumsum(x, axis=1), lambda x: torch.cumsum(x, 1), [(3, 4)]),
    "cumsum_reverse_exclusive": (
        lambda x: wg.math.cumsum(x, axis=0, exclusive=True, reverse=True),
        lambda x: torch.flip(torch.cumsum(torch.flip(x, [0]), 0), [0]) - x,
        [(4, 2)],
    ),
    "einsum_attention": (
        lambda q, k: wg.einsum("bqd,bkd->bqk", q, k),
        lambda q, k: torch.einsum("bqd,bkd->bqk", q, k),
        [(2, 3, 4), (2, 5, 4)],
    ),
    "einsum_trace_free_sum": (
        lambda a, b: wg.einsum("ij,kl->ik", a, b),
        lambda a, b: torch.einsum("ij,kl->ik", a, b),
        [(2, 3), (4, 5)],
    ),
    "inv": (lambda a: wg.linalg.inv(a), lambda a: torch.linalg.inv(a), [(3, 3)]),
    "det": (lambda a: wg.linalg.det(a), lambda a: torch.linalg.det(a), [(2, 3, 3)]),
    "solve": (
        lambda a, b: wg.linalg.solve(a, b),
        lambda a, b: torch.linalg.solve(a, b),
        [(3, 3), (3, 2)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_equal_torch(name):
    ours, theirs, shapes = CASES[name]
    square = name in ("inv", "det", "solve")
    arrays = [
        RNG.standard_normal(s) + (3 * np.eye(s[-1]) if square and s[-1] == s[-2] else 0)
        for s in shapes
    ]
    y, grads = _grads(ours, *arrays)
    ty, tgrads = _torch_grads(theirs, *arrays)
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-12)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g, tg, rtol=1e-9, atol=1e-11)


def test_clipping_by_norm_as_tensorflow():
    t = RNG.standard_normal((3, 4))
    clipped = wg.clip_by_norm(t, 0.5).numpy()
    np.testing.assert_allclose(clipped, t * 0.5 / max(np.linalg.norm(t), 0.5), rtol=1e-12)
    rows = wg.clip_by_norm(t, 0.5, axes=[1]).numpy()
    norms = np.linalg.norm(t, axis=1, keepdims=True)
    np.testing.assert_allclose(rows, t * 0.5 / np.maximum(norms, 0.5), rtol=1e-12)
    parts = [RNG.standard_normal(3), None, RNG.standard_normal((2, 2))]
    clipped, norm = wg.clip_by_global_norm(parts, 1.0)
    total = np.sqrt(sum((p**2).sum() for p in parts if p is not None))
    assert float(norm) == pytest.approx(total, rel=1e-12) and clipped[1] is None
    np.testing.assert_allclose(clipped[2].numpy(), parts[2] / total, rtol=1e-12)
    v = wg.Variable(t)
    with wg.GradientTape() as tape:  # clip_by_norm's gradient, against torch's autograd
        y = wg.reduce_sum(wg.clip_by_norm(v, 0.5) * wg.constant(np.arange(12.0).reshape(3, 4)))
    tt = torch.tensor(t, requires_grad=True)
    yt = (tt * 0.5 / torch.clamp(tt.norm(), min=0.5) * torch.arange(12.0).reshape(3, 4)).sum()
    yt.backward()
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), tt.grad.numpy(), rtol=1e-10)


def test_compositions_that_never_give_nan():
    x = wg.Variable(np.array([1.0, 0.0, 2.0]))
    y = wg.Variable(np.array([0.0, 0.0, 4.0]))
    with wg.GradientTape() as tape:
        out = wg.reduce_sum(wg.math.divide_no_nan(x, y) + wg.math.xlogy(x, y + 1.0))
    gx, gy = tape.gradient(out, [x, y])
    assert np.isfinite(gx.numpy()).all() and np.isfinite(gy.numpy()).all()
    np.testing.assert_allclose(wg.math.divide_no_nan(x, y).numpy(), [0.0, 0.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), [0.0 + np.log(1.0), 0.0, 0.25 + np.log(5.0)])
    assert wg.math.xlogy(0.0, 0.0).numpy() == 0.0
    np.testing.assert_allclose(wg.math.reciprocal([4.0]).numpy(), [0.25])
    np.testing.assert_allclose(wg.math.rsqrt([4.0]).numpy(), [0.5])
    np.testing.assert_allclose(wg.math.squared_difference([1.0], [4.0]).numpy(), [9.0])
    np.testing.assert_allclose(wg.math.tan([0.5]).numpy(), np.tan([np.float32(0.5)]), rtol=1e-6)


def test_logical_reductions_add_n_and_norms():
    b = wg.constant([[True, False], [True, True]])
    assert wg.math.reduce_all(b, axis=1).numpy().tolist() == [False, True]
    assert wg.math.reduce_any(b, axis=0, keepdims=True).numpy().tolist() == [[True, True]]
    with pytest.raises(TypeError, match="reduce_all: expected a bool tensor"):
        wg.math.reduce_all(wg.constant([1.0]))
    assert wg.add_n([wg.constant([1.0, 2.0])] * 3).numpy().tolist() == [3.0, 6.0]
    with pytest.raises(ValueError, match="add_n: the tensors' shapes differ"):
        wg.add_n([wg.ones(2), wg.ones(3)])
    v = [3.0, -4.0]
    assert float(wg.norm(v, ord=1)) == 7.0 and float(wg.norm(v, ord=np.inf)) == 4.0
    assert float(wg.norm(v)) == 5.0


def test_einsum_and_linalg_refuse_what_they_cannot_do():
    # (implicit outputs and diagonals are taken now: tests/test_tf_guide_gaps.py)
    with pytest.raises(ValueError, match="do not fit an operand"):
        wg.einsum("ij,jk->ik", wg.ones((2, 2)), wg.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="inv: expected float square matrices"):
        wg.linalg.inv(wg.ones((2, 3)))
    with pytest.raises(ValueError, match=r"solve: rhs must be \(\.\.\., 2, k\)"):
        wg.linalg.solve(wg.eye(2), wg.ones((3, 1)))


def test_tf_function_executing_eagerly_module_and_input_names():
    @wg.function
    def step(x):
        return x * 2.0

    assert float(step(wg.constant(2.0))) == 4.0
    assert wg.function(jit_compile=True)(step) is step and wg.executing_eagerly()

    class Scale(wg.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.w = wg.Variable(3.0)

        def __call__(self, x):
            return self.w * x

    module = Scale(name="scale")
    assert float(module(wg.constant(2.0))) == 6.0 and module.trainable_variables == [module.w]
    assert wg.Input((3,)).shape == (3,)


@pytest.mark.parametrize("p", [0.5, 1.5, 3, 4.0])
def test_vector_p_norms_match_torch_with_gradients(p):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(8).standard_normal((3, 5))
    w = wg.constant(x)
    with wg.GradientTape() as tape:
        tape.watch(w)
        n = wg.linalg.norm(w, ord=p, axis=1)
        total = wg.reduce_sum(n)
    tx = torch.tensor(x, requires_grad=True)
    tn = torch.linalg.vector_norm(tx, ord=p, dim=1)
    tn.sum().backward()
    np.testing.assert_allclose(n.numpy(), tn.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(total, w).numpy(), tx.grad.numpy(), rtol=1e-10)
    with pytest.raises(NotImplementedError, match="spectral norm"):
        wg.linalg.norm(w, ord=2, axis=[0, 1])
    with pytest.raises(ValueError, match="positive number"):
        wg.linalg.norm(w, ord=-1, axis=1)


def test_a_large_two_operand_einsum_takes_the_blas_path_and_stays_exact():
    # over 4096 elements NumPy's optimize=True path (tensordot) is used: same numbers
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((8, 32, 24)), rng.standard_normal((24, 4, 6))
    wa, wb = wg.constant(a), wg.constant(b)
    with wg.GradientTape() as tape:
        tape.watch([wa, wb])
        out = wg.linalg.einsum("btd,dhk->bthk", wa, wb)
        total = wg.reduce_sum(out * out)
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    tout = torch.einsum("btd,dhk->bthk", ta, tb)
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    ga, gb = tape.gradient(total, [wa, wb])
    np.testing.assert_allclose(ga.numpy(), ta.grad.numpy(), rtol=1e-11)
    np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), rtol=1e-11)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sums_over_leading_axes_take_the_blas_path_and_agree_with_float64(dtype, keepdims):
    # (a bias gradient's sum over batch and pixels runs as ones @ x: math_ops._sum_impl)
    x = np.random.default_rng(3).standard_normal((40, 30, 17)).astype(dtype)
    got = wg.reduce_sum(x, axis=[0, 1], keepdims=keepdims).numpy()
    expected = x.astype("float64").sum(axis=(0, 1), keepdims=keepdims)
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == "float32" else 1e-12)
    x[3, 4, 5] = np.nan
    assert np.isnan(wg.reduce_sum(x, axis=[0, 1]).numpy()[5])
