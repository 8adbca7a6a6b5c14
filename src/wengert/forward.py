"""Forward mode: ``ForwardAccumulator`` pushes tangents through the same primitives' JVP rules."""

from __future__ import annotations

from .backend import xp
from .core import paused, push_recorder, remove_recorder
from .tape import UnconnectedGradients, _unconnected_mode, flatten
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
            if p._value.dtype.kind not in "fc":
                continue  # integer primals have no tangent
            if not p._tid:
                p._tid = next_tid()
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
        tangents = self._tangents
        for a in args:
            if isinstance(a, Tensor) and a._tid in tangents:
                break
        else:
            return
        if not prim.differentiable:
            return
        with paused(self):  # the rules' own ops are not this accumulator's business
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
    us = [wrap(xp.zeros(o.shape, o.dtype), "zeros_like") for o in outs]
    with GradientTape() as tape:
        tape.watch(us)
        u = tuple(us) if prim.multiple_results else us[0]
        vjps = prim.vjps
        w = (
            vjps[i](u, out, *args, **params)
            if type(vjps) is tuple
            else vjps(i, u, out, *args, **params)
        )
    if w is None:
        return None
    grads = tape.gradient(
        w, us, output_gradients=dx, unconnected_gradients=UnconnectedGradients.ZERO
    )
    return tuple(grads) if prim.multiple_results else grads[0]
