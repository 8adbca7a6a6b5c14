"""Keras's functional API: layers called on wg.Input record a graph, wg.Model(inputs,
outputs) replays it; shared layers, several inputs and outputs, nesting, merge layers,
configs, save/load, and training equal to the same model written as a subclass."""

from __future__ import annotations

import json

import numpy as np
import pytest

import wengert as wg
from wengert import layers

RNG = np.random.default_rng(41)


def test_a_functional_model_trains_as_the_same_sequential_model():
    wg.random.set_seed(0)
    inputs = wg.Input((4,))
    x = layers.Dense(8, activation="relu")(inputs)
    outputs = layers.Dense(3)(x)
    functional = wg.Model(inputs=inputs, outputs=outputs, name="mnist_like")
    sequential = wg.Sequential(
        [layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(3)]
    )
    sequential.set_weights(functional.get_weights())
    for model in (functional, sequential):
        model.compile(wg.optimizers.SGD(0.1), wg.losses.SparseCategoricalCrossentropy(True))
    xs = RNG.standard_normal((32, 4)).astype("float32")
    ys = RNG.integers(0, 3, 32)
    a = functional.fit(xs, ys, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    b = sequential.fit(xs, ys, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert a == b
    for wa, wb in zip(functional.get_weights(), sequential.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    # As Keras lists them: the InputLayer first, then the layers in call order.
    names = [lay.name for lay in functional.layers]
    assert (
        outputs.shape == (None, 3) and names[0].startswith("input") and names[1].startswith("dense")
    )


def test_shared_layers_branches_and_several_inputs_and_outputs():
    shared = layers.Dense(2, name="shared")
    a, b = wg.Input((3,), name="a"), wg.Input((3,), name="b")
    merged = layers.Concatenate()([shared(a), shared(b)])
    total = layers.Add()([shared(a), shared(b)])
    model = wg.Model([a, b], {"merged": merged, "total": total})
    assert model.count_params() == 8  # one kernel and bias, however often called
    xa, xb = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 3))
    out = model([wg.constant(xa, "float32"), wg.constant(xb, "float32")])
    k, bias = shared.get_weights()
    ya, yb = xa @ k + bias, xb @ k + bias
    np.testing.assert_allclose(out["merged"].numpy(), np.concatenate([ya, yb], 1), rtol=1e-5)
    np.testing.assert_allclose(out["total"].numpy(), ya + yb, rtol=1e-5)
    # gradients reach the shared kernel through every use
    xs = [wg.constant(xa, "float32"), wg.constant(xb, "float32")]
    with wg.GradientTape() as tape:
        loss = wg.reduce_sum(model(xs)["total"])
    (gk, gb) = tape.gradient(loss, shared.trainable_weights)
    np.testing.assert_allclose(gk.numpy(), np.tile((xa + xb).sum(0)[:, None], (1, 2)), rtol=1e-5)
    np.testing.assert_allclose(gb.numpy(), [10.0, 10.0])


def test_a_functional_model_is_a_layer_of_another_and_round_trips(tmp_path):
    wg.random.set_seed(2)
    inner_in = wg.Input((3,))
    inner = wg.Model(inner_in, layers.Dense(4, activation="tanh")(inner_in), name="encoder")
    outer_in = wg.Input((3,))
    outer = wg.Model(outer_in, layers.Dense(1)(inner(outer_in)))
    x = RNG.standard_normal((6, 3)).astype("float32")
    expected = outer.predict(x)
    config = outer.get_config()
    json.dumps(config)
    again = type(outer).from_config(config)
    again.set_weights(outer.get_weights())
    np.testing.assert_array_equal(again.predict(x), expected)
    outer.compile("adam", "mse")
    outer.fit(x, np.zeros((6, 1), "float32"), verbose=0)
    path = str(tmp_path / "functional.npz")
    outer.save(path)
    loaded = wg.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), outer.predict(x))
    assert loaded.optimizer.iterations == 1 and loaded.get_layer("encoder") is not None


def test_merge_layers_and_the_errors_of_a_bad_graph():
    ones, twos = wg.ones((2, 3)), wg.fill((2, 3), 2.0)
    assert layers.Subtract()([twos, ones]).numpy().tolist() == [[1.0] * 3] * 2
    assert layers.Multiply()([twos, twos]).numpy()[0, 0] == 4.0
    assert layers.Average()([ones, twos]).numpy()[0, 0] == 1.5
    assert layers.Maximum()([ones, twos]).numpy()[0, 0] == 2.0
    assert layers.Minimum()([ones, twos]).numpy()[0, 0] == 1.0
    assert layers.Concatenate(axis=0)([ones, twos]).shape == (4, 3)
    with pytest.raises(ValueError, match="Add '.*': the inputs' shapes differ"):
        layers.Add()([ones, wg.ones((2, 4))])
    with pytest.raises(ValueError, match="expects a list of at least 2 tensors"):
        layers.Add()(ones)
    a, b = wg.Input((3,)), wg.Input((3,))
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="depend on input .* not among the model's inputs"):
        wg.Model(a, out)
    with pytest.raises(TypeError, match="outputs must be what layers called on the inputs"):
        wg.Model(a, wg.ones((1, 3)))


