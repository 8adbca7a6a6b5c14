"""``wg.initializers``: Keras's weight initializers, by name or object.

An initializer is called with a shape and a dtype and returns a new wengert
``Tensor`` (a layer wraps it in a Variable).  Seeding follows Keras 3: an
initializer seeded with an integer returns the same values on every call, and
so does an unseeded one, which draws its integer seed once, when it is built,
from ``wg.random``'s global generator (so ``wg.random.set_seed`` makes it
reproducible).  For different values on each call pass a
``wg.random.Generator`` as the seed: it is a stream that advances (Keras's
``SeedGenerator``).

Fans follow Keras: a dense kernel (in, out) has fan_in = in and fan_out = out;
a convolution kernel (..., in, out) multiplies both by the receptive field,
the product of the leading (spatial) dimensions.
"""

from __future__ import annotations

import math
import warnings

from . import random
from .backend import as_dtype, xp
from .tensor import Tensor, wrap

__all__ = [
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "Identity",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "LecunUniform",
    "LecunNormal",
    "Orthogonal",
    "compute_fans",
    "get",
    "serialize",
    "deserialize",
]

# The standard deviation of a unit normal truncated to [-2, 2]: dividing by it
# gives the truncated samples the variance the scaling rule asks for.
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape) -> tuple:
    """Keras's (fan_in, fan_out) of a weight shape.

    Args:
        shape: () and (n,) give (1, 1) and (n, n); (in, out) a dense kernel;
            (..., in, out) a convolution kernel, both fans times the receptive
            field (the product of the leading dimensions).

    Returns:
        A tuple of two ints.

    Example:
        >>> from wengert.initializers import compute_fans
        >>> compute_fans((784, 128)), compute_fans((3, 3, 16, 32))
        ((784, 128), (144, 288))
    """
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive_field = 1
    for d in shape[:-2]:
        receptive_field *= int(d)
    return int(shape[-2]) * receptive_field, int(shape[-1]) * receptive_field


def _shape(shape, who: str) -> tuple:
    if isinstance(shape, Tensor):
        shape = shape._value.tolist()
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: shape must be a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{who}: shape {shape} has a negative dimension")
    return shape


def _dtype(dtype, who: str, floating: bool):
    dtype = as_dtype("float32" if dtype is None else dtype)
    if floating and dtype.kind != "f":
        raise TypeError(f"{who}: random values need a floating-point dtype, got {dtype}")
    return dtype


class Initializer:
    """Base class: ``initializer(shape, dtype)`` returns a new Tensor.

    Subclasses implement ``__call__`` and, when they take arguments,
    ``get_config``; ``from_config(get_config())`` rebuilds an equal one.

    Example:
        >>> import wengert as wg
        >>> from wengert.initializers import Initializer
        >>> class Twos(Initializer):
        ...     def __call__(self, shape, dtype=None):
        ...         return wg.fill(shape, 2.0)
        >>> Twos()((2,)).numpy()
        array([2., 2.], dtype=float32)
    """

    def __call__(self, shape, dtype=None) -> Tensor:
        """A new Tensor of ``shape`` and ``dtype`` (float32 when None)."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self) -> dict:
        """The constructor arguments, as a JSON-serialisable dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """An initializer built from ``get_config()``'s dict."""
        return cls(**config)

    def clone(self):
        """A new initializer with the same configuration."""
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.Zeros()((2,)).numpy()
        array([0., 0.], dtype=float32)
    """

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of zeros of ``shape`` and ``dtype`` (float32 when None)."""
        shape = _shape(shape, "Zeros")
        return wrap(xp.zeros(shape, _dtype(dtype, "Zeros", False)), "initializers.Zeros")


