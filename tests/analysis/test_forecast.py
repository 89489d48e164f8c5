"""analysis.spend.forecast (issue 17.3 acceptance): on generated series with trend, weekly seasonality
and level jumps, the 80% interval covers between 70% and 90% of held-out spans and days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from _series import WEEKLY, generate

from llmaudit.analysis.spend.daily import TOTAL, DailySpend, DayTotal
from llmaudit.analysis.spend.forecast import interval, point_forecast
from llmaudit.render.forecast import forecast_note

HISTORY = 120


def backtest(seed: int, series: int, horizon: int) -> tuple[float, float]:
    """Coverage of the 80% interval for the sum of the ``horizon`` days after ``HISTORY`` days, and
    of the per-day intervals over those held-out days."""
    rng = np.random.default_rng(seed)
    covered = days_covered = 0
    for _ in range(series):
        s = generate(rng, n=HISTORY + horizon, trend=rng.uniform(-0.005, 0.01), jumps=int(rng.integers(0, 3)),
                     level=rng.uniform(1, 1000))
        wd = np.array([d.weekday() for d in s.days])
        train, held = s.spend[:HISTORY], s.spend[HISTORY:]
        f = point_forecast(train, wd[:HISTORY], wd[HISTORY:])
        iv = interval(train, wd[:HISTORY], horizon)
        assert iv is not None
        covered += f.sum() * iv[0] <= held.sum() <= f.sum() * iv[1]
        days_covered += int(((f * iv[2] <= held) & (held <= f * iv[3])).sum())
    return covered / series, days_covered / (series * horizon)


@pytest.mark.parametrize("horizon", [30, 11])
def test_interval_coverage_in_the_backtest(horizon: int) -> None:
    spans, days = backtest(seed=2026, series=100, horizon=horizon)
    assert 0.7 <= spans <= 0.9, spans
    assert 0.7 <= days <= 0.9, days


def test_a_regular_weekly_series_is_forecast_exactly() -> None:
    days = [date(2026, 1, 5) + timedelta(days=i) for i in range(42)]
    y = np.array([50 * WEEKLY[d.weekday()] for d in days])
    wd = np.array([d.weekday() for d in days])
    ahead = np.arange(7)  # Monday .. Sunday
    assert np.allclose(point_forecast(y, wd, ahead), 50 * WEEKLY)
    result = interval(y, wd, 7)
    assert result is not None
    lo, hi, day_lo, day_hi, origins = result
    assert origins == 42 - 7 + 1 - 21 and lo == pytest.approx(1) and hi == pytest.approx(1)
    assert np.allclose(day_lo, 1) and np.allclose(day_hi, 1)


def _daily(values: dict[date, str]) -> DailySpend:
    series = {d: DayTotal(Decimal(v), 1, 0) for d, v in values.items()}
    return DailySpend(first=min(values), last=max(values), series={TOTAL: series})


def test_month_end_adds_the_forecast_to_the_exact_spend() -> None:
    from llmaudit.analysis.spend.forecast import forecast_spend

    start = date(2026, 3, 1)
    values = {start + timedelta(days=i): "0.1" for i in range(70)}  # through 9 May
    f = forecast_spend(_daily(values), datetime(2026, 5, 10, 12, tzinfo=UTC), ZoneInfo("UTC"))
    assert f is not None and f.history_days == 70 and forecast_note(f) is None
    assert f.month_end.known == Decimal("0.9")  # 1 .. 9 May, exactly
    assert f.month_end.expected == Decimal("0.9") + Decimal("2.2")  # 22 more days at $0.10 (10 .. 31 May)
    assert f.month_end.low == f.month_end.high == f.month_end.expected
    assert f.next_30_days.expected == Decimal("3.0") and (f.next_30_days.start, f.next_30_days.end) == (
        date(2026, 5, 10), date(2026, 6, 8))


def test_short_history_has_no_interval_and_says_why() -> None:
    from llmaudit.analysis.spend.forecast import forecast_spend

    values = {date(2026, 5, 1) + timedelta(days=i): "1" for i in range(20)}
    f = forecast_spend(_daily(values), datetime(2026, 5, 21, tzinfo=UTC), ZoneInfo("UTC"))
    assert f is not None and f.month_end.low is None and f.next_30_days.high is None
    assert forecast_note(f) is not None and "these logs have 20" in forecast_note(f)  # type: ignore[operator]
    assert forecast_spend(_daily({date(2026, 5, 21): "1"}), datetime(2026, 5, 21, 9, tzinfo=UTC),
                          ZoneInfo("UTC")) is None
