"""Convolutional networks, wengert vs PyTorch side by side, printing time and memory ratios.

Workloads (float32, both libraries on the same number of threads):

(a) one training step -- forward, backward, SGD update -- of LeNet-5 (conv 6@5x5
    same, ReLU, max-pool 2, conv 16@5x5, ReLU, max-pool 2, dense 120, 84, 10) on a
    batch of 64 random 28x28 single-channel images;
(b) forward + backward (gradients of input, kernel and bias) of one Conv2D 64->64
    3x3 "same" layer on a 32x56x56x64 batch.

Time: each round starts one fresh process per library, one after the other, so
both see about the same machine load; each process warms up, then reports the
median per-step time of a few timed runs.  The script prints each side's median
over the rounds and the median of the per-round ratios.  (Both libraries in one
process would slow each other: torch's OpenMP threads and OpenBLAS's threads
spin-wait after their work.)  torch
runs in its native NCHW layout and, for (b), also channels_last; the faster of the two
is the reference.  wengert runs NHWC.

Peak memory: each (library, workload) pair runs in a fresh subprocess, which builds
the model and its inputs, warms up on a small batch (so library start-up, code
loading and kernel caches are paid before measuring), resets the kernel's resident
high-water mark to the current RSS (``/proc/self/clear_refs``), runs three full-size
steps and reads the high-water mark (``VmHWM``): the difference is the extra
resident memory the steps needed at their peak, beyond the inputs and weights.  It
is the same measure for both libraries (torch's CPU allocator is invisible to
tracemalloc).  For wengert the script also reports tracemalloc's peak over the same
steps (NumPy reports its allocations to tracemalloc), a check that does not depend
on how glibc returns memory to the kernel.  Small peaks (LeNet's few MB) are near
the resolution of ``ru_maxrss``, so their ratio is only indicative.

glibc: every step re-allocates large temporaries, and by default glibc returns freed
blocks to the kernel, so they page-fault again (PERFORMANCE.md).  wengert raises
glibc's thresholds for its own process at import (README, "Threads and memory"); torch
leaves them alone.  The default measures what each library's user gets out of the box;
``--malloc-tuned`` runs both sides with the environment PERFORMANCE.md uses to switch
the page faults off for torch too.

OpenBLAS: set OPENBLAS_NUM_THREADS / torch threads with ``--threads``.  Where the
machine sets OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE, run both sides without them
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...``); the script prints what it
ran with.

Run:  PYTHONPATH=src python benchmarks/bench_conv.py [--rounds 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

LENET_BATCH = 64
CONV_SHAPE = (32, 56, 56, 64)


# -- the workloads, one builder per (library, workload); each returns step() ------------------
def lenet_wengert(batch, seed=0):
    import wengert as wg
    from wengert import layers

    wg.random.set_seed(seed)
    model = wg.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(6, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(120, activation="relu"),
            layers.Dense(84, activation="relu"),
            layers.Dense(10),
        ]
    )
    opt = wg.optimizers.SGD(0.01)
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
    rng = np.random.default_rng(seed)
    x = wg.constant(rng.standard_normal((batch, 28, 28, 1)).astype("float32"))
    y = wg.constant(rng.integers(0, 10, batch))
    variables = model.trainable_weights

    def step():
        with wg.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))

    return step


def lenet_torch(batch, seed=0):
    import torch

    torch.manual_seed(seed)
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((batch, 1, 28, 28)).astype("float32"))
    y = torch.from_numpy(rng.integers(0, 10, batch))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    return step


def conv_wengert(batch, seed=0):
    import wengert as wg

    wg.random.set_seed(seed)
    n, h, w, c = batch
    layer = wg.layers.Conv2D(64, 3, padding="same")
    rng = np.random.default_rng(seed)
    x = wg.constant(rng.standard_normal((n, h, w, c)).astype("float32"))
    g = wg.constant(rng.standard_normal((n, h, w, 64)).astype("float32"))
    layer.build(x.shape)
    sources = [x, layer.kernel, layer.bias]

    def step():
        with wg.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        tape.gradient(y, sources, output_gradients=g)

    return step


def conv_torch(batch, seed=0, channels_last=False):
    import torch

    torch.manual_seed(seed)
    n, h, w, c = batch
    conv = torch.nn.Conv2d(c, 64, 3, padding=1)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((n, c, h, w)).astype("float32"))
    g = torch.from_numpy(rng.standard_normal((n, 64, h, w)).astype("float32"))
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        g = g.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)

    def step():
        conv.zero_grad()
        x.grad = None
        conv(x).backward(g)

    return step


BUILDERS = {
    ("wengert", "lenet"): lambda b: lenet_wengert(b),
    ("torch", "lenet"): lambda b: lenet_torch(b),
    ("wengert", "conv"): lambda b: conv_wengert(b),
    ("torch", "conv"): lambda b: conv_torch(b),
    ("torch-cl", "conv"): lambda b: conv_torch(b, channels_last=True),
}
FULL = {"lenet": LENET_BATCH, "conv": CONV_SHAPE}
SMALL = {"lenet": 2, "conv": (1, 8, 8, 64)}


# -- memory, in a fresh process ------------------------------------------------------------------
def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB
    raise LookupError(field)


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of resident memory to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def memory_child(lib: str, workload: str, threads: int) -> dict:
    """Run in a subprocess: peak extra resident memory of three full-size steps."""
    if lib.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
    SMALL_STEP = BUILDERS[(lib, workload)](SMALL[workload])
    SMALL_STEP()
    step = BUILDERS[(lib, workload)](FULL[workload])  # inputs and weights: before the baseline
    result = {}
    if lib == "wengert":
        import tracemalloc

        tracemalloc.start()
        base_traced = tracemalloc.get_traced_memory()[0]
    if _reset_peak_rss():  # peak = VmHWM, measured from the current RSS
        base = _status_bytes("VmRSS")
        for _ in range(3):
            step()
        result["maxrss_delta"] = _status_bytes("VmHWM") - base
    else:  # no reset: the process's earlier peak may hide a smaller one
        base = _maxrss_bytes()
        for _ in range(3):
            step()
        result["maxrss_delta"] = _maxrss_bytes() - base
    if lib == "wengert":
        result["traced_peak"] = tracemalloc.get_traced_memory()[1] - base_traced
        tracemalloc.stop()
    return result


def measure_memory(lib, workload, threads, malloc=False) -> dict:
    return _child(["--memory-child", lib, workload], threads, malloc)


# -- time, in fresh processes, interleaved -------------------------------------------------------
def time_child(lib: str, workload: str, threads: int, repeat: int, inner: int) -> dict:
    """Run in a subprocess: the median per-step time of ``inner`` runs of ``repeat`` steps."""
    if lib.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
    step = BUILDERS[(lib, workload)](FULL[workload])
    for _ in range(3):  # warm up: caches, workspaces, allocator
        step()
    times = []
    for _ in range(inner):
        t0 = time.perf_counter()
        for _ in range(repeat):
            step()
        times.append((time.perf_counter() - t0) / repeat)
    return {"median": statistics.median(times), "min": min(times)}


MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "4294967296"}


def _child(args: list, threads: int, malloc: bool = False) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    if malloc:
        env.update(MALLOC_ENV)
    out = subprocess.run(
        [sys.executable, __file__, *args, "--threads", str(threads)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_time(workload, libs, rounds, repeat, inner, threads, malloc=False):
    """Per round, one fresh process per library, one after the other (same machine load).

    Separate processes: in one process, torch's OpenMP threads and OpenBLAS's threads
    spin-wait after their work and slow each other down (by up to 2x measured here).
    """
    times = {lib: [] for lib in libs}
    for _ in range(rounds):
        for lib in libs:
            res = _child(["--time-child", lib, workload, str(repeat), str(inner)], threads, malloc)
            times[lib].append(res["median"])
    return times


def _mb(n) -> str:
    return f"{n / 2**20:7.1f} MB"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--only", choices=["lenet", "conv"], default=None)
    p.add_argument(
        "--malloc-tuned",
        action="store_true",
        help="run both sides with glibc told to keep freed memory "
        "(MALLOC_MMAP_THRESHOLD_=1 GiB, MALLOC_TRIM_THRESHOLD_=4 GiB): no page faults "
        "for re-allocated temporaries",
    )
    p.add_argument("--memory-child", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    p.add_argument("--time-child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child, args.threads)))
        return
    if args.time_child:
        lib, workload, repeat, inner = args.time_child
        print(json.dumps(time_child(lib, workload, args.threads, int(repeat), int(inner))))
        return

    import torch

    print(
        f"numpy {np.__version__}, torch {torch.__version__}, {args.threads} threads, "
        f"{os.cpu_count()} CPUs; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}"
        + (f"; both sides with {MALLOC_ENV}" if args.malloc_tuned else "")
    )
    workloads = [args.only] if args.only else ["lenet", "conv"]
    for workload in workloads:
        libs = ["wengert", "torch"] + (["torch-cl"] if workload == "conv" else [])
        repeat, inner = (20, 5) if workload == "lenet" else (1, 3)
        times = measure_time(
            workload, libs, args.rounds, repeat, inner, args.threads, args.malloc_tuned
        )
        ref = min(libs[1:], key=lambda lib: statistics.median(times[lib]))
        ratios = [w / t for w, t in zip(times["wengert"], times[ref])]
        title = (
            f"LeNet-5 training step, batch {LENET_BATCH}, 28x28x1"
            if workload == "lenet"
            else f"Conv2D 64->64 3x3 forward+backward, {CONV_SHAPE[0]}x{CONV_SHAPE[1]}x"
            f"{CONV_SHAPE[2]}x{CONV_SHAPE[3]}"
        )
        print(
            f"\n{title}\n({args.rounds} rounds; per round, each side's median of "
            f"{inner} runs of {repeat} steps)"
        )
        for lib in libs:
            t = times[lib]
            print(
                f"  {lib:9s} median {statistics.median(t) * 1e3:8.2f} ms/step "
                f"(min {min(t) * 1e3:8.2f}, max {max(t) * 1e3:8.2f})"
            )
        print(
            f"  time ratio wengert / {ref}: median {statistics.median(ratios):.2f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        if args.skip_memory:
            continue
        mem = {lib: measure_memory(lib, workload, args.threads, args.malloc_tuned) for lib in libs}
        for lib in libs:
            extra = mem[lib]
            line = f"  {lib:9s} peak extra RSS {_mb(extra['maxrss_delta'])}"
            if "traced_peak" in extra:
                line += f"   (tracemalloc peak {_mb(extra['traced_peak'])})"
            print(line)
        torch_peak = min(mem[lib]["maxrss_delta"] for lib in libs[1:])
        ratio = mem["wengert"]["maxrss_delta"] / max(torch_peak, 1)
        print(f"  memory ratio wengert / torch: {ratio:.2f}")


if __name__ == "__main__":
    main()
