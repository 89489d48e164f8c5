"""Spend aggregation on hand-built record tables: exact totals, unpriced, billed vs list, time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from llmaudit.analysis.spend.builder import build_spend
from llmaudit.analysis.spend.report import SpendOptions
from llmaudit.errors import UsageError
from llmaudit.render.spend_text import spend_warnings
from llmaudit.schema import from_pylist
from llmaudit.units import parse_by, parse_when


def _row(ts: datetime, model: str, cost: float | None, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "timestamp": ts, "provider": model.split("/")[0], "model": model, "model_raw": model.split("/")[-1],
        "input_tokens": 1000, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 100,
        "reasoning_tokens": 0,
        "requests": 1, "cost_usd": cost, "billed_cost_usd": None,
        "price_status": "priced" if cost is not None else "unknown_model", "source_format": "test",
        "source_file": "log.jsonl", "source_line": 1,
    }
    row.update(kw)
    return row


def _report(rows: list[dict[str, Any]], **opts: Any) -> Any:
    opts.setdefault("whatif", False)
    # Two batches: aggregation must not depend on how rows are split.
    half = len(rows) // 2
    tables = [from_pylist(rows[:half]), from_pylist(rows[half:])] if half else [from_pylist(rows)]
    return build_spend(tables, None, SpendOptions(**opts))


T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_totals_are_exact_decimal_sums() -> None:
    rows = [_row(T0, "openai/gpt-4o", 0.1), _row(T0, "openai/gpt-4o", 0.2), _row(T0, "anthropic/claude", 0.0000033)]
    r = _report(rows)
    assert r.totals.cost == Decimal("0.3000033")  # 0.1 + 0.2 in floats would be 0.30000000000000004
    by_model = {row.key[0]: row for row in r.breakdowns[0].rows}
    assert by_model["openai/gpt-4o"].cost == Decimal("0.3")
    assert by_model["openai/gpt-4o"].requests == 2
    assert r.totals.input_tokens == 3000 and r.totals.output_tokens == 300
    assert sum((b.cost for b in r.breakdowns[0].rows), Decimal(0)) == r.totals.cost


def test_unpriced_rows_are_never_zero() -> None:
    rows = [_row(T0, "openai/gpt-4o", 0.5), _row(T0, "acme/mystery", None, input_tokens=700, output_tokens=70),
            _row(T0, "acme/mystery", None, input_tokens=300, output_tokens=30, billed_cost_usd=0.01)]
    r = _report(rows)
    assert r.totals.cost == Decimal("0.5")
    assert r.totals.unpriced_requests == 2 and r.totals.unpriced_tokens == 1100
    mystery = next(row for row in r.breakdowns[0].rows if row.key == ("acme/mystery",))
    assert mystery.cost is None  # not $0
    assert [(u.model, u.status, u.requests, u.input_tokens) for u in r.unpriced] == [
        ("acme/mystery", "unknown_model", 2, 1000)]
    data = r.to_dict()
    assert data["totals"]["unpriced_requests"] == 2
    assert data["breakdowns"]["model"]["rows"][1]["cost"] is None
    assert data["unpriced"][0]["billed"] == 0.01
    assert any("could not be priced" in w for w in spend_warnings(r))


def test_billed_vs_recomputed_counts_sums_and_lists_differences() -> None:
    rows = [
        _row(T0, "openai/gpt-4o", 1.0, billed_cost_usd=1.005, request_id="ok"),      # 0.5%: within tolerance
        _row(T0, "openai/gpt-4o", 1.0, billed_cost_usd=1.25, request_id="high", source_line=7),
        _row(T0, "openai/gpt-4o", 2.0, billed_cost_usd=1.5, request_id="low"),
        _row(T0, "openai/gpt-4o", 3.0, request_id="nobill"),
        _row(T0, "acme/x", None, billed_cost_usd=0.2),
    ]
    rec = _report(rows).reconciliation
    assert rec.compared_rows == 3
    assert rec.billed == Decimal("3.755") and rec.recomputed == Decimal("4")
    assert rec.differing_rows == 2
    assert rec.differing_billed == Decimal("2.75") and rec.differing_recomputed == Decimal("3")
    assert rec.differing_difference == Decimal("-0.25")
    assert rec.billed_unpriced_rows == 1 and rec.billed_unpriced == Decimal("0.2")
    assert [d.request_id for d in rec.listed] == ["low", "high"]  # largest |difference| first
    high = rec.listed[1]
    assert high.source == "log.jsonl:7" and high.relative == pytest.approx(0.25)


def test_listing_is_capped_but_counting_is_not() -> None:
    rows = [_row(T0, "m/a", 1.0, billed_cost_usd=1.0 + i / 10, request_id=f"r{i}") for i in range(1, 30)]
    rec = _report(rows, max_listed=5).reconciliation
    assert rec.differing_rows == 29
    assert [d.request_id for d in rec.listed] == ["r29", "r28", "r27", "r26", "r25"]


def test_timezone_moves_day_boundaries() -> None:
    late = datetime(2026, 11, 2, 3, 30, tzinfo=UTC)  # 22:30 on Nov 1 in New York
    rows = [_row(late, "m/a", 1.0), _row(T0, "m/a", 2.0)]
    utc = _report(rows, by=(("day",),))
    ny = _report(rows, by=(("day",),), timezone="America/New_York")
    assert [(r.key, r.cost) for r in utc.breakdowns[0].rows] == [(("2026-11-02",), Decimal(3))]
    assert [(r.key, r.cost) for r in ny.breakdowns[0].rows] == [
        (("2026-11-01",), Decimal(1)), (("2026-11-02",), Decimal(2))]


def test_since_until_window_counts_what_it_leaves_out() -> None:
    rows = [_row(datetime(2026, 10, 31, 23, tzinfo=UTC), "m/a", 1.0), _row(T0, "m/a", 2.0),
            _row(datetime(2026, 11, 5, tzinfo=UTC), "m/a", 4.0)]
    since, until = parse_when("2026-11-01", "UTC", "--since"), parse_when("2026-11-05", "UTC", "--until")
    r = _report(rows, since=since, until=until)
    assert r.totals.cost == Decimal(2)
    assert r.rows_outside_window == 2 and r.rows_read == 3
    assert any("outside --since/--until" in w for w in spend_warnings(r))
    # A date in another timezone starts at that zone's midnight.
    assert parse_when("2026-11-01", "Europe/Berlin", "--since") == datetime(2026, 10, 31, 23, tzinfo=UTC)


def test_currency_conversion_applies_to_every_amount() -> None:
    rows = [_row(T0, "m/a", 10.0, billed_cost_usd=12.0)]
    r = _report(rows, currency="EUR", fx_rate=Decimal("0.92"))
    assert r.totals.cost == Decimal("9.2")
    assert r.breakdowns[0].rows[0].billed == Decimal("11.04")
    assert r.reconciliation.differing_difference == Decimal("1.84")
    assert r.to_dict()["currency"] == "EUR"


def test_projection_uses_recent_daily_run_rate() -> None:
    rows = [_row(datetime(2026, 11, d, 12, tzinfo=UTC), "m/a", 2.0) for d in range(1, 11)]
    now = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # 10 full days done, 20 days to go
    p = _report(rows, now=now).projection
    assert p is not None and p.month == "2026-11"
    assert p.to_date == Decimal(20)
    assert p.run_rate == Decimal(2) and p.basis_days == 7
    assert p.projected == Decimal(60)


def test_projection_of_the_logs_last_month_when_now_is_past_the_log() -> None:
    """It vanished when "now" was after the data (a log exported last month, read today)."""
    rows = [_row(datetime(2026, 11, d, 12, tzinfo=UTC), "m/a", 2.0) for d in range(1, 11)]
    p = _report(rows, now=datetime(2027, 1, 5, tzinfo=UTC)).projection
    assert p is not None and p.month == "2026-11" and p.log_ends == datetime(2026, 11, 10, 12, tzinfo=UTC)
    assert p.to_date == Decimal(20) and p.run_rate == Decimal(2) and p.basis_days == 7
    assert p.projected == Decimal(20) + Decimal(2) * Decimal("20.5")  # Nov 10 12:00 to Dec 1 00:00
    assert _report(rows, now=datetime(2026, 11, 11, tzinfo=UTC)).projection.log_ends is None
    # before the log there is nothing to project
    assert _report(rows, now=datetime(2026, 10, 5, tzinfo=UTC)).projection is None


def test_projection_counts_unpriced_requests_over_the_same_days_as_its_dollars() -> None:
    """With --now mid-month the dollars covered the month to date, the unpriced count the whole month."""
    rows = [_row(datetime(2026, 11, d, 12, tzinfo=UTC), "m/a", 2.0) for d in range(1, 21)]
    rows += [_row(datetime(2026, 11, d, 12, tzinfo=UTC), "acme/mystery", None) for d in (3, 8, 15, 18)]
    p = _report(rows, now=datetime(2026, 11, 10, 18, tzinfo=UTC)).projection
    assert p is not None and p.to_date == Decimal(20)  # Nov 1-10
    assert p.unpriced_requests == 2  # Nov 3 and 8, not 15 and 18


def test_tags_users_and_crossed_breakdowns() -> None:
    rows = [_row(T0, "m/a", 1.0, tags=["x", "y"], user="ana"), _row(T0, "m/b", 2.0, user="ben")]
    r = _report(rows, by=parse_by("tag,user,model+user"))
    tags = {row.key: row.cost for row in r.breakdowns[0].rows}
    assert tags == {("x",): Decimal(1), ("y",): Decimal(1), ("(untagged)",): Decimal(2)}
    assert r.breakdowns[0].note
    crossed = {row.key: row.cost for row in r.breakdowns[2].rows}
    assert crossed == {("m/a", "ana"): Decimal(1), ("m/b", "ben"): Decimal(2)}


def test_default_breakdowns_show_user_only_when_present() -> None:
    r = _report([_row(T0, "m/a", 1.0)])
    assert [b.name for b in r.breakdowns] == ["model", "provider", "day"]


def test_bad_by_and_dates_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown dimension"):
        parse_by("model,colour")
    with pytest.raises(UsageError, match="--since"):
        parse_when("last tuesday", "UTC", "--since")
    with pytest.raises(UsageError, match="timezone"):
        parse_when("2026-11-01", "Mars/Olympus", "--since")


def test_markdown_snapshot_for_a_small_report() -> None:
    from llmaudit.render.spend import render_markdown

    rows = [_row(T0, "openai/gpt-4o", 0.25, billed_cost_usd=0.3, request_id="r1", user="ana"),
            _row(T0, "acme/x", None, user="ben")]
    r = _report(rows, now=datetime(2026, 11, 3, tzinfo=UTC), by=parse_by("model,user"))
    assert render_markdown(r) == """\
