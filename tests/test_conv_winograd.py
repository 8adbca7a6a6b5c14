"""Winograd F(4x4, 3x3) convolutions (conv_ops._winograd_*).

The algebra is checked exactly: forced on float64, the forward pass and both gradients
must equal im2col's to 1e-12 for every padding, odd sizes, blocks of whole images and
of tile rows, with and without the transformed tiles kept for the filter gradient.  In
float32, where conv2d picks it by itself, it must agree with PyTorch (float64) to 1e-4
of the output's scale, and a spy proves that the Winograd path actually ran.
"""

from __future__ import annotations

import numpy as np
import pytest

import wengert as wg
from wengert import conv_ops

RNG = np.random.default_rng(2027)


def _conv_and_grads(x, w, padding, g):
    """conv2d's output and its gradients in x and w, through the public op and a tape."""
    xt, wt = wg.constant(x), wg.constant(w)
    with wg.GradientTape() as tape:
        tape.watch([xt, wt])
        y = wg.nn.conv2d(xt, wt, 1, padding)
    gx, gw = tape.gradient(y, [xt, wt], output_gradients=wg.constant(g))
    return [y.numpy(), gx.numpy(), gw.numpy()]


def _spy(monkeypatch):
    """Count the Winograd forward passes, filter gradients and fused backward passes."""
    calls = {"conv": 0, "filter": 0, "backward": 0}

    def counter(key, real):
        def counted(*args):
            calls[key] += 1
            return real(*args)

        return counted

    for key in calls:
        name = {"conv": "_winograd_conv", "filter": "_winograd_filter_grad"}.get(
            key, "_winograd_backward"
        )
        monkeypatch.setattr(conv_ops, name, counter(key, getattr(conv_ops, name)))
    return calls


def _force_winograd(monkeypatch, on: bool):
    """Winograd for every 3x3 stride-1 convolution, float64 and few channels included (on;
    the banded-matrix path for few channels would come first), or never."""
    if on:
        monkeypatch.setattr(conv_ops, "_by_rows", lambda *args: False)
    monkeypatch.setattr(conv_ops, "_winograd_ok", _ok_any_size if on else lambda *a: False)
    monkeypatch.setattr(conv_ops, "_winograd_dtypes", {np.dtype("float32"), np.dtype("float64")})


def _ok_any_size(n, ho, wo, w_shape, strides, dilations, groups, dtype):
    return w_shape[:2] == (3, 3) and strides == (1, 1) and dilations == (1, 1) and groups == 1


CASES = [
    # (input shape, output channels, padding); at least 8 channels, so that the input
    # gradient too is a stride-1 convolution (with fewer it accumulates channels-first)
    ((2, 8, 8, 8), 5, "SAME"),  # whole tiles
    ((1, 9, 11, 9), 8, "SAME"),  # the last tiles reach past the output
    ((3, 7, 6, 8), 9, "VALID"),
    ((2, 5, 13, 10), 8, [[0, 2], [1, 0]]),  # asymmetric explicit padding
    ((1, 6, 6, 8), 8, [[2, 2], [2, 2]]),  # padding as wide as the kernel: full convolution
    ((2, 3, 3, 8), 8, [[0, 0], [0, 0]]),  # one output pixel
    ((1, 4, 21, 8), 10, [[1, 2], [0, 1]]),
]


@pytest.mark.parametrize("shape, o, padding", CASES)
@pytest.mark.parametrize("block_bytes", [1 << 30, 20000, 500])
def test_winograd_equals_im2col_exactly_in_float64(shape, o, padding, block_bytes, monkeypatch):
    """Blocks of several images, of one image, and of single tile rows all give im2col's
    forward pass and gradients to 1e-12 (so the tile bookkeeping is exact)."""
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal((3, 3, shape[3], o))
    y_shape = wg.nn.conv2d(x, w, 1, padding).shape
    g = RNG.standard_normal(y_shape)
    _force_winograd(monkeypatch, False)
    want = _conv_and_grads(x, w, padding, g)
    _force_winograd(monkeypatch, True)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_BLOCK_BYTES", block_bytes)
    calls = _spy(monkeypatch)
    got = _conv_and_grads(x, w, padding, g)
    # the forward pass by Winograd, both gradients by its fused backward pass
    assert calls == {"conv": 1, "filter": 0, "backward": 1}
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_filter_gradient_without_kept_tiles_recomputes_them_exactly(monkeypatch):
    """With nothing kept (too large for the cache) the filter gradient forms its own tiles."""
    x = RNG.standard_normal((2, 9, 10, 3))
    w = RNG.standard_normal((3, 3, 3, 4))
    g = RNG.standard_normal((2, 9, 10, 4))
    _force_winograd(monkeypatch, True)
    kept = _conv_and_grads(x, w, "SAME", g)
    monkeypatch.setattr(conv_ops, "_WINOGRAD_CACHE_BYTES", 0)
    fresh = _conv_and_grads(x, w, "SAME", g)
    _force_winograd(monkeypatch, False)
    want = _conv_and_grads(x, w, "SAME", g)
    for a, b, c in zip(kept, fresh, want):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, c, rtol=1e-12, atol=1e-12)


