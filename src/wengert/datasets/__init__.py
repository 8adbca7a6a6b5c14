"""Data sets and mini-batches: synthetic problems, the 8x8 digits, MNIST-style IDX files.

Nothing is ever downloaded.  The synthetic problems are generated from a seed;
the 8x8 digits ship inside wengert; MNIST and Fashion-MNIST are read from IDX
files that you provide (``mnist.load_data`` says where it looked).

Example:
    >>> import wengert as wg
    >>> x, y = wg.datasets.xor()
    >>> [yb.tolist() for _, yb in wg.datasets.batches(x, y, batch_size=2, shuffle=False)]
    [[0, 1], [1, 0]]
"""

from . import digits, fashion_mnist, idx, mnist
from .batching import Batches, batches
from .idx import IDXError, read_idx, write_idx
from .synthetic import blobs, spirals, two_moons, xor

__all__ = [
    "Batches",
    "IDXError",
    "batches",
    "blobs",
    "digits",
    "fashion_mnist",
    "idx",
    "mnist",
    "read_idx",
    "spirals",
    "two_moons",
    "write_idx",
    "xor",
]
