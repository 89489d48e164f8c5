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

import heapq
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

    def __init__(self, top_requests: int = 0) -> None:
        self.sums: dict[tuple[str, str], dict[str, list[Any]]] = {}
        self.top_requests = top_requests
        self._top: dict[tuple[str, str, str], list[tuple[float, int, dict[str, Any]]]] = {}
        self._seq = 0

    def add(self, table: pa.Table, work: pa.Table) -> None:
        """One batch: ``table`` the priced usage records, ``work`` the spend audit's work table."""
        if work.num_rows == 0:
            return
        self._fold(work.group_by(["day"]).aggregate(_SUMS), None, TOTAL)
        tagged = _explode_tags(work, table)
        for dim in SERIES_DIMENSIONS:
            source = tagged if dim == "tag" else work
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
        """The ``top_requests`` costliest priced rows of every (value, day) of this batch, merged
        into bounded heaps: sort once by (value, day, cost desc), rank within each group in numpy."""
        rows = source.column("row").to_numpy() if "row" in source.column_names else np.arange(source.num_rows)
        cost = table.column("cost_usd").combine_chunks().take(pa.array(rows))
        priced = pc.is_valid(cost)
        if not pc.any(priced).as_py():
            return
        sub = pa.table({"value": source.column(dim), "day": source.column("day"), "cost": cost,
                        "row": pa.array(rows)}).filter(priced)
        sub = sub.sort_by([("value", "ascending"), ("day", "ascending"), ("cost", "descending")])
        value_col, day_col = sub.column("value").combine_chunks(), sub.column("day").combine_chunks()
        n = sub.num_rows
        start = np.ones(n, dtype=bool)
        if n > 1:
            changed = pc.or_(pc.not_equal(value_col[1:], value_col[:-1]), pc.not_equal(day_col[1:], day_col[:-1]))
            start[1:] = changed.to_numpy(zero_copy_only=False)
        group = np.cumsum(start) - 1
        rank = np.arange(n) - np.flatnonzero(start)[group]
        keep = np.flatnonzero(rank < self.top_requests)
        costs = sub.column("cost").to_numpy()
        picked = sub.column("row").to_numpy()[keep]
        meta = _row_meta(table, picked)
        values = value_col.take(pa.array(keep)).to_pylist()
        days = day_col.take(pa.array(keep)).to_pylist()
        for j, i in enumerate(keep):
            key = (dim, values[j], days[j])
            heap = self._top.setdefault(key, [])
            self._seq += 1
            entry = (float(costs[i]), -self._seq, meta[j])
            if len(heap) < self.top_requests:
                heapq.heappush(heap, entry)  # type: ignore[misc]
            elif entry[:2] > heap[0][:2]:
                heapq.heapreplace(heap, entry)  # type: ignore[misc]

    def result(self, fx: Decimal) -> DailySpend:
        """Exact sums scaled to the report currency (``fx`` units per USD)."""
        series: dict[tuple[str, str], dict[date, DayTotal]] = {}
        for key, days in self.sums.items():
            series[key] = {date.fromisoformat(d): DayTotal(v[0] * fx, v[1], v[2]) for d, v in days.items()}
        total = series.get(TOTAL, {})
        top = {
            (dim, value, date.fromisoformat(day)): tuple(
                TopRequest(cost=Decimal(repr(round(c, 12))) * fx, **m) for c, _, m in sorted(heap, reverse=True))
            for (dim, value, day), heap in self._top.items()
        }
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


def _row_meta(table: pa.Table, rows: np.ndarray) -> list[dict[str, Any]]:
    picked = table.select(["timestamp", "model", "request_id", "source_file", "source_line"]).take(pa.array(rows))
    out = []
    for r in picked.to_pylist():
        path, line = r["source_file"], r["source_line"]
        out.append({"timestamp": r["timestamp"], "model": r["model"] or "", "request_id": r["request_id"],
                    "source": None if path is None else (f"{path}:{line}" if line is not None else path)})
    return out
