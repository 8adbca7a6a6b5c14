"""wengert's ops on a functional model's symbolic values, recorded as layers that save.

``wg.exp(x)``, ``wg.reduce_sum(x, axis=1)``, ``x[:, 0]`` or ``x ** 2`` on a ``wg.Input``
(or on what a layer returned from one) records an ``OpLayer`` call, as TensorFlow's
Keras records a ``TFOpLambda`` and Keras 3 an op node.  Unlike a ``Lambda``, the node is
data: the function's public name (``"exp"``, ``"nn.softmax"``, ``"operator.getitem"``)
and its other arguments, so a model that uses it can be saved and loaded.

How the ops find out: converting a symbolic value to data raises ``SymbolicValueError``.
The elementwise ops catch it on their slow path (a Tensor never reaches it); every
other public function of ``wg``, ``wg.math``, ``wg.nn``, ``wg.linalg``, ``wg.bitwise`` and
``wg.ops`` (saved as ``"ops.mean"``...) is wrapped once at import (``install``) to catch
it.  Internal code calls the unwrapped functions, so layers and the tape pay nothing.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import operator

from ..backend import xp
from ..tensor import SymbolicValueError, Tensor, Variable, wrap
from .base import _SYMBOLIC, Layer, _is_symbolic, _map_structure, unique_name

# Python's operators on symbolic values apply the same operator to the tensors.
_OPERATORS = (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
    "neg", "pos", "abs", "invert", "and_", "or_", "xor", "lt", "le", "gt", "ge", "eq", "ne",
    "getitem",
)  # fmt: skip
_NAMESPACES = ("", "math", "nn", "linalg", "bitwise", "ops")  # wg.<namespace>.<function>
# The modules whose public functions take tensors (not constructors of layers, tapes...).
_OP_MODULES = {
    f"wengert.{m}"
    for m in (
        "math_ops",
        "math_extra",
        "array_ops",
        "nn_ops",
        "conv_ops",
        "linalg",
        "bitwise",
        "random",
        "ops",
    )
}
# A constant array in a saved graph is written out in full, so keep it small.
_MAX_SAVED_ELEMENTS = 1 << 16


class _Slot:
    """Where the ``index``-th symbolic value goes among an op's arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


@functools.cache
def _functions() -> dict:
    """Public name -> function, for every function an ``OpLayer`` may record."""
    import wengert

    table = {f"operator.{name}": getattr(operator, name) for name in _OPERATORS}
    for namespace in _NAMESPACES:
        module = getattr(wengert, namespace) if namespace else wengert
        for attr, fn in vars(module).items():
            if not attr.startswith("_") and inspect.isfunction(fn):
                table.setdefault(f"{namespace}.{attr}" if namespace else attr, fn)
    return table


def _name_of(fn) -> str | None:
    for name, known in _functions().items():
        if known is fn:
            return name
    return None


def symbolic_call(fn, args, kwargs):
    """``fn(*args, **kwargs)`` where some argument is symbolic: record it as an OpLayer.

    Example:
        >>> import wengert as wg
        >>> y = symbolic_call(wg.reduce_sum, (wg.Input((3,)),), {"axis": 1})
        >>> y.shape, type(y.call.layer).__name__
        ((None,), 'OpLayer')
    """
    if _name_of(fn) is None:
        # A private op inside a public function (wg.nn.relu calls one): refuse, so that
        # the public function, which catches this, records itself under its own name.
        raise SymbolicValueError(
            f"{getattr(fn, '__name__', fn)!r} is not a public wengert function, so a "
            "functional model cannot record it; use a layer or wg.layers.Lambda(lambda t: ...)"
        )
    leaves = []

    def slot(value):
        if isinstance(value, _SYMBOLIC):
            leaves.append(value)
            return _Slot(len(leaves) - 1)
        return value

    arguments, keywords = _map_structure((list(args), dict(kwargs)), slot)
    name = keywords.pop("name", None)  # an op's name= names its layer, as in TensorFlow
    if not isinstance(name, str):
        name = unique_name(_name_of(fn).split(".")[-1].rstrip("_"))
    layer = OpLayer(fn, arguments, keywords, name=name)
    return layer(leaves[0] if len(leaves) == 1 else leaves)


