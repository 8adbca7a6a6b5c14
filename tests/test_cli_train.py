"""``wengert train``: the default run, its outputs, interruption and exact resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import wengert as wg
from wengert.cli import main

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def _env():
    return dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1")


def test_default_run_reaches_97_percent(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--verbose", "0"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.97
    assert metrics["test_loss"] < 0.2
    assert len(metrics["history"]["loss"]) == 60
    arrays, meta = wg.checkpoints.load(str(out / "checkpoint.npz"))
    assert meta["kind"] == "training_state" and meta["position"] == [60, 0]
    assert any(k.startswith("optimizer/") for k in arrays)
    if pytest.importorskip("matplotlib"):
        assert (out / "curves.png").stat().st_size > 1000
    assert "test accuracy" in capsys.readouterr().out


def _final_weights(folder):
    arrays, _ = wg.checkpoints.load(os.path.join(folder, "checkpoint.npz"))
    return {k: v for k, v in arrays.items() if k.startswith("model/")}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_writes_checkpoint_and_resume_is_exact(tmp_path, sig):
    straight = tmp_path / "straight"
    cmd = [sys.executable, "-m", "wengert.cli", "train", "--epochs", "30", "--verbose", "2"]
    done = subprocess.run(
        cmd + ["--out", str(straight)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    broken = tmp_path / "broken"
    proc = subprocess.Popen(
        cmd + ["--out", str(broken)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith("Epoch 5/"):
            proc.send_signal(sig)
            break
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + sig, (rest, err)
    assert "checkpoint written" in err and "--resume" in err
    _, meta = wg.checkpoints.load(str(broken / "checkpoint.npz"))
    assert meta["position"] != [30, 0]  # really interrupted
    resumed = subprocess.run(
        [sys.executable, "-m", "wengert.cli", "train", "--resume", str(broken), "--verbose", "0"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    a = _final_weights(straight)
    b = _final_weights(broken)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    ma = json.loads((straight / "metrics.json").read_text())
    mb = json.loads((broken / "metrics.json").read_text())
    assert ma["test_accuracy"] == mb["test_accuracy"]
    assert ma["history"]["loss"] == mb["history"]["loss"]


def test_resume_from_missing_folder(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_unknown_model_is_rejected(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--model", "resnet9000"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, message",
    [
        (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--lr", "nan"], "--lr must be a positive number"),
        (["--optimizer", "bogus"], "Unknown optimizer 'bogus'; valid names"),
        (["--model", "char-lstm", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
        (["--model", "char-lstm", "--seed", "-3"], "--seed must be an integer >= 0"),
    ],
)
def test_bad_options_are_clear_errors_and_leave_no_folder(options, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *options, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_diagnose_of_a_finished_run_uses_its_initial_rate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), "--verbose", "0"]) == 0
    report = tmp_path / "report.json"
    assert main(["diagnose", "--checkpoint", str(out), "--json", str(report)]) == 0
    assert "has decayed to 0" in capsys.readouterr().out
    ratios = [row["update_ratio"] for row in json.loads(report.read_text())["layers"]]
    assert all(r > 0 for r in ratios)
