"""TextVectorization, StringLookup and IntegerLookup against Keras 3's documented outputs
and direct computations."""

from __future__ import annotations

import json
import math
import pickle
import re
from collections import Counter

import numpy as np
import pytest

import wengert as wg
from wengert import layers
from wengert.layers.text_preprocessing import (
    IntegerLookup,
    StringLookup,
    TextVectorization,
    fingerprint64,
)
from wengert.tensor import Tensor

VOCAB = ["a", "b", "c", "d"]
DATA4 = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
INT_VOCAB = [12, 36, 1138, 42]
INT_DATA4 = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])


def values(t):
    assert isinstance(t, Tensor)
    return t.numpy()


# -- Keras's documented examples ---------------------------------------------------------
def test_keras_text_vectorization_adapt_example():
    layer = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    out = layer([["foo qux bar"], ["qux baz"]])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(values(out), [[4, 1, 3, 0], [1, 2, 0, 0]])


def test_keras_text_vectorization_vocabulary_example():
    layer = TextVectorization(
        max_tokens=5000, output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"]
    )
    assert layer.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    assert layer.vocabulary_size() == 6


def test_keras_string_lookup_examples():
    np.testing.assert_array_equal(
        values(StringLookup(vocabulary=VOCAB)([["a", "c", "d"], ["d", "z", "b"]])),
        [[1, 3, 4], [4, 0, 2]],
    )
    layer = StringLookup()
    layer.adapt([["a", "c", "d"], ["d", "z", "b"]])
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(
        values(layer([["a", "c", "d"], ["d", "z", "b"]])), [[5, 3, 1], [1, 2, 4]]
    )
    multi_oov = StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    np.testing.assert_array_equal(
        values(multi_oov([["a", "c", "d"], ["m", "z", "b"]])), [[2, 4, 5], [0, 1, 3]]
    )
    one_hot = StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    assert one_hot.dtype == np.float32
    np.testing.assert_array_equal(values(one_hot), np.eye(5)[[1, 2, 3, 4, 0]])
    multi_hot = StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(DATA4)
    np.testing.assert_array_equal(values(multi_hot), [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    count = StringLookup(vocabulary=VOCAB, output_mode="count")(DATA4)
    np.testing.assert_array_equal(values(count), [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])


def test_keras_string_lookup_tf_idf_examples():
    layer = StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    out = layer(DATA4)
    assert out.dtype == np.float32
    # OOV weight: the mean of the given weights, 0.5
    np.testing.assert_allclose(values(out), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]])
    layer = StringLookup(output_mode="tf_idf")
    layer.set_vocabulary(["[UNK]"] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(
        values(layer(DATA4)), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]]
    )


def test_keras_string_lookup_inverse_examples():
    inverse = StringLookup(vocabulary=VOCAB, invert=True)
    out = inverse([[1, 3, 4], [4, 0, 2]])
    assert isinstance(out, np.ndarray) and out.dtype == object
    assert out.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]
    forward = StringLookup(vocabulary=VOCAB)
    ids = forward([["a", "c", "d"], ["d", "z", "b"]])
    assert inverse(ids).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_keras_integer_lookup_examples():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    np.testing.assert_array_equal(
        values(IntegerLookup(vocabulary=INT_VOCAB)(data)), [[1, 3, 4], [4, 0, 2]]
    )
    layer = IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(values(layer(data)), [[5, 2, 1], [1, 3, 4]])
    multi_oov = IntegerLookup(vocabulary=INT_VOCAB, num_oov_indices=2)
    np.testing.assert_array_equal(
        values(multi_oov(np.array([[12, 1138, 42], [37, 1000, 36]]))), [[2, 4, 5], [1, 0, 3]]
    )
    one_hot = IntegerLookup(vocabulary=INT_VOCAB, output_mode="one_hot")
    np.testing.assert_array_equal(
        values(one_hot(np.array([12, 36, 1138, 42, 7]))), np.eye(5)[[1, 2, 3, 4, 0]]
    )
    multi_hot = IntegerLookup(vocabulary=INT_VOCAB, output_mode="multi_hot")(INT_DATA4)
    np.testing.assert_array_equal(values(multi_hot), [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    count = IntegerLookup(vocabulary=INT_VOCAB, output_mode="count")(INT_DATA4)
    np.testing.assert_array_equal(values(count), [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    tf_idf = IntegerLookup(
        output_mode="tf_idf", vocabulary=INT_VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4]
    )
    np.testing.assert_allclose(
        values(tf_idf(INT_DATA4)), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]
    )
    tf_idf = IntegerLookup(
        output_mode="tf_idf", vocabulary=[-1] + INT_VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4]
    )
    np.testing.assert_allclose(
        values(tf_idf(INT_DATA4)), [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]]
    )


