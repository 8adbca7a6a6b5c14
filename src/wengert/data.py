"""Input pipelines: ``tf.data.Dataset``'s commonly used subset, with TensorFlow's semantics.

A ``Dataset`` is a re-iterable sequence of *elements*; an element is an array or a nested
structure (tuples, named tuples, dicts) of arrays, its *components*.  As in TensorFlow, a
Python list is one component (converted to an array), not a structure, except that a
function given to ``map`` or ``reduce`` may return a list, read as a tuple (as TensorFlow
does).  Dicts are walked in sorted key order, as TensorFlow's ``nest`` walks them, so
elements whose dicts list the same keys in other orders line up.  Each ``for`` loop over a
dataset is one pass (an epoch): ``model.fit(ds, epochs=3)`` iterates it three times.

Iterating yields wengert Tensors, as TensorFlow yields EagerTensors (what a GradientTape
loop wants); ``as_numpy_iterator()`` yields NumPy arrays (0-d components as NumPy scalars),
read-only: an element of ``from_tensor_slices`` is a view of the array it was made from.
Functions given to ``map``, ``filter`` and ``reduce`` get Tensors too, and a tuple element
is passed as separate arguments.

``from_tensor_slices`` and ``from_tensors`` do not copy NumPy arrays (unlike TensorFlow,
which copies them into tensors): changes made to an array later show up in the dataset's
elements; pass ``x.copy()`` to freeze it.  Python values get TensorFlow's dtypes (floats
float32, ints int32); NumPy arrays keep theirs, as does a list of arrays of one dtype.

Datasets made by slicing arrays (``from_tensor_slices``, ``from_tensors``) stay *indexed*
through ``shuffle``, ``repeat``, ``take``, ``skip``, ``cache`` and ``prefetch``: those move
integer indices around, and ``batch`` cuts each batch from the arrays with one fancy index
per component, so ``from_tensor_slices((x, y)).shuffle(len(x)).batch(64)`` costs about what
``model.fit(x, y, shuffle=True)`` costs.  ``zip`` of such datasets (as made, before any
shuffle) is indexed too, over the zipped arrays.  Other datasets (``range``,
``from_generator``, ``map``, ...) run element by element, as TensorFlow's do; ``map`` after
``batch`` runs once per batch.

``shuffle`` follows TensorFlow's buffered algorithm: it fills a buffer of ``buffer_size``
elements and each output is drawn uniformly from the buffer, its slot refilled by the next
input element (a buffer at least as long as the data gives a uniform permutation).  Its
orders are reproducible from ``seed`` (with the global seed, as TensorFlow's op seeds) or,
with ``seed=None``, from ``wg.random.set_seed`` called before the dataset is made.

Example:
    >>> import numpy as np
    >>> from wengert import data
    >>> x, y = np.arange(10.0).reshape(5, 2), np.array([0, 1, 0, 1, 1])
    >>> ds = data.Dataset.from_tensor_slices((x, y)).batch(2)
    >>> [yb.tolist() for _, yb in ds.as_numpy_iterator()]
    [[0, 1], [0, 1], [1]]
    >>> len(ds), int(ds.cardinality())
    (3, 3)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from . import random as _random
from .backend import as_dtype, int64, xp
from .tensor import Tensor, wrap
from .tensor import _to_array as _tf_array

__all__ = ["Dataset", "TensorSpec", "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY"]

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
INFINITE, UNKNOWN = INFINITE_CARDINALITY, UNKNOWN_CARDINALITY

_DEFAULT_GRAPH_SEED = 87654321  # TensorFlow's global seed when only an op seed is given
_CHUNK = 1024  # indices per chunk when a buffered shuffle streams them


# -- structures -----------------------------------------------------------------------------
def _is_namedtuple(s) -> bool:
    return isinstance(s, tuple) and hasattr(type(s), "_fields")


def _keys(d: dict) -> list:
    """A dict's keys in sorted order, as TensorFlow's ``nest`` walks dicts (so elements whose
    dicts list the same keys in other orders line up); repr order where keys don't sort."""
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=repr)


def _leaves(s) -> list:
    """The components of a structure, in order (dicts in sorted key order)."""
    if isinstance(s, dict):
        return [leaf for k in _keys(s) for leaf in _leaves(s[k])]
    if isinstance(s, tuple):
        return [leaf for v in s for leaf in _leaves(v)]
    return [s]


def _pack(template, leaves: Iterator):
    """``template``'s structure with its components taken from ``leaves`` in order (a
    dict's in sorted key order; the result lists them in ``template``'s order)."""
    if isinstance(template, dict):
        packed = {k: _pack(template[k], leaves) for k in _keys(template)}
        return {k: packed[k] for k in template}
    if _is_namedtuple(template):
        return type(template)(*(_pack(v, leaves) for v in template))
    if isinstance(template, tuple):
        return tuple(_pack(v, leaves) for v in template)
    return next(leaves)


def _map(fn, s):
    return _pack(s, iter([fn(leaf) for leaf in _leaves(s)]))


def _same_structure(a, b, check_types: bool = False) -> bool:
    """Whether ``a`` and ``b`` nest alike: dicts with the same keys (in any order), tuples
    of the same length; with ``check_types`` a named tuple matches only its own type."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and set(a) == set(b)
            and all(_same_structure(a[k], b[k], check_types) for k in a)
        )
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (
            isinstance(a, tuple)
            and isinstance(b, tuple)
            and len(a) == len(b)
            and (
                not check_types
                or (type(a) is type(b) if _is_namedtuple(a) or _is_namedtuple(b) else True)
            )
            and all(_same_structure(u, v, check_types) for u, v in zip(a, b))
        )
    return True


def _list_items(value):
    """The non-list items of a nested list, in order."""
    for v in value:
        if isinstance(v, list):
            yield from _list_items(v)
        else:
            yield v


def _unwrap_list(value):
    if isinstance(value, list):
        return [_unwrap_list(v) for v in value]
    return value._value if isinstance(value, Tensor) else value


def _component(value):
    """One component as an ndarray: Tensors unwrapped, ndarrays as they are (not copied),
    Python values with TensorFlow's dtypes (floats float32, ints int32); a list of arrays
    (or Tensors) that share one dtype keeps it, as TensorFlow's conversion does."""
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, xp.ndarray):
        return value
    if isinstance(value, xp.generic):
        return xp.asarray(value)
    if isinstance(value, (str, bytes)):  # text, for TextVectorization and friends in map
        return xp.asarray(value)
    if isinstance(value, list):
        arrays = (Tensor, xp.ndarray, xp.generic)
        # the first item decides whether to look at all (a list of Python values is long)
        first = next(_list_items(value), None)
        if isinstance(first, (str, bytes)):  # a list of texts: a NumPy string array
            return xp.asarray(value)
        items = list(_list_items(value)) if isinstance(first, arrays) else []
        if items and all(isinstance(v, arrays) for v in items):
            dtypes = {(v._value if isinstance(v, Tensor) else v).dtype for v in items}
            if len(dtypes) == 1:
                return xp.asarray(_unwrap_list(value), dtype=dtypes.pop())
    return _tf_array(value)


