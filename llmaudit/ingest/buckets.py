"""Admin/usage API pages: ``{"data": [bucket, ...]}``, each bucket ``{start, "results": [...]}``.

OpenAI's Usage and Costs APIs and Anthropic's usage and cost reports share this shape; only the
name of the bucket's start field differs. One bucket line fans out to one row per result, and a
bad result is rejected on its own (with the bucket's line) without losing its siblings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.lines import raw_json, read_json_records
from llmaudit.ingest.rows import SHAPE_ERRORS, RowError, parse_timestamp, shape_reason
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["OneResult", "bucket_reader"]

OneResult = Callable[[dict[str, Any]], dict[str, Any]]


def _buckets(value: Any) -> list[Any]:
    """A page ``{"data": [bucket…]}``, a bucket, or a list of either → buckets."""
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return list(value["data"])
    return [value]


def _bucket_rows(bucket: Any, line: int, ctx: ReadContext, one: OneResult, start_key: str) -> list[dict[str, Any]]:
    if not isinstance(bucket, dict):
        raise RowError(f"expected a bucket object, got {type(bucket).__name__}")
    results = bucket.get("results", bucket.get("result"))
    if not isinstance(results, list):
        raise RowError("bucket has no results list")
    rows: list[dict[str, Any]] = []
    for j, result in enumerate(results):
        raw = raw_json(result).decode()
        try:
            if not isinstance(result, dict):
                raise RowError(f"result is {type(result).__name__}, expected an object")
            row = one(result)
            row["timestamp"] = parse_timestamp(bucket.get(start_key), f"bucket {start_key}")
        except SHAPE_ERRORS as exc:
            ctx.reject(line, f"results[{j}]: {shape_reason(exc)}", raw)
            continue
        row["source_line"] = line
        row["_raw"] = raw
        rows.append(row)
    return rows


def bucket_reader(one: OneResult, *, start_key: str) -> Callable[[Source, ReadContext], Iterator[pa.Table]]:
    """A reader for pages of buckets; ``one`` turns a result object into a record row."""

    def normalize(bucket: Any, line: int, ctx: ReadContext) -> list[dict[str, Any]]:
        return _bucket_rows(bucket, line, ctx, one, start_key)

    def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
        yield from read_json_records(source, ctx, normalize, unwrap=_buckets)

    return read
