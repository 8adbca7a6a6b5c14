"""What watching the gradients costs: ``fit`` with and without a GradientMonitor.

Trains the chapter's 10-layer ReLU network (64 units, digits, SGD, batch 32) for
a few epochs per run, in four settings, and prints the median time per epoch of
several runs and its ratio to plain ``fit``:

- none: ``fit`` with no callbacks;
- monitor off: a ``GradientMonitor(enabled=False)`` in the callback list;
- monitor on: a ``GradientMonitor`` reporting on 256 samples before training and
  after every epoch (one forward and backward pass and one optimizer step on
  copies, each time);
- anomaly mode: ``wg.debugging.enable_check_numerics()`` (every op's output checked).

It also times one training step and one ``gradient_report`` on their own.

BLAS runs on one thread by default (``--blas-threads``, via threadpoolctl when it
is installed): on a small, busy machine OpenBLAS's thread pool can make the
256-sample matrix products of the report a hundred times slower than they are,
which measures the machine, not the monitor.

Run:  python benchmarks/bench_monitor.py [--rounds 7] [--epochs 3] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import wengert as wg
from wengert import debugging
from wengert.diagnostics import GradientMonitor, deep_classifier, gradient_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs per setting (median)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run")
    parser.add_argument("--blas-threads", type=int, default=1, help="0: BLAS's own default")
    args = parser.parse_args()
    threads = "BLAS default threads"
    if args.blas_threads:
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(args.blas_threads, user_api="blas")
            threads = f"{args.blas_threads} BLAS thread(s)"
        except ImportError:
            threads = "BLAS default threads (threadpoolctl not installed)"

    (x, y), _ = wg.datasets.digits.load_data()
    x = x.astype("float32")
    model = deep_classifier("relu", x_train=x, seed=0)

    def fit(callbacks):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=32, epochs=args.epochs, initial_epoch=0, verbose=0,
                  callbacks=callbacks, seed=0)  # fmt: skip
        return (time.perf_counter() - t0) / args.epochs

    settings = {
        "none": lambda: fit([]),
        "monitor off": lambda: fit([GradientMonitor(x, y, enabled=False)]),
        "monitor on": lambda: fit([GradientMonitor(x, y)]),
        "anomaly mode": lambda: _anomaly(fit),
    }
    fit([])  # warm up
    times = {name: [] for name in settings}
    for _ in range(args.rounds):  # interleaved, so drifts in machine speed hit all alike
        for name, run in settings.items():
            times[name].append(run())
    base = statistics.median(times["none"])
    steps = -(-len(x) // 32)
    print(
        f"digits, 10-layer ReLU MLP, {steps} steps per epoch; median of {args.rounds} runs; "
        f"{threads}"
    )
    print(f"{'setting':<14}{'s/epoch':>10}{'ratio':>8}")
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:<14}{m:>10.4f}{m / base:>8.3f}")

    xb, yb = wg.constant(x[:32]), wg.constant(y[:32])
    step = _median_time(lambda: model.train_step(xb, yb), 50)
    report = _median_time(lambda: gradient_report(model, x[:256], y[:256]), 20)
    print(f"one training step (batch 32): {1e3 * step:.2f} ms; one gradient_report "
          f"(batch 256): {1e3 * report:.2f} ms = {report / step:.1f} steps")  # fmt: skip


def _anomaly(fit):
    debugging.enable_check_numerics()
    try:
        return fit([])
    finally:
        debugging.disable_check_numerics()


def _median_time(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


if __name__ == "__main__":
    main()