_EXPECTED = "an array, a Tensor, a (nested) list of equal-length rows, or a tuple or dict of them"


def _structure(value, method: str | None = None, what: str = "the value"):
    """``value``'s components as ndarrays; with ``method`` a bad component raises an error
    that names ``Dataset.<method>`` and what was expected."""
    if method is None:
        return _map(_component, value)
    if value is None:
        raise TypeError(f"Dataset.{method}: {what} is None; expected {_EXPECTED}")

    def convert(v):
        try:
            return _component(v)
        except (TypeError, ValueError) as e:
            raise type(e)(
                f"Dataset.{method}: cannot convert {_short(v)} (in {what}) to an array; "
                f"expected {_EXPECTED} ({e})"
            ) from None

    return _map(convert, value)


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _returned(value):
    """A function's result as TensorFlow's structured_function reads it: a top-level list
    is a tuple of components (elsewhere a list is one component)."""
    return tuple(value) if type(value) is list else value


def _tensor(a) -> Tensor:
    return wrap(a if isinstance(a, xp.ndarray) else xp.asarray(a), "data")


def _numpy(a):
    """A component for ``as_numpy_iterator``: a NumPy scalar, or a read-only view (a row of
    ``from_tensor_slices`` is a view of the user's array, which must not be written
    through it)."""
    if not isinstance(a, xp.ndarray):
        return a
    if a.ndim == 0:
        return a[()]
    view = a.view()
    view.flags.writeable = False
    return view


def _call(fn, element, tensors=True):
    """``fn`` on an element as TensorFlow calls it: a plain tuple's components as separate
    arguments, anything else (a dict, a named tuple, one component) as one argument."""
    args = _map(_tensor, element) if tensors else element
    return fn(*args) if type(args) is tuple else fn(args)


def _int(value, method: str, name: str, minimum: int | None = None) -> int:
    if isinstance(value, Tensor):
        value = value._value
    if isinstance(value, xp.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, xp.integer)):
        raise TypeError(
            f"Dataset.{method}: {name} must be an integer, got {type(value).__name__} {value!r}"
        )
    if minimum is not None and value < minimum:
        raise ValueError(f"Dataset.{method}: {name} must be at least {minimum}, got {value}")
    return int(value)


def _fn(fn, method: str, name: str):
    if not callable(fn):
        raise TypeError(f"Dataset.{method}: {name} must be callable, got {type(fn).__name__}")
    return fn


def _check_dataset(value, method: str) -> Dataset:
    if not isinstance(value, Dataset):
        raise TypeError(f"Dataset.{method}: expected a Dataset, got {type(value).__name__}")
    return value


class TensorSpec:
    """The shape and dtype of a component (``tf.TensorSpec``); ``None`` marks an unknown size.

    Example:
        >>> from wengert import data
        >>> data.TensorSpec((None, 2), "float32")
        TensorSpec(shape=(None, 2), dtype=float32, name=None)
    """

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype = as_dtype(dtype)
        self.name = name

    @classmethod
    def from_array(cls, a, batch: bool = False) -> TensorSpec:
        shape = a.shape[1:] if batch else xp.shape(a)
        return cls(shape, a.dtype)

    def is_compatible_with(self, a) -> bool:
        """Whether array ``a`` has this dtype and a shape that fits (None matches any size)."""
        shape = xp.shape(a)
        return xp.asarray(a).dtype == self.dtype and (
            self.shape is None
            or (
                len(shape) == len(self.shape)
                and all(s is None or s == d for s, d in zip(self.shape, shape))
            )
        )

    def __eq__(self, other) -> bool:
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.name) == (
            other.shape,
            other.dtype,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self) -> str:
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype}, name={self.name!r})"


def _relaxed(a: TensorSpec, b: TensorSpec) -> TensorSpec:
    """The most specific spec both fit: sizes that differ None, ranks that differ unknown."""
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return TensorSpec(None, a.dtype)
    return TensorSpec(tuple(d if d == e else None for d, e in zip(a.shape, b.shape)), a.dtype)


def _has_dict(s) -> bool:
    if isinstance(s, dict):
        return True
    return isinstance(s, tuple) and any(_has_dict(v) for v in s)


def _dummy(spec):
    """A zero element of ``spec`` (unknown sizes 1): what ``map`` traces its function on."""
    return _map(lambda s: xp.zeros(tuple(1 if d is None else d for d in s.shape), s.dtype), spec)


def _batched_spec(spec, size):
    return _map(lambda s: TensorSpec((size,) + (s.shape or ()), s.dtype), spec)


# -- cardinality and len --------------------------------------------------------------------
class _LengthUnavailable(TypeError, AttributeError):
    """``len()`` of an infinite dataset or one of unknown length.  A TypeError, as
    TensorFlow raises; also an AttributeError, so ``hasattr(ds, "__len__")`` is False for
    such a dataset and a training loop that asks for a length first does not call it."""


class _Length:
    """``Dataset.__len__``: present only when the cardinality is finite and known."""

    def __get__(self, ds, owner=None):
        if ds is None:
            return self
        n = ds._card
        if n == INFINITE:
            raise _LengthUnavailable("The dataset is infinite.")
        if n == UNKNOWN:
            raise _LengthUnavailable(
                "The dataset length is unknown (after filter or from_generator); "
                "use cardinality() or count the elements"
            )
        return lambda: n


