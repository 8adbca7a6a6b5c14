"""Data sets: synthetic problems, the shipped digits, IDX files, MNIST-style loaders, batches."""

from __future__ import annotations

import gzip
import importlib.resources
import os
import pathlib
import sys

import numpy as np
import pytest

import wengert as wg
from wengert import datasets
from wengert.datasets import IDXError, digits, fashion_mnist, idx, mnist

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_package_exports():
    for name in ("xor", "two_moons", "spirals", "blobs", "digits", "mnist", "fashion_mnist",
                 "idx", "read_idx", "IDXError", "batches", "Batches"):  # fmt: skip
        assert hasattr(datasets, name), name
    assert datasets.read_idx is idx.read_idx and datasets.IDXError is IDXError


# -- synthetic -------------------------------------------------------------------------


def test_xor_is_the_truth_table():
    x, y = datasets.xor()
    assert x.dtype == np.float32 and x.shape == (4, 2)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0], x[:, 1]).astype(np.int64))


GENERATORS = [
    (datasets.two_moons, {}, 2, 2),
    (datasets.spirals, {}, 2, 2),
    (datasets.spirals, {"n_classes": 5}, 2, 5),
    (datasets.blobs, {}, 2, 3),
    (datasets.blobs, {"centers": 4, "n_features": 7}, 7, 4),
]


@pytest.mark.parametrize("make, kwargs, n_features, n_classes", GENERATORS)
def test_synthetic_shapes_dtypes_and_balance(make, kwargs, n_features, n_classes):
    x, y = make(n_samples=201, **kwargs)
    assert x.shape == (201, n_features) and x.dtype == np.float32
    assert y.shape == (201,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1
    assert np.isfinite(x).all()


@pytest.mark.parametrize("make, kwargs, n_features, n_classes", GENERATORS)
def test_synthetic_same_seed_same_arrays_other_seed_other_arrays(
    make, kwargs, n_features, n_classes
):
    a, b, c = make(seed=5, **kwargs), make(seed=5, **kwargs), make(seed=6, **kwargs)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_synthetic_shuffle_false_groups_by_class_and_shuffle_mixes():
    _, y = datasets.spirals(90, n_classes=3, shuffle=False)
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 30))
    _, y = datasets.spirals(90, n_classes=3)
    assert not np.array_equal(y, np.sort(y))


def test_two_moons_without_noise_lies_on_the_two_half_circles():
    x, y = datasets.two_moons(101, noise=0.0)
    outer, inner = x[y == 0].astype(float), x[y == 1].astype(float)
    assert len(outer) == 50 and len(inner) == 51
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (outer[:, 1] >= -1e-6).all() and (inner[:, 1] <= 0.5 + 1e-6).all()


def test_two_moons_noise_scales_the_spread():
    clean, _ = datasets.two_moons(400, noise=0.0, shuffle=False)
    noisy, _ = datasets.two_moons(400, noise=0.3, shuffle=False)
    assert 0.25 < np.std(noisy - clean) < 0.35


def test_spirals_arms_wind_outwards_from_the_origin():
    x, y = datasets.spirals(200, n_classes=2, noise=0.0, shuffle=False)
    radius = np.hypot(x[:, 0], x[:, 1])
    for c in range(2):
        r = radius[y == c]
        assert r[0] == 0.0 and abs(r[-1] - 1.0) < 1e-6 and (np.diff(r) > 0).all()


def test_blobs_given_centers_and_stds():
    centers = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    x, y = datasets.blobs(4000, centers=centers, cluster_std=[0.5, 2.0])
    assert x.shape == (4000, 3)
    for c, std in enumerate([0.5, 2.0]):
        pts = x[y == c]
        np.testing.assert_allclose(pts.mean(axis=0), centers[c], atol=0.15)
        np.testing.assert_allclose(pts.std(axis=0), std, rtol=0.1)


