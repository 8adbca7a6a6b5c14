"""Sample weights and weighted metrics for a model with several outputs, checked against
NumPy by hand.

The semantics are Keras 3's (keras/src/trainers/compile_utils.py and
keras/src/trainers/data_adapters/array_data_adapter.py): each output's loss takes its
own weights and reduces them as any loss does (by default "sum_over_batch_size":
sum(weight * loss) / batch size), times its loss weight; one array weights every
output; weighted metrics average by each output's weights; class_weight is refused.
"""

import numpy as np
import pytest

import wengert as wg
from wengert import layers

RNG = np.random.default_rng(20240611)
N = 8
# float32 numbers in float64: exact through the float32 input cast of a model whose dtype
# is not saved (Functional's config leaves it out), so a loaded model computes the same
X = RNG.standard_normal((N, 3)).astype("float32").astype("float64")
YA = RNG.standard_normal((N, 1))
YB = RNG.standard_normal((N, 2))
WA = np.array([1.0, 2.0, 0.0, 0.5, 3.0, 1.0, 0.25, 2.0])
WB = np.array([0.5, 0.0, 1.0, 4.0, 1.0, 2.0, 1.5, 0.75])
KA, BA = RNG.standard_normal((3, 1)), RNG.standard_normal(1)
KB, BB = RNG.standard_normal((3, 2)), RNG.standard_normal(2)
LOSS_WEIGHTS = (0.5, 2.0)


def two_output_model(outputs_as_dict=False, **compile_args):
    """Input (3,) -> a: Dense(1) with loss mse, b: Dense(2) with loss mae; known weights."""
    inputs = wg.Input((3,), dtype="float64")
    a = layers.Dense(1, name="a", dtype="float64")(inputs)
    b = layers.Dense(2, name="b", dtype="float64")(inputs)
    # (the model's dtype too: a model casts its inputs to it, float32 by default)
    model = wg.Model(inputs, {"a": a, "b": b} if outputs_as_dict else [a, b], dtype="float64")
    model.get_layer("a").set_weights([KA, BA])
    model.get_layer("b").set_weights([KB, BB])
    by_output = outputs_as_dict or compile_args.pop("by_name", False)
    loss = {"a": "mse", "b": "mae"} if by_output else ["mse", "mae"]
    weights = dict(zip("ab", LOSS_WEIGHTS)) if by_output else list(LOSS_WEIGHTS)
    compile_args.setdefault("optimizer", wg.optimizers.SGD(0.0))  # weights stay put
    model.compile(loss=loss, loss_weights=weights, **compile_args)
    return model


def by_hand(rows=slice(None), wa=WA, wb=WB):
    """The logs Keras 3 computes for the rows' samples: losses, plain and weighted metrics."""
    x, ya, yb = X[rows], YA[rows], YB[rows]
    n = len(x)
    wa = np.ones(n) if wa is None else np.asarray(wa)[rows].reshape(n)
    wb = np.ones(n) if wb is None else np.asarray(wb)[rows].reshape(n)
    pa, pb = x @ KA + BA, x @ KB + BB
    mse_a, mae_a = ((pa - ya) ** 2).mean(-1), np.abs(pa - ya).mean(-1)
    mse_b, mae_b = ((pb - yb) ** 2).mean(-1), np.abs(pb - yb).mean(-1)
    a_loss = LOSS_WEIGHTS[0] * (wa * mse_a).sum() / n  # sum_over_batch_size
    b_loss = LOSS_WEIGHTS[1] * (wb * mae_b).sum() / n
    return {
        "loss": a_loss + b_loss,
        "a_loss": a_loss,
        "b_loss": b_loss,
        "a_mae": mae_a.mean(),
        "b_mse": mse_b.mean(),
        "a_weighted_mae": (wa * mae_a).sum() / wa.sum(),
        "b_weighted_mse": (wb * mse_b).sum() / wb.sum(),
    }


METRICS = {"metrics": [["mae"], ["mse"]], "weighted_metrics": [["mae"], ["mse"]]}


def assert_logs(logs, expected):
    assert list(logs) == list(expected)
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


