"""Looking at a tape: the Wengert list as a table, as Graphviz DOT, and ``explain``.

``explain(tape, target, source)`` answers "why is this gradient None (or
zero)?" in one sentence, by reading the records the way the reverse pass
would.
"""

from __future__ import annotations

from .backend import xp
from .tensor import Tensor, Variable


def _names(tape) -> dict:
    """Local names v1, v2, ... for every tensor id on the tape, in order of appearance.

    Variables keep their own names, reserved first so that no automatic name takes
    them; distinct Variables that share a name (unnamed ones are all "Variable") get
    #2, #3, ... so that the table and the drawing never merge them.
    """
    names = {}
    taken: dict = {}
    for tid, t in tape._leaves.items():
        if isinstance(t, Variable):
            taken[t.name] = taken.get(t.name, 0) + 1
            names[tid] = t.name if taken[t.name] == 1 else f"{t.name}#{taken[t.name]}"
    used = set(names.values())
    tids = list(tape._leaves)
    for r in tape._records:
        if r is not None:
            outs = r[5] if isinstance(r[5], tuple) else (r[5],)
            tids += [t for t in r[4] if t] + list(outs)
    for position, tid in enumerate(dict.fromkeys(tids), 1):
        if tid not in names:
            k = position
            while f"v{k}" in used:  # a Variable may be called v1
                k += 1
            names[tid] = f"v{k}"
            used.add(names[tid])
    return names


def _scalar(value) -> str:
    """A scalar as the shortest text that reads back to the same value in its own dtype.

    ``0.3`` stored as float32 prints as 0.3, not as the float64 0.30000001192092896.
    """
    if isinstance(value, (bool, int, float, complex)):
        return repr(value)
    return str(value)  # a NumPy scalar: NumPy's shortest round-trip text for its dtype


def _operand(a, tid, names) -> str:
    """An operand as the listing writes it: its local name, a scalar constant in place, or
    ``const[shape]`` for an array constant of any size (a (1, 1) matrix is no scalar: it
    broadcasts, and matmul needs its shape)."""
    if tid:
        return names.get(tid, "?")
    if isinstance(a, (Tensor, xp.ndarray)):
        value = a._value if isinstance(a, Tensor) else a
        if value.ndim == 0:
            return _scalar(value[()])
        return f"const{list(value.shape)}"
    if isinstance(a, (int, float, bool, complex, xp.generic)):
        return _scalar(a)
    return "None" if a is None else "?"


def _params(params) -> str:
    if not params:
        return ""
    parts = []
    for k, v in params.items():
        if k in ("basic",):
            continue
        s = repr(v)
        parts.append(f"{k}={s if len(s) < 30 else s[:27] + '...'}")
    return ", " + ", ".join(parts) if parts else ""


def format_tape(tape) -> str:
    """The tape as a numbered Wengert list, one line per recorded op."""
    names = _names(tape)
    live = [r for r in tape._records if r is not None]
    freed = any(r[1] is None for r in live)
    head = (
        f"GradientTape(persistent={tape._persistent}): {len(live)} records, "
        f"{tape.saved_bytes} bytes saved" + (" (values freed by gradient())" if freed else "")
    )
    lines = [head]
    name_width = max([6] + [len(names[tid]) for tid in tape._leaves])
    for tid, t in tape._leaves.items():
        lines.append(f"  watched  {names[tid]:<{name_width}} {str(t.shape):<12} {t.dtype}")
    width = len(str(len(live)))
    rows = []
    for i, r in enumerate(live, 1):
        prim, args, out, params, in_tids, out_tid = r
        if args is None:
            ins = ", ".join(names.get(t, "?") if t else "c" for t in in_tids)
        else:
            ins = ", ".join(_operand(a, t, names) for a, t in zip(args, in_tids))
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        lhs = ", ".join(names[t] for t in outs)
        meta = ""
        if out is not None:
            o = out[0] if isinstance(out, tuple) else out
            meta = f"{str(o.shape):<10} {o.dtype}"
        rows.append((i, f"{lhs} = {prim.name}({ins}{_params(params)})", meta))
    column = max((len(text) for _, text, _ in rows), default=0)
    for i, text, meta in rows:
        lines.append(f"  {i:>{width}}  {text:<{column}}  {meta}".rstrip())
    return "\n".join(lines)


def _dot_quote(text) -> str:
    """``text`` inside a DOT double-quoted string: a Variable's name may hold " or \\."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _is_array_constant(a) -> bool:
    """A constant operand the drawing shows as a node; 0-d scalars go into the op's label."""
    return isinstance(a, (Tensor, xp.ndarray)) and a.ndim != 0


