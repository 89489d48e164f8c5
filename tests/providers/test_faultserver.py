from __future__ import annotations

import json

import httpx
import pytest
from faultserver import Fault, run_fault_server

from llmaudit.providers import ChatRequest, ProviderCallError
from llmaudit.providers.openai import OpenAIAdapter

REQ = ChatRequest("local-model", [{"role": "user", "content": "say hello"}])


async def call(server, req: ChatRequest = REQ, timeout: float = 5.0, client: httpx.AsyncClient | None = None):
    adapter = OpenAIAdapter("local", server.base_url, "sk-local-test-0000")
    if client is not None:
        return await adapter.complete(req, client)
    async with httpx.AsyncClient(timeout=timeout) as own:
        return await adapter.complete(req, own)


async def test_scripted_faults_over_real_http() -> None:
    script = [
        "429",
        Fault("429", retry_after="Wed, 21 Oct 2037 07:28:00 GMT"),
        "500",
        "503",
        "401",
        "cut",
        "malformed",
        "no_usage",
        "no_done",  # finish reason and usage came, only [DONE] did not: complete
        "ok",
    ]
    kinds = []
    with run_fault_server(script) as server:
        async with httpx.AsyncClient(timeout=5.0) as client:
            for _ in range(len(script) - 3):
                with pytest.raises(ProviderCallError) as err:
                    await call(server, client=client)
                kinds.append((err.value.kind, err.value.retry_after))
            no_usage = await call(server, client=client)
            no_done = await call(server, client=client)
            ok = await call(server, client=client)
            plain = await call(server, ChatRequest("m", REQ.messages, stream=False), client=client)
    assert [k for k, _ in kinds] == [
        "rate_limited",
        "rate_limited",
        "server",
        "server",
        "auth",
        "broken_stream",
        "malformed",
    ]
    assert no_done.usage is not None and no_done.text == "Hello from the fault server."
    assert kinds[0][1] == 1.0 and kinds[1][1] is not None and kinds[1][1] > 1e6
    assert no_usage.text == "Hello from the fault server." and no_usage.usage is None
    assert ok.usage is not None and ok.usage.output_tokens == 5 and ok.ttft_ms is not None
    assert plain.usage is not None and plain.ttft_ms is None
    assert len(server.requests) == 11 and server.requests[0]["path"] == "/v1/chat/completions"
    assert server.requests[0]["body"]["stream_options"] == {"include_usage": True}
    assert server.usage_sent[-2] == {"prompt_tokens": 6, "completion_tokens": 5, "total_tokens": 11}
    assert server.usage_sent[0] is None


async def test_slow_first_byte_times_out() -> None:
    with run_fault_server([Fault("slow", delay_s=0.5)]) as server:
        with pytest.raises(ProviderCallError) as err:
            await call(server, timeout=0.1)
    assert err.value.kind == "timeout"


async def test_callable_script_sees_the_body() -> None:
    with run_fault_server(lambda i, body: Fault(text=f"echo {body['model']} {i}")) as server:
        comp = await call(server)
    assert comp.text == "echo local-model 0"


async def test_connection_is_reused_after_a_complete_stream() -> None:
    # A dropped connection would put the next call's TLS/TCP setup inside its measured TTFT.
    with run_fault_server() as server:
        async with httpx.AsyncClient(timeout=5.0) as client:
            for _ in range(3):
                await call(server, client=client)
    assert len({r["client_port"] for r in server.requests}) == 1


async def test_meta_stays_on_this_side_of_a_real_connection() -> None:
    # The meta rides as a request extension for an in-process transport; over real HTTP, neither
    # the body nor the headers carry any of it.
    meta = {"prompt_id": "secret-prompt-id", "expected": "Paris-42", "assert": [{"type": "contains", "value": "x"}]}
    with run_fault_server() as server:
        comp = await call(server, ChatRequest("local-model", [{"role": "user", "content": "say hello"}], meta=meta))
    assert comp.text
    (record,) = server.requests
    seen = json.dumps(record, default=str)
    assert "secret-prompt-id" not in seen and "Paris-42" not in seen and "llmaudit" not in seen
