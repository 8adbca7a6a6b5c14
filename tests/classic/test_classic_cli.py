"""The ``wengert gates``, ``perceptron`` and ``xor`` commands."""

import sys

import pytest

import wengert as wg
from wengert.cli import main

HAS_CORE = hasattr(wg, "GradientTape")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_gates(capsys):
    assert main(["gates"]) == 0
    out = capsys.readouterr().out
    assert "x1 x2 | AND\n 0  0 | 0\n 0  1 | 0\n 1  0 | 0\n 1  1 | 1" in out
    assert "x1 | NOT\n 0 | 1\n 1 | 0" in out
    assert "x1 x2 | OR" in out and "x1 | IDENTITY" in out
    assert "XOR (outputs 0110) is not linearly separable" in out
    assert "XNOR (outputs 1001) is not linearly separable" in out
    assert "(1, 1) -> 0:  w1 + w2 <= T" in out
    assert out.count("contradiction") == 2


def test_gates_count(capsys):
    assert main(["gates", "--count"]) == 0
    out = capsys.readouterr().out
    for n, count, total in [(1, 4, 4), (2, 14, 16), (3, 104, 256), (4, 1882, 65536)]:
        assert f"n = {n}: {count:>5} of {total:>5} functions" in out


def test_perceptron(capsys):
    assert main(["perceptron"]) == 0
    out = capsys.readouterr().out
    assert "AND: converged after" in out and "OR: converged after" in out
    assert "XOR: did not converge" in out and "cycle" in out
    assert "two Gaussian clouds: converged" in out
    assert "- (0, 0) + (0, 1) + (1, 0) - (1, 1)" in out


def test_perceptron_batch_and_bounded_epochs(capsys):
    assert main(["perceptron", "--batch", "--max-epochs", "2", "--learning-rate", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "batch" in out and "XOR: did not converge" in out


def test_perceptron_rejects_bad_settings(capsys):
    assert main(["perceptron", "--learning-rate", "-1"]) == 1
    assert "learning_rate > 0" in capsys.readouterr().err


def test_xor(capsys):
    code = main(["xor"])
    captured = capsys.readouterr()
    assert "By hand-derived backpropagation (no tape):" in captured.out
    assert "reached loss < 0.01 with 4/4 correct after" in captured.out
    assert "(1, 1) -> 0.0" in captured.out
    if HAS_CORE:
        assert code == 0
        assert captured.out.count("reached loss < 0.01 with 4/4 correct after") == 2
        assert "largest |hand - tape| gradient entry" in captured.out
    else:
        assert code == 1
        assert "GradientTape" in captured.err and "wengert xor: error" in captured.err


def test_xor_reports_failure_to_reach_the_target(capsys):
    main(["xor", "--epochs", "5"])
    assert "did not reach loss < 0.01" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["gates"],
        ["perceptron"],
        pytest.param(
            ["xor"],
            marks=pytest.mark.skipif(not HAS_CORE, reason="wengert xor trains by the tape too"),
        ),
    ],
    ids=["gates", "perceptron", "xor"],
)
def test_plot_writes_a_png(argv, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "boundary.png"
    assert main(argv + ["--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert f"Saved {path}" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["gates", "perceptron", "xor"])
def test_plot_without_matplotlib_names_the_extra(command, tmp_path, capsys, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import` raise ImportError
    path = tmp_path / "boundary.png"
    assert main([command, "--plot", str(path)]) == 1
    captured = capsys.readouterr()
    assert 'pip install "wengert[plot]"' in captured.err
    assert f"wengert {command}: error" in captured.err
    assert captured.out == ""  # failed before doing any work
    assert not path.exists()


def test_xor_without_the_core_fails_clearly(capsys, monkeypatch):
    # Hide the tier-1 tape module: importing it then raises ImportError.
    monkeypatch.setitem(sys.modules, "wengert.tape", None)
    assert main(["xor", "--epochs", "20"]) == 1
    captured = capsys.readouterr()
    assert "By hand-derived backpropagation (no tape):" in captured.out  # that part still runs
    assert "wengert xor: error: training by the tape needs wengert's core" in captured.err
    assert "GradientTape" in captured.err
