"""Gateway and observability exports: OpenRouter, LiteLLM SpendLogs, Langfuse, Helicone, Portkey.

All are parsed by column/key NAME, never by position (exports drift between versions).

OpenRouter activity CSV (formats.md C1): ``tokens_prompt`` (cached included, OpenAI convention),
``tokens_completion`` (reasoning included), ``tokens_reasoning``, ``tokens_cached``; ``cost_total``
is what OpenRouter charged (kept as billed cost); model = ``model_permaslug``; the provider is
``openrouter`` (who served and billed it) for every model; vendor columns are not tags;
``created_at`` (``2026-02-06 18:54:30.040``, no zone) is read as UTC.

OpenRouter ``GET /api/v1/generation`` answers (A5), one ``{"data": {...}}`` document, a JSON array
or JSONL of them: the ``native_tokens_*`` counts (the provider's tokenizer: what it billed) are
priced, ``tokens_*`` (normalized) only when they are absent; ``native_tokens_cached`` /
``native_tokens_reasoning`` are subsets; ``total_cost`` is billed; provider ``openrouter``;
``is_byok`` tags the row ``byok``; ``service_tier``, ``latency`` (ms), ``external_user`` kept.

LiteLLM ``LiteLLM_SpendLogs`` (C4), CSV or JSON: ``prompt_tokens`` already includes cache reads
and writes (LiteLLM normalizes Anthropic usage), so it is taken as is; the cache split comes from
``metadata.usage_object`` when present, with the 1-hour share of cache writes from its
``prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens`` (or a raw Anthropic
``cache_creation``, there, in ``additional_usage_values`` or in the response).
``spend`` is the billed cost and ``metadata.model_map_information`` the price LiteLLM applied
(kept in ``gateway_price``, shown beside the recomputed cost); ``custom_llm_provider`` the
provider. A proxy cache hit (``cache_hit`` True) never reached a provider: its token counts are set
to 0 and the row is tagged ``cache-hit`` (it is still one request). How the request was served,
where the dump has it: ``service_tier`` of the stored ``response`` (or of ``metadata.usage_object``,
which also may carry Anthropic's ``speed`` and ``inference_geo``).

Langfuse observations (C5), JSON pages / arrays / JSONL: every observation that carries usage is
a row, whatever its type (``GENERATION``, ``EMBEDDING``, ``AGENT`` …); those that carry none
(spans, events, tools …) are skipped and counted by type. A ``GENERATION`` with no usage is rejected.
Tokens come from ``usageDetails`` with Langfuse's
own rule — its SDKs store disjoint buckets, so keys containing ``input`` (or ``cache``) sum to
the input and keys containing ``output`` to the output; Gemini's raw keys (``promptTokenCount``
…) are mapped as in the Gemini reader. Falls back to the deprecated ``usage{input,output}``.
Billed cost = ``costDetails.total`` | ``calculatedTotalCost`` | ``totalCost``.

Helicone export (C6) from ``@helicone/export``: JSONL (its default: one ``HeliconeRequest`` object
a line, as the ``query-clickhouse`` API returns it), a JSON array, or CSV. ``prompt_tokens``,
``completion_tokens``, ``prompt_cache_read_tokens`` / ``prompt_cache_write_tokens`` (JSONL only;
taken as subsets of ``prompt_tokens`` unless they exceed it, then added in — unverified),
``cost`` | ``cost_usd`` | ``costUSD`` (USD), ``latency`` | ``delay_ms`` (ms),
``time_to_first_token`` (ms), ``provider`` (``OPENAI`` …), ``request_properties`` (JSON object →
``key:value`` tags; the CSV exporter's doubled quotes are tolerated).

Portkey log export (C9), JSONL / JSON / CSV: ``req_units`` / ``res_units`` are the prompt /
completion tokens, ``ai_model`` / ``ai_org`` the model / provider, ``response_time`` ms. ``cost``
is read as CENTS (the documented assumption in formats.md C9, unverified) unless
``cost_currency`` says otherwise; non-USD currencies are rejected. The provider response is read
from ``response`` or, as the log export nests it, ``response.body`` (a JSON string is parsed):
its usage gives the cache reads/writes (OpenAI's ``prompt_tokens_details`` or Anthropic's
``cache_*_input_tokens``, whose input excludes them: ``req_units`` is raised to the inclusive
total), reasoning tokens and ``service_tier``.

The OpenRouter activity CSV, Langfuse and Helicone exports carry no service tier.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa

from llmaudit.ingest.envelope import norm_tags, safe_key_label
from llmaudit.ingest.lines import csv_header, first_json_record, read_csv_rows, read_json_records
from llmaudit.ingest.rows import (
    RowError,
    get_path,
    guess_provider,
    opt_decimal,
    opt_float,
    opt_int,
    opt_str,
    parse_bool,
    parse_timestamp,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext
from llmaudit.schema import normalize_inference_geo, normalize_service_tier, normalize_speed

__all__ = [
    "read_helicone",
    "read_langfuse",
    "read_litellm",
    "read_openrouter",
    "read_openrouter_generation",
    "read_portkey",
    "sniff_helicone",
    "sniff_langfuse",
    "sniff_litellm",
    "sniff_openrouter",
    "sniff_openrouter_generation",
    "sniff_portkey",
]


def _maybe_json(value: Any) -> Any:
    """A JSON-encoded cell (CSV exports stringify objects) → the object; otherwise unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            try:   # exporters that double-escape quotes (Helicone): "" → "
                return orjson.loads(value.replace('""', '"'))
            except orjson.JSONDecodeError:
                return None
    return value


