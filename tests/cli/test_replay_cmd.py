"""`llmaudit replay` and `llmaudit report RUN_DIR` end to end through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmaudit.config import data_path

PROMPTS = str(data_path("examples") / "prompts.jsonl")


@pytest.fixture(autouse=True)
def _fast_sim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")


def test_replay_sim_models_and_report_every_format(run_cli, tmp_path: Path) -> None:
    res = run_cli(["replay", PROMPTS, "--models", "sim/gpt-4o-mini,sim/claude-sonnet-4-5", "--out", "run1",
                   "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)  # stdout is JSON and nothing else
    assert data["notice"].startswith("SIMULATED")
    assert [m["model"] for m in data["models"]] == ["sim/gpt-4o-mini", "sim/claude-sonnet-4-5"]
    first = data["models"][0]
    assert first["requests"] == 50 and first["errors"] == 0 and first["checked"] == 50
    assert 0 < first["pass_rate"] <= 1 and first["cost_usd"] is not None and first["latency_p50_ms"] > 0
    assert "SIMULATED" in res.stderr and "100 results written" in res.stderr
    assert data["routing"]["prompts"] == 50  # two models answered: the routing analysis follows
    run = tmp_path / "run1"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["totals"]["ok"] == 100
    assert manifest["catalog_as_of"] and manifest["prompts"]["count"] == 50
    assert (run / "results.parquet").exists() and (run / "results.jsonl").exists()

    html = run_cli(["report", "run1", "--html", "run1.html"])  # through the `report` command
    assert html.exit_code == 0, html.stderr
    assert "SIMULATED" in (tmp_path / "run1.html").read_text() and "sim/gpt-4o-mini" in html.stdout

    scaled = run_cli(["report", "run1", "--format", "json", "--volume", "2M-requests/month",
                      "--reference", "sim/claude-sonnet-4-5", "--threshold", "0.8"])
    assert scaled.exit_code == 0, scaled.stderr
    routing = json.loads(scaled.stdout)["routing"]
    assert routing["savings"]["volume"] == "2M-requests/month"
    assert routing["options"]["threshold"] == 0.8
    assert routing["options"]["reference"] == "sim/claude-sonnet-4-5"
    bad = run_cli(["report", "run1", "--threshold", "1.5"])
    assert bad.exit_code == 2 and "--threshold" in bad.stderr

    from llmaudit.cli.report_run import report_run

    for fmt, needle in (("table", "SIMULATED"), ("markdown", "> **SIMULATED"), ("csv", ",SIMULATED,")):
        import io
        import sys

        buf = io.StringIO()
        old, sys.stdout = sys.stdout, buf
        try:
            report_run(str(run), fmt, None)
        finally:
            sys.stdout = old
        assert needle in buf.getvalue(), fmt
        assert "sim/claude-sonnet-4-5" in buf.getvalue()


def test_second_run_hits_the_cache_and_resume_needs_out(run_cli) -> None:
    args = ["replay", PROMPTS, "--models", "sim/gpt-4o-mini", "--format", "json"]
    assert run_cli([*args, "--out", "a"]).exit_code == 0
    res = run_cli([*args, "--out", "b"])
    assert res.exit_code == 0
    model = json.loads(res.stdout)["models"][0]
    assert model["cached"] == 50 and model["timed"] == 0 and model["latency_p50_ms"] is None
    again = run_cli([*args, "--out", "b"])
    assert again.exit_code == 2 and "--resume" in again.stderr
    resumed = run_cli([*args, "--out", "b", "--resume"])
    assert resumed.exit_code == 0 and "50 done earlier" in resumed.stderr


def test_dry_run_prints_estimate_and_sends_nothing(run_cli, tmp_path: Path) -> None:
    # A local model the catalog cannot know is estimated as unpriced (a misspelt hosted one is an error).
    res = run_cli(["replay", PROMPTS, "--models", "openai/gpt-4o-mini,ollama/llama3.2", "--dry-run"])
    assert res.exit_code == 0, res.stderr
    assert "openai/gpt-4o-mini" in res.stdout and "unpriced" in res.stdout and "max_tokens" in res.stdout
    res = run_cli(["replay", PROMPTS, "--models", "openai/gpt-4o-mini", "--dry-run", "--format", "json"])
    data = json.loads(res.stdout)
    model = data["models"][0]
    assert model["requests"] == 50 and model["input_exact"] is True and data["total_usd"] == model["cost_usd"]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--models", "gpt-4o"], "not provider/model"),
        (["--models", "sim/gpt-4o-mini", "--no-cache", "--offline"], "--offline"),
        (["--models", "sim/gpt-4o-mini", "--format", "yaml"], "--format"),
        (["--models", "sim/gpt-4o-mini", "--max-cost", "abc"], "--max-cost"),
        (["--models", "ollama/x", "--max-cost", "1", "--out", "r"], "no price for ollama/x"),
        (["--models", "acme/x", "--out", "r"], "unknown provider 'acme'"),
        (["--models", "openai/gpt-4o-mini", "--out", "r"], "OPENAI_API_KEY"),
        (["--models", "nosuch/x", "--out", "r"], "unknown provider"),
        (["--models", "sim/gpt-4o-mini", "--provider-rpm", "sim"], "PROVIDER=NUMBER"),
    ],
)
def test_usage_errors_exit_2(run_cli, tmp_path: Path, args: list[str], needle: str) -> None:
    res = run_cli(["replay", PROMPTS, *args])
    assert res.exit_code == 2, res.output
    assert needle in res.stderr and "Traceback" not in res.output
    assert not (tmp_path / "r").exists()  # nothing is written before every check has passed


def test_bad_prompt_line_names_file_and_line(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": ""}\n')
    res = run_cli(["replay", str(path), "--models", "sim/gpt-4o-mini"])
    assert res.exit_code == 2 and f"{path}:2:" in res.stderr and "'prompt'" in res.stderr


def test_offline_needs_no_key_and_misses_are_error_rows(run_cli) -> None:
    res = run_cli(["replay", PROMPTS, "--models", "openai/gpt-4o-mini", "--offline", "--out", "off",
                   "--format", "json"])
    assert res.exit_code == 1, res.stderr  # every request missed: the run is written, and it failed
    model = json.loads(res.stdout)["models"][0]
    assert model["errors"] == 50 and model["error_rate"] == 1.0 and model["cost_usd"] is None


def test_report_rejects_a_non_run_dir(run_cli, tmp_path: Path) -> None:
    from llmaudit.cli.report_run import report_run
    from llmaudit.errors import InputError, UsageError

    with pytest.raises(InputError, match="not a replay run directory"):
        report_run(str(tmp_path), "table", None)
    with pytest.raises(UsageError, match="--format"):
        report_run(str(tmp_path), "xml", None)


def test_dry_run_compares_with_max_cost(run_cli) -> None:
    res = run_cli(["replay", PROMPTS, "--models", "openai/gpt-4o", "--dry-run", "--max-cost", "0.001"])
    assert res.exit_code == 0 and "above --max-cost $0.00" in res.stderr


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[replay]\nconcurrency = "many"\n', "[replay] concurrency must be a positive integer"),
        ("[replay]\nconcurency = 4\n", "unknown key(s) concurency"),
        ("[replay]\nprovider_rpm = {sim = -1}\n", "provider_rpm.sim must be a positive number"),
    ],
)
def test_bad_replay_config_is_a_clear_error(run_cli, tmp_path: Path, toml: str, needle: str) -> None:
    (tmp_path / "llmaudit.toml").write_text(toml)
    res = run_cli(["replay", PROMPTS, "--models", "sim/gpt-4o-mini", "--out", "r"])
    assert res.exit_code == 2 and needle in res.stderr, res.stderr
    assert not (tmp_path / "r").exists()


def test_nan_and_infinite_limits_are_refused(run_cli, tmp_path) -> None:
    """`--timeout nan` was accepted (NaN passes a `<= 0` check) and never timed out."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "q1", "prompt": "hi"}\n')
    for flag, value in (("--timeout", "nan"), ("--rpm", "inf"), ("--timeout", "-1")):
        res = run_cli(["replay", str(prompts), "--models", "sim/gpt-4o-mini", flag, value, "--out",
                       str(tmp_path / f"run{flag}{value}")])
        assert res.exit_code == 2 and "positive number" in res.stderr, (flag, value, res.stderr)


