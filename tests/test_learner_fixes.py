"""What a learner walking through the chapter tripped over, each now checked.

Thresholds that "reach" T, the momentum rule with its 1/J, epochs counted from 1,
the perceptron's advice when it runs out of epochs, argument checks and help of the
commands, the char-lstm prompt of a custom text, picture formats, and legends.
"""

from __future__ import annotations

import argparse
import itertools
import json

import pytest

import wengert.classic as classic
from wengert import cli_text
from wengert.backend import xp
from wengert.classic import cli as classic_cli
from wengert.classic import plot
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs
from wengert.cli import main

X2 = list(itertools.product([0, 1], repeat=2))


# -- 1. threshold units: the chapter's numbers are those of ">=" --------------------------------
def test_the_chapters_xor_and_xnor_arguments_hold_for_a_unit_that_fires_on_reaching_t():
    # XOR: w = (1, 1), T = 1 is right on (0,0), (0,1), (1,0) and wrong only on (1,1).
    assert classic.TLU([1, 1], 1, inclusive=True)(X2).tolist() == [0, 1, 1, 1]
    # XNOR: w = (1, 1), T = 2 is right on (0,1), (1,0), (1,1) and wrong only on (0,0).
    assert classic.TLU([1, 1], 2, inclusive=True)(X2).tolist() == [0, 0, 0, 1]


def test_reaching_t_is_exceeding_t_minus_one_for_integer_sums():
    rng = xp.random.default_rng(0)
    for _ in range(50):
        w = rng.integers(-3, 4, size=3)
        t = int(rng.integers(-4, 5))
        X = list(itertools.product([0, 1], repeat=3))
        inclusive = classic.TLU(w, t, inclusive=True)(X).tolist()
        assert inclusive == classic.TLU(w, t - 1)(X).tolist()


def test_ready_made_gates_are_right_under_either_comparison():
    for make in (classic.identity_gate, classic.not_gate, classic.and_gate, classic.or_gate):
        gate = make()
        reaching = classic.TLU(gate.weights, gate.threshold, inclusive=True, binary=True)
        X = list(itertools.product([0, 1], repeat=gate.n_inputs))
        assert reaching(X).tolist() == gate(X).tolist()


def test_gates_command_says_the_chapters_thresholds_are_right_for_reaching_t(capsys):
    assert main(["gates"]) == 0
    out = capsys.readouterr().out
    assert "off by one" not in out and "needs T < 0" not in out
    assert "the sum reaches T' (w.x >= T)" in out
    assert "AND T = 2 and OR T = 1" in out and "NOT T = 0 with w = -1" in out
    assert "XOR (T = 1) and XNOR (T = 2)" in out
    assert "under '>' the chapter's gates are AND T = 1, OR T = 0, NOT T = -1" in out
    assert "inclusive=True" in out


def test_tlu_docstring_no_longer_calls_the_chapters_thresholds_wrong():
    import wengert.classic.tlu as tlu

    assert "w·x >= T" in tlu.__doc__ and "inclusive=True" in tlu.__doc__
    assert "loose" not in tlu.__doc__


# -- 2. momentum: the printed rule is the one used -------------------------------------------
def test_xor_prints_the_rule_backprop_mlp_uses(capsys):
    args = argparse.Namespace(
        epochs=3, learning_rate=0.5, momentum=0.9, hidden=5, seed=0, target=0.01, plot=None
    )
    classic_cli.run_xor(args)
    out = capsys.readouterr().out
    assert "dw(t) = -eps (1/J) dE/dw + alpha dw(t-1)" in out and "J = 4 samples" in out
    assert "dw(t) = -eps dE/dw" not in out


def test_one_update_is_minus_eps_over_j_times_the_summed_gradient():
    X, y = boolean_inputs(2), BOOLEAN_FUNCTIONS["XOR"]
    net = classic.BackpropMLP(learning_rate=0.5, momentum=0.9, seed=3)
    before = {k: v.copy() for k, v in net.params.items()}
    grads = net.gradients(X, y)
    net.fit(X, y, epochs=1)
    for k, g in grads.items():
        xp.testing.assert_allclose(net.params[k] - before[k], -0.5 / 4 * g, rtol=1e-12)
    assert "(1/J)" in classic.BackpropMLP.__doc__