def test_keras_integer_lookup_inverse_examples():
    inverse = IntegerLookup(vocabulary=INT_VOCAB, invert=True)
    out = inverse(np.array([[1, 3, 4], [4, 0, 2]]))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(values(out), [[12, 1138, 42], [42, -1, 36]])
    forward = IntegerLookup(vocabulary=INT_VOCAB)
    pair = IntegerLookup(vocabulary=forward.get_vocabulary(), invert=True)
    ids = forward(np.array([[12, 1138, 42], [42, 1000, 36]]))
    np.testing.assert_array_equal(values(pair(ids)), [[12, 1138, 42], [42, -1, 36]])


def test_fingerprint64_matches_tensorflow_documented_buckets():
    # tf.strings.to_hash_bucket_fast(["Hello", "TensorFlow", "2.x"], 3) -> [0, 2, 2]
    assert [fingerprint64(s.encode()) % 3 for s in ["Hello", "TensorFlow", "2.x"]] == [0, 2, 2]
    # keras.layers.Hashing(num_bins=3) on A..E -> [1, 0, 1, 1, 2]
    assert [fingerprint64(s.encode()) % 3 for s in "ABCDE"] == [1, 0, 1, 1, 2]
    # the reference FarmHash values (pyfarmhash), covering every length branch
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F
    assert fingerprint64(b"m") == 14978230212225919644
    assert fingerprint64(b"earth wind") == 1803655285850883333
    assert fingerprint64("日本語のテキスト".encode()) == 3319086538622314836
    # pyfarmhash.fingerprint64(bytes(range(n))): the 17-32, 33-64 and > 64 byte branches
    assert fingerprint64(bytes(range(17))) == 13526182118996909852
    assert fingerprint64(bytes(range(40))) == 645241335607543436
    assert fingerprint64(bytes(range(65))) == 14313328211205373374
    assert fingerprint64(bytes(range(200))) == 525935771297148851


# -- vocabulary order and special tokens ---------------------------------------------------
def test_vocabulary_order_frequency_then_descending_token():
    texts = ["b a c", "a c d", "c e e", "zeta"]
    layer = TextVectorization()
    layer.adapt(texts)
    counts = Counter(" ".join(texts).split())
    expected = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
    assert expected == ["c", "e", "a", "zeta", "d", "b"]
    assert layer.get_vocabulary() == ["", "[UNK]"] + expected
    assert layer.get_vocabulary(include_special_tokens=False) == expected
    assert layer.vocabulary_size() == len(expected) + 2


def test_max_tokens_counts_special_tokens():
    texts = ["c c c b b a", "d"]
    layer = TextVectorization(max_tokens=4)
    layer.adapt(texts)
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b"]
    bag = TextVectorization(max_tokens=4, output_mode="multi_hot")
    bag.adapt(texts)
    # no padding token outside int mode; a tie (a, d: once each) goes to the larger token
    assert bag.get_vocabulary() == ["[UNK]", "c", "b", "d"]


