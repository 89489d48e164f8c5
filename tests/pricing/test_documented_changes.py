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


# --- properties of the whole shipped catalog ------------------------------------------------------

def _catalog():
    from llmaudit.pricing import load_catalog

    return load_catalog(overlay=False)


def test_no_rate_is_negative_and_every_zero_price_is_documented_free() -> None:
    """Placeholders (-1) are missing prices; a $0 price (input and output) appears only on a point a
    source documents as free, labelled so; a single $0 rate only where every source lists that part at
    $0 for the model's whole history. ($0 cache writes and per-call fees are vendors' published "no
    charge" for a part of a paid request.)"""
    from llmaudit.pricing.model import RATE_FIELDS

    for entry in _catalog().entries:
        for point in entry.prices:
            for rates in [point.rates, *(t.rates for t in point.long_context), *(s.rates for s in point.service_tiers)]:
                for name in RATE_FIELDS:
                    value = getattr(rates, name)
                    assert value is None or value >= 0, (entry.id, point.effective_from, name)
            if point.rates.input == 0 and point.rates.output == 0:
                assert point.free, (entry.id, point.effective_from)
            for name in ("input", "output"):
                if getattr(point.rates, name) == 0 and not point.free:
                    # One part of a paid request listed at $0 by every source (a classifier's output,
                    # an online model's input billed per request): never a $0 between paid prices.
                    assert not any(getattr(p.rates, name) for p in entry.prices), (entry.id, name)
            for window in point.off_peak:
                assert 0 < window.multiplier < 1, (entry.id, point.effective_from)  # a discount


def test_no_long_context_tier_is_cheaper_than_the_base_price() -> None:
    """A tier reprices the whole request: one below the base rate would make a longer prompt cheaper
    (the builder drops such tiers and lists them in the discrepancy file)."""
    for entry in _catalog().entries:
        for point in entry.prices:
            for service in [point, *point.service_tiers]:
                rates = service.rates
                for tier in service.long_context:
                    for name in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h"):
                        low, high = getattr(rates, name), getattr(tier.rates, name)
                        assert low is None or high is None or high >= low, (entry.id, point.effective_from, name)
