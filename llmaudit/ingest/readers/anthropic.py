"""Anthropic: Messages request logs, the Admin API usage report and the cost report.

Token semantics (formats.md A3) are declared once in ``layouts.anthropic``: Anthropic's
``input_tokens`` is the UNCACHED input only, so these readers add cache reads and writes in;
``cache_creation.ephemeral_1h_input_tokens`` is the 1-hour subset of the writes; ``output_tokens``
already includes thinking.

A Messages object carries no timestamp, so a request log must wrap it (see ``envelope``) or the
row is rejected with that reason. ``usage.service_tier``, ``usage.speed`` and
``usage.inference_geo`` fill the columns of those names (``service_tier: "batch"`` also marks the
row ``batch``, priced at batch rates).

Usage report (``/v1/organizations/usage_report/messages``, C3): one row per bucket result,
timestamp = bucket ``starting_at``, ``requests`` null (the report has no request count).
A report not grouped by model has ``model: null``; such rows are kept with the model
``(not grouped by model)``, so their tokens count and show as unpriced rather than vanishing.
The group-by fields ``service_tier``, ``speed``, ``inference_geo`` fill their columns and
``context_window`` (``"0-200k"``, ``"200k-1M"``) fills ``context_tier``: the long-context window
the bucket's requests fell in, which an aggregated row cannot show otherwise.

Cost report (``/v1/organizations/cost_report``): money without tokens. Each result becomes a row
with all token counts 0, ``requests`` 0 and ``billed_cost_usd`` = ``amount`` / 100 (the amount
is a decimal string in cents: "123.45" is $1.23, converted with Decimal). Because its token counts
are 0, ingesting it next to the usage report never double counts tokens; the tag
``cost-report`` and ``requests == 0`` identify these rows. Its ``service_tier``,
``context_window`` and ``inference_geo`` fill the same columns as in the usage report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa

from llmaudit.ingest.buckets import OneResult, bucket_reader
from llmaudit.ingest.envelope import split_envelope
from llmaudit.ingest.layouts.anthropic import ANTHROPIC_MESSAGE, ANTHROPIC_USAGE
from llmaudit.ingest.lines import first_record, read_json_records
from llmaudit.ingest.rows import (
    RowError,
    guess_provider,
    opt_decimal,
    opt_int,
    opt_str,
    parse_timestamp,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.schema import (
    normalize_context_tier,
    normalize_inference_geo,
    normalize_service_tier,
    normalize_speed,
)

__all__ = [
    "NOT_GROUPED",
    "anthropic_usage",
    "read_cost",
    "read_messages",
    "read_usage",
    "served_as",
    "sniff_cost",
    "sniff_messages",
    "sniff_usage",
]

NOT_GROUPED = "(not grouped by model)"
_USAGE_KEY = re.compile(rb'"uncached_input_tokens"\s*:')


def anthropic_usage(usage: Any, where: str = "usage") -> dict[str, Any]:
    """Anthropic ``usage`` → schema token columns, as declared in ``layouts.anthropic`` (input made
    inclusive of cache reads and writes), and the modifier columns."""
    row = ANTHROPIC_USAGE.read(usage, where)
    row.update(served_as(usage))
    return row


def served_as(obj: dict[str, Any]) -> dict[str, Any]:
    """The modifier columns from an Anthropic ``usage`` object or report result (absent → null)."""
    get = obj.get
    tier = normalize_service_tier(get("service_tier"))
    row: dict[str, Any] = {
        "service_tier": tier,
        "speed": normalize_speed(get("speed")),
        "inference_geo": normalize_inference_geo(get("inference_geo")),
    }
    if tier == "batch":
        row["batch"] = True
    return row


# ------------------------------------------------------------------------------ Messages request logs

def _looks_like_message(obj: dict[str, Any]) -> bool:
    if obj.get("type") == "message":
        return True
    usage = obj.get("usage")
    return isinstance(usage, dict) and (
        "cache_creation_input_tokens" in usage or "cache_read_input_tokens" in usage
    ) and "prompt_tokens" not in usage


def sniff_messages(head: bytes, path: str) -> bool:
    rec = first_record(head)
    if not isinstance(rec, dict) or "sessionId" in rec:
        return False
    inner, _ = split_envelope(rec, _looks_like_message)
    return _looks_like_message(inner)


def _normalize_message(obj: Any, line: int, ctx: ReadContext) -> list[dict[str, Any]]:
    """The message's row (``layouts.anthropic.ANTHROPIC_MESSAGE``; the wrapper's fields win), then
    one per compaction step or advisor call its usage reports."""
    msg, env = split_envelope(obj, _looks_like_message)
    row = ANTHROPIC_MESSAGE.read(msg)
    row.update(env.fields)
    row["provider"] = row.get("provider") or guess_provider(row["model_raw"], "anthropic")
    if env.timestamp is None:
        raise RowError(
            "no timestamp: an Anthropic Message object carries none; wrap each logged response as "
            '{"timestamp": "...", "response": {...}}'
        )
    row["timestamp"] = parse_timestamp(env.timestamp)
    row.setdefault("status", "ok")
    row["source_line"] = line
    return [row, *ANTHROPIC_USAGE.split_rows(row, msg.get("usage"), "usage")]


def read_messages(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_json_records(source, ctx, _normalize_message)


# ------------------------------------------------------------------------------ Admin API reports

def _common(result: dict[str, Any]) -> dict[str, Any]:
    row = {
        "provider": "anthropic",
        "project": opt_str(result.get("workspace_id")),
        "api_key": opt_str(result.get("api_key_id")),
        "batch": False,
        "context_tier": normalize_context_tier(result.get("context_window")),
    }
    row.update(served_as(result))
    return row


def _usage_result(result: dict[str, Any]) -> dict[str, Any]:
    uncached = opt_int(result.get("uncached_input_tokens"), "uncached_input_tokens")
    if uncached is None and result.get("output_tokens") is None:
        raise RowError("result has no uncached_input_tokens or output_tokens")
    usage = {
        "input_tokens": uncached or 0,
        "cache_read_input_tokens": result.get("cache_read_input_tokens"),
        "cache_creation": result.get("cache_creation"),
        "output_tokens": result.get("output_tokens"),
        "server_tool_use": result.get("server_tool_use"),
    }
    row = anthropic_usage(usage, "result")
    row.update(_common(result))
    row["model_raw"] = opt_str(result.get("model")) or NOT_GROUPED
    row["requests"] = None
    return row


def _cost_result(result: dict[str, Any]) -> dict[str, Any]:
    currency = opt_str(result.get("currency")) or "USD"
    if currency.upper() != "USD":
        raise RowError(f"currency is {currency}; only USD amounts are supported")
    cents = opt_decimal(result.get("amount"), "amount")
    if cents is None:
        raise RowError("amount is missing")
    row = _common(result)
    cost_type = opt_str(result.get("cost_type"))
    row["model_raw"] = opt_str(result.get("model")) or f"({cost_type or 'all costs'})"
    row["billed_cost_usd"] = float(cents / Decimal(100))
    row["requests"] = 0
    tags = ["cost-report"]
    for key in ("cost_type", "token_type", "description"):
        if result.get(key) is not None:
            tags.append(f"{key}:{result[key]}")
    row["tags"] = tags
    return row


def _report_reader(one: OneResult) -> Callable[[Source, ReadContext], Iterator[pa.Table]]:
    return bucket_reader(one, start_key="starting_at")


read_usage = _report_reader(_usage_result)
read_cost = _report_reader(_cost_result)


def sniff_usage(head: bytes, path: str) -> bool:
    return _USAGE_KEY.search(head) is not None and b'"starting_at"' in head


def sniff_cost(head: bytes, path: str) -> bool:
    return b'"starting_at"' in head and (b'"cost_type"' in head or (b'"amount"' in head and b'"currency"' in head))
