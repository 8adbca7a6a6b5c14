"""The ``wengert gates``, ``wengert perceptron`` and ``wengert xor`` subcommands.

Each walks one section of the chapter and prints what it claims; ``--plot PATH``
also saves a picture of the decision boundaries (and training curves) with
matplotlib, in the format PATH's extension names (PNG when it has none).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from wengert.backend import xp
from wengert.classic import separability
from wengert.classic.backprop import BackpropMLP, CoreUnavailableError, tape_gradients
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs, gaussian_clouds
from wengert.classic.perceptron import Perceptron
from wengert.classic.plot import (
    Curve,
    MissingPlotExtra,
    Panel,
    plot_format,
    require_matplotlib,
    save_figure,
)
from wengert.classic.separability import NotLinearlySeparable, count_threshold_functions, find_tlu
from wengert.classic.tlu import and_gate, identity_gate, not_gate, or_gate, truth_table


def register(subparsers) -> None:
    """Add the ``gates``, ``perceptron`` and ``xor`` subcommands to ``subparsers``.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers``.

    Example:
        >>> parser = argparse.ArgumentParser(prog="wengert")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["xor", "--epochs", "10"]).epochs
        10
    """
    gates = subparsers.add_parser(
        "gates",
        help="truth tables of the ready-made TLUs and why no TLU computes XOR or XNOR",
        description="Threshold logic units (McCulloch & Pitts, 1943): the identity, NOT, AND "
        "and OR gates, and exact proofs that XOR and XNOR are not linearly separable.",
    )
    gates.add_argument(
        "--count",
        action="store_true",
        help="also count, exactly, the threshold functions of 1 to 4 inputs, and time it",
    )
    _add_plot_option(gates, "AND, OR, XOR and XNOR")
    gates.set_defaults(func=run_gates)

    perceptron = subparsers.add_parser(
        "perceptron",
        help="train Rosenblatt's perceptron on AND, OR, XOR and two Gaussian clouds",
        description="Rosenblatt's perceptron rule w <- w + r (y - yhat) x: it converges on "
        "linearly separable data and cycles for ever on XOR, which it detects.",
    )
    perceptron.add_argument("--learning-rate", type=float, default=1.0, help="r (default 1)")
    perceptron.add_argument("--max-epochs", type=int, default=100, help="default 100")
    perceptron.add_argument("--batch", action="store_true", help="one summed update per epoch")
    perceptron.add_argument(
        "--init", choices=("zeros", "random"), default="zeros", help="initial weights"
    )
    perceptron.add_argument("--seed", type=int, default=0, help="for --init random and the clouds")
    _add_plot_option(perceptron, "each data set, with the errors after each epoch")
    perceptron.set_defaults(func=run_perceptron)

    xor = subparsers.add_parser(
        "xor",
        help="learn XOR with the 2-5-1 network, by hand-derived backprop and by the tape",
        description="The chapter's 2-5-1 sigmoid network learns XOR by backpropagation with "
        "momentum, once with gradients derived by hand and once with the GradientTape.",
    )
    xor.add_argument("--epochs", type=int, default=5000, help="most updates (default 5000)")
    xor.add_argument("--learning-rate", type=float, default=0.5, help="epsilon (default 0.5)")
    xor.add_argument("--momentum", type=float, default=0.9, help="alpha (default 0.9)")
    xor.add_argument("--hidden", type=int, default=5, help="hidden units (default 5)")
    xor.add_argument("--seed", type=int, default=0, help="initial weights (default 0)")
    xor.add_argument(
        "--target", type=float, default=0.01, help="stop at this loss, all 4 right (default 0.01)"
    )
    _add_plot_option(xor, "the learnt network, with the loss curves")
    xor.set_defaults(func=run_xor)


def _add_plot_option(parser, what: str) -> None:
    parser.add_argument(
        "--plot",
        metavar="PATH",
        help=f"save a picture of the decision boundaries of {what}, in the format of PATH's "
        "extension (.png, .jpg, .svg, .pdf, ...; PNG if none; needs matplotlib: "
        'pip install "wengert[plot]")',
    )


def _fail(command: str, message: str) -> int:
    print(f"wengert {command}: error: {message}", file=sys.stderr)
    return 1


def _plot_ready(args) -> bool:
    """Fail fast, before any training, if a plot is asked for and matplotlib is missing,
    cannot write the picture's extension, or the picture's folder does not exist."""
    if args.plot:
        require_matplotlib()
        plot_format(args.plot)
        _check_output_folder(args.plot)
    return bool(args.plot)


def _check_output_folder(path) -> None:
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {path}: the folder {folder} does not exist")


def _vector(values) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def run_gates(args) -> int:
    """Print the gates' truth tables and the XOR/XNOR certificates; return the exit code.

    Args:
        args: the parsed ``wengert gates`` arguments.

    Returns:
        0 on success, 1 on error (e.g. ``--plot`` without matplotlib).

    Example:
        >>> run_gates(argparse.Namespace(count=False, plot=None))  # doctest: +ELLIPSIS
        Threshold logic units (McCulloch & Pitts, 1943): f(x) = 1 if w.x > T else 0.
        ...
        So 2T < w1 + w2 <= 2T, i.e. 0 > 0: a contradiction.
        0
    """
    try:
        plot = _plot_ready(args)
    except (MissingPlotExtra, ValueError) as err:
        return _fail("gates", str(err))
    print("Threshold logic units (McCulloch & Pitts, 1943): f(x) = 1 if w.x > T else 0.")
    print(
        "The chapter's formula writes '>', but its prose means 'the sum reaches T' (w.x >= T),\n"
        "and with '>=' all its thresholds are right: AND T = 2 and OR T = 1 with w = (1, 1),\n"
        "NOT T = 0 with w = -1, and its XOR (T = 1) and XNOR (T = 2) arguments.\n"
        "wengert's TLU keeps the formula's '>', as the perceptron's step(w.x + b > 0) does\n"
        "(TLU(..., inclusive=True) gives '>='). With integer weights and 0/1 inputs, w.x >= T\n"
        "is w.x > T - 1, so under '>' the chapter's gates are AND T = 1, OR T = 0, NOT T = -1.\n"
        "The gates below put T half-way between the sums that must give 0 and those that\n"
        "must give 1, which is right under '>' and '>=' alike."
    )
    for unit in (identity_gate(), not_gate(), and_gate(), or_gate()):
        print(f"\n{unit.name}: w = {_vector(unit.weights.tolist())}, T = {unit.threshold:g}")
        print(truth_table(unit))
    print("\nfind_tlu recovers integer weights from each truth table:")
    for name in ("AND", "OR", "NAND", "NOR"):
        unit = find_tlu(BOOLEAN_FUNCTIONS[name], name=name)
        print(f"  {name:<5} w = {_vector(unit.weights.tolist())}, T = {unit.threshold}")
    print("\nNo TLU computes XOR or XNOR; the exact proofs:")
    for name in ("XOR", "XNOR"):
        try:
            find_tlu(BOOLEAN_FUNCTIONS[name], name=name)
        except NotLinearlySeparable as err:
            print(f"\n{err}")
    if args.count:
        print("\nThreshold functions, counted exactly (integer enumeration, every other")
        print("function proved non-separable by a certificate):")
        for n in range(1, separability.MAX_EXACT_INPUTS + 1):
            start = time.perf_counter()
            count = count_threshold_functions(n)
            seconds = time.perf_counter() - start
            print(f"  n = {n}: {count:>5} of {2**2**n:>5} functions  ({seconds:.3f} s)")
    if plot:
        X = boolean_inputs(2)
        panels = [
            Panel("AND", X, BOOLEAN_FUNCTIONS["AND"], and_gate()),
            Panel("OR", X, BOOLEAN_FUNCTIONS["OR"], or_gate()),
            Panel("XOR: no line separates", X, BOOLEAN_FUNCTIONS["XOR"]),
            Panel("XNOR: no line separates", X, BOOLEAN_FUNCTIONS["XNOR"]),
        ]
        path = save_figure(args.plot, panels, title="Threshold logic units")
        print(f"\nSaved {path}")
    return 0


def run_perceptron(args) -> int:
    """Train perceptrons on AND, OR, XOR and two clouds, and report; return the exit code.

    Args:
        args: the parsed ``wengert perceptron`` arguments.

    Returns:
        0 on success (XOR failing to converge is the expected result), 1 on error.

    Example:
        >>> args = argparse.Namespace(learning_rate=1.0, max_epochs=100, batch=False,
        ...                           init="zeros", seed=0, plot=None)
        >>> run_perceptron(args)  # doctest: +ELLIPSIS
        Rosenblatt's perceptron: ...
        XOR: did not converge: ...
        0
    """
    try:
        plot = _plot_ready(args)
        Perceptron(args.learning_rate, args.max_epochs, args.seed, init=args.init)
    except (MissingPlotExtra, ValueError) as err:
        return _fail("perceptron", str(err))
    mode = "batch (one summed update per epoch)" if args.batch else "online (per sample)"
    print(
        f"Rosenblatt's perceptron: yhat = step(w.x + b), w <- w + r (y - yhat) x, {mode} "
        f"updates,\nr = {args.learning_rate:g}, initial weights {args.init}, "
        f"at most {args.max_epochs} epochs.\n"
    )
    clouds = gaussian_clouds(50, seed=args.seed)
    data = [
        (name, boolean_inputs(2), xp.asarray(BOOLEAN_FUNCTIONS[name]))
        for name in ("AND", "OR", "XOR")
    ]
    data.append(("two Gaussian clouds", *clouds))
    panels, curves = [], []
    for name, X, y in data:
        model = Perceptron(
            args.learning_rate, args.max_epochs, args.seed, init=args.init, batch=args.batch
        )
        history = model.fit(X, y)
        print(f"{name}: {history.summary()}")
        if not history.converged:
            hint = _why_not_converged(history, len(X) > 4)
            if hint:
                print("  " + hint)
        print(f"  final w = {_vector(model.weights.tolist())}, b = {model.bias:g}")
        if history.cycle is not None and len(X) == 4:
            print("  " + _describe_cycle(X, history.cycle_updates()))
        panels.append(Panel(f"{name}: {history.stopped}", X, y, model.predict))
        # errors[0] is after the first epoch: plotted at 1, the curve meets the text's count.
        curves.append(Curve(name, history.errors, "errors after the epoch", start=1))
        print()
    if plot:
        path = save_figure(args.plot, panels, curves, title="Rosenblatt's perceptron")
        print(f"Saved {path}")
    return 0


def _why_not_converged(history, clouds: bool) -> str:
    """Say what a run that did not converge shows: a cycle is a proof that no line
    separates the data; stopping at --max-epochs proves nothing either way."""
    if history.stopped == "max_epochs":
        hint = f"(stopped by --max-epochs {history.epochs} before converging: raise --max-epochs"
        if clouds:
            # Drawn at random, the clouds overlap for some seeds (9, 13, 15, 18, 21, 25 and
            # 33 of 0-39): then no line separates them and no number of epochs helps.
            hint += (
                ".\n   If it still does not converge, this draw of the clouds may not be "
                "linearly\n   separable (their tails can overlap): try another --seed"
            )
        return hint + ")"
    if history.stopped == "cycle" and clouds:
        return (
            "(the cycle proves this draw of the clouds is not linearly separable: their "
            "tails overlap; try another --seed)"
        )
    return ""


def _describe_cycle(X, counts) -> str:
    """Say why the cycle proves non-separability: the cycle's updates add up to zero."""
    terms = []
    for x, c in zip(X.tolist(), counts.tolist()):
        if c:
            sign = "+" if c > 0 else "-"
            terms.append(f"{sign} {'' if abs(c) == 1 else abs(c)}{tuple(x)}")
    return (
        f"over one cycle the updates to (w, b) add to zero: {' '.join(terms)} with the "
        "bias input 1 appended is 0;\n  the same combination that proves no TLU fits "
        "(see `wengert gates`)."
    )


