"""A learner's review of the tape view: explain's sentences, the listing's constants, to_dot.

1. a trainable Variable whose value left the tape through NumPy is not "never watched";
2. a path cut by argmax is blamed on argmax, not on the cast after it;
3. explain after a non-persistent gradient() says to ask before it;
4. float32 constants print as their shortest float32 text;
5. to_dot draws constants (and, optionally, the reverse pass) and stays valid DOT;
6. a nonzero but negligible gradient is flagged, with the records where it collapses;
7. a source cut at argmax whose integers only index (one_hot, gather) blames argmax;
8. a NaN or inf gradient names the record where it first becomes non-finite;
9. a zero gradient is traced along the differentiable paths only.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import wengert as wg
from wengert.tape_view import to_dot

# -- 1. a Variable that left the tape through NumPy -----------------------------------------------


@pytest.mark.parametrize(
    "leave", [np.asarray, lambda v: v.numpy(), float], ids=["np.asarray", "numpy()", "float"]
)
def test_a_variable_read_through_numpy_is_not_called_unwatched(leave):
    W = wg.Variable(2.0, name="W")
    x = wg.constant([[1.0], [2.0]])
    with wg.GradientTape() as tape:
        y = wg.reduce_sum(wg.matmul(wg.constant(leave(W)) * wg.ones((1, 2)), x))
    msg = tape.explain(y, W)
    assert tape.gradient(y, W) is None
    assert msg.startswith("No op on this tape read Variable 'W'")
    assert "np.asarray(W), W.numpy() or float(W)" in msg and "not recorded" in msg
    assert "never watched" not in msg and "make it a trainable" not in msg


def test_a_value_computed_from_the_source_that_left_through_numpy_is_named():
    W = wg.Variable([[1.0, 2.0]], name="W")
    with wg.GradientTape() as tape:
        y = wg.constant(float(W[0, 0])) * 2.0  # W is read (getitem), then leaves the tape
    msg = tape.explain(y, W)
    assert msg.startswith("No recorded path")
    assert "up to record 1, `getitem`) went through np.asarray(), .numpy() or float()" in msg


def test_a_variable_used_after_the_block_gets_the_same_sentence_and_strict_raises_it():
    v = wg.Variable(2.0, name="dense/kernel")
    with wg.GradientTape(strict=True) as tape:
        pass
    y = v * v
    with pytest.raises(wg.UnconnectedGradientError, match="No op on this tape read Variable"):
        tape.gradient(y, v)
    msg = tape.explain(y, v)
    assert "'dense/kernel'" in msg and "np.asarray(v)" in msg and "outside the tape's" in msg


def test_an_unwatched_constant_is_still_never_watched():
    x = wg.constant(1.0)
    with wg.GradientTape() as tape:
        y = x * x
    assert "never watched" in tape.explain(y, x)


# -- 2. the record that really cuts the path ------------------------------------------------------


@pytest.mark.parametrize("mode", ["persistent", "after gradient", "strict"])
def test_argmax_is_blamed_not_the_cast_after_it(mode):
    x = wg.constant([1.0, 3.0, 2.0])
    with wg.GradientTape(persistent=mode == "persistent", strict=mode == "strict") as tape:
        tape.watch(x)
        y = wg.cast(wg.argmax(x), wg.float32) * 2.0
    if mode == "strict":
        with pytest.raises(wg.UnconnectedGradientError) as info:
            tape.gradient(y, x)
        msg = str(info.value)
    else:
        assert tape.gradient(y, x) is None
        msg = tape.explain(y, x)
    assert "cut at record 1: `argmax`, which has no gradient" in msg
    assert "record 2" not in msg and "`cast`" not in msg
    if mode != "after gradient":  # the output's dtype is gone once freed
        assert "(it returns int64 values)" in msg


def test_a_cast_to_an_integer_dtype_is_blamed_not_the_cast_back():
    x = wg.constant([1.5, 2.5])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = wg.cast(wg.cast(x, "int32") * 2, "float32")
    assert tape.gradient(y, x) is None
    msg = tape.explain(y, x)
    assert "cut at record 1: `cast` turns a floating-point input into int32" in msg


def test_a_cut_path_beside_a_connected_one_is_no_cut():
    x = wg.constant([1.0, -2.0])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = wg.where(x > 0, x, 0.0)  # the condition's path is cut, x's is not
        z = x * wg.cast(wg.argmax(x), "float32")  # argmax is 0: a zero factor
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [1.0, 0.0])
    assert tape.explain(y, x) == "The gradient is connected and nonzero: nothing to explain."
    np.testing.assert_array_equal(tape.gradient(z, x).numpy(), [0.0, 0.0])
    msg = tape.explain(z, x)
    assert "cut" not in msg
    assert "exactly zero" in msg and "record 5, `multiply`" in msg and "factor" in msg


def test_every_cut_path_is_named_when_all_are_cut():
    x = wg.constant([1.5, 2.5])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = wg.cast(wg.argmax(x), "float32") + wg.reduce_sum(wg.floor(x))
    assert tape.gradient(y, x) is None
    msg = tape.explain(y, x)
    assert msg.startswith("Every path from the source to the target is cut")
    assert "record 1: `argmax`" in msg and "record 3: `floor`" in msg


# -- 3. explain and a non-persistent tape's gradient() --------------------------------------------


def _dead_relu_tape():
    x = wg.constant([-1.0, -2.0])
    tape = wg.GradientTape()
    with tape:
        tape.watch(x)
        y = wg.reduce_sum(wg.nn.relu(x * 2.0))
    return tape, x, y


def test_explain_before_gradient_traces_a_dead_relu_and_leaves_the_tape_usable():
    tape, x, y = _dead_relu_tape()
    msg = tape.explain(y, x)
    assert "exactly zero" in msg and "record 2, `relu`" in msg and "dead" in msg
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 0.0])


def test_explain_after_gradient_says_to_ask_before_it_and_names_the_suspects():
    tape, x, y = _dead_relu_tape()
    tape.gradient(y, x)
    msg = tape.explain(y, x)
    assert "freed" in msg
    assert "call tape.explain(target, source) before tape.gradient()" in msg
    assert "persistent=True" in msg
    assert "record 2, `relu`, dead if its inputs were all <= 0" in msg


def test_a_freed_float_cast_is_not_called_a_cut():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.cast(x, "float64") * 2.0
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 2.0])
    msg = tape.explain(y, x)
    assert "cut" not in msg and "freed" in msg and "record 1, `cast`" in msg


def test_the_docstrings_say_to_explain_before_gradient():
    assert "before ``gradient()``" in wg.GradientTape.explain.__doc__
    assert "persistent=True" in wg.GradientTape.explain.__doc__


# -- 4. constants in the listing ------------------------------------------------------------------


def test_listing_prints_scalars_in_the_shortest_text_of_their_dtype():
    x = wg.constant(1.0)
    d = wg.constant(1.0, dtype="float64")
    with wg.GradientTape() as tape:
        tape.watch([x, d])
        a = x - np.float32(0.3)
        b = a * wg.constant(0.1)
        c = d + 0.1
        e = wg.pow(b, 2.0)
    text = str(tape)
    assert "subtract(v1, 0.3)" in text and "multiply(v3, 0.1)" in text
    assert "add(v2, 0.1)" in text and "pow(v4, 2.0)" in text
    assert "0.30000001192092896" not in text and "0.10000000149011612" not in text
    del c, e


def test_listing_prints_only_0d_constants_inline():
    a = wg.Variable([1.0, 2.0], name="a")
    c = wg.Variable([3.0, 4.0], name="c")
    with wg.GradientTape() as tape:
        y = c * wg.constant([[0.7]]) + a * wg.constant(0.3)  # (1, 1) broadcasts: y is (1, 2)
        w = wg.matmul(wg.reshape(a[0], (1, 1)), wg.constant([[2.0]]))
        v = a * wg.constant([0.5])
    text = str(tape)
    assert "multiply(c, const[1, 1])" in text and "multiply(a, 0.3)" in text
    assert "matmul(v7, const[1, 1])" in text and "multiply(a, const[1])" in text
    assert "0.7" not in text and "2.0" not in text and "0.5" not in text
    nodes, edges = _parse_dot(tape.to_dot())
    notes = sorted(_label(at) for at in nodes.values() if "shape=note" in at)
    assert notes == ["c1\\n(1, 1) float32", "c2\\n(1, 1) float32", "c3\\n(1,) float32"]
    ops = {_label(at) for at in nodes.values() if "shape=box" in at}
    assert {"multiply(c, c1)", "multiply(a, 0.3)", "matmul(v7, c2)", "multiply(a, c3)"} <= ops
    del y, w, v


# -- 5. to_dot ------------------------------------------------------------------------------------

_ID = r'"((?:[^"\\]|\\.)*)"'
_NODE = re.compile(rf"^  {_ID} \[(.*)\];$")
_EDGE = re.compile(rf"^  {_ID} -> {_ID}( \[style=dashed\])?;$")
_HEAD = ["digraph tape {", "  rankdir=TB;", '  node [fontname="monospace"];']


def _parse_dot(dot):
    """Nodes (id -> attribute text) and edges of wengert's DOT, every line accounted for."""
    lines = dot.splitlines()
    assert lines[:3] == _HEAD and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[3:-1]:
        if m := _EDGE.match(line):
            edges.append((m.group(1), m.group(2), bool(m.group(3))))
        elif m := _NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            nodes[m.group(1)] = m.group(2)
        else:
            raise AssertionError(f"not a DOT statement: {line!r}")
    for a, b, _ in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def _label(attrs):
    return re.search(r'label="((?:[^"\\]|\\.)*)"', attrs).group(1)


