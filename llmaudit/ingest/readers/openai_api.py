"""OpenAI Batch output/error files, the Usage API (completions buckets) and the Costs API.

Batch (formats.md C8): each output line is ``{"id", "custom_id", "response": {"status_code",
"request_id", "body": <chat.completion or response>}, "error"}``. Rows are priced at batch rates
(``batch = True``, ``service_tier = "batch"``, whatever tier the body echoes). Error-file lines
(``response: null`` with an ``error``) are requests that never ran and were not billed: they are
skipped and counted under their error code. A response with a non-2xx ``status_code`` is kept with
``status = "error"`` when it carries usage.

Usage API (``/v1/organization/usage/completions``, C2): one row per bucket result;
``input_tokens`` already includes cached and cache-write tokens; ``requests`` =
``num_model_requests``; timestamp = bucket ``start_time``. An ungrouped report has ``model: null``,
kept as ``(not grouped by model)`` so its tokens show as unpriced rather than vanishing. The
group-by fields ``batch`` and ``service_tier`` fill the columns of those names (``default`` reads
as ``standard``).

Costs API (``/v1/organization/costs``): money without tokens, like Anthropic's cost report: one
row per result with all token counts 0, ``requests`` 0, ``billed_cost_usd = amount.value`` (USD,
not cents), tag ``cost-report``; the model is the part of ``line_item`` before the comma
(``"gpt-4o-mini, input"``) or ``(all line items)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.buckets import bucket_reader
from llmaudit.ingest.lines import first_record, read_json_records
from llmaudit.ingest.readers import openai as openai_log
from llmaudit.ingest.readers.anthropic import NOT_GROUPED
from llmaudit.ingest.rows import (
    RowError,
    get_path,
    opt_decimal,
    opt_int,
    opt_str,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.schema import normalize_service_tier

ReadFn = Callable[[Source, ReadContext], Iterator[pa.Table]]

__all__ = ["read_batch", "read_costs", "read_usage", "sniff_batch", "sniff_costs", "sniff_usage"]


# ------------------------------------------------------------------------------------------ Batch

def sniff_batch(head: bytes, path: str) -> bool:
    rec = first_record(head)
    return isinstance(rec, dict) and "custom_id" in rec and ("response" in rec or "error" in rec)


def _normalize_batch(obj: Any, line: int, ctx: ReadContext) -> dict[str, Any] | None:
    response = obj.get("response")
    if response is None:
        code = opt_str(get_path(obj, "error", "code")) or "no response"
        ctx.skip(f"batch request not executed ({code}), not billed")
        return None
    if not isinstance(response, dict):
        raise RowError(f"response is {type(response).__name__}, expected an object")
    body = response.get("body")
    if not isinstance(body, dict):
        raise RowError("response.body is missing or not an object")
    status_code = opt_int(response.get("status_code"), "response.status_code")
    if body.get("usage") is None and status_code is not None and status_code >= 400:
        ctx.skip(f"batch request failed (HTTP {status_code}), no usage")
        return None
    row = openai_log.normalize(body, line, ctx)
    assert row is not None
    row["batch"] = True
    row["service_tier"] = "batch"
    row["request_id"] = opt_str(response.get("request_id")) or opt_str(obj.get("id")) or row.get("request_id")
    if status_code is not None and status_code >= 400:
        row["status"] = "error"
    tags = [f"custom_id:{obj['custom_id']}"] if obj.get("custom_id") is not None else []
    if tags:
        row["tags"] = tags
    return row


def read_batch(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_json_records(source, ctx, _normalize_batch)


# ------------------------------------------------------------------------------ Usage / Costs API

def _per_result(one: Callable[[dict[str, Any]], dict[str, Any]]) -> ReadFn:
    return bucket_reader(one, start_key="start_time")


def _common(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "provider": "openai",
        "project": opt_str(result.get("project_id")),
        "api_key": opt_str(result.get("api_key_id")),
        "user": opt_str(result.get("user_id")),
    }


def _usage_result(result: dict[str, Any]) -> dict[str, Any]:
    if result.get("input_tokens") is None and result.get("output_tokens") is None:
        raise RowError("result has no input_tokens or output_tokens")
    row = _common(result)
    row["model_raw"] = opt_str(result.get("model")) or NOT_GROUPED
    row["input_tokens"] = opt_int(result.get("input_tokens"), "input_tokens") or 0
    row["output_tokens"] = opt_int(result.get("output_tokens"), "output_tokens") or 0
    row["cache_read_tokens"] = opt_int(result.get("input_cached_tokens"), "input_cached_tokens")
    row["cache_write_tokens"] = opt_int(result.get("input_cache_write_tokens"), "input_cache_write_tokens")
    row["requests"] = opt_int(result.get("num_model_requests"), "num_model_requests")
    row["batch"] = result.get("batch") is True
    row["service_tier"] = normalize_service_tier(result.get("service_tier"))
    return row


def _cost_result(result: dict[str, Any]) -> dict[str, Any]:
    amount = result.get("amount")
    if not isinstance(amount, dict):
        raise RowError("amount is missing or not an object")
    currency = opt_str(amount.get("currency")) or "usd"
    if currency.lower() != "usd":
        raise RowError(f"currency is {currency}; only USD amounts are supported")
    value = opt_decimal(amount.get("value"), "amount.value")
    if value is None:
        raise RowError("amount.value is missing")
    row = _common(result)
    line_item = opt_str(result.get("line_item"))
    row["model_raw"] = line_item.split(",", 1)[0].strip() if line_item else "(all line items)"
    row["billed_cost_usd"] = float(value)
    row["requests"] = 0
    tags = ["cost-report"]
    if line_item:
        tags.append(f"line_item:{line_item}")
    row["tags"] = tags
    return row


read_usage = _per_result(_usage_result)
read_costs = _per_result(_cost_result)


def sniff_usage(head: bytes, path: str) -> bool:
    return b"organization.usage.completions.result" in head or (
        b'"num_model_requests"' in head and b'"start_time"' in head
    )


def sniff_costs(head: bytes, path: str) -> bool:
    return b"organization.costs.result" in head or (
        b'"line_item"' in head and b'"amount"' in head and b'"start_time"' in head
    )
