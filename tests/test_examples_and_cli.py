"""The examples run and print what the chapter claims; the command answers --version."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import wengert
from wengert.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _run(script):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gradient_tape_example():
    text = _run("gradient_tape.py")
    assert "dz/dy = 8.0" in text
    assert "dz/dx = 108.0" in text and "dy/dx = 6.0" in text
    assert "v3 = multiply(v2, v2)" in text
    assert "digraph tape" in text
    assert "never watched" in text


def test_custom_training_loop_example():
    text = _run("custom_training_loop.py")
    assert "epoch 30" in text and "training accuracy" in text


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"wengert {wengert.__version__}"


def test_console_command_module():
    out = subprocess.run(
        [sys.executable, "-m", "wengert.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and wengert.__version__ in out.stdout


def test_perceptron_says_when_random_clouds_may_overlap_and_infinite_rates_are_refused(capsys):
    from wengert.cli import main

    assert main(["perceptron", "--seed", "21", "--max-epochs", "20"]) == 0
    out = capsys.readouterr().out
    assert "raise --max-epochs" in out  # the limit proves nothing either way
    assert "may not be linearly\n   separable (their tails can overlap): try another --seed" in out
    assert main(["xor", "--learning-rate", "inf"]) != 0
    assert "finite learning_rate > 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["gates", "--plot", "/nonexistent/dir/g.png"],
            "the folder /nonexistent/dir does not exist",
        ),
        (["diagnose", "--factor", "0"], "--factor must be a number > 1"),
        (["diagnose", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["diagnose", "--checkpoint", "/nonexistent/run"], "no such file or folder"),
        (["diagnose", "--json", "/nonexistent/dir/r.json"], "does not exist"),
    ],
)
def test_cli_options_that_cannot_work_fail_first_with_one_line(argv, message, capsys):
    from wengert.cli import main

    assert main(argv) != 0
    assert message in capsys.readouterr().err
