"""Numerics checks: ``check_numerics`` and an anomaly mode that names the first NaN or Inf.

``check_numerics(t, message)`` raises if ``t`` holds a NaN or an Inf, and passes
``t`` through otherwise (its gradient is checked the same way), as TensorFlow's
``tf.debugging.check_numerics`` does.

Anomaly mode (``enable_check_numerics()``/``disable_check_numerics()``, as in
TensorFlow, or ``with detect_anomaly():``, PyTorch's name) checks the output of
every op, in forward and in backward passes, and raises ``NumericsError`` at the
first one that is not finite.  The error names the op, its input shapes and the
line of user code that ran it; in a backward pass it also names the forward op
whose gradient was being computed (the tape record whose rules were running), and
in forward mode the op whose tangent was being computed.

How: the mode is a recorder pushed onto ``core.recorders``, so ``apply`` offers it
every op as it offers them to tapes.  A tape pauses only itself while it runs its
rules, so the checker sees the rules' ops too; ``GradientTape._backward`` reads
``_enabled`` once per pass and, when it is on, tells this module which record it
is differentiating and hands it each rule's result (a custom gradient may return
a NaN array that no op produced).  With the mode off nothing here runs.

Ops that run while every recorder is paused (the inside of a custom gradient's
forward function) are not seen; their outputs are, as the custom gradient's own.

``NumericsError`` is a ``FloatingPointError`` (an ``ArithmeticError``), like
``wengert.models.NonFiniteLossError``: a floating-point computation failed, not
an argument.
"""

from __future__ import annotations

import os
import sys

from . import core
from .backend import xp
from .core import apply, defjvp, defvjp, describe, operand, primitive
from .tensor import Tensor

__all__ = [
    "NumericsError",
    "check_numerics",
    "enable_check_numerics",
    "disable_check_numerics",
    "is_check_numerics_enabled",
    "detect_anomaly",
]

# Read by GradientTape._backward once per backward pass: keep it a plain module global.
_enabled = False
_checker = None
# (primitive, record index, inputs) of the forward record whose VJP rules are running, set by
# GradientTape._backward in anomaly mode (None outside a backward pass).
_backward_record = None
# (primitive, inputs) of the op whose JVP rules a ForwardAccumulator is running, in anomaly mode.
_tangent_record = None

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class NumericsError(FloatingPointError):
    """A NaN or an Inf where a finite value was required.

    Attributes:
        op: the name of the op that produced it (or the ``check_numerics`` message's op).
        input_shapes: the shapes of the op's tensor inputs.
        forward_op: in a backward pass, the forward op whose gradient was being computed;
            in forward mode (a ForwardAccumulator), the op whose tangent was being
            computed; None when the op itself failed.

    Example:
        >>> import wengert as wg
        >>> try:
        ...     wg.debugging.check_numerics(wg.constant([1.0, float("nan")]), "logits")
        ... except wg.debugging.NumericsError as e:
        ...     print(e)
        logits : Tensor had NaN values (float32[2])
    """

    def __init__(self, message: str, op=None, input_shapes=(), forward_op=None):
        super().__init__(message)
        self.op = op
        self.input_shapes = list(input_shapes)
        self.forward_op = forward_op


def _kinds(value) -> str:
    """'NaN', 'Inf' or 'NaN and Inf': what is wrong with a non-finite array."""
    nan = bool(xp.isnan(value).any())
    inf = bool(xp.isinf(value).any())
    return "NaN and Inf" if nan and inf else ("NaN" if nan else "Inf")


def _finite(value) -> bool:
    return value.dtype.kind not in "fc" or bool(xp.isfinite(value).all())


def _signature(value) -> str:
    return f"{value.dtype}{list(value.shape)}"


def _shapes(args) -> list:
    return [a.shape for a in args if isinstance(a, Tensor)]


