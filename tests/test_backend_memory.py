"""glibc malloc tuning at import (README, "Threads and memory")."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _tuned(env_value):
    env = dict(os.environ)
    env.pop("WENGERT_MALLOC_TUNING", None)
    if env_value is not None:
        env["WENGERT_MALLOC_TUNING"] = env_value
    code = "import wengert.backend as b; print(b.malloc_tuned)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _is_glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


@pytest.mark.skipif(not _is_glibc(), reason="mallopt tuning applies to glibc only")
def test_import_tunes_glibc_malloc_unless_told_not_to():
    assert _tuned(None) == "True"
    assert _tuned("0") == "False"


def test_tuning_is_harmless_to_repeat_and_reports_itself():
    from wengert import backend

    assert backend.tune_malloc() is _is_glibc()
    assert backend.malloc_tuned is _is_glibc() or os.environ.get("WENGERT_MALLOC_TUNING") == "0"