def _matmul_pow_tape(persistent=True):
    x = wg.constant([[1.0, 2.0]])  # a constant input: it must appear too
    W = wg.Variable([[1.0], [2.0]], name="W")
    tape = wg.GradientTape(persistent=persistent)
    with tape:
        y = wg.pow(wg.matmul(x, W), 2.0)
        z = wg.reduce_sum(y * y)
    return tape, W, z


def test_to_dot_draws_array_constants_as_nodes_and_scalars_in_the_label():
    tape, *_ = _matmul_pow_tape()
    nodes, edges = _parse_dot(tape.to_dot())
    ops = {_label(a): n for n, a in nodes.items() if "shape=box" in a}
    assert set(ops) == {"matmul(c1, W)", "pow(v2, 2.0)", "multiply(v3, v3)", "reduce_sum(v4)"}
    into = {label: [a for a, b, _ in edges if b == n] for label, n in ops.items()}
    assert into["matmul(c1, W)"] == ["c1", "W"]  # two incoming edges, in operand order
    assert into["pow(v2, 2.0)"] == ["v2"] and into["multiply(v3, v3)"] == ["v3", "v3"]
    assert "shape=note" in nodes["c1"] and _label(nodes["c1"]) == "c1\\n(1, 2) float32"
    assert len(edges) == 2 + 1 + 2 + 1 + 4  # inputs, then one edge to each op's output


