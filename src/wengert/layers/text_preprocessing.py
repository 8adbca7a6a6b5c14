"""Keras 3's text preprocessing layers: TextVectorization, StringLookup and IntegerLookup.

wengert's Tensors hold numbers only, so these layers take their strings as Python
strings, (nested) lists of strings or NumPy string/object arrays, and return wengert
Tensors: int64 token indices (``output_mode="int"``) or float32 encodings
(``"one_hot"``, ``"multi_hot"``, ``"count"``, ``"tf_idf"``).  For the same reason they
cannot sit inside a functional model on a ``wg.Input`` (there are no string Tensors):
apply them to the data before the model, as Keras recommends for every backend but
TensorFlow::

    vectorizer = TextVectorization(max_tokens=20000, output_sequence_length=200)
    vectorizer.adapt(train_texts)
    model.fit(vectorizer(train_texts), y_train)

(or inside a data pipeline's ``map``).  Calling one on a symbolic model value raises a
TypeError that says so.

The vocabulary follows Keras's ``IndexLookup`` exactly: ``adapt`` counts tokens, then
orders them by count, most frequent first, ties broken by the tokens themselves in
*descending* order (``np.lexsort((tokens, counts))[::-1]``); the mask token (int mode)
and the OOV token(s) come first.  With several OOV indices a string goes to bucket
``Fingerprint64(utf8) % num_oov_indices`` (FarmHash's fingerprint, TensorFlow's
``to_hash_bucket_fast``, written out below in pure Python) and an integer to
``token % num_oov_indices``.  TF-IDF weights are ``log(1 + documents / (1 +
documents_with_token))``, the OOV slots getting the mean weight.

A vocabulary may be a file's path when a layer is constructed, but ``from_config`` refuses
a config that names one unless called with ``safe_mode=False`` (Keras refuses it in safe
mode too): a config, such as a saved model's, should not read files.  ``get_config`` stores
the terms themselves, so saved models never need it.

Example:
    >>> from wengert.layers.text_preprocessing import TextVectorization
    >>> vectorizer = TextVectorization(output_sequence_length=4)
    >>> vectorizer.adapt(["foo bar", "bar baz", "baz bada boom"])
    >>> vectorizer([["foo qux bar"], ["qux baz"]]).numpy()
    array([[4, 1, 3, 0],
           [1, 2, 0, 0]])
"""

from __future__ import annotations

import codecs
import collections
import itertools
import math
import numbers
import os
import re

from ..backend import xp
from ..tensor import Tensor, wrap
from .base import Layer, _is_symbolic

__all__ = ["TextVectorization", "StringLookup", "IntegerLookup"]

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# Keras's punctuation class, verbatim (tf.strings.regex_replace in TextVectorization).
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# tf.strings.split(sep=None) splits on ASCII whitespace only (absl::ascii_isspace).
_NOT_SPACE = re.compile(r"[^ \t\n\v\f\r]+")
# tf.strings.lower without an encoding lowercases ASCII letters only.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DROPPED = -2  # a mask token outside int mode: counted nowhere


_BEFORE_THE_MODEL = (
    "Apply it to the data before the model instead, e.g. `x = layer(texts)` then "
    "`model.fit(x, y)` (or in a data pipeline's map)."
)


def _symbolic_error(layer) -> TypeError:
    where = f"{type(layer).__name__} '{layer.name}' was called on a symbolic model value"
    if isinstance(layer, IntegerLookup):
        return TypeError(
            f"{where} (wg.Input or a layer's output): IntegerLookup looks its integers up "
            "eagerly in a Python table, so it cannot be recorded into a functional model. "
            "Apply it to the data before the model instead, e.g. `x = layer(ids)` then "
            "`model.fit(x, y)` (or in a data pipeline's map)."
        )
    return TypeError(
        f"{where} (wg.Input or a layer's output): wengert has no string Tensors, so this "
        f"layer cannot be part of a model. {_BEFORE_THE_MODEL}"
    )


class TextDecodeError(UnicodeDecodeError):
    """A UnicodeDecodeError (so also a ValueError) whose message names the layer, what it
    was decoding and the encoding."""

    def __init__(self, where: str, what: str, encoding: str, exc: UnicodeDecodeError):
        super().__init__(exc.encoding, exc.object, exc.start, exc.end, exc.reason)
        self._parts = (where, what, encoding)
        self.message = (
            f"{where}: could not decode {what} with encoding={encoding!r} "
            f"({exc.reason} at byte {exc.start}: {exc.object[exc.start : exc.end]!r}); "
            "set the layer's `encoding` to the one the data is written in"
        )

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        cause = UnicodeDecodeError(self.encoding, self.object, self.start, self.end, self.reason)
        return type(self), (*self._parts, cause)


def _decode(where: str, data: bytes, encoding: str, what: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TextDecodeError(where, what, encoding, exc) from None


def _check_encoding(where: str, encoding) -> str:
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(f"{where}: unknown encoding {encoding!r}") from None
    return encoding


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _int64_range_error(where: str, what: str, value) -> ValueError:
    return ValueError(
        f"{where}: {what} {value!r} is outside int64 [-2**63, 2**63 - 1]; IntegerLookup "
        "keeps int64 tokens (Keras's vocabulary_dtype), so it cannot look it up"
    )


# -- FarmHash Fingerprint64 (farmhashna::Hash64), as tf.strings.to_hash_bucket_fast ----------
_M64 = (1 << 64) - 1
_K0 = 0xC3A5C85C97CB3127
_K1 = 0xB492B66FBE98F273
_K2 = 0x9AE16A3B2F90404F


def _rot(v: int, s: int) -> int:
    return ((v >> s) | (v << (64 - s))) & _M64


def _f64(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 8], "little")


def _f32(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 4], "little")


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash16(u: int, v: int, mul: int) -> int:
    a = _mix(((u ^ v) * mul) & _M64)
    b = _mix(((v ^ a) * mul) & _M64)
    return (b * mul) & _M64


def _weak32(b: bytes, i: int, a: int, c: int) -> tuple:
    w, x, y, z = _f64(b, i), _f64(b, i + 8), _f64(b, i + 16), _f64(b, i + 24)
    a = (a + w) & _M64
    c = _rot((c + a + z) & _M64, 21)
    first = a
    a = (a + x + y) & _M64
    c = (c + _rot(a, 44)) & _M64
    return (a + z) & _M64, (c + first) & _M64