def to_dot(tape, gradients: bool = False) -> str:
    """Graphviz DOT text for the tape: values are ellipses, ops are boxes.

    Each op's label is its line of the listing without the parameters, so the
    order of the operands shows and scalar constants are written in place
    (``pow(v2, 2.0)``); an array constant is a node of its own (a note, with
    its shape and dtype) with an edge into the op, so that ``matmul`` has its two
    incoming edges.  Once a non-persistent tape's ``gradient()`` freed the
    values, every constant operand is a ``(freed)`` node: its value is gone.

    Args:
        tape: the GradientTape to draw.
        gradients: also draw the reverse pass (dashed): one adjoint node
            ``grad v`` per value and one ``vjp`` node per differentiable record,
            with the record's edges reversed, from the adjoint of its output to
            the adjoints of the inputs its rules give a gradient.  Edges that
            meet at one adjoint are summed.

    Returns:
        The DOT text (render it with ``dot -Tsvg``).

    Example:
        >>> import wengert as wg
        >>> x = wg.constant([1.0, 2.0])
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = wg.pow(x, 2.0)
        >>> 'label="pow(v1, 2.0)"' in to_dot(tape)
        True
    """
    raw = _names(tape)
    names = {tid: _dot_quote(name) for tid, name in raw.items()}
    used = set(names.values())

    def fresh(base):
        # A node id of its own: a Variable may be called "op1" or "c1".
        while base in used:
            base += "'"
        used.add(base)
        return base

    lines = ["digraph tape {", "  rankdir=TB;", '  node [fontname="monospace"];']
    declared = set()
    consts: dict = {}  # id(constant), or (record, operand) once freed -> node id
    adjoint: dict = {}  # tid -> adjoint node id

    def value_node(tid, label_extra=""):
        if tid in declared:
            return
        declared.add(tid)
        lines.append(f'  "{names[tid]}" [shape=ellipse, label="{names[tid]}{label_extra}"];')

    def const_node(a, key):
        # key: id(a) for a constant (drawn once however often it is used), or the
        # operand's slot once freed
        if key not in consts:
            node = consts[key] = fresh(f"c{len(consts) + 1}")
            what = "(freed)" if a is None else f"{a.shape} {a.dtype}"
            lines.append(f'  "{node}" [shape=note, label="{node}\\n{what}"];')
        return consts[key]

    def adjoint_node(tid):
        if tid not in adjoint:
            adjoint[tid] = fresh(f"grad {names[tid]}")
            lines.append(
                f'  "{adjoint[tid]}" [shape=ellipse, style=dashed, label="grad {names[tid]}"];'
            )
        return adjoint[tid]

    for tid, t in tape._leaves.items():
        value_node(tid, f"\\n{t.shape} {t.dtype}")
    for i, r in enumerate(r for r in tape._records if r is not None):
        prim, args, out, params, in_tids, out_tid = r
        op = fresh(f"op{i + 1}")
        sources, operands = [], []
        for k, t in enumerate(in_tids):
            a = None if args is None else args[k]
            if t:
                value_node(t)
                sources.append(names[t])
                operands.append(raw[t])
            elif args is None or _is_array_constant(a):
                node = const_node(a, (i, k) if args is None else id(a))
                sources.append(node)
                operands.append(node)
            else:
                operands.append(_operand(a, 0, raw))
        label = _dot_quote(f"{prim.name}({', '.join(operands)})")
        lines.append(f'  "{op}" [shape=box, style=rounded, label="{label}"];')
        lines.extend(f'  "{src}" -> "{op}";' for src in sources)
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        objs = (
            (out if isinstance(out, tuple) else (out,)) if out is not None else (None,) * len(outs)
        )
        for t, o in zip(outs, objs):
            value_node(t, "" if o is None else f"\\n{o.shape} {o.dtype}")
            lines.append(f'  "{op}" -> "{names[t]}";')
        if gradients and prim.differentiable:
            vjp = fresh(f"vjp{i + 1}")
            style = 'shape=box, style="rounded,dashed"'
            lines.append(f'  "{vjp}" [{style}, label="vjp {_dot_quote(prim.name)}"];')
            lines.extend(f'  "{adjoint_node(t)}" -> "{vjp}" [style=dashed];' for t in outs)
            rules = prim.vjps
            for k, t in enumerate(in_tids):
                if t and not (type(rules) is tuple and (k >= len(rules) or rules[k] is None)):
                    lines.append(f'  "{vjp}" -> "{adjoint_node(t)}" [style=dashed];')
    lines.append("}")
    return "\n".join(lines)