def test_to_dot_of_a_freed_tape_keeps_each_operand_slot():
    tape, W, z = _matmul_pow_tape(persistent=False)
    tape.gradient(z, W)
    nodes, edges = _parse_dot(tape.to_dot())
    labels = sorted(_label(a) for a in nodes.values() if "shape=note" in a)
    assert labels == ["c1\\n(freed)", "c2\\n(freed)"]  # pow's 2.0 is gone too
    assert len(edges) == 11


def test_to_dot_node_ids_never_collide_with_variable_names():
    v = wg.Variable([1.0], name="op1")
    c = wg.Variable([2.0, 3.0], name="c1", trainable=False)
    with wg.GradientTape() as tape:
        y = v * c  # c is an untracked constant: a node of its own, not the Variable "op1"
    nodes, edges = _parse_dot(tape.to_dot())
    assert len(nodes) == 4 and len(edges) == 3
    del y


def test_to_dot_gradients_adds_the_reverse_pass_with_edges_reversed():
    tape, *_ = _matmul_pow_tape()
    forward_nodes, forward_edges = _parse_dot(tape.to_dot())
    nodes, edges = _parse_dot(to_dot(tape, gradients=True))
    assert set(forward_nodes) <= set(nodes)
    dashed = [(a, b) for a, b, d in edges if d]
    assert len(edges) - len(dashed) == len(forward_edges)
    vjps = {_label(nodes[n]): n for n in nodes if n.startswith("vjp")}
    assert set(vjps) == {"vjp matmul", "vjp pow", "vjp multiply", "vjp reduce_sum"}
    # multiply(v3, v3): one cotangent in, two contributions to grad v3 (they add up)
    assert [b for a, b in dashed if a == vjps["vjp multiply"]] == ["grad v3", "grad v3"]
    assert ("grad v2", vjps["vjp matmul"]) in dashed
    assert (vjps["vjp matmul"], "grad W") in dashed  # no adjoint for the constant c1
    assert not any("c1" in a or "c1" in b for a, b in dashed)


