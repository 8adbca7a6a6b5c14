"""A character-level LSTM language model that learns to write Python-looking text.

The text is a file you name or, by default, the Python standard library's own
source files (on every machine; nothing to download).  The model reads 100
characters at a time and predicts each next one; its held-out cross-entropy
is reported in bits per character, and after each epoch it writes a sample.

Run:  python examples/char_lstm.py [--text FILE] [--epochs 20] [--units 256]

The same model, with checkpoints and resume, is ``wengert train --model char-lstm``,
and ``wengert generate`` samples from what it saved.
"""

from __future__ import annotations

import argparse
import time

import wengert as wg
from wengert.text import (
    CharLSTM,
    CharVocabulary,
    bits_per_character,
    default_corpus,
    sample,
    windows,
)


class ShowProgress(wg.callbacks.Callback):
    """After each epoch: bits per character on the held-out text, and a sample."""

    def __init__(self, vocab, held_out):
        self.vocab = vocab
        self.held_out = held_out

    def on_epoch_end(self, epoch, logs=None):
        bpc = bits_per_character(self.model, self.held_out)
        text = sample(self.model, self.vocab, "def ", length=200, temperature=0.6, seed=epoch)
        print(f"epoch {epoch + 1}: loss {logs['loss']:.3f}, held-out {bpc:.3f} bits/char")
        print(f"def {text}\n", flush=True)


def main(text_file=None, epochs=20, units=256, chars=300_000, seed=0):
    wg.random.set_seed(seed)
    if text_file:
        with open(text_file, encoding="utf-8", errors="replace") as f:
            text = f.read()
    else:
        text = default_corpus(chars)
    cut = int(len(text) * 0.9)  # the last tenth is held out
    vocab = CharVocabulary.from_text(text)
    x, y = windows(vocab.encode(text[:cut]), 100)
    held_out = vocab.encode(text[cut:])
    print(f"{len(text):,} characters, {len(vocab)} distinct; {len(x)} windows of 100")

    model = CharLSTM(len(vocab), embedding_dim=32, units=units, seed=seed)
    model(x[:1])  # build the weights before fit reads them
    steps = epochs * -(-len(x) // 32)
    model.compile(
        optimizer=wg.optimizers.Adam(
            wg.optimizers.schedules.CosineDecay(2e-3, steps, alpha=0.1), global_clipnorm=5.0
        ),
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=32,
        epochs=epochs,
        verbose=0,
        seed=seed,
        callbacks=[ShowProgress(vocab, held_out)],
    )
    minutes = (time.perf_counter() - start) / 60
    bpc = bits_per_character(model, held_out)
    print(f"held-out bits per character: {bpc:.3f} after {minutes:.1f} minutes")
    print("sample at temperature 0.8:\n")
    print("import " + sample(model, vocab, "import ", length=500, temperature=0.8, seed=1))
    return bpc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", default=None, help="a text file (default: Python's sources)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--chars", type=int, default=300_000, help="size of the default corpus")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.text, args.epochs, args.units, args.chars, args.seed)
