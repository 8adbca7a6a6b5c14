"""Convolutions against PyTorch: outputs and gradients for inputs and filters.

Random shapes cover strides, "SAME" / "VALID" / explicit padding, dilations,
groups (depthwise included), odd sizes and both data formats; float64 must agree
to 1e-10 and float32 to 1e-4 relative.  TensorFlow's "SAME" padding is mapped to
explicit (asymmetric) padding on the torch side, and TensorFlow's filter layout
(h, w, in/groups, out) to torch's (out, in/groups, h, w).
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import conv_ops

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(7)


def _tol(dtype):
    return {"rtol": 1e-10, "atol": 1e-10} if dtype == "float64" else {"rtol": 1e-4, "atol": 0}


def assert_close(actual, expected, dtype):
    """Elementwise agreement; float32 relative to the largest magnitude of ``expected``."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape
    if dtype == "float64":
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-10)
    else:
        scale = max(float(np.abs(expected).max()), 1e-30)
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)


def _case(rng, rank=2, depthwise=False):
    """A random convolution setting: shapes, strides, dilations, padding, groups, format
    (``depthwise``: one input channel per group, 2 to 5 groups)."""
    groups = int(rng.integers(2, 6)) if depthwise else int(rng.choice([1, 1, 2, 3]))
    cg = 1 if depthwise else int(rng.integers(1, 4))
    og = int(rng.integers(1, 4))
    spatial = tuple(int(rng.integers(3, 10)) for _ in range(rank))
    kernel = tuple(int(rng.integers(1, 4)) for _ in range(rank))
    strides = tuple(int(rng.integers(1, 4)) for _ in range(rank))
    dilations = tuple(int(rng.integers(1, 3)) for _ in range(rank))
    mode = str(rng.choice(["SAME", "VALID", "explicit"]))
    if mode == "SAME":
        pads = tuple(
            conv_ops.same_padding(s, k, st, d)
            for s, k, st, d in zip(spatial, kernel, strides, dilations)
        )
        padding = "SAME"
    elif mode == "VALID":
        pads = ((0, 0),) * rank
        padding = "VALID"
    else:
        pads = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(rank))
        padding = [list(p) for p in pads]
    fits = all(
        conv_ops.conv_output_length(s, k, st, d, p) > 0
        for s, k, st, d, p in zip(spatial, kernel, strides, dilations, pads)
    )
    if not fits:
        return _case(rng, rank, depthwise)
    return {
        "n": int(rng.integers(1, 3)),
        "spatial": spatial,
        "c": cg * groups,
        "cg": cg,
        "o": og * groups,
        "groups": groups,
        "kernel": kernel,
        "strides": strides,
        "dilations": dilations,
        "pads": pads,
        "padding": padding,
        "channels_first": bool(rng.integers(0, 2)),
    }


def _torch_pad(pads):
    """Explicit [(before, after)] per spatial axis -> F.pad's last-axis-first list."""
    out = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


def _torch_conv(x_nc, w_tf, case):
    """torch's output and gradients (NC... layout) for TF-layout filters."""
    rank = len(case["spatial"])
    perm = (rank + 1, rank) + tuple(range(rank))  # (h, w, in, out) -> (out, in, h, w)
    xt = torch.tensor(x_nc, requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(np.transpose(w_tf, perm)), requires_grad=True)
    conv = F.conv2d if rank == 2 else F.conv1d
    y = conv(
        F.pad(xt, _torch_pad(case["pads"])),
        wt,
        stride=case["strides"],
        dilation=case["dilations"],
        groups=case["groups"],
    )
    return xt, wt, y, perm


def _to_last(a):
    return np.moveaxis(a, 1, -1)


def _to_first(a):
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


