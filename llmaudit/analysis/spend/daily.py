"""Daily spend per dimension value, folded batch by batch from ``build_spend``: the series that
budgets, anomaly detection and the forecast read.

``DailyAccumulator`` is a ``build_spend`` observer: it sees each priced, windowed batch once (the
record table and the spend work table, whose ``day`` column is already the calendar day in the
report timezone) and keeps, per (dimension, value, day), the exact spend (``decimal128`` sums, as in
the spend audit), the requests and the unpriced requests. Memory is bounded by days × distinct
values, not rows. With ``top_requests`` > 0 it also keeps the most expensive rows of every
(dimension, value, day), so an anomalous day can name the requests that drove it.

Unknown is never zero: a day's ``cost`` sums priced rows only and ``unpriced_requests`` says how
many requests are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SERIES_DIMENSIONS", "TOTAL", "DailyAccumulator", "DailySpend", "DayTotal", "TopRequest"]

# Dimensions with a daily series; ``TOTAL`` is the whole report ("*").
SERIES_DIMENSIONS = ("model", "provider", "user", "tag", "key", "project")
TOTAL = ("*", "*")
_SUMS = [("cost", "sum"), ("requests", "sum"), ("unpriced_requests", "sum")]
_META = ("cost_usd", "timestamp", "model", "request_id", "source_file", "source_line")


@dataclass(frozen=True)
class DayTotal:
    """One day of one series, in the report currency."""

    cost: Decimal  # priced requests only
    requests: int
    unpriced_requests: int  # requests of the day that could not be priced (not in ``cost``)


@dataclass(frozen=True)
class TopRequest:
    """One of the most expensive rows of a (dimension, value, day)."""

    cost: Decimal  # report currency
    timestamp: datetime
    model: str
    request_id: str | None
    source: str | None  # file:line

    def to_dict(self) -> dict[str, Any]:
        return {"cost": float(self.cost.quantize(Decimal("1e-10"))), "timestamp": self.timestamp.isoformat(),
                "model": self.model, "request_id": self.request_id, "source": self.source}


@dataclass(frozen=True)
class DailySpend:
    """Every series, keyed ``(dimension, value)``; ``TOTAL`` is everything. ``first``/``last`` bound
    the days seen in any series (days with no row inside that range had no traffic)."""

    first: date | None
    last: date | None
    series: dict[tuple[str, str], dict[date, DayTotal]] = field(default_factory=dict)
    top: dict[tuple[str, str, date], tuple[TopRequest, ...]] = field(default_factory=dict)

    def values(self, dim: str) -> list[str]:
        return sorted(v for d, v in self.series if d == dim)

    def of(self, dim: str, value: str) -> dict[date, DayTotal]:
        return self.series.get((dim, value), {})


class DailyAccumulator:
    """Fold ``build_spend`` batches into daily series (see the module docstring)."""

    def __init__(self, dimensions: tuple[str, ...] = SERIES_DIMENSIONS, top_requests: int = 0) -> None:
        self.dimensions = tuple(d for d in SERIES_DIMENSIONS if d in dimensions)  # TOTAL is always kept
        self.sums: dict[tuple[str, str], dict[str, list[Any]]] = {}
        self.top_requests = top_requests
        self._top: dict[str, pa.Table] = {}  # per dimension: the costliest rows of each (value, day)

    def add(self, table: pa.Table, work: pa.Table) -> None:
        """One batch: ``table`` the priced usage records, ``work`` the spend audit's work table."""
        if work.num_rows == 0:
            return
        self._fold(work.group_by(["day"]).aggregate(_SUMS), None, TOTAL)
        for dim in self.dimensions:
            source = _explode_tags(work, table) if dim == "tag" else work
            self._fold(source.group_by([dim, "day"]).aggregate(_SUMS), dim, None)
            if self.top_requests:
                self._keep_top(table, source, dim)

    def _fold(self, grouped: pa.Table, dim: str | None, fixed: tuple[str, str] | None) -> None:
        for row in grouped.to_pylist():
            key = fixed if fixed is not None else (dim or "", row[dim or ""])
            days = self.sums.setdefault(key, {})
            acc = days.get(row["day"])
            if acc is None:
                acc = days[row["day"]] = [Decimal(0), 0, 0]
            acc[0] += row["cost_sum"] or Decimal(0)
            acc[1] += int(row["requests_sum"] or 0)
            acc[2] += int(row["unpriced_requests_sum"] or 0)

    def _keep_top(self, table: pa.Table, source: pa.Table, dim: str) -> None:
        """Keep the ``top_requests`` costliest priced rows of every (value, day) seen so far, as an
        Arrow table per dimension: this batch's rows and the kept ones are sorted once by (value,
        day, cost desc) and ranked within each group in numpy; no Python object per row."""
        rows = source.column("row") if "row" in source.column_names else pa.array(np.arange(source.num_rows))
        picked = table.select(list(_META)).take(rows)
        cost = picked.column("cost_usd")
        if cost.null_count == len(cost):
            return
        batch = picked.append_column("value", source.column(dim)).append_column("day", source.column("day"))
        batch = batch.filter(pc.is_valid(cost))
        kept = self._top.get(dim)
        both = batch if kept is None else pa.concat_tables([kept, batch.cast(kept.schema)])
        self._top[dim] = _top_per_group(both, self.top_requests)

    def result(self, fx: Decimal) -> DailySpend:
        """Exact sums scaled to the report currency (``fx`` units per USD)."""
        series: dict[tuple[str, str], dict[date, DayTotal]] = {}
        for key, days in self.sums.items():
            series[key] = {date.fromisoformat(d): DayTotal(v[0] * fx, v[1], v[2]) for d, v in days.items()}
        total = series.get(TOTAL, {})
        top: dict[tuple[str, str, date], tuple[TopRequest, ...]] = {}
        for dim, kept in self._top.items():
            for r in kept.to_pylist():  # grouped by (value, day), costliest first within each group
                path, line = r["source_file"], r["source_line"]
                where = (dim, r["value"], date.fromisoformat(r["day"]))
                top[where] = (*top.get(where, ()), TopRequest(
                    cost=Decimal(repr(round(r["cost_usd"], 12))) * fx, timestamp=r["timestamp"], model=r["model"] or "",
                    request_id=r["request_id"],
                    source=None if path is None else (f"{path}:{line}" if line is not None else path)))
        return DailySpend(first=min(total) if total else None, last=max(total) if total else None,
                          series=series, top=top)


