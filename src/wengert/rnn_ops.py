"""Recurrences fused into one tape operation each: LSTM, GRU and simple RNN sequences.

Recording an LSTM step by step puts a few dozen tiny ops per time step on the
tape; at 50 steps that is thousands of records, each costing more in Python than
its arithmetic.  Here the whole recurrence over a sequence is one primitive
(a composite with its own rule for speed, as DESIGN.md allows):

* the input projection ``x @ kernel + bias`` for every step is an ordinary
  matmul *outside* the primitive, done once for the whole sequence;
* inside, each step is one fused gate matrix product ``h @ recurrent_kernel``
  (four LSTM gates, three GRU gates) and a handful of in-place array updates;
* the VJP is backpropagation through time written by hand, registered as a
  second primitive (``*_sequence_grad``), so the backward pass is one record
  too.  The per-step gate values the forward computed travel to it in the
  sequence primitive's last output, an opaque "saved" handle (an object array:
  not differentiable, never a cotangent).

Everything is time-major: ``x_proj`` is (time, batch, gates * units) in Keras's
gate order (LSTM i, f, c, o; GRU z, r, h), states are (batch, units) and the
optional ``mask`` is a boolean (time, batch) array.  A masked step leaves the
state unchanged and outputs it again, as Keras does (its output is the
previous output, the initial state before any unmasked step), and receives no
gradient.  ``go_backwards`` walks the sequence from its end and returns the
outputs in that (reversed) order, as Keras does.

Higher derivatives: the rules of the two fused primitives are derived from the
unfused recurrence (``*_sequence_unfused``, the same step recorded op by op):
the JVP of a sequence pushes tangents through it with a forward accumulator,
and the VJP of a BPTT primitive differentiates the unfused recurrence's
gradient with nested tapes.  These run only when a derivative of a gradient is
wanted; training uses the fused array code alone.
"""

from __future__ import annotations

import math
import sys
import threading

from .array_ops import identity, split, stack
from .backend import xp
from .core import Primitive, apply, operand
from .math_ops import matmul, tanh, where
from .nn_ops import relu, sigmoid
from .saved import is_zero, saved_handle
from .tensor import Tensor, wrap

__all__ = [
    "lstm_sequence",
    "gru_sequence",
    "simple_rnn_sequence",
    "lstm_sequence_unfused",
    "gru_sequence_unfused",
    "simple_rnn_sequence_unfused",
    "lstm_step",
    "gru_step",
    "simple_rnn_step",
]


# -- one step of each cell, recorded op by op -----------------------------------------------------
def lstm_step(x_t, h, c, recurrent_kernel, activation=None, recurrent_activation=None):
    """One LSTM step from a projected input: Keras's LSTMCell math, gate order i, f, c, o.

    ``z = x_t + h @ recurrent_kernel``; ``i, f, o = recurrent_activation(z_i, z_f, z_o)``,
    ``g = activation(z_c)``; ``c' = f c + i g``; ``h' = o activation(c')``.

    Args:
        x_t: the projected input of this step (batch, 4 units), bias included.
        h: the previous output (batch, units).
        c: the previous cell state (batch, units).
        recurrent_kernel: (units, 4 units).
        activation: the cell activation (default tanh).
        recurrent_activation: the gate activation (default sigmoid).

    Returns:
        ``(h', c')``.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import lstm_step
        >>> h, c = lstm_step(wg.zeros((1, 8)), wg.zeros((1, 2)), wg.ones((1, 2)), wg.zeros((2, 8)))
        >>> round(float(c[0, 0]), 4), round(float(h[0, 0]), 4)
        (0.5, 0.2311)
    """
    act = tanh if activation is None else activation
    ract = sigmoid if recurrent_activation is None else recurrent_activation
    z = x_t + matmul(h, recurrent_kernel)
    zi, zf, zg, zo = split(z, 4, axis=-1)
    c = ract(zf) * c + ract(zi) * act(zg)
    return ract(zo) * act(c), c


def gru_step(
    x_t,
    h,
    recurrent_kernel,
    recurrent_bias=None,
    reset_after=True,
    activation=None,
    recurrent_activation=None,
):
    """One GRU step from a projected input: Keras's GRUCell math, gate order z, r, h.

    With ``reset_after`` (Keras's default, and PyTorch's GRU) the reset gate
    multiplies the recurrent projection: ``hh = activation(x_h + r (h @ R_h + b_h))``;
    otherwise it multiplies the state first: ``hh = activation(x_h + (r h) @ R_h)``.
    Then ``h' = z h + (1 - z) hh``.

    Args:
        x_t: the projected input (batch, 3 units), input bias included.
        h: the previous state (batch, units).
        recurrent_kernel: (units, 3 units).
        recurrent_bias: (3 units,) added to ``h @ recurrent_kernel`` (reset_after only).
        reset_after: where the reset gate applies (see above).
        activation: default tanh.
        recurrent_activation: default sigmoid.

    Returns:
        The new state ``h'``.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import gru_step
        >>> gru_step(wg.zeros((1, 6)), wg.ones((1, 2)), wg.zeros((2, 6))).numpy()
        array([[0.5, 0.5]], dtype=float32)
    """
    act = tanh if activation is None else activation
    ract = sigmoid if recurrent_activation is None else recurrent_activation
    xz, xr, xh = split(x_t, 3, axis=-1)
    if reset_after:
        m = matmul(h, recurrent_kernel)
        if recurrent_bias is not None:
            m = m + recurrent_bias
        mz, mr, mh = split(m, 3, axis=-1)
        z = ract(xz + mz)
        r = ract(xr + mr)
        hh = act(xh + r * mh)
    else:
        units = h.shape[-1]
        r_zr, r_h = split(recurrent_kernel, [2 * units, units], axis=-1)
        mz, mr = split(matmul(h, r_zr), 2, axis=-1)
        z = ract(xz + mz)
        r = ract(xr + mr)
        hh = act(xh + matmul(r * h, r_h))
    return z * h + (1.0 - z) * hh