def symbolic_dispatch(fn):
    """``fn``, or, when an argument is a model's symbolic value, a recorded OpLayer call.

    Example:
        >>> import wengert as wg  # install() gave wg.reduce_sum this wrapper
        >>> wg.reduce_sum.__wrapped__ is wg.math_ops.reduce_sum
        True
        >>> float(wg.reduce_sum(wg.ones(3))), wg.reduce_sum(wg.Input((3,)), axis=1).shape
        (3.0, (None,))
    """

    @functools.wraps(fn)
    def public(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SymbolicValueError:
            if not _is_symbolic([args, kwargs]):
                raise
        return symbolic_call(public, args, kwargs)

    public.records_symbolic = True
    return public


def install() -> None:
    """Wrap the public op functions with ``symbolic_dispatch``, and give the elementwise
    ops the recorder (once, at import; ``import wengert`` has done it).

    Example:
        >>> import wengert as wg
        >>> wg.concat.records_symbolic, wg.concat is wg.array_ops.concat
        (True, False)
    """
    import wengert

    from .. import core

    core.symbolic_recorder = symbolic_call

    wrapped = {}
    for namespace in _NAMESPACES:
        module = getattr(wengert, namespace) if namespace else wengert
        for attr, fn in list(vars(module).items()):
            if attr.startswith("_") or not inspect.isfunction(fn):
                continue
            if getattr(fn, "records_symbolic", False):  # an elementwise op: it does it already
                if fn.__module__ == "wengert.core":  # made by a factory there
                    _reachable_at(fn, module, attr)
                continue
            if fn.__module__ not in _OP_MODULES:
                continue
            if id(fn) not in wrapped:
                wrapped[id(fn)] = _reachable_at(symbolic_dispatch(fn), module, attr)
            setattr(module, attr, wrapped[id(fn)])
    _functions.cache_clear()


def _reachable_at(fn, module, attr):
    """Name ``fn`` after where the public finds it, so pickle (which looks a function up
    by module and name) finds this very object."""
    fn.__module__, fn.__qualname__ = module.__name__, attr
    return fn


class OpLayer(Layer):
    """A wengert function applied to a functional model's symbolic values.

    Made by calling an op on them (``wg.exp(x)``, ``x[:, 0]``), not by hand.  It has no
    weights, keeps its inputs' dtypes, and saves as the function's public name plus its
    other arguments (numbers, strings, slices, dtypes, small constant arrays).

    Example:
        >>> import wengert as wg
        >>> x = wg.Input((3,))
        >>> model = wg.Model(x, wg.reduce_sum(x ** 2, axis=1))
        >>> model(wg.constant([[1.0, 2.0, 3.0]])).numpy()
        array([14.], dtype=float32)
    """

    def __init__(self, function, arguments=(), keywords=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(function, str):
            known = _functions().get(function)
            if known is None:
                raise ValueError(
                    f"OpLayer '{self.name}': unknown function {function!r}; expected a public "
                    "wengert function such as 'exp', 'nn.softmax' or 'operator.getitem'"
                )
            function = known
        self.function = function
        self.arguments = list(arguments)
        self.keywords = dict(keywords or {})
        slots = []
        _map_structure([self.arguments, self.keywords], slots.append)
        self._inputs = sum(isinstance(s, _Slot) for s in slots)
        self._random_probe = False

    def _convert_inputs(self, inputs):
        return inputs  # an op takes its arguments as they are: no cast to the layer dtype

    def call(self, inputs):
        given = inputs if self._inputs > 1 else [inputs]
        args, kwargs = _map_structure(
            [self.arguments, self.keywords],
            lambda v: given[v.index] if isinstance(v, _Slot) else v,
        )
        return self.function(*args, **kwargs)

    def _symbolic_call(self, inputs, kwargs):
        # The shapes come from running the op on zeros, where log(0) may warn (which means
        # nothing) and inv or solve fail (a singular matrix): then on random numbers.
        with xp.errstate(all="ignore"):
            try:
                return super()._symbolic_call(inputs, kwargs)
            except (ValueError, ArithmeticError):
                self._random_probe = True
            try:
                return super()._symbolic_call(inputs, kwargs)
            finally:
                self._random_probe = False

    def _probe_value(self, leaf, batch, size):
        value = leaf._zeros(batch, size)
        if self._random_probe and value.dtype.kind == "f":
            rng = xp.random.default_rng(0)
            value = wrap(rng.standard_normal(value.shape).astype(value.dtype))
        return value

    def get_config(self) -> dict:
        name = _name_of(self.function)
        if name is None:
            raise TypeError(
                f"OpLayer '{self.name}': {getattr(self.function, '__name__', self.function)!r} "
                "is not a public wengert function, so it cannot be saved by name"
            )
        encode = functools.partial(_encode, self.name)
        return {
            "name": self.name,
            "function": name,
            "arguments": encode(self.arguments),
            "keywords": encode(self.keywords),
        }

    @classmethod
    def from_config(cls, config: dict):
        return cls(
            config["function"],
            _decode(config.get("arguments", [])),
            _decode(config.get("keywords", {})),
            name=config.get("name"),
        )


def _encode(layer: str, value):
    """An op argument as JSON data (tuples, slices, dtypes and arrays tagged)."""
    if isinstance(value, _Slot):
        return {"__input__": value.index}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, slice):
        return {"__slice__": [_encode(layer, v) for v in (value.start, value.stop, value.step)]}
    if isinstance(value, range):
        return {"__range__": [value.start, value.stop, value.step]}
    if isinstance(value, xp.dtype) or (isinstance(value, type) and issubclass(value, xp.generic)):
        return {"__dtype__": xp.dtype(value).name}  # wg.float32 or np.float64 alike
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(layer, v) for v in value]}
    if isinstance(value, list):
        return [_encode(layer, v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(layer, v) for k, v in value.items()}
    if isinstance(value, (Tensor, xp.ndarray)) and not isinstance(value, Variable):
        array = value._value if isinstance(value, Tensor) else value
        if array.size <= _MAX_SAVED_ELEMENTS and array.dtype.kind in "biuf":
            return {"__array__": array.tolist(), "dtype": array.dtype.name}
    raise TypeError(
        f"OpLayer '{layer}': an argument of type {type(value).__name__} cannot be saved as "
        "data (numbers, strings, slices, dtypes and constant arrays of at most "
        f"{_MAX_SAVED_ELEMENTS} numbers can); a Variable belongs in a layer's weights"
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__input__" in value:
        return _Slot(int(value["__input__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__slice__" in value:
        return slice(*(_decode(v) for v in value["__slice__"]))
    if "__range__" in value:
        return range(*(int(v) for v in value["__range__"]))
    if "__dtype__" in value:
        return xp.dtype(value["__dtype__"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__array__" in value:
        return xp.array(value["__array__"], dtype=xp.dtype(value["dtype"]))
    return {k: _decode(v) for k, v in value.items()}
