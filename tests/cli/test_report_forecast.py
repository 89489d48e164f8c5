"""`report --spend --forecast` end to end (issue 17.3): month-end and next-30-day spend with an 80%
interval in JSON, CSV, Markdown and the table; a short log says why it has no interval."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from llmaudit.schema import from_pylist
from tests.conftest import RunCli

WEEKLY = (1.0, 1.1, 1.2, 1.1, 1.0, 0.4, 0.3)
NOW = "2026-04-15T12:00:00Z"


def _write(path: Path, days: int) -> str:
    """``days`` days up to 14 April 2026 of $10 × a weekday factor × a small wobble, in two rows a day."""
    start = datetime(2026, 4, 15, 9, tzinfo=UTC) - timedelta(days=days)
    rows = []
    for i in range(days):
        when = start + timedelta(days=i)
        cost = round(10 * WEEKLY[when.weekday()] * (1 + 0.05 * ((i * 7) % 5 - 2) / 2), 6)
        for half in (0, 1):
            rows.append({"timestamp": when + timedelta(hours=half), "provider": "openai", "model": "openai/gpt-4o",
                         "model_raw": "gpt-4o", "input_tokens": 1000, "cache_read_tokens": 0, "cache_write_tokens": 0,
                         "output_tokens": 100, "reasoning_tokens": 0, "requests": 1, "cost_usd": cost / 2,
                         "billed_cost_usd": None, "price_status": "priced", "source_format": "test"})
    pq.write_table(from_pylist(rows), path)
    return str(path)


@pytest.fixture
def long_log(tmp_path: Path) -> str:
    return _write(tmp_path / "long.parquet", 100)


def test_forecast_in_json(run_cli: RunCli, long_log: str) -> None:
    r = run_cli(["report", "--spend", long_log, "--forecast", "--no-whatif", "--now", NOW, "--format", "json"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    f = data["forecast"]
    assert (f["today"], f["history_days"], f["interval_level"], f["note"]) == ("2026-04-15", 100, 0.8, None)
    april = sum(Decimal(repr(d["cost"])) for d in data["breakdowns"]["day"]["rows"] if d["day"] >= "2026-04-01")
    month = f["month_end"]
    assert Decimal(repr(month["known"])) == april  # the month's complete days, exactly
    assert (month["start"], month["end"]) == ("2026-04-01", "2026-04-30")
    for o in (month, f["next_30_days"]):
        assert o["low"] <= o["expected"] <= o["high"]
    # About $8.6 a day for the 16 days left: the point forecast is close to the pattern it learnt.
    assert month["expected"] - month["known"] == pytest.approx(16 * 10 * sum(WEEKLY) / 7, rel=0.05)
    assert f["next_30_days"]["expected"] == pytest.approx(30 * 10 * sum(WEEKLY) / 7, rel=0.05)
    assert len(f["days"]) == 30 and f["days"][0]["day"] == "2026-04-15"


def test_forecast_in_csv_markdown_and_table(run_cli: RunCli, long_log: str) -> None:
    args = ["report", "--spend", long_log, "--forecast", "--no-whatif", "--now", NOW, "--by", "model"]
    text = run_cli([*args, "--format", "csv"]).stdout
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0] == "forecast"]
    assert [row[1] for row in rows] == ["month-end 2026-04", "next 30 days"] and all(row[6] for row in rows)
    assert sum(1 for line in text.splitlines() if line.startswith("forecast_day,")) == 30
    md = run_cli([*args, "--format", "markdown"]).stdout
    assert "## Forecast from 100 complete days" in md and "| month-end 2026-04 | 2026-04-01 … 2026-04-30 |" in md
    table = run_cli(args, env={"COLUMNS": "200"}).stdout
    assert "80% interval" in table and "next 30 days" in table


def test_short_log_has_no_interval_and_says_so_everywhere(run_cli: RunCli, tmp_path: Path) -> None:
    log = _write(tmp_path / "short.parquet", 20)
    args = ["report", "--spend", log, "--forecast", "--no-whatif", "--now", NOW]
    f = json.loads(run_cli([*args, "--format", "json"]).stdout)["forecast"]
    assert f["month_end"]["low"] is None and "these logs have 20" in f["note"]
    assert "these logs have 20" in run_cli([*args, "--format", "markdown"]).stdout
    assert "these logs have 20" in run_cli([*args, "--format", "csv"]).stdout
    assert "no prediction interval" in run_cli(args, env={"COLUMNS": "200"}).stdout
