"""The 8x8 handwritten digits (1,797 images, 10 classes), shipped inside wengert.

This is the test set of the UCI "Optical Recognition of Handwritten Digits"
data (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0), as redistributed by
scikit-learn; see ``data/DIGITS_LICENSE.txt``.  Each pixel counts the "on"
pixels of a 4x4 block of a 32x32 bitmap, so it runs from 0 to 16.  It needs no
download: a real, small problem that trains in seconds on a CPU.

Example:
    >>> from wengert.datasets import digits
    >>> (x_train, y_train), (x_test, y_test) = digits.load_data()
    >>> x_train.shape, x_test.shape, y_train.dtype
    ((1438, 8, 8), (359, 8, 8), dtype('int64'))
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import io

from ..backend import float32, int64, xp

__all__ = ["load_data", "N_SAMPLES", "N_CLASSES"]

N_SAMPLES = 1797
N_CLASSES = 10
_FILE = "digits.csv.gz"


@functools.lru_cache(maxsize=1)
def _raw():
    """(pixels int64 (1797, 64) in 0..16, labels int64 (1797,)), parsed once per process."""
    blob = importlib.resources.files(__package__).joinpath("data", _FILE).read_bytes()
    table = xp.loadtxt(
        io.StringIO(gzip.decompress(blob).decode("ascii")), delimiter=",", dtype=int64
    )
    if table.shape != (N_SAMPLES, 65):
        # Only a damaged installation gets here: the file ships with the package.
        raise ValueError(
            f"wengert's {_FILE} should hold {N_SAMPLES} rows of 65 numbers, found {table.shape}"
        )
    pixels, labels = table[:, :64], table[:, 64]
    pixels.flags.writeable = labels.flags.writeable = False  # the cache is shared
    return pixels, labels


def load_data(test_split: float = 0.2, seed: int | None = 0, flatten: bool = False):
    """The digits, split into a training and a test set, stratified by class.

    From each class, ``round(test_split * count)`` images (chosen by ``seed``)
    go to the test set and the rest to the training set, so both keep the
    classes' proportions; each set is then shuffled.

    Args:
        test_split: the fraction of each class held out for testing, in [0, 1).
        seed: seed of the split and shuffle; None for a fresh one.
        flatten: return images as vectors of 64 instead of 8x8.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: x float32 of shape (n, 8, 8)
        (or (n, 64)) with pixel values scaled from 0..16 to [0, 1], y int64 in
        0..9.  n is 1,438 and 359 for the default split.

    Example:
        >>> import numpy as np
        >>> from wengert.datasets import digits
        >>> (x, y), (xt, yt) = digits.load_data(test_split=0.5, flatten=True)
        >>> x.shape, xt.shape, float(x.max())
        ((899, 64), (898, 64), 1.0)
        >>> np.bincount(yt)
        array([89, 91, 88, 92, 90, 91, 90, 90, 87, 90])
    """
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"digits.load_data: test_split must be in [0, 1), got {test_split!r}")
    pixels, labels = _raw()
    rng = xp.random.default_rng(seed)
    train, test = [], []
    for c in range(N_CLASSES):
        members = rng.permutation(xp.flatnonzero(labels == c))
        n_test = round(test_split * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    sets = []
    for parts in (train, test):
        order = rng.permutation(xp.concatenate(parts))
        x = pixels[order].astype(float32) / 16.0
        sets.append((x if flatten else x.reshape(-1, 8, 8), labels[order].copy()))
    return tuple(sets)
