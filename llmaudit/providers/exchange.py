"""One HTTP exchange, shared by every dialect: send, time, decode, classify failures.

A dialect supplies two pure pieces: ``parse_body(json) -> Reply`` for a whole response and a
``StreamState`` that is fed SSE events one by one. This module owns the clock and turns httpx
exceptions into ``ProviderCallError`` kinds.

The clock is ``time.perf_counter_ns`` (monotonic, unaffected by wall-clock changes), started just
before the request is sent. Each line is stamped as httpx yields it, before any JSON is decoded, so
decoding costs never enter a measurement. An event that carried a token (text, reasoning or a
tool-call piece) is a "chunk": its offset from the start, in whole microseconds, is kept in
``Completion.chunk_us``. TTFT is the first chunk's offset; latency (end to end) is the time to the
stream's final event. A chunk may carry several tokens (servers batch them), so the gaps between
chunks are inter-chunk latencies; per-token figures divide by the reported token count (TPOT).

What llmaudit knows about a request (``ChatRequest.meta``) rides with it as an httpx request
extension, ``META_EXTENSION``, which never reaches the wire: an in-process transport (the
simulator) may read it, a network transport ignores it. A transport whose time is simulated
reports that time as a response extension, ``TIMING_EXTENSION``, and it replaces the clock's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from llmaudit.errors import redact_secret
from llmaudit.providers.base import Cause, Completion, ProviderCallError, error_for_status, names_missing_model
from llmaudit.providers.sse import SSEDecoder, SSEEvent
from llmaudit.usage import Usage

__all__ = [
    "META_EXTENSION",
    "TIMING_EXTENSION",
    "Reply",
    "StreamParts",
    "StreamState",
    "error_in_body",
    "exchange",
    "load_json",
    "parse_events",
]

META_EXTENSION = "llmaudit.meta"
# {"ttft_ms": float | None, "latency_ms": float, "chunk_ms": [float, ...] (streamed answers only)}
TIMING_EXTENSION = "llmaudit.timing"


@dataclass(frozen=True)
class Reply:
    """What a dialect's parser extracts from a response, before timing is attached."""

    text: str
    usage: Usage | None
    request_id: str | None = None
    model: str | None = None
    finish_reason: str | None = None


class StreamState(Protocol):
    done: bool  # the dialect's final event arrived
    # Stop reading at that event (OpenAI's [DONE], Anthropic's message_stop), or read on to the
    # end of the body (Gemini, whose "final" chunk is only recognisable by its finishReason).
    stop_when_done: bool

    def feed(self, event: SSEEvent) -> bool:
        """Consume one event; True when it carried a token (text or reasoning)."""
        ...

    def finish(self) -> Reply:
        """The reply; raises ``broken_stream`` when the final event never came."""
        ...


class StreamParts:
    """What every dialect's stream state collects, and the reply built from it. A dialect sets
    ``missing_end`` (how the error says the stream ended too early), ``stop_when_done``, and ``usage()``."""

    missing_end = "before its final event"
    stop_when_done = True

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        self._parts: list[str] = []
        self._id: str | None = None
        self._model: str | None = None
        self._finish: str | None = None

    def usage(self) -> Usage | None:
        raise NotImplementedError

    def finish(self) -> Reply:
        # A stream that closed cleanly after its finish reason and its usage is complete even
        # without the closing sentinel ([DONE]): some servers never send one. Without both, the
        # answer may be cut short and is not believed.
        if not self.done and not (self._finish is not None and self.usage() is not None):
            raise ProviderCallError("broken_stream", f"{self.provider}: stream ended {self.missing_end}")
        return Reply(text="".join(self._parts), usage=self.usage(), request_id=self._id, model=self._model,
                     finish_reason=self._finish)


def parse_events(state: StreamState, events: Iterable[SSEEvent]) -> Reply:
    """A whole captured stream through a dialect's state, read as ``exchange`` reads it live
    (up to the final event, or to the end where the dialect has no final event). Pure."""
    for event in events:
        state.feed(event)
        if state.done and state.stop_when_done:
            break
    return state.finish()


