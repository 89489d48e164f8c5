"""Vectorized pricing of a usage table: every row priced at the price in force on its timestamp.

No Python loop runs per row. Each distinct (provider, model name) pair is resolved once; each
(price point, batch, long-context tier) combination gets its effective rates computed once, in
``Decimal`` by the same ``effective_rates`` the exact path uses; rows then pick their combination
with numpy index arithmetic. Results agree with ``cost_breakdown`` to float precision (≈1e-15
relative), well inside the 1e-9 the tests demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.pricing.cost import COMPONENTS, MILLION, effective_rates
from llmaudit.pricing.model import ModelEntry, PricePoint

if TYPE_CHECKING:
    from llmaudit.pricing.catalog import Catalog

__all__ = ["RateGrid", "UsageArrays", "Workspace", "cost_at", "price_table", "rate_grid", "usage_arrays"]

_DAY_SPAN = 1 << 20  # days are < 2**20 (year 4840), so entry * span + day sorts by entry, then day
_LATEST_DAY = _DAY_SPAN - 1


def _column(table: pa.Table, name: str, dtype: pa.DataType) -> pa.ChunkedArray:
    """The column cast to ``dtype``; all-null when absent (pandas frames may hold null-typed columns)."""
    if name not in table.column_names:
        return pa.chunked_array([pa.nulls(table.num_rows, dtype)], type=dtype)
    col = table.column(name)
    if col.type == dtype:
        return col
    if pa.types.is_null(col.type):
        return pa.chunked_array([pa.nulls(table.num_rows, dtype)], type=dtype)
    return col.cast(dtype)


def _ints(table: pa.Table, name: str, default: int) -> np.ndarray:
    col = pc.fill_null(_column(table, name, pa.int64()), default)
    return np.asarray(col.to_numpy(), dtype=np.int64)


def _strings(table: pa.Table, name: str) -> pa.ChunkedArray:
    return _column(table, name, pa.string())


def _resolve_rows(table: pa.Table, catalog: Catalog) -> tuple[np.ndarray, list[ModelEntry]]:
    """Entry index per row (-1 = unknown model) and the entries used.

    Each distinct (provider, model name) pair present is resolved once: names and providers are
    dictionary-encoded apart (no per-row string built) and a pair is the integer name * providers +
    provider."""
    raw = pc.fill_null(pc.coalesce(_strings(table, "model_raw"), _strings(table, "model")), "")
    names = pc.dictionary_encode(raw).combine_chunks()
    provs = pc.dictionary_encode(pc.fill_null(_strings(table, "provider"), "")).combine_chunks()
    width = max(len(provs.dictionary), 1)
    pair = (np.asarray(names.indices.to_numpy(zero_copy_only=False), dtype=np.int64) * width
            + np.asarray(provs.indices.to_numpy(zero_copy_only=False), dtype=np.int64))
    name_list, prov_list = names.dictionary.to_pylist(), provs.dictionary.to_pylist()
    lookup = np.full(len(name_list) * width, -1, dtype=np.int64)
    entries: list[ModelEntry] = []
    positions: dict[str, int] = {}
    for code in np.flatnonzero(np.bincount(pair, minlength=len(lookup))):
        name, prov = name_list[code // width], prov_list[code % width]
        hit = catalog.resolve(name, prov or None) if name else None
        if hit is None and name and prov:
            hit = catalog.resolve(name)
        if hit is not None:
            if hit.entry.id not in positions:
                positions[hit.entry.id] = len(entries)
                entries.append(hit.entry)
            lookup[code] = positions[hit.entry.id]
    return lookup[pair] if len(pair) else pair, entries


def _days(table: pa.Table) -> np.ndarray:
    col = table.column("timestamp") if "timestamp" in table.column_names else None
    if col is None or pa.types.is_null(col.type):
        return np.full(table.num_rows, _LATEST_DAY, dtype=np.int64)
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        col = pc.cast(col, pa.timestamp(col.type.unit, "UTC"))
    if pa.types.is_timestamp(col.type) and col.null_count == 0:
        # Floor division of the stored UTC instants: several times faster than a cast to date32.
        per_day = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}[col.type.unit]
        return np.asarray(pc.cast(col, pa.int64()).to_numpy(), dtype=np.int64) // per_day
    days = pc.cast(pc.cast(col, pa.date32()), pa.int32())
    return np.asarray(pc.fill_null(days, _LATEST_DAY).to_numpy(), dtype=np.int64)


@dataclass(frozen=True)
class UsageArrays:
    """A table's billable quantities, one row per record, in ``COMPONENTS`` order."""

    quantities: np.ndarray  # (n, len(COMPONENTS)) float64
    input_tokens: np.ndarray  # int64: the long-context tier is chosen on ALL prompt tokens
    output_tokens: np.ndarray
    requests: np.ndarray
    batch: np.ndarray  # bool

    def take(self, rows: np.ndarray) -> UsageArrays:
        """The same quantities for a subset of rows (integer indices or a boolean mask)."""
        return UsageArrays(self.quantities[rows], self.input_tokens[rows], self.output_tokens[rows],
                           self.requests[rows], self.batch[rows])


