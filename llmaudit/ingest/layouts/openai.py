"""OpenAI's response objects: Chat Completions (formats.md A1) and Responses (A2).

Chat Completions ``usage``: ``prompt_tokens`` already includes
``prompt_tokens_details.cached_tokens`` (and ``cache_write_tokens`` on newer SDKs);
``completion_tokens`` already includes ``completion_tokens_details.reasoning_tokens``. Responses
``usage`` has the same semantics under ``input_tokens`` / ``output_tokens`` /
``input_tokens_details`` / ``output_tokens_details``. So no arithmetic: the schema uses the OpenAI
convention. A usage object with ``prompt_tokens`` or ``completion_tokens`` is read by the Chat
Completions names throughout, else by the Responses names. OpenAI-compatible servers that report
cache hits beside ``prompt_tokens`` (still a part of it) count where the details have none:
DeepSeek's ``prompt_cache_hit_tokens``, Mistral's ``num_cached_tokens``. Gateways (OpenRouter)
put their charge in ``usage.cost``. Each ``web_search_call`` item in a Responses ``output`` is one
billed search. The response's ``service_tier`` (or a gateway's ``usage.service_tier``) fills the
column; ``status`` ``failed`` / ``cancelled`` (Responses API) means an error.
"""

from __future__ import annotations

import pyarrow as pa

from llmaudit.ingest.layout import (
    Const,
    Count,
    First,
    Matching,
    Number,
    OneOf,
    Record,
    Spelling,
    Text,
    Time,
    Usage,
    UsageLayout,
)

__all__ = ["CHAT", "OPENAI_RESPONSE", "OPENAI_USAGE", "RESPONSES"]

CHAT = "chat"
RESPONSES = "responses"


def _spelling(name: str, inp: str, out: str, details_in: str, details_out: str) -> Spelling:
    return Spelling(
        name,
        when=(inp, out),
        required=inp,
        columns={
            "input_tokens": Count(inp),
            "output_tokens": Count(out),
            "cache_read_tokens": First(Count(details_in, "cached_tokens"), Count("prompt_cache_hit_tokens"),
                                       Count("num_cached_tokens")),
            "cache_write_tokens": Count(details_in, "cache_write_tokens"),
            "reasoning_tokens": Count(details_out, "reasoning_tokens"),
        },
    )


OPENAI_USAGE = UsageLayout(
    spellings=(
        _spelling(CHAT, "prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"),
        _spelling(RESPONSES, "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"),
    ),
    missing="no usage object (interrupted stream, or the request was logged without usage)",
    neither="{where} has neither prompt_tokens nor input_tokens",
)

OPENAI_RESPONSE = Record({
    "model_raw": Text("model"),
    "usage": Usage(("usage",), OPENAI_USAGE),
    "billed_cost_usd": Number("usage", "cost"),
    "timestamp": First(Time(("created",), pa.int64(), "timestamp (created)"),
                       Time(("created_at",), pa.int64(), "timestamp (created)", only=RESPONSES)),
    "request_id": Text("id"),
    "status": OneOf(("status",), ("failed", "cancelled"), then="error", otherwise="ok", absent="ok"),
    "user": Text("user"),
    "service_tier": First(Text("service_tier"), Text("usage", "service_tier")),
    "web_search_requests": Matching(("output",), "type", "web_search_call"),
    "requests": Const(1, pa.int64()),
})
