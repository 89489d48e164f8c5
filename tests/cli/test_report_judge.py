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


def _judged_run(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-model run of two unchecked prompts, made from tmp_path with a relative prompt path."""
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    (tmp_path / "p.jsonl").write_text(
        json.dumps({"id": "a", "prompt": "Write a haiku about cost audits."}) + "\n"
        + json.dumps({"id": "b", "prompt": "Explain prompt caching in one sentence."}) + "\n"
    )
    run = run_cli(["replay", "p.jsonl", "--models", "sim/gpt-4o-mini,sim/claude-haiku-4-5", "--out", "r"])
    assert run.exit_code == 0, run.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return tmp_path / "r"


def _set_manifest_path(run_dir: Path, path: str) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["prompts"]["path"] = path
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def test_judge_finds_the_prompt_set_from_another_folder(run_cli: RunCli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _judged_run(run_cli, tmp_path, monkeypatch)
    assert json.loads((run_dir / "manifest.json").read_text())["prompts"]["path"] == str(tmp_path / "p.jsonl")
    res = run_cli(["report", str(run_dir), "--judge", "sim/gpt-4o", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["routing"]["judge"]["judged"] == 4


def test_an_old_manifest_with_a_relative_path_is_resolved_and_says_where(
        run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _judged_run(run_cli, tmp_path, monkeypatch)
    _set_manifest_path(run_dir, "p.jsonl")    # as runs made before this fix recorded it
    res = run_cli(["report", str(run_dir), "--judge", "sim/gpt-4o", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    assert f"prompt set: {tmp_path / 'p.jsonl'} (beside the run directory; the manifest names 'p.jsonl')" \
        in res.stderr
    assert json.loads(res.stdout)["routing"]["judge"]["judged"] == 4


def test_a_prompt_set_that_is_gone_or_changed_is_a_clear_error(run_cli: RunCli, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _judged_run(run_cli, tmp_path, monkeypatch)
    _set_manifest_path(run_dir, "gone.jsonl")
    res = run_cli(["report", str(run_dir), "--judge", "sim/gpt-4o"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.startswith(f"error: {run_dir / 'manifest.json'}: the prompt set 'gone.jsonl' the run read "
                                 f"is not found (looked at {tmp_path / 'gone.jsonl'}, ")
    assert "pass it with --prompts FILE" in res.stderr
    _set_manifest_path(run_dir, "p.jsonl")
    (tmp_path / "p.jsonl").write_text(json.dumps({"id": "a", "prompt": "Something else."}) + "\n")
    res = run_cli(["report", str(run_dir), "--judge", "sim/gpt-4o"])
    assert res.exit_code == 2
    assert "the prompt set 'p.jsonl' the run read has changed since" in res.stderr
