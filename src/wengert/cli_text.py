"""``wengert train --model char-lstm`` and ``wengert generate``: a character-level LSTM.

``wengert train --model char-lstm [--text FILE]`` trains a ``CharLSTM`` on a
text file (default: Python's own standard-library sources, present on every
machine), reports bits per character on held-out text (the last tenth), and
writes to ``--out`` (default ``runs/char-lstm``): ``checkpoint.npz`` (the whole
training state, so ``--resume`` continues exactly), ``config.json`` and
``vocab.json`` (what ``generate`` needs to rebuild the model) and
``metrics.json``.  ``wengert generate --checkpoint runs/char-lstm --prompt
"def " --temperature 0.8`` then samples new text from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shlex
import sys
import time

from . import callbacks as callbacks_module
from . import optimizers
from .backend import xp
from .checkpoints import CheckpointError, atomic_write_bytes
from .losses import SparseCategoricalCrossentropy
from .text import CharLSTM, CharVocabulary, bits_per_character, default_corpus, sample, windows

CHECKPOINT = "checkpoint.npz"
CONFIG = "config.json"
VOCAB = "vocab.json"
METRICS = "metrics.json"

# The default run: about three minutes on two CPU cores (20 epochs of 85 steps), after
# which samples show Python's keywords, common identifiers, calls and indentation.
DEFAULTS = {
    "corpus_chars": 300_000,
    "seq_len": 100,
    "embedding_dim": 32,
    "units": 256,
    "epochs": 20,
    "batch_size": 32,
    "held_out": 0.1,
    "sample_prompt": "def ",  # for the default corpus; a --text gets its own (_prompt_from)
}


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


def _read_corpus(config) -> str:
    if config.get("text"):
        with open(config["text"], encoding="utf-8", errors="replace") as f:
            return f.read()
    return default_corpus(config["corpus_chars"])


def _prompt_from(text: str) -> str:
    """The prompt samples start from: the text's first word and the space after it, at
    most 8 characters, so they begin the way the text does (and use only its characters).

    Example:
        >>> _prompt_from("  Call me Ishmael."), _prompt_from("#!/usr/bin/env python")
        ('Call ', '#!/usr/b')
    """
    stripped = text.lstrip()
    found = re.match(r"\S{1,8} ?", stripped)
    return found.group() if found else text[:1]


def _split(text: str, held_out: float):
    cut = int(len(text) * (1.0 - held_out))
    return text[:cut], text[cut:]


def _model(config, vocab):
    model = CharLSTM(
        len(vocab),
        embedding_dim=config["embedding_dim"],
        units=config["units"],
        seed=config["seed"],
        name="char_lstm",
    )
    model(xp.zeros((1, 1), dtype="int32"))  # build the weights
    return model


class _Report(callbacks_module.Callback):
    """Adds held-out bits per character to each epoch's logs; prints progress and a sample."""

    def __init__(self, vocab, val_ids, config, verbose):
        self.vocab = vocab
        self.val_ids = val_ids
        self.config = config
        self.verbose = verbose
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose == 2 and logs and (batch + 1) % 20 == 0:
            print(
                f"  batch {batch + 1}/{self.params.get('steps')} - loss {logs['loss']:.4f} "
                f"({time.perf_counter() - self.start:.0f} s)",
                flush=True,
            )

    def on_epoch_end(self, epoch, logs=None):
        bpc = bits_per_character(self.model, self.val_ids, self.config["seq_len"])
        if logs is not None:
            logs["val_bits_per_character"] = bpc
        if self.verbose:
            text = sample(
                self.model,
                self.vocab,
                self.config["sample_prompt"],
                length=160,
                temperature=0.6,
                seed=self.config["seed"] * 1000 + epoch,  # its own stream: resume stays exact
            )
            print(f"--- sample after epoch {epoch + 1} ---\n{self.config['sample_prompt']}{text}")
            print("---", flush=True)


