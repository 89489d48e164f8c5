"""Volume parsing and the savings table, in exact money."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from llmaudit.analysis.routing.savings import build_savings, scale_factor
from llmaudit.errors import UsageError
from llmaudit.units import parse_volume


def strat(
    name: str, kind: str, cost: float, rate: float, prompts: int = 100, realizable: bool = True
) -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        kind=kind,
        cost_total=cost,
        pass_rate=rate,
        prompts=prompts,
        cost_per_prompt=cost / prompts,
        realizable=realizable,
    )


def test_parse_volume() -> None:
    v = parse_volume("10B-tokens/month")
    assert (v.amount, v.unit, v.period) == (Decimal(10**10), "tokens", "month")
    assert parse_volume("2M-requests/month").monthly == Decimal(2_000_000)
    assert parse_volume("1k requests/day").monthly == Decimal("30437.5")
    assert parse_volume("12M-requests/year").monthly == Decimal(1_000_000)
    # A bare amount is requests per month: the grammar `check --volume 10M` uses too.
    assert parse_volume("10M").monthly == Decimal(10**7) and parse_volume("10M").unit == "requests"
    assert parse_volume("1e6").monthly == Decimal(10**6)
    for bad in ("lots", "5X-tokens/month", "0-requests/month", "10M-tokens/week"):
        with pytest.raises(UsageError):
            parse_volume(bad)


def test_scale_factor() -> None:
    v = parse_volume("2M-requests/month")
    assert scale_factor(v, observed_requests=1000) == Decimal(2000)
    t = parse_volume("1B-tokens/month")
    assert scale_factor(t, observed_requests=10, observed_tokens=1_000_000) == Decimal(1000)


def test_savings_table_percentages_and_fee() -> None:
    # 100 prompts: the premium baseline costs $1.00 (1 cent a prompt), the router $0.20, the oracle $0.10.
    strategies = [
        strat("p/premium", "model", 1.00, 0.95),
        strat("c/cheap", "model", 0.05, 0.60),
        strat("oracle", "oracle", 0.10, 0.99, realizable=False),
        strat("category router", "category", 0.20, 0.96),
        strat("cascade", "cascade", 0.30, 0.97),
    ]
    table = build_savings(strategies, parse_volume("2M-requests/month"), prompts=100, tokens_per_request=500)
    prem = table.rows[0]
    assert prem.monthly_single == Decimal("20000.00")
    assert prem.routed == "category router"
    assert prem.monthly_routed_before_fee == Decimal("4000.00")
    assert prem.platform_fee == Decimal("220.00")  # 5.5%
    assert prem.monthly_routed == Decimal("4220.00")
    assert prem.monthly_savings == Decimal("15780.00")
    assert prem.annual_savings == Decimal("189360.00")
    assert prem.savings_pct == pytest.approx(0.789)
    assert prem.oracle_monthly == Decimal("2110.00")
    cheap = table.rows[1]
    # Every router beats the cheap model's quality; the cheapest of them costs more: negative saving.
    assert cheap.routed == "category router"
    assert cheap.monthly_savings == Decimal("1000.00") - Decimal("4220.00")


def test_token_volume_uses_observed_tokens_per_request() -> None:
    strategies = [strat("m", "model", 1.0, 1.0, prompts=100)]
    table = build_savings(strategies, parse_volume("10B-tokens/month"), prompts=100, tokens_per_request=1000)
    assert table.monthly_requests == Decimal(10_000_000)
    assert table.rows[0].monthly_single == Decimal("100000.00")
    assert table.rows[0].routed is None and table.rows[0].note
