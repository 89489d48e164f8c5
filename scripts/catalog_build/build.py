"""Assemble catalog entries from the inputs: map keys to models, combine timelines, clean."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from llmaudit.pricing import litellm
from llmaudit.pricing.catalog import Catalog
from llmaudit.pricing.model import RATE_FIELDS, ModelEntry, PricePoint, Rates
from llmaudit.pricing.names import MAKERS, PLATFORMS

from .fixes import backfill, correct
from .history import KeyHistory
from .inputs import MP_PROVIDERS, SNAPSHOT_FAMILIES, Documented, MPEntry
from .timeline import Obs, Point, apply_documented, combine, same_price

__all__ = ["BuildResult", "build"]

RANKS = [*SNAPSHOT_FAMILIES, "model-prices"]
# Local runtimes whose $0 is real: nothing is billed.
LOCAL_FREE = frozenset({"ollama", "lemonade", "lm_studio", "llamafile"})
_FREE_NAME = re.compile(r"(:free$|-free$|/free$)", re.I)


@dataclass
class BuildResult:
    entries: list[ModelEntry]
    discrepancies: list[dict[str, Any]] = field(default_factory=list)
    observed: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    applied: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    hygiene: list[dict[str, Any]] = field(default_factory=list)


def _better(rec: litellm.Record, best: litellm.Record | None) -> bool:
    return best is None or (rec.rank, len(rec.key), rec.key) < (best.rank, len(best.key), best.key)


def _same_price(cloud: litellm.Record | None, maker: litellm.Record | None) -> bool:
    """Whether a cloud's or reseller's listing bills a standard request as the maker's does.

    Base rates must match. A cache rate, 1-hour write rate or long-context tier the cloud's listing
    leaves out is not recorded there (LiteLLM's OpenRouter and older Bedrock keys list no cache
    rates), which is no different price; one it lists that the maker's does not, or lists at
    another value, is (Azure's gpt-5.4-pro cache reads at $3 where OpenAI lists none)."""
    if cloud is None or maker is None:
        return cloud is maker
    if (cloud.rates.input, cloud.rates.output) != (maker.rates.input, maker.rates.output):
        return False
    for name in ("cache_read", "cache_write_5m", "cache_write_1h"):
        value = getattr(cloud.rates, name)
        if value is not None and value != getattr(maker.rates, name):
            return False
    if cloud.tiers and maker.tiers:
        def key(rec: litellm.Record) -> tuple[Any, ...]:
            return tuple((t.threshold_tokens, t.rates.input, t.rates.output) for t in rec.tiers)
        return key(cloud) == key(maker)
    return not cloud.tiers  # a tier only the cloud lists is a different price


def _latest(histories: dict[tuple[str, str], KeyHistory]) -> dict[str, litellm.Record]:
    latest: dict[str, tuple[date, litellm.Record]] = {}
    for (_, key), hist in histories.items():
        assert hist.last_day is not None
        if key not in latest or hist.last_day > latest[key][0]:
            latest[key] = (hist.last_day, hist.latest)
    return {k: v[1] for k, v in latest.items()}


def map_keys(histories: dict[tuple[str, str], KeyHistory]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each LiteLLM key → its catalog id. A cloud's or reseller's spelling of a maker's model joins the
    maker's entry only when every source prices them the same on every day both are listed."""
    latest = _latest(histories)
    first_party: dict[str, litellm.Record] = {}
    aliases: dict[str, set[str]] = {}
    for key, rec in latest.items():
        if rec.provider not in PLATFORMS:
            aliases.setdefault(rec.id, set()).add(key)
            if rec.provider in MAKERS:
                first_party.setdefault(rec.id, rec)
    stub = PricePoint(date(2000, 1, 1), "stub", date(2000, 1, 1), Rates())
    probe = Catalog([ModelEntry(i, r.provider, r.name, (stub,), tuple(sorted(aliases.get(i, ()))))
                     for i, r in first_party.items()], date(2000, 1, 1))
    best_key: dict[str, str] = {}
    for key, rec in latest.items():
        if rec.provider not in PLATFORMS and _better(rec, latest.get(best_key.get(rec.id, ""))):
            best_key[rec.id] = key
    target: dict[str, str] = {}
    for key, rec in latest.items():
        target[key] = rec.id
        if rec.provider not in PLATFORMS:
            continue
        # The -latest fallback may pick the maker's entry; prices must still agree on every day.
        hit = probe.resolve(key)
        if hit is None or hit.matched_by in ("dated-snapshot", "name") or hit.entry.id == rec.id:
            continue
        maker_key = best_key.get(hit.entry.id)
        if maker_key and _agree_always(histories, key, maker_key):
            target[key] = hit.entry.id
    keys_of: dict[str, list[str]] = {}
    for key, model_id in target.items():
        keys_of.setdefault(model_id, []).append(key)
    for keys in keys_of.values():
        keys.sort(key=lambda k: (latest[k].rank, len(k), k))
    return target, keys_of


def _agree_always(histories: dict[tuple[str, str], KeyHistory], key: str, other: str) -> bool:
    """Whether two keys were priced the same on every day a source listed both, and on at least one
    such day: with no day in common there is no evidence they agree (a GovCloud key first listed after
    the maker's key left LiteLLM keeps its own price)."""
    overlapped = False
    for family in SNAPSHOT_FAMILIES:
        a, b = histories.get((family, key)), histories.get((family, other))
        if a is None or b is None:
            continue
        assert a.first_day and a.last_day and b.first_day and b.last_day
        lo, hi = max(a.first_day, b.first_day), min(a.last_day, b.last_day)
        if lo > hi:
            continue
        overlapped = True
        days = {s.start for s in a.segments} | {s.start for s in b.segments} | {lo}
        for day in days:
            if lo <= day <= hi and not _same_price(a.at(day), b.at(day)):
                return False
    return overlapped


def _family_obs(histories: dict[tuple[str, str], KeyHistory], keys: list[str], family: str) -> list[Obs]:
    """One family's observations of a model listed under several keys: on each day, the best key
    listed that day speaks, and a rate, tier or service tier it leaves out is taken from another key
    of the model listed that day at the same base price (a joined cloud spelling that lists no cache
    rate has not recorded one; it does not erase the maker's)."""
    hists = [h for k in keys if (h := histories.get((family, k))) is not None]
    if not hists:
        return []
    days = sorted({s.start for h in hists for s in h.segments} | {h.last_day for h in hists if h.last_day})
    out: list[Obs] = []
    for day in days:
        listed = []
        for h in hists:
            assert h.first_day and h.last_day
            if h.first_day <= day <= h.last_day:
                listed.append(next(s for s in reversed(h.segments) if s.start <= day))
        if not listed:
            continue
        seg = listed[0]
        rec = _completed(seg.record, [s.record for s in listed[1:]])
        if out and (out[-1].rates, out[-1].tiers, out[-1].services, out[-1].off_peak, out[-1].residency) == (
                rec.rates, rec.tiers, rec.services, rec.off_peak, rec.residency):
            out[-1] = replace(out[-1], last=seg.last, end=max(out[-1].end, seg.end))
        else:
            out.append(Obs(day, family, seg.first, seg.last, seg.end, rec.rates, rec.tiers, rec.services, rec.off_peak,
                           residency=rec.residency))
    return out


def _completed(rec: litellm.Record, others: list[litellm.Record]) -> litellm.Record:
    same = [o for o in others if (o.rates.input, o.rates.output) == (rec.rates.input, rec.rates.output)]
    if not same:
        return rec
    fills = {}
    for name in RATE_FIELDS:
        if getattr(rec.rates, name) is None:
            value = next((getattr(o.rates, name) for o in same if getattr(o.rates, name) is not None), None)
            if value is not None:
                fills[name] = value
    tiers = rec.tiers or next((o.tiers for o in same if o.tiers), ())
    have = {s.name for s in rec.services}
    services = rec.services + tuple(s for o in same for s in o.services if s.name not in have)
    services = tuple({s.name: s for s in reversed(services)}[n] for n in dict.fromkeys(s.name for s in services))
    if not fills and tiers == rec.tiers and services == rec.services:
        return rec
    return replace(rec, rates=rec.rates.patched(**fills), tiers=tiers, services=services)


def _mp_obs(entries: list[MPEntry]) -> list[Obs]:
    out: list[Obs] = []
    dated = sorted((e for e in entries if e.service == "standard" and e.day is not None and e.rates is not None),
                   key=lambda e: e.day or date.min)
    for i, e in enumerate(dated):
        assert e.day is not None and e.rates is not None
        end = dated[i + 1].day if i + 1 < len(dated) else date(9999, 1, 1)
        assert end is not None
        out.append(Obs(e.day, "model-prices", "model-prices", "model-prices", end, e.rates, e.tiers, source=e.source))
    return out


def _mp_services(entries: list[MPEntry], on: date) -> dict[str, Any]:
    """model-prices' service-tier rates in force on a day (fast mode, which LiteLLM lacks)."""
    found: dict[str, Any] = {}
    for e in sorted((e for e in entries if e.service in ("fast", "priority", "flex")),
                    key=lambda e: e.day or date.min):
        if e.day is None or e.day <= on:
            found[e.service] = e
    return {k: v for k, v in found.items() if v.rates is not None}


def _hygiene(model_id: str, points: list[Point], mode: str | None, log: list[dict[str, Any]],
             mp: list[MPEntry]) -> list[Point]:
    """Placeholders are no prices; a $0 between paid prices is a hole; $0 is kept only where free.

    * A point whose input and output are both $0 is a price only where the model is documented free:
      a ``:free`` variant, a local runtime, or model-prices (an independent source, from models.dev
      and vendor pages) listing it at $0 on that day; it is labelled free. Otherwise it is dropped
      (a router's placeholder, one snapshot's hole): the price before stays in force, or the model
      has no price.
    * A point with one $0 rate that is paid at other dates is a hole and is dropped.
    * One $0 rate that every point lists while the other is paid (a classifier's output, an
      embedding's output, Perplexity's online input billed per request) is the source saying that
      part is not charged; it is kept, and said so in the note.
    """
    provider, _, name = model_id.partition("/")
    by_name = provider in LOCAL_FREE or bool(_FREE_NAME.search(name))
    paid = {f: any(getattr(p.rates, f) for p in points) for f in ("input", "output")}
    kept = []
    for p in points:
        zero = [f for f in ("input", "output") if getattr(p.rates, f) == 0]
        if len(zero) == 2:
            documented = by_name or _mp_free(mp, p.day)
            if documented:
                kept.append(replace(p, free=True, notes=[*p.notes, "free: " + (
                    "a free variant or local runtime" if by_name else "model-prices also lists it at $0")]))
                continue
            log.append({"model": model_id, "date": p.day.isoformat(), "kind": "zero price dropped",
                        "rule": "a $0 price counts only where a source says the model is free",
                        "fields": zero, "source": p.origin})
            continue
        if zero and any(paid[f] for f in zero):
            log.append({"model": model_id, "date": p.day.isoformat(), "kind": "zero rate hole dropped",
                        "rule": "a $0 between paid prices is a hole", "fields": zero, "source": p.origin})
            continue
        cheaper = [t.threshold_tokens for t in p.tiers if _cheaper_tier(p.rates, t.rates)]
        if cheaper:
            # A long-context tier reprices the whole request; one below the base rate would make a
            # longer prompt cheaper than a shorter one: inconsistent data, not a price.
            log.append({"model": model_id, "date": p.day.isoformat(), "kind": "tier below base rates dropped",
                        "rule": "cost never falls when a token count rises", "thresholds": cheaper,
                        "source": p.origin})
            p = replace(p, tiers=tuple(t for t in p.tiers if t.threshold_tokens not in cheaper))
        if zero:
            p = replace(p, notes=[*p.notes, f"{zero[0]} listed at $0 by every source: not charged"])
        kept.append(p)
    return kept


def _mp_free(mp: list[MPEntry], day: date) -> bool:
    standard = sorted((e for e in mp if e.service == "standard" and e.day is not None), key=lambda e: e.day or date.min)
    before = [e for e in standard if e.day is not None and e.day <= day]
    entry = before[-1] if before else (standard[0] if standard else None)
    return bool(entry and entry.rates is not None and entry.rates.input == 0 and entry.rates.output == 0)


def _cheaper_tier(base: Rates, tier: Rates) -> bool:
    return any(getattr(tier, f) is not None and getattr(base, f) is not None and getattr(tier, f) < getattr(base, f)
               for f in ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h"))


def _apply_schedules(model_id: str, points: list[Point], schedules: list[dict[str, Any]]) -> list[Point]:
    """model-prices' dated off-peak schedules (DeepSeek's 2025 night discount: 50% on deepseek-chat,
    75% on deepseek-reasoner, 16:30-00:30 UTC, 2025-02-26 to 2025-09-05) as off-peak windows of the
    price points in force over those dates. Dates are whole days: a window that ends at 16:00 is
    kept through the day before (the last full window)."""
    from llmaudit.pricing.model import OffPeak

    provider, _, name = model_id.partition("/")
    for sched in schedules:
        mp_provider = sched.get("provider")
        multiplier = (sched.get("off_peak_multiplier") or {}).get(name)
        if MP_PROVIDERS.get(str(mp_provider), mp_provider) != provider or multiplier is None or not points:
            continue
        start = date.fromisoformat(str(sched["valid_from"])[:10])
        until = date.fromisoformat(str(sched["valid_until"])[:10]) if sched.get("valid_until") else None
        windows = tuple(OffPeak(a, b, Decimal(str(multiplier))) for a, b in sched.get("off_peak_hours_utc") or ())
        days = sorted({p.day for p in points} | {start} | ({until} if until else set()))
        out: list[Point] = []
        for day in days:
            current = [p for p in points if p.day <= day]
            if not current:
                continue
            point = replace(current[-1], day=day)
            if start <= day and (until is None or day < until) and not point.off_peak:
                point = replace(point, off_peak=windows,
                                notes=[*point.notes, f"off-peak {multiplier}x from {sched.get('source')}"])
            if out and same_price(out[-1], point):
                continue
            out.append(point)
        points = out
    return points


def build(histories: dict[tuple[str, str], KeyHistory], mp_entries: Iterable[MPEntry],
          documented: list[Documented], schedules: list[dict[str, Any]] | None = None) -> BuildResult:
    result = BuildResult([])
    _target, keys_of = map_keys(histories)
    latest = _latest(histories)
    probe_entries = [ModelEntry(i, i.partition("/")[0], i.partition("/")[2],
                                (PricePoint(date(2000, 1, 1), "stub", date(2000, 1, 1), Rates()),),
                                tuple(sorted(k for k in keys if k.lower() != i.lower())))
                     for i, keys in keys_of.items()]
    probe = Catalog(probe_entries, date(2000, 1, 1))

    def resolve(provider: str, model: str) -> str | None:
        hit = probe.resolve(f"{provider}/{model}", fuzzy=False)
        return hit.entry.id if hit is not None and hit.matched_by not in ("dated-snapshot", "name") else None

    horizon = max((h.last_day for h in histories.values() if h.last_day), default=None)
    mp_by_id: dict[str, list[MPEntry]] = {}
    for e in mp_entries:
        model_id = resolve(e.provider, e.model) or f"{e.provider}/{e.model}"
        mp_by_id.setdefault(model_id, []).append(e)
    docs_by_id: dict[str, list[Documented]] = {}
    for d in documented:
        model_id = resolve(d.provider, d.model)
        if model_id is None and f"{d.provider}/{d.model}" in mp_by_id:
            model_id = f"{d.provider}/{d.model}"
        if model_id is None:
            result.unmatched.append(f"{d.provider}/{d.model} ({d.via}, {d.day})")
            continue
        if d.service == "standard":
            docs_by_id.setdefault(model_id, []).append(d)

    for model_id in sorted(set(keys_of) | set(mp_by_id)):
        keys = keys_of.get(model_id, [])
        obs = {family: _family_obs(histories, keys, family) for family in SNAPSHOT_FAMILIES}
        mp = mp_by_id.get(model_id, [])
        obs["model-prices"] = _mp_obs(mp)
        result.observed[model_id] = {f: [_obs_json(o) for o in v] for f, v in obs.items() if v}
        _disagreements(model_id, obs, result.discrepancies)
        points = combine(obs, RANKS, horizon)
        if not points:
            continue
        points = apply_documented(points, docs_by_id.get(model_id, []), result.discrepancies.append, model_id)
        for doc in docs_by_id.get(model_id, []):
            result.applied.append(_applied(model_id, doc, points))
        meta = latest[keys[0]] if keys else None
        points = _apply_schedules(model_id, points, schedules or [])
        points = _with_mp_services(points, mp)
        points = _adopt_tiers(points, mp)
        points = backfill([correct(model_id, p) for p in points])
        points = _hygiene(model_id, points, meta.mode if meta else "chat", result.hygiene, mp)
        if not points:
            continue
        provider, _, name = model_id.partition("/")
        aliases = tuple(sorted({k for k in keys if k.lower() not in (model_id.lower(), name.lower())}))
        prices = tuple(p.to_price_point(p.free) for p in points)
        result.entries.append(ModelEntry(
            model_id, provider, name, prices, aliases,
            meta.context_window if meta else None, meta.max_output_tokens if meta else None,
            meta.mode if meta else "chat"))
    return result


def _with_mp_services(points: list[Point], mp: list[MPEntry]) -> list[Point]:
    """Fast mode and other service tiers LiteLLM does not price, from model-prices, on their dates."""
    services = [e for e in mp if e.service in ("fast", "priority", "flex") and e.day is not None]
    if not services:
        return points
    days = sorted({p.day for p in points} | {e.day for e in services if e.day and e.day > points[0].day})
    out: list[Point] = []
    for day in days:
        current = [p for p in points if p.day <= day][-1]
        have = {s.name for s in current.services}
        extra = []
        for name, e in _mp_services(mp, day).items():
            if name not in have and e.rates is not None:
                from llmaudit.pricing.model import ServiceRates

                extra.append(ServiceRates(name, e.rates, e.tiers))
        point = replace(current, day=day, services=tuple(sorted((*current.services, *extra), key=lambda s: s.name)),
                        notes=list(current.notes) + ([f"service tiers {', '.join(s.name for s in extra)} from "
                                                      "model-prices"] if extra else []))
        if out and (out[-1].rates, out[-1].tiers, out[-1].services) == (point.rates, point.tiers, point.services):
            continue
        out.append(point)
    return out


def _adopt_tiers(points: list[Point], mp: list[MPEntry]) -> list[Point]:
    """A long-context tier LiteLLM's maker key lacks (Anthropic's Sonnet 4/4.5 >200k tier, listed only
    on the Vertex and Bedrock keys), taken from model-prices' entry in force at the same base price.
    Before model-prices' first entry its earliest entry speaks (models.dev started after the model)."""
    standard = sorted((e for e in mp if e.service == "standard" and e.rates is not None and e.day is not None),
                      key=lambda e: e.day or date.min)
    if not standard:
        return points
    out = []
    for p in points:
        if not p.tiers and not p.documented:
            before = [e for e in standard if e.day is not None and e.day <= p.day]
            e = before[-1] if before else standard[0]
            if e.tiers and e.rates is not None and (e.rates.input, e.rates.output) == (p.rates.input, p.rates.output):
                p = replace(p, tiers=e.tiers, notes=[*p.notes, f"long-context tier from model-prices ({e.source})"])
        out.append(p)
    return out


def _obs_json(o: Obs) -> dict[str, Any]:
    data: dict[str, Any] = {"from": o.day.isoformat(), "to": o.end.isoformat() if o.end.year < 9999 else None,
                            "first": o.first, "last": o.last}
    if o.source:
        data["source"] = o.source
    data.update(o.rates.to_json())
    if o.tiers:
        data["long_context"] = [t.to_json() for t in o.tiers]
    return data


def _disagreements(model_id: str, obs: dict[str, list[Obs]], out: list[dict[str, Any]]) -> None:
    """Periods where two sources list the model at once with different base prices."""
    primary = obs.get("litellm") or []
    for family, others in obs.items():
        if family == "litellm" or not others:
            continue
        for o in others:
            for p in primary:
                lo, hi = max(o.day, p.day), min(o.end, p.end)
                if lo <= hi and (o.rates.input, o.rates.output) != (p.rates.input, p.rates.output):
                    out.append({"model": model_id, "kind": "source disagreement", "from": lo.isoformat(),
                                "to": hi.isoformat(), "rule": "the best-ranked fresh source speaks "
                                "(litellm > tokencostauto > tokencost > model-prices); documented dates win",
                                "litellm": {"input": _s(p.rates.input), "output": _s(p.rates.output), "label": p.first},
                                family: {"input": _s(o.rates.input), "output": _s(o.rates.output),
                                         "label": o.source or o.first}})


def _s(v: Decimal | None) -> str | None:
    return None if v is None else format(v.normalize(), "f")


def _tk(tiers: Any) -> tuple[Any, ...]:
    return tuple((t.threshold_tokens, t.rates.input, t.rates.output) for t in tiers)


def _applied(model_id: str, doc: Documented, points: list[Point]) -> dict[str, Any]:
    """One documented price, what it says and what the catalog now says the day before and on the day.

    ``kind``: ``change`` (the source documents the old price and it differs), ``tier change``,
    ``confirmation`` (same price as before), ``first price`` (nothing before it), or ``change (old
    from the dataset's previous entry)`` for model-prices, whose previous entry may be a placeholder."""
    def at(day: date) -> Point | None:
        found = [p for p in points if p.day <= day]
        return found[-1] if found else None

    before, on = at(doc.day - timedelta(days=1)), at(doc.day)
    if doc.old is None:
        kind = "first price"
    elif doc.tier_change:
        kind = "tier change"
    elif (doc.old.input, doc.old.output) == (doc.rates.input, doc.rates.output):
        kind = "confirmation"
    else:
        kind = "change" if doc.old_documented else "change (old from the dataset's previous entry)"
    return {"model": model_id, "date": doc.day.isoformat(), "kind": kind,
            "old_input": _s(doc.old.input) if doc.old else None, "old_output": _s(doc.old.output) if doc.old else None,
            "new_input": _s(doc.rates.input), "new_output": _s(doc.rates.output),
            "catalog_before_input": _s(before.rates.input) if before else None,
            "catalog_before_output": _s(before.rates.output) if before else None,
            "catalog_on_input": _s(on.rates.input) if on else None,
            "catalog_on_output": _s(on.rates.output) if on else None,
            "tiers_reproduced": bool(doc.tier_change and before and on and _tk(before.tiers) == _tk(doc.old_tiers or ())
                                     and _tk(on.tiers) == _tk(doc.tiers)),
            "source": doc.source, "via": doc.via}
