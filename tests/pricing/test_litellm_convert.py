"""Conversion of LiteLLM's price JSON: alias rows, provider defaults and tiered reasoning rates.

The expected figures are LiteLLM 1.110.2's own ``cost_per_token`` on the same entries (measured
by bench/parity_litellm.py), so these pin parity, not just the converter's output.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from llmaudit.pricing import Catalog, ModelEntry, PricePoint, Usage, cost_breakdown
from llmaudit.pricing.litellm import convert, rates_of

DAY = date(2026, 11, 20)

OPUS = {
    "litellm_provider": "anthropic", "mode": "chat",
    "input_cost_per_token": 4e-06, "output_cost_per_token": 2e-05,
    "cache_read_input_token_cost": 2e-07, "cache_creation_input_token_cost": 5e-06,
}


def _by_key(data: dict) -> dict:
    return {r.key: r for r in convert(data)}


def _catalog(data: dict) -> Catalog:
    entries = [ModelEntry(r.id, r.provider, r.name, (PricePoint(DAY, "test", DAY, r.rates, r.tiers),))
               for r in convert(data)]
    return Catalog(entries, DAY)


def test_alias_row_is_served_with_its_owners_prices() -> None:
    records = _by_key({"claude-opus-5-5": OPUS, "claude-opus-latest": {"alias_of": "claude-opus-5-5"}})
    alias = records["claude-opus-latest"]
    assert alias.id == "anthropic/claude-opus-latest"
    assert alias.alias_of == "claude-opus-5-5"
    assert alias.rates == records["claude-opus-5-5"].rates
    assert records["claude-opus-5-5"].alias_of is None


def test_alias_row_keeps_its_own_prefix_with_the_owners_provider() -> None:
    owner = {**OPUS, "litellm_provider": "bedrock_converse"}
    records = _by_key({"global.anthropic.claude-opus-5-5": owner,
                       "bedrock/claude-opus-latest": {"alias_of": "global.anthropic.claude-opus-5-5"}})
    assert records["bedrock/claude-opus-latest"].id == "bedrock/claude-opus-latest"


def test_alias_rows_skipped_as_litellm_skips_them() -> None:
    records = _by_key({
        "claude-opus-5-5": {**OPUS, "aliases": ["claude-opus", "claude-opus-5-5-x", "claude-sonnet-5"]},
        "claude-sonnet-5": {**OPUS, "input_cost_per_token": 2e-06},
        "dangling": {"alias_of": "no-such-model"},
        "chained": {"alias_of": "claude-opus-latest"},
        "claude-opus-latest": {"alias_of": "claude-opus-5-5"},
        "claude-opus": {"alias_of": "claude-sonnet-5"},  # already claimed by the owner's list
    })
    assert "dangling" not in records and "chained" not in records
    assert records["claude-opus"].alias_of == "claude-opus-5-5"
    assert records["claude-opus-5-5-x"].alias_of == "claude-opus-5-5"
    # An alias that is also a real key stays that key.
    assert records["claude-sonnet-5"].alias_of is None
    assert records["claude-sonnet-5"].rates.input == Decimal("2")


def test_alias_row_prices_like_litellm() -> None:
    catalog = _catalog({"claude-opus-5-5": OPUS, "claude-opus-latest": {"alias_of": "claude-opus-5-5"}})
    usage = Usage(input_tokens=10_000, output_tokens=200, cache_read_tokens=8_000)
    result = cost_breakdown(catalog, "claude-opus-latest", usage, at=DAY, provider="anthropic")
    assert result.model_id == "anthropic/claude-opus-latest"
    assert result.total == Decimal("0.0136")  # LiteLLM 1.110.2 cost_per_token: 0.013600000000000001


def test_fireworks_bills_absent_cache_reads_at_half_input() -> None:
    spec = {"litellm_provider": "fireworks_ai", "mode": "chat",
            "input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07}
    rates, _ = rates_of(spec)
    assert rates.cache_read == Decimal("0.45")
    catalog = _catalog({"fireworks_ai/accounts/fireworks/models/m": spec})
    usage = Usage(input_tokens=10_000, output_tokens=200, cache_read_tokens=8_000)
    result = cost_breakdown(catalog, "fireworks_ai/accounts/fireworks/models/m", usage, at=DAY)
    assert result.total == Decimal("0.00558")  # LiteLLM: 2,000 × 0.9 + 8,000 × 0.45 + 200 × 0.9 per 1M


def test_explicit_cache_read_and_other_providers_untouched() -> None:
    fireworks = {"litellm_provider": "fireworks_ai", "input_cost_per_token": 1e-06,
                 "cache_read_input_token_cost": 0.0}
    assert rates_of(fireworks)[0].cache_read == Decimal(0)
    other = {"litellm_provider": "together_ai", "input_cost_per_token": 1e-06}
    assert rates_of(other)[0].cache_read is None


def test_tiered_pricing_band_reasoning_rates() -> None:
    spec = {"litellm_provider": "dashscope", "mode": "chat", "tiered_pricing": [
        {"input_cost_per_token": 4e-07, "output_cost_per_reasoning_token": 4e-06,
         "output_cost_per_token": 1.2e-06, "range": [0, 256000.0]},
        {"input_cost_per_token": 1.2e-06, "output_cost_per_reasoning_token": 1.2e-05,
         "output_cost_per_token": 3.6e-06, "range": [256000.0, 1000000.0]},
    ]}
    rates, tiers = rates_of(spec)
    assert rates.reasoning == Decimal("4")
    assert [(t.threshold_tokens, t.rates.reasoning) for t in tiers] == [(256000, Decimal("12"))]
    catalog = _catalog({"dashscope/qwen-plus-latest": spec})
    usage = Usage(input_tokens=2_000, output_tokens=3_000, reasoning_tokens=2_500)
    result = cost_breakdown(catalog, "dashscope/qwen-plus-latest", usage, at=DAY, provider="dashscope")
    assert result.total == Decimal("0.0114")  # LiteLLM 1.110.2 cost_per_token: 0.0114


def test_tiered_band_without_reasoning_bills_reasoning_as_its_output() -> None:
    spec = {"litellm_provider": "dashscope", "tiered_pricing": [
        {"input_cost_per_token": 4e-07, "output_cost_per_reasoning_token": 4e-06,
         "output_cost_per_token": 1.2e-06, "range": [0, 256000.0]},
        {"input_cost_per_token": 1.2e-06, "output_cost_per_token": 3.6e-06, "range": [256000.0, 1000000.0]},
    ]}
    _, tiers = rates_of(spec)
    assert tiers[0].rates.reasoning == Decimal("3.6")
    plain = {"litellm_provider": "dashscope", "tiered_pricing": [
        {"input_cost_per_token": 4e-07, "output_cost_per_token": 1.2e-06, "range": [0, 256000.0]}]}
    assert rates_of(plain)[0].reasoning is None


def test_bedrock_mantle_keeps_its_own_ids_and_prices() -> None:
    bedrock = {**OPUS, "litellm_provider": "bedrock_converse"}
    mantle = {**OPUS, "litellm_provider": "bedrock_mantle", "input_cost_per_token": 4.4e-06,
              "output_cost_per_token": 2.2e-05}
    records = _by_key({"anthropic.claude-opus-5-5": bedrock, "bedrock_mantle/anthropic.claude-opus-5-5": mantle})
    assert records["anthropic.claude-opus-5-5"].id == "bedrock/anthropic.claude-opus-5-5"
    assert records["bedrock_mantle/anthropic.claude-opus-5-5"].id == "bedrock_mantle/anthropic.claude-opus-5-5"
    catalog = _catalog({"anthropic.claude-opus-5-5": bedrock, "bedrock_mantle/anthropic.claude-opus-5-5": mantle})
    usage = Usage(input_tokens=1_000, output_tokens=500)
    assert cost_breakdown(catalog, "bedrock_mantle/anthropic.claude-opus-5-5", usage, at=DAY,
                          provider="bedrock_mantle").total == Decimal("0.0154")  # LiteLLM: 0.0154
    assert cost_breakdown(catalog, "anthropic.claude-opus-5-5", usage, at=DAY).total == Decimal("0.014")
