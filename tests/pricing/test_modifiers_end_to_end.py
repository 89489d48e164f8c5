"""Modifiers billed at their own rates, from a log line to the report, on the shipped catalog:
Anthropic fast mode from a Claude Code line, US-only inference (``inference_geo``), OpenAI flex and
priority service tiers. Expected figures come from the vendors' rates as the catalog's sources give
them on that day (LiteLLM's ``fast/`` keys and ``provider_specific_entry``, its ``_flex`` /
``_priority`` rates)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.conftest import RunCli


def _total(run_cli: RunCli, path: Path) -> Decimal:
    res = run_cli(["report", "--spend", str(path), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    return Decimal(str(json.loads(res.stdout)["totals"]["cost"])).quantize(Decimal("1e-12"))


def _claude_line(uid: str, speed: str | None) -> str:
    usage: dict[str, object] = {"input_tokens": 1000, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                                "output_tokens": 100, "service_tier": "standard"}
    if speed:
        usage["speed"] = speed
    return json.dumps({"parentUuid": None, "isSidechain": False, "type": "assistant", "sessionId": "s1",
                       "cwd": "/home/dev/p", "version": "2.1.63", "uuid": uid, "requestId": f"req_{uid}",
                       "timestamp": "2026-03-01T10:00:00.000Z",
                       "message": {"id": f"msg_{uid}", "type": "message", "role": "assistant",
                                   "model": "claude-opus-4-6", "content": [], "usage": usage}})


def test_claude_code_fast_mode_is_billed_at_fast_rates(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "-home-dev-p"
    folder.mkdir(parents=True)
    (folder / "s1.jsonl").write_text(_claude_line("a", "fast") + "\n")
    # Opus 4.6 fast mode on 2026-03-01: $30 in / $150 out per 1M (6x standard).
    assert _total(run_cli, folder / "s1.jsonl") == Decimal("0.045")
    (folder / "s1.jsonl").write_text(_claude_line("a", None) + "\n")
    assert _total(run_cli, folder / "s1.jsonl") == Decimal("0.0075")  # standard $5 / $25


def test_us_only_inference_costs_ten_percent_more(run_cli: RunCli, tmp_path: Path) -> None:
    def line(geo: str) -> str:
        return json.dumps({"timestamp": "2026-11-01T10:00:00Z", "response": {
            "id": f"msg_{geo}", "type": "message", "role": "assistant", "model": "claude-opus-4-6", "content": [],
            "usage": {"input_tokens": 1000, "output_tokens": 100, "inference_geo": geo}}})

    path = tmp_path / "anthropic.jsonl"
    path.write_text(line("us") + "\n")
    assert _total(run_cli, path) == Decimal("0.00825")  # 1.1 x ($5 x 1000 + $25 x 100) / 1M
    path.write_text(line("global") + "\n")
    assert _total(run_cli, path) == Decimal("0.0075")


def test_openai_flex_and_priority_service_tiers(run_cli: RunCli, tmp_path: Path) -> None:
    def line(tier: str) -> str:
        return json.dumps({"id": f"chatcmpl-{tier}", "object": "chat.completion", "created": 1793527200,
                           "model": "gpt-5.4", "choices": [], "service_tier": tier,
                           "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}})

    path = tmp_path / "openai.jsonl"
    for tier, want in (("flex", "0.002"), ("priority", "0.008"), ("default", "0.004")):
        path.write_text(line(tier) + "\n")
        # gpt-5.4 on 2026-11-01: flex $1.25/$7.50, priority $5/$30, standard $2.50/$15 per 1M.
        assert _total(run_cli, path) == Decimal(want), tier


def test_deepseek_2025_night_discount_by_timestamp(run_cli: RunCli, tmp_path: Path) -> None:
    """DeepSeek's 2025 off-peak discount (16:30-00:30 UTC, 2025-02-26 to 2025-09-05): 75% off
    deepseek-reasoner ($0.55/$2.19 list), applied by each request's timestamp."""
    def line(ts: int) -> str:
        return json.dumps({"id": f"c{ts}", "object": "chat.completion", "created": ts, "model": "deepseek-reasoner",
                           "choices": [], "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000,
                                                    "total_tokens": 2_000_000}})

    path = tmp_path / "deepseek.jsonl"
    path.write_text(line(1743508800) + "\n")  # 2025-04-01 12:00 UTC: peak
    assert _total(run_cli, path) == Decimal("2.74")
    path.write_text(line(1743526800) + "\n")  # 2025-04-01 17:00 UTC: off-peak
    assert _total(run_cli, path) == Decimal("0.685")


def _report(run_cli: RunCli, path: Path, fmt: str = "json") -> str:
    res = run_cli(["report", "--spend", str(path), "--format", fmt, "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    return res.stdout


def test_openai_usage_api_bucket_is_not_one_long_prompt(run_cli: RunCli, tmp_path: Path) -> None:
    """1,000 requests, 5M in / 400k out on gpt-5.4 in one usage-API bucket: base rates ($18.50), not the
    >272k tier a single 5M-token prompt would pay ($34), and counted as tier not determinable."""
    page = {"object": "page", "has_more": False, "data": [{"object": "bucket", "start_time": 1793491200,
            "end_time": 1793577600, "results": [{"object": "organization.usage.completions.result",
                                                 "input_tokens": 5_000_000, "output_tokens": 400_000,
                                                 "num_model_requests": 1000, "model": "gpt-5.4", "batch": False,
                                                 "input_cached_tokens": 0}]}]}
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(page))
    report = json.loads(_report(run_cli, path))
    assert Decimal(str(report["totals"]["cost"])).quantize(Decimal("1e-9")) == Decimal("18.5")
    assert "not determinable" in " ".join(_report(run_cli, path, "table").split())


def test_anthropic_usage_report_window_decides_the_tier(run_cli: RunCli, tmp_path: Path) -> None:
    """An Anthropic usage-report bucket marked "0-200k" is billed at base rates however many tokens it
    holds (Sonnet 4.5 on 2026-01-15: $3/$15), "200k-1M" at the >200k tier ($6/$22.50)."""
    def page(window: str) -> str:
        return json.dumps({"has_more": False, "data": [{"starting_at": "2026-01-15T00:00:00Z",
                           "ending_at": "2026-01-16T00:00:00Z", "results": [{
                               "uncached_input_tokens": 5_000_000, "cache_read_input_tokens": 0,
                               "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
                               "output_tokens": 100_000, "model": "claude-sonnet-4-5-20250929",
                               "service_tier": "standard", "context_window": window}]}]})

    path = tmp_path / "anthropic_usage.json"
    path.write_text(page("0-200k"))
    assert _total(run_cli, path) == Decimal("16.5")  # 5 x $3 + 0.1 x $15
    path.write_text(page("200k-1M"))
    assert _total(run_cli, path) == Decimal("32.25")  # 5 x $6 + 0.1 x $22.50
