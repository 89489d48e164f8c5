"""The explanation of the bill (``report --spend --explain``): cache economics, batchable traffic,
prompt growth and sessions, and billed-vs-recomputed gaps by cause, as ``spend.explain`` computes it,
with the ``--batchable`` rule it applies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.analysis.common.money import money
from llmaudit.errors import UsageError

__all__ = [
    "BatchRule",
    "BatchSection",
    "CacheSection",
    "Explain",
    "GapCause",
    "SessionRow",
    "UserGrowth",
    "parse_batchable",
]

_ZERO = Decimal(0)


# --------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class BatchRule:
    """Which requests could have waited for a Batch API: by tag, or by a logged latency this long."""

    tags: tuple[str, ...] = ("batchable",)
    tag_prefixes: tuple[str, ...] = ("batch-",)
    min_latency_ms: float | None = None



def parse_batchable(values: list[str] | None) -> BatchRule:
    """``--batchable tag:NAME`` / ``latency:30s`` (repeatable); none keeps the default rule."""
    if not values:
        return BatchRule()
    tags: list[str] = []
    latency: float | None = None
    for value in values:
        kind, _, arg = value.partition(":")
        if kind == "tag" and arg.strip():
            tags.append(arg.strip())
        elif kind == "latency":
            m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", arg)
            if not m:
                raise UsageError(f"--batchable {value!r}: write latency:30s, latency:500ms or latency:2m")
            scale = {"ms": 1.0, "s": 1000.0, "m": 60_000.0}[m.group(2) or "s"]
            latency = float(m.group(1)) * scale
        else:
            raise UsageError(f"--batchable {value!r}: write tag:NAME or latency:SECONDS (e.g. latency:30s)")
    return BatchRule(tags=tuple(tags), tag_prefixes=(), min_latency_ms=latency)


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class CacheSection:
    input_tokens: int  # all prompt tokens = uncached + cache_read + write_5m + write_1h
    uncached_tokens: int
    cache_read_tokens: int
    write_5m_tokens: int
    write_1h_tokens: int
    cost: Decimal  # priced cost of every request (the report's total)
    cost_without_cache: Decimal | None  # the same requests with every cached token billed as plain input
    unread_writes: int  # writes never read again (see the module docstring)
    unread_tokens: int
    unread_premium: Decimal  # what those writes cost over plain input
    unread_unpriced: int  # unread writes of requests that could not be priced (not in the premium)
    write_5m_cost: Decimal  # premium paid for 5-minute writes
    write_5m_as_1h: Decimal | None  # what the same writes would have cost as 1-hour writes (premium)
    write_1h_cost: Decimal
    write_1h_as_5m: Decimal | None
    needed_1h_tokens: int  # 1-hour writes first read more than 5 minutes after they were written

    @property
    def hit_rate(self) -> float | None:
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else None

    @property
    def saved(self) -> Decimal | None:
        return None if self.cost_without_cache is None else self.cost_without_cache - self.cost


@dataclass(frozen=True)
class BatchSection:
    rule: BatchRule  # worded by render.explain.batch_rule_text
    requests: int  # batchable requests
    cost: Decimal  # their priced cost
    at_batch_rates: Decimal | None  # the same requests at the batch tier (None: no priced request had a rate)
    no_batch_rate_requests: int  # batchable requests whose model has no batch rate (not in the saving)
    unpriced_requests: int
    already_batch_requests: int
    already_batch_cost: Decimal
    other_requests: int
    other_cost: Decimal
    latency_logged: bool
    cost_with_rate: Decimal = _ZERO  # cost of the batchable requests whose model has a batch rate

    @property
    def saving(self) -> Decimal | None:
        return None if self.at_batch_rates is None else self.cost_with_rate - self.at_batch_rates


@dataclass(frozen=True)
class SessionRow:
    key: str
    requests: int
    cost: Decimal | None  # priced requests only; None when none could be priced
    unpriced_requests: int
    first_seen: datetime
    last_seen: datetime
    first_prompt: int  # prompt tokens of the first request
    last_prompt: int
    max_prompt: int
    input_tokens: int
    output_tokens: int

    @property
    def growth(self) -> float | None:
        return self.last_prompt / self.first_prompt if self.first_prompt and self.requests > 1 else None


@dataclass(frozen=True)
class UserGrowth:
    """One user's prompt size over time: mean prompt tokens per request in their first and last
    ``GROWTH_DAYS`` days of traffic (users seen on at least twice that many days apart)."""

    user: str
    requests: int
    first_day: str
    last_day: str
    early_mean: float
    late_mean: float

    @property
    def growth(self) -> float | None:
        return self.late_mean / self.early_mean if self.early_mean else None


@dataclass(frozen=True)
class GapCause:
    cause: str
    rows: int
    billed: Decimal
    recomputed: Decimal

    @property
    def difference(self) -> Decimal:
        return self.billed - self.recomputed


@dataclass(frozen=True)
class Explain:
    currency: str
    logged_sessions: bool  # a session is the logged id (else user · project · day); render.explain words it
    cache: CacheSection
    batch: BatchSection
    sessions: int
    session_requests: int
    session_cost: Decimal
    growing_sessions: int  # sessions of 2+ requests whose last prompt is at least twice the first
    multi_request_sessions: int
    median_growth: float | None
    top_sessions: tuple[SessionRow, ...]
    gaps: tuple[GapCause, ...] = field(default_factory=tuple)
    users: tuple[UserGrowth, ...] = ()  # prompt growth per user, biggest growth first

    def to_dict(self) -> dict[str, Any]:
        c, b = self.cache, self.batch
        return {
            "currency": self.currency,
            "cache": {
                "input_tokens": c.input_tokens, "uncached_tokens": c.uncached_tokens,
                "cache_read_tokens": c.cache_read_tokens, "cache_write_5m_tokens": c.write_5m_tokens,
                "cache_write_1h_tokens": c.write_1h_tokens,
                "hit_rate": None if c.hit_rate is None else round(c.hit_rate, 6),
                "cost": money(c.cost), "cost_without_cache": money(c.cost_without_cache), "saved": money(c.saved),
                "unread_writes": c.unread_writes, "unread_tokens": c.unread_tokens,
                "unread_premium": money(c.unread_premium), "unread_unpriced_writes": c.unread_unpriced,
                "write_5m_premium": money(c.write_5m_cost), "write_5m_as_1h_premium": money(c.write_5m_as_1h),
                "write_1h_premium": money(c.write_1h_cost), "write_1h_as_5m_premium": money(c.write_1h_as_5m),
                "write_1h_needed_tokens": c.needed_1h_tokens,
            },
            "batch": {
                "requests": b.requests, "cost": money(b.cost),
                "cost_with_batch_rate": money(b.cost_with_rate), "at_batch_rates": money(b.at_batch_rates),
                "saving": money(b.saving), "no_batch_rate_requests": b.no_batch_rate_requests,
                "unpriced_requests": b.unpriced_requests, "already_batch_requests": b.already_batch_requests,
                "already_batch_cost": money(b.already_batch_cost), "other_requests": b.other_requests,
                "other_cost": money(b.other_cost), "latency_logged": b.latency_logged,
            },
            "sessions": {
                "count": self.sessions, "requests": self.session_requests, "cost": money(self.session_cost),
                "multi_request": self.multi_request_sessions, "growing_2x": self.growing_sessions,
                "median_growth": None if self.median_growth is None else round(self.median_growth, 4),
                "top": [{"session": s.key, "requests": s.requests, "cost": money(s.cost),
                         "unpriced_requests": s.unpriced_requests, "first_seen": s.first_seen.isoformat(),
                         "last_seen": s.last_seen.isoformat(), "first_prompt_tokens": s.first_prompt,
                         "last_prompt_tokens": s.last_prompt, "max_prompt_tokens": s.max_prompt,
                         "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
                         "growth": None if s.growth is None else round(s.growth, 4)}
                        for s in self.top_sessions],
            },
            "users": [{"user": u.user, "requests": u.requests, "first_day": u.first_day, "last_day": u.last_day,
                       "early_mean_prompt": round(u.early_mean, 2), "late_mean_prompt": round(u.late_mean, 2),
                       "growth": None if u.growth is None else round(u.growth, 4)} for u in self.users],
            "gaps": [{"cause": g.cause, "rows": g.rows, "billed": money(g.billed), "recomputed": money(g.recomputed),
                      "difference": money(g.difference)} for g in self.gaps],
        }
