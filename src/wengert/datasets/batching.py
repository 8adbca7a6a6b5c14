"""Mini-batches: every sample exactly once per pass, in a seeded random order.

Example:
    >>> import numpy as np
    >>> from wengert import datasets
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in datasets.batches(x, y, batch_size=2, seed=0)]
    [[2, 4], [3, 0], [1]]
"""

from __future__ import annotations

import numbers

from .. import random as _random
from ..backend import xp

__all__ = ["Batches", "batches"]


class Batches:
    """A re-iterable source of mini-batches; each ``for`` loop over it is one pass (epoch).

    Every pass visits every sample exactly once.  With ``shuffle`` each pass
    draws a new order from a generator seeded by ``seed``, so two ``Batches``
    with the same seed give the same orders, pass after pass; with
    ``seed=None`` the order comes from wengert's global generator, so
    ``wg.random.set_seed`` makes it reproducible.

    ``x`` may instead be a sequence of sample tuples, as a PyTorch ``Dataset`` gives (an
    object with ``__len__`` and ``__getitem__`` returning ``(x, y)``, or a list of such
    tuples): each batch then stacks the samples field by field, as torch's DataLoader's
    default collate does, reading the samples anew each pass.

    Args:
        x: array of samples (first axis = samples), anything ``xp.asarray`` takes; or
            a sequence of sample tuples (then ``y`` is None).
        y: optional array of targets with the same number of samples.
        batch_size: samples per batch, at least 1; the last batch of a pass may
            be smaller unless ``drop_remainder``.
        shuffle: shuffle each pass (else batches follow the data's order, and
            are views of it).
        seed: seed of the shuffling generator; None for the global one.
        drop_remainder: skip the last, smaller batch of each pass.

    Yields:
        ``(x_batch, y_batch)`` ndarray pairs, or ``x_batch`` alone when ``y`` is None;
        for sample tuples, a tuple of one stacked ndarray per field.

    Example:
        >>> import numpy as np
        >>> from wengert.datasets import Batches
        >>> data = Batches(np.zeros((10, 3)), np.arange(10), batch_size=4, seed=1)
        >>> len(data), [len(yb) for _, yb in data]
        (3, [4, 4, 2])
        >>> sorted(int(v) for _, yb in data for v in yb) == list(range(10))
        True
        >>> pairs = [(np.full(3, i), i % 2) for i in range(5)]  # a torch-style dataset
        >>> [(xb.shape, yb.tolist()) for xb, yb in Batches(pairs, batch_size=2, shuffle=False)]
        [((2, 3), [0, 1]), ((2, 3), [0, 1]), ((1, 3), [0])]
    """

    def __init__(
        self,
        x,
        y=None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed=None,
        drop_remainder: bool = False,
    ):
        # A data set of (x, y) samples is collated (torch's default); a list that NumPy
        # reads as one array (points written as tuples) stays an array.
        self._samples = _is_sample_sequence(x)
        if self._samples and y is not None:
            raise TypeError(
                "batches: x is a sequence of sample tuples, which hold the targets; "
                "pass y=None, or pass x and y as arrays"
            )
        self.x = x if self._samples else xp.asarray(x)
        self.y = None if y is None else xp.asarray(y)
        if not self._samples and self.x.ndim == 0:
            raise ValueError("batches: x must have a first (sample) axis, got a scalar")
        if self.y is not None and (self.y.ndim == 0 or len(self.y) != len(self.x)):
            raise ValueError(
                f"batches: x and y must hold the same number of samples, got x of shape "
                f"{self.x.shape} and y of shape {self.y.shape}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"batches: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_remainder = bool(drop_remainder)
        self._generator = None if seed is None else _random.Generator(seed)

    def __len__(self) -> int:
        """The number of batches in one pass."""
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_remainder else -(-n // b)

    def __iter__(self):
        n = len(self.x)
        order = None
        if self.shuffle:
            generator = self._generator or _random.get_global_generator()
            order = generator.permutation(n)
        for i in range(len(self)):
            lo, hi = i * self.batch_size, min((i + 1) * self.batch_size, n)
            index = slice(lo, hi) if order is None else order[lo:hi]
            if self._samples:
                rows = range(lo, hi) if order is None else order[lo:hi].tolist()
                yield _collate([self.x[r] for r in rows], i)
            elif self.y is None:
                yield self.x[index]
            else:
                yield self.x[index], self.y[index]

    def __repr__(self) -> str:
        return (
            f"Batches({len(self.x)} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_remainder={self.drop_remainder}: {len(self)} batches)"
        )


def _is_sample_sequence(x) -> bool:
    """True for a torch-style data set: a sequence (not an array) whose samples are tuples."""
    if isinstance(x, (xp.ndarray, xp.generic, str, bytes)) or hasattr(x, "__array__"):
        return False
    try:
        first = x[0] if len(x) else None
    except (TypeError, KeyError, IndexError):
        return False
    if isinstance(first, dict):
        raise TypeError(
            "batches: samples that are dicts are not supported; return (x, y) tuples from "
            "the data set's __getitem__, or pass x and y as arrays"
        )
    if not isinstance(first, tuple):
        return False
    if isinstance(x, (list, tuple)):  # points written as tuples are an array of rows
        try:
            return xp.asarray(x).dtype == object
        except ValueError:  # ragged: samples of different shapes
            return True
    return True


def _collate(samples: list, batch: int) -> tuple:
    """Stack sample tuples field by field: ``[(x0, y0), (x1, y1)]`` -> ``(X, Y)``."""
    width = len(samples[0])
    fields = []
    for j in range(width):
        try:
            fields.append(xp.stack([xp.asarray(s[j]) for s in samples]))
        except (ValueError, TypeError, IndexError) as exc:
            shapes = sorted({str(xp.shape(s[j])) for s in samples if len(s) > j})
            lengths = sorted({len(s) for s in samples})
            raise ValueError(
                f"batches: cannot stack field {j} of the samples of batch {batch} (sample "
                f"lengths {lengths}, field shapes {shapes}): every sample must be a tuple of "
                f"the same length whose fields have one shape ({exc})"
            ) from None
    return tuple(fields)


def batches(
    x, y=None, batch_size: int = 32, shuffle: bool = True, seed=None, drop_remainder: bool = False
):
    """One pass over ``(x, y)`` in mini-batches: an iterator of ``(x_batch, y_batch)`` pairs.

    The same ``seed`` gives the same order; every sample appears exactly once.
    For several passes (epochs) use ``Batches``, which is re-iterable and has a
    ``len``.  Arguments are those of ``Batches``.

    Example:
        >>> import numpy as np
        >>> from wengert import datasets
        >>> x = np.arange(5.0)
        >>> [b.tolist() for b in datasets.batches(x, batch_size=2, shuffle=False)]
        [[0.0, 1.0], [2.0, 3.0], [4.0]]
        >>> [b.tolist() for b in datasets.batches(x, batch_size=2, drop_remainder=True, seed=3)]
        [[4.0, 2.0], [1.0, 3.0]]
    """
    return iter(Batches(x, y, batch_size, shuffle, seed, drop_remainder))
