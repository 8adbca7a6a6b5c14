"""Keras 3 semantics of losses, metrics and schedules: half-precision losses computed in
float32, weighted_metrics, metric names, empty batches, zero weights, constructor names."""

from __future__ import annotations

import math

import numpy as np
import pytest

import wengert as wg
from wengert.layers.base import set_mask


def test_half_precision_losses_are_computed_in_float32():
    # float16 sums overflow at 65504 and 65536 itself rounds to inf: Keras 3 computes in float32.
    yp = wg.constant(np.full((65536, 1), 0.5, "float16"))
    mse = wg.losses.MeanSquaredError()(np.zeros((65536, 1)), yp)
    assert mse.dtype == wg.float32 and float(mse) == 0.25
    z = wg.constant(np.zeros((256, 256, 3), "float16"))
    labels = np.zeros((256, 256), int)
    scce = wg.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z)
    assert float(scce) == pytest.approx(math.log(3), rel=1e-6)
    p = wg.constant(np.full((40000, 1), 0.1, "float16"))
    bce = wg.losses.BinaryCrossentropy()(np.ones((40000, 1)), p)
    assert float(bce) == pytest.approx(-math.log(np.float16(0.1)), rel=1e-5)


def test_confident_float16_probabilities_give_a_finite_loss_and_gradient():
    v = wg.Variable(np.array([[12.0], [-3.0]], "float16"))
    with wg.GradientTape() as tape:
        loss = wg.losses.BinaryCrossentropy()(np.array([[1.0], [0.0]]), wg.nn.sigmoid(v))
    g = tape.gradient(loss, v)
    assert math.isfinite(float(loss)) and np.isfinite(g.numpy()).all()
    assert g.dtype == wg.float16
    # the same in float64 (no saturation), as the oracle
    v64 = wg.Variable(np.array([[12.0], [-3.0]]))
    with wg.GradientTape() as tape:
        loss64 = wg.losses.BinaryCrossentropy()(np.array([[1.0], [0.0]]), wg.nn.sigmoid(v64))
    assert float(loss) == pytest.approx(float(loss64), abs=2e-3)


def test_a_loss_dtype_sets_the_computation_dtype_and_round_trips():
    loss = wg.losses.MeanSquaredError(dtype="float64")
    out = loss(np.zeros((2, 1)), wg.constant([[1.0], [2.0]]))
    assert out.dtype == wg.float64 and float(out) == 2.5
    assert wg.losses.MeanSquaredError.from_config(loss.get_config()).dtype == "float64"
    assert "dtype" not in wg.losses.MeanSquaredError().get_config()
    with pytest.raises(TypeError, match="floating-point"):
        wg.losses.Huber(dtype="int32")
    assert isinstance(wg.losses.get("bce"), wg.losses.BinaryCrossentropy)
    assert isinstance(wg.losses.get("BCE"), wg.losses.BinaryCrossentropy)


def test_mean_with_sample_weight_of_all_zero_weights_is_zero():
    loss = wg.losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert float(loss([[1.0], [2.0]], [[0.0], [0.0]], sample_weight=[0.0, 0.0])) == 0.0


def test_integer_per_sample_losses_take_fractional_weights():
    from wengert.losses import reduce_weighted_values

    out = reduce_weighted_values(wg.constant(np.array([1, 3])), [0.5, 0.5])
    assert out.dtype == wg.float32 and float(out) == 1.0


def test_an_empty_batch_of_sequences_adds_nothing_to_a_mean_metric():
    m = wg.metrics.MeanMetricWrapper(wg.losses.mean_squared_error)
    m.update_state(np.zeros((0, 4, 3)), np.zeros((0, 4, 3)))
    assert m.count == 0 and m.result() == 0.0
    m.update_state(np.zeros((1, 4, 3)), np.ones((1, 4, 3)))
    assert m.result() == 1.0


def test_metrics_named_by_loss_objects_and_repeated_names_made_unique():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 2)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    wg.random.set_seed(0)
    model = wg.Sequential([wg.layers.Input((2,)), wg.layers.Dense(1)])
    model.compile(
        "sgd",
        "mse",
        metrics=[wg.losses.MeanSquaredError(), wg.losses.MeanAbsoluteError(), "mae"],
    )
    names = [m.name for m in model.compiled_metrics]
    assert names == ["mean_squared_error", "mean_absolute_error", "mae"]
    model.compile("sgd", "mse", metrics=["mae", "mae"])
    assert [m.name for m in model.compiled_metrics] == ["mae", "mae_1"]
    loss, mae, mae_1 = model.evaluate(x, y, verbose=0)
    pred = model.predict(x, verbose=0)
    assert mae == mae_1 == pytest.approx(float(np.abs(pred - y).mean()), rel=1e-5)