def _where(t) -> str:
    origin = t._origin
    if isinstance(origin, str) and ":" in origin:
        return f"created at {origin}"
    if origin is not None and hasattr(origin, "name"):
        return f"produced by `{origin.name}` while none of that op's inputs was watched"
    return "created outside any tape"


def explain(tape, target, source) -> str:
    """One sentence saying why d target / d source is None, zero or vanishingly small.

    It reads the records the way the reverse pass would: a source never watched
    (and where it was created), a trainable Variable no recorded op read (its value
    left through NumPy), integer dtypes, no recorded path, every path cut (by the op
    that cuts it: ``argmax``, ``floor``, a cast to an integer dtype), and, by
    computing the gradient again from the saved values, a dead ReLU, a saturated
    sigmoid or tanh, an underflow, a None returned by a custom gradient, a NaN or inf
    (the first record whose output or local gradient is not finite), or a nonzero
    gradient too small to matter: ``sum|g| * max(max|x|, 1) < eps * sum|y|`` (``eps``
    of the target's dtype), so that moving the source by its own size moves the target
    less than its rounding error; that sentence names the records where it shrinks
    most.

    Ask before ``tape.gradient()`` on a non-persistent tape (or record with
    ``GradientTape(persistent=True)``): ``gradient()`` frees the saved values, and
    after it only the structure is left, so a None or zero gradient whose cause is
    a value (a dead ReLU, a cast to an integer dtype) can be narrowed down to the
    records that may cause it, not traced.  A list (or other nested structure) of
    targets, whose gradients add up, gets one sentence per target.

    Example:
        >>> import wengert as wg
        >>> x = wg.constant([-1.0, -2.0])
        >>> with wg.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = wg.reduce_sum(wg.nn.relu(x))
        >>> explain(tape, y, x)[:47]  # before tape.gradient(y, x)
        'The gradient is exactly zero: it dies at record'
    """
    if isinstance(target, (list, tuple, dict)):
        from .tape import flatten

        leaves = flatten(target)[0]
        if len(leaves) > 1:
            return " ".join(f"Target {i}: {explain(tape, t, source)}" for i, t in enumerate(leaves))
        target = leaves[0] if leaves else target
    if not isinstance(source, Tensor):
        return f"The source is a {type(source).__name__}, not a wg.Tensor or wg.Variable."
    if not isinstance(target, Tensor):
        return f"The target is a {type(target).__name__}, not a wg.Tensor."
    sname = source.name if isinstance(source, Variable) else "the source"
    if source._value.dtype.kind not in "fc":
        return (
            f"{sname.capitalize()} has integer dtype {source.dtype}: gradients are defined only "
            "for floating-point tensors (cast it with wg.cast before the computation)."
        )
    if target._value.dtype.kind not in "fc":
        return (
            f"The target has dtype {target.dtype}, not floating-point: it carries no gradient, "
            "so differentiate a floating-point value computed before it was cast or compared."
        )
    if source._tid not in tape._watched:
        if isinstance(source, Variable) and not source.trainable:
            return (
                f"Variable {source.name!r} is not trainable, so the tape did not watch it when "
                "it was read; call tape.watch() on it or make it trainable."
            )
        if isinstance(source, Variable) and not tape._watch_accessed:
            return (
                f"Variable {source.name!r} was never watched: this tape has "
                "watch_accessed_variables=False, so call tape.watch() on it."
            )
        if isinstance(source, Variable):
            # Trainable and watched on read: so no op this tape recorded read it.
            v = source.name if source.name.isidentifier() else "v"
            return (
                f"No op on this tape read Variable {source.name!r} (a tape watches a trainable "
                "Variable when a recorded op reads it): its value may have left the tape "
                f"through np.asarray({v}), {v}.numpy() or float({v}), and a NumPy computation "
                "is not recorded, or it was used outside the tape's `with` block; compute with "
                "wengert ops on the Variable itself, inside the block."
            )
        return (
            f"{sname.capitalize()} was never watched by this tape ({_where(source)}): call "
            "tape.watch() on it before using it, or make it a trainable wg.Variable."
        )
    records = [r for r in tape._records if r is not None]
    # Values reachable from the source along recorded ops, and which op first reached them.
    reach = {source._tid: None}
    for idx, r in enumerate(records):
        in_tids, out_tid = r[4], r[5]
        if any(t in reach for t in in_tids if t):
            outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
            for t in outs:
                reach.setdefault(t, idx)
    if target._tid not in reach:
        return _no_path(tape, target, records, reach)
    # The target depends on the source: walk back from the target through the records
    # that pass a gradient on; each record that does not is where a path is cut.
    blockers, live = _walk(records, reach, (target._tid,), source._tid)
    if target._tid not in live:
        cuts = [f"record {idx + 1}: {blockers[idx]}" for idx in sorted(blockers)]
        if len(cuts) == 1:
            return f"The path from the source to the target is cut at {cuts[0]}."
        return f"Every path from the source to the target is cut, at {'; and at '.join(cuts)}."
    if tape._freed:
        return _explain_freed(records, source, target)
    return _explain_zero(tape, target, source, records, live)


