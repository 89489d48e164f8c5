"""Spend forecast: month-end and next-30-day spend with a prediction interval, from the daily
series of the whole report.

Point forecast (``point_forecast``), fitted on complete days only (today is still running):

* weekday factors: the median ratio of each weekday's spend to the centred 7-day mean around it,
  over the last eight weeks, scaled to average 1 (with under two weeks of history: all 1);
* level: the mean of the last 7 deseasonalised days (it follows a jump within a week);
* trend: the Theil-Sen slope (median of pairwise slopes, robust to spikes and single jumps) of the
  last 28 deseasonalised days, damped by ``DAMPING`` a day so that a short surge is not carried
  on for a month;
* day ``h`` ahead: ``max(level + trend × (3 + damped h), 0) × weekday factor`` (the level is the
  mean of a week, centred three days back).

Prediction interval (``interval``): split-conformal on rolling-origin backtests of the same
method over the history itself. From every origin with at least ``MIN_TRAIN`` days before it and
the whole horizon after it, the method forecasts the horizon and the log ratio of the actual sum
to the forecast sum is kept; the interval is the forecast × the ``(1 - level)/2`` and
``(1 + level)/2`` quantiles of those ratios. It is as wide as this series' own forecast errors
have been, so trends, jumps and noise the model misses widen it. It needs ``MIN_ORIGINS``
origins: with less history the forecast has no interval, and says how many days it needs.
``bench/forecast_backtest.py`` measures its coverage on generated series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from llmaudit.analysis.spend.daily import TOTAL, DailySpend

__all__ = ["DAMPING", "MIN_ORIGINS", "MIN_TRAIN", "Forecast", "ForecastDay", "Outlook", "forecast_spend",
           "interval", "point_forecast"]

MIN_TRAIN = 21  # days of history before a backtest origin
MIN_ORIGINS = 10  # backtest origins needed for an interval
DAMPING = 0.95
WIDEN = 1.25  # see _widened; bench/forecast_backtest.py measures the coverage it gives
WIDEN_DAY = 1.1
LEVEL = 0.8
_FLOOR = 1e-9


@dataclass(frozen=True)
class ForecastDay:
    day: date
    expected: Decimal
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True)
class Outlook:
    """A forecast sum over some days, with its interval (None when the history is too short)."""

    label: str  # "month-end 2026-11" | "next 30 days"
    start: date
    end: date  # inclusive
    known: Decimal  # already spent in the span before today (month-end: the month's complete days)
    expected: Decimal  # known + forecast of the remaining days
    low: Decimal | None
    high: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "known": _money(self.known), "expected": _money(self.expected), "low": _money(self.low),
                "high": _money(self.high)}


@dataclass(frozen=True)
class Forecast:
    level: float  # of the prediction interval, e.g. 0.8
    today: date  # in the report timezone; forecasts start here (today counts as a forecast day)
    history_days: int  # complete days the model was fitted on
    backtest_origins: int  # origins behind the 30-day interval
    month_end: Outlook
    next_30_days: Outlook
    days: tuple[ForecastDay, ...]  # today .. the later of month end and today + 29
    unpriced_requests: int  # in the history: not in any figure here (never counted as $0)
    # why there is no interval, when there is none: (span, complete days of history it needs); worded by
    # render.forecast.forecast_note
    interval_needs: tuple[tuple[str, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"method": "weekday factors × (7-day level + damped Theil-Sen trend); split-conformal interval "
                          "from rolling-origin backtests",
                "interval_level": self.level, "today": self.today.isoformat(), "history_days": self.history_days,
                "backtest_origins": self.backtest_origins, "month_end": self.month_end.to_dict(),
                "next_30_days": self.next_30_days.to_dict(), "unpriced_requests": self.unpriced_requests,
                "days": [{"day": d.day.isoformat(), "expected": _money(d.expected), "low": _money(d.low),
                          "high": _money(d.high)} for d in self.days]}


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("1e-10")))


def _dec(x: float) -> Decimal:
    return Decimal(repr(round(float(x), 10)))


# --------------------------------------------------------------------------------------- the model
def _weekday_factors(y: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    n = len(y)
    if n < 14:
        return np.ones(7)
    centred = np.convolve(y, np.ones(7) / 7, mode="valid")  # centred[i] is the mean of y[i .. i+6]
    idx = np.arange(3, n - 3)[-56:]
    base = centred[idx - 3]
    factors = np.ones(7)
    for w in range(7):
        sel = (weekdays[idx] == w) & (base > 0)
        if sel.any():
            factors[w] = float(np.median(y[idx][sel] / base[sel]))
    mean = factors.mean()
    return factors / mean if mean > 0 else np.ones(7)


def _theil_sen(d: np.ndarray) -> float:
    t = np.flatnonzero(~np.isnan(d))
    if len(t) < 7:
        return 0.0
    i, j = np.triu_indices(len(t), k=1)
    return float(np.median((d[t[j]] - d[t[i]]) / (t[j] - t[i])))


def point_forecast(y: np.ndarray, weekdays: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """Daily forecasts for the days after ``y`` whose weekdays are ``ahead`` (see the module docstring)."""
    if len(y) == 0:
        return np.zeros(len(ahead))
    factors = _weekday_factors(y, weekdays)
    with np.errstate(divide="ignore", invalid="ignore"):
        deseason = np.where(factors[weekdays] > 0, y / factors[weekdays], np.nan)
    recent = deseason[-7:]
    level = float(np.nanmean(recent)) if not np.all(np.isnan(recent)) else 0.0
    slope = _theil_sen(deseason[-28:]) if len(y) >= 14 else 0.0
    h = np.arange(1, len(ahead) + 1)
    damped = np.cumsum(DAMPING ** h)
    return np.maximum(level + slope * (3 * DAMPING + damped), 0.0) * factors[ahead]


def _backtest_errors(y: np.ndarray, weekdays: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Log ratios actual / forecast, for the horizon's sum and for each day ahead, from every origin."""
    sums, days = [], []
    scale = max(float(np.median(y[y > 0])) if np.any(y > 0) else 0.0, _FLOOR) * 0.05
    for origin in range(MIN_TRAIN, len(y) - horizon + 1):
        f = point_forecast(y[:origin], weekdays[:origin], weekdays[origin:origin + horizon])
        actual = y[origin:origin + horizon]
        sums.append(np.log((actual.sum() + scale) / (f.sum() + scale)))
        days.append(np.log((actual + scale) / (f + scale)))
    return np.array(sums), np.array(days).reshape(len(days), horizon)


