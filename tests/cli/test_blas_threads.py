"""The program keeps numpy's OpenBLAS to one thread unless the user says otherwise: its threads
spin at import (110 ms of CPU on 2 cores) and llmaudit does no heavy linear algebra."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_PROBE = (
    "import os, llmaudit.cli, numpy\n"
    "threads = len(os.listdir('/proc/self/task')) if os.path.isdir('/proc/self/task') else -1\n"
    "print(os.environ.get('OPENBLAS_NUM_THREADS'), threads)\n"
)


def _probe(**env: str) -> tuple[str, int]:
    base = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", _PROBE], env={**base, **env}, capture_output=True, text=True,
                          timeout=60, check=True)
    value, threads = done.stdout.split()
    return value, int(threads)


def test_one_blas_thread_by_default() -> None:
    value, threads = _probe()
    assert value == "1"
    if threads >= 0:   # Linux: numpy started no BLAS threads beside the main one
        assert threads == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS starts no threads either way")
def test_the_users_setting_wins() -> None:
    value, threads = _probe(OPENBLAS_NUM_THREADS="2")
    assert value == "2"
    if threads >= 0:
        assert threads == 2