def _add(a: int, b: int) -> int:
    if INFINITE in (a, b):
        return INFINITE
    return UNKNOWN if UNKNOWN in (a, b) else a + b


def _epoch_rng(seed):
    """A function giving each pass its own generator: successive passes differ unless
    ``seed`` says the same pass every time (``reshuffle_each_iteration=False``)."""
    base, reshuffle = seed
    count = itertools.count()

    def rng():
        return xp.random.default_rng([base, next(count) if reshuffle else 0])

    return rng


def _buffered_shuffle(items, buffer_size: int, rng):
    """TensorFlow's shuffle: fill a buffer, emit a uniformly chosen slot and refill it."""
    buf, draws, k = [], rng.random(_CHUNK), 0
    for item in items:
        if len(buf) < buffer_size:
            buf.append(item)
            continue
        if k == _CHUNK:
            draws, k = rng.random(_CHUNK), 0
        j = int(draws[k] * len(buf))
        k += 1
        yield buf[j]
        buf[j] = item
    while buf:  # the input ran out: drain the buffer in random order
        if k == _CHUNK:
            draws, k = rng.random(_CHUNK), 0
        j = int(draws[k] * len(buf))
        k += 1
        buf[j], buf[-1] = buf[-1], buf[j]
        yield buf.pop()


def _rechunk(chunks, size: int, drop_remainder: bool):
    """Index chunks cut into batches of ``size`` indices (the last maybe shorter)."""
    pending, have = [], 0
    for c in chunks:
        if not len(c):
            continue
        pending.append(c)
        have += len(c)
        if have >= size:
            cat = xp.concatenate(pending) if len(pending) > 1 else pending[0]
            full = have // size * size
            for start in range(0, full, size):
                yield cat[start : start + size]
            rest = cat[full:]
            pending, have = ([rest] if len(rest) else []), len(rest)
    if have and not drop_remainder:
        yield xp.concatenate(pending)


def _take_chunks(chunks, count: int):
    left = count
    for c in chunks:
        if left <= 0:
            return
        yield c[:left]
        left -= len(c)


def _skip_chunks(chunks, count: int):
    left = count
    for c in chunks:
        if left >= len(c):
            left -= len(c)
            continue
        yield c[left:]
        left = 0


def _stack(parts: list, method: str):
    """Components of several elements stacked into one batch component."""
    first = xp.shape(parts[0])
    for i, p in enumerate(parts):
        if xp.shape(p) != first:
            raise ValueError(
                f"Dataset.{method}: cannot batch components of different shapes: the first "
                f"element had shape {first} and element {i} had shape {xp.shape(p)} (use "
                "padded_batch to pad them to one shape)"
            )
    return xp.stack(parts)


def _slices(table, n: int, spec) -> Dataset:
    """An indexed dataset of the ``n`` rows of ``table``, each pass all of them in order."""
    ds = Dataset(None, n, spec, table, lambda: iter([xp.arange(n)]))
    ds._whole = True
    return ds


# -- the dataset ----------------------------------------------------------------------------


def _groups(elements, size: int, drop: bool):
    """Lists of ``size`` consecutive elements; the last may be shorter unless ``drop``."""
    while True:
        group = list(itertools.islice(elements, size))
        if not group or (drop and len(group) < size):
            return
        yield group