def interval(y: np.ndarray, weekdays: np.ndarray, horizon: int, level: float = LEVEL
             ) -> tuple[float, float, np.ndarray, np.ndarray, int] | None:
    """Conformal multipliers for the next ``horizon`` days: (low, high) for their sum, per-day (low,
    high) arrays and the number of origins; None with too few origins."""
    if horizon < 1 or len(y) - horizon + 1 - MIN_TRAIN < MIN_ORIGINS:
        return None
    sums, days = _backtest_errors(y, weekdays, horizon)
    # The split-conformal finite-sample correction: the ceil((m + 1)(1 + level)/2)-th of m errors.
    upper = min(1.0, (1 + level) / 2 * (len(sums) + 1) / len(sums))
    q = (1 - upper, upper)
    lo, hi = _widened(sums, q, 1 + (WIDEN - 1) * min(horizon, 30) / 30)
    mid = np.median(days, axis=0)
    day_q = np.quantile(days, q, axis=0)
    # Per day the overlap matters less (one shared level error, not a shared window): a tenth wider.
    day_lo, day_hi = mid + (day_q[0] - mid) * WIDEN_DAY, mid + (day_q[1] - mid) * WIDEN_DAY
    return float(np.exp(lo)), float(np.exp(hi)), np.exp(day_lo), np.exp(day_hi), len(sums)


def _widened(errors: np.ndarray, q: tuple[float, float], factor: float) -> tuple[float, float]:
    """Quantiles of the backtest errors of a sum, spread ``factor`` times wider about their median:
    the windows of neighbouring origins overlap (by all but one day), so their errors are
    correlated and their empirical quantiles narrower than the spread of one new window's error;
    the longer the window, the more so (``WIDEN`` at 30 days, less for shorter spans)."""
    mid = float(np.median(errors))
    lo, hi = np.quantile(errors, q)
    return mid + (float(lo) - mid) * factor, mid + (float(hi) - mid) * factor


def history_needed(horizon: int) -> int:
    return MIN_TRAIN + horizon + MIN_ORIGINS - 1


# --------------------------------------------------------------------------------------- the report
def forecast_spend(daily: DailySpend, now: datetime, zone: ZoneInfo, level: float = LEVEL) -> Forecast | None:
    """Month-end and next-30-day spend of the whole report; None when no complete day precedes today."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(zone).date()
    total = daily.series.get(TOTAL, {})
    if daily.first is None or daily.first >= today:
        return None
    history = [daily.first + timedelta(days=i) for i in range((today - daily.first).days)]
    y = np.array([float(total[d].cost) if d in total else 0.0 for d in history])
    weekdays = np.array([d.weekday() for d in history])
    month_start = today.replace(day=1)
    month_last = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    span = max((month_last - today).days + 1, 30)
    ahead = [today + timedelta(days=i) for i in range(span)]
    f = point_forecast(y, weekdays, np.array([d.weekday() for d in ahead]))
    month_days = (month_last - today).days + 1
    thirty = interval(y, weekdays, 30, level)
    month = interval(y, weekdays, month_days, level)
    per_day = interval(y, weekdays, span, level)
    known = sum((total[d].cost for d in history if d >= month_start and d in total), Decimal(0))

    def outlook(label: str, start: date, end: date, n: int, known: Decimal, iv: Any) -> Outlook:
        point = float(f[:n].sum())
        return Outlook(label=label, start=start, end=end, known=known,
                       expected=known + _dec(point), low=None if iv is None else known + _dec(point * iv[0]),
                       high=None if iv is None else known + _dec(point * iv[1]))

    days = tuple(ForecastDay(d, _dec(f[i]), None if per_day is None else _dec(f[i] * per_day[2][i]),
                             None if per_day is None else _dec(f[i] * per_day[3][i])) for i, d in enumerate(ahead))
    needs = tuple((name, history_needed(n)) for name, n, iv in (("month-end", month_days, month),
                                                                ("next-30-day", 30, thirty)) if iv is None)
    unpriced = sum(total[d].unpriced_requests for d in history if d in total)
    return Forecast(
        level=level, today=today, history_days=len(history), backtest_origins=0 if thirty is None else thirty[4],
        month_end=outlook(f"month-end {today.strftime('%Y-%m')}", month_start, month_last, month_days, known, month),
        next_30_days=outlook("next 30 days", today, today + timedelta(days=29), 30, Decimal(0), thirty),
        days=days, unpriced_requests=unpriced, interval_needs=needs,
    )
