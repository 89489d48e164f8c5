"""One usage type: what an adapter parses is what the cost engine bills, with nothing copied between."""

from __future__ import annotations

import json
from decimal import Decimal

from llmaudit import pricing
from llmaudit.pricing import cost_breakdown, load_catalog
from llmaudit.providers import Completion
from llmaudit.providers.anthropic import parse_usage as anthropic_usage
from llmaudit.providers.openai import parse_usage as openai_usage
from llmaudit.usage import Usage


def test_pricing_and_providers_share_the_type() -> None:
    assert pricing.Usage is Usage
    parsed = openai_usage({"prompt_tokens": 1_000, "completion_tokens": 200, "cost": 0.5,
                           "prompt_tokens_details": {"cached_tokens": 400}})
    assert type(parsed) is Usage
    assert parsed == Usage(1_000, 200, cache_read_tokens=400, cost_reported=Decimal("0.5"))
    assert type(anthropic_usage({"input_tokens": 10, "output_tokens": 2})) is Usage


def test_an_adapters_usage_is_billed_as_it_is() -> None:
    catalog = load_catalog()
    parsed = anthropic_usage({"input_tokens": 100, "cache_read_input_tokens": 1_000,
                              "cache_creation_input_tokens": 50, "output_tokens": 20})
    assert parsed is not None and parsed.requests == 1
    by_hand = Usage(input_tokens=1_150, output_tokens=20, cache_read_tokens=1_000, cache_write_tokens=50)
    assert parsed == by_hand
    got = cost_breakdown(catalog, "anthropic/claude-sonnet-4-5", parsed)
    assert got.total is not None and got.status == "priced"


def test_what_the_provider_charged_is_neither_billed_nor_checked() -> None:
    catalog = load_catalog()
    charged = Usage(1_000, 10, cost_reported=Decimal("-1"))
    assert charged.validate() is None  # an amount, not a count
    assert cost_breakdown(catalog, "openai/gpt-4o-mini", charged).total == \
        cost_breakdown(catalog, "openai/gpt-4o-mini", Usage(1_000, 10)).total
    assert Usage(5, 1, requests=-1).validate() == "requests is negative"


def test_a_cached_completion_is_stored_as_before() -> None:
    comp = Completion("hi", Usage(10, 2, cost_reported=Decimal("0.01")), ttft_ms=1.0, latency_ms=2.0)
    stored = json.loads(json.dumps(comp.to_dict()))
    # A completion is one request: the count is not stored, so caches written before read the same.
    assert "requests" not in stored["usage"] and stored["usage"]["cost_reported"] == "0.01"
    assert Completion.from_dict(stored) == comp
