"""Per-model run statistics and their renderings, on a hand-built results table."""

from __future__ import annotations

import json
from decimal import Decimal

from rich.console import Console

from llmaudit.analysis.routing.runstats import build_runstats
from llmaudit.render.run import render_run
from llmaudit.render.run_text import run_warnings
from llmaudit.replay.rundir import results_table


def _row(model: str, pid: str, **kw: object) -> dict:
    base = {"model": model, "provider": model.split("/")[0], "prompt_id": pid, "status": "ok", "repeat": 0,
            "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.001, "latency_ms": 100.0, "ttft_ms": 40.0,
            "tokens_per_s": 50.0, "cached": False, "usage_source": "reported", "passed": True}
    return {**base, **kw}


ROWS = [
    _row("openai/a", "p1", latency_ms=100.0),
    _row("openai/a", "p2", latency_ms=200.0, passed=False, cost_usd=0.003),
    _row("openai/a", "p3", latency_ms=300.0, passed=None),
    _row("openai/a", "p4", status="error", error="HTTP 500", input_tokens=None, output_tokens=None, cost_usd=None,
         latency_ms=None, ttft_ms=None, tokens_per_s=None, passed=None),
    _row("openai/a", "p5", cached=True, latency_ms=None, ttft_ms=None, tokens_per_s=None),
    _row("acme/b", "p1", cost_usd=None, usage_source="estimated"),
    _row("acme/b", "p2", cost_usd=None, usage_source="estimated"),
]
MANIFEST = {"models": ["openai/a", "acme/b"], "prompts": {"count": 5}, "settings": {"repeats": 1},
            "status": "complete", "catalog_as_of": "2026-10-06"}


def test_definitions() -> None:
    stats = build_runstats(results_table(ROWS), MANIFEST, "run")
    a, b = stats.models
    assert (a.requests, a.ok, a.errors, a.error_rate) == (5, 4, 1, 0.2)
    assert (a.checked, a.passed, a.pass_rate) == (3, 2, 2 / 3)  # p3 has no check, p4 errored
    assert a.cost_usd == Decimal("0.006") and a.cost_per_request == Decimal("0.0015")
    assert a.cost_per_1k_requests == Decimal("1.5")
    assert (a.latency_p50_ms, a.timed, a.cached) == (200.0, 3, 1)  # the cached answer is left out
    assert a.latency_p95_ms == 290.0 and a.ttft_p50_ms == 40.0 and a.input_tokens == 400
    assert b.cost_usd is None and b.unpriced == 2 and b.cost_per_request is None and b.estimated_usage == 2
    assert stats.planned == 10 and stats.not_sent == 3 and stats.status == "incomplete"
    assert any("acme/b: 2 answered requests have no price" in w for w in run_warnings(stats))
    assert any("3 of 10 requests have no result" in w for w in run_warnings(stats))


def test_renderings_show_unknown_and_never_zero() -> None:
    stats = build_runstats(results_table(ROWS), MANIFEST, "run")
    data = json.loads(render_run(stats, "json"))  # type: ignore[arg-type]
    assert "notice" not in data and data["models"][0]["cost_usd"] == "0.006"
    assert data["models"][1]["cost_usd"] is None and data["models"][1]["unpriced"] == 2
    csv_text = render_run(stats, "csv")
    assert "acme/b,acme,unpriced: 2 requests; estimated tokens: 2 requests" in csv_text  # type: ignore[operator]
    assert ",unpriced," in csv_text  # type: ignore[operator]
    md = render_run(stats, "markdown")
    assert "unpriced (2)" in md and "SIMULATED" not in md  # type: ignore[operator]
    console = Console(width=100, record=True, file=open("/dev/null", "w"))
    console.print(render_run(stats, "table"))
    text = console.export_text()
    assert "unpriced (2)" in text and "$0.001500" in text and "20.0%" in text and "66.7%" in text


def test_simulated_runs_say_so_everywhere() -> None:
    rows = [_row("sim/gpt-4o-mini", "p1", simulated=True)]
    stats = build_runstats(results_table(rows), {"models": ["sim/gpt-4o-mini"]}, "run")
    assert stats.simulated
    for fmt in ("json", "csv", "markdown"):
        assert "SIMULATED" in render_run(stats, fmt), fmt  # type: ignore[operator]
    console = Console(width=100, record=True, file=open("/dev/null", "w"))
    console.print(render_run(stats, "table"))
    assert "SIMULATED" in console.export_text()