class Dataset:
    """A re-iterable sequence of elements (``tf.data.Dataset``); make one with a
    constructor (``from_tensor_slices``, ``range``, ``from_generator``, ...) and transform
    it (``map``, ``shuffle``, ``batch``, ...).  See the module's docstring.

    Example:
        >>> from wengert import data
        >>> ds = data.Dataset.range(5).map(lambda x: x * 2).batch(2)
        >>> [b.tolist() for b in ds.as_numpy_iterator()]
        [[0, 2], [4, 6], [8]]
    """

    __len__ = _Length()

    def __init__(self, elements=None, cardinality=UNKNOWN, spec=None, table=None, chunks=None):
        # elements(): an iterator over this pass's elements (structures of ndarrays).  An
        # indexed dataset has ``table`` (a structure of arrays sliced on their first axis)
        # and chunks(): an iterator over this pass's row indices, in int arrays.
        self._elements_fn = elements
        self._card = int(cardinality)
        self._spec = spec  # a structure of TensorSpecs, or a function making one
        self._table = table
        self._chunks = chunks
        self._whole = False  # indexed, each pass all rows of the table in order (see zip)
        self._rows = None  # every element's first dimension, where surely known (unbatch)

    # -- internals ----------------------------------------------------------------------
    def _elements(self) -> Iterator:
        if self._elements_fn is not None:
            return self._elements_fn()
        return self._indexed_elements()

    def _indexed_elements(self):
        leaves, template = _leaves(self._table), self._table
        for chunk in self._chunks():
            for i in chunk.tolist():
                yield _pack(template, iter([leaf[i] for leaf in leaves]))

    def _derive(self, cardinality, chunks=None, elements=None, spec=None) -> Dataset:
        """A dataset from this one: indexed (same table, new chunks) when ``chunks`` is
        given and this one is indexed, else element by element."""
        spec = self._spec if spec is None else spec
        if chunks is not None and self._table is not None:
            return Dataset(None, cardinality, spec, self._table, chunks)
        ds = Dataset(elements, cardinality, spec)
        ds._rows = self._rows  # the same elements, reordered or cut
        return ds

    # -- constructors -------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None) -> Dataset:
        """A dataset of the slices of ``tensors`` along their first axis.

        Args:
            tensors: an array (or list, or Tensor), or a nested tuple/dict of them, all with
                the same first dimension.

        Example:
            >>> import numpy as np
            >>> from wengert import data
            >>> ds = data.Dataset.from_tensor_slices(([1, 2], np.array([[3, 4], [5, 6]])))
            >>> [(a.tolist(), b.tolist()) for a, b in ds.as_numpy_iterator()]
            [(1, [3, 4]), (2, [5, 6])]
            >>> ds = data.Dataset.from_tensor_slices({"a": [1, 2], "b": [3.0, 4.0]})
            >>> [{k: v.tolist() for k, v in e.items()} for e in ds.as_numpy_iterator()]
            [{'a': 1, 'b': 3.0}, {'a': 2, 'b': 4.0}]
        """
        table = _structure(tensors, "from_tensor_slices", "tensors")
        leaves = _leaves(table)
        for i, leaf in enumerate(leaves):
            if leaf.ndim == 0:
                raise ValueError(
                    f"Dataset.from_tensor_slices: component {i} is a scalar; slicing needs "
                    "components with at least one dimension (use from_tensors for one element)"
                )
        sizes = [len(leaf) for leaf in leaves]
        if len(set(sizes)) > 1:
            raise ValueError(
                "Dataset.from_tensor_slices: all components must have the same size in their "
                f"first dimension, got sizes {sizes}"
            )
        n = sizes[0]
        spec = _map(lambda a: TensorSpec.from_array(a, batch=True), table)
        return _slices(table, n, spec)

    @staticmethod
    def from_tensors(tensors, name=None) -> Dataset:
        """A dataset of one element, ``tensors`` (an array or a nested structure).

        Example:
            >>> from wengert import data
            >>> [e.tolist() for e in data.Dataset.from_tensors([1, 2, 3]).as_numpy_iterator()]
            [[1, 2, 3]]
        """
        value = _structure(tensors, "from_tensors", "tensors")
        table = _map(lambda a: a[None], value)
        return _slices(table, 1, _map(TensorSpec.from_array, value))

    @staticmethod
    def range(*args, output_type=int64, name=None) -> Dataset:
        """``range(stop)``, ``range(start, stop[, step])`` as a dataset of scalars (int64,
        or ``output_type``).

        Example:
            >>> from wengert import data
            >>> [int(v) for v in data.Dataset.range(2, 10, 3).as_numpy_iterator()]
            [2, 5, 8]
        """
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range: expected 1 to 3 arguments, got {len(args)}")
        bounds = [_int(a, "range", "each argument") for a in args]
        if len(bounds) == 3 and bounds[2] == 0:
            raise ValueError("Dataset.range: step must not be zero")
        span, dtype = range(*bounds), as_dtype(output_type)

        def elements():
            for v in span:
                yield xp.asarray(v, dtype)

        return Dataset(elements, len(span), TensorSpec((), dtype))

    @staticmethod
    def zip(*datasets, name=None) -> Dataset:
        """Elements of several datasets side by side, until the shortest ends.

        ``zip(a, b)`` or ``zip((a, b))`` gives tuples; ``zip({"x": a, "y": b})`` dicts.

        Example:
            >>> from wengert import data
            >>> a, b = data.Dataset.range(1, 4), data.Dataset.range(4, 8)
            >>> [(int(u), int(v)) for u, v in data.Dataset.zip(a, b).as_numpy_iterator()]
            [(1, 4), (2, 5), (3, 6)]
        """
        structure = datasets[0] if len(datasets) == 1 else datasets
        if isinstance(structure, Dataset):
            raise TypeError(
                "Dataset.zip: expected two or more datasets, or a tuple or dict of datasets"
            )
        parts = _leaves(structure)
        if not parts or not all(isinstance(d, Dataset) for d in parts):
            raise TypeError(
                "Dataset.zip: expected datasets, or a nested tuple or dict of datasets; got "
                f"{[type(d).__name__ for d in parts]}"
            )
        card = INFINITE
        for d in parts:
            if d._card == UNKNOWN:
                card = UNKNOWN
                break
            if d._card != INFINITE and (card == INFINITE or d._card < card):
                card = d._card

        def spec():
            return _pack(structure, iter([d.element_spec for d in parts]))

        if all(d._whole for d in parts) and card >= 0:
            # slices side by side: one indexed dataset over the zipped tables, so shuffle
            # and batch still cut each batch with one fancy index per component
            tables = [
                d._table if d._card == card else _map(lambda a: a[:card], d._table) for d in parts
            ]
            return _slices(_pack(structure, iter(tables)), card, spec)

        def elements():
            for items in zip(*(d._elements() for d in parts)):
                yield _pack(structure, iter(items))

        return Dataset(elements, card, spec)

    @staticmethod
    def from_generator(
        generator,
        output_types=None,
        output_shapes=None,
        args=None,
        output_signature=None,
        name=None,
    ) -> Dataset:
        """A dataset of the elements a generator yields; ``generator()`` is called anew
        for each pass (with ``args``, if given).

        ``output_signature`` (a structure of ``TensorSpec``) is checked: each element must
        have its structure, components convertible to its dtypes and shapes that fit
        (None matches any size), else ValueError or TypeError; components are converted to
        its dtypes.  The older ``output_types`` (with optional ``output_shapes``) are
        read the same way.  Without either, elements are taken as they come.

        Example:
            >>> from wengert import data
            >>> def gen():
            ...     for i in range(3):
            ...         yield i, [1] * i
            >>> ds = data.Dataset.from_generator(gen, output_signature=(
            ...     data.TensorSpec((), "int64"), data.TensorSpec((None,), "int64")))
            >>> [(int(a), b.tolist()) for a, b in ds.as_numpy_iterator()]
            [(0, []), (1, [1]), (2, [1, 1])]
        """
        _fn(generator, "from_generator", "generator")
        if output_signature is not None and (output_types is not None or output_shapes):
            raise TypeError(
                "Dataset.from_generator: give output_signature, or output_types (and "
                "output_shapes), not both"
            )
        if output_signature is None and output_types is not None:
            shapes = _leaves_of_shapes(output_shapes, output_types)
            specs = [TensorSpec(sh, ty) for sh, ty in zip(shapes, _leaves(output_types))]
            output_signature = _pack(output_types, iter(specs))
        spec = output_signature
        if spec is not None and not all(isinstance(s, TensorSpec) for s in _leaves(spec)):
            spec = _map(lambda s: TensorSpec(getattr(s, "shape", None), s.dtype), spec)
        call_args = tuple(args or ())

        def elements():
            for value in generator(*call_args):
                yield _structure(value) if spec is None else _conform(value, spec)

        return Dataset(elements, UNKNOWN, spec)

    # -- transformations ----------------------------------------------------------------
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> Dataset:
        """``map_func`` applied to each element (a tuple's components as separate
        arguments, as TensorFlow calls it); it gets Tensors and may return a structure.

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.range(1, 4).map(lambda x: (x, x * x))
            >>> [(int(a), int(b)) for a, b in ds.as_numpy_iterator()]
            [(1, 1), (2, 4), (3, 9)]
        """
        _fn(map_func, "map", "map_func")

        def result(element):
            return _structure(_returned(_call(map_func, element)), "map", "map_func's result")

        def elements():
            for element in self._elements():
                yield result(element)

        def spec():
            try:  # traced once on a zero element, as TensorFlow traces map_func
                traced = result(_dummy(self.element_spec))
            except Exception:  # noqa: BLE001 - a function that needs real data: unknown
                return None
            unknown = any(s.shape and s.shape[0] is None for s in _leaves(self.element_spec))
            return _map(
                lambda a: TensorSpec(
                    ((None,) + a.shape[1:]) if unknown and a.ndim else a.shape, a.dtype
                ),
                traced,
            )

        return Dataset(elements, self._card, spec)

    def filter(self, predicate, name=None) -> Dataset:
        """The elements for which ``predicate`` (called as ``map``'s function is) is True.

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.from_tensor_slices([1, 2, 3]).filter(lambda x: x < 3)
            >>> [int(v) for v in ds.as_numpy_iterator()]
            [1, 2]
        """
        _fn(predicate, "filter", "predicate")

        def elements():
            for element in self._elements():
                keep = _call(predicate, element)
                keep = keep._value if isinstance(keep, Tensor) else keep
                if xp.shape(keep) != () or xp.asarray(keep).dtype != bool:
                    raise TypeError(
                        "Dataset.filter: predicate must return a scalar bool, got "
                        f"{type(keep).__name__} {keep!r}"
                    )
                if keep:
                    yield element

        return Dataset(elements, UNKNOWN, self._spec)  # TensorFlow's: unknown, always

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None) -> Dataset:
        """Elements in random order, TensorFlow's way: from a buffer of ``buffer_size``
        elements each output is drawn uniformly and replaced by the next input element.

        A buffer at least as long as the dataset gives a uniform permutation; a small one
        keeps elements near their positions.  ``seed`` (an int) makes the orders
        reproducible, with the global seed of ``wg.random.set_seed`` if one is set; with
        ``seed=None`` they follow the global generator at the time of this call.  Each pass
        draws a new order unless ``reshuffle_each_iteration=False``.

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.range(6).shuffle(6, seed=1)
            >>> sorted(int(v) for v in ds.as_numpy_iterator())
            [0, 1, 2, 3, 4, 5]
            >>> first = [int(v) for v in ds.as_numpy_iterator()]
            >>> again = [int(v) for v in data.Dataset.range(6).shuffle(6, seed=1)
            ...          .as_numpy_iterator()]
            >>> first != again  # the second pass of ds reshuffled; a new dataset starts over
            True
        """
        size = _int(buffer_size, "shuffle", "buffer_size", minimum=1)
        if seed is None:
            base = int(_random.get_global_generator().uniform((), 0, 2**62, "int64"))
        else:
            op = _int(seed, "shuffle", "seed")
            glob = _random._global_seed  # with the global seed, as TF's get_seed pairs them
            base = int(
                xp.random.default_rng(
                    [_DEFAULT_GRAPH_SEED if glob is None else glob, op & (2**63 - 1)]
                ).integers(2**62)
            )
        rng = _epoch_rng((base, bool(reshuffle_each_iteration)))

        def chunks():
            r = rng()
            if 0 <= self._card <= size:  # the whole dataset in the buffer: a permutation
                order = list(self._chunks())
                order = xp.concatenate(order) if order else xp.arange(0)
                yield order[r.permutation(len(order))]
                return
            stream = (i for c in self._chunks() for i in c.tolist())
            shuffled = _buffered_shuffle(stream, size, r)
            while True:
                block = list(itertools.islice(shuffled, _CHUNK))
                if not block:
                    return
                yield xp.asarray(block, dtype=xp.intp)

        def elements():
            r = rng()
            if 0 <= self._card <= size:  # as above: the same orders as an indexed dataset's
                items = list(self._elements())
                return (items[i] for i in r.permutation(len(items)).tolist())
            return _buffered_shuffle(self._elements(), size, r)

        return self._derive(self._card, chunks, elements)

    def batch(
        self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
        name=None,
    ) -> Dataset:  # fmt: skip
        """Consecutive elements stacked into batches of ``batch_size`` (the last one
        smaller unless ``drop_remainder``).

        Example:
            >>> from wengert import data
            >>> [b.tolist() for b in data.Dataset.range(5).batch(2).as_numpy_iterator()]
            [[0, 1], [2, 3], [4]]
            >>> [b.tolist() for b in data.Dataset.range(5).batch(2, True).as_numpy_iterator()]
            [[0, 1], [2, 3]]
        """
        size = _int(batch_size, "batch", "batch_size", minimum=1)
        drop = bool(drop_remainder)
        card = self._card
        if card >= 0:
            card = card // size if drop else -(-card // size)

        def spec():
            return _batched_spec(self.element_spec, size if drop else None)

        if self._table is not None:
            table, leaves = self._table, _leaves(self._table)

            def indexed():
                for idx in _rechunk(self._chunks(), size, drop):
                    yield _pack(table, iter([leaf[idx] for leaf in leaves]))

            out = Dataset(indexed, card, spec)
        else:

            def elements():
                for group in _groups(self._elements(), size, drop):
                    columns = zip(*(_leaves(e) for e in group))
                    yield _pack(group[0], iter([_stack(list(c), "batch") for c in columns]))

            out = Dataset(elements, card, spec)
        out._rows = size if drop else None
        return out

    def padded_batch(
        self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False,
        name=None,
    ) -> Dataset:  # fmt: skip
        """``batch`` for components of different shapes: each is padded at the end of each
        axis to ``padded_shapes`` (None or -1: the longest in the batch; the default
        everywhere) with ``padding_values`` (0 by default; one value, or a structure).

        Example:
            >>> from wengert import data
            >>> rows = ([1], [2, 2], [3, 3, 3])
            >>> spec = data.TensorSpec((None,), "int64")
            >>> ds = data.Dataset.from_generator(lambda: rows, output_signature=spec)
            >>> [b.tolist() for b in ds.padded_batch(2).as_numpy_iterator()]
            [[[1, 0], [2, 2]], [[3, 3, 3]]]
            >>> [b.tolist() for b in ds.padded_batch(3, padded_shapes=(4,),
            ...                                      padding_values=-1).as_numpy_iterator()]
            [[[1, -1, -1, -1], [2, 2, -1, -1], [3, 3, 3, -1]]]
        """
        size = _int(batch_size, "padded_batch", "batch_size", minimum=1)
        drop = bool(drop_remainder)
        card = self._card
        if card >= 0:
            card = card // size if drop else -(-card // size)
        if padding_values is not None and self.element_spec is not None:
            # checked now, as TensorFlow does, where the elements' dtypes are known
            template = self.element_spec
            values = _spread(padding_values, template, "padding_values")
            for i, (v, s) in enumerate(zip(values, _leaves(template))):
                _padding_value(v, s.dtype, i)

        # sizes not padded to a given length keep the input's only where its shapes are
        # exact (an indexed dataset's arrays); a map's traced spec may be value-dependent
        exact = self._table is not None

        def spec():
            template = self.element_spec
            if template is None:
                return None
            shapes = _spread(padded_shapes, template, "padded_shapes")
            return _pack(
                template,
                iter(
                    [
                        _padded_spec(s, shape, size if drop else None, exact)
                        for s, shape in zip(_leaves(template), shapes)
                    ]
                ),
            )

        def elements():
            for group in _groups(self._elements(), size, drop):
                template = group[0]
                shapes = _spread(padded_shapes, template, "padded_shapes")
                values = _spread(padding_values, template, "padding_values")
                columns = zip(*(_leaves(e) for e in group))
                out = [
                    _pad(list(c), shape, value, i)
                    for i, (c, shape, value) in enumerate(zip(columns, shapes, values))
                ]
                yield _pack(template, iter(out))

        out = Dataset(elements, card, spec)
        out._rows = size if drop else None
        return out

    def unbatch(self, name=None) -> Dataset:
        """Each element split along its first axis into its rows (the inverse of ``batch``).

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.from_tensors([[1, 2], [3, 4]]).unbatch()
            >>> [r.tolist() for r in ds.as_numpy_iterator()]
            [[1, 2], [3, 4]]
        """

        def elements():
            for element in self._elements():
                leaves = _leaves(element)
                sizes = {len(leaf) if xp.ndim(leaf) else None for leaf in leaves}
                if None in sizes or len(sizes) != 1:
                    raise ValueError(
                        "Dataset.unbatch: every component needs the same first dimension, "
                        f"got shapes {[xp.shape(leaf) for leaf in leaves]}"
                    )
                for i in range(sizes.pop()):
                    yield _pack(element, iter([leaf[i] for leaf in leaves]))

        card, rows = self._card, self._rows
        if card > 0 and rows is None and self._table is not None:
            # the table's arrays give exact shapes (a map's traced spec may not)
            firsts = {s.shape[0] if s.shape else None for s in _leaves(self.element_spec)}
            rows = firsts.pop() if len(firsts) == 1 else None
        if card > 0:  # n batches of a known size give n * size rows, as in TensorFlow
            card = UNKNOWN if rows is None else card * rows

        def spec():
            template = self.element_spec
            if template is None:
                return None
            return _map(
                lambda s: TensorSpec(None if s.shape is None else s.shape[1:], s.dtype), template
            )

        return Dataset(elements, card, spec)

    def repeat(self, count=None, name=None) -> Dataset:
        """The dataset ``count`` times over (forever when ``count`` is None or -1).

        Example:
            >>> from wengert import data
            >>> [int(v) for v in data.Dataset.range(3).repeat(2).as_numpy_iterator()]
            [0, 1, 2, 0, 1, 2]
            >>> int(data.Dataset.range(3).repeat().cardinality()) == data.INFINITE_CARDINALITY
            True
        """
        count = -1 if count is None else _int(count, "repeat", "count", minimum=-1)
        n = self._card
        if count < 0:
            card = 0 if n == 0 else INFINITE
        elif count == 0:
            card = 0
        else:
            card = n if n < 0 else n * count

        def passes():
            return itertools.count() if count < 0 else range(count)

        def chunks():
            for _ in passes():
                yield from self._chunks()
                if self._card == 0:
                    return

        def elements():
            for _ in passes():
                empty = True
                for element in self._elements():
                    empty = False
                    yield element
                if empty:
                    return  # as TensorFlow: repeating an empty dataset ends

        return self._derive(card, chunks, elements)

    def take(self, count, name=None) -> Dataset:
        """The first ``count`` elements (all of them when ``count`` is -1).

        Example:
            >>> from wengert import data
            >>> [int(v) for v in data.Dataset.range(10).take(3).as_numpy_iterator()]
            [0, 1, 2]
        """
        count = _int(count, "take", "count", minimum=-1)
        n = self._card
        if count < 0 or n == UNKNOWN:
            card = n
        else:
            card = count if n == INFINITE else min(n, count)
        if count < 0:
            return self._derive(card, self._chunks, self._elements)
        return self._derive(
            card,
            lambda: _take_chunks(self._chunks(), count),
            lambda: itertools.islice(self._elements(), count),
        )

    def skip(self, count, name=None) -> Dataset:
        """All but the first ``count`` elements (none when ``count`` is -1).

        Example:
            >>> from wengert import data
            >>> [int(v) for v in data.Dataset.range(5).skip(3).as_numpy_iterator()]
            [3, 4]
        """
        count = _int(count, "skip", "count", minimum=-1)
        n = self._card
        if n < 0:
            card = n
        else:
            card = 0 if count < 0 else max(0, n - count)
        if count < 0:
            return self._derive(card, lambda: iter(()), lambda: iter(()))
        return self._derive(
            card,
            lambda: _skip_chunks(self._chunks(), count),
            lambda: itertools.islice(self._elements(), count, None),
        )

    def concatenate(self, dataset, name=None) -> Dataset:
        """This dataset's elements, then ``dataset``'s (the same structure and dtypes).

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.range(1, 4).concatenate(data.Dataset.range(4, 8))
            >>> [int(v) for v in ds.as_numpy_iterator()]
            [1, 2, 3, 4, 5, 6, 7]
        """
        other = _check_dataset(dataset, "concatenate")
        a, b = self.element_spec, other.element_spec
        spec = None
        if a is not None and b is not None:
            if not _same_structure(a, b, check_types=True) or [s.dtype for s in _leaves(a)] != [
                s.dtype for s in _leaves(b)
            ]:
                raise TypeError(
                    f"Dataset.concatenate: incompatible elements: {a} and {b} (the structures "
                    "and dtypes must match)"
                )
            # TensorFlow's most specific common shape: sizes that differ become None
            spec = _pack(a, iter([_relaxed(u, v) for u, v in zip(_leaves(a), _leaves(b))]))
        repack = spec is not None and _has_dict(spec)  # dicts in the first's key order

        def elements():
            yield from self._elements()
            for element in other._elements():
                yield _pack(spec, iter(_leaves(element))) if repack else element

        return Dataset(elements, _add(self._card, other._card), spec)

    def enumerate(self, start=0, name=None) -> Dataset:
        """``(index, element)`` pairs, the index an int64 counting from ``start``.

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.from_tensor_slices([7, 8]).enumerate(start=5)
            >>> [(int(i), int(v)) for i, v in ds.as_numpy_iterator()]
            [(5, 7), (6, 8)]
        """
        first = _int(start, "enumerate", "start")

        def elements():
            for i, element in enumerate(self._elements(), first):
                yield xp.asarray(i, int64), element

        return Dataset(elements, self._card, lambda: (TensorSpec((), int64), self.element_spec))

    def cache(self, filename="", name=None) -> Dataset:
        """The elements of the first complete pass kept in memory and replayed after it
        (a shuffle before ``cache`` is then frozen, as in TensorFlow).

        Example:
            >>> from wengert import data
            >>> calls = []
            >>> ds = data.Dataset.range(3).map(lambda x: calls.append(1) or x).cache()
            >>> _ = list(ds), list(ds)
            >>> len(calls)  # the map ran in the first pass only
            3
        """
        if filename:
            raise NotImplementedError(
                "Dataset.cache: only the in-memory cache (filename='') is supported"
            )
        stored: list = []

        def replay(source):
            def run():
                if stored:
                    yield from stored[0]
                    return
                seen = []
                for item in source():
                    seen.append(item)
                    yield item
                stored.append(seen)  # a complete pass only

            return run

        if self._table is not None:
            return self._derive(self._card, replay(self._chunks))
        return Dataset(replay(self._elements), self._card, self._spec)

    def prefetch(self, buffer_size=AUTOTUNE, name=None) -> Dataset:
        """This dataset (accepted for TensorFlow's pipelines; nothing runs ahead here).

        Example:
            >>> from wengert import data
            >>> len(data.Dataset.range(3).prefetch(data.AUTOTUNE))
            3
        """
        _int(buffer_size, "prefetch", "buffer_size", minimum=-1)
        return self

    def apply(self, transformation_func) -> Dataset:
        """``transformation_func(self)``, which must return a Dataset.

        Example:
            >>> from wengert import data
            >>> len(data.Dataset.range(9).apply(lambda ds: ds.take(2)))
            2
        """
        out = _fn(transformation_func, "apply", "transformation_func")(self)
        if not isinstance(out, Dataset):
            raise TypeError(
                f"Dataset.apply: transformation_func must return a Dataset, got "
                f"{type(out).__name__}"
            )
        return out

    def flat_map(self, map_func, name=None) -> Dataset:
        """The elements of the datasets ``map_func`` makes from each element, in order.

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.from_tensor_slices([[1, 2], [3, 4]])
            >>> [int(v) for v in ds.flat_map(data.Dataset.from_tensor_slices)
            ...  .as_numpy_iterator()]
            [1, 2, 3, 4]
        """
        _fn(map_func, "flat_map", "map_func")

        def elements():
            for element in self._elements():
                inner = _returned(_call(map_func, element))
                if not isinstance(inner, Dataset):
                    raise TypeError(
                        f"Dataset.flat_map: map_func must return a Dataset, got "
                        f"{type(inner).__name__}"
                    )
                yield from inner._elements()

        return Dataset(elements, UNKNOWN)

    # -- consuming ----------------------------------------------------------------------
    def __iter__(self) -> Iterator:
        """One pass over the elements, as wengert Tensors (in the elements' structure)."""
        for element in self._elements():
            yield _map(_tensor, element)

    def as_numpy_iterator(self) -> Iterator:
        """One pass over the elements as NumPy arrays (0-d components as NumPy scalars).

        Example:
            >>> from wengert import data
            >>> [v.tolist() for v in data.Dataset.from_tensor_slices([1, 2]).as_numpy_iterator()]
            [1, 2]
        """
        for element in self._elements():
            yield _map(_numpy, element)

    def reduce(self, initial_state, reduce_func):
        """``reduce_func(state, element)`` folded over the elements from ``initial_state``;
        the final state, as Tensors.

        Example:
            >>> from wengert import data
            >>> import numpy as np
            >>> int(data.Dataset.range(5).reduce(np.int64(0), lambda state, x: state + x))
            10
        """
        _fn(reduce_func, "reduce", "reduce_func")
        first = _structure(initial_state, "reduce", "initial_state")
        state = _map(_tensor, first)
        for element in self._elements():
            new = _returned(reduce_func(state, _map(_tensor, element)))
            new = _structure(new, "reduce", "reduce_func's result")
            if not _same_structure(new, first):
                raise TypeError(
                    "Dataset.reduce: reduce_func must return a state with initial_state's "
                    f"structure ({_short(first)}), got {_short(new)}"
                )
            state = _map(_tensor, new)
        return state

    def cardinality(self) -> Tensor:
        """The number of elements, or ``INFINITE_CARDINALITY`` (-1) or
        ``UNKNOWN_CARDINALITY`` (-2), as an int64 scalar Tensor.

        Example:
            >>> from wengert import data
            >>> ds = data.Dataset.range(42)
            >>> int(ds.cardinality()), int(ds.filter(lambda x: x > 1).cardinality())
            (42, -2)
        """
        return wrap(xp.asarray(self._card, int64), "data")

    @property
    def element_spec(self):
        """The structure of ``TensorSpec`` of each element (None where not known).

        Example:
            >>> from wengert import data
            >>> data.Dataset.range(5).batch(2).element_spec
            TensorSpec(shape=(None,), dtype=int64, name=None)
        """
        if callable(self._spec):
            self._spec = self._spec()
        return self._spec

    def __bool__(self) -> bool:
        return True  # as TensorFlow: not len(), which may be unavailable

    def __repr__(self) -> str:
        card = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(self._card, self._card)
        return f"<Dataset cardinality={card}>"


