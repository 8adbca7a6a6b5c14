"""Checkpoints: named arrays and JSON metadata in a file, written atomically, read safely.

Two formats, chosen by the file's suffix: NumPy's ``.npz`` (the default, no extra
install) and ``.safetensors`` (``pip install "wengert[safetensors]"``).  Both are
plain data: nothing is ever pickled, so loading a checkpoint from a stranger
cannot run their code.

Every file carries JSON metadata ``{"format": "wengert-checkpoint",
"format_version": 1, ...}`` so that ``load`` can tell a wengert checkpoint from
any other ``.npz`` and refuse one written by a newer wengert.

``save`` writes to a temporary file beside the target and renames it into place,
so a crash (or SIGKILL) at any moment leaves the old checkpoint or the new one,
never a torn one.  ``load`` turns every way a file can be unreadable into a
``CheckpointError``.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from wengert import checkpoints
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "model.npz")
    ...     checkpoints.save(path, {"dense/kernel": np.ones((2, 3), "float32")}, {"step": 7})
    ...     arrays, meta = checkpoints.load(path)
    >>> arrays["dense/kernel"].shape, meta["step"]
    ((2, 3), 7)
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import struct
import tempfile
import warnings
import zipfile

from .backend import xp

__all__ = ["CheckpointError", "FORMAT_VERSION", "save", "load", "check", "atomic_write_bytes"]

FORMAT_VERSION = 1
"""The version of the layout that ``save`` writes; ``load`` reads this one and older."""

_MARKER = "wengert-checkpoint"
_NPZ_METADATA = "__metadata__"
_SAFETENSORS_METADATA_KEY = "wengert"
_FORMATS = {".npz": "npz", ".safetensors": "safetensors"}
# The numpy dtypes that safetensors' numpy API round-trips (bfloat16 and float8 are not numpy's).
_SAFETENSORS_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64",
}  # fmt: skip
_INSTALL_SAFETENSORS = 'pip install "wengert[safetensors]"'


class CheckpointError(Exception):
    """A checkpoint file could not be read, or does not hold what was expected.

    Example:
        >>> import os, tempfile
        >>> from wengert import checkpoints
        >>> with tempfile.TemporaryDirectory() as d:
        ...     try:
        ...         checkpoints.load(os.path.join(d, "missing.npz"))
        ...     except checkpoints.CheckpointError as e:
        ...         print(type(e.__cause__).__name__)
        FileNotFoundError
    """


# -- save ----------------------------------------------------------------------


def save(path, arrays: dict, metadata: dict | None = None, format: str | None = None) -> None:
    """Write named arrays and JSON metadata to ``path``, atomically.

    Args:
        path: the file to write (str or os.PathLike); its folder must exist.  An
            existing file is replaced only once the new one is complete on disk.
        arrays: a dict from name (a non-empty str; "/" is fine, "__metadata__" is
            reserved) to array (an ndarray, a Tensor, anything ``xp.asarray``
            takes).  Object dtypes are refused: they would need pickle.
        metadata: JSON-serialisable dict stored beside the arrays.  The keys
            "format" and "format_version" are set by wengert.
        format: "npz" or "safetensors"; by default taken from the suffix of
            ``path`` (".safetensors", else ".npz").

    Raises:
        TypeError: a name that is not a str, an object dtype, metadata that is
            not JSON, or a dtype that safetensors cannot store (strings, complex128).
        ValueError: an unknown format, an empty or reserved name, or metadata
            that sets "format"/"format_version" to something else.
        ImportError: format "safetensors" without the safetensors package.
        OSError: the file could not be written (the old one, if any, is intact).

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from wengert import checkpoints
        >>> with tempfile.TemporaryDirectory() as d:
        ...     checkpoints.save(os.path.join(d, "w.npz"), {"w": np.arange(3)}, {"epoch": 2})
        ...     sorted(os.listdir(d))
        ['w.npz']
    """
    path = os.fspath(path)
    fmt = _format_of(path, format)
    arrays = _check_arrays(arrays)
    text = _metadata_json(metadata)
    if fmt == "npz":
        _atomic_write(path, lambda f: _write_npz(f, arrays, text))
    else:
        try:
            import safetensors.numpy
        except ImportError as e:
            raise ImportError(
                f"saving {path!r} as .safetensors needs the safetensors package: "
                f"{_INSTALL_SAFETENSORS}"
            ) from e
        for name, a in arrays.items():
            if a.dtype.name not in _SAFETENSORS_DTYPES:
                raise TypeError(
                    f"array {name!r} has dtype {a.dtype}, which .safetensors cannot store "
                    f"(it takes {', '.join(sorted(_SAFETENSORS_DTYPES))}); use .npz instead"
                )
        # safetensors reads each array's memory as one C-ordered, little-endian block:
        # a transposed or sliced view would be saved as garbage (0.8.0 does not check).
        # (Not ascontiguousarray: it turns 0-d arrays into shape (1,).)
        contiguous = {
            name: xp.asarray(a, dtype=a.dtype.newbyteorder("<"), order="C")
            for name, a in arrays.items()
        }
        data = safetensors.numpy.save(contiguous, metadata={_SAFETENSORS_METADATA_KEY: text})
        _atomic_write(path, lambda f: f.write(data))


# Keras's file names: accepted (a port keeps its paths), but said to hold wengert's format.
_KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")


def _format_of(path: str, format: str | None) -> str:
    if format is None:
        suffix = os.path.splitext(path)[1].lower()
        if suffix in _KERAS_SUFFIXES:
            warnings.warn(
                # no path in the message: warned once, not once per epoch's file
                f"files named {suffix} are written in wengert's .npz format (a zip of NumPy "
                "arrays and JSON), not Keras's: wengert reads them back, Keras and h5py do "
                "not.  Name them .npz (or .safetensors) to silence this warning.",
                UserWarning,
                stacklevel=4,
            )
        return _FORMATS.get(suffix, "npz")
    if format not in _FORMATS.values():
        raise ValueError(f"format must be 'npz' or 'safetensors', got {format!r}")
    return format


def _check_arrays(arrays) -> dict:
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of name -> array, got {type(arrays).__name__}")
    out = {}
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"array names must be str, got {name!r} ({type(name).__name__})")
        if not name or name == _NPZ_METADATA:
            raise ValueError(f"array name {name!r} is empty or reserved")
        if "\x00" in name:  # a zip member name ends at NUL: the file would not load back
            raise ValueError(f"array name {name!r} contains a NUL character")
        a = xp.asarray(value)
        if a.dtype.hasobject:
            raise TypeError(
                f"array {name!r} has dtype {a.dtype}: checkpoints hold plain numbers only "
                "(an object array would need pickle, which wengert never uses)"
            )
        out[name] = a
    return out


def _metadata_json(metadata) -> str:
    header = {"format": _MARKER, "format_version": FORMAT_VERSION}
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    for key, value in header.items():
        # Passing back what load returned is fine; anything else would make a file lie.
        if key in metadata and metadata[key] != value:
            raise ValueError(
                f"metadata[{key!r}] is set by wengert to {value!r}, got {metadata[key]!r}"
            )
    try:
        return json.dumps({**metadata, **header}, ensure_ascii=False, default=_plain_number)
    except (TypeError, ValueError) as e:
        raise TypeError(f"metadata must be JSON-serialisable: {e}") from e


def _plain_number(value):
    """JSON for NumPy scalars (a float32 a callback put in the logs): the Python number."""
    if isinstance(value, xp.generic) or (isinstance(value, xp.ndarray) and value.ndim == 0):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _write_npz(f, arrays: dict, text: str) -> None:
    # Written by hand rather than with numpy.savez: savez takes the names as keyword
    # arguments, so an array called "file" or "allow_pickle" would collide.
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        members = {**arrays, _NPZ_METADATA: xp.frombuffer(text.encode("utf-8"), dtype=xp.uint8)}
        for name, a in members.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                xp.lib.format.write_array(member, a, allow_pickle=False)


def _atomic_write(path: str, write) -> None:
    """Write via a temporary file in the same folder and rename it over ``path``.

    rename() within one file system is atomic, so readers (and a crash) see the
    old file or the new one.  fsync before the rename puts the data on disk
    before the name points at it; fsync of the folder makes the rename durable.
    A symbolic link keeps pointing at the file it names, which is what is
    replaced; a file the user cannot write to is refused, as open() would.
    """
    path = os.path.realpath(path)
    if os.path.isfile(path) and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is not writable", path)
    folder = os.path.dirname(path)
    # The temporary name stays within the 255-byte limit whatever the target's length.
    prefix = f".{os.path.basename(path)[:200]}."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes the file 0600; give it the mode an ordinary open() would.
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), _new_file_mode(path))
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see the old file or the new, never half.

    Example:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     atomic_write_bytes(os.path.join(d, "a.json"), b"{}")
        ...     open(os.path.join(d, "a.json")).read()
        '{}'
    """
    _atomic_write(os.fspath(path), lambda f: f.write(data))


