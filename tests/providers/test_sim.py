from __future__ import annotations

import httpx
import pytest

from llmaudit.assertions import evaluate
from llmaudit.providers import SIM_MODELS, ChatRequest, ProviderCallError, get_adapter, make_client
from llmaudit.providers.exchange import META_EXTENSION, TIMING_EXTENSION
from llmaudit.providers.sim import SimTransport, mirror_of, success_probability

ASSERTS = [{"type": "number", "value": 42}]


def request(model: str, pid: str, category: str = "math", **kw: object) -> ChatRequest:
    meta = {"prompt_id": pid, "category": category, "assert": ASSERTS, **kw}
    return ChatRequest(model, [{"role": "user", "content": "What is 6*7?"}], meta=meta)


def client(**kw: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=SimTransport(time_scale=0, **kw))  # type: ignore[arg-type]


def test_sim_models_mirror_catalog_ids() -> None:
    assert 8 <= len(SIM_MODELS) <= 12
    assert SIM_MODELS["sim/gpt-4o-mini"] == "openai/gpt-4o-mini"
    assert {m.split("/")[0] for m in SIM_MODELS.values()} >= {"openai", "anthropic", "google", "deepseek", "mistral"}
    assert mirror_of("sim/claude-sonnet-4-5") == mirror_of("claude-sonnet-4-5") == "anthropic/claude-sonnet-4-5"
    assert mirror_of("nope") is None


def test_every_mirrored_model_has_a_profile() -> None:
    from llmaudit.mirrors import MIRRORS
    from llmaudit.providers.sim import SIM_PROFILES

    assert list(SIM_PROFILES) == list(MIRRORS)
    assert all(SIM_PROFILES[name].mirrors == mirror for name, mirror in MIRRORS.items())


def test_quality_depends_on_model_and_category() -> None:
    assert success_probability("gpt-4.1-nano", "math") < success_probability("claude-sonnet-4-5", "math")
    assert success_probability("gpt-4.1-nano", "classification") > success_probability("gpt-4.1-nano", "math")


async def test_through_the_openai_adapter_with_usage_and_simulated_timing() -> None:
    adapter = get_adapter("sim")
    async with client() as c:
        comp = await adapter.complete(request("gpt-4o", "q1"), c)
    assert comp.usage is not None and comp.usage.input_tokens > 0 and comp.usage.output_tokens > 0
    assert comp.ttft_ms is not None and 0.8 * 450 <= comp.ttft_ms <= 1.3 * 450  # the simulated profile
    assert comp.latency_ms > comp.ttft_ms and comp.finish_reason == "stop"
    assert comp.request_id and comp.request_id.startswith("chatcmpl-sim-")


async def test_deterministic_and_seeded() -> None:
    adapter = get_adapter("sim")
    async with client() as c1, client() as c2, client(seed=7) as c3:
        a = [await adapter.complete(request("gpt-4o-mini", f"q{i}"), c1) for i in range(20)]
        b = [await adapter.complete(request("gpt-4o-mini", f"q{i}"), c2) for i in range(20)]
        s = [await adapter.complete(request("gpt-4o-mini", f"q{i}"), c3) for i in range(20)]
    assert [(x.text, x.usage, x.latency_ms) for x in a] == [(x.text, x.usage, x.latency_ms) for x in b]
    assert [x.text for x in a] != [x.text for x in s]


async def test_pass_rate_tracks_model_quality() -> None:
    adapter = get_adapter("sim")
    rates = {}
    async with client() as c:
        for model in ("gpt-4.1-nano", "claude-sonnet-4-5"):
            passed = 0
            for i in range(200):
                comp = await adapter.complete(request(model, f"q{i}"), c)
                result = evaluate(ASSERTS, comp.text)
                assert result is not None
                passed += result.passed
            rates[model] = passed / 200
    for model, rate in rates.items():
        assert abs(rate - success_probability(model, "math")) < 0.1
    assert rates["claude-sonnet-4-5"] > rates["gpt-4.1-nano"] + 0.3