def test_kept_tiles_serve_each_gradient_once_and_persistent_tapes_recompute(monkeypatch):
    """Two convolutions of one input, a chain longer than the cache, and a second gradient
    of a persistent tape give the same numbers as im2col."""
    _force_winograd(monkeypatch, True)
    x = wg.constant(RNG.standard_normal((2, 6, 7, 3)))
    f1 = wg.constant(RNG.standard_normal((3, 3, 3, 3)))
    f2 = wg.constant(RNG.standard_normal((3, 3, 3, 3)))

    def run():
        with wg.GradientTape(persistent=True) as tape:
            tape.watch([x, f1, f2])
            h = wg.nn.conv2d(x, f1, 1, "SAME") * wg.nn.conv2d(x, f2, 1, "SAME")
            for _ in range(4):
                h = wg.nn.conv2d(h, f1, 1, "SAME")
            loss = wg.reduce_sum(h * h)
        first = [t.numpy() for t in tape.gradient(loss, [x, f1, f2])]
        second = [t.numpy() for t in tape.gradient(loss, [x, f1, f2])]
        return first, second

    first, second = run()
    _force_winograd(monkeypatch, False)
    want, _ = run()
    for a, b, c in zip(first, second, want):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(a, b)


def test_second_order_gradients_through_winograd(monkeypatch):
    """The conv primitives' VJPs are convolutions themselves: a Hessian-vector product
    through Winograd equals im2col's."""
    x0 = RNG.standard_normal((1, 6, 6, 2))
    w0 = RNG.standard_normal((3, 3, 2, 2))

    def hvp():
        x, w = wg.constant(x0), wg.constant(w0)
        with wg.GradientTape() as outer:
            outer.watch(w)
            with wg.GradientTape() as inner:
                inner.watch(w)
                loss = wg.reduce_sum(wg.tanh(wg.nn.conv2d(x, w, 1, "SAME")))
            gw = inner.gradient(loss, w)
            dot = wg.reduce_sum(gw * wg.constant(np.ones_like(w0)))
        return outer.gradient(dot, w).numpy()

    _force_winograd(monkeypatch, True)
    got = hvp()
    _force_winograd(monkeypatch, False)
    np.testing.assert_allclose(got, hvp(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "shape, o, padding",
    [((4, 16, 16, 32), 32, "SAME"), ((4, 13, 10, 48), 16, "VALID"), ((3, 12, 9, 32), 40, "SAME")],
)
def test_float32_picks_winograd_and_matches_torch(shape, o, padding, monkeypatch):
    """Where conv2d chooses Winograd by itself (float32, enough channels and tiles), its
    output and gradients agree with torch's float64 ones to 1e-4 of their scale."""
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal(shape).astype("float32")
    w = (RNG.standard_normal((3, 3, shape[3], o)) / np.sqrt(9 * shape[3])).astype("float32")
    pads = [1, 1] if padding == "SAME" else [0, 0]
    xt = torch.tensor(x.transpose(0, 3, 1, 2).astype("float64"), requires_grad=True)
    wt = torch.tensor(w.transpose(3, 2, 0, 1).astype("float64"), requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, padding=pads[0])
    g = RNG.standard_normal(yt.shape).astype("float32")
    yt.backward(torch.tensor(g.astype("float64")))
    calls = _spy(monkeypatch)
    got = _conv_and_grads(x, w, padding, g.transpose(0, 2, 3, 1))
    assert calls == {"conv": 1, "filter": 0, "backward": 1}
    want = [
        yt.detach().numpy().transpose(0, 2, 3, 1),
        xt.grad.numpy().transpose(0, 2, 3, 1),
        wt.grad.numpy().transpose(2, 3, 1, 0),
    ]
    for a, b in zip(got, want):
        assert a.dtype == np.float32
        scale = float(np.abs(b).max())
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize(
    "dtype, shape, o, kernel, strides, expected",
    [
        ("float32", (4, 16, 16, 32), 32, 3, 1, True),
        ("float64", (4, 16, 16, 32), 32, 3, 1, False),  # float64 keeps im2col's exact sums
        ("float32", (4, 16, 16, 16), 32, 3, 1, False),  # too few input channels
        ("float32", (1, 4, 4, 256), 256, 3, 1, False),  # too few tiles for its filters
        ("float32", (4, 16, 16, 32), 32, 5, 1, False),
        ("float32", (4, 16, 16, 32), 32, 3, 2, False),
    ],
)
def test_winograd_runs_only_where_it_is_faster_and_exact_enough(
    dtype, shape, o, kernel, strides, expected, monkeypatch
):
    calls = _spy(monkeypatch)
    x = np.ones(shape, dtype)
    wg.nn.conv2d(x, np.ones((kernel, kernel, shape[3], o), dtype), strides, "SAME")
    assert (calls["conv"] == 1) is expected


def test_conv2d_layer_trains_the_same_on_winograd(monkeypatch):
    """A Conv2D layer with bias (its fused conv2d_bias primitive): the input's gradient
    and one SGD step agree either way."""
    x = RNG.standard_normal((4, 12, 12, 32)).astype("float32")
    results = []
    for on in (True, False):
        if not on:
            _force_winograd(monkeypatch, False)
        calls = _spy(monkeypatch)
        wg.random.set_seed(3)
        layer = wg.layers.Conv2D(32, 3, padding="same", activation="relu")
        opt = wg.optimizers.SGD(0.1)
        xt = wg.constant(x)
        with wg.GradientTape() as tape:
            tape.watch(xt)
            loss = wg.reduce_mean(wg.square(layer(xt)))
        gx, *grads = tape.gradient(loss, [xt] + layer.trainable_weights)
        opt.apply_gradients(zip(grads, layer.trainable_weights))
        assert calls == {"conv": int(on), "filter": 0, "backward": int(on)}
        results.append([gx.numpy()] + [v.numpy() for v in layer.trainable_weights])
    for a, b in zip(*results):
        scale = float(np.abs(b).max())
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * scale)


