"""OpenCode message files: ``~/.local/share/opencode/storage/message/<session>/msg_*.json``.

One JSON document per message (sst/opencode ``MessageV2.Assistant``): ``id``, ``sessionID``,
``role``, ``time.created`` (epoch milliseconds), ``modelID``, ``providerID``, ``path.cwd`` /
``path.root``, ``cost`` (USD, as OpenCode computed it) and ``tokens: {input, output, reasoning,
cache: {read, write}}``. OpenCode's ``tokens.input`` excludes the cache reads and writes (its
``getUsage`` subtracts them for providers that count them in), so the reader adds them back
(``input_tokens`` counts all prompt tokens); ``reasoning`` is a subset of ``output`` (AI SDK
usage). One row per assistant message, as ccusage's OpenCode adapter counts them; user messages and
messages with no tokens at all are skipped. ``cost`` is kept as the billed cost; ``providerID`` is
the provider; ``request_id`` is the message id (a message read twice counts once); ``project`` is
the basename of ``path.root`` (else ``path.cwd``).

Not read: OpenCode's newer SQLite store (``opencode.db``); export its ``message.data`` JSON instead.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from llmaudit.ingest.lines import read_json_records
from llmaudit.ingest.rows import (
    RowError,
    get_path,
    guess_provider,
    opt_float,
    opt_int,
    opt_str,
    parse_timestamp,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read", "sniff"]


def sniff(head: bytes, path: str) -> bool:
    norm = path.replace("\\", "/")
    if "/storage/message/" in norm and posixpath.basename(norm).startswith("msg_"):
        return True
    return b'"modelID"' in head and b'"providerID"' in head and b'"tokens"' in head and b'"sessionID"' in head


def _project(obj: dict[str, Any]) -> str | None:
    for key in ("root", "cwd"):
        text = opt_str(get_path(obj, "path", key))
        if text and text.strip("/"):
            return posixpath.basename(text.replace("\\", "/").rstrip("/"))
    return None


def _normalize(obj: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any] | None:
    tokens = obj.get("tokens")
    if tokens is None:
        ctx.skip("not an assistant message (no tokens)")
        return None
    if not isinstance(tokens, dict):
        raise RowError(f"tokens is {type(tokens).__name__}, expected an object")
    cache = tokens.get("cache")
    if cache is not None and not isinstance(cache, dict):
        raise RowError(f"tokens.cache is {type(cache).__name__}, expected an object")
    cache = cache or {}
    uncached = opt_int(tokens.get("input"), "tokens.input") or 0
    output = opt_int(tokens.get("output"), "tokens.output") or 0
    reasoning = opt_int(tokens.get("reasoning"), "tokens.reasoning") or 0
    read = opt_int(cache.get("read"), "tokens.cache.read") or 0
    write = opt_int(cache.get("write"), "tokens.cache.write") or 0
    if not (uncached or output or read or write):
        ctx.skip("message without token usage (all zero)")
        return None
    model = opt_str(obj.get("modelID"))
    if model is None:
        raise RowError("modelID is missing")
    provider = opt_str(obj.get("providerID"))
    row: dict[str, Any] = {
        "timestamp": parse_timestamp(get_path(obj, "time", "created"), "time.created"),
        "provider": provider or guess_provider(model),
        "model_raw": model,
        "input_tokens": uncached + read + write,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": output,
        "reasoning_tokens": min(reasoning, output),
        "requests": 1,
        "billed_cost_usd": opt_float(obj.get("cost"), "cost"),
        "request_id": opt_str(obj.get("id")),
        "project": _project(obj),
        "session": opt_str(obj.get("sessionID")),
        "status": "error" if obj.get("error") else "ok",
        "source_line": line,
    }
    return row


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    return read_json_records(source, ctx, _normalize)
