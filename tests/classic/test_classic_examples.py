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
    ],
    "02_linear_separability.py": [
        "XOR (outputs 0110) is not linearly separable",
        "XNOR (outputs 1001) is not linearly separable",
        "n = 2: 14 of 16",
        "n = 3: 104 of 256",
        "n = 4: 1882 of 65536",
    ],
    "03_perceptron.py": ["AND", "converged after", "XOR: did not converge", "cycle"],
    "04_backprop_xor.py": ["loss < 0.01 with 4/4 right after", "(1, 1) -> 0.0"],
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
