"""Anthropic Messages (``POST {base_url}/v1/messages``).

Anthropic's ``input_tokens`` EXCLUDES cache reads and writes (formats.md §A3); llmaudit's schema
counts every prompt token in ``input_tokens``, so the cache fields are added in here, once.
Streaming usage: ``message_start`` carries the input side, ``message_delta`` cumulative totals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmaudit.providers.base import (
    ChatRequest,
    Completion,
    HttpAdapter,
    ProviderCallError,
    usage_count,
)
from llmaudit.providers.exchange import Reply, StreamParts, error_in_body, exchange, load_json, parse_events
from llmaudit.providers.sse import SSEEvent
from llmaudit.usage import Usage

if TYPE_CHECKING:
    import httpx

__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_TOKENS",
    "AnthropicAdapter",
    "AnthropicStream",
    "build_request",
    "parse_response",
    "parse_stream",
    "parse_usage",
]

API_VERSION = "2023-06-01"
# The Messages API requires max_tokens; prompts that set none get this ceiling.
DEFAULT_MAX_TOKENS = 4096


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def build_request(req: ChatRequest) -> dict[str, Any]:
    """System messages move to the top-level ``system`` field; the rest pass through."""
    system = [_text_of(m.get("content")) for m in req.messages if m.get("role") == "system"]
    messages = [{"role": m["role"], "content": m.get("content", "")} for m in req.messages if m.get("role") != "system"]
    body: dict[str, Any] = {
        "model": req.model,
        "max_tokens": req.max_tokens if req.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.stream:
        body["stream"] = True
    body.update(req.extra)
    return body


def parse_usage(usage: Any) -> Usage | None:
    """Anthropic ``usage`` → schema semantics (input includes cache reads and writes)."""
    if not isinstance(usage, dict) or not usage:
        return None
    read = usage_count(usage, "cache_read_input_tokens")
    write = usage_count(usage, "cache_creation_input_tokens")
    split = usage.get("cache_creation") or {}
    tools = usage.get("server_tool_use") or {}
    details = usage.get("output_tokens_details") or {}
    return Usage(
        input_tokens=usage_count(usage, "input_tokens", required=True) + read + write,
        output_tokens=usage_count(usage, "output_tokens", required=True),
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=usage_count(split, "ephemeral_1h_input_tokens") if isinstance(split, dict) else 0,
        reasoning_tokens=usage_count(details, "thinking_tokens") if isinstance(details, dict) else 0,
        web_search_requests=usage_count(tools, "web_search_requests") if isinstance(tools, dict) else 0,
    )


def parse_response(data: Any, *, provider: str = "anthropic") -> Reply:
    err = error_in_body(data, provider) if isinstance(data, dict) and data.get("type") == "error" else None
    if err is not None:
        raise err
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        raise ProviderCallError("malformed", f"{provider}: response has no 'content': {str(data)[:200]}")
    text = "".join(b.get("text", "") for b in data["content"] if isinstance(b, dict) and b.get("type") == "text")
    return Reply(
        text=text,
        usage=parse_usage(data.get("usage")),
        request_id=data.get("id"),
        model=data.get("model"),
        finish_reason=data.get("stop_reason"),
    )


class AnthropicStream(StreamParts):
    """Accumulates Messages stream events until ``message_stop``."""

    missing_end = "without 'message_stop'"
    stop_when_done = True

    def __init__(self, provider: str = "anthropic") -> None:
        super().__init__(provider)
        self._usage: dict[str, Any] = {}

    def feed(self, event: SSEEvent) -> bool:
        data = load_json(event.data, self.provider)
        if not isinstance(data, dict):
            raise ProviderCallError(
                "malformed", f"{self.provider}: stream event is not an object: {event.data[:200]!r}"
            )
        kind = data.get("type") or event.event
        if kind == "error":
            raise error_in_body(data, self.provider) or ProviderCallError("server", f"{self.provider}: stream error")
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = message.get("id")
            self._model = message.get("model")
            self._usage.update(message.get("usage") or {})
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                self._parts.append(delta["text"])
                return True
            # thinking and tool-input deltas are tokens too (they count for time to first token)
            return bool(delta.get("thinking") or delta.get("partial_json"))
        elif kind == "message_delta":
            # Documented as cumulative: later values replace earlier ones, absent ones are kept.
            self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
            self._finish = (data.get("delta") or {}).get("stop_reason") or self._finish
        elif kind == "message_stop":
            self.done = True
        return False

    def usage(self) -> Usage | None:
        return parse_usage(self._usage)


def parse_stream(events: list[SSEEvent], *, provider: str = "anthropic") -> Reply:
    """A whole captured stream (pure; the adapter feeds events as they arrive instead)."""
    return parse_events(AnthropicStream(provider), events)


class AnthropicAdapter(HttpAdapter):
    """``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``."""

    def __init__(self, provider: str, base_url: str, api_key: str | None, *, headers: dict[str, str] | None = None):
        super().__init__(provider, base_url, api_key, headers=headers)
        # ANTHROPIC_BASE_URL is written without /v1 by the SDK convention; accept it either way.
        self.base_url = self.base_url.removesuffix("/v1")

    def body(self, req: ChatRequest) -> dict[str, Any]:
        return build_request(req)

    async def complete(self, req: ChatRequest, client: httpx.AsyncClient) -> Completion:
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION, **self.extra_headers}
        if self._api_key:
            headers["x-api-key"] = self._api_key
        return await exchange(
            client,
            f"{self.base_url}/v1/messages",
            provider=self._provider,
            secret=self._api_key,
            headers=headers,
            body=self.body(req),
            stream=req.stream,
            parse_body=lambda data: parse_response(data, provider=self._provider),
            new_state=lambda: AnthropicStream(self._provider),
            meta=req.meta,
        )