@pytest.mark.parametrize("path", ["chosen", "im2col", "rows", "depthwise"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("trial", range(12))
def test_conv2d_matches_torch(dtype, trial, path, monkeypatch):
    """Every option against torch, by the method conv2d picks and by each method forced:
    im2col + GEMM, and row by row with the banded matrix (_width_toeplitz); and
    depthwise settings (one input channel per group), which run tap by tap."""
    if path in ("im2col", "rows"):
        monkeypatch.setattr(conv_ops, "_by_rows", lambda *args: path == "rows")
    rng = np.random.default_rng(100 + trial)
    case = _case(rng, depthwise=path == "depthwise")
    n, (h, w), c, o = case["n"], case["spatial"], case["c"], case["o"]
    kh, kw = case["kernel"]
    x_nc = rng.standard_normal((n, c, h, w)).astype(dtype)
    w_tf = rng.standard_normal((kh, kw, case["cg"], o)).astype(dtype)
    xt, wt, yt, perm = _torch_conv(x_nc, w_tf, case)
    g_nc = rng.standard_normal(yt.shape).astype(dtype)
    yt.backward(torch.tensor(g_nc))

    fmt = "NCHW" if case["channels_first"] else "NHWC"
    x = wg.constant(x_nc if case["channels_first"] else _to_last(x_nc))
    filters = wg.constant(w_tf)
    with wg.GradientTape() as tape:
        tape.watch([x, filters])
        y = wg.nn.conv2d(x, filters, case["strides"], case["padding"], fmt, case["dilations"])
    g = g_nc if case["channels_first"] else _to_last(g_nc)
    gx, gw = tape.gradient(y, [x, filters], output_gradients=wg.constant(g))
    back = (lambda a: a) if case["channels_first"] else _to_first
    assert y.dtype == np.dtype(dtype)
    assert_close(back(y.numpy()), yt.detach().numpy(), dtype)
    assert_close(back(gx.numpy()), xt.grad.numpy(), dtype)
    assert_close(gw.numpy(), np.transpose(wt.grad.numpy(), np.argsort(perm)), dtype)


@pytest.mark.parametrize("trial", range(6))
def test_conv1d_matches_torch(trial):
    rng = np.random.default_rng(200 + trial)
    case = _case(rng, rank=1)
    n, (w,), c, o = case["n"], case["spatial"], case["c"], case["o"]
    x_nc = rng.standard_normal((n, c, w))
    w_tf = rng.standard_normal(case["kernel"] + (case["cg"], o))
    xt, wt, yt, perm = _torch_conv(x_nc, w_tf, case)
    g_nc = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(g_nc))
    fmt = "NCW" if case["channels_first"] else "NWC"
    x = wg.constant(x_nc if case["channels_first"] else _to_last(x_nc))
    filters = wg.constant(w_tf)
    with wg.GradientTape() as tape:
        tape.watch([x, filters])
        y = wg.nn.conv1d(x, filters, case["strides"], case["padding"], fmt, case["dilations"])
    g = g_nc if case["channels_first"] else _to_last(g_nc)
    gx, gw = tape.gradient(y, [x, filters], output_gradients=wg.constant(g))
    back = (lambda a: a) if case["channels_first"] else _to_first
    assert_close(back(y.numpy()), yt.detach().numpy(), "float64")
    assert_close(back(gx.numpy()), xt.grad.numpy(), "float64")
    assert_close(gw.numpy(), np.transpose(wt.grad.numpy(), np.argsort(perm)), "float64")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_depthwise_conv2d_matches_torch_groups(dtype):
    rng = np.random.default_rng(3)
    c, m = 3, 2
    x_nc = rng.standard_normal((2, c, 7, 6)).astype(dtype)
    w_tf = rng.standard_normal((3, 2, c, m)).astype(dtype)
    # torch: groups=c, weight (c*m, 1, kh, kw) with output channel c*m + k
    wt = torch.tensor(np.ascontiguousarray(w_tf.reshape(3, 2, 1, c * m).transpose(3, 2, 0, 1)))
    wt.requires_grad_(True)
    xt = torch.tensor(x_nc, requires_grad=True)
    pads = (conv_ops.same_padding(7, 3, 2), conv_ops.same_padding(6, 2, 2))
    yt = F.conv2d(F.pad(xt, _torch_pad(pads)), wt, stride=2, groups=c)
    g_nc = rng.standard_normal(yt.shape).astype(dtype)
    yt.backward(torch.tensor(g_nc))
    x = wg.constant(_to_last(x_nc))
    filt = wg.constant(w_tf)
    with wg.GradientTape() as tape:
        tape.watch([x, filt])
        y = wg.nn.depthwise_conv2d(x, filt, strides=[1, 2, 2, 1], padding="SAME")
    gx, gw = tape.gradient(y, [x, filt], output_gradients=wg.constant(_to_last(g_nc)))
    assert_close(_to_first(y.numpy()), yt.detach().numpy(), dtype)
    assert_close(_to_first(gx.numpy()), xt.grad.numpy(), dtype)
    expected_gw = wt.grad.numpy().transpose(2, 3, 1, 0).reshape(3, 2, c, m)
    assert_close(gw.numpy(), expected_gw, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("trial", range(8))
def test_conv2d_transpose_matches_torch(dtype, trial):
    rng = np.random.default_rng(300 + trial)
    groups = 1
    cin, cout = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    dh, dw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    # torch's padding crops the full transposed convolution: keep something to crop
    ph, pw = (
        min(int(rng.integers(0, 2)), dh * (kh - 1)),
        min(int(rng.integers(0, 2)), dw * (kw - 1)),
    )
    oph, opw = int(rng.integers(0, sh)), int(rng.integers(0, sw))
    n, h, w = 2, int(rng.integers(2, 6)), int(rng.integers(2, 6))
    x_nc = rng.standard_normal((n, cin, h, w)).astype(dtype)
    w_tf = rng.standard_normal((kh, kw, cout, cin)).astype(dtype)  # (h, w, out, in)
    xt = torch.tensor(x_nc, requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(w_tf.transpose(3, 2, 0, 1)), requires_grad=True)
    yt = F.conv_transpose2d(
        xt,
        wt,
        stride=(sh, sw),
        padding=(ph, pw),
        output_padding=(oph, opw),
        groups=groups,
        dilation=(dh, dw),
    )
    g_nc = rng.standard_normal(yt.shape).astype(dtype)
    yt.backward(torch.tensor(g_nc))
    out_shape = (n,) + tuple(yt.shape[2:]) + (cout,)
    x = wg.constant(_to_last(x_nc))
    filt = wg.constant(w_tf)
    with wg.GradientTape() as tape:
        tape.watch([x, filt])
        y = wg.nn.conv2d_transpose(
            x, filt, out_shape, (sh, sw), [[ph, ph], [pw, pw]], dilations=(dh, dw)
        )
    gx, gw = tape.gradient(y, [x, filt], output_gradients=wg.constant(_to_last(g_nc)))
    assert_close(_to_first(y.numpy()), yt.detach().numpy(), dtype)
    assert_close(_to_first(gx.numpy()), xt.grad.numpy(), dtype)
    assert_close(gw.numpy(), wt.grad.numpy().transpose(2, 3, 1, 0), dtype)


def test_conv2d_transpose_nchw_and_same_output_shape():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 4, 5))
    filt = rng.standard_normal((3, 3, 2, 3))
    y = wg.nn.conv2d_transpose(x, filt, (1, 2, 8, 10), 2, "SAME", data_format="NCHW")
    assert y.shape == (1, 2, 8, 10)
    y_last = wg.nn.conv2d_transpose(np.moveaxis(x, 1, -1), filt, (1, 8, 10, 2), 2, "SAME")
    np.testing.assert_allclose(np.moveaxis(y.numpy(), 1, -1), y_last.numpy(), atol=1e-12)
    # the transpose of conv2d: <conv2d(z, f), x> == <z, conv2d_transpose(x, f)>
    z = rng.standard_normal((1, 8, 10, 2))
    lhs = np.sum(wg.nn.conv2d(z, filt, 2, "SAME").numpy() * np.moveaxis(x, 1, -1))
    assert abs(lhs - np.sum(z * y_last.numpy())) < 1e-9