_CHECKPOINTS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def _loss_table(history) -> list[str]:
    last = history.epochs - 1
    epochs = [t for t in _CHECKPOINTS if t < last] + [last]
    lines = ["    epoch        loss  correct"]
    for t in epochs:
        correct = round(history.accuracy[t] * 4)
        lines.append(f"  {t:>7}  {history.loss[t]:10.6f}  {correct}/4")
    return lines


def _reached(history, target: float) -> str:
    needed = history.first_epoch_below(target)
    if needed is None:
        return f"did not reach loss < {target:g} with 4/4 correct in {history.epochs} epochs"
    return f"reached loss < {target:g} with 4/4 correct after {needed} epochs (updates)"


def run_xor(args) -> int:
    """Train the 2-5-1 network on XOR by hand-derived backprop and by the tape; report.

    Args:
        args: the parsed ``wengert xor`` arguments.

    Returns:
        0 on success, 1 on error (e.g. wengert's core missing for the tape run).

    Example:
        >>> args = argparse.Namespace(epochs=5000, learning_rate=0.5, momentum=0.9, hidden=5,
        ...                           seed=0, target=0.01, plot=None)
        >>> run_xor(args)  # doctest: +ELLIPSIS
        The chapter's network: ...
          reached loss < 0.01 with 4/4 correct after 494 epochs (updates)
        ...
        0
    """
    X = boolean_inputs(2)
    y = xp.asarray(BOOLEAN_FUNCTIONS["XOR"])
    try:
        plot = _plot_ready(args)
        hand = BackpropMLP(2, args.hidden, 1, args.learning_rate, args.momentum, args.seed)
        if args.epochs < 1:
            raise ValueError(f"expected --epochs >= 1; got {args.epochs}")
    except (MissingPlotExtra, ValueError) as err:
        return _fail("xor", str(err))
    print(
        f"The chapter's network: 2 inputs, {args.hidden} sigmoid hidden units, 1 sigmoid "
        "output;\nsquared loss E = 1/2 sum (yhat - y)^2 over the batch of J = 4 samples; "
        "full-batch updates\nwith the gradient averaged over the batch, and momentum:\n"
        "dw(t) = -eps (1/J) dE/dw + alpha dw(t-1),  w <- w + dw(t),\n"
        f"with eps = {args.learning_rate:g}, alpha = {args.momentum:g}; initial weights "
        f"from seed {args.seed}.\n"
    )
    start = {k: v.copy() for k, v in hand.params.items()}
    history = hand.fit(X, y, args.epochs, stop_loss=args.target)
    print("By hand-derived backpropagation (no tape):")
    print("\n".join(_loss_table(history)))
    print(f"  {_reached(history, args.target)}")
    print("  final outputs:")
    for x, out in zip(X.tolist(), hand(X)[:, 0].tolist()):
        print(f"    {tuple(x)} -> {out:.4f}  (XOR = {x[0] ^ x[1]})")
    panels = [Panel("hand-derived backprop", X, y, lambda G: hand(G)[:, 0])]
    curves = [Curve("hand-derived", history.loss, "loss", log=True)]

    print("\nBy the GradientTape (same network, same start, same update rule):")
    taped = BackpropMLP(2, args.hidden, 1, args.learning_rate, args.momentum, args.seed)
    taped.params = {k: v.copy() for k, v in start.items()}
    try:
        first = tape_gradients(taped, X, y)
    except CoreUnavailableError as err:
        return _fail("xor", str(err))
    hand_first = BackpropMLP(2, args.hidden, 1, args.learning_rate, args.momentum, args.seed)
    hand_first.params = start
    first_gap = max(
        float(xp.max(xp.abs(first[k] - g))) for k, g in hand_first.gradients(X, y).items()
    )
    tape_history = taped.fit(X, y, args.epochs, stop_loss=args.target, gradient_fn=tape_gradients)
    print(f"  {_reached(tape_history, args.target)}")
    steps = min(history.epochs, tape_history.epochs)
    loss_gap = max(abs(a - b) for a, b in zip(history.loss[:steps], tape_history.loss[:steps]))
    print(f"  largest |hand - tape| gradient entry at the start: {first_gap:.2e}")
    print(f"  largest |hand - tape| loss over {steps} epochs:     {loss_gap:.2e}")
    print("  final outputs: " + ", ".join(f"{v:.4f}" for v in taped(X)[:, 0].tolist()))
    panels.append(Panel("GradientTape", X, y, lambda G: taped(G)[:, 0]))
    # Dashed, so the hand-derived curve it lies on stays in sight.
    curves.append(Curve("GradientTape", tape_history.loss, "loss", log=True, linestyle="--"))
    if plot:
        path = save_figure(args.plot, panels, curves, title="XOR by backpropagation")
        print(f"\nSaved {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="wengert")
    register(parser.add_subparsers())
    parsed = parser.parse_args()
    sys.exit(parsed.func(parsed))