async def test_answers_satisfy_various_checks() -> None:
    adapter = get_adapter("sim")
    cases = [
        [{"type": "contains", "value": "Paris"}],
        [{"type": "icontains", "value": "paris"}],
        [{"type": "equals", "value": "positive"}],
        [
            {
                "type": "is-json",
                "value": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
            }
        ],
        [{"type": "contains-all", "value": ["a1", "b2"]}],
    ]
    async with client() as c:
        for asserts in cases:
            # classification with the best model: p≈0.998 → every one of these passes
            comp = await adapter.complete(
                ChatRequest(
                    "claude-sonnet-4-5",
                    [{"role": "user", "content": "q"}],
                    meta={"prompt_id": "x", "category": "classification", "assert": asserts},
                ),
                c,
            )
            result = evaluate(asserts, comp.text)
            assert result is not None and result.passed, (asserts, comp.text)
        comp = await adapter.complete(
            ChatRequest(
                "gpt-4o",
                [{"role": "user", "content": "Capital?"}],
                meta={"prompt_id": "y", "category": "qa", "expected": "Paris"},
            ),
            c,
        )
        result = evaluate(None, comp.text, expected="Paris")
        assert result is not None and result.passed and comp.text == "Paris"  # `expected` means equals


async def test_no_checks_gives_filler_and_respects_max_tokens() -> None:
    adapter = get_adapter("sim")
    async with client() as c:
        comp = await adapter.complete(
            ChatRequest("gemini-2.5-pro", [{"role": "user", "content": "Essay"}], max_tokens=5), c
        )
    assert comp.usage is not None and comp.usage.output_tokens <= 5 and comp.finish_reason == "length"


async def test_non_streaming_and_unknown_model() -> None:
    adapter = get_adapter("sim")
    async with client() as c:
        comp = await adapter.complete(
            ChatRequest("deepseek-chat", [{"role": "user", "content": "hi"}], stream=False), c
        )
        assert comp.ttft_ms is None and comp.usage is not None
        with pytest.raises(ProviderCallError) as err:
            await adapter.complete(ChatRequest("gpt-9", [{"role": "user", "content": "hi"}]), c)
    assert err.value.kind == "client" and "sim/gpt-4o-mini" in str(err.value)


async def test_make_client_serves_sim_in_process() -> None:
    async with make_client("sim") as c:
        comp = await get_adapter("sim").complete(request("mistral-small-latest", "q1"), c)
    assert comp.text


async def test_fault_rate_fails_first_attempts_only() -> None:
    adapter = get_adapter("sim")
    kinds = []
    async with client(fault_rate=0.5) as c:
        for i in range(20):
            try:
                await adapter.complete(request("gpt-4o-mini", f"q{i}"), c)
            except ProviderCallError as exc:
                kinds.append(exc.kind)
                assert exc.retryable
                await adapter.complete(request("gpt-4o-mini", f"q{i}"), c)  # the retry succeeds
    assert 3 <= len(kinds) <= 17 and set(kinds) == {"rate_limited", "server"}


async def test_sim_speaks_plain_openai_and_reports_its_timing_beside_the_answer() -> None:
    # What the simulator knows about the prompt comes from the request's extension, and what it
    # simulated goes back in the response's: the body on the wire is a plain OpenAI answer.
    meta = {"prompt_id": "q1", "category": "math", "assert": ASSERTS}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is 6*7?"}], "stream": True}
    async with client() as c:
        resp = await c.post("http://sim.test/v1/chat/completions", json=body, extensions={META_EXTENSION: meta})
        plain = await c.post("http://sim.test/v1/chat/completions", json={**body, "stream": False})
    assert "llmaudit" not in resp.text and "llmaudit" not in plain.text
    timing = resp.extensions[TIMING_EXTENSION]
    assert 0.8 * 450 <= timing["ttft_ms"] < timing["latency_ms"] and timing["chunk_ms"][-1] == timing["latency_ms"]
    assert plain.extensions[TIMING_EXTENSION]["ttft_ms"] is None  # not streamed: no first token to time
    async with client() as c:
        comp = await get_adapter("sim").complete(request("gpt-4o", "q1"), c)
    assert (comp.ttft_ms, comp.latency_ms) == (timing["ttft_ms"], timing["latency_ms"])
    assert comp.chunk_us == tuple(round(ms * 1000) for ms in timing["chunk_ms"])
