"""A Claude Code transcript line (formats.md C7): an ``assistant`` line carries one API message's
``message.usage`` (Anthropic's usage object) beside the line's own ids and flags."""

from __future__ import annotations

import pyarrow as pa

from llmaudit.ingest.layout import Const, Number, OneOf, Record, Text, Time, Usage
from llmaudit.ingest.layouts.anthropic import ANTHROPIC_USAGE

__all__ = ["CLAUDE_CODE"]

CLAUDE_CODE = Record({
    "model_raw": Text("message", "model", required="message.model is missing"),
    "usage": Usage(("message", "usage"), ANTHROPIC_USAGE),
    "timestamp": Time(("timestamp",), pa.string()),
    "request_id": Text("requestId"),
    "message_id": Text("message", "id"),
    # Written by older Claude Code versions: the cost it computed, kept as the billed cost.
    "billed_cost_usd": Number("costUSD"),
    "session": Text("sessionId"),
    "tags": OneOf(("isSidechain",), (True,), then=("sidechain",)),   # a subagent's request
    "status": OneOf(("isApiErrorMessage",), (True,), then="error", otherwise="ok", absent="ok"),
    # As written; rows.finish_table spells them (and sets batch) for every reader.
    "service_tier": Text("message", "usage", "service_tier"),
    "speed": Text("message", "usage", "speed"),
    "inference_geo": Text("message", "usage", "inference_geo"),
    "provider": Const("anthropic"),
    "requests": Const(1, pa.int64()),
})