def simple_rnn_step(x_t, h, recurrent_kernel, activation=None):
    """One simple RNN step: ``h' = activation(x_t + h @ recurrent_kernel)``.

    Args:
        x_t: the projected input (batch, units), bias included.
        h: the previous state (batch, units).
        recurrent_kernel: (units, units).
        activation: default tanh.

    Returns:
        The new state ``h'``.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import simple_rnn_step
        >>> simple_rnn_step(wg.zeros((1, 2)), wg.ones((1, 2)), wg.eye(2)).numpy().round(4)
        array([[0.7616, 0.7616]], dtype=float32)
    """
    act = tanh if activation is None else activation
    return act(x_t + matmul(h, recurrent_kernel))


# -- the unfused recurrences: the reference the fused rules are derived from ----------------------
def _steps(x, mask, go_backwards):
    """(x_t, keep_t) per step in processing order; keep_t is None or a (batch, 1) bool array."""
    n = x.shape[0]
    order = range(n - 1, -1, -1) if go_backwards else range(n)
    for t in order:
        m = None if mask is None else wrap(mask._value[t][:, None])
        yield x[t], m


def _lstm_reference(x, h0, c0, r, mask, go_backwards=False):
    h, c = h0, c0
    hs = []
    for x_t, m in _steps(x, mask, go_backwards):
        h_new, c_new = lstm_step(x_t, h, c, r)
        if m is not None:
            h_new = where(m, h_new, h)
            c_new = where(m, c_new, c)
        h, c = h_new, c_new
        hs.append(h)
    return _stack(hs, x, h0), identity(h), identity(c)


def _gru_reference(x, h0, r, *rest, reset_after=True, go_backwards=False):
    b = rest[0] if len(rest) == 2 else None
    mask = rest[-1]
    h = h0
    hs = []
    for x_t, m in _steps(x, mask, go_backwards):
        h_new = gru_step(x_t, h, r, b, reset_after=reset_after)
        h = h_new if m is None else where(m, h_new, h)
        hs.append(h)
    return _stack(hs, x, h0), identity(h)


def _simple_reference(x, h0, r, mask, activation="tanh", go_backwards=False):
    act = _SIMPLE_ACTIVATIONS[activation]
    h = h0
    hs = []
    for x_t, m in _steps(x, mask, go_backwards):
        h_new = simple_rnn_step(x_t, h, r, act)
        h = h_new if m is None else where(m, h_new, h)
        hs.append(h)
    return _stack(hs, x, h0), identity(h)


def _stack(hs, x, h0):
    if hs:
        return stack(hs)
    return wrap(xp.zeros((0,) + tuple(h0.shape), x.dtype))


_SIMPLE_ACTIVATIONS = {"tanh": tanh, "relu": relu}


# -- the fused array code: forward and backpropagation through time -------------------------------
# Conventions: ``x`` is (T, B, gates*H) in processing order (reversed already for
# go_backwards), ``keep`` is None or a (T, B, 1) bool array that is True where a
# step is masked (the state is kept).  Buffers are written in place with ``out=``:
# a step touches only (B, gates*H) arrays, which stay in cache.


class _Pool:
    """Recycles this module's large per-sequence arrays once nothing else references them.

    A fresh array of a few MB costs page faults (glibc gives freed large blocks back
    to the kernel), which made a fused LSTM step about a third slower.  An array is
    handed out again only when the pool holds the sole reference to it (no tensor,
    tape record or view uses it any more), so reuse never changes a value anyone
    can see.  Small arrays come from malloc as usual.
    """

    def __init__(self, max_bytes=256 << 20, per_shape=8, min_bytes=1 << 18):
        self.max_bytes = max_bytes
        self.per_shape = per_shape
        self.min_bytes = min_bytes
        self._free = {}  # (shape, dtype) -> arrays, least recently used key first
        self._bytes = 0
        self._lock = threading.Lock()

    def empty(self, shape, dtype):
        """An uninitialised array, recycled when one of this shape is free."""
        dtype = xp.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.min_bytes:
            return xp.empty(shape, dtype)
        key = (tuple(shape), dtype.str)
        with self._lock:
            arrays = self._free.pop(key, [])
            self._free[key] = arrays  # most recently used last
            for a in arrays:
                if sys.getrefcount(a) == 3:  # the list, `a`, and getrefcount's argument
                    return a
            a = xp.empty(shape, dtype)
            if len(arrays) < self.per_shape:
                self._evict(self.max_bytes - nbytes)
                if self._bytes + nbytes <= self.max_bytes:
                    arrays.append(a)
                    self._bytes += nbytes
            return a

    def _evict(self, budget):
        for key in list(self._free):
            if self._bytes <= budget:
                return
            arrays = self._free[key]
            for a in list(arrays):
                if sys.getrefcount(a) == 3 and self._bytes > budget:
                    arrays.remove(a)
                    self._bytes -= a.nbytes

    def clear(self) -> None:
        """Forget every pooled array (they are freed once nothing else holds them)."""
        with self._lock:
            self._free = {}
            self._bytes = 0


