"""Vectorized reading of OpenAI request logs (the high-volume format), with an exact fallback.

Each 32 MiB chunk of lines is parsed by ``pyarrow.json`` with an explicit schema that names only
the fields the reader needs (everything else, such as message content, is skipped by the C++
parser), then normalized with ``pyarrow.compute``. Rows that fail a vectorized check (no model, no
usage, negative or inconsistent counts, no timestamp), and whole chunks that pyarrow refuses (a
truncated line, a string where a number belongs, blank lines that would shift line numbers), go
through the per-line Python path, which produces exactly the same rows and names the line and the
reason for every reject. Both paths share ``readers.openai.normalize`` semantics.
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
from llmaudit.ingest.rows import ROW_SCHEMA, fill_default, finish_table, guess_provider
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read_openai"]

_I = pa.int64()
_S = pa.string()
_DETAILS_IN = pa.struct([("cached_tokens", _I), ("cache_write_tokens", _I)])
_DETAILS_OUT = pa.struct([("reasoning_tokens", _I)])
# Chat Completions usage only. Most high-volume logs are Chat Completions, and every schema field
# costs the C++ parser time even when absent (a 1M-row log parses in ~20% less CPU without the
# Responses names). It is also the per-line semantics exactly: a usage with prompt_tokens is read
# by its prompt_/completion_tokens_details only. A row without prompt_tokens goes to the per-line path.
_CHAT_USAGE = pa.struct([
    ("prompt_tokens", _I), ("completion_tokens", _I),
    ("prompt_tokens_details", _DETAILS_IN), ("completion_tokens_details", _DETAILS_OUT),
    ("cost", pa.float64()), ("service_tier", _S),
    ("prompt_cache_hit_tokens", _I), ("num_cached_tokens", _I),
])
# Both spellings: files whose first record is a Responses API object (or has no usage).
_ANY_USAGE = pa.struct([
    ("prompt_tokens", _I), ("completion_tokens", _I),
    ("prompt_tokens_details", _DETAILS_IN), ("completion_tokens_details", _DETAILS_OUT),
    ("input_tokens", _I), ("output_tokens", _I),
    ("input_tokens_details", _DETAILS_IN), ("output_tokens_details", _DETAILS_OUT),
    ("cost", pa.float64()), ("service_tier", _S),
    ("prompt_cache_hit_tokens", _I), ("num_cached_tokens", _I),
])


def _response_fields(chat: bool) -> list[tuple[str, pa.DataType]]:
    fields = [("id", _S), ("created", _I), ("model", _S), ("status", _S), ("user", _S), ("service_tier", _S),
              ("usage", _CHAT_USAGE if chat else _ANY_USAGE), ("output", pa.list_(pa.struct([("type", _S)])))]
    return fields if chat else [*fields, ("created_at", _I)]


_BLOCK_BYTES = 4 << 20   # pyarrow parses blocks in parallel: several per chunk keep both cores busy
_ERROR_STATUSES = ["error", "failed", "failure", "cancelled"]


def _schema(wrapper_time: tuple[str, pa.DataType] | None, chat: bool) -> pa.Schema:
    if wrapper_time is None:
        return pa.schema(_response_fields(chat))
    key, dtype = wrapper_time
    wrapper = [
        (key, dtype), ("tags", pa.list_(_S)), ("latency_ms", pa.float64()), ("ttft_ms", pa.float64()),
        ("request_id", _S), ("status", _S), ("user", _S), ("project", _S), ("api_key", _S), ("provider", _S),
        ("batch", pa.bool_()), ("response", pa.struct(_response_fields(chat))),
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


def _f(struct: Any, *names: str) -> Any:
    """A nested field; all nulls when the planned schema leaves it out (e.g. Responses names in a
    Chat Completions plan)."""
    for name in names:
        if struct.type.get_field_index(name) < 0:
            return pa.nulls(len(struct), _I)
        struct = pc.struct_field(struct, name)
    return struct


def _zero(arr: Any) -> Any:
    return fill_default(arr, 0)


def _by_dictionary(values: pa.Array, fn: Any) -> pa.Array:
    """Apply a Python function once per distinct value (models, keys: few distinct, many rows)."""
    encoded = values.dictionary_encode()
    mapped = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], _S)
    return pc.take(mapped, encoded.indices)


def _web_searches(output: pa.Array) -> pa.Array:
    n = len(output)
    flat = pc.list_flatten(output)
    parents = pc.list_parent_indices(output).to_numpy()
    hits = pc.fill_null(pc.equal(pc.struct_field(flat, "type"), "web_search_call"), False).to_numpy(
        zero_copy_only=False)
    counts = np.bincount(parents[hits], minlength=n).astype(np.int64)
    return pc.if_else(pc.is_null(output), pa.nulls(n, _I), pa.array(counts, _I))


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
    resp = cols["response"] if wrapped else None

    def r(name: str) -> Any:
        if wrapped:
            return _f(resp, name)
        return cols[name] if name in cols else pa.nulls(n, _I)

    usage = r("usage")
    model = r("model")
    # Which spelling a row uses is decided as the per-line path decides it: prompt_tokens or
    # completion_tokens present → Chat Completions names throughout, else Responses names.
    chat = pc.or_(pc.is_valid(_f(usage, "prompt_tokens")), pc.is_valid(_f(usage, "completion_tokens")))

    def pick(chat_path: tuple[str, ...], responses_path: tuple[str, ...]) -> Any:
        return pc.if_else(chat, _f(usage, *chat_path), _f(usage, *responses_path))

    inp = pick(("prompt_tokens",), ("input_tokens",))
    out = _zero(pick(("completion_tokens",), ("output_tokens",)))
    # Cache hits reported beside prompt_tokens (DeepSeek, Mistral) count when the details have none,
    # as on the per-line path.
    detailed = pick(("prompt_tokens_details", "cached_tokens"), ("input_tokens_details", "cached_tokens"))
    cread = _zero(pc.coalesce(detailed, _f(usage, "prompt_cache_hit_tokens"), _f(usage, "num_cached_tokens")))
    cwrite = _zero(pick(("prompt_tokens_details", "cache_write_tokens"),
                        ("input_tokens_details", "cache_write_tokens")))
    reasoning = _zero(pick(("completion_tokens_details", "reasoning_tokens"),
                           ("output_tokens_details", "reasoning_tokens")))
    created = pc.coalesce(r("created"), r("created_at"))
    ts_key = next((k for k in table.column_names if k in TIME_KEYS), None) if wrapped else None
    if ts_key is not None:
        timestamp = pc.coalesce(_to_timestamp(cols[ts_key]), _to_timestamp(created))
    else:
        timestamp = _to_timestamp(created)

    bad = pc.or_kleene(pc.is_null(model), pc.is_null(inp))
    bad = pc.or_kleene(bad, pc.is_null(timestamp))
    inp0 = _zero(inp)
    for col in (inp0, out, cread, cwrite, reasoning):
        bad = pc.or_kleene(bad, pc.less(col, 0))
    bad = pc.or_kleene(bad, pc.greater(pc.add(cread, cwrite), inp0))
    bad = pc.or_kleene(bad, pc.greater(reasoning, out))
    bad = pc.or_kleene(bad, pc.equal(model, ""))
    bad = pc.fill_null(bad, True)
    bad_np = bad.to_numpy(zero_copy_only=False)

    line = pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    status = r("status")
    out_cols: dict[str, Any] = {
        "timestamp": timestamp,
        "model_raw": model,
        "input_tokens": inp0,
        "cache_read_tokens": cread,
        "cache_write_tokens": cwrite,
        "output_tokens": out,
        "reasoning_tokens": reasoning,
        "requests": pa.array(np.ones(n, dtype=np.int64)),
        "billed_cost_usd": _f(usage, "cost"),
        "request_id": r("id"),
        "user": r("user"),
        "web_search_requests": _web_searches(r("output")),
        # As written; finish_table spells it ("default" → standard) as the per-line path does.
        "service_tier": pc.coalesce(r("service_tier"), _f(usage, "service_tier")),
        "source_line": line,
    }
    # A response's own status: "failed" / "cancelled" (Responses API) mean an error, as per line.
    is_error = pc.fill_null(pc.is_in(status, value_set=pa.array(["failed", "cancelled"])), False)
    if wrapped:
        out_cols["request_id"] = pc.coalesce(cols["request_id"], r("id"))
        out_cols["user"] = pc.coalesce(cols["user"], r("user"))
        # A wrapper's status wins when present, matched without case (envelope.split_envelope).
        wrapper = cols["status"]
        wrapper_error = pc.is_in(pc.utf8_lower(wrapper), value_set=pa.array(_ERROR_STATUSES))
        is_error = pc.if_else(pc.is_valid(wrapper), wrapper_error, is_error)
        for name in ("latency_ms", "ttft_ms", "project", "tags", "batch"):
            out_cols[name] = cols[name]
        keys = cols["api_key"]
        if keys.null_count < n:
            out_cols["api_key"] = _by_dictionary(keys, lambda v: None if v is None else redact(v))
    out_cols["status"] = pc.if_else(is_error, "error", "ok")
    provider = _by_dictionary(model, lambda m: guess_provider(m, "openai"))
    if wrapped:
        provider = pc.coalesce(cols["provider"], provider)
    out_cols["provider"] = provider
    result = pa.table(out_cols)
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
    # pyarrow skips blank lines, which would shift row → line numbers: a row count that
    # differs from the line count sends the chunk to the per-line path.
    return (table if table.num_rows == newlines else None), newlines


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