def _new_file_mode(path: str) -> int:
    with contextlib.suppress(OSError):
        return os.stat(path).st_mode & 0o7777
    return 0o666 & ~_umask()


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads;
    # Linux shows it in /proc, so use that where it exists.
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    if os.name != "posix":  # Windows cannot open a folder; its rename is durable enough.
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as e:
        # Some file systems cannot sync a folder; the file itself is already synced.
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


# -- load ----------------------------------------------------------------------


def load(path) -> tuple[dict, dict]:
    """Read a checkpoint written by ``save``: ``(arrays, metadata)``.

    The format is recognised from the file's first bytes, not its name.  Arrays
    are read eagerly and returned as fresh, writable ndarrays.  The metadata
    includes "format" and "format_version".

    Raises:
        CheckpointError: for every way the file can fail to be a readable wengert
            checkpoint (missing, truncated, garbled, not .npz/.safetensors, no or
            bad metadata, written by a newer wengert, object dtypes); the
            underlying exception, if any, is its ``__cause__``.
        ImportError: a .safetensors file without the safetensors package.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from wengert import checkpoints
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "ckpt.npz")
        ...     checkpoints.save(p, {"b": np.zeros(2, "float32")}, {"note": "hi"})
        ...     arrays, meta = checkpoints.load(p)
        >>> arrays["b"], meta["note"], meta["format_version"]
        (array([0., 0.], dtype=float32), 'hi', 1)
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(9)
            size = os.fstat(f.fileno()).st_size
        if not head:
            raise CheckpointError(f"{path!r} is empty, not a wengert checkpoint")
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            arrays, text = _read_npz(path)
        elif _looks_like_safetensors(head, size):
            arrays, text = _read_safetensors(path)
        else:
            raise CheckpointError(
                f"{path!r} is not a wengert checkpoint: it is neither an .npz (zip) "
                f"archive nor a .safetensors file (it starts with {head[:8]!r})"
            )
        metadata = _parse_metadata(text, path)
    except (CheckpointError, ImportError):
        raise
    except Exception as e:  # whatever the parsers raise, the file is unreadable
        reason = f"{type(e).__name__}: {e}"
        raise CheckpointError(f"cannot read checkpoint {path!r}: {reason}") from e
    return arrays, metadata


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    # The format: an 8-byte little-endian header length, then that many bytes of JSON.
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 8 + n <= size


def _read_npz(path: str) -> tuple[dict, str | None]:
    arrays, text = {}, None
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                raise CheckpointError(
                    f"{path!r} holds {info.filename!r}, which is not a .npy array"
                )
            name = info.filename[: -len(".npy")]
            if name in arrays or (name == _NPZ_METADATA and text is not None):
                raise CheckpointError(f"{path!r} holds the array {name!r} twice")
            with zf.open(info) as member:
                a = _read_npy(member, info.file_size, name, path)
            if name == _NPZ_METADATA:
                if a.dtype != xp.uint8 or a.ndim != 1:
                    raise CheckpointError(
                        f"{path!r}: {_NPZ_METADATA} should be 1-d uint8 (UTF-8 JSON), "
                        f"found shape {a.shape} dtype {a.dtype}"
                    )
                text = a.tobytes().decode("utf-8")
            else:
                arrays[name] = a
    return arrays, text


def _read_npy(member, member_size: int, name: str, path: str):
    """One .npy member, with its header checked against its size before any allocation."""
    fmt = xp.lib.format
    version = fmt.read_magic(member)
    if version == (1, 0):
        shape, fortran_order, dtype = fmt.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, fortran_order, dtype = fmt.read_array_header_2_0(member)
    else:
        raise CheckpointError(f"{path!r}: array {name!r} uses .npy version {version}, not 1.0/2.0")
    if dtype.hasobject:
        raise CheckpointError(
            f"{path!r}: array {name!r} has dtype {dtype}, which would need pickle to load; "
            "wengert checkpoints hold plain numbers only"
        )
    if any(d < 0 for d in shape):
        raise CheckpointError(f"{path!r}: array {name!r} has a negative dimension in {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    # A header that lies about its size must not make us allocate terabytes.
    available = member_size - member.tell()
    if nbytes != available:
        raise CheckpointError(
            f"{path!r}: array {name!r} should hold shape {shape} {dtype} = {nbytes} bytes, "
            f"but its member has {available} bytes (truncated or garbled)"
        )
    buffer = bytearray(nbytes)
    if member.readinto(buffer) != nbytes or member.read(1):
        raise CheckpointError(f"{path!r}: array {name!r} is truncated")
    a = xp.frombuffer(buffer, dtype=dtype)
    return a.reshape(shape[::-1]).T if fortran_order else a.reshape(shape)


def _read_safetensors(path: str) -> tuple[dict, str | None]:
    try:
        import safetensors
    except ImportError as e:
        raise ImportError(
            f"{path!r} is a .safetensors file; reading it needs the safetensors package: "
            f"{_INSTALL_SAFETENSORS}"
        ) from e
    arrays = {}
    try:
        with safetensors.safe_open(path, framework="np") as f:
            text = (f.metadata() or {}).get(_SAFETENSORS_METADATA_KEY)
            for name in f.keys():
                # Copy: what safetensors hands back is a view into its own buffer.
                arrays[name] = xp.array(f.get_tensor(name), copy=True)
    except BaseException as e:
        # A Rust panic in safetensors arrives as pyo3's PanicException, which derives
        # from BaseException, not Exception; it still means "cannot read this file".
        if type(e).__name__ == "PanicException":
            raise CheckpointError(f"{path!r}: safetensors cannot read it ({e})") from e
        raise
    return arrays, text


def _parse_metadata(text: str | None, path: str) -> dict:
    if text is None:
        raise CheckpointError(
            f"{path!r} has no wengert metadata: it was not written by wengert.checkpoints.save"
        )
    try:
        metadata = json.loads(text)
    except ValueError as e:
        raise CheckpointError(f"{path!r}: its metadata is not valid JSON ({e})") from e
    if not isinstance(metadata, dict) or metadata.get("format") != _MARKER:
        found = metadata.get("format") if isinstance(metadata, dict) else type(metadata).__name__
        raise CheckpointError(
            f"{path!r} is not a wengert checkpoint: metadata 'format' should be "
            f"{_MARKER!r}, found {found!r}"
        )
    version = metadata.get("format_version")
    if type(version) is not int or version < 1:
        raise CheckpointError(
            f"{path!r}: metadata 'format_version' should be an int from 1 to "
            f"{FORMAT_VERSION}, found {version!r}"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path!r} was written by a newer wengert (format_version {version}); this "
            f"wengert reads format_version {FORMAT_VERSION} and older: upgrade wengert"
        )
    return metadata


# -- check ---------------------------------------------------------------------


def check(arrays: dict, expected: dict, what: str = "checkpoint") -> None:
    """Raise ``CheckpointError`` unless ``arrays`` has exactly the expected names, shapes, dtypes.

    One message lists every problem at once: the missing names, the unexpected
    ones, and each name whose shape or dtype differs (expected vs found).

    Args:
        arrays: name -> anything with ``.shape`` and ``.dtype`` (ndarrays, Tensors).
        expected: name -> ``(shape, dtype)``; a ``None`` dimension matches any
            size, and a ``None`` dtype any dtype.
        what: what ``arrays`` came from, for the message (e.g. the file name).

    Example:
        >>> import numpy as np
        >>> from wengert import checkpoints
        >>> found = {"kernel": np.zeros((3, 2), "float32"), "extra": np.zeros(1)}
        >>> checkpoints.check(found, {"kernel": ((2, 3), "float32"), "bias": ((3,), "float32")})
        Traceback (most recent call last):
        ...
        wengert.checkpoints.CheckpointError: checkpoint does not match what was expected:
          missing: 'bias' (3,) float32
          unexpected: 'extra' (1,) float64
          wrong shape or dtype: 'kernel' expected (2, 3) float32, found (3, 2) float32
    """
    missing = [n for n in expected if n not in arrays]
    extra = [n for n in arrays if n not in expected]
    wrong = []
    for name, (shape, dtype) in expected.items():
        if name not in arrays:
            continue
        a = arrays[name]
        found_shape, found_dtype = tuple(a.shape), xp.dtype(a.dtype)
        shape_ok = shape is None or (
            len(shape) == len(found_shape)
            and all(e is None or e == f for e, f in zip(shape, found_shape))
        )
        dtype_ok = dtype is None or xp.dtype(dtype) == found_dtype
        if not (shape_ok and dtype_ok):
            wrong.append(
                f"{name!r} expected {_describe(shape, dtype)}, "
                f"found {_describe(found_shape, found_dtype)}"
            )
    if not (missing or extra or wrong):
        return
    lines = [f"{what} does not match what was expected:"]
    if missing:
        lines.append("  missing: " + ", ".join(f"{n!r} {_describe(*expected[n])}" for n in missing))
    if extra:
        found = (f"{n!r} {_describe(tuple(arrays[n].shape), arrays[n].dtype)}" for n in extra)
        lines.append("  unexpected: " + ", ".join(found))
    if wrong:
        lines.append("  wrong shape or dtype: " + "; ".join(wrong))
    raise CheckpointError("\n".join(lines))


def _describe(shape, dtype) -> str:
    shape_text = "any shape" if shape is None else str(tuple(shape))
    dtype_text = "any dtype" if dtype is None else str(xp.dtype(dtype))
    return f"{shape_text} {dtype_text}"
