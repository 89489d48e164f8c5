"""The judge's calls (replay layer): what a judge model is priced as, and one answer per call."""

from __future__ import annotations

import pytest

from llmaudit.errors import MissingCredentialsError
from llmaudit.providers.sim import SimTransport
from llmaudit.replay.judge import JudgeModel


def test_a_sim_judge_is_priced_as_its_mirror_and_says_simulated() -> None:
    judge = JudgeModel("sim/gpt-4o")
    assert (judge.price_id, judge.simulated) == ("openai/gpt-4o", True)


def test_a_real_judge_needs_its_key_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        JudgeModel("openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "test-not-a-key")
    judge = JudgeModel("openai/gpt-4o-mini")
    assert (judge.price_id, judge.simulated) == ("openai/gpt-4o-mini", False)


def test_one_answer_per_call_in_order_none_where_it_failed() -> None:
    import httpx

    judge = JudgeModel("sim/gpt-4o", client_factory=lambda provider: httpx.AsyncClient(
        transport=SimTransport(time_scale=0)))
    grade = [{"role": "user", "content": "Does 'Paris' answer 'capital of France'? PASS or FAIL."}]
    answers = judge.ask([("a", grade), ("b", grade)], max_tokens=50, concurrency=2, timeout_s=5)
    assert [a is not None and a.usage is not None for a in answers] == [True, True]
    assert judge.ask([], max_tokens=50, concurrency=2, timeout_s=5) == []
    broken = JudgeModel("sim/gpt-9", client_factory=lambda provider: httpx.AsyncClient(
        transport=SimTransport(time_scale=0)))
    assert broken.ask([("a", grade)], max_tokens=50, concurrency=1, timeout_s=5) == [None]  # the sim has no gpt-9
