from __future__ import annotations

import email.utils

import httpx
import pytest
from provider_mock import Recorder

from llmaudit.providers.base import ChatRequest, ProviderCallError, error_for_status, parse_retry_after
from llmaudit.providers.openai import OpenAIAdapter

REQ = ChatRequest("m", [{"role": "user", "content": "hi"}])
KEY = "sk-proj-SECRETSECRETSECRET123"


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (429, "rate_limited", True),
        (500, "server", True),
        (503, "server", True),
        (529, "server", True),
        (408, "timeout", True),
        (400, "client", False),
        (404, "client", False),
        (401, "auth", False),
        (403, "auth", False),
    ],
)
async def test_status_classification(status: int, kind: str, retryable: bool) -> None:
    rec = Recorder(status, json_body={"error": {"message": "nope"}})
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.kind == kind and err.value.status == status and err.value.retryable is retryable


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


async def test_429_carries_retry_after() -> None:
    rec = Recorder(429, json_body={"error": {"message": "slow down"}}, headers={"retry-after": "3"})
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.retry_after == 3.0


async def test_error_messages_never_carry_the_key() -> None:
    # A server that echoes the Authorization header back in its error body.
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": {"message": f"bad key {request.headers['authorization']}"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.kind == "auth"
    assert "SECRET" not in str(err.value) and "SECRET" not in repr(err.value)


async def test_transport_failures() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    for handler, kind in ((timeout, "timeout"), (refused, "server")):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            with pytest.raises(ProviderCallError) as err:
                await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
        assert err.value.kind == kind


async def test_200_with_error_body() -> None:
    rec = Recorder(200, json_body={"error": {"code": 429, "message": "rate limited upstream"}})
    async with rec.client() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openrouter", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.kind == "rate_limited"


async def test_non_json_body_is_malformed() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<html>"))) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.kind == "malformed"


def test_error_for_status_snippet_is_bounded() -> None:
    err = error_for_status(500, "x" * 5000, provider="p")
    assert len(str(err)) < 400 and str(err).startswith("p: HTTP 500")


def test_gemini_invalid_key_is_auth() -> None:
    body = (
        '{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT", '
        '"details": [{"reason": "API_KEY_INVALID"}]}}'
    )
    assert error_for_status(400, body).kind == "auth"


async def test_redirect_and_bad_url_are_client_errors() -> None:
    def moved(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "https://elsewhere.test/v1/chat/completions"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(moved)) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.kind == "client" and "elsewhere.test" in str(err.value)
    async with httpx.AsyncClient() as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("local", "localhost:8080/v1").complete(REQ, client)
    assert err.value.kind == "client" and "bad URL" in str(err.value)


async def test_an_unusually_shaped_key_echoed_back_is_scrubbed() -> None:
    key = "gsk_ODDSHAPEDKEY0123456789"  # no pattern in redact() knows this shape

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad request from {request.headers['authorization'].split()[-1]}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("groq", "https://x.test/v1", key).complete(REQ, client)
    assert "ODDSHAPED" not in str(err.value) and err.value.kind == "client"


@pytest.mark.parametrize("shape", ["Qz7OddShapedKey0123456789abcdef", "sk-proj-Abc123Def456Ghi789Jkl012Mno345"])
async def test_no_fragment_of_a_key_survives_the_error_snippet_cut(shape: str) -> None:
    """An error body is cut to 300 characters; a key that straddles the cut used to leave 9-14 of its
    characters in results and on stderr. Written at every offset around the cut, no run of 8 of its
    characters may remain in the message."""
    for offset in range(280, 310):
        def echo(request: httpx.Request, offset: int = offset) -> httpx.Response:
            return httpx.Response(400, text="x" * offset + shape + " trailing words")

        async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as client:
            with pytest.raises(ProviderCallError) as err:
                await OpenAIAdapter("custom", "https://x.test/v1", shape).complete(REQ, client)
        message = str(err.value)
        for start in range(len(shape) - 7):
            assert shape[start:start + 8] not in message, (offset, message[-40:])


async def test_an_oversized_response_is_an_error_not_memory(monkeypatch) -> None:
    """Four 100 MB responses took replay to 2.27 GB RSS: a body past the cap is a malformed answer."""
    from llmaudit.providers import exchange

    monkeypatch.setattr(exchange, "MAX_RESPONSE_BYTES", 1 << 20)
    big = b'{"choices": [{"message": {"content": "' + b"x" * (2 << 20) + b'"}}]}'

    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big, headers={"content-type": "application/json"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(huge)) as client:
        with pytest.raises(ProviderCallError) as err:
            await OpenAIAdapter("openai", "https://x.test/v1", KEY).complete(REQ, client)
    assert err.value.kind == "malformed" and "MiB" in str(err.value)