def test_blobs_random_centers_stay_in_the_box():
    x, y = datasets.blobs(300, centers=3, cluster_std=0.01, center_box=(2.0, 3.0))
    assert (x > 1.9).all() and (x < 3.1).all()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: datasets.two_moons(0), "n_samples must be an int >= 1, got 0"),
        (lambda: datasets.two_moons(2.5), "n_samples must be an int >= 1, got 2.5"),
        (lambda: datasets.two_moons(noise=-1), "noise must be a number >= 0, got -1"),
        (lambda: datasets.spirals(n_classes=0), "n_classes must be an int >= 1"),
        (lambda: datasets.blobs(centers=0), "centers must be an int >= 1"),
        (lambda: datasets.blobs(centers=[1, 2]), r"shape \(n_clusters, n_features\).*\(2,\)"),
        (lambda: datasets.blobs(centers=3, cluster_std=[1, 2]), "one per cluster"),
        (lambda: datasets.blobs(cluster_std=-1.0), "cluster_std must be one number >= 0"),
    ],
)
def test_synthetic_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- digits --------------------------------------------------------------------------


def test_digits_ship_inside_the_package_with_their_license():
    data = importlib.resources.files("wengert.datasets").joinpath("data")
    assert data.joinpath("digits.csv.gz").is_file()
    license_text = data.joinpath("DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    for words in ("UCI", "Alpaydin", "Kaynak", "CC BY 4.0", "scikit-learn"):
        assert words in license_text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is new in Python 3.11")
def test_pyproject_puts_the_data_into_the_wheel():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*" in config["tool"]["setuptools"]["package-data"]["wengert.datasets"]


def test_digits_default_split():
    (x, y), (xt, yt) = digits.load_data()
    assert x.shape == (1438, 8, 8) and xt.shape == (359, 8, 8)
    assert x.dtype == xt.dtype == np.float32 and y.dtype == yt.dtype == np.int64
    both = np.concatenate([y, yt])
    counts = np.bincount(both)
    assert len(both) == 1797 and len(counts) == 10 and counts.min() >= 170 and counts.max() <= 185
    # Stratified: every class gives 20% (rounded) of its images to the test set.
    np.testing.assert_array_equal(np.bincount(yt), np.round(0.2 * counts).astype(int))
    # Pixels were counts 0..16: in [0, 1] and on a grid of 1/16.
    pixels = np.concatenate([x, xt])
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    np.testing.assert_array_equal(pixels * 16, np.round(pixels * 16))


def test_digits_split_is_a_partition_and_seeded():
    (full, labels), (empty_x, empty_y) = digits.load_data(test_split=0.0, flatten=True)
    assert full.shape == (1797, 64) and empty_x.shape == (0, 64) and empty_y.shape == (0,)

    def rows(x, y):
        return sorted(map(tuple, np.column_stack([x.reshape(len(x), -1) * 16, y]).tolist()))

    (x, y), (xt, yt) = digits.load_data(test_split=0.3, seed=4)
    assert rows(np.concatenate([x, xt]), np.concatenate([y, yt])) == rows(full, labels)
    (x2, _), _ = digits.load_data(test_split=0.3, seed=4)
    (x3, _), _ = digits.load_data(test_split=0.3, seed=5)
    np.testing.assert_array_equal(x, x2)
    assert not np.array_equal(x, x3)


def test_digits_first_image_is_the_known_zero():
    # The first row of the UCI file: a zero, drawn as an ellipse.
    first = np.array([0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]) / 16
    (x, y), _ = digits.load_data(test_split=0.0, flatten=True)
    hits = np.flatnonzero((x[:, :16] == first).all(axis=1))
    assert len(hits) >= 1 and (y[hits] == 0).all()


def test_digits_results_are_independent_copies():
    (x, y), _ = digits.load_data()
    x[:] = -1
    y[:] = -1
    (x2, y2), _ = digits.load_data()
    assert x2.min() == 0.0 and y2.min() == 0


@pytest.mark.parametrize("split", [-0.1, 1.0, 2])
def test_digits_rejects_bad_split(split):
    with pytest.raises(ValueError, match=r"test_split must be in \[0, 1\)"):
        digits.load_data(test_split=split)


# -- IDX files -----------------------------------------------------------------------


IDX_DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    a = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    path = tmp_path / f"a-idx3{suffix}"
    idx.write_idx(path, a)
    b = idx.read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and b.shape == (2, 3, 5)
    np.testing.assert_array_equal(a, b)
    b[0, 0, 0] = 1  # writable, owns its data


def test_idx_layout_is_big_endian_with_the_standard_header(tmp_path):
    path = tmp_path / "x"
    idx.write_idx(path, np.array([[1.5, -2.0]], dtype=np.float32))
    assert path.read_bytes() == (
        bytes([0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 2]) + np.array([1.5, -2.0], ">f4").tobytes()
    )


def test_idx_gzip_is_recognised_by_content_not_name(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    idx.write_idx(tmp_path / "x.gz", a)
    os.rename(tmp_path / "x.gz", tmp_path / "renamed-idx1-ubyte")
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "renamed-idx1-ubyte"), a)
    idx.write_idx(tmp_path / "raw", a)
    os.rename(tmp_path / "raw", tmp_path / "already-unzipped.gz")
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "already-unzipped.gz"), a)


