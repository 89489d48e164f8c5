"""`report --spend --explain` end to end on the demo logs (issue 17 #4): every section's figures add up
to the totals elsewhere in the same report, in JSON; the table, Markdown and CSV show each section."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli

DEMO = str(Path(__file__).resolve().parents[2] / "examples" / "logs")
ARGS = ["report", "--spend", DEMO, "--explain", "--no-whatif", "--no-store", "--now", "2026-11-30T12:00:00Z"]


def _d(value: Any) -> Decimal:
    return Decimal(repr(value))


@pytest.fixture
def report(run_cli: RunCli) -> dict[str, Any]:
    r = run_cli([*ARGS, "--format", "json"])
    assert r.exit_code == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_cache_section_adds_up(report: dict[str, Any]) -> None:
    c, totals = report["explain"]["cache"], report["totals"]
    parts = c["uncached_tokens"] + c["cache_read_tokens"] + c["cache_write_5m_tokens"] + c["cache_write_1h_tokens"]
    assert parts == c["input_tokens"] == totals["input_tokens"]
    assert c["cache_read_tokens"] == totals["cache_read_tokens"]
    assert c["cache_write_5m_tokens"] + c["cache_write_1h_tokens"] == totals["cache_write_tokens"]
    assert c["hit_rate"] == pytest.approx(totals["cache_read_tokens"] / totals["input_tokens"], abs=1e-6)
    assert _d(c["cost"]) == _d(totals["cost"])
    assert _d(c["cost_without_cache"]) - _d(c["cost"]) == _d(c["saved"]) > 0
    # The demo's Anthropic traffic writes with both TTLs and leaves some writes unread.
    assert c["cache_write_1h_tokens"] > 0 and c["cache_write_5m_tokens"] > 0
    assert 0 < c["unread_tokens"] <= c["cache_write_5m_tokens"] + c["cache_write_1h_tokens"]
    assert 0 < c["unread_premium"] <= c["write_5m_premium"] + c["write_1h_premium"]


def test_batch_section_adds_up(report: dict[str, Any]) -> None:
    b, totals = report["explain"]["batch"], report["totals"]
    assert b["requests"] + b["already_batch_requests"] + b["other_requests"] == totals["requests"]
    assert _d(b["cost"]) + _d(b["already_batch_cost"]) + _d(b["other_cost"]) == _d(totals["cost"])
    # The demo tags its nightly reports batch-report: 395 requests, half price where a batch rate exists.
    tagged = next(r for r in report["breakdowns"]["tag"]["rows"] if r["tag"] == "batch-report")
    assert b["requests"] == tagged["requests"] == 395
    assert _d(b["cost"]) == _d(tagged["cost"])
    assert _d(b["saving"]) == _d(b["cost_with_batch_rate"]) - _d(b["at_batch_rates"]) > 0
    assert b["cost_with_batch_rate"] <= b["cost"]


def test_sessions_add_up(report: dict[str, Any]) -> None:
    s, totals = report["explain"]["sessions"], report["totals"]
    assert s["requests"] == totals["requests"]
    assert _d(s["cost"]) == _d(totals["cost"])
    costs = [_d(t["cost"]) for t in s["top"]]
    assert costs == sorted(costs, reverse=True) and len(costs) == 10
    # No session ids in the demo: a session is user · project · day, and the top one is no bigger than its day.
    day = s["top"][0]["session"].rsplit(" · ", 1)[-1]
    day_cost = next(r["cost"] for r in report["breakdowns"]["day"]["rows"] if r["day"] == day)
    assert costs[0] <= _d(day_cost)


def test_prompt_growth_per_user(report: dict[str, Any]) -> None:
    users = report["explain"]["users"]
    by_user = {r["user"]: r["requests"] for r in report["breakdowns"]["user"]["rows"]}
    # Every demo user has a month of traffic: all are listed, with their requests from the user breakdown.
    assert {u["user"]: u["requests"] for u in users} == by_user
    growth = [u["growth"] for u in users]
    assert growth == sorted(growth, reverse=True)
    for u in users:
        assert u["growth"] == pytest.approx(u["late_mean_prompt"] / u["early_mean_prompt"], rel=1e-3)


def test_gap_causes_add_up_to_billed_vs_recomputed(report: dict[str, Any]) -> None:
    gaps, rec = report["explain"]["gaps"], report["billed_vs_recomputed"]
    assert sum(g["rows"] for g in gaps) == rec["differing_rows"] > 0
    assert sum(_d(g["difference"]) for g in gaps) == pytest.approx(_d(rec["differing_difference"]), abs=Decimal("1e-9"))
    assert sum(_d(g["billed"]) for g in gaps) == pytest.approx(_d(rec["differing_billed"]), abs=Decimal("1e-9"))


def test_every_format_shows_each_section(run_cli: RunCli) -> None:
    table = run_cli([*ARGS, "--wide"])
    assert table.exit_code == 0, table.stderr
    md = run_cli([*ARGS, "--format", "markdown"])
    for title in ("Cache economics", "Batch API candidates", "Sessions and prompt growth",
                  "Billed vs recomputed gaps by cause", "Costliest sessions"):
        assert title in table.stdout and title in md.stdout
    rows = list(csv.reader(io.StringIO(run_cli([*ARGS, "--format", "csv"]).stdout)))
    sections = {r[0] for r in rows if len(r) == 4}
    assert {"cache", "batch", "sessions", "gap", "session"} <= sections


def test_batchable_needs_explain(run_cli: RunCli) -> None:
    r = run_cli(["report", "--spend", DEMO, "--batchable", "tag:x", "--no-store"])
    assert r.exit_code == 2 and "--batchable needs --explain" in r.stderr
    r = run_cli([*ARGS, "--batchable", "latency:fast"])
    assert r.exit_code == 2 and "latency:30s" in r.stderr


def test_report_currency_scales_every_figure(run_cli: RunCli) -> None:
    r = run_cli([*ARGS, "--format", "json", "--currency", "EUR", "--fx-rate", "0.5"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    e, totals = data["explain"], data["totals"]
    assert e["currency"] == "EUR"
    assert _d(e["cache"]["cost"]) == _d(totals["cost"]) == pytest.approx(Decimal("47.47363409"), abs=Decimal("1e-8"))
    assert _d(e["sessions"]["cost"]) == _d(totals["cost"])
    assert _d(e["batch"]["cost"]) + _d(e["batch"]["other_cost"]) == _d(totals["cost"])
