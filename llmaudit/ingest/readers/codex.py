"""OpenAI Codex CLI session logs: ``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` (and
``~/.codex/archived_sessions/``).

Every line is ``{"timestamp", "type", "payload"}`` (codex-rs ``RolloutLine``). Three types matter:

* ``session_meta`` — ``payload.id`` (the session id) and ``payload.cwd`` (its basename is the
  ``project``);
* ``turn_context`` — ``payload.model`` (the model of the turns that follow) and ``payload.cwd``;
* ``event_msg`` with ``payload.type == "token_count"`` — ``payload.info.total_token_usage`` (the
  session's cumulative totals) and ``payload.info.last_token_usage`` (the latest request's own),
  each ``{input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens}``.
  ``info`` is null on the first event of a turn (rate limits only): skipped.

One row per token_count event, as ccusage's Codex adapter counts them (so totals match): the
event's ``last_token_usage`` when present, else its cumulative totals minus the previous event's
(each field floored at 0); an event whose four counts are all 0 is skipped (Codex repeats the last
event without new usage). OpenAI semantics: ``input_tokens`` includes the cached
``cached_input_tokens`` (cache reads, capped at the input as ccusage does); ``output_tokens``
includes ``reasoning_output_tokens``. The model is the event's own (``payload.model``,
``payload.info.model``, ``model_name``, ``metadata.model``) or the latest ``turn_context``'s; an
event before any model was named is priced as ``gpt-5`` (ccusage's fallback) and tagged
``model-assumed``. ``service_tier`` is filled when a ``turn_context`` or the event says it.
Provider is ``openai``. Lines of other types (messages, tool calls, reasoning) are skipped.

Not done (ccusage does): mapping ``codex-auto-review`` to a model by date, and dropping the
replayed history at the head of a sub-agent session. ``session`` is the session id.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from llmaudit.ingest.lines import read_json_records
from llmaudit.ingest.rows import (
    RowError,
    get_path,
    opt_int,
    parse_timestamp,
)
from llmaudit.ingest.source import Source
from llmaudit.ingest.summary import ReadContext

__all__ = ["FALLBACK_MODEL", "read", "sniff"]

FALLBACK_MODEL = "gpt-5"
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def sniff(head: bytes, path: str) -> bool:
    norm = path.replace("\\", "/")
    # ``$CODEX_HOME/sessions/**`` (ccusage reads any ``.jsonl`` there, as its fixtures show)
    by_path = "/.codex/" in norm or "/sessions/" in norm or posixpath.basename(norm).startswith("rollout-")
    compact = head.replace(b'": "', b'":"')
    by_content = (b'"type":"session_meta"' in compact or b'"type":"turn_context"' in compact
                  or b'"type":"token_count"' in compact)
    return by_content and (by_path or b'"type":"session_meta"' in compact)


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _model_of(obj: Any) -> str | None:
    if not isinstance(obj, dict):
        return None
    return _text(obj.get("model")) or _text(obj.get("model_name")) or _text(get_path(obj, "metadata", "model"))


def _usage(value: Any, name: str) -> dict[str, int] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RowError(f"{name} is {type(value).__name__}, expected an object")
    return {f: opt_int(value.get(f), f"{name}.{f}") or 0 for f in _FIELDS}


@dataclass
class _State:
    model: str | None = None
    project: str | None = None
    session: str | None = None
    tier: str | None = None
    previous: dict[str, int] | None = None


def _project(cwd: Any) -> str | None:
    text = _text(cwd)
    if text is None:
        return None
    return posixpath.basename(text.replace("\\", "/").rstrip("/")) or None


def _token_row(obj: dict[str, Any], payload: dict[str, Any], line: int, state: _State,
               ctx: ReadContext) -> dict[str, Any] | None:
    info = payload.get("info")
    if info is None:
        ctx.skip("token_count without usage (info null)")
        return None
    if not isinstance(info, dict):
        raise RowError(f"payload.info is {type(info).__name__}, expected an object")
    timestamp = parse_timestamp(obj.get("timestamp"))   # undated: rejected, the running totals untouched
    total = _usage(info.get("total_token_usage"), "info.total_token_usage")
    last = _usage(info.get("last_token_usage"), "info.last_token_usage")
    if last is None and total is not None:
        prev = state.previous or {}
        last = {f: max(total[f] - prev.get(f, 0), 0) for f in _FIELDS}
    if total is not None:
        state.previous = total
    if last is None:
        raise RowError("token_count has neither info.last_token_usage nor info.total_token_usage")
    if not any(last.values()):
        ctx.skip("token_count without new usage (all zero)")
        return None
    model = _model_of(payload) or _model_of(info)
    if model is not None:
        state.model = model
    tags = None
    if state.model is None:
        model, tags = FALLBACK_MODEL, ["model-assumed"]
    else:
        model = state.model
    tier = _text(payload.get("service_tier")) or _text(info.get("service_tier")) or state.tier
    inp = last["input_tokens"]
    return {
        "timestamp": timestamp,
        "provider": "openai",
        "model_raw": model,
        "input_tokens": inp,
        "cache_read_tokens": min(last["cached_input_tokens"], inp),
        "cache_write_tokens": 0,
        "output_tokens": last["output_tokens"],
        # Codex reports reasoning inside output; a log saying more reasoning than output is kept
        # whole on output (the billed figure) with reasoning capped, rather than rejected.
        "reasoning_tokens": min(last["reasoning_output_tokens"], last["output_tokens"]),
        "requests": 1,
        "service_tier": tier,
        "project": state.project,
        "session": state.session,
        "tags": tags,
        "status": "ok",
        "source_line": line,
    }


def read(source: Source, ctx: ReadContext) -> Iterator[pa.Table]:
    # The rollout is a stream of events: the model, project and tier of a token_count line come
    # from the turn_context and session_meta lines before it, so one state follows the file.
    state = _State()

    def normalize(obj: dict[str, Any], line: int, ctx: ReadContext) -> dict[str, Any] | None:
        kind = obj.get("type")
        payload = obj.get("payload")
        if kind == "session_meta":
            if isinstance(payload, dict):
                state.project = _project(payload.get("cwd")) or state.project
                state.session = _text(payload.get("id")) or state.session
            ctx.skip("session_meta")
            return None
        if kind == "turn_context":
            if isinstance(payload, dict):
                state.model = _model_of(payload) or state.model
                state.project = _project(payload.get("cwd")) or state.project
                state.tier = _text(payload.get("service_tier")) or state.tier
            ctx.skip("turn_context")
            return None
        if kind != "event_msg" or not isinstance(payload, dict) or payload.get("type") != "token_count":
            ctx.skip("not a usage line")
            return None
        return _token_row(obj, payload, line, state, ctx)

    return read_json_records(source, ctx, normalize)
