"""MNIST handwritten digits (70,000 28x28 grey images), read from IDX files you provide.

wengert downloads nothing.  ``load_data`` looks for the four standard files
(each raw or gzipped) in the ``path`` given, then in ``~/.wengert/datasets/mnist/``.

Example:
    >>> from wengert.datasets import mnist
    >>> mnist.FILES[0]
    'train-images-idx3-ubyte'
"""

from __future__ import annotations

import os

from . import _mnist_like

__all__ = ["load_data", "FILES", "NAME"]

NAME = "mnist"
FILES = _mnist_like.FILES


def load_data(path=None):
    """Load MNIST as Keras does: ``((x_train, y_train), (x_test, y_test))``.

    Args:
        path: a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
            t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be
            gzipped, with .gz added).  Searched first; then
            ``~/.wengert/datasets/mnist/``.

    Returns:
        uint8 images of shape (60000, 28, 28) and (10000, 28, 28), uint8 labels
        0..9 (for the real files; whatever the files hold otherwise).

    Raises:
        FileNotFoundError: no folder holds all four files; the message lists
            the folders searched and the file names.
        IDXError: a file is garbled, or images and labels do not match.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from wengert.datasets import idx, mnist
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for split, n in (("train", 3), ("t10k", 2)):
        ...         idx.write_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz"),
        ...                       np.zeros((n, 28, 28), np.uint8))
        ...         idx.write_idx(os.path.join(d, f"{split}-labels-idx1-ubyte.gz"),
        ...                       np.arange(n, dtype=np.uint8))
        ...     (x_train, y_train), (x_test, y_test) = mnist.load_data(d)
        >>> x_train.shape, y_test
        ((3, 28, 28), array([0, 1], dtype=uint8))
    """
    folders = ([os.fspath(path)] if path is not None else []) + [_mnist_like.user_folder(NAME)]
    return _mnist_like.load("MNIST", folders)