def usage_arrays(table: pa.Table) -> UsageArrays:
    """Extract the quantities the cost engine multiplies by rates (schema token semantics)."""
    inp = _ints(table, "input_tokens", 0)
    cr = _ints(table, "cache_read_tokens", 0)
    cw = _ints(table, "cache_write_tokens", 0)
    cw1h = _ints(table, "cache_write_1h_tokens", 0)
    out = _ints(table, "output_tokens", 0)
    reasoning = _ints(table, "reasoning_tokens", 0)
    requests = _ints(table, "requests", 1)
    columns = (inp - cr - cw, cr, cw - cw1h, cw1h, out - reasoning, reasoning,
               requests, _ints(table, "web_search_requests", 0))
    # Filled column by column: np.stack(axis=1) then astype is a transposing copy, ten times slower.
    quantities = np.empty((len(inp), len(columns)))
    for c, values in enumerate(columns):
        quantities[:, c] = values
    batch = np.asarray(pc.fill_null(_column(table, "batch", pa.bool_()), False).to_numpy(zero_copy_only=False),
                       dtype=bool)
    return UsageArrays(quantities, inp, out, requests, batch)


@dataclass(frozen=True)
class RateGrid:
    """Per-unit rates (USD) of some price points over every (point, batch, long-context tier)
    combination, NaN where a rate is not published. Built once, in ``Decimal`` by the same
    ``effective_rates`` the exact path uses; pricing rows is then pure numpy."""

    rates: np.ndarray  # (points * 2 * width, len(COMPONENTS))
    thresholds: np.ndarray  # (points, tiers) long-context thresholds, int64 max where absent
    width: int  # tiers + 1
    points: int

    def _combo(self, pos: np.ndarray, usage: UsageArrays) -> np.ndarray:
        tiers = self.width - 1
        inp = usage.input_tokens
        tier_idx = (inp[:, None] > self.thresholds[pos]).sum(axis=1) if tiers else np.zeros(len(pos), np.int64)
        return (pos * 2 + usage.batch.astype(np.int64)) * self.width + tier_idx

    def costs(self, pos: np.ndarray, usage: UsageArrays) -> tuple[np.ndarray, np.ndarray]:
        """Cost per row at point ``pos[row]``, and whether a rate the row needs is missing.

        A row's cost is the sum of its ``len(COMPONENTS)`` (= 8) terms in numpy's pairwise order for
        a row of 8, ((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)): the floats ``sum(axis=1)`` of
        the (rows, 8) terms gives, computed a token type at a time without (rows, 8) temporaries. A
        token type no row carries is the term +0.0, as it was.
        """
        combo = self._combo(pos, usage)
        q = usage.quantities
        n = len(combo)
        missing = np.zeros(n, dtype=bool)
        terms: list[Any] = []
        for c in range(q.shape[1]):
            quantity = q[:, c]
            if not quantity.any():
                terms.append(0.0)
                continue
            rate = self.rates[:, c].take(combo)
            needed = quantity != 0
            absent = np.isnan(rate)
            if absent.any():
                missing |= needed & absent
                rate[absent] = 0.0
            terms.append(np.where(needed, quantity * rate, 0.0))
        assert len(terms) == 8, "the summation order below is numpy's for exactly 8 terms"
        t = terms
        cost = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))
        return np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy(), missing

    def special(self, usage: UsageArrays) -> np.ndarray:
        """Rows not priced at the plain rates of every point: batch rows, and prompts above some
        point's long-context threshold."""
        return usage.batch | (usage.input_tokens > self.thresholds.min(initial=np.iinfo(np.int64).max))

    def plain_rates(self) -> np.ndarray:
        """(points, components): each point's standard rates (no batch, no long-context tier), NaN = absent."""
        return self.rates[np.arange(self.points) * 2 * self.width]

    def select(self, points: np.ndarray) -> RateGrid:
        """The grid of some of its points (in the given order): the same rates, fewer columns to price."""
        points = np.asarray(points, dtype=np.int64)
        rows = ((points * 2)[:, None] * self.width + np.arange(2 * self.width)[None, :]).reshape(-1)
        return RateGrid(self.rates[rows], self.thresholds[points] if len(points) else self.thresholds[:1],
                        self.width, len(points))

    def cost_matrix(self, usage: UsageArrays, *, missing: float = np.nan,
                    work: Workspace | None = None) -> np.ndarray:
        """Every row on every point (a what-if): (points, rows), ``missing`` (NaN) where a needed rate
        is missing. With ``work`` the result lives in that workspace's buffer (valid until its next
        ``cost_matrix``): no large allocation, hence no fresh pages to fault in, per call.

        Each cost is summed token type by token type in ``COMPONENTS`` order, whatever the shape of
        the call: a row costs the same float on a point whether it is priced alone, in a batch or
        beside other points, so equal costs compare equal (a what-if's ties, its "stay unless
        cheaper") and pricing a subset of points or rows changes no figure. Plain rows (no batch,
        under every threshold) take each point's standard rates; the few batch or long-context rows
        take their own combination's rates, point by point.
        """
        n = len(usage.batch)
        q = usage.quantities
        # A token type no row carries adds +0.0 to every sum: skipping it changes nothing. (Column by
        # column: ``any`` over axis 0 of the (rows, components) array is several times slower.)
        used = [c for c in range(q.shape[1]) if q[:, c].any()]
        plain = self.plain_rates()[:, used]  # (points, used components)
        if work is None:
            work = Workspace()
        out, tmp = work.buffers(self.points, n)
        out.fill(0.0)
        for j, c in enumerate(used):
            rate = plain[:, j]
            if np.any(rate):  # all-zero rates (per-request fees, mostly) add +0.0 as well
                column = np.ascontiguousarray(q[:, c])
                np.multiply(np.nan_to_num(rate, nan=0.0)[:, None], column[None, :], out=tmp)
                np.add(out, tmp, out=out)
        for j, c in enumerate(used):
            absent = np.flatnonzero(np.isnan(plain[:, j]))
            if len(absent):
                out[absent] = np.where(q[:, c] != 0, missing, out[absent])
        special = self.special(usage)
        if special.any():
            rows = np.flatnonzero(special)
            sub = usage.take(rows)
            sub_q = sub.quantities[:, used]
            sub_needed = sub_q != 0
            for g in range(self.points):
                rates = self.rates[self._combo(np.full(len(rows), g, dtype=np.int64), sub)][:, used]
                cost = np.zeros(len(rows))
                for j in range(len(used)):
                    cost += sub_q[:, j] * np.nan_to_num(rates[:, j], nan=0.0)
                out[g, rows] = np.where((sub_needed & np.isnan(rates)).any(axis=1), missing, cost)
        return out


