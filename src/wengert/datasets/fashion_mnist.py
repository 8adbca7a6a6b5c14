"""Fashion-MNIST (Zalando; 70,000 28x28 grey images of clothes, 10 classes), from IDX files.

A drop-in replacement for MNIST that is harder to score well on.  wengert
downloads nothing: ``load_data`` looks for the four standard files (each raw or
gzipped) in the ``path`` given, then ``~/.wengert/datasets/fashion-mnist/``,
then where Debian's package puts them (``apt-get install dataset-fashion-mnist``
installs them into ``/usr/share/datasets/fashion-mnist/``).

Example:
    >>> from wengert.datasets import fashion_mnist
    >>> fashion_mnist.CLASS_NAMES[9]
    'Ankle boot'
"""

from __future__ import annotations

import os

from . import _mnist_like

__all__ = ["load_data", "CLASS_NAMES", "DEBIAN_FOLDER", "FILES", "NAME"]

NAME = "fashion-mnist"
FILES = _mnist_like.FILES
DEBIAN_FOLDER = "/usr/share/datasets/fashion-mnist"
"""Where Debian's ``dataset-fashion-mnist`` package installs the four gzipped files."""

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""The meaning of labels 0..9."""


def load_data(path=None):
    """Load Fashion-MNIST as Keras does: ``((x_train, y_train), (x_test, y_test))``.

    Args:
        path: a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
            t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be
            gzipped, with .gz added).  Searched first; then
            ``~/.wengert/datasets/fashion-mnist/``, then ``DEBIAN_FOLDER``.

    Returns:
        uint8 images of shape (60000, 28, 28) and (10000, 28, 28), uint8 labels
        0..9 indexing ``CLASS_NAMES`` (for the real files).

    Raises:
        FileNotFoundError: no folder holds all four files; the message lists
            the folders searched, the file names, and the Debian package.
        IDXError: a file is garbled, or images and labels do not match.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from wengert.datasets import fashion_mnist, idx
        >>> with tempfile.TemporaryDirectory() as d:
        ...     for split, n in (("train", 4), ("t10k", 1)):
        ...         idx.write_idx(os.path.join(d, f"{split}-images-idx3-ubyte"),
        ...                       np.zeros((n, 28, 28), np.uint8))
        ...         idx.write_idx(os.path.join(d, f"{split}-labels-idx1-ubyte"),
        ...                       np.full(n, 9, np.uint8))
        ...     (x, y), _ = fashion_mnist.load_data(d)
        >>> x.shape, fashion_mnist.CLASS_NAMES[y[0]]
        ((4, 28, 28), 'Ankle boot')
    """
    folders = ([os.fspath(path)] if path is not None else []) + [
        _mnist_like.user_folder(NAME),
        DEBIAN_FOLDER,
    ]
    hint = (
        "On Debian and its derivatives, `apt-get install dataset-fashion-mnist` installs them into "
        f"{DEBIAN_FOLDER}."
    )
    return _mnist_like.load("Fashion-MNIST", folders, hint)