class Ones(Initializer):
    """All ones.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.Ones()((2,), dtype="float64").numpy()
        array([1., 1.])
    """

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of ones of ``shape`` and ``dtype`` (float32 when None)."""
        shape = _shape(shape, "Ones")
        return wrap(xp.ones(shape, _dtype(dtype, "Ones", False)), "initializers.Ones")


class Constant(Initializer):
    """Every element equal to ``value``.

    Args:
        value: a Python number (or an array that broadcasts to the shape).

    Example:
        >>> import wengert as wg
        >>> wg.initializers.Constant(0.5)((3,)).numpy()
        array([0.5, 0.5, 0.5], dtype=float32)
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of ``shape`` filled with the value."""
        shape = _shape(shape, "Constant")
        dtype = _dtype(dtype, "Constant", False)
        value = xp.asarray(self.value)
        try:
            out = xp.broadcast_to(value, shape).astype(dtype)
        except ValueError:
            raise ValueError(
                f"Constant: value of shape {value.shape} does not broadcast to {shape}"
            ) from None
        return wrap(out, "initializers.Constant")

    def get_config(self) -> dict:
        """{"value": value} (a list when the value is an array)."""
        value = self.value
        if hasattr(value, "tolist"):
            value = value.tolist()
        return {"value": value}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only).

    Args:
        gain: the diagonal's value.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.Identity(2.0)((2, 3)).numpy()
        array([[2., 0., 0.],
               [0., 2., 0.]], dtype=float32)
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None) -> Tensor:
        """gain * eye(rows, columns) for a 2-D ``shape``."""
        shape = _shape(shape, "Identity")
        if len(shape) != 2:
            raise ValueError(f"Identity: needs a 2-D shape, got {shape}")
        dtype = _dtype(dtype, "Identity", True)
        return wrap((self.gain * xp.eye(*shape)).astype(dtype), "initializers.Identity")

    def get_config(self) -> dict:
        """{"gain": gain}."""
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """Base of the random initializers: owns the seed (see the module's notes).

    Args:
        seed: an int (same values on every call), None (an int drawn now from
            ``wg.random``'s global generator) or a ``wg.random.Generator``
            (new values on every call).

    Example:
        >>> import wengert as wg
        >>> init = wg.initializers.RandomNormal(seed=1)
        >>> bool((init((3,)).numpy() == init((3,)).numpy()).all())
        True
    """

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, random.Generator):
            if isinstance(seed, bool) or not hasattr(seed, "__index__"):
                raise TypeError(
                    f"{type(self).__name__}: seed must be an int, None or a "
                    f"wg.random.Generator, got {type(seed).__name__}"
                )
            seed = int(seed)
        self._init_seed = seed
        if seed is None:
            gen = random.get_global_generator()
            seed = int(gen.uniform((), 0, 2**31 - 1, dtype="int64")._value)
        self.seed = seed
        self._calls = 0

    def _generator(self) -> random.Generator:
        if isinstance(self.seed, random.Generator):
            return self.seed
        self._calls += 1
        if self._init_seed is None and self._calls == 2:
            warnings.warn(
                f"{type(self).__name__} is unseeded and was called again: it returns the "
                "same values each time (Keras 3 semantics). Give each weight its own "
                "initializer, or pass seed=wg.random.Generator(...) for a fresh draw "
                "per call.",
                stacklevel=3,
            )
        return random.Generator(self.seed)

    def get_config(self) -> dict:
        """{"seed": the seed given} (None for unseeded or Generator-seeded ones)."""
        seed = self._init_seed
        return {"seed": seed if isinstance(seed, int) else None}


class RandomNormal(RandomInitializer):
    """Samples from N(mean, stddev^2).

    Args:
        mean: the mean.
        stddev: the standard deviation.
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.RandomNormal(stddev=1.0, seed=0)((2, 2)).shape
        (2, 2)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of normal samples of ``shape`` and ``dtype`` (float32 when None)."""
        shape = _shape(shape, "RandomNormal")
        dtype = _dtype(dtype, "RandomNormal", True)
        return self._generator().normal(shape, self.mean, self.stddev, dtype)

    def get_config(self) -> dict:
        """{"mean", "stddev", "seed"}."""
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    """Samples from U[minval, maxval).

    Args:
        minval: the lower bound.
        maxval: the upper bound.
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> x = wg.initializers.RandomUniform(-1.0, 1.0, seed=0)((1000,)).numpy()
        >>> bool(x.min() >= -1 and x.max() < 1)
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = minval
        self.maxval = maxval

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of uniform samples of ``shape`` and ``dtype`` (float32 when None)."""
        shape = _shape(shape, "RandomUniform")
        dtype = _dtype(dtype, "RandomUniform", True)
        return self._generator().uniform(shape, self.minval, self.maxval, dtype)

    def get_config(self) -> dict:
        """{"minval", "maxval", "seed"}."""
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class TruncatedNormal(RandomInitializer):
    """N(mean, stddev^2) samples, redrawn until within two standard deviations of the mean.

    Args:
        mean: the mean.
        stddev: the standard deviation before truncation.
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> x = wg.initializers.TruncatedNormal(stddev=1.0, seed=0)((1000,)).numpy()
        >>> bool(abs(x).max() <= 2)
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = mean
        self.stddev = stddev

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of truncated normal samples of ``shape`` and ``dtype``."""
        shape = _shape(shape, "TruncatedNormal")
        dtype = _dtype(dtype, "TruncatedNormal", True)
        return self._generator().truncated_normal(shape, self.mean, self.stddev, dtype)

    def get_config(self) -> dict:
        """{"mean", "stddev", "seed"}."""
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Samples whose variance is scale / n, n the fan chosen by ``mode``.

    With n = fan_in, fan_out or (fan_in + fan_out) / 2 (at least 1):
    "truncated_normal" draws from a normal truncated at two standard deviations
    with stddev sqrt(scale / n) / 0.8796 (so the truncated variance is scale / n),
    "untruncated_normal" from N(0, scale / n), and "uniform" from U[-l, l) with
    l = sqrt(3 scale / n).

    Args:
        scale: the variance's numerator (> 0).
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "truncated_normal" ("normal" is an alias),
            "untruncated_normal" or "uniform".
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> init = wg.initializers.VarianceScaling(2.0, "fan_in", "uniform", seed=0)
        >>> bool(abs(init((50, 10)).numpy()).max() < (3 * 2.0 / 50) ** 0.5)
        True
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        name = type(self).__name__
        if not scale > 0:
            raise ValueError(f"{name}: scale must be positive, got {scale!r}")
        mode = str(mode).lower()
        if mode not in _MODES:
            raise ValueError(f"{name}: mode must be one of {', '.join(_MODES)}; got {mode!r}")
        distribution = str(distribution).lower()
        if distribution == "normal":  # Keras's older name for the truncated one
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"{name}: distribution must be one of {', '.join(_DISTRIBUTIONS)}; "
                f"got {distribution!r}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of samples of ``shape`` and ``dtype`` (float32 when None)."""
        name = type(self).__name__
        shape = _shape(shape, name)
        dtype = _dtype(dtype, name, True)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        gen = self._generator()
        if self.distribution == "truncated_normal":
            return gen.truncated_normal(shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV, dtype)
        if self.distribution == "untruncated_normal":
            return gen.normal(shape, 0.0, math.sqrt(variance), dtype)
        limit = math.sqrt(3.0 * variance)
        return gen.uniform(shape, -limit, limit, dtype)

    def get_config(self) -> dict:
        """{"scale", "mode", "distribution", "seed"}."""
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
        }


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed scale, mode and distribution: its config is the seed."""

    _ARGS: tuple = ()

    def __init__(self, seed=None):
        super().__init__(*self._ARGS, seed=seed)

    def get_config(self) -> dict:
        """{"seed": seed}."""
        return RandomInitializer.get_config(self)


class GlorotUniform(_Preset):
    """Glorot (Xavier) uniform: U[-l, l) with l = sqrt(6 / (fan_in + fan_out)).

    Args:
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> w = wg.initializers.GlorotUniform(seed=0)((3, 5)).numpy()
        >>> bool(abs(w).max() < (6 / 8) ** 0.5)
        True
    """

    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot (Xavier) normal: truncated normal with variance 2 / (fan_in + fan_out).

    Args:
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.GlorotNormal(seed=0)((3, 5)).dtype
        dtype('float32')
    """

    _ARGS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He uniform: U[-l, l) with l = sqrt(6 / fan_in) (for ReLU layers).

    Args:
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> bool(abs(wg.initializers.HeUniform(seed=0)((6, 4)).numpy()).max() < 1)
        True
    """

    _ARGS = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He normal: truncated normal with variance 2 / fan_in (for ReLU layers).

    Args:
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.HeNormal(seed=0)((3, 3, 8, 16)).shape
        (3, 3, 8, 16)
    """

    _ARGS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """LeCun uniform: U[-l, l) with l = sqrt(3 / fan_in) (for SELU layers).

    Args:
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> bool(abs(wg.initializers.LecunUniform(seed=0)((3, 4)).numpy()).max() < 1)
        True
    """

    _ARGS = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """LeCun normal: truncated normal with variance 1 / fan_in (for SELU layers).

    Args:
        seed: see ``RandomInitializer``.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.LecunNormal(seed=0)((4, 2)).shape
        (4, 2)
    """

    _ARGS = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A random orthogonal matrix times ``gain`` (Saxe et al.), reshaped to ``shape``.

    The shape is flattened to (prod(shape[:-1]), shape[-1]); the Q factor of a
    Gaussian matrix, with its columns' signs fixed by R's diagonal so the
    result is uniform over orthogonal matrices, gives orthonormal columns
    (tall) or rows (wide).

    Args:
        gain: the multiplier.
        seed: see ``RandomInitializer``.

    Example:
        >>> import numpy as np, wengert as wg
        >>> q = wg.initializers.Orthogonal(seed=0)((4, 4)).numpy()
        >>> bool(np.allclose(q.T @ q, np.eye(4), atol=1e-6))
        True
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None) -> Tensor:
        """A Tensor of ``shape`` (at least 2-D) with orthonormal rows or columns."""
        shape = _shape(shape, "Orthogonal")
        dtype = _dtype(dtype, "Orthogonal", True)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of rank 2 or more, got {shape}")
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        a = self._generator().normal((max(rows, cols), min(rows, cols)), dtype="float64")._value
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diag(r))
        if rows < cols:
            q = q.T
        return wrap((self.gain * q).reshape(shape).astype(dtype), "initializers.Orthogonal")

    def get_config(self) -> dict:
        """{"gain", "seed"}."""
        return {"gain": self.gain, **super().get_config()}


