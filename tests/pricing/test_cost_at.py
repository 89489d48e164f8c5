"""``cost_at`` (what-if pricing at one price point) is the same engine as ``price_table``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from llmaudit import schema
from llmaudit.pricing import cost_at, load_catalog, price_table, usage_arrays


def _row(**over):
    row = {
        "timestamp": datetime(2026, 11, 1, tzinfo=UTC), "provider": "anthropic", "model": "claude-sonnet-4-5",
        "model_raw": "claude-sonnet-4-5", "input_tokens": 20770, "cache_read_tokens": 18310,
        "cache_write_tokens": 2048, "output_tokens": 640, "reasoning_tokens": 0, "requests": 1,
        "billed_cost_usd": None, "source_format": "test",
    }
    row.update(over)
    return row


def test_cost_at_matches_price_table_row_for_row():
    catalog = load_catalog()
    table = schema.from_pylist([
        _row(),
        _row(batch=True),
        _row(input_tokens=250_000, cache_read_tokens=0, cache_write_tokens=0),  # long-context tier
        _row(cache_write_1h_tokens=1024),
    ])
    priced = price_table(table, catalog)
    point = catalog.resolve("anthropic/claude-sonnet-4-5").entry.price_at(datetime(2026, 11, 1, tzinfo=UTC))
    what_if = cost_at(point, usage_arrays(table))
    np.testing.assert_allclose(what_if, priced.column("cost_usd").to_numpy(), rtol=1e-12)
    assert round(float(what_if[0]), 6) == 0.024009  # formats.md §D probe


def test_cost_at_is_nan_where_a_needed_rate_is_missing():
    catalog = load_catalog()
    entry = next(e for e in catalog.entries
                 if (p := e.price_at(None)) is not None and p.rates.input is not None and p.rates.output is not None
                 and p.rates.per_search is None)
    table = schema.from_pylist([_row(web_search_requests=2), _row()])
    costs = cost_at(entry.price_at(None), usage_arrays(table))
    assert np.isnan(costs[0]) and not np.isnan(costs[1])


def test_one_hour_cache_writes_never_fall_back_to_the_five_minute_rate():
    """Anthropic bills 1-hour writes at 2x input, also on dates before LiteLLM listed the key."""
    catalog = load_catalog()
    models = ("anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-20250514",
              "anthropic/claude-3-5-haiku-20241022")
    for model in models:
        entry = catalog.resolve(model).entry
        for point in entry.prices:
            if point.rates.input is not None and point.rates.cache_write_5m is not None:
                assert point.rates.cache_write_1h == 2 * point.rates.input, (model, point.effective_from)


def test_cache_rates_stack_on_a_long_context_tier_that_lists_none():
    """Sonnet 4.5 above 200k: a 1-hour write is 2x the $6 tier input ($12/M), not the base $6/M."""
    from llmaudit.pricing import Usage, cost_breakdown

    catalog = load_catalog()
    usage = Usage(input_tokens=300_000, output_tokens=0, cache_write_tokens=1_000_000 // 10,
                  cache_write_1h_tokens=100_000)
    # Sonnet 4.5's >200k tier: the 1M-context beta was retired 2026-04-30 (genai-prices), so a date before it.
    result = cost_breakdown(catalog, "anthropic/claude-sonnet-4-5", usage, at=date(2026, 1, 15))
    assert result.tier_threshold == 200_000
    lines = {line[0]: line for line in result.lines}
    assert lines["cache_write_1h"][2] == 12  # USD per 1M tokens


def test_rates_missing_from_old_snapshots_are_back_filled_when_base_prices_did_not_change():
    """OpenAI's Batch API billed 50% from its 2024 launch; LiteLLM only recorded batch keys later."""
    from llmaudit.pricing import Usage, cost_breakdown

    catalog = load_catalog()
    march_2024 = datetime(2024, 3, 28, tzinfo=UTC)
    batch = cost_breakdown(catalog, "gpt-3.5-turbo-0125", Usage(1_000_000, 1_000_000), at=march_2024, batch=True)
    assert batch.status == "priced" and batch.total == 1  # $0.25 + $0.75 per 1M
    assert "back-filled" in (batch.price.note or "")
