"""One validation for every read path: the rows a reader produced, checked as tables.

Readers check record by record (``rows.check_row``) where they go record by record, but the
vectorized paths (the OpenAI fast path, Claude Code transcripts, llmaudit's own Parquet) build
tables without it, and a row kept on one path must not be rejected on another (a file with or
without blank lines took different paths). So every table a reader yields is checked here against
the same invariants, vectorized; each row that breaks one is rejected with ``check_row``'s own
reason and its source line, and the rest of the table is kept.

The invariants (``check_row``): a model and a timestamp (not before 1970); counts neither negative
nor above ``rows.MAX_COUNT`` (so sums stay within int64); cache reads and writes within the input,
1-hour writes within the writes, reasoning within the output; a billed cost that is a finite,
non-negative amount.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.ingest.rows import COUNT_FIELDS, MAX_COUNT, RowError, check_row
from llmaudit.ingest.summary import ReadContext

__all__ = ["invalid_rows", "reject_invalid"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _zero(table: pa.Table, name: str) -> Any:
    return pc.fill_null(table.column(name), 0)


def invalid_rows(table: pa.Table) -> np.ndarray:
    """Positions of the rows of ``table`` (reader columns, ``USAGE_SCHEMA`` names) that break an
    invariant, ascending; empty when every row is valid."""
    if not table.num_rows:
        return np.zeros(0, dtype=np.int64)
    names = set(table.column_names)
    masks: list[Any] = []
    for name in COUNT_FIELDS:
        if name in names:
            col = table.column(name)
            masks += [pc.less(col, 0), pc.greater(col, MAX_COUNT)]
    z = {n: _zero(table, n) for n in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                      "cache_write_1h_tokens", "output_tokens", "reasoning_tokens")
         if n in names}
    if {"input_tokens", "cache_read_tokens", "cache_write_tokens"} <= z.keys():
        masks.append(pc.greater(pc.add(z["cache_read_tokens"], z["cache_write_tokens"]), z["input_tokens"]))
    if {"cache_write_1h_tokens", "cache_write_tokens"} <= z.keys():
        masks.append(pc.greater(z["cache_write_1h_tokens"], z["cache_write_tokens"]))
    if {"reasoning_tokens", "output_tokens"} <= z.keys():
        masks.append(pc.greater(z["reasoning_tokens"], z["output_tokens"]))
    if "billed_cost_usd" in names:
        billed = pc.cast(table.column("billed_cost_usd"), pa.float64())
        masks += [pc.less(billed, 0), pc.is_nan(billed), pc.is_inf(billed)]
    ts = table.column("timestamp") if "timestamp" in names else pa.nulls(table.num_rows, pa.timestamp("us"))
    masks.append(pc.is_null(ts))
    if ts.null_count < len(ts):
        masks.append(pc.less(ts, pa.scalar(_EPOCH, ts.type if ts.type.tz else pa.timestamp("us", tz="UTC"))))
    model = table.column("model_raw") if "model_raw" in names else pa.nulls(table.num_rows, pa.string())
    masks += [pc.is_null(model), pc.equal(model, "")]
    bad = masks[0]
    for mask in masks[1:]:
        bad = pc.or_(pc.fill_null(bad, False), pc.fill_null(mask, False))
    bad = pc.fill_null(bad, False)
    if not pc.any(bad).as_py():
        return np.zeros(0, dtype=np.int64)
    if isinstance(bad, pa.ChunkedArray):
        bad = bad.combine_chunks()
    return np.flatnonzero(bad.to_numpy(zero_copy_only=False))


def reason(row: dict[str, Any]) -> str:
    """Why ``row`` (one of ``invalid_rows``) is rejected, in ``check_row``'s words."""
    try:
        check_row(row)
    except RowError as exc:
        return str(exc)
    return "breaks the usage schema's invariants"


def reject_invalid(table: pa.Table, contexts: list[ReadContext], files: np.ndarray | None = None,
                   *, counted: bool = True, first_row: int | None = None) -> tuple[pa.Table, np.ndarray | None]:
    """``table`` without its invalid rows, each rejected to its file's context (``files[i]``: row
    i's index in ``contexts``; None: all in ``contexts[0]``) with its source line, or with its row
    number counted from ``first_row`` when given (a Parquet file's rows). ``counted``: the reader
    already counted these rows as read."""
    bad = invalid_rows(table)
    if not len(bad):
        return table, files
    rows = table.take(pa.array(bad)).to_pylist()
    placed = [(contexts[int(files[at])] if files is not None else contexts[0],
               row.get("source_line") if first_row is None else first_row + at, row)
              for at, row in zip(bad.tolist(), rows, strict=True)]
    lines = _raw_lines(placed) if first_row is None else {}
    for ctx, line, row in placed:
        raw = lines.get((id(ctx), line))
        if raw is None:   # not re-readable (stdin, a Parquet row): the row as read stands in for it
            raw = orjson.dumps({k: v for k, v in row.items() if v is not None}, default=str)
        ctx.reject(line, reason(row), raw, counted=counted)
    keep = np.ones(table.num_rows, dtype=bool)
    keep[bad] = False
    return table.filter(pa.array(keep)), (files[keep] if files is not None else None)


def _raw_lines(placed: list[tuple[ReadContext, Any, dict[str, Any]]]) -> dict[tuple[int, Any], bytes]:
    """The source lines of rejected rows, read back from their files (``ingest.rawlines``)."""
    by_ctx: dict[int, tuple[ReadContext, list[int]]] = {}
    for ctx, line, _ in placed:
        if isinstance(line, int):
            by_ctx.setdefault(id(ctx), (ctx, []))[1].append(line)
    found: dict[tuple[int, Any], bytes] = {}
    for key, (ctx, numbers) in by_ctx.items():
        for number, raw in ctx.lines.fetch(numbers).items():
            found[(key, number)] = raw
    return found
