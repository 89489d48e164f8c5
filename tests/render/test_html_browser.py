"""The HTML report in a real browser: headless chromium driven over the DevTools protocol.

It renders, the console has no errors, every chart was built, and payloads planted in prompts,
outputs, categories and model names do not execute. A screenshot is saved (to
``$LLMAUDIT_SCREENSHOT_DIR`` when set, else the test's tmp dir) so a person can look at it.

The DevTools client is a few lines of stdlib WebSocket (RFC 6455) so the test needs no extra
package. Only 127.0.0.1 is contacted; the browser runs with networking features off.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_browser() is None, reason="no chromium installed"),
]


class DevTools:
    """Minimal CDP client over a stdlib WebSocket: send commands, collect events."""

    def __init__(self, ws_url: str) -> None:
        match = re.match(r"ws://([^:/]+):(\d+)(/.*)", ws_url)
        assert match, ws_url
        host, port, path = match[1], int(match[2]), match[3]
        self.sock = socket.create_connection((host, port), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "devtools closed during handshake"
            head += chunk
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _send(self, payload: bytes) -> None:
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "devtools connection closed"
            buf += chunk
        return buf

    def _recv(self) -> dict[str, Any]:
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            data = self._exact(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise AssertionError("devtools closed the connection")
            if opcode in (0x9, 0xA):  # ping/pong: ignore
                continue
            message += data
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self._send(json.dumps({"id": my_id, "method": method, "params": params}).encode())
        while True:
            msg = self._recv()
            if msg.get("id") == my_id:
                assert "error" not in msg, msg
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.time() + timeout
        for ev in self.events:
            if ev.get("method") == method:
                return ev
        while time.time() < deadline:
            msg = self._recv()
            self.events.append(msg)
            if msg.get("method") == method:
                return msg
        raise AssertionError(f"timed out waiting for {method}")

    def evaluate(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in res, res
        return res["result"].get("value")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    exe = _browser()
    assert exe
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1280,2000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = profile / "DevToolsActivePort"
    deadline = time.time() + 30
    while time.time() < deadline and not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None:
            pytest.fail(f"chromium exited with {proc.returncode}")
        time.sleep(0.1)
    port = int(port_file.read_text().split()[0])
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _page(port: int) -> DevTools:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
        targets = json.loads(resp.read())
    page = next(t for t in targets if t.get("type") == "page")
    return DevTools(page["webSocketDebuggerUrl"])


def open_report(port: int, html: Path, shot: Path, width: int | None = None) -> tuple[DevTools, list[str]]:
    """Open ``html`` (in a window ``width`` CSS pixels wide, when given) and save a full-page screenshot."""
    dt = _page(port)
    if width is not None:
        dt.call("Emulation.setDeviceMetricsOverride", width=width, height=1000, deviceScaleFactor=1, mobile=False)
    dt.call("Runtime.enable")
    dt.call("Log.enable")
    dt.call("Page.enable")
    dt.call("Page.navigate", url=html.as_uri())
    dt.wait_for("Page.loadEventFired")
    # Charts are built on DOMContentLoaded; give the renderer one frame to paint.
    dt.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 200)))")
    png = base64.b64decode(dt.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    shot.write_bytes(png)
    errors = []
    for ev in dt.events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args", []))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(params["entry"].get("text", "")[:500])
    return dt, errors


PAYLOADS = {
    "script": "<script>window.__pwned = 'script'</script>",
    "img": "<img src=x onerror=\"window.__pwned = 'img'\">",
    "close": "</script><script>window.__pwned = 'close'</script>",
    "sep": "line\u2028sep\u2029<!--",
}


def hostile_table() -> Any:
    import pyarrow as pa

    rows = []
    models = {"a/cheap": 0.001, "b/<b>mid</b>": 0.01, "c/exp": 0.1}
    for i, (name, payload) in enumerate(PAYLOADS.items()):
        for j, (model, cost) in enumerate(models.items()):
            rows.append(
                {
                    "prompt_id": f"{name}-{payload}",
                    "model": model,
                    "provider": model.split("/")[0],
                    "status": "ok",
                    "cost_usd": cost,
                    "passed": (i + j) % 3 == 2 and name != "script",  # "script" fails everywhere
                    "latency_ms": 100.0 * (j + 1) + i,
                    "category": payload if i % 2 else "plain",
                    "output": f"answer {payload}",
                    "prompt": f"question {payload}",
                    "input_tokens": 10,
                    "output_tokens": 5,
                }
            )
    return pa.Table.from_pylist(rows)


def test_report_renders_with_charts_and_no_console_errors(browser: int, tmp_path: Path) -> None:
    from llmaudit.analysis.routing.report import RoutingOptions, build_routing
    from llmaudit.render.html import render_run_html
    from llmaudit.units import parse_volume

    report = build_routing(hostile_table(), None, RoutingOptions(volume=parse_volume("2M-requests/month")))
    html = tmp_path / "routing.html"
    html.write_text(render_run_html(report, meta={"run": PAYLOADS["img"]}), encoding="utf-8")
    shot_dir = Path(os.environ.get("LLMAUDIT_SCREENSHOT_DIR", tmp_path))
    shot = shot_dir / "routing-report.png"
    dt, errors = open_report(browser, html, shot)
    try:
        assert errors == []
        assert dt.evaluate("document.body.getAttribute('data-charts-ready')") == "4"
        built = dt.evaluate("Array.from(document.querySelectorAll('canvas[data-spec]')).map(c => !!c.chart)")
        assert built == [True, True, True, True]
        # Nothing planted executed or became markup.
        assert dt.evaluate("typeof window.__pwned") == "undefined"
        assert dt.evaluate("document.querySelectorAll('img').length") == 0
        assert dt.evaluate("document.querySelectorAll('script:not([type])').length") == 2  # Chart.js + renderer
        assert dt.evaluate("document.querySelectorAll('td b, th b').length") == 0
        text = dt.evaluate("document.body.innerText")
        assert "<script>window.__pwned = 'script'</script>" in text
        assert "b/<b>mid</b>" in text
        # The chart data survived the escaping intact (labels come back as the original strings).
        labels = dt.evaluate("document.getElementById('chart-cost-model').chart.data.labels")
        assert labels == ["a/cheap", "b/<b>mid</b>", "c/exp"]
        # Scatter points are named beside the markers (the tooltip names them too), and each kind of
        # strategy has a marker shape of its own, so one on top of another stays visible.
        scatter = "document.getElementById('chart-cost-quality').chart"
        drawn = dt.evaluate(f"{scatter}.$pointNames")
        names = dt.evaluate(f"{scatter}.data.datasets.filter(d => d.type === 'scatter').flatMap(d => d.names)")
        assert drawn and all(part in names for label in drawn for part in label.split(" = "))
        assert "a/cheap" in " = ".join(drawn)
        styles = dt.evaluate(f"{scatter}.data.datasets.filter(d => d.type === 'scatter').map(d => d.pointStyle)")
        assert len(styles) >= 3 and len(set(styles)) == len(styles)
        # Sorting a table by clicking its header reorders the rows.
        first = dt.evaluate(
            "(() => { const t = document.querySelector('#strategies table');"
            " t.tHead.rows[0].cells[1].click(); return t.tBodies[0].rows[0].cells[0].textContent.trim(); })()"
        )
        assert first == "a/cheap"
    finally:
        dt.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.slow
def test_demo_reports_render_in_the_browser(browser: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both files `llmaudit demo` writes open cleanly: no console errors, every chart built."""
    from llmaudit.cli.demo import run_demo

    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    out = tmp_path / "demo"
    run_demo(out)
    shot_dir = Path(os.environ.get("LLMAUDIT_SCREENSHOT_DIR", tmp_path))
    for name in ("spend", "routing"):
        dt, errors = open_report(browser, out / f"{name}.html", shot_dir / f"demo-{name}.png")
        try:
            assert errors == [], name
            canvases = dt.evaluate("Array.from(document.querySelectorAll('canvas[data-spec]')).map(c => !!c.chart)")
            assert canvases and all(canvases), (name, canvases)
            drawn = dt.evaluate(
                "Array.from(document.querySelectorAll('canvas[data-spec]'))"
                ".every(c => c.chart.data.datasets.some(d => d.data.length > 0))"
            )
            assert drawn, name
        finally:
            dt.close()


