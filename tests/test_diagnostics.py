"""gradient_report's numbers are the tape's; saturation, dead units, monitor, plot, CLI."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

import wengert as wg
from wengert import diagnostics
from wengert.cli import main
from wengert.diagnostics import GradientMonitor, GradientReport, LayerGradients, gradient_report
from wengert.layers import Activation, Dense, Dropout, Input

LOSS = wg.losses.SparseCategoricalCrossentropy(from_logits=True)


def _data(n=32, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype("float32"), rng.integers(0, classes, n)


def _norm(*arrays):
    return math.sqrt(sum(float(np.sum(np.asarray(a, "float64") ** 2)) for a in arrays))


# -- the numbers are the tape's ----------------------------------------------------------------
def test_sequential_report_equals_gradients_taken_directly():
    wg.random.set_seed(1)
    x, y = _data()
    stack = [
        Dense(8, activation="sigmoid"),
        Dense(7, activation="relu"),
        Dense(6),
        Activation("tanh"),
        Dense(3),
    ]
    model = wg.Sequential([Input((6,))] + stack)
    model.compile(optimizer=wg.optimizers.SGD(0.1), loss=LOSS)
    report = gradient_report(model, x, y)

    # Directly: call the layers one by one under a tape and differentiate by hand.
    with wg.GradientTape(persistent=True) as tape:
        h = wg.constant(x)
        outs = []
        for layer in stack:
            h = layer(h)
            outs.append(h)
        loss = LOSS(wg.constant(y), h)
    dense = [0, 1, 2, 4]
    out_of = {0: 0, 1: 1, 2: 3, 4: 4}  # Dense(6)'s output is the tanh Activation's
    expected_w = [_norm(*tape.gradient(loss, stack[i].trainable_weights)) for i in dense]
    expected_o = [_norm(tape.gradient(loss, outs[out_of[i]])) for i in dense]

    assert [r.name for r in report.layers] == [stack[i].name for i in dense]
    assert report.column("activation") == ["sigmoid", "relu", "tanh", "linear"]
    np.testing.assert_allclose(report.column("weight_grad_norm"), expected_w, rtol=1e-6)
    np.testing.assert_allclose(report.column("output_grad_norm"), expected_o, rtol=1e-6)
    np.testing.assert_allclose(
        report.column("weight_grad_ratio"), np.array(expected_w) / expected_w[-1], rtol=1e-6
    )
    np.testing.assert_allclose(
        report.column("output_grad_ratio"), np.array(expected_o) / expected_o[-1], rtol=1e-6
    )
    assert report.loss == pytest.approx(float(loss))
    assert report.first_to_last == pytest.approx(expected_w[0] / expected_w[-1])
    # SGD's step is lr * g, so the update ratio is lr * |g| / |w|.
    for row, i in zip(report.layers, dense):
        w = _norm(*[v.numpy() for v in stack[i].trainable_weights])
        assert row.update_ratio == pytest.approx(0.1 * row.weight_grad_norm / w, rel=1e-5)
        assert row.weight_norm == pytest.approx(w, rel=1e-6)


class _Block(wg.layers.Layer):
    def __init__(self):
        super().__init__()
        self.first = Dense(5, activation="tanh")
        self.second = Dense(4)

    def call(self, x):
        return self.second(self.first(x))


class _Scale(wg.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        return x * self.scale


class _Net(wg.Model):
    def __init__(self):
        super().__init__()
        self.block = _Block()
        self.squash = Activation("sigmoid")
        self.scale = _Scale()
        self.head = Dense(3)

    def call(self, x):
        return self.head(self.scale(self.squash(self.block(x))))


def test_subclassed_model_report_equals_direct_gradients_and_calls_are_restored():
    wg.random.set_seed(2)
    x, y = _data()
    net = _Net()
    net(x)
    report = gradient_report(net, x, y, loss=LOSS)
    rows = {r.name: r for r in report.layers}
    assert list(rows) == [
        net.block.first.name,
        net.block.second.name,
        net.scale.name,
        net.head.name,
    ]
    assert rows[net.block.second.name].activation == "sigmoid"  # the Activation after the block
    assert rows[net.scale.name].activation is None

    with wg.GradientTape(persistent=True) as tape:
        h1 = net.block.first(wg.constant(x))
        h2 = net.squash(net.block.second(h1))
        h3 = net.scale(h2)
        out = net.head(h3)
        loss = LOSS(wg.constant(y), out)
    for layer, h in [
        (net.block.first, h1),
        (net.block.second, h2),
        (net.scale, h3),
        (net.head, out),
    ]:
        row = rows[layer.name]
        assert row.weight_grad_norm == pytest.approx(
            _norm(*tape.gradient(loss, layer.trainable_weights)), rel=1e-6
        )
        assert row.output_grad_norm == pytest.approx(_norm(tape.gradient(loss, h)), rel=1e-6)
    for layer in (net, net.block, net.block.first, net.squash, net.head):
        assert "call" not in vars(layer)  # the wrappers are gone


# -- saturation and dead units on constructed cases ------------------------------------------------
def _single_dense(activation, kernel, bias):
    layer = Dense(len(bias), activation=activation)
    model = wg.Sequential([Input((len(kernel),)), layer])
    layer.set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])
    return model


def test_saturated_fraction_counts_outputs_near_the_limits():
    # Pre-activations, per sample: x * [1, 1, 1, 1] + [-20, -3, 0, 20].
    model = _single_dense("sigmoid", [[1.0, 1.0, 1.0, 1.0]], [-20.0, -3.0, 0.0, 20.0])
    x = np.array([[0.0], [0.1]], "float32")
    y = np.zeros((2, 4), "float32")
    report = gradient_report(model, x, y, loss="mse", epsilon=0.01)
    assert report.layers[0].saturated_fraction == pytest.approx(4 / 8)  # the -20 and 20 units
    wide = gradient_report(model, x, y, loss="mse", epsilon=0.06)  # sigmoid(-3) = 0.047
    assert wide.layers[0].saturated_fraction == pytest.approx(6 / 8)
    assert report.layers[0].dead_fraction is None

    tanh = _single_dense("tanh", [[1.0, 1.0, 1.0]], [-5.0, 0.0, 5.0])
    r = gradient_report(tanh, x, np.zeros((2, 3), "float32"), loss="mse", epsilon=0.01)
    assert r.layers[0].saturated_fraction == pytest.approx(4 / 6)
    assert r.layers[0].activation == "tanh"


def test_dead_fraction_counts_units_zero_on_the_whole_batch():
    # Unit 0 never fires, unit 1 fires for one sample only, unit 2 always, unit 3 never.
    model = _single_dense("relu", [[0.0, 1.0, 0.0, -1.0]], [-1.0, -0.5, 1.0, 0.0])
    x = np.array([[0.0], [0.2], [1.0]], "float32")
    report = gradient_report(model, x, np.zeros((3, 4), "float32"), loss="mse")
    assert report.layers[0].dead_fraction == pytest.approx(2 / 4)
    assert report.layers[0].saturated_fraction is None


# -- the model is left as it was ---------------------------------------------------------------
def test_report_leaves_weights_optimizer_and_random_streams_unchanged():
    wg.random.set_seed(3)
    x, y = _data(64)
    model = wg.Sequential(
        [Input((6,)), Dense(16, activation="relu"), Dropout(0.5, seed=1), Dense(3)]
    )
    model.compile(optimizer=wg.optimizers.Adam(1e-2), loss=LOSS)
    fresh = gradient_report(model, x, y)  # an unbuilt optimizer stays unbuilt
    assert not model.optimizer.built and fresh.layers[0].update_ratio > 0
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    state = {k: v.copy() for k, v in model.optimizer.get_state().items()}
    streams = {k: g.get_state() for k, g in model._generators().items()}

    a = gradient_report(model, x, y, training=True)
    b = gradient_report(model, x, y, training=True)
    assert a.column("weight_grad_norm") == b.column("weight_grad_norm")  # same dropout mask
    for w, w0 in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, w0)
    after = model.optimizer.get_state()
    assert after.keys() == state.keys()
    for k in state:
        np.testing.assert_array_equal(after[k], state[k])
    assert {k: g.get_state() for k, g in model._generators().items()} == streams


def test_without_an_optimizer_there_is_no_update_ratio_and_a_loss_is_required():
    model = wg.Sequential([Input((2,)), Dense(2)])
    with pytest.raises(ValueError, match="no compiled loss"):
        gradient_report(model, np.ones((4, 2), "float32"), np.zeros((4, 2), "float32"))
    report = gradient_report(
        model, np.ones((4, 2), "float32"), np.zeros((4, 2), "float32"), loss="mse"
    )
    assert report.layers[0].update_ratio is None


# -- rows, table, warnings -------------------------------------------------------------------------
def test_rows_read_as_attributes_or_keys_and_as_json():
    row = LayerGradients("d", "Dense", "relu", weight_grad_norm=2.0)
    assert row["weight_grad_norm"] == row.weight_grad_norm == 2.0
    assert row["dead_fraction"] is None
    with pytest.raises(KeyError, match="no field 'grad'"):
        row["grad"]
    report = GradientReport([row], loss=1.0, batch_size=4)
    assert json.loads(json.dumps(report.as_dict()))["layers"][0]["activation"] == "relu"


def test_vanishing_warning_for_the_sigmoid_network_and_none_for_relu():
    (x, y), _ = wg.datasets.digits.load_data()
    x = x.astype("float32")
    sig = gradient_report(diagnostics.deep_classifier("sigmoid", x_train=x), x[:128], y[:128])
    relu = gradient_report(diagnostics.deep_classifier("relu", x_train=x), x[:128], y[:128])
    assert sig.first_to_last < 1e-4 and 0.1 < relu.first_to_last < 10
    assert len(sig.warnings) == 1 and sig.warnings[0].startswith("vanishing gradients")
    assert relu.warnings == []
    text = str(sig)
    assert "hidden_1 (Dense)" in text and "logits (Dense)" in text
    assert "warning: vanishing gradients" in text
    lenient = gradient_report(diagnostics.deep_classifier("sigmoid"), x[:64], y[:64], factor=1e9)
    assert lenient.warnings == []


def test_exploding_and_non_finite_warnings():
    rows = [LayerGradients("a", "Dense", weight_grad_norm=500.0), LayerGradients("b", "Dense")]
    rows[1].weight_grad_norm = 1.0
    assert diagnostics._warnings(GradientReport(rows))[0].startswith("exploding gradients")
    rows[0].output_grad_norm = math.inf
    assert "non-finite gradients in ['a']" in diagnostics._warnings(GradientReport(rows))


# -- during fit ------------------------------------------------------------------------------------
def test_gradient_monitor_records_before_training_and_after_epochs():
    x, y = _data(48)
    model = wg.Sequential([Input((6,)), Dense(8, activation="tanh"), Dense(3)])
    model.compile(optimizer=wg.optimizers.SGD(0.1), loss=LOSS)
    monitor = GradientMonitor(x, y, batch_size=16)
    off = GradientMonitor(x, y, enabled=False)
    sparse = GradientMonitor(x, y, every=2)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[monitor, off, sparse])
    assert monitor.epochs == [0, 1, 2, 3, 4] and len(monitor.reports) == 5
    assert monitor.reports[0].batch_size == 16
    assert off.reports == [] and sparse.epochs == [0, 2, 4]
    series = monitor.series()
    assert list(series) == [layer.name for layer in model.layers]
    assert all(len(v) == 5 and all(n > 0 for n in v) for v in series.values())
    assert monitor.series("output_grad_norm").keys() == series.keys()


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    monitor = GradientMonitor([[0.0]], [[0.0]])
    for epoch, scale in enumerate([1.0, 0.1]):
        monitor.reports.append(
            GradientReport(
                [
                    LayerGradients("a", "Dense", None, scale * 1e-5),
                    LayerGradients("b", "Dense", None, scale),
                ]
            )  # fmt: skip
        )
        monitor.epochs.append(epoch)
    path = monitor.plot(tmp_path / "norms.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def _no_matplotlib(monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    _no_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match=r'pip install "wengert\[plot\]"'):
        diagnostics.plot_gradient_norms(GradientMonitor([[0.0]], [[0.0]]), tmp_path / "x.png")


# -- the command ---------------------------------------------------------------------------------
def test_cli_diagnose_model_prints_table_and_writes_json(capsys, tmp_path):
    assert main(["diagnose", "--model", "relu-deep", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert 'Model "relu_deep"' in out and "hidden_10 (Dense)" in out and "warning" not in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["layers"]) == 11 and data["batch_size"] == 256
    assert main(["diagnose", "--batch-size", "64"]) == 0  # default: the sigmoid network
    assert "warning: vanishing gradients" in capsys.readouterr().out


def test_cli_diagnose_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "g.png"
    assert main(["diagnose", "--model", "sigmoid-deep", "--plot", str(path), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "epoch   0:" in out and "epoch   1:" in out and path.stat().st_size > 0


def test_cli_diagnose_plot_without_matplotlib(monkeypatch, capsys, tmp_path):
    _no_matplotlib(monkeypatch)
    assert main(["diagnose", "--plot", str(tmp_path / "g.png")]) == 1
    assert 'pip install "wengert[plot]"' in capsys.readouterr().err


def test_cli_diagnose_checkpoint_of_a_train_run(capsys, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(run), "--verbose", "0"]) == 0
    capsys.readouterr()
    for target in (run, run / "checkpoint.npz"):
        assert main(["diagnose", "--checkpoint", str(target), "--batch-size", "64"]) == 0
        out = capsys.readouterr().out
        assert 'Model "mlp"' in out and out.count("(Dense)") == 3
    assert main(["diagnose", "--checkpoint", str(tmp_path / "missing")]) == 2
    assert "missing: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()  # a folder, but not a run: its config.json is named
    assert main(["diagnose", "--checkpoint", str(tmp_path / "empty")]) == 2
    assert "config.json" in capsys.readouterr().err


def test_vanishing_gradients_example(tmp_path):
    import os
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parent.parent
    src = pathlib.Path(wg.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [
            sys.executable,
            str(root / "examples" / "vanishing_gradients.py"),
            "--out",
            str(tmp_path),
            "--epochs",
            "4",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "peaks at z = 0.0 with value 0.2500" in text
    ratios = {
        line.split(",")[1].split(":")[0].strip(): float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("first/last layer weight-gradient norm,")
    }
    assert ratios["sigmoid"] < 1e-4 and 0.1 < ratios["relu"] < 10
    assert "relu network: final test accuracy" in text and "it learns" in text
    assert "sigmoid network: final test accuracy" in text and "does not learn" in text
    if "no figures" not in text:
        for name in ("sigmoid", "gradient_norms", "training_curves", "monitor_sigmoid"):
            assert (tmp_path / f"{name}.png").stat().st_size > 0


def test_sequence_gradient_report_matches_the_closed_form_of_a_linear_rnn():
    # h_t = w x_t + u h_(t-1), one unit: dL/dx_t = dL/dh_T * u^(T-1-t) * w, so the
    # first step's share is u^(T-1) of the last's (the vanishing gradient through time).
    from wengert.diagnostics import sequence_gradient_report

    steps, w, u = 10, 1.5, 0.5
    rnn = wg.layers.SimpleRNN(1, activation="linear", use_bias=False, dtype="float64")
    model = wg.Sequential([wg.layers.Input((steps, 1), dtype="float64"), rnn])
    rnn.set_weights([np.array([[w]]), np.array([[u]])])
    x = np.random.default_rng(2).standard_normal((3, steps, 1))
    y = np.zeros((3, 1))
    report = sequence_gradient_report(
        model,
        wg.constant(x, dtype="float64"),
        wg.constant(y, dtype="float64"),
        loss=wg.losses.MeanSquaredError(dtype="float64"),
    )
    h = (x[:, :, 0] * w * u ** np.arange(steps - 1, -1, -1)).sum(axis=1)
    g = 2 * h / 3  # d mean((h - 0)^2) / dh
    expected = np.abs(w) * u ** np.arange(steps - 1, -1, -1) * np.sqrt((g**2).sum())
    np.testing.assert_allclose(report.norms, expected, rtol=1e-12)
    np.testing.assert_allclose(report.ratio, u ** (steps - 1), rtol=1e-12)
    assert "first/last = 1.95e-03" in str(report)


def test_sequence_gradient_report_follows_tokens_through_the_embedding():
    from wengert.diagnostics import sequence_gradient_report

    wg.random.set_seed(5)
    model = wg.Sequential(
        [
            wg.layers.Input((6,), dtype="int32"),
            wg.layers.Embedding(9, 3),
            wg.layers.LSTM(4),
            wg.layers.Dense(1),
        ]
    )
    tokens = np.random.default_rng(4).integers(0, 9, (2, 6))
    report = sequence_gradient_report(model, tokens, np.zeros((2, 1)), loss="mse")
    assert report.source == "embedding's output" or report.source.endswith("'s output")
    assert len(report.norms) == 6 and all(n > 0 for n in report.norms)
    with pytest.raises(ValueError, match=r"expected \(batch, time"):
        sequence_gradient_report(model, np.zeros(3), np.zeros(3), loss="mse")
