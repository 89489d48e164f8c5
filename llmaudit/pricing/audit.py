"""``llmaudit pricing audit``: every price source's timeline for a model beside the catalog's answer.

A model's audit is a list of periods. A new period starts on every day any source's price for the
model changes (a new price, a first listing, a last one) and on every day the catalog's price
changes; each period holds what every source showed then, what the catalog answers and which
source and rule set that answer. Beside them: the vendor-dated documents the build applied
(documented_changes.csv) and the decisions it recorded (discrepancies.json).

What a source "shows" on a day: its latest observation starting on or before the day, from the
first snapshot that listed that price to the last one (``from``…``to``). Snapshots are not daily:
a gap of up to ``FRESH_DAYS`` between two observations of one source is no delisting (the build
keeps a snapshot fresh that long), so the earlier price holds until the next. After its last
observation a source says nothing, unless that observation reaches the newest day of the
provider's data (or is model-prices' latest entry): then it is still in force (``to`` null). Sources disagree in
a period when two of them show different input or output prices, the comparison the build makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.pricing.catalog import Catalog
from llmaudit.pricing.model import ModelEntry, PricePoint, Rates, Tier
from llmaudit.pricing.sources import (
    FAMILIES,
    DocumentedChange,
    Observation,
    ObservedFile,
    Recorded,
    documented_changes,
    load_observed,
    observed_providers,
    recorded_decisions,
)

__all__ = [
    "FRESH_DAYS",
    "CatalogAnswer",
    "ModelAudit",
    "ModelSummary",
    "Period",
    "ProviderAudit",
    "SourcePrice",
    "audit_model",
    "audit_provider",
    "catalog_rule",
    "find_audited",
]

# scripts/catalog_build/timeline.py FRESH_DAYS: how long after its upload a snapshot still speaks.
FRESH_DAYS = 21
UNITS = "USD per 1M tokens; per_request and per_search in USD per call"

Base = tuple[Decimal | None, Decimal | None]


@dataclass(frozen=True)
class SourcePrice:
    """What one source showed during a period, and the snapshots that showed it."""

    family: str
    rates: Rates
    long_context: tuple[Tier, ...]
    first: str
    last: str
    url: str | None

    @property
    def base(self) -> Base:
        return self.rates.input, self.rates.output

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"first": self.first, "last": self.last, "url": self.url}
        data.update(self.rates.to_json())
        if self.long_context:
            data["long_context"] = [t.to_json() for t in self.long_context]
        return data


@dataclass(frozen=True)
class CatalogAnswer:
    """The catalog's price in force during a period, with the rule that set it."""

    point: PricePoint
    rule: str
    before_first: bool = False  # the period precedes the oldest price, which applies anyway

    @property
    def base(self) -> Base:
        return self.point.rates.input, self.point.rates.output

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"effective_from": self.point.effective_from.isoformat(),
                                "source": self.point.source, "rule": self.rule,
                                "before_first_price": self.before_first, "note": self.point.note,
                                "sources": list(self.point.sources)}
        data.update(self.point.rates.to_json())
        if self.point.long_context:
            data["long_context"] = [t.to_json() for t in self.point.long_context]
        return data


@dataclass(frozen=True)
class Period:
    start: date
    end: date | None  # inclusive; None: still in force
    sources: tuple[tuple[str, SourcePrice | None], ...]  # every audited family, in rank order
    catalog: CatalogAnswer | None

    def price(self, family: str) -> SourcePrice | None:
        return dict(self.sources).get(family)

    @property
    def listing(self) -> list[SourcePrice]:
        return [p for _, p in self.sources if p is not None]

    @property
    def disagree(self) -> bool:
        """Two sources show different input or output prices."""
        return len({p.base for p in self.listing}) > 1

    @property
    def catalog_agrees(self) -> bool | None:
        """Whether the catalog's input/output is what some source shows (None: no source lists it)."""
        listing = self.listing
        if not listing or self.catalog is None:
            return None
        return self.catalog.base in {p.base for p in listing}

    def to_json(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat() if self.end else None,
                "disagree": self.disagree, "catalog_agrees": self.catalog_agrees,
                "sources": {f: (p.to_json() if p else None) for f, p in self.sources},
                "catalog": self.catalog.to_json() if self.catalog else None}


@dataclass(frozen=True)
class ModelSummary:
    id: str
    in_catalog: bool
    periods: int
    families: tuple[str, ...]
    disagreeing_periods: int
    disagreements: int
    documented: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "in_catalog": self.in_catalog, "periods": self.periods,
                "sources": list(self.families), "disagreeing_periods": self.disagreeing_periods,
                "disagreements": self.disagreements, "documented_changes": self.documented}


