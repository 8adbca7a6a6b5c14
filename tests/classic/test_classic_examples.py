"""The chapter's walk-through scripts run and print what the chapter claims."""

import os
import pathlib
import subprocess
import sys

import pytest

import wengert

ROOT = pathlib.Path(__file__).resolve().parents[2]
SRC = pathlib.Path(wengert.__file__).resolve().parents[1]

CLAIMS = {
    "01_tlu_gates.py": [
        "x1 x2 | AND\n 0  0 | 0\n 0  1 | 0\n 1  0 | 0\n 1  1 | 1",
        "x1 | NOT\n 0 | 1",
        "AND, w = (1, 1), T = 2: [0, 0, 0, 1]",  # the chapter's numbers, with >=
        "OR,  w = (1, 1), T = 1: [0, 1, 1, 1]",
        "NOT, w = -1,     T = 0: [1, 0]",
    ],
    "02_linear_separability.py": [
        "0110   none: (0, 1) + (1, 0) = (0, 0) + (1, 1), but f is 1 on the left and 0 on",
        "XOR (outputs 0110) is not linearly separable",
        "XNOR (outputs 1001) is not linearly separable",
        "n = 2: 14 of 16",
        "n = 3: 104 of 256",
        "n = 4: 1882 of 65536",
    ],
    "03_perceptron.py": [
        "AND",
        "converged after 5 epochs (errors after each epoch: 3 2 1 2 0; updates during each",
        "XOR: did not converge",
        "cycle",
    ],
    "04_backprop_xor.py": [
        "dw(t) = -eps (1/J) dE/dw + alpha dw(t-1)",
        "loss < 0.01 with 4/4 right after",
        "(1, 1) -> 0.0",
    ],
}


@pytest.mark.parametrize("script", sorted(CLAIMS))
def test_example_runs(script):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for claim in CLAIMS[script]:
        assert claim in result.stdout, claim
