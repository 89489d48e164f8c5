"""Serving-latency figures of replayed requests: TTFT, ITL, TPOT, end to end, and SLO goodput.

Definitions (the ones vLLM's and GuideLLM's benchmarks use, so figures compare):

* **TTFT**: time from sending the request to the first event that carried a token.
* **E2E**: time from sending to the stream's final event (``latency_ms``).
* **ITL** (inter-token latency): the gaps between consecutive token-carrying events of one
  request, pooled over the model's requests. A server may put several tokens in one event; the
  gap is then between events (chunks), not divided per token: it is what a reader of the stream
  waits. Needs the run's ``chunk_us`` column (runs made before it was recorded: unknown).
* **TPOT** (time per output token): ``(E2E − TTFT) / (output tokens − 1)`` per request, the
  generation pace with batching smoothed out. Undefined for a request with one output token.

All times come from a monotonic clock (``time.perf_counter_ns``) taken where the transport yields
each line (``providers/exchange.py``). Distributions give mean, population standard deviation and
linearly interpolated p50/p90/p95/p99 (numpy's default). Cached answers are never timed.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmaudit.errors import UsageError

__all__ = ["SLO", "Dist", "distribution", "itl_gaps", "meets_slo", "parse_slo", "percentile", "tpot_ms"]


@dataclass(frozen=True)
class Dist:
    """A latency distribution in milliseconds over ``n`` values."""

    n: int
    mean: float
    std: float
    p50: float
    p90: float
    p95: float
    p99: float


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default) of unsorted ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def distribution(values: Iterable[float]) -> Dist | None:
    """The distribution of ``values``; None (unknown, never zero) when there are none."""
    data = sorted(values)
    if not data:
        return None
    mean = math.fsum(data) / len(data)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / len(data))

    def q(p: float) -> float:
        pos = (len(data) - 1) * p
        low, high = math.floor(pos), math.ceil(pos)
        return data[low] + (data[high] - data[low]) * (pos - low)

    return Dist(n=len(data), mean=mean, std=std, p50=q(0.5), p90=q(0.9), p95=q(0.95), p99=q(0.99))


def itl_gaps(chunk_us: list[int] | None) -> list[float]:
    """Gaps (ms) between a request's consecutive token-carrying events."""
    if not chunk_us or len(chunk_us) < 2:
        return []
    return [(b - a) / 1000 for a, b in itertools.pairwise(chunk_us)]


def tpot_ms(latency_ms: float | None, ttft_ms: float | None, output_tokens: int | None) -> float | None:
    """``(E2E − TTFT) / (output tokens − 1)``; None where it is undefined or unknown."""
    if latency_ms is None or ttft_ms is None or output_tokens is None or output_tokens < 2:
        return None
    return max(latency_ms - ttft_ms, 0.0) / (output_tokens - 1)


@dataclass(frozen=True)
class SLO:
    """Service-level objectives, each an upper bound in milliseconds (None: no objective)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    itl_ms: float | None = None  # every gap of the request within it
    e2e_ms: float | None = None

    def text(self) -> str:
        parts = [f"{name}={_ms_text(getattr(self, name + '_ms'))}" for name in ("ttft", "tpot", "itl", "e2e")
                 if getattr(self, name + "_ms") is not None]
        return ",".join(parts)

    def to_json(self) -> dict[str, float]:
        return {k: v for k, v in (("ttft_ms", self.ttft_ms), ("tpot_ms", self.tpot_ms), ("itl_ms", self.itl_ms),
                                  ("e2e_ms", self.e2e_ms)) if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> SLO | None:
        if not isinstance(data, Mapping):
            return None
        known = {k: float(v) for k, v in data.items()
                 if k in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms") and isinstance(v, int | float)}
        return cls(**known) if known else None


def _ms_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:g}s" if value >= 1000 and value % 1000 == 0 else f"{value:g}ms"


_SLO_ITEM = re.compile(r"^\s*(ttft|tpot|itl|e2e)\s*=\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$", re.IGNORECASE)


def parse_slo(text: str, flag: str = "--slo") -> SLO:
    """``ttft=500ms,tpot=50ms,e2e=10s`` → SLO; a number without a unit is milliseconds."""
    values: dict[str, float] = {}
    for item in text.split(","):
        match = _SLO_ITEM.match(item)
        if match is None:
            raise UsageError(f"{flag}: expected METRIC=TIME with METRIC one of ttft, tpot, itl, e2e and TIME like "
                             f"500ms or 10s (e.g. ttft=500ms,tpot=50ms,e2e=10s), got {item.strip()!r}")
        name, number, unit = match.group(1).lower(), float(match.group(2)), (match.group(3) or "ms").lower()
        if number <= 0:
            raise UsageError(f"{flag}: {name} must be a positive time, got {item.strip()!r}")
        if name + "_ms" in values:
            raise UsageError(f"{flag}: {name} is given twice")
        values[name + "_ms"] = number * 1000 if unit == "s" else number
    return SLO(**values)


def meets_slo(slo: SLO, *, ttft: float | None, tpot: float | None, gaps: list[float] | None,
              e2e: float | None) -> bool:
    """Whether one request met every objective. A figure an objective needs but the request lacks
    (no TTFT without streaming, no TPOT for a one-token answer) fails it: meeting is never assumed."""
    checks = ((slo.ttft_ms, ttft), (slo.tpot_ms, tpot), (slo.e2e_ms, e2e))
    if any(bound is not None and (value is None or value > bound) for bound, value in checks):
        return False
    # No chunk times (an older run, a non-streamed answer) is unknown: it fails an ITL objective.
    return slo.itl_ms is None or (gaps is not None and all(g <= slo.itl_ms for g in gaps))
