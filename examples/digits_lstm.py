"""Sequence classification: read each 8x8 digit row by row with an LSTM.

Each image becomes a sequence of 8 steps (its rows) of 8 features (the pixels
of a row); the LSTM's last output goes to a Dense layer of 10 logits.  The
recurrence runs as one fused tape operation per batch (``wengert.rnn_ops``).

Run:  python examples/digits_lstm.py [--epochs 30] [--units 128] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import wengert as wg
from wengert.layers.rnn import LSTM


def main(epochs: int = 30, units: int = 128, seed: int = 0) -> float:
    wg.random.set_seed(seed)
    (x_train, y_train), (x_test, y_test) = wg.datasets.digits.load_data()
    print(f"{len(x_train)} training and {len(x_test)} test sequences of shape {x_train.shape[1:]}")
    model = wg.Sequential(
        [
            wg.layers.Input((8, 8)),  # 8 steps (rows) of 8 features (pixels)
            LSTM(units),
            wg.layers.Dense(10),
        ]
    )
    steps = epochs * -(-len(x_train) // 32)
    model.compile(
        optimizer=wg.optimizers.Adam(wg.optimizers.schedules.CosineDecay(5e-3, steps)),
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=2, seed=seed)
    elapsed = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} after {epochs} epochs ({elapsed:.1f} s)")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.units, args.seed)