def fingerprint64(data: bytes) -> int:
    """FarmHash's Fingerprint64 of ``data`` (TensorFlow's string fingerprint), an unsigned
    64-bit int: the hash that assigns out-of-vocabulary strings to OOV buckets.

    Example:
        >>> [fingerprint64(s.encode()) % 3 for s in ["Hello", "TensorFlow", "2.x"]]
        [0, 2, 2]
    """
    s, n = bytes(data), len(data)
    if n <= 16:
        mul = _K2 + 2 * n
        if n >= 8:
            a = (_f64(s, 0) + _K2) & _M64
            b = _f64(s, n - 8)
            c = (_rot(b, 37) * mul + a) & _M64
            d = ((_rot(a, 25) + b) * mul) & _M64
            return _hash16(c, d, mul)
        if n >= 4:
            return _hash16(n + (_f32(s, 0) << 3), _f32(s, n - 4), mul)
        if n > 0:
            y = s[0] + (s[n >> 1] << 8)
            z = n + (s[n - 1] << 2)
            return (_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
        return _K2
    mul = _K2 + 2 * n
    if n <= 32:
        a = (_f64(s, 0) * _K1) & _M64
        b = _f64(s, 8)
        c = (_f64(s, n - 8) * mul) & _M64
        d = (_f64(s, n - 16) * _K2) & _M64
        return _hash16(
            (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
            (a + _rot((b + _K2) & _M64, 18) + c) & _M64,
            mul,
        )
    if n <= 64:
        a = (_f64(s, 0) * _K2) & _M64
        b = _f64(s, 8)
        c = (_f64(s, n - 8) * mul) & _M64
        d = (_f64(s, n - 16) * _K2) & _M64
        y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
        z = _hash16(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
        e = (_f64(s, 16) * mul) & _M64
        f = _f64(s, 24)
        g = ((y + _f64(s, n - 32)) * mul) & _M64
        h = ((z + _f64(s, n - 24)) * mul) & _M64
        return _hash16(
            (_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
            (e + _rot((f + a) & _M64, 18) + g) & _M64,
            mul,
        )
    # Longer inputs: 64-byte blocks through a 56-byte state, then the last 64 bytes.
    seed = 81
    x = seed
    y = (seed * _K1 + 113) & _M64
    z = (_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v0 = v1 = w0 = w1 = 0
    x = (x * _K2 + _f64(s, 0)) & _M64
    end = ((n - 1) // 64) * 64
    last64 = n - 64
    i = 0
    while True:
        x = (_rot((x + y + v0 + _f64(s, i + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v1 + _f64(s, i + 48)) & _M64, 42) * _K1) & _M64
        x ^= w1
        y = (y + v0 + _f64(s, i + 40)) & _M64
        z = (_rot((z + w0) & _M64, 33) * _K1) & _M64
        v0, v1 = _weak32(s, i, (v1 * _K1) & _M64, (x + w0) & _M64)
        w0, w1 = _weak32(s, i + 32, (z + w1) & _M64, (y + _f64(s, i + 16)) & _M64)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = _K1 + ((z & 0xFF) << 1)
    i = last64
    w0 = (w0 + ((n - 1) & 63)) & _M64
    v0 = (v0 + w0) & _M64
    w0 = (w0 + v0) & _M64
    x = (_rot((x + y + v0 + _f64(s, i + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v1 + _f64(s, i + 48)) & _M64, 42) * mul) & _M64
    x ^= (w1 * 9) & _M64
    y = (y + v0 * 9 + _f64(s, i + 40)) & _M64
    z = (_rot((z + w0) & _M64, 33) * mul) & _M64
    v0, v1 = _weak32(s, i, (v1 * mul) & _M64, (x + w0) & _M64)
    w0, w1 = _weak32(s, i + 32, (z + w1) & _M64, (y + _f64(s, i + 16)) & _M64)
    z, x = x, z
    return _hash16(
        (_hash16(v0, w0, mul) + _mix(y) * _K0 + z) & _M64,
        (_hash16(v1, w1, mul) + x) & _M64,
        mul,
    )


# -- converting inputs -------------------------------------------------------------------------
def _object_array(value):
    """``value`` (a string, a nested list, an array) as a NumPy object array."""
    if isinstance(value, (str, bytes)):
        out = xp.empty((), dtype=object)
        out[()] = value
        return out
    if isinstance(value, xp.ndarray):
        return value.astype(object)
    return xp.asarray(value, dtype=object)


def _as_strings(where: str, value, encoding: str):
    """``value`` as an object array of Python str (bytes decoded with ``encoding``)."""
    if isinstance(value, Tensor) and value._value.dtype.kind in "USO":
        value = value._value  # strings from a data pipeline (wg.data.Dataset.map)
    elif isinstance(value, Tensor):
        # Most often a model's doing: a Sequential converts its inputs to Tensors (and
        # builds on zeros) before its first layer sees them.
        raise TypeError(
            f"{where}: expected strings (a str, a list of str or a NumPy string array), got a "
            f"wengert Tensor of dtype {value.dtype}; wengert Tensors hold numbers only, so "
            f"this layer cannot be part of a model (a Sequential included). {_BEFORE_THE_MODEL}"
        )
    arr = _object_array(value)
    flat = arr.reshape(-1).tolist()
    for k, item in enumerate(flat):
        if isinstance(item, str):
            continue
        if isinstance(item, bytes):
            flat[k] = _decode(where, item, encoding, f"the bytes input {item!r:.60}")
        elif isinstance(item, (list, tuple)):
            raise ValueError(
                f"{where}: expected a rectangular array of strings, got nested lists of "
                "different lengths"
            )
        else:
            raise TypeError(
                f"{where}: expected strings, got an element of type {type(item).__name__} "
                f"({item!r})"
            )
    out = xp.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


def _as_integers(where: str, value):
    """``value`` (a number, list, array or Tensor) as an int64 array; values outside int64
    raise ValueError rather than wrap around."""
    arr = value._value if isinstance(value, Tensor) else xp.asarray(value)
    kind = arr.dtype.kind
    if kind == "i":
        return arr.astype("int64")
    if kind == "u":
        if arr.size and int(arr.max()) > _INT64_MAX:
            raise _int64_range_error(where, "the input value", int(arr.max()))
        return arr.astype("int64")
    if kind == "f" and bool(xp.all(xp.isfinite(arr) & (arr == xp.round(arr)))):
        # 2**63 is the first float beyond int64 (int64's largest value rounds up to it)
        bad = (arr < -(2.0**63)) | (arr >= 2.0**63)
        if bad.any():
            raise _int64_range_error(where, "the input value", arr[bad].reshape(-1)[0].item())
        return arr.astype("int64")
    if kind == "O":  # Python ints beyond int64 (or of mixed signs beyond it)
        flat = arr.reshape(-1).tolist()
        if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in flat):
            for v in flat:
                if not _INT64_MIN <= v <= _INT64_MAX:
                    raise _int64_range_error(where, "the input value", v)
            return xp.asarray(flat, dtype="int64").reshape(arr.shape)
    raise TypeError(
        f"{where}: expected integers (a list, NumPy array or Tensor of ints), got dtype {arr.dtype}"
    )


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _pad_rows(flat, lengths, width, fill):
    """Rows of ``lengths`` (their values one after another in ``flat``) as one
    (len(lengths), width) int64 array, each truncated or padded at the end with ``fill``
    (``width`` None: the longest row's length)."""
    lengths = xp.asarray(lengths, dtype="int64")
    if width is None:
        width = int(lengths.max()) if len(lengths) else 0
    out = xp.full((len(lengths), width), fill, dtype="int64")
    row = xp.repeat(xp.arange(len(lengths)), lengths)
    starts = xp.cumsum(lengths) - lengths
    column = xp.arange(len(row)) - xp.repeat(starts, lengths)
    keep = column < width
    out[row[keep], column[keep]] = xp.asarray(flat, dtype="int64")[keep]
    return out


def _refuse_vocabulary_file(cls, config: dict, safe_mode: bool) -> None:
    """Refuse a config whose vocabulary is a file path unless ``safe_mode`` is False."""
    vocabulary = config.get("vocabulary")
    if safe_mode and isinstance(vocabulary, (str, os.PathLike)):
        raise ValueError(
            f"{cls.__name__}.from_config: the config's vocabulary is a file path "
            f"({os.fspath(vocabulary)!r}); a config (e.g. from a saved model) that names a "
            "file could read any file on this machine, so it is refused, as Keras refuses "
            "it in safe_mode. If you trust the config, call "
            f"{cls.__name__}.from_config(config, safe_mode=False), or construct the layer "
            "with vocabulary=path yourself (get_config and Model.save store the vocabulary "
            "itself, never a path)."
        )


class _IndexLookup(Layer):
    """Keras's IndexLookup: the vocabulary, ``adapt``, and the lookup shared by StringLookup,
    IntegerLookup and TextVectorization.  Not public; see the subclasses."""

    _strings = True  # StringLookup; IntegerLookup sets False
    # wengert has no string Tensors: a model (Sequential.add) may refuse a layer that sets
    # this, rather than fail later converting the strings it is given to a Tensor
    _string_inputs = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=None,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        oov_method="floormod",
        **kwargs,
    ):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)  # Keras's frozen size; the vocabulary gives it
        self._owner = kwargs.pop("_owner", None)
        salt = kwargs.pop("salt", None)
        super().__init__(**kwargs)
        where = self._where()
        if salt is not None:
            raise NotImplementedError(
                f"{where}: salt={salt!r} is not supported (Keras's SipHash salt, "
                "tf.strings.to_hash_bucket_strong); OOV strings go to buckets by FarmHash "
                "Fingerprint64 as with salt=None"
            )
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"{where}: output_mode must be one of {_OUTPUT_MODES}, got {output_mode!r}"
            )
        if sparse:
            raise NotImplementedError(
                f"{where}: sparse=True is not supported (wengert has no sparse tensors); "
                "use sparse=False for a dense output"
            )
        if max_tokens is not None and (
            not isinstance(max_tokens, numbers.Integral)
            or isinstance(max_tokens, bool)
            or max_tokens <= 1
        ):
            raise ValueError(
                f"{where}: max_tokens must be None or an integer greater than 1, got {max_tokens!r}"
            )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{where}: pad_to_max_tokens=True needs max_tokens to be set")
        if (
            not isinstance(num_oov_indices, numbers.Integral)
            or isinstance(num_oov_indices, bool)
            or num_oov_indices < 0
        ):
            raise ValueError(
                f"{where}: num_oov_indices must be an integer >= 0, got {num_oov_indices!r}"
            )
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f"{where}: oov_method must be 'floormod' or 'farmhash', got {oov_method!r}"
            )
        if invert and output_mode != "int":
            raise ValueError(
                f"{where}: invert=True needs output_mode='int' (it maps indices back to "
                f"tokens), got output_mode={output_mode!r}"
            )
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                f"{where}: idf_weights is used only with output_mode='tf_idf', got "
                f"output_mode={output_mode!r}"
            )
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ValueError(
                f"{where}: with a vocabulary and output_mode='tf_idf', idf_weights must be "
                "given too (one weight per vocabulary term)"
            )
        if idf_weights is not None and vocabulary is None:
            raise ValueError(
                f"{where}: idf_weights needs the vocabulary it weighs; pass vocabulary= too, "
                "or call set_vocabulary(vocabulary, idf_weights)"
            )
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.sparse = False
        self.oov_method = oov_method
        self._has_input_vocabulary = bool(has_input_vocabulary)
        self._set_tokens([])
        self._idf = None
        self._reset_counts()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- helpers -------------------------------------------------------------------------
    def _where(self) -> str:
        layer = self._owner if self._owner is not None else self
        return f"{type(layer).__name__} '{layer.name}'"

    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _special_tokens(self) -> list:
        return [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices

    def _convert(self, value):
        if self._strings:
            return _as_strings(self._where(), value, self._text_encoding())
        return _as_integers(self._where(), value)

    def _convert_vocabulary(self, vocabulary) -> list:
        where = self._where()
        if isinstance(vocabulary, (str, os.PathLike)):
            return self._read_vocabulary_file(os.fspath(vocabulary))
        if self._strings:
            return _as_strings(where, vocabulary, self._text_encoding()).reshape(-1).tolist()
        if isinstance(vocabulary, Tensor):
            vocabulary = vocabulary._value
        items = xp.asarray(vocabulary, dtype=object).reshape(-1).tolist()
        out = []
        for item in items:  # -1 (an OOV token) may lead the list
            if isinstance(item, bool) or not isinstance(item, numbers.Integral):
                raise TypeError(f"{where}: the vocabulary must hold integers, got {item!r}")
            if not _INT64_MIN <= item <= _INT64_MAX:
                raise _int64_range_error(where, "the vocabulary term", int(item))
            out.append(int(item))
        return out

    def _text_encoding(self) -> str:
        return getattr(self, "encoding", "utf-8")

    def _read_vocabulary_file(self, path: str) -> list:
        r"""The terms of a vocabulary file, one a line.  As TF's TextFileInitializer, lines
        end at "\n" only (a trailing "\r" is dropped), not at every separator that
        str.splitlines knows (\x0b, \x0c, \x1c-\x1e, \x85, \u2028, \u2029)."""
        where = self._where()
        if not os.path.isfile(path):
            raise ValueError(f"{where}: vocabulary file {path!r} does not exist")
        if self.output_mode == "tf_idf":
            raise ValueError(
                f"{where}: output_mode='tf_idf' does not support loading a vocabulary "
                "from a file; pass the vocabulary as a list with its idf_weights"
            )
        with open(path, "rb") as f:
            data = f.read()
        encoding = self._text_encoding() if self._strings else "utf-8"
        text = _decode(where, data, encoding, f"the vocabulary file {path!r}")
        lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
        while lines and lines[-1] == "":
            lines.pop()
        if self._strings:
            return lines
        try:
            terms = [int(line) for line in lines]
        except ValueError as e:
            raise ValueError(
                f"{where}: vocabulary file {path!r} must hold one integer a line"
            ) from e
        for term in terms:
            if not _INT64_MIN <= term <= _INT64_MAX:
                raise _int64_range_error(where, "the vocabulary term", term)
        return terms

    # -- vocabulary ----------------------------------------------------------------------
    def vocabulary_size(self) -> int:
        """The number of indices: the learned tokens plus the mask and OOV indices."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary, a token's position being its index (with the mask and OOV tokens
        first), or without the special tokens when ``include_special_tokens`` is False."""
        if not include_special_tokens:
            return list(self._tokens)
        return self._special_tokens() + list(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (a list, a 1-D array, or the path of a text file with one
        term a line, in the layer's ``encoding``) and, in "tf_idf" mode, its idf_weights,
        replacing any vocabulary.  It may start with the special tokens (mask, then OOV) in
        that order, or omit them."""
        where = self._where()
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{where}: idf_weights must be set if output_mode is 'tf_idf'")
        elif idf_weights is not None:
            raise ValueError(
                f"{where}: idf_weights is used only with output_mode='tf_idf', got "
                f"output_mode={self.output_mode!r}"
            )
        vocabulary = self._convert_vocabulary(vocabulary)
        if not vocabulary:
            raise ValueError(f"{where}: cannot set an empty vocabulary")
        special = self._special_tokens()
        start = len(special)
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        counts = collections.Counter(tokens)
        repeated = [t for t, c in counts.items() if c > 1]
        if repeated:
            raise ValueError(
                f"{where}: the vocabulary repeats terms {repeated}; each term must appear once"
            )
        if self.mask_token is not None and self.mask_token in counts:
            raise ValueError(
                f"{where}: found the mask token {self.mask_token!r} at an unexpected place in "
                "the vocabulary; leave the mask and OOV tokens out, or put them first in "
                f"exactly this order: {special}"
            )
        if self.invert and self.oov_token is not None and self.oov_token in counts:
            raise ValueError(
                f"{where}: found the OOV token {self.oov_token!r} at an unexpected place in "
                "the vocabulary; leave the mask and OOV tokens out, or put them first in "
                f"exactly this order: {special}"
            )
        size = self._token_start_index() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                f"{where}: the vocabulary has {size} entries (special tokens included), more "
                f"than max_tokens={self.max_tokens}"
            )
        idf = None
        if idf_weights is not None:
            weights = xp.asarray(
                idf_weights._value if isinstance(idf_weights, Tensor) else idf_weights,
                dtype="float64",
            )
            if weights.ndim != 1:
                raise ValueError(
                    f"{where}: idf_weights must be 1-D, got shape {tuple(weights.shape)}"
                )
            if len(weights) != len(vocabulary):
                raise ValueError(
                    f"{where}: idf_weights must be as long as the vocabulary: "
                    f"len(idf_weights) is {len(weights)}, len(vocabulary) is {len(vocabulary)}"
                )
            # Keras: without their own weights, the special slots get the mean weight.
            front = 0 if found_special else self._token_start_index()
            idf = xp.concatenate([xp.full(front, weights.mean()), weights])
        self._set_tokens(tokens)
        self._idf = None if idf is None else self._pad_idf(idf)

    def _pad_idf(self, idf):
        if self.pad_to_max_tokens:  # zeros for the indices the vocabulary does not fill
            idf = xp.concatenate([idf, xp.zeros(self.max_tokens - len(idf))])
        return idf.astype(self._float_dtype())

    def _float_dtype(self):
        return self.dtype if self.dtype.kind == "f" else xp.dtype("float32")

    # -- adapt ---------------------------------------------------------------------------
    def _reset_counts(self) -> None:
        self._counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0
        self._seen = False

    def _batches(self, data, steps):
        """The batches ``adapt`` reads, as Keras's adapt: a list/array is one batch of
        documents, one per element along the first axis; any other iterable yields batches."""
        if isinstance(data, (str, bytes)):
            return [[data]]
        if isinstance(data, (list, tuple, Tensor)) or isinstance(data, xp.ndarray):
            arr = self._convert(data)
            return [arr[:, None] if arr.ndim == 1 else arr]
        if not hasattr(data, "__iter__"):
            raise TypeError(
                f"{self._where()}: adapt() takes a list or array of "
                f"{'strings' if self._strings else 'integers'} or an iterable of batches, got "
                f"{type(data).__name__}"
            )
        if steps is None:
            return data
        return (batch for batch, _ in zip(data, range(int(steps))))

    def _update(self, documents) -> None:
        """Count the tokens of ``documents`` (an iterable of token lists)."""
        tf_idf = self.output_mode == "tf_idf"
        for doc in documents:
            self._counts.update(doc)
            self._seen = True
            if tf_idf:
                self._document_counts.update(set(doc))
                self._num_documents += 1

    def update_state(self, data) -> None:
        """Count the tokens of one batch (Keras's adapt step): a 1-D batch is one document,
        a 2-D batch one document per row."""
        self._check_adaptable()
        arr = self._convert(data)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim == 1:
            arr = arr[None]
        self._update(row.reshape(-1).tolist() for row in arr)

    def _check_adaptable(self) -> None:
        if self._has_input_vocabulary:
            raise ValueError(
                f"{self._where()}: cannot adapt a layer given a vocabulary by its "
                "`vocabulary` argument; create it without one to adapt it"
            )

    def adapt(self, data, steps=None) -> None:
        """Learn the vocabulary from ``data``: a list or array (one document per element, or
        per row of a 2-D array), or an iterable of such batches (``steps`` of them at most).

        The tokens are ordered by count, most frequent first, ties broken by the tokens in
        descending order, then cut to ``max_tokens`` (special tokens included).
        """
        self._check_adaptable()
        self._reset_counts()
        for batch in self._batches(data, steps):
            self.update_state(batch)
        self.finalize_state()

    def finalize_state(self) -> None:
        """Build the vocabulary (and idf weights) from the counts ``update_state`` gathered."""
        if not self._seen or not self._counts:
            self._reset_counts()
            raise ValueError(
                f"{self._where()}: adapt() found no tokens (an empty dataset); it needs at "
                "least one non-empty document"
            )
        counts = self._counts
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(special, None)
        # Keras: np.lexsort((tokens, counts))[::-1] -- count, then token, both descending.
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens:
            ordered = ordered[: self.max_tokens - self._token_start_index()]
        self._set_tokens([token for token, _ in ordered])
        if self.output_mode == "tf_idf":
            n = self._num_documents
            idf = xp.array(
                [math.log(1 + n / (1 + self._document_counts[t])) for t in self._tokens],
                dtype="float64",
            ).astype("float32")
            mean = idf.mean() if len(idf) else 0.0
            idf = xp.concatenate([xp.full(self._token_start_index(), mean), idf])
            self._idf = self._pad_idf(idf)
        self._reset_counts()

    # -- lookup --------------------------------------------------------------------------
    def _oov_bucket(self, token) -> int:
        n = self.num_oov_indices
        if isinstance(token, str):  # TF hashes a string's UTF-8 bytes, whatever `encoding`
            bucket = fingerprint64(token.encode("utf-8", "surrogatepass")) % n
        elif self.oov_method == "farmhash":
            bucket = fingerprint64(str(token).encode()) % n
        else:
            bucket = token % n  # floormod, as Keras's IntegerLookup
        return self._oov_start_index() + bucket

    def _set_tokens(self, tokens: list) -> None:
        self._tokens = list(tokens)
        self._index = {t: i for i, t in enumerate(self._tokens, self._token_start_index())}
        # what call looks tokens up in: the mask token (never in the vocabulary) maps to 0
        # in "int" mode and is dropped in the others, as Keras's lookup then mask step
        self._table = dict(self._index)
        if self.mask_token is not None:
            self._table[self.mask_token] = 0 if self.output_mode == "int" else _DROPPED

    def _lookup(self, tokens: list):
        """The int64 indices of ``tokens``: mask -> 0 ("int") or dropped, OOV -> OOV index."""
        ids = xp.fromiter(
            map(self._table.get, tokens, itertools.repeat(-1)), dtype="int64", count=len(tokens)
        )
        oov = ids == -1
        if not oov.any():
            return ids
        if self.num_oov_indices == 0:
            missing = sorted({repr(tokens[k]) for k in xp.flatnonzero(oov)[:1000]})[:10]
            raise LookupError(
                f"{self._where()}: with num_oov_indices=0 every input must be in the "
                f"vocabulary; found out-of-vocabulary values {', '.join(missing)} (set "
                "num_oov_indices=1 to map them to an OOV index)"
            )
        if self.num_oov_indices == 1:
            ids[oov] = self._oov_start_index()
            return ids
        buckets: dict = {}
        for k in xp.flatnonzero(oov).tolist():
            token = tokens[k]
            if token not in buckets:
                buckets[token] = self._oov_bucket(token)
            ids[k] = buckets[token]
        return ids

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if not self._tokens:
            raise RuntimeError(
                f"{self._where()}: with output_mode={self.output_mode!r} and "
                "pad_to_max_tokens=False, the vocabulary must be set before calling the "
                "layer: pass `vocabulary=` or call adapt() on some data"
            )
        return self.vocabulary_size()

    def _encode(self, ids):
        """Keras's encode_categorical_inputs on an int64 array of indices (dropped: < 0)."""
        depth = self._depth()
        if self.output_mode == "tf_idf" and self._idf is None:
            raise RuntimeError(
                f"{self._where()}: output_mode='tf_idf' needs idf weights: adapt() the layer "
                "or pass vocabulary= with idf_weights="
            )
        dtype = self._float_dtype()
        if ids.ndim == 0:
            ids = ids.reshape(1)
        if self.output_mode == "one_hot":
            if ids.ndim > 1 and ids.shape[-1] == 1:
                ids = ids[..., 0]
            flat = ids.reshape(-1)
            out = xp.zeros(flat.size * depth, dtype=dtype)
            hot = xp.flatnonzero((flat >= 0) & (flat < depth))
            out[hot * depth + flat[hot]] = 1
            return wrap(out.reshape(ids.shape + (depth,)))
        # Each kept id becomes a cell of the flat (rows * depth) output; count the cells.
        n = math.prod(ids.shape[:-1])
        rows = ids.reshape(n, ids.shape[-1])
        cells = rows + (xp.arange(n, dtype="int64") * depth)[:, None]
        keep = (rows >= 0) & (rows < depth)
        cells = cells.reshape(-1) if keep.all() else cells[keep]
        shape = ids.shape[:-1] + (depth,)
        if n * depth <= 8 * cells.size:  # dense output: one bincount pass is cheapest
            counts = xp.bincount(cells, minlength=n * depth)
            if self.output_mode == "multi_hot":
                return wrap((counts > 0).astype(dtype).reshape(shape))
            out = counts.astype(dtype).reshape(n, depth)
            if self.output_mode == "tf_idf":
                out *= self._idf[:depth]
            return wrap(out.reshape(shape))
        # Sparse output (a large vocabulary): sort the cells and write only the nonzero
        # ones into zeros, instead of a (rows * depth) int64 bincount then a cast.
        cells.sort()
        out = xp.zeros(n * depth, dtype=dtype)
        if cells.size:
            starts = xp.flatnonzero(xp.concatenate(([True], cells[1:] != cells[:-1])))
            unique = cells[starts]
            if self.output_mode == "multi_hot":
                out[unique] = 1
            else:
                counts = xp.diff(xp.append(starts, cells.size)).astype(dtype)
                if self.output_mode == "tf_idf":
                    counts *= self._idf[unique % depth]
                out[unique] = counts
        return wrap(out.reshape(shape))

    def _invert(self, inputs):
        ids = _as_integers(self._where(), inputs)
        table = self.get_vocabulary()
        size = len(table)
        oov = self.oov_token
        flat = [
            (
                self.mask_token
                if (self.mask_token is not None and i == 0)
                else (table[i] if self._token_start_index() <= i < size else oov)
            )
            for i in ids.reshape(-1).tolist()
        ]
        if self._strings:
            out = xp.empty(len(flat), dtype=object)
            out[:] = flat
            return out.reshape(ids.shape)
        return Tensor(xp.asarray(flat, dtype="int64").reshape(ids.shape))

    def __call__(self, inputs, *args, training=None, **kwargs):
        if _is_symbolic(inputs) or _is_symbolic(list(args) + list(kwargs.values())):
            raise _symbolic_error(self._owner if self._owner is not None else self)
        if args or kwargs:
            raise TypeError(
                f"{self._where()}: call takes the inputs only, got extra arguments "
                f"{list(kwargs) or len(args)}"
            )
        self.built = True
        return self.call(inputs)

    def call(self, inputs):
        """Look ``inputs`` up (see the class docstring for the output)."""
        if self.invert:
            return self._invert(inputs)
        arr = self._convert(inputs)
        ids = self._lookup(arr.reshape(-1).tolist())
        ids = ids.reshape(arr.shape)
        if self.output_mode == "int":
            return Tensor(ids)
        return self._encode(ids)

    def compute_output_shape(self, input_shape):
        """The output shape for inputs of ``input_shape`` (Keras's rule)."""
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def _vocabulary_config(self) -> dict:
        """The vocabulary (special tokens first) and idf weights as lists, or None."""
        vocabulary = self.get_vocabulary() if self._tokens else None
        idf = None
        if self._idf is not None and vocabulary is not None:
            idf = [float(w) for w in self._idf[: len(vocabulary)]]
        return {
            "vocabulary": vocabulary,
            "idf_weights": idf,
            "vocabulary_size": self.vocabulary_size(),
            "has_input_vocabulary": self._has_input_vocabulary,
        }

    def get_config(self) -> dict:
        """The constructor arguments, with the current vocabulary as a list (so that
        ``from_config`` rebuilds an adapted layer) and, in "tf_idf" mode, its weights."""
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            **self._vocabulary_config(),
        }

    @classmethod
    def from_config(cls, config: dict, safe_mode: bool = True):
        """Rebuild the layer from ``get_config()``.  A vocabulary given as a file path is
        refused unless ``safe_mode=False`` (``wg.models.load_model`` and a model's
        ``from_config`` pass none, so they refuse it): a config should not make the loader
        read an arbitrary file.  ``get_config`` itself always stores the terms."""
        _refuse_vocabulary_file(cls, config, safe_mode)
        return cls(**config)


class StringLookup(_IndexLookup):
    """Map strings to vocabulary indices (or, with ``invert=True``, indices to strings).

    No splitting or standardization is done (see TextVectorization for text).  The
    vocabulary is given (``vocabulary=``) or learned by ``adapt``.  In "int" mode it starts
    with the mask token (if ``mask_token`` is set) at index 0, then ``num_oov_indices`` OOV
    indices; in the other modes with the OOV indices, and the mask token is dropped.

    Takes a str, a (nested) list of str or a NumPy string/object array, never a Tensor; it
    cannot be part of a model on ``wg.Input`` (no string Tensors): apply it to the data
    first.  Returns a wengert Tensor: int64 indices of the input's shape ("int"), or
    float32 "one_hot" (a new last axis; a trailing axis of 1 is replaced), "multi_hot",
    "count" and "tf_idf" (the last axis, one sample's tokens, becomes the vocabulary axis).
    With ``invert=True`` it returns a NumPy object array of str.

    Args:
        max_tokens: the largest vocabulary (special tokens included), or None.
        num_oov_indices: OOV indices; several: a string goes to bucket
            ``Fingerprint64(utf8) % num_oov_indices``; 0: an OOV input raises LookupError.
        mask_token: the token mapped to 0 in "int" mode (dropped elsewhere), or None.
        oov_token: the token ``invert`` returns for OOV indices ("[UNK]").
        vocabulary: a list or 1-D array of str, or a text file's path (a term a line, lines
            ending at "\\n" only, in ``encoding``).
        idf_weights: for "tf_idf" with ``vocabulary``: one weight per vocabulary term.
        invert: map indices to tokens (output_mode "int" only).
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: make the encoded axis ``max_tokens`` long.
        sparse: must be False (no sparse tensors in wengert).
        encoding: the encoding of bytes inputs, bytes vocabulary terms and a vocabulary
            file; OOV strings are hashed as UTF-8 whatever it is (as TensorFlow).
        **kwargs: Layer arguments (name, ...).

    Example:
        >>> from wengert.layers.text_preprocessing import StringLookup
        >>> layer = StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer([["a", "c", "d"], ["d", "z", "b"]]).numpy()
        array([[1, 3, 4],
               [4, 0, 2]])
        >>> StringLookup(vocabulary=["a", "b", "c", "d"], invert=True)([[1, 0]])
        array([['a', '[UNK]']], dtype=object)
    """

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        **kwargs,
    ):
        self.encoding = _check_encoding("StringLookup", encoding)
        for arg, value in (("mask_token", mask_token), ("oov_token", oov_token)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"StringLookup: {arg} must be a string or None, got {value!r}")
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            **kwargs,
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(_IndexLookup):
    """Map integers to vocabulary indices (or, with ``invert=True``, indices to integers).

    As StringLookup, for integer tokens: inputs are ints, lists, NumPy arrays or wengert
    Tensors, the OOV token is -1, and several OOV indices take ``token % num_oov_indices``
    (``oov_method="farmhash"``: the fingerprint of the decimal string).  The output is a
    wengert Tensor (int64; float32 for the encoding modes), ``invert=True`` included.  It
    is not meant to sit inside a model on ``wg.Input``: apply it to the data first.

    Args:
        max_tokens: the largest vocabulary (special tokens included), or None.
        num_oov_indices: OOV indices (0: an OOV input raises LookupError).
        mask_token: the integer mapped to 0 in "int" mode (dropped elsewhere), or None.
        oov_token: the integer ``invert`` returns for OOV indices (-1).
        vocabulary: a list or 1-D array of ints, or a text file's path (an int a line).
        vocabulary_dtype: "int64", the only one supported (as Keras).
        idf_weights: for "tf_idf" with ``vocabulary``: one weight per vocabulary term.
        invert: map indices to tokens (output_mode "int" only).
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        sparse: must be False.
        pad_to_max_tokens: make the encoded axis ``max_tokens`` long.
        oov_method: "floormod" (default) or "farmhash", for num_oov_indices > 1.
        **kwargs: Layer arguments (name, ...).

    Example:
        >>> import numpy as np
        >>> from wengert.layers.text_preprocessing import IntegerLookup
        >>> layer = IntegerLookup()
        >>> layer.adapt(np.array([[12, 1138, 42], [42, 1000, 36]]))
        >>> layer.get_vocabulary()
        [-1, 42, 1138, 1000, 36, 12]
        >>> layer(np.array([[12, 1138, 42], [42, 7, 36]])).numpy()
        array([[5, 2, 1],
               [1, 0, 4]])
    """

    _strings = False
    _string_inputs = False

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(
                "IntegerLookup: only vocabulary_dtype='int64' is supported, got "
                f"{vocabulary_dtype!r}"
            )
        for arg, value in (("mask_token", mask_token), ("oov_token", oov_token)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Integral)
            ):
                raise TypeError(f"IntegerLookup: {arg} must be an integer or None, got {value!r}")
            if value is not None and not _INT64_MIN <= value <= _INT64_MAX:
                raise _int64_range_error("IntegerLookup", arg, int(value))
        self.vocabulary_dtype = "int64"
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=None if mask_token is None else int(mask_token),
            oov_token=None if oov_token is None else int(oov_token),
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            oov_method=oov_method,
            **kwargs,
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "vocabulary_dtype": self.vocabulary_dtype,
            "oov_method": self.oov_method,
        }


class TextVectorization(Layer):
    """Turn strings into token-index sequences or bag-of-token vectors (Keras 3's layer).

    Each string is (1) standardized, (2) split into tokens, (3) recombined into n-grams,
    (4) looked up in the vocabulary, (5) output as int64 indices (``"int"``, one row per
    string, padded with 0 at the end or truncated to ``output_sequence_length``; without
    one, to the batch's longest row) or float32 ``"multi_hot"``, ``"count"`` or
    ``"tf_idf"`` vectors of the vocabulary's size (``max_tokens`` with
    ``pad_to_max_tokens``).  The vocabulary is given or learned by ``adapt``; in "int" mode
    it starts with "" (padding, index 0) and "[UNK]" (OOV, index 1), otherwise with "[UNK]".

    As in Keras, "lower" lowercases ASCII letters only (``tf.strings.lower``), punctuation
    is Keras's ASCII class ``[!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~']``, and "whitespace" splits
    on ASCII whitespace.  A callable ``standardize`` or ``split`` is applied to each Python
    string (``split`` returns its list of tokens), where Keras's takes a batch tensor.

    Inputs are a str, a list of str, a (batch, 1) nested list or a NumPy string/object
    array -- never a Tensor.  The layer cannot be part of a model on ``wg.Input`` (there
    are no string Tensors): call it on the data before the model, ``x = vectorizer(texts)``
    then ``model.fit(x, y)``, or in a data pipeline's ``map``.

    Args:
        max_tokens: the largest vocabulary, special tokens included (None: unlimited).
        standardize: "lower_and_strip_punctuation" (default), "lower",
            "strip_punctuation", None, or a callable str -> str.
        split: "whitespace" (default), "character", None (each string is one token), or a
            callable str -> list of str.
        ngrams: None, an int n (n-grams of 1..n tokens) or a tuple of n-gram widths.
        output_mode: "int" (default), "multi_hot", "count", "tf_idf" (or "one_hot", which
            needs split=None: one token per string).
        output_sequence_length: "int" mode only: pad or truncate each row to this length.
        pad_to_max_tokens: encoded modes: make the vocabulary axis ``max_tokens`` long.
        vocabulary: a list of str, or a text file's path with one term a line (in
            ``encoding``).
        idf_weights: "tf_idf" with ``vocabulary``: one weight per term.
        sparse, ragged: must be False (wengert has neither sparse nor ragged tensors).
        encoding: the encoding of bytes inputs and of a vocabulary file ("utf-8").
        **kwargs: Layer arguments (name, ...).

    Example:
        >>> from wengert.layers.text_preprocessing import TextVectorization
        >>> layer = TextVectorization(vocabulary=["earth", "wind", "and", "fire"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'earth', 'wind', 'and', 'fire']
        >>> layer(["Earth, wind and FIRE!", "and water"]).numpy()
        array([[2, 3, 4, 5],
               [4, 1, 0, 0]])
        >>> bag = TextVectorization(output_mode="count", vocabulary=["a", "b"])
        >>> bag(["a b a c"]).numpy()
        array([[1., 2., 1.]], dtype=float32)
    """

    _string_inputs = True  # as StringLookup's

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        **kwargs,
    ):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_size", None)
        super().__init__(**kwargs)
        where = f"TextVectorization '{self.name}'"
        _check_encoding(where, encoding)
        if sparse:
            raise NotImplementedError(
                f"{where}: sparse=True is not supported (wengert has no sparse tensors); "
                "use sparse=False for a dense output"
            )
        if ragged:
            raise NotImplementedError(
                f"{where}: ragged=True is not supported (wengert has no ragged tensors); "
                "rows are padded with 0 (set output_sequence_length for a fixed length)"
            )
        if not (
            standardize is None
            or callable(standardize)
            or standardize in ("lower_and_strip_punctuation", "lower", "strip_punctuation")
        ):
            raise ValueError(
                f"{where}: standardize must be 'lower_and_strip_punctuation', 'lower', "
                f"'strip_punctuation', None or a callable, got {standardize!r}"
            )
        if not (split is None or callable(split) or split in ("whitespace", "character")):
            raise ValueError(
                f"{where}: split must be 'whitespace', 'character', None or a callable, got "
                f"{split!r}"
            )
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"{where}: output_mode must be one of {_OUTPUT_MODES}, got {output_mode!r}"
            )
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (
            ngrams is None
            or _positive_int(ngrams)
            or (isinstance(ngrams, tuple) and ngrams and all(_positive_int(n) for n in ngrams))
        ):
            raise ValueError(
                f"{where}: ngrams must be None, a positive integer, or a tuple of positive "
                f"integers, got {ngrams!r}"
            )
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(
                    f"{where}: output_sequence_length is used only with output_mode='int', "
                    f"got output_mode={output_mode!r}"
                )
            if (
                not isinstance(output_sequence_length, numbers.Integral)
                or isinstance(output_sequence_length, bool)
                or output_sequence_length < 0
            ):
                raise ValueError(
                    f"{where}: output_sequence_length must be None or an integer >= 0, got "
                    f"{output_sequence_length!r}"
                )
            output_sequence_length = int(output_sequence_length)
        if output_mode == "one_hot" and split is not None:
            raise ValueError(
                f"{where}: output_mode='one_hot' encodes one token per string, so it needs "
                "split=None; use 'multi_hot' or 'count' for split text"
            )
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            encoding=encoding,
            has_input_vocabulary=has_input_vocabulary,
            name=f"{self.name}/string_lookup",
            dtype=self.dtype,
            _owner=self,
        )

    # -- the steps -------------------------------------------------------------------------
    def _standardize_one(self, text: str) -> str:
        mode = self._standardize
        if mode in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        if callable(mode):
            text = mode(text)
            if not isinstance(text, str):
                raise TypeError(
                    f"TextVectorization '{self.name}': the standardize callable must return "
                    f"a str, got {type(text).__name__}"
                )
        return text

    def _split_one(self, text: str) -> list:
        if self._split == "whitespace":
            return _NOT_SPACE.findall(text)
        if self._split == "character":
            return list(text)
        result = self._split(text)
        # Materialise first: a generator or map object can be iterated once only, so
        # checking its elements would leave nothing to return.
        tokens = None
        if hasattr(result, "__iter__") and not isinstance(result, (str, bytes)):
            tokens = list(result)
        if tokens is None or not all(isinstance(t, str) for t in tokens):
            shown = result if tokens is None else tokens
            raise TypeError(
                f"TextVectorization '{self.name}': the split callable must return a list of str "
                f"(or another iterable of str), got {type(result).__name__} {shown!r:.80}"
            )
        return tokens

    def _make_ngrams(self, tokens: list) -> list:
        if self._ngrams is None:
            return tokens
        out = []
        for width in self._ngrams:  # tf.strings.ngrams: all of one width, then the next
            out += [" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1)]
        return out

    def _preprocess(self, inputs):
        """(rows, lead): each row one sample's tokens; ``lead`` the output's leading shape.
        Without splitting and n-grams, (array of tokens, None) instead."""
        arr = _as_strings(f"TextVectorization '{self.name}'", inputs, self._encoding)
        flat = [self._standardize_one(s) for s in arr.reshape(-1).tolist()]
        if self._split is not None:
            if arr.ndim > 1 and (arr.ndim > 2 or arr.shape[-1] != 1):
                raise ValueError(
                    f"TextVectorization '{self.name}': to split strings the input must be "
                    "1-D (a list of strings) or have a last axis of size 1, got shape "
                    f"{arr.shape}"
                )
            rows = [self._make_ngrams(self._split_one(s)) for s in flat]
            return rows, (() if arr.ndim == 0 else (arr.shape[0],))
        if self._ngrams is None:
            tokens = xp.empty(len(flat), dtype=object)
            tokens[:] = flat
            return tokens.reshape(arr.shape), None
        # No splitting, n-grams: the last axis of a 2-D or larger input is the token
        # sequence (Keras); each string of a 1-D input is a sample of its own.
        if arr.ndim <= 1:
            return [self._make_ngrams([s]) for s in flat], arr.shape
        width = arr.shape[-1]
        rows = [self._make_ngrams(flat[i : i + width]) for i in range(0, len(flat), width or 1)]
        return rows, arr.shape[:-1]

    def _documents(self, batch):
        """The token lists of one adapt batch, one per document."""
        rows, lead = self._preprocess(batch)
        if lead is not None:
            return rows if lead else [rows[0]] if rows else []
        tokens = rows  # no split, no n-grams: each element of a 1-D batch is a document
        if tokens.ndim <= 1:
            return [[t] for t in tokens.reshape(-1).tolist()]
        return [row.reshape(-1).tolist() for row in tokens]

    # -- the API -----------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn the vocabulary (and, in "tf_idf" mode, document frequencies) from ``data``:
        a list or array of strings (one document each), or an iterable of such batches
        (``steps`` of them at most; ``batch_size`` is accepted and unused, as in Keras 3).

        Tokens are ordered by count, most frequent first, ties broken by the tokens in
        descending order, and cut to ``max_tokens`` (the special tokens included).

        Example:
            >>> from wengert.layers.text_preprocessing import TextVectorization
            >>> layer = TextVectorization(max_tokens=4)
            >>> layer.adapt(["the cat", "the dog", "a cat"])
            >>> layer.get_vocabulary()
            ['', '[UNK]', 'the', 'cat']
        """
        lookup = self._lookup_layer
        lookup._check_adaptable()
        lookup._reset_counts()
        if isinstance(data, (str, bytes, list, tuple)) or isinstance(data, xp.ndarray):
            # Keras: a list or array is one batch, a 1-D one made (n, 1): one document each
            batch = _as_strings(f"TextVectorization '{self.name}'", data, self._encoding)
            batches = [batch.reshape(-1, 1) if batch.ndim <= 1 else batch]
        elif isinstance(data, Tensor) or not hasattr(data, "__iter__"):
            raise TypeError(
                f"TextVectorization '{self.name}': adapt() takes a list or array of strings or "
                f"an iterable of batches of strings, got {type(data).__name__}"
            )
        else:
            batches = data if steps is None else (b for b, _ in zip(data, range(int(steps))))
        for batch in batches:
            self.update_state(batch)
        lookup.finalize_state()

    def update_state(self, data) -> None:
        """Count the tokens of one batch of strings (one ``adapt`` step)."""
        self._lookup_layer._check_adaptable()
        self._lookup_layer._update(self._documents(data))

    def finalize_state(self) -> None:
        """Build the vocabulary from the counts ``update_state`` gathered."""
        self._lookup_layer.finalize_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary ("" and "[UNK]" first in "int" mode unless
        ``include_special_tokens`` is False); a term's position is its index."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Set the vocabulary (a list, or a text file's path) and, for "tf_idf", its
        idf_weights, replacing any vocabulary."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def vocabulary_size(self) -> int:
        """The vocabulary's size, the padding and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    def __call__(self, inputs, *args, training=None, **kwargs):
        if _is_symbolic(inputs) or _is_symbolic(list(args) + list(kwargs.values())):
            raise _symbolic_error(self)
        if args or kwargs:
            raise TypeError(
                f"TextVectorization '{self.name}': call takes the inputs only, got extra "
                f"arguments {list(kwargs) or len(args)}"
            )
        self.built = True
        return self.call(inputs)

    def call(self, inputs):
        """Vectorize ``inputs`` (see the class docstring)."""
        lookup = self._lookup_layer
        rows, lead = self._preprocess(inputs)
        if lead is None:  # one token per string: the input's shape
            ids = lookup._lookup(rows.reshape(-1).tolist())
            ids = ids.reshape(rows.shape)
            if self._output_mode != "int":
                return lookup._encode(ids if ids.ndim > 1 else ids.reshape(ids.shape + (1,)))
            length = self._output_sequence_length
            if length is not None:  # Keras: the last axis, cut then 0-padded
                if ids.ndim <= 1:  # a string a sample: (batch, length) as Keras's shape rule
                    ids = ids.reshape(-1, 1)
                ids = ids[..., :length]
                pad = [(0, 0)] * (ids.ndim - 1) + [(0, length - ids.shape[-1])]
                ids = xp.pad(ids, pad)
            return Tensor(ids)
        fill = 0 if self._output_mode == "int" else _DROPPED
        width = self._output_sequence_length if self._output_mode == "int" else None
        flat = lookup._lookup([token for row in rows for token in row])
        ids = _pad_rows(flat, [len(row) for row in rows], width, fill)
        ids = ids.reshape(tuple(lead) + ids.shape[-1:])
        if self._output_mode == "int":
            return Tensor(ids)
        return lookup._encode(ids)

    def compute_output_shape(self, input_shape):
        """The output shape for a batch of ``input_shape`` (Keras's rule)."""
        input_shape = tuple(input_shape)
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        if self._split is None:
            if len(input_shape) <= 1:
                input_shape += (1,)
        else:
            input_shape += (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        """The constructor arguments, with the current vocabulary (a list, "" and "[UNK]"
        first) and idf weights, so ``from_config`` rebuilds an adapted layer.  A callable
        ``standardize`` or ``split`` is kept as the function itself."""
        lookup = self._lookup_layer
        return {
            **super().get_config(),
            "max_tokens": lookup.max_tokens,
            "standardize": self._standardize,
            "split": self._split,
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "encoding": self._encoding,
            **lookup._vocabulary_config(),
        }

    @classmethod
    def from_config(cls, config: dict, safe_mode: bool = True):
        """Rebuild the layer from ``get_config()`` (JSON's lists become tuples for ngrams).
        A vocabulary given as a file path is refused unless ``safe_mode=False``, as
        StringLookup.from_config."""
        _refuse_vocabulary_file(cls, config, safe_mode)
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)
