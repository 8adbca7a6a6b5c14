"""Tensors and Variables: immutable arrays that a tape can follow, and mutable weights.

A ``Tensor`` owns a private ndarray: constructors copy what users hand in,
``numpy()`` returns a copy and ``np.asarray(t)`` a read-only view, so an array
that a tape has saved for the backward pass can never change under it.  A
``Variable`` is a Tensor whose array is *replaced* (never written in place) by
``assign``: a tape that saved the old array keeps the old array.  Sliced writes
(``v[1:3].assign(x)``) and scatters write in place only when nothing else holds
the array, and into a copy otherwise (copy-on-write).

Python operators (``+ - * / // % ** @``, comparisons, indexing) are installed on
``Tensor`` by ``math_ops`` and ``array_ops``, where the ops they call are
declared.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading

from . import backend
from .backend import xp

__all__ = [
    "Tensor",
    "Variable",
    "VariableSlice",
    "constant",
    "convert_to_tensor",
    "is_tensor",
]

# Tape ids: 0 means "never watched nor recorded"; a tensor gets a positive id
# the first time a tape watches it or records it as an op's output.
next_tid = itertools.count(1).__next__

_WENGERT_DIR = os.path.dirname(os.path.abspath(__file__))

# The name scope Variables are created in ("outer/inner/", or "" outside any), one per
# thread as TensorFlow's eager context keeps it; ``wengert.module.name_scope`` sets it.
_scope = threading.local()


def current_name_scope() -> str:
    """The prefix that ``Variable`` puts before names here: ``"outer/inner/"``, or ``""``.

    Example:
        >>> from wengert.tensor import current_name_scope
        >>> current_name_scope()
        ''
    """
    return getattr(_scope, "name", "")


def _set_name_scope(name: str) -> str:
    """Make ``name`` the current scope and return the one it replaces."""
    old = getattr(_scope, "name", "")
    _scope.name = name
    return old


def _call_site() -> str:
    """Return "file:line" of the first caller outside the wengert package."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_WENGERT_DIR):
        frame = frame.f_back
    if frame is None:  # pragma: no cover - only when called from wengert itself at top level
        return "<wengert>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class Tensor:
    """An immutable n-dimensional array that ops accept and tapes record.

    Args:
        value: anything ``convert_to_tensor`` accepts.
        dtype: optional dtype to convert to.

    Example:
        >>> import wengert as wg
        >>> t = wg.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> t.shape, t.dtype
        ((2, 2), dtype('float32'))
        >>> (t * 2).numpy()
        array([[2., 4.],
               [6., 8.]], dtype=float32)
    """

    __slots__ = ("_value", "_tid", "_origin", "__weakref__")
    # Elementwise __eq__ would otherwise make tensors unhashable; like PyTorch
    # (not TensorFlow) they hash by identity so they can key dicts.
    __hash__ = object.__hash__
    # Make ndarray (op) Tensor defer to Tensor's reflected operators.
    __array_priority__ = 1000

    def __init__(self, value, dtype=None):
        self._value = _to_array(value, dtype)
        self._tid = 0
        self._origin = _call_site()

    # -- inspection -------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape, as a tuple of ints."""
        return self._value.shape

    @property
    def dtype(self):
        """The NumPy dtype of the elements."""
        return self._value.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._value.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._value.size

    @property
    def nbytes(self) -> int:
        """The number of bytes the elements take."""
        return self._value.nbytes

    def numpy(self):
        """Return a copy of the value as an ndarray (a NumPy scalar for 0-d tensors)."""
        v = self._value
        return v[()] if v.ndim == 0 else v.copy()

    def __array__(self, dtype=None, copy=None):
        v = xp.asarray(self._value)
        if dtype is not None and v.dtype != dtype:
            if copy is False:
                raise ValueError(
                    f"np.asarray(Tensor of {v.dtype}, dtype={dtype}, copy=False): a dtype "
                    "change needs a copy"
                )
            return v.astype(dtype)
        if copy:
            return v.copy()
        view = v.view()
        view.flags.writeable = False  # the tensor's own memory: look, don't touch
        return view

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("len() of a 0-d Tensor (shape ()) is undefined")
        return self._value.shape[0]

    def __iter__(self):
        if self._value.ndim == 0:
            raise TypeError("iteration over a 0-d Tensor (shape ()) is undefined")
        for i in range(self._value.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self._value)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        if self._value.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self._value)

    def __repr__(self) -> str:
        body = xp.array2string(self._value, separator=", ", threshold=64, prefix="       ")
        name = "Variable" if isinstance(self, Variable) else "Tensor"
        extra = f" {self.name!r}" if isinstance(self, Variable) else ""
        return f"<wg.{name}{extra}: shape={self.shape}, dtype={self.dtype}, numpy={body}>"

    def __str__(self) -> str:
        return str(self._value)

    def __format__(self, spec: str) -> str:
        # As TensorFlow: f"{loss:.4f}" formats a scalar tensor's number (NumPy's rules).
        return format(self._value, spec) if spec else str(self)

    # -- DLPack -----------------------------------------------------------
    def __dlpack__(self, *args, **kwargs):
        # Export a read-only view: a consumer that honours DLPack's read-only flag
        # (NumPy does) cannot write into the tensor's private memory.
        view = xp.asarray(self._value).view()
        view.flags.writeable = False
        return view.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return xp.asarray(self._value).__dlpack_device__()

    # -- NumPy protocol: route numpy functions to wengert ops -------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .numpy_api import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .numpy_api import array_function

        return array_function(func, args, kwargs)

    def ref(self):
        """Return the tensor itself: tensors already hash by identity (TensorFlow compatibility)."""
        return self


