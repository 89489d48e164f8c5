"""Generated daily spend series for the anomaly and forecast tests (and bench/forecast_backtest.py):
a level with a trend, weekly seasonality, multiplicative noise, level jumps and injected spikes,
all from a seeded generator so every figure is reproducible."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

START = date(2026, 1, 5)  # a Monday
WEEKLY = np.array([1.0, 1.05, 1.1, 1.05, 0.95, 0.45, 0.35])  # Monday .. Sunday


@dataclass(frozen=True)
class Series:
    days: list[date]
    spend: np.ndarray  # what was spent each day (with spikes)
    spikes: frozenset[int]  # indices of injected spikes


def generate(rng: np.random.Generator, n: int = 90, *, level: float = 100.0, trend: float = 0.004,
             noise: float = 0.12, jumps: int = 0, spikes: int = 0, spike_size: tuple[float, float] = (1.8, 4.0),
             start: date = START) -> Series:
    """``trend`` is a daily growth rate (±); each jump multiplies the level by 0.6–1.6 from a random
    day on; each spike multiplies one day's spend by a factor drawn from ``spike_size``."""
    t = np.arange(n)
    base = level * (1 + trend) ** t
    for _ in range(jumps):
        base[rng.integers(7, n):] *= rng.uniform(0.6, 1.6)
    days = [start + timedelta(days=int(i)) for i in t]
    weekly = WEEKLY[[d.weekday() for d in days]]
    y = base * weekly * np.exp(rng.normal(0, noise, n))
    chosen = rng.choice(np.arange(3, n - 1), size=spikes, replace=False) if spikes else np.array([], dtype=int)
    for i in chosen:
        y[i] *= rng.uniform(*spike_size)
    return Series(days, np.round(y, 6), frozenset(int(i) for i in chosen))
