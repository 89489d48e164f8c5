"""Arrow columns of the spend audit: exact money columns, labels, dates, tags and the group folds.

Each row's float cost is rounded to 1e-12 USD and summed as ``decimal128`` (see ``spend.builder``);
these helpers are the column arithmetic the builder and the explain and FOCUS accumulators share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    pass

from llmaudit.analysis.spend.report import NONE_LABEL, UNTAGGED_LABEL, Discrepancy, GroupRow

__all__ = ["compared_rows", "differing_rows", "money_column"]

_MONEY_TYPE = pa.decimal128(38, 12)
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


def _total(table: pa.Table) -> pa.Table:
    sums = {f"{c}_sum": [pc.sum(table.column(c)).as_py()] for c in (*_INT_COLUMNS, *_MONEY_COLUMNS)}
    return pa.table(sums)


def money_column(col: Any) -> Any:
    """Float USD costs as exact ``decimal128`` (rounded to 1e-12 first: see the module docstring)."""
    return pc.cast(pc.round(col, _MONEY_PLACES), _MONEY_TYPE)


def _dec(col: Any) -> Any:
    return pc.cast(pc.round(col, _MONEY_PLACES), _MONEY_TYPE)


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