def _explode_tags(work: pa.Table, table: pa.Table) -> pa.Table:
    """``work`` with a ``tag`` column, one row per tag of a request (``(untagged)`` when none) and a
    ``row`` column pointing back at the record row."""
    tags = table.column("tags").combine_chunks()
    empty = pc.fill_null(pc.equal(pc.list_value_length(tags), 0), True)
    fixed = pc.if_else(empty, pa.array([["(untagged)"]] * len(tags), pa.list_(pa.string())), tags)
    parents = pc.list_parent_indices(fixed)
    flat = pc.fill_null(pc.list_flatten(fixed), "(untagged)")
    out = work.select(["day", "cost", "requests", "unpriced_requests"]).combine_chunks().take(parents)
    return out.append_column("tag", flat).append_column("row", parents)


def _top_per_group(rows: pa.Table, k: int) -> pa.Table:
    """The ``k`` costliest rows of each (value, day), ordered by value, day and cost descending.
    Sorted in numpy on integer codes of the strings (several times faster than an Arrow sort on
    the strings themselves); the codes only need to group equal values, not to order them."""
    n = rows.num_rows
    if n <= 1:
        return rows
    codes = [pc.dictionary_encode(rows.column(c).combine_chunks()).indices.to_numpy(zero_copy_only=False)
             for c in ("value", "day")]
    cost = rows.column("cost_usd").to_numpy()
    order = np.lexsort((-cost, codes[1], codes[0]))
    value, day = codes[0][order], codes[1][order]
    start = np.ones(n, dtype=bool)
    start[1:] = (value[1:] != value[:-1]) | (day[1:] != day[:-1])
    rank = np.arange(n) - np.flatnonzero(start)[np.cumsum(start) - 1]
    return rows.take(pa.array(order[rank < k]))