def _walk(records, reach, starts, source_tid) -> tuple:
    """Walk back from the values ``starts`` through the records that pass a gradient on.

    Returns ``(blockers, live)``: record index -> why that record cuts a path (see
    ``_step_back``), and the ids of the values the walk met that have a differentiable
    path back to the source (the source included).  A start is in ``live`` exactly when
    some path from the source reaches it.
    """
    producer = {}
    for idx, r in enumerate(records):
        outs = r[5] if isinstance(r[5], tuple) else (r[5],)
        for t in outs:
            producer[t] = idx
    frontier = list(starts)
    seen = set()
    blockers = {}
    onward_of = {}  # tid -> the inputs of its record that the walk went on to
    while frontier:
        tid = frontier.pop()
        if tid in seen:
            continue
        seen.add(tid)
        if tid == source_tid or tid not in producer:
            continue
        idx = producer[tid]
        on_path = [(i, t) for i, t in enumerate(records[idx][4]) if t and t in reach]
        reason, onward = _step_back(records[idx], on_path, tid)
        if reason:
            blockers[idx] = reason
        else:
            onward_of[tid] = onward
            frontier.extend(onward)
    # A record's inputs come before it on the tape: in tape order, each value is live
    # once one of the inputs the walk went on to is.
    live = {source_tid}
    for tid in sorted(onward_of, key=producer.__getitem__):
        if any(t in live for t in onward_of[tid]):
            live.add(tid)
    return blockers, live


def _no_path(tape, target, records, reach) -> str:
    """The target does not depend on the source along recorded ops: say why."""
    if target._tid in tape._cut:
        op, pos = tape._cut[target._tid]
        return (
            f"No recorded path: the target depends on `{op}`, which ran inside "
            "tape.stop_recording(), so the tape cut the path there."
        )
    if target._tid and target._tid in tape._watched:
        stops = [
            r[0].name
            for r in records
            if r[0].name == "stop_gradient" and any(t in reach for t in r[4] if t)
        ]
        if stops:
            return (
                "No recorded path: the only paths from the source to the target pass "
                "through stop_gradient, which blocks gradients by design."
            )
        return (
            "No recorded path: the target was computed on this tape, but from other "
            "watched values, not from the source."
        )
    if tape._freed and not records:
        return "The tape's records were freed; use persistent=True to ask after gradient()."
    where = _where(target)
    if hasattr(target._origin, "name"):
        # Which of the two cannot be told afterwards: the tape saw nothing of the op.
        where = (
            f"produced by `{target._origin.name}`, which this tape did not record: it ran "
            "outside the tape's `with` block, or none of its inputs was watched"
        )
    left = ""
    used = [idx for idx in reach.values() if idx is not None]
    if used:
        # The tape did record ops on the source, yet not the target: a value may have
        # gone from one to the other outside wengert's ops.
        last = max(used)
        cut = _cut_at(records, reach, last)
        if cut:
            return (
                "No recorded path: the target was not computed while this tape recorded with "
                f"the source watched ({where}); the tape recorded ops on the source up to "
                f"record {last + 1}, `{records[last][0].name}`, and the path is cut {cut}."
            )
        left = (
            "; if a value computed from the source (the tape recorded ops on it up to record "
            f"{last + 1}, `{records[last][0].name}`) went through np.asarray(), .numpy() or "
            "float(), the path was lost there: NumPy computations are not recorded"
        )
    return (
        "No recorded path: the target was not computed while this tape recorded with the "
        f"source watched ({where}){left}."
    )


