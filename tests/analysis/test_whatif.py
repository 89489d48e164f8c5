"""Routed and single-provider what-if on a tiny hand-built catalog and tier table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from llmaudit.analysis.routing.tiers import TierInfo, TierTable
from llmaudit.analysis.routing.whatif import WhatIfAccumulator, whatif_from_tables
from llmaudit.pricing import Catalog, ModelEntry, PricePoint, Rates
from llmaudit.schema import from_pylist


def _entry(model_id: str, inp: str, out: str, ctx: int) -> ModelEntry:
    provider, _, name = model_id.partition("/")
    point = PricePoint(date(2026, 1, 1), "test", date(2026, 1, 1), Rates(input=Decimal(inp), output=Decimal(out)))
    return ModelEntry(id=model_id, provider=provider, name=name, prices=(point,), context_window=ctx)


CATALOG = Catalog(
    [
        _entry("alpha/big", "10", "30", 200_000),      # tier 1, expensive
        _entry("beta/big-cheap", "2", "4", 100_000),   # tier 1, cheap, smaller context
        _entry("beta/mid", "1", "2", 8_000),           # tier 2
        _entry("gamma/small", "0.1", "0.2", 32_000),   # tier 3
        _entry("gamma/untiered", "5", "5", 32_000),    # no tier
    ],
    date(2026, 1, 1),
)
TIERS = TierTable(
    as_of=date(2026, 11, 1), scale={1: "frontier", 2: "strong", 3: "efficient"}, method="test",
    models={m: TierInfo(m, t, "test") for m, t in
            [("alpha/big", 1), ("beta/big-cheap", 1), ("beta/mid", 2), ("gamma/small", 3)]},
)


def _row(day: int, model: str, inp: int, out: int) -> dict[str, Any]:
    return {"timestamp": datetime(2026, 11, day, 12, tzinfo=UTC), "provider": model.split("/")[0], "model": model,
            "model_raw": model, "input_tokens": inp, "cache_read_tokens": 0, "cache_write_tokens": 0,
            "output_tokens": out, "reasoning_tokens": 0, "requests": 1, "cost_usd": 1.0, "billed_cost_usd": None,
            "price_status": "priced", "source_format": "test"}


def _run(rows: list[dict[str, Any]], byok: bool = False) -> Any:
    acc = WhatIfAccumulator(CATALOG, byok=byok, tiers=TIERS)
    import pyarrow.compute as pc

    table = from_pylist(rows)
    acc.add(table, pc.strftime(table.column("timestamp"), "%Y-%m-%d"))
    return acc.result()


def test_routes_to_cheapest_equal_or_better_tier_that_fits() -> None:
    rows = [
        _row(1, "alpha/big", 50_000, 0),       # fits beta/big-cheap (tier 1): $0.10 instead of $0.50
        _row(1, "alpha/big", 150_000, 0),      # too long for big-cheap (100k): stays, $1.50
        _row(1, "beta/mid", 1_000, 1_000),     # tier 2: big-cheap is tier 1 but dearer; stays at $0.003
    ]
    w = _run(rows)
    routed_before_fee = Decimal("0.1") + Decimal("1.5") + Decimal("0.003")
    assert w.current_cost == Decimal("0.5") + Decimal("1.5") + Decimal("0.003")
    assert w.routed.cost_before_fee == routed_before_fee
    assert w.routed.cost == routed_before_fee * Decimal("1.055")  # default 5.5% platform fee
    assert w.routed.fee == routed_before_fee * Decimal("0.055")
    big = next(s for s in w.savings if s.model == "alpha/big")
    assert dict(big.routes_to) == {"beta/big-cheap": 1, "alpha/big": 1}
    assert big.failover == ()  # a failover must take all of the traffic; the 150k request fits no other model


def test_byok_fee_and_untiered_models_stay() -> None:
    w = _run([_row(1, "gamma/untiered", 1_000_000, 0)], byok=True)
    assert w.routed.fee_pct == Decimal(5)
    assert w.untiered_requests == 1 and w.untiered_models == ("gamma/untiered",)
    assert w.routed.cost_before_fee == w.current_cost == Decimal(5)


def test_single_provider_moves_to_equivalent_model_and_counts_coverage() -> None:
    rows = [_row(1, "alpha/big", 50_000, 0), _row(1, "beta/mid", 1_000, 1_000)]
    w = _run(rows)
    by = {p.provider: p for p in w.providers}
    # gamma has no tier-1/2 model: nothing moves, both requests stay where they are.
    assert by["gamma"].covered_requests == 0 and by["gamma"].uncovered_requests == 2
    assert by["beta"].covered_requests == 2
    assert by["beta"].cost == Decimal("0.1") + Decimal("0.003")
    assert by["alpha"].cost == Decimal("0.54")
    assert w.savings[0].failover == ("beta/big-cheap",)  # beta/mid moves up to alpha/big: $0.04


def test_savings_scale_to_month_and_year_with_a_range() -> None:
    rows = [_row(d, "alpha/big", 50_000, 0) for d in (1, 2, 3, 4)] + [_row(2, "alpha/big", 50_000, 0)]
    w = _run(rows)
    assert w.days_observed == 4
    s = w.savings[0]
    assert s.monthly_spend == Decimal("2.5") * Decimal("30.4375") / 4
    saving = Decimal("0.5") - Decimal("0.1") * Decimal("1.055")
    assert s.annual_savings == pytest.approx(saving * 5 * Decimal("365.25") / 4)
    assert s.annual_savings_low <= s.annual_savings <= s.annual_savings_high
    assert s.avg_per_million == Decimal(10)


def test_unpriced_rows_are_left_out_and_counted() -> None:
    row = _row(1, "alpha/big", 1000, 0)
    row.update(cost_usd=None, price_status="unknown_model")
    w = whatif_from_tables([from_pylist([row, _row(1, "alpha/big", 1000, 0)])], CATALOG)
    assert w.excluded_unpriced_requests == 1
    assert w.requests == 1


def test_tier_of_snapshots_and_other_hosts() -> None:
    models = {"alpha/big": TierInfo("alpha/big", 1, "cited"),
              "hostA/meta/Open-70B": TierInfo("hostA/meta/Open-70B", 3, "x")}
    acc = WhatIfAccumulator(CATALOG, tiers=TierTable(None, {}, "", models))
    assert acc.tier("alpha/big-2025-01-31") == 1  # a dated snapshot inherits its family's tier
    assert acc.tier("hostB/meta/open-70b") == 3  # the same open model on another host
    assert acc.tier_source("hostB/meta/open-70b") == "x"
    assert acc.tier("gamma/untiered") is None


def test_retired_models_price_old_logs_but_are_never_proposed() -> None:
    cheap = Rates(input=Decimal("0.01"), output=Decimal("0.01"))
    retired = PricePoint(date(2025, 1, 1), "old", date(2025, 6, 1), cheap)
    catalog = Catalog([*CATALOG.entries, ModelEntry(id="delta/gone", provider="delta", name="gone",
                                                    prices=(retired,), context_window=1_000_000)], date(2026, 1, 1))
    tiers = TierTable(TIERS.as_of, TIERS.scale, "test", {**TIERS.models, "delta/gone": TierInfo("delta/gone", 1, "t")})
    acc = WhatIfAccumulator(catalog, tiers=tiers)
    assert "delta/gone" not in {c.model for c in acc.candidates}
    assert "beta/big-cheap" in {c.model for c in acc.candidates}


def test_the_fee_is_a_months_fee_scaled_like_the_spend_it_is_charged_on() -> None:
    """The fee was the log window's (``fee $1.09`` beside a $25,286 monthly spend at --volume)."""
    from llmaudit.units import parse_volume

    rows = [_row(d, "alpha/big", 50_000, 1_000) for d in range(1, 11)]   # 10 days, $0.104 a day routed
    acc = WhatIfAccumulator(CATALOG, tiers=TIERS)
    import pyarrow.compute as pc

    table = from_pylist(rows)
    acc.add(table, pc.strftime(table.column("timestamp"), "%Y-%m-%d"))
    plain = acc.result()
    scaled = acc.result(volume=parse_volume("10B-tokens/month"))
    for w in (plain, scaled):
        r = w.routed
        before = r.monthly_spend - r.monthly_fee
        assert abs(r.monthly_fee - max(before * Decimal("0.055"), Decimal("0.80"))) < Decimal("1e-12")
    # at volume the fee grows with the routed spend: 5.5% of it, far above the window's own fee
    assert scaled.routed.monthly_fee > 1000 * plain.routed.fee


def test_a_small_month_pays_the_platform_fees_minimum_and_byok_has_none() -> None:
    rows = [_row(1, "alpha/big", 1_000, 100), _row(2, "alpha/big", 1_000, 100)]
    w = _run(rows)
    assert w.routed.fee_minimum == Decimal("0.80") and w.routed.monthly_fee == Decimal("0.80")
    # the floor above the percentage comes off the annual savings too
    pct_only = (w.routed.monthly_spend - w.routed.monthly_fee) * Decimal("0.055")
    assert abs(w.routed.annual_savings - (w.current_monthly - w.routed.monthly_spend) * 12) < Decimal("1e-12")
    assert pct_only < Decimal("0.80")
    byok = _run(rows, byok=True)
    assert byok.routed.fee_minimum == 0 and byok.routed.monthly_fee < Decimal("0.80")