@dataclass(frozen=True)
class ModelAudit:
    query: str
    model_id: str
    matched_by: str
    in_catalog: bool
    families: tuple[str, ...]  # the sources that ever listed the model, in rank order
    periods: tuple[Period, ...]
    documented: tuple[DocumentedChange, ...]
    disagreements: tuple[Recorded, ...]
    hygiene: tuple[Recorded, ...]
    summary: ModelSummary  # counted over every period of the window, before ``disagreements_only``
    start: date | None = None
    end: date | None = None
    disagreements_only: bool = False

    @property
    def provider(self) -> str:
        return self.model_id.partition("/")[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "id": self.model_id,
            "provider": self.provider,
            "matched_by": self.matched_by,
            "in_catalog": self.in_catalog,
            "units": UNITS,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "disagreements_only": self.disagreements_only,
            "sources": list(self.families),
            "periods": [p.to_json() for p in self.periods],
            "documented_changes": [d.to_json() for d in self.documented],
            "disagreements": [r.to_json() for r in self.disagreements],
            "hygiene": [r.to_json() for r in self.hygiene],
        }


@dataclass(frozen=True)
class ProviderAudit:
    provider: str
    models: tuple[ModelSummary, ...]
    start: date | None = None
    end: date | None = None
    disagreements_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider,
                "from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None,
                "disagreements_only": self.disagreements_only,
                "models": [m.to_json() for m in self.models]}


_DATED_BY = re.compile(r"dated \S+ by (\S+) \(first shown there")


def catalog_rule(point: PricePoint) -> str:
    """The rule of docs/pricing-sources.md that set a catalog price, read from its note."""
    note = point.note or ""
    if "no snapshot shows this price" in note:
        rule = "documented price inserted (no source shows it)"
    elif note.startswith("documented price before"):
        rule = "documented old price, before the vendor's date"
    elif note.startswith("documented:"):
        rule = "documented vendor date"
    elif (found := _DATED_BY.search(note)) is not None:
        rule = f"earliest source to show it ({found.group(1)})"
    elif note.startswith("model-prices:"):
        rule = "model-prices (no fresh snapshot)"
    elif "first shown by" in note:
        rule = "best-ranked fresh source"
    elif note.startswith("imported from"):
        rule = "your imported overlay"
    elif "config override" in point.source:
        rule = "your config override"
    else:
        rule = "as the source says"
    if "from config" in note and "config override" not in rule:
        rule += "; adjusted by your config"
    return rule


def find_audited(catalog: Catalog, query: str, provider: str | None = None, *,
                 folder: Path | None = None) -> tuple[str, str] | None:
    """(model id, how it matched) for a model name in any spelling, or None when nothing knows it.

    The catalog resolves any spelling; a ``provider/name`` the build observed but left out of the
    catalog (every price a $0 hole, say) is audited too, so the audit can show why."""
    hit = catalog.resolve(query, provider)
    if hit is not None:
        return hit.entry.id, hit.matched_by
    wanted = f"{provider}/{query}" if provider else query
    owner, _, name = wanted.partition("/")
    if name and owner in observed_providers(folder):
        observed = load_observed(owner, folder)
        for known in observed.models:
            if known.lower() == name.lower():
                return f"{owner}/{known}", "observed only (not in the catalog)"
    return None


def audit_model(catalog: Catalog, model_id: str, *, query: str | None = None, matched_by: str = "exact",
                start: date | None = None, end: date | None = None, disagreements_only: bool = False,
                folder: Path | None = None) -> ModelAudit:
    """The audit of one catalog model (``model_id`` as ``find_audited`` returns it)."""
    provider, _, name = model_id.partition("/")
    observed = load_observed(provider, folder)
    entry = catalog.get(model_id)
    families = _families(observed, name)
    periods = _window(_periods(families, observed.horizon, entry), start, end)
    disagreements, hygiene = (_overlapping(r.get(model_id, ()), start, end) for r in recorded_decisions(folder))
    documented = _in_window(documented_changes(folder).get(model_id, ()), start, end)
    summary = ModelSummary(model_id, entry is not None, len(periods), tuple(families),
                           sum(p.disagree for p in periods), len(disagreements), len(documented))
    shown = tuple(p for p in periods if p.disagree) if disagreements_only else periods
    return ModelAudit(query or model_id, model_id, matched_by, entry is not None, tuple(families), shown,
                      documented, disagreements, hygiene, summary, start, end, disagreements_only)


def audit_provider(catalog: Catalog, provider: str, *, start: date | None = None, end: date | None = None,
                   disagreements_only: bool = False, folder: Path | None = None) -> ProviderAudit:
    """A summary per model of one provider: the catalog's models and any the build observed but left out."""
    observed = load_observed(provider, folder)
    ids = {e.id for e in catalog.entries if e.provider == provider}
    ids |= {f"{provider}/{name}" for name in observed.models}
    models = []
    for model_id in sorted(ids, key=str.lower):
        summary = audit_model(catalog, model_id, start=start, end=end, folder=folder).summary
        if disagreements_only and not (summary.disagreeing_periods or summary.disagreements):
            continue
        models.append(summary)
    return ProviderAudit(provider, tuple(models), start, end, disagreements_only)


