"""``wg.metrics``: stateful metrics against hand counts; resolve_accuracy; get; configs."""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
import wengert.losses as L
import wengert.metrics as M


def test_mean_by_hand():
    m = M.Mean()
    assert m.name == "mean" and m.result() == 0.0  # nothing seen yet
    m.update_state([1.0, 2.0, 3.0])
    assert m.result() == 2.0
    m.update_state(wg.constant([10.0]), sample_weight=[3.0])
    assert m.result() == pytest.approx((1 + 2 + 3 + 30) / 6)
    m.update_state(4.0)  # a scalar counts once
    assert m.result() == pytest.approx((36 + 4) / 7)
    m.reset_state()
    assert m.result() == 0.0 and m.total == 0.0 and m.count == 0.0
    # Values with trailing axes are averaged per sample first (Keras 3).
    m.update_state([[1.0, 3.0], [5.0, 7.0]])
    assert m.result() == 4.0 and m.count == 2.0
    m.reset_state()
    m.update_state([[1.0, 3.0], [5.0, 7.0]], sample_weight=[1.0, 0.0])
    assert m.result() == 2.0
    m.reset_state()
    m.update_state([1.0, 2.0], sample_weight=[0.0, 0.0])
    assert m.result() == 0.0  # all weight zero: no division by zero
    assert isinstance(m.result(), float)


def test_accuracy_metrics_by_hand():
    acc = M.Accuracy()
    acc.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert acc.result() == 0.75
    acc.update_state([1, 1], [1, 1])
    assert acc.result() == pytest.approx(5 / 6)

    binary = M.BinaryAccuracy()
    binary.update_state([[1], [1], [0], [0]], [[0.98], [1.0], [0.0], [0.6]])
    assert binary.result() == 0.75
    binary.update_state([1, 0], [0.5, 0.5])  # 0.5 is not > 0.5: predicts 0
    assert binary.result() == pytest.approx(4 / 6)
    logits = M.BinaryAccuracy(threshold=0.0)
    logits.update_state([1, 0, 1], [2.0, -1.0, -0.5])
    assert logits.result() == pytest.approx(2 / 3)
    # y_true (batch,) against y_pred (batch, 1), as Keras reconciles them.
    rank = M.BinaryAccuracy()
    rank.update_state(np.array([1, 0, 1]), np.array([[0.9], [0.1], [0.2]]))
    assert rank.result() == pytest.approx(2 / 3)
    # Several outputs per sample: each sample contributes its mean.
    multi = M.BinaryAccuracy()
    multi.update_state([[1, 0], [1, 1]], [[0.9, 0.9], [0.9, 0.9]])
    assert multi.result() == 0.75 and multi.count == 2.0

    cat = M.CategoricalAccuracy()
    cat.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0.0]])
    assert cat.result() == 0.5
    cat.update_state([[1, 0, 0]], [[0.5, 0.2, 0.3]], sample_weight=[2.0])
    assert cat.result() == pytest.approx(3 / 4)

    sparse = M.SparseCategoricalAccuracy()
    sparse.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]])
    assert sparse.result() == 0.5
    sparse.update_state(wg.constant([0, 0, 2]), wg.constant([[9.0, 1, 1], [0, 1, 0], [0, 0, 3]]))
    assert sparse.result() == pytest.approx(3 / 5)
    sparse.update_state(np.array([1.0]), np.array([[0.0, 1.0, 0.0]]))  # float labels
    assert sparse.result() == pytest.approx(4 / 6)
    sparse.reset_state()
    assert sparse.result() == 0.0


def test_call_updates_and_returns_a_float():
    m = M.SparseCategoricalAccuracy()
    assert m([1, 0], [[0.2, 0.8], [0.3, 0.7]]) == 0.5
    assert m([1], [[0.2, 0.8]]) == pytest.approx(2 / 3)
    assert isinstance(m.result(), float)


def test_updating_inside_a_tape_records_nothing():
    x = wg.constant([[0.2, 0.8]])
    m = M.MeanMetricWrapper(L.sparse_categorical_crossentropy)
    with wg.GradientTape() as tape:
        tape.watch(x)
        m.update_state([1], x)
        y = wg.reduce_sum(x * 2.0)
    assert len(tape._records) == 2  # multiply and reduce_sum only
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[2.0, 2.0]])
    assert m.result() == pytest.approx(-np.log(0.8), rel=1e-6)


def test_loss_metrics():
    m = M.get("mse")
    assert m.name == "mse"
    m.update_state([[0.0, 0.0], [1.0, 1.0]], [[1.0, 1.0], [1.0, 3.0]])
    assert m.result() == pytest.approx((1.0 + 2.0) / 2)
    mae = M.get("mean_absolute_error")
    mae.update_state([[0.0], [0.0]], [[1.0], [3.0]], sample_weight=[3.0, 1.0])
    assert mae.result() == pytest.approx((3 + 3) / 4)


