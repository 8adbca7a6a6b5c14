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

    Args:
        x: array of samples (first axis = samples); anything ``xp.asarray`` takes.
        y: optional array of targets with the same number of samples.
        batch_size: samples per batch, at least 1; the last batch of a pass may
            be smaller unless ``drop_remainder``.
        shuffle: shuffle each pass (else batches follow the data's order, and
            are views of it).
        seed: seed of the shuffling generator; None for the global one.
        drop_remainder: skip the last, smaller batch of each pass.

    Yields:
        ``(x_batch, y_batch)`` ndarray pairs, or ``x_batch`` alone when ``y`` is None.

    Example:
        >>> import numpy as np
        >>> from wengert.datasets import Batches
        >>> data = Batches(np.zeros((10, 3)), np.arange(10), batch_size=4, seed=1)
        >>> len(data), [len(yb) for _, yb in data]
        (3, [4, 4, 2])
        >>> sorted(int(v) for _, yb in data for v in yb) == list(range(10))
        True
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
        self.x = xp.asarray(x)
        self.y = None if y is None else xp.asarray(y)
        if self.x.ndim == 0:
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
            if self.y is None:
                yield self.x[index]
            else:
                yield self.x[index], self.y[index]

    def __repr__(self) -> str:
        return (
            f"Batches({len(self.x)} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_remainder={self.drop_remainder}: {len(self)} batches)"
        )


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
