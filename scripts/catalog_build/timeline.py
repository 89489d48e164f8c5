"""One price timeline per catalog model from many sources, by written rules.

Rules (docs/pricing-sources.md repeats them for reviewers):

1. **Which source speaks on a day.** On each day the price is the one shown by the best-ranked
   source with a fresh observation of the model: LiteLLM's releases, then tokencostauto's daily
   copies, then tokencost's releases (a snapshot is fresh for ``FRESH_DAYS`` after its upload),
   then model-prices' timeline (models.dev commits and page checks), which is always in force
   between its entries. Lower-ranked sources so fill LiteLLM's silent periods (2024) and the days
   before LiteLLM first listed a model.
2. **When a change happened.** A change first shown on day D is dated at the earliest day E < D
   (after the previous change) on which any source already showed the same new price and kept
   showing it until D. Then a documented vendor date beats any snapshot: the nearest change to the
   documented price is moved to the documented day; if no source shows such a change, the
   documented price is inserted on its day.
3. **Nothing silent.** Every disagreement this settles is written to the discrepancy file with the
   values of each side and the rule that decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from llmaudit.pricing.litellm import _round_sig
from llmaudit.pricing.model import PricePoint, Rates, ServiceRates, Tier

from .inputs import Documented

__all__ = ["FRESH_DAYS", "Obs", "Point", "apply_documented", "combine"]

FRESH_DAYS = 21


@dataclass(frozen=True)
class Obs:
    """One source's price for a model from ``day`` on (until its next Obs, or staleness)."""

    day: date
    family: str
    first: str
    last: str
    end: date  # last day this source confirmed it
    rates: Rates
    tiers: tuple[Tier, ...]
    services: tuple[ServiceRates, ...] = ()
    off_peak: tuple[Any, ...] = ()
    source: str = ""  # URL for documented / model-prices entries
    residency: tuple[Any, ...] = ()


def base(o: Any) -> tuple[Any, Any]:
    return (o.rates.input, o.rates.output)


def _tiered(o: Any) -> tuple[Any, ...]:
    return (o.rates.input, o.rates.output, tuple((t.threshold_tokens, t.rates.input, t.rates.output)
                                                 for t in o.tiers))


def same_price(a: Obs | Point, b: Obs | Point) -> bool:
    return (a.rates, a.tiers, a.services, a.off_peak, a.residency) == (
        b.rates, b.tiers, b.services, b.off_peak, b.residency)


@dataclass
class Point:
    day: date
    rates: Rates
    tiers: tuple[Tier, ...]
    services: tuple[ServiceRates, ...]
    off_peak: tuple[Any, ...]
    origin: str  # the source that set this price
    sources: list[str] = field(default_factory=list)  # "family first…last" confirmations
    notes: list[str] = field(default_factory=list)
    as_of: date | None = None
    documented: bool = False  # its day is a vendor's date: no later document moves it
    residency: tuple[Any, ...] = ()
    free: bool = False  # a $0 price a source documents as free

    def to_price_point(self, free: bool) -> PricePoint:
        return PricePoint(self.day, self.origin, max(self.as_of or self.day, self.day), self.rates, self.tiers,
                          "; ".join(dict.fromkeys(self.notes)) or None,
                          tuple(dict.fromkeys([self.origin, *self.sources])), free,
                          tuple(sorted(self.services, key=lambda s: s.name)), tuple(self.off_peak),
                          tuple(self.residency))


def _active(obs_by_family: dict[str, list[Obs]], ranks: list[str], day: date) -> Obs | None:
    for family in ranks:
        found = None
        for o in obs_by_family.get(family, ()):
            if o.day <= day:
                found = o
            else:
                break
        if found is None:
            continue
        if family == "model-prices" or day <= found.end + timedelta(days=FRESH_DAYS):
            return found
    return None


def combine(obs_by_family: dict[str, list[Obs]], ranks: list[str], horizon: date | None = None) -> list[Point]:
    """Rules 1 and 2 (snapshots): the timeline of one model. ``horizon`` is the newest snapshot's day:
    a source is not stale for having no newer snapshot than the newest there is."""
    days = sorted({o.day for obs in obs_by_family.values() for o in obs}
                  | {o.end + timedelta(days=FRESH_DAYS + 1) for obs in obs_by_family.values() for o in obs})
    if horizon is not None:
        days = [d for d in days if d <= horizon]
    points: list[Point] = []
    for day in days:
        o = _active(obs_by_family, ranks, day)
        if o is None:
            continue  # nobody fresh: the last price stays in force
        if points and same_price(points[-1], o):
            continue
        points.append(Point(day, o.rates, o.tiers, o.services, o.off_peak, o.source or o.first,
                            notes=[f"first shown by {o.first}" if o.family != "model-prices"
                                   else f"model-prices: {o.source}"], residency=o.residency))
    _confirmations(points, obs_by_family)
    _redate(points, obs_by_family)
    return points


