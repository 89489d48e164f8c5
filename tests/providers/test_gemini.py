from __future__ import annotations

import pytest
from provider_mock import Recorder, sse

from llmaudit.providers.base import ChatRequest, ProviderCallError
from llmaudit.providers.gemini import GeminiAdapter

MSGS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "Capital of France?"},
]


def chunk(text: str | None, *, finish: str | None = None, usage: dict | None = None, thought: bool = False) -> dict:
    part = {"text": text, **({"thought": True} if thought else {})}
    cand: dict = {"content": {"role": "model", "parts": [part] if text is not None else []}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    out: dict = {"candidates": [cand], "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}
    if usage:
        out["usageMetadata"] = usage
    return out


USAGE = {
    "promptTokenCount": 22015,
    "cachedContentTokenCount": 2000,
    "candidatesTokenCount": 378,
    "thoughtsTokenCount": 1102,
    "totalTokenCount": 23495,
}


async def test_stream_usage_metadata_in_last_chunk() -> None:
    rec = Recorder(
        body=sse(
            chunk("thinking...", thought=True),
            chunk("Par", usage={"promptTokenCount": 22015}),
            chunk("is", finish="STOP", usage=USAGE),
        )
    )
    adapter = GeminiAdapter("google", "https://gl.test/v1beta", "AIzaSyTESTKEY1234567890abcdef")
    async with rec.client() as client:
        comp = await adapter.complete(ChatRequest("gemini-2.5-flash", MSGS, max_tokens=64, temperature=0), client)
    assert comp.text == "Paris" and comp.finish_reason == "STOP"
    u = comp.usage
    assert u is not None
    assert u.input_tokens == 22015 and u.cache_read_tokens == 2000
    assert u.output_tokens == 378 + 1102 and u.reasoning_tokens == 1102  # thoughts are output
    req = rec.requests[0]
    assert req.url.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert req.url.params["alt"] == "sse" and "key" not in req.url.params
    assert req.headers["x-goog-api-key"] == "AIzaSyTESTKEY1234567890abcdef"
    sent = rec.sent
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["generationConfig"] == {"maxOutputTokens": 64, "temperature": 0}


async def test_stream_without_finish_reason_is_broken() -> None:
    rec = Recorder(body=sse(chunk("Par"), chunk("is")))
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await GeminiAdapter("google", "https://gl.test/v1beta", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "broken_stream"


async def test_stream_without_usage() -> None:
    rec = Recorder(body=sse(chunk("Paris", finish="STOP")))
    async with rec.client() as client:
        comp = await GeminiAdapter("google", "https://gl.test/v1beta", "k").complete(ChatRequest("m", MSGS), client)
    assert comp.text == "Paris" and comp.usage is None


async def test_non_streaming() -> None:
    rec = Recorder(json_body=chunk("Paris", finish="STOP", usage=USAGE))
    async with rec.client() as client:
        comp = await GeminiAdapter("google", "https://gl.test/v1beta", "k").complete(
            ChatRequest("models/gemini-2.5-pro", MSGS, stream=False), client
        )
    assert comp.text == "Paris" and comp.usage is not None and comp.usage.output_tokens == 1480
    assert rec.requests[0].url.path == "/v1beta/models/gemini-2.5-pro:generateContent"


async def test_resource_exhausted_is_rate_limited() -> None:
    body = {"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}
    rec = Recorder(429, json_body=body, headers={"retry-after": "7"})
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await GeminiAdapter("google", "https://gl.test/v1beta", "k").complete(ChatRequest("m", MSGS), client)
    assert err.value.kind == "rate_limited" and err.value.retry_after == 7.0


async def test_usage_after_the_finish_chunk_is_still_read() -> None:
    rec = Recorder(body=sse(chunk("Paris", finish="STOP"), {"usageMetadata": USAGE}))
    async with rec.client() as client:
        comp = await GeminiAdapter("google", "https://gl.test/v1beta", "k").complete(ChatRequest("m", MSGS), client)
    assert comp.usage is not None and comp.usage.input_tokens == 22015


def test_generation_config_from_extra_is_merged() -> None:
    from llmaudit.providers.gemini import build_request

    body = build_request(ChatRequest("m", MSGS, max_tokens=10, extra={"generationConfig": {"topP": 0.5}}))
    assert body["generationConfig"] == {"maxOutputTokens": 10, "topP": 0.5}
