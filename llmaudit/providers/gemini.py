"""Google Gemini ``generateContent`` / ``streamGenerateContent?alt=sse``.

Gemini's ``candidatesTokenCount`` excludes thinking; llmaudit's ``output_tokens`` includes it, so
``thoughtsTokenCount`` is added in here (formats.md §A4). The stream has no terminator event: it
is complete when a candidate carries a ``finishReason`` (or the prompt was blocked).
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

__all__ = ["GeminiAdapter", "GeminiStream", "build_request", "parse_response", "parse_stream", "parse_usage"]


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    if isinstance(content, list):
        return [{"text": p.get("text", "")} for p in content if isinstance(p, dict) and "text" in p]
    return [{"text": str(content)}]


def build_request(req: ChatRequest) -> dict[str, Any]:
    """OpenAI-style messages → ``contents`` (assistant → ``model``) + ``systemInstruction``."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    for message in req.messages:
        role = message.get("role")
        if role == "system":
            system.extend(_parts(message.get("content")))
        else:
            contents.append(
                {"role": "model" if role == "assistant" else "user", "parts": _parts(message.get("content"))}
            )
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    config: dict[str, Any] = {}
    if req.max_tokens is not None:
        config["maxOutputTokens"] = req.max_tokens
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if config:
        body["generationConfig"] = config
    for key, value in req.extra.items():
        # generationConfig is merged, so extra={"generationConfig": {"topP": 0.9}} keeps maxOutputTokens
        if key == "generationConfig" and isinstance(value, dict):
            body["generationConfig"] = {**body.get("generationConfig", {}), **value}
        else:
            body[key] = value
    return body


def parse_usage(meta: Any) -> Usage | None:
    if not isinstance(meta, dict) or not meta:
        return None
    thoughts = usage_count(meta, "thoughtsTokenCount")
    return Usage(
        # tool-use prompt tokens are fed back to the model as input and billed as input
        input_tokens=(usage_count(meta, "promptTokenCount", required=True)
                      + usage_count(meta, "toolUsePromptTokenCount")),
        output_tokens=usage_count(meta, "candidatesTokenCount") + thoughts,
        cache_read_tokens=usage_count(meta, "cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


class GeminiStream(StreamParts):
    """Accumulates ``GenerateContentResponse`` chunks; complete once a ``finishReason`` arrives."""

    missing_end = "before a finishReason"
    stop_when_done = False

    def __init__(self, provider: str = "google") -> None:
        super().__init__(provider)
        self._usage: Any = None

    def feed(self, event: SSEEvent) -> bool:
        chunk = load_json(event.data, self.provider)
        err = error_in_body(chunk, self.provider)
        if err is not None:
            raise err
        if not isinstance(chunk, dict):
            raise ProviderCallError(
                "malformed", f"{self.provider}: stream chunk is not an object: {event.data[:200]!r}"
            )
        return self.absorb(chunk)

    def absorb(self, chunk: dict[str, Any]) -> bool:
        self._id = self._id or chunk.get("responseId")
        self._model = self._model or chunk.get("modelVersion")
        if chunk.get("usageMetadata"):
            self._usage = chunk["usageMetadata"]
        token = False
        candidates = chunk.get("candidates") or []
        if candidates:
            candidate = candidates[0]
            for part in (candidate.get("content") or {}).get("parts") or []:
                if not isinstance(part, dict) or not part.get("text"):
                    continue
                token = True
                if not part.get("thought"):  # thought summaries are not the answer
                    self._parts.append(part["text"])
            if candidate.get("finishReason"):
                self._finish = candidate["finishReason"]
                self.done = True
        blocked = (chunk.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            self._finish = f"blocked:{blocked}"
            self.done = True
        return token

    def usage(self) -> Usage | None:
        return parse_usage(self._usage)


def parse_response(data: Any, *, provider: str = "google") -> Reply:
    err = error_in_body(data, provider)
    if err is not None:
        raise err
    if not isinstance(data, dict) or not ("candidates" in data or "promptFeedback" in data):
        raise ProviderCallError("malformed", f"{provider}: response has no 'candidates': {str(data)[:200]}")
    state = GeminiStream(provider)
    state.absorb(data)
    state.done = True  # a whole response is complete by definition
    return state.finish()


def parse_stream(events: list[SSEEvent], *, provider: str = "google") -> Reply:
    """A whole captured stream (pure; the adapter feeds events as they arrive instead)."""
    return parse_events(GeminiStream(provider), events)


class GeminiAdapter(HttpAdapter):
    """``POST {base_url}/models/{model}:streamGenerateContent?alt=sse`` with ``x-goog-api-key``."""

    def body(self, req: ChatRequest) -> dict[str, Any]:
        return build_request(req)

    async def complete(self, req: ChatRequest, client: httpx.AsyncClient) -> Completion:
        # The key travels in a header, never in the URL, so it cannot leak through an error message.
        headers = {"content-type": "application/json", **self.extra_headers}
        if self._api_key:
            headers["x-goog-api-key"] = self._api_key
        model = req.model.removeprefix("models/")
        method = "streamGenerateContent" if req.stream else "generateContent"
        return await exchange(
            client,
            f"{self.base_url}/models/{model}:{method}",
            provider=self._provider,
            secret=self._api_key,
            headers=headers,
            body=self.body(req),
            stream=req.stream,
            params={"alt": "sse"} if req.stream else None,
            parse_body=lambda data: parse_response(data, provider=self._provider),
            new_state=lambda: GeminiStream(self._provider),
            meta=req.meta,
        )
