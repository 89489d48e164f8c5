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

from collections.abc import Iterator
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
    iter_chunks,
    iter_json_lines,
    read_json_records,
)
from llmaudit.ingest.rows import ROW_SCHEMA, finish_table, guess_provider
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read_openai"]

_I = pa.int64()
_S = pa.string()
_DETAILS_IN = pa.struct([("cached_tokens", _I), ("cache_write_tokens", _I)])
_USAGE = pa.struct([
    ("prompt_tokens", _I), ("completion_tokens", _I),
    ("prompt_tokens_details", _DETAILS_IN),
    ("completion_tokens_details", pa.struct([("reasoning_tokens", _I)])),
    ("input_tokens", _I), ("output_tokens", _I),
    ("input_tokens_details", _DETAILS_IN),
    ("output_tokens_details", pa.struct([("reasoning_tokens", _I)])),
    ("cost", pa.float64()),
])
_RESPONSE_FIELDS = [
    ("id", _S), ("object", _S), ("created", _I), ("created_at", _I), ("model", _S), ("status", _S),
    ("user", _S), ("usage", _USAGE), ("output", pa.list_(pa.struct([("type", _S)]))),
]
_BLOCK_BYTES = 4 << 20   # pyarrow parses blocks in parallel: several per chunk keep both cores busy
_ERROR_STATUSES = ["error", "failed", "failure", "cancelled"]


def _schema(wrapper_time: tuple[str, pa.DataType] | None) -> pa.Schema:
    if wrapper_time is None:
        return pa.schema(_RESPONSE_FIELDS)
    key, dtype = wrapper_time
    wrapper = [
        (key, dtype), ("tags", pa.list_(_S)), ("latency_ms", pa.float64()), ("ttft_ms", pa.float64()),
        ("request_id", _S), ("status", _S), ("user", _S), ("project", _S), ("api_key", _S), ("provider", _S),
        ("response", pa.struct(_RESPONSE_FIELDS)),
    ]
    return pa.schema(wrapper)


def _plan(head: bytes) -> pa.Schema | None:
    """The explicit schema for this file, from its first line; None → per-line path only."""
    first = head.lstrip().split(b"\n", 1)[0]
    try:
        rec = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(rec, dict):
        return None
    if isinstance(rec.get("response"), dict):
        for key in TIME_KEYS:
            value = rec.get(key)
            if isinstance(value, str):
                return _schema((key, _S))
            if isinstance(value, int | float) and not isinstance(value, bool):
                return _schema((key, pa.float64()))
        return _schema(("timestamp", _S))
    if any(isinstance(rec.get(k), dict) for k in ("body", "result", "completion")):
        return None
    return _schema(None)


def _f(struct: Any, *names: str) -> Any:
    for name in names:
        struct = pc.struct_field(struct, name)
    return struct


def _zero(arr: Any) -> Any:
    return pc.fill_null(arr, 0)


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
        top = cols[name] if not wrapped else None
        if wrapped:
            return pc.struct_field(resp, name)
        return top

    usage = r("usage")
    model = r("model")
    inp = pc.coalesce(_f(usage, "prompt_tokens"), _f(usage, "input_tokens"))
    out = _zero(pc.coalesce(_f(usage, "completion_tokens"), _f(usage, "output_tokens")))
    cread = _zero(pc.coalesce(_f(usage, "prompt_tokens_details", "cached_tokens"),
                              _f(usage, "input_tokens_details", "cached_tokens")))
    cwrite = _zero(pc.coalesce(_f(usage, "prompt_tokens_details", "cache_write_tokens"),
                               _f(usage, "input_tokens_details", "cache_write_tokens")))
    reasoning = _zero(pc.coalesce(_f(usage, "completion_tokens_details", "reasoning_tokens"),
                                  _f(usage, "output_tokens_details", "reasoning_tokens")))
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
        "source_line": line,
    }
    if wrapped:
        out_cols["request_id"] = pc.coalesce(cols["request_id"], r("id"))
        out_cols["user"] = pc.coalesce(cols["user"], r("user"))
        status = pc.coalesce(cols["status"], status)
        for name in ("latency_ms", "ttft_ms", "project", "tags"):
            out_cols[name] = cols[name]
        keys = cols["api_key"]
        if keys.null_count < n:
            out_cols["api_key"] = _by_dictionary(keys, lambda v: None if v is None else redact(v))
    is_error = pc.fill_null(pc.is_in(pc.utf8_lower(status), value_set=pa.array(_ERROR_STATUSES)), False)
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


def read_openai(source: Source, ctx: ReadContext, normalize: Normalize,
                *, chunk_bytes: int | None = None) -> Iterator[pa.Table]:
    schema = None if _is_json_document(source.head) else _plan(source.head)
    if schema is None:
        yield from read_json_records(source, ctx, normalize)
        return
    wrapped = "response" in schema.names
    parse_options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    stream = source.open()
    batcher = RowBatcher(ctx)
    try:
        for view, first_line, newlines in iter_chunks(
                stream, chunk_bytes or CHUNK_BYTES, None if source.compressed else source.size):
            final = view[len(view) - 1] != 0x0A
            n_lines = newlines + (1 if final else 0)
            table = None
            # pyarrow skips blank lines, which would shift row → line numbers: a row count that
            # differs from the line count sends the chunk to the per-line path.
            if not final:
                try:
                    table = pj.read_json(
                        pa.BufferReader(pa.py_buffer(view)),
                        read_options=pj.ReadOptions(block_size=_BLOCK_BYTES),
                        parse_options=parse_options,
                    )
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                    table = None
                if table is not None and table.num_rows != n_lines:
                    table = None
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
            view.release()
            if batcher.rows:
                flushed = batcher.flush()
                if flushed is not None:
                    yield flushed
    finally:
        stream.close()
