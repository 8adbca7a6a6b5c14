"""Multi-layer perceptrons and backpropagation: the 2-5-1 network learns XOR.

Sigmoid hidden and output units, squared loss E = 1/2 sum (yhat - y)^2 over the J = 4
samples, gradients by the chain rule derived by hand, and full-batch updates with the
gradient averaged over the batch and momentum: dw(t) = -eps (1/J) dE/dw + alpha dw(t-1).

Run: python examples/04_backprop_xor.py
"""

import wengert as wg
import wengert.classic as classic
from wengert.backend import xp
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs

print(__doc__.split("\n\n")[1], "\n")
X, y = boolean_inputs(2), BOOLEAN_FUNCTIONS["XOR"]

net = classic.BackpropMLP(
    n_inputs=2, n_hidden=5, n_outputs=1, learning_rate=0.5, momentum=0.9, seed=0
)
history = net.fit(X, y, epochs=5000, stop_loss=0.01)
for t in (0, 100, 200, 300, 400, history.epochs - 1):
    print(f"epoch {t:>4}: loss {history.loss[t]:.5f}, {round(4 * history.accuracy[t])}/4 right")
print(f"loss < 0.01 with 4/4 right after {history.first_epoch_below(0.01)} epochs")
for x, out in zip(X.tolist(), net(X)[:, 0].tolist()):
    print(f"  {tuple(x)} -> {out:.3f}")

# The hand-derived gradients are the tape's gradients.
if hasattr(wg, "GradientTape"):
    hand = net.gradients(X, y)
    taped = classic.tape_gradients(net, X, y)
    gap = max(float(xp.max(xp.abs(hand[k] - taped[k]))) for k in hand)
    print(f"\nlargest difference between hand-derived and GradientTape gradients: {gap:.1e}")
else:
    print("\n(wengert's core is not installed, so the tape comparison is skipped)")