def _leaves_of_shapes(shapes, types) -> list:
    """``output_shapes`` as one shape per component of ``output_types``."""
    if isinstance(types, (tuple, dict)):
        keys = _keys(types) if isinstance(types, dict) else range(len(types))
        return [
            s
            for k in keys
            for s in _leaves_of_shapes(None if shapes is None else shapes[k], types[k])
        ]
    return [None if shapes is None else tuple(shapes)]


def _conform(value, spec):
    """A generator's element checked against (and converted to) ``output_signature``."""
    if isinstance(value, list) and isinstance(spec, tuple):
        value = tuple(value)
    if not _same_structure(value, spec):
        raise ValueError(
            f"Dataset.from_generator: the generator yielded {value!r}, which does not match "
            f"output_signature {spec}"
        )
    out = []
    for v, s in zip(_leaves(value), _leaves(spec)):
        a = v._value if isinstance(v, Tensor) else v
        if isinstance(a, (xp.ndarray, xp.generic)) and a.dtype != s.dtype:
            if not xp.can_cast(a.dtype, s.dtype, "same_kind"):
                raise TypeError(
                    f"Dataset.from_generator: the generator yielded an element of dtype "
                    f"{a.dtype} where {s.dtype} was expected"
                )
        try:
            a = xp.asarray(a, dtype=s.dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"Dataset.from_generator: the generator yielded {v!r}, which is not a "
                f"{s.dtype} value ({e})"
            ) from None
        if not s.is_compatible_with(a):
            raise ValueError(
                f"Dataset.from_generator: the generator yielded an element of shape "
                f"{a.shape} where an element of shape {s.shape} was expected"
            )
        out.append(a)
    return _pack(spec, iter(out))


