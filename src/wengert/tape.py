"""The Wengert tape: ``GradientTape``, reverse mode, and ``custom_gradient``.

The tape is a plain list of records, appended in execution order, one line of
a Wengert list each::

    (primitive, inputs, output, params, input_ids, output_id)

``inputs`` and ``output`` are the Tensors themselves (they are the values the
rules need).  The reverse pass walks the list backwards once, keeping a dict of
pending cotangents keyed by tensor id and popping each when its producer is
reached; a non-persistent tape drops each record as it goes.
"""

from __future__ import annotations

import enum
import functools
import inspect
import warnings
from collections import namedtuple

from . import core
from .backend import xp
from .core import NO_PARAMS, Primitive, current_thread, paused, push_recorder, remove_recorder
from .tensor import Tensor, Variable, next_tid, wrap

__all__ = ["GradientTape", "UnconnectedGradients", "custom_gradient", "Record"]

_NOTHING_TOLD: dict = {}  # what the reverse pass tells a joint rule that did not ask


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on.

    Example:
        >>> import wengert as wg
        >>> x, c = wg.constant(1.0), wg.constant(2.0)
        >>> with wg.GradientTape() as tape:
        ...     tape.watch([x, c])
        ...     y = x * 3.0
        >>> float(tape.gradient(y, c, unconnected_gradients=wg.UnconnectedGradients.ZERO))
        0.0
    """

    NONE = "none"
    ZERO = "zero"


Record = namedtuple("Record", "index op inputs output params")
Record.__doc__ = """One line of the Wengert list, as iteration over a tape yields it.

