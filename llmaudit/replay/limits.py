"""Rate limits and retry timing for the runner: request pacing and exponential backoff.

Pacing spaces request starts evenly (60/rpm seconds apart) instead of bursting a minute's worth
at once, which is what provider limiters punish. Backoff is exponential with jitter so that many
requests failing together do not retry together; a server's ``Retry-After`` is a floor, honoured
unless it is longer than we are willing to wait, in which case the request fails with that reason.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Pacer", "RetryPolicy"]


class Pacer:
    """At most ``rpm`` request starts per minute, evenly spaced."""

    def __init__(self, rpm: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rpm <= 0:
            raise ValueError("rpm must be positive")
        self.interval = 60.0 / rpm
        self._clock = clock
        self._next = 0.0

    def reserve(self) -> float:
        """Claim the next start slot; returns how long to wait for it."""
        now = self._clock()
        start = max(now, self._next)
        self._next = start + self.interval
        return start - now

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retryable failure (429, 5xx, timeout, broken stream)."""

    max_attempts: int = 5
    base_s: float = 1.0
    max_s: float = 30.0
    max_retry_after_s: float = 300.0
    jitter: float = 0.5  # the delay is drawn from [(1 - jitter) × d, d]

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); None means give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return None
        ceiling = min(self.max_s, self.base_s * (2 ** (attempt - 1)))
        draw = (rng or random).uniform(1.0 - self.jitter, 1.0)
        wait = ceiling * draw
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait
