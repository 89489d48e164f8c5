"""Spend audit: aggregate priced usage records into a ``SpendReport``, batch by batch.

``build_spend`` is the one compute entry point for ``llmaudit report --spend``. It takes an
iterable of usage-record tables (``ingest.scan(...).batches()`` or parquet batches), prices any
batch that is not priced yet, and folds each batch into small accumulators keyed by the requested
breakdowns, so memory is bounded by the number of groups, not the number of rows.

Money is summed exactly: each row's float cost is rounded to 1e-12 USD (which recovers the exact
``tokens × rate`` product for any catalog rate with up to six decimals per million tokens) and then
summed as ``decimal128``. Unknown is never zero: rows without a recomputed cost are counted apart
(``unpriced_requests``, ``unpriced_tokens``) and listed by model; totals never fold them in as 0.
Priced rows of several requests whose long-context tier is not determinable (DESIGN §4.3: billed
at base rates, one of their requests could have passed a threshold) are counted the same way
(``tier_undetermined_rows``).

The result is a tree of frozen dataclasses; renderers read it and ``SpendReport.to_dict()`` is the
JSON (machine output comes from the result, not from the view).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from llmaudit.analysis.money import money
from llmaudit.errors import UsageError
from llmaudit.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:   # a report answered from the store (ingest.answers) is rendered without them
    np, pa, pc = lazy("numpy"), lazy("pyarrow"), lazy("pyarrow.compute")

if TYPE_CHECKING:
    from llmaudit.analysis.whatif import WhatIf, WhatIfAccumulator

__all__ = [
    "DIMENSIONS",
    "Breakdown",
    "Discrepancy",
    "GroupRow",
    "Projection",
    "Reconciliation",
    "SourceFile",
    "SpendOptions",
    "SpendReport",
    "UnpricedModel",
    "build_spend",
    "compared_rows",
    "differing_rows",
    "money_column",
    "parse_by",
    "parse_when",
    "resolve_timezone",
]

# Breakdown dimensions a user can ask for with ``--by``, and the record column each reads where its
# name differs (``key`` is the api-key alias, ``vendor`` who made the model).
DIMENSIONS = ("model", "provider", "vendor", "day", "week", "month", "tag", "user", "session", "project", "host",
              "key", "source")
# Shown without ``--by``: the first three always, the rest only when the source carries them.
DEFAULT_BY = ("model", "provider", "day")
OPTIONAL_BY = ("tag", "user", "project", "key")
NONE_LABEL = "(none)"
UNTAGGED_LABEL = "(untagged)"

_MONEY_PLACES = 12
_INT_COLUMNS = (
    "rows",
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "unpriced_requests",
    "unpriced_tokens",
    "billed_rows",
    "tier_undetermined_rows",
)
_MONEY_COLUMNS = ("cost", "billed")
_DIM_COLUMNS = {"key": "api_key", "source": "source_format", "vendor": "model_vendor"}
# Labelled only when a breakdown asks for them (a session id per conversation: many distinct values).
_ON_DEMAND = ("vendor", "session", "host")


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
    quality: Any = None  # analysis.measured.MeasuredQuality: route by a replay run's pass rates, not tiers


def resolve_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin or UTC)") from None


def parse_by(text: str | None) -> tuple[tuple[str, ...], ...]:
    """``"model,day,model+day"`` → ``(("model",), ("day",), ("model", "day"))``."""
    if not text:
        return ()
    out: list[tuple[str, ...]] = []
    for part in text.split(","):
        dims = tuple(d.strip().lower() for d in part.split("+") if d.strip())
        if not dims:
            continue
        for dim in dims:
            if dim not in DIMENSIONS:
                import difflib

                near = difflib.get_close_matches(dim, DIMENSIONS, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise UsageError(f"--by: unknown dimension {dim!r} ({hint}choose from {', '.join(DIMENSIONS)})")
        if dims not in out:
            out.append(dims)
    return tuple(out)


def parse_when(text: str, tz: str, flag: str) -> datetime:
    """A ``--since``/``--until`` value: a date (midnight in ``tz``) or an ISO datetime (``tz`` if naive)."""
    zone = resolve_timezone(tz)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), zone).astimezone(UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a date (YYYY-MM-DD) or ISO datetime") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


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
    warnings: tuple[str, ...] = field(default_factory=tuple)
    sources: tuple[SourceFile, ...] = ()  # raw-log accounting from the ingest summary, when there was one
    # The daily series the projection is made from (not rendered): ``as_of`` remakes it for another "now".
    daily: tuple[GroupRow, ...] = field(default=(), repr=False, compare=False)

    @property
    def unpriced_requests(self) -> int:
        return self.totals.unpriced_requests

    def as_of(self, now: datetime) -> SpendReport:
        """This report as made at ``now``: only its time and the month-end projection move
        (``ingest.answers`` answers a repeated question this way)."""
        return replace(self, generated_at=now,
                       projection=project(self.daily, self.last_seen, resolve_timezone(self.timezone), now))

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
            "warnings": list(self.warnings),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --------------------------------------------------------------------------------------- compute
class _Groups:
    """Running sums per group key: ints and exact Decimals."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, ...], list[Any]] = {}
        self.billed_seen: set[tuple[str, ...]] = set()

    def add(self, table: pa.Table, dims: tuple[str, ...]) -> None:
        if table.num_rows == 0:
            return
        grouped = table.group_by(list(dims)).aggregate(_AGGREGATES) if dims else _total(table)
        self.fold(grouped.to_pylist(), dims)

    def fold(self, rows: list[dict[str, Any]], dims: tuple[str, ...]) -> None:
        """Add group sums (``{dim: value, f"{column}_sum": sum}``, grouped by ``dims`` or finer)."""
        for row in rows:
            key = tuple(row[d] for d in dims)
            acc = self.data.get(key)
            if acc is None:
                acc = self.data[key] = [0] * len(_INT_COLUMNS) + [Decimal(0), Decimal(0)]
            for i, name in enumerate(_INT_COLUMNS):
                acc[i] += int(row[f"{name}_sum"] or 0)
            for j, name in enumerate(_MONEY_COLUMNS):
                acc[len(_INT_COLUMNS) + j] += row[f"{name}_sum"] or Decimal(0)

    def rows(self, fx: Decimal) -> list[GroupRow]:
        out = []
        for key, acc in self.data.items():
            values = dict(zip(_INT_COLUMNS, acc, strict=False))
            cost, billed = acc[len(_INT_COLUMNS)], acc[len(_INT_COLUMNS) + 1]
            priced = values["unpriced_requests"] < values["requests"] or values["requests"] == 0
            out.append(GroupRow(
                key=key,
                cost=cost * fx if priced else None,
                billed=billed * fx if values["billed_rows"] else None,
                **values,
            ))
        return out


_AGGREGATES = [(c, "sum") for c in (*_INT_COLUMNS, *_MONEY_COLUMNS)]
# A batch is grouped once by every breakdown's dimensions together, then each breakdown's sums are
# folded from those groups in Python, while there are few of them; past this many, each breakdown
# has its own group-by (folding costs a few microseconds per group and breakdown; a group-by ~2 ms).
_FOLD_GROUPS = 256


def _total(table: pa.Table) -> pa.Table:
    sums = {f"{c}_sum": [pc.sum(table.column(c)).as_py()] for c in (*_INT_COLUMNS, *_MONEY_COLUMNS)}
    return pa.table(sums)


def money_column(col: Any) -> Any:
    """Float USD costs as exact ``decimal128`` (rounded to 1e-12 first: see the module docstring)."""
    return pc.cast(pc.round(col, _MONEY_PLACES), pa.decimal128(38, 12))


def _dec(col: Any) -> Any:
    return pc.cast(pc.round(col, _MONEY_PLACES), pa.decimal128(38, 12))


def _zero(table: pa.Table, name: str) -> Any:
    return pc.fill_null(table.column(name), 0)


def _label(col: Any, placeholder: str = NONE_LABEL) -> Any:
    col = pc.cast(col, pa.string())
    if col.null_count == len(col):  # a dimension the source does not have (user, project, key...)
        return _repeat(placeholder, len(col))
    empty = pc.equal(col, "")
    if col.null_count == 0 and not pc.any(empty).as_py():
        return col
    return pc.fill_null(pc.if_else(empty, None, col), placeholder)