# Spend audit (2026-11-02 … 2026-11-02, UTC)

**Total:** $0.25 over 1 priced requests, plus 1 unpriced requests (1,100 tokens)

Catalog as of n/a; currency USD

## Spend by model

| Model | Requests | Input tok | Output tok | Cost | Share | Billed |
|---|---|---|---|---|---|---|
| openai/gpt-4o | 1 | 1,000 | 100 | $0.25 | 100.0% | $0.30 |
| acme/x | 1 | 1,000 | 100 | unpriced | n/a | - |

## Spend by user

| User | Requests | Input tok | Output tok | Cost | Share | Billed |
|---|---|---|---|---|---|---|
| ana | 1 | 1,000 | 100 | $0.25 | 100.0% | $0.30 |
| ben | 1 | 1,000 | 100 | unpriced | n/a | - |

## Unpriced

No list price: not counted in the totals, never as $0.

| Model | Provider | Why | Requests | Input tok | Output tok | Billed by source |
|---|---|---|---|---|---|---|
| acme/x | acme | unknown_model | 1 | 1,000 | 100 | - |

## Billed vs recomputed

1 requests carry a billed cost: billed $0.30 vs list price $0.25. **1 differ by more than 1%**: billed $0.30 vs \
$0.25 (difference $0.05).