def test_idx_empty_dimension_is_valid(tmp_path):
    idx.write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))
    assert idx.read_idx(tmp_path / "e").shape == (0, 28, 28)


def _header(code, dims):
    return bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "truncated: 0 bytes"),
        (b"\x00\x00\x08", "truncated: 3 bytes"),
        (b"\x01\x00\x08\x01" + bytes(8), "should start with bytes 00 00, found 01 00"),
        (b"\x00\x00\x0a\x01" + bytes(8), "unknown IDX dtype code 0x0A"),
        (b"\x00\x00\x08\x00", "0 dimensions; expected 1 to 16"),
        (b"\x00\x00\x08\x11" + bytes(68), "17 dimensions; expected 1 to 16"),
        (b"\x00\x00\x08\x03" + bytes(6), "3 dimensions need 16 bytes, the file has 10"),
        (_header(0x08, [10]) + bytes(9), r"shape \(10,\) of uint8 = 10 bytes.*holds 9 \(truncated"),
        (_header(0x0C, [2, 2]) + bytes(17), "= 16 bytes of data, .*holds 17 .*trailing bytes"),
        (_header(0x08, [60000, 28, 28]) + bytes(100), "lies|47040000 bytes"),
        (_header(0x0E, [2**32 - 1] * 16), "too large for any array"),
        (
            _header(0x0E, [3, 5]),
            r"shape \(3, 5\) of float64 = 120 bytes of data, but the file holds 0",
        ),
        (_header(0x0C, [2**32 - 1, 0, 2**32 - 1]), "too large for any array"),
        (gzip.compress(_header(0x08, [4]) + bytes(4))[:-6], "garbled or truncated gzip"),
        (b"\x1f\x8b" + b"not really gzip at all", "garbled or truncated gzip"),
    ],
)
def test_idx_errors_say_what_is_wrong(tmp_path, content, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(IDXError, match=match) as info:
        idx.read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_idx_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        idx.read_idx(tmp_path / "nope")


@pytest.mark.parametrize(
    "array, error, match",
    [
        (np.zeros(3, np.uint16), TypeError, "got dtype uint16"),
        (np.zeros(3, np.int64), TypeError, "got dtype int64"),
        (np.array(5, np.uint8), ValueError, r"1 to 16 dimensions, got shape \(\)"),
        (np.zeros((1,) * 17, np.uint8), ValueError, "1 to 16 dimensions"),
    ],
)
def test_write_idx_errors(tmp_path, array, error, match):
    with pytest.raises(error, match=match):
        idx.write_idx(tmp_path / "x", array)


def test_write_idx_takes_any_byte_order_and_layout(tmp_path):
    a = np.arange(12, dtype=">i4").reshape(3, 4).T
    idx.write_idx(tmp_path / "x", a)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "x"), a)


