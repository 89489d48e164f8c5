"""Vectorized pricing of a usage table: every row priced at the price in force on its timestamp.

No Python loop runs per row. Each distinct (provider, model name) pair is resolved once; each
(price point, rate set, long-context tier) combination gets its effective rates computed once, in
``Decimal`` by the same ``effective_rates`` the exact path uses; rows then pick their combination
with numpy index arithmetic. A rate set (``MODES``) is standard, batch or a service tier (flex,
priority, fast); distinct values of the string columns that choose it (service tier, speed, geo,
window label) are mapped once, in Python, by the exact path's own functions. Residency and off-peak
multipliers are per-row factors on the token rates. Results agree with ``cost_breakdown`` to float
precision (≈1e-15 relative), well inside the 1e-9 the tests demand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.pricing.cost import (
    COMPONENTS,
    MILLION,
    MODES,
    TOKEN_COMPONENTS,
    context_bounds,
    effective_rates,
    is_fast,
    mode_tiers,
    residency_multiplier,
    service_mode,
)
from llmaudit.pricing.model import ModelEntry, PricePoint
from llmaudit.pricing.names import MAKERS, model_vendor

if TYPE_CHECKING:
    from llmaudit.pricing.catalog import Catalog

__all__ = ["RateGrid", "UsageArrays", "Workspace", "cost_at", "price_table", "rate_grid", "usage_arrays"]

_DAY_SPAN = 1 << 20  # days are < 2**20 (year 4840), so entry * span + day sorts by entry, then day
_LATEST_DAY = _DAY_SPAN - 1
_MODES = len(MODES)
_BATCH = MODES.index("batch")
_FAST = MODES.index("fast")
_TOKENS = len(TOKEN_COMPONENTS)  # the first components: the ones multipliers scale
_NO_THRESHOLD = np.iinfo(np.int64).max
_MINUTES = 1440


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


def _resolve_rows(table: pa.Table, catalog: Catalog) -> tuple[np.ndarray, list[ModelEntry], pa.Array]:
    """Entry index per row (-1 = unknown model), the entries used, and each row's model vendor.

    Each distinct (provider, model name) pair present is resolved once: names and providers are
    dictionary-encoded apart (no per-row string built) and a pair is the integer name * providers +
    provider. The vendor rule (one place): ``names.model_vendor`` of the source's provider and raw
    name; failing that, the maker whose catalog entry the row resolved to; else null."""
    raw = pc.fill_null(pc.coalesce(_strings(table, "model_raw"), _strings(table, "model")), "")
    names = pc.dictionary_encode(raw).combine_chunks()
    provs = pc.dictionary_encode(pc.fill_null(_strings(table, "provider"), "")).combine_chunks()
    width = max(len(provs.dictionary), 1)
    pair = (np.asarray(names.indices.to_numpy(zero_copy_only=False), dtype=np.int64) * width
            + np.asarray(provs.indices.to_numpy(zero_copy_only=False), dtype=np.int64))
    name_list, prov_list = names.dictionary.to_pylist(), provs.dictionary.to_pylist()
    lookup = np.full(len(name_list) * width, -1, dtype=np.int64)
    vendor_code = np.full(len(name_list) * width, -1, dtype=np.int64)
    vendors: list[str] = []
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
        vendor = model_vendor(name, prov or None)
        if vendor is None and hit is not None and hit.entry.provider in MAKERS:
            vendor = hit.entry.provider
        if vendor is not None:
            if vendor not in vendors:
                vendors.append(vendor)
            vendor_code[code] = vendors.index(vendor)
    row_vendor = vendor_code[pair] if len(pair) else pair
    vendor_arr = pa.DictionaryArray.from_arrays(
        pa.array(np.maximum(row_vendor, 0).astype(np.int32), mask=row_vendor < 0),
        pa.array(vendors or [""], type=pa.string())).cast(pa.string())
    existing = _strings(table, "model_vendor") if "model_vendor" in table.column_names else None
    if existing is not None and existing.null_count < len(existing):
        vendor_arr = pc.coalesce(existing.combine_chunks(), vendor_arr)
    return lookup[pair] if len(pair) else pair, entries, vendor_arr


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
    """A table's billable quantities, one row per record, in ``COMPONENTS`` order, and what else
    picks a row's rates. The optional arrays are None when no row needs them (a table without those
    columns): the rows are then standard or batch, each row's prompt picks its long-context tier,
    and no multiplier applies."""

    quantities: np.ndarray  # (n, len(COMPONENTS)) float64
    input_tokens: np.ndarray  # int64: ALL prompt tokens
    output_tokens: np.ndarray
    requests: np.ndarray
    batch: np.ndarray  # bool
    # The prompt size that picks the long-context tier (``cost.tier_window``), and the largest prompt
    # one request of the row could have had (0 for a single request); None: input_tokens, 0.
    tier_tokens: np.ndarray | None = None
    tier_cap: np.ndarray | None = None
    mode: np.ndarray | None = None  # int64 index into MODES; None: standard or batch as ``batch`` says
    geo: np.ndarray | None = None  # int64 index into ``geos``, -1 = none
    geos: tuple[str, ...] = ()
    minute: np.ndarray | None = None  # int64 UTC minute of day of a single request, -1 = none

    def take(self, rows: np.ndarray) -> UsageArrays:
        """The same quantities for a subset of rows (integer indices or a boolean mask)."""
        def sub(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return UsageArrays(self.quantities[rows], self.input_tokens[rows], self.output_tokens[rows],
                           self.requests[rows], self.batch[rows], sub(self.tier_tokens), sub(self.tier_cap),
                           sub(self.mode), sub(self.geo), self.geos, sub(self.minute))

    def modes(self) -> np.ndarray:
        return self.mode if self.mode is not None else self.batch.astype(np.int64)

    def prompt(self) -> np.ndarray:
        """The prompt size that picks each row's long-context tier."""
        return self.tier_tokens if self.tier_tokens is not None else self.input_tokens


