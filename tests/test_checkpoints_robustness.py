"""Checkpoints under abuse: SIGKILL during writes, and thousands of garbled files.

* Kill test: a process saving checkpoints in a loop is SIGKILLed at 200 random
  moments; after each kill the checkpoint must be one of the two complete
  versions it alternates between, never a torn mix.
* Fuzz test: 10,000+ truncated, bit-flipped, spliced and forged files must make
  ``load`` raise ``CheckpointError`` (or, for a change that leaves a valid file,
  return arrays), never any other exception, and never run a pickled payload.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from wengert import checkpoints
from wengert.checkpoints import CheckpointError

SRC = str(pathlib.Path(__file__).resolve().parent.parent / "src")

# -- kill test -------------------------------------------------------------------------

KILLS = 200

# The two versions a writer alternates between: a few MB each, different in every
# element, and each naming itself in its metadata so a mix of the two is caught.
_VERSIONS_SOURCE = """
import numpy as np

def version(k):
    sign = 1.0 if k == 0 else -1.0
    return (
        {
            "dense/kernel": sign * np.arange(600 * 1000, dtype=np.float32).reshape(600, 1000),
            "dense/bias": np.full(1000, k, dtype=np.int64),
            "step": np.array(k),
        },
        {"version": k},
    )
"""

# A zygote: it imports wengert once, then forks one writer per request, so that 200
# distinct processes can be killed without paying 200 interpreter start-ups.  Each
# writer saves version 0, 1, 0, 1, ... until it is killed.
_ZYGOTE = (
    _VERSIONS_SOURCE
    + """
import os, sys
from wengert import checkpoints

path = sys.argv[1]
payloads = [version(0), version(1)]
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            k = int(line)
            while True:
                checkpoints.save(path, *payloads[k % 2])
                k += 1
        finally:
            os._exit(1)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(status, flush=True)
