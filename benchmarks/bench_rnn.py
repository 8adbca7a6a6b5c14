"""Recurrent training steps, wengert vs PyTorch vs a hand-written NumPy loop, printing ratios.

One training step (forward, backward, SGD update) of
(a) an LSTM, batch 32, 50 steps, 32 inputs, 128 units, then Dense(10) on the last
    state, softmax cross-entropy;
(b) the same with a GRU (reset_after=True, PyTorch's GRU).

Sides, each round one fresh process per side (one after the other), median of the rounds:
  wengert        the LSTM/GRU layer (fused sequence op with its hand-written BPTT)
  wengert loop   the same layer with fused=False (the cell recorded step by step)
  torch          nn.LSTM / nn.GRU (a native fused kernel on CPU) + nn.Linear
  numpy loop     the same cell written by hand in NumPy, step by step, with its
                 backward through time written by hand too

The machine is shared and noisy: compare the ratios printed by one run.  The
OpenBLAS variables this machine may set slow NumPy's BLAS; to see the current
kernel, run both sides without them (the script prints what it ran with):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_rnn.py

Run:  python benchmarks/bench_rnn.py [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import wengert as wg
from wengert.layers.rnn import GRU, LSTM

B, T, I, H, C = 32, 50, 32, 128, 10
LR = 0.01


def _data(dtype=np.float32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, I)).astype(dtype)
    y = rng.integers(0, C, B)
    return x, y


# -- wengert --------------------------------------------------------------------------------------
def wengert_step(kind, fused):
    wg.random.set_seed(0)
    x, y = _data()
    rnn = (LSTM if kind == "lstm" else GRU)(H, fused="auto" if fused else False)
    dense = wg.layers.Dense(C)
    xt, yt = wg.constant(x), wg.constant(y)
    dense(rnn(xt))
    variables = rnn.trainable_weights + dense.trainable_weights
    opt = wg.optimizers.SGD(LR)
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step():
        with wg.GradientTape() as tape:
            loss = loss_fn(yt, dense(rnn(xt, training=True)))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


# -- torch ----------------------------------------------------------------------------------------
def torch_step(torch, kind):
    torch.manual_seed(0)
    x, y = _data()
    rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(I, H, batch_first=True)
    dense = torch.nn.Linear(H, C)
    opt = torch.optim.SGD(list(rnn.parameters()) + list(dense.parameters()), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        _, state = rnn(xt)
        h = state[0] if kind == "lstm" else state
        loss = torch.nn.functional.cross_entropy(dense(h[0]), yt)
        loss.backward()
        opt.step()
        return loss

    return step


# -- a hand-written NumPy loop --------------------------------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_step(kind):
    """The cell as one would write it by hand: per-step gates, caches, BPTT, SGD."""
    rng = np.random.default_rng(0)
    x, y = _data()
    g = 4 if kind == "lstm" else 3
    f32 = np.float32
    w = (rng.standard_normal((I, g * H)) * 0.1).astype(f32)
    u = (rng.standard_normal((H, g * H)) * 0.1).astype(f32)
    b = np.zeros((2, g * H) if kind == "gru" else g * H, f32)
    wd = (rng.standard_normal((H, C)) * 0.1).astype(f32)
    bd = np.zeros(C, f32)
    onehot = np.eye(C, dtype=f32)[y]

    def head(h):
        logits = h @ wd + bd
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return (p - onehot) / B  # d loss / d logits

    def lstm():
        nonlocal w, u, b, wd, bd
        h = np.zeros((B, H), f32)
        c = np.zeros((B, H), f32)
        cache = []
        for t in range(T):
            z = x[:, t] @ w + h @ u + b
            i, f, gg, o = (
                _sigmoid(z[:, :H]),
                _sigmoid(z[:, H : 2 * H]),
                np.tanh(z[:, 2 * H : 3 * H]),
                _sigmoid(z[:, 3 * H :]),
            )
            c_new = f * c + i * gg
            tc = np.tanh(c_new)
            cache.append((h, c, i, f, gg, o, tc))
            h, c = o * tc, c_new
        dlogits = head(h)
        dwd, dbd = h.T @ dlogits, dlogits.sum(0)
        dh = dlogits @ wd.T
        dc = np.zeros_like(dh)
        dw, du, db = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
        for t in range(T - 1, -1, -1):
            h_prev, c_prev, i, f, gg, o, tc = cache[t]
            dc = dc + dh * o * (1 - tc * tc)
            dz = np.concatenate(
                [
                    dc * gg * i * (1 - i),
                    dc * c_prev * f * (1 - f),
                    dc * i * (1 - gg * gg),
                    dh * tc * o * (1 - o),
                ],
                axis=1,
            )
            dw += x[:, t].T @ dz
            du += h_prev.T @ dz
            db += dz.sum(0)
            dh = dz @ u.T
            dc = dc * f
        for p, d in ((w, dw), (u, du), (b, db), (wd, dwd), (bd, dbd)):
            p -= LR * d

    def gru():
        nonlocal w, u, b, wd, bd
        h = np.zeros((B, H), f32)
        cache = []
        for t in range(T):
            xz = x[:, t] @ w + b[0]
            m = h @ u + b[1]
            z = _sigmoid(xz[:, :H] + m[:, :H])
            r = _sigmoid(xz[:, H : 2 * H] + m[:, H : 2 * H])
            hh = np.tanh(xz[:, 2 * H :] + r * m[:, 2 * H :])
            cache.append((h, z, r, hh, m[:, 2 * H :]))
            h = z * h + (1 - z) * hh
        dlogits = head(h)
        dwd, dbd = h.T @ dlogits, dlogits.sum(0)
        dh = dlogits @ wd.T
        dw, du, db = np.zeros_like(w), np.zeros_like(u), np.zeros_like(b)
        for t in range(T - 1, -1, -1):
            h_prev, z, r, hh, mh = cache[t]
            dhh = dh * (1 - z) * (1 - hh * hh)
            dzp = dh * (h_prev - hh) * z * (1 - z)
            drp = dhh * mh * r * (1 - r)
            dx_ = np.concatenate([dzp, drp, dhh], axis=1)
            dm = np.concatenate([dzp, drp, dhh * r], axis=1)
            dw += x[:, t].T @ dx_
            du += h_prev.T @ dm
            db[0] += dx_.sum(0)
            db[1] += dm.sum(0)
            dh = dh * z + dm @ u.T
        for p, d in ((w, dw), (u, du), (b, db), (wd, dwd), (bd, dbd)):
            p -= LR * d

    return lstm if kind == "lstm" else gru


# -- timing ---------------------------------------------------------------------------------------
SIDES = ("wengert", "wengert loop", "numpy loop", "torch")


def _build(side, kind):
    if side == "torch":
        import torch

        return torch_step(torch, kind)
    if side == "numpy loop":
        return numpy_step(kind)
    return wengert_step(kind, fused=side == "wengert")


def time_child(side, kind, repeat, threads):
    """Run in a subprocess: the median per-step time of a few runs of ``repeat`` steps."""
    if side == "torch":
        import torch

        torch.set_num_threads(threads)
    step = _build(side, kind)
    for _ in range(3):  # warm up
        step()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            step()
        times.append((time.perf_counter() - t0) / repeat)
    return statistics.median(times)


def _child(side, kind, repeat, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    args = ["--child", side, kind, "--repeat", str(repeat), "--threads", str(threads)]
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {side} {kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(kind, rounds, repeat, threads, sides):
    """Per round, one fresh process per side, one after the other (same machine load).

    Separate processes: in one process torch's OpenMP threads and OpenBLAS's threads
    spin-wait after their work and slow each other (torch's LSTM step varied 2.5x).
    """
    times = {side: [] for side in sides}
    for _ in range(rounds):
        for side in sides:
            times[side].append(_child(side, kind, repeat if side != "wengert loop" else 1, threads))
    med = {side: statistics.median(ts) for side, ts in times.items()}
    print(f"\n{kind.upper()} step, batch {B}, {T} steps, {I} inputs, {H} units, Dense({C}):")
    for side, t in med.items():
        spread = f"{min(times[side]) * 1e3:.2f}-{max(times[side]) * 1e3:.2f}"
        print(f"  {side:<13} {t * 1e3:8.2f} ms  (median of {rounds} processes; range {spread})")
    w = med["wengert"]
    if "torch" in med:
        ratios = [a / b for a, b in zip(times["wengert"], times["torch"])]
        print(
            f"  wengert / torch       = {w / med['torch']:.2f}  (target <= 1.5; per round: "
            f"{', '.join(f'{r:.2f}' for r in ratios)})"
        )
    print(f"  wengert / numpy loop  = {w / med['numpy loop']:.2f}  (target < 1)")
    print(f"  wengert loop / fused  = {med['wengert loop'] / w:.1f}x slower")
    return med


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="steps per timing")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(time_child(*args.child, args.repeat, args.threads)))
        return
    try:
        import torch

        version = torch.__version__
        sides = SIDES
    except ImportError:
        version, sides = None, SIDES[:-1]
        print("torch is not installed: timing wengert and NumPy only")
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"numpy {np.__version__}, torch {version}, {args.threads} threads each; {env}")
    for kind in ("lstm", "gru"):
        bench(kind, args.rounds, args.repeat, args.threads, sides)


if __name__ == "__main__":
    main()
