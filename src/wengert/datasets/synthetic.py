"""Small synthetic classification problems: XOR, two moons, spirals, Gaussian blobs.

Each returns ``(x, y)``: float32 features of shape (n_samples, n_features) and
int64 class labels of shape (n_samples,).  The same ``seed`` gives the same
arrays on every call (``seed=None`` draws fresh ones).  Samples come shuffled
unless ``shuffle=False``, in which case they are grouped by class.

Example:
    >>> from wengert import datasets
    >>> x, y = datasets.two_moons(100, seed=3)
    >>> x.shape, x.dtype, y.shape, y.dtype
    ((100, 2), dtype('float32'), (100,), dtype('int64'))
"""

from __future__ import annotations

import math
import numbers

from ..backend import float32, int64, xp

__all__ = ["xor", "two_moons", "spirals", "blobs"]


def xor():
    """The four points of the XOR problem, which no single threshold unit can separate.

    Returns:
        ``(x, y)``: x float32 of shape (4, 2) with the corners of the unit square,
        y int64 of shape (4,) with ``y = x[:, 0] XOR x[:, 1]``.

    Example:
        >>> from wengert import datasets
        >>> x, y = datasets.xor()
        >>> x
        array([[0., 0.],
               [0., 1.],
               [1., 0.],
               [1., 1.]], dtype=float32)
        >>> y
        array([0, 1, 1, 0])
    """
    x = xp.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float32)
    y = xp.array([0, 1, 1, 0], dtype=int64)
    return x, y


def two_moons(n_samples: int = 200, noise: float = 0.1, seed: int | None = 0, shuffle=True):
    """Two interleaving half circles, a problem a linear model cannot solve.

    Class 0 lies on the upper half of the unit circle, class 1 on a lower half
    circle shifted by (1, 0.5); Gaussian noise of standard deviation ``noise``
    is added to both coordinates (as in scikit-learn's ``make_moons``).

    Args:
        n_samples: total number of points; class 0 gets ``n_samples // 2``.
        noise: standard deviation of the Gaussian noise (0 for exact curves).
        seed: seed of the random stream; None for a fresh one.
        shuffle: shuffle the samples (else class 0 comes first).

    Returns:
        ``(x, y)``: x float32 (n_samples, 2), y int64 (n_samples,) in {0, 1}.

    Example:
        >>> from wengert import datasets
        >>> x, y = datasets.two_moons(6, noise=0.0, shuffle=False)
        >>> y
        array([0, 0, 0, 1, 1, 1])
        >>> x[:3].round(3)
        array([[ 1.,  0.],
               [ 0.,  1.],
               [-1.,  0.]], dtype=float32)
    """
    n = _count(n_samples, "n_samples", minimum=1)
    _non_negative(noise, "noise")
    rng = xp.random.default_rng(seed)
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = xp.linspace(0.0, math.pi, n_outer)
    t_inner = xp.linspace(0.0, math.pi, n_inner)
    outer = xp.stack([xp.cos(t_outer), xp.sin(t_outer)], axis=1)
    inner = xp.stack([1.0 - xp.cos(t_inner), 0.5 - xp.sin(t_inner)], axis=1)
    x = xp.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = xp.concatenate([xp.zeros(n_outer, int64), xp.ones(n_inner, int64)])
    return _finish(x, y, rng, shuffle)


