"""Per-op overhead: 100 x (y = sin(y) * 1.0001 + 0.1) on a (2, 2) float32 tensor.

Prints microseconds per op for raw NumPy (forward only: the floor), wengert
outside any tape (forward), wengert forward+backward, and PyTorch
forward+backward when it is installed, with the ratios the core issue targets:
wengert fwd+bwd <= 0.5x PyTorch's, and ops outside a tape <= 1.5x NumPy's.

Run:  python benchmarks/bench_per_op.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import wengert as wg

STEPS = 100
OPS = 3 * STEPS + 1  # sin, multiply, add per step, then reduce_sum


def numpy_forward(x0):
    y = x0
    for _ in range(STEPS):
        y = np.sin(y) * np.float32(1.0001) + np.float32(0.1)
    return y.sum()


def wengert_forward(x0):
    y = x0
    for _ in range(STEPS):
        y = wg.sin(y) * 1.0001 + 0.1
    return wg.reduce_sum(y)


def wengert_fwd_bwd(x0):
    with wg.GradientTape() as tape:
        tape.watch(x0)
        y = x0
        for _ in range(STEPS):
            y = wg.sin(y) * 1.0001 + 0.1
        s = wg.reduce_sum(y)
    return tape.gradient(s, x0)


def torch_fwd_bwd(torch, x0):
    x = x0.detach().requires_grad_(True)
    y = x
    for _ in range(STEPS):
        y = torch.sin(y) * 1.0001 + 0.1
    s = y.sum()
    (g,) = torch.autograd.grad(s, x)
    return g


def per_op_us(fn, *args, repeat=200):
    fn(*args)  # warm up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - t0) / repeat / OPS * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    x_np = np.random.default_rng(0).standard_normal((2, 2)).astype(np.float32)
    x_wg = wg.constant(x_np)
    results = {"numpy fwd": [], "wengert fwd (no tape)": [], "wengert fwd+bwd": []}
    if torch is not None:
        results["torch fwd+bwd"] = []
        x_t = torch.from_numpy(x_np.copy())
        g_t = torch_fwd_bwd(torch, x_t).numpy()
        g_w = wengert_fwd_bwd(x_wg).numpy()
        assert np.allclose(g_t, g_w, rtol=1e-4, atol=1e-5), (g_t, g_w)
    for _ in range(args.rounds):
        results["numpy fwd"].append(per_op_us(numpy_forward, x_np, repeat=args.repeat))
        results["wengert fwd (no tape)"].append(
            per_op_us(wengert_forward, x_wg, repeat=args.repeat)
        )
        results["wengert fwd+bwd"].append(per_op_us(wengert_fwd_bwd, x_wg, repeat=args.repeat))
        if torch is not None:
            results["torch fwd+bwd"].append(
                per_op_us(lambda x: torch_fwd_bwd(torch, x), x_t, repeat=args.repeat)
            )
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"per-op time, (2,2) float32, {OPS} ops, median of {args.rounds} rounds")
    for k, v in med.items():
        print(f"  {k:<24} {v:6.2f} us/op")
    print(
        "  ratio wengert no-tape / numpy        = "
        f"{med['wengert fwd (no tape)'] / med['numpy fwd']:.2f}"
        "  (target <= 1.5)"
    )
    if torch is not None:
        print(
            f"  ratio wengert fwd+bwd / torch fwd+bwd = "
            f"{med['wengert fwd+bwd'] / med['torch fwd+bwd']:.2f}  (target <= 0.5)"
        )


if __name__ == "__main__":
    main()