# -- MNIST and Fashion-MNIST -----------------------------------------------------------


def _write_set(folder, n_train=5, n_test=3, gz=True, rows=28):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, rows, rows), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        idx.write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images)
        idx.write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels)
    return folder


@pytest.fixture
def no_data_anywhere(tmp_path, monkeypatch):
    """A home folder without data sets, and no Debian package."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", str(tmp_path / "usr-share-none"))
    return home


@pytest.mark.parametrize("module", [mnist, fashion_mnist])
@pytest.mark.parametrize("gz", [True, False])
def test_loads_keras_style_from_the_given_folder(tmp_path, no_data_anywhere, module, gz):
    folder = _write_set(tmp_path / "data", gz=gz)
    (x, y), (xt, yt) = module.load_data(folder)
    assert x.shape == (5, 28, 28) and xt.shape == (3, 28, 28)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    np.testing.assert_array_equal(y, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(
        x, idx.read_idx(folder / ("train-images-idx3-ubyte" + (".gz" if gz else "")))
    )


@pytest.mark.parametrize("module", [mnist, fashion_mnist])
def test_search_order_given_folder_then_home(tmp_path, no_data_anywhere, module):
    home_set = _write_set(no_data_anywhere / ".wengert" / "datasets" / module.NAME, n_train=7)
    (x, _), _ = module.load_data()
    assert len(x) == 7
    (x, _), _ = module.load_data(str(tmp_path / "empty-folder"))  # falls through to home
    assert len(x) == 7
    _write_set(tmp_path / "given", n_train=2)
    (x, _), _ = module.load_data(tmp_path / "given")
    assert len(x) == 2
    assert home_set.exists()


def test_fashion_mnist_falls_back_to_the_debian_folder(tmp_path, no_data_anywhere, monkeypatch):
    debian = _write_set(tmp_path / "debian", n_train=4)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", str(debian))
    (x, _), _ = fashion_mnist.load_data()
    assert len(x) == 4
    with pytest.raises(FileNotFoundError):
        mnist.load_data()  # MNIST has no Debian package: it does not look there


@pytest.mark.parametrize("module", [mnist, fashion_mnist])
def test_missing_files_message_lists_folders_and_file_names(tmp_path, no_data_anywhere, module):
    partial = tmp_path / "partial"
    partial.mkdir()
    idx.write_idx(partial / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError) as info:
        module.load_data(partial)
    msg = str(info.value)
    assert "downloads nothing" in msg
    for name in mnist.FILES:
        assert name in msg
    assert f"{partial}  (missing train-labels-idx1-ubyte, t10k-images" in msg
    home_folder = os.path.join(str(no_data_anywhere), ".wengert", "datasets", module.NAME)
    assert f"{home_folder}  (no such folder)" in msg
    if module is fashion_mnist:
        assert "apt-get install dataset-fashion-mnist" in msg
        assert f"{fashion_mnist.DEBIAN_FOLDER}  (no such folder)" in msg
    else:
        assert "apt-get" not in msg


def test_mismatched_image_and_label_counts_raise_idx_error(tmp_path, no_data_anywhere):
    folder = _write_set(tmp_path / "data")
    idx.write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(IDXError, match="holds 3 images but .*t10k-labels.* holds 4 labels"):
        mnist.load_data(folder)


def test_wrongly_shaped_files_raise_idx_error(tmp_path, no_data_anywhere):
    folder = _write_set(tmp_path / "data")
    idx.write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros((5, 1), np.uint8))
    with pytest.raises(IDXError, match=r"labels should be uint8 of shape \(n,\), found uint8"):
        mnist.load_data(folder)
    folder = _write_set(tmp_path / "data2")
    idx.write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((5, 784), np.float32))
    with pytest.raises(IDXError, match="images should be uint8 of shape"):
        fashion_mnist.load_data(folder)


def test_fashion_mnist_debian_folder_is_the_package_path():
    assert fashion_mnist.DEBIAN_FOLDER == "/usr/share/datasets/fashion-mnist"
    assert len(fashion_mnist.CLASS_NAMES) == 10


_DEBIAN = pathlib.Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (_DEBIAN / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_real_fashion_mnist_from_the_debian_package(no_data_anywhere, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FOLDER", str(_DEBIAN))
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert x.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(yt), [1000] * 10)
    assert x.max() == 255 and x.min() == 0


# -- batches -------------------------------------------------------------------------


@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (1, 5), (0, 2), (100, 1)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_every_sample_exactly_once_per_pass(n, batch_size, shuffle):
    x = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    got = list(datasets.batches(x, y, batch_size=batch_size, shuffle=shuffle, seed=0))
    assert len(got) == -(-n // batch_size)
    assert all(len(xb) == len(yb) for xb, yb in got)
    assert all(len(yb) == batch_size for _, yb in got[:-1])
    seen = np.concatenate([yb for _, yb in got]) if got else np.array([], int)
    assert sorted(seen.tolist()) == list(range(n))
    for xb, yb in got:  # x and y stay paired
        np.testing.assert_array_equal(xb, x[yb])
    if not shuffle:
        assert seen.tolist() == list(range(n))


def test_same_seed_same_order_other_seed_other_order():
    x = np.arange(50)

    def order(**kw):
        return np.concatenate(list(datasets.batches(x, batch_size=8, **kw))).tolist()

    assert order(seed=3) == order(seed=3)
    assert order(seed=3) != order(seed=4)
    assert order(seed=3) != list(range(50))


def test_global_seed_makes_unseeded_shuffles_reproducible():
    x = np.arange(40)
    wg.random.set_seed(11)
    first = np.concatenate(list(datasets.batches(x, batch_size=16))).tolist()
    wg.random.set_seed(11)
    second = np.concatenate(list(datasets.batches(x, batch_size=16))).tolist()
    assert first == second


def test_drop_remainder():
    x, y = np.zeros((10, 1)), np.arange(10)
    got = list(datasets.batches(x, y, batch_size=4, drop_remainder=True, seed=0))
    assert [len(yb) for _, yb in got] == [4, 4]
    assert len(set(np.concatenate([yb for _, yb in got]).tolist())) == 8
    assert len(datasets.Batches(x, y, batch_size=20, drop_remainder=True)) == 0


def test_batches_class_is_reiterable_with_a_new_reproducible_order_each_pass():
    x = np.arange(30)
    a = datasets.Batches(x, batch_size=7, seed=2)
    b = datasets.Batches(x, batch_size=7, seed=2)
    assert len(a) == 5
    passes_a = [np.concatenate(list(a)).tolist() for _ in range(3)]
    passes_b = [np.concatenate(list(b)).tolist() for _ in range(3)]
    assert passes_a == passes_b
    assert passes_a[0] != passes_a[1]
    assert all(sorted(p) == list(range(30)) for p in passes_a)
    assert "30 samples, batch_size=7" in repr(a)


def test_batches_without_y_yield_arrays_and_accept_tensors():
    got = list(datasets.batches(wg.constant([[1.0], [2.0], [3.0]]), batch_size=2, shuffle=False))
    assert all(isinstance(b, np.ndarray) for b in got)
    assert [b.ravel().tolist() for b in got] == [[1.0, 2.0], [3.0]]
    assert iter(datasets.batches(np.zeros(3))) is not None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"x": np.zeros(3), "y": np.zeros(4)},
            ValueError,
            r"same number of samples.*\(3,\).*\(4,\)",
        ),
        ({"x": np.float32(1.0)}, ValueError, "first .sample. axis"),
        ({"x": np.zeros(3), "batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"x": np.zeros(3), "batch_size": 2.0}, TypeError, "batch_size must be an int"),
    ],
)
def test_batches_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        datasets.batches(**kwargs)
