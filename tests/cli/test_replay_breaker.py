"""`llmaudit replay` against a provider with nothing listening ends in seconds, exits 1, and says
which provider was cut off and why, as does `report RUN_DIR` (issue 14)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path


def test_a_refused_provider_fails_fast_from_the_cli(run_cli, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"question {i}"}) + "\n" for i in range(50)))
    env = {"LLMAUDIT_OLLAMA_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    started = time.monotonic()
    res = run_cli(["replay", str(prompts), "--models", "ollama/llama3.2,sim/gpt-4o-mini", "--out",
                   str(tmp_path / "run"), "--no-cache"], env=env)
    assert time.monotonic() - started < 10  # it took 80 s: 50 prompts retried 5 times each
    stderr = " ".join(res.stderr.split())
    assert res.exit_code == 1, res.stderr
    assert "ollama cut off after 3 failures in a row (could not be reached): cannot connect to" in stderr
    assert "50 of its requests not sent (--resume sends them)" in stderr
    assert "50 requests not sent; --resume sends them" not in stderr  # said once, by the cut-off line
    assert "no successful request for ollama/llama3.2 (ollama cut off;" in stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout

    report = run_cli(["report", str(tmp_path / "run"), "--format", "json"])
    assert report.exit_code == 0, report.stderr
    warnings = json.loads(report.stdout)["warnings"]
    assert any(w.startswith("ollama cut off after 3 failures in a row") for w in warnings), warnings