def _spread(arg, template, name: str) -> list:
    """``padded_batch``'s ``padded_shapes`` or ``padding_values`` as one entry per
    component of ``template`` (a padding value alone serves every component)."""
    n = len(_leaves(template))
    if arg is None:
        return [None] * n
    if isinstance(template, (tuple, dict)):
        keys = _keys(template) if isinstance(template, dict) else list(range(len(template)))
        same = (
            isinstance(arg, dict) and sorted(arg) == sorted(keys)
            if isinstance(template, dict)
            else isinstance(arg, (tuple, list)) and len(arg) == len(keys)
        )
        if same:
            return [e for k in keys for e in _spread(arg[k], template[k], name)]
        if name == "padding_values" and xp.ndim(arg) == 0:
            return [arg] * n
        raise ValueError(
            f"Dataset.padded_batch: {name} must have the elements' structure, got {arg!r}"
        )
    return [arg]


def _pad(parts: list, shape, value, index: int):
    """Components padded at the end of each axis to ``shape`` and stacked."""
    rank = {xp.ndim(p) for p in parts}
    if len(rank) != 1:
        raise ValueError(
            f"Dataset.padded_batch: component {index} has different ranks in one batch: "
            f"{sorted(rank)}"
        )
    rank = rank.pop()
    longest = [max(xp.shape(p)[d] for p in parts) for d in range(rank)]
    if shape is None:
        target = longest
    else:
        shape = _dims(shape)
        if len(shape) != rank:
            raise ValueError(
                f"Dataset.padded_batch: padded_shapes for component {index} is {tuple(shape)}, "
                f"of rank {len(shape)}; its elements have rank {rank}"
            )
        target = [m if d is None else d for d, m in zip(shape, longest)]
        for d, (t, m) in enumerate(zip(target, longest)):
            if m > t:
                raise ValueError(
                    f"Dataset.padded_batch: component {index} has size {m} on axis {d}, "
                    f"more than its padded shape {tuple(target)}"
                )
    dtype = xp.asarray(parts[0]).dtype
    out = xp.full((len(parts),) + tuple(target), _padding_value(value, dtype, index), dtype)
    for i, p in enumerate(parts):
        out[(i,) + tuple(slice(0, s) for s in xp.shape(p))] = p
    return out


