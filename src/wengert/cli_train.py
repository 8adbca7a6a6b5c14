"""``wengert train``: train a model from the zoo on a dataset, with checkpoints and resume.

With no arguments it trains an MLP on the bundled 8x8 digits.  ``--out DIR``
receives ``metrics.json``, the checkpoint (the whole training state) and a
loss/accuracy curve when matplotlib is installed.  SIGINT or SIGTERM during
training writes the checkpoint before exiting; ``--resume DIR`` continues
exactly where it stopped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid

from . import callbacks as callbacks_module
from . import layers, optimizers
from .backend import xp
from .checkpoints import CheckpointError, atomic_write_bytes
from .models import Sequential

CHECKPOINT = "checkpoint.npz"
CONFIG = "config.json"
METRICS = "metrics.json"
CURVES = "curves.png"


# -- the zoo ----------------------------------------------------------------------------------
def mlp(x_train, num_classes, seed):
    """An MLP: standardised pixels, 256 and 128 ReLU units with dropout, then logits."""
    norm = layers.Normalization(epsilon=0.05)  # epsilon: digits' corner pixels hardly vary
    model = Sequential(
        [
            layers.Input(x_train.shape[1:]),
            layers.Flatten(),
            norm,
            layers.Dense(256, activation="relu", kernel_initializer=_glorot(seed, 0)),
            layers.Dropout(0.3, seed=seed * 100 + 10),
            layers.Dense(128, activation="relu", kernel_initializer=_glorot(seed, 1)),
            layers.Dropout(0.3, seed=seed * 100 + 11),
            layers.Dense(num_classes, kernel_initializer=_glorot(seed, 2)),
        ],
        name="mlp",
    )
    norm.adapt(x_train.reshape(len(x_train), -1))
    return model


def _he(seed, k):
    from .initializers import HeNormal

    return HeNormal(seed=seed * 100 + k)


def _glorot(seed, k):
    from .initializers import GlorotUniform

    return GlorotUniform(seed=seed * 100 + k)


def _image_layers(x_train, min_size=None):
    """An Input for ``x_train``'s samples, a channel axis for (n, h, w) images, and for
    images smaller than ``min_size`` nearest-neighbour upsampling and zero padding up to it."""
    shape = tuple(x_train.shape[1:])
    out = [layers.Input(shape)]
    if len(shape) == 2:
        out.append(layers.Reshape(shape + (1,)))
        shape = shape + (1,)
    if min_size is not None and shape[0] < min_size:
        factor = max(1, min_size // shape[0])
        if factor > 1:
            out.append(layers.UpSampling2D(factor))
        short = min_size - shape[0] * factor
        if short > 0:
            out.append(layers.ZeroPadding2D(((short // 2, short - short // 2),) * 2))
    return out


def lenet(x_train, num_classes, seed):
    """LeNet-5 with ReLU and max pooling: conv 6@5x5 same, pool 2, conv 16@5x5, pool 2,
    dense 120, 84 (each followed by dropout 0.3), logits.

    The pixels are standardised one by one (statistics of ``x_train``) and images
    smaller than 20x20 (the 8x8 digits) are upsampled twice and zero-padded to 20x20,
    so that the second convolution still sees a 10x10 map.
    """
    norm = layers.Normalization(axis=tuple(range(1, x_train.ndim)), epsilon=0.05)
    image = _image_layers(x_train, min_size=20)
    model = Sequential(
        image[:1]
        + [norm]
        + image[1:]
        + [
            layers.Conv2D(
                6, 5, padding="same", activation="relu", kernel_initializer=_glorot(seed, 0)
            ),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation="relu", kernel_initializer=_glorot(seed, 1)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu", kernel_initializer=_glorot(seed, 2)),
            layers.Dropout(0.3, seed=seed * 100 + 10),
            layers.Dense(84, activation="relu", kernel_initializer=_glorot(seed, 3)),
            layers.Dropout(0.3, seed=seed * 100 + 11),
            layers.Dense(num_classes, kernel_initializer=_glorot(seed, 4)),
        ],
        name="lenet",
    )
    norm.adapt(x_train)
    return model


def cnn(x_train, num_classes, seed):
    """A small VGG-style CNN with batch normalization and dropout: two blocks of
    conv 3x3 (32, then 64 filters) + batch norm + ReLU + max pool 2, dropout 0.25,
    dense 128 + batch norm + ReLU, dropout 0.5, logits."""
    return Sequential(
        _image_layers(x_train)
        + [
            layers.Conv2D(32, 3, padding="same", use_bias=False, kernel_initializer=_he(seed, 0)),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", use_bias=False, kernel_initializer=_he(seed, 1)),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25, seed=seed * 100 + 10),
            layers.Flatten(),
            layers.Dense(128, use_bias=False, kernel_initializer=_he(seed, 2)),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.Dropout(0.5, seed=seed * 100 + 11),
            layers.Dense(num_classes, kernel_initializer=_glorot(seed, 3)),
        ],
        name="cnn",
    )


MODELS = {"mlp": mlp, "lenet": lenet, "cnn": cnn}


def load_dataset(name):
    """((x_train, y_train), (x_test, y_test)) as float32 images in [0, 1] and int64 labels."""
    from . import datasets

    if name == "digits":
        (xt, yt), (xs, ys) = datasets.digits.load_data()
    elif name == "mnist":
        (xt, yt), (xs, ys) = datasets.mnist.load_data()
    elif name == "fashion-mnist":
        (xt, yt), (xs, ys) = datasets.fashion_mnist.load_data()
    else:
        raise ValueError(f"unknown dataset {name!r}; choose from {sorted(DATASETS)}")
    scale = 255.0 if xt.dtype == xp.uint8 else 1.0
    return (
        (xt.astype("float32") / scale, yt.astype("int64")),
        (xs.astype("float32") / scale, ys.astype("int64")),
    )


DATASETS = ("digits", "mnist", "fashion-mnist")


# -- the command -------------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add ``train`` to the ``wengert`` command."""
    p = subparsers.add_parser(
        "train",
        help="train a model (default: an MLP on the 8x8 digits)",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )
    p.add_argument(
        "--model",
        default="mlp",
        choices=sorted(MODELS) + ["char-lstm"],
        help="mlp, lenet or cnn learn --dataset; char-lstm learns --text (default mlp)",
    )
    p.add_argument(
        "--text",
        default=None,
        metavar="FILE",
        help="training text for --model char-lstm (default: Python's own sources)",
    )
    p.add_argument(
        "--dataset",
        default="digits",
        choices=DATASETS,
        help="images for mlp, lenet and cnn: digits (bundled 8x8), mnist or fashion-mnist "
        "(default digits)",
    )
    p.add_argument(
        "--epochs", type=int, default=None, help="epochs to train (default 60; char-lstm 20)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="samples per step (default 32)")
    p.add_argument(
        "--lr", type=float, default=2e-3, help="initial learning rate, cosine decay (default 0.002)"
    )
    p.add_argument(
        "--optimizer",
        default="adam",
        help=f"one of {', '.join(sorted(optimizers._NAMES))}, any case (default adam)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the initial weights and the shuffling (default 0)",
    )
    p.add_argument(
        "--out", default=None, help="output folder (default runs/MODEL-DATASET, runs/char-lstm)"
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the run saved in DIR exactly where it stopped",
    )
    p.add_argument(
        "--verbose",
        type=int,
        default=None,
        help="0 silent, 1 progress bar, 2 a line per epoch (default 1 on a terminal, else 2)",
    )
    p.set_defaults(func=run)


class _Interrupt(callbacks_module.Callback):
    """Turns SIGINT/SIGTERM into a clean stop after the current batch."""

    def __init__(self):
        self.signal = None

    def install(self):
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def uninstall(self):
        for s, h in self._old.items():
            signal.signal(s, h)

    def _handle(self, signum, frame):
        self.signal = signum
        if self.model is not None:
            self.model.pause_training()

    def on_train_batch_end(self, batch, logs=None):
        if self.signal is not None:
            self.model.pause_training()


def _fit_until_signal(model, out, x, y, config, callbacks=(), **fit_kwargs):
    """``model.fit`` that a SIGINT/SIGTERM stops cleanly; then a checkpoint in ``out``,
    marked with the run's ``config["run_id"]``.

    Returns (training seconds, None) when training finished, or (seconds, exit code)
    after a signal, having told the user how to resume.
    """
    interrupt = _Interrupt()
    interrupt.install()
    start = time.perf_counter()
    try:
        model.fit(x, y, callbacks=[interrupt, *callbacks], **fit_kwargs)
    finally:
        interrupt.uninstall()
    elapsed = time.perf_counter() - start
    model.save_checkpoint(os.path.join(out, CHECKPOINT), {"run_id": config.get("run_id")})
    if interrupt.signal is None:
        return elapsed, None
    epoch, batch = model._position
    print(
        f"wengert train: interrupted (signal {interrupt.signal}) at epoch {epoch + 1}, "
        f"batch {batch}; checkpoint written to {os.path.join(out, CHECKPOINT)}; "
        f"continue with: wengert train --resume {out}",
        file=sys.stderr,
    )
    return elapsed, 128 + int(interrupt.signal)


def _resume_or_record(model, out, resume, config) -> bool:
    """Load the run's checkpoint when resuming, else write its config.json; False (after
    printing why) when the checkpoint cannot be read or belongs to another run.

    A new run gets a fresh ``run_id``, kept in its config and in its checkpoints: a run
    started in a folder that held an older one, and stopped before its first checkpoint,
    cannot then resume from the older run's weights.
    """
    path = os.path.join(out, CHECKPOINT)
    if resume:
        try:
            meta = model.load_checkpoint(path)
        except CheckpointError as exc:
            print(f"wengert train: {exc}", file=sys.stderr)
            return False
        if meta.get("run_id") != config.get("run_id"):
            print(
                f"wengert train: {path} belongs to an earlier run than {out}'s {CONFIG} "
                "(the later run stopped before writing a checkpoint); start it again",
                file=sys.stderr,
            )
            return False
    else:
        config["run_id"] = uuid.uuid4().hex
    atomic_write_bytes(os.path.join(out, CONFIG), json.dumps(config, indent=2).encode())
    return True


def _bad_option(args):
    """A sentence naming the first option that cannot work, or None."""
    import math

    if args.epochs is not None and args.epochs < 1:
        return f"--epochs must be at least 1, got {args.epochs}"
    if args.batch_size < 1:
        return f"--batch-size must be at least 1, got {args.batch_size}"
    if args.seed < 0:
        return f"--seed must be an integer >= 0, got {args.seed}"
    if not (math.isfinite(args.lr) and args.lr > 0):
        return f"--lr must be a positive number, got {args.lr}"
    try:
        optimizers.get(args.optimizer)
    except ValueError as exc:
        return f"--optimizer: {exc}"
    return None


def run(args) -> int:
    """Run ``wengert train`` with parsed ``args``; returns the exit status."""
    problem = _bad_option(args)
    if problem is not None:
        print(f"wengert train: {problem}", file=sys.stderr)
        return 2
    if args.model == "char-lstm" or (args.resume and _saved_model(args.resume) == "char-lstm"):
        from .cli_text import train_char_lstm  # a language model: its own data and metrics

        return train_char_lstm(args)
    if args.resume:
        out = args.resume
        try:
            with open(os.path.join(out, CONFIG)) as f:
                saved = json.load(f)
        except (OSError, ValueError) as exc:
            print(f"wengert train: cannot resume from {out}: {exc}", file=sys.stderr)
            return 2
        config = saved
        if args.epochs is not None:  # train further than the saved run planned
            config["epochs"] = args.epochs  # recorded once the checkpoint has loaded
    else:
        out = args.out or os.path.join("runs", f"{args.model}-{args.dataset}")
        config = {
            "model": args.model,
            "dataset": args.dataset,
            "epochs": args.epochs or 60,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "optimizer": args.optimizer,
            "seed": args.seed,
        }
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)

    from . import random as wg_random

    wg_random.set_seed(config["seed"])
    try:
        (x_train, y_train), (x_test, y_test) = load_dataset(config["dataset"])
    except (OSError, ValueError) as exc:  # missing or broken dataset files: say which
        print(f"wengert train: {exc}", file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    num_classes = int(y_train.max()) + 1
    model = MODELS[config["model"]](x_train, num_classes, config["seed"])
    opt = optimizers.get(config["optimizer"])
    steps = config["epochs"] * -(-len(x_train) // config["batch_size"])
    # Cosine decay to zero over the planned run: robust accuracy without tuning.
    opt.learning_rate = optimizers.schedules.CosineDecay(config["lr"], steps)
    model.compile(optimizer=opt, loss=_logits_loss(), metrics=["accuracy"])
    if not _resume_or_record(model, out, args.resume, config):
        return 2

    elapsed, interrupted = _fit_until_signal(
        model,
        out,
        x_train,
        y_train,
        config,
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        validation_data=(x_test, y_test),
        verbose=verbose,
        seed=config["seed"],
    )
    if interrupted is not None:
        return interrupted
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    metrics = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "epochs": config["epochs"],
        "train_seconds": elapsed,
        "model": config["model"],
        "dataset": config["dataset"],
        "history": model.history.history,
    }
    atomic_write_bytes(os.path.join(out, METRICS), json.dumps(metrics, indent=2).encode())
    print(
        f"test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f} "
        f"({elapsed:.1f} s); results in {out}"
    )
    _plot(model.history.history, os.path.join(out, CURVES))
    return 0


def _saved_model(folder):
    try:
        with open(os.path.join(folder, CONFIG)) as f:
            return json.load(f).get("model")
    except (OSError, ValueError):
        return None


def _logits_loss():
    from .losses import SparseCategoricalCrossentropy

    return SparseCategoricalCrossentropy(from_logits=True)


def _plot(history, path) -> None:
    try:
        from .plotting import plot_history
    except ImportError:
        return
    try:
        plot_history(history, path)
    except ImportError:
        pass  # matplotlib is optional: no curve without it
