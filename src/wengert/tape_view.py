"""Looking at a tape: the Wengert list as a table, as Graphviz DOT, and ``explain``.

``explain(tape, target, source)`` answers "why is this gradient None (or
zero)?" in one sentence, by reading the records the way the reverse pass
would.
"""

from __future__ import annotations

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


def _operand(a, tid, names) -> str:
    if tid:
        return names.get(tid, "?")
    if isinstance(a, Tensor):
        if a.size == 1:
            return repr(a._value.reshape(()).item())
        return f"const{list(a.shape)}"
    if isinstance(a, (int, float, bool)):
        return repr(a)
    return "?"


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


def to_dot(tape) -> str:
    """Graphviz DOT text for the tape: values are ellipses, ops are boxes."""
    names = {tid: _dot_quote(name) for tid, name in _names(tape).items()}
    out_lines = ["digraph tape {", "  rankdir=TB;", '  node [fontname="monospace"];']
    declared = set()

    def value_node(tid, label_extra=""):
        if tid in declared:
            return
        declared.add(tid)
        out_lines.append(f'  "{names[tid]}" [shape=ellipse, label="{names[tid]}{label_extra}"];')

    for tid, t in tape._leaves.items():
        value_node(tid, f"\\n{t.shape} {t.dtype}")
    for i, r in enumerate(r for r in tape._records if r is not None):
        prim, args, out, params, in_tids, out_tid = r
        op = f"op{i + 1}"
        label = _dot_quote(prim.name)
        out_lines.append(f'  "{op}" [shape=box, style=rounded, label="{label}"];')
        for t in in_tids:
            if t:
                value_node(t)
                out_lines.append(f'  "{names[t]}" -> "{op}";')
        outs = out_tid if isinstance(out_tid, tuple) else (out_tid,)
        objs = (
            (out if isinstance(out, tuple) else (out,)) if out is not None else (None,) * len(outs)
        )
        for t, o in zip(outs, objs):
            value_node(t, "" if o is None else f"\\n{o.shape} {o.dtype}")
            out_lines.append(f'  "{op}" -> "{names[t]}";')
    out_lines.append("}")
    return "\n".join(out_lines)


def _where(t) -> str:
    origin = t._origin
    if isinstance(origin, str) and ":" in origin:
        return f"created at {origin}"
    if origin is not None and hasattr(origin, "name"):
        return f"produced by `{origin.name}` while none of that op's inputs was watched"
    return "created outside any tape"


def explain(tape, target, source) -> str:
    """One sentence saying why d target / d source is None or zero on ``tape``.

    A list (or other nested structure) of targets, whose gradients add up, gets one
    sentence per target.
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
        return (
            "No recorded path: the target was not computed while this tape recorded with the "
            f"source watched ({where})."
        )
    # The target depends on the source: follow the path back from the target and
    # find what stops the gradient.
    producer = {}
    for idx, r in enumerate(records):
        outs = r[5] if isinstance(r[5], tuple) else (r[5],)
        for t in outs:
            producer[t] = idx
    frontier = [target._tid]
    seen = set()
    blockers = []
    while frontier:
        tid = frontier.pop()
        if tid in seen or tid == source._tid or tid not in producer:
            continue
        seen.add(tid)
        r = records[producer[tid]]
        prim, args, in_tids = r[0], r[1], r[4]
        on_path = [t for t in in_tids if t and t in reach]
        if not prim.differentiable:
            blockers.append((producer[tid], f"`{prim.name}`, which has no gradient"))
            continue
        if prim.vjps is None:
            blockers.append(
                (
                    producer[tid],
                    f"`{prim.name}`, which has no gradient defined "
                    "(a LookupError is raised when the gradient is asked for)",
                )
            )
            continue
        if args is not None:
            ints = [
                a
                for a, t in zip(args, in_tids)
                if t in on_path and isinstance(a, Tensor) and a._value.dtype.kind not in "fc"
            ]
            if ints:
                blockers.append(
                    (
                        producer[tid],
                        f"`{prim.name}` applied to an integer tensor "
                        f"({ints[0].dtype}), which carries no gradient",
                    )
                )
                continue
        elif prim.name == "cast":
            blockers.append((producer[tid], "`cast` through an integer dtype"))
            continue
        frontier.extend(on_path)
    if blockers:
        idx, what = min(blockers)
        return f"The path from the source to the target is cut at record {idx + 1}: {what}."
    if tape._freed:
        return (
            "The target depends on the source along differentiable ops; the values were freed "
            "by gradient(), so a zero gradient cannot be traced (use persistent=True)."
        )
    return _explain_zero(tape, target, source, records)


def _explain_zero(tape, target, source, records) -> str:
    """The target depends on the source: say whether the gradient is None or zero, and why."""
    from .backend import xp

    on_path = _records_between(records, source._tid, target._tid)
    g = _plain_gradients(tape, target, [source])[0]
    if g is None:
        return _explain_none(tape, target, source, records, on_path)
    if not bool(xp.all(g._value == 0)):
        return "The gradient is connected and nonzero: nothing to explain."
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
    return (
        "The gradient is exactly zero although the target depends on the source: the "
        "contributions cancel or a factor on the path is zero."
    )


def _plain_gradients(tape, target, sources) -> list:
    """``tape``'s gradients of ``target``, as explain needs them: recorded on no tape (not
    even this one, inside its ``with`` block), and None rather than a strict tape's error."""
    from .core import all_paused

    strict = tape._strict
    tape._strict = False
    try:
        with all_paused():
            return tape._gradients(target, sources, None, _none_mode())
    finally:
        tape._strict = strict


def _explain_none(tape, target, source, records, on_path) -> str:
    """The target depends on the source along differentiable ops, yet the gradient is None:
    find the record whose rule returned None although its output had a gradient."""
    values = {source._tid: source}  # the values on a path from the source to the target
    for idx in on_path:
        out, out_tid = records[idx][2], records[idx][5]
        if isinstance(out, tuple):
            values.update(zip(out_tid, out))
        else:
            values[out_tid] = out
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
