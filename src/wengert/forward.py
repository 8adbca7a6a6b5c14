"""Forward mode: ``ForwardAccumulator`` pushes tangents through the same primitives' JVP rules."""

from __future__ import annotations

import warnings

from . import debugging
from .backend import xp
from .core import all_paused, current_thread, paused, push_recorder, remove_recorder
from .tape import UnconnectedGradients, _sum_to_shape, _unconnected_mode, flatten
from .tensor import Tensor, next_tid, wrap

__all__ = ["ForwardAccumulator"]


class ForwardAccumulator:
    """Compute Jacobian-vector products alongside the computation (TensorFlow semantics).

    Args:
        primals: a Tensor or Variable, or a nested structure of them.
        tangents: matching tangents (same structure, shapes and dtypes).

    Example:
        >>> import wengert as wg
        >>> x = wg.constant(3.0)
        >>> with wg.ForwardAccumulator(x, wg.constant(1.0)) as acc:
        ...     y = x * x * x
        >>> float(acc.jvp(y))
        27.0
    """

    def __init__(self, primals, tangents):
        ps, _ = flatten(primals)
        ts, _ = flatten(tangents)
        if len(ps) != len(ts):
            raise ValueError(
                f"ForwardAccumulator: {len(ps)} primals but {len(ts)} tangents; they must match"
            )
        self._tangents: dict = {}
        seen = set()
        for p, t in zip(ps, ts):
            if not isinstance(p, Tensor):
                raise TypeError(
                    "ForwardAccumulator: primals must be Tensors or Variables, got "
                    f"{type(p).__name__}"
                )
            t = t if isinstance(t, Tensor) else wrap(xp.asarray(t, dtype=p.dtype), "tangent")
            if t.shape != p.shape or t.dtype != p.dtype:
                raise ValueError(
                    f"ForwardAccumulator: tangent {t.dtype}{list(t.shape)} does not match primal "
                    f"{p.dtype}{list(p.shape)}"
                )
            if not p._tid:
                p._tid = next_tid()
            if p._tid in seen:  # as TensorFlow: two tangents for one value is likely a mistake
                raise ValueError(
                    f"ForwardAccumulator: a tensor {p.dtype}{list(p.shape)} was specified as a "
                    "primal multiple times; if that was intended, sum its tangents"
                )
            seen.add(p._tid)
            if p._value.dtype.kind not in "fc":
                warnings.warn(
                    "ForwardAccumulator: the dtype of a primal must be floating (e.g. "
                    f"wg.float32), got {p.dtype}: its tangent is ignored",
                    stacklevel=2,
                )
                continue
            self._tangents[p._tid] = t
        self._active = False

    def __enter__(self):
        push_recorder(self)
        self._active = True
        return self

    def __exit__(self, *exc):
        if self._active:
            remove_recorder(self)
            self._active = False
        return False

    def record(self, prim, args, out, params) -> None:
        if self.recording_thread != current_thread():
            return  # another thread's op: an accumulator follows its own thread's
        tangents = self._tangents
        for a in args:
            if isinstance(a, Tensor) and a._tid in tangents:
                break
        else:
            return
        if not prim.differentiable:
            return
        with paused(self):  # the rules' own ops are not this accumulator's business
            if debugging._enabled:  # anomaly mode: a non-finite op is named as in this op's JVP
                with debugging._computing_tangent(prim, args):
                    total = self._output_tangent(prim, args, out, params)
            else:
                total = self._output_tangent(prim, args, out, params)
            if total is None:
                return
            outs = out if prim.multiple_results else (out,)
            parts = total if prim.multiple_results else (total,)
            from .array_ops import broadcast_to

            for o, t in zip(outs, parts):
                if o._value.dtype.kind not in "fc":
                    continue
                if t.shape != o.shape:
                    t = broadcast_to(t, o.shape)
                if not o._tid:
                    o._tid = next_tid()
                tangents[o._tid] = t

    def _output_tangent(self, prim, args, out, params):
        """The sum of the JVP rules' results over the arguments that have a tangent."""
        tangents = self._tangents
        total = None
        jvps = prim.jvps
        for i, a in enumerate(args):
            if not isinstance(a, Tensor):
                continue
            dx = tangents.get(a._tid)
            if dx is None or a._value.dtype.kind not in "fc":
                continue
            if jvps is None:
                part = _jvp_by_transposing_vjp(prim, i, dx, out, args, params)
            elif type(jvps) is tuple:
                rule = jvps[i]
                part = None if rule is None else rule(dx, out, *args, **params)
            else:
                part = jvps(i, dx, out, *args, **params)
            if part is None:
                continue
            if total is None:
                total = part
            elif prim.multiple_results:
                total = tuple(a + b for a, b in zip(total, part))
            else:
                total = total + part
        return total

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The tangent of ``primals`` (a Tensor or nested structure) computed so far.

        Returns None for a value that does not depend on the accumulator's
        primals (zeros with ``UnconnectedGradients.ZERO``).
        """
        mode = _unconnected_mode(unconnected_gradients)
        leaves, rebuild = flatten(primals)
        out = []
        for t in leaves:
            if not isinstance(t, Tensor):
                raise TypeError(f"ForwardAccumulator.jvp: expected Tensors, got {type(t).__name__}")
            g = self._tangents.get(t._tid) if t._tid else None
            if g is None and mode is UnconnectedGradients.ZERO:
                g = wrap(xp.zeros(t.shape, t.dtype), "zeros_like")
            out.append(g)
        return rebuild(out)


def _jvp_by_transposing_vjp(prim, i, dx, out, args, params):
    """J dx from a VJP rule alone: the VJP is linear in its cotangent u, so
    J dx = d<vjp(u), dx>/du, one reverse pass over the VJP (TensorFlow's double-VJP trick).
    """
    from .tape import GradientTape

    if prim.vjps is None:
        raise LookupError(
            f"No JVP or VJP defined for operation '{prim.name}': forward mode cannot pass it"
        )
    outs = out if prim.multiple_results else (out,)

    def pull(us):
        u = tuple(us) if prim.multiple_results else us[0]
        vjps = prim.vjps
        w = (
            vjps[i](u, out, *args, **params)
            if type(vjps) is tuple
            else vjps(i, u, out, *args, **params)
        )
        shape = args[i].shape
        if w is not None and w.shape != shape:
            w = _sum_to_shape(w, shape)  # as the reverse pass does with a broadcast gradient
        return w

    us = [wrap(xp.zeros(o.shape, o.dtype), "zeros_like") for o in outs]
    with GradientTape() as tape:
        tape.watch(us)
        w = pull(us)
    if w is None:
        return None
    grads = tape.gradient(w, us, output_gradients=dx)
    if all(g is None for g in grads):
        # w does not depend on u through recorded ops.  Right only if the VJP is zero for
        # every u; otherwise the rule left wengert (a custom_gradient's grad_fn computing
        # with NumPy), and answering zero would be silently wrong.
        with all_paused():
            probe = pull([wrap(xp.ones(o.shape, o.dtype), "ones_like") for o in outs])
        if probe is not None and bool(xp.any(probe._value != 0)):
            raise LookupError(
                f"Forward mode cannot pass '{prim.name}': the gradient it returns for input "
                f"{i} is not computed from the incoming gradient with wengert ops (NumPy in "
                "a custom_gradient's grad_fn?), so no JVP can be derived from it; write "
                "grad_fn with wengert ops to use it in forward mode"
            )
    grads = [wrap(xp.zeros(u.shape, u.dtype)) if g is None else g for u, g in zip(us, grads)]
    return tuple(grads) if prim.multiple_results else grads[0]
