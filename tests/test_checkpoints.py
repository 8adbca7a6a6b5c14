"""Checkpoints: round trips in both formats, metadata, atomic replacement, errors, check()."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile

import numpy as np
import pytest

import wengert as wg
from wengert import checkpoints
from wengert.checkpoints import CheckpointError

FORMATS = ["npz", "safetensors"]
DTYPES = ["float16", "float32", "float64", "int32", "int64", "bool"]


def _path(tmp_path, fmt, name="ckpt"):
    return str(tmp_path / f"{name}.{fmt}")


def _sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind == "i":
        return rng.integers(-1000, 1000, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _assert_same(got, want):
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_each_dtype_and_shape(tmp_path, fmt, dtype):
    arrays = {
        "matrix": _sample(dtype, (3, 4)),
        "scalar": _sample(dtype, ()),
        "empty": np.zeros((0, 5), dtype=dtype),
        "vector": _sample(dtype, (7,), seed=1),
        "cube": _sample(dtype, (2, 3, 4), seed=2),
    }
    path = _path(tmp_path, fmt)
    checkpoints.save(path, arrays)
    loaded, _ = checkpoints.load(path)
    assert set(loaded) == set(arrays)
    for name, want in arrays.items():
        _assert_same(loaded[name], want)


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_contiguous_arrays_round_trip_exactly(tmp_path, fmt):
    base = np.arange(2 * 6 * 10, dtype=np.float32).reshape(2, 6, 10)
    arrays = {
        "transposed": base[0].T,  # Fortran-ordered view
        "sliced": base[:, ::2, 1::3],  # strided, neither C nor F contiguous
        "reversed": base[1, ::-1],  # negative strides
        "column": base[0, :, 3],
        "big_endian": np.arange(6, dtype=">f4").reshape(2, 3).T,
    }
    assert not any(a.flags.c_contiguous for a in arrays.values())
    path = _path(tmp_path, fmt)
    checkpoints.save(path, arrays)
    loaded, _ = checkpoints.load(path)
    for name, want in arrays.items():
        np.testing.assert_array_equal(loaded[name], want, err_msg=name)
        assert loaded[name].shape == want.shape
    # safetensors is little-endian only: the values survive, the byte order becomes native.
    assert loaded["big_endian"].dtype.newbyteorder("=") == np.float32


@pytest.mark.parametrize("fmt", FORMATS)
def test_metadata_is_preserved_with_format_marker(tmp_path, fmt):
    meta = {"step": 1200, "lr": 0.001, "name": "résumé ✓", "layers": [{"units": 4}], "ok": True}
    path = _path(tmp_path, fmt)
    checkpoints.save(path, {"w": np.ones(2)}, metadata=meta)
    _, loaded = checkpoints.load(path)
    assert loaded == {**meta, "format": "wengert-checkpoint", "format_version": 1}
    assert checkpoints.FORMAT_VERSION == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_loaded_arrays_are_fresh_and_writable(tmp_path, fmt):
    path = _path(tmp_path, fmt)
    checkpoints.save(path, {"w": np.arange(4.0)})
    first, _ = checkpoints.load(path)
    first["w"][0] = 99.0
    second, _ = checkpoints.load(path)
    assert second["w"][0] == 0.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_names_with_slashes_and_python_keywords(tmp_path, fmt):
    # numpy.savez takes names as keyword arguments; these would collide there.
    arrays = {"dense/kernel": np.ones((2, 2)), "file": np.zeros(1), "allow_pickle": np.ones(1)}
    path = _path(tmp_path, fmt)
    checkpoints.save(path, arrays)
    loaded, _ = checkpoints.load(path)
    assert sorted(loaded) == sorted(arrays)


def test_tensors_and_variables_are_saved_as_arrays(tmp_path):
    path = _path(tmp_path, "npz")
    checkpoints.save(path, {"t": wg.constant([1.0, 2.0]), "v": wg.Variable([[3.0]])})
    loaded, _ = checkpoints.load(path)
    _assert_same(loaded["t"], np.array([1.0, 2.0], np.float32))
    _assert_same(loaded["v"], np.array([[3.0]], np.float32))


def test_format_is_inferred_from_suffix(tmp_path):
    arrays = {"w": np.arange(3.0)}
    for name in ("a.npz", "b.NPZ", "c.ckpt", "d"):
        checkpoints.save(str(tmp_path / name), arrays)
        assert (tmp_path / name).read_bytes()[:4] == b"PK\x03\x04", name
    checkpoints.save(tmp_path / "e.safetensors", arrays)  # os.PathLike works too
    head = (tmp_path / "e.safetensors").read_bytes()
    n = int.from_bytes(head[:8], "little")
    header = json.loads(head[8 : 8 + n])
    assert header["w"]["dtype"] == "F64"
    assert json.loads(header["__metadata__"]["wengert"])["format"] == "wengert-checkpoint"


def test_explicit_format_overrides_suffix_and_load_sniffs_content(tmp_path):
    path = str(tmp_path / "looks-like.npz")
    checkpoints.save(path, {"w": np.arange(3)}, format="safetensors")
    assert (tmp_path / "looks-like.npz").read_bytes()[:4] != b"PK\x03\x04"
    loaded, _ = checkpoints.load(path)
    np.testing.assert_array_equal(loaded["w"], np.arange(3))
    with pytest.raises(ValueError, match="format must be 'npz' or 'safetensors', got 'h5'"):
        checkpoints.save(path, {"w": np.arange(3)}, format="h5")


def test_npz_layout_is_plain_numpy(tmp_path):
    path = _path(tmp_path, "npz")
    checkpoints.save(path, {"w": np.arange(3)}, {"epoch": 4})
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["w"], np.arange(3))
        meta = json.loads(npz["__metadata__"].tobytes().decode("utf-8"))
        assert npz["__metadata__"].dtype == np.uint8
    assert meta == {"epoch": 4, "format": "wengert-checkpoint", "format_version": 1}


# -- atomic writes ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_save_replaces_an_existing_file_and_leaves_no_temporaries(tmp_path, fmt):
    path = _path(tmp_path, fmt)
    checkpoints.save(path, {"w": np.zeros(3)}, {"v": 1})
    checkpoints.save(path, {"w": np.ones(5)}, {"v": 2})
    arrays, meta = checkpoints.load(path)
    assert meta["v"] == 2 and arrays["w"].tolist() == [1.0] * 5
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_new_file_gets_the_umask_mode_and_replacement_keeps_the_mode(tmp_path):
    old = os.umask(0o027)
    try:
        path = tmp_path / "m.npz"
        checkpoints.save(path, {"w": np.zeros(1)})
        assert path.stat().st_mode & 0o777 == 0o640
        os.chmod(path, 0o600)
        checkpoints.save(path, {"w": np.ones(1)})
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    path = _path(tmp_path, "npz")
    checkpoints.save(path, {"w": np.zeros(3)}, {"v": "old"})
    before = (tmp_path / "ckpt.npz").read_bytes()

    def half_then_fail(f, arrays, text):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints, "_write_npz", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        checkpoints.save(path, {"w": np.ones(3)}, {"v": "new"})
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert (tmp_path / "ckpt.npz").read_bytes() == before


def test_save_into_a_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        checkpoints.save(tmp_path / "no" / "such" / "x.npz", {"w": np.zeros(1)})
    assert os.listdir(tmp_path) == []


# -- save refuses what it cannot store safely ------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_object_arrays_are_refused_at_save(tmp_path, fmt):
    obj = np.array([{"a": 1}, None], dtype=object)
    with pytest.raises(TypeError, match="'bad' has dtype object.*pickle"):
        checkpoints.save(_path(tmp_path, fmt), {"ok": np.zeros(1), "bad": obj})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "arrays, metadata, error, match",
    [
        ({1: np.zeros(1)}, None, TypeError, "names must be str, got 1"),
        ({"": np.zeros(1)}, None, ValueError, "empty or reserved"),
        ({"__metadata__": np.zeros(1)}, None, ValueError, "empty or reserved"),
        ({"a\x00b": np.zeros(1)}, None, ValueError, "contains a NUL character"),
        ([np.zeros(1)], None, TypeError, "must be a dict of name -> array, got list"),
        ({"w": np.zeros(1)}, {"f": object()}, TypeError, "JSON-serialisable"),
        ({"w": np.zeros(1)}, ["not", "a", "dict"], TypeError, "metadata must be a dict"),
        ({"w": np.zeros(1)}, {"format": "mine"}, ValueError, "'format'.*got 'mine'"),
        ({"w": np.zeros(1)}, {"format_version": 9}, ValueError, "format_version"),
    ],
)
def test_save_argument_errors(tmp_path, arrays, metadata, error, match):
    with pytest.raises(error, match=match):
        checkpoints.save(_path(tmp_path, "npz"), arrays, metadata)
    assert os.listdir(tmp_path) == []


def test_metadata_returned_by_load_can_be_saved_again(tmp_path):
    path = _path(tmp_path, "npz")
    checkpoints.save(path, {"w": np.zeros(1)}, {"epoch": 1})
    arrays, meta = checkpoints.load(path)
    checkpoints.save(path, arrays, meta)
    assert checkpoints.load(path)[1] == meta


def test_safetensors_refuses_dtypes_it_cannot_store(tmp_path):
    for a in (np.array(["a", "b"]), np.zeros(2, np.complex128)):
        with pytest.raises(TypeError, match=f"dtype {a.dtype}.*use .npz instead"):
            checkpoints.save(_path(tmp_path, "safetensors"), {"s": a})
        checkpoints.save(_path(tmp_path, "npz"), {"s": a})  # .npz takes them
        _assert_same(checkpoints.load(_path(tmp_path, "npz"))[0]["s"], a)


def test_missing_safetensors_package_names_the_extra(tmp_path, monkeypatch):
    path = _path(tmp_path, "safetensors")
    checkpoints.save(path, {"w": np.zeros(1)})
    monkeypatch.setitem(sys.modules, "safetensors", None)  # makes `import safetensors` fail
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "wengert\[safetensors\]"'):
        checkpoints.save(path, {"w": np.ones(1)})
    with pytest.raises(ImportError, match=r'pip install "wengert\[safetensors\]"'):
        checkpoints.load(path)
    checkpoints.save(_path(tmp_path, "npz"), {"w": np.ones(1)})  # npz needs nothing extra


# -- load turns every unreadable file into CheckpointError -----------------------------


def _npz_bytes(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(a, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _meta_npy(meta) -> bytes:
    text = meta if isinstance(meta, str) else json.dumps(meta)
    return _npy(np.frombuffer(text.encode("utf-8"), np.uint8))


GOOD_META = {"format": "wengert-checkpoint", "format_version": 1}


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "is empty"),
        (b"hello, world: definitely not a checkpoint", "neither an .npz"),
        (_npz_bytes({"w.npy": _npy(np.zeros(2))}), "no wengert metadata"),
        (
            _npz_bytes({"w.npy": _npy(np.zeros(2)), "__metadata__.npy": _meta_npy("{not json")}),
            "not valid JSON",
        ),
        (
            _npz_bytes({"__metadata__.npy": _meta_npy({"format": "other", "format_version": 1})}),
            "'format' should be 'wengert-checkpoint', found 'other'",
        ),
        (
            _npz_bytes({"__metadata__.npy": _meta_npy({**GOOD_META, "format_version": 2})}),
            "written by a newer wengert.*format_version 2",
        ),
        (
            _npz_bytes({"__metadata__.npy": _meta_npy({**GOOD_META, "format_version": "1"})}),
            "'format_version' should be an int",
        ),
        (
            _npz_bytes({"__metadata__.npy": _meta_npy([1, 2])}),
            "not a wengert checkpoint",
        ),
        (
            _npz_bytes({"__metadata__.npy": _meta_npy(GOOD_META), "notes.txt": b"a stray member"}),
            "'notes.txt', which is not a .npy array",
        ),
        (
            _npz_bytes(
                {
                    "__metadata__.npy": _meta_npy(GOOD_META),
                    "w.npy": _npy(np.array([{"x": 1}], dtype=object), allow_pickle=True),
                }
            ),
            "'w' has dtype object, which would need pickle",
        ),
        (
            _npz_bytes({"__metadata__.npy": _meta_npy(GOOD_META), "w.npy": _npy(np.zeros(4))[:-8]}),
            r"'w' should hold shape \(4,\) float64 = 32 bytes, but its member has 24",
        ),
        (
            _npz_bytes({"__metadata__.npy": _npy(np.zeros(3, np.float32))}),
            "__metadata__ should be 1-d uint8",
        ),
    ],
    ids=[
        "empty",
        "text",
        "plain-npz",
        "bad-json",
        "wrong-marker",
        "newer-version",
        "string-version",
        "json-list",
        "stray-member",
        "object-array",
        "short-array",
        "metadata-dtype",
    ],
)
def test_load_errors_name_the_problem(tmp_path, content, match):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as info:
        checkpoints.load(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder_raise_checkpoint_error_chained(tmp_path):
    with pytest.raises(CheckpointError, match="missing.npz") as info:
        checkpoints.load(tmp_path / "missing.npz")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(CheckpointError) as info:
        checkpoints.load(tmp_path)
    assert isinstance(info.value.__cause__, IsADirectoryError)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_checkpoint_raises_checkpoint_error(tmp_path, fmt):
    path = _path(tmp_path, fmt)
    checkpoints.save(path, {"w": np.arange(1000.0)})
    data = open(path, "rb").read()
    for cut in (len(data) - 1, len(data) // 2, 200, 9):
        with open(path, "wb") as f:
            f.write(data[:cut])
        with pytest.raises(CheckpointError):
            checkpoints.load(path)


def test_flipped_data_byte_in_npz_fails_its_crc(tmp_path):
    path = _path(tmp_path, "npz")
    checkpoints.save(path, {"w": np.zeros(1000)})
    data = bytearray(open(path, "rb").read())
    data[data.index(b"\x00" * 64) + 10] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(CheckpointError, match="CRC|Bad"):
        checkpoints.load(path)


def test_safetensors_without_wengert_metadata_is_refused(tmp_path):
    import safetensors.numpy

    path = tmp_path / "foreign.safetensors"
    path.write_bytes(safetensors.numpy.save({"w": np.zeros(2)}, metadata={"other": "x"}))
    with pytest.raises(CheckpointError, match="no wengert metadata"):
        checkpoints.load(path)
    newer = json.dumps({**GOOD_META, "format_version": 7})
    path.write_bytes(safetensors.numpy.save({"w": np.zeros(2)}, metadata={"wengert": newer}))
    with pytest.raises(CheckpointError, match="newer wengert"):
        checkpoints.load(path)


def test_checkpoint_error_is_exported():
    assert issubclass(CheckpointError, Exception)
    assert getattr(wg, "CheckpointError", CheckpointError) is CheckpointError


# -- check -----------------------------------------------------------------------------


def test_check_passes_when_everything_matches():
    arrays = {"k": np.zeros((2, 3), np.float32), "b": np.zeros(3, np.float32)}
    checkpoints.check(arrays, {"k": ((2, 3), "float32"), "b": ((3,), np.float32)})
    checkpoints.check(arrays, {"k": ((None, 3), None), "b": (None, "float32")})


def test_check_lists_every_missing_extra_and_mismatched_name_at_once():
    arrays = {
        "dense/kernel": np.zeros((3, 2), np.float32),
        "dense/bias": np.zeros(2, np.float64),
        "stray": np.zeros(5, np.int32),
        "ok": np.zeros(1, np.float32),
    }
    expected = {
        "dense/kernel": ((2, 3), "float32"),
        "dense/bias": ((2,), "float32"),
        "ok": ((1,), "float32"),
        "out/kernel": ((3, 1), "float32"),
        "out/bias": ((1,), "float32"),
    }
    with pytest.raises(CheckpointError) as info:
        checkpoints.check(arrays, expected, what="model.npz")
    msg = str(info.value)
    assert msg.startswith("model.npz does not match")
    assert "missing: 'out/kernel' (3, 1) float32, 'out/bias' (1,) float32" in msg
    assert "unexpected: 'stray' (5,) int32" in msg
    assert "'dense/kernel' expected (2, 3) float32, found (3, 2) float32" in msg
    assert "'dense/bias' expected (2,) float32, found (2,) float64" in msg
    assert "'ok'" not in msg


def test_check_accepts_tensors_and_rank_mismatch():
    with pytest.raises(CheckpointError, match=r"'v' expected \(2, 1\) float32, found \(2,\)"):
        checkpoints.check({"v": wg.Variable([1.0, 2.0])}, {"v": ((2, 1), "float32")})
