"""The catalog's value types: rates, long-context tiers, dated price points and model entries.

Rates are ``Decimal`` USD per 1M tokens (per call for ``per_request`` / ``per_search``); ``None``
means the source publishes no such rate, which is different from a published ``0``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "RATE_FIELDS",
    "SERVICE_TIERS",
    "ModelEntry",
    "OffPeak",
    "PricePoint",
    "Rates",
    "ServiceRates",
    "Tier",
    "as_date",
    "dec_str",
]

# The order used everywhere a rate list is shown or stored.
RATE_FIELDS = (
    "input",
    "output",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "reasoning",
    "input_batch",
    "output_batch",
    "cache_read_batch",
    "cache_write_batch",
    "per_request",
    "per_search",
)
PER_CALL_FIELDS = ("per_request", "per_search")
# Service tiers with rates of their own (batch keeps its ``*_batch`` fields on ``Rates``). ``fast``
# is Anthropic's fast mode (``usage.speed: "fast"``) and OpenAI's priority-like fast tier.
SERVICE_TIERS = ("flex", "priority", "fast")


def dec_str(value: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros: ``Decimal('2.50E+0')`` → ``'2.5'``."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def as_date(when: date | datetime | str | None) -> date | None:
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.date()
    if isinstance(when, date):
        return when
    return date.fromisoformat(str(when)[:10])


@dataclass(frozen=True)
class Rates:
    input: Decimal | None = None
    output: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None
    input_batch: Decimal | None = None
    output_batch: Decimal | None = None
    cache_read_batch: Decimal | None = None
    cache_write_batch: Decimal | None = None
    per_request: Decimal | None = None
    per_search: Decimal | None = None

    def to_json(self) -> dict[str, str]:
        return {name: dec_str(v) for name in RATE_FIELDS if (v := getattr(self, name)) is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rates:
        return cls(**{name: Decimal(str(data[name])) for name in RATE_FIELDS if data.get(name) is not None})

    def present(self) -> dict[str, Decimal]:
        return {name: v for name in RATE_FIELDS if (v := getattr(self, name)) is not None}

    def patched(self, **changes: Decimal | None) -> Rates:
        return replace(self, **changes)

    def scaled(self, factor: Decimal) -> Rates:
        return Rates(**{f.name: (None if (v := getattr(self, f.name)) is None else v * factor) for f in fields(self)})


@dataclass(frozen=True)
class Tier:
    """Whole-request repricing once the prompt passes ``threshold_tokens`` (strictly greater)."""

    threshold_tokens: int
    rates: Rates

    def to_json(self) -> dict[str, Any]:
        return {"threshold_tokens": self.threshold_tokens, **self.rates.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tier:
        return cls(int(data["threshold_tokens"]), Rates.from_json(data))


@dataclass(frozen=True)
class ServiceRates:
    """A service tier's own rates (flex, priority, fast), with its own long-context tiers."""

    name: str
    rates: Rates
    long_context: tuple[Tier, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.rates.to_json())
        if self.long_context:
            data["long_context"] = [t.to_json() for t in self.long_context]
        return data

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> ServiceRates:
        return cls(name, Rates.from_json(data), tuple(Tier.from_json(t) for t in data.get("long_context", ())))


@dataclass(frozen=True)
class OffPeak:
    """A daily UTC window (``start`` inclusive, ``end`` exclusive; it may wrap midnight and
    ``00:00``–``00:00`` is the whole day) in which every token rate is multiplied by ``multiplier``
    (DeepSeek's off-peak discount). ``weekdays`` (ISO, 1 = Monday) limits it to some days, counted
    in the provider's own time zone (``weekday_offset_minutes`` east of UTC: Beijing is +480)."""

    start: str  # "HH:MM"
    end: str
    multiplier: Decimal
    weekdays: tuple[int, ...] = ()
    weekday_offset_minutes: int = 0

    def minutes(self) -> tuple[int, int]:
        h1, m1 = self.start.split(":")
        h2, m2 = self.end.split(":")
        return int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)

    def covers(self, minute_of_day: int) -> bool:
        """Whether a UTC minute of the day falls in the window (weekdays aside)."""
        lo, hi = self.minutes()
        if lo == hi:
            return True
        return lo <= minute_of_day < hi if lo < hi else (minute_of_day >= lo or minute_of_day < hi)

    def covers_at(self, when: datetime) -> bool:
        """Whether a UTC instant falls in the window, weekdays included."""
        from datetime import UTC, timedelta

        utc = when.astimezone(UTC) if when.tzinfo else when
        if self.weekdays:
            local = utc + timedelta(minutes=self.weekday_offset_minutes)
            if local.isoweekday() not in self.weekdays:
                return False
        return self.covers(utc.hour * 60 + utc.minute)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start": self.start, "end": self.end, "multiplier": dec_str(self.multiplier)}
        if self.weekdays:
            data["weekdays"] = list(self.weekdays)
        if self.weekday_offset_minutes:
            data["weekday_offset_minutes"] = self.weekday_offset_minutes
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OffPeak:
        return cls(str(data["start"]), str(data["end"]), Decimal(str(data["multiplier"])),
                   tuple(int(d) for d in data.get("weekdays") or ()), int(data.get("weekday_offset_minutes") or 0))


