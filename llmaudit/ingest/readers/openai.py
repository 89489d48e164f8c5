"""OpenAI request logs: JSONL of Chat Completions or Responses objects, bare or wrapped.

What a response object means (token semantics, the two usage spellings, billed cost, service tier,
searches) is declared once in ``ingest.layouts.openai``; this reader adds the request-log wrapper
(``envelope``), the provider (a gateway's ``vendor/model`` prefix, else openai) and the stream
chunks without usage (skipped).

Speed: the whole file is read in 32 MiB chunks; each chunk is parsed by ``pyarrow.json`` with the
explicit schema the layout derives (vectorized, ``fastjson``), and only a chunk that pyarrow cannot
parse, or rows that fail a vectorized check, go through ``normalize``, which names the line and the
reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.envelope import split_envelope
from llmaudit.ingest.fastjson import read_openai
from llmaudit.ingest.layouts.openai import OPENAI_RESPONSE
from llmaudit.ingest.lines import first_record
from llmaudit.ingest.rows import RowError, opt_str, parse_timestamp, response_provider
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

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
    model = opt_str(resp.get("model")) or opt_str(obj.get("model"))
    if model is None:
        raise RowError("model is missing")
    if resp.get("usage") is None and resp.get("object") == "chat.completion.chunk":
        # Only the last chunk of a stream carries usage (stream_options.include_usage).
        ctx.skip("stream chunk without usage")
        return None
    row = OPENAI_RESPONSE.read(resp)
    row["model_raw"] = model
    billed_by = response_provider(row.get("request_id"), model)
    # The wrapper's fields (request id, user, status, provider, ...) win over the response's.
    row.update(env.fields)
    row["provider"] = row.get("provider") or billed_by
    if env.timestamp is not None:
        row["timestamp"] = parse_timestamp(env.timestamp, "timestamp (created)")
    elif row["timestamp"] is None:
        raise RowError("timestamp (created) is missing")
    row["source_line"] = line
    return row


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    yield from read_openai(source, ctx, normalize)
