"""Spend anomalies: days whose spend on one model, provider, user, tag or API key is far above what
that series' own level and weekday pattern lead one to expect.

Robust, weekday-aware decomposition of each daily series ``y`` (from the first day the value has
spend to the last day of the report; a day without traffic is 0):

1. level ``L[t]`` = median of ``y`` over the 15 days centred on ``t`` (shifted inward at the ends of
   the series; a median, so a spike does not raise its own baseline; a level shift moves it within
   a week);
2. weekday factor ``s[w]`` = median of ``y[t] / L[t]`` over the days of weekday ``w`` (weekends
   that are always quiet are not anomalies, a Saturday as busy as a Tuesday may be);
3. expected ``e[t] = L[t] × s[w(t)]`` and residual ``r[t] = log((y[t] + f) / (e[t] + f))``, a log
   ratio because spend noise is multiplicative (``f``, 5% of the median spending day, keeps a zero
   expectation finite);
4. robust z = ``(r[t] - median(r)) / (1.4826 × MAD(r))``, the MAD floored at 0.05 so that a very
   regular series does not flag trifles.

A day is anomalous when z ≥ ``threshold`` (4 by default) and its spend exceeds the expectation
by at least ``min_excess`` (a cent in the report currency). Only spikes are reported, not drops.
Series with fewer than ``MIN_DAYS`` days, or with spend on fewer than half of their days, are too
sparse for a baseline: they are counted as not tested, never silently passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from llmaudit.analysis.spend.daily import DailySpend, TopRequest

__all__ = ["ANOMALY_DIMENSIONS", "MIN_DAYS", "Anomaly", "AnomalyReport", "detect_anomalies", "score_series"]

ANOMALY_DIMENSIONS = ("model", "provider", "user", "tag", "key")
MIN_DAYS = 15  # two weeks and a day: the rolling window
_HALF_WINDOW = 7
_MAD_FLOOR = 0.05
_NO_VALUE = "(none)"


@dataclass(frozen=True)
class Anomaly:
    dimension: str
    value: str
    day: date
    spend: Decimal  # exact, report currency (priced requests)
    expected: Decimal  # the series' level × its weekday factor (an estimate)
    z: float  # robust z-score of the day's log ratio to the expectation
    unpriced_requests: int  # that day, in this series, not in ``spend``
    top: tuple[TopRequest, ...]  # the costliest requests of the day in this series

    @property
    def excess(self) -> Decimal:
        return self.spend - self.expected

    @property
    def ratio(self) -> float | None:
        return float(self.spend / self.expected) if self.expected > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "value": self.value, "day": self.day.isoformat(),
                "spend": _money(self.spend), "expected": _money(self.expected), "excess": _money(self.excess),
                "ratio": None if self.ratio is None else round(self.ratio, 4), "z": round(self.z, 3),
                "unpriced_requests": self.unpriced_requests, "top_requests": [t.to_dict() for t in self.top]}


@dataclass(frozen=True)
class AnomalyReport:
    threshold: float
    dimensions: tuple[str, ...]
    series_tested: int
    series_too_sparse: int  # fewer than MIN_DAYS days, or spend on fewer than half of them
    anomalies: tuple[Anomaly, ...]  # by day, then largest excess first

    def to_dict(self) -> dict[str, Any]:
        return {"method": "weekday-aware median/MAD (15-day rolling median level × weekday factor)",
                "threshold_z": self.threshold, "dimensions": list(self.dimensions),
                "series_tested": self.series_tested, "series_too_sparse": self.series_too_sparse,
                "items": [a.to_dict() for a in self.anomalies]}


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("1e-10")))


def score_series(y: np.ndarray, weekdays: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Expected values and robust z-scores of a daily series (see the module docstring); None when
    the series is too sparse to have a baseline."""
    n = len(y)
    if n < MIN_DAYS or np.count_nonzero(y > 0) < n / 2:
        return None
    h = _HALF_WINDOW
    inner = np.median(np.lib.stride_tricks.sliding_window_view(y, 2 * h + 1), axis=1)
    # At the edges the window is shifted inward, not cut short: a cut window holds a different mix
    # of weekdays (eight days with two of a weekend) and biases the level.
    level = np.concatenate([np.full(h, inner[0]), inner, np.full(h, inner[-1])])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(level > 0, y / level, np.nan)
    factors = np.ones(7)
    for w in range(7):
        on_day = ratio[(weekdays == w) & ~np.isnan(ratio)]
        if len(on_day):
            factors[w] = np.median(on_day)
    expected = level * factors[weekdays]
    floor = 0.05 * float(np.median(y[y > 0]))
    rel = np.log((y + floor) / (expected + floor))
    centre = float(np.median(rel))
    scale = max(1.4826 * float(np.median(np.abs(rel - centre))), _MAD_FLOOR)
    return expected, (rel - centre) / scale


def detect_anomalies(daily: DailySpend, *, threshold: float = 4.0, min_excess: Decimal = Decimal("0.01"),
                     dimensions: tuple[str, ...] = ANOMALY_DIMENSIONS) -> AnomalyReport:
    found: list[Anomaly] = []
    tested = sparse = 0
    last = daily.last
    for dim in dimensions:
        for value in daily.values(dim):
            series = daily.of(dim, value)
            if last is None or (value == _NO_VALUE and dim != "model"):
                continue  # "(none)": the source has no user / key for these rows; not a series of its own
            spent_days = [d for d, t in series.items() if t.cost > 0]
            if not spent_days:
                continue
            first = min(spent_days)
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            y = np.array([float(series[d].cost) if d in series else 0.0 for d in days])
            scored = score_series(y, np.array([d.weekday() for d in days]))
            if scored is None:
                sparse += 1
                continue
            tested += 1
            expected, z = scored
            for i in np.flatnonzero(z >= threshold):
                day = days[i]
                spend = series[day].cost
                exp = Decimal(repr(round(float(expected[i]), 10)))
                if spend - exp < min_excess:
                    continue
                found.append(Anomaly(dimension=dim, value=value, day=day, spend=spend, expected=exp,
                                     z=float(z[i]), unpriced_requests=series[day].unpriced_requests,
                                     top=daily.top.get((dim, value, day), ())))
    found.sort(key=lambda a: (a.day, -a.excess, a.dimension, a.value))
    return AnomalyReport(threshold=threshold, dimensions=dimensions, series_tested=tested,
                         series_too_sparse=sparse, anomalies=tuple(found))
