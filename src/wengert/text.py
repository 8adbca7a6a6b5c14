"""Character-level language modelling: a vocabulary, a corpus, a char LSTM, and sampling.

A character model reads text one character at a time and predicts the next;
its quality is measured in bits per character (the cross-entropy in base 2 on
text it did not train on).  The default corpus is on every machine with
nothing downloaded or shipped: the Python standard library's own source files,
read in sorted order (so the same Python version gives the same text).

Example:
    >>> from wengert.text import CharVocabulary
    >>> vocab = CharVocabulary.from_text("hello world")
    >>> vocab.decode(vocab.encode("hold"))
    'hold'
"""

from __future__ import annotations

import json
import math
import os
import sysconfig

from .backend import xp
from .initializers import GlorotUniform, Orthogonal, RandomUniform
from .layers.core import Dense
from .layers.embedding import Embedding
from .layers.rnn import LSTM, TimeDistributed
from .models import Model

__all__ = [
    "CharVocabulary",
    "default_corpus",
    "windows",
    "CharLSTM",
    "bits_per_character",
    "sample",
]


class CharVocabulary:
    """The characters a model knows, each with an index.

    Args:
        chars: the characters, in index order (no repeats).

    Example:
        >>> vocab = CharVocabulary.from_text("banana")
        >>> vocab.chars, vocab.encode("nab").tolist(), len(vocab)
        (['a', 'b', 'n'], [2, 0, 1], 3)
    """

    def __init__(self, chars):
        chars = [str(c) for c in chars]
        if not chars:
            raise ValueError("CharVocabulary: needs at least one character")
        if any(len(c) != 1 for c in chars):
            raise ValueError("CharVocabulary: every entry must be a single character")
        if len(set(chars)) != len(chars):
            raise ValueError("CharVocabulary: characters repeat")
        self.chars = chars
        self._index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        """The vocabulary of every character in ``text``, sorted by code point.

        Example:
            >>> CharVocabulary.from_text("cab").chars
            ['a', 'b', 'c']
        """
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, errors: str = "strict"):
        """Indices of the characters of ``text`` (int32 array).

        Args:
            text: the text.
            errors: "strict" raises ValueError naming unknown characters; "ignore" drops them.

        Returns:
            An int32 array of len(text) indices (fewer with "ignore").

        Example:
            >>> CharVocabulary.from_text("ab").encode("abz", errors="ignore").tolist()
            [0, 1]
        """
        index = self._index
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            if errors != "ignore":
                shown = ", ".join(repr(c) for c in unknown[:10])
                raise ValueError(
                    f"CharVocabulary.encode: {len(unknown)} character(s) not in the vocabulary "
                    f"of {len(self)}: {shown}"
                )
            text = "".join(c for c in text if c in index)
        return xp.fromiter((index[c] for c in text), dtype=xp.int32, count=len(text))

    def decode(self, ids) -> str:
        """The text of a sequence of indices.

        Example:
            >>> CharVocabulary(["x", "y"]).decode([1, 0, 1])
            'yxy'
        """
        chars = self.chars
        return "".join(chars[int(i)] for i in xp.asarray(ids).ravel())

    def to_json(self) -> str:
        """The vocabulary as JSON text (``from_json`` reads it back).

        Example:
            >>> CharVocabulary.from_json(CharVocabulary(["a", "\\n"]).to_json()).chars
            ['a', '\\n']
        """
        return json.dumps({"chars": self.chars})

    @classmethod
    def from_json(cls, text: str) -> CharVocabulary:
        """The vocabulary saved by ``to_json``; ValueError for any other JSON."""
        saved = json.loads(text)
        chars = saved.get("chars") if isinstance(saved, dict) else None
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
            raise ValueError(
                f"CharVocabulary.from_json: expected {{'chars': [...]}}, got {text!r:.80}"
            )
        return cls(chars)


