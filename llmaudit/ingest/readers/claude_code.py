"""Claude Code transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` (formats.md C7).

Only ``assistant`` lines carry ``message.usage`` (Anthropic semantics: cache reads and writes are
added into ``input_tokens``); every other line (user turns, summaries, snapshots) is counted as
skipped. Lines whose model is ``<synthetic>`` (API-error placeholders) are skipped, as ccusage does.

De-duplication follows ccusage: Claude Code writes one API message on several lines (one per
content block); lines sharing ``message.id`` + ``requestId`` are one request, and the line with the
largest token total is kept (the others count as duplicates). Across files (resumed sessions copy
history) the scan's request-id de-duplication keeps the first. ``costUSD``, written by older
Claude Code versions, is kept as the billed cost. ``project`` is the folder under ``projects/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from llmaudit.ingest.lines import CHUNK_BYTES, _is_json_document, iter_chunks, iter_json_lines, iter_json_values
from llmaudit.ingest.readers.anthropic import anthropic_usage
from llmaudit.ingest.rows import (
    SHAPE_ERRORS,
    RowError,
    check_row,
    finish_table,
    get_path,
    opt_float,
    opt_str,
    parse_timestamp,
    rows_to_table,
    shape_reason,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read", "sniff"]

SYNTHETIC = "<synthetic>"


def sniff(head: bytes, path: str) -> bool:
    return b'"sessionId"' in head and (
        b'"parentUuid"' in head or b'"isSidechain"' in head or b'"userType"' in head
    )


def _project(path: str) -> str | None:
    parts = PurePath(path).parts
    if "projects" in parts:
        i = len(parts) - 1 - parts[::-1].index("projects")
        if i + 2 < len(parts):   # projects/<project>/<file or session dir>
            return parts[i + 1]
    return parts[-2] if len(parts) >= 2 else None


def _normalize(obj: dict[str, Any], line: int, project: str | None) -> dict[str, Any]:
    message = obj.get("message")
    model = opt_str(get_path(message, "model"))
    if model is None:
        raise RowError("message.model is missing")
    row = anthropic_usage(get_path(message, "usage"), "message.usage")
    row["model_raw"] = model
    row["provider"] = "anthropic"
    row["timestamp"] = parse_timestamp(obj.get("timestamp"))
    row["request_id"] = opt_str(obj.get("requestId"))
    cost = obj.get("costUSD")
    if cost is not None:
        row["billed_cost_usd"] = opt_float(cost, "costUSD")
    row["project"] = project
    tags = []
    if obj.get("isSidechain") is True:
        tags.append("sidechain")
    if get_path(message, "usage", "speed") == "fast":
        tags.append("speed:fast")
    if tags:
        row["tags"] = tags
    row["status"] = "error" if obj.get("isApiErrorMessage") is True else "ok"
    row["requests"] = 1
    row["source_line"] = line
    return row


# ------------------------------------------------------------------------------ vectorized path
# A transcript corpus is hundreds of MB of mostly message text; pyarrow's C++ JSON parser reads
# only these fields (the rest is skipped) and both paths below end in the same rows.
_I = pa.int64()
_S = pa.string()
_USAGE = pa.struct([
    ("input_tokens", _I), ("output_tokens", _I), ("cache_creation_input_tokens", _I),
    ("cache_read_input_tokens", _I), ("speed", _S), ("service_tier", _S),
    ("cache_creation", pa.struct([("ephemeral_5m_input_tokens", _I), ("ephemeral_1h_input_tokens", _I)])),
    ("output_tokens_details", pa.struct([("thinking_tokens", _I)])),
    ("server_tool_use", pa.struct([("web_search_requests", _I)])),
])
_SCHEMA = pa.schema([
    ("timestamp", _S), ("requestId", _S), ("isSidechain", pa.bool_()), ("isApiErrorMessage", pa.bool_()),
    ("costUSD", pa.float64()), ("message", pa.struct([("id", _S), ("model", _S), ("usage", _USAGE)])),
])
_PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore")
_MSG_ID = "_message_id"


def _f(struct: Any, *names: str) -> Any:
    for name in names:
        struct = pc.struct_field(struct, name)
    return struct


def _tags(sidechain: np.ndarray, fast: np.ndarray) -> pa.Array:
    """``["sidechain", "speed:fast"]`` per row, null where neither applies (as the per-line path)."""
    counts = sidechain.astype(np.int64) + fast.astype(np.int64)
    labels = np.tile(np.array(["sidechain", "speed:fast"], dtype=object), len(counts))
    values = labels[np.stack([sidechain, fast], axis=1).ravel()]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, _S), mask=pa.array(counts == 0))


def _vector_rows(table: pa.Table, first_line: int, project: str | None,
                 ctx: ReadContext) -> tuple[pa.Table, np.ndarray]:
    """Rows of the usage lines of one parsed chunk, and the row indices to redo line by line."""
    message = table.column("message").combine_chunks()
    usage, model = _f(message, "usage"), _f(message, "model")
    has_usage = pc.is_valid(usage).to_numpy(zero_copy_only=False)
    synthetic = pc.fill_null(pc.equal(model, SYNTHETIC), False).to_numpy(zero_copy_only=False) & has_usage
    if (~has_usage).any():
        ctx.skip("not a usage line", int((~has_usage).sum()))
    if synthetic.any():
        ctx.skip("<synthetic> placeholder (API error)", int(synthetic.sum()))
    keep = has_usage & ~synthetic
    table, usage, model = table.filter(keep), usage.filter(keep), model.filter(keep)
    rows = np.flatnonzero(keep)

    def count(*path: str) -> Any:
        return pc.fill_null(_f(usage, *path), 0)

    raw_in, raw_out = _f(usage, "input_tokens"), _f(usage, "output_tokens")
    uncached, out, read = count("input_tokens"), count("output_tokens"), count("cache_read_input_tokens")
    w5, w1h = count("cache_creation", "ephemeral_5m_input_tokens"), count("cache_creation", "ephemeral_1h_input_tokens")
    write = pc.coalesce(_f(usage, "cache_creation_input_tokens"), pc.add(w5, w1h))
    thinking = count("output_tokens_details", "thinking_tokens")
    cost = table.column("costUSD")
    try:
        timestamp = pc.cast(table.column("timestamp"), pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        timestamp = pa.nulls(len(rows), pa.timestamp("us", tz="UTC"))  # the per-line path says why
    bad = pc.or_kleene(pc.is_null(model), pc.and_(pc.is_null(raw_in), pc.is_null(raw_out)))
    bad = pc.or_kleene(bad, pc.is_null(timestamp))
    for col in (uncached, out, read, write, w5, w1h, thinking):
        bad = pc.or_kleene(bad, pc.less(col, 0))
    bad = pc.or_kleene(bad, pc.greater(thinking, out))
    bad = pc.or_kleene(bad, pc.greater(w1h, write))
    bad = pc.or_kleene(bad, pc.less(pc.fill_null(cost, 0), 0))
    bad_np = pc.fill_null(bad, True).to_numpy(zero_copy_only=False)
    good = ~bad_np
    sidechain = pc.fill_null(pc.equal(table.column("isSidechain"), True), False).to_numpy(zero_copy_only=False)
    fast = pc.fill_null(pc.equal(_f(usage, "speed"), "fast"), False).to_numpy(zero_copy_only=False)
    errors = pc.fill_null(pc.equal(table.column("isApiErrorMessage"), True), False)
    m = len(rows)
    result = pa.table({
        "timestamp": timestamp,
        "provider": pa.array(["anthropic"] * m, _S),
        "model_raw": model,
        "input_tokens": pc.add(pc.add(uncached, read), write),
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "cache_write_1h_tokens": w1h,
        "output_tokens": out,
        "reasoning_tokens": thinking,
        "requests": pa.array(np.ones(m, dtype=np.int64)),
        "billed_cost_usd": cost,
        "batch": pc.equal(_f(usage, "service_tier"), "batch"),
        "web_search_requests": _f(usage, "server_tool_use", "web_search_requests"),
        "request_id": table.column("requestId"),
        "status": pc.if_else(errors, "error", "ok"),
        "project": pa.array([project] * m, _S),
        "tags": _tags(sidechain, fast),
        "source_line": pa.array(first_line + rows, _I),
        _MSG_ID: _f(message, "id").filter(keep),
    })
    return result.filter(pa.array(good)), rows[bad_np]


def _python_rows(lines: list[tuple[Any, int, bytes]], project: str | None, ctx: ReadContext) -> pa.Table | None:
    """The per-line path: the same rows as ``_vector_rows``, and a named reason for every reject."""
    rows: list[dict[str, Any]] = []
    for obj, line, raw in lines:
        if not isinstance(obj, dict):
            ctx.reject(line, f"expected a JSON object, got {type(obj).__name__}", raw)
            continue
        if get_path(obj, "message", "usage") is None:
            ctx.skip("not a usage line")
            continue
        if get_path(obj, "message", "model") == SYNTHETIC:
            ctx.skip("<synthetic> placeholder (API error)")
            continue
        try:
            row = _normalize(obj, line, project)
            check_row(row)
        except SHAPE_ERRORS as exc:
            ctx.reject(line, shape_reason(exc), raw)
            continue
        rows.append(row)
        row[_MSG_ID] = opt_str(get_path(obj, "message", "id"))
    if not rows:
        return None
    ids = pa.array([r.pop(_MSG_ID) for r in rows], _S)
    return rows_to_table(rows).append_column(_MSG_ID, ids)


def _dedup(table: pa.Table, ctx: ReadContext) -> pa.Table:
    """One row per (message.id, requestId): the line with the largest token total, the first on a
    tie (ccusage). Rows without both ids are all kept. Order: unkeyed rows, then keys by first sight."""
    msg, req = table.column(_MSG_ID), table.column("request_id")
    keyed = pc.and_(pc.is_valid(msg), pc.is_valid(req)).to_numpy(zero_copy_only=False)
    n = table.num_rows
    position = np.arange(n)
    if not keyed.any():
        return table.drop_columns([_MSG_ID])
    key = pc.binary_join_element_wise(pc.fill_null(msg, ""), pc.fill_null(req, ""), "\x00")
    codes = np.asarray(pc.dictionary_encode(key).combine_chunks().indices.to_numpy(zero_copy_only=False))
    total = (pc.add(table.column("input_tokens"), table.column("output_tokens"))).to_numpy(zero_copy_only=False)
    idx = position[keyed]
    order = np.lexsort((idx, -total[idx], codes[idx]))   # by key, then largest total, then first line
    sorted_codes = codes[idx][order]
    first_of_key = np.concatenate([[True], sorted_codes[1:] != sorted_codes[:-1]])
    winners = idx[order][first_of_key]
    first_seen = np.full(codes.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_seen, codes[idx], idx)
    winners = winners[np.argsort(first_seen[codes[winners]], kind="stable")]
    dropped = len(idx) - len(winners)
    if dropped:
        # Same API message written on several lines: one request (each extra line is a duplicate).
        ctx.file.rows_read += dropped
        ctx.file.duplicates += dropped
    take = np.concatenate([position[~keyed], winners])
    return table.take(pa.array(take)).drop_columns([_MSG_ID])


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    project = _project(source.path)
    if _is_json_document(source.head):
        parts = [t for t in [_python_rows(list(iter_json_values(source, ctx)), project, ctx)] if t is not None]
    else:
        parts = list(_read_lines(source, ctx, project))
    if not parts:
        return
    table = _dedup(pa.concat_tables(parts, promote_options="permissive"), ctx)
    if table.num_rows:
        ctx.file.rows_read += table.num_rows
        yield finish_table(table, source_format=ctx.reader, source_file=ctx.path)


def _read_lines(source: Source, ctx: ReadContext, project: str | None) -> Iterator[pa.Table]:
    stream = source.open()
    try:
        for view, first_line, newlines in iter_chunks(stream, CHUNK_BYTES, None if source.compressed else source.size):
            final = view[len(view) - 1] != 0x0A
            chunk = bytes(view)
            view.release()
            parsed = None
            # pyarrow skips blank lines, which would shift row → line numbers: a row count that
            # differs from the line count sends the chunk to the per-line path.
            if not final:
                try:
                    parsed = pj.read_json(pa.BufferReader(chunk), parse_options=_PARSE)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                    parsed = None
                if parsed is not None and parsed.num_rows != newlines:
                    parsed = None
            if parsed is None:
                table = _python_rows(list(iter_json_lines(chunk, first_line, ctx, final=final)), project, ctx)
                if table is not None:
                    yield table
                continue
            good, redo = _vector_rows(parsed, first_line, project, ctx)
            if len(redo):
                lines = chunk.split(b"\n")
                again = []
                for i in redo:
                    try:
                        again.append((orjson.loads(lines[i]), first_line + int(i), lines[i]))
                    except orjson.JSONDecodeError as exc:  # pyarrow accepted it; be safe anyway
                        ctx.reject(first_line + int(i), f"not valid JSON ({exc})", lines[i])
                extra = _python_rows(again, project, ctx)
                if extra is not None:
                    yield extra
            if good.num_rows:
                yield good
    finally:
        stream.close()