def test_spend_report_with_issue_17_sections(browser: int, tmp_path: Path, run_cli: Any) -> None:
    """Budgets, anomalies, forecast, --explain and a plan in spend.html: every chart builds, nothing a
    user name plants executes, and the session chart's labels survive escaping."""
    from datetime import UTC, datetime, timedelta

    import pyarrow.parquet as pq

    from llmaudit.schema import from_pylist

    start = datetime(2026, 9, 1, 9, tzinfo=UTC)
    rows = []
    for i in range(60):
        when = start + timedelta(days=i)
        for n, user in enumerate(("alice", PAYLOADS["script"])):
            rows.append({"timestamp": when + timedelta(minutes=n * 20), "provider": "anthropic",
                         "model": "anthropic/claude-sonnet-4-5", "model_raw": "claude-sonnet-4-5",
                         "input_tokens": 20_000 * (8 if i == 45 and n == 0 else 1), "cache_read_tokens": 10_000,
                         "cache_write_tokens": 2_000, "cache_write_1h_tokens": 0, "output_tokens": 500,
                         "reasoning_tokens": 0, "requests": 1, "cost_usd": None, "billed_cost_usd": None,
                         "price_status": None, "source_format": "claude-code", "user": user, "project": "p",
                         "tags": ["batchable"] if n else ["chat"]})
    log = tmp_path / "usage.parquet"
    pq.write_table(from_pylist(rows), log)
    html = tmp_path / "spend.html"
    r = run_cli(["report", "--spend", str(log), "--no-store", "--now", "2026-10-31T12:00:00Z", "--budget",
                 "*=20/month", "--anomalies", "--forecast", "--explain", "--plan", "claude-pro=20/month",
                 "--html", str(html)])
    assert r.exit_code in (0, 3, 4), r.stderr  # 3/4: the budget is projected to be / was passed
    shot = Path(os.environ.get("LLMAUDIT_SCREENSHOT_DIR", tmp_path)) / "spend-insights.png"
    dt, errors = open_report(browser, html, shot)
    try:
        assert errors == []
        for section in ("budgets", "anomalies", "forecast", "explain", "plans"):
            assert dt.evaluate(f"!!document.getElementById('{section}')"), section
        built = dt.evaluate("Array.from(document.querySelectorAll('canvas[data-spec]'))"
                            ".map(c => c.id + ':' + !!c.chart)")
        ids = {b.split(":")[0] for b in built}
        assert {"chart-budgets", "chart-forecast", "chart-cache", "chart-explain-cost", "chart-sessions",
                "chart-plan-0"} <= ids, built
        assert all(b.endswith(":true") for b in built), built
        assert dt.evaluate("typeof window.__pwned") == "undefined"
        labels = dt.evaluate("document.getElementById('chart-sessions').chart.data.labels")
        assert any(PAYLOADS["script"] in label for label in labels), labels
    finally:
        dt.close()


