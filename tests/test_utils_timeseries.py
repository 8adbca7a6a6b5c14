"""wg.utils.timeseries_dataset_from_array and set_random_seed, against Keras's documented
examples and a direct loop over window starts."""

from __future__ import annotations

import random

import numpy as np
import pytest

import wengert as wg


def test_keras_docstring_example_1_indices():
    # Keras: indices [0, ..., 98], sequence_length=10, sampling_rate=2, sequence_stride=3
    ds = wg.utils.timeseries_dataset_from_array(
        np.arange(99), None, sequence_length=10, sampling_rate=2, sequence_stride=3
    )
    windows = np.concatenate(list(ds))
    np.testing.assert_array_equal(windows[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(windows[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(windows[2], np.arange(6, 26, 2))
    np.testing.assert_array_equal(windows[-1], np.arange(78, 98, 2))


def test_keras_docstring_example_2_targets_ahead():
    data = np.random.default_rng(0).standard_normal((50, 3)).astype("float32")
    ds = wg.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10)
    inputs, targets = ds[0]
    np.testing.assert_array_equal(inputs[0], data[:10])
    np.testing.assert_array_equal(targets[0], data[10])
    assert inputs.shape == (31, 10, 3) and len(ds) == 1


@pytest.mark.parametrize(
    "kw",
    [
        {"sequence_length": 4, "batch_size": 3},
        {"sequence_length": 3, "sequence_stride": 2, "sampling_rate": 3, "batch_size": 5},
        {"sequence_length": 2, "start_index": 4, "end_index": 17, "batch_size": None},
    ],
)
def test_windows_and_targets_match_a_direct_loop(kw):
    data = np.arange(40) * 1.5
    targets = np.arange(40) * -1
    ds = wg.utils.timeseries_dataset_from_array(data, targets, **kw)
    start = kw.get("start_index") or 0
    stop = kw.get("end_index") or len(data)
    span = (kw["sequence_length"] - 1) * kw.get("sampling_rate", 1)
    expected = [
        (data[s : s + span + 1 : kw.get("sampling_rate", 1)], targets[s])
        for s in range(start, stop - span, kw.get("sequence_stride", 1))
    ]
    got = list(ds) if kw["batch_size"] is None else [pair for w, t in ds for pair in zip(w, t)]
    assert len(got) == len(expected)
    for (w, t), (ew, et) in zip(got, expected):
        np.testing.assert_array_equal(w, ew)
        assert t == et


def test_shuffle_permutes_windows_reproducibly_with_keras_first_order():
    data = np.arange(30)
    a = wg.utils.timeseries_dataset_from_array(data, data, 5, batch_size=8, shuffle=True, seed=4)
    b = wg.utils.timeseries_dataset_from_array(data, data, 5, batch_size=8, shuffle=True, seed=4)
    starts = np.concatenate([w[:, 0] for w, _ in a])
    np.testing.assert_array_equal(starts, np.concatenate([w[:, 0] for w, _ in b]))
    order = np.arange(26)
    np.random.RandomState(4).shuffle(order)  # Keras's first shuffle of the start positions
    np.testing.assert_array_equal(starts, order)
    for w, t in a:
        np.testing.assert_array_equal(t, w[:, 0])  # targets travel with their windows


def test_fit_takes_the_dataset():
    wg.random.set_seed(0)
    t = np.linspace(0, 20, 400).astype("float32")
    series = np.sin(t)[:, None]
    ds = wg.utils.timeseries_dataset_from_array(
        series[:-5], series[5:], sequence_length=12, batch_size=32
    )
    model = wg.Sequential([wg.layers.Input((12, 1)), wg.layers.LSTM(8), wg.layers.Dense(1)])
    model.compile(wg.optimizers.Adam(0.01), "mse")
    history = model.fit(ds, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert model.evaluate(ds, verbose=0) == pytest.approx(history["loss"][-1], rel=0.5)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"sequence_length": 0}, "sequence_length must be an integer >= 1"),
        ({"sequence_length": 2, "sampling_rate": 10}, "sampling_rate=10 must be below"),
        ({"sequence_length": 2, "start_index": 10}, r"start_index=10 must be in \[0, 10\)"),
        ({"sequence_length": 2, "start_index": 5, "end_index": 3}, "must be above start_index"),
        ({"sequence_length": 2, "batch_size": 1.5}, "batch_size must be an integer"),
    ],
)
def test_bad_arguments(kw, message):
    with pytest.raises(ValueError, match=message):
        wg.utils.timeseries_dataset_from_array(np.arange(10), None, **kw)


def test_set_random_seed_seeds_python_numpy_and_wengert():
    def draw():
        return random.random(), np.random.rand(), float(wg.random.normal(()).numpy())

    wg.utils.set_random_seed(11)
    first = draw()
    wg.utils.set_random_seed(11)
    assert draw() == first
    with pytest.raises(ValueError, match="expected an integer seed"):
        wg.utils.set_random_seed(1.5)