def train_char_lstm(args) -> int:
    """Run ``wengert train --model char-lstm`` (or resume one); returns the exit status.

    Args:
        args: the parsed ``wengert train`` arguments (text, epochs, batch_size, lr,
            optimizer, seed, out, resume, verbose).

    Returns:
        0 when training finished, 2 for unusable arguments or files, 128 + the signal
        number when SIGINT/SIGTERM stopped it (after writing the checkpoint).

    Example:
        >>> import argparse
        >>> from wengert.cli_text import train_char_lstm
        >>> train_char_lstm(argparse.Namespace(resume="no/such/run", epochs=None, verbose=0))
        2
    """
    from . import random as wg_random
    from .cli_train import _fit_until_signal, _resume_or_record

    if args.resume:
        out = args.resume
        try:
            with open(os.path.join(out, CONFIG)) as f:
                config = json.load(f)
            with open(os.path.join(out, VOCAB)) as f:
                vocab = CharVocabulary.from_json(f.read())
        except (OSError, ValueError, KeyError) as exc:
            print(f"wengert train: cannot resume from {out}: {exc}", file=sys.stderr)
            return 2
        if args.epochs is not None:
            config["epochs"] = args.epochs
    else:
        out = args.out or os.path.join("runs", "char-lstm")
        config = dict(DEFAULTS)
        config.update(
            model="char-lstm",
            text=os.path.abspath(args.text) if args.text else None,
            epochs=args.epochs or DEFAULTS["epochs"],
            batch_size=args.batch_size or DEFAULTS["batch_size"],
            lr=args.lr,
            optimizer=args.optimizer,
            seed=args.seed,
        )
        vocab = None
    try:
        text = _read_corpus(config)
    except OSError as exc:
        print(f"wengert train: cannot read the text: {exc}", file=sys.stderr)
        return 2
    if args.resume and config.get("fingerprint") != _fingerprint(text):
        print(
            f"wengert train: the text changed since the run in {out} started; cannot resume",
            file=sys.stderr,
        )
        return 2
    train_text, val_text = _split(text, config["held_out"])
    if len(val_text) < 2 or len(train_text) <= config["seq_len"]:
        print(
            f"wengert train: the text has {len(text)} characters; need more than "
            f"{int(config['seq_len'] / (1 - config['held_out'])) + 2}",
            file=sys.stderr,
        )
        return 2
    if vocab is None:
        vocab = CharVocabulary.from_text(text)
        if config["text"]:
            config["sample_prompt"] = _prompt_from(text)
        config["fingerprint"] = _fingerprint(text)
        config["corpus"] = {"characters": len(text), "vocabulary": len(vocab)}
    os.makedirs(out, exist_ok=True)
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)

    wg_random.set_seed(config["seed"])
    x, y = windows(vocab.encode(train_text), config["seq_len"])
    val_ids = vocab.encode(val_text)
    model = _model(config, vocab)
    opt = optimizers.get(config["optimizer"])
    opt.global_clipnorm = 5.0  # the usual guard against an LSTM's occasional gradient spike
    steps = config["epochs"] * -(-len(x) // config["batch_size"])
    opt.learning_rate = optimizers.schedules.CosineDecay(config["lr"], steps, alpha=0.1)
    model.compile(optimizer=opt, loss=SparseCategoricalCrossentropy(from_logits=True))
    if not _resume_or_record(model, out, args.resume, config):
        return 2
    if not args.resume:
        atomic_write_bytes(os.path.join(out, VOCAB), vocab.to_json().encode())
        if verbose:
            print(
                f"char-lstm: {len(text):,} characters ({len(vocab)} distinct), "
                f"{len(x)} windows of {config['seq_len']}, {model.count_params():,} weights"
            )

    elapsed, interrupted = _fit_until_signal(
        model,
        out,
        x,
        y,
        config,
        callbacks=[_Report(vocab, val_ids, config, verbose)],
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        verbose=verbose,
        seed=config["seed"],
    )
    if interrupted is not None:
        return interrupted
    bpc = bits_per_character(model, val_ids, config["seq_len"])
    generated = sample(model, vocab, config["sample_prompt"], length=300, temperature=0.6, seed=0)
    metrics = {
        "bits_per_character": bpc,
        "held_out_characters": len(val_ids),
        "epochs": config["epochs"],
        "train_seconds": elapsed,
        "model": "char-lstm",
        "corpus": config["corpus"],
        "history": model.history.history,
        "sample": config["sample_prompt"] + generated,
    }
    atomic_write_bytes(os.path.join(out, METRICS), json.dumps(metrics, indent=2).encode())
    print(
        f"held-out bits per character {bpc:.3f} ({elapsed:.1f} s); results in {out}; "
        f"try: wengert generate --checkpoint {shlex.quote(out)} "
        f"--prompt {shlex.quote(config['sample_prompt'])} --temperature 0.8"
    )
    return 0


# -- wengert generate ----------------------------------------------------------------------------
def register(subparsers) -> None:
    """Add ``generate`` to the ``wengert`` command.

    Args:
        subparsers: the ``add_subparsers()`` object of the ``wengert`` parser.

    Example:
        >>> import argparse
        >>> from wengert.cli_text import register
        >>> parser = argparse.ArgumentParser(prog="wengert")
        >>> register(parser.add_subparsers())
        >>> parser.parse_args(["generate", "--checkpoint", "runs/char-lstm"]).temperature
        0.8
    """
    p = subparsers.add_parser(
        "generate",
        help="sample text from a char-lstm trained with `wengert train --model char-lstm`",
        description="Sample text from a character-level LSTM checkpoint.",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        metavar="PATH",
        help="the run folder (or its checkpoint.npz) written by wengert train --model char-lstm",
    )
    p.add_argument("--prompt", default="", help="text to continue")
    p.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="below 1: safer choices; above 1: wilder; 0: always the likeliest (default 0.8)",
    )
    p.add_argument("--length", type=int, default=400, help="characters to generate (default 400)")
    p.add_argument("--seed", type=int, default=None, help="seed of the sampling")
    p.set_defaults(func=generate)


