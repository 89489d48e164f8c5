"""Confidence intervals used by the check: Wilson, order-statistic p95, repeat-noise means."""

from __future__ import annotations

import random

import pytest

from llmaudit.analysis.gate.statistics import mean_interval as _mean_interval
from llmaudit.analysis.gate.statistics import order_statistic_ci, wilson


def test_wilson_known_values() -> None:
    # Reference values (Wilson score interval, z = 1.96): 8/10 → [0.490, 0.943]; 0/10 → [0, 0.278].
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-3) and hi == pytest.approx(0.5962, abs=1e-3)


def test_p95_interval_is_unbounded_for_small_samples() -> None:
    ci = order_statistic_ci([float(x) for x in range(1, 21)])
    assert ci.value == pytest.approx(19.05)
    assert ci.hi is None  # 20 samples can't bound a 95th percentile from above at 95%
    assert ci.lo is not None and ci.lo < ci.value


def test_p95_interval_covers_the_true_quantile() -> None:
    rng = random.Random(7)
    covered = 0
    trials = 200
    for _ in range(trials):
        sample = [rng.random() for _ in range(300)]
        ci = order_statistic_ci(sample)
        assert ci.lo is not None and ci.hi is not None
        covered += ci.lo <= 0.95 <= ci.hi
    assert covered / trials >= 0.90  # nominal 95%, distribution-free


def test_mean_interval_uses_repeats_only() -> None:
    exact, noise = _mean_interval({"a": [10.0], "b": [20.0]})
    assert (exact.value, exact.lo, exact.hi, noise) == (15.0, 15.0, 15.0, False)
    same, noise = _mean_interval({"a": [10.0, 10.0], "b": [20.0, 20.0]})
    assert (same.lo, same.hi, noise) == (15.0, 15.0, True)  # identical repeats: no noise
    noisy, noise = _mean_interval({"a": [9.0, 11.0], "b": [19.0, 21.0]})
    assert noise and noisy.lo is not None and noisy.hi is not None
    assert noisy.lo < 15.0 < noisy.hi
