"""What TensorFlow's core guides use and a port by name alone needs: einsum's diagonals,
ellipses and implicit outputs; tf.keras / tf.autodiff / tf.errors / tf.device /
tf.newaxis / tf.linalg.matvec; optimizer.iterations.numpy(); metric.reset_states()."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert.test_util import check_grads

RNG = np.random.default_rng(5)


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ii->i", [(4, 4)]),
        ("ii", [(3, 3)]),
        ("bxby->bxy", [(2, 3, 2, 4)]),
        ("iij->j", [(3, 3, 2)]),
        ("ij,jk", [(2, 3), (3, 4)]),
        ("i,i", [(5,), (5,)]),
        ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
        ("b...i,b...i->b...", [(2, 3, 4), (2, 1, 4)]),
        ("ij,kj->ik", [(1, 3), (4, 3)]),
        ("ji,ij->", [(3, 3), (3, 3)]),
    ],
)
def test_einsum_takes_numpys_notation_with_gradients(equation, shapes):
    args = tuple(RNG.standard_normal(s) for s in shapes)
    np.testing.assert_allclose(
        wg.einsum(equation, *args).numpy(), np.einsum(equation, *args), rtol=1e-12, atol=1e-12
    )
    check_grads(lambda *a: wg.einsum(equation, *a), args)


def test_the_advanced_autodiff_guides_batch_jacobian_diagonal():
    # the guide: j = tape.jacobian(y, x) of shape (b, y, b, x); its batch diagonal is
    # einsum('bxby->bxy') and equals tape.batch_jacobian
    x = wg.constant(RNG.standard_normal((7, 5)).astype("float32"))
    layer = wg.layers.Dense(6, activation="elu")
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)
    j = tape.jacobian(y, x)
    jb = tape.batch_jacobian(y, x)
    np.testing.assert_allclose(wg.einsum("bxby->bxy", j).numpy(), jb.numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "equation, shapes, message",
    [
        ("ij,jk->ik", [(2, 3), (4, 5)], "axis 'j' sizes 3 and 4"),
        ("ij->ii", [(2, 2)], "must name distinct letters"),
        ("ij->k", [(2, 2)], "must name distinct letters"),
        ("ijk->i", [(2, 2)], "do not fit an operand of shape"),
        ("i1->i", [(2, 2)], "must be letters"),
    ],
)
def test_einsum_errors_name_the_equation(equation, shapes, message):
    with pytest.raises(ValueError, match=message):
        wg.einsum(equation, *(np.ones(s) for s in shapes))


def test_keras_autodiff_and_errors_namespaces():
    keras = wg.keras
    assert keras.layers is wg.layers and keras.Model is wg.Model and keras.ops is wg.ops
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(0.1), keras.losses.MeanSquaredError())
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    x = wg.constant(2.0)
    with wg.autodiff.ForwardAccumulator(x, wg.constant(1.0)) as acc:
        y = x**3
    assert float(acc.jvp(y)) == 12.0
    with wg.autodiff.GradientTape() as tape:
        tape.watch(x)
        z = x**3
    assert float(tape.gradient(z, x)) == 12.0
    with pytest.raises(wg.errors.InvalidArgumentError, match="matmul"):
        wg.matmul(wg.ones((2, 3)), wg.ones((2, 3)))


def test_newaxis_device_and_matvec():
    x = wg.constant([1.0, 2.0])
    assert x[wg.newaxis, :].shape == (1, 2) and x[:, wg.newaxis].shape == (2, 1)
    with wg.device("/GPU:0"):
        y = x * 2.0
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    with pytest.raises(TypeError, match="device name"):
        wg.device(0)
    a = RNG.standard_normal((3, 4, 5))
    b = RNG.standard_normal((3, 5))
    np.testing.assert_allclose(wg.linalg.matvec(a, b).numpy(), np.einsum("bij,bj->bi", a, b))
    bt = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(
        wg.linalg.matvec(a, bt, transpose_a=True).numpy(), np.einsum("bji,bj->bi", a, bt)
    )
    check_grads(wg.linalg.matvec, (a, b))
    with pytest.raises(ValueError, match=r"matvec: expected a matrix"):
        wg.linalg.matvec([1.0, 2.0], [1.0, 2.0])


def test_optimizer_iterations_answer_numpy_and_metrics_reset_states():
    opt = wg.optimizers.Adam(0.1)
    w = wg.Variable([1.0])
    for _ in range(3):
        opt.apply_gradients([(wg.constant([1.0]), w)])
    assert opt.iterations == 3 and opt.iterations.numpy() == np.int64(3)
    assert isinstance(opt.iterations + 1, int)
    metric = wg.metrics.SparseCategoricalAccuracy()
    metric.update_state([1, 0], [[0.1, 0.9], [0.2, 0.8]])
    assert float(metric.result()) == 0.5
    metric.reset_states()
    assert float(metric.result()) == 0.0
