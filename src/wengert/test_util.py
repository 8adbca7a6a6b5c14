"""``check_grads``: test a function's derivatives against finite differences.

Reverse mode is checked by the identity <u, VJP(v)> = <v, JVP(u)> along random
directions u and v, with the JVP taken numerically by central differences;
forward mode compares the accumulator's JVP with the numerical one.  For
``order=2`` the check recurses on the JVP and VJP functions themselves, so the
rules' own derivatives are checked too.  Use float64 inputs.
"""

from __future__ import annotations

from .backend import xp
from .core import operand
from .forward import ForwardAccumulator
from .tape import GradientTape, UnconnectedGradients, flatten
from .tensor import Tensor, wrap

__all__ = ["check_grads", "numerical_jvp"]


def _outputs(y):
    leaves, _ = flatten(y)
    return [leaf if isinstance(leaf, Tensor) else operand(leaf) for leaf in leaves]


def numerical_jvp(f, args, tangents, eps: float = 1e-6):
    """Central-difference JVP of ``f`` at ``args`` along ``tangents``: one array per output."""
    plus = [wrap(a._value + eps * t) for a, t in zip(args, tangents)]
    minus = [wrap(a._value - eps * t) for a, t in zip(args, tangents)]
    yp = _outputs(f(*plus))
    ym = _outputs(f(*minus))
    return [(p._value - m._value) / (2 * eps) for p, m in zip(yp, ym)]


def _random_like(rng, t):
    return rng.standard_normal(t.shape).astype(t.dtype)


def _close(a, b, rtol, atol):
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def check_grads(
    f, args, modes=("fwd", "rev"), order=2, eps=1e-6, rtol=1e-5, atol=1e-6, seed=0
) -> None:
    """Check ``f``'s derivatives at ``args`` numerically; raise AssertionError if wrong.

    Args:
        f: a function of Tensors returning a Tensor (or a tuple of Tensors).
        args: the point: a tuple of arrays or Tensors (use float64).
        modes: any of "fwd" (ForwardAccumulator) and "rev" (GradientTape).
        order: 1 checks first derivatives; 2 also the derivatives of the rules.
        eps: the finite-difference step.
        rtol: relative tolerance.
        atol: absolute tolerance.
        seed: seed for the random directions.

    Example:
        >>> import numpy as np
        >>> import wengert as wg
        >>> wg.test_util.check_grads(wg.sin, (np.array([0.3, 1.2]),))
    """
    args = tuple(a if isinstance(a, Tensor) else operand(xp.asarray(a)) for a in args)
    rng = xp.random.default_rng(seed)
    _check(f, args, tuple(modes), order, eps, rtol, atol, rng, "f")


def _check(f, args, modes, order, eps, rtol, atol, rng, label):
    us = [_random_like(rng, a) for a in args]
    if "rev" in modes:
        _check_vjp(f, args, us, eps, rtol, atol, rng, label)
    if "fwd" in modes:
        _check_jvp(f, args, us, eps, rtol, atol, label)
    if order > 1:
        n = len(args)
        if "rev" in modes:
            vs = [wrap(_random_like(rng, y)) for y in _outputs(f(*args))]

            def vjp_f(*xs_and_vs):
                xs, cot = xs_and_vs[:n], xs_and_vs[n:]
                with GradientTape() as tape:
                    tape.watch(list(xs))
                    ys = _outputs(f(*xs))
                return tuple(
                    tape.gradient(
                        ys,
                        list(xs),
                        output_gradients=list(cot),
                        unconnected_gradients=UnconnectedGradients.ZERO,
                    )
                )

            _check(vjp_f, args + tuple(vs), modes, order - 1, eps, rtol, atol, rng, f"vjp({label})")
        if "fwd" in modes:
            ts = [wrap(u) for u in us]

            def jvp_f(*xs_and_ts):
                xs, tan = xs_and_ts[:n], xs_and_ts[n:]
                with ForwardAccumulator(list(xs), list(tan)) as acc:
                    ys = _outputs(f(*xs))
                return tuple(acc.jvp(ys, unconnected_gradients=UnconnectedGradients.ZERO))

            _check(jvp_f, args + tuple(ts), modes, order - 1, eps, rtol, atol, rng, f"jvp({label})")


def _check_vjp(f, args, us, eps, rtol, atol, rng, label):
    with GradientTape(persistent=True) as tape:
        tape.watch(list(args))
        ys = _outputs(f(*args))
    for j, y in enumerate(ys):
        if y._value.dtype.kind not in "fc":
            continue
        v = _random_like(rng, y)
        cot = [wrap(v if k == j else xp.zeros(o.shape, o.dtype)) for k, o in enumerate(ys)]
        grads = tape.gradient(
            ys, list(args), output_gradients=cot, unconnected_gradients=UnconnectedGradients.ZERO
        )
        for i, (a, g, u) in enumerate(zip(args, grads, us)):
            if a._value.dtype.kind not in "fc":
                continue
            if g.shape != a.shape or g.dtype != a.dtype:
                raise AssertionError(
                    f"{label}: gradient of output {j} w.r.t. input {i} has "
                    f"{g.dtype}{list(g.shape)}, expected the input's {a.dtype}{list(a.shape)}"
                )
            tangents = [u if k == i else xp.zeros(b.shape, b.dtype) for k, b in enumerate(args)]
            num = numerical_jvp(f, args, tangents, eps)[j]
            lhs = float(xp.sum(u * g._value))
            rhs = float(xp.sum(v * num))
            if not _close(lhs, rhs, rtol, atol):
                raise AssertionError(
                    f"{label}: reverse mode is wrong for output {j} w.r.t. input {i}: "
                    f"<u, VJP(v)> = {lhs!r} but <v, numerical JVP(u)> = {rhs!r}\n"
                    f"VJP(v) = {g._value!r}\nnumerical JVP(u) = {num!r}"
                )


def _check_jvp(f, args, us, eps, rtol, atol, label):
    for i, (a, u) in enumerate(zip(args, us)):
        if a._value.dtype.kind not in "fc":
            continue
        tangents = [u if k == i else xp.zeros(b.shape, b.dtype) for k, b in enumerate(args)]
        with ForwardAccumulator(list(args), [wrap(t) for t in tangents]) as acc:
            ys = _outputs(f(*args))
        jvps = acc.jvp(ys, unconnected_gradients=UnconnectedGradients.ZERO)
        nums = numerical_jvp(f, args, tangents, eps)
        for j, (y, jv, num) in enumerate(zip(ys, jvps, nums)):
            if y._value.dtype.kind not in "fc":
                continue
            if jv.shape != y.shape:
                raise AssertionError(
                    f"{label}: forward mode tangent of output {j} has shape {jv.shape}, "
                    f"expected {y.shape}"
                )
            err = xp.abs(jv._value - num)
            if not bool(xp.all(err <= atol + rtol * xp.maximum(xp.abs(jv._value), xp.abs(num)))):
                raise AssertionError(
                    f"{label}: forward mode is wrong for output {j} w.r.t. input {i}: "
                    f"JVP = {jv._value!r} but numerical JVP = {num!r}"
                )