def load_json(data: str, provider: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise ProviderCallError("malformed", f"{provider}: unparseable JSON in the response: {data[:200]!r}") from None


def _ms_since(start_ns: int) -> float:
    return (time.perf_counter_ns() - start_ns) / 1e6


async def exchange(
    client: httpx.AsyncClient,
    url: str,
    *,
    provider: str,
    headers: Mapping[str, str],
    body: dict[str, Any],
    stream: bool,
    parse_body: Callable[[Any], Reply],
    new_state: Callable[[], StreamState],
    params: Mapping[str, str] | None = None,
    secret: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Completion:
    """POST ``body`` to ``url`` once and return the timed completion.

    ``secret`` (the API key) is scrubbed from any error message, whatever its shape: ``redact``
    knows the common key formats, this catches a server that echoes an unusual one back.
    ``meta`` goes to the transport only (``META_EXTENSION``), never into the request.
    """
    try:
        return await _exchange(client, url, provider, headers, body, stream, parse_body, new_state, params, meta)
    except ProviderCallError as exc:
        scrubbed = redact_secret(exc.message, secret)
        if scrubbed != exc.message:
            raise ProviderCallError(exc.kind, scrubbed, status=exc.status, retry_after=exc.retry_after,
                                    cause=exc.cause) from None
        raise


async def _exchange(
    client: httpx.AsyncClient,
    url: str,
    provider: str,
    headers: Mapping[str, str],
    body: dict[str, Any],
    stream: bool,
    parse_body: Callable[[Any], Reply],
    new_state: Callable[[], StreamState],
    params: Mapping[str, str] | None,
    meta: Mapping[str, Any] | None,
) -> Completion:
    extensions = {META_EXTENSION: meta} if meta else None
    start = time.perf_counter_ns()
    try:
        async with client.stream("POST", url, json=body, headers=dict(headers), params=params,
                                 extensions=extensions) as resp:
            if 300 <= resp.status_code < 400:
                target = resp.headers.get("location", "?")
                raise ProviderCallError(
                    "client",
                    f"{provider}: HTTP {resp.status_code} redirect to {target}; check the base URL",
                    status=resp.status_code,
                )
            if resp.status_code >= 400:
                raw = await _read_capped(resp, 64 << 10, provider, cut=True)  # only a snippet is shown
                raise error_for_status(
                    resp.status_code, raw.decode("utf-8", "replace"), resp.headers, provider=provider
                )
            content_type = resp.headers.get("content-type", "")
            # Some servers ignore stream=true and answer with one JSON document: accept it.
            if not stream or "text/event-stream" not in content_type:
                raw = await _read_capped(resp, MAX_RESPONSE_BYTES, provider)
                reply = parse_body(load_json(raw.decode("utf-8", "replace"), provider))
                return _completion(reply, None, _ms_since(start), resp)
            state = new_state()
            decoder = SSEDecoder()
            chunks: list[int] = []  # µs from the start to each event that carried a token
            lines = resp.aiter_lines()
            received = 0
            async for line in lines:
                now = time.perf_counter_ns()  # stamped as the transport yields the line
                received += len(line) + 1
                if received > MAX_RESPONSE_BYTES:
                    raise ProviderCallError("malformed", f"{provider}: the streamed response passed "
                                            f"{MAX_RESPONSE_BYTES >> 20} MiB; not read further")
                event = decoder.feed(line)
                if event is not None and state.feed(event):
                    chunks.append((now - start) // 1000)
                if state.done and state.stop_when_done:
                    break
            if state.done and state.stop_when_done:
                latency = _ms_since(start)
                await _drain(lines)
            else:
                last = decoder.flush()  # a final event not followed by a blank line
                if last is not None and state.feed(last):
                    chunks.append((time.perf_counter_ns() - start) // 1000)
                latency = _ms_since(start)
            reply = state.finish()
            ttft = chunks[0] / 1000 if chunks else None
            return _completion(reply, ttft, latency, resp, tuple(chunks))
    except httpx.ConnectTimeout:
        # No answer to the connection itself (packets dropped: a firewall, a host that is down):
        # retried like any timeout, and marked so that the runner's breaker stops sending to a
        # provider that never answers, as it does for one that refuses.
        raise ProviderCallError("timeout", f"{provider}: cannot connect to {_origin(url)}: no answer within the "
                                "connect timeout", cause="unreachable") from None
    except httpx.TimeoutException as exc:
        raise ProviderCallError("timeout", f"{provider}: timed out ({type(exc).__name__})") from None
    except httpx.ConnectError as exc:
        # Refused, or a name that does not resolve: retried like a server error (a server being
        # restarted refuses for a moment), and marked so that the runner's breaker can stop
        # sending to a provider that is not there at all.
        raise ProviderCallError("server", f"{provider}: cannot connect to {_origin(url)}: {exc}",
                                cause="unreachable") from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ProviderCallError("broken_stream", f"{provider}: connection cut mid-response: {exc}") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        # A mistyped base URL will not fix itself: not worth a retry.
        raise ProviderCallError("client", f"{provider}: bad URL {url!r}: {exc}") from None
    except httpx.TransportError as exc:
        raise ProviderCallError("server", f"{provider}: transport error: {type(exc).__name__}: {exc}") from None
    except httpx.DecodingError as exc:
        raise ProviderCallError("malformed", f"{provider}: undecodable response body: {exc}") from None


# No chat completion comes near this; four 100 MB answers once took replay to 2.27 GB of memory.
MAX_RESPONSE_BYTES = 32 << 20


async def _read_capped(resp: httpx.Response, cap: int, provider: str, *, cut: bool = False) -> bytes:
    """The body, read at most ``cap`` bytes: beyond it an error (or, ``cut``, the first ``cap``)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size > cap:
            if cut:
                return b"".join(parts)[:cap]
            raise ProviderCallError("malformed", f"{provider}: the response passed {cap >> 20} MiB; not read further")
    return b"".join(parts)


async def _drain(lines: AsyncIterator[str], timeout_s: float = 1.0) -> None:
    """Read what follows the final event (normally just the end of the body) so the connection
    goes back to the pool: a closed connection would make the NEXT call pay a new TLS handshake
    inside its measured time to first token. A server that keeps talking is cut off."""

    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: no task of its own per request
            async for _ in lines:
                pass
    except (TimeoutError, httpx.HTTPError):
        pass


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"


def _completion(reply: Reply, ttft: float | None, latency: float, resp: httpx.Response,
                chunks: tuple[int, ...] | None = None) -> Completion:
    simulated = resp.extensions.get(TIMING_EXTENSION)
    if simulated is not None:
        ttft, latency = simulated["ttft_ms"], simulated["latency_ms"]
        # Measured chunk times would mix the real clock with simulated TTFT and latency.
        chunk_ms = simulated.get("chunk_ms")
        chunks = tuple(round(c * 1000) for c in chunk_ms) if chunk_ms else None
    return Completion(
        text=reply.text,
        usage=reply.usage,
        ttft_ms=ttft,
        latency_ms=latency,
        request_id=reply.request_id,
        model_reported=reply.model,
        status_code=resp.status_code,
        finish_reason=reply.finish_reason,
        chunk_us=chunks or None,
    )


def error_in_body(obj: Any, provider: str) -> ProviderCallError | None:
    """An ``{"error": {...}}`` object sent with HTTP 200 or inside a stream (OpenRouter, Gemini)."""
    if not isinstance(obj, dict) or "error" not in obj or not obj["error"]:
        return None
    err = obj["error"]
    if isinstance(err, dict):
        code = err.get("code") or err.get("status")
        message = str(err.get("message") or err)
        kind_hint = str(err.get("type") or err.get("status") or "")
    else:
        code, message, kind_hint = None, str(err), ""
    status = code if isinstance(code, int) else None
    if status is None and isinstance(code, str) and code.isdigit():
        status = int(code)
    # The whole error object, not only its message: its code may be what names a missing model.
    whole = json.dumps({"error": err}) if isinstance(err, dict) else message
    if status is not None and status >= 400:
        error = error_for_status(status, message, provider=provider)
        if error.kind == "client" and names_missing_model(status, whole):
            error.cause = "model_not_found"
        return error
    hint = kind_hint.lower()
    if "invalid" in hint or "not_found" in hint:
        cause: Cause | None = "model_not_found" if names_missing_model(404, whole) else None
        return ProviderCallError("client", f"{provider}: {message}", cause=cause)
    if "rate" in hint or "resource_exhausted" in hint:
        return ProviderCallError("rate_limited", f"{provider}: {message}")
    if "overloaded" in hint or "unavailable" in hint or "server" in hint or "api_error" in hint:
        return ProviderCallError("server", f"{provider}: {message}")
    if "auth" in hint or "permission" in hint:
        return ProviderCallError("auth", f"{provider}: {message}")
    return ProviderCallError("server", f"{provider}: error in response: {message}")
