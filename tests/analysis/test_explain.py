"""analysis.spend.explain on hand-made logs whose figures are worked out here from the catalog's rates for
anthropic/claude-sonnet-4-5 (input $3, cache read $0.30, 5-minute write $3.75, 1-hour write $6, output
$15 per 1M tokens; batch input $1.50)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from llmaudit.analysis.spend.builder import build_spend
from llmaudit.analysis.spend.explain import ExplainAccumulator
from llmaudit.analysis.spend.explanation import BatchRule, parse_batchable
from llmaudit.analysis.spend.report import SpendOptions
from llmaudit.errors import UsageError
from llmaudit.pricing import load_catalog
from llmaudit.schema import from_pylist

SONNET = "anthropic/claude-sonnet-4-5"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


def row(hh: int, mm: int, *, day: int = 10, inp: int = 0, read: int = 0, w5: int = 0, w1h: int = 0,
        out: int = 0, tags: list[str] | None = None, billed: float | None = None, **more: Any) -> dict[str, Any]:
    return {"timestamp": datetime(2026, 11, day, hh, mm, tzinfo=UTC), "provider": "anthropic", "model": SONNET,
            "model_raw": "claude-sonnet-4-5", "input_tokens": inp, "cache_read_tokens": read,
            "cache_write_tokens": w5 + w1h, "cache_write_1h_tokens": w1h, "output_tokens": out,
            "reasoning_tokens": 0, "requests": 1, "cost_usd": None, "billed_cost_usd": billed,
            "price_status": None, "source_format": "test", "user": "alice", "project": "p", "tags": tags, **more}


def explain(rows: list[dict[str, Any]], rule: BatchRule | None = None) -> tuple[Any, Any]:
    catalog = load_catalog()
    acc = ExplainAccumulator(catalog, rule=rule)
    report = build_spend([from_pylist(rows)], catalog, SpendOptions(now=NOW, whatif=False), observers=(acc,))
    return report, acc.result(Decimal(1), "USD")


CACHE_ROWS = [
    row(10, 0, inp=10_000, w5=10_000),    # 5-minute write ...
    row(10, 3, inp=10_000, read=10_000),  # ... read 3 minutes later
    row(10, 20, inp=20_000, w5=20_000),   # 5-minute write ...
    row(10, 30, inp=20_000, read=20_000),  # ... expired at 10:25: never read again
    row(11, 0, inp=5_000, w1h=5_000),     # 1-hour write ...
    row(11, 30, inp=5_000, read=5_000),   # ... read after 30 minutes: a 5-minute write would have expired
    row(12, 0, inp=1_000, w5=1_000),      # the log ends: unread
]


def test_cache_economics_from_the_rates() -> None:
    report, e = explain(CACHE_ROWS)
    c = e.cache
    assert (c.input_tokens, c.cache_read_tokens, c.write_5m_tokens, c.write_1h_tokens, c.uncached_tokens) == (
        71_000, 35_000, 31_000, 5_000, 0)
    assert c.hit_rate == pytest.approx(35 / 71)
    assert c.cost == report.totals.cost
    # Premiums over plain input: 5-minute writes $0.75/M, 1-hour $3/M.
    assert c.write_5m_cost == Decimal("0.02325")
    assert c.write_1h_cost == Decimal("0.015")
    assert c.write_5m_as_1h == Decimal("0.093")  # 31,000 × $3/M
    assert c.write_1h_as_5m == Decimal("0.00375")  # 5,000 × $0.75/M
    assert c.needed_1h_tokens == 5_000
    assert (c.unread_writes, c.unread_tokens, c.unread_premium) == (2, 21_000, Decimal("0.01575"))
    # Without caching, reads cost $2.70/M more and no premium is paid.
    assert c.saved == Decimal("0.0945") - Decimal("0.03825")


def test_a_read_restarts_the_ttl() -> None:
    rows = [row(10, 0, inp=1000, w5=1000), row(10, 4, inp=1000, read=1000), row(10, 8, inp=1000, read=1000)]
    _, e = explain(rows)
    assert e.cache.unread_writes == 0
    _, e = explain([rows[0], rows[2]])  # 8 minutes later with no read between: expired
    assert (e.cache.unread_writes, e.cache.unread_tokens) == (1, 1000)


def test_batchable_by_tag_and_latency() -> None:
    rows = [row(9, 0, day=11, inp=1_000_000, tags=["batchable"]),
            row(9, 1, day=11, inp=1_000_000, tags=["chat"], latency_ms=45_000.0),
            row(9, 2, day=11, inp=1_000_000, tags=["chat"], latency_ms=900.0),
            row(9, 3, day=11, inp=1_000_000, service_tier="batch", batch=True)]
    report, e = explain(rows)
    b = e.batch
    assert (b.requests, b.cost, b.at_batch_rates, b.saving) == (1, Decimal(3), Decimal("1.5"), Decimal("1.5"))
    assert (b.already_batch_requests, b.already_batch_cost) == (1, Decimal("1.5"))
    assert b.cost + b.already_batch_cost + b.other_cost == report.totals.cost
    _, e = explain(rows, parse_batchable(["latency:30s"]))
    assert (e.batch.requests, e.batch.saving) == (1, Decimal("1.5"))  # the 45 s one; tags no longer count
    _, e = explain(rows, parse_batchable(["latency:30s", "tag:batchable"]))
    assert e.batch.requests == 2


@pytest.mark.parametrize("bad", ["latency:soon", "size:3", "tag:"])
def test_batchable_rejects_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(UsageError, match="--batchable"):
        parse_batchable([bad])


def test_gaps_by_cause_add_up_to_the_difference() -> None:
    rows = [row(9, 0, day=12, inp=100_000, read=50_000, billed=0.315),  # reads billed again as plain input
            row(9, 1, day=12, inp=100_000, read=50_000, billed=0.3),    # reads billed at the full input rate
            row(9, 2, day=12, inp=1_000_000, billed=1.5, service_tier="standard"),  # billed at batch rates
            row(9, 3, day=12, inp=1_000_000, billed=3.165),             # 5.5% platform fee
            row(9, 4, day=12, inp=1_000_000, billed=4.0),               # no known cause
            row(9, 5, day=12, inp=1_000_000, billed=3.0)]               # agrees: not a gap
    report, e = explain(rows)
    causes = {g.cause: (g.rows, g.difference) for g in e.gaps}
    assert causes == {"cached tokens counted twice": (1, Decimal("0.15")),
                      "cache reads billed at the full input rate": (1, Decimal("0.135")),
                      "tier mismatch": (1, Decimal("-1.5")), "platform fee": (1, Decimal("0.165")),
                      "unexplained": (1, Decimal(1))}
    rec = report.reconciliation
    assert sum(g.rows for g in e.gaps) == rec.differing_rows == 5
    assert sum(g.difference for g in e.gaps) == rec.differing_difference


def test_sessions_grow_and_add_up() -> None:
    rows = [row(9, 0, inp=1000), row(9, 5, inp=5000), row(9, 10, inp=3000, session="s-1"),
            row(9, 0, day=11, inp=2000)]
    report, e = explain(rows)
    assert e.sessions == 3 and e.session_cost == report.totals.cost
    top = {s.key: s for s in e.top_sessions}
    day10 = top["alice · p · 2026-11-10"]
    assert (day10.requests, day10.first_prompt, day10.last_prompt, day10.growth) == (2, 1000, 5000, 5.0)
    assert top["s-1"].growth is None  # one request: no growth to speak of
    assert (e.multi_request_sessions, e.growing_sessions) == (1, 1)


def test_prompt_growth_per_user_first_and_last_week() -> None:
    rows = [row(9, 0, day=1, inp=1000), row(10, 0, day=1, inp=3000), row(9, 0, day=7, inp=2000),
            row(9, 0, day=20, inp=8000), row(9, 0, day=25, inp=4000),
            row(9, 0, day=10, inp=500, user="bob"), row(9, 0, day=12, inp=900, user="bob")]
    _, e = explain(rows)
    (alice,) = e.users  # bob's traffic spans 3 days: no first and last week to compare
    assert (alice.user, alice.requests, alice.first_day, alice.last_day) == ("alice", 5, "2026-11-01", "2026-11-25")
    assert (alice.early_mean, alice.late_mean, alice.growth) == (2000, 6000, 3.0)
