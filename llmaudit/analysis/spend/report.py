"""Spend audit: the ``SpendReport`` (and its options) that ``spend.builder.build_spend`` computes
(how it is computed, and why its money is exact, is said there).

The result is a tree of frozen dataclasses; renderers read it and ``SpendReport.to_dict()`` is the
JSON (machine output comes from the result, not from the view), less the ``warnings``: the report
carries typed ``notices`` that ``render.spend_text.spend_json`` words and adds. Unknown is never
zero: unpriced requests are counted apart (``unpriced_requests``, ``unpriced_tokens``), never as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.common.money import money
from llmaudit.analysis.spend.notices import SpendNotice

if TYPE_CHECKING:
    from llmaudit.analysis.routing.scenarios import WhatIf

__all__ = [
    "DEFAULT_BY",
    "NONE_LABEL",
    "OPTIONAL_BY",
    "UNTAGGED_LABEL",
    "Breakdown",
    "Discrepancy",
    "GroupRow",
    "Projection",
    "Reconciliation",
    "SourceFile",
    "SpendOptions",
    "SpendReport",
    "UnpricedModel",
]

# Shown without ``--by``: the first three always, the rest only when the source carries them.
DEFAULT_BY = ("model", "provider", "day")
OPTIONAL_BY = ("tag", "user", "project", "key")
NONE_LABEL = "(none)"
UNTAGGED_LABEL = "(untagged)"



# --------------------------------------------------------------------------------------- options
@dataclass(frozen=True)
class SpendOptions:
    """What to aggregate and how. ``since`` is inclusive, ``until`` exclusive (both UTC-aware)."""

    by: tuple[tuple[str, ...], ...] = ()  # each breakdown is a tuple of dimensions, e.g. ("model", "day")
    since: datetime | None = None
    until: datetime | None = None
    timezone: str = "UTC"
    currency: str = "USD"
    fx_rate: Decimal = Decimal(1)  # report currency per USD
    now: datetime | None = None  # injected by tests; defaults to the wall clock
    tolerance: Decimal = Decimal("0.01")  # billed vs recomputed: relative difference that counts
    max_listed: int = 20  # discrepancy rows listed (all are counted and summed)
    whatif: bool = True
    byok: bool = False  # aggregator fee at the BYOK rate instead of the credit-purchase rate
    volume: Any = None  # savings.Volume: scale the what-if's monthly/annual figures to it
    quality: Any = None  # analysis.routing.measured.MeasuredQuality: route by a replay run's pass rates, not tiers


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class GroupRow:
    """Usage and spend of one group. ``cost`` covers priced rows only, in the report currency."""

    key: tuple[str, ...]
    rows: int
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost: Decimal | None  # None when no request of the group could be priced (never a fake 0)
    unpriced_requests: int
    unpriced_tokens: int
    billed: Decimal | None  # what the source reported, None when no row of the group had a cost
    billed_rows: int
    share: float | None = None  # of the priced total
    # Priced at base rates though a request of the row could have passed a long-context threshold.
    tier_undetermined_rows: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self, dims: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = dict(zip(dims, self.key, strict=True))
        out.update(
            requests=self.requests,
            rows=self.rows,
            input_tokens=self.input_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens,
            cost=money(self.cost),
            unpriced_requests=self.unpriced_requests,
            unpriced_tokens=self.unpriced_tokens,
            billed=money(self.billed),
            billed_rows=self.billed_rows,
            share=None if self.share is None else round(self.share, 6),
            tier_undetermined_rows=self.tier_undetermined_rows,
        )
        return out


@dataclass(frozen=True)
class Breakdown:
    dimensions: tuple[str, ...]
    rows: tuple[GroupRow, ...]
    note: str | None = None

    @property
    def name(self) -> str:
        return "+".join(self.dimensions)


@dataclass(frozen=True)
class UnpricedModel:
    """A model we could not price: how much traffic it carried (never counted as $0)."""

    model: str
    provider: str
    status: str  # unknown_model | missing_rate | unpriced
    requests: int
    input_tokens: int
    output_tokens: int
    billed: Decimal | None  # what the source said it cost, when it said so


@dataclass(frozen=True)
class Discrepancy:
    timestamp: datetime
    model: str
    request_id: str | None
    source: str | None  # file:line
    billed: Decimal
    recomputed: Decimal
    difference: Decimal  # billed - recomputed
    relative: float | None  # difference / recomputed; None when recomputed is 0
    gateway_price: str | None = None  # the price the gateway itself applied, as it logged it (LiteLLM)


@dataclass(frozen=True)
class ModelDiscrepancy:
    model: str
    rows: int
    billed: Decimal
    recomputed: Decimal
    difference: Decimal


@dataclass(frozen=True)
class Reconciliation:
    """Billed (as the source reported) vs recomputed (list price) where the source has a cost."""

    tolerance: Decimal
    compared_rows: int  # rows with both a billed and a recomputed cost
    billed: Decimal
    recomputed: Decimal
    differing_rows: int  # |billed - recomputed| > tolerance × recomputed
    differing_billed: Decimal
    differing_recomputed: Decimal
    billed_unpriced_rows: int  # billed, nothing to compare with: no list price, cost-only rows, BYOK fee rows
    billed_unpriced: Decimal
    by_model: tuple[ModelDiscrepancy, ...]
    listed: tuple[Discrepancy, ...]  # the largest differences, up to SpendOptions.max_listed

    @property
    def differing_difference(self) -> Decimal:
        return self.differing_billed - self.differing_recomputed


@dataclass(frozen=True)
class Projection:
    """Current month: spend to date and a month-end figure from the recent daily run rate."""

    month: str  # YYYY-MM in the report timezone
    now: datetime
    to_date: Decimal
    run_rate: Decimal | None  # per day, mean of the last ``basis_days`` complete days
    basis_days: int
    projected: Decimal | None
    unpriced_requests: int  # requests missing from ``to_date``: the same days (the month up to today)
    log_ends: datetime | None = None  # set when "now" is past a log with nothing this month: the
    # projection is then of the log's last month, as of its last record


@dataclass(frozen=True)
class SourceFile:
    """How one input was read: rows read == kept + rejected + duplicates (skipped lines are not rows)."""

    path: str
    reader: str
    rows_read: int
    rows_kept: int
    rows_rejected: int
    duplicates: int
    skipped: int
    not_read: str | None = None  # why the whole file was left out


@dataclass(frozen=True)
class SpendReport:
    generated_at: datetime
    inputs: tuple[str, ...]
    catalog_as_of: date | None
    timezone: str
    currency: str
    fx_rate: Decimal
    since: datetime | None
    until: datetime | None
    first_seen: datetime | None
    last_seen: datetime | None
    rows_read: int
    rows_outside_window: int
    totals: GroupRow
    breakdowns: tuple[Breakdown, ...]
    unpriced: tuple[UnpricedModel, ...]
    reconciliation: Reconciliation
    projection: Projection | None
    whatif: WhatIf | None
    notices: tuple[SpendNotice, ...] = field(default_factory=tuple)  # worded by render.spend_text
    sources: tuple[SourceFile, ...] = ()  # raw-log accounting from the ingest summary, when there was one
    # The daily series the projection is made from (not rendered): ``as_of`` remakes it for another "now".
    daily: tuple[GroupRow, ...] = field(default=(), repr=False, compare=False)

    @property
    def unpriced_requests(self) -> int:
        return self.totals.unpriced_requests

    def as_of(self, now: datetime) -> SpendReport:
        """This report as made at ``now``: only its time and the month-end projection move
        (``ingest.answers`` answers a repeated question this way)."""
        from llmaudit.analysis.spend.projection import month_projection
        from llmaudit.units import resolve_timezone

        projection = month_projection(list(self.daily), self.last_seen, now, resolve_timezone(self.timezone))
        return replace(self, generated_at=now, projection=projection)

    def to_dict(self) -> dict[str, Any]:
        rec = self.reconciliation
        return {
            "report": "spend",
            "schema": "llmaudit-spend/1",
            "generated_at": self.generated_at.isoformat(),
            "inputs": list(self.inputs),
            "catalog_as_of": self.catalog_as_of.isoformat() if self.catalog_as_of else None,
            "timezone": self.timezone,
            "currency": self.currency,
            "fx_rate": float(self.fx_rate),
            "since": _iso(self.since),
            "until": _iso(self.until),
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "rows_read": self.rows_read,
            "rows_outside_window": self.rows_outside_window,
            "sources": [
                {"path": f.path, "reader": f.reader, "rows_read": f.rows_read, "rows_kept": f.rows_kept,
                 "rows_rejected": f.rows_rejected, "duplicates": f.duplicates, "skipped": f.skipped,
                 "not_read": f.not_read}
                for f in self.sources
            ],
            "totals": self.totals.to_dict(()),
            "breakdowns": {
                b.name: {"dimensions": list(b.dimensions), "note": b.note,
                         "rows": [r.to_dict(b.dimensions) for r in b.rows]}
                for b in self.breakdowns
            },
            "unpriced": [
                {"model": u.model, "provider": u.provider, "status": u.status, "requests": u.requests,
                 "input_tokens": u.input_tokens, "output_tokens": u.output_tokens, "billed": money(u.billed)}
                for u in self.unpriced
            ],
            "billed_vs_recomputed": {
                "tolerance": float(rec.tolerance),
                "compared_rows": rec.compared_rows,
                "billed": money(rec.billed),
                "recomputed": money(rec.recomputed),
                "differing_rows": rec.differing_rows,
                "differing_billed": money(rec.differing_billed),
                "differing_recomputed": money(rec.differing_recomputed),
                "differing_difference": money(rec.differing_difference),
                "billed_unpriced_rows": rec.billed_unpriced_rows,
                "billed_unpriced": money(rec.billed_unpriced),
                "by_model": [
                    {"model": m.model, "rows": m.rows, "billed": money(m.billed),
                     "recomputed": money(m.recomputed), "difference": money(m.difference)}
                    for m in rec.by_model
                ],
                "listed": [
                    {"timestamp": d.timestamp.isoformat(), "model": d.model, "request_id": d.request_id,
                     "source": d.source, "billed": money(d.billed), "recomputed": money(d.recomputed),
                     "difference": money(d.difference),
                     "relative": None if d.relative is None else round(d.relative, 6),
                     "gateway_price": d.gateway_price}
                    for d in rec.listed
                ],
            },
            "projection": None if self.projection is None else {
                "month": self.projection.month,
                "now": self.projection.now.isoformat(),
                "to_date": money(self.projection.to_date),
                "run_rate_per_day": money(self.projection.run_rate),
                "basis_days": self.projection.basis_days,
                "projected_month_end": money(self.projection.projected),
                "unpriced_requests": self.projection.unpriced_requests,
                "log_ends": None if self.projection.log_ends is None else self.projection.log_ends.isoformat(),
            },
            "whatif": None if self.whatif is None else self.whatif.to_dict(),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
