"""`report --spend --budget ...` (issue 17.1): where each budget stands, in every format, and the
exit codes cron and CI act on (0 ok, 3 projected to be passed, 4 passed; 4 wins)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from llmaudit.schema import from_pylist
from tests.conftest import RunCli

NOW = "2026-11-20T12:00:00Z"  # a Friday; ISO week 2026-W47 runs Mon 16 .. Sun 22 November


def _row(when: str, model: str, cost: float | None, *, user: str = "alice", tags: list[str] | None = None,
         key: str | None = None, project: str | None = None, rid: str = "") -> dict[str, object]:
    provider = model.split("/", 1)[0]
    return {"timestamp": datetime.fromisoformat(when.replace("Z", "+00:00")), "provider": provider, "model": model,
            "model_raw": model, "input_tokens": 1000, "cache_read_tokens": 0, "cache_write_tokens": 0,
            "output_tokens": 100, "reasoning_tokens": 0, "requests": 1, "cost_usd": cost, "billed_cost_usd": None,
            "price_status": "priced" if cost is not None else "unknown_model", "source_format": "test",
            "user": user, "tags": tags or [], "api_key": key, "project": project, "request_id": rid or None}


@pytest.fixture
def logs(tmp_path: Path) -> str:
    """November 2026: anthropic $1.00/day and openai $0.10/day from the 1st to the 20th (noon),
    bob's unpriced acme requests on the 18th and 19th, and a row after --now that must not count."""
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    rows = []
    for i in range(20):
        day = (start + timedelta(days=i)).isoformat()
        rows.append(_row(day, "anthropic/claude-sonnet-4-5", 1.0, tags=["code"], key="prod", project="app",
                         rid=f"a{i}"))
        rows.append(_row(day, "openai/gpt-4o", 0.1, user="bob", rid=f"o{i}"))
    rows.append(_row("2026-11-18T10:00:00Z", "acme/chat-7b", None, user="bob", rid="u1"))
    rows.append(_row("2026-11-19T10:00:00Z", "acme/chat-7b", None, user="bob", rid="u2"))
    rows.append(_row("2026-11-25T10:00:00Z", "anthropic/claude-sonnet-4-5", 50.0, rid="future"))
    path = tmp_path / "usage.parquet"
    pq.write_table(from_pylist(rows), path)
    return str(path)


def _report(run_cli: RunCli, logs: str, *args: str, fmt: str = "json") -> tuple[int, dict[str, object], str]:
    r = run_cli(["report", "--spend", logs, "--now", NOW, "--no-whatif", "--by", "model", "--format", fmt, *args])
    assert r.exit_code in (0, 3, 4), r.stderr
    return r.exit_code, (json.loads(r.stdout) if fmt == "json" else {}), r.stdout


def _budgets(data: dict[str, object]) -> dict[str, dict[str, object]]:
    return {b["scope"]: b for b in data["budgets"]}  # type: ignore[attr-defined, index]


def test_within_budget_exits_0_with_figures(run_cli: RunCli, logs: str) -> None:
    code, data, _ = _report(run_cli, logs, "--budget", "anthropic/*=100/month", "--budget", "*=200/month")
    assert code == 0
    b = _budgets(data)["anthropic/*"]
    # 20 days at $1.00; run rate $1.00/day over the last 7 complete days; 10.5 days left in November.
    assert (b["spent"], b["run_rate_per_day"], b["days_left"], b["projected"]) == (20.0, 1.0, 10.5, 30.5)
    assert (b["period_start"], b["period_end"], b["status"], b["share"]) == ("2026-11-01", "2026-11-30", "ok", 0.2)
    assert b["matched"] == ["anthropic/claude-sonnet-4-5"]
    assert _budgets(data)["*"]["spent"] == 22.0  # the row after --now is not spent yet
    assert data["budget_exit_code"] == 0


def test_projected_over_exits_3(run_cli: RunCli, logs: str) -> None:
    code, data, _ = _report(run_cli, logs, "--budget", "anthropic/*=25/month")
    assert code == 3
    assert _budgets(data)["anthropic/*"]["status"] == "projected-over"


def test_over_exits_4_and_wins_over_3(run_cli: RunCli, logs: str) -> None:
    code, data, _ = _report(run_cli, logs, "--budget", "anthropic/*=25/month", "--budget", "user:bob=1.5/month")
    assert code == 4
    b = _budgets(data)
    assert (b["anthropic/*"]["status"], b["user:bob"]["status"]) == ("projected-over", "over")
    assert data["budget_exit_code"] == 4


def test_alert_at_and_the_week_period(run_cli: RunCli, logs: str) -> None:
    # This ISO week (Mon 16 .. now): five anthropic days = $5; at $1/day, 2.5 days left: $7.50.
    code, data, _ = _report(run_cli, logs, "--budget", "tag:code=8/week", "--alert-at", "60%")
    b = _budgets(data)["tag:code"]
    assert (b["period_start"], b["period_end"], b["spent"], b["projected"]) == ("2026-11-16", "2026-11-22", 5.0, 7.5)
    assert (b["status"], b["alert_at"], code) == ("alert", 0.6, 0)
    code, data, _ = _report(run_cli, logs, "--budget", "key:prod=8/week", "--budget", "project:app=2/day")
    assert _budgets(data)["key:prod"]["status"] == "ok"
    assert _budgets(data)["project:app"]["spent"] == 1.0  # today's row (09:00 UTC) only
    assert code == 0


def test_money_is_exact(run_cli: RunCli, logs: str) -> None:
    # Twenty rows of $0.10: float addition gives 2.0000000000000004 > 2, a false "over".
    code, data, _ = _report(run_cli, logs, "--budget", "openai/gpt-4o*=2/month", "--now", "2026-11-20T23:59:00Z")
    assert _budgets(data)["openai/gpt-4o*"]["spent"] == 2.0
    assert _budgets(data)["openai/gpt-4o*"]["status"] == "projected-over"  # not "over": $2.00 is not past $2
    assert code == 3