@pytest.mark.parametrize("form", ["list", "dict by name", "dict outputs"])
def test_each_outputs_loss_and_weighted_metrics_use_its_own_sample_weights(form):
    if form == "dict outputs":
        model = two_output_model(
            outputs_as_dict=True,
            metrics={"a": ["mae"], "b": ["mse"]},
            weighted_metrics={"a": "mae", "b": ["mse"]},
        )
    else:
        model = two_output_model(**METRICS)
    if form == "list":
        y, sample_weight = [YA, YB], [WA, WB]
    else:
        y, sample_weight = {"b": YB, "a": YA}, {"b": WB, "a": WA}
    # batches of 3: the epoch's means, weighted by batch size, give the whole data's values
    logs = model.evaluate(X, y, sample_weight=sample_weight, batch_size=3, return_dict=True)
    assert_logs(logs, by_hand())
    assert logs["loss"] == pytest.approx(logs["a_loss"] + logs["b_loss"], rel=1e-14)
    values = model.evaluate(X, y, sample_weight=sample_weight, batch_size=N, verbose=0)
    np.testing.assert_allclose(values, list(by_hand().values()), rtol=1e-12)
    assert_logs(model.test_on_batch(X, y, sample_weight=sample_weight, return_dict=True), by_hand())


def test_one_array_weights_every_output_and_none_leaves_one_unweighted():
    model = two_output_model(**METRICS)
    same = by_hand(wa=WA, wb=WA)
    for w in (WA, WA.reshape(N, 1), list(WA)):  # (samples,), (samples, 1), numbers
        logs = model.evaluate(X, [YA, YB], sample_weight=w, batch_size=5, return_dict=True)
        assert_logs(logs, same)
    logs = model.evaluate(X, [YA, YB], sample_weight=[None, WB], batch_size=5, return_dict=True)
    assert_logs(logs, by_hand(wa=None))
    assert logs["a_weighted_mae"] == pytest.approx(logs["a_mae"], rel=1e-14)
    unweighted = model.evaluate(X, [YA, YB], batch_size=5, return_dict=True)
    assert_logs(unweighted, by_hand(wa=None, wb=None))


def test_train_on_batch_steps_on_the_gradient_of_the_weighted_losses():
    lr = 0.1
    model = two_output_model(optimizer=wg.optimizers.SGD(lr), **METRICS)
    logs = model.train_on_batch(X, [YA, YB], sample_weight={"a": WA, "b": WB}, return_dict=True)
    assert_logs(logs, by_hand())  # the logs of the forward pass before the step
    # d/dp of 0.5 * sum(wa (pa - ya)^2) / n and of 2 * sum(wb mean_j |pb - yb|) / n
    pa, pb = X @ KA + BA, X @ KB + BB
    g_a = LOSS_WEIGHTS[0] * 2 * WA[:, None] * (pa - YA) / N
    g_b = LOSS_WEIGHTS[1] * WB[:, None] * np.sign(pb - YB) / (2 * N)
    ka, ba = model.get_layer("a").get_weights()
    kb, bb = model.get_layer("b").get_weights()
    np.testing.assert_allclose(ka, KA - lr * X.T @ g_a, rtol=1e-12)
    np.testing.assert_allclose(ba, BA - lr * g_a.sum(0), rtol=1e-12)
    np.testing.assert_allclose(kb, KB - lr * X.T @ g_b, rtol=1e-12)
    np.testing.assert_allclose(bb, BB - lr * g_b.sum(0), rtol=1e-12)


def test_fit_weights_its_batches_and_validation_split_by_output():
    model = two_output_model(**METRICS)
    history = model.fit(
        X, [YA, YB], sample_weight=[WA, None], validation_split=0.25, batch_size=2, verbose=0
    )
    train, held_out = by_hand(slice(0, 6), wb=None), by_hand(slice(6, None), wb=None)
    for name, value in train.items():
        assert history.history[name][0] == pytest.approx(value, rel=1e-12), name
    for name, value in held_out.items():
        assert history.history[f"val_{name}"][0] == pytest.approx(value, rel=1e-12), name


