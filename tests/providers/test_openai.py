from __future__ import annotations

from decimal import Decimal

import pytest
from provider_mock import Recorder, sse

from llmaudit.providers import get_adapter
from llmaudit.providers.base import ChatRequest, ProviderCallError
from llmaudit.providers.exchange import META_EXTENSION
from llmaudit.providers.openai import OpenAIAdapter, build_request, parse_stream
from llmaudit.providers.sse import iter_events

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]


def chunk(content: str | None = None, *, finish: str | None = None, **extra: object) -> dict:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def usage_chunk(usage: dict) -> dict:
    return {"id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18", "choices": [], "usage": usage}


OPENAI_USAGE = {
    "prompt_tokens": 5120,
    "completion_tokens": 311,
    "total_tokens": 5431,
    "prompt_tokens_details": {"cached_tokens": 4096, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 64},
}


async def test_stream_with_usage_in_last_chunk() -> None:
    rec = Recorder(
        body=sse(chunk(""), chunk("Par"), chunk("is"), chunk(finish="stop"), usage_chunk(OPENAI_USAGE), done=True)
    )
    adapter = OpenAIAdapter(
        "openai", "https://api.example.test/v1", "sk-test-123456789", max_tokens_field="max_completion_tokens"
    )
    async with rec.client() as client:
        comp = await adapter.complete(ChatRequest("gpt-4o-mini", MSGS, max_tokens=50, temperature=0), client)
    assert comp.text == "Paris"
    assert comp.usage is not None
    assert (comp.usage.input_tokens, comp.usage.output_tokens) == (5120, 311)  # cached/reasoning are subsets
    assert (comp.usage.cache_read_tokens, comp.usage.reasoning_tokens) == (4096, 64)
    assert comp.usage.cost_reported is None
    assert comp.model_reported == "gpt-4o-mini-2024-07-18" and comp.request_id == "chatcmpl-1"
    assert comp.finish_reason == "stop"
    assert comp.ttft_ms is not None and comp.latency_ms >= comp.ttft_ms
    req = rec.requests[0]
    assert str(req.url) == "https://api.example.test/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test-123456789"
    sent = rec.sent
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["max_completion_tokens"] == 50 and "max_tokens" not in sent and sent["temperature"] == 0


async def test_stream_without_usage_returns_none() -> None:
    rec = Recorder(body=sse(chunk("Paris"), chunk(finish="stop"), done=True))
    async with rec.client() as client:
        comp = await OpenAIAdapter("ollama", "http://localhost:11434/v1").complete(
            ChatRequest("llama3.2", MSGS), client
        )
    assert comp.text == "Paris" and comp.usage is None
    assert "authorization" not in rec.requests[0].headers  # keyless local server


async def test_stream_without_done_is_broken() -> None:
    rec = Recorder(body=sse(chunk("Par"), chunk("is")))
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "broken_stream" and err.value.retryable


async def test_malformed_chunk() -> None:
    rec = Recorder(body=sse(chunk("Par"), '{"choices": [', done=True))
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "malformed" and not err.value.retryable


async def test_error_object_inside_stream() -> None:
    rec = Recorder(body=sse(chunk("Par"), {"error": {"code": 502, "message": "upstream died"}}))
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openrouter", "https://x.test/v1", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "server" and err.value.status == 502


async def test_non_streaming() -> None:
    body = {
        "id": "chatcmpl-2",
        "model": "gpt-4o-mini",
        "usage": OPENAI_USAGE,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}, "finish_reason": "stop"}],
    }
    rec = Recorder(json_body=body)
    async with rec.client() as client:
        comp = await OpenAIAdapter("openai", "https://x.test/v1", "k").complete(
            ChatRequest("m", MSGS, stream=False), client
        )
    assert comp.text == "Paris" and comp.ttft_ms is None
    assert comp.usage is not None and comp.usage.input_tokens == 5120
    assert "stream_options" not in rec.sent and rec.sent["stream"] is False