@dataclass(frozen=True)
class PricePoint:
    """The prices a model had from ``effective_from`` on, with where they came from.

    ``source`` is the source that set the price (for a documented change, the vendor's page);
    ``sources`` every source that confirmed it. ``free`` marks a $0 price a source documents as
    free (a ``:free`` variant); any other $0 is a hole the builder drops. ``service_tiers`` hold
    flex / priority / fast rates, ``off_peak`` daily discount windows, ``residency`` the multiplier
    per ``inference_geo`` value (data residency) applied to every token rate.
    """

    effective_from: date
    source: str
    as_of: date
    rates: Rates
    long_context: tuple[Tier, ...] = ()
    note: str | None = None
    sources: tuple[str, ...] = ()
    free: bool = False
    service_tiers: tuple[ServiceRates, ...] = ()
    off_peak: tuple[OffPeak, ...] = ()
    residency: tuple[tuple[str, Decimal], ...] = ()

    def __getattr__(self, name: str) -> Any:
        # ``point.input`` reads the rate, as docs/internals.md promises.
        if name in RATE_FIELDS:
            return getattr(self.rates, name)
        raise AttributeError(name)

    def service(self, name: str) -> ServiceRates | None:
        for tier in self.service_tiers:
            if tier.name == name:
                return tier
        return None

    def same_prices(self, other: PricePoint) -> bool:
        return (self.rates == other.rates and self.long_context == other.long_context
                and self.service_tiers == other.service_tiers and self.off_peak == other.off_peak
                and self.residency == other.residency and self.free == other.free)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "effective_from": self.effective_from.isoformat(),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
        }
        if self.sources and self.sources != (self.source,):
            data["sources"] = list(self.sources)
        if self.note:
            data["note"] = self.note
        if self.free:
            data["free"] = True
        data.update(self.rates.to_json())
        if self.long_context:
            data["long_context"] = [t.to_json() for t in self.long_context]
        if self.service_tiers:
            data["service_tiers"] = {t.name: t.to_json() for t in self.service_tiers}
        if self.off_peak:
            data["off_peak"] = [w.to_json() for w in self.off_peak]
        if self.residency:
            data["residency"] = {geo: dec_str(m) for geo, m in self.residency}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PricePoint:
        source = str(data.get("source", "unknown"))
        return cls(
            effective_from=date.fromisoformat(data["effective_from"]),
            source=source,
            as_of=date.fromisoformat(data.get("as_of") or data["effective_from"]),
            rates=Rates.from_json(data),
            long_context=tuple(Tier.from_json(t) for t in data.get("long_context", ())),
            note=data.get("note"),
            sources=tuple(data.get("sources") or (source,)),
            free=bool(data.get("free", False)),
            service_tiers=tuple(sorted((ServiceRates.from_json(n, t) for n, t in
                                        (data.get("service_tiers") or {}).items()), key=lambda t: t.name)),
            off_peak=tuple(OffPeak.from_json(w) for w in data.get("off_peak") or ()),
            residency=tuple(sorted((str(g), Decimal(str(m))) for g, m in (data.get("residency") or {}).items())),
        )


@dataclass(frozen=True)
class ModelEntry:
    id: str
    provider: str
    name: str
    prices: tuple[PricePoint, ...]
    aliases: tuple[str, ...] = ()
    context_window: int | None = None
    max_output_tokens: int | None = None
    mode: str | None = None
    _starts: tuple[date, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(p.effective_from for p in self.prices))

    def price_at(self, when: date | datetime | str | None = None) -> PricePoint | None:
        """The price in force on ``when`` (latest when None).

        Before the oldest known point the oldest price applies: the catalog's history starts at its
        oldest snapshot, and the provenance says so, rather than leaving older logs unpriced.
        """
        if not self.prices:
            return None
        day = as_date(when)
        if day is None:
            return self.prices[-1]
        index = bisect.bisect_right(self._starts, day) - 1
        return self.prices[max(index, 0)]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.aliases:
            data["aliases"] = list(self.aliases)
        if self.context_window is not None:
            data["context_window"] = self.context_window
        if self.max_output_tokens is not None:
            data["max_output_tokens"] = self.max_output_tokens
        if self.mode:
            data["mode"] = self.mode
        data["prices"] = [p.to_json() for p in self.prices]
        return data

    @classmethod
    def from_json(cls, model_id: str, data: dict[str, Any]) -> ModelEntry:
        provider, _, name = model_id.partition("/")
        return cls(
            id=model_id,
            provider=provider,
            name=name,
            prices=tuple(sorted((PricePoint.from_json(p) for p in data.get("prices", ())),
                                key=lambda p: p.effective_from)),
            aliases=tuple(data.get("aliases", ())),
            context_window=data.get("context_window"),
            max_output_tokens=data.get("max_output_tokens"),
            mode=data.get("mode"),
        )