def test_to_dot_gradients_stops_at_ops_without_a_gradient():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.floor(x) * 2.0
    nodes, edges = _parse_dot(to_dot(tape, gradients=True))
    assert [_label(nodes[n]) for n in nodes if n.startswith("vjp")] == ["vjp multiply"]
    del y


# -- 6. a nonzero gradient too small to matter ----------------------------------------------------


def test_a_negligible_gradient_names_the_saturated_sigmoids():
    x = wg.constant([1.0])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = wg.sigmoid(x * 10.0 - 40.0)  # about 9e-14: saturated low
        h2 = wg.sigmoid(h * 10.0 - 40.0)  # about 4e-18
        loss = wg.reduce_sum((h2 - 1.0) ** 2)
    g = float(tape.gradient(loss, x)[0])
    assert g != 0 and abs(g) < 1e-25
    msg = tape.explain(loss, x)
    assert msg.startswith("The gradient is nonzero but negligible")
    assert "float32 rounding error" in msg
    # the smallest factor first: record 6 scales it by about 4e-18, record 3 by about 9e-14
    assert re.search(r"record 6, `sigmoid` \(x4\.\de-18, saturated\), record 3, `sigmoid`", msg)


def test_a_gradient_small_only_because_the_target_is_small_is_not_flagged():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = wg.reduce_sum(x * 1e-20)
    assert "nothing to explain" in tape.explain(y, x)


def test_a_target_that_swamps_the_source_is_flagged_without_a_culprit():
    x = wg.constant(1.0)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x + 1e9  # float32's spacing near 1e9 is 64: a unit change of x is lost
    msg = tape.explain(y, x)
    assert "negligible" in msg and "no single record" in msg


def test_a_gradient_that_underflows_to_zero_is_named_as_such():
    x = wg.constant([1.0])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x
        for _ in range(60):  # each sigmoid scales the gradient by about 0.2
            y = wg.sigmoid(y) + 0.5
    assert float(tape.gradient(y, x)[0]) == 0.0
    msg = tape.explain(y, x)
    assert "underflowed to zero" in msg and "`sigmoid`" in msg and "vanishing" in msg


def test_a_multi_output_op_with_a_saved_handle_is_no_integer_cut():
    from wengert.rnn_ops import lstm_sequence

    x = wg.random.normal((5, 2, 12), seed=0)
    h0 = c0 = wg.zeros((2, 3))
    kernel = wg.random.normal((3, 12), seed=1)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        hs, h, c = lstm_sequence(x, h0, c0, kernel)  # its fourth output is an object handle
        y = wg.reduce_sum(h)
    assert tape.explain(y, x) == "The gradient is connected and nonzero: nothing to explain."
    assert "lstm_sequence(v1, const[2, 3], const[2, 3], const[3, 12], None," in str(tape)
    nodes, edges = _parse_dot(tape.to_dot())
    op = next(n for n, a in nodes.items() if "lstm_sequence" in a)
    assert _label(nodes[op]) == "lstm_sequence(v1, c1, c1, c2, None)"  # h0 is c0: one node
    assert [a for a, b, _ in edges if b == op] == ["v1", "c1", "c1", "c2"]


# -- 7. an index computed by argmax ---------------------------------------------------------------


@pytest.mark.parametrize(
    "use",
    [
        lambda i: wg.reduce_sum(wg.one_hot(i, 3)),
        lambda i: wg.reduce_sum(wg.gather(wg.constant([1.0, 2.0, 3.0]), i)),
    ],
    ids=["one_hot", "gather"],
)
def test_an_argmax_index_blames_argmax_not_numpy(use):
    x = wg.Variable([0.3, 0.9, -0.2], name="x")
    with wg.GradientTape(persistent=True) as tape:
        y = use(wg.argmax(x))
    assert tape.gradient(y, x) is None
    msg = tape.explain(y, x)
    assert msg.startswith("No recorded path")
    assert "cut at record 1: `argmax`, which has no gradient by definition" in msg
    assert "(it returns int64 values)" in msg and "as an index" in msg
    assert "np.asarray" not in msg and "NumPy" not in msg


