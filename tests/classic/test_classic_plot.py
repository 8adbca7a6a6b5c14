"""Decision-boundary pictures, and the error when matplotlib is missing."""

import sys

import pytest

import wengert.classic as classic
from wengert.classic import plot
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs


def test_save_figure_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    X = boolean_inputs(2)
    net = classic.BackpropMLP(seed=0)
    history = net.fit(X, BOOLEAN_FUNCTIONS["XOR"], epochs=50)
    panels = [
        plot.Panel("AND", X, BOOLEAN_FUNCTIONS["AND"], classic.and_gate()),
        plot.Panel("XOR", X, BOOLEAN_FUNCTIONS["XOR"], lambda G: net(G)[:, 0]),
        plot.Panel("points only", X, BOOLEAN_FUNCTIONS["XNOR"]),
    ]
    out = plot.save_figure(tmp_path / "f.png", panels, [plot.Curve("loss", history.loss, log=True)])
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG" and out == str(tmp_path / "f.png")


def test_save_figure_needs_two_inputs(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="needs 2-D inputs"):
        plot.save_figure(tmp_path / "f.png", [plot.Panel("1-D", [[0], [1]], [0, 1])])


def test_missing_matplotlib_raises_an_import_error_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(classic.MissingPlotExtra, match=r'pip install "wengert\[plot\]"') as info:
        plot.save_figure(tmp_path / "f.png", [])
    assert isinstance(info.value, ImportError)
