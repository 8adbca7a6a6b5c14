"""GradientTape semantics, as TensorFlow 2 defines them, and the chapter's examples."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

import wengert as wg


def test_chapter_example_intermediate_value():
    # The chapter's first example, with wg for tf and its typos fixed.
    x = wg.ones((2, 2))
    with wg.GradientTape() as t:
        t.watch(x)
        y = wg.reduce_sum(x)
        z = wg.multiply(y, y)
    # use the tape to compute the derivative of z with respect to the
    # intermediate value y.
    dz_dy = t.gradient(z, y)
    # note that the resulting derivative, 2*y, = sum(x)*2 = 8
    assert dz_dy.numpy() == 8.0


def test_chapter_example_persistent():
    x = wg.constant(3.0)
    with wg.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * y
    dz_dx = t.gradient(z, x)  # 108.0 (4*x^3 at x = 3)
    dy_dx = t.gradient(y, x)  # 6.0
    assert dz_dx.numpy() == 108.0
    assert dy_dx.numpy() == 6.0
    del t


def test_only_watched_inputs_are_recorded():
    x = wg.constant(2.0)
    c = wg.constant(5.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        a = c * c  # no watched input: not recorded
        b = x * c
    assert len(tape) == 1
    assert tape.gradient(b, x).numpy() == 5.0
    del a


def test_unwatched_constant_gives_none():
    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None


def test_trainable_variables_watched_on_read():
    v = wg.Variable(3.0)
    frozen = wg.Variable(2.0, trainable=False)
    with wg.GradientTape() as tape:
        y = v * v * frozen
    assert tape.watched_variables() == (v,)
    gv, gf = tape.gradient(y, [v, frozen])
    assert gv.numpy() == 12.0
    assert gf is None


def test_watch_accessed_variables_false():
    v = wg.Variable(3.0)
    w = wg.Variable(4.0)
    with wg.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(w)
        y = v * w
    assert tape.watched_variables() == (w,)
    gv, gw = tape.gradient(y, [v, w])
    assert gv is None
    assert gw.numpy() == 3.0


def test_watch_nested_structures_and_sources_structure():
    a = wg.constant(1.0)
    b = wg.constant([1.0, 2.0])
    c = wg.constant(3.0)
    with wg.GradientTape() as tape:
        tape.watch({"a": a, "bc": [b, (c,)]})
        y = a * 2.0 + wg.reduce_sum(b * b) + c * c * c
    grads = tape.gradient(y, {"first": a, "rest": [b, (c,)]})
    assert set(grads) == {"first", "rest"}
    assert grads["first"].numpy() == 2.0
    np.testing.assert_allclose(grads["rest"][0].numpy(), [2.0, 4.0])
    assert isinstance(grads["rest"][1], tuple)
    assert grads["rest"][1][0].numpy() == 27.0


def test_list_target_is_summed():
    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y1 = x * x
        y2 = x * 3.0
    assert tape.gradient([y1, y2], x).numpy() == 7.0


def test_output_gradients():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=wg.constant([10.0, 100.0]))
    np.testing.assert_allclose(g.numpy(), [20.0, 400.0])


def test_unconnected_gradients_zero_and_none():
    x = wg.constant([1.0, 2.0])
    z = wg.constant(1.0)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        y = wg.reduce_sum(x)
    assert tape.gradient(y, z) is None
    assert tape.gradient(y, z, unconnected_gradients="none") is None
    g = tape.gradient(y, z, unconnected_gradients=wg.UnconnectedGradients.ZERO)
    assert g.numpy() == 0.0 and g.dtype == np.float32
    g = tape.gradient(y, z, unconnected_gradients="zero")
    assert g.numpy() == 0.0


def test_bad_unconnected_gradients_is_value_error():
    x = wg.constant(1.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, x, unconnected_gradients="nonsense")


def test_target_none_is_type_error():
    x = wg.constant(1.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
    with pytest.raises(TypeError, match="received None"):
        tape.gradient(None, x)


def test_non_persistent_second_call_raises_and_frees():
    x = wg.constant(np.ones((100, 100), dtype=np.float32))
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.reduce_sum(wg.sin(x) * x)
    assert tape.saved_bytes > 0
    tape.gradient(y, x)
    assert tape.saved_bytes == 0
    for r in tape:
        assert r.inputs is None and r.output is None
    with pytest.raises(
        RuntimeError,
        match=(
            "A non-persistent GradientTape can only be used to compute one set of gradients "
            r"\(or jacobians\)"
        ),
    ):
        tape.gradient(y, x)


def test_non_persistent_tape_frees_arrays():
    # The arrays the tape saved are released after gradient(): drop our own
    # references and the memory is gone (weakref on the saved tensor's array).
    import weakref

    x = wg.constant(np.ones((10,), dtype=np.float32))
    with wg.GradientTape() as tape:
        tape.watch(x)
        h = wg.sin(x)
        y = wg.reduce_sum(h * h)
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is not None  # still held by the tape's records
    tape.gradient(y, x)
    gc.collect()
    assert ref() is None


def test_persistent_allows_many_calls():
    x = wg.constant(2.0)
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x**3
    for _ in range(3):
        assert tape.gradient(y, x).numpy() == 12.0


def test_gradient_inside_context_non_persistent_stops_recording():
    # TensorFlow pops a non-persistent tape when gradient() is called inside it.
    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        g = tape.gradient(y, x)
        z = x * 5.0  # not recorded any more
        assert len(tape) == 1
    assert g.numpy() == 4.0
    with pytest.raises(RuntimeError):
        tape.gradient(z, x)


def test_gradient_inside_persistent_context_records_the_backward_pass():
    # TensorFlow's example: the gradient computed inside a persistent tape is
    # itself recorded, so the same tape gives the second derivative.
    x = wg.Variable(4.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with wg.GradientTape(persistent=True) as tape:
            y = x**3
            dy_dx = tape.gradient(y, x)
            dy_dx_2 = tape.gradient(dy_dx, x)
    assert dy_dx.numpy() == 48.0
    assert dy_dx_2.numpy() == 24.0
    assert any("inside its context" in str(w.message) for w in caught)


def test_stop_recording():
    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        with tape.stop_recording():
            z = y * 3.0
        w = y * 4.0
    assert len(tape) == 2
    assert tape.gradient([z, w], x).numpy() == 16.0  # z contributes nothing
    with pytest.raises(ValueError):
        with tape.stop_recording():
            pass


def test_reset():
    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        tape.reset()
        tape.watch(x)
        z = x * 3.0
    assert len(tape) == 1
    assert tape.gradient(z, x).numpy() == 3.0
    del y


def test_integer_sources_warn_and_give_none():
    i = wg.constant([1, 2])
    with pytest.warns(UserWarning, match="must be floating"):
        with wg.GradientTape() as tape:
            tape.watch(i)
            y = wg.cast(i, "float32") * 2.0
    assert tape.gradient(y, i) is None


def test_integer_path_cuts_the_gradient():
    x = wg.constant([1.5, 2.5])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.cast(wg.cast(x, "int32"), "float32") * 2.0
    assert tape.gradient(y, x) is None


def test_non_differentiable_ops_give_none():
    x = wg.constant([1.5, -2.5])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        f = wg.floor(x)
        s = wg.stop_gradient(x) * x
        a = wg.cast(wg.argmax(x), "float32")
    assert tape.gradient(f, x) is None
    np.testing.assert_allclose(tape.gradient(s, x).numpy(), [1.5, -2.5])
    assert tape.gradient(a, x) is None


def test_op_without_gradient_raises_lookup_error_naming_it():
    from wengert.core import apply, primitive

    mystery = primitive("mystery_op", lambda x: x * 2)
    x = wg.constant(1.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = apply(mystery, (x,)) + 1.0
    with pytest.raises(LookupError, match="mystery_op"):
        tape.gradient(y, x)


def test_gradient_wrt_intermediate_and_leaf_together():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.reduce_sum(x)
        z = y * y
    gy, gx = tape.gradient(z, [y, x])
    assert gy.numpy() == 6.0
    np.testing.assert_allclose(gx.numpy(), [6.0, 6.0])


def test_gradient_of_a_source_with_respect_to_itself():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_allclose(tape.gradient(x, x).numpy(), [1.0, 1.0])


def test_jacobian_and_batch_jacobian():
    x = wg.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with wg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = wg.sin(x) * wg.reduce_sum(x, axis=1, keepdims=True)
    jac = tape.jacobian(y, x)
    assert jac.shape == (2, 3, 2, 3)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (2, 3, 3)
    xs = x.numpy().astype(np.float64)
    s = xs.sum(axis=1, keepdims=True)
    for b in range(2):
        expected = np.diag(np.cos(xs[b]) * s[b, 0]) + np.sin(xs[b])[:, None]
        np.testing.assert_allclose(bj.numpy()[b], expected, rtol=1e-5)
        np.testing.assert_allclose(jac.numpy()[b, :, b, :], expected, rtol=1e-5)
        np.testing.assert_allclose(jac.numpy()[b, :, 1 - b, :], 0.0)


def test_jacobian_on_non_persistent_tape_once():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), np.diag([2.0, 4.0]))
    with pytest.raises(RuntimeError):
        tape.jacobian(y, x)


def test_nested_tapes_give_higher_derivatives():
    x = wg.constant(0.7, dtype="float64")
    with wg.GradientTape() as t3:
        t3.watch(x)
        with wg.GradientTape() as t2:
            t2.watch(x)
            with wg.GradientTape() as t1:
                t1.watch(x)
                y = wg.sin(x) * x
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    xv = 0.7
    assert np.isclose(d1.numpy(), np.cos(xv) * xv + np.sin(xv))
    assert np.isclose(d2.numpy(), -np.sin(xv) * xv + 2 * np.cos(xv))
    assert np.isclose(d3.numpy(), -np.cos(xv) * xv - 3 * np.sin(xv))


def test_fourth_derivative_by_grad_nesting():
    f = lambda x: x**5  # noqa: E731
    d4 = wg.grad(wg.grad(wg.grad(wg.grad(f))))
    assert np.isclose(float(d4(wg.constant(2.0, dtype="float64"))), 5 * 4 * 3 * 2 * 2.0)


def test_custom_gradient():
    @wg.custom_gradient
    def log1pexp(x):
        e = wg.exp(x)

        def grad(upstream):
            return upstream * (1 - 1 / (1 + e))

        return wg.math.log(1 + e), grad

    x = wg.constant(100.0, dtype="float64")
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    assert tape.gradient(y, x).numpy() == 1.0  # the naive gradient would be NaN


def test_custom_gradient_second_order_uses_grad_fn_ops():
    @wg.custom_gradient
    def cube(x):
        def grad(upstream):
            return upstream * 3.0 * x * x

        return x * x * x, grad

    x = wg.constant(2.0, dtype="float64")
    with wg.GradientTape() as outer:
        outer.watch(x)
        with wg.GradientTape() as inner:
            inner.watch(x)
            y = cube(x)
        g = inner.gradient(y, x)
    assert g.numpy() == 12.0
    assert outer.gradient(g, x).numpy() == 12.0


def test_custom_gradient_with_variables():
    w = wg.Variable(3.0)

    @wg.custom_gradient
    def scaled(x):
        def grad(upstream, variables=None):
            return upstream * w, [upstream * x * 10.0]  # deliberately not the true gradient

        return x * w, grad

    x = wg.constant(2.0)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = scaled(x)
    gx, gw = tape.gradient(y, [x, w])
    assert gx.numpy() == 3.0
    assert gw.numpy() == 20.0


def test_custom_gradient_multiple_inputs_and_outputs():
    @wg.custom_gradient
    def both(x, y):
        def grad(dp, ds):
            return dp * y + ds, dp * x + ds

        return (x * y, x + y), grad

    x = wg.constant(2.0)
    y = wg.constant(5.0)
    with wg.GradientTape() as tape:
        tape.watch([x, y])
        p, s = both(x, y)
        out = p * 2.0 + s
    gx, gy = tape.gradient(out, [x, y])
    assert gx.numpy() == 11.0 and gy.numpy() == 5.0


def test_saved_arrays_cannot_be_changed_silently():
    # Tensors own private arrays: a user cannot write into what the tape saved.
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    view = np.asarray(x)
    with pytest.raises(ValueError, match="read-only"):
        view[0] = 100.0
    copy = x.numpy()
    copy[0] = 100.0
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0])


def test_constant_copies_user_arrays():
    a = np.array([1.0, 2.0], dtype=np.float32)
    x = wg.constant(a)
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    a[0] = 100.0  # the user's own array stays theirs
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0])


def test_variable_assign_does_not_corrupt_saved_values():
    v = wg.Variable([1.0, 2.0])
    with wg.GradientTape() as tape:
        y = wg.reduce_sum(v * v)
    v.assign([10.0, 20.0])
    v.assign_add([1.0, 1.0])
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [2.0, 4.0])


def test_saved_arrays_are_read_only_through_records():
    x = wg.constant([1.0, 2.0])
    with wg.GradientTape() as tape:
        tape.watch(x)
        y = wg.sin(x)
    record = next(iter(tape))
    for t in (*record.inputs, record.output):
        with pytest.raises(ValueError):
            np.asarray(t)[0] = 5.0
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.cos([1.0, 2.0]), rtol=1e-6)


def test_variable_as_source_accumulates_over_reads():
    v = wg.Variable(2.0)
    with wg.GradientTape() as tape:
        a = v * 3.0
        b = v * v
        y = a + b
    assert tape.gradient(y, v).numpy() == 7.0


def test_tape_reentry_for_persistent():
    x = wg.constant(2.0)
    tape = wg.GradientTape(persistent=True)
    with tape:
        tape.watch(x)
        y = x * x
    with tape:
        z = y * x
    assert tape.gradient(z, x).numpy() == 12.0


def test_broadcast_gradients_sum_to_input_shape():
    b = wg.constant([1.0, 2.0, 3.0])
    m = wg.constant(np.ones((4, 3), dtype=np.float32))
    with wg.GradientTape() as tape:
        tape.watch([b, m])
        y = wg.reduce_sum(m * b + b)
    gb, gm = tape.gradient(y, [b, m])
    np.testing.assert_allclose(gb.numpy(), [8.0, 8.0, 8.0])
    np.testing.assert_allclose(gm.numpy(), np.tile([1.0, 2.0, 3.0], (4, 1)))


def test_stable_forms_at_large_magnitude():
    for dtype in ("float32", "float64"):
        x = wg.constant([1e4, -1e4], dtype=dtype)
        with wg.GradientTape(persistent=True) as tape:
            tape.watch(x)
            outs = [
                wg.sigmoid(x),
                wg.nn.softplus(x),
                wg.reduce_logsumexp(x),
                wg.nn.log_softmax(x),
                wg.math.log_sigmoid(x),
            ]
        for out in outs:
            assert np.all(np.isfinite(out.numpy())), out
            g = tape.gradient(out, x)
            assert np.all(np.isfinite(g.numpy())), (out, g)
        np.testing.assert_allclose(tape.gradient(outs[1], x).numpy(), [1.0, 0.0], atol=1e-30)
        np.testing.assert_allclose(tape.gradient(outs[2], x).numpy(), [1.0, 0.0], atol=1e-30)
