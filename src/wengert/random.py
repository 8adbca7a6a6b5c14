"""Random numbers, reproducible from a seed (tier 0: arrays only, wrapped as Tensors).

``set_seed(s)`` reseeds the global generator, so a program that calls it first
draws the same numbers every run.  An op-level ``seed=`` gives each (global seed,
op seed) pair its own stream, as TensorFlow does: successive calls with the same
op seed draw successive values (A1, A2, ...), the same in every run, and
``set_seed`` starts every such stream over.  A ``Generator`` is an explicit,
independent stream whose state can be saved.

Every sampling function's ``seed=`` takes, besides an int:

* a ``Generator``: the values are drawn from it (and it advances);
* a ``SeedGenerator`` (Keras 3's ``keras.random.SeedGenerator``): each call draws
  from the generator's next seed, so successive calls differ and a generator made
  from the same seed gives the same sequence again;
* a pair of ints ``(s1, s2)`` (or a Tensor of two ints): a *stateless* draw, the same
  values on every call, as TensorFlow's ``tf.random.stateless_normal`` and the
  ``stateless_*`` functions here.

TensorFlow's and Keras 3's integer seeds mean different things.  Here, as in
TensorFlow, ``normal(shape, seed=42)`` is an *op seed*: combined with the global seed
it names a stream, and two calls give two different values (the same two in every
run).  In Keras 3, ``keras.random.normal(shape, seed=42)`` is stateless: every call
gives the same values.  For Keras's behaviour pass ``seed=(42, 0)`` (what Keras turns
an int seed into) or call ``stateless_normal(shape, seed=42)``; for Keras's
"different values each call, reproducibly" pass a ``SeedGenerator``.  The values
themselves differ from TensorFlow's and Keras's (NumPy's PCG64 generates them).

Example:
    >>> import wengert as wg
    >>> a, b = wg.random.normal((2,), seed=(42, 0)), wg.random.normal((2,), seed=(42, 0))
    >>> bool((a.numpy() == b.numpy()).all())  # Keras 3's int seed: the same each call
    True
    >>> g = wg.random.SeedGenerator(1337)
    >>> c, d = wg.random.normal((2,), seed=g), wg.random.normal((2,), seed=g)
    >>> bool((c.numpy() == d.numpy()).all())  # a SeedGenerator moves on
    False
"""

from __future__ import annotations

from .backend import as_dtype, float32, xp
from .tensor import Tensor, Variable
from .tensor import wrap as _wrap

__all__ = [
    "Generator",
    "SeedGenerator",
    "set_seed",
    "get_global_generator",
    "normal",
    "uniform",
    "truncated_normal",
    "categorical",
    "shuffle",
    "dropout",
    "randint",
    "stateless_normal",
    "stateless_uniform",
    "stateless_truncated_normal",
    "stateless_categorical",
]