def _cut_at(records, reach, idx) -> str:
    """Where the path to record ``idx``'s outputs is cut, when that record has no gradient
    or returns integers, as the cut-path sentence names it ("at record 1: `argmax`, which
    has no gradient by definition"), and what that means for a value computed from them;
    "" when a differentiable path reaches them."""
    prim, out, out_tid = records[idx][0], records[idx][2], records[idx][5]
    outs = [o for o in _outs(out) if isinstance(o, Tensor)] if out is not None else []
    ints = any(_is_integer(o) for o in outs)
    if prim.differentiable and prim.vjps is not None and not ints:
        return ""
    source_tid = next(t for t, first in reach.items() if first is None)
    blockers, live = _walk(records, reach, _outs(out_tid), source_tid)
    if not blockers or any(t in live for t in _outs(out_tid)):
        return ""
    at = "; and at ".join(f"record {i + 1}: {blockers[i]}" for i in sorted(blockers))
    if ints:
        return (
            f"at {at}; an op that takes integers as an index (one_hot, gather, a slice) "
            "reads them without recording anything"
        )
    return f"at {at}, whatever was computed from its output"


def _is_float(t) -> bool:
    return t._value.dtype.kind in "fc"


def _is_integer(t) -> bool:
    return t._value.dtype.kind in "iub"  # not "O": a fused op's saved handle is no integer


def _step_back(record, on_path, tid) -> tuple:
    """One step of the walk back from the target, reaching ``record`` through its output
    ``tid``: ``(why the record cuts the path, None)`` or ``(None, the ids of its inputs
    the walk goes on to)``.

    ``on_path`` holds (position, id) of the record's inputs that depend on the source.
    An op that only carries integers along (a cast back to float, an index) is not the
    cut: the walk goes on to the op that made them, where a floating-point value
    became an integer one (``argmax``, ``cast`` to int32) or an op without a gradient.
    """
    prim, args, out = record[0], record[1], record[2]
    outs = () if out is None else (out if isinstance(out, tuple) else (out,))
    followed = [o for o in outs if isinstance(o, Tensor) and o._tid == tid]
    int_out = followed[0].dtype if followed and _is_integer(followed[0]) else None
    if not prim.differentiable:
        returns = f" (it returns {int_out} values)" if int_out is not None else ""
        return f"`{prim.name}`, which has no gradient by definition{returns}", None
    if prim.vjps is None:
        return (
            f"`{prim.name}`, which has no gradient defined "
            "(a LookupError is raised when the gradient is asked for)"
        ), None
    # Once freed, the dtypes are gone: every input is followed (_explain_freed then names
    # the records that may cut the path).
    floats = [(i, t) for i, t in on_path if args is None or not _is_integer(args[i])]
    ints = [t for i, t in on_path if args is not None and _is_integer(args[i])]
    if floats and int_out is not None:
        return (
            f"`{prim.name}` turns a floating-point input into {int_out}, an integer dtype, "
            "which carries no gradient"
        ), None
    rules = prim.vjps
    if type(rules) is tuple:
        passed = [t for i, t in floats if rules[i] is not None]
        if floats and not passed and not ints:
            return (
                f"`{prim.name}`, whose gradient rule for input {floats[0][0]} is None "
                "(it passes no gradient to it)"
            ), None
        return None, passed + ints
    return None, [t for _, t in on_path]


# Ops whose values can make a gradient None or zero: what explain names once they are freed.
_SUSPECTS = {
    "relu": "dead if its inputs were all <= 0",
    "sigmoid": "zero if saturated",
    "tanh": "zero if saturated",
    "cast": "None if it cast to an integer dtype",
    "sign": "whose derivative is zero everywhere",
}


def _suspect(name) -> str | None:
    if name in _SUSPECTS:
        return _SUSPECTS[name]
    if name.startswith("custom_gradient("):
        return "None if its grad_fn returned None"
    return None


def _explain_freed(records, source, target) -> str:
    """The target depends on the source, but gradient() freed the values that would say why
    the gradient is None or zero: name the records that may cause it, and how to ask in time."""
    on_path = _records_between(records, source._tid, target._tid)
    suspects = [
        f"record {idx + 1}, `{records[idx][0].name}`, {_suspect(records[idx][0].name)}"
        for idx in sorted(on_path, reverse=True)
        if _suspect(records[idx][0].name)
    ]
    hint = f" (on the path: {'; '.join(suspects[:3])})" if suspects else ""
    return (
        "The target depends on the source along recorded ops, but this non-persistent tape's "
        "gradient() freed the saved values, so explain cannot tell whether or why the gradient "
        f"is None, zero or vanishing{hint}: call tape.explain(target, source) before "
        "tape.gradient(), or record with GradientTape(persistent=True)."
    )


