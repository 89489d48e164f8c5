"""Statistics of the check: intervals for means, the p95 and pass rates (see ``gate.measurement``).

* tokens and cost per request: the mean over requests with a normal interval built from the
  spread between repeats of the same prompt (prompts are the fixed population; repeats are the
  random part). Without repeats, or for estimates, there is no noise and the interval is a point.
* p95 latency: a distribution-free order-statistic interval (the rank of the true 95th percentile
  in a sample is Binomial(n, 0.95)); with too few samples the upper bound is unbounded, so a p95
  from a handful of requests can never fail a build.
* pass rate and goodput: the Wilson score interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmaudit.analysis.common.intervals import wilson as _wilson

__all__ = [
    "Z95",
    "Interval",
    "interval_dict",
    "mean_interval",
    "order_statistic_ci",
    "point_of",
    "rounded_number",
    "wilson",
]

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """A point estimate with a 95% interval; ``lo``/``hi`` None means unbounded on that side."""

    value: float
    lo: float | None
    hi: float | None

    @classmethod
    def exact(cls, value: float) -> Interval:
        return cls(value, value, value)

    def rounded(self) -> Interval:
        """Rounded as the baseline file stores it, so a run and its own baseline compare equal."""
        return Interval(rounded_number(self.value) or 0.0, rounded_number(self.lo), rounded_number(self.hi))

    def to_dict(self) -> dict[str, Any]:
        return {"value": rounded_number(self.value), "lo": rounded_number(self.lo), "hi": rounded_number(self.hi)}


def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; [0, 1] when nothing was checked."""
    return _wilson(passed, n, z) or (0.0, 1.0)


def _binom_cdf(n: int, p: float) -> list[float]:
    """P(B <= k) for k = 0..n, B ~ Binomial(n, p), computed in log space (n can be large)."""
    logs = [
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
        for k in range(n + 1)
    ]
    cdf: list[float] = []
    total = 0.0
    for value in logs:
        total += math.exp(value)
        cdf.append(min(total, 1.0))
    return cdf


def order_statistic_ci(values: list[float], q: float = 0.95, conf: float = 0.95) -> Interval:
    """The q-quantile (numpy's linear interpolation) with a distribution-free interval.

    The number of samples below the true quantile is Binomial(n, q), so [x_(l), x_(u)] covers it
    with probability ≥ conf for l, u read off the binomial CDF. When n is too small for an upper
    (lower) order statistic to exist, that bound is None: unbounded, so it can't prove a change.
    """
    import numpy as np

    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    point = float(np.quantile(np.asarray(xs, dtype=float), q))
    alpha = (1 - conf) / 2
    cdf = _binom_cdf(n, q)
    # lower: the largest l (1-based) with P(B <= l-1) <= alpha  → x_(l) is below the quantile w.p. ≥ 1-alpha
    lo: float | None = None
    for l_idx in range(n, 0, -1):
        if cdf[l_idx - 1] <= alpha:
            lo = xs[l_idx - 1]
            break
    # upper: the smallest u with P(B <= u-1) >= 1-alpha
    hi: float | None = None
    for u_idx in range(1, n + 1):
        if cdf[u_idx - 1] >= 1 - alpha:
            hi = xs[u_idx - 1]
            break
    return Interval(point, lo, hi)


def mean_interval(by_prompt: dict[str, list[float]]) -> tuple[Interval, bool]:
    """Mean over all requests, interval from the spread between repeats of each prompt.

    Returns (interval, noise_known). With no prompt repeated, the repeat noise can't be measured
    and the interval is the point itself.
    """
    n = sum(len(v) for v in by_prompt.values())
    total = math.fsum(x for v in by_prompt.values() for x in v)
    mean = total / n
    var_sum = 0.0
    repeated = False
    for vals in by_prompt.values():
        k = len(vals)
        if k >= 2:
            repeated = True
            m = math.fsum(vals) / k
            s2 = math.fsum((x - m) ** 2 for x in vals) / (k - 1)
            var_sum += k * s2  # Σ_r x_ir has variance k·s²; the mean divides the sum by n
    if not repeated:
        return Interval.exact(mean), False
    half = Z95 * math.sqrt(var_sum) / n
    return Interval(mean, mean - half, mean + half), True


def point_of(iv: Interval | None) -> float | None:
    return None if iv is None else iv.value


def interval_dict(iv: Interval | None) -> dict[str, Any] | None:
    return None if iv is None else iv.to_dict()


def rounded_number(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(f"{x:.12g}")
