from __future__ import annotations

import pytest
from provider_mock import Recorder, sse

from llmaudit.providers.anthropic import AnthropicAdapter, build_request
from llmaudit.providers.base import ChatRequest, ProviderCallError

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]


def stream_events(*, stop: bool = True) -> tuple[list[dict], list[str]]:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [],
                "usage": {
                    "input_tokens": 412,
                    "cache_creation_input_tokens": 2048,
                    "cache_read_input_tokens": 18310,
                    "cache_creation": {"ephemeral_5m_input_tokens": 2048, "ephemeral_1h_input_tokens": 0},
                    "output_tokens": 1,
                },
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Par"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "is"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 640, "server_tool_use": {"web_search_requests": 1}},
        },
    ]
    if stop:
        events.append({"type": "message_stop"})
    return events, [e["type"] for e in events]


async def test_stream_usage_from_message_start_and_delta() -> None:
    events, names = stream_events()
    rec = Recorder(body=sse(*events, event_names=names))
    adapter = AnthropicAdapter("anthropic", "https://api.anthropic.test", "sk-ant-api03-abcdefghijkl")
    async with rec.client() as client:
        comp = await adapter.complete(ChatRequest("claude-sonnet-4-5", MSGS, temperature=0.2), client)
    assert comp.text == "Paris" and comp.finish_reason == "end_turn"
    u = comp.usage
    assert u is not None
    # schema semantics: input counts cache reads and writes too
    assert u.input_tokens == 412 + 2048 + 18310
    assert (u.cache_read_tokens, u.cache_write_tokens, u.cache_write_1h_tokens) == (18310, 2048, 0)
    assert u.output_tokens == 640 and u.web_search_requests == 1
    assert comp.request_id == "msg_01" and comp.model_reported == "claude-sonnet-4-5-20250929"
    req = rec.requests[0]
    assert str(req.url) == "https://api.anthropic.test/v1/messages"
    assert req.headers["x-api-key"] == "sk-ant-api03-abcdefghijkl" and req.headers["anthropic-version"] == "2023-06-01"
    assert rec.sent["system"] == "Be brief." and rec.sent["messages"] == [MSGS[1]]
    assert rec.sent["max_tokens"] == 4096 and rec.sent["stream"] is True and rec.sent["temperature"] == 0.2


async def test_stream_without_message_stop_after_stop_reason_and_usage_is_complete() -> None:
    """A stream that closed cleanly after its stop reason and usage lacks only the sentinel."""
    events, names = stream_events(stop=False)
    rec = Recorder(body=sse(*events, event_names=names))
    async with rec.client() as client:
        done = await AnthropicAdapter("anthropic", "https://a.test", "k").complete(ChatRequest("m", MSGS), client)
    assert done.text == "Paris" and done.usage is not None


async def test_stream_cut_before_its_stop_reason_is_broken() -> None:
    events, names = stream_events(stop=False)
    rec = Recorder(body=sse(*events[:-1], event_names=names[:-1]))  # no message_delta either
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await AnthropicAdapter("anthropic", "https://a.test", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "broken_stream"


async def test_overloaded_error_event() -> None:
    err_event = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    rec = Recorder(body=sse(stream_events()[0][0], err_event, event_names=["message_start", "error"]))
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await AnthropicAdapter("anthropic", "https://a.test", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "server" and err.value.retryable


async def test_non_streaming_and_base_url_with_v1() -> None:
    body = {
        "id": "msg_02",
        "type": "message",
        "model": "claude-haiku-4-5",
        "stop_reason": "end_turn",
        "content": [{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "Paris"}],
        "usage": {"input_tokens": 20, "output_tokens": 5},
    }
    rec = Recorder(json_body=body)
    async with rec.client() as client:
        comp = await AnthropicAdapter("anthropic", "https://a.test/v1/", "k").complete(
            ChatRequest("claude-haiku-4-5", MSGS, max_tokens=10, stream=False), client
        )
    assert comp.text == "Paris" and comp.usage is not None and comp.usage.input_tokens == 20
    assert str(rec.requests[0].url) == "https://a.test/v1/messages"
    assert "stream" not in rec.sent and rec.sent["max_tokens"] == 10


async def test_no_usage_at_all() -> None:
    events = [
        {"type": "message_start", "message": {"id": "m", "model": "x", "content": []}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_stop"},
    ]
    rec = Recorder(body=sse(*events))
    async with rec.client() as client:
        comp = await AnthropicAdapter("anthropic", "https://a.test", "k").complete(ChatRequest("m", MSGS), client)
    assert comp.text == "hi" and comp.usage is None


def test_build_request_passes_extra_but_never_meta() -> None:
    body = build_request(ChatRequest("m", MSGS, extra={"top_k": 5}, meta={"expected": "Paris"}))
    assert body["top_k"] == 5 and "llmaudit_sim" not in body
