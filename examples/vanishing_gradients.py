"""Vanishing gradients: why deep sigmoid networks barely learn, in numbers and pictures.

The chapter's "shortfalls of backpropagation": the gradient of a deep weight is a
product of the derivatives of every layer above it, and the sigmoid's derivative
is at most 0.25 and vanishes as the unit saturates.  Ten sigmoid layers shrink
the gradient by about 0.25 ** 10 = 1e-6 before it reaches the first layer; ReLU
units (derivative 1 where active) with He initialisation keep it within a small
factor, so the whole network learns.

1. the sigmoid and its derivative (figure: sigmoid.png);
2. gradient norms by layer of a 10-layer sigmoid network (Glorot initialisation,
   Keras's standard) and the same network with ReLU and He initialisation
   (wg.diagnostics.gradient_report; figure: gradient_norms.png);
3. both trained on the 8x8 digits with plain SGD, with a GradientMonitor
   (figures: training_curves.png, monitor_sigmoid.png, monitor_relu.png).

Run: python examples/vanishing_gradients.py [--out DIR] [--epochs 20]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import wengert as wg
from wengert.classic.plot import MissingPlotExtra, require_matplotlib
from wengert.diagnostics import GradientMonitor, deep_classifier, gradient_report

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--out", default=os.path.join("runs", "vanishing-gradients"))
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
try:
    Figure, Canvas = require_matplotlib()
except MissingPlotExtra as err:
    Figure = None
    print(f"(no figures: {err})")


def save(fig, name):
    path = os.path.join(args.out, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"  figure: {path}")


# -- 1. the sigmoid and its derivative, the derivative taken by the tape ------------------------
print("1. The sigmoid and its derivative")
z = wg.linspace(-10.0, 10.0, 2001)
with wg.GradientTape() as tape:
    tape.watch(z)
    s = wg.sigmoid(z)
ds = tape.gradient(s, z).numpy()  # elementwise, so the gradient of the sum is the derivative
zs = z.numpy()
peak = int(np.argmax(ds))
print(f"  sigmoid'(z) peaks at z = {zs[peak]:.1f} with value {ds[peak]:.4f} (= 1/4)")
for at in (2.0, 5.0, 10.0):
    i = int(np.argmin(np.abs(zs - at)))
    j = int(np.argmin(np.abs(zs + at)))
    print(f"  sigmoid'(+-{at:g}) = {ds[i]:.2e}, {ds[j]:.2e}")
print(f"  ten layers at the peak: 0.25 ** 10 = {0.25**10:.1e}")
if Figure:
    fig = Figure(figsize=(6, 3.6))
    Canvas(fig)
    ax = fig.add_subplot()
    ax.plot(zs, s.numpy(), label="sigmoid(z)")
    ax.plot(zs, ds, label="sigmoid'(z) = s(1 - s)")
    ax.axhline(0.25, color="gray", lw=0.8, ls="--")
    ax.annotate("peak 0.25 at z = 0", (0, 0.25), (2.5, 0.4), arrowprops={"arrowstyle": "->"})
    ax.set(xlabel="z", title="The sigmoid saturates; its derivative vanishes at both ends")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, "sigmoid.png")

# -- 2. gradient norms by layer ----------------------------------------------------------------
print("\n2. Gradient norms by layer, one batch of 256 digits, before training")
(x_train, y_train), (x_test, y_test) = wg.datasets.digits.load_data()
x_train, x_test = x_train.astype("float32"), x_test.astype("float32")
nets = {
    act: deep_classifier(act, hidden_layers=10, seed=args.seed, x_train=x_train)
    for act in ("sigmoid", "relu")
}
reports = {}
for act, model in nets.items():
    init = "He normal" if act == "relu" else "Glorot uniform"
    print(f"\n{act} network (10 hidden layers of 64, {init} initialisation):")
    reports[act] = gradient_report(model, x_train[:256], y_train[:256])
    print(reports[act])
print()
for act, report in reports.items():
    print(f"first/last layer weight-gradient norm, {act}: {report.first_to_last:.2e}")
sig = reports["sigmoid"].column("output_grad_norm")[:-1]  # the ten sigmoid layers
per_layer = (sig[-1] / sig[0]) ** (1 / (len(sig) - 1))
saturated = max(reports["sigmoid"].column("saturated_fraction")[:-1])
print(
    f"the gradient w.r.t. a sigmoid layer's output shrinks {per_layer:.1f}x per layer on its "
    "way down (4x if every unit sat at the derivative's peak of 0.25); at most "
    f"{saturated:.1%} of the units are saturated, so here the derivative's bound, not "
    "saturation, does the damage"
)
print(
    "the first layer's gradient is "
    f"{reports['relu'].first_to_last / reports['sigmoid'].first_to_last:.1e} times "
    "larger, relative to the last layer's, with ReLU than with the sigmoid"
)
if Figure:
    fig = Figure(figsize=(6, 3.8))
    Canvas(fig)
    ax = fig.add_subplot()
    for act, report in reports.items():
        norms = report.column("weight_grad_norm")
        ax.plot(range(1, len(norms) + 1), norms, marker="o", label=f"{act} network")
    ax.set(
        yscale="log",
        xlabel="layer (1 = first hidden layer, 11 = logits)",
        ylabel="|dL/dW|",
        title="Gradient norm by layer before training",
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    save(fig, "gradient_norms.png")

# -- 3. training both ----------------------------------------------------------------------------
print(f"\n3. Training both for {args.epochs} epochs (SGD, learning rate 0.05, batch 32)")
histories, monitors = {}, {}
for act, model in nets.items():
    monitors[act] = GradientMonitor(x_train, y_train, batch_size=256, every=5)
    histories[act] = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=args.epochs,
        verbose=0,
        validation_data=(x_test, y_test),
        callbacks=[monitors[act]],
        seed=args.seed,
    ).history
for act, h in histories.items():
    marks = ", ".join(
        f"{e + 1}: {h['val_accuracy'][e]:.3f}"
        for e in sorted({0, len(h["loss"]) // 4, len(h["loss"]) // 2, len(h["loss"]) - 1})
    )
    print(f"  {act:<8} test accuracy by epoch  {marks}")
for act, h in histories.items():
    verdict = "learns" if h["val_accuracy"][-1] > 0.5 else "does not learn (chance is 0.1)"
    print(
        f"{act} network: final test accuracy {h['val_accuracy'][-1]:.3f}, "
        f"training loss {h['loss'][-1]:.3f}: it {verdict}"
    )
for act, m in monitors.items():
    ratios = ", ".join(f"{e}: {r.first_to_last:.1e}" for e, r in zip(m.epochs, m.reports))
    print(f"  {act:<8} first/last gradient norm by epoch  {ratios}")
if Figure:
    fig = Figure(figsize=(10, 3.6))
    Canvas(fig)
    for k, key in enumerate(("loss", "val_accuracy")):
        ax = fig.add_subplot(1, 2, k + 1)
        for act, h in histories.items():
            ax.plot(range(1, len(h[key]) + 1), h[key], marker="o", ms=3, label=f"{act} network")
        label = {"loss": "training loss", "val_accuracy": "test accuracy"}[key]
        ax.set(xlabel="epoch", ylabel=label, title=label)
        ax.grid(alpha=0.3)
        ax.legend()
    save(fig, "training_curves.png")
    for act, m in monitors.items():
        print(f"  figure: {m.plot(os.path.join(args.out, f'monitor_{act}.png'))}")