def _user_line() -> str | None:
    """``file:line`` of the innermost caller outside wengert: where the user ran the op."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return None if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _context(args) -> tuple:
    """The sentence about where we are (backward pass, user line) and the forward op's name."""
    parts = []
    bad = [
        str(i)
        for i, a in enumerate(args)
        if isinstance(a, Tensor) and a._value.dtype.kind in "fc" and not _finite(a._value)
    ]
    if bad:
        parts.append(
            f"input {', '.join(bad)} already held NaN or Inf (made outside the checked ops: "
            "data, a constant, or a value computed before the mode was enabled)"
        )
    forward = None
    if _tangent_record is not None:  # the innermost when a backward pass is transposed
        prim, fargs = _tangent_record
        forward = prim.name
        parts.append(
            f"in forward mode, computing the tangent of op '{prim.name}' "
            f"(its inputs: {describe(fargs)})"
        )
    elif _backward_record is not None:
        prim, idx, fargs = _backward_record
        forward = prim.name
        parts.append(
            f"in the backward pass, computing the gradient of forward op '{prim.name}' "
            f"(record {idx + 1} of the tape; its inputs: {describe(fargs)})"
        )
    line = _user_line()
    if line:
        parts.append(f"at {line}")
    return ("; " + "; ".join(parts) if parts else ""), forward


def _fail(prim, args, value, which: str):
    context, forward = _context(args)
    count = int(value.size - xp.isfinite(value).sum())
    raise NumericsError(
        f"{prim.name}: produced {_kinds(value)} ({count} of {value.size} values) in "
        f"{which} {_signature(value)} (inputs: {describe(args)}){context}",
        op=prim.name,
        input_shapes=_shapes(args),
        forward_op=forward,
    )


class _computing_tangent:  # noqa: N801 (used like a function, as detect_anomaly)
    """Context manager: ops inside run a JVP rule of ``prim`` (for the error's context)."""

    __slots__ = ("record", "outer")

    def __init__(self, prim, args):
        self.record = (prim, args)

    def __enter__(self):
        global _tangent_record
        self.outer = _tangent_record
        _tangent_record = self.record
        return self

    def __exit__(self, *exc):
        global _tangent_record
        _tangent_record = self.outer
        return False


class _NumericsChecker:
    """The recorder anomaly mode pushes onto ``core.recorders``: it checks each op's output."""

    __slots__ = ("recording_thread",)

    def record(self, prim, args, out, params) -> None:
        # Anomaly mode is process-wide (as TensorFlow's check_numerics), so every
        # thread's ops are checked, whichever thread enabled it.
        if type(out) is tuple:
            for k, o in enumerate(out):
                if not _finite(o._value):
                    _fail(prim, args, o._value, f"output {k}")
        elif not _finite(out._value):
            _fail(prim, args, out._value, "its output")


def _check_vjp(gradient, prim, index: int, position: int, args) -> None:
    """Check one VJP rule's result in anomaly mode (called by ``GradientTape._backward``).

    Ops inside a rule are checked as they run; this catches arrays a rule returns
    without running an op (a custom gradient's ``grad_fn`` returning NumPy values).

    Args:
        gradient: the rule's result, a Tensor.
        prim: the forward record's primitive.
        index: the record's position on the tape (from 0).
        position: which input of the record the gradient is for.
        args: the record's inputs.

    Raises:
        NumericsError: the gradient holds a NaN or an Inf.

    Example:
        >>> import wengert as wg
        >>> from wengert.core import primitive
        >>> _check_vjp(wg.constant([1.0]), primitive("f", None), 0, 0, (wg.constant([2.0]),))
    """
    value = gradient._value
    if _finite(value):
        return
    line = _user_line()
    where = f"; at {line}" if line else ""
    raise NumericsError(
        f"{prim.name}: its gradient rule returned {_kinds(value)} for input {position} "
        f"{_signature(value)} in the backward pass (forward op '{prim.name}', record "
        f"{index + 1} of the tape; its inputs: {describe(args)}){where}",
        op=prim.name,
        input_shapes=_shapes(args),
        forward_op=prim.name,
    )


def enable_check_numerics(stack_height_limit: int = 30, path_length_limit: int = 50) -> None:
    """Turn on anomaly mode: the first op, forward or backward, to make a NaN or Inf raises.

    The mode stays on until ``disable_check_numerics()``; enabling it twice is harmless.
    Checking every op's output costs time: use it to find a bug, not to train.

    Args:
        stack_height_limit: accepted for TensorFlow compatibility (unused).
        path_length_limit: accepted for TensorFlow compatibility (unused).

    Example:
        >>> import wengert as wg
        >>> from wengert.backend import xp
        >>> wg.debugging.enable_check_numerics()
        >>> try:
        ...     with xp.errstate(divide="ignore"):
        ...         wg.math.log(wg.constant([1.0, 0.0]))
        ... except wg.debugging.NumericsError as e:
        ...     print(e.op, e.input_shapes)
        log [(2,)]
        >>> wg.debugging.disable_check_numerics()
    """
    global _enabled, _checker
    if _enabled:
        return
    _checker = _NumericsChecker()
    core.push_recorder(_checker)
    _enabled = True


