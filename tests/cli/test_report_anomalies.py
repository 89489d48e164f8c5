"""`report --spend --anomalies` end to end (issue 17.2): the spiking day of one user is listed with
its size and the requests that drove it, in JSON, Markdown, CSV and the terminal table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from llmaudit.schema import from_pylist
from tests.conftest import RunCli

SPIKE_DAY = "2026-03-18"


def _row(when: datetime, user: str, cost: float, rid: str, model: str = "openai/gpt-4o") -> dict[str, object]:
    return {"timestamp": when, "provider": model.split("/")[0], "model": model, "model_raw": model,
            "input_tokens": 1000, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 100,
            "reasoning_tokens": 0, "requests": 1, "cost_usd": cost, "billed_cost_usd": None,
            "price_status": "priced", "source_format": "test", "user": user, "request_id": rid,
            "source_file": "usage.jsonl", "source_line": 1}


@pytest.fixture
def logs(tmp_path: Path) -> str:
    """Six weeks of two users' traffic (quiet weekends, 5% noise); on 18 March bob also sends three
    long requests to claude-opus that cost $4, $3 and $2."""
    rng = np.random.default_rng(0)
    rows = []
    start = datetime(2026, 2, 16, tzinfo=UTC)  # a Monday
    for d in range(42):
        day = start + timedelta(days=d)
        per = 10 if day.weekday() < 5 else 3
        for user, cost in (("alice", 0.2), ("bob", 0.1)):
            for k in range(per):
                rows.append(_row(day + timedelta(hours=8, minutes=k), user, round(cost * rng.uniform(0.95, 1.05), 6),
                                 f"{user}-{d}-{k}"))
    for i, cost in enumerate((4.0, 3.0, 2.0)):
        rows.append(_row(datetime.fromisoformat(f"{SPIKE_DAY}T15:0{i}:00+00:00"), "bob", cost, f"spike-{i}",
                         "anthropic/claude-opus-4-1"))
    path = tmp_path / "usage.parquet"
    pq.write_table(from_pylist(rows), path)
    return str(path)


def test_the_spike_and_its_requests_in_json(run_cli: RunCli, logs: str) -> None:
    r = run_cli(["report", "--spend", logs, "--anomalies", "--no-whatif", "--format", "json"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)["anomalies"]
    found = {(a["dimension"], a["value"]) for a in data["items"]}
    assert all(a["day"] == SPIKE_DAY for a in data["items"]), data["items"]
    assert ("user", "bob") in found and ("provider", "openai") not in found and ("user", "alice") not in found
    bob = next(a for a in data["items"] if a["value"] == "bob")
    assert [t["request_id"] for t in bob["top_requests"]] == ["spike-0", "spike-1", "spike-2"]
    assert bob["spend"] == pytest.approx(10.0, abs=0.06) and bob["expected"] == pytest.approx(1.0, abs=0.06)
    assert bob["z"] >= data["threshold_z"] == 4.0
    assert bob["top_requests"][0]["source"] == "usage.jsonl:1"
    # The opus model only ever spent on that day: one day is no series to test, and it is counted.
    assert data["series_too_sparse"] >= 1


def test_the_spike_in_markdown_csv_and_table(run_cli: RunCli, logs: str) -> None:
    args = ["report", "--spend", logs, "--anomalies", "--no-whatif", "--by", "user"]
    md = run_cli([*args, "--format", "markdown"]).stdout
    assert "## Spend anomalies" in md and f"| {SPIKE_DAY} | user | `bob` |" in md and "spike-0 $4.00" in md
    csv_text = run_cli([*args, "--format", "csv"]).stdout
    assert any(line.startswith(f"anomaly,{SPIKE_DAY},user,bob,") and "spike-0;spike-1;spike-2" in line
               for line in csv_text.splitlines())
    table = run_cli(args, env={"COLUMNS": "200"}).stdout
    assert "Spend anomalies" in table and "spike-0 $4.00" in table


def test_without_the_flag_nothing_is_computed(run_cli: RunCli, logs: str) -> None:
    data = json.loads(run_cli(["report", "--spend", logs, "--no-whatif", "--format", "json"]).stdout)
    assert "anomalies" not in data and "budgets" not in data