def default_corpus(max_chars: int = 300_000, root: str | None = None) -> str:
    """The first ``max_chars`` characters of the Python standard library's public modules.

    The ``*.py`` files directly in ``sysconfig.get_paths()["stdlib"]`` whose names do
    not start with an underscore, in sorted order, concatenated: text on every
    machine with Python, nothing to download.  (Another Python version has other
    files, so the corpus and its numbers differ between versions.)

    Args:
        max_chars: how much text to read.
        root: the folder to read instead of the standard library.

    Returns:
        The text.

    Example:
        >>> text = default_corpus(2000)
        >>> len(text), "import" in text or "def " in text
        (2000, True)
    """
    root = sysconfig.get_paths()["stdlib"] if root is None else root
    try:
        names = sorted(n for n in os.listdir(root) if n.endswith(".py") and not n.startswith("_"))
    except OSError as exc:
        raise FileNotFoundError(f"default_corpus: cannot list {root}: {exc}") from exc
    parts = []
    total = 0
    for name in names:
        try:
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
                text = f.read(max_chars - total)
        except OSError:
            continue
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    if not parts:
        raise FileNotFoundError(f"default_corpus: no Python source files in {root}")
    return "".join(parts)


def windows(ids, length: int):
    """Non-overlapping training windows: inputs and their next characters.

    Args:
        ids: the encoded text (1-D).
        length: characters per window.

    Returns:
        ``(x, y)``, each (n, length) with ``y[i, t] = ids[i * length + t + 1]``.

    Example:
        >>> x, y = windows([0, 1, 2, 3, 4, 5, 6], 3)
        >>> x.tolist(), y.tolist()
        ([[0, 1, 2], [3, 4, 5]], [[1, 2, 3], [4, 5, 6]])
    """
    ids = xp.asarray(ids)
    n = (len(ids) - 1) // length
    if n < 1:
        raise ValueError(f"windows: {len(ids)} characters do not fill one window of {length} + 1")
    x = ids[: n * length].reshape(n, length)
    y = ids[1 : n * length + 1].reshape(n, length)
    return x.copy(), y.copy()


class CharLSTM(Model):
    """Next-character model: Embedding, an LSTM over the sequence, Dense logits per step.

    Args:
        vocab_size: the number of characters.
        embedding_dim: the size of each character's vector.
        units: the LSTM's units.
        seed: seed of the initial weights (None: drawn from ``wg.random``).
        name: the model's name.

    Call it on (batch, time) character indices; it returns (batch, time,
    vocab_size) logits, and with ``return_state=True`` also the LSTM's final
    ``[h, c]``, which ``initial_state=`` takes back to continue a text.

    Example:
        >>> import wengert as wg
        >>> model = CharLSTM(vocab_size=5, embedding_dim=3, units=4, seed=0)
        >>> logits, (h, c) = model(wg.constant([[1, 2, 3]]), return_state=True)
        >>> logits.shape, h.shape
        ((1, 3, 5), (1, 4))
    """

    def __init__(self, vocab_size, embedding_dim=32, units=256, seed=None, name=None):
        super().__init__(name=name)
        self.vocab_size = int(vocab_size)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.seed = seed

        def init(cls, k, **kw):
            return cls(seed=None if seed is None else seed * 10 + k, **kw)

        self.embedding = Embedding(
            self.vocab_size,
            self.embedding_dim,
            embeddings_initializer=init(RandomUniform, 0, minval=-0.05, maxval=0.05),
        )
        self.lstm = LSTM(
            self.units,
            return_sequences=True,
            return_state=True,
            kernel_initializer=init(GlorotUniform, 1),
            recurrent_initializer=init(Orthogonal, 2),
            seed=None if seed is None else seed * 10 + 3,
        )
        self.head = TimeDistributed(
            Dense(self.vocab_size, kernel_initializer=init(GlorotUniform, 4))
        )

    def call(self, inputs, training=None, initial_state=None, return_state=False):
        seq, h, c = self.lstm(
            self.embedding(inputs), initial_state=initial_state, training=training
        )
        logits = self.head(seq)
        return (logits, [h, c]) if return_state else logits

    def get_config(self) -> dict:
        return {
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "seed": self.seed,
            "name": self.name,
        }