def _no_inplace(statement: str, update: str, expression: str):
    """An in-place operator of Variable that raises TensorFlow's RuntimeError."""

    def method(self, other):
        raise RuntimeError(
            f"`{statement}` with `wg.Variable`s is not supported. Use `{update}` to modify "
            f"the variable, or `out = {expression}` if you need to get a new output Tensor."
        )

    return method


class Variable(Tensor):
    """A mutable tensor: model weights and optimizer state.

    Trainable variables are watched by a ``GradientTape`` as soon as an op reads
    them. ``assign`` replaces the variable's array rather than writing into it,
    so tapes that saved the old value still see the old value.

    Args:
        initial_value: the first value (anything ``convert_to_tensor`` accepts).
        trainable: whether tapes watch it on read.
        name: a name shown in reprs, after the current ``wg.name_scope``'s prefix.
        dtype: optional dtype to convert to.

    Example:
        >>> import wengert as wg
        >>> v = wg.Variable([1.0, 2.0], name="w")
        >>> _ = v.assign_add([0.5, 0.5])
        >>> v.numpy()
        array([1.5, 2.5], dtype=float32)
    """

    __slots__ = ("trainable", "name", "constraint")

    def __init__(
        self,
        initial_value,
        trainable: bool = True,
        name: str | None = None,
        dtype=None,
        constraint=None,
    ):
        if callable(initial_value):
            initial_value = initial_value()
        value = _to_array(initial_value, dtype)
        # A Tensor's array (or a view of one) is the Tensor's: take a copy, so that an
        # optimizer's in-place update can never reach the tensor it came from.
        self._value = value.copy() if isinstance(initial_value, Tensor) else value
        self._tid = next_tid()  # a variable keeps one id for life: gradients accumulate over reads
        self._origin = _call_site()
        self.trainable = bool(trainable)
        # Inside ``wg.name_scope("outer")`` the name is "outer/<name>", as TensorFlow's.
        self.name = current_name_scope() + ("Variable" if name is None else str(name))
        # As tf.Variable's: a projection optimizers apply after each update of this variable.
        self.constraint = constraint

    def _new_value(
        self,
        value,
        what: str,
        shape=None,
        against: str = "the variable's shape",
        broadcast: bool = False,
    ):
        """``value`` as an array of the variable's dtype and of ``shape`` (the variable's own
        when None), or of a shape that broadcasts to it when ``broadcast``.

        ``what`` names the operation in errors: ".assign", "[1:3].assign".
        """
        try:
            new = _to_array(value, self._value.dtype)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Variable {self.name!r}{what}: {exc}") from None
        target = self._value.shape if shape is None else shape
        if new.shape != target and not (broadcast and _broadcasts(new.shape, target)):
            verb = "does not broadcast to" if broadcast else "does not match"
            raise ValueError(
                f"Variable {self.name!r}{what}: value of shape {new.shape} {verb} {against} "
                f"{target}"
            )
        return new

    def assign(self, value, read_value: bool = True):
        """Set the value (same shape and dtype). Returns the variable."""
        self._value = self._new_value(value, ".assign")
        return self if read_value else None

    def assign_add(self, delta, read_value: bool = True):
        """Add ``delta`` to the value. Returns the variable."""
        self._value = self._value + self._new_value(delta, ".assign_add")
        return self if read_value else None

    def assign_sub(self, delta, read_value: bool = True):
        """Subtract ``delta`` from the value. Returns the variable."""
        self._value = self._value - self._new_value(delta, ".assign_sub")
        return self if read_value else None

    def scatter_nd_update(self, indices, updates, name=None) -> Variable:
        """Write ``updates`` at ``indices``, as ``tf.Variable``'s. Returns the variable.

        ``indices[..., :K]`` pick elements (K = rank) or slices (K < rank) of the variable;
        ``updates`` has shape ``indices.shape[:-1] + shape[K:]``.  Where an index repeats,
        the last update wins, as on TensorFlow's CPU.

        Example:
            >>> import wengert as wg
            >>> v = wg.Variable([0.0, 0.0, 0.0, 0.0])
            >>> v.scatter_nd_update([[3], [1], [3]], [1.0, 2.0, 3.0]).numpy()
            array([0., 2., 0., 3.], dtype=float32)
        """
        return self._scatter_nd(indices, updates, "scatter_nd_update")

    def scatter_nd_add(self, indices, updates, name=None) -> Variable:
        """Add ``updates`` at ``indices``; repeated indices add up. Returns the variable.

        Example:
            >>> import wengert as wg
            >>> v = wg.Variable([[1, 1], [1, 1]])
            >>> v.scatter_nd_add([[0, 1], [0, 1]], [5, 5]).numpy()
            array([[ 1, 11],
                   [ 1,  1]], dtype=int32)
        """
        return self._scatter_nd(indices, updates, "scatter_nd_add")

    def scatter_nd_sub(self, indices, updates, name=None) -> Variable:
        """Subtract ``updates`` at ``indices``; repeated indices add up. Returns the variable.

        Example:
            >>> import wengert as wg
            >>> v = wg.Variable([1.0, 1.0, 1.0])
            >>> v.scatter_nd_sub([[0], [2]], [0.5, 1.0]).numpy()
            array([0.5, 1. , 0. ], dtype=float32)
        """
        return self._scatter_nd(indices, updates, "scatter_nd_sub")

    def _scatter_nd(self, indices, updates, op: str) -> Variable:
        from .array_ops import _last_write_key, _nd_key  # array_ops imports this module

        what = f".{op}"
        shape = self._value.shape
        key, expected = _nd_key(f"Variable {self.name!r}{what}", shape, indices)
        new = self._new_value(updates, what, expected, f"indices.shape[:-1] + shape[{len(key)}:] =")
        out = self._writable()
        if op == "scatter_nd_update":
            key, last, rows = _last_write_key(key, shape)
            if last is not None:
                new = new.reshape(rows)[last]
            out[key] = new
        elif op == "scatter_nd_add":
            xp.add.at(out, key, new)
        else:
            xp.subtract.at(out, key, new)
        self._value = out
        return self

    def _assign_slice(self, key: tuple, value, op: str) -> Variable:
        """``v[key] = value`` (or ``+=``, ``-=``) for a key that ``getitem`` normalised.

        ``value`` may broadcast to the slice's shape, as TensorFlow's StridedSliceAssign
        kernel allows.  Returns the variable, as TensorFlow's sliced ``assign`` does.
        """
        what = f"[{_format_key(key)}].{op}"
        for k in key:
            if not (k is None or k is Ellipsis or type(k) is int or type(k) is slice):
                raise TypeError(
                    f"Variable {self.name!r}{what}: only ints, slices, ... and None select "
                    "what to assign, as in TensorFlow; for index arrays use "
                    "scatter_nd_update, scatter_nd_add or scatter_nd_sub"
                )
        shape = self._value[key].shape
        new = self._new_value(value, what, shape, "the slice's shape", broadcast=True)
        out = self._writable()
        if op == "assign":
            out[key] = new
        elif op == "assign_add":
            out[key] += new
        else:
            out[key] -= new
        self._value = out
        return self

    def _writable(self):
        """The array to write an update into: the variable's own when nothing else holds it,
        else a copy, so that a value a tape saved, or a slice read earlier, stays as it was."""
        return self._value if self._exclusive() else self._value.copy()

    def _replace(self, array) -> None:
        """Take ``array`` (a fresh ndarray of the variable's shape and dtype) as the value.

        The library's own fast path (optimizers): no copy, so the caller must own
        the array and never write to it afterwards.
        """
        old = self._value
        if array.shape != old.shape or array.dtype != old.dtype:
            raise ValueError(
                f"Variable {self.name!r}: new value {array.dtype}{list(array.shape)} does not "
                f"match {old.dtype}{list(old.shape)}"
            )
        self._value = array

    def _exclusive(self, held: int = 0) -> bool:
        """True when nothing but this variable references its array (no tape, no view).

        Then an optimizer may update it in place; otherwise it must replace it
        (copy-on-write), so that values a tape saved stay as they were.  The
        count is CPython's reference count: the variable's slot, the local ``v``,
        getrefcount's own argument, and ``held`` references the caller declares.
        The array must own its memory too: a view (``assign(t[0])``) shares it
        with an array whose references this count cannot see.
        """
        v = self._value
        return (
            type(v) is xp.ndarray
            and v.flags.owndata
            and v.flags.writeable
            and sys.getrefcount(v) <= 3 + held
        )

    def __setitem__(self, key, value):
        # ``v[0] = x`` and ``v[0] += x`` (which reads v[0], adds, then calls this) are
        # PyTorch's habits; TensorFlow raises this TypeError, with a pointer here.
        raise TypeError(
            "'Variable' object does not support item assignment: `variable[key] = value` "
            "and `variable[key] += value` with `wg.Variable`s are not supported "
            f"(variable {self.name!r}). Use `variable[key].assign(value)` or "
            "`variable[key].assign_add(value)` (and `.assign_sub`) to modify the variable, "
            "or `variable.scatter_nd_update(indices, updates)` for index arrays."
        )

    # ``v -= lr * g`` would rebind ``v`` to a new Tensor and leave the variable as it
    # was: a training loop that writes it trains nothing, silently.  TensorFlow raises
    # (BaseResourceVariable.__iadd__ and friends, resource_variable_ops.py); so does wengert.
    __iadd__ = _no_inplace("variable += value", "variable.assign_add(value)", "variable + value")
    __isub__ = _no_inplace("variable -= value", "variable.assign_sub(value)", "variable - value")
    __imul__ = _no_inplace("var *= value", "var.assign(var * value)", "var * value")
    __itruediv__ = _no_inplace("var /= value", "var.assign(var / value)", "var / value")
    __ifloordiv__ = _no_inplace("var //= value", "var.assign(var // value)", "var // value")
    __imod__ = _no_inplace("var %= value", "var.assign(var % value)", "var % value")
    __ipow__ = _no_inplace("var **= value", "var.assign(var ** value)", "var ** value")
    __imatmul__ = _no_inplace("var @= value", "var.assign(var @ value)", "var @ value")
    __iand__ = _no_inplace("var &= value", "var.assign(var & value)", "var & value")
    __ior__ = _no_inplace("var |= value", "var.assign(var | value)", "var | value")
    __ixor__ = _no_inplace("var ^= value", "var.assign(var ^ value)", "var ^ value")

    def value(self) -> Tensor:
        """A Tensor holding the current value (recorded as a read when a tape watches it)."""
        from .array_ops import identity

        return identity(self)

    read_value = value


