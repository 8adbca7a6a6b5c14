"""The recurrent examples run (shortened: the full runs take minutes)."""

from __future__ import annotations

import importlib.util
import math
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_lstm_learns(capsys):
    accuracy = _load("digits_lstm").main(epochs=4, units=32, seed=1)
    assert accuracy > 0.6
    assert "test accuracy" in capsys.readouterr().out


def test_char_lstm_runs(capsys, tmp_path):
    from wengert.text import default_corpus

    path = tmp_path / "text.txt"
    path.write_text(default_corpus(8000))
    bpc = _load("char_lstm").main(text_file=str(path), epochs=1, units=16)
    assert math.isfinite(bpc) and bpc < 8
    out = capsys.readouterr().out
    assert "held-out bits per character" in out and "epoch 1:" in out
