"""Primitives, their differentiation rules, and ``apply``: where every op runs.

A primitive is declared once, with one VJP per argument and one JVP per
argument beside it::

    sin_p = primitive("sin", xp.sin)
    defvjp(sin_p, lambda g, out, x: g * cos(x))
    defjvp(sin_p, lambda dx, out, x: dx * cos(x))

Rules have flat signatures ``vjp(g, out, *inputs, **params)`` and
``jvp(dx, out, *inputs, **params)``: ``g`` is the cotangent of the output,
``dx`` the tangent of one input, ``out`` the primitive's output.  They are
written with wengert's own ops, so a tape that is recording while another
tape's backward pass runs records that pass too: nested tapes give
higher-order derivatives with no extra code.

Who records is decided in one place: ``recorders`` is the tuple of active
tapes and forward accumulators, outermost first.  ``apply`` runs the array
function and offers the op to each recorder; with nothing recording it does
nothing else.  As in TensorFlow, a recorder belongs to the thread that started
it: it ignores ops other threads run, and pausing stops only this thread's.
"""

from __future__ import annotations

import threading

from .backend import xp
from .tensor import Tensor, Variable, convert_to_tensor, wrap

__all__ = [
    "Primitive",
    "primitive",
    "defvjp",
    "defjvp",
    "nondifferentiable",
    "NON_DIFFERENTIABLE",
    "apply",
    "recorders",
]

NO_PARAMS: dict = {}  # shared, never mutated: ops without parameters pass this

# Active recorders (GradientTape, ForwardAccumulator), outermost first.  A tuple,
# replaced rather than mutated, so a loop over it is never disturbed by a
# recorder pausing itself inside that loop.
recorders: tuple = ()
# The tuple is global (one check on the hot path, whatever the thread): each recorder
# holds its thread's ident in ``recording_thread`` and skips other threads' ops, which
# costs one call to get_ident per op only while something records.
current_thread = threading.get_ident
_recorders_lock = threading.Lock()  # two threads starting tapes must not lose one


class Primitive:
    """An array function with its differentiation rules.

    Attributes:
        name: the op's name (TensorFlow's where one exists).
        impl: the array function, ``impl(*arrays, **params) -> array``.
        vjps: one VJP rule per argument (None: no gradient flows to it), or None
            when no rule was declared.
        jvps: one JVP rule per argument, or None.
        differentiable: False for ops with no gradient by definition (argmax,
            floor, comparisons): their inputs get ``None``, never an error.
        multiple_results: True when ``impl`` returns a tuple of arrays.
        tell_needed: True when ``vjps`` is one joint rule, ``vjps(i, g, ...)``, that
            the reverse pass also tells which arguments need gradients, as
            ``needed=`` (a tuple of indices; other callers leave it None): a fused
            backward then computes only those.
    """

    __slots__ = (
        "name",
        "impl",
        "vjps",
        "jvps",
        "differentiable",
        "multiple_results",
        "tell_needed",
    )

    def __init__(self, name: str, impl, multiple_results: bool = False):
        self.name = name
        self.impl = impl
        self.vjps = None
        self.jvps = None
        self.differentiable = True
        self.multiple_results = multiple_results
        self.tell_needed = False

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"


# The one explicit list of ops that have no gradient by definition.
NON_DIFFERENTIABLE: set[str] = set()


def primitive(name: str, impl, multiple_results: bool = False) -> Primitive:
    """Declare a primitive op named ``name`` computed by the array function ``impl``.

    Example:
        >>> from wengert.core import primitive, defvjp, apply
        >>> from wengert.backend import xp
        >>> import wengert as wg
        >>> cube_p = primitive("cube", lambda x: x ** 3)
        >>> defvjp(cube_p, lambda g, out, x: g * 3.0 * x * x)
        >>> x = wg.constant(2.0)
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = apply(cube_p, (x,))
        >>> float(tape.gradient(y, x))
        12.0
    """
    return Primitive(name, impl, multiple_results)


