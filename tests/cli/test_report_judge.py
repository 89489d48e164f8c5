"""`report RUN_DIR --judge`: an LLM judge grades answers that have no check, offline on sim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli


def test_judge_grades_unchecked_answers(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        json.dumps({"id": "a", "prompt": "Write a haiku about cost audits."}) + "\n"
        + json.dumps({"id": "b", "prompt": "Explain prompt caching in one sentence."}) + "\n"
        + json.dumps({"id": "c", "prompt": "What is 2+2? Number only.", "expected": "4"}) + "\n"
    )
    run = run_cli(["replay", str(prompts), "--models", "sim/gpt-4o-mini,sim/claude-haiku-4-5", "--out", "r"])
    assert run.exit_code == 0, run.stderr
    res = run_cli(["report", "r", "--judge", "sim/gpt-4o", "--prompts", str(prompts), "--format", "json"])
    assert res.exit_code == 0, res.stderr
    routing = json.loads(res.stdout)["routing"]
    assert routing["quality_sources"] == {"judge": 4, "check": 2}  # a real check is never overridden
    judge = routing["judge"]
    assert judge["model"] == "sim/gpt-4o" and judge["judged"] == 4 and judge["cost_usd"] is not None


def test_a_replay_run_audited_as_spend_says_simulated(run_cli: RunCli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "2+2?", "expected": "4"}) + "\n")
    assert run_cli(["replay", str(prompts), "--models", "sim/gpt-4o-mini", "--out", "r"]).exit_code == 0
    res = run_cli(["report", "--spend", "r/results.parquet", "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    assert any(w.startswith("SIMULATED") for w in json.loads(res.stdout)["warnings"])
    html = run_cli(["report", "--spend", "r/results.parquet", "--no-whatif", "--html", "s.html"])
    assert html.exit_code == 0 and "SIMULATED" in (tmp_path / "s.html").read_text()
