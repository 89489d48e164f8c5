"""spend.html with the issue-17 sections (no browser needed): each asked-for section and its chart
spec are in the file, with the same figures as the JSON; nothing is added when none is asked for."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import RunCli

DEMO = str(Path(__file__).resolve().parents[2] / "examples" / "logs")
BASE = ["report", "--spend", DEMO, "--no-store", "--no-whatif", "--now", "2026-11-30T12:00:00Z"]


def _spec(html: str, chart_id: str) -> dict:  # type: ignore[type-arg]
    m = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S)
    assert m, chart_id
    return json.loads(m.group(1))  # type: ignore[no-any-return]


def test_sections_and_charts(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "spend.html"
    args = [*BASE, "--explain", "--forecast", "--anomalies", "--budget", "*=500/month", "--plan", "claude-max=200"]
    r = run_cli([*args, "--html", str(out), "--format", "json"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    html = out.read_text(encoding="utf-8")
    for section in ("budgets", "anomalies", "forecast", "explain", "plans"):
        assert f'id="{section}"' in html
    cache = _spec(html, "chart-cache")["data"]["datasets"][0]["data"]
    c = data["explain"]["cache"]
    assert cache == [c["uncached_tokens"], c["cache_read_tokens"], c["cache_write_5m_tokens"],
                     c["cache_write_1h_tokens"]]
    budget = _spec(html, "chart-budgets")["data"]["datasets"]
    assert budget[0]["data"] == [data["budgets"][0]["spent"]] and budget[2]["data"] == [500.0]
    forecast = _spec(html, "chart-forecast")["data"]["datasets"]
    assert [d["label"] for d in forecast] == ["spent", "expected", "low", "high"]
    sessions = _spec(html, "chart-sessions")["data"]
    assert sessions["labels"] == [s["session"] for s in data["explain"]["sessions"]["top"]]
    assert "no coding-agent logs in these inputs" in html  # the demo has none: said, no empty chart
    assert "chart-plan-0" not in html


def test_nothing_added_without_the_flags(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "spend.html"
    assert run_cli([*BASE, "--html", str(out)]).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert 'class="insight"' not in html and "chart-cache" not in html
