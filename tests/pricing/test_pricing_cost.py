"""Exact costs from formats.md §B/§D, effective dating and the unknown-is-never-zero rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from llmaudit.pricing import Usage, cost_breakdown, load_catalog


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_anthropic_probe_exact(catalog) -> None:
    # 412 uncached + 2048 5m writes + 18310 reads + 640 out on claude-sonnet-4-5 (formats.md §D).
    usage = Usage(input_tokens=412 + 2048 + 18310, output_tokens=640, cache_read_tokens=18310,
                  cache_write_tokens=2048)
    result = cost_breakdown(catalog, "claude-sonnet-4-5", usage)
    assert result.status == "priced"
    assert result.total == Decimal("0.024009")
    assert result.model_id == "anthropic/claude-sonnet-4-5"


def test_one_hour_writes_bill_at_2x(catalog) -> None:
    usage = Usage(input_tokens=100_000, output_tokens=0, cache_write_tokens=100_000,
                  cache_write_1h_tokens=40_000)
    result = cost_breakdown(catalog, "anthropic/claude-sonnet-4-5", usage)
    # 60k at $3.75/M + 40k at $6/M
    assert result.total == Decimal("0.225") + Decimal("0.24")


def test_anthropic_long_context_tier(catalog) -> None:
    # Sonnet 4.5 above 200k prompt tokens: $6 in / $22.50 out for the whole request (formats.md §B3)
    usage = Usage(input_tokens=250_000, output_tokens=1_000, cache_read_tokens=50_000)
    # Sonnet 4.5's >200k tier: the 1M-context beta was retired 2026-04-30 (genai-prices), so a date before it.
    result = cost_breakdown(catalog, "claude-sonnet-4-5", usage, at=date(2026, 1, 15))
    assert result.tier_threshold == 200_000
    assert result.total == Decimal("1.2") + Decimal("0.03") + Decimal("0.0225")


def test_gemini_long_context_reprices_whole_request(catalog) -> None:
    result = cost_breakdown(catalog, "gemini-2.5-pro", Usage(input_tokens=250_000, output_tokens=1_000))
    assert result.total == Decimal("0.64")
    assert result.tier_threshold == 200_000
    below = cost_breakdown(catalog, "gemini-2.5-pro", Usage(input_tokens=200_000, output_tokens=1_000))
    assert below.total == Decimal("0.26")  # 200k is not above the threshold


def test_effective_dating_gemini_cache_read(catalog) -> None:
    entry = catalog.get("google/gemini-2.5-pro")
    assert entry.price_at(date(2025, 9, 1)).cache_read == Decimal("0.3125")
    assert entry.price_at(date(2026, 11, 1)).cache_read == Decimal("0.125")
    usage = Usage(input_tokens=100_000, output_tokens=0, cache_read_tokens=100_000)
    old = cost_breakdown(catalog, "gemini-2.5-pro", usage, at=date(2025, 9, 1))
    new = cost_breakdown(catalog, "gemini-2.5-pro", usage, at=date(2026, 11, 1))
    assert (old.total, new.total) == (Decimal("0.03125"), Decimal("0.0125"))
    # The old rate is the one LiteLLM 1.74 listed and tokencost's 2025-08 copy confirmed.
    assert old.price.effective_from <= date(2025, 8, 1) <= old.price.as_of


def test_dropped_model_still_prices_old_logs(catalog) -> None:
    result = cost_breakdown(catalog, "claude-3-5-sonnet-20241022",
                            Usage(input_tokens=1_000_000, output_tokens=1_000_000), at=date(2025, 3, 1))
    assert result.model_id == "anthropic/claude-3-5-sonnet-20241022"
    assert result.total == Decimal("18")


def test_dated_snapshot_keeps_its_own_price(catalog) -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    assert cost_breakdown(catalog, "gpt-4o-2024-05-13", usage).total == Decimal("5")
    assert cost_breakdown(catalog, "gpt-4o-2024-08-06", usage).total == Decimal("2.5")


def test_unknown_model_is_null_not_zero(catalog) -> None:
    result = cost_breakdown(catalog, "acme/never-heard-of-it", Usage(10, 10))
    assert result.total is None
    assert result.status == "unknown_model"


def test_batch_rates(catalog) -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert cost_breakdown(catalog, "gpt-4o", usage, batch=True).total == Decimal("1.25") + Decimal("5")
    assert cost_breakdown(catalog, "gpt-4o", usage).total == Decimal("12.5")


def test_reasoning_is_inside_output(catalog) -> None:
    usage = Usage(input_tokens=0, output_tokens=1000, reasoning_tokens=800)
    # gpt-4o has no separate reasoning rate: all 1000 output tokens at $10/M
    assert cost_breakdown(catalog, "gpt-4o", usage).total == Decimal("0.01")


def test_batch_with_long_context_tier_without_batch_rates() -> None:
    from llmaudit.pricing import Catalog, ModelEntry, PricePoint, Rates, Tier

    d = Decimal
    point = PricePoint(date(2025, 1, 1), "test", date(2025, 1, 1),
                       Rates(input=d(2), output=d(10), cache_read=d("0.2"), input_batch=d(1), output_batch=d(5)),
                       (Tier(100_000, Rates(input=d(4), output=d(20))),))
    catalog = Catalog([ModelEntry("acme/lc", "acme", "lc", (point,))], date(2025, 1, 1))
    usage = Usage(input_tokens=200_000, output_tokens=100_000, cache_read_tokens=100_000)
    result = cost_breakdown(catalog, "acme/lc", usage, batch=True)
    # tier rates × the model's batch discount (½): 100k×2 + 100k×0.2 (cache read: the tier lists none, so
    # the base 0.2 scaled by the tier's input ratio 4/2, then ½) + 100k×10, per 1M
    assert result.total == d("0.2") + d("0.02") + d("1.0")
    assert result.tier_threshold == 100_000
    plain = cost_breakdown(catalog, "acme/lc", Usage(input_tokens=1000, output_tokens=0), batch=True)
    assert plain.total == d("0.001")