def _explain_zero(tape, target, source, records, live) -> str:
    """The target depends on the source: say whether the gradient is None, zero or not
    finite, and why.  ``live`` holds the values on a differentiable path from the source
    to the target (explain's walk); only the records that make them are looked at."""
    on_path = {
        idx
        for idx, r in enumerate(records)
        if any(t in live and t != source._tid for t in _outs(r[5]))
    }
    g = _plain_gradients(tape, target, [source])[0]
    if g is None:
        return _explain_none(tape, target, source, records, on_path)
    if g._value.dtype.kind in "fc" and not bool(xp.all(xp.isfinite(g._value))):
        return _explain_nonfinite(tape, target, source, records, on_path, live, g)
    if not bool(xp.all(g._value == 0)):
        vanishing = _vanishing(tape, target, source, records, on_path, g)
        return vanishing or "The gradient is connected and nonzero: nothing to explain."
    # The first op back from the target, on a path from the source, whose local
    # derivative vanishes everywhere.
    for idx in range(len(records) - 1, -1, -1):
        prim, args, out = records[idx][0], records[idx][1], records[idx][2]
        if idx not in on_path or args is None or isinstance(out, tuple):
            continue
        if prim.name == "relu" and bool(xp.all(out._value <= 0)):
            return (
                f"The gradient is exactly zero: it dies at record {idx + 1}, `relu`, whose "
                "inputs are all <= 0 (a dead unit passes no gradient)."
            )
        saturated = (
            prim.name == "sigmoid" and bool(xp.all((out._value == 0) | (out._value == 1)))
        ) or (prim.name == "tanh" and bool(xp.all(xp.abs(out._value) == 1)))
        if saturated:
            return (
                f"The gradient is exactly zero: it dies at record {idx + 1}, `{prim.name}`, "
                "saturated: its outputs are all at their limits, where its derivative is "
                "zero in floating point (the vanishing-gradient problem at its extreme)."
            )
        if prim.name in ("sign", "zeros_like"):
            return (
                f"The gradient is exactly zero: it dies at record {idx + 1}, `{prim.name}`, "
                "whose derivative is zero everywhere."
            )
    return _where_zero(tape, target, source, records, on_path, live)


def _where_zero(tape, target, source, records, on_path, live) -> str:
    """The gradient is exactly zero with no dead or saturated unit to blame: find the
    record, from the target back, where the gradient's magnitude drops to zero.

    Only inputs in ``live`` (a differentiable path back to the source) count: an input
    whose path is already cut (a factor computed from ``argmax``) has a zero gradient
    that says nothing about the source's.
    """
    values, largest = _magnitudes(tape, target, source, records, on_path)
    for idx in sorted(on_path, reverse=True):
        prim, in_tids, out_tid = records[idx][0], records[idx][4], records[idx][5]
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        g_out = max(largest.get(t, 0.0) for t in outs)
        dead = [
            t
            for t in in_tids
            if t in live and t in values and _is_float(values[t]) and not largest[t]
        ]
        if g_out == 0 or not dead or not prim.differentiable:
            continue
        info = xp.finfo(values[dead[0]]._value.dtype)
        if g_out < info.tiny / info.eps:
            # Within a factor eps of the subnormal range, a gradient is one saturated
            # factor away from zero: read its end as an underflow, not as a zero factor.
            return (
                f"The gradient is exactly zero: it had shrunk to {g_out:.2g} when it reached "
                f"record {idx + 1}, `{prim.name}`, and underflowed to zero there ({info.dtype}'s "
                f"smallest normal number is {float(info.tiny):.2g}): the vanishing-gradient "
                "problem at its extreme."
            )
        return (
            "The gradient is exactly zero although the target depends on the source: it "
            f"becomes zero at record {idx + 1}, `{prim.name}` (a factor there is zero, or "
            "the contributions to its input cancel)."
        )
    return (
        "The gradient is exactly zero although the target depends on the source: the "
        "contributions cancel or a factor on the path is zero."
    )


def _outs(out_tid) -> tuple:
    return out_tid if isinstance(out_tid, tuple) else (out_tid,)


def _nonfinite(value) -> str:
    """What a float array holds that is not finite: "NaN", "inf", "NaN and -inf", ..."""
    kinds = [
        ("NaN", xp.isnan(value)),
        ("inf", xp.isposinf(value.real)),
        ("-inf", xp.isneginf(value.real)),
    ]
    return " and ".join(k for k, hit in kinds if bool(xp.any(hit)))