def defvjp(prim: Primitive, *rules) -> None:
    """Give ``prim`` one VJP rule per argument, ``rule(g, out, *inputs, **params)``.

    A rule of None means no gradient flows to that argument (an index, a shape).
    """
    prim.vjps = rules


def defjvp(prim: Primitive, *rules) -> None:
    """Give ``prim`` one JVP rule per argument, ``rule(dx, out, *inputs, **params)``.

    The output's tangent is the sum of the rules' results over the arguments
    that have a tangent.
    """
    prim.jvps = rules


def nondifferentiable(prim: Primitive) -> Primitive:
    """Mark ``prim`` as having no gradient by definition (its inputs get None)."""
    prim.differentiable = False
    NON_DIFFERENTIABLE.add(prim.name)
    return prim


def describe(args) -> str:
    """Shapes and dtypes of an op's arguments, for error messages."""
    parts = []
    for a in args:
        if isinstance(a, Tensor):
            parts.append(f"{a._value.dtype}{list(a._value.shape)}")
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            parts.append("[" + ", ".join(f"{t.dtype}{list(t.shape)}" for t in a) + "]")
        else:
            parts.append(repr(a) if isinstance(a, (int, float, bool)) else type(a).__name__)
    return ", ".join(parts)


def op_error(prim: Primitive, args, exc: Exception) -> Exception:
    """Re-raise an array library's error under the op's name, with the inputs' shapes."""
    cls = ValueError
    for base in (TypeError, IndexError, ValueError, ArithmeticError):
        if isinstance(exc, base):
            cls = base
            break
    return cls(f"{prim.name}: {exc} (inputs: {describe(args)})")


def apply(prim: Primitive, args: tuple, params: dict = NO_PARAMS):
    """Run ``prim`` on ``args`` (Tensors, Variables or Python scalars) and record it.

    Returns a Tensor, or a tuple of Tensors for multiple-result primitives.
    """
    values = [a._value if isinstance(a, Tensor) else a for a in args]
    try:
        value = prim.impl(*values, **params)
    except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
        raise op_error(prim, args, exc) from exc
    if prim.multiple_results:
        out = tuple(wrap(v, prim) for v in value)
    else:
        out = wrap(value, prim)
    if recorders:
        for r in recorders:
            r.record(prim, args, out, params)
    return out


_new = object.__new__
# The two common float dtypes, compared by identity first on the hot path.
_F32 = xp.dtype("float32")
_F64 = xp.dtype("float64")


def unary_op(prim: Primitive, doc: str | None = None, float_only: bool = False):
    """The public function of a one-argument primitive: the hot path, kept flat.

    ``float_only`` ops (sqrt, exp, sigmoid, ...) refuse integer tensors, as
    TensorFlow does, instead of letting NumPy promote them to float64.
    """
    impl = prim.impl

    def op(x, name=None):
        if type(x) is not Tensor:
            if hasattr(x, "_sample_shape"):  # defining a functional model: record a layer
                return _symbolic_call(op, (x,), {} if name is None else {"name": name})
            x = operand(x)
        xv = x._value
        if float_only and (d := xv.dtype) is not _F32 and d is not _F64 and d.kind not in "fc":
            raise TypeError(
                f"{prim.name}: expected a floating-point tensor, got {xv.dtype}"
                f"{list(xv.shape)}; cast it first, e.g. wg.cast(x, 'float32')"
            )
        try:
            value = impl(xv)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise op_error(prim, (x,), exc) from exc
        out = _new(Tensor)
        out._value = value
        out._tid = 0
        out._origin = prim
        if recorders:
            for r in recorders:
                r.record(prim, (x,), out, NO_PARAMS)
        return out

    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = doc
    op.primitive = prim
    op.records_symbolic = True  # see layers/op_layer.py
    return op