SAVINGS_FIT = """(() => {
  const table = document.getElementById('routing-savings'), box = table.parentElement.getBoundingClientRect();
  const heads = Array.from(table.tHead.rows[0].cells);
  return {overflow: table.parentElement.scrollWidth - table.parentElement.clientWidth,
          heads: heads.map(th => th.textContent),
          hidden: heads.filter(th => th.getBoundingClientRect().right > box.right + 0.5).map(th => th.textContent),
          fee: document.getElementById('routing-fee').getBoundingClientRect().right <= box.right + 0.5
               && document.getElementById('routing-fee').textContent};
})()"""


def test_spend_report_fits_a_laptop_and_names_files_and_times_plainly(browser: int, tmp_path: Path,
                                                                      run_cli: Any) -> None:
    """Issue 14: at 1400 px the routing-savings table shows every column (Routes to, Failover, the fee)
    without a scrollbar; at 900 px the page itself does not scroll sideways. Screenshots at both."""
    repo = Path(__file__).resolve().parents[2]
    html = tmp_path / "spend.html"
    result = run_cli(["report", "--spend", str(repo / "examples" / "logs"), "--html", str(html), "--no-store",
                      "--format", "json"])
    assert result.exit_code == 0, result.stderr
    shot_dir = Path(os.environ.get("LLMAUDIT_SCREENSHOT_DIR", tmp_path))
    for width in (1400, 900):
        shot = shot_dir / f"spend-{width}.png"
        dt, errors = open_report(browser, html, shot, width=width)
        try:
            assert errors == []
            assert dt.evaluate("window.innerWidth") == width
            assert dt.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            if width == 1400:
                fit = dt.evaluate(SAVINGS_FIT)
                assert fit["overflow"] <= 0, fit
                assert fit["hidden"] == [], fit
                assert {"Routes to", "Failover", "Annual savings", "Range"} <= set(fit["heads"])
                assert fit["fee"] and "fee" in fit["fee"], fit
            # billed-vs-recomputed names files relative to the input; the full path is the title
            where = dt.evaluate("Array.from(document.querySelectorAll('#reconciliation td[title]'))"
                                ".map(td => [td.textContent, td.title])")
            assert where and all(not text.startswith("/") and title.endswith(text) and title.startswith(str(repo))
                                 for text, title in where), where[:3]
            header = dt.evaluate("document.querySelector('header').innerText")
            footer = dt.evaluate("document.querySelector('footer').innerText")
            assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", header + footer)
            assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4} … \d{1,2} [A-Z][a-z]{2} \d{4}", header), header
            assert re.search(r"at \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC", footer), footer
        finally:
            dt.close()
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_sweep_report_draws_latency_against_throughput(browser: int, tmp_path: Path, run_cli) -> None:
    """Issue 18 #4: the sweep page opens cleanly and its chart has a point per load level."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "replay"))
    from tokenserver import run_token_server

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"prompt {i}"}) + "\n" for i in range(8)))
    with run_token_server(ttft_s=0.02, itl_s=0.005, tokens=6, slowdown=0.5) as server:
        config = tmp_path / "llmaudit.toml"
        config.write_text(f'[providers.local]\ntype = "openai"\nbase_url = "{server.base_url}"\n')
        made = run_cli(["replay", str(prompts), "-m", "local/tok", "--out", str(tmp_path / "sweep"), "--config",
                        str(config), "--sweep", "concurrency=1,2,8"])
        assert made.exit_code == 0, made.output
    html = tmp_path / "sweep.html"
    assert run_cli(["report", str(tmp_path / "sweep"), "--html", str(html)]).exit_code == 0
    shot_dir = Path(os.environ.get("LLMAUDIT_SCREENSHOT_DIR", tmp_path))
    dt, errors = open_report(browser, html, shot_dir / "sweep.png")
    try:
        assert errors == []
        points = dt.evaluate("document.getElementById('chart-sweep').chart.data.datasets[0].data.length")
        assert points == 3
        rows = dt.evaluate("document.querySelectorAll('#levels tbody tr').length")
        assert rows == 3
    finally:
        dt.close()
