"""A custom training loop: GradientTape + apply_gradients, the way ``fit`` does it inside.

Trains a small MLP on the two-moons data set, printing the loss as it falls,
then checks the accuracy.

Run:  python examples/custom_training_loop.py
"""

import wengert as wg
from wengert import layers

wg.random.set_seed(0)
x, y = wg.datasets.two_moons(n_samples=400, noise=0.15, seed=0)

model = wg.Sequential(
    [
        layers.Input((2,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(2),
    ]
)
loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = wg.optimizers.Adam(learning_rate=0.01)
accuracy = wg.metrics.SparseCategoricalAccuracy()

for epoch in range(30):
    for xb, yb in wg.datasets.batches(x, y, batch_size=32, seed=epoch):
        with wg.GradientTape() as tape:
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    if epoch % 5 == 0 or epoch == 29:
        print(f"epoch {epoch + 1:2d}: last batch loss {float(loss):.4f}")

accuracy.update_state(y, model(x))
print(f"training accuracy: {accuracy.result():.3f}")
assert accuracy.result() > 0.95
