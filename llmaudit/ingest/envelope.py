"""Request-log envelopes: a provider response object, bare or inside a wrapper line.

Request logs written by an application usually wrap the provider's response with what the
response itself lacks (when it happened, tags, latency)::

    {"timestamp": "2026-03-01T12:00:00Z", "tags": ["search"], "latency_ms": 812,
     "request_id": "req_…", "user": "u42", "project": "web", "response": {…response object…}}

The response may sit under ``response``, ``body``, ``result`` or ``completion``. Recognised wrapper
keys: ``timestamp`` | ``created_at`` | ``time`` | ``ts`` | ``start_time`` (ISO 8601 or unix
seconds/ms), ``tags`` (list, or object → ``key:value``), ``metadata.tags``, ``request_id``,
``latency_ms``, ``ttft_ms``, ``status``, ``user``, ``project``, ``api_key`` (an alias or id;
anything that looks like a secret is refused), ``provider``, ``batch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmaudit.errors import redact
from llmaudit.ingest.rows import RowError, opt_float, opt_str, parse_bool

__all__ = ["INNER_KEYS", "TIME_KEYS", "Envelope", "norm_tags", "split_envelope"]

INNER_KEYS = ("response", "body", "result", "completion")
TIME_KEYS = ("timestamp", "created_at", "time", "ts", "start_time")


class Envelope:
    """The wrapper's fields (all optional)."""

    __slots__ = ("fields", "timestamp")

    def __init__(self, timestamp: Any = None, fields: dict[str, Any] | None = None) -> None:
        self.timestamp = timestamp
        self.fields = fields or {}


def norm_tags(value: Any) -> list[str] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        tags = [t.strip() for t in value.split(",") if t.strip()]
    elif isinstance(value, Mapping):
        tags = [f"{k}:{v}" for k, v in value.items() if v is not None]
    elif isinstance(value, list | tuple):
        tags = [str(t) for t in value if t is not None]
    else:
        raise RowError(f"tags is {type(value).__name__}, expected a list of strings")
    return tags or None


def safe_key_label(value: Any) -> str | None:
    """An api key alias/id; a value that looks like a secret is replaced, never stored."""
    label = opt_str(value)
    if label is None:
        return None
    return redact(label)


def split_envelope(obj: dict[str, Any], looks_like_response: Any) -> tuple[dict[str, Any], Envelope]:
    """Return ``(response_object, envelope)``; a bare response yields an empty envelope."""
    for key in INNER_KEYS:
        inner = obj.get(key)
        if isinstance(inner, dict) and looks_like_response(inner):
            return inner, _envelope(obj)
    return obj, Envelope()


def _envelope(obj: dict[str, Any]) -> Envelope:
    ts = None
    for key in TIME_KEYS:
        if obj.get(key) not in (None, ""):
            ts = obj[key]
            break
    fields: dict[str, Any] = {}
    tags = obj.get("tags")
    if tags is None and isinstance(obj.get("metadata"), Mapping):
        tags = obj["metadata"].get("tags")
    fields["tags"] = norm_tags(tags)
    fields["request_id"] = opt_str(obj.get("request_id") or obj.get("x-request-id"))
    fields["latency_ms"] = opt_float(obj.get("latency_ms"), "latency_ms")
    fields["ttft_ms"] = opt_float(obj.get("ttft_ms"), "ttft_ms")
    status = opt_str(obj.get("status"))
    if status is not None:
        fields["status"] = "error" if status.lower() in ("error", "failed", "failure", "cancelled") else "ok"
    fields["user"] = opt_str(obj.get("user"))
    fields["project"] = opt_str(obj.get("project"))
    fields["api_key"] = safe_key_label(obj.get("api_key") or obj.get("api_key_alias"))
    fields["provider"] = opt_str(obj.get("provider"))
    fields["batch"] = parse_bool(obj.get("batch"))
    return Envelope(ts, {k: v for k, v in fields.items() if v is not None})
