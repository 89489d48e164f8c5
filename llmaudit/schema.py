"""The normalized usage record: one Arrow schema, defined once (DESIGN §4.3).

Every ingest reader and the replay runner produce tables of this schema; nothing past those
boundaries reads a vendor's field names. Token semantics are fixed here and every reader converts
to them:

* ``input_tokens`` counts ALL prompt tokens, cached or not (the OpenAI convention). Anthropic
  readers add cache reads and cache writes in, because Anthropic's own ``input_tokens`` excludes them.
* ``cache_read_tokens`` and ``cache_write_tokens`` are subsets of ``input_tokens``;
  ``cache_write_1h_tokens`` is the subset of ``cache_write_tokens`` written with the 1-hour TTL
  (the rest are 5-minute writes).
* ``output_tokens`` counts ALL completion tokens, reasoning included (Gemini readers add
  ``thoughtsTokenCount`` in); ``reasoning_tokens`` is a subset of it.
* ``service_tier``, ``speed``, ``inference_geo`` and ``context_tier`` say how a request was served
  (pricing modifiers: tier rates, fast mode, data residency, the long-context window of an
  aggregated row). Readers fill them whenever the source says; null means the source did not say.
  ``MODIFIER_COLUMNS`` lists them; ``normalize_service_tier`` & co. are the one spelling rule.
* ``cost_usd`` is recomputed from the price catalog and is null — never 0 — when the model or a
  needed rate is unknown; ``price_status`` says why. ``billed_cost_usd`` is what the source itself
  reported, null when it reported nothing.

Columns in ``REQUIRED`` are always present; the optional ones are present in every table too
(null when a source lacks them), so downstream code never branches on column existence.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.errors import InputError

__all__ = [
    "COLUMN_DOCS",
    "MODIFIER_COLUMNS",
    "REQUIRED",
    "SCHEMA_VERSION",
    "TOKEN_COLUMNS",
    "USAGE_SCHEMA",
    "conform",
    "empty_table",
    "from_pylist",
    "normalize_context_tier",
    "normalize_inference_geo",
    "normalize_service_tier",
    "normalize_speed",
    "validate",
]

SCHEMA_VERSION = "usage/1"

TIMESTAMP = pa.timestamp("us", tz="UTC")

_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("timestamp", TIMESTAMP, "UTC, timezone-aware; start of the bucket for aggregated rows"),
    ("provider", pa.string(), "canonical provider (openai, anthropic, google, ...)"),
    ("model", pa.string(), "canonical model id 'provider/model' once priced; the raw name before"),
    ("model_raw", pa.string(), "the model name exactly as the source spelled it"),
    ("model_vendor", pa.string(), "who made the model (anthropic for Claude on Bedrock or through OpenRouter); "
                                  "provider stays who served and billed it; null when unknown"),
    ("input_tokens", pa.int64(), "ALL prompt tokens, cached or not"),
    ("cache_read_tokens", pa.int64(), "prompt tokens read from a cache (subset of input_tokens)"),
    ("cache_write_tokens", pa.int64(), "prompt tokens written to a cache, all TTLs (subset of input)"),
    ("cache_write_1h_tokens", pa.int64(), "1-hour-TTL cache writes (subset of cache_write_tokens)"),
    ("output_tokens", pa.int64(), "ALL completion tokens, reasoning included"),
    ("reasoning_tokens", pa.int64(), "reasoning/thinking tokens (subset of output_tokens)"),
    ("requests", pa.int64(), "requests this row stands for (1 per request log line, N per bucket)"),
    ("cost_usd", pa.float64(), "recomputed from the catalog; null when unknown, never 0"),
    ("billed_cost_usd", pa.float64(), "cost the source itself reported, null if none"),
    ("gateway_price", pa.string(), "the price the gateway itself applied, as it logged it (LiteLLM "
                                   "model_map_information: map key and $ per million tokens); null if none"),
    ("price_status", pa.string(), "priced | unknown_model | missing_rate | unpriced (not yet priced)"),
    ("source_format", pa.string(), "the reader that produced the row"),
    ("batch", pa.bool_(), "billed at batch rates (such rows also have service_tier 'batch')"),
    ("service_tier", pa.string(),
     "how the source says the request was served, lowercase: standard | batch | flex | priority | scale | ..."
     " (OpenAI's 'default'/'auto' read as standard; other values kept); null when unknown"),
    ("speed", pa.string(), "'fast' for Anthropic fast mode; null for standard speed or when unknown"),
    ("inference_geo", pa.string(), "where inference ran, as Anthropic's usage.inference_geo says (us, global, ...)"),
    ("context_tier", pa.string(),
     "long-context window the source says an aggregated row fell in, verbatim (Anthropic '0-200k', '200k-1M')"),
    ("web_search_requests", pa.int64(), "server-side web searches billed per call"),
    ("request_id", pa.string(), "provider or gateway request id, used for de-duplication"),
    ("message_id", pa.string(), "the API message id where a source logs it apart from the request id (Claude Code "
                                "message.id): request_id + message_id identify one request"),
    ("latency_ms", pa.float64(), "end-to-end latency"),
    ("ttft_ms", pa.float64(), "time to first token (streaming only)"),
    ("status", pa.string(), "ok | error"),
    ("user", pa.string(), "end user, when the source has it"),
    ("session", pa.string(), "conversation or session id, when the source has it"),
    ("project", pa.string(), "project / workspace / team"),
    ("host", pa.string(), "the machine an export came from (ingest --host, or a reader that can tell)"),
    ("api_key", pa.string(), "api key alias or id (never a key)"),
    ("tags", pa.list_(pa.string()), "free-form tags"),
    ("usage_estimated", pa.bool_(), "token counts were estimated locally, not reported"),
    ("tier_undetermined", pa.bool_(), "priced at base rates though the row stands for several requests and one "
                                      "may have crossed a long-context threshold (set by pricing)"),
    ("source_file", pa.string(), "file the row came from"),
    ("source_line", pa.int64(), "1-based line (or CSV row) in source_file"),
]

USAGE_SCHEMA = pa.schema(
    [pa.field(name, dtype) for name, dtype, _ in _FIELDS],
    metadata={"llmaudit.schema": SCHEMA_VERSION},
)
COLUMN_DOCS: dict[str, str] = {name: doc for name, _, doc in _FIELDS}
REQUIRED = (
    "timestamp",
    "provider",
    "model",
    "model_raw",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "requests",
    "cost_usd",
    "billed_cost_usd",
    "source_format",
)
TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
# How a request was served (pricing modifiers), as the source says; null when it does not.
MODIFIER_COLUMNS = ("service_tier", "speed", "inference_geo", "context_tier")
# Counts that can never be negative.
_COUNT_COLUMNS = (*TOKEN_COLUMNS, "requests", "web_search_requests")


# ------------------------------------------------------------------ modifier spelling, defined once
# Readers hand over what the source wrote; ``ingest.rows.finish_table`` applies these per distinct
# value, so every reader (and both paths of a vectorized one) spells a modifier the same way.

# OpenAI answers "default" for the standard tier (and "auto" where a request's choice is echoed);
# Gemini's usageMetadata.trafficType names tiers in its own words.
_TIER_ALIASES = {
    "default": "standard",
    "auto": "standard",
    "on_demand": "standard",
    "on_demand_flex": "flex",
    "on_demand_priority": "priority",
    "traffic_type_unspecified": "",
}
# What the API writes when it does not say where inference ran.
_GEO_UNKNOWN = "not_available"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def normalize_service_tier(value: Any) -> str | None:
    """``"Default"`` → ``standard``, ``"FLEX"`` → ``flex``; an unknown tier is kept (lowercase)."""
    text = _text(value)
    if text is None:
        return None
    tier = text.lower()
    tier = _TIER_ALIASES.get(tier, tier)
    return tier or None


def normalize_speed(value: Any) -> str | None:
    """``fast`` for fast mode; standard speed (or none said) is null; another mode is kept (lowercase)."""
    text = _text(value)
    if text is None:
        return None
    speed = text.lower()
    return None if speed == "standard" else speed


def normalize_inference_geo(value: Any) -> str | None:
    """``"US"`` → ``us``; ``not_available`` (the API's "unknown") → null."""
    text = _text(value)
    if text is None:
        return None
    geo = text.lower()
    return None if geo == _GEO_UNKNOWN else geo


def normalize_context_tier(value: Any) -> str | None:
    """The source's own label (``0-200k``, ``200k-1M``), kept verbatim; empty → null."""
    return _text(value)


def empty_table() -> pa.Table:
    return USAGE_SCHEMA.empty_table()


def conform(table: pa.Table) -> pa.Table:
    """Add missing optional columns as nulls, drop nothing, order and cast to ``USAGE_SCHEMA``.

    Extra columns a reader adds are kept after the schema's own columns.
    """
    missing = [n for n in REQUIRED if n not in table.column_names and n not in ("cost_usd", "price_status")]
    if missing and table.num_rows:
        raise InputError(f"record table lacks required columns: {', '.join(missing)}")
    arrays = []
    for fld in USAGE_SCHEMA:
        if fld.name in table.column_names:
            col = table.column(fld.name)
            if col.type != fld.type:
                col = col.cast(fld.type)
            arrays.append(col)
        else:
            arrays.append(pa.nulls(table.num_rows, fld.type))
    extras = [n for n in table.column_names if n not in USAGE_SCHEMA.names]
    names = [*USAGE_SCHEMA.names, *extras]
    arrays.extend(table.column(n) for n in extras)
    out = pa.Table.from_arrays(arrays, names=names)
    return out.replace_schema_metadata(USAGE_SCHEMA.metadata)


def from_pylist(rows: list[dict[str, Any]]) -> pa.Table:
    """Build a conforming table from plain dicts (tests, small readers)."""
    present = {k for row in rows for k in row}
    schema = pa.schema([f for f in USAGE_SCHEMA if f.name in present])
    extras = sorted(present - set(USAGE_SCHEMA.names))
    if extras:
        raise InputError(f"unknown record columns: {', '.join(extras)}")
    return conform(pa.Table.from_pylist(rows, schema=schema))


def validate(table: pa.Table) -> pa.Table:
    """Conform ``table`` and check the token invariants; raises ``InputError`` naming the row.

    Readers validate row by row (so they can reject and count); this is the final guard that a
    table handed across a layer boundary honours the semantics above.
    """
    table = conform(table)
    for name in _COUNT_COLUMNS:
        col = table.column(name)
        negative = pc.fill_null(pc.less(col, 0), False)
        if pc.any(negative).as_py():
            _raise_at(table, negative, f"{name} is negative")
    checks = [
        ("cache_read_tokens + cache_write_tokens exceed input_tokens",
         pc.greater(pc.add(_zero(table, "cache_read_tokens"), _zero(table, "cache_write_tokens")),
                    _zero(table, "input_tokens"))),
        ("cache_write_1h_tokens exceed cache_write_tokens",
         pc.greater(_zero(table, "cache_write_1h_tokens"), _zero(table, "cache_write_tokens"))),
        ("reasoning_tokens exceed output_tokens",
         pc.greater(_zero(table, "reasoning_tokens"), _zero(table, "output_tokens"))),
        ("cost_usd is negative", pc.fill_null(pc.less(table.column("cost_usd"), 0), False)),
    ]
    for message, mask in checks:
        if pc.any(mask).as_py():
            _raise_at(table, mask, message)
    if pc.any(pc.is_null(table.column("timestamp"))).as_py():
        _raise_at(table, pc.is_null(table.column("timestamp")), "timestamp is missing")
    return table


def _zero(table: pa.Table, name: str) -> pa.ChunkedArray:
    return pc.fill_null(table.column(name), 0)


def _raise_at(table: pa.Table, mask: Any, message: str) -> None:
    index = pc.index(mask, True).as_py()
    path = table.column("source_file")[index].as_py()
    line = table.column("source_line")[index].as_py()
    raise InputError(f"{message} (row {index})", path=path, line=line)