"""
)


def _versions():
    namespace = {}
    exec(_VERSIONS_SOURCE, namespace)
    return [namespace["version"](0), namespace["version"](1)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_sigkill_during_save_leaves_old_or_new_file_never_a_torn_one(tmp_path):
    path = tmp_path / "model.npz"
    versions = _versions()
    checkpoints.save(path, *versions[0])
    # Time one save so that kills land anywhere from before the first write to the third.
    start = time.perf_counter()
    checkpoints.save(path, *versions[1])
    one_save = time.perf_counter() - start

    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    zygote = subprocess.Popen(
        [sys.executable, "-c", _ZYGOTE, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    rng = random.Random(20240601)
    # Kills land anywhere from before the writer's first write to its third save; the
    # cap keeps the test short where fsync is slow.
    latest = min(3.0 * one_save, 0.15)
    seen = [0, 0]
    torn_temporaries = 0
    pid = None
    try:
        for trial in range(KILLS):
            zygote.stdin.write(f"{trial}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            time.sleep(rng.uniform(0.0, latest))
            os.kill(pid, signal.SIGKILL)
            status = int(zygote.stdout.readline())
            pid = None
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                f"trial {trial}: the writer ended with status {status} before it was killed"
            )

            arrays, meta = checkpoints.load(path)
            k = meta["version"]
            want_arrays, want_meta = versions[k]
            assert meta == {**want_meta, "format": "wengert-checkpoint", "format_version": 1}
            assert arrays.keys() == want_arrays.keys()
            for name, want in want_arrays.items():
                np.testing.assert_array_equal(arrays[name], want, err_msg=f"trial {trial}")
            seen[k] += 1

            # A killed writer cannot clean up: its temporary file may stay, but only
            # under the hidden temporary name, never as the checkpoint itself.
            for other in os.listdir(tmp_path):
                if other == "model.npz":
                    continue
                assert other.startswith(".model.npz.") and other.endswith(".tmp"), other
                torn_temporaries += 1
                os.unlink(tmp_path / other)
    finally:
        if pid is not None:  # the test failed with a writer still running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        zygote.stdin.close()
        try:
            zygote.wait(timeout=30)
        except subprocess.TimeoutExpired:
            zygote.kill()
            zygote.wait()
    assert min(seen) > 0, f"only one version was ever seen: {seen}"
    # Proof that kills really landed mid-write, where a non-atomic save would tear.
    assert torn_temporaries >= KILLS // 10, (torn_temporaries, seen)


# -- fuzz test -------------------------------------------------------------------------

FUZZ_FILES = 10_000


class _Evil:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(a, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _metadata_npy(meta) -> bytes:
    return _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))


def _seeds(tmp_path, marker):
    """Valid checkpoints, and forged ones, for the mutations to start from."""
    arrays = {
        "dense/kernel": np.arange(12, dtype=np.float32).reshape(3, 4),
        "dense/bias": np.ones(4, np.float64),
        "count": np.array(7, np.int64),
        "mask": np.array([True, False]),
        "half": np.zeros((2, 2), np.float16),
    }
    good = {}
    for fmt in ("npz", "safetensors"):
        path = tmp_path / f"seed.{fmt}"
        checkpoints.save(path, arrays, {"step": 3, "note": "seed"})
        good[fmt] = path.read_bytes()
    meta = {"format": "wengert-checkpoint", "format_version": 1}
    evil = np.empty(1, dtype=object)
    evil[0] = _Evil(str(marker))
    pickled = _npy(evil, allow_pickle=True)
    forged = {
        "pickle-array": _zip({"__metadata__.npy": _metadata_npy(meta), "w.npy": pickled}),
        "pickle-metadata": _zip({"__metadata__.npy": pickled}),
        "pickle-raw-member": _zip(
            {"__metadata__.npy": _metadata_npy(meta), "w.npy": pickled[128:]}
        ),
        "wrong-contents": _zip({"readme.txt": b"hello", "w.npy": b"not an npy"}),
        "wrong-metadata": _zip({"__metadata__.npy": _metadata_npy({"format": "x"})}),
        "no-metadata": _zip({"w.npy": _npy(np.zeros(3))}),
        "huge-header": _zip(
            {
                "__metadata__.npy": _metadata_npy(meta),
                "w.npy": _npy(np.zeros(3)).replace(b"(3,)", b"(99999999999,)"),
            }
        ),
        "deflated": _deflated(good["npz"]),
    }
    return good, forged, pickled


def _deflated(npz: bytes) -> bytes:
    """The same checkpoint with compressed members (numpy.savez_compressed's layout)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(npz)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _mutate(rng: random.Random, data: bytes) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:  # truncate
        return data[: rng.randrange(len(data))]
    if kind == 1:  # flip a few random bits
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == 2:  # overwrite a run with random junk
        i = rng.randrange(len(data))
        n = rng.randint(1, 64)
        return data[:i] + rng.randbytes(n) + data[i + n :]
    if kind == 3:  # splice junk in
        i = rng.randrange(len(data))
        return data[:i] + rng.randbytes(rng.randint(1, 64)) + data[i:]
    if kind == 4:  # cut a run out
        i = rng.randrange(len(data))
        return data[:i] + data[i + rng.randint(1, 64) :]
    # keep a valid prefix (the magic), then random bytes
    keep = rng.randint(1, 64)
    return data[:keep] + rng.randbytes(rng.randint(0, 256))


def test_garbled_files_raise_only_checkpoint_error_and_never_unpickle(tmp_path):
    marker = tmp_path / "PWNED"
    good, forged, pickled = _seeds(tmp_path, marker)

    # The payload is live: numpy's own loader, allowed to unpickle, creates the marker.
    np.load(io.BytesIO(pickled), allow_pickle=True)
    assert marker.exists()
    marker.unlink()

    rng = random.Random(12345)
    seeds = list(good.values()) + list(forged.values())
    candidates = [b"", b"PK", b"PK\x03\x04", b"PK\x05\x06" + bytes(18), b"\x00" * 9]
    candidates += list(forged.values())
    candidates += [rng.randbytes(rng.randint(1, 2048)) for _ in range(200)]
    # Random bytes behind each format's magic: a zip signature, a safetensors header length.
    candidates += [b"PK\x03\x04" + rng.randbytes(rng.randint(0, 512)) for _ in range(200)]
    candidates += [
        rng.randint(2, 300).to_bytes(8, "little") + b"{" + rng.randbytes(rng.randint(0, 400))
        for _ in range(200)
    ]
    while len(candidates) < FUZZ_FILES:
        data = rng.choice(seeds)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            data = _mutate(rng, data) or b"\x00"
        candidates.append(data)

    path = tmp_path / "fuzz.npz"
    raised = loaded = 0
    time.perf_counter()
    for i, data in enumerate(candidates):
        path.write_bytes(data)
        try:
            arrays, meta = checkpoints.load(path)
        except CheckpointError:
            raised += 1
        except Exception as e:  # pragma: no cover - the failure this test looks for
            pytest.fail(f"case {i} ({data[:40]!r}...): load raised {type(e).__name__}: {e}")
        else:
            # A mutation that left a valid file (safetensors has no checksum): still sane.
            loaded += 1
            assert meta["format"] == "wengert-checkpoint"
            assert all(isinstance(a, np.ndarray) and not a.dtype.hasobject for a in arrays.values())
        assert not marker.exists(), f"case {i} ran the pickled payload"
    assert len(candidates) >= FUZZ_FILES
    assert raised >= 0.9 * len(candidates), (raised, loaded)