class Workspace:
    """Two reusable (points, rows) float buffers for ``RateGrid.cost_matrix``.

    A what-if prices ~100 (points, rows) matrices of a megabyte or more per million rows; allocated
    afresh, each one is new memory the kernel faults in page by page, which costs several times the
    arithmetic (bench P2). Reused, the pages stay mapped.
    """

    def __init__(self) -> None:
        self._flat = (np.empty(0), np.empty(0))

    def buffers(self, points: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
        size = points * rows
        if size > len(self._flat[0]):
            self._flat = (np.empty(size), np.empty(size))
        return self._flat[0][:size].reshape(points, rows), self._flat[1][:size].reshape(points, rows)


def rate_grid(points: list[PricePoint]) -> RateGrid:
    tiers = max((len(p.long_context) for p in points), default=0)
    thresholds = np.full((max(len(points), 1), max(tiers, 1)), np.iinfo(np.int64).max, dtype=np.int64)
    for g, point in enumerate(points):
        for k, tier in enumerate(point.long_context):
            thresholds[g, k] = tier.threshold_tokens
    width = tiers + 1
    table = np.full((max(len(points), 1) * 2 * width, len(COMPONENTS)), np.nan)
    for g, point in enumerate(points):
        for b in (0, 1):
            for t in range(len(point.long_context) + 1):
                prompt = 0 if t == 0 else point.long_context[t - 1].threshold_tokens + 1
                eff = effective_rates(point, batch=bool(b), prompt_tokens=prompt)
                row = (g * 2 + b) * width + t
                for c, component in enumerate(COMPONENTS):
                    rate = eff.rates[component]
                    if rate is None:
                        continue
                    per_unit = rate if component in ("per_request", "per_search") else rate / MILLION
                    table[row, c] = float(per_unit)
    return RateGrid(table, thresholds, width, len(points))


def cost_at(point: PricePoint, usage: UsageArrays) -> np.ndarray:
    """Every row priced at one price point (a what-if: "this traffic on that model");
    NaN where the row needs a rate the point does not have."""
    return rate_grid([point]).cost_matrix(usage)[0]


def price_table(table: Any, catalog: Catalog) -> Any:
    """Price every row; returns the same kind of table (Arrow or pandas) with the priced columns.

    Sets ``model``/``provider`` to the canonical id when resolved (``model_raw`` keeps the source's
    spelling), ``cost_usd`` (null when unknown, never 0) and ``price_status``.
    """
    is_pandas = not isinstance(table, pa.Table)
    if is_pandas:
        table = pa.Table.from_pandas(table, preserve_index=False)
    table = table.combine_chunks()  # many tiny chunks make every compute call slow
    n = table.num_rows
    entry_of, entries = _resolve_rows(table, catalog)
    days = _days(table)

    # Flatten every used entry's price points: one global index per point.
    flat_keys: list[int] = []
    offsets = np.zeros(max(len(entries), 1), dtype=np.int64)
    points: list[PricePoint] = []
    for j, entry in enumerate(entries):
        offsets[j] = len(points)
        for point in entry.prices:
            flat_keys.append(j * _DAY_SPAN + point.effective_from.toordinal() - 719163)
            points.append(point)
    known = entry_of >= 0
    safe_entry = np.where(known, entry_of, 0)
    if points:
        row_keys = safe_entry * _DAY_SPAN + np.clip(days, 0, _LATEST_DAY)
        pos = np.searchsorted(np.asarray(flat_keys, dtype=np.int64), row_keys, side="right") - 1
        pos = np.maximum(pos, offsets[safe_entry])  # before the oldest price → the oldest
    else:
        pos = np.zeros(n, dtype=np.int64)

    cost, missing = rate_grid(points).costs(pos, usage_arrays(table))

    # Strings are built through dictionary arrays: no per-row Python objects.
    status_code = np.where(~known, 0, np.where(missing, 1, 2)).astype(np.int32)
    statuses = pa.array(["unknown_model", "missing_rate", "priced"])
    status = pa.DictionaryArray.from_arrays(pa.array(status_code), statuses).cast(pa.string())
    valid = known & ~missing
    cost_arr = pa.array(cost, type=pa.float64(), mask=~valid)

    pick = pa.array(np.where(known, entry_of, 0).astype(np.int32))
    ids = pa.array([e.id for e in entries] or [""], type=pa.string())
    provs = pa.array([e.provider for e in entries] or [""], type=pa.string())
    known_arr = pa.array(known)
    old_model = _strings(table, "model").combine_chunks()
    old_provider = _strings(table, "provider").combine_chunks()
    raw = pc.coalesce(_strings(table, "model_raw"), _strings(table, "model"))
    new_model = pa.DictionaryArray.from_arrays(pick, ids).cast(pa.string())
    new_provider = pa.DictionaryArray.from_arrays(pick, provs).cast(pa.string())
    if not known.all():  # unknown models keep the source's spelling
        new_model = pc.if_else(known_arr, new_model, old_model)
        new_provider = pc.if_else(known_arr, new_provider, old_provider)
    replacements = {
        "model": new_model,
        "provider": new_provider,
        "model_raw": raw,
        "cost_usd": cost_arr,
        "price_status": status,
    }
    for name, values in replacements.items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, values)
        else:
            table = table.append_column(name, values)
    return table.to_pandas() if is_pandas else table