def test_a_model_with_no_successful_request_exits_1(run_cli, tmp_path) -> None:
    """`--models ollama/llama3.2` with no server failed every request and the replay exited 0."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "q1", "prompt": "hi"}\n{"id": "q2", "prompt": "hello"}\n')
    # A local server that is not running: every request fails at run time.
    env = {"LLMAUDIT_OLLAMA_BASE_URL": "http://127.0.0.1:9/v1"}
    res = run_cli(["replay", str(prompts), "--models", "ollama/llama3.2,sim/gpt-4o-mini", "--out",
                   str(tmp_path / "run"), "--no-cache", "--max-attempts", "1"], env=env)
    assert res.exit_code == 1 and "no successful request for ollama/llama3.2 (" in res.stderr, res.stderr
    ok = run_cli(["replay", str(prompts), "--models", "sim/gpt-4o-mini", "--out", str(tmp_path / "run2"),
                  "--no-cache"])
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.parametrize(("model", "says"), [("openai/gpt-4o-mnii", "did you mean openai/gpt-4o-mini"),
                                             ("foo/bar", "unknown provider 'foo'"),
                                             ("sim/gpt-4o-mnii", "did you mean sim/gpt-4o-mini")])
def test_dry_run_and_estimate_catch_misspelt_models(run_cli, tmp_path, model: str, says: str) -> None:
    """`--dry-run` accepted openai/gpt-4o-mnii and foo/bar (rc 0); `check --estimate -m foo/bar
    --write-baseline` wrote a baseline for a provider that does not exist."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "q1", "prompt": "hi"}\n')
    res = run_cli(["replay", str(prompts), "--models", model, "--dry-run"])
    assert res.exit_code == 2 and says in " ".join(res.stderr.split()), res.stderr
    baseline = tmp_path / "baseline.json"
    res = run_cli(["check", str(prompts), "--estimate", "-m", model, "--baseline", str(baseline), "--write-baseline"])
    assert res.exit_code == 2 and not baseline.exists(), res.stderr
