"""OpenAI request logs: JSONL of Chat Completions or Responses objects, bare or wrapped.

Chat Completions ``usage`` (formats.md A1): ``prompt_tokens`` already includes
``prompt_tokens_details.cached_tokens`` (and ``cache_write_tokens`` on newer SDKs);
``completion_tokens`` already includes ``completion_tokens_details.reasoning_tokens``. Responses
``usage`` (A2) has the same semantics under ``input_tokens`` / ``output_tokens`` /
``input_tokens_details`` / ``output_tokens_details``. So no arithmetic is needed: the schema uses
the OpenAI convention. Each ``web_search_call`` item in a Responses ``output`` is one billed search.
OpenAI-compatible gateways (OpenRouter) put their charge in ``usage.cost``: kept as billed cost.
The response's ``service_tier`` (or, from a gateway, ``usage.service_tier``) fills the column:
``"default"`` (and ``"auto"``) read as ``standard``, ``flex`` / ``priority`` / ``scale`` as given.

Speed: the whole file is read in 32 MiB chunks; each chunk is parsed by ``pyarrow.json`` with an
explicit schema (vectorized), and only a chunk that pyarrow cannot parse, or rows that fail a
vectorized check, go through the per-line Python path that names the line and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.envelope import split_envelope
from llmaudit.ingest.fastjson import read_openai
from llmaudit.ingest.lines import first_record
from llmaudit.ingest.rows import RowError, get_path, guess_provider, opt_float, opt_int, opt_str, parse_timestamp
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.schema import normalize_service_tier

__all__ = ["looks_like_openai", "normalize", "read", "sniff"]

NAME = "openai"
_OBJECTS = ("chat.completion", "response", "text_completion", "chat.completion.chunk")


def looks_like_openai(obj: dict[str, Any]) -> bool:
    if obj.get("object") in _OBJECTS:
        return True
    usage = obj.get("usage")
    if isinstance(usage, dict):
        if "prompt_tokens" in usage or "input_tokens_details" in usage or "output_tokens_details" in usage:
            return "custom_id" not in obj
    return False


def sniff(head: bytes, path: str) -> bool:
    rec = first_record(head)
    if not isinstance(rec, dict) or "custom_id" in rec:
        return False
    inner, _ = split_envelope(rec, looks_like_openai)
    return looks_like_openai(inner)


def normalize(obj: Any, line: int, ctx: ReadContext) -> dict[str, Any] | None:
    resp, env = split_envelope(obj, looks_like_openai)
    row: dict[str, Any] = dict(env.fields)
    model = opt_str(resp.get("model")) or opt_str(obj.get("model"))
    if model is None:
        raise RowError("model is missing")
    row["model_raw"] = model
    row["provider"] = row.get("provider") or guess_provider(model, "openai")
    usage = resp.get("usage")
    if usage is None and resp.get("object") == "chat.completion.chunk":
        # Only the last chunk of a stream carries usage (stream_options.include_usage).
        ctx.skip("stream chunk without usage")
        return None
    if usage is None:
        raise RowError("no usage object (interrupted stream, or the request was logged without usage)")
    if not isinstance(usage, dict):
        raise RowError(f"usage is {type(usage).__name__}, expected an object")
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        row["input_tokens"] = opt_int(usage.get("prompt_tokens"), "usage.prompt_tokens") or 0
        row["output_tokens"] = opt_int(usage.get("completion_tokens"), "usage.completion_tokens") or 0
        details, out_details = "prompt_tokens_details", "completion_tokens_details"
        if usage.get("prompt_tokens") is None:
            raise RowError("usage.prompt_tokens is missing")
    elif "input_tokens" in usage or "output_tokens" in usage:
        row["input_tokens"] = opt_int(usage.get("input_tokens"), "usage.input_tokens") or 0
        row["output_tokens"] = opt_int(usage.get("output_tokens"), "usage.output_tokens") or 0
        details, out_details = "input_tokens_details", "output_tokens_details"
        if usage.get("input_tokens") is None:
            raise RowError("usage.input_tokens is missing")
    else:
        raise RowError("usage has neither prompt_tokens nor input_tokens")
    row["cache_read_tokens"] = opt_int(get_path(usage, details, "cached_tokens"), f"usage.{details}.cached_tokens")
    if row["cache_read_tokens"] is None:
        # OpenAI-compatible servers that report cache hits beside prompt_tokens (still a part of it):
        # DeepSeek's prompt_cache_hit_tokens, Mistral's num_cached_tokens.
        for other in ("prompt_cache_hit_tokens", "num_cached_tokens"):
            if usage.get(other) is not None:
                row["cache_read_tokens"] = opt_int(usage.get(other), f"usage.{other}")
                break
    row["cache_write_tokens"] = opt_int(
        get_path(usage, details, "cache_write_tokens"), f"usage.{details}.cache_write_tokens"
    )
    row["reasoning_tokens"] = opt_int(
        get_path(usage, out_details, "reasoning_tokens"), f"usage.{out_details}.reasoning_tokens"
    )
    cost = usage.get("cost")
    if cost is not None:
        row["billed_cost_usd"] = opt_float(cost, "usage.cost")
    ts = env.timestamp
    if ts is None:
        ts = resp.get("created") if resp.get("created") is not None else resp.get("created_at")
    row["timestamp"] = parse_timestamp(ts, "timestamp (created)")
    row.setdefault("request_id", opt_str(resp.get("id")))
    if "status" not in row and isinstance(resp.get("status"), str):
        row["status"] = "error" if resp["status"] in ("failed", "cancelled") else "ok"
    row.setdefault("status", "ok")
    if "user" not in row and isinstance(resp.get("user"), str):
        row["user"] = resp["user"]
    tier = resp.get("service_tier")
    row["service_tier"] = normalize_service_tier(tier if tier is not None else usage.get("service_tier"))
    output = resp.get("output")
    if isinstance(output, list):
        row["web_search_requests"] = sum(
            1 for item in output if isinstance(item, dict) and item.get("type") == "web_search_call"
        )
    row["requests"] = 1
    row["source_line"] = line
    return row


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_openai(source, ctx, normalize)