_CLASSES = {
    cls.__name__: cls
    for cls in (
        Zeros,
        Ones,
        Constant,
        Identity,
        RandomNormal,
        RandomUniform,
        TruncatedNormal,
        VarianceScaling,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunUniform,
        LecunNormal,
        Orthogonal,
    )
}
# Keras's snake_case names, and its short aliases.
_NAMES = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "identity": Identity,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform,
    "he_normal": HeNormal,
    "lecun_uniform": LecunUniform,
    "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
    "zero": Zeros,
    "one": Ones,
    "normal": RandomNormal,
    "uniform": RandomUniform,
}


def _valid() -> str:
    return ", ".join(list(_NAMES) + list(_CLASSES))


def get(identifier):
    """An initializer from a name, a config dict, a class, an instance or a callable.

    Args:
        identifier: a Keras name ("glorot_uniform", "he_normal", "zeros", ...)
            or class name ("GlorotUniform"), giving a new instance; a dict
            {"class_name": ..., "config": {...}}; an Initializer (returned as
            is); a callable ``f(shape, dtype)`` (returned as is); or None.

    Returns:
        An initializer, or None for None.

    Raises:
        ValueError: an unknown name (the message lists the valid ones).

    Example:
        >>> import wengert as wg
        >>> wg.initializers.get("he_normal")
        HeNormal(seed=None)
        >>> wg.initializers.get({"class_name": "Constant", "config": {"value": 2.0}})
        Constant(value=2.0)
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(
                f"initializers.get: unknown initializer {identifier!r}; valid names: {_valid()}"
            )
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"initializers.get: cannot interpret {identifier!r} (a {type(identifier).__name__}) "
        f"as an initializer; valid names: {_valid()}"
    )


def serialize(initializer) -> dict:
    """``{"class_name": ..., "config": {...}}`` for a built-in initializer.

    Args:
        initializer: an Initializer.

    Returns:
        A JSON-serialisable dict that ``get``/``deserialize`` turn back into one.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.serialize(wg.initializers.RandomUniform(-1.0, 1.0, seed=3))
        {'class_name': 'RandomUniform', 'config': {'minval': -1.0, 'maxval': 1.0, 'seed': 3}}
    """
    if not isinstance(initializer, Initializer):
        raise ValueError(f"initializers.serialize: {initializer!r} is not an Initializer")
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config: dict):
    """An initializer from ``serialize``'s dict (also Keras's names as class_name).

    Args:
        config: {"class_name": name, "config": constructor arguments}.

    Returns:
        A new Initializer.

    Example:
        >>> import wengert as wg
        >>> wg.initializers.deserialize({"class_name": "HeUniform", "config": {"seed": 1}})
        HeUniform(seed=1)
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"initializers.deserialize: expected {{'class_name': ..., 'config': ...}}, "
            f"got {config!r}"
        )
    name = config["class_name"]
    cls = _CLASSES.get(name) or _NAMES.get(name)
    if cls is None:
        raise ValueError(
            f"initializers.deserialize: unknown initializer {name!r}; valid names: {_valid()}"
        )
    return cls.from_config(dict(config.get("config") or {}))