# -- 3. perceptron epochs are counted from 1, and "errors" are the end-of-epoch ones -----------
def test_perceptron_summary_names_end_of_epoch_errors_and_updates_during_it():
    history = classic.Perceptron().fit(boolean_inputs(2), BOOLEAN_FUNCTIONS["AND"])
    assert history.summary() == (
        "converged after 5 epochs (errors after each epoch: 3 2 1 2 0; "
        "updates during each: 1 3 3 2 1)"
    )


def test_perceptron_error_curves_start_at_epoch_one_and_reach_zero_where_the_text_says(
    monkeypatch, capsys
):
    pytest.importorskip("matplotlib")
    drawn = {}

    def capture(path, panels, curves=(), title=None):
        drawn.update(panels=panels, curves=curves)
        return str(path)

    monkeypatch.setattr(classic_cli, "save_figure", capture)
    monkeypatch.setattr(classic_cli, "_plot_ready", lambda args: True)
    args = argparse.Namespace(
        learning_rate=1.0, max_epochs=100, batch=False, init="zeros", seed=0, plot="p.png"
    )
    assert classic_cli.run_perceptron(args) == 0
    assert "AND: converged after 5 epochs" in capsys.readouterr().out
    and_curve = drawn["curves"][0]
    assert and_curve.label == "AND" and and_curve.start == 1
    fig = plot._draw_figure(drawn["panels"], drawn["curves"])
    line = fig.axes[-1].lines[0]
    assert line.get_xdata().tolist() == [1, 2, 3, 4, 5]
    assert line.get_ydata().tolist()[-1] == 0
    assert fig.axes[-1].get_xlabel() == "epochs completed"


def test_loss_curves_start_at_epoch_zero_the_loss_before_any_update():
    pytest.importorskip("matplotlib")
    fig = plot._draw_figure(
        [plot.Panel("XOR", X2, [0, 1, 1, 0])], [plot.Curve("loss", [0.5, 0.4, 0.3], log=True)]
    )
    assert fig.axes[-1].lines[0].get_xdata().tolist() == [0, 1, 2]


# -- 4. stopping at --max-epochs proves nothing: say so --------------------------------------
def test_perceptron_out_of_epochs_suggests_more_epochs_not_just_another_seed(capsys):
    assert main(["perceptron", "--max-epochs", "2"]) == 0
    out = capsys.readouterr().out
    clouds = out[out.index("two Gaussian clouds:") :]
    assert "(stopped by --max-epochs 2 before converging: raise --max-epochs." in clouds
    assert "If it still does not converge" in clouds
    # Separable at the default seed: with the default limit it converges.
    assert main(["perceptron"]) == 0
    assert "two Gaussian clouds: converged" in capsys.readouterr().out


def test_a_cycle_on_the_clouds_is_reported_as_a_proof():
    history = classic.PerceptronHistory(stopped="cycle", cycle=(3, 2))
    assert "proves this draw of the clouds is not linearly separable" in (
        classic_cli._why_not_converged(history, clouds=True)
    )
    # On the Boolean functions the cycle is spelled out by _describe_cycle instead.
    assert classic_cli._why_not_converged(history, clouds=False) == ""


# -- 5. diagnose: no empty plot from --epochs 0 ------------------------------------------------
def test_diagnose_refuses_zero_epochs_with_an_argparse_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["diagnose", "--epochs", "0", "--plot", str(tmp_path / "e0.png")])
    assert exc.value.code == 2
    assert "argument --epochs: must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "e0.png").exists()
    with pytest.raises(SystemExit):
        main(["diagnose", "--epochs", "two"])
    assert "expected a whole number, got 'two'" in capsys.readouterr().err


def test_diagnose_refuses_a_picture_it_cannot_write(capsys, tmp_path):
    assert main(["diagnose", "--plot", str(tmp_path / "g.jpg")]) == 2
    assert "writes PNG only; name the file .png" in capsys.readouterr().err