def test_resolve_accuracy_by_loss():
    for loss, cls in [
        (L.BinaryCrossentropy(), M.BinaryAccuracy),
        ("binary_crossentropy", M.BinaryAccuracy),
        (L.CategoricalCrossentropy(from_logits=True), M.CategoricalAccuracy),
        (L.categorical_crossentropy, M.CategoricalAccuracy),
        (L.SparseCategoricalCrossentropy, M.SparseCategoricalAccuracy),
        (L.get("sparse_categorical_crossentropy"), M.SparseCategoricalAccuracy),
    ]:
        m = M.resolve_accuracy(loss)
        assert type(m) is cls and m.name == "accuracy"
    assert M.resolve_accuracy(L.BinaryCrossentropy()).threshold == 0.5
    # With logits the decision is at 0: sigmoid(x) > 0.5 exactly when x > 0.
    assert M.resolve_accuracy(L.BinaryCrossentropy(from_logits=True)).threshold == 0.0
    assert M.resolve_accuracy(L.BinaryCrossentropy(), name="acc").name == "acc"


def test_resolve_accuracy_by_shapes_as_keras_3():
    two = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert type(M.resolve_accuracy("mse", [[1], [0]], [[0.7], [0.1]])) is M.BinaryAccuracy
    assert type(M.resolve_accuracy(None, [1, 0], two)) is M.SparseCategoricalAccuracy
    assert type(M.resolve_accuracy(None, [[1], [0]], two)) is M.SparseCategoricalAccuracy
    assert type(M.resolve_accuracy(None, [[0, 1], [1, 0]], two)) is M.CategoricalAccuracy
    # Unknown until the first batch: decides then.
    auto = M.resolve_accuracy(L.MeanSquaredError())
    assert type(auto) is M.AutoAccuracy and auto.name == "accuracy"
    auto.update_state([[0, 1], [0, 1]], two)
    assert auto.result() == 0.5 and auto.fn is M.categorical_accuracy
    copy = type(auto).from_config(auto.get_config())
    assert copy.result() == 0.0
    copy.update_state([[1], [0]], [[0.9], [0.7]])
    assert copy.result() == 0.5 and copy.fn is M.binary_accuracy


def test_get_serialize_and_from_config():
    for name, cls in [
        ("accuracy", M.Accuracy),
        ("acc", M.Accuracy),
        ("binary_accuracy", M.BinaryAccuracy),
        ("categorical_accuracy", M.CategoricalAccuracy),
        ("sparse_categorical_accuracy", M.SparseCategoricalAccuracy),
        ("mean", M.Mean),
        ("BinaryAccuracy", M.BinaryAccuracy),
    ]:
        assert type(M.get(name)) is cls
    assert M.get("acc").name == "acc"
    m = M.Mean(name="loss")
    assert M.get(m) is m
    assert isinstance(M.get(M.CategoricalAccuracy), M.CategoricalAccuracy)
    f = M.get(M.binary_accuracy)
    assert isinstance(f, M.MeanMetricWrapper) and f.name == "binary_accuracy"
    with pytest.raises(ValueError, match=r"unknown metric 'accuracyy'.*accuracy.*binary_accuracy"):
        M.get("accuracyy")
    with pytest.raises(ValueError, match="cannot interpret 3"):
        M.get(3)
    batch = ([[1.0]], [[1.0]])
    for metric, args in [
        (M.Mean(name="loss"), ([1.0],)),
        (M.Accuracy(), batch),
        (M.BinaryAccuracy(threshold=0.3, name="b"), batch),
        (M.CategoricalAccuracy(), batch),
        (M.SparseCategoricalAccuracy(), ([0], [[1.0]])),
        (M.MeanMetricWrapper(L.huber, delta=0.5), batch),
        (M.get("mse"), batch),
    ]:
        metric.update_state(*args)
        again = type(metric).from_config(metric.get_config())
        assert again.get_config() == metric.get_config() and again.result() == 0.0
        assert M.get(M.serialize(metric)).get_config() == metric.get_config()


def test_errors_name_the_metric_and_shapes():
    with pytest.raises(ValueError, match=r"categorical_accuracy: y_true shape \[2, 3\]"):
        M.CategoricalAccuracy().update_state(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"sparse_categorical_accuracy: y_true shape \[3\]"):
        M.SparseCategoricalAccuracy().update_state([0, 1, 2], np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"binary_accuracy: y_true shape \[3\]"):
        M.BinaryAccuracy().update_state([0, 1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"mean: sample_weight shape \[3\]"):
        M.Mean().update_state([1.0, 2.0], sample_weight=[1.0, 1.0, 1.0])
