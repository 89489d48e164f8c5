"""analysis.spend.anomaly on generated series (issue 17.2 acceptance): injected spikes are found (recall
≥ 90%), clean weekly-seasonal series raise no alarm, and false alarms stay ≤ 1 per 90 days."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from _series import Series, generate

from llmaudit.analysis.spend.anomaly import detect_anomalies, score_series
from llmaudit.analysis.spend.daily import TOTAL, DailySpend, DayTotal


def _daily(named: dict[str, Series]) -> DailySpend:
    series = {("user", name): {d: DayTotal(Decimal(repr(float(y))), 10, 0) for d, y in zip(s.days, s.spend,
                                                                                            strict=True)}
              for name, s in named.items()}
    days = [d for s in named.values() for d in s.days]
    return DailySpend(first=min(days), last=max(days), series={TOTAL: {}, **series})


def test_injected_spikes_are_found_and_false_alarms_are_rare() -> None:
    rng = np.random.default_rng(17)
    named = {f"u{i}": generate(rng, n=120, spikes=4, jumps=int(rng.integers(0, 2)), trend=rng.uniform(-0.005, 0.01),
                               level=rng.uniform(1, 500)) for i in range(150)}
    report = detect_anomalies(_daily(named), dimensions=("user",))
    flagged = {(a.value, a.day) for a in report.anomalies}
    injected = {(name, s.days[i]) for name, s in named.items() for i in s.spikes}
    recall = len(flagged & injected) / len(injected)
    false_alarms = len(flagged - injected) / (150 * 120) * 90
    assert report.series_tested == 150
    assert recall >= 0.9, recall
    assert false_alarms <= 1.0, false_alarms


def test_clean_weekly_seasonal_series_raise_no_alarm() -> None:
    rng = np.random.default_rng(3)
    named = {f"c{i}": generate(rng, n=90, trend=rng.uniform(-0.005, 0.01)) for i in range(60)}
    report = detect_anomalies(_daily(named), dimensions=("user",))
    # The acceptance bound is one false alarm per 90 days (60 here); the method does far better,
    # and most clean series raise none at all.
    assert len(report.anomalies) <= 15, len(report.anomalies)
    assert len({a.value for a in report.anomalies}) <= 12
    clean = generate(np.random.default_rng(5), n=90)
    assert not detect_anomalies(_daily({"one": clean}), dimensions=("user",)).anomalies


def test_quiet_weekends_are_expected_and_a_busy_sunday_is_not() -> None:
    s = generate(np.random.default_rng(8), n=84, noise=0.05, trend=0.0)
    sunday = next(i for i, d in enumerate(s.days) if d.weekday() == 6 and i > 40)
    y = s.spend.copy()
    y[sunday] = y[sunday - 6]  # a Sunday as busy as a Monday: unremarkable on a Monday, not on a Sunday
    expected, z = score_series(y, np.array([d.weekday() for d in s.days]))  # type: ignore[misc]
    assert z[sunday] >= 4 and list(np.flatnonzero(z >= 4)) == [sunday]
    assert expected[sunday] < 0.5 * expected[sunday - 6]


def test_sparse_series_are_counted_not_tested() -> None:
    s = generate(np.random.default_rng(2), n=60)
    thin = Series(s.days, np.where(np.arange(60) % 3 == 0, s.spend, 0.0), frozenset())
    short = Series(s.days[:10], s.spend[:10], frozenset())
    report = detect_anomalies(_daily({"thin": thin, "short": short}), dimensions=("user",))
    assert (report.series_tested, report.series_too_sparse, report.anomalies) == (0, 2, ())