def test_use_winograd_false_switches_it_off(monkeypatch):
    calls = _spy(monkeypatch)
    x, w = np.ones((4, 16, 16, 32), "float32"), np.ones((3, 3, 32, 32), "float32")
    monkeypatch.setattr(conv_ops, "use_winograd", False)
    wg.nn.conv2d(x, w, 1, "SAME")
    assert calls["conv"] == 0
    monkeypatch.setattr(conv_ops, "use_winograd", True)
    wg.nn.conv2d(x, w, 1, "SAME")
    assert calls["conv"] == 1


@pytest.mark.parametrize("watched", ["x", "w", "b", "xw", "wb", "xb"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_fused_backward_computes_only_the_gradients_asked_for(watched, padding, monkeypatch):
    """The reverse pass tells the fused rule which arguments need gradients: any subset
    of input, filters and bias comes out equal to im2col's, and the fused pass runs once."""
    x = RNG.standard_normal((2, 9, 7, 8))
    w = RNG.standard_normal((3, 3, 8, 6))
    b = RNG.standard_normal(6)

    def grads():
        ts = {"x": wg.constant(x), "w": wg.constant(w), "b": wg.constant(b)}
        with wg.GradientTape() as tape:
            tape.watch([ts[k] for k in watched])
            y = wg.nn.conv2d(ts["x"], ts["w"], 1, padding, bias=ts["b"])
            loss = wg.reduce_sum(wg.sin(y))
        return [t.numpy() for t in tape.gradient(loss, [ts[k] for k in watched])]

    _force_winograd(monkeypatch, False)
    want = grads()
    _force_winograd(monkeypatch, True)
    calls = _spy(monkeypatch)
    got = grads()
    assert calls["backward"] == 1 and calls["filter"] == 0
    for a, c in zip(got, want):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


def test_watched_backward_pass_uses_the_rules_that_record(monkeypatch):
    """With a tape recording the backward pass, the per-argument rules run (their ops are
    on that tape), and give the same first derivatives."""
    x = RNG.standard_normal((1, 8, 8, 8))
    w = RNG.standard_normal((3, 3, 8, 8))
    _force_winograd(monkeypatch, True)
    calls = _spy(monkeypatch)
    xt, wt = wg.constant(x), wg.constant(w)
    with wg.GradientTape() as outer:
        outer.watch(wt)
        with wg.GradientTape() as inner:
            inner.watch([xt, wt])
            loss = wg.reduce_sum(wg.nn.conv2d(xt, wt, 1, "SAME") ** 2)
        gx, gw = inner.gradient(loss, [xt, wt])
    assert calls["backward"] == 0 and calls["filter"] == 1
    _force_winograd(monkeypatch, False)
    want = _conv_and_grads(x, w, "SAME", 2 * wg.nn.conv2d(x, w, 1, "SAME").numpy())
    np.testing.assert_allclose(gx.numpy(), want[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.numpy(), want[2], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("trial", range(8))
def test_random_paddings_and_strided_inputs_match_im2col(trial, monkeypatch):
    """Explicit paddings up to 4 on each side, and inputs that are views (NCHW, a channel
    slice, every other row, reversed columns), against im2col in float64."""
    rng = np.random.default_rng(300 + trial)
    n, h, w_, c, o = (int(v) for v in rng.integers([1, 1, 1, 8, 1], [3, 12, 12, 12, 9]))
    pads = [[int(p) for p in rng.integers(0, 5, 2)] for _ in range(2)]
    if h + sum(pads[0]) < 3 or w_ + sum(pads[1]) < 3:
        pads = [[2, 2], [2, 2]]
    base = rng.standard_normal((n, 2 * h, w_, c + 3))
    view = [
        base[:, :h, :, :c],
        base[:, ::2, :, 3:],
        base[:, :h, ::-1, :c],
        np.moveaxis(np.ascontiguousarray(np.moveaxis(base[:, :h, :, :c], -1, 1)), 1, -1),
    ][trial % 4]
    x = wg.constant(view)
    filt = rng.standard_normal((3, 3, c, o))
    y_shape = wg.nn.conv2d(x, filt, 1, pads).shape
    g = rng.standard_normal(y_shape)
    _force_winograd(monkeypatch, False)
    want = _conv_and_grads(x.numpy(), filt, pads, g)
    _force_winograd(monkeypatch, True)
    got = _conv_and_grads(view, filt, pads, g)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("watch", ["x", "w", "nothing"])
def test_tiles_are_kept_only_when_the_filters_are_differentiated(watch, monkeypatch):
    """Inference under a tape, or a tape that watches only the input, keeps nothing: the
    forward pass's tiles would never be used, and hold memory."""
    _force_winograd(monkeypatch, True)
    conv_ops._column_cache().clear()
    x = wg.constant(RNG.standard_normal((2, 8, 8, 8)))
    w = wg.constant(RNG.standard_normal((3, 3, 8, 8)))
    with wg.GradientTape() as tape:
        if watch != "nothing":
            tape.watch(x if watch == "x" else w)
        wg.nn.conv2d(x, w, 1, "SAME")
        kept = [entry[1][0] for entry in conv_ops._column_cache()]
    assert kept == (["winograd"] if watch == "w" else [])
    conv_ops._column_cache().clear()


def test_layer_keeps_tiles_only_for_a_tape_that_reads_its_kernel(monkeypatch):
    """A tape that watches the variables it reads (the default) will differentiate the
    kernel: tiles kept; one told not to, watching only the input: nothing kept."""
    _force_winograd(monkeypatch, True)
    layer = wg.layers.Conv2D(8, 3, padding="same")
    x = wg.constant(RNG.standard_normal((2, 8, 8, 8)).astype("float32"))
    for accessed, expected in ((False, []), (True, ["winograd"])):
        conv_ops._column_cache().clear()
        with wg.GradientTape(watch_accessed_variables=accessed) as tape:
            tape.watch(x)
            layer(x)
            assert [entry[1][0] for entry in conv_ops._column_cache()] == expected
    conv_ops._column_cache().clear()


def test_forward_mode_uses_the_convolutions_own_jvp(monkeypatch):
    """conv2d's JVP is a convolution of the tangent (not the transposed-VJP fallback), and
    a ForwardAccumulator's tangent convolutions keep no tiles."""
    assert conv_ops.conv2d_p.jvps is not None and conv_ops.conv2d_bias_p.jvps is not None
    _force_winograd(monkeypatch, True)
    conv_ops._column_cache().clear()
    x0 = RNG.standard_normal((2, 8, 8, 8))
    w0 = RNG.standard_normal((3, 3, 8, 8))
    dx0 = RNG.standard_normal(x0.shape)
    x, w = wg.constant(x0), wg.constant(w0)
    with wg.GradientTape() as tape:
        tape.watch(w)
        with wg.ForwardAccumulator(x, wg.constant(dx0)) as acc:
            y = wg.nn.conv2d(x, w, 1, "SAME")
        owners = [entry[0] for entry in conv_ops._column_cache()]
    assert owners == [x._value]  # the forward's tiles only, not the tangent's
    _force_winograd(monkeypatch, False)
    np.testing.assert_allclose(
        acc.jvp(y).numpy(), wg.nn.conv2d(dx0, w0, 1, "SAME").numpy(), rtol=1e-12, atol=1e-12
    )
    conv_ops._column_cache().clear()


def test_persistent_tape_asks_different_arguments_and_gets_each(monkeypatch):
    """One record differentiated twice with the same cotangent object, for different
    arguments: each call computes what it is asked (the fused results are keyed by it)."""
    _force_winograd(monkeypatch, True)
    x = wg.constant(RNG.standard_normal((2, 8, 8, 8)))
    w = wg.constant(RNG.standard_normal((3, 3, 8, 4)))
    b = wg.constant(RNG.standard_normal(4))
    with wg.GradientTape(persistent=True) as tape:
        tape.watch([x, w, b])
        y = wg.nn.conv2d(x, w, 1, "SAME", bias=b)
    g = wg.ones_like(y)
    gx, gw = tape.gradient(y, [x, w], output_gradients=g)
    gx2, gb = tape.gradient(y, [x, b], output_gradients=g)
    np.testing.assert_allclose(gb.numpy(), np.full(4, 2 * 8 * 8.0))
    np.testing.assert_allclose(gx2.numpy(), gx.numpy(), rtol=1e-12, atol=1e-12)
    _force_winograd(monkeypatch, False)
    want = _conv_and_grads(x.numpy(), w.numpy(), "SAME", np.ones(y.shape))
    np.testing.assert_allclose(gw.numpy(), want[2], rtol=1e-12, atol=1e-12)


def test_nothing_is_kept_inside_stop_recording(monkeypatch):
    _force_winograd(monkeypatch, True)
    conv_ops._column_cache().clear()
    x = wg.constant(RNG.standard_normal((2, 8, 8, 8)))
    w = wg.constant(RNG.standard_normal((3, 3, 8, 8)))
    with wg.GradientTape() as tape:
        tape.watch(w)
        with tape.stop_recording():
            wg.nn.conv2d(x, w, 1, "SAME")
            assert conv_ops._column_cache() == []


def test_spare_buffers_stay_bounded(monkeypatch):
    """Kept tiles of many sizes leave at most two spare buffers, within the byte budget."""
    monkeypatch.setattr(conv_ops, "_WINOGRAD_CACHE_BYTES", 600_000)
    _force_winograd(monkeypatch, True)
    conv_ops._column_cache().clear()
    w = wg.constant(RNG.standard_normal((3, 3, 8, 8)))
    for size in (8, 12, 16, 9, 13, 8, 16):
        x = wg.constant(RNG.standard_normal((2, size, size, 8)))
        with wg.GradientTape() as tape:
            tape.watch([x, w])
            y = wg.nn.conv2d(x, w, 1, "SAME")
        tape.gradient(y, [x, w])
        spare = conv_ops._local.spare
        assert len(spare) <= conv_ops._CACHED_COLUMNS
        assert len(spare) == 1 or sum(b.nbytes for b in spare) <= 600_000
    conv_ops._column_cache().clear()
