"""IDX files under abuse: 10,000+ truncated, garbled and lying files raise only IDXError.

A mutation can leave a valid file (a flipped data byte in a raw file); then
``read_idx`` must return an array that agrees with the file's header.
"""

from __future__ import annotations

import gzip
import random
import struct
import time
import zlib

import numpy as np
import pytest

from wengert.datasets import idx
from wengert.datasets.idx import IDXError

FUZZ_FILES = 10_000


def _seeds(tmp_path):
    arrays = [
        np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5),
        np.arange(10, dtype=np.uint8),
        np.linspace(-1, 1, 12).astype(np.float32).reshape(3, 4),
        np.arange(-6, 6, dtype=np.int16).reshape(2, 2, 3),
        np.arange(8, dtype=np.int32),
        np.arange(6, dtype=np.float64).reshape(1, 6),
        np.arange(-4, 4, dtype=np.int8),
    ]
    seeds = []
    for i, a in enumerate(arrays):
        for suffix in ("", ".gz"):
            path = tmp_path / f"seed{i}{suffix}"
            idx.write_idx(path, a)
            seeds.append(path.read_bytes())
    return seeds


def _mutate(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return rng.randbytes(rng.randint(1, 16))
    kind = rng.randrange(7)
    if kind == 0:  # truncate
        return data[: rng.randrange(len(data) + 1)]
    if kind == 1:  # flip random bits
        b = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 2:  # overwrite a run with junk
        i = rng.randrange(len(data))
        n = rng.randint(1, 16)
        return data[:i] + rng.randbytes(n) + data[i + n :]
    if kind == 3:  # splice junk in, or append trailing junk
        i = rng.choice((rng.randrange(len(data)), len(data)))
        return data[:i] + rng.randbytes(rng.randint(1, 16)) + data[i:]
    if kind == 4:  # a header that lies: random code, ndim and sizes over the same data
        ndim = rng.choice((0, 1, 2, 3, 4, 17, 255))
        code = rng.choice((0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, rng.randrange(256)))
        dims = [rng.choice((0, 1, 3, 4, 5, 60000, 2**32 - 1)) for _ in range(ndim)]
        return bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *dims) + data[4:]
    if kind == 5:  # a lying header, gzipped, so the lie is found after decompression
        try:
            body = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        except (OSError, EOFError, zlib.error):  # already garbled by an earlier mutation
            body = data
        return gzip.compress(_mutate(rng, body), mtime=0)
    # Pure noise (rarely with the gzip magic, so that path gets its own cases below).
    return rng.randbytes(rng.randint(0, 64))


def test_garbled_idx_files_raise_only_idx_error(tmp_path):
    rng = random.Random(777)
    seeds = _seeds(tmp_path)
    candidates = [b"", b"\x00", b"\x00\x00\x08", b"\x1f\x8b", b"\x1f\x8b\x08\x00"]
    candidates += [b"\x1f\x8b" + rng.randbytes(rng.randint(0, 64)) for _ in range(300)]
    while len(candidates) < FUZZ_FILES:
        data = rng.choice(seeds)
        for _ in range(rng.choice((1, 1, 2, 3))):
            data = _mutate(rng, data)
        candidates.append(data)

    path = tmp_path / "fuzz-idx"
    raised = parsed = 0
    time.perf_counter()
    for i, data in enumerate(candidates):
        path.write_bytes(data)
        try:
            a = idx.read_idx(path)
        except IDXError:
            raised += 1
        except Exception as e:  # pragma: no cover - the failure this test looks for
            pytest.fail(f"case {i} ({data[:24]!r}): read_idx raised {type(e).__name__}: {e}")
        else:
            parsed += 1
            raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            ndim = raw[3]
            shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
            assert a.shape == shape and a.dtype.isnative
            assert a.dtype == idx.DTYPE_CODES[raw[2]].newbyteorder("=")
    assert raised + parsed == len(candidates) >= FUZZ_FILES
    assert raised >= 0.75 * len(candidates), (raised, parsed)
