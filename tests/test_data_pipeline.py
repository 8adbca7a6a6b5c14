"""wg.data.Dataset against tf.data's documented examples (the docstrings of
tensorflow/python/data/ops/dataset_ops.py), NumPy, and the array path of fit/evaluate."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import wengert as wg
from wengert import data, layers
from wengert.data import Dataset


def _list(ds):
    """A dataset's elements as plain Python values (lists, tuples, dicts)."""

    def plain(e):
        if isinstance(e, dict):
            return {k: plain(v) for k, v in e.items()}
        if isinstance(e, tuple):
            return tuple(plain(v) for v in e)
        return np.asarray(e).tolist()

    return [plain(e) for e in ds.as_numpy_iterator()]


# -- TensorFlow's documented examples -------------------------------------------------------
def test_from_tensor_slices_examples():
    assert _list(Dataset.from_tensor_slices([1, 2, 3])) == [1, 2, 3]
    assert _list(Dataset.from_tensor_slices([[1, 2], [3, 4]])) == [[1, 2], [3, 4]]
    assert _list(Dataset.from_tensor_slices(([1, 2], [3, 4], [5, 6]))) == [(1, 3, 5), (2, 4, 6)]
    assert _list(Dataset.from_tensor_slices({"a": [1, 2], "b": [3, 4]})) == [
        {"a": 1, "b": 3},
        {"a": 2, "b": 4},
    ]
    nested = ([[1, 3], [2, 3]], ([1, 2], {"k": [5, 6]}))
    assert _list(Dataset.from_tensor_slices(nested)) == [
        ([1, 3], (1, {"k": 5})),
        ([2, 3], (2, {"k": 6})),
    ]
    # a list of tuples is one tensor (lists are not structures), as TF's docstring notes
    assert _list(Dataset.from_tensor_slices([(7, 8), (9, 10)])) == [[7, 8], [9, 10]]
    # TF's dtypes for Python values; NumPy arrays keep theirs
    spec = Dataset.from_tensor_slices(([1, 2], [1.0, 2.0], np.zeros((2, 3)))).element_spec
    assert [s.dtype for s in spec] == [np.int32, np.float32, np.float64]
    assert spec[2].shape == (3,)


def test_named_tuples_keep_their_type():
    point = collections.namedtuple("Point", ["x", "y"])
    ds = Dataset.from_tensor_slices(point(np.arange(3), np.arange(3) * 10))
    first = next(iter(ds))
    assert type(first) is point and int(first.y) == 0
    # a named tuple is passed to map as one argument, as TF does (only plain tuples unpack)
    assert _list(ds.map(lambda p: p.x + p.y)) == [0, 11, 22]
    assert _list(ds.batch(2).map(lambda p: p.y)) == [[0, 10], [20]]


def test_from_tensors_and_range_examples():
    assert _list(Dataset.from_tensors([1, 2, 3])) == [[1, 2, 3]]
    assert _list(Dataset.from_tensors(([1, 2, 3], 4))) == [([1, 2, 3], 4)]
    assert len(Dataset.from_tensors(np.zeros((5, 2)))) == 1
    assert _list(Dataset.range(5)) == [0, 1, 2, 3, 4]
    assert _list(Dataset.range(2, 5)) == [2, 3, 4]
    assert _list(Dataset.range(1, 5, 2)) == [1, 3]
    assert _list(Dataset.range(1, 5, -2)) == []
    assert _list(Dataset.range(5, 1)) == []
    assert _list(Dataset.range(5, 1, -2)) == [5, 3]
    assert _list(Dataset.range(2, 5, output_type="int32")) == [2, 3, 4]
    assert Dataset.range(1, 5, 2, output_type="float32").element_spec.dtype == np.float32
    assert next(Dataset.range(3).as_numpy_iterator()).dtype == np.int64


def test_zip_examples():
    a, b = Dataset.range(1, 4), Dataset.range(4, 7)
    assert _list(Dataset.zip(a, b)) == [(1, 4), (2, 5), (3, 6)]
    assert _list(Dataset.zip((b, a))) == [(4, 1), (5, 2), (6, 3)]
    c = Dataset.range(7, 13).batch(2)
    assert _list(Dataset.zip(a, b, c)) == [(1, 4, [7, 8]), (2, 5, [9, 10]), (3, 6, [11, 12])]
    d = Dataset.range(13, 15)
    assert _list(Dataset.zip(a, d)) == [(1, 13), (2, 14)]
    assert len(Dataset.zip(a, d)) == 2
    assert _list(Dataset.zip({"x": a, "y": b}).take(1)) == [{"x": 1, "y": 4}]