def binary_op(prim: Primitive, doc: str | None = None):
    """The public function of a broadcasting two-argument primitive: the hot path.

    Two tensors of one dtype, or a float tensor and a Python number, go straight
    to the array function; everything else is reconciled by ``binary_operands``.
    """
    impl = prim.impl

    def op(x, y, name=None):
        tx = type(x)
        ty = type(y)
        if tx is Tensor and (ty is float or ty is int):
            xv = x._value
            if ty is float and (d := xv.dtype) is not _F32 and d is not _F64 and d.kind not in "fc":
                x, y, xv, yv = binary_operands(prim.name, x, y)
            else:
                yv = y
        elif tx is Tensor and ty is Tensor:
            xv = x._value
            yv = y._value
            if xv.dtype is not yv.dtype and xv.dtype != yv.dtype:
                x, y, xv, yv = binary_operands(prim.name, x, y)
        else:
            if hasattr(x, "_sample_shape") or hasattr(y, "_sample_shape"):  # a model's input
                return _symbolic_call(op, (x, y), {} if name is None else {"name": name})
            x, y, xv, yv = binary_operands(prim.name, x, y)
        try:
            value = impl(xv, yv)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise op_error(prim, (x, y), exc) from exc
        out = _new(Tensor)
        out._value = value
        out._tid = 0
        out._origin = prim
        if recorders:
            for r in recorders:
                r.record(prim, (x, y), out, NO_PARAMS)
        return out

    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = doc
    op.primitive = prim
    op.records_symbolic = True  # see layers/op_layer.py
    return op


def _symbolic_call(fn, args, kwargs):
    """Record ``fn(*args, **kwargs)`` on a functional model's symbolic values as a layer.

    Layers sit above the ops, so layers/op_layer.py installs the recorder here."""
    return symbolic_recorder(fn, args, kwargs)


symbolic_recorder = None


def operand(x, dtype=None) -> Tensor:
    """Convert an op's argument to a Tensor (Variables pass through), cast to ``dtype``.

    Python values and arrays given next to a Tensor take that tensor's dtype,
    as TensorFlow's operators do; a float value never silently becomes an
    integer.
    """
    if isinstance(x, Tensor):
        return x
    if dtype is None:
        return convert_to_tensor(x)
    a = xp.asarray(x)
    if a.dtype.kind in "fc" and dtype.kind not in "fc":
        raise TypeError(f"cannot convert a {a.dtype} value to a {dtype} tensor without losing data")
    if a.dtype == object:
        raise TypeError(f"cannot convert {type(x).__name__} to a Tensor")
    return wrap(xp.array(a, dtype=dtype, copy=True), None)


_TENSOR_TYPES = (Tensor, Variable)


def binary_operands(name: str, x, y):
    """Bring a binary op's arguments to a common dtype, TensorFlow-style.

    Two tensors must already agree; a Python number or array next to a tensor
    takes the tensor's dtype; a Python float next to an integer tensor is an
    error rather than a silent truncation.  Returns ``(x, y, x_value, y_value)``
    where Python scalars stay scalars (NumPy's weak scalars keep the dtype).
    """
    tx = type(x)
    ty = type(y)
    if tx is Tensor or tx is Variable or isinstance(x, Tensor):
        xv = x._value
        if ty is Tensor or ty is Variable or isinstance(y, Tensor):
            yv = y._value
            if xv.dtype is not yv.dtype and xv.dtype != yv.dtype:
                raise TypeError(
                    f"{name}: dtypes differ: {xv.dtype}{list(xv.shape)} and "
                    f"{yv.dtype}{list(yv.shape)}; cast one with wg.cast"
                )
            return x, y, xv, yv
        if ty is float or ty is int:
            if ty is float and xv.dtype.kind not in "fc":
                raise TypeError(f"{name}: cannot combine {xv.dtype} tensor with float {y!r}")
            return x, y, xv, y
        y = operand(y, xv.dtype)
        return x, y, xv, y._value
    if ty is Tensor or ty is Variable or isinstance(y, Tensor):
        yv = y._value
        if tx is float or tx is int:
            if tx is float and yv.dtype.kind not in "fc":
                raise TypeError(f"{name}: cannot combine float {x!r} with {yv.dtype} tensor")
            return x, y, x, yv
        x = operand(x, yv.dtype)
        return x, y, x._value, yv
    x = operand(x)
    y = operand(y, x._value.dtype)
    return x, y, x._value, y._value