def spirals(
    n_samples: int = 200,
    n_classes: int = 2,
    noise: float = 0.1,
    seed: int | None = 0,
    turns: float = 1.5,
    shuffle=True,
):
    """Interleaved spiral arms, one per class, winding out from the origin.

    Arm ``k`` follows radius ``r = t`` and angle ``2 pi k / n_classes + 2 pi turns t``
    for ``t`` evenly spaced in [0, 1] (the CS231n spiral); Gaussian noise of
    standard deviation ``noise`` is added to both coordinates.

    Args:
        n_samples: total number of points, shared as evenly as possible
            between the arms (the first arms get one more when it does not divide).
        n_classes: number of arms, at least 1.
        noise: standard deviation of the Gaussian noise.
        seed: seed of the random stream; None for a fresh one.
        turns: how many full turns each arm makes.
        shuffle: shuffle the samples (else grouped by class).

    Returns:
        ``(x, y)``: x float32 (n_samples, 2) within about [-1, 1], y int64 in
        ``range(n_classes)``.

    Example:
        >>> from wengert import datasets
        >>> x, y = datasets.spirals(300, n_classes=3, seed=0)
        >>> x.shape, sorted(set(y.tolist()))
        ((300, 2), [0, 1, 2])
        >>> bool(abs(x).max() < 1.5)
        True
    """
    n = _count(n_samples, "n_samples", minimum=1)
    k = _count(n_classes, "n_classes", minimum=1)
    _non_negative(noise, "noise")
    rng = xp.random.default_rng(seed)
    xs, ys = [], []
    for c, m in enumerate(_split_evenly(n, k)):
        t = xp.linspace(0.0, 1.0, m)
        angle = 2 * math.pi * c / k + 2 * math.pi * turns * t
        xs.append(xp.stack([t * xp.cos(angle), t * xp.sin(angle)], axis=1))
        ys.append(xp.full(m, c, dtype=int64))
    x = xp.concatenate(xs) + noise * rng.standard_normal((n, 2))
    return _finish(x, xp.concatenate(ys), rng, shuffle)


def blobs(
    n_samples: int = 200,
    centers=3,
    n_features: int = 2,
    cluster_std=1.0,
    seed: int | None = 0,
    center_box: tuple = (-10.0, 10.0),
    shuffle=True,
):
    """Isotropic Gaussian clusters, one per class (like scikit-learn's ``make_blobs``).

    Args:
        n_samples: total number of points, shared as evenly as possible
            between the clusters.
        centers: the number of clusters (their centres drawn uniformly from
            ``center_box`` in every coordinate), or an array of shape
            (n_clusters, n_features) of centres.
        n_features: dimension of each point when ``centers`` is a number.
        cluster_std: standard deviation of each cluster: one number, or one
            per cluster.
        seed: seed of the random stream; None for a fresh one.
        center_box: (low, high) bounds of random centres.
        shuffle: shuffle the samples (else grouped by class).

    Returns:
        ``(x, y)``: x float32 (n_samples, n_features), y int64 cluster indices.

    Example:
        >>> from wengert import datasets
        >>> x, y = datasets.blobs(90, centers=[[0, 0], [5, 5], [0, 5]], cluster_std=0.1)
        >>> x[y == 1].mean(axis=0).round(1)
        array([5., 5.], dtype=float32)
    """
    n = _count(n_samples, "n_samples", minimum=1)
    rng = xp.random.default_rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _count(centers, "centers", minimum=1)
        d = _count(n_features, "n_features", minimum=1)
        low, high = center_box
        means = rng.uniform(low, high, size=(k, d))
    else:
        means = xp.asarray(centers, dtype=float)
        if means.ndim != 2 or means.shape[0] < 1:
            raise ValueError(
                "blobs: centers must be a count or an array of shape (n_clusters, n_features), "
                f"got shape {means.shape}"
            )
        k, d = means.shape
    stds = xp.asarray(cluster_std, dtype=float).reshape(-1)
    if stds.size not in (1, k) or not (stds >= 0).all():
        raise ValueError(
            f"blobs: cluster_std must be one number >= 0 or one per cluster ({k} of them), "
            f"got {cluster_std!r}"
        )
    stds = xp.broadcast_to(stds, (k,))
    counts = _split_evenly(n, k)
    x = xp.concatenate(
        [means[c] + stds[c] * rng.standard_normal((m, d)) for c, m in enumerate(counts)]
    )
    y = xp.concatenate([xp.full(m, c, dtype=int64) for c, m in enumerate(counts)])
    return _finish(x, y, rng, shuffle)


def _finish(x, y, rng, shuffle):
    if shuffle:
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
    return x.astype(float32), y


def _split_evenly(n: int, k: int) -> list:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _non_negative(value, name: str) -> None:
    if not (isinstance(value, numbers.Real) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
