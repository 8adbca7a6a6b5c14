"""Keras 3's catalogue in wengert: targets converted to the loss dtype, optimizer.apply,
Keras-style metrics with variables, Precision/Recall/AUC and the loss-metric classes, more
losses, Adamax and Nadam, and wg.utils.  PyTorch and direct computations as oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_optimizers_torch import _run_both

import wengert as wg
from wengert import metrics as M
from wengert import optimizers
from wengert.test_util import check_grads

RNG = np.random.default_rng(0)


# -- 1. y_true converted to the loss's dtype -----------------------------------------------


def _mse_lambda(y_true, y_pred):
    return wg.reduce_mean(wg.square(y_true - y_pred), axis=-1)


class _SquaredError(wg.losses.Loss):
    def call(self, y_true, y_pred):
        return wg.reduce_mean(wg.square(y_true - y_pred), axis=-1)


def _dense_model(outputs=1, activation=None):
    wg.random.set_seed(0)
    return wg.Sequential([wg.layers.Input((4,)), wg.layers.Dense(outputs, activation=activation)])


@pytest.mark.parametrize("loss", [_mse_lambda, _SquaredError()], ids=["function", "subclass"])
@pytest.mark.parametrize("target_dtype", ["float64", "int64", "int32", "bool"])
def test_custom_losses_train_on_float64_and_integer_targets(loss, target_dtype):
    x = RNG.random((64, 4)).astype("float32")
    y = (RNG.random((64, 1)) * 2).astype(target_dtype)
    model = _dense_model()
    model.compile("adam", loss=loss)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    assert all(math.isfinite(v) for v in history["loss"])
    # the loss fit reports is the loss of float32 targets
    expected = float(
        np.mean(np.square(y.astype("float32") - model.predict(x, verbose=0)), dtype="float64")
    )
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_loss_call_converts_targets_to_the_computation_dtype():
    pred32 = wg.constant([[0.5], [1.5]])
    seen = []

    class Spy(wg.losses.Loss):
        def call(self, y_true, y_pred):
            seen.append((y_true.dtype, y_pred.dtype))
            return wg.square(y_true - y_pred)

    assert float(Spy()(np.array([[1.0], [1.0]]), pred32)) == 0.25  # float64 targets
    assert float(Spy()(np.array([[1], [1]]), pred32)) == 0.25  # int64 targets
    assert float(Spy()(wg.constant([[1], [1]]), pred32)) == 0.25  # an int32 Tensor
    Spy(dtype="float64")([[1.0], [1.0]], pred32)  # the loss's dtype wins
    Spy()(np.ones((2, 1)), wg.constant(np.ones((2, 1), "float16")))  # half: float32
    Spy()(np.ones((2, 1)), np.ones((2, 1), "int64"))  # integer predictions: float32
    assert [str(a) for pair in seen for a in pair] == (
        ["float32"] * 6 + ["float64"] * 2 + ["float32"] * 4
    )
    with pytest.raises(TypeError, match="spy: y_true must be numeric"):
        Spy()(np.array([["a"], ["b"]]), pred32)


def test_integer_class_labels_stay_integers_for_sparse_categorical_crossentropy():
    seen = []

    class Spy(wg.losses.SparseCategoricalCrossentropy):
        def call(self, y_true, y_pred):
            seen.append(np.asarray(y_true).dtype)
            return super().call(y_true, y_pred)

    logits = wg.constant([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]])
    Spy(from_logits=True)(np.array([1, 0]), logits)
    assert seen == [np.int64]
    wrapped = wg.losses.get(wg.losses.sparse_categorical_crossentropy)
    assert wrapped._takes_class_labels() and not wg.losses.MeanSquaredError()._takes_class_labels()
    # and as before, trains on integer labels through fit
    model = _dense_model(3)
    model.compile("adam", loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True))
    y = RNG.integers(0, 3, 32)
    assert math.isfinite(model.fit(RNG.random((32, 4)), y, verbose=0).history["loss"][0])


# -- 2. optimizer.apply ---------------------------------------------------------------------


def test_apply_equals_apply_gradients():
    shapes = [(3, 2), (2,)]
    init = [RNG.standard_normal(s) for s in shapes]
    grads = [[RNG.standard_normal(s) for s in shapes] for _ in range(4)]
    a = [wg.Variable(w) for w in init]
    b = [wg.Variable(w) for w in init]
    opt_a, opt_b = optimizers.Adam(0.1), optimizers.Adam(0.1)
    for step, gs in enumerate(grads):
        opt_a.apply_gradients(zip([wg.constant(g) for g in gs], a))
        if step % 2:
            assert opt_b.apply([wg.constant(g) for g in gs]) == step + 1  # built: its own list
        else:
            assert opt_b.apply([wg.constant(g) for g in gs], b) == step + 1
        for va, vb in zip(a, b):
            np.testing.assert_array_equal(va.numpy(), vb.numpy())


def test_apply_errors_name_the_optimizer():
    with pytest.raises(ValueError, match="SGD.apply: pass trainable_variables"):
        optimizers.SGD().apply([wg.constant(1.0)])
    with pytest.raises(ValueError, match="SGD.apply: got 1 gradients for 2 variables"):
        optimizers.SGD().apply([wg.constant(1.0)], [wg.Variable(1.0), wg.Variable(2.0)])


# -- 3. Keras-style metrics: variables made in __init__ -------------------------------------


class CategoricalTruePositives(wg.metrics.Metric):
    """The Keras guide's example, with wg in place of keras.ops."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = wg.reshape(wg.argmax(y_pred, axis=1), (-1, 1))
        values = wg.cast(y_true, "int32") == wg.cast(y_pred, "int32")
        values = wg.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = wg.cast(sample_weight, "float32")
            values = wg.multiply(values, sample_weight)
        self.true_positives.assign_add(wg.reduce_sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_keras_guide_metric_runs_in_fit_and_evaluate():
    x = RNG.standard_normal((100, 4)).astype("float32")
    y = RNG.integers(0, 3, (100, 1))
    model = _dense_model(3, "softmax")
    # learning rate 0: the predictions, and so the counts, are the same in every epoch
    model.compile(
        optimizers.SGD(0.0),
        loss="sparse_categorical_crossentropy",
        metrics=[CategoricalTruePositives()],
    )
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history
    hits = float((model.predict(x, verbose=0).argmax(1) == y[:, 0]).sum())
    assert history["categorical_true_positives"] == [hits, hits]  # reset between epochs
    assert model.evaluate(x, y, verbose=0, return_dict=True)["categorical_true_positives"] == hits
    weights = RNG.random((100, 1))  # a column, as the guide's (batch, 1) values need
    model.compile(
        optimizers.SGD(0.0),
        loss="sparse_categorical_crossentropy",
        weighted_metrics=[CategoricalTruePositives()],
    )
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    expected = weights[model.predict(x, verbose=0).argmax(1) == y[:, 0], 0].sum()
    assert logs["categorical_true_positives"] == pytest.approx(expected, rel=1e-5)


def test_keras_style_metric_state_variables_and_default_reset():
    class Total(wg.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_weight(name="total")
            self.counts = self.add_variable((2,), initializer="ones", dtype="float64")

        def update_state(self, values):
            self.total.assign_add(wg.reduce_sum(values))
            self.counts.assign_add([1.0, 1.0])

        def result(self):
            return self.total

    m = Total()
    assert m.name == "total" and [v.name for v in m.variables] == ["total/total", "total/variable"]
    assert m.counts.numpy().tolist() == [1.0, 1.0]  # made by the initializer; no reset at init
    assert float(m(wg.constant([1.0, 2.0]))) == 3.0
    assert not any(v.trainable for v in m.variables)
    m.reset_state()  # Keras's default: every variable to zeros
    assert float(m.result()) == 0.0 and m.counts.numpy().tolist() == [0.0, 0.0]

    class Forgot(wg.metrics.Metric):
        def __init__(self):
            self.v = self.add_variable(())

    with pytest.raises(RuntimeError, match=r"Forgot.add_variable: call super\(\).__init__"):
        Forgot()


def test_wengert_style_metrics_still_get_their_state_from_reset_state():
    class Count(wg.metrics.Metric):
        def __init__(self, name="count", scale=1):
            super().__init__(name)
            self.scale = scale  # set after super().__init__: reset_state runs after __init__

        def reset_state(self):
            self.n = 0 * self.scale

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n += len(y_true) * self.scale

        def result(self):
            return float(self.n)

    m = Count(scale=2)
    assert m([1, 2], [1, 2]) == 4.0
    m.reset_state()
    assert m.result() == 0.0 and m.variables == []


def test_metric_state_as_plain_data_round_trips():
    """The helpers fit's mid-epoch checkpoints need for metrics whose state is Variables."""
    auc, mean = M.AUC(num_thresholds=5), M.Mean()
    auc.update_state([0, 1, 1], [0.2, 0.7, 0.4])
    mean.update_state([1.0, 2.0])
    for metric, fresh in ((auc, M.AUC(num_thresholds=5)), (mean, M.Mean())):
        state = M._plain_state(metric)
        assert state and all(isinstance(v, (int, float, list)) for v in state.values())
        M._restore_plain_state(fresh, state)
        assert fresh.result() == metric.result()
    assert M._plain_state(auc)["true_positives"] == [2.0, 2.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("kind", ["keras_style", "confusion"])
def test_a_mid_epoch_resume_keeps_variable_metric_state(tmp_path, kind):
    x = RNG.standard_normal((64, 4)).astype("float32")
    if kind == "keras_style":
        y = RNG.integers(0, 3, (64, 1))
        loss, outputs, activation = "sparse_categorical_crossentropy", 3, "softmax"
        metrics = [CategoricalTruePositives]
    else:
        y = (x[:, :1] > 0).astype("float32")
        loss, outputs, activation = "binary_crossentropy", 1, "sigmoid"
        metrics = [M.AUC, M.Precision, lambda: M.AUC(curve="PR", name="pr")]

    def build():
        model = _dense_model(outputs, activation)
        model.compile("adam", loss, metrics=[make() for make in metrics])
        return model

    class Pause(wg.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.pause_training()

    straight = build()
    straight.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=0)
    paused = build()
    paused.fit(x, y, batch_size=8, epochs=2, verbose=0, seed=0, callbacks=[Pause()])
    path = str(tmp_path / "paused.npz")
    paused.save_checkpoint(path)
    resumed = build()
    resumed.load_checkpoint(path)
    resumed.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for name, values in straight.history.history.items():
        assert resumed.history.history[name] == pytest.approx(values), name


# -- 4. Precision, Recall, AUC ----------------------------------------------------------------


def _counts_by_hand(y_true, y_pred, thresholds, weights=None):
    """tp, fp, tn, fn of "y_pred > t" per threshold, entry by entry."""
    y_true, y_pred = np.ravel(y_true) != 0, np.ravel(y_pred)
    w = np.ones(y_pred.shape) if weights is None else np.ravel(weights)
    rows = []
    for t in thresholds:
        above = y_pred > t
        rows.append(
            [
                w[above & y_true].sum(),
                w[above & ~y_true].sum(),
                w[~above & ~y_true].sum(),
                w[~above & y_true].sum(),
            ]
        )
    return np.array(rows).T


def test_precision_and_recall_against_hand_counts():
    y_true = RNG.integers(0, 2, (50, 1))
    y_pred = RNG.random((50, 1)).astype("float32")
    weights = RNG.random(50)
    tp, fp, _, fn = _counts_by_hand(y_true, y_pred, [0.5], weights)[:, 0]
    precision, recall = M.Precision(), M.Recall()
    for start in range(0, 50, 20):  # over several batches
        batch = slice(start, start + 20)
        precision.update_state(y_true[batch], y_pred[batch], sample_weight=weights[batch])
        recall.update_state(y_true[batch], y_pred[batch], sample_weight=weights[batch])
    assert precision.result() == pytest.approx(tp / (tp + fp), rel=1e-6)
    assert recall.result() == pytest.approx(tp / (tp + fn), rel=1e-6)
    assert (precision.name, recall.name) == ("precision", "recall")
    # several thresholds: one value each; nothing predicted positive gives 0, not NaN
    many = M.Precision(thresholds=[0.0, 0.3, 1.0])
    many.update_state(y_true, y_pred)
    tp, fp, _, _ = _counts_by_hand(y_true, y_pred, [0.0, 0.3, 1.0])
    np.testing.assert_allclose(many.result(), [tp[0] / (tp[0] + fp[0]), tp[1] / (tp[1] + fp[1]), 0])
    # the threshold itself is not above it (Keras's y_pred > t)
    assert M.Precision()([1, 0], [0.5, 0.5]) == 0.0


def test_precision_recall_top_k_and_class_id_as_keras():
    y_true = [[0, 0, 1, 1], [1, 0, 0, 0]]
    y_pred = [[0.1, 0.5, 0.3, 0.9], [0.2, 0.8, 0.1, 0.3]]
    # top 2 per row: {3, 1} and {1, 3}; positives among them: 1 of 4
    assert M.Precision(top_k=2)(y_true, y_pred) == 0.25
    assert M.Recall(top_k=2)(y_true, y_pred) == pytest.approx(1 / 3)
    # class 3 only: predictions 0.9 (label 1) and 0.3 (label 0)
    assert M.Precision(class_id=3)(y_true, y_pred) == 1.0
    assert M.Recall(class_id=0)(y_true, y_pred) == 0.0
    # top_k and a threshold together: in the top 1 and above 0.85
    assert M.Precision(top_k=1, thresholds=0.85)(y_true, y_pred) == 1.0
    with pytest.raises(ValueError, match=r"precision: thresholds must be numbers in \[0, 1\]"):
        M.Precision(thresholds=1.5)
    with pytest.raises(ValueError, match="recall: class_id 7"):
        M.Recall(class_id=7)(y_true, y_pred)
    with pytest.raises(ValueError, match="precision: top_k must be a positive int"):
        M.Precision(top_k=0)


def _keras_auc_by_hand(y_true, y_pred, num_thresholds=200, curve="ROC", weights=None):
    """Keras's AUC written out: counts at its thresholds, then trapezoids (or, for PR,
    Davis & Goadrich's interpolation of the counts)."""
    eps = 1e-7
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    tp, fp, tn, fn = _counts_by_hand(
        y_true, np.clip(y_pred, 0, 1), [-eps, *inner, 1 + eps], weights
    )
    if curve == "ROC":
        tpr, fpr = tp / (tp + fn), fp / (fp + tn)
        return float(np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2))
    total, area = tp[0] + fn[0], 0.0
    for i in range(num_thresholds - 1):
        p_a, p_b = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
        if p_a == p_b:
            continue
        slope = (tp[i] - tp[i + 1]) / (p_a - p_b)
        intercept = tp[i + 1] - slope * p_b
        log_ratio = math.log(p_a / p_b) if p_a > 0 and p_b > 0 else 0.0
        area += slope * (tp[i] - tp[i + 1] + intercept * log_ratio) / total
    return area


def _roc_auc_exact(y_true, y_pred):
    """The probability that a positive scores above a negative (ties count half)."""
    pos, neg = y_pred[y_true == 1], y_pred[y_true == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def _average_precision_exact(y_true, y_pred):
    order = np.argsort(-y_pred, kind="stable")
    hits = y_true[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def _scores(n=600, labels=()):
    y_true = RNG.integers(0, 2, (n, *labels))
    y_pred = np.clip(0.35 * y_true + 0.65 * RNG.random((n, *labels)), 0, 1).astype("float32")
    return y_true, y_pred


def test_auc_matches_keras_algorithm_and_the_exact_areas():
    y_true, y_pred = _scores()
    weights = RNG.random(len(y_true))
    for curve, exact in (("ROC", _roc_auc_exact), ("PR", _average_precision_exact)):
        m = M.AUC(curve=curve)
        for start in range(0, len(y_true), 128):
            m.update_state(y_true[start : start + 128], y_pred[start : start + 128])
        assert m.result() == pytest.approx(_keras_auc_by_hand(y_true, y_pred, curve=curve), 1e-9)
        assert m.result() == pytest.approx(exact(y_true, y_pred), abs=5e-3)  # 200 thresholds
        weighted = M.AUC(curve=curve, num_thresholds=50)
        weighted.update_state(y_true, y_pred, sample_weight=weights)
        expected = _keras_auc_by_hand(y_true, y_pred, 50, curve, weights)
        assert weighted.result() == pytest.approx(expected, rel=1e-6)


def test_auc_keras_doc_example_bounds_logits_and_thresholds():
    m = M.AUC(num_thresholds=3)
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == 0.75
    m.reset_state()
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1]) == 1.0
    y_true, y_pred = _scores(300)
    results = {}
    for method in ("minoring", "interpolation", "majoring"):
        results[method] = M.AUC(summation_method=method, curve="ROC")(y_true, y_pred)
    assert results["minoring"] <= results["interpolation"] <= results["majoring"]
    logits = np.log(y_pred / (1 - y_pred + 1e-12) + 1e-12)
    assert M.AUC(from_logits=True)(y_true, logits) == pytest.approx(M.AUC()(y_true, y_pred))
    # the same thresholds given explicitly (counted by comparison, not by bucket)
    inner = [(i + 1) / 9 for i in range(8)]
    given, default = M.AUC(thresholds=inner[::2]), M.AUC(num_thresholds=10)
    assert default.result() == 0.0 and not given._evenly
    expected = _counts_by_hand(y_true, y_pred, [-1e-7, *inner[::2], 1 + 1e-7])
    given.update_state(y_true, y_pred)
    np.testing.assert_allclose(given.true_positives.numpy(), expected[0])
    assert default(y_true, y_pred) == pytest.approx(_keras_auc_by_hand(y_true, y_pred, 10))


def test_auc_multi_label_averages_the_labels():
    y_true, y_pred = _scores(400, (3,))
    per_label = [_keras_auc_by_hand(y_true[:, j], y_pred[:, j]) for j in range(3)]
    m = M.AUC(multi_label=True)
    assert m.variables == []  # sized by the first batch
    assert m(y_true, y_pred) == pytest.approx(np.mean(per_label), rel=1e-9)
    assert m.true_positives.shape == (200, 3)
    label_weights = [1.0, 0.0, 3.0]
    weighted = M.AUC(multi_label=True, num_labels=3, label_weights=label_weights)
    assert weighted(y_true, y_pred) == pytest.approx(np.average(per_label, weights=label_weights))
    flat = M.AUC()(y_true, y_pred)  # not multi_label: one curve of all 1200 entries
    assert flat == pytest.approx(_keras_auc_by_hand(y_true, y_pred), rel=1e-9)
    with pytest.raises(ValueError, match="auc: num_labels is needed only when multi_label"):
        M.AUC(num_labels=3)
    with pytest.raises(ValueError, match="auc: curve must be 'ROC' or 'PR'"):
        M.AUC(curve="PRGAIN")
    with pytest.raises(ValueError, match="auc: num_thresholds must be an int > 1"):
        M.AUC(num_thresholds=1)


def test_confusion_metrics_by_name_in_fit_and_their_configs():
    x = RNG.standard_normal((64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = _dense_model(1, "sigmoid")
    model.compile("adam", loss="binary_crossentropy", metrics=["precision", "recall", "auc"])
    logs = model.fit(x, y, epochs=1, batch_size=16, verbose=0).history
    assert {"precision", "recall", "auc"} <= set(logs)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    assert logs["auc"] == pytest.approx(_keras_auc_by_hand(y, p), rel=1e-6)
    for metric in (
        M.Precision(thresholds=[0.2, 0.6], class_id=1),
        M.Recall(top_k=2),
        M.AUC(curve="PR", thresholds=[0.3, 0.6], from_logits=True),
        M.AUC(multi_label=True, num_labels=2, label_weights=[1.0, 2.0]),
    ):
        again = M.deserialize(M.serialize(metric))
        assert type(again) is type(metric) and again.get_config() == metric.get_config()


def test_loss_metric_classes_average_the_losses():
    y_true = RNG.random((20, 3))
    y_pred = RNG.random((20, 3))
    labels = RNG.integers(0, 3, 20)
    for metric, fn, args in (
        (M.MeanSquaredError(), wg.losses.mean_squared_error, (y_true, y_pred)),
        (M.MeanAbsoluteError(), wg.losses.mean_absolute_error, (y_true, y_pred)),
        (M.BinaryCrossentropy(), wg.losses.binary_crossentropy, (y_true > 0.5, y_pred)),
        (M.CategoricalCrossentropy(), wg.losses.categorical_crossentropy, (y_true, y_pred)),
        (
            M.SparseCategoricalCrossentropy(from_logits=True),
            lambda a, b: wg.losses.sparse_categorical_crossentropy(a, b, from_logits=True),
            (labels, y_pred),
        ),
    ):
        metric.update_state(args[0][:8], args[1][:8])
        metric.update_state(args[0][8:], args[1][8:])
        assert metric.result() == pytest.approx(float(np.mean(fn(*args).numpy())), rel=1e-6)
        again = M.deserialize(M.serialize(metric))
        assert type(again) is type(metric) and again.get_config() == metric.get_config()
    rmse = M.RootMeanSquaredError()
    rmse.update_state(y_true, y_pred)
    assert rmse.result() == pytest.approx(np.sqrt(np.mean((y_true - y_pred) ** 2)), rel=1e-6)
    assert M.get("root_mean_squared_error").name == "root_mean_squared_error"
    assert M.get("mape").name == "mape" and M.get("kl_divergence").fn is wg.losses.kl_divergence
    assert M.BinaryCrossentropy(label_smoothing=0.1).get_config()["label_smoothing"] == 0.1


def _f_beta_by_hand(y_true, predicted, beta, weights=None):
    """Per-class F-beta of 0/1 predictions (sklearn's definition; 0 where undefined)."""
    w = np.ones(len(y_true)) if weights is None else weights
    tp = (w[:, None] * predicted * y_true).sum(0)
    fp = (w[:, None] * predicted * (1 - y_true)).sum(0)
    fn = (w[:, None] * (1 - predicted) * y_true).sum(0)
    b2 = beta**2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num((1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)), tp, fp, fn


def test_f_scores_against_hand_counts():
    y_true = RNG.integers(0, 2, (60, 4))
    y_pred = RNG.random((60, 4)).astype("float32")
    weights = RNG.random(60)
    above = (y_pred > 0.4).astype(float)
    for beta in (1.0, 0.5):
        m = M.FBetaScore(beta=beta, threshold=0.4)
        m.update_state(y_true[:25], y_pred[:25], sample_weight=weights[:25])
        m.update_state(y_true[25:], y_pred[25:], sample_weight=weights[25:])
        per_class, *_ = _f_beta_by_hand(y_true, above, beta, weights)
        np.testing.assert_allclose(m.result(), per_class, rtol=1e-5)
    support = y_true.sum(0)
    per_class, tp, fp, fn = _f_beta_by_hand(y_true, above, 1.0)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    for average, expected in (
        ("micro", micro),
        ("macro", per_class.mean()),
        ("weighted", (per_class * support).sum() / support.sum()),
    ):
        got = M.F1Score(average=average, threshold=0.4)(y_true, y_pred)
        assert got == pytest.approx(expected, rel=1e-5)
    # no threshold: each row's largest score is its prediction; an all-zero row predicts none
    argmax = np.eye(4)[y_pred.argmax(1)]
    expected = _f_beta_by_hand(y_true, argmax, 1)[0]
    np.testing.assert_allclose(M.F1Score()(y_true, y_pred), expected, rtol=1e-5)
    zero = M.F1Score(average="micro")
    zero.update_state([[1, 0]], [[0.0, 0.0]])
    assert zero.false_positives.numpy() == 0.0 and zero.false_negatives.numpy() == 1.0
    assert type(M.get("f1_score")) is M.F1Score and "beta" not in M.F1Score().get_config()
    with pytest.raises(ValueError, match="f1_score: average must be None"):
        M.F1Score(average="samples")
    with pytest.raises(ValueError, match=r"f1_score: threshold must be a float in \(0, 1\]"):
        M.F1Score(threshold=0)
    with pytest.raises(ValueError, match=r"fbeta_score: expects y_true and y_pred of shape"):
        M.FBetaScore()([1, 0], [0.2, 0.8])


def test_f1_score_in_fit_logs():
    x = RNG.standard_normal((64, 4)).astype("float32")
    y = np.eye(3)[RNG.integers(0, 3, 64)]
    model = _dense_model(3, "softmax")
    model.compile("adam", loss="categorical_crossentropy", metrics=[M.F1Score(average="macro")])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    argmax = np.eye(3)[model.predict(x, verbose=0).argmax(1)]
    assert logs["f1_score"] == pytest.approx(_f_beta_by_hand(y, argmax, 1)[0].mean(), rel=1e-5)


# -- 5. losses ------------------------------------------------------------------------------


def _positive(shape):
    return RNG.uniform(0.1, 0.9, shape)


def _distribution(shape):
    p = RNG.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


def _torch_values(name, y_true, y_pred):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t, p = torch.tensor(y_true), torch.tensor(y_pred)
    return {
        "kl_divergence": lambda: F.kl_div(torch.log(p), t, reduction="none").sum(-1),
        "poisson": lambda: F.poisson_nll_loss(
            p, t, log_input=False, eps=1e-7, reduction="none"
        ).mean(-1),
        "cosine_similarity": lambda: -F.cosine_similarity(t, p, dim=-1),
    }[name]().numpy()


def _closed_form(name, y_true, y_pred):
    signs = np.where(y_true == 0, -1.0, y_true) if set(np.unique(y_true)) <= {0, 1} else y_true
    margin = np.maximum(1 - signs * y_pred, 0)
    return {
        "hinge": lambda: margin.mean(-1),
        "squared_hinge": lambda: (margin**2).mean(-1),
        "categorical_hinge": lambda: np.maximum(
            ((1 - y_true) * y_pred).max(-1) - (y_true * y_pred).sum(-1) + 1, 0
        ),
        "log_cosh": lambda: np.log(np.cosh(y_pred - y_true)).mean(-1),
        "mean_absolute_percentage_error": lambda: (
            100 * np.abs((y_true - y_pred) / np.abs(y_true)).mean(-1)
        ),
        "mean_squared_logarithmic_error": lambda: ((np.log1p(y_pred) - np.log1p(y_true)) ** 2).mean(
            -1
        ),
    }[name]()


# name, class, y_true maker, y_pred maker, oracle
LOSS_CASES = [
    ("kl_divergence", wg.losses.KLDivergence, _distribution, _distribution, _torch_values),
    ("poisson", wg.losses.Poisson, lambda s: RNG.poisson(2.0, s) * 1.0, _positive, _torch_values),
    (
        "cosine_similarity",
        wg.losses.CosineSimilarity,
        RNG.standard_normal,
        RNG.standard_normal,
        _torch_values,
    ),
    ("hinge", wg.losses.Hinge, lambda s: RNG.integers(0, 2, s) * 1.0, RNG.standard_normal,
     _closed_form),
    ("squared_hinge", wg.losses.SquaredHinge, lambda s: RNG.choice([-1.0, 1.0], s),
     RNG.standard_normal, _closed_form),
    ("categorical_hinge", wg.losses.CategoricalHinge,
     lambda s: np.eye(s[-1])[RNG.integers(0, s[-1], s[:-1])], RNG.standard_normal, _closed_form),
    ("log_cosh", wg.losses.LogCosh, RNG.standard_normal, RNG.standard_normal, _closed_form),
    ("mean_absolute_percentage_error", wg.losses.MeanAbsolutePercentageError,
     lambda s: RNG.uniform(0.5, 2.0, s) * RNG.choice([-1, 1], s), RNG.standard_normal,
     _closed_form),
    ("mean_squared_logarithmic_error", wg.losses.MeanSquaredLogarithmicError, _positive,
     _positive, _closed_form),
]  # fmt: skip


@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_new_losses_values_gradients_and_names(case):
    name, cls, make_true, make_pred, oracle = case
    y_true, y_pred = make_true((6, 4)), make_pred((6, 4))
    fn = getattr(wg.losses, name)
    per_sample = fn(y_true, wg.constant(y_pred))
    assert per_sample.dtype == wg.float64 and per_sample.shape == (6,)
    np.testing.assert_allclose(per_sample.numpy(), oracle(name, y_true, y_pred), rtol=1e-10)
    check_grads(lambda p: fn(y_true, p), (y_pred,), order=1)
    loss = wg.losses.get(name)
    assert type(loss) is cls and loss.name == name
    assert float(loss(y_true, y_pred)) == pytest.approx(per_sample.numpy().mean(), rel=1e-12)
    assert type(wg.losses.deserialize(wg.losses.serialize(loss))) is cls
    model = _dense_model(4, "softplus")  # positive outputs: Poisson's rates need them
    model.compile("adam", loss=cls())
    x = RNG.random((8, 4))
    assert math.isfinite(model.fit(x, make_true((8, 4)), verbose=0).history["loss"][0])


def test_loss_conventions_follow_keras():
    # cosine similarity is a loss: aligned vectors cost -1, opposite ones +1, zero vectors 0
    loss = wg.losses.cosine_similarity([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]],
                                       [[2.0, 2.0], [-3.0, 0.0], [1.0, 2.0]])  # fmt: skip
    np.testing.assert_allclose(loss.numpy(), [-1.0, 1.0, 0.0], atol=1e-6)
    assert wg.losses.CosineSimilarity(axis=0).get_config()["axis"] == 0
    # 0/1 labels become -1/1 in the hinge losses; -1/1 labels are kept
    assert np.array_equal(
        wg.losses.hinge([[0.0, 1.0]], [[0.5, 0.5]]).numpy(),
        wg.losses.hinge([[-1.0, 1.0]], [[0.5, 0.5]]).numpy(),
    )
    aliases = {
        "kld": wg.losses.KLDivergence,
        "KLD": wg.losses.KLDivergence,
        "mape": wg.losses.MeanAbsolutePercentageError,
        "msle": wg.losses.MeanSquaredLogarithmicError,
    }
    for alias, cls in aliases.items():
        assert type(wg.losses.get(alias)) is cls
    # a zero in either distribution is clipped to 1e-7, never log(0)
    assert math.isfinite(float(wg.losses.KLDivergence()([[1.0, 0.0]], [[0.0, 1.0]])))
    with pytest.raises(ValueError, match=r"categorical_hinge: y_true shape \[2, 3\]"):
        wg.losses.categorical_hinge(np.zeros((2, 3)), np.zeros((2, 4)))


# -- 6. Adamax and Nadam ------------------------------------------------------------------


# (wengert kwargs, torch kwargs): the defaults, other betas and epsilon, coupled weight decay
MOMENT_CASES = [
    ({"learning_rate": 0.01}, {"lr": 0.01, "eps": 1e-7}),
    (
        {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3},
        {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-3},
    ),
    ({"learning_rate": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "eps": 1e-7, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("kw, tkw", MOMENT_CASES)
def test_adamax_matches_torch_step_for_step(kw, tkw):
    torch = pytest.importorskip("torch")
    _run_both(lambda: optimizers.Adamax(**kw), lambda ps: torch.optim.Adamax(ps, **tkw))


@pytest.fixture
def torch_float64():
    """torch keeps NAdam's momentum product in its default dtype: make that float64."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


@pytest.mark.parametrize("kw, tkw", MOMENT_CASES)
def test_nadam_is_torch_nadam_with_momentum_decay_1(torch_float64, kw, tkw):
    torch = torch_float64
    _run_both(
        lambda: optimizers.Nadam(**kw),
        lambda ps: torch.optim.NAdam(ps, momentum_decay=1.0, **tkw),
        steps=12,
    )


def _keras_nadam(w, grads, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Keras 3's Nadam.update_step, transcribed in NumPy."""
    m, v, u_product = np.zeros_like(w), np.zeros_like(w), 1.0
    for iterations, g in enumerate(grads):
        u_product *= beta_1 * (1.0 - 0.5 * 0.96 ** (iterations + 1))  # _backend_update_step
        u_t = beta_1 * (1.0 - 0.5 * 0.96 ** (iterations + 1))
        u_t_1 = beta_1 * (1.0 - 0.5 * 0.96 ** (iterations + 2))
        m += (g - m) * (1 - beta_1)
        v += (g * g - v) * (1 - beta_2)
        m_hat = u_t_1 * m / (1 - u_product * u_t_1) + (1 - u_t) * g / (1 - u_product)
        v_hat = v / (1 - beta_2 ** (iterations + 1))
        w = w - m_hat * lr / (np.sqrt(v_hat) + epsilon)
    return w


def test_nadam_matches_keras_formula_and_resumes_from_its_state():
    init = RNG.standard_normal((3, 4))
    grads = [RNG.standard_normal((3, 4)) for _ in range(10)]
    w = wg.Variable(init)
    opt = optimizers.Nadam(learning_rate=0.05)
    for g in grads[:6]:
        opt.apply_gradients([(wg.constant(g), w)])
    # a new optimizer given the state continues as the first one would
    resumed_w, resumed = wg.Variable(w.numpy()), optimizers.Nadam(learning_rate=0.05)
    resumed.build([resumed_w])
    resumed.set_state(opt.get_state())
    for g in grads[6:]:
        opt.apply_gradients([(wg.constant(g), w)])
        resumed.apply_gradients([(wg.constant(g), resumed_w)])
    expected = _keras_nadam(init, grads, lr=0.05)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(resumed_w.numpy(), w.numpy())


def test_nadam_and_adamax_names_defaults_and_configs():
    for name, cls in (("nadam", optimizers.Nadam), ("Adamax", optimizers.Adamax)):
        opt = optimizers.get(name)
        assert type(opt) is cls
        assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (0.001, 0.9, 0.999, 1e-7)
        again = optimizers.deserialize(optimizers.serialize(cls(beta_1=0.8, weight_decay=0.1)))
        assert type(again) is cls and again.beta_1 == 0.8 and again.weight_decay == 0.1
        with pytest.raises(ValueError, match=f"{cls.__name__}: beta_2 must be in"):
            cls(beta_2=1.0)
    w = wg.Variable(np.ones(3, "float32"))
    optimizers.Nadam().apply_gradients([(np.ones(3), w)])
    assert w.dtype == wg.float32


# -- 7. wg.utils ------------------------------------------------------------------------------


def test_to_categorical_as_keras():
    got = wg.utils.to_categorical(np.array([[0], [2], [1]]))
    assert got.dtype == np.float32 and got.shape == (3, 3)
    np.testing.assert_array_equal(got, np.eye(3)[[0, 2, 1]])
    grid = wg.utils.to_categorical([[0, 1], [1, 0]], num_classes=4, dtype="int32")
    assert grid.shape == (2, 2, 4) and grid.dtype == np.int32 and grid[0, 1, 1] == 1
    assert wg.utils.to_categorical(wg.constant([1.0, 0.0])).tolist() == [[0, 1], [1, 0]]
    assert wg.utils.to_categorical(3, num_classes=5).tolist() == [0, 0, 0, 1, 0]
    with pytest.raises(ValueError, match=r"to_categorical: label 3 is outside \[0, 3\)"):
        wg.utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="to_categorical: label -1"):
        wg.utils.to_categorical([0, -1])
    with pytest.raises(ValueError, match="whole numbers"):
        wg.utils.to_categorical([0.5])


def test_pad_sequences_as_keras():
    seqs = [[1, 2, 3, 4], [5, 6], [], [7]]
    pre = wg.utils.pad_sequences(seqs)
    assert pre.dtype == np.int32
    assert pre.tolist() == [[1, 2, 3, 4], [0, 0, 5, 6], [0, 0, 0, 0], [0, 0, 0, 7]]
    post = wg.utils.pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1)
    assert post.tolist() == [[1, 2, 3], [5, 6, -1], [-1, -1, -1], [7, -1, -1]]
    cut = wg.utils.pad_sequences(seqs, maxlen=2)  # truncating "pre" keeps the ends
    assert cut.tolist() == [[3, 4], [5, 6], [0, 0], [0, 7]]
    steps = wg.utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert steps.shape == (2, 2, 3) and steps[1, 0].tolist() == [0.0, 0.0, 0.0]
    assert wg.utils.pad_sequences([[1], [2, 3]], maxlen=0).shape == (2, 0)
    assert wg.utils.pad_sequences([]).shape == (0, 0)
    words = wg.utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    with pytest.raises(ValueError, match="pad_sequences: padding must be 'pre' or 'post'"):
        wg.utils.pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="pad_sequences: sequence 1 is not a sequence"):
        wg.utils.pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="dtype=object"):
        wg.utils.pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match=r"sequence 1 has steps of shape \(2,\)"):
        wg.utils.pad_sequences([np.ones((1, 3)), np.ones((1, 2))])