# -- 6. separability in words -------------------------------------------------------------------
def test_a_certificate_reads_as_an_equation():
    with pytest.raises(classic.NotLinearlySeparable) as info:
        classic.find_tlu([0, 1, 1, 0])
    assert info.value.certificate.equation() == "(0, 1) + (1, 0) = (0, 0) + (1, 1)"


# -- 7. wengert train --help ----------------------------------------------------------------------
def test_train_help_gives_every_option_its_meaning_and_default(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's wrapping
    assert "char-lstm learns --text (default mlp)" in text
    assert "digits (bundled 8x8), mnist or fashion-mnist (default digits)" in text
    assert "samples per step (default 32)" in text
    assert "adam, adamax, adamw, nadam, rmsprop, sgd, any case (default adam)" in text
    assert "seed of the initial weights and the shuffling (default 0)" in text
    assert "(default 0.002)" in text and "(default 60; char-lstm 20)" in text
    assert "``" not in text


# -- 8. char-lstm: a custom text samples from its own beginning -------------------------------
def test_prompt_from_a_text():
    assert cli_text._prompt_from("It was the best of times") == "It "
    assert cli_text._prompt_from("\n\n  Supercalifragilistic") == "Supercal"
    assert cli_text._prompt_from("   ") == " "


def test_char_lstm_on_a_custom_text_prompts_with_that_text(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(cli_text.DEFAULTS, "units", 8)
    monkeypatch.setitem(cli_text.DEFAULTS, "seq_len", 20)
    text = tmp_path / "moby.txt"
    text.write_text("Call me Ishmael. Some years ago, never mind how long precisely. " * 20)
    out = tmp_path / "run"
    argv = ["train", "--model", "char-lstm", "--text", str(text), "--epochs", "1"]
    assert main(argv + ["--out", str(out), "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    assert "--prompt 'Call '" in printed and "'def '" not in printed
    assert json.loads((out / "config.json").read_text())["sample_prompt"] == "Call "
    assert json.loads((out / "metrics.json").read_text())["sample"].startswith("Call ")


# -- 9. --plot writes the format its extension names ----------------------------------------------
@pytest.mark.parametrize(
    "name, magic",
    [("g.jpg", b"\xff\xd8\xff"), ("g.svg", b"<?xml"), ("g.pdf", b"%PDF"), ("g", b"\x89PNG")],
)
def test_plot_writes_the_format_of_the_extension(name, magic, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / name
    assert main(["gates", "--plot", str(path)]) == 0
    assert path.read_bytes()[: len(magic)] == magic
    assert f"Saved {path}" in capsys.readouterr().out


def test_plot_refuses_an_extension_matplotlib_cannot_write_before_any_work(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "g.xyz"
    assert main(["perceptron", "--plot", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "matplotlib does not write .xyz files; use one of" in captured.err
    assert ".png" in captured.err and not path.exists()


# -- 10. legends and a dashed curve ---------------------------------------------------------------
def test_decision_panels_have_a_legend_naming_each_class():
    pytest.importorskip("matplotlib")
    panels = [
        plot.Panel("AND", X2, BOOLEAN_FUNCTIONS["AND"], classic.and_gate()),
        plot.Panel("XOR", X2, BOOLEAN_FUNCTIONS["XOR"]),
    ]
    fig = plot._draw_figure(panels)
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert [t.get_text() for t in legend.get_texts()] == ["y = 1", "y = 0"]


def test_xor_draws_the_tape_curve_dashed_over_the_hand_derived_one(monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("wengert.tape")
    drawn = {}

    def capture(path, panels, curves=(), title=None):
        drawn.update(curves=curves)
        return str(path)

    monkeypatch.setattr(classic_cli, "save_figure", capture)
    monkeypatch.setattr(classic_cli, "_plot_ready", lambda args: True)
    args = argparse.Namespace(
        epochs=20, learning_rate=0.5, momentum=0.9, hidden=5, seed=0, target=0.01, plot="x.png"
    )
    assert classic_cli.run_xor(args) == 0
    hand, tape = drawn["curves"]
    assert (hand.linestyle, tape.linestyle) == ("-", "--")
    fig = plot._draw_figure([], drawn["curves"])
    assert [line.get_linestyle() for line in fig.axes[-1].lines] == ["-", "--"]