def apply2(prim: Primitive, x, y) -> Tensor:
    """``apply`` for a binary elementwise op with broadcasting."""
    x, y, xv, yv = binary_operands(prim.name, x, y)
    try:
        value = prim.impl(xv, yv)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise op_error(prim, (x, y), exc) from exc
    out = wrap(value, prim)
    if recorders:
        for r in recorders:
            r.record(prim, (x, y), out, NO_PARAMS)
    return out


def push_recorder(r) -> None:
    """Make ``r`` record this thread's ops from now on (innermost)."""
    global recorders
    r.recording_thread = current_thread()
    with _recorders_lock:
        recorders = recorders + (r,)


def differentiated_in_reverse(t) -> bool:
    """Whether a reverse-mode recorder of this thread (a GradientTape) watches ``t`` or
    will watch it when read: ``t``'s gradient may be asked for.

    Example:
        >>> import wengert as wg
        >>> from wengert import core
        >>> x = wg.constant(1.0)
        >>> with wg.GradientTape() as tape:
        ...     before = core.differentiated_in_reverse(x)
        ...     tape.watch(x)
        ...     after = core.differentiated_in_reverse(x)
        >>> before, after
        (False, True)
    """
    me = current_thread()
    for r in recorders:
        asks = getattr(r, "will_differentiate", None)
        if asks is not None and r.recording_thread == me and asks(t):
            return True
    return False


def recording_here() -> bool:
    """Whether a recorder of this thread is active (other threads' record only their own ops).

    Example:
        >>> import wengert as wg
        >>> from wengert import core
        >>> with wg.GradientTape():
        ...     inside = core.recording_here()
        >>> inside, core.recording_here()
        (True, False)
    """
    me = current_thread()
    return any(r.recording_thread == me for r in recorders)


def remove_recorder(r) -> int:
    """Stop ``r`` recording; return the position it had (or -1)."""
    global recorders
    with _recorders_lock:
        for i, other in enumerate(recorders):
            if other is r:
                recorders = recorders[:i] + recorders[i + 1 :]
                return i
    return -1


def insert_recorder(r, position: int) -> None:
    """Put ``r`` back at ``position`` in the nesting order."""
    global recorders
    if position < 0:
        return
    with _recorders_lock:
        recorders = recorders[:position] + (r,) + recorders[position:]


class paused:
    """Context manager: ``r`` records nothing inside (used while it runs its own rules)."""

    __slots__ = ("r", "position")

    def __init__(self, r):
        self.r = r
        self.position = -1

    def __enter__(self):
        self.position = remove_recorder(self.r)
        return self

    def __exit__(self, *exc):
        insert_recorder(self.r, self.position)
        return False


class all_paused:
    """Context manager: no recorder of this thread records inside (custom_gradient's
    forward pass, a metric's update); other threads' tapes go on recording."""

    __slots__ = ("mine",)

    def __enter__(self):
        global recorders
        me = current_thread()
        with _recorders_lock:
            self.mine = [r for r in recorders if r.recording_thread == me]
            if self.mine:
                recorders = tuple(r for r in recorders if r.recording_thread != me)
        return self

    def __exit__(self, *exc):
        global recorders
        if self.mine:
            with _recorders_lock:  # outermost first: before any this thread started inside
                me = current_thread()
                inner = [i for i, r in enumerate(recorders) if r.recording_thread == me]
                at = inner[0] if inner else len(recorders)
                recorders = recorders[:at] + tuple(self.mine) + recorders[at:]
        return False
