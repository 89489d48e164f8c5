"""`llmaudit check` end to end through the real CLI entry point, with networking disabled."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmaudit.tokens import count_messages

MODELS = "openai/gpt-4o-mini,anthropic/claude-sonnet-4-5"
SYSTEM = "You are a terse support bot."
BLOAT = (
    " Always be polite, cite the knowledge-base article id, never reveal internal tooling, answer in the"
    " language of the question, and keep answers under five sentences."
)


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """IP sockets fail; local AF_UNIX socket pairs (asyncio's self-pipe) still work."""
    real = socket.socket

    class Guarded(real):  # type: ignore[misc,valid-type]
        def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: int | None = None) -> None:
            if fileno is None and family in (-1, socket.AF_INET, socket.AF_INET6):
                raise AssertionError("network access attempted")
            super().__init__(family, type, proto, fileno)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", Guarded)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def write_prompts(path: Path, system: str = SYSTEM) -> None:
    lines = [
        {"id": "q1", "system": system, "prompt": "How do I reset my password?", "category": "support",
         "max_tokens": 100},
        {"id": "q2", "system": system, "prompt": "Where is my invoice?", "category": "support", "max_tokens": 80},
        {"id": "q3", "prompt": "What is 2+2? Answer with a number.", "category": "math", "max_tokens": 10,
         "assert": [{"type": "contains", "value": "4"}]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def mean_input_tokens(system: str, model: str) -> float:
    prompts = [
        [{"role": "system", "content": system}, {"role": "user", "content": "How do I reset my password?"}],
        [{"role": "system", "content": system}, {"role": "user", "content": "Where is my invoice?"}],
        [{"role": "user", "content": "What is 2+2? Answer with a number."}],
    ]
    return sum(count_messages(p, model).tokens for p in prompts) / len(prompts)


def test_estimate_write_then_pass(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    wrote = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M", "--write-baseline"])
    assert wrote.exit_code == 0, wrote.output
    assert "wrote baseline llmaudit-baseline.json" in wrote.stderr
    data = json.loads(Path("llmaudit-baseline.json").read_text())
    assert data["llmaudit_baseline"] == 1 and data["mode"] == "estimate"
    assert data["volume"]["requests_per_month"] == 10_000_000
    assert set(data["models"]) == set(MODELS.split(","))

    ok = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M"])
    assert ok.exit_code == 0, ok.output
    assert "cost check passed: 0 failed, 0 warnings" in ok.stdout


def test_bloated_system_prompt_fails_with_the_right_delta(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    assert run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M",
                    "--write-baseline"]).exit_code == 0  # fmt: skip
    write_prompts(Path("prompts.jsonl"), SYSTEM + BLOAT)  # the pull request

    res = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M", "--format", "json"])
    assert res.exit_code == 1, res.output
    assert "cost regression" in res.stderr and "--write-baseline" in res.stderr
    report = json.loads(res.stdout)
    assert report["status"] == "fail" and report["exit_code"] == 1

    before = mean_input_tokens(SYSTEM, "gpt-4o-mini")
    after = mean_input_tokens(SYSTEM + BLOAT, "gpt-4o-mini")
    by_key = {(f["model"], f["category"], f["metric"]): f for f in report["findings"]}
    tokens = by_key[("openai/gpt-4o-mini", None, "input_tokens")]
    assert tokens["status"] == "fail" and tokens["exact"] is True
    assert tokens["baseline"] == pytest.approx(before) and tokens["current"] == pytest.approx(after)
    assert tokens["delta_pct"] == pytest.approx(after / before - 1)

    # gpt-4o-mini input is $0.15 per 1M tokens in the shipped catalog: Δ$/month = Δtokens × rate × volume
    from llmaudit.pricing import load_catalog

    res_ = load_catalog().resolve("openai/gpt-4o-mini")
    assert res_ is not None
    point = res_.entry.price_at(None)
    assert point is not None
    rate = float(point.rates.input) / 1e6
    monthly = by_key[("openai/gpt-4o-mini", None, "monthly_cost")]
    assert monthly["delta"] == pytest.approx((after - before) * rate * 10_000_000, rel=1e-6)
    headline = next(h for h in report["headlines"] if "openai/gpt-4o-mini" in h)
    pct = f"+{(after / before - 1) * 100:.1f}% input tokens"
    assert headline.startswith("FAIL: openai/gpt-4o-mini: " + pct)
    assert headline.endswith("/month at 10M requests/month")

    claude = by_key[("anthropic/claude-sonnet-4-5", None, "input_tokens")]
    assert claude["status"] == "fail" and claude["exact"] is False  # labelled estimate
    # the math category did not change
    assert by_key[("openai/gpt-4o-mini", "math", "input_tokens")]["status"] == "pass"
    assert by_key[("openai/gpt-4o-mini", "support", "input_tokens")]["status"] == "fail"

    # accepting the change: --write-baseline shows what is accepted, exits 0, and the check passes again
    accept = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M", "--write-baseline"])
    assert accept.exit_code == 0, accept.output
    assert "changes against the previous llmaudit-baseline.json" in accept.stderr
    assert "FAIL: openai/gpt-4o-mini: " + pct in accept.stdout
    as_json = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--write-baseline", "-f", "json"])
    assert json.loads(as_json.stdout)["llmaudit_baseline"] == 1
    assert run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M"]).exit_code == 0


def test_table_markdown_junit_and_step_summary(run_cli, no_network: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M", "--write-baseline"])
    write_prompts(Path("prompts.jsonl"), SYSTEM + BLOAT)
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    res = run_cli(
        ["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M", "--junit", "junit.xml"],
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert res.exit_code == 1
    assert "FAIL: openai/gpt-4o-mini:" in res.stdout and "cost check FAILED" in res.stdout
    md = summary.read_text()
    assert md.startswith("# earlier step\n<!-- llmaudit-check -->")
    assert "## ❌ llmaudit cost check: fail" in md and "| `openai/gpt-4o-mini` | input tokens / request |" in md
    assert "~ marks figures that rest on estimated token counts" in md

    suite = ET.parse("junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("failures", "0")) >= 2
    failed = [c.get("classname") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "llmaudit.check.openai/gpt-4o-mini" in failed

    md_out = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--format", "markdown"])
    assert md_out.exit_code == 1 and md_out.stdout.startswith("<!-- llmaudit-check -->")


def test_missing_and_corrupt_baseline_exit_2(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    missing = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate"])
    assert missing.exit_code == 2
    assert "llmaudit-baseline.json: baseline not found" in missing.stderr and "Traceback" not in missing.output
    Path("llmaudit-baseline.json").write_text('{"llmaudit_baseline": 1, "mode": "estimate", "models": {')
    corrupt = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate"])
    assert corrupt.exit_code == 2
    assert "corrupt baseline: invalid JSON" in corrupt.stderr
    # --write-baseline repairs it
    assert run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--write-baseline"]).exit_code == 0
    assert run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate"]).exit_code == 0


def test_new_and_removed_model_pass_with_warnings(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--write-baseline"])
    res = run_cli(["check", "prompts.jsonl", "-m", "openai/gpt-4o-mini,google/gemini-2.5-flash", "--estimate",
                   "-f", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["status"] == "warn"
    models = {f["model"]: f["status"] for f in report["findings"] if f["metric"] == "model"}
    assert models == {"anthropic/claude-sonnet-4-5": "removed", "google/gemini-2.5-flash": "new"}


def test_usage_errors_exit_2(run_cli) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    cases = [
        (["check", "prompts.jsonl", "--estimate"], "--models is required"),
        (["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--offline"], "exclusive"),
        (["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--max-cost-increase", "five"], "percentage"),
        (["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "lots"], "--volume"),
        (["check", "prompts.jsonl", "-m", "gpt-4o", "--estimate"], "provider/model"),
        (["check", "nope.jsonl", "-m", MODELS, "--estimate"], "nope.jsonl: prompt set not found"),
        (["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--format", "xml"], "xml"),
    ]
    for args, message in cases:
        res = run_cli(args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.output


def test_config_section(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    Path("llmaudit.toml").write_text(
        '[check]\nmodels = ["openai/gpt-4o-mini"]\nvolume = "1M"\nbaseline = "ci/base.json"\n'
        'max_token_increase = "200%"\nmax_cost_increase = "200%"\n'
    )
    assert run_cli(["check", "prompts.jsonl", "--estimate", "--write-baseline"]).exit_code == 0
    assert Path("ci/base.json").exists()
    write_prompts(Path("prompts.jsonl"), SYSTEM + BLOAT)
    res = run_cli(["check", "prompts.jsonl", "--estimate", "-f", "json"])
    assert res.exit_code == 0, res.output  # +~100% tokens is within the configured 200%
    report = json.loads(res.stdout)
    assert report["thresholds"]["token_increase"] == {"warn": 1.0, "fail": 2.0}
    assert report["volume_requests_per_month"] == 1_000_000
    strict = run_cli(["check", "prompts.jsonl", "--estimate", "--max-token-increase", "10%"])
    assert strict.exit_code == 1  # flags override config
    Path("llmaudit.toml").write_text('[check]\nmax_cost_increse = "5%"\n')
    typo = run_cli(["check", "prompts.jsonl", "-m", MODELS, "--estimate"])
    assert typo.exit_code == 2 and "unknown key(s) max_cost_increse" in typo.stderr


def test_run_dir_and_offline_replay(run_cli, no_internet: None, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A sim replay run (in-process, keyless) is measured; --offline replays it from the cache."""
    from llmaudit.replay import ReplayOptions, load_prompts, run_replay

    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    write_prompts(Path("prompts.jsonl"))
    summary = run_replay(load_prompts("prompts.jsonl"), ["sim/gpt-4o-mini"], "run1", ReplayOptions(repeats=2))
    assert summary.ok == 6
    wrote = run_cli(["check", "run1", "--write-baseline", "-b", "run-base.json", "--volume", "1M"])
    assert wrote.exit_code == 0, wrote.output
    data = json.loads(Path("run-base.json").read_text())
    overall = data["models"]["sim/gpt-4o-mini"]["all"]
    assert data["mode"] == "measured" and overall["requests"] == 6 and overall["latency_n"] == 6
    assert overall["checked"] == 2 and overall["p95_latency_ms"]["hi"] is None  # 6 samples: unbounded p95

    same = run_cli(["check", "run1", "-b", "run-base.json", "-f", "json"])
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["status"] == "pass"

    offline = run_cli(["check", "prompts.jsonl", "-m", "sim/gpt-4o-mini", "--offline", "--repeats", "2",
                       "-b", "run-base.json", "-f", "json"])  # fmt: skip
    assert offline.exit_code == 0, offline.output
    rep = json.loads(offline.stdout)
    by_metric = {f["metric"]: f for f in rep["findings"] if f["category"] is None}
    assert by_metric["input_tokens"]["status"] == "pass"
    assert by_metric["p95_latency_ms"]["status"] == "n/a"  # cached answers carry no latency

    assert any(n.startswith("SIMULATED: sim/gpt-4o-mini") for n in rep["notes"])

    uncached = run_cli(["check", "prompts.jsonl", "-m", "sim/gpt-4o", "--offline", "-b", "run-base.json"])
    assert uncached.exit_code == 2, uncached.output
    assert "none of the 3 requests succeeded" in uncached.stderr

    estimate_vs_run = run_cli(["check", "prompts.jsonl", "-m", "sim/gpt-4o-mini", "--estimate", "-b", "run-base.json"])
    assert estimate_vs_run.exit_code == 2 and "compare like with like" in estimate_vs_run.stderr


def test_live_check_shows_progress_and_no_cache_skips_the_cache(  # type: ignore[no-untyped-def]
    run_cli, no_internet: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: a live check shows the replay's progress on stderr and --no-cache bypasses the cache."""
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    write_prompts(Path("prompts.jsonl"))
    args = ["check", "prompts.jsonl", "-m", "sim/gpt-4o-mini", "-b", "live.json"]
    uncached = run_cli([*args, "--no-cache", "--write-baseline", "-f", "json"])
    assert uncached.exit_code == 0, uncached.output
    assert "replay (SIMULATED)" in uncached.stderr and "3/3" in uncached.stderr
    json.loads(uncached.stdout)  # the progress bar stays off stdout
    # nothing was cached, so an offline check has nothing to answer from
    offline = run_cli([*args, "--offline"])
    assert offline.exit_code == 2 and "none of the 3 requests succeeded" in offline.stderr
    cached = run_cli(args)
    assert cached.exit_code == 0, cached.output
    assert run_cli([*args, "--offline"]).exit_code == 0  # the default live check fills the cache
    for bad in (["--offline"], ["--estimate"]):
        clash = run_cli([*args, "--no-cache", *bad])
        assert clash.exit_code == 2 and "--no-cache applies to a live replay" in clash.stderr


def test_comment_modes_from_the_cli(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    write_prompts(Path("prompts.jsonl"))
    args = ["check", "prompts.jsonl", "-m", MODELS, "--estimate", "--volume", "10M"]
    assert run_cli([*args, "--write-baseline"]).exit_code == 0
    quiet = run_cli([*args, "-f", "markdown", "--comment-mode", "on-change"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == "" and "comment mode on-change: nothing changed" in quiet.stderr
    always = run_cli([*args, "-f", "markdown"])
    assert always.stdout.startswith("<!-- llmaudit-check -->")
    write_prompts(Path("prompts.jsonl"), SYSTEM + BLOAT)
    loud = run_cli([*args, "-f", "markdown", "--comment-mode", "on-increase"])
    assert loud.exit_code == 1 and loud.stdout.startswith("<!-- llmaudit-check -->")
    assert "(comment mode `on-increase`)" in loud.stdout
    Path("llmaudit.toml").write_text('[check]\ncomment_mode = "on-change"\n')
    from_config = run_cli([*args, "-f", "markdown", "--config", "llmaudit.toml"])
    assert "(comment mode `on-change`)" in from_config.stdout
    wrong = run_cli([*args, "--comment-mode", "on-change"])
    assert wrong.exit_code == 2 and "add --format markdown" in wrong.stderr
    bad = run_cli([*args, "-f", "markdown", "--comment-mode", "sometimes"])
    assert bad.exit_code == 2 and "expected one of always, on-change, on-increase" in bad.stderr


def test_a_live_check_says_when_a_provider_was_cut_off(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A wrong key in CI: the provider refuses it, the replay's breaker cuts it off, and the check
    says so on stderr instead of passing quietly on fewer requests."""
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers"))
    from faultserver import run_fault_server

    Path("prompts.jsonl").write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"question {i}", "max_tokens": 20})
                                             + "\n" for i in range(16)))
    with run_fault_server(lambda i, body: "401") as server:
        Path("llmaudit.toml").write_text(f'[providers.local]\ntype = "openai"\nbase_url = "{server.base_url}"\n')
        res = run_cli(["check", "prompts.jsonl", "-m", "local/a", "-b", "live.json", "--write-baseline",
                       "--no-cache", "--config", "llmaudit.toml"])
    assert "local cut off after 3 failures in a row (the provider refused the API key)" in res.stderr, res.stderr
    assert "were not sent and are not in this check's figures" in res.stderr
