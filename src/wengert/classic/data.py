"""Small data sets for the classic units: Boolean truth tables and two Gaussian clouds."""

from __future__ import annotations

import itertools

from wengert.backend import xp

__all__ = ["BOOLEAN_FUNCTIONS", "boolean_inputs", "gaussian_clouds"]

# Output bits of the two-input functions the chapter discusses, in the order of
# itertools.product([0, 1], repeat=2): (0, 0), (0, 1), (1, 0), (1, 1).
BOOLEAN_FUNCTIONS = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "XNOR": (1, 0, 0, 1),
}


def boolean_inputs(n: int = 2):
    """Every input of n bits, in the order of ``itertools.product([0, 1], repeat=n)``.

    Args:
        n: the number of inputs.

    Returns:
        An int64 array of shape (2**n, n).

    Example:
        >>> boolean_inputs(2).tolist()
        [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    return xp.asarray(list(itertools.product((0, 1), repeat=n)), dtype=xp.int64).reshape(2**n, n)


def gaussian_clouds(n_per_class: int = 50, separation: float = 5.0, seed: int = 0):
    """Two round Gaussian clouds in the plane, labelled 0 and 1, centred ``separation`` apart.

    With unit variance and the default separation the clouds are far enough apart
    that the sample drawn is linearly separable (checked in the tests for the default
    seed); the class-0 cloud is centred at (-s/2, -s/2)/√2 and class 1 opposite it.

    Args:
        n_per_class: points per cloud.
        separation: the distance between the two centres.
        seed: the random seed.

    Returns:
        (X, y): X of shape (2 n_per_class, 2) float64 and y of int64 labels.

    Example:
        >>> X, y = gaussian_clouds(5)
        >>> X.shape, y.tolist()
        ((10, 2), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    """
    rng = xp.random.default_rng(seed)
    centre = xp.full(2, separation / 2 / 2**0.5)
    X = xp.concatenate(
        [rng.normal(size=(n_per_class, 2)) - centre, rng.normal(size=(n_per_class, 2)) + centre]
    )
    y = xp.repeat(xp.asarray([0, 1], dtype=xp.int64), n_per_class)
    return X, y
