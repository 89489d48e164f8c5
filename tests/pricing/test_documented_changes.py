"""Every documented price change in the committed table, reproduced through ``pricing cost --at``
the day before and the day of the change (pricing_data/sources/price_changes.csv, written by
scripts/build_catalog.py from vendor-dated sources: our cited changes, genai-prices, model-prices)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta

import pytest

from tests.conftest import REPO, RunCli

TABLE = REPO / "pricing_data" / "sources" / "price_changes.csv"
ROWS = list(csv.DictReader(TABLE.open()))


def test_the_table_is_wide_enough() -> None:
    """At least 40 changes from at least 6 providers, and the ones users asked about by name."""
    makers = Counter(r["model"].split("/")[0] for r in ROWS if not r["model"].startswith("openrouter/"))
    assert sum(makers.values()) >= 40 and len(makers) >= 6, makers
    present = {(r["model"], r["date"]) for r in ROWS}
    for must in [("openai/gpt-4o", "2024-10-02"), ("openai/o3", "2025-06-10"),
                 ("deepseek/deepseek-reasoner", "2025-09-29"), ("anthropic/claude-sonnet-4-6", "2026-03-13"),
                 ("anthropic/claude-opus-4-6", "2026-03-13"), ("openai/gpt-5.6-luna", "2026-07-30"),
                 ("openai/gpt-5.6-sol", "2026-08-21")]:
        assert must in present, must
    assert all(r["source"].startswith("https://") for r in ROWS)


def _rates(run_cli: RunCli, model: str, day: date, input_tokens: int) -> dict:
    res = run_cli(["pricing", "cost", model, "--input-tokens", str(input_tokens), "--output-tokens", "1000",
                   "--at", day.isoformat(), "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["model_id"] == model, data["model_id"]
    lines = {line["component"]: line["rate"] for line in data["lines"]}
    return {"input": lines["input"], "output": lines["output"], "tier": data["long_context_threshold"]}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['model']}@{r['date']}" for r in ROWS])
def test_change_reproduced_the_day_before_and_the_day_of(run_cli: RunCli, row: dict) -> None:
    day = date.fromisoformat(row["date"])
    if row["kind"] == "tier change":
        # The same base price; a long prompt is priced differently (a tier added, removed or repriced).
        before = _rates(run_cli, row["model"], day - timedelta(days=1), 300_000)
        after = _rates(run_cli, row["model"], day, 300_000)
        assert before != after, (before, after)
        return
    before = _rates(run_cli, row["model"], day - timedelta(days=1), 1000)
    after = _rates(run_cli, row["model"], day, 1000)
    assert (before["input"], before["output"]) == (row["old_input"], row["old_output"])
    assert (after["input"], after["output"]) == (row["new_input"], row["new_output"])
