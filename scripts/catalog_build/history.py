"""Per-key price histories of the LiteLLM-JSON families, compressed to their changes.

Reading ~1,000 snapshots of ~4,000 keys would hold millions of records; only changes are kept: for
each (family, key) the days its prices changed, with the snapshot that first showed each price and
the last one that confirmed it, and the days the key was listed at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from llmaudit.pricing import litellm

from .inputs import Snapshot

__all__ = ["KeyHistory", "Segment", "collect", "signature"]


def signature(rec: litellm.Record) -> tuple[Any, ...]:
    """What a price is: two records with equal signatures bill every request the same."""
    return (rec.rates, rec.tiers, rec.services, rec.off_peak, rec.residency)


@dataclass
class Segment:
    start: date
    first: str  # label of the snapshot that first showed this price
    last: str  # label of the last snapshot that confirmed it
    end: date  # day of ``last``
    record: litellm.Record


@dataclass
class KeyHistory:
    family: str
    key: str
    segments: list[Segment] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None

    def at(self, day: date) -> litellm.Record | None:
        """The price this family listed on ``day`` (None outside its listing)."""
        if self.first_day is None or day < self.first_day:
            return None
        found = None
        for seg in self.segments:
            if seg.start <= day:
                found = seg.record
            else:
                break
        return found

    @property
    def latest(self) -> litellm.Record:
        return self.segments[-1].record


def collect(snaps: Iterable[Snapshot]) -> tuple[dict[tuple[str, str], KeyHistory], dict[str, list[date]],
                                                 dict[str, dict[str, str]]]:
    """Histories per (family, key), each family's snapshot days, and each snapshot's metadata."""
    histories: dict[tuple[str, str], KeyHistory] = {}
    days: dict[str, list[date]] = {}
    meta: dict[str, dict[str, str]] = {}
    for snap in snaps:
        days.setdefault(snap.family, []).append(snap.day)
        meta[snap.label] = snap.meta
        for rec in snap.records:
            hist = histories.get((snap.family, rec.key))
            if hist is None:
                hist = histories[(snap.family, rec.key)] = KeyHistory(snap.family, rec.key)
            sig = signature(rec)
            if hist.segments and signature(hist.segments[-1].record) == sig:
                seg = hist.segments[-1]
                seg.last, seg.end = snap.label, snap.day
                seg.record = rec  # newest metadata (context window, deprecation date)
            else:
                hist.segments.append(Segment(snap.day, snap.label, snap.label, snap.day, rec))
            hist.first_day = hist.first_day or snap.day
            hist.last_day = snap.day
    return histories, days, meta
