"""Vectorized reading of OpenAI request logs (the high-volume format), with an exact fallback.

Each 32 MiB chunk of lines is parsed by ``pyarrow.json`` with an explicit schema that names only
the fields the reader needs (everything else, such as message content, is skipped by the C++
parser), then normalized with ``pyarrow.compute``. The schema and the column rules both come from
the one declaration in ``ingest.layouts.openai``, which ``readers.openai.normalize`` reads too.
Rows that fail a vectorized check (no model, no usage, negative or inconsistent counts, no
timestamp), and whole chunks that pyarrow refuses (a
truncated line, a string where a number belongs, blank lines that would shift line numbers), go
through the per-line Python path, which produces exactly the same rows and names the line and the
reason for every reject.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from llmaudit.errors import redact
from llmaudit.ingest.envelope import TIME_KEYS
from llmaudit.ingest.layouts.openai import CHAT, OPENAI_RESPONSE
from llmaudit.ingest.lines import (
    CHUNK_BYTES,
    Normalize,
    RowBatcher,
    _apply,
    _is_json_document,
    count_newlines,
    iter_blocks,
    iter_json_lines,
    read_json_records,
)
from llmaudit.ingest.rows import OPENROUTER_GENERATION_ID, ROW_SCHEMA, finish_table, guess_provider, violations
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read_openai"]

_I = pa.int64()
_S = pa.string()
# A plan for a file of Chat Completions reads their usage names only. Most high-volume logs are
# Chat Completions, and every schema field costs the C++ parser time even when absent (a 1M-row
# log parses in ~20% less CPU without the Responses names). A row of the other spelling then reads
# as one without prompt_tokens and goes to the per-line path (or the plan widens: _finish_chunk).
_CHAT_ONLY = frozenset({CHAT})


def _response_type(chat: bool) -> pa.StructType:
    return OPENAI_RESPONSE.arrow_type(_CHAT_ONLY if chat else None)


_BLOCK_BYTES = 4 << 20   # pyarrow parses blocks in parallel: several per chunk keep both cores busy
_ERROR_STATUSES = ["error", "failed", "failure", "cancelled"]


def _schema(wrapper_time: tuple[str, pa.DataType] | None, chat: bool) -> pa.Schema:
    if wrapper_time is None:
        return pa.schema(list(_response_type(chat)))
    key, dtype = wrapper_time
    wrapper = [
        (key, dtype), ("tags", pa.list_(_S)), ("latency_ms", pa.float64()), ("ttft_ms", pa.float64()),
        ("request_id", _S), ("status", _S), ("user", _S), ("project", _S), ("api_key", _S), ("provider", _S),
        ("batch", pa.bool_()), ("response", _response_type(chat)),
    ]
    return pa.schema(wrapper)


def _is_chat(resp: dict[str, Any]) -> bool:
    usage = resp.get("usage")
    return isinstance(usage, dict) and usage.get("prompt_tokens") is not None


_Plan = tuple[tuple[str, pa.DataType] | None, bool]   # (wrapper's time key and type, Chat Completions?)


def _plan(head: bytes) -> _Plan | None:
    """How to read this file, from its first line; None → per-line path only."""
    first = head.lstrip().split(b"\n", 1)[0]
    try:
        rec = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(rec, dict):
        return None
    if isinstance(rec.get("response"), dict):
        chat = _is_chat(rec["response"])
        for key in TIME_KEYS:
            value = rec.get(key)
            if isinstance(value, str):
                return (key, _S), chat
            if isinstance(value, int | float) and not isinstance(value, bool):
                return (key, pa.float64()), chat
        return ("timestamp", _S), chat
    if any(isinstance(rec.get(k), dict) for k in ("body", "result", "completion")):
        return None
    return None, _is_chat(rec)


def _by_dictionary(values: pa.Array, fn: Any) -> pa.Array:
    """Apply a Python function once per distinct value (models, keys: few distinct, many rows)."""
    encoded = values.dictionary_encode()
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], _S)
    return pc.take(mapped, encoded.indices)


def _to_timestamp(arr: Any) -> Any:
    ts_type = ROW_SCHEMA.field("timestamp").type
    if pa.types.is_string(arr.type):
        try:
            return pc.cast(arr, ts_type)
        except pa.ArrowInvalid:
            # No zone offset: naive times are UTC (as in rows.parse_timestamp).
            return pc.cast(pc.cast(arr, pa.timestamp("us")), ts_type)
    seconds = pc.cast(arr, pa.float64())
    # Unix seconds, or milliseconds when too large to be seconds (same rule as parse_timestamp).
    seconds = pc.if_else(pc.greater_equal(seconds, 1e11), pc.divide(seconds, 1000.0), seconds)
    micros = pc.cast(pc.round(pc.multiply(seconds, 1e6)), _I)
    return pc.cast(micros, ts_type)


def _normalize_chunk(table: pa.Table, first_line: int, wrapped: bool) -> tuple[pa.Table, np.ndarray]:
    """Vectorized ``readers.openai.normalize``: (good rows, boolean mask of rows to redo per line)."""
    n = table.num_rows
    cols = {name: table.column(name).combine_chunks() for name in table.column_names}
    resp = cols["response"] if wrapped else pa.StructArray.from_arrays(list(cols.values()), list(cols))
    out, bad = OPENAI_RESPONSE.arrow(resp)
    ts_key = next((k for k in table.column_names if k in TIME_KEYS), None) if wrapped else None
    # A negative unix time is refused line by line, in the words that name the field and the value
    # as written ("timestamp (created) is -100, expected a date-time"); converted here, it would be
    # rejected later as a date before 1970, and the same line would read two ways.
    for raw in (out["timestamp"], cols[ts_key] if ts_key is not None else None):
        if raw is not None and (pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type)):
            bad = pc.or_(pc.fill_null(bad, True), pc.fill_null(pc.less(raw, 0), False))
    created = _to_timestamp(out["timestamp"])
    out["timestamp"] = pc.coalesce(_to_timestamp(cols[ts_key]), created) if ts_key is not None else created
    out["source_line"] = pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    # The response's own id, before a wrapper's request id replaces it (rows.response_provider).
    via_openrouter = pc.fill_null(pc.match_substring_regex(out["request_id"], OPENROUTER_GENERATION_ID), False)
    if wrapped:
        out["request_id"] = pc.coalesce(cols["request_id"], out["request_id"])
        out["user"] = pc.coalesce(cols["user"], out["user"])
        # A wrapper's status wins when present, matched without case (envelope.split_envelope).
        wrapper = cols["status"]
        wrapper_error = pc.is_in(pc.utf8_lower(wrapper), value_set=pa.array(_ERROR_STATUSES))
        out["status"] = pc.if_else(pc.is_valid(wrapper), pc.if_else(wrapper_error, "error", "ok"), out["status"])
        for name in ("latency_ms", "ttft_ms", "project", "tags", "batch"):
            out[name] = cols[name]
        keys = cols["api_key"]
        if keys.null_count < n:
            out["api_key"] = _by_dictionary(keys, lambda v: None if v is None else redact(v))
    model = out["model_raw"]
    bad = pc.or_(pc.fill_null(bad, True), violations(out, n))
    bad_np = bad.to_numpy(zero_copy_only=False)
    provider = pc.if_else(via_openrouter, "openrouter", _by_dictionary(model, lambda m: guess_provider(m, "openai")))
    if wrapped:
        provider = pc.coalesce(cols["provider"], provider)
    out["provider"] = provider
    result = pa.table(out)
    if bad_np.any():
        result = result.filter(pa.array(~bad_np))
    return result, bad_np


def _python_lines(chunk: bytes, first_line: int, ctx: ReadContext, normalize: Normalize,
                  batcher: RowBatcher, *, final: bool) -> None:
    for value, line, raw in iter_json_lines(chunk, first_line, ctx, final=final):
        _apply_one(value, line, raw, ctx, normalize, batcher)


def _apply_one(value: Any, line: int, raw: bytes, ctx: ReadContext, normalize: Normalize,
               batcher: RowBatcher) -> None:
    if not isinstance(value, dict):
        ctx.reject(line, f"expected a JSON object, got {type(value).__name__}", raw)
        return
    _apply(normalize, value, line, raw, ctx, batcher)


def _redo_rows(chunk: bytes, first_line: int, rows: np.ndarray, ctx: ReadContext, normalize: Normalize,
               batcher: RowBatcher) -> None:
    """Per-line path for the rows the vectorized checks flagged (row i is line first_line + i)."""
    lines = chunk.split(b"\n")
    for i in rows:
        raw = lines[int(i)]
        line = first_line + int(i)
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:   # pyarrow accepted it; be safe anyway
            ctx.reject(line, f"not valid JSON ({exc})", raw)
            continue
        _apply_one(value, line, raw, ctx, normalize, batcher)


def _parse(view: memoryview, schema: pa.Schema, final: bool) -> tuple[pa.Table | None, int]:
    """One chunk through pyarrow (None when it must take the per-line path), and its newline count.

    Runs on the worker thread: both the parse and the count release the GIL."""
    newlines = count_newlines(view)
    if final:   # an unterminated last line: the per-line path says what is wrong with it
        return None, newlines
    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(view)),
            read_options=pj.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None, newlines
    if not _valid_utf8(table):
        return None, newlines   # the per-line path rejects the line that holds the bad bytes
    # pyarrow skips blank lines, which would shift row → line numbers: a row count that
    # differs from the line count sends the chunk to the per-line path.
    return (table if table.num_rows == newlines else None), newlines


def _valid_utf8(table: pa.Table) -> bool:
    """pyarrow's JSON parser lets invalid UTF-8 inside a string through; a full validation finds
    it (the strings of an explicit schema are few: ids, model names, statuses)."""
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _mostly_other_shape(table: pa.Table, wrapped: bool) -> bool:
    """More than 1% of rows without prompt_tokens under a Chat Completions plan."""
    resp = table.column("response") if wrapped else None
    usage = pc.struct_field(resp, "usage") if resp is not None else table.column("usage")
    missing = pc.struct_field(usage, "prompt_tokens").null_count
    return missing > max(1, table.num_rows // 100)


def read_openai(source: Source, ctx: ReadContext, normalize: Normalize,
                *, chunk_bytes: int | None = None) -> Iterator[pa.Table]:
    plan = None if _is_json_document(source.head) else _plan(source.head)
    if plan is None:
        yield from read_json_records(source, ctx, normalize)
        return
    wrapper_time, chat = plan
    stream = source.open()
    batcher = RowBatcher(ctx)
    # pyarrow parses chunk k+1 on a worker thread (it releases the GIL) while chunk k is
    # normalized here and, through the yield, de-duplicated, priced and aggregated downstream:
    # the Python-side work hides behind the parse instead of adding to it.
    pool = ThreadPoolExecutor(1, thread_name_prefix="llmaudit-parse")
    pending: tuple[Future[tuple[pa.Table | None, int]], memoryview, bool] | None = None
    line = 1
    try:
        for view in iter_blocks(stream, chunk_bytes or CHUNK_BYTES, None if source.compressed else source.size,
                                buffers=2):
            final = view[len(view) - 1] != 0x0A
            parsed = pool.submit(_parse, view, _schema(wrapper_time, chat), final)
            if pending is not None:
                chat, line = yield from _finish_chunk(*pending, line, wrapper_time, chat, ctx, normalize, batcher)
            pending = (parsed, view, final)
        if pending is not None:
            yield from _finish_chunk(*pending, line, wrapper_time, chat, ctx, normalize, batcher)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stream.close()


def _finish_chunk(parsed: Future[tuple[pa.Table | None, int]], view: memoryview, final: bool, first_line: int,
                  wrapper_time: tuple[str, pa.DataType] | None, chat: bool, ctx: ReadContext,
                  normalize: Normalize, batcher: RowBatcher) -> Generator[pa.Table, None, tuple[bool, int]]:
    """Rows of one chunk (vectorized, or per line where needed); returns the plan's ``chat`` flag
    and the next chunk's first line number."""
    wrapped = wrapper_time is not None
    table, newlines = parsed.result()
    if chat and table is not None and _mostly_other_shape(table, wrapped):
        # Responses API records among Chat Completions ones: read this chunk and the rest of the
        # file with both spellings rather than send those rows down the slow path.
        chat = False
        table = _parse(view, _schema(wrapper_time, chat), final)[0]
    if table is None:
        _python_lines(bytes(view), first_line, ctx, normalize, batcher, final=final)
    else:
        try:
            good, bad = _normalize_chunk(table, first_line, wrapped)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            _python_lines(bytes(view), first_line, ctx, normalize, batcher, final=final)
        else:
            if bad.any():
                _redo_rows(bytes(view), first_line, np.flatnonzero(bad), ctx, normalize, batcher)
            if good.num_rows:
                ctx.file.rows_read += good.num_rows
                yield finish_table(good, source_format=ctx.reader, source_file=ctx.path)
    if batcher.rows:
        flushed = batcher.flush()
        if flushed is not None:
            yield flushed
    return chat, first_line + newlines