def _confirmations(points: list[Point], obs_by_family: dict[str, list[Obs]]) -> None:
    for i, point in enumerate(points):
        until = points[i + 1].day if i + 1 < len(points) else date.max
        for family, obs in obs_by_family.items():
            agreeing = [o for o in obs if o.day < until and o.end >= point.day and base(o) == base(point)]
            if agreeing:
                first, last = agreeing[0], agreeing[-1]
                label = first.first if first.first == last.last else f"{first.first}…{last.last}"
                point.sources.append(label if family != "model-prices" else f"model-prices ({first.source})")
                # model-prices' entries hold until the next one (end 9999): they confirm on their own day.
                confirmed = last.day if family == "model-prices" else last.end
                point.as_of = max(point.as_of or point.day, min(confirmed, until))


def _redate(points: list[Point], obs_by_family: dict[str, list[Obs]]) -> None:
    """Rule 2, snapshots: a change is as old as the earliest source that already showed it."""
    for i in range(1, len(points)):
        point, previous = points[i], points[i - 1]
        earliest = point.day
        who = None
        for obs in obs_by_family.values():
            for o in obs:
                # The whole price must match: a snapshot that only shares the base price says
                # nothing about when a cache, batch or tier rate changed.
                if previous.day < o.day < earliest and same_price(o, point) and o.end >= point.day - timedelta(
                        days=FRESH_DAYS):
                    earliest, who = o.day, o
        if who is not None:
            point.notes.append(f"dated {earliest} by {who.first} (first shown there; {point.day} by the "
                               f"best-ranked source)")
            point.day = earliest


def _in_force(points: list[Point], day: date) -> int | None:
    found = None
    for i, p in enumerate(points):
        if p.day <= day:
            found = i
    return found


def apply_documented(points: list[Point], docs: list[Documented], log: Callable[[dict[str, Any]], None],
                     model_id: str) -> list[Point]:
    """Rule 2, documented dates (each change logged, with what the snapshots said)."""
    for doc in sorted(docs, key=lambda d: d.day):
        key: Callable[[Any], Any] = _tiered if doc.tier_change else base
        new = key(doc)
        # A document that only confirms a price (same as the one before it) moves no change; it is
        # inserted below only where the snapshots say otherwise on its day.
        confirmation = doc.old is not None and key(_Old(doc)) == new
        candidates = [i for i in range(len(points)) if key(points[i]) == new and not points[i].documented
                      and (i == 0 or key(points[i - 1]) != new)]
        near = [] if confirmation else [i for i in candidates if abs((points[i].day - doc.day).days) <= 400]
        record = {"model": model_id, "date": doc.day.isoformat(), "source": doc.source, "via": doc.via,
                  "documented": {"input": str(doc.rates.input), "output": str(doc.rates.output)}}
        if near:
            i = min(near, key=lambda j: abs((points[j].day - doc.day).days))
            shown = points[i].day
            if shown != doc.day:
                record.update(kind="redated", snapshots_showed=shown.isoformat(),
                              rule="documented vendor date beats the first snapshot")
                log(record)
            points[i].day = doc.day
            points[i].origin = doc.source
            points[i].documented = True
            points[i].notes.insert(0, f"documented: {doc.source} (via {doc.via})")
            for later in points[i + 1:]:
                if later.day < doc.day and not later.documented and key(later) == new:
                    # Moved later, the change carries the refinements snapshots made to the new price
                    # before the vendor's date (a cache rate added a week after the first listing):
                    # they take effect with it, the last one winning.
                    later.day, later.origin, later.documented = doc.day, doc.source, True
                    later.notes.insert(0, f"documented: {doc.source} (via {doc.via})")
            # A change moved earlier swallows the points it now covers; moved later, the price
            # before it stays in force until the documented day.
            points[:] = [p for j, p in enumerate(points) if j >= i or p.day < doc.day]
            if i == 0 and doc.old_documented and doc.old is not None and doc.old.input is not None:
                # No source lists the model before the change: the documented old price held until
                # the documented day (from the first listing, or from the day before when the first
                # listing came later; older requests fall back to the oldest price, as everywhere).
                old = _with_base(points[0], doc.old, min(shown, doc.day - timedelta(days=1)), doc)
                old.notes = [f"documented price before {doc.day}: {doc.source} (via {doc.via})"]
                points.insert(0, old)
            continue
        at = _in_force(points, doc.day)
        cache_differs = (doc.rates.cache_read is not None and at is not None
                         and points[at].rates.cache_read != doc.rates.cache_read)
        if at is not None and key(points[at]) == new and not (confirmation and cache_differs):
            if doc.old_documented and doc.old is not None and points[at].day < doc.day and not confirmation:
                # The snapshots show the new price before the vendor's date (a model first listed
                # after a cut): the documented old price held until then.
                old = _with_base(points[at], doc.old, points[at].day, doc)
                old.notes = [f"documented price before {doc.day}: {doc.source} (via {doc.via})"]
                points[at].day = doc.day
                points[at].documented = True
                points[at].notes.insert(0, f"documented: {doc.source} (via {doc.via})")
                points.insert(at, old)
                record.update(kind="old price restored", rule="documented vendor date beats the first snapshot",
                              snapshots_showed=f"new price from {old.day}")
                log(record)
            continue
        # No source shows the change: the documented price is inserted on its day.
        template = points[at] if at is not None else (points[0] if points else None)
        if template is None:
            continue
        inserted = _with_base(template, doc.rates, doc.day, doc)
        inserted.documented = True
        inserted.notes = [f"documented: {doc.source} (via {doc.via}); no snapshot shows this price"]
        if doc.tiers or template.tiers:
            inserted.tiers = doc.tiers
        points.insert(0 if at is None else at + 1, inserted)
        record.update(kind="inserted", rule="documented price not shown by any snapshot",
                      snapshots_showed=None if at is None else {"input": str(template.rates.input),
                                                                "output": str(template.rates.output)})
        log(record)
        if at is None and doc.old is not None and doc.day > date(2000, 1, 1):
            pass
    points.sort(key=lambda p: p.day)
    _between_documents(points, docs, log, model_id)
    merged: list[Point] = []
    for p in points:
        if merged and merged[-1].day == p.day:
            merged[-1] = p
        elif merged and same_price(merged[-1], p):
            merged[-1].sources.extend(s for s in p.sources if s not in merged[-1].sources)
        else:
            merged.append(p)
    return merged