class Generator:
    """An explicit random stream (NumPy's PCG64 underneath).

    Example:
        >>> import wengert as wg
        >>> a = wg.random.Generator.from_seed(1).normal((2,))
        >>> b = wg.random.Generator.from_seed(1).normal((2,))
        >>> bool((a.numpy() == b.numpy()).all())
        True
    """

    def __init__(self, seed=None):
        self._rng = xp.random.default_rng(_non_negative(seed))

    @classmethod
    def from_seed(cls, seed) -> Generator:
        """A generator whose stream is determined by ``seed``."""
        return cls(seed)

    @classmethod
    def from_non_deterministic_state(cls) -> Generator:
        """A generator seeded from the operating system's entropy."""
        return cls(None)

    def get_state(self) -> dict:
        """The generator's state as plain ints and strings (JSON-serialisable)."""
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        """Restore a state returned by ``get_state``."""
        self._rng.bit_generator.state = state

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=float32):
        """Samples from N(mean, stddev^2); mean and stddev broadcast against ``shape``."""
        dtype = _float_dtype("normal", dtype)
        a = self._rng.standard_normal(_shape(shape)) * _array(stddev) + _array(mean)
        return _wrap(a.astype(dtype), "random.normal")

    def uniform(self, shape, minval=0.0, maxval=None, dtype=float32):
        """Samples from U[minval, maxval) (maxval defaults to 1 for floats; required for ints)."""
        dtype = as_dtype(dtype)
        minval = _array(minval)
        if dtype.kind in "iu":
            if maxval is None:
                raise ValueError("uniform: maxval is required for integer dtypes")
            bounds = (minval, _array(maxval))
            # TensorFlow converts the bounds to the dtype, which refuses 0.5 rather than truncating
            if not all(b.dtype.kind in "iub" or _integral(b) for b in bounds):
                raise TypeError(
                    f"uniform: bounds {minval.tolist()} and {bounds[1].tolist()} must be "
                    f"integers for dtype {dtype}"
                )
            lo, hi = (b.astype(xp.int64) for b in bounds)
            a = self._rng.integers(lo, hi, _shape(shape))  # one read: a SeedGenerator steps once
        else:
            high = 1.0 if maxval is None else _array(maxval)
            a = self._rng.uniform(minval, high, _shape(shape)).astype(dtype)
            # rounding to a narrower float can reach maxval: keep the interval half-open
            top = xp.nextafter(xp.asarray(high, dtype), xp.asarray(minval, dtype))
            a = xp.minimum(a, top, out=a) if a.ndim else xp.minimum(a, top)
            return _wrap(a, "random.uniform")
        return _wrap(a.astype(dtype), "random.uniform")

    def truncated_normal(self, shape, mean=0.0, stddev=1.0, dtype=float32):
        """N(mean, stddev^2) samples redrawn until within two standard deviations."""
        dtype = _float_dtype("truncated_normal", dtype)
        shape = _shape(shape)
        rng = self._rng  # read once: a SeedGenerator moves on once per call, not per redraw
        a = rng.standard_normal(shape)
        bad = xp.abs(a) > 2
        while bad.any():
            a[bad] = rng.standard_normal(int(bad.sum()))
            bad = xp.abs(a) > 2
        a = a * _array(stddev) + _array(mean)
        return _wrap(a.astype(dtype), "random.truncated_normal")

    def categorical(self, logits, num_samples, dtype="int64"):
        """Draw ``num_samples`` class indices per row of ``logits`` (batch, classes)."""
        lg = xp.asarray(logits._value if hasattr(logits, "_value") else logits, dtype="float64")
        if lg.ndim != 2:
            raise ValueError(f"categorical: logits must be (batch, classes), got {lg.shape}")
        p = xp.exp(lg - lg.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        cdf = xp.cumsum(p, axis=1)
        u = self._rng.uniform(size=(lg.shape[0], int(num_samples), 1))
        idx = (u > cdf[:, None, :]).sum(axis=-1)
        return _wrap(xp.minimum(idx, lg.shape[1] - 1).astype(dtype), "random.categorical")

    def permutation(self, n: int):
        """A random permutation of range(n) as an ndarray (for shuffling batches)."""
        return self._rng.permutation(n)


class SeedGenerator(Generator):
    """Keras 3's ``keras.random.SeedGenerator``: a seed and a counter that each draw
    moves on, so successive draws differ and the sequence repeats from the same seed.

    Pass it as any sampling function's ``seed=`` (``wg.random.normal(shape,
    seed=gen)``), or as an initializer's seed; it is a ``Generator`` too, whose every
    draw uses the next seed.  Its ``state`` is a non-trainable ``wg.Variable`` of two
    int64 (seed, counter), as Keras's; ``get_state``/``set_state`` read and restore it as
    JSON data, so a model checkpoint that saves its generators saves it.

    Args:
        seed: an int; None draws one from the operating system's entropy.
        name: a name for the state variable.

    Example:
        >>> import wengert as wg
        >>> gen = wg.random.SeedGenerator(1337)
        >>> a = wg.random.normal((2,), seed=gen)
        >>> gen.state.numpy()  # the counter moved on
        array([1337,    1])
        >>> again = wg.random.SeedGenerator(1337)
        >>> bool((wg.random.normal((2,), seed=again).numpy() == a.numpy()).all())
        True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator: unexpected arguments {sorted(kwargs)}")
        if seed is None:
            seed = int(xp.random.SeedSequence().entropy % (2**31 - 1)) + 1
        if isinstance(seed, bool) or not isinstance(seed, (int, xp.integer)):
            raise ValueError(
                f"SeedGenerator: seed must be an integer or None, got {type(seed).__name__} "
                f"{seed!r}"
            )
        self.name = "seed_generator" if name is None else str(name)
        self._initial_seed = int(seed)
        self.state = Variable(
            xp.array([int(seed), 0], dtype=xp.int64), trainable=False, name=f"{self.name}_state"
        )

    def next(self, ordered: bool = True) -> Tensor:
        """The current (seed, counter) pair as a Tensor; then move the state on.

        ``ordered`` adds one to the counter (Keras's default); otherwise both numbers
        step through Keras's hash, ``(state + 1) * 5387 % 933199``.

        Example:
            >>> import wengert as wg
            >>> gen = wg.random.SeedGenerator(7)
            >>> gen.next().numpy(), gen.next().numpy()
            (array([7, 0]), array([7, 1]))
        """
        value = self.state._value.copy()
        if ordered:
            self.state.assign(value + xp.array([0, 1], dtype=value.dtype))
        else:
            self.state.assign((value + 1) * 5387 % 933199)
        return _wrap(value, "random.SeedGenerator.next")

    @property
    def _rng(self):
        # Each draw: a stream determined by the next (seed, counter), as Keras draws
        # each sample statelessly from ``seed_generator.next()``.  Every reading moves
        # the counter on, so each Generator method reads it exactly once per call.
        return xp.random.default_rng(_non_negative(self.next()._value.tolist()))

    def get_state(self) -> dict:
        """The state as JSON data: ``"seed_generator"``: [seed, counter], beside the PCG64
        state of the stream its next draw uses (so it reads as a ``Generator``'s state)."""
        pair = [int(v) for v in self.state._value]
        state = xp.random.default_rng(_non_negative(pair)).bit_generator.state
        return {**state, "seed_generator": pair}

    def set_state(self, state: dict) -> None:
        """Restore a state returned by ``get_state``."""
        pair = state.get("seed_generator") if isinstance(state, dict) else None
        if not (isinstance(pair, list) and len(pair) == 2 and all(type(v) is int for v in pair)):
            raise ValueError(
                "SeedGenerator.set_state: expected get_state()'s dict with "
                f"'seed_generator': [seed, counter], got {state!r}"
            )
        self.state.assign(xp.array(pair, dtype=xp.int64))

    def get_config(self) -> dict:
        """``{"seed": the seed given, "name": ...}`` (Keras's config)."""
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        """A generator from ``get_config()``'s dict (its counter starts over)."""
        return cls(**config)


def layer_stream(layer: str, seed) -> Generator:
    """A layer's own random stream: from the int ``seed``, else from a seed drawn from
    the global generator.  As in Keras, a layer's seed is an int (or None); a Generator
    or SeedGenerator is refused with a message that names the layer.

    Example:
        >>> import wengert as wg
        >>> layer_stream("Dropout", 3).normal((2,)).shape
        (2,)
    """
    if seed is None:
        return Generator(int(get_global_generator().uniform((), 0, 2**62, "int64")))
    if isinstance(seed, bool) or not isinstance(seed, (int, xp.integer)):
        raise TypeError(
            f"{layer}: seed must be an int or None (a layer's seed is an int, as in Keras), "
            f"got {type(seed).__name__}; pass seed=1, not a Generator or SeedGenerator"
        )
    return Generator(int(seed))


def _non_negative(seed):
    """A seed NumPy accepts: negative ints (TensorFlow takes any int64) map to
    ``seed % 2**64``, the same stream every time."""
    if isinstance(seed, (list, tuple)):
        return [_non_negative(s) for s in seed]
    if isinstance(seed, (int, xp.integer)) and seed < 0:
        return int(seed) % 2**64
    return seed


def _integral(a) -> bool:
    return bool((xp.isfinite(a) & (a == xp.round(a))).all())


def _array(value):
    """A distribution's parameter (number, array or Tensor) as an ndarray."""
    return xp.asarray(value._value if hasattr(value, "_value") else value)


def _float_dtype(op: str, dtype):
    dtype = as_dtype(dtype)
    if dtype.kind != "f":  # TensorFlow's kernels: half, float, double only
        raise TypeError(f"random.{op}: dtype must be a floating-point dtype, got {dtype}")
    return dtype


def _shape(shape):
    if hasattr(shape, "_value"):
        shape = shape._value.tolist()
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


_global_seed = None
_global = Generator()


def set_seed(seed: int) -> None:
    """Reseed the global generator (and make op-level seeds depend on it).

    Example:
        >>> import wengert as wg
        >>> wg.random.set_seed(0); a = wg.random.uniform((3,))
        >>> wg.random.set_seed(0); b = wg.random.uniform((3,))
        >>> bool((a.numpy() == b.numpy()).all())
        True
    """
    global _global, _global_seed
    _global_seed = int(seed)
    _global = Generator(_global_seed)
    _op_streams.clear()


def get_global_generator() -> Generator:
    """The generator that functions without an explicit ``seed`` draw from.

    Example:
        >>> import wengert as wg
        >>> wg.random.get_global_generator().normal((2,)).shape
        (2,)
    """
    return _global


_op_streams: dict = {}  # (global seed, op seed) -> its stream, until the next set_seed


def _op_stream_states() -> dict:
    """The global seed and the state of every op-level stream, JSON-serialisable (checkpoints)."""
    return {
        "global_seed": _global_seed,
        "streams": [[g, s, stream.get_state()] for (g, s), stream in _op_streams.items()],
    }


def _checked_op_streams(saved) -> tuple:
    """``_op_stream_states()``'s dict as (global seed, {key: Generator}); raises ValueError,
    TypeError or KeyError for anything else.  Nothing changes until ``_restore_op_streams``."""
    if saved in ([], None):  # checkpoints written before op streams were saved
        return _global_seed, dict(_op_streams)
    if not isinstance(saved, dict) or not isinstance(saved.get("streams"), list):
        raise ValueError(f"op streams must be a dict with a list of streams, got {saved!r}")
    seed = saved.get("global_seed")
    if seed is not None and type(seed) is not int:
        raise ValueError(f"the global seed must be an integer or None, got {seed!r}")
    streams = {}
    for entry in saved["streams"]:
        if not (
            isinstance(entry, list) and len(entry) == 3 and all(type(k) is int for k in entry[:2])
        ):
            raise ValueError(f"an op stream must be [global seed, op seed, state], got {entry!r}")
        stream = Generator(0)
        stream.set_state(entry[2])
        streams[(entry[0], entry[1])] = stream
    return seed, streams


def _restore_op_streams(checked: tuple) -> None:
    """Make ``_checked_op_streams``'s result the global seed and op-level streams."""
    global _global_seed
    _global_seed, streams = checked
    _op_streams.clear()
    _op_streams.update(streams)


def _stateless(seed, op: str) -> Generator:
    """The stream a stateless seed names: a pair of ints, or an int ``s`` read as
    ``(s, 0)`` (Keras 3's reading)."""
    if isinstance(seed, Tensor):
        seed = seed._value
    if isinstance(seed, (int, xp.integer)) and not isinstance(seed, bool):
        seed = [int(seed), 0]
    if isinstance(seed, (list, tuple)) and len(seed) == 2:
        ints = [int(v) for v in seed if isinstance(v, (int, xp.integer)) and type(v) is not bool]
        if len(ints) == 2:
            if not all(-(2**63) <= v < 2**64 for v in ints):
                raise ValueError(
                    f"random.{op}: each int of a stateless seed must be in [-2**63, 2**64), "
                    f"got {seed!r}"
                )
            return Generator(_non_negative(ints))
    pair = xp.asarray(seed) if isinstance(seed, (list, tuple, xp.ndarray)) else None
    if pair is None or pair.shape != (2,) or pair.dtype.kind not in "iu":
        raise ValueError(
            f"random.{op}: a stateless seed must be an int or a pair of ints, got {seed!r}"
        )
    return Generator(_non_negative([int(v) for v in pair]))


def _generator(seed, op: str = "normal") -> Generator:
    if seed is None:
        return _global
    if isinstance(seed, Generator):  # a SeedGenerator too: each draw takes its next seed
        return seed
    if isinstance(seed, (list, tuple)) or (
        isinstance(seed, (Tensor, xp.ndarray)) and xp.ndim(seed) == 1
    ):
        return _stateless(seed, op)
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise TypeError(
            f"random.{op}: seed must be an int, a pair of ints, a wg.random.Generator or a "
            f"wg.random.SeedGenerator, got {type(seed).__name__}"
        ) from None
    key = (0 if _global_seed is None else _global_seed, int(seed))
    stream = _op_streams.get(key)
    if stream is None:
        stream = _op_streams[key] = Generator(list(key))
    return stream


def normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Samples from N(mean, stddev^2) (float32 by default).

    Example:
        >>> import wengert as wg
        >>> wg.random.normal((2, 3), seed=1).shape
        (2, 3)
    """
    return _generator(seed, "normal").normal(shape, mean, stddev, dtype)


def uniform(shape, minval=0.0, maxval=None, dtype=float32, seed=None, name=None):
    """Samples from U[minval, maxval) (float32 in [0, 1) by default).

    Example:
        >>> import wengert as wg
        >>> x = wg.random.uniform((100,), seed=1).numpy()
        >>> bool((x >= 0).all() and (x < 1).all())
        True
    """
    return _generator(seed, "uniform").uniform(shape, minval, maxval, dtype)


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zero each element with probability ``rate`` and scale the others by
    ``1 / (1 - rate)``, so the expected value is unchanged (``tf.nn.dropout``, TF 2's
    ``rate`` form; Keras 3's ``keras.random.dropout``).  ``noise_shape`` (broadcastable
    to x's shape) shares one draw along the axes where it is 1.  The kept elements'
    gradient is the same scale; the dropped ones get zero.

    Example:
        >>> import wengert as wg
        >>> y = wg.nn.dropout(wg.ones((1000,)), rate=0.5, seed=3).numpy()
        >>> sorted(set(y.tolist())), 400 < int((y == 0).sum()) < 600
        ([0.0, 2.0], True)
    """
    from .core import operand

    x = operand(x)
    if x._value.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating-point tensor, got {x.dtype}{list(x.shape)}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be a number in [0, 1), got {rate!r}")
    if rate == 0:
        return x
    shape = x.shape if noise_shape is None else tuple(int(n) for n in noise_shape)
    try:
        xp.broadcast_shapes(shape, x.shape)
    except ValueError:
        raise ValueError(
            f"dropout: noise_shape {shape} does not broadcast to the input's shape {x.shape}"
        ) from None
    keep = _generator(seed, "dropout")._rng.random(shape) >= rate
    return x * _wrap((keep / (1.0 - rate)).astype(x._value.dtype), "dropout_mask")


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Normal samples within two standard deviations of the mean.

    Example:
        >>> import wengert as wg
        >>> bool(abs(wg.random.truncated_normal((1000,), seed=1).numpy()).max() <= 2)
        True
    """
    return _generator(seed, "truncated_normal").truncated_normal(shape, mean, stddev, dtype)


def categorical(logits, num_samples, dtype="int64", seed=None, name=None):
    """Class indices drawn from the softmax of each row of ``logits``.

    Example:
        >>> import wengert as wg
        >>> wg.random.categorical([[0.0, 100.0]], 3, seed=1).numpy()
        array([[1, 1, 1]])
    """
    return _generator(seed, "categorical").categorical(logits, num_samples, dtype)


def shuffle(value, seed=None, name=None):
    """A copy of ``value`` with its first axis randomly permuted.

    Example:
        >>> import wengert as wg
        >>> sorted(wg.random.shuffle([1, 2, 3], seed=1).numpy().tolist())
        [1, 2, 3]
    """
    from .tensor import _to_array

    a = _to_array(value)
    return _wrap(a[_generator(seed, "shuffle").permutation(a.shape[0])], "random.shuffle")


def randint(shape, minval, maxval, dtype="int32", seed=None, name=None):
    """Integers drawn uniformly from [minval, maxval) (Keras 3's ``keras.random.randint``).

    Example:
        >>> import wengert as wg
        >>> x = wg.random.randint((100,), 2, 5, seed=1).numpy()
        >>> x.dtype.name, sorted(set(x.tolist()))
        ('int32', [2, 3, 4])
    """
    if as_dtype(dtype).kind not in "iu":
        raise TypeError(f"random.randint: dtype must be an integer dtype, got {dtype}")
    return _generator(seed, "randint").uniform(shape, minval, maxval, dtype)


def stateless_normal(shape, seed, mean=0.0, stddev=1.0, dtype=float32, name=None):
    """N(mean, stddev^2) samples determined by ``seed`` alone: the same on every call
    (TensorFlow's ``tf.random.stateless_normal``; Keras 3's int seeds behave so).

    Args:
        shape: the output's shape.
        seed: a pair of ints, or an int ``s`` read as ``(s, 0)`` as Keras 3 does.
        mean: the mean.
        stddev: the standard deviation.
        dtype: a floating-point dtype.
        name: ignored.

    Example:
        >>> import wengert as wg
        >>> a = wg.random.stateless_normal((3,), seed=(1, 2))
        >>> bool((a.numpy() == wg.random.stateless_normal((3,), seed=(1, 2)).numpy()).all())
        True
    """
    return _stateless(seed, "stateless_normal").normal(shape, mean, stddev, dtype)


def stateless_uniform(shape, seed, minval=0.0, maxval=None, dtype=float32, name=None):
    """U[minval, maxval) samples determined by ``seed`` alone (``tf.random.stateless_uniform``).

    Example:
        >>> import wengert as wg
        >>> a = wg.random.stateless_uniform((3,), seed=5).numpy()
        >>> bool((a == wg.random.stateless_uniform((3,), seed=(5, 0)).numpy()).all())
        True
    """
    return _stateless(seed, "stateless_uniform").uniform(shape, minval, maxval, dtype)


def stateless_truncated_normal(shape, seed, mean=0.0, stddev=1.0, dtype=float32, name=None):
    """Truncated normal samples determined by ``seed`` alone.

    Example:
        >>> import wengert as wg
        >>> bool(abs(wg.random.stateless_truncated_normal((100,), seed=(3, 4)).numpy()).max() <= 2)
        True
    """
    gen = _stateless(seed, "stateless_truncated_normal")
    return gen.truncated_normal(shape, mean, stddev, dtype)


def stateless_categorical(logits, num_samples, seed, dtype="int64", name=None):
    """Class indices from the softmax of each row of ``logits``, determined by ``seed``.

    Example:
        >>> import wengert as wg
        >>> wg.random.stateless_categorical([[0.0, 100.0]], 2, seed=(1, 1)).numpy()
        array([[1, 1]])
    """
    return _stateless(seed, "stateless_categorical").categorical(logits, num_samples, dtype)