def _tokens_present(*values: Any) -> bool:
    return any(v not in (None, "") for v in values)


def _ms_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    ms = (end - start).total_seconds() * 1000.0
    return ms if ms >= 0 else None


def _records(value: Any) -> list[Any]:
    """A page ``{"data": [...]}`` or a record → records."""
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return list(value["data"])
    return [value]


def _is_json(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")


def _first_record(head: bytes) -> dict[str, Any] | None:
    rec = first_json_record(head)
    if isinstance(rec, list):
        rec = rec[0] if rec else None
    if isinstance(rec, dict) and isinstance(rec.get("data"), list):
        rec = rec["data"][0] if rec["data"] else None
    return rec if isinstance(rec, dict) else None


def _usage_details(usage: dict[str, Any], where: str) -> dict[str, Any]:
    """Cache and reasoning counts of a provider usage object, OpenAI's or Anthropic's spelling.

    ``disjoint`` is True for Anthropic's shape (``input_tokens`` excludes cache reads and writes);
    ``input_tokens`` is then the inclusive total. The 1-hour share of cache writes comes from
    ``cache_creation.ephemeral_1h_input_tokens`` (Anthropic) when the usage has it.
    """
    read = opt_int(get_path(usage, "prompt_tokens_details", "cached_tokens"), f"{where} cached_tokens")
    anthropic_read = opt_int(usage.get("cache_read_input_tokens"), f"{where} cache_read_input_tokens")
    write = opt_int(usage.get("cache_creation_input_tokens"), f"{where} cache_creation_input_tokens")
    if write is None:
        write = opt_int(get_path(usage, "prompt_tokens_details", "cache_write_tokens")
                        or get_path(usage, "prompt_tokens_details", "cache_creation_tokens"),
                        f"{where} cache write tokens")
    write_1h = opt_int(get_path(usage, "cache_creation", "ephemeral_1h_input_tokens"),
                       f"{where} cache_creation.ephemeral_1h_input_tokens")
    disjoint = "input_tokens" in usage and "prompt_tokens" not in usage
    reasoning = opt_int(get_path(usage, "completion_tokens_details", "reasoning_tokens"),
                        f"{where} reasoning_tokens")
    cache_read = read if read is not None else anthropic_read
    total_in = (opt_int(usage.get("input_tokens"), f"{where} input_tokens") or 0) + (cache_read or 0) + (write or 0)
    return {"cache_read_tokens": cache_read, "cache_write_tokens": write,
            "cache_write_1h_tokens": min(write_1h, write or 0) if write_1h is not None else None,
            "reasoning_tokens": reasoning, "disjoint": disjoint, "input_tokens": total_in}


# -------------------------------------------------------------------------------------- OpenRouter

def sniff_openrouter(head: bytes, path: str) -> bool:
    cols = csv_header(head)
    return "generation_id" in cols and "tokens_prompt" in cols


def _openrouter(row: dict[str, str], line: int, ctx: ReadContext) -> dict[str, Any]:
    model = opt_str(row.get("model_permaslug")) or opt_str(row.get("model"))
    if model is None:
        raise RowError("model_permaslug is empty")
    if not _tokens_present(row.get("tokens_prompt"), row.get("tokens_completion")):
        raise RowError("no token counts (tokens_prompt and tokens_completion are empty)")
    # The export has no column of the user's own labels: vendor columns (variant, provider_name,
    # finish reasons …) are not tags. "byok" is the one marker kept, because the reconciliation
    # needs it (a BYOK row bills only OpenRouter's fee; the provider billed the tokens).
    tags = []
    if (opt_float(row.get("byok_usage_inference"), "byok_usage_inference") or 0) > 0:
        tags.append("byok")
    cancelled = parse_bool(row.get("cancelled")) is True
    error = cancelled or (row.get("finish_reason_normalized") or "").lower() == "error"
    return {
        "timestamp": parse_timestamp(row.get("created_at"), "created_at"),
        "model_raw": model,
        # OpenRouter served and billed it, whoever made the model; pricing finds the model's price
        # from the "vendor/model" name with this hint (OpenRouter's listing first, else the maker's).
        "provider": "openrouter",
        "input_tokens": opt_int(row.get("tokens_prompt"), "tokens_prompt") or 0,
        "cache_read_tokens": opt_int(row.get("tokens_cached"), "tokens_cached"),
        "output_tokens": opt_int(row.get("tokens_completion"), "tokens_completion") or 0,
        "reasoning_tokens": opt_int(row.get("tokens_reasoning"), "tokens_reasoning"),
        "billed_cost_usd": opt_float(row.get("cost_total"), "cost_total"),
        "request_id": opt_str(row.get("generation_id")),
        "latency_ms": opt_float(row.get("generation_time_ms"), "generation_time_ms"),
        "ttft_ms": opt_float(row.get("time_to_first_token_ms"), "time_to_first_token_ms"),
        "user": opt_str(row.get("user")),
        "api_key": safe_key_label(row.get("api_key_name")),
        "project": opt_str(row.get("app_name")),
        "status": "error" if error else "ok",
        "tags": tags or None,
        "requests": 1,
    }


def read_openrouter(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_csv_rows(source, ctx, _openrouter)


# ----------------------------------------------------------------------- OpenRouter generation stats

def _generation_records(value: Any) -> list[Any]:
    """``{"data": {...}}`` (one ``GET /api/v1/generation`` answer), a list of those or of bare
    generation objects, or ``{"data": [...]}`` → generation objects."""
    if isinstance(value, list):
        return [r for v in value for r in _generation_records(v)]
    if isinstance(value, dict) and isinstance(value.get("data"), dict | list):
        return _generation_records(value["data"]) if isinstance(value["data"], list) else [value["data"]]
    return [value]


def _is_generation(rec: Any) -> bool:
    return isinstance(rec, dict) and "id" in rec and "model" in rec and (
        "native_tokens_prompt" in rec or "nativeTokensPrompt" in rec
        or ("tokens_prompt" in rec and "total_cost" in rec) or ("tokensPrompt" in rec and "totalCost" in rec)
    )


def sniff_openrouter_generation(head: bytes, path: str) -> bool:
    if not _is_json(head):
        return False
    rec = first_json_record(head)
    found = _generation_records(rec) if rec is not None else []
    return bool(found) and _is_generation(found[0])


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _openrouter_generation(rec: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any]:
    def get(key: str) -> Any:   # the API's snake_case, or the SDKs' camelCase
        value = rec.get(key)
        return rec.get(_camel(key)) if value is None else value

    model = opt_str(get("model"))
    if model is None:
        raise RowError("model is empty")
    # Native counts (the provider's tokenizer) are what the provider billed; tokens_* are
    # OpenRouter's normalized (GPT tokenizer) counts, used only when the native ones are absent.
    prompt, completion = get("native_tokens_prompt"), get("native_tokens_completion")
    source = "native_tokens"
    if not _tokens_present(prompt, completion):
        prompt, completion, source = get("tokens_prompt"), get("tokens_completion"), "tokens"
    if not _tokens_present(prompt, completion):
        raise RowError("no token counts (native_tokens_prompt and tokens_prompt are empty)")
    inp = opt_int(prompt, f"{source}_prompt") or 0
    out = opt_int(completion, f"{source}_completion") or 0
    cached = opt_int(get("native_tokens_cached"), "native_tokens_cached") or 0
    reasoning = opt_int(get("native_tokens_reasoning"), "native_tokens_reasoning") or 0
    byok = parse_bool(get("is_byok")) is True
    cancelled = parse_bool(get("cancelled")) is True
    finish = (opt_str(get("finish_reason")) or "").lower()
    return {
        "timestamp": parse_timestamp(get("created_at"), "created_at"),
        "model_raw": model,
        "provider": "openrouter",
        # OpenAI convention (cached inside the prompt, reasoning inside the completion); a count
        # that exceeds its total is taken as kept apart and added in.
        "input_tokens": inp if cached <= inp else inp + cached,
        "cache_read_tokens": cached,
        "output_tokens": out if reasoning <= out else out + reasoning,
        "reasoning_tokens": reasoning,
        "billed_cost_usd": opt_float(get("total_cost"), "total_cost"),
        "request_id": opt_str(get("id")),
        "latency_ms": opt_float(get("latency"), "latency"),
        "user": opt_str(get("external_user")),
        "service_tier": normalize_service_tier(get("service_tier")),
        "status": "error" if cancelled or finish == "error" else "ok",
        "tags": ["byok"] if byok else None,   # a BYOK row bills only OpenRouter's fee (reconciliation)
        "requests": 1,
    }


def read_openrouter_generation(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_json_records(source, ctx, _openrouter_generation, unwrap=_generation_records)


# ----------------------------------------------------------------------------------------- LiteLLM

_LITELLM_PROVIDERS = {"gemini": "google"}


def sniff_litellm(head: bytes, path: str) -> bool:
    cols = csv_header(head)
    if cols:
        return "request_id" in cols and "spend" in cols and "prompt_tokens" in cols
    rec = _first_record(head) if _is_json(head) else None
    return rec is not None and "spend" in rec and "prompt_tokens" in rec and (
        "startTime" in rec or "call_type" in rec
    )


def _litellm(rec: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any]:
    model = opt_str(rec.get("model")) or opt_str(rec.get("model_group"))
    if model is None:
        raise RowError("model is empty")
    if not _tokens_present(rec.get("prompt_tokens"), rec.get("completion_tokens")):
        raise RowError("no token counts (prompt_tokens and completion_tokens are empty)")
    metadata = _maybe_json(rec.get("metadata"))
    usage = get_path(metadata, "usage_object") if isinstance(metadata, dict) else None
    start = parse_timestamp(rec.get("startTime"), "startTime")
    end = parse_timestamp(rec["endTime"], "endTime") if opt_str(rec.get("endTime")) else None
    first = (parse_timestamp(rec["completionStartTime"], "completionStartTime")
             if opt_str(rec.get("completionStartTime")) else None)
    latency = opt_float(rec.get("request_duration_ms"), "request_duration_ms")
    if latency is None:
        latency = _ms_between(start, end)
    ttft = _ms_between(start, first) if first is not None and first != end else None
    named = (opt_str(rec.get("custom_llm_provider")) or "").lower()
    provider = _LITELLM_PROVIDERS.get(named, named) or guess_provider(model, "unknown")
    status = (opt_str(rec.get("status")) or "success").lower()
    tags = norm_tags(_maybe_json(rec.get("request_tags"))) or []
    row: dict[str, Any] = {
        "timestamp": start,
        "model_raw": model,
        "provider": provider,
        "input_tokens": opt_int(rec.get("prompt_tokens"), "prompt_tokens") or 0,
        "output_tokens": opt_int(rec.get("completion_tokens"), "completion_tokens") or 0,
        "billed_cost_usd": opt_float(rec.get("spend"), "spend"),
        "request_id": opt_str(rec.get("request_id")),
        "latency_ms": latency,
        "ttft_ms": ttft,
        "status": "error" if status in ("failure", "error", "failed") else "ok",
        "user": opt_str(rec.get("user")) or opt_str(rec.get("end_user")),
        "project": opt_str(rec.get("team_id")),
        "session": opt_str(rec.get("session_id"))
        or (opt_str(metadata.get("session_id")) if isinstance(metadata, dict) else None),
        "api_key": safe_key_label(get_path(metadata, "user_api_key_alias") if isinstance(metadata, dict) else None)
        or opt_str(rec.get("api_key")),
        "requests": 1,
    }
    if isinstance(usage, dict):
        row["cache_read_tokens"] = opt_int(
            get_path(usage, "prompt_tokens_details", "cached_tokens") or usage.get("cache_read_input_tokens"),
            "metadata.usage_object cached tokens")
        row["cache_write_tokens"] = opt_int(
            usage.get("cache_creation_input_tokens")
            or get_path(usage, "prompt_tokens_details", "cache_creation_tokens"),
            "metadata.usage_object cache creation tokens")
        row["reasoning_tokens"] = opt_int(get_path(usage, "completion_tokens_details", "reasoning_tokens"),
                                          "metadata.usage_object reasoning tokens")
    if isinstance(metadata, dict):
        row["gateway_price"] = _litellm_price(metadata.get("model_map_information"))
    response = _maybe_json(rec.get("response"))
    if row.get("cache_write_tokens"):
        row["cache_write_1h_tokens"] = min(_litellm_1h_writes(metadata, usage, response) or 0,
                                           row["cache_write_tokens"])
    tier = get_path(response, "service_tier")
    if isinstance(usage, dict):
        tier = tier if tier is not None else usage.get("service_tier")
        row["speed"] = normalize_speed(usage.get("speed"))
        row["inference_geo"] = normalize_inference_geo(usage.get("inference_geo"))
    row["service_tier"] = normalize_service_tier(tier)
    if parse_bool(rec.get("cache_hit")) is True:
        # Served from the proxy cache: no provider call, nothing billed by the provider.
        for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            row[key] = 0
        tags.append("cache-hit")
    row["tags"] = tags or None
    return row


_LITELLM_RATES = (
    ("input_cost_per_token", "input"),
    ("output_cost_per_token", "output"),
    ("cache_read_input_token_cost", "cache read"),
    ("cache_creation_input_token_cost", "cache write"),
    ("cache_creation_input_token_cost_above_1hr", "1h cache write"),
)


def _per_million(value: Any) -> str | None:
    try:
        amount = opt_decimal(value, "model_map_information rate")
    except RowError:
        return None
    if amount is None:
        return None
    text = format((amount * 1_000_000).normalize(), "f")
    return f"${text}/M"


def _litellm_price(info: Any) -> str | None:
    """``metadata.model_map_information`` (``{model_map_key, model_map_value: ModelInfo}``) → the
    price LiteLLM itself used, as one line: ``key: input $3/M, output $15/M, …``."""
    info = _maybe_json(info)
    if not isinstance(info, dict):
        return None
    value = info.get("model_map_value")
    key = opt_str(info.get("model_map_key")) or opt_str(get_path(value, "key"))
    parts = []
    if isinstance(value, dict):
        for field, label in _LITELLM_RATES:
            rate = _per_million(value.get(field))
            if rate is not None:
                parts.append(f"{label} {rate}")
    if key is None and not parts:
        return None
    return f"{key or '?'}: {', '.join(parts)}" if parts else key


def _litellm_1h_writes(metadata: Any, usage: Any, response: Any) -> int | None:
    """The 1-hour share of cache writes, where LiteLLM logged Anthropic's TTL split: its Usage keeps
    it in ``prompt_tokens_details.cache_creation_token_details`` (litellm 1.110.2 ``types/utils.py``
    ``CacheCreationTokenDetails``); a raw Anthropic ``cache_creation`` may sit beside it, in
    ``metadata.additional_usage_values`` or in the stored response's usage."""
    places = (usage, get_path(metadata, "additional_usage_values") if isinstance(metadata, dict) else None,
              get_path(response, "usage"))
    for place in places:
        if not isinstance(place, dict):
            continue
        for path in (("prompt_tokens_details", "cache_creation_token_details"), ("cache_creation",),
                     ("cache_creation_token_details",)):
            value = get_path(place, *path, "ephemeral_1h_input_tokens")
            if value is not None:
                return opt_int(value, "ephemeral_1h_input_tokens")
    return None


def read_litellm(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    if _is_json(source.head):
        yield from read_json_records(source, ctx, _litellm, unwrap=_records)
    else:
        yield from read_csv_rows(source, ctx, _litellm)


# ---------------------------------------------------------------------------------------- Langfuse

def sniff_langfuse(head: bytes, path: str) -> bool:
    rec = _first_record(head) if _is_json(head) else None
    if rec is None:
        return False
    return "traceId" in rec and ("usageDetails" in rec or "usage" in rec or rec.get("type") in _LANGFUSE_TYPES)


# Langfuse observation types (ObservationType): any of them may carry usage.
_LANGFUSE_TYPES = frozenset({"GENERATION", "EMBEDDING", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR",
                             "GUARDRAIL", "SPAN", "EVENT"})


_GEMINI_KEYS = ("promptTokenCount", "prompt_token_count")


def _langfuse_tokens(details: dict[str, Any]) -> dict[str, int]:
    def n(key: str) -> int:
        return opt_int(details.get(key), f"usageDetails.{key}") or 0

    if any(k in details for k in _GEMINI_KEYS):
        prompt = n("promptTokenCount") + n("prompt_token_count") + n("toolUsePromptTokenCount")
        cached = n("cachedContentTokenCount") + n("cached_content_token_count")
        thoughts = n("thoughtsTokenCount") + n("thoughts_token_count") + n("output_reasoning")
        out = n("candidatesTokenCount") + n("candidates_token_count") + n("output") + thoughts
        return {"input_tokens": prompt, "cache_read_tokens": cached, "output_tokens": out,
                "reasoning_tokens": thoughts, "cache_write_tokens": 0, "cache_write_1h_tokens": 0}
    tok = {"input_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0, "cache_write_1h_tokens": 0,
           "output_tokens": 0, "reasoning_tokens": 0}
    for key, value in details.items():
        k = key.lower()
        if k == "total" or "total" in k or isinstance(value, dict | list):
            continue
        count = opt_int(value, f"usageDetails.{key}") or 0
        if "input" in k or "cache" in k or "prompt" in k:
            tok["input_tokens"] += count
            if "cache_read" in k or "cached" in k:
                tok["cache_read_tokens"] += count
            elif "cache_creation" in k or "cache_write" in k:
                tok["cache_write_tokens"] += count
                if "1h" in k:
                    tok["cache_write_1h_tokens"] += count
        elif "output" in k or "completion" in k or "reasoning" in k:
            tok["output_tokens"] += count
            if "reasoning" in k or "thought" in k:
                tok["reasoning_tokens"] += count
    return tok


def _carries_usage(rec: dict[str, Any]) -> bool:
    """Whether an observation reports any usage: a non-zero count in ``usageDetails`` (totals
    aside) or in the deprecated ``usage{input,output}``."""
    details = rec.get("usageDetails")
    if isinstance(details, dict) and any(
        "total" not in str(k).lower() and v not in (None, 0, "", "0") and not isinstance(v, dict | list)
        for k, v in details.items()
    ):
        return True
    usage = rec.get("usage")
    return isinstance(usage, dict) and any(usage.get(k) not in (None, 0, "", "0") for k in ("input", "output"))


def _langfuse(rec: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any] | None:
    kind = rec.get("type")
    if kind is not None and kind != "GENERATION" and not _carries_usage(rec):
        # Spans, events, tools …: no usage of their own (a generation inside them carries it).
        ctx.skip(f"Langfuse {kind} observation (no usage)")
        return None
    model = opt_str(rec.get("model")) or opt_str(rec.get("providedModelName"))
    if model is None:
        raise RowError("model is missing")
    details = rec.get("usageDetails")
    if isinstance(details, dict) and details:
        tokens = _langfuse_tokens(details)
    elif isinstance(rec.get("usage"), dict) and _tokens_present(rec["usage"].get("input"), rec["usage"].get("output")):
        tokens = {"input_tokens": opt_int(rec["usage"].get("input"), "usage.input") or 0,
                  "output_tokens": opt_int(rec["usage"].get("output"), "usage.output") or 0}
    else:
        raise RowError("no usage (usageDetails is empty or missing)")
    start = parse_timestamp(rec.get("startTime"), "startTime")
    end = parse_timestamp(rec["endTime"], "endTime") if rec.get("endTime") else None
    first = (parse_timestamp(rec["completionStartTime"], "completionStartTime")
             if rec.get("completionStartTime") else None)
    latency = _ms_between(start, end)
    if latency is None and rec.get("latency") is not None:
        latency = (opt_float(rec.get("latency"), "latency") or 0) * 1000.0   # seconds (assumed)
    cost = get_path(rec, "costDetails", "total")
    if cost is None:
        cost = rec.get("calculatedTotalCost", rec.get("totalCost"))
    level = opt_str(rec.get("level"))
    row: dict[str, Any] = {
        **tokens,
        "timestamp": start,
        "model_raw": model,
        "provider": guess_provider(model, "unknown"),
        "billed_cost_usd": opt_float(cost, "costDetails.total"),
        "request_id": opt_str(rec.get("id")),
        "latency_ms": latency,
        "ttft_ms": _ms_between(start, first),
        "status": "error" if level == "ERROR" else "ok",
        "user": opt_str(rec.get("userId")),
        "project": opt_str(rec.get("projectId")),
        "session": opt_str(rec.get("sessionId")),
        "tags": norm_tags(rec.get("tags")),
        "requests": 1,
    }
    return row


def read_langfuse(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_json_records(source, ctx, _langfuse, unwrap=_records)


# ---------------------------------------------------------------------------------------- Helicone

def sniff_helicone(head: bytes, path: str) -> bool:
    cols = csv_header(head)
    if cols:
        return "response_id" in cols and "prompt_tokens" in cols and (
            "request_created_at" in cols or "response_created_at" in cols
        )
    rec = _first_record(head) if _is_json(head) else None
    return rec is not None and "response_id" in rec and (
        "request_created_at" in rec or "response_created_at" in rec
    ) and ("prompt_tokens" in rec or "completion_tokens" in rec or "total_tokens" in rec)


_HELICONE_PROVIDERS = {"google": "google", "gemini": "google", "vertex": "google", "aws": "bedrock",
                       "azure": "azure", "openai": "openai", "anthropic": "anthropic", "openrouter": "openrouter",
                       "bedrock": "bedrock", "groq": "groq", "mistral": "mistral", "deepseek": "deepseek",
                       "x": "xai", "xai": "xai", "together": "together", "fireworks": "fireworks"}


def _helicone(row: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any]:
    model = opt_str(row.get("model")) or opt_str(row.get("response_model")) or opt_str(row.get("request_model"))
    if model is None:
        raise RowError("model is empty")
    if not _tokens_present(row.get("prompt_tokens"), row.get("completion_tokens")):
        raise RowError("no token counts (prompt_tokens and completion_tokens are empty)")
    status = opt_int(row.get("response_status"), "response_status")
    props = _maybe_json(row.get("request_properties"))
    cost = next((row[k] for k in ("cost", "cost_usd", "costUSD") if opt_str(row.get(k)) is not None), None)
    ts = row.get("request_created_at") or row.get("response_created_at")
    inp = opt_int(row.get("prompt_tokens"), "prompt_tokens") or 0
    read = opt_int(row.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens") or 0
    write = opt_int(row.get("prompt_cache_write_tokens"), "prompt_cache_write_tokens") or 0
    if read + write > inp:
        # Counts kept apart from prompt_tokens (Anthropic's convention): make the input inclusive.
        inp += read + write
    named = (opt_str(row.get("provider")) or "").lower()
    provider = _HELICONE_PROVIDERS.get(named) or guess_provider(model, named or "unknown")
    latency = opt_float(row.get("latency"), "latency")
    if latency is None:
        latency = opt_float(row.get("delay_ms"), "delay_ms")
    return {
        "timestamp": parse_timestamp(ts, "request_created_at"),
        "model_raw": model,
        "provider": provider,
        "input_tokens": inp,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": opt_int(row.get("completion_tokens"), "completion_tokens") or 0,
        "billed_cost_usd": opt_float(cost, "cost"),
        "request_id": opt_str(row.get("response_id")) or opt_str(row.get("request_id")),
        "latency_ms": latency,
        "ttft_ms": opt_float(row.get("time_to_first_token"), "time_to_first_token"),
        "status": "error" if status is not None and not 200 <= status < 300 else "ok",
        "user": opt_str(row.get("request_user_id")),
        "tags": norm_tags(props) if isinstance(props, dict) else None,
        "requests": 1,
    }


def read_helicone(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    if _is_json(source.head):
        yield from read_json_records(source, ctx, _helicone, unwrap=_records)
    else:
        yield from read_csv_rows(source, ctx, _helicone)


# ----------------------------------------------------------------------------------------- Portkey

def sniff_portkey(head: bytes, path: str) -> bool:
    cols = csv_header(head)
    if cols:
        return "ai_model" in cols and "req_units" in cols
    rec = _first_record(head) if _is_json(head) else None
    return rec is not None and "ai_model" in rec and "req_units" in rec


def _portkey(rec: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any]:
    model = opt_str(rec.get("ai_model"))
    if model is None:
        raise RowError("ai_model is empty")
    if not _tokens_present(rec.get("req_units"), rec.get("res_units")):
        raise RowError("no token counts (req_units and res_units are empty)")
    currency = (opt_str(rec.get("cost_currency")) or "USD").upper()
    cents = opt_decimal(rec.get("cost"), "cost")
    if cents is not None and currency != "USD":
        raise RowError(f"cost_currency is {currency}; only USD amounts are supported")
    response = _maybe_json(rec.get("response"))
    body = _maybe_json(get_path(response, "body"))
    # The provider's response is the export's ``response`` itself or, as Portkey's log export
    # writes it, its ``response.body``; usage details come from whichever has them.
    answer = body if isinstance(body, dict) and isinstance(body.get("usage"), dict) else response
    usage = get_path(answer, "usage")
    cache = _usage_details(usage if isinstance(usage, dict) else {}, "response.usage")
    inp = opt_int(rec.get("req_units"), "req_units") or 0
    if cache["disjoint"] and cache["cache_read_tokens"] + cache["cache_write_tokens"] > 0:
        # Anthropic's usage keeps cache reads and writes out of input_tokens; req_units follows it.
        inp = max(inp, cache["input_tokens"])
    code = opt_int(rec.get("response_status_code"), "response_status_code")
    ok = parse_bool(rec.get("is_success"))
    error = ok is False or (code is not None and code >= 400)
    metadata = _maybe_json(rec.get("metadata"))
    provider = (opt_str(rec.get("ai_org")) or "").lower() or guess_provider(model, "unknown") or "unknown"
    return {
        "timestamp": parse_timestamp(rec.get("created_at"), "created_at"),
        "model_raw": model,
        "provider": _LITELLM_PROVIDERS.get(provider, provider),
        "input_tokens": inp,
        "output_tokens": opt_int(rec.get("res_units"), "res_units") or 0,
        "cache_read_tokens": cache["cache_read_tokens"],
        "cache_write_tokens": cache["cache_write_tokens"],
        "cache_write_1h_tokens": cache["cache_write_1h_tokens"],
        "reasoning_tokens": cache["reasoning_tokens"],
        "service_tier": normalize_service_tier(get_path(answer, "service_tier") or get_path(response, "service_tier")
                                               or get_path(usage, "service_tier")),
        "billed_cost_usd": float(cents / Decimal(100)) if cents is not None else None,
        "request_id": opt_str(rec.get("id")),
        "latency_ms": opt_float(rec.get("response_time"), "response_time"),
        "status": "error" if error else "ok",
        "user": opt_str(get_path(metadata, "_user")) if isinstance(metadata, dict) else None,
        "tags": norm_tags({k: v for k, v in metadata.items() if k != "_user" and not isinstance(v, dict | list)})
        if isinstance(metadata, dict) else None,
        "requests": 1,
    }


def read_portkey(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    if _is_json(source.head):
        yield from read_json_records(source, ctx, _portkey, unwrap=_records)
    else:
        yield from read_csv_rows(source, ctx, _portkey)
