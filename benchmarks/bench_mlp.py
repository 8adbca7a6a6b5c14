"""Dense networks, wengert vs PyTorch in one process, printing ratios.

(a) one epoch of the digits MLP 64-128-64-10 (ReLU, Adam, batch 64) through
    ``model.fit`` and the equivalent PyTorch loop;
(b) one training step (forward, backward, SGD update) of a 784-1024-1024-10
    ReLU MLP at batch 256, with achieved GFLOP/s.

The OpenBLAS variables this machine sets slow NumPy's BLAS; to see the current
kernel, run both sides without them (the script reports what it ran with):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mlp.py

Run:  python benchmarks/bench_mlp.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import wengert as wg
from wengert import layers


def _time(fn, repeat):
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


# -- (a) digits MLP epoch ----------------------------------------------------------------
def digits_wengert(x, y):
    wg.random.set_seed(0)
    model = wg.Sequential(
        [
            layers.Input((64,)),
            layers.Dense(128, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=wg.optimizers.Adam(1e-3),
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return lambda: model.fit(x, y, batch_size=64, epochs=1, verbose=0, initial_epoch=0)


def digits_torch(torch, x, y):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)

    def epoch():
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = order[i : i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return epoch


# -- (b) big MLP step ----------------------------------------------------------------------
SIZES = (784, 1024, 1024, 10)
BATCH = 256
FLOPS = 3 * 2 * BATCH * sum(a * b for a, b in zip(SIZES, SIZES[1:]))  # fwd + 2x bwd


def big_wengert(x, y):
    wg.random.set_seed(0)
    model = wg.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(1024, activation="relu"),
            layers.Dense(1024, activation="relu"),
            layers.Dense(10),
        ]
    )
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = wg.optimizers.SGD(0.01)
    xb = wg.constant(x)
    yb = wg.constant(y)
    variables = model.trainable_weights

    def step():
        with wg.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))

    return step


def big_torch(torch, x, y):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, 10),
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
    except ImportError:
        torch = None
    blas_env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"threads: {os.cpu_count()}; OpenBLAS variables: {blas_env}")
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            print(
                f"  {info.get('internal_api')} {info.get('version')} "
                f"{info.get('architecture')} threads={info.get('num_threads')} "
                f"({os.path.basename(info.get('filepath', ''))})"
            )
    except ImportError:
        pass

    (xt, yt), _ = wg.datasets.digits.load_data()
    xd = xt.reshape(len(xt), -1).astype(np.float32)
    yd = yt.astype(np.int64)
    rng = np.random.default_rng(0)
    xb = rng.standard_normal((BATCH, 784)).astype(np.float32)
    yb = rng.integers(0, 10, BATCH)

    cases = {
        "digits epoch": (digits_wengert(xd, yd), 5),
        "784-1024-1024-10 step": (big_wengert(xb, yb), 5),
    }
    peers = {}
    if torch is not None:
        peers = {
            "digits epoch": digits_torch(torch, xd, yd),
            "784-1024-1024-10 step": big_torch(torch, xb, yb),
        }
    print(f"median of {args.rounds} rounds")
    for name, (fn, repeat) in cases.items():
        w = statistics.median(_time(fn, repeat) for _ in range(args.rounds))
        line = f"  {name:<24} wengert {w * 1e3:8.2f} ms"
        if name in peers:
            t = statistics.median(_time(peers[name], repeat) for _ in range(args.rounds))
            line += f"   torch {t * 1e3:8.2f} ms   ratio wengert/torch {w / t:5.2f}"
        if "step" in name:
            line += f"   wengert {FLOPS / w / 1e9:6.1f} GFLOP/s"
            if name in peers:
                line += f", torch {FLOPS / t / 1e9:6.1f}"
        print(line)


if __name__ == "__main__":
    main()
