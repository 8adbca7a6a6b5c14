"""IDX files, the format of MNIST and Fashion-MNIST: a tiny header, then raw big-endian data.

The header is four bytes ``0x00 0x00 <dtype code> <ndim>`` followed by ``ndim``
big-endian uint32 sizes; the data is the array in row-major order.  Files may
be gzipped (recognised by their first bytes, not their name, since browsers
sometimes unzip a ``.gz`` without renaming it).

``read_idx`` trusts nothing in a file: a header that does not agree with the
data raises ``IDXError`` before anything is allocated.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from wengert.datasets import idx
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "labels-idx1-ubyte.gz")
    ...     idx.write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
    ...     idx.read_idx(path)
    array([5, 0, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

from ..backend import xp

__all__ = ["IDXError", "read_idx", "write_idx", "DTYPE_CODES", "MAX_NDIM"]

# The type codes of the IDX format (Y. LeCun's MNIST page); data is big-endian.
DTYPE_CODES = {
    0x08: xp.dtype(">u1"),
    0x09: xp.dtype(">i1"),
    0x0B: xp.dtype(">i2"),
    0x0C: xp.dtype(">i4"),
    0x0D: xp.dtype(">f4"),
    0x0E: xp.dtype(">f8"),
}
_CODE_OF = {dtype.newbyteorder("="): code for code, dtype in DTYPE_CODES.items()}

MAX_NDIM = 16
"""The most dimensions ``read_idx`` accepts; the format allows 255, real files use 1 to 4."""

_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """An IDX file is truncated, garbled, or its header disagrees with its data.

    Example:
        >>> from wengert.datasets import idx
        >>> issubclass(idx.IDXError, ValueError)
        True
    """


def read_idx(path):
    """Read an IDX file (raw or gzipped) into an ndarray of the dtype and shape its header gives.

    Args:
        path: the file (str or os.PathLike).

    Returns:
        An ndarray in native byte order: uint8, int8, int16, int32, float32 or
        float64, with the shape that the header lists.

    Raises:
        IDXError: bad magic bytes, an unknown dtype code, 0 or more than
            ``MAX_NDIM`` dimensions, a truncated header, data longer or shorter
            than the header's shape, or a garbled gzip stream.
        OSError: the file cannot be opened.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from wengert.datasets import idx
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "images-idx3-ubyte")
        ...     idx.write_idx(p, np.zeros((2, 28, 28), np.uint8))
        ...     a = idx.read_idx(p)
        >>> a.shape, a.dtype
        ((2, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
            raise IDXError(f"{path!r}: garbled or truncated gzip data ({e})") from e
    return _parse(data, path)


def _parse(data: bytes, path: str):
    if len(data) < 4:
        raise IDXError(f"{path!r}: truncated: {len(data)} bytes, too short for the 4-byte magic")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00":
        raise IDXError(
            f"{path!r}: not an IDX file: it should start with bytes 00 00, found {zero.hex(' ')}"
        )
    if code not in DTYPE_CODES:
        known = ", ".join(f"0x{c:02X} ({d.newbyteorder('=')})" for c, d in DTYPE_CODES.items())
        raise IDXError(f"{path!r}: unknown IDX dtype code 0x{code:02X}; known codes: {known}")
    if not 1 <= ndim <= MAX_NDIM:
        raise IDXError(f"{path!r}: header gives {ndim} dimensions; expected 1 to {MAX_NDIM}")
    start = 4 + 4 * ndim
    if len(data) < start:
        raise IDXError(
            f"{path!r}: truncated header: {ndim} dimensions need {start} bytes, "
            f"the file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = DTYPE_CODES[code]
    # numpy refuses a shape whose non-zero sizes overflow its index type, even
    # when another size is 0 and the array would be empty.
    if math.prod(d for d in shape if d) * dtype.itemsize >= 2**63:
        raise IDXError(f"{path!r}: header gives shape {shape}, too large for any array")
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        raise IDXError(
            f"{path!r}: header says shape {shape} of {dtype.newbyteorder('=')} = {expected} "
            f"bytes of data, but the file holds {len(data) - start} "
            f"({'truncated' if len(data) - start < expected else 'trailing bytes'})"
        )
    a = xp.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=start).reshape(shape)
    # astype copies into native byte order, so the result is writable and owns its memory.
    return a.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write an array as an IDX file, gzipped when ``path`` ends in ".gz".

    Args:
        path: the file to write (str or os.PathLike).
        array: an array of dtype uint8, int8, int16, int32, float32 or float64,
            with 1 to ``MAX_NDIM`` dimensions, each smaller than 2**32.

    Raises:
        TypeError: a dtype that IDX cannot hold.
        ValueError: 0 or too many dimensions, or a dimension too large.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> from wengert.datasets import idx
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "x.idx")
        ...     idx.write_idx(p, np.arange(6, dtype=np.int32).reshape(2, 3))
        ...     open(p, "rb").read(12).hex(" ")
        '00 00 0c 02 00 00 00 02 00 00 00 03'
    """
    path = os.fspath(path)
    a = xp.asarray(array)
    code = _CODE_OF.get(a.dtype.newbyteorder("="))
    if code is None:
        known = ", ".join(str(d) for d in _CODE_OF)
        raise TypeError(f"write_idx: IDX holds {known}; got dtype {a.dtype}")
    if not 1 <= a.ndim <= MAX_NDIM:
        raise ValueError(f"write_idx: expected 1 to {MAX_NDIM} dimensions, got shape {a.shape}")
    if max(a.shape) >= 2**32:
        raise ValueError(f"write_idx: IDX sizes are uint32, got shape {a.shape}")
    header = struct.pack(f">BBBB{a.ndim}I", 0, 0, code, a.ndim, *a.shape)
    data = header + xp.ascontiguousarray(a, dtype=DTYPE_CODES[code]).tobytes()
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime=0: the same array gives the same bytes
    with open(path, "wb") as f:
        f.write(data)
