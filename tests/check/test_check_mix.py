"""Traffic mix: `llmaudit mix` from logs, and `check --mix` weighting the gate by real traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _factory import rows, table

from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.findings import CheckReport
from llmaudit.analysis.gate.measurement import ALL, measure
from llmaudit.analysis.gate.mix import Mix, MixShare, apply_mix, read_mix
from llmaudit.analysis.gate.thresholds import thresholds_from
from llmaudit.errors import UsageError

MODEL = "openai/gpt-4o-mini"
VOLUME = 10_000_000


def _prompts(extraction_cost: float) -> list[dict[str, Any]]:
    """18 support prompts and 2 extraction prompts, each $0.001 except extraction at ``extraction_cost``."""
    out = rows(prompts=20, categories=("support",), latency=None)
    for r in out[18:]:
        r["category"], r["cost_usd"] = "extraction", extraction_cost
    return out


def _mix(extraction: int, support: int) -> Mix:
    total = extraction + support
    shares = {
        "extraction": MixShare(extraction, extraction * 100, extraction * 50, extraction / total, extraction / total),
        "support": MixShare(support, support * 100, support * 50, support / total, support / total),
    }
    return Mix("category", ["prod.jsonl"], "2026-11-01T00:00:00+00:00", "2026-11-30T00:00:00+00:00", total, None,
               shares, "mix.json")  # fmt: skip


def _check(mix: Mix | None) -> CheckReport:
    base = measure(table(_prompts(0.001)), mode="measured", source="b")
    cur = measure(table(_prompts(0.00104)), mode="measured", source="c")  # extraction +4%
    notes = None
    if mix is not None:
        base, cur, notes = apply_mix(base, cur, mix)
    t = thresholds_from({"max_monthly_increase": "$200"}, {})
    return compare(base, cur, t, volume=VOLUME, notes=notes)


def _finding(report: CheckReport, metric: str) -> Any:
    return next(f for f in report.findings if (f.model, f.category, f.metric) == (MODEL, ALL, metric))


def test_the_mix_turns_a_passing_gate_into_a_failing_one() -> None:
    """Extraction is 2 of 20 prompts but 90% of production requests: +4% on it is +$40/month by
    prompt count (passes the $200 limit) and +$360/month by traffic (fails it)."""
    plain = _check(None)
    assert plain.status == "pass", [f for f in plain.findings if f.status != "pass"]
    assert _finding(plain, "monthly_cost").delta == pytest.approx(40)

    weighted = _check(_mix(extraction=900, support=100))
    monthly = _finding(weighted, "monthly_cost")
    assert monthly.delta == pytest.approx(360) and monthly.status == "fail"
    assert _finding(weighted, "cost_per_request").current == pytest.approx(0.9 * 0.00104 + 0.1 * 0.001)
    assert weighted.status == "fail"
    assert weighted.notes[0].startswith("traffic mix mix.json (by category, 1,000 requests, 2026-11-01…2026-11-30)")


def test_partial_coverage_and_no_overlap() -> None:
    shares = {"extraction": MixShare(900, 0, 0, 0.45, 0.0), "support": MixShare(100, 0, 0, 0.05, 0.0),
              "search": MixShare(1000, 0, 0, 0.5, 0.0)}  # fmt: skip
    report = _check(Mix("category", [], None, None, 2000, None, shares, "mix.json"))
    assert any("covers 50% of the traffic; no prompts for search" in n for n in report.notes)
    # the covered shares are renormalised: extraction weighs 90% as before
    assert _finding(report, "monthly_cost").delta == pytest.approx(360)
    with pytest.raises(UsageError, match="none of its category keys"):
        _check(Mix("category", [], None, None, 5, None, {"search": MixShare(5, 0, 0, 1.0, 0.0)}, "mix.json"))


def test_unpriced_category_leaves_the_weighted_cost_unpriced() -> None:
    base = measure(table(_prompts(0.001)), mode="measured", source="b")
    broken = _prompts(0.001)
    for r in broken[18:]:
        r["cost_usd"] = None
    cur = measure(table(broken), mode="measured", source="c")
    _, weighted, _ = apply_mix(base, cur, _mix(900, 100))
    overall = weighted.group(MODEL, ALL)
    assert overall is not None and overall.cost_per_request is None and overall.unpriced == 2


def _log_line(i: int, category: str, project: str | None = None) -> str:
    response = {
        "id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1767225600 + i, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }  # fmt: skip
    tags = [f"category:{category}", "team:a"] if category else ["team:a"]
    envelope = {"timestamp": f"2026-11-{1 + i % 28:02d}T12:00:00Z", "tags": tags, "request_id": f"r{i}",
                "project": project, "response": response}  # fmt: skip
    return json.dumps(envelope) + "\n"


def test_mix_command_counts_every_row(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    lines = [_log_line(i, "extraction" if i < 27 else "support") for i in range(30)]
    lines += [_log_line(30, ""), "not json\n"]
    Path("prod.jsonl").write_text("".join(lines))
    result = run_cli(["mix", "prod.jsonl", "--out", "mix.json"])
    assert result.exit_code == 0, result.output
    assert "read 32 rows: 31 kept, 1 rejected, 0 duplicates" in result.stderr
    assert "extraction" in result.stdout and "87.1%" in result.stdout  # 27 of 31
    mix = read_mix("mix.json")
    assert {k: s.requests for k, s in mix.shares.items()} == {"extraction": 27, "support": 3, "(none)": 1}
    assert mix.requests_per_month is not None and mix.requests_per_month > 31  # 27 days of logs
    as_json = run_cli(["mix", "prod.jsonl", "--by", "project"])
    assert json.loads(as_json.stdout)["shares"]["(none)"]["requests"] == 31
    bad = run_cli(["mix", "prod.jsonl", "--by", "user"])
    assert bad.exit_code == 2 and "expected one of category, project" in bad.stderr


def _write_prompts(extra_words: int) -> None:
    body = " ".join(["word"] * 200)
    lines = []
    for i in range(20):
        category = "extraction" if i >= 18 else "support"
        text = body + (" more" * extra_words if category == "extraction" else "")
        lines.append({"id": f"p{i}", "prompt": text, "category": category, "max_tokens": 10})
    Path("prompts.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_check_mix_end_to_end(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    Path("prod.jsonl").write_text("".join(_log_line(i, "extraction" if i < 27 else "support") for i in range(30)))
    assert run_cli(["mix", "prod.jsonl", "--out", "mix.json"]).exit_code == 0
    args = ["check", "prompts.jsonl", "-m", MODEL, "--estimate", "--volume", "10M"]
    _write_prompts(0)
    assert run_cli([*args, "--write-baseline"]).exit_code == 0
    _write_prompts(8)  # extraction prompts ~+4% input tokens: under every per-category band
    plain = run_cli([*args, "-f", "json"])
    assert plain.exit_code == 0, plain.output
    monthly = next(f for f in json.loads(plain.stdout)["findings"] if f["metric"] == "monthly_cost")
    limit = f"${3 * monthly['delta']:.2f}"  # three times what the prompt count says
    assert run_cli([*args, "--max-monthly-increase", limit]).exit_code == 0
    weighted = run_cli([*args, "--max-monthly-increase", limit, "--mix", "mix.json", "-f", "markdown"])
    assert weighted.exit_code == 1, weighted.output
    assert "traffic mix mix.json (by category, 30 requests" in weighted.stdout
    assert "extraction 90%, support 10%" in weighted.stdout
    assert f"**FAIL: {MODEL}: cost/month → +$" in weighted.stdout  # the month alone drives the headline
    missing = run_cli([*args, "--mix", "nope.json"])
    assert missing.exit_code == 2 and "nope.json: mix not found" in missing.stderr


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{", "mix.json:1: not a mix: invalid JSON"),
        ('{"llmaudit_mix": 2}', "llmaudit_mix: expected version 1"),
        ('{"llmaudit_mix": 1, "shares": {}}', "shares: expected a non-empty object"),
        ('{"llmaudit_mix": 1, "shares": {"a": {"requests": -1}}}', "shares.a.requests: expected a non-negative"),
        ('{"llmaudit_mix": 1, "by": "user", "shares": {"a": {"requests": 1, "input_tokens": 0, "output_tokens": 0}}}',
         "by: expected one of category, project"),
    ],
)
def test_bad_mix_files_name_the_field(tmp_path: Path, payload: str, message: str) -> None:
    path = tmp_path / "mix.json"
    path.write_text(payload)
    with pytest.raises(UsageError, match=message.replace(".", r"\.")):
        read_mix(path)


def test_mix_reads_ingested_parquet_the_same(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    Path("prod.jsonl").write_text("".join(_log_line(i, "extraction" if i % 4 else "support") for i in range(20)))
    assert run_cli(["ingest", "prod.jsonl", "--out", "prod.parquet"]).exit_code == 0
    raw = json.loads(run_cli(["mix", "prod.jsonl"]).stdout)
    parquet = json.loads(run_cli(["mix", "prod.parquet"]).stdout)
    assert parquet["shares"] == raw["shares"] and parquet["requests"] == 20
    assert raw["shares"]["support"]["requests"] == 5
