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
    "ModelEntry",
    "PricePoint",
    "Rates",
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
class PricePoint:
    """The prices a model had from ``effective_from`` on, with where they came from."""

    effective_from: date
    source: str
    as_of: date
    rates: Rates
    long_context: tuple[Tier, ...] = ()
    note: str | None = None

    def __getattr__(self, name: str) -> Any:
        # ``point.input`` reads the rate, as docs/internals.md promises.
        if name in RATE_FIELDS:
            return getattr(self.rates, name)
        raise AttributeError(name)

    def same_prices(self, other: PricePoint) -> bool:
        return self.rates == other.rates and self.long_context == other.long_context

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "effective_from": self.effective_from.isoformat(),
            "as_of": self.as_of.isoformat(),
            "source": self.source,
        }
        if self.note:
            data["note"] = self.note
        data.update(self.rates.to_json())
        if self.long_context:
            data["long_context"] = [t.to_json() for t in self.long_context]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PricePoint:
        return cls(
            effective_from=date.fromisoformat(data["effective_from"]),
            source=str(data.get("source", "unknown")),
            as_of=date.fromisoformat(data.get("as_of") or data["effective_from"]),
            rates=Rates.from_json(data),
            long_context=tuple(Tier.from_json(t) for t in data.get("long_context", ())),
            note=data.get("note"),
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
