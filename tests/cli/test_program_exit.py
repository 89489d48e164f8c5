"""The installed program (``cli.run``) leaves with ``os._exit`` to skip the interpreter's teardown:
its output, files, exit codes and ``atexit`` handlers must be those of a normal exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "logs"


def _llmaudit(*args: str, tmp_path: Path, **kw: object) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LLMAUDIT_HOME": str(tmp_path / "home"), "TZ": "UTC"}
    return subprocess.run([sys.executable, "-m", "llmaudit", *args], env=env, capture_output=True,
                          timeout=120, **kw)  # type: ignore[call-overload]


def test_a_large_stdout_arrives_whole_with_exit_0(tmp_path: Path) -> None:
    done = _llmaudit("report", "--spend", str(EXAMPLES), "--format", "json", "--no-store", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)   # all of it: nothing left in a buffer at exit
    assert report["report"] == "spend"


def test_exit_codes_and_messages_are_kept(tmp_path: Path) -> None:
    missing = _llmaudit("report", "--spend", str(tmp_path / "nope"), tmp_path=tmp_path)
    assert missing.returncode == 2
    assert b"no such file or directory" in missing.stderr
    usage = _llmaudit("report", "--spend", str(EXAMPLES), "--format", "xml", tmp_path=tmp_path)
    assert usage.returncode == 2
    assert usage.stderr.startswith(b"error: ")


def test_files_written_by_a_command_are_complete(tmp_path: Path) -> None:
    out, rejects = tmp_path / "rows.parquet", tmp_path / "rejects.jsonl"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id":"chatcmpl-1","object":"chat.completion","created":1730000000,"model":"gpt-4o",'
        '"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}\n'
        '{"id":"chatcmpl-2","object":"chat.completion","created":1730000000,"model":"gpt-4o",'
        '"usage":{"prompt_tokens":-3,"completion_tokens":5,"total_tokens":2}}\n'
    )
    done = _llmaudit("ingest", str(bad), "--out", str(out), "--rejects", str(rejects), "--no-store",
                     tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == 1
    lines = rejects.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["line"] == 2


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    env = {**os.environ, "LLMAUDIT_HOME": str(tmp_path / "home"), "TZ": "UTC"}
    proc = subprocess.Popen([sys.executable, "-m", "llmaudit", "pricing", "list", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()   # like `| head -c 100`
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert b"Traceback" not in err and b"Exception ignored" not in err


def _marker_after_run(tmp_path: Path, setup: str, argv: list[str]) -> str:
    """Run the ``llmaudit`` program after ``setup`` (Python lines that may write ``MARKER``) in a
    fresh interpreter; what the marker file holds once the process has ended ("" if nothing)."""
    marker = tmp_path / "marker"
    code = (f"import atexit, pathlib, sys, threading, time\nMARKER = pathlib.Path({str(marker)!r})\n{setup}\n"
            f"sys.argv = ['llmaudit', *{argv!r}]\nfrom llmaudit.cli import run\nrun()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                          env={**os.environ, "LLMAUDIT_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    return marker.read_text() if marker.exists() else ""


def test_atexit_handlers_still_run(tmp_path: Path) -> None:
    setup = "atexit.register(lambda: MARKER.write_text('yes'))"
    assert _marker_after_run(tmp_path, setup, ["pricing", "show", "openai/gpt-4o"]) == "yes"


_LOADED = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nRICH-LOADED=%s\\n" % ("rich" in sys.modules)))
from llmaudit.cli import run
sys.argv = ["llmaudit", *sys.argv[1:]]
run()
"""


def test_json_and_help_do_not_import_rich(tmp_path: Path) -> None:
    """rich costs 0.05 s to import: a JSON report on a pipe, and ``--help``, do without it; a table needs it."""
    env = {**os.environ, "LLMAUDIT_HOME": str(tmp_path / "home"), "TZ": "UTC"}

    def loaded(*args: str) -> bool:
        done = subprocess.run([sys.executable, "-c", _LOADED, *args], capture_output=True, text=True, env=env,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return "RICH-LOADED=True" in done.stderr

    assert not loaded("report", "--spend", str(EXAMPLES), "--format", "json", "--no-store")
    assert not loaded("--help")
    assert loaded("report", "--spend", str(EXAMPLES), "--no-store")


def test_a_thread_still_working_is_waited_for(tmp_path: Path) -> None:
    """As at a normal exit, a non-daemon thread finishes before the process ends."""
    setup = "threading.Thread(target=lambda: (time.sleep(0.5), MARKER.write_text('yes'))).start()"
    assert _marker_after_run(tmp_path, setup, ["--version"]) == "yes"
