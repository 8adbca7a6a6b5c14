"""Train a ``wengert train`` model zoo network in PyTorch with the same start and schedule.

The network is built by wengert's own builder (``wengert.cli_train.MODELS``) and
translated layer by layer into ``torch.nn`` modules, starting from the *same initial
weights*.  The schedule is the one ``wengert train`` uses: Adam (epsilon 1e-7,
wengert's and Keras's default) with the learning rate decayed to zero by a cosine
over all steps, the same batch size, and the same shuffled batches (the order comes
from wengert's ``Generator(seed)``, as in ``Model.fit``).  Dropout masks come from
torch's generator (seeded with the same seed), so the runs are not bit-identical.
BatchNormalization's momentum m becomes torch's 1 - m, epsilon is kept.

Prints one line per epoch and a final JSON line with test accuracy, loss and wall
time (training only, as ``wengert train`` reports it).

Run:  PYTHONPATH=src python benchmarks/train_torch.py --model lenet --dataset fashion-mnist \\
          --epochs 15 --batch-size 64 [--threads 2]
      PYTHONPATH=src python -m wengert.cli train --model lenet --dataset fashion-mnist \\
          --epochs 15 --batch-size 64        (the wengert run to compare with)
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from wengert import cli_train, layers
from wengert import random as wg_random
from wengert.random import Generator


class Lambda(torch.nn.Module):
    """A function as a module (for reshapes and permutes)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def translate(model) -> torch.nn.Sequential:
    """torch modules computing what the wengert Sequential computes, with its weights.

    Images run NCHW in torch; before Flatten they are put back in NHWC order so
    the following Dense kernel applies unchanged.
    """
    mods = []
    channels_first = False  # whether torch's current tensor is NCHW
    activations = {"relu": torch.nn.ReLU, "linear": None}
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Normalization":
            mean, var = layer.mean.numpy(), layer.variance.numpy()
            eps = layer.epsilon
            mean_t, scale_t = _t(mean), _t(1.0 / np.sqrt(var + eps) if eps else 1 / np.sqrt(var))
            mods.append(Lambda(lambda x, m=mean_t, s=scale_t: (x - m) * s))
        elif kind == "Reshape":
            target = layer.target_shape
            if len(target) == 3:  # (h, w, c): an image gets its channel axis, NCHW for torch
                mods.append(Lambda(lambda x, t=target: x.reshape((-1,) + t).permute(0, 3, 1, 2)))
                channels_first = True
            else:
                mods.append(Lambda(lambda x, t=target: x.reshape((-1,) + t)))
        elif kind == "UpSampling2D":
            mods.append(torch.nn.Upsample(scale_factor=layer.size, mode="nearest"))
        elif kind == "ZeroPadding2D":
            (t, b), (lft, r) = layer.padding
            mods.append(torch.nn.ZeroPad2d((lft, r, t, b)))
        elif kind == "Conv2D":
            kh, kw, cin, cout = layer.kernel.shape
            pads = layer.padding
            conv = torch.nn.Conv2d(
                cin * layer.groups,
                cout,
                (kh, kw),
                stride=layer.strides,
                padding=pads if pads == "same" else 0,
                dilation=layer.dilation_rate,
                groups=layer.groups,
                bias=layer.use_bias,
            )
            with torch.no_grad():
                conv.weight.copy_(_t(layer.kernel.numpy().transpose(3, 2, 0, 1)))
                if layer.use_bias:
                    conv.bias.copy_(_t(layer.bias.numpy()))
            mods.append(conv)
            act = activations[layer.activation.__name__]
            if act is not None:
                mods.append(act())
        elif kind == "MaxPooling2D":
            mods.append(torch.nn.MaxPool2d(layer.pool_size, layer.strides))
        elif kind == "BatchNormalization":
            size = layer.gamma.shape[0]
            bn_cls = torch.nn.BatchNorm2d if channels_first else torch.nn.BatchNorm1d
            bn = bn_cls(size, eps=layer.epsilon, momentum=1 - layer.momentum)
            with torch.no_grad():
                bn.weight.copy_(_t(layer.gamma.numpy()))
                bn.bias.copy_(_t(layer.beta.numpy()))
            mods.append(bn)
        elif kind == "Activation":
            mods.append(activations[layer.activation.__name__]())
        elif kind == "Dropout":
            mods.append(torch.nn.Dropout(layer.rate))
        elif kind == "Flatten":
            if channels_first:
                mods.append(Lambda(lambda x: x.permute(0, 2, 3, 1)))
                channels_first = False
            mods.append(torch.nn.Flatten())
        elif kind == "Dense":
            k = layer.kernel.numpy()
            dense = torch.nn.Linear(k.shape[0], k.shape[1], bias=layer.use_bias)
            with torch.no_grad():
                dense.weight.copy_(_t(k.T))
                if layer.use_bias:
                    dense.bias.copy_(_t(layer.bias.numpy()))
            mods.append(dense)
            act = activations[layer.activation.__name__]
            if act is not None:
                mods.append(act())
        else:
            raise NotImplementedError(f"no torch translation for layer {kind}")
    return torch.nn.Sequential(*mods)


def evaluate(net, x, y, batch_size=256):
    net.eval()
    correct, total_loss = 0, 0.0
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            logits = net(_t(x[s : s + batch_size]))
            yb = torch.from_numpy(y[s : s + batch_size])
            total_loss += float(torch.nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
    return correct / len(x), total_loss / len(x)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="lenet", choices=sorted(cli_train.MODELS))
    p.add_argument("--dataset", default="fashion-mnist", choices=cli_train.DATASETS)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    wg_random.set_seed(args.seed)  # as wengert train does, so the builder starts the same
    (x_train, y_train), (x_test, y_test) = cli_train.load_dataset(args.dataset)
    num_classes = int(y_train.max()) + 1
    model = cli_train.MODELS[args.model](x_train, num_classes, args.seed)
    assert all(not isinstance(layer, layers.InputLayer) for layer in model.layers)
    net = translate(model)
    # The translation is checked: both networks give the same logits before training.
    net.eval()
    with torch.no_grad():
        same = net(_t(x_train[:64])).numpy()
    np.testing.assert_allclose(same, model.predict(x_train[:64]), rtol=1e-3, atol=1e-4)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, eps=1e-7)
    steps_per_epoch = -(-len(x_train) // args.batch_size)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.5 * (1 + math.cos(math.pi * min(t, total) / total))
    )
    shuffle = Generator(args.seed)  # the same batches as Model.fit(seed=seed)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        order = np.asarray(shuffle.permutation(len(x_train)))
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                net(_t(x_train[idx])), torch.from_numpy(y_train[idx])
            )
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss.detach()) * len(idx)
        acc, val_loss = evaluate(net, x_test, y_test)
        print(
            f"Epoch {epoch + 1}/{args.epochs} - loss: {loss_sum / len(x_train):.4f} - "
            f"val_loss: {val_loss:.4f} - val_accuracy: {acc:.4f}",
            flush=True,
        )
    elapsed = time.perf_counter() - start
    acc, loss = evaluate(net, x_test, y_test)
    print(
        json.dumps(
            {
                "framework": "torch",
                "model": args.model,
                "dataset": args.dataset,
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "test_accuracy": acc,
                "test_loss": loss,
                "train_seconds": elapsed,
            }
        )
    )


if __name__ == "__main__":
    main()
