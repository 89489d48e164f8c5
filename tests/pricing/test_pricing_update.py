"""`pricing update` against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROUTES = {
    "/api/v1/models": (FIXTURES / "openrouter_models.json").read_bytes(),
    "/litellm.json": (FIXTURES / "litellm_small.json").read_bytes(),
    "/garbage": b"<html>not json</html>",
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = ROUTES.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _err(res) -> str:
    return " ".join(res.stderr.split())


def test_update_stores_dated_overlay(run_cli, server: str, tmp_path: Path) -> None:
    env = {"LLMAUDIT_OPENROUTER_MODELS_URL": f"{server}/api/v1/models",
           "LLMAUDIT_LITELLM_PRICES_URL": f"{server}/litellm.json"}
    res = run_cli(["pricing", "update"], env=env)
    assert res.exit_code == 0, res.stderr
    overlays = sorted(p.name for p in (tmp_path / "home" / "pricing").glob("*.json"))
    assert [n.split("-2")[0] for n in overlays] == ["update-litellm", "update-openrouter"]
    shown = json.loads(run_cli(["pricing", "show", "openai/gpt-4o", "--format", "json"]).stdout)
    assert shown["price"]["input"] == "2"  # the downloaded price is now the latest
    assert shown["history"][-2]["input"] == "2.5"  # and the shipped history is kept


def test_update_offline_leaves_catalog_untouched(run_cli, tmp_path: Path) -> None:
    # A closed port on 127.0.0.1: the connection is refused, as when offline.
    env = {"LLMAUDIT_OPENROUTER_MODELS_URL": "http://127.0.0.1:9/none",
           "LLMAUDIT_LITELLM_PRICES_URL": "http://127.0.0.1:9/none"}
    res = run_cli(["pricing", "update", "--timeout", "2"], env=env)
    assert res.exit_code == 2
    assert "could not fetch" in _err(res) and "shipped catalog is unchanged" in _err(res)
    assert not (tmp_path / "home" / "pricing").exists()
    shown = json.loads(run_cli(["pricing", "show", "openai/gpt-4o", "--format", "json"]).stdout)
    assert shown["price"]["input"] == "2.5"


def test_update_partial_failure_is_reported(run_cli, server: str) -> None:
    env = {"LLMAUDIT_OPENROUTER_MODELS_URL": f"{server}/api/v1/models",
           "LLMAUDIT_LITELLM_PRICES_URL": f"{server}/garbage"}
    res = run_cli(["pricing", "update"], env=env)
    assert res.exit_code == 0
    assert "litellm" in _err(res) and "did not return JSON" in _err(res)