def _dims(shape) -> list:
    """A ``padded_shapes`` entry as a list of sizes, None (or -1) for the longest."""
    shape = (shape,) if isinstance(shape, (int, xp.integer)) else shape
    return [None if (d is None or d == -1) else int(d) for d in shape]


def _padded_spec(spec: TensorSpec, shape, size, exact: bool) -> TensorSpec:
    """A component's spec after ``padded_batch``: padded sizes where given, else the input's
    where ``exact``, else None (the longest in each batch)."""
    known = spec.shape if exact or spec.shape is None else (None,) * len(spec.shape)
    if shape is None:
        dims = known
    else:
        dims = _dims(shape)
        if known is not None and len(known) == len(dims):
            dims = [e if d is None else d for d, e in zip(dims, known)]
    return TensorSpec(None if dims is None else (size, *dims), spec.dtype)


def _padding_value(value, dtype, index: int):
    """A padding value checked against its component's dtype (TensorFlow refuses one of
    another kind, such as 0.5 for integers)."""
    if value is None:
        return 0
    a = value._value if isinstance(value, Tensor) else xp.asarray(value)
    dtype = xp.dtype(dtype)
    if a.ndim != 0:
        raise ValueError(
            f"Dataset.padded_batch: padding_values must be scalars, got shape {a.shape} for "
            f"component {index}"
        )
    rank = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}  # a value may go up this order only
    if rank.get(a.dtype.kind, 9) > rank.get(dtype.kind, -1):
        raise TypeError(
            f"Dataset.padded_batch: padding value {value!r} (dtype {a.dtype}) does not fit "
            f"component {index} of dtype {dtype}"
        )
    with xp.errstate(over="ignore", invalid="ignore"):
        cast = a.astype(dtype)
    if dtype.kind in "iub" and cast != a:  # an integer out of range (floats may round)
        raise TypeError(
            f"Dataset.padded_batch: padding value {value!r} does not fit component {index} "
            f"of dtype {dtype}"
        )
    return cast