def test_map_examples():
    assert _list(Dataset.range(1, 6).map(lambda x: x + 1)) == [2, 3, 4, 5, 6]
    elements = [(1, 10), (2, 20), (3, 30)]
    ds = Dataset.from_generator(lambda: elements, ("int32", "int32"))
    assert _list(ds.map(lambda x_int, y_int: x_int)) == [1, 2, 3]  # components as arguments
    dicts = Dataset.from_tensor_slices({"a": [1, 2, 3], "b": [4, 5, 6]})
    assert _list(dicts.map(lambda d: d["a"] + d["b"])) == [5, 7, 9]  # a dict as one argument
    # map_func gets wengert Tensors, and may return structures and Python values
    seen = []
    out = Dataset.range(3).map(lambda x: seen.append(type(x)) or (37.0, [42, 16]))
    assert _list(out) == [(37.0, [42, 16])] * 3 and set(seen) == {wg.Tensor}
    spec = out.element_spec
    assert (spec[0].shape, spec[0].dtype, spec[1].shape) == ((), np.float32, (2,))
    # map after batch runs per batch
    calls = []
    ds = Dataset.range(10).batch(4).map(lambda b: calls.append(1) or b * 2)
    assert _list(ds) == [[0, 2, 4, 6], [8, 10, 12, 14], [16, 18]] and len(calls) == 3
    assert ds.element_spec.shape == (None,)


def test_filter_examples():
    ds = Dataset.from_tensor_slices([1, 2, 3]).filter(lambda x: x < 3)
    assert _list(ds) == [1, 2]
    assert _list(ds.filter(lambda x: wg.equal(x, 1))) == [1]
    pairs = Dataset.from_tensor_slices((np.arange(6), np.arange(6) % 2))
    assert _list(pairs.filter(lambda x, y: y == 1)) == [(1, 1), (3, 1), (5, 1)]


def test_batch_unbatch_examples():
    assert _list(Dataset.range(8).batch(3)) == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert _list(Dataset.range(8).batch(3, drop_remainder=True)) == [[0, 1, 2], [3, 4, 5]]
    assert Dataset.range(8).batch(3, drop_remainder=True).element_spec.shape == (3,)
    elements = [[1, 2, 3], [4, 5, 6]]
    assert _list(Dataset.from_tensor_slices(elements).unbatch()) == [1, 2, 3, 4, 5, 6]
    batched = Dataset.from_tensor_slices((np.arange(7), np.arange(7) * 2)).batch(3)
    assert _list(batched.unbatch()) == [(i, 2 * i) for i in range(7)]
    assert Dataset.range(8).batch(3).unbatch().element_spec.shape == ()


