"""End to end: a provider key never reaches stdout, stderr, the run directory, the cache or a report,
even when the provider echoes it back in an error (OpenAI's 401 quotes the key it was given)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import RunCli

SECRET = "sk-proj-TOPSECRETabcdef0123456789"


class _EchoingProvider(BaseHTTPRequestHandler):
    calls = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        key = self.headers.get("authorization", "").removeprefix("Bearer ")
        type(self).calls += 1
        if type(self).calls % 2 == 1:  # every other call: a 401 that quotes the key, as OpenAI does
            payload = {"error": {"message": f"Incorrect API key provided: {key}. Authorization: Bearer {key}"}}
            status = 401
        else:
            payload = {"id": "chatcmpl-1", "object": "chat.completion", "model": "m1",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}
            status = 200
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_key_never_leaves_the_environment(run_cli: RunCli, provider: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYBOX_API_KEY", SECRET)
    (tmp_path / "llmaudit.toml").write_text(
        f'[providers.mybox]\ntype = "openai"\nbase_url = "{provider}"\napi_key_env = "MYBOX_API_KEY"\n'
    )
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(
        json.dumps({"id": f"q{i}", "prompt": "Capital of France?", "expected": "Paris"}) + "\n" for i in range(4)
    ))
    outputs = [run_cli(["replay", str(prompts), "--models", "mybox/m1,mybox/m2", "--out", "run",
                        "--max-attempts", "1", "--format", "json"])]
    outputs.append(run_cli(["report", "run", "--format", "json", "--html", "run.html"]))
    outputs.append(run_cli(["report", "run", "--format", "markdown"]))
    for result in outputs:
        assert SECRET not in result.stdout and SECRET not in result.stderr
        assert "TOPSECRET" not in result.output
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines() if line]
    errors = [r for r in rows if r["status"] == "error"]
    assert errors and all("Incorrect API key" in r["error"] for r in errors)  # the reason survives, the key not
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"TOPSECRET" not in path.read_bytes(), path
