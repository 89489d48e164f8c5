"""What changed between two catalogs, or between two dates of one catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from llmaudit.pricing.catalog import Catalog
from llmaudit.pricing.model import RATE_FIELDS, PricePoint, dec_str

__all__ = ["CatalogDiff", "PriceChange", "diff_catalogs"]


@dataclass(frozen=True)
class PriceChange:
    id: str
    kind: str  # changed | added | removed | rate-added | rate-removed
    rate: str | None = None
    old_dec: Decimal | None = None
    new_dec: Decimal | None = None

    @property
    def old(self) -> str | None:
        return None if self.old_dec is None else dec_str(self.old_dec)

    @property
    def new(self) -> str | None:
        return None if self.new_dec is None else dec_str(self.new_dec)

    @property
    def pct(self) -> float | None:
        if self.old_dec is None or self.new_dec is None or self.old_dec == 0:
            return None
        return float((self.new_dec - self.old_dec) / self.old_dec * 100)


@dataclass
class CatalogDiff:
    a: str
    b: str
    changes: list[PriceChange] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "units": "USD per 1M tokens; per_request and per_search in USD per call",
            "changes": [{"id": c.id, "change": c.kind, "rate": c.rate, "old": c.old, "new": c.new,
                         "change_pct": None if c.pct is None else round(c.pct, 4)} for c in self.changes],
        }


def _flat(point: PricePoint | None) -> dict[str, Decimal]:
    if point is None:
        return {}
    flat = dict(point.rates.present())
    for tier in point.long_context:
        for name, value in tier.rates.present().items():
            flat[f"{name}>{tier.threshold_tokens}"] = value
    return flat


def _order(name: str) -> tuple[int, str]:
    base = name.split(">")[0]
    return (RATE_FIELDS.index(base) if base in RATE_FIELDS else 99, name)


def diff_catalogs(a: Catalog, b: Catalog, *, at_a: date | None = None, at_b: date | None = None,
                  label_a: str = "A", label_b: str = "B") -> CatalogDiff:
    """Rates that differ between ``a`` at ``at_a`` and ``b`` at ``at_b`` (the latest when None)."""
    diff = CatalogDiff(label_a, label_b)
    ids = sorted({*a.ids, *b.ids}, key=lambda i: (i.lower(), i))  # ids differing in case: a fixed order
    for model_id in ids:
        ea, eb = a.get(model_id), b.get(model_id)
        pa_ = ea.price_at(at_a) if ea else None
        pb = eb.price_at(at_b) if eb else None
        # A model whose history starts after the date did not exist yet.
        if pa_ is not None and at_a is not None and ea is not None and ea.prices[0].effective_from > at_a:
            pa_ = None
        if pb is not None and at_b is not None and eb is not None and eb.prices[0].effective_from > at_b:
            pb = None
        if pa_ is None and pb is None:
            continue
        if pa_ is None:
            diff.changes.append(PriceChange(model_id, "added"))
            continue
        if pb is None:
            diff.changes.append(PriceChange(model_id, "removed"))
            continue
        fa, fb = _flat(pa_), _flat(pb)
        for name in sorted(set(fa) | set(fb), key=_order):
            old, new = fa.get(name), fb.get(name)
            if old == new:
                continue
            if old is not None and new is not None:
                kind = "changed"
            else:
                kind = "rate-added" if old is None else "rate-removed"
            diff.changes.append(PriceChange(model_id, kind, name, old, new))
    return diff