class VariableSlice(Tensor):
    """``v[key]`` for a Variable ``v``: the slice's value, which can also be written back.

    Read, it is an ordinary Tensor: a snapshot that later writes do not change, through
    which gradients flow to ``v``.  ``assign`` writes into those elements of ``v`` as
    TensorFlow's ``v[1:3].assign(x)`` does; ``assign_add`` and ``assign_sub`` are
    wengert's (TensorFlow's slices have only ``assign``).  Each returns ``v``.  Keys are
    ints, slices (with steps), ``...`` and None; the value may broadcast to the slice's
    shape.  Writing is not differentiable: a tape's later reads of ``v`` see the new value.

    Example:
        >>> import wengert as wg
        >>> v = wg.Variable([1.0, 2.0, 3.0, 4.0])
        >>> _ = v[1:3].assign([20.0, 30.0])
        >>> v[::3].assign_add(0.5).numpy()
        array([ 1.5, 20. , 30. ,  4.5], dtype=float32)
    """

    __slots__ = ("_variable", "_key")

    def assign(self, value, name=None) -> Variable:
        """Write ``value`` into this slice of the variable. Returns the variable."""
        self._own_value()
        return self._variable._assign_slice(self._key, value, "assign")

    def assign_add(self, delta, name=None) -> Variable:
        """Add ``delta`` to this slice of the variable. Returns the variable."""
        self._own_value()
        return self._variable._assign_slice(self._key, delta, "assign_add")

    def assign_sub(self, delta, name=None) -> Variable:
        """Subtract ``delta`` from this slice of the variable. Returns the variable."""
        self._own_value()
        return self._variable._assign_slice(self._key, delta, "assign_sub")

    def _own_value(self) -> None:
        """Make the slice's value a copy where it is a view of the variable's array.

        The view would count as one more holder of that array, so the write would
        always copy the whole variable (copy-on-write); a copy of just the slice keeps
        the snapshot and lets the variable be written in place when nothing else
        holds its array.
        """
        base = self._value.base
        if base is not None and base is self._variable._value:
            self._value = self._value.copy()


