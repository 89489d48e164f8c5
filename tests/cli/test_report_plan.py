"""`report --spend --plan` (issue 17 #5): coding-agent traffic at API prices per 5-hour window, week and
month against a subscription's price, from flags and from [plan] in llmaudit.toml."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from llmaudit.analysis.spend.subscription import parse_plan
from llmaudit.errors import UsageError
from llmaudit.schema import from_pylist
from tests.conftest import RunCli

NOW = "2026-03-31T12:00:00Z"


def _row(day: int, hh: int, mm: int, cost: float, source: str = "claude-code") -> dict[str, Any]:
    return {"timestamp": datetime(2026, 3, day, hh, mm, tzinfo=UTC), "provider": "anthropic",
            "model": "anthropic/claude-sonnet-4-5", "model_raw": "claude-sonnet-4-5", "input_tokens": 1000,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 10, "reasoning_tokens": 0,
            "requests": 1, "cost_usd": cost, "billed_cost_usd": None, "price_status": "priced",
            "source_format": source}


@pytest.fixture
def log(tmp_path: Path) -> str:
    rows = [_row(2, 9, 0, 1.0), _row(2, 9, 30, 1.0),  # one window: $2
            _row(2, 14, 10, 0.5),                      # 5 h 10 min after 09:00: a second window
            _row(9, 10, 0, 50.0),                      # the next week
            _row(9, 11, 0, 7.0, source="codex"),       # another agent's plan
            _row(9, 12, 0, 99.0, source="anthropic")]  # not a coding agent: in no plan
    path = tmp_path / "agents.parquet"
    pq.write_table(from_pylist(rows), path)
    return str(path)


def _json(run_cli: RunCli, args: list[str]) -> dict[str, Any]:
    r = run_cli(["report", "--spend", *args, "--no-whatif", "--no-store", "--now", NOW, "--format", "json"])
    assert r.exit_code == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_windows_weeks_months_against_two_plans(run_cli: RunCli, log: str) -> None:
    data = _json(run_cli, [log, "--plan", "claude-max=200/month", "--plan", "claude-pro=20"])
    sub = data["subscription"]
    assert sub["agents"] == {"claude-code": 4, "codex": 1}
    max_, pro = sub["plans"]
    assert max_["agents"] == ["claude-code"] and max_["price_per_5h"] == pytest.approx(200 / (365.2425 / 12 * 24 / 5))
    assert [w["cost"] for w in max_["window_list"]] == [2.0, 0.5, 50.0]
    assert [w["start"][:16] for w in max_["window_list"]] == ["2026-03-02T09:00", "2026-03-02T14:10",
                                                              "2026-03-09T10:00"]
    # $2 and $50 windows cost more than Max's $1.37 per 5 hours; the $0.50 one only more than Pro's $0.137.
    assert [w["dearest_plan_hit"] for w in max_["window_list"]] == ["claude-max", "claude-pro", "claude-max"]
    assert sub["windows_by_dearest_plan_hit"] == {"claude-max": 2, "claude-pro": 1}
    assert (max_["windows_at_pace"], pro["windows_at_pace"]) == (2, 3)
    assert [w["cost"] for w in max_["weeks"]] == [2.5, 50.0] and max_["weeks_at_pace"] == 1  # ≥ $46.00 a week
    assert max_["api_equivalent"] == 52.5 and max_["plan_cost"] == 200 and max_["pays_off"] is False
    assert pro["pays_off"] is True and pro["saving"] == 32.5 and pro["months_paid_off"] == 1


def test_plan_from_config_and_formats(run_cli: RunCli, log: str, tmp_path: Path) -> None:
    cfg = tmp_path / "llmaudit.toml"
    cfg.write_text('[plan]\nchatgpt-plus = "20/month"\n', encoding="utf-8")
    data = _json(run_cli, [log, "--config", str(cfg)])
    (plus,) = data["subscription"]["plans"]
    assert plus["agents"] == ["codex"] and plus["api_equivalent"] == 7.0 and plus["pays_off"] is False
    base = ["report", "--spend", log, "--no-whatif", "--no-store", "--now", NOW, "--config", str(cfg)]
    table = run_cli([*base, "--wide"])
    assert "Subscription break-even" in table.stdout and "chatgpt-plus" in table.stdout
    assert "| chatgpt-plus | codex |" in run_cli([*base, "--format", "markdown"]).stdout
    rows = list(csv.reader(io.StringIO(run_cli([*base, "--format", "csv"]).stdout)))
    months = [r for r in rows if r and r[0] == "plan_month"]
    assert months == [["plan_month", "chatgpt-plus", "2026-03", "2026-03-01", "7", "1", "0", "20", "False", "USD"]]


@pytest.mark.parametrize("text", ["claude-max", "claude-max=lots", "claude-max=200/fortnight", "=20"])
def test_bad_plans_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="--plan"):
        parse_plan(text)


def test_bad_plan_in_config_names_the_file(run_cli: RunCli, log: str, tmp_path: Path) -> None:
    cfg = tmp_path / "llmaudit.toml"
    cfg.write_text('[plan]\nclaude-max = "200/fortnight"\n', encoding="utf-8")
    r = run_cli(["report", "--spend", log, "--no-store", "--config", str(cfg)])
    assert r.exit_code == 2 and "llmaudit.toml: [plan] claude-max" in r.stderr and "fortnight" in r.stderr


def test_yearly_and_weekly_prices_per_month() -> None:
    assert parse_plan("x=240/year").monthly == Decimal(20)
    assert parse_plan("x=7/week").monthly == Decimal("365.2425") / 12


def test_claude_code_transcripts_end_to_end(run_cli: RunCli) -> None:
    """Read by the Claude Code reader itself (the fixture transcripts), not a prepared parquet."""
    fixture = Path(__file__).resolve().parents[1] / "ingest" / "fixtures" / "claude"
    data = _json(run_cli, [str(fixture), "--plan", "claude-pro=20/month"])
    sub = data["subscription"]
    (pro,) = sub["plans"]
    assert sub["agents"]["claude-code"] == sum(w["requests"] for w in pro["window_list"]) > 0
    assert _dec(pro["api_equivalent"]) == sum(_dec(w["cost"]) for w in pro["window_list"])
    assert pro["pays_off"] is False and pro["windows"] == len(pro["window_list"])


def _dec(value: float) -> Decimal:
    return Decimal(repr(value))