@dataclass(frozen=True)
class _Old:
    """A documented change's old price, shaped like a point for the comparison keys."""

    rates: Rates
    tiers: tuple[Tier, ...]

    def __init__(self, doc: Documented) -> None:
        object.__setattr__(self, "rates", doc.old)
        object.__setattr__(self, "tiers", doc.old_tiers or ())


def _between_documents(points: list[Point], docs: list[Documented], log: Callable[[dict[str, Any]], None],
                       model_id: str) -> None:
    """Between two documented changes whose documents agree on the price in between (the first one's
    new price is the second one's old), that price held: a snapshot price in between that says
    otherwise loses (DeepSeek's V3.1 list, $0.56/$1.68, against LiteLLM's $0.60/$1.70)."""
    for doc in docs:
        if not doc.old_documented or doc.old is None:
            continue
        old = (doc.old.input, doc.old.output)
        start = next((p for p in reversed(points) if p.documented and p.day < doc.day and base(p) == old), None)
        if start is None:
            continue
        for p in [p for p in points if start.day < p.day < doc.day and not p.documented and base(p) != old]:
            points.remove(p)
            log({"model": model_id, "date": p.day.isoformat(), "kind": "snapshot price between two documents dropped",
                 "rule": "documented prices beat snapshots", "snapshot": {"input": str(p.rates.input),
                                                                         "output": str(p.rates.output)},
                 "source": doc.source})


def _with_base(template: Point, rates: Rates, day: date, doc: Documented) -> Point:
    """``template``'s price with the documented fields replaced (the rest kept: cache, batch…),
    cache rates scaled with input when the documented source does not give them."""
    changes: dict[str, Any] = dict(rates.present().items())
    old_in = template.rates.input
    if rates.input is not None and old_in:
        ratio = rates.input / old_in
        for name in ("cache_read", "cache_write_5m", "cache_write_1h", "input_batch", "cache_read_batch",
                     "cache_write_batch"):
            value = getattr(template.rates, name)
            if name not in changes and value is not None:
                changes[name] = _round_sig(value * ratio)
    old_out = template.rates.output
    if rates.output is not None and old_out:
        ratio = rates.output / old_out
        for name in ("output_batch", "reasoning"):
            value = getattr(template.rates, name)
            if name not in changes and value is not None:
                changes[name] = _round_sig(value * ratio)
    return replace(template, day=day, rates=replace(template.rates, **changes), origin=doc.source,
                   sources=[doc.source], notes=[f"documented: {doc.source} (via {doc.via})"],
                   as_of=day, services=())
