"""Tapes belong to the thread that started them, as TensorFlow's tape stack is
thread-local: they ignore other threads' ops, and pausing in one thread leaves the
others recording."""

from __future__ import annotations

import threading

import numpy as np

import wengert as wg
from wengert import core


def _in_thread(fn):
    result, errors = [], []

    def run():
        try:
            result.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return result[0]


def test_a_tape_ignores_ops_run_in_another_thread():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y_other = _in_thread(lambda: wg.reduce_sum(x * x))  # not this tape's op
        y_mine = wg.reduce_sum(x * 3.0)
    assert len(tape._records) == 2  # multiply and reduce_sum of this thread only
    assert tape.gradient(y_other, x) is None
    np.testing.assert_array_equal(_in_thread(lambda: wg.reduce_sum(x)).numpy(), 3.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y_mine = wg.reduce_sum(x * 3.0)
    np.testing.assert_array_equal(tape.gradient(y_mine, x).numpy(), [3.0, 3.0])


def test_a_thread_records_on_its_own_tape_while_another_pauses():
    x = wg.constant([1.0, 2.0, 3.0])
    paused, recorded = threading.Event(), threading.Event()

    def other():
        with wg.GradientTape() as tape:
            tape.watch(x)
            paused.wait(5)
            y = wg.reduce_sum(wg.sin(x))  # while the main thread is inside all_paused
            recorded.set()
        return tape.gradient(y, x).numpy()

    result = []
    t = threading.Thread(target=lambda: result.append(other()))
    t.start()
    with wg.GradientTape(persistent=True) as mine:
        mine.watch(x)
        with core.all_paused():
            paused.set()
            recorded.wait(5)
            hidden = wg.reduce_sum(x * x)  # paused: this thread's tape does not see it
        seen = wg.reduce_sum(x * x)
    t.join()
    np.testing.assert_allclose(result[0], np.cos([1.0, 2.0, 3.0]), rtol=1e-6)
    assert mine.gradient(hidden, x) is None
    np.testing.assert_allclose(mine.gradient(seen, x).numpy(), [2.0, 4.0, 6.0])
    assert core.recorders == ()


def test_threads_training_at_once_get_their_own_gradients():
    start = threading.Barrier(4)

    def train(k):
        w = wg.Variable(np.full(3, float(k)))
        x = wg.constant(np.arange(3.0) + k)
        start.wait(5)
        grads = []
        for _ in range(200):  # interleaves with the other threads' ops
            with wg.GradientTape() as tape:
                loss = wg.reduce_sum(w * w * x)
            grads.append(tape.gradient(loss, w).numpy())
        return k, grads

    results = {}
    threads = [
        threading.Thread(target=lambda k=k: results.setdefault(k, train(k)[1])) for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, grads in results.items():
        expected = 2 * k * (np.arange(3.0) + k)
        for g in grads:
            np.testing.assert_array_equal(g, expected)
    assert core.recorders == ()


def test_forward_accumulators_belong_to_their_thread():
    x = wg.constant([0.5, 1.5])
    with wg.ForwardAccumulator(x, wg.constant([1.0, 1.0])) as acc:
        other = _in_thread(lambda: wg.exp(x))
        mine = wg.exp(x)
    assert acc.jvp(other) is None
    np.testing.assert_allclose(acc.jvp(mine).numpy(), np.exp([0.5, 1.5]), rtol=1e-6)
