"""Gemini CLI chat recordings: ``~/.gemini/tmp/<project hash>/chats/session-*.json``.

One JSON document per session (google-gemini/gemini-cli ``ChatRecordingService``'s
``ConversationRecord``): ``sessionId``, ``projectHash``, ``startTime``, ``lastUpdated`` and
``messages``; each ``gemini`` message has ``id``, ``timestamp``, ``model`` and ``tokens`` (a
``TokensSummary`` copied from the response's ``usageMetadata``: ``input`` = promptTokenCount,
``output`` = candidatesTokenCount, ``cached`` = cachedContentTokenCount, ``thoughts``,
``tool`` = toolUsePromptTokenCount, ``total`` = totalTokenCount).

One row per ``gemini`` message with tokens, as ccusage's Gemini adapter counts them. Gemini
semantics, as the ``gemini`` reader: ``input`` includes ``cached``, ``tool`` is added into input,
``thoughts`` into output (and are the reasoning tokens). Where ``total`` shows ``input`` left the
cached tokens out (total = input + output + thoughts + tool + cached, not without the cached), the
cached tokens are added back into input, as ccusage does. Provider ``google``; ``request_id`` is
the message id. User, info and error messages are skipped. ``source_line`` is the message's
1-based position in ``messages``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.lines import RowBatcher, iter_json_values, raw_json
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

__all__ = ["read", "sniff"]


def sniff(head: bytes, path: str) -> bool:
    norm = path.replace("\\", "/")
    if "/.gemini/tmp/" in norm and "/chats/" in norm and posixpath.basename(norm).startswith("session-"):
        return True
    return b'"projectHash"' in head and b'"messages"' in head and b'"sessionId"' in head


def _message_row(msg: dict[str, Any], index: int) -> dict[str, Any]:
    tokens = msg.get("tokens")
    if not isinstance(tokens, dict):
        raise RowError(f"tokens is {type(tokens).__name__}, expected an object")

    def count(name: str) -> int:
        return opt_int(tokens.get(name), f"tokens.{name}") or 0

    prompt, output, cached = count("input"), count("output"), count("cached")
    thoughts, tool = count("thoughts"), count("tool")
    total = opt_int(tokens.get("total"), "tokens.total")
    inclusive = prompt + output + thoughts + tool
    if cached and total is not None and total != inclusive and total == inclusive + cached:
        prompt += cached   # this record's input left the cached tokens out
    prompt = max(prompt, cached)
    model = opt_str(msg.get("model"))
    if model is None:
        raise RowError("model is missing")
    return {
        "timestamp": parse_timestamp(msg.get("timestamp")),
        "provider": guess_provider(model, "google"),
        "model_raw": model,
        "input_tokens": prompt + tool,
        "cache_read_tokens": cached,
        "cache_write_tokens": 0,
        "output_tokens": output + thoughts,
        "reasoning_tokens": thoughts,
        "requests": 1,
        "request_id": opt_str(msg.get("id")),
        "status": "ok",
        "source_line": index,
    }


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    batcher = RowBatcher(ctx)
    for doc, line, raw in iter_json_values(source, ctx):
        if not isinstance(doc, dict):
            ctx.reject(line, f"expected a JSON object, got {type(doc).__name__}", raw)
            continue
        messages = doc.get("messages")
        if not isinstance(messages, list):
            ctx.reject(line, "no messages list (not a Gemini CLI chat recording)", raw)
            continue
        for index, msg in enumerate(messages, start=1):
            if not isinstance(msg, dict):
                ctx.reject(index, f"message is {type(msg).__name__}, expected an object", repr(msg))
                continue
            if msg.get("type") != "gemini" or msg.get("tokens") is None:
                ctx.skip("not a model response with tokens")
                continue
            try:
                row = _message_row(msg, index)
                row["session"] = opt_str(doc.get("sessionId"))
            except SHAPE_ERRORS as exc:
                ctx.reject(index, shape_reason(exc), _raw(msg))
                continue
            if not (row["input_tokens"] or row["output_tokens"]):
                ctx.skip("message without token usage (all zero)")
                continue
            batcher.add(row, index, _raw(msg))
    table = batcher.flush()
    if table is not None:
        yield table


def _raw(msg: dict[str, Any]) -> str:
    """The message without its (long) content, for the reject record."""
    slim = {k: v for k, v in msg.items() if k not in ("content", "thoughts", "toolCalls", "displayContent")}
    return raw_json(slim).decode()   # orjson alone refuses an integer past 64 bits
