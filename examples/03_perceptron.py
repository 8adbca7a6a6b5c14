"""From TLUs to tuning perceptrons: Rosenblatt's learning rule.

The perceptron replaces the TLU's fixed weights with learnt ones and adds a bias:
yhat = step(w.x + b), and after each sample w_i <- w_i + r (y - yhat) x_i. It
converges on linearly separable data and, on XOR, cycles for ever.

Run: python examples/03_perceptron.py
"""

import wengert.classic as classic
from wengert.classic.data import BOOLEAN_FUNCTIONS, boolean_inputs, gaussian_clouds

print(__doc__.split("\n\n")[1], "\n")
X = boolean_inputs(2)

# Step by step on AND, from zero weights, r = 1.
model = classic.Perceptron(learning_rate=1.0, max_epochs=20)
history = model.fit(X, BOOLEAN_FUNCTIONS["AND"])
# "errors" are those of the weights the epoch ends with; "updates" the mistakes made
# (and corrected, one sample at a time) during it.
print("AND, weights and bias after each epoch:")
steps = zip(history.weights, history.biases, history.errors, history.updates)
for epoch, (w, b, e, u) in enumerate(steps, 1):
    print(f"  epoch {epoch}: w = {w.tolist()}, b = {b:g}, errors after it = {e}, updates = {u}")
print(" ", history.summary())
print("  as a TLU:", model.to_tlu(), "\n")

for name in ("OR", "XOR"):
    history = classic.Perceptron(max_epochs=100).fit(X, BOOLEAN_FUNCTIONS[name])
    print(f"{name}: {history.summary()}")

# The cycle is itself a proof: the updates made around it add up to zero.
history = classic.Perceptron().fit(X, BOOLEAN_FUNCTIONS["XOR"])
counts = history.cycle_updates()
print(
    "  net multiple of each (x, 1) added over the XOR cycle:",
    dict(zip(map(tuple, X.tolist()), counts.tolist())),
)
print("  (0,1) + (1,0) = (0,0) + (1,1): the same contradiction as find_tlu's.\n")

Xc, yc = gaussian_clouds(50, seed=0)
clouds = classic.Perceptron()
print("Two Gaussian clouds (100 points):", clouds.fit(Xc, yc).summary())
print("  training accuracy:", float((clouds.predict(Xc) == yc).mean()))