_POOL = _Pool()


def _half_tanh_to_sigmoid(a):
    """In place: a <- 0.5 + 0.5 tanh(a), i.e. sigmoid(z) for a = z / 2 (one tanh call)."""
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _keep(mask, go_backwards):
    if mask is None:
        return None
    m = mask[::-1] if go_backwards else mask
    return ~m[:, :, None]


def _previous(first, seq, go_backwards):
    """The state before each step, (T, B, H), in the memory order of the gradient arrays.

    The weight gradients pair it row by row with (T, B, gates*H) gradient arrays kept in
    the caller's time order, so for go_backwards it is stored reversed too.
    """
    t, b, h = seq.shape
    prev = _POOL.empty((t, b, h), seq.dtype)
    view = prev[::-1] if go_backwards else prev
    if t:
        view[0] = first
        view[1:] = seq[:-1]
    return prev


def _grad_buffer(shape, dtype, go_backwards):
    """(array in the caller's time order, view of it in processing order)."""
    a = _POOL.empty(shape, dtype)
    return a, (a[::-1] if go_backwards else a)


def _start(g, shape, dtype):
    return xp.zeros(shape, dtype) if g is None else xp.array(g, dtype=dtype, copy=True)


def _lstm_forward(x, states, weights, mask, go_backwards=False):
    (h0, c0), (r,) = states, weights
    r = xp.ascontiguousarray(r)  # a Fortran-ordered kernel (orthogonal init) multiplies slower
    if go_backwards:
        x = x[::-1]
    keep = _keep(mask, go_backwards)
    n, b, g = x.shape
    u = g // 4
    dt = x.dtype
    hs = _POOL.empty((n, b, u), dt)
    cs = _POOL.empty((n, b, u), dt)
    tcs = _POOL.empty((n, b, u), dt)  # tanh(c)
    # Activated gates stored gate-major as i, f, o, g: (T, 4, B, H).  Each gate is a
    # contiguous block and the three sigmoid gates are one block, so the elementwise
    # work runs on contiguous arrays with scalar constants.
    gates = _POOL.empty((n, 4, b, u), dt)
    m = xp.empty((b, g), dt)  # h @ R + x_t, Keras's order i, f, c, o
    m_if = m.reshape(b, 4, u)[:, :2].transpose(1, 0, 2)
    m_c = m[:, 2 * u : 3 * u]
    m_o = m[:, 3 * u :]
    ig = xp.empty((b, u), dt)
    h, c = h0, c0
    for t in range(n):
        xp.matmul(h, r, out=m)
        m += x[t]
        a = gates[t]
        i, f, o, gg = a
        xp.multiply(m_if, 0.5, out=a[:2])
        xp.multiply(m_o, 0.5, out=o)
        _half_tanh_to_sigmoid(a[:3])
        xp.tanh(m_c, out=gg)
        ct = cs[t]
        xp.multiply(f, c, out=ct)
        xp.multiply(i, gg, out=ig)
        ct += ig
        tc = tcs[t]
        xp.tanh(ct, out=tc)
        ht = hs[t]
        xp.multiply(o, tc, out=ht)
        if keep is not None:
            xp.copyto(ht, h, where=keep[t])
            xp.copyto(ct, c, where=keep[t])
        h, c = ht, ct
    return (hs, xp.array(h, dtype=dt), xp.array(c, dtype=dt)), (hs, gates, cs, tcs)