def disable_check_numerics() -> None:
    """Turn anomaly mode off (nothing happens if it is off).

    Example:
        >>> import wengert as wg
        >>> wg.debugging.disable_check_numerics()
        >>> wg.debugging.is_check_numerics_enabled()
        False
    """
    global _enabled, _checker, _backward_record, _tangent_record
    if _checker is not None:
        core.remove_recorder(_checker)
    _checker = None
    _enabled = False
    _backward_record = None
    _tangent_record = None


def is_check_numerics_enabled() -> bool:
    """True while anomaly mode is on.

    Example:
        >>> import wengert as wg
        >>> with wg.debugging.detect_anomaly():
        ...     print(wg.debugging.is_check_numerics_enabled())
        True
    """
    return _enabled


class detect_anomaly:  # noqa: N801 (a context manager named like a function, as PyTorch's)
    """Context manager: anomaly mode inside, the previous setting restored on exit.

    Example:
        >>> import wengert as wg
        >>> x = wg.constant([0.0, 4.0])
        >>> with wg.debugging.detect_anomaly():
        ...     with wg.GradientTape() as tape:
        ...         tape.watch(x)
        ...         y = wg.reduce_sum(wg.sqrt(x))
        ...     try:
        ...         with wg.backend.xp.errstate(divide="ignore"):
        ...             tape.gradient(y, x)
        ...     except wg.debugging.NumericsError as e:
        ...         print(e.op, "in the gradient of", e.forward_op)
        divide in the gradient of sqrt
    """

    __slots__ = ("was",)

    def __enter__(self):
        self.was = _enabled
        enable_check_numerics()
        return self

    def __exit__(self, *exc):
        if not self.was:
            disable_check_numerics()
        return False


# -- check_numerics: an identity op that checks its value (and its gradient) -------------------
def _check(value, message: str) -> None:
    if not _finite(value):
        raise NumericsError(
            f"{message} : Tensor had {_kinds(value)} values ({_signature(value)})",
            op="check_numerics",
            input_shapes=[value.shape],
        )


check_numerics_p = primitive("check_numerics", lambda x, message: x)
defvjp(
    check_numerics_p,
    lambda g, out, x, message: check_numerics(g, f"{message} (gradient)"),
)
defjvp(
    check_numerics_p,
    lambda dx, out, x, message: check_numerics(dx, f"{message} (tangent)"),
)


def check_numerics(tensor, message: str, name=None) -> Tensor:
    """Return ``tensor`` unchanged, or raise NumericsError if it holds a NaN or an Inf.

    Its gradient passes through unchanged and is checked in turn (the message then
    ends in "(gradient)"), as TensorFlow's does.

    Args:
        tensor: a floating-point Tensor (or anything ``wg.constant`` accepts).
        message: the start of the error's message.
        name: accepted for TensorFlow compatibility.

    Returns:
        The same values, as a Tensor.

    Raises:
        NumericsError: the tensor holds a NaN or an Inf.
        TypeError: the tensor is not floating-point.

    Example:
        >>> import wengert as wg
        >>> wg.debugging.check_numerics(wg.constant([1.0, 2.0]), "fine").numpy()
        array([1., 2.], dtype=float32)
        >>> try:
        ...     wg.debugging.check_numerics(wg.constant([float("inf")]), "logits")
        ... except wg.debugging.NumericsError as e:
        ...     print(e)
        logits : Tensor had Inf values (float32[1])
    """
    x = operand(tensor)
    if x._value.dtype.kind not in "fc":
        raise TypeError(
            f"check_numerics: expected a floating-point tensor, got {_signature(x._value)}"
        )
    _check(x._value, message)
    return apply(check_numerics_p, (x,), {"message": str(message)})