def test_a_source_of_batches_carries_each_outputs_weights():
    class Batches:
        def __len__(self):
            return 3

        def __iter__(self):
            for s in (slice(0, 3), slice(3, 6), slice(6, 8)):
                yield X[s], {"a": YA[s], "b": YB[s]}, {"a": WA[s], "b": None}

    model = two_output_model(**METRICS)
    history = model.fit(Batches(), epochs=2, verbose=0)
    for name, value in by_hand(wb=None).items():
        assert history.history[name] == pytest.approx([value, value], rel=1e-12), name
    assert_logs(model.evaluate(Batches(), return_dict=True), by_hand(wb=None))


def test_weighted_metric_names_step_aside_as_keras_3s_do():
    model = two_output_model(
        metrics=[["mae"], ["mae"]], weighted_metrics=[["mae", "mae", "mse"], None]
    )
    names = [m.name for m in model.metrics]
    # CompileMetrics.result: a taken name becomes <output>_weighted_<name>, then _1, _2, ...
    assert names == [
        "loss", "a_loss", "b_loss", "a_mae", "b_mae",
        "a_weighted_mae", "a_weighted_mae_1", "a_mse",
    ]  # fmt: skip
    logs = model.evaluate(X, [YA, YB], sample_weight=[WA, WB], return_dict=True)
    expected = by_hand()
    assert (
        logs["a_weighted_mae"]
        == logs["a_weighted_mae_1"]
        == pytest.approx(expected["a_weighted_mae"], rel=1e-12)
    )
    pa = X @ KA + BA
    assert logs["a_mse"] == pytest.approx((WA * ((pa - YA) ** 2)[:, 0]).sum() / WA.sum())


def test_mismatched_sample_weights_raise_naming_the_output_and_sizes():
    model = two_output_model(**METRICS)
    y = [YA, YB]
    with pytest.raises(ValueError, match=r"sample_weight is a list of 3 for the 2 outputs"):
        model.fit(X, y, sample_weight=[WA, WB, WB], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight given by name \['a', 'c'\].*\['a', 'b'\]"):
        model.evaluate(X, y, sample_weight={"a": WA, "c": WB})
    with pytest.raises(ValueError, match=r"sample_weight is a dict with keys \['a'\] for the 2"):
        two_output_model(outputs_as_dict=True).evaluate(
            X, {"a": YA, "b": YB}, sample_weight={"a": WA}
        )
    with pytest.raises(ValueError, match=r"output 'b' has 8 samples but its sample_weight has 5"):
        model.fit(X, y, sample_weight=[WA, WB[:5]], verbose=0)
    with pytest.raises(ValueError, match=r"output 'a' has 8 samples but its sample_weight has 5"):
        model.evaluate(X, y, sample_weight=WA[:5])
    with pytest.raises(ValueError, match=r"output 'b' has 8 samples but its sample_weight has 7"):
        model.train_on_batch(X, y, sample_weight=[None, WB[:7]])
    with pytest.raises(ValueError, match=r"per sample, shape \(8,\); got shape \(8, 2\)"):
        model.evaluate(X, y, sample_weight=np.ones((N, 2)))
    with pytest.raises(ValueError, match="class_weight is only supported for a model with a"):
        model.fit(X, y, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"output 'a' has 3 samples but its sample_weight has 2"):
        model.evaluate(iter([(X[:3], [YA[:3], YB[:3]], [WA[:2], None])]))
    with pytest.raises(ValueError, match=r"compile: weighted_metrics names \['c'\].*\['a', 'b'\]"):
        two_output_model(weighted_metrics={"c": ["mae"]})
    with pytest.raises(ValueError, match=r"compile: metrics has 3 lists.*\['a', 'b'\]"):
        two_output_model(metrics=[["mae"], ["mae"], ["mae"]])


@pytest.mark.parametrize("by_name", [False, True])
def test_save_and_load_keep_weighted_metrics_per_output(by_name, tmp_path):
    model = two_output_model(
        by_name=by_name,
        metrics={"a": ["mae"], "b": ["mse"]},
        weighted_metrics={"a": ["mae"], "b": ["mse"]},
    )
    path = str(tmp_path / "two.npz")
    model.save(path)
    loaded = wg.models.load_model(path)
    assert [m.name for m in loaded.metrics] == [m.name for m in model.metrics]
    logs = loaded.evaluate(X, [YA, YB], sample_weight=[WA, WB], batch_size=3, return_dict=True)
    assert_logs(logs, by_hand())
