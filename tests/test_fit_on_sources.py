"""fit, evaluate and predict on sources of batches (wg.data.Dataset, generators), as Keras.

steps_per_epoch re-reads a re-iterable source once it is used up and never logs an empty
epoch; a generator that runs out stops training with Keras's warning; infinite sources need
steps (steps_per_epoch, steps, validation_steps); class_weight weights each batch; errors
name the mistake (no y, no .batch(), batch_size with a source).  The array path is unchanged.
"""

import warnings

import numpy as np
import pytest

import wengert as wg
from wengert.data import Dataset


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.integers(0, 3, n)
    return x, y


def _model(cls=None, weighted=False):
    wg.random.set_seed(0)
    layers = [wg.layers.Input((4,)), wg.layers.Dense(3)]
    model = (cls or wg.Sequential)(layers)
    model.compile(
        "sgd",
        wg.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        weighted_metrics=["accuracy"] if weighted else None,
    )
    return model


class _Recording(wg.Sequential):
    """Records the first input value of each training batch (which batch it was)."""

    def __init__(self, layers):
        super().__init__(layers)
        self.seen = []

    def train_step(self, data):
        self.seen.append(float(data[0].numpy()[0, 0]))
        return super().train_step(data)


class _Epochs(wg.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends, self.batches = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.batches[-1] += 1

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(epoch)


def _fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(*args, verbose=0, **kwargs)
    return history, [str(w.message) for w in caught]


# -- finding 2: steps_per_epoch and sources that run out ------------------------------------
def test_steps_per_epoch_equal_to_the_cardinality_trains_every_epoch():
    # the reviewer's r2_empty_epoch.py: 64 samples in batches of 16, steps_per_epoch=4
    x, y = _data()
    ds = Dataset.from_tensor_slices((x, y)).batch(16)
    counter = _Epochs()
    history, caught = _fit_quietly(_model(), ds, epochs=3, steps_per_epoch=4, callbacks=[counter])
    assert len(history.history["loss"]) == 3
    assert all(v > 0 for v in history.history["loss"])
    assert counter.ends == [0, 1, 2] and counter.batches == [4, 4, 4]
    assert caught == []
    # the same training as three plain passes over the dataset
    plain = _model().fit(ds, epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["loss"], plain.history["loss"], rtol=1e-12)


def test_steps_per_epoch_reads_on_then_starts_a_fresh_pass():
    x, y = _data()
    x[:, 0] = np.arange(len(x))  # each batch known by its first value
    ds = Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches: 0, 16, 32, 48
    model = _model(_Recording)
    history, caught = _fit_quietly(model, ds, epochs=4, steps_per_epoch=2)
    assert len(history.history["loss"]) == 4 and caught == []
    assert model.seen == [0, 16, 32, 48] * 2


def test_a_pass_that_runs_out_mid_epoch_ends_it_short_and_training_goes_on():
    x, y = _data()
    x[:, 0] = np.arange(len(x))
    ds = Dataset.from_tensor_slices((x, y)).batch(16)  # 4 batches
    model, counter = _model(_Recording), _Epochs()
    history, caught = _fit_quietly(model, ds, epochs=3, steps_per_epoch=3, callbacks=[counter])
    assert counter.batches == [3, 1, 3] and counter.ends == [0, 1, 2]
    assert model.seen == [0, 16, 32, 48, 0, 16, 32]  # as Keras 3: a fresh pass at epoch 3
    assert len(history.history["loss"]) == 3
    assert len(caught) == 1 and "ran out after 1 of 3 batches of epoch 2" in caught[0]


def test_a_generator_that_runs_out_stops_training_without_an_empty_epoch():
    x, y = _data()

    def batches():
        for s in range(0, len(x), 16):
            yield x[s : s + 16], y[s : s + 16]

    counter = _Epochs()
    history, caught = _fit_quietly(
        _model(), batches(), epochs=5, steps_per_epoch=2, callbacks=[counter]
    )
    assert counter.ends == [0, 1]  # no on_epoch_end for the third, empty epoch
    assert len(history.history["loss"]) == 2 and 0.0 not in history.history["loss"]
    assert len(caught) == 1 and "Your input ran out of data; interrupting training" in caught[0]


def test_a_generator_without_steps_per_epoch_trains_one_epoch_then_stops():
    x, y = _data()
    gen = ((x[s : s + 16], y[s : s + 16]) for s in range(0, len(x), 16))
    counter, ended = _Epochs(), []

    class End(wg.callbacks.Callback):
        def on_train_end(self, logs=None):
            ended.append(logs)

    history, caught = _fit_quietly(_model(), gen, epochs=3, callbacks=[counter, End()])
    assert counter.ends == [0] and counter.batches[0] == 4
    assert ended == [
        {
            "loss": history.history["loss"][0],
            "accuracy": pytest.approx(history.history["accuracy"][0]),
        }
    ]  # the last epoch's logs, not an empty epoch's
    assert len(history.history["loss"]) == 1 and history.history["loss"][0] > 0
    assert any("Your input ran out of data" in m for m in caught)


def test_a_partial_last_epoch_of_a_generator_is_still_logged():
    x, y = _data()
    gen = ((x[s : s + 16], y[s : s + 16]) for s in range(0, 48, 16))  # 3 batches
    counter = _Epochs()
    history, caught = _fit_quietly(_model(), gen, epochs=4, steps_per_epoch=2, callbacks=[counter])
    assert counter.batches == [2, 1] and counter.ends == [0, 1]
    assert len(history.history["loss"]) == 2
    assert len(caught) == 1 and "ran out after 1 of 2 batches" in caught[0]


def test_an_empty_source_is_an_error():
    x, y = _data()
    with pytest.raises(ValueError, match="gave no batches"):
        _model().fit(Dataset.from_tensor_slices((x[:0], y[:0])).batch(16), verbose=0)
    with pytest.raises(ValueError, match="gave no batches"):
        _model().fit(iter([]), steps_per_epoch=2, verbose=0)


# -- finding 3: infinite sources and steps ---------------------------------------------------
def test_fit_on_an_infinite_dataset_needs_steps_per_epoch():
    x, y = _data()
    endless = Dataset.from_tensor_slices((x, y)).repeat().batch(16)
    with pytest.raises(ValueError, match="infinitely repeating dataset.*steps_per_epoch"):
        _model().fit(endless, epochs=1, verbose=0)
    history = _model().fit(endless, epochs=2, steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2


def test_an_object_with_cardinality_minus_one_is_infinite():
    x, y = _data()

    class Endless:
        def cardinality(self):
            return -1

        def __iter__(self):
            while True:
                yield x[:16], y[:16]

    with pytest.raises(ValueError, match="steps_per_epoch"):
        _model().fit(Endless(), verbose=0)
    with pytest.raises(ValueError, match="`steps`"):
        _model().evaluate(Endless(), verbose=0)
    with pytest.raises(ValueError, match="`steps`"):
        _model().predict(Endless())
    assert _model().predict(Endless(), steps=2).shape == (32, 3)


def test_evaluate_and_predict_take_steps():
    x, y = _data()
    endless = Dataset.from_tensor_slices((x, y)).repeat().batch(16)
    model = _model()
    with pytest.raises(ValueError, match="infinitely repeating dataset.*`steps`"):
        model.evaluate(endless, verbose=0)
    got = model.evaluate(endless, steps=2, verbose=0, return_dict=True)
    want = model.evaluate(x[:32], y[:32], batch_size=16, verbose=0, return_dict=True)
    assert got == pytest.approx(want, rel=1e-12)
    # arrays take steps too (the first steps batches)
    assert model.evaluate(
        x, y, batch_size=16, steps=2, verbose=0, return_dict=True
    ) == pytest.approx(want, rel=1e-12)
    xs = Dataset.from_tensor_slices(x).repeat().batch(16)
    np.testing.assert_allclose(model.predict(xs, steps=3), model.predict(x[:48]), rtol=1e-6)
    assert model.predict(x, batch_size=16, steps=2).shape == (32, 3)
    with pytest.raises(ValueError, match="at least 1"):
        model.evaluate(endless, steps=0, verbose=0)


def test_evaluate_reads_a_source_lazily():
    x, y = _data()
    read = []

    def endless():
        while True:
            read.append(1)
            yield x[:16], y[:16]

    model = _model()
    model.evaluate(endless(), steps=3, verbose=0)
    assert len(read) == 3
    # steps past the end of a finite source: what there is, with a warning
    with pytest.warns(UserWarning, match="ran out of data"):
        model.evaluate(Dataset.from_tensor_slices((x, y)).batch(32), steps=5, verbose=0)


def test_validation_steps():
    x, y = _data()
    train = Dataset.from_tensor_slices((x, y)).batch(16)
    endless_val = Dataset.from_tensor_slices((x, y)).repeat().batch(16)
    began = []

    class Began(wg.callbacks.Callback):
        def on_train_begin(self, logs=None):
            began.append(1)

    with pytest.raises(ValueError, match="validation_steps"):
        _model().fit(train, validation_data=endless_val, verbose=0, callbacks=[Began()])
    assert began == []  # refused before training, not after the first epoch
    model = _model()
    history = model.fit(train, validation_data=endless_val, validation_steps=2, verbose=0)
    want = model.evaluate(x[:32], y[:32], batch_size=16, verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(want["loss"], rel=1e-12)
    # with arrays for validation, the first validation_steps batches
    model = _model()
    history = model.fit(x, y, batch_size=16, validation_data=(x, y), validation_steps=1, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[:16], y[:16], verbose=0)[0], rel=1e-12
    )


# -- finding 4: class_weight with a source ----------------------------------------------------
def test_class_weight_weights_each_batch_of_a_source():
    x, y = _data()
    w = np.linspace(0.5, 2.0, len(x)).astype("float32")
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    arrays = _model(weighted=True).fit(
        x, y, batch_size=16, shuffle=False, epochs=2, class_weight=cw, verbose=0
    )
    ds = _model(weighted=True).fit(
        Dataset.from_tensor_slices((x, y)).batch(16), epochs=2, class_weight=cw, verbose=0
    )
    for key in arrays.history:
        np.testing.assert_allclose(ds.history[key], arrays.history[key], rtol=1e-6)
    # times the batches' own sample weights, as with arrays
    arrays = _model(weighted=True).fit(
        x, y, sample_weight=w, batch_size=16, shuffle=False, class_weight=cw, verbose=0
    )
    ds = _model(weighted=True).fit(
        Dataset.from_tensor_slices((x, y, w)).batch(16), class_weight=cw, verbose=0
    )
    for key in arrays.history:
        np.testing.assert_allclose(ds.history[key], arrays.history[key], rtol=1e-6)
    # and from a plain generator
    gen = ((x[s : s + 16], y[s : s + 16]) for s in range(0, len(x), 16))
    plain = _model(weighted=True).fit(gen, class_weight=cw, verbose=0)
    arrays = _model(weighted=True).fit(
        x, y, batch_size=16, shuffle=False, class_weight=cw, verbose=0
    )
    np.testing.assert_allclose(plain.history["loss"], arrays.history["loss"], rtol=1e-6)


def test_class_weight_changes_the_loss_of_a_source():
    x, y = _data()
    ds = Dataset.from_tensor_slices((x, y)).batch(16)
    plain = _model().fit(ds, verbose=0).history["loss"][0]
    heavy = _model().fit(ds, class_weight={0: 5.0, 1: 5.0, 2: 5.0}, verbose=0)
    assert heavy.history["loss"][0] == pytest.approx(5 * plain, rel=0.05)


def test_class_weight_needs_targets_in_the_batches():
    x, _ = _data()
    with pytest.raises(ValueError, match="y is required"):
        _model().fit(Dataset.from_tensor_slices(x).batch(16), class_weight={0: 2.0}, verbose=0)


# -- finding 8: errors -------------------------------------------------------------------------
def test_fit_errors_on_sources():
    x, y = _data()
    with pytest.raises(ValueError, match="fit: y is required"):
        _model().fit(Dataset.from_tensor_slices(x).batch(16), verbose=0)
    with pytest.raises(ValueError, match=r"did you forget \.batch\(\)"):
        _model().fit(Dataset.from_tensor_slices((x, y)), verbose=0)
    with pytest.raises(ValueError, match="batch_size should not be specified"):
        _model().fit(Dataset.from_tensor_slices((x, y)).batch(16), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="carries its own targets"):
        _model().fit(Dataset.from_tensor_slices(x).batch(16), y, verbose=0)
    with pytest.raises(ValueError, match="evaluate: y is required"):
        _model().evaluate(Dataset.from_tensor_slices(x).batch(16), verbose=0)


def test_the_batch_hint_for_a_functional_model_with_two_inputs():
    x, y = _data()
    z = x[:, :2].copy()
    a, b = wg.layers.Input((4,)), wg.layers.Input((2,))
    model = wg.Model([a, b], wg.layers.Dense(3)(wg.layers.Concatenate()([a, b])))
    model.compile("sgd", wg.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="did you forget"):
        model.fit(Dataset.from_tensor_slices(((x, z), y)), verbose=0)
    history = model.fit(Dataset.from_tensor_slices(((x, z), y)).batch(16), verbose=0)
    assert len(history.history["loss"]) == 1


def test_a_custom_train_step_still_takes_x_alone_from_a_source():
    x, _ = _data()
    seen = []

    class Custom(wg.Sequential):
        def train_step(self, data):
            seen.append(tuple(data.shape))
            return {"loss": 0.5}

    model = _model(Custom)
    history = model.fit(Dataset.from_tensor_slices(x).batch(16), verbose=0)
    assert seen == [(16, 4)] * 4 and history.history["loss"] == [0.5]


# -- the array path is unchanged -----------------------------------------------------------------
def test_fit_on_arrays_gives_the_same_history_as_before():
    # histories recorded before these changes (fit on arrays does not go through them)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = rng.integers(0, 3, 40)
    w = rng.uniform(0.5, 2.0, 40).astype("float32")
    h = _model(weighted=True).fit(x, y, batch_size=8, epochs=3, seed=1, verbose=0).history
    assert h == {
        "loss": pytest.approx([1.4105694770812989, 1.3997680425643921, 1.3895699739456178]),
        "accuracy": pytest.approx([0.35, 0.375, 0.375]),
        "weighted_accuracy": pytest.approx([0.35, 0.375, 0.375]),
    }
    h = (
        _model(weighted=True)
        .fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            seed=1,
            verbose=0,
            sample_weight=w,
            class_weight={0: 1.0, 1: 3.0},
            validation_split=0.25,
        )  # fmt: skip
        .history
    )
    assert h == {
        "loss": pytest.approx([3.0911521911621094, 3.0269753615061443]),
        "accuracy": pytest.approx([0.36666666666666664] * 2),
        "weighted_accuracy": pytest.approx([0.30843693901587504] * 2),
        "val_loss": pytest.approx([1.8151988506317138, 1.8065731287002564]),
        "val_accuracy": pytest.approx([0.3, 0.3]),
        "val_weighted_accuracy": pytest.approx([0.2831467053376631] * 2),
    }
    model = _model(weighted=True)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True) == pytest.approx(
        {"loss": 1.402313470840454, "accuracy": 0.35, "weighted_accuracy": 0.35}
    )


def test_fit_on_arrays_and_on_the_same_batches_from_a_dataset_agree():
    x, y = _data()
    arrays = _model().fit(x, y, batch_size=16, shuffle=False, epochs=3, verbose=0)
    ds = _model().fit(Dataset.from_tensor_slices((x, y)).batch(16), epochs=3, verbose=0)
    for key in arrays.history:
        np.testing.assert_allclose(ds.history[key], arrays.history[key], rtol=1e-12)