def _families(observed: ObservedFile, name: str) -> dict[str, tuple[Observation, ...]]:
    found = observed.models.get(name)
    if found is None:
        low = name.lower()
        found = next((v for k, v in observed.models.items() if k.lower() == low), {})
    known = [f for f in FAMILIES if found.get(f)]
    return {f: found[f] for f in known + sorted(set(found) - set(FAMILIES)) if found[f]}


def _reaches(obs: tuple[Observation, ...], horizon: date | None) -> list[date | None]:
    """The last day each observation is in force (None: still in force)."""
    out: list[date | None] = []
    for o in obs:
        if o.end is None or (horizon is not None and o.end >= horizon):
            out.append(None)
            continue
        after = [p.start for p in obs if p.start > o.end]
        nxt = min(after) if after else None
        if nxt is not None and (nxt - o.end).days <= FRESH_DAYS + 1:
            out.append(nxt - timedelta(days=1))  # no snapshot in between: the price held
        else:
            out.append(o.end)
    return out


@dataclass
class _State:
    start: date
    shown: dict[str, list[Observation]]  # the observations in force, merged while the price is the same
    point: PricePoint | None

    def key(self) -> tuple[Any, ...]:
        prices = tuple((f, (o[-1].rates, o[-1].long_context) if o else None) for f, o in self.shown.items())
        return prices, id(self.point) if self.point is not None else None

    def has_sources(self) -> bool:
        return any(self.shown.values())


def _periods(families: dict[str, tuple[Observation, ...]], horizon: date | None,
             entry: ModelEntry | None) -> list[Period]:
    reach = {f: _reaches(obs, horizon) for f, obs in families.items()}
    days = {o.start for obs in families.values() for o in obs}
    days |= {r + timedelta(days=1) for rs in reach.values() for r in rs if r is not None}
    points = entry.prices if entry is not None else ()
    days |= {p.effective_from for p in points}
    states: list[_State] = []
    for day in sorted(days):
        shown: dict[str, list[Observation]] = {}
        for family, obs in families.items():
            current = [o for o, r in zip(obs, reach[family], strict=True)
                       if o.start <= day and (r is None or day <= r)]
            shown[family] = [current[-1]] if current else []
        state = _State(day, shown, entry.price_at(day) if entry is not None else None)
        if states and states[-1].key() == state.key():
            # Same prices: the period goes on, and the snapshots that showed them are added.
            for family, now in shown.items():
                if now and now[0] is not states[-1].shown[family][-1]:
                    states[-1].shown[family].append(now[0])
            continue
        states.append(state)
    # After the last source stops listing the model the catalog keeps its price: no row says so.
    while len(states) > 1 and not states[-1].has_sources() and states[-1].point is states[-2].point:
        states.pop()
    periods = []
    for i, state in enumerate(states):
        if i + 1 < len(states):
            end: date | None = states[i + 1].start - timedelta(days=1)
        else:
            ends = [r for f, obs in state.shown.items() if obs
                    for o, r in zip(families[f], reach[f], strict=True) if o is obs[-1]]
            end = None if not ends or None in ends else max(e for e in ends if e is not None)
        periods.append(Period(state.start, end, tuple((f, _price(f, obs)) for f, obs in state.shown.items()),
                              _answer(entry, state.point, state.start)))
    return periods


def _price(family: str, obs: list[Observation]) -> SourcePrice | None:
    if not obs:
        return None
    latest = obs[-1]
    urls = [o.url for o in obs if o.url]
    return SourcePrice(family, latest.rates, latest.long_context, obs[0].first, latest.last,
                       urls[-1] if urls else None)


def _answer(entry: ModelEntry | None, point: PricePoint | None, day: date) -> CatalogAnswer | None:
    if entry is None or point is None:
        return None
    return CatalogAnswer(point, catalog_rule(point), before_first=day < entry.prices[0].effective_from)


def _window(periods: list[Period], start: date | None, end: date | None) -> tuple[Period, ...]:
    kept = []
    for p in periods:
        if (end is not None and p.start > end) or (start is not None and p.end is not None and p.end < start):
            continue
        lo = max(p.start, start) if start else p.start
        hi = p.end if end is None else (end if p.end is None else min(p.end, end))
        kept.append(Period(lo, hi, p.sources, p.catalog))
    return tuple(kept)


def _overlapping(records: tuple[Recorded, ...], start: date | None, end: date | None) -> tuple[Recorded, ...]:
    return tuple(r for r in records if (end is None or r.start <= end)
                 and (start is None or (r.end or r.start) >= start))


def _in_window(changes: tuple[DocumentedChange, ...], start: date | None,
               end: date | None) -> tuple[DocumentedChange, ...]:
    return tuple(c for c in changes if (start is None or c.day >= start) and (end is None or c.day <= end))