def _dates(local: Any) -> Any:
    """Calendar dates of naive (local wall-clock) timestamps: floor division of the microseconds,
    several times faster than pyarrow's cast to date32 (same dates, before 1970 too)."""
    if local.null_count:
        return pc.cast(local, pa.date32())
    micros = np.asarray(pc.cast(local.cast(pa.timestamp("us")) if local.type.tz is None else local,
                                pa.int64()).to_numpy())
    return pa.chunked_array([pa.array((micros // 86_400_000_000).astype(np.int32), type=pa.date32())])


def _repeat(text: str, n: int) -> pa.Array:
    """``n`` copies of ``text`` as a string array, built from its buffers (no per-row objects)."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    if offsets[-1] >= 2**31:
        return pa.array([text] * n, pa.string())
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                  pa.py_buffer(data * n)])


def _undetermined(table: pa.Table) -> Any:
    """1 per priced row whose long-context tier is not determinable, else 0. A table priced before
    (an ingest parquet) may not carry the flag: then none is counted. An unpriced row is already
    counted as unpriced."""
    if "tier_undetermined" not in table.column_names:
        return pa.array(np.zeros(table.num_rows, dtype=np.int64))
    flag = pc.and_(pc.fill_null(table.column("tier_undetermined"), False), pc.is_valid(table.column("cost_usd")))
    return pc.cast(flag, pa.int64())


def _needs_pricing(table: pa.Table) -> bool:
    status = table.column("price_status")
    if status.null_count:
        return True
    return bool(pc.any(pc.equal(status, "unpriced")).as_py())


class _Builder:
    def __init__(self, catalog: Any, options: SpendOptions, config: Any, observers: Sequence[Any] = ()) -> None:
        self.catalog = catalog
        self.observers = tuple(observers)
        self.options = options
        self.zone = resolve_timezone(options.timezone)
        self.rows_read = 0
        self.rows_outside = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.totals = _Groups()
        self.daily = _Groups()
        self.breakdowns = {dims: _Groups() for dims in self._wanted()}
        self.wants_week = any("week" in dims for dims in self.breakdowns)
        self.on_demand = [d for d in _ON_DEMAND if any(d in dims for dims in self.breakdowns)]
        self.unpriced: dict[tuple[str, str, str], list[Any]] = {}
        self.present: set[str] = set()
        self.rec_ints = [0, 0, 0]  # compared, differing, billed_unpriced
        self.rec_money = [Decimal(0)] * 5  # billed, recomputed, diff_billed, diff_recomputed, billed_unpriced
        self.rec_models: dict[str, list[Any]] = {}
        self.listed: list[tuple[Decimal, int, Discrepancy]] = []
        self._seq = 0
        self.simulated = False
        self.whatif: WhatIfAccumulator | None = None
        self._worker: Any = None
        self._pending: Any = None
        if options.whatif:
            from llmaudit.analysis.whatif import WhatIfAccumulator

            self.whatif = WhatIfAccumulator(catalog, config=config, byok=options.byok, quality=options.quality)

    def _wanted(self) -> list[tuple[str, ...]]:
        if self.options.by:
            return list(self.options.by)
        return [(d,) for d in (*DEFAULT_BY, *OPTIONAL_BY)]

    # one batch ------------------------------------------------------------------------------
    def submit(self, table: pa.Table) -> None:
        """``add`` on a worker thread, one batch at a time and in order (the same result as adding
        here): pricing, aggregation and the what-if of a batch run beside the reading of the next,
        whose main-thread part leaves a core partly idle. At most one batch waits: memory stays
        bounded."""
        from concurrent.futures import ThreadPoolExecutor

        self.wait()
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmaudit-spend")
        self._pending = self._worker.submit(self.add, table)

    def wait(self) -> None:
        """Until the submitted batch is added; raises here what failed there."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        self.wait()
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None

    def add(self, table: pa.Table) -> None:
        from llmaudit.schema import conform

        if table.num_rows == 0:
            return
        table = conform(table)
        self.rows_read += table.num_rows
        if _needs_pricing(table):
            from llmaudit.pricing import price_table

            table = price_table(table, self.catalog)
        table = self._window(table)
        if table.num_rows == 0:
            return
        if not self.simulated:
            # A replay run's results.parquet can be audited too; sim rows must say so everywhere.
            self.simulated = bool(pc.any(pc.fill_null(pc.equal(table.column("provider"), "sim"), False)).as_py())
        ts = table.column("timestamp")
        lo, hi = pc.min(ts).as_py(), pc.max(ts).as_py()
        self.first = lo if self.first is None or lo < self.first else self.first
        self.last = hi if self.last is None or hi > self.last else self.last
        work = self._work(table)
        self._group(work, table)
        self._note_present(work)
        self._unpriced(work)
        self._reconcile(table, work)
        if self.whatif is not None:
            self.whatif.add(table, work.column("day"))
        for observer in self.observers:  # e.g. analysis.daily.DailyAccumulator (budgets, anomalies, forecast)
            observer.add(table, work)

    def _group(self, work: pa.Table, table: pa.Table) -> None:
        """Fold the batch into the totals, the daily series and every breakdown."""
        targets = [(self.daily, ("day",))] + [(g, d) for d, g in self.breakdowns.items() if "tag" not in d]
        union = list(dict.fromkeys(dim for _, dims in targets for dim in dims))
        # Sums of integers and of decimal128 money are exact: any grouping gives the same totals.
        grouped = work.group_by(union).aggregate(_AGGREGATES)
        if grouped.num_rows <= _FOLD_GROUPS:
            rows = grouped.to_pylist()
            self.totals.fold(rows, ())
            for groups, dims in targets:
                groups.fold(rows, dims)
        else:
            self.totals.add(work, ())
            for groups, dims in targets:
                groups.add(work, dims)
        for dims, groups in self.breakdowns.items():
            if "tag" in dims:  # a request with two tags counts in both: its rows are repeated first
                groups.add(_explode_tags(work, table), dims)

    def _window(self, table: pa.Table) -> pa.Table:
        opts = self.options
        if opts.since is None and opts.until is None:
            return table
        ts = table.column("timestamp")
        mask = pa.chunked_array([pa.array([True] * table.num_rows)])
        if opts.since is not None:
            mask = pc.and_(mask, pc.greater_equal(ts, pa.scalar(opts.since, ts.type)))
        if opts.until is not None:
            mask = pc.and_(mask, pc.less(ts, pa.scalar(opts.until, ts.type)))
        kept = table.filter(mask)
        self.rows_outside += table.num_rows - kept.num_rows
        return kept

    def _work(self, table: pa.Table) -> pa.Table:
        zoned = table.column("timestamp").cast(pa.timestamp("us", tz=self.options.timezone))
        # In UTC the local wall time is the stored instant: no conversion pass.
        local = zoned if self.options.timezone == "UTC" else pc.local_timestamp(zoned)
        cost = table.column("cost_usd")
        unpriced = pc.is_null(cost)
        zeros = pa.array(np.zeros(table.num_rows, dtype=np.int64))
        requests = pc.fill_null(table.column("requests"), 1)
        tokens = pc.add(_zero(table, "input_tokens"), _zero(table, "output_tokens"))
        billed = table.column("billed_cost_usd")
        # Day labels through distinct dates (a batch spans few days): 10× faster than strftime per row.
        dates = pc.dictionary_encode(_dates(local)).combine_chunks()
        labels = pc.cast(dates.dictionary, pa.string())
        day = pc.take(labels, dates.indices)
        cols: dict[str, Any] = {
            "model": _label(table.column("model")),
            "provider": _label(table.column("provider")),
            "day": day,
            # strftime is the slow part of a batch: the week only when a breakdown asks for it.
            "week": pc.strftime(local, "%G-W%V") if self.wants_week else day,
            "month": pc.take(pc.utf8_slice_codeunits(labels, 0, 7), dates.indices),
            "user": _label(table.column("user")),
            "project": _label(table.column("project")),
            "key": _label(table.column("api_key")),
            "source": _label(table.column("source_format")),
            **{dim: _label(table.column(_DIM_COLUMNS.get(dim, dim))) for dim in self.on_demand},
            "price_status": _label(table.column("price_status"), "unpriced"),
            "rows": pa.array(np.ones(table.num_rows, dtype=np.int64)),
            "requests": requests,
            "input_tokens": _zero(table, "input_tokens"),
            "cache_read_tokens": _zero(table, "cache_read_tokens"),
            "cache_write_tokens": _zero(table, "cache_write_tokens"),
            "output_tokens": _zero(table, "output_tokens"),
            "reasoning_tokens": _zero(table, "reasoning_tokens"),
            "unpriced_requests": pc.if_else(unpriced, requests, 0) if cost.null_count else zeros,
            "unpriced_tokens": pc.if_else(unpriced, tokens, 0) if cost.null_count else zeros,
            "billed_rows": pc.cast(pc.is_valid(billed), pa.int64()) if billed.null_count < len(billed) else zeros,
            "tier_undetermined_rows": _undetermined(table),
            "cost": _dec(cost),
            "billed": _dec(billed),
        }
        return pa.table(cols)

    def _note_present(self, work: pa.Table) -> None:
        for dim in ("user", "project", "key"):
            if dim not in self.present and pc.any(pc.not_equal(work.column(dim), NONE_LABEL)).as_py():
                self.present.add(dim)

    def _unpriced(self, work: pa.Table) -> None:
        mask = pc.greater(work.column("unpriced_requests"), 0)
        if not pc.any(mask).as_py():
            return
        sub = work.filter(mask)
        grouped = sub.group_by(["model", "provider", "price_status"]).aggregate(
            [("requests", "sum"), ("input_tokens", "sum"), ("output_tokens", "sum"), ("billed", "sum"),
             ("billed_rows", "sum")]
        )
        for row in grouped.to_pylist():
            key = (row["model"], row["provider"], row["price_status"])
            acc = self.unpriced.setdefault(key, [0, 0, 0, Decimal(0), 0])
            acc[0] += row["requests_sum"]
            acc[1] += row["input_tokens_sum"]
            acc[2] += row["output_tokens_sum"]
            acc[3] += row["billed_sum"] or Decimal(0)
            acc[4] += row["billed_rows_sum"]

    def _reconcile(self, table: pa.Table, work: pa.Table) -> None:
        billed_f = table.column("billed_cost_usd")
        if billed_f.null_count == table.num_rows:
            return
        cost_f = table.column("cost_usd")
        both, billed_only = compared_rows(table, work)
        self.rec_ints[2] += pc.sum(pc.cast(billed_only, pa.int64())).as_py() or 0
        self.rec_money[4] += pc.sum(pc.filter(work.column("billed"), billed_only)).as_py() or Decimal(0)
        if not pc.any(both).as_py():
            return
        self.rec_ints[0] += pc.sum(pc.cast(both, pa.int64())).as_py() or 0
        self.rec_money[0] += pc.sum(pc.filter(work.column("billed"), both)).as_py() or Decimal(0)
        self.rec_money[1] += pc.sum(pc.filter(work.column("cost"), both)).as_py() or Decimal(0)
        diff_f = pc.subtract(billed_f, cost_f)
        differs = differing_rows(table, both, self.options.tolerance)
        if not pc.any(differs).as_py():
            return
        sub_work = work.filter(differs)
        sub = table.filter(differs)
        n = sub.num_rows
        self.rec_ints[1] += n
        self.rec_money[2] += pc.sum(sub_work.column("billed")).as_py() or Decimal(0)
        self.rec_money[3] += pc.sum(sub_work.column("cost")).as_py() or Decimal(0)
        per_model = sub_work.group_by(["model"]).aggregate([("billed", "sum"), ("cost", "sum"), ("rows", "sum")])
        for row in per_model.to_pylist():
            acc = self.rec_models.setdefault(row["model"], [0, Decimal(0), Decimal(0)])
            acc[0] += row["rows_sum"]
            acc[1] += row["billed_sum"]
            acc[2] += row["cost_sum"]
        # Keep only the largest differences of this batch: bounded memory however many rows differ.
        absdiff = pc.abs(pc.filter(diff_f, differs))
        top = pc.select_k_unstable(pa.table({"d": absdiff}), k=min(self.options.max_listed, n),
                                   sort_keys=[("d", "descending")])
        for i in top.to_pylist():
            self._list(sub, sub_work, i)

    def _list(self, sub: pa.Table, sub_work: pa.Table, i: int) -> None:
        billed = sub_work.column("billed")[i].as_py()
        cost = sub_work.column("cost")[i].as_py()
        diff = billed - cost
        path = sub.column("source_file")[i].as_py()
        line = sub.column("source_line")[i].as_py()
        source = None if path is None else (f"{path}:{line}" if line is not None else path)
        item = Discrepancy(
            timestamp=sub.column("timestamp")[i].as_py(),
            model=sub_work.column("model")[i].as_py(),
            request_id=sub.column("request_id")[i].as_py(),
            source=source,
            billed=billed,
            recomputed=cost,
            difference=diff,
            relative=float(diff / cost) if cost else None,
            gateway_price=sub.column("gateway_price")[i].as_py() if "gateway_price" in sub.column_names else None,
        )
        self._seq += 1
        entry = (abs(diff), -self._seq, item)
        if len(self.listed) < self.options.max_listed:
            heapq.heappush(self.listed, entry)  # type: ignore[misc]
        elif self.options.max_listed and entry[:2] > self.listed[0][:2]:
            heapq.heapreplace(self.listed, entry)  # type: ignore[misc]

    # result ---------------------------------------------------------------------------------
    def result(self, inputs: tuple[str, ...], tags_present: bool, warnings: list[str]) -> SpendReport:
        opts = self.options
        fx = opts.fx_rate
        now = opts.now or datetime.now(UTC)
        daily = tuple(self.daily.rows(fx))
        totals = self.totals.rows(fx)
        total = totals[0] if totals else _empty_row()
        priced_total = total.cost
        breakdowns: list[Breakdown] = []
        for dims, groups in self.breakdowns.items():
            if not opts.by and dims[0] in OPTIONAL_BY:
                present = tags_present if dims[0] == "tag" else dims[0] in self.present
                if not present:
                    continue
            rows = [replace(r, share=_share(r.cost, priced_total)) for r in groups.rows(fx)]
            rows.sort(key=_sort_key(dims))
            note = "a request with several tags counts under each of them" if "tag" in dims else None
            breakdowns.append(Breakdown(dims, tuple(rows), note))
        unpriced = [
            UnpricedModel(model=k[0], provider=k[1], status=k[2], requests=v[0], input_tokens=v[1],
                          output_tokens=v[2], billed=v[3] * fx if v[4] else None)
            for k, v in self.unpriced.items()
        ]
        unpriced.sort(key=lambda u: (-u.requests, u.model))
        rec = Reconciliation(
            tolerance=opts.tolerance,
            compared_rows=self.rec_ints[0],
            billed=self.rec_money[0] * fx,
            recomputed=self.rec_money[1] * fx,
            differing_rows=self.rec_ints[1],
            differing_billed=self.rec_money[2] * fx,
            differing_recomputed=self.rec_money[3] * fx,
            billed_unpriced_rows=self.rec_ints[2],
            billed_unpriced=self.rec_money[4] * fx,
            by_model=tuple(sorted(
                (ModelDiscrepancy(m, v[0], v[1] * fx, v[2] * fx, (v[1] - v[2]) * fx)
                 for m, v in self.rec_models.items()),
                key=lambda m: (-abs(m.difference), m.model),
            )),
            listed=tuple(_scale(e[2], fx) for e in sorted(self.listed, reverse=True)),
        )
        window = None
        if opts.since is not None and opts.until is not None:
            window = math.ceil((opts.until - opts.since).total_seconds() / 86400)
        whatif = (self.whatif.result(fx=fx, currency=opts.currency, span_days=window, volume=opts.volume)
                  if self.whatif is not None else None)
        if total.unpriced_requests:
            models = ", ".join(sorted({u.model for u in unpriced}))
            warnings.append(f"{total.unpriced_requests:,} requests could not be priced ({models}); "
                            "they are listed apart and not counted as $0")
        if self.rows_outside:
            warnings.append(f"{self.rows_outside:,} rows fell outside --since/--until and were left out")
        if self.simulated:
            warnings.insert(0, "SIMULATED: some rows come from the offline sim provider (sim/*), not real providers")
        return SpendReport(
            generated_at=now,
            inputs=inputs,
            catalog_as_of=getattr(self.catalog, "as_of", None),
            timezone=opts.timezone,
            currency=opts.currency,
            fx_rate=fx,
            since=opts.since,
            until=opts.until,
            first_seen=self.first,
            last_seen=self.last,
            rows_read=self.rows_read,
            rows_outside_window=self.rows_outside,
            totals=total,
            breakdowns=tuple(breakdowns),
            unpriced=tuple(unpriced),
            reconciliation=rec,
            projection=project(daily, self.last, self.zone, now),
            whatif=whatif,
            warnings=tuple(warnings),
            daily=daily,
        )


def project(daily_rows: Sequence[GroupRow], last: datetime | None, zone: ZoneInfo, now: datetime
            ) -> Projection | None:
    """The month-end projection as of ``now`` from the daily series (``last``: the log's last record)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local_now = now.astimezone(zone)
    today = local_now.date()
    month = today.strftime("%Y-%m")
    daily = {key[0]: row for key, row in ((r.key, r) for r in daily_rows)}
    log_ends: datetime | None = None
    if not any(day.startswith(month) and day <= today.isoformat() for day in daily):
        # "Now" is past the log (a log exported last month, read today): project the log's last
        # month as of its last record rather than showing nothing.
        if last is None or last >= now:
            return None
        log_ends = last
        local_now = last.astimezone(zone)
        today = local_now.date()
        month = today.strftime("%Y-%m")
    days = [d for d in daily if d.startswith(month) and d <= today.isoformat()]
    to_date = sum((daily[d].cost or Decimal(0) for d in days), Decimal(0))
    # Run rate: the mean of the last (up to) seven complete days, counting days with no traffic as
    # zero but not days before the log begins.
    first_day = min(daily)
    basis = [today - timedelta(days=i) for i in range(7, 0, -1)]
    basis = [d for d in basis if d.isoformat() >= first_day]
    run_rate: Decimal | None = None
    projected: Decimal | None = None
    if basis:
        seen = [daily[d.isoformat()].cost or Decimal(0) for d in basis if d.isoformat() in daily]
        run_rate = sum(seen, Decimal(0)) / len(basis)
        next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        month_end = datetime.combine(next_month, time(0), zone)
        remaining = Decimal(str((month_end - local_now).total_seconds())) / Decimal(86400)
        projected = to_date + run_rate * remaining
    return Projection(
        month=month,
        now=now,
        to_date=to_date,
        run_rate=run_rate,
        basis_days=len(basis),
        projected=projected,
        # The same days as ``to_date`` (not the whole month: with --now mid-month they differed).
        unpriced_requests=sum(daily[d].unpriced_requests for d in days),
        log_ends=log_ends,
    )


def compared_rows(table: pa.Table, work: pa.Table) -> tuple[Any, Any]:
    """Masks of the rows billed vs recomputed compares (``both``) and of the billed rows it cannot
    (``billed_only``). The explain section reads the same masks, so its causes add up to this."""
    has_billed = pc.is_valid(table.column("billed_cost_usd"))
    # Money-only rows (a cost report: no requests, no tokens) have nothing to reprice; comparing
    # them with a recomputed $0 would list every one as a mismatch. They count as billed-only.
    money_only = pc.and_(pc.equal(work.column("requests"), 0),
                         pc.equal(pc.add(work.column("input_tokens"), work.column("output_tokens")), 0))
    # BYOK rows (OpenRouter) bill only the platform fee; the provider billed the tokens directly.
    comparable = pc.and_(pc.and_(pc.is_valid(table.column("cost_usd")), pc.invert(money_only)),
                         pc.invert(_has_tag(table, "byok")))
    return pc.and_(has_billed, comparable), pc.and_(has_billed, pc.invert(comparable))


def differing_rows(table: pa.Table, both: Any, tolerance: Decimal) -> Any:
    """Of the compared rows, those whose billed cost differs from the recomputed one by more than
    ``tolerance`` (relative)."""
    cost_f = table.column("cost_usd")
    diff_f = pc.subtract(table.column("billed_cost_usd"), cost_f)
    limit = pc.multiply(cost_f, float(tolerance))
    # A tiny absolute floor keeps float noise on sub-micro-dollar rows from counting as a difference.
    differs = pc.and_(both, pc.greater(pc.abs(diff_f), pc.max_element_wise(limit, 1e-9)))
    return pc.fill_null(differs, False)


def _scale(d: Discrepancy, fx: Decimal) -> Discrepancy:
    return replace(d, billed=d.billed * fx, recomputed=d.recomputed * fx, difference=d.difference * fx)


def _share(cost: Decimal | None, total: Decimal | None) -> float | None:
    return float(cost / total) if total and cost is not None else None


def _sort_key(dims: tuple[str, ...]) -> Callable[[GroupRow], Any]:
    if all(d in ("day", "week", "month") for d in dims):
        return lambda r: r.key
    # Biggest spend first; unpriced traffic sorts by its volume right after the priced groups.
    return lambda r: (-(r.cost or 0), r.cost is None, -r.unpriced_tokens, r.key)


def _empty_row() -> GroupRow:
    return GroupRow(key=(), rows=0, requests=0, input_tokens=0, cache_read_tokens=0, cache_write_tokens=0,
                    output_tokens=0, reasoning_tokens=0, cost=Decimal(0), unpriced_requests=0, unpriced_tokens=0,
                    billed=None, billed_rows=0)


def _explode_tags(work: pa.Table, table: pa.Table) -> pa.Table:
    tags = table.column("tags").combine_chunks()
    empty = pc.fill_null(pc.equal(pc.list_value_length(tags), 0), True)
    placeholder = pa.array([[UNTAGGED_LABEL]] * len(tags), pa.list_(pa.string()))
    fixed = pc.if_else(empty, placeholder, tags)
    flat = pc.list_flatten(fixed)
    parents = pc.list_parent_indices(fixed)
    out = work.combine_chunks().take(parents)
    return out.append_column("tag", _label(flat, UNTAGGED_LABEL))


def _has_tag(table: pa.Table, tag: str) -> pa.Array:
    tags = table.column("tags").combine_chunks()
    found = pa.array([False] * len(tags))
    if tags.null_count == len(tags):
        return found
    flat = pc.list_flatten(tags)
    hits = pc.filter(pc.list_parent_indices(tags), pc.fill_null(pc.equal(flat, tag), False))
    if len(hits) == 0:
        return found
    return pc.is_in(pa.array(range(len(tags)), pa.int64()), value_set=pc.cast(hits, pa.int64()))


def _tags_present(table: pa.Table) -> bool:
    tags = table.column("tags")
    if tags.null_count == table.num_rows:
        return False
    return bool(pc.any(pc.greater(pc.fill_null(pc.list_value_length(tags), 0), 0)).as_py())


_COALESCE_ROWS = 65_536


def _coalesce(tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """Merge small batches (one per file for transcript folders) into ~64k-row ones: every batch
    pays fixed costs (pricing setup, group-bys, the what-if), so 500 batches of 100 rows cost
    ten times one batch of 50,000. Memory stays bounded by the batch size."""
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        if table.num_rows >= _COALESCE_ROWS and not pending:
            yield table
            continue
        if pending and not table.schema.equals(pending[0].schema):
            # Only same-schema tables are merged before they are conformed (another reader's
            # batch starts a new group), so the concatenation can never fail on a type clash.
            yield pa.concat_tables(pending)
            pending, rows = [], 0
        pending.append(table)
        rows += table.num_rows
        if rows >= _COALESCE_ROWS:
            yield pa.concat_tables(pending)
            pending, rows = [], 0
    if pending:
        yield pa.concat_tables(pending)


def build_spend(
    tables: Iterable[pa.Table],
    catalog: Any,
    options: SpendOptions | None = None,
    *,
    config: Any = None,
    inputs: Iterable[str] = (),
    ingest_summary: Any = None,
    observers: Sequence[Any] = (),
) -> SpendReport:
    """Aggregate usage-record tables (any number of batches) into a ``SpendReport``.

    ``catalog`` is a ``llmaudit.pricing.Catalog``: batches whose rows are not priced yet are priced
    with it; already priced rows (an ``ingest`` parquet) keep their figures. ``ingest_summary``
    (``Records.summary``) puts the per-file read accounting into the report. Each of ``observers``
    has ``add(table, work)`` called with every priced, windowed batch and its work table (columns
    ``day`` in the report timezone, ``model``, ``provider``, ``user``, ``project``, ``key``, exact
    ``cost`` in USD, ``requests``, ``unpriced_requests``), in order.
    """
    from llmaudit.schema import conform

    options = options or SpendOptions()
    builder = _Builder(catalog, options, config, observers)
    tags_present = False
    # Coalesce first, conform after: conform costs about 1 ms a call, and a transcript folder
    # gives one small batch per file (bench P1: 469 calls, 0.45 s).
    try:
        for table in _coalesce(t for t in tables if t.num_rows):
            table = conform(table)
            builder.submit(table)
            tags_present = tags_present or _tags_present(table)
    finally:
        builder.close()
    report = builder.result(tuple(inputs), tags_present, [])
    if ingest_summary is None:
        return report
    # The summary is complete once every batch has been consumed, i.e. now.
    sources = tuple(
        SourceFile(f.path, f.reader, f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates,
                   sum(getattr(f, "skipped", {}).values()), getattr(f, "not_read", None))
        for f in ingest_summary.files
    )
    warnings = list(report.warnings)
    not_read = [f for f in sources if f.not_read]
    if not_read:
        more = f" and {len(not_read) - 3:,} more" if len(not_read) > 3 else ""
        names = ", ".join(f.path for f in not_read[:3]) + more
        warnings.append(f"{len(not_read):,} file{'s' if len(not_read) != 1 else ''} not read ({not_read[0].not_read}): "
                        f"{names}; name the format (--log-format) if one of them is a log")
    rejected = sum(f.rows_rejected for f in sources)
    if rejected:
        warnings.append(f"{rejected:,} log rows were rejected and are not in these figures "
                        "(`llmaudit ingest ... --rejects FILE.jsonl` lists them with file, line and reason)")
    archived = [f for f in ingest_summary.files if getattr(f, "archived", False)]
    if archived:
        warnings.append(f"{len(archived):,} file{'s' if len(archived) != 1 else ''} no longer on disk "
                        "counted from the store (--history)")
    if any(f.reader == "claude-code" for f in sources) and report.first_seen is not None:
        # Claude Code deletes transcripts older than cleanupPeriodDays (30 by default): say how far
        # back these logs reach, so a month that looks cheap is not mistaken for a complete one.
        warnings.append(f"Claude Code logs here reach back to {report.first_seen.date().isoformat()}; Claude Code "
                        "deletes transcripts after 30 days unless cleanupPeriodDays is raised in its settings, "
                        "so older usage is not in these figures")
    dups = sum(f.duplicates for f in sources)
    if dups:
        warnings.append(f"{dups:,} duplicate request ids were counted once")
    return replace(report, sources=sources, warnings=tuple(warnings))