def _codes(col: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]] | None:
    """Dictionary codes (-1 = null) and the distinct values of a column; None when all null.

    Per-value work (the exact path's own functions) then runs once per distinct value, and rows
    pick the result by code; index -1 takes a lookup table's last entry, the null case."""
    if col.null_count == len(col):
        return None
    encoded = pc.dictionary_encode(col).combine_chunks()
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, encoded.dictionary.to_pylist()


def _modes(table: pa.Table, batch: np.ndarray) -> np.ndarray | None:
    """Each row's rate set, as ``cost.service_mode`` decides it; None when every row is standard or
    batch as the ``batch`` column says (no service tier or speed that changes it)."""
    tier = _codes(_strings(table, "service_tier"))
    speed = _codes(_strings(table, "speed"))
    if tier is None and speed is None:
        return None
    n = len(batch)
    named = np.zeros(n, dtype=np.int64)
    if tier is not None:
        lookup = np.array([MODES.index(service_mode(v)) for v in tier[1]] + [0], dtype=np.int64)
        named = lookup[tier[0]]
    fast = np.zeros(n, dtype=bool)
    if speed is not None:
        fast = np.array([is_fast(v) for v in speed[1]] + [False], dtype=bool)[speed[0]]
    mode = np.where(batch | (named == _BATCH), _BATCH, np.where(fast, _FAST, named))
    return mode if (mode > _BATCH).any() or (mode != batch).any() else None