def test_vocabulary_before_adapt_and_readapt():
    layer = TextVectorization()
    assert layer.get_vocabulary() == ["", "[UNK]"]
    np.testing.assert_array_equal(values(layer(["x y"])), [[1, 1]])
    layer.adapt(["x y y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "y", "x"]
    layer.adapt(["p"])  # a new adapt starts again
    assert layer.get_vocabulary() == ["", "[UNK]", "p"]


def test_set_vocabulary_with_and_without_special_tokens():
    layer = TextVectorization()
    layer.set_vocabulary(["", "[UNK]", "x", "y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]
    layer.set_vocabulary(["y", "x"])
    assert layer.get_vocabulary() == ["", "[UNK]", "y", "x"]
    np.testing.assert_array_equal(values(layer(["x y w"])), [[3, 2, 1]])


def test_vocabulary_file_is_read_as_utf8(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("café\nnaïve\n日本\n", encoding="utf-8")
    layer = TextVectorization(vocabulary=str(path), standardize=None)
    assert layer.get_vocabulary() == ["", "[UNK]", "café", "naïve", "日本"]
    np.testing.assert_array_equal(values(layer(["日本 café x"])), [[4, 2, 1]])
    ints = tmp_path / "ints.txt"
    ints.write_text("7\n3\n")
    assert IntegerLookup(vocabulary=str(ints)).get_vocabulary() == [-1, 7, 3]


# -- standardize and split --------------------------------------------------------------------
def test_standardize_default_matches_keras_regex_and_ascii_lowercase():
    keras_punct = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
    text = "Hello, World! It's A-OK: [x]{y}~ ÉCOLE ¿qué? 3.14 a_b"
    layer = TextVectorization(split=None, vocabulary=["x"])
    expected = re.sub(keras_punct, "", text.translate(str.maketrans(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")))  # fmt: skip
    assert layer._standardize_one(text) == expected
    assert expected == "hello world its aok xy École ¿qué 314 ab"


def test_standardize_modes_and_callable():
    text = "Hi, THERE!"
    assert TextVectorization(standardize="lower")._standardize_one(text) == "hi, there!"
    assert TextVectorization(standardize="strip_punctuation")._standardize_one(text) == "Hi THERE"
    assert TextVectorization(standardize=None)._standardize_one(text) == text

    def no_html(s):
        return s.lower().replace("<br />", " ")

    layer = TextVectorization(standardize=no_html, vocabulary=["good", "film"])
    np.testing.assert_array_equal(values(layer(["Good<br />FILM!"])), [[2, 1]])  # "film!" OOV


def test_split_modes_and_callable():
    layer = TextVectorization(vocabulary=["a", "b"])
    np.testing.assert_array_equal(values(layer([" a\t\tb\n a  "])), [[2, 3, 2]])
    chars = TextVectorization(split="character", standardize=None)
    chars.adapt(["abca"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "c", "b"]
    np.testing.assert_array_equal(values(chars(["cab", "é"])), [[3, 2, 4], [1, 0, 0]])
    whole = TextVectorization(split=None, standardize=None, vocabulary=["new york", "paris"])
    np.testing.assert_array_equal(values(whole(["paris", "new york", "rome"])), [3, 2, 1])
    np.testing.assert_array_equal(values(whole([["paris"], ["rome"]])), [[3], [1]])
    comma = TextVectorization(split=lambda s: s.split(","), standardize=None)
    comma.adapt(["x,y", "y"])
    assert comma.get_vocabulary() == ["", "[UNK]", "y", "x"]
    np.testing.assert_array_equal(values(comma(["y,x,q"])), [[2, 3, 1]])


def test_ngrams_int_and_tuple():
    layer = TextVectorization(ngrams=2)
    layer.adapt(["earth wind and fire"])
    counts = ["earth", "wind", "and", "fire", "earth wind", "wind and", "and fire"]
    assert sorted(layer.get_vocabulary()[2:]) == sorted(counts)
    assert layer.get_vocabulary()[2:] == sorted(counts, reverse=True)  # all counts tie
    vocab = ["a", "b", "c", "a b", "b c", "a b c"]
    tri = TextVectorization(ngrams=(1, 3), vocabulary=vocab)
    # widths in the given order: the 1-grams, then the 3-grams
    np.testing.assert_array_equal(values(tri(["a b c"])), [[2, 3, 4, 7]])
    only2 = TextVectorization(ngrams=(2,), vocabulary=vocab)
    np.testing.assert_array_equal(values(only2(["a b c", "a"])), [[5, 6], [0, 0]])


# -- output shapes and modes ------------------------------------------------------------------
def test_output_sequence_length_pads_at_end_and_truncates():
    vocab = ["a", "b", "c"]
    layer = TextVectorization(vocabulary=vocab, output_sequence_length=3)
    out = layer(["a", "a b c a b", ""])
    np.testing.assert_array_equal(values(out), [[2, 0, 0], [2, 3, 4], [0, 0, 0]])
    ragged = TextVectorization(vocabulary=vocab)  # no length: the batch's longest row
    np.testing.assert_array_equal(values(ragged(["a", "c b"])), [[2, 0], [4, 3]])
    assert values(ragged(["", ""])).shape == (2, 0)
    assert values(layer([])).shape == (0, 3)  # an empty batch
    assert values(TextVectorization(vocabulary=vocab, output_mode="count")([])).shape == (0, 4)
    np.testing.assert_array_equal(values(layer("b c")), [3, 4, 0])  # one string: 1-D
    assert layer.compute_output_shape((None,)) == (None, 3)


def test_inputs_as_numpy_arrays_bytes_and_tuples():
    layer = TextVectorization(vocabulary=["a", "b"], output_sequence_length=2)
    expected = [[2, 3], [3, 0]]
    for batch in (
        np.array(["a b", "b"]),
        np.array(["a b", "b"], dtype=object),
        np.array([b"a b", b"b"]),
        np.array([["a b"], ["b"]]),
        ("a b", "b"),
        [b"a b", "b"],
    ):
        np.testing.assert_array_equal(values(layer(batch)), expected)


def test_multi_hot_count_and_tf_idf_against_direct_computation():
    texts = ["the cat sat", "the dog", "a cat cat", "dog dog dog the"]
    query = ["the cat cat zebra", "dog"]
    count = TextVectorization(output_mode="count")
    count.adapt(texts)
    vocab = count.get_vocabulary()
    assert vocab[0] == "[UNK]"

    def counts_of(text):
        row = np.zeros(len(vocab), np.float32)
        for token in text.split():
            row[vocab.index(token) if token in vocab else 0] += 1
        return row

    direct = np.stack([counts_of(t) for t in query])
    np.testing.assert_array_equal(values(count(query)), direct)
    multi = TextVectorization(output_mode="multi_hot")
    multi.adapt(texts)
    assert multi.get_vocabulary() == vocab
    np.testing.assert_array_equal(values(multi(query)), (direct > 0).astype(np.float32))

    tf_idf = TextVectorization(output_mode="tf_idf")
    tf_idf.adapt(texts)
    docs = [set(t.split()) for t in texts]
    idf = np.array(
        [math.log(1 + len(texts) / (1 + sum(t in d for d in docs))) for t in vocab[1:]],
        np.float32,
    )
    idf = np.concatenate([[idf.mean()], idf])  # Keras: the OOV slot gets the mean weight
    out = tf_idf(query)
    assert out.dtype == np.float32
    np.testing.assert_allclose(values(out), direct * idf, rtol=1e-6)
    config = tf_idf.get_config()
    np.testing.assert_allclose(config["idf_weights"], idf, rtol=1e-6)


def test_pad_to_max_tokens_and_scalar_input():
    layer = TextVectorization(max_tokens=8, output_mode="multi_hot", pad_to_max_tokens=True)
    layer.adapt(["a b", "b"])
    out = values(layer(["b q", "a"]))
    assert out.shape == (2, 8)
    np.testing.assert_array_equal(out, [[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(values(layer("a a")), [0, 0, 1, 0, 0, 0, 0, 0])
    idf = TextVectorization(max_tokens=6, output_mode="tf_idf", pad_to_max_tokens=True)
    idf.adapt(["a b", "b"])
    assert values(idf(["a"])).shape == (1, 6)


def test_one_hot_with_split_none():
    layer = TextVectorization(output_mode="one_hot", split=None, vocabulary=["red", "blue"])
    np.testing.assert_array_equal(values(layer(["Blue", "green"])), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(values(layer([["red"], ["blue"]])), [[0, 1, 0], [0, 0, 1]])


# -- lookups: invert, OOV, mask ------------------------------------------------------------
def test_string_lookup_mask_token_and_oov_variants():
    layer = StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]"] + VOCAB
    np.testing.assert_array_equal(values(layer([["a", "", "q"]])), [[2, 0, 1]])
    bag = StringLookup(vocabulary=VOCAB, mask_token="", output_mode="count")
    np.testing.assert_array_equal(values(bag([["a", "", "", "q"]])), [[1, 1, 0, 0, 0]])
    buckets = StringLookup(vocabulary=VOCAB, num_oov_indices=3)
    oov = ["m", "z", "Hello", "TensorFlow"]
    expected = [fingerprint64(t.encode()) % 3 for t in oov]
    np.testing.assert_array_equal(values(buckets(oov)), expected)
    strict = StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    np.testing.assert_array_equal(values(strict(["d", "a"])), [3, 0])
    with pytest.raises(LookupError, match=r"num_oov_indices=0.*'q'"):
        strict(["a", "q"])


def test_string_lookup_invert_with_mask_and_out_of_range():
    inverse = StringLookup(vocabulary=VOCAB, mask_token="[MASK]", invert=True)
    assert inverse.get_vocabulary() == ["[MASK]", "[UNK]"] + VOCAB
    out = inverse(np.array([0, 1, 2, 5, 6, -3]))
    assert out.tolist() == ["[MASK]", "[UNK]", "a", "d", "[UNK]", "[UNK]"]
    assert inverse(wg.constant([[2]])).tolist() == [["a"]]


def test_integer_lookup_tensors_mask_and_adapt_batches():
    layer = IntegerLookup(mask_token=0, max_tokens=5)
    layer.adapt(iter([np.array([3, 3, 5, 0]), wg.constant([5, 3, 9, 4])]))
    assert layer.get_vocabulary() == [0, -1, 3, 5, 9]  # mask and OOV not counted
    out = layer(wg.constant([[3, 0, 4]]))
    np.testing.assert_array_equal(values(out), [[2, 0, 1]])
    farm = IntegerLookup(vocabulary=INT_VOCAB, num_oov_indices=2, oov_method="farmhash")
    np.testing.assert_array_equal(
        values(farm([37, 1000])), [fingerprint64(b"37") % 2, fingerprint64(b"1000") % 2]
    )
    with pytest.raises(TypeError, match="IntegerLookup .*expected integers"):
        IntegerLookup(vocabulary=INT_VOCAB)(["a"])


def test_string_lookup_adapt_tf_idf_documents():
    layer = StringLookup(output_mode="tf_idf")
    docs = [["a", "b", "a"], ["b", "c", "c"]]
    layer.adapt(docs)  # each row one document
    vocab = layer.get_vocabulary()
    assert vocab == ["[UNK]", "c", "b", "a"]
    idf = np.array([math.log(1 + 2 / (1 + df)) for df in (1, 2, 1)], np.float32)
    weights = np.concatenate([[idf.mean()], idf])
    np.testing.assert_allclose(values(layer([["a", "a", "q"]])), [[1, 0, 0, 2] * weights])


# -- pipelines and training ----------------------------------------------------------------
def test_adapt_iterable_of_batches_with_steps_and_map_style_use():
    def batches():
        yield ["one two", "two"]
        yield np.array(["three"])
        yield ["never read"]

    layer = TextVectorization(output_sequence_length=3)
    layer.adapt(batches(), steps=2)
    assert layer.get_vocabulary() == ["", "[UNK]", "two", "three", "one"]
    reference = TextVectorization(output_sequence_length=3)
    reference.adapt(["one two", "two", "three"], batch_size=2)
    assert reference.get_vocabulary() == layer.get_vocabulary()

    def map_fn(x, y):  # what a data pipeline's map does with each batch
        return layer(x), y

    mapped = [map_fn(np.array(x), np.array(y)) for x, y in [(["one", "two x"], [0, 1])]]
    np.testing.assert_array_equal(values(mapped[0][0]), [[4, 0, 0], [2, 1, 0]])


def _sentences(rng, n):
    good = ["good", "great", "excellent", "wonderful", "loved"]
    bad = ["bad", "awful", "terrible", "boring", "hated"]
    filler = ["the", "movie", "was", "a", "film", "plot", "really", "quite", "this", "and"]
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = list(rng.choice(filler, 6)) + list(rng.choice(good if label else bad, 2))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + "!")
    return texts, labels.astype("float32")


def test_text_classification_with_fit():
    rng = np.random.default_rng(0)
    texts, y = _sentences(rng, 512)
    test_texts, test_y = _sentences(rng, 128)
    vectorizer = TextVectorization(max_tokens=40, output_mode="int", output_sequence_length=12)
    vectorizer.adapt(texts)
    x = vectorizer(texts)
    assert x.shape == (512, 12) and x.dtype == np.int64
    wg.random.set_seed(0)
    model = wg.Sequential(
        [
            layers.Input((12,), dtype="int64"),
            layers.Embedding(40, 16),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=wg.optimizers.Adam(learning_rate=0.02),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = np.asarray(model.predict(vectorizer(test_texts), verbose=0))[:, 0]
    assert np.mean((predictions > 0.5) == test_y) > 0.9


def test_calling_on_a_model_input_says_to_apply_it_before_the_model():
    inputs = wg.Input((1,))
    for layer in (TextVectorization(), StringLookup(vocabulary=VOCAB), IntegerLookup()):
        with pytest.raises(TypeError, match="before the model"):
            layer(inputs)


# -- configs ---------------------------------------------------------------------------------
def test_text_vectorization_config_round_trip_keeps_adapted_vocabulary():
    layer = TextVectorization(max_tokens=10, ngrams=(1, 2), output_sequence_length=5)
    layer.adapt(["red fish blue fish", "one fish"])
    config = json.loads(json.dumps(layer.get_config()))
    assert config["vocabulary"] == layer.get_vocabulary()
    clone = TextVectorization.from_config(config)
    assert clone.get_vocabulary() == layer.get_vocabulary()
    assert json.loads(json.dumps(clone.get_config())) == config
    np.testing.assert_array_equal(values(clone(["one red fish"])), values(layer(["one red fish"])))
    clone.adapt(["adapt again"])  # adapted, not given a vocabulary: still adaptable
    assert clone.get_vocabulary() == ["", "[UNK]", "again", "adapt again", "adapt"]


def test_tf_idf_and_lookup_configs_round_trip():
    layer = TextVectorization(output_mode="tf_idf", pad_to_max_tokens=True, max_tokens=9)
    layer.adapt(["x y", "y z z"])
    clone = TextVectorization.from_config(json.loads(json.dumps(layer.get_config())))
    np.testing.assert_allclose(values(clone(["z x q"])), values(layer(["z x q"])))
    for lookup in (
        StringLookup(vocabulary=VOCAB, num_oov_indices=2, mask_token="", invert=False),
        StringLookup(vocabulary=VOCAB, invert=True),
        IntegerLookup(vocabulary=INT_VOCAB, mask_token=0, output_mode="count"),
    ):
        config = json.loads(json.dumps(lookup.get_config()))
        clone = type(lookup).from_config(config)
        assert clone.get_vocabulary() == lookup.get_vocabulary()
        assert clone.get_config() == config


def test_callable_standardize_survives_from_config():
    def upper(s):
        return s.upper()

    layer = TextVectorization(standardize=upper, vocabulary=["HI"])
    clone = TextVectorization.from_config(layer.get_config())
    np.testing.assert_array_equal(values(clone(["hi"])), [[2]])


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"output_mode": "bag"}, ValueError, "TextVectorization .*output_mode must be one of"),
        ({"standardize": "upper"}, ValueError, "TextVectorization .*standardize must be"),
        ({"split": "comma"}, ValueError, "TextVectorization .*split must be"),
        ({"ngrams": 0}, ValueError, "ngrams must be"),
        ({"ngrams": [1, "2"]}, ValueError, "ngrams must be"),
        ({"sparse": True, "output_mode": "count"}, NotImplementedError, "sparse=True"),
        ({"ragged": True}, NotImplementedError, "ragged=True"),
        (
            {"output_mode": "count", "output_sequence_length": 3},
            ValueError,
            "output_sequence_length is used only with output_mode='int'",
        ),
        ({"output_sequence_length": -1}, ValueError, "output_sequence_length must be"),
        ({"max_tokens": 1}, ValueError, "TextVectorization .*max_tokens must be"),
        ({"pad_to_max_tokens": True, "output_mode": "count"}, ValueError, "needs max_tokens"),
        ({"output_mode": "one_hot"}, ValueError, "one_hot.*split=None"),
        (
            {"output_mode": "tf_idf", "vocabulary": ["a"]},
            ValueError,
            "idf_weights must be given",
        ),
        ({"vocabulary": ["a", "a"]}, ValueError, "repeats terms"),
        ({"vocabulary": ["a", "", "b"]}, ValueError, "mask token"),
        ({"vocabulary": ["a", "b", "c"], "max_tokens": 4}, ValueError, "more than max_tokens"),
        ({"vocabulary": "/no/such/vocab.txt"}, ValueError, "does not exist"),
        ({"vocabulary": []}, ValueError, "empty vocabulary"),
    ],
)
def test_text_vectorization_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        TextVectorization(**kwargs)


def test_lookup_argument_errors():
    with pytest.raises(ValueError, match="StringLookup .*invert=True needs output_mode='int'"):
        StringLookup(vocabulary=VOCAB, invert=True, output_mode="multi_hot")
    with pytest.raises(NotImplementedError, match="StringLookup .*sparse=True"):
        StringLookup(sparse=True, output_mode="count")
    with pytest.raises(ValueError, match="IntegerLookup .*output_mode must be one of"):
        IntegerLookup(output_mode="ints")
    with pytest.raises(ValueError, match="num_oov_indices must be"):
        StringLookup(num_oov_indices=-1)
    with pytest.raises(ValueError, match="idf_weights is used only with output_mode='tf_idf'"):
        StringLookup(vocabulary=VOCAB, idf_weights=[1.0] * 4)
    with pytest.raises(ValueError, match="as long as the vocabulary"):
        StringLookup(output_mode="tf_idf", vocabulary=VOCAB, idf_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="vocabulary_dtype"):
        IntegerLookup(vocabulary_dtype="int32")
    with pytest.raises(TypeError, match="mask_token must be a string"):
        StringLookup(mask_token=0)
    with pytest.raises(ValueError, match="OOV token"):
        StringLookup(vocabulary=["a", "[UNK]"], invert=True)


def test_adapt_and_call_errors():
    layer = TextVectorization()
    with pytest.raises(ValueError, match="TextVectorization .*adapt\\(\\) found no tokens"):
        layer.adapt([])
    with pytest.raises(ValueError, match="found no tokens"):
        layer.adapt(iter([]))
    with pytest.raises(ValueError, match="found no tokens"):
        StringLookup().adapt(np.array([], dtype=str))
    with pytest.raises(ValueError, match="cannot adapt a layer given a vocabulary"):
        TextVectorization(vocabulary=["a"]).adapt(["a b"])
    with pytest.raises(TypeError, match="TextVectorization .*expected strings.*wengert Tensor"):
        layer(wg.constant([1.0, 2.0]))
    with pytest.raises(TypeError, match="expected strings, got an element of type int"):
        layer(["a", 3])
    with pytest.raises(TypeError, match="adapt\\(\\) takes"):
        layer.adapt(42)
    with pytest.raises(ValueError, match="last axis of size 1"):
        layer([["a", "b"]])
    with pytest.raises(ValueError, match="rectangular"):
        StringLookup(vocabulary=VOCAB)([["a", "b"], ["c"]])
    with pytest.raises(RuntimeError, match="vocabulary must be set before calling"):
        TextVectorization(output_mode="multi_hot")(["a"])
    with pytest.raises(TypeError, match="split callable must return a list of str"):
        TextVectorization(split=lambda s: s, vocabulary=["a"])(["a"])
    with pytest.raises(TypeError, match="call takes the inputs only"):
        layer(["a"], mask=None)


# -- review fixes ----------------------------------------------------------------------------
def test_split_callable_may_return_a_generator_or_map():
    def tokens(s):
        return (w for w in s.split())

    layer = TextVectorization(split=tokens, vocabulary=["cat", "sat"])
    np.testing.assert_array_equal(values(layer(["the cat sat"])), [[1, 2, 3]])
    mapped = TextVectorization(split=lambda s: map(str.strip, s.split("|")), standardize=None)
    mapped.adapt(["a | b", "b | c"])
    assert mapped.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]
    for bad in (lambda s: s, lambda s: s.encode(), lambda s: 3, lambda s: iter([1, 2])):
        with pytest.raises(TypeError, match="split callable must return a list of str"):
            TextVectorization(split=bad, vocabulary=["a"])(["a"])


def _direct_counts(ids, depth):
    """(rows, depth) float64 counts of the ids >= 0 of each row, with np.add.at."""
    ids = np.asarray(ids).reshape(-1, np.shape(ids)[-1])
    out = np.zeros((ids.shape[0], depth))
    r, c = np.nonzero(ids >= 0)
    np.add.at(out, (r, ids[r, c]), 1.0)
    return out


@pytest.mark.parametrize("depth", [5, 4001])  # the dense (bincount) and sparse paths
@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_encodings_match_add_at_on_both_paths(depth, mode):
    rng = np.random.default_rng(depth)
    vocab = [f"w{i}" for i in range(depth - 1)]
    idf = rng.uniform(0.5, 2.0, depth - 1)
    kwargs = {"idf_weights": idf} if mode == "tf_idf" else {}
    layer = StringLookup(vocabulary=vocab, output_mode=mode, mask_token="", **kwargs)
    words = np.array(vocab + ["", "oov"], dtype=object)  # "" (mask) is dropped
    x = words[rng.integers(0, len(words), (2, 3, 7))]
    ids = np.array([[[layer._table.get(t, 0) for t in row] for row in m] for m in x])
    direct = _direct_counts(ids, depth).reshape(2, 3, depth)
    if mode == "multi_hot":
        direct = direct > 0
    elif mode == "tf_idf":
        direct = direct * np.concatenate([[idf.mean()], idf])
    out = layer(x)
    assert out.dtype == np.float32 and out.shape == (2, 3, depth)
    np.testing.assert_allclose(values(out), direct, rtol=1e-6)
    one = StringLookup(vocabulary=vocab, output_mode="one_hot", dtype="float64")
    hot = one(np.array(["w1", "oov", "w0"]))
    assert hot.dtype == np.float64
    np.testing.assert_array_equal(values(hot), np.eye(depth)[[2, 0, 1]])


def test_encoding_keeps_the_layer_dtype_and_empty_rows():
    layer = TextVectorization(output_mode="count", vocabulary=["a", "b"], dtype="float64")
    out = layer(["a a b", "", "c"])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(values(out), [[0, 2, 1], [0, 0, 0], [1, 0, 0]])
    empty = TextVectorization(output_mode="multi_hot", vocabulary=["a"])([""])
    np.testing.assert_array_equal(values(empty), [[0, 0]])


def test_models_and_tensors_get_the_apply_before_the_model_message():
    tv = TextVectorization(output_sequence_length=4, vocabulary=["the", "cat"])
    with pytest.raises(TypeError, match="cannot be part of a model.*before the model"):
        tv(wg.constant([1.0]))
    with pytest.raises(TypeError, match="before the model"):  # a Sequential builds on zeros
        wg.Sequential([layers.Input((1,)), tv, layers.Embedding(10, 3)])
    assert TextVectorization._string_inputs and StringLookup._string_inputs
    assert not IntegerLookup._string_inputs
    with pytest.raises(TypeError, match="IntegerLookup .*Python table.*before the model") as e:
        IntegerLookup(vocabulary=[1, 2])(wg.Input((1,), dtype="int64"))
    assert "string" not in str(e.value)


def test_vocabulary_file_lines_end_at_newline_only(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("a\u2028b\nc\x85d\ne\x0cf\r\ng\x1ch\n\n\n".encode())
    assert StringLookup(vocabulary=str(path)).get_vocabulary() == [
        "[UNK]",
        "a\u2028b",
        "c\x85d",
        "e\x0cf",
        "g\x1ch",
    ]
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"x\r\ny\rz\r\n\r\n")  # a lone \r stays inside its term
    assert StringLookup(vocabulary=crlf).get_vocabulary() == ["[UNK]", "x", "y\rz"]
    ints = tmp_path / "ints.txt"
    ints.write_bytes(b"7\r\n3\r\n")
    assert IntegerLookup(vocabulary=str(ints)).get_vocabulary() == [-1, 7, 3]


def test_oov_buckets_hash_utf8_whatever_the_encoding():
    layer = StringLookup(vocabulary=["a"], num_oov_indices=5, encoding="latin-1")
    oov = ["café", "日本", "x"]
    expected = [fingerprint64(t.encode("utf-8")) % 5 for t in oov]
    np.testing.assert_array_equal(values(layer(oov)), expected)
    # `encoding` decodes bytes inputs and bytes vocabularies
    np.testing.assert_array_equal(values(layer([b"caf\xe9"])), expected[:1])
    latin = StringLookup(vocabulary=[b"caf\xe9", "日本"], encoding="latin-1")
    assert latin.get_vocabulary() == ["[UNK]", "café", "日本"]
    np.testing.assert_array_equal(values(latin(["café", b"caf\xe9", "日本"])), [1, 1, 2])
    tv = TextVectorization(split=None, standardize=None, encoding="latin-1", vocabulary=["é"])
    np.testing.assert_array_equal(values(tv([b"\xe9", "é"])), [2, 2])


def test_undecodable_bytes_name_the_layer(tmp_path):
    tv = TextVectorization(name="tv")
    with pytest.raises(UnicodeDecodeError, match="TextVectorization 'tv': could not decode") as e:
        tv([b"caf\xe9"])
    assert isinstance(e.value, ValueError) and "encoding='utf-8'" in str(e.value)
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is type(e.value) and str(again) == str(e.value)
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9\n")
    with pytest.raises(ValueError, match="StringLookup 'sl': could not decode the vocabulary"):
        StringLookup(vocabulary=str(path), name="sl")
    assert StringLookup(vocabulary=str(path), encoding="latin-1").get_vocabulary()[1] == "café"
    with pytest.raises(UnicodeDecodeError, match="could not decode.*encoding='utf-8'"):
        StringLookup(vocabulary=[b"\xff"])
    with pytest.raises(ValueError, match="unknown encoding 'no-such-codec'"):
        StringLookup(encoding="no-such-codec")
    with pytest.raises(ValueError, match="TextVectorization .*unknown encoding"):
        TextVectorization(encoding="no-such-codec")


def test_salt_is_refused():
    with pytest.raises(NotImplementedError, match="salt=1 is not supported.*SipHash salt"):
        StringLookup(num_oov_indices=2, salt=1)
    with pytest.raises(NotImplementedError, match="SipHash"):
        IntegerLookup(salt=(1, 2))
    assert StringLookup(salt=None).num_oov_indices == 1


def test_integer_lookup_refuses_values_outside_int64(tmp_path):
    with pytest.raises(ValueError, match="vocabulary term 1180591620717411303424 is outside"):
        IntegerLookup(vocabulary=[2**70])
    path = tmp_path / "big.txt"
    path.write_text(f"1\n{2**63}\n")
    with pytest.raises(ValueError, match="outside int64"):
        IntegerLookup(vocabulary=str(path))
    with pytest.raises(ValueError, match="mask_token .*outside int64"):
        IntegerLookup(mask_token=2**64)
    layer = IntegerLookup(vocabulary=[-(2**63), 2**63 - 1, 5])
    for bad in (
        np.array([2**63], dtype=np.uint64),
        [2**70],
        [-(2**63) - 1, 1],
        np.array([1e19]),
        np.array([-1e19]),
    ):
        with pytest.raises(ValueError, match="IntegerLookup .*input value .*outside int64"):
            layer(bad)
    np.testing.assert_array_equal(
        values(layer(np.array([2**63 - 1, 5, 6], dtype=np.uint64))), [2, 3, 0]
    )
    np.testing.assert_array_equal(values(layer([-(2**63), 2**63 - 1])), [1, 2])
    with pytest.raises(TypeError, match="expected integers"):
        layer(["a"])


@pytest.mark.parametrize("cls", [TextVectorization, StringLookup, IntegerLookup])
def test_from_config_refuses_a_vocabulary_file_unless_safe_mode_is_off(tmp_path, cls):
    path = tmp_path / "vocab.txt"
    path.write_text("7\n3\n")
    direct = cls(vocabulary=str(path))  # direct construction reads the file
    assert direct.get_vocabulary()[-2:] in (["7", "3"], [7, 3])
    config = direct.get_config()
    assert isinstance(config["vocabulary"], list)  # get_config stores the terms, no path
    assert cls.from_config(config).get_vocabulary() == direct.get_vocabulary()
    config = {**config, "vocabulary": str(path)}
    with pytest.raises(ValueError, match=f"{cls.__name__}.from_config: .*file path.*safe_mode"):
        cls.from_config(config)
    with pytest.raises(ValueError, match="safe_mode"):
        cls.from_config({**config, "vocabulary": path})
    assert cls.from_config(config, safe_mode=False).get_vocabulary() == direct.get_vocabulary()


def test_string_inputs_and_string_layers_in_models_are_refused_with_guidance():
    import wengert as wg

    for dtype in ("string", str, "str", object):
        with pytest.raises(TypeError, match=r"Input: dtype=.*no string Tensors.*before the model"):
            wg.layers.Input((1,), dtype=dtype)
    vectorizer = wg.layers.TextVectorization(vocabulary=["cat"])
    with pytest.raises(TypeError, match=r"Sequential.add: TextVectorization .* takes strings"):
        wg.Sequential([vectorizer, wg.layers.Embedding(10, 3)])
    lookup = wg.layers.IntegerLookup(vocabulary=[3, 5])
    model = wg.Sequential([wg.layers.Input((2,), dtype="int64"), lookup])
    assert model(np.array([[3, 7]])).numpy().tolist() == [[1, 0]]