def _broadcasts(shape: tuple, target: tuple) -> bool:
    """True when an array of ``shape`` broadcasts to ``target`` (NumPy's rules, one way)."""
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


def _format_key(key: tuple) -> str:
    """An index as one writes it: ``(0, slice(1, None, 2), None)`` -> ``"0, 1::2, None"``."""
    parts = []
    for k in key:
        if type(k) is slice:
            text = ("" if k.start is None else str(k.start)) + ":"
            text += "" if k.stop is None else str(k.stop)
            parts.append(text if k.step is None else f"{text}:{k.step}")
        elif k is Ellipsis:
            parts.append("...")
        elif isinstance(k, xp.ndarray):
            parts.append(str(k.tolist()) if k.size <= 8 else f"<{k.dtype} array {k.shape}>")
        else:
            parts.append(repr(k))
    return ", ".join(parts)


def is_tensor(x) -> bool:
    """True if ``x`` is a wengert Tensor or Variable.

    Example:
        >>> import wengert as wg
        >>> wg.is_tensor(wg.constant(1.0)), wg.is_tensor(1.0)
        (True, False)
    """
    return isinstance(x, Tensor)


class SymbolicValueError(TypeError):
    """A model's symbolic value (``wg.Input``, a layer's output while defining a model) was
    used as data.  The public ops catch it and record themselves as a layer instead."""