def generate(args) -> int:
    """Run ``wengert generate`` with parsed ``args``; prints the prompt and its continuation.

    Args:
        args: checkpoint (a run folder or its checkpoint.npz), prompt, temperature,
            length and seed.

    Returns:
        0, or 2 when the run or its files cannot be read.

    Example:
        >>> import argparse
        >>> from wengert.cli_text import generate
        >>> generate(argparse.Namespace(checkpoint="no/such/run", prompt="", temperature=1.0,
        ...                             length=10, seed=0))
        2
    """
    path = args.checkpoint
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    checkpoint = os.path.join(path, CHECKPOINT) if os.path.isdir(path) else path
    try:
        with open(os.path.join(folder, CONFIG)) as f:
            config = json.load(f)
        with open(os.path.join(folder, VOCAB)) as f:
            vocab = CharVocabulary.from_json(f.read())
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(
            f"wengert generate: {folder} does not hold a char-lstm run ({CONFIG} and {VOCAB} "
            f"next to the checkpoint): {exc}",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.temperature < math.inf or args.length < 0:  # NaN fails too
        print("wengert generate: --temperature and --length must be >= 0", file=sys.stderr)
        return 2
    if args.seed is not None and args.seed < 0:
        print(f"wengert generate: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 2
    try:
        model = _model(config, vocab)
        model.compile(optimizer=optimizers.get(config.get("optimizer", "adam")), loss=None)
        meta = model.load_checkpoint(checkpoint)
    except (CheckpointError, OSError, TypeError, ValueError, KeyError, AttributeError) as exc:
        print(f"wengert generate: cannot use {checkpoint}: {exc!r}", file=sys.stderr)
        return 2
    if meta.get("run_id") != config.get("run_id"):
        print(
            f"wengert generate: {checkpoint} belongs to an earlier run than {folder}'s "
            f"{CONFIG} (the later run stopped before writing a checkpoint)",
            file=sys.stderr,
        )
        return 2
    unknown = sorted({c for c in args.prompt if c not in vocab._index})
    if unknown:
        print(
            f"wengert generate: skipping characters the model never saw: "
            f"{', '.join(repr(c) for c in unknown)}",
            file=sys.stderr,
        )
    text = sample(
        model, vocab, args.prompt, length=args.length, temperature=args.temperature, seed=args.seed
    )
    print(args.prompt + text)
    return 0