async def test_openrouter_usage_cost_in_last_chunk() -> None:
    usage = {
        "prompt_tokens": 194,
        "completion_tokens": 2,
        "total_tokens": 196,
        "cost": 0.00095,
        "prompt_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 50},
        "completion_tokens_details": {"reasoning_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
    }
    rec = Recorder(
        body=b": OPENROUTER PROCESSING\n\n" + sse(chunk("Hi"), chunk(finish="stop"), usage_chunk(usage), done=True)
    )
    async with rec.client() as client:
        comp = await OpenAIAdapter("openrouter", "https://openrouter.ai/api/v1", "sk-or-v1-xxxxxxxxxxxx").complete(
            ChatRequest("anthropic/claude-sonnet-4-5", MSGS), client
        )
    assert comp.usage is not None
    assert comp.usage.cost_reported == Decimal("0.00095")
    assert (comp.usage.cache_read_tokens, comp.usage.cache_write_tokens) == (100, 50)
    assert rec.sent["model"] == "anthropic/claude-sonnet-4-5"


def test_llamacpp_timings_when_no_usage() -> None:
    # llama.cpp's final chunk carries timings; prompt_n excludes the cache_n reused tokens.
    last = chunk(finish="stop", timings={"cache_n": 10, "prompt_n": 20, "predicted_n": 7, "predicted_ms": 70.0})
    reply = parse_stream(list(iter_events([sse(chunk("ok"), last, done=True).decode()])), provider="llamacpp")
    assert reply.usage is not None
    assert (reply.usage.input_tokens, reply.usage.cache_read_tokens, reply.usage.output_tokens) == (30, 10, 7)


def test_llamacpp_usage_preferred_over_timings() -> None:
    last = chunk(
        finish="stop",
        timings={"cache_n": 0, "prompt_n": 99, "predicted_n": 99},
        usage={
            "prompt_tokens": 12,
            "completion_tokens": 3,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
        },
    )
    reply = parse_stream(list(iter_events([sse(chunk("ok"), last, done=True).decode()])))
    assert reply.usage is not None and (reply.usage.input_tokens, reply.usage.cache_read_tokens) == (12, 4)


def test_ollama_openai_compat_shapes() -> None:
    # Ollama /v1: fp_ollama chunks; with include_usage a final usage chunk, without it none.
    base = {
        "id": "chatcmpl-9",
        "object": "chat.completion.chunk",
        "model": "llama3.2",
        "system_fingerprint": "fp_ollama",
    }
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "lo"}, "finish_reason": "stop"}]},
    ]
    no_usage = parse_stream(list(iter_events([sse(*events, done=True).decode()])), provider="ollama")
    assert no_usage.text == "Hello" and no_usage.usage is None
    usage = {**base, "choices": [], "usage": {"prompt_tokens": 26, "completion_tokens": 2, "total_tokens": 28}}
    with_usage = parse_stream(list(iter_events([sse(*events, usage, done=True).decode()])), provider="ollama")
    assert with_usage.usage is not None and with_usage.usage.input_tokens == 26


def test_deepseek_cache_hit_tokens_and_reasoning_delta() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "prompt_cache_hit_tokens": 64,
        "prompt_cache_miss_tokens": 36,
        "completion_tokens_details": {"reasoning_tokens": 30},
    }
    thinking = {"id": "x", "choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]}
    reply = parse_stream(list(iter_events([sse(thinking, chunk("42"), usage_chunk(usage), done=True).decode()])))
    assert reply.text == "42"
    assert reply.usage is not None and (reply.usage.cache_read_tokens, reply.usage.reasoning_tokens) == (64, 30)


def test_meta_is_never_part_of_the_request() -> None:
    # The adapter is the same for every endpoint (the simulator too): meta never enters the body,
    # and an extra is sent as it is, whatever its name.
    req = ChatRequest("m", MSGS, meta={"expected": "Paris"}, extra={"llmaudit_sim": {"x": 1}, "top_p": 0.5})
    body = build_request(req)
    assert body == {**build_request(ChatRequest("m", MSGS)), "llmaudit_sim": {"x": 1}, "top_p": 0.5}


async def test_meta_rides_to_the_transport_beside_the_request() -> None:
    rec = Recorder(body=sse(chunk("Paris"), chunk(finish="stop"), usage_chunk(OPENAI_USAGE), done=True))
    meta = {"prompt_id": "q1", "expected": "Paris"}
    async with rec.client() as client:
        await get_adapter("sim").complete(ChatRequest("gpt-4o", MSGS, meta=meta), client)
        await OpenAIAdapter("openai", "https://api.example.test/v1").complete(ChatRequest("gpt-4o", MSGS), client)
    sim, real = rec.requests
    assert sim.extensions[META_EXTENSION] == meta and META_EXTENSION not in real.extensions
    assert sim.content == real.content and "Paris" not in sim.content.decode()  # same body, no meta in it
    assert "Paris" not in str(sim.headers)


def test_adapter_repr_hides_key() -> None:
    assert "sk-" not in repr(OpenAIAdapter("openai", "https://x.test/v1", "sk-secret-123456789"))


def test_groq_x_groq_usage_and_mistral_default_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    groq_last = chunk(finish="stop", x_groq={"id": "req_1", "usage": {"prompt_tokens": 9, "completion_tokens": 2}})
    reply = parse_stream(list(iter_events([sse(chunk("ok"), groq_last, done=True).decode()])), provider="groq")
    assert reply.usage is not None and (reply.usage.input_tokens, reply.usage.output_tokens) == (9, 2)
    # Mistral answers 422 to stream_options but puts usage on its last chunk unasked.
    monkeypatch.setenv("MISTRAL_API_KEY", "test")
    assert "stream_options" not in get_adapter("mistral").body(ChatRequest("mistral-small-latest", MSGS))
    mistral_last = chunk(finish="stop", usage={"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11})
    reply = parse_stream(list(iter_events([sse(chunk("ok"), mistral_last, done=True).decode()])), provider="mistral")
    assert reply.usage is not None and reply.usage.input_tokens == 10
