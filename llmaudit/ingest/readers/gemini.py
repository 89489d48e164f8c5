"""Google Gemini ``generateContent`` response logs (REST camelCase or python-genai snake_case).

``usageMetadata`` (formats.md A4): ``promptTokenCount`` already includes
``cachedContentTokenCount``; ``candidatesTokenCount`` does NOT include ``thoughtsTokenCount``,
so the reader adds thoughts into ``output_tokens`` (and reports them as ``reasoning_tokens``).
``toolUsePromptTokenCount`` (tool results fed back as input, counted apart from the prompt in
``totalTokenCount``) is added into ``input_tokens``. Model = ``modelVersion``; request id =
``responseId``; timestamp = wrapper ``timestamp`` or the response's ``createTime`` (Vertex).
``usageMetadata.trafficType`` (Vertex) fills ``service_tier``: ``ON_DEMAND`` → ``standard``,
``ON_DEMAND_FLEX`` → ``flex``, ``ON_DEMAND_PRIORITY`` → ``priority``, ``PROVISIONED_THROUGHPUT``
kept as ``provisioned_throughput``, ``TRAFFIC_TYPE_UNSPECIFIED`` → null.
A streamed response logged chunk by chunk (consecutive lines with one ``responseId``) counts once,
with the usage of its last chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.envelope import split_envelope
from llmaudit.ingest.lines import RowBatcher, first_record, iter_json_values
from llmaudit.ingest.rows import (
    SHAPE_ERRORS,
    RowError,
    guess_provider,
    opt_int,
    opt_str,
    parse_timestamp,
    shape_reason,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.schema import normalize_service_tier

__all__ = ["read", "sniff"]


def _looks_like_gemini(obj: dict[str, Any]) -> bool:
    return "usageMetadata" in obj or "usage_metadata" in obj or "candidates" in obj


def sniff(head: bytes, path: str) -> bool:
    rec = first_record(head)
    if isinstance(rec, dict):
        inner, _ = split_envelope(rec, _looks_like_gemini)
        return "usageMetadata" in inner or "usage_metadata" in inner
    return b'"usageMetadata"' in head


def _field(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _normalize(obj: Any, line: int, ctx: ReadContext) -> dict[str, Any]:
    resp, env = split_envelope(obj, _looks_like_gemini)
    row: dict[str, Any] = dict(env.fields)
    model = opt_str(_field(resp, "modelVersion", "model_version")) or opt_str(obj.get("model"))
    if model is None:
        raise RowError("modelVersion is missing")
    meta = _field(resp, "usageMetadata", "usage_metadata")
    if meta is None:
        raise RowError("no usageMetadata object")
    if not isinstance(meta, dict):
        raise RowError(f"usageMetadata is {type(meta).__name__}, expected an object")

    def count(camel: str, snake: str) -> int:
        return opt_int(_field(meta, camel, snake), f"usageMetadata.{camel}") or 0

    if _field(meta, "promptTokenCount", "prompt_token_count") is None:
        raise RowError("usageMetadata.promptTokenCount is missing")
    prompt = count("promptTokenCount", "prompt_token_count")
    tool_prompt = count("toolUsePromptTokenCount", "tool_use_prompt_token_count")
    cached = count("cachedContentTokenCount", "cached_content_token_count")
    candidates = count("candidatesTokenCount", "candidates_token_count")
    thoughts = count("thoughtsTokenCount", "thoughts_token_count")
    row.update(
        model_raw=model,
        provider=row.get("provider") or guess_provider(model, "google"),
        input_tokens=prompt + tool_prompt,
        cache_read_tokens=cached,
        output_tokens=candidates + thoughts,
        reasoning_tokens=thoughts,
        service_tier=normalize_service_tier(_field(meta, "trafficType", "traffic_type")),
        requests=1,
        source_line=line,
    )
    ts = env.timestamp if env.timestamp is not None else _field(resp, "createTime", "create_time")
    if ts is None:
        raise RowError(
            "no timestamp: a generateContent response has no createTime here; wrap each logged response as "
            '{"timestamp": "...", "response": {...}}'
        )
    row["timestamp"] = parse_timestamp(ts)
    row.setdefault("request_id", opt_str(_field(resp, "responseId", "response_id")))
    row.setdefault("status", "ok")
    return row


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    """Like the generic per-record path, plus streamed responses: consecutive chunks that share a
    ``responseId`` are one response whose last chunk carries the final usage, so only that one
    is kept (the earlier chunks are skipped and counted)."""
    batcher = RowBatcher(ctx)
    pending: tuple[dict[str, Any], int, bytes] | None = None
    for value, line, raw in iter_json_values(source, ctx):
        if not isinstance(value, dict):
            ctx.reject(line, f"expected a JSON object, got {type(value).__name__}", raw)
            continue
        try:
            row = _normalize(value, line, ctx)
        except SHAPE_ERRORS as exc:
            ctx.reject(line, shape_reason(exc), raw)
            continue
        if pending is not None:
            if row.get("request_id") is not None and row["request_id"] == pending[0].get("request_id"):
                ctx.skip("earlier chunk of a streamed response")
            else:
                batcher.add(*pending)
        pending = (row, line, raw)
        if batcher.ready():
            table = batcher.flush()
            if table is not None:
                yield table
    if pending is not None:
        batcher.add(*pending)
    table = batcher.flush()
    if table is not None:
        yield table