def _tier_windows(table: pa.Table, inp: np.ndarray, single: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``cost.tier_window`` per row: (prompt that picks the tier, cap); None when every row is one request."""
    if single.all():
        return None
    lo = np.zeros(len(inp), dtype=np.int64)
    hi = np.full(len(inp), _NO_THRESHOLD, dtype=np.int64)
    labels = _codes(_strings(table, "context_tier"))
    if labels is not None:
        bounds = [context_bounds(v) or (0, None) for v in labels[1]]
        lo = np.array([b[0] for b in bounds] + [0], dtype=np.int64)[labels[0]]
        hi = np.array([_NO_THRESHOLD if b[1] is None else b[1] for b in bounds] + [_NO_THRESHOLD],
                      dtype=np.int64)[labels[0]]
    return np.where(single, inp, lo + 1), np.where(single, 0, np.minimum(hi, inp))


def _minutes(table: pa.Table, single: np.ndarray) -> np.ndarray | None:
    """The UTC minute of day of each single request (-1 for other rows); None when there is none.
    Stored timestamps are UTC instants whatever their zone (naive ones are UTC, as in the schema)."""
    col = table.column("timestamp") if "timestamp" in table.column_names else None
    if col is None or not pa.types.is_timestamp(col.type) or not single.any() or col.null_count == len(col):
        return None
    per_minute = {"s": 60, "ms": 60_000, "us": 60_000_000, "ns": 60_000_000_000}[col.type.unit]
    values = np.asarray(pc.fill_null(pc.cast(col, pa.int64()), 0).to_numpy(), dtype=np.int64)
    minute = (values // per_minute) % _MINUTES
    keep = single & np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool)
    return np.where(keep, minute, -1)


def usage_arrays(table: pa.Table) -> UsageArrays:
    """Extract the quantities the cost engine multiplies by rates (schema token semantics), and the
    columns that choose a row's rates: service_tier, speed, inference_geo, context_tier, requests
    and the timestamp (an absent column is all null)."""
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
    mode = _modes(table, batch)
    if mode is not None:
        batch = mode == _BATCH  # service_tier "batch" bills as batch too
    # One request is a row that says 1: a null count (an aggregated report) is not known to be one.
    single = np.asarray(pc.fill_null(pc.equal(_column(table, "requests", pa.int64()), 1), False)
                        .to_numpy(zero_copy_only=False), dtype=bool)
    windows = _tier_windows(table, inp, single)
    geo = _codes(_strings(table, "inference_geo"))
    return UsageArrays(quantities, inp, out, requests, batch,
                       tier_tokens=None if windows is None else windows[0],
                       tier_cap=None if windows is None else windows[1],
                       mode=mode,
                       geo=None if geo is None else geo[0],
                       geos=() if geo is None else tuple(str(v) for v in geo[1]),
                       minute=_minutes(table, single))


def list_price_usage(usage: UsageArrays, table: pa.Table) -> UsageArrays:
    """``usage`` (of ``table``'s rows) as ``usage_arrays`` reads them from a table without the
    columns that choose another rate set than standard or batch (service tier, speed), a residency
    uplift (inference_geo) or an off-peak price (timestamp): the what-if compares models at their
    list prices. Saves reading the same quantities twice per batch (10% of the spend report's
    pricing thread on P2, bench/README.md)."""
    batch = np.asarray(pc.fill_null(_column(table, "batch", pa.bool_()), False).to_numpy(zero_copy_only=False),
                       dtype=bool)
    return replace(usage, batch=batch, mode=None, geo=None, geos=(), minute=None)


@dataclass(frozen=True)
class RateGrid:
    """Per-unit rates (USD) of some price points over every (point, rate set, long-context tier)
    combination, NaN where a rate is not published. Built once, in ``Decimal`` by the same
    ``effective_rates`` the exact path uses; pricing rows is then pure numpy. Rate sets are
    ``MODES`` (standard, batch, flex, priority, fast); a service tier's rows are all NaN, and
    ``absent``, where the point has no rates for it."""

    rates: np.ndarray  # (points * MODES * width, len(COMPONENTS))
    thresholds: np.ndarray  # (points * MODES, tiers) long-context thresholds, int64 max where absent
    width: int  # tiers + 1
    points: int
    absent: np.ndarray  # (points * MODES,) bool: no rates for that service tier → the cost is unknown
    sources: tuple[PricePoint, ...] = ()  # the points, for their residency multipliers
    off_peak: np.ndarray | None = None  # (points, 1441) multiplier per UTC minute (the last: none); None: all 1

    def _sets(self, pos: np.ndarray, usage: UsageArrays) -> np.ndarray:
        """Row of ``thresholds`` / ``absent``: (point, rate set)."""
        return pos * _MODES + usage.modes()

    def _combo(self, pos: np.ndarray, usage: UsageArrays) -> np.ndarray:
        sets = self._sets(pos, usage)
        tiers = self.width - 1
        prompt = usage.prompt()
        tier_idx = (prompt[:, None] > self.thresholds[sets]).sum(axis=1) if tiers else np.zeros(len(pos), np.int64)
        return sets * self.width + tier_idx

    def _absent(self, pos: np.ndarray, usage: UsageArrays) -> np.ndarray | None:
        """Rows whose service tier has no rates on their point (None: no such row)."""
        if usage.mode is None or not self.absent.any():
            return None
        return self.absent[self._sets(pos, usage)]  # type: ignore[no-any-return]

    def _residency(self, usage: UsageArrays) -> np.ndarray | None:
        """(points, geos + 1) residency multipliers (the last column: no geo); None when all are 1."""
        if usage.geo is None or not any(p.residency for p in self.sources):
            return None
        table = np.ones((max(self.points, 1), len(usage.geos) + 1))
        for g, point in enumerate(self.sources):
            if point.residency:
                table[g, :-1] = [float(residency_multiplier(point, geo)) for geo in usage.geos]
        return table

    def _multipliers(self, pos: np.ndarray, usage: UsageArrays,
                     residency: np.ndarray | None) -> np.ndarray | None:
        """Each row's token-rate multiplier at point ``pos[row]`` (residency × off-peak); None when all are 1."""
        factor = None
        if residency is not None and usage.geo is not None:
            factor = residency[pos, usage.geo]
        if self.off_peak is not None and usage.minute is not None:
            off = self.off_peak[pos, usage.minute]
            factor = off if factor is None else factor * off
        return factor

    def costs(self, pos: np.ndarray, usage: UsageArrays) -> tuple[np.ndarray, np.ndarray]:
        """Cost per row at point ``pos[row]``, and whether a rate the row needs is missing.

        A row's cost is the sum of its ``len(COMPONENTS)`` (= 8) terms in numpy's pairwise order for
        a row of 8, ((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7)): the floats ``sum(axis=1)`` of
        the (rows, 8) terms gives, computed a token type at a time without (rows, 8) temporaries. A
        token type no row carries is the term +0.0, as it was. A multiplier scales the rate before
        the product (×1.0 changes no float).
        """
        combo = self._combo(pos, usage)
        factor = self._multipliers(pos, usage, self._residency(usage))
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
            if factor is not None and c < _TOKENS:
                rate *= factor
            needed = quantity != 0
            absent = np.isnan(rate)
            if absent.any():
                missing |= needed & absent
                rate[absent] = 0.0
            terms.append(np.where(needed, quantity * rate, 0.0))
        assert len(terms) == 8, "the summation order below is numpy's for exactly 8 terms"
        t = terms
        cost = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))
        unavailable = self._absent(pos, usage)
        if unavailable is not None:
            missing |= unavailable
        return np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy(), missing

    def undetermined(self, pos: np.ndarray, usage: UsageArrays) -> np.ndarray:
        """``cost.tier_undetermined`` per row at point ``pos[row]``: a row of several requests that
        one of them could have taken past a threshold the row is not billed at."""
        out = np.zeros(len(pos), dtype=bool)
        if usage.tier_cap is None or self.width == 1:
            return out
        prompt = usage.prompt()
        rows = np.flatnonzero(usage.tier_cap > prompt)
        if len(rows):
            thresholds = self.thresholds[self._sets(pos[rows], usage.take(rows))]
            out[rows] = ((thresholds >= prompt[rows, None]) & (thresholds < usage.tier_cap[rows, None])).any(axis=1)
        return out

    def _multiplied(self, usage: UsageArrays) -> np.ndarray | None:
        """Rows some point bills with a multiplier other than 1; None when there is none."""
        out = None
        residency = self._residency(usage)
        if residency is not None and usage.geo is not None:
            out = (residency != 1).any(axis=0)[usage.geo]
        if self.off_peak is not None and usage.minute is not None:
            off = (self.off_peak != 1).any(axis=0)[usage.minute]
            out = off if out is None else out | off
        return out

    def special(self, usage: UsageArrays) -> np.ndarray:
        """Rows not priced at the plain rates of every point: batch and service-tier rows, prompts
        above some point's long-context threshold, and rows some point bills with a multiplier."""
        out = usage.batch | (usage.prompt() > self.thresholds.min(initial=_NO_THRESHOLD))
        if usage.mode is not None:
            out |= usage.mode != 0
        multiplied = self._multiplied(usage)
        return out if multiplied is None else out | multiplied

    def plain_rates(self) -> np.ndarray:
        """(points, components): each point's standard rates (no batch, no long-context tier), NaN = absent."""
        return self.rates[np.arange(self.points) * _MODES * self.width]

    def select(self, points: np.ndarray) -> RateGrid:
        """The grid of some of its points (in the given order): the same rates, fewer columns to price."""
        points = np.asarray(points, dtype=np.int64)
        rows = ((points * _MODES)[:, None] * self.width + np.arange(_MODES * self.width)[None, :]).reshape(-1)
        sets = ((points * _MODES)[:, None] + np.arange(_MODES)[None, :]).reshape(-1)
        if not len(points):
            sets = np.arange(_MODES)
        return RateGrid(self.rates[rows], self.thresholds[sets], self.width, len(points), self.absent[sets],
                        tuple(self.sources[p] for p in points) if self.sources else (),
                        None if self.off_peak is None else self.off_peak[points])

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
            residency = self._residency(sub)
            token = np.asarray(used, dtype=np.int64) < _TOKENS
            # Several points at a time, each (point, row) pair its own line: a Python loop per point
            # cost 30 µs a point, 3 ms a call over 100 candidates however few the rows (the what-if
            # prices a handful of summed rows this way per batch). The same operations per pair,
            # in the same order: the same floats.
            step = max(1, _SPECIAL_PAIRS // len(rows))
            for lo in range(0, self.points, step):
                hi = min(lo + step, self.points)
                at = np.repeat(np.arange(lo, hi, dtype=np.int64), len(rows))
                pairs = sub.take(np.tile(np.arange(len(rows)), hi - lo))
                sub_q = pairs.quantities[:, used]
                rates = self.rates[self._combo(at, pairs)][:, used]
                factor = self._multipliers(at, pairs, residency)
                if factor is not None:
                    rates[:, token] *= factor[:, None]
                cost = np.zeros(len(at))
                for j in range(len(used)):
                    cost += sub_q[:, j] * np.nan_to_num(rates[:, j], nan=0.0)
                bad = ((sub_q != 0) & np.isnan(rates)).any(axis=1)
                unavailable = self._absent(at, pairs)
                if unavailable is not None:
                    bad |= unavailable
                out[lo:hi, rows] = np.where(bad, missing, cost).reshape(hi - lo, len(rows))
        return out


# (point, row) pairs priced at once on ``cost_matrix``'s path for rows off the plain rates: a few
# MB of temporaries per step.
_SPECIAL_PAIRS = 1 << 16


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


def _off_peak_table(points: list[PricePoint]) -> np.ndarray | None:
    """(points, 1441): each point's multiplier per UTC minute of day, as ``cost.off_peak_multiplier``
    (the first covering window wins); the last column, for rows without a minute, is 1."""
    if not any(p.off_peak for p in points):
        return None
    minute = np.arange(_MINUTES)
    table = np.ones((len(points), _MINUTES + 1))
    for g, point in enumerate(points):
        for window in reversed(point.off_peak):  # the first window is written last: it wins
            lo, hi = window.minutes()
            covers = (minute >= lo) & (minute < hi) if lo < hi else (minute >= lo) | (minute < hi)
            table[g, :_MINUTES][covers] = float(window.multiplier)
    return table


def rate_grid(points: list[PricePoint]) -> RateGrid:
    tier_sets = [[mode_tiers(point, mode) for mode in MODES] for point in points]
    tiers = max((len(t) for sets in tier_sets for t in sets if t is not None), default=0)
    width = tiers + 1
    size = max(len(points), 1) * _MODES
    thresholds = np.full((size, max(tiers, 1)), _NO_THRESHOLD, dtype=np.int64)
    absent = np.zeros(size, dtype=bool)
    table = np.full((size * width, len(COMPONENTS)), np.nan)
    for g, point in enumerate(points):
        for m, mode in enumerate(MODES):
            found = tier_sets[g][m]
            if found is None:  # no rates for this service tier: its rows stay NaN
                absent[g * _MODES + m] = True
                continue
            for k, tier in enumerate(found):
                thresholds[g * _MODES + m, k] = tier.threshold_tokens
            for t in range(len(found) + 1):
                prompt = 0 if t == 0 else found[t - 1].threshold_tokens + 1
                eff = effective_rates(point, service=mode, prompt_tokens=prompt)
                row = (g * _MODES + m) * width + t
                for c, component in enumerate(COMPONENTS):
                    rate = eff.rates[component]
                    if rate is None:
                        continue
                    per_unit = rate if component in ("per_request", "per_search") else rate / MILLION
                    table[row, c] = float(per_unit)
    return RateGrid(table, thresholds, width, len(points), absent, tuple(points), _off_peak_table(points))


def cost_at(point: PricePoint, usage: UsageArrays) -> np.ndarray:
    """Every row priced at one price point (a what-if: "this traffic on that model");
    NaN where the row needs a rate the point does not have."""
    return rate_grid([point]).cost_matrix(usage)[0]


_MAX_CHUNKS = 8


def price_table(table: Any, catalog: Catalog, usage: UsageArrays | None = None) -> Any:
    """Price every row; returns the same kind of table (Arrow or pandas) with the priced columns.
    ``usage``: ``usage_arrays(table)`` when the caller has it already (the what-if reads it too).

    Sets ``model``/``provider`` to the canonical id when resolved (``model_raw`` keeps the source's
    spelling; a row a billing gateway served, provider ``openrouter``, keeps that provider),
    ``cost_usd`` (null when unknown, never 0), ``price_status`` and ``tier_undetermined``
    (a row of several requests billed at base rates though one of them could have passed a
    long-context threshold: DESIGN §4.3's "tier not determinable").
    """
    is_pandas = not isinstance(table, pa.Table)
    if is_pandas:
        table = pa.Table.from_pandas(table, preserve_index=False)
    if table.num_columns and table.column(0).num_chunks > _MAX_CHUNKS:
        # Many tiny chunks make every compute call slow; a few large ones do not, and copying every
        # column of a 100k-row batch to join two chunks took a quarter of the pricing (bench P2).
        table = table.combine_chunks()
    n = table.num_rows
    entry_of, entries, vendor = _resolve_rows(table, catalog)
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

    grid = rate_grid(points)
    if usage is None:
        usage = usage_arrays(table)
    cost, missing = grid.costs(pos, usage)
    undetermined = grid.undetermined(pos, usage) & known

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
    # ``provider`` is who served and billed the request (DESIGN §4.3): the source's, when it says;
    # the priced entry's provider only fills a gap (the maker is ``model_vendor``).
    said = pc.if_else(pc.equal(pc.fill_null(old_provider, ""), ""), pa.scalar(None, pa.string()), old_provider)
    new_provider = pc.coalesce(said, new_provider)
    replacements = {
        "model": new_model,
        "provider": new_provider,
        "model_raw": raw,
        "model_vendor": vendor,
        "cost_usd": cost_arr,
        "price_status": status,
        "tier_undetermined": pa.array(undetermined, type=pa.bool_()),
    }
    for name, values in replacements.items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, values)
        else:
            table = table.append_column(name, values)
    return table.to_pandas() if is_pandas else table