def test_conv2d_same_puts_the_extra_padding_at_the_end():
    # 4 wide, kernel 2, stride 1: TensorFlow pads 0 before and 1 after.
    x = wg.reshape(wg.range(1.0, 5.0), (1, 1, 4, 1))
    y = wg.nn.conv2d(x, wg.ones((1, 2, 1, 1)), 1, "SAME")
    np.testing.assert_array_equal(y.numpy().ravel(), [3.0, 5.0, 7.0, 4.0])
    assert conv_ops.same_padding(5, 4, 1) == (1, 2)


def test_large_inputs_are_blocked_and_still_exact(monkeypatch):
    """Small im2col blocks (rows of one image, several images) give the same result."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 9, 7, 5))
    filt = rng.standard_normal((3, 3, 5, 4))
    ref = {}
    for block in (1 << 30, 600, 5000):
        monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", block)
        xt, ft = wg.constant(x), wg.constant(filt)
        with wg.GradientTape() as tape:
            tape.watch([xt, ft])
            y = wg.nn.conv2d(xt, ft, (2, 1), "SAME", dilations=(1, 2))
            loss = wg.reduce_sum(y * y)
        gx, gf = tape.gradient(loss, [xt, ft])
        got = [y.numpy(), gx.numpy(), gf.numpy()]
        if not ref:
            ref["v"] = got
        for a, b in zip(got, ref["v"]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: wg.nn.conv2d(np.ones((1, 4, 4, 2)), np.ones((5, 5, 2, 1)), 1, "VALID"), "larger"),
        (lambda: wg.nn.conv2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 3, 1)), 1, "VALID"), "divide"),
        (
            lambda: wg.nn.conv2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 1)), 0, "VALID"),
            "positive",
        ),
        (lambda: wg.nn.conv2d(np.ones((4, 4, 2)), np.ones((3, 3, 2, 1)), 1, "VALID"), "4-D"),
        (lambda: wg.nn.conv2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 2, 1)), 1, "FULL"), "padding"),
        (
            lambda: wg.nn.conv2d(
                np.ones((1, 4, 4, 2)), np.ones((1, 1, 2, 1)), [1, 2, 2, 2], "SAME"
            ),
            "batch",
        ),
        (lambda: wg.nn.conv2d(np.ones((1, 4, 4, 2)), np.ones((1, 1, 2, 1)), 1, [[1, 1]]), "pairs"),
        (lambda: wg.nn.conv1d(np.ones((1, 4, 2)), np.ones((2, 2, 1)), -1, "SAME"), "positive"),
        (lambda: wg.nn.max_pool2d(np.ones((1, 3, 3, 1)), 4, 1, "VALID"), "larger"),
        (lambda: wg.nn.avg_pool2d(np.ones((1, 3, 3, 1)), 2, 0, "VALID"), "positive"),
        (
            lambda: wg.nn.conv2d_transpose(
                np.ones((1, 2, 2, 1)), np.ones((2, 2, 1, 1)), (1, 9, 9, 1), 2
            ),
            "inconsistent",
        ),
    ],
)
def test_bad_arguments_raise_value_errors_naming_the_op(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_integer_inputs_are_refused():
    with pytest.raises(TypeError, match="floating point"):
        wg.nn.conv2d(np.ones((1, 3, 3, 1), "int32"), np.ones((1, 1, 1, 1), "int32"), 1, "SAME")


@pytest.mark.parametrize("by_rows", [False, True])
def test_columns_kept_for_the_filter_gradient_are_used_once_and_safely(by_rows, monkeypatch):
    """The forward pass's im2col columns (or input rows) serve the filter gradient; a second
    gradient of a persistent tape, two convolutions of one input and a long chain all
    recompute exactly."""
    monkeypatch.setattr(conv_ops, "_by_rows", lambda *args: by_rows)
    rng = np.random.default_rng(12)
    x = wg.constant(rng.standard_normal((2, 6, 5, 3)))
    f1 = wg.constant(rng.standard_normal((3, 3, 3, 4)))
    f2 = wg.constant(rng.standard_normal((3, 3, 3, 4)))
    with wg.GradientTape(persistent=True) as tape:
        tape.watch([x, f1, f2])
        h = wg.nn.conv2d(x, f1, 1, "SAME") * wg.nn.conv2d(x, f2, 1, "SAME")
        for _ in range(4):  # more convolutions than kept columns
            h = wg.nn.conv2d(h[..., :3], f1, 1, "SAME")
        loss = wg.reduce_sum(h * h)
    first = [g.numpy() for g in tape.gradient(loss, [x, f1, f2])]
    second = [g.numpy() for g in tape.gradient(loss, [x, f1, f2])]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # the same computation with nothing kept (each filter gradient forms its own columns)
    keep = conv_ops._cacheable
    try:
        conv_ops._cacheable = lambda *args: False
        with wg.GradientTape() as tape:
            tape.watch([x, f1, f2])
            h = wg.nn.conv2d(x, f1, 1, "SAME") * wg.nn.conv2d(x, f2, 1, "SAME")
            for _ in range(4):
                h = wg.nn.conv2d(h[..., :3], f1, 1, "SAME")
            loss = wg.reduce_sum(h * h)
        fresh = [g.numpy() for g in tape.gradient(loss, [x, f1, f2])]
    finally:
        conv_ops._cacheable = keep
    for a, b in zip(first, fresh):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_full_explicit_padding_lists_follow_the_data_format():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3, 7))  # NCW
    filt = rng.standard_normal((3, 3, 2))
    a = wg.nn.conv1d(x, filt, 1, [[0, 0], [0, 0], [2, 1]], data_format="NCW").numpy()
    b = wg.nn.conv1d(np.moveaxis(x, 1, -1), filt, 1, [[2, 1]]).numpy()
    np.testing.assert_allclose(a, np.moveaxis(b, -1, 1), atol=1e-12)
    x4 = rng.standard_normal((1, 2, 5, 4))  # NCHW
    pads = [[0, 0], [0, 0], [1, 0], [0, 2]]
    c = wg.nn.max_pool2d(x4, 2, 1, pads, data_format="NCHW").numpy()
    d = wg.nn.max_pool2d(np.moveaxis(x4, 1, -1), 2, 1, [[1, 0], [0, 2]]).numpy()
    np.testing.assert_array_equal(c, np.moveaxis(d, -1, 1))


def test_filter_gradient_with_a_long_reduction_is_chunked_and_exact():
    # rows = 4 * 64 * 80 = 20480 > 4 * _LONG_K_ROWS, and k * o small: the chunked GEMM
    rng = np.random.default_rng(21)
    x = rng.standard_normal((4, 64, 80, 1))
    g = rng.standard_normal((4, 64, 80, 2))
    assert 4 * 64 * 80 > 4 * conv_ops._LONG_K_ROWS
    got = conv_ops._conv2d_filter_grad_impl(x, g, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
    xpad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.empty((3, 3, 1, 2))
    for i in range(3):
        for j in range(3):
            want[i, j] = np.einsum("nhwc,nhwo->co", xpad[:, i : i + 64, j : j + 80], g)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-10)
