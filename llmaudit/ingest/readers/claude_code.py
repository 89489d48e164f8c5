"""Claude Code transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` (formats.md C7).

Only ``assistant`` lines carry ``message.usage`` (Anthropic semantics: cache reads and writes are
added into ``input_tokens``); every other line (user turns, summaries, snapshots) is counted as
skipped. Lines whose model is ``<synthetic>`` (API-error placeholders) are skipped, as ccusage does.

De-duplication follows ccusage: Claude Code writes one API message on several lines (one per
content block); lines sharing ``message.id`` + ``requestId`` are one request, and the line with the
largest token total is kept (the others count as duplicates). Across files (resumed sessions copy
history) the scan's request-id de-duplication keeps the first. ``costUSD``, written by older
Claude Code versions, is kept as the billed cost. ``project`` is the folder under ``projects/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

import pyarrow as pa

from llmaudit.ingest.lines import RowBatcher, iter_json_values
from llmaudit.ingest.readers.anthropic import anthropic_usage
from llmaudit.ingest.rows import SHAPE_ERRORS, RowError, get_path, opt_float, opt_str, parse_timestamp, shape_reason
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["read", "sniff"]

SYNTHETIC = "<synthetic>"


def sniff(head: bytes, path: str) -> bool:
    return b'"sessionId"' in head and (
        b'"parentUuid"' in head or b'"isSidechain"' in head or b'"userType"' in head
    )


def _project(path: str) -> str | None:
    parts = PurePath(path).parts
    if "projects" in parts:
        i = len(parts) - 1 - parts[::-1].index("projects")
        if i + 2 < len(parts):   # projects/<project>/<file or session dir>
            return parts[i + 1]
    return parts[-2] if len(parts) >= 2 else None


def _normalize(obj: dict[str, Any], line: int, project: str | None) -> dict[str, Any]:
    message = obj.get("message")
    model = opt_str(get_path(message, "model"))
    if model is None:
        raise RowError("message.model is missing")
    row = anthropic_usage(get_path(message, "usage"), "message.usage")
    row["model_raw"] = model
    row["provider"] = "anthropic"
    row["timestamp"] = parse_timestamp(obj.get("timestamp"))
    row["request_id"] = opt_str(obj.get("requestId"))
    cost = obj.get("costUSD")
    if cost is not None:
        row["billed_cost_usd"] = opt_float(cost, "costUSD")
    row["project"] = project
    tags = []
    if obj.get("isSidechain") is True:
        tags.append("sidechain")
    if get_path(message, "usage", "speed") == "fast":
        tags.append("speed:fast")
    if tags:
        row["tags"] = tags
    row["status"] = "error" if obj.get("isApiErrorMessage") is True else "ok"
    row["requests"] = 1
    row["source_line"] = line
    return row


def _total(row: dict[str, Any]) -> int:
    return int(row["input_tokens"]) + int(row["output_tokens"])


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    project = _project(source.path)
    batcher = RowBatcher(ctx)
    by_key: dict[tuple[str, str], tuple[dict[str, Any], bytes]] = {}
    for obj, line, raw in iter_json_values(source, ctx):
        if not isinstance(obj, dict):
            ctx.reject(line, f"expected a JSON object, got {type(obj).__name__}", raw)
            continue
        if get_path(obj, "message", "usage") is None:
            ctx.skip("not a usage line")
            continue
        if get_path(obj, "message", "model") == SYNTHETIC:
            ctx.skip("<synthetic> placeholder (API error)")
            continue
        try:
            row = _normalize(obj, line, project)
        except SHAPE_ERRORS as exc:
            ctx.reject(line, shape_reason(exc), raw)
            continue
        msg_id = opt_str(get_path(obj, "message", "id"))
        req_id = row["request_id"]
        if msg_id is None or req_id is None:
            batcher.add(row, line, raw)
            continue
        key = (msg_id, req_id)
        prev = by_key.get(key)
        if prev is None:
            by_key[key] = (row, raw)
            continue
        # Same API message written again: one request. Keep the larger token total (ccusage).
        ctx.file.rows_read += 1
        ctx.file.duplicates += 1
        if _total(row) > _total(prev[0]):
            by_key[key] = (row, raw)
    for row, raw in by_key.values():
        batcher.add(row, int(row["source_line"]), raw)
    table = batcher.flush()
    if table is not None:
        yield table