def _lstm_backward(gs, saved, x, states, weights, mask, go_backwards=False):
    g_hs, g_h, g_c = gs
    hs, gates, cs, tcs = saved
    (h0, c0), (r,) = states, weights
    n, b, u = hs.shape
    g = 4 * u
    dt = hs.dtype
    keep = _keep(mask, go_backwards)
    dx, dz_all = _grad_buffer((n, b, g), dt, go_backwards)
    dh = _start(g_h, (b, u), dt)
    dc = _start(g_c, (b, u), dt)
    rt = xp.ascontiguousarray(r.T)
    p = xp.empty((4, b, u), dt)  # d loss / d (activated gate), order i, f, o, g
    d = xp.empty((4, b, u), dt)  # d (activated gate) / d (pre-activation)
    tmp = xp.empty((b, u), dt)
    if keep is not None:
        carry_h = xp.empty((b, u), dt)
        carry_c = xp.empty((b, u), dt)
    for t in range(n - 1, -1, -1):
        if g_hs is not None:
            dh += g_hs[t]
        if keep is not None:  # a masked step passes its gradients straight through
            k = keep[t]
            xp.multiply(dh, k, out=carry_h)
            xp.multiply(dc, k, out=carry_c)
            xp.copyto(dh, 0, where=k)
            xp.copyto(dc, 0, where=k)
        a = gates[t]
        i, f, o, gg = a
        tc = tcs[t]
        c_prev = cs[t - 1] if t else c0
        # dc += dh * o * (1 - tanh(c)^2)
        xp.multiply(tc, tc, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        xp.multiply(dc, gg, out=p[0])  # d i = dc g
        xp.multiply(dc, c_prev, out=p[1])  # d f = dc c_prev
        xp.multiply(dh, tc, out=p[2])  # d o = dh tanh(c)
        xp.multiply(dc, i, out=p[3])  # d g = dc i
        # a (1 - a) for the sigmoid gates, (1 - a)(1 + a) for the tanh gate
        xp.subtract(1, a, out=d)
        d[:3] *= a[:3]
        xp.add(gg, 1, out=tmp)
        d[3] *= tmp
        dz = dz_all[t]
        dzv = dz.reshape(b, 4, u).transpose(1, 0, 2)  # back to Keras's order i, f, c, o
        xp.multiply(p[:2], d[:2], out=dzv[:2])
        xp.multiply(p[2], d[2], out=dzv[3])
        xp.multiply(p[3], d[3], out=dzv[2])
        dc *= f
        xp.matmul(dz, rt, out=dh)
        if keep is not None:
            dh += carry_h
            dc += carry_c
    hprev = _previous(h0, hs, go_backwards)
    dr = hprev.reshape(n * b, u).T @ dx.reshape(n * b, g)
    return dx, dh, dc, dr


def _sigmoid_in_place(a):
    """In place: a <- sigmoid(a) = 0.5 + 0.5 tanh(a / 2)."""
    a *= 0.5
    _half_tanh_to_sigmoid(a)


def _gru_forward(x, states, weights, mask, reset_after=True, go_backwards=False):
    (h0,) = states
    r = xp.ascontiguousarray(weights[0])
    bias = weights[1] if len(weights) == 2 else None
    if go_backwards:
        x = x[::-1]
    keep = _keep(mask, go_backwards)
    n, b, g = x.shape
    u = g // 3
    dt = x.dtype
    hs = _POOL.empty((n, b, u), dt)
    # Activated z, r, hh stored gate-major, (T, 3, B, H): each gate a contiguous block,
    # so the elementwise updates run on contiguous arrays with scalar constants.
    gates = _POOL.empty((n, 3, b, u), dt)
    if reset_after:
        ms = _POOL.empty((n, b, g), dt)  # h @ R + b_h: its h block is gated by r
    else:
        rs = _POOL.empty((n, b, u), dt)  # r * h, the input of the candidate's matmul
        r_zr = xp.ascontiguousarray(r[:, : 2 * u])
        r_h = xp.ascontiguousarray(r[:, 2 * u :])
        m = xp.empty((b, 2 * u), dt)
        m_h = xp.empty((b, u), dt)
    h = h0
    for t in range(n):
        z, rr, hh = gates[t]
        xt = x[t]
        if reset_after:
            m = ms[t]
            xp.matmul(h, r, out=m)
            if bias is not None:
                m += bias
        else:
            xp.matmul(h, r_zr, out=m)
        xp.add(m[:, :u], xt[:, :u], out=z)
        xp.add(m[:, u : 2 * u], xt[:, u : 2 * u], out=rr)
        _sigmoid_in_place(gates[t, :2])
        if reset_after:
            xp.multiply(rr, m[:, 2 * u :], out=hh)
        else:
            rh = rs[t]
            xp.multiply(rr, h, out=rh)
            xp.matmul(rh, r_h, out=m_h)
            hh[...] = m_h
        hh += xt[:, 2 * u :]
        xp.tanh(hh, out=hh)
        ht = hs[t]
        xp.subtract(h, hh, out=ht)  # h' = hh + z (h - hh)
        ht *= z
        ht += hh
        if keep is not None:
            xp.copyto(ht, h, where=keep[t])
        h = ht
    saved = (hs, gates, ms) if reset_after else (hs, gates, rs)
    return (hs, xp.array(h, dtype=dt)), saved


def _gru_backward(gs, saved, x, states, weights, mask, reset_after=True, go_backwards=False):
    g_hs, g_h = gs
    hs, gates, extra = saved
    (h0,) = states
    r = weights[0]
    has_bias = len(weights) == 2
    n, b, u = hs.shape
    g = 3 * u
    dt = hs.dtype
    keep = _keep(mask, go_backwards)
    dx, dx_p = _grad_buffer((n, b, g), dt, go_backwards)
    if reset_after:
        dm, dm_p = _grad_buffer((n, b, g), dt, go_backwards)  # gradient of h @ R + b_h
        rt = xp.ascontiguousarray(r.T)
    else:
        rt_zr = xp.ascontiguousarray(r[:, : 2 * u].T)
        rt_h = xp.ascontiguousarray(r[:, 2 * u :].T)
        drh = xp.empty((b, u), dt)
    dh = _start(g_h, (b, u), dt)
    omz = xp.empty((b, u), dt)
    tmp = xp.empty((b, u), dt)
    dhh = xp.empty((b, u), dt)
    direct = xp.empty((b, u), dt)
    if keep is not None:
        carry = xp.empty((b, u), dt)
    for t in range(n - 1, -1, -1):
        if g_hs is not None:
            dh += g_hs[t]
        if keep is not None:
            k = keep[t]
            xp.multiply(dh, k, out=carry)
            xp.copyto(dh, 0, where=k)
        z, rr, hh = gates[t]
        hp = hs[t - 1] if t else h0
        dxt = dx_p[t]
        xp.subtract(1, z, out=omz)
        # d hh_pre = dh (1 - z) (1 - hh^2)
        xp.multiply(hh, hh, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        tmp *= omz
        xp.multiply(tmp, dh, out=dhh)
        dxt[:, 2 * u :] = dhh
        # d z_pre = dh (h_prev - hh) z (1 - z)
        xp.subtract(hp, hh, out=tmp)
        tmp *= dh
        tmp *= z
        xp.multiply(tmp, omz, out=dxt[:, :u])
        xp.multiply(dh, z, out=direct)
        xp.subtract(1, rr, out=tmp)
        tmp *= rr
        if reset_after:
            # d r_pre = d hh_pre (h @ R_h + b_h) r (1 - r)
            tmp *= extra[t][:, 2 * u :]
            xp.multiply(tmp, dhh, out=dxt[:, u : 2 * u])
            dmt = dm_p[t]
            dmt[:, : 2 * u] = dxt[:, : 2 * u]
            xp.multiply(dhh, rr, out=dmt[:, 2 * u :])
            xp.matmul(dmt, rt, out=dh)
        else:
            # d (r h) = d hh_pre @ R_h^T; d r_pre = d(r h) h_prev r (1 - r)
            xp.matmul(dhh, rt_h, out=drh)
            tmp *= hp
            xp.multiply(tmp, drh, out=dxt[:, u : 2 * u])
            drh *= rr
            direct += drh
            xp.matmul(dxt[:, : 2 * u], rt_zr, out=dh)
        dh += direct
        if keep is not None:
            dh += carry
    hprev = _previous(h0, hs, go_backwards).reshape(n * b, u)
    if reset_after:
        dm2 = dm.reshape(n * b, g)
        dr = hprev.T @ dm2
        grads = (dx, dh, dr)
        return grads + (dm2.sum(axis=0),) if has_bias else grads
    dx2 = dx.reshape(n * b, g)
    rs = extra[::-1] if go_backwards else extra
    dr = xp.concatenate(
        [hprev.T @ dx2[:, : 2 * u], rs.reshape(n * b, u).T @ dx2[:, 2 * u :]], axis=1
    )
    return dx, dh, dr


def _simple_forward(x, states, weights, mask, activation="tanh", go_backwards=False):
    (h0,), (r,) = states, weights
    r = xp.ascontiguousarray(r)
    if go_backwards:
        x = x[::-1]
    keep = _keep(mask, go_backwards)
    n, b, u = x.shape
    dt = x.dtype
    hs = _POOL.empty((n, b, u), dt)
    h = h0
    for t in range(n):
        a = hs[t]
        xp.matmul(h, r, out=a)
        a += x[t]
        if activation == "tanh":
            xp.tanh(a, out=a)
        else:
            xp.maximum(a, 0, out=a)
        if keep is not None:
            xp.copyto(a, h, where=keep[t])
        h = a
    return (hs, xp.array(h, dtype=dt)), (hs,)


def _simple_backward(gs, saved, x, states, weights, mask, activation="tanh", go_backwards=False):
    g_hs, g_h = gs
    (hs,) = saved
    (h0,), (r,) = states, weights
    n, b, u = hs.shape
    dt = hs.dtype
    keep = _keep(mask, go_backwards)
    dx, da_all = _grad_buffer((n, b, u), dt, go_backwards)
    dh = _start(g_h, (b, u), dt)
    rt = xp.ascontiguousarray(r.T)
    if keep is not None:
        carry = xp.empty((b, u), dt)
    for t in range(n - 1, -1, -1):
        if g_hs is not None:
            dh += g_hs[t]
        if keep is not None:
            k = keep[t]
            xp.multiply(dh, k, out=carry)
            xp.copyto(dh, 0, where=k)
        ht = hs[t]
        da = da_all[t]
        if activation == "tanh":
            xp.multiply(ht, ht, out=da)
            xp.subtract(1, da, out=da)
            da *= dh
        else:
            xp.multiply(dh, ht > 0, out=da)
        xp.matmul(da, rt, out=dh)
        if keep is not None:
            dh += carry
    hprev = _previous(h0, hs, go_backwards)
    dr = hprev.reshape(n * b, u).T @ dx.reshape(n * b, u)
    return dx, dh, dr


# -- the primitives -------------------------------------------------------------------------------
class _Recurrence:
    """A fused recurrence: the sequence primitive, its BPTT primitive, and their rules.

    Arguments of the sequence primitive: ``(x, *initial_states, *weights, mask)``;
    results: ``(outputs, *final_states, saved)``.  Arguments of the BPTT
    primitive: ``(g_outputs, *g_final_states, saved, x, *initial_states, *weights,
    mask)``; results: one gradient per differentiable argument of the sequence.
    """

    def __init__(self, name, n_states, forward, backward, reference):
        self.n_states = n_states
        self.forward = forward
        self.backward = backward
        self.reference = reference
        self.sequence_p = Primitive(f"{name}_sequence", self._sequence_impl, multiple_results=True)
        self.grad_p = Primitive(f"{name}_sequence_grad", self._grad_impl, multiple_results=True)
        # Joint rules (told which argument, as concat's): one BPTT serves every input.
        self.sequence_p.vjps = self._sequence_vjp
        self.sequence_p.jvps = self._sequence_jvp
        self.grad_p.vjps = self._grad_vjp
        # grad_p.jvps stays None: forward mode transposes its VJP (forward.py).

    # impls
    def _sequence_impl(self, x, *rest, **params):
        ns = self.n_states
        outs, saved = self.forward(x, rest[:ns], rest[ns:-1], rest[-1], **params)
        return outs + (saved_handle(saved),)

    def _grad_impl(self, *args, **params):
        ng = 1 + self.n_states
        gs = args[:ng]
        saved = args[ng][()].arrays
        x = args[ng + 1]
        states = args[ng + 2 : ng + 2 + self.n_states]
        weights = args[ng + 2 + self.n_states : -1]
        return self.backward(gs, saved, x, states, weights, args[-1], **params)

    # rules
    def _sequence_vjp(self, i, g, out, *args, **params):
        if i == len(args) - 1:
            return None  # the mask
        saved = out[-1]._value[()]
        if saved.key is not g:
            gs = tuple(None if is_zero(gi) else gi for gi in g[:-1])
            saved.grads = apply(self.grad_p, gs + (out[-1],) + args, params)
            saved.key = g
        return saved.grads[i]

    def _sequence_jvp(self, i, dx, out, *args, **params):
        from .forward import ForwardAccumulator

        n = len(args) - 1
        if i >= n:
            return None
        # Fresh (recorded) copies, so an argument passed twice gets its tangent once.
        primals = [identity(a) for a in args[:n]]
        with ForwardAccumulator(primals[i], dx) as acc:
            ys = self.reference(*primals, args[-1], **params)
        return tuple(acc.jvp(list(ys), unconnected_gradients="zero"))

    def _grad_vjp(self, i, w, out, *args, **params):
        ng = 1 + self.n_states
        if i == ng or i == len(args) - 1:
            return None  # the saved handle, the mask
        saved = args[ng]._value[()]
        if saved.key2 is not w:
            saved.grads2 = self._grad_vjp_all(w, args, params)
            saved.key2 = w
        return saved.grads2[i]

    def _grad_vjp_all(self, w, args, params):
        """Differentiate <w, VJP(g)> with respect to g and the primals, through the unfused
        recurrence: a tape inside a tape, both recorded by any tape outside."""
        from .tape import GradientTape, UnconnectedGradients

        zero = UnconnectedGradients.ZERO
        ng = 1 + self.n_states
        gs = [None if a is None else identity(a) for a in args[:ng]]
        primals = [identity(a) for a in args[ng + 1 : -1]]
        sources = [a for a in gs if a is not None] + primals
        with GradientTape() as outer:
            outer.watch(sources)
            with GradientTape() as inner:
                inner.watch(primals)
                ys = self.reference(*primals, args[-1], **params)
            cot = [wrap(xp.zeros(y.shape, y.dtype)) if gi is None else gi for gi, y in zip(gs, ys)]
            d = inner.gradient(list(ys), primals, output_gradients=cot, unconnected_gradients=zero)
        res = outer.gradient(d, sources, output_gradients=list(w), unconnected_gradients=zero)
        it = iter(res)
        grads = [None if a is None else next(it) for a in gs] + [None]
        grads += [next(it) for _ in primals] + [None]
        return grads


_LSTM = _Recurrence("lstm", 2, _lstm_forward, _lstm_backward, _lstm_reference)
_GRU = _Recurrence("gru", 1, _gru_forward, _gru_backward, _gru_reference)
_SIMPLE = _Recurrence("simple_rnn", 1, _simple_forward, _simple_backward, _simple_reference)

lstm_sequence_p = _LSTM.sequence_p
lstm_sequence_grad_p = _LSTM.grad_p
gru_sequence_p = _GRU.sequence_p
gru_sequence_grad_p = _GRU.grad_p
simple_rnn_sequence_p = _SIMPLE.sequence_p
simple_rnn_sequence_grad_p = _SIMPLE.grad_p


# -- checking arguments ---------------------------------------------------------------------------
def _float_operands(op, named):
    out = []
    dtype = None
    for name, value in named:
        t = operand(value, dtype)
        if t._value.dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a floating-point tensor, got {t.dtype}")
        if dtype is None:
            dtype = t._value.dtype
        elif t._value.dtype != dtype:
            raise TypeError(
                f"{op}: {name} has dtype {t.dtype} but x_proj has {dtype}; cast one with wg.cast"
            )
        out.append(t)
    return out


def _check_sequence(op, x, r, gates, states, bias=None):
    """Check shapes; return (time, batch, units)."""
    if x.ndim != 3:
        raise ValueError(
            f"{op}: x_proj must be (time, batch, {gates} * units), got shape {x.shape}"
        )
    if r.ndim != 2 or r.shape[1] != gates * r.shape[0]:
        raise ValueError(
            f"{op}: recurrent_kernel must be (units, {gates} * units), got shape {r.shape}"
        )
    n, b, g = x.shape
    u = r.shape[0]
    if g != gates * u:
        raise ValueError(
            f"{op}: x_proj has {g} features per step but recurrent_kernel {r.shape} needs "
            f"{gates} * {u} = {gates * u}"
        )
    for name, s in states:
        if s.shape != (b, u):
            raise ValueError(f"{op}: {name} must be (batch, units) = {(b, u)}, got shape {s.shape}")
    if bias is not None and bias.shape != (gates * u,):
        raise ValueError(f"{op}: recurrent_bias must be ({gates * u},), got shape {bias.shape}")
    return n, b, u


def _mask_operand(op, mask, n, b):
    if mask is None:
        return None
    m = xp.asarray(mask._value if isinstance(mask, Tensor) else mask)
    if m.shape != (n, b):
        raise ValueError(f"{op}: mask must be (time, batch) = {(n, b)}, got shape {m.shape}")
    if m.dtype != xp.bool_:
        m = m != 0
    return wrap(xp.array(m, dtype=bool), "mask")


# -- public functions -----------------------------------------------------------------------------
def _lstm_args(op, x_proj, h0, c0, recurrent_kernel, mask):
    x, h0, c0, r = _float_operands(
        op, [("x_proj", x_proj), ("h0", h0), ("c0", c0), ("recurrent_kernel", recurrent_kernel)]
    )
    n, b, _ = _check_sequence(op, x, r, 4, [("h0", h0), ("c0", c0)])
    return x, h0, c0, r, _mask_operand(op, mask, n, b)


def lstm_sequence(x_proj, h0, c0, recurrent_kernel, mask=None, go_backwards=False):
    """Run an LSTM over a whole sequence as one fused tape operation.

    Args:
        x_proj: the projected inputs ``x @ kernel + bias`` for every step, time-major:
            (time, batch, 4 units), gate order i, f, c, o.
        h0: the initial output (batch, units).
        c0: the initial cell state (batch, units).
        recurrent_kernel: (units, 4 units).
        mask: optional boolean (time, batch); False marks a padded step.
        go_backwards: process the steps from last to first (outputs in that order).

    Returns:
        ``(outputs, h, c)``: every step's output (time, batch, units) and the final states.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import lstm_sequence
        >>> x = wg.random.normal((5, 2, 12), seed=0)
        >>> h0 = c0 = wg.zeros((2, 3))
        >>> outputs, h, c = lstm_sequence(x, h0, c0, wg.zeros((3, 12)))
        >>> outputs.shape, h.shape, bool((outputs[-1] == h).numpy().all())
        ((5, 2, 3), (2, 3), True)
    """
    args = _lstm_args("lstm_sequence", x_proj, h0, c0, recurrent_kernel, mask)
    hs, h, c, _ = apply(lstm_sequence_p, args, {"go_backwards": bool(go_backwards)})
    return hs, h, c


def lstm_sequence_unfused(x_proj, h0, c0, recurrent_kernel, mask=None, go_backwards=False):
    """``lstm_sequence`` computed step by step with ordinary ops (dozens of records per step).

    The reference the fused operation is tested against; same arguments and results.

    Example:
        >>> import numpy as np, wengert as wg
        >>> from wengert.rnn_ops import lstm_sequence, lstm_sequence_unfused
        >>> x = wg.random.normal((4, 2, 8), seed=1)
        >>> r = wg.random.normal((2, 8), seed=2)
        >>> h0 = c0 = wg.zeros((2, 2))
        >>> a = lstm_sequence(x, h0, c0, r)[0].numpy()
        >>> b = lstm_sequence_unfused(x, h0, c0, r)[0].numpy()
        >>> bool(np.allclose(a, b, atol=1e-6))
        True
    """
    x, h0, c0, r, m = _lstm_args("lstm_sequence_unfused", x_proj, h0, c0, recurrent_kernel, mask)
    return _lstm_reference(x, h0, c0, r, m, go_backwards=bool(go_backwards))


def _gru_args(op, x_proj, h0, recurrent_kernel, recurrent_bias, mask, reset_after):
    named = [("x_proj", x_proj), ("h0", h0), ("recurrent_kernel", recurrent_kernel)]
    if recurrent_bias is not None:
        if not reset_after:
            raise ValueError(
                f"{op}: recurrent_bias applies only with reset_after=True (with "
                "reset_after=False the whole bias belongs in x_proj)"
            )
        named.append(("recurrent_bias", recurrent_bias))
    ts = _float_operands(op, named)
    x, h0, r = ts[:3]
    n, b, _ = _check_sequence(op, x, r, 3, [("h0", h0)], ts[3] if len(ts) == 4 else None)
    return tuple(ts) + (_mask_operand(op, mask, n, b),)


def gru_sequence(
    x_proj,
    h0,
    recurrent_kernel,
    recurrent_bias=None,
    mask=None,
    reset_after=True,
    go_backwards=False,
):
    """Run a GRU over a whole sequence as one fused tape operation.

    Args:
        x_proj: the projected inputs ``x @ kernel + input_bias``, time-major:
            (time, batch, 3 units), gate order z, r, h.
        h0: the initial state (batch, units).
        recurrent_kernel: (units, 3 units).
        recurrent_bias: optional (3 units,), added to ``h @ recurrent_kernel``
            (Keras's second bias row; PyTorch's ``bias_hh``); reset_after only.
        mask: optional boolean (time, batch); False marks a padded step.
        reset_after: apply the reset gate after the recurrent matmul (Keras's default,
            PyTorch's GRU) or before it.
        go_backwards: process the steps from last to first.

    Returns:
        ``(outputs, h)``: every step's output (time, batch, units) and the final state.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import gru_sequence
        >>> x = wg.random.normal((5, 2, 9), seed=0)
        >>> outputs, h = gru_sequence(x, wg.zeros((2, 3)), wg.zeros((3, 9)), wg.zeros((9,)))
        >>> outputs.shape, h.shape
        ((5, 2, 3), (2, 3))
    """
    args = _gru_args(
        "gru_sequence", x_proj, h0, recurrent_kernel, recurrent_bias, mask, reset_after
    )
    params = {"reset_after": bool(reset_after), "go_backwards": bool(go_backwards)}
    hs, h, _ = apply(gru_sequence_p, args, params)
    return hs, h


def gru_sequence_unfused(
    x_proj,
    h0,
    recurrent_kernel,
    recurrent_bias=None,
    mask=None,
    reset_after=True,
    go_backwards=False,
):
    """``gru_sequence`` computed step by step with ordinary ops: the fused op's reference.

    Example:
        >>> import numpy as np, wengert as wg
        >>> from wengert.rnn_ops import gru_sequence, gru_sequence_unfused
        >>> x = wg.random.normal((4, 2, 6), seed=1)
        >>> r = wg.random.normal((2, 6), seed=2)
        >>> a = gru_sequence(x, wg.zeros((2, 2)), r, reset_after=False)[1].numpy()
        >>> b = gru_sequence_unfused(x, wg.zeros((2, 2)), r, reset_after=False)[1].numpy()
        >>> bool(np.allclose(a, b, atol=1e-6))
        True
    """
    args = _gru_args(
        "gru_sequence_unfused", x_proj, h0, recurrent_kernel, recurrent_bias, mask, reset_after
    )
    return _gru_reference(*args, reset_after=bool(reset_after), go_backwards=bool(go_backwards))


def _simple_args(op, x_proj, h0, recurrent_kernel, mask, activation):
    if activation not in _SIMPLE_ACTIVATIONS:
        raise ValueError(
            f"{op}: activation must be one of {sorted(_SIMPLE_ACTIVATIONS)}, got {activation!r}"
        )
    x, h0, r = _float_operands(
        op, [("x_proj", x_proj), ("h0", h0), ("recurrent_kernel", recurrent_kernel)]
    )
    n, b, _ = _check_sequence(op, x, r, 1, [("h0", h0)])
    return x, h0, r, _mask_operand(op, mask, n, b)


def simple_rnn_sequence(
    x_proj, h0, recurrent_kernel, mask=None, activation="tanh", go_backwards=False
):
    """Run a simple (Elman) RNN over a whole sequence as one fused tape operation.

    Args:
        x_proj: the projected inputs ``x @ kernel + bias``, time-major: (time, batch, units).
        h0: the initial state (batch, units).
        recurrent_kernel: (units, units).
        mask: optional boolean (time, batch); False marks a padded step.
        activation: "tanh" (Keras's default) or "relu".
        go_backwards: process the steps from last to first.

    Returns:
        ``(outputs, h)``.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import simple_rnn_sequence
        >>> outputs, h = simple_rnn_sequence(wg.ones((3, 1, 2)), wg.zeros((1, 2)), wg.eye(2))
        >>> h.numpy().round(4)
        array([[0.9597, 0.9597]], dtype=float32)
    """
    args = _simple_args("simple_rnn_sequence", x_proj, h0, recurrent_kernel, mask, activation)
    params = {"activation": activation, "go_backwards": bool(go_backwards)}
    hs, h, _ = apply(simple_rnn_sequence_p, args, params)
    return hs, h


def simple_rnn_sequence_unfused(
    x_proj, h0, recurrent_kernel, mask=None, activation="tanh", go_backwards=False
):
    """``simple_rnn_sequence`` computed step by step with ordinary ops: the reference.

    Example:
        >>> import wengert as wg
        >>> from wengert.rnn_ops import simple_rnn_sequence_unfused
        >>> x, h0 = wg.ones((3, 1, 2)), wg.zeros((1, 2))
        >>> outputs, h = simple_rnn_sequence_unfused(x, h0, wg.eye(2))
        >>> h.numpy().round(4)
        array([[0.9597, 0.9597]], dtype=float32)
    """
    args = _simple_args(
        "simple_rnn_sequence_unfused", x_proj, h0, recurrent_kernel, mask, activation
    )
    return _simple_reference(*args, activation=activation, go_backwards=bool(go_backwards))