| Time (UTC) | Model | Request | Where | Billed | Recomputed | Diff | Diff % |
|---|---|---|---|---|---|---|---|
| 2026-11-02 15:00 | openai/gpt-4o | r1 | log.jsonl:1 | $0.300000 | $0.250000 | $0.050000 | 20.0% |

## This month (2026-11)

$0.25 to date; at $0.25/day (last 1 complete days) the month ends near **$7.25**; plus 1 unpriced requests.

> warning: 1 requests could not be priced (acme/x); they are listed apart and not counted as $0
"""


def test_cost_only_rows_are_billed_only_not_mismatches() -> None:
    rows = [_row(T0, "anthropic/claude-sonnet-4", 0.0, input_tokens=0, output_tokens=0, requests=0,
                 billed_cost_usd=12.5, tags=["cost-report"]),
            _row(T0, "anthropic/claude-sonnet-4", 1.0, billed_cost_usd=1.0)]
    rec = _report(rows).reconciliation
    assert rec.compared_rows == 1 and rec.differing_rows == 0
    assert rec.billed_unpriced_rows == 1 and rec.billed_unpriced == Decimal("12.5")


def test_byok_fee_rows_are_not_mismatches() -> None:
    rows = [_row(T0, "openai/gpt-4o", 1.0, billed_cost_usd=0.05, tags=["byok", "OpenAI"]),
            _row(T0, "openai/gpt-4o", 1.0, billed_cost_usd=1.2, tags=["OpenAI"])]
    rec = _report(rows).reconciliation
    assert rec.compared_rows == 1 and rec.differing_rows == 1
    assert rec.billed_unpriced_rows == 1 and rec.billed_unpriced == Decimal("0.05")


def test_tier_not_determinable_rows_are_counted_and_shown_in_every_format() -> None:
    """A bucket of 1,000 requests on gpt-5.4 (5M in): priced at base rates, counted as "tier not
    determinable" in the totals, every breakdown, JSON, CSV, the table, Markdown and HTML; a report
    without such rows says nothing about it."""
    import json

    from rich.console import Console

    from llmaudit.pricing import load_catalog
    from llmaudit.render.spend import render_csv, render_markdown, render_table
    from llmaudit.render.spend_html import render_spend_html

    def unpriced(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "cost_usd": None, "price_status": "unpriced"}

    bucket = unpriced(_row(T0, "openai/gpt-5.4", None, input_tokens=5_000_000, output_tokens=400_000,
                           requests=1000))
    single = unpriced(_row(T0, "openai/gpt-5.4", None, input_tokens=300_000, output_tokens=0))
    small = unpriced(_row(T0, "openai/gpt-5.4", None, input_tokens=2_000, output_tokens=0, requests=3))
    catalog = load_catalog()
    r = build_spend([from_pylist([bucket, single, small])], catalog, SpendOptions(whatif=False))
    assert r.totals.cost == Decimal("18.5") + Decimal("1.5") + Decimal("0.005")  # bucket at base, 300k at the tier
    assert r.totals.tier_undetermined_rows == 1
    assert r.breakdowns[0].rows[0].tier_undetermined_rows == 1
    data = json.loads(json.dumps(r.to_dict()))
    assert data["totals"]["tier_undetermined_rows"] == 1
    assert data["breakdowns"]["model"]["rows"][0]["tier_undetermined_rows"] == 1
    import csv
    import io

    csv_total = next(csv.DictReader(io.StringIO(render_csv(r))))
    assert csv_total["table"] == "total" and csv_total["tier_undetermined_rows"] == "1"
    console = Console(width=200, record=True)
    console.print(render_table(r, whatif=False))
    line = "1 aggregated row at base rates (long-context tier not determinable)"
    for text in (console.export_text(), render_markdown(r, whatif=False), render_spend_html(r)):
        assert text.count(line) == 1

    plain = build_spend([from_pylist([single, small])], catalog, SpendOptions(whatif=False))
    assert plain.totals.tier_undetermined_rows == 0
    console = Console(width=200, record=True)
    console.print(render_table(plain, whatif=False))
    for text in (console.export_text(), render_markdown(plain, whatif=False), render_spend_html(plain)):
        assert "not determinable" not in text