def _to_array(value, dtype=None):
    """Convert ``value`` to a fresh ndarray, with TensorFlow's dtype inference.

    Python floats become float32 and Python ints int32 (int64 when they don't
    fit); NumPy arrays keep their dtype.
    """
    if dtype is not None:
        dtype = backend.as_dtype(dtype)
    if isinstance(value, Tensor):
        a = value._value
        if dtype is not None and a.dtype != dtype:
            raise ValueError(
                f"convert_to_tensor: requested dtype {dtype} for a Tensor of dtype {a.dtype}; "
                "use wg.cast to change a tensor's dtype"
            )
        return a
    if dtype is not None and dtype.kind in "iub":
        src = xp.asarray(value)  # a Tensor returned above
        if src.dtype.kind in "fc":
            raise TypeError(
                f"convert_to_tensor: cannot convert a {src.dtype} value to {dtype} without "
                "losing data; "
                "round it first or use wg.cast"
            )
    if isinstance(value, xp.ndarray) or isinstance(value, xp.generic):
        return xp.array(value, dtype=dtype, copy=True)
    if hasattr(value, "_sample_shape"):  # a model's input or a layer's symbolic output
        raise SymbolicValueError(
            f"{type(value).__name__} is a value of a model being defined, not data: wengert's "
            "public ops (wg.exp, wg.nn.softmax, x[:, 0], ...) record it as a layer, but this "
            "function cannot; use a layer or wrap the code in wg.layers.Lambda(lambda t: ...)"
        )
    if hasattr(value, "__dlpack__") and not isinstance(value, (list, tuple)):
        a = xp.from_dlpack(value)
        return xp.array(a, dtype=dtype, copy=True)
    a = xp.asarray(value, dtype=dtype)
    if dtype is None:
        if a.dtype == backend.float64:
            a = a.astype(backend.float32)
        elif a.dtype == backend.int64:
            info = xp.iinfo(backend.int32)
            if a.size == 0 or (a.min() >= info.min and a.max() <= info.max):
                a = a.astype(backend.int32)
        elif a.dtype.kind not in "fiubc":
            raise TypeError(
                f"convert_to_tensor: cannot convert {type(value).__name__} "
                f"(array dtype {a.dtype}) to a Tensor"
            )
    if a.dtype == object:
        raise TypeError(f"convert_to_tensor: cannot convert {type(value).__name__} to a Tensor")
    return a


