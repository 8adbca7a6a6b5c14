"""The tape as a data structure: len, iteration, printing, DOT, explain, strict mode."""

from __future__ import annotations

import re

import numpy as np
import pytest

import wengert as wg


def _chapter_tape():
    x = wg.ones((2, 2))
    with wg.GradientTape(persistent=True) as t:
        t.watch(x)
        y = wg.reduce_sum(x)
        z = wg.multiply(y, y)
    return t, x, y, z


def test_len_and_iteration():
    t, x, y, z = _chapter_tape()
    assert len(t) == 2
    records = list(t)
    assert [r.op for r in records] == ["reduce_sum", "multiply"]
    assert records[0].inputs[0] is x and records[0].output is y
    assert records[1].inputs == (y, y) and records[1].output is z
    assert records[0].params == {"axis": (0, 1), "keepdims": False}


def test_print_shows_the_wengert_list():
    t, *_ = _chapter_tape()
    text = str(t)
    lines = text.splitlines()
    assert lines[0].startswith("GradientTape(persistent=True): 2 records")
    assert re.search(r"watched\s+v1\s+\(2, 2\)\s+float32", text)
    assert re.search(
        r"1\s+v2 = reduce_sum\(v1, axis=\(0, 1\), keepdims=False\)\s+\(\)\s+float32", text
    )
    assert re.search(r"2\s+v3 = multiply\(v2, v2\)\s+\(\)\s+float32", text)


def test_print_shows_constants_inline():
    x = wg.constant(2.0)
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.sin(x) * 1.0001 + 0.1
    text = str(t)
    assert "multiply(v2, 1.0001)" in text
    assert "add(v3, 0.1)" in text
    del y


def test_saved_bytes_counts_each_array_once():
    x = wg.constant(np.zeros((10, 10), dtype=np.float32))
    with wg.GradientTape() as t:
        t.watch(x)
        y = x * x
    # x (400 bytes) saved once although used twice, plus y (400 bytes).
    assert t.saved_bytes == 800
    del y


def test_to_dot_is_valid_graphviz_text():
    t, *_ = _chapter_tape()
    dot = t.to_dot()
    assert dot.startswith("digraph tape {") and dot.rstrip().endswith("}")
    assert '"v1" -> "op1"' in dot and '"op1" -> "v2"' in dot
    assert '"op2" -> "v3"' in dot
    assert 'label="multiply(v2, v2)"' in dot
    assert dot.count("{") == dot.count("}")


def test_to_dot_parses_with_graphviz_if_available():
    graphviz = pytest.importorskip("graphviz")
    t, *_ = _chapter_tape()
    src = graphviz.Source(t.to_dot())
    assert "digraph" in src.source


# -- explain ---------------------------------------------------------------------------


def test_explain_never_watched_names_creation_site():
    x = wg.constant(1.0)  # the line explain should point at
    with wg.GradientTape() as t:
        y = x * x
    assert t.gradient(y, x) is None
    msg = t.explain(y, x)
    assert "never watched" in msg
    assert "test_tape_view.py" in msg and "tape.watch" in msg


def test_explain_integer_dtype():
    i = wg.constant([1, 2])
    with wg.GradientTape() as t:
        y = wg.cast(i, "float32") * 2.0
    assert "integer dtype int32" in t.explain(y, i)


def test_explain_no_recorded_path():
    x = wg.constant(1.0)
    w = wg.constant(2.0)
    with wg.GradientTape() as t:
        t.watch([x, w])
        y = w * w
    assert t.gradient(y, x) is None
    assert "No recorded path" in t.explain(y, x)


def test_explain_computed_before_watch():
    x = wg.constant(1.0)
    with wg.GradientTape() as t:
        y = x * x
        t.watch(x)
    msg = t.explain(y, x)
    assert "not computed while this tape recorded" in msg


def test_explain_stop_gradient():
    x = wg.constant(1.0)
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.stop_gradient(x) * 2.0
    assert t.gradient(y, x) is None
    msg = t.explain(y, x)
    assert "stop_gradient" in msg


def test_explain_stop_recording():
    x = wg.constant(1.0)
    with wg.GradientTape() as t:
        t.watch(x)
        with t.stop_recording():
            y = wg.sin(x)
        z = y + 1.0  # computed from the cut value, after recording resumed
    assert t.gradient(z, x) is None
    msg = t.explain(z, x)
    assert "stop_recording" in msg and "`sin`" in msg


def test_explain_op_without_gradient():
    x = wg.constant([1.5, 2.5])
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.floor(x) * 2.0
    assert t.gradient(y, x) is None
    msg = t.explain(y, x)
    assert "`floor`, which has no gradient" in msg


def test_explain_integer_on_path():
    x = wg.constant([1.5, 2.5])
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.cast(wg.cast(x, "int32") * 2, "float32")
    assert t.gradient(y, x) is None
    assert "integer" in t.explain(y, x)


def test_explain_works_after_non_persistent_gradient():
    x = wg.constant([1.5, 2.5])
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.floor(x) * 2.0
    assert t.gradient(y, x) is None  # frees the tape
    assert "floor" in t.explain(y, x)


def test_explain_zero_gradient_dead_relu():
    x = wg.constant([-1.0, -2.0])
    with wg.GradientTape(persistent=True) as t:
        t.watch(x)
        y = wg.reduce_sum(wg.nn.relu(x))
    g = t.gradient(y, x)
    assert np.all(g.numpy() == 0)
    msg = t.explain(y, x)
    assert "zero" in msg and "relu" in msg and "dead" in msg


def test_explain_connected_nonzero():
    x = wg.constant(1.0)
    with wg.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * 3.0
    assert "nonzero" in t.explain(y, x)


def test_explain_untrainable_variable():
    v = wg.Variable(1.0, trainable=False, name="frozen")
    with wg.GradientTape() as t:
        y = v * 2.0
    msg = t.explain(y, v)
    assert "'frozen'" in msg and "not trainable" in msg


def test_strict_mode_raises_the_explanation():
    x = wg.constant(1.0)
    with wg.GradientTape(strict=True) as t:
        y = x * x
    with pytest.raises(wg.UnconnectedGradientError, match="never watched"):
        t.gradient(y, x)


def test_strict_mode_passes_when_connected():
    x = wg.constant(2.0)
    with wg.GradientTape(strict=True) as t:
        t.watch(x)
        y = x * x
    assert t.gradient(y, x).numpy() == 4.0