def _local_vjp(record, cotangents, i):
    """The gradient that ``record``'s rule passes to its input ``i``, given its outputs'
    cotangents (None for an output with none), as the reverse pass computes it."""
    from .math_ops import zeros_like_op

    prim, args, out, params = record[0], record[1], record[2], record[3]
    if isinstance(out, tuple):
        g = tuple(zeros_like_op(o) if c is None else c for o, c in zip(out, cotangents))
    else:
        g = cotangents[0]
    rules = prim.vjps
    if type(rules) is tuple:
        return None if i >= len(rules) or rules[i] is None else rules[i](g, out, *args, **params)
    return rules(i, g, out, *args, **params)


def _explain_nonfinite(tape, target, source, records, on_path, live, g) -> str:
    """The gradient holds NaN or inf: name the first record, in tape order, on a path from
    the source to the target whose output, or whose contribution to the gradient of an
    input on the path, is not finite although the gradient it received is."""
    from .core import all_paused

    head = f"The gradient is not finite (it holds {_nonfinite(g._value)})"
    values = _path_values(source, records, on_path)
    with xp.errstate(all="ignore"):
        grads = dict(zip(values, _plain_gradients(tape, target, list(values.values()))))
        for idx in sorted(on_path):
            record = records[idx]
            prim, args, out = record[0], record[1], record[2]
            outs = [o for o in _outs(out) if isinstance(o, Tensor) and _is_float(o)]
            bad = next((_nonfinite(o._value) for o in outs if _nonfinite(o._value)), "")
            if bad:
                return (
                    f"{head}: record {idx + 1}, `{prim.name}`, is the first on a path from the "
                    f"source to the target whose output is not finite (it holds {bad}), and a "
                    "NaN or inf makes the gradients that pass through it NaN or inf; find the "
                    "inputs that overflow or leave its domain there."
                )
            cotangents = [grads.get(t) for t in _outs(record[5])]
            if not prim.differentiable or prim.vjps is None or args is None:
                continue
            if all(c is None for c in cotangents) or any(
                c is not None and _nonfinite(c._value) for c in cotangents
            ):
                continue
            for i, t in enumerate(record[4]):
                if t not in live:
                    continue
                with all_paused():
                    gi = _local_vjp(record, cotangents, i)
                if gi is not None and _is_float(gi) and _nonfinite(gi._value):
                    return (
                        f"{head}: record {idx + 1}, `{prim.name}`, is the first on a path from "
                        "the source to the target whose local gradient is not finite: it "
                        f"receives a finite gradient but passes {_nonfinite(gi._value)} to its "
                        f"input {i} (its derivative is infinite or undefined at these inputs, "
                        "as sqrt's and log's are at 0, and infinity times a zero gradient is "
                        "NaN)."
                    )
    return (
        f"{head}, and the saved values do not show which record made it so (the sum of "
        "finite contributions may have overflowed): run the computation again after "
        "wg.debugging.enable_check_numerics(), which raises at the first op, forward or "
        "backward, that makes a NaN or inf."
    )


def _path_values(source, records, on_path) -> dict:
    """tid -> Tensor for the source and every output of the records on a path from it."""
    values = {source._tid: source}
    for idx in on_path:
        out, out_tid = records[idx][2], records[idx][5]
        if isinstance(out, tuple):
            values.update(zip(out_tid, out))
        else:
            values[out_tid] = out
    return values


def _magnitudes(tape, target, source, records, on_path) -> tuple:
    """The values on a path from the source to the target (tid -> Tensor), and the largest
    element of the target's gradient with respect to each (tid -> float, 0.0 for None)."""
    values = _path_values(source, records, on_path)
    largest = {}
    for tid, g in zip(values, _plain_gradients(tape, target, list(values.values()))):
        v = None if g is None else g._value
        largest[tid] = 0.0 if v is None or not v.size else float(xp.abs(v).max())
    return values, largest


