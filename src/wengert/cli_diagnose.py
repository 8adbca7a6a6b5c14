"""``wengert diagnose``: gradient norms by layer, saturated and dead units, update ratios.

Reports on one batch of a run saved by ``wengert train`` (``--checkpoint DIR``)
or of the chapter's 10-layer networks on the digits (``--model sigmoid-deep`` or
``relu-deep``): a table, and a warning when gradients vanish or explode across
the network.  ``--plot PATH`` also trains briefly with a GradientMonitor and
saves the gradient norm by layer and epoch (needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .checkpoints import CheckpointError, atomic_write_bytes

DEEP_MODELS = {"sigmoid-deep": "sigmoid", "relu-deep": "relu"}


def register(subparsers) -> None:
    """Add ``diagnose`` to the ``wengert`` command.

    Example:
        >>> import argparse
        >>> parser = argparse.ArgumentParser(prog="wengert")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["diagnose", "--model", "relu-deep"]).model
        'relu-deep'
    """
    p = subparsers.add_parser(
        "diagnose",
        help="gradient norms by layer, saturated and dead units, update ratios",
        description=__doc__.split("\n\n")[1],
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="a run folder written by `wengert train` (or its checkpoint.npz)",
    )
    source.add_argument(
        "--model",
        choices=sorted(DEEP_MODELS),
        help="the chapter's 10-layer network on the digits (default: sigmoid-deep)",
    )
    p.add_argument("--batch-size", type=int, default=256, help="samples in the batch (256)")
    p.add_argument(
        "--epsilon",
        type=float,
        default=0.01,
        help="a sigmoid/tanh output this close to a limit is saturated (0.01)",
    )
    p.add_argument(
        "--factor",
        type=float,
        default=100.0,
        help="warn when gradients shrink or grow more than this across the network (100)",
    )
    p.add_argument(
        "--plot",
        metavar="PATH",
        help="also train briefly and save gradient norms by layer and epoch as a PNG (PATH "
        'ending in .png; needs matplotlib: pip install "wengert[plot]")',
    )
    p.add_argument(
        "--epochs", type=_at_least_one, default=5, help="epochs to train for --plot, >= 1 (5)"
    )
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1 (0 epochs would leave --plot nothing to draw)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _deep(name, seed):
    from .backend import float32
    from .datasets import digits
    from .diagnostics import deep_classifier

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train, x_test = x_train.astype(float32), x_test.astype(float32)
    model = deep_classifier(DEEP_MODELS[name], seed=seed, x_train=x_train)
    return model, (x_train, y_train), (x_test, y_test)


def _from_checkpoint(path):
    """The model of a ``wengert train`` run, restored, with its data set."""
    from . import optimizers
    from .cli_train import CHECKPOINT, CONFIG, MODELS, load_dataset
    from .losses import SparseCategoricalCrossentropy

    folder, file = (
        (path, os.path.join(path, CHECKPOINT))
        if os.path.isdir(path)
        else (
            os.path.dirname(path) or ".",
            path,
        )
    )
    try:
        with open(os.path.join(folder, CONFIG)) as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read the run's {CONFIG} in {folder}: {exc}") from exc
    name = config.get("model")
    if name not in MODELS:
        raise CheckpointError(
            f"{folder}: model {name!r} is not one `wengert diagnose` can rebuild "
            f"(known: {sorted(MODELS)})"
        )
    (x_train, y_train), (x_test, y_test) = load_dataset(config["dataset"])
    num_classes = int(y_train.max()) + 1
    model = MODELS[name](x_train, num_classes, config.get("seed", 0))
    # The optimizer as `wengert train` made it, so the update ratio is that of the next step.
    opt = optimizers.get(config.get("optimizer", "adam"))
    steps = config["epochs"] * -(-len(x_train) // config["batch_size"])
    opt.learning_rate = optimizers.schedules.CosineDecay(config["lr"], steps)
    model.compile(
        optimizer=opt, loss=SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    model.load_checkpoint(file)
    if opt.learning_rate == 0.0:
        # A finished run's cosine schedule has decayed to 0: the next step would change
        # nothing, so measure (and train) at the run's initial rate instead.
        print(
            f"note: the run's learning rate has decayed to 0 at step {opt.iterations}; "
            f"using its initial rate {config['lr']:g} for the update ratios and training"
        )
        opt.learning_rate = float(config["lr"])
    return model, (x_train, y_train), (x_test, y_test)


def run(args) -> int:
    """Run ``wengert diagnose`` with parsed ``args``; returns the exit status."""
    from .classic.plot import MissingPlotExtra, require_matplotlib
    from .diagnostics import GradientMonitor, gradient_report

    if args.plot:
        try:
            require_matplotlib()  # fail before any work
        except MissingPlotExtra as exc:
            print(f"wengert diagnose: {exc}", file=sys.stderr)
            return 1
    from . import random as wg_random

    problem = None
    if not args.factor > 1:
        problem = f"--factor must be a number > 1, got {args.factor}"
    elif args.batch_size < 1:
        problem = f"--batch-size must be at least 1, got {args.batch_size}"
    elif args.checkpoint and not os.path.exists(args.checkpoint):
        problem = f"--checkpoint {args.checkpoint}: no such file or folder"
    elif args.plot and os.path.splitext(args.plot)[1].lower() not in ("", ".png"):
        # diagnostics.plot_gradient_norms writes PNG bytes whatever the name says.
        problem = f"--plot {args.plot}: wengert diagnose writes PNG only; name the file .png"
    else:
        for option, path in (("--json", args.json), ("--plot", args.plot)):
            folder = os.path.dirname(os.path.abspath(path)) if path else None
            if folder and not os.path.isdir(folder):
                problem = f"{option} {path}: the folder {folder} does not exist"
    if problem is not None:
        print(f"wengert diagnose: {problem}", file=sys.stderr)
        return 2
    wg_random.set_seed(args.seed)
    try:
        if args.checkpoint:
            model, (x, y), validation = _from_checkpoint(args.checkpoint)
        else:
            model, (x, y), validation = _deep(args.model or "sigmoid-deep", args.seed)
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"wengert diagnose: {exc}", file=sys.stderr)
        return 2
    n = max(1, args.batch_size)
    report = gradient_report(model, x[:n], y[:n], epsilon=args.epsilon, factor=args.factor)
    print(f'Model "{model.name}"')
    print(report)
    if args.json:
        atomic_write_bytes(args.json, json.dumps(report.as_dict(), indent=2).encode())
    if args.plot:
        monitor = GradientMonitor(x, y, batch_size=n, epsilon=args.epsilon, factor=args.factor)
        model.fit(
            x,
            y,
            epochs=args.epochs,
            initial_epoch=0,
            verbose=0,
            callbacks=[monitor],
            validation_data=validation,
            seed=args.seed,
        )
        print(
            f"\nfirst/last layer weight-gradient norm by epoch ({args.epochs} epochs of training):"
        )
        for epoch, r in zip(monitor.epochs, monitor.reports):
            ratio = r.first_to_last
            print(f"  epoch {epoch:>3}: {'-' if ratio is None else f'{ratio:.2e}'}")
        history = model.history.history
        if "val_accuracy" in history:
            print(f"validation accuracy after training: {history['val_accuracy'][-1]:.3f}")
        monitor.plot(args.plot, title=f'gradient norms of "{model.name}"')
        print(f"gradient norms by layer and epoch written to {args.plot}")
    return 0