def test_class_weights_weight_only_the_weighted_metrics():
    x = np.array([[1.0], [-1.0], [1.0], [-1.0]], np.float32)
    y = np.array([1, 0, 0, 1])
    wg.random.set_seed(0)
    model = wg.Sequential([wg.layers.Input((1,)), wg.layers.Dense(1)])
    model.compile(
        "sgd",
        wg.losses.BinaryCrossentropy(from_logits=True),
        metrics=["accuracy"],
        weighted_metrics=["accuracy"],
    )
    model.set_weights([np.array([[1.0]], np.float32), np.zeros(1, np.float32)])
    logs = model.evaluate(x, y, verbose=0, sample_weight=np.array([9.0, 1, 1, 1]), return_dict=True)
    assert logs["accuracy"] == 0.5  # samples 0 and 1 right, 2 and 3 wrong
    assert logs["weighted_accuracy"] == pytest.approx(10 / 12)


def test_default_names_follow_keras_snake_case():
    class MyMSE(wg.losses.Loss):
        def call(self, y_true, y_pred):
            return wg.square(y_pred - y_true)

    class TopKAUC(wg.metrics.Mean):
        def __init__(self):
            wg.metrics.Metric.__init__(self)

    assert MyMSE().name == "my_mse"
    assert TopKAUC().name == "top_kauc"


def test_from_config_names_the_unknown_function():
    with pytest.raises(ValueError, match="unknown function 'my_metric'"):
        wg.metrics.MeanMetricWrapper.from_config({"name": "x", "fn": "my_metric"})


def test_schedules_take_keras_names_and_cosine_decays_fourth_argument_is_the_name():
    sched = wg.optimizers.schedules
    e = sched.ExponentialDecay(0.1, 100, 0.96, staircase=True, name="ExponentialDecay")
    assert sched.deserialize(sched.serialize(e)).get_config() == e.get_config()
    keras_config = {
        "initial_learning_rate": 0.1,
        "decay_steps": 10,
        "alpha": 0.0,
        "name": "CosineDecay",
        "warmup_target": None,
        "warmup_steps": 0,
    }
    c = sched.CosineDecay.from_config(keras_config)
    assert c.get_config() == keras_config
    assert sched.CosineDecay(0.1, 10, 0.0, "mine").name == "mine"
    assert sched.PiecewiseConstantDecay([1], [1.0, 0.5]).name == "PiecewiseConstant"


def test_a_mask_that_does_not_fit_the_losses_says_so():
    y_pred = wg.constant(np.zeros((2, 4, 1), np.float32))
    set_mask(y_pred, np.ones((2, 4), bool))
    loss = wg.losses.BinaryCrossentropy(from_logits=True)
    with pytest.raises(ValueError, match="padding mask"):
        loss(np.zeros((2, 4)), y_pred)


@pytest.mark.parametrize("from_logits", [True, False])
def test_ignore_class_averages_over_the_other_labels_as_torch_ignore_index(from_logits):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 6, 5))
    labels = rng.integers(0, 5, (4, 6))
    labels[:, 4:] = 0  # padding, labelled 0
    z = wg.Variable(logits)
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=0)
    with wg.GradientTape() as tape:
        y_pred = z if from_logits else wg.softmax(z)
        loss = loss_fn(labels, y_pred)
    zt = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(
        zt.reshape(-1, 5), torch.tensor(labels).reshape(-1), ignore_index=0
    )
    expected.backward()
    assert float(loss) == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(
        tape.gradient(loss, z).numpy(), zt.grad.numpy(), rtol=1e-5, atol=1e-9
    )
    per_entry = wg.losses.sparse_categorical_crossentropy(labels, z, True, ignore_class=0)
    assert (per_entry.numpy()[labels == 0] == 0).all()
    config = loss_fn.get_config()
    assert config["ignore_class"] == 0
    assert wg.losses.SparseCategoricalCrossentropy.from_config(config).ignore_class == 0
