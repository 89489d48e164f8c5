"""The LLM judge, against a mocked OpenAI-compatible endpoint (no network)."""

from __future__ import annotations

import json

import httpx
import pyarrow as pa
import pytest

from llmaudit.analysis.routing.judge import JudgeOptions, judge_results, parse_verdict


def test_parse_verdict() -> None:
    assert parse_verdict('{"pass": true, "reason": "ok"}') is True
    assert parse_verdict('Sure! {"pass": false, "reason": "wrong city"}') is False
    assert parse_verdict("Verdict: PASS") is True
    assert parse_verdict("FAIL - it is Lyon") is False
    assert parse_verdict("I cannot decide") is None


def test_judge_fills_only_unchecked_successful_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-not-a-key")
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        answer = body["messages"][-1]["content"]
        verdict = "Paris" in answer
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": json.dumps({"pass": verdict, "reason": "r"})},
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
            },
        )

    table = pa.Table.from_pylist(
        [
            {"prompt_id": "p1", "model": "a/x", "status": "ok", "passed": None, "output_text": "It is Paris."},
            {"prompt_id": "p1", "model": "b/y", "status": "ok", "passed": None, "output_text": "Lyon"},
            {"prompt_id": "p2", "model": "a/x", "status": "ok", "passed": False, "output_text": "Paris"},
            {"prompt_id": "p2", "model": "b/y", "status": "error", "passed": None, "output_text": None},
        ]
    )
    from llmaudit.pricing import load_catalog
    from llmaudit.replay.judge import JudgeModel

    df, summary = judge_results(
        table,
        JudgeOptions(model="openai/gpt-4o-mini", rubric="Names the capital of France."),
        JudgeModel("openai/gpt-4o-mini",
                   client_factory=lambda provider: httpx.AsyncClient(transport=httpx.MockTransport(handler))),
        prompts={"p1": "What is the capital of France?"},
        catalog=load_catalog(),
    )
    got = {(r.prompt_id, r.model): (r.passed, r.quality_source) for r in df.itertuples()}
    assert got[("p1", "a/x")] == (True, "judge")
    assert got[("p1", "b/y")] == (False, "judge")
    assert got[("p2", "a/x")] == (False, "check")  # a real check is never re-graded
    assert got[("p2", "b/y")][1] is None  # errored call: nothing to grade
    assert len(seen) == 2
    assert "capital of France?" in seen[0]["messages"][-1]["content"]
    assert (summary.judged, summary.passed, summary.failed_calls) == (2, 1, 0)
    assert summary.cost_usd is not None and summary.cost_usd > 0


class _FakeJudge:
    """Any caller's judge: analysis only asks it and prices what it reports."""

    price_id = "openai/gpt-4o-mini"
    simulated = False

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[dict[str, str]]]] = []

    def ask(self, calls, *, max_tokens, concurrency, timeout_s):  # type: ignore[no-untyped-def]
        from llmaudit.providers import Completion
        from llmaudit.usage import Usage

        self.asked = list(calls)
        return [None if pid == "p2" else Completion('{"pass": true}', Usage(100, 10), None, 1.0)
                for pid, _messages in calls]


def test_a_failed_judge_call_leaves_its_row_unjudged_and_the_rest_priced() -> None:
    table = pa.Table.from_pylist(
        [
            {"prompt_id": "p1", "model": "a/x", "status": "ok", "passed": None, "output_text": "Paris"},
            {"prompt_id": "p2", "model": "a/x", "status": "ok", "passed": None, "output_text": "Lyon"},
        ]
    )
    from llmaudit.pricing import load_catalog

    judge = _FakeJudge()
    df, summary = judge_results(table, JudgeOptions(model="openai/gpt-4o-mini"), judge, catalog=load_catalog())
    assert [pid for pid, _ in judge.asked] == ["p1", "p2"]
    assert list(df["quality_source"]) == ["judge", None] and df.at[1, "passed"] is None
    assert (summary.judged, summary.passed, summary.failed_calls, summary.unpriced_calls) == (1, 1, 1, 0)
    assert summary.cost_usd is not None and summary.cost_usd > 0 and summary.simulated is False
