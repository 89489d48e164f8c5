"""analysis.spend.budget: scopes, periods, projection and status rules without the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from llmaudit.analysis.spend.budget import (
    Budget,
    evaluate_budgets,
    exit_code,
    parse_alert_at,
    parse_budget,
    period_bounds,
)
from llmaudit.analysis.spend.daily import TOTAL, DailySpend, DayTotal
from llmaudit.errors import UsageError

UTC_ZONE = ZoneInfo("UTC")


def _daily(days: dict[date, str], model: str = "openai/gpt-4o") -> DailySpend:
    series = {d: DayTotal(Decimal(c), 1, 0) for d, c in days.items()}
    return DailySpend(first=min(days), last=max(days), series={TOTAL: series, ("model", model): series})


@pytest.mark.parametrize(("period", "today", "bounds"), [
    ("day", date(2026, 3, 4), (date(2026, 3, 4), date(2026, 3, 4))),
    ("week", date(2026, 3, 1), (date(2026, 2, 23), date(2026, 3, 1))),  # a Sunday ends its ISO week
    ("week", date(2026, 3, 2), (date(2026, 3, 2), date(2026, 3, 8))),  # Monday starts one
    ("month", date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 29))),
    ("month", date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
])
def test_period_bounds(period: str, today: date, bounds: tuple[date, date]) -> None:
    assert period_bounds(period, today) == bounds


def test_parse_budget_and_alert_at() -> None:
    b = parse_budget("openai/gpt-4o*=1,500.50/monthly")
    assert (b.scope, b.amount, b.period, b.kind, b.pattern) == ("openai/gpt-4o*", Decimal("1500.50"), "month",
                                                                "model", "openai/gpt-4o*")
    u = parse_budget("user:a=b@x.io=20/week")  # the last '=' splits: a user name may hold one
    assert (u.kind, u.pattern, u.amount) == ("user", "a=b@x.io", Decimal(20))
    assert parse_budget("*=5/d").kind == "*"
    assert [parse_alert_at(v) for v in ("80%", "0.8", "80")] == [Decimal("0.8")] * 3
    with pytest.raises(UsageError, match="needs a value"):
        parse_budget("user:=5/week")


def test_no_complete_day_means_no_projection() -> None:
    daily = _daily({date(2026, 5, 10): "9"})
    [s] = evaluate_budgets([Budget("*", Decimal(10), "month")], daily, datetime(2026, 5, 10, 18, tzinfo=UTC),
                           UTC_ZONE)
    assert (s.projected, s.run_rate, s.basis_days, s.status) == (None, None, 0, "alert")
    assert s.logs_start_late  # the logs begin on the 10th, the month on the 1st
    assert exit_code((s,)) == 0


def test_days_without_traffic_count_as_zero_in_the_run_rate() -> None:
    # Spend on the 1st and the 7th only; on the 8th the basis is the 1st .. 7th: $14 / 7 days.
    daily = _daily({date(2026, 6, 1): "7", date(2026, 6, 7): "7"})
    [s] = evaluate_budgets([Budget("openai/*", Decimal(100), "month")], daily,
                           datetime(2026, 6, 8, 0, tzinfo=UTC), UTC_ZONE)
    assert (s.run_rate, s.basis_days, s.days_left, s.spent) == (Decimal(2), 7, Decimal(23), Decimal(14))
    assert s.projected == Decimal(14 + 2 * 23)
    assert s.matched == ("openai/gpt-4o",)


def test_a_scope_that_matches_nothing_spent_nothing() -> None:
    daily = _daily({date(2026, 6, 1): "7"})
    [s] = evaluate_budgets([Budget("user:zoe", Decimal(1), "day")], daily, datetime(2026, 6, 1, 12, tzinfo=UTC),
                           UTC_ZONE)
    assert (s.spent, s.matched, s.status) == (Decimal(0), (), "ok")
