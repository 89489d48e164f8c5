"""The two failures no retry fixes, marked for the replay runner's circuit breaker: a provider that
refuses connections (``cause="unreachable"``) and a model it says does not exist
(``cause="model_not_found"``), in each vendor's wording (issue 14)."""

from __future__ import annotations

import json

import httpx
import pytest
from provider_mock import Recorder, sse

from llmaudit.providers.anthropic import AnthropicAdapter
from llmaudit.providers.base import ChatRequest, ProviderCallError, names_missing_model
from llmaudit.providers.gemini import GeminiAdapter
from llmaudit.providers.openai import OpenAIAdapter

REQ = ChatRequest("gpt-4o-mnii", [{"role": "user", "content": "hi"}])

# Each API's own answer to a model it does not have.
MISSING = [
    ("openai", 404, {"error": {"message": "The model `gpt-4o-mnii` does not exist or you do not have access to it.",
                               "type": "invalid_request_error", "param": None, "code": "model_not_found"}}),
    ("anthropic", 404, {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-sonet-4-5"}}),
    ("gemini", 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "models/gemini-2.5-flsh is not found "
                               "for API version v1beta, or is not supported for generateContent."}}),
    ("openrouter", 400, {"error": {"code": 400, "message": "openai/gpt-4o-mnii is not a valid model ID"}}),
    ("vllm", 404, {"object": "error", "type": "NotFoundError", "code": 404,
                   "message": "The model `llama-3.1-8b` does not exist."}),
    ("ollama", 404, {"error": {"message": "model \"llama3.2\" not found, try pulling it first", "type": "api_error"}}),
    ("litellm", 400, {"error": {"message": "litellm.BadRequestError: Invalid model name passed in model=gpt-4o-mnii"}}),
]
# Client errors that say nothing about the model existing.
OTHER = [
    (404, {"error": {"message": "nope"}}),
    (404, "<html><title>404 Not Found</title></html>"),
    (400, {"error": {"message": "This model's maximum context length is 8192 tokens."}}),
    (400, {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model."}}),
    (400, {"error": {"type": "not_found_error", "message": "file-abc"}}),  # a not-found code needs a 404
    (500, {"error": {"code": "model_not_found"}}),
]


@pytest.mark.parametrize(("vendor", "status", "body"), MISSING, ids=[v for v, _, _ in MISSING])
def test_missing_model_in_each_vendors_words(vendor: str, status: int, body: dict) -> None:
    assert names_missing_model(status, json.dumps(body))


@pytest.mark.parametrize(("status", "body"), OTHER)
def test_other_client_errors_are_not_a_missing_model(status: int, body: object) -> None:
    assert not names_missing_model(status, body if isinstance(body, str) else json.dumps(body))


@pytest.mark.parametrize(
    ("adapter", "body"),
    [(OpenAIAdapter("openai", "https://x.test/v1", "k"), MISSING[0][2]),
     (AnthropicAdapter("anthropic", "https://a.test", "k"), MISSING[1][2]),
     (GeminiAdapter("google", "https://g.test/v1beta", "k"), MISSING[2][2])],
    ids=["openai", "anthropic", "gemini"],
)
async def test_adapters_mark_a_404_for_a_missing_model(adapter: object, body: dict) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(Recorder(404, json_body=body))) as client:
        with pytest.raises(ProviderCallError) as err:
            await adapter.complete(REQ, client)  # type: ignore[attr-defined]
    assert err.value.kind == "client" and err.value.cause == "model_not_found" and not err.value.retryable


async def test_a_missing_model_reported_inside_a_stream() -> None:
    """OpenRouter sends some errors with HTTP 200, as a JSON error object in the stream."""
    body = sse({"error": {"code": 400, "message": "openai/gpt-4o-mnii is not a valid model ID"}})
    async with httpx.AsyncClient(transport=httpx.MockTransport(Recorder(200, body=body))) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openrouter", "https://x.test/v1", "k").complete(REQ, client)
    assert err.value.cause == "model_not_found" and "not a valid model ID" in str(err.value)


async def test_a_plain_404_is_a_client_error_without_a_cause() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(Recorder(404, json_body=OTHER[0][1]))) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", "k").complete(REQ, client)
    assert err.value.kind == "client" and err.value.cause is None


async def test_a_refused_connection_is_unreachable_and_still_retryable() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refused)) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("local", "http://127.0.0.1:9/v1", "sk-proj-SECRETSECRETSECRET123").complete(REQ, client)
    assert err.value.cause == "unreachable" and err.value.kind == "server" and err.value.retryable
    assert "127.0.0.1:9" in str(err.value)


async def test_a_timeout_or_a_503_has_no_cause() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(Recorder(503, json_body={"error": {}}))) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", "k").complete(REQ, client)
    assert err.value.cause is None and err.value.retryable