def test_timezone_moves_the_period_boundary(run_cli: RunCli, tmp_path: Path) -> None:
    # Sunday 15 Nov 23:30 UTC is Monday 16 Nov 00:30 in Berlin: this week there, last week in UTC.
    path = tmp_path / "tz.parquet"
    pq.write_table(from_pylist([_row("2026-11-15T23:30:00Z", "openai/gpt-4o", 3.0)]), path)
    args = ["--budget", "*=10/week"]
    _, utc, _ = _report(run_cli, str(path), *args)
    _, berlin, _ = _report(run_cli, str(path), *args, "--timezone", "Europe/Berlin")
    assert _budgets(utc)["*"]["spent"] == 0.0
    assert _budgets(berlin)["*"]["spent"] == 3.0


def test_unpriced_requests_are_shown_in_every_format(run_cli: RunCli, logs: str) -> None:
    args = ["--budget", "user:bob=50/month"]
    _, data, _ = _report(run_cli, logs, *args)
    b = _budgets(data)["user:bob"]
    assert (b["unpriced_requests"], b["requests"], b["spent"]) == (2, 22, 2.0)
    _, _, md = _report(run_cli, logs, *args, fmt="markdown")
    assert "## Budgets" in md and "$2.00 + 2 unpriced (not counted)" in md
    assert "user:bob: 2 requests in scope could not be priced" in md
    r = run_cli(["report", "--spend", logs, "--now", NOW, "--no-whatif", "--by", "model", *args],
                env={"COLUMNS": "220"})
    assert r.exit_code == 0 and "+ 2 unpriced (not counted)" in r.stdout
    _, _, text = _report(run_cli, logs, *args, fmt="csv")
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0] == "budget"]
    header = next(row for row in csv.reader(io.StringIO(text)) if row[:2] == ["section", "scope"])
    assert dict(zip(header, rows[0], strict=True))["unpriced_requests"] == "2"


def test_budgets_from_the_config_file(run_cli: RunCli, logs: str, tmp_path: Path) -> None:
    cfg = tmp_path / "llmaudit.toml"
    cfg.write_text('[[budget]]\nscope = "anthropic/*"\namount = 25\nperiod = "month"\nalert_at = 0.5\n\n'
                   '[[budget]]\nscope = "provider:openai"\namount = "0.45"\nperiod = "week"\n')
    code, data, _ = _report(run_cli, logs, "--config", str(cfg))
    b = _budgets(data)
    assert (b["anthropic/*"]["status"], b["anthropic/*"]["alert_at"], b["anthropic/*"]["origin"]) == (
        "projected-over", 0.5, str(cfg))
    assert (b["provider:openai"]["status"], b["provider:openai"]["period"]) == ("over", "week")
    assert code == 4


@pytest.mark.parametrize(("toml", "says"), [
    ('[[budget]]\nscope = "*"\namount = 5\nperiode = "month"\n', "unknown key 'periode'; did you mean period?"),
    ('[[budget]]\nscope = "*"\n', "amount is missing"),
    ('[budget]\nscope = "*"\namount = 5\n', "write [[budget]]"),
    ('[[budget]]\nscope = "*"\namount = -5\n', "must be a positive number"),
    ('[[budget]]\nscope = "*"\namount = 5\nperiod = "year"\n', "period 'year' is not one of day, week, month"),
])
def test_bad_config_budgets_exit_2(run_cli: RunCli, logs: str, tmp_path: Path, toml: str, says: str) -> None:
    cfg = tmp_path / "llmaudit.toml"
    cfg.write_text(toml)
    r = run_cli(["report", "--spend", logs, "--config", str(cfg)])
    assert r.exit_code == 2
    assert says in r.stderr and str(cfg) in r.stderr and "Traceback" not in r.output


@pytest.mark.parametrize(("flag", "says"), [
    (["--budget", "anthropic/*"], "write SCOPE=AMOUNT/PERIOD"),
    (["--budget", "usr:alice=5/week"], "unknown scope kind 'usr'; did you mean user:alice?"),
    (["--budget", "*=five/week"], "amount 'five' is not a number"),
    (["--budget", "*=5/week", "--alert-at", "150%"], "must be between 0% and 100%"),
    (["--alert-at", "50%"], "--alert-at needs a budget"),
])
def test_bad_budget_flags_exit_2(run_cli: RunCli, logs: str, flag: list[str], says: str) -> None:
    r = run_cli(["report", "--spend", logs, *flag])
    assert r.exit_code == 2
    assert says in r.stderr and "Traceback" not in r.output


def test_stderr_says_which_budget_set_the_exit_code(run_cli: RunCli, logs: str) -> None:
    r = run_cli(["report", "--spend", logs, "--now", NOW, "--no-whatif", "--format", "json",
                 "--budget", "anthropic/*=25/month", "--budget", "user:bob=1.5/month", "--budget", "*=1000/month"])
    assert r.exit_code == 4
    assert "budget user:bob (month) is over: $2.00 spent of $1.50 (exit 4)" in r.stderr
    assert "budget anthropic/* (month) is projected over: $30.50 of $25.00 by 2026-11-30 (exit 3)" in r.stderr
    assert "budget * " not in r.stderr
    json.loads(r.stdout)  # stdout stays data


def test_budget_flags_need_spend(run_cli: RunCli, tmp_path: Path) -> None:
    r = run_cli(["report", str(tmp_path), "--budget", "*=5/day"])
    assert r.exit_code == 2 and "need --spend" in r.stderr
