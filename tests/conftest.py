"""Shared test fixtures: an isolated environment and a CLI runner that goes through ``main``.

Tests never touch the network: provider APIs are mocked at the transport (httpx.MockTransport) or
served by a real server the test starts on 127.0.0.1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas  # noqa: F401 - see below
import pytest
from typer.testing import CliRunner

# `report --spend` and `ingest` call pandas_probe.skip_pandas_probe(), which changes how pyarrow
# treats pandas objects for the rest of the process unless pandas is already loaded. Loading it
# here makes that a no-op in this process, so in-process CLI tests cannot change the behaviour of
# tests that run after them. tests/test_pandas_probe.py runs the real thing in subprocesses.

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolate_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private LLMAUDIT_HOME, no config file, no provider keys or base URLs from the host."""
    import os

    monkeypatch.setenv("LLMAUDIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LLMAUDIT_CONFIG", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every socket call fails loudly: a test using this proves it needs no network at all."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli() -> RunCli:
    """Run ``llmaudit ARGS`` through ``llmaudit.cli.main`` (the real error boundary)."""

    def _run(args: Sequence[str], input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
        from llmaudit.cli import main

        runner = CliRunner()
        code = 0
        with runner.isolation(input=input, env=env) as streams:
            old_argv = sys.argv
            sys.argv = ["llmaudit", *map(str, args)]
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            finally:
                sys.argv = old_argv
            stdout = streams[0].getvalue().decode()
            stderr = streams[1].getvalue().decode()
        return CliResult(code, stdout, stderr)

    return _run