def _vanishing(tape, target, source, records, on_path, g) -> str | None:
    """A sentence when the nonzero gradient ``g`` is too small to matter, else None.

    The criterion is ``sum|g| * max(max|x|, 1) < eps * sum|y|``, with ``x`` the source,
    ``y`` the target and ``eps`` the machine epsilon of the target's dtype (1.2e-7 for
    float32).  The left side bounds, to first order, how much the (summed) target moves
    when every element of the source moves by as much as the source's own size (or by
    1, for a source near zero such as a fresh bias); the right side is the target's
    rounding error.  Below it, a step of any size that suits the source leaves the
    target unchanged in floating point, and finite differences cannot see the
    dependence.  The criterion is scale-free: a gradient that is small because the
    target is small is not flagged.

    It then names the records where the magnitude collapses most: with the gradient
    of every value on the path computed again, a record's factor is the largest
    element of the gradient at its inputs on the path over the largest at its outputs
    (for an elementwise op such as ``sigmoid``, its largest local derivative); up to
    three records that scale it by 1e-3 or less are named, smallest factor first.
    """
    eps = float(xp.finfo(target._value.dtype).eps)
    g_size = float(xp.abs(g._value).sum(dtype=xp.float64))
    x_size = max(float(xp.abs(source._value).max(initial=0.0)), 1.0)
    y_size = float(xp.abs(target._value).sum(dtype=xp.float64))
    if not (g_size * x_size < eps * y_size) or not xp.isfinite(y_size):
        return None
    values, largest = _magnitudes(tape, target, source, records, on_path)
    factors = []
    for idx in on_path:
        prim, in_tids, out_tid = records[idx][0], records[idx][4], records[idx][5]
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        ins = [largest[t] for t in in_tids if t in values and _is_float(values[t])]
        g_out = max(largest.get(t, 0.0) for t in outs)
        if not ins or not prim.differentiable:
            continue  # an integer path carries no gradient: explain's walk deals with it
        g_in = max(ins)
        if g_out > 0 and g_in <= 1e-3 * g_out:
            note = ", saturated" if prim.name in ("sigmoid", "tanh") else ""
            factors.append((g_in / g_out, idx, f"`{prim.name}` (x{g_in / g_out:.2g}{note})"))
    factors.sort()
    if factors:
        where = "; it collapses most at " + ", ".join(
            f"record {idx + 1}, {what}" for _, idx, what in factors[:3]
        )
    else:
        where = (
            "; no single record scales it by 1e-3 or less, so it shrinks over many records "
            "or the target is large next to the source's effect on it"
        )
    return (
        f"The gradient is nonzero but negligible: its largest element is "
        f"{float(xp.abs(g._value).max()):.2g}, so moving each element of the source by "
        "max(|source|, 1) "
        f"changes the target by less than its {target.dtype} rounding error "
        f"(eps * sum|target| = {eps * y_size:.2g}){where}."
    )


def _plain_gradients(tape, target, sources) -> list:
    """``tape``'s gradients of ``target``, as explain needs them: recorded on no tape (not
    even this one, inside its ``with`` block), and None rather than a strict tape's error."""
    from .core import all_paused

    strict = tape._strict
    tape._strict = False
    try:
        # A NaN or overflow here is what explain reports, not a warning to print.
        with all_paused(), xp.errstate(all="ignore"):
            return tape._gradients(target, sources, None, _none_mode())
    finally:
        tape._strict = strict


def _explain_none(tape, target, source, records, on_path) -> str:
    """The target depends on the source along differentiable ops, yet the gradient is None:
    find the record whose rule returned None although its output had a gradient."""
    values = _path_values(source, records, on_path)
    grads = dict(zip(values, _plain_gradients(tape, target, list(values.values()))))
    for idx in sorted(on_path, reverse=True):
        prim, in_tids, out_tid = records[idx][0], records[idx][4], records[idx][5]
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        if all(grads[t] is None for t in outs):
            continue
        for i, t in enumerate(in_tids):
            if t in values and grads[t] is None:
                return (
                    f"The gradient is None although the target depends on the source: it "
                    f"stops at record {idx + 1}, `{prim.name}`, whose gradient rule returned "
                    f"None for input {i} (a custom_gradient's grad_fn returning None means "
                    "no gradient)."
                )
    return "The gradient is None although the target depends on the source along recorded ops."


def _records_between(records, source_tid, target_tid) -> set:
    """Indices of the records on some path from the source to the target."""
    depends = {source_tid}  # values that depend on the source
    forward = set()
    for idx, rec in enumerate(records):
        in_tids, out_tid = rec[4], rec[5]
        if any(t in depends for t in in_tids):
            forward.add(idx)
            depends.update(out_tid if isinstance(out_tid, tuple) else (out_tid,))
    needed = {target_tid}  # values the target depends on
    between = set()
    for idx in range(len(records) - 1, -1, -1):
        in_tids, out_tid = records[idx][4], records[idx][5]
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        if any(t in needed for t in outs):
            needed.update(in_tids)
            if idx in forward:
                between.add(idx)
    return between


def _none_mode():
    from .tape import UnconnectedGradients

    return UnconnectedGradients.NONE
