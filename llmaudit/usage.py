"""The token usage of one request (or of a bucket of them): the one type that provider adapters
produce, the replay runner records and the cost engine bills.

Counts are in the schema's semantics (DESIGN §4.3), whatever dialect reported them: subsets, not
addends. ``input_tokens`` includes cache reads and writes, ``cache_write_1h_tokens`` is part of
``cache_write_tokens``, ``output_tokens`` includes ``reasoning_tokens``. Vendor field names end at
the reader or adapter that builds a ``Usage``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["COUNT_FIELDS", "Usage"]

# The counts a usage carries, in field order; ``cost_reported`` is an amount, not a count.
COUNT_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                "reasoning_tokens", "requests", "web_search_requests")


@dataclass(frozen=True)
class Usage:
    """Token counts (subsets, not addends; see the module docstring).

    ``requests`` is how many requests the counts stand for: 1 for one call, N for an aggregated
    report row, None when the source did not say (per-request fees then count it as one, but it is
    not known to be ONE request, so no per-request long-context tier or off-peak window applies).
    ``cost_reported`` is what the provider itself said it charged (OpenRouter's ``usage.cost``),
    None when it said nothing; the cost engine never reads it.
    """

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int | None = 1
    web_search_requests: int = 0
    cost_reported: Decimal | None = None

    def quantities(self) -> dict[str, int]:
        """Billable quantity per cost component (``pricing.cost``'s ``COMPONENTS``)."""
        return {
            "input": self.input_tokens - self.cache_read_tokens - self.cache_write_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_write_5m": self.cache_write_tokens - self.cache_write_1h_tokens,
            "cache_write_1h": self.cache_write_1h_tokens,
            "output": self.output_tokens - self.reasoning_tokens,
            "reasoning": self.reasoning_tokens,
            "per_request": 1 if self.requests is None else self.requests,
            "per_search": self.web_search_requests,
        }

    def validate(self) -> str | None:
        """A reason the counts are inconsistent, or None."""
        for name in COUNT_FIELDS:
            value = getattr(self, name)
            if value is not None and value < 0:
                return f"{name} is negative"
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            return "cache_read_tokens + cache_write_tokens exceed input_tokens"
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            return "cache_write_1h_tokens exceed cache_write_tokens"
        if self.reasoning_tokens > self.output_tokens:
            return "reasoning_tokens exceed output_tokens"
        return None
