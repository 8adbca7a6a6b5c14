"""LeNet-5 on the bundled 8x8 digits: convolutions, pooling and dense layers with ``fit``.

The network is ``wengert train --model lenet``'s: the pixels are standardised, the
8x8 images are upsampled twice and zero-padded to 20x20, then conv 6@5x5 (same),
ReLU, max-pool 2, conv 16@5x5, ReLU, max-pool 2, dense 120 and 84 (ReLU, dropout
0.3) and 10 logits.  Adam with a cosine-decayed learning rate, batch 32.

Run:  python examples/lenet_digits.py [--epochs 60] [--seed 0]
"""

import argparse
import time

import wengert as wg
from wengert.cli_train import MODELS, load_dataset

parser = argparse.ArgumentParser(description="LeNet-5 on the 8x8 digits")
parser.add_argument("--epochs", type=int, default=60)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

wg.random.set_seed(args.seed)
(x_train, y_train), (x_test, y_test) = load_dataset("digits")
model = MODELS["lenet"](x_train, 10, args.seed)
model.summary()

batch_size = 32
steps = args.epochs * -(-len(x_train) // batch_size)
optimizer = wg.optimizers.Adam(wg.optimizers.schedules.CosineDecay(2e-3, steps))
model.compile(
    optimizer=optimizer,
    loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
start = time.perf_counter()
history = model.fit(
    x_train, y_train, batch_size=batch_size, epochs=args.epochs, verbose=0, seed=args.seed
)
elapsed = time.perf_counter() - start
for epoch in sorted({0, args.epochs // 2, args.epochs - 1}):
    logs = {k: v[epoch] for k, v in history.history.items()}
    print(f"epoch {epoch + 1:3d}: loss {logs['loss']:.4f}, accuracy {logs['accuracy']:.4f}")
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f} ({args.epochs} epochs, {elapsed:.1f} s)")
