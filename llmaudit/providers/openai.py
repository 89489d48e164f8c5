"""OpenAI Chat Completions, and every server that speaks it (OpenRouter, Together, Groq, DeepSeek,
Fireworks, Mistral, xAI, vLLM, llama.cpp, Ollama's /v1, a LiteLLM proxy, and llmaudit's sim, which
is only a different transport: this adapter does not know it is talking to it).

Usage comes from the stream's last chunk (``stream_options.include_usage``; OpenRouter always
sends it, with ``usage.cost``). Servers that send no ``usage`` leave ``Completion.usage`` None,
except that llama.cpp's ``timings`` and Ollama's native counters are read when present.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
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

__all__ = ["OpenAIAdapter", "OpenAIStream", "build_request", "parse_response", "parse_stream", "parse_usage"]


def build_request(
    req: ChatRequest,
    *,
    include_usage: bool = True,
    max_tokens_field: str = "max_tokens",
) -> dict[str, Any]:
    """The JSON body for ``POST {base_url}/chat/completions``."""
    body: dict[str, Any] = {"model": req.model, "messages": list(req.messages), "stream": req.stream}
    if req.max_tokens is not None:
        body[max_tokens_field] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.stream and include_usage:
        body["stream_options"] = {"include_usage": True}
    body.update(req.extra)
    return body


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def parse_usage(usage: Any, *, timings: Any = None, native: Any = None) -> Usage | None:
    """An OpenAI-shaped ``usage`` object (plus vendor extras) in schema semantics.

    ``prompt_tokens`` already includes cached tokens and ``completion_tokens`` already includes
    reasoning tokens (formats.md §A1), so the details are subsets, never added on top.
    """
    if isinstance(usage, dict) and ("prompt_tokens" in usage or "completion_tokens" in usage):
        prompt = usage.get("prompt_tokens_details") or {}
        completion = usage.get("completion_tokens_details") or {}
        # DeepSeek reports cache hits beside prompt_tokens instead of in prompt_tokens_details.
        cache_read = usage_count(prompt, "cached_tokens") or usage_count(usage, "prompt_cache_hit_tokens")
        tool = usage.get("server_tool_use") or {}
        return Usage(
            input_tokens=usage_count(usage, "prompt_tokens", required=True),
            output_tokens=usage_count(usage, "completion_tokens", required=True),
            cache_read_tokens=cache_read,
            cache_write_tokens=usage_count(prompt, "cache_write_tokens"),
            reasoning_tokens=usage_count(completion, "reasoning_tokens"),
            web_search_requests=usage_count(tool, "web_search_requests") if isinstance(tool, dict) else 0,
            cost_reported=_decimal(usage.get("cost")),  # OpenRouter: the amount actually charged
        )
    if isinstance(timings, dict) and "predicted_n" in timings:
        # llama.cpp: prompt_n counts only tokens evaluated now; cache_n were reused from its cache.
        cached = usage_count(timings, "cache_n")
        return Usage(
            input_tokens=usage_count(timings, "prompt_n") + cached,
            output_tokens=usage_count(timings, "predicted_n"),
            cache_read_tokens=cached,
        )
    if isinstance(native, dict) and "eval_count" in native:
        return Usage(input_tokens=usage_count(native, "prompt_eval_count"),
                          output_tokens=usage_count(native, "eval_count"))
    return None


def parse_response(data: Any, *, provider: str = "openai") -> Reply:
    """A whole (non-streamed) chat completion."""
    err = error_in_body(data, provider)
    if err is not None:
        raise err
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise ProviderCallError("malformed", f"{provider}: response has no 'choices': {str(data)[:200]}")
    text, finish = "", None
    if data["choices"]:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        text = message.get("content") or message.get("refusal") or ""
        finish = choice.get("finish_reason")
    return Reply(
        text=text,
        usage=parse_usage(data.get("usage"), timings=data.get("timings"), native=data),
        request_id=data.get("id"),
        model=data.get("model"),
        finish_reason=finish,
    )


class OpenAIStream(StreamParts):
    """Accumulates ``chat.completion.chunk`` events until ``data: [DONE]``."""

    missing_end = "without 'data: [DONE]'"
    stop_when_done = True

    def __init__(self, provider: str = "openai") -> None:
        super().__init__(provider)
        self._usage: Any = None
        self._timings: Any = None
        self._native: Any = None

    def feed(self, event: SSEEvent) -> bool:
        if event.data.strip() == "[DONE]":
            self.done = True
            return False
        chunk = load_json(event.data, self.provider)
        err = error_in_body(chunk, self.provider)
        if err is not None:
            raise err
        if not isinstance(chunk, dict):
            raise ProviderCallError(
                "malformed", f"{self.provider}: stream chunk is not an object: {event.data[:200]!r}"
            )
        self._id = self._id or chunk.get("id")
        self._model = self._model or chunk.get("model")
        if chunk.get("usage"):
            self._usage = chunk["usage"]  # vLLM's continuous_usage_stats repeats it: the last one wins
        elif isinstance(chunk.get("x_groq"), dict) and chunk["x_groq"].get("usage") and self._usage is None:
            self._usage = chunk["x_groq"]["usage"]  # Groq's own place for it on the final content chunk
        if chunk.get("timings"):
            self._timings = chunk["timings"]
        if "eval_count" in chunk:
            self._native = chunk
        token = False
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            # A refusal is the model's answer too (it will fail the checks, as it should).
            content = delta.get("content") or delta.get("refusal")
            if content:
                self._parts.append(content)
                token = True
            # Reasoning (DeepSeek/OpenRouter/vLLM) and tool-call arguments are tokens, not answer text.
            if delta.get("reasoning_content") or delta.get("reasoning") or delta.get("tool_calls"):
                token = True
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return token

    def usage(self) -> Usage | None:
        return parse_usage(self._usage, timings=self._timings, native=self._native)


def parse_stream(events: list[SSEEvent], *, provider: str = "openai") -> Reply:
    """A whole captured stream (pure; the adapter feeds events as they arrive instead)."""
    return parse_events(OpenAIStream(provider), events)


class OpenAIAdapter(HttpAdapter):
    """``POST {base_url}/chat/completions`` with a bearer key (none for keyless local servers)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        api_key: str | None = None,
        *,
        include_usage: bool = True,
        max_tokens_field: str = "max_tokens",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(provider, base_url, api_key, headers=headers)
        self.include_usage = include_usage
        self.max_tokens_field = max_tokens_field

    def body(self, req: ChatRequest) -> dict[str, Any]:
        return build_request(req, include_usage=self.include_usage, max_tokens_field=self.max_tokens_field)

    async def complete(self, req: ChatRequest, client: httpx.AsyncClient) -> Completion:
        headers = {"content-type": "application/json", **self.extra_headers}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        if req.stream:
            headers["accept"] = "text/event-stream"
        return await exchange(
            client,
            f"{self.base_url}/chat/completions",
            provider=self._provider,
            secret=self._api_key,
            headers=headers,
            body=self.body(req),
            stream=req.stream,
            parse_body=lambda data: parse_response(data, provider=self._provider),
            new_state=lambda: OpenAIStream(self._provider),
            meta=req.meta,
        )