``inputs`` and ``output`` are None once a non-persistent tape has freed them."""

_NON_PERSISTENT_MESSAGE = (
    "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
)


def flatten(structure):
    """Leaves of a nested list/tuple/dict and a function that rebuilds the structure."""
    leaves = []

    def walk(s):
        if isinstance(s, dict):
            # Leaves in sorted key order (as tf.nest), but the dict rebuilt in its own key
            # order: zip(grads.values(), variables.values()) must pair each with its own.
            keys = sorted(s)
            subs = [walk(s[k]) for k in keys]
            order = list(s)

            def rebuild(it):
                values = {k: f(it) for k, f in zip(keys, subs)}
                return {k: values[k] for k in order}

            return rebuild
        if isinstance(s, (list, tuple)):
            subs = [walk(x) for x in s]
            kind = type(s)
            if hasattr(s, "_fields"):  # a namedtuple: flattened and rebuilt, as tf.nest
                return lambda it: kind(*(f(it) for f in subs))
            return lambda it: kind(f(it) for f in subs)
        leaves.append(s)
        return lambda it: next(it)

    build = walk(structure)
    walk = None  # break the cycle (walk refers to itself), which only the GC would free
    return leaves, lambda values: build(iter(values))


def _sum_to_shape(g, shape):
    """Sum a cotangent over the axes its input was broadcast along: done here, once."""
    from .array_ops import broadcast_to, reshape
    from .math_ops import reduce_sum

    gshape = g.shape
    lead = len(gshape) - len(shape)
    if lead < 0 or any(s != 1 and gs != s for s, gs in zip(shape, gshape[lead:])):
        return broadcast_to(g, shape)  # a rule returned a cotangent smaller than its input
    axes = list(range(lead)) + [
        lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1
    ]
    if axes:
        g = reduce_sum(g, axis=axes, keepdims=True)
    return reshape(g, shape)


class GradientTape:
    """Record operations on watched tensors to compute gradients (TensorFlow 2 semantics).

    Args:
        persistent: allow several ``gradient``/``jacobian`` calls; otherwise the
            saved values are freed by the first.
        watch_accessed_variables: watch trainable Variables when an op reads them.
        strict: raise (with ``explain``'s sentence) instead of returning None for
            a source the target does not depend on.

    A tape records the ops of the thread that entered it, as TensorFlow's tape stack
    is per thread: a data loader's ops in another thread are not on it.

    Example:
        >>> import wengert as wg
        >>> x = wg.constant(3.0)
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = x * x
        >>> float(tape.gradient(y, x))
        6.0
    """

    def __init__(
        self, persistent: bool = False, watch_accessed_variables: bool = True, strict: bool = False
    ):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._strict = bool(strict)
        self._records: list = []
        self._watched: set = set()
        self._variables: list = []
        self._leaves: dict = {}  # tid -> the watched tensor (for printing and explain)
        self._recording = False
        self._paused = False
        self._used = False
        self._freed = False
        # tid -> (op name, record position) of values computed under stop_recording
        self._cut: dict = {}
        self._warned_inside = False

    # -- context ---------------------------------------------------------------
    def __enter__(self):
        if self._recording:
            raise ValueError(
                "GradientTape: the tape is still recording; it cannot be entered again "
                "inside its own context"
            )
        if self._used and not self._persistent:
            self.reset()  # as TensorFlow: a used non-persistent tape starts afresh
        push_recorder(self)
        self._recording = True
        return self

    def __exit__(self, *exc):
        if self._recording:
            remove_recorder(self)
            self._recording = False
        return False

    def stop_recording(self):
        """Context manager in which this tape records nothing.

        Example:
            >>> import wengert as wg
            >>> x = wg.constant(2.0)
            >>> with wg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     with tape.stop_recording():
            ...         y = x * x
            >>> print(tape.gradient(y, x))
            None
        """
        if not self._recording:
            raise ValueError("GradientTape.stop_recording: the tape must be recording")
        return _StopRecording(self)

    def reset(self) -> None:
        """Forget everything recorded and watched, as if the context were entered anew."""
        self._records = []
        self._watched = set()
        self._variables = []
        self._leaves = {}
        self._cut = {}
        self._used = False
        self._freed = False

    # -- watching --------------------------------------------------------------------
    def watch(self, tensor) -> None:
        """Ensure ``tensor`` (or every tensor in a nested structure) is traced by this tape.

        Example:
            >>> import wengert as wg
            >>> x = wg.constant([1.0, 2.0])
            >>> with wg.GradientTape() as tape:
            ...     tape.watch([x])
            ...     y = wg.reduce_sum(x * x)
            >>> tape.gradient(y, x).numpy()
            array([2., 4.], dtype=float32)
        """
        leaves, _ = flatten(tensor)
        for t in leaves:
            if not isinstance(t, Tensor):
                raise ValueError(
                    f"GradientTape.watch: passed an object of type {type(t).__name__}, "
                    "not a wg.Tensor or wg.Variable"
                )
            if t._value.dtype.kind not in "fc":
                warnings.warn(
                    "The dtype of the watched tensor must be floating (e.g. wg.float32), "
                    f"got {t.dtype}: its gradient will be None",
                    stacklevel=2,
                )
            self._watch(t)

    def _watch(self, t: Tensor) -> None:
        if not t._tid:
            t._tid = next_tid()
        if t._tid not in self._watched:
            self._watched.add(t._tid)
            self._leaves[t._tid] = t
            if isinstance(t, Variable):
                self._variables.append(t)

    def watched_variables(self) -> tuple:
        """The Variables this tape has watched, in the order it first saw them."""
        return tuple(self._variables)

    # -- recording (called by core.apply for every op while this tape is active) -----
    def will_differentiate(self, t) -> bool:
        """Whether this tape watches ``t``, or will when an op reads it (a trainable
        float Variable, with ``watch_accessed_variables``), and records now (not inside
        ``stop_recording``): a fused op asks, to keep for its backward pass only what a
        gradient will use.

        Example:
            >>> import wengert as wg
            >>> v, c = wg.Variable(1.0), wg.constant(1.0)
            >>> with wg.GradientTape() as tape:
            ...     asked = tape.will_differentiate(v), tape.will_differentiate(c)
            ...     with tape.stop_recording():
            ...         paused = tape.will_differentiate(v)
            >>> asked, paused
            ((True, False), False)
        """
        if self._paused:
            return False
        return t._tid in self._watched or (
            type(t) is Variable
            and self._watch_accessed
            and t.trainable
            and t._value.dtype.kind in "fc"
        )

    def record(self, prim: Primitive, args: tuple, out, params: dict) -> None:
        if self.recording_thread != current_thread():
            return  # another thread's op: a tape records its own thread's (TensorFlow)
        watched = self._watched
        hit = False
        reads = False
        tids = []
        for a in args:
            ta = type(a)
            if ta is Tensor:
                t = a._tid
                if t in watched:
                    hit = True
                    tids.append(t)
                    continue
            elif ta is Variable or (ta is not float and ta is not int and isinstance(a, Tensor)):
                t = a._tid
                if (
                    t not in watched
                    and type(a) is Variable
                    and self._watch_accessed
                    and a.trainable
                    and a._value.dtype.kind in "fc"
                ):
                    self._watch(a)  # trainable variables are watched when read
                reads = reads or type(a) is Variable
                if t in watched:
                    hit = True
                    tids.append(t)
                    continue
            tids.append(0)
        if reads:
            args = tuple(_read(a) if type(a) is Variable else a for a in args)
        if self._cut:
            self._follow_cut(args, out)
        if not hit:
            return
        if prim.multiple_results:
            out_tid = []
            for o in out:
                if not o._tid:
                    o._tid = next_tid()
                out_tid.append(o._tid)
            out_tid = tuple(out_tid)
            if self._paused:
                self._note_cut(prim, out_tid)
                return
            watched.update(out_tid)
        else:
            out_tid = out._tid
            if not out_tid:
                out_tid = out._tid = next_tid()
            if self._paused:
                self._note_cut(prim, (out_tid,))
                return
            watched.add(out_tid)
        self._records.append((prim, args, out, params, tuple(tids), out_tid))

    def _note_cut(self, prim, out_tids) -> None:
        # Inside stop_recording: remember what was cut (for explain), save nothing.
        for t in out_tids:
            self._cut[t] = (prim.name, len(self._records))

    def _follow_cut(self, args, out) -> None:
        # What uses a value cut by stop_recording inherits the cut, recorded or not, so
        # that explain can name it even when another watched input connects the result.
        cut = self._cut
        for a in args:
            if isinstance(a, Tensor) and a._tid in cut:
                outs = out if isinstance(out, tuple) else (out,)
                for o in outs:
                    if not o._tid:
                        o._tid = next_tid()
                    cut[o._tid] = cut[a._tid]
                return

    # -- gradients ---------------------------------------------------------------------
    def gradient(
        self,
        target,
        sources,
        output_gradients=None,
        unconnected_gradients=UnconnectedGradients.NONE,
    ):
        """Gradients of ``target`` (summed if a list) with respect to ``sources``.

        Args:
            target: a Tensor, or a (nested) list of Tensors whose gradients add up.
            sources: a Tensor or Variable, or a nested list/tuple/dict of them.
            output_gradients: cotangents for the targets (default: ones).
            unconnected_gradients: ``UnconnectedGradients.NONE`` (default) returns
                None for a source the target does not depend on; ``ZERO`` returns zeros.

        Returns:
            Gradients in the structure of ``sources``.

        Example:
            >>> import wengert as wg
            >>> x = wg.ones((2, 2))
            >>> with wg.GradientTape() as t:
            ...     t.watch(x)
            ...     y = wg.reduce_sum(x)
            ...     z = wg.multiply(y, y)
            >>> float(t.gradient(z, y))
            8.0
        """
        mode = _unconnected_mode(unconnected_gradients)
        if target is None:
            raise TypeError(
                "GradientTape.gradient: argument `target` should be a Tensor or a nested "
                "structure of Tensors to be differentiated, but received None"
            )
        if self._freed:
            raise RuntimeError(_NON_PERSISTENT_MESSAGE)
        if self._recording:
            if not self._persistent:
                remove_recorder(self)  # as in TensorFlow: nothing after this call is recorded
                self._recording = False
            elif not self._warned_inside:
                self._warned_inside = True
                warnings.warn(
                    "Calling GradientTape.gradient on a persistent tape inside its context "
                    "records the gradient computation on the tape too: do it only to "
                    "compute higher-order derivatives",
                    stacklevel=2,
                )
        source_leaves, rebuild = flatten(sources)
        # A strict tape keeps its records through the pass: explaining a None reads them.
        free = not (self._persistent or self._strict)
        grads = self._gradients(target, source_leaves, output_gradients, mode, free=free)
        if not self._persistent:
            self._free()
        return rebuild(grads)

    def _gradients(self, target, sources, output_gradients, mode, free=False):
        targets, _ = flatten(target)
        for t in targets:
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"GradientTape.gradient: target must contain Tensors, got {type(t).__name__}"
                )
        if output_gradients is not None:
            ogs, _ = flatten(output_gradients)
            if len(ogs) != len(targets):
                raise ValueError(
                    f"GradientTape.gradient: {len(ogs)} output_gradients for {len(targets)} targets"
                )
        else:
            ogs = [None] * len(targets)
        for s in sources:
            if not isinstance(s, Tensor):
                raise TypeError(
                    "GradientTape.gradient: sources must be Tensors or Variables, got "
                    f"{type(s).__name__}"
                )
        if any(s._value.dtype.kind == "c" for s in sources):
            # The rules are written for real tensors; TensorFlow and PyTorch differentiate
            # complex ones with a conjugation (d(z*z)/dz gives 2*conj(z)) that they lack.
            # Refused rather than answered wrongly.
            raise NotImplementedError(
                "GradientTape.gradient: differentiating with respect to a complex tensor is "
                "not supported; differentiate with respect to its real and imaginary parts "
                "(real tensors) instead"
            )
        source_tids = {s._tid for s in sources if s._tid and s._value.dtype.kind in "fc"}
        pending: dict = {}
        watched = self._watched
        for t, og in zip(targets, ogs):
            # A target that is itself a source (a Variable never read: `result = v`) has
            # gradient output_gradients (ones), as in TensorFlow, watched or not.
            if t._tid not in watched and not (t._tid and t._tid in source_tids):
                continue
            if og is None:
                g = wrap(xp.ones(t.shape, t.dtype), "ones_like")
            else:
                g = (
                    og
                    if isinstance(og, Tensor)
                    else wrap(xp.asarray(og, dtype=t.dtype), "constant")
                )
                if g.shape != t.shape:
                    raise ValueError(
                        f"GradientTape.gradient: output_gradients shape {g.shape} does not match "
                        f"target shape {t.shape}"
                    )
            prev = pending.get(t._tid)
            pending[t._tid] = g if prev is None else prev + g
        # Record the backward pass on every *other* active recorder (nested tapes for
        # higher-order derivatives); this tape records it only when it is persistent
        # and still recording, as TensorFlow's does.
        if self._recording and self._persistent:
            results = self._backward(pending, source_tids, free)
        else:
            with paused(self):
                results = self._backward(pending, source_tids, free)
        grads = []
        for s in sources:
            g = results.get(s._tid) if s._tid in source_tids else None
            if g is None:
                if self._strict:
                    raise UnconnectedGradientError(self.explain(target, s))
                if mode is UnconnectedGradients.ZERO:
                    g = wrap(xp.zeros(s.shape, s.dtype), "zeros_like")
            grads.append(g)
        return grads

    def _reachable(self, source_tids) -> set:
        """Ids of values that depend on a source: only those need cotangents."""
        reach = set(source_tids)
        for rec in self._records:
            if rec is None:
                continue
            for t in rec[4]:
                if t in reach:
                    out_tid = rec[5]
                    if type(out_tid) is tuple:
                        reach.update(out_tid)
                    else:
                        reach.add(out_tid)
                    break
        return reach

    def _backward(self, pending: dict, source_tids: set, free: bool) -> dict:
        from . import debugging
        from .math_ops import add, zeros_like_op

        records = self._records
        # Every recorded value descends from a watched leaf, so when all leaves are
        # sources everything is reachable and the scan can be skipped.
        if all(t in source_tids for t in self._leaves):
            reach = None
        else:
            reach = self._reachable(source_tids)
        results = {}
        # Anomaly mode (wg.debugging.enable_check_numerics): its flag is read once per pass.
        # When on, ops the rules run are named after the record they differentiate, and each
        # rule's result is checked; the outer pass's record is restored however we leave.
        check = debugging._enabled
        outer = debugging._backward_record
        try:
            for idx in range(len(records) - 1, -1, -1):
                rec = records[idx]
                if rec is None:
                    continue
                prim, args, out, params, in_tids, out_tid = rec
                if free:
                    records[idx] = (prim, None, None, None, in_tids, out_tid)
                if type(out_tid) is tuple:
                    gs = [pending.pop(t, None) for t in out_tid]
                    if all(g is None for g in gs):
                        continue
                    for t, g in zip(out_tid, gs):
                        if g is not None and t in source_tids:
                            results[t] = g
                    g = tuple(zeros_like_op(o) if g is None else g for o, g in zip(out, gs))
                else:
                    g = pending.pop(out_tid, None)
                    if g is None:
                        continue
                    if out_tid in source_tids:
                        results[out_tid] = g
                if not prim.differentiable:
                    continue
                vjps = prim.vjps
                if vjps is None:
                    raise LookupError(
                        f"No gradient defined for operation '{prim.name}' (record {idx + 1} of "
                        f"the tape); declare one with wengert.core.defvjp or wrap the function "
                        "in wg.custom_gradient"
                    )
                joint = type(vjps) is not tuple
                if check:  # anomaly mode: name the forward op whose rules run next
                    debugging._backward_record = (prim, idx, args)
                told = _NOTHING_TOLD
                if prim.tell_needed:
                    told = {}  # which arguments need gradients (see Primitive)
                    told["needed"] = tuple(
                        i
                        for i, tid in enumerate(in_tids)
                        if tid and (reach is None or tid in reach)
                    )
                for i, tid in enumerate(in_tids):
                    if not tid or (reach is not None and tid not in reach):
                        continue
                    # Integer inputs need no check here: the only ops that turn integers
                    # into floats (cast, where's condition) give them no gradient.
                    if joint:
                        gi = vjps(i, g, out, *args, **told, **params)
                    else:
                        rule = vjps[i]
                        if rule is None:
                            continue
                        gi = rule(g, out, *args, **params)
                    if gi is None:
                        continue
                    if check:  # anomaly mode: a rule may return a NaN array no op made
                        debugging._check_vjp(gi, prim, idx, i, args)
                    shape = args[i]._value.shape
                    if gi._value.shape != shape:
                        gi = _sum_to_shape(gi, shape)
                    prev = pending.get(tid)
                    pending[tid] = gi if prev is None else add(prev, gi)
        finally:
            if check:
                debugging._backward_record = outer
        for t in source_tids:
            if t not in results and t in pending:
                results[t] = pending[t]
        return results

    def _free(self) -> None:
        self._used = True
        self._freed = True
        self._records = [
            r if r is None or r[1] is None else (r[0], None, None, None, r[4], r[5])
            for r in self._records
        ]

    def jacobian(
        self,
        target,
        sources,
        unconnected_gradients=UnconnectedGradients.NONE,
        parallel_iterations=None,
        experimental_use_pfor=True,
    ):
        """Jacobian of ``target`` with respect to each source: shape target.shape + source.shape.

        Example:
            >>> import wengert as wg
            >>> x = wg.constant([1.0, 2.0])
            >>> with wg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = x * x
            >>> tape.jacobian(y, x).numpy()
            array([[2., 0.],
                   [0., 4.]], dtype=float32)
        """
        mode = _unconnected_mode(unconnected_gradients)
        if not isinstance(target, Tensor):
            raise TypeError(f"GradientTape.jacobian: target must be a Tensor, got {type(target)}")
        if self._freed:
            raise RuntimeError(_NON_PERSISTENT_MESSAGE)
        if self._recording and not self._persistent:
            remove_recorder(self)
            self._recording = False
        from .array_ops import reshape, stack

        leaves, rebuild = flatten(sources)
        n = target.size
        rows = [[] for _ in leaves]
        for j in range(n):
            og = xp.zeros(n, dtype=target.dtype)
            og[j] = 1
            gs = self._gradients(target, leaves, [wrap(og.reshape(target.shape))], mode)
            for r, g in zip(rows, gs):
                r.append(g)
        out = []
        for s, r in zip(leaves, rows):
            if any(g is None for g in r) or n == 0:
                out.append(
                    None
                    if mode is UnconnectedGradients.NONE and n
                    else wrap(xp.zeros(target.shape + s.shape, s.dtype))
                )
            else:
                out.append(reshape(stack(r), target.shape + s.shape))
        if not self._persistent:
            self._free()
        return rebuild(out)

    def batch_jacobian(
        self,
        target,
        source,
        unconnected_gradients=UnconnectedGradients.NONE,
        parallel_iterations=None,
        experimental_use_pfor=True,
    ):
        """Per-example Jacobians: result[b] is the Jacobian of target[b] w.r.t. source[b].

        Assumes example b of the target depends only on example b of the source.

        Example:
            >>> import wengert as wg
            >>> x = wg.constant([[1.0, 2.0], [3.0, 4.0]])
            >>> with wg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = x * x
            >>> tape.batch_jacobian(y, x).shape
            (2, 2, 2)
        """
        mode = _unconnected_mode(unconnected_gradients)
        if self._freed:
            raise RuntimeError(_NON_PERSISTENT_MESSAGE)
        if target.ndim < 1 or source.ndim < 1 or target.shape[0] != source.shape[0]:
            raise ValueError(
                f"GradientTape.batch_jacobian: target {target.shape} and source {source.shape} "
                "need the same leading (batch) dimension"
            )
        if self._recording and not self._persistent:
            remove_recorder(self)
            self._recording = False
        from .array_ops import reshape, stack

        b = target.shape[0]
        inner = target.size // b if b else 0
        cols = []
        for j in range(inner):
            og = xp.zeros((b, inner), dtype=target.dtype)
            og[:, j] = 1
            (g,) = self._gradients(target, [source], [wrap(og.reshape(target.shape))], mode)
            if g is None:
                cols = None
                break
            cols.append(g)
        if not self._persistent:
            self._free()
        if cols is None:
            if mode is UnconnectedGradients.NONE:
                return None
            return wrap(xp.zeros(target.shape + source.shape[1:], source.dtype))
        if not cols:
            return wrap(xp.zeros(target.shape + source.shape[1:], source.dtype))
        jac = stack(cols, axis=1)  # (b, inner, *source.shape[1:])
        return reshape(jac, target.shape + source.shape[1:])

    # -- looking at the tape (see tape_view.py) ----------------------------------------------
    def __len__(self) -> int:
        return sum(1 for r in self._records if r is not None)

    def __iter__(self):
        for i, r in enumerate(self._records):
            if r is not None:
                yield Record(i + 1, r[0].name, r[1], r[2], r[3])

    @property
    def saved_bytes(self) -> int:
        """Bytes of array data the tape's records keep alive (each array counted once).

        A fused op's saved handle counts as the arrays it holds for its backward pass.
        """
        seen = set()
        total = 0
        for r in self._records:
            if r is None or r[1] is None:
                continue
            outs = r[2] if isinstance(r[2], tuple) else (r[2],)
            for t in (*r[1], *outs):
                if isinstance(t, Tensor):
                    for a in _held_arrays(t._value):
                        base = a if a.base is None else a.base
                        if id(base) not in seen:
                            seen.add(id(base))
                            total += base.nbytes
        return total

    def __str__(self) -> str:
        from .tape_view import format_tape

        return format_tape(self)

    def __repr__(self) -> str:
        return (
            f"<wg.GradientTape persistent={self._persistent} records={len(self)} "
            f"saved_bytes={self.saved_bytes}>"
        )

    def to_dot(self, gradients: bool = False) -> str:
        """The recorded computation as Graphviz DOT text (values as ellipses, ops as boxes);
        with ``gradients=True`` also the backward pass's nodes, as the chapter's Figure 3.4
        draws them (each value's gradient, each op's VJP, edges reversed, dashed)."""
        from .tape_view import to_dot

        return to_dot(self, gradients=gradients)

    def explain(self, target, source) -> str:
        """Say in one sentence why the gradient of ``target`` w.r.t. ``source`` is None or zero.

        Also when it is vanishingly small: nonzero, but too small to move the target.
        On a non-persistent tape, ask before ``gradient()``: ``gradient()`` frees the
        saved values, and after it explain can still name a missing watch or an op
        without a gradient, but not a dead ReLU, a saturated unit or a cast to an
        integer dtype (it lists the records that may be one, and says to call it
        before ``gradient()`` or to use ``persistent=True``).

        Example:
            >>> import wengert as wg
            >>> x = wg.constant([-1.0, -2.0])
            >>> with wg.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = wg.reduce_sum(wg.nn.relu(x))
            >>> print(tape.explain(y, x))  # before tape.gradient(y, x)
            The gradient is exactly zero: it dies at record 1, `relu`, whose inputs are all <= 0 ...
        """
        from .tape_view import explain

        return explain(self, target, source)


def _held_arrays(value) -> list:
    """The arrays a recorded value keeps alive: itself, or the arrays in a saved handle."""
    from .saved import Saved

    if value.dtype != object:
        return [value]
    if value.ndim == 0 and isinstance(value[()], Saved):  # a fused op's handle (saved.py)
        return [a for a in flatten(value[()].arrays)[0] if isinstance(a, xp.ndarray)]
    return []


def _read(v: Variable) -> Tensor:
    """A snapshot of a variable's value under the variable's own id: what the op read.

    The record keeps the snapshot, not the variable, so a later ``assign`` does
    not change the values the backward pass uses.
    """
    t = wrap(v._value, "read")
    t._tid = v._tid
    return t


class UnconnectedGradientError(ValueError):
    """Raised by a strict tape when a gradient would be None; the message says why.

    Example:
        >>> import wengert as wg
        >>> x = wg.constant(1.0)
        >>> with wg.GradientTape(strict=True) as tape:
        ...     y = x * x
        >>> try:
        ...     tape.gradient(y, x)
        ... except wg.UnconnectedGradientError as e:
        ...     print("never watched" in str(e))
        True
    """


class _StopRecording:
    __slots__ = ("tape", "was")

    def __init__(self, tape):
        self.tape = tape

    def __enter__(self):
        self.was = self.tape._paused
        self.tape._paused = True
        return self

    def __exit__(self, *exc):
        self.tape._paused = self.was
        return False


def _unconnected_mode(value) -> UnconnectedGradients:
    if isinstance(value, UnconnectedGradients):
        return value
    if isinstance(value, str):
        try:
            return UnconnectedGradients(value.lower())
        except ValueError:
            pass
    raise ValueError(
        f"Unknown value for unconnected_gradients: {value!r}; expected "
        "wg.UnconnectedGradients.NONE or wg.UnconnectedGradients.ZERO"
    )


# -- custom gradients ---------------------------------------------------------------------------


def custom_gradient(f):
    """Decorate ``f(*x) -> (y, grad_fn)`` so that tapes use ``grad_fn`` for its gradient.

    ``grad_fn(*upstream)`` returns one gradient per tensor argument; if ``f`` reads
    trainable Variables and ``grad_fn`` accepts ``variables=``, it returns
    ``(input_grads, variable_grads)``, as in TensorFlow.  Write ``grad_fn`` with
    wengert ops to make it differentiable again.

    Example:
        >>> import wengert as wg
        >>> @wg.custom_gradient
        ... def clip_gradient(x):
        ...     def grad(upstream):
        ...         return wg.clip_by_value(upstream, -1.0, 1.0)
        ...     return wg.identity(x), grad
        >>> x = wg.constant(2.0)
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = clip_gradient(x) * 10.0
        >>> float(tape.gradient(y, x))
        1.0
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        # As TensorFlow: every (flattened) positional argument is an input that grad_fn
        # returns a gradient for; numbers become constants.
        inputs = [_as_input(a) for a in flatten(list(args))[0]]
        inputs = [a for a in inputs if a is not None]
        # f runs with the tapes recording (as in TensorFlow), so values grad_fn closes
        # over stay connected to the inputs on outer tapes: second derivatives through
        # grad_fn are right.  Its outputs below are fresh tensors whose only record is
        # the custom op, so this tape's gradient goes through grad_fn alone.
        probe = GradientTape(watch_accessed_variables=True)
        push_recorder(probe)
        try:
            result, grad_fn = f(*args, **kwargs)
        finally:
            remove_recorder(probe)
        variables = [v for v in probe.watched_variables() if not any(v is i for i in inputs)]
        wants_variables = "variables" in _parameters(grad_fn)
        if variables and not wants_variables:
            raise TypeError(
                f"custom_gradient: {f.__name__} reads trainable variables "
                f"{[v.name for v in variables]} but its grad_fn takes no `variables` argument"
            )
        leaves, rebuild = flatten(result)
        outs = tuple(
            wrap(leaf._value if isinstance(leaf, Tensor) else xp.asarray(leaf), "custom_gradient")
            for leaf in leaves
        )
        multiple = len(outs) != 1 or isinstance(result, (list, tuple))
        prim = Primitive(f"custom_gradient({f.__name__})", None, multiple_results=multiple)
        n_inputs = len(inputs)
        cache = {}

        def vjp(i, g, out, *xs):
            key = id(g)
            if key not in cache:
                upstream = g if multiple else (g,)
                if variables:  # TensorFlow passes variables= only when there are some
                    grads_in, grads_var = grad_fn(*upstream, variables=variables)
                    grads = list(_as_list(grads_in)) + list(grads_var)
                else:
                    grads = list(_as_list(grad_fn(*upstream)))
                if len(grads) != len(xs):
                    raise ValueError(
                        f"custom_gradient: grad_fn of {f.__name__} returned {len(grads)} "
                        f"gradients for {n_inputs} inputs and {len(variables)} variables"
                    )
                cache.clear()
                cache[key] = (g, grads)
            g_kept, grads = cache[key]
            gi = grads[i]
            if gi is not None and not isinstance(gi, Tensor):
                gi = wrap(xp.asarray(gi, dtype=xs[i].dtype))
            return gi

        prim.vjps = vjp
        out = outs if multiple else outs[0]
        all_inputs = tuple(inputs) + tuple(variables)
        for r in core.recorders:
            r.record(prim, all_inputs, out, NO_PARAMS)
        return rebuild(list(outs))

    return wrapper


def _as_input(a):
    """A custom_gradient argument as a Tensor input (numbers and arrays as constants)."""
    if isinstance(a, Tensor):
        return a
    if isinstance(a, (int, float, complex, xp.ndarray, xp.generic)) and not isinstance(a, bool):
        return core.operand(a)
    return None


def _parameters(fn) -> set:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return set()
    names = set(params)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        names.add("variables")
    return names


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]