def constant(value, dtype=None, shape=None, name=None) -> Tensor:
    """Create a Tensor from a Python value or array (always a copy).

    Args:
        value: a scalar, nested list, ndarray or Tensor.
        dtype: the dtype; inferred as TensorFlow does when None (floats -> float32).
        shape: optional shape; a scalar value is broadcast to it.
        name: ignored (TensorFlow compatibility).

    Returns:
        A new Tensor.

    Example:
        >>> import wengert as wg
        >>> wg.constant(3.0).dtype, wg.constant([1, 2]).dtype
        (dtype('float32'), dtype('int32'))
        >>> wg.constant(0.0, shape=(2,)).numpy()
        array([0., 0.], dtype=float32)
    """
    a = _to_array(value, dtype)
    if isinstance(value, Tensor):
        a = a.copy()
    if shape is not None:
        shape = tuple(int(s) for s in shape)
        if a.size == 1:
            a = xp.broadcast_to(a.reshape(()), shape).copy()
        elif a.size == int(xp.prod(shape)):
            a = a.reshape(shape)
        else:
            raise ValueError(f"constant: cannot reshape a value of shape {a.shape} to {shape}")
    t = Tensor.__new__(Tensor)
    t._value = a
    t._tid = 0
    t._origin = _call_site()
    return t


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None) -> Tensor:
    """Return ``value`` as a Tensor: Tensors and Variables pass through unchanged.

    Args:
        value: a Tensor, Variable, scalar, nested list or ndarray.
        dtype: required dtype; a Tensor of another dtype raises ValueError.
        dtype_hint: dtype used for Python values when ``dtype`` is None.
        name: ignored (TensorFlow compatibility).

    Example:
        >>> import wengert as wg
        >>> t = wg.constant(1.0)
        >>> wg.convert_to_tensor(t) is t
        True
        >>> wg.convert_to_tensor([1, 2], dtype_hint="float64").dtype
        dtype('float64')
    """
    if isinstance(value, Tensor):
        if dtype is not None and value._value.dtype != backend.as_dtype(dtype):
            raise ValueError(
                f"convert_to_tensor: requested dtype {backend.as_dtype(dtype)} for a Tensor of "
                f"dtype {value.dtype}; use wg.cast to change a tensor's dtype"
            )
        if isinstance(value, Variable):  # its value now, as TensorFlow reads a variable
            from .array_ops import identity

            return identity(value)
        return value
    if dtype is None and dtype_hint is not None and not isinstance(value, xp.ndarray):
        dtype = dtype_hint
    t = Tensor.__new__(Tensor)
    t._value = _to_array(value, dtype)
    t._tid = 0
    t._origin = _call_site()
    return t


def wrap(value, origin=None) -> Tensor:
    """Wrap an ndarray that wengert owns (no copy, no checks): the ops' fast path."""
    t = Tensor.__new__(Tensor)
    t._value = value
    t._tid = 0
    t._origin = origin
    return t