def _log_softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))


def bits_per_character(model, ids, length: int = 100, streams: int = 16) -> float:
    """Cross-entropy of ``model`` on the text ``ids``, in bits per character.

    The text is cut into ``streams`` contiguous pieces read side by side, ``length``
    characters at a time, carrying the LSTM state from each chunk to the next, so
    every prediction sees its piece's whole history.

    Args:
        model: a ``CharLSTM``.
        ids: the encoded text (1-D).
        length: characters per forward pass.
        streams: pieces read in parallel (the batch size).

    Returns:
        The mean of -log2 p(next character), over all predicted characters.

    Example:
        >>> model = CharLSTM(vocab_size=4, embedding_dim=2, units=3, seed=0)
        >>> round(bits_per_character(model, [0, 1, 2, 3] * 50), 1)  # untrained: ~log2(4)
        2.0
    """
    ids = xp.asarray(ids)
    streams = max(1, min(int(streams), (len(ids) - 1) // 2))
    per = (len(ids) - 1) // streams
    if per < 1:
        raise ValueError(f"bits_per_character: {len(ids)} characters are too few")
    x = ids[: streams * per].reshape(streams, per)
    y = ids[1 : streams * per + 1].reshape(streams, per)
    total = 0.0
    state = None
    for start in range(0, per, length):
        logits, state = model(
            x[:, start : start + length], initial_state=state, return_state=True, training=False
        )
        logp = _log_softmax(logits.numpy().astype("float64"))
        target = y[:, start : start + length]
        total -= xp.take_along_axis(logp, target[..., None], axis=-1).sum()
    return float(total / (streams * per) / math.log(2))


def sample(
    model, vocab: CharVocabulary, prompt: str = "", length: int = 400, temperature=1.0, seed=None
) -> str:
    """Generate ``length`` characters after ``prompt`` by sampling the model's predictions.

    Args:
        model: a ``CharLSTM``.
        vocab: its vocabulary (characters of the prompt it lacks are skipped).
        prompt: the text to continue (empty: start after a newline).
        length: how many characters to generate.
        temperature: divides the logits: below 1 is more conservative, above 1 wilder;
            0 always takes the most likely character.
        seed: seed of the sampling (None: fresh randomness).

    Returns:
        The generated text (without the prompt).

    Example:
        >>> vocab = CharVocabulary.from_text("ab\\n")
        >>> model = CharLSTM(len(vocab), embedding_dim=2, units=3, seed=0)
        >>> text = sample(model, vocab, "ab", length=10, seed=1)
        >>> len(text), set(text) <= set("ab\\n")
        (10, True)
    """
    if not temperature >= 0 or math.isinf(temperature):  # NaN fails the comparison
        raise ValueError(f"sample: temperature must be a finite number >= 0, got {temperature}")
    ids = vocab.encode(prompt, errors="ignore")
    if len(ids) == 0:
        ids = vocab.encode("\n" if "\n" in vocab._index else vocab.chars[0])
    rng = xp.random.default_rng(seed)
    logits, state = model(ids[None, :], return_state=True, training=False)
    out = []
    for _ in range(int(length)):
        last = logits.numpy()[0, -1].astype("float64")
        with xp.errstate(over="ignore", invalid="ignore"):  # overflow: checked just below
            scaled = (last - last.max()) / temperature if temperature else None
        if scaled is None or not xp.isfinite(scaled).all():
            nxt = int(last.argmax())  # temperature 0, or so small the scaled logits overflow
        else:
            p = xp.exp(_log_softmax(scaled))
            nxt = int(rng.choice(len(p), p=p / p.sum()))
        out.append(nxt)
        logits, state = model(
            xp.array([[nxt]], dtype=xp.int32),
            initial_state=state,
            return_state=True,
            training=False,
        )
    return vocab.decode(out)