def test_repeat_take_skip_concatenate_enumerate_examples():
    assert _list(Dataset.from_tensor_slices([1, 2, 3]).repeat(3)) == [1, 2, 3] * 3
    assert _list(Dataset.range(10).take(3)) == [0, 1, 2]
    assert _list(Dataset.range(10).skip(7)) == [7, 8, 9]
    assert _list(Dataset.range(5).take(-1)) == [0, 1, 2, 3, 4]
    assert _list(Dataset.range(5).skip(-1)) == []
    assert _list(Dataset.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert _list(Dataset.range(3).repeat(0)) == []
    assert _list(Dataset.range(0).repeat()) == []  # repeating nothing ends
    a, b = Dataset.range(1, 4), Dataset.range(4, 8)
    assert _list(a.concatenate(b)) == [1, 2, 3, 4, 5, 6, 7]
    assert _list(Dataset.from_tensor_slices([1, 2, 3]).enumerate(start=5)) == [
        (5, 1),
        (6, 2),
        (7, 3),
    ]
    ds = Dataset.from_tensor_slices([(7, 8), (9, 10)]).enumerate()
    assert _list(ds) == [(0, [7, 8]), (1, [9, 10])]


def test_cache_reduce_cardinality_examples():
    calls = []
    ds = Dataset.range(5).map(lambda x: calls.append(1) or x**2).cache()
    assert _list(ds) == [0, 1, 4, 9, 16] and _list(ds) == [0, 1, 4, 9, 16]
    assert len(calls) == 5
    partial = Dataset.range(5).map(lambda x: calls.append(1) or x).cache()
    _list(partial.take(2))
    assert _list(partial) == [0, 1, 2, 3, 4]  # a partial pass is not cached
    assert int(Dataset.range(5).reduce(np.int64(0), lambda x, _: x + 1)) == 5
    assert int(Dataset.range(5).reduce(np.int64(0), lambda x, y: x + y)) == 10
    total = Dataset.from_tensor_slices(([1, 2], [3, 4])).reduce(
        (np.int32(0), np.int32(0)), lambda s, e: (s[0] + e[0], s[1] + e[1])
    )
    assert [int(t) for t in total] == [3, 7]

    ds = Dataset.range(42)
    assert int(ds.cardinality()) == 42
    assert int(ds.repeat().cardinality()) == data.INFINITE_CARDINALITY == -1
    assert int(ds.repeat().filter(lambda x: True).cardinality()) == data.UNKNOWN_CARDINALITY
    assert int(ds.filter(lambda x: True).cardinality()) == -2
    cases = {
        ds.batch(5): 9,
        ds.batch(5, drop_remainder=True): 8,
        ds.take(50): 42,
        ds.take(3): 3,
        ds.skip(40): 2,
        ds.skip(50): 0,
        ds.repeat(2): 84,
        ds.repeat().take(7): 7,
        ds.repeat().skip(7): -1,
        ds.repeat().batch(2): -1,
        ds.concatenate(ds): 84,
        ds.concatenate(ds.repeat()): -1,
        ds.concatenate(ds.filter(lambda x: True)): -2,
        Dataset.zip(ds, ds.take(5)): 5,
        Dataset.zip(ds, ds.repeat()): 42,
        ds.shuffle(10).map(lambda x: x).cache().prefetch(1).enumerate(): 42,
        Dataset.from_generator(lambda: iter([1]), "int32"): -2,
        Dataset.from_tensor_slices(np.zeros((7, 2))).shuffle(3).repeat(3).batch(4): 6,
    }
    for d, n in cases.items():
        assert int(d.cardinality()) == n, d
        assert len(d) == n if n >= 0 else not hasattr(d, "__len__")


def test_len_raises_type_error_like_tf():
    with pytest.raises(TypeError, match="infinite"):
        len(Dataset.range(3).repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(Dataset.range(3).filter(lambda x: x > 0))
    assert bool(Dataset.range(0))  # truthy, as TF's, even when empty


def test_padded_batch_examples():
    a = Dataset.range(1, 5, output_type="int32").map(lambda x: wg.fill([x], x))
    assert _list(a.padded_batch(2)) == [[[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    assert _list(a.padded_batch(2, padded_shapes=5)) == [
        [[1, 0, 0, 0, 0], [2, 2, 0, 0, 0]],
        [[3, 3, 3, 0, 0], [4, 4, 4, 4, 0]],
    ]
    assert _list(a.padded_batch(2, padded_shapes=5, padding_values=-1))[0] == [
        [1, -1, -1, -1, -1],
        [2, 2, -1, -1, -1],
    ]
    elements = [([1, 2, 3], [10]), ([4, 5], [11, 12])]
    ds = Dataset.from_generator(lambda: iter(elements), ("int32", "int32"))
    out = _list(ds.padded_batch(2, padded_shapes=([4], [None]), padding_values=(-1, 100)))
    assert out == [([[1, 2, 3, -1], [4, 5, -1, -1]], [[10, 100], [11, 12]])]
    e = _list(Dataset.zip((a, a)).padded_batch(2, padding_values=-1))
    assert e[0] == ([[1, -1], [2, 2]], [[1, -1], [2, 2]])
    with pytest.raises(ValueError, match="padded_batch.*padded shape"):
        _list(a.padded_batch(2, padded_shapes=3))


def test_from_generator_signature_checks():
    def gen():
        for i in range(3):
            yield i, [1] * i

    spec = (data.TensorSpec((), "int64"), data.TensorSpec((None,), "int64"))
    ds = Dataset.from_generator(gen, output_signature=spec)
    assert _list(ds) == [(0, []), (1, [1]), (2, [1, 1])]
    assert ds.element_spec == spec
    assert next(ds.as_numpy_iterator())[0].dtype == np.int64  # converted to the signature
    assert _list(ds) == _list(ds)  # the generator is called anew each pass
    with pytest.raises(ValueError, match=r"from_generator.*shape \(2,\).*\(3,\)"):
        _list(Dataset.from_generator(lambda: [[1, 2]], output_signature=data.TensorSpec((3,))))
    with pytest.raises(TypeError, match="from_generator.*float64.*int32"):
        bad = Dataset.from_generator(
            lambda: [np.zeros(2)], output_signature=data.TensorSpec((2,), "int32")
        )
        _list(bad)
    with pytest.raises(ValueError, match="from_generator.*does not match"):
        _list(Dataset.from_generator(lambda: [1], output_signature=spec))
    arg = Dataset.from_generator(lambda n: range(n), "int64", args=(4,))
    assert _list(arg) == [0, 1, 2, 3]
    untyped = Dataset.from_generator(lambda: iter([np.ones(2), np.zeros(2)]))  # no checks
    assert _list(untyped.batch(2)) == [[[1.0, 1.0], [0.0, 0.0]]]


# -- against NumPy --------------------------------------------------------------------------
def test_batches_are_numpy_slices_and_pairs_stay_together():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((103, 4)).astype(np.float32), np.arange(103)
    batches = list(Dataset.from_tensor_slices((x, y)).batch(16).as_numpy_iterator())
    assert len(batches) == 7
    for i, (xb, yb) in enumerate(batches):
        np.testing.assert_array_equal(xb, x[16 * i : 16 * i + 16])
        np.testing.assert_array_equal(yb, y[16 * i : 16 * i + 16])
    shuffled = list(Dataset.from_tensor_slices((x, y)).shuffle(200, seed=3).batch(16))
    assert all(isinstance(t, wg.Tensor) for b in shuffled for t in b)
    xs = np.concatenate([b[0].numpy() for b in shuffled])
    ys = np.concatenate([b[1].numpy() for b in shuffled])
    assert sorted(ys) == list(range(103)) and not np.array_equal(ys, y)
    np.testing.assert_array_equal(xs, x[ys])  # each x still with its y
    # the same through the per-element path (a map first)
    mapped = Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b)).batch(10)
    xs = np.concatenate([b[0] for b in mapped.as_numpy_iterator()])
    np.testing.assert_allclose(xs, x * 2)


def test_pipeline_against_numpy():
    x = np.arange(50)
    ds = Dataset.from_tensor_slices(x).skip(5).take(30).repeat(2).batch(7, drop_remainder=True)
    expect = np.concatenate([x[5:35], x[5:35]])
    expect = expect[: len(expect) // 7 * 7].reshape(-1, 7)
    np.testing.assert_array_equal(np.array(_list(ds)), expect)
    assert len(ds) == len(expect)
    ds = (
        Dataset.from_tensor_slices(x)
        .batch(8)
        .map(lambda b: b * b)
        .unbatch()
        .filter(lambda v: v % 3 == 0)
    )
    assert _list(ds) == [int(v) * int(v) for v in x if (v * v) % 3 == 0]


# -- shuffle --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda n: Dataset.range(n), lambda n: Dataset.from_tensor_slices(np.arange(n))]
)
def test_full_buffer_shuffle_is_a_uniform_permutation(make):
    n, runs = 10, 600
    firsts = np.zeros(n)
    for s in range(runs):
        order = _list(make(n).shuffle(n, seed=s))
        assert sorted(order) == list(range(n))
        firsts[order[0]] += 1
    # each value first about runs/n times (chi-square, 9 degrees of freedom, p ~ 1e-4)
    chi2 = ((firsts - runs / n) ** 2 / (runs / n)).sum()
    assert chi2 < 33, firsts


@pytest.mark.parametrize("indexed", [False, True])
def test_small_buffer_keeps_elements_near_their_place(indexed):
    n, k = 200, 5
    ds = Dataset.from_tensor_slices(np.arange(n)) if indexed else Dataset.range(n)
    assert _list(ds.shuffle(1, seed=0)) == list(range(n))  # a buffer of one changes nothing
    for s in range(20):
        order = np.array(_list(ds.shuffle(k, seed=s)))
        assert sorted(order) == list(range(n))
        position = np.argsort(order)
        # the output at position t comes from inputs 0..t+k-1: nothing moves earlier by k
        assert (position >= np.arange(n) - (k - 1)).all()
        assert order[0] < k
    displacement = np.abs(np.argsort(order) - np.arange(n)).mean()
    assert displacement < 3 * k  # a full shuffle moves elements about n/3 = 67 on average


def test_buffered_shuffle_is_the_same_on_both_paths():
    for size in (3, 50, 1000):
        a = _list(Dataset.range(100).shuffle(size, seed=7))
        b = _list(Dataset.from_tensor_slices(np.arange(100)).shuffle(size, seed=7))
        assert a == b


def test_shuffle_seeds_and_reshuffling():
    def orders(ds, passes=3):
        return [_list(ds) for _ in range(passes)]

    x = np.arange(30)
    first = orders(Dataset.from_tensor_slices(x).shuffle(30, seed=5))
    assert first == orders(Dataset.from_tensor_slices(x).shuffle(30, seed=5))  # reproducible
    assert first[0] != first[1] != first[2]  # each pass reshuffles
    assert first != orders(Dataset.from_tensor_slices(x).shuffle(30, seed=6))
    fixed = orders(
        Dataset.from_tensor_slices(x).shuffle(30, seed=5, reshuffle_each_iteration=False)
    )
    assert fixed[0] == fixed[1] == fixed[2] != list(x)
    # seed=None: reproducible from wg.random.set_seed before the dataset is made
    wg.random.set_seed(11)
    a = orders(Dataset.range(30).shuffle(10))
    wg.random.set_seed(11)
    b = orders(Dataset.range(30).shuffle(10))
    assert a == b
    # an op seed goes with the global seed, as TF's get_seed pairs them
    wg.random.set_seed(1)
    c = _list(Dataset.range(30).shuffle(30, seed=5))
    wg.random.set_seed(2)
    assert c != _list(Dataset.range(30).shuffle(30, seed=5))
    # shuffle then repeat reshuffles each repetition; cache after shuffle freezes the order
    reps = _list(Dataset.range(10).shuffle(10, seed=0).repeat(3))
    assert reps[:10] != reps[10:20] and sorted(reps[10:20]) == list(range(10))
    frozen = Dataset.from_tensor_slices(x).shuffle(30, seed=0).cache()
    assert _list(frozen) == _list(frozen)
    # repeat then shuffle mixes passes (one buffer over the whole stream)
    mixed = _list(Dataset.from_tensor_slices(np.arange(5)).repeat(4).shuffle(20, seed=1))
    assert sorted(mixed) == sorted(list(range(5)) * 4) and mixed[:5] != sorted(mixed[:5])


# -- training -------------------------------------------------------------------------------
def _data(n=96):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _model():
    wg.random.set_seed(0)
    model = wg.Sequential([layers.Input((3,)), layers.Dense(8, activation="relu"), layers.Dense(2)])
    model.compile(
        optimizer="sgd",
        loss=wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def test_fit_and_evaluate_on_a_dataset_equal_the_array_path():
    x, y = _data()
    arrays = _model()
    h1 = arrays.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    e1 = arrays.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    ds = Dataset.from_tensor_slices((x, y)).batch(16)
    model = _model()
    h2 = model.fit(ds, epochs=3, verbose=0)
    e2 = model.evaluate(ds, verbose=0, return_dict=True)
    for k in h1.history:
        np.testing.assert_allclose(h2.history[k], h1.history[k], rtol=1e-6)
    for k in e1:
        np.testing.assert_allclose(e2[k], e1[k], rtol=1e-6)
    for w1, w2 in zip(arrays.get_weights(), model.get_weights()):
        np.testing.assert_allclose(w2, w1, rtol=1e-6)


def test_fit_on_shuffled_filtered_and_infinite_datasets():
    x, y = _data()
    model = _model()
    shuffled = Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(16)
    val = Dataset.from_tensor_slices((x, y)).batch(32)
    h = model.fit(shuffled, epochs=3, validation_data=val, verbose=0)
    assert len(h.history["loss"]) == 3 and "val_accuracy" in h.history
    # unknown length (a filter): fit runs each pass to its end
    filtered = Dataset.from_tensor_slices((x, y)).filter(lambda a, b: b >= 0).batch(16)
    assert len(model.fit(filtered, epochs=2, verbose=0).history["loss"]) == 2
    # an infinite dataset with steps_per_epoch reads on across epochs, as in Keras
    seen = []

    class Count(wg.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    endless = Dataset.from_tensor_slices((x, y)).repeat().shuffle(50, seed=1).batch(16)
    model.fit(endless, epochs=2, steps_per_epoch=4, verbose=0, callbacks=[Count()])
    assert seen == [0, 1, 2, 3] * 2


def test_predict_on_a_dataset():
    x, y = _data()
    model = _model()
    expect = model.predict(x, batch_size=16)
    for ds in (
        Dataset.from_tensor_slices(x).batch(16),
        Dataset.from_tensor_slices((x, y)).batch(16),
    ):
        np.testing.assert_allclose(model.predict(ds), expect, rtol=1e-6)
    with pytest.raises(ValueError, match="predict: the source of batches gave no batches"):
        model.predict(Dataset.from_tensor_slices(x).take(0).batch(16))


def test_gradient_tape_loop():
    x, y = _data()
    model = _model()
    loss_fn = wg.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = wg.optimizers.SGD(0.5)
    ds = Dataset.from_tensor_slices((x, y)).shuffle(96, seed=0).batch(32)
    losses = []
    for _ in range(5):
        total = 0.0
        for xb, yb in ds:
            assert isinstance(xb, wg.Tensor) and xb.shape == (32, 3)
            with wg.GradientTape() as tape:
                loss = loss_fn(yb, model(xb, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            total += float(loss)
        losses.append(total)
    assert losses[-1] < losses[0]


# -- structures, specs and dtypes as TensorFlow has them ------------------------------------
def test_dicts_are_matched_by_sorted_keys_not_insertion_order():
    gen = lambda: iter([{"a": 1, "b": 10}, {"b": 20, "a": 2}])  # noqa: E731
    assert _list(Dataset.from_generator(gen).batch(2)) == [{"a": [1, 2], "b": [10, 20]}]
    sig = {"b": data.TensorSpec((), "int32"), "a": data.TensorSpec((), "int32")}
    out = list(Dataset.from_generator(gen, output_signature=sig).as_numpy_iterator())
    assert [list(e) for e in out] == [["b", "a"]] * 2  # the signature's order
    assert [(int(e["a"]), int(e["b"])) for e in out] == [(1, 10), (2, 20)]
    ds = Dataset.range(2).map(lambda x: {"a": x, "b": x + 10} if int(x) else {"b": x + 10, "a": x})
    assert _list(ds.batch(2)) == [{"a": [0, 1], "b": [10, 11]}]
    a = Dataset.from_tensor_slices({"a": [1], "b": [2]})
    b = Dataset.from_tensor_slices({"b": [3], "a": [4]})
    both = a.concatenate(b)
    assert _list(both) == [{"a": 1, "b": 2}, {"a": 4, "b": 3}]
    assert [list(e) for e in both.as_numpy_iterator()] == [["a", "b"]] * 2
    # padded_batch and output_types/output_shapes read dict structures by key
    types, shapes = {"y": "int32", "x": "int32"}, {"x": [None], "y": []}
    gen2 = lambda: iter([{"x": [1], "y": 5}, {"y": 6, "x": [2, 2]}])  # noqa: E731
    ds2 = Dataset.from_generator(gen2, types, shapes)
    assert ds2.element_spec["x"].shape == (None,) and ds2.element_spec["y"].shape == ()
    padded = ds2.padded_batch(2, padding_values={"x": -1, "y": 0})
    assert _list(padded) == [{"y": [5, 6], "x": [[1, -1], [2, 2]]}]


def test_functions_returning_a_list_return_a_tuple():
    ds = Dataset.range(3).map(lambda x: [x, x * 10])
    s = data.TensorSpec((), "int64")
    assert ds.element_spec == (s, s)
    assert _list(ds) == [(0, 0), (1, 10), (2, 20)]
    assert next(ds.as_numpy_iterator())[1].dtype == np.int64
    mixed = Dataset.range(2).map(lambda x: [x, wg.cast(x, "float32")])
    assert [t.dtype for t in mixed.element_spec] == [np.int64, np.float32]
    # a list inside a structure is still one component
    assert Dataset.range(2).map(lambda x: (x, [1, 2])).element_spec[1].shape == (2,)
    total = Dataset.range(4).reduce((np.int64(0), np.int64(0)), lambda s, x: [s[0] + x, s[1] + 1])
    assert type(total) is tuple and [int(t) for t in total] == [6, 4]
    with pytest.raises(TypeError, match="Dataset.reduce: .*initial_state's structure"):
        Dataset.range(3).reduce(np.int64(0), lambda s, x: (s, x))
    flat = Dataset.range(2).flat_map(lambda x: Dataset.from_tensors([x, x]))
    assert _list(flat) == [[0, 0], [1, 1]]


def test_as_numpy_iterator_does_not_hand_out_the_users_array():
    x = np.arange(6.0).reshape(3, 2)
    for row in Dataset.from_tensor_slices(x).as_numpy_iterator():
        assert not row.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            row *= 0
    for e in Dataset.from_tensors({"x": x}).as_numpy_iterator():
        with pytest.raises(ValueError):
            e["x"][0, 0] = 1.0
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(3, 2))
    assert x.flags.writeable  # only the views are read-only
    # not copied, as the module says: later changes to the array show up
    ds = Dataset.from_tensor_slices(x)
    x[0, 0] = 99.0
    assert _list(ds)[0] == [99.0, 1.0]


def test_zip_of_slices_stays_indexed():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    zipped = Dataset.zip(Dataset.from_tensor_slices(x), Dataset.from_tensor_slices(y))
    assert zipped._table is not None and len(zipped) == 10
    assert zipped.element_spec == Dataset.from_tensor_slices((x, y)).element_spec
    a = zipped.shuffle(10, seed=4).batch(4)
    b = Dataset.from_tensor_slices((x, y)).shuffle(10, seed=4).batch(4)
    assert _list(a) == _list(b)  # the same orders as slicing the pair
    assert zipped.shuffle(10)._table is not None  # shuffled as indices, batched by slicing
    nested = Dataset.zip({"p": zipped, "q": Dataset.from_tensors(y[:2]).repeat(1)})
    assert nested._table is None  # repeat: no longer the arrays as made
    short = Dataset.zip((Dataset.from_tensor_slices(x), Dataset.from_tensor_slices(y[:4])))
    assert short._table is not None and len(short) == 4
    assert _list(short.batch(4)) == [(x[:4].tolist(), [0, 1, 2, 3])]
    both = Dataset.zip({"a": zipped, "b": Dataset.from_tensor_slices(y * 2)})
    assert both._table is not None
    assert _list(both.take(1)) == [{"a": ([0.0, 1.0], 0), "b": 0}]
    # a shuffled part keeps its own order: element by element
    mixed = Dataset.zip(Dataset.from_tensor_slices(y).shuffle(10, seed=1), zipped)
    assert mixed._table is None
    out = _list(mixed)
    assert sorted(u for u, _ in out) == list(range(10)) and [v[1] for _, v in out] == list(y)


def test_padded_batch_and_unbatch_specs():
    spec = data.TensorSpec((None,), "int64")
    rows = Dataset.from_generator(lambda: ([1], [2, 2], [3]), output_signature=spec)
    assert rows.padded_batch(2).element_spec == data.TensorSpec((None, None), "int64")
    assert rows.padded_batch(2, (4,), drop_remainder=True).element_spec.shape == (2, 4)
    assert rows.padded_batch(2).unbatch().element_spec == spec
    assert _list(rows.padded_batch(2).unbatch()) == [[1, 0], [2, 2], [3]]
    known = Dataset.from_tensor_slices(np.zeros((6, 3), "float32")).padded_batch(2)
    assert known.element_spec.shape == (None, 3)
    # a map's spec is traced on zeros: a value-dependent size is left unknown
    filled = Dataset.range(1, 4).map(lambda x: wg.fill([x], x)).padded_batch(2)
    assert filled.element_spec.shape == (None, None)
    with pytest.raises(TypeError, match="Dataset.padded_batch: padding value 0.5"):
        rows.padded_batch(2, padding_values=0.5)
    with pytest.raises(TypeError, match="Dataset.padded_batch"):
        _list(Dataset.from_generator(lambda: [[1], [2, 2]]).padded_batch(2, padding_values=0.5))
    assert _list(known.padded_batch(1, padding_values=-1).take(1))  # an int into floats: fine
    small = Dataset.from_generator(
        lambda: ([1], [2, 2]), output_signature=data.TensorSpec((None,), "uint8")
    )
    assert _list(small.padded_batch(2, padding_values=7)) == [[[1, 7], [2, 2]]]
    with pytest.raises(TypeError, match="padding value 300 does not fit .* uint8"):
        small.padded_batch(2, padding_values=300)
    floats = Dataset.from_tensor_slices(np.ones((2, 1))).padded_batch(2, (2,), np.nan)
    assert np.isnan(_list(floats)[0][0][1])
    untyped = Dataset.from_generator(lambda: iter([np.zeros(2)]), output_types="float32")
    assert untyped.unbatch().element_spec == data.TensorSpec(None, "float32")
    assert Dataset.from_generator(lambda: iter([[1]])).unbatch().element_spec is None
    # cardinality: n batches of a known size give n * size rows
    assert int(Dataset.range(10).batch(3, drop_remainder=True).unbatch().cardinality()) == 9
    assert int(Dataset.range(10).batch(3).unbatch().cardinality()) == data.UNKNOWN_CARDINALITY
    assert int(Dataset.range(10).batch(3, True).shuffle(2).unbatch().cardinality()) == 9
    traced = Dataset.range(1, 4).map(lambda x: wg.fill([x], x)).unbatch()  # traced: (0,)
    assert int(traced.cardinality()) == data.UNKNOWN_CARDINALITY and len(_list(traced)) == 6
    assert int(Dataset.from_tensors(np.zeros((5, 2))).repeat(3).unbatch().cardinality()) == 15
    assert len(_list(Dataset.from_tensors(np.zeros((5, 2))).repeat(3).unbatch())) == 15


def test_concatenate_relaxes_shapes_and_checks_named_tuples():
    two, three = Dataset.from_tensors(np.zeros(2)), Dataset.from_tensors(np.zeros(3))
    assert two.concatenate(three).element_spec == data.TensorSpec((None,), "float64")
    assert two.concatenate(two).element_spec.shape == (2,)
    matrix = Dataset.from_tensors(np.zeros((2, 2)))
    assert two.concatenate(matrix).element_spec == data.TensorSpec(None, "float64")
    assert _list(two.concatenate(three)) == [[0.0, 0.0], [0.0, 0.0, 0.0]]
    point = collections.namedtuple("Point", ["u", "v"])
    with pytest.raises(TypeError, match="Dataset.concatenate: incompatible"):
        Dataset.from_tensors(point(1, 2)).concatenate(Dataset.from_tensors((3, 4)))
    same = Dataset.from_tensors(point(1, 2)).concatenate(Dataset.from_tensors(point(3, 4)))
    assert [type(e) for e in same.as_numpy_iterator()] == [point, point]


def test_lists_of_arrays_keep_their_dtype():
    a, b = np.zeros(3), np.ones(3)
    assert Dataset.from_tensor_slices([a, b]).element_spec == data.TensorSpec((3,), "float64")
    assert Dataset.from_tensors([a, b]).element_spec == data.TensorSpec((2, 3), "float64")
    ints = [np.arange(2, dtype=np.int64), np.arange(2, dtype=np.int64)]
    assert Dataset.from_tensor_slices(ints).element_spec.dtype == np.int64
    assert Dataset.from_tensor_slices([[np.float64(1.0)], [np.float64(2.0)]]).element_spec == (
        data.TensorSpec((1,), "float64")
    )
    tensors = [wg.constant(np.zeros(2)), wg.constant(np.ones(2))]
    assert Dataset.from_tensor_slices(tensors).element_spec.dtype == tensors[0].dtype
    # Python values, and mixed dtypes, get TensorFlow's dtypes as before
    assert Dataset.from_tensor_slices([1.0, 2.0]).element_spec.dtype == np.float32
    mixed = [np.zeros(2, np.float64), np.zeros(2, np.float32)]
    assert Dataset.from_tensor_slices(mixed).element_spec.dtype == np.float32


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: Dataset.range(3).batch(0),
            ValueError,
            "Dataset.batch: batch_size must be at least 1",
        ),
        (
            lambda: Dataset.range(3).batch(2.5),
            TypeError,
            "Dataset.batch: batch_size must be an integer",
        ),
        (lambda: Dataset.range(3).shuffle(0), ValueError, "Dataset.shuffle: buffer_size"),
        (lambda: Dataset.range(3).shuffle(3, seed="a"), TypeError, "Dataset.shuffle: seed"),
        (lambda: Dataset.range(3).take(-2), ValueError, "Dataset.take: count must be at least -1"),
        (lambda: Dataset.range(3).skip(None), TypeError, "Dataset.skip: count"),
        (lambda: Dataset.range(3).repeat(-5), ValueError, "Dataset.repeat: count"),
        (lambda: Dataset.range(3).map(3), TypeError, "Dataset.map: map_func must be callable"),
        (lambda: Dataset.range(3).filter(None), TypeError, "Dataset.filter: predicate"),
        (lambda: Dataset.range(), TypeError, "Dataset.range: expected 1 to 3"),
        (lambda: Dataset.range(1, 5, 0), ValueError, "Dataset.range: step"),
        (
            lambda: Dataset.zip(Dataset.range(3), [1, 2]),
            TypeError,
            "Dataset.zip: expected datasets",
        ),
        (lambda: Dataset.zip(Dataset.range(3)), TypeError, "Dataset.zip"),
        (
            lambda: Dataset.range(3).concatenate([1]),
            TypeError,
            "Dataset.concatenate: expected a Dataset",
        ),
        (
            lambda: Dataset.range(3).concatenate(Dataset.range(3, output_type="float32")),
            TypeError,
            "Dataset.concatenate: incompatible",
        ),
        (
            lambda: Dataset.range(3).concatenate(Dataset.zip(Dataset.range(2), Dataset.range(2))),
            TypeError,
            "Dataset.concatenate: incompatible",
        ),
        (
            lambda: Dataset.from_tensor_slices(([1, 2], [1, 2, 3])),
            ValueError,
            r"from_tensor_slices.*sizes \[2, 3\]",
        ),
        (
            lambda: Dataset.from_tensor_slices(3),
            ValueError,
            "from_tensor_slices: component 0 is a scalar",
        ),
        (
            lambda: Dataset.from_generator([1, 2]),
            TypeError,
            "from_generator: generator must be callable",
        ),
        (lambda: Dataset.range(3).cache("/tmp/x"), NotImplementedError, "Dataset.cache"),
        (lambda: Dataset.range(3).apply(lambda d: 3), TypeError, "Dataset.apply"),
        (
            lambda: _list(Dataset.range(3).filter(lambda x: x)),
            TypeError,
            "Dataset.filter: predicate must return a scalar bool",
        ),
        (
            lambda: _list(Dataset.from_generator(lambda: [[1], [1, 2]], "int32").batch(2)),
            ValueError,
            r"Dataset.batch: cannot batch .* shape \(1,\) .* shape \(2,\).*padded_batch",
        ),
        (lambda: _list(Dataset.range(3).unbatch()), ValueError, "Dataset.unbatch"),
        (
            lambda: _list(Dataset.range(3).map(lambda x: None)),
            TypeError,
            "Dataset.map: map_func's result is None; expected an array",
        ),
        (
            lambda: _list(Dataset.range(3).map(lambda x: (x, None))),
            TypeError,
            r"Dataset.map: cannot convert None \(in map_func's result\)",
        ),
        (
            lambda: Dataset.from_tensors([[1], [1, 2]]),
            ValueError,
            r"Dataset.from_tensors: cannot convert \[\[1\], \[1, 2\]\] .*equal-length rows",
        ),
        (
            lambda: Dataset.from_tensor_slices(([1, 2], [[1], [1, 2]])),
            ValueError,
            "Dataset.from_tensor_slices: cannot convert",
        ),
        (
            lambda: Dataset.from_tensors({1, 2}),  # (text is taken: strings in pipelines)
            TypeError,
            r"Dataset.from_tensors: cannot convert \{1, 2\}",
        ),
        (lambda: _list(Dataset.range(3).flat_map(lambda x: x)), TypeError, "Dataset.flat_map"),
    ],
)
def test_errors_name_the_method_and_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_text_goes_through_a_pipeline_and_layers_adapt_on_datasets():
    # Keras's preprocessing guide: vectorise text inside Dataset.map; adapt on a Dataset
    texts = ["The Brain is deeper than the sea", "for if they are held Blue to Blue"]
    vectorizer = wg.layers.TextVectorization(output_mode="int")
    vectorizer.adapt(Dataset.from_tensor_slices(texts).batch(1))
    ds = Dataset.from_tensor_slices((texts, [1, 0])).batch(2).map(lambda x, y: (vectorizer(x), y))
    ids, labels = next(iter(ds))
    np.testing.assert_array_equal(ids.numpy(), vectorizer(np.array(texts)).numpy())
    assert labels.numpy().tolist() == [1, 0]
    norm = wg.layers.Normalization()
    data = np.arange(12.0).reshape(6, 2)
    norm.adapt(Dataset.from_tensor_slices(data).batch(4))
    np.testing.assert_allclose(norm.mean.numpy().ravel(), data.mean(0))
    np.testing.assert_allclose(norm.variance.numpy().ravel(), data.var(0))
    norm.adapt(Dataset.from_tensor_slices(data).batch(4), steps=1)
    np.testing.assert_allclose(norm.mean.numpy().ravel(), data[:4].mean(0))
    norm.adapt(wg.constant(data))  # a Tensor still reads as data
    np.testing.assert_allclose(norm.mean.numpy().ravel(), data.mean(0))