def test_fit_evaluate_and_predict_a_model_with_two_inputs():
    wg.random.set_seed(4)
    title, body = wg.Input((3,), name="title"), wg.Input((5,), name="body")
    joined = layers.Concatenate()([layers.Dense(4)(title), layers.Dense(4)(body)])
    model = wg.Model([title, body], layers.Dense(1)(joined))
    model.compile(wg.optimizers.SGD(0.05), "mse")
    xt = RNG.standard_normal((40, 3)).astype("float32")
    xb = RNG.standard_normal((40, 5)).astype("float32")
    y = (xt.sum(1, keepdims=True) - xb.sum(1, keepdims=True)).astype("float32")
    history = model.fit([xt, xb], y, batch_size=8, epochs=15, validation_split=0.25, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert "val_loss" in history.history
    pred = model.predict([xt, xb], batch_size=16)
    assert pred.shape == (40, 1)
    expected = float(((pred - y) ** 2).mean())
    assert model.evaluate([xt, xb], y, batch_size=40, verbose=0) == pytest.approx(
        expected, rel=1e-5
    )
    assert model.predict([xt[:0], xb[:0]]).shape == (0, 1)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.fit([xt, xb[:10]], y, verbose=0)


@pytest.mark.parametrize("as_dict", [False, True])
def test_a_model_with_two_outputs_trains_on_the_weighted_sum_of_their_losses(as_dict, tmp_path):
    wg.random.set_seed(5)
    inputs = wg.Input((4,))
    hidden = layers.Dense(6, activation="tanh")(inputs)
    score = layers.Dense(1, name="score")(hidden)
    kind = layers.Dense(3, name="kind")(hidden)
    outputs = {"score": score, "kind": kind} if as_dict else [score, kind]
    model = wg.Model(inputs, outputs)
    mse, cce = wg.losses.MeanSquaredError(), wg.losses.SparseCategoricalCrossentropy(True)
    loss = {"score": mse, "kind": cce} if as_dict else [mse, cce]
    weights = {"score": 0.5, "kind": 2.0} if as_dict else [0.5, 2.0]
    model.compile(wg.optimizers.SGD(0.1), loss=loss, loss_weights=weights)
    x = RNG.standard_normal((24, 4)).astype("float32")
    ys, yk = RNG.standard_normal((24, 1)).astype("float32"), RNG.integers(0, 3, 24)
    y = {"score": ys, "kind": yk} if as_dict else [ys, yk]
    # the evaluated loss is the weighted sum, each part logged under its output's name
    logs = model.evaluate(x, y, batch_size=24, verbose=0, return_dict=True)
    pred = model.predict(x)
    ps, pk = (pred["score"], pred["kind"]) if as_dict else pred
    expected_s = float(((ps - ys) ** 2).mean())
    expected_k = float(cce(yk, wg.constant(pk)))
    # each output's loss is logged weighted, as Keras 3 logs it: the parts add up to the loss
    assert logs["score_loss"] == pytest.approx(0.5 * expected_s, rel=1e-5)
    assert logs["kind_loss"] == pytest.approx(2.0 * expected_k, rel=1e-5)
    assert logs["loss"] == pytest.approx(0.5 * expected_s + 2.0 * expected_k, rel=1e-5)
    history = model.fit(x, y, batch_size=8, epochs=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = str(tmp_path / "two.npz")
    model.save(path)
    loaded = wg.models.load_model(path)
    again = loaded.evaluate(x, y, batch_size=24, verbose=0, return_dict=True)
    assert again == pytest.approx(model.evaluate(x, y, batch_size=24, verbose=0, return_dict=True))


def test_functional_details_keras_users_rely_on():
    from wengert.layers.base import get_mask

    # inputs given as a dict are matched by key (or by the inputs' names), not by order
    a, b = wg.Input((2,), name="a"), wg.Input((2,), name="b")
    diff = layers.Subtract()([a, b])
    ones, zeros = np.ones((1, 2), "float32"), np.zeros((1, 2), "float32")
    for model in (wg.Model({"a": a, "b": b}, diff), wg.Model([a, b], diff)):
        np.testing.assert_array_equal(model.predict({"b": zeros, "a": ones}), ones)
    # training=True given at definition stays (Monte Carlo dropout)
    x = wg.Input((1000,))
    mc = wg.Model(x, layers.Dropout(0.5)(x, training=True))
    assert 0.4 < float((mc.predict(np.ones((1, 1000), "float32")) == 0).mean()) < 0.6
    # padding masks pass through merge layers
    ids = wg.Input((4,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)(ids)
    summed = layers.Add()([emb, layers.Dense(4)(emb)])
    seq = wg.Model(ids, layers.LSTM(3)(summed))
    np.testing.assert_allclose(
        seq.predict(np.array([[3, 5, 0, 0]])), seq.predict(np.array([[3, 5]])), rtol=1e-5
    )
    assert get_mask(layers.Add()([wg.ones((1, 2, 3)), wg.ones((1, 2, 3))])) is None
    # unknown sizes stay unknown, and fully convolutional inputs build
    img = wg.Input((None, None, 3))
    conv = layers.Conv2D(4, 3)(img)
    assert conv.shape == (None, None, None, 4)
    fcn = wg.Model(img, layers.GlobalAveragePooling2D()(conv))
    assert fcn.predict(np.zeros((2, 9, 7, 3), "float32")).shape == (2, 4)


def test_one_loss_for_several_outputs_and_batches_of_several_inputs():
    wg.random.set_seed(8)
    a, b = wg.Input((3,)), wg.Input((2,))
    joined = layers.Concatenate()([a, b])
    out1, out2 = layers.Dense(1, name="o1")(joined), layers.Dense(1, name="o2")(joined)
    model = wg.Model([a, b], [out1, out2])
    model.compile("sgd", "mse")  # one loss: applied to every output and summed, as Keras
    xa, xb = RNG.standard_normal((10, 3)), RNG.standard_normal((10, 2))
    y = RNG.standard_normal((10, 1)).astype("float32")
    logs = model.evaluate([xa, xb], [y, y], batch_size=10, verbose=0, return_dict=True)
    p1, p2 = model.predict([xa, xb])
    m1, m2 = float(((p1 - y) ** 2).mean()), float(((p2 - y) ** 2).mean())
    assert logs["o1_loss"] == pytest.approx(m1, rel=1e-5) and logs["o2_loss"] == pytest.approx(
        m2, rel=1e-5
    )
    assert logs["loss"] == pytest.approx(m1 + m2, rel=1e-5)

    def batches():
        for s in range(0, 10, 5):
            yield [xa[s : s + 5], xb[s : s + 5]], [y[s : s + 5], y[s : s + 5]]

    history = model.fit(batches(), epochs=1, verbose=0)
    assert set(history.history) == {"loss", "o1_loss", "o2_loss"}


def test_symbolic_states_as_keyword_arguments_the_encoder_decoder_pattern():
    wg.random.set_seed(9)
    enc_in, dec_in = wg.Input((None, 6)), wg.Input((None, 5))
    encoder, decoder = layers.LSTM(8, return_state=True), layers.LSTM(8, return_sequences=True)
    _, h, c = encoder(enc_in)
    head = layers.Dense(5)
    model = wg.Model([enc_in, dec_in], head(decoder(dec_in, initial_state=[h, c])))
    x1 = RNG.standard_normal((2, 7, 6)).astype("float32")
    x2 = RNG.standard_normal((2, 4, 5)).astype("float32")
    _, eh, ec = encoder(wg.constant(x1))
    by_hand = head(decoder(wg.constant(x2), initial_state=[eh, ec])).numpy()
    np.testing.assert_allclose(model.predict([x1, x2]), by_hand, rtol=1e-6)
    again = type(model).from_config(json.loads(json.dumps(model.get_config())))
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict([x1, x2]), model.predict([x1, x2]))


def test_arithmetic_on_symbolic_values_builds_graph_nodes():
    wg.random.set_seed(10)
    x = wg.Input((3,))
    dense = layers.Dense(3)
    y = dense(x)
    out = -(1.0 - ((x + y) * 2.0 - 1.0) / 4.0) @ wg.constant(np.eye(3, dtype="float32"))
    model = wg.Model(x, out)
    a = RNG.standard_normal((2, 3)).astype("float32")
    yy = dense(wg.constant(a)).numpy()
    np.testing.assert_allclose(model.predict(a), -(1 - ((a + yy) * 2 - 1) / 4), rtol=1e-6)


def test_a_model_with_a_python_function_inside_refuses_to_save(tmp_path):
    x = wg.Input((2,))
    model = wg.Model(x, layers.Dense(1)(layers.Lambda(lambda t: t + 1.0)(x)))
    with pytest.raises(TypeError, match="Lambda .* cannot be saved as plain data"):
        model.save(str(tmp_path / "lambda.npz"))
    assert not (tmp_path / "lambda.npz").exists()


def test_a_function_that_cannot_record_itself_says_what_to_do_instead():
    x = wg.Input((3,))
    with pytest.raises(TypeError, match="value of a model being defined.*Lambda"):
        np.asarray(x)
    y = layers.Lambda(wg.nn.relu)(x)  # the way round it
    assert y.shape == (None, 3)


@pytest.mark.parametrize("style", ["dict", "nested"])
def test_metrics_per_output_are_logged_under_each_outputs_name(style, tmp_path):
    wg.random.set_seed(11)
    inputs = wg.Input((4,))
    score = layers.Dense(1, name="score")(inputs)
    kind = layers.Dense(3, name="kind")(inputs)
    model = wg.Model(inputs, [score, kind])
    loss = ["mse", wg.losses.SparseCategoricalCrossentropy(from_logits=True)]
    metric_spec = {
        "dict": {"score": ["mae"], "kind": ["accuracy"]},
        "nested": [["mae"], ["accuracy"]],
    }[style]
    model.compile("sgd", loss=loss, metrics=metric_spec)
    x = RNG.standard_normal((20, 4)).astype("float32")
    ys, yk = RNG.standard_normal((20, 1)).astype("float32"), RNG.integers(0, 3, 20)
    logs = model.evaluate(x, [ys, yk], batch_size=20, verbose=0, return_dict=True)
    ps, pk = model.predict(x)
    assert logs["score_mae"] == pytest.approx(float(np.abs(ps - ys).mean()), rel=1e-5)
    assert logs["kind_accuracy"] == pytest.approx(float((pk.argmax(1) == yk).mean()))
    model.fit(x, [ys, yk], epochs=1, verbose=0)
    path = str(tmp_path / "m.npz")
    model.save(path)
    again = wg.models.load_model(path).evaluate(
        x, [ys, yk], batch_size=20, verbose=0, return_dict=True
    )
    assert again == pytest.approx(
        model.evaluate(x, [ys, yk], batch_size=20, verbose=0, return_dict=True)
    )


def test_list_outputs_take_losses_weights_and_targets_by_output_name():
    wg.random.set_seed(12)
    inputs = wg.Input((3,))
    cls, reg = layers.Dense(2, name="cls")(inputs), layers.Dense(1, name="reg")(inputs)
    model = wg.Model(inputs, [cls, reg])
    model.compile(
        "sgd",
        loss={"reg": "mse", "cls": wg.losses.SparseCategoricalCrossentropy(True)},
        loss_weights={"cls": 1.0, "reg": 0.25},
        metrics={"reg": ["mae"]},
    )
    x = RNG.standard_normal((12, 3)).astype("float32")
    yc, yr = RNG.integers(0, 2, 12), RNG.standard_normal((12, 1)).astype("float32")
    by_name = model.evaluate(x, {"reg": yr, "cls": yc}, batch_size=12, verbose=0, return_dict=True)
    by_order = model.evaluate(x, [yc, yr], batch_size=12, verbose=0, return_dict=True)
    assert by_name == by_order
    pc, pr = model.predict(x)
    expected_reg = 0.25 * float(((pr - yr) ** 2).mean())
    assert by_name["reg_loss"] == pytest.approx(expected_reg, rel=1e-5)
    assert by_name["loss"] == pytest.approx(by_name["cls_loss"] + by_name["reg_loss"], rel=1e-6)
    assert by_name["reg_mae"] == pytest.approx(float(np.abs(pr - yr).mean()), rel=1e-5)
    with pytest.raises(ValueError, match=r"y given by name \['other', 'reg'\]"):
        model.evaluate(x, {"reg": yr, "other": yc}, verbose=0)
    a = wg.Input((2,))
    assert isinstance(np.ones(2, "float32") + a, type(a + 1.0))  # NumPy defers to the graph


def test_summary_shows_what_each_layer_is_connected_to():
    x = wg.Input((8,), name="features")
    t = wg.Input((None, 4), name="seq")
    shared = layers.Dense(8, activation="relu", name="shared")
    twice = shared(wg.multiply(shared(x), 2.0, name="double"))
    h = layers.LSTM(5, name="lstm")(t)
    joined = layers.Concatenate(name="join")([twice, h, wg.reduce_sum(t, axis=1, name="total")])
    model = wg.Model([x, t], layers.Dense(1, name="head")(joined))
    lines = []
    model.summary(print_fn=lines.append)
    rows = {r.split()[0]: r for r in lines[0].splitlines()}
    assert "Connected to" in rows["Layer"]
    assert rows["seq"].split()[1:] == ["(InputLayer)", "(None,", "None,", "4)", "0", "-"]
    assert rows["shared"].split()[-3:] == ["72", "features[0][0],", "double[0][0]"]
    assert rows["double"].endswith("shared[0][0]")
    assert rows["join"].endswith("shared[1][0], lstm[0][0], total[0][0]")
    assert "(None, 17)" in rows["join"]
    assert rows["head"].split()[-2:] == ["18", "join[0][0]"]