def test_an_integer_index_is_traced_back_to_where_it_became_integer():
    x = wg.Variable([0.3, 0.9, -0.2], name="x")
    with wg.GradientTape(persistent=True) as tape:
        y = wg.reduce_sum(wg.one_hot(wg.argmax(x) + 1, 4))  # the last record is the add
    msg = tape.explain(y, x)
    assert "up to record 2, `add`, and the path is cut at record 1: `argmax`" in msg
    with wg.GradientTape(persistent=True) as tape:
        y = wg.reduce_sum(wg.one_hot(wg.cast(x, "int32"), 4))
    msg = tape.explain(y, x)
    assert "cut at record 1: `cast` turns a floating-point input into int32" in msg
    assert "np.asarray" not in msg


def test_a_float_value_that_left_through_numpy_still_gets_the_numpy_sentence():
    x = wg.Variable([0.3, 0.9], name="x")
    with wg.GradientTape(persistent=True) as tape:
        y = wg.constant(np.asarray(x * 2.0)) * 2.0
    msg = tape.explain(y, x)
    assert "up to record 1, `multiply`) went through np.asarray()" in msg and "cut" not in msg


# -- 8. a gradient that is NaN or inf -------------------------------------------------------------


def test_a_nan_gradient_names_the_record_whose_local_gradient_is_not_finite():
    z = wg.Variable([0.0, 4.0], name="z")
    with wg.GradientTape(persistent=True) as tape:
        h = z * 2.0
        y = wg.reduce_sum(wg.sqrt(h) * 0.0)  # d sqrt(h)/dh is inf at 0, times 0: NaN
    with np.errstate(all="ignore"):
        g = tape.gradient(y, z).numpy()
        msg = tape.explain(y, z)
    assert np.isnan(g[0]) and g[1] == 0.0
    assert msg.startswith("The gradient is not finite (it holds NaN)")
    assert "record 2, `sqrt`" in msg and "local gradient is not finite" in msg
    assert "passes NaN to its input 0" in msg and "nothing to explain" not in msg


def test_an_inf_gradient_from_an_infinite_value_names_the_first_record_that_made_it():
    x = wg.constant([0.0, 1.0])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with np.errstate(divide="ignore"):
            y = wg.reduce_sum(wg.exp(wg.math.log(x * 1.0)))  # log(0) = -inf, exp(-inf) = 0
    with np.errstate(all="ignore"):
        g = tape.gradient(y, x).numpy()
        msg = tape.explain(y, x)
    assert not np.isfinite(g[0])
    assert msg.startswith("The gradient is not finite")
    assert "record 2, `log`, is the first" in msg
    assert "whose output is not finite (it holds -inf)" in msg


def test_a_non_finite_gradient_no_record_explains_suggests_check_numerics():
    x = wg.constant([1e-10])
    big = np.float32(3e38)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = wg.reduce_sum(x * big + x * big)  # finite, as is each rule's result: only their
    assert np.isfinite(y.numpy())  # sum, 6e38, overflows float32
    with np.errstate(all="ignore"):
        assert np.isinf(tape.gradient(y, x).numpy()[0])
        msg = tape.explain(y, x)
    assert msg.startswith("The gradient is not finite (it holds inf)")
    assert "wg.debugging.enable_check_numerics()" in msg
    assert callable(wg.debugging.enable_check_numerics)


# -- 9. a zero gradient, along the differentiable paths only -------------------------------------


def test_a_zero_factor_is_found_on_the_differentiable_path_not_on_a_cut_one():
    x = wg.Variable([0.3, 0.9, -0.2], name="x")
    with wg.GradientTape(persistent=True) as tape:
        k = wg.cast(wg.argmax(x) + 1, "float32")  # records 1-3: this path is cut at argmax
        y = wg.reduce_sum(x * 0.0 * k) + 1.0  # record 4 is x * 0.0, record 5 multiplies by k
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 0.0, 0.0])
    msg = tape.explain(y, x)
    assert "becomes zero at record 4, `multiply`" in msg and "record 5" not in msg
